//! Tags and authors: the two ways besides categories to group articles.
//! An article names its tags (`tags`) and its authors (`author`/`authors`,
//! or the byline of a text export); names that fold to the same key are
//! one term, whose URL segment is the key.

use std::fmt;

use crate::render::xml::is_forbidden;

/// Which grouping a term belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Taxonomy {
    /// `tags` from the front matter, at `/tags/`.
    Tags,
    /// The names an article gives itself, at `/authors/`.
    Authors,
}

impl Taxonomy {
    /// Both, in the order the index page lists them.
    pub const ALL: [Taxonomy; 2] = [Taxonomy::Tags, Taxonomy::Authors];

    /// The first path segment of its pages, and its name in the config.
    pub fn name(self) -> &'static str {
        match self {
            Taxonomy::Tags => "tags",
            Taxonomy::Authors => "authors",
        }
    }

    /// Its position in [`Taxonomy::ALL`], for per-taxonomy arrays.
    pub fn index(self) -> usize {
        match self {
            Taxonomy::Tags => 0,
            Taxonomy::Authors => 1,
        }
    }
}

impl fmt::Display for Taxonomy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a trimmed name names something: it holds a character that is
/// neither whitespace nor [`is_forbidden`], so its [`key`] is not empty.
/// (Cheap for the usual name, whose first character settles it.)
pub fn has_key(name: &str) -> bool {
    match name.chars().next() {
        None => false,
        Some(c) if !c.is_whitespace() && !is_forbidden(c) => true,
        Some(_) => name.chars().any(|c| !c.is_whitespace() && !is_forbidden(c)),
    }
}

/// The key of a tag or author name: trimmed, runs of whitespace made one
/// space, lowercased (Unicode, a word-final capital sigma to `ς`), then
/// spaces, `/` and `\` made `-`, so the key is also the term's URL segment
/// (before percent-encoding); a key of `.` or `..`, which a URL path
/// cannot hold as a segment, is `-` or `--`. Characters no feed or page
/// shows (controls, noncharacters: [`is_forbidden`]) are left out, as
/// they are from the name shown. Names with the same key are one term.
/// Empty for a name of only whitespace and such characters (see
/// [`has_key`]; such names are left out of an article's lists).
pub fn key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        let cleaned: String;
        let word = if word.chars().any(is_forbidden) {
            cleaned = word.chars().filter(|&c| !is_forbidden(c)).collect();
            if cleaned.is_empty() {
                continue;
            }
            &cleaned
        } else {
            word
        };
        if !out.is_empty() {
            out.push('-');
        }
        for c in word.to_lowercase().chars() {
            out.push(if c == '/' || c == '\\' { '-' } else { c });
        }
    }
    match out.as_str() {
        "." => "-".to_string(),
        ".." => "--".to_string(),
        _ => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_case_whitespace_and_slashes() {
        assert_eq!(key("  City   Budget "), "city-budget");
        assert_eq!(key("city-budget"), "city-budget");
        assert_eq!(key("EV"), "ev");
        assert_eq!(key("财政"), "财政");
        assert_eq!(key("Ünïcode ÄÖ"), "ünïcode-äö");
        assert_eq!(key("A/B testing"), "a-b-testing");
        assert_eq!(key("林金彥"), "林金彥");
        assert_eq!(key(" \t "), "");
    }

    #[test]
    fn keys_are_url_segments_a_path_keeps() {
        // A backslash is a separator too (servers and browsers treat it as one).
        assert_eq!(key("\\back"), "-back");
        assert_eq!(key("Back\\Slash"), "back-slash");
        // `.` and `..` would name the folder itself and its parent.
        assert_eq!(key("."), "-");
        assert_eq!(key(".."), "--");
        assert_eq!(key(" .. "), "--");
        assert_eq!(key("..."), "...");
        assert_eq!(key(".net"), ".net");
        assert_eq!(key("a..b"), "a..b");
        // What no page shows is no part of the key either.
        assert_eq!(key("Tag\u{0}Nul"), "tagnul");
        assert_eq!(key("a \u{80}\u{7F} b\u{FFFF}"), "a-b");
        assert!(!has_key("\u{80}") && !has_key("\u{1} \u{FFFF}") && !has_key(""));
        assert!(has_key("a") && has_key("\u{80}a") && has_key("财政"));
    }

    #[test]
    fn keys_lowercase_words_as_unicode_does() {
        // A capital sigma ending a word lowercases to the final form, so
        // the capitalised spelling is the same term as the lowercase one.
        assert_eq!(key("ΣΊΣΥΦΟΣ"), key("σίσυφος"));
        assert_eq!(key("ΣΊΣΥΦΟΣ ΟΔΟΣ"), "σίσυφος-οδος");
        assert_eq!(key("İstanbul"), "i̇stanbul");
    }
}
