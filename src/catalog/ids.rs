//! Article ids: the paths holding each id (by hash), and the id each
//! article is published under when two articles share one (the earlier
//! path keeps it; later ones get a suffix derived from their path).

use std::sync::Arc;

use super::{Catalog, Change, Held};
use crate::article::Entry;

/// The hash the catalog files an id (and a page path) under.
pub(super) fn id_hash(id: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    h.write(id.as_bytes());
    h.finish()
}

impl Catalog {
    /// Paths of the articles whose id equals that of the article at `rel`
    /// (itself included), sorted.
    pub(super) fn same_id(&self, id: &str) -> Vec<&Arc<str>> {
        self.ids
            .get(&id_hash(id))
            .map(|paths| {
                paths
                    .iter()
                    .filter(|p| self.articles.get(&***p).is_some_and(|a| a.entry().id == id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Articles sharing an id change each other's published id (the first
    /// path keeps it), so every feed that lists one of them is affected
    /// too: its category's, and its tags' and authors'.
    pub(super) fn note_id_sharers(&self, rel: &str, change: &mut Change) {
        let Some(article) = self.articles.get(rel) else {
            return;
        };
        for other in self.same_id(&article.entry().id) {
            if &**other == rel {
                continue;
            }
            if let Some(a) = self.articles.get(&**other) {
                let category = &a.entry().category;
                if !category.is_empty() {
                    change.categories.insert(category.to_string());
                }
                if !a.entry().draft {
                    change.note_terms(a.entry(), None);
                }
            }
        }
    }

    /// The id an article is published under: its own, or, when an article
    /// with an earlier path has the same id, the id with a suffix derived
    /// from its path.
    pub fn effective_id(&self, article: &Entry) -> String {
        match self.same_id(&article.id).first() {
            Some(first) if ***first != *article.rel => {
                let h = blake3::hash(article.rel.as_bytes()).to_hex();
                format!("{}-{}", article.id, &h[..8])
            }
            _ => article.id.clone(),
        }
    }

    /// The entries of [`Catalog::duplicate_ids`] that involve the article
    /// at `rel`: its own, when an earlier path has its id, or, when it is
    /// that earlier path, those of every later one.
    pub fn duplicate_ids_of(&self, rel: &str) -> Vec<(String, String, String)> {
        let Some(article) = self.articles.get(rel).map(Held::entry) else {
            return Vec::new();
        };
        let same = self.same_id(&article.id);
        later_than_first(&same, rel)
            .map(|later| (later.to_string(), article.id.clone(), same[0].to_string()))
            .collect()
    }

    /// Articles whose id duplicates that of an earlier path: (path, id, first path).
    pub fn duplicate_ids(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for paths in self.ids.values().filter(|p| p.len() > 1) {
            let mut seen: Vec<&str> = Vec::new();
            for p in paths {
                let Some(a) = self.articles.get(&**p).map(Held::entry) else {
                    continue;
                };
                if seen.contains(&a.id.as_str()) {
                    continue;
                }
                seen.push(&a.id);
                let same = self.same_id(&a.id);
                if let Some((first, rest)) = same.split_first() {
                    for r in rest {
                        out.push((r.to_string(), a.id.clone(), first.to_string()));
                    }
                }
            }
        }
        out.sort();
        out
    }
}

/// Of `paths` (sorted, sharing one id or page), those a warning names
/// when `rel` is among them: `rel` itself if it is not the first, else
/// every other.
pub(super) fn later_than_first<'a, P: AsRef<str>>(
    paths: &'a [P],
    rel: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    let first = paths.first().map(AsRef::as_ref);
    paths
        .iter()
        .map(AsRef::as_ref)
        .skip(1)
        .filter(move |p| first == Some(rel) || *p == rel)
}

#[cfg(test)]
mod tests {
    use super::super::tests::art;
    use super::*;
    use crate::taxonomy::{self, Taxonomy};

    #[test]
    fn duplicate_ids_get_a_derived_id_for_the_later_path() {
        let mut c = Catalog::new();
        let mut a = art("a/1.md", "2025-01-01T00:00:00Z");
        a.entry.id = "same".into();
        let mut b = art("b/1.md", "2025-01-01T00:00:00Z");
        b.entry.id = "same".into();
        c.upsert(b.clone());
        c.upsert(a.clone());
        assert_eq!(c.effective_id(&a), "same");
        assert_ne!(c.effective_id(&b), "same");
        assert!(c.effective_id(&b).starts_with("same-"));
        assert_eq!(
            c.duplicate_ids(),
            vec![("b/1.md".into(), "same".into(), "a/1.md".into())]
        );
        c.remove("a/1.md");
        assert_eq!(c.effective_id(&b), "same");
    }

    #[test]
    fn the_duplicates_of_each_article_are_those_of_the_catalog_that_name_it() {
        let mut c = Catalog::new();
        for (rel, id) in [
            ("a/1.md", "x"),
            ("b/1.md", "x"),
            ("c/1.md", "x"),
            ("c/2.md", "y"),
            ("d/1.md", "y"),
            ("d/2.md", "z"),
        ] {
            let mut a = art(rel, "2025-01-01T00:00:00Z");
            a.entry.id = id.into();
            c.upsert(a);
        }
        let all = c.duplicate_ids();
        assert_eq!(all.len(), 3, "{all:?}");
        let mut union = Vec::new();
        for rel in ["a/1.md", "b/1.md", "c/1.md", "c/2.md", "d/1.md", "d/2.md"] {
            let of = c.duplicate_ids_of(rel);
            assert!(
                of.iter()
                    .all(|(later, _, first)| later == rel || first == rel),
                "{rel}: {of:?}"
            );
            union.extend(of);
        }
        union.sort();
        union.dedup();
        assert_eq!(union, all);
        // The first holder names every later one; a later one only itself.
        assert_eq!(c.duplicate_ids_of("a/1.md").len(), 2);
        assert_eq!(
            c.duplicate_ids_of("c/1.md"),
            [("c/1.md".into(), "x".into(), "a/1.md".into())]
        );
        assert!(c.duplicate_ids_of("d/2.md").is_empty());
        assert!(c.duplicate_ids_of("gone.md").is_empty());
    }

    #[test]
    fn a_shared_id_changing_hands_touches_the_other_articles_term_feeds() {
        let mut c = Catalog::new();
        let mut a = art("a/1.md", "2025-01-01T00:00:00Z");
        a.entry = a.entry.clone().with_names(&["Alpha"], &["Ann"]);
        a.entry.id = "same".into();
        let mut b = art("b/1.md", "2025-01-01T00:00:00Z");
        b.entry = b.entry.clone().with_names(&["Beta"], &["Bob"]);
        b.entry.id = "same".into();
        c.upsert(b.clone());
        let bs_feeds = [
            (Taxonomy::Tags, taxonomy::key("Beta")),
            (Taxonomy::Authors, taxonomy::key("Bob")),
        ];
        // b's published id gains a suffix when a arrives and loses it when
        // a goes: b's tag and author feeds list that id.
        for change in [c.upsert(a.clone()), c.remove("a/1.md")] {
            assert!(change.categories.contains("b"));
            for feed in &bs_feeds {
                assert!(change.terms.contains(feed), "{feed:?} in {change:?}");
            }
        }
    }
}
