//! Front matter: TOML between `+++` lines or YAML between `---` lines,
//! split from the body and deserialised, with unknown keys and positions
//! reported.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::config::line_col;
use crate::diagnostics::Diagnostic;

// ---------------------------------------------------------------------------
// Front matter

/// A date as written: a string, or a TOML datetime.
#[derive(Debug)]
pub(super) struct DateValue(pub(super) String);

impl<'de> Deserialize<'de> for DateValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DateValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date (\"2025-02-27 18:07\", RFC 3339, or a TOML datetime)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DateValue, E> {
                Ok(DateValue(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DateValue, A::Error> {
                // toml's datetime arrives as a one-entry map holding its text.
                let mut out = None;
                // The key is read as a string, not ignored: through
                // serde_ignored, serde_yaml_ng would fail on an ignored key
                // ("non-string key") instead of naming the wrong type.
                while let Some((_, v)) = map.next_entry::<String, String>()? {
                    out = Some(v);
                }
                out.map(DateValue)
                    .ok_or_else(|| de::Error::custom("empty date"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A name or a list of names.
#[derive(Debug, Default)]
pub(super) struct Names(pub(super) Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Names, E> {
                Ok(Names(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                // A null in the list (YAML `null`, `~`) names nobody, as a
                // null value does.
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Option<String>>()? {
                    out.extend(s);
                }
                Ok(Names(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FrontMatter {
    pub(super) title: Option<String>,
    pub(super) date: Option<DateValue>,
    pub(super) updated: Option<DateValue>,
    pub(super) author: Option<Names>,
    pub(super) authors: Option<Names>,
    pub(super) summary: Option<String>,
    pub(super) id: Option<String>,
    pub(super) slug: Option<String>,
    pub(super) link: Option<String>,
    pub(super) tags: Option<Names>,
    pub(super) image: Option<String>,
    pub(super) draft: Option<bool>,
    pub(super) lang: Option<String>,
}

pub(super) const KNOWN_KEYS: [&str; 13] = [
    "title", "date", "updated", "author", "authors", "summary", "id", "slug", "link", "tags",
    "image", "draft", "lang",
];

#[derive(Clone, Copy, PartialEq)]
pub(super) enum FmKind {
    Toml,
    Yaml,
}

pub(super) struct Split<'a> {
    pub(super) kind: Option<FmKind>,
    pub(super) front: &'a str,
    /// 1-based line of the front matter's first line.
    pub(super) front_line: usize,
    pub(super) body: &'a str,
}

pub(super) fn split_front_matter<'a>(path: &Path, text: &'a str) -> Result<Split<'a>, Diagnostic> {
    let first_end = text.find('\n').unwrap_or(text.len());
    let first = text[..first_end].trim_end();
    let (kind, delim) = match first {
        "+++" => (FmKind::Toml, "+++"),
        "---" => (FmKind::Yaml, "---"),
        _ => {
            return Ok(Split {
                kind: None,
                front: "",
                front_line: 1,
                body: text,
            })
        }
    };
    let start = (first_end + 1).min(text.len());
    let mut pos = start;
    while pos < text.len() {
        let end = text[pos..]
            .find('\n')
            .map(|i| pos + i)
            .unwrap_or(text.len());
        if text[pos..end].trim_end() == delim {
            let body_start = (end + 1).min(text.len());
            return Ok(Split {
                kind: Some(kind),
                front: &text[start..pos],
                front_line: 2,
                body: &text[body_start..],
            });
        }
        pos = end + 1;
    }
    Err(Diagnostic::error(
        path,
        Some((1, 1)),
        format!("unterminated front matter: no closing {delim} line"),
    ))
}

/// Finds `key = …` / `key: …` at the start of a front-matter line and
/// returns the 0-based line within the block and the 1-based column of its value.
pub(super) fn key_position(front: &str, key: &str) -> Option<(usize, usize)> {
    for (i, line) in front.lines().enumerate() {
        let Some(rest) = line.strip_prefix(key) else {
            continue;
        };
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed
            .strip_prefix('=')
            .or_else(|| trimmed.strip_prefix(':'))
        {
            let value_off = line.len() - after.trim_start().len();
            return Some((i, line[..value_off].chars().count() + 1));
        }
    }
    None
}

/// Deserializes the front matter in one pass, with the top-level keys it
/// does not know, sorted and each once (YAML lets a key repeat). Only
/// top-level keys are reported: the one known key that takes a table (a
/// TOML datetime, in `date`/`updated`) reads all its entries. One pass,
/// rather than a second parse into a map just for the keys.
pub(super) fn with_unknown_keys<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<(FrontMatter, Vec<String>), D::Error> {
    let mut unknown = Vec::new();
    let fm = serde_ignored::deserialize(de, |p| {
        if let serde_ignored::Path::Map {
            parent: serde_ignored::Path::Root,
            key,
        } = p
        {
            unknown.push(key.clone());
        }
    })?;
    unknown.sort();
    unknown.dedup();
    Ok((fm, unknown))
}

pub(super) fn parse_front(
    path: &Path,
    split: &Split,
) -> Result<(FrontMatter, Vec<String>), Diagnostic> {
    let at = |line0: usize, col: usize| Some((split.front_line + line0, col));
    match split.kind {
        None => Ok((FrontMatter::default(), Vec::new())),
        Some(FmKind::Toml) => {
            let error = |e: toml::de::Error| {
                let pos = e.span().map(|s| line_col(split.front, s.start));
                Diagnostic::error(
                    path,
                    pos.and_then(|(l, c)| at(l - 1, c)),
                    format!("front matter: {}", e.message().trim()),
                )
            };
            let de = toml::de::Deserializer::parse(split.front).map_err(error)?;
            with_unknown_keys(de).map_err(error)
        }
        Some(FmKind::Yaml) => {
            if split.front.trim().is_empty() {
                return Ok((FrontMatter::default(), Vec::new()));
            }
            with_unknown_keys(serde_yaml_ng::Deserializer::from_str(split.front)).map_err(|e| {
                let pos = e.location().map(|l| (l.line(), l.column()));
                let msg = e.to_string();
                // The crate appends " at line L column C"; we print our own position.
                let msg = match msg.find(" at line ") {
                    Some(i) => msg[..i].to_string(),
                    None => msg,
                };
                Diagnostic::error(
                    path,
                    pos.and_then(|(l, c)| at(l.saturating_sub(1), c)),
                    format!("front matter: {msg}"),
                )
            })
        }
    }
}
