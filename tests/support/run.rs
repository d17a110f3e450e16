//! One-shot runs of the `herald` binary (`check`, `build`, `--version`):
//! under a deadline, killed when they overstay, with their exit code,
//! output and peak memory; reading the diagnostics `check` prints; and
//! running as an unprivileged user (root ignores file modes).

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one finished (or killed) `herald` run gave.
#[derive(Debug)]
pub struct Run {
    /// Exit code, `None` when killed by a signal.
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    /// Peak resident set size, KiB (`ru_maxrss`).
    pub max_rss_kib: i64,
    /// Wall time until exit.
    pub elapsed: Duration,
    /// Whether it overstayed its deadline and was killed.
    pub timed_out: bool,
}

impl Run {
    /// stdout and stderr, for failure messages and for searching both.
    pub fn printed(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// An unprivileged (uid, gid) to run herald as when the tests run as root.
pub const NOBODY: (u32, u32) = (65534, 65534);

/// Whether this process runs as root (which reads files whatever their mode).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// Whether herald can be started as `user` at all (as root, dropping to
/// an unprivileged user may be refused in some sandboxes).
pub fn can_run_as(user: Option<(u32, u32)>) -> bool {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd.status().is_ok_and(|s| s.success())
}

/// Runs `herald args…` with `RUST_LOG=warn`, killing it after `timeout`.
/// With `user`, the process runs as that (uid, gid).
pub fn run_herald<S: AsRef<OsStr>>(args: &[S], timeout: Duration, user: Option<(u32, u32)>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.args(args);
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    run_command(cmd, timeout)
}

/// Runs `cmd` (a `herald` command set up by the caller, e.g. with another
/// working directory) with `RUST_LOG=warn`, killing it after `timeout`.
pub fn run_command(mut cmd: Command, timeout: Duration) -> Run {
    cmd.env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start herald");
    let pid = child.id() as libc::pid_t;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    let exited = super::poll_until(timeout, || {
        // SAFETY: wait4 on our own child, with valid pointers to locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(
            r == pid || r == 0,
            "wait4 failed: {}",
            std::io::Error::last_os_error()
        );
        (r == pid)
            .then_some(())
            .ok_or_else(|| "running".to_string())
    });
    if exited.is_err() {
        timed_out = true;
        // SAFETY: kill and a blocking wait4 on our own, not yet reaped, child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::wait4(pid, &mut status, 0, &mut usage);
        }
    }
    let elapsed = started.elapsed();
    // The child is reaped already; `Child` neither waits nor kills on drop.
    drop(child);
    let code = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    Run {
        code,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        max_rss_kib: usage.ru_maxrss,
        elapsed,
        timed_out,
    }
}

/// `herald check --config <config>`, killed after 30 s.
pub fn check(config: &Path) -> Run {
    check_as(config, None)
}

/// [`check`] as another user.
pub fn check_as(config: &Path, user: Option<(u32, u32)>) -> Run {
    let run = run_herald(
        &[
            OsStr::new("check"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        Duration::from_secs(30),
        user,
    );
    assert!(
        !run.timed_out,
        "herald check did not finish within 30 s:\n{}",
        run.printed()
    );
    run
}

/// `herald build --config <config> --out <out>`, killed after `timeout`.
pub fn build(config: &Path, out: &Path, timeout: Duration) -> Run {
    let run = run_herald(
        &[
            OsStr::new("build"),
            OsStr::new("--config"),
            config.as_os_str(),
            OsStr::new("--out"),
            out.as_os_str(),
        ],
        timeout,
        None,
    );
    assert!(
        !run.timed_out,
        "herald build did not finish within {timeout:?}:\n{}",
        run.printed()
    );
    run
}

/// One diagnostic line as `check` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    /// The path as printed.
    pub path: PathBuf,
    /// `line:col`, when printed.
    pub position: Option<(usize, usize)>,
    /// `"error"` or `"warning"`.
    pub severity: String,
    /// The message.
    pub message: String,
    /// The whole line.
    pub line: String,
}

/// Parses `path[:line:col]: error|warning: message`; `None` for other lines.
pub fn parse_diag(line: &str) -> Option<Diag> {
    for sev in ["error", "warning"] {
        let marker = format!(": {sev}: ");
        let Some(at) = line.find(&marker) else {
            continue;
        };
        let head = &line[..at];
        let message = line[at + marker.len()..].to_string();
        let mut parts = head.rsplitn(3, ':');
        let (c, l, rest) = (parts.next(), parts.next(), parts.next());
        let (path, position) = match (
            c.and_then(|c| c.parse::<usize>().ok()),
            l.and_then(|l| l.parse::<usize>().ok()),
            rest,
        ) {
            (Some(c), Some(l), Some(p)) => (p, Some((l, c))),
            _ => (head, None),
        };
        return Some(Diag {
            path: PathBuf::from(path),
            position,
            severity: sev.to_string(),
            message,
            line: line.to_string(),
        });
    }
    None
}

/// Every diagnostic in `text` whose path ends with `rel` (compared by path
/// components, so `cfg/../content/news/x.md` and `/tmp/…/content/news/x.md`
/// both name `content/news/x.md`).
pub fn diags_for(text: &str, rel: &str) -> Vec<Diag> {
    text.lines()
        .filter_map(parse_diag)
        .filter(|d| d.path.ends_with(rel))
        .collect()
}

/// The single error `check` printed for `rel`, failing the test otherwise.
pub fn one_error_for(run: &Run, rel: &str) -> Diag {
    let hits: Vec<Diag> = diags_for(&run.stdout, rel)
        .into_iter()
        .filter(|d| d.severity == "error")
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "want exactly one `error` line naming {rel} on stdout:\n{}",
        run.printed()
    );
    assert!(
        !hits[0].message.trim().is_empty(),
        "empty message: {hits:?}"
    );
    hits.into_iter().next().unwrap()
}

/// Whether `text` has a line `<path>:<line>:<col>: error: …` (with `line`)
/// or, without a position, a line naming `path` with `error`.
pub fn names_config_error(text: &str, path: &Path, line: Option<usize>) -> bool {
    let p = path.display().to_string();
    text.lines().any(|l| match line {
        Some(n) => l
            .find(&format!("{p}:{n}:"))
            .map(|i| &l[i + p.len() + format!(":{n}:").len()..])
            .and_then(|rest| {
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                (digits > 0).then(|| &rest[digits..])
            })
            .is_some_and(|rest| rest.starts_with(": error:")),
        None => l.contains(&p) && l.contains("error"),
    })
}

/// Makes a temp tree readable and searchable by everyone, so a daemon
/// running as [`NOBODY`] can read it (tempfile creates folders 0700).
pub fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}
