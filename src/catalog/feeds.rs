//! The catalog's queries for feeds: a category's or the site's items at a
//! time (`now`), how many are published, the newest update, and when the
//! next scheduled article comes due.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use super::*;

impl Catalog {
    /// The ordered articles of a category, or of the site with `None`.
    fn set(&self, category: Option<&str>) -> Option<&BTreeSet<Key>> {
        match category {
            None => Some(&self.site),
            Some(c) => self.categories.get(c),
        }
    }

    /// The newest `limit` published articles of a category (or the site
    /// with `None`) at time `now`.
    pub fn feed_items(
        &self,
        category: Option<&str>,
        now: DateTime<FixedOffset>,
        limit: usize,
    ) -> Vec<Arc<Article>> {
        let Some(set) = self.set(category) else {
            return Vec::new();
        };
        set.iter()
            .filter(|(Reverse(date), _)| *date <= now)
            .take(limit)
            // Feeds show articles read in full; the publisher reads the
            // windows before rendering, so only a file unreadable right now
            // is left out.
            .filter_map(|(_, rel)| self.articles.get(&**rel)?.full().cloned())
            .collect()
    }

    /// The paths of the newest `limit` published articles of a category
    /// (or the site with `None`) at `now`, whether or not they are held in
    /// full: the places a feed's items take.
    pub fn feed_paths(
        &self,
        category: Option<&str>,
        now: DateTime<FixedOffset>,
        limit: usize,
    ) -> Vec<&str> {
        let Some(set) = self.set(category) else {
            return Vec::new();
        };
        set.iter()
            .filter(|(Reverse(date), _)| *date <= now)
            .take(limit)
            .map(|(_, rel)| &**rel)
            .collect()
    }

    /// Number of published articles of a category (or the site) at `now`.
    pub fn published_count(&self, category: Option<&str>, now: DateTime<FixedOffset>) -> usize {
        let Some(set) = self.set(category) else {
            return 0;
        };
        let future = set
            .iter()
            .take_while(|(Reverse(date), _)| *date > now)
            .count();
        set.len() - future
    }

    /// The newest `updated` among all published articles, for empty feeds.
    pub fn newest_updated(&self, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
        // Newest `updated` first; only future-dated articles are skipped.
        self.by_updated
            .iter()
            .find(|(_, rel)| {
                self.articles
                    .get(&**rel)
                    .is_some_and(|a| a.entry().date <= now)
            })
            .map(|(Reverse(updated), _)| *updated)
    }

    /// The earliest publication time after `now`: when the next scheduled
    /// article becomes due.
    pub fn next_due(&self, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
        self.site
            .iter()
            .take_while(|(Reverse(date), _)| *date > now)
            .last()
            .map(|(Reverse(d), _)| *d)
    }

    /// Categories with an article that becomes due in `(after, until]`.
    pub fn due_between(
        &self,
        after: DateTime<FixedOffset>,
        until: DateTime<FixedOffset>,
    ) -> Change {
        let mut change = Change::default();
        for (Reverse(date), rel) in self.site.iter() {
            if *date <= after {
                break;
            }
            if *date <= until {
                change.site = true;
                if let Some(a) = self.articles.get(&**rel) {
                    let entry = a.entry();
                    if !entry.category.is_empty() {
                        change.categories.insert(entry.category.to_string());
                    }
                    change.note_terms(entry, self.page_of(entry));
                }
            }
        }
        change
    }
}
