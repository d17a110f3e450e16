//! What only the chaos test uses: a SplitMix64 PRNG, the categories the
//! pollers may see 404 for, the checks every reply must pass, the poller
//! loop (over the harness's keep-alive client), and the reports a failure
//! prints.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{client, encode_segment, rss_titles, url, Client, Method, Reply};

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

/// The harness's keep-alive client, aimed at one daemon.
pub struct Fetcher {
    addr: SocketAddr,
    client: Client,
}

impl Fetcher {
    /// A client for the daemon at `addr`.
    pub fn new(addr: SocketAddr) -> Fetcher {
        Fetcher {
            addr,
            client: client(),
        }
    }

    /// Sends one request for `path` with `extra` headers and reads the reply.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        extra: &[(&str, String)],
    ) -> Result<Reply, String> {
        let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let headers: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.client
            .try_send(method, &url(self.addr, path), &headers)
            .map_err(|e| format!("{e:#}"))
    }
}

// ---------------------------------------------------------------- response checks

fn decode_body(reply: &Reply) -> Result<Vec<u8>, String> {
    match reply.opt_header("content-encoding") {
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
    if !asked_compression && reply.opt_header("content-encoding").is_some() {
        return Err("compressed body without Accept-Encoding".into());
    }
    let body = decode_body(reply)?;
    let text = std::str::from_utf8(&body).map_err(|e| format!("body not UTF-8: {e}"))?;
    let ctype = reply.opt_header("content-type").unwrap_or_default();
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
    if matches!(t.kind, Kind::Rss | Kind::Atom | Kind::Json) && reply.opt_header("etag").is_none() {
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
    let mut client = Fetcher::new(addr);
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
                            if let Some(e) = reply.opt_header("etag") {
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
