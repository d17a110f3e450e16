//! Verification of intent: before a subscription starts, renews or ends,
//! the hub asks the callback (`GET` with `hub.mode`, `hub.topic`, a fresh
//! `hub.challenge` and, to subscribe, `hub.lease_seconds`), and only a 2xx
//! answer whose body is exactly the challenge confirms. A refusal or a
//! failure changes nothing: a subscription is stored only once verified.

use std::sync::Arc;

use super::request::{Mode, Request};
use super::store::{Op, Row};
use super::{address, challenge, Inner};

/// Challenge echoes longer than this are not read: they cannot match.
const MAX_ECHO: usize = 1024;

/// How a verification ended.
enum Outcome {
    Confirmed,
    /// The subscriber answered, but not with the challenge.
    Refused(String),
    /// No answer (network error, timeout, refused address).
    Failed(String),
}

impl Inner {
    pub(super) async fn verify(self: Arc<Self>, req: Request, path: String, host: String) {
        let challenge = challenge();
        let mut url = req.callback.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("hub.mode", req.mode.as_str());
            q.append_pair("hub.topic", &req.topic);
            q.append_pair("hub.challenge", &challenge);
            if req.mode == Mode::Subscribe {
                q.append_pair("hub.lease_seconds", &req.lease_seconds.to_string());
            }
        }
        let outcome = self.ask(&url, &challenge).await;
        {
            let mut state = self.lock_state();
            if let Some(n) = state.verifying.get_mut(&host) {
                *n -= 1;
                if *n == 0 {
                    state.verifying.remove(&host);
                }
            }
            state.verifying_total = state.verifying_total.saturating_sub(1);
        }
        let (callback, topic, mode) = (req.callback.as_str(), &req.topic, req.mode.as_str());
        let label = match &outcome {
            Outcome::Confirmed => "confirmed",
            Outcome::Refused(_) => "refused",
            Outcome::Failed(_) => "failed",
        };
        metrics::counter!("herald_websub_verifications_total", "mode" => mode, "outcome" => label)
            .increment(1);
        match outcome {
            Outcome::Confirmed => match req.mode {
                Mode::Subscribe => {
                    let lease_end = self.now() + req.lease_seconds as i64;
                    let row = Row {
                        topic: req.topic.clone(),
                        callback: callback.to_string(),
                        secret: req.secret.clone(),
                        lease_end,
                    };
                    self.store_write(Op::Put(row.clone()));
                    self.insert(row, path);
                    metrics::gauge!("herald_websub_subscriptions")
                        .set(self.lock_state().count() as f64);
                    tracing::info!(%callback, %topic, lease_seconds = req.lease_seconds, "websub: subscription verified");
                }
                Mode::Unsubscribe => {
                    self.remove(topic, callback);
                    tracing::info!(%callback, %topic, "websub: unsubscription verified; subscription removed");
                }
            },
            Outcome::Refused(why) | Outcome::Failed(why) => {
                tracing::warn!(%callback, %topic, mode, reason = %why, "websub: verification of intent failed; nothing changed");
            }
        }
    }

    async fn ask(&self, url: &url::Url, challenge: &str) -> Outcome {
        if !self
            .allow_private
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            if let Some(why) = address::refused_literal(url) {
                return Outcome::Failed(why);
            }
        }
        let mut resp = match self.client().get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(error_chain(&e)),
        };
        let status = resp.status();
        if !status.is_success() {
            return Outcome::Refused(format!("answered {status}"));
        }
        let mut echo = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    echo.extend_from_slice(&chunk);
                    if echo.len() > MAX_ECHO {
                        return Outcome::Refused(
                            "answered something longer than the challenge".into(),
                        );
                    }
                }
                Ok(None) => break,
                Err(e) => return Outcome::Failed(error_chain(&e)),
            }
        }
        if echo == challenge.as_bytes() {
            Outcome::Confirmed
        } else {
            Outcome::Refused("the answer is not the challenge".into())
        }
    }
}

/// An error with its causes, on one line (reqwest's top-level message
/// alone says only "error sending request").
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
