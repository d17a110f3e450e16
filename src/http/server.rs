//! The HTTP side: a hyper 1 service over the current
//! [`Snapshot`], HTTP/1.1 and HTTP/2 (prior knowledge) on one port.
//! Requests are answered from memory only — paths are looked up, never
//! mapped to files — with RFC 9110 conditional requests and content
//! negotiation over bodies compressed in advance.
//!
//! This module also owns connection hygiene: a cap on open connections,
//! a deadline for the first byte and for request headers, bounded header
//! sizes, accept errors backed off, and graceful shutdown with a hard
//! deadline. What the snapshot holds is `daemon`'s business.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::http::snapshot::{Resource, Snapshot, Variant};

const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Connection limits and timeouts.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at most; more are closed on accept.
    pub max_connections: usize,
    /// A connection that sends no byte within this is closed.
    pub first_byte_timeout: Duration,
    /// Request headers must arrive within this (HTTP/1).
    pub header_timeout: Duration,
    /// Largest request head, bytes.
    pub max_header_bytes: usize,
    /// Hard deadline for draining connections at shutdown.
    pub shutdown_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            first_byte_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 32 * 1024,
            shutdown_deadline: Duration::from_secs(5),
        }
    }
}

/// The process-wide Prometheus recorder (metrics' recorder is global, so
/// it is installed once even when several daemons run in one process).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| {
                metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder()
            });
        let handle = recorder.handle();
        // Fails only if another recorder is installed already; then our
        // handle renders an empty page rather than crashing.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// What the server answers from besides the snapshot.
#[derive(Clone, Default)]
pub struct Extras {
    /// Renders pages the snapshot does not hold (tags, authors, articles).
    pub on_demand: Option<OnDemand>,
    /// The WebSub hub: `POST /websub`, and its part of `/healthz`.
    pub hub: Option<crate::websub::Hub>,
}

/// Serves `listener` from `snapshot` until `shutdown` resolves, then stops
/// accepting, lets in-flight responses finish and closes idle
/// connections, giving up after `limits.shutdown_deadline`.
///
/// Fails only if the listener's address cannot be read.
///
/// A listener sent on `rebind_rx` replaces the current one (the daemon
/// binds it first, so a failed bind never loses the old socket).
pub async fn serve(
    listener: TcpListener,
    snapshot: Arc<ArcSwap<Snapshot>>,
    limits: Limits,
    mut rebind_rx: tokio::sync::mpsc::Receiver<TcpListener>,
    extras: Extras,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    metrics_handle();
    let mut listener = listener;
    let addr = listener.local_addr()?;
    tracing::info!(address = %addr, "listening on http://{addr}");
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32)
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            Some(new) = rebind_rx.recv() => {
                if let Ok(addr) = new.local_addr() {
                    tracing::info!(address = %addr, "listening on http://{addr}");
                }
                listener = new;
                continue;
            }
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                backoff = Duration::from_millis(5);
                a
            }
            Err(e) => {
                // EMFILE and friends: wait instead of spinning; never exit.
                tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            metrics::counter!("herald_connections_rejected_total").increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let snapshot = Arc::clone(&snapshot);
        let extras = extras.clone();
        let builder = Arc::clone(&builder);
        let mut stop_rx = stop_rx.clone();
        let first_byte = limits.first_byte_timeout;
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            // The auto builder has no timeout while it sniffs the protocol:
            // wait, with a deadline, until the bytes decide it ourselves.
            tokio::select! {
                r = tokio::time::timeout(first_byte, sniff(&stream)) => {
                    if !matches!(r, Ok(true)) {
                        return;
                    }
                }
                _ = stop_rx.wait_for(|s| *s) => return,
            }
            serve_connection(stream, peer, snapshot, extras, builder, watcher).await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("connections drained"),
        _ = tokio::time::sleep(limits.shutdown_deadline) => {
            tracing::warn!("shutdown deadline passed; closing remaining connections")
        }
    }
    Ok(())
}

/// Renders a page the snapshot does not hold, on request. Given a decoded
/// path: `None` when no page rendered on request can live there; else a
/// receiver of the page, or of `None` when it does not exist.
pub type OnDemand = Arc<
    dyn Fn(&str) -> Option<tokio::sync::oneshot::Receiver<Option<Arc<Resource>>>> + Send + Sync,
>;

/// How long a request waits for a page rendered on request before it is
/// answered 503 (the renderer is busy with a large regeneration, or too
/// many such requests wait).
const ON_DEMAND_WAIT: Duration = Duration::from_secs(10);

/// What the publisher answered for a page rendered on request.
pub(super) enum OnDemandAnswer {
    Page(Arc<Resource>),
    None,
    Busy,
}

/// Asks for the page at `path` and waits (within [`ON_DEMAND_WAIT`]).
pub(super) async fn render_on_demand(render: &OnDemand, path: &str) -> OnDemandAnswer {
    let Some(rx) = render(path) else {
        return OnDemandAnswer::None;
    };
    match tokio::time::timeout(ON_DEMAND_WAIT, rx).await {
        Ok(Ok(Some(res))) => OnDemandAnswer::Page(res),
        Ok(Ok(None)) => OnDemandAnswer::None,
        Ok(Err(_)) | Err(_) => OnDemandAnswer::Busy,
    }
}

/// Whether a path without its trailing slash could name a folder-like page
/// (its last segment has no dot, as file names do).
fn wants_slash(path: &str) -> bool {
    !path.ends_with('/') && !path.rsplit('/').next().unwrap_or("").contains('.')
}

/// 503: too many pages rendered on request are waiting.
fn busy() -> Response<Full<Bytes>> {
    simple(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy; try again\n",
        Some("text/plain; charset=utf-8"),
    )
}

/// 301 to the raw request path with a slash added.
fn redirect_to_slash(raw: &str) -> Response<Full<Bytes>> {
    let mut r = simple(StatusCode::MOVED_PERMANENTLY, "", None);
    // A path sent as raw UTF-8 goes back percent-encoded: a Location
    // header is ASCII (`%` sequences already there stay as they are).
    let path = percent_encoding::utf8_percent_encode(raw, percent_encoding::CONTROLS);
    if let Ok(loc) = HeaderValue::from_str(&format!("{path}/")) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    r
}

/// The HTTP/2 connection preface (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Waits until the peeked bytes tell HTTP/1 from HTTP/2: a byte that
/// differs from the HTTP/2 preface, or the whole preface. `false` when the
/// peer closes first. Callers put a deadline on it: a silent peer, or one
/// that sends half a preface, is dropped instead of holding a slot.
async fn sniff(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 24];
    loop {
        let n = match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if buf[..n] != H2_PREFACE[..n] || n == H2_PREFACE.len() {
            return true;
        }
        // A partial preface: peek returns at once while bytes wait, so pause.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    snapshot: Arc<ArcSwap<Snapshot>>,
    extras: Extras,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let snap = snapshot.load_full();
        let on_demand = extras.on_demand.clone();
        let hub = extras.hub.clone();
        async move {
            if let Some(hub) = hub.as_ref() {
                match req.uri().path() {
                    "/websub" if hub.builtin() => {
                        let resp =
                            super::websub::endpoint(req, &snap, on_demand.as_ref(), hub).await;
                        count_status(resp.status());
                        return Ok::<_, Infallible>(resp);
                    }
                    "/healthz" if req.method() == Method::GET || req.method() == Method::HEAD => {
                        if let Some(extra) = hub.health() {
                            let resp = healthz(
                                &snap,
                                Some((extra, hub.database_error())),
                                req.method() == Method::HEAD,
                            );
                            count_status(resp.status());
                            return Ok(resp);
                        }
                    }
                    _ => {}
                }
            }
            let resp = match route(&req, &snap) {
                Routed::Answer(r) => r,
                Routed::Missing { path, head } => match on_demand.as_ref() {
                    Some(render) => {
                        match render_on_demand(render, &path).await {
                            OnDemandAnswer::Page(res) => {
                                send_resource(req.headers(), &res, snap.max_age, head)
                            }
                            OnDemandAnswer::Busy => busy(),
                            // "/tags/ev" → "/tags/ev/", as for category pages.
                            OnDemandAnswer::None if wants_slash(&path) => {
                                match render_on_demand(render, &format!("{path}/")).await {
                                    OnDemandAnswer::Page(_) => redirect_to_slash(req.uri().path()),
                                    OnDemandAnswer::Busy => busy(),
                                    OnDemandAnswer::None => not_found(head),
                                }
                            }
                            OnDemandAnswer::None => not_found(head),
                        }
                    }
                    None => not_found(head),
                },
            };
            count_status(resp.status());
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
    }
}

/// Answers one request from a snapshot. Pure: no I/O, no clock.
pub fn respond<B>(req: &Request<B>, snap: &Snapshot) -> Response<Full<Bytes>> {
    let resp = match route(req, snap) {
        Routed::Answer(r) => r,
        Routed::Missing { head, .. } => not_found(head),
    };
    count_status(resp.status());
    resp
}

/// What the snapshot alone says about a request.
enum Routed {
    /// The answer.
    Answer(Response<Full<Bytes>>),
    /// A GET or HEAD of a decoded path the snapshot does not hold.
    Missing { path: String, head: bool },
}

/// Counts a response in `herald_http_requests_total`, with the counter of
/// each status looked up once per thread rather than per request.
fn count_status(status: StatusCode) {
    thread_local! {
        static COUNTERS: std::cell::RefCell<Vec<(u16, metrics::Counter)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    COUNTERS.with(|c| {
        let mut c = c.borrow_mut();
        let code = status.as_u16();
        if let Some((_, counter)) = c.iter().find(|(s, _)| *s == code) {
            counter.increment(1);
            return;
        }
        let counter = metrics::counter!("herald_http_requests_total", "status" => status.as_str().to_string());
        counter.increment(1);
        c.push((code, counter));
    })
}

fn route<B>(req: &Request<B>, snap: &Snapshot) -> Routed {
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a bad request.
    if req.version() == hyper::Version::HTTP_11 && !req.headers().contains_key(header::HOST) {
        return Routed::Answer(simple(
            StatusCode::BAD_REQUEST,
            "missing Host header\n",
            Some("text/plain; charset=utf-8"),
        ));
    }
    let method = req.method();
    if method == Method::OPTIONS {
        return Routed::Answer(simple(StatusCode::NO_CONTENT, "", None));
    }
    if method != Method::GET && method != Method::HEAD {
        return Routed::Answer(simple(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed\n",
            Some("text/plain; charset=utf-8"),
        ));
    }
    let head = method == Method::HEAD;
    let raw = req.uri().path();
    let Some(path) = decode_path(raw) else {
        return Routed::Answer(not_found(head));
    };
    match path.as_str() {
        "/healthz" => return Routed::Answer(healthz(snap, None, head)),
        "/metrics" => {
            let body = metrics_handle().render();
            let mut r = simple(
                StatusCode::OK,
                "",
                Some("text/plain; version=0.0.4; charset=utf-8"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return Routed::Answer(with_body(r, Bytes::from(body), head));
        }
        _ => {}
    }
    if let Some(res) = snap.resources.get(&path) {
        return Routed::Answer(send_resource(req.headers(), res, snap.max_age, head));
    }
    // "/politics" → "/politics/", as static servers do for directories.
    if !path.ends_with('/') && snap.resources.contains_key(&format!("{path}/")) {
        return Routed::Answer(redirect_to_slash(raw));
    }
    Routed::Missing { path, head }
}

/// `/healthz`: the snapshot's health, with the WebSub hub's counts (and
/// its database's problem among the errors) when WebSub is on.
fn healthz(
    snap: &Snapshot,
    websub: Option<(serde_json::Value, Option<String>)>,
    head: bool,
) -> Response<Full<Bytes>> {
    let body = match websub {
        None => serde_json::to_vec_pretty(&snap.health),
        Some((counts, db_error)) => {
            let mut health = serde_json::to_value(&snap.health)
                .expect("Health serialises: string keys, strings and numbers only");
            if let Some(e) = db_error {
                if let Some(errors) = health["errors"].as_array_mut() {
                    errors.push(format!("websub: {e}").into());
                }
            }
            health["websub"] = counts;
            serde_json::to_vec_pretty(&health)
        }
    }
    .expect("Health serialises: string keys, strings and numbers only");
    let mut r = simple(StatusCode::OK, "", Some("application/json"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_body(r, Bytes::from(body), head)
}

/// Percent-decodes a request path; `None` for anything that could not
/// name one of our pages (traversal, NUL, empty segments, bad UTF-8).
pub fn decode_path(raw: &str) -> Option<String> {
    if !raw.starts_with('/') || raw.contains("//") {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    if decoded.contains('\0') || decoded.contains('\\') || decoded.contains("//") {
        return None;
    }
    if decoded.split('/').any(|seg| seg == ".." || seg == ".") {
        return None;
    }
    Some(decoded.into_owned())
}

pub(super) fn simple(
    status: StatusCode,
    body: &'static str,
    content_type: Option<&'static str>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    if let Some(ct) = content_type {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    r
}

fn with_body(mut r: Response<Full<Bytes>>, body: Bytes, head: bool) -> Response<Full<Bytes>> {
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    *r.body_mut() = Full::new(if head { Bytes::new() } else { body });
    r
}

fn not_found(head: bool) -> Response<Full<Bytes>> {
    let r = simple(StatusCode::NOT_FOUND, "", Some("text/plain; charset=utf-8"));
    with_body(r, Bytes::from_static(b"404 not found\n"), head)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    Br,
}

/// Picks a coding from `Accept-Encoding` (RFC 9110 §12.5.3): the highest
/// q-value among what we have, brotli before gzip on ties, identity when
/// nothing compressed is acceptable.
fn choose_coding(headers: &HeaderMap, res: &Resource) -> Coding {
    let mut q_br = None;
    let mut q_gzip = None;
    let mut q_star = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(v) = value.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0f32;
            for p in parts {
                if let Some(val) = p
                    .trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
                {
                    q = val.trim().parse().unwrap_or(0.0);
                }
            }
            match name.as_str() {
                "br" => q_br = Some(q),
                "gzip" | "x-gzip" => q_gzip = Some(q),
                "*" => q_star = Some(q),
                _ => {}
            }
        }
    }
    let br = if res.br.is_some() {
        q_br.or(q_star).unwrap_or(0.0)
    } else {
        0.0
    };
    let gz = if res.gzip.is_some() {
        q_gzip.or(q_star).unwrap_or(0.0)
    } else {
        0.0
    };
    if br > 0.0 && br >= gz {
        Coding::Br
    } else if gz > 0.0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

fn strip_weak(tag: &str) -> &str {
    tag.trim().strip_prefix("W/").unwrap_or(tag.trim())
}

/// `If-None-Match` with weak comparison: exact, `W/`, lists and `*`.
fn none_match(headers: &HeaderMap, etag: &str) -> Option<bool> {
    let mut seen = false;
    for value in headers.get_all(header::IF_NONE_MATCH) {
        seen = true;
        let Ok(v) = value.to_str() else { continue };
        if v.split(',')
            .any(|t| t.trim() == "*" || strip_weak(t) == etag)
        {
            return Some(true);
        }
    }
    seen.then_some(false)
}

/// `Cache-Control: public, max-age=N`, kept per thread for the last `N`.
fn cache_control(max_age: u32) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u32, HeaderValue)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((n, v)) if *n == max_age => v.clone(),
            _ => {
                let v = HeaderValue::from_str(&format!("public, max-age={max_age}"))
                    .unwrap_or(HeaderValue::from_static("public"));
                *last = Some((max_age, v.clone()));
                v
            }
        }
    })
}

fn send_resource(
    headers: &HeaderMap,
    res: &Resource,
    max_age: u32,
    head: bool,
) -> Response<Full<Bytes>> {
    let coding = choose_coding(headers, res);
    let variant: &Variant = match coding {
        Coding::Br => res.br.as_ref().unwrap_or(&res.identity),
        Coding::Gzip => res.gzip.as_ref().unwrap_or(&res.identity),
        Coding::Identity => &res.identity,
    };
    let not_modified = match none_match(headers, &variant.etag) {
        Some(m) => m,
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| res.last_modified <= since),
    };
    let mut r = Response::new(Full::new(Bytes::new()));
    let h = r.headers_mut();
    h.insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    // Header values are made once per change (and per max_age), not per request.
    h.insert(header::ETAG, variant.etag_header.clone());
    h.insert(header::LAST_MODIFIED, res.last_modified_header.clone());
    h.insert(header::CACHE_CONTROL, cache_control(max_age));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(link) = &res.link {
        h.insert(header::LINK, link.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if not_modified {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        return r;
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(res.content_type),
    );
    match coding {
        Coding::Br if res.br.is_some() => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        }
        Coding::Gzip if res.gzip.is_some() => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        _ => {}
    }
    with_body(r, variant.body.clone(), head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Rendered;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn snap() -> Snapshot {
        let mut s = Snapshot {
            max_age: 300,
            ..Default::default()
        };
        let body = "<rss>新聞</rss>".repeat(100).into_bytes();
        let res = Resource::prepare(
            Rendered {
                content_type: "application/rss+xml; charset=utf-8",
                body,
                link: None,
            },
            None,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        s.resources.insert("/社会/rss.xml".into(), res.clone());
        s.resources.insert("/社会/".into(), res);
        s
    }

    fn get(path: &str, headers: &[(&str, &str)]) -> Response<Full<Bytes>> {
        let mut b = Request::builder().uri(path).header("host", "x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        respond(&b.body(()).unwrap(), &snap())
    }

    #[test]
    fn paths_decode_and_traversal_is_refused() {
        assert_eq!(
            decode_path("/%E7%A4%BE%E4%BC%9A/rss.xml").as_deref(),
            Some("/社会/rss.xml")
        );
        for bad in [
            "/../etc/passwd",
            "/%2e%2e/x",
            "//rss.xml",
            "/a/%00",
            "/a/%2F%2Fb",
            "/%ff",
            "/a/./b",
        ] {
            assert_eq!(decode_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn accept_encoding_honours_q_values() {
        let res = snap().resources["/社会/rss.xml"].clone();
        let pick = |ae: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(ae).unwrap());
            choose_coding(&h, &res)
        };
        assert_eq!(pick("gzip, br"), Coding::Br);
        assert_eq!(pick("gzip, br;q=0"), Coding::Gzip);
        assert_eq!(pick("br;q=0.5, gzip;q=0.8"), Coding::Gzip);
        assert_eq!(pick("identity"), Coding::Identity);
        assert_eq!(pick("*"), Coding::Br);
        assert_eq!(pick("*;q=0, gzip"), Coding::Gzip);
        assert_eq!(pick("gzip;q=0, br;q=0"), Coding::Identity);
        assert_eq!(choose_coding(&HeaderMap::new(), &res), Coding::Identity);
    }

    #[test]
    fn conditional_requests_follow_rfc_9110() {
        let ok = get("/社会/rss.xml", &[]);
        assert_eq!(ok.status(), 200);
        let etag = ok.headers()["etag"].to_str().unwrap().to_string();
        let lm = ok.headers()["last-modified"].to_str().unwrap().to_string();
        let weak = format!("W/{etag}");
        let list = format!("\"nope\", {etag}");
        assert_eq!(
            get("/社会/rss.xml", &[("if-none-match", &etag)]).status(),
            304
        );
        assert_eq!(
            get("/社会/rss.xml", &[("if-none-match", &weak)]).status(),
            304
        );
        assert_eq!(
            get("/社会/rss.xml", &[("if-none-match", &list)]).status(),
            304
        );
        assert_eq!(
            get("/社会/rss.xml", &[("if-none-match", "*")]).status(),
            304
        );
        assert_eq!(
            get("/社会/rss.xml", &[("if-none-match", "\"other\"")]).status(),
            200
        );
        assert_eq!(
            get("/社会/rss.xml", &[("if-modified-since", &lm)]).status(),
            304
        );
        let later = httpdate::fmt_http_date(
            UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(900),
        );
        assert_eq!(
            get("/社会/rss.xml", &[("if-modified-since", &later)]).status(),
            304
        );
        let earlier = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1_699_999_999));
        assert_eq!(
            get("/社会/rss.xml", &[("if-modified-since", &earlier)]).status(),
            200
        );
        assert_eq!(
            get("/社会/rss.xml", &[("if-modified-since", "yesterday")]).status(),
            200
        );
        // If-None-Match wins over If-Modified-Since.
        assert_eq!(
            get(
                "/社会/rss.xml",
                &[("if-none-match", "\"other\""), ("if-modified-since", &lm)]
            )
            .status(),
            200
        );
        let nm = get("/社会/rss.xml", &[("if-none-match", &etag)]);
        assert_eq!(nm.headers()["etag"], etag.as_str());
        let _ = SystemTime::now();
    }

    #[test]
    fn http11_without_host_is_a_bad_request() {
        let req = Request::builder().uri("/社会/rss.xml").body(()).unwrap();
        assert_eq!(respond(&req, &snap()).status(), 400);
        let req = Request::builder()
            .version(hyper::Version::HTTP_10)
            .uri("/社会/rss.xml")
            .body(())
            .unwrap();
        assert_eq!(respond(&req, &snap()).status(), 200);
    }

    #[test]
    fn gzip_response_has_its_own_etag() {
        let g = get("/社会/rss.xml", &[("accept-encoding", "gzip")]);
        assert_eq!(g.headers()["content-encoding"], "gzip");
        let plain = get("/社会/rss.xml", &[]);
        assert_ne!(g.headers()["etag"], plain.headers()["etag"]);
        assert_eq!(g.headers()["vary"], "Accept-Encoding");
    }
}
