//! The config file (SPEC §2): TOML parsed with serde into raw structs that
//! deny unknown keys, then validated once into typed values (`Url`,
//! `PathBuf`, `Duration`, a time zone, a socket address). The rest of the
//! program never re-checks a string from the config. Errors name the file
//! and the `line:col` of the offending key or value.
//!
//! Reading the file and reacting to its changes is left to `daemon`; this
//! module only turns text into a [`Config`].

pub mod language;
pub mod permalink;

pub use permalink::Permalink;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

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

/// The site time zone: an IANA zone or a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SiteZone {
    /// An IANA zone such as `Asia/Shanghai`.
    Named(chrono_tz::Tz),
    /// A fixed offset such as `+08:00`.
    Fixed(FixedOffset),
}

impl SiteZone {
    /// Interprets a naive local time in this zone. Ambiguous times (a DST
    /// fold) take the earlier instant; times in a DST gap take the offset
    /// in force just before the gap.
    pub fn localize(&self, naive: NaiveDateTime) -> DateTime<FixedOffset> {
        match self {
            SiteZone::Fixed(off) => naive_with_offset(naive, *off),
            SiteZone::Named(tz) => {
                let resolved = tz.from_local_datetime(&naive);
                if let Some(dt) = resolved.earliest() {
                    return dt.fixed_offset();
                }
                // In a gap: use the offset an hour before.
                let before = naive - chrono::Duration::hours(1);
                match tz.from_local_datetime(&before).earliest() {
                    Some(dt) => naive_with_offset(naive, dt.offset().fix()),
                    None => naive_with_offset(naive, FixedOffset::east_opt(0).unwrap_or(utc())),
                }
            }
        }
    }
}

use chrono::Offset as _;

fn utc() -> FixedOffset {
    // 0 is always in range for FixedOffset::east_opt; Utc.fix() avoids an unwrap.
    chrono::Utc.fix()
}

fn naive_with_offset(naive: NaiveDateTime, off: FixedOffset) -> DateTime<FixedOffset> {
    match off.from_local_datetime(&naive).single() {
        Some(dt) => dt,
        // A fixed offset always maps a local time to exactly one instant;
        // fall back to treating it as UTC rather than panicking.
        None => DateTime::from_naive_utc_and_offset(naive, off),
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
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| err_at(e.span(), e.message().trim().to_string()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        validate(raw, path, &base, &err_at)
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

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: Option<RawSite>,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    content: RawContent,
    #[serde(default)]
    feeds: RawFeeds,
    #[serde(default)]
    text: RawText,
    #[serde(default)]
    output: RawOutput,
    #[serde(default)]
    categories: BTreeMap<String, RawCategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    title: Option<S<String>>,
    #[serde(default)]
    description: String,
    base_url: Option<S<String>>,
    link: Option<S<String>>,
    language: Option<S<String>>,
    timezone: Option<S<String>>,
    #[serde(default)]
    author: String,
    id_authority: Option<S<String>>,
    article_url: Option<S<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<S<String>>,
    max_age: Option<S<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawContent {
    dir: Option<S<String>>,
    debounce_ms: Option<S<i64>>,
    watch: Option<S<String>>,
    poll_interval_ms: Option<S<i64>>,
    max_file_bytes: Option<S<i64>>,
    #[serde(default)]
    ignore: Vec<S<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFeeds {
    limit: Option<S<i64>>,
    formats: Option<S<Vec<S<String>>>>,
    full_content: Option<bool>,
    summary_chars: Option<S<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawText {
    byline_prefixes: Option<Vec<String>>,
    footer_markers: Option<Vec<String>>,
    strip_pinyin: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    dir: Option<S<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    title: Option<String>,
    description: Option<String>,
}

/// The default byline prefixes (SPEC §2).
pub const DEFAULT_BYLINE_PREFIXES: [&str; 5] = ["記者", "记者", "通讯员", "通訊員", "By "];
/// The default footer markers (SPEC §2).
pub const DEFAULT_FOOTER_MARKERS: [&str; 7] = [
    "版權所有",
    "版权所有",
    "ICP",
    "許可證",
    "许可证",
    "舉報",
    "举报",
];

fn int_in<F>(
    v: &Option<S<i64>>,
    default: i64,
    min: i64,
    max: i64,
    key: &str,
    err_at: &F,
) -> Result<i64, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    match v {
        None => Ok(default),
        Some(s) => {
            let n = *s.get_ref();
            if n < min || n > max {
                Err(err_at(
                    Some(s.span()),
                    format!("{key} = {n} is out of range ({min}..={max})"),
                ))
            } else {
                Ok(n)
            }
        }
    }
}

fn parse_http_url<F>(s: &S<String>, key: &str, err_at: &F) -> Result<String, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let raw = s.get_ref().trim();
    let url = Url::parse(raw).map_err(|e| {
        err_at(
            Some(s.span()),
            format!("{key} = {raw:?} is not an absolute URL: {e}"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(err_at(
            Some(s.span()),
            format!("{key} = {raw:?} must be an http:// or https:// URL"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err_at(
            Some(s.span()),
            format!("{key} = {raw:?} must not have a query or fragment"),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Parses a time zone: an IANA name or a fixed offset `+HH:MM` / `-HH:MM` / `Z`/`UTC`.
pub fn parse_zone(s: &str) -> Option<SiteZone> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Some(SiteZone::Fixed(utc()));
    }
    if let Some(rest) = s
        .strip_prefix('+')
        .map(|r| (1, r))
        .or_else(|| s.strip_prefix('-').map(|r| (-1, r)))
    {
        let (sign, body) = rest;
        let (h, m) = match body.split_once(':') {
            Some((h, m)) => (h, m),
            None if body.len() == 4 => body.split_at(2),
            None => (body, "0"),
        };
        let h: i32 = h.parse().ok()?;
        let m: i32 = m.parse().ok()?;
        if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
            return None;
        }
        return FixedOffset::east_opt(sign * (h * 3600 + m * 60)).map(SiteZone::Fixed);
    }
    s.parse::<chrono_tz::Tz>().ok().map(SiteZone::Named)
}

fn validate<F>(raw: RawConfig, path: &Path, base: &Path, err_at: &F) -> Result<Config, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let site = raw
        .site
        .ok_or_else(|| err_at(None, "missing table [site] (site.title is required)".into()))?;
    let title = match &site.title {
        Some(t) if !t.get_ref().trim().is_empty() => t.get_ref().trim().to_string(),
        Some(t) => {
            return Err(err_at(
                Some(t.span()),
                "site.title must not be empty".into(),
            ))
        }
        None => return Err(err_at(None, "missing key site.title (required)".into())),
    };
    let base_url = match &site.base_url {
        Some(s) => parse_http_url(s, "site.base_url", err_at)?,
        None => "http://127.0.0.1:8080".to_string(),
    };
    let link = match &site.link {
        Some(s) if !s.get_ref().trim().is_empty() => parse_http_url(s, "site.link", err_at)?,
        _ => base_url.clone(),
    };
    let language = match &site.language {
        Some(s) => {
            let l = s.get_ref().trim();
            if !language::is_language_tag(l) {
                return Err(err_at(
                    Some(s.span()),
                    format!("site.language = {l:?} is not a language tag like \"zh-CN\""),
                ));
            }
            l.to_string()
        }
        None => "zh-CN".to_string(),
    };
    let timezone = match &site.timezone {
        Some(s) => parse_zone(s.get_ref()).ok_or_else(|| {
            err_at(
                Some(s.span()),
                format!(
                    "site.timezone = {:?} is not an IANA time zone or an offset like \"+08:00\"",
                    s.get_ref()
                ),
            )
        })?,
        None => SiteZone::Named(chrono_tz::Asia::Shanghai),
    };
    let id_authority = match &site.id_authority {
        Some(s) if !s.get_ref().trim().is_empty() => {
            let a = s.get_ref().trim();
            if !a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.@".contains(c))
            {
                return Err(err_at(
                    Some(s.span()),
                    format!("site.id_authority = {a:?} must be a domain name or an email address"),
                ));
            }
            a.to_string()
        }
        _ => Url::parse(&link)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".into()),
    };
    let article_url = match &site.article_url {
        Some(s) => Permalink::parse(s.get_ref().trim(), &link, &base_url)
            .map_err(|msg| err_at(Some(s.span()), format!("site.article_url: {msg}")))?,
        None => Permalink::parse("{link}/{category}/{slug}.html", &link, &base_url)
            .expect("the default template is valid for any http(s) link"),
    };

    let listen = match &raw.server.listen {
        Some(s) => s.get_ref().trim().parse::<SocketAddr>().map_err(|_| {
            err_at(
                Some(s.span()),
                format!("server.listen = {:?} is not an address like \"127.0.0.1:8080\" (port 0..=65535)", s.get_ref()),
            )
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    let max_age = int_in(
        &raw.server.max_age,
        300,
        0,
        31_536_000,
        "server.max_age",
        err_at,
    )? as u32;

    let dir = match &raw.content.dir {
        Some(s) if s.get_ref().trim().is_empty() => {
            return Err(err_at(
                Some(s.span()),
                "content.dir must not be empty".into(),
            ))
        }
        Some(s) => join_clean(base, s.get_ref().trim()),
        None => join_clean(base, "../content"),
    };
    let debounce_ms = int_in(
        &raw.content.debounce_ms,
        100,
        0,
        60_000,
        "content.debounce_ms",
        err_at,
    )?;
    let watch = match &raw.content.watch {
        None => WatchMode::Auto,
        Some(s) => match s.get_ref().as_str() {
            "auto" => WatchMode::Auto,
            "poll" => WatchMode::Poll,
            other => {
                return Err(err_at(
                    Some(s.span()),
                    format!("content.watch = {other:?} must be \"auto\" or \"poll\""),
                ))
            }
        },
    };
    let poll_ms = int_in(
        &raw.content.poll_interval_ms,
        2000,
        50,
        3_600_000,
        "content.poll_interval_ms",
        err_at,
    )?;
    let max_file_bytes = int_in(
        &raw.content.max_file_bytes,
        1_048_576,
        1,
        1 << 30,
        "content.max_file_bytes",
        err_at,
    )? as u64;
    let mut gs = GlobSetBuilder::new();
    let mut ignore_patterns = Vec::new();
    for pat in &raw.content.ignore {
        let g = Glob::new(pat.get_ref()).map_err(|e| {
            err_at(
                Some(pat.span()),
                format!("content.ignore: bad pattern {:?}: {e}", pat.get_ref()),
            )
        })?;
        gs.add(g);
        ignore_patterns.push(pat.get_ref().clone());
    }
    let ignore = gs
        .build()
        .map_err(|e| err_at(None, format!("content.ignore: {e}")))?;

    let limit = int_in(&raw.feeds.limit, 50, 1, 10_000, "feeds.limit", err_at)? as usize;
    let formats = match &raw.feeds.formats {
        None => Format::ALL.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for f in list.get_ref() {
                let fmt = match f.get_ref().as_str() {
                    "rss" => Format::Rss,
                    "atom" => Format::Atom,
                    "json" => Format::Json,
                    other => {
                        return Err(err_at(
                            Some(f.span()),
                            format!("feeds.formats: unknown format {other:?} (expected \"rss\", \"atom\" or \"json\")"),
                        ))
                    }
                };
                out.push(fmt);
            }
            if out.is_empty() {
                return Err(err_at(
                    Some(list.span()),
                    "feeds.formats must name at least one format".into(),
                ));
            }
            Format::ALL
                .iter()
                .copied()
                .filter(|f| out.contains(f))
                .collect()
        }
    };
    let summary_chars = int_in(
        &raw.feeds.summary_chars,
        160,
        1,
        100_000,
        "feeds.summary_chars",
        err_at,
    )? as usize;

    let text = Text {
        byline_prefixes: raw
            .text
            .byline_prefixes
            .unwrap_or_else(|| {
                DEFAULT_BYLINE_PREFIXES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            })
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
        footer_markers: raw
            .text
            .footer_markers
            .unwrap_or_else(|| {
                DEFAULT_FOOTER_MARKERS
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            })
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
        strip_pinyin: raw.text.strip_pinyin.unwrap_or(false),
    };
    let output_dir = match &raw.output.dir {
        Some(s) if !s.get_ref().trim().is_empty() => Some(join_clean(base, s.get_ref().trim())),
        _ => None,
    };
    let categories = raw
        .categories
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                CategoryMeta {
                    title: v.title.filter(|t| !t.trim().is_empty()),
                    description: v.description.filter(|t| !t.trim().is_empty()),
                },
            )
        })
        .collect();

    Ok(Config {
        path: path.to_path_buf(),
        site: Site {
            title,
            description: site.description.trim().to_string(),
            base_url,
            link,
            language,
            timezone,
            author: Some(site.author.trim().to_string()).filter(|a| !a.is_empty()),
            id_authority,
            article_url,
        },
        server: Server { listen, max_age },
        content: Content {
            dir,
            debounce: Duration::from_millis(debounce_ms as u64),
            watch,
            poll_interval: Duration::from_millis(poll_ms as u64),
            max_file_bytes,
            ignore_patterns,
            ignore,
        },
        feeds: Feeds {
            limit,
            formats,
            full_content: raw.feeds.full_content.unwrap_or(true),
            summary_chars,
        },
        text,
        output_dir,
        categories,
    })
}

/// Checks a permalink template: only `{link}`, `{base_url}`, `{category}`,
/// `{slug}`, `{year}`, `{month}`, `{day}` placeholders.
/// `base` joined with `rel`, without `.` components and without each
/// `folder/..` pair whose folder is not a symbolic link: the default
/// `config/../content` is watched and named in messages as `content`. A
/// link's `..` is its target's parent to the kernel, so that pair stays.
fn join_clean(base: &Path, rel: &str) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let folder = matches!(out.components().next_back(), Some(Component::Normal(_)));
                let link =
                    std::fs::symlink_metadata(&out).is_ok_and(|m| m.file_type().is_symlink());
                if folder && !link {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

impl Config {
    /// The title of a category: its `[categories.<dir>]` title, else the directory name.
    pub fn category_title<'a>(&'a self, dir: &'a str) -> &'a str {
        self.categories
            .get(dir)
            .and_then(|m| m.title.as_deref())
            .unwrap_or(dir)
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
    use super::*;

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
            SiteZone::Fixed(FixedOffset::east_opt(5 * 3600 + 1800).unwrap())
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
