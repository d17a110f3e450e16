//! Reading an article file: to the depth a caller needs ([`Depth`]), from
//! its path or by name in an open folder, through the quick index when the
//! front matter allows; and parsing text already read ([`parse`],
//! [`parse_meta`]).

use std::path::Path;

use super::markdown::{check_markdown, parse_markdown};
use super::quick_index::{self, quick_meta};
use super::text_export::{check_text, parse_text};
use super::*;
use crate::config::Config;
use crate::content::read::{decode, read_into, read_quick, FilePath, QUICK_HEAD, QUICK_READ};
use crate::content::rules::{kind_of, FileKind};

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
    match load_at(content_dir, rel, config, Depth::Full)? {
        Reading::Full(parsed) => Ok(parsed),
        // `load_in` answers `Depth::Full` with `Reading::Full` only.
        Reading::Indexed(_) => unreachable!("a full load gives a full article"),
    }
}

/// Like [`load`], but leaves the body unrendered (see [`parse_meta`]).
///
/// Fails exactly when [`load`] would.
pub fn load_meta(content_dir: &Path, rel: &str, config: &Config) -> Result<Indexed, Diagnostic> {
    match load_at(content_dir, rel, config, Depth::Meta)? {
        Reading::Indexed(indexed) => Ok(indexed),
        // `load_in` answers `Depth::Meta` with `Reading::Indexed` only.
        Reading::Full(_) => unreachable!("a meta load renders no body"),
    }
}

/// Reads the article at `content_dir/rel` to `depth`. With
/// [`Depth::Quick`] a simple file yields an entry in [`Phase::Quick`].
///
/// Fails when [`load`] would, except that a quick read may accept a file
/// the full check rejects.
pub fn load_at(
    content_dir: &Path,
    rel: &str,
    config: &Config,
    depth: Depth,
) -> Result<Reading, Diagnostic> {
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
) -> Result<Reading, Diagnostic> {
    // Joined only for a message or an open by path: a quick load needs
    // neither (one allocation and a copy fewer per file).
    let path = FilePath::Parts {
        dir: content_dir,
        rel,
        joined: std::cell::OnceCell::new(),
    };
    let at = folder.map(|f| (f, rel.rsplit_once('/').map_or(rel, |(_, name)| name)));
    let (bytes, mtime, stamp) = if depth == Depth::Quick {
        match quick_load(&path, at, rel, config)? {
            QuickLoad::Indexed(indexed) => return Ok(Reading::Indexed(indexed)),
            QuickLoad::Read(bytes, mtime, stamp) => (bytes, mtime, stamp),
        }
    } else {
        let mut bytes = Vec::new();
        let (mtime, stamp) = read_into(&path, at, config.content.max_file_bytes, &mut bytes)?;
        (bytes, mtime, stamp)
    };
    let path = path.get();
    let text = decode_text(path, &bytes)?;
    Ok(match depth {
        Depth::Full => {
            let mut parsed = parse(path, rel, &text, mtime, config)?;
            parsed.stamp = stamp;
            Reading::Full(parsed)
        }
        Depth::Meta | Depth::Quick => {
            let mut indexed = parse_meta(path, rel, &text, mtime, config)?;
            indexed.stamp = stamp;
            Reading::Indexed(indexed)
        }
    })
}

/// What a quick read found: the entry, or the whole file for a full parse.
enum QuickLoad {
    Indexed(Indexed),
    Read(Vec<u8>, Option<DateTime<FixedOffset>>, Option<Stamp>),
}

/// The read of [`Depth::Quick`]: the entry when [`quick_meta`] finds it
/// in the file's first bytes, else the file's bytes. The bytes go to a
/// buffer this thread keeps: a quick index entry needs no copy of them,
/// and most files need nothing more.
fn quick_load(
    path: &FilePath<'_>,
    at: Option<(std::os::fd::BorrowedFd<'_>, &str)>,
    rel: &str,
    config: &Config,
) -> Result<QuickLoad, Diagnostic> {
    QUICK_BUF.with_borrow_mut(|buf| {
        // Markdown's index is in its front matter; a text export's bylines
        // and first timestamp line may be anywhere.
        let head = match kind_of(rel) {
            Some(FileKind::Markdown) => QUICK_HEAD,
            _ => QUICK_READ,
        };
        let (mtime, stamp, entry) = read_quick(
            path,
            at,
            config.content.max_file_bytes,
            head,
            buf,
            |bytes, mtime| quick_meta(rel, bytes, mtime, config),
            quick_index::front_matter_goes_on,
        )?;
        let found = match entry {
            Some(entry) => QuickLoad::Indexed(Indexed {
                entry,
                phase: Phase::Quick,
                warnings: Vec::new(),
                stamp,
            }),
            None => QuickLoad::Read(buf.clone(), mtime, stamp),
        };
        if buf.capacity() > QUICK_BUF_KEEP {
            *buf = Vec::new();
        }
        Ok(found)
    })
}

/// File bytes as text: UTF-8 (the usual case) checked in place with
/// simdutf8 and kept without a copy; anything else through `decode`.
///
/// Fails on NUL bytes (a binary file) and on text no encoding decodes.
fn decode_text<'a>(path: &Path, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, str>, Diagnostic> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(_) if memchr::memchr(0, bytes).is_some() => Err(Diagnostic::error(
            path,
            None,
            "binary file (contains NUL bytes)",
        )),
        Ok(s) => Ok(std::borrow::Cow::Borrowed(s)),
        Err(_) => decode(bytes)
            .map(std::borrow::Cow::Owned)
            .map_err(|m| Diagnostic::error(path, None, m)),
    }
}

thread_local! {
    /// The read buffer of [`Depth::Quick`] loads, one per loader thread.
    static QUICK_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A quick-load buffer grown past this (by an unusually large file) is
/// given back rather than kept by its thread.
const QUICK_BUF_KEEP: usize = 256 * 1024;

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
    let text = normalise(path, text)?;
    match kind_of(rel) {
        Some(FileKind::Text) => parse_text(path, rel, &text, mtime, config),
        _ => parse_markdown(path, rel, &text, config),
    }
}

/// Checks the whole file but keeps only what indexing needs: the
/// [`Entry`] and every warning. The body is not rendered. Enough to index
/// (and `check`) an article that no feed shows; the catalog's feed windows
/// are filled with [`parse`].
///
/// Fails exactly when [`parse`] would: a body never fails to render.
pub fn parse_meta(
    path: &Path,
    rel: &str,
    text: &str,
    mtime: Option<DateTime<FixedOffset>>,
    config: &Config,
) -> Result<Indexed, Diagnostic> {
    let text = normalise(path, text)?;
    match kind_of(rel) {
        Some(FileKind::Text) => check_text(path, rel, &text, mtime, config),
        _ => check_markdown(path, rel, &text, config),
    }
}

/// The text without a byte-order mark, with `\n` line ends.
///
/// Fails on a file that is empty or only whitespace.
fn normalise<'a>(path: &Path, text: &'a str) -> Result<std::borrow::Cow<'a, str>, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = if memchr::memchr(b'\r', text.as_bytes()).is_some() {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    if text.trim().is_empty() {
        return Err(Diagnostic::error(path, None, "empty file"));
    }
    Ok(text)
}
