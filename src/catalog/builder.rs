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
