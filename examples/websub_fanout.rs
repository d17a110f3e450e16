//! WebSub fan-out for `bench/run.sh`: how long after an edit the last of
//! N subscribers of one feed holds the new version, and whether HTTP
//! readers see the edit any later while the hub pushes it.
//!
//! ```sh
//! websub_fanout --addr 127.0.0.1:8080 --content DIR/content --base-url URL \
//!     [--category politics] [--subscribers 1000] [--hosts 10] [--edits 20]
//! ```
//!
//! The running herald must have `websub.builtin = true` and
//! `allow_private_callbacks = true` (the subscribers listen on loopback).
//! Subscribers listen on `127.0.0.1` … `127.0.0.<hosts>` (the hub takes
//! at most 100 subscriptions per callback host), answer verifications
//! with the challenge and deliveries with 204, and note when each
//! delivery holding the current edit's title arrives.
//!
//! Two phases with the same edits (a unique title, dated now, saved by
//! rename as editors do): first with no subscriber, then with N. For each
//! edit: the time from the rename until the category's RSS feed shows it
//! (polled every millisecond with `If-None-Match`), and until the last
//! subscriber received it. Prints `key=value` lines: `phase=alone` and
//! `phase=subscribed` with `served_median_ms served_p90_ms`, and for the
//! second `last_delivery_median_ms last_delivery_p90_ms
//! last_delivery_max_ms lost`.

#[path = "../bench/edit.rs"]
mod edit;
#[path = "../bench/http.rs"]
#[allow(dead_code)] // each helper uses part of the shared client
mod http;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    addr: String,
    content: PathBuf,
    base_url: String,
    category: String,
    subscribers: usize,
    hosts: usize,
    edits: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: websub_fanout --addr HOST:PORT --content DIR --base-url URL [--category NAME] \
         [--subscribers N] [--hosts H] [--edits E]"
    );
    std::process::exit(2);
}

fn args() -> Args {
    let mut a = Args {
        addr: String::new(),
        content: PathBuf::new(),
        base_url: String::new(),
        category: "politics".into(),
        subscribers: 1000,
        hosts: 10,
        edits: 20,
    };
    let mut it = std::env::args().skip(1);
    let num = |it: &mut dyn Iterator<Item = String>| -> usize {
        it.next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage())
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--addr" => a.addr = it.next().unwrap_or_else(|| usage()),
            "--content" => a.content = it.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            "--base-url" => a.base_url = it.next().unwrap_or_else(|| usage()),
            "--category" => a.category = it.next().unwrap_or_else(|| usage()),
            "--subscribers" => a.subscribers = num(&mut it),
            "--hosts" => a.hosts = num(&mut it).clamp(1, 250),
            "--edits" => a.edits = num(&mut it),
            _ => usage(),
        }
    }
    if a.addr.is_empty() || a.content.as_os_str().is_empty() || a.base_url.is_empty() {
        usage();
    }
    a
}

fn fail(msg: &str) -> ! {
    eprintln!("websub_fanout: {msg}");
    std::process::exit(1);
}

/// What the subscribers saw of the current edit.
#[derive(Default)]
struct Seen {
    /// The title the current edit gives.
    marker: String,
    /// Deliveries holding it, and when the last one came.
    count: usize,
    last: Option<Instant>,
}

/// Answers one connection: a verification (echo the challenge) or a
/// delivery (204, noted when it holds the current marker).
fn answer(stream: TcpStream, seen: &Mutex<Seen>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = if method == "GET" {
        let challenge = target
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix("hub.challenge="))
            .unwrap_or("")
            .to_string();
        format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{challenge}",
            challenge.len()
        )
    } else {
        let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
        if !s.marker.is_empty() && http::contains(&body, s.marker.as_bytes()) {
            s.count += 1;
            s.last = Some(Instant::now());
        }
        drop(s);
        "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_string()
    };
    let mut stream = reader.into_inner();
    let _ = stream.write_all(reply.as_bytes());
}

/// Starts a listener on 127.0.0.`host`; returns its port.
fn listen(host: usize, seen: Arc<Mutex<Seen>>) -> u16 {
    let l = TcpListener::bind(("127.0.0.".to_string() + &host.to_string(), 0))
        .unwrap_or_else(|e| fail(&format!("cannot listen on 127.0.0.{host}: {e}")));
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::spawn(move || {
        for stream in l.incoming().flatten() {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || answer(stream, &seen));
        }
    });
    port
}

/// Markdown articles directly in `dir` with TOML front matter.
fn articles(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", dir.display())))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    out.sort();
    out
}

/// One edit: saved by rename; returns when the rename happened and the
/// time until the feed showed it.
fn edit(conn: &mut http::Conn, feed: &str, file: &Path, title: &str) -> (Instant, Duration) {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", file.display())));
    let date = (chrono::Utc::now() - chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let new = edit::edited(&text, title, &date)
        .unwrap_or_else(|| fail(&format!("{}: no TOML title and date lines", file.display())));
    let tmp = file.with_extension("bench.tmp");
    std::fs::write(&tmp, new).unwrap_or_else(|e| fail(&format!("cannot write: {e}")));
    let etag = conn
        .get(feed, &[])
        .ok()
        .and_then(|r| r.header("etag").map(String::from))
        .unwrap_or_default();
    let started = Instant::now();
    std::fs::rename(&tmp, file).unwrap_or_else(|e| fail(&format!("cannot rename: {e}")));
    let mut etag = etag;
    loop {
        let r = conn
            .get(feed, &[("If-None-Match", etag.as_str())])
            .unwrap_or_else(|e| fail(&format!("GET {feed}: {e}")));
        if r.status == 200 {
            if http::contains(&r.body, title.as_bytes()) {
                return (started, started.elapsed());
            }
            etag = r.header("etag").unwrap_or_default().to_string();
        }
        if started.elapsed() > Duration::from_secs(30) {
            fail(&format!(
                "edit of {} not served within 30 s",
                file.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn subscribe(addr: &str, topic: &str, callback: &str) {
    let body = format!(
        "hub.mode=subscribe&hub.topic={}&hub.callback={}",
        http::encode_segment(topic),
        http::encode_segment(callback)
    );
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| fail(&format!("connect: {e}")));
    let req = format!(
        "POST /websub HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(req.as_bytes());
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    if !reply.starts_with("HTTP/1.1 202") {
        fail(&format!(
            "subscribe {callback}: {}",
            reply.lines().next().unwrap_or("")
        ));
    }
}

fn subscriptions(conn: &mut http::Conn) -> usize {
    let Ok(r) = conn.get("/healthz", &[]) else {
        return 0;
    };
    let text = String::from_utf8_lossy(&r.body);
    text.split("\"subscriptions\":")
        .nth(1)
        .and_then(|rest| {
            rest.trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn rank(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    let a = args();
    let files = articles(&a.content.join(&a.category));
    if files.is_empty() {
        fail("no Markdown articles in the category folder");
    }
    let feed = format!("/{}/rss.xml", http::encode_segment(&a.category));
    let topic = format!("{}{feed}", a.base_url);
    let mut conn = http::Conn::new(&a.addr);
    let run = std::process::id();

    // Phase 1: nobody subscribed.
    let mut alone = Vec::new();
    for k in 0..a.edits {
        let title = format!("herald fanout alone {run}-{k}");
        let (_, took) = edit(&mut conn, &feed, &files[k % files.len()], &title);
        alone.push(took.as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(250));
    }

    // Phase 2: N subscribers over `hosts` loopback addresses.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let ports: Vec<u16> = (1..=a.hosts)
        .map(|h| listen(h, Arc::clone(&seen)))
        .collect();
    let sent = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for w in 0..8 {
            let (sent, ports, a, topic) = (&sent, &ports, &a, &topic);
            s.spawn(move || {
                let mut i = w;
                while i < a.subscribers {
                    let h = i % a.hosts;
                    let cb = format!("http://127.0.0.{}:{}/cb/{i}", h + 1, ports[h]);
                    subscribe(&a.addr, topic, &cb);
                    sent.fetch_add(1, Ordering::Relaxed);
                    i += 8;
                }
            });
        }
    });
    let started = Instant::now();
    while subscriptions(&mut conn) < a.subscribers {
        if started.elapsed() > Duration::from_secs(60) {
            fail("subscriptions not all verified within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "websub_fanout: {} subscribers verified in {:?}",
        a.subscribers,
        started.elapsed()
    );
    let mut served = Vec::new();
    let mut last = Vec::new();
    let mut lost = 0;
    for k in 0..a.edits {
        let title = format!("herald fanout subscribed {run}-{k}");
        {
            let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
            *s = Seen {
                marker: title.clone(),
                ..Seen::default()
            };
        }
        let (t0, took) = edit(&mut conn, &feed, &files[k % files.len()], &title);
        served.push(took.as_secs_f64() * 1e3);
        loop {
            let (count, at) = {
                let s = seen.lock().unwrap_or_else(|e| e.into_inner());
                (s.count, s.last)
            };
            if count >= a.subscribers {
                let at = at.unwrap_or_else(Instant::now);
                last.push((at - t0).as_secs_f64() * 1e3);
                break;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                eprintln!(
                    "websub_fanout: edit {k}: {count} of {} delivered in 30 s",
                    a.subscribers
                );
                lost += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    for v in [&mut alone, &mut served, &mut last] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "phase=alone n={} served_median_ms={:.1} served_p90_ms={:.1}",
        alone.len(),
        rank(&alone, 0.5),
        rank(&alone, 0.9)
    );
    if last.is_empty() {
        fail("no edit reached every subscriber");
    }
    println!(
        "phase=subscribed subscribers={} n={} served_median_ms={:.1} served_p90_ms={:.1} \
         last_delivery_median_ms={:.1} last_delivery_p90_ms={:.1} last_delivery_max_ms={:.1} lost={lost}",
        a.subscribers,
        served.len(),
        rank(&served, 0.5),
        rank(&served, 0.9),
        rank(&last, 0.5),
        rank(&last, 0.9),
        last[last.len() - 1],
    );
}
