//! Catalog → bytes (SPEC §4, §5): RSS 2.0 through the `rss` crate, Atom
//! 1.0 through `atom_syndication`, JSON Feed 1.1 through serde, plus the
//! OPML list and the HTML pages. Every page is identified by a [`PageId`],
//! so the daemon can re-render only the pages a [`Change`] touches.
//!
//! Output depends only on the config, the catalog and the set of
//! published articles (decided by `now`): dates in feeds come from the
//! articles, never from the clock, so the same content gives the same
//! bytes everywhere. Every string is stripped of characters XML 1.0
//! forbids before it reaches a writer.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use atom_syndication as atom;
use chrono::{DateTime, FixedOffset};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde::Serialize;

use crate::article::Article;
use crate::catalog::{Catalog, Change};
use crate::config::{Config, Format};
use crate::url_segment::encode_segment;

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
        }
    }

    /// The file this page is written to by `herald build`, relative to the output dir.
    pub fn file_path(&self) -> String {
        match self {
            PageId::Index => "index.html".into(),
            PageId::CategoryIndex(c) => format!("{c}/index.html"),
            other => other.path()[1..].to_string(),
        }
    }

    /// The category this page belongs to, if any.
    pub fn category(&self) -> Option<&str> {
        match self {
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
}

/// Public URL of a page (percent-encoded, from `site.base_url`).
pub fn url_of(config: &Config, page: &PageId) -> String {
    let base = &config.site.base_url;
    match page {
        PageId::Index => format!("{base}/"),
        PageId::CategoryIndex(c) => format!("{base}/{}/", encode_segment(c)),
        PageId::Feed(None, f) => format!("{base}/{}", f.file_name()),
        PageId::Feed(Some(c), f) => format!("{base}/{}/{}", encode_segment(c), f.file_name()),
        PageId::Opml => format!("{base}/feeds.opml"),
    }
}

/// Every page the current config and catalog serve.
pub fn all_pages(config: &Config, catalog: &Catalog) -> Vec<PageId> {
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
        PageId::Feed(cat, f) => {
            let view = FeedView::new(config, catalog, cat.as_deref(), now);
            let body = match f {
                Format::Rss => render_rss(config, catalog, &view),
                Format::Atom => render_atom(config, catalog, &view),
                Format::Json => render_json(config, catalog, &view),
            };
            Rendered {
                content_type: f.content_type(),
                body,
            }
        }
        PageId::Opml => Rendered {
            content_type: "text/x-opml; charset=utf-8",
            body: render_opml(config, catalog, now).into_bytes(),
        },
        PageId::Index => Rendered {
            content_type: "text/html; charset=utf-8",
            body: render_index(config, catalog, None, now).into_bytes(),
        },
        PageId::CategoryIndex(c) => Rendered {
            content_type: "text/html; charset=utf-8",
            body: render_index(config, catalog, Some(c), now).into_bytes(),
        },
    }
}

/// Removes characters XML 1.0 forbids (C0 controls other than tab, LF, CR;
/// U+FFFE and U+FFFF). Rust strings hold no surrogates.
pub fn xml_clean(s: &str) -> Cow<'_, str> {
    fn bad(c: char) -> bool {
        (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    }
    // The same test on bytes, which is several times faster: control
    // characters are single bytes, and U+FFFE/U+FFFF are EF BF BE/BF in
    // UTF-8 (0xEF is never a continuation byte).
    let b = s.as_bytes();
    // Without an early exit, the control-byte test vectorises.
    let control = b.chunks(256).any(|chunk| {
        chunk.iter().fold(false, |acc, &c| {
            acc | (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r'))
        })
    });
    // Fullwidth punctuation (EF BC xx, EF BD xx) fills Chinese text, so
    // the two-byte prefix EF BF is searched for, not the lead byte alone.
    static EF_BF: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\xEF\xBF"));
    let suspicious = control
        || EF_BF
            .find_iter(b)
            .any(|i| matches!(b.get(i + 2), Some(0xBE | 0xBF)));
    if suspicious {
        Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

fn x(s: &str) -> String {
    xml_clean(s).into_owned()
}

/// The category's title, or the site's, as feeds name it.
pub fn feed_title(config: &Config, category: Option<&str>) -> String {
    match category {
        None => config.site.title.clone(),
        Some(c) => format!("{} - {}", config.category_title(c), config.site.title),
    }
}

struct FeedView {
    category: Option<String>,
    title: String,
    description: String,
    items: Vec<Arc<Article>>,
    updated: DateTime<FixedOffset>,
}

fn epoch() -> DateTime<FixedOffset> {
    DateTime::UNIX_EPOCH.fixed_offset()
}

impl FeedView {
    fn new(
        config: &Config,
        catalog: &Catalog,
        category: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Self {
        let items = catalog.feed_items(category, now, config.feeds.limit);
        let updated = items
            .iter()
            .map(|a| a.updated)
            .max()
            .or_else(|| catalog.newest_updated(now))
            .unwrap_or_else(epoch);
        let description = match category {
            Some(c) => config.category_description(c).map(str::to_string),
            None => None,
        }
        .or_else(|| Some(config.site.description.clone()).filter(|d| !d.is_empty()))
        .unwrap_or_else(|| feed_title(config, category));
        FeedView {
            category: category.map(str::to_string),
            title: feed_title(config, category),
            description,
            items,
            updated,
        }
    }

    fn page(&self, f: Format) -> PageId {
        PageId::Feed(self.category.clone(), f)
    }
}

fn guess_mime(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    mime_guess::from_path(path)
        .first()
        .map(|m| m.essence_str().to_string())
        .unwrap_or_else(|| "image/jpeg".into())
}

fn render_rss(config: &Config, catalog: &Catalog, view: &FeedView) -> Vec<u8> {
    use rss::extension::atom::{AtomExtension, Link};
    use rss::extension::dublincore::DublinCoreExtension;

    let items: Vec<rss::Item> = view
        .items
        .iter()
        .map(|a| {
            let id = catalog.effective_id(a);
            let mut item = rss::Item::default();
            item.set_title(x(&a.title));
            item.set_link(x(&a.link));
            // RSS readers treat <description> as HTML; the summary is plain text.
            item.set_description(x(&text(&a.summary)));
            if config.feeds.full_content {
                item.set_content(x(&a.content_html));
            }
            item.set_guid(rss::Guid {
                permalink: id == a.link,
                value: x(&id),
            });
            item.set_pub_date(a.date.to_rfc2822());
            item.set_categories(
                a.tags
                    .iter()
                    .map(|t| rss::Category {
                        name: x(t),
                        domain: None,
                    })
                    .collect::<Vec<_>>(),
            );
            if let Some(img) = &a.image {
                item.set_enclosure(rss::Enclosure {
                    url: x(img),
                    length: "0".into(),
                    mime_type: guess_mime(img),
                });
            }
            if !a.authors.is_empty() {
                item.set_dublin_core_ext(DublinCoreExtension {
                    creators: a.authors.iter().map(|s| x(s)).collect(),
                    ..Default::default()
                });
            }
            item
        })
        .collect();
    let mut channel = rss::Channel::default();
    channel.set_title(x(&view.title));
    channel.set_link(x(&config.site.link));
    channel.set_description(x(&view.description));
    channel.set_language(x(&config.site.language));
    channel.set_last_build_date(view.updated.to_rfc2822());
    channel.set_generator("herald".to_string());
    channel.set_atom_ext(AtomExtension {
        links: vec![Link {
            href: url_of(config, &view.page(Format::Rss)),
            rel: "self".into(),
            mime_type: Some(Format::Rss.media_type().into()),
            ..Default::default()
        }],
    });
    channel.set_items(items);
    let mut out = Vec::with_capacity(4096);
    // Writing to a Vec cannot fail with an I/O error; an XML error would be
    // a bug in the crate, and we still return what was written.
    let _ = channel.pretty_write_to(&mut out, b' ', 2);
    out.push(b'\n');
    hex_references(out)
}

/// `&amp;` and `&lt;` written as `&#x26;` and `&#x3C;`, as the RSS Best
/// Practices Profile asks of plain-text elements (the W3C validator warns
/// about a title like `Spaces & <angles>` otherwise). The same characters
/// in XML text, attributes and, inside CDATA, in the HTML it holds; the
/// `rss` crate writes the named entities.
fn hex_references(xml: Vec<u8>) -> Vec<u8> {
    // One scan for `&` finds the first to rewrite, if any (generated
    // corpora have none at all).
    let first = memchr::memchr_iter(b'&', &xml)
        .find(|&i| xml[i..].starts_with(b"&amp;") || xml[i..].starts_with(b"&lt;"));
    let Some(first) = first else {
        return xml;
    };
    let mut out = Vec::with_capacity(xml.len() + 64);
    out.extend_from_slice(&xml[..first]);
    let mut rest = &xml[first..];
    while let Some(i) = memchr::memchr(b'&', rest) {
        out.extend_from_slice(&rest[..i]);
        let after = &rest[i..];
        if after.starts_with(b"&amp;") {
            out.extend_from_slice(b"&#x26;");
            rest = &after[5..];
        } else if after.starts_with(b"&lt;") {
            out.extend_from_slice(b"&#x3C;");
            rest = &after[4..];
        } else {
            out.push(b'&');
            rest = &after[1..];
        }
    }
    out.extend_from_slice(rest);
    out
}

fn person(name: &str) -> atom::Person {
    atom::Person {
        name: x(name),
        email: None,
        uri: None,
        ..Default::default()
    }
}

fn plain(s: &str, lang: Option<&str>) -> atom::Text {
    let mut t = atom::Text::plain(x(s));
    t.lang = lang.map(x);
    t
}

fn render_atom(config: &Config, catalog: &Catalog, view: &FeedView) -> Vec<u8> {
    let entries: Vec<atom::Entry> = view
        .items
        .iter()
        .map(|a| {
            let lang = a.lang.as_deref();
            let mut links = vec![atom::Link {
                href: x(&a.link),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            }];
            if let Some(img) = &a.image {
                links.push(atom::Link {
                    href: x(img),
                    rel: "enclosure".into(),
                    mime_type: Some(guess_mime(img)),
                    ..Default::default()
                });
            }
            let mut e = atom::Entry {
                title: plain(&a.title, lang),
                id: x(&catalog.effective_id(a)),
                updated: a.updated,
                published: Some(a.date),
                authors: a.authors.iter().map(|n| person(n)).collect(),
                links,
                summary: Some(plain(&a.summary, lang)),
                categories: a
                    .tags
                    .iter()
                    .map(|t| atom::Category {
                        term: x(t),
                        scheme: None,
                        label: None,
                    })
                    .collect(),
                ..Default::default()
            };
            if config.feeds.full_content {
                e.content = Some(atom::Content {
                    value: Some(x(&a.content_html)),
                    content_type: Some("html".into()),
                    lang: a.lang.as_deref().map(x),
                    ..Default::default()
                });
            }
            e
        })
        .collect();
    let self_url = url_of(config, &view.page(Format::Atom));
    let feed = atom::Feed {
        title: plain(&view.title, None),
        id: self_url.clone(),
        updated: view.updated,
        // A feed-level author covers entries that name none (RFC 4287 §4.1.1).
        authors: vec![person(
            config.site.author.as_deref().unwrap_or(&config.site.title),
        )],
        links: vec![
            atom::Link {
                href: self_url,
                rel: "self".into(),
                mime_type: Some(Format::Atom.media_type().into()),
                ..Default::default()
            },
            atom::Link {
                href: x(&config.site.link),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        subtitle: Some(plain(&view.description, None)),
        generator: Some(atom::Generator {
            value: "herald".into(),
            uri: None,
            version: None,
        }),
        entries,
        lang: Some(x(&config.site.language)),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(4096);
    let _ = feed.write_with_config(
        &mut out,
        atom::WriteConfig {
            write_document_declaration: true,
            indent_size: Some(2),
        },
    );
    out.push(b'\n');
    out
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    description: String,
    language: String,
    authors: Vec<JsonAuthor>,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonAuthor {
    name: String,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: String,
    url: String,
    title: String,
    summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<JsonAuthor>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
}

fn rfc3339(d: &DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn render_json(config: &Config, catalog: &Catalog, view: &FeedView) -> Vec<u8> {
    let items = view
        .items
        .iter()
        .map(|a| JsonItem {
            id: x(&catalog.effective_id(a)),
            url: x(&a.link),
            title: x(&a.title),
            summary: x(&a.summary),
            // JSON Feed requires content_html or content_text.
            content_html: Some(if config.feeds.full_content {
                x(&a.content_html)
            } else {
                x(&text(&a.summary))
            }),
            content_text: None,
            date_published: rfc3339(&a.date),
            date_modified: rfc3339(&a.updated),
            authors: a
                .authors
                .iter()
                .map(|n| JsonAuthor { name: x(n) })
                .collect(),
            tags: a.tags.iter().map(|t| x(t)).collect(),
            image: a.image.as_deref().map(x),
            language: a.lang.as_deref().map(x),
        })
        .collect();
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: x(&view.title),
        home_page_url: x(&config.site.link),
        feed_url: url_of(config, &view.page(Format::Json)),
        description: x(&view.description),
        language: x(&config.site.language),
        authors: vec![JsonAuthor {
            name: x(config.site.author.as_deref().unwrap_or(&config.site.title)),
        }],
        items,
    };
    let mut out = serde_json::to_vec_pretty(&feed).unwrap_or_default();
    out.push(b'\n');
    out
}

fn render_opml(config: &Config, catalog: &Catalog, now: DateTime<FixedOffset>) -> String {
    let mut s = String::with_capacity(2048);
    let modified = catalog.newest_updated(now).unwrap_or_else(epoch);
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>{}</title>\n    <dateModified>{}</dateModified>\n  </head>\n  <body>\n",
        text(&x(&config.site.title)),
        modified.to_rfc2822()
    );
    let group = |cat: Option<&str>, s: &mut String| {
        let title = feed_title(config, cat);
        let html = match cat {
            None => format!("{}/", config.site.base_url),
            Some(c) => url_of(config, &PageId::CategoryIndex(c.to_string())),
        };
        let _ = writeln!(
            s,
            "    <outline text=\"{}\" title=\"{}\">",
            attr(&x(&title)),
            attr(&x(&title))
        );
        for f in &config.feeds.formats {
            let url = url_of(config, &PageId::Feed(cat.map(str::to_string), *f));
            let t = format!("{title} ({})", f.label());
            let _ = writeln!(
                s,
                "      <outline type=\"rss\" version=\"{}\" text=\"{}\" title=\"{}\" xmlUrl=\"{}\" htmlUrl=\"{}\"/>",
                match f {
                    Format::Rss => "RSS2",
                    Format::Atom => "ATOM",
                    Format::Json => "JSONFEED",
                },
                attr(&x(&t)),
                attr(&x(&t)),
                attr(&url),
                attr(&html)
            );
        }
        s.push_str("    </outline>\n");
    };
    group(None, &mut s);
    for c in catalog.categories() {
        group(Some(c), &mut s);
    }
    s.push_str("  </body>\n</opml>\n");
    s
}

const STYLE: &str = "body{font:16px/1.5 system-ui,-apple-system,\"PingFang SC\",\"Noto Sans CJK SC\",sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}\
a{color:#0645ad}h1{font-size:1.6rem}h2{font-size:1.25rem;margin-bottom:.2rem}.meta,.feeds{color:#555;font-size:.9rem}\
ul{padding-left:1.2rem}li{margin:.2rem 0}time{color:#777;font-size:.85rem;margin-left:.4rem}section{border-top:1px solid #ddd;margin-top:1.2rem}";

fn feed_links(config: &Config, cat: Option<&str>) -> String {
    let mut s = String::new();
    for (i, f) in config.feeds.formats.iter().enumerate() {
        if i > 0 {
            s.push_str(" · ");
        }
        let url = url_of(config, &PageId::Feed(cat.map(str::to_string), *f));
        let _ = write!(
            s,
            "<a href=\"{}\" type=\"{}\">{}</a>",
            attr(&url),
            f.media_type(),
            f.label()
        );
    }
    s
}

fn headlines(s: &mut String, items: &[Arc<Article>]) {
    if items.is_empty() {
        s.push_str("<p class=\"meta\">No articles yet.</p>\n");
        return;
    }
    s.push_str("<ul>\n");
    for a in items {
        let _ = writeln!(
            s,
            "<li><a href=\"{}\">{}</a><time datetime=\"{}\">{}</time></li>",
            attr(&x(&a.link)),
            text(&x(&a.title)),
            rfc3339(&a.date),
            a.date.format("%Y-%m-%d %H:%M")
        );
    }
    s.push_str("</ul>\n");
}

fn render_index(
    config: &Config,
    catalog: &Catalog,
    cat: Option<&str>,
    now: DateTime<FixedOffset>,
) -> String {
    let title = feed_title(config, cat);
    let mut s = String::with_capacity(8192);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n",
        attr(&config.site.language),
        text(&x(&title))
    );
    for f in &config.feeds.formats {
        let url = url_of(config, &PageId::Feed(cat.map(str::to_string), *f));
        let _ = writeln!(
            s,
            "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">",
            f.media_type(),
            attr(&x(&format!("{title} ({})", f.label()))),
            attr(&url)
        );
    }
    let _ = write!(s, "<style>{STYLE}</style>\n</head>\n<body>\n");
    match cat {
        None => {
            let _ = writeln!(s, "<h1>{}</h1>", text(&x(&config.site.title)));
            if !config.site.description.is_empty() {
                let _ = writeln!(s, "<p>{}</p>", text(&x(&config.site.description)));
            }
            let _ = writeln!(
                s,
                "<p class=\"feeds\">All news: {} · <a href=\"{}\">OPML</a></p>",
                feed_links(config, None),
                attr(&url_of(config, &PageId::Opml))
            );
            for c in catalog.categories() {
                let count = catalog.published_count(Some(c), now);
                let _ = writeln!(
                    s,
                    "<section>\n<h2><a href=\"{}\">{}</a></h2>",
                    attr(&url_of(config, &PageId::CategoryIndex(c.to_string()))),
                    text(&x(config.category_title(c)))
                );
                if let Some(d) = config.category_description(c) {
                    let _ = writeln!(s, "<p>{}</p>", text(&x(d)));
                }
                let _ = writeln!(
                    s,
                    "<p class=\"meta\">{count} article{} · {}</p>",
                    if count == 1 { "" } else { "s" },
                    feed_links(config, Some(c))
                );
                headlines(&mut s, &catalog.feed_items(Some(c), now, 5));
                s.push_str("</section>\n");
            }
        }
        Some(c) => {
            let _ = writeln!(
                s,
                "<p class=\"meta\"><a href=\"{}\">{}</a></p>\n<h1>{}</h1>",
                attr(&url_of(config, &PageId::Index)),
                text(&x(&config.site.title)),
                text(&x(config.category_title(c)))
            );
            if let Some(d) = config.category_description(c) {
                let _ = writeln!(s, "<p>{}</p>", text(&x(d)));
            }
            let count = catalog.published_count(Some(c), now);
            let _ = writeln!(
                s,
                "<p class=\"meta\">{count} article{} · {}</p>",
                if count == 1 { "" } else { "s" },
                feed_links(config, Some(c))
            );
            headlines(&mut s, &catalog.feed_items(Some(c), now, 20));
        }
    }
    s.push_str("</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_writes_ampersands_and_less_thans_as_hex_references() {
        let xml = br#"<title>Spaces &amp; &lt;angles&gt; &quot;q&quot; &#x41;</title><d><![CDATA[a &amp;&lt;b>]]></d>"#;
        let want = br#"<title>Spaces &#x26; &#x3C;angles&gt; &quot;q&quot; &#x41;</title><d><![CDATA[a &#x26;&#x3C;b>]]></d>"#;
        assert_eq!(
            String::from_utf8(hex_references(xml.to_vec())).unwrap(),
            String::from_utf8(want.to_vec()).unwrap()
        );
        // Nothing to change: the same bytes back.
        let plain = b"<title>M&#x26;A</title>".to_vec();
        assert_eq!(hex_references(plain.clone()), plain);
    }

    #[test]
    fn xml_clean_removes_only_forbidden_characters() {
        assert_eq!(
            xml_clean("a\u{0}b\u{1}c\td\ne\rf\u{FFFE}g\u{FFFF}h😀"),
            "abc\td\ne\rfgh😀"
        );
        assert!(matches!(xml_clean("plain 新聞"), Cow::Borrowed(_)));
        // Fullwidth punctuation and U+FFFD share the lead byte 0xEF and stay.
        assert!(matches!(
            xml_clean("新闻，标题\u{FFFD}。"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn xml_clean_agrees_with_a_filter_of_forbidden_characters() {
        let bad = |c: char| {
            (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
        };
        // Every character next to every other, in runs long enough for
        // the vectorised scans: forbidden ones, their UTF-8 neighbours
        // (EF BF xx, EF BC xx) and ordinary text.
        let chars = [
            'a', '\u{0}', '\u{1F}', '\t', '\n', '\r', ' ', '\u{FFFE}', '\u{FFFF}', '\u{FFFD}',
            '\u{FFBF}', '\u{FF0C}', '。', '新', '😀',
        ];
        for &x in &chars {
            for &y in &chars {
                for pad in [0usize, 31, 255, 300] {
                    let s = format!(
                        "{}{x}{y}{}",
                        "新".repeat(pad % 7) + &"a".repeat(pad),
                        "。".repeat(pad / 3)
                    );
                    let want: String = s.chars().filter(|c| !bad(*c)).collect();
                    assert_eq!(xml_clean(&s), want, "{x:?} {y:?} {pad}");
                    assert_eq!(matches!(xml_clean(&s), Cow::Borrowed(_)), want == s);
                }
            }
        }
    }

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
