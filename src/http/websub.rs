//! `POST /websub`, the built-in hub's door: reads the form (at most
//! [`MAX_BODY`] bytes), checks it, checks that the topic is one of the
//! feeds herald serves and that the callback is an address the hub may
//! contact, and hands it to the hub. 202 means verification of intent
//! follows; 400 says what is wrong in one line; 413 is a body too large;
//! 503 is a hub that cannot take it now (database, limits).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::server::{render_on_demand, simple, OnDemand, OnDemandAnswer};
use super::snapshot::Snapshot;
use crate::config::Format;
use crate::websub::request::{self, Mode, MAX_BODY};
use crate::websub::{address, Hub, Refusal};

/// Answers one request to `/websub`.
pub async fn endpoint(
    req: Request<Incoming>,
    snap: &Snapshot,
    on_demand: Option<&OnDemand>,
    hub: &Hub,
) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n".into());
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                "the request body ended early\n".into(),
            )
        }
    };
    let default_lease = hub.default_lease();
    let req = match request::parse(&body, default_lease) {
        Ok(r) => r,
        Err(why) => return bad(&why),
    };
    let Some(path) = hub.topic_path(&req.topic) else {
        return bad(&format!(
            "hub.topic {} is not the URL of a feed of this site",
            req.topic
        ));
    };
    // Ending a subscription needs no feed; starting one needs a feed served now.
    let known =
        req.mode == Mode::Unsubscribe && hub.has_subscription(&req.topic, req.callback.as_str());
    if !known {
        match is_served(snap, on_demand, &path).await {
            Served::Yes => {}
            Served::No => {
                return bad(&format!(
                    "hub.topic {} is not a feed herald serves",
                    req.topic
                ))
            }
            Served::Busy => {
                return text(StatusCode::SERVICE_UNAVAILABLE, "busy; try again\n".into())
            }
        }
    }
    if !hub.allows_private_callbacks() {
        if let Err(why) = address::check_callback(&req.callback).await {
            return bad(&format!("hub.callback refused: {why}"));
        }
    }
    match hub.accept(req, path) {
        Ok(()) => text(
            StatusCode::ACCEPTED,
            "accepted; the hub will verify intent with the callback\n".into(),
        ),
        Err(Refusal::Unavailable(why)) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", one_line(&why)),
        ),
    }
}

enum Served {
    Yes,
    No,
    Busy,
}

/// Whether a feed is served at the decoded `path`: held in the snapshot,
/// or a tag's or author's feed that renders.
async fn is_served(snap: &Snapshot, on_demand: Option<&OnDemand>, path: &str) -> Served {
    let is_feed = |ct: &str| Format::of_content_type(ct).is_some();
    if let Some(res) = snap.resources.get(path) {
        return if is_feed(res.content_type) {
            Served::Yes
        } else {
            Served::No
        };
    }
    let Some(render) = on_demand else {
        return Served::No;
    };
    match render_on_demand(render, path).await {
        OnDemandAnswer::Page(res) if is_feed(res.content_type) => Served::Yes,
        OnDemandAnswer::Page(_) | OnDemandAnswer::None => Served::No,
        OnDemandAnswer::Busy => Served::Busy,
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn bad(why: &str) -> Response<Full<Bytes>> {
    text(StatusCode::BAD_REQUEST, format!("{}\n", one_line(why)))
}

fn too_large() -> Response<Full<Bytes>> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {MAX_BODY} bytes\n"),
    )
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = simple(status, "", Some("text/plain; charset=utf-8"));
    r.headers_mut().remove(header::ALLOW);
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    *r.body_mut() = Full::new(Bytes::from(body));
    r
}
