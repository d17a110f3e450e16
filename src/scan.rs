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
    scan_tree(config, None)
}

/// [`scan`], handing each directory's articles to `found` (in walk order)
/// as soon as the directory is listed, so they can be read while the walk
/// goes on. The listing returned holds the categories and problems; its
/// `files` are empty, every one having gone to `found`.
///
/// Fails, before calling `found`, when `content.dir` is not a readable
/// directory.
pub fn scan_with(config: &Config, found: &mut dyn FnMut(Vec<String>)) -> std::io::Result<Listing> {
    scan_tree(config, Some(found))
}

fn scan_tree(
    config: &Config,
    found: Option<&mut dyn FnMut(Vec<String>)>,
) -> std::io::Result<Listing> {
    let root = config.content.dir.canonicalize()?;
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "content.dir is not a directory",
        ));
    }
    let mut listing = Listing::default();
    let mut seen = HashSet::new();
    walk(config, &root, &root, "", &mut seen, &mut listing, found);
    listing.categories.sort();
    listing.files.sort();
    Ok(listing)
}

/// Walks one folder under `content.dir` (`rel` without trailing slash),
/// as when a directory is moved in. Categories are only reported when
/// `rel` is itself a first-level folder. Links from inside it back to its
/// ancestors, or to folders elsewhere in the tree (already indexed under
/// their own path), are not followed: the result matches what a whole scan
/// would add for this folder.
pub fn scan_folder(config: &Config, rel: &str) -> Listing {
    let mut listing = Listing::default();
    let Ok(root) = config.content.dir.canonicalize() else {
        return listing;
    };
    let dir = root.join(rel);
    let Ok(canon) = dir.canonicalize() else {
        return listing;
    };
    if !canon.starts_with(&root) {
        return listing;
    }
    if !rel.contains('/') && !rel.is_empty() && canon.is_dir() {
        listing.categories.push(rel.to_string());
    }
    // Ancestors count as walked already, so links back up are loops.
    let mut seen = HashSet::new();
    let mut up = dir.parent();
    while let Some(a) = up {
        if let Some(id) = dir_id(a) {
            seen.insert(id);
        }
        if a == root {
            break;
        }
        up = a.parent();
    }
    walk(config, &root, &canon, rel, &mut seen, &mut listing, None);
    listing.files.sort();
    listing
}

/// A directory's identity (device, inode): loops are found without
/// resolving paths, which costs a `readlink` per level of depth.
fn dir_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).ok()?;
    Some((m.dev(), m.ino()))
}

/// Walks `start` (whose path relative to the root is `start_rel`)
/// depth-first with an explicit stack, so depth never exhausts the thread's
/// stack. `limit` bounds what links may reach: the content root, or for a
/// folder walk the folder itself.
fn walk(
    config: &Config,
    root: &Path,
    start: &Path,
    start_rel: &str,
    seen: &mut HashSet<(u64, u64)>,
    listing: &mut Listing,
    // When given, each directory's files are handed over rather than kept.
    mut found: Option<&mut dyn FnMut(Vec<String>)>,
) {
    let limit = start.to_path_buf();
    let mut stack: Vec<(PathBuf, String)> = vec![(start.to_path_buf(), start_rel.to_string())];
    while let Some((dir, rel)) = stack.pop() {
        let Some(id) = dir_id(&dir) else { continue };
        if !seen.insert(id) {
            listing.problems.push(Diagnostic {
                path: dir.clone(),
                position: None,
                severity: Severity::Warning,
                message: "directory reached twice (symbolic link loop); walked once".into(),
            });
            continue;
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                listing.problems.push(Diagnostic {
                    path: dir.clone(),
                    position: None,
                    severity: Severity::Error,
                    message: format!("cannot read directory: {e}"),
                });
                continue;
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
        // Names in a folder are unique: an unstable sort orders them the same.
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut subdirs = Vec::new();
        let listed = listing.files.len();
        for (name, entry) in names {
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                let mut r = String::with_capacity(rel.len() + 1 + name.len());
                r.push_str(&rel);
                r.push('/');
                r.push_str(&name);
                r
            };
            // The folder itself was not ignored, or it would not be walked.
            if article::is_ignored_in_walk(&child_rel, &name, config) {
                continue;
            }
            // Made only when needed: a regular file's full path is not.
            let path = || entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            let (is_dir, is_file) = if ft.is_symlink() {
                match path().canonicalize() {
                    Ok(target)
                        if target.starts_with(&limit)
                            || (target.starts_with(root) && limit == root) =>
                    {
                        match std::fs::metadata(&target) {
                            Ok(m) => (m.is_dir(), m.is_file()),
                            Err(_) => (false, false),
                        }
                    }
                    Ok(target) if target.starts_with(root) => {
                        // Inside the tree but outside the folder being walked:
                        // indexed under its own path already.
                        match std::fs::metadata(&target) {
                            Ok(m) if m.is_dir() => continue,
                            Ok(m) => (false, m.is_file()),
                            Err(_) => continue,
                        }
                    }
                    Ok(_) => {
                        listing.problems.push(Diagnostic {
                            path: path(),
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
                subdirs.push((path(), child_rel));
            } else if article::kind_of(&child_rel).is_some() {
                if is_file {
                    listing.files.push(child_rel);
                } else {
                    listing.problems.push(Diagnostic {
                        path: path(),
                        position: None,
                        severity: Severity::Error,
                        message: "not a regular file (FIFO, socket or device); skipped".into(),
                    });
                }
            }
        }
        if let Some(found) = found.as_mut() {
            if listing.files.len() > listed {
                found(listing.files.split_off(listed));
            }
        }
        // Reversed, so the stack pops them in name order.
        stack.extend(subdirs.into_iter().rev());
    }
}
