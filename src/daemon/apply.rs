//! How touched paths become a change of the catalog and re-rendered
//! pages: a file re-read, a folder walked, a deletion; then only the pages
//! the change affects are rendered, and the feeds that changed announced.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use super::problems::log_problem;
use super::publisher::Publisher;
use crate::article;
use crate::catalog::{Change, Held};
use crate::content::read::Stamp;
use crate::content::{rules, walk as scan};
use crate::diagnostics::{Diagnostic, Severity};
use crate::render::{self, PageId};

impl Publisher {
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

    /// Re-examines one path and updates the catalog: a file is re-read, a
    /// folder walked, a missing path dropped with everything under it.
    pub(super) fn apply_path(&mut self, rel: &str) -> Change {
        self.saved.dirty = true;
        let full = self.config.content.dir.join(rel);
        let mut change = Change::default();
        // A top-level folder that is no category (named like one of
        // herald's paths, or with a backslash), made while running, is said
        // once, as a walk of the whole tree says it.
        let reserved_folder = !rel.contains('/') && rules::is_reserved(rel) && full.is_dir();
        if reserved_folder {
            self.log_folder_walk_problems(vec![scan::reserved(full.clone())]);
        }
        // A path inside a hidden or ignored folder, or a link outside the tree, is not content.
        if reserved_folder || rules::is_ignored(rel, &self.config) {
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
                self.problems.by_path.remove(rel);
                self.stamps.remove(rel);
                let mut listing = scan::scan_folder(&self.config, rel);
                // Watched again even when known: a folder deleted and made
                // again under its name lost its watch.
                let _ = self.watch_folders(&listing.folders, true);
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
                    .by_path
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
                self.problems.by_path.retain(|k, _| !k.starts_with(&prefix));
                self.stamps.retain(|k, _| !k.starts_with(&prefix));
                self.folders.retain(|f| f != rel && !f.starts_with(&prefix));
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
                self.problems.by_path.insert(rel.to_string(), vec![d]);
            }
        }
        change
    }

    pub(super) fn drop_category_pages(&mut self, category: &str) {
        let mut prefixes = vec![format!("/{category}/")];
        for v in &self.config.site.variants {
            prefixes.push(format!("/{}/{category}/", v.segment()));
        }
        let gone = &mut self.gone_feeds;
        self.resources.retain(|k, _| {
            let keep = !prefixes.iter().any(|p| k.starts_with(p.as_str()));
            if !keep {
                gone.push(k.clone());
            }
            keep
        });
        self.remove_output(category);
        for v in self.config.site.variants.clone() {
            self.remove_output(&format!("{}/{category}", v.segment()));
        }
    }

    pub(super) fn drop_file(&mut self, rel: &str) -> Change {
        self.check.unchecked.remove(rel);
        self.problems.by_path.remove(rel);
        self.stamps.remove(rel);
        self.catalog.remove(rel)
    }

    pub(super) fn load_file(&mut self, rel: &str) -> Change {
        let was_unchecked = self.check.unchecked.remove(rel);
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
                    .and_then(Held::full)
                    .is_some_and(|old| **old == parsed.article)
                {
                    return Change::default();
                }
                let change = self.catalog.upsert(parsed.article);
                self.say_duplicates_of(rel);
                change
            }
            Err(_) if std::fs::symlink_metadata(&full).is_err() => {
                // Gone between the event and the read: a deletion, not an error.
                self.drop_file(rel)
            }
            Err(d) => {
                // The last good version (if any) stays published; the next
                // event on this file re-reads it. A version only indexed
                // quickly was never checked, so it is no good version.
                if let Some(s) = Stamp::at(&full) {
                    self.stamps.insert(Arc::from(rel), s);
                }
                log_problem(&d);
                self.problems.by_path.insert(rel.to_string(), vec![d]);
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

    pub(super) fn regenerate(&mut self, change: Change, started: Instant) {
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
        let mut pages = render::affected_pages(&self.config, &self.catalog, &change, now);
        // Pages rendered on request are rendered again only while held; a
        // list of every tag or author is let go instead (its next request
        // renders it), so an edit costs the same with 5,000 tags as with 5.
        // One whose term has no published article left is gone (404).
        // A tag's or author's feed with WebSub subscribers is rendered
        // too, and, when external hubs are pinged, every feed of a term
        // the change touched: a ping says which feeds' bytes changed.
        let claimed = render::claimed_paths(&self.config, &self.catalog);
        let announced = |p: &PageId| match (&self.hub, p.original()) {
            (Some(hub), PageId::TermFeed(..) | PageId::Feed(..)) => {
                hub.pings_hubs() || hub.is_watched(&p.path())
            }
            _ => false,
        };
        pages.retain(|p| {
            !p.is_on_demand()
                || ((self.resources.contains_key(&p.path()) || announced(p))
                    && !render::shadowed(&self.config, &claimed, p))
        });
        let fresh: Vec<String> = pages
            .iter()
            .filter(|p| p.is_on_demand())
            .map(PageId::path)
            .filter(|path| !self.resources.contains_key(path))
            .collect();
        // A variant's pages are let go too, but for feeds the hubs are
        // told of: an edit costs the same with variants on as off, and a
        // variant's page is rendered at its next request.
        let let_go = |p: &PageId| {
            matches!(p.original(), PageId::TermList(_))
                || (matches!(p, PageId::Variant(..)) && !announced(p))
        };
        let (gone_now, kept): (Vec<PageId>, Vec<PageId>) = pages.into_iter().partition(let_go);
        pages = kept;
        for p in gone_now {
            self.let_go_page(&p.path());
        }
        let gone: Vec<String> = pages
            .iter()
            .filter(|p| !render::exists(&self.catalog, p, now))
            .map(PageId::path)
            .collect();
        self.remove_output_pages(&gone);
        for path in &gone {
            let watched = self.hub.as_ref().is_some_and(|h| h.is_watched(path));
            if self.resources.remove(path).is_some() || watched {
                self.gone_feeds.push(path.clone());
            }
        }
        pages.retain(|p| render::exists(&self.catalog, p, now));
        let changed = self.render_pages(&pages, now);
        // Pages rendered for the hubs are held like those rendered on request.
        for path in fresh {
            let Some(size) = self.resources.get(&path).map(|r| r.identity.body.len()) else {
                continue;
            };
            for old in self.on_demand.hold(&path, size * 3 / 2) {
                if self.hub.as_ref().is_some_and(|h| h.is_watched(&old)) {
                    continue;
                }
                self.let_go_page(&old);
            }
        }
        self.finish_regeneration(started, now, false);
        self.announce(changed);
    }

    /// Publishes articles that came due.
    pub fn publish_due(&mut self) {
        self.regenerate(Change::default(), Instant::now());
    }
}
