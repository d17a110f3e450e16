//! One tag or author: its articles in feed order, and how they spell it.
//! A term holds its articles as 4-byte numbers ([`Numbers`]): a large
//! newsroom has hundreds of thousands of (article, term) pairs, and a
//! number is an eighth of the article's sort key.

use std::cmp::{Ordering, Reverse};
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use super::{Catalog, Key};
use crate::article::Article;
use crate::article::Entry;
use crate::taxonomy::Taxonomy;

/// The numbers terms hold their articles by: each published-or-scheduled
/// article with a tag or author has one, for as long as it is in a term,
/// and the number gives its sort key (newest first, then by path).
/// Freed numbers are reused, so the table grows with the articles held,
/// not with the edits made.
#[derive(Debug, Clone, Default)]
pub(super) struct Numbers {
    /// By number: the article's sort key; `None` for a free number.
    keys: Vec<Option<Key>>,
    /// Numbers free for reuse.
    free: Vec<u32>,
}

impl Numbers {
    /// The numbers of a first load: number `n` is the article with sort
    /// key `keys[n]`, or free where that is `None`. With `keys` sorted,
    /// numbers in ascending order are in feed order.
    pub(super) fn sorted(keys: Vec<Option<Key>>) -> Numbers {
        let free = (0..keys.len() as u32)
            .filter(|&n| keys[n as usize].is_none())
            .collect();
        Numbers { keys, free }
    }

    /// A number for the article with sort key `key`.
    fn take(&mut self, key: Key) -> u32 {
        match self.free.pop() {
            Some(n) => {
                self.keys[n as usize] = Some(key);
                n
            }
            None => {
                self.keys.push(Some(key));
                // A catalog holds far fewer than 2^32 articles.
                (self.keys.len() - 1) as u32
            }
        }
    }

    /// Frees the number `n`.
    fn release(&mut self, n: u32) {
        self.keys[n as usize] = None;
        self.free.push(n);
    }

    /// The sort key of the article numbered `n` (`None`: a free number,
    /// which no term holds).
    fn key(&self, n: u32) -> Option<&Key> {
        self.keys.get(n as usize)?.as_ref()
    }

    /// Feed order of the articles numbered `a` and `b`.
    fn cmp(&self, a: u32, b: u32) -> Ordering {
        self.key(a).cmp(&self.key(b))
    }
}

/// One tag or author: its published-or-scheduled articles in feed order,
/// and how they spell it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Term {
    /// The articles' numbers ([`Numbers`]), sorted by their keys: newest
    /// first, then by path. A vector rather than a tree: an insert moves
    /// at most one popular tag's numbers.
    pub(super) items: Vec<u32>,
    /// Each spelling and how many of the articles use it.
    pub(super) spellings: BTreeMap<Arc<str>, u32>,
}

impl Term {
    /// The spelling most of its articles use; ties go to the first in
    /// code-point order.
    pub fn name(&self) -> &str {
        let mut best: Option<(&Arc<str>, u32)> = None;
        // In code-point order: a later spelling wins only with more uses.
        for (spelling, n) in &self.spellings {
            if best.is_none_or(|(_, m)| *n > m) {
                best = Some((spelling, *n));
            }
        }
        best.map_or("", |(s, _)| s)
    }

    fn add(&mut self, n: u32, numbers: &Numbers, spelling: &str) {
        if let Err(at) = self.items.binary_search_by(|&m| numbers.cmp(m, n)) {
            self.items.insert(at, n);
        }
        match self.spellings.get_mut(spelling) {
            Some(uses) => *uses += 1,
            None => {
                self.spellings.insert(Arc::from(spelling), 1);
            }
        }
    }

    /// Takes out the article with sort key `key` and one use of
    /// `spelling`; returns the article's number when it was held here.
    fn remove(&mut self, key: &Key, numbers: &Numbers, spelling: &str) -> Option<u32> {
        let taken = match self
            .items
            .binary_search_by(|&m| numbers.key(m).cmp(&Some(key)))
        {
            Ok(at) => Some(self.items.remove(at)),
            Err(_) => None,
        };
        if let Some(n) = self.spellings.get_mut(spelling) {
            *n -= 1;
            if *n == 0 {
                self.spellings.remove(spelling);
            }
        }
        taken
    }
}

/// Every (taxonomy, name) an entry is indexed under.
pub(super) fn terms_of(entry: &Entry) -> impl Iterator<Item = (Taxonomy, &str)> {
    let tags = entry.tags().iter().map(|t| (Taxonomy::Tags, t));
    let authors = entry.authors().iter().map(|a| (Taxonomy::Authors, a));
    tags.chain(authors)
}

impl Catalog {
    /// The terms of a taxonomy by key, in key order.
    pub fn terms(&self, tax: Taxonomy) -> impl Iterator<Item = (&str, &Term)> {
        debug_assert!(
            self.deferred.is_none(),
            "terms asked before complete_deferred"
        );
        self.terms[tax.index()].iter().map(|(k, t)| (k.as_str(), t))
    }

    /// The term of a taxonomy with this key.
    pub fn term(&self, tax: Taxonomy, key: &str) -> Option<&Term> {
        debug_assert!(
            self.deferred.is_none(),
            "terms asked before complete_deferred"
        );
        self.terms[tax.index()].get(key)
    }

    /// The sort keys of a term's articles, in feed order.
    fn term_keys(&self, tax: Taxonomy, key: &str) -> impl Iterator<Item = &Key> {
        self.term(tax, key)
            .into_iter()
            .flat_map(|t| &t.items)
            .filter_map(|&n| self.numbers.key(n))
    }

    /// Adds the published-or-scheduled article with sort key `key` to the
    /// terms of `entry`, noting each term (by key) in `touched`.
    pub(super) fn add_terms(
        &mut self,
        entry: &Entry,
        key: &Key,
        touched: &mut impl FnMut(Taxonomy, String),
    ) {
        let mut number = None;
        for (tax, name) in terms_of(entry) {
            let n = *number.get_or_insert_with(|| self.numbers.take(key.clone()));
            let k = crate::taxonomy::key(name);
            self.terms[tax.index()]
                .entry(k.clone())
                .or_default()
                .add(n, &self.numbers, name);
            touched(tax, k);
        }
    }

    /// Takes the article with sort key `key` out of the terms of `entry`
    /// (a term left without articles goes), noting each term (by key) in
    /// `touched`, and frees its number.
    pub(super) fn remove_terms(
        &mut self,
        entry: &Entry,
        key: &Key,
        touched: &mut impl FnMut(Taxonomy, String),
    ) {
        let mut number = None;
        for (tax, name) in terms_of(entry) {
            let k = crate::taxonomy::key(name);
            let by_key = &mut self.terms[tax.index()];
            if let Some(term) = by_key.get_mut(&k) {
                if let Some(n) = term.remove(key, &self.numbers, name) {
                    number = Some(n);
                }
                if term.items.is_empty() {
                    by_key.remove(&k);
                }
            }
            touched(tax, k);
        }
        if let Some(n) = number {
            self.numbers.release(n);
        }
    }

    /// The newest `limit` published articles of a term at `now`, read in
    /// full: those the catalog holds in full.
    pub fn term_items(
        &self,
        tax: Taxonomy,
        key: &str,
        now: DateTime<FixedOffset>,
        limit: usize,
    ) -> Vec<Arc<Article>> {
        self.term_paths(tax, key, now, limit)
            .into_iter()
            .filter_map(|rel| self.articles.get(rel)?.full().cloned())
            .collect()
    }

    /// The paths of the newest `limit` published articles of a term at `now`.
    pub fn term_paths(
        &self,
        tax: Taxonomy,
        key: &str,
        now: DateTime<FixedOffset>,
        limit: usize,
    ) -> Vec<&str> {
        self.term_keys(tax, key)
            .filter(|(Reverse(date), _)| *date <= now)
            .take(limit)
            .map(|(_, rel)| &**rel)
            .collect()
    }

    /// Number of published articles of a term at `now` (0 for none: such
    /// a term has no pages).
    pub fn term_count(&self, tax: Taxonomy, key: &str, now: DateTime<FixedOffset>) -> usize {
        let Some(term) = self.term(tax, key) else {
            return 0;
        };
        let future = self
            .term_keys(tax, key)
            .take_while(|(Reverse(date), _)| *date > now)
            .count();
        term.items.len() - future
    }
}
