//! Article pages by path: each published article whose permalink lies
//! under the site's `base_url` has a page there; the index finds its
//! article, and warns of two articles with one page.

use std::cmp::Reverse;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use super::{id_hash, Catalog, Held};
use crate::article::Entry;
use crate::config::Site;

impl Catalog {
    /// The page path of `entry`, when the catalog was made for a site
    /// ([`Catalog::for_site`]) and the entry's permalink lies under its
    /// `base_url`. Worked out when needed rather than held per article.
    pub fn page_of(&self, entry: &Entry) -> Option<String> {
        entry.page(self.page_site.as_deref()?)
    }

    /// An empty catalog that indexes article pages under `site`.
    pub fn for_site(site: &Site) -> Self {
        Catalog {
            page_site: Some(Arc::new(site.clone())),
            ..Self::default()
        }
    }

    /// The catalog with its article pages indexed under `site` (for one
    /// built without a site, as [`Catalog::from_articles`] does).
    pub fn with_pages(mut self, site: &Site) -> Self {
        self.page_site = Some(Arc::new(site.clone()));
        let entries: Vec<&crate::article::Entry> =
            self.articles.values().map(Held::entry).collect();
        self.pages = super::builder::page_index(&entries, site);
        self
    }

    /// The article whose page is at the decoded URL path `page`: of
    /// several with one permalink, the first by path. Drafts have none;
    /// future-dated articles have one, shown once they are due.
    pub fn page_owner(&self, page: &str) -> Option<&Held> {
        debug_assert!(
            self.deferred.is_none(),
            "pages asked before complete_deferred"
        );
        let first = self.same_page(page).next()?;
        self.articles.get(&**first)
    }

    /// Paths of the articles whose page is at `page`, sorted (the twin of
    /// [`Catalog::same_id`]): the page index files them by hash, so each
    /// is checked.
    fn same_page<'a>(&'a self, page: &'a str) -> impl Iterator<Item = &'a Arc<str>> + 'a {
        self.pages
            .get(&id_hash(page))
            .into_iter()
            .flatten()
            .filter(move |p| {
                self.articles
                    .get(&***p)
                    .is_some_and(|a| self.page_of(a.entry()).as_deref() == Some(page))
            })
    }

    /// The entries of [`Catalog::duplicate_pages`] that involve the
    /// article at `rel`: its own, when an earlier path has its page, or,
    /// when it has the page, those of every later one.
    pub fn duplicate_pages_of(&self, rel: &str) -> Vec<(String, String, String)> {
        let Some(entry) = self.articles.get(rel).map(Held::entry) else {
            return Vec::new();
        };
        let Some(page) = self.page_of(entry).filter(|_| !entry.draft) else {
            return Vec::new();
        };
        let sharing: Vec<&Arc<str>> = self.same_page(&page).collect();
        super::ids::later_than_first(&sharing, rel)
            .map(|later| (later.to_string(), page.clone(), sharing[0].to_string()))
            .collect()
    }

    /// Articles whose page path repeats an earlier path's: (path, page
    /// path, the path that has the page).
    pub fn duplicate_pages(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for paths in self.pages.values().filter(|p| p.len() > 1) {
            let mut first: Vec<(String, &str)> = Vec::new();
            for p in paths {
                let Some(page) = self
                    .articles
                    .get(&**p)
                    .and_then(|a| self.page_of(a.entry()))
                else {
                    continue;
                };
                match first.iter().find(|(pg, _)| *pg == page) {
                    Some((_, owner)) => out.push((p.to_string(), page, owner.to_string())),
                    None => first.push((page, p)),
                }
            }
        }
        out.sort();
        out
    }

    /// Every published article's page path at `now`, owner first by path.
    pub fn pages_at(&self, now: DateTime<FixedOffset>) -> Vec<String> {
        let mut out: Vec<String> = self
            .site
            .iter()
            .filter(|(Reverse(date), _)| *date <= now)
            .filter_map(|(_, rel)| self.page_of(self.articles.get(&**rel)?.entry()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}
