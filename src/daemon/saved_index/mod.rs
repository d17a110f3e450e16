//! The index kept between runs (`content.index_file`), so that a restart
//! serves from it at once and then compares the tree with it in the
//! background (`reconcile`), re-reading only what changed while herald
//! was stopped: when the publisher loads it, and when it writes it.
//!
//! - [`file`]: the file itself (layout, writing, reading on all cores).

mod file;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use self::file::{fingerprint, open, save, ToSaveAll, Unusable};
use super::publisher::Publisher;
use crate::catalog::CatalogBuilder;
use crate::diagnostics::Diagnostic;

/// How often, at most, a changed index is written while running (it is
/// written at every stop too).
const SAVE_EVERY: Duration = Duration::from_secs(300);

/// The saved index as the publisher keeps track of it.
#[derive(Debug, Default)]
pub struct SavedState {
    /// Something changed since the index was last written (or read).
    pub(super) dirty: bool,
    /// When the last write began.
    last: Option<std::time::Instant>,
    /// The write running on its own thread: whether it succeeded.
    writing: Option<std::thread::JoinHandle<bool>>,
}

impl Publisher {
    /// Loads the catalog from `content.index_file`, when there is one that
    /// matches this config, starting the watchers meanwhile: the number of
    /// articles and the time it took. Every entry comes with the stamp
    /// and warnings of its last full read, so nothing waits for a check;
    /// the tree is compared with it once serving.
    pub(super) fn load_saved_index(&mut self) -> Option<(usize, Duration)> {
        let path = self.config.content.index_file.clone()?;
        let started = std::time::Instant::now();
        let opened = match open(&path, fingerprint(&self.config, &self.root)) {
            Ok(o) => o,
            Err(Unusable::Missing) => {
                tracing::info!(index = %path.display(), "no saved index yet; reading every file");
                return None;
            }
            Err(e) => {
                tracing::info!(index = %path.display(), reason = %e, "not using the saved index; reading every file");
                return None;
            }
        };
        // The watchers start on a thread of their own meanwhile.
        self.folders = opened.folders.iter().cloned().collect();
        self.start_watchers_early();
        let n = opened.articles as usize;
        let mut builder = CatalogBuilder::for_site_with_capacity(&self.config.site, n);
        let mut stamps = rustc_hash::FxHashMap::with_capacity_and_hasher(n, Default::default());
        let mut problems = std::collections::BTreeMap::new();
        let site = self.config.site.clone();
        // A path twice (two writers' blocks mixed) would be indexed twice.
        let mut unstamped = rustc_hash::FxHashSet::default();
        let mut repeated = None;
        let read = opened.read(&self.config.content.dir, &site, |file| {
            let rel = Arc::clone(&file.entry.rel);
            let first = match file.stamp {
                Some(_) => !stamps.contains_key(&rel) && !unstamped.contains(&rel),
                None => !stamps.contains_key(&rel) && unstamped.insert(Arc::clone(&rel)),
            };
            if !first {
                repeated.get_or_insert_with(|| rel.to_string());
                return;
            }
            if !file.warnings.is_empty() {
                problems.insert(rel.to_string(), file.warnings);
            }
            let key = builder.push_prepared(file.entry, file.prepared);
            if let Some(s) = file.stamp {
                stamps.insert(key, s);
            }
        });
        let read = match (read, repeated) {
            (Ok(_), Some(rel)) => Err(Unusable::Damaged(format!("it holds {rel} twice"))),
            (read, _) => read,
        };
        let categories = match read {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(index = %path.display(), reason = %e, "not using the saved index; reading every file");
                // The tree's load reads every file: watching it meanwhile
                // would queue an event for each.
                self.drop_early_watchers();
                return None;
            }
        };
        let read_time = started.elapsed();
        self.catalog = builder.finish_deferring(categories);
        self.stamps = stamps;
        self.problems.by_path = problems;
        self.check.unchecked = Default::default();
        self.saved.last = Some(std::time::Instant::now());
        self.saved.dirty = false;
        tracing::info!(index = %path.display(), articles = self.catalog.len(), "serving from the saved index; comparing the tree with it");
        Some((self.catalog.len(), read_time))
    }

    /// Writes the index on a thread of its own when it changed and was
    /// last written [`SAVE_EVERY`] ago or more; `now`: whatever the time.
    pub(super) fn save_index_if_due(&mut self, now: bool) {
        let Some(path) = self.config.content.index_file.clone() else {
            return;
        };
        self.reap_index_write(false);
        // Until every file is checked, most entries hold no stamp yet.
        if !self.saved.dirty || !self.check.all_checked || self.saved.writing.is_some() {
            return;
        }
        if !now && self.saved.last.is_some_and(|t| t.elapsed() < SAVE_EVERY) {
            return;
        }
        let what = self.index_to_save();
        self.saved.last = Some(std::time::Instant::now());
        self.saved.writing = std::thread::Builder::new()
            .name("herald-index-save".into())
            .spawn(move || write_logged(&path, &what))
            .ok();
        // (A thread that could not start wrote nothing: the next turn tries again.)
        self.saved.dirty = self.saved.writing.is_none();
    }

    /// Takes back the write thread once it is done (`wait`: waiting for
    /// it); a write that failed leaves the index to be written again.
    fn reap_index_write(&mut self, wait: bool) {
        let Some(w) = self.saved.writing.take_if(|w| wait || w.is_finished()) else {
            return;
        };
        if !w.join().unwrap_or(false) {
            self.saved.dirty = true;
        }
    }

    /// At a stop: waits for a write under way, then writes the index if it
    /// changed since.
    pub(super) fn save_index_at_stop(&mut self) {
        self.reap_index_write(true);
        let Some(path) = self.config.content.index_file.clone() else {
            return;
        };
        if self.saved.dirty && self.check.all_checked {
            write_logged(&path, &self.index_to_save());
        }
    }

    /// What the index holds: every article's entry, with the stamp of its
    /// last read (none for a file whose last read failed: its entry is the
    /// last good version, and the next start reads the file again) and its
    /// warnings.
    fn index_to_save(&self) -> ToSaveAll {
        let racy = SystemTime::now()
            .checked_sub(Duration::from_secs(2))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let files = self
            .catalog
            .articles()
            .map(|held| {
                let rel = &held.entry().rel;
                let problems = self.problems.by_path.get(&**rel);
                let failed = problems.is_some_and(|ds| ds.iter().any(Diagnostic::is_error));
                // A file modified within a clock tick of the save could
                // change again without its stamp changing: it is read again.
                let stamp = if failed {
                    None
                } else {
                    self.stamps.get(rel).copied().filter(|s| s.mtime() < racy)
                };
                let warnings = match problems {
                    Some(ds) if !failed => ds.clone(),
                    _ => Vec::new(),
                };
                (held.clone(), stamp, warnings)
            })
            .collect();
        ToSaveAll {
            fingerprint: fingerprint(&self.config, &self.root),
            categories: self.catalog.categories().map(str::to_string).collect(),
            folders: self.folders.iter().cloned().collect(),
            files,
        }
    }
}

/// Writes the index, logging the outcome; whether it was written.
fn write_logged(path: &Path, what: &ToSaveAll) -> bool {
    let started = std::time::Instant::now();
    match save(path, what) {
        Ok(()) => {
            tracing::info!(index = %path.display(), articles = what.files.len(), ms = started.elapsed().as_millis() as u64, "index saved");
            true
        }
        Err(e) => {
            tracing::warn!(index = %path.display(), error = %e, "cannot save the index; the next start reads every file");
            false
        }
    }
}
