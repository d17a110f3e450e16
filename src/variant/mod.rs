//! Simplified and Traditional Chinese variants (`site.variants`): every
//! feed and page served again under `/zh-hans/` and `/zh-hant/`, its text
//! converted phrase by phrase with OpenCC's dictionaries (through
//! `hanconv`, pure Rust, MIT).
//!
//! A variant is rendered by the same renderers from a *view* of the
//! config ([`crate::config::Config::variant`]): its site and category
//! titles converted, its language the variant's, its `base_url` the
//! variant's root (so self links, feed ids and links between pages are
//! the variant's), and a [`View`] that converts what comes from articles
//! and the catalog at the moment it is shown. URL segments (categories,
//! tags, authors) and item ids are never converted.
//!
//! Converting is the costly part, so each converted article is kept
//! ([`View::article`]) while the catalog holds the article in full and it
//! does not change: an edit converts the edited article once per variant,
//! not every article of every feed it re-renders.

pub mod html;

use std::borrow::Cow;
use std::sync::{Arc, Mutex, Weak};

use rustc_hash::FxHashMap;

use crate::article::markdown::anchor_href;
use crate::article::Article;

/// A script variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Script {
    /// Simplified Chinese, `zh-Hans`.
    Hans,
    /// Traditional Chinese, `zh-Hant`.
    Hant,
}

impl Script {
    /// Every variant, in the order pages list them.
    pub const ALL: [Script; 2] = [Script::Hans, Script::Hant];

    /// The BCP 47 tag: the language of the variant's feeds and pages.
    pub fn tag(self) -> &'static str {
        match self {
            Script::Hans => "zh-Hans",
            Script::Hant => "zh-Hant",
        }
    }

    /// The URL segment the variant is served under.
    pub fn segment(self) -> &'static str {
        match self {
            Script::Hans => "zh-hans",
            Script::Hant => "zh-hant",
        }
    }

    /// The variant's name, written in it.
    pub fn label(self) -> &'static str {
        match self {
            Script::Hans => "简体中文",
            Script::Hant => "繁體中文",
        }
    }

    /// The variant a config value names (`"zh-Hans"`, any case).
    pub fn parse(s: &str) -> Option<Script> {
        Script::ALL
            .into_iter()
            .find(|v| v.tag().eq_ignore_ascii_case(s.trim()))
    }

    /// The variant a URL segment names (`zh-hans`).
    pub fn from_segment(s: &str) -> Option<Script> {
        Script::ALL.into_iter().find(|v| v.segment() == s)
    }

    /// `s` in this script: phrase by phrase, so `頭髮` becomes `头发` and
    /// `乾隆` stays. Text without Han characters comes back borrowed.
    pub fn convert(self, s: &str) -> Cow<'_, str> {
        // Every Han character (and every character the dictionaries
        // map) is outside ASCII.
        if s.is_ascii() {
            return Cow::Borrowed(s);
        }
        let out = match self {
            Script::Hans => hanconv::t2s(s),
            Script::Hant => hanconv::s2t(s),
        };
        if out == s {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(out)
        }
    }

    /// Loads the dictionaries (they load on first use): called at start,
    /// so no request pays for it.
    pub fn warm(self) {
        let _ = self.convert("頭髮后天");
    }
}

/// Converted articles kept before those whose original is gone are
/// swept out (the feed windows hold about one per item).
const SWEEP_AT: usize = 2048;
/// Converted articles kept at most: past this, after a sweep, the store
/// starts afresh.
const KEPT: usize = 8192;

/// What a variant's view of the config adds: the script, where the
/// original lives, and the articles converted so far.
pub struct View {
    /// The variant.
    pub script: Script,
    /// The original `site.base_url` and `site.language`: for `hreflang`
    /// links and for moving permalinks into the variant.
    pub original_base: String,
    /// The original `site.language`.
    pub original_language: String,
    /// Every variant the site serves.
    pub variants: Vec<Script>,
    /// Converted articles by path, with the address of the original they
    /// were made from (a changed article is a new `Arc`).
    converted: Mutex<Converted>,
}

/// Converted articles by path, with the original each was made from. A
/// `Weak` keeps the original's allocation (not its text) while it is
/// held, so a new version can never reuse its address, and tells when
/// the catalog let the original go.
type Converted = FxHashMap<Arc<str>, (Weak<Article>, Arc<Article>)>;

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("script", &self.script)
            .finish_non_exhaustive()
    }
}

impl View {
    /// A view for `script` of a site at `original_base` in `original_language`.
    pub fn new(
        script: Script,
        original_base: &str,
        original_language: &str,
        variants: &[Script],
    ) -> View {
        View {
            script,
            original_base: original_base.to_string(),
            original_language: original_language.to_string(),
            variants: variants.to_vec(),
            converted: Mutex::new(FxHashMap::default()),
        }
    }

    /// The variant's root URL.
    pub fn base(&self) -> String {
        format!("{}/{}", self.original_base, self.script.segment())
    }

    /// `a` as the variant shows it: title, summary and body converted
    /// (the body in its text only), its link moved to the variant's
    /// article page when herald serves one at its permalink, its language
    /// the variant's when it was Chinese. Its id, tags and authors stay
    /// (renderers convert names where they show them; their keys are the
    /// original's).
    pub fn article(&self, a: &Arc<Article>) -> Arc<Article> {
        if let Some((made_from, done)) = self.lock().get(&*a.entry.rel) {
            if std::ptr::eq(made_from.as_ptr(), Arc::as_ptr(a)) {
                return Arc::clone(done);
            }
        }
        let done = Arc::new(self.convert_article(a));
        let mut kept = self.lock();
        if kept.len() >= SWEEP_AT {
            // Articles the catalog no longer holds in full (out of every
            // feed, or changed) are converted again if shown again.
            kept.retain(|_, (original, _)| original.strong_count() > 0);
            if kept.len() >= KEPT {
                kept.clear();
            }
        }
        kept.insert(
            Arc::clone(&a.entry.rel),
            (Arc::downgrade(a), Arc::clone(&done)),
        );
        done
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Converted> {
        self.converted.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn convert_article(&self, a: &Article) -> Article {
        let s = self.script;
        let mut out = a.clone();
        out.title = s.convert(&a.title).into_owned();
        out.summary = s.convert(&a.summary).into_owned();
        out.content_html = Arc::from(html::convert(s, &a.content_html));
        if let Some(rest) = a.link.strip_prefix(&self.original_base) {
            if rest.starts_with('/') {
                out.link = format!("{}{rest}", self.base());
                // Footnote links (`permalink#note`) lead to the notes on
                // this variant's page, as the item's link does.
                let (from, to) = (anchor_href(&a.link), anchor_href(&out.link));
                if out.content_html.contains(&from) {
                    out.content_html = Arc::from(out.content_html.replace(&from, &to));
                }
            }
        }
        if a.lang.as_deref().is_some_and(is_chinese) {
            out.lang = Some(s.tag().to_string());
        }
        out
    }
}

/// Whether a language tag is Chinese (`zh`, `zh-TW`, `zh-Hant-HK`).
pub fn is_chinese(tag: &str) -> bool {
    let primary = tag.split(['-', '_']).next().unwrap_or("");
    primary.eq_ignore_ascii_case("zh")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_many_traps_convert_by_phrase() {
        let hans = |s: &str| Script::Hans.convert(s).into_owned();
        let hant = |s: &str| Script::Hant.convert(s).into_owned();
        assert_eq!(hans("頭髮"), "头发");
        assert_eq!(hans("後天"), "后天");
        assert_eq!(hans("乾隆"), "乾隆");
        assert_eq!(hans("市政府常務會議召開"), "市政府常务会议召开");
        assert_eq!(hant("头发"), "頭髮");
        assert_eq!(hant("皇后"), "皇后");
        assert_eq!(hant("干部"), "幹部");
        // OpenCC's standard Traditional (not Taiwan's 麵).
        assert_eq!(hant("面条"), "麪條");
    }

    #[test]
    fn text_without_han_is_borrowed() {
        assert!(matches!(
            Script::Hans.convert("City budget 2025"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(Script::Hant.convert("發展"), Cow::Borrowed(_)));
    }

    fn article(rel: &str, title: &str) -> Arc<Article> {
        let text = format!("+++\ntitle = \"{title}\"\ndate = \"2025-03-01\"\n+++\n頭髮\n");
        let config = crate::config::Config::parse(
            std::path::Path::new("/x/herald.toml"),
            "[site]\ntitle = \"T\"\n",
        )
        .unwrap();
        let path = std::path::Path::new("/x").join(rel);
        Arc::new(
            crate::article::parse(&path, rel, &text, None, &config)
                .unwrap()
                .article,
        )
    }

    #[test]
    fn a_changed_article_is_converted_again_and_an_unchanged_one_is_not() {
        let view = View::new(Script::Hans, "https://x.example", "zh-TW", &[Script::Hans]);
        let first = article("a/one.md", "會議");
        let a = view.article(&first);
        assert_eq!(a.title, "会议");
        assert!(
            Arc::ptr_eq(&a, &view.article(&first)),
            "kept while unchanged"
        );
        // A new version, even where the old one's memory was: converted anew.
        drop(first);
        let second = article("a/one.md", "後天");
        assert_eq!(view.article(&second).title, "后天");
    }

    #[test]
    fn tags_and_segments() {
        assert_eq!(Script::parse("zh-hans"), Some(Script::Hans));
        assert_eq!(Script::parse("ZH-HANT"), Some(Script::Hant));
        assert_eq!(Script::parse("zh-TW"), None);
        assert_eq!(Script::from_segment("zh-hant"), Some(Script::Hant));
        assert!(is_chinese("zh-TW") && is_chinese("zh") && !is_chinese("en"));
    }
}
