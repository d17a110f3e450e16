//! Whitespace and length rules for plain-text fields: titles, summaries,
//! names and tags.

use std::borrow::Cow;

use smallvec::SmallVec;

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

/// [`collapse_ws`] without a copy when `s` is clean already: no
/// whitespace at either end, and inner whitespace single ASCII spaces.
pub(super) fn collapse_ws_cow(s: &str) -> Cow<'_, str> {
    // Whether the last character seen was a space (true at the start, so
    // leading whitespace counts as a run).
    let mut after_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            if c != ' ' || after_space {
                return Cow::Owned(collapse_ws(s));
            }
            after_space = true;
        } else {
            after_space = false;
        }
    }
    if after_space && !s.is_empty() {
        return Cow::Owned(collapse_ws(s));
    }
    Cow::Borrowed(s)
}

/// [`clean_list`] of borrowed names: whitespace collapsed (a name clean
/// already is not copied), empty names and repeats dropped.
pub(super) fn clean_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> SmallVec<[Cow<'a, str>; 8]> {
    let mut out: SmallVec<[Cow<'a, str>; 8]> = SmallVec::new();
    for s in names {
        let s = collapse_ws_cow(s);
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

pub(super) fn clean_list(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        let s = collapse_ws(&s);
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
