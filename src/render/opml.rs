//! The OPML 2.0 list of every feed, for importing a whole newsroom into a
//! reader at once.

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use chrono::{DateTime, FixedOffset};

use super::xml::xml_safe;
use super::{epoch, feed_title, url_of, PageId};
use crate::catalog::Catalog;
use crate::config::{Config, Format};

pub(super) fn render_opml(
    config: &Config,
    catalog: &Catalog,
    now: DateTime<FixedOffset>,
) -> String {
    let mut s = String::with_capacity(2048);
    let modified = catalog.newest_updated(now).unwrap_or_else(epoch);
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>{}</title>\n    <dateModified>{}</dateModified>\n  </head>\n  <body>\n",
        text(&xml_safe(&config.site.title)),
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
            attr(&xml_safe(&title)),
            attr(&xml_safe(&title))
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
                attr(&xml_safe(&t)),
                attr(&xml_safe(&t)),
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
