//! XML text safety shared by every format: characters XML 1.0 forbids
//! are removed before a string reaches a writer.

use std::borrow::Cow;
use std::sync::LazyLock;

/// Removes characters XML 1.0 forbids (C0 controls other than tab, LF, CR;
/// U+FFFE and U+FFFF). Rust strings hold no surrogates.
pub fn xml_clean(s: &str) -> Cow<'_, str> {
    fn bad(c: char) -> bool {
        (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    }
    // The same test on bytes, which is several times faster: control
    // characters are single bytes, and U+FFFE/U+FFFF are EF BF BE/BF in
    // UTF-8 (0xEF is never a continuation byte).
    let b = s.as_bytes();
    // Without an early exit, the control-byte test vectorises.
    let control = b.chunks(256).any(|chunk| {
        chunk.iter().fold(false, |acc, &c| {
            acc | (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r'))
        })
    });
    // Fullwidth punctuation (EF BC xx, EF BD xx) fills Chinese text, so
    // the two-byte prefix EF BF is searched for, not the lead byte alone.
    static EF_BF: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\xEF\xBF"));
    let suspicious = control
        || EF_BF
            .find_iter(b)
            .any(|i| matches!(b.get(i + 2), Some(0xBE | 0xBF)));
    if suspicious {
        Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` without the characters XML 1.0 forbids, owned.
pub(crate) fn xml_safe(s: &str) -> String {
    xml_clean(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_clean_removes_only_forbidden_characters() {
        assert_eq!(
            xml_clean("a\u{0}b\u{1}c\td\ne\rf\u{FFFE}g\u{FFFF}h😀"),
            "abc\td\ne\rfgh😀"
        );
        assert!(matches!(xml_clean("plain 新聞"), Cow::Borrowed(_)));
        // Fullwidth punctuation and U+FFFD share the lead byte 0xEF and stay.
        assert!(matches!(
            xml_clean("新闻，标题\u{FFFD}。"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn xml_clean_agrees_with_a_filter_of_forbidden_characters() {
        let bad = |c: char| {
            (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
        };
        // Every character next to every other, in runs long enough for
        // the vectorised scans: forbidden ones, their UTF-8 neighbours
        // (EF BF xx, EF BC xx) and ordinary text.
        let chars = [
            'a', '\u{0}', '\u{1F}', '\t', '\n', '\r', ' ', '\u{FFFE}', '\u{FFFF}', '\u{FFFD}',
            '\u{FFBF}', '\u{FF0C}', '。', '新', '😀',
        ];
        for &x in &chars {
            for &y in &chars {
                for pad in [0usize, 31, 255, 300] {
                    let s = format!(
                        "{}{x}{y}{}",
                        "新".repeat(pad % 7) + &"a".repeat(pad),
                        "。".repeat(pad / 3)
                    );
                    let want: String = s.chars().filter(|c| !bad(*c)).collect();
                    assert_eq!(xml_clean(&s), want, "{x:?} {y:?} {pad}");
                    assert_eq!(matches!(xml_clean(&s), Cow::Borrowed(_)), want == s);
                }
            }
        }
    }
}
