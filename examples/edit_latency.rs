//! Edit → served latency for `bench/run.sh`: saves articles of a running
//! herald's content directory the way editors do (write a temp file,
//! rename it over the article) and times each from the rename until the
//! article's category feed, polled every millisecond over one keep-alive
//! HTTP/1.1 connection, shows the new title.
//!
//! ```sh
//! edit_latency --addr 127.0.0.1:8080 --content DIR/content [--edits 100] [--seed 1] \
//!     [--gap-ms 20] [--timeout-ms 30000] [--samples FILE]
//! ```
//!
//! Each edit picks a random Markdown article, gives it a unique title and
//! a date of now (newer than every corpus article, so it enters the feed's
//! `feeds.limit` window), and keeps the rest of the file. Polls send
//! `If-None-Match` with the feed's last ETag, so waiting costs the server
//! a 304, not a feed body. Prints one line of `key=value` pairs:
//! `n lost median_ms p90_ms p99_ms max_ms min_ms mean_ms` (nearest-rank
//! percentiles; an edit not served within `--timeout-ms` is `lost` and
//! counts as the timeout; after three lost edits the run stops).

#[path = "../bench/edit.rs"]
mod edit;
#[path = "../bench/http.rs"]
#[allow(dead_code)] // each helper uses part of the shared client
mod http;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// SplitMix64: the same picks for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

struct Args {
    addr: String,
    content: PathBuf,
    edits: usize,
    seed: u64,
    gap: Duration,
    timeout: Duration,
    first_poll: Duration,
    samples: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: edit_latency --addr HOST:PORT --content DIR [--edits N] [--seed S] \
         [--gap-ms MS] [--timeout-ms MS] [--first-poll-ms MS] [--samples FILE]"
    );
    std::process::exit(2);
}

fn args() -> Args {
    let mut a = Args {
        addr: String::new(),
        content: PathBuf::new(),
        edits: 100,
        seed: 1,
        gap: Duration::from_millis(20),
        timeout: Duration::from_secs(30),
        first_poll: Duration::ZERO,
        samples: None,
    };
    let mut it = std::env::args().skip(1);
    let num = |it: &mut dyn Iterator<Item = String>| -> u64 {
        it.next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage())
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--addr" => a.addr = it.next().unwrap_or_else(|| usage()),
            "--content" => a.content = it.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            "--edits" => a.edits = num(&mut it) as usize,
            "--seed" => a.seed = num(&mut it),
            "--gap-ms" => a.gap = Duration::from_millis(num(&mut it)),
            "--timeout-ms" => a.timeout = Duration::from_millis(num(&mut it)),
            "--first-poll-ms" => a.first_poll = Duration::from_millis(num(&mut it)),
            "--samples" => a.samples = it.next().map(PathBuf::from),
            _ => usage(),
        }
    }
    if a.addr.is_empty() || a.content.as_os_str().is_empty() || a.edits == 0 {
        usage();
    }
    a
}

fn fail(msg: &str) -> ! {
    eprintln!("edit_latency: {msg}");
    std::process::exit(1);
}

/// Markdown articles under `dir`, relative and `/`-separated, in a
/// category folder (so they have a category feed), sorted.
fn articles(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => articles(root, &path, out),
            Ok(t) if t.is_file() && name.ends_with(".md") => {
                if let Ok(rel) = path.strip_prefix(root) {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    if rel.contains('/') {
                        out.push(rel);
                    }
                }
            }
            _ => {}
        }
    }
}

fn etag(r: &http::Response) -> String {
    r.header("etag").unwrap_or_default().to_string()
}

fn main() {
    let a = args();
    let mut files = Vec::new();
    articles(&a.content, &a.content, &mut files);
    files.sort();
    if files.is_empty() {
        fail(&format!(
            "no Markdown articles in category folders under {}",
            a.content.display()
        ));
    }
    let mut rng = Rng(a.seed);
    let run = rng.next() & 0xffff_ffff;
    let mut conn = http::Conn::new(&a.addr);
    let tick = Duration::from_millis(1);
    let mut samples: Vec<f64> = Vec::with_capacity(a.edits);
    let mut lost = 0usize;
    for k in 0..a.edits {
        let rel = &files[(rng.next() % files.len() as u64) as usize];
        let (category, name) = rel
            .split_once('/')
            .map(|(c, _)| (c, rel.rsplit('/').next().unwrap_or(rel)))
            .unwrap_or_else(|| fail("article outside a category"));
        let feed = format!("/{}/rss.xml", http::encode_segment(category));
        let path = a.content.join(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
        let title = format!("herald bench edit {run:08x}-{k}");
        // One second back: never in the future for the daemon's clock.
        let date = (chrono::Utc::now() - chrono::Duration::seconds(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let new = edit::edited(&text, &title, &date)
            .unwrap_or_else(|| fail(&format!("{}: no TOML title and date lines", path.display())));
        let tmp = path.with_file_name(format!(".{name}.bench.tmp"));
        std::fs::write(&tmp, new)
            .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", tmp.display())));
        let before = conn
            .get(&feed, &[])
            .unwrap_or_else(|e| fail(&format!("GET {feed}: {e}")));
        if before.status != 200 {
            fail(&format!("GET {feed}: status {}", before.status));
        }
        let mut tag = etag(&before);
        let started = Instant::now();
        std::fs::rename(&tmp, &path)
            .unwrap_or_else(|e| fail(&format!("cannot rename over {}: {e}", path.display())));
        // Polling from `--first-poll-ms` on (a little under the debounce,
        // before which nothing can be served) keeps the poller's own load
        // off the machine; an edit served earlier still shows, at that time.
        std::thread::sleep(a.first_poll);
        let mut polls = a.first_poll.as_millis() as u64;
        let latency = loop {
            polls += 1;
            let r = conn
                .get(&feed, &[("If-None-Match", tag.as_str())])
                .unwrap_or_else(|e| fail(&format!("GET {feed}: {e}")));
            if r.status == 200 {
                if http::contains(&r.body, title.as_bytes()) {
                    break started.elapsed();
                }
                tag = etag(&r);
            } else if r.status != 304 {
                fail(&format!("GET {feed}: status {}", r.status));
            }
            if started.elapsed() > a.timeout {
                // Counted as lost (at the timeout) rather than aborting,
                // so a lost edit shows in the figures instead of hiding them.
                eprintln!(
                    "edit_latency: edit {k} of {rel} not served after {:?} ({polls} polls)",
                    a.timeout
                );
                lost += 1;
                break started.elapsed();
            }
            // Poll on a 1 ms grid from the rename.
            let next = tick * (polls as u32);
            if let Some(wait) = next.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        };
        samples.push(latency.as_secs_f64() * 1000.0);
        if lost >= 3 {
            eprintln!(
                "edit_latency: three edits lost; stopping after {} edits",
                k + 1
            );
            break;
        }
        std::thread::sleep(a.gap);
    }
    if let Some(p) = &a.samples {
        let lines: Vec<String> = samples.iter().map(|s| format!("{s:.2}")).collect();
        let _ = std::fs::write(p, lines.join("\n") + "\n");
    }
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let rank =
        |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    println!(
        "n={} lost={lost} median_ms={:.1} p90_ms={:.1} p99_ms={:.1} max_ms={:.1} min_ms={:.1} mean_ms={:.1}",
        sorted.len(),
        rank(0.5),
        rank(0.9),
        rank(0.99),
        sorted[sorted.len() - 1],
        sorted[0],
        mean
    );
}
