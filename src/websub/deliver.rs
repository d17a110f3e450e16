//! Distribution: each new version of a topic goes to every verified
//! subscriber as a `POST` of the feed's bytes, with its `Content-Type`,
//! its `Link` header and, for a subscriber that gave a secret,
//! `X-Hub-Signature: sha256=<HMAC of the body>`.
//!
//! Each subscriber has one slot holding the newest undelivered version
//! and at most one task delivering it: a version that arrives while an
//! older one waits for its retry replaces it. 2xx delivers; 410 ends the
//! subscription; anything else is retried with doubling waits until
//! `Tuning::retry_for` has passed. A semaphore bounds the deliveries
//! under way, and each has the request deadline, so a subscriber that
//! never answers holds one place for at most that long.
//!
//! A topic herald stops serving is denied: each subscriber gets
//! `hub.mode=denied` and its subscription ends.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::verify::error_chain;
use super::{address, hex, Content, Inner};

/// The version waiting for one subscriber.
#[derive(Default)]
pub(super) struct Slot {
    latest: Option<Arc<Content>>,
    /// Whether a task is delivering to this subscriber.
    running: bool,
}

impl Slot {
    /// Drops the waiting version (the subscription ended).
    pub(super) fn clear(slot: &Mutex<Slot>) {
        slot.lock().unwrap_or_else(|e| e.into_inner()).latest = None;
    }
}

enum Delivery {
    Delivered,
    Gone,
    Retry(String),
}

impl Inner {
    /// Hands `content` to every subscriber of `topic` whose lease runs.
    pub(super) fn distribute(self: &Arc<Self>, topic: &str, content: &Arc<Content>) {
        let now = self.now();
        let slots: Vec<(String, Arc<Mutex<Slot>>)> = {
            let state = self.lock_state();
            let Some(subs) = state.topics.get(topic) else {
                return;
            };
            subs.iter()
                .filter(|(_, s)| s.lease_end > now)
                .map(|(cb, s)| (cb.clone(), Arc::clone(&s.slot)))
                .collect()
        };
        for (callback, slot) in slots {
            let start = {
                let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                s.latest = Some(Arc::clone(content));
                !std::mem::replace(&mut s.running, true)
            };
            if start {
                self.pending.fetch_add(1, Ordering::Relaxed);
                let inner = Arc::clone(self);
                let topic = topic.to_string();
                self.runtime.spawn(async move {
                    Arc::clone(&inner).deliver_to(topic, callback, slot).await;
                    inner.pending.fetch_sub(1, Ordering::Relaxed);
                });
            }
        }
    }

    /// Delivers the newest waiting version until none waits.
    async fn deliver_to(self: Arc<Self>, topic: String, callback: String, slot: Arc<Mutex<Slot>>) {
        let mut attempt = 0u32;
        let mut failing_since: Option<Instant> = None;
        loop {
            let content = {
                let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                match s.latest.take() {
                    Some(c) => c,
                    None => {
                        s.running = false;
                        return;
                    }
                }
            };
            // The subscription may have ended (or its secret changed) meanwhile.
            let secret = {
                let state = self.lock_state();
                match state.topics.get(&topic).and_then(|s| s.get(&callback)) {
                    Some(sub) => sub.secret.clone(),
                    None => {
                        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                        s.latest = None;
                        s.running = false;
                        return;
                    }
                }
            };
            let result = {
                let _permit = self.deliveries.acquire().await;
                self.post(&callback, &content, secret.as_deref()).await
            };
            match result {
                Delivery::Delivered => {
                    metrics::counter!("herald_websub_deliveries_total", "outcome" => "ok")
                        .increment(1);
                    tracing::debug!(%callback, %topic, "websub: delivered");
                    attempt = 0;
                    failing_since = None;
                }
                Delivery::Gone => {
                    metrics::counter!("herald_websub_deliveries_total", "outcome" => "gone")
                        .increment(1);
                    tracing::info!(%callback, %topic, "websub: subscriber answered 410 Gone; subscription removed");
                    self.remove(&topic, &callback);
                    let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                    s.latest = None;
                    s.running = false;
                    return;
                }
                Delivery::Retry(why) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.tuning.retry_for {
                        metrics::counter!("herald_websub_deliveries_total", "outcome" => "failed")
                            .increment(1);
                        self.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(%callback, %topic, reason = %why, "websub: delivery given up after retrying");
                        attempt = 0;
                        failing_since = None;
                        // A newer version, if one came, is tried afresh.
                        continue;
                    }
                    metrics::counter!("herald_websub_deliveries_total", "outcome" => "retry")
                        .increment(1);
                    let wait = self.tuning.backoff(attempt);
                    tracing::info!(%callback, %topic, reason = %why, retry_in_ms = wait.as_millis() as u64, "websub: delivery failed; will retry");
                    {
                        // A newer version that came meanwhile replaces this one.
                        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                        if s.latest.is_none() {
                            s.latest = Some(content);
                        }
                    }
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn post(&self, callback: &str, content: &Content, secret: Option<&str>) -> Delivery {
        let Ok(url) = url::Url::parse(callback) else {
            return Delivery::Retry("unparsable callback".into());
        };
        if !self.allow_private.load(Ordering::Relaxed) {
            if let Some(why) = address::refused_literal(&url) {
                return Delivery::Retry(why);
            }
        }
        let mut req = self
            .client()
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content.content_type)
            .body(content.body.clone());
        if let Some(link) = &content.link {
            req = req.header(reqwest::header::LINK, link.clone());
        }
        if let Some(secret) = secret {
            req = req.header("X-Hub-Signature", signature(secret, &content.body));
        }
        match req.send().await {
            Ok(resp) if resp.status().is_success() => Delivery::Delivered,
            Ok(resp) if resp.status() == reqwest::StatusCode::GONE => Delivery::Gone,
            Ok(resp) => Delivery::Retry(format!("answered {}", resp.status())),
            Err(e) => Delivery::Retry(error_chain(&e)),
        }
    }

    /// Denies every subscriber of a topic herald no longer serves, and
    /// ends their subscriptions.
    pub(super) fn deny(self: &Arc<Self>, topic: &str) {
        let callbacks: Vec<String> = {
            let state = self.lock_state();
            match state.topics.get(topic) {
                Some(subs) => subs.keys().cloned().collect(),
                None => return,
            }
        };
        for callback in callbacks {
            self.remove(topic, &callback);
            tracing::info!(%callback, %topic, "websub: topic no longer served; subscriber denied");
            let Ok(mut url) = url::Url::parse(&callback) else {
                continue;
            };
            url.query_pairs_mut()
                .append_pair("hub.mode", "denied")
                .append_pair("hub.topic", topic)
                .append_pair("hub.reason", "the feed is no longer published");
            let inner = Arc::clone(self);
            self.runtime.spawn(async move {
                if !inner.allow_private.load(Ordering::Relaxed)
                    && address::refused_literal(&url).is_some()
                {
                    return;
                }
                if let Err(e) = inner.client().get(url).send().await {
                    tracing::debug!(error = %error_chain(&e), "websub: denial not received");
                }
            });
        }
    }
}

/// `sha256=<hex HMAC-SHA256 of body keyed by secret>`.
pub(super) fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_the_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
