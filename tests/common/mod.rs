//! Helpers shared by the integration tests: a config pointing at a temp
//! content directory, file writing, fixed clocks, and whole-site rendering.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use herald::config::Config;
use herald::diagnostics::Diagnostic;

/// The `[site]` table every test config starts with.
pub const SITE: &str = "\
[site]
title = \"港城新聞 Harbour City News\"
description = \"News from Harbour City\"
base_url = \"https://feeds.harbour.example\"
link = \"https://www.harbour.example\"
language = \"zh-TW\"
author = \"港城新聞網\"
id_authority = \"harbour.example\"
";

/// Config text for a content dir: `SITE`, then `site_extra` (more
/// `[site]` keys), then `[content] dir`, then `rest` (other tables).
pub fn config_text(content_dir: &Path, site_extra: &str, rest: &str) -> String {
    format!(
        "{SITE}{site_extra}\n[content]\ndir = '{}'\n{rest}",
        content_dir.display()
    )
}

/// A validated config for `content_dir`; the config "file" sits beside it.
pub fn config(content_dir: &Path, site_extra: &str, rest: &str) -> Config {
    let path = content_dir.with_file_name("herald.toml");
    Config::parse(&path, &config_text(content_dir, site_extra, rest))
        .unwrap_or_else(|e| panic!("test config does not parse: {e}"))
}

/// Writes `bytes` to `root/rel`, creating folders.
pub fn write(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// An RFC 3339 instant.
pub fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A clock after every article of the test sites and before any far-future one.
pub fn now() -> DateTime<FixedOffset> {
    at("2026-01-01T00:00:00Z")
}

/// Loads the content dir and renders every page at `now`: file path in
/// the output layout → bytes, plus the diagnostics.
pub fn render_site(
    config: &Config,
    now: DateTime<FixedOffset>,
) -> (BTreeMap<String, Vec<u8>>, Vec<Diagnostic>) {
    let mut loaded = herald::load::load_content(config).expect("content dir loads");
    let pages = herald::output::render_all(config, &mut loaded.catalog, now)
        .into_iter()
        .map(|(page, r)| (page.file_path(), r.body))
        .collect();
    (pages, loaded.diagnostics)
}

/// A small newsroom: two Markdown formats, a plain-text export, a nested
/// folder, a Chinese category, a file at the top level, and a date tie.
/// Every file carries its own date, so output never depends on mtimes.
pub const SAMPLE: &[(&str, &str)] = &[
    (
        "politics/council-vote.md",
        "+++\ntitle = \"Council approves harbour budget\"\ndate = 2025-03-10T09:30:00+08:00\n\
         authors = [\"Mei Lin\", \"Tom Baker\"]\ntags = [\"budget\", \"council\"]\n+++\n\
         The council voted **23 to 4** for the harbour budget.\n",
    ),
    (
        "politics/old-hall.md",
        "---\ntitle: Old town hall to reopen\ndate: 2025-02-01 10:00\nauthor: Zhou Wen\n\
         id: urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427\n---\n\
         The restored hall opens to visitors in May.\n",
    ),
    (
        "社会/bus-routes.txt",
        "公交線路(xiàn)調整\n三條線路延伸至新區\n\
         市交通局宣布,自4月1日起,5路、12路和K3路公交延伸至東部新區。\n\
         調整後新區居民可直達火車站和市立醫院。\n記者 陳靜\n2025-03-12 14:20:00\n\
         2025-03-12 14:00:00\n港城新聞網 版權所有\n",
    ),
    (
        "社会/library.md",
        "+++\ntitle = \"新圖書館開放夜間閱覽\"\ndate = \"2025-03-10T09:30:00+08:00\"\n\
         author = \"李華\"\n+++\n市圖書館自本週起延長開放時間至晚上十點。\n",
    ),
    (
        "culture/2025/03/opera.md",
        "+++\ntitle = \"Opera night at the harbour\"\ndate = \"2025-03-11 20:00\"\n\
         author = \"Ana Souza\"\nimage = \"stage.png\"\n+++\nA sold-out night.\n",
    ),
    (
        "about.md",
        "+++\ntitle = \"About this feed\"\ndate = \"2025-01-01\"\n+++\n\
         Harbour City News publishes city news.\n",
    ),
];

/// Writes `SAMPLE` under `root`.
pub fn write_sample(root: &Path) {
    for (rel, text) in SAMPLE {
        write(root, rel, text);
    }
}
