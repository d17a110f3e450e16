//! The HTTP daemon as its clients see it (SPEC §1, §4, §5): the real
//! `herald serve` binary on an ephemeral port, over a private copy of
//! `tests/fixtures/serve`, talked to with reqwest (HTTP/1.1 and HTTP/2
//! prior knowledge) and with raw sockets where a client library would
//! normalise the request. Every test starts its own daemon, so they run
//! in parallel and may change content freely.

mod serve_support;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use serve_support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const SOCIETY: &str = "社会";

// ---------------------------------------------------------------- routes

#[tokio::test]
async fn every_route_answers_with_its_content_type() {
    let d = Daemon::start();
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
        expected.push((format!("/{}/", enc(cat)), "text/html; charset=utf-8"));
    }
    for (path, want) in &expected {
        let r = get(&c, &d.url(path)).await;
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

#[tokio::test]
async fn unknown_paths_get_a_short_text_404() {
    let d = Daemon::start();
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
        let r = get(&c, &d.url(path)).await;
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

#[tokio::test]
async fn feeds_carry_cache_headers() {
    let d = Daemon::start();
    let c = client();
    for path in all_feed_paths() {
        let r = get(&c, &d.url(&path)).await;
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
        let again = get(&c, &d.url(&path)).await;
        assert_eq!(again.body, r.body);
        assert_eq!(again.header("etag"), etag);
        assert_eq!(again.header("last-modified"), lm);
    }
    // Distinct bodies, distinct tags.
    let a = get(&c, &d.url("/rss.xml")).await;
    let b = get(&c, &d.url("/atom.xml")).await;
    assert_ne!(a.header("etag"), b.header("etag"));
}

// --------------------------------------------------- conditional requests

#[tokio::test]
async fn conditional_requests_follow_rfc_9110() {
    let d = Daemon::start();
    let c = client();
    let url = d.url(&format!("/{}/rss.xml", enc(SOCIETY)));
    let full = get(&c, &url).await;
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
        let r = get_with(&c, &url, headers).await;
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
        let r = get_with(&c, &url, headers).await;
        assert_eq!(r.status, 200, "{headers:?}");
        assert_eq!(r.body, full.body, "{headers:?}");
        assert_eq!(r.header("etag"), etag);
    }
}

// ------------------------------------------------------------------ HEAD

#[tokio::test]
async fn head_matches_get_without_a_body() {
    let d = Daemon::start();
    let c = client();
    let mut paths = all_feed_paths();
    paths.extend([
        "/".into(),
        "/feeds.opml".into(),
        format!("/{}/", enc(SOCIETY)),
    ]);
    paths.push("/no-such-page".into());
    for path in &paths {
        for ae in ["identity", "gzip", "br"] {
            let hdrs = [("accept-encoding", ae)];
            let g = get_with(&c, &d.url(path), &hdrs).await;
            let h = send(&c, Method::HEAD, &d.url(path), &hdrs).await;
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

#[tokio::test]
async fn compressed_bodies_follow_accept_encoding() {
    let d = Daemon::start();
    let c = client();
    for path in ["/rss.xml", "/atom.xml", "/feed.json", "/"] {
        let url = d.url(path);
        let plain = get(&c, &url).await;
        assert_eq!(plain.status, 200);
        assert_eq!(plain.opt_header("content-encoding"), None, "GET {path}");

        let gz = get_with(&c, &url, &[("accept-encoding", "gzip")]).await;
        assert_eq!(gz.header("content-encoding"), "gzip", "GET {path}");
        assert_eq!(gunzip(&gz.body), plain.body, "GET {path} gzip");
        assert_eq!(gz.header("content-type"), plain.header("content-type"));
        assert_eq!(gz.header("vary"), "Accept-Encoding");

        let br = get_with(&c, &url, &[("accept-encoding", "br")]).await;
        assert_eq!(br.header("content-encoding"), "br", "GET {path}");
        assert_eq!(unbrotli(&br.body), plain.body, "GET {path} br");

        let g2 = get_with(&c, &url, &[("accept-encoding", "gzip, br;q=0")]).await;
        assert_eq!(g2.header("content-encoding"), "gzip", "GET {path}");
        assert_eq!(gunzip(&g2.body), plain.body);

        let none = get_with(&c, &url, &[("accept-encoding", "br;q=0, gzip;q=0")]).await;
        assert_eq!(none.status, 200);
        assert_eq!(none.opt_header("content-encoding"), None, "GET {path}");
        assert_eq!(none.body, plain.body);
        assert_eq!(none.header("etag"), plain.header("etag"));

        let pref = get_with(&c, &url, &[("accept-encoding", "br;q=0.5, gzip;q=0.9")]).await;
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
        let nm = get_with(
            &c,
            &url,
            &[("accept-encoding", "gzip"), ("if-none-match", gz_etag)],
        )
        .await;
        assert_eq!(nm.status, 304, "GET {path} gzip revalidation");
        assert_eq!(nm.header("etag"), gz_etag);
        assert!(nm.body.is_empty());
    }
}

// --------------------------------------------------------------- methods

#[tokio::test]
async fn only_get_head_and_options_are_allowed() {
    let d = Daemon::start();
    let c = client();
    for path in ["/rss.xml", "/", "/nope"] {
        let o = send(&c, Method::OPTIONS, &d.url(path), &[]).await;
        assert_eq!(o.status, 204, "OPTIONS {path}");
        assert_eq!(o.header("allow"), "GET, HEAD, OPTIONS");
        assert!(o.body.is_empty());
        for m in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let r = send(&c, m.clone(), &d.url(path), &[]).await;
            assert_eq!(r.status, 405, "{m} {path}");
            assert_eq!(r.header("allow"), "GET, HEAD, OPTIONS", "{m} {path}");
        }
    }
}

// ------------------------------------------------------------ odd paths

#[tokio::test]
async fn traversal_and_odd_paths_are_404() {
    let d = Daemon::start();
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
        let r = raw_get(d.addr, target).await;
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
    let r = get(&client(), &d.url("/rss.xml")).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn chinese_category_works_raw_and_percent_encoded() {
    let d = Daemon::start();
    let c = client();
    let reference = get(&c, &d.url(&format!("/{}/rss.xml", enc(SOCIETY)))).await;
    assert_eq!(reference.status, 200);
    assert!(reference.text().contains("三条公交线路延伸至新区"));
    let lower = raw_get(d.addr, b"/%e7%a4%be%e4%bc%9a/rss.xml").await;
    assert_eq!(lower.status, 200, "lower-case percent-encoding");
    assert_eq!(lower.body, reference.body);
    for file in FEED_FILES {
        let encoded = raw_get(d.addr, format!("/{}/{file}", enc(SOCIETY)).as_bytes()).await;
        assert_eq!(encoded.status, 200, "/{}/{file}", enc(SOCIETY));
        let utf8 = raw_get(d.addr, format!("/{SOCIETY}/{file}").as_bytes()).await;
        assert_eq!(utf8.status, 200, "raw UTF-8 /{SOCIETY}/{file}");
        assert_eq!(utf8.body, encoded.body, "/{SOCIETY}/{file}");
        assert_eq!(
            utf8.header("content-type"),
            Some(feed_content_type(file)),
            "/{SOCIETY}/{file}"
        );
    }
    let page = raw_get(d.addr, format!("/{SOCIETY}/").as_bytes()).await;
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("新图书馆开放夜间阅览"));
}

// ------------------------------------------------------------- HTML pages

#[tokio::test]
async fn index_page_links_every_category_and_feed() {
    let d = Daemon::start();
    let c = client();
    let index = get(&c, &d.url("/")).await;
    assert_eq!(index.status, 200);
    let html = index.text();
    let hrefs: BTreeSet<String> = tags(html, "a")
        .into_iter()
        .filter_map(|a| a.get("href").cloned())
        .collect();
    for cat in CATEGORIES {
        let page = format!("{BASE_URL}/{}/", enc(cat));
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
    check_autodiscovery(&d, &c, html, &site_feeds).await;
    // Every link on the page that points at this daemon works.
    for href in &hrefs {
        if href.starts_with(BASE_URL) {
            let r = get(&c, &d.local(href)).await;
            assert_eq!(r.status, 200, "GET {href}");
        }
    }
}

#[tokio::test]
async fn category_page_autodiscovers_its_own_feeds() {
    let d = Daemon::start();
    let c = client();
    for cat in CATEGORIES {
        let page = get(&c, &d.url(&format!("/{}/", enc(cat)))).await;
        assert_eq!(page.status, 200, "/{cat}/");
        let feeds: Vec<String> = FEED_FILES
            .iter()
            .map(|f| format!("/{}/{f}", enc(cat)))
            .collect();
        check_autodiscovery(&d, &c, page.text(), &feeds).await;
    }
    let society = get(&c, &d.url(&format!("/{}/", enc(SOCIETY)))).await;
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
async fn check_autodiscovery(d: &Daemon, c: &reqwest::Client, html: &str, feed_paths: &[String]) {
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
        let r = get(c, &d.local(href)).await;
        assert_eq!(r.status, 200, "GET {href}");
        assert!(
            r.header("content-type").starts_with(ty.as_str()),
            "GET {href}"
        );
    }
}

// ------------------------------------------------------------------ OPML

#[tokio::test]
async fn opml_lists_every_feed() {
    let d = Daemon::start();
    let c = client();
    let r = get(&c, &d.url("/feeds.opml")).await;
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
        let f = get(&c, &d.local(url)).await;
        assert_eq!(f.status, 200, "GET {url}");
    }
}

// ------------------------------------------------------ healthz, metrics

#[tokio::test]
async fn healthz_reports_counts_watcher_and_last_regeneration() {
    let d = Daemon::start();
    let c = client();
    let r = get(&c, &d.url("/healthz")).await;
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

#[tokio::test]
async fn metrics_are_prometheus_text_with_requests_and_regenerations() {
    let d = Daemon::start();
    let c = client();
    assert_eq!(get(&c, &d.url("/rss.xml")).await.status, 200);
    assert_eq!(get(&c, &d.url("/nope")).await.status, 404);
    let r = get(&c, &d.url("/metrics")).await;
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

#[tokio::test]
async fn http2_prior_knowledge_serves_the_same_bytes() {
    let d = Daemon::start();
    let h1 = get(&client(), &d.url("/rss.xml")).await;
    let h2c = h2_client();
    let h2 = get(&h2c, &d.url("/rss.xml")).await;
    assert_eq!(h2.version, reqwest::Version::HTTP_2);
    assert_eq!(h2.status, 200);
    assert_eq!(h2.body, h1.body);
    assert_eq!(h2.header("etag"), h1.header("etag"));
    assert_eq!(h2.header("content-type"), h1.header("content-type"));
    let cond = get_with(
        &h2c,
        &d.url("/rss.xml"),
        &[("if-none-match", h1.header("etag"))],
    )
    .await;
    assert_eq!(cond.version, reqwest::Version::HTTP_2);
    assert_eq!(cond.status, 304);
    let zh = get(&h2c, &d.url(&format!("/{}/feed.json", enc(SOCIETY)))).await;
    assert_eq!(zh.status, 200);
    assert_eq!(zh.version, reqwest::Version::HTTP_2);
}

// ------------------------------------------------------ connection hygiene

/// Requests on fresh connections keep being answered until `done` is
/// set; returns how many were. (No bound on each one's time: this VM can
/// stall for seconds. A server held up by the idle client answers none.)
async fn keep_asking(d_url: String, done: tokio::sync::watch::Receiver<bool>) -> usize {
    let c = client();
    let mut answered = 0;
    while !*done.borrow() {
        let r = get(&c, &d_url).await;
        assert_eq!(r.status, 200);
        answered += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    answered
}

#[tokio::test]
async fn silent_connection_is_closed_while_others_are_served() {
    let d = Daemon::start();
    let mut silent = TcpStream::connect(d.addr).await.unwrap();
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let others = tokio::spawn(keep_asking(d.url("/rss.xml"), done_rx));
    let closed = wait_closed(&mut silent, Duration::from_secs(15)).await;
    done_tx.send(true).unwrap();
    let answered = others.await.unwrap();
    assert!(
        matches!(closed, Closed::After(t) if t <= Duration::from_secs(12)),
        "a connection that sent nothing: {closed:?}"
    );
    // About one request every 100 ms for the ~10 s the slow client is held.
    assert!(
        answered >= 10,
        "only {answered} requests answered meanwhile"
    );
}

/// Connects, sends `first`, then one more line every second for as long
/// as the server takes it, and says how the connection ended.
async fn stall(addr: std::net::SocketAddr, first: &'static [u8], dribble: bool) -> Closed {
    let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    wr.write_all(first).await.unwrap();
    let writer = async move {
        for i in 0.. {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if !dribble {
                continue;
            }
            let line = format!("X-Slow-{i}: 1\r\n");
            if wr.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        closed = wait_closed(&mut rd, Duration::from_secs(20)) => closed,
        _ = writer => unreachable!(),
    }
}

#[tokio::test]
async fn dribbling_clients_are_closed_while_others_are_served() {
    let d = Daemon::start();
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let others = tokio::spawn(keep_asking(d.url("/atom.xml"), done_rx));
    // Half a request line, then nothing; and a request whose header
    // lines trickle in one a second: each byte is "on time", the head as
    // a whole never is.
    let (line, headers) = tokio::join!(
        stall(d.addr, b"GET /rss.x", false),
        stall(d.addr, b"GET /rss.xml HTTP/1.1\r\n", true),
    );
    done_tx.send(true).unwrap();
    let answered = others.await.unwrap();
    assert!(
        matches!(line, Closed::After(_)),
        "a connection that sent half a request line: {line:?}"
    );
    assert!(
        matches!(headers, Closed::After(_)),
        "a connection dribbling its headers: {headers:?}"
    );
    // About one request every 100 ms for the ~10 s the slow client is held.
    assert!(
        answered >= 10,
        "only {answered} requests answered meanwhile"
    );
}

#[tokio::test]
async fn partial_http2_preface_is_closed() {
    let d = Daemon::start();
    let mut s = TcpStream::connect(d.addr).await.unwrap();
    // The start of the HTTP/2 prior-knowledge preface: the protocol
    // sniffer cannot decide yet, so only a server-side deadline helps.
    s.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let closed = wait_closed(&mut s, Duration::from_secs(20)).await;
    assert!(
        matches!(closed, Closed::After(_)),
        "a connection that sent half the HTTP/2 preface: {closed:?}"
    );
}

// -------------------------------------------------------------- shutdown

#[tokio::test]
async fn sigterm_exits_zero() {
    let mut d = Daemon::start();
    assert_eq!(get(&client(), &d.url("/rss.xml")).await.status, 200);
    d.sigterm();
    let status = d
        .exited_within(Duration::from_secs(7))
        .await
        .unwrap_or_else(|| panic!("still running 7 s after SIGTERM; log:\n{}", d.log_text()));
    assert_eq!(status.code(), Some(0), "log:\n{}", d.log_text());
}

/// Opens a connection that sends `sent` and then nothing, SIGTERMs the
/// daemon and expects a clean exit within 9 s: the drain deadline is 5 s,
/// and waiting for that client would take the 10 s header timeout.
async fn sigterm_with_a_stalled_client_exits_zero(sent: &'static [u8]) {
    let mut d = Daemon::start();
    let mut s = TcpStream::connect(d.addr).await.unwrap();
    s.write_all(sent).await.unwrap();
    // One accept loop takes connections in order: once a later
    // connection is answered, ours is in the server's hands.
    assert_eq!(get(&client(), &d.url("/rss.xml")).await.status, 200);
    d.sigterm();
    let status = d
        .exited_within(Duration::from_secs(9))
        .await
        .unwrap_or_else(|| {
            panic!(
                "still running 9 s after SIGTERM with a client that sent {:?}; log:\n{}",
                String::from_utf8_lossy(sent),
                d.log_text()
            )
        });
    assert_eq!(status.code(), Some(0), "log:\n{}", d.log_text());
    drop(s);
}

#[tokio::test]
async fn sigterm_with_stalled_clients_exits_zero_promptly() {
    tokio::join!(
        sigterm_with_a_stalled_client_exits_zero(b"GET /rss.xml HTTP/1.1\r\nHost: x\r\n"),
        sigterm_with_a_stalled_client_exits_zero(b""),
    );
}

// ---------------------------------------------------------- live updates

#[tokio::test]
async fn last_modified_moves_forward_when_an_item_is_deleted() {
    let d = Daemon::start();
    let c = client();
    // Not racing the watcher's start (see the test below).
    wait_until_watching(&d, &c).await;
    let url = d.url(&format!("/{}/rss.xml", enc(SOCIETY)));
    let before = get(&c, &url).await;
    assert_eq!(before.status, 200);
    let old_etag = before.header("etag").to_string();
    let old_lm = httpdate::parse_http_date(before.header("last-modified")).unwrap();
    assert!(before.text().contains("三条公交线路延伸至新区"));
    assert!(before.text().contains("新图书馆开放夜间阅览"));

    std::fs::remove_file(d.content_dir().join(SOCIETY).join("bus-routes.md")).unwrap();

    let after = poll_until(Duration::from_secs(15), "the feed to change", || {
        let (c, url, old) = (c.clone(), url.clone(), old_etag.clone());
        async move {
            let r = get(&c, &url).await;
            (r.status == 200 && r.header("etag") != old).then_some(r)
        }
    })
    .await;
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
    let stale = get_with(&c, &url, &[("if-none-match", &old_etag)]).await;
    assert_eq!(stale.status, 200);
    let stale_ims = get_with(
        &c,
        &url,
        &[("if-modified-since", before.header("last-modified"))],
    )
    .await;
    assert_eq!(stale_ims.status, 200, "If-Modified-Since the old date");
    // And the gzip variant moved too. The daemon serves a change before its
    // compressed variants are ready, so a gzip request may briefly get the
    // new body uncompressed — but never the old one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let gz = get_with(&c, &url, &[("accept-encoding", "gzip")]).await;
        if gz
            .headers
            .get("content-encoding")
            .is_some_and(|v| v == "gzip")
        {
            assert_eq!(gunzip(&gz.body), after.body);
            break;
        }
        assert_eq!(gz.body, after.body, "a gzip request got a stale body");
        assert!(
            std::time::Instant::now() < deadline,
            "the gzip variant never followed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Nothing went backwards meanwhile: every later answer is at least as new.
    let again = get(&c, &url).await;
    assert!(httpdate::parse_http_date(again.header("last-modified")).unwrap() >= new_lm);
}

#[tokio::test]
async fn a_change_right_after_listening_is_picked_up() {
    let d = Daemon::start();
    std::fs::remove_file(d.content_dir().join(SOCIETY).join("bus-routes.md")).unwrap();
    let c = client();
    let url = d.url(&format!("/{}/rss.xml", enc(SOCIETY)));
    poll_until(
        Duration::from_secs(15),
        "the deleted item to leave the feed",
        || {
            let (c, url) = (c.clone(), url.clone());
            async move {
                let r = get(&c, &url).await;
                (r.status == 200 && !r.text().contains("三条公交线路延伸至新区")).then_some(())
            }
        },
    )
    .await;
}
