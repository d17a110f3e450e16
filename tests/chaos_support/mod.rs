//! Helpers for the chaos test: a SplitMix64 PRNG, the categories the
//! pollers may see 404 for, a keep-alive HTTP/1.1 client over `TcpStream`,
//! the checks every reply must pass, the poller loop, and the reports a
//! failure prints.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::live_support::rss_titles;

/// How long after a category folder reappears the daemon may still answer
/// 404 for it (it needs the debounce plus a rescan of the folder; generous
/// for loaded machines). Staleness beyond that is caught at the end anyway.
pub const CATEGORY_LAG: Duration = Duration::from_secs(15);
/// Pollers keep fetching a category this long after its folder went away
/// (then only now and then, so most requests go to live feeds).
pub const RECENTLY_GONE: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------- PRNG

/// SplitMix64: small, fast, and the same sequence everywhere.
pub struct Rng(pub u64);

impl Rng {
    /// The next number of the sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `pct` %.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.next_u64() % 100 < pct
    }

    /// A uniformly chosen item, `None` when there is none.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.below(items.len())])
        }
    }
}

// ---------------------------------------------------------------- URLs

/// Percent-encodes one path segment (RFC 3986 unreserved bytes stay).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Maps a file `herald build` wrote (`/`-separated, relative) to its URL.
pub fn url_of_file(rel: &str) -> String {
    let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
    let mut url = String::from("/");
    for seg in dir.split('/').filter(|s| !s.is_empty()) {
        url.push_str(&encode_segment(seg));
        url.push('/');
    }
    if file != "index.html" {
        url.push_str(file);
    }
    url
}

// ---------------------------------------------------------------- categories seen by the pollers

/// One category's presence on disk, as the operation thread declares it.
#[derive(Clone, Copy)]
struct Presence {
    present: bool,
    /// When it was last absent: set as it goes (before the folder leaves)
    /// and as it comes back (after the folder arrives), so a 404 the
    /// daemon gives for it is always covered.
    last_absent: Option<Instant>,
}

/// Every category name ever used, with its presence. Written by the
/// operation thread, read by the pollers.
#[derive(Default)]
pub struct Categories(Mutex<BTreeMap<String, Presence>>);

impl Categories {
    /// A category there before the daemon started: never rightly 404.
    pub fn set_initial(&self, name: &str) {
        let p = Presence {
            present: true,
            last_absent: None,
        };
        self.0.lock().unwrap().insert(name.to_string(), p);
    }

    /// A folder that has just arrived (call after the move).
    pub fn set_present(&self, name: &str) {
        let mut m = self.0.lock().unwrap();
        let was = m.get(name).copied();
        let last_absent = match was {
            Some(p) if p.present => p.last_absent,
            _ => Some(Instant::now()),
        };
        m.insert(
            name.to_string(),
            Presence {
                present: true,
                last_absent,
            },
        );
    }

    /// A folder about to leave (call before the move).
    pub fn set_absent(&self, name: &str) {
        self.0.lock().unwrap().insert(
            name.to_string(),
            Presence {
                present: false,
                last_absent: Some(Instant::now()),
            },
        );
    }

    /// Whether the daemon may rightly answer 404 for `name` to a request
    /// sent at `sent`: the folder is gone, or was gone shortly before.
    fn may_be_absent(&self, name: &str, sent: Instant) -> bool {
        match self.0.lock().unwrap().get(name) {
            None => true,
            Some(p) if !p.present => true,
            Some(p) => p.last_absent.is_some_and(|t| t + CATEGORY_LAG >= sent),
        }
    }

    /// Every category name ever used.
    pub fn names(&self) -> Vec<String> {
        self.0.lock().unwrap().keys().cloned().collect()
    }

    /// What a poller fetches this round: every present category, those
    /// gone in the last [`RECENTLY_GONE`], and `sample` other absent ones
    /// (so long-gone folders are still seen to 404, without most requests
    /// going to them).
    fn to_poll(&self, rng: &mut Rng, sample: usize) -> Vec<String> {
        let m = self.0.lock().unwrap();
        let mut out = Vec::new();
        let mut long_gone = Vec::new();
        for (name, p) in m.iter() {
            let recent = p.last_absent.is_some_and(|t| t.elapsed() < RECENTLY_GONE);
            if p.present || recent {
                out.push(name.clone());
            } else {
                long_gone.push(name.clone());
            }
        }
        for _ in 0..sample.min(long_gone.len()) {
            let i = rng.below(long_gone.len());
            out.push(long_gone.swap_remove(i));
        }
        out
    }
}

// ---------------------------------------------------------------- HTTP client

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rss,
    Atom,
    Json,
    Opml,
    Html,
    Health,
    Metrics,
}

struct Target {
    path: String,
    /// The category this URL belongs to (404 allowed while it is absent).
    category: Option<String>,
    kind: Kind,
}

fn targets(categories: Vec<String>) -> Vec<Target> {
    let mut out: Vec<Target> = [
        ("/", Kind::Html),
        ("/rss.xml", Kind::Rss),
        ("/atom.xml", Kind::Atom),
        ("/feed.json", Kind::Json),
        ("/feeds.opml", Kind::Opml),
        ("/healthz", Kind::Health),
        ("/metrics", Kind::Metrics),
    ]
    .into_iter()
    .map(|(p, kind)| Target {
        path: p.to_string(),
        category: None,
        kind,
    })
    .collect();
    for c in categories {
        let e = encode_segment(&c);
        for (file, kind) in [
            ("", Kind::Html),
            ("rss.xml", Kind::Rss),
            ("atom.xml", Kind::Atom),
            ("feed.json", Kind::Json),
        ] {
            out.push(Target {
                path: format!("/{e}/{file}"),
                category: Some(c.clone()),
                kind,
            });
        }
    }
    out
}

/// A response.
pub struct Reply {
    pub status: u16,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    /// As sent (perhaps compressed).
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value (`name` lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

enum ReadError {
    /// The connection closed before any byte of a status line: a reused
    /// keep-alive connection the server had just closed. Retried once.
    ClosedEarly(String),
    Other(String),
}

/// A keep-alive HTTP/1.1 client over one `TcpStream`, reconnecting when
/// the server closes it.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    /// A client that connects on its first request.
    pub fn new(addr: SocketAddr) -> Client {
        Client { addr, conn: None }
    }

    fn connect(&self) -> Result<BufReader<TcpStream>, String> {
        let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
            .map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(15)))
            .and_then(|_| s.set_write_timeout(Some(Duration::from_secs(15))))
            .and_then(|_| s.set_nodelay(true))
            .map_err(|e| format!("socket options: {e}"))?;
        Ok(BufReader::new(s))
    }

    /// Sends one request with `extra` headers and reads the reply,
    /// reconnecting once if a reused connection turns out closed.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        extra: &[(&str, String)],
    ) -> Result<Reply, String> {
        let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (k, v) in extra {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        for attempt in 0..2 {
            let reused = self.conn.is_some();
            if self.conn.is_none() {
                self.conn = Some(self.connect()?);
            }
            let conn = self.conn.as_mut().unwrap();
            if let Err(e) = conn.get_mut().write_all(text.as_bytes()) {
                self.conn = None;
                if reused && attempt == 0 {
                    continue;
                }
                return Err(format!("write: {e}"));
            }
            match read_reply(conn, method == "HEAD") {
                Ok((reply, keep)) => {
                    if !keep {
                        self.conn = None;
                    }
                    return Ok(reply);
                }
                Err(ReadError::ClosedEarly(e)) => {
                    self.conn = None;
                    if reused && attempt == 0 {
                        continue;
                    }
                    return Err(e);
                }
                Err(ReadError::Other(e)) => {
                    self.conn = None;
                    return Err(e);
                }
            }
        }
        Err("connection closed twice".into())
    }
}

/// Reads one response; returns it and whether the connection can be reused.
fn read_reply(r: &mut BufReader<TcpStream>, head: bool) -> Result<(Reply, bool), ReadError> {
    let other = |what: &str, e: std::io::Error| ReadError::Other(format!("{what}: {e}"));
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) => return Err(ReadError::ClosedEarly("closed before status line".into())),
        Err(e) if line.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
            return Err(ReadError::ClosedEarly(format!("status line: {e}")))
        }
        Err(e) => return Err(other("status line", e)),
        Ok(_) => {}
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ReadError::Other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        let n = r.read_line(&mut h).map_err(|e| other("header", e))?;
        if n == 0 {
            return Err(ReadError::Other("closed inside the headers".into()));
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| ReadError::Other(format!("bad header line {h:?}")))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let close =
        get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) || version != "HTTP/1.1";
    let mut body = Vec::new();
    let no_body = head || status == 204 || status == 304 || (100..200).contains(&status);
    let mut keep = !close;
    if no_body {
        // Nothing follows the headers.
    } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size_line = String::new();
            r.read_line(&mut size_line)
                .map_err(|e| other("chunk size", e))?;
            let size_text = size_line.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| ReadError::Other(format!("bad chunk size {size_line:?}")))?;
            if size == 0 {
                // Trailers, then the final CRLF.
                loop {
                    let mut t = String::new();
                    r.read_line(&mut t).map_err(|e| other("trailer", e))?;
                    if t.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])
                .map_err(|e| other("chunk", e))?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).map_err(|e| other("chunk end", e))?;
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| ReadError::Other(format!("bad content-length {len:?}")))?;
        body.resize(len, 0);
        r.read_exact(&mut body).map_err(|e| other("body", e))?;
    } else {
        r.read_to_end(&mut body).map_err(|e| other("body", e))?;
        keep = false;
    }
    Ok((
        Reply {
            status,
            headers,
            body,
        },
        keep,
    ))
}

// ---------------------------------------------------------------- response checks

fn decode_body(reply: &Reply) -> Result<Vec<u8>, String> {
    match reply.header("content-encoding") {
        None | Some("identity") => Ok(reply.body.clone()),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&reply.body[..])
                .read_to_end(&mut out)
                .map_err(|e| format!("bad gzip body: {e}"))?;
            Ok(out)
        }
        Some("br") => {
            let mut out = Vec::new();
            brotli::Decompressor::new(&reply.body[..], 4096)
                .read_to_end(&mut out)
                .map_err(|e| format!("bad br body: {e}"))?;
            Ok(out)
        }
        Some(other) => Err(format!("unexpected content-encoding {other:?}")),
    }
}

/// Checks one reply; `Err` says what is wrong.
fn check_reply(
    t: &Target,
    method: &str,
    conditional: bool,
    asked_compression: bool,
    reply: &Reply,
    cats: &Categories,
    sent: Instant,
) -> Result<(), String> {
    match reply.status {
        200 => {}
        // (A body after a 304 or a HEAD reply would break the next
        // reply on this connection, and be reported there.)
        304 if conditional => return Ok(()),
        404 => {
            return match &t.category {
                Some(c) if cats.may_be_absent(c, sent) => Ok(()),
                Some(c) => Err(format!(
                    "404 for category {c:?}, whose folder has been in place since the start \
                     or for over {CATEGORY_LAG:?}"
                )),
                None => Err("404 for a site-wide URL".into()),
            }
        }
        s => return Err(format!("status {s}")),
    }
    if method == "HEAD" {
        return Ok(());
    }
    if !asked_compression && reply.header("content-encoding").is_some() {
        return Err("compressed body without Accept-Encoding".into());
    }
    let body = decode_body(reply)?;
    let text = std::str::from_utf8(&body).map_err(|e| format!("body not UTF-8: {e}"))?;
    let ctype = reply.header("content-type").unwrap_or_default();
    let want_type = match t.kind {
        Kind::Rss => "application/rss+xml",
        Kind::Atom => "application/atom+xml",
        Kind::Json => "application/feed+json",
        Kind::Html => "text/html",
        Kind::Opml | Kind::Health | Kind::Metrics => "",
    };
    if !ctype.starts_with(want_type) {
        return Err(format!("content-type {ctype:?}, want {want_type}"));
    }
    if matches!(t.kind, Kind::Rss | Kind::Atom | Kind::Json) && reply.header("etag").is_none() {
        return Err("feed without ETag".into());
    }
    match t.kind {
        Kind::Rss | Kind::Atom | Kind::Opml => {
            let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
            let root = doc.root_element().tag_name().name();
            let want_root = match t.kind {
                Kind::Rss => "rss",
                Kind::Atom => "feed",
                _ => "opml",
            };
            if root != want_root {
                return Err(format!("root element <{root}>, want <{want_root}>"));
            }
        }
        Kind::Json | Kind::Health => {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
            let ok = match t.kind {
                Kind::Json => v["items"].is_array() && v["version"].is_string(),
                _ => v["articles"].is_u64() && v["errors"].is_array(),
            };
            if !ok {
                return Err("JSON without the expected fields".into());
            }
        }
        Kind::Html => {
            if !text.contains("</html>") {
                return Err("HTML page without </html>".into());
            }
        }
        Kind::Metrics => {}
    }
    Ok(())
}

/// What the pollers share.
#[derive(Default)]
pub struct PollStats {
    pub requests: AtomicU64,
    pub not_found: AtomicU64,
    pub not_modified: AtomicU64,
    pub failed: AtomicU64,
    /// The first 200 failures.
    pub failures: Mutex<Vec<String>>,
}

/// Fetches the site's pages and feeds and those of every category in
/// [`Categories::to_poll`], in a shuffled loop until `stop`: mostly GET,
/// some HEAD, some with `Accept-Encoding` (gzip, br), some conditional on
/// the last ETag, a few with `Connection: close`. Every reply goes through
/// [`check_reply`]; what fails is counted and kept in `stats`.
pub fn poll(
    id: u64,
    addr: SocketAddr,
    seed: u64,
    cats: Arc<Categories>,
    stats: Arc<PollStats>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng(seed ^ (0xA5A5_0000 + id));
    let mut client = Client::new(addr);
    let mut etags: BTreeMap<String, String> = BTreeMap::new();
    while !stop.load(Ordering::Relaxed) {
        let mut list = targets(cats.to_poll(&mut rng, 1));
        for i in (1..list.len()).rev() {
            list.swap(i, rng.below(i + 1));
        }
        for t in &list {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let method = if rng.chance(6) { "HEAD" } else { "GET" };
            let mut extra: Vec<(&str, String)> = Vec::new();
            match rng.below(4) {
                0 => extra.push(("Accept-Encoding", "gzip".into())),
                1 => extra.push(("Accept-Encoding", "br;q=1.0, gzip;q=0.5".into())),
                _ => {}
            }
            let conditional = rng.chance(25) && etags.contains_key(&t.path);
            if conditional {
                extra.push(("If-None-Match", etags[&t.path].clone()));
            }
            if rng.chance(3) {
                extra.push(("Connection", "close".into()));
            }
            let sent = Instant::now();
            let result = client.request(method, &t.path, &extra);
            stats.requests.fetch_add(1, Ordering::Relaxed);
            let problem = match result {
                Err(e) => Some(e),
                Ok(reply) => {
                    match reply.status {
                        404 => _ = stats.not_found.fetch_add(1, Ordering::Relaxed),
                        304 => _ = stats.not_modified.fetch_add(1, Ordering::Relaxed),
                        200 => {
                            if let Some(e) = reply.header("etag") {
                                etags.insert(t.path.clone(), e.to_string());
                            }
                        }
                        _ => {}
                    }
                    let compression = extra.iter().any(|(k, _)| *k == "Accept-Encoding");
                    check_reply(t, method, conditional, compression, &reply, &cats, sent).err()
                }
            };
            if let Some(p) = problem {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                let mut f = stats.failures.lock().unwrap();
                if f.len() < 200 {
                    f.push(format!(
                        "poller {id}: {method} {} ({extra:?}) after {:?}: {p}",
                        t.path,
                        sent.elapsed()
                    ));
                }
            }
        }
    }
}

/// Stops the pollers on every way out of the test, panics included.
pub struct StopOnDrop(pub Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------- final comparison

/// Every file under `dir`, relative to `base`, `/`-separated.
pub fn files_under(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, base, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_str().unwrap();
            out.push(rel.replace('\\', "/"));
        }
    }
}

/// Where two bodies first differ, by line, with the titles one has and the
/// other lacks when they are RSS.
pub fn describe_difference(url: &str, want: &[u8], got: &[u8]) -> String {
    let w = String::from_utf8_lossy(want);
    let g = String::from_utf8_lossy(got);
    let (wl, gl): (Vec<&str>, Vec<&str>) = (w.lines().collect(), g.lines().collect());
    let first = (0..wl.len().max(gl.len()))
        .find(|&i| wl.get(i) != gl.get(i))
        .unwrap_or(0);
    let clip = |s: Option<&&str>| -> String {
        let s = s.copied().unwrap_or("<none>").trim();
        s.chars().take(160).collect()
    };
    let mut out = format!(
        "{url}: served {} bytes / {} lines, built {} bytes / {} lines; first difference at line {}:\n      built:  {}\n      served: {}",
        got.len(),
        gl.len(),
        want.len(),
        wl.len(),
        first + 1,
        clip(wl.get(first)),
        clip(gl.get(first)),
    );
    if url.ends_with("rss.xml") {
        if let (Ok(wt), Ok(gt)) = (rss_titles(want), rss_titles(got)) {
            let missing: Vec<&String> = wt.iter().filter(|t| !gt.contains(t)).collect();
            let extra: Vec<&String> = gt.iter().filter(|t| !wt.contains(t)).collect();
            out.push_str(&format!(
                "\n      items: built {}, served {}; missing from served {missing:?}; stale or extra in served {extra:?}",
                wt.len(),
                gt.len()
            ));
        }
    }
    out
}

/// The daemon's regeneration, rescan and reconcile counters, for the report.
pub fn metrics_summary(text: &str) -> String {
    let wanted = [
        "herald_regenerations_total",
        "herald_regeneration_duration_seconds_sum",
        "herald_regeneration_duration_seconds_count",
        "herald_rescans_total",
        "herald_reconcile_fixes_total",
    ];
    text.lines()
        .filter(|l| wanted.iter().any(|w| l.starts_with(w)))
        .collect::<Vec<_>>()
        .join(", ")
}
