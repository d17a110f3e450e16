//! Library-level integration tests: articles from files (every format,
//! encoding and date form), content errors, and the rendered feeds
//! (round trip through feed-rs, golden files, well-formedness under
//! arbitrary input, determinism, drafts, scheduling, duplicate ids).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use proptest::prelude::*;
use support::{
    article, at, config, load_content, now, render, render_all, render_site, write, write_sample,
    Article, Catalog, Config, Format, PageId, Publisher, Severity, Snapshot, SAMPLE, SITE,
};
use tempfile::TempDir;

/// A temp dir holding `content/`; returns (guard, content dir).
fn content_dir() -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    std::fs::create_dir(&content).unwrap();
    (tmp, content)
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("feed is UTF-8")
}

// ---------------------------------------------------------------------------
// 1. The plain-text importer on a page export in the seed layout

/// A news-site export of our own in the seed layout: title with a
/// pinyin annotation, subtitle, body (one paragraph with pinyin and a
/// year-range parenthesis, one with `&`), byline, several timestamps,
/// footer lines. Indentation and blank lines as copy-paste leaves them.
const PORT_EXPORT: &str = "\
港口物流園(yuán)二期開工
  推動多式聯運、冷鏈倉儲等項目建設

3月12日上午,市港口物流園二期項目在東區舉行開工儀式,副市長王建國出席並講話。
該項目總投資18億元,規劃建設冷鏈倉儲、集裝箱堆場和鐵路專用線,實現港口&產業聯動。

根據《港口物流發(fā)展規劃(2025—2027年)》,園區分三期建設,二期預計明年底投入運營。
與會人員還參觀了一期工程的智慧調度中心。
記者 孫曉梅 趙立強
2025-03-12 10:15:30
2025-03-12 09:02:11
2025-03-01 08:00:00
港城新聞網 2006-2025 版權所有 港城市新聞中心
備案號:港ICP備12345678號
違法和不良信息舉報電話:0000-0000000
";

#[test]
fn seed_layout_export_parses_to_title_summary_authors_date_and_paragraphs() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "[text]\nstrip_pinyin = true\n");
    let rel = "business/port-logistics.txt";
    let a = article::parse(&dir.join(rel), rel, PORT_EXPORT, None, &cfg)
        .unwrap()
        .article;
    assert_eq!(a.title, "港口物流園二期開工");
    assert_eq!(a.summary, "推動多式聯運、冷鏈倉儲等項目建設");
    assert_eq!(a.authors, ["孫曉梅", "趙立強"]);
    assert_eq!(a.date.to_rfc3339(), "2025-03-12T10:15:30+08:00");
    assert_eq!(a.updated, a.date);
    assert_eq!(
        &*a.content_html,
        "<p>3月12日上午,市港口物流園二期項目在東區舉行開工儀式,副市長王建國出席並講話。</p>\n\
         <p>該項目總投資18億元,規劃建設冷鏈倉儲、集裝箱堆場和鐵路專用線,實現港口&amp;產業聯動。</p>\n\
         <p>根據《港口物流發展規劃(2025—2027年)》,園區分三期建設,二期預計明年底投入運營。</p>\n\
         <p>與會人員還參觀了一期工程的智慧調度中心。</p>\n"
    );
    for furniture in ["版權所有", "ICP", "舉報", "記者", "09:02:11", "2025-03-01"] {
        assert!(!a.content_html.contains(furniture), "{furniture} in body");
        assert!(!a.summary.contains(furniture), "{furniture} in summary");
    }
    assert_eq!(&*a.category, "business");
    assert_eq!(a.slug, "port-logistics");
    assert_eq!(
        a.link,
        "https://www.harbour.example/business/port-logistics.html"
    );
    assert_eq!(
        a.id,
        "tag:harbour.example,2025-03-12:business/port-logistics"
    );
    assert!(!a.draft);
}

#[test]
fn pinyin_stays_when_strip_pinyin_is_off() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "");
    let rel = "business/port-logistics.txt";
    let a = article::parse(&dir.join(rel), rel, PORT_EXPORT, None, &cfg)
        .unwrap()
        .article;
    assert_eq!(a.title, "港口物流園(yuán)二期開工");
    assert!(a.content_html.contains("發(fā)展規劃(2025—2027年)"));
}

#[test]
fn text_second_line_is_a_subtitle_only_when_short_and_unpunctuated() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "[feeds]\nsummary_chars = 6\n");
    let parse = |text: &str| {
        article::parse(&dir.join("a/b.txt"), "a/b.txt", text, None, &cfg)
            .unwrap()
            .article
    };
    // Ends in a full stop: a body paragraph, and the summary comes from the body.
    let a = parse("標題\n第一段正文內容很長。\n2025-03-01 08:00\n");
    assert_eq!(a.summary, "第一段正文內…");
    assert_eq!(&*a.content_html, "<p>第一段正文內容很長。</p>\n");
    // Longer than 60 characters: a body paragraph.
    let long = "長".repeat(61);
    let a = parse(&format!("標題\n{long}\n2025-03-01 08:00\n"));
    assert_eq!(&*a.content_html, format!("<p>{long}</p>\n"));
    // A byline in second place names the authors and is no subtitle.
    let a = parse("Title\nBy Jane Doe, John Roe\n2025-03-01 08:00\nBody text here.\n");
    assert_eq!(a.authors, ["Jane Doe", "John Roe"]);
    assert_eq!(a.summary, "Body t…");
    // Exactly 60 characters, no final punctuation: the subtitle.
    let sixty = "副".repeat(60);
    let a = parse(&format!("標題\n{sixty}\n正文。\n2025-03-01 08:00\n"));
    assert_eq!(a.summary, sixty);
    assert_eq!(&*a.content_html, "<p>正文。</p>\n");
}

#[test]
fn chinese_style_timestamp_line_is_the_date_and_no_timestamp_means_mtime() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "");
    let a = article::parse(
        &dir.join("a/b.txt"),
        "a/b.txt",
        "標題\n正文。\n2025年3月7日 09:30\n",
        None,
        &cfg,
    )
    .unwrap()
    .article;
    assert_eq!(a.date.to_rfc3339(), "2025-03-07T09:30:00+08:00");
    let mtime = at("2024-11-05T06:07:08+00:00");
    let a = article::parse(
        &dir.join("a/b.txt"),
        "a/b.txt",
        "標題\n正文。\n",
        Some(mtime),
        &cfg,
    )
    .unwrap()
    .article;
    assert_eq!(a.date, mtime);
}

// ---------------------------------------------------------------------------
// 2. Front-matter formats, encodings, date forms, time zones

#[test]
fn toml_and_yaml_front_matter_give_the_same_article() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "");
    let toml = "+++\n\
        title = \"Opera season opens\"\n\
        date = \"2025-03-08 19:30\"\n\
        updated = \"2025-03-09T08:00:00+08:00\"\n\
        authors = [\"Ana Souza\", \"李華\"]\n\
        summary = \"Three nights of Cantonese opera.\"\n\
        slug = \"opera-2025\"\n\
        tags = [\"opera\", \"粵劇\"]\n\
        image = \"img/stage.jpg\"\n\
        lang = \"en\"\n\
        draft = false\n\
        +++\n\
        The *season* opens tonight.\n";
    let yaml = "---\n\
        title: Opera season opens\n\
        date: 2025-03-08 19:30\n\
        updated: \"2025-03-09T08:00:00+08:00\"\n\
        authors:\n  - Ana Souza\n  - 李華\n\
        summary: Three nights of Cantonese opera.\n\
        slug: opera-2025\n\
        tags: [opera, 粵劇]\n\
        image: img/stage.jpg\n\
        lang: en\n\
        draft: false\n\
        ---\n\
        The *season* opens tonight.\n";
    write(&dir, "culture/opera-toml.md", toml);
    write(&dir, "culture/opera-yaml.md", yaml);
    let a = article::load(&dir, "culture/opera-toml.md", &cfg)
        .unwrap()
        .article;
    let b = article::load(&dir, "culture/opera-yaml.md", &cfg)
        .unwrap()
        .article;
    assert_eq!(a.title, "Opera season opens");
    assert_eq!(a.date.to_rfc3339(), "2025-03-08T19:30:00+08:00");
    assert_eq!(a.updated.to_rfc3339(), "2025-03-09T08:00:00+08:00");
    assert_eq!(a.authors, ["Ana Souza", "李華"]);
    assert_eq!(a.summary, "Three nights of Cantonese opera.");
    assert_eq!(a.slug, "opera-2025");
    assert_eq!(a.tags, ["opera", "粵劇"]);
    assert_eq!(
        a.link,
        "https://www.harbour.example/culture/opera-2025.html"
    );
    assert_eq!(
        a.image.as_deref(),
        Some("https://www.harbour.example/culture/img/stage.jpg")
    );
    assert_eq!(a.id, "tag:harbour.example,2025-03-08:culture/opera-2025");
    assert_eq!(a.lang.as_deref(), Some("en"));
    assert!(!a.draft);
    assert_eq!(
        &*a.content_html,
        "<p>The <em>season</em> opens tonight.</p>\n"
    );
    // Everything but the path is the same.
    assert_eq!(&*a.rel, "culture/opera-toml.md");
    assert_eq!(&*b.rel, "culture/opera-yaml.md");
    let mut same = a.clone();
    same.entry.rel = b.rel.clone();
    assert_eq!(same, b);
}

#[test]
fn author_given_as_a_list_keeps_its_order() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "");
    let toml = "+++\ntitle = \"T\"\ndate = \"2025-03-01\"\nauthor = [\"Ana Souza\", \"李華\", \"Tom Baker\"]\n+++\nBody\n";
    let yaml = "---\ntitle: T\ndate: 2025-03-01\nauthor: [Ana Souza, 李華, Tom Baker]\n---\nBody\n";
    for (rel, text) in [("a/toml.md", toml), ("a/yaml.md", yaml)] {
        write(&dir, rel, text);
        let a = article::load(&dir, rel, &cfg).unwrap().article;
        assert_eq!(a.authors, ["Ana Souza", "李華", "Tom Baker"], "{rel}");
    }
}

#[test]
fn every_supported_encoding_loads_to_the_same_article() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "");
    let text = "+++\ntitle = \"港城经济：港口吞吐量创新高\"\ndate = \"2025-03-05 16:45\"\n+++\n\
                二月份集装箱吞吐量同比增长百分之八。\n";
    let utf16 = |le: bool, s: &str| -> Vec<u8> {
        let mut out = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for u in s.encode_utf16() {
            out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    };
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("utf8", text.as_bytes().to_vec()),
        ("utf8-bom", bom),
        // Windows tools write UTF-16LE with CRLF.
        ("utf16le", utf16(true, &text.replace('\n', "\r\n"))),
        ("utf16be", utf16(false, text)),
        ("gbk", gbk.into_owned()),
    ];
    for (name, bytes) in variants {
        let rel = format!("business/{name}.md");
        write(&dir, &rel, &bytes);
        let a = article::load(&dir, &rel, &cfg)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .article;
        assert_eq!(a.title, "港城经济：港口吞吐量创新高", "{name}");
        assert_eq!(a.date.to_rfc3339(), "2025-03-05T16:45:00+08:00", "{name}");
        assert_eq!(
            &*a.content_html, "<p>二月份集装箱吞吐量同比增长百分之八。</p>\n",
            "{name}"
        );
    }
}

#[test]
fn gbk_plain_text_export_loads() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "");
    let text = "地铁三号线开通\n沿线设站十二座\n今天上午,地铁三号线正式开通运营。\n\
                记者 王芳\n2025-03-20 10:00:00\n本网 版权所有\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    write(&dir, "社会/metro.txt", &gbk);
    let a = article::load(&dir, "社会/metro.txt", &cfg).unwrap().article;
    assert_eq!(a.title, "地铁三号线开通");
    assert_eq!(a.summary, "沿线设站十二座");
    assert_eq!(a.authors, ["王芳"]);
    assert_eq!(a.date.to_rfc3339(), "2025-03-20T10:00:00+08:00");
    assert_eq!(
        &*a.content_html,
        "<p>今天上午,地铁三号线正式开通运营。</p>\n"
    );
}

#[test]
fn every_date_form_is_read_and_naive_dates_take_the_site_time_zone() {
    // (front matter, date line) → expected in Asia/Shanghai, America/New_York, +05:30.
    let cases: &[(&str, &str, [&str; 3])] = &[
        (
            "+++",
            "date = \"2025-01-15T16:45:00+02:00\"",
            ["2025-01-15T16:45:00+02:00"; 3],
        ),
        (
            "+++",
            "date = \"2025-01-15T16:45:00Z\"",
            ["2025-01-15T16:45:00+00:00"; 3],
        ),
        (
            "+++",
            "date = \"2025-01-15 16:45:30\"",
            [
                "2025-01-15T16:45:30+08:00",
                "2025-01-15T16:45:30-05:00",
                "2025-01-15T16:45:30+05:30",
            ],
        ),
        (
            "+++",
            "date = \"2025-07-15 16:45\"",
            [
                "2025-07-15T16:45:00+08:00",
                "2025-07-15T16:45:00-04:00",
                "2025-07-15T16:45:00+05:30",
            ],
        ),
        (
            "+++",
            "date = \"2025-01-15\"",
            [
                "2025-01-15T00:00:00+08:00",
                "2025-01-15T00:00:00-05:00",
                "2025-01-15T00:00:00+05:30",
            ],
        ),
        (
            "+++",
            "date = 2025-01-15T16:45:00-03:00",
            ["2025-01-15T16:45:00-03:00"; 3],
        ),
        (
            "+++",
            "date = 2025-07-15T16:45:00",
            [
                "2025-07-15T16:45:00+08:00",
                "2025-07-15T16:45:00-04:00",
                "2025-07-15T16:45:00+05:30",
            ],
        ),
        (
            "+++",
            "date = 2025-01-15",
            [
                "2025-01-15T00:00:00+08:00",
                "2025-01-15T00:00:00-05:00",
                "2025-01-15T00:00:00+05:30",
            ],
        ),
        (
            "---",
            "date: 2025-01-15 16:45",
            [
                "2025-01-15T16:45:00+08:00",
                "2025-01-15T16:45:00-05:00",
                "2025-01-15T16:45:00+05:30",
            ],
        ),
        (
            "---",
            "date: 2025-07-15",
            [
                "2025-07-15T00:00:00+08:00",
                "2025-07-15T00:00:00-04:00",
                "2025-07-15T00:00:00+05:30",
            ],
        ),
        (
            "---",
            "date: 2025-07-15T06:00:00+09:00",
            ["2025-07-15T06:00:00+09:00"; 3],
        ),
    ];
    let (_tmp, dir) = content_dir();
    let zones = ["Asia/Shanghai", "America/New_York", "+05:30"];
    for (zi, zone) in zones.iter().enumerate() {
        let cfg = config(&dir, &format!("timezone = \"{zone}\"\n"), "");
        for (fence, line, want) in cases {
            let title = if *fence == "+++" {
                "title = \"T\""
            } else {
                "title: T"
            };
            let text = format!("{fence}\n{title}\n{line}\n{fence}\nBody.\n");
            write(&dir, "news/dated.md", &text);
            let a = article::load(&dir, "news/dated.md", &cfg)
                .unwrap_or_else(|e| panic!("{zone} {line}: {e}"))
                .article;
            assert_eq!(a.date.to_rfc3339(), want[zi], "{zone}: {line}");
            assert_eq!(
                a.updated, a.date,
                "{zone}: {line}: updated defaults to date"
            );
        }
        // A plain-text export's timestamp is naive too.
        write(
            &dir,
            "news/dated.txt",
            "標題\n正文。\n2025-01-15 16:45:30\n",
        );
        let a = article::load(&dir, "news/dated.txt", &cfg).unwrap().article;
        assert_eq!(a.date.to_rfc3339(), cases[2].2[zi], "{zone}: txt");
    }
}

// ---------------------------------------------------------------------------
// 3. Content errors

/// Broken files: (relative path, bytes, expected `:line:col` or "" for
/// none, a word the message must contain).
fn broken_files() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    vec![
        (
            "politics/toml-syntax.md",
            b"+++\ntitle = \"Bus fares\" extra\ndate = \"2025-03-01\"\n+++\nBody\n".to_vec(),
            ":2:21",
            "front matter",
        ),
        (
            "politics/toml-duplicate.md",
            b"+++\ntitle = \"Bus fares\"\ndate = \"2025-03-01\"\ntitle = \"Again\"\n+++\nBody\n"
                .to_vec(),
            ":4:1",
            "duplicate",
        ),
        (
            "politics/yaml-syntax.md",
            b"---\ntitle: Bus fares\ndate: 2025-03-01\ntags: [bus, fares]]\n---\nBody\n".to_vec(),
            ":4:19",
            "front matter",
        ),
        (
            "politics/toml-type.md",
            b"+++\ntitle = \"Bus fares\"\ndate = \"2025-03-01\"\ndraft = \"yes\"\n+++\nBody\n"
                .to_vec(),
            ":4:9",
            "invalid type",
        ),
        (
            "politics/yaml-type.md",
            b"---\ntitle: Bus fares\ndate: 2025-03-01\ntags: {a: 1}\n---\nBody\n".to_vec(),
            ":4:7",
            "front matter",
        ),
        (
            "politics/unterminated.md",
            b"+++\ntitle = \"Bus fares\"\ndate = \"2025-03-01\"\nBody without a closing fence\n"
                .to_vec(),
            ":1:1",
            "unterminated",
        ),
        (
            "politics/no-title.md",
            b"+++\ndate = \"2025-03-01\"\n+++\nNo heading in this body.\n".to_vec(),
            ":1:1",
            "title",
        ),
        (
            "politics/no-date.md",
            b"+++\ntitle = \"Bus fares\"\n+++\nBody\n".to_vec(),
            ":1:1",
            "date",
        ),
        (
            "politics/impossible-date.md",
            b"+++\ntitle = \"Bus fares\"\ndate = \"2025-02-30 10:00\"\n+++\nBody\n".to_vec(),
            ":3:8",
            "date",
        ),
        (
            "politics/year-10000.md",
            b"+++\ntitle = \"Bus fares\"\ndate = \"10000-01-01\"\n+++\nBody\n".to_vec(),
            ":3:8",
            "date",
        ),
        (
            "politics/impossible-timestamp.txt",
            "標題\n正文。\n2025-13-01 10:00\n".as_bytes().to_vec(),
            ":3:1",
            "2025-13-01",
        ),
        ("politics/empty.md", Vec::new(), "", "empty"),
        ("politics/blank.txt", b"  \n\n\t\n".to_vec(), "", "empty"),
        (
            "politics/binary.md",
            b"+++\ntitle = \"x\"\0\0\n+++\n".to_vec(),
            "",
            "binary",
        ),
        (
            "politics/undecodable.md",
            b"+++\ntitle = \"\x81\x20\xFF\xFF\"\n+++\n".to_vec(),
            "",
            "decode",
        ),
        (
            "politics/too-big.md",
            format!(
                "+++\ntitle = \"Big\"\ndate = \"2025-03-01\"\n+++\n{}\n",
                "x".repeat(5000)
            )
            .into_bytes(),
            "",
            "max_file_bytes",
        ),
    ]
}

/// The config for error tests: files over 4096 bytes are too big.
fn small_files_config(dir: &Path) -> Config {
    config(dir, "", "max_file_bytes = 4096\n")
}

#[test]
fn every_content_error_names_the_file_and_position() {
    let (_tmp, dir) = content_dir();
    let cfg = small_files_config(&dir);
    for (rel, bytes, pos, word) in broken_files() {
        write(&dir, rel, &bytes);
        let e = match article::load(&dir, rel, &cfg) {
            Ok(p) => panic!("{rel} loaded: {:?}", p.article),
            Err(e) => e,
        };
        let path = dir.join(rel);
        assert_eq!(e.path, path, "{rel}");
        assert_eq!(e.severity, Severity::Error, "{rel}");
        let shown = e.to_string();
        let prefix = format!("{}{pos}: error: ", path.display());
        assert!(
            shown.starts_with(&prefix),
            "{rel}: want {prefix:?}, got {shown:?}"
        );
        assert!(
            shown.to_lowercase().contains(&word.to_lowercase()),
            "{rel}: {shown:?} should mention {word:?}"
        );
        assert!(!shown.contains('\n'), "{rel}: one line: {shown:?}");
    }
}

#[test]
fn a_broken_file_never_changes_another_articles_output() {
    let (_tmp, dir) = content_dir();
    let cfg = small_files_config(&dir);
    write_sample(&dir);
    let (before, diags) = render_site(&cfg, now());
    assert!(diags.is_empty(), "{diags:?}");
    let broken = broken_files();
    for (rel, bytes, _, _) in &broken {
        write(&dir, rel, bytes);
    }
    let (after, diags) = render_site(&cfg, now());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (page, body) in &before {
        assert!(
            after[page] == *body,
            "{page} changed:\n{}",
            utf8(&after[page])
        );
    }
    let errors: BTreeSet<PathBuf> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.path.clone())
        .collect();
    let planted: BTreeSet<PathBuf> = broken.iter().map(|(rel, ..)| dir.join(rel)).collect();
    assert_eq!(errors, planted);
}

#[test]
fn hidden_files_editor_temporaries_and_ignored_globs_are_never_read() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "ignore = [\"*.bak\", \"politics/archive/**\"]\n");
    write_sample(&dir);
    let junk = "not an article: no front matter date, no title\0";
    for rel in [
        "politics/.hidden.md",
        "politics/.secret/a.md",
        ".git/a.md",
        "politics/x.md~",
        "politics/.x.md.swp",
        "politics/.x.md.swx",
        "politics/x.md.tmp",
        "politics/#x.md#",
        "politics/.#x.md",
        "politics/4913",
        "politics/x.md.bak",
        "politics/archive/2019/x.md",
    ] {
        write(&dir, rel, junk);
    }
    let loaded = load_content(&cfg).unwrap();
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.catalog.len(), SAMPLE.len());
    let cats: Vec<&str> = loaded.catalog.categories().collect();
    assert_eq!(cats, ["culture", "politics", "社会"]);
}

#[test]
fn symbolic_links_are_followed_only_inside_the_content_dir() {
    use std::os::unix::fs::symlink;
    let (tmp, dir) = content_dir();
    let cfg = sample_config(&dir);
    write_sample(&dir);
    // Outside the content dir: never published.
    write(
        tmp.path(),
        "outside/leak.md",
        "+++\ntitle = \"Leaked from outside\"\ndate = \"2025-03-01\"\n+++\nx\n",
    );
    symlink(
        tmp.path().join("outside/leak.md"),
        dir.join("politics/leak.md"),
    )
    .unwrap();
    symlink(tmp.path().join("outside"), dir.join("outside-dir")).unwrap();
    // Inside: followed. A loop: walked once, never hangs.
    symlink(
        dir.join("politics/council-vote.md"),
        dir.join("culture/vote-link.md"),
    )
    .unwrap();
    symlink(&dir, dir.join("politics/loop")).unwrap();
    let (pages, _) = render_site(&cfg, now());
    for (page, body) in &pages {
        assert!(!utf8(body).contains("Leaked from outside"), "{page}");
    }
    assert!(!pages.contains_key("outside-dir/rss.xml"));
    assert!(utf8(&pages["culture/rss.xml"]).contains("Council approves harbour budget"));
}

// ---------------------------------------------------------------------------
// 4. Round trip through feed-rs

struct Expected {
    title: &'static str,
    id: &'static str,
    link: &'static str,
    published: &'static str,
    authors: &'static [&'static str],
}

/// `SAMPLE` as a reader should see it, newest first (the two
/// 2025-03-10 09:30 articles tie and go by path).
const SAMPLE_ITEMS: &[Expected] = &[
    Expected {
        title: "公交線路調整",
        id: "tag:harbour.example,2025-03-12:%E7%A4%BE%E4%BC%9A/bus-routes",
        link: "https://www.harbour.example/%E7%A4%BE%E4%BC%9A/bus-routes.html",
        published: "2025-03-12T14:20:00+08:00",
        authors: &["陳靜"],
    },
    Expected {
        title: "Opera night at the harbour",
        id: "tag:harbour.example,2025-03-11:culture/opera",
        link: "https://www.harbour.example/culture/opera.html",
        published: "2025-03-11T20:00:00+08:00",
        authors: &["Ana Souza"],
    },
    Expected {
        title: "Council approves harbour budget",
        id: "tag:harbour.example,2025-03-10:politics/council-vote",
        link: "https://www.harbour.example/politics/council-vote.html",
        published: "2025-03-10T09:30:00+08:00",
        authors: &["Mei Lin", "Tom Baker"],
    },
    Expected {
        title: "新圖書館開放夜間閱覽",
        id: "tag:harbour.example,2025-03-10:%E7%A4%BE%E4%BC%9A/library",
        link: "https://www.harbour.example/%E7%A4%BE%E4%BC%9A/library.html",
        published: "2025-03-10T09:30:00+08:00",
        authors: &["李華"],
    },
    Expected {
        title: "Old town hall to reopen",
        id: "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        link: "https://www.harbour.example/politics/old-hall.html",
        published: "2025-02-01T10:00:00+08:00",
        authors: &["Zhou Wen"],
    },
    Expected {
        title: "About this feed",
        id: "tag:harbour.example,2025-01-01:about",
        link: "https://www.harbour.example/about.html",
        published: "2025-01-01T00:00:00+08:00",
        authors: &["港城新聞網"],
    },
];

fn sample_config(dir: &Path) -> Config {
    config(
        dir,
        "",
        "[text]\nstrip_pinyin = true\n[categories.\"社会\"]\ntitle = \"社會 Society\"\n",
    )
}

#[test]
fn every_feed_round_trips_through_feed_rs() {
    let (_tmp, dir) = content_dir();
    let cfg = sample_config(&dir);
    write_sample(&dir);
    let (pages, diags) = render_site(&cfg, now());
    assert!(diags.is_empty(), "{diags:?}");
    let site = "港城新聞 Harbour City News";
    // (category dir, its URL segment, feed title, indices into SAMPLE_ITEMS)
    let feeds: [(Option<&str>, &str, String, &[usize]); 4] = [
        (None, "", site.to_string(), &[0, 1, 2, 3, 4, 5]),
        (
            Some("politics"),
            "politics/",
            format!("politics - {site}"),
            &[2, 4],
        ),
        (
            Some("社会"),
            "%E7%A4%BE%E4%BC%9A/",
            format!("社會 Society - {site}"),
            &[0, 3],
        ),
        (
            Some("culture"),
            "culture/",
            format!("culture - {site}"),
            &[1],
        ),
    ];
    let mut atom_ids = BTreeSet::new();
    for (cat, segment, title, items) in &feeds {
        for format in Format::ALL {
            let file = PageId::Feed(cat.map(str::to_string), format).file_path();
            let body = pages.get(&file).unwrap_or_else(|| panic!("no {file}"));
            let feed = feed_rs::parser::parse(&body[..])
                .unwrap_or_else(|e| panic!("{file}: {e}\n{}", utf8(body)));
            assert_eq!(
                feed.title.as_ref().map(|t| t.content.as_str()),
                Some(title.as_str()),
                "{file}"
            );
            let self_url = format!(
                "https://feeds.harbour.example/{segment}{}",
                format.file_name()
            );
            check_feed_links(format, body, &self_url, &file);
            if format == Format::Atom {
                assert!(
                    atom_ids.insert(feed.id.clone()),
                    "{file}: atom:id {} reused",
                    feed.id
                );
            }
            let got: Vec<_> = feed
                .entries
                .iter()
                .map(|e| {
                    (
                        e.title
                            .as_ref()
                            .map(|t| t.content.clone())
                            .unwrap_or_default(),
                        e.id.clone(),
                        e.links
                            .iter()
                            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                            .map(|l| l.href.clone())
                            .unwrap_or_default(),
                        e.published,
                        e.authors.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                    )
                })
                .collect();
            let want: Vec<_> = items
                .iter()
                .map(|&i| {
                    let x = &SAMPLE_ITEMS[i];
                    (
                        x.title.to_string(),
                        x.id.to_string(),
                        x.link.to_string(),
                        Some(at(x.published).with_timezone(&Utc)),
                        x.authors.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    )
                })
                .collect();
            assert_eq!(got, want, "{file}");
        }
    }
}

/// Self link to where the feed is served, alternate link to `site.link`.
fn check_feed_links(format: Format, body: &[u8], self_url: &str, file: &str) {
    let home = "https://www.harbour.example";
    match format {
        Format::Json => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(v["version"], "https://jsonfeed.org/version/1.1", "{file}");
            assert_eq!(v["feed_url"], self_url, "{file}");
            assert_eq!(v["home_page_url"], home, "{file}");
        }
        Format::Rss | Format::Atom => {
            let doc = roxmltree::Document::parse(utf8(body)).unwrap();
            let links: Vec<(Option<&str>, Option<&str>)> = doc
                .descendants()
                .filter(|n| {
                    n.has_tag_name(("http://www.w3.org/2005/Atom", "link"))
                        && n.parent().is_some_and(|p| {
                            p.has_tag_name("channel")
                                || p.has_tag_name(("http://www.w3.org/2005/Atom", "feed"))
                        })
                })
                .map(|n| (n.attribute("rel"), n.attribute("href")))
                .collect();
            assert!(
                links.contains(&(Some("self"), Some(self_url))),
                "{file}: {links:?}"
            );
            if format == Format::Atom {
                assert!(
                    links.contains(&(Some("alternate"), Some(home))),
                    "{file}: {links:?}"
                );
            } else {
                let channel_link = doc
                    .descendants()
                    .find(|n| {
                        n.has_tag_name("link")
                            && n.parent().is_some_and(|p| p.has_tag_name("channel"))
                    })
                    .and_then(|n| n.text());
                assert_eq!(channel_link, Some(home), "{file}");
            }
        }
    }
}

#[test]
fn feeds_hold_at_most_limit_items_newest_first() {
    let (_tmp, dir) = content_dir();
    let cfg = config(
        &dir,
        "",
        "[text]\nstrip_pinyin = true\n[feeds]\nlimit = 2\n",
    );
    write_sample(&dir);
    let (pages, _) = render_site(&cfg, now());
    let feed = feed_rs::parser::parse(&pages["atom.xml"][..]).unwrap();
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, [SAMPLE_ITEMS[0].id, SAMPLE_ITEMS[1].id]);
}

#[test]
fn only_configured_formats_are_rendered() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "[feeds]\nformats = [\"atom\"]\n");
    write_sample(&dir);
    let (pages, _) = render_site(&cfg, now());
    // Tag and author pages too have only the configured format.
    assert!(
        pages
            .keys()
            .all(|f| !f.ends_with("rss.xml") && !f.ends_with("feed.json")),
        "{:?}",
        pages.keys()
    );
    assert!(pages.contains_key("tags/budget/atom.xml"));
    let files: BTreeSet<&str> = pages
        .keys()
        .map(String::as_str)
        .filter(|f| !f.starts_with("tags/") && !f.starts_with("authors/"))
        .collect();
    let want: BTreeSet<&str> = [
        "index.html",
        "feeds.opml",
        "atom.xml",
        "politics/index.html",
        "politics/atom.xml",
        "culture/index.html",
        "culture/atom.xml",
        "社会/index.html",
        "社会/atom.xml",
    ]
    .into();
    assert_eq!(files, want);
    for page in ["index.html", "feeds.opml"] {
        let s = utf8(&pages[page]);
        assert!(
            !s.contains("rss.xml") && !s.contains("feed.json"),
            "{page} lists other formats"
        );
    }
}

#[test]
fn empty_category_serves_a_valid_empty_feed_dated_by_the_site() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "");
    write_sample(&dir);
    std::fs::create_dir(dir.join("sport")).unwrap();
    let (pages, _) = render_site(&cfg, now());
    let rss = utf8(&pages["sport/rss.xml"]);
    let doc = roxmltree::Document::parse(rss).unwrap();
    assert_eq!(
        doc.descendants().filter(|n| n.has_tag_name("item")).count(),
        0
    );
    let last_build = doc
        .descendants()
        .find(|n| n.has_tag_name("lastBuildDate"))
        .and_then(|n| n.text());
    // The newest `updated` of the whole site: the bus-routes export.
    assert_eq!(last_build, Some("Wed, 12 Mar 2025 14:20:00 +0800"));
    let atom = feed_rs::parser::parse(&pages["sport/atom.xml"][..]).unwrap();
    assert!(atom.entries.is_empty());
    assert_eq!(
        atom.updated,
        Some(at("2025-03-12T06:20:00Z").with_timezone(&Utc))
    );
    let json: serde_json::Value = serde_json::from_slice(&pages["sport/feed.json"]).unwrap();
    assert_eq!(json["items"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------
// 5. Golden files

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// Compares `actual` with `tests/golden/<name>`, or writes it there with
/// `HERALD_BLESS=1`.
fn assert_golden(name: &str, actual: &[u8]) {
    let path = golden_dir().join("golden").join(name);
    if std::env::var_os("HERALD_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with HERALD_BLESS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{name} differs from {} (HERALD_BLESS=1 rewrites it after you have checked the output)\n--- actual ---\n{}",
            path.display(),
            String::from_utf8_lossy(actual)
        );
    }
}

#[test]
fn site_feeds_match_the_golden_files() {
    let config_path = golden_dir().join("fixtures/golden/herald.toml");
    let cfg = Config::load(&config_path).unwrap();
    let (pages, diags) = render_site(&cfg, now());
    assert!(diags.is_empty(), "{diags:?}");

    // Facts a reader checks first, asserted so a careless re-bless cannot hide them.
    let rss = utf8(&pages["rss.xml"]);
    let doc = roxmltree::Document::parse(rss).unwrap();
    let text_of = |tag: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == tag)
            .and_then(|n| n.text())
    };
    // lastBuildDate: the newest `updated` (the budget hearing was updated
    // after the newer bus-routes article was published).
    assert_eq!(
        text_of("lastBuildDate"),
        Some("Sat, 15 Mar 2025 08:00:00 +0800")
    );
    let guids: Vec<(Option<&str>, Option<&str>)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("guid"))
        .map(|n| (n.attribute("isPermaLink"), n.text()))
        .collect();
    // An id that is the permalink: isPermaLink absent (RSS default true) or "true".
    let permalink_guid = guids
        .iter()
        .find(|(_, v)| *v == Some("https://www.harbour.example/business/port-volume.html"))
        .expect("port-volume guid");
    assert_ne!(permalink_guid.0, Some("false"));
    assert!(guids.contains(&(
        Some("false"),
        Some("tag:harbour.example,2025-03-10:politics/budget-hearing")
    )));
    assert!(rss.contains("<dc:creator>Mei Lin</dc:creator>"));
    assert!(rss.contains("<content:encoded>"));
    assert!(!rss.contains("Drafted plan"), "draft leaked");
    assert!(
        !rss.contains("Harbour festival 2099"),
        "future article leaked"
    );

    assert_golden("site.rss.xml", &pages["rss.xml"]);
    assert_golden("site.atom.xml", &pages["atom.xml"]);
    assert_golden("site.feed.json", &pages["feed.json"]);
}

// ---------------------------------------------------------------------------
// 6. Well-formed under any input

/// Strings made of the pieces that break naive XML and JSON writers.
fn nasty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("]]>".to_string()),
        Just("<![CDATA[".to_string()),
        Just("&".to_string()),
        Just("&amp;".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("\"'".to_string()),
        Just("--".to_string()),
        Just("\r\n".to_string()),
        Just("\u{FFFE}".to_string()),
        Just("\u{FFFF}".to_string()),
        Just("新聞".to_string()),
        Just("😀".to_string()),
        Just("<script>".to_string()),
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap().to_string()),
        (0x7Fu32..0xA0).prop_map(|c| char::from_u32(c).unwrap().to_string()),
        Just("\u{FDD0}\u{1FFFF}".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

/// What an XML 1.0 reader can get back of `s`: forbidden characters
/// removed, line ends normalised as every XML parser does.
fn xml_visible(s: &str) -> String {
    let kept: String = s.chars().filter(|&c| !forbidden(c)).collect();
    eol(&kept)
}

/// What herald keeps out of every feed and page: controls other than tab,
/// LF and CR (XML forbids them), DEL and the C1 controls, noncharacters
/// (HTML forbids them).
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}')
        || matches!(c, '\u{7F}'..='\u{9F}' | '\u{FDD0}'..='\u{FDEF}')
        || matches!(u32::from(c) & 0xFFFF, 0xFFFE | 0xFFFF)
}

/// Line ends as `\n`: XML parsers differ on `\r` inside CDATA.
fn eol(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn json_visible(s: &str) -> String {
    s.chars().filter(|&c| !forbidden(c)).collect()
}

fn arb_date() -> impl Strategy<Value = DateTime<FixedOffset>> {
    // 0001-01-02 .. 9999-12-30 UTC, any offset up to ±14 hours.
    (-62_135_510_400i64..253_402_128_000i64, -840i32..=840).prop_map(|(secs, off)| {
        DateTime::from_timestamp(secs, 0)
            .unwrap()
            .with_timezone(&FixedOffset::east_opt(off * 60).unwrap())
    })
}

fn arb_article(lang: BoxedStrategy<String>) -> impl Strategy<Value = Article> {
    (
        (nasty(), nasty(), nasty(), nasty(), nasty()),
        (
            prop::collection::vec(nasty(), 0..3),
            prop::collection::vec(nasty(), 0..3),
            prop::option::of(nasty()),
            prop::option::of(lang),
        ),
        (arb_date(), arb_date(), nasty(), nasty()),
    )
        .prop_map(
            |(
                (category, slug, title, summary, body),
                (authors, tags, image, lang),
                (d1, d2, link, id),
            )| {
                // Category and slug are path segments: never empty, never '/'.
                let category = format!("c{}", category.replace('/', "_"));
                let slug = format!("s{}", slug.replace('/', "_"));
                Article {
                    entry: herald::article::Entry::new(
                        format!("{category}/{slug}.md").into(),
                        category.into(),
                        slug,
                        (d1.min(d2), d1.max(d2)),
                        id,
                        false,
                    ),
                    title,
                    summary,
                    content_html: Arc::from(body),
                    authors,
                    tags,
                    image,
                    link,
                    lang,
                }
            },
        )
}

/// Renders every page of a catalog holding `articles` and checks that
/// feeds and OPML parse, and that item titles survive (minus what XML forbids).
fn check_well_formed(articles: &[Article]) -> Result<(), TestCaseError> {
    let cfg = Config::parse(
        Path::new("/srv/herald/herald.toml"),
        &format!("{}\n[content]\ndir = '/nonexistent'\n", SITE),
    )
    .unwrap();
    let mut catalog = Catalog::new();
    for a in articles {
        catalog.upsert(a.clone());
    }
    let end = at("9999-12-31T23:59:59Z");
    // Newest first, ties by path, as the feeds list them.
    let pages = render_all(&cfg, &mut catalog, end);
    let mut order: Vec<&Article> = catalog
        .articles()
        .filter_map(|a| a.full().map(|a| &**a))
        .collect();
    order.sort_by(|a, b| b.date.cmp(&a.date).then(a.rel.cmp(&b.rel)));
    let titles: Vec<&str> = order.iter().map(|a| a.title.as_str()).collect();

    for (page, rendered) in pages {
        let file = page.file_path();
        let body = std::str::from_utf8(&rendered.body);
        prop_assert!(body.is_ok(), "{file} is not UTF-8");
        let body = body.unwrap();
        if let PageId::TermFeed(_, _, f) = &page {
            // Tag and author feeds: well-formed feeds (what they list is
            // the taxonomy tests' concern).
            if *f == Format::Json {
                let v: Result<serde_json::Value, _> = serde_json::from_str(body);
                prop_assert!(v.is_ok(), "{file}: {:?}\n{body}", v.err());
            } else {
                let parsed = feed_rs::parser::parse(body.as_bytes());
                prop_assert!(parsed.is_ok(), "{file}: feed-rs: {:?}", parsed.err());
            }
            continue;
        }
        let want_titles: Vec<&str> = match page.category() {
            None => titles.clone(),
            Some(c) => order
                .iter()
                .filter(|a| &*a.category == c)
                .map(|a| a.title.as_str())
                .collect(),
        };
        match &page {
            PageId::Feed(_, Format::Json) => {
                let v: Result<serde_json::Value, _> = serde_json::from_str(body);
                prop_assert!(v.is_ok(), "{file}: {:?}\n{body}", v.err());
                let v = v.unwrap();
                let got: Vec<&str> = v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["title"].as_str().unwrap())
                    .collect();
                let want: Vec<String> = want_titles.iter().map(|t| json_visible(t)).collect();
                prop_assert_eq!(got, want, "{}", file);
            }
            PageId::Feed(_, f) => {
                let doc = roxmltree::Document::parse(body);
                prop_assert!(doc.is_ok(), "{file}: {:?}\n{body}", doc.err());
                let doc = doc.unwrap();
                let got: Vec<String> = match f {
                    Format::Rss => doc
                        .descendants()
                        .filter(|n| n.has_tag_name("item"))
                        .map(|item| {
                            item.children()
                                .find(|c| c.has_tag_name("title"))
                                .map(|t| eol(t.text().unwrap_or_default()))
                                .unwrap_or_default()
                        })
                        .collect(),
                    _ => doc
                        .descendants()
                        .filter(|n| n.tag_name().name() == "entry")
                        .map(|e| {
                            e.children()
                                .find(|c| c.tag_name().name() == "title")
                                .map(|t| eol(t.text().unwrap_or_default()))
                                .unwrap_or_default()
                        })
                        .collect(),
                };
                let want: Vec<String> = want_titles.iter().map(|t| xml_visible(t)).collect();
                prop_assert_eq!(got, want, "{}", file);
                // Every feed also parses as a feed.
                let parsed = feed_rs::parser::parse(body.as_bytes());
                prop_assert!(parsed.is_ok(), "{file}: feed-rs: {:?}", parsed.err());
            }
            PageId::Opml => {
                let doc = roxmltree::Document::parse(body);
                prop_assert!(doc.is_ok(), "{file}: {:?}\n{body}", doc.err());
            }
            PageId::Index
            | PageId::CategoryIndex(_)
            | PageId::TermList(_)
            | PageId::TermIndex(..)
            | PageId::TermFeed(..)
            | PageId::ArticlePage(_)
            | PageId::Variant(..) => {}
        }
    }
    Ok(())
}

/// A language tag as people write them.
fn sane_lang() -> BoxedStrategy<String> {
    "[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})?".boxed()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn feeds_stay_well_formed_whatever_the_article_text(
        articles in prop::collection::vec(arb_article(sane_lang()), 1..3)
    ) {
        check_well_formed(&articles)?;
    }

    #[test]
    fn feeds_stay_well_formed_whatever_the_item_language(
        articles in prop::collection::vec(arb_article(nasty().boxed()), 1..3)
    ) {
        check_well_formed(&articles)?;
    }
}

#[test]
fn control_character_in_lang_leaves_atom_well_formed() {
    let (_tmp, dir) = content_dir();
    let cfg = config(&dir, "", "");
    // TOML escapes make any character easy to type by accident or by a converter.
    write(
        &dir,
        "culture/lang.md",
        "+++\ntitle = \"Language tag with a stray control\"\ndate = \"2025-03-01\"\nlang = \"en\\u0001\"\n+++\nBody\n",
    );
    let (pages, diags) = render_site(&cfg, now());
    // Not a language tag: dropped, with a warning naming the file and key.
    assert!(
        diags.len() == 1
            && diags[0].severity == Severity::Warning
            && diags[0].path.ends_with("culture/lang.md")
            && diags[0].message.contains("lang"),
        "{diags:?}"
    );
    for file in ["atom.xml", "culture/atom.xml"] {
        let body = utf8(&pages[file]);
        assert!(
            roxmltree::Document::parse(body).is_ok(),
            "{file} is not well-formed:\n{body}"
        );
    }
}

// ---------------------------------------------------------------------------
// 7. Determinism

#[test]
fn output_is_byte_identical_across_runs_and_file_creation_orders() {
    let (_tmp, dir) = content_dir();
    let cfg = sample_config(&dir);
    write_sample(&dir);
    let (first, _) = render_site(&cfg, now());
    let (second, _) = render_site(&cfg, now());
    assert!(first == second, "two runs over one directory differ");

    // Same files created in the reverse order, in another directory.
    let (_tmp2, dir2) = content_dir();
    let cfg2 = sample_config(&dir2);
    for (rel, text) in SAMPLE.iter().rev() {
        write(&dir2, rel, text);
    }
    let (third, _) = render_site(&cfg2, now());
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        third.keys().collect::<Vec<_>>()
    );
    for (page, body) in &first {
        assert!(
            third[page] == *body,
            "{page} depends on the directory or creation order"
        );
    }
}

#[test]
fn the_clock_changes_feeds_only_through_the_published_set() {
    let (_tmp, dir) = content_dir();
    let cfg = sample_config(&dir);
    write_sample(&dir);
    // Both instants are after every sample article: the same set is published.
    let (a, _) = render_site(&cfg, at("2025-06-01T00:00:00Z"));
    let (b, _) = render_site(&cfg, at("2031-09-09T09:09:09+09:00"));
    for (page, body) in &a {
        assert!(b[page] == *body, "{page} depends on the clock");
    }
}

// ---------------------------------------------------------------------------
// 8. Drafts and scheduled articles

#[test]
fn drafts_never_appear_anywhere() {
    let (_tmp, dir) = content_dir();
    let cfg = sample_config(&dir);
    write_sample(&dir);
    write(
        &dir,
        "politics/secret.md",
        "+++\ntitle = \"Unpublished draft headline\"\ndate = \"2025-03-20\"\ndraft = true\n+++\nDraft body.\n",
    );
    write(
        &dir,
        "社会/secret.md",
        "---\ntitle: 草稿標題不應出現\ndate: 2025-03-20\ndraft: true\n---\n草稿。\n",
    );
    let (pages, _) = render_site(&cfg, now());
    for (page, body) in &pages {
        let s = utf8(body);
        for leak in ["Unpublished draft headline", "草稿標題不應出現", "secret"] {
            assert!(!s.contains(leak), "{page} shows the draft ({leak})");
        }
    }
    // Drafts count for nothing either: the politics index still says 2.
    assert!(utf8(&pages["politics/index.html"]).contains("2 articles"));
}

#[test]
fn future_article_appears_only_once_its_date_has_passed() {
    let (_tmp, dir) = content_dir();
    let cfg = sample_config(&dir);
    write_sample(&dir);
    write(
        &dir,
        "culture/festival.md",
        "+++\ntitle = \"Harbour festival programme\"\ndate = 2030-06-01T09:00:00+08:00\nauthor = \"Ana Souza\"\n+++\nComing soon.\n",
    );
    let before = at("2030-06-01T00:59:59Z");
    let after = at("2030-06-01T01:00:00Z");
    let (pages, _) = render_site(&cfg, before);
    for (page, body) in &pages {
        assert!(
            !utf8(body).contains("Harbour festival programme"),
            "{page} shows the article before its date"
        );
    }
    let (pages, _) = render_site(&cfg, after);
    for file in [
        "rss.xml",
        "atom.xml",
        "feed.json",
        "culture/rss.xml",
        "culture/atom.xml",
        "culture/feed.json",
        "index.html",
        "culture/index.html",
    ] {
        assert!(
            utf8(&pages[file]).contains("Harbour festival programme"),
            "{file} lacks the article after its date"
        );
    }
    let feed = feed_rs::parser::parse(&pages["culture/atom.xml"][..]).unwrap();
    assert_eq!(
        feed.entries[0].id,
        "tag:harbour.example,2030-06-01:culture/festival"
    );
    assert!(!utf8(&pages["politics/rss.xml"]).contains("Harbour festival"));
}

// ---------------------------------------------------------------------------
// 9. Duplicate ids

#[test]
fn duplicate_ids_keep_both_articles_and_warn_about_the_later_path() {
    let (_tmp, dir) = content_dir();
    let cfg = sample_config(&dir);
    let same = "urn:uuid:0c6e2d14-95b3-4a2e-8f3c-2a7d1c9e5b10";
    write(
        &dir,
        "politics/a-first.md",
        format!(
            "+++\ntitle = \"First holder\"\ndate = \"2025-03-01\"\nid = \"{same}\"\n+++\nOne.\n"
        ),
    );
    write(
        &dir,
        "politics/b-second.md",
        format!(
            "+++\ntitle = \"Second holder\"\ndate = \"2025-03-02\"\nid = \"{same}\"\n+++\nTwo.\n"
        ),
    );
    let mut loaded = load_content(&cfg).unwrap();
    let warnings: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", loaded.diagnostics);
    assert_eq!(warnings[0].path, dir.join("politics/b-second.md"));
    assert!(warnings[0].message.contains(same), "{}", warnings[0]);
    assert!(
        warnings[0].to_string().starts_with(&format!(
            "{}: warning: ",
            dir.join("politics/b-second.md").display()
        )),
        "{}",
        warnings[0]
    );
    assert!(!loaded.diagnostics.iter().any(|d| d.is_error()));

    let pages: BTreeMap<String, Vec<u8>> = render_all(&cfg, &mut loaded.catalog, now())
        .into_iter()
        .map(|(p, r)| (p.file_path(), r.body))
        .collect();
    for file in ["atom.xml", "rss.xml", "feed.json", "politics/atom.xml"] {
        let feed = feed_rs::parser::parse(&pages[file][..]).unwrap();
        let by_title: BTreeMap<String, String> = feed
            .entries
            .iter()
            .map(|e| (e.title.as_ref().unwrap().content.clone(), e.id.clone()))
            .collect();
        assert_eq!(by_title.len(), 2, "{file}: both articles appear");
        assert_eq!(by_title["First holder"], same, "{file}");
        assert_ne!(by_title["Second holder"], same, "{file}");
        assert!(!by_title["Second holder"].is_empty(), "{file}");
    }
    // The derived id is stable: the same in every format and every run.
    let id_in = |file: &str| {
        feed_rs::parser::parse(&pages[file][..])
            .unwrap()
            .entries
            .iter()
            .find(|e| e.title.as_ref().unwrap().content == "Second holder")
            .unwrap()
            .id
            .clone()
    };
    let derived = id_in("atom.xml");
    assert_eq!(id_in("rss.xml"), derived);
    assert_eq!(id_in("feed.json"), derived);
    let (again, _) = render_site(&cfg, now());
    assert!(again["atom.xml"] == pages["atom.xml"]);
}

#[test]
fn every_page_has_the_content_type_of_its_format() {
    let (_tmp, dir) = content_dir();
    let cfg = sample_config(&dir);
    write_sample(&dir);
    let mut loaded = load_content(&cfg).unwrap();
    let pages = render_all(&cfg, &mut loaded.catalog, now());
    let terms = render::term_pages(&cfg, &loaded.catalog, now()).len();
    assert!(terms > 2, "the sample names tags and authors");
    let articles = render::article_pages(&cfg, &loaded.catalog, now()).len();
    assert_eq!(
        pages.len(),
        2 + 3 + 3 * 4 + terms + articles,
        "index, OPML, 3 site feeds, 3 categories x 4, the tag and author lists and pages, \
         the article pages"
    );
    for (page, rendered) in &pages {
        let want = match page.original() {
            PageId::Feed(_, Format::Rss) | PageId::TermFeed(_, _, Format::Rss) => {
                "application/rss+xml; charset=utf-8"
            }
            PageId::Feed(_, Format::Atom) | PageId::TermFeed(_, _, Format::Atom) => {
                "application/atom+xml; charset=utf-8"
            }
            PageId::Feed(_, Format::Json) | PageId::TermFeed(_, _, Format::Json) => {
                "application/feed+json; charset=utf-8"
            }
            PageId::Opml => "text/x-opml; charset=utf-8",
            PageId::Index
            | PageId::CategoryIndex(_)
            | PageId::TermList(_)
            | PageId::TermIndex(..)
            | PageId::ArticlePage(_) => "text/html; charset=utf-8",
            PageId::Variant(..) => unreachable!("original() is never a variant"),
        };
        assert_eq!(rendered.content_type, want, "{page:?}");
        // render() of one page gives what render_all gave.
        assert_eq!(
            &render::render(&cfg, &loaded.catalog, page, now()),
            rendered
        );
    }
}

#[test]
fn articles_outside_every_feed_window_are_indexed_without_their_body_and_restored_when_they_enter_one(
) {
    let (_tmp, dir) = content_dir();
    // Window: max(feeds.limit, 20) = 20 per feed, so of 26 articles the 6
    // oldest are held without a body after the first load.
    let cfg = config(&dir, "", "[feeds]\nlimit = 1\n");
    for i in 0..26 {
        write(
            &dir,
            &format!("city/a{i:02}.md"),
            format!("+++\ntitle = \"Story {i}\"\ndate = \"2025-01-{:02} 10:00\"\n+++\nBody text number {i}.\n", i + 1),
        );
    }
    let mut loaded = load_content(&cfg).unwrap();
    let c = &loaded.catalog;
    assert_eq!(c.len(), 26);
    assert!(c.has_body("city/a25.md"), "the newest keeps its body");
    assert!(
        !c.has_body("city/a00.md"),
        "the oldest is held without its body"
    );
    assert!(
        c.get("city/a00.md").unwrap().full().is_none(),
        "and without its text"
    );
    // Remove the 25 newest: the oldest becomes the one item of the feed.
    for i in 1..26 {
        loaded.catalog.remove(&format!("city/a{i:02}.md"));
    }
    let pages = render_all(&cfg, &mut loaded.catalog, now());
    let rss = pages
        .iter()
        .find(|(p, _)| p.file_path() == "city/rss.xml")
        .map(|(_, r)| String::from_utf8(r.body.clone()).unwrap())
        .unwrap();
    assert!(rss.contains("<title>Story 0</title>"), "{rss}");
    assert!(
        rss.contains("Body text number 0."),
        "the body is read back: {rss}"
    );
    assert!(loaded.catalog.has_body("city/a00.md"));
}

// ---------------------------------------------------------------------------
// The publisher's first reconcile after a quick first load

/// The publisher as the daemon builds it before serving (first load done,
/// nothing watched, no background check yet), and its published snapshot.
fn publisher(cfg: Config) -> (Publisher, Arc<arc_swap::ArcSwap<Snapshot>>) {
    let shared = Arc::new(arc_swap::ArcSwap::from_pointee(Snapshot::default()));
    let (rebind_tx, _) = tokio::sync::mpsc::unbounded_channel();
    let (tx, _rx) = std::sync::mpsc::channel();
    let path = cfg.path.clone();
    let p = Publisher::new(
        cfg,
        path,
        Arc::clone(&shared),
        rebind_tx,
        tx,
        Default::default(),
        None,
    );
    (p, shared)
}

fn served(shared: &arc_swap::ArcSwap<Snapshot>, path: &str) -> String {
    let snap = shared.load();
    let res = snap
        .resources
        .get(path)
        .unwrap_or_else(|| panic!("{path} not served"));
    String::from_utf8(res.identity.body.to_vec()).unwrap()
}

#[test]
fn an_article_changed_while_the_first_load_read_is_applied_by_the_first_reconcile() {
    let (_tmp, content) = content_dir();
    let story = |title: &str, date: &str| {
        format!("+++\ntitle = \"{title}\"\ndate = {date}\n+++\nBody of {title}.\n")
    };
    // Thirty stories: the oldest is outside every feed window, so the
    // first load only indexes it quickly (no body, no stamp).
    for i in 0..30 {
        write(
            &content,
            &format!("city/a{i:02}.md"),
            story(
                &format!("Story {i}"),
                &format!("2024-01-{:02}T08:00:00Z", i + 1),
            ),
        );
    }
    let cfg = config(&content, "", "[feeds]\nlimit = 5\n");
    let (mut p, shared) = publisher(cfg);
    assert!(served(&shared, "/city/rss.xml").contains("<title>Story 29</title>"));
    assert!(!served(&shared, "/city/rss.xml").contains("Story 0"));
    // Edited before any watcher runs: now the newest story of the site.
    write(
        &content,
        "city/a00.md",
        story("Story 0, updated", "2025-06-01T08:00:00Z"),
    );
    p.reconcile();
    let rss = served(&shared, "/city/rss.xml");
    assert!(rss.contains("<title>Story 0, updated</title>"), "{rss}");
    assert!(rss.contains("Body of Story 0, updated."), "{rss}");
    assert!(served(&shared, "/rss.xml").contains("<title>Story 0, updated</title>"));
}

#[test]
fn a_broken_save_of_a_served_article_before_the_background_check_keeps_it() {
    let (_tmp, content) = content_dir();
    let story = |i: usize| {
        format!(
            "+++\ntitle = \"Story {i}\"\ndate = 2024-01-{:02}T08:00:00Z\n+++\nBody of story {i}.\n",
            i + 1
        )
    };
    for i in 0..10 {
        write(&content, &format!("city/a{i:02}.md"), story(i));
    }
    let cfg = config(&content, "", "[feeds]\nlimit = 5\n");
    // Built as the daemon builds it before serving: every file indexed
    // quickly, the feeds' articles read in full, the background check of
    // the rest not yet run.
    let (mut p, shared) = publisher(cfg);
    assert!(served(&shared, "/city/rss.xml").contains("Body of story 9."));
    // A save that breaks the newest story, applied before the check.
    write(
        &content,
        "city/a09.md",
        "+++\ntitle = \"Story 9\ndate = 2024-01-10T08:00:00Z\n+++\nHalf a save.\n",
    );
    p.apply_paths(&["city/a09.md".to_string()]);
    let snap = shared.load();
    let rss = served(&shared, "/city/rss.xml");
    assert!(
        rss.contains("Body of story 9."),
        "the last good version left: {rss}"
    );
    assert!(!rss.contains("Half a save."), "{rss}");
    assert!(
        snap.health
            .errors
            .iter()
            .any(|e| e.contains("city/a09.md:2")),
        "{:?}",
        snap.health.errors
    );
}
