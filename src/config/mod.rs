//! The config file: TOML parsed with serde into raw structs that
//! deny unknown keys, then validated once into typed values (`Url`,
//! `PathBuf`, `Duration`, a time zone, a socket address). The rest of the
//! program never re-checks a string from the config. Errors name the file
//! and the `line:col` of the offending key or value.
//!
//! Reading the file and reacting to its changes is left to `daemon`; this
//! module only turns text into a [`Config`].

pub mod language;
pub mod permalink;
mod raw;
mod validate;
pub mod zone;

pub use permalink::Permalink;

use crate::taxonomy::Taxonomy;
pub use zone::{parse_zone, SiteZone};

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use globset::GlobSet;

/// A config problem, with the file and the position of the key or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// 1-based line and column, when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(
                f,
                "{}:{}:{}: error: {}",
                self.path.display(),
                line,
                col,
                self.message
            ),
            None => write!(f, "{}: error: {}", self.path.display(), self.message),
        }
    }
}

/// The feed formats herald can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// RSS 2.0 at `rss.xml`.
    Rss,
    /// Atom 1.0 at `atom.xml`.
    Atom,
    /// JSON Feed 1.1 at `feed.json`.
    Json,
}

impl Format {
    /// Every format, in the order pages list them.
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The file name the format is served at.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Rss => "rss.xml",
            Format::Atom => "atom.xml",
            Format::Json => "feed.json",
        }
    }

    /// The `Content-Type` of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }

    /// The format whose `Content-Type` this is: whether a response is a feed.
    pub fn of_content_type(content_type: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.content_type() == content_type)
    }

    /// The media type without parameters, for autodiscovery links and OPML.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }

    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            Format::Rss => "RSS",
            Format::Atom => "Atom",
            Format::Json => "JSON Feed",
        }
    }
}

/// How the content directory is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// Kernel events (inotify etc.), falling back to polling.
    Auto,
    /// Polling only (network file systems).
    Poll,
}

/// `[site]`.
#[derive(Debug, Clone)]
pub struct Site {
    /// Feed and page title.
    pub title: String,
    /// Channel description.
    pub description: String,
    /// Public URL of the daemon, without a trailing slash.
    pub base_url: String,
    /// The site's home page (channel link), without a trailing slash.
    pub link: String,
    /// Default language.
    pub language: String,
    /// Zone for dates written without an offset.
    pub timezone: SiteZone,
    /// Default author, when an article names none.
    pub author: Option<String>,
    /// Authority of `tag:` ids.
    pub id_authority: String,
    /// Permalink template, compiled.
    pub article_url: Permalink,
    /// Chinese script variants also served (`site.variants`).
    pub variants: Vec<crate::variant::Script>,
}

impl Site {
    /// The URL path (percent-decoded) at which herald serves the page of
    /// an article with this permalink: when the permalink lies under
    /// `base_url`. `None` for a permalink elsewhere, or one whose path does
    /// not decode to UTF-8.
    pub fn page_path(&self, link: &str) -> Option<String> {
        self.page_path_in(link).map(std::borrow::Cow::into_owned)
    }

    /// [`Site::page_path`], borrowed from `link` when nothing in it is
    /// percent-encoded.
    pub fn page_path_in<'a>(&self, link: &'a str) -> Option<std::borrow::Cow<'a, str>> {
        let rest = link.strip_prefix(self.base_url.as_str())?;
        let bytes = rest.as_bytes();
        if !rest.starts_with('/') || rest.len() < 2 || memchr::memchr2(b'?', b'#', bytes).is_some()
        {
            return None;
        }
        if memchr::memchr(b'%', bytes).is_none() {
            return Some(std::borrow::Cow::Borrowed(rest));
        }
        String::from_utf8(percent_decode(bytes))
            .ok()
            .map(std::borrow::Cow::Owned)
    }
}

/// Whether a decoded URL path can be an article's page: one that names a
/// file under the output folder, and no other. Its segments are all
/// names: none empty but the last (`/a/` is a folder's page), none `.` or
/// `..` (a permalink's `%2F..%2F` decodes to them), no backslash or
/// control character; and it does not end in `.gz` or `.br`, the names of
/// the compressed copies written beside every page.
pub fn is_page_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut segments = rest.split('/').peekable();
    while let Some(s) = segments.next() {
        let last = segments.peek().is_none();
        if (s.is_empty() && !last)
            || s == "."
            || s == ".."
            || s.contains(|c: char| c == '\\' || c.is_control())
        {
            return false;
        }
    }
    !path.ends_with(".gz") && !path.ends_with(".br")
}

/// Percent-decodes `bytes`: `%` and two hex digits give that byte; any
/// other `%` stays as it is (as the `percent_encoding` crate decodes,
/// with a vectorised search for `%` instead of a pass byte by byte).
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: Option<&u8>| (*b? as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'%', &bytes[at..]) {
        let p = at + found;
        out.extend_from_slice(&bytes[at..p]);
        match (hex(bytes.get(p + 1)), hex(bytes.get(p + 2))) {
            (Some(hi), Some(lo)) => {
                // Two hex digits: at most 0xFF.
                out.push((hi * 16 + lo) as u8);
                at = p + 3;
            }
            _ => {
                out.push(b'%');
                at = p + 1;
            }
        }
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct Server {
    /// Address to bind.
    pub listen: SocketAddr,
    /// `Cache-Control: max-age` in seconds.
    pub max_age: u32,
}

/// `[content]`.
#[derive(Debug, Clone)]
pub struct Content {
    /// The content directory, absolute or relative to the working directory.
    pub dir: PathBuf,
    /// Quiet period before a change is applied.
    pub debounce: Duration,
    /// Watch mode.
    pub watch: WatchMode,
    /// Interval of the polling watcher and of the reconcile scan.
    pub poll_interval: Duration,
    /// Files larger than this are an error.
    pub max_file_bytes: u64,
    /// The extra ignore patterns as written.
    pub ignore_patterns: Vec<String>,
    /// The compiled extra ignore patterns.
    pub ignore: GlobSet,
    /// Where the daemon keeps its index between runs (`content.index_file`),
    /// so that a restart serves before reading every file; `None`: not kept.
    pub index_file: Option<PathBuf>,
}

/// `[feeds]`.
#[derive(Debug, Clone)]
pub struct Feeds {
    /// Items per feed.
    pub limit: usize,
    /// Formats served, deduplicated, in `Format::ALL` order.
    pub formats: Vec<Format>,
    /// Whether items carry the whole article.
    pub full_content: bool,
    /// Length of an automatic summary, in characters.
    pub summary_chars: usize,
    /// The groupings besides categories that get pages and feeds, in
    /// `Taxonomy::ALL` order.
    pub taxonomies: Vec<Taxonomy>,
}

/// `[text]`: the plain-text importer.
#[derive(Debug, Clone)]
pub struct Text {
    /// Line prefixes that mark a byline.
    pub byline_prefixes: Vec<String>,
    /// Substrings that mark a footer line.
    pub footer_markers: Vec<String>,
    /// Whether pinyin annotations are removed.
    pub strip_pinyin: bool,
}

/// `[categories.<dir>]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryMeta {
    /// Display title; default the directory name.
    pub title: Option<String>,
    /// Description shown on pages and in the feed.
    pub description: Option<String>,
}

/// `[websub]`: announcing changes to WebSub hubs, and the built-in hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSub {
    /// External hubs pinged whenever a feed changes (absolute http/https URLs).
    pub hubs: Vec<String>,
    /// Whether herald serves its own hub at `{base_url}/websub`.
    pub builtin: bool,
    /// Where the built-in hub keeps its database, resolved.
    pub state_dir: PathBuf,
    /// The lease given when a subscriber asks for none, seconds.
    pub lease_seconds: u64,
    /// Subscriptions in all; more are refused.
    pub max_subscriptions: usize,
    /// Whether callbacks to loopback, private and link-local addresses are allowed.
    pub allow_private_callbacks: bool,
}

/// The shortest lease the built-in hub grants, seconds: shorter requests
/// are raised to it, so no subscriber turns the hub into a
/// re-verification loop.
pub const MIN_LEASE_SECONDS: u64 = 3600;
/// The longest lease the built-in hub grants, seconds (30 days).
pub const MAX_LEASE_SECONDS: u64 = 2_592_000;

impl WebSub {
    /// Whether feeds announce any hub.
    pub fn enabled(&self) -> bool {
        self.builtin || !self.hubs.is_empty()
    }

    /// Every hub feeds name, in order: the external ones, then the
    /// built-in one at `{base_url}/websub`.
    pub fn hub_urls(&self, base_url: &str) -> Vec<String> {
        let mut hubs = self.hubs.clone();
        if self.builtin {
            hubs.push(format!("{base_url}/websub"));
        }
        hubs
    }
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (as given).
    pub path: PathBuf,
    /// `[site]`.
    pub site: Site,
    /// `[server]`.
    pub server: Server,
    /// `[content]`.
    pub content: Content,
    /// `[feeds]`.
    pub feeds: Feeds,
    /// `[text]`.
    pub text: Text,
    /// `[output] dir`, resolved.
    pub output_dir: Option<PathBuf>,
    /// `[categories.*]`, by directory name.
    pub categories: BTreeMap<String, CategoryMeta>,
    /// `[websub]`.
    pub websub: WebSub,
    /// In a variant's view of the config: the variant. `None` in the
    /// config as written.
    pub view: Option<Arc<crate::variant::View>>,
    /// The views of each of `site.variants` (empty in a view).
    pub views: Arc<Vec<Config>>,
}

impl Config {
    /// Reads and validates the config file at `path`.
    ///
    /// Fails when the file cannot be read or when [`Config::parse`] fails.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            position: None,
            message: format!("cannot read config: {e}"),
        })?;
        let text = String::from_utf8(text).map_err(|e| {
            let (line, col) = line_col(
                &String::from_utf8_lossy(e.as_bytes()),
                e.utf8_error().valid_up_to(),
            );
            ConfigError {
                path: path.to_path_buf(),
                position: Some((line, col)),
                message: "config is not valid UTF-8".into(),
            }
        })?;
        Config::parse(path, &text)
    }

    /// Parses and validates config text; `path` names the file in errors
    /// and its directory anchors relative paths.
    ///
    /// Fails on TOML syntax errors, unknown keys, wrong types, missing
    /// required keys and values out of range.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let err_at = |span: Option<Range<usize>>, message: String| ConfigError {
            path: path.to_path_buf(),
            position: span.map(|s| line_col(text, s.start)),
            message,
        };
        if text.trim().is_empty() {
            return Err(err_at(
                None,
                "config file is empty (site.title is required)".into(),
            ));
        }
        let raw: raw::RawConfig =
            toml::from_str(text).map_err(|e| err_at(e.span(), e.message().trim().to_string()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        validate::validate(raw, path, &base, &err_at)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The default byline prefixes (`text.byline_prefixes`).
pub const DEFAULT_BYLINE_PREFIXES: [&str; 5] = ["記者", "记者", "通讯员", "通訊員", "By "];
/// The default footer markers (`text.footer_markers`).
pub const DEFAULT_FOOTER_MARKERS: [&str; 7] = [
    "版權所有",
    "版权所有",
    "ICP",
    "許可證",
    "许可证",
    "舉報",
    "举报",
];

impl Config {
    /// The title of a category: its `[categories.<dir>]` title, else the
    /// directory name (in a variant's view, converted).
    pub fn category_title<'a>(&'a self, dir: &'a str) -> Cow<'a, str> {
        match self.categories.get(dir).and_then(|m| m.title.as_deref()) {
            Some(t) => Cow::Borrowed(t),
            None => self.show(dir),
        }
    }

    /// A name from the content (a tag, an author, a folder) as this view
    /// shows it: converted in a variant's view, else as written.
    pub fn show<'a>(&self, name: &'a str) -> Cow<'a, str> {
        match &self.view {
            Some(v) => v.script.convert(name),
            None => Cow::Borrowed(name),
        }
    }

    /// Every WebSub hub feeds name (the built-in one at the original
    /// site's root, in a variant's view too).
    pub fn hub_urls(&self) -> Vec<String> {
        let base = match &self.view {
            Some(v) => &v.original_base,
            None => &self.site.base_url,
        };
        self.websub.hub_urls(base)
    }

    /// The view of the config for variant `script`, when the site serves it.
    pub fn variant(&self, script: crate::variant::Script) -> Option<&Config> {
        self.views
            .iter()
            .find(|c| c.view.as_ref().is_some_and(|v| v.script == script))
    }

    /// This config as variant `script` shows it: titles and descriptions
    /// converted, the variant's language, `base_url` (and `link`, when it
    /// is the default) at the variant's root.
    fn view_of(&self, script: crate::variant::Script) -> Config {
        let view = crate::variant::View::new(
            script,
            &self.site.base_url,
            &self.site.language,
            &self.site.variants,
        );
        let mut c = self.clone();
        let conv = |s: &str| script.convert(s).into_owned();
        c.site.title = conv(&self.site.title);
        c.site.description = conv(&self.site.description);
        c.site.author = self.site.author.as_deref().map(conv);
        c.site.language = script.tag().to_string();
        if self.site.link == self.site.base_url {
            c.site.link = view.base();
        }
        c.site.base_url = view.base();
        for meta in c.categories.values_mut() {
            meta.title = meta.title.as_deref().map(conv);
            meta.description = meta.description.as_deref().map(conv);
        }
        c.view = Some(Arc::new(view));
        c.views = Arc::new(Vec::new());
        c
    }

    /// Builds the views of `site.variants` (and loads the dictionaries).
    pub(super) fn with_views(mut self) -> Config {
        let views = self
            .site
            .variants
            .iter()
            .map(|s| {
                s.warm();
                self.view_of(*s)
            })
            .collect();
        self.views = Arc::new(views);
        self
    }

    /// The description of a category, if configured.
    pub fn category_description(&self, dir: &str) -> Option<&str> {
        self.categories
            .get(dir)
            .and_then(|m| m.description.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::validate::join_clean;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn page_paths_name_a_file_under_the_output_folder_and_no_other() {
        for ok in [
            "/a.html",
            "/politics/x.html",
            "/a/",
            "/社会/b.html",
            "/a/b/c",
            "/...",
            "/a..b",
        ] {
            assert!(is_page_path(ok), "{ok}");
        }
        for bad in [
            "//etc/pwn.html",
            "/politics/../../pwn.html",
            "/./a.html",
            "/a/..",
            "/a//b.html",
            "/a\\b.html",
            "/a\u{0}b",
            "/politics/rss.xml.gz",
            "/x.html.br",
            "a.html",
        ] {
            assert!(!is_page_path(bad), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn percent_decode_agrees_with_the_percent_encoding_crate(
            text in "([a-f0-9%/é社]|%[0-9a-fA-F]{2}|%[0-9a-zA-Z]?){0,12}"
        ) {
            let want: Vec<u8> = percent_encoding::percent_decode_str(&text).collect();
            prop_assert_eq!(percent_decode(text.as_bytes()), want);
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/srv/herald/config/herald.toml"), text)
    }

    #[test]
    fn minimal_config_gets_every_default() {
        let c = parse("[site]\ntitle = \"T\"\n").unwrap();
        assert_eq!(c.site.base_url, "http://127.0.0.1:8080");
        assert_eq!(c.site.link, "http://127.0.0.1:8080");
        assert_eq!(c.site.language, "zh-CN");
        assert_eq!(c.site.id_authority, "127.0.0.1");
        assert_eq!(c.server.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.server.max_age, 300);
        assert_eq!(c.content.dir, PathBuf::from("/srv/herald/content"));
        assert_eq!(c.content.debounce, Duration::from_millis(100));
        assert_eq!(c.content.watch, WatchMode::Auto);
        assert_eq!(c.content.poll_interval, Duration::from_millis(2000));
        assert_eq!(c.content.max_file_bytes, 1_048_576);
        assert_eq!(c.feeds.limit, 50);
        assert_eq!(c.feeds.taxonomies, Taxonomy::ALL);
        assert_eq!(c.feeds.formats, Format::ALL.to_vec());
        assert!(c.feeds.full_content);
        assert_eq!(c.feeds.summary_chars, 160);
        assert_eq!(c.text.byline_prefixes.len(), 5);
        assert!(!c.text.strip_pinyin);
        assert_eq!(c.output_dir, None);
        assert_eq!(c.site.timezone, SiteZone::Named(chrono_tz::Asia::Shanghai));
    }

    #[test]
    fn unknown_key_is_named_with_its_position() {
        let e = parse("[site]\ntitle = \"T\"\n\n[server]\nlisten = \"127.0.0.1:1\"\nmaxage = 3\n")
            .unwrap_err();
        assert_eq!(e.position, Some((6, 1)), "{e}");
        assert!(e.message.contains("maxage"), "{e}");
        assert!(
            e.to_string()
                .starts_with("/srv/herald/config/herald.toml:6:1: error:"),
            "{e}"
        );
    }

    #[test]
    fn taxonomies_can_be_narrowed_or_turned_off() {
        let c = parse("[site]\ntitle = \"T\"\n[feeds]\ntaxonomies = [\"authors\"]\n").unwrap();
        assert_eq!(c.feeds.taxonomies, [Taxonomy::Authors]);
        let c = parse("[site]\ntitle = \"T\"\n[feeds]\ntaxonomies = []\n").unwrap();
        assert!(c.feeds.taxonomies.is_empty());
    }

    #[test]
    fn bad_values_name_the_key_and_position() {
        let cases = [
            (
                "[site]\ntitle = \"T\"\n[server]\nlisten = \"127.0.0.1:70000\"\n",
                "server.listen",
                4,
            ),
            (
                "[site]\ntitle = \"T\"\ntimezone = \"Mars/Olympus\"\n",
                "site.timezone",
                3,
            ),
            (
                "[site]\ntitle = \"T\"\nbase_url = \"/relative\"\n",
                "site.base_url",
                3,
            ),
            (
                "[site]\ntitle = \"T\"\n[feeds]\nlimit = 0\n",
                "feeds.limit",
                4,
            ),
            (
                "[site]\ntitle = \"T\"\n[feeds]\nformats = [\"rss\", \"rdf\"]\n",
                "feeds.formats",
                4,
            ),
            (
                "[site]\ntitle = \"T\"\n[feeds]\ntaxonomies = [\"tags\", \"topics\"]\n",
                "feeds.taxonomies",
                4,
            ),
            (
                "[site]\ntitle = \"T\"\n[content]\nwatch = \"inotify\"\n",
                "content.watch",
                4,
            ),
            (
                "[site]\ntitle = \"T\"\narticle_url = \"{link}/{cat}/{slug}\"\n",
                "site.article_url",
                3,
            ),
        ];
        for (text, key, line) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains(key), "{key}: {e}");
            assert_eq!(e.position.map(|p| p.0), Some(line), "{key}: {e}");
        }
    }

    #[test]
    fn wrong_type_is_an_error_with_position() {
        let e = parse("[site]\ntitle = \"T\"\n[server]\nmax_age = \"five\"\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(4), "{e}");
    }

    #[test]
    fn empty_and_titleless_configs_are_errors() {
        assert!(parse("").is_err());
        assert!(parse("[server]\nmax_age = 1\n")
            .unwrap_err()
            .message
            .contains("site"));
        assert!(parse("[site]\ndescription = \"x\"\n")
            .unwrap_err()
            .message
            .contains("site.title"));
    }

    #[test]
    fn relative_dirs_lose_dot_dot_except_after_a_symbolic_link() {
        assert_eq!(
            join_clean(Path::new("config"), "../content"),
            PathBuf::from("content")
        );
        assert_eq!(join_clean(Path::new(""), "./news/."), PathBuf::from("news"));
        assert_eq!(
            join_clean(Path::new(""), "../content"),
            PathBuf::from("../content")
        );
        assert_eq!(join_clean(Path::new("cfg"), ".."), PathBuf::from("."));
        assert_eq!(
            join_clean(Path::new("/srv/a"), "/var/www"),
            PathBuf::from("/var/www")
        );
        // cfg-link -> real/cfg: the kernel takes cfg-link/.. to real, so
        // the `..` stays, and the path still names real/content.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("real/cfg")).unwrap();
        std::fs::create_dir_all(tmp.path().join("real/content")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("real/cfg"), tmp.path().join("cfg-link"))
            .unwrap();
        let dir = join_clean(&tmp.path().join("cfg-link"), "../content");
        assert_eq!(dir, tmp.path().join("cfg-link/../content"));
        assert_eq!(
            dir.canonicalize().unwrap(),
            tmp.path().join("real/content").canonicalize().unwrap()
        );
        let real = join_clean(&tmp.path().join("real/cfg"), "../content");
        assert_eq!(real, tmp.path().join("real/content"));
    }

    #[test]
    fn fixed_offsets_and_paths_resolve() {
        let c = parse("[site]\ntitle = \"T\"\ntimezone = \"+05:30\"\n[content]\ndir = \"news\"\n[output]\ndir = \"/var/www\"\n")
            .unwrap();
        assert_eq!(
            c.site.timezone,
            SiteZone::Fixed(chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap())
        );
        assert_eq!(c.content.dir, PathBuf::from("/srv/herald/config/news"));
        assert_eq!(c.output_dir, Some(PathBuf::from("/var/www")));
    }

    #[test]
    fn id_authority_defaults_to_host_of_link() {
        let c = parse("[site]\ntitle = \"T\"\nlink = \"https://news.example.cn/\"\n").unwrap();
        assert_eq!(c.site.link, "https://news.example.cn");
        assert_eq!(c.site.id_authority, "news.example.cn");
    }
}
