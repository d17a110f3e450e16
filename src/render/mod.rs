//! Catalog → bytes: RSS 2.0 through the `rss` crate, Atom
//! 1.0 through `atom_syndication`, JSON Feed 1.1 through serde, plus the
//! OPML list and the HTML pages. Every page is identified by a [`PageId`],
//! so the daemon can re-render only the pages a [`Change`] touches.
//!
//! Output depends only on the config, the catalog and the set of
//! published articles (decided by `now`): dates in feeds come from the
//! articles, never from the clock, so the same content gives the same
//! bytes everywhere. Every string is stripped of characters XML 1.0
//! forbids before it reaches a writer.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use crate::article::Article;
use crate::catalog::{Catalog, Change};
use crate::config::{Config, Format};
use crate::taxonomy::{self, Taxonomy};
use crate::url_segment::{encode_path, encode_segment};
use crate::variant::Script;

mod atom;
mod html;
mod json;
mod opml;
mod rss;
pub mod xml;

pub use xml::xml_clean;

/// One addressable output: a feed, a page or the OPML list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PageId {
    /// `/`.
    Index,
    /// `/<c>/`.
    CategoryIndex(String),
    /// `/<c>/<format file>` or, with `None`, the site-wide `/<format file>`.
    Feed(Option<String>, Format),
    /// `/feeds.opml`.
    Opml,
    /// `/tags/` or `/authors/`: every term with its article count.
    /// Rendered on request.
    TermList(Taxonomy),
    /// `/tags/<key>/`: a term's headlines and feeds. Rendered on request.
    TermIndex(Taxonomy, String),
    /// `/tags/<key>/<format file>`: a term's feed. Rendered on request.
    TermFeed(Taxonomy, String, Format),
    /// An article's page, at its permalink's (decoded) path under
    /// `site.base_url`. Rendered on request.
    ArticlePage(String),
    /// A page in a Chinese script variant, under `/zh-hans/` or `/zh-hant/`.
    Variant(Script, Box<PageId>),
}

impl PageId {
    /// The URL path, not percent-encoded (`/社会/rss.xml`): the key the
    /// server looks requests up by, after decoding them.
    pub fn path(&self) -> String {
        match self {
            PageId::Index => "/".into(),
            PageId::CategoryIndex(c) => format!("/{c}/"),
            PageId::Feed(None, f) => format!("/{}", f.file_name()),
            PageId::Feed(Some(c), f) => format!("/{c}/{}", f.file_name()),
            PageId::Opml => "/feeds.opml".into(),
            PageId::TermList(t) => format!("/{t}/"),
            PageId::TermIndex(t, k) => format!("/{t}/{k}/"),
            PageId::TermFeed(t, k, f) => format!("/{t}/{k}/{}", f.file_name()),
            PageId::ArticlePage(p) => p.clone(),
            PageId::Variant(v, p) => format!("/{}{}", v.segment(), p.path()),
        }
    }

    /// This page in variant `script`.
    pub fn in_variant(self, script: Script) -> PageId {
        match self {
            PageId::Variant(_, p) => PageId::Variant(script, p),
            p => PageId::Variant(script, Box::new(p)),
        }
    }

    /// The page in the original script (itself, outside a variant).
    pub fn original(&self) -> &PageId {
        match self {
            PageId::Variant(_, p) => p,
            p => p,
        }
    }

    /// A variant's prefix split off a request path: the variant, if the
    /// site serves it, and the rest (`/zh-hans/a/rss.xml` →
    /// `(Hans, /a/rss.xml)`).
    pub fn split_variant<'a>(config: &Config, path: &'a str) -> Option<(Script, &'a str)> {
        let rest = path.strip_prefix('/')?;
        let (segment, rest) = rest.split_once('/')?;
        let script = Script::from_segment(segment)?;
        config
            .site
            .variants
            .contains(&script)
            .then(|| (script, &path[1 + segment.len()..]))
            .filter(|_| !rest.is_empty() || path.ends_with('/'))
    }

    /// The page a request path names, when it is one rendered on request
    /// (a tag's or author's page or feed) under this config: its taxonomy
    /// and format enabled, its segment a key as herald writes it.
    pub fn on_demand(config: &Config, path: &str) -> Option<PageId> {
        if let Some((script, rest)) = PageId::split_variant(config, path) {
            return PageId::on_demand(config, rest).map(|p| p.in_variant(script));
        }
        let (name, rest) = path.strip_prefix('/')?.split_once('/')?;
        let tax = served_taxonomy(config, name)?;
        if rest.is_empty() {
            return Some(PageId::TermList(tax));
        }
        let (key, file) = rest.split_once('/')?;
        if key.is_empty() || taxonomy::key(key) != key {
            return None;
        }
        if file.is_empty() {
            return Some(PageId::TermIndex(tax, key.to_string()));
        }
        let f = *config
            .feeds
            .formats
            .iter()
            .find(|f| f.file_name() == file)?;
        Some(PageId::TermFeed(tax, key.to_string(), f))
    }

    /// The page at a decoded request path, whatever kind it is: for
    /// pages of a variant, which are all rendered on request. `None` when
    /// no page is there (a category that does not exist, say).
    pub fn at(config: &Config, catalog: &Catalog, path: &str) -> Option<PageId> {
        if let Some((script, rest)) = PageId::split_variant(config, path) {
            return PageId::at(config, catalog, rest).map(|p| p.in_variant(script));
        }
        if let Some(p) = PageId::on_demand(config, path) {
            return Some(p);
        }
        let format = |file: &str| {
            config
                .feeds
                .formats
                .iter()
                .copied()
                .find(|f| f.file_name() == file)
        };
        let rest = path.strip_prefix('/')?;
        let page = match rest.split_once('/') {
            None if rest.is_empty() => Some(PageId::Index),
            None if rest == "feeds.opml" => Some(PageId::Opml),
            None => format(rest).map(|f| PageId::Feed(None, f)),
            Some((c, "")) if catalog.has_category(c) => Some(PageId::CategoryIndex(c.to_string())),
            Some((c, file)) if catalog.has_category(c) && !file.contains('/') => {
                format(file).map(|f| PageId::Feed(Some(c.to_string()), f))
            }
            _ => None,
        };
        page.or_else(|| {
            catalog.page_owner(path)?;
            Some(PageId::ArticlePage(path.to_string()))
        })
    }

    /// Whether this page is rendered on request rather than with every
    /// change: there may be thousands of tags.
    pub fn is_on_demand(&self) -> bool {
        // A variant's pages too: served on request, let go when they
        // change, so variants cost nothing until read.
        matches!(self, PageId::Variant(..))
            || matches!(
                self.original(),
                PageId::TermList(_)
                    | PageId::TermIndex(..)
                    | PageId::TermFeed(..)
                    | PageId::ArticlePage(_)
            )
    }

    /// The file this page is written to by `herald build`, relative to the output dir.
    pub fn file_path(&self) -> String {
        match self {
            PageId::Index => "index.html".into(),
            PageId::CategoryIndex(c) => format!("{c}/index.html"),
            PageId::TermList(t) => format!("{t}/index.html"),
            PageId::TermIndex(t, k) => format!("{t}/{k}/index.html"),
            PageId::ArticlePage(p) if p.ends_with('/') => format!("{}index.html", &p[1..]),
            PageId::Variant(v, p) => format!("{}/{}", v.segment(), p.file_path()),
            other => other.path()[1..].to_string(),
        }
    }

    /// The category this page belongs to, if any.
    pub fn category(&self) -> Option<&str> {
        match self.original() {
            PageId::CategoryIndex(c) | PageId::Feed(Some(c), _) => Some(c),
            _ => None,
        }
    }
}

/// A rendered body and its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// The bytes.
    pub body: Vec<u8>,
    /// The `Link` header value, for feeds that name WebSub hubs.
    pub link: Option<String>,
}

/// Public URL of a page (percent-encoded, from `site.base_url`).
pub fn url_of(config: &Config, page: &PageId) -> String {
    let base = &config.site.base_url;
    match page {
        PageId::Variant(v, p) => match config.variant(*v) {
            Some(view) => url_of(view, p),
            None => format!("{base}/{}{}", v.segment(), &url_of(config, p)[base.len()..]),
        },
        PageId::Index => format!("{base}/"),
        PageId::CategoryIndex(c) => format!("{base}/{}/", encode_segment(c)),
        PageId::Feed(None, f) => format!("{base}/{}", f.file_name()),
        PageId::Feed(Some(c), f) => format!("{base}/{}/{}", encode_segment(c), f.file_name()),
        PageId::Opml => format!("{base}/feeds.opml"),
        PageId::TermList(t) => format!("{base}/{t}/"),
        PageId::TermIndex(t, k) => format!("{base}/{t}/{}/", encode_segment(k)),
        PageId::TermFeed(t, k, f) => {
            format!("{base}/{t}/{}/{}", encode_segment(k), f.file_name())
        }
        PageId::ArticlePage(p) => format!("{base}{}", encode_path(p)),
    }
}

/// The paths and output files of every page rendered with each change,
/// and herald's own routes: an article page never takes one of them.
pub fn claimed_paths(config: &Config, catalog: &Catalog) -> std::collections::HashSet<String> {
    let mut claimed: std::collections::HashSet<String> = ["/healthz", "/metrics", "/websub"]
        .into_iter()
        .map(String::from)
        .collect();
    for p in with_variants(config, all_pages(config, catalog)) {
        claimed.insert(format!("/{}", p.file_path()));
        claimed.insert(p.path());
    }
    claimed
}

/// The taxonomy served under the top-level path segment `name` (`tags`,
/// `authors`), if `feeds.taxonomies` has it on.
fn served_taxonomy(config: &Config, name: &str) -> Option<Taxonomy> {
    config
        .feeds
        .taxonomies
        .iter()
        .find(|t| t.name() == name)
        .copied()
}

/// Whether `page` is an article page at a path (or output file) that
/// [`claimed_paths`] gives to another page or a route, or that lies
/// under `/tags` or `/authors` (when served): those paths are herald's,
/// whichever spelling or term they name and whether or not it has
/// articles now.
pub fn shadowed(
    config: &Config,
    claimed: &std::collections::HashSet<String>,
    page: &PageId,
) -> bool {
    match page {
        PageId::Variant(_, inner) => shadowed(config, claimed, inner),
        PageId::ArticlePage(p) => {
            let file = format!("/{}", page.file_path());
            let under_taxonomy = |path: &str| {
                let rest = PageId::split_variant(config, path).map_or(path, |(_, r)| r);
                let first = rest.trim_start_matches('/').split('/').next();
                first.and_then(|f| served_taxonomy(config, f)).is_some()
            };
            claimed.contains(p) || claimed.contains(&file) || under_taxonomy(p)
        }
        _ => false,
    }
}

/// Whether a page exists now: a term's pages while it has a published
/// article; every other page whenever it is listed.
pub fn exists(catalog: &Catalog, page: &PageId, now: DateTime<FixedOffset>) -> bool {
    match page {
        PageId::Variant(_, inner) => exists(catalog, inner, now),
        PageId::TermIndex(t, k) | PageId::TermFeed(t, k, _) => catalog.term_count(*t, k, now) > 0,
        PageId::ArticlePage(p) => catalog.page_owner(p).is_some_and(|a| a.entry().date <= now),
        _ => true,
    }
}

/// The articles a page rendered on request shows, newest first: those
/// it needs read in full. Empty for every other page (the feed windows
/// cover them).
pub fn item_paths<'a>(
    config: &Config,
    catalog: &'a Catalog,
    page: &PageId,
    now: DateTime<FixedOffset>,
) -> Vec<&'a str> {
    match page {
        PageId::Variant(_, inner) => item_paths(config, catalog, inner, now),
        PageId::TermIndex(t, k) => catalog.term_paths(*t, k, now, HEADLINES),
        PageId::TermFeed(t, k, _) => catalog.term_paths(*t, k, now, config.feeds.limit),
        PageId::ArticlePage(p) => catalog
            .page_owner(p)
            .map(|a| vec![&*a.entry().rel])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The tag and author lists and every page of every term that exists
/// now: what `herald build` writes besides [`all_pages`].
pub fn term_pages(config: &Config, catalog: &Catalog, now: DateTime<FixedOffset>) -> Vec<PageId> {
    original_term_pages(config, catalog, now)
}

/// Every page of `pages` again in each variant the site serves.
pub fn with_variants(config: &Config, mut pages: Vec<PageId>) -> Vec<PageId> {
    let n = pages.len();
    for v in &config.site.variants {
        for i in 0..n {
            let p = pages[i].clone();
            pages.push(p.in_variant(*v));
        }
    }
    pages
}

fn original_term_pages(
    config: &Config,
    catalog: &Catalog,
    now: DateTime<FixedOffset>,
) -> Vec<PageId> {
    let mut pages = Vec::new();
    for t in &config.feeds.taxonomies {
        pages.push(PageId::TermList(*t));
        for (k, _) in catalog.terms(*t) {
            if catalog.term_count(*t, k, now) == 0 {
                continue;
            }
            pages.push(PageId::TermIndex(*t, k.to_string()));
            for f in &config.feeds.formats {
                pages.push(PageId::TermFeed(*t, k.to_string(), *f));
            }
        }
    }
    pages
}

/// The page of every published article whose permalink lies under
/// `site.base_url`: what `herald build` writes besides the feeds.
pub fn article_pages(
    config: &Config,
    catalog: &Catalog,
    now: DateTime<FixedOffset>,
) -> Vec<PageId> {
    let _ = config;
    catalog
        .pages_at(now)
        .into_iter()
        .map(PageId::ArticlePage)
        .collect()
}

/// Headlines on a category's or term's page.
pub(crate) const HEADLINES: usize = 20;

/// Every page the current config and catalog serve.
pub fn all_pages(config: &Config, catalog: &Catalog) -> Vec<PageId> {
    original_pages(config, catalog)
}

fn original_pages(config: &Config, catalog: &Catalog) -> Vec<PageId> {
    let mut pages = vec![PageId::Index, PageId::Opml];
    for f in &config.feeds.formats {
        pages.push(PageId::Feed(None, *f));
    }
    for c in catalog.categories() {
        pages.push(PageId::CategoryIndex(c.to_string()));
        for f in &config.feeds.formats {
            pages.push(PageId::Feed(Some(c.to_string()), *f));
        }
    }
    pages
}

/// The pages a change affects and that still exist. Pages of removed
/// categories are not listed: the caller drops them.
pub fn affected_pages(
    config: &Config,
    catalog: &Catalog,
    change: &Change,
    now: DateTime<FixedOffset>,
) -> Vec<PageId> {
    with_variants(config, original_affected(config, catalog, change, now))
}

fn original_affected(
    config: &Config,
    catalog: &Catalog,
    change: &Change,
    now: DateTime<FixedOffset>,
) -> Vec<PageId> {
    let mut pages = Vec::new();
    if change.is_empty() {
        return pages;
    }
    // The index lists counts and headlines of every category, so any change touches it.
    pages.push(PageId::Index);
    // OPML's date and the dates of empty feeds follow the newest article
    // of the whole site, so a site change touches them too.
    if change.category_set || change.site {
        pages.push(PageId::Opml);
    }
    if change.site {
        for c in catalog.categories() {
            if !change.categories.contains(c) && catalog.feed_items(Some(c), now, 1).is_empty() {
                for f in &config.feeds.formats {
                    pages.push(PageId::Feed(Some(c.to_string()), *f));
                }
            }
        }
    }
    if change.site {
        for f in &config.feeds.formats {
            pages.push(PageId::Feed(None, *f));
        }
    }
    for c in &change.categories {
        if !catalog.has_category(c) {
            continue;
        }
        pages.push(PageId::CategoryIndex(c.clone()));
        for f in &config.feeds.formats {
            pages.push(PageId::Feed(Some(c.clone()), *f));
        }
    }
    // Article pages (rendered again only where held).
    for p in &change.pages {
        pages.push(PageId::ArticlePage(p.clone()));
    }
    // A term's list, and its own pages (rendered again only where held).
    for t in &config.feeds.taxonomies {
        let mut touched = change.terms.iter().filter(|(x, _)| x == t).peekable();
        if touched.peek().is_some() {
            pages.push(PageId::TermList(*t));
        }
        for (_, k) in touched {
            pages.push(PageId::TermIndex(*t, k.clone()));
            for f in &config.feeds.formats {
                pages.push(PageId::TermFeed(*t, k.clone(), *f));
            }
        }
    }
    pages
}

/// Renders one page.
pub fn render(
    config: &Config,
    catalog: &Catalog,
    page: &PageId,
    now: DateTime<FixedOffset>,
) -> Rendered {
    match page {
        PageId::Variant(v, inner) => match config.variant(*v) {
            Some(view) => render(view, catalog, inner, now),
            // A variant the config does not serve has no pages; callers
            // only ask for those it does.
            None => render(config, catalog, inner, now),
        },
        PageId::Feed(cat, f) => {
            let view = FeedView::new(config, catalog, cat.as_deref(), now);
            render_feed(config, catalog, &view, *f)
        }
        PageId::TermFeed(t, k, f) => {
            let view = FeedView::term(config, catalog, *t, k, now);
            render_feed(config, catalog, &view, *f)
        }
        PageId::Opml => Rendered {
            content_type: "text/x-opml; charset=utf-8",
            body: opml::render_opml(config, catalog, now).into_bytes(),
            link: None,
        },
        PageId::Index => html_page(html::render_index(config, catalog, None, now)),
        PageId::CategoryIndex(c) => html_page(html::render_index(config, catalog, Some(c), now)),
        PageId::TermList(t) => html_page(html::render_term_list(config, catalog, *t, now)),
        PageId::TermIndex(t, k) => html_page(html::render_term_index(config, catalog, *t, k, now)),
        PageId::ArticlePage(p) => {
            // Empty when no article is held in full there: the caller reads
            // its body first, and serves no empty page.
            let body = match catalog.page_owner(p).and_then(|a| a.full()) {
                Some(a) => {
                    let a = shown(config, vec![Arc::clone(a)]);
                    html::render_article(config, &a[0], p)
                }
                None => String::new(),
            };
            html_page(body)
        }
    }
}

/// A feed in format `f`.
fn render_feed(config: &Config, catalog: &Catalog, view: &FeedView, f: Format) -> Rendered {
    let body = match f {
        Format::Rss => rss::render_rss(config, catalog, view),
        Format::Atom => atom::render_atom(config, catalog, view),
        Format::Json => json::render_json(config, catalog, view),
    };
    let link = websub_link(config, &url_of(config, &view.page(f)));
    Rendered {
        content_type: f.content_type(),
        body,
        link,
    }
}

/// The `Link` header of a feed at `self_url` when hubs are configured
/// (WebSub discovery): each hub, then the feed itself.
pub fn websub_link(config: &Config, self_url: &str) -> Option<String> {
    if !config.websub.enabled() {
        return None;
    }
    let mut link = String::new();
    for hub in config.hub_urls() {
        link.push_str(&format!("<{hub}>; rel=\"hub\", "));
    }
    link.push_str(&format!("<{self_url}>; rel=\"self\""));
    Some(link)
}

/// An HTML page.
fn html_page(body: String) -> Rendered {
    Rendered {
        content_type: "text/html; charset=utf-8",
        body: body.into_bytes(),
        link: None,
    }
}

/// A term's display name and the title of its pages and feeds.
pub fn term_title(config: &Config, catalog: &Catalog, tax: Taxonomy, key: &str) -> String {
    let name = config.show(catalog.term(tax, key).map_or(key, |t| t.name()));
    format!("{name} - {}", config.site.title)
}

/// The category's title, or the site's, as feeds name it.
pub fn feed_title(config: &Config, category: Option<&str>) -> String {
    match category {
        None => config.site.title.clone(),
        Some(c) => format!("{} - {}", config.category_title(c), config.site.title),
    }
}

/// What a feed lists.
#[derive(Debug, Clone)]
pub(crate) enum FeedSource {
    /// The site (`None`) or a category.
    Category(Option<String>),
    /// A tag or author, by key.
    Term(Taxonomy, String),
}

pub(crate) struct FeedView {
    pub(crate) source: FeedSource,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) items: Vec<Arc<Article>>,
    pub(crate) updated: DateTime<FixedOffset>,
}

/// Articles as `config` shows them: converted in a variant's view.
pub(crate) fn shown(config: &Config, items: Vec<Arc<Article>>) -> Vec<Arc<Article>> {
    match &config.view {
        Some(v) => items.iter().map(|a| v.article(a)).collect(),
        None => items,
    }
}

/// A feed's date: its newest item's `updated`; for an empty feed, the
/// newest on the site, else the epoch.
fn feed_updated(
    catalog: &Catalog,
    items: &[Arc<Article>],
    now: DateTime<FixedOffset>,
) -> DateTime<FixedOffset> {
    items
        .iter()
        .map(|a| a.updated)
        .max()
        .or_else(|| catalog.newest_updated(now))
        .unwrap_or_else(epoch)
}

pub(crate) fn epoch() -> DateTime<FixedOffset> {
    DateTime::UNIX_EPOCH.fixed_offset()
}

impl FeedView {
    fn new(
        config: &Config,
        catalog: &Catalog,
        category: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Self {
        let items = shown(
            config,
            catalog.feed_items(category, now, config.feeds.limit),
        );
        let updated = feed_updated(catalog, &items, now);
        let description = match category {
            Some(c) => config.category_description(c).map(str::to_string),
            None => None,
        }
        .or_else(|| Some(config.site.description.clone()).filter(|d| !d.is_empty()))
        .unwrap_or_else(|| feed_title(config, category));
        FeedView {
            source: FeedSource::Category(category.map(str::to_string)),
            title: feed_title(config, category),
            description,
            items,
            updated,
        }
    }

    /// The feed of a tag or author: its newest published articles.
    fn term(
        config: &Config,
        catalog: &Catalog,
        tax: Taxonomy,
        key: &str,
        now: DateTime<FixedOffset>,
    ) -> Self {
        let items = shown(
            config,
            catalog.term_items(tax, key, now, config.feeds.limit),
        );
        let updated = feed_updated(catalog, &items, now);
        let title = term_title(config, catalog, tax, key);
        let description = Some(config.site.description.clone())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| title.clone());
        FeedView {
            source: FeedSource::Term(tax, key.to_string()),
            title,
            description,
            items,
            updated,
        }
    }

    pub(crate) fn page(&self, f: Format) -> PageId {
        match &self.source {
            FeedSource::Category(c) => PageId::Feed(c.clone(), f),
            FeedSource::Term(t, k) => PageId::TermFeed(*t, k.clone(), f),
        }
    }
}

/// The media type of a lead image, from its URL's extension.
pub(crate) fn guess_mime(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    mime_guess::from_path(path)
        .first()
        .map(|m| m.essence_str().to_string())
        .unwrap_or_else(|| "image/jpeg".into())
}

/// A date as RFC 3339, in the article's own offset.
pub(crate) fn rfc3339(d: &DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths_and_files() {
        let p = PageId::Feed(Some("社会".into()), Format::Atom);
        assert_eq!(p.path(), "/社会/atom.xml");
        assert_eq!(p.file_path(), "社会/atom.xml");
        assert_eq!(
            PageId::CategoryIndex("a".into()).file_path(),
            "a/index.html"
        );
        assert_eq!(PageId::Index.file_path(), "index.html");
        assert_eq!(PageId::Feed(None, Format::Json).path(), "/feed.json");
    }
}
