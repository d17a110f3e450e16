//! A bounded load test on loopback: a thousand idle connections (half
//! silent, half dribbling a request head a byte at a time) held open while
//! a normal client fetches the site feed. Every normal request must succeed;
//! latency percentiles are printed, with only a generous sanity bound
//! asserted (speed is measured in benchmarks, not here). The test stops by
//! itself within about half a minute and closes every socket it opened.
//! The daemon runs in-process (with the harness's short timeouts), so
//! both ends of every connection count against this process's file limit.

mod support;

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;

/// Idle connections held open during the run.
const IDLE: usize = 1000;
/// Sequential requests of the normal client.
const GETS: usize = 200;
/// Articles in the site feed.
const ITEMS: usize = 20;
/// What a dribbling client sends, one byte per round; the head never ends.
const DRIBBLE: &[u8] = b"GET /rss.xml HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
/// Pause between two dribbled bytes.
const ROUND: Duration = Duration::from_millis(200);
/// Normal request `i` starts no earlier than `i * PACE` into the run: the
/// run (6 s) spans the daemon's first-byte timeout, so requests are also
/// served while it drops the silent connections. A late request does not
/// wait, so a slow machine does not stretch the run.
const PACE: Duration = Duration::from_millis(30);

/// Raises this process's soft open-file limit to at least `want` (within
/// the hard limit) and returns the soft limit now in force.
fn raise_nofile(want: u64) -> u64 {
    // SAFETY: a zeroed rlimit is a valid value of this plain C struct.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < want as libc::rlim_t {
            lim.rlim_cur = (want as libc::rlim_t).min(lim.rlim_max);
            assert_eq!(
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim),
                0,
                "setrlimit: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    lim.rlim_cur as u64
}

/// Sends the next dribble byte on every open socket, round after round,
/// until `stop`; returns the sockets and how many the server closed.
fn dribble(slow: Vec<TcpStream>, stop: Arc<AtomicBool>) -> (Vec<TcpStream>, usize) {
    let mut open = vec![true; slow.len()];
    for s in &slow {
        s.set_nonblocking(true).unwrap();
    }
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let byte = DRIBBLE.get(round).copied().unwrap_or(b'a');
        for (s, open) in slow.iter().zip(open.iter_mut()).filter(|(_, o)| **o) {
            match (&*s).write(&[byte]) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => *open = false,
            }
        }
        round += 1;
        let until = Instant::now() + ROUND;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let closed = open.iter().filter(|o| !**o).count();
    (slow, closed)
}

/// Whether the server has closed `s` (EOF or reset), without blocking.
fn closed_by_peer(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1];
    match s.peek(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    }
}

#[test]
fn a_thousand_idle_connections_never_fail_normal_requests() {
    let test_started = Instant::now();
    // Both ends of each idle connection are open in this process.
    let limit = raise_nofile(2 * IDLE as u64 + 1024);
    assert!(
        limit >= 2 * IDLE as u64 + 256,
        "open-file limit {limit} is too low"
    );
    let site = Site::new();
    for i in 0..ITEMS {
        site.write(
            &format!("news/item{i:02}.md"),
            &article(&format!("Item {i:02}"), &format!("2025-03-01 10:{i:02}")),
        );
    }
    let d = Daemon::start(&site.config);
    let client = fresh_client();
    let want: Vec<String> = (0..ITEMS).rev().map(|i| format!("Item {i:02}")).collect();
    assert_eq!(d.titles("/rss.xml").unwrap(), want);

    // Idle clients: even ones silent, odd ones dribbling a request head.
    let opened = Instant::now();
    let mut silent = Vec::with_capacity(IDLE / 2);
    let mut slow = Vec::with_capacity(IDLE / 2);
    for i in 0..IDLE {
        let s = TcpStream::connect_timeout(&d.addr, Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("idle connection {i}: {e}"));
        if i % 2 == 0 {
            silent.push(s);
        } else {
            slow.push(s);
        }
    }
    let open_time = opened.elapsed();
    let stop = Arc::new(AtomicBool::new(false));
    let dribbler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || dribble(slow, stop))
    };

    // The normal client: a fresh connection per request.
    let mut latencies = Vec::with_capacity(GETS);
    let gets_started = Instant::now();
    for i in 0..GETS {
        let due = gets_started + PACE * i as u32;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let t = Instant::now();
        let r = client
            .try_get(&d.url("/rss.xml"))
            .unwrap_or_else(|e| panic!("request {i} failed: {e}"));
        latencies.push(t.elapsed());
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(rss_titles(&r.body).unwrap(), want, "request {i}");
    }
    stop.store(true, Ordering::Relaxed);
    let (slow, slow_closed) = dribbler.join().unwrap();
    let health = d.health();
    let silent_closed = silent.iter().filter(|s| closed_by_peer(s)).count();

    latencies.sort();
    let pct = |p: usize| latencies[(GETS * p).div_ceil(100).max(1) - 1];
    let (p50, p99, max) = (pct(50), pct(99), latencies[GETS - 1]);
    println!(
        "load: {IDLE} idle connections opened in {open_time:?}; {GETS} GET /rss.xml: \
         p50 {p50:?}, p99 {p99:?}, max {max:?}; closed by the server after {:?}: {silent_closed} silent, {slow_closed} dribbling",
        opened.elapsed()
    );
    assert!(
        p99 < Duration::from_secs(2),
        "p99 {p99:?} is beyond any sane bound"
    );
    assert_eq!(health["articles"], ITEMS as u64);

    drop(silent);
    drop(slow);
    drop(d);
    assert!(
        test_started.elapsed() < Duration::from_secs(30),
        "the load test took {:?}",
        test_started.elapsed()
    );
}
