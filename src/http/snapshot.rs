//! The immutable rendered set the server answers from: for every URL
//! path, the body with its strong ETag, `Last-Modified`, and gzip and
//! brotli variants prepared once, when the page changed — never per
//! request. A new [`Snapshot`] shares every unchanged [`Resource`] with
//! the previous one (they are `Arc`s), so a regeneration costs only the
//! pages it re-rendered.
//!
//! `daemon` builds snapshots and swaps them in; `server` reads them.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::HeaderValue;

use crate::render::Rendered;

/// Bodies smaller than this are not worth compressing.
const MIN_COMPRESS: usize = 256;

/// A page's ETag and Last-Modified, kept for a page no longer held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// The identity body's ETag.
    pub etag: String,
    /// Its Last-Modified.
    pub last_modified: SystemTime,
}

/// One encoded variant of a body.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The bytes sent.
    pub body: Bytes,
    /// The strong ETag of these bytes, quoted.
    pub etag: String,
    /// `etag` as a header value, made once rather than per request.
    pub etag_header: HeaderValue,
}

impl Variant {
    fn new(body: Bytes, etag: String) -> Variant {
        // An ETag is quoted hex: always a valid header value.
        let etag_header = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
        Variant {
            body,
            etag,
            etag_header,
        }
    }
}

/// A page, ready to send.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Uncompressed body.
    pub identity: Variant,
    /// gzip body, when smaller than the identity body.
    pub gzip: Option<Variant>,
    /// brotli body, when smaller than the identity body.
    pub br: Option<Variant>,
    /// When the body last changed, at whole seconds.
    pub last_modified: SystemTime,
    /// `last_modified` formatted as an HTTP date.
    pub last_modified_http: String,
    /// `last_modified_http` as a header value.
    pub last_modified_header: HeaderValue,
    /// The `Link` header (WebSub discovery on feeds), made once.
    pub link: Option<HeaderValue>,
}

fn etag_of(bytes: &[u8], suffix: &str) -> String {
    let h = blake3::hash(bytes);
    format!("\"{}{suffix}\"", &h.to_hex()[..24])
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Compresses with gzip.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::new(6),
    );
    enc.write_all(bytes)
        .and_then(|()| enc.finish())
        .expect("gzip into a Vec cannot fail: writing to a Vec never errors")
}

/// Compresses with brotli (quality 5: most of quality 11's gain at a
/// fraction of the time, which matters for edit-to-served latency).
pub fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        let _ = w.write_all(bytes);
    }
    out
}

/// The gzip and brotli bodies herald serves for `body`: each only when
/// the body is worth compressing and the result is smaller. The same
/// settings everywhere, so replicas and `herald build` agree byte for byte.
pub fn encodings(body: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    if body.len() < MIN_COMPRESS {
        return (None, None);
    }
    let smaller = |c: Vec<u8>| (!c.is_empty() && c.len() < body.len()).then_some(c);
    (smaller(gzip(body)), smaller(brotli(body)))
}

impl Resource {
    /// Prepares a rendered page: hashes and compresses it. When `previous`
    /// has the same body it is returned unchanged (same `Last-Modified`);
    /// otherwise `Last-Modified` is `now`, and always later than the
    /// previous one, so it moves whenever the body changes and never goes
    /// backwards.
    pub fn prepare(
        rendered: Rendered,
        previous: Option<&Arc<Resource>>,
        now: SystemTime,
    ) -> Arc<Resource> {
        let res = Resource::prepare_identity(rendered, previous, None, now);
        if res.is_compressed() || previous.is_some_and(|p| Arc::ptr_eq(p, &res)) {
            return res;
        }
        res.compressed()
    }

    /// Like [`Resource::prepare`] but without the compressed variants, which
    /// [`Resource::compressed`] adds later: the daemon serves a change as
    /// soon as it is rendered (identity bodies are always correct), and
    /// swaps in the compressed variants a few milliseconds after.
    ///
    /// `let_go` stands for `previous` when the page was let go rather than
    /// held: the same bytes keep its Last-Modified, other bytes get a later
    /// one, so Last-Modified moves only when the body does, however often
    /// the page is let go and rendered again.
    pub fn prepare_identity(
        rendered: Rendered,
        previous: Option<&Arc<Resource>>,
        let_go: Option<&Validators>,
        now: SystemTime,
    ) -> Arc<Resource> {
        let etag = etag_of(&rendered.body, "");
        if let Some(prev) = previous {
            let same_link = prev.link.as_ref().map(HeaderValue::as_bytes)
                == rendered.link.as_deref().map(str::as_bytes);
            if prev.identity.etag == etag && prev.content_type == rendered.content_type && same_link
            {
                return Arc::clone(prev);
            }
        }
        let let_go = let_go.filter(|_| previous.is_none());
        let last_modified = match let_go {
            Some(v) if v.etag == etag => v.last_modified,
            _ => {
                let earlier = previous
                    .map(|p| p.last_modified)
                    .or(let_go.map(|v| v.last_modified));
                match (whole_seconds(now), earlier) {
                    (t, Some(e)) if t <= e => e + Duration::from_secs(1),
                    (t, _) => t,
                }
            }
        };
        let last_modified_http = httpdate::fmt_http_date(last_modified);
        // An HTTP date is ASCII: always a valid header value.
        let last_modified_header = HeaderValue::from_str(&last_modified_http)
            .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
        // A URL in a Link header is ASCII (percent-encoded): a valid value.
        let link = rendered.link.and_then(|l| HeaderValue::from_str(&l).ok());
        Arc::new(Resource {
            link,
            content_type: rendered.content_type,
            identity: Variant::new(Bytes::from(rendered.body), etag),
            gzip: None,
            br: None,
            last_modified,
            last_modified_http,
            last_modified_header,
        })
    }

    /// What a client may hold of this page: its ETag and Last-Modified.
    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.identity.etag.clone(),
            last_modified: self.last_modified,
        }
    }

    /// Whether the compressed variants are prepared (or not worth preparing).
    pub fn is_compressed(&self) -> bool {
        self.gzip.is_some() || self.br.is_some() || self.identity.body.len() < MIN_COMPRESS
    }

    /// This resource with its gzip and brotli variants (same body, ETag
    /// base and `Last-Modified`).
    pub fn compressed(&self) -> Arc<Resource> {
        let (g, b) = encodings(&self.identity.body);
        let base = self.identity.etag.trim_matches('"');
        let gzip = g.map(|g| Variant::new(Bytes::from(g), format!("\"{base}-gz\"")));
        let br = b.map(|b| Variant::new(Bytes::from(b), format!("\"{base}-br\"")));
        Arc::new(Resource {
            gzip,
            br,
            ..self.clone()
        })
    }
}

/// Health facts shown at `/healthz`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Health {
    /// Published articles.
    pub articles: usize,
    /// Category folders.
    pub categories: usize,
    /// Content and config problems now, as printed by `herald check`.
    pub errors: Vec<String>,
    /// `events`, `polling` or `degraded`.
    pub watcher: String,
    /// When the snapshot was last rebuilt (RFC 3339).
    pub last_regeneration: String,
}

/// Everything the server answers from, swapped in whole.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Pages by URL path (not percent-encoded).
    pub resources: HashMap<String, Arc<Resource>>,
    /// `/healthz` facts.
    pub health: Health,
    /// `server.max_age`.
    pub max_age: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(body: &str) -> Rendered {
        Rendered {
            content_type: "text/plain",
            body: body.as_bytes().to_vec(),
            link: None,
        }
    }

    #[test]
    fn unchanged_body_keeps_the_resource_and_its_date() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1000);
        let a = Resource::prepare(r("hello"), None, t0);
        let b = Resource::prepare(r("hello"), Some(&a), t0 + Duration::from_secs(50));
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn last_modified_moves_on_every_change_even_within_a_second() {
        let t0 = UNIX_EPOCH + Duration::from_millis(1_000_400);
        let a = Resource::prepare(r("one"), None, t0);
        let b = Resource::prepare(r("two"), Some(&a), t0);
        let c = Resource::prepare(r("three"), Some(&b), t0 - Duration::from_secs(10));
        assert!(b.last_modified > a.last_modified);
        assert!(c.last_modified > b.last_modified);
        assert_ne!(a.identity.etag, b.identity.etag);
    }

    #[test]
    fn a_page_let_go_keeps_its_last_modified_for_the_same_bytes_only() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
        let a = Resource::prepare_identity(r("one"), None, None, t0);
        let before = a.validators();
        let later = t0 + Duration::from_secs(60);
        let same = Resource::prepare_identity(r("one"), None, Some(&before), later);
        assert_eq!(same.validators(), before);
        assert_eq!(same.last_modified_http, a.last_modified_http);
        let other = Resource::prepare_identity(r("two"), None, Some(&before), later);
        assert_eq!(other.last_modified, later);
        // Never backwards, even with a clock behind the page's date.
        let behind = Resource::prepare_identity(r("two"), None, Some(&before), t0);
        assert_eq!(behind.last_modified, t0 + Duration::from_secs(1));
        // A held page wins over a let-go one.
        let held = Resource::prepare_identity(r("one"), Some(&a), Some(&other.validators()), later);
        assert!(Arc::ptr_eq(&held, &a));
    }

    #[test]
    fn compressed_variants_decompress_to_the_body() {
        let body = "新聞 news ".repeat(200);
        let res = Resource::prepare(r(&body), None, SystemTime::now());
        let g = res.gzip.as_ref().unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&g.body[..]), &mut out)
            .unwrap();
        assert_eq!(out, body);
        let b = res.br.as_ref().unwrap();
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &b.body[..], &mut out).unwrap();
        assert_eq!(out, body.as_bytes());
        assert_ne!(g.etag, res.identity.etag);
        assert_ne!(b.etag, g.etag);
    }

    #[test]
    fn identity_first_then_compressed_keeps_etag_and_date() {
        let body = "新聞 news ".repeat(200);
        let plain = Resource::prepare_identity(r(&body), None, None, SystemTime::now());
        assert!(plain.gzip.is_none() && plain.br.is_none() && !plain.is_compressed());
        let full = plain.compressed();
        assert!(full.is_compressed() && full.gzip.is_some() && full.br.is_some());
        assert_eq!(full.identity.etag, plain.identity.etag);
        assert_eq!(full.last_modified, plain.last_modified);
    }
}
