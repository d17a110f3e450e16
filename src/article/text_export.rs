//! Plain-text exports of news pages (`.txt`): a title line, an optional
//! subtitle, paragraphs, bylines (`記者 …`), timestamp lines and site
//! footers, told apart line by line by `[text]` settings.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, FixedOffset, NaiveDate};
use regex::Regex;

use super::*;
use crate::config::{Config, SiteZone};
use crate::content::rules::category_and_stem;
use crate::diagnostics::Diagnostic;

use super::dates::settle_date;
use super::id::tag_id;
use super::whitespace::{collapse_ws, truncate_chars};

// ---------------------------------------------------------------------------
// Plain text

pub(super) static PINYIN: LazyLock<Regex> = LazyLock::new(|| {
    // A Han character, then a parenthesised pinyin syllable with a tone mark.
    const L: &str = "a-zA-ZüÜāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙ";
    const T: &str = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙ";
    let re = format!(r"(\p{{Han}})[(（][{L}]*[{T}][{L}]*[)）]");
    Regex::new(&re).expect("the pinyin pattern is a constant that compiles")
});

/// Removes pinyin annotations: `務(wù)` → `務`. Other parentheses stay.
pub fn strip_pinyin(s: &str) -> std::borrow::Cow<'_, str> {
    // Most lines have no parenthesis at all: no need to run the pattern.
    if !s.contains(['(', '（']) {
        return std::borrow::Cow::Borrowed(s);
    }
    PINYIN.replace_all(s, "$1")
}

pub(super) static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$|^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$")
        .expect("the timestamp pattern is a constant that compiles")
});

/// Parses a timestamp line, or `None` if the line is not only a date-time.
/// `Some(Err)` for a timestamp-shaped line with impossible values.
pub(super) fn timestamp_line(
    line: &str,
    zone: &SiteZone,
) -> Option<Result<DateTime<FixedOffset>, String>> {
    let [y, mo, d, h, mi, s] = timestamp_fields(line)?;
    // A digit that is not ASCII reads as u32::MAX, which as an i32 year
    // would be the year -1: it is as impossible as a 13th month.
    let year = i32::try_from(y).ok();
    // A leap second (`23:59:60`) is the second before it, as in front matter.
    let s = if s == 60 { 59 } else { s };
    let naive = year
        .and_then(|y| NaiveDate::from_ymd_opt(y, mo, d))
        .and_then(|d| d.and_hms_opt(h, mi, s));
    Some(match naive {
        Some(n) => settle_date(zone.localize(n)),
        None => Err(format!("impossible date-time {line:?}")),
    })
}

/// Year, month, day, hour, minute and second (0 when absent) of a line
/// `TIMESTAMP` matches whole; a digit that is not ASCII reads as
/// `u32::MAX` (an impossible date).
pub(super) fn timestamp_fields(line: &str) -> Option<[u32; 6]> {
    // Both forms start with a digit (`\d` is Unicode's Nd, within
    // `is_numeric`): most lines of an export are out at their first letter.
    if !line.chars().next().is_some_and(char::is_numeric) {
        return None;
    }
    if line.is_ascii() {
        // The usual `2025-03-05 11:42:10`, read without the regex's
        // captures, which are slow; the `年月日` form is never ASCII.
        return ascii_timestamp(line.as_bytes());
    }
    regex_timestamp(line)
}

/// [`timestamp_fields`] by `TIMESTAMP`'s captures, for any line.
pub(super) fn regex_timestamp(line: &str) -> Option<[u32; 6]> {
    let c = TIMESTAMP.captures(line)?;
    let g = |i: usize, j: usize| {
        c.get(i)
            .or_else(|| c.get(j))
            .map(|m| m.as_str().parse::<u32>().unwrap_or(u32::MAX))
    };
    Some([
        g(1, 7)?,
        g(2, 8)?,
        g(3, 9)?,
        g(4, 10)?,
        g(5, 11)?,
        g(6, 12).unwrap_or(0),
    ])
}

/// `TIMESTAMP`'s first form on ASCII text: `YYYY-M[M]-D[D]` then a space
/// or `T`, `H[H]:MM` and optionally `:SS`, the whole line. Year, month,
/// day, hour, minute and second (0 when absent).
pub(super) fn ascii_timestamp(b: &[u8]) -> Option<[u32; 6]> {
    // Digits from `*at`, at least `min` and at most `max` of them; then,
    // unless `then` is empty, one of the bytes in `then`.
    fn field(b: &[u8], at: &mut usize, (min, max): (usize, usize), then: &[u8]) -> Option<u32> {
        let start = *at;
        while *at < b.len() && *at - start < max && b[*at].is_ascii_digit() {
            *at += 1;
        }
        if *at - start < min {
            return None;
        }
        let v = b[start..*at]
            .iter()
            .fold(0u32, |v, c| v * 10 + u32::from(c - b'0'));
        if !then.is_empty() {
            if !then.contains(b.get(*at)?) {
                return None;
            }
            *at += 1;
        }
        Some(v)
    }
    let at = &mut 0;
    let y = field(b, at, (4, 4), b"-")?;
    let mo = field(b, at, (1, 2), b"-")?;
    let d = field(b, at, (1, 2), b" T")?;
    let h = field(b, at, (1, 2), b":")?;
    let mi = field(b, at, (2, 2), b"")?;
    let s = match b.get(*at) {
        None => 0,
        Some(b':') => {
            *at += 1;
            field(b, at, (2, 2), b"")?
        }
        Some(_) => return None,
    };
    (*at == b.len()).then_some([y, mo, d, h, mi, s])
}

pub(super) fn ends_in_sentence_punct(s: &str) -> bool {
    s.chars()
        .last()
        .is_some_and(|c| "。！？.!?…”\"".contains(c))
}

/// `p.split(" and ")`, with a searcher built once rather than per call.
fn split_and(p: &str) -> impl Iterator<Item = &str> {
    static AND: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(" and "));
    let ends = AND
        .find_iter(p.as_bytes())
        .map(|at| (at, at + " and ".len()))
        .chain(std::iter::once((p.len(), p.len())));
    let mut start = 0;
    // (" and " is ASCII: its ends are character boundaries.)
    ends.map(move |(end, next)| {
        let part = &p[start..end];
        start = next;
        part
    })
}

/// The names a byline line gives (`記者 林金彥 楊光`, `By Jane Doe and
/// Li Wei`): `None` when the line does not start with a byline prefix, or
/// when what follows is a sentence rather than names (`记者从市统计局获悉，
/// 前三季度数据好于预期。`): sentence punctuation, or a "name" longer than a
/// name (12 characters in scripts without spaces, 40 otherwise), or more
/// than 12 of them. A colon after the prefix (`记者：高峰`) is left out.
pub(super) fn byline_names(config: &Config, line: &str) -> Option<Vec<String>> {
    let prefix = config
        .text
        .byline_prefixes
        .iter()
        .find(|p| line.starts_with(p.as_str()))?;
    // "记者：高峰": a colon after the prefix introduces the names.
    let rest = line[prefix.len()..].trim_start_matches([':', '：', ' ', '\u{3000}']);
    // (Not `；`: like `;`, it separates names.)
    if rest.contains(['。', '！', '？', '!', '?', '“', '”']) {
        return None;
    }
    let names = split_names(rest);
    let plausible = |n: &String| {
        let len = n.chars().count();
        if n.chars().any(|c| c.is_ascii_alphabetic()) {
            len <= 40
        } else {
            len <= 12
        }
    };
    (names.len() <= 12 && names.iter().all(plausible)).then_some(names)
}

pub(super) fn split_names(rest: &str) -> Vec<String> {
    let parts: Vec<&str> = rest
        .split([',', '，', '、', ';', '；'])
        .flat_map(split_and)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    // "林金彥 楊光": names in scripts without spaces inside a name are
    // separated by spaces; "Jane Doe" stays one name.
    let mut out = Vec::new();
    for p in parts {
        if p.chars().any(|c| c.is_ascii_alphabetic()) {
            out.push(collapse_ws(p));
        } else {
            out.extend(p.split_whitespace().map(str::to_string));
        }
    }
    out
}

/// A text export read line by line: the index entry and the parts an
/// article is made of. Paragraphs borrow the file's (trimmed) lines.
struct Export<'a> {
    entry: Entry,
    title: String,
    subtitle: Option<String>,
    authors: Vec<String>,
    paragraphs: Vec<&'a str>,
    warnings: Vec<Diagnostic>,
}

/// Checks a text export without building its body: every error and
/// warning [`parse_text`] would give, and the index entry.
pub(super) fn check_text(
    path: &Path,
    rel: &str,
    text: &str,
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Result<Indexed, Diagnostic> {
    read_export(path, rel, text, mtime, config, |export| Indexed {
        entry: export.entry,
        phase: Phase::Checked,
        warnings: export.warnings,
        stamp: None,
    })
}

/// Parses a text export into an article.
pub(super) fn parse_text(
    path: &Path,
    rel: &str,
    text: &str,
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Result<Parsed, Diagnostic> {
    read_export(path, rel, text, mtime, config, |export| {
        let warnings = export.warnings.clone();
        Parsed {
            article: render(export, config),
            warnings,
            stamp: None,
        }
    })
}

/// Reads the lines of an export into an [`Export`] and hands it to `then`.
fn read_export<R>(
    path: &Path,
    rel: &str,
    text: &str,
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
    then: impl FnOnce(Export<'_>) -> R,
) -> Result<R, Diagnostic> {
    let zone = &config.site.timezone;
    let mut lines: Vec<(usize, Cow<str>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let l = if config.text.strip_pinyin {
            strip_pinyin(l)
        } else {
            Cow::Borrowed(l)
        };
        lines.push((i + 1, l));
    }
    let mut warnings = Vec::new();
    let Some(title) = lines.first().map(|(_, t)| t.to_string()) else {
        return Err(Diagnostic::error(path, None, "empty file"));
    };
    let is_byline = |l: &str| byline_names(config, l).is_some();
    let is_footer = |l: &str| {
        config
            .text
            .footer_markers
            .iter()
            .any(|m| l.contains(m.as_str()))
    };

    let mut subtitle = None;
    let mut rest = &lines[1..];
    if let Some((_, second)) = rest.first() {
        if !is_byline(second)
            && timestamp_line(second, zone).is_none()
            && !is_footer(second)
            && !ends_in_sentence_punct(second)
            && second.chars().count() <= 60
        {
            subtitle = Some(second.to_string());
            rest = &rest[1..];
        }
    }
    let mut authors = Vec::new();
    let mut date = None;
    let mut paragraphs = Vec::new();
    for (line_no, l) in rest {
        if let Some(names) = byline_names(config, l) {
            for n in names {
                if !authors.contains(&n) {
                    authors.push(n);
                }
            }
        } else if let Some(ts) = timestamp_line(l, zone) {
            match ts {
                Ok(dt) if date.is_none() => date = Some(dt),
                Ok(_) => {}
                Err(m) if date.is_none() => {
                    return Err(Diagnostic::error(path, Some((*line_no, 1)), m))
                }
                Err(_) => {}
            }
        } else if is_footer(l) {
            continue;
        } else {
            paragraphs.push(l.as_ref());
        }
    }
    let date = match date.or(mtime) {
        Some(d) => settle_date(d).map_err(|m| Diagnostic::error(path, None, m))?,
        None => {
            return Err(Diagnostic::error(
                path,
                None,
                "no timestamp line and no file modification time",
            ))
        }
    };
    if paragraphs.is_empty() {
        warnings.push(Diagnostic::warning(path, None, "no body paragraphs"));
    }
    let (category, stem) = category_and_stem(rel);
    let slug = stem.to_string();
    let id = tag_id(config, category, &slug, &date);
    Ok(then(Export {
        entry: Entry::new(
            Arc::from(rel),
            category_name(category),
            slug,
            (date, date),
            id,
            false,
        )
        .with_names(&[], &authors),
        title,
        subtitle,
        authors,
        paragraphs,
        warnings,
    }))
}

/// The article of an export: paragraphs as HTML, the subtitle (or the
/// start of the text) as summary, the permalink from the template.
fn render(export: Export<'_>, config: &Config) -> Article {
    let Export {
        entry,
        title,
        subtitle,
        authors,
        paragraphs,
        warnings: _,
    } = export;
    let mut html = String::new();
    for p in &paragraphs {
        html.push_str("<p>");
        html.push_str(&html_escape::encode_text(p));
        html.push_str("</p>\n");
    }
    let summary = match subtitle {
        Some(s) => s,
        None => truncate_chars(
            &collapse_ws(&paragraphs.join(" ")),
            config.feeds.summary_chars,
        ),
    };
    let link = config
        .site
        .article_url
        .fill(&entry.category, &entry.slug, &entry.date);
    let authors = if authors.is_empty() {
        config.site.author.iter().cloned().collect()
    } else {
        authors
    };
    Article {
        entry,
        title,
        summary,
        content_html: Arc::from(html),
        authors,
        tags: Vec::new(),
        image: None,
        link,
        lang: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::config;
    use super::*;
    use proptest::prelude::*;

    const SEED_LAYOUT: &str = "\
城市更新條例(lì)公布施(shī)行
明確老舊小區改造、社區服務等重點
3月5日上午,市人大常委會舉行新聞發(fā)布會,介紹《城市更新實施方案(2025—2027年)》。
方案提出,到2027年完成老舊小區改造120個。
會議還通報了其他事項。
記者 周明遠 陳曉
2025-03-05 11:42:10
2025-03-05 09:00:00
2024-12-30 08:00:00
本站 2006-2025 版權所有 市新聞中心
備案號:魯ICP備000000號
違法和不良信息舉報電話:0000
";

    #[test]
    fn seed_layout_parses_to_title_summary_authors_date_and_paragraphs() {
        let c = config("[text]\nstrip_pinyin = true\n");
        let p = parse(
            Path::new("/c/politics/renewal.txt"),
            "politics/renewal.txt",
            SEED_LAYOUT,
            None,
            &c,
        )
        .unwrap();
        let a = p.article;
        assert_eq!(a.title, "城市更新條例公布施行");
        assert_eq!(a.summary, "明確老舊小區改造、社區服務等重點");
        assert_eq!(a.authors, vec!["周明遠", "陳曉"]);
        assert_eq!(a.date.to_rfc3339(), "2025-03-05T11:42:10+08:00");
        assert_eq!(
            &*a.content_html,
            "<p>3月5日上午,市人大常委會舉行新聞發布會,介紹《城市更新實施方案(2025—2027年)》。</p>\n\
             <p>方案提出,到2027年完成老舊小區改造120個。</p>\n<p>會議還通報了其他事項。</p>\n"
        );
        assert!(!a.content_html.contains("版權所有"));
        assert!(!a.content_html.contains("ICP"));
        assert_eq!(&*a.category, "politics");
        assert_eq!(a.link, "https://news.example.cn/politics/renewal.html");
        assert_eq!(a.id, "tag:news.example.cn,2025-03-05:politics/renewal");
    }

    #[test]
    fn pinyin_is_kept_without_strip_pinyin() {
        let p = parse(
            Path::new("/c/x/a.txt"),
            "x/a.txt",
            SEED_LAYOUT,
            None,
            &config(""),
        )
        .unwrap();
        assert_eq!(p.article.title, "城市更新條例(lì)公布施(shī)行");
    }

    #[test]
    fn strip_pinyin_keeps_other_parentheses() {
        assert_eq!(
            strip_pinyin("常務(wù)會議(2025—2027年)發(fā)展(fazhan)"),
            "常務會議(2025—2027年)發展(fazhan)"
        );
        assert_eq!(strip_pinyin("(wù)開頭 A(wù)"), "(wù)開頭 A(wù)");
    }

    #[test]
    fn text_without_subtitle_takes_summary_from_body_and_mtime_as_date() {
        let c = config("[feeds]\nsummary_chars = 5\n");
        let mtime = DateTime::parse_from_rfc3339("2025-01-02T03:04:05+00:00").unwrap();
        let t = "標題\n這是第一段，很長的正文內容。\n";
        let a = parse(Path::new("/c/a.txt"), "a.txt", t, Some(mtime), &c)
            .unwrap()
            .article;
        assert_eq!(a.summary, "這是第一段…");
        assert_eq!(a.date, mtime);
        assert_eq!(&*a.category, "");
        assert_eq!(a.link, "https://news.example.cn/a.html");
        assert_eq!(a.id, "tag:news.example.cn,2025-01-02:a");
    }

    #[test]
    fn a_timestamp_with_fullwidth_digits_is_an_impossible_date_time() {
        let text = "標題\n２０２５-03-05 10:00\n正文。\n";
        let e = parse(Path::new("/c/a/x.txt"), "a/x.txt", text, None, &config("")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/a/x.txt:2:1: error: impossible date-time \"２０２５-03-05 10:00\""
        );
    }

    #[test]
    fn chinese_date_timestamps_and_english_bylines() {
        let t = "Title\nBy Jane Doe, John Roe\n2025年3月7日 09:30\nBody.\n";
        let a = parse(Path::new("/c/a/b.txt"), "a/b.txt", t, None, &config(""))
            .unwrap()
            .article;
        assert_eq!(a.authors, vec!["Jane Doe", "John Roe"]);
        assert_eq!(a.date.to_rfc3339(), "2025-03-07T09:30:00+08:00");
        assert_eq!(&*a.content_html, "<p>Body.</p>\n");
        assert_eq!(a.summary, "Body.");
        // A leap second is the second before it, as in front matter.
        let t = "Title\n2016-12-31 23:59:60\nBody.\n";
        let a = parse(Path::new("/c/a/b.txt"), "a/b.txt", t, None, &config(""))
            .unwrap()
            .article;
        assert_eq!(a.date.to_rfc3339(), "2016-12-31T23:59:59+08:00");
    }

    #[test]
    fn a_sentence_starting_with_a_byline_prefix_is_a_paragraph_not_a_byline() {
        let t = "标题\n记者从市统计局获悉，前三季度数据好于预期。\n记者 高峰、李晓东\n\
                 2025-06-27 15:10:00\n";
        let parsed = parse(Path::new("/c/a/b.txt"), "a/b.txt", t, None, &config("")).unwrap();
        let a = parsed.article;
        assert_eq!(a.authors, vec!["高峰", "李晓东"]);
        assert!(
            a.content_html.contains("记者从市统计局获悉"),
            "{}",
            a.content_html
        );
        // The quick index agrees.
        let entry = quick_index::quick_meta("a/b.txt", t.as_bytes(), None, &config("")).unwrap();
        let authors: Vec<&str> = entry.authors().iter().collect();
        assert_eq!(authors, ["高峰", "李晓东"]);
        // A name too long to be a name, or too many: not a byline either.
        let long = "标题\n记者这是一段很长的没有标点的正文内容而不是名字\n2025-06-27 15:10:00\n";
        let a = parse(Path::new("/c/a/c.txt"), "a/c.txt", long, None, &config(""))
            .unwrap()
            .article;
        assert!(a.authors.is_empty(), "{:?}", a.authors);
        // Every separator the README names, full-width semicolon included.
        let seps = "标题\n正文。\n记者 张三、李四；王五;赵六，钱七,孙八\n2025-06-27 15:10:00\n";
        let a = parse(Path::new("/c/a/e.txt"), "a/e.txt", seps, None, &config(""))
            .unwrap()
            .article;
        let all = ["张三", "李四", "王五", "赵六", "钱七", "孙八"];
        assert_eq!(a.authors, all);
        let entry = quick_index::quick_meta("a/e.txt", seps.as_bytes(), None, &config("")).unwrap();
        assert_eq!(entry.authors().iter().collect::<Vec<_>>(), all);
        // A colon after the prefix is no part of the names.
        let colon = "标题\n正文。\n记者：高峰 李晓东\n2025-06-27 15:10:00\n";
        let a = parse(Path::new("/c/a/d.txt"), "a/d.txt", colon, None, &config(""))
            .unwrap()
            .article;
        assert_eq!(a.authors, vec!["高峰", "李晓东"]);
    }

    #[test]
    fn split_and_agrees_with_str_split() {
        for t in [
            "",
            " and ",
            "Jane and John",
            "a and and b",
            "a  and b and ",
            "林金彥 and 楊光 and",
            "band andy",
        ] {
            let want: Vec<&str> = t.split(" and ").collect();
            assert_eq!(split_and(t).collect::<Vec<_>>(), want, "{t:?}");
        }
    }

    #[test]
    fn timestamp_lines_read_as_the_regex_reads_them() {
        for line in [
            "2025-03-05 11:42:10",
            "2025-3-5T9:07",
            "2025-03-05 11:42:1",
            "2025-03-05 11:42:",
            "2025-03-05  11:42",
            "2025-03-05 11:42:10 ",
            "25-03-05 11:42",
            "2025-003-05 11:42",
            "2025年3月5日 11:42",
            "２０２５-03-05 11:42",
            "2025-03-05 11:4２",
            "x2025-03-05 11:42",
            "記者 2025-03-05 11:42",
            "",
        ] {
            assert_eq!(timestamp_fields(line), regex_timestamp(line), "{line:?}");
        }
        assert_eq!(
            timestamp_fields("2025-3-5T9:07"),
            Some([2025, 3, 5, 9, 7, 0])
        );
    }

    proptest! {
        #[test]
        fn any_line_reads_as_the_regex_reads_it(
            // Mostly well-formed fields and separators, each sometimes off.
            year in prop_oneof![8 => "[0-9]{4}", 1 => "[0-9]{3}", 1 => "[0-9]{5}"],
            month in prop_oneof![8 => "[0-9]{1,2}", 1 => "", 1 => "[0-9]{3}"],
            day in prop_oneof![7 => "[0-9]{1,2}", 1 => "", 1 => "[0-9]{3}", 1 => "[0-9]?２"],
            hour in prop_oneof![8 => "[0-9]{1,2}", 1 => "", 1 => "[0-9]{3}"],
            minute in prop_oneof![8 => "[0-9]{2}", 1 => "[0-9]", 1 => "[0-9]{3}"],
            second in prop_oneof![4 => "", 4 => ":[0-9]{2}", 1 => ":[0-9]{0,3}", 1 => "[ x:年]"],
            dash in prop_oneof![8 => "-", 1 => ":", 1 => " "],
            dash2 in prop_oneof![8 => "-", 1 => "月", 1 => ""],
            mid in prop_oneof![4 => " ", 4 => "T", 1 => "  ", 1 => "t"],
            colon in prop_oneof![8 => ":", 2 => "-"],
        ) {
            let line = format!("{year}{dash}{month}{dash2}{day}{mid}{hour}{colon}{minute}{second}");
            prop_assert_eq!(timestamp_fields(&line), regex_timestamp(&line), "{:?}", line);
        }

    }
}
