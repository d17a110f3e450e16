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

/// A spelling of a term as a first load finds it.
#[derive(Debug, Clone)]
struct Spelling {
    name: Arc<str>,
    /// The term: a place in `CatalogBuilder::terms`.
    term: u32,
}

/// A spelling as [`CatalogBuilder`] finds it by hash.
#[derive(Debug, Clone, Copy)]
struct HashedSpelling {
    /// Its place in `CatalogBuilder::spellings`.
    slot: u32,
    /// Where its text lies in `CatalogBuilder::text`.
    start: u32,
    len: u32,
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
    /// Per taxonomy: the terms' keys, in the order first seen.
    terms: [Vec<String>; 2],
    /// Per taxonomy: each name an article gives, as (its spelling's place
    /// in `spellings`, the article's number), in the order pushed: one
    /// append per name while the files are read; `finish` groups them by
    /// term.
    uses: [Vec<(u32, u32)>; 2],
    /// Per taxonomy: each spelling seen, with its term (a place in
    /// `terms`). A term's key is worked out once per spelling.
    spellings: [Vec<Spelling>; 2],
    /// Per taxonomy: each spelling's place in `spellings`.
    spelling_at: [FxHashMap<Arc<str>, u32>; 2],
    /// Per taxonomy: a spelling by the hash of its text ([`name_hash`];
    /// the first spelling seen with a hash): its place in `spellings`,
    /// and where its text lies in `text` (start, length), to check it
    /// against. A first load looks hundreds of thousands of names up among
    /// a few thousand spellings: this map and `text` stay in cache, where
    /// the spellings' own allocations, spread over the heap between the
    /// articles', would not.
    by_hash: [FxHashMap<u64, HashedSpelling>; 2],
    /// Per taxonomy: the text of every spelling, one after another.
    text: [String; 2],
    /// Per taxonomy: each term's place in `terms`, by key.
    term_at: [FxHashMap<String, u32>; 2],
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
            let mut in_terms = false;
            for (tax, name) in terms_of(article) {
                in_terms = true;
                let t = tax.index();
                let slot = self.slot_of(t, name);
                self.uses[t].push((slot, n));
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

    /// The place in `spellings[t]` of the spelling `name`: by its hash,
    /// checked against its text; else [`CatalogBuilder::spelling_slot`].
    fn slot_of(&mut self, t: usize, name: &str) -> u32 {
        let hash = name_hash(name);
        if let Some(h) = self.by_hash[t].get(&hash) {
            if self.text[t].get(h.start as usize..(h.start + h.len) as usize) == Some(name) {
                return h.slot;
            }
        }
        let slot = self.spelling_slot(t, name);
        if let std::collections::hash_map::Entry::Vacant(e) = self.by_hash[t].entry(hash) {
            // The spellings' text is far shorter than 4 GiB.
            let start = self.text[t].len() as u32;
            self.text[t].push_str(name);
            e.insert(HashedSpelling {
                slot,
                start,
                len: name.len() as u32,
            });
        }
        slot
    }

    /// The place in `spellings[t]` of the spelling `name`, added (with
    /// its term, added too when new) the first time it is seen.
    fn spelling_slot(&mut self, t: usize, name: &str) -> u32 {
        if let Some(&slot) = self.spelling_at[t].get(name) {
            return slot;
        }
        let k = taxonomy::key(name);
        let term = match self.term_at[t].get(&k) {
            Some(&at) => at,
            None => {
                let at = self.terms[t].len() as u32;
                self.term_at[t].insert(k.clone(), at);
                self.terms[t].push(k);
                at
            }
        };
        let slot = self.spellings[t].len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.spellings[t].push(Spelling {
            name: Arc::clone(&name),
            term,
        });
        self.spelling_at[t].insert(name, slot);
        slot
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
            in_terms,
            by_updated,
            mut ids,
            bodies,
            terms,
            uses,
            spellings,
            spelling_at: _,
            by_hash: _,
            text: _,
            term_at: _,
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
        let ((articles, categories), ((by_updated, ()), (site, renumbered))) = rayon::join(
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
                    || site_renumbered(site, &in_terms),
                )
            },
        );
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
                renumbered,
                terms,
                uses,
                spellings,
                pages: pages_from_entries,
            })),
            ..Catalog::default()
        }
    }
}

/// The articles by path. Their places are sorted rather than the
/// articles themselves: a sort moves each element many times, and an
/// article is ten times the size of a place.
fn by_path(map: Vec<(Arc<str>, Held)>) -> BTreeMap<Arc<str>, Held> {
    use rayon::prelude::*;
    // A catalog holds far fewer than 2^32 articles.
    let mut order: Vec<u32> = (0..map.len() as u32).collect();
    order.par_sort_unstable_by(|&a, &b| map[a as usize].0.cmp(&map[b as usize].0));
    let mut slots: Vec<Option<(Arc<str>, Held)>> = map.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots[i as usize].take())
        .collect()
}

/// The indexes of a first load that no feed needs, left to be built
/// ([`Deferred::build`]) once the catalog is serving: the terms, and the
/// pages of articles pushed without their hashes.
#[derive(Debug, Clone)]
pub(super) struct Deferred {
    /// Per article number as pushed: its place in the site's feed order,
    /// and whether it is in a term.
    renumbered: Vec<(u32, bool)>,
    /// Per taxonomy: the terms' keys, uses and spellings, as
    /// [`CatalogBuilder`] holds them.
    terms: [Vec<String>; 2],
    uses: [Vec<(u32, u32)>; 2],
    spellings: [Vec<Spelling>; 2],
    /// Whether the pages are to be worked out from the entries.
    pages: bool,
}

impl Deferred {
    /// Builds the deferred indexes into `catalog`, whose site's set is the
    /// one these were found with. The articles are numbered in feed order
    /// (their places in that set): a term's numbers sorted as integers are
    /// then in feed order too. Articles in no term give their number up.
    pub(super) fn build(self, catalog: &mut Catalog) {
        let Deferred {
            renumbered,
            terms: [tag_keys, author_keys],
            uses: [tag_uses, author_uses],
            spellings,
            pages,
        } = self;
        let site = &catalog.site;
        let page_index = || match (&catalog.page_site, pages) {
            (Some(page_site), true) => Some(page_index(&catalog.articles, page_site)),
            _ => None,
        };
        let ((keys, pages), (tags, authors)) = rayon::join(
            || {
                rayon::join(
                    || {
                        let mut in_terms = vec![false; site.len()];
                        for &(new, is) in &renumbered {
                            in_terms[new as usize] = is;
                        }
                        site.iter()
                            .zip(in_terms)
                            .map(|(key, is)| is.then(|| key.clone()))
                            .collect::<Vec<Option<Key>>>()
                    },
                    page_index,
                )
            },
            || {
                rayon::join(
                    || term_index(tag_keys, &spellings[0], tag_uses, &renumbered),
                    || term_index(author_keys, &spellings[1], author_uses, &renumbered),
                )
            },
        );
        catalog.numbers = Numbers::sorted(keys);
        catalog.terms = [tags, authors];
        if let Some(pages) = pages {
            catalog.pages = pages;
        }
    }
}

/// The paths of `articles`' published-or-scheduled articles by the hash
/// of their page under `site` (see [`Prepared`]), each hash's paths in
/// path order; worked out on all cores.
pub(super) fn page_index(
    articles: &BTreeMap<Arc<str>, Held>,
    site: &Site,
) -> FxHashMap<u64, IdPaths> {
    use rayon::prelude::*;
    let entries: Vec<&Entry> = articles.values().map(Held::entry).collect();
    let hashed: Vec<(u64, &Arc<str>)> = entries
        .par_iter()
        .map_init(String::new, |buf, entry| {
            Some((Prepared::of(entry, Some(site), buf).page?, &entry.rel))
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

/// The site's set from `site` (each sort key with the article's number
/// as pushed), and per number its place in that set and `in_terms`
/// (whether the article is in a term).
fn site_renumbered(
    mut site: Vec<(Key, u32)>,
    in_terms: &[bool],
) -> (BTreeSet<Key>, Vec<(u32, bool)>) {
    use rayon::prelude::*;
    site.par_sort_unstable();
    let mut renumbered = vec![(0u32, false); site.len()];
    for (new, (_, old)) in site.iter().enumerate() {
        renumbered[*old as usize] = (new as u32, in_terms[*old as usize]);
    }
    let site = site.into_iter().map(|(key, _)| key).collect();
    (site, renumbered)
}

/// The hash a spelling is first looked up by.
fn name_hash(name: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(name.as_bytes());
    h.finish()
}

/// A taxonomy's terms from a first load: `keys` by place, `spellings`
/// (each with its term's place) and `uses` (spelling, article number) in
/// any order; `renumbered` maps the numbers to feed order. The uses are
/// counted and grouped by term in two passes over them (a counting sort),
/// then each term's numbers sorted on all cores.
fn term_index(
    keys: Vec<String>,
    spellings: &[Spelling],
    uses: Vec<(u32, u32)>,
    renumbered: &[(u32, bool)],
) -> BTreeMap<String, Term> {
    use rayon::prelude::*;
    let mut per_spelling = vec![0u32; spellings.len()];
    for &(s, _) in &uses {
        per_spelling[s as usize] += 1;
    }
    // Where each term's numbers start in one buffer, and its spellings.
    let mut starts = vec![0usize; keys.len() + 1];
    let mut names: Vec<BTreeMap<Arc<str>, u32>> = vec![BTreeMap::new(); keys.len()];
    for (spelling, &count) in spellings.iter().zip(&per_spelling) {
        starts[spelling.term as usize + 1] += count as usize;
        names[spelling.term as usize].insert(Arc::clone(&spelling.name), count);
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut numbers = vec![0u32; uses.len()];
    for &(s, n) in &uses {
        let term = spellings[s as usize].term as usize;
        numbers[next[term]] = renumbered[n as usize].0;
        next[term] += 1;
    }
    // (Let go before the terms copy their numbers out: a million
    // articles give millions of uses.)
    drop(uses);
    // Each term's slice, cut off the buffer in turn.
    let mut slices = Vec::with_capacity(keys.len());
    let mut rest = &mut numbers[..];
    for w in starts.windows(2) {
        let (mine, after) = rest.split_at_mut(w[1] - w[0]);
        slices.push(mine);
        rest = after;
    }
    slices
        .into_par_iter()
        .zip(names)
        .zip(keys)
        .map(|((items, spellings), key)| {
            items.sort_unstable();
            let mut items = items.to_vec();
            items.dedup();
            (key, Term { items, spellings })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::Taxonomy;

    fn entry(rel: &str, tags: &[&str]) -> Entry {
        let date = chrono::DateTime::parse_from_rfc3339("2025-01-02T00:00:00Z").unwrap();
        Entry::new(
            Arc::from(rel),
            Arc::from("a"),
            "s".into(),
            (date, date),
            rel.into(),
            false,
        )
        .with_names(tags, &[])
    }

    #[test]
    fn a_spelling_whose_hash_another_holds_is_still_its_own() {
        let mut builder = CatalogBuilder::default();
        builder.push(entry("a/1.md", &["EV"]));
        // "财政" as if its hash were the one "EV" was filed under.
        let ev = builder.by_hash[0][&name_hash("EV")];
        builder.by_hash[0].insert(name_hash("财政"), ev);
        builder.push(entry("a/2.md", &["财政", "ev"]));
        builder.push(entry("a/3.md", &["财政"]));
        let catalog = builder.finish(["a".to_string()]);
        let end = chrono::DateTime::<chrono::Utc>::MAX_UTC.fixed_offset();
        let terms: Vec<(String, Vec<&str>, &str)> = catalog
            .terms(Taxonomy::Tags)
            .map(|(k, t)| {
                let paths = catalog.term_paths(Taxonomy::Tags, k, end, usize::MAX);
                (k.to_string(), paths, t.name())
            })
            .collect();
        assert_eq!(
            terms,
            [
                ("ev".to_string(), vec!["a/1.md", "a/2.md"], "EV"),
                ("财政".to_string(), vec!["a/2.md", "a/3.md"], "财政"),
            ]
        );
    }
}
