//! The config file as written: serde structs that mirror the TOML tables,
//! deny unknown keys, and keep each value's span for messages.
//! `validate` turns them into typed values.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) site: Option<RawSite>,
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) content: RawContent,
    #[serde(default)]
    pub(super) feeds: RawFeeds,
    #[serde(default)]
    pub(super) text: RawText,
    #[serde(default)]
    pub(super) output: RawOutput,
    #[serde(default)]
    pub(super) categories: BTreeMap<String, RawCategory>,
    #[serde(default)]
    pub(super) websub: RawWebSub,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub(super) title: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) base_url: Option<Spanned<String>>,
    pub(super) link: Option<Spanned<String>>,
    pub(super) language: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) author: String,
    pub(super) id_authority: Option<Spanned<String>>,
    pub(super) article_url: Option<Spanned<String>>,
    pub(super) variants: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) max_age: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContent {
    pub(super) dir: Option<Spanned<String>>,
    pub(super) debounce_ms: Option<Spanned<i64>>,
    pub(super) watch: Option<Spanned<String>>,
    pub(super) poll_interval_ms: Option<Spanned<i64>>,
    pub(super) max_file_bytes: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) ignore: Vec<Spanned<String>>,
    pub(super) index_file: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeeds {
    pub(super) limit: Option<Spanned<i64>>,
    pub(super) formats: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) full_content: Option<bool>,
    pub(super) summary_chars: Option<Spanned<i64>>,
    pub(super) taxonomies: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawText {
    pub(super) byline_prefixes: Option<Vec<String>>,
    pub(super) footer_markers: Option<Vec<String>>,
    pub(super) strip_pinyin: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutput {
    pub(super) dir: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCategory {
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebSub {
    #[serde(default)]
    pub(super) hubs: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) builtin: bool,
    pub(super) state_dir: Option<Spanned<String>>,
    pub(super) lease_seconds: Option<Spanned<i64>>,
    pub(super) max_subscriptions: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) allow_private_callbacks: bool,
}
