//! WebSub, both roles, over loopback: the built-in hub (subscribe and
//! unsubscribe requests, verification of intent, content distribution
//! with signatures, retries, leases, denials, state kept across
//! restarts, a broken database), publish pings to an external hub for
//! exactly the feeds that changed, discovery links in every feed format
//! and in the `Link` header, and the requests the hub refuses.
//!
//! Subscribers and the external hub are the harness's
//! [`Subscriber`] servers on 127.0.0.1; the daemon runs in-process with
//! short retry and sweep intervals, except where a test is about the
//! process (restart of the binary).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use support::*;

/// `site.base_url` of [`SITE`]: self links and topics start with it.
const BASE: &str = "https://feeds.harbour.example";
/// The built-in hub's public URL.
const HUB: &str = "https://feeds.harbour.example/websub";
/// The secret the signing tests subscribe with.
const SECRET: &str = "harbour-secret-42";
/// A politics article of [`SAMPLE`], edited by the tests.
const COUNCIL: &str = "politics/council-vote.md";
/// How long after a save a delivery to a healthy subscriber must have
/// arrived: the 50 ms debounce and a few hundred milliseconds of work,
/// with slack for a loaded two-core machine.
const PROMPT: Duration = Duration::from_secs(3);
/// How long a test waits for something that must not arrive.
const QUIET: Duration = Duration::from_secs(2);

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

// ------------------------------------------------------------ set-up

/// A temp site with [`SITE`], a 50 ms debounce, the sample newsroom, and
/// `websub` as the body of its `[websub]` table.
fn site_with(websub: &str) -> Site {
    let site = Site::with_config(&format!(
        "{SITE}\n[server]\nlisten = \"127.0.0.1:0\"\n\n\
         [content]\ndir = \"../content\"\ndebounce_ms = 50\n\n\
         [websub]\n{websub}\n"
    ));
    write_sample(&site.content);
    site
}

/// [`site_with`] without any `[websub]` table.
fn site_without_websub() -> Site {
    let site = Site::with_config(&format!(
        "{SITE}\n[server]\nlisten = \"127.0.0.1:0\"\n\n\
         [content]\ndir = \"../content\"\ndebounce_ms = 50\n"
    ));
    write_sample(&site.content);
    site
}

/// The built-in hub on, callbacks on loopback allowed (the subscribers
/// of these tests live on 127.0.0.1).
const BUILTIN: &str = "builtin = true\nallow_private_callbacks = true\n";

/// Short retry and sweep intervals and a short request timeout.
fn quick() -> Tuning {
    Tuning {
        retry_base: Duration::from_millis(200),
        sweep_every: Duration::from_millis(200),
        timeout: Duration::from_secs(2),
        ..Tuning::default()
    }
}

/// The site's daemon in-process with [`quick`] tuning.
fn start(site: &Site) -> Daemon {
    Daemon::start_with(&site.config, |o| o.websub = quick())
}

/// [`start`], then waits until its watchers see edits.
fn start_watching(site: &Site) -> Daemon {
    let d = start(site);
    d.wait_until_watching(site);
    d
}

/// A feed's public URL: its topic.
fn topic(path: &str) -> String {
    format!("{BASE}{path}")
}

/// Saves the council article (atomically, as editors do) with `title`,
/// keeping its date, authors and tags.
fn edit_council(site: &Site, title: &str) {
    site.atomic_save(
        COUNCIL,
        &format!(
            "+++\ntitle = \"{title}\"\ndate = 2025-03-10T09:30:00+08:00\n\
             authors = [\"Mei Lin\", \"Tom Baker\"]\ntags = [\"budget\", \"council\"]\n+++\n\
             The council voted on the harbour budget: {title}.\n"
        ),
    );
}

/// Edits the council article to `title` and waits until the politics
/// feed shows it; returns when the save was made.
fn edit_and_wait(d: &Daemon, site: &Site, title: &str) -> Instant {
    let saved = Instant::now();
    edit_council(site, title);
    d.wait_title("/politics/rss.xml", title, true, DEADLINE);
    saved
}

// ------------------------------------------------------------ the hub's HTTP

/// `POST path` with `content_type` and `body` to the daemon.
fn post(d: &Daemon, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client");
    let url = d.url(path);
    let resp = client
        .post(&url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    Reply {
        status: resp.status().as_u16(),
        version: resp.version(),
        headers: resp.headers().clone(),
        body: resp.bytes().expect("reply body").to_vec(),
    }
}

/// A form-encoded `POST /websub` with `fields`.
fn hub_request(d: &Daemon, fields: &[(&str, &str)]) -> Reply {
    post(
        d,
        "/websub",
        "application/x-www-form-urlencoded",
        form_encode(fields).into_bytes(),
    )
}

/// Asks the built-in hub to subscribe `callback` to `topic`, with
/// `extra` fields (`hub.secret`, `hub.lease_seconds`).
fn subscribe(d: &Daemon, topic: &str, callback: &str, extra: &[(&str, &str)]) -> Reply {
    let mut fields = vec![
        ("hub.mode", "subscribe"),
        ("hub.topic", topic),
        ("hub.callback", callback),
    ];
    fields.extend_from_slice(extra);
    hub_request(d, &fields)
}

/// Asks the built-in hub to unsubscribe `callback` from `topic`.
fn unsubscribe(d: &Daemon, topic: &str, callback: &str) -> Reply {
    hub_request(
        d,
        &[
            ("hub.mode", "unsubscribe"),
            ("hub.topic", topic),
            ("hub.callback", callback),
        ],
    )
}

/// Asserts `r` is 202.
fn assert_accepted(r: &Reply, what: &str) {
    assert_eq!(
        r.status,
        202,
        "{what}: want 202, got {}: {:?}",
        r.status,
        r.text()
    );
}

/// Waits for the verification `GET` of `mode` on callback path `path`
/// among the requests after `mark`.
fn verification(sub: &Subscriber, mark: usize, path: &str, mode: &str) -> Request {
    sub.wait_request(
        &format!("a {mode} verification GET on {path}"),
        mark,
        DEADLINE,
        |r| r.path() == path && r.is_get_mode(mode),
    )
}

/// Subscribes `sub.url(callback)` to `topic` with `extra` fields, then
/// waits for its verification (answered however `sub` answers) and
/// returns it.
fn subscribe_and_verify(
    d: &Daemon,
    sub: &Subscriber,
    topic: &str,
    callback: &str,
    extra: &[(&str, &str)],
) -> Request {
    let mark = sub.mark();
    let r = subscribe(d, topic, &sub.url(callback), extra);
    assert_accepted(&r, &format!("subscribe {callback} to {topic}"));
    let path = callback.split('?').next().unwrap();
    let v = verification(sub, mark, path, "subscribe");
    assert_eq!(
        v.param("hub.topic").as_deref(),
        Some(topic),
        "{}",
        v.summary()
    );
    v
}

/// `/healthz` `websub`, which must be an object.
fn websub_health(d: &Daemon) -> serde_json::Value {
    let h = d.health();
    let w = h["websub"].clone();
    assert!(w.is_object(), "/healthz has no websub object: {h}");
    w
}

/// Waits until `/healthz` counts `n` subscriptions.
fn wait_subscriptions(d: &Daemon, n: u64) {
    eventually(
        &format!("/healthz websub.subscriptions = {n}"),
        DEADLINE,
        || {
            let w = websub_health(d);
            (w["subscriptions"].as_u64() == Some(n))
                .then_some(())
                .ok_or(w.to_string())
        },
    );
}

/// The first `POST` to `path` after `mark` whose body contains `needle`.
fn wait_delivery(sub: &Subscriber, mark: usize, path: &str, needle: &str) -> Request {
    sub.wait_request(
        &format!("a delivery to {path} containing {needle:?}"),
        mark,
        DEADLINE,
        |r| r.is_post() && r.path() == path && r.text().contains(needle),
    )
}

/// The `POST`s to `path` after `mark`.
fn posts_to(sub: &Subscriber, mark: usize, path: &str) -> Vec<Request> {
    sub.since(mark)
        .into_iter()
        .filter(|r| r.is_post() && r.path() == path)
        .collect()
}

/// `(target, rel)` of every entry of the `Link` header values `values`.
fn link_entries(values: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for value in values {
        // Targets are URLs in `<…>`; the separating commas lie outside them.
        let mut rest = value.trim();
        while let Some(open) = rest.find('<') {
            let close = rest[open..].find('>').expect("`>` closes a link target") + open;
            let target = rest[open + 1..close].to_string();
            let params_end = rest[close..].find(',').map_or(rest.len(), |i| i + close);
            let params = &rest[close + 1..params_end];
            let rel = params
                .split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("rel"))
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
                .unwrap_or_default();
            out.push((target, rel));
            rest = &rest[params_end..];
        }
    }
    out
}

/// The targets with `rel` among `links`, in order.
fn rel_targets(links: &[(String, String)], rel: &str) -> Vec<String> {
    links
        .iter()
        .filter(|(_, r)| r.split_whitespace().any(|r| r.eq_ignore_ascii_case(rel)))
        .map(|(t, _)| t.clone())
        .collect()
}

/// The `Link` entries of a daemon reply.
fn reply_links(r: &Reply) -> Vec<(String, String)> {
    let values: Vec<&str> = r
        .headers
        .get_all("link")
        .iter()
        .map(|v| v.to_str().expect("Link is visible ASCII"))
        .collect();
    link_entries(&values)
}

/// The sum of the samples of counter `name` whose labels include `labels`.
fn counter(d: &Daemon, name: &str, labels: &[(&str, &str)]) -> f64 {
    let r = d.get("/metrics");
    assert_eq!(r.status, 200, "/metrics");
    parse_prometheus(r.text())
        .samples
        .iter()
        .filter(|s| s.name == name || s.name == format!("{name}_total"))
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

const PUBLISHES: &str = "herald_websub_publishes_total";
const VERIFICATIONS: &str = "herald_websub_verifications_total";
const DELIVERIES: &str = "herald_websub_deliveries_total";

/// Waits until counter `name{labels}` has grown by at least `by` since
/// it read `before`. (The recorder is shared by every daemon of this
/// test binary, so only growth is asserted.)
fn wait_counter_growth(d: &Daemon, name: &str, labels: &[(&str, &str)], before: f64, by: f64) {
    eventually(
        &format!("{name}{labels:?} to grow by {by} from {before}"),
        DEADLINE,
        || {
            let now = counter(d, name, labels);
            (now >= before + by)
                .then_some(())
                .ok_or(format!("now {now}"))
        },
    );
}

/// Every feed URL the daemon serves (public, from [`BASE`]) with its
/// bytes: the site and category feeds listed in `/feeds.opml`, and the
/// feeds of every tag and author listed in `/tags/` and `/authors/`.
fn served_feeds(d: &Daemon) -> BTreeMap<String, Vec<u8>> {
    let mut urls = BTreeSet::new();
    let opml = d.get("/feeds.opml");
    assert_eq!(opml.status, 200, "/feeds.opml");
    let doc = roxmltree::Document::parse(opml.text()).expect("OPML is XML");
    for n in doc.descendants() {
        if let Some(u) = n.attribute("xmlUrl") {
            urls.insert(u.to_string());
        }
    }
    for list in ["/tags/", "/authors/"] {
        let r = d.get(list);
        assert_eq!(r.status, 200, "{list}");
        for a in tags(r.text(), "a") {
            let Some(href) = a.get("href") else { continue };
            let Some(rest) = href.strip_prefix(&format!("{BASE}{list}")) else {
                continue;
            };
            // A term's page: one segment and a slash.
            if rest.is_empty() || rest.trim_end_matches('/').contains('/') || !rest.ends_with('/') {
                continue;
            }
            for file in ["rss.xml", "atom.xml", "feed.json"] {
                urls.insert(format!("{href}{file}"));
            }
        }
    }
    urls.into_iter()
        .map(|u| {
            let r = d.get(&u[BASE.len()..]);
            assert_eq!(r.status, 200, "GET {u}");
            (u, r.body)
        })
        .collect()
}

// ------------------------------------------------------------ the harness

#[test]
fn harness_hmac_matches_rfc_4231_test_case_2() {
    assert_eq!(
        hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn harness_link_parser_reads_one_or_several_headers() {
    let one = link_entries(&[
        "<https://hub.example/>; rel=\"hub\", <https://feeds.example/a.xml>; rel=\"self\"",
    ]);
    let two = link_entries(&[
        "<https://hub.example/>; rel=\"hub\"",
        "<https://feeds.example/a.xml>; rel=self",
    ]);
    let want = vec![
        ("https://hub.example/".to_string(), "hub".to_string()),
        (
            "https://feeds.example/a.xml".to_string(),
            "self".to_string(),
        ),
    ];
    assert_eq!(one, want);
    assert_eq!(two, want);
}

#[test]
fn harness_subscriber_records_and_answers_as_told() {
    let sub = Subscriber::start();
    let c = client();
    let r = c.get(&sub.url("/cb?a=1&hub.challenge=c%2B1&hub.mode=subscribe"));
    assert_eq!((r.status, r.text()), (200, "c+1"));
    sub.set_verify(Verify::WrongChallenge);
    let r = c.get(&sub.url("/cb?hub.challenge=xyz"));
    assert_eq!((r.status, r.text()), (200, "xyz0"));

    sub.set_answer(Answer::FailThen(1));
    let statuses: Vec<u16> = (0..2)
        .map(|_| post_to(&sub.url("/cb"), b"one".to_vec()).unwrap())
        .collect();
    assert_eq!(statuses, [500, 200]);
    let seen = sub.requests();
    assert_eq!(seen.len(), 4, "{}", describe(&seen));
    assert_eq!(seen[0].param("hub.challenge").as_deref(), Some("c+1"));
    assert_eq!(seen[0].param("a").as_deref(), Some("1"));
    assert_eq!(seen[0].path(), "/cb");
    assert_eq!(seen[2].body, b"one");
    assert_eq!(seen[2].answered, Some(500));
    assert_eq!(
        seen[3].header("content-type"),
        Some("application/octet-stream")
    );

    sub.set_answer(Answer::Hang);
    let started = Instant::now();
    let hung = post_to(&sub.url("/cb"), b"two".to_vec());
    assert!(hung.is_err(), "a hanging subscriber answered: {hung:?}");
    assert_eq!(sub.requests()[4].answered, None);
    drop(sub);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the hang held the drop"
    );
}

/// `POST url` with a body and a 500 ms timeout: the status, or the error.
fn post_to(url: &str, body: Vec<u8>) -> Result<u16, String> {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
        .post(url)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

// ------------------------------------------------------------ subscribe, deliver, unsubscribe

#[test]
fn subscriber_is_verified_then_gets_each_version_signed_until_it_unsubscribes() {
    let site = site_with(BUILTIN);
    let d = start_watching(&site);
    let sub = Subscriber::start();
    let politics = topic("/politics/atom.xml");
    let confirmed = [("mode", "subscribe"), ("outcome", "confirmed")];
    let unsub_confirmed = [("mode", "unsubscribe"), ("outcome", "confirmed")];
    let confirmed_before = counter(&d, VERIFICATIONS, &confirmed);
    let unsub_before = counter(&d, VERIFICATIONS, &unsub_confirmed);
    let delivered_before = counter(&d, DELIVERIES, &[("outcome", "ok")]);

    // With a secret, the default lease, and a query of the callback's own.
    let va = subscribe_and_verify(
        &d,
        &sub,
        &politics,
        "/a?user=alpha&x=1",
        &[("hub.secret", SECRET)],
    );
    assert_eq!(
        va.param("user").as_deref(),
        Some("alpha"),
        "{}",
        va.summary()
    );
    assert_eq!(va.param("x").as_deref(), Some("1"), "{}", va.summary());
    let challenge_a = va.param("hub.challenge").unwrap_or_default();
    assert!(
        !challenge_a.is_empty(),
        "no hub.challenge: {}",
        va.summary()
    );
    assert_eq!(
        va.param("hub.lease_seconds").as_deref(),
        Some("864000"),
        "the default lease: {}",
        va.summary()
    );

    // Without a secret, a lease below the minimum.
    let vb = subscribe_and_verify(&d, &sub, &politics, "/b", &[("hub.lease_seconds", "60")]);
    let challenge_b = vb.param("hub.challenge").unwrap_or_default();
    assert!(
        !challenge_b.is_empty(),
        "no hub.challenge: {}",
        vb.summary()
    );
    assert_ne!(challenge_a, challenge_b, "challenges must differ");
    assert_eq!(
        vb.param("hub.lease_seconds").as_deref(),
        Some("3600"),
        "a 60 s lease is raised to the minimum: {}",
        vb.summary()
    );

    // A lease beyond the maximum.
    let vc = subscribe_and_verify(
        &d,
        &sub,
        &politics,
        "/c",
        &[("hub.lease_seconds", "1000000000")],
    );
    assert_eq!(
        vc.param("hub.lease_seconds").as_deref(),
        Some("2592000"),
        "a lease of 10^9 s is cut to the maximum: {}",
        vc.summary()
    );
    let challenge_c = vc.param("hub.challenge").unwrap_or_default();
    assert!(
        challenge_c != challenge_a && challenge_c != challenge_b,
        "challenges must differ"
    );
    wait_subscriptions(&d, 3);
    wait_counter_growth(&d, VERIFICATIONS, &confirmed, confirmed_before, 3.0);

    // An edit: every subscriber gets the new feed as GET serves it.
    let mark = sub.mark();
    let first = "Council approves amended harbour budget";
    edit_and_wait(&d, &site, first);
    let served = d.get("/politics/atom.xml");
    assert_eq!(served.status, 200);
    let content_type = served.header("content-type").to_string();

    let pa = wait_delivery(&sub, mark, "/a", first);
    assert_eq!(pa.target, "/a?user=alpha&x=1", "the callback URL as given");
    assert!(
        pa.body == served.body,
        "the delivered body is not the served feed:\ndelivered {}\nserved {}",
        lossy(&pa.body),
        lossy(&served.body)
    );
    assert_eq!(pa.header("content-type"), Some(content_type.as_str()));
    let links = link_entries(&pa.header_all("link"));
    assert_eq!(rel_targets(&links, "hub"), [HUB], "Link: {links:?}");
    assert_eq!(
        rel_targets(&links, "self"),
        std::slice::from_ref(&politics),
        "Link: {links:?}"
    );
    let want = format!("sha256={}", hmac_sha256_hex(SECRET.as_bytes(), &pa.body));
    let got = pa.header("x-hub-signature").unwrap_or_else(|| {
        panic!(
            "no X-Hub-Signature for a subscriber with a secret: {:?}",
            pa.headers
        )
    });
    assert_eq!(got.to_ascii_lowercase(), want, "X-Hub-Signature");

    let pb = wait_delivery(&sub, mark, "/b", first);
    assert!(
        pb.body == served.body,
        "/b: the delivered body is not the served feed"
    );
    assert_eq!(pb.header("content-type"), Some(content_type.as_str()));
    assert_eq!(
        pb.header("x-hub-signature"),
        None,
        "no signature without a secret"
    );
    let pc = wait_delivery(&sub, mark, "/c", first);
    assert!(
        pc.body == served.body,
        "/c: the delivered body is not the served feed"
    );
    wait_counter_growth(&d, DELIVERIES, &[("outcome", "ok")], delivered_before, 3.0);

    // Unsubscribe /a: verified the same way, then nothing more for it.
    let mark = sub.mark();
    let r = unsubscribe(&d, &politics, &sub.url("/a?user=alpha&x=1"));
    assert_accepted(&r, "unsubscribe /a");
    let ua = verification(&sub, mark, "/a", "unsubscribe");
    assert_eq!(ua.param("hub.topic").as_deref(), Some(politics.as_str()));
    assert_eq!(
        ua.param("user").as_deref(),
        Some("alpha"),
        "{}",
        ua.summary()
    );
    let challenge_u = ua.param("hub.challenge").unwrap_or_default();
    assert!(
        !challenge_u.is_empty(),
        "no hub.challenge: {}",
        ua.summary()
    );
    assert!(
        ![&challenge_a, &challenge_b, &challenge_c].contains(&&challenge_u),
        "challenges are single-use"
    );
    wait_subscriptions(&d, 2);
    wait_counter_growth(&d, VERIFICATIONS, &unsub_confirmed, unsub_before, 1.0);

    let mark = sub.mark();
    let second = "Council budget vote confirmed";
    edit_and_wait(&d, &site, second);
    wait_delivery(&sub, mark, "/b", second);
    wait_delivery(&sub, mark, "/c", second);
    std::thread::sleep(QUIET);
    let to_a = posts_to(&sub, mark, "/a");
    assert!(
        to_a.is_empty(),
        "an unsubscribed callback got deliveries:\n  {}",
        describe(&to_a)
    );
}

#[test]
fn tag_author_and_chinese_category_feeds_are_delivered_too() {
    let site = site_with(BUILTIN);
    let d = start_watching(&site);
    let sub = Subscriber::start();
    let lib = "社会/library.md";
    let feeds = [
        ("/tag", "/tags/budget/atom.xml".to_string()),
        ("/author", "/authors/tom-baker/feed.json".to_string()),
        ("/chinese", format!("/{}/rss.xml", pct("社会"))),
        (
            "/chinese-author",
            format!("/authors/{}/rss.xml", pct("李華")),
        ),
    ];
    for (cb, path) in &feeds {
        subscribe_and_verify(&d, &sub, &topic(path), cb, &[]);
    }
    wait_subscriptions(&d, feeds.len() as u64);

    let mark = sub.mark();
    let title = "Council vote, followed by tag and author";
    edit_and_wait(&d, &site, title);
    site.atomic_save(
        lib,
        "+++\ntitle = \"圖書館夜間閱覽延長\"\ndate = \"2025-03-10T09:30:00+08:00\"\n\
         author = \"李華\"\n+++\n市圖書館延長開放時間。\n",
    );
    d.wait_title(&feeds[2].1, "圖書館夜間閱覽延長", true, DEADLINE);
    for (cb, path, needle) in [
        (feeds[0].0, &feeds[0].1, title),
        (feeds[1].0, &feeds[1].1, title),
        (feeds[2].0, &feeds[2].1, "圖書館夜間閱覽延長"),
        (feeds[3].0, &feeds[3].1, "圖書館夜間閱覽延長"),
    ] {
        let got = wait_delivery(&sub, mark, cb, needle);
        let served = d.get(path);
        assert_eq!(served.status, 200, "GET {path}");
        assert!(
            got.body == served.body,
            "{path}: the delivered body is not the served feed"
        );
        assert_eq!(
            got.header("content-type"),
            served.opt_header("content-type"),
            "{path}"
        );
        let links = link_entries(&got.header_all("link"));
        assert_eq!(
            rel_targets(&links, "self"),
            [topic(path)],
            "{path}: Link {links:?}"
        );
    }
}

#[test]
fn wrong_challenge_echo_leaves_no_subscription() {
    let site = site_with(BUILTIN);
    let d = start_watching(&site);
    let politics = topic("/politics/atom.xml");
    let refused = [("mode", "subscribe"), ("outcome", "refused")];
    let refused_before = counter(&d, VERIFICATIONS, &refused);

    let liar = Subscriber::with(Verify::WrongChallenge, Answer::Status(200));
    subscribe_and_verify(&d, &liar, &politics, "/liar", &[]);
    wait_counter_growth(&d, VERIFICATIONS, &refused, refused_before, 1.0);
    assert_eq!(
        websub_health(&d)["subscriptions"].as_u64(),
        Some(0),
        "a wrong echo must not subscribe"
    );

    // A subscriber that does confirm, to show that deliveries happen.
    let honest = Subscriber::start();
    subscribe_and_verify(&d, &honest, &politics, "/honest", &[]);
    wait_subscriptions(&d, 1);

    let mark = liar.mark();
    let h_mark = honest.mark();
    let title = "Council budget, as refused subscribers never see it";
    edit_and_wait(&d, &site, title);
    wait_delivery(&honest, h_mark, "/honest", title);
    std::thread::sleep(QUIET);
    let posts = posts_to(&liar, mark, "/liar");
    assert!(
        posts.is_empty(),
        "a callback that echoed a wrong challenge got deliveries:\n  {}",
        describe(&posts)
    );
    assert_eq!(websub_health(&d)["subscriptions"].as_u64(), Some(1));
}

#[test]
fn a_hanging_subscriber_does_not_delay_another() {
    let site = site_with(BUILTIN);
    // Deliveries time out after 10 s, as by default: a hub that delivered
    // one at a time would hold the healthy subscriber that long.
    let d = Daemon::start_with(&site.config, |o| {
        o.websub = Tuning {
            retry_base: Duration::from_millis(200),
            sweep_every: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
            ..Tuning::default()
        }
    });
    d.wait_until_watching(&site);
    let politics = topic("/politics/atom.xml");
    let slow = Subscriber::with(Verify::Echo, Answer::Hang);
    let fast = Subscriber::start();
    subscribe_and_verify(&d, &slow, &politics, "/slow", &[]);
    subscribe_and_verify(&d, &fast, &politics, "/fast", &[]);
    wait_subscriptions(&d, 2);

    let slow_mark = slow.mark();
    for (n, title) in [
        "Council vote: first version",
        "Council vote: second version",
        "Council vote: third version",
    ]
    .into_iter()
    .enumerate()
    {
        let mark = fast.mark();
        let saved = edit_and_wait(&d, &site, title);
        let served = d.get("/politics/atom.xml");
        let got = wait_delivery(&fast, mark, "/fast", title);
        let after = got.at.saturating_duration_since(saved);
        assert!(
            after <= PROMPT,
            "version {n}: the healthy subscriber got it {after:?} after the save \
             (want within {PROMPT:?}) while another hangs"
        );
        assert!(got.body == served.body, "version {n}: not the served feed");
        if n == 0 {
            // The hanging one was tried too, and holds its connection.
            slow.wait_request("a delivery to /slow", slow_mark, DEADLINE, |r| {
                r.is_post() && r.path() == "/slow"
            });
        }
    }
}

// ------------------------------------------------------------ restarts

#[test]
fn subscriptions_survive_an_in_process_restart() {
    let site = site_with(BUILTIN);
    let sub = Subscriber::start();
    let politics = topic("/politics/atom.xml");
    {
        let d = start(&site);
        subscribe_and_verify(&d, &sub, &politics, "/kept", &[("hub.secret", SECRET)]);
        wait_subscriptions(&d, 1);
        d.shutdown().expect("a clean shutdown");
    }
    let d = start_watching(&site);
    wait_subscriptions(&d, 1);
    let mark = sub.mark();
    let title = "Council vote after a restart";
    edit_and_wait(&d, &site, title);
    let served = d.get("/politics/atom.xml");
    let got = wait_delivery(&sub, mark, "/kept", title);
    assert!(got.body == served.body, "not the served feed");
    let want = format!("sha256={}", hmac_sha256_hex(SECRET.as_bytes(), &got.body));
    assert_eq!(
        got.header("x-hub-signature").map(str::to_ascii_lowercase),
        Some(want),
        "the secret is kept across the restart"
    );
}

#[test]
fn subscriptions_survive_a_restart_of_the_binary() {
    let site = site_with(BUILTIN);
    let sub = Subscriber::start();
    let politics = topic("/politics/atom.xml");
    let d = Daemon::spawn(&site.config);
    subscribe_and_verify(&d, &sub, &politics, "/kept", &[]);
    wait_subscriptions(&d, 1);
    let status = d.stop(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM should exit 0, got {status:?}"
    );

    let d = Daemon::spawn_watching(&site);
    wait_subscriptions(&d, 1);
    let mark = sub.mark();
    let title = "Council vote after the process restarted";
    edit_and_wait(&d, &site, title);
    let served = d.get("/politics/atom.xml");
    let got = wait_delivery(&sub, mark, "/kept", title);
    assert!(got.body == served.body, "not the served feed\n{}", d.log());
}

#[test]
fn an_unsubscribe_the_subscriber_does_not_confirm_changes_nothing() {
    let site = site_with(BUILTIN);
    let d = start_watching(&site);
    let politics = topic("/politics/atom.xml");
    let sub = Subscriber::start();
    subscribe_and_verify(&d, &sub, &politics, "/mine", &[]);
    wait_subscriptions(&d, 1);

    // Someone else asks to unsubscribe it; the subscriber says no.
    for answer in [Verify::Status(404), Verify::WrongChallenge] {
        sub.set_verify(answer);
        let mark = sub.mark();
        assert_accepted(
            &unsubscribe(&d, &politics, &sub.url("/mine")),
            "unsubscribe",
        );
        verification(&sub, mark, "/mine", "unsubscribe");
    }
    // Let the hub judge the answers before the edit.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(websub_health(&d)["subscriptions"].as_u64(), Some(1));
    let mark = sub.mark();
    let title = "Council vote, still delivered";
    edit_and_wait(&d, &site, title);
    wait_delivery(&sub, mark, "/mine", title);
}

#[test]
fn verification_does_not_follow_redirects() {
    let site = site_with(BUILTIN);
    let d = start(&site);
    let politics = topic("/politics/atom.xml");
    let echo = Subscriber::start();
    let redirector = Subscriber::with(Verify::Redirect(echo.addr.port()), Answer::Status(200));
    let v = subscribe_and_verify(&d, &redirector, &politics, "/moved", &[]);
    assert_eq!(v.answered, Some(307));
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        echo.requests().is_empty(),
        "the hub followed the redirect:\n  {}",
        describe(&echo.requests())
    );
    assert_eq!(websub_health(&d)["subscriptions"].as_u64(), Some(0));
}

// ------------------------------------------------------------ external hubs

#[test]
fn external_hub_is_pinged_for_exactly_the_feeds_whose_bytes_changed() {
    let hub = Subscriber::stub_hub();
    let hub_url = hub.url("/hub");
    let site = site_with(&format!("hubs = [\"{hub_url}\"]\n"));
    let d = start_watching(&site);
    let published_before = counter(&d, PUBLISHES, &[("outcome", "ok")]);
    // The watch probe changed the site feeds twice; let those pings land.
    hub.wait_quiet(Duration::from_millis(1500), DEADLINE);

    let before = served_feeds(&d);
    let mark = hub.mark();
    let title = "Council approves harbour budget, corrected";
    edit_and_wait(&d, &site, title);
    let after = served_feeds(&d);

    let all: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changed: BTreeSet<String> = all
        .iter()
        .filter(|u| before.get(**u) != after.get(**u))
        .map(|u| u.to_string())
        .collect();
    // The test means something only if some feeds changed and some did not.
    assert!(
        changed.contains(&topic("/politics/atom.xml")),
        "the edit did not change the politics feed: {changed:?}"
    );
    assert!(
        changed.len() < all.len(),
        "every feed changed; the test cannot tell pings apart: {changed:?}"
    );

    let pinged_urls = |pings: &[Request]| -> BTreeSet<String> {
        pings.iter().filter_map(|p| p.field("hub.url")).collect()
    };
    hub.wait(
        &format!("pings for the {} changed feeds", changed.len()),
        mark,
        DEADLINE,
        |pings| pinged_urls(pings).is_superset(&changed).then_some(()),
    );
    hub.wait_quiet(QUIET, DEADLINE);
    let pings = hub.since(mark);
    let pinged = pinged_urls(&pings);
    assert_eq!(
        pinged,
        changed,
        "pinged {:?} that did not change; did not ping {:?}",
        pinged.difference(&changed).collect::<Vec<_>>(),
        changed.difference(&pinged).collect::<Vec<_>>()
    );
    let mut per_url: BTreeMap<String, usize> = BTreeMap::new();
    for p in &pings {
        assert_eq!(p.method, "POST", "{}", p.summary());
        assert_eq!(p.path(), "/hub", "{}", p.summary());
        let ct = p.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/x-www-form-urlencoded"),
            "ping Content-Type {ct:?}"
        );
        assert_eq!(
            p.field("hub.mode").as_deref(),
            Some("publish"),
            "{}",
            p.summary()
        );
        let url = p.field("hub.url").expect("hub.url");
        assert_eq!(
            p.field("hub.topic"),
            Some(url.clone()),
            "hub.topic must equal hub.url: {}",
            p.summary()
        );
        *per_url.entry(url).or_default() += 1;
    }
    let repeated: Vec<_> = per_url.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        repeated.is_empty(),
        "one ping per changed feed: {repeated:?}"
    );
    wait_counter_growth(
        &d,
        PUBLISHES,
        &[("outcome", "ok")],
        published_before,
        changed.len() as f64,
    );
}

// ------------------------------------------------------------ abuse and validation

#[test]
fn private_callbacks_are_refused_unless_allowed() {
    let sub = Subscriber::start();
    let port = sub.addr.port();
    let politics = topic("/politics/atom.xml");
    let site = site_with("builtin = true\n");
    let d = start(&site);
    let refused = [
        format!("http://127.0.0.1:{port}/cb"),
        format!("http://[::ffff:127.0.0.1]:{port}/cb"),
        format!("http://localhost:{port}/cb"),
        format!("http://127.1:{port}/cb"),
        format!("http://2130706433:{port}/cb"),
        format!("http://[::1]:{port}/cb"),
        format!("http://0.0.0.0:{port}/cb"),
        format!("http://[::]:{port}/cb"),
        "http://10.1.2.3/cb".to_string(),
        "http://172.16.0.9/cb".to_string(),
        "http://192.168.1.20/cb".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://[fd12:3456::1]/cb".to_string(),
        "http://[fe80::1]/cb".to_string(),
        "http://[::ffff:10.0.0.1]/cb".to_string(),
        format!("https://127.0.0.1:{port}/cb"),
    ];
    for cb in &refused {
        let r = subscribe(&d, &politics, cb, &[]);
        assert_eq!(
            r.status,
            400,
            "callback {cb}: want 400, got {}: {:?}",
            r.status,
            r.text()
        );
        assert_one_line_reason(&r, cb);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        sub.requests().is_empty(),
        "a refused callback was contacted:\n  {}",
        describe(&sub.requests())
    );
    assert_eq!(websub_health(&d)["subscriptions"].as_u64(), Some(0));

    let site = site_with("builtin = true\nallow_private_callbacks = true\n");
    let d = start(&site);
    subscribe_and_verify(&d, &sub, &politics, "/cb", &[]);
    wait_subscriptions(&d, 1);
}

/// Asserts that `r` carries a reason: one non-empty line of text.
fn assert_one_line_reason(r: &Reply, what: &str) {
    let text = String::from_utf8_lossy(&r.body);
    let text = text.trim_end();
    assert!(
        !text.is_empty() && !text.contains('\n'),
        "{what}: want a one-line reason, got {text:?}"
    );
}

#[test]
fn bad_hub_requests_get_400_with_a_reason() {
    let sub = Subscriber::start();
    let site = site_with(BUILTIN);
    let d = start(&site);
    let politics_url = topic("/politics/atom.xml");
    let politics = politics_url.as_str();
    let cb_url = sub.url("/bad");
    let cb = cb_url.as_str();
    let secret_200 = "s".repeat(200);
    let daemon_url = d.url("/politics/atom.xml");
    let daemon_topic = daemon_url.as_str();
    let http_url = politics.replacen("https://", "http://", 1);
    let http_topic = http_url.as_str();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "no hub.mode",
            vec![("hub.topic", politics), ("hub.callback", cb)],
        ),
        (
            "unknown hub.mode",
            vec![
                ("hub.mode", "watch"),
                ("hub.topic", politics),
                ("hub.callback", cb),
            ],
        ),
        (
            "publish to the built-in hub",
            vec![
                ("hub.mode", "publish"),
                ("hub.topic", politics),
                ("hub.callback", cb),
            ],
        ),
        (
            "no hub.topic",
            vec![("hub.mode", "subscribe"), ("hub.callback", cb)],
        ),
        (
            "a topic herald does not serve",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", "https://feeds.harbour.example/nope/atom.xml"),
                ("hub.callback", cb),
            ],
        ),
        (
            "a page, not a feed",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", "https://feeds.harbour.example/politics/"),
                ("hub.callback", cb),
            ],
        ),
        (
            "a feed URL on another origin than the self link",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", http_topic),
                ("hub.callback", cb),
            ],
        ),
        (
            "the feed at the daemon's own address",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", daemon_topic),
                ("hub.callback", cb),
            ],
        ),
        (
            "no hub.callback",
            vec![("hub.mode", "subscribe"), ("hub.topic", politics)],
        ),
        (
            "a relative callback",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", politics),
                ("hub.callback", "/bad"),
            ],
        ),
        (
            "a callback that is not http",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", politics),
                ("hub.callback", "ftp://127.0.0.1/bad"),
            ],
        ),
        (
            "a callback that is no URL",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", politics),
                ("hub.callback", "not a url"),
            ],
        ),
        (
            "lease 0",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", politics),
                ("hub.callback", cb),
                ("hub.lease_seconds", "0"),
            ],
        ),
        (
            "a negative lease",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", politics),
                ("hub.callback", cb),
                ("hub.lease_seconds", "-5"),
            ],
        ),
        (
            "a lease that is not a number",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", politics),
                ("hub.callback", cb),
                ("hub.lease_seconds", "ten days"),
            ],
        ),
        (
            "a fractional lease",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", politics),
                ("hub.callback", cb),
                ("hub.lease_seconds", "1.5"),
            ],
        ),
        (
            "a secret of 200 bytes",
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", politics),
                ("hub.callback", cb),
                ("hub.secret", secret_200.as_str()),
            ],
        ),
    ];
    for (what, fields) in &cases {
        let r = hub_request(&d, fields);
        assert_eq!(
            r.status,
            400,
            "{what}: want 400, got {}: {:?}",
            r.status,
            r.text()
        );
        assert_one_line_reason(&r, what);
    }

    // Over 64 KiB: 413, whatever the fields.
    let padding = "p".repeat(70 * 1024);
    let big = form_encode(&[
        ("hub.mode", "subscribe"),
        ("hub.topic", politics),
        ("hub.callback", cb),
        ("padding", padding.as_str()),
    ]);
    let r = post(
        &d,
        "/websub",
        "application/x-www-form-urlencoded",
        big.into_bytes(),
    );
    assert_eq!(r.status, 413, "a 70 KiB body: {:?}", r.text());

    // Only POST: GET (and others) 405, naming POST as allowed.
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let r = client().send(method.clone(), &d.url("/websub"), &[]);
        assert_eq!(r.status, 405, "{method} /websub");
        let allow = r.opt_header("allow").unwrap_or_default();
        assert!(allow.contains("POST"), "{method} /websub: Allow {allow:?}");
    }

    // None of these reached the callback.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        sub.requests().is_empty(),
        "a refused request was verified:\n  {}",
        describe(&sub.requests())
    );

    // The limits themselves are accepted: a secret of 199 bytes, a
    // category feed with a percent-encoded segment, a tag feed.
    let secret_199 = "s".repeat(199);
    subscribe_and_verify(
        &d,
        &sub,
        politics,
        "/ok-secret",
        &[("hub.secret", secret_199.as_str())],
    );
    subscribe_and_verify(
        &d,
        &sub,
        &topic(&format!("/{}/rss.xml", pct("社会"))),
        "/ok-chinese",
        &[],
    );
    subscribe_and_verify(&d, &sub, &topic("/tags/budget/feed.json"), "/ok-tag", &[]);
    wait_subscriptions(&d, 3);
}

#[test]
fn subscriptions_beyond_the_maximum_get_503_and_unverified_ones_do_not_count() {
    let site = site_with("builtin = true\nallow_private_callbacks = true\nmax_subscriptions = 1\n");
    let d = start(&site);
    let politics = topic("/politics/atom.xml");

    // Never verified: does not count.
    let liar = Subscriber::with(Verify::WrongChallenge, Answer::Status(200));
    subscribe_and_verify(&d, &liar, &politics, "/liar", &[]);
    let gone = Subscriber::with(Verify::Status(404), Answer::Status(200));
    subscribe_and_verify(&d, &gone, &politics, "/nobody", &[]);

    let sub = Subscriber::start();
    subscribe_and_verify(&d, &sub, &politics, "/one", &[]);
    wait_subscriptions(&d, 1);

    let r = subscribe(&d, &politics, &sub.url("/two"), &[]);
    assert_eq!(
        r.status,
        503,
        "a subscription beyond the maximum: {:?}",
        r.text()
    );

    // Renewing the one there is is not a new one.
    subscribe_and_verify(&d, &sub, &politics, "/one", &[]);
    wait_subscriptions(&d, 1);
}

// ------------------------------------------------------------ discovery

/// The `atom:link` children of `parent` with `rel`, their hrefs in order.
fn atom_links(parent: roxmltree::Node, rel: &str) -> Vec<String> {
    parent
        .children()
        .filter(|n| n.has_tag_name((ATOM_NS, "link")) && n.attribute("rel") == Some(rel))
        .filter_map(|n| n.attribute("href").map(str::to_string))
        .collect()
}

/// What a feed body says of hubs and of itself: (hub URLs, self URLs).
fn feed_discovery(file: &str, body: &[u8]) -> (Vec<String>, Vec<String>) {
    let text = std::str::from_utf8(body).expect("UTF-8 feed");
    if file == "feed.json" {
        let v: serde_json::Value = serde_json::from_str(text).expect("JSON feed");
        let hubs = match v.get("hubs") {
            None => Vec::new(),
            Some(h) => h
                .as_array()
                .expect("hubs is an array")
                .iter()
                .map(|h| {
                    assert_eq!(h["type"], "WebSub", "hub type in {h}");
                    h["url"].as_str().expect("hub url").to_string()
                })
                .collect(),
        };
        let feed_url = v["feed_url"]
            .as_str()
            .into_iter()
            .map(str::to_string)
            .collect();
        return (hubs, feed_url);
    }
    let doc = roxmltree::Document::parse(text).expect("XML feed");
    let root = doc.root_element();
    let parent = if file == "rss.xml" {
        root.children()
            .find(|n| n.has_tag_name("channel"))
            .expect("RSS has a channel")
    } else {
        root
    };
    (atom_links(parent, "hub"), atom_links(parent, "self"))
}

/// Feeds the discovery tests look at: site, category (one with a
/// percent-encoded segment), tag and author.
fn discovery_paths() -> Vec<String> {
    let mut out = Vec::new();
    for dir in [
        String::new(),
        "/politics".to_string(),
        format!("/{}", pct("社会")),
        "/tags/budget".to_string(),
        "/authors/mei-lin".to_string(),
    ] {
        for file in ["rss.xml", "atom.xml", "feed.json"] {
            out.push(format!("{dir}/{file}"));
        }
    }
    out
}

#[test]
fn feeds_name_every_hub_and_themselves_in_body_and_link_header() {
    let stub = Subscriber::stub_hub();
    let external = stub.url("/hub");
    let site = site_with(&format!("builtin = true\nhubs = [\"{external}\"]\n"));
    let d = start(&site);
    let want_hubs = vec![external.clone(), HUB.to_string()];
    for path in discovery_paths() {
        let file = path.rsplit('/').next().unwrap();
        let r = d.get(&path);
        assert_eq!(r.status, 200, "GET {path}");
        let (hubs, selves) = feed_discovery(file, &r.body);
        assert_eq!(hubs, want_hubs, "{path}: hubs in the body");
        assert_eq!(selves, [topic(&path)], "{path}: exactly one self link");

        for method in [Method::GET, Method::HEAD] {
            let r = client().send(method.clone(), &d.url(&path), &[]);
            assert_eq!(r.status, 200, "{method} {path}");
            let links = reply_links(&r);
            assert_eq!(
                rel_targets(&links, "hub"),
                want_hubs,
                "{method} {path}: Link {links:?}"
            );
            assert_eq!(
                rel_targets(&links, "self"),
                [topic(&path)],
                "{method} {path}: Link {links:?}"
            );
        }
    }
}

#[test]
fn without_hubs_feeds_carry_no_hub_links_and_are_unchanged() {
    let plain = site_without_websub();
    let off = site_with("builtin = false\nhubs = []\n");
    let d_plain = start(&plain);
    let d_off = start(&off);
    for path in discovery_paths() {
        let file = path.rsplit('/').next().unwrap();
        let r = d_plain.get(&path);
        assert_eq!(r.status, 200, "GET {path}");
        let (hubs, selves) = feed_discovery(file, &r.body);
        assert!(hubs.is_empty(), "{path}: hub links without a hub: {hubs:?}");
        assert_eq!(selves, [topic(&path)], "{path}: exactly one self link");
        for method in [Method::GET, Method::HEAD] {
            let r = client().send(method.clone(), &d_plain.url(&path), &[]);
            assert_eq!(
                r.opt_header("link"),
                None,
                "{method} {path}: a Link header without a hub"
            );
        }
        let r_off = d_off.get(&path);
        assert!(
            r_off.body == r.body,
            "{path}: an empty [websub] table changed the feed"
        );
        assert_eq!(
            r_off.opt_header("link"),
            None,
            "{path}: Link with websub off"
        );
    }
    for d in [&d_plain, &d_off] {
        let h = d.health();
        assert!(h.get("websub").is_none(), "/healthz websub while off: {h}");
        let r = hub_request(
            d,
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", &topic("/politics/atom.xml")),
                ("hub.callback", "https://subscriber.example/cb"),
            ],
        );
        assert_ne!(
            r.status, 202,
            "a subscription accepted with no built-in hub"
        );
    }
}

// ------------------------------------------------------------ ends of subscriptions

#[test]
fn a_topic_that_goes_away_sends_a_denial_and_ends_its_subscriptions() {
    let site = site_with(BUILTIN);
    site.write(
        "weather/rain.md",
        "+++\ntitle = \"Rain all week\"\ndate = 2025-03-09T08:00:00+08:00\n+++\nBring an umbrella.\n",
    );
    let d = start_watching(&site);
    let sub = Subscriber::start();
    let weather = topic("/weather/atom.xml");
    let politics = topic("/politics/atom.xml");
    subscribe_and_verify(&d, &sub, &weather, "/weather?id=7", &[]);
    subscribe_and_verify(&d, &sub, &politics, "/politics", &[]);
    wait_subscriptions(&d, 2);

    let mark = sub.mark();
    std::fs::remove_dir_all(site.path("weather")).unwrap();
    d.wait_status("/weather/atom.xml", 404);
    let denial = sub.wait_request("a denial on /weather", mark, DEADLINE, |r| {
        r.path() == "/weather" && r.is_get_mode("denied")
    });
    assert_eq!(denial.param("hub.topic").as_deref(), Some(weather.as_str()));
    assert_eq!(
        denial.param("id").as_deref(),
        Some("7"),
        "the callback's own query"
    );
    wait_subscriptions(&d, 1);
    std::thread::sleep(Duration::from_millis(500));
    let to_politics: Vec<Request> = sub
        .since(mark)
        .into_iter()
        .filter(|r| r.path() == "/politics")
        .collect();
    assert!(
        to_politics.is_empty(),
        "the politics subscriber was told something:\n  {}",
        describe(&to_politics)
    );
}

#[test]
fn an_expired_lease_ends_the_subscription() {
    let site = site_with(BUILTIN);
    let clock = Clock::manual(at("2026-01-01T00:00:00Z"));
    let d = Daemon::start_with(&site.config, |o| {
        o.websub = quick();
        o.clock = clock.clone();
    });
    d.wait_until_watching(&site);
    let sub = Subscriber::start();
    let politics = topic("/politics/atom.xml");
    let v = subscribe_and_verify(
        &d,
        &sub,
        &politics,
        "/short",
        &[("hub.lease_seconds", "3600")],
    );
    assert_eq!(v.param("hub.lease_seconds").as_deref(), Some("3600"));
    wait_subscriptions(&d, 1);
    // Sweeps come every 200 ms; before the lease ends they keep it.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(websub_health(&d)["subscriptions"].as_u64(), Some(1));

    clock.set(at("2026-01-01T02:00:00Z"));
    wait_subscriptions(&d, 0);

    // A fresh subscriber shows that deliveries still happen.
    subscribe_and_verify(&d, &sub, &politics, "/fresh", &[]);
    wait_subscriptions(&d, 1);
    let mark = sub.mark();
    let title = "Council vote after the lease ended";
    edit_and_wait(&d, &site, title);
    wait_delivery(&sub, mark, "/fresh", title);
    std::thread::sleep(QUIET);
    let expired = posts_to(&sub, mark, "/short");
    assert!(
        expired.is_empty(),
        "an expired subscription got deliveries:\n  {}",
        describe(&expired)
    );
}

#[test]
fn subscribing_again_renews_the_lease() {
    let site = site_with(BUILTIN);
    let clock = Clock::manual(at("2026-01-01T00:00:00Z"));
    let d = Daemon::start_with(&site.config, |o| {
        o.websub = quick();
        o.clock = clock.clone();
    });
    let sub = Subscriber::start();
    let politics = topic("/politics/atom.xml");
    let hour = [("hub.lease_seconds", "3600")];
    subscribe_and_verify(&d, &sub, &politics, "/renewed", &hour);
    wait_subscriptions(&d, 1);

    // Renewed at 00:50 for an hour: the lease ends at 01:50, not 01:00.
    clock.set(at("2026-01-01T00:50:00Z"));
    subscribe_and_verify(&d, &sub, &politics, "/renewed", &hour);
    // Let the hub store the renewal before the clock moves on.
    std::thread::sleep(Duration::from_secs(1));
    clock.set(at("2026-01-01T01:10:00Z"));
    // Sweeps come every 200 ms: several pass at 01:10.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        websub_health(&d)["subscriptions"].as_u64(),
        Some(1),
        "a renewed lease outlives the first one"
    );
    clock.set(at("2026-01-01T02:00:00Z"));
    wait_subscriptions(&d, 0);
}

#[test]
fn gone_answer_ends_the_subscription() {
    let site = site_with(BUILTIN);
    let d = start_watching(&site);
    let politics = topic("/politics/atom.xml");
    let gone_before = counter(&d, DELIVERIES, &[("outcome", "gone")]);
    let gone = Subscriber::with(Verify::Echo, Answer::Status(410));
    let sub = Subscriber::start();
    subscribe_and_verify(&d, &gone, &politics, "/gone", &[]);
    subscribe_and_verify(&d, &sub, &politics, "/stays", &[]);
    wait_subscriptions(&d, 2);

    let mark = gone.mark();
    let first = "Council vote, first telling";
    edit_and_wait(&d, &site, first);
    wait_delivery(&gone, mark, "/gone", first);
    wait_subscriptions(&d, 1);
    wait_counter_growth(&d, DELIVERIES, &[("outcome", "gone")], gone_before, 1.0);
    let after_410 = gone.mark();

    let s_mark = sub.mark();
    let second = "Council vote, second telling";
    edit_and_wait(&d, &site, second);
    wait_delivery(&sub, s_mark, "/stays", second);
    std::thread::sleep(QUIET);
    let more = gone.since(after_410);
    assert!(
        more.is_empty(),
        "a callback that answered 410 was contacted again:\n  {}",
        describe(&more)
    );
}

// ------------------------------------------------------------ retries

#[test]
fn failed_deliveries_are_retried_until_the_subscriber_answers() {
    let site = site_with(BUILTIN);
    let d = start_watching(&site);
    let politics = topic("/politics/atom.xml");
    let retried_before = counter(&d, DELIVERIES, &[("outcome", "retry")]);
    let sub = Subscriber::start();
    subscribe_and_verify(&d, &sub, &politics, "/flaky", &[("hub.secret", SECRET)]);
    wait_subscriptions(&d, 1);
    // Whatever the hub sends unasked lands before the count starts.
    sub.wait_quiet(Duration::from_millis(500), DEADLINE);

    sub.set_answer(Answer::FailThen(2));
    let mark = sub.mark();
    let title = "Council vote, delivered on the third try";
    edit_and_wait(&d, &site, title);
    let served = d.get("/politics/atom.xml");
    let tries = sub.wait(
        "a delivery answered 200 after two 500s",
        mark,
        DEADLINE,
        |seen| {
            let posts: Vec<Request> = seen
                .iter()
                .filter(|r| r.is_post() && r.path() == "/flaky")
                .cloned()
                .collect();
            posts
                .iter()
                .any(|r| r.answered == Some(200))
                .then_some(posts)
        },
    );
    let statuses: Vec<Option<u16>> = tries.iter().map(|r| r.answered).collect();
    assert_eq!(
        statuses,
        [Some(500), Some(500), Some(200)],
        "{}",
        describe(&tries)
    );
    for t in &tries {
        assert!(
            t.body == served.body,
            "each try carries the served feed: {}",
            t.summary()
        );
        let want = format!("sha256={}", hmac_sha256_hex(SECRET.as_bytes(), &t.body));
        assert_eq!(
            t.header("x-hub-signature").map(str::to_ascii_lowercase),
            Some(want),
            "each try is signed"
        );
    }
    wait_counter_growth(&d, DELIVERIES, &[("outcome", "retry")], retried_before, 2.0);

    // Delivered: no more tries.
    std::thread::sleep(QUIET);
    assert_eq!(
        posts_to(&sub, mark, "/flaky").len(),
        3,
        "tries after the delivery:\n  {}",
        describe(&sub.since(mark))
    );
    assert_eq!(websub_health(&d)["subscriptions"].as_u64(), Some(1));
}

#[test]
fn a_newer_version_replaces_an_undelivered_older_one() {
    let site = site_with(BUILTIN);
    let d = start_watching(&site);
    let politics = topic("/politics/atom.xml");
    let sub = Subscriber::start();
    subscribe_and_verify(&d, &sub, &politics, "/down", &[]);
    wait_subscriptions(&d, 1);

    sub.set_answer(Answer::Status(500));
    let mark = sub.mark();
    let older = "Council vote, older version";
    edit_and_wait(&d, &site, older);
    wait_delivery(&sub, mark, "/down", older);
    eventually("a failing delivery to count as pending", DEADLINE, || {
        let w = websub_health(&d);
        w["pending_deliveries"]
            .as_u64()
            .is_some_and(|n| n >= 1)
            .then_some(())
            .ok_or(w.to_string())
    });

    let newer = "Council vote, newer version";
    edit_and_wait(&d, &site, newer);
    let served = d.get("/politics/atom.xml");
    // Once a try carries the newer version, the hub knows it.
    wait_delivery(&sub, mark, "/down", newer);
    sub.set_answer(Answer::Status(200));
    let delivered = sub.wait_request("a delivery answered 200", mark, DEADLINE, |r| {
        r.is_post() && r.path() == "/down" && r.answered == Some(200)
    });
    assert!(
        delivered.body == served.body,
        "the newest version is the one delivered: {}",
        delivered.summary()
    );
    std::thread::sleep(QUIET);

    let posts = posts_to(&sub, mark, "/down");
    let first_newer = posts.iter().position(|r| r.text().contains(newer)).unwrap();
    let stale: Vec<&Request> = posts[first_newer..]
        .iter()
        .filter(|r| r.text().contains(older))
        .collect();
    assert!(
        stale.is_empty(),
        "the older version was sent after the newer one:\n  {}",
        describe(&posts)
    );
    let after_ok = posts.iter().skip_while(|r| r.answered != Some(200)).count();
    assert_eq!(
        after_ok,
        1,
        "tries after the delivery:\n  {}",
        describe(&posts)
    );
    eventually("no pending deliveries", DEADLINE, || {
        let w = websub_health(&d);
        (w["pending_deliveries"].as_u64() == Some(0))
            .then_some(())
            .ok_or(w.to_string())
    });
}

// ------------------------------------------------------------ state

#[test]
fn an_unusable_database_gives_503_and_feeds_are_still_served() {
    let site =
        site_with("builtin = true\nallow_private_callbacks = true\nstate_dir = \"blocked\"\n");
    // A regular file where the state directory should be.
    std::fs::write(site.root.join("cfg/blocked"), "not a directory\n").unwrap();
    let d = start(&site);
    let sub = Subscriber::start();

    let r = subscribe(&d, &topic("/politics/atom.xml"), &sub.url("/cb"), &[]);
    assert_eq!(
        r.status,
        503,
        "subscribe without a database: {:?}",
        r.text()
    );
    let w = websub_health(&d);
    let db = w["database"]
        .as_str()
        .unwrap_or_else(|| panic!("database is a string: {w}"));
    assert!(!db.is_empty() && db != "ok", "healthz websub.database: {w}");

    for path in ["/politics/atom.xml", "/rss.xml", "/feed.json", "/"] {
        assert_eq!(d.get(path).status, 200, "GET {path} without a database");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(sub.requests().is_empty(), "{}", describe(&sub.requests()));
}

#[test]
fn resubscribing_replaces_the_secret_only_once_verified() {
    let site = site_with(BUILTIN);
    let d = start_watching(&site);
    let politics = topic("/politics/atom.xml");
    let sub = Subscriber::start();
    subscribe_and_verify(
        &d,
        &sub,
        &politics,
        "/cb",
        &[("hub.secret", "first-secret")],
    );
    wait_subscriptions(&d, 1);

    // A renewal whose verification fails changes nothing.
    sub.set_verify(Verify::WrongChallenge);
    subscribe_and_verify(
        &d,
        &sub,
        &politics,
        "/cb",
        &[("hub.secret", "second-secret")],
    );
    // Let the hub judge the wrong echo before the edit.
    std::thread::sleep(Duration::from_secs(1));
    let mark = sub.mark();
    let title = "Council vote, signed with the first secret";
    edit_and_wait(&d, &site, title);
    let got = wait_delivery(&sub, mark, "/cb", title);
    assert_eq!(
        got.header("x-hub-signature").map(str::to_ascii_lowercase),
        Some(format!(
            "sha256={}",
            hmac_sha256_hex(b"first-secret", &got.body)
        )),
        "an unverified renewal must not replace the secret"
    );
    assert_eq!(websub_health(&d)["subscriptions"].as_u64(), Some(1));

    // A verified one does.
    sub.set_verify(Verify::Echo);
    subscribe_and_verify(
        &d,
        &sub,
        &politics,
        "/cb",
        &[("hub.secret", "second-secret")],
    );
    // Nothing the hub shows says when it has stored what it verified;
    // give it a moment (on loopback it takes milliseconds).
    std::thread::sleep(Duration::from_secs(1));
    let mark = sub.mark();
    let title = "Council vote, signed with the second secret";
    edit_and_wait(&d, &site, title);
    let got = wait_delivery(&sub, mark, "/cb", title);
    assert_eq!(
        got.header("x-hub-signature").map(str::to_ascii_lowercase),
        Some(format!(
            "sha256={}",
            hmac_sha256_hex(b"second-secret", &got.body)
        )),
        "a verified renewal replaces the secret"
    );
    assert_eq!(websub_health(&d)["subscriptions"].as_u64(), Some(1));
}

/// A tag with one article, and a subscription to its RSS feed made and
/// then restored by a restart (so the daemon has not rendered the feed
/// since it started).
fn restored_monsoon_subscription(site: &Site, sub: &Subscriber) -> (Daemon, String) {
    site.write(
        "weather/rain.md",
        "+++\ntitle = \"Rain all week\"\ndate = 2025-03-09T08:00:00+08:00\n\
         tags = [\"Monsoon\"]\n+++\nBring an umbrella.\n",
    );
    let monsoon = topic("/tags/monsoon/rss.xml");
    {
        let d = start(site);
        subscribe_and_verify(&d, sub, &monsoon, "/monsoon", &[]);
        wait_subscriptions(&d, 1);
        d.shutdown().expect("a clean shutdown");
    }
    let d = start_watching(site);
    wait_subscriptions(&d, 1);
    (d, monsoon)
}

#[test]
fn a_restored_tag_subscription_gets_new_versions() {
    let site = site_with(BUILTIN);
    let sub = Subscriber::start();
    let (d, _) = restored_monsoon_subscription(&site, &sub);
    let mark = sub.mark();
    site.atomic_save(
        "weather/rain.md",
        "+++\ntitle = \"Rain all month\"\ndate = 2025-03-09T08:00:00+08:00\n\
         tags = [\"Monsoon\"]\n+++\nBring two umbrellas.\n",
    );
    let got = wait_delivery(&sub, mark, "/monsoon", "Rain all month");
    assert_eq!(
        got.body,
        d.get("/tags/monsoon/rss.xml").body,
        "the delivery is the feed served"
    );
}

#[test]
fn a_restored_tag_subscription_is_denied_when_the_tag_goes() {
    let site = site_with(BUILTIN);
    let sub = Subscriber::start();
    let (d, monsoon) = restored_monsoon_subscription(&site, &sub);
    let mark = sub.mark();
    // (No request for the feed before the denial: it would render it.)
    std::fs::remove_file(site.path("weather/rain.md")).unwrap();
    let denial = sub.wait_request("a denial on /monsoon", mark, DEADLINE, |r| {
        r.path() == "/monsoon" && r.is_get_mode("denied")
    });
    assert_eq!(denial.param("hub.topic").as_deref(), Some(monsoon.as_str()));
    wait_subscriptions(&d, 0);
    d.assert_404("/tags/monsoon/rss.xml");
}

/// A category deleted while herald was not running: its subscribers,
/// restored from the database at the next start, are denied then.
#[test]
fn a_topic_gone_while_herald_was_stopped_is_denied_at_the_next_start() {
    let site = site_with(BUILTIN);
    site.write(
        "weather/rain.md",
        "+++\ntitle = \"Rain all week\"\ndate = 2025-03-09T08:00:00+08:00\n+++\nBring an umbrella.\n",
    );
    let sub = Subscriber::start();
    let weather = topic("/weather/atom.xml");
    let politics = topic("/politics/atom.xml");
    {
        let d = start(&site);
        subscribe_and_verify(&d, &sub, &weather, "/weather", &[]);
        subscribe_and_verify(&d, &sub, &politics, "/politics", &[]);
        wait_subscriptions(&d, 2);
        d.shutdown().expect("a clean shutdown");
    }
    std::fs::remove_dir_all(site.path("weather")).unwrap();
    let mark = sub.mark();
    let d = start(&site);
    let denial = sub.wait_request("a denial on /weather", mark, DEADLINE, |r| {
        r.path() == "/weather" && r.is_get_mode("denied")
    });
    assert_eq!(denial.param("hub.topic").as_deref(), Some(weather.as_str()));
    wait_subscriptions(&d, 1);
    assert!(
        sub.since(mark).iter().all(|r| r.path() != "/politics"),
        "the politics subscriber was told something"
    );
}
