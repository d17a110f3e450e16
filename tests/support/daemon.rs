//! The one way tests start the daemon, in two forms:
//!
//! - **in-process** ([`Daemon::start`]): `herald::daemon::run_with` on its
//!   own runtime thread, on a listener it binds to `127.0.0.1:0`,
//!   with short connection limits and, where a test needs one, a manual
//!   clock. Ready when the daemon says so (`Options::ready_tx`). For every
//!   test that is not about the process.
//! - **the binary** ([`Daemon::spawn`]): `herald serve` with `--listen` on
//!   a port the test picked, ready once `GET /healthz` answers (the binary
//!   binds before loading and serves only after the first load). For tests
//!   about the process: signals, exit codes, what it logs, `--listen`,
//!   running as another user. Its stderr is kept, to assert on and to show
//!   in failure messages — never to decide readiness.
//!
//! Either is stopped when dropped (in-process: the shutdown future; the
//! binary: SIGTERM by PID, then SIGKILL).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{
    article, eventually, fresh_client, poll_until, rss_titles, run_with, url, Client, Config,
    DaemonError, Limits, Options, Reply, Site, DEADLINE,
};

/// How long a daemon may take to load and serve.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits of an in-process daemon: the server's defaults with short
/// timeouts, so tests about them (and the shutdown at the end of every
/// test) take a second or two, not ten.
pub fn short_limits() -> Limits {
    Limits {
        first_byte_timeout: Duration::from_secs(2),
        header_timeout: Duration::from_secs(3),
        shutdown_deadline: Duration::from_secs(1),
        ..Limits::default()
    }
}

/// A running daemon, in-process or the binary; stopped when dropped.
pub struct Daemon {
    /// The address it serves on.
    pub addr: SocketAddr,
    client: Client,
    kind: Kind,
}

enum Kind {
    InProcess {
        stop_tx: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<JoinHandle<Result<(), DaemonError>>>,
    },
    Process {
        child: Option<Child>,
        exited: Option<ExitStatus>,
        /// stderr, line by line, as it arrives (ANSI codes stripped).
        log: Arc<Mutex<Vec<String>>>,
    },
}

impl Daemon {
    // ------------------------------------------------------------ starting

    /// Runs the daemon in-process on the config file `config`, with
    /// [`short_limits`]; returns once the first load is served.
    pub fn start(config: &Path) -> Daemon {
        Daemon::start_with(config, |_| {})
    }

    /// [`Daemon::start`] with `tweak` applied to the options (a manual
    /// clock, other limits). `ready_tx` is the harness's.
    pub fn start_with(config: &Path, tweak: impl FnOnce(&mut Options)) -> Daemon {
        let config = Config::load(config)
            .unwrap_or_else(|e| panic!("{}: test config does not load: {e}", config.display()));
        let mut options = Options {
            limits: short_limits(),
            ..Options::default()
        };
        tweak(&mut options);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        options.ready_tx = Some(ready_tx);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("herald-daemon".into())
            .spawn(move || {
                // One worker, as the binary runs on two cores.
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                // Bound as the binary binds (tokio's backlog of 1024, not
                // std's 128), so a test opening many connections at once
                // is not held up by SYN retries.
                let listener = runtime
                    .block_on(async {
                        let socket = tokio::net::TcpSocket::new_v4()?;
                        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
                        socket.listen(1024)
                    })
                    .expect("listen on 127.0.0.1:0");
                let _ = addr_tx.send(listener.local_addr().expect("bound address"));
                runtime.block_on(async move {
                    // The test thread waits on a std channel, with a deadline.
                    tokio::spawn(async move {
                        let _ = started_tx.send(ready_rx.await.is_ok());
                    });
                    let shutdown = async move {
                        let _ = stop_rx.await;
                    };
                    run_with(listener, config, options, shutdown).await
                })
            })
            .expect("spawn the daemon thread");
        let addr = addr_rx
            .recv_timeout(START_TIMEOUT)
            .expect("the daemon thread binds 127.0.0.1:0");
        let mut d = Daemon {
            addr,
            client: fresh_client(),
            kind: Kind::InProcess {
                stop_tx: Some(stop_tx),
                thread: Some(thread),
            },
        };
        match started_rx.recv_timeout(START_TIMEOUT) {
            Ok(true) => d,
            Ok(false) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let result = d.stop_in_process();
                panic!("the daemon stopped before it served: {result:?}")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("the daemon did not serve within {START_TIMEOUT:?}")
            }
        }
    }

    /// [`Daemon::start`] on the site's config, then
    /// [`Daemon::wait_until_watching`].
    pub fn start_watching(site: &Site) -> Daemon {
        let d = Daemon::start(&site.config);
        d.wait_until_watching(site);
        d
    }

    /// Starts `herald serve --config <config> --listen 127.0.0.1:<port>`
    /// (a port free a moment ago) and waits until it serves.
    pub fn spawn(config: &Path) -> Daemon {
        Daemon::spawn_as(config, None)
    }

    /// [`Daemon::spawn`] on the site's config, then
    /// [`Daemon::wait_until_watching`].
    pub fn spawn_watching(site: &Site) -> Daemon {
        let d = Daemon::spawn(&site.config);
        d.wait_until_watching(site);
        d
    }

    /// [`Daemon::spawn`] running as `user` (uid, gid).
    pub fn spawn_as(config: &Path, user: Option<(u32, u32)>) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some((uid, gid)) = user {
            cmd.uid(uid).gid(gid);
        }
        let mut child = cmd.spawn().expect("start herald serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        {
            let log = Arc::clone(&log);
            // Drains stderr for the whole life of the process, so it never
            // blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push(strip_ansi(&line));
                }
            });
        }
        let mut d = Daemon {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            client: fresh_client(),
            kind: Kind::Process {
                child: Some(child),
                exited: None,
                log,
            },
        };
        // The kernel picks the port; the daemon logs the address it bound.
        eventually("herald serve to answer GET /healthz", START_TIMEOUT, || {
            if let Some(status) = d.wait_exit(Duration::ZERO) {
                panic!("herald exited with {status} before serving:\n{}", d.log());
            }
            if d.addr.port() == 0 {
                d.addr = *d.listening_addrs().first().ok_or("no address logged yet")?;
            }
            let r = d.client.try_get(&d.url("/healthz"))?;
            (r.status == 200)
                .then_some(())
                .ok_or(format!("status {}", r.status))
        });
        d
    }

    // ------------------------------------------------------------ HTTP

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        url(self.addr, path)
    }

    /// Rewrites a public URL (from the site's `base_url`) to this daemon.
    pub fn local(&self, base_url: &str, public: &str) -> String {
        let path = public
            .strip_prefix(base_url)
            .unwrap_or_else(|| panic!("{public} does not start with {base_url}"));
        self.url(path)
    }

    /// `GET path` on a fresh connection; panics on a transport error.
    pub fn get(&self, path: &str) -> Reply {
        self.client
            .try_get(&self.url(path))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log()))
    }

    /// Waits (up to [`DEADLINE`]) until `GET path` answers `status`, and
    /// returns that reply.
    pub fn wait_status(&self, path: &str, status: u16) -> Reply {
        eventually(&format!("GET {path} → {status}"), DEADLINE, || {
            let r = self.get(path);
            if r.status == status {
                Ok(r)
            } else {
                Err(format!("status {}", r.status))
            }
        })
    }

    /// Asserts the daemon serves each of `files` (relative paths under
    /// `out`, as `herald build` wrote them) with 200 and the same bytes.
    pub fn assert_serves_built<'a>(&self, out: &Path, files: impl IntoIterator<Item = &'a String>) {
        for f in files {
            let built = std::fs::read(out.join(f)).unwrap();
            let path = super::url_of_file(f);
            let r = self.get(&path);
            assert_eq!(r.status, 200, "{f}: GET {path}");
            assert!(
                r.body == built,
                "{f}: GET {path} differs ({} bytes served, {} built)",
                r.body.len(),
                built.len()
            );
        }
    }

    /// Asserts `GET path` answers 404.
    pub fn assert_404(&self, path: &str) {
        let r = self.get(path);
        assert_eq!(r.status, 404, "GET {path}: want 404, got {}", r.status);
    }

    /// `GET path`, failing the check (not panicking) on non-200 or a
    /// transport error.
    pub fn get_ok(&self, path: &str) -> Result<Reply, String> {
        let r = self.client.try_get(&self.url(path))?;
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

    /// Waits until the RSS feed at `path` has `title` (or, with
    /// `present == false`, until it has not).
    pub fn wait_title(&self, path: &str, title: &str, present: bool, timeout: Duration) {
        eventually(
            &format!("{title:?} present={present} in {path}"),
            timeout,
            || {
                let titles = self.titles(path)?;
                if titles.iter().any(|t| t == title) == present {
                    Ok(())
                } else {
                    Err(format!("{titles:?}"))
                }
            },
        );
    }

    /// Waits until the daemon's watchers are set up. The publisher thread
    /// starts them after it first serves, and nothing the daemon shows
    /// says when, so: write a probe article at the top of the content
    /// directory (site feed only, dated 1990 so it never decides a feed's
    /// date) until `/healthz` counts it, rewriting it in case a write came
    /// before the watcher; then delete it and wait until it is gone.
    pub fn wait_until_watching(&self, site: &Site) {
        self.wait_until_watching_dir(&site.content);
    }

    /// [`Daemon::wait_until_watching`] for the content directory `dir`.
    pub fn wait_until_watching_dir(&self, dir: &Path) {
        let before = self.health()["articles"].as_u64().unwrap();
        let probe = dir.join("zz-live-probe.md");
        let text = article("live probe", "1990-01-01 00:00");
        std::fs::write(&probe, &text).unwrap();
        let mut written = Instant::now();
        eventually(
            "the daemon to see its probe file",
            Duration::from_secs(20),
            || {
                if self.health()["articles"].as_u64() == Some(before + 1) {
                    return Ok(());
                }
                // A write made before the watcher started has no event: write
                // it again now and then.
                if written.elapsed() >= Duration::from_millis(500) {
                    std::fs::write(&probe, &text).unwrap();
                    written = Instant::now();
                }
                Err(self.log())
            },
        );
        std::fs::remove_file(&probe).unwrap();
        eventually("the probe file to be dropped", DEADLINE, || {
            let n = self.health()["articles"].as_u64();
            (n == Some(before)).then_some(()).ok_or(format!("{n:?}"))
        });
    }

    /// Returns once the daemon has taken in every change made to the site
    /// before the call: a probe file written now is served, then gone
    /// (changes reach the daemon in order).
    pub fn settle(&self, site: &Site) {
        self.wait_until_watching_dir(&site.content);
    }

    /// Waits until the compressed variants of the first load are served:
    /// the daemon serves the first load as soon as it is rendered and
    /// compresses it just after.
    pub fn wait_compressed(&self) {
        eventually("gzip variants to be served", START_TIMEOUT, || {
            let r = self
                .client
                .try_send(
                    reqwest::Method::HEAD,
                    &self.url("/"),
                    &[("accept-encoding", "gzip")],
                )
                .map_err(|e| e.to_string())?;
            (r.opt_header("content-encoding") == Some("gzip"))
                .then_some(())
                .ok_or(format!("{:?}", r.headers))
        });
    }

    // ------------------------------------------------------------ the process

    fn process(&self) -> (&Option<Child>, &Arc<Mutex<Vec<String>>>) {
        match &self.kind {
            Kind::Process { child, log, .. } => (child, log),
            Kind::InProcess { .. } => panic!("only the binary (Daemon::spawn) has a process"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> libc::pid_t {
        let (child, _) = self.process();
        let child = child.as_ref().expect("the process was reaped");
        libc::pid_t::try_from(child.id()).unwrap()
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: libc::c_int) {
        let pid = self.pid();
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig})");
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        self.signal(libc::SIGTERM);
    }

    /// Waits up to `limit` for the process to exit, and gives its status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let Kind::Process { child, exited, .. } = &mut self.kind else {
            panic!("only the binary (Daemon::spawn) has a process");
        };
        if let Some(s) = exited {
            return Some(*s);
        }
        let child = child.as_mut()?;
        let status = poll_until(limit, || {
            child
                .try_wait()
                .unwrap()
                .ok_or_else(|| "running".to_string())
        })
        .ok()?;
        *exited = Some(status);
        Some(status)
    }

    /// SIGTERM, then waits up to `timeout` for the exit status (then
    /// SIGKILL, and `None`).
    pub fn stop(mut self, timeout: Duration) -> Option<ExitStatus> {
        self.terminate(timeout)
    }

    fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.wait_exit(Duration::ZERO) {
            return Some(s);
        }
        self.sigterm();
        let status = self.wait_exit(timeout);
        if status.is_none() {
            if let Kind::Process {
                child: Some(child), ..
            } = &mut self.kind
            {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        status
    }

    /// The process's log so far; for an in-process daemon, a note that
    /// its log is not captured.
    pub fn log(&self) -> String {
        match &self.kind {
            Kind::Process { log, .. } => log.lock().unwrap().join("\n"),
            Kind::InProcess { .. } => "(an in-process daemon: its log is not captured)".into(),
        }
    }

    /// Number of log lines containing `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        let (_, log) = self.process();
        log.lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Every address a `listening on http://ADDR` log line named, in order.
    pub fn listening_addrs(&self) -> Vec<SocketAddr> {
        let (_, log) = self.process();
        log.lock()
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

    // ------------------------------------------------------------ in-process

    /// Whether an in-process daemon is still running (its `run_with` has
    /// not returned).
    pub fn is_running(&self) -> bool {
        match &self.kind {
            Kind::InProcess { thread, .. } => thread.as_ref().is_some_and(|t| !t.is_finished()),
            Kind::Process { .. } => panic!("use wait_exit for the binary"),
        }
    }

    /// Stops an in-process daemon and returns what `run_with` returned.
    pub fn shutdown(mut self) -> Result<(), String> {
        self.stop_in_process()
    }

    fn stop_in_process(&mut self) -> Result<(), String> {
        let Kind::InProcess { stop_tx, thread } = &mut self.kind else {
            panic!("only an in-process daemon (Daemon::start) stops this way");
        };
        if let Some(tx) = stop_tx.take() {
            let _ = tx.send(());
        }
        match thread.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result.map_err(|e| e.to_string()),
            Some(Err(_)) => Err("the daemon thread panicked".into()),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        match self.kind {
            Kind::InProcess { .. } => {
                let _ = self.stop_in_process();
            }
            Kind::Process { .. } => {
                self.terminate(Duration::from_secs(8));
            }
        }
    }
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
