//! Which paths under `content.dir` are articles: the file kinds herald
//! reads, the names it ignores (hidden files, editor temporaries,
//! `content.ignore`), and the category a path belongs to. The walk, the
//! watcher and the loader all ask here, so they agree.

use crate::config::Config;

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
    // Under a top-level folder that is no category. (A top-level path of
    // its own is a folder only if it is one: a file `x\y.md` is content.)
    match rel.split_once('/') {
        Some((first, _)) if is_reserved(first) => return true,
        None if RESERVED.contains(&rel) => return true,
        _ => {}
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

/// Top-level folder names that are herald's own paths: such a folder is
/// no category (its routes always win).
pub const RESERVED: [&str; 7] = [
    "tags", "authors", "websub", "healthz", "metrics", "zh-hans", "zh-hant",
];

/// Whether a top-level folder is no category: its name is one of
/// [`RESERVED`], or [`is_unservable`].
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name) || is_unservable(name)
}

/// Whether a name holds what no URL path herald serves can carry: a
/// backslash (clients take it for `/`, and herald refuses it in a request).
pub fn is_unservable(name: &str) -> bool {
    name.contains('\\')
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(content: &str) -> Config {
        let text =
            format!("[site]\ntitle = \"Test News\"\nlink = \"https://news.example.cn\"\n{content}");
        Config::parse(Path::new("/cfg/herald.toml"), &text).unwrap()
    }

    #[test]
    fn hidden_temporary_and_configured_names_are_ignored() {
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
