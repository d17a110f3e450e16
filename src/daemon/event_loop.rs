//! The publisher's event loop: messages from the watchers, the check,
//! the compressor and the survey thread; debouncing; scans when due; and
//! embargoed articles published when their time comes.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::reconcile::NEW_FOLDER_RESCAN;
use super::{Msg, Publisher};
use crate::content::watch;

/// What arrived during the current debounce window, applied together when
/// it closes.
#[derive(Debug, Default)]
struct Batch {
    /// Touched paths, relative to `content.dir`, in arrival order.
    paths: Vec<String>,
    /// The watcher lost events (or the root changed): scan everything.
    rescan: bool,
    /// The config file changed, or SIGHUP.
    reload: bool,
    /// When the window closes; `None` while nothing is waiting.
    closes: Option<Instant>,
}

impl Batch {
    /// Opens the window, unless open already: a burst of events is applied
    /// once, `debounce` after its first event.
    fn open(&mut self, debounce: Duration) {
        self.closes.get_or_insert_with(|| Instant::now() + debounce);
    }
}

/// When the next reconcile scans are due.
#[derive(Debug)]
struct Scans {
    /// The periodic scan.
    next: Instant,
    /// A scan soon after a folder appeared ([`NEW_FOLDER_RESCAN`]): its
    /// watch starts after it is reported, so files written in between have
    /// no event.
    after_new_folder: Option<Instant>,
    /// A folder was walked again while that scan was armed: one more after it.
    walked_again: bool,
}

impl Publisher {
    /// Runs the publisher loop until [`Msg::Stop`].
    pub fn run(mut self, rx: mpsc::Receiver<Msg>) {
        self.serving = true;
        // (Requests for term and article pages wait in `rx` meanwhile.)
        let started = Instant::now();
        if self.catalog.complete_deferred() {
            tracing::info!(
                index_ms = started.elapsed().as_millis() as u64,
                "tags, authors and article pages indexed"
            );
        }
        self.say_duplicates_once();
        self.start_compressor();
        self.publish_health();
        self.compress_pending();
        // Before the watchers' reconcile: a reload it causes supersedes
        // this check with its own.
        self.start_check();
        self.catch_up();
        let mut batch = Batch::default();
        let mut scans = Scans {
            next: Instant::now() + self.scan_interval(),
            after_new_folder: None,
            walked_again: false,
        };
        loop {
            let now = Instant::now();
            // Walks of the last turn (or before the loop) arm the scan
            // before the wake-up time is worked out.
            if std::mem::take(&mut self.folder_walked) {
                match scans.after_new_folder {
                    None => scans.after_new_folder = Some(now + NEW_FOLDER_RESCAN),
                    Some(_) => scans.walked_again = true,
                }
            }
            let mut wake = scans.next;
            // (While a survey runs, its result wakes the loop.)
            if let Some(r) = scans.after_new_folder.filter(|_| !self.surveying) {
                wake = wake.min(r);
            }
            if let Some(d) = batch.closes {
                wake = wake.min(d);
            }
            if let Some(due) = self.catalog.next_due(self.rendered_at) {
                let wait = (due - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
                // Publish a little after the instant so `now >= date` holds.
                wake = wake.min(now + wait + Duration::from_millis(1));
            }
            let debounce = self.config.content.debounce;
            match rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(Msg::Compressed(done)) => self.install_compressed(done),
                Ok(Msg::Tick) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Ok(Msg::Render(path, reply)) => {
                    let _ = reply.send(self.render_on_request(&path));
                }
                Ok(Msg::Surveyed(gen, survey)) => {
                    self.surveying = false;
                    if gen == self.check.load_gen.load(Ordering::SeqCst) {
                        self.reconcile_with(survey);
                    }
                }
                Ok(Msg::Checked(gen, results)) => {
                    if gen == self.check.load_gen.load(Ordering::SeqCst) {
                        self.apply_checked(results);
                    }
                    if let Some(ack) = &self.check.check_ack {
                        let _ = ack.try_send(());
                    }
                }
                Ok(Msg::ReloadConfig) => {
                    batch.reload = true;
                    batch.open(debounce);
                }
                Ok(Msg::Event(Ok(event))) => {
                    let m = watch::map_event(&event, &self.root, &self.config_path, &self.config);
                    if m.rescan || m.config || !m.paths.is_empty() {
                        batch.rescan |= m.rescan;
                        batch.reload |= m.config;
                        for p in m.paths {
                            if !batch.paths.contains(&p) {
                                batch.paths.push(p);
                            }
                        }
                        batch.open(debounce);
                    }
                }
                Ok(Msg::Event(Err(e))) => {
                    tracing::warn!(error = %e, "watcher error; rescanning");
                    batch.rescan = true;
                    batch.open(debounce);
                }
            }
            let now = Instant::now();
            if batch.closes.is_some_and(|d| now >= d) {
                let Batch {
                    paths,
                    rescan,
                    reload,
                    ..
                } = std::mem::take(&mut batch);
                if reload {
                    // A reload reads everything again: the paths and a
                    // rescan are covered.
                    self.reload_config();
                    // The watch mode or poll interval may have changed.
                    scans.next = Instant::now() + self.scan_interval();
                } else if rescan {
                    metrics::counter!("herald_rescans_total").increment(1);
                    tracing::info!("rescanning content");
                    self.reconcile();
                } else if !paths.is_empty() {
                    self.apply_paths(&paths);
                }
            }
            // Started once no survey is running, so its listing is taken
            // after the folder's files were written.
            if scans.after_new_folder.is_some_and(|r| now >= r) && !self.surveying {
                scans.after_new_folder = std::mem::take(&mut scans.walked_again)
                    .then(|| Instant::now() + NEW_FOLDER_RESCAN);
                self.reconcile_in_background();
            }
            if self
                .catalog
                .next_due(self.rendered_at)
                .is_some_and(|d| d <= self.clock.now())
            {
                self.publish_due();
            }
            if now >= scans.next {
                self.reconcile_in_background();
                self.save_index_if_due(false);
                scans.next = Instant::now() + self.scan_interval();
            }
        }
        self.save_index_at_stop();
    }
}
