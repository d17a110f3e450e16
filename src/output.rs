//! Rendered files on disk, for `herald build` and `output.dir`: every
//! page rendered at one instant, written atomically (a temp file, then a
//! rename), so a web server never serves a half-written feed.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use crate::catalog::Catalog;
use crate::config::Config;
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
            .filter(|p| !render::shadowed(&claimed, p)),
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
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes rendered pages under `out` in the URL layout.
///
/// Fails on the first file that cannot be written.
pub fn write_pages(out: &Path, pages: &[(PageId, Rendered)]) -> Result<(), OutputError> {
    for (page, rendered) in pages {
        let path = out.join(page.file_path());
        write_atomic(&path, &rendered.body)
            .map_err(|source| OutputError::Write { path, source })?;
    }
    Ok(())
}
