//! Raw config → [`Config`]: every value checked once and turned into its
//! typed form, each error naming the key and its position.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSetBuilder};
use url::Url;

use toml::Spanned;

use super::raw::*;
use super::*;
use crate::taxonomy::Taxonomy;

fn int_in<F>(
    v: &Option<Spanned<i64>>,
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

/// `s` as an absolute http or https URL with a host; errors begin with
/// `label` (`site.base_url = "…"`).
fn absolute_http_url<F>(s: &Spanned<String>, label: &str, err_at: &F) -> Result<Url, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let url = Url::parse(s.get_ref().trim()).map_err(|e| {
        err_at(
            Some(s.span()),
            format!("{label} is not an absolute URL: {e}"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(err_at(
            Some(s.span()),
            format!("{label} must be an http:// or https:// URL"),
        ));
    }
    Ok(url)
}

fn parse_http_url<F>(s: &Spanned<String>, key: &str, err_at: &F) -> Result<String, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let label = format!("{key} = {:?}", s.get_ref().trim());
    let url = absolute_http_url(s, &label, err_at)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err_at(
            Some(s.span()),
            format!("{label} must not have a query or fragment"),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

pub(super) fn validate<F>(
    raw: RawConfig,
    path: &Path,
    base: &Path,
    err_at: &F,
) -> Result<Config, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let site = raw
        .site
        .ok_or_else(|| err_at(None, "missing table [site] (site.title is required)".into()))?;
    let site = validate_site(site, err_at)?;
    let server = validate_server(&raw.server, err_at)?;
    let content = validate_content(&raw.content, base, err_at)?;
    let feeds = validate_feeds(&raw.feeds, err_at)?;
    let text = validate_text(raw.text);
    let websub = validate_websub(&raw.websub, base, err_at)?;
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
        site,
        server,
        content,
        feeds,
        text,
        output_dir,
        categories,
        websub,
        view: None,
        views: Default::default(),
    }
    .with_views())
}

/// `[websub]`.
fn validate_websub<F>(raw: &RawWebSub, base: &Path, err_at: &F) -> Result<WebSub, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let mut hubs = Vec::new();
    for hub in &raw.hubs {
        let url = parse_hub_url(hub, err_at)?;
        if !hubs.contains(&url) {
            hubs.push(url);
        }
    }
    let lease = int_in(
        &raw.lease_seconds,
        864_000,
        MIN_LEASE_SECONDS as i64,
        MAX_LEASE_SECONDS as i64,
        "websub.lease_seconds",
        err_at,
    )?;
    let max = int_in(
        &raw.max_subscriptions,
        10_000,
        0,
        10_000_000,
        "websub.max_subscriptions",
        err_at,
    )?;
    let state_dir = match &raw.state_dir {
        Some(s) if s.get_ref().trim().is_empty() => {
            return Err(err_at(
                Some(s.span()),
                "websub.state_dir must not be empty".into(),
            ))
        }
        Some(s) => join_clean(base, s.get_ref().trim()),
        None => join_clean(base, "state"),
    };
    Ok(WebSub {
        hubs,
        builtin: raw.builtin,
        state_dir,
        lease_seconds: lease as u64,
        max_subscriptions: max as usize,
        allow_private_callbacks: raw.allow_private_callbacks,
    })
}

/// A hub's URL: absolute http/https; a query is kept (some hubs take a
/// key there), a fragment is not allowed.
fn parse_hub_url<F>(s: &Spanned<String>, err_at: &F) -> Result<String, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let label = format!("websub.hubs: {:?}", s.get_ref().trim());
    let url = absolute_http_url(s, &label, err_at)?;
    if url.fragment().is_some() {
        return Err(err_at(
            Some(s.span()),
            format!("{label} must not have a fragment"),
        ));
    }
    Ok(url.to_string())
}

/// `[site]`.
fn validate_site<F>(site: RawSite, err_at: &F) -> Result<Site, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
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
            if let Some(why) = language::language_tag_problem(l) {
                return Err(err_at(
                    Some(s.span()),
                    format!("site.language = {l:?} is not a language tag like \"zh-CN\": {why}"),
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

    let mut variants = Vec::new();
    if let Some(list) = &site.variants {
        for v in list.get_ref() {
            let Some(script) = crate::variant::Script::parse(v.get_ref()) else {
                return Err(err_at(
                    Some(v.span()),
                    format!(
                        "site.variants: {:?} is not a variant herald serves (\"zh-Hans\" or \"zh-Hant\")",
                        v.get_ref()
                    ),
                ));
            };
            if !variants.contains(&script) {
                variants.push(script);
            }
        }
    }
    Ok(Site {
        variants,
        title,
        description: site.description.trim().to_string(),
        base_url,
        link,
        language,
        timezone,
        author: Some(site.author.trim().to_string()).filter(|a| !a.is_empty()),
        id_authority,
        article_url,
    })
}

/// `[server]`.
fn validate_server<F>(server: &RawServer, err_at: &F) -> Result<Server, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let listen = match &server.listen {
        Some(s) => s.get_ref().trim().parse::<SocketAddr>().map_err(|_| {
            err_at(
                Some(s.span()),
                format!("server.listen = {:?} is not an address like \"127.0.0.1:8080\" (port 0..=65535)", s.get_ref()),
            )
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    let max_age = int_in(
        &server.max_age,
        300,
        0,
        31_536_000,
        "server.max_age",
        err_at,
    )? as u32;

    Ok(Server { listen, max_age })
}

/// `[content]`; relative paths are resolved against `base`, the config
/// file's folder.
fn validate_content<F>(
    content: &RawContent,
    base: &Path,
    err_at: &F,
) -> Result<Content, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let dir = match &content.dir {
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
        &content.debounce_ms,
        100,
        0,
        60_000,
        "content.debounce_ms",
        err_at,
    )?;
    let watch = match &content.watch {
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
        &content.poll_interval_ms,
        2000,
        50,
        3_600_000,
        "content.poll_interval_ms",
        err_at,
    )?;
    let max_file_bytes = int_in(
        &content.max_file_bytes,
        1_048_576,
        1,
        1 << 30,
        "content.max_file_bytes",
        err_at,
    )? as u64;
    let mut gs = GlobSetBuilder::new();
    let mut ignore_patterns = Vec::new();
    for pat in &content.ignore {
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

    let index_file = match &content.index_file {
        Some(s) if !s.get_ref().trim().is_empty() => Some(join_clean(base, s.get_ref().trim())),
        _ => None,
    };

    Ok(Content {
        dir,
        index_file,
        debounce: Duration::from_millis(debounce_ms as u64),
        watch,
        poll_interval: Duration::from_millis(poll_ms as u64),
        max_file_bytes,
        ignore_patterns,
        ignore,
    })
}

/// `[feeds]`.
fn validate_feeds<F>(feeds: &RawFeeds, err_at: &F) -> Result<Feeds, ConfigError>
where
    F: Fn(Option<Range<usize>>, String) -> ConfigError,
{
    let limit = int_in(&feeds.limit, 50, 1, 10_000, "feeds.limit", err_at)? as usize;
    let taxonomies = match &feeds.taxonomies {
        None => Taxonomy::ALL.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for t in list.get_ref() {
                match Taxonomy::ALL.iter().find(|x| x.name() == t.get_ref().as_str()) {
                    Some(x) => out.push(*x),
                    None => {
                        return Err(err_at(
                            Some(t.span()),
                            format!(
                                "feeds.taxonomies: unknown taxonomy {:?} (expected \"tags\" or \"authors\")",
                                t.get_ref()
                            ),
                        ))
                    }
                }
            }
            Taxonomy::ALL
                .iter()
                .copied()
                .filter(|t| out.contains(t))
                .collect()
        }
    };
    let formats = match &feeds.formats {
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
        &feeds.summary_chars,
        160,
        1,
        100_000,
        "feeds.summary_chars",
        err_at,
    )? as usize;

    Ok(Feeds {
        limit,
        formats,
        taxonomies,
        full_content: feeds.full_content.unwrap_or(true),
        summary_chars,
    })
}

/// `[text]`: the defaults where a key is missing, empty entries dropped.
fn validate_text(text: RawText) -> Text {
    Text {
        byline_prefixes: non_empty_or(text.byline_prefixes, &DEFAULT_BYLINE_PREFIXES),
        footer_markers: non_empty_or(text.footer_markers, &DEFAULT_FOOTER_MARKERS),
        strip_pinyin: text.strip_pinyin.unwrap_or(false),
    }
}

/// The list given, or `default`, without empty strings.
fn non_empty_or(given: Option<Vec<String>>, default: &[&str]) -> Vec<String> {
    given
        .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect())
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}

/// `base` joined with `rel`, without `.` components and without each
/// `folder/..` pair whose folder is not a symbolic link: the default
/// `config/../content` is watched and named in messages as `content`. A
/// link's `..` is its target's parent to the kernel, so that pair stays.
pub(super) fn join_clean(base: &Path, rel: &str) -> PathBuf {
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
