//! Walking `content.dir`: which category folders exist and which files are
//! articles. Hidden and ignored names are skipped; symbolic links are
//! followed only while they stay inside `content.dir`, and a directory
//! reached twice (a link loop) is walked once. Reading and parsing the
//! files is `article`'s job; this module only lists them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::article::{self, Diagnostic, Severity};
use crate::config::Config;

/// What a walk found.
#[derive(Debug, Default, Clone)]
pub struct Listing {
    /// First-level folders (categories), sorted.
    pub categories: Vec<String>,
    /// Article files, relative and `/`-separated, sorted.
    pub files: Vec<String>,
    /// Entries skipped with a reason (links leaving the directory, loops, unreadable folders).
    pub problems: Vec<Diagnostic>,
}

/// Walks the whole content directory.
///
/// Fails when `content.dir` itself cannot be read.
pub fn scan(config: &Config) -> std::io::Result<Listing> {
    let root = config.content.dir.canonicalize()?;
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "content.dir is not a directory",
        ));
    }
    let mut listing = Listing::default();
    let mut seen = HashSet::new();
    walk(config, &root, "", &mut seen, &mut listing);
    listing.categories.sort();
    listing.files.sort();
    Ok(listing)
}

/// Walks one folder under `content.dir` (`rel` without trailing slash),
/// as when a directory is moved in. Categories are only reported when
/// `rel` is itself a first-level folder.
pub fn scan_folder(config: &Config, rel: &str) -> Listing {
    let mut listing = Listing::default();
    let Ok(root) = config.content.dir.canonicalize() else {
        return listing;
    };
    let mut seen = HashSet::new();
    let dir = root.join(rel);
    if !rel.contains('/') && !rel.is_empty() && inside(&root, &dir).unwrap_or(false) && dir.is_dir()
    {
        listing.categories.push(rel.to_string());
    }
    walk_dir(config, &root, &dir, rel, &mut seen, &mut listing);
    listing.files.sort();
    listing
}

fn inside(root: &Path, p: &Path) -> Option<bool> {
    let c = p.canonicalize().ok()?;
    Some(c.starts_with(root))
}

fn walk(
    config: &Config,
    root: &Path,
    rel: &str,
    seen: &mut HashSet<PathBuf>,
    listing: &mut Listing,
) {
    walk_dir(config, root, root, rel, seen, listing);
}

fn walk_dir(
    config: &Config,
    root: &Path,
    dir: &Path,
    rel: &str,
    seen: &mut HashSet<PathBuf>,
    listing: &mut Listing,
) {
    let Ok(canon) = dir.canonicalize() else {
        return;
    };
    if !canon.starts_with(root) {
        return;
    }
    if !seen.insert(canon) {
        listing.problems.push(Diagnostic {
            path: dir.to_path_buf(),
            position: None,
            severity: Severity::Warning,
            message: "directory reached twice (symbolic link loop); walked once".into(),
        });
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            listing.problems.push(Diagnostic {
                path: dir.to_path_buf(),
                position: None,
                severity: Severity::Error,
                message: format!("cannot read directory: {e}"),
            });
            return;
        }
    };
    let mut names: Vec<(String, std::fs::DirEntry)> = Vec::new();
    for entry in entries.flatten() {
        match entry.file_name().into_string() {
            Ok(name) => names.push((name, entry)),
            Err(raw) => listing.problems.push(Diagnostic {
                path: dir.join(&raw),
                position: None,
                severity: Severity::Warning,
                message: "file name is not valid UTF-8; skipped".into(),
            }),
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, entry) in names {
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if article::is_ignored(&child_rel, config) {
            continue;
        }
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        let (is_dir, is_file) = if ft.is_symlink() {
            match path.canonicalize() {
                Ok(target) if target.starts_with(root) => match std::fs::metadata(&target) {
                    Ok(m) => (m.is_dir(), m.is_file()),
                    Err(_) => (false, false),
                },
                Ok(_) => {
                    listing.problems.push(Diagnostic {
                        path: path.clone(),
                        position: None,
                        severity: Severity::Warning,
                        message: "symbolic link leads outside content.dir; skipped".into(),
                    });
                    continue;
                }
                // Dangling (e.g. an emacs lock file) or a loop: nothing to read.
                Err(_) => continue,
            }
        } else {
            (ft.is_dir(), ft.is_file())
        };
        if is_dir {
            if rel.is_empty() {
                listing.categories.push(name.clone());
            }
            walk_dir(config, root, &path, &child_rel, seen, listing);
        } else if article::kind_of(&child_rel).is_some() {
            if is_file {
                listing.files.push(child_rel);
            } else {
                listing.problems.push(Diagnostic {
                    path: path.clone(),
                    position: None,
                    severity: Severity::Error,
                    message: "not a regular file (FIFO, socket or device); skipped".into(),
                });
            }
        }
    }
}
