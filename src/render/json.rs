//! JSON Feed 1.1, serialised with serde.

use html_escape::encode_text as text;
use serde::Serialize;

use super::xml::xml_safe;
use super::{rfc3339, url_of, FeedView};
use crate::catalog::Catalog;
use crate::config::{Config, Format};

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    description: String,
    language: String,
    authors: Vec<JsonAuthor>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<JsonHub>,
    items: Vec<JsonItem<'a>>,
}

/// A WebSub hub (JSON Feed 1.1 `hubs`).
#[derive(Serialize)]
struct JsonHub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
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

pub(super) fn render_json(config: &Config, catalog: &Catalog, view: &FeedView) -> Vec<u8> {
    let items = view
        .items
        .iter()
        .map(|a| JsonItem {
            id: xml_safe(&catalog.effective_id(a)),
            url: xml_safe(&a.link),
            title: xml_safe(&a.title),
            summary: xml_safe(&a.summary),
            // JSON Feed requires content_html or content_text.
            content_html: Some(if config.feeds.full_content {
                xml_safe(&a.content_html)
            } else {
                xml_safe(&text(&a.summary))
            }),
            content_text: None,
            date_published: rfc3339(&a.date),
            date_modified: rfc3339(&a.updated),
            authors: a
                .authors
                .iter()
                .map(|n| JsonAuthor {
                    name: xml_safe(&config.show(n)),
                })
                .collect(),
            tags: a.tags.iter().map(|t| xml_safe(&config.show(t))).collect(),
            image: a.image.as_deref().map(xml_safe),
            language: a.lang.as_deref().map(xml_safe),
        })
        .collect();
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: xml_safe(&view.title),
        home_page_url: xml_safe(&config.site.link),
        feed_url: url_of(config, &view.page(Format::Json)),
        description: xml_safe(&view.description),
        language: xml_safe(&config.site.language),
        authors: vec![JsonAuthor {
            name: xml_safe(config.site.author.as_deref().unwrap_or(&config.site.title)),
        }],
        hubs: config
            .hub_urls()
            .into_iter()
            .map(|url| JsonHub {
                kind: "WebSub",
                url: xml_safe(&url),
            })
            .collect(),
        items,
    };
    let mut out = serde_json::to_vec_pretty(&feed)
        .expect("a JSON Feed serialises: string keys, strings and numbers only");
    out.push(b'\n');
    out
}
