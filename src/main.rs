//! The `herald` command: parses arguments, installs logging, loads the
//! config and hands over to the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use herald::config::Config;

#[derive(Parser)]
#[command(
    name = "herald",
    version,
    about = "Publishes RSS, Atom and JSON feeds from a directory of news articles"
)]
struct Cli {
    /// Config file.
    #[arg(long, global = true, default_value = "config/herald.toml")]
    config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Address to listen on (serve), overriding server.listen.
    #[arg(long, global = true)]
    listen: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (the default).
    Serve,
    /// Render every feed, page and OPML once into a directory.
    Build {
        /// Output directory (default: output.dir).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exit 1 if any article had an error (after writing the rest).
        #[arg(long)]
        strict: bool,
    },
    /// Validate the config and every article.
    Check,
}

fn init_logging(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // notify's inotify backend warns when it drops the watch of a folder
    // that was deleted (the kernel dropped it already): herald handles the
    // deletion itself, so that line says nothing to an operator. Unless
    // RUST_LOG names notify, only its errors are logged.
    let names_notify = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("notify"));
    if !names_notify {
        if let Ok(quiet) = "notify::inotify=error".parse() {
            filter = filter.add_directive(quiet);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_logs())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Whether log lines carry colour: only on a terminal, and never with
/// `NO_COLOR` set to anything (<https://no-color.org>). Logs redirected
/// to a file, journald or a shipper stay plain text.
fn colour_logs() -> bool {
    use std::io::IsTerminal as _;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_color
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.config, cli.listen.as_deref()),
        Command::Build { out, strict } => build(&cli.config, out, strict),
        Command::Check => check(&cli.config),
    }
}

fn load_config(path: &Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Utc::now().fixed_offset()
}

fn build(config_path: &Path, out: Option<PathBuf>, strict: bool) -> ExitCode {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(out) = out.or_else(|| config.output_dir.clone()) else {
        eprintln!(
            "error: no output directory: pass --out DIR or set output.dir in {}",
            config_path.display()
        );
        return ExitCode::from(2);
    };
    let result = (|| -> anyhow::Result<bool> {
        let mut loaded = herald::load::load_content_meta(&config)?;
        for d in &loaded.diagnostics {
            println!("{d}");
        }
        let pages = herald::output::render_all(&config, &mut loaded.catalog, now());
        let failed = herald::output::write_pages(&out, &pages);
        for e in &failed {
            eprintln!("{e}");
        }
        if !failed.is_empty() {
            anyhow::bail!(
                "writing output: {} of {} pages could not be written; the rest were",
                failed.len(),
                pages.len()
            );
        }
        tracing::info!(out = %out.display(), pages = pages.len(), articles = loaded.catalog.len(), "build finished");
        Ok(loaded.diagnostics.iter().any(|d| d.is_error()))
    })();
    match result {
        Ok(had_errors) if had_errors && strict => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(1)
        }
    }
}

fn check(config_path: &Path) -> ExitCode {
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            println!("{e}");
            return ExitCode::from(1);
        }
    };
    match herald::load::load_content_meta(&config) {
        Ok(loaded) => {
            for d in &loaded.diagnostics {
                println!("{d}");
            }
            let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
            let warnings = loaded.diagnostics.len() - errors;
            eprintln!(
                "checked {} articles: {errors} errors, {warnings} warnings",
                loaded.catalog.len() + errors
            );
            if errors > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            println!("{e}");
            ExitCode::from(1)
        }
    }
}

fn serve(config_path: &Path, listen: Option<&str>) -> ExitCode {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut listen_override = None;
    if let Some(l) = listen {
        match l.parse() {
            Ok(addr) => listen_override = Some(addr),
            Err(_) => {
                eprintln!("error: --listen {l:?} is not an address like 127.0.0.1:8080");
                return ExitCode::from(2);
            }
        }
    }
    raise_fd_limit();
    // One core is left to the publisher and the compressor: HTTP answers
    // are prepared bytes, and fewer workers mean fewer cross-core wake-ups
    // (docs/performance.md has the measurements).
    let workers = std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        let addr = listen_override.unwrap_or(config.server.listen);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(signals(reload_tx, stop_tx));
        let shutdown = async move {
            let _ = stop_rx.await;
        };
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            if ready_rx.await.is_ok() {
                herald::systemd::ready();
            }
        });
        if let Some(every) = herald::systemd::watchdog_interval() {
            // Sent from the runtime that answers requests: a stuck runtime
            // stops the pings and systemd restarts the service.
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    herald::systemd::watchdog();
                }
            });
        }
        let options = herald::daemon::Options {
            reload_rx: Some(reload_rx),
            ready_tx: Some(ready_tx),
            ..Default::default()
        };
        herald::daemon::run_with(listener, config, options, shutdown)
            .await
            .map_err(anyhow::Error::from)
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "herald failed");
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// SIGHUP → reload; the first SIGTERM/SIGINT → graceful stop; a second → exit at once.
async fn signals(
    reload_tx: tokio::sync::mpsc::UnboundedSender<()>,
    stop_tx: tokio::sync::oneshot::Sender<()>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    let mut stop_tx = Some(stop_tx);
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading config");
                let _ = reload_tx.send(());
                continue;
            }
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        match stop_tx.take() {
            Some(tx) => {
                tracing::info!("shutting down (send the signal again to exit at once)");
                herald::systemd::stopping();
                let _ = tx.send(());
            }
            None => {
                tracing::warn!("second signal: exiting now");
                std::process::exit(0);
            }
        }
    }
}

/// Raises the soft open-file limit toward the hard limit, so the
/// connection cap, not EMFILE, is what limits clients.
fn raise_fd_limit() {
    match rlimit::increase_nofile_limit(1 << 20) {
        Ok(n) => tracing::debug!(limit = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
}

/// glibc's allocator, tuned for a long-lived process holding a large index:
/// a low trim threshold gives freed parse buffers back to the system, two
/// arenas (rather than one per thread) keep freed memory from scattering
/// across heaps, and feed-sized buffers (up to 1 MiB) come from the heap
/// rather than from an mmap and munmap each. `docs/performance.md` has the
/// measurements. Called before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator tunables; it has no memory-safety
    // preconditions and is called while the process is single-threaded.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

/// Other C libraries keep their own allocator settings.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}
