//! Text safety shared by every format: characters XML 1.0 forbids, and
//! those HTML forbids in pages, are removed before a string reaches a
//! writer.

use std::borrow::Cow;
use std::sync::LazyLock;

/// Whether a character is removed from every feed and page: C0 controls
/// other than tab, LF and CR (XML 1.0 forbids them); DEL and the C1
/// controls, and the noncharacters U+FDD0–U+FDEF and U+nFFFE/U+nFFFF
/// (XML discourages them, HTML forbids them). Rust strings hold no
/// surrogates.
pub(crate) fn is_forbidden(c: char) -> bool {
    let u = u32::from(c);
    (u < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
        || (0x7F..=0x9F).contains(&u)
        || (0xFDD0..=0xFDEF).contains(&u)
        || u & 0xFFFE == 0xFFFE
}

/// Removes the characters [`is_forbidden`] names.
pub fn xml_clean(s: &str) -> Cow<'_, str> {
    // The same test on bytes, which is several times faster. Controls
    // and DEL are single bytes; a C1 control is C2 80–9F; U+FDD0–U+FDEF
    // is EF B7 90–AF; U+FFFE/U+FFFF is EF BF BE/BF, and U+nFFFE/U+nFFFF
    // of the other planes is F0–F4, then a byte ending in F, then BF
    // BE/BF (continuation bytes are 80–BF, never a lead byte).
    let b = s.as_bytes();
    // Without an early exit, the control-byte test vectorises.
    let control = b.chunks(256).any(|chunk| {
        chunk.iter().fold(false, |acc, &c| {
            acc | (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r'))
        })
    });
    // Fullwidth punctuation (EF BC xx, EF BD xx) fills Chinese text, and
    // `·` and the no-break space (C2 B7, C2 A0) are common, so the scans
    // look at the byte after a prefix before they call it suspicious.
    static EF_BF: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\xEF\xBF"));
    static EF_B7: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\xEF\xB7"));
    static BF_BE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\xBF\xBE"));
    static BF_BF: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"\xBF\xBF"));
    let c1 = || memchr::memchr_iter(0xC2, b).any(|i| matches!(b.get(i + 1), Some(0x80..=0x9F)));
    // A 4-byte noncharacter: looked for only when a 4-byte lead byte is
    // there at all (the highest byte, which vectorises, says), by its last
    // two bytes.
    let astral = || {
        let at = |i: usize| i >= 2 && b[i - 2] >= 0xF0 && b[i - 1] & 0x0F == 0x0F;
        b.iter().fold(0u8, |m, &c| m.max(c)) >= 0xF0
            && (BF_BE.find_iter(b).any(at) || BF_BF.find_iter(b).any(at))
    };
    let suspicious = control
        || memchr::memchr(0x7F, b).is_some()
        || c1()
        || EF_BF
            .find_iter(b)
            .any(|i| matches!(b.get(i + 2), Some(0xBE | 0xBF)))
        || EF_B7
            .find_iter(b)
            .any(|i| matches!(b.get(i + 2), Some(0x90..=0xAF)))
        || astral();
    if suspicious {
        Cow::Owned(s.chars().filter(|c| !is_forbidden(*c)).collect())
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
            xml_clean("a\u{0}b\u{1}c\td\ne\rf\u{FFFE}g\u{FFFF}h😀\u{7F}\u{80}\u{9F}i\u{FDD0}\u{1FFFE}\u{10FFFF}j"),
            "abc\td\ne\rfgh😀ij"
        );
        assert!(matches!(xml_clean("plain 新聞"), Cow::Borrowed(_)));
        // Fullwidth punctuation and U+FFFD share the lead byte 0xEF, the
        // no-break space and `·` the lead byte 0xC2; they stay.
        assert!(matches!(
            xml_clean("新闻，标题\u{FFFD}。约翰·史密斯\u{A0}"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn xml_clean_agrees_with_a_filter_of_forbidden_characters() {
        // The rule as the XML and HTML specifications list it.
        let bad = |c: char| {
            matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}')
                || matches!(c, '\u{7F}'..='\u{9F}')
                || matches!(c, '\u{FDD0}'..='\u{FDEF}')
                || (0..=0x10u32).any(|plane| {
                    let c = u32::from(c);
                    c == (plane << 16) + 0xFFFE || c == (plane << 16) + 0xFFFF
                })
        };
        // Every character next to every other, in runs long enough for
        // the vectorised scans: forbidden ones, their UTF-8 neighbours
        // (EF BF xx, EF B7 xx, EF BC xx, C2 xx, xx BF BE/BF) and ordinary
        // text.
        let chars = [
            'a',
            '\u{0}',
            '\u{1F}',
            '\t',
            '\n',
            '\r',
            ' ',
            '\u{7F}',
            '\u{80}',
            '\u{9F}',
            '\u{A0}',
            '·',
            '\u{FDCF}',
            '\u{FDD0}',
            '\u{FDEF}',
            '\u{FDF0}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{FFFD}',
            '\u{FFBF}',
            '\u{FF0C}',
            '\u{4FFF}',
            '\u{1FFFE}',
            '\u{1FFFD}',
            '\u{20FFE}',
            '\u{10FFFF}',
            '。',
            '新',
            '😀',
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
