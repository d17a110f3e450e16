//! WebSub (W3C Recommendation), both roles herald plays:
//!
//! - **publisher**: every feed names its hubs (`render` writes the links
//!   and the `Link` header), and after each regeneration every external
//!   hub in `websub.hubs` is pinged for each feed whose bytes changed
//!   ([`ping`]);
//! - **the built-in hub** at `POST /websub`: requests are checked
//!   ([`request`], [`address`]) and answered 202, intent is verified
//!   asynchronously ([`verify`]), new versions of a topic are pushed to
//!   its subscribers and a topic that goes away is denied ([`deliver`]),
//!   and subscriptions live in SQLite ([`store`]).
//!
//! The publisher thread hands each change to [`Hub::publish`] after the
//! new bytes are served; everything else runs on tokio tasks, so neither
//! a regeneration nor a response ever waits for a hub or a subscriber.
//! The subscriptions are held in memory (the store only keeps them across
//! restarts); the topic paths that have subscribers are shared with the
//! publisher ([`Hub::is_watched`]), which re-renders those pages rendered
//! on request (tag and author feeds) whenever they change.

pub mod address;
mod deliver;
mod ping;
pub mod request;
pub mod store;
mod verify;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::header::HeaderValue;
use rustc_hash::FxHashSet;

use crate::config::{Config, Format};
use crate::daemon::Clock;
use crate::url_segment::encode_path;
use store::{Op, Row, Store};

/// Timings of the hub's outgoing requests; tests shorten them.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// The wait before the first retry of a failed delivery or ping; it
    /// doubles with each further failure.
    pub retry_base: Duration,
    /// How long a delivery or ping is retried before it is given up.
    pub retry_for: Duration,
    /// How often ended leases are swept.
    pub sweep_every: Duration,
    /// The deadline of each verification, delivery and ping.
    pub timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            retry_base: Duration::from_secs(15),
            retry_for: Duration::from_secs(3600),
            sweep_every: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Tuning {
    /// The wait before retry number `attempt` (0-based).
    fn backoff(&self, attempt: u32) -> Duration {
        self.retry_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(Duration::from_secs(1800))
    }
}

/// A feed's new version, as the publisher serves it now.
#[derive(Debug)]
pub struct Content {
    /// The body, uncompressed.
    pub body: Bytes,
    /// Its `Content-Type`, exactly as served.
    pub content_type: &'static str,
    /// Its `Link` header (hubs and self).
    pub link: Option<HeaderValue>,
}

/// What the publisher announces of one feed.
#[derive(Debug)]
pub struct Update {
    /// The decoded URL path (`/社会/atom.xml`).
    pub path: String,
    /// Its new version; `None` when herald stopped serving it.
    pub content: Option<Arc<Content>>,
}

/// The hub's handle: cheap to clone, shared by the publisher and the server.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

/// What the config says, as the hub uses it.
#[derive(Debug, Clone)]
struct Settings {
    websub: crate::config::WebSub,
    base_url: String,
    formats: Vec<Format>,
}

struct Inner {
    settings: RwLock<Settings>,
    /// `websub.allow_private_callbacks`, read by the client's resolver too.
    allow_private: Arc<AtomicBool>,
    tuning: Tuning,
    clock: Clock,
    runtime: tokio::runtime::Handle,
    /// For callbacks: refused addresses filtered, no redirects, no proxy.
    /// Made at first use: most daemons never contact a hub.
    client: std::sync::OnceLock<reqwest::Client>,
    /// For the hubs the operator named (which may be on a private network).
    hub_client: std::sync::OnceLock<reqwest::Client>,
    state: Mutex<State>,
    store: Mutex<Option<Store>>,
    /// Deliveries under way at once, at most.
    deliveries: Arc<tokio::sync::Semaphore>,
    /// Pings under way at once, at most.
    pings: Arc<tokio::sync::Semaphore>,
    /// Decoded paths of topics with subscribers.
    watched: RwLock<FxHashSet<String>>,
    /// Subscribers with a version waiting or being delivered.
    pending: AtomicUsize,
    /// Versions given up after retrying.
    failed: AtomicU64,
    /// Pings waiting or under way, by (hub, topic): whether another
    /// version came meanwhile, so one more ping follows.
    pinging: Mutex<HashMap<(String, String), bool>>,
}

/// The subscriptions, by topic URL, then callback URL.
#[derive(Default)]
struct State {
    topics: HashMap<String, HashMap<String, Sub>>,
    /// Verifications under way, by callback host, and in all.
    verifying: HashMap<String, usize>,
    verifying_total: usize,
}

impl State {
    fn count(&self) -> usize {
        self.topics.values().map(HashMap::len).sum()
    }

    fn count_for_host(&self, host: &str) -> usize {
        let verified = self
            .topics
            .values()
            .flat_map(|subs| subs.keys())
            .filter(|cb| host_of(cb).as_deref() == Some(host))
            .count();
        verified + self.verifying.get(host).copied().unwrap_or(0)
    }
}

/// A verified subscription.
struct Sub {
    secret: Option<String>,
    /// When the lease ends, Unix seconds on the daemon's clock.
    lease_end: i64,
    /// The topic's decoded path.
    path: String,
    /// The version waiting for this subscriber.
    slot: Arc<Mutex<deliver::Slot>>,
}

/// Concurrent deliveries at most: enough to keep a thousand fast
/// subscribers moving, few enough that slow ones cannot exhaust sockets.
const MAX_DELIVERIES: usize = 64;
/// Concurrent pings at most.
const MAX_PINGS: usize = 16;
/// Subscriptions (and verifications under way) per callback host at most.
pub const MAX_PER_HOST: usize = 100;

/// Why a request the hub understood is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 503: the database is unavailable or the hub is full.
    Unavailable(String),
}

impl Hub {
    /// The hub for `config`: opens the database when the built-in hub is
    /// on, and starts the sweep of ended leases. Must be called within a
    /// tokio runtime, which its tasks then run on.
    pub fn new(config: &Config, tuning: Tuning, clock: Clock) -> Hub {
        let allow_private = Arc::new(AtomicBool::new(config.websub.allow_private_callbacks));
        let hub = Hub {
            inner: Arc::new(Inner {
                settings: RwLock::new(Settings::of(config)),
                allow_private,
                tuning,
                clock,
                runtime: tokio::runtime::Handle::current(),
                client: std::sync::OnceLock::new(),
                hub_client: std::sync::OnceLock::new(),
                state: Mutex::new(State::default()),
                store: Mutex::new(None),
                deliveries: Arc::new(tokio::sync::Semaphore::new(MAX_DELIVERIES)),
                pings: Arc::new(tokio::sync::Semaphore::new(MAX_PINGS)),
                watched: RwLock::new(FxHashSet::default()),
                pending: AtomicUsize::new(0),
                failed: AtomicU64::new(0),
                pinging: Mutex::new(HashMap::new()),
            }),
        };
        hub.open_store();
        let weak = Arc::downgrade(&hub.inner);
        let every = hub.inner.tuning.sweep_every;
        hub.inner.runtime.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                inner.sweep();
            }
        });
        hub
    }

    /// Takes a reloaded config: hubs, the built-in hub's settings. The
    /// database is opened when the built-in hub is turned on.
    pub fn configure(&self, config: &Config) {
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Settings::of(config);
        self.inner
            .allow_private
            .store(config.websub.allow_private_callbacks, Ordering::Relaxed);
        self.open_store();
    }

    fn open_store(&self) {
        let settings = self.inner.settings();
        let mut slot = self.inner.store.lock().unwrap_or_else(|e| e.into_inner());
        if !settings.websub.builtin || slot.is_some() {
            return;
        }
        let (store, rows) = Store::open(&settings.websub.state_dir);
        *slot = Some(store);
        drop(slot);
        let now = self.inner.now();
        let mut loaded = 0usize;
        for row in rows {
            if row.lease_end <= now {
                self.inner.store_write(Op::Delete(row.topic, row.callback));
                continue;
            }
            let Some(path) = settings.topic_path(&row.topic) else {
                // The site's base URL changed: a topic of the old one.
                self.inner.store_write(Op::Delete(row.topic, row.callback));
                continue;
            };
            self.inner.insert(row, path);
            loaded += 1;
        }
        if loaded > 0 {
            tracing::info!(subscriptions = loaded, "websub: subscriptions restored");
        }
    }

    /// Whether a subscriber follows the feed at this decoded path.
    pub fn is_watched(&self, path: &str) -> bool {
        self.inner
            .watched
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(path)
    }

    /// The decoded paths of every topic with subscribers.
    pub fn watched_paths(&self) -> Vec<String> {
        self.inner
            .watched
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Whether the built-in hub is on.
    pub fn builtin(&self) -> bool {
        self.inner.settings().websub.builtin
    }

    /// Whether anything is to be told of changes: external hubs, or
    /// subscribers of the built-in hub.
    pub fn wants_updates(&self) -> bool {
        let s = self.inner.settings();
        !s.websub.hubs.is_empty() || s.websub.builtin
    }

    /// `websub.lease_seconds`.
    pub fn default_lease(&self) -> u64 {
        self.inner.settings().websub.lease_seconds
    }

    /// `websub.allow_private_callbacks`.
    pub fn allows_private_callbacks(&self) -> bool {
        self.inner.allow_private.load(Ordering::Relaxed)
    }

    /// Whether external hubs are pinged.
    pub fn pings_hubs(&self) -> bool {
        !self.inner.settings().websub.hubs.is_empty()
    }

    /// The decoded path of a topic URL, when it names one of herald's
    /// feeds exactly as its self link does.
    pub fn topic_path(&self, topic: &str) -> Option<String> {
        self.inner.settings().topic_path(topic)
    }

    /// Whether `(topic, callback)` is a verified subscription.
    pub fn has_subscription(&self, topic: &str, callback: &str) -> bool {
        self.inner
            .lock_state()
            .topics
            .get(topic)
            .is_some_and(|subs| subs.contains_key(callback))
    }

    /// Accepts a well-formed request whose topic is one of herald's
    /// feeds (at decoded `path`) and whose callback may be contacted:
    /// verification of intent follows on a task.
    pub fn accept(&self, req: request::Request, path: String) -> Result<(), Refusal> {
        let settings = self.inner.settings();
        if let Some(e) = self.inner.store_error() {
            return Err(Refusal::Unavailable(format!(
                "subscription database unavailable: {e}"
            )));
        }
        let host = host_of(req.callback.as_str()).unwrap_or_default();
        {
            let mut state = self.inner.lock_state();
            let known = state
                .topics
                .get(&req.topic)
                .is_some_and(|s| s.contains_key(req.callback.as_str()));
            if req.mode == request::Mode::Subscribe && !known {
                if state.count() + state.verifying_total >= settings.websub.max_subscriptions {
                    return Err(Refusal::Unavailable(
                        "the hub has as many subscriptions as it takes".into(),
                    ));
                }
                if state.count_for_host(&host) >= MAX_PER_HOST {
                    return Err(Refusal::Unavailable(format!(
                        "{MAX_PER_HOST} subscriptions for callback host {host} already"
                    )));
                }
            }
            *state.verifying.entry(host.clone()).or_default() += 1;
            state.verifying_total += 1;
        }
        let inner = Arc::clone(&self.inner);
        self.inner.runtime.spawn(async move {
            inner.verify(req, path, host).await;
        });
        Ok(())
    }

    /// Announces changed and removed feeds, after their new bytes are
    /// served: pings external hubs, pushes to subscribers, denies the
    /// subscribers of a feed that is gone. Returns at once.
    pub fn publish(&self, updates: Vec<Update>) {
        if updates.is_empty() {
            return;
        }
        let settings = self.inner.settings();
        for u in updates {
            let topic = settings.topic_url(&u.path);
            match u.content {
                Some(content) => {
                    for hub in &settings.websub.hubs {
                        self.inner.ping(hub, &topic);
                    }
                    if settings.websub.builtin {
                        self.inner.distribute(&topic, &content);
                    }
                }
                None if settings.websub.builtin => self.inner.deny(&topic),
                None => {}
            }
        }
    }

    /// The `websub` part of `/healthz`, when WebSub is on.
    pub fn health(&self) -> Option<serde_json::Value> {
        let settings = self.inner.settings();
        if !settings.websub.enabled() {
            return None;
        }
        let database = if !settings.websub.builtin {
            "off".to_string()
        } else {
            self.inner.store_error().unwrap_or_else(|| "ok".into())
        };
        Some(serde_json::json!({
            "subscriptions": self.inner.lock_state().count(),
            "pending_deliveries": self.inner.pending.load(Ordering::Relaxed),
            "failed_deliveries": self.inner.failed.load(Ordering::Relaxed),
            "database": database,
        }))
    }

    /// Why the built-in hub's database cannot be used, if it cannot.
    pub fn database_error(&self) -> Option<String> {
        if !self.builtin() {
            return None;
        }
        self.inner.store_error()
    }
}

impl Settings {
    fn of(config: &Config) -> Settings {
        Settings {
            websub: config.websub.clone(),
            base_url: config.site.base_url.clone(),
            formats: config.feeds.formats.clone(),
        }
    }

    /// The public URL of a decoded path, as feeds' self links write it.
    fn topic_url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, encode_path(path))
    }

    fn topic_path(&self, topic: &str) -> Option<String> {
        let rest = topic.strip_prefix(&self.base_url)?;
        let path = crate::http::server::decode_path(rest)?;
        let file = path.rsplit('/').next()?;
        if !self.formats.iter().any(|f| f.file_name() == file) {
            return None;
        }
        (self.topic_url(&path) == topic).then_some(path)
    }
}

impl Inner {
    fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.tuning.timeout)
            .connect_timeout(self.tuning.timeout)
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION"), " (WebSub)"))
    }

    /// The client for callbacks: its resolver refuses private addresses
    /// unless they are allowed.
    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            let resolver = address::GuardedResolver {
                allow_private: Arc::clone(&self.allow_private),
            };
            self.client_builder()
                .dns_resolver(Arc::new(resolver))
                .build()
                .expect("a reqwest client with rustls and no proxy builds")
        })
    }

    /// The client for the external hubs the operator named.
    fn hub_client(&self) -> &reqwest::Client {
        self.hub_client.get_or_init(|| {
            self.client_builder()
                .build()
                .expect("a reqwest client with rustls and no proxy builds")
        })
    }

    fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    fn store_error(&self) -> Option<String> {
        match &*self.store.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(store) => store.error(),
            None => Some("not open".into()),
        }
    }

    fn store_write(&self, op: Op) {
        if let Some(store) = &*self.store.lock().unwrap_or_else(|e| e.into_inner()) {
            store.write(op);
        }
    }

    /// Adds or renews a subscription in memory (not in the store).
    fn insert(&self, row: Row, path: String) {
        let mut state = self.lock_state();
        let subs = state.topics.entry(row.topic).or_default();
        match subs.get_mut(&row.callback) {
            Some(sub) => {
                sub.secret = row.secret;
                sub.lease_end = row.lease_end;
            }
            None => {
                subs.insert(
                    row.callback,
                    Sub {
                        secret: row.secret,
                        lease_end: row.lease_end,
                        path: path.clone(),
                        slot: Arc::default(),
                    },
                );
            }
        }
        drop(state);
        self.watched
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path);
    }

    /// Ends a subscription, in memory and in the store; whether there was one.
    fn remove(&self, topic: &str, callback: &str) -> bool {
        let mut state = self.lock_state();
        let Some(subs) = state.topics.get_mut(topic) else {
            return false;
        };
        let Some(sub) = subs.remove(callback) else {
            return false;
        };
        deliver::Slot::clear(&sub.slot);
        if subs.is_empty() {
            state.topics.remove(topic);
            self.watched
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&sub.path);
        }
        drop(state);
        self.store_write(Op::Delete(topic.to_string(), callback.to_string()));
        metrics::gauge!("herald_websub_subscriptions").set(self.lock_state().count() as f64);
        true
    }

    /// Ends every subscription whose lease has ended.
    fn sweep(&self) {
        let now = self.now();
        let ended: Vec<(String, String)> = self
            .lock_state()
            .topics
            .iter()
            .flat_map(|(topic, subs)| {
                subs.iter()
                    .filter(|(_, s)| s.lease_end <= now)
                    .map(|(cb, _)| (topic.clone(), cb.clone()))
            })
            .collect();
        for (topic, callback) in ended {
            if self.remove(&topic, &callback) {
                tracing::info!(%callback, %topic, "websub: lease ended; subscription removed");
            }
        }
    }
}

/// The host (and port) of a URL, for the per-host limit.
fn host_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.host_str()?.to_ascii_lowercase())
}

/// A fresh, unguessable challenge: 32 random bytes as hex.
fn challenge() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            websub: crate::config::WebSub {
                hubs: vec![],
                builtin: true,
                state_dir: "state".into(),
                lease_seconds: 864_000,
                max_subscriptions: 10,
                allow_private_callbacks: false,
            },
            base_url: "https://feeds.example".into(),
            formats: Format::ALL.to_vec(),
        }
    }

    #[test]
    fn topics_are_feed_urls_exactly_as_self_links_write_them() {
        let s = settings();
        assert_eq!(
            s.topic_path("https://feeds.example/politics/atom.xml")
                .as_deref(),
            Some("/politics/atom.xml")
        );
        assert_eq!(
            s.topic_path("https://feeds.example/%E7%A4%BE%E4%BC%9A/rss.xml")
                .as_deref(),
            Some("/社会/rss.xml")
        );
        assert_eq!(
            s.topic_url("/社会/rss.xml"),
            "https://feeds.example/%E7%A4%BE%E4%BC%9A/rss.xml"
        );
        assert_eq!(
            s.topic_path("https://feeds.example/feed.json").as_deref(),
            Some("/feed.json")
        );
        for not_a_topic in [
            "https://feeds.example/社会/rss.xml",
            "https://feeds.example/politics/",
            "https://other.example/politics/atom.xml",
            "https://feeds.example/politics/atom.xml?x=1",
            "https://feeds.example/../atom.xml",
            "https://feeds.examplex/atom.xml",
        ] {
            assert_eq!(s.topic_path(not_a_topic), None, "{not_a_topic}");
        }
    }

    #[test]
    fn challenges_are_long_and_fresh() {
        let a = challenge();
        assert_eq!(a.len(), 64);
        assert_ne!(a, challenge());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let t = Tuning::default();
        assert_eq!(t.backoff(0), Duration::from_secs(15));
        assert_eq!(t.backoff(2), Duration::from_secs(60));
        assert_eq!(t.backoff(40), Duration::from_secs(1800));
    }
}
