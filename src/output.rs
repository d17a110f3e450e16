//! Rendered files on disk, for `herald build` and `output.dir`: every
//! page rendered at one instant, written atomically (a temp file, then a
//! rename), so a web server never serves a half-written feed, with its
//! `.gz` and `.br` beside it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, FixedOffset};

use crate::catalog::Catalog;
use crate::config::Config;
use crate::http::snapshot::encodings;
use crate::load::hydrate;
use crate::render::{self, PageId, Rendered};

/// Errors of writing rendered files.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// An output file could not be written.
    #[error("{}: error: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Renders every page at time `now`, those of every tag, author and
/// article too.
pub fn render_all(
    config: &Config,
    catalog: &mut Catalog,
    now: DateTime<FixedOffset>,
) -> Vec<(PageId, Rendered)> {
    let mut pages = render::all_pages(config, catalog);
    pages.extend(render::term_pages(config, catalog, now));
    let claimed = render::claimed_paths(config, catalog);
    pages.extend(
        render::article_pages(config, catalog, now)
            .into_iter()
            .filter(|p| !render::shadowed(config, &claimed, p)),
    );
    let pages = render::with_variants(config, pages);
    for (_, d) in hydrate(config, catalog, now, &pages).failed {
        tracing::warn!(path = %d.path.display(), problem = %d, "article body unavailable");
    }
    let catalog = &*catalog;
    pages
        .into_iter()
        .map(|p| {
            let r = render::render(config, catalog, &p, now);
            (p, r)
        })
        .collect()
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory,
/// then a rename over the target.
///
/// Fails when the directory cannot be created or the file written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_at(path, bytes, None)
}

/// [`write_atomic`] with the file's modification time set to `mtime`.
fn write_atomic_at(path: &Path, bytes: &[u8], mtime: Option<SystemTime>) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if let Some(t) = mtime {
            f.set_modified(t)?;
        }
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `<file>.gz` beside `path`.
pub fn gz_path(path: &Path) -> PathBuf {
    with_suffix(path, ".gz")
}

/// `<file>.br` beside `path`.
pub fn br_path(path: &Path) -> PathBuf {
    with_suffix(path, ".br")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes a page at `path` and, beside it, `<file>.gz` and `<file>.br`
/// holding the bytes herald serves for those encodings (for `gzip_static`
/// and `brotli_static`, object stores and CDNs), all three with one
/// modification time. An encoding herald does not serve for this page (a
/// small one) has no file, and an old one is removed. The compressed
/// files are written first, so a server never pairs a new page with an
/// old compressed copy for longer than the renames take.
///
/// Fails when a file cannot be written.
pub fn write_page(
    path: &Path,
    body: &[u8],
    gzip: Option<&[u8]>,
    br: Option<&[u8]>,
) -> std::io::Result<()> {
    let now = SystemTime::now();
    for (file, bytes) in [(gz_path(path), gzip), (br_path(path), br)] {
        match bytes {
            Some(b) => write_atomic_at(&file, b, Some(now))?,
            None => remove_if_present(&file)?,
        }
    }
    write_atomic_at(path, body, Some(now))
}

/// Removes a page and its `.gz` and `.br` files, those that exist.
///
/// Fails when one exists and cannot be removed.
pub fn remove_page(path: &Path) -> std::io::Result<()> {
    remove_if_present(&gz_path(path))?;
    remove_if_present(&br_path(path))?;
    remove_if_present(path)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `out` joined with the relative `file`, when `file` names a file under
/// `out` (every component a name: no `..`, no root); `None` otherwise, so
/// nothing is ever written outside the output folder.
pub fn file_under(out: &Path, file: &str) -> Option<PathBuf> {
    let rel = Path::new(file);
    rel.components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
        .then(|| out.join(rel))
}

/// Writes rendered pages under `out` in the URL layout, each with its
/// `.gz` and `.br` files ([`write_page`]); compressed on every core.
///
/// A page that cannot be written (a name too long for the file system,
/// say) does not stop the others: every page that can be is written, and
/// the failures are returned, in page order.
pub fn write_pages(out: &Path, pages: &[(PageId, Rendered)]) -> Vec<OutputError> {
    use rayon::prelude::*;
    pages
        .par_iter()
        .filter_map(|(page, rendered)| {
            let Some(path) = file_under(out, &page.file_path()) else {
                return Some(OutputError::Write {
                    path: out.join(page.file_path()),
                    source: std::io::Error::other("not a file under the output folder"),
                });
            };
            let (gz, br) = encodings(&rendered.body);
            write_page(&path, &rendered.body, gz.as_deref(), br.as_deref())
                .err()
                .map(|source| OutputError::Write { path, source })
        })
        .collect()
}
