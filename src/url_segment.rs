//! Percent-encoding of URL path segments (categories, slugs) and of the
//! segments of tag URIs: everything but RFC 3986's unreserved characters.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters percent-encoded in URL path segments and tag URIs: all but
/// the RFC 3986 unreserved set.
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (a category or slug).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_segment(&mut out, s);
    out
}

/// Percent-encodes a decoded URL path segment by segment, keeping its
/// slashes (`/社会/rss.xml` → `/%E7%A4%BE%E4%BC%9A/rss.xml`).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        push_segment(&mut out, seg);
    }
    out
}

/// Appends `s` percent-encoded as one path segment to `out`.
pub fn push_segment(out: &mut String, s: &str) {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if s.bytes().all(plain) {
        // The usual slug: nothing to encode.
        out.push_str(s);
    } else {
        out.extend(utf8_percent_encode(s, SEGMENT));
    }
}
