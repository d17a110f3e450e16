//! Abusive HTTP clients (docs/robustness.md, "HTTP"): what the real
//! `herald serve` binary does with oversized, malformed, unusual and
//! pipelined requests and with clients that vanish mid-response, and
//! what the library's connection cap does with one connection too many
//! (in-process, since no config key or flag sets the cap). Raw sockets
//! throughout, because a client library would refuse or normalise these
//! requests. Every case ends by checking that the daemon still serves
//! normal requests with the same bytes as before.

mod serve_support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use herald::daemon::{run_with, Options};
use herald::http::server::Limits;
use serve_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The fixture's public host (from `site.base_url`), sent as `Host`.
const HOST: &str = "feeds.herald.test";

/// The longest wait for any one connect, write or read: a hang fails.
const IO_LIMIT: Duration = Duration::from_secs(10);

/// One response read off a raw connection.
#[derive(Debug)]
struct Answer {
    status_line: String,
    status: u16,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn lossy(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(300)];
    format!(
        "{:?} ({} bytes)",
        String::from_utf8_lossy(shown),
        bytes.len()
    )
}

/// A raw HTTP/1 connection: writes bytes exactly as given and reads
/// responses one at a time by their `Content-Length` (herald always
/// sends one), keeping what arrived beyond the last one.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = tokio::time::timeout(IO_LIMIT, TcpStream::connect(addr))
            .await
            .expect("connect within the limit")
            .expect("connect to the daemon");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes `bytes`. Errors are ignored on purpose: a server that
    /// refuses a request may close (or reset) the connection before it
    /// has read all of it, and what it answered is then judged by the
    /// reads that follow, so a refused write shows as a missing answer.
    async fn send(&mut self, bytes: &[u8]) {
        let _ = tokio::time::timeout(IO_LIMIT, self.stream.write_all(bytes)).await;
    }

    /// Reads more bytes into the buffer; `false` once the server closed
    /// the connection (EOF or reset). Panics when nothing happens within
    /// [`IO_LIMIT`].
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(IO_LIMIT, self.stream.read(&mut chunk)).await {
            Err(_) => panic!(
                "the daemon neither sent nor closed within {IO_LIMIT:?}; so far {}",
                lossy(&self.buf)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next whole response, or `None` when the server closes before
    /// sending one (what it did send stays in the buffer).
    async fn answer(&mut self) -> Option<Answer> {
        let head_end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_string();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length in {head:?}"));
        let end = head_end + 4 + len;
        while self.buf.len() < end {
            assert!(
                self.fill().await,
                "closed after {} of {len} body bytes of {status_line:?}",
                self.buf.len() - head_end - 4
            );
        }
        let body = self.buf[head_end + 4..end].to_vec();
        self.buf.drain(..end);
        Some(Answer {
            status_line,
            status,
            headers,
            body,
        })
    }

    /// Waits until the server closes the connection; returns what it
    /// sent meanwhile that was not read as an answer. Panics if the
    /// connection stays open and silent for [`IO_LIMIT`].
    async fn rest_until_closed(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buf)
    }
}

/// A `GET target` with `Host`, the `extra` header lines (each ending in
/// CRLF) and `Connection: close`.
fn request(target: &str, extra: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: {HOST}\r\n{extra}Connection: close\r\n\r\n")
        .into_bytes()
}

/// Sends `bytes` on a new connection; returns the one answer, after
/// checking that the server then closed the connection with nothing more.
async fn answer_then_close(addr: SocketAddr, bytes: &[u8], what: &str) -> Answer {
    let mut c = Conn::open(addr).await;
    c.send(bytes).await;
    let a = c.answer().await.unwrap_or_else(|| {
        panic!(
            "{what}: the connection closed without an answer; got {}",
            lossy(&c.buf)
        )
    });
    let rest = c.rest_until_closed().await;
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
async fn assert_still_serving(d: &mut Daemon, reference: &Reply, after: &str) {
    assert!(
        d.wait_exit(Duration::ZERO).is_none(),
        "herald exited after {after}; log:\n{}",
        d.log_text()
    );
    let c = client();
    let r = get(&c, &d.url("/rss.xml")).await;
    assert_eq!(r.status, 200, "GET /rss.xml after {after}");
    assert!(
        r.body == reference.body,
        "GET /rss.xml after {after}: a different body"
    );
    assert_eq!(
        get(&c, &d.url("/healthz")).await.status,
        200,
        "after {after}"
    );
    assert!(
        !d.log_text().contains("panicked"),
        "herald panicked after {after}; log:\n{}",
        d.log_text()
    );
}

// ------------------------------------------------------------ big requests

#[tokio::test]
async fn oversized_request_headers_get_431_and_the_daemon_keeps_serving() {
    let mut d = Daemon::start();
    let reference = get(&client(), &d.url("/rss.xml")).await;
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
        let a = answer_then_close(d.addr, &request("/rss.xml", extra), what).await;
        assert_eq!(a.status, 431, "{what}: {}", a.status_line);
        assert_still_serving(&mut d, &reference, what).await;
    }
    // Just under the cap, a request is served as usual.
    let under: String = (0..30)
        .map(|i| format!("X-Filler-{i}: {}\r\n", "c".repeat(1000)))
        .collect();
    let a = answer_then_close(d.addr, &request("/rss.xml", &under), "30 KB of headers").await;
    assert_eq!(a.status, 200, "30 KB of headers: {}", a.status_line);
    assert!(
        a.body == reference.body,
        "30 KB of headers: a different body"
    );
}

#[tokio::test]
async fn huge_uri_gets_431_and_the_daemon_keeps_serving() {
    let mut d = Daemon::start();
    let reference = get(&client(), &d.url("/rss.xml")).await;
    assert_eq!(reference.status, 200);
    let huge = format!("/{}", "a".repeat(40 * 1024));
    let a = answer_then_close(d.addr, &request(&huge, ""), "a 40 KiB path").await;
    assert_eq!(a.status, 431, "a 40 KiB path: {}", a.status_line);
    assert_still_serving(&mut d, &reference, "a 40 KiB path").await;
    // A long path under the cap is looked up like any other.
    let long = format!("/{}", "a".repeat(16 * 1024));
    let a = answer_then_close(d.addr, &request(&long, ""), "a 16 KiB path").await;
    assert_eq!(a.status, 404, "a 16 KiB path: {}", a.status_line);
}

// ------------------------------------------------------ malformed requests

#[tokio::test]
async fn malformed_requests_get_400_and_are_closed() {
    let mut d = Daemon::start();
    let reference = get(&client(), &d.url("/rss.xml")).await;
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
        let a = answer_then_close(d.addr, bytes, what).await;
        assert_eq!(a.status, 400, "{what}: {}", a.status_line);
        assert!(
            !a.text().contains("<rss"),
            "{what}: a bad request was answered with the feed"
        );
        assert_still_serving(&mut d, &reference, what).await;
    }
}

// ------------------------------------------------------- unusual requests

#[tokio::test]
async fn absolute_form_uri_is_served_by_its_path_with_configured_links() {
    let d = Daemon::start();
    for (path, self_link) in [
        ("/rss.xml", "/rss.xml"),
        ("/atom.xml", "/atom.xml"),
        ("/feed.json", "/feed.json"),
        ("/feeds.opml", "/rss.xml"),
    ] {
        let origin = raw_get(d.addr, path.as_bytes()).await;
        assert_eq!(origin.status, 200, "GET {path}");
        let bytes = format!(
            "GET http://evil.example{path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        );
        let a = answer_then_close(d.addr, bytes.as_bytes(), path).await;
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

#[tokio::test]
async fn host_header_is_required_by_http11_only() {
    let mut d = Daemon::start();
    let reference = get(&client(), &d.url("/rss.xml")).await;
    assert_eq!(reference.status, 200);
    let a = answer_then_close(
        d.addr,
        b"GET /rss.xml HTTP/1.1\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 without Host",
    )
    .await;
    assert_eq!(a.status, 400, "HTTP/1.1 without Host: {}", a.status_line);
    assert!(
        !a.text().contains("<rss"),
        "HTTP/1.1 without Host was answered with the feed"
    );
    // HTTP/1.0 has no Host header to require; it closes by default.
    let a = answer_then_close(d.addr, b"GET /rss.xml HTTP/1.0\r\n\r\n", "HTTP/1.0").await;
    assert_eq!(a.status, 200, "HTTP/1.0 without Host: {}", a.status_line);
    assert!(
        a.body == reference.body,
        "HTTP/1.0 without Host: a different body"
    );
    assert_still_serving(&mut d, &reference, "requests without Host").await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let d = Daemon::start();
    let c = client();
    let paths = [
        "/rss.xml".to_string(),
        format!("/{}/feed.json", enc("社会")),
        "/feeds.opml".to_string(),
        "/atom.xml".to_string(),
    ];
    let mut expected = Vec::new();
    for p in &paths {
        let r = get(&c, &d.url(p)).await;
        assert_eq!(r.status, 200, "GET {p}");
        expected.push(r);
    }
    let mut conn = Conn::open(d.addr).await;
    let three: String = paths[..3]
        .iter()
        .map(|p| format!("GET {p} HTTP/1.1\r\nHost: {HOST}\r\n\r\n"))
        .collect();
    conn.send(three.as_bytes()).await;
    for (p, want) in paths.iter().zip(&expected).take(3) {
        let a = conn
            .answer()
            .await
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
    conn.send(&request(&paths[3], "")).await;
    let a = conn
        .answer()
        .await
        .unwrap_or_else(|| panic!("GET /atom.xml after the pipeline: closed"));
    assert_eq!(a.status, 200, "GET /atom.xml after the pipeline");
    assert!(
        a.body == expected[3].body,
        "GET /atom.xml after the pipeline: a different body"
    );
    let rest = conn.rest_until_closed().await;
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
async fn vanish(addr: SocketAddr, how: usize) {
    let mut s = tokio::time::timeout(IO_LIMIT, TcpStream::connect(addr))
        .await
        .expect("connect within the limit")
        .unwrap();
    let req = format!("GET /rss.xml HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    if how == 0 {
        return;
    }
    let mut first = [0u8; 12];
    tokio::time::timeout(IO_LIMIT, s.read_exact(&mut first))
        .await
        .expect("the answer starts within the limit")
        .unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    if how == 2 {
        s.set_zero_linger().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_vanishing_mid_response_affect_nothing_else() {
    let mut d = Daemon::start_with(add_big_article);
    let reference = get(&client(), &d.url("/rss.xml")).await;
    assert_eq!(reference.status, 200);
    assert!(
        reference.body.len() > 800_000,
        "the site feed is only {} bytes: too small to be cut mid-response",
        reference.body.len()
    );
    let reference = std::sync::Arc::new(reference);
    let mut wave = tokio::task::JoinSet::new();
    for i in 0..50 {
        wave.spawn(vanish(d.addr, i % 3));
        // Ordinary clients in the same wave get whole, correct answers.
        if i % 10 == 0 {
            let (url, reference) = (d.url("/rss.xml"), std::sync::Arc::clone(&reference));
            wave.spawn(async move {
                let r = get(&client(), &url).await;
                assert_eq!(r.status, 200);
                assert!(r.body == reference.body, "a whole answer differed");
            });
        }
    }
    while let Some(done) = wave.join_next().await {
        done.unwrap();
    }
    assert_still_serving(&mut d, &reference, "50 clients vanished mid-response").await;
}

// ------------------------------------------------------- connection cap

/// `GET /rss.xml` on a new connection: the answer, or `None` when the
/// server closes without one.
async fn try_get(addr: SocketAddr, path: &str) -> Option<Answer> {
    let mut c = Conn::open(addr).await;
    c.send(&request(path, "")).await;
    c.answer().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_closed_until_a_slot_frees() {
    let site = copy_fixture();
    let config = herald::config::Config::load(&site.path().join("herald.toml")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Timeouts far beyond the test's length, so only the cap decides.
    let limits = Limits {
        max_connections: 4,
        first_byte_timeout: Duration::from_secs(120),
        header_timeout: Duration::from_secs(120),
        ..Limits::default()
    };
    let options = Options {
        limits,
        ..Options::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run_with(listener, config, options, async {
        let _ = stop_rx.await;
    }));

    // Four connections in the middle of a request hold every slot (the
    // listener accepts in connect order).
    let partial = format!("GET /rss.xml HTTP/1.1\r\nHost: {HOST}\r\n");
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = Conn::open(addr).await;
        c.send(partial.as_bytes()).await;
        held.push(c);
    }
    let mut fifth = Conn::open(addr).await;
    fifth.send(&request("/rss.xml", "")).await;
    let sent = fifth.rest_until_closed().await;
    assert!(
        sent.is_empty(),
        "a fifth connection over a cap of 4 was answered: {}",
        lossy(&sent)
    );

    // One of the four goes away: its slot serves a new connection.
    drop(held.remove(0));
    let served = poll_until(IO_LIMIT, "a new connection served after one closed", || {
        try_get(addr, "/rss.xml")
    })
    .await;
    assert_eq!(served.status, 200, "{}", served.status_line);
    assert!(
        served.text().contains("<rss"),
        "not the feed: {}",
        served.text()
    );

    // The connections that held their slots were waiting, not dropped.
    let mut waiting = held.remove(0);
    waiting.send(b"Connection: close\r\n\r\n").await;
    let a = waiting
        .answer()
        .await
        .unwrap_or_else(|| panic!("a held connection was closed; got {}", lossy(&waiting.buf)));
    assert_eq!(a.status, 200, "the held request: {}", a.status_line);
    assert!(a.body == served.body, "the held request: a different body");

    // The refusals are counted.
    drop(held);
    let metrics = poll_until(IO_LIMIT, "GET /metrics", || try_get(addr, "/metrics")).await;
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

    stop_tx.send(()).unwrap();
    tokio::time::timeout(IO_LIMIT, daemon)
        .await
        .expect("the daemon stops within the limit")
        .unwrap()
        .unwrap();
}
