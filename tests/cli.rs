//! The `herald` binary: `build` and `check` as an operator runs them.

mod support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{files_under, pages_under, run_command, run_herald, write, write_sample, Run, SITE};

/// A temp dir with `herald.toml` (content dir given relative to it, as
/// operators write it) and the sample content. Returns (guard, config path).
fn site(rest: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("herald.toml");
    let text = format!(
        "{}\n[content]\ndir = \"content\"\n\n[text]\nstrip_pinyin = true\n{rest}",
        SITE
    );
    std::fs::write(&config, text).unwrap();
    write_sample(&tmp.path().join("content"));
    (tmp, config)
}

/// `herald <args> --config <config>`, which must finish within 30 s.
fn herald(args: &[&str], config: &Path) -> Run {
    let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    all.extend([OsStr::new("--config"), config.as_os_str()]);
    let run = run_herald(&all, Duration::from_secs(30), None);
    assert!(
        !run.timed_out,
        "herald {args:?} did not finish:\n{}",
        run.printed()
    );
    run
}

const LAYOUT: &[&str] = &[
    "rss.xml",
    "atom.xml",
    "feed.json",
    "index.html",
    "feeds.opml",
    "politics/rss.xml",
    "politics/atom.xml",
    "politics/feed.json",
    "politics/index.html",
    "culture/rss.xml",
    "culture/atom.xml",
    "culture/feed.json",
    "culture/index.html",
    "社会/rss.xml",
    "社会/atom.xml",
    "社会/feed.json",
    "社会/index.html",
    // Every tag and author of the sample, and their lists.
    "tags/index.html",
    "authors/index.html",
    "tags/budget/rss.xml",
    "tags/budget/atom.xml",
    "tags/budget/feed.json",
    "tags/budget/index.html",
    "tags/council/rss.xml",
    "tags/council/atom.xml",
    "tags/council/feed.json",
    "tags/council/index.html",
    "authors/ana-souza/rss.xml",
    "authors/ana-souza/atom.xml",
    "authors/ana-souza/feed.json",
    "authors/ana-souza/index.html",
    "authors/mei-lin/rss.xml",
    "authors/mei-lin/atom.xml",
    "authors/mei-lin/feed.json",
    "authors/mei-lin/index.html",
    "authors/tom-baker/rss.xml",
    "authors/tom-baker/atom.xml",
    "authors/tom-baker/feed.json",
    "authors/tom-baker/index.html",
    "authors/zhou-wen/rss.xml",
    "authors/zhou-wen/atom.xml",
    "authors/zhou-wen/feed.json",
    "authors/zhou-wen/index.html",
    "authors/李華/rss.xml",
    "authors/李華/atom.xml",
    "authors/李華/feed.json",
    "authors/李華/index.html",
    "authors/陳靜/rss.xml",
    "authors/陳靜/atom.xml",
    "authors/陳靜/feed.json",
    "authors/陳靜/index.html",
];

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn build_writes_every_file_in_the_url_layout() {
    let (tmp, config) = site("");
    let out = tmp.path().join("public");
    let o = herald(&["build", "--out", out.to_str().unwrap()], &config);
    assert_eq!(o.code, Some(0), "{}", o.printed());
    let mut want: Vec<String> = LAYOUT.iter().map(|s| s.to_string()).collect();
    want.sort();
    // Exactly the layout: no temp files left behind by the atomic writes,
    // and beside a page only its compressed copies.
    assert_eq!(pages_under(&out), want);
    for f in files_under(&out) {
        let page = f.trim_end_matches(".gz").trim_end_matches(".br");
        assert!(
            want.iter().any(|w| w == page),
            "{f}: not a page or a copy of one"
        );
    }
    for file in LAYOUT {
        let body = read(out.join(file));
        if file.ends_with(".xml") || file.ends_with(".opml") {
            roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{file}: {e}"));
        } else if file.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(&body)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        } else {
            assert!(body.starts_with("<!DOCTYPE html>"), "{file}");
        }
    }
    let society = read(out.join("社会/rss.xml"));
    assert!(society.contains("公交線路調整"), "{society}");
    assert!(society.contains("新圖書館開放夜間閱覽"), "{society}");
    assert!(!society.contains("Council approves"), "{society}");
    let opml = read(out.join("feeds.opml"));
    assert!(
        opml.contains("https://feeds.harbour.example/%E7%A4%BE%E4%BC%9A/atom.xml"),
        "{opml}"
    );
}

#[test]
fn build_uses_output_dir_from_the_config_relative_to_the_config_file() {
    let (tmp, config) = site("\n[output]\ndir = \"site-out\"\n");
    // Run from elsewhere: the path must not depend on the working directory.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.args(["build", "--config"])
        .arg(&config)
        .current_dir(std::env::temp_dir());
    let o = run_command(cmd, Duration::from_secs(30));
    assert_eq!(o.code, Some(0), "{}", o.printed());
    assert!(tmp.path().join("site-out/社会/feed.json").is_file());
    assert!(tmp.path().join("site-out/rss.xml").is_file());
}

const BROKEN_DRAFT: &str =
    "+++\ntitle = \"Broken budget story\"\ndate = \"2025-03-01\"\ndraft = \"yes\"\n+++\nBody\n";

#[test]
fn build_reports_a_broken_article_and_leaves_it_out() {
    let (tmp, config) = site("");
    let broken = tmp.path().join("content/politics/broken.md");
    write(
        &tmp.path().join("content"),
        "politics/broken.md",
        BROKEN_DRAFT,
    );
    let out = tmp.path().join("public");
    let o = herald(&["build", "--out", out.to_str().unwrap()], &config);
    assert_eq!(o.code, Some(0), "{}", o.printed());
    let line = format!("{}:4:9: error: ", broken.display());
    assert!(
        o.printed().contains(&line),
        "want {line:?} in:\n{}",
        o.printed()
    );
    for file in [
        "rss.xml",
        "politics/rss.xml",
        "politics/atom.xml",
        "index.html",
    ] {
        let body = read(out.join(file));
        assert!(!body.contains("Broken budget story"), "{file}");
        assert!(body.contains("Council approves harbour budget"), "{file}");
    }
}

#[test]
fn strict_build_exits_1_after_writing_the_rest() {
    let (tmp, config) = site("");
    write(
        &tmp.path().join("content"),
        "politics/broken.md",
        BROKEN_DRAFT,
    );
    let out = tmp.path().join("public");
    let o = herald(
        &["build", "--strict", "--out", out.to_str().unwrap()],
        &config,
    );
    assert_eq!(o.code, Some(1), "{}", o.printed());
    assert!(
        o.printed().contains("broken.md:4:9: error: "),
        "{}",
        o.printed()
    );
    for file in LAYOUT {
        assert!(out.join(file).is_file(), "{file} not written");
    }
    assert!(read(out.join("politics/feed.json")).contains("Council approves harbour budget"));

    // Without problems --strict exits 0.
    std::fs::remove_file(tmp.path().join("content/politics/broken.md")).unwrap();
    let o = herald(
        &["build", "--strict", "--out", out.to_str().unwrap()],
        &config,
    );
    assert_eq!(o.code, Some(0), "{}", o.printed());
}

#[test]
fn a_page_that_cannot_be_written_fails_the_build_after_the_rest_are_written() {
    let (tmp, config) = site("");
    // A tag longer than a file name may be (255 bytes here): its folder
    // cannot be made; the daemon serves it, a build cannot write it.
    let long = "L".repeat(300);
    write(
        &tmp.path().join("content"),
        "politics/long-tag.md",
        format!(
            "+++\ntitle = \"Long tag\"\ndate = \"2025-03-01\"\ntags = [\"{long}\"]\n+++\nBody.\n"
        ),
    );
    let out = tmp.path().join("public");
    let o = herald(&["build", "--out", out.to_str().unwrap()], &config);
    assert_eq!(o.code, Some(1), "{}", o.printed());
    let long_key = long.to_lowercase();
    assert!(
        o.stderr.contains(&format!("tags/{long_key}/")) && o.stderr.contains("cannot write"),
        "the failing file is named: {}",
        o.printed()
    );
    assert!(
        o.stderr.contains("could not be written; the rest were"),
        "{}",
        o.printed()
    );
    for file in LAYOUT {
        assert!(out.join(file).is_file(), "{file} not written");
    }
    assert!(read(out.join("politics/feed.json")).contains("Long tag"));
    assert!(out.join("tags/index.html").is_file());
    assert!(out.join("tags/budget/rss.xml").is_file());
}

#[test]
fn check_prints_every_broken_file_with_its_position_and_exits_1() {
    let (tmp, config) = site("");
    let content = tmp.path().join("content");
    let planted: &[(&str, &[u8], &str)] = &[
        ("politics/type.md", BROKEN_DRAFT.as_bytes(), ":4:9: error: "),
        (
            "culture/syntax.md",
            b"+++\ntitle = \"x\" extra\ndate = \"2025-03-01\"\n+++\n",
            ":2:13: error: ",
        ),
        (
            "社会/bad-date.md",
            b"---\ntitle: x\ndate: 2025-02-30\n---\nBody\n",
            ":3:7: error: ",
        ),
        (
            "culture/unterminated.md",
            b"+++\ntitle = \"x\"\ndate = \"2025-03-01\"\n",
            ":1:1: error: ",
        ),
        ("社会/empty.txt", b"", ": error: "),
        ("politics/binary.md", b"\x00\x01\x02+++", ": error: "),
    ];
    for (rel, bytes, _) in planted {
        write(&content, rel, bytes);
    }
    let o = herald(&["check"], &config);
    assert_eq!(o.code, Some(1), "{}", o.printed());
    let lines: Vec<String> = o.printed().lines().map(str::to_string).collect();
    for (rel, _, tail) in planted {
        let prefix = format!("{}{tail}", content.join(rel).display());
        let hits: Vec<&String> = lines.iter().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(
            hits.len(),
            1,
            "want one line starting {prefix:?} in:\n{}",
            lines.join("\n")
        );
        assert!(hits[0].len() > prefix.len(), "no message: {}", hits[0]);
    }
    // Good articles are not reported.
    assert!(!o.printed().contains("council-vote"), "{}", o.printed());
}

#[test]
fn check_exits_0_on_clean_content() {
    let (_tmp, config) = site("");
    let o = herald(&["check"], &config);
    assert_eq!(o.code, Some(0), "{}", o.printed());
    assert!(!o.printed().contains(": error:"), "{}", o.printed());
}

#[test]
fn unknown_config_key_stops_build_with_exit_2_and_its_position() {
    let (tmp, config) = site("");
    let text = std::fs::read_to_string(&config).unwrap();
    // Line 3 of the file gets an unknown key.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, "titel = \"typo\"");
    std::fs::write(&config, lines.join("\n")).unwrap();
    let out = tmp.path().join("public");
    let o = herald(&["build", "--out", out.to_str().unwrap()], &config);
    assert_eq!(o.code, Some(2), "{}", o.printed());
    let err = o.stderr.clone();
    assert!(
        err.contains(&format!("{}:3:1", config.display())),
        "want file:line:col in stderr:\n{err}"
    );
    assert!(err.contains("titel"), "{err}");
    assert!(!out.exists(), "nothing is written with a bad config");
}

#[test]
fn a_language_no_registry_knows_is_refused_in_the_config_and_ignored_in_an_article() {
    // `cn` is the usual slip for `zh`: well-formed, but no language, and
    // feed validators flag it.
    let (tmp, config) = site("");
    write(
        &tmp.path().join("content"),
        "culture/cn.md",
        "+++\ntitle = \"Slip\"\ndate = \"2025-03-01\"\nlang = \"cn\"\n+++\nBody\n",
    );
    let o = herald(&["check"], &config);
    assert_eq!(o.code, Some(0), "{}", o.printed());
    let printed = o.printed();
    assert!(
        printed.lines().any(|l| l.contains("culture/cn.md")
            && l.contains("warning")
            && l.contains("\"cn\"")
            && l.contains("IANA")),
        "{printed}"
    );

    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("language = \"zh-TW\"", "language = \"cn\""),
    )
    .unwrap();
    let o = herald(&["check"], &config);
    assert_eq!(o.code, Some(1), "{}", o.printed());
    let printed = o.printed();
    assert!(
        printed.contains("site.language = \"cn\"") && printed.contains("IANA"),
        "{printed}"
    );
}

#[test]
fn a_category_folder_no_url_can_carry_is_warned_of_and_not_published() {
    // A backslash in a folder name: clients take it for `/`, so no URL
    // reaches such a category's pages.
    let (tmp, config) = site("");
    write(
        &tmp.path().join("content"),
        "back\\slash/story.md",
        "+++\ntitle = \"Behind the slash\"\ndate = \"2025-03-01\"\n+++\nBody\n",
    );
    let o = herald(&["check"], &config);
    assert_eq!(o.code, Some(0), "{}", o.printed());
    let printed = o.printed();
    assert!(
        printed
            .lines()
            .any(|l| l.contains("back\\slash") && l.contains("warning") && l.contains("backslash")),
        "{printed}"
    );
    let out = tmp.path().join("public");
    let o = herald(&["build", "--out", out.to_str().unwrap()], &config);
    assert_eq!(o.code, Some(0), "{}", o.printed());
    let files = files_under(&out);
    assert!(!files.iter().any(|f| f.contains("slash")), "{files:?}");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let opml = std::fs::read_to_string(out.join("feeds.opml")).unwrap();
    let feed = std::fs::read_to_string(out.join("rss.xml")).unwrap();
    for (name, text) in [
        ("index.html", &index),
        ("feeds.opml", &opml),
        ("rss.xml", &feed),
    ] {
        assert!(
            !text.contains("slash") && !text.contains("Behind the slash"),
            "{name}:\n{text}"
        );
    }
}

#[test]
fn build_without_an_output_dir_exits_2_and_says_so() {
    let (tmp, config) = site("");
    let o = herald(&["build"], &config);
    assert_eq!(o.code, Some(2), "{}", o.printed());
    let err = o.stderr.clone();
    assert!(err.contains("--out") && err.contains("output.dir"), "{err}");
    assert_eq!(
        files_under(tmp.path())
            .iter()
            .filter(|f| f.ends_with(".xml"))
            .count(),
        0
    );
}
