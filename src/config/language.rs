//! Language tags (BCP 47, RFC 5646), as `site.language` and an article's
//! `lang` must be written: they end up in `xml:lang`, RSS `<language>`,
//! JSON Feed `language` and HTML `lang`, which readers and validators check.

/// Why `s` is not a language tag herald writes, or `None` when it is one:
/// well-formed (RFC 5646), with its language, script and region subtags in
/// the IANA Language Subtag Registry (`en`, `zh-Hant-TW`, `x-local`; not
/// `cn` or `en-a-b-a-c`). Variants are registered more often than the
/// crate's copy of the registry is renewed, so an unknown variant is
/// taken when the rest of the tag is valid (`nan-Latn-pehoeji`).
pub fn language_tag_problem(s: &str) -> Option<String> {
    use language_tags::{LanguageTag, ValidationError};
    let tag = match LanguageTag::parse(s) {
        Err(e) => return Some(e.to_string()),
        Ok(tag) => tag,
    };
    match tag.validate() {
        Ok(()) => None,
        Err(ValidationError::VariantNotInRegistry) => {
            let mut rest = tag.full_language().to_string();
            for part in [
                tag.script(),
                tag.region(),
                tag.extension(),
                tag.private_use(),
            ]
            .into_iter()
            .flatten()
            {
                rest.push('-');
                rest.push_str(part);
            }
            let duplicate = tag.variant_subtags().enumerate().any(|(i, v)| {
                tag.variant_subtags()
                    .take(i)
                    .any(|w| w.eq_ignore_ascii_case(v))
            });
            if duplicate {
                return Some(ValidationError::DuplicateVariant.to_string());
            }
            match LanguageTag::parse(&rest) {
                Ok(rest) => rest.validate().err().map(|e| e.to_string()),
                Err(e) => Some(e.to_string()),
            }
        }
        Err(e) => Some(e.to_string()),
    }
}

/// Whether `s` is a language tag herald writes ([`language_tag_problem`]).
pub fn is_language_tag(s: &str) -> bool {
    language_tag_problem(s).is_none()
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
            "en-US-u-ca-gregory",
            "i-klingon",
            // Variants registered after the crate's copy of the registry.
            "nan-Latn-pehoeji",
            "nan-Latn-tailo",
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
            // Well-formed, but no language the registry knows.
            "cn",
            "xx",
            // A singleton twice, a variant twice.
            "en-a-bbb-a-ccc",
            "nan-Latn-tailo-tailo",
            // An unknown variant does not excuse the rest.
            "xx-pehoeji",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        assert_eq!(
            language_tag_problem("cn").as_deref(),
            Some("the primary language is not in the IANA Language Subtag Registry")
        );
    }
}
