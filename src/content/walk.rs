//! Walking `content.dir`: which category folders exist and which files are
//! articles. Hidden and ignored names are skipped; symbolic links are
//! followed only while they stay inside `content.dir`, and a directory
//! reached twice (a link loop) is walked once. Reading and parsing the
//! files is `article`'s job; this module only lists them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::content::rules;
use crate::diagnostics::{Diagnostic, Severity};

/// What a walk found.
#[derive(Debug, Default, Clone)]
pub struct Listing {
    /// First-level folders (categories), sorted.
    pub categories: Vec<String>,
    /// Article files, relative and `/`-separated, sorted.
    pub files: Vec<String>,
    /// Entries skipped with a reason (links leaving the directory, loops, unreadable folders).
    pub problems: Vec<Diagnostic>,
    /// The folders walked under their own path (not through a link),
    /// relative, sorted; the walk's starting folder included, unless it
    /// is the root: the folders to watch.
    pub folders: Vec<String>,
}

/// Walks the whole content directory.
///
/// Fails when `content.dir` itself cannot be read.
pub fn scan(config: &Config) -> std::io::Result<Listing> {
    scan_tree(config, None)
}

/// [`scan`], handing each directory's articles to `found` (folder by
/// folder in walk order, a folder's files in the order it lists them)
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
    listing.sort();
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
    // A second name (a link, or a folder under one) for a folder a whole
    // walk lists under its own path, as `walk` does with such links.
    if canon != dir {
        let own = canon.strip_prefix(&root).ok().and_then(Path::to_str);
        if own.is_none_or(|own| own.is_empty() || !rules::is_ignored(own, config)) {
            listing.problems.push(reached_twice(dir));
            return listing;
        }
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
    listing.sort();
    listing
}

impl Listing {
    /// Puts what a walk found in path order, whatever order the folders
    /// listed their entries in.
    fn sort(&mut self) {
        self.categories.sort();
        self.files.sort();
        self.folders.sort();
        self.problems
            .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    }
}

/// The warning for a top-level folder named like one of herald's paths.
pub fn reserved(path: PathBuf) -> Diagnostic {
    let unservable = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(rules::is_unservable);
    let message = if unservable {
        "folder name holds a backslash, which no URL of a category can carry; \
         not published"
    } else {
        "folder name is one of herald's own paths (tags, authors, websub, healthz, \
         metrics, zh-hans, zh-hant); not published"
    };
    Diagnostic::warning(&path, None, message)
}

/// The warning for a folder reached under a second name.
fn reached_twice(path: PathBuf) -> Diagnostic {
    Diagnostic {
        path,
        position: None,
        severity: Severity::Warning,
        message:
            "directory reached twice (by a symbolic link: a second name or a loop); walked once"
                .into(),
    }
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
    // Links to folders inside the tree, walked once every folder has been
    // walked under its own path, and only if their target was not: a
    // second name (`latest -> politics/2025`) never takes a folder's
    // articles from it, whichever name sorts first.
    let mut links: std::collections::VecDeque<(PathBuf, String)> = Default::default();
    // One buffer for every folder's `getdents`: an entry is under 300
    // bytes (a name is at most 255), so one call lists ~100-500 of them.
    let mut buf: Vec<std::mem::MaybeUninit<u8>> = vec![std::mem::MaybeUninit::uninit(); 32 * 1024];
    loop {
        let (dir, rel, via_link) = match stack.pop() {
            Some((d, r)) => (d, r, false),
            None => match links.pop_front() {
                Some((d, r)) => (d, r, true),
                None => break,
            },
        };
        use rustix::fs::{FileType, OFlags};
        let cannot_read = |e: std::io::Error| Diagnostic {
            path: dir.clone(),
            position: None,
            severity: Severity::Error,
            message: format!("cannot read directory: {e}"),
        };
        let fd = match rustix::fs::open(
            &dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) {
            Ok(fd) => fd,
            // Gone since its parent was listed: nothing to report.
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => {
                listing.problems.push(cannot_read(e.into()));
                continue;
            }
        };
        let Ok(stat) = rustix::fs::fstat(&fd) else {
            continue;
        };
        if !seen.insert((stat.st_dev, stat.st_ino)) {
            listing.problems.push(reached_twice(dir.clone()));
            continue;
        }
        if !via_link && !rel.is_empty() {
            listing.folders.push(rel.clone());
        }
        if via_link && !rel.is_empty() && !rel.contains('/') {
            if rules::is_reserved(&rel) {
                listing.problems.push(reserved(dir.clone()));
                continue;
            }
            listing.categories.push(rel.clone());
        }
        // Entries straight from `getdents`, in the folder's own order: no
        // `DirEntry`, no name copies, and no sort of the names.
        // `Listing::sort` orders a
        // whole listing, the catalog orders what loads hand it, and
        // subfolders are sorted below.
        let mut entries = rustix::fs::RawDir::new(&fd, &mut buf);
        let mut subdirs = Vec::new();
        let listed = listing.files.len();
        while let Some(entry) = entries.next() {
            let entry = match entry {
                Ok(e) => e,
                // The buffer is still empty: the next call lists again.
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    // What was listed before the failure stays.
                    listing.problems.push(cannot_read(e.into()));
                    break;
                }
            };
            let raw = entry.file_name().to_bytes();
            if raw == b"." || raw == b".." {
                continue;
            }
            let Ok(name) = std::str::from_utf8(raw) else {
                use std::os::unix::ffi::OsStrExt;
                listing.problems.push(Diagnostic {
                    path: dir.join(std::ffi::OsStr::from_bytes(raw)),
                    position: None,
                    severity: Severity::Warning,
                    message: "file name is not valid UTF-8; skipped".into(),
                });
                continue;
            };
            let child_rel = if rel.is_empty() {
                name.to_string()
            } else {
                let mut r = String::with_capacity(rel.len() + 1 + name.len());
                r.push_str(&rel);
                r.push('/');
                r.push_str(name);
                r
            };
            // The folder itself was not ignored, or it would not be walked.
            if rules::is_ignored_in_walk(&child_rel, name, config) {
                continue;
            }
            // Made only when needed: a regular file's full path is not.
            let path = || dir.join(name);
            let ft = match entry.file_type() {
                // A file system that leaves the type out of its listing.
                FileType::Unknown => {
                    match rustix::fs::statat(&fd, raw, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) => FileType::from_raw_mode(st.st_mode),
                        Err(_) => continue,
                    }
                }
                ft => ft,
            };
            let (is_dir, is_file) = if ft == FileType::Symlink {
                match path().canonicalize() {
                    Ok(target)
                        if target.starts_with(&limit)
                            || (target.starts_with(root) && limit == root) =>
                    {
                        match std::fs::metadata(&target) {
                            Ok(m) if m.is_dir() => {
                                links.push_back((path(), child_rel));
                                continue;
                            }
                            Ok(m) => (false, m.is_file()),
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
                (ft == FileType::Directory, ft == FileType::RegularFile)
            };
            if is_dir {
                if rel.is_empty() {
                    if rules::is_reserved(name) {
                        listing.problems.push(reserved(path()));
                        continue;
                    }
                    listing.categories.push(name.to_string());
                }
                subdirs.push((path(), child_rel));
            } else if rules::kind_of(&child_rel).is_some() {
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
        // In reverse name order, so the stack pops them in name order.
        // (Names in a folder are unique: an unstable sort is exact.)
        subdirs.sort_unstable_by(|a: &(PathBuf, String), b| b.1.cmp(&a.1));
        stack.extend(subdirs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    /// A config whose `content.dir` is `dir/content`, ignoring `*.draft.md`.
    fn config_in(dir: &Path) -> Config {
        let text = "[site]\ntitle = \"T\"\nbase_url = \"https://feeds.example.cn\"\n\
                    [content]\ndir = \"content\"\nignore = [\"*.draft.md\"]\n";
        Config::parse(&dir.join("herald.toml"), text).unwrap()
    }

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }

    /// Many files in one folder, created out of name order, plus the
    /// entries a walk must leave out or report.
    fn tree() -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("content");
        for i in (0..300).rev() {
            touch(&root, &format!("politics/a{i:03}.md"));
        }
        touch(&root, "politics/2025/02/meeting.txt");
        touch(&root, "社会/新闻.txt");
        touch(&root, "about.md");
        touch(&root, "politics/notes.pdf");
        touch(&root, "politics/.hidden.md");
        touch(&root, "politics/x.md~");
        touch(&root, "politics/wip.draft.md");
        touch(&root, ".git/HEAD.md");
        std::fs::create_dir_all(root.join("empty")).unwrap();
        // A name that is not UTF-8 (Latin-1 "é").
        std::fs::write(
            root.join("politics")
                .join(std::ffi::OsStr::from_bytes(b"caf\xe9.md")),
            "x",
        )
        .unwrap();
        // Second names for folders inside the tree, one sorting before
        // the folder's own name and one after, a second name for a folder
        // in a deeper folder, and a loop (a link to an ancestor).
        std::os::unix::fs::symlink("politics", root.join("agenda")).unwrap();
        std::os::unix::fs::symlink("politics/2025", root.join("sport")).unwrap();
        std::os::unix::fs::symlink("../社会", root.join("politics/a-society")).unwrap();
        std::os::unix::fs::symlink("..", root.join("politics/2025/up")).unwrap();
        // A link to a file inside the tree is followed: the article shows
        // under both paths.
        std::os::unix::fs::symlink("../about.md", root.join("社会/about.md")).unwrap();
        let config = config_in(dir.path());
        (dir, config)
    }

    fn expected_files() -> Vec<String> {
        let mut want: Vec<String> = (0..300).map(|i| format!("politics/a{i:03}.md")).collect();
        want.push("politics/2025/02/meeting.txt".into());
        want.push("社会/新闻.txt".into());
        want.push("about.md".into());
        want.push("社会/about.md".into());
        // `agenda`, `sport` and `politics/a-society` name folders walked
        // under their own paths: each is reported as reached twice and
        // never takes their articles, whichever name sorts first.
        want.sort();
        want
    }

    #[test]
    fn a_category_folder_named_like_a_route_is_reported_and_not_published() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        for rel in [
            "tags/a.md",
            "authors/b.md",
            "healthz/c.md",
            "news/d.md",
            "news/tags/e.md",
        ] {
            touch(&content, rel);
        }
        let config = config_in(dir.path());
        let listing = scan(&config).unwrap();
        assert_eq!(listing.categories, ["news"]);
        assert_eq!(listing.files, ["news/d.md", "news/tags/e.md"]);
        let mut reported: Vec<String> = listing
            .problems
            .iter()
            .filter(|d| d.message.contains("herald's own paths"))
            .map(|d| d.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        reported.sort();
        assert_eq!(reported, ["authors", "healthz", "tags"]);
        // Events inside them are not content either.
        assert!(rules::is_ignored("tags/a.md", &config));
        assert!(!rules::is_ignored("news/tags/e.md", &config));
    }

    #[test]
    fn scan_lists_articles_and_categories_in_path_order() {
        let (_dir, config) = tree();
        let listing = scan(&config).unwrap();
        assert_eq!(listing.files, expected_files());
        assert_eq!(listing.categories, ["empty", "politics", "社会"]);
        let messages: Vec<String> = listing.problems.iter().map(|d| d.to_string()).collect();
        let twice: Vec<&Path> = listing
            .problems
            .iter()
            .filter(|d| d.message.contains("reached twice"))
            .map(|d| {
                d.path
                    .strip_prefix(config.content.dir.canonicalize().unwrap())
                    .unwrap()
            })
            .collect();
        // The second names are reported, never the folders themselves.
        assert_eq!(
            twice,
            ["agenda", "politics/2025/up", "politics/a-society", "sport"].map(Path::new),
            "{messages:#?}"
        );
        // And the name that is not UTF-8.
        assert_eq!(listing.problems.len(), 5, "{messages:#?}");
        let bad_name = listing
            .problems
            .iter()
            .find(|d| d.message.contains("not valid UTF-8"))
            .unwrap_or_else(|| panic!("{messages:#?}"));
        assert_eq!(bad_name.severity, Severity::Warning);
        assert_eq!(bad_name.path.file_name().unwrap().as_bytes(), b"caf\xe9.md");
    }

    #[test]
    fn scan_with_hands_over_every_file_once() {
        let (_dir, config) = tree();
        let mut got = Vec::new();
        let listing = scan_with(&config, &mut |files| got.extend(files)).unwrap();
        assert!(listing.files.is_empty());
        got.sort();
        assert_eq!(got, expected_files());
        assert_eq!(listing.categories, ["empty", "politics", "社会"]);
    }

    #[test]
    fn scan_folder_lists_one_folder_like_a_whole_scan() {
        let (_dir, config) = tree();
        let listing = scan_folder(&config, "politics");
        let want: Vec<String> = expected_files()
            .into_iter()
            .filter(|f| f.starts_with("politics/"))
            .collect();
        assert_eq!(listing.files, want);
        assert_eq!(listing.categories, ["politics"]);
    }

    #[test]
    fn a_missing_content_dir_fails_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        assert!(scan(&config).is_err());
    }
}
