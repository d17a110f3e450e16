//! Article parsing plus rendering: whatever bytes a file holds, herald
//! either reports an error or produces feeds that are well-formed XML
//! (RSS, Atom, OPML) and valid JSON — never a panic. The daemon's quick
//! front-matter index agrees with the full parser wherever both accept.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use herald::catalog::Catalog;
use herald::config::{Config, Format};
use herald::render::{self, PageId};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| {
        Config::parse(
            Path::new("/fuzz/herald.toml"),
            "[site]\ntitle = \"Fuzz <&> ]]>\"\nbase_url = \"http://127.0.0.1:1\"\n[text]\nstrip_pinyin = true\n[feeds]\nsummary_chars = 40\n",
        )
        .expect("fuzz config is valid")
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the file kind and category; the rest is the file.
    let Some((&sel, bytes)) = data.split_first() else { return };
    let rel = match sel % 4 {
        0 => "news/a.md",
        1 => "社会/b.txt",
        2 => "c.markdown",
        _ => "x y/z.txt",
    };
    let config = config();
    // The daemon's quick index never panics, and agrees with the full
    // parser on every file both accept.
    let mtime = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").ok();
    let quick = herald::article::quick_index::quick_meta(rel, bytes, mtime, config);
    let Ok(text) = herald::content::read::decode(bytes) else { return };
    let path = Path::new("/fuzz/content").join(rel);
    let Ok(parsed) = herald::article::parse(&path, rel, &text, mtime, config) else { return };
    if let Some(quick) = quick {
        assert_eq!(quick, parsed.article.entry, "quick index differs");
    }
    let mut catalog = Catalog::new();
    catalog.upsert(parsed.article);
    let now = chrono::DateTime::parse_from_rfc3339("9999-12-31T00:00:00Z").expect("valid");
    for page in render::all_pages(config, &catalog) {
        let out = render::render(config, &catalog, &page, now);
        let body = std::str::from_utf8(&out.body).expect("output is UTF-8");
        match page {
            PageId::Feed(_, Format::Json) => {
                serde_json::from_str::<serde_json::Value>(body).expect("JSON feed parses");
            }
            PageId::Feed(..) | PageId::Opml => {
                if let Err(e) = roxmltree::Document::parse(body) {
                    panic!("ill-formed XML for {page:?}: {e}\n{body}");
                }
            }
            _ => {}
        }
    }
});
