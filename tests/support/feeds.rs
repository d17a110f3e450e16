//! Reading what the daemon serves: RSS and Atom items, well-formedness,
//! compressed bodies (decompressed explicitly: tests compare the raw
//! gzip/br bytes too), Prometheus text, and the tags of an HTML page.

use std::collections::BTreeMap;
use std::io::Read;

/// Item titles of an RSS document, in order.
pub fn rss_titles(body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
    Ok(doc
        .descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|item| {
            item.children()
                .find(|c| c.has_tag_name("title"))
                .and_then(|t| t.text())
                .unwrap_or_default()
                .to_string()
        })
        .collect())
}

/// Item links of an RSS document, in order.
pub fn rss_links(body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
    Ok(doc
        .descendants()
        .filter(|n| n.has_tag_name("item"))
        .filter_map(|item| {
            item.children()
                .find(|c| c.has_tag_name("link"))
                .and_then(|t| t.text())
                .map(str::to_string)
        })
        .collect())
}

/// The `<channel><title>` of an RSS document.
pub fn rss_channel_title(body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
    let channel = doc
        .descendants()
        .find(|n| n.has_tag_name("channel"))
        .ok_or("no <channel>")?;
    Ok(channel
        .children()
        .find(|c| c.has_tag_name("title"))
        .and_then(|t| t.text())
        .unwrap_or_default()
        .to_string())
}

/// Item ids of an RSS feed (`guid`) in order.
pub fn rss_guids(body: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(body).unwrap();
    let doc = roxmltree::Document::parse(text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|item| {
            item.children()
                .find(|c| c.has_tag_name("guid"))
                .and_then(|g| g.text())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Entry ids of an Atom feed in order.
pub fn atom_ids(body: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(body).unwrap();
    let doc = roxmltree::Document::parse(text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("entry"))
        .map(|e| {
            e.children()
                .find(|c| c.has_tag_name("id"))
                .and_then(|g| g.text())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Parses an XML body with roxmltree (which refuses what XML 1.0 forbids).
pub fn parse_xml(what: &str, body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("{what}: not UTF-8: {e}"))?;
    roxmltree::Document::parse(text).map_err(|e| format!("{what}: not well-formed XML: {e}"))?;
    Ok(())
}

/// Gunzips `bytes`.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// Decompresses brotli `bytes`.
pub fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).expect("valid brotli");
    out
}

/// One sample of Prometheus text: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parsed Prometheus text exposition: `# TYPE` lines and samples.
#[derive(Debug, Default)]
pub struct Metrics {
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

/// Parses Prometheus text format, panicking on any malformed line.
pub fn parse_prometheus(text: &str) -> Metrics {
    let mut m = Metrics::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let name = words.next().unwrap_or_else(|| panic!("line {n}: {line}"));
                let kind = words.next().unwrap_or_else(|| panic!("line {n}: {line}"));
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "line {n}: unknown metric type in {line:?}"
                );
                m.types.insert(name.to_string(), kind.to_string());
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("line {n}: no value in {line:?}"));
        let name = &line[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "line {n}: bad metric name in {line:?}"
        );
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(inner) = rest.strip_prefix('{') {
            // Label values are quoted and may hold `,`, `}` and escapes.
            let mut chars = inner.char_indices().peekable();
            let close;
            loop {
                while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                    chars.next();
                }
                match chars.peek() {
                    Some((i, '}')) => {
                        close = *i;
                        break;
                    }
                    None => panic!("line {n}: unclosed labels in {line:?}"),
                    _ => {}
                }
                let mut key = String::new();
                for (_, c) in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    key.push(c);
                }
                assert_eq!(
                    chars.next().map(|(_, c)| c),
                    Some('"'),
                    "line {n}: label value not quoted in {line:?}"
                );
                let mut value = String::new();
                let mut escaped = false;
                loop {
                    let (_, c) = chars
                        .next()
                        .unwrap_or_else(|| panic!("line {n}: unterminated label in {line:?}"));
                    match (escaped, c) {
                        (true, 'n') => {
                            value.push('\n');
                            escaped = false
                        }
                        (true, c) => {
                            value.push(c);
                            escaped = false
                        }
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        (false, c) => value.push(c),
                    }
                }
                labels.insert(key.trim().to_string(), value);
            }
            rest = &inner[close + 1..];
        }
        let mut fields = rest.split_whitespace();
        let value = fields
            .next()
            .unwrap_or_else(|| panic!("line {n}: no value in {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("line {n}: value {value:?} is not a number"));
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .unwrap_or_else(|_| panic!("line {n}: bad timestamp in {line:?}"));
        }
        assert!(
            fields.next().is_none(),
            "line {n}: trailing text in {line:?}"
        );
        m.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    m
}

/// The attributes of every `<tag ...>` in `html` (names lower-cased,
/// values HTML-unescaped), in document order.
pub fn tags(html: &str, tag: &str) -> Vec<BTreeMap<String, String>> {
    let tag_re = regex::Regex::new(&format!(r"(?is)<{tag}\s([^>]*)>")).unwrap();
    let attr_re = regex::Regex::new(r#"(?s)([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*"([^"]*)""#).unwrap();
    tag_re
        .captures_iter(html)
        .map(|c| {
            attr_re
                .captures_iter(&c[1])
                .map(|a| {
                    (
                        a[1].to_ascii_lowercase(),
                        html_escape::decode_html_entities(&a[2]).into_owned(),
                    )
                })
                .collect()
        })
        .collect()
}
