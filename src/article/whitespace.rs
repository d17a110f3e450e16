//! Whitespace and length rules for plain-text fields: titles, summaries,
//! names and tags.

use std::borrow::Cow;

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
    if is_collapsed(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(collapse_ws(s))
    }
}

/// Whether [`collapse_ws`] leaves `s` as it is: no whitespace at either
/// end, and inner whitespace single ASCII spaces. One pass over the
/// bytes: a character beyond ASCII is decoded only when its first byte is
/// that of a Unicode space (U+0085 and U+00A0: 0xC2; U+1680: 0xE1;
/// U+2000–U+205F: 0xE2; U+3000: 0xE3), never for most of CJK.
pub(super) fn is_collapsed(s: &str) -> bool {
    let b = s.as_bytes();
    // Whether the last character seen was a space (true at the start, so
    // leading whitespace counts as a run).
    let mut after_space = true;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b' ' if after_space => return false,
            b' ' => after_space = true,
            // Tab, line feed, vertical tab, form feed, carriage return.
            0x09..=0x0D => return false,
            0xC2 | 0xE1 | 0xE2 | 0xE3 => {
                // (A first byte: `i` is a character boundary.)
                if s[i..].chars().next().is_some_and(char::is_whitespace) {
                    return false;
                }
                after_space = false;
            }
            _ => after_space = false,
        }
    }
    !after_space || b.is_empty()
}

pub(super) fn clean_list(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        let s = collapse_ws(&s);
        if crate::taxonomy::has_key(&s) && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn collapsed_text_is_what_collapsing_leaves_alone() {
        for t in [
            "",
            " ",
            "a",
            "a b",
            "a  b",
            " a",
            "a ",
            "a\tb",
            "a\u{b}b",
            "财政",
            "财 政",
            "财\u{3000}政",
            "a\u{a0}b",
            "a\u{85}b",
            "a\u{2009}b",
            "a\u{202f}b",
            "a\u{205f}b",
            "a\u{1680}b",
            "a\u{2028}b",
            "¢ é",
            "\u{e000}",
            "\u{3001}",
        ] {
            assert_eq!(is_collapsed(t), collapse_ws(t) == t, "{t:?}");
        }
    }

    proptest! {
        #[test]
        fn collapsed_agrees_with_collapse_ws(
            s in "[ a\u{1c}\t\n\u{b}\u{c}\r\u{85}\u{a0}\u{1680}\u{2000}-\u{200b}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\u{3001}财é¢]{0,8}",
        ) {
            prop_assert_eq!(is_collapsed(&s), collapse_ws(&s) == s);
        }
    }
}
