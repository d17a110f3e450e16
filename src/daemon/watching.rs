//! How the publisher notices changes: its watchers (started before the
//! first answer, beside the first load), the folders they watch one by
//! one, and how often the tree is scanned besides.

use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::publisher::Publisher;
use super::reconcile::RECONCILE_EVERY;
use super::Msg;
use crate::config::Config;
use crate::content::watch::{self, Mode};

impl Publisher {
    /// Starts watching, once the first load is done and before the first
    /// request is answered: from the first answer on, every edit has its
    /// event. (Watching during the read would queue an open event for
    /// every file read, more than the kernel's queue holds at 100,000.)
    /// Watchers started beside the first load are kept.
    pub fn watch(&mut self) {
        if self._watchers.is_none() {
            self.restart_watchers();
        }
        if self.mode == Mode::Degraded {
            tracing::warn!(
                "watcher degraded: polling content every {:?}",
                self.config.content.poll_interval
            );
        }
    }

    /// Starts the watchers afresh, on the tree's folders and the config
    /// file's folder (after a reload that moved `content.dir` or changed
    /// `content.watch`, too), dropping any running ones.
    pub(super) fn restart_watchers(&mut self) {
        self.root = self
            .config
            .content
            .dir
            .canonicalize()
            .unwrap_or_else(|_| self.config.content.dir.clone());
        if let Some(tx) = self.event_tx.clone() {
            self._watchers = None;
            let folders: Vec<String> = self.folders.iter().cloned().collect();
            let w = start_watchers(&self.config, &self.config_path, &folders, tx);
            self.mode = w.mode;
            self._watchers = Some(w);
            self.publish_health();
        }
    }

    /// Starts watching the tree's folders (`Publisher::folders`) on a
    /// thread of its own, when nothing watches yet, while the first load
    /// goes on; the watchers are put in place by
    /// [`Publisher::install_early_watchers`] (and the rest of the load need
    /// not wait for the kernel to set up a watch per folder).
    pub(super) fn start_watchers_early(&mut self) {
        if self._watchers.is_some() || self.early_watchers.is_some() {
            return;
        }
        if let Some(tx) = self.event_tx.clone() {
            let folders: Vec<String> = self.folders.iter().cloned().collect();
            let (config, config_path) = (self.config.clone(), self.config_path.clone());
            self.early_watchers = std::thread::Builder::new()
                .name("herald-watch-start".into())
                .spawn(move || start_watchers(&config, &config_path, &folders, tx))
                .ok();
        }
    }

    /// Stops watchers started early (a load that will read every file
    /// again would otherwise queue an event for each).
    pub(super) fn drop_early_watchers(&mut self) {
        if let Some(w) = self.early_watchers.take() {
            drop(w.join());
        }
    }

    /// Puts in place the watchers started by
    /// [`Publisher::start_watchers_early`] (`Publisher::watch` says if they
    /// are degraded).
    pub(super) fn install_early_watchers(&mut self) {
        let Some(w) = self.early_watchers.take() else {
            return;
        };
        match w.join() {
            Ok(w) => {
                self.mode = w.mode;
                self._watchers = Some(w);
            }
            // `Publisher::watch` starts them again.
            Err(_) => tracing::error!("starting the watchers failed (a bug in herald)"),
        }
    }

    /// Notes `folders` (relative) as folders of the tree, and watches
    /// them: all of them with `again`, else those not known yet. Whether
    /// any was watched.
    pub(super) fn watch_folders(&mut self, folders: &[String], again: bool) -> bool {
        let new: Vec<&str> = folders
            .iter()
            .filter(|f| again || !self.folders.contains(*f))
            .map(String::as_str)
            .collect();
        if new.is_empty() {
            return false;
        }
        if let Some(w) = self._watchers.as_mut() {
            w.watch_folders(&self.root, new.iter().copied());
            if w.mode != self.mode {
                self.mode = w.mode;
                self.publish_health();
            }
        }
        self.folders.extend(new.into_iter().map(str::to_string));
        true
    }

    /// When polling or reconciling is next due.
    pub(super) fn scan_interval(&self) -> Duration {
        // While content.dir is missing, look for its return often.
        if self.problems.content_dir.is_some() {
            return self.config.content.poll_interval;
        }
        match self.mode {
            Mode::Events => RECONCILE_EVERY.max(self.config.content.poll_interval),
            Mode::Polling | Mode::Degraded => self.config.content.poll_interval,
        }
    }
}

/// Watchers sending their events to the publisher's queue, but for the
/// open and read events of herald's own reads.
pub(super) fn start_watchers(
    config: &Config,
    config_path: &Path,
    folders: &[String],
    tx: mpsc::Sender<Msg>,
) -> watch::Watchers {
    let tx = std::sync::Mutex::new(tx);
    let tx = Arc::new(tx);
    watch::start(config, config_path, folders, move |e| {
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
