//! `output.dir`: the publisher's pages on disk, each written atomically
//! with its `.gz` and `.br` as it changes, and removed when it goes.

use std::path::PathBuf;

use super::Publisher;

impl Publisher {
    /// Where `output.dir` holds the page at a URL path.
    fn output_file(&self, path: &str) -> Option<PathBuf> {
        let out = self.config.output_dir.as_ref()?;
        let file = if path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_string()
        };
        crate::output::file_under(out, file.trim_start_matches('/'))
    }

    /// Writes changed pages to `output.dir`, with their `.gz` and `.br`
    /// when they are ready (else those follow from the compressor, and
    /// stale ones are removed meanwhile).
    pub(super) fn write_output(&self, changed: &[String]) {
        for path in changed {
            let (Some(target), Some(res)) = (self.output_file(path), self.resources.get(path))
            else {
                continue;
            };
            let gz = res.gzip.as_ref().map(|v| &v.body[..]);
            let br = res.br.as_ref().map(|v| &v.body[..]);
            if let Err(e) = crate::output::write_page(&target, &res.identity.body, gz, br) {
                tracing::error!(path = %target.display(), error = %e, "cannot write output file");
            }
        }
    }

    /// Removes pages that are gone from `output.dir`, with their `.gz`
    /// and `.br`.
    pub(super) fn remove_output_pages(&self, gone: &[String]) {
        for path in gone {
            let Some(target) = self.output_file(path) else {
                continue;
            };
            if let Err(e) = crate::output::remove_page(&target) {
                tracing::error!(path = %target.display(), error = %e, "cannot remove output file");
            }
        }
    }

    pub(super) fn remove_output(&self, category: &str) {
        if let Some(out) = &self.config.output_dir {
            let dir = out.join(category);
            if dir.is_dir() {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
}
