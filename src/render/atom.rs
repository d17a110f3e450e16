//! Atom 1.0 through `atom_syndication`: every required element set
//! explicitly (the crate's defaults are an empty id and a 1970 date).

use atom_syndication as atom;

use super::xml::xml_safe;
use super::{guess_mime, url_of, FeedView};
use crate::catalog::Catalog;
use crate::config::{Config, Format};

pub(super) fn person(name: &str) -> atom::Person {
    atom::Person {
        name: xml_safe(name),
        email: None,
        uri: None,
        ..Default::default()
    }
}

pub(super) fn plain(s: &str, lang: Option<&str>) -> atom::Text {
    let mut t = atom::Text::plain(xml_safe(s));
    t.lang = lang.map(xml_safe);
    t
}

pub(super) fn render_atom(config: &Config, catalog: &Catalog, view: &FeedView) -> Vec<u8> {
    let entries: Vec<atom::Entry> = view
        .items
        .iter()
        .map(|a| {
            let lang = a.lang.as_deref();
            let mut links = vec![atom::Link {
                href: xml_safe(&a.link),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            }];
            if let Some(img) = &a.image {
                links.push(atom::Link {
                    href: xml_safe(img),
                    rel: "enclosure".into(),
                    mime_type: Some(guess_mime(img)),
                    ..Default::default()
                });
            }
            let mut e = atom::Entry {
                title: plain(&a.title, lang),
                id: xml_safe(&catalog.effective_id(a)),
                updated: a.updated,
                published: Some(a.date),
                authors: a.authors.iter().map(|n| person(&config.show(n))).collect(),
                links,
                summary: Some(plain(&a.summary, lang)),
                categories: a
                    .tags
                    .iter()
                    .map(|t| atom::Category {
                        term: xml_safe(&config.show(t)),
                        scheme: None,
                        label: None,
                    })
                    .collect(),
                ..Default::default()
            };
            if config.feeds.full_content {
                e.content = Some(atom::Content {
                    value: Some(xml_safe(&a.content_html)),
                    content_type: Some("html".into()),
                    lang: a.lang.as_deref().map(xml_safe),
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
                href: xml_safe(&config.site.link),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ]
        .into_iter()
        // WebSub discovery.
        .chain(config.hub_urls().into_iter().map(|hub| atom::Link {
            href: xml_safe(&hub),
            rel: "hub".into(),
            ..Default::default()
        }))
        .collect(),
        subtitle: Some(plain(&view.description, None)),
        generator: Some(atom::Generator {
            value: "herald".into(),
            uri: None,
            version: None,
        }),
        entries,
        lang: Some(xml_safe(&config.site.language)),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::article;
    use crate::config::language::is_language_tag;
    use crate::render::{render, PageId};

    use super::*;

    /// An article whose `lang` is not a language tag is published with a
    /// warning and without the value: the Atom feed's every `xml:lang`
    /// and the JSON Feed's every `language` stay valid.
    #[test]
    fn an_invalid_lang_never_reaches_xml_lang() {
        let config = Config::parse(
            Path::new("/cfg/herald.toml"),
            "[site]\ntitle = \"T\"\nlink = \"https://news.example\"\nlanguage = \"zh-CN\"\n",
        )
        .unwrap();
        let text = "+++\ntitle = \"Bad lang\"\ndate = \"2025-01-02 10:00\"\nlang = \"not a tag!!\"\n+++\nBody.\n";
        let parsed =
            article::parse(Path::new("/c/news/a.md"), "news/a.md", text, None, &config).unwrap();
        assert!(
            parsed
                .warnings
                .iter()
                .any(|w| w.to_string().contains("/c/news/a.md:4:") && w.message.contains("lang")),
            "{:?}",
            parsed.warnings
        );
        let good = "+++\ntitle = \"Good lang\"\ndate = \"2025-01-01 10:00\"\nlang = \"en-GB\"\n+++\nBody.\n";
        let good =
            article::parse(Path::new("/c/news/b.md"), "news/b.md", good, None, &config).unwrap();
        let catalog = Catalog::from_articles(
            ["news".to_string()],
            vec![parsed.article.into(), good.article.into()],
        );
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();

        let feed = render(
            &config,
            &catalog,
            &PageId::Feed(Some("news".into()), Format::Atom),
            now,
        );
        let xml = String::from_utf8(feed.body).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let langs: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute(("http://www.w3.org/XML/1998/namespace", "lang")))
            .collect();
        assert!(
            langs.contains(&"en-GB") && langs.contains(&"zh-CN"),
            "{langs:?}"
        );
        for l in &langs {
            assert!(is_language_tag(l), "xml:lang={l:?} in\n{xml}");
        }

        let json = render(
            &config,
            &catalog,
            &PageId::Feed(Some("news".into()), Format::Json),
            now,
        );
        let json: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        let items = json["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        for item in items {
            if let Some(l) = item.get("language") {
                assert!(is_language_tag(l.as_str().unwrap()), "{item}");
            }
        }
        assert!(items.iter().any(|i| i["language"] == "en-GB"));
    }
}
