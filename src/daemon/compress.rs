//! Background compression: pages are served as soon as they are
//! rendered; their gzip and brotli variants are made on a thread of their
//! own and installed when ready, unless the page changed meanwhile.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Arc;

use super::*;
use crate::http::snapshot::Resource;

/// A page to compress: its path and the resource as rendered.
pub(super) type Pending = (String, Arc<Resource>);

impl Publisher {
    /// Hands the resources rendered since the last call to the compressor
    /// thread, which sends their gzip and brotli variants back
    /// ([`Msg::Compressed`]); without one, compresses them here. The
    /// publisher never waits for compression, so the next change is not
    /// held up by the last one's.
    pub(super) fn compress_pending(&mut self) {
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
    pub(super) fn install_compressed(&mut self, done: Vec<Compressed>) {
        let mut any = false;
        let mut written = Vec::new();
        for Compressed {
            path,
            before,
            after,
        } in done
        {
            if self
                .resources
                .get(&path)
                .is_some_and(|cur| Arc::ptr_eq(cur, &before))
            {
                self.resources.insert(path.clone(), after);
                written.push(path);
                any = true;
            }
        }
        if any {
            self.publish_health();
            // The compressed files beside each page in output.dir.
            self.write_output(&written);
        }
    }

    /// Starts the compressor thread: it takes batches of resources, merges
    /// whatever queued up meanwhile (only the newest version of a page is
    /// compressed), and sends the results to the publisher.
    pub(super) fn start_compressor(&mut self) {
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
}

/// Adds gzip and brotli variants, one page after another: on the
/// compressor thread this leaves the other core to rendering.
fn compress_all(todo: Vec<Pending>) -> Vec<Compressed> {
    todo.into_iter()
        .map(|(path, before)| {
            let after = before.compressed();
            Compressed {
                path,
                before,
                after,
            }
        })
        .collect()
}

/// A page's compressed variants, made on the compressor thread.
#[derive(Debug)]
pub struct Compressed {
    /// The page's path.
    path: String,
    /// The resource as it was handed over (installed over only if still current).
    before: Arc<Resource>,
    /// The same with its gzip and brotli variants.
    after: Arc<Resource>,
}
