//! The quick index: a Markdown file's index entry read line by line from
//! simple TOML front matter, and a text export's from its first timestamp
//! line, without parsing the rest. The daemon's first load uses it; the
//! background check then reads every file in full.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, FixedOffset};

use super::*;
use crate::config::Config;
use crate::content::rules::{category_and_stem, kind_of, FileKind};

use super::dates::{parse_date, settle_date};
use super::id::tag_id;
use super::text_export::{byline_names, strip_pinyin, timestamp_line};

/// The [`Article::slimmed`] article of a Markdown file whose TOML front
/// matter is simple enough to read line by line, without parsing the rest:
/// the daemon's fast first index, before every file is checked in full.
///
/// Simple means: `+++` fences, UTF-8, no carriage returns, and every line
/// a comment or `bare_key = value` on one line (no tables, dotted or
/// quoted keys, multi-line strings or arrays), with `date` (and `updated`)
/// a plain RFC 3339 value or string, `id` and `slug` strings without
/// escapes, `draft` a boolean. `None` whenever anything is not simple: the
/// caller then parses in full. On a file [`parse_meta`] accepts, the
/// result equals its article; on one it rejects, the result may still be
/// `Some` — the full check that follows removes it.
pub fn quick_meta(
    rel: &str,
    bytes: &[u8],
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Option<Entry> {
    match kind_of(rel)? {
        FileKind::Markdown => quick_markdown(rel, bytes, config),
        FileKind::Text => quick_text(rel, bytes, mtime, config),
    }
}

/// The index entry of a plain-text export: its date (the first
/// timestamp line) and its bylines' authors. A timestamp line starts with
/// a digit and a byline with a byline prefix, and removing pinyin never
/// changes a line's first character, so only lines starting with a digit
/// or a prefix's first character are looked at further; the rest of the
/// file (title, subtitle, paragraphs, footers) is left to the full read.
/// `None` for anything the full parser would refuse or decide
/// differently: not UTF-8, NUL bytes, carriage returns, an empty file, or
/// a first timestamp line with impossible values.
pub(super) fn quick_text(
    rel: &str,
    bytes: &[u8],
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Option<Entry> {
    let text = simdutf8::basic::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if memchr::memchr2(b'\0', b'\r', text.as_bytes()).is_some() {
        return None;
    }
    let zone = &config.site.timezone;
    let mut lines = split_lines(text).map(str::trim).filter(|l| !l.is_empty());
    // The first line is the title, whatever it holds.
    lines.next()?;
    let mut date = None;
    let mut authors: Vec<String> = Vec::new();
    let byline_starts: smallvec::SmallVec<[char; 8]> = config
        .text
        .byline_prefixes
        .iter()
        .filter_map(|p| p.chars().next())
        .collect();
    for line in lines {
        let Some(first) = line.chars().next() else {
            continue;
        };
        if !byline_starts.contains(&first) && (date.is_some() || !first.is_numeric()) {
            continue;
        }
        let line = if config.text.strip_pinyin {
            strip_pinyin(line)
        } else {
            Cow::Borrowed(line)
        };
        if let Some(names) = byline_names(config, &line) {
            for n in names {
                if !authors.contains(&n) {
                    authors.push(n);
                }
            }
            continue;
        }
        // The first timestamp line dates the export; later ones are
        // furniture. `\d` of the timestamp pattern is any Unicode digit
        // (`first` is still the line's first character: see above).
        if date.is_some() || !first.is_numeric() {
            continue;
        }
        match timestamp_line(&line, zone) {
            Some(Ok(dt)) => date = Some(dt),
            Some(Err(_)) => return None,
            None => {}
        }
    }
    let date = settle_date(date.or(mtime)?).ok()?;
    let (category, stem) = category_and_stem(rel);
    Some(
        Entry::new(
            Arc::from(rel),
            category_name(category),
            stem.to_string(),
            (date, date),
            tag_id(config, category, stem, &date),
            false,
        )
        .with_names(&[], &authors),
    )
}

/// The lines of a text without carriage returns (as [`str::lines`] gives
/// them), found with a vectorised search.
pub(super) fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(
        // The last line, when the text does not end with a newline.
        (!text.is_empty() && !text.ends_with('\n')).then_some(text.len()),
    );
    let mut start = 0;
    ends.map(move |end| {
        let line = &text[start..end];
        start = end + 1;
        line
    })
}

/// Whether `bytes`, the first bytes of a Markdown file, open TOML front
/// matter that they do not close: a quick read of more may index it.
pub fn front_matter_goes_on(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.starts_with(b"+++\n") && closing_fence(&bytes[4..]).is_none()
}

/// Where the closing `+++` line of front matter starts in `rest` (what
/// follows the opening fence's line).
fn closing_fence(rest: &[u8]) -> Option<usize> {
    let fence_at = |at: usize| {
        rest[at..].starts_with(b"+++") && matches!(rest.get(at + 3), None | Some(b'\n'))
    };
    if fence_at(0) {
        return Some(0);
    }
    memchr::memchr_iter(b'\n', rest)
        .map(|i| i + 1)
        .find(|&at| fence_at(at))
}

/// [`quick_meta`] of a Markdown file.
pub(super) fn quick_markdown(rel: &str, bytes: &[u8], config: &Config) -> Option<Entry> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let rest = bytes.strip_prefix(b"+++\n")?;
    // The closing fence: the first line that is exactly `+++`.
    let end = closing_fence(rest)?;
    let front = &rest[..end];
    // Two vectorised searches over the whole front matter, not one call
    // per quote (a front matter has a dozen).
    static TRIPLE: LazyLock<[memchr::memmem::Finder<'static>; 2]> = LazyLock::new(|| {
        [
            memchr::memmem::Finder::new(b"\"\"\""),
            memchr::memmem::Finder::new(b"'''"),
        ]
    });
    let multiline = TRIPLE.iter().any(|f| f.find(front).is_some());
    if multiline || memchr::memchr(b'\r', front).is_some() {
        return None;
    }
    let front = simdutf8::basic::from_utf8(front).ok()?;
    let (mut date, mut updated, mut id, mut slug, mut draft) = (None, None, None, None, None);
    let (mut tags, mut author, mut authors, mut link) = (None, None, None, None);
    // On the stack: front matter rarely has more than 16 keys.
    let mut seen: smallvec::SmallVec<[&str; 16]> = smallvec::SmallVec::new();
    // Carriage returns were refused above: lines end at `\n` alone.
    for line in split_lines(front) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // A key is a few bytes long: a plain scan beats a vectorised
        // search's setup here.
        let eq = line.bytes().position(|b| b == b'=')?;
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        let key = key.trim_end();
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            || seen.contains(&key)
        {
            return None;
        }
        seen.push(key);
        let value = value.trim_start();
        match key {
            "date" => date = Some(quick_date(value)?),
            "updated" => updated = Some(quick_date(value)?),
            "id" => id = Some(quick_string(value)?),
            "slug" => slug = Some(quick_string(value)?),
            "tags" => tags = Some(quick_names(value)?),
            "link" => link = Some(quick_string(value)?),
            "author" => author = Some(quick_names(value)?),
            "authors" => authors = Some(quick_names(value)?),
            "draft" => {
                draft = Some(match quick_bare(value) {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                })
            }
            _ => {
                // Any value, but on one line: strings, numbers, booleans,
                // dates, and arrays or inline tables that close on it.
                let v = value.trim_end();
                let closes = match v.as_bytes().first()? {
                    b'[' => v.ends_with(']'),
                    b'{' => v.ends_with('}'),
                    b'"' | b'\'' => true,
                    _ => !v.contains(['[', '{', '"', '\'']),
                };
                if !closes {
                    return None;
                }
            }
        }
    }
    let zone = &config.site.timezone;
    let date = parse_date(date?, zone).ok()?;
    let updated = match updated {
        Some(u) => parse_date(u, zone).ok()?,
        None => date,
    };
    let (category, stem) = category_and_stem(rel);
    let slug = slug
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(stem)
        .to_string();
    let id = match id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => tag_id(config, category, &slug, &date),
    };
    // A `link` given, made absolute against `site.link` as the full parser
    // makes it (one that is no URL is the full parser's error to report).
    let link = match link.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => Some(super::markdown::absolute_link(l, &config.site.link)?),
        None => None,
    };
    // As the full parser cleans them: `author` first, then `authors`.
    let mut names = author.unwrap_or_default();
    names.extend(authors.unwrap_or_default());
    Some(
        Entry::new(
            Arc::from(rel),
            category_name(category),
            slug,
            (date, updated),
            id,
            draft.unwrap_or(false),
        )
        .with_raw_names(&tags.unwrap_or_default(), &names)
        .with_link(link.as_deref()),
    )
}

/// A name or a list of names on one line: a string, or an array of
/// strings without escapes (`["a", 'b',]`), followed by nothing but a
/// comment. `None` for anything else: the full parser decides.
fn quick_names(value: &str) -> Option<Names<'_>> {
    if !value.starts_with('[') {
        return Some(smallvec::smallvec![quick_string(value)?]);
    }
    let mut rest = trim_start(&value[1..]);
    let mut out = Names::new();
    loop {
        if let Some(after) = rest.strip_prefix(']') {
            let after = trim_start(after);
            return (after.is_empty() || after.starts_with('#')).then_some(out);
        }
        let quote = *rest
            .as_bytes()
            .first()
            .filter(|&&c| c == b'"' || c == b'\'')?;
        let (text, after) = plain_until(&rest[1..], quote)?;
        out.push(text);
        rest = trim_start(after);
        if let Some(after) = rest.strip_prefix(',') {
            rest = trim_start(after);
        } else if !rest.starts_with(']') {
            return None;
        }
    }
}

/// `str::trim_start`, passing over spaces and tabs (what a one-line
/// value has between its parts) without a Unicode lookup.
fn trim_start(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
    // (Spaces and tabs are ASCII: `n` is a character boundary.)
    let s = &s[n..];
    match s.as_bytes().first() {
        Some(&b) if b >= 0x80 || b.is_ascii_whitespace() => s.trim_start(),
        _ => s,
    }
}

/// Names as a front-matter line gives them, borrowed from the file.
type Names<'a> = smallvec::SmallVec<[&'a str; 8]>;

/// The text of `s` up to the first `quote` (an ASCII quote: no byte of
/// another character equals it), and what follows that quote; `None`
/// without one, or when the text is not plain: a string value the quick
/// index takes as written has no backslash and no control character but
/// tabs. One pass over the bytes: control characters are U+0000–U+001F,
/// U+007F and U+0080–U+009F, the last written 0xC2 0x80–0x9F in UTF-8.
fn plain_until(s: &str, quote: u8) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c {
            _ if c == quote => return Some((&s[..i], &s[i + 1..])),
            b'\t' => {}
            b'\\' | 0x00..=0x1F | 0x7F => return None,
            0xC2 if matches!(b.get(i + 1), Some(0x80..=0x9F)) => return None,
            _ => {}
        }
    }
    None
}

/// A value up to an end-of-line comment.
pub(super) fn quick_bare(value: &str) -> &str {
    value.split_once('#').map_or(value, |(v, _)| v).trim_end()
}

/// The text of a one-line string without escapes or control characters,
/// followed by nothing but a comment.
pub(super) fn quick_string(value: &str) -> Option<&str> {
    let quote = *value
        .as_bytes()
        .first()
        .filter(|&&c| c == b'"' || c == b'\'')?;
    let (text, after) = plain_until(&value[1..], quote)?;
    let after = trim_start(after);
    if !after.is_empty() && !after.starts_with('#') {
        return None;
    }
    Some(text)
}

/// A date value: a string, or a bare TOML date or date-time with seconds.
pub(super) fn quick_date(value: &str) -> Option<&str> {
    if value.starts_with(['"', '\'']) {
        return quick_string(value);
    }
    let v = quick_bare(value);
    let b = v.as_bytes();
    let date_only = b.len() == 10;
    let with_time =
        b.len() >= 19 && matches!(b[10], b'T' | b't' | b' ') && b[13] == b':' && b[16] == b':';
    let ok = (date_only || with_time)
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().all(|c| {
            matches!(
                c,
                b'0'..=b'9' | b':' | b'-' | b'+' | b'.' | b'T' | b't' | b'Z' | b'z' | b' '
            )
        });
    ok.then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::read::{QUICK_HEAD, QUICK_READ};
    use proptest::prelude::*;
    use std::path::Path;

    fn config() -> Config {
        super::super::tests::config("timezone = \"Asia/Shanghai\"\n")
    }

    fn full(rel: &str, text: &str, config: &Config) -> Result<Indexed, Diagnostic> {
        parse_meta(Path::new(rel), rel, text, None, config)
    }

    /// A quick load of `rel` written with `text` in a fresh content folder.
    fn quick_load(rel: &str, text: &[u8], config: &Config) -> Result<Indexed, Diagnostic> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        match load_at(dir.path(), rel, config, Depth::Quick)? {
            Reading::Indexed(indexed) => Ok(indexed),
            Reading::Full(p) => panic!("a quick load read {rel} in full: {p:?}"),
        }
    }

    #[test]
    fn plain_text_refuses_backslashes_and_control_characters_but_tabs() {
        let by_chars =
            |t: &str| !t.contains('\\') && !t.chars().any(|c| c.is_control() && c != '\t');
        for t in [
            "", "a b", "a\tb", "a\\b", "a\nb", "\u{7f}", "\u{80}", "\u{85}x", "\u{9f}", "\u{a0}",
            "é", "财政", "\u{c0}", "x\u{1f}", "¢",
        ] {
            let quoted = format!("{t}\"rest");
            assert_eq!(
                plain_until(&quoted, b'"'),
                by_chars(t).then_some((t, "rest")),
                "{t:?}"
            );
        }
    }

    #[test]
    fn trim_start_agrees_with_str_trim_start() {
        for t in [
            "",
            " ",
            " \t a",
            "\u{3000}x",
            " \u{3000} x ",
            "\n y",
            "x ",
            " \u{a0}]",
        ] {
            assert_eq!(trim_start(t), t.trim_start(), "{t:?}");
        }
    }

    #[test]
    fn quick_load_of_a_small_simple_file_leaves_stat_and_stamp_to_the_check() {
        let config = config();
        let text = "+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\n+++\nBody.\n";
        let p = quick_load("news/a.md", text.as_bytes(), &config).unwrap();
        assert!(p.phase == Phase::Quick && p.stamp.is_none());
        assert_eq!(p.entry, full("news/a.md", text, &config).unwrap().entry);
    }

    #[test]
    fn quick_load_of_a_long_article_reads_its_front_matter_only() {
        let config = config();
        let body = "正文。".repeat(QUICK_READ / 4);
        let text = format!(
            "+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\ntags = [\"财政\"]\n+++\n{body}\n"
        );
        assert!(text.len() > QUICK_READ);
        let p = quick_load("news/a.md", text.as_bytes(), &config).unwrap();
        // Indexed from its first bytes: no fstat, so no stamp yet.
        assert!(p.phase == Phase::Quick && p.stamp.is_none());
        assert_eq!(p.entry, full("news/a.md", &text, &config).unwrap().entry);
    }

    /// A Markdown file whose front matter has `lines` comment lines
    /// before its two tags and closing fence.
    fn padded_front_matter(lines: usize) -> String {
        let padding = "# 注释 comment line\n".repeat(lines);
        format!(
            "+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\n{padding}tags = [\"财政\", \"EV\"]\n+++\nBody.\n"
        )
    }

    #[test]
    fn quick_load_reads_on_for_front_matter_past_the_first_read() {
        let config = config();
        // Comment lines push the tags and the closing fence past the
        // first read, one line cut in two by it.
        let text = padded_front_matter(QUICK_HEAD / 10);
        assert!(text.len() > QUICK_HEAD && text.len() < QUICK_READ);
        let p = quick_load("news/a.md", text.as_bytes(), &config).unwrap();
        // Indexed from a second read: still no fstat, so no stamp yet.
        assert!(p.phase == Phase::Quick && p.stamp.is_none());
        let whole = full("news/a.md", &text, &config).unwrap().entry;
        assert_eq!(p.entry, whole);
        assert_eq!(p.entry.tags().len(), 2);
    }

    #[test]
    fn quick_load_of_front_matter_past_every_quick_read_is_stamped_and_indexed() {
        let config = config();
        let text = padded_front_matter(QUICK_READ / 10);
        assert!(text.len() > QUICK_READ);
        let p = quick_load("news/a.md", text.as_bytes(), &config).unwrap();
        assert_eq!(p.phase, Phase::Quick);
        assert_eq!(p.stamp.map(|s| s.size()), Some(text.len() as u64));
        assert_eq!(p.entry, full("news/a.md", &text, &config).unwrap().entry);
    }

    #[test]
    fn only_toml_front_matter_left_open_asks_for_more() {
        for (head, more) in [
            ("+++\ntitle = \"t\"\n", true),
            ("\u{feff}+++\ntitle = \"t\"\n# a comment", true),
            ("+++\ntitle = \"t\"\n+++\nBody", false),
            ("+++\n+++\n", false),
            ("---\ntitle: t\n", false),
            ("Plain text.\n", false),
        ] {
            assert_eq!(front_matter_goes_on(head.as_bytes()), more, "{head:?}");
        }
    }

    #[test]
    fn quick_load_keeps_the_size_cap() {
        let mut config = config();
        config.content.max_file_bytes = 64;
        let text =
            "+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\n+++\nA body past the cap.\n";
        assert!(text.len() > 64);
        let e = quick_load("news/a.md", text.as_bytes(), &config).unwrap_err();
        assert!(e.message.contains("over content.max_file_bytes"), "{e}");
    }

    #[test]
    fn quick_load_of_an_export_without_a_timestamp_is_dated_by_its_mtime() {
        let config = config();
        let p = quick_load("news/a.txt", "标题\n\n第一段正文。\n".as_bytes(), &config).unwrap();
        let stamp = p.stamp.expect("read with fstat, for the date");
        let mtime = DateTime::<chrono::Utc>::from(stamp.mtime()).timestamp();
        assert_eq!(p.entry.date.timestamp(), mtime);
    }

    #[test]
    fn quick_load_cap_holds_at_its_edge_and_with_a_grown_buffer() {
        let mut config = config();
        let head = "+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\n+++\n";
        // First a long file on this thread: its buffer keeps the capacity,
        // more than the capped file asks for.
        let long = format!("{head}{}\n", "x".repeat(100_000));
        assert!(quick_load("news/long.md", long.as_bytes(), &config).is_ok());
        config.content.max_file_bytes = 200;
        let fits = format!("{head}{}", "y".repeat(200 - head.len()));
        assert_eq!(fits.len(), 200);
        assert!(quick_load("news/a.md", fits.as_bytes(), &config).is_ok());
        let over = format!("{fits}z");
        let e = quick_load("news/a.md", over.as_bytes(), &config).unwrap_err();
        assert!(e.message.contains("over content.max_file_bytes"), "{e}");
    }

    #[test]
    fn quick_load_of_a_gb18030_export_falls_back_to_the_full_read() {
        let config = config();
        let text = "港口新闻\n2024-05-06 07:08\n第一段正文。\n";
        let (bytes, _, bad) = encoding_rs::GB18030.encode(text);
        assert!(!bad && std::str::from_utf8(&bytes).is_err());
        let p = quick_load("news/a.txt", &bytes, &config).unwrap();
        assert_eq!(p.entry.date.to_rfc3339(), "2024-05-06T07:08:00+08:00");
        // Checked in full (as an index entry: the body is read when shown).
        assert!(p.stamp.is_some() && p.phase == Phase::Checked);
        let whole = full_text("news/a.txt", text, None, &config).unwrap();
        assert_eq!(p.entry, whole.entry);
    }

    #[test]
    fn quick_load_refuses_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("news")).unwrap();
        let fifo = dir.path().join("news/a.md");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let e = load_at(dir.path(), "news/a.md", &config(), Depth::Quick).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
    }

    #[test]
    fn simple_front_matter_is_indexed_quickly_and_equals_the_full_read() {
        let config = config();
        let text = "+++\ntitle = \"全市 \\\"quoted\\\" news\"\ndate = 2024-01-01T08:00:13+08:00\nauthor = \"陈静\"\ntags = [\"环保\", \"health\"]\nsummary = 'one # two'\n# a comment\nslug = \"my-slug\" # trailing\ndraft = false\n+++\nBody.\n";
        let quick = quick_meta("politics/a1.md", text.as_bytes(), None, &config)
            .expect("simple front matter");
        let parsed = full("politics/a1.md", text, &config).unwrap();
        assert_eq!(quick, parsed.entry);
        assert_eq!(quick.slug, "my-slug");
        assert_eq!(quick.date.to_rfc3339(), "2024-01-01T08:00:13+08:00");
        // A string date, a local date, an id, and updated.
        let text = "+++\ntitle = \"x\"\ndate = \"2024-03-02 10:20\"\nupdated = 2024-03-05\nid = \"urn:x:1\"\n+++\n";
        let quick = quick_meta("a/b.md", text.as_bytes(), None, &config).expect("simple");
        assert_eq!(quick, full("a/b.md", text, &config).unwrap().entry);
        assert_eq!(quick.id, "urn:x:1");
    }

    #[test]
    fn anything_not_simple_is_left_to_the_full_parser() {
        let config = config();
        for front in [
            "title = \"x\"\ndate = 2024-01-01T08:00:00Z\n[extra]\ndate = 2020-01-01\n",
            "title = \"x\"\nsummary = \"\"\"\ndate = 1999-01-01\n\"\"\"\ndate = 2024-01-01\n",
            "title = \"x\"\ntags = [\n\"a\",\n]\ndate = 2024-01-01\n",
            "title = \"x\"\n\"date\" = 2024-01-01\n",
            "title = \"x\"\nsite.date = 2024-01-01\ndate = 2024-01-01\n",
            "title = \"x\"\ndate = 2024-01-01\ndate = 2024-01-02\n",
            "title = \"x\"\ndate = \"2024-01-01\\u0031\"\n",
            "title = \"x\"\ndate = 08:00:00\n",
            "title = \"x\"\ndate = 2024-01-01\nid = \"a\\tb\"\n",
            "title = \"x\"\ndate = 2024-01-01\ndraft = yes\n",
            "title = \"x\"\n",
        ] {
            let text = format!("+++\n{front}+++\nbody\n");
            assert_eq!(
                quick_meta("c/a.md", text.as_bytes(), None, &config),
                None,
                "{front}"
            );
        }
        // YAML, CRLF and unterminated front matter too.
        for (rel, text) in [
            ("c/a.md", "---\ntitle: x\ndate: 2024-01-01\n---\n"),
            (
                "c/a.md",
                "+++\r\ntitle = \"x\"\r\ndate = 2024-01-01\r\n+++\r\n",
            ),
            ("c/a.md", "+++\ntitle = \"x\"\ndate = 2024-01-01\n"),
        ] {
            assert_eq!(
                quick_meta(rel, text.as_bytes(), None, &config),
                None,
                "{text}"
            );
        }
    }

    fn full_text(
        rel: &str,
        text: &str,
        mtime: Option<DateTime<FixedOffset>>,
        config: &Config,
    ) -> Result<Indexed, Diagnostic> {
        parse_meta(Path::new(rel), rel, text, mtime, config)
    }

    /// The quick index entry of an export, asserted equal to the full
    /// parser's (slim) one.
    fn quick_equals_full(
        rel: &str,
        text: &str,
        mtime: Option<DateTime<FixedOffset>>,
        config: &Config,
    ) -> Entry {
        let quick = quick_meta(rel, text.as_bytes(), mtime, config).expect("a simple export");
        assert_eq!(quick, full_text(rel, text, mtime, config).unwrap().entry);
        quick
    }

    #[test]
    fn text_exports_are_indexed_by_their_first_timestamp_line() {
        let mut config = config();
        config.text.strip_pinyin = true;
        let mtime = DateTime::parse_from_rfc3339("2020-05-06T07:08:09+00:00").ok();
        // The date is the first timestamp line; a second one is furniture,
        // and lines starting with digits that are not timestamps are body.
        let text = "\u{feff}河阳轴承出口增长\n2024年上半年出口额\n\n  12 家企业参加。\n記者 刘洋\n2024-12-06 11:35:39\n2024-12-06 09:35\n本网 版權所有\n";
        let quick = quick_equals_full("business/a1.txt", text, mtime, &config);
        assert_eq!(quick.date.to_rfc3339(), "2024-12-06T11:35:39+08:00");
        // The Chinese form, after a pinyin annotation is stripped.
        let text = "標題\n2025年2月27日(rì) 18:07\n正文。\n";
        let quick = quick_equals_full("c/b.txt", text, mtime, &config);
        assert_eq!(quick.date.to_rfc3339(), "2025-02-27T18:07:00+08:00");
        // No timestamp line: the modification time, as in the full read.
        let text = "標題\n正文。\n";
        let quick = quick_equals_full("c/c.txt", text, mtime, &config);
        assert_eq!(quick.date, mtime.unwrap());
        // A byline that starts with a digit is a byline, never the date.
        config.text.byline_prefixes.push("2024".into());
        let text = "標題\n2024-01-01 08:00\n2025-01-01 08:00\n";
        let quick = quick_equals_full("c/d.txt", text, mtime, &config);
        assert_eq!(quick.date.to_rfc3339(), "2025-01-01T08:00:00+08:00");
    }

    #[test]
    fn text_exports_the_full_parser_refuses_are_left_to_it() {
        let config = config();
        let mtime = DateTime::parse_from_rfc3339("2020-05-06T07:08:09+00:00").ok();
        for text in [
            "",
            "  \n\n",
            "標題\n2024-02-30 08:00\n",
            "標題\n２０２４-01-01 08:00\n",
            "標題\r\n2024-01-01 08:00\r\n",
            "標題\n\0\n",
        ] {
            assert_eq!(
                quick_meta("c/a.txt", text.as_bytes(), mtime, &config),
                None,
                "{text:?}"
            );
        }
        // GB18030 (not UTF-8) and no date at all: the full read decides.
        assert_eq!(
            quick_meta("c/a.txt", b"\xb1\xea\xcc\xe2\n", mtime, &config),
            None
        );
        assert_eq!(
            quick_meta("c/a.txt", "標題\n".as_bytes(), None, &config),
            None
        );
    }

    /// One line of a plain-text export, from the forms the parser tells apart.
    fn text_line() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "標題",
            "",
            "   ",
            "2024-12-06 11:35:39",
            "2024-12-06 09:35",
            "2024-13-06 09:35",
            "2024-02-29T23:59",
            "2023-02-29 10:00",
            "2025年2月27日 18:07",
            "2025年2月27日(rì) 18:07",
            "2025年2月30日 18:07",
            "２０２４-01-01 08:00",
            "9999-12-31 23:59:59",
            "0000-01-01 00:00",
            "12 家企业参加。",
            "2024-12-06 11:35:39 更新",
            "記者 刘洋 张伟",
            "記者 刘洋、刘洋",
            "By Jane Doe and John Roe",
            "记者(jì zhě) 王芳",
            "記(jì)者 陈静",
            "记者 2024-12-06 11:35",
            "本网 2006-2025 版權所有",
            "備案號：魯ICP備00000000號",
            "常務(wù)會議召開",
            "\u{feff}",
            "(wù)",
        ])
        .prop_map(str::to_string)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The quick readers' line splitter cuts texts without carriage
        /// returns exactly where [`str::lines`] does.
        #[test]
        fn split_lines_agrees_with_str_lines(text in "[a\n=é ]{0,40}") {
            prop_assert_eq!(
                split_lines(&text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>()
            );
        }

        /// Whenever the quick reader answers for a text export and the
        /// full parser accepts it, they agree on every indexed field.
        #[test]
        fn quick_text_index_agrees_with_the_full_parser(
            lines in prop::collection::vec(text_line(), 0..8),
            pinyin in any::<bool>(),
            with_mtime in any::<bool>(),
        ) {
            let mut config = config();
            config.text.strip_pinyin = pinyin;
            let mtime = with_mtime
                .then(|| DateTime::parse_from_rfc3339("2020-05-06T07:08:09+00:00").unwrap());
            let text = lines.join("\n");
            match (
                quick_meta("news/a.txt", text.as_bytes(), mtime, &config),
                full_text("news/a.txt", &text, mtime, &config),
            ) {
                (Some(quick), Ok(parsed)) => prop_assert_eq!(quick, parsed.entry, "{:?}", text),
                (Some(quick), Err(e)) => prop_assert!(false, "quick {:?} but full fails: {}\n{:?}", quick, e, text),
                _ => {}
            }
        }
    }

    /// One front-matter line, from forms the quick reader takes and forms it must refuse.
    fn line() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "title", "date", "updated", "id", "slug", "draft", "author", "authors", "tags",
            "summary", "lang", "link", "extra", "date.x", "\"date\"",
        ]);
        let value = prop::sample::select(vec![
            "\"x\"",
            "'y'",
            "\"a # b\"",
            "\"a\\\"b\"",
            "\"\"",
            "\"  \"",
            "2024-01-01",
            "2024-02-30",
            "2024-01-01T08:00:00+08:00",
            "2024-01-01 08:00:00Z",
            "2024-01-01T08:00:00.5-05:00",
            "2024-01-01T08:00:00",
            "2024-01-01T08:00",
            "\"2024-01-01 08:00\"",
            "'2024-06-01T00:00:00+09:00'",
            "\"10000-01-01\"",
            "9999-12-31T23:59:59-12:00",
            "true",
            "false",
            "1",
            "[\"a\", \"b\"]",
            "\"/news/x.html\"",
            "\"https://feeds.example.cn/a/%E6%96%B0.html\"",
            "\"https://elsewhere.example/x\"",
            "\"ftp://x/y\"",
            "[\"A  b\", 'a  b', \"c\",]",
            "[ ]",
            "[\"x\", 1]",
            "[\"x\" \"y\"]",
            "[\"x\"] # c",
            "[\"x\"] y",
            "[\"a\\\"b\"]",
            "[[\"x\"]]",
            "[",
            "{ a = 1 }",
            "\"\"\"",
            "'''",
            "\"unterminated",
            "2024-01-01 # note",
            "\"tab\there\"",
        ]);
        prop_oneof![
            8 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => Just("# comment".to_string()),
            1 => Just("".to_string()),
            1 => Just("[table]".to_string()),
            1 => Just("\"\"\"".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whenever the quick reader answers and the full parser accepts
        /// the file, they agree on every indexed field.
        #[test]
        fn quick_index_agrees_with_the_full_parser(lines in prop::collection::vec(line(), 0..8)) {
            let config = config();
            let text = format!("+++\n{}\n+++\n# Heading\n\nbody\n", lines.join("\n"));
            if let (Some(quick), Ok(parsed)) = (
                quick_meta("news/a.md", text.as_bytes(), None, &config),
                full("news/a.md", &text, &config),
            ) {
                prop_assert_eq!(quick, parsed.entry, "{}", text);
            }
        }
    }
}
