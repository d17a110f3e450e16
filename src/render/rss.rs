//! RSS 2.0 through the `rss` crate, with the Atom `self` link and plain
//! text written as the RSS Best Practices Profile asks.

use html_escape::encode_text as text;

use super::xml::xml_safe;
use super::{guess_mime, url_of, FeedView};
use crate::catalog::Catalog;
use crate::config::{Config, Format};

pub(super) fn render_rss(config: &Config, catalog: &Catalog, view: &FeedView) -> Vec<u8> {
    use rss::extension::atom::{AtomExtension, Link};
    use rss::extension::dublincore::DublinCoreExtension;

    let items: Vec<rss::Item> = view
        .items
        .iter()
        .map(|a| {
            let id = catalog.effective_id(a);
            let mut item = rss::Item::default();
            item.set_title(xml_safe(&a.title));
            item.set_link(xml_safe(&a.link));
            // RSS readers treat <description> as HTML; the summary is plain text.
            item.set_description(xml_safe(&text(&a.summary)));
            if config.feeds.full_content {
                item.set_content(xml_safe(&a.content_html));
            }
            item.set_guid(rss::Guid {
                permalink: id == a.link,
                value: xml_safe(&id),
            });
            item.set_pub_date(a.date.to_rfc2822());
            item.set_categories(
                a.tags
                    .iter()
                    .map(|t| rss::Category {
                        name: xml_safe(&config.show(t)),
                        domain: None,
                    })
                    .collect::<Vec<_>>(),
            );
            if let Some(img) = &a.image {
                item.set_enclosure(rss::Enclosure {
                    url: xml_safe(img),
                    length: "0".into(),
                    mime_type: guess_mime(img),
                });
            }
            if !a.authors.is_empty() {
                item.set_dublin_core_ext(DublinCoreExtension {
                    creators: a
                        .authors
                        .iter()
                        .map(|s| xml_safe(&config.show(s)))
                        .collect(),
                    ..Default::default()
                });
            }
            item
        })
        .collect();
    let mut channel = rss::Channel::default();
    channel.set_title(xml_safe(&view.title));
    channel.set_link(xml_safe(&config.site.link));
    channel.set_description(xml_safe(&view.description));
    channel.set_language(xml_safe(&config.site.language));
    channel.set_last_build_date(view.updated.to_rfc2822());
    channel.set_generator("herald".to_string());
    let mut links = vec![Link {
        href: url_of(config, &view.page(Format::Rss)),
        rel: "self".into(),
        mime_type: Some(Format::Rss.media_type().into()),
        ..Default::default()
    }];
    // WebSub discovery: `/rss/channel/atom:link[@rel="hub"]`.
    for hub in config.hub_urls() {
        links.push(Link {
            href: xml_safe(&hub),
            rel: "hub".into(),
            ..Default::default()
        });
    }
    channel.set_atom_ext(AtomExtension { links });
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
pub(super) fn hex_references(xml: Vec<u8>) -> Vec<u8> {
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
}
