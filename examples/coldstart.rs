//! Times a cold start for `bench/run.sh`: from spawning a command until it
//! serves (or, with `--exit`, until it exits), with millisecond polling.
//!
//! ```sh
//! # herald: until /healthz counts N published articles and the feeds answer
//! coldstart --expect 100000 --log herald.log --pidfile herald.pid [--keep] \
//!     [--feed /politics/rss.xml] -- target/release/herald serve --config X --listen '127.0.0.1:{port}'
//! # the reference: until the process exits
//! coldstart --exit -- target/release/examples/readfiles DIR
//! ```
//!
//! `{port}` in the command becomes a free port, and the timer's first
//! request waits in the listen backlog until the server answers; without
//! it the address is read from the `listening on http://…` log line.
//!
//! Prints one line of `key=value` pairs: `ms` (spawn → served),
//! `cpu_ms` (user + system CPU time the command used until then, from
//! `/proc`, in 10 ms ticks), and for a server `addr`, `pid`, `vmhwm_kb` and `vmrss_kb` (peak and current
//! resident memory, from `/proc/PID/status`). Without `--keep` the server is killed before
//! exiting; with it, it is left running for the caller, who stops it by
//! the PID written to `--pidfile`.

#[path = "../bench/http.rs"]
#[allow(dead_code)] // each helper uses part of the shared client
mod http;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    exit: bool,
    expect: usize,
    log: Option<PathBuf>,
    pidfile: Option<PathBuf>,
    keep: bool,
    feeds: Vec<String>,
    timeout: Duration,
    command: Vec<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: coldstart (--exit | --expect N --log FILE [--pidfile F] [--keep] [--feed PATH]...) \
         [--timeout-s S] -- COMMAND..."
    );
    std::process::exit(2);
}

fn args() -> Args {
    let mut a = Args {
        exit: false,
        expect: 0,
        log: None,
        pidfile: None,
        keep: false,
        feeds: Vec::new(),
        timeout: Duration::from_secs(300),
        command: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--exit" => a.exit = true,
            "--keep" => a.keep = true,
            "--expect" => {
                a.expect = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--log" => a.log = it.next().map(PathBuf::from),
            "--pidfile" => a.pidfile = it.next().map(PathBuf::from),
            "--feed" => a.feeds.extend(it.next()),
            "--timeout-s" => {
                a.timeout = Duration::from_secs(
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--" => {
                a.command = it.by_ref().collect();
                break;
            }
            _ => usage(),
        }
    }
    if a.command.is_empty() || (!a.exit && a.log.is_none()) {
        usage();
    }
    a
}

fn fail(msg: &str) -> ! {
    eprintln!("coldstart: {msg}");
    std::process::exit(1);
}

/// `ADDR` from the first `listening on http://ADDR` in the log.
fn listen_addr(log: &str) -> Option<String> {
    let start = log.find("listening on http://")? + "listening on http://".len();
    let addr: String = log[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    addr.contains(':').then_some(addr)
}

/// The `"articles": N` field of a `/healthz` body.
fn published(body: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(body).ok()?;
    let rest = &text[text.find("\"articles\"")? + "\"articles\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU time in ms of `/proc/{who}/stat`: fields 14 and 15
/// (the process's own), or with `children` fields 16 and 17 (its waited-for
/// children's).
fn cpu_ms(who: &str, children: bool) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{who}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces; fields after it are plain.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // `rest` starts at field 3, so field k is fields[k - 3].
    let first = if children { 16 } else { 14 };
    let ticks =
        fields.get(first - 3).copied().unwrap_or(0) + fields.get(first - 2).copied().unwrap_or(0);
    // The kernel reports in USER_HZ, which is 100 on Linux.
    ticks * 10
}

fn main() {
    let a = args();
    let mut cmd = Command::new(&a.command[0]);
    cmd.args(&a.command[1..]).stdin(Stdio::null());
    if a.exit {
        cmd.stdout(Stdio::null());
        let started = Instant::now();
        let cpu_before = cpu_ms("self", true);
        let status = cmd
            .status()
            .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", a.command[0])));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if !status.success() {
            fail(&format!("{} exited with {status}", a.command[0]));
        }
        let cpu = cpu_ms("self", true) - cpu_before;
        println!("ms={ms:.1} cpu_ms={cpu}");
        return;
    }
    let log_path = a.log.clone().unwrap_or_else(|| usage());
    let log = std::fs::File::create(&log_path)
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", log_path.display())));
    // With `{port}` in the command the port is known up front: a free one,
    // taken from the kernel just before the spawn.
    let port = a.command.iter().any(|c| c.contains("{port}")).then(|| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|addr| addr.port())
            .unwrap_or_else(|e| fail(&format!("no free port: {e}")))
    });
    if let Some(port) = port {
        let command: Vec<String> = a
            .command
            .iter()
            .map(|c| c.replace("{port}", &port.to_string()))
            .collect();
        cmd = Command::new(&command[0]);
        cmd.args(&command[1..]).stdin(Stdio::null());
    }
    cmd.stdout(Stdio::null()).stderr(log);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", a.command[0])));
    let pid = child.id();
    if let Some(p) = &a.pidfile {
        if let Err(e) = std::fs::write(p, format!("{pid}\n")) {
            let _ = child.kill();
            fail(&format!("cannot write {}: {e}", p.display()));
        }
    }
    let deadline = started + a.timeout;
    let give_up = |child: &mut std::process::Child, why: String| -> ! {
        let _ = child.kill();
        let _ = child.wait();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        eprintln!("coldstart: last log lines:");
        for l in tail.iter().rev() {
            eprintln!("  {l}");
        }
        fail(&why)
    };
    let tick = Duration::from_millis(1);
    let addr = loop {
        if let Some(port) = port {
            // herald binds before it loads, so the first connection is
            // accepted by the kernel and its request answered once serving.
            let addr = format!("127.0.0.1:{port}");
            if std::net::TcpStream::connect(&addr).is_ok() {
                break addr;
            }
        } else if let Some(addr) = std::fs::read_to_string(&log_path)
            .ok()
            .and_then(|l| listen_addr(&l))
        {
            // Otherwise the daemon logs its address once it serves.
            break addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            give_up(
                &mut child,
                format!("server exited with {status} before listening"),
            );
        }
        if Instant::now() > deadline {
            give_up(
                &mut child,
                "timed out waiting for the server to listen".into(),
            );
        }
        std::thread::sleep(tick);
    };
    let mut conn = http::Conn::new(&addr).with_timeout(a.timeout);
    let mut last = String::new();
    loop {
        if let Ok(r) = conn.get("/healthz", &[]) {
            if r.status == 200 && published(&r.body).is_some_and(|n| n >= a.expect) {
                break;
            }
            last = String::from_utf8_lossy(&r.body).into_owned();
        }
        if let Ok(Some(status)) = child.try_wait() {
            give_up(&mut child, format!("server exited with {status}"));
        }
        if Instant::now() > deadline {
            give_up(
                &mut child,
                format!(
                    "timed out waiting for {} articles; /healthz: {last}",
                    a.expect
                ),
            );
        }
        std::thread::sleep(tick);
    }
    let mut feeds = vec!["/rss.xml".to_string()];
    feeds.extend(a.feeds.iter().cloned());
    for f in &feeds {
        match conn.get(f, &[]) {
            Ok(r) if r.status == 200 && http::contains(&r.body, b"<item>") => {}
            Ok(r) => give_up(
                &mut child,
                format!("{f}: status {} without items", r.status),
            ),
            Err(e) => give_up(&mut child, format!("{f}: {e}")),
        }
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let cpu = cpu_ms(&pid.to_string(), false);
    let hwm = status_kb(pid, "VmHWM:");
    let rss = status_kb(pid, "VmRSS:");
    println!("ms={ms:.1} cpu_ms={cpu} addr={addr} pid={pid} vmhwm_kb={hwm} vmrss_kb={rss}");
    if !a.keep {
        let _ = child.kill();
        let _ = child.wait();
    }
}
