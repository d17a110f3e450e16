//! A catalog built in bulk, as a first load reads the tree: each article
//! pushed does its share of the work while the files are still being
//! read, and the indexes are sorted on all cores at the end; what no
//! feed needs (terms, article pages) is left to be built once serving.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::bulk_terms::{terms_of_entries, NO_PLACE};
use super::{id_hash, Catalog, Held, IdPaths, Key};
use crate::article::Entry;
use crate::config::Site;

/// The hashes [`CatalogBuilder::push_prepared`] files an article under,
/// worked out on any thread: of its id, and of its page path (a published
/// or scheduled article whose permalink lies under the site).
#[derive(Debug, Clone, Copy)]
pub struct Prepared {
    id: u64,
    page: Option<u64>,
}

impl Prepared {
    /// The hashes of `entry`, whose page lies under `site` (none without
    /// one); `buf` is scratch space.
    pub fn of(entry: &Entry, site: Option<&Site>, buf: &mut String) -> Prepared {
        Prepared {
            id: id_hash(&entry.id),
            page: site.and_then(|site| page_hash(entry, site, buf)),
        }
    }
}

/// The hash of `entry`'s page under `site`: none for a draft or a
/// permalink elsewhere. `buf` is scratch space.
fn page_hash(entry: &Entry, site: &Site, buf: &mut String) -> Option<u64> {
    if entry.draft {
        return None;
    }
    entry.page_in(site, buf).map(|p| id_hash(&p))
}

/// A catalog built one article at a time, in any order, as a first load
/// reads them: each [`CatalogBuilder::push`] does the article's share of
/// the work while the files are still being read, and
/// [`CatalogBuilder::finish`] sorts the indexes on all cores at once.
#[derive(Debug, Default)]
pub struct CatalogBuilder {
    map: Vec<(Arc<str>, Held)>,
    per_category: FxHashMap<String, Vec<Key>>,
    /// The published-or-scheduled articles' sort keys, each with its
    /// place here: the article's number while building, renumbered in
    /// feed order by `finish` (with the sort this set needs anyway).
    site: Vec<(Key, u32)>,
    /// Per article pushed (as `map`): its number, a place in `site`;
    /// [`NO_PLACE`] for a draft.
    numbers: Vec<u32>,
    by_updated: Vec<Key>,
    ids: FxHashMap<u64, IdPaths>,
    bodies: FxHashSet<Arc<str>>,
    pages: FxHashMap<u64, IdPaths>,
    /// The site that gives articles their pages (see [`Catalog::for_site`]).
    page_site: Option<Arc<Site>>,
    /// An article came without its page's hash ([`CatalogBuilder::push`]):
    /// `pages` is worked out from every entry at the end instead, on all
    /// cores.
    pages_from_entries: bool,
}

impl CatalogBuilder {
    /// A builder whose catalog indexes article pages under `site`.
    pub fn for_site(site: &Site) -> Self {
        CatalogBuilder {
            page_site: Some(Arc::new(site.clone())),
            ..Default::default()
        }
    }

    /// A builder with room for `n` articles.
    pub fn with_capacity(n: usize) -> Self {
        CatalogBuilder {
            map: Vec::with_capacity(n),
            site: Vec::with_capacity(n),
            numbers: Vec::with_capacity(n),
            by_updated: Vec::with_capacity(n),
            ids: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            ..Default::default()
        }
    }

    /// [`CatalogBuilder::for_site`] with room for `n` articles.
    pub fn for_site_with_capacity(site: &Site, n: usize) -> Self {
        CatalogBuilder {
            page_site: Some(Arc::new(site.clone())),
            pages: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            ..Self::with_capacity(n)
        }
    }

    /// Adds an article, returning its path as the catalog will hold it,
    /// for callers keying their own maps by path. Paths must be unique: a
    /// second article at one path would be indexed twice. (Its page is
    /// indexed at the end, with every other article's.)
    pub fn push(&mut self, held: impl Into<Held>) -> Arc<str> {
        let held = held.into();
        let prepared = Prepared {
            id: id_hash(&held.entry().id),
            page: None,
        };
        self.pages_from_entries = true;
        self.push_prepared(held, prepared)
    }

    /// [`CatalogBuilder::push`] with the article's hashes worked out
    /// already (on another thread): for a load that decodes on all cores
    /// and builds on one.
    pub fn push_prepared(&mut self, held: impl Into<Held>, prepared: Prepared) -> Arc<str> {
        let held = held.into();
        let has_body = matches!(held, Held::Full(_));
        let article = held.entry();
        let rel = Arc::clone(&article.rel);
        if !article.draft {
            let key = (Reverse(article.date), Arc::clone(&rel));
            if !article.category.is_empty() {
                match self.per_category.get_mut(&*article.category) {
                    Some(keys) => keys.push(key.clone()),
                    None => {
                        self.per_category
                            .insert(article.category.to_string(), vec![key.clone()]);
                    }
                }
            }
            // A catalog holds far fewer than 2^32 articles.
            let n = self.site.len() as u32;
            self.numbers.push(n);
            if let Some(page) = prepared.page {
                self.pages.entry(page).or_default().push(Arc::clone(&rel));
            }
            self.site.push((key, n));
            self.by_updated
                .push((Reverse(article.updated), Arc::clone(&rel)));
        } else {
            self.numbers.push(NO_PLACE);
            if !article.category.is_empty() && !self.per_category.contains_key(&*article.category) {
                self.per_category
                    .insert(article.category.to_string(), Vec::new());
            }
        }
        self.ids
            .entry(prepared.id)
            .or_default()
            .push(Arc::clone(&rel));
        if has_body {
            self.bodies.insert(Arc::clone(&rel));
        }
        self.map.push((Arc::clone(&rel), held));
        rel
    }

    /// The catalog, with `categories` (folder names) listed even when
    /// empty.
    pub fn finish(self, categories: impl IntoIterator<Item = String>) -> Catalog {
        let mut catalog = self.finish_deferring(categories);
        catalog.complete_deferred();
        catalog
    }

    /// [`CatalogBuilder::finish`], leaving what no feed needs ([`Deferred`])
    /// to the first [`Catalog::complete_deferred`] or change of the
    /// catalog: a first load's feeds are served sooner.
    pub fn finish_deferring(self, categories: impl IntoIterator<Item = String>) -> Catalog {
        use rayon::prelude::*;
        let CatalogBuilder {
            map,
            mut per_category,
            site,
            numbers,
            by_updated,
            mut ids,
            bodies,
            mut pages,
            page_site,
            pages_from_entries,
        } = self;
        for c in categories {
            if !c.is_empty() {
                per_category.entry(c).or_default();
            }
        }
        let sorted = |mut keys: Vec<Key>| -> BTreeSet<Key> {
            keys.par_sort_unstable();
            keys.into_iter().collect()
        };
        let (((articles, kept), categories), ((by_updated, ()), (site, renumber))) = rayon::join(
            || {
                rayon::join(
                    || by_path(map),
                    || {
                        per_category
                            .into_iter()
                            .collect::<Vec<_>>()
                            .into_par_iter()
                            .map(|(c, keys)| (c, sorted(keys)))
                            .collect::<Vec<_>>()
                            .into_iter()
                            .collect()
                    },
                )
            },
            || {
                rayon::join(
                    || {
                        rayon::join(
                            || sorted(by_updated),
                            // Each id's and each page's paths in path order.
                            || {
                                ids.values_mut().for_each(|paths| paths.sort_unstable());
                                pages.values_mut().for_each(|paths| paths.sort_unstable());
                            },
                        )
                    },
                    || site_numbered(site),
                )
            },
        );
        // Each article's place in the site's order, in path order.
        let places = kept
            .into_iter()
            .map(|i| match numbers.get(i as usize) {
                Some(&n) if n != NO_PLACE => renumber[n as usize],
                _ => NO_PLACE,
            })
            .collect();
        Catalog {
            articles,
            categories,
            site,
            by_updated,
            ids,
            bodies,
            pages,
            page_site,
            deferred: Some(Box::new(Deferred {
                places,
                pages: pages_from_entries,
            })),
            ..Catalog::default()
        }
    }
}

/// The articles by path, and the place in `map` of each, in path order
/// (of two at one path, the later). Their places are sorted rather than
/// the articles themselves: a sort moves each element many times, and
/// an article is ten times the size of a place.
fn by_path(map: Vec<(Arc<str>, Held)>) -> (BTreeMap<Arc<str>, Held>, Vec<u32>) {
    use rayon::prelude::*;
    // A catalog holds far fewer than 2^32 articles.
    let mut order: Vec<u32> = (0..map.len() as u32).collect();
    // (Of two at one path, the later comes last.)
    order.par_sort_unstable_by(|&a, &b| map[a as usize].0.cmp(&map[b as usize].0).then(a.cmp(&b)));
    order.dedup_by(|later, earlier| {
        let same = map[*later as usize].0 == map[*earlier as usize].0;
        if same {
            *earlier = *later;
        }
        same
    });
    let mut slots: Vec<Option<(Arc<str>, Held)>> = map.into_iter().map(Some).collect();
    let articles = order
        .iter()
        .filter_map(|&i| slots[i as usize].take())
        .collect();
    (articles, order)
}

/// The indexes of a first load that no feed needs, left to be built
/// ([`Deferred::build`]) once the catalog is serving: the terms, and the
/// pages of articles pushed without their hashes.
#[derive(Debug, Clone)]
pub(super) struct Deferred {
    /// Per article in path order: its place in the site's order
    /// ([`NO_PLACE`] for a draft).
    places: Vec<u32>,
    /// Whether the pages are to be worked out from the entries.
    pages: bool,
}

impl Deferred {
    /// Builds the deferred indexes into `catalog`, whose articles and
    /// site's set are the ones these were found with.
    pub(super) fn build(self, catalog: &mut Catalog) {
        let entries: Vec<&Entry> = catalog.articles.values().map(Held::entry).collect();
        // One after the other, not side by side: at a million articles
        // each holds a few hundred MiB for a moment.
        let pages = match (&catalog.page_site, self.pages) {
            (Some(site), true) => Some(page_index(&entries, site)),
            _ => None,
        };
        let (numbers, terms) = terms_of_entries(&entries, &self.places, &catalog.site);
        drop(entries);
        catalog.numbers = numbers;
        catalog.terms = terms;
        if let Some(pages) = pages {
            catalog.pages = pages;
        }
    }
}

/// The site's set from `site` (each sort key with the article's number
/// as pushed), and per number its place in that set.
fn site_numbered(mut site: Vec<(Key, u32)>) -> (BTreeSet<Key>, Vec<u32>) {
    use rayon::prelude::*;
    site.par_sort_unstable();
    let mut renumber = vec![0u32; site.len()];
    for (new, (_, old)) in site.iter().enumerate() {
        renumber[*old as usize] = new as u32;
    }
    let site = site.into_iter().map(|(key, _)| key).collect();
    (site, renumber)
}

/// The paths of the published-or-scheduled `entries` by the hash
/// of their page under `site` ([`page_hash`]), each hash's paths in
/// path order; worked out on all cores.
pub(super) fn page_index(entries: &[&Entry], site: &Site) -> FxHashMap<u64, IdPaths> {
    use rayon::prelude::*;
    let hashed: Vec<(u64, &Arc<str>)> = entries
        .par_iter()
        .map_init(String::new, |buf, entry| {
            Some((page_hash(entry, site, buf)?, &entry.rel))
        })
        .flatten()
        .collect();
    let mut pages: FxHashMap<u64, IdPaths> =
        FxHashMap::with_capacity_and_hasher(hashed.len(), Default::default());
    // (In path order, as `articles` is.)
    for (hash, rel) in hashed {
        pages.entry(hash).or_default().push(Arc::clone(rel));
    }
    pages
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use chrono::DateTime;

    use super::super::tests::{art, tagged};
    use super::*;
    use crate::article::Article;
    use crate::taxonomy::Taxonomy;

    #[test]
    fn bulk_build_equals_one_upsert_at_a_time() {
        let mut items = Vec::new();
        for i in 0..300u32 {
            let cat = ["a", "b", "", "社会"][(i % 4) as usize];
            let rel = if cat.is_empty() {
                format!("top{}.md", i % 97)
            } else {
                format!("{cat}/{}.md", i % 89)
            };
            let mut a = art(&rel, &format!("2025-01-{:02}T00:00:00Z", 1 + i % 28));
            a.entry.draft = i % 13 == 0;
            if i % 7 == 0 {
                a.entry.id = format!("shared-{}", i % 3);
            }
            a.entry.updated = a.date + chrono::Duration::hours((i % 5) as i64);
            let tags = [
                ["EV", "财政"],
                ["ev", "City  Budget"],
                ["Ev", "city budget"],
            ];
            let names = ["林金彥", "Jane Doe"];
            a.entry = a.entry.clone().with_names(
                &tags[(i % 3) as usize].map(String::from),
                &[names[(i % 2) as usize].into()],
            );
            items.push(if i % 2 == 0 {
                Held::from(a)
            } else {
                Held::from(a.entry)
            });
        }
        let categories = ["a", "b", "c", "社会"].map(String::from);
        let mut one_by_one = Catalog::new();
        for c in &categories {
            one_by_one.add_category(c);
        }
        for held in items.clone() {
            match held {
                Held::Full(a) => one_by_one.upsert((*a).clone()),
                Held::Entry(e) => one_by_one.upsert_entry((*e).clone()),
            };
        }
        let bulk = Catalog::from_articles(categories.clone(), items.clone());
        assert_same_catalog(&bulk, &one_by_one);

        // The first load's builder: unique paths in scrambled order (as
        // the readers deliver them) give the same catalog.
        let mut last: BTreeMap<Arc<str>, Held> = BTreeMap::new();
        for held in items {
            last.insert(held.rel().clone(), held);
        }
        let mut unique: Vec<Held> = last.into_values().collect();
        let n = unique.len();
        for i in 0..n {
            unique.swap(i, (i * 7919 + 13) % n);
        }
        let mut builder = CatalogBuilder::default();
        for held in unique {
            let rel = held.rel().clone();
            assert_eq!(&*builder.push(held), &*rel);
        }
        let built = builder.finish(categories);
        assert_same_catalog(&built, &one_by_one);
    }

    /// A first load's catalog with its terms and pages left for later
    /// takes every change as one with them built at once: a change builds
    /// them first.
    #[test]
    fn deferred_indexes_are_built_before_any_change() {
        let config = crate::config::Config::parse(
            std::path::Path::new("/cfg/herald.toml"),
            "[site]\ntitle = \"T\"\nbase_url = \"https://news.example\"\n",
        )
        .unwrap();
        let site = &config.site;
        let items: Vec<Article> = (0..40)
            .map(|i| {
                tagged(
                    &format!("a/{i}.md"),
                    &format!("2025-01-{:02}T00:00:00Z", 1 + i % 28),
                    &[["EV", "财政", "ev"][i % 3]],
                    &[["林金彥", "Jane Doe"][i % 2]],
                )
            })
            .collect();
        let built = |deferring: bool| {
            let mut builder = CatalogBuilder::for_site(site);
            for a in &items {
                builder.push(a.clone());
            }
            let categories = ["a".to_string()];
            if deferring {
                builder.finish_deferring(categories)
            } else {
                builder.finish(categories)
            }
        };
        let change = |c: &mut Catalog| {
            c.remove("a/3.md");
            c.upsert(tagged("a/4.md", "2025-02-01T00:00:00Z", &["Budget"], &[]));
            c.fill_body(items[5].clone());
        };
        let mut one_by_one = Catalog::for_site(site);
        one_by_one.add_category("a");
        for a in &items {
            one_by_one.upsert(a.clone());
        }
        change(&mut one_by_one);
        assert!(!one_by_one.pages.is_empty() && one_by_one.term(Taxonomy::Tags, "ev").is_some());

        let mut deferred = built(true);
        change(&mut deferred);
        assert_same_catalog(&deferred, &one_by_one);
        let mut at_once = built(false);
        change(&mut at_once);
        assert_same_catalog(&at_once, &one_by_one);
        // Unchanged, it builds them when asked.
        let mut untouched = built(true);
        untouched.complete_deferred();
        assert_same_catalog(&untouched, &built(false));
    }

    /// Every index of `a` equals `b`'s.
    fn assert_same_catalog(a: &Catalog, b: &Catalog) {
        assert_eq!(a.articles, b.articles);
        assert_eq!(a.categories, b.categories);
        assert_eq!(a.site, b.site);
        assert_eq!(a.by_updated, b.by_updated);
        assert_eq!(a.ids, b.ids);
        assert_eq!(a.bodies, b.bodies);
        // Term numbers depend on the order articles came in: the terms
        // compare by their articles' paths and their spellings.
        let terms = |c: &Catalog| {
            let end = DateTime::<chrono::Utc>::MAX_UTC.fixed_offset();
            Taxonomy::ALL
                .iter()
                .flat_map(|&tax| {
                    c.terms(tax).map(move |(k, t)| {
                        let paths: Vec<String> = c
                            .term_paths(tax, k, end, usize::MAX)
                            .into_iter()
                            .map(String::from)
                            .collect();
                        (tax, k.to_string(), paths, t.spellings.clone())
                    })
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(terms(a), terms(b));
        assert_eq!(a.pages, b.pages);
        assert_eq!(a.duplicate_ids(), b.duplicate_ids());
    }
}
