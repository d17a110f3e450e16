//! The binary as an operator runs it: under systemd (service
//! notifications to `NOTIFY_SOCKET`, here a Unix datagram socket of the
//! test's) and with its log going to a file, journald or a terminal.

mod support;

use std::io::Read as _;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// A site of one article whose config listens on a free loopback port.
fn small_site() -> (Site, u16) {
    let port = free_port();
    let site = Site::with_config(&config_with("Ops", &format!("127.0.0.1:{port}"), "", ""));
    site.write("news/one.md", &article("One", "2025-01-01T00:00:00Z"));
    (site, port)
}

/// `herald serve` on the site with `env`, stderr to a pipe.
fn serve(site: &Site, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.arg("serve")
        .arg("--config")
        .arg(&site.config)
        .env_remove("NO_COLOR")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start herald serve")
}

fn signal(child: &Child, sig: libc::c_int) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

/// Waits for the child to exit (killing it after `limit`); its stderr.
fn finish(mut child: Child, limit: Duration) -> String {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.wait();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}

/// The next notification within `limit`, or `None`.
fn next(sock: &UnixDatagram, limit: Duration) -> Option<String> {
    sock.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Notifications until one holds `want` (returned), within `limit`.
fn until(sock: &UnixDatagram, want: &str, limit: Duration) -> String {
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < limit {
        if let Some(msg) = next(sock, Duration::from_millis(200)) {
            if msg.lines().any(|l| l == want) {
                return msg;
            }
            seen.push(msg);
        }
    }
    panic!("no {want} within {limit:?}; got {seen:?}")
}

#[test]
fn systemd_is_told_ready_reloading_stopping_and_that_herald_lives() {
    let (site, port) = small_site();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let child = serve(
        &site,
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let ready = until(&sock, "READY=1", DEADLINE);
    // Ready means serving: the feed answers at once.
    let r = client().get(&url(
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        "/news/rss.xml",
    ));
    assert_eq!(
        r.status, 200,
        "READY=1 came before the feeds were served ({ready})"
    );

    // WATCHDOG_USEC = 0.4 s: a ping at least every 0.2 s or so.
    until(&sock, "WATCHDOG=1", Duration::from_secs(2));
    until(&sock, "WATCHDOG=1", Duration::from_secs(2));

    signal(&child, libc::SIGHUP);
    let reloading = until(&sock, "RELOADING=1", DEADLINE);
    assert!(
        reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")),
        "RELOADING=1 carries MONOTONIC_USEC: {reloading:?}"
    );
    until(&sock, "READY=1", DEADLINE);

    signal(&child, libc::SIGTERM);
    until(&sock, "STOPPING=1", DEADLINE);
    finish(child, Duration::from_secs(10));
}

/// `herald serve` on a small site without `NOTIFY_SOCKET`, stderr to a
/// pipe, until its feed answers, then SIGTERM: what it logged.
fn serve_once_piped() -> String {
    let (site, port) = small_site();
    let child = serve(&site, &[]);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    eventually("the feed", DEADLINE, || {
        let r = client().try_get(&url(addr, "/news/rss.xml"))?;
        (r.status == 200)
            .then_some(())
            .ok_or(format!("{}", r.status))
    });
    signal(&child, libc::SIGTERM);
    finish(child, Duration::from_secs(10))
}

#[test]
fn without_notify_socket_nothing_is_sent_and_herald_serves() {
    let log = serve_once_piped();
    assert!(!log.contains("NOTIFY_SOCKET"), "{log}");
}

#[test]
fn logs_to_a_pipe_or_file_carry_no_colour() {
    let log = serve_once_piped();
    assert!(log.contains("listening on"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a piped log:\n{log:?}"
    );
}

/// `herald serve` run for a second in a pseudo-terminal (by `script`),
/// with `env`: what the terminal showed.
fn serve_on_a_terminal(site: &Site, env: &[(&str, &str)]) -> String {
    let command = format!(
        "timeout -s TERM 1 {} serve --config {}",
        env!("CARGO_BIN_EXE_herald"),
        site.config.display()
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run script(1)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn logs_on_a_terminal_are_coloured_unless_no_color_is_set() {
    let (site, _) = small_site();
    let coloured = serve_on_a_terminal(&site, &[("RUST_LOG", "info")]);
    assert!(coloured.contains("listening on"), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}["),
        "no colour on a terminal:\n{coloured:?}"
    );
    let plain = serve_on_a_terminal(&site, &[("RUST_LOG", "info"), ("NO_COLOR", "1")]);
    assert!(plain.contains("listening on"), "{plain:?}");
    assert!(
        !plain.contains("\u{1b}["),
        "colour despite NO_COLOR:\n{plain:?}"
    );
}

#[test]
fn a_tree_written_just_before_start_is_not_logged_as_changed() {
    // An operator copies the newsroom into place and starts herald. Files
    // outside every feed window are indexed by a quick read; those new
    // enough that a write during the load could hide in their times are
    // read again by the first scan (unless the background check has
    // already read them). Nothing changed, so the log must not say the
    // scan found changes.
    let (site, _) = small_site();
    // Later than the start, whatever the machine's pace.
    let future = std::time::SystemTime::now() + Duration::from_secs(30);
    for i in 0..400 {
        let date = format!("2024-01-01T00:{:02}:{:02}Z", i / 60, i % 60);
        let rel = format!("news/a{i:03}.md");
        site.write(&rel, &article(&format!("Article {i}"), &date));
        std::fs::File::options()
            .append(true)
            .open(site.content.join(&rel))
            .unwrap()
            .set_modified(future)
            .unwrap();
    }
    let mut child = serve(
        &site,
        &[("RUST_LOG", "info,herald::daemon::reconcile=debug")],
    );
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Until the check is done and the first scan has said its piece (or
    // had a second to).
    let mut log = Vec::new();
    let (mut checked, mut scanned) = (None, false);
    let deadline = Instant::now() + DEADLINE;
    while checked.is_none_or(|t: Instant| !scanned && t.elapsed() < Duration::from_secs(1)) {
        assert!(Instant::now() < deadline, "{}", log.join("\n"));
        let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        if line.contains("every file checked in full") {
            checked = Some(Instant::now());
        }
        scanned |= line.contains("re-read files written as the load began");
        log.push(line);
    }
    signal(&child, libc::SIGTERM);
    let _ = child.wait();
    let log = log.join("\n");
    assert!(!log.contains("reconcile scan found changes"), "{log}");
    assert!(log.contains("every file checked in full"), "{log}");
}

// ------------------------------------------------------------ static output

/// `(file, its .gz or .br)` for every compressed copy under `out`, with
/// the page's bytes and the copy's.
fn compressed_copies(out: &std::path::Path) -> Vec<(String, String)> {
    files_under(out)
        .into_iter()
        .filter_map(|f| {
            let page = f.strip_suffix(".gz").or_else(|| f.strip_suffix(".br"))?;
            Some((page.to_string(), f.clone()))
        })
        .collect()
}

fn mtime(path: &std::path::Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// Whether every `.gz` and `.br` beside a page decompresses to the page,
/// has its modification time, and holds exactly what the daemon sends for
/// that encoding: how many there are, or the first that does not.
fn copies_match(out: &std::path::Path, d: &Daemon) -> Result<usize, String> {
    let copies = compressed_copies(out);
    for (page, copy) in &copies {
        let body = std::fs::read(out.join(page)).map_err(|e| format!("{page}: {e}"))?;
        let packed = std::fs::read(out.join(copy)).map_err(|e| format!("{copy}: {e}"))?;
        let (unpacked, encoding) = if copy.ends_with(".gz") {
            (gunzip(&packed), "gzip")
        } else {
            (unbrotli(&packed), "br")
        };
        if unpacked != body {
            return Err(format!("{copy} does not decompress to {page}"));
        }
        if mtime(&out.join(copy)) != mtime(&out.join(page)) {
            return Err(format!("{copy}: not the mtime of {page}"));
        }
        let r = client().get_with(&d.url(&url_of_file(page)), &[("Accept-Encoding", encoding)]);
        if r.opt_header("content-encoding") != Some(encoding) || r.body != packed {
            return Err(format!("{copy}: not the bytes served for {encoding}"));
        }
    }
    Ok(copies.len())
}

#[test]
fn herald_build_writes_gz_and_br_beside_every_page_as_served() {
    let site = Site::with_config(&config_with("Static", "127.0.0.1:0", "", ""));
    write_sample(&site.content);
    let out = site.root.join("out");
    site.build(&out);
    let d = Daemon::start(&site.config);
    // (Pages rendered on request get their compressed variants a moment
    // after their first request.)
    let n = eventually("every copy to match what is served", DEADLINE, || {
        copies_match(&out, &d)
    });
    let pages = pages_under(&out);
    // Every page big enough to compress has both copies; none has one
    // without the page.
    let big: Vec<&String> = pages
        .iter()
        .filter(|p| std::fs::metadata(out.join(p)).unwrap().len() >= 1024)
        .collect();
    assert!(!big.is_empty());
    for p in &big {
        assert!(out.join(format!("{p}.gz")).exists(), "{p}.gz missing");
        assert!(out.join(format!("{p}.br")).exists(), "{p}.br missing");
    }
    assert!(n >= 2 * big.len(), "{n} copies for {} big pages", big.len());
}

#[test]
fn output_dir_keeps_gz_and_br_in_step_with_each_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public");
    let site = Site::with_config(&config_with(
        "Static",
        "127.0.0.1:0",
        "",
        &format!("[output]\ndir = '{}'\n", out.display()),
    ));
    write_sample(&site.content);
    site.write(
        "gone/only.md",
        &article("The only one", "2025-01-03T00:00:00Z"),
    );
    let d = Daemon::start_watching(&site);
    d.wait_compressed();
    eventually("the compressed copies in output.dir", DEADLINE, || {
        let n = compressed_copies(&out).len();
        (n > 10).then_some(()).ok_or(format!("{n} copies"))
    });
    // Once the compressor is done, every copy matches what is served.
    eventually("every copy to match", DEADLINE, || copies_match(&out, &d));

    // An edit: the page and its copies change together.
    site.atomic_save(
        "gone/only.md",
        &article("The only one, edited", "2025-01-03T00:00:00Z"),
    );
    eventually("the edit in output.dir with its copies", DEADLINE, || {
        let feed = std::fs::read_to_string(out.join("gone/rss.xml")).unwrap_or_default();
        if !feed.contains("edited") {
            return Err("page not written yet".into());
        }
        let gz = std::fs::read(out.join("gone/rss.xml.gz")).map_err(|e| e.to_string())?;
        (gunzip(&gz) == feed.as_bytes())
            .then_some(())
            .ok_or("the .gz is stale".to_string())
    });

    // The category goes: its pages and their copies go.
    std::fs::remove_dir_all(site.path("gone")).unwrap();
    d.wait_status("/gone/rss.xml", 404);
    eventually(
        "the category's files gone from output.dir",
        DEADLINE,
        || {
            let left: Vec<String> = files_under(&out)
                .into_iter()
                .filter(|f| f.starts_with("gone/"))
                .collect();
            left.is_empty().then_some(()).ok_or(format!("{left:?}"))
        },
    );
}
