//! The reference for herald's cold start in `bench/run.sh`: the least any
//! program must do to serve feeds of a content directory — walk it and
//! read every file — with two threads, and nothing else.
//!
//! ```sh
//! cargo run --release --example readfiles -- DIR [--threads 2]
//! ```
//!
//! Prints `files=N bytes=B ms=T` (T measured inside, from start to the
//! last byte read; `bench/run.sh` times the whole process from outside).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&entry.path(), out);
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
}

fn main() {
    let started = Instant::now();
    let mut dir = None;
    let mut threads = 2usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(threads)
                    .max(1)
            }
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            other => {
                eprintln!("unknown argument {other}; usage: readfiles DIR [--threads N]");
                std::process::exit(2);
            }
        }
    }
    let Some(dir) = dir else {
        eprintln!("usage: readfiles DIR [--threads N]");
        std::process::exit(2);
    };
    let mut files = Vec::new();
    walk(&dir, &mut files);
    let next = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                // Small batches handed out in turn keep both threads busy to the end.
                let start = next.fetch_add(64, Ordering::Relaxed);
                if start >= files.len() {
                    break;
                }
                for f in &files[start..(start + 64).min(files.len())] {
                    if let Ok(b) = std::fs::read(f) {
                        bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    println!(
        "files={} bytes={} ms={:.1}",
        files.len(),
        bytes.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64() * 1000.0
    );
}
