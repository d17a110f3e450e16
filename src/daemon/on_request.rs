//! Pages rendered on request (tag and author feeds and lists, article
//! pages, variants): rendered at their first request, held within a byte
//! budget, let go oldest first.

use std::collections::VecDeque;
use std::sync::Arc;

use super::publisher::Publisher;
use crate::http::snapshot::Resource;
use crate::render::{self, PageId};

/// How many bytes of pages rendered on request are held, counting their
/// compressed variants. A page let go is rendered again at its next
/// request.
pub const ON_DEMAND_BYTES: usize = 8 * 1024 * 1024;

/// Pages rendered on request that are held, oldest first, with their
/// sizes: the oldest go when they pass [`ON_DEMAND_BYTES`].
#[derive(Debug, Default)]
pub struct OnDemandPages {
    held: VecDeque<(String, usize)>,
    /// The sum of the sizes in `held`.
    bytes: usize,
}

impl OnDemandPages {
    /// Notes a page just rendered; returns the paths to let go.
    pub(super) fn hold(&mut self, path: &str, size: usize) -> Vec<String> {
        self.held.push_back((path.to_string(), size));
        self.bytes += size;
        let mut evicted = Vec::new();
        while self.bytes > ON_DEMAND_BYTES {
            let Some((old, bytes)) = self.held.pop_front() else {
                break;
            };
            self.bytes -= bytes;
            evicted.push(old);
        }
        evicted
    }

    /// Forgets every held page (a full load dropped them).
    pub(super) fn clear(&mut self) {
        self.held.clear();
        self.bytes = 0;
    }
}

/// How many let-go pages' validators are kept: past it they are all
/// forgotten (those pages then get a new Last-Modified when rendered again).
const LET_GO_KEPT: usize = 10_000;

impl Publisher {
    /// Stops holding a page rendered on request (its next request renders
    /// it again), keeping its ETag and Last-Modified so that the same
    /// bytes then keep the same Last-Modified.
    pub(super) fn let_go_page(&mut self, path: &str) {
        if let Some(old) = self.resources.remove(path) {
            if self.let_go.len() >= LET_GO_KEPT {
                self.let_go.clear();
            }
            self.let_go.insert(path.to_string(), old.validators());
        }
    }

    /// The page at a decoded request path that is rendered on request: the
    /// held one, or rendered now at the snapshot's time (so it agrees with
    /// every other page served), held within [`ON_DEMAND_BYTES`] and
    /// published. `None` when there is no such page.
    pub(super) fn render_on_request(&mut self, path: &str) -> Option<Arc<Resource>> {
        if let Some(r) = self.resources.get(path) {
            return Some(Arc::clone(r));
        }
        let page = PageId::at(&self.config, &self.catalog, path)?;
        if !page.is_on_demand() {
            // Served from the snapshot, or not at all (a feed format the
            // config turned off, say).
            return None;
        }
        let claimed = render::claimed_paths(&self.config, &self.catalog);
        if render::shadowed(&self.config, &claimed, &page) {
            return None;
        }
        let now = self.rendered_at;
        if !render::exists(&self.catalog, &page, now) {
            return None;
        }
        self.render_pages(std::slice::from_ref(&page), now);
        let res = Arc::clone(self.resources.get(path)?);
        if res.identity.body.is_empty() {
            // Its article could not be read just now: no page, rather than
            // an empty one; the next request tries again.
            self.resources.remove(path);
            return None;
        }
        // Its gzip and brotli variants, made next, add about half its size.
        let size = res.identity.body.len() * 3 / 2;
        for old in self.on_demand.hold(path, size) {
            // A feed with WebSub subscribers stays: changes are pushed from it.
            if self.hub.as_ref().is_some_and(|h| h.is_watched(&old)) {
                continue;
            }
            self.let_go_page(&old);
        }
        self.publish_health();
        if self.serving {
            self.compress_pending();
        }
        Some(res)
    }
}
