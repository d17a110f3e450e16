//! Language tags (BCP 47, RFC 5646), as `site.language` and an article's
//! `lang` must be written: they end up in `xml:lang`, RSS `<language>`,
//! JSON Feed `language` and HTML `lang`, which readers and validators check.

/// Whether `s` is a well-formed language tag: a primary language subtag
/// of 2–3 or 5–8 letters (or a private-use `x-…` tag), then subtags of
/// 1–8 letters or digits, separated by `-` (`en`, `zh-Hant-TW`, `x-local`).
pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let Some(primary) = parts.next() else {
        return false;
    };
    let letters = primary.bytes().all(|b| b.is_ascii_alphabetic());
    let primary_ok = letters
        && (matches!(primary.len(), 2 | 3 | 5..=8)
            || (primary.eq_ignore_ascii_case("x") || primary.eq_ignore_ascii_case("i"))
                && s.len() > 2);
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_in_bcp47_form_are_accepted_and_others_refused() {
        for ok in [
            "en",
            "zh-CN",
            "zh-Hant-TW",
            "yue-HK",
            "de-CH-1901",
            "x-local",
            "es-419",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "not a tag!!",
            "e",
            "zh_CN",
            "zh-",
            "-zh",
            "1234",
            "x",
            "zh-toolongsubtag",
            "中文",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
