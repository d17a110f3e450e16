//! The permalink template `site.article_url`, compiled once when the
//! config is validated and filled for every article by [`Permalink::fill`].
//!
//! `{link}` and `{base_url}` are fixed by the config, so they are folded
//! into the template's text at compile time; `{category}`, `{slug}`,
//! `{year}`, `{month}` and `{day}` vary per article.

use std::fmt::Write;

use chrono::{DateTime, Datelike, FixedOffset};
use url::Url;

use crate::url_segment::push_segment;

/// What `site.article_url` may hold.
pub const PLACEHOLDERS: [&str; 7] = [
    "{link}",
    "{base_url}",
    "{category}",
    "{slug}",
    "{year}",
    "{month}",
    "{day}",
];

/// One piece of a compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Category,
    Slug,
    Year,
    Month,
    Day,
}

/// A compiled `site.article_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permalink {
    /// The template as written.
    source: String,
    /// For articles in a category folder.
    in_category: Vec<Part>,
    /// For files directly in `content.dir`: each `{category}` goes with one
    /// slash beside it (the one after it, else the one before it), so the
    /// URL has no empty segment.
    at_root: Vec<Part>,
    /// The `base_url` the template was compiled for.
    base_url: String,
    /// What fills the page path under `base_url` of `in_category`'s
    /// permalinks without encoding and decoding them ([`page_parts`]).
    page_in_category: Option<Vec<Part>>,
    /// The same for `at_root`.
    page_at_root: Option<Vec<Part>>,
}

impl Permalink {
    /// Compiles `template` for a site whose `{link}` and `{base_url}` are
    /// `link` and `base_url`.
    ///
    /// Fails on an unclosed `{`, an unknown placeholder, or a template
    /// that does not give an absolute http(s) URL.
    pub fn parse(template: &str, link: &str, base_url: &str) -> Result<Permalink, String> {
        let in_category = compile(template, link, base_url)?;
        let probe = fill_parts(&in_category, "c", "s", None);
        match Url::parse(&probe) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(format!(
                    "{template:?} does not give an absolute http(s) URL (start it with {{link}} or {{base_url}})"
                ))
            }
        }
        let root_template = template
            .replace("/{category}/", "/")
            .replace("{category}/", "")
            .replace("/{category}", "");
        let at_root = compile(&root_template, link, base_url)?;
        Ok(Permalink {
            source: template.to_string(),
            page_in_category: page_parts(&in_category, base_url),
            page_at_root: page_parts(&at_root, base_url),
            in_category,
            at_root,
            base_url: base_url.to_string(),
        })
    }

    /// The template as written in the config.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The permalink of an article: `category` (empty for a file directly
    /// in `content.dir`) and `slug` percent-encoded as path segments, the
    /// date's local year, month and day.
    pub fn fill(&self, category: &str, slug: &str, date: &DateTime<FixedOffset>) -> String {
        let mut out = String::new();
        self.fill_into(&mut out, category, slug, date);
        out
    }

    /// [`Permalink::fill`] into `out` (cleared first), for a caller that
    /// fills many permalinks into one buffer.
    pub fn fill_into(
        &self,
        out: &mut String,
        category: &str,
        slug: &str,
        date: &DateTime<FixedOffset>,
    ) {
        let parts = if category.is_empty() {
            &self.at_root
        } else {
            &self.in_category
        };
        fill_parts_into(out, parts, category, slug, Some(date), true);
    }

    /// The decoded page path under `base_url` of [`Permalink::fill`]'s
    /// permalink (what `Site::page_path` makes of it), filled into `out`
    /// (cleared first) without encoding and decoding the permalink:
    /// `Some(true)` when it has one, `Some(false)` when it has none, and
    /// `None` when only filling and decoding the permalink tells (a
    /// template whose text alone does not put it under `base_url`, or
    /// that holds `%`, `?` or `#`; or another `base_url`).
    pub fn fill_page_into(
        &self,
        base_url: &str,
        out: &mut String,
        category: &str,
        slug: &str,
        date: &DateTime<FixedOffset>,
    ) -> Option<bool> {
        if base_url != self.base_url {
            return None;
        }
        let parts = if category.is_empty() {
            self.page_at_root.as_ref()?
        } else {
            self.page_in_category.as_ref()?
        };
        fill_parts_into(out, parts, category, slug, Some(date), false);
        // The path starts with `/`; `Site::page_path` wants more than that
        // (an encoded permalink is longer than `/` exactly when its
        // decoded path is).
        Some(out.len() >= 2)
    }
}

/// Splits a template into parts, folding in `{link}` and `{base_url}`.
fn compile(template: &str, link: &str, base_url: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| "unclosed '{'".to_string())?;
        let part = match &after[..close] {
            "link" => {
                text.push_str(link);
                None
            }
            "base_url" => {
                text.push_str(base_url);
                None
            }
            "category" => Some(Part::Category),
            "slug" => Some(Part::Slug),
            "year" => Some(Part::Year),
            "month" => Some(Part::Month),
            "day" => Some(Part::Day),
            name => return Err(format!("unknown placeholder {{{name}}}")),
        };
        if let Some(p) = part {
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(p);
        }
        rest = &after[close + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

/// Fills compiled parts; without a date (the config's own check), the
/// date fields read 2000-01-01.
fn fill_parts(
    parts: &[Part],
    category: &str,
    slug: &str,
    date: Option<&DateTime<FixedOffset>>,
) -> String {
    let mut out = String::new();
    fill_parts_into(&mut out, parts, category, slug, date, true);
    out
}

/// The parts that fill the decoded page path under `base_url` of the
/// permalinks of `parts`: the text after `base_url`, then the rest, with
/// `{category}` and `{slug}` written as they are (decoding a segment gives
/// it back: every byte but ASCII letters, digits and `-._~` is encoded, so
/// an encoded segment holds no `/`, `?`, `#` or `%` of its own). `None`
/// unless the first text starts with `base_url` and `/` and no text holds
/// `%` (decoding could then act across parts), `?` or `#` (a query or a
/// fragment: no page).
fn page_parts(parts: &[Part], base_url: &str) -> Option<Vec<Part>> {
    let (Part::Text(first), rest) = parts.split_first()? else {
        return None;
    };
    let after = first.strip_prefix(base_url)?;
    if !after.starts_with('/') {
        return None;
    }
    let mut out = vec![Part::Text(after.to_string())];
    out.extend(rest.iter().cloned());
    let plain = out.iter().all(|p| match p {
        Part::Text(t) => !t.contains(['%', '?', '#']),
        _ => true,
    });
    plain.then_some(out)
}

/// [`fill_parts`] into `out`, cleared first; `{category}` and `{slug}`
/// percent-encoded when `encode`, else as they are.
fn fill_parts_into(
    out: &mut String,
    parts: &[Part],
    category: &str,
    slug: &str,
    date: Option<&DateTime<FixedOffset>>,
    encode: bool,
) {
    let (y, m, d) = date.map_or((2000, 1, 1), |t| {
        let day = t.date_naive();
        (day.year(), day.month(), day.day())
    });
    let text_len: usize = parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.len(),
            _ => 4,
        })
        .sum();
    out.clear();
    out.reserve(text_len + 3 * (category.len() + slug.len()));
    for p in parts {
        // (Writing to a String cannot fail.)
        let _ = match p {
            Part::Text(t) => {
                out.push_str(t);
                Ok(())
            }
            Part::Category if encode => {
                push_segment(out, category);
                Ok(())
            }
            Part::Slug if encode => {
                push_segment(out, slug);
                Ok(())
            }
            Part::Category => {
                out.push_str(category);
                Ok(())
            }
            Part::Slug => {
                out.push_str(slug);
                Ok(())
            }
            Part::Year => write!(out, "{y:04}"),
            Part::Month => write!(out, "{m:02}"),
            Part::Day => write!(out, "{d:02}"),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LINK: &str = "https://news.example.cn";
    const BASE: &str = "https://feeds.example.cn";

    fn date() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2025-03-05T01:30:00+08:00").unwrap()
    }

    #[test]
    fn placeholders_are_filled_and_segments_percent_encoded() {
        let p = Permalink::parse(
            "{link}/{year}/{month}/{day}/{category}/{slug}.html",
            LINK,
            BASE,
        )
        .unwrap();
        assert_eq!(
            p.fill("社会", "a b", &date()),
            "https://news.example.cn/2025/03/05/%E7%A4%BE%E4%BC%9A/a%20b.html"
        );
        let p = Permalink::parse("{base_url}/p/{slug}", LINK, BASE).unwrap();
        assert_eq!(p.fill("x", "s", &date()), "https://feeds.example.cn/p/s");
    }

    #[test]
    fn the_date_is_the_local_day_of_the_article() {
        let p = Permalink::parse("{link}/{year}-{month}-{day}/{slug}", LINK, BASE).unwrap();
        // 01:30 in +08:00 is still the 4th in UTC: the article's own day counts.
        assert_eq!(
            p.fill("c", "s", &date()),
            "https://news.example.cn/2025-03-05/s"
        );
    }

    #[test]
    fn a_root_level_file_drops_each_category_with_a_slash() {
        for (template, want) in [
            (
                "{link}/{category}/{slug}.html",
                "https://news.example.cn/a.html",
            ),
            (
                "{link}/{category}/{category}-{slug}",
                "https://news.example.cn-a",
            ),
            ("{link}/{slug}/{category}", "https://news.example.cn/a"),
            (
                "{link}/{year}/{category}/{slug}",
                "https://news.example.cn/2025/a",
            ),
        ] {
            let p = Permalink::parse(template, LINK, BASE).unwrap();
            assert_eq!(p.fill("", "a", &date()), want, "{template}");
        }
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        for (template, reason) in [
            ("{link}/{cat}/{slug}", "unknown placeholder {cat}"),
            ("{link}/{slug", "unclosed '{'"),
            ("/{category}/{slug}", "absolute http(s) URL"),
            ("ftp://x/{slug}", "absolute http(s) URL"),
        ] {
            let e = Permalink::parse(template, LINK, BASE).unwrap_err();
            assert!(e.contains(reason), "{template}: {e}");
        }
    }

    proptest! {
        #[test]
        fn any_accepted_template_gives_a_url_with_no_placeholder_left(
            parts in proptest::collection::vec(prop::sample::select(vec![
                "{category}", "{category}", "{slug}", "{year}", "{month}", "{day}",
                "/", "/", "a", ".html", "-",
            ]), 0..10),
            category in prop::sample::select(vec!["", "", "politics", "社会", "a b"]),
            slug in prop::sample::select(vec!["s", "新闻 1", "{slug}", "a%b"]),
        ) {
            let template = format!("{{link}}/{}", parts.concat());
            let p = Permalink::parse(&template, LINK, BASE).unwrap();
            let url = p.fill(category, slug, &date());
            prop_assert!(url.starts_with(LINK), "{}", url);
            // (At the root, `{link}/{category}{slug}` joins the slug to the
            // host; the operator's template decides that.)
            if !category.is_empty() {
                prop_assert!(Url::parse(&url).is_ok(), "{}", url);
            }
            // Braces only ever come from an encoded slug: never a placeholder.
            prop_assert!(!url.contains('{') && !url.contains('}'), "{}", url);
            prop_assert!(!url[LINK.len()..].contains("//") || template.contains("//"), "{} from {}", url, template);
        }
    }
}
