//! Reconcile scans: the tree compared with what was loaded (mtime, size),
//! the safety net for missed events and the whole watcher when polling.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::catalog::Change;
use crate::catalog::Held;
use crate::config::Config;
use crate::content::read::Stamp;
use crate::content::walk as scan;

/// How often the reconcile scan runs in event mode.
pub(super) const RECONCILE_EVERY: Duration = Duration::from_secs(60);

/// How soon after a folder appears a reconcile scan looks again: the
/// watcher adds the folder's watch only after reporting it, so a file
/// written in between, after the folder was listed, has no event.
pub(super) const NEW_FOLDER_RESCAN: Duration = Duration::from_secs(1);

/// The tree as [`Publisher::reconcile`] compares it: the listing, the
/// canonical root, and each listed file's (mtime, size).
#[derive(Debug)]
pub struct Survey {
    listing: std::io::Result<scan::Listing>,
    root: PathBuf,
    stamps: Vec<Option<Stamp>>,
}

impl Survey {
    pub(super) fn take(config: &Config) -> Survey {
        let listing = scan::scan(config);
        let stamps = match &listing {
            Ok(l) => l
                .files
                .iter()
                .map(|f| Stamp::at(&config.content.dir.join(f)))
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

impl Publisher {
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
    pub(super) fn reconcile_in_background(&mut self) {
        if self.surveying {
            return;
        }
        let Some(tx) = self.event_tx.clone() else {
            self.reconcile();
            return;
        };
        let config = self.config.clone();
        let gen = self.check.load_gen.load(Ordering::SeqCst);
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
    pub(super) fn reconcile_with(&mut self, survey: Survey) {
        let started = Instant::now();
        let listing = match survey.listing {
            Ok(l) => l,
            Err(e) => {
                if self.problems.content_dir.is_none() {
                    tracing::error!(dir = %self.config.content.dir.display(), error = %e, "content directory unreadable; keeping the last good feeds");
                    self.problems.content_dir = Some(format!(
                        "{}: error: cannot read content directory: {e}",
                        self.config.content.dir.display()
                    ));
                    self.publish_health();
                }
                return;
            }
        };
        if self.problems.content_dir.is_some() || survey.root != self.root {
            tracing::info!(dir = %self.config.content.dir.display(), "content directory is back (or was replaced); reloading");
            self.problems.content_dir = None;
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
        // (The listing is sorted: no set of a million paths is built.)
        let present = |k: &str| {
            listing
                .files
                .binary_search_by(|f| f.as_str().cmp(k))
                .is_ok()
        };
        // File times are coarse (a clock tick; seconds on some file
        // systems): a file written just before the load began may look
        // written during it, and is re-read.
        let since = self
            .loaded_at
            .checked_sub(Duration::from_secs(2))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // Quickly indexed files the background check has not read yet, whose
        // times fall within two seconds of the load's start or later: each
        // is re-read, whether or not it changed since.
        let mut racy = 0;
        for (f, s) in listing.files.iter().zip(&survey.stamps) {
            let known = self.stamps.get(f.as_str());
            // A quick first read leaves no stamp. Unless the file was
            // modified since the load began, the background check, which
            // reads it in full anyway, is left to stamp it.
            if known.is_none() && self.check.unchecked.contains(f.as_str()) {
                if s.is_some_and(|s| s.mtime() < since) {
                    continue;
                }
                racy += 1;
            }
            if s.is_none() || known != s.as_ref() {
                touched.push(f.clone());
            }
        }
        let gone: Vec<String> = self
            .stamps
            .keys()
            .map(|k| &**k)
            .chain(self.problems.by_path.keys().map(String::as_str))
            .filter(|k| !present(k))
            .map(str::to_string)
            .collect();
        touched.extend(gone);
        // Files that failed to read (permission denied, half-written) are
        // retried on every scan, whatever their mtime says.
        let failed: Vec<String> = self
            .problems
            .by_path
            .iter()
            .filter(|(k, ds)| present(k) && ds.iter().any(|d| d.is_error()))
            .map(|(k, _)| k.clone())
            .collect();
        touched.extend(failed);
        let missing: Vec<String> = self
            .catalog
            .articles()
            .map(Held::entry)
            .filter(|a| !present(&a.rel))
            .map(|a| a.rel.to_string())
            .collect();
        touched.extend(missing);
        touched.sort();
        touched.dedup();
        self.set_scan_problems(listing.problems);
        // Folders events missed (made while herald was stopped, or while a
        // watch could not yet be added) are watched from now on; files
        // written into them before that are looked for by a scan soon after.
        let new_folders = self.watch_folders(&listing.folders, false);
        self.folders
            .retain(|f| listing.folders.binary_search(f).is_ok());
        let mut change = Change::default();
        // Folders a scan walks had no event, so no watch race to cover:
        // they arm no new scan (which would walk them again, and so on).
        let walked = self.folder_walked;
        for rel in &touched {
            change.merge(self.apply_path(rel));
        }
        self.folder_walked = walked || new_folders;
        // Such a re-read is the background check's work done early, and is
        // logged at debug, also when it finds the file changed (an edit made
        // during the load): the check would have applied that silently too.
        let fixes = touched.len().saturating_sub(racy);
        if fixes > 0 {
            metrics::counter!("herald_reconcile_fixes_total").increment(fixes as u64);
            tracing::info!(paths = fixes, "reconcile scan found changes");
        }
        if racy > 0 {
            tracing::debug!(
                paths = racy,
                "reconcile scan re-read files written as the load began"
            );
        }
        self.regenerate(change, started);
    }
}
