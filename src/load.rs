//! Whole-tree loads, shared by the daemon's first load, `herald build`
//! and `herald check`: every article of `content.dir` read in parallel
//! into a [`Catalog`], every problem collected, and the bodies of the
//! articles the feeds show read in full ([`hydrate`]).

use std::path::PathBuf;
use std::sync::Arc;

use rustc_hash::FxHashSet;

use chrono::{DateTime, FixedOffset};

use crate::article::{self, Depth, Reading};
use crate::catalog::Catalog;
use crate::catalog::Held;
use crate::config::Config;
use crate::content::walk as scan;
use crate::diagnostics::{Diagnostic, Severity};
use crate::render::{self, PageId};

/// Errors of whole-tree loads.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `content.dir` cannot be read.
    #[error("{}: error: cannot read content directory: {source}", path.display())]
    ContentDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The content directory read into a catalog, with every problem found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The articles.
    pub catalog: Catalog,
    /// Errors and warnings, sorted by path.
    pub diagnostics: Vec<Diagnostic>,
    /// Per file: the errors that kept it out, and its warnings.
    pub per_file: Vec<(String, Vec<Diagnostic>)>,
}

/// Walks `content.dir` and reads every article found, on all cores, to
/// `depth`: each directory's files are read while the walk goes on, and
/// each result is handed to `each` on the calling thread as it arrives
/// (in no particular order; a large tree is never held twice in memory).
/// Returns the walk's listing: categories and problems (its `files` are
/// empty; each went to `each`).
///
/// Fails, without calling `each`, when `content.dir` is not a readable
/// directory.
pub fn load_tree<F>(config: &Config, depth: Depth, mut each: F) -> std::io::Result<scan::Listing>
where
    F: FnMut(String, Result<Reading, Diagnostic>),
{
    const BATCH: usize = 64;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 16);
    let dir = &config.content.dir;
    // Work flows walk → readers in batches of paths; results flow back in
    // batches, through a bounded queue.
    let (work_tx, work_rx) = std::sync::mpsc::channel::<Vec<String>>();
    let work_rx = std::sync::Mutex::new(work_rx);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(String, Result<Reading, Diagnostic>)>>(64);
    std::thread::scope(|s| {
        let walker = s.spawn(move || {
            scan::scan_with(config, &mut |files| {
                let mut files = files.into_iter();
                loop {
                    let batch: Vec<String> = files.by_ref().take(BATCH).collect();
                    if batch.is_empty() {
                        break;
                    }
                    // The readers only stop early when the caller is gone.
                    let _ = work_tx.send(batch);
                }
            })
        });
        for _ in 0..threads {
            let tx = tx.clone();
            let work_rx = &work_rx;
            s.spawn(move || {
                // The folder of the last file read, kept open: its files are
                // opened by name (each batch lies in one folder).
                let mut folder: Option<(String, Option<std::os::fd::OwnedFd>)> = None;
                loop {
                    // Ends when the walk is done and its work taken.
                    let batch = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok(batch) = batch else { break };
                    let results = batch
                        .into_iter()
                        .map(|rel| {
                            let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
                            if folder.as_ref().is_none_or(|(p, _)| p != parent) {
                                let fd = rustix::fs::open(
                                    dir.join(parent),
                                    rustix::fs::OFlags::RDONLY
                                        | rustix::fs::OFlags::DIRECTORY
                                        | rustix::fs::OFlags::CLOEXEC,
                                    rustix::fs::Mode::empty(),
                                )
                                .ok();
                                folder = Some((parent.to_string(), fd));
                            }
                            let fd = folder.as_ref().and_then(|(_, fd)| fd.as_ref());
                            let r = article::load_in(
                                fd.map(std::os::fd::AsFd::as_fd),
                                dir,
                                &rel,
                                config,
                                depth,
                            );
                            (rel, r)
                        })
                        .collect();
                    if tx.send(results).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for batch in rx {
            for (rel, r) in batch {
                each(rel, r);
            }
        }
        walker
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the directory walk failed")))
    })
}

/// Maps `f` over `items` on all cores (rayon's pool, whose threads
/// persist: no thread is started per call), keeping the order of `items`.
/// An item whose `f` panics (a bug) is logged and left out rather than
/// taking the caller down.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    items
        .par_iter()
        .filter_map(|item| {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
            if result.is_err() {
                // The panic message went to stderr through the panic hook.
                tracing::error!("a worker item panicked (a bug in herald); its result is left out");
            }
            result.ok()
        })
        .collect()
}

/// Reads and parses the files at `rels` on all cores (the persistent
/// pool of [`par_map`]: no thread is started per call), in path order.
/// For a batch whose results fit in memory at once; a whole tree streams
/// through [`load_tree`].
pub fn load_files(
    config: &Config,
    rels: &[String],
    depth: Depth,
) -> Vec<(String, Result<Reading, Diagnostic>)> {
    let dir = &config.content.dir;
    let mut out = par_map(rels, |rel| {
        (rel.clone(), article::load_at(dir, rel, config, depth))
    });
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Reads the whole content directory: every file's metadata, and the full
/// body of the articles the feeds show now.
///
/// Fails when `content.dir` cannot be read; problems with single files
/// are diagnostics, not errors.
pub fn load_content(config: &Config) -> Result<Loaded, LoadError> {
    let mut loaded = load_content_meta(config)?;
    hydrate(
        config,
        &mut loaded.catalog,
        chrono::Utc::now().fixed_offset(),
        &[],
    );
    Ok(loaded)
}

/// Reads the content directory without rendering any body: enough to
/// index and check it. Bodies are filled in by [`hydrate`].
///
/// Fails when `content.dir` cannot be read.
pub fn load_content_meta(config: &Config) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    let mut articles = Vec::new();
    let listing = load_tree(config, Depth::Meta, |rel, result| match result {
        Ok(reading) => {
            let warnings = reading.warnings();
            loaded.diagnostics.extend(warnings.iter().cloned());
            if !warnings.is_empty() {
                loaded.per_file.push((rel, warnings.to_vec()));
            }
            articles.push(Held::from(reading));
        }
        Err(d) => {
            loaded.per_file.push((rel, vec![d.clone()]));
            loaded.diagnostics.push(d);
        }
    })
    .map_err(|source| LoadError::ContentDir {
        path: config.content.dir.clone(),
        source,
    })?;
    loaded.diagnostics.extend(listing.problems);
    loaded.catalog = Catalog::from_articles(listing.categories, articles).with_pages(&config.site);
    loaded.per_file.sort_by(|a, b| a.0.cmp(&b.0));
    loaded
        .diagnostics
        .extend(duplicate_warnings(config, &loaded.catalog));
    loaded
        .diagnostics
        .sort_by(|a, b| (&a.path, a.position, a.severity).cmp(&(&b.path, b.position, b.severity)));
    Ok(loaded)
}

/// One warning per article whose id repeats an earlier path's, and one
/// for each of two articles that share a page path.
pub fn duplicate_warnings(config: &Config, catalog: &Catalog) -> Vec<Diagnostic> {
    duplicate_diagnostics(
        config,
        catalog,
        catalog.duplicate_ids(),
        catalog.duplicate_pages(),
    )
}

/// The warnings of [`duplicate_warnings`] that involve the article at
/// `rel` (one file changed: the others' are as they were).
pub fn duplicate_warnings_of(config: &Config, catalog: &Catalog, rel: &str) -> Vec<Diagnostic> {
    duplicate_diagnostics(
        config,
        catalog,
        catalog.duplicate_ids_of(rel),
        catalog.duplicate_pages_of(rel),
    )
}

/// Warnings for duplicate ids and pages, each (path, id or page, the
/// path that keeps it).
fn duplicate_diagnostics(
    config: &Config,
    catalog: &Catalog,
    ids: Vec<(String, String, String)>,
    pages: Vec<(String, String, String)>,
) -> Vec<Diagnostic> {
    // What feeds, index pages and routes claim: worked out once, and only
    // when two articles share a page (an edit's check usually has none).
    let claimed = (!pages.is_empty()).then(|| render::claimed_paths(config, catalog));
    ids.into_iter()
        .map(|(rel, id, first)| {
            let derived = catalog
                .get(&rel)
                .map(|a| catalog.effective_id(a.entry()))
                .unwrap_or_default();
            Diagnostic {
                path: config.content.dir.join(&rel),
                position: None,
                severity: Severity::Warning,
                message: format!(
                    "duplicate id {id:?} (also used by {first}); published as {derived:?}"
                ),
            }
        })
        .chain(pages.into_iter().flat_map(|(rel, page, owner)| {
            let warn = |at: &str, message: String| {
                Diagnostic::warning(&config.content.dir.join(at), None, message)
            };
            // Where a feed, index page or route is, neither article's page is.
            let shadowed = claimed.as_ref().is_some_and(|claimed| {
                render::shadowed(config, claimed, &PageId::ArticlePage(page.clone()))
            });
            let (mine, theirs) = if shadowed {
                (
                    "herald's own page is served there",
                    "herald's own page is served there",
                )
            } else {
                ("this file's page is served", "that file's page is served")
            };
            [
                warn(
                    &owner,
                    format!("its page {page} is also the permalink of {rel}; {mine}"),
                ),
                warn(
                    &rel,
                    format!("its page {page} is also the permalink of {owner}; {theirs}"),
                ),
            ]
        }))
        .collect()
}

/// The articles whose bodies rendering `pages` at `now` needs: every
/// feed window (see [`window_size`]), and the items of pages rendered on
/// request among `pages`.
pub fn needed_bodies(
    config: &Config,
    catalog: &Catalog,
    now: DateTime<FixedOffset>,
    pages: &[PageId],
) -> FxHashSet<Arc<str>> {
    let mut needed = catalog.windows(now, window_size(config));
    for page in pages.iter().filter(|p| p.is_on_demand()) {
        needed.extend(
            render::item_paths(config, catalog, page, now)
                .into_iter()
                .map(Arc::from),
        );
    }
    needed
}

/// What [`hydrate`] read.
#[derive(Debug, Default)]
pub struct Hydrated {
    /// The paths that could not be read now (changed or broken since the
    /// first read); they stay in the catalog without a body.
    pub failed: Vec<(String, Diagnostic)>,
    /// Each file read in full, with its (modification time, size) and
    /// its warnings: a full check of it.
    pub read: Vec<HydratedFile>,
}

/// A file [`hydrate`] read in full.
#[derive(Debug)]
pub struct HydratedFile {
    /// Path relative to `content.dir`.
    pub rel: String,
    /// (modification time, size) as read.
    pub stamp: Option<crate::content::read::Stamp>,
    /// What the full read found to warn about.
    pub warnings: Vec<Diagnostic>,
}

/// Renders the bodies of every article a feed shows at `now` that the
/// catalog holds without one, re-reading those files.
pub fn hydrate(
    config: &Config,
    catalog: &mut Catalog,
    now: DateTime<FixedOffset>,
    pages: &[PageId],
) -> Hydrated {
    let mut missing: Vec<String> = needed_bodies(config, catalog, now, pages)
        .into_iter()
        .filter(|r| !catalog.has_body(r))
        .map(|r| r.to_string())
        .collect();
    missing.sort();
    let mut done = Hydrated::default();
    for (rel, result) in load_files(config, &missing, Depth::Full) {
        match result {
            Ok(Reading::Full(parsed)) => {
                done.read.push(HydratedFile {
                    rel,
                    stamp: parsed.stamp,
                    warnings: parsed.warnings,
                });
                catalog.fill_body(parsed.article);
            }
            // A full load gives full articles only.
            Ok(Reading::Indexed(_)) => {}
            Err(d) => done.failed.push((rel, d)),
        }
    }
    done
}

/// How many of the newest articles per category (and site-wide) must hold
/// their body: the feed length, or the 20 headlines of a category page.
pub fn window_size(config: &Config) -> usize {
    config.feeds.limit.max(20)
}
