//! The background check: after a quick first load, every file indexed
//! from its first bytes is read in full on threads of its own (at a lower
//! priority), and the results are applied in batches.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashSet;

use super::problems::log_problem;
use super::*;
use crate::article::{Depth, Reading};
use crate::catalog::Change;
use crate::diagnostics::Diagnostic;
use crate::load as build;

impl Publisher {
    /// Reads every quickly indexed file in full on a background thread,
    /// which sends the results back in batches ([`Msg::Checked`]).
    pub(super) fn start_check(&mut self) {
        if self.check.unchecked.is_empty() {
            // Every file was read in full already (a small site's all
            // show in some feed).
            self.note_if_all_checked();
            return;
        }
        let gen = self.check.load_gen.load(Ordering::SeqCst);
        // Shared paths: the copies and the sort are the thread's work.
        let keys: Vec<Arc<str>> = self.check.unchecked.iter().cloned().collect();
        let config = self.config.clone();
        let current = Arc::clone(&self.check.load_gen);
        let Some(tx) = self.event_tx.clone() else {
            self.check_now();
            return;
        };
        tracing::debug!(files = keys.len(), "checking quickly indexed files in full");
        // One batch waits while the next is read: the results never pile
        // up in the queue when the publisher is busy.
        let (ack_tx, ack_rx) = mpsc::sync_channel::<()>(1);
        self.check.check_ack = Some(ack_tx);
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
    pub(super) fn check_now(&mut self) {
        let rels: Vec<String> = self.check.unchecked.iter().map(|k| k.to_string()).collect();
        // `load_files` returns them in path order.
        let results = build::load_files(&self.config, &rels, Depth::Meta);
        self.apply_checked(results);
    }

    /// Says once per load, when it first holds, that no file is left
    /// indexed only quickly (by the background check, by reading the feeds'
    /// articles, or by events), and gives the set's table back.
    pub(super) fn note_if_all_checked(&mut self) {
        if self.check.unchecked.is_empty() && !self.check.all_checked {
            self.check.all_checked = true;
            // Its table, sized for the whole first load, is given back.
            self.check.unchecked = FxHashSet::default();
            tracing::info!("every file checked in full");
            self.save_index_if_due(true);
            let held = std::mem::take(&mut self.check.load_warnings).held;
            if held > 0 {
                tracing::warn!(
                    more = held,
                    "{held} more warnings at this load were not logged; `herald check` prints every one"
                );
            }
        }
        self.say_duplicates_once();
    }

    /// Applies full checks of quickly indexed files: a file that fails
    /// leaves the feeds, one whose index entry differs is re-indexed.
    /// Files re-read since (by an event) are skipped: that read was full.
    pub(super) fn apply_checked(&mut self, results: Vec<(String, Result<Reading, Diagnostic>)>) {
        // With the content directory gone, its failures say nothing about
        // the articles: the last good feeds stay, and its return reloads.
        if std::fs::metadata(&self.config.content.dir).is_err() {
            return;
        }
        let started = Instant::now();
        let mut change = Change::default();
        let mut problems_changed = false;
        for (rel, result) in results {
            let Some(key) = self.check.unchecked.take(rel.as_str()) else {
                continue;
            };
            self.saved.dirty = true;
            match result {
                Ok(reading) => {
                    if let Some(s) = reading.stamp() {
                        self.stamps.insert(key, s);
                    }
                    if !reading.warnings().is_empty() {
                        self.log_warnings(reading.warnings());
                        self.problems
                            .by_path
                            .insert(rel.clone(), reading.warnings().to_vec());
                        problems_changed = true;
                    }
                    let same = self
                        .catalog
                        .get(&rel)
                        .is_some_and(|old| old.entry() == reading.entry());
                    if !same {
                        change.merge(self.catalog.upsert_entry(reading.entry().clone()));
                    }
                }
                // Deleted since the quick read: its event drops it.
                Err(_)
                    if std::fs::symlink_metadata(self.config.content.dir.join(&rel)).is_err() => {}
                Err(d) => {
                    log_problem(&d);
                    change.merge(self.catalog.remove(&rel));
                    self.problems.by_path.insert(rel, vec![d]);
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
}
