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

use std::collections::{BTreeMap, HashMap, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use chrono::{DateTime, FixedOffset, Utc};
use tokio::net::TcpListener;

use crate::article::{self, Depth, Parsed};
use crate::catalog::{Catalog, CatalogBuilder, Change};
use crate::config::Config;
use crate::content::watch::{self, Mode};
use crate::content::{rules, walk as scan};
use crate::diagnostics::{Diagnostic, Severity};
use crate::http::server::{self, Limits};
use crate::http::snapshot::{Health, Resource, Snapshot};
use crate::load as build;
use crate::render::{self, PageId};

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
    Checked(u64, Vec<(String, Result<Parsed, Diagnostic>)>),
    /// Compressed variants from the compressor thread: (path, the
    /// resource compressed, the resource with its variants).
    Compressed(Vec<(String, Arc<Resource>, Arc<Resource>)>),
    /// A survey of the tree made on a background thread, with the load
    /// generation it was started in.
    Surveyed(u64, Survey),
    /// The clock was set: look again at what is due.
    Tick,
    /// Stop.
    Stop,
}

/// How often the reconcile scan runs in event mode.
const RECONCILE_EVERY: Duration = Duration::from_secs(60);

/// How soon after a folder appears a reconcile scan looks again: the
/// watcher adds the folder's watch only after reporting it, so a file
/// written in between, after the folder was listed, has no event.
const NEW_FOLDER_RESCAN: Duration = Duration::from_secs(1);

/// The daemon's notion of "now": the system clock, or a clock a test sets
/// by hand. Setting a manual clock wakes the publisher, which then
/// publishes whatever came due, as it would when the system clock passes a
/// date.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<FixedOffset>>>>,
    /// The publisher's queue, once the daemon runs: written by `run_with`,
    /// read by [`Clock::set`].
    wake: Arc<Mutex<Option<mpsc::Sender<Msg>>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock").field("now", &self.now()).finish()
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that reads `start` until [`Clock::set`] moves it.
    pub fn manual(start: DateTime<FixedOffset>) -> Clock {
        Clock {
            manual: Some(Arc::new(Mutex::new(start))),
            wake: Arc::default(),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<FixedOffset> {
        match &self.manual {
            Some(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
            None => Utc::now().fixed_offset(),
        }
    }

    /// Moves a manual clock to `t` and wakes the publisher; does nothing to
    /// the system clock.
    pub fn set(&self, t: DateTime<FixedOffset>) {
        if let Some(m) = &self.manual {
            *m.lock().unwrap_or_else(|e| e.into_inner()) = t;
            if let Some(tx) = &*self.wake.lock().unwrap_or_else(|e| e.into_inner()) {
                let _ = tx.send(Msg::Tick);
            }
        }
    }

    fn attach(&self, tx: mpsc::Sender<Msg>) {
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }
}

/// (mtime, size) of a file, to notice changes events missed.
type Stamp = (SystemTime, u64);

fn stamp_of(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// A page to compress: its path and the resource as rendered.
type Pending = (String, Arc<Resource>);

/// The tree as [`Publisher::reconcile`] compares it: the listing, the
/// canonical root, and each listed file's (mtime, size).
#[derive(Debug)]
pub struct Survey {
    listing: std::io::Result<scan::Listing>,
    root: PathBuf,
    stamps: Vec<Option<Stamp>>,
}

impl Survey {
    fn take(config: &Config) -> Survey {
        let listing = scan::scan(config);
        let stamps = match &listing {
            Ok(l) => l
                .files
                .iter()
                .map(|f| stamp_of(&config.content.dir.join(f)))
                .collect(),
            Err(_) => Vec::new(),
        };
        let root = config
            .content
            .dir
            .canonicalize()
            .unwrap_or_else(|_| config.content.dir.clone());
        Survey {
            listing,
            root,
            stamps,
        }
    }
}

/// All mutable state, owned by the publisher thread.
pub struct Publisher {
    config: Config,
    config_path: PathBuf,
    root: PathBuf,
    catalog: Catalog,
    /// Current problems per relative path (errors keep the last good version published).
    problems: BTreeMap<String, Vec<Diagnostic>>,
    /// Scan-level problems (links leaving the tree, unreadable folders),
    /// as the last walk of the whole tree found them.
    scan_problems: Vec<Diagnostic>,
    /// The walk problems logged already: those of the last whole walk, and
    /// those folder walks found since.
    walk_logged: HashSet<Diagnostic>,
    config_error: Option<String>,
    content_error: Option<String>,
    stamps: FxHashMap<Arc<str>, Stamp>,
    /// When the last full load began: a file it indexed without a stamp
    /// (see `unchecked`) and modified since then has changed since it was read.
    loaded_at: SystemTime,
    /// Paths indexed by the quick read and not yet checked in full.
    unchecked: FxHashSet<Arc<str>>,
    /// Generation of the last full load: background work (the full check,
    /// the periodic survey) started before a newer load is moot.
    load_gen: Arc<AtomicU64>,
    /// Whether a periodic survey thread is running.
    surveying: bool,
    /// Whether "every file checked in full" was said for this load.
    all_checked: bool,
    /// The warnings of this load: logged, and held back past
    /// [`LOAD_WARNINGS_LOGGED`].
    load_warnings: LoadWarnings,
    /// A folder was walked for an event: files written into it before its
    /// watch was in place are looked for by a reconcile soon after.
    folder_walked: bool,
    /// Tells the check thread a batch was applied.
    check_ack: Option<mpsc::SyncSender<()>>,
    resources: HashMap<String, Arc<Resource>>,
    shared: Arc<ArcSwap<Snapshot>>,
    mode: Mode,
    /// The `now` the current snapshot was rendered with.
    rendered_at: DateTime<FixedOffset>,
    last_regeneration: DateTime<FixedOffset>,
    rebind_tx: tokio::sync::mpsc::UnboundedSender<std::net::SocketAddr>,
    event_tx: Option<mpsc::Sender<Msg>>,
    /// Paths rendered but not yet compressed (see `compress_pending`).
    uncompressed: Vec<String>,
    /// Whether the server is up: until then compression waits, so the
    /// first load is served as soon as it is rendered.
    serving: bool,
    /// Jobs for the compressor thread (started by [`Publisher::run`]).
    compress_tx: Option<mpsc::Sender<Vec<Pending>>>,
    /// The config file's (mtime, size) before the first load, to notice an
    /// edit made before the watchers started.
    config_stamp: Option<Stamp>,
    clock: Clock,
    _watchers: Option<watch::Watchers>,
}

impl Publisher {
    /// Loads everything and publishes the first snapshot.
    ///
    /// The watchers start in [`Publisher::run`], after the first load (so
    /// reading 100,000 files does not queue 100,000 open events), and a
    /// reconcile scan right after they start applies any change made while
    /// the tree was being read.
    /// `config` holds the file's values even when `--listen` bound another
    /// address: a reload moves the socket only if `server.listen` changed.
    pub fn new(
        config: Config,
        config_path: PathBuf,
        shared: Arc<ArcSwap<Snapshot>>,
        rebind_tx: tokio::sync::mpsc::UnboundedSender<std::net::SocketAddr>,
        event_tx: mpsc::Sender<Msg>,
        clock: Clock,
    ) -> Self {
        let root = config
            .content
            .dir
            .canonicalize()
            .unwrap_or_else(|_| config.content.dir.clone());
        let mut p = Publisher {
            config,
            config_path,
            root,
            catalog: Catalog::new(),
            problems: BTreeMap::new(),
            scan_problems: Vec::new(),
            walk_logged: HashSet::new(),
            config_error: None,
            content_error: None,
            stamps: FxHashMap::default(),
            loaded_at: SystemTime::now(),
            unchecked: FxHashSet::default(),
            load_gen: Arc::new(AtomicU64::new(0)),
            surveying: false,
            all_checked: false,
            load_warnings: LoadWarnings::default(),
            folder_walked: false,
            check_ack: None,
            resources: HashMap::new(),
            shared,
            mode: Mode::Events,
            rendered_at: clock.now(),
            last_regeneration: clock.now(),
            rebind_tx,
            event_tx: Some(event_tx),
            uncompressed: Vec::new(),
            serving: false,
            compress_tx: None,
            config_stamp: None,
            clock,
            _watchers: None,
        };
        p.config_stamp = stamp_of(&p.config_path);
        p.full_load();
        p
    }

    /// Starts watching, then compares the tree with what the first load
    /// read, so a change made while it read is applied now.
    fn start_watching(&mut self) {
        self.restart_watchers();
        if self.mode == Mode::Degraded {
            tracing::warn!(
                "watcher degraded: polling content every {:?}",
                self.config.content.poll_interval
            );
        }
        if stamp_of(&self.config_path) != self.config_stamp {
            self.reload_config();
        } else {
            self.reconcile();
        }
    }

    /// Re-reads the whole content directory and re-renders everything. On
    /// failure (the directory is gone) the last good catalog stays.
    ///
    /// Files with simple front matter are indexed by a quick read
    /// (`article::quick_meta`); the feeds are served as soon as the
    /// articles they show are read in full, and a background check then
    /// reads every quickly indexed file in full (`start_check`).
    fn full_load(&mut self) {
        let started = Instant::now();
        self.loaded_at = SystemTime::now();
        self.all_checked = false;
        self.load_warnings = LoadWarnings::default();
        // A check of the previous load is moot now.
        self.load_gen.fetch_add(1, Ordering::SeqCst);
        self.root = self
            .config
            .content
            .dir
            .canonicalize()
            .unwrap_or_else(|_| self.config.content.dir.clone());
        // The catalog is built as the files arrive; the daemon's own maps
        // share its path strings.
        let mut builder = CatalogBuilder::default();
        let mut stamps = FxHashMap::default();
        let mut unchecked = FxHashSet::default();
        let mut problems = BTreeMap::new();
        let mut files = 0usize;
        let mut warnings = LoadWarnings::default();
        let old_catalog = &self.catalog;
        // The walk and the reads overlap: each directory is read as soon
        // as it is listed.
        let loaded = build::load_tree(&self.config, Depth::Quick, |rel, result| {
            files += 1;
            match result {
                Ok(parsed) => {
                    if !parsed.warnings.is_empty() {
                        // (Said once: a later read that finds the same
                        // warnings does not repeat them.)
                        warnings.log(&parsed.warnings);
                        problems.insert(rel, parsed.warnings);
                    }
                    let key = builder.push(parsed.article, parsed.complete);
                    if !parsed.checked {
                        unchecked.insert(Arc::clone(&key));
                    }
                    if let Some(s) = parsed.stamp {
                        stamps.insert(key, s);
                    }
                }
                Err(d) => {
                    log_problem(&d);
                    // Keep the last good version of a file that broke.
                    if let Some(old) = old_catalog.get(&rel) {
                        builder.push((**old).clone(), old_catalog.has_body(&rel));
                    }
                    problems.insert(rel, vec![d]);
                }
            }
        });
        let listing = match loaded {
            Ok(l) => l,
            Err(e) => {
                let msg = format!(
                    "{}: error: cannot read content directory: {e}",
                    self.config.content.dir.display()
                );
                tracing::error!(dir = %self.config.content.dir.display(), error = %e, "content directory unreadable; keeping the last good feeds");
                self.content_error = Some(msg);
                self.publish_health();
                return;
            }
        };
        self.content_error = None;
        self.load_warnings = warnings;
        let read = started.elapsed();
        self.catalog = builder.finish(listing.categories.iter().cloned());
        self.problems = problems;
        self.set_scan_problems(listing.problems);
        self.stamps = stamps;
        self.unchecked = unchecked;
        let indexed = started.elapsed();
        let now = self.clock.now();
        let pages = render::all_pages(&self.config, &self.catalog);
        let keep: HashSet<String> = pages.iter().map(PageId::path).collect();
        self.resources.retain(|k, _| keep.contains(k));
        self.render_pages(&pages, now);
        tracing::info!(
            files,
            to_check = self.unchecked.len(),
            read_ms = read.as_millis() as u64,
            index_ms = (indexed - read).as_millis() as u64,
            render_ms = (started.elapsed() - indexed).as_millis() as u64,
            "content loaded"
        );
        self.finish_regeneration(started, now, true);
        // The first load's check starts with serving (`run`).
        if self.serving {
            self.start_check();
        }
    }

    /// Reads every quickly indexed file in full on a background thread,
    /// which sends the results back in batches ([`Msg::Checked`]).
    fn start_check(&mut self) {
        if self.unchecked.is_empty() {
            // Every file was read in full already (a small site's all
            // show in some feed).
            self.note_if_all_checked();
            return;
        }
        let gen = self.load_gen.load(Ordering::SeqCst);
        // Shared paths: the copies and the sort are the thread's work.
        let keys: Vec<Arc<str>> = self.unchecked.iter().cloned().collect();
        let config = self.config.clone();
        let current = Arc::clone(&self.load_gen);
        let Some(tx) = self.event_tx.clone() else {
            self.check_now();
            return;
        };
        tracing::debug!(files = keys.len(), "checking quickly indexed files in full");
        // One batch waits while the next is read: the results never pile
        // up in the queue when the publisher is busy.
        let (ack_tx, ack_rx) = mpsc::sync_channel::<()>(1);
        self.check_ack = Some(ack_tx);
        let spawned = std::thread::Builder::new()
            .name("herald-check".into())
            .spawn(move || {
                let mut keys = keys;
                keys.sort();
                // Threads of its own, so an edit's pages (rendered on the
                // shared pool) never queue behind a 512-file batch; and at
                // a lower priority (nice 10), so edits and requests come
                // first while it runs. On Linux, niceness is per thread.
                let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("herald-check-{i}"))
                    .start_handler(|_| {
                        let me = rustix::thread::gettid();
                        let _ = rustix::process::setpriority_process(Some(me), 10);
                    })
                    .build()
                    .ok();
                for (i, chunk) in keys.chunks(512).enumerate() {
                    if current.load(Ordering::SeqCst) != gen {
                        return;
                    }
                    let chunk: Vec<String> = chunk.iter().map(|k| k.to_string()).collect();
                    let load = || build::load_files(&config, &chunk, Depth::Meta);
                    let results = match &pool {
                        Some(pool) => pool.install(load),
                        None => load(),
                    };
                    if i > 0 && ack_rx.recv().is_err() {
                        return;
                    }
                    if tx.send(Msg::Checked(gen, results)).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the background check; checking now");
            self.check_now();
        }
    }

    /// The full check of every unchecked file on this thread, when no
    /// background thread can do it.
    fn check_now(&mut self) {
        let rels: Vec<String> = self.unchecked.iter().map(|k| k.to_string()).collect();
        // `load_files` returns them in path order.
        let results = build::load_files(&self.config, &rels, Depth::Meta);
        self.apply_checked(results);
    }

    /// Says once per load, when it first holds, that no file is left
    /// indexed only quickly (by the background check, by reading the feeds'
    /// articles, or by events), and gives the set's table back.
    fn note_if_all_checked(&mut self) {
        if self.unchecked.is_empty() && !self.all_checked {
            self.all_checked = true;
            // Its table, sized for the whole first load, is given back.
            self.unchecked = FxHashSet::default();
            tracing::info!("every file checked in full");
            let held = std::mem::take(&mut self.load_warnings).held;
            if held > 0 {
                tracing::warn!(
                    more = held,
                    "{held} more warnings at this load were not logged; `herald check` prints every one"
                );
            }
        }
    }

    /// Applies full checks of quickly indexed files: a file that fails
    /// leaves the feeds, one whose index entry differs is re-indexed.
    /// Files re-read since (by an event) are skipped: that read was full.
    fn apply_checked(&mut self, results: Vec<(String, Result<Parsed, Diagnostic>)>) {
        // With the content directory gone, its failures say nothing about
        // the articles: the last good feeds stay, and its return reloads.
        if std::fs::metadata(&self.config.content.dir).is_err() {
            return;
        }
        let started = Instant::now();
        let mut change = Change::default();
        let mut problems_changed = false;
        for (rel, result) in results {
            let Some(key) = self.unchecked.take(rel.as_str()) else {
                continue;
            };
            match result {
                Ok(parsed) => {
                    if let Some(s) = parsed.stamp {
                        self.stamps.insert(key, s);
                    }
                    if !parsed.warnings.is_empty() {
                        self.log_warnings(&parsed.warnings);
                        self.problems.insert(rel.clone(), parsed.warnings);
                        problems_changed = true;
                    }
                    let same = self
                        .catalog
                        .get(&rel)
                        .is_some_and(|old| old.same_index(&parsed.article));
                    if !same {
                        change.merge(self.catalog.upsert_meta(parsed.article));
                    }
                }
                // Deleted since the quick read: its event drops it.
                Err(_)
                    if std::fs::symlink_metadata(self.config.content.dir.join(&rel)).is_err() => {}
                Err(d) => {
                    log_problem(&d);
                    change.merge(self.catalog.remove(&rel));
                    self.problems.insert(rel, vec![d]);
                    problems_changed = true;
                }
            }
        }
        self.note_if_all_checked();
        if !change.is_empty() {
            self.regenerate(change, started);
        } else if problems_changed {
            self.publish_health();
        }
    }

    fn render_pages(&mut self, pages: &[PageId], now: DateTime<FixedOffset>) {
        // Feeds need the bodies of what they show; re-read those held
        // without one. A quickly indexed file that fails its full read
        // leaves the catalog, and the next article takes its place.
        // A full read can also move a quickly indexed article out of a
        // window, letting in one without a body: hydrate until none is left.
        let size = build::window_size(&self.config);
        let mut unavailable = HashSet::new();
        // Each round fills or removes what the last one let in; the bound
        // is only a guard.
        for _ in 0..64 {
            let mut dropped = false;
            let hydrated = build::hydrate(&self.config, &mut self.catalog, now);
            // A body read in full is a full check of the file: a good
            // version to keep if a later save breaks it, and one reconcile
            // can compare against (a quick first read leaves no stamp).
            for file in hydrated.read {
                let key = match self.unchecked.take(file.rel.as_str()) {
                    Some(k) => k,
                    None => Arc::from(file.rel.as_str()),
                };
                if let Some(s) = file.stamp {
                    self.stamps.insert(key, s);
                }
                // An article read again to re-enter a feed says what its
                // last read said: that is not logged a second time.
                if self.problems.get(&file.rel) != Some(&file.warnings) {
                    self.record_warnings(&file.rel, file.warnings);
                }
            }
            for (rel, d) in hydrated.failed {
                // (A file that is gone is left to its deletion event.)
                let exists = std::fs::symlink_metadata(self.config.content.dir.join(&rel)).is_ok();
                if exists && self.unchecked.remove(rel.as_str()) {
                    log_problem(&d);
                    self.catalog.remove(&rel);
                    self.problems.insert(rel, vec![d]);
                    dropped = true;
                } else {
                    tracing::warn!(path = %d.path.display(), problem = %d, "article body unavailable; will retry");
                    unavailable.insert(rel);
                }
            }
            let done = self
                .catalog
                .windows(now, size)
                .iter()
                .all(|r| self.catalog.has_body(r) || unavailable.contains(&**r));
            if done && !dropped {
                break;
            }
        }
        self.note_if_all_checked();
        self.render_pages_inner(pages, now);
        // Bodies of articles no feed shows any more are dropped: memory
        // stays proportional to the feed windows, not to the newsroom.
        let windows = self.catalog.windows(now, build::window_size(&self.config));
        let extra: Vec<String> = self
            .catalog
            .with_bodies()
            .filter(|r| !windows.contains(&***r))
            .map(|r| r.to_string())
            .collect();
        for rel in extra {
            self.catalog.slim(&rel);
        }
    }

    fn render_pages_inner(&mut self, pages: &[PageId], now: DateTime<FixedOffset>) {
        let wall = SystemTime::now();
        let (config, catalog, resources) = (&self.config, &self.catalog, &self.resources);
        let one = |p: &PageId| {
            let path = p.path();
            let rendered = render::render(config, catalog, p, now);
            let res = Resource::prepare_identity(rendered, resources.get(&path), wall);
            (path, res)
        };
        // Every page on every core, an edit's nine too: on rayon's
        // persistent pool that took an edit's rendering from 4.8-5.3 ms to
        // 4.1-4.4 ms (fastest of 40 edits, 1,000 articles, two cores).
        let results: Vec<(String, Arc<Resource>)> = if pages.len() <= 1 {
            pages.iter().map(one).collect()
        } else {
            build::par_map(pages, one)
        };
        let mut changed = Vec::new();
        for (path, res) in results {
            let same = self
                .resources
                .get(&path)
                .is_some_and(|old| Arc::ptr_eq(old, &res));
            if !same {
                changed.push(path.clone());
            }
            self.resources.insert(path, res);
        }
        self.write_output(&changed);
        self.uncompressed.extend(changed);
    }

    fn write_output(&self, changed: &[String]) {
        let Some(out) = &self.config.output_dir else {
            return;
        };
        for path in changed {
            let Some(res) = self.resources.get(path) else {
                continue;
            };
            let file = if path.ends_with('/') {
                format!("{path}index.html")
            } else {
                path.clone()
            };
            let target = out.join(file.trim_start_matches('/'));
            if let Err(e) = crate::output::write_atomic(&target, &res.identity.body) {
                tracing::error!(path = %target.display(), error = %e, "cannot write output file");
            }
        }
    }

    fn remove_output(&self, category: &str) {
        if let Some(out) = &self.config.output_dir {
            let dir = out.join(category);
            if dir.is_dir() {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }

    fn finish_regeneration(&mut self, started: Instant, now: DateTime<FixedOffset>, full: bool) {
        self.rendered_at = now;
        self.last_regeneration = now;
        let secs = started.elapsed().as_secs_f64();
        metrics::counter!("herald_regenerations_total", "kind" => if full { "full" } else { "incremental" }).increment(1);
        metrics::histogram!("herald_regeneration_duration_seconds").record(secs);
        tracing::debug!(duration_ms = secs * 1000.0, full, "regenerated");
        // Serve the change now; the compressed variants follow.
        self.publish_health();
        if self.serving {
            self.compress_pending();
        }
    }

    /// Hands the resources rendered since the last call to the compressor
    /// thread, which sends their gzip and brotli variants back
    /// ([`Msg::Compressed`]); without one, compresses them here. The
    /// publisher never waits for compression, so the next change is not
    /// held up by the last one's.
    fn compress_pending(&mut self) {
        let mut paths = std::mem::take(&mut self.uncompressed);
        paths.sort();
        paths.dedup();
        let todo: Vec<(String, Arc<Resource>)> = paths
            .into_iter()
            .filter_map(|p| {
                self.resources
                    .get(&p)
                    .filter(|r| !r.is_compressed())
                    .map(|r| (p, Arc::clone(r)))
            })
            .collect();
        if todo.is_empty() {
            return;
        }
        let todo = match &self.compress_tx {
            Some(tx) => match tx.send(todo) {
                Ok(()) => return,
                Err(mpsc::SendError(todo)) => todo,
            },
            None => todo,
        };
        let done = compress_all(todo);
        self.install_compressed(done);
    }

    /// Installs compressed variants of resources not re-rendered meanwhile.
    fn install_compressed(&mut self, done: Vec<(String, Arc<Resource>, Arc<Resource>)>) {
        let mut any = false;
        for (path, before, after) in done {
            if self
                .resources
                .get(&path)
                .is_some_and(|cur| Arc::ptr_eq(cur, &before))
            {
                self.resources.insert(path, after);
                any = true;
            }
        }
        if any {
            self.publish_health();
        }
    }

    /// Starts the compressor thread: it takes batches of resources, merges
    /// whatever queued up meanwhile (only the newest version of a page is
    /// compressed), and sends the results to the publisher.
    fn start_compressor(&mut self) {
        let Some(events) = self.event_tx.clone() else {
            return;
        };
        let (tx, rx) = mpsc::channel::<Vec<Pending>>();
        let spawned = std::thread::Builder::new()
            .name("herald-compress".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut latest: HashMap<String, Arc<Resource>> = first.into_iter().collect();
                    while let Ok(more) = rx.try_recv() {
                        latest.extend(more);
                    }
                    let done = compress_all(latest.into_iter().collect());
                    if events.send(Msg::Compressed(done)).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(_) => self.compress_tx = Some(tx),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the compressor thread; compressing inline")
            }
        }
    }

    fn health(&self) -> Health {
        let mut errors: Vec<String> = Vec::new();
        if let Some(e) = &self.config_error {
            errors.push(e.clone());
        }
        if let Some(e) = &self.content_error {
            errors.push(e.clone());
        }
        for d in self
            .scan_problems
            .iter()
            .chain(self.problems.values().flatten())
        {
            if d.severity == Severity::Error {
                errors.push(d.to_string());
            }
        }
        Health {
            articles: self.catalog.published_count(None, self.rendered_at),
            categories: self.catalog.categories().count(),
            errors,
            watcher: self.mode.name().to_string(),
            last_regeneration: self
                .last_regeneration
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }

    fn publish_health(&self) {
        let health = self.health();
        metrics::gauge!("herald_articles").set(health.articles as f64);
        metrics::gauge!("herald_categories").set(health.categories as f64);
        metrics::gauge!("herald_content_errors").set(health.errors.len() as f64);
        for m in [Mode::Events, Mode::Polling, Mode::Degraded] {
            metrics::gauge!("herald_watcher_mode", "mode" => m.name()).set(if m == self.mode {
                1.0
            } else {
                0.0
            });
        }
        self.shared.store(Arc::new(Snapshot {
            resources: self.resources.clone(),
            health,
            max_age: self.config.server.max_age,
        }));
    }

    /// Re-examines one path and updates the catalog: a file is re-read, a
    /// folder walked, a missing path dropped with everything under it.
    fn apply_path(&mut self, rel: &str) -> Change {
        let full = self.config.content.dir.join(rel);
        let mut change = Change::default();
        // A path inside a hidden or ignored folder, or a link outside the tree, is not content.
        if rules::is_ignored(rel, &self.config) {
            return change;
        }
        match std::fs::metadata(&full) {
            Ok(m) if m.is_dir() => {
                let inside = full
                    .canonicalize()
                    .map(|c| c.starts_with(&self.root))
                    .unwrap_or(false);
                if !inside {
                    return change;
                }
                self.folder_walked = true;
                // A folder now: whatever was recorded under its path as a file goes.
                self.problems.remove(rel);
                self.stamps.remove(rel);
                let mut listing = scan::scan_folder(&self.config, rel);
                // Logged; /healthz lists them from the next whole walk on.
                self.log_folder_walk_problems(std::mem::take(&mut listing.problems));
                // (A top-level folder lists itself, unless it is a second
                // name for another.)
                for c in &listing.categories {
                    change.merge(self.catalog.add_category(c));
                }
                // Files that vanished from the folder meanwhile, with their
                // recorded problems (a folder replaced by another of the same name).
                let present: HashSet<&str> = listing.files.iter().map(String::as_str).collect();
                for old in self.catalog.paths_under(rel) {
                    if !present.contains(old.as_str()) {
                        change.merge(self.drop_file(&old));
                    }
                }
                let prefix = format!("{rel}/");
                self.problems
                    .retain(|k, _| !k.starts_with(&prefix) || present.contains(k.as_str()));
                self.stamps
                    .retain(|k, _| !k.starts_with(&prefix) || present.contains(&**k));
                for f in &listing.files {
                    change.merge(self.load_file(f));
                }
            }
            Ok(m) if m.is_file() || !m.is_dir() => {
                if rules::kind_of(rel).is_some() {
                    let inside = full
                        .canonicalize()
                        .map(|c| c.starts_with(&self.root))
                        .unwrap_or(false);
                    if inside {
                        change.merge(self.load_file(rel));
                    } else {
                        change.merge(self.drop_file(rel));
                    }
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                change.merge(self.drop_file(rel));
                for old in self.catalog.paths_under(rel) {
                    change.merge(self.drop_file(&old));
                }
                let prefix = format!("{rel}/");
                self.problems.retain(|k, _| !k.starts_with(&prefix));
                self.stamps.retain(|k, _| !k.starts_with(&prefix));
                if !rel.contains('/') && self.catalog.has_category(rel) {
                    change.merge(self.catalog.remove_category(rel));
                    self.drop_category_pages(rel);
                }
            }
            Err(e) => {
                let d = Diagnostic {
                    path: full.clone(),
                    position: None,
                    severity: Severity::Error,
                    message: format!("cannot read: {e}"),
                };
                log_problem(&d);
                self.problems.insert(rel.to_string(), vec![d]);
            }
        }
        change
    }

    /// Keeps what a walk of the whole tree found wrong (names that are not
    /// UTF-8, links leading out, loops, unreadable folders), logging what
    /// was not logged already: a periodic scan that finds the same says
    /// nothing, and one found again after it was fixed is said again.
    fn set_scan_problems(&mut self, problems: Vec<Diagnostic>) {
        for d in problems.iter().filter(|d| !self.walk_logged.contains(*d)) {
            log_walk_problem(d);
        }
        self.walk_logged = problems.iter().cloned().collect();
        self.scan_problems = problems;
    }

    /// Logs what a walk of one folder found wrong, unless logged already.
    fn log_folder_walk_problems(&mut self, problems: Vec<Diagnostic>) {
        for d in problems {
            if !self.walk_logged.contains(&d) {
                log_walk_problem(&d);
                self.walk_logged.insert(d);
            }
        }
    }

    /// Records what a successful full read of `rel` warned about: the
    /// warnings (logged) replace its problems, or none clears them.
    fn record_warnings(&mut self, rel: &str, warnings: Vec<Diagnostic>) {
        if warnings.is_empty() {
            self.problems.remove(rel);
        } else {
            self.log_warnings(&warnings);
            self.problems.insert(rel.to_string(), warnings);
        }
    }

    /// Logs a file's warnings: all of them once the load is checked in
    /// full, else within the load's bound ([`LOAD_WARNINGS_LOGGED`]).
    fn log_warnings(&mut self, warnings: &[Diagnostic]) {
        if self.all_checked {
            warnings.iter().for_each(log_problem);
        } else {
            self.load_warnings.log(warnings);
        }
    }

    fn drop_category_pages(&mut self, category: &str) {
        let prefix = format!("/{category}/");
        self.resources.retain(|k, _| !k.starts_with(&prefix));
        self.remove_output(category);
    }

    fn drop_file(&mut self, rel: &str) -> Change {
        self.unchecked.remove(rel);
        self.problems.remove(rel);
        self.stamps.remove(rel);
        self.catalog.remove(rel)
    }

    fn load_file(&mut self, rel: &str) -> Change {
        let was_unchecked = self.unchecked.remove(rel);
        let full = self.config.content.dir.join(rel);
        match article::load(&self.config.content.dir, rel, &self.config) {
            Ok(parsed) => {
                if let Some(s) = parsed.stamp {
                    self.stamps.insert(Arc::from(rel), s);
                }
                self.record_warnings(rel, parsed.warnings);
                if self
                    .catalog
                    .get(rel)
                    .is_some_and(|old| **old == parsed.article)
                {
                    return Change::default();
                }
                self.catalog.upsert(parsed.article)
            }
            Err(_) if std::fs::symlink_metadata(&full).is_err() => {
                // Gone between the event and the read: a deletion, not an error.
                self.drop_file(rel)
            }
            Err(d) => {
                // The last good version (if any) stays published; the next
                // event on this file re-reads it. A version only indexed
                // quickly was never checked, so it is no good version.
                if let Some(s) = stamp_of(&full) {
                    self.stamps.insert(Arc::from(rel), s);
                }
                log_problem(&d);
                self.problems.insert(rel.to_string(), vec![d]);
                let mut change = Change {
                    site: true,
                    ..Default::default()
                };
                if was_unchecked {
                    change.merge(self.catalog.remove(rel));
                }
                change
            }
        }
    }

    /// Applies a batch of touched paths and publishes the result.
    pub fn apply_paths(&mut self, paths: &[String]) {
        // If the content directory itself is gone, these are the echoes of
        // its removal: keep the last good feeds rather than deleting
        // article by article.
        if std::fs::metadata(&self.config.content.dir).is_err() {
            self.reconcile();
            return;
        }
        let started = Instant::now();
        let mut change = Change::default();
        for rel in paths {
            change.merge(self.apply_path(rel));
        }
        self.regenerate(change, started);
    }

    fn regenerate(&mut self, change: Change, started: Instant) {
        // An event may have read the last quickly indexed file in full.
        self.note_if_all_checked();
        let now = self.clock.now();
        // Articles that came due since the last render count as changes too.
        let mut change = change;
        change.merge(self.catalog.due_between(self.rendered_at, now));
        if change.is_empty() {
            self.publish_health();
            return;
        }
        let pages = render::affected_pages(&self.config, &self.catalog, &change, now);
        self.render_pages(&pages, now);
        self.finish_regeneration(started, now, false);
    }

    /// Compares the tree with what was loaded (mtime, size) and applies the
    /// differences. The safety net for missed events, and the whole
    /// watcher in polling mode.
    pub fn reconcile(&mut self) {
        let survey = Survey::take(&self.config);
        self.reconcile_with(survey);
    }

    /// Surveys the tree on a background thread ([`Msg::Surveyed`]), so the
    /// periodic scan of a large newsroom (a stat per file) never holds up
    /// an edit; runs [`Publisher::reconcile`] here if the thread cannot start.
    fn reconcile_in_background(&mut self) {
        if self.surveying {
            return;
        }
        let Some(tx) = self.event_tx.clone() else {
            self.reconcile();
            return;
        };
        let config = self.config.clone();
        let gen = self.load_gen.load(Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("herald-survey".into())
            .spawn(move || {
                let _ = tx.send(Msg::Surveyed(gen, Survey::take(&config)));
            });
        match spawned {
            Ok(_) => self.surveying = true,
            Err(_) => self.reconcile(),
        }
    }

    /// [`Publisher::reconcile`] with a survey taken earlier: files changed
    /// since it was taken differ from it too, and are simply re-read.
    fn reconcile_with(&mut self, survey: Survey) {
        let started = Instant::now();
        let listing = match survey.listing {
            Ok(l) => l,
            Err(e) => {
                if self.content_error.is_none() {
                    tracing::error!(dir = %self.config.content.dir.display(), error = %e, "content directory unreadable; keeping the last good feeds");
                    self.content_error = Some(format!(
                        "{}: error: cannot read content directory: {e}",
                        self.config.content.dir.display()
                    ));
                    self.publish_health();
                }
                return;
            }
        };
        if self.content_error.is_some() || survey.root != self.root {
            tracing::info!(dir = %self.config.content.dir.display(), "content directory is back (or was replaced); reloading");
            self.content_error = None;
            // Watch first, so files written right after the directory came back are seen.
            self.restart_watchers();
            self.full_load();
            return;
        }
        let mut touched: Vec<String> = Vec::new();
        for c in &listing.categories {
            if !self.catalog.has_category(c) {
                touched.push(c.clone());
            }
        }
        let known: Vec<String> = self.catalog.categories().map(str::to_string).collect();
        for c in known {
            if listing.categories.binary_search(&c).is_err() {
                touched.push(c);
            }
        }
        let present: HashSet<&str> = listing.files.iter().map(String::as_str).collect();
        // File times are coarse (a clock tick; seconds on some file
        // systems): a file written just before the load began may look
        // written during it, and is re-read.
        let since = self
            .loaded_at
            .checked_sub(Duration::from_secs(2))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for (f, s) in listing.files.iter().zip(&survey.stamps) {
            let known = self.stamps.get(f.as_str());
            // A quick first read leaves no stamp. Unless the file was
            // modified since the load began, the background check, which
            // reads it in full anyway, is left to stamp it.
            if known.is_none()
                && self.unchecked.contains(f.as_str())
                && s.is_some_and(|(mtime, _)| mtime < since)
            {
                continue;
            }
            if s.is_none() || known != s.as_ref() {
                touched.push(f.clone());
            }
        }
        let gone: Vec<String> = self
            .stamps
            .keys()
            .map(|k| &**k)
            .chain(self.problems.keys().map(String::as_str))
            .filter(|k| !present.contains(k))
            .map(str::to_string)
            .collect();
        touched.extend(gone);
        // Files that failed to read (permission denied, half-written) are
        // retried on every scan, whatever their mtime says.
        let failed: Vec<String> = self
            .problems
            .iter()
            .filter(|(k, ds)| present.contains(k.as_str()) && ds.iter().any(|d| d.is_error()))
            .map(|(k, _)| k.clone())
            .collect();
        touched.extend(failed);
        let missing: Vec<String> = self
            .catalog
            .articles()
            .filter(|a| !present.contains(&*a.rel))
            .map(|a| a.rel.to_string())
            .collect();
        touched.extend(missing);
        touched.sort();
        touched.dedup();
        self.set_scan_problems(listing.problems);
        if !touched.is_empty() {
            metrics::counter!("herald_reconcile_fixes_total").increment(touched.len() as u64);
            tracing::info!(paths = touched.len(), "reconcile scan found changes");
        }
        let mut change = Change::default();
        // Folders a scan walks had no event, so no watch race to cover:
        // they arm no new scan (which would walk them again, and so on).
        let walked = self.folder_walked;
        for rel in &touched {
            change.merge(self.apply_path(rel));
        }
        self.folder_walked = walked;
        self.regenerate(change, started);
    }

    /// Reloads the config file. A config that fails keeps the old one in
    /// force and shows the error in `/healthz`.
    pub fn reload_config(&mut self) {
        // Load by the path as given, so error paths read the same before and after.
        let new = match Config::load(&self.config.path.clone()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "config reload failed; keeping the old config");
                self.config_error = Some(e.to_string());
                self.publish_health();
                return;
            }
        };
        self.config_error = None;
        // `self.config` holds the file's values, so with `--listen` the socket
        // moves only when the operator edits `server.listen` itself.
        let listen_changed = new.server.listen != self.config.server.listen;
        let content_changed = new.content.dir != self.config.content.dir
            || new.content.watch != self.config.content.watch;
        if listen_changed {
            let _ = self.rebind_tx.send(new.server.listen);
        }
        tracing::info!(path = %self.config_path.display(), "config reloaded");
        let output_changed = new.output_dir != self.config.output_dir;
        self.config = new;
        // Watch the (new) tree before reading it, so nothing falls in between.
        if content_changed {
            self.restart_watchers();
        }
        // Any key can change how articles parse or render (time zone,
        // permalinks, importer rules), so re-read and re-render everything.
        self.full_load();
        if output_changed {
            let all: Vec<String> = self.resources.keys().cloned().collect();
            self.write_output(&all);
        }
    }

    /// Publishes articles that came due.
    pub fn publish_due(&mut self) {
        self.regenerate(Change::default(), Instant::now());
    }

    fn restart_watchers(&mut self) {
        self.root = self
            .config
            .content
            .dir
            .canonicalize()
            .unwrap_or_else(|_| self.config.content.dir.clone());
        if let Some(tx) = self.event_tx.clone() {
            self._watchers = None;
            let w = start_watchers(&self.config, &self.config_path, tx);
            self.mode = w.mode;
            self._watchers = Some(w);
            self.publish_health();
        }
    }

    /// When polling or reconciling is next due.
    fn scan_interval(&self) -> Duration {
        // While content.dir is missing, look for its return often.
        if self.content_error.is_some() {
            return self.config.content.poll_interval;
        }
        match self.mode {
            Mode::Events => RECONCILE_EVERY.max(self.config.content.poll_interval),
            Mode::Polling | Mode::Degraded => self.config.content.poll_interval,
        }
    }
}

/// Adds gzip and brotli variants, one page after another: on the
/// compressor thread this leaves the other core to rendering.
fn compress_all(todo: Vec<(String, Arc<Resource>)>) -> Vec<(String, Arc<Resource>, Arc<Resource>)> {
    todo.into_iter()
        .map(|(p, r)| {
            let c = r.compressed();
            (p, r, c)
        })
        .collect()
}

fn log_problem(d: &Diagnostic) {
    match d.severity {
        Severity::Error => {
            tracing::warn!(path = %d.path.display(), problem = %d, "article skipped")
        }
        Severity::Warning => {
            tracing::warn!(path = %d.path.display(), problem = %d, "article warning")
        }
    }
}

/// How many article warnings a load logs (the first load, a reload, and
/// the background check that follows): a newsroom whose every file has an
/// unknown key would otherwise log 100,000 lines at each start. Errors are
/// all logged, and so are the warnings of later edits.
pub const LOAD_WARNINGS_LOGGED: usize = 100;

/// The article warnings of one load, logged up to [`LOAD_WARNINGS_LOGGED`].
#[derive(Debug, Default)]
struct LoadWarnings {
    logged: usize,
    held: usize,
}

impl LoadWarnings {
    fn log(&mut self, warnings: &[Diagnostic]) {
        for w in warnings {
            if self.logged < LOAD_WARNINGS_LOGGED {
                self.logged += 1;
                log_problem(w);
            } else {
                self.held += 1;
            }
        }
    }
}

fn log_walk_problem(d: &Diagnostic) {
    tracing::warn!(path = %d.path.display(), problem = %d, "content directory problem");
}

fn start_watchers(config: &Config, config_path: &Path, tx: mpsc::Sender<Msg>) -> watch::Watchers {
    let tx = std::sync::Mutex::new(tx);
    let tx = Arc::new(tx);
    watch::start(config, config_path, move |e| {
        // Every read herald makes is an open event; drop those here, on the
        // watcher's thread, rather than queueing 100,000 of them at start.
        if let Ok(ev) = &e {
            if !ev.need_rescan() && watch::is_read_only(ev) {
                return;
            }
        }
        if let Ok(tx) = tx.lock() {
            let _ = tx.send(Msg::Event(e));
        }
    })
}

impl Publisher {
    /// Runs the publisher loop until [`Msg::Stop`].
    pub fn run(mut self, rx: mpsc::Receiver<Msg>) {
        self.serving = true;
        self.start_compressor();
        self.publish_health();
        self.compress_pending();
        // Before the watchers' reconcile: a reload it causes supersedes
        // this check with its own.
        self.start_check();
        self.start_watching();
        let mut pending: Vec<String> = Vec::new();
        let mut rescan = false;
        let mut reload = false;
        let mut deadline: Option<Instant> = None;
        let mut next_scan = Instant::now() + self.scan_interval();
        // A reconcile due soon after a folder appeared (`NEW_FOLDER_RESCAN`).
        let mut folder_rescan: Option<Instant> = None;
        // A folder walked again while a scan is armed: one more scan after it.
        let mut walked_again = false;
        loop {
            let now = Instant::now();
            // Walks of the last turn (or before the loop) arm the scan
            // before the wake-up time is worked out.
            if std::mem::take(&mut self.folder_walked) {
                match folder_rescan {
                    None => folder_rescan = Some(now + NEW_FOLDER_RESCAN),
                    Some(_) => walked_again = true,
                }
            }
            let mut wake = next_scan;
            // (While a survey runs, its result wakes the loop.)
            if let Some(r) = folder_rescan.filter(|_| !self.surveying) {
                wake = wake.min(r);
            }
            if let Some(d) = deadline {
                wake = wake.min(d);
            }
            if let Some(due) = self.catalog.next_due(self.rendered_at) {
                let wait = (due - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
                // Publish a little after the instant so `now >= date` holds.
                wake = wake.min(now + wait + Duration::from_millis(1));
            }
            let msg = rx.recv_timeout(wake.saturating_duration_since(now));
            match msg {
                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(Msg::Compressed(done)) => self.install_compressed(done),
                Ok(Msg::Tick) => {}
                Ok(Msg::Surveyed(gen, survey)) => {
                    self.surveying = false;
                    if gen == self.load_gen.load(Ordering::SeqCst) {
                        self.reconcile_with(survey);
                    }
                }
                Ok(Msg::Checked(gen, results)) => {
                    if gen == self.load_gen.load(Ordering::SeqCst) {
                        self.apply_checked(results);
                    }
                    if let Some(ack) = &self.check_ack {
                        let _ = ack.try_send(());
                    }
                }
                Ok(Msg::ReloadConfig) => {
                    reload = true;
                    deadline.get_or_insert_with(|| Instant::now() + self.config.content.debounce);
                }
                Ok(Msg::Event(Ok(event))) => {
                    let root = self.root.clone();
                    let m = watch::map_event(&event, &root, &self.config_path, &self.config);
                    if m.rescan || m.config || !m.paths.is_empty() {
                        rescan |= m.rescan;
                        reload |= m.config;
                        for p in m.paths {
                            if !pending.contains(&p) {
                                pending.push(p);
                            }
                        }
                        deadline
                            .get_or_insert_with(|| Instant::now() + self.config.content.debounce);
                    }
                }
                Ok(Msg::Event(Err(e))) => {
                    tracing::warn!(error = %e, "watcher error; rescanning");
                    rescan = true;
                    deadline.get_or_insert_with(|| Instant::now() + self.config.content.debounce);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                deadline = None;
                if reload {
                    reload = false;
                    self.reload_config();
                    pending.clear();
                    rescan = false;
                    // The watch mode or poll interval may have changed.
                    next_scan = Instant::now() + self.scan_interval();
                } else if rescan {
                    rescan = false;
                    pending.clear();
                    metrics::counter!("herald_rescans_total").increment(1);
                    tracing::info!("rescanning content");
                    self.reconcile();
                } else if !pending.is_empty() {
                    let batch = std::mem::take(&mut pending);
                    self.apply_paths(&batch);
                }
            }
            // Started once no survey is running, so its listing is taken
            // after the folder's files were written.
            if folder_rescan.is_some_and(|r| now >= r) && !self.surveying {
                folder_rescan =
                    std::mem::take(&mut walked_again).then(|| Instant::now() + NEW_FOLDER_RESCAN);
                self.reconcile_in_background();
            }
            if self
                .catalog
                .next_due(self.rendered_at)
                .is_some_and(|d| d <= self.clock.now())
            {
                self.publish_due();
            }
            if now >= next_scan {
                self.reconcile_in_background();
                next_scan = Instant::now() + self.scan_interval();
            }
        }
    }
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
    } = options;
    server::metrics_handle();
    let config_path = absolute(&config.path);
    let shared = Arc::new(ArcSwap::from_pointee(Snapshot::default()));
    let (rebind_tx, mut rebind_rx) = tokio::sync::mpsc::unbounded_channel::<std::net::SocketAddr>();
    let (listener_tx, listener_rx) = tokio::sync::mpsc::channel::<TcpListener>(1);
    let (tx, rx) = mpsc::channel::<Msg>();
    clock.attach(tx.clone());

    let shared2 = Arc::clone(&shared);
    let tx2 = tx.clone();
    let publisher = tokio::task::spawn_blocking(move || {
        Publisher::new(config, config_path, shared2, rebind_tx, tx2, clock)
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
    let result = server::serve(listener, shared, limits, listener_rx, shutdown).await;
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
