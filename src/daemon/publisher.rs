//! The publisher: the one thread that owns the catalog and every piece of
//! mutable state. Here: that state, the load of the whole tree (at start
//! and on a config reload), and the rendering of a set of pages. Touched
//! paths are applied in `apply.rs`, pages rendered on request in
//! `on_request.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use chrono::{DateTime, FixedOffset};
use rustc_hash::{FxHashMap, FxHashSet};

use super::compress::Pending;
use super::on_request::OnDemandPages;
use super::problems::{log_problem, LoadWarnings};
use super::*;
use crate::article::{Depth, Phase, Reading};
use crate::catalog::{Catalog, CatalogBuilder};
use crate::config::Config;
use crate::content::read::Stamp;
use crate::content::watch::{self, Mode};
use crate::diagnostics::Diagnostic;
use crate::http::snapshot::{Resource, Snapshot, Validators};
use crate::load as build;
use crate::render::{self, PageId};

/// Where the quick first index and its background full check stand.
#[derive(Debug, Default)]
pub struct CheckState {
    /// Paths indexed by the quick read and not yet checked in full.
    pub(super) unchecked: FxHashSet<Arc<str>>,
    /// Generation of the last full load: background work (the full check,
    /// the periodic survey) started before a newer load is moot.
    pub(super) load_gen: Arc<AtomicU64>,
    /// Whether "every file checked in full" was said for this load.
    pub(super) all_checked: bool,
    /// Whether this load's duplicate ids and pages were logged (once every
    /// file is checked and the page index built); from then on an edit
    /// logs those of its file.
    pub(super) duplicates_said: bool,
    /// The warnings of this load: logged, and held back past
    /// [`LOAD_WARNINGS_LOGGED`].
    pub(super) load_warnings: LoadWarnings,
    /// Tells the check thread a batch was applied.
    pub(super) check_ack: Option<mpsc::SyncSender<()>>,
}

/// What is wrong with the content and the config: shown in `/healthz`,
/// logged once each.
#[derive(Debug, Default)]
pub struct Problems {
    /// Current problems per relative path (errors keep the last good version published).
    pub(super) by_path: BTreeMap<String, Vec<Diagnostic>>,
    /// Scan-level problems (links leaving the tree, unreadable folders),
    /// as the last walk of the whole tree found them.
    pub(super) scan: Vec<Diagnostic>,
    /// The walk problems logged already: those of the last whole walk, and
    /// those folder walks found since.
    pub(super) walk_logged: HashSet<Diagnostic>,
    pub(super) config: Option<String>,
    pub(super) content_dir: Option<String>,
}

/// All mutable state, owned by the publisher thread.
pub struct Publisher {
    pub(super) config: Config,
    pub(super) config_path: PathBuf,
    pub(super) root: PathBuf,
    pub(super) catalog: Catalog,
    pub(super) stamps: FxHashMap<Arc<str>, Stamp>,
    /// When the last full load began: a file it indexed without a stamp
    /// (see `unchecked`) and modified since then has changed since it was read.
    pub(super) loaded_at: SystemTime,
    /// Whether a periodic survey thread is running.
    pub(super) surveying: bool,
    /// A folder was walked for an event: files written into it before its
    /// watch was in place are looked for by a reconcile soon after.
    pub(super) folder_walked: bool,
    pub(super) resources: HashMap<String, Arc<Resource>>,
    /// The ETag and Last-Modified of pages rendered on request and let go
    /// ([`Publisher::let_go_page`]), until they are rendered again.
    pub(super) let_go: HashMap<String, Validators>,
    pub(super) shared: Arc<ArcSwap<Snapshot>>,
    pub(super) mode: Mode,
    /// The `now` the current snapshot was rendered with.
    pub(super) rendered_at: DateTime<FixedOffset>,
    pub(super) last_regeneration: DateTime<FixedOffset>,
    pub(super) rebind_tx: tokio::sync::mpsc::UnboundedSender<std::net::SocketAddr>,
    pub(super) event_tx: Option<mpsc::Sender<Msg>>,
    /// Paths rendered but not yet compressed (see `compress_pending`).
    pub(super) uncompressed: Vec<String>,
    /// Whether the server is up: until then compression waits, so the
    /// first load is served as soon as it is rendered.
    pub(super) serving: bool,
    /// Jobs for the compressor thread (started by [`Publisher::run`]).
    pub(super) compress_tx: Option<mpsc::Sender<Vec<Pending>>>,
    /// The config file's (mtime, size) before the first load, to notice an
    /// edit made before the watchers started.
    pub(super) config_stamp: Option<Stamp>,
    pub(super) clock: Clock,
    /// What is wrong: per file, in the tree, in the config.
    pub(super) problems: Problems,
    /// The quick first index and its background check.
    pub(super) check: CheckState,
    /// Pages rendered on request that are held.
    pub(super) on_demand: OnDemandPages,
    /// The index kept between runs (`content.index_file`).
    pub(super) saved: super::saved_index::SavedState,
    /// The folders under `content.dir` (relative), each watched on its own.
    pub(super) folders: std::collections::BTreeSet<String>,
    /// WebSub: told of every feed that changed or went away.
    pub(super) hub: Option<crate::websub::Hub>,
    /// Feeds removed since the last announcement (a category deleted).
    pub(super) gone_feeds: Vec<String>,
    pub(super) _watchers: Option<watch::Watchers>,
    /// Watchers being started on a thread of their own while the first
    /// load finishes (see [`Publisher::start_watchers_early`]).
    pub(super) early_watchers: Option<std::thread::JoinHandle<watch::Watchers>>,
}

impl Publisher {
    /// Loads everything and publishes the first snapshot.
    ///
    /// The watchers start once every file has been read (so reading
    /// 100,000 files does not queue 100,000 open events) and are in place
    /// before the first answer; a reconcile scan once serving applies any
    /// change made while the tree was being read.
    /// `config` holds the file's values even when `--listen` bound another
    /// address: a reload moves the socket only if `server.listen` changed.
    pub fn new(
        config: Config,
        config_path: PathBuf,
        shared: Arc<ArcSwap<Snapshot>>,
        rebind_tx: tokio::sync::mpsc::UnboundedSender<std::net::SocketAddr>,
        event_tx: mpsc::Sender<Msg>,
        clock: Clock,
        hub: Option<crate::websub::Hub>,
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
            stamps: FxHashMap::default(),
            loaded_at: SystemTime::now(),
            surveying: false,
            folder_walked: false,
            resources: HashMap::new(),
            let_go: HashMap::new(),
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
            problems: Problems::default(),
            check: CheckState::default(),
            on_demand: OnDemandPages::default(),
            saved: Default::default(),
            folders: Default::default(),
            hub,
            gone_feeds: Vec::new(),
            _watchers: None,
            early_watchers: None,
        };
        p.config_stamp = Stamp::at(&p.config_path);
        p.full_load();
        p
    }

    /// Once serving: applies a config edit made before the watchers
    /// started, or compares the tree with what the first load read, on a
    /// background thread, so a change made while it read is applied too
    /// and the events of edits made meanwhile are applied at once.
    pub(super) fn catch_up(&mut self) {
        if self._watchers.is_none() {
            self.watch();
        }
        self.deny_unserved_topics();
        if Stamp::at(&self.config_path) != self.config_stamp {
            self.reload_config();
        } else {
            self.reconcile_in_background();
        }
    }

    /// Re-reads the whole content directory and re-renders everything. On
    /// failure (the directory is gone) the last good catalog stays.
    ///
    /// Files with simple front matter are indexed by a quick read
    /// (`article::quick_meta`); the feeds are served as soon as the
    /// articles they show are read in full, and a background check then
    /// reads every quickly indexed file in full (`start_check`).
    pub(super) fn full_load(&mut self) {
        let started = Instant::now();
        self.loaded_at = SystemTime::now();
        self.check.all_checked = false;
        self.check.duplicates_said = false;
        self.check.load_warnings = LoadWarnings::default();
        // A check of the previous load is moot now.
        self.check.load_gen.fetch_add(1, Ordering::SeqCst);
        self.root = self
            .config
            .content
            .dir
            .canonicalize()
            .unwrap_or_else(|_| self.config.content.dir.clone());
        // The first start with a saved index serves from it; the tree is
        // compared with it once serving (`catch_up`).
        let first = !self.serving && self.catalog.is_empty();
        let saved = if first { self.load_saved_index() } else { None };
        let from_saved = saved.is_some();
        let Some((files, read)) = saved.or_else(|| self.load_tree()) else {
            return;
        };
        // What no feed needs (terms, article pages) is built once serving
        // (`run`) after the first load, at once after a reload.
        if self.serving {
            self.catalog.complete_deferred();
        }
        let indexed = started.elapsed();
        let now = self.clock.now();
        let mut pages = render::all_pages(&self.config, &self.catalog);
        // Feeds with subscribers stay live across the reload, as they do
        // across edits; every other page rendered on request is let go.
        let watched: Vec<PageId> = self
            .resources
            .keys()
            .filter(|path| self.hub.as_ref().is_some_and(|h| h.is_watched(path)))
            .filter_map(|path| PageId::on_demand(&self.config, path))
            .filter(|p| render::exists(&self.catalog, p, now))
            .collect();
        pages.extend(watched);
        let keep: HashSet<String> = pages.iter().map(PageId::path).collect();
        let dropped: Vec<String> = self
            .resources
            .keys()
            .filter(|k| !keep.contains(*k))
            .cloned()
            .collect();
        for path in dropped {
            self.resources.remove(&path);
            self.gone_feeds.push(path);
        }
        self.on_demand.clear();
        let changed = self.render_pages(&pages, now);
        // Watchers started beside the load are in place before the first
        // answer.
        self.install_early_watchers();
        tracing::info!(
            from = if from_saved { "saved index" } else { "tree" },
            files,
            to_check = self.check.unchecked.len(),
            read_ms = read.as_millis() as u64,
            index_ms = (indexed - read).as_millis() as u64,
            render_ms = (started.elapsed() - indexed).as_millis() as u64,
            "content loaded"
        );
        self.finish_regeneration(started, now, true);
        // The first load has no earlier version to announce a change from.
        if self.serving {
            self.announce(changed);
        } else {
            self.gone_feeds.clear();
        }
        // The first load's check starts with serving (`run`).
        if self.serving {
            self.start_check();
        }
    }

    /// Reads the whole tree into the catalog, the stamps and the problems
    /// (see [`Publisher::full_load`]): the number of files and the time it
    /// took; `None` when `content.dir` cannot be read (the last good
    /// catalog stays).
    fn load_tree(&mut self) -> Option<(usize, Duration)> {
        let started = Instant::now();
        // The catalog is built as the files arrive; the daemon's own maps
        // share its path strings.
        let mut builder = CatalogBuilder::for_site(&self.config.site);
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
                Ok(reading) => {
                    if !reading.warnings().is_empty() {
                        // (Said once: a later read that finds the same
                        // warnings does not repeat them.)
                        warnings.log(reading.warnings());
                        problems.insert(rel, reading.warnings().to_vec());
                    }
                    let quick = matches!(
                        &reading,
                        Reading::Indexed(i) if i.phase == Phase::Quick
                    );
                    let stamp = reading.stamp();
                    let key = builder.push(reading);
                    if quick {
                        unchecked.insert(Arc::clone(&key));
                    }
                    if let Some(s) = stamp {
                        stamps.insert(key, s);
                    }
                }
                Err(d) => {
                    log_problem(&d);
                    // Keep the last good version of a file that broke.
                    if let Some(old) = old_catalog.get(&rel) {
                        builder.push(old.clone());
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
                self.problems.content_dir = Some(msg);
                self.publish_health();
                return None;
            }
        };
        self.problems.content_dir = None;
        self.check.load_warnings = warnings;
        let read = started.elapsed();
        self.catalog = builder.finish_deferring(listing.categories.iter().cloned());
        self.problems.by_path = problems;
        // (Watchers in place already, at a reload, watch new folders now.)
        let _ = self.watch_folders(&listing.folders, false);
        self.folders = listing.folders.into_iter().collect();
        // At the first load every file has been read: the watchers start
        // now, beside the index and the rendering, and are in place before
        // the first answer.
        self.start_watchers_early();
        self.set_scan_problems(listing.problems);
        self.stamps = stamps;
        self.check.unchecked = unchecked;
        self.saved.dirty = true;
        Some((files, read))
    }

    /// Renders `pages` at `now`: first the bodies the feeds need are read,
    /// then every page is rendered once (rendering never reads a file),
    /// then bodies no feed shows any more are dropped.
    /// Returns the paths whose bytes changed.
    pub(super) fn render_pages(
        &mut self,
        pages: &[PageId],
        now: DateTime<FixedOffset>,
    ) -> Vec<String> {
        self.read_bodies(pages, now);
        self.note_if_all_checked();
        let changed = self.render_pages_inner(pages, now);
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
        changed
    }

    /// Reads in full every article a feed window shows at `now`, or one of
    /// `pages` rendered on request shows, that the catalog holds without a
    /// body. A quickly indexed file that fails its full
    /// read leaves the catalog, and the next article takes its place; a
    /// full read can also move an article out of a window, letting in one
    /// without a body. So it reads again until every article in a window
    /// has its body or cannot be read now. That ends: each round gives a
    /// body to, removes, or marks unavailable at least one article, and a
    /// body once read stays until `render_pages` slims it.
    fn read_bodies(&mut self, pages: &[PageId], now: DateTime<FixedOffset>) {
        let mut unavailable = HashSet::new();
        loop {
            let mut dropped = false;
            let hydrated = build::hydrate(&self.config, &mut self.catalog, now, pages);
            // A body read in full is a full check of the file: a good
            // version to keep if a later save breaks it, and one reconcile
            // can compare against (a quick first read leaves no stamp).
            for file in hydrated.read {
                let key = match self.check.unchecked.take(file.rel.as_str()) {
                    Some(k) => k,
                    None => Arc::from(file.rel.as_str()),
                };
                if let Some(s) = file.stamp {
                    self.stamps.insert(key, s);
                }
                // An article read again to re-enter a feed says what its
                // last read said: that is not logged a second time.
                if self.problems.by_path.get(&file.rel) != Some(&file.warnings) {
                    self.record_warnings(&file.rel, file.warnings);
                }
            }
            for (rel, d) in hydrated.failed {
                // (A file that is gone is left to its deletion event, or
                // to the survey after a start from the saved index.)
                let exists = std::fs::symlink_metadata(self.config.content.dir.join(&rel)).is_ok();
                // A file that is there but cannot be read in full now (it
                // broke since its entry was read: while herald was stopped,
                // or after its last good version left every feed) leaves
                // the feeds rather than leave a hole in one; its next good
                // save brings it back.
                if exists && d.is_error() {
                    self.check.unchecked.remove(rel.as_str());
                    if self.problems.by_path.get(&rel).map(Vec::as_slice)
                        != Some(std::slice::from_ref(&d))
                    {
                        log_problem(&d);
                    }
                    self.catalog.remove(&rel);
                    self.stamps.remove(rel.as_str());
                    self.problems.by_path.insert(rel, vec![d]);
                    dropped = true;
                } else if unavailable.insert(rel) && exists {
                    tracing::warn!(path = %d.path.display(), problem = %d, "article body unavailable; will retry");
                }
            }
            let complete = build::needed_bodies(&self.config, &self.catalog, now, pages)
                .iter()
                .all(|r| self.catalog.has_body(r) || unavailable.contains(&**r));
            if complete && !dropped {
                return;
            }
        }
    }

    /// Returns the paths whose bytes changed.
    pub(super) fn render_pages_inner(
        &mut self,
        pages: &[PageId],
        now: DateTime<FixedOffset>,
    ) -> Vec<String> {
        let wall = SystemTime::now();
        let (config, catalog, resources) = (&self.config, &self.catalog, &self.resources);
        let let_go = &self.let_go;
        let one = |p: &PageId| {
            let path = p.path();
            let rendered = render::render(config, catalog, p, now);
            let res =
                Resource::prepare_identity(rendered, resources.get(&path), let_go.get(&path), wall);
            (path, res)
        };
        // Every page on every core, an edit's handful too: rayon's pool is
        // persistent, so no thread starts per edit.
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
            self.let_go.remove(&path);
            self.resources.insert(path, res);
        }
        self.write_output(&changed);
        self.uncompressed.extend(changed.iter().cloned());
        changed
    }

    pub(super) fn finish_regeneration(
        &mut self,
        started: Instant,
        now: DateTime<FixedOffset>,
        full: bool,
    ) {
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

    /// Reloads the config file. A config that fails keeps the old one in
    /// force and shows the error in `/healthz`.
    pub fn reload_config(&mut self) {
        crate::systemd::reloading();
        self.reload_config_inner();
        crate::systemd::ready();
    }

    fn reload_config_inner(&mut self) {
        // Load by the path as given, so error paths read the same before and after.
        let new = match Config::load(&self.config.path.clone()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "config reload failed; keeping the old config");
                self.problems.config = Some(e.to_string());
                self.publish_health();
                return;
            }
        };
        self.problems.config = None;
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
        if let Some(hub) = &self.hub {
            hub.configure(&new);
        }
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
}
