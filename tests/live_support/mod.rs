//! Helpers for the live tests: a temp site (config + content directory),
//! the real `herald serve` process with its stderr drained in the
//! background, a minimal HTTP/1.1 GET over `TcpStream`, feed parsing, and
//! polling with a deadline.
#![allow(dead_code)] // not every helper is used by every test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often [`eventually`] checks.
pub const TICK: Duration = Duration::from_millis(20);
/// The default deadline for a change to reach the feeds.
pub const DEADLINE: Duration = Duration::from_secs(15);
/// The placeholder base URL of every test site.
pub const BASE_URL: &str = "http://127.0.0.1:1";

/// Calls `check` every [`TICK`] until it returns `Ok`, or panics after
/// `timeout` with `what` and the last reason `check` gave.
pub fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(why) if started.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting for {what}; last state: {why}")
            }
            Err(_) => std::thread::sleep(TICK),
        }
    }
}

/// A Markdown article with TOML front matter.
pub fn article(title: &str, date: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = \"{date}\"\n+++\nBody of {title}.\n")
}

/// The config text of a test site: `[site]` with `title`, `[server]`
/// with `listen` (the command line overrides it with 127.0.0.1:0 at start;
/// keeping the same value here means a reload does not move the socket),
/// `[content]` with `dir` and a 50 ms debounce plus `content_extra`, then
/// `rest` (other tables).
pub fn config_with(title: &str, listen: &str, content_extra: &str, rest: &str) -> String {
    format!(
        "[site]\ntitle = \"{title}\"\nbase_url = \"{BASE_URL}\"\n\n\
         [server]\nlisten = \"{listen}\"\n\n\
         [content]\ndir = \"../content\"\ndebounce_ms = 50\n{content_extra}\n{rest}"
    )
}

/// [`config_with`] listening on 127.0.0.1:0.
pub fn config_text(title: &str, content_extra: &str, rest: &str) -> String {
    config_with(title, "127.0.0.1:0", content_extra, rest)
}

/// A temp directory holding `cfg/herald.toml` and `content/`.
pub struct Site {
    _tmp: tempfile::TempDir,
    /// The canonical temp directory.
    pub root: PathBuf,
    /// `root/content`.
    pub content: PathBuf,
    /// `root/cfg/herald.toml`.
    pub config: PathBuf,
}

impl Site {
    /// A site titled "Live" with default settings.
    pub fn new() -> Site {
        Site::with_config(&config_text("Live", "", ""))
    }

    /// A site with this config text.
    pub fn with_config(text: &str) -> Site {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().canonicalize().expect("canonical temp dir");
        let content = root.join("content");
        std::fs::create_dir_all(&content).unwrap();
        std::fs::create_dir_all(root.join("cfg")).unwrap();
        let config = root.join("cfg/herald.toml");
        std::fs::write(&config, text).unwrap();
        Site {
            _tmp: tmp,
            root,
            content,
            config,
        }
    }

    /// `content/rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.content.join(rel)
    }

    /// Creates (or replaces) `content/rel`, creating folders.
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Rewrites `content/rel` in place: open, truncate, write (same inode).
    pub fn edit_in_place(&self, rel: &str, text: &str) {
        edit_in_place(&self.path(rel), text);
    }

    /// Writes `text` to a hidden temp file beside `content/rel`, then
    /// renames it over the target, as VS Code and many tools save.
    pub fn atomic_save(&self, rel: &str, text: &str) {
        atomic_save(&self.path(rel), text);
    }

    /// Rewrites the config file in place.
    pub fn edit_config_in_place(&self, text: &str) {
        edit_in_place(&self.config, text);
    }

    /// Replaces the config file by writing a temp file and renaming it over.
    pub fn save_config_atomically(&self, text: &str) {
        atomic_save(&self.config, text);
    }

    /// Runs `herald build --config <config> --out <out>` and returns `out`.
    pub fn build(&self, out: &Path) {
        let o = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["build", "--config"])
            .arg(&self.config)
            .arg("--out")
            .arg(out)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .output()
            .expect("run herald build");
        assert!(
            o.status.success(),
            "herald build failed: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Open + truncate + write + close: the same inode keeps the new text.
pub fn edit_in_place(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.write_all(text.as_bytes()).unwrap();
}

/// Temp file `.<name>.tmp` in the same folder, then `rename` over `path`.
pub fn atomic_save(path: &Path, text: &str) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The (de-chunked) body.
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` over a fresh HTTP/1.1 connection (`Connection: close`).
pub fn try_get(addr: SocketAddr, path: &str) -> std::io::Result<Resp> {
    // Generous: the CI machine can stall for seconds, and a timeout here
    // fails a test that would have passed on the next poll.
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(15))?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    s.set_write_timeout(Some(Duration::from_secs(15)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad response"))
}

fn parse_response(raw: &[u8]) -> Option<Resp> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    } else if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
        let len: usize = len.parse().ok()?;
        if body.len() < len {
            return None;
        }
        body.truncate(len);
    }
    Some(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..nl]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[nl + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// Item titles of an RSS document, in order.
pub fn rss_titles(body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
    Ok(doc
        .descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|item| {
            item.children()
                .find(|c| c.has_tag_name("title"))
                .and_then(|t| t.text())
                .unwrap_or_default()
                .to_string()
        })
        .collect())
}

/// Item links of an RSS document, in order.
pub fn rss_links(body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
    Ok(doc
        .descendants()
        .filter(|n| n.has_tag_name("item"))
        .filter_map(|item| {
            item.children()
                .find(|c| c.has_tag_name("link"))
                .and_then(|t| t.text())
                .map(str::to_string)
        })
        .collect())
}

/// The `<channel><title>` of an RSS document.
pub fn rss_channel_title(body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
    let channel = doc
        .descendants()
        .find(|n| n.has_tag_name("channel"))
        .ok_or("no <channel>")?;
    Ok(channel
        .children()
        .find(|c| c.has_tag_name("title"))
        .and_then(|t| t.text())
        .unwrap_or_default()
        .to_string())
}

/// A running `herald serve`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Daemon {
    child: Option<Child>,
    /// The process id.
    pub pid: i32,
    /// The address from the first `listening on` line.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    /// Starts `herald serve --config <config> --listen 127.0.0.1:0` and
    /// waits for its `listening on http://` line.
    pub fn start(config: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start herald serve");
        let pid = child.id() as i32;
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        {
            let log = Arc::clone(&log);
            // Drains stderr for the whole life of the process so the pipe never fills.
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push(line);
                }
            });
        }
        let mut daemon = Daemon {
            child: Some(child),
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        let addr = eventually("the `listening on` line", Duration::from_secs(20), || {
            if let Some(a) = daemon.listening_addrs().first() {
                return Ok(*a);
            }
            if let Some(status) = daemon.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "herald exited with {status} before listening:\n{}",
                    daemon.log()
                );
            }
            Err(daemon.log())
        });
        daemon.addr = addr;
        daemon
    }

    /// [`Daemon::start`] on the site's config, then
    /// [`Daemon::wait_until_watching`].
    pub fn start_watching(site: &Site) -> Daemon {
        let d = Daemon::start(&site.config);
        d.wait_until_watching(site);
        d
    }

    /// Every address a `listening on http://ADDR` line named, in order.
    pub fn listening_addrs(&self) -> Vec<SocketAddr> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| {
                let rest = &l[l.find("listening on http://")? + "listening on http://".len()..];
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(rest.len());
                rest[..end].parse().ok()
            })
            .collect()
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Number of log lines containing `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Sends a signal.
    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(self.pid, sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid);
    }

    /// `GET path` on the daemon's first address.
    pub fn get(&self, path: &str) -> Resp {
        try_get(self.addr, path).unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()))
    }

    /// `GET path`, failing the check (not panicking) on non-200 or I/O errors.
    pub fn get_ok(&self, path: &str) -> Result<Resp, String> {
        let r = try_get(self.addr, path).map_err(|e| format!("GET {path}: {e}"))?;
        if r.status != 200 {
            return Err(format!("GET {path}: status {}", r.status));
        }
        Ok(r)
    }

    /// Item titles of the RSS feed at `path`.
    pub fn titles(&self, path: &str) -> Result<Vec<String>, String> {
        rss_titles(&self.get_ok(path)?.body)
    }

    /// `/healthz` as JSON.
    pub fn health(&self) -> serde_json::Value {
        let r = self.get("/healthz");
        assert_eq!(r.status, 200, "/healthz status");
        serde_json::from_slice(&r.body).expect("/healthz is JSON")
    }

    /// `/healthz` `errors`.
    pub fn health_errors(&self) -> Vec<String> {
        self.health()["errors"]
            .as_array()
            .expect("healthz errors is an array")
            .iter()
            .map(|e| e.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Waits until the daemon's watchers are set up. The publisher
    /// thread starts them after the `listening on` line, and nothing the
    /// daemon shows says when, so: write a probe article at the top of
    /// the content directory (site feed only, dated 1990 so it never
    /// decides a feed's date) until `/healthz` counts it, rewriting it
    /// in case a write came before the watcher; then delete it and wait
    /// until it is gone.
    pub fn wait_until_watching(&self, site: &Site) {
        self.wait_until_watching_dir(&site.content);
    }

    /// [`Daemon::wait_until_watching`] for the content directory `dir`.
    pub fn wait_until_watching_dir(&self, dir: &Path) {
        let before = self.health()["articles"].as_u64().unwrap();
        let probe = dir.join("zz-live-probe.md");
        let text = article("live probe", "1990-01-01 00:00");
        let started = Instant::now();
        'probing: loop {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the daemon never saw its probe file:\n{}",
                self.log()
            );
            std::fs::write(&probe, &text).unwrap();
            let written = Instant::now();
            while written.elapsed() < Duration::from_millis(500) {
                if self.health()["articles"].as_u64() == Some(before + 1) {
                    break 'probing;
                }
                std::thread::sleep(TICK);
            }
        }
        std::fs::remove_file(&probe).unwrap();
        eventually("the probe file to be dropped", DEADLINE, || {
            let n = self.health()["articles"].as_u64();
            (n == Some(before)).then_some(()).ok_or(format!("{n:?}"))
        });
    }

    /// SIGTERM, then waits up to `timeout` for the exit status.
    pub fn stop(mut self, timeout: Duration) -> Option<ExitStatus> {
        self.terminate(timeout)
    }

    fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(TICK);
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(5));
    }
}
