//! One tag or author: its articles in feed order, and how they spell it.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use super::{Catalog, Key};
use crate::article::Article;
use crate::article::Entry;
use crate::taxonomy::Taxonomy;

/// One tag or author: its published-or-scheduled articles in feed order,
/// and how they spell it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Term {
    /// Sorted (newest first, then by path): a vector rather than a tree,
    /// a third of the memory for the hundreds of thousands of (article,
    /// term) pairs of a large newsroom; an insert moves at most one
    /// popular tag's entries.
    pub(super) items: Vec<Key>,
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

    pub(super) fn add(&mut self, key: Key, spelling: &Arc<str>) {
        if let Err(at) = self.items.binary_search(&key) {
            self.items.insert(at, key);
        }
        *self.spellings.entry(Arc::clone(spelling)).or_default() += 1;
    }

    pub(super) fn remove(&mut self, key: &Key, spelling: &str) {
        if let Ok(at) = self.items.binary_search(key) {
            self.items.remove(at);
        }
        if let Some(n) = self.spellings.get_mut(spelling) {
            *n -= 1;
            if *n == 0 {
                self.spellings.remove(spelling);
            }
        }
    }
}

/// Every (taxonomy, name) an entry is indexed under.
pub(super) fn terms_of(entry: &Entry) -> impl Iterator<Item = (Taxonomy, &Arc<str>)> {
    let tags = entry.tags.iter().map(|t| (Taxonomy::Tags, t));
    let authors = entry.authors.iter().map(|a| (Taxonomy::Authors, a));
    tags.chain(authors)
}

impl Catalog {
    /// The terms of a taxonomy by key, in key order.
    pub fn terms(&self, tax: Taxonomy) -> impl Iterator<Item = (&str, &Term)> {
        self.terms[tax.index()].iter().map(|(k, t)| (k.as_str(), t))
    }

    /// The term of a taxonomy with this key.
    pub fn term(&self, tax: Taxonomy, key: &str) -> Option<&Term> {
        self.terms[tax.index()].get(key)
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
        let Some(term) = self.term(tax, key) else {
            return Vec::new();
        };
        term.items
            .iter()
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
        let future = term
            .items
            .iter()
            .take_while(|(Reverse(date), _)| *date > now)
            .count();
        term.items.len() - future
    }
}
