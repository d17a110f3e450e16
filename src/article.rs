//! One article file → one [`Article`] (SPEC §3): Markdown with TOML or
//! YAML front matter, and plain-text exports of news pages. Decoding
//! (UTF-8, UTF-16 with BOM, GB18030), front matter, dates in the site time
//! zone, Markdown rendering, sanitising, absolute URLs, summaries,
//! permalinks and tag-URI ids all happen here.
//!
//! Parsing is pure: [`parse`] takes the text and the file's modification
//! time; [`load`] reads a file (with a size cap, never blocking on FIFOs
//! or devices) and then parses. Grouping articles into feeds is `catalog`'s
//! job; turning them into feed XML is `render`'s.

use std::borrow::Cow;
use std::fmt;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use regex::Regex;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use url::Url;

use crate::config::{line_col, Config, SiteZone};

/// Characters percent-encoded in URL path segments and tag URIs: all but
/// the RFC 3986 unreserved set.
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (a category or slug).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_segment(&mut out, s);
    out
}

/// Appends `s` percent-encoded as one path segment to `out`.
pub fn push_segment(out: &mut String, s: &str) {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if s.bytes().all(plain) {
        // The usual slug: nothing to encode.
        out.push_str(s);
    } else {
        out.extend(utf8_percent_encode(s, SEGMENT));
    }
}

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The article is left out (or its last good version kept).
    Error,
    /// The article is published; something was adjusted.
    Warning,
}

/// A problem with a content file, printed as `path:line:col: error: message`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The file, as the user knows it (content dir joined with the relative path).
    pub path: PathBuf,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    fn error(path: &Path, position: Option<(usize, usize)>, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            position,
            severity: Severity::Error,
            message: message.into(),
        }
    }

    fn warning(path: &Path, position: Option<(usize, usize)>, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            position,
            severity: Severity::Warning,
            message: message.into(),
        }
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.position {
            Some((l, c)) => write!(
                f,
                "{}:{}:{}: {}: {}",
                self.path.display(),
                l,
                c,
                sev,
                self.message
            ),
            None => write!(f, "{}: {}: {}", self.path.display(), sev, self.message),
        }
    }
}

/// A parsed article, ready for the catalog and the renderers.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Path relative to `content.dir`, `/`-separated: the catalog key and
    /// the tie-breaker; shared with the catalog's maps.
    pub rel: Arc<str>,
    /// First directory level; empty for files directly in `content.dir`.
    /// Shared by the articles a loader thread reads from one category.
    pub category: Arc<str>,
    /// URL slug.
    pub slug: String,
    /// Title (plain text).
    pub title: String,
    /// Summary (plain text).
    pub summary: String,
    /// The article body as sanitised HTML with absolute URLs.
    pub content_html: Arc<str>,
    /// Publication time.
    pub date: DateTime<FixedOffset>,
    /// Last significant change.
    pub updated: DateTime<FixedOffset>,
    /// Author names.
    pub authors: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Absolute URL of a lead image.
    pub image: Option<String>,
    /// Permalink.
    pub link: String,
    /// Permanent id (before duplicate resolution, which is the catalog's).
    pub id: String,
    /// Drafts are never published.
    pub draft: bool,
    /// Item language, when it differs from the site's.
    pub lang: Option<String>,
}

/// The body of an article held without one: one shared allocation rather
/// than one per article (100,000 at a first load).
pub fn no_body() -> Arc<str> {
    static EMPTY: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(""));
    Arc::clone(&EMPTY)
}

impl Article {
    /// The article reduced to what ordering and id checks need (path,
    /// category, slug, dates, id, draft). Re-reading the file restores the rest.
    pub fn slimmed(&self) -> Article {
        Article::index_entry(
            self.rel.clone(),
            self.category.clone(),
            self.slug.clone(),
            (self.date, self.updated),
            self.id.clone(),
            self.draft,
        )
    }

    /// An article holding only what [`Article::slimmed`] keeps: path,
    /// category, slug, (date, updated), id and draft.
    pub fn index_entry(
        rel: Arc<str>,
        category: Arc<str>,
        slug: String,
        (date, updated): (DateTime<FixedOffset>, DateTime<FixedOffset>),
        id: String,
        draft: bool,
    ) -> Article {
        Article {
            rel,
            category,
            slug,
            title: String::new(),
            summary: String::new(),
            content_html: no_body(),
            date,
            updated,
            authors: Vec::new(),
            tags: Vec::new(),
            image: None,
            link: String::new(),
            id,
            draft,
            lang: None,
        }
    }

    /// Whether two articles agree on everything [`Article::slimmed`] keeps.
    pub fn same_index(&self, other: &Article) -> bool {
        self.rel == other.rel
            && self.category == other.category
            && self.slug == other.slug
            && self.date == other.date
            && self.updated == other.updated
            && self.id == other.id
            && self.draft == other.draft
    }

    /// Whether this is a [`Article::slimmed`] article (a parsed article always has a title).
    pub fn is_slim(&self) -> bool {
        self.title.is_empty()
    }
}

/// The result of parsing: the article and any warnings.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The article.
    pub article: Article,
    /// Non-fatal problems.
    pub warnings: Vec<Diagnostic>,
    /// Whether the body (`content_html`, and a summary made from the body)
    /// was rendered; [`parse_meta`] leaves it out.
    pub complete: bool,
    /// Whether every check ran; `false` only for a [`quick_meta`] article
    /// from [`load_at`] with [`Depth::Quick`].
    pub checked: bool,
    /// The file's (modification time, size) when [`load`] read it; `None`
    /// for a quick read that indexed the file from one `read` without `fstat`.
    pub stamp: Option<(std::time::SystemTime, u64)>,
}

impl Parsed {
    /// A file checked in full whose body was not rendered: its index entry
    /// ([`Article::index_entry`]) and warnings.
    fn checked_entry(article: Article, warnings: Vec<Diagnostic>) -> Parsed {
        Parsed {
            article,
            warnings,
            complete: false,
            checked: true,
            stamp: None,
        }
    }
}

/// What kind of content file a relative path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `.md` / `.markdown`.
    Markdown,
    /// `.txt`.
    Text,
}

/// The article kind of a path, or `None` for files herald does not read.
pub fn kind_of(rel: &str) -> Option<FileKind> {
    let name = memchr::memrchr(b'/', rel.as_bytes()).map_or(rel, |i| &rel[i + 1..]);
    let ext = &name[memchr::memrchr(b'.', name.as_bytes())? + 1..];
    if ext.eq_ignore_ascii_case("md") || ext.eq_ignore_ascii_case("markdown") {
        Some(FileKind::Markdown)
    } else if ext.eq_ignore_ascii_case("txt") {
        Some(FileKind::Text)
    } else {
        None
    }
}

/// Whether a path relative to `content.dir` is ignored: hidden files and
/// folders, editor temporaries, and `content.ignore` patterns.
pub fn is_ignored(rel: &str, config: &Config) -> bool {
    if rel.split('/').any(is_hidden_or_temp) {
        return true;
    }
    let name = rel.rsplit('/').next().unwrap_or(rel);
    matches_ignore(rel, name, config)
}

/// [`is_ignored`] for `name` in a folder (`rel` is the folder's path plus
/// `name`) that is itself known not to be ignored, as in a walk: only the
/// last component needs looking at.
pub fn is_ignored_in_walk(rel: &str, name: &str, config: &Config) -> bool {
    is_hidden_or_temp(name) || matches_ignore(rel, name, config)
}

/// A hidden name, or an editor's backup, swap or temp file.
fn is_hidden_or_temp(part: &str) -> bool {
    part.starts_with('.')
        || part.ends_with('~')
        || part.ends_with(".swp")
        || part.ends_with(".swx")
        || part.ends_with(".tmp")
        || (part.starts_with('#') && part.ends_with('#'))
        || part == "4913"
}

/// Whether a `content.ignore` pattern matches the path or the name.
fn matches_ignore(rel: &str, name: &str, config: &Config) -> bool {
    !config.content.ignore.is_empty()
        && (config.content.ignore.is_match(rel) || config.content.ignore.is_match(name))
}

/// A category's name as articles hold it: one allocation per run of
/// files from the same category on a thread (a folder's files are read
/// together), not one per article.
fn category_name(category: &str) -> Arc<str> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<Arc<str>>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some(c) if **c == *category => Arc::clone(c),
        _ => Arc::clone(last.insert(Arc::from(category))),
    })
}

/// Splits a relative path into (category, slug-from-stem).
pub fn category_and_stem(rel: &str) -> (&str, &str) {
    let b = rel.as_bytes();
    let (category, name) = match (memchr::memchr(b'/', b), memchr::memrchr(b'/', b)) {
        (Some(first), Some(last)) => (&rel[..first], &rel[last + 1..]),
        _ => ("", rel),
    };
    let stem = memchr::memrchr(b'.', name.as_bytes()).map_or(name, |i| &name[..i]);
    (category, stem)
}

/// How much of a file [`load_at`] reads into an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// [`quick_meta`] when the front matter is simple, else [`Depth::Meta`].
    Quick,
    /// Every check, no body ([`parse_meta`]).
    Meta,
    /// Every check and the rendered body ([`parse`]).
    Full,
}

/// Reads and parses the article at `content_dir/rel`.
///
/// Fails (with a diagnostic naming the file) when the file is not a
/// regular file, is larger than `content.max_file_bytes`, cannot be read or
/// decoded, or when [`parse`] fails. FIFOs and devices are opened
/// non-blocking and refused, so they never hang the caller.
pub fn load(content_dir: &Path, rel: &str, config: &Config) -> Result<Parsed, Diagnostic> {
    load_at(content_dir, rel, config, Depth::Full)
}

/// Like [`load`], but leaves the body unrendered (see [`parse_meta`]).
///
/// Fails exactly when [`load`] would.
pub fn load_meta(content_dir: &Path, rel: &str, config: &Config) -> Result<Parsed, Diagnostic> {
    load_at(content_dir, rel, config, Depth::Meta)
}

/// Reads the article at `content_dir/rel` to `depth`. With
/// [`Depth::Quick`] a simple file yields an unchecked slim article
/// (`checked == false`).
///
/// Fails when [`load`] would, except that a quick read may accept a file
/// the full check rejects.
pub fn load_at(
    content_dir: &Path,
    rel: &str,
    config: &Config,
    depth: Depth,
) -> Result<Parsed, Diagnostic> {
    load_in(None, content_dir, rel, config, depth)
}

/// [`load_at`], with the file opened by its name in `folder`, an open
/// handle on its folder, when given: the kernel then looks up one name
/// rather than walking the whole path (the first load opens every file).
pub fn load_in(
    folder: Option<std::os::fd::BorrowedFd<'_>>,
    content_dir: &Path,
    rel: &str,
    config: &Config,
    depth: Depth,
) -> Result<Parsed, Diagnostic> {
    // Joined only for a message or an open by path: a quick load needs
    // neither (one allocation and a copy fewer per file).
    let path = FilePath::Parts {
        dir: content_dir,
        rel,
        joined: std::cell::OnceCell::new(),
    };
    let at = folder.map(|f| (f, rel.rsplit_once('/').map_or(rel, |(_, name)| name)));
    let (bytes, mtime, stamp) = if depth == Depth::Quick {
        // The bytes go to a buffer this thread keeps: a quick index entry
        // needs no copy of them, and most files need nothing more.
        let quick = QUICK_BUF.with_borrow_mut(|buf| {
            let (mtime, stamp, article) = read_quick(
                &path,
                at,
                config.content.max_file_bytes,
                buf,
                |bytes, mtime| quick_meta(rel, bytes, mtime, config),
            )?;
            let bytes = if article.is_some() {
                Vec::new()
            } else {
                buf.clone()
            };
            if buf.capacity() > QUICK_BUF_KEEP {
                *buf = Vec::new();
            }
            Ok::<_, Diagnostic>((article, bytes, mtime, stamp))
        })?;
        match quick {
            (Some(article), _, _, stamp) => {
                return Ok(Parsed {
                    article,
                    warnings: Vec::new(),
                    complete: false,
                    checked: false,
                    stamp,
                })
            }
            (None, bytes, mtime, stamp) => (bytes, mtime, stamp),
        }
    } else {
        let mut bytes = Vec::new();
        let (mtime, stamp) = read_into(&path, at, config.content.max_file_bytes, &mut bytes)?;
        (bytes, mtime, stamp)
    };
    // UTF-8 (the usual case) is read in place; `decode` does the rest.
    // simdutf8 and memchr: std's checks cost ~30,000 instructions for a
    // 4 KB article in Chinese, a third of a full check.
    let path = path.get();
    let decoded: String;
    let text = match simdutf8::basic::from_utf8(&bytes) {
        Ok(_) if memchr::memchr(0, &bytes).is_some() => {
            return Err(Diagnostic::error(
                path,
                None,
                "binary file (contains NUL bytes)",
            ))
        }
        Ok(s) => s,
        Err(_) => {
            decoded = decode(&bytes).map_err(|m| Diagnostic::error(path, None, m))?;
            &decoded
        }
    };
    let mut parsed = parse_with(path, rel, text, mtime, config, depth == Depth::Full)?;
    parsed.stamp = stamp;
    Ok(parsed)
}

/// Reads a regular file through a cap of `max` bytes, returning its bytes
/// and modification time.
pub fn read_capped(
    path: &Path,
    max: u64,
) -> Result<(Vec<u8>, Option<DateTime<FixedOffset>>), Diagnostic> {
    read_file(path, max).map(|(b, m, _)| (b, m))
}

type Stamp = (std::time::SystemTime, u64);

/// A file's path as messages name it and an open by path needs it: given
/// whole, or as the content directory and a relative path joined on first
/// use.
enum FilePath<'a> {
    Full(&'a Path),
    Parts {
        dir: &'a Path,
        rel: &'a str,
        joined: std::cell::OnceCell<PathBuf>,
    },
}

impl FilePath<'_> {
    fn get(&self) -> &Path {
        match self {
            FilePath::Full(p) => p,
            FilePath::Parts { dir, rel, joined } => joined.get_or_init(|| dir.join(rel)),
        }
    }
}
type FileRead = (Vec<u8>, Option<DateTime<FixedOffset>>, Option<Stamp>);

thread_local! {
    /// The read buffer of [`Depth::Quick`] loads, one per loader thread.
    static QUICK_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A quick-load buffer grown past this (by an unusually large file) is
/// given back rather than kept by its thread.
const QUICK_BUF_KEEP: usize = 256 * 1024;

fn read_file(path: &Path, max: u64) -> Result<FileRead, Diagnostic> {
    let mut bytes = Vec::new();
    let (mtime, stamp) = read_into(&FilePath::Full(path), None, max, &mut bytes)?;
    Ok((bytes, mtime, stamp))
}

/// A quick read: the file's modification time and stamp (when it was
/// checked with `fstat`), and its index entry when the quick reader found one.
type QuickRead = (
    Option<DateTime<FixedOffset>>,
    Option<Stamp>,
    Option<Article>,
);

/// The first read of a quick load asks for this much (or
/// `content.max_file_bytes` + 1, when smaller): a news article fits.
const QUICK_READ: usize = 64 * 1024;

/// The read of a [`Depth::Quick`] load: the file's bytes into `bytes`,
/// and `quick(bytes, mtime)`'s index entry when it finds one.
///
/// One `read` call takes a file that fits in [`QUICK_READ`] bytes: when
/// `quick` finds the entry in what it returned (a read returns less than
/// asked only at the end of a regular file), nothing more is asked of the
/// kernel — no `fstat`, so no stamp, no modification time and no size
/// check; the full check later does those. Otherwise the file is checked
/// and read to its end as [`read_into`] does, and `quick` tried again with
/// the modification time.
fn read_quick(
    path: &FilePath<'_>,
    at: Option<(std::os::fd::BorrowedFd<'_>, &str)>,
    max: u64,
    bytes: &mut Vec<u8>,
    quick: impl Fn(&[u8], Option<DateTime<FixedOffset>>) -> Option<Article>,
) -> Result<QuickRead, Diagnostic> {
    let file = open_for_read(path, at)?;
    bytes.clear();
    let ask = QUICK_READ.min(usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1));
    bytes.reserve(ask);
    // Into spare capacity, never zeroed first. A FIFO or a folder fails
    // here (non-blocking) or in the checks of `finish_read`.
    if let Ok(n) = rustix::io::read(&file, rustix::buffer::spare_capacity(bytes)) {
        if n < ask {
            if let Some(article) = quick(bytes, None) {
                return Ok((None, None, Some(article)));
            }
        }
    }
    // The stamp must not be newer than the bytes (a write in between would
    // then look already read): fstat first, then the file again from its
    // start. Only files the single read could not index pay for this.
    bytes.clear();
    let (mtime, stamp) = finish_read(path, &file, max, bytes, true)?;
    Ok((mtime, stamp, quick(bytes, mtime)))
}

/// Opens `path` (by its name in `at`, when given) for reading,
/// non-blocking, so a FIFO or a device never blocks the open.
fn open_for_read(
    path: &FilePath<'_>,
    at: Option<(std::os::fd::BorrowedFd<'_>, &str)>,
) -> Result<std::fs::File, Diagnostic> {
    use rustix::fs::{Mode, OFlags};
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so a FIFO or a device never blocks the open. The checks
    // of `finish_read` run on the handle, so a path swapped meanwhile cannot
    // slip by them; a quick read that skips them is checked in full later.
    let opened = match at {
        Some((folder, name)) => rustix::fs::openat(
            folder,
            name,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map(std::fs::File::from)
        .map_err(std::io::Error::from),
        None => std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path.get()),
    };
    match opened {
        Ok(f) => Ok(f),
        // A socket cannot be opened at all.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            Err(Diagnostic::error(path.get(), None, "not a regular file"))
        }
        Err(e) => Err(Diagnostic::error(
            path.get(),
            None,
            format!("cannot read: {e}"),
        )),
    }
}

/// [`read_file`] into `bytes` (cleared first), reusing its allocation;
/// with `at`, the file is opened by name in that open folder, which is
/// the folder of `path`.
fn read_into(
    path: &FilePath<'_>,
    at: Option<(std::os::fd::BorrowedFd<'_>, &str)>,
    max: u64,
    bytes: &mut Vec<u8>,
) -> Result<(Option<DateTime<FixedOffset>>, Option<Stamp>), Diagnostic> {
    let file = open_for_read(path, at)?;
    bytes.clear();
    finish_read(path, &file, max, bytes, false)
}

/// Checks the open `file` (a regular file within the cap) and reads it
/// into `bytes` (from its start, with `rewind`), returning its
/// modification time and stamp, taken before the read.
fn finish_read(
    path: &FilePath<'_>,
    mut file: &std::fs::File,
    max: u64,
    bytes: &mut Vec<u8>,
    rewind: bool,
) -> Result<(Option<DateTime<FixedOffset>>, Option<Stamp>), Diagnostic> {
    let cannot =
        |e: std::io::Error| Diagnostic::error(path.get(), None, format!("cannot read: {e}"));
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(Diagnostic::error(path.get(), None, "not a regular file"));
    }
    if meta.len() > max {
        return Err(Diagnostic::error(
            path.get(),
            None,
            format!(
                "file is {} bytes, over content.max_file_bytes ({max})",
                meta.len()
            ),
        ));
    }
    // Read the size fstat gave, through the cap. A file growing meanwhile
    // is being written, and its writer's event re-reads it.
    if rewind {
        file.seek(std::io::SeekFrom::Start(0)).map_err(cannot)?;
    }
    let want = meta.len();
    bytes.reserve(want as usize);
    // Into spare capacity, never zeroed first; the limit ends the read
    // without a further call. Files up to 8 KiB take one read call; std
    // reads larger ones in growing steps.
    file.take(want).read_to_end(bytes).map_err(cannot)?;
    let modified = meta.modified().ok();
    let mtime = modified.map(|t| DateTime::<chrono::Utc>::from(t).fixed_offset());
    Ok((mtime, modified.map(|t| (t, meta.len()))))
}

/// Decodes file bytes: UTF-8 (BOM optional), UTF-16 with BOM, else GB18030.
///
/// Fails when none decodes without replacement characters, or the text
/// holds NUL bytes (a binary file).
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        std::str::from_utf8(rest)
            .map(str::to_string)
            .map_err(|e| format!("invalid UTF-8 after BOM at byte {}", e.valid_up_to() + 3))?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        encoding_rs::UTF_16LE
            .decode_without_bom_handling_and_without_replacement(rest)
            .ok_or("invalid UTF-16LE text")?
            .into_owned()
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        encoding_rs::UTF_16BE
            .decode_without_bom_handling_and_without_replacement(rest)
            .ok_or("invalid UTF-16BE text")?
            .into_owned()
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => {
                if bytes.contains(&0) {
                    return Err("binary file (contains NUL bytes)".into());
                }
                encoding_rs::GB18030
                    .decode_without_bom_handling_and_without_replacement(bytes)
                    .ok_or("cannot decode: not UTF-8, UTF-16 with BOM, or GB18030/GBK text")?
                    .into_owned()
            }
        }
    };
    if text.contains('\0') {
        return Err("binary file (contains NUL bytes)".into());
    }
    Ok(text)
}

/// Parses article text. `path` names the file in diagnostics, `rel` is its
/// path relative to `content.dir`, `mtime` is the file's modification time
/// (the date of a plain-text export without a timestamp).
///
/// Fails on front-matter syntax or type errors, unterminated front matter,
/// a missing title or date, an impossible date, or an empty file.
pub fn parse(
    path: &Path,
    rel: &str,
    text: &str,
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Result<Parsed, Diagnostic> {
    parse_with(path, rel, text, mtime, config, true)
}

/// Checks the whole file but keeps only what indexing needs: a
/// [`Article::slimmed`] article with `complete == false`, and every warning.
/// The body is not rendered. Enough to index (and `check`) an article that
/// no feed shows; the catalog's feed windows are filled with [`parse`].
///
/// Fails exactly when [`parse`] would: a Markdown body never fails to render.
pub fn parse_meta(
    path: &Path,
    rel: &str,
    text: &str,
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Result<Parsed, Diagnostic> {
    parse_with(path, rel, text, mtime, config, false)
}

fn parse_with(
    path: &Path,
    rel: &str,
    text: &str,
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
    full: bool,
) -> Result<Parsed, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let owned;
    let text = if memchr::memchr(b'\r', text.as_bytes()).is_some() {
        owned = text.replace("\r\n", "\n").replace('\r', "\n");
        owned.as_str()
    } else {
        text
    };
    if text.trim().is_empty() {
        return Err(Diagnostic::error(path, None, "empty file"));
    }
    match kind_of(rel) {
        // Without `full`, the article comes slimmed already.
        Some(FileKind::Text) => parse_text(path, rel, text, mtime, config, full),
        _ => parse_markdown(path, rel, text, config, full),
    }
}

// ---------------------------------------------------------------------------
// Quick index

/// The [`Article::slimmed`] article of a Markdown file whose TOML front
/// matter is simple enough to read line by line, without parsing the rest:
/// the daemon's fast first index, before every file is checked in full.
///
/// Simple means: `+++` fences, UTF-8, no carriage returns, and every line
/// a comment or `bare_key = value` on one line (no tables, dotted or
/// quoted keys, multi-line strings or arrays), with `date` (and `updated`)
/// a plain RFC 3339 value or string, `id` and `slug` strings without
/// escapes, `draft` a boolean. `None` whenever anything is not simple: the
/// caller then parses in full. On a file [`parse_meta`] accepts, the
/// result equals its article; on one it rejects, the result may still be
/// `Some` — the full check that follows removes it.
pub fn quick_meta(
    rel: &str,
    bytes: &[u8],
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Option<Article> {
    match kind_of(rel)? {
        FileKind::Markdown => quick_markdown(rel, bytes, config),
        FileKind::Text => quick_text(rel, bytes, mtime, config),
    }
}

/// The index entry of a plain-text export (SPEC §3.2): only its date
/// decides anything, and that is the first timestamp line. A timestamp
/// line starts with a digit, so only such lines are looked at; the rest
/// of the file (title, subtitle, paragraphs, bylines, footers) is left to
/// the full read. `None` for anything the full parser would refuse or
/// decide differently: not UTF-8, NUL bytes, carriage returns, an empty
/// file, or a first timestamp line with impossible values.
fn quick_text(
    rel: &str,
    bytes: &[u8],
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Option<Article> {
    let text = simdutf8::basic::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if memchr::memchr2(b'\0', b'\r', text.as_bytes()).is_some() {
        return None;
    }
    let zone = &config.site.timezone;
    let mut lines = split_lines(text).map(str::trim).filter(|l| !l.is_empty());
    // The first line is the title, whatever it holds.
    lines.next()?;
    let mut date = None;
    for line in lines {
        // `\d` of the timestamp pattern is any Unicode digit.
        if !line.chars().next().is_some_and(char::is_numeric) {
            continue;
        }
        let line = if config.text.strip_pinyin {
            strip_pinyin(line)
        } else {
            Cow::Borrowed(line)
        };
        let byline = config
            .text
            .byline_prefixes
            .iter()
            .any(|p| line.starts_with(p.as_str()));
        if byline {
            continue;
        }
        match timestamp_line(&line, zone) {
            Some(Ok(dt)) => {
                date = Some(dt);
                break;
            }
            Some(Err(_)) => return None,
            None => {}
        }
    }
    let date = check_year(date.or(mtime)?).ok()?;
    let (category, stem) = category_and_stem(rel);
    Some(Article::index_entry(
        Arc::from(rel),
        category_name(category),
        stem.to_string(),
        (date, date),
        tag_id(config, category, stem, &date),
        false,
    ))
}

/// The lines of a text without carriage returns (as [`str::lines`] gives
/// them), found with a vectorised search.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(
        // The last line, when the text does not end with a newline.
        (!text.is_empty() && !text.ends_with('\n')).then_some(text.len()),
    );
    let mut start = 0;
    ends.map(move |end| {
        let line = &text[start..end];
        start = end + 1;
        line
    })
}

/// [`quick_meta`] of a Markdown file.
fn quick_markdown(rel: &str, bytes: &[u8], config: &Config) -> Option<Article> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let rest = bytes.strip_prefix(b"+++\n")?;
    // The closing fence: the first line that is exactly `+++`.
    let fence_at = |at: usize| {
        rest[at..].starts_with(b"+++") && matches!(rest.get(at + 3), None | Some(b'\n'))
    };
    let end = if fence_at(0) {
        0
    } else {
        memchr::memchr_iter(b'\n', rest)
            .map(|i| i + 1)
            .find(|&at| fence_at(at))?
    };
    let front = &rest[..end];
    // Two vectorised searches over the whole front matter, not one call
    // per quote (a front matter has a dozen).
    static TRIPLE: LazyLock<[memchr::memmem::Finder<'static>; 2]> = LazyLock::new(|| {
        [
            memchr::memmem::Finder::new(b"\"\"\""),
            memchr::memmem::Finder::new(b"'''"),
        ]
    });
    let multiline = TRIPLE.iter().any(|f| f.find(front).is_some());
    if multiline || memchr::memchr(b'\r', front).is_some() {
        return None;
    }
    let front = simdutf8::basic::from_utf8(front).ok()?;
    let (mut date, mut updated, mut id, mut slug, mut draft) = (None, None, None, None, None);
    // On the stack: front matter rarely has more than 16 keys.
    let mut seen: smallvec::SmallVec<[&str; 16]> = smallvec::SmallVec::new();
    // Carriage returns were refused above: lines end at `\n` alone.
    for line in split_lines(front) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // A key is a few bytes long: a plain scan beats a vectorised
        // search's setup here.
        let eq = line.bytes().position(|b| b == b'=')?;
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        let key = key.trim_end();
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            || seen.contains(&key)
        {
            return None;
        }
        seen.push(key);
        let value = value.trim_start();
        match key {
            "date" => date = Some(quick_date(value)?),
            "updated" => updated = Some(quick_date(value)?),
            "id" => id = Some(quick_string(value)?),
            "slug" => slug = Some(quick_string(value)?),
            "draft" => {
                draft = Some(match quick_bare(value) {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                })
            }
            _ => {
                // Any value, but on one line: strings, numbers, booleans,
                // dates, and arrays or inline tables that close on it.
                let v = value.trim_end();
                let closes = match v.as_bytes().first()? {
                    b'[' => v.ends_with(']'),
                    b'{' => v.ends_with('}'),
                    b'"' | b'\'' => true,
                    _ => !v.contains(['[', '{', '"', '\'']),
                };
                if !closes {
                    return None;
                }
            }
        }
    }
    let zone = &config.site.timezone;
    let date = parse_date(date?, zone).ok()?;
    let updated = match updated {
        Some(u) => parse_date(u, zone).ok()?,
        None => date,
    };
    let (category, stem) = category_and_stem(rel);
    let slug = slug
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(stem)
        .to_string();
    let id = match id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => tag_id(config, category, &slug, &date),
    };
    Some(Article::index_entry(
        Arc::from(rel),
        category_name(category),
        slug,
        (date, updated),
        id,
        draft.unwrap_or(false),
    ))
}

/// A value up to an end-of-line comment.
fn quick_bare(value: &str) -> &str {
    value.split_once('#').map_or(value, |(v, _)| v).trim_end()
}

/// The text of a one-line string without escapes or control characters,
/// followed by nothing but a comment.
fn quick_string(value: &str) -> Option<&str> {
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = &value[1..];
    let close = inner.find(quote)?;
    let (text, after) = (&inner[..close], inner[close + 1..].trim_start());
    if text.contains('\\') || text.chars().any(|c| c.is_control() && c != '\t') {
        return None;
    }
    if !after.is_empty() && !after.starts_with('#') {
        return None;
    }
    Some(text)
}

/// A date value: a string, or a bare TOML date or date-time with seconds.
fn quick_date(value: &str) -> Option<&str> {
    if value.starts_with(['"', '\'']) {
        return quick_string(value);
    }
    let v = quick_bare(value);
    let b = v.as_bytes();
    let date_only = b.len() == 10;
    let with_time =
        b.len() >= 19 && matches!(b[10], b'T' | b't' | b' ') && b[13] == b':' && b[16] == b':';
    let ok = (date_only || with_time)
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().all(|c| {
            matches!(
                c,
                b'0'..=b'9' | b':' | b'-' | b'+' | b'.' | b'T' | b't' | b'Z' | b'z' | b' '
            )
        });
    ok.then_some(v)
}

// ---------------------------------------------------------------------------
// Front matter

/// A date as written: a string, or a TOML datetime.
#[derive(Debug)]
struct DateValue(String);

impl<'de> Deserialize<'de> for DateValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DateValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date (\"2025-02-27 18:07\", RFC 3339, or a TOML datetime)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DateValue, E> {
                Ok(DateValue(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DateValue, A::Error> {
                // toml's datetime arrives as a one-entry map holding its text.
                let mut out = None;
                // The key is read as a string, not ignored: through
                // serde_ignored, serde_yaml_ng would fail on an ignored key
                // ("non-string key") instead of naming the wrong type.
                while let Some((_, v)) = map.next_entry::<String, String>()? {
                    out = Some(v);
                }
                out.map(DateValue)
                    .ok_or_else(|| de::Error::custom("empty date"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A name or a list of names.
#[derive(Debug, Default)]
struct Names(Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Names, E> {
                Ok(Names(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Names(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
struct FrontMatter {
    title: Option<String>,
    date: Option<DateValue>,
    updated: Option<DateValue>,
    author: Option<Names>,
    authors: Option<Names>,
    summary: Option<String>,
    id: Option<String>,
    slug: Option<String>,
    link: Option<String>,
    tags: Option<Names>,
    image: Option<String>,
    draft: Option<bool>,
    lang: Option<String>,
}

const KNOWN_KEYS: [&str; 13] = [
    "title", "date", "updated", "author", "authors", "summary", "id", "slug", "link", "tags",
    "image", "draft", "lang",
];

#[derive(Clone, Copy, PartialEq)]
enum FmKind {
    Toml,
    Yaml,
}

struct Split<'a> {
    kind: Option<FmKind>,
    front: &'a str,
    /// 1-based line of the front matter's first line.
    front_line: usize,
    body: &'a str,
}

fn split_front_matter<'a>(path: &Path, text: &'a str) -> Result<Split<'a>, Diagnostic> {
    let first_end = text.find('\n').unwrap_or(text.len());
    let first = text[..first_end].trim_end();
    let (kind, delim) = match first {
        "+++" => (FmKind::Toml, "+++"),
        "---" => (FmKind::Yaml, "---"),
        _ => {
            return Ok(Split {
                kind: None,
                front: "",
                front_line: 1,
                body: text,
            })
        }
    };
    let start = (first_end + 1).min(text.len());
    let mut pos = start;
    while pos < text.len() {
        let end = text[pos..]
            .find('\n')
            .map(|i| pos + i)
            .unwrap_or(text.len());
        if text[pos..end].trim_end() == delim {
            let body_start = (end + 1).min(text.len());
            return Ok(Split {
                kind: Some(kind),
                front: &text[start..pos],
                front_line: 2,
                body: &text[body_start..],
            });
        }
        pos = end + 1;
    }
    Err(Diagnostic::error(
        path,
        Some((1, 1)),
        format!("unterminated front matter: no closing {delim} line"),
    ))
}

/// Finds `key = …` / `key: …` at the start of a front-matter line and
/// returns the 0-based line within the block and the 1-based column of its value.
fn key_position(front: &str, key: &str) -> Option<(usize, usize)> {
    for (i, line) in front.lines().enumerate() {
        let Some(rest) = line.strip_prefix(key) else {
            continue;
        };
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed
            .strip_prefix('=')
            .or_else(|| trimmed.strip_prefix(':'))
        {
            let value_off = line.len() - after.trim_start().len();
            return Some((i, line[..value_off].chars().count() + 1));
        }
    }
    None
}

/// Deserializes the front matter in one pass, with the top-level keys it
/// does not know, sorted and each once (YAML lets a key repeat). Only
/// top-level keys are reported, as before: the one known key that takes a
/// table (a TOML datetime, in `date`/`updated`) reads all its entries. A
/// second parse into a map just for the keys cost a fifth of a full read.
fn with_unknown_keys<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<(FrontMatter, Vec<String>), D::Error> {
    let mut unknown = Vec::new();
    let fm = serde_ignored::deserialize(de, |p| {
        if let serde_ignored::Path::Map {
            parent: serde_ignored::Path::Root,
            key,
        } = p
        {
            unknown.push(key.clone());
        }
    })?;
    unknown.sort();
    unknown.dedup();
    Ok((fm, unknown))
}

fn parse_front(path: &Path, split: &Split) -> Result<(FrontMatter, Vec<String>), Diagnostic> {
    let at = |line0: usize, col: usize| Some((split.front_line + line0, col));
    match split.kind {
        None => Ok((FrontMatter::default(), Vec::new())),
        Some(FmKind::Toml) => {
            let error = |e: toml::de::Error| {
                let pos = e.span().map(|s| line_col(split.front, s.start));
                Diagnostic::error(
                    path,
                    pos.and_then(|(l, c)| at(l - 1, c)),
                    format!("front matter: {}", e.message().trim()),
                )
            };
            let de = toml::de::Deserializer::parse(split.front).map_err(error)?;
            with_unknown_keys(de).map_err(error)
        }
        Some(FmKind::Yaml) => {
            if split.front.trim().is_empty() {
                return Ok((FrontMatter::default(), Vec::new()));
            }
            with_unknown_keys(serde_yaml_ng::Deserializer::from_str(split.front)).map_err(|e| {
                let pos = e.location().map(|l| (l.line(), l.column()));
                let msg = e.to_string();
                // The crate appends " at line L column C"; we print our own position.
                let msg = match msg.find(" at line ") {
                    Some(i) => msg[..i].to_string(),
                    None => msg,
                };
                Diagnostic::error(
                    path,
                    pos.and_then(|(l, c)| at(l.saturating_sub(1), c)),
                    format!("front matter: {msg}"),
                )
            })
        }
    }
}

/// Parses a date in any accepted form; naive times take `zone`.
///
/// Fails on text that is none of the forms, and on years outside 1..=9999
/// (feed date formatters cannot write them).
pub fn parse_date(s: &str, zone: &SiteZone) -> Result<DateTime<FixedOffset>, String> {
    let s = s.trim();
    let dt = if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        dt
    } else if let Some(naive) = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    {
        zone.localize(naive)
    } else if let Some(dt) = [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M%:z",
    ]
    .iter()
    .find_map(|f| DateTime::parse_from_str(s, f).ok())
    {
        dt
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        zone.localize(d.and_time(chrono::NaiveTime::MIN))
    } else {
        return Err(format!(
            "invalid date {s:?}: expected RFC 3339, \"YYYY-MM-DD HH:MM[:SS]\" or \"YYYY-MM-DD\""
        ));
    };
    check_year(dt)
}

fn check_year(dt: DateTime<FixedOffset>) -> Result<DateTime<FixedOffset>, String> {
    let utc_year = dt.naive_utc().year();
    if !(1..=9999).contains(&dt.year()) || !(1..=9999).contains(&utc_year) {
        return Err(format!("date {dt} is out of range (years 1 to 9999)"));
    }
    Ok(dt)
}

// ---------------------------------------------------------------------------
// Markdown

fn parse_markdown(
    path: &Path,
    rel: &str,
    text: &str,
    config: &Config,
    full: bool,
) -> Result<Parsed, Diagnostic> {
    let split = split_front_matter(path, text)?;
    let (fm, keys) = parse_front(path, &split)?;
    let mut warnings = Vec::new();
    for k in keys {
        if !KNOWN_KEYS.contains(&k.as_str()) {
            let pos = key_position(split.front, &k).map(|(l, c)| (split.front_line + l, c));
            warnings.push(Diagnostic::warning(
                path,
                pos,
                format!("front matter: unknown key `{k}` ignored"),
            ));
        }
    }
    let key_at = |key: &str| {
        key_position(split.front, key)
            .map(|(l, c)| (split.front_line + l, c))
            .or(Some((split.front_line.saturating_sub(1).max(1), 1)))
    };
    let body_line =
        memchr::memchr_iter(b'\n', &text.as_bytes()[..text.len() - split.body.len()]).count() + 1;

    let date = match &fm.date {
        Some(d) => parse_date(&d.0, &config.site.timezone)
            .map_err(|m| Diagnostic::error(path, key_at("date"), m))?,
        None => {
            return Err(Diagnostic::error(
                path,
                Some((1, 1)),
                "missing field `date` (add date = \"YYYY-MM-DD HH:MM\" to the front matter)",
            ))
        }
    };
    let updated = match &fm.updated {
        Some(d) => parse_date(&d.0, &config.site.timezone)
            .map_err(|m| Diagnostic::error(path, key_at("updated"), m))?,
        None => date,
    };

    let options =
        Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    let has_title = fm.title.is_some();
    // The body is only parsed when it is rendered, or holds the title.
    let mut events: Vec<Event> = if full || !has_title {
        Parser::new_ext(split.body, options).collect()
    } else {
        Vec::new()
    };

    let title = match fm.title.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => t.to_string(),
        Some(_) => {
            return Err(Diagnostic::error(
                path,
                key_at("title"),
                "field `title` is empty",
            ))
        }
        None => match take_first_h1(&mut events) {
            Some(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => {
                return Err(Diagnostic::error(
                    path,
                    Some((if split.kind.is_some() { 1 } else { body_line }, 1)),
                    "missing field `title` (and no `# heading` in the body)",
                ))
            }
        },
    };

    let (category, stem) = category_and_stem(rel);
    let slug = fm
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(stem)
        .to_string();
    let given_link = match fm.link.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(l) => Some(absolute_link(l, &config.site.link).ok_or_else(|| {
            Diagnostic::error(
                path,
                key_at("link"),
                format!("field `link` {l:?} is not a URL"),
            )
        })?),
        None => None,
    };
    let id = match fm.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => tag_id(config, category, &slug, &date),
    };
    if !full {
        // Every check is made; what only a feed shows (link, summary,
        // names, image) is left unbuilt: the index keeps none of it.
        let entry = Article::index_entry(
            Arc::from(rel),
            category_name(category),
            slug,
            (date, updated),
            id,
            fm.draft.unwrap_or(false),
        );
        return Ok(Parsed::checked_entry(entry, warnings));
    }
    let link = given_link.unwrap_or_else(|| permalink(config, category, &slug, &date));
    let base = Url::parse(&link).ok();

    let mut has_html = false;
    let mut plain = String::new();
    let mut in_footnote = 0usize;
    for ev in events.iter_mut() {
        match ev {
            Event::Html(_) | Event::InlineHtml(_) => has_html = true,
            Event::Start(Tag::FootnoteDefinition(_)) => in_footnote += 1,
            Event::End(TagEnd::FootnoteDefinition) => in_footnote = in_footnote.saturating_sub(1),
            Event::Text(t) | Event::Code(t) if in_footnote == 0 => plain.push_str(t),
            Event::SoftBreak | Event::HardBreak => plain.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::CodeBlock,
            ) => plain.push(' '),
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                *dest_url = CowStr::from(safe_url(dest_url, base.as_ref()));
            }
            _ => {}
        }
    }
    let mut html = String::with_capacity(if full { split.body.len() * 3 / 2 } else { 0 });
    if full {
        pulldown_cmark::html::push_html(&mut html, events.into_iter());
    }
    // Footnote references are written as `href="#…"`; feed readers show the
    // item away from its page, so anchor them on the permalink too.
    if html.contains("href=\"#") {
        html = html.replace(
            "href=\"#",
            &format!(
                "href=\"{}#",
                html_escape::encode_double_quoted_attribute(&link)
            ),
        );
    }
    let content_html = if has_html {
        sanitize(&html, base.as_ref())
    } else {
        html
    };

    let summary = match fm
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => collapse_ws(s),
        None if full => truncate_chars(&collapse_ws(&plain), config.feeds.summary_chars),
        None => String::new(),
    };

    // `author` names first, in order, then `authors` (clean_list drops repeats).
    let mut authors: Vec<String> = fm.author.map(|n| n.0).unwrap_or_default();
    authors.extend(fm.authors.map(|n| n.0).unwrap_or_default());
    let authors = clean_list(authors);
    let authors = if authors.is_empty() {
        config.site.author.iter().cloned().collect()
    } else {
        authors
    };
    let tags = clean_list(fm.tags.map(|n| n.0).unwrap_or_default());
    let image = fm
        .image
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|i| match &base {
            Some(b) => b
                .join(i)
                .map(|u| u.to_string())
                .unwrap_or_else(|_| i.to_string()),
            None => i.to_string(),
        });
    let lang = fm
        .lang
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());

    Ok(Parsed {
        article: Article {
            rel: Arc::from(rel),
            category: category_name(category),
            slug,
            title: collapse_ws(&title),
            summary,
            content_html: Arc::from(content_html),
            date,
            updated,
            authors,
            tags,
            image,
            link,
            id,
            draft: fm.draft.unwrap_or(false),
            lang,
        },
        warnings,
        complete: full,
        checked: true,
        stamp: None,
    })
}

/// Whether `s` looks like a BCP 47 language tag (`en`, `zh-Hant-TW`).
pub fn is_language_tag(s: &str) -> bool {
    !s.is_empty()
        && s.split('-')
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Removes the first level-1 heading from the events and returns its text.
fn take_first_h1(events: &mut Vec<Event>) -> Option<String> {
    let start = events.iter().position(|e| {
        matches!(
            e,
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            })
        )
    })?;
    let end = start
        + events[start..]
            .iter()
            .position(|e| matches!(e, Event::End(TagEnd::Heading(HeadingLevel::H1))))?;
    let mut title = String::new();
    for e in &events[start..end] {
        if let Event::Text(t) | Event::Code(t) = e {
            title.push_str(t);
        }
    }
    events.drain(start..=end);
    Some(title)
}

/// Makes a URL absolute against `base` and neutralises scripting schemes.
fn safe_url(url: &str, base: Option<&Url>) -> String {
    let trimmed = url.trim();
    match Url::parse(trimmed) {
        Ok(u) => {
            if matches!(
                u.scheme(),
                "http" | "https" | "mailto" | "tel" | "ftp" | "news" | "xmpp"
            ) {
                trimmed.to_string()
            } else {
                String::new()
            }
        }
        Err(url::ParseError::RelativeUrlWithoutBase) => match base {
            Some(b) => b.join(trimmed).map(|u| u.to_string()).unwrap_or_default(),
            None => trimmed.to_string(),
        },
        Err(_) => String::new(),
    }
}

/// Sanitises HTML to ammonia's allow-list, making relative URLs absolute.
/// Only bodies with raw HTML pay for this; Markdown output is safe once
/// link targets are checked (see `safe_url`).
fn sanitize(html: &str, base: Option<&Url>) -> String {
    let mut builder = ammonia::Builder::default();
    builder.add_generic_attributes(["id"]);
    if let Some(b) = base {
        builder.url_relative(ammonia::UrlRelative::RewriteWithBase(b.clone()));
    }
    builder.clean(html).to_string()
}

fn absolute_link(l: &str, site_link: &str) -> Option<String> {
    match Url::parse(l) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u.to_string()),
        Ok(_) => None,
        Err(url::ParseError::RelativeUrlWithoutBase) => Url::parse(&format!("{site_link}/"))
            .ok()?
            .join(l)
            .ok()
            .map(|u| u.to_string()),
        Err(_) => None,
    }
}

/// Fills `site.article_url` for an article.
pub fn permalink(
    config: &Config,
    category: &str,
    slug: &str,
    date: &DateTime<FixedOffset>,
) -> String {
    use std::fmt::Write;
    // One pass over the template (a chain of `replace` calls cost ~12,000
    // instructions an article). Without a category, `{category}` first
    // takes a slash with it: the one after it, or else the one before it,
    // in the template's order (a root-level file; the rare case allocates).
    let trimmed;
    let t = if category.is_empty() && config.site.article_url.contains("{category}") {
        trimmed = config
            .site
            .article_url
            .replace("/{category}/", "/")
            .replace("{category}/", "")
            .replace("/{category}", "");
        trimmed.as_str()
    } else {
        config.site.article_url.as_str()
    };
    let mut out =
        String::with_capacity(t.len() + config.site.link.len() + 3 * (category.len() + slug.len()));
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        let (before, at) = rest.split_at(i);
        out.push_str(before);
        let Some(name) = crate::config::PLACEHOLDERS
            .iter()
            .find(|p| at.starts_with(**p))
        else {
            out.push('{');
            rest = &at[1..];
            continue;
        };
        rest = &at[name.len()..];
        // (Writing to a String cannot fail.)
        match *name {
            "{link}" => out.push_str(&config.site.link),
            "{base_url}" => out.push_str(&config.site.base_url),
            "{category}" => push_segment(&mut out, category),
            "{slug}" => push_segment(&mut out, slug),
            "{year}" => {
                let _ = write!(out, "{:04}", date.year());
            }
            "{month}" => {
                let _ = write!(out, "{:02}", date.month());
            }
            _ => {
                let _ = write!(out, "{:02}", date.day());
            }
        }
    }
    out.push_str(rest);
    out
}

/// The default id: `tag:{authority},{YYYY-MM-DD}:{category}/{slug}` (RFC 4151).
pub fn tag_id(config: &Config, category: &str, slug: &str, date: &DateTime<FixedOffset>) -> String {
    thread_local! {
        /// Where ids are put together: each id is then one allocation of
        /// its exact size, however much percent-encoding grew it.
        static ID_BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    ID_BUF.with_borrow_mut(|id| {
        id.clear();
        build_tag_id(id, &config.site.id_authority, category, slug, date);
        id.as_str().into()
    })
}

fn build_tag_id(
    id: &mut String,
    authority: &str,
    category: &str,
    slug: &str,
    date: &DateTime<FixedOffset>,
) {
    use std::fmt::Write;
    id.push_str("tag:");
    id.push_str(authority);
    // Every file of a first load gets here: one buffer, digits by hand.
    // The local date, worked out once (each accessor of a zoned time
    // would add the offset again).
    let day = date.date_naive();
    let year = day.year();
    if (0..=9999).contains(&year) {
        let y = year as u32;
        let (m, d) = (day.month(), day.day());
        let digits = [
            b',',
            b'0' + (y / 1000 % 10) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
            b'-',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
            b'-',
            b'0' + (d / 10) as u8,
            b'0' + (d % 10) as u8,
            b':',
        ];
        // ASCII digits and punctuation only.
        id.push_str(std::str::from_utf8(&digits).unwrap_or_default());
    } else {
        let _ = write!(
            id,
            ",{:04}-{:02}-{:02}:",
            date.year(),
            date.month(),
            date.day()
        );
    }
    if !category.is_empty() {
        push_segment(id, category);
        id.push('/');
    }
    push_segment(id, slug);
}

/// Collapses runs of whitespace into single spaces and trims.
pub fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Cuts `s` to at most `n` characters at a character boundary, adding `…`
/// when it was cut.
pub fn truncate_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        None => s.to_string(),
        Some((i, _)) => {
            let mut cut = s[..i].trim_end().to_string();
            cut.push('…');
            cut
        }
    }
}

fn clean_list(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        let s = collapse_ws(&s);
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Plain text

static PINYIN: LazyLock<Regex> = LazyLock::new(|| {
    // A Han character, then a parenthesised pinyin syllable with a tone mark.
    const L: &str = "a-zA-ZüÜāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙ";
    const T: &str = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙ";
    let re = format!(r"(\p{{Han}})[(（][{L}]*[{T}][{L}]*[)）]");
    // The pattern is a constant; Regex::new only fails on invalid syntax.
    Regex::new(&re).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex compiles"))
});

/// Removes pinyin annotations: `務(wù)` → `務`. Other parentheses stay.
pub fn strip_pinyin(s: &str) -> std::borrow::Cow<'_, str> {
    PINYIN.replace_all(s, "$1")
}

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$|^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$")
        .unwrap_or_else(|_| Regex::new("$^").expect("trivial regex compiles"))
});

/// Parses a timestamp line, or `None` if the line is not only a date-time.
/// `Some(Err)` for a timestamp-shaped line with impossible values.
fn timestamp_line(line: &str, zone: &SiteZone) -> Option<Result<DateTime<FixedOffset>, String>> {
    let [y, mo, d, h, mi, s] = timestamp_fields(line)?;
    // A digit that is not ASCII reads as u32::MAX, which as an i32 year
    // would be the year -1: it is as impossible as a 13th month.
    let year = i32::try_from(y).ok();
    let naive = year
        .and_then(|y| NaiveDate::from_ymd_opt(y, mo, d))
        .and_then(|d| d.and_hms_opt(h, mi, s));
    Some(match naive {
        Some(n) => check_year(zone.localize(n)),
        None => Err(format!("impossible date-time {line:?}")),
    })
}

/// Year, month, day, hour, minute and second (0 when absent) of a line
/// `TIMESTAMP` matches whole; a digit that is not ASCII reads as
/// `u32::MAX` (an impossible date).
fn timestamp_fields(line: &str) -> Option<[u32; 6]> {
    // Both forms start with a digit (`\d` is Unicode's Nd, within
    // `is_numeric`): most lines of an export are out at their first letter.
    if !line.chars().next().is_some_and(char::is_numeric) {
        return None;
    }
    if line.is_ascii() {
        // The usual `2025-03-05 11:42:10`, without the regex's captures
        // (~10,000 instructions a line); the `年月日` form is never ASCII.
        return ascii_timestamp(line.as_bytes());
    }
    regex_timestamp(line)
}

/// [`timestamp_fields`] by `TIMESTAMP`'s captures, for any line.
fn regex_timestamp(line: &str) -> Option<[u32; 6]> {
    let c = TIMESTAMP.captures(line)?;
    let g = |i: usize, j: usize| {
        c.get(i)
            .or_else(|| c.get(j))
            .map(|m| m.as_str().parse::<u32>().unwrap_or(u32::MAX))
    };
    Some([
        g(1, 7)?,
        g(2, 8)?,
        g(3, 9)?,
        g(4, 10)?,
        g(5, 11)?,
        g(6, 12).unwrap_or(0),
    ])
}

/// `TIMESTAMP`'s first form on ASCII text: `YYYY-M[M]-D[D]` then a space
/// or `T`, `H[H]:MM` and optionally `:SS`, the whole line. Year, month,
/// day, hour, minute and second (0 when absent).
fn ascii_timestamp(b: &[u8]) -> Option<[u32; 6]> {
    // Digits from `*at`, at least `min` and at most `max` of them; then,
    // unless `then` is empty, one of the bytes in `then`.
    fn field(b: &[u8], at: &mut usize, (min, max): (usize, usize), then: &[u8]) -> Option<u32> {
        let start = *at;
        while *at < b.len() && *at - start < max && b[*at].is_ascii_digit() {
            *at += 1;
        }
        if *at - start < min {
            return None;
        }
        let v = b[start..*at]
            .iter()
            .fold(0u32, |v, c| v * 10 + u32::from(c - b'0'));
        if !then.is_empty() {
            if !then.contains(b.get(*at)?) {
                return None;
            }
            *at += 1;
        }
        Some(v)
    }
    let at = &mut 0;
    let y = field(b, at, (4, 4), b"-")?;
    let mo = field(b, at, (1, 2), b"-")?;
    let d = field(b, at, (1, 2), b" T")?;
    let h = field(b, at, (1, 2), b":")?;
    let mi = field(b, at, (2, 2), b"")?;
    let s = match b.get(*at) {
        None => 0,
        Some(b':') => {
            *at += 1;
            field(b, at, (2, 2), b"")?
        }
        Some(_) => return None,
    };
    (*at == b.len()).then_some([y, mo, d, h, mi, s])
}

fn ends_in_sentence_punct(s: &str) -> bool {
    s.chars()
        .last()
        .is_some_and(|c| "。！？.!?…”\"".contains(c))
}

fn split_names(rest: &str) -> Vec<String> {
    let parts: Vec<&str> = rest
        .split([',', '，', '、', ';', '；'])
        .flat_map(|p| p.split(" and "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    // "林金彥 楊光": names in scripts without spaces inside a name are
    // separated by spaces; "Jane Doe" stays one name.
    let mut out = Vec::new();
    for p in parts {
        if p.chars().any(|c| c.is_ascii_alphabetic()) {
            out.push(collapse_ws(p));
        } else {
            out.extend(p.split_whitespace().map(str::to_string));
        }
    }
    out
}

fn parse_text(
    path: &Path,
    rel: &str,
    text: &str,
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
    full: bool,
) -> Result<Parsed, Diagnostic> {
    let zone = &config.site.timezone;
    let mut lines: Vec<(usize, Cow<str>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let l = if config.text.strip_pinyin {
            strip_pinyin(l)
        } else {
            Cow::Borrowed(l)
        };
        lines.push((i + 1, l));
    }
    let mut warnings = Vec::new();
    let Some(title) = lines.first().map(|(_, t)| t.to_string()) else {
        return Err(Diagnostic::error(path, None, "empty file"));
    };
    let is_byline = |l: &str| {
        config
            .text
            .byline_prefixes
            .iter()
            .any(|p| l.starts_with(p.as_str()))
    };
    let is_footer = |l: &str| {
        config
            .text
            .footer_markers
            .iter()
            .any(|m| l.contains(m.as_str()))
    };

    let mut subtitle = None;
    let mut rest = &lines[1..];
    if let Some((_, second)) = rest.first() {
        if !is_byline(second)
            && timestamp_line(second, zone).is_none()
            && !is_footer(second)
            && !ends_in_sentence_punct(second)
            && second.chars().count() <= 60
        {
            subtitle = Some(second.to_string());
            rest = &rest[1..];
        }
    }
    let mut authors = Vec::new();
    let mut date = None;
    let mut paragraphs = Vec::new();
    for (line_no, l) in rest {
        if let Some(prefix) = config
            .text
            .byline_prefixes
            .iter()
            .find(|p| l.starts_with(p.as_str()))
        {
            for n in split_names(&l[prefix.len()..]) {
                if !authors.contains(&n) {
                    authors.push(n);
                }
            }
        } else if let Some(ts) = timestamp_line(l, zone) {
            match ts {
                Ok(dt) if date.is_none() => date = Some(dt),
                Ok(_) => {}
                Err(m) if date.is_none() => {
                    return Err(Diagnostic::error(path, Some((*line_no, 1)), m))
                }
                Err(_) => {}
            }
        } else if is_footer(l) {
            continue;
        } else {
            paragraphs.push(l.as_ref());
        }
    }
    let date = match date.or(mtime) {
        Some(d) => check_year(d).map_err(|m| Diagnostic::error(path, None, m))?,
        None => {
            return Err(Diagnostic::error(
                path,
                None,
                "no timestamp line and no file modification time",
            ))
        }
    };
    if authors.is_empty() {
        authors.extend(config.site.author.iter().cloned());
    }
    if paragraphs.is_empty() {
        warnings.push(Diagnostic::warning(path, None, "no body paragraphs"));
    }
    let (category, stem) = category_and_stem(rel);
    let slug = stem.to_string();
    let id = tag_id(config, category, &slug, &date);
    if !full {
        // Checked in full; the body, summary and link are left unbuilt.
        let entry = Article::index_entry(
            Arc::from(rel),
            category_name(category),
            slug,
            (date, date),
            id,
            false,
        );
        return Ok(Parsed::checked_entry(entry, warnings));
    }
    let mut html = String::new();
    for p in &paragraphs {
        html.push_str("<p>");
        html.push_str(&html_escape::encode_text(p));
        html.push_str("</p>\n");
    }
    let summary = match &subtitle {
        Some(s) => s.clone(),
        None => truncate_chars(
            &collapse_ws(&paragraphs.join(" ")),
            config.feeds.summary_chars,
        ),
    };
    let link = permalink(config, category, &slug, &date);
    Ok(Parsed {
        article: Article {
            rel: Arc::from(rel),
            category: category_name(category),
            slug,
            title,
            summary,
            content_html: Arc::from(html),
            date,
            updated: date,
            authors,
            tags: Vec::new(),
            image: None,
            link,
            id,
            draft: false,
            lang: None,
        },
        warnings,
        complete: true,
        checked: true,
        stamp: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    const SEED_LAYOUT: &str = "\
城市更新條例(lì)公布施(shī)行
明確老舊小區改造、社區服務等重點
3月5日上午,市人大常委會舉行新聞發(fā)布會,介紹《城市更新實施方案(2025—2027年)》。
方案提出,到2027年完成老舊小區改造120個。
會議還通報了其他事項。
記者 周明遠 陳曉
2025-03-05 11:42:10
2025-03-05 09:00:00
2024-12-30 08:00:00
本站 2006-2025 版權所有 市新聞中心
備案號:魯ICP備000000號
違法和不良信息舉報電話:0000
";

    #[test]
    fn seed_layout_parses_to_title_summary_authors_date_and_paragraphs() {
        let c = config("[text]\nstrip_pinyin = true\n");
        let p = parse(
            Path::new("/c/politics/renewal.txt"),
            "politics/renewal.txt",
            SEED_LAYOUT,
            None,
            &c,
        )
        .unwrap();
        let a = p.article;
        assert_eq!(a.title, "城市更新條例公布施行");
        assert_eq!(a.summary, "明確老舊小區改造、社區服務等重點");
        assert_eq!(a.authors, vec!["周明遠", "陳曉"]);
        assert_eq!(a.date.to_rfc3339(), "2025-03-05T11:42:10+08:00");
        assert_eq!(
            &*a.content_html,
            "<p>3月5日上午,市人大常委會舉行新聞發布會,介紹《城市更新實施方案(2025—2027年)》。</p>\n\
             <p>方案提出,到2027年完成老舊小區改造120個。</p>\n<p>會議還通報了其他事項。</p>\n"
        );
        assert!(!a.content_html.contains("版權所有"));
        assert!(!a.content_html.contains("ICP"));
        assert_eq!(&*a.category, "politics");
        assert_eq!(a.link, "https://news.example.cn/politics/renewal.html");
        assert_eq!(a.id, "tag:news.example.cn,2025-03-05:politics/renewal");
    }

    #[test]
    fn pinyin_is_kept_without_strip_pinyin() {
        let p = parse(
            Path::new("/c/x/a.txt"),
            "x/a.txt",
            SEED_LAYOUT,
            None,
            &config(""),
        )
        .unwrap();
        assert_eq!(p.article.title, "城市更新條例(lì)公布施(shī)行");
    }

    #[test]
    fn strip_pinyin_keeps_other_parentheses() {
        assert_eq!(
            strip_pinyin("常務(wù)會議(2025—2027年)發(fā)展(fazhan)"),
            "常務會議(2025—2027年)發展(fazhan)"
        );
        assert_eq!(strip_pinyin("(wù)開頭 A(wù)"), "(wù)開頭 A(wù)");
    }

    #[test]
    fn text_without_subtitle_takes_summary_from_body_and_mtime_as_date() {
        let c = config("[feeds]\nsummary_chars = 5\n");
        let mtime = DateTime::parse_from_rfc3339("2025-01-02T03:04:05+00:00").unwrap();
        let t = "標題\n這是第一段，很長的正文內容。\n";
        let a = parse(Path::new("/c/a.txt"), "a.txt", t, Some(mtime), &c)
            .unwrap()
            .article;
        assert_eq!(a.summary, "這是第一段…");
        assert_eq!(a.date, mtime);
        assert_eq!(&*a.category, "");
        assert_eq!(a.link, "https://news.example.cn/a.html");
        assert_eq!(a.id, "tag:news.example.cn,2025-01-02:a");
    }

    #[test]
    fn a_timestamp_with_fullwidth_digits_is_an_impossible_date_time() {
        let text = "標題\n２０２５-03-05 10:00\n正文。\n";
        let e = parse(Path::new("/c/a/x.txt"), "a/x.txt", text, None, &config("")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/a/x.txt:2:1: error: impossible date-time \"２０２５-03-05 10:00\""
        );
    }

    #[test]
    fn chinese_date_timestamps_and_english_bylines() {
        let t = "Title\nBy Jane Doe, John Roe\n2025年3月7日 09:30\nBody.\n";
        let a = parse(Path::new("/c/a/b.txt"), "a/b.txt", t, None, &config(""))
            .unwrap()
            .article;
        assert_eq!(a.authors, vec!["Jane Doe", "John Roe"]);
        assert_eq!(a.date.to_rfc3339(), "2025-03-07T09:30:00+08:00");
        assert_eq!(&*a.content_html, "<p>Body.</p>\n");
        assert_eq!(a.summary, "Body.");
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
                 [map](map.html) ![p](../p.png) [bad](javascript:alert(1)) note[^n]\n\n[^n]: The note.\n\n\
                 <p onclick=\"x()\">Hi <a href=\"rel.html\">r</a></p><script>alert(1)</script>\n";
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
        assert_eq!(
            a.image.as_deref(),
            Some("https://news.example.cn/city/img/lead.png")
        );
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

    #[test]
    fn ignored_names() {
        let c = config("[content]\nignore = [\"*.bak\", \"private/**\", \"a/drafts\"]\n");
        let ignored = [
            "a/.x.md",
            ".git/a.md",
            "a/b.md~",
            "a/.b.md.swp",
            "a/4913",
            "a/#b.md#",
            "a/x.bak",
            "private/a.md",
        ];
        for p in ignored {
            assert!(is_ignored(p, &c), "{p}");
        }
        assert!(!is_ignored("a/b.md", &c));
        // In a walk every folder above the name has passed the check, so
        // looking at the name (and the globs on the whole path) suffices.
        // (A walk never reaches `.git/a.md`: its folder is hidden.)
        let more = [
            "a/b.md",
            "private",
            "private/deep/a.md",
            "a/drafts",
            "a/drafts.md",
            "top.md",
            ".hidden",
        ];
        for p in ignored
            .into_iter()
            .filter(|p| !p.starts_with(".git/"))
            .chain(more)
        {
            let name = p.rsplit('/').next().unwrap();
            assert_eq!(is_ignored_in_walk(p, name, &c), is_ignored(p, &c), "{p}");
        }
    }
}

#[cfg(test)]
mod quick_tests {
    use super::*;
    use proptest::prelude::*;

    fn config() -> Config {
        super::tests::config("timezone = \"Asia/Shanghai\"\n")
    }

    fn full(rel: &str, text: &str, config: &Config) -> Result<Parsed, Diagnostic> {
        parse_meta(Path::new(rel), rel, text, None, config)
    }

    /// The permalink as a chain of `replace` calls made it before the
    /// one-pass version: the reference it must agree with.
    fn permalink_by_replace(
        config: &Config,
        category: &str,
        slug: &str,
        date: &DateTime<FixedOffset>,
    ) -> String {
        let mut t = config.site.article_url.clone();
        if category.is_empty() {
            t = t
                .replace("/{category}/", "/")
                .replace("{category}/", "")
                .replace("/{category}", "");
        }
        t.replace("{link}", &config.site.link)
            .replace("{base_url}", &config.site.base_url)
            .replace("{category}", &encode_segment(category))
            .replace("{slug}", &encode_segment(slug))
            .replace("{year}", &format!("{:04}", date.year()))
            .replace("{month}", &format!("{:02}", date.month()))
            .replace("{day}", &format!("{:02}", date.day()))
    }

    #[test]
    fn permalink_of_a_root_level_file_drops_each_category_with_a_slash() {
        let mut config = config();
        let date = DateTime::parse_from_rfc3339("2025-03-05T01:30:00+08:00").unwrap();
        for (template, want) in [
            (
                "{link}/{category}/{slug}.html",
                "https://news.example.cn/a.html",
            ),
            (
                "{link}/{category}/{category}-{slug}",
                "https://news.example.cn-a",
            ),
            ("{link}/{slug}/{category}", "https://news.example.cn/a"),
            (
                "{link}/{year}/{category}/{slug}",
                "https://news.example.cn/2025/a",
            ),
        ] {
            config.site.article_url = template.into();
            assert_eq!(permalink(&config, "", "a", &date), want, "{template}");
            assert_eq!(
                permalink_by_replace(&config, "", "a", &date),
                want,
                "{template}"
            );
        }
    }

    #[test]
    fn timestamp_lines_read_as_the_regex_reads_them() {
        for line in [
            "2025-03-05 11:42:10",
            "2025-3-5T9:07",
            "2025-03-05 11:42:1",
            "2025-03-05 11:42:",
            "2025-03-05  11:42",
            "2025-03-05 11:42:10 ",
            "25-03-05 11:42",
            "2025-003-05 11:42",
            "2025年3月5日 11:42",
            "２０２５-03-05 11:42",
            "2025-03-05 11:4２",
            "x2025-03-05 11:42",
            "記者 2025-03-05 11:42",
            "",
        ] {
            assert_eq!(timestamp_fields(line), regex_timestamp(line), "{line:?}");
        }
        assert_eq!(
            timestamp_fields("2025-3-5T9:07"),
            Some([2025, 3, 5, 9, 7, 0])
        );
    }

    proptest! {
        #[test]
        fn any_line_reads_as_the_regex_reads_it(
            // Mostly well-formed fields and separators, each sometimes off.
            year in prop_oneof![8 => "[0-9]{4}", 1 => "[0-9]{3}", 1 => "[0-9]{5}"],
            month in prop_oneof![8 => "[0-9]{1,2}", 1 => "", 1 => "[0-9]{3}"],
            day in prop_oneof![7 => "[0-9]{1,2}", 1 => "", 1 => "[0-9]{3}", 1 => "[0-9]?２"],
            hour in prop_oneof![8 => "[0-9]{1,2}", 1 => "", 1 => "[0-9]{3}"],
            minute in prop_oneof![8 => "[0-9]{2}", 1 => "[0-9]", 1 => "[0-9]{3}"],
            second in prop_oneof![4 => "", 4 => ":[0-9]{2}", 1 => ":[0-9]{0,3}", 1 => "[ x:年]"],
            dash in prop_oneof![8 => "-", 1 => ":", 1 => " "],
            dash2 in prop_oneof![8 => "-", 1 => "月", 1 => ""],
            mid in prop_oneof![4 => " ", 4 => "T", 1 => "  ", 1 => "t"],
            colon in prop_oneof![8 => ":", 2 => "-"],
        ) {
            let line = format!("{year}{dash}{month}{dash2}{day}{mid}{hour}{colon}{minute}{second}");
            prop_assert_eq!(timestamp_fields(&line), regex_timestamp(&line), "{:?}", line);
        }

        #[test]
        fn permalink_expands_any_template_as_replace_did(
            parts in proptest::collection::vec(prop::sample::select(vec![
                "{link}", "{base_url}", "{category}", "{category}", "{slug}", "{year}",
                "{month}", "{day}", "/", "/", "a", "{", "}", ".html", "{cat", "x{",
            ]), 0..12),
            category in prop::sample::select(vec!["", "", "politics", "社会", "a b"]),
            slug in prop::sample::select(vec!["s", "新闻 1", "{slug}", "a%b"]),
        ) {
            let mut config = config();
            config.site.article_url = parts.concat();
            let date = DateTime::parse_from_rfc3339("0999-03-05T01:30:00+08:00").unwrap();
            prop_assert_eq!(
                permalink(&config, category, slug, &date),
                permalink_by_replace(&config, category, slug, &date),
                "template {:?}", config.site.article_url
            );
        }
    }

    /// A quick load of `rel` written with `text` in a fresh content folder.
    fn quick_load(rel: &str, text: &[u8], config: &Config) -> Result<Parsed, Diagnostic> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        load_at(dir.path(), rel, config, Depth::Quick)
    }

    #[test]
    fn quick_load_of_a_small_simple_file_leaves_stat_and_stamp_to_the_check() {
        let config = config();
        let text = "+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\n+++\nBody.\n";
        let p = quick_load("news/a.md", text.as_bytes(), &config).unwrap();
        assert!(!p.checked && p.stamp.is_none());
        assert_eq!(
            p.article,
            full("news/a.md", text, &config).unwrap().article.slimmed()
        );
    }

    #[test]
    fn quick_load_of_a_file_longer_than_one_read_is_stamped_and_indexed() {
        let config = config();
        let body = "正文。".repeat(QUICK_READ / 4);
        let text = format!("+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\n+++\n{body}\n");
        assert!(text.len() > QUICK_READ);
        let p = quick_load("news/a.md", text.as_bytes(), &config).unwrap();
        assert!(!p.checked);
        assert_eq!(p.stamp.map(|s| s.1), Some(text.len() as u64));
        assert_eq!(p.article.date.to_rfc3339(), "2024-01-01T08:00:00+08:00");
    }

    #[test]
    fn quick_load_keeps_the_size_cap() {
        let mut config = config();
        config.content.max_file_bytes = 64;
        let text =
            "+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\n+++\nA body past the cap.\n";
        assert!(text.len() > 64);
        let e = quick_load("news/a.md", text.as_bytes(), &config).unwrap_err();
        assert!(e.message.contains("over content.max_file_bytes"), "{e}");
    }

    #[test]
    fn quick_load_of_an_export_without_a_timestamp_is_dated_by_its_mtime() {
        let config = config();
        let p = quick_load("news/a.txt", "标题\n\n第一段正文。\n".as_bytes(), &config).unwrap();
        let (mtime, _) = p.stamp.expect("read with fstat, for the date");
        let mtime = DateTime::<chrono::Utc>::from(mtime).timestamp();
        assert_eq!(p.article.date.timestamp(), mtime);
    }

    #[test]
    fn quick_load_cap_holds_at_its_edge_and_with_a_grown_buffer() {
        let mut config = config();
        let head = "+++\ntitle = \"t\"\ndate = 2024-01-01T08:00:00+08:00\n+++\n";
        // First a long file on this thread: its buffer keeps the capacity,
        // more than the capped file asks for.
        let long = format!("{head}{}\n", "x".repeat(100_000));
        assert!(quick_load("news/long.md", long.as_bytes(), &config).is_ok());
        config.content.max_file_bytes = 200;
        let fits = format!("{head}{}", "y".repeat(200 - head.len()));
        assert_eq!(fits.len(), 200);
        assert!(quick_load("news/a.md", fits.as_bytes(), &config).is_ok());
        let over = format!("{fits}z");
        let e = quick_load("news/a.md", over.as_bytes(), &config).unwrap_err();
        assert!(e.message.contains("over content.max_file_bytes"), "{e}");
    }

    #[test]
    fn quick_load_of_a_gb18030_export_falls_back_to_the_full_read() {
        let config = config();
        let text = "港口新闻\n2024-05-06 07:08\n第一段正文。\n";
        let (bytes, _, bad) = encoding_rs::GB18030.encode(text);
        assert!(!bad && std::str::from_utf8(&bytes).is_err());
        let p = quick_load("news/a.txt", &bytes, &config).unwrap();
        assert_eq!(p.article.date.to_rfc3339(), "2024-05-06T07:08:00+08:00");
        // Checked in full (as an index entry: the body is read when shown).
        assert!(p.stamp.is_some() && p.checked && p.article.is_slim());
        let whole = full_text("news/a.txt", text, None, &config).unwrap();
        assert_eq!(p.article, whole.article.slimmed());
    }

    #[test]
    fn quick_load_refuses_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("news")).unwrap();
        let fifo = dir.path().join("news/a.md");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let e = load_at(dir.path(), "news/a.md", &config(), Depth::Quick).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
    }

    #[test]
    fn simple_front_matter_is_indexed_quickly_and_equals_the_full_read() {
        let config = config();
        let text = "+++\ntitle = \"全市 \\\"quoted\\\" news\"\ndate = 2024-01-01T08:00:13+08:00\nauthor = \"陈静\"\ntags = [\"环保\", \"health\"]\nsummary = 'one # two'\n# a comment\nslug = \"my-slug\" # trailing\ndraft = false\n+++\nBody.\n";
        let quick = quick_meta("politics/a1.md", text.as_bytes(), None, &config)
            .expect("simple front matter");
        let parsed = full("politics/a1.md", text, &config).unwrap();
        assert_eq!(quick, parsed.article);
        assert_eq!(quick.slug, "my-slug");
        assert_eq!(quick.date.to_rfc3339(), "2024-01-01T08:00:13+08:00");
        // A string date, a local date, an id, and updated.
        let text = "+++\ntitle = \"x\"\ndate = \"2024-03-02 10:20\"\nupdated = 2024-03-05\nid = \"urn:x:1\"\n+++\n";
        let quick = quick_meta("a/b.md", text.as_bytes(), None, &config).expect("simple");
        assert_eq!(quick, full("a/b.md", text, &config).unwrap().article);
        assert_eq!(quick.id, "urn:x:1");
    }

    #[test]
    fn anything_not_simple_is_left_to_the_full_parser() {
        let config = config();
        for front in [
            "title = \"x\"\ndate = 2024-01-01T08:00:00Z\n[extra]\ndate = 2020-01-01\n",
            "title = \"x\"\nsummary = \"\"\"\ndate = 1999-01-01\n\"\"\"\ndate = 2024-01-01\n",
            "title = \"x\"\ntags = [\n\"a\",\n]\ndate = 2024-01-01\n",
            "title = \"x\"\n\"date\" = 2024-01-01\n",
            "title = \"x\"\nsite.date = 2024-01-01\ndate = 2024-01-01\n",
            "title = \"x\"\ndate = 2024-01-01\ndate = 2024-01-02\n",
            "title = \"x\"\ndate = \"2024-01-01\\u0031\"\n",
            "title = \"x\"\ndate = 08:00:00\n",
            "title = \"x\"\ndate = 2024-01-01\nid = \"a\\tb\"\n",
            "title = \"x\"\ndate = 2024-01-01\ndraft = yes\n",
            "title = \"x\"\n",
        ] {
            let text = format!("+++\n{front}+++\nbody\n");
            assert_eq!(
                quick_meta("c/a.md", text.as_bytes(), None, &config),
                None,
                "{front}"
            );
        }
        // YAML, CRLF and unterminated front matter too.
        for (rel, text) in [
            ("c/a.md", "---\ntitle: x\ndate: 2024-01-01\n---\n"),
            (
                "c/a.md",
                "+++\r\ntitle = \"x\"\r\ndate = 2024-01-01\r\n+++\r\n",
            ),
            ("c/a.md", "+++\ntitle = \"x\"\ndate = 2024-01-01\n"),
        ] {
            assert_eq!(
                quick_meta(rel, text.as_bytes(), None, &config),
                None,
                "{text}"
            );
        }
    }

    fn full_text(
        rel: &str,
        text: &str,
        mtime: Option<DateTime<FixedOffset>>,
        config: &Config,
    ) -> Result<Parsed, Diagnostic> {
        parse_meta(Path::new(rel), rel, text, mtime, config)
    }

    /// The quick index entry of an export, asserted equal to the full
    /// parser's (slim) one.
    fn quick_equals_full(
        rel: &str,
        text: &str,
        mtime: Option<DateTime<FixedOffset>>,
        config: &Config,
    ) -> Article {
        let quick = quick_meta(rel, text.as_bytes(), mtime, config).expect("a simple export");
        assert_eq!(quick, full_text(rel, text, mtime, config).unwrap().article);
        quick
    }

    #[test]
    fn text_exports_are_indexed_by_their_first_timestamp_line() {
        let mut config = config();
        config.text.strip_pinyin = true;
        let mtime = DateTime::parse_from_rfc3339("2020-05-06T07:08:09+00:00").ok();
        // The date is the first timestamp line; a second one is furniture,
        // and lines starting with digits that are not timestamps are body.
        let text = "\u{feff}河阳轴承出口增长\n2024年上半年出口额\n\n  12 家企业参加。\n記者 刘洋\n2024-12-06 11:35:39\n2024-12-06 09:35\n本网 版權所有\n";
        let quick = quick_equals_full("business/a1.txt", text, mtime, &config);
        assert_eq!(quick.date.to_rfc3339(), "2024-12-06T11:35:39+08:00");
        // The Chinese form, after a pinyin annotation is stripped.
        let text = "標題\n2025年2月27日(rì) 18:07\n正文。\n";
        let quick = quick_equals_full("c/b.txt", text, mtime, &config);
        assert_eq!(quick.date.to_rfc3339(), "2025-02-27T18:07:00+08:00");
        // No timestamp line: the modification time, as in the full read.
        let text = "標題\n正文。\n";
        let quick = quick_equals_full("c/c.txt", text, mtime, &config);
        assert_eq!(quick.date, mtime.unwrap());
        // A byline that starts with a digit is a byline, never the date.
        config.text.byline_prefixes.push("2024".into());
        let text = "標題\n2024-01-01 08:00\n2025-01-01 08:00\n";
        let quick = quick_equals_full("c/d.txt", text, mtime, &config);
        assert_eq!(quick.date.to_rfc3339(), "2025-01-01T08:00:00+08:00");
    }

    #[test]
    fn text_exports_the_full_parser_refuses_are_left_to_it() {
        let config = config();
        let mtime = DateTime::parse_from_rfc3339("2020-05-06T07:08:09+00:00").ok();
        for text in [
            "",
            "  \n\n",
            "標題\n2024-02-30 08:00\n",
            "標題\n２０２４-01-01 08:00\n",
            "標題\r\n2024-01-01 08:00\r\n",
            "標題\n\0\n",
        ] {
            assert_eq!(
                quick_meta("c/a.txt", text.as_bytes(), mtime, &config),
                None,
                "{text:?}"
            );
        }
        // GB18030 (not UTF-8) and no date at all: the full read decides.
        assert_eq!(
            quick_meta("c/a.txt", b"\xb1\xea\xcc\xe2\n", mtime, &config),
            None
        );
        assert_eq!(
            quick_meta("c/a.txt", "標題\n".as_bytes(), None, &config),
            None
        );
    }

    /// One line of a plain-text export, from the forms the parser tells apart.
    fn text_line() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "標題",
            "",
            "   ",
            "2024-12-06 11:35:39",
            "2024-12-06 09:35",
            "2024-13-06 09:35",
            "2024-02-29T23:59",
            "2023-02-29 10:00",
            "2025年2月27日 18:07",
            "2025年2月27日(rì) 18:07",
            "2025年2月30日 18:07",
            "２０２４-01-01 08:00",
            "9999-12-31 23:59:59",
            "0000-01-01 00:00",
            "12 家企业参加。",
            "2024-12-06 11:35:39 更新",
            "記者 刘洋 张伟",
            "记者 2024-12-06 11:35",
            "本网 2006-2025 版權所有",
            "備案號：魯ICP備00000000號",
            "常務(wù)會議召開",
            "\u{feff}",
            "(wù)",
        ])
        .prop_map(str::to_string)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The quick readers' line splitter cuts texts without carriage
        /// returns exactly where [`str::lines`] does.
        #[test]
        fn split_lines_agrees_with_str_lines(text in "[a\n=é ]{0,40}") {
            prop_assert_eq!(
                split_lines(&text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>()
            );
        }

        /// Whenever the quick reader answers for a text export and the
        /// full parser accepts it, they agree on every indexed field.
        #[test]
        fn quick_text_index_agrees_with_the_full_parser(
            lines in prop::collection::vec(text_line(), 0..8),
            pinyin in any::<bool>(),
            with_mtime in any::<bool>(),
        ) {
            let mut config = config();
            config.text.strip_pinyin = pinyin;
            let mtime = with_mtime
                .then(|| DateTime::parse_from_rfc3339("2020-05-06T07:08:09+00:00").unwrap());
            let text = lines.join("\n");
            match (
                quick_meta("news/a.txt", text.as_bytes(), mtime, &config),
                full_text("news/a.txt", &text, mtime, &config),
            ) {
                (Some(quick), Ok(parsed)) => prop_assert_eq!(quick, parsed.article, "{:?}", text),
                (Some(quick), Err(e)) => prop_assert!(false, "quick {:?} but full fails: {}\n{:?}", quick, e, text),
                _ => {}
            }
        }
    }

    /// One front-matter line, from forms the quick reader takes and forms it must refuse.
    fn line() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "title", "date", "updated", "id", "slug", "draft", "author", "tags", "summary", "lang",
            "extra", "date.x", "\"date\"",
        ]);
        let value = prop::sample::select(vec![
            "\"x\"",
            "'y'",
            "\"a # b\"",
            "\"a\\\"b\"",
            "\"\"",
            "\"  \"",
            "2024-01-01",
            "2024-02-30",
            "2024-01-01T08:00:00+08:00",
            "2024-01-01 08:00:00Z",
            "2024-01-01T08:00:00.5-05:00",
            "2024-01-01T08:00:00",
            "2024-01-01T08:00",
            "\"2024-01-01 08:00\"",
            "'2024-06-01T00:00:00+09:00'",
            "\"10000-01-01\"",
            "9999-12-31T23:59:59-12:00",
            "true",
            "false",
            "1",
            "[\"a\", \"b\"]",
            "[",
            "{ a = 1 }",
            "\"\"\"",
            "'''",
            "\"unterminated",
            "2024-01-01 # note",
            "\"tab\there\"",
        ]);
        prop_oneof![
            8 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => Just("# comment".to_string()),
            1 => Just("".to_string()),
            1 => Just("[table]".to_string()),
            1 => Just("\"\"\"".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whenever the quick reader answers and the full parser accepts
        /// the file, they agree on every indexed field.
        #[test]
        fn quick_index_agrees_with_the_full_parser(lines in prop::collection::vec(line(), 0..8)) {
            let config = config();
            let text = format!("+++\n{}\n+++\n# Heading\n\nbody\n", lines.join("\n"));
            if let (Some(quick), Ok(parsed)) = (
                quick_meta("news/a.md", text.as_bytes(), None, &config),
                full("news/a.md", &text, &config),
            ) {
                prop_assert_eq!(quick, parsed.article, "{}", text);
            }
        }
    }
}
