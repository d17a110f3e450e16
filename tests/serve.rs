//! The HTTP daemon as its clients see it: the daemon
//! on an ephemeral port, over a private copy of `tests/fixtures/serve`,
//! talked to with the harness's client (HTTP/1.1 and HTTP/2 prior
//! knowledge) and with raw sockets where a client library would normalise
//! the request. In-process (with short timeouts) except where the test is
//! about the process (SIGTERM). Every test starts its own daemon, so they
//! run in parallel and may change content freely.

mod support;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use support::fixture::*;
use support::*;

const SOCIETY: &str = "社会";

/// The fixture served in-process, once its compressed variants are ready
/// (most tests compare the two).
fn start() -> (Site, Daemon) {
    start_with(|_| {})
}

/// [`start`] with `tweak` applied to the daemon's options.
fn start_with(tweak: impl FnOnce(&mut Options)) -> (Site, Daemon) {
    let site = Site::serve_fixture();
    let d = Daemon::start_with(&site.config, tweak);
    d.wait_compressed();
    (site, d)
}

/// The fixture served by the binary.
fn spawn() -> (Site, Daemon) {
    let site = Site::serve_fixture();
    let d = Daemon::spawn(&site.config);
    d.wait_compressed();
    (site, d)
}

// ---------------------------------------------------------------- routes

#[test]
fn every_route_answers_with_its_content_type() {
    let (_site, d) = start();
    let c = client();
    let mut expected: Vec<(String, &str)> = vec![
        ("/".into(), "text/html; charset=utf-8"),
        ("/feeds.opml".into(), "opml"),
        ("/healthz".into(), "application/json"),
        ("/metrics".into(), "text/plain"),
    ];
    for path in all_feed_paths() {
        let file = path.rsplit('/').next().unwrap().to_string();
        expected.push((path, feed_content_type(&file)));
    }
    for cat in CATEGORIES {
        expected.push((
            format!("/{}/", encode_segment(cat)),
            "text/html; charset=utf-8",
        ));
    }
    for (path, want) in &expected {
        let r = c.get(&d.url(path));
        assert_eq!(r.status, 200, "GET {path}");
        let ct = r.header("content-type");
        match *want {
            "opml" => assert!(
                ct.starts_with("text/x-opml") || ct.contains("xml"),
                "GET {path}: Content-Type {ct}"
            ),
            "application/json" => {
                assert!(ct.starts_with("application/json"), "GET {path}: {ct}")
            }
            "text/plain" => assert!(ct.starts_with("text/plain"), "GET {path}: {ct}"),
            exact => assert_eq!(ct, exact, "GET {path}"),
        }
        assert!(!r.body.is_empty(), "GET {path}: empty body");
        // Each feed parses as what it claims to be.
        if path.ends_with(".xml") || path.ends_with(".json") {
            feed_rs::parser::parse(&r.body[..])
                .unwrap_or_else(|e| panic!("GET {path}: not a feed: {e}"));
        }
    }
}

#[test]
fn unknown_paths_get_a_short_text_404() {
    let (_site, d) = start();
    let c = client();
    for path in [
        "/nope",
        "/nope.xml",
        "/politics/nope.xml",
        "/nowhere/rss.xml",
        "/rss.xml/",
        "/herald.toml",
        "/content/politics/council-budget.md",
    ] {
        let r = c.get(&d.url(path));
        assert_eq!(r.status, 404, "GET {path}");
        assert!(
            r.header("content-type").starts_with("text/plain"),
            "GET {path}: {:?}",
            r.headers
        );
        assert!(
            !r.body.is_empty() && r.body.len() < 200,
            "GET {path}: body {:?}",
            r.text()
        );
    }
}

// ---------------------------------------------------------- feed headers

#[test]
fn feeds_carry_cache_headers() {
    let (_site, d) = start();
    let c = client();
    for path in all_feed_paths() {
        let r = c.get(&d.url(&path));
        assert_eq!(r.status, 200, "GET {path}");
        let etag = r.header("etag");
        assert!(
            etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
            "GET {path}: ETag {etag} is not a quoted strong tag"
        );
        assert!(!etag[1..etag.len() - 1].contains('"'), "{etag}");
        let lm = r.header("last-modified");
        let when = httpdate::parse_http_date(lm)
            .unwrap_or_else(|e| panic!("GET {path}: Last-Modified {lm:?}: {e}"));
        assert!(when <= SystemTime::now() + Duration::from_secs(2), "{lm}");
        assert_eq!(
            r.header("cache-control"),
            format!("public, max-age={MAX_AGE}"),
            "GET {path}"
        );
        assert_eq!(r.header("vary"), "Accept-Encoding", "GET {path}");
        // The same bytes again give the same validators.
        let again = c.get(&d.url(&path));
        assert_eq!(again.body, r.body);
        assert_eq!(again.header("etag"), etag);
        assert_eq!(again.header("last-modified"), lm);
    }
    // Distinct bodies, distinct tags.
    let a = c.get(&d.url("/rss.xml"));
    let b = c.get(&d.url("/atom.xml"));
    assert_ne!(a.header("etag"), b.header("etag"));
}

// --------------------------------------------------- conditional requests

#[test]
fn conditional_requests_follow_rfc_9110() {
    let (_site, d) = start();
    let c = client();
    let url = d.url(&format!("/{}/rss.xml", encode_segment(SOCIETY)));
    let full = c.get(&url);
    assert_eq!(full.status, 200);
    let etag = full.header("etag").to_string();
    let lm = full.header("last-modified").to_string();
    let lm_time = httpdate::parse_http_date(&lm).unwrap();
    let earlier = httpdate::fmt_http_date(lm_time - Duration::from_secs(1));
    let later = httpdate::fmt_http_date(lm_time + Duration::from_secs(60));
    let weak = format!("W/{etag}");
    let list = format!("\"x\", {etag}");
    let weak_list = format!("\"x\", W/{etag}, \"y\"");

    let not_modified: &[&[(&str, &str)]] = &[
        &[("if-none-match", &etag)],
        &[("if-none-match", &weak)],
        &[("if-none-match", &list)],
        &[("if-none-match", &weak_list)],
        &[("if-none-match", "*")],
        &[("if-modified-since", &lm)],
        &[("if-modified-since", &later)],
        &[("if-none-match", &etag), ("if-modified-since", &earlier)],
    ];
    for headers in not_modified {
        let r = c.get_with(&url, headers);
        assert_eq!(r.status, 304, "{headers:?}");
        assert!(r.body.is_empty(), "{headers:?}: 304 with a body");
        assert_eq!(r.header("etag"), etag, "{headers:?}");
        assert_eq!(r.header("last-modified"), lm, "{headers:?}");
        assert_eq!(
            r.header("cache-control"),
            format!("public, max-age={MAX_AGE}")
        );
        assert_eq!(r.header("vary"), "Accept-Encoding");
    }
    let modified: &[&[(&str, &str)]] = &[
        &[("if-none-match", "\"not-the-tag\"")],
        &[("if-none-match", "W/\"not-the-tag\"")],
        &[("if-modified-since", &earlier)],
        &[("if-modified-since", "yesterday at noon")],
        &[("if-modified-since", "")],
        // If-None-Match wins over a matching If-Modified-Since.
        &[
            ("if-none-match", "\"not-the-tag\""),
            ("if-modified-since", &lm),
        ],
    ];
    for headers in modified {
        let r = c.get_with(&url, headers);
        assert_eq!(r.status, 200, "{headers:?}");
        assert_eq!(r.body, full.body, "{headers:?}");
        assert_eq!(r.header("etag"), etag);
    }
}

// ------------------------------------------------------------------ HEAD

#[test]
fn head_matches_get_without_a_body() {
    let (_site, d) = start();
    let c = client();
    let mut paths = all_feed_paths();
    paths.extend([
        "/".into(),
        "/feeds.opml".into(),
        format!("/{}/", encode_segment(SOCIETY)),
    ]);
    paths.push("/no-such-page".into());
    for path in &paths {
        for ae in ["identity", "gzip", "br"] {
            let hdrs = [("accept-encoding", ae)];
            let g = c.get_with(&d.url(path), &hdrs);
            let h = c.send(Method::HEAD, &d.url(path), &hdrs);
            assert_eq!(h.status, g.status, "HEAD {path} ({ae})");
            assert!(h.body.is_empty(), "HEAD {path} ({ae}) sent a body");
            assert_eq!(
                h.header("content-length"),
                g.body.len().to_string(),
                "HEAD {path} ({ae})"
            );
            for name in [
                "content-type",
                "content-encoding",
                "etag",
                "last-modified",
                "cache-control",
                "vary",
            ] {
                assert_eq!(
                    h.opt_header(name),
                    g.opt_header(name),
                    "HEAD {path} ({ae}): {name}"
                );
            }
        }
    }
}

// ----------------------------------------------------------- compression

#[test]
fn compressed_bodies_follow_accept_encoding() {
    let (_site, d) = start();
    let c = client();
    for path in ["/rss.xml", "/atom.xml", "/feed.json", "/"] {
        let url = d.url(path);
        let plain = c.get(&url);
        assert_eq!(plain.status, 200);
        assert_eq!(plain.opt_header("content-encoding"), None, "GET {path}");

        let gz = c.get_with(&url, &[("accept-encoding", "gzip")]);
        assert_eq!(gz.header("content-encoding"), "gzip", "GET {path}");
        assert_eq!(gunzip(&gz.body), plain.body, "GET {path} gzip");
        assert_eq!(gz.header("content-type"), plain.header("content-type"));
        assert_eq!(gz.header("vary"), "Accept-Encoding");

        let br = c.get_with(&url, &[("accept-encoding", "br")]);
        assert_eq!(br.header("content-encoding"), "br", "GET {path}");
        assert_eq!(unbrotli(&br.body), plain.body, "GET {path} br");

        let g2 = c.get_with(&url, &[("accept-encoding", "gzip, br;q=0")]);
        assert_eq!(g2.header("content-encoding"), "gzip", "GET {path}");
        assert_eq!(gunzip(&g2.body), plain.body);

        let none = c.get_with(&url, &[("accept-encoding", "br;q=0, gzip;q=0")]);
        assert_eq!(none.status, 200);
        assert_eq!(none.opt_header("content-encoding"), None, "GET {path}");
        assert_eq!(none.body, plain.body);
        assert_eq!(none.header("etag"), plain.header("etag"));

        let pref = c.get_with(&url, &[("accept-encoding", "br;q=0.5, gzip;q=0.9")]);
        assert_eq!(pref.header("content-encoding"), "gzip", "GET {path}");

        // Each coding is its own representation with its own tag.
        let tags: BTreeSet<&str> = [plain.header("etag"), gz.header("etag"), br.header("etag")]
            .into_iter()
            .collect();
        assert_eq!(tags.len(), 3, "GET {path}: {tags:?}");
        for tag in &tags {
            assert!(tag.starts_with('"'), "{tag} is weak or unquoted");
        }

        let gz_etag = gz.header("etag");
        let nm = c.get_with(
            &url,
            &[("accept-encoding", "gzip"), ("if-none-match", gz_etag)],
        );
        assert_eq!(nm.status, 304, "GET {path} gzip revalidation");
        assert_eq!(nm.header("etag"), gz_etag);
        assert!(nm.body.is_empty());
    }
}

// --------------------------------------------------------------- methods

#[test]
fn only_get_head_and_options_are_allowed() {
    let (_site, d) = start();
    let c = client();
    for path in ["/rss.xml", "/", "/nope"] {
        let o = c.send(Method::OPTIONS, &d.url(path), &[]);
        assert_eq!(o.status, 204, "OPTIONS {path}");
        assert_eq!(o.header("allow"), "GET, HEAD, OPTIONS");
        assert!(o.body.is_empty());
        for m in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let r = c.send(m.clone(), &d.url(path), &[]);
            assert_eq!(r.status, 405, "{m} {path}");
            assert_eq!(r.header("allow"), "GET, HEAD, OPTIONS", "{m} {path}");
        }
    }
}

// ------------------------------------------------------------ odd paths

#[test]
fn traversal_and_odd_paths_are_404() {
    let (_site, d) = start();
    let targets: &[&[u8]] = &[
        b"/../config/herald.toml",
        b"/../herald.toml",
        b"/politics/../../herald.toml",
        b"/%2e%2e/%2e%2e/etc/passwd",
        b"/%2E%2E/herald.toml",
        b"//rss.xml",
        b"/politics//rss.xml",
        b"/rss.xml%00",
        b"/%00",
        b"/%E7%A4%BE%E4%BC%9A/../rss.xml",
        b"/./rss.xml",
        b"/politics%2Frss.xml%2F..%2F..%2Fherald.toml",
        b"/%ff%fe/rss.xml",
        b"/content/politics/council-budget.md",
    ];
    for target in targets {
        let r = raw_get(d.addr, target);
        assert_eq!(
            r.status,
            404,
            "GET {} → {} {:?}",
            String::from_utf8_lossy(target),
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("[site]"),
            "config leaked"
        );
    }
    // The daemon is still serving after all that.
    let r = client().get(&d.url("/rss.xml"));
    assert_eq!(r.status, 200);
}

#[test]
fn chinese_category_works_raw_and_percent_encoded() {
    let (_site, d) = start();
    let c = client();
    let reference = c.get(&d.url(&format!("/{}/rss.xml", encode_segment(SOCIETY))));
    assert_eq!(reference.status, 200);
    assert!(reference.text().contains("三条公交线路延伸至新区"));
    let lower = raw_get(d.addr, b"/%e7%a4%be%e4%bc%9a/rss.xml");
    assert_eq!(lower.status, 200, "lower-case percent-encoding");
    assert_eq!(lower.body, reference.body);
    for file in FEED_FILES {
        let encoded = raw_get(
            d.addr,
            format!("/{}/{file}", encode_segment(SOCIETY)).as_bytes(),
        );
        assert_eq!(encoded.status, 200, "/{}/{file}", encode_segment(SOCIETY));
        let utf8 = raw_get(d.addr, format!("/{SOCIETY}/{file}").as_bytes());
        assert_eq!(utf8.status, 200, "raw UTF-8 /{SOCIETY}/{file}");
        assert_eq!(utf8.body, encoded.body, "/{SOCIETY}/{file}");
        assert_eq!(
            utf8.header("content-type"),
            Some(feed_content_type(file)),
            "/{SOCIETY}/{file}"
        );
    }
    let page = raw_get(d.addr, format!("/{SOCIETY}/").as_bytes());
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("新图书馆开放夜间阅览"));
}

// ------------------------------------------------------------- HTML pages

#[test]
fn index_page_links_every_category_and_feed() {
    let (_site, d) = start();
    let c = client();
    let index = c.get(&d.url("/"));
    assert_eq!(index.status, 200);
    let html = index.text();
    let hrefs: BTreeSet<String> = tags(html, "a")
        .into_iter()
        .filter_map(|a| a.get("href").cloned())
        .collect();
    for cat in CATEGORIES {
        let page = format!("{BASE_URL}/{}/", encode_segment(cat));
        assert!(hrefs.contains(&page), "no link to {page} in {hrefs:?}");
    }
    for path in all_feed_paths() {
        let feed = format!("{BASE_URL}{path}");
        assert!(hrefs.contains(&feed), "no link to {feed} in {hrefs:?}");
    }
    assert!(
        html.contains("社会 Society"),
        "category title missing from the index"
    );
    // Site-wide autodiscovery.
    let site_feeds: Vec<String> = FEED_FILES.iter().map(|f| format!("/{f}")).collect();
    check_autodiscovery(&d, &c, html, &site_feeds);
    // Every link on the page that points at this daemon works.
    for href in &hrefs {
        if href.starts_with(BASE_URL) {
            let r = c.get(&d.local(BASE_URL, href));
            assert_eq!(r.status, 200, "GET {href}");
        }
    }
}

#[test]
fn category_page_autodiscovers_its_own_feeds() {
    let (_site, d) = start();
    let c = client();
    for cat in CATEGORIES {
        let page = c.get(&d.url(&format!("/{}/", encode_segment(cat))));
        assert_eq!(page.status, 200, "/{cat}/");
        let feeds: Vec<String> = FEED_FILES
            .iter()
            .map(|f| format!("/{}/{f}", encode_segment(cat)))
            .collect();
        check_autodiscovery(&d, &c, page.text(), &feeds);
    }
    let society = c.get(&d.url(&format!("/{}/", encode_segment(SOCIETY))));
    for title in ["三条公交线路延伸至新区", "新图书馆开放夜间阅览"] {
        assert!(society.text().contains(title), "{title} missing");
    }
    assert!(
        !society.text().contains("Opera night"),
        "another category's headline"
    );
}

/// The page's `<link rel="alternate">` tags name exactly `feed_paths`
/// (absolute, from `site.base_url`) with the right media types, and each
/// one is served.
fn check_autodiscovery(d: &Daemon, c: &Client, html: &str, feed_paths: &[String]) {
    let links: Vec<_> = tags(html, "link")
        .into_iter()
        .filter(|l| {
            l.get("rel").is_some_and(|r| {
                r.split_whitespace()
                    .any(|w| w.eq_ignore_ascii_case("alternate"))
            })
        })
        .collect();
    let found: BTreeSet<(String, String)> = links
        .iter()
        .map(|l| {
            let href = l.get("href").expect("alternate link without href").clone();
            let ty = l.get("type").expect("alternate link without type").clone();
            url::Url::parse(&href).unwrap_or_else(|e| panic!("href {href} is not absolute: {e}"));
            (href, ty)
        })
        .collect();
    let want: BTreeSet<(String, String)> = feed_paths
        .iter()
        .map(|p| {
            let ty = match p.rsplit('/').next().unwrap() {
                "rss.xml" => "application/rss+xml",
                "atom.xml" => "application/atom+xml",
                "feed.json" => "application/feed+json",
                other => panic!("{other}"),
            };
            (format!("{BASE_URL}{p}"), ty.to_string())
        })
        .collect();
    assert_eq!(found, want, "autodiscovery tags");
    for (href, ty) in &found {
        let r = c.get(&d.local(BASE_URL, href));
        assert_eq!(r.status, 200, "GET {href}");
        assert!(
            r.header("content-type").starts_with(ty.as_str()),
            "GET {href}"
        );
    }
}

// ------------------------------------------------------------------ OPML

#[test]
fn opml_lists_every_feed() {
    let (_site, d) = start();
    let c = client();
    let r = c.get(&d.url("/feeds.opml"));
    assert_eq!(r.status, 200);
    let doc = roxmltree::Document::parse(r.text()).expect("OPML is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "opml");
    assert_eq!(root.attribute("version"), Some("2.0"));
    assert!(root.children().any(|n| n.has_tag_name("head")), "no <head>");
    assert!(root.children().any(|n| n.has_tag_name("body")), "no <body>");
    let urls: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("outline"))
        .filter_map(|n| {
            let url = n.attribute("xmlUrl")?;
            assert!(
                n.attribute("text").is_some_and(|t| !t.is_empty()),
                "outline for {url} has no text"
            );
            Some(url.to_string())
        })
        .collect();
    let listed: BTreeSet<String> = urls.iter().cloned().collect();
    assert_eq!(listed.len(), urls.len(), "a feed is listed twice: {urls:?}");
    let want: BTreeSet<String> = all_feed_paths()
        .iter()
        .map(|p| format!("{BASE_URL}{p}"))
        .collect();
    assert_eq!(listed, want);
    for url in &listed {
        let f = c.get(&d.local(BASE_URL, url));
        assert_eq!(f.status, 200, "GET {url}");
    }
}

// ------------------------------------------------------ healthz, metrics

#[test]
fn healthz_reports_counts_watcher_and_last_regeneration() {
    let (_site, d) = start();
    let c = client();
    let r = c.get(&d.url("/healthz"));
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("/healthz is JSON");
    assert!(v.is_object());
    assert_eq!(v["articles"].as_u64(), Some(PUBLISHED), "{v}");
    assert_eq!(
        v["categories"].as_u64(),
        Some(CATEGORIES.len() as u64),
        "{v}"
    );
    let errors = v["errors"].as_array().expect("errors is an array");
    assert!(errors.is_empty(), "fixture has no problems: {errors:?}");
    let watcher = v["watcher"].as_str().expect("watcher is a string");
    assert!(
        ["events", "polling", "degraded"].contains(&watcher),
        "watcher {watcher}"
    );
    let last = v["last_regeneration"].as_str().expect("last_regeneration");
    let when = chrono::DateTime::parse_from_rfc3339(last)
        .unwrap_or_else(|e| panic!("last_regeneration {last:?} is not RFC 3339: {e}"));
    let age = chrono::Utc::now().signed_duration_since(when);
    assert!(
        age >= chrono::Duration::seconds(-2) && age < chrono::Duration::minutes(5),
        "last_regeneration {last} is not recent"
    );
}

#[test]
fn metrics_are_prometheus_text_with_requests_and_regenerations() {
    let (_site, d) = start();
    let c = client();
    assert_eq!(c.get(&d.url("/rss.xml")).status, 200);
    assert_eq!(c.get(&d.url("/nope")).status, 404);
    let r = c.get(&d.url("/metrics"));
    assert_eq!(r.status, 200);
    let m = parse_prometheus(r.text());
    assert!(!m.samples.is_empty(), "no samples:\n{}", r.text());

    let requests: Vec<&Sample> = m
        .samples
        .iter()
        .filter(|s| s.name.contains("requests") && s.labels.contains_key("status"))
        .collect();
    assert!(
        !requests.is_empty(),
        "no requests counter with a status label:\n{}",
        r.text()
    );
    let family = &requests[0].name;
    assert_eq!(
        m.types.get(family.as_str()).map(String::as_str),
        Some("counter"),
        "{family} is not typed as a counter"
    );
    let by_status = |code: &str| {
        requests
            .iter()
            .filter(|s| s.labels["status"] == code)
            .map(|s| s.value)
            .sum::<f64>()
    };
    assert!(by_status("200") >= 1.0, "200s not counted:\n{}", r.text());
    assert!(by_status("404") >= 1.0, "404s not counted:\n{}", r.text());

    let regen: Vec<&Sample> = m
        .samples
        .iter()
        .filter(|s| s.name.contains("regenerations"))
        .collect();
    assert!(
        regen.iter().any(|s| s.value >= 1.0),
        "no regenerations metric counting the first load:\n{}",
        r.text()
    );
}

// ---------------------------------------------------------------- HTTP/2

#[test]
fn http2_prior_knowledge_serves_the_same_bytes() {
    let (_site, d) = start();
    let h1 = client().get(&d.url("/rss.xml"));
    let h2c = h2_client();
    let h2 = h2c.get(&d.url("/rss.xml"));
    assert_eq!(h2.version, Version::HTTP_2);
    assert_eq!(h2.status, 200);
    assert_eq!(h2.body, h1.body);
    assert_eq!(h2.header("etag"), h1.header("etag"));
    assert_eq!(h2.header("content-type"), h1.header("content-type"));
    let cond = h2c.get_with(&d.url("/rss.xml"), &[("if-none-match", h1.header("etag"))]);
    assert_eq!(cond.version, Version::HTTP_2);
    assert_eq!(cond.status, 304);
    let zh = h2c.get(&d.url(&format!("/{}/feed.json", encode_segment(SOCIETY))));
    assert_eq!(zh.status, 200);
    assert_eq!(zh.version, Version::HTTP_2);
}

// ------------------------------------------------------ connection hygiene

/// Requests on fresh connections keep being answered until `done` is
/// set; returns how many were. (No bound on each one's time: this VM can
/// stall for seconds. A server held up by the idle client answers none.)
fn keep_asking(url: String, done: Arc<AtomicBool>) -> usize {
    let c = fresh_client();
    let mut answered = 0;
    while !done.load(Ordering::Relaxed) {
        let r = c.get(&url);
        assert_eq!(r.status, 200);
        answered += 1;
        // Pacing, not synchronisation: about fifty requests a second.
        std::thread::sleep(Duration::from_millis(20));
    }
    answered
}

/// Runs [`keep_asking`] on `url` while `during` runs, and returns what
/// `during` returned and how many requests were answered meanwhile.
fn while_others_ask<T>(url: String, during: impl FnOnce() -> T) -> (T, usize) {
    let done = Arc::new(AtomicBool::new(false));
    let others = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || keep_asking(url, done))
    };
    let out = during();
    done.store(true, Ordering::Relaxed);
    (out, others.join().expect("the other client panicked"))
}

#[test]
fn silent_connection_is_closed_while_others_are_served() {
    let (_site, d) = start();
    let silent = TcpStream::connect(d.addr).unwrap();
    let (closed, answered) = while_others_ask(d.url("/rss.xml"), || {
        wait_closed(&silent, Duration::from_secs(15))
    });
    assert!(
        matches!(closed, Closed::After(t) if t <= Duration::from_secs(12)),
        "a connection that sent nothing: {closed:?}"
    );
    // About one request every 20 ms for the ~2 s the slow client is held.
    assert!(
        answered >= 10,
        "only {answered} requests answered meanwhile"
    );
}

/// Connects, sends `first`, then (with `dribble`) one more header line
/// every second for as long as the server takes it, and says how the
/// connection ended.
fn stall(addr: std::net::SocketAddr, first: &'static [u8], dribble: bool) -> Closed {
    let s = TcpStream::connect(addr).unwrap();
    (&s).write_all(first).unwrap();
    let closed = Arc::new(AtomicBool::new(false));
    let writer = {
        let (mut wr, closed) = (s.try_clone().unwrap(), Arc::clone(&closed));
        std::thread::spawn(move || {
            for i in 0.. {
                // The client's pace: each line is on time, the head never is.
                std::thread::sleep(Duration::from_secs(1));
                if closed.load(Ordering::Relaxed) {
                    break;
                }
                if !dribble {
                    continue;
                }
                let line = format!("X-Slow-{i}: 1\r\n");
                if wr.write_all(line.as_bytes()).is_err() {
                    break;
                }
            }
        })
    };
    let result = wait_closed(&s, Duration::from_secs(20));
    closed.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    result
}

#[test]
fn dribbling_clients_are_closed_while_others_are_served() {
    let (_site, d) = start();
    // Half a request line, then nothing; and a request whose header
    // lines trickle in one a second: each byte is "on time", the head as
    // a whole never is.
    let ((line, headers), answered) = while_others_ask(d.url("/atom.xml"), || {
        std::thread::scope(|scope| {
            let line = scope.spawn(|| stall(d.addr, b"GET /rss.x", false));
            let headers = scope.spawn(|| stall(d.addr, b"GET /rss.xml HTTP/1.1\r\n", true));
            (line.join().unwrap(), headers.join().unwrap())
        })
    });
    assert!(
        matches!(line, Closed::After(_)),
        "a connection that sent half a request line: {line:?}"
    );
    assert!(
        matches!(headers, Closed::After(_)),
        "a connection dribbling its headers: {headers:?}"
    );
    // About one request every 20 ms for the ~3 s the slow clients are held.
    assert!(
        answered >= 10,
        "only {answered} requests answered meanwhile"
    );
}

#[test]
fn partial_http2_preface_is_closed() {
    let (_site, d) = start();
    let mut s = TcpStream::connect(d.addr).unwrap();
    // The start of the HTTP/2 prior-knowledge preface: the protocol
    // sniffer cannot decide yet, so only a server-side deadline helps.
    s.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    let closed = wait_closed(&s, Duration::from_secs(20));
    assert!(
        matches!(closed, Closed::After(_)),
        "a connection that sent half the HTTP/2 preface: {closed:?}"
    );
}

// -------------------------------------------------------------- shutdown

#[test]
fn sigterm_exits_zero() {
    let (_site, mut d) = spawn();
    assert_eq!(client().get(&d.url("/rss.xml")).status, 200);
    d.sigterm();
    let status = d
        .wait_exit(Duration::from_secs(7))
        .unwrap_or_else(|| panic!("still running 7 s after SIGTERM; log:\n{}", d.log()));
    assert_eq!(status.code(), Some(0), "log:\n{}", d.log());
}

/// Opens a connection that sends `sent` and then nothing, SIGTERMs the
/// daemon and expects a clean exit within 9 s: the drain deadline is 5 s,
/// and waiting for that client would take the 10 s header timeout.
fn sigterm_with_a_stalled_client_exits_zero(sent: &'static [u8]) {
    let (_site, mut d) = spawn();
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.write_all(sent).unwrap();
    // One accept loop takes connections in order: once a later
    // connection is answered, ours is in the server's hands.
    assert_eq!(client().get(&d.url("/rss.xml")).status, 200);
    d.sigterm();
    let status = d.wait_exit(Duration::from_secs(9)).unwrap_or_else(|| {
        panic!(
            "still running 9 s after SIGTERM with a client that sent {:?}; log:\n{}",
            String::from_utf8_lossy(sent),
            d.log()
        )
    });
    assert_eq!(status.code(), Some(0), "log:\n{}", d.log());
    drop(s);
}

#[test]
fn sigterm_with_stalled_clients_exits_zero_promptly() {
    std::thread::scope(|scope| {
        let a = scope.spawn(|| {
            sigterm_with_a_stalled_client_exits_zero(b"GET /rss.xml HTTP/1.1\r\nHost: x\r\n")
        });
        let b = scope.spawn(|| sigterm_with_a_stalled_client_exits_zero(b""));
        a.join().unwrap();
        b.join().unwrap();
    });
}

// ---------------------------------------------------------- live updates

#[test]
fn last_modified_moves_forward_when_an_item_is_deleted() {
    let (site, d) = start();
    let c = client();
    // Not racing the watcher's start (see the test below).
    d.wait_until_watching(&site);
    let url = d.url(&format!("/{}/rss.xml", encode_segment(SOCIETY)));
    let before = c.get(&url);
    assert_eq!(before.status, 200);
    let old_etag = before.header("etag").to_string();
    let old_lm = httpdate::parse_http_date(before.header("last-modified")).unwrap();
    assert!(before.text().contains("三条公交线路延伸至新区"));
    assert!(before.text().contains("新图书馆开放夜间阅览"));

    std::fs::remove_file(site.content.join(SOCIETY).join("bus-routes.md")).unwrap();

    let after = eventually("the feed to change", Duration::from_secs(15), || {
        let r = c.get(&url);
        if r.status == 200 && r.header("etag") != old_etag {
            Ok(r)
        } else {
            Err(format!("status {}, {:?}", r.status, r.opt_header("etag")))
        }
    });
    let new_lm = httpdate::parse_http_date(after.header("last-modified")).unwrap();
    assert!(
        new_lm > old_lm,
        "Last-Modified did not move forward: {} → {}",
        before.header("last-modified"),
        after.header("last-modified")
    );
    assert!(
        !after.text().contains("三条公交线路延伸至新区"),
        "deleted item still served"
    );
    assert!(
        after.text().contains("新图书馆开放夜间阅览"),
        "the other item is gone"
    );
    // A client holding the old validators now gets the new body.
    let stale = c.get_with(&url, &[("if-none-match", &old_etag)]);
    assert_eq!(stale.status, 200);
    let stale_ims = c.get_with(
        &url,
        &[("if-modified-since", before.header("last-modified"))],
    );
    assert_eq!(stale_ims.status, 200, "If-Modified-Since the old date");
    // And the gzip variant moved too. The daemon serves a change before its
    // compressed variants are ready, so a gzip request may briefly get the
    // new body uncompressed — but never the old one.
    eventually(
        "the gzip variant to follow",
        Duration::from_secs(20),
        || {
            let gz = c.get_with(&url, &[("accept-encoding", "gzip")]);
            if gz.opt_header("content-encoding") == Some("gzip") {
                assert_eq!(gunzip(&gz.body), after.body);
                Ok(())
            } else {
                assert_eq!(gz.body, after.body, "a gzip request got a stale body");
                Err("served uncompressed".to_string())
            }
        },
    );
    // Nothing went backwards meanwhile: every later answer is at least as new.
    let again = c.get(&url);
    assert!(httpdate::parse_http_date(again.header("last-modified")).unwrap() >= new_lm);
}

#[test]
fn a_change_right_after_listening_is_picked_up() {
    let (site, d) = start();
    std::fs::remove_file(site.content.join(SOCIETY).join("bus-routes.md")).unwrap();
    let c = client();
    let url = d.url(&format!("/{}/rss.xml", encode_segment(SOCIETY)));
    eventually(
        "the deleted item to leave the feed",
        Duration::from_secs(15),
        || {
            let r = c.get(&url);
            (r.status == 200 && !r.text().contains("三条公交线路延伸至新区"))
                .then_some(())
                .ok_or(format!("status {}", r.status))
        },
    );
}
