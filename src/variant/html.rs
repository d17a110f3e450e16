//! Converting an HTML fragment (an article body as herald sanitised it)
//! in its text only: tags, attributes and URLs are never touched, nor the
//! text of `<code>`, `<pre>`, `<kbd>`, `<samp>`, `<script>` and `<style>`.
//!
//! Phrases can run across inline tags (`头<b>发</b>`), so the text is
//! converted in one piece with the tags taken out, then the tags are put
//! back at the same character offsets. The conversion maps characters
//! one to one in every case herald's dictionaries hold; should a
//! conversion ever change the length, each text run is converted on its
//! own instead (right in all but phrases split by a tag).

use super::Script;

/// Elements whose text is code or data, never prose.
const VERBATIM: [&str; 6] = ["code", "pre", "kbd", "samp", "script", "style"];

/// One piece of the fragment.
enum Piece<'a> {
    /// A tag, a comment or a doctype, kept as it is.
    Markup(&'a str),
    /// Text to convert.
    Text(&'a str),
    /// Text kept as it is (inside a verbatim element).
    Verbatim(&'a str),
}

/// `html` with its text in `script`.
pub fn convert(script: Script, html: &str) -> String {
    if html.is_ascii() {
        return html.to_string();
    }
    let pieces = split(html);
    let prose: String = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Text(t) => Some(*t),
            _ => None,
        })
        .collect();
    let converted = script.convert(&prose);
    if converted.chars().count() == prose.chars().count() {
        // Put the tags back at the same character offsets.
        let mut out = String::with_capacity(html.len() + 16);
        let mut chars = converted.chars();
        for p in &pieces {
            match p {
                Piece::Markup(m) | Piece::Verbatim(m) => out.push_str(m),
                Piece::Text(t) => out.extend(chars.by_ref().take(t.chars().count())),
            }
        }
        out
    } else {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Markup(m) | Piece::Verbatim(m) => std::borrow::Cow::Borrowed(*m),
                Piece::Text(t) => script.convert(t),
            })
            .collect()
    }
}

/// Splits a fragment into markup and text, marking the text inside
/// verbatim elements.
fn split(html: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut verbatim_depth = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            pieces.push(text(rest, verbatim_depth));
            break;
        };
        if lt > 0 {
            pieces.push(text(&rest[..lt], verbatim_depth));
        }
        let tag_len = markup_len(&rest[lt..]);
        let tag = &rest[lt..lt + tag_len];
        if let Some((name, closing)) = element_name(tag) {
            if VERBATIM.contains(&name.as_str()) {
                if closing {
                    verbatim_depth = verbatim_depth.saturating_sub(1);
                } else if !tag.ends_with("/>") {
                    verbatim_depth += 1;
                }
            }
        }
        pieces.push(Piece::Markup(tag));
        rest = &rest[lt + tag_len..];
    }
    pieces
}

fn text(t: &str, verbatim_depth: usize) -> Piece<'_> {
    if verbatim_depth > 0 {
        Piece::Verbatim(t)
    } else {
        Piece::Text(t)
    }
}

/// The length of the markup at the start of `s` (which starts with `<`):
/// a comment to its `-->`, a tag to the `>` outside quotes, or a lone `<`
/// (not markup: sanitised HTML writes it `&lt;`, but be safe) as one byte.
fn markup_len(s: &str) -> usize {
    if let Some(body) = s.strip_prefix("<!--") {
        return body.find("-->").map_or(s.len(), |i| 4 + i + 3);
    }
    let starts_tag = s[1..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
    if !starts_tag {
        return 1;
    }
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// The lower-cased element name of a tag, and whether it closes.
fn element_name(tag: &str) -> Option<(String, bool)> {
    let inner = tag.strip_prefix('<')?;
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, inner),
    };
    let name: String = inner
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (!name.is_empty()).then(|| (name.to_ascii_lowercase(), closing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_converted_and_markup_is_not() {
        let html =
            r#"<p>頭髮<a href="https://zh.wikipedia.org/wiki/頭髮" title="頭髮">後天</a></p>"#;
        assert_eq!(
            convert(Script::Hans, html),
            r#"<p>头发<a href="https://zh.wikipedia.org/wiki/頭髮" title="頭髮">后天</a></p>"#
        );
    }

    #[test]
    fn phrases_across_inline_tags_convert_as_phrases() {
        // 发 alone would become 發 or 髮; within 头发 it is 髮.
        assert_eq!(
            convert(Script::Hant, "<p>头<b>发</b></p>"),
            "<p>頭<b>髮</b></p>"
        );
    }

    #[test]
    fn code_is_verbatim() {
        let html = "<p>會議</p><pre><code>會議 = 1</code></pre><p>會議</p>";
        assert_eq!(
            convert(Script::Hans, html),
            "<p>会议</p><pre><code>會議 = 1</code></pre><p>会议</p>"
        );
    }

    #[test]
    fn comments_and_quoted_angles_are_markup() {
        let html = r#"<!-- 會議 --><img alt="a > 會議" src="x.png">會議"#;
        assert_eq!(
            convert(Script::Hans, html),
            r#"<!-- 會議 --><img alt="a > 會議" src="x.png">会议"#
        );
    }

    #[test]
    fn ascii_is_unchanged() {
        let html = "<p>City budget &amp; <b>plan</b></p>";
        assert_eq!(convert(Script::Hans, html), html);
    }
}
