//! Test sites: temp content directories and their configs, the sample
//! newsroom, the `tests/fixtures/serve` site, and the ways editors write
//! files (in place, by atomic rename).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use super::{encode_segment, Config, Diagnostic};

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

/// A validated config for `content_dir` (never written to disk; the
/// config "file" would sit beside the folder): [`SITE`], then
/// `site_extra` (more `[site]` keys), then `[content] dir`, then `rest`
/// (other tables).
pub fn config(content_dir: &Path, site_extra: &str, rest: &str) -> Config {
    let path = content_dir.with_file_name("herald.toml");
    let text = format!(
        "{SITE}{site_extra}\n[content]\ndir = '{}'\n{rest}",
        content_dir.display()
    );
    Config::parse(&path, &text).unwrap_or_else(|e| panic!("test config does not parse: {e}"))
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
    let mut loaded = super::load_content(config).expect("content dir loads");
    let pages = super::render_all(config, &mut loaded.catalog, now)
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

// ------------------------------------------------------------ live sites

/// The placeholder base URL of every [`Site::new`]-style site.
pub const LIVE_BASE_URL: &str = "http://127.0.0.1:1";

/// A Markdown article with TOML front matter.
pub fn article(title: &str, date: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = \"{date}\"\n+++\nBody of {title}.\n")
}

/// The config text of a live test site: `[site]` with `title`, `[server]`
/// with `listen` (an in-process daemon is given its own socket, and the
/// binary gets `--listen`; keeping the same value here means a reload does
/// not move the socket), `[content]` with `dir` and a 50 ms debounce plus
/// `content_extra`, then `rest` (other tables).
pub fn config_with(title: &str, listen: &str, content_extra: &str, rest: &str) -> String {
    format!(
        "[site]\ntitle = \"{title}\"\nbase_url = \"{LIVE_BASE_URL}\"\n\n\
         [server]\nlisten = \"{listen}\"\n\n\
         [content]\ndir = \"../content\"\ndebounce_ms = 50\n{content_extra}\n{rest}"
    )
}

/// [`config_with`] listening on 127.0.0.1:0.
pub fn config_text(title: &str, content_extra: &str, rest: &str) -> String {
    config_with(title, "127.0.0.1:0", content_extra, rest)
}

/// A temp directory holding a config file and `content/`.
pub struct Site {
    _tmp: tempfile::TempDir,
    /// The canonical temp directory.
    pub root: PathBuf,
    /// `root/content`.
    pub content: PathBuf,
    /// The config file: `root/cfg/herald.toml` ([`Site::with_config`]) or
    /// `root/herald.toml` ([`Site::serve_fixture`]).
    pub config: PathBuf,
}

impl Default for Site {
    fn default() -> Self {
        Site::new()
    }
}

impl Site {
    /// A site titled "Live" with default settings.
    pub fn new() -> Site {
        Site::with_config(&config_text("Live", "", ""))
    }

    /// A site with this config text in `cfg/herald.toml`.
    pub fn with_config(text: &str) -> Site {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().canonicalize().expect("canonical temp dir");
        let content = root.join("content");
        std::fs::create_dir_all(&content).unwrap();
        std::fs::create_dir_all(root.join("cfg")).unwrap();
        let config = root.join("cfg/herald.toml");
        std::fs::write(&config, text).unwrap();
        Site {
            _tmp: tmp,
            root,
            content,
            config,
        }
    }

    /// A private copy of `tests/fixtures/serve` (`herald.toml`, `content/`).
    pub fn serve_fixture() -> Site {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().canonicalize().expect("canonical temp dir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/serve");
        copy_dir(&fixture, &root);
        Site {
            _tmp: tmp,
            content: root.join("content"),
            config: root.join("herald.toml"),
            root,
        }
    }

    /// `content/rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.content.join(rel)
    }

    /// Creates (or replaces) `content/rel`, creating folders.
    pub fn write(&self, rel: &str, text: &str) {
        write(&self.content, rel, text);
    }

    /// Rewrites `content/rel` in place: open, truncate, write (same inode).
    pub fn edit_in_place(&self, rel: &str, text: &str) {
        edit_in_place(&self.path(rel), text);
    }

    /// Writes `text` to a hidden temp file beside `content/rel`, then
    /// renames it over the target, as VS Code and many tools save.
    pub fn atomic_save(&self, rel: &str, text: &str) {
        atomic_save(&self.path(rel), text);
    }

    /// Rewrites the config file in place.
    pub fn edit_config_in_place(&self, text: &str) {
        edit_in_place(&self.config, text);
    }

    /// Replaces the config file by writing a temp file and renaming it over.
    pub fn save_config_atomically(&self, text: &str) {
        atomic_save(&self.config, text);
    }

    /// Runs `herald build --config <config> --out <out>`, which must succeed.
    pub fn build(&self, out: &Path) {
        let run = super::build(&self.config, out, std::time::Duration::from_secs(60));
        assert!(
            run.code == Some(0),
            "herald build failed:\n{}",
            run.printed()
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Open + truncate + write + close: the same inode keeps the new text.
pub fn edit_in_place(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.write_all(text.as_bytes()).unwrap();
}

/// Temp file `.<name>.tmp` in the same folder, then `rename` over `path`.
pub fn atomic_save(path: &Path, text: &str) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A loopback port that was free a moment ago, for a test that must name
/// one in a config (a daemon that may pick its own is started on port 0).
/// It lies below the kernel's ephemeral range, so no outgoing connection of
/// a test running beside this one can take it before the daemon binds it.
pub fn free_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|&low| low > 12_000)
        .unwrap_or(32_768);
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let call = CALLS.fetch_add(0x9E37_79B9, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut seed = (nanos ^ std::process::id() ^ call) | 1;
    for _ in 0..1000 {
        // xorshift: a different start in each test and process
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let port = 10_000 + (seed % u32::from(low - 10_000)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below {low}");
}

// ------------------------------------------------------------ built output

/// Every file under `dir`, relative to it, `/`-separated, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_str().unwrap();
                out.push(rel.replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every page under `dir` (what [`files_under`] lists but the `.gz` and
/// `.br` files written beside each page).
pub fn pages_under(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| !f.ends_with(".gz") && !f.ends_with(".br"))
        .collect()
}

/// The URL path the daemon serves a file `herald build` wrote at
/// (`/`-separated, relative) under.
pub fn url_of_file(rel: &str) -> String {
    let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
    let mut url = String::from("/");
    for seg in dir.split('/').filter(|s| !s.is_empty()) {
        url.push_str(&encode_segment(seg));
        url.push('/');
    }
    if file != "index.html" {
        url.push_str(file);
    }
    url
}

// ------------------------------------------------------- the serve fixture

/// What `tests/fixtures/serve` holds ([`Site::serve_fixture`]).
pub mod fixture {
    use super::encode_segment;

    /// `site.base_url`: self links, OPML and autodiscovery use it.
    pub const BASE_URL: &str = "http://feeds.herald.test";

    /// The categories (directory names).
    pub const CATEGORIES: &[&str] = &["culture", "politics", "社会"];

    /// Feed file names, in config order.
    pub const FEED_FILES: &[&str] = &["rss.xml", "atom.xml", "feed.json"];

    /// Published articles (a draft and a 2099 article are not).
    pub const PUBLISHED: u64 = 5;

    /// `server.max_age`.
    pub const MAX_AGE: u32 = 123;

    /// Content-Type of a feed file name.
    pub fn feed_content_type(file: &str) -> &'static str {
        match file {
            "rss.xml" => "application/rss+xml; charset=utf-8",
            "atom.xml" => "application/atom+xml; charset=utf-8",
            "feed.json" => "application/feed+json; charset=utf-8",
            other => panic!("not a feed file: {other}"),
        }
    }

    /// Every feed path served, percent-encoded: site-wide first.
    pub fn all_feed_paths() -> Vec<String> {
        let mut out: Vec<String> = FEED_FILES.iter().map(|f| format!("/{f}")).collect();
        for c in CATEGORIES {
            for f in FEED_FILES {
                out.push(format!("/{}/{f}", encode_segment(c)));
            }
        }
        out
    }
}
