//! Simplified and Traditional Chinese variants (`site.variants`), as a
//! reader meets them: every feed and page again under `/zh-hans/` and
//! `/zh-hant/`, text converted by phrase, markup and URLs untouched, ids
//! kept, links within the variant, `hreflang` between the versions, live
//! edits, and `herald build` writing the same bytes the daemon serves.

mod support;

use std::collections::BTreeSet;

use support::*;

/// `site.base_url` (and `site.link`, so herald serves article pages).
const BASE: &str = "https://news.heyang.example";

/// A seed-style export in Traditional characters: title, subtitle, body,
/// byline naming two reporters, timestamps, footer.
const SEED: &str = "市政府常務會議召開\n研究部署後天的防汛工作\n\
    3月12日上午,市長主持召開市政府常務會議,研究理髮行業和乾隆年間古建築保護。\n\
    會議指出,要做好頭髮護理行業的規範工作。\n記者 林金彥 楊光\n2025-03-12 11:20:00\n\
    河陽新聞網 版權所有\n";

/// A Simplified article with a tag, a link whose URL and title hold Han
/// characters, and a code block.
const SIMPLIFIED: &str =
    "+++\ntitle = \"头发与后天的会议\"\ndate = \"2025-03-11T09:00:00+08:00\"\n\
    author = \"林晓\"\ntags = [\"财政\"]\n+++\n\
    会议讨论了[头发](https://zh.wikipedia.org/wiki/头发 \"头发 百科\")和面条。\n\n\
    ```\n头发 = 后天\n```\n";

/// An English article: the same in every variant.
const ENGLISH: &str = "+++\ntitle = \"Opera Night at the Harbour\"\n\
    date = \"2025-03-10T20:00:00+08:00\"\nauthor = \"Ana Souza\"\ntags = [\"opera\"]\n+++\n\
    A *sold-out* night at the [harbour](https://opera.example/night).\n";

fn site(variants: &str) -> Site {
    let site = Site::with_config(&format!(
        "[site]\ntitle = \"河陽新聞 Heyang News\"\nbase_url = \"{BASE}\"\n\
         language = \"zh-TW\"\nauthor = \"河陽新聞網\"\nid_authority = \"heyang.example\"\n\
         variants = {variants}\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\n\
         [content]\ndir = \"../content\"\ndebounce_ms = 50\n\n\
         [categories.\"社会\"]\ntitle = \"社會 Society\"\n"
    ));
    site.write("社会/seed.txt", SEED);
    site.write("politics/simplified.md", SIMPLIFIED);
    site.write("culture/english.md", ENGLISH);
    site
}

const BOTH: &str = "[\"zh-Hans\", \"zh-Hant\"]";

/// A path with each segment percent-encoded, as a reader's client sends it.
fn encoded(path: &str) -> String {
    path.split('/').map(pct).collect::<Vec<_>>().join("/")
}

fn get(d: &Daemon, path: &str) -> String {
    let r = d.get(&encoded(path));
    assert_eq!(r.status, 200, "GET {path}");
    r.text().to_string()
}

fn doc(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The first element named `name`.
fn first<'a, 'i>(d: &'a roxmltree::Document<'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    d.descendants()
        .find(|n| n.tag_name().name() == name)
        .unwrap_or_else(|| panic!("no <{name}>"))
}

/// A child element's text.
fn child_text(n: roxmltree::Node, name: &str) -> String {
    n.children()
        .find(|c| c.tag_name().name() == name)
        .and_then(|c| c.text())
        .unwrap_or_default()
        .to_string()
}

/// The JSON Feed item whose original id is `id`.
fn json_item(feed: &serde_json::Value, id: &str) -> serde_json::Value {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {feed}"))
        .clone()
}

#[test]
fn the_seed_export_comes_out_simplified_under_zh_hans() {
    let site = site(BOTH);
    let d = Daemon::start(&site.config);
    let original = get(&d, "/社会/atom.xml");
    let variant = get(&d, "/zh-hans/社会/atom.xml");
    let (o, v) = (doc(&original), doc(&variant));
    let (oe, ve) = (first(&o, "entry"), first(&v, "entry"));
    assert_eq!(child_text(oe, "title"), "市政府常務會議召開");
    assert_eq!(child_text(ve, "title"), "市政府常务会议召开");
    assert_eq!(child_text(ve, "summary"), "研究部署后天的防汛工作");
    let authors: Vec<String> = ve
        .children()
        .filter(|c| c.tag_name().name() == "author")
        .map(|a| child_text(a, "name"))
        .collect();
    assert_eq!(authors, ["林金彦", "杨光"]);
    let body = child_text(ve, "content");
    assert!(
        body.contains("头发护理") && body.contains("理发行业") && body.contains("乾隆年间"),
        "{body}"
    );
    assert!(!body.contains("會議"), "{body}");
    // The same article: the same id; the feed is the variant's.
    assert_eq!(child_text(ve, "id"), child_text(oe, "id"));
    let root = v.root_element();
    assert_eq!(
        root.attribute(("http://www.w3.org/XML/1998/namespace", "lang")),
        Some("zh-Hans")
    );
    let self_url = format!("{BASE}/zh-hans/%E7%A4%BE%E4%BC%9A/atom.xml");
    assert_eq!(child_text(root, "id"), self_url);
    assert!(
        variant.contains(&format!("href=\"{self_url}\" rel=\"self\"")),
        "{variant}"
    );
    assert_eq!(
        child_text(root, "title"),
        "社会 Society - 河阳新闻 Heyang News"
    );
}

#[test]
fn a_simplified_article_comes_out_traditional_under_zh_hant() {
    let site = site(BOTH);
    let d = Daemon::start(&site.config);
    let original = get(&d, "/politics/rss.xml");
    let variant = get(&d, "/zh-hant/politics/rss.xml");
    let (o, v) = (doc(&original), doc(&variant));
    let (oi, vi) = (first(&o, "item"), first(&v, "item"));
    assert_eq!(child_text(vi, "title"), "頭髮與後天的會議");
    assert_eq!(
        child_text(vi, "guid"),
        child_text(oi, "guid"),
        "item ids stay"
    );
    assert_eq!(
        child_text(oi, "link"),
        format!("{BASE}/politics/simplified.html")
    );
    assert_eq!(
        child_text(vi, "link"),
        format!("{BASE}/zh-hant/politics/simplified.html"),
        "the item links to the variant's article page"
    );
    assert_eq!(child_text(vi, "category"), "財政");
    assert_eq!(child_text(vi, "creator"), "林曉");
    assert_eq!(
        child_text(v.root_element().first_element_child().unwrap(), "language"),
        "zh-Hant"
    );

    // The tag keeps its URL segment; its pages show it converted.
    let tag_page = get(&d, "/zh-hant/tags/财政/");
    assert!(tag_page.contains("<h1>財政</h1>"), "{tag_page}");
    assert!(
        tag_page.contains(&format!("{BASE}/zh-hant/tags/%E8%B4%A2%E6%94%BF/rss.xml")),
        "{tag_page}"
    );
    let tag_feed = get(&d, "/zh-hant/tags/财政/atom.xml");
    assert!(
        tag_feed.contains("<title>頭髮與後天的會議</title>"),
        "{tag_feed}"
    );
    d.assert_404(&encoded("/zh-hant/tags/財政/"));

    // The article page in the variant, and its link from the original.
    let page = get(&d, "/zh-hant/politics/simplified.html");
    assert!(page.contains("<html lang=\"zh-Hant\">"), "{page}");
    assert!(page.contains("<h1>頭髮與後天的會議</h1>"), "{page}");
    assert!(
        page.contains(&format!(
            "<link rel=\"canonical\" href=\"{BASE}/zh-hant/politics/simplified.html\">"
        )),
        "{page}"
    );
}

#[test]
fn an_english_article_is_the_same_in_every_variant() {
    let site = site(BOTH);
    let d = Daemon::start(&site.config);
    let id = "tag:heyang.example,2025-03-10:culture/english";
    let original: serde_json::Value = serde_json::from_str(&get(&d, "/culture/feed.json")).unwrap();
    let o = json_item(&original, id);
    for v in ["zh-hans", "zh-hant"] {
        let feed: serde_json::Value =
            serde_json::from_str(&get(&d, &format!("/{v}/culture/feed.json"))).unwrap();
        let i = json_item(&feed, id);
        for key in [
            "title",
            "summary",
            "content_html",
            "authors",
            "tags",
            "date_published",
        ] {
            assert_eq!(i[key], o[key], "{v}: {key}");
        }
        assert_eq!(
            i["url"],
            format!("{BASE}/{v}/culture/english.html"),
            "{v}: the variant's page"
        );
    }
}

#[test]
fn markup_urls_and_code_in_bodies_are_untouched() {
    let site = site(BOTH);
    let d = Daemon::start(&site.config);
    let id = "tag:heyang.example,2025-03-11:politics/simplified";
    let original: serde_json::Value =
        serde_json::from_str(&get(&d, "/politics/feed.json")).unwrap();
    let variant: serde_json::Value =
        serde_json::from_str(&get(&d, "/zh-hant/politics/feed.json")).unwrap();
    let o = json_item(&original, id)["content_html"]
        .as_str()
        .unwrap()
        .to_string();
    let v = json_item(&variant, id)["content_html"]
        .as_str()
        .unwrap()
        .to_string();
    // Every tag of the body, attributes and URLs included, is the same.
    let tags = |html: &str| -> Vec<String> {
        html.split('<')
            .skip(1)
            .map(|t| t.split('>').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(tags(&v), tags(&o), "markup changed:\n{o}\n{v}");
    let href = tags(&o)
        .into_iter()
        .find(|t| t.starts_with("a "))
        .expect("a link in the body");
    assert!(
        href.contains("头发"),
        "the link's URL and title hold Han characters: {href}"
    );
    // Text outside code is converted; the code block is not.
    assert!(v.contains(">頭髮</a>和麪條"), "{v}");
    assert!(v.contains("<code>头发 = 后天\n</code>"), "{v}");
}

#[test]
fn footnote_links_of_a_variant_lead_to_the_notes_on_the_variant_page() {
    let site = site(BOTH);
    site.write(
        "politics/notes.md",
        "+++\ntitle = \"会议纪要\"\ndate = \"2025-03-12T09:00:00+08:00\"\n+++\n\
         会议讨论了预算[^1]。\n\n[^1]: 后天再议。\n",
    );
    let d = Daemon::start(&site.config);
    for (prefix, note) in [("", "后天再议"), ("/zh-hant", "後天再議")] {
        let page = get(&d, &format!("{prefix}/politics/notes.html"));
        let want = format!("href=\"{BASE}{prefix}/politics/notes.html#1\"");
        assert!(page.contains(&want), "{want} in\n{page}");
        assert!(page.contains("id=\"1\"") && page.contains(note), "{page}");
        let feed = get(&d, &format!("{prefix}/politics/rss.xml"));
        assert!(
            feed.contains(&format!("{BASE}{prefix}/politics/notes.html#1")),
            "{feed}"
        );
    }
}

#[test]
fn pages_link_their_versions_and_the_index_offers_them() {
    let site = site(BOTH);
    let d = Daemon::start(&site.config);
    let index = get(&d, "/");
    for (lang, url) in [
        ("zh-TW", format!("{BASE}/")),
        ("zh-Hans", format!("{BASE}/zh-hans/")),
        ("zh-Hant", format!("{BASE}/zh-hant/")),
    ] {
        assert!(
            index.contains(&format!(
                "<link rel=\"alternate\" hreflang=\"{lang}\" href=\"{url}\">"
            )),
            "{lang}: {index}"
        );
    }
    assert!(
        index.contains(&format!("<a href=\"{BASE}/zh-hans/\" hreflang=\"zh-Hans\"")),
        "{index}"
    );
    let page = get(&d, "/zh-hans/politics/simplified.html");
    for (lang, url) in [
        ("zh-TW", format!("{BASE}/politics/simplified.html")),
        (
            "zh-Hans",
            format!("{BASE}/zh-hans/politics/simplified.html"),
        ),
        (
            "zh-Hant",
            format!("{BASE}/zh-hant/politics/simplified.html"),
        ),
    ] {
        assert!(
            page.contains(&format!(
                "<link rel=\"alternate\" hreflang=\"{lang}\" href=\"{url}\">"
            )),
            "{lang}: {page}"
        );
    }
    // Every link on a variant's index stays in the variant or leaves the site.
    let variant_index = get(&d, "/zh-hant/");
    for href in variant_index.split("href=\"").skip(1) {
        let url = href.split('"').next().unwrap();
        if let Some(rest) = url.strip_prefix(BASE) {
            let original_version = rest == "/";
            assert!(
                rest.starts_with("/zh-hant/") || rest.starts_with("/zh-hans/") || original_version,
                "{url} leaves the variant"
            );
        }
    }
    // The OPML of a variant lists the variant's feeds.
    let opml = get(&d, "/zh-hans/feeds.opml");
    assert!(
        opml.contains(&format!("xmlUrl=\"{BASE}/zh-hans/politics/rss.xml\"")),
        "{opml}"
    );
}

#[test]
fn an_edit_reaches_the_variant_feeds_live() {
    let site = site(BOTH);
    let d = Daemon::start_watching(&site);
    site.atomic_save(
        "politics/simplified.md",
        &SIMPLIFIED.replace("头发与后天的会议", "新的头发会议"),
    );
    d.wait_title("/zh-hant/politics/rss.xml", "新的頭髮會議", true, DEADLINE);
    d.wait_title("/zh-hans/politics/rss.xml", "新的头发会议", true, DEADLINE);
    let page = get(&d, "/zh-hant/politics/simplified.html");
    assert!(page.contains("<h1>新的頭髮會議</h1>"), "{page}");
}

#[test]
fn herald_build_writes_the_variant_tree_as_the_daemon_serves_it() {
    let site = site(BOTH);
    let out = site.root.join("out");
    site.build(&out);
    let files = pages_under(&out);
    let want: BTreeSet<&str> = [
        "zh-hans/index.html",
        "zh-hant/index.html",
        "zh-hans/feeds.opml",
        "zh-hans/社会/atom.xml",
        "zh-hant/politics/rss.xml",
        "zh-hant/politics/simplified.html",
        "zh-hans/tags/财政/feed.json",
        "zh-hant/authors/index.html",
    ]
    .into_iter()
    .collect();
    for f in &want {
        assert!(files.iter().any(|x| x == f), "{f} not built: {files:?}");
    }
    let d = Daemon::start(&site.config);
    d.assert_serves_built(&out, &files);
    let variant_files = files.iter().filter(|f| f.starts_with("zh-")).count();
    assert_eq!(
        variant_files * 3,
        files.len() * 2,
        "each variant holds as many files as the original"
    );
}

#[test]
fn feeds_are_the_same_with_and_without_variants() {
    let without = site("[]");
    let with = site(BOTH);
    let (a, _) = render_site(&Config::load(&without.config).unwrap(), now());
    let (b, _) = render_site(&Config::load(&with.config).unwrap(), now());
    let feeds = |m: &std::collections::BTreeMap<String, Vec<u8>>| -> Vec<(String, Vec<u8>)> {
        m.iter()
            .filter(|(f, _)| !f.starts_with("zh-") && !f.ends_with(".html"))
            .map(|(f, b)| (f.clone(), b.clone()))
            .collect()
    };
    assert!(!feeds(&a).is_empty());
    assert_eq!(
        feeds(&a),
        feeds(&b),
        "a feed changed when variants were turned on"
    );
    assert!(
        a.keys().all(|f| !f.starts_with("zh-")),
        "no variant tree without variants"
    );
    // Pages without variants carry no hreflang.
    assert!(a
        .iter()
        .filter(|(f, _)| f.ends_with(".html"))
        .all(|(_, b)| !String::from_utf8_lossy(b).contains("hreflang")));
}

#[test]
fn an_unknown_variant_is_a_config_error_naming_the_key() {
    let site = Site::new();
    let path = site.root.join("bad.toml");
    std::fs::write(
        &path,
        "[site]\ntitle = \"T\"\nvariants = [\"zh-Hans\", \"zh-TW\"]\n",
    )
    .unwrap();
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("bad.toml:3:") && err.contains("site.variants") && err.contains("zh-TW"),
        "{err}"
    );
}

#[test]
fn pages_of_variants_exist_only_where_the_original_does() {
    let with = site(BOTH);
    let d = Daemon::start(&with.config);
    for path in [
        "/zh-hans/nowhere/rss.xml",
        "/zh-hans/nowhere/",
        "/zh-hant/politics/nothing.html",
        "/zh-hant/tags/nothing/",
        "/zh-tw/politics/rss.xml",
    ] {
        d.assert_404(&encoded(path));
    }
    let r = d.get("/zh-hans");
    assert_eq!(r.status, 301, "/zh-hans redirects to /zh-hans/");
    // A site without variants has none of these.
    let plain = site("[]");
    let d = Daemon::start(&plain.config);
    d.assert_404("/zh-hans/politics/rss.xml");
    d.assert_404("/zh-hans/");
}

#[test]
fn a_websub_subscriber_of_a_variant_feed_gets_each_new_version() {
    let site = Site::with_config(&format!(
        "[site]\ntitle = \"河陽新聞\"\nbase_url = \"{BASE}\"\nlanguage = \"zh-TW\"\n\
         variants = {BOTH}\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n\
         [content]\ndir = \"../content\"\ndebounce_ms = 50\n\n\
         [websub]\nbuiltin = true\nallow_private_callbacks = true\n"
    ));
    site.write("politics/simplified.md", SIMPLIFIED);
    let d = Daemon::start_watching(&site);
    let sub = Subscriber::start();
    let topic = format!("{BASE}/zh-hant/politics/atom.xml");
    let mark = sub.mark();
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    let r = client
        .post(d.url("/websub"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &sub.url("/hant")),
        ]))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{:?}", r.text());
    sub.wait_request("the verification", mark, DEADLINE, |r| {
        r.path() == "/hant" && r.is_get_mode("subscribe")
    });
    eventually("the subscription counted", DEADLINE, || {
        let n = d.health()["websub"]["subscriptions"].as_u64();
        (n == Some(1)).then_some(()).ok_or(format!("{n:?}"))
    });
    let mark = sub.mark();
    site.atomic_save(
        "politics/simplified.md",
        &SIMPLIFIED.replace("头发与后天的会议", "推送的头发会议"),
    );
    let got = sub.wait_request("the new version", mark, DEADLINE, |r| {
        r.is_post() && r.path() == "/hant" && r.text().contains("推送的頭髮會議")
    });
    assert_eq!(
        got.body,
        d.get("/zh-hant/politics/atom.xml").body,
        "the delivery is the variant feed served"
    );
}
