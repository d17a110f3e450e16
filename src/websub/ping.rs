//! Publishing to external hubs: a form-encoded `POST` with
//! `hub.mode=publish` and the feed's URL as `hub.url` (and `hub.topic`,
//! which some hubs read instead). A hub fetches the feed itself, so one
//! ping waiting per (hub, feed) covers every version: a version that
//! comes while one is under way asks for one more ping after it. 2xx is
//! success; 5xx and network errors are retried with doubling waits until
//! `Tuning::retry_for` has passed; 4xx is logged and dropped.

use std::sync::Arc;
use std::time::Instant;

use super::verify::error_chain;
use super::Inner;

enum Ping {
    Done,
    Rejected(String),
    Retry(String),
}

impl Inner {
    pub(super) fn ping(self: &Arc<Self>, hub: &str, topic: &str) {
        let key = (hub.to_string(), topic.to_string());
        {
            let mut pinging = self.pinging.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(again) = pinging.get_mut(&key) {
                *again = true;
                return;
            }
            pinging.insert(key.clone(), false);
        }
        let inner = Arc::clone(self);
        self.runtime.spawn(async move {
            loop {
                inner.ping_until_done(&key.0, &key.1).await;
                let mut pinging = inner.pinging.lock().unwrap_or_else(|e| e.into_inner());
                match pinging.get_mut(&key) {
                    Some(again) if *again => *again = false,
                    _ => {
                        pinging.remove(&key);
                        return;
                    }
                }
            }
        });
    }

    async fn ping_until_done(&self, hub: &str, topic: &str) {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let result = {
                let _permit = self.pings.acquire().await;
                self.ping_once(hub, topic).await
            };
            match result {
                Ping::Done => {
                    metrics::counter!("herald_websub_publishes_total", "outcome" => "ok")
                        .increment(1);
                    tracing::debug!(%hub, %topic, "websub: hub pinged");
                    return;
                }
                Ping::Rejected(why) => {
                    metrics::counter!("herald_websub_publishes_total", "outcome" => "failed")
                        .increment(1);
                    tracing::warn!(%hub, %topic, reason = %why, "websub: hub refused the publish ping");
                    return;
                }
                Ping::Retry(why) if started.elapsed() >= self.tuning.retry_for => {
                    metrics::counter!("herald_websub_publishes_total", "outcome" => "failed")
                        .increment(1);
                    tracing::warn!(%hub, %topic, reason = %why, "websub: publish ping given up after retrying");
                    return;
                }
                Ping::Retry(why) => {
                    metrics::counter!("herald_websub_publishes_total", "outcome" => "retry")
                        .increment(1);
                    let wait = self.tuning.backoff(attempt);
                    tracing::info!(%hub, %topic, reason = %why, retry_in_ms = wait.as_millis() as u64, "websub: publish ping failed; will retry");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn ping_once(&self, hub: &str, topic: &str) -> Ping {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.mode", "publish")
            .append_pair("hub.url", topic)
            .append_pair("hub.topic", topic)
            .finish();
        let sent = self
            .hub_client()
            .post(hub)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ping::Done,
            Ok(r) if r.status().is_client_error() => {
                Ping::Rejected(format!("answered {}", r.status()))
            }
            Ok(r) => Ping::Retry(format!("answered {}", r.status())),
            Err(e) => Ping::Retry(error_chain(&e)),
        }
    }
}
