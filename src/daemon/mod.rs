//! Wires everything together for `herald serve`: the first full load, the
//! publisher thread that owns the catalog and applies changes, the
//! watchers, signals, and the HTTP server.
//!
//! One thread — the publisher — owns all mutable state (config, catalog,
//! per-file problems, rendered resources). It collects changes for
//! `content.debounce_ms`, re-reads only the touched files, re-renders only
//! the affected pages, and swaps a new [`Snapshot`] into the shared
//! `ArcSwap`, which request handlers read without ever waiting. A timer
//! publishes future-dated articles when they come due, and a slow
//! reconcile scan (mtime, size) catches whatever events missed.
//!
//! - [`publisher`]: the state, the load of the whole tree and config reloads.
//! - [`apply`]: how a touched path becomes re-rendered pages.
//! - [`on_request`]: pages rendered at their first request and held.
//! - [`event_loop`]: the loop that debounces events and runs what is due.
//! - [`check`]: the background full check after a quick first load.
//! - [`compress`]: gzip and brotli variants made off the publisher's path.
//! - [`reconcile`]: periodic scans that catch missed events.
//! - [`output_dir`]: pages written to `output.dir` with their `.gz`/`.br`.
//! - [`announce`]: changed and vanished feeds told to the WebSub hub.
//! - [`problems`]: per-file problems, bounded logging, `/healthz`.
//! - [`clock`]: the system clock, or a test's.

mod announce;
mod apply;
mod check;
pub mod clock;
pub mod compress;
mod event_loop;
mod on_request;
mod output_dir;
mod problems;
pub mod publisher;
mod reconcile;
mod saved_index;
mod watching;

pub use clock::Clock;
pub use problems::LOAD_WARNINGS_LOGGED;
pub use publisher::Publisher;
pub use reconcile::Survey;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;

use crate::article::Reading;
use crate::config::Config;
use crate::diagnostics::Diagnostic;
use crate::http::server::{self, Limits};
use crate::http::snapshot::{Resource, Snapshot};

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The server failed.
    #[error("server: {0}")]
    Server(#[from] std::io::Error),
    /// The publisher thread died.
    #[error("publisher thread panicked")]
    Publisher,
}

/// Messages to the publisher thread.
#[derive(Debug)]
pub enum Msg {
    /// A raw filesystem event.
    Event(notify::Result<notify::Event>),
    /// Reload the config (SIGHUP).
    ReloadConfig,
    /// Full checks of files the first index read quickly: the check's
    /// generation, and its results.
    Checked(u64, Vec<(String, Result<Reading, Diagnostic>)>),
    /// Compressed variants from the compressor thread.
    Compressed(Vec<compress::Compressed>),
    /// A survey of the tree made on a background thread, with the load
    /// generation it was started in.
    Surveyed(u64, Survey),
    /// The clock was set: look again at what is due.
    Tick,
    /// A request for a page rendered on request (a tag's or author's),
    /// by its decoded path; the page, or `None` when there is none.
    Render(String, tokio::sync::oneshot::Sender<Option<Arc<Resource>>>),
    /// Stop.
    Stop,
}

/// Runs the daemon on `listener` until `shutdown` resolves: loads the
/// content, serves it, and keeps it live.
///
/// Fails when the server fails or the publisher thread dies.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    run_with(listener, config, Options::default(), shutdown).await
}

/// Knobs of [`run_with`] beyond the config.
#[derive(Debug, Default)]
pub struct Options {
    /// Connection limits and timeouts.
    pub limits: Limits,
    /// Each message asks for a config reload (the binary wires SIGHUP here).
    pub reload_rx: Option<tokio::sync::mpsc::UnboundedReceiver<()>>,
    /// The clock that decides what is published (embargoed articles).
    pub clock: Clock,
    /// Told once the first load is rendered and the server accepts requests.
    pub ready_tx: Option<tokio::sync::oneshot::Sender<()>>,
    /// Timings of WebSub verifications, deliveries and pings.
    pub websub: crate::websub::Tuning,
}

/// [`run`] with explicit [`Options`]: connection limits, a channel that
/// asks for a config reload (the binary wires SIGHUP to it).
///
/// Fails when the server fails or the publisher thread dies.
pub async fn run_with(
    listener: TcpListener,
    config: Config,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let Options {
        limits,
        reload_rx,
        clock,
        ready_tx,
        websub,
    } = options;
    server::metrics_handle();
    let config_path = absolute(&config.path);
    let shared = Arc::new(ArcSwap::from_pointee(Snapshot::default()));
    let (rebind_tx, mut rebind_rx) = tokio::sync::mpsc::unbounded_channel::<std::net::SocketAddr>();
    let (listener_tx, listener_rx) = tokio::sync::mpsc::channel::<TcpListener>(1);
    let (tx, rx) = mpsc::channel::<Msg>();
    clock.attach(tx.clone());

    let hub = crate::websub::Hub::new(&config, websub, clock.clone());
    let shared2 = Arc::clone(&shared);
    let tx2 = tx.clone();
    let hub2 = hub.clone();
    let publisher = tokio::task::spawn_blocking(move || {
        let mut p = Publisher::new(
            config,
            config_path,
            shared2,
            rebind_tx,
            tx2,
            clock,
            Some(hub2),
        );
        // Watching before the first answer: no edit after it goes unseen.
        p.watch();
        p
    })
    .await
    .map_err(|_| DaemonError::Publisher)?;
    let publisher_thread = std::thread::Builder::new()
        .name("herald-publisher".into())
        .spawn(move || publisher.run(rx))
        .map_err(DaemonError::Server)?;

    // Rebinding: bind the new address first; only then retire the old socket.
    let rebinder = tokio::spawn(async move {
        while let Some(addr) = rebind_rx.recv().await {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    if listener_tx.send(l).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(address = %addr, error = %e, "cannot bind the new server.listen; keeping the old socket")
                }
            }
        }
    });
    let reload_task = reload_rx.map(|mut rx| {
        let tx = tx.clone();
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                let _ = tx.send(Msg::ReloadConfig);
            }
        })
    });

    if let Some(ready) = ready_tx {
        // The listener accepts from here on: `serve` takes it next.
        let _ = ready.send(());
    }
    let on_demand = on_demand(tx.clone());
    let result = server::serve(
        listener,
        shared,
        limits,
        listener_rx,
        server::Extras {
            on_demand: Some(on_demand),
            hub: Some(hub),
        },
        shutdown,
    )
    .await;
    let _ = tx.send(Msg::Stop);
    rebinder.abort();
    if let Some(t) = reload_task {
        t.abort();
    }
    let joined = tokio::task::spawn_blocking(move || publisher_thread.join()).await;
    result?;
    match joined {
        Ok(Ok(())) => Ok(()),
        _ => Err(DaemonError::Publisher),
    }
}

/// Asks the publisher for pages rendered on request (tag and author
/// pages, article pages) when the snapshot holds nothing at a path; the
/// publisher answers a path with no page at once. At most
/// [`ON_DEMAND_IN_FLIGHT`] requests wait at a time; more are answered 503
/// rather than queueing ahead of edits.
fn on_demand(tx: mpsc::Sender<Msg>) -> server::OnDemand {
    let tx = std::sync::Mutex::new(tx);
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Arc::new(move |path: &str| {
        use std::sync::atomic::Ordering;
        if in_flight.fetch_add(1, Ordering::AcqRel) >= ON_DEMAND_IN_FLIGHT {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            // A receiver whose sender is gone: the client is told 503.
            return Some(tokio::sync::oneshot::channel().1);
        }
        let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
        let sent = tx
            .lock()
            .ok()
            .is_some_and(|tx| tx.send(Msg::Render(path.to_string(), reply_tx)).is_ok());
        if !sent {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        // The count drops when the answer is taken (or the request gone).
        let (out_tx, out_rx) = tokio::sync::oneshot::channel();
        let in_flight = Arc::clone(&in_flight);
        tokio::spawn(async move {
            let answer = reply_rx.await.ok().flatten();
            in_flight.fetch_sub(1, Ordering::AcqRel);
            let _ = out_tx.send(answer);
        });
        Some(out_rx)
    })
}

/// How many requests for pages rendered on request may wait at once.
const ON_DEMAND_IN_FLIGHT: usize = 256;

fn absolute(p: &Path) -> PathBuf {
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (dir.canonicalize(), p.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => p.to_path_buf(),
    }
}
