//! A catalog built in bulk, as a first load reads the tree: each article
//! pushed does its share of the work while the files are still being
//! read, and the indexes are sorted on all cores at the end.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::term::terms_of;
use super::{id_hash, Catalog, Held, IdPaths, Key, Term};
use crate::config::Site;
use crate::taxonomy;

/// A term as a first load collects it: its articles' keys, unsorted, and
/// its spellings with their counts.
type TermParts = (Vec<Key>, FxHashMap<Arc<str>, u32>);

/// A catalog built one article at a time, in any order, as a first load
/// reads them: each [`CatalogBuilder::push`] does the article's share of
/// the work while the files are still being read, and
/// [`CatalogBuilder::finish`] sorts the indexes on all cores at once.
#[derive(Debug, Default)]
pub struct CatalogBuilder {
    map: Vec<(Arc<str>, Held)>,
    per_category: FxHashMap<String, Vec<Key>>,
    site: Vec<Key>,
    by_updated: Vec<Key>,
    ids: FxHashMap<u64, IdPaths>,
    bodies: FxHashSet<Arc<str>>,
    /// Per taxonomy and key: the articles' keys, and their spellings.
    terms: [FxHashMap<String, TermParts>; 2],
    /// The key of each tag and author name seen (see `taxonomy::key`).
    keys: FxHashMap<Arc<str>, Box<str>>,
    pages: FxHashMap<u64, IdPaths>,
    /// The site that gives articles their pages (see [`Catalog::for_site`]).
    page_site: Option<Arc<Site>>,
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
            by_updated: Vec::with_capacity(n),
            ids: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            ..Default::default()
        }
    }

    /// Adds an article, returning its path as the catalog will hold it,
    /// for callers keying their own maps by path. Paths must be unique: a
    /// second article at one path would be indexed twice.
    pub fn push(&mut self, held: impl Into<Held>) -> Arc<str> {
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
            for (tax, name) in terms_of(article) {
                // A name's key is worked out once per load, not per article.
                let k = match self.keys.get(&**name) {
                    Some(k) => k,
                    None => self
                        .keys
                        .entry(Arc::clone(name))
                        .or_insert_with(|| taxonomy::key(name).into()),
                };
                let by_key = &mut self.terms[tax.index()];
                let (keys, spellings) = match by_key.get_mut(&**k) {
                    Some(parts) => parts,
                    None => by_key.entry(k.to_string()).or_default(),
                };
                keys.push(key.clone());
                *spellings.entry(Arc::clone(name)).or_default() += 1;
            }
            if let Some(p) = self.page_site.as_deref().and_then(|s| article.page(s)) {
                self.pages
                    .entry(id_hash(&p))
                    .or_default()
                    .push(Arc::clone(&rel));
            }
            self.site.push(key);
            self.by_updated
                .push((Reverse(article.updated), Arc::clone(&rel)));
        } else if !article.category.is_empty()
            && !self.per_category.contains_key(&*article.category)
        {
            self.per_category
                .insert(article.category.to_string(), Vec::new());
        }
        self.ids
            .entry(id_hash(&article.id))
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
        use rayon::prelude::*;
        let CatalogBuilder {
            mut map,
            mut per_category,
            site,
            by_updated,
            mut ids,
            bodies,
            terms,
            mut pages,
            keys: _,
            page_site,
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
        let ((articles, categories), ((site, by_updated), ())) = rayon::join(
            || {
                rayon::join(
                    || {
                        map.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
                        map.into_iter().collect()
                    },
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
                    || rayon::join(|| sorted(site), || sorted(by_updated)),
                    // Each id's paths in path order.
                    || ids.values_mut().for_each(|paths| paths.sort_unstable()),
                )
            },
        );
        pages.values_mut().for_each(|paths| paths.sort_unstable());
        let terms = terms.map(|by_key| {
            by_key
                .into_par_iter()
                .map(|(k, (keys, spellings))| {
                    let term = Term {
                        items: {
                            let mut keys = keys;
                            keys.sort_unstable();
                            keys.dedup();
                            keys.shrink_to_fit();
                            keys
                        },
                        spellings: spellings.into_iter().collect(),
                    };
                    (k, term)
                })
                .collect::<Vec<_>>()
                .into_iter()
                .collect()
        });
        Catalog {
            articles,
            categories,
            site,
            by_updated,
            ids,
            bodies,
            terms,
            pages,
            page_site,
        }
    }
}
