//! Abusive HTTP clients (docs/robustness.md, "HTTP"): what the real
//! `herald serve` binary does with oversized, malformed, unusual and
//! pipelined requests and with clients that vanish mid-response, and
//! what the library's connection cap does with one connection too many
//! (in-process, since no config key or flag sets the cap). Raw sockets
//! throughout, because a client library would refuse or normalise these
//! requests. Every case ends by checking that the daemon still serves
//! normal requests with the same bytes as before.

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd as _;
use std::path::Path;
use std::time::{Duration, Instant};

use support::fixture::BASE_URL;
use support::*;

/// The fixture's public host (from `site.base_url`), sent as `Host`.
const HOST: &str = "feeds.herald.test";

/// The fixture served by the binary (these tests read its log for panics),
/// after `prepare` has changed the copy (its argument is the site folder:
/// `herald.toml`, `content/`).
fn spawn_with(prepare: impl FnOnce(&Path)) -> (Site, Daemon) {
    let site = Site::serve_fixture();
    prepare(&site.root);
    let d = Daemon::spawn(&site.config);
    d.wait_compressed();
    (site, d)
}

fn spawn() -> (Site, Daemon) {
    spawn_with(|_| {})
}

/// A `GET target` with `Host`, the `extra` header lines (each ending in
/// CRLF) and `Connection: close`.
fn request(target: &str, extra: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: {HOST}\r\n{extra}Connection: close\r\n\r\n")
        .into_bytes()
}

/// Sends `bytes` on a new connection; returns the one answer, after
/// checking that the server then closed the connection with nothing more.
fn answer_then_close(addr: SocketAddr, bytes: &[u8], what: &str) -> RawReply {
    let mut c = Conn::open(addr);
    c.send(bytes);
    let a = c.answer().unwrap_or_else(|| {
        panic!(
            "{what}: the connection closed without an answer; got {}",
            lossy(&c.buf)
        )
    });
    let rest = c.rest_until_closed();
    assert!(
        rest.is_empty(),
        "{what}: more bytes after {:?}: {}",
        a.status_line,
        lossy(&rest)
    );
    a
}

/// The daemon process is alive, never panicked, and answers normal
/// requests: `/rss.xml` with `reference`'s bytes, `/healthz` with 200.
fn assert_still_serving(d: &mut Daemon, reference: &Reply, after: &str) {
    assert!(
        d.wait_exit(Duration::ZERO).is_none(),
        "herald exited after {after}; log:\n{}",
        d.log()
    );
    let c = client();
    let r = c.get(&d.url("/rss.xml"));
    assert_eq!(r.status, 200, "GET /rss.xml after {after}");
    assert!(
        r.body == reference.body,
        "GET /rss.xml after {after}: a different body"
    );
    assert_eq!(c.get(&d.url("/healthz")).status, 200, "after {after}");
    assert!(
        !d.log().contains("panicked"),
        "herald panicked after {after}; log:\n{}",
        d.log()
    );
}

// ------------------------------------------------------------ big requests

#[test]
fn oversized_request_headers_get_431_and_the_daemon_keeps_serving() {
    let (_site, mut d) = spawn();
    let reference = client().get(&d.url("/rss.xml"));
    assert_eq!(reference.status, 200);
    let one_huge = format!("X-Huge: {}\r\n", "a".repeat(64 * 1024));
    let many_large: String = (0..40)
        .map(|i| format!("X-Filler-{i}: {}\r\n", "b".repeat(1024)))
        .collect();
    // Small but more than hyper's 100 header fields: refused the same way.
    let too_many: String = (0..150).map(|i| format!("X-Small-{i}: 1\r\n")).collect();
    for (what, extra) in [
        ("one 64 KiB header", &one_huge),
        ("40 headers of 1 KiB", &many_large),
        ("150 one-byte headers", &too_many),
    ] {
        let a = answer_then_close(d.addr, &request("/rss.xml", extra), what);
        assert_eq!(a.status, 431, "{what}: {}", a.status_line);
        assert_still_serving(&mut d, &reference, what);
    }
    // Just under the cap, a request is served as usual.
    let under: String = (0..30)
        .map(|i| format!("X-Filler-{i}: {}\r\n", "c".repeat(1000)))
        .collect();
    let a = answer_then_close(d.addr, &request("/rss.xml", &under), "30 KB of headers");
    assert_eq!(a.status, 200, "30 KB of headers: {}", a.status_line);
    assert!(
        a.body == reference.body,
        "30 KB of headers: a different body"
    );
}

#[test]
fn huge_uri_gets_431_and_the_daemon_keeps_serving() {
    let (_site, mut d) = spawn();
    let reference = client().get(&d.url("/rss.xml"));
    assert_eq!(reference.status, 200);
    let huge = format!("/{}", "a".repeat(40 * 1024));
    let a = answer_then_close(d.addr, &request(&huge, ""), "a 40 KiB path");
    assert_eq!(a.status, 431, "a 40 KiB path: {}", a.status_line);
    assert_still_serving(&mut d, &reference, "a 40 KiB path");
    // A long path under the cap is looked up like any other.
    let long = format!("/{}", "a".repeat(16 * 1024));
    let a = answer_then_close(d.addr, &request(&long, ""), "a 16 KiB path");
    assert_eq!(a.status, 404, "a 16 KiB path: {}", a.status_line);
}

// ------------------------------------------------------ malformed requests

#[test]
fn malformed_requests_get_400_and_are_closed() {
    let (_site, mut d) = spawn();
    let reference = client().get(&d.url("/rss.xml"));
    assert_eq!(reference.status, 200);
    let host = format!("Host: {HOST}\r\n");
    // None asks for `Connection: close`: the server must close by itself.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage bytes",
            b"\x00\x01\x02\xff\xfe garbage \x7f\r\n\r\n".to_vec(),
        ),
        ("a bare GET", b"GET\r\n\r\n".to_vec()),
        (
            "a header line without a colon",
            format!("GET /rss.xml HTTP/1.1\r\n{host}NoColonHere\r\n\r\n").into_bytes(),
        ),
        (
            "a method with invalid characters",
            format!("G(T) /rss.xml HTTP/1.1\r\n{host}\r\n").into_bytes(),
        ),
        (
            "HTTP/9.9",
            format!("GET /rss.xml HTTP/9.9\r\n{host}\r\n").into_bytes(),
        ),
    ];
    for (what, bytes) in &cases {
        let a = answer_then_close(d.addr, bytes, what);
        assert_eq!(a.status, 400, "{what}: {}", a.status_line);
        assert!(
            !a.text().contains("<rss"),
            "{what}: a bad request was answered with the feed"
        );
        assert_still_serving(&mut d, &reference, what);
    }
}

// ------------------------------------------------------- unusual requests

#[test]
fn absolute_form_uri_is_served_by_its_path_with_configured_links() {
    let (_site, d) = spawn();
    for (path, self_link) in [
        ("/rss.xml", "/rss.xml"),
        ("/atom.xml", "/atom.xml"),
        ("/feed.json", "/feed.json"),
        ("/feeds.opml", "/rss.xml"),
    ] {
        let origin = raw_get(d.addr, path.as_bytes());
        assert_eq!(origin.status, 200, "GET {path}");
        let bytes = format!(
            "GET http://evil.example{path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        );
        let a = answer_then_close(d.addr, bytes.as_bytes(), path);
        assert_eq!(
            a.status, 200,
            "GET http://evil.example{path}: {}",
            a.status_line
        );
        assert_eq!(a.header("content-type"), origin.header("content-type"));
        assert!(
            a.body == origin.body,
            "GET http://evil.example{path}: not the bytes of GET {path}"
        );
        let text = a.text();
        let want = format!("{BASE_URL}{self_link}");
        assert!(text.contains(&want), "{path}: no {want} in\n{text}");
        assert!(
            !text.contains("evil.example"),
            "{path}: the request's host leaked into the body:\n{text}"
        );
    }
}

#[test]
fn host_header_is_required_by_http11_only() {
    let (_site, mut d) = spawn();
    let reference = client().get(&d.url("/rss.xml"));
    assert_eq!(reference.status, 200);
    let a = answer_then_close(
        d.addr,
        b"GET /rss.xml HTTP/1.1\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 without Host",
    );
    assert_eq!(a.status, 400, "HTTP/1.1 without Host: {}", a.status_line);
    assert!(
        !a.text().contains("<rss"),
        "HTTP/1.1 without Host was answered with the feed"
    );
    // HTTP/1.0 has no Host header to require; it closes by default.
    let a = answer_then_close(d.addr, b"GET /rss.xml HTTP/1.0\r\n\r\n", "HTTP/1.0");
    assert_eq!(a.status, 200, "HTTP/1.0 without Host: {}", a.status_line);
    assert!(
        a.body == reference.body,
        "HTTP/1.0 without Host: a different body"
    );
    assert_still_serving(&mut d, &reference, "requests without Host");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_site, d) = spawn();
    let c = client();
    let paths = [
        "/rss.xml".to_string(),
        format!("/{}/feed.json", encode_segment("社会")),
        "/feeds.opml".to_string(),
        "/atom.xml".to_string(),
    ];
    let mut expected = Vec::new();
    for p in &paths {
        let r = c.get(&d.url(p));
        assert_eq!(r.status, 200, "GET {p}");
        expected.push(r);
    }
    let mut conn = Conn::open(d.addr);
    let three: String = paths[..3]
        .iter()
        .map(|p| format!("GET {p} HTTP/1.1\r\nHost: {HOST}\r\n\r\n"))
        .collect();
    conn.send(three.as_bytes());
    for (p, want) in paths.iter().zip(&expected).take(3) {
        let a = conn
            .answer()
            .unwrap_or_else(|| panic!("pipelined GET {p}: closed; got {}", lossy(&conn.buf)));
        assert_eq!(a.status, 200, "pipelined GET {p}: {}", a.status_line);
        assert_eq!(
            a.header("content-type"),
            Some(want.header("content-type")),
            "pipelined GET {p}"
        );
        assert_eq!(
            a.header("content-length"),
            Some(want.body.len().to_string().as_str()),
            "pipelined GET {p}"
        );
        assert!(a.body == want.body, "pipelined GET {p}: a different body");
    }
    // The connection is still usable afterwards.
    conn.send(&request(&paths[3], ""));
    let a = conn
        .answer()
        .unwrap_or_else(|| panic!("GET /atom.xml after the pipeline: closed"));
    assert_eq!(a.status, 200, "GET /atom.xml after the pipeline");
    assert!(
        a.body == expected[3].body,
        "GET /atom.xml after the pipeline: a different body"
    );
    let rest = conn.rest_until_closed();
    assert!(
        rest.is_empty(),
        "bytes after the last answer: {}",
        lossy(&rest)
    );
}

// --------------------------------------------------------- vanishing clients

/// Adds one plain-text article of about 900 KB (under the 1 MiB file
/// limit) and serves RSS only, so the site feed is large enough to
/// outlast the socket buffers but quick to render and compress.
fn add_big_article(site: &Path) {
    let mut config = std::fs::read_to_string(site.join("herald.toml")).unwrap();
    config.push_str("\n[feeds]\nformats = [\"rss\"]\n");
    std::fs::write(site.join("herald.toml"), config).unwrap();
    let mut text = String::from("Harbour works report\n");
    for i in 0..11_000 {
        text.push_str(&format!(
            "Paragraph {i}: the council reviewed the harbour, the library and the bus routes.\n"
        ));
    }
    text.push_str("2025-02-01 09:00:00\n");
    assert!(text.len() < 1024 * 1024);
    std::fs::write(site.join("content/culture/harbour-works.txt"), text).unwrap();
}

/// Asks for `/rss.xml` and goes away: before reading anything (`0`),
/// after its first bytes (`1`: closing with unread data resets), or
/// after its first bytes with `SO_LINGER` 0 (`2`: an explicit reset).
fn vanish(addr: SocketAddr, how: usize) {
    let mut s = TcpStream::connect_timeout(&addr, IO_LIMIT).expect("connect within the limit");
    s.set_read_timeout(Some(IO_LIMIT)).unwrap();
    let req = format!("GET /rss.xml HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    if how == 0 {
        return;
    }
    let mut first = [0u8; 12];
    s.read_exact(&mut first)
        .expect("the answer starts within the limit");
    assert_eq!(&first, b"HTTP/1.1 200");
    if how == 2 {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt(2) on a socket this function owns, with a
        // pointer to a local of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                std::ptr::addr_of!(linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
    }
}

#[test]
fn clients_vanishing_mid_response_affect_nothing_else() {
    let (_site, mut d) = spawn_with(add_big_article);
    let reference = client().get(&d.url("/rss.xml"));
    assert_eq!(reference.status, 200);
    assert!(
        reference.body.len() > 800_000,
        "the site feed is only {} bytes: too small to be cut mid-response",
        reference.body.len()
    );
    std::thread::scope(|wave| {
        for i in 0..50 {
            let addr = d.addr;
            wave.spawn(move || vanish(addr, i % 3));
            // Ordinary clients in the same wave get whole, correct answers.
            if i % 10 == 0 {
                let (url, reference) = (d.url("/rss.xml"), &reference);
                wave.spawn(move || {
                    let r = client().get(&url);
                    assert_eq!(r.status, 200);
                    assert!(r.body == reference.body, "a whole answer differed");
                });
            }
        }
    });
    assert_still_serving(&mut d, &reference, "50 clients vanished mid-response");
}

// ------------------------------------------------------- connection cap

/// `GET path` on a new connection: the answer, or why there is none.
fn try_get(addr: SocketAddr, path: &str) -> Result<RawReply, String> {
    let mut c = Conn::open(addr);
    c.send(&request(path, ""));
    c.answer()
        .ok_or_else(|| format!("closed without an answer; got {}", lossy(&c.buf)))
}

#[test]
fn connections_over_the_cap_are_closed_until_a_slot_frees() {
    let site = Site::serve_fixture();
    // Timeouts far beyond the test's length, so only the cap decides.
    let limits = Limits {
        max_connections: 4,
        first_byte_timeout: Duration::from_secs(120),
        header_timeout: Duration::from_secs(120),
        ..short_limits()
    };
    let d = Daemon::start_with(&site.config, |o| o.limits = limits);
    let addr = d.addr;

    // Four connections in the middle of a request hold every slot (the
    // listener accepts in connect order).
    let partial = format!("GET /rss.xml HTTP/1.1\r\nHost: {HOST}\r\n");
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = Conn::open(addr);
        c.send(partial.as_bytes());
        held.push(c);
    }
    let mut fifth = Conn::open(addr);
    fifth.send(&request("/rss.xml", ""));
    let sent = fifth.rest_until_closed();
    assert!(
        sent.is_empty(),
        "a fifth connection over a cap of 4 was answered: {}",
        lossy(&sent)
    );

    // One of the four goes away: its slot serves a new connection.
    drop(held.remove(0));
    let served = eventually("a new connection served after one closed", IO_LIMIT, || {
        try_get(addr, "/rss.xml")
    });
    assert_eq!(served.status, 200, "{}", served.status_line);
    assert!(
        served.text().contains("<rss"),
        "not the feed: {}",
        served.text()
    );

    // The connections that held their slots were waiting, not dropped.
    let mut waiting = held.remove(0);
    waiting.send(b"Connection: close\r\n\r\n");
    let a = waiting
        .answer()
        .unwrap_or_else(|| panic!("a held connection was closed; got {}", lossy(&waiting.buf)));
    assert_eq!(a.status, 200, "the held request: {}", a.status_line);
    assert!(a.body == served.body, "the held request: a different body");

    // The refusals are counted.
    drop(held);
    let metrics = eventually("GET /metrics", IO_LIMIT, || try_get(addr, "/metrics"));
    let m = parse_prometheus(&metrics.text());
    let rejected: f64 = m
        .samples
        .iter()
        .filter(|s| s.name.starts_with("herald_connections_rejected"))
        .map(|s| s.value)
        .sum();
    assert!(
        rejected >= 1.0,
        "no rejected connection counted:\n{}",
        metrics.text()
    );

    let stopping = Instant::now();
    d.shutdown().expect("the daemon stops cleanly");
    assert!(
        stopping.elapsed() < IO_LIMIT,
        "the daemon took {:?} to stop",
        stopping.elapsed()
    );
}
