//! A catalog built in bulk, as a first load reads the tree: each article
//! pushed does its share of the work while the files are still being
//! read, and the indexes are sorted on all cores at the end.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::term::{terms_of, Numbers};
use super::{id_hash, Catalog, Held, IdPaths, Key, Term};
use crate::article::Entry;
use crate::config::Site;
use crate::taxonomy;

/// A term as a first load collects it: its key, and its articles'
/// numbers (places in `CatalogBuilder::site`), unsorted.
#[derive(Debug)]
struct TermParts {
    key: String,
    numbers: Vec<u32>,
}

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
        let page = match site {
            Some(site) if !entry.draft => entry.page_in(site, buf).map(|p| id_hash(&p)),
            _ => None,
        };
        Prepared {
            id: id_hash(&entry.id),
            page,
        }
    }
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
    /// Per place in `site`: whether the article is in a term (only those
    /// keep a number).
    in_terms: Vec<bool>,
    by_updated: Vec<Key>,
    ids: FxHashMap<u64, IdPaths>,
    bodies: FxHashSet<Arc<str>>,
    /// Per taxonomy: the terms, in the order first seen.
    terms: [Vec<TermParts>; 2],
    /// Per taxonomy: each spelling seen, with its term (a place in
    /// `terms`) and how many articles use it. One lookup per name an
    /// article gives; a term's key is worked out once per spelling.
    spellings: [FxHashMap<Arc<str>, (u32, u32)>; 2],
    /// Per taxonomy: each term's place in `terms`, by key.
    term_at: [FxHashMap<String, u32>; 2],
    pages: FxHashMap<u64, IdPaths>,
    /// The site that gives articles their pages (see [`Catalog::for_site`]).
    page_site: Option<Arc<Site>>,
    /// The buffer page paths are worked out in.
    link_buf: String,
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
            in_terms: Vec::with_capacity(n),
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
    /// second article at one path would be indexed twice.
    pub fn push(&mut self, held: impl Into<Held>) -> Arc<str> {
        let held = held.into();
        let mut buf = std::mem::take(&mut self.link_buf);
        let prepared = Prepared::of(held.entry(), self.page_site.as_deref(), &mut buf);
        self.link_buf = buf;
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
            let mut in_terms = false;
            for (tax, name) in terms_of(article) {
                in_terms = true;
                let t = tax.index();
                let at = match self.spellings[t].get_mut(&**name) {
                    Some((at, uses)) => {
                        *uses += 1;
                        *at
                    }
                    None => {
                        let k = taxonomy::key(name);
                        let at = match self.term_at[t].get(&k) {
                            Some(&at) => at,
                            None => {
                                let at = self.terms[t].len() as u32;
                                self.term_at[t].insert(k.clone(), at);
                                self.terms[t].push(TermParts {
                                    key: k,
                                    numbers: Vec::new(),
                                });
                                at
                            }
                        };
                        self.spellings[t].insert(Arc::clone(name), (at, 1));
                        at
                    }
                };
                self.terms[t][at as usize].numbers.push(n);
            }
            self.in_terms.push(in_terms);
            if let Some(page) = prepared.page {
                self.pages.entry(page).or_default().push(Arc::clone(&rel));
            }
            self.site.push((key, n));
            self.by_updated
                .push((Reverse(article.updated), Arc::clone(&rel)));
        } else if !article.category.is_empty()
            && !self.per_category.contains_key(&*article.category)
        {
            self.per_category
                .insert(article.category.to_string(), Vec::new());
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
        use rayon::prelude::*;
        let CatalogBuilder {
            mut map,
            mut per_category,
            mut site,
            in_terms,
            by_updated,
            mut ids,
            bodies,
            mut terms,
            spellings,
            term_at: _,
            mut pages,
            page_site,
            link_buf: _,
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
        let ((articles, categories), ((by_updated, ()), ())) = rayon::join(
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
                    || rayon::join(|| sorted(by_updated), || site.par_sort_unstable()),
                    // Each id's paths in path order.
                    || ids.values_mut().for_each(|paths| paths.sort_unstable()),
                )
            },
        );
        pages.values_mut().for_each(|paths| paths.sort_unstable());
        // The articles renumbered in feed order (their places in the
        // sorted site): a term's numbers sorted as integers are then in
        // feed order too. Articles in no term give their number up.
        let mut renumber = vec![0u32; site.len()];
        let mut keys = Vec::with_capacity(site.len());
        for (new, (key, old)) in site.iter().enumerate() {
            renumber[*old as usize] = new as u32;
            keys.push(in_terms[*old as usize].then(|| key.clone()));
        }
        let numbers = Numbers::sorted(keys);
        let site: BTreeSet<Key> = site.into_iter().map(|(key, _)| key).collect();
        let terms = [0, 1].map(|t| {
            let mut names: Vec<BTreeMap<Arc<str>, u32>> = vec![BTreeMap::new(); terms[t].len()];
            for (name, (at, uses)) in &spellings[t] {
                names[*at as usize].insert(Arc::clone(name), *uses);
            }
            std::mem::take(&mut terms[t])
                .into_par_iter()
                .zip(names)
                .map(|(TermParts { key, numbers }, spellings)| {
                    let term = Term {
                        items: {
                            let mut items = numbers;
                            for n in &mut items {
                                *n = renumber[*n as usize];
                            }
                            items.sort_unstable();
                            items.dedup();
                            items.shrink_to_fit();
                            items
                        },
                        spellings,
                    };
                    (key, term)
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
            numbers,
            pages,
            page_site,
        }
    }
}
