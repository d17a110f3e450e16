//! Markdown articles: front matter checked into an [`Article`], the body
//! rendered as CommonMark (tables, footnotes, strikethrough), links made
//! absolute against the permalink, raw HTML sanitised to an allow-list.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use url::Url;

use super::*;
use crate::config::language::language_tag_problem;
use crate::config::Config;
use crate::content::rules::category_and_stem;
use crate::diagnostics::Diagnostic;

use super::dates::parse_date;
use super::front_matter::*;
use super::id::tag_id;
use super::whitespace::{clean_list, collapse_ws, truncate_chars};

/// A Markdown file checked in full: its index entry and what rendering
/// its body needs.
struct Checked<'a> {
    entry: Entry,
    front: FrontMatter,
    /// The body's events, once parsed (they are parsed for the check only
    /// when the title comes from the first heading).
    events: Option<Vec<Event<'a>>>,
    body: &'a str,
    title: String,
    link: Option<String>,
    lang: Option<String>,
    warnings: Vec<Diagnostic>,
}

/// Checks a Markdown article without rendering its body: every error and
/// warning [`parse_markdown`] would give, and the index entry.
pub(super) fn check_markdown(
    path: &Path,
    rel: &str,
    text: &str,
    config: &Config,
) -> Result<Indexed, Diagnostic> {
    let checked = check(path, rel, text, config)?;
    Ok(Indexed {
        entry: checked.entry,
        phase: Phase::Checked,
        warnings: checked.warnings,
        stamp: None,
    })
}

/// Parses a Markdown article: checked, then its body rendered.
pub(super) fn parse_markdown(
    path: &Path,
    rel: &str,
    text: &str,
    config: &Config,
) -> Result<Parsed, Diagnostic> {
    let checked = check(path, rel, text, config)?;
    let warnings = checked.warnings.clone();
    Ok(Parsed {
        article: render(checked, config),
        warnings,
        stamp: None,
    })
}

fn body_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH
}

/// Front matter and title checked, the index entry built.
fn check<'a>(
    path: &Path,
    rel: &str,
    text: &'a str,
    config: &Config,
) -> Result<Checked<'a>, Diagnostic> {
    let split = split_front_matter(path, text)?;
    let (mut front, keys) = parse_front(path, &split)?;
    let mut warnings = Vec::new();
    for k in keys {
        if !KNOWN_KEYS.contains(&k.as_str()) {
            let pos = key_position(split.front, &k).map(|(l, c)| (split.front_line + l, c));
            warnings.push(Diagnostic::warning(
                path,
                pos,
                format!("front matter: unknown key `{k}` ignored"),
            ));
        }
    }
    let key_at = |key: &str| {
        key_position(split.front, key)
            .map(|(l, c)| (split.front_line + l, c))
            .or(Some((split.front_line.saturating_sub(1).max(1), 1)))
    };
    let body_line =
        memchr::memchr_iter(b'\n', &text.as_bytes()[..text.len() - split.body.len()]).count() + 1;

    let date = match &front.date {
        Some(d) => parse_date(&d.0, &config.site.timezone)
            .map_err(|m| Diagnostic::error(path, key_at("date"), m))?,
        None => {
            return Err(Diagnostic::error(
                path,
                Some((1, 1)),
                "missing field `date` (add date = \"YYYY-MM-DD HH:MM\" to the front matter)",
            ))
        }
    };
    let updated = match &front.updated {
        Some(d) => parse_date(&d.0, &config.site.timezone)
            .map_err(|m| Diagnostic::error(path, key_at("updated"), m))?,
        None => date,
    };

    let mut events = None;
    let title = match front.title.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => t.to_string(),
        Some(_) => {
            return Err(Diagnostic::error(
                path,
                key_at("title"),
                "field `title` is empty",
            ))
        }
        None => {
            let mut parsed: Vec<Event> = Parser::new_ext(split.body, body_options()).collect();
            let heading = take_first_h1(&mut parsed);
            events = Some(parsed);
            match heading {
                Some(t) if !t.trim().is_empty() => t.trim().to_string(),
                _ => {
                    return Err(Diagnostic::error(
                        path,
                        Some((if split.kind.is_some() { 1 } else { body_line }, 1)),
                        "missing field `title` (and no `# heading` in the body)",
                    ))
                }
            }
        }
    };

    let (category, stem) = category_and_stem(rel);
    let slug = front
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(stem)
        .to_string();
    let link = match front
        .link
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(l) => Some(absolute_link(l, &config.site.link).ok_or_else(|| {
            Diagnostic::error(
                path,
                key_at("link"),
                format!("field `link` {l:?} is not a URL"),
            )
        })?),
        None => None,
    };
    let id = match front.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => tag_id(config, category, &slug, &date),
    };
    let lang = match front
        .lang
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        Some(l) => match language_tag_problem(l) {
            None => Some(l.to_string()),
            Some(why) => {
                // An invalid `xml:lang` would break the feed; the site's language stands.
                warnings.push(Diagnostic::warning(
                    path,
                    key_at("lang"),
                    format!(
                        "field `lang` {l:?} is not a language tag like \"en\" or \"zh-Hant\" ({why}); ignored"
                    ),
                ));
                None
            }
        },
        None => None,
    };
    // `author` names first, in order, then `authors` (clean_list drops repeats).
    let mut authors: Vec<String> = front.author.take().map(|n| n.0).unwrap_or_default();
    authors.extend(front.authors.take().map(|n| n.0).unwrap_or_default());
    let authors = clean_list(authors);
    let tags = clean_list(front.tags.take().map(|n| n.0).unwrap_or_default());
    let entry = Entry::new(
        Arc::from(rel),
        category_name(category),
        slug,
        (date, updated),
        id,
        front.draft.unwrap_or(false),
    )
    .with_names(&tags, &authors);
    let entry = entry.with_link(link.as_deref());
    Ok(Checked {
        entry,
        front,
        events,
        body: split.body,
        title,
        link,
        lang,
        warnings,
    })
}

/// The article of a checked file: the body rendered with links made
/// absolute against the permalink, the summary, names, tags and image.
fn render(checked: Checked<'_>, config: &Config) -> Article {
    let Checked {
        entry,
        front,
        events,
        body,
        title,
        link,
        lang,
        warnings: _,
    } = checked;
    let link = link.unwrap_or_else(|| {
        config
            .site
            .article_url
            .fill(&entry.category, &entry.slug, &entry.date)
    });
    let base = Url::parse(&link).ok();
    let mut events = events.unwrap_or_else(|| Parser::new_ext(body, body_options()).collect());

    let mut has_html = false;
    let mut plain = String::new();
    let mut in_footnote = 0usize;
    // A link or image whose URL is refused loses its tags and keeps its
    // text (an image its alt text), as ammonia does with raw HTML.
    let mut refused = Vec::new();
    // Whether each open link or image was refused, innermost last (an
    // image's alt text may hold another image).
    let (mut links, mut images): (Vec<bool>, Vec<bool>) = (Vec::new(), Vec::new());
    for (i, ev) in events.iter_mut().enumerate() {
        match ev {
            Event::Html(_) | Event::InlineHtml(_) => has_html = true,
            Event::Start(Tag::FootnoteDefinition(label)) => {
                *label = footnote_id(label);
                in_footnote += 1;
            }
            Event::FootnoteReference(label) => *label = footnote_id(label),
            Event::End(TagEnd::FootnoteDefinition) => in_footnote = in_footnote.saturating_sub(1),
            Event::Text(t) | Event::Code(t) if in_footnote == 0 => plain.push_str(t),
            Event::SoftBreak | Event::HardBreak => plain.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::CodeBlock,
            ) => plain.push(' '),
            // The writer puts `mailto:` before an email autolink's address.
            Event::Start(Tag::Link {
                link_type: LinkType::Email,
                ..
            }) => links.push(false),
            Event::Start(Tag::Link { dest_url, .. }) => {
                let url = safe_url(dest_url, base.as_ref());
                links.push(url.is_none());
                match url {
                    Some(url) => *dest_url = CowStr::from(url),
                    None => refused.push(i),
                }
            }
            // An image whose URL is the page itself (none, `#`, `?`) would
            // show the page as a broken image.
            Event::Start(Tag::Image { dest_url, .. }) => {
                let url =
                    safe_url(dest_url, base.as_ref()).filter(|u| !is_page_itself(u, base.as_ref()));
                images.push(url.is_none());
                match url {
                    Some(url) => *dest_url = CowStr::from(url),
                    None => refused.push(i),
                }
            }
            Event::End(TagEnd::Link) => refused.extend((links.pop() == Some(true)).then_some(i)),
            Event::End(TagEnd::Image) => refused.extend((images.pop() == Some(true)).then_some(i)),
            _ => {}
        }
    }
    if !refused.is_empty() {
        let mut refused = refused.into_iter().peekable();
        let mut i = 0;
        events.retain(|_| {
            let keep = refused.next_if_eq(&i).is_none();
            i += 1;
            keep
        });
    }
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    // Footnote references are written as `href="#…"`; feed readers show the
    // item away from its page, so anchor them on the permalink too.
    if html.contains("href=\"#") {
        html = html.replace("href=\"#", &anchor_href(&link));
    }
    let content_html = if has_html {
        sanitize(&html, base.as_ref())
    } else {
        html
    };

    let summary = match front
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => collapse_ws(s),
        None => truncate_chars(&collapse_ws(&plain), config.feeds.summary_chars),
    };

    let authors = if entry.authors().is_empty() {
        config.site.author.iter().cloned().collect()
    } else {
        entry.authors().iter().map(|a| a.to_string()).collect()
    };
    let tags = entry.tags().iter().map(|t| t.to_string()).collect();
    let image = front
        .image
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|i| match &base {
            Some(b) => b
                .join(i)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| i.to_string()),
            None => i.to_string(),
        });

    Article {
        entry,
        title: collapse_ws(&title),
        summary,
        content_html: Arc::from(content_html),
        authors,
        tags,
        image,
        link,
        lang,
    }
}

/// Removes the first level-1 heading from the events and returns its text.
pub(super) fn take_first_h1(events: &mut Vec<Event>) -> Option<String> {
    let start = events.iter().position(|e| {
        matches!(
            e,
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            })
        )
    })?;
    let end = start
        + events[start..]
            .iter()
            .position(|e| matches!(e, Event::End(TagEnd::Heading(HeadingLevel::H1))))?;
    let mut title = String::new();
    for e in &events[start..end] {
        if let Event::Text(t) | Event::Code(t) = e {
            title.push_str(t);
        }
    }
    events.drain(start..=end);
    Some(title)
}

/// How a body's anchors on the page at `link` begin (`href="{link}#`):
/// footnote references are written so, and a variant points them at its
/// own page by this same text.
pub(crate) fn anchor_href(link: &str) -> String {
    format!(
        "href=\"{}#",
        html_escape::encode_double_quoted_attribute(link)
    )
}

/// Whether `url` is the page at `base` (whatever its fragment or an empty
/// query).
fn is_page_itself(url: &str, base: Option<&Url>) -> bool {
    let Some(base) = base else {
        return url.trim().is_empty();
    };
    fn bare(u: &str) -> &str {
        let u = u.split('#').next().unwrap_or(u);
        u.strip_suffix('?').unwrap_or(u)
    }
    bare(url) == bare(base.as_str())
}

/// A footnote label as the id of its note and the fragment of links to
/// it: whitespace runs made one `%20` (an id holds no whitespace), and the
/// other ASCII a URL fragment may not hold percent-encoded, `%` too, so
/// distinct labels stay distinct (`[^a b]` is `a%20b`, `[^a-b]` stays,
/// `[^50%]` is `50%25`); other characters stay. A reference and its note
/// get the same.
fn footnote_id(label: &str) -> CowStr<'static> {
    let mut id = String::with_capacity(label.len());
    for (n, word) in label.split_whitespace().enumerate() {
        if n > 0 {
            id.push_str("%20");
        }
        for c in word.chars() {
            if c.is_ascii_control() || "\"#%<>[\\]^`{|}".contains(c) {
                let _ = write!(id, "%{:02X}", u32::from(c));
            } else {
                id.push(c);
            }
        }
    }
    CowStr::from(id)
}

/// The URL made absolute against `base`; `None` for a scripting or unknown
/// scheme, or a URL that does not parse.
pub(super) fn safe_url(url: &str, base: Option<&Url>) -> Option<String> {
    let trimmed = url.trim();
    match Url::parse(trimmed) {
        Ok(u) => matches!(
            u.scheme(),
            "http" | "https" | "mailto" | "tel" | "ftp" | "news" | "xmpp"
        )
        .then(|| trimmed.to_string()),
        Err(url::ParseError::RelativeUrlWithoutBase) => match base {
            Some(b) => b.join(trimmed).ok().map(|u| u.to_string()),
            None => Some(trimmed.to_string()),
        },
        Err(_) => None,
    }
}

/// Sanitises HTML to ammonia's allow-list, making relative URLs absolute.
/// Only bodies with raw HTML pay for this; Markdown output is safe once
/// link targets are checked (see `safe_url`).
///
/// Links get no `rel`: ammonia would put one on every `<a>`, also on those
/// whose refused URL it removed, and HTML forbids `rel` on an `<a>` without
/// `href`. The allow-list has no `target`, so `noopener` would change nothing.
pub(super) fn sanitize(html: &str, base: Option<&Url>) -> String {
    let mut builder = ammonia::Builder::default();
    builder.link_rel(None);
    builder.add_generic_attributes(["id"]);
    // Elements the allow-list keeps get the attribute HTML requires of them.
    builder.add_tag_attributes("time", ["datetime"]);
    builder.add_tag_attributes("data", ["value"]);
    if let Some(b) = base {
        builder.url_relative(ammonia::UrlRelative::RewriteWithBase(b.clone()));
    }
    builder.clean(html).to_string()
}

pub(super) fn absolute_link(l: &str, site_link: &str) -> Option<String> {
    match Url::parse(l) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u.to_string()),
        Ok(_) => None,
        Err(url::ParseError::RelativeUrlWithoutBase) => Url::parse(&format!("{site_link}/"))
            .ok()?
            .join(l)
            .ok()
            .map(|u| u.to_string()),
        Err(_) => None,
    }
}
