//! The in-memory index: every article by path, and per category and for
//! the whole site an ordered set (newest first, ties by path) of the
//! articles that can be published. Every operation — insert or replace
//! one article, remove one, drop a folder — costs work proportional to
//! what changed (a few B-tree operations per article), so the watcher can
//! apply one edit to a 100,000-article catalog in microseconds.
//!
//! Drafts are kept (so a later edit that clears `draft` is an ordinary
//! replace) but never enter the ordered sets. Future-dated articles are in
//! the sets; the clock, passed in as `now`, decides whether they show.
//! Reading files is `article`'s job; rendering is `render`'s.
//!
//! Besides categories and the site, each tag and author has its ordered
//! articles ([`Term`]), and article pages are found by their path. A
//! [`Change`] names what an operation touched, so that only the affected
//! pages are rendered again.
//!
//! - [`builder`]: the bulk build of a first load.
//! - [`bulk_terms`]: a first load's terms, built from its entries once
//!   serving.
//! - [`feeds`]: what a category's or the site's feed shows at a time,
//!   and when that next changes.
//! - [`term`]: one tag's or author's articles and spellings, and the
//!   catalog's queries by term.
//! - [`pages`]: article pages by path.
//! - [`ids`]: the paths holding each id, and the id an article is
//!   published under when two share one.

mod builder;
mod bulk_terms;
mod feeds;
mod ids;
mod pages;
mod term;

use builder::Deferred;
pub use builder::{CatalogBuilder, Prepared};
use ids::id_hash;
pub use term::Term;
use term::{terms_of, Numbers};

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use crate::article::{Article, Entry, Reading};
use crate::config::Site;
use crate::taxonomy::{self, Taxonomy};

/// Sort key: newest first, then by path.
/// The path is shared (`Arc<str>`) between the map and both sets, so a
/// large catalog holds each path once.
type Key = (Reverse<DateTime<FixedOffset>>, Arc<str>);

/// The paths holding one id hash: almost always one, held inline (no
/// allocation per article).
type IdPaths = smallvec::SmallVec<[Arc<str>; 1]>;

/// An article as the catalog holds it: its entry alone, or read in full.
#[derive(Debug, Clone, PartialEq)]
pub enum Held {
    /// Indexed only: an article no feed shows, or one not read in full yet.
    Entry(Arc<Entry>),
    /// Read in full: what a feed shows of it too.
    Full(Arc<Article>),
}

impl Held {
    /// The index entry.
    pub fn entry(&self) -> &Entry {
        match self {
            Held::Entry(e) => e,
            Held::Full(a) => &a.entry,
        }
    }

    /// The article, when read in full.
    pub fn full(&self) -> Option<&Arc<Article>> {
        match self {
            Held::Entry(_) => None,
            Held::Full(a) => Some(a),
        }
    }

    fn rel(&self) -> &Arc<str> {
        &self.entry().rel
    }
}

impl From<Article> for Held {
    fn from(a: Article) -> Held {
        Held::Full(Arc::new(a))
    }
}

impl From<Reading> for Held {
    fn from(r: Reading) -> Held {
        match r {
            Reading::Indexed(i) => Held::from(i.entry),
            Reading::Full(p) => Held::from(p.article),
        }
    }
}

impl From<Entry> for Held {
    fn from(e: Entry) -> Held {
        Held::Entry(Arc::new(e))
    }
}

/// What an operation touched, so only affected pages are re-rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Categories whose feeds changed.
    pub categories: BTreeSet<String>,
    /// Whether the site-wide feeds changed.
    pub site: bool,
    /// Whether the set of categories changed (OPML and the index list them).
    pub category_set: bool,
    /// Tags and authors (by key) whose feeds changed: those the articles
    /// had before and have after.
    pub terms: BTreeSet<(Taxonomy, String)>,
    /// Article pages (by decoded path) whose content or owner changed.
    pub pages: BTreeSet<String>,
}

impl Change {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
            && !self.site
            && !self.category_set
            && self.terms.is_empty()
            && self.pages.is_empty()
    }

    /// Adds another change to this one.
    pub fn merge(&mut self, other: Change) {
        self.categories.extend(other.categories);
        self.site |= other.site;
        self.category_set |= other.category_set;
        self.terms.extend(other.terms);
        self.pages.extend(other.pages);
    }

    /// Notes every term of `entry`, and its page (`page`), as changed.
    fn note_terms(&mut self, entry: &Entry, page: Option<String>) {
        for (tax, name) in terms_of(entry) {
            self.terms.insert((tax, taxonomy::key(name)));
        }
        if let Some(p) = page {
            self.pages.insert(p);
        }
    }
}

/// Articles grouped by category, ordered for feeds.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    articles: BTreeMap<Arc<str>, Held>,
    categories: BTreeMap<String, BTreeSet<Key>>,
    site: BTreeSet<Key>,
    /// The site's articles by `updated`, newest first: the date of empty
    /// feeds and OPML without a scan of the whole site.
    by_updated: BTreeSet<Key>,
    /// Paths by the hash of their article's id, sorted: compact, and exact
    /// because lookups compare the articles' ids themselves.
    ids: FxHashMap<u64, IdPaths>,
    /// Tags and authors by key, per taxonomy (`Taxonomy::index`).
    terms: [BTreeMap<String, Term>; 2],
    /// The numbers terms hold their articles by.
    numbers: Numbers,
    /// Paths of published-or-scheduled articles by the hash of their page
    /// path, sorted: exact, because lookups compare the entries' pages.
    pages: FxHashMap<u64, IdPaths>,
    /// The site whose `base_url` and permalink template give articles
    /// their pages; `None`: no article has a page.
    page_site: Option<Arc<Site>>,
    /// Paths held as [`Held::Full`]: the few articles the feed windows
    /// show, found without a pass over the whole map. Articles outside
    /// every window are held as entries (see [`Catalog::slim`]), so a large
    /// newsroom costs memory for its metadata only.
    bodies: FxHashSet<Arc<str>>,
    /// What a first load left to build once serving
    /// ([`Catalog::complete_deferred`]; see
    /// [`CatalogBuilder::finish_deferring`]).
    deferred: Option<Box<Deferred>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// A catalog of `categories` (folder names) and `articles`, built in bulk: sorted runs turned into
    /// B-trees at once, rather than 100,000 single inserts. Of two
    /// articles at one path, the later wins, as with [`Catalog::upsert`].
    pub fn from_articles(
        categories: impl IntoIterator<Item = String>,
        articles: Vec<Held>,
    ) -> Catalog {
        // Of each path, the last in input order; indexes are sorted, not
        // the 330-byte articles.
        let mut last: FxHashMap<&str, usize> =
            FxHashMap::with_capacity_and_hasher(articles.len(), Default::default());
        for (i, a) in articles.iter().enumerate() {
            last.insert(a.rel(), i);
        }
        let mut keep: Vec<bool> = vec![false; articles.len()];
        for i in last.into_values() {
            keep[i] = true;
        }
        let mut builder = CatalogBuilder::with_capacity(articles.len());
        for (held, keep) in articles.into_iter().zip(keep) {
            if keep {
                builder.push(held);
            }
        }
        builder.finish(categories)
    }

    /// Whether the terms and the page index wait for
    /// [`Catalog::complete_deferred`].
    pub fn is_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    /// Builds the indexes a first load left to build once serving
    /// ([`CatalogBuilder::finish_deferring`]): the terms, and the pages.
    /// Nothing when they are built; every change of the catalog builds
    /// them first. Whether there was anything to build.
    pub fn complete_deferred(&mut self) -> bool {
        let Some(deferred) = self.deferred.take() else {
            return false;
        };
        deferred.build(self);
        true
    }

    /// Number of articles held, drafts and future ones included.
    pub fn len(&self) -> usize {
        self.articles.len()
    }

    /// Whether the catalog holds no article.
    pub fn is_empty(&self) -> bool {
        self.articles.is_empty()
    }

    /// The article at a relative path.
    pub fn get(&self, rel: &str) -> Option<&Held> {
        self.articles.get(rel)
    }

    /// Every article, by path.
    pub fn articles(&self) -> impl Iterator<Item = &Held> {
        self.articles.values()
    }

    /// Category directory names, sorted.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.keys().map(String::as_str)
    }

    /// Whether a category directory is known.
    pub fn has_category(&self, name: &str) -> bool {
        self.categories.contains_key(name)
    }

    /// Registers a category directory (it serves an empty feed while it exists).
    pub fn add_category(&mut self, name: &str) -> Change {
        let mut change = Change::default();
        if name.is_empty() || self.categories.contains_key(name) {
            return change;
        }
        self.categories.insert(name.to_string(), BTreeSet::new());
        change.categories.insert(name.to_string());
        change.category_set = true;
        change
    }

    /// Drops a category directory and every article in it.
    pub fn remove_category(&mut self, name: &str) -> Change {
        let mut change = self.remove_under(name);
        if self.categories.remove(name).is_some() {
            change.categories.insert(name.to_string());
            change.category_set = true;
        }
        change
    }

    /// Inserts or replaces the article at `entry.rel` with its entry alone
    /// (a file indexed or checked without its body).
    pub fn upsert_entry(&mut self, entry: Entry) -> Change {
        self.insert(Held::from(entry))
    }

    /// Whether the article at `rel` holds its rendered body.
    pub fn has_body(&self, rel: &str) -> bool {
        self.bodies.contains(rel)
    }

    /// Paths of articles holding their body.
    pub fn with_bodies(&self) -> impl Iterator<Item = &Arc<str>> {
        self.bodies.iter()
    }

    /// Drops everything but the ordering facts (path, category, dates, id,
    /// draft) of the article at `rel`: its place in every feed is unchanged,
    /// and re-reading the file restores the rest. Used for articles outside
    /// every feed window, so memory grows with the feed windows, not with
    /// the newsroom.
    pub fn slim(&mut self, rel: &str) {
        self.bodies.remove(rel);
        if let Some(held) = self.articles.get_mut(rel) {
            if let Held::Full(a) = held {
                *held = Held::from(a.entry.clone());
            }
        }
    }

    /// Every path that some feed shows at `now`: the newest `limit`
    /// published articles of each category and of the site.
    pub fn windows(&self, now: DateTime<FixedOffset>, limit: usize) -> FxHashSet<Arc<str>> {
        let mut out = FxHashSet::default();
        for set in std::iter::once(&self.site).chain(self.categories.values()) {
            out.extend(
                set.iter()
                    .filter(|(Reverse(date), _)| *date <= now)
                    .take(limit)
                    .map(|(_, rel)| Arc::clone(rel)),
            );
        }
        out
    }

    /// Gives the article at `article.rel`, held without its body, the
    /// body of a full read: when the read found the entry unchanged, the
    /// article keeps its place in every index and nothing needs noting;
    /// otherwise as [`Catalog::upsert`].
    pub fn fill_body(&mut self, article: Article) {
        if let Err(held) = self.replace_in_place(Held::from(article)) {
            self.insert_anew(held);
        }
    }

    /// Inserts or replaces the article at `article.rel`, read in full. Its
    /// category is registered if new.
    pub fn upsert(&mut self, article: Article) -> Change {
        self.insert(Held::from(article))
    }

    fn insert(&mut self, held: Held) -> Change {
        match self.replace_in_place(held) {
            Ok(key) => self.replaced_in_place(&key),
            Err(held) => self.insert_anew(held),
        }
    }

    /// Puts `held` in place of the article at its path when their entries
    /// are equal (the same place in every feed and the same id: a body
    /// read in full, an edit of the text), without removing and
    /// re-inserting it in the ordered sets; its path as the catalog holds
    /// it. Otherwise `held` comes back.
    fn replace_in_place(&mut self, held: Held) -> Result<Arc<str>, Held> {
        let key = match self.articles.get_key_value(&*held.entry().rel) {
            Some((key, old)) if old.entry() == held.entry() => Arc::clone(key),
            _ => return Err(held),
        };
        if matches!(held, Held::Full(_)) {
            self.bodies.insert(Arc::clone(&key));
        } else {
            self.bodies.remove(&key);
        }
        self.articles.insert(Arc::clone(&key), held);
        Ok(key)
    }

    /// What replacing the article at `rel` in place changed
    /// ([`Catalog::replace_in_place`]): the pages that show it.
    fn replaced_in_place(&self, rel: &str) -> Change {
        let mut change = Change {
            site: true,
            ..Change::default()
        };
        if let Some(held) = self.articles.get(rel) {
            let article = held.entry();
            if !article.category.is_empty() {
                change.categories.insert(article.category.to_string());
            }
            if !article.draft {
                change.note_terms(article, self.page_of(article));
            }
        }
        self.note_id_sharers(rel, &mut change);
        change
    }

    /// Inserts `held`, first removing any article at its path.
    fn insert_anew(&mut self, held: Held) -> Change {
        self.complete_deferred();
        let has_body = matches!(held, Held::Full(_));
        let article = held.entry();
        let mut change = self.remove(&article.rel.clone());
        if !article.category.is_empty() {
            change.merge(self.add_category(&article.category));
            change.categories.insert(article.category.to_string());
        }
        change.site = true;
        let rel = Arc::clone(&article.rel);
        if !article.draft {
            let key = (Reverse(article.date), Arc::clone(&rel));
            if let Some(set) = self.categories.get_mut(&*article.category) {
                set.insert(key.clone());
            }
            self.add_terms(article, &key, &mut |tax, k| {
                change.terms.insert((tax, k));
            });
            if let Some(p) = self.page_of(article) {
                let paths = self.pages.entry(id_hash(&p)).or_default();
                if let Err(at) = paths.binary_search(&rel) {
                    paths.insert(at, Arc::clone(&rel));
                }
                change.pages.insert(p);
            }
            self.site.insert(key);
            self.by_updated
                .insert((Reverse(article.updated), Arc::clone(&rel)));
        }
        let paths = self.ids.entry(id_hash(&article.id)).or_default();
        if let Err(at) = paths.binary_search(&rel) {
            paths.insert(at, Arc::clone(&rel));
        }
        if has_body {
            self.bodies.insert(Arc::clone(&rel));
        }
        self.articles.insert(Arc::clone(&rel), held);
        self.note_id_sharers(&rel, &mut change);
        change
    }

    /// Removes the article at `rel`, if present.
    pub fn remove(&mut self, rel: &str) -> Change {
        self.complete_deferred();
        let mut change = Change::default();
        self.note_id_sharers(rel, &mut change);
        let Some((shared, old)) = self.articles.remove_entry(rel) else {
            return change;
        };
        let old = old.entry();
        self.bodies.remove(rel);
        self.by_updated
            .remove(&(Reverse(old.updated), Arc::clone(&shared)));
        let key = (Reverse(old.date), shared);
        if let Some(set) = self.categories.get_mut(&*old.category) {
            set.remove(&key);
        }
        self.site.remove(&key);
        if let (false, Some(p)) = (old.draft, self.page_of(old)) {
            let h = id_hash(&p);
            if let Some(paths) = self.pages.get_mut(&h) {
                paths.retain(|x| &**x != rel);
                if paths.is_empty() {
                    self.pages.remove(&h);
                }
            }
            change.pages.insert(p);
        }
        if !old.draft {
            self.remove_terms(old, &key, &mut |tax, k| {
                change.terms.insert((tax, k));
            });
        }
        let h = id_hash(&old.id);
        if let Some(paths) = self.ids.get_mut(&h) {
            paths.retain(|p| &**p != rel);
            if paths.is_empty() {
                self.ids.remove(&h);
            }
        }
        if !old.category.is_empty() {
            change.categories.insert(old.category.to_string());
        }
        change.site = true;
        change
    }

    /// Removes every article under the folder `prefix` (relative, no
    /// trailing slash; empty means everything).
    pub fn remove_under(&mut self, prefix: &str) -> Change {
        let rels = self.paths_under(prefix);
        let mut change = Change::default();
        for rel in rels {
            change.merge(self.remove(&rel));
        }
        change
    }

    /// Paths of articles under a folder (relative, no trailing slash).
    pub fn paths_under(&self, prefix: &str) -> Vec<String> {
        use std::ops::Bound;
        if prefix.is_empty() {
            return self.articles.keys().map(|k| k.to_string()).collect();
        }
        let start = format!("{prefix}/");
        // '/' + 1 == '0': the range [prefix/, prefix0) is exactly the folder.
        let end = format!("{prefix}0");
        self.articles
            .range::<str, _>((
                Bound::Included(start.as_str()),
                Bound::Excluded(end.as_str()),
            ))
            .map(|(k, _)| k.to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn art(rel: &str, date: &str) -> Article {
        let (category, stem) = crate::content::rules::category_and_stem(rel);
        let date = DateTime::parse_from_rfc3339(date).unwrap();
        Article {
            entry: Entry::new(
                rel.into(),
                category.into(),
                stem.into(),
                (date, date),
                format!("id:{rel}"),
                false,
            ),
            title: format!("title of {rel}"),
            summary: String::new(),
            content_html: Arc::from(""),
            authors: vec![],
            tags: vec![],
            image: None,
            link: format!("http://x/{rel}"),
            lang: None,
        }
    }

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap()
    }

    fn rels(items: &[Arc<Article>]) -> Vec<&str> {
        items.iter().map(|a| &*a.rel).collect()
    }

    #[test]
    fn feeds_are_newest_first_with_ties_by_path() {
        let mut c = Catalog::new();
        c.upsert(art("a/2.md", "2025-01-02T00:00:00Z"));
        c.upsert(art("a/1.md", "2025-01-03T00:00:00Z"));
        c.upsert(art("b/1.md", "2025-01-02T00:00:00Z"));
        c.upsert(art("root.md", "2025-01-01T00:00:00Z"));
        assert_eq!(
            rels(&c.feed_items(Some("a"), now(), 10)),
            ["a/1.md", "a/2.md"]
        );
        assert_eq!(
            rels(&c.feed_items(None, now(), 10)),
            ["a/1.md", "a/2.md", "b/1.md", "root.md"]
        );
        assert_eq!(rels(&c.feed_items(None, now(), 2)), ["a/1.md", "a/2.md"]);
        assert_eq!(c.categories().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn replace_moves_an_article_and_reports_its_category() {
        let mut c = Catalog::new();
        c.upsert(art("a/1.md", "2025-01-01T00:00:00Z"));
        c.upsert(art("a/2.md", "2025-01-02T00:00:00Z"));
        let ch = c.upsert(art("a/1.md", "2025-01-05T00:00:00Z"));
        assert_eq!(ch.categories.into_iter().collect::<Vec<_>>(), ["a"]);
        assert!(ch.site && !ch.category_set);
        assert_eq!(
            rels(&c.feed_items(Some("a"), now(), 10)),
            ["a/1.md", "a/2.md"]
        );
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn replacing_an_entry_in_place_equals_removing_and_inserting_it() {
        let mut base = Catalog::new();
        base.upsert(art("a/1.md", "2025-01-01T00:00:00Z"));
        base.upsert(art("a/2.md", "2025-01-02T00:00:00Z"));
        let mut sharer = art("b/1.md", "2025-01-03T00:00:00Z");
        sharer.entry.id = "id:a/1.md".into();
        base.upsert(sharer.clone());
        base.slim("a/1.md");
        let retitled = |mut a: Article| {
            a.title = "new title".into();
            a.content_html = "<p>body</p>".into();
            a
        };
        let mut draft = art("a/draft.md", "2025-01-04T00:00:00Z");
        draft.entry.draft = true;
        base.upsert(draft.clone());
        base.upsert(art("root.md", "2025-01-05T00:00:00Z"));
        let mut moved = art("a/2.md", "2024-12-01T00:00:00Z");
        moved.title = "new title".into();
        for edited in [
            retitled(art("a/1.md", "2025-01-01T00:00:00Z")),
            retitled(sharer),
            retitled(draft),
            retitled(art("root.md", "2025-01-05T00:00:00Z")),
            moved,
        ] {
            let rel = edited.rel.to_string();
            let mut fast = base.clone();
            let fast_change = fast.upsert(edited.clone());
            // A body read in full goes in as a replacement would.
            let mut filled = base.clone();
            filled.fill_body(edited.clone());
            let mut slow = base.clone();
            let mut slow_change = slow.remove(&rel);
            slow_change.merge(slow.upsert(edited));
            assert_eq!(fast_change, slow_change, "{rel}");
            for cat in [None, Some("a"), Some("b")] {
                let (f, s) = (
                    fast.feed_items(cat, now(), 10),
                    slow.feed_items(cat, now(), 10),
                );
                assert_eq!(rels(&f), rels(&s), "{rel} {cat:?}");
                assert_eq!(rels(&filled.feed_items(cat, now(), 10)), rels(&s));
                for (x, y) in f.iter().zip(&s) {
                    assert_eq!(x.title, y.title);
                    assert_eq!(fast.effective_id(x), slow.effective_id(y), "{rel}");
                    assert_eq!(filled.effective_id(x), slow.effective_id(y), "{rel}");
                }
            }
            assert_eq!(fast.get(&rel).unwrap().full().unwrap().title, "new title");
            assert_eq!(filled.get(&rel), fast.get(&rel));
            assert!(fast.has_body(&rel) && slow.has_body(&rel) && filled.has_body(&rel));
            assert_eq!(fast.duplicate_ids(), slow.duplicate_ids());
            assert_eq!(filled.duplicate_ids(), slow.duplicate_ids());
        }
    }

    #[test]
    fn drafts_and_future_articles_stay_out_of_feeds() {
        let mut c = Catalog::new();
        let mut d = art("a/draft.md", "2025-01-01T00:00:00Z");
        d.entry.draft = true;
        c.upsert(d);
        c.upsert(art("a/future.md", "2030-01-01T00:00:00Z"));
        c.upsert(art("a/now.md", "2025-01-01T00:00:00Z"));
        assert_eq!(rels(&c.feed_items(Some("a"), now(), 10)), ["a/now.md"]);
        assert_eq!(c.published_count(Some("a"), now()), 1);
        assert_eq!(
            c.next_due(now()),
            Some(DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap())
        );
        let later = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap();
        assert_eq!(
            rels(&c.feed_items(Some("a"), later, 10)),
            ["a/future.md", "a/now.md"]
        );
        assert!(c.due_between(now(), later).categories.contains("a"));
    }

    #[test]
    fn removing_a_folder_drops_exactly_its_articles() {
        let mut c = Catalog::new();
        c.upsert(art("a/x/1.md", "2025-01-01T00:00:00Z"));
        c.upsert(art("a/x/2.md", "2025-01-01T00:00:00Z"));
        c.upsert(art("a/x0.md", "2025-01-01T00:00:00Z"));
        c.upsert(art("a/x.md", "2025-01-01T00:00:00Z"));
        let ch = c.remove_under("a/x");
        assert!(ch.categories.contains("a"));
        let mut left: Vec<_> = c.articles().map(|a| a.entry().rel.to_string()).collect();
        left.sort();
        assert_eq!(left, ["a/x.md", "a/x0.md"]);
        let ch = c.remove_category("a");
        assert!(ch.category_set);
        assert!(c.is_empty() && c.categories().next().is_none());
    }

    #[test]
    fn slim_articles_keep_their_place_and_windows_cover_every_feed() {
        let mut c = Catalog::new();
        for i in 0..5 {
            c.upsert(art(
                &format!("a/{i}.md"),
                &format!("2025-01-0{}T00:00:00Z", i + 1),
            ));
        }
        c.upsert(art("b/x.md", "2024-06-01T00:00:00Z"));
        let w = c.windows(now(), 2);
        let mut w: Vec<String> = w.into_iter().map(|r| r.to_string()).collect();
        w.sort();
        // a's newest two, the site's newest two (the same), and b's only one.
        assert_eq!(w, ["a/3.md", "a/4.md", "b/x.md"]);
        c.slim("a/0.md");
        assert!(!c.has_body("a/0.md") && c.has_body("a/1.md"));
        assert!(matches!(c.get("a/0.md").unwrap(), Held::Entry(_)));
        // In its place in the feed's order; only articles read in full are
        // handed to the renderers.
        assert_eq!(
            c.feed_paths(Some("a"), now(), 10),
            ["a/4.md", "a/3.md", "a/2.md", "a/1.md", "a/0.md"]
        );
        assert_eq!(
            rels(&c.feed_items(Some("a"), now(), 10)),
            ["a/4.md", "a/3.md", "a/2.md", "a/1.md"]
        );
        c.upsert(art("a/0.md", "2025-01-01T00:00:00Z"));
        assert!(c.has_body("a/0.md"));
        c.upsert_entry(art("a/9.md", "2025-02-01T00:00:00Z").entry);
        assert!(!c.has_body("a/9.md"));
        assert_eq!(c.feed_paths(Some("a"), now(), 1), ["a/9.md"]);
    }

    pub(super) fn tagged(rel: &str, date: &str, tags: &[&str], authors: &[&str]) -> Article {
        let mut a = art(rel, date);
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        let authors: Vec<String> = authors.iter().map(|t| t.to_string()).collect();
        a.entry = a.entry.clone().with_names(&tags, &authors);
        a
    }

    #[test]
    fn tags_fold_to_one_term_spelled_as_most_articles_spell_it() {
        let mut c = Catalog::new();
        c.upsert(tagged("a/1.md", "2025-01-01T00:00:00Z", &["ev"], &[]));
        c.upsert(tagged("a/2.md", "2025-01-02T00:00:00Z", &["EV"], &[]));
        c.upsert(tagged("b/3.md", "2025-01-03T00:00:00Z", &["EV"], &[]));
        let keys: Vec<&str> = c.terms(Taxonomy::Tags).map(|(k, _)| k).collect();
        assert_eq!(keys, ["ev"]);
        assert_eq!(c.term(Taxonomy::Tags, "ev").unwrap().name(), "EV");
        assert_eq!(
            c.term_paths(Taxonomy::Tags, "ev", now(), 10),
            ["b/3.md", "a/2.md", "a/1.md"]
        );
        // A tie goes to the first spelling in code-point order ("E" < "e").
        c.remove("b/3.md");
        assert_eq!(c.term(Taxonomy::Tags, "ev").unwrap().name(), "EV");
        c.upsert(tagged("b/4.md", "2025-01-04T00:00:00Z", &["ev"], &[]));
        assert_eq!(c.term(Taxonomy::Tags, "ev").unwrap().name(), "ev");
    }

    #[test]
    fn retagging_moves_an_article_between_terms_and_reports_both() {
        let mut c = Catalog::new();
        c.upsert(tagged(
            "a/1.md",
            "2025-01-01T00:00:00Z",
            &["财政"],
            &["林金彥"],
        ));
        c.upsert(tagged(
            "a/2.md",
            "2025-01-02T00:00:00Z",
            &["财政"],
            &["楊光"],
        ));
        let change = c.upsert(tagged(
            "a/1.md",
            "2025-01-01T00:00:00Z",
            &["City Budget"],
            &["林金彥"],
        ));
        let want: BTreeSet<(Taxonomy, String)> = [
            (Taxonomy::Tags, "财政".to_string()),
            (Taxonomy::Tags, "city-budget".to_string()),
            (Taxonomy::Authors, "林金彥".to_string()),
        ]
        .into();
        assert_eq!(change.terms, want);
        assert_eq!(c.term_paths(Taxonomy::Tags, "财政", now(), 10), ["a/2.md"]);
        assert_eq!(
            c.term_paths(Taxonomy::Tags, "city-budget", now(), 10),
            ["a/1.md"]
        );
        // The last article of a term going takes the term with it.
        let change = c.remove("a/2.md");
        assert!(change.terms.contains(&(Taxonomy::Tags, "财政".to_string())));
        assert!(c.term(Taxonomy::Tags, "财政").is_none());
        assert!(c.term(Taxonomy::Authors, "楊光").is_none());
        assert_eq!(c.term_count(Taxonomy::Authors, "林金彥", now()), 1);
    }

    #[test]
    fn drafts_and_future_articles_count_in_no_term_until_published() {
        let mut c = Catalog::new();
        let mut d = tagged("a/d.md", "2025-01-01T00:00:00Z", &["x"], &[]);
        d.entry.draft = true;
        c.upsert(d);
        assert!(c.term(Taxonomy::Tags, "x").is_none());
        c.upsert(tagged("a/f.md", "2030-01-01T00:00:00Z", &["x"], &[]));
        assert_eq!(c.term_count(Taxonomy::Tags, "x", now()), 0);
        let later = DateTime::parse_from_rfc3339("2030-06-01T00:00:00Z").unwrap();
        let due = c.due_between(now(), later);
        assert!(due.terms.contains(&(Taxonomy::Tags, "x".to_string())));
        assert_eq!(c.term_count(Taxonomy::Tags, "x", later), 1);
    }

    #[test]
    fn newest_updated_ignores_future_articles_and_follows_updates() {
        let mut c = Catalog::new();
        let mut old = art("a/old.md", "2024-01-01T00:00:00Z");
        old.entry.updated = DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z").unwrap();
        c.upsert(old);
        c.upsert(art("a/new.md", "2025-03-01T00:00:00Z"));
        let mut future = art("a/future.md", "2030-01-01T00:00:00Z");
        future.entry.updated = DateTime::parse_from_rfc3339("2030-02-01T00:00:00Z").unwrap();
        c.upsert(future);
        assert_eq!(
            c.newest_updated(now()),
            Some(DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z").unwrap())
        );
        c.remove("a/old.md");
        assert_eq!(
            c.newest_updated(now()),
            Some(DateTime::parse_from_rfc3339("2025-03-01T00:00:00Z").unwrap())
        );
    }
}
