//! Helpers for `tests/serve.rs` and `tests/abuse.rs`: a copy of the
//! `tests/fixtures/serve` site in a temp dir, the real `herald` binary
//! serving it on an ephemeral port (stopped by PID when the guard drops),
//! an HTTP client, raw TCP requests for what a client library would
//! normalise, decompression and small parsers (Prometheus text, HTML tags).
#![allow(dead_code)] // not every helper is used by every test

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `site.base_url` of the fixture: self links, OPML and autodiscovery use it.
pub const BASE_URL: &str = "http://feeds.herald.test";

/// The categories of the fixture (directory names).
pub const CATEGORIES: &[&str] = &["culture", "politics", "社会"];

/// Feed file names, in config order.
pub const FEED_FILES: &[&str] = &["rss.xml", "atom.xml", "feed.json"];

/// Published articles in the fixture (a draft and a 2099 article are not).
pub const PUBLISHED: u64 = 5;

/// The fixture's `server.max_age`.
pub const MAX_AGE: u32 = 123;

/// How long the daemon may take to say it is listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Content-Type of a feed file name.
pub fn feed_content_type(file: &str) -> &'static str {
    match file {
        "rss.xml" => "application/rss+xml; charset=utf-8",
        "atom.xml" => "application/atom+xml; charset=utf-8",
        "feed.json" => "application/feed+json; charset=utf-8",
        other => panic!("not a feed file: {other}"),
    }
}

/// Percent-encodes one path segment (`社会` → `%E7%A4%BE%E4%BC%9A`).
pub fn enc(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Every feed path the fixture serves, percent-encoded: site-wide first.
pub fn all_feed_paths() -> Vec<String> {
    let mut out: Vec<String> = FEED_FILES.iter().map(|f| format!("/{f}")).collect();
    for c in CATEGORIES {
        for f in FEED_FILES {
            out.push(format!("/{}/{f}", enc(c)));
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A private copy of the fixture site (`herald.toml`, `content/`) in a
/// temp dir, for tests that run the daemon in-process.
pub fn copy_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/serve");
    copy_dir(&fixture, dir.path());
    dir
}

/// A running `herald serve` over a private copy of the fixture site.
/// Dropping it stops the process (SIGTERM, then SIGKILL).
pub struct Daemon {
    child: Child,
    exited: Option<ExitStatus>,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Everything it logged so far (ANSI codes stripped).
    log: Arc<Mutex<Vec<String>>>,
    dir: tempfile::TempDir,
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            // Skip parameters up to the final byte (a letter).
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Daemon {
    /// Copies the fixture to a temp dir and starts the daemon on
    /// `127.0.0.1:0`, returning once it logged `listening on http://…`.
    pub fn start() -> Daemon {
        Daemon::start_with(|_| {})
    }

    /// [`Daemon::start`], after `prepare` has changed the copy of the
    /// fixture (its argument is the site folder: `herald.toml`,
    /// `content/`), so the daemon loads the changed site at start.
    pub fn start_with(prepare: impl FnOnce(&Path)) -> Daemon {
        let dir = copy_fixture();
        prepare(dir.path());
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("serve")
            .arg("--config")
            .arg(dir.path().join("herald.toml"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start herald serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            // Keeps draining stderr for the daemon's whole life, so it never
            // blocks on a full pipe.
            std::thread::spawn(move || {
                let mut addr_tx = Some(addr_tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let line = strip_ansi(&line);
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        if let Some(tx) = addr_tx.take() {
                            let _ = tx.send(addr);
                        }
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let mut daemon = Daemon {
            child,
            exited: None,
            addr: "127.0.0.1:1".parse().unwrap(),
            log,
            dir,
        };
        match addr_rx.recv_timeout(START_TIMEOUT) {
            Ok(a) => {
                daemon.addr = a
                    .parse()
                    .unwrap_or_else(|e| panic!("bad listen address {a:?}: {e}"));
            }
            Err(_) => panic!(
                "herald did not log `listening on http://` within {START_TIMEOUT:?}; log:\n{}",
                daemon.log_text()
            ),
        }
        daemon.wait_compressed();
        daemon
    }

    /// Waits until the compressed variants of the first load are served:
    /// herald serves the first load as soon as it is rendered and
    /// compresses it just after, and most tests compare the two.
    fn wait_compressed(&self) {
        use std::io::Write;
        let started = Instant::now();
        loop {
            let head = std::net::TcpStream::connect(self.addr).and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.write_all(
                    b"HEAD / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
                )?;
                let mut text = String::new();
                s.read_to_string(&mut text)?;
                Ok(text.to_ascii_lowercase())
            });
            if head.is_ok_and(|h| h.contains("content-encoding: gzip")) {
                return;
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "herald never served gzip variants; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://ADDR:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Rewrites a public URL (from `site.base_url`) to this daemon.
    pub fn local(&self, public: &str) -> String {
        let path = public
            .strip_prefix(BASE_URL)
            .unwrap_or_else(|| panic!("{public} does not start with {BASE_URL}"));
        self.url(path)
    }

    /// The content directory of this daemon's site.
    pub fn content_dir(&self) -> PathBuf {
        self.dir.path().join("content")
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) with our own child's PID and a valid signal has no
        // memory-safety preconditions.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill(SIGTERM) failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.exited {
            return Some(s);
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                self.exited = Some(s);
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Daemon {
    /// [`Daemon::wait_exit`] for async tests: polls without blocking the
    /// runtime, so several daemons can be waited for at once.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.wait_exit(Duration::ZERO) {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exited.is_some() || matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = libc::pid_t::try_from(self.child.id()).unwrap_or(0);
        if pid > 0 {
            // SAFETY: as in `sigterm`.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        if self.wait_exit(Duration::from_secs(8)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP/1.1 client: no proxy (whatever the environment says), no
/// redirects, no automatic decompression.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// An HTTP/2 client with prior knowledge.
pub fn h2_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A response with its headers and whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub version: reqwest::Version,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// A header as a string; panics when missing or not ASCII.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    /// A header as a string, if present.
    pub fn opt_header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// Sends `method url` with `headers` and reads the whole reply.
pub async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = client.request(method.clone(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let version = resp.version();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap().to_vec();
    Reply {
        status,
        version,
        headers,
        body,
    }
}

/// `GET url` with `headers`.
pub async fn get_with(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Reply {
    send(client, reqwest::Method::GET, url, headers).await
}

/// `GET url`.
pub async fn get(client: &reqwest::Client, url: &str) -> Reply {
    get_with(client, url, &[]).await
}

/// A reply read off a raw socket.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` (bytes exactly as given; it should ask for
/// `Connection: close`) and reads the reply until the server closes.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> RawReply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut buf))
        .await
        .expect("raw reply within 15 s")
        .unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = buf[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawReply {
        status,
        headers,
        body,
    }
}

/// A `GET` of `target` (raw bytes, not normalised) over a raw socket.
pub async fn raw_get(addr: SocketAddr, target: &[u8]) -> RawReply {
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(target);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: feeds.herald.test\r\nConnection: close\r\n\r\n");
    raw(addr, &req).await
}

/// How a connection ended while we waited for the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// The server closed it (EOF or reset) after this long.
    After(Duration),
    /// Still open at the deadline.
    StillOpen,
}

/// Waits until the server closes `s` (read returns 0 or an error), or
/// `limit` passes. Bytes the server sends (e.g. a 408) are skipped.
pub async fn wait_closed(s: &mut (impl tokio::io::AsyncRead + Unpin), limit: Duration) -> Closed {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return Closed::StillOpen,
            Ok(Ok(0)) | Ok(Err(_)) => return Closed::After(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

/// Gunzips `bytes`.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// Decompresses brotli `bytes`.
pub fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).expect("valid brotli");
    out
}

/// One sample of Prometheus text: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parsed Prometheus text exposition: `# TYPE` lines and samples.
#[derive(Debug, Default)]
pub struct Metrics {
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

/// Parses Prometheus text format, panicking on any malformed line.
pub fn parse_prometheus(text: &str) -> Metrics {
    let mut m = Metrics::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let name = words.next().unwrap_or_else(|| panic!("line {n}: {line}"));
                let kind = words.next().unwrap_or_else(|| panic!("line {n}: {line}"));
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "line {n}: unknown metric type in {line:?}"
                );
                m.types.insert(name.to_string(), kind.to_string());
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("line {n}: no value in {line:?}"));
        let name = &line[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "line {n}: bad metric name in {line:?}"
        );
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(inner) = rest.strip_prefix('{') {
            // Label values are quoted and may hold `,`, `}` and escapes.
            let mut chars = inner.char_indices().peekable();
            let close;
            loop {
                while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                    chars.next();
                }
                match chars.peek() {
                    Some((i, '}')) => {
                        close = *i;
                        break;
                    }
                    None => panic!("line {n}: unclosed labels in {line:?}"),
                    _ => {}
                }
                let mut key = String::new();
                for (_, c) in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    key.push(c);
                }
                assert_eq!(
                    chars.next().map(|(_, c)| c),
                    Some('"'),
                    "line {n}: label value not quoted in {line:?}"
                );
                let mut value = String::new();
                let mut escaped = false;
                loop {
                    let (_, c) = chars
                        .next()
                        .unwrap_or_else(|| panic!("line {n}: unterminated label in {line:?}"));
                    match (escaped, c) {
                        (true, 'n') => {
                            value.push('\n');
                            escaped = false
                        }
                        (true, c) => {
                            value.push(c);
                            escaped = false
                        }
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        (false, c) => value.push(c),
                    }
                }
                labels.insert(key.trim().to_string(), value);
            }
            rest = &inner[close + 1..];
        }
        let mut fields = rest.split_whitespace();
        let value = fields
            .next()
            .unwrap_or_else(|| panic!("line {n}: no value in {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("line {n}: value {value:?} is not a number"));
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .unwrap_or_else(|_| panic!("line {n}: bad timestamp in {line:?}"));
        }
        assert!(
            fields.next().is_none(),
            "line {n}: trailing text in {line:?}"
        );
        m.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    m
}

/// The attributes of every `<tag ...>` in `html` (names lower-cased,
/// values HTML-unescaped), in document order.
pub fn tags(html: &str, tag: &str) -> Vec<BTreeMap<String, String>> {
    let tag_re = regex::Regex::new(&format!(r"(?is)<{tag}\s([^>]*)>")).unwrap();
    let attr_re = regex::Regex::new(r#"(?s)([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*"([^"]*)""#).unwrap();
    tag_re
        .captures_iter(html)
        .map(|c| {
            attr_re
                .captures_iter(&c[1])
                .map(|a| {
                    (
                        a[1].to_ascii_lowercase(),
                        html_escape::decode_html_entities(&a[2]).into_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Polls `check` every 25 ms until it returns `Some`, or panics with
/// `what` after `limit`.
pub async fn poll_until<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Returns once the daemon's content watcher demonstrably works: writes
/// `culture/watch-probe-N.md` (a new N every half second, since a file
/// written before the watcher started is only found by the slow
/// reconcile scan) until one shows up in `/culture/rss.xml`.
pub async fn wait_until_watching(d: &Daemon, c: &reqwest::Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 0.. {
        assert!(
            Instant::now() < deadline,
            "the content watcher never picked up a new file; log:\n{}",
            d.log_text()
        );
        let title = format!("Watch probe {n}");
        std::fs::write(
            d.content_dir().join(format!("culture/watch-probe-{n}.md")),
            format!("+++\ntitle = \"{title}\"\ndate = \"2025-01-01 08:00\"\n+++\nProbe.\n"),
        )
        .unwrap();
        let round = Instant::now() + Duration::from_millis(500);
        while Instant::now() < round {
            if get(c, &d.url("/culture/rss.xml"))
                .await
                .text()
                .contains(&title)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
