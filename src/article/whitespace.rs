//! Whitespace and length rules for plain-text fields: titles, summaries,
//! names and tags.

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
