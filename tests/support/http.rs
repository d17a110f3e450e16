//! The one HTTP client of the tests: reqwest (blocking), with no proxy,
//! no redirects and no automatic decompression, so compressed bodies are
//! compared as sent. Raw protocol work lives in [`super::raw`].

use std::net::SocketAddr;
use std::time::Duration;

pub use reqwest::Method;
pub use reqwest::Version;

/// How long one request may take: generous, since a loaded two-core
/// machine can stall for seconds and a timeout here fails a test that
/// would have passed on the next poll.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP client (a cheap handle; clones share the connection pool).
#[derive(Clone)]
pub struct Client {
    inner: reqwest::blocking::Client,
}

fn builder() -> reqwest::blocking::ClientBuilder {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
}

/// An HTTP/1.1 client that keeps connections alive between requests.
pub fn client() -> Client {
    Client {
        inner: builder().build().expect("HTTP client"),
    }
}

/// An HTTP/1.1 client that opens a fresh connection for every request
/// (nothing pooled: a request to a socket that was closed fails at once).
pub fn fresh_client() -> Client {
    Client {
        inner: builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("HTTP client"),
    }
}

/// An HTTP/2 client with prior knowledge.
pub fn h2_client() -> Client {
    Client {
        inner: builder()
            .http2_prior_knowledge()
            .build()
            .expect("HTTP client"),
    }
}

/// `http://ADDR` + `path`.
pub fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

/// A response with its headers and whole body (as sent: not decompressed).
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// HTTP version.
    pub version: Version,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header as a string; panics when missing or not visible ASCII.
    pub fn header(&self, name: &str) -> &str {
        self.opt_header(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    /// A header as a string, if present.
    pub fn opt_header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("header value is visible ASCII"))
    }

    /// The body as UTF-8 text; panics when it is not.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("body is UTF-8")
    }
}

/// Whether a request failed because nothing listens at the address.
pub fn is_refused(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        source = s.source();
    }
    false
}

impl Client {
    /// Sends `method url` with `headers` and reads the whole reply.
    pub fn try_send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        let mut req = self.inner.request(method, url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send()?;
        let status = resp.status().as_u16();
        let version = resp.version();
        let headers = resp.headers().clone();
        let body = resp.bytes()?.to_vec();
        Ok(Reply {
            status,
            version,
            headers,
            body,
        })
    }

    /// [`Client::try_send`], panicking on a transport error.
    pub fn send(&self, method: Method, url: &str, headers: &[(&str, &str)]) -> Reply {
        self.try_send(method.clone(), url, headers)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    /// `GET url` with `headers`.
    pub fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, url, headers)
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Reply {
        self.get_with(url, &[])
    }

    /// `GET url`, with the transport error as a string (for polls).
    pub fn try_get(&self, url: &str) -> Result<Reply, String> {
        self.try_send(Method::GET, url, &[])
            .map_err(|e| format!("GET {url}: {e}"))
    }
}

/// Percent-encodes every byte of `s` outside the URL-unreserved set,
/// upper-case hex (`社会` → `%E7%A4%BE%E4%BC%9A`). Written here, not taken
/// from herald, so the tests check herald's encoding against their own.
pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
