//! The HTML pages: the site index, one page per category, the lists of
//! tags and authors and a page per tag and author, with headlines and
//! feed autodiscovery links.

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use super::xml::xml_safe;
use super::{feed_title, term_title, url_of, PageId, HEADLINES};
use crate::article::Article;
use crate::catalog::Catalog;
use crate::config::{Config, Format};
use crate::taxonomy::Taxonomy;
use crate::variant::Script;

const STYLE: &str = "body{font:16px/1.5 system-ui,-apple-system,\"PingFang SC\",\"Noto Sans CJK SC\",sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}\
a{color:#0645ad}h1{font-size:1.6rem}h2{font-size:1.25rem;margin-bottom:.2rem}.meta,.feeds{color:#555;font-size:.9rem}\
ul{padding-left:1.2rem}li{margin:.2rem 0}time{color:#777;font-size:.85rem;margin-left:.4rem}section{border-top:1px solid #ddd;margin-top:1.2rem}";

pub(super) fn feed_links(config: &Config, cat: Option<&str>) -> String {
    feed_links_of(config, |f| PageId::Feed(cat.map(str::to_string), f))
}

/// Links to the feeds `feed` names in each enabled format.
fn feed_links_of(config: &Config, feed: impl Fn(Format) -> PageId) -> String {
    let mut s = String::new();
    for (i, f) in config.feeds.formats.iter().enumerate() {
        if i > 0 {
            s.push_str(" · ");
        }
        let url = url_of(config, &feed(*f));
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

/// A date for `<time datetime>`: whole seconds, as HTML allows at most
/// three digits of a fraction.
fn time_datetime(d: &DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(super) fn headlines(config: &Config, s: &mut String, items: &[Arc<Article>]) {
    let items = super::shown(config, items.to_vec());
    if items.is_empty() {
        s.push_str("<p class=\"meta\">No articles yet.</p>\n");
        return;
    }
    s.push_str("<ul>\n");
    for a in &items {
        let _ = writeln!(
            s,
            "<li><a href=\"{}\">{}</a><time datetime=\"{}\">{}</time></li>",
            attr(&xml_safe(&a.link)),
            text(&xml_safe(&a.title)),
            time_datetime(&a.date),
            a.date.format("%Y-%m-%d %H:%M")
        );
    }
    s.push_str("</ul>\n");
}

pub(super) fn render_index(
    config: &Config,
    catalog: &Catalog,
    cat: Option<&str>,
    now: DateTime<FixedOffset>,
) -> String {
    let title = feed_title(config, cat);
    let page = match cat {
        None => PageId::Index,
        Some(c) => PageId::CategoryIndex(c.to_string()),
    };
    let mut s = head(config, &page, &title, |f| {
        Some(PageId::Feed(cat.map(str::to_string), f))
    });
    // Index pages offer the page in each script.
    s.push_str(&variant_links(config, &page));
    match cat {
        None => {
            let _ = writeln!(s, "<h1>{}</h1>", text(&xml_safe(&config.site.title)));
            if !config.site.description.is_empty() {
                let _ = writeln!(s, "<p>{}</p>", text(&xml_safe(&config.site.description)));
            }
            let _ = writeln!(
                s,
                "<p class=\"feeds\">All news: {} · <a href=\"{}\">OPML</a></p>",
                feed_links(config, None),
                attr(&url_of(config, &PageId::Opml))
            );
            if !config.feeds.taxonomies.is_empty() {
                let links: Vec<String> = config
                    .feeds
                    .taxonomies
                    .iter()
                    .map(|t| {
                        format!(
                            "<a href=\"{}\">{}</a>",
                            attr(&url_of(config, &PageId::TermList(*t))),
                            list_title(*t)
                        )
                    })
                    .collect();
                let _ = writeln!(s, "<p class=\"feeds\">Browse: {}</p>", links.join(" · "));
            }
            for c in catalog.categories() {
                let count = catalog.published_count(Some(c), now);
                let _ = writeln!(
                    s,
                    "<section>\n<h2><a href=\"{}\">{}</a></h2>",
                    attr(&url_of(config, &PageId::CategoryIndex(c.to_string()))),
                    text(&xml_safe(&config.category_title(c)))
                );
                if let Some(d) = config.category_description(c) {
                    let _ = writeln!(s, "<p>{}</p>", text(&xml_safe(d)));
                }
                let _ = writeln!(
                    s,
                    "<p class=\"meta\">{count} article{} · {}</p>",
                    if count == 1 { "" } else { "s" },
                    feed_links(config, Some(c))
                );
                headlines(config, &mut s, &catalog.feed_items(Some(c), now, 5));
                s.push_str("</section>\n");
            }
        }
        Some(c) => {
            let _ = writeln!(
                s,
                "<p class=\"meta\"><a href=\"{}\">{}</a></p>\n<h1>{}</h1>",
                attr(&url_of(config, &PageId::Index)),
                text(&xml_safe(&config.site.title)),
                text(&xml_safe(&config.category_title(c)))
            );
            if let Some(d) = config.category_description(c) {
                let _ = writeln!(s, "<p>{}</p>", text(&xml_safe(d)));
            }
            let count = catalog.published_count(Some(c), now);
            let _ = writeln!(
                s,
                "<p class=\"meta\">{count} article{} · {}</p>",
                if count == 1 { "" } else { "s" },
                feed_links(config, Some(c))
            );
            headlines(config, &mut s, &catalog.feed_items(Some(c), now, HEADLINES));
        }
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// The start of `page` up to `<body>`: language, title, an
/// autodiscovery link to each feed `feed` names, and its variants.
fn head(
    config: &Config,
    page: &PageId,
    title: &str,
    feed: impl Fn(Format) -> Option<PageId>,
) -> String {
    head_with(config, page, &config.site.language, title, title, "", feed)
}

/// Where the site's original pages live, their language, and the
/// variants it serves, from the config or from a variant's view of it.
fn origin(config: &Config) -> (&str, &str, &[Script]) {
    match &config.view {
        Some(v) => (&v.original_base, &v.original_language, &v.variants),
        None => (
            &config.site.base_url,
            &config.site.language,
            &config.site.variants,
        ),
    }
}

/// `page` in the original and in every variant: (language, name, URL,
/// whether it is the one `config` renders).
fn versions(config: &Config, page: &PageId) -> Vec<(String, &'static str, String, bool)> {
    let (base, language, variants) = origin(config);
    if variants.is_empty() {
        return Vec::new();
    }
    let here = url_of(config, page);
    let rest = here.get(config.site.base_url.len()..).unwrap_or("/");
    let current = config.view.as_ref().map(|v| v.script);
    let mut out = vec![(
        language.to_string(),
        "原文",
        format!("{base}{rest}"),
        current.is_none(),
    )];
    for v in variants {
        out.push((
            v.tag().to_string(),
            v.label(),
            format!("{base}/{}{rest}", v.segment()),
            current == Some(*v),
        ));
    }
    out
}

/// [`head`] in language `lang`, with `extra` lines (already HTML) before
/// the style, and `feeds_title` naming the feeds `feed` gives.
fn head_with(
    config: &Config,
    page: &PageId,
    lang: &str,
    title: &str,
    feeds_title: &str,
    extra: &str,
    feed: impl Fn(Format) -> Option<PageId>,
) -> String {
    let mut s = String::with_capacity(8192);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n",
        attr(lang),
        text(&xml_safe(title))
    );
    for f in &config.feeds.formats {
        let Some(page) = feed(*f) else {
            continue;
        };
        let _ = writeln!(
            s,
            "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">",
            f.media_type(),
            attr(&xml_safe(&format!("{feeds_title} ({})", f.label()))),
            attr(&url_of(config, &page))
        );
    }
    // The page in each script (`hreflang`), itself included.
    for (language, _, url, _) in versions(config, page) {
        let _ = writeln!(
            s,
            "<link rel=\"alternate\" hreflang=\"{}\" href=\"{}\">",
            attr(&language),
            attr(&url)
        );
    }
    s.push_str(extra);
    let _ = write!(s, "<style>{STYLE}</style>\n</head>\n<body>\n");
    s
}

/// A line linking `page` in the original and in every variant, the one
/// shown unlinked; empty when the site serves no variant.
fn variant_links(config: &Config, page: &PageId) -> String {
    let versions = versions(config, page);
    if versions.is_empty() {
        return String::new();
    }
    let links: Vec<String> = versions
        .iter()
        .map(|(language, name, url, current)| {
            if *current {
                format!("<strong lang=\"{}\">{name}</strong>", attr(language))
            } else {
                format!(
                    "<a href=\"{}\" hreflang=\"{}\" lang=\"{}\">{name}</a>",
                    attr(url),
                    attr(language),
                    attr(language)
                )
            }
        })
        .collect();
    format!("<p class=\"meta\">{}</p>\n", links.join(" · "))
}

/// The heading of a taxonomy's list.
fn list_title(tax: Taxonomy) -> &'static str {
    match tax {
        Taxonomy::Tags => "Tags",
        Taxonomy::Authors => "Authors",
    }
}

/// `/tags/` or `/authors/`: every term with a published article and its
/// count, most used first (ties by name).
pub(super) fn render_term_list(
    config: &Config,
    catalog: &Catalog,
    tax: Taxonomy,
    now: DateTime<FixedOffset>,
) -> String {
    let title = format!("{} - {}", list_title(tax), config.site.title);
    let mut s = head(config, &PageId::TermList(tax), &title, |_| None);
    let _ = writeln!(
        s,
        "<p class=\"meta\"><a href=\"{}\">{}</a></p>\n<h1>{}</h1>",
        attr(&url_of(config, &PageId::Index)),
        text(&xml_safe(&config.site.title)),
        list_title(tax)
    );
    let mut terms: Vec<(usize, std::borrow::Cow<str>, &str)> = catalog
        .terms(tax)
        .map(|(k, t)| (catalog.term_count(tax, k, now), config.show(t.name()), k))
        .filter(|(n, _, _)| *n > 0)
        .collect();
    terms.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(b.2))
    });
    if terms.is_empty() {
        s.push_str("<p class=\"meta\">None yet.</p>\n");
    } else {
        s.push_str("<ul>\n");
        for (n, name, k) in terms {
            let _ = writeln!(
                s,
                "<li><a href=\"{}\">{}</a> <span class=\"meta\">{n}</span></li>",
                attr(&url_of(config, &PageId::TermIndex(tax, k.to_string()))),
                text(&xml_safe(&name))
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// `/tags/<key>/`: a term's latest headlines and its feeds.
pub(super) fn render_term_index(
    config: &Config,
    catalog: &Catalog,
    tax: Taxonomy,
    key: &str,
    now: DateTime<FixedOffset>,
) -> String {
    let title = term_title(config, catalog, tax, key);
    let feed = |f| PageId::TermFeed(tax, key.to_string(), f);
    let mut s = head(
        config,
        &PageId::TermIndex(tax, key.to_string()),
        &title,
        |f| Some(feed(f)),
    );
    let name = config.show(catalog.term(tax, key).map_or(key, |t| t.name()));
    let _ = writeln!(
        s,
        "<p class=\"meta\"><a href=\"{}\">{}</a> · <a href=\"{}\">{}</a></p>\n<h1>{}</h1>",
        attr(&url_of(config, &PageId::Index)),
        text(&xml_safe(&config.site.title)),
        attr(&url_of(config, &PageId::TermList(tax))),
        list_title(tax),
        text(&xml_safe(&name))
    );
    let count = catalog.term_count(tax, key, now);
    let _ = writeln!(
        s,
        "<p class=\"meta\">{count} article{} · {}</p>",
        if count == 1 { "" } else { "s" },
        feed_links_of(config, feed)
    );
    headlines(
        config,
        &mut s,
        &catalog.term_items(tax, key, now, HEADLINES),
    );
    s.push_str("</body>\n</html>\n");
    s
}

/// An article's page: title, date, authors and tags linked to their
/// pages, its category linked, the body as the feeds carry it, the
/// permalink as canonical URL and its category's feeds for autodiscovery.
pub(super) fn render_article(config: &Config, a: &Article, path: &str) -> String {
    let category = (!a.category.is_empty()).then(|| a.category.to_string());
    let canonical = format!(
        "<link rel=\"canonical\" href=\"{}\">\n",
        attr(&xml_safe(&a.link))
    );
    let title = format!("{} - {}", a.title, config.site.title);
    let lang = a.lang.as_deref().unwrap_or(&config.site.language);
    let page = PageId::ArticlePage(path.to_string());
    // Its autodiscovery links are its category's feeds, named as they are.
    let feeds_title = super::feed_title(config, category.as_deref());
    let mut s = head_with(config, &page, lang, &title, &feeds_title, &canonical, |f| {
        Some(PageId::Feed(category.clone(), f))
    });
    let _ = write!(
        s,
        "<p class=\"meta\"><a href=\"{}\">{}</a>",
        attr(&url_of(config, &PageId::Index)),
        text(&xml_safe(&config.site.title))
    );
    if let Some(c) = &category {
        let _ = write!(
            s,
            " · <a href=\"{}\">{}</a>",
            attr(&url_of(config, &PageId::CategoryIndex(c.clone()))),
            text(&xml_safe(&config.category_title(c)))
        );
    }
    let _ = writeln!(s, "</p>\n<article>\n<h1>{}</h1>", text(&xml_safe(&a.title)));
    let _ = write!(
        s,
        "<p class=\"meta\"><time datetime=\"{}\">{}</time>",
        time_datetime(&a.date),
        a.date.format("%Y-%m-%d %H:%M")
    );
    // The names the article gives itself link to their pages; the site's
    // fallback author is plain text. Spellings of one term (`EV`, `ev`)
    // are one link, as they are one term.
    let names: Vec<String> = first_of_each_term(&a.authors)
        .map(|n| {
            term_link(
                config,
                Taxonomy::Authors,
                n,
                a.entry.authors().iter().any(|x| x == &**n),
            )
        })
        .collect();
    if !names.is_empty() {
        let _ = write!(s, " · {}", names.join(", "));
    }
    s.push_str("</p>\n");
    if !a.tags.is_empty() {
        let tags: Vec<String> = first_of_each_term(&a.tags)
            .map(|t| term_link(config, Taxonomy::Tags, t, true))
            .collect();
        let _ = writeln!(
            s,
            "<p class=\"meta\">{}: {}</p>",
            list_title(Taxonomy::Tags),
            tags.join(", ")
        );
    }
    let _ = writeln!(s, "{}\n</article>", xml_safe(&a.content_html));
    s.push_str("</body>\n</html>\n");
    s
}

/// Of `names`, the first spelling of each term (by key), in order.
fn first_of_each_term(names: &[String]) -> impl Iterator<Item = &String> {
    let mut seen = std::collections::HashSet::new();
    names
        .iter()
        .filter(move |n| seen.insert(crate::taxonomy::key(n)))
}

/// A tag or author name, linked to its page when the taxonomy is on and
/// `linked` holds.
fn term_link(config: &Config, tax: Taxonomy, name: &str, linked: bool) -> String {
    // Shown in the page's script; the key (the URL) is the original's.
    let shown = text(&xml_safe(&config.show(name))).into_owned();
    let key = crate::taxonomy::key(name);
    if !linked || key.is_empty() || !config.feeds.taxonomies.contains(&tax) {
        return shown;
    }
    format!(
        "<a href=\"{}\">{shown}</a>",
        attr(&url_of(config, &PageId::TermIndex(tax, key)))
    )
}
