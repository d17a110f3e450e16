//! One article file → one [`Article`]: Markdown with TOML or YAML front
//! matter ([`markdown`], [`front_matter`]), and plain-text exports of news
//! pages ([`text_export`]), with dates in the site time zone ([`dates`])
//! and tag-URI ids ([`id`]). A first load indexes simple files from their
//! first bytes ([`quick_index`]) and checks them in full later.
//!
//! Parsing is pure: [`parse`] takes the text and the file's modification
//! time; [`load`] reads a file (through `content::read`) and then parses.
//! Grouping articles into feeds is `catalog`'s job; turning them into
//! bytes is `render`'s.

pub mod dates;
pub mod front_matter;
pub mod id;
mod load;
pub mod markdown;
pub mod quick_index;
pub mod text_export;
pub mod whitespace;

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

pub use self::load::{load, load_at, load_in, load_meta, parse, parse_meta, Depth};
use crate::content::read::Stamp;
use crate::diagnostics::Diagnostic;

/// What the index needs of every article: its place in the feeds (path,
/// category, dates), its id, slug and draft flag. An article no feed shows
/// is held as its entry alone; an [`Article`] adds what a feed shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to `content.dir`, `/`-separated: the catalog key and
    /// the tie-breaker; shared with the catalog's maps.
    pub rel: Arc<str>,
    /// First directory level; empty for files directly in `content.dir`.
    /// Shared by the articles a loader thread reads from one category.
    pub category: Arc<str>,
    /// URL slug.
    pub slug: String,
    /// Publication time.
    pub date: DateTime<FixedOffset>,
    /// Last significant change.
    pub updated: DateTime<FixedOffset>,
    /// Permanent id (before duplicate resolution, which is the catalog's).
    pub id: String,
    /// Drafts are never published.
    pub draft: bool,
    /// Its tags, a newline, then its authors ([`Entry::tags`],
    /// [`Entry::authors`]), each list joined by newlines (a cleaned name
    /// holds none): one allocation per article, its names by value. Empty
    /// when it names none.
    names: Box<str>,
    /// Bytes of `names` the tags take, up to the newline before the
    /// authors.
    tags_len: u32,
    /// The permalink the front matter gives (`link`, made absolute), when
    /// it gives one; else the permalink is `site.article_url` filled in.
    pub link: Option<Box<str>>,
}

impl Entry {
    /// An entry from its parts; `(date, updated)` together.
    pub fn new(
        rel: Arc<str>,
        category: Arc<str>,
        slug: String,
        (date, updated): (DateTime<FixedOffset>, DateTime<FixedOffset>),
        id: String,
        draft: bool,
    ) -> Entry {
        Entry {
            rel,
            category,
            slug,
            date,
            updated,
            id,
            draft,
            names: Box::default(),
            tags_len: 0,
            link: None,
        }
    }

    /// The entry with the permalink its front matter gives.
    pub fn with_link(mut self, link: Option<&str>) -> Entry {
        self.link = link.map(Box::from);
        self
    }

    /// The article's permalink: the one given, or the template filled in.
    pub fn permalink(&self, site: &crate::config::Site) -> String {
        match &self.link {
            Some(l) => l.to_string(),
            None => site
                .article_url
                .fill(&self.category, &self.slug, &self.date),
        }
    }

    /// The URL path (decoded) of the article's page, when its permalink
    /// lies under `site.base_url`.
    pub fn page(&self, site: &crate::config::Site) -> Option<String> {
        let mut buf = String::new();
        Some(match self.page_in(site, &mut buf)? {
            Cow::Owned(p) => p,
            Cow::Borrowed(p) => p.to_string(),
        })
    }

    /// [`Entry::page`], worked out in `buf` (or borrowed from the entry's
    /// link) rather than in a string of its own: for a caller that wants
    /// the page paths of many entries.
    pub fn page_in<'a>(
        &'a self,
        site: &crate::config::Site,
        buf: &'a mut String,
    ) -> Option<Cow<'a, str>> {
        let page = if let Some(l) = &self.link {
            site.page_path_in(l)
        } else {
            let url = &site.article_url;
            match url.fill_page_into(&site.base_url, buf, &self.category, &self.slug, &self.date) {
                Some(true) => Some(Cow::Borrowed(buf.as_str())),
                Some(false) => None,
                None => {
                    url.fill_into(buf, &self.category, &self.slug, &self.date);
                    let buf: &'a String = buf;
                    site.page_path_in(buf)
                }
            }
        };
        page.filter(|p| crate::config::is_page_path(p))
    }

    /// The entry with its tags and authors, each list cleaned already
    /// (trimmed, whitespace collapsed, repeats dropped).
    pub fn with_names<S: AsRef<str>>(self, tags: &[S], authors: &[S]) -> Entry {
        let size = tags
            .iter()
            .chain(authors)
            .map(|n| n.as_ref().len() + 1)
            .sum();
        self.with_joined(
            size,
            |names| join_names(names, tags),
            |names| join_names(names, authors),
        )
    }

    /// The entry with its tags and authors as written: each name cleaned
    /// as [`whitespace::clean_list`] cleans them (whitespace collapsed,
    /// empty names and repeats dropped), straight into the entry's text.
    pub(crate) fn with_raw_names(self, tags: &[&str], authors: &[&str]) -> Entry {
        let size = tags.iter().chain(authors).map(|n| n.len() + 1).sum();
        self.with_joined(
            size,
            |names| push_cleaned(names, tags),
            |names| push_cleaned(names, authors),
        )
    }

    /// The entry with the names `tags` and then `authors` append (at
    /// most `size` bytes in all, with their newlines).
    fn with_joined(
        mut self,
        size: usize,
        tags: impl FnOnce(&mut String),
        authors: impl FnOnce(&mut String),
    ) -> Entry {
        let mut names = String::with_capacity(size);
        tags(&mut names);
        // An article's names are far shorter than 4 GiB.
        self.tags_len = names.len() as u32;
        names.push('\n');
        authors(&mut names);
        // The newline alone: no names. (Else a length within the
        // capacity: no copy.)
        self.names = if names.len() == 1 {
            Box::default()
        } else {
            names.into_boxed_str()
        };
        self
    }

    /// Tags as the article writes them (trimmed, whitespace collapsed,
    /// repeats dropped).
    pub fn tags(&self) -> Names<'_> {
        Names(&self.names[..self.tags_len as usize])
    }

    /// The names the article gives itself (`author`/`authors`, or a text
    /// export's bylines), cleaned like tags; never the `site.author`
    /// fallback.
    pub fn authors(&self) -> Names<'_> {
        Names(self.names.get(self.tags_len as usize + 1..).unwrap_or(""))
    }
}

/// Appends `list` to `names`, joined by newlines.
fn join_names<S: AsRef<str>>(names: &mut String, list: &[S]) {
    for (i, n) in list.iter().enumerate() {
        if i > 0 {
            names.push('\n');
        }
        debug_assert!(!n.as_ref().contains('\n'), "an uncleaned name");
        names.push_str(n.as_ref());
    }
}

/// Appends the names of `list` to `names`, cleaned: whitespace collapsed,
/// empty names and repeats left out. The list starts at the end of
/// `names`.
fn push_cleaned(names: &mut String, list: &[&str]) {
    // Where each name pushed lies: a repeat is compared with these alone.
    let mut pushed: smallvec::SmallVec<[(usize, usize); 8]> = smallvec::SmallVec::new();
    for raw in list {
        let name = whitespace::collapse_ws_cow(raw);
        if !crate::taxonomy::has_key(&name) || pushed.iter().any(|&(a, b)| names[a..b] == *name) {
            continue;
        }
        if !pushed.is_empty() {
            names.push('\n');
        }
        let start = names.len();
        names.push_str(&name);
        pushed.push((start, names.len()));
    }
}

/// An entry's tags or authors, in order: its names joined by newlines.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a>(&'a str);

impl<'a> Names<'a> {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in order.
    pub fn iter(&self) -> NamesIter<'a> {
        self.into_iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        match self.0 {
            "" => 0,
            s => memchr::memchr_iter(b'\n', s.as_bytes()).count() + 1,
        }
    }
}

impl<'a> IntoIterator for Names<'a> {
    type Item = &'a str;
    type IntoIter = NamesIter<'a>;

    fn into_iter(self) -> NamesIter<'a> {
        // An empty text is no names, not one empty name.
        NamesIter((!self.0.is_empty()).then_some(self.0))
    }
}

/// The names of [`Names`], one by one: the text not yet given, while any.
#[derive(Debug, Clone)]
pub struct NamesIter<'a>(Option<&'a str>);

impl<'a> Iterator for NamesIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0?;
        match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => {
                self.0 = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => self.0.take(),
        }
    }
}

/// An article read in full: its [`Entry`] and what a feed shows of it.
/// Dereferences to its entry, so `article.date` reads the entry's date.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Path, category, slug, dates, id, draft.
    pub entry: Entry,
    /// Title (plain text).
    pub title: String,
    /// Summary (plain text).
    pub summary: String,
    /// The article body as sanitised HTML with absolute URLs.
    pub content_html: Arc<str>,
    /// Author names.
    pub authors: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Absolute URL of a lead image.
    pub image: Option<String>,
    /// Permalink.
    pub link: String,
    /// Item language, when it differs from the site's.
    pub lang: Option<String>,
}

impl std::ops::Deref for Article {
    type Target = Entry;

    fn deref(&self) -> &Entry {
        &self.entry
    }
}

/// An article read in full: the article and any warnings.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The article.
    pub article: Article,
    /// Non-fatal problems.
    pub warnings: Vec<Diagnostic>,
    /// The file's (modification time, size) when [`load`] read it.
    pub stamp: Option<Stamp>,
}

/// How far a file indexed without its body was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Indexed from its first bytes by [`quick_index`]: not checked yet;
    /// the full check may still reject the file.
    Quick,
    /// Every check made; only the body was not rendered.
    Checked,
}

/// A file indexed without its body: its entry and, once checked, its
/// warnings.
#[derive(Debug, Clone)]
pub struct Indexed {
    /// The index entry.
    pub entry: Entry,
    /// Quick or checked.
    pub phase: Phase,
    /// Non-fatal problems (none before the check).
    pub warnings: Vec<Diagnostic>,
    /// The file's (modification time, size) when it was read; `None` for
    /// a quick read that indexed the file from one `read` without `fstat`.
    pub stamp: Option<Stamp>,
}

/// What [`load_at`] read, by [`Depth`].
#[derive(Debug, Clone)]
pub enum Reading {
    /// Indexed without the body ([`Depth::Quick`], [`Depth::Meta`]).
    Indexed(Indexed),
    /// Read in full ([`Depth::Full`]).
    Full(Parsed),
}

impl Reading {
    /// The index entry, whichever way the file was read.
    pub fn entry(&self) -> &Entry {
        match self {
            Reading::Indexed(i) => &i.entry,
            Reading::Full(p) => &p.article.entry,
        }
    }

    /// The file's warnings.
    pub fn warnings(&self) -> &[Diagnostic] {
        match self {
            Reading::Indexed(i) => &i.warnings,
            Reading::Full(p) => &p.warnings,
        }
    }

    /// The file's stamp, when it was taken.
    pub fn stamp(&self) -> Option<Stamp> {
        match self {
            Reading::Indexed(i) => i.stamp,
            Reading::Full(p) => p.stamp,
        }
    }
}

/// A category's name as articles hold it: one allocation per run of
/// files from the same category on a thread (a folder's files are read
/// together), not one per article.
pub(crate) fn category_name(category: &str) -> Arc<str> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<Arc<str>>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some(c) if **c == *category => Arc::clone(c),
        _ => Arc::clone(last.insert(Arc::from(category))),
    })
}

#[cfg(test)]
mod tests {
    use super::dates::parse_date;
    use super::whitespace::truncate_chars;
    use super::*;
    use crate::config::Config;
    use crate::content::read::decode;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    /// Sites whose templates put pages in every way under `base_url` or
    /// not: the template's text alone, a `{link}` under it or beside it,
    /// `%`, `?` or `#` in the text, a `{category}` at the start.
    fn page_sites() -> Vec<Config> {
        [
            ("https://feeds.example.cn", "https://feeds.example.cn", "{link}/{category}/{slug}.html"),
            ("https://news.example.cn", "https://feeds.example.cn", "{link}/{category}/{slug}.html"),
            ("https://news.example.cn", "https://feeds.example.cn", "{base_url}/{year}/{month}/{day}/{category}/{slug}"),
            ("https://feeds.example.cn/a", "https://feeds.example.cn", "{link}/{category}-{slug}.html"),
            ("https://feeds.example.cn", "https://feeds.example.cn/a", "{link}/{category}/{slug}.html"),
            ("https://feeds.example.cn", "https://feeds.example.cn", "{base_url}/%E6%96%B0/{category}/{slug}"),
            ("https://feeds.example.cn", "https://feeds.example.cn", "{base_url}/{slug}?c={category}"),
            ("https://feeds.example.cn", "https://feeds.example.cn", "{base_url}/{category}#{slug}"),
            ("https://feeds.example.cn", "https://feeds.example.cn", "{base_url}{category}/{slug}"),
            ("https://feeds.example.cn", "https://feeds.example.cn", "{base_url}/{category}"),
        ]
        .into_iter()
        .map(|(link, base, template)| {
            let text = format!(
                "[site]\ntitle = \"T\"\nlink = \"{link}\"\nbase_url = \"{base}\"\narticle_url = \"{template}\"\n"
            );
            Config::parse(Path::new("/cfg/herald.toml"), &text).unwrap()
        })
        .collect()
    }

    proptest! {
        #[test]
        fn page_paths_equal_the_decoded_permalinks_under_base_url(
            category in "(|[a-z]{1,3}|社会|a b|%41|a/b|[?#%])",
            slug in "([a-z0-9]{0,4}|新闻 稿|%2F|x?y|#|%|~._-)",
            day in 1u32..28,
            link in proptest::option::of("(https://feeds.example.cn/x/%E6%96%B0|https://other.example/p|https://feeds.example.cn/)"),
        ) {
            let date = DateTime::parse_from_rfc3339(&format!("2025-03-{day:02}T23:30:00+08:00")).unwrap();
            let rel = if category.is_empty() { format!("{slug}.md") } else { format!("{category}/{slug}.md") };
            let entry = Entry::new(rel.into(), category.as_str().into(), slug.clone(), (date, date), "id".into(), false)
                .with_link(link.as_deref());
            for config in page_sites() {
                let site = &config.site;
                // (Only a path that names a file under the output folder.)
                let want = site
                    .page_path(&entry.permalink(site))
                    .filter(|p| crate::config::is_page_path(p));
                let mut buf = String::from("left over");
                let got = entry.page_in(site, &mut buf).map(Cow::into_owned);
                prop_assert_eq!(&got, &want, "{}", site.article_url.as_str());
                prop_assert_eq!(entry.page(site), want);
            }
        }
    }

    /// A site config for article tests, with `extra` appended to `[site]`.
    pub(super) fn config(extra: &str) -> Config {
        let text = format!(
            "[site]\ntitle = \"Test News\"\nlink = \"https://news.example.cn\"\nbase_url = \"https://feeds.example.cn\"\n{extra}"
        );
        Config::parse(Path::new("/cfg/herald.toml"), &text).unwrap()
    }

    fn md(rel: &str, text: &str) -> Result<Parsed, Diagnostic> {
        parse(&Path::new("/c").join(rel), rel, text, None, &config(""))
    }

    /// An entry with no tags or authors yet.
    fn nameless_entry() -> Entry {
        let date = parse_date("2025-01-02", &config("").site.timezone).unwrap();
        Entry::new(
            Arc::from("a/b.md"),
            Arc::from("a"),
            "b".into(),
            (date, date),
            "id".into(),
            false,
        )
    }

    proptest! {
        #[test]
        fn raw_names_are_cleaned_as_clean_list_cleans_them(
            tags in proptest::collection::vec("[ a\t财\u{3000}B]{0,4}", 0..6),
            authors in proptest::collection::vec("[ a\t财\u{3000}B]{0,4}", 0..6),
        ) {
            let entry = nameless_entry();
            let raw_tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            let raw_authors: Vec<&str> = authors.iter().map(String::as_str).collect();
            let got = entry.clone().with_raw_names(&raw_tags, &raw_authors);
            let want = entry.with_names(
                &whitespace::clean_list(tags.clone()),
                &whitespace::clean_list(authors.clone()),
            );
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn an_entry_gives_back_its_tags_and_authors_whichever_list_is_empty() {
        let entry = nameless_entry();
        let lists: [(&[&str], &[&str]); 5] = [
            (&[], &[]),
            (&["EV", "财政 预算"], &[]),
            (&[], &["林金彥", "楊光"]),
            (&["EV"], &["Jane Doe"]),
            (&["a", "b", "c"], &["d"]),
        ];
        for (tags, authors) in lists {
            let e = entry.clone().with_names(tags, authors);
            assert_eq!(e.tags().iter().collect::<Vec<_>>(), tags);
            assert_eq!(e.authors().iter().collect::<Vec<_>>(), authors);
            assert_eq!(
                (e.tags().len(), e.tags().is_empty()),
                (tags.len(), tags.is_empty())
            );
            assert_eq!(e.authors().len(), authors.len());
        }
    }

    #[test]
    fn toml_and_yaml_front_matter_give_the_same_article() {
        let toml = "+++\ntitle = \"Hello\"\ndate = 2025-02-27T18:07:24+08:00\nauthors = [\"A\", \"B\"]\ntags = [\"x\"]\n+++\nBody *text*.\n";
        let yaml = "---\ntitle: Hello\ndate: \"2025-02-27T18:07:24+08:00\"\nauthors: [A, B]\ntags:\n  - x\n---\nBody *text*.\n";
        let a = md("news/hello.md", toml).unwrap().article;
        let b = md("news/hello.md", yaml).unwrap().article;
        assert_eq!(a, b);
        assert_eq!(a.title, "Hello");
        assert_eq!(a.authors, vec!["A", "B"]);
        assert_eq!(&*a.content_html, "<p>Body <em>text</em>.</p>\n");
        assert_eq!(a.summary, "Body text.");
    }

    #[test]
    fn a_null_in_a_yaml_list_of_names_names_nobody() {
        let yaml = "---\ntitle: Hello\ndate: 2025-02-27\nauthors: [null, \"Real One\", ~]\n\
                    tags:\n  - ~\n  - \"null\"\n  - x\n---\nBody.\n";
        let a = md("news/hello.md", yaml).unwrap().article;
        assert_eq!(a.authors, vec!["Real One"]);
        // A quoted "null" is the text.
        assert_eq!(a.tags, vec!["null", "x"]);
    }

    #[test]
    fn bom_and_crlf_are_tolerated() {
        let t = "\u{feff}+++\r\ntitle = \"T\"\r\ndate = \"2025-01-01\"\r\n+++\r\nBody\r\n";
        let a = md("a/b.md", t).unwrap().article;
        assert_eq!(a.title, "T");
        assert_eq!(a.date.to_rfc3339(), "2025-01-01T00:00:00+08:00");
    }

    #[test]
    fn every_date_form_is_read_with_the_site_zone_for_naive_ones() {
        let z = config("").site.timezone;
        let cases = [
            ("2025-02-27T18:07:24+08:00", "2025-02-27T18:07:24+08:00"),
            ("2025-02-27T10:07:24Z", "2025-02-27T10:07:24+00:00"),
            ("2025-02-27 18:07:24", "2025-02-27T18:07:24+08:00"),
            ("2025-02-27 18:07", "2025-02-27T18:07:00+08:00"),
            ("2025-02-27", "2025-02-27T00:00:00+08:00"),
            ("2025-02-27T18:07:24", "2025-02-27T18:07:24+08:00"),
            // A leap second is the second before it.
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59+00:00"),
            ("2016-12-31 23:59:60.5", "2016-12-31T23:59:59.500+08:00"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_date(input, &z).unwrap().to_rfc3339(), want, "{input}");
        }
        let ny = config("timezone = \"America/New_York\"\n").site.timezone;
        assert_eq!(
            parse_date("2025-07-01 12:00", &ny).unwrap().to_rfc3339(),
            "2025-07-01T12:00:00-04:00"
        );
        assert!(parse_date("2025-02-30", &z).is_err());
        assert!(parse_date("10000-01-01", &z).is_err());
        assert!(parse_date("yesterday", &z).is_err());
    }

    #[test]
    fn toml_local_date_and_local_datetime_take_site_zone() {
        let a = md("a/b.md", "+++\ntitle = \"T\"\ndate = 2025-02-27\n+++\n")
            .unwrap()
            .article;
        assert_eq!(a.date.to_rfc3339(), "2025-02-27T00:00:00+08:00");
        let a = md(
            "a/b.md",
            "+++\ntitle = \"T\"\ndate = 2025-02-27T08:00:00\n+++\n",
        )
        .unwrap()
        .article;
        assert_eq!(a.date.to_rfc3339(), "2025-02-27T08:00:00+08:00");
    }

    #[test]
    fn front_matter_errors_carry_file_line_and_column() {
        let e = md(
            "p/x.md",
            "+++\ntitle = \"T\"\ndate = \"2025-01-01\"\ndraft = \"yes\"\n+++\n",
        )
        .unwrap_err();
        assert_eq!(e.position, Some((4, 9)), "{e}");
        assert_eq!(e.path, PathBuf::from("/c/p/x.md"));
        let e = md("p/x.md", "---\ntitle: T\ndate: 2025-01-01\ntags: [a\n---\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(5), "{e}");
        let e = md("p/x.md", "+++\ntitle = \"T\"\ndate = \"2025-13-01\"\n+++\n").unwrap_err();
        assert_eq!(e.position, Some((3, 8)), "{e}");
        assert!(
            e.to_string()
                .starts_with("/c/p/x.md:3:8: error: invalid date"),
            "{e}"
        );
        let e = md("p/x.md", "+++\ntitle = \"T\"\n").unwrap_err();
        assert!(e.message.contains("unterminated"), "{e}");
        let e = md("p/x.md", "+++\ndate = \"2025-01-01\"\n+++\nno heading\n").unwrap_err();
        assert!(e.message.contains("title"), "{e}");
        let e = md("p/x.md", "+++\ntitle = \"T\"\n+++\n").unwrap_err();
        assert!(e.message.contains("date"), "{e}");
        let e = md("p/x.md", "  \n").unwrap_err();
        assert_eq!(e.to_string(), "/c/p/x.md: error: empty file");
    }

    #[test]
    fn first_heading_becomes_title_and_leaves_the_body() {
        let a = md(
            "a/b.md",
            "+++\ndate = \"2025-01-01\"\n+++\n# Big *news*\n\nText.\n",
        )
        .unwrap()
        .article;
        assert_eq!(a.title, "Big news");
        assert_eq!(&*a.content_html, "<p>Text.</p>\n");
    }

    #[test]
    fn relative_urls_become_absolute_and_scripts_are_removed() {
        let t = "+++\ntitle = \"T\"\ndate = \"2025-01-01\"\nimage = \"img/lead.png\"\n+++\n\
                 [map](map.html) ![p](../p.png) [bad](javascript:alert(1)) note[^n] ![a ding](vbscript:x) ![none]() ![self](#top) \
                 ![outer ![inner](in.png) end](javascript:y) <desk@example.com> [map](map.html)\n\n[^n]: The note.\n\n\
                 <p onclick=\"x()\">Hi <a href=\"rel.html\">r</a> <a href=\"javascript:x()\">js</a></p><script>alert(1)</script>\n\n\
                 <p><time datetime=\"2025-01-01\">New Year</time>, <data value=\"5\">five</data></p>\n";
        let a = md("city/b.md", t).unwrap().article;
        let h = &*a.content_html;
        assert!(
            h.contains("href=\"https://news.example.cn/city/map.html\""),
            "{h}"
        );
        assert!(h.contains("src=\"https://news.example.cn/p.png\""), "{h}");
        assert!(
            h.contains("href=\"https://news.example.cn/city/rel.html\""),
            "{h}"
        );
        assert!(!h.contains("javascript"), "{h}");
        assert!(
            h.contains("href=\"https://news.example.cn/city/b.html#n\""),
            "{h}"
        );
        assert!(!h.contains("href=\"#"), "{h}");
        assert!(!h.contains("onclick"), "{h}");
        assert!(!h.contains("<script"), "{h}");
        // A refused URL leaves the link's text, and nothing that HTML
        // allows only beside an href.
        assert!(h.contains("<a>js</a>"), "{h}");
        // Kept elements keep the attribute HTML requires of them.
        assert!(
            h.contains("<time datetime=\"2025-01-01\">New Year</time>"),
            "{h}"
        );
        assert!(h.contains("<data value=\"5\">five</data>"), "{h}");
        // In Markdown, such a link or image is its text alone: not a link
        // to the article itself, not an image without a source.
        assert!(h.contains("> bad note"), "{h}");
        assert!(h.contains("> a ding none self "), "{h}");
        // An image in a refused image's alt text keeps its own alt text.
        assert!(
            h.contains("outer <img src=\"https://news.example.cn/city/in.png\" alt=\"inner\"> end"),
            "{h}"
        );
        assert!(h.contains("href=\"mailto:desk@example.com\""), "{h}");
        assert!(!h.contains("src=\"\""), "{h}");
        assert_eq!(
            a.image.as_deref(),
            Some("https://news.example.cn/city/img/lead.png")
        );
    }

    #[test]
    fn footnote_labels_become_ids_and_fragments_html_accepts() {
        let t = "+++\ntitle = \"T\"\ndate = \"2025-01-01\"\n+++\n\
                 One[^a b], two[^50%], three[^注], four[^a-b], five[^50%25].\n\n\
                 [^a b]: Spaced.\n\n[^50%]: Percent.\n\n[^注]: CJK.\n\n[^a-b]: Dashed.\n\n\
                 [^50%25]: Encoded.\n";
        let a = md("city/b.md", t).unwrap().article;
        let h = &*a.content_html;
        // Distinct labels keep distinct ids.
        for (href, id) in [
            ("a%20b", "a%20b"),
            ("50%25", "50%25"),
            ("注", "注"),
            ("a-b", "a-b"),
            ("50%2525", "50%2525"),
        ] {
            assert!(
                h.contains(&format!(
                    "href=\"https://news.example.cn/city/b.html#{href}\""
                )),
                "{href}: {h}"
            );
            assert!(h.contains(&format!("id=\"{id}\"")), "{id}: {h}");
        }
    }

    #[test]
    fn summaries_cut_at_character_boundaries() {
        assert_eq!(truncate_chars("新聞😀abc", 3), "新聞😀…");
        assert_eq!(truncate_chars("short", 10), "short");
        let body = "😀".repeat(200);
        let a = md(
            "a/b.md",
            &format!("+++\ntitle = \"T\"\ndate = \"2025-01-01\"\n+++\n{body}\n"),
        )
        .unwrap()
        .article;
        assert_eq!(a.summary.chars().count(), 161);
        assert!(a.summary.ends_with('…'));
    }

    #[test]
    fn encodings_are_detected() {
        let s = "標題：经济新闻";
        assert_eq!(decode(s.as_bytes()).unwrap(), s);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(s.as_bytes());
        assert_eq!(decode(&bom).unwrap(), s);
        let mut le = vec![0xFF, 0xFE];
        le.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(decode(&le).unwrap(), s);
        let mut be = vec![0xFE, 0xFF];
        be.extend(s.encode_utf16().flat_map(|u| u.to_be_bytes()));
        assert_eq!(decode(&be).unwrap(), s);
        let (gbk, _, bad) = encoding_rs::GBK.encode("经济新闻：市场回暖");
        assert!(!bad);
        assert_eq!(decode(&gbk).unwrap(), "经济新闻：市场回暖");
        assert!(decode(b"abc\0def").is_err());
        assert!(decode(&[0x81, 0x20, 0xFF, 0xFF]).is_err());
    }

    #[test]
    fn permalink_and_id_percent_encode_chinese_categories() {
        let a = md(
            "社会/新闻 1.md",
            "+++\ntitle = \"T\"\ndate = \"2025-01-01\"\n+++\n",
        )
        .unwrap()
        .article;
        assert_eq!(
            a.link,
            "https://news.example.cn/%E7%A4%BE%E4%BC%9A/%E6%96%B0%E9%97%BB%201.html"
        );
        assert_eq!(
            a.id,
            "tag:news.example.cn,2025-01-01:%E7%A4%BE%E4%BC%9A/%E6%96%B0%E9%97%BB%201"
        );
    }

    #[test]
    fn unknown_front_matter_keys_are_warned_once_each_at_their_line() {
        let warned = |rel: &str, text: &str| -> Vec<String> {
            md(rel, text)
                .unwrap()
                .warnings
                .iter()
                .map(|d| d.to_string())
                .collect()
        };
        // A TOML datetime is read as a date, not reported as a key; a
        // table of unknown keys is one unknown key.
        let toml = "+++\ntitle = \"T\"\nzeta = 1\ndate = 2025-03-05T11:42:10+08:00\n\
                    tags = [\"a\", \"b\"]\n[extra]\nx = { y = 1 }\n+++\nbody\n";
        let w = warned("politics/t.md", toml);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("unknown key `extra` ignored"), "{w:?}");
        assert_eq!(
            w[1],
            "/c/politics/t.md:3:8: warning: front matter: unknown key `zeta` ignored"
        );
        // A key repeated (YAML allows it) is warned about once.
        let yaml = "---\ntitle: T\ndate: 2025-03-05 11:42\nmood: calm\nnested:\n  a: [1, 2]\n\
                    authors: [A, B]\nmood: calmer\n---\nbody\n";
        assert_eq!(
            warned("politics/y.md", yaml),
            [
                "/c/politics/y.md:4:7: warning: front matter: unknown key `mood` ignored",
                "/c/politics/y.md:5:8: warning: front matter: unknown key `nested` ignored",
            ]
        );
        let known = "+++\ntitle = \"T\"\ndate = 2025-03-05\nupdated = 2025-03-06T08:00:00Z\n\
                     author = \"A\"\ndraft = false\n+++\n";
        assert_eq!(warned("politics/k.md", known), Vec::<String>::new());
        // A wrong type is still an error at its value.
        let e = md("politics/e.md", "+++\ntitle = 3\ndate = 2025-03-05\n+++\n").unwrap_err();
        assert_eq!(e.position, Some((2, 9)), "{e}");
        let e = md("politics/e.md", "---\ntitle: T\ndate: [1]\n---\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(3), "{e}");
    }

    #[test]
    fn id_date_is_the_day_where_the_article_was_dated() {
        // 01:30 in Beijing is the evening before in UTC; a year past 9999
        // is not reachable from a date, but one before 1000 is.
        for (date, day) in [
            ("2025-03-05T01:30:00+08:00", "2025-03-05"),
            ("2025-03-04T23:30:00-05:00", "2025-03-04"),
            ("0999-12-31T23:00:00+00:00", "0999-12-31"),
        ] {
            let a = md(
                "politics/night.md",
                &format!("+++\ntitle = \"T\"\ndate = \"{date}\"\n+++\n"),
            )
            .unwrap()
            .article;
            assert_eq!(a.id, format!("tag:news.example.cn,{day}:politics/night"));
        }
    }
}
