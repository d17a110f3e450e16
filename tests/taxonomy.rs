//! Tag and author pages and feeds, as a user meets them over
//! HTTP: the `/tags/` and `/authors/` lists, a page and three feeds per
//! term, keys that fold case and whitespace, bylines of plain-text
//! exports, `feeds.taxonomies`, drafts and embargoed articles, live
//! changes, and `herald build` writing the same bytes the daemon serves.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::*;

/// `site.title` of every test site here.
const TITLE: &str = "港城新聞 Harbour City News";
/// `site.base_url` of every test site here: self links start with it.
const BASE: &str = "https://feeds.harbour.example";
/// `site.author`: the fallback name, which never makes an author page.
const SITE_AUTHOR: &str = "港城新聞網";
/// The three feed files of a term, in `feeds.formats` order.
const FEED_FILES: [&str; 3] = ["rss.xml", "atom.xml", "feed.json"];

/// A site with [`TITLE`], [`BASE`] and [`SITE_AUTHOR`], a 50 ms debounce,
/// and `feeds` as the body of its `[feeds]` table.
fn site_with(feeds: &str) -> Site {
    Site::with_config(&format!(
        "[site]\ntitle = \"{TITLE}\"\nbase_url = \"{BASE}\"\nauthor = \"{SITE_AUTHOR}\"\n\
         id_authority = \"harbour.example\"\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\n\
         [content]\ndir = \"../content\"\ndebounce_ms = 50\n\n\
         [feeds]\n{feeds}\n"
    ))
}

/// A Markdown article with TOML front matter: `title`, `date`, then the
/// front-matter lines `extra` (tags, authors, draft…).
fn md(title: &str, date: &str, extra: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = \"{date}\"\n{extra}\n+++\nBody of {title}.\n")
}

/// A plain-text export shaped like a city news site's page export:
/// title, subtitle, body, byline, timestamps, footer.
fn seed_txt(byline: &str) -> String {
    format!(
        "市政府常務會議召開\n\
         研究招商引資、就業、培育發展新質生產力等工作\n\
         2月27日下午,市委副書記、市長張百順主持召開市政府常務會議,調度近期重點推進落實事項。\n\
         會議聽取了關於招商引資工作情況匯報。\n\
         會議還研究了其他事項。\n\
         {byline}\n\
         2025-02-27 18:07:24\n\
         2025-02-27 16:28:58\n\
         聊城新聞網 2006-2025 版權所有\n\
         本網違法和不良信息舉報電話:18663509279\n"
    )
}

/// `/<tax>/<key percent-encoded>/<file>` (`file` empty for the page).
fn term_path(tax: &str, key: &str, file: &str) -> String {
    format!("/{tax}/{}/{file}", pct(key))
}

/// `/<tax>/<key raw UTF-8>/<file>`, as raw request-target bytes.
fn raw_term_path(tax: &str, key: &str, file: &str) -> Vec<u8> {
    format!("/{tax}/{key}/{file}").into_bytes()
}

/// One row of a `/tags/` or `/authors/` list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    /// The link, as written (absolute, from `site.base_url`).
    href: String,
    /// The display name, HTML-unescaped.
    name: String,
    /// The article count shown beside it.
    count: usize,
}

/// The rows of the list page at `path` (`/tags/` or `/authors/`), in page
/// order: each `<li>` with a link and a count after it.
fn list_rows(d: &Daemon, path: &str) -> Result<Vec<Row>, String> {
    let r = d.get_ok(path)?;
    let html = std::str::from_utf8(&r.body).map_err(|e| format!("{path}: {e}"))?;
    let li = regex::Regex::new(r#"(?s)<li>\s*<a href="([^"]*)">(.*?)</a>(.*?)</li>"#).unwrap();
    let number = regex::Regex::new(r"\d+").unwrap();
    let markup = regex::Regex::new(r"<[^>]*>").unwrap();
    li.captures_iter(html)
        .map(|c| {
            let rest = markup.replace_all(&c[3], " ");
            let count = number
                .find(&rest)
                .ok_or_else(|| format!("{path}: no count in {:?}", &c[0]))?
                .as_str()
                .parse()
                .unwrap();
            Ok(Row {
                href: html_escape::decode_html_entities(&c[1]).into_owned(),
                name: html_escape::decode_html_entities(&c[2]).trim().to_string(),
                count,
            })
        })
        .collect()
}

/// Waits until the RSS feed at `path` has exactly the item titles `want`,
/// in this order.
fn wait_titles(d: &Daemon, path: &str, want: &[&str]) {
    eventually(&format!("{path} to list {want:?}"), DEADLINE, || {
        let got = d.titles(path)?;
        (got == want).then_some(()).ok_or(format!("{got:?}"))
    });
}

/// The `href` of every `<a>` in the HTML at `path`.
fn anchors(d: &Daemon, path: &str) -> Vec<String> {
    let r = d.get(path);
    assert_eq!(r.status, 200, "GET {path}");
    tags(r.text(), "a")
        .into_iter()
        .filter_map(|a| a.get("href").cloned())
        .collect()
}

/// The self link of a feed body: RSS `atom:link rel="self"` in the channel,
/// Atom `link rel="self"` of the feed, JSON Feed `feed_url`.
fn self_link(file: &str, body: &[u8]) -> Result<String, String> {
    const ATOM: &str = "http://www.w3.org/2005/Atom";
    let self_of = |parent: roxmltree::Node| {
        parent
            .children()
            .find(|n| n.has_tag_name((ATOM, "link")) && n.attribute("rel") == Some("self"))
            .and_then(|n| n.attribute("href"))
            .map(str::to_string)
    };
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    match file {
        "feed.json" => {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
            v["feed_url"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| "no feed_url".to_string())
        }
        _ => {
            let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
            let root = doc.root_element();
            let parent = if file == "rss.xml" {
                root.children()
                    .find(|n| n.has_tag_name("channel"))
                    .ok_or("no <channel>")?
            } else {
                root
            };
            self_of(parent).ok_or_else(|| "no self link".to_string())
        }
    }
}

// ------------------------------------------------------------------ tests

#[test]
fn tags_that_differ_in_case_and_spacing_are_one_tag_shown_with_the_most_used_spelling() {
    let site = site_with("");
    site.write(
        "city/a.md",
        &md(
            "Charging points planned",
            "2025-03-01 09:00",
            "tags = [\"EV\", \"City  Budget\", \"Harbour\"]",
        ),
    );
    site.write(
        "city/b.md",
        &md(
            "Bus fleet goes electric",
            "2025-03-02 09:00",
            "tags = [\"ev\", \"city budget\", \"Airport\"]",
        ),
    );
    site.write(
        "city/c.md",
        &md(
            "Ferry trial with batteries",
            "2025-03-03 09:00",
            "tags = [\" EV \", \"harbour\"]",
        ),
    );
    let d = Daemon::start(&site.config);

    // One row per key, most used first, ties by name; "EV" (2 of 3) is the
    // spelling shown; "Harbour"/"harbour" tie, and "H" < "h".
    let rows = list_rows(&d, "/tags/").unwrap();
    let summary: Vec<(String, String, usize)> = rows
        .iter()
        .map(|r| {
            (
                r.href.clone(),
                r.name.split_whitespace().collect::<Vec<_>>().join(" "),
                r.count,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (format!("{BASE}/tags/ev/"), "EV".to_string(), 3),
            (format!("{BASE}/tags/city-budget/"), "City Budget".into(), 2),
            (format!("{BASE}/tags/harbour/"), "Harbour".into(), 2),
            (format!("{BASE}/tags/airport/"), "Airport".into(), 1),
        ],
        "/tags/ rows: {rows:?}"
    );

    // One feed with all three, newest first, titled with the shown spelling.
    let rss = d.get("/tags/ev/rss.xml");
    assert_eq!(rss.status, 200, "GET /tags/ev/rss.xml");
    assert_eq!(
        rss_titles(&rss.body).unwrap(),
        [
            "Ferry trial with batteries",
            "Bus fleet goes electric",
            "Charging points planned"
        ]
    );
    assert_eq!(
        rss_channel_title(&rss.body).unwrap(),
        format!("EV - {TITLE}")
    );
    let json: serde_json::Value =
        serde_json::from_slice(&d.get_ok("/tags/ev/feed.json").unwrap().body).unwrap();
    assert_eq!(json["title"], format!("EV - {TITLE}"));
    let json_titles: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        json_titles,
        [
            "Ferry trial with batteries",
            "Bus fleet goes electric",
            "Charging points planned"
        ]
    );
    let atom = feed_rs::parser::parse(&d.get_ok("/tags/ev/atom.xml").unwrap().body[..]).unwrap();
    assert_eq!(atom.title.unwrap().content, format!("EV - {TITLE}"));
    assert_eq!(atom.entries.len(), 3);

    // The tag's page lists its headlines and links its feeds, in the page
    // and in autodiscovery tags.
    let page = d.get_ok("/tags/ev/").unwrap();
    let html = page.text();
    for t in [
        "Ferry trial with batteries",
        "Bus fleet goes electric",
        "Charging points planned",
    ] {
        assert!(html.contains(t), "/tags/ev/ lacks {t:?}:\n{html}");
    }
    let alternates: BTreeSet<String> = tags(html, "link")
        .into_iter()
        .filter(|l| l.get("rel").map(String::as_str) == Some("alternate"))
        .filter_map(|l| l.get("href").cloned())
        .collect();
    let feeds: BTreeSet<String> = FEED_FILES
        .iter()
        .map(|f| format!("{BASE}/tags/ev/{f}"))
        .collect();
    assert_eq!(alternates, feeds, "autodiscovery links of /tags/ev/");
    let links: BTreeSet<String> = anchors(&d, "/tags/ev/").into_iter().collect();
    assert!(
        feeds.is_subset(&links),
        "/tags/ev/ links {links:?}, want {feeds:?}"
    );

    // Only the canonical key is a URL.
    for path in [
        "/tags/EV/",
        "/tags/EV/rss.xml",
        "/tags/Ev/feed.json",
        "/tags/City-Budget/",
        "/tags/city%20budget/rss.xml",
    ] {
        d.assert_404(path);
    }
    assert_eq!(d.get("/tags/city-budget/rss.xml").status, 200);
}

#[test]
fn a_plain_text_byline_names_one_author_feed_per_person_and_site_author_makes_none() {
    let site = site_with("");
    site.write("politics/seed.txt", &seed_txt("記者 林金彥 楊光"));
    site.write(
        "world/wire.txt",
        "Port strike ends\n\
         Dockers return to work on Monday.\n\
         By Jane Doe and John Roe\n\
         2025-03-04 08:00\n",
    );
    site.write(
        "politics/no-author.md",
        &md("Notice without a byline", "2025-03-05 10:00", ""),
    );
    let d = Daemon::start(&site.config);

    let mut rows = list_rows(&d, "/authors/").unwrap();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let want = [
        ("Jane Doe", "jane-doe"),
        ("John Roe", "john-roe"),
        ("林金彥", "林金彥"),
        ("楊光", "楊光"),
    ];
    assert_eq!(
        rows,
        want.iter()
            .map(|(name, key)| Row {
                href: format!("{BASE}{}", term_path("authors", key, "")),
                name: name.to_string(),
                count: 1,
            })
            .collect::<Vec<_>>(),
        "/authors/ rows"
    );

    for name in ["林金彥", "楊光"] {
        let rss = term_path("authors", name, "rss.xml");
        assert_eq!(d.titles(&rss).unwrap(), ["市政府常務會議召開"], "GET {rss}");
        assert_eq!(
            rss_channel_title(&d.get(&rss).body).unwrap(),
            format!("{name} - {TITLE}")
        );
        // The percent-encoded and the raw UTF-8 request target are the
        // same resource.
        for file in ["", "rss.xml", "atom.xml", "feed.json"] {
            let encoded = term_path("authors", name, file);
            let by_client = d.get(&encoded);
            assert_eq!(by_client.status, 200, "GET {encoded}");
            let raw = raw_get(d.addr, &raw_term_path("authors", name, file));
            assert_eq!(
                raw.status, 200,
                "GET /authors/{name}/{file} (raw UTF-8): {}",
                raw.status_line
            );
            assert!(
                raw.body == by_client.body,
                "GET /authors/{name}/{file}: the raw UTF-8 path and {encoded} differ"
            );
        }
    }
    for name in ["Jane Doe", "John Roe"] {
        let key = name.to_lowercase().replace(' ', "-");
        assert_eq!(
            d.titles(&term_path("authors", &key, "rss.xml")).unwrap(),
            ["Port strike ends"]
        );
    }

    // The fallback author is on the item, never an author page.
    for file in ["", "rss.xml", "atom.xml", "feed.json"] {
        d.assert_404(&term_path("authors", SITE_AUTHOR, file));
        let raw = raw_get(d.addr, &raw_term_path("authors", SITE_AUTHOR, file));
        assert_eq!(raw.status, 404, "GET /authors/{SITE_AUTHOR}/{file} (raw)");
    }
    assert!(
        d.titles("/politics/rss.xml")
            .unwrap()
            .contains(&"Notice without a byline".to_string()),
        "the article without an author is published"
    );
}

#[test]
fn retagging_renaming_and_deleting_articles_move_them_between_tag_feeds_live() {
    let site = site_with("");
    site.write(
        "city/a.md",
        &md("Alpha", "2025-03-01 09:00", "tags = [\"harbour\"]"),
    );
    site.write(
        "city/b.md",
        &md(
            "Beta",
            "2025-03-02 09:00",
            "tags = [\"harbour\", \"ferry\"]\nauthor = \"Ana Souza\"",
        ),
    );
    let d = Daemon::start_watching(&site);
    wait_titles(&d, "/tags/harbour/rss.xml", &["Beta", "Alpha"]);
    // The tag page is rendered (and held) before the change.
    assert!(d.get_ok("/tags/harbour/").unwrap().text().contains("Alpha"));
    d.assert_404("/tags/bridge/rss.xml");

    // Retag: Alpha leaves "harbour" and joins "bridge".
    site.atomic_save(
        "city/a.md",
        &md("Alpha", "2025-03-01 09:00", "tags = [\"Bridge\"]"),
    );
    wait_titles(&d, "/tags/bridge/rss.xml", &["Alpha"]);
    wait_titles(&d, "/tags/harbour/rss.xml", &["Beta"]);
    eventually("/tags/harbour/ to drop Alpha", DEADLINE, || {
        let html = d.get_ok("/tags/harbour/")?;
        (!html.text().contains("Alpha") && html.text().contains("Beta"))
            .then_some(())
            .ok_or_else(|| html.text().to_string())
    });
    let rows = list_rows(&d, "/tags/").unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.name.as_str(), r.count))
            .collect::<Vec<_>>(),
        [("Bridge", 1), ("ferry", 1), ("harbour", 1)],
        "/tags/ after the retag"
    );

    // Rename: still one item in "bridge", now at its new permalink.
    std::fs::rename(site.path("city/a.md"), site.path("city/a-renamed.md")).unwrap();
    eventually(
        "the bridge feed to carry the renamed file",
        DEADLINE,
        || {
            let body = d.get_ok("/tags/bridge/rss.xml")?.body;
            let links = rss_links(&body)?;
            let titles = rss_titles(&body)?;
            (titles == ["Alpha"] && links.len() == 1 && links[0].ends_with("/a-renamed.html"))
                .then_some(())
                .ok_or(format!("{titles:?} {links:?}"))
        },
    );

    // Delete the last article of "ferry", "harbour" and "Ana Souza".
    std::fs::remove_file(site.path("city/b.md")).unwrap();
    for path in [
        "/tags/ferry/rss.xml",
        "/tags/ferry/",
        "/tags/harbour/rss.xml",
        "/tags/harbour/atom.xml",
        "/tags/harbour/feed.json",
        "/tags/harbour/",
        "/authors/ana-souza/rss.xml",
    ] {
        d.wait_status(path, 404);
    }
    eventually("/tags/ to list only Bridge", DEADLINE, || {
        let rows = list_rows(&d, "/tags/")?;
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        (names == ["Bridge"])
            .then_some(())
            .ok_or(format!("{rows:?}"))
    });
    assert!(list_rows(&d, "/authors/").unwrap().is_empty());
    wait_titles(&d, "/tags/bridge/rss.xml", &["Alpha"]);

    // And the last one.
    std::fs::remove_file(site.path("city/a-renamed.md")).unwrap();
    d.wait_status("/tags/bridge/rss.xml", 404);
    d.assert_404("/tags/bridge/");
    assert!(list_rows(&d, "/tags/").unwrap().is_empty());
}

#[test]
fn feeds_taxonomies_turns_tag_and_author_urls_on_and_off() {
    let content = |site: &Site| {
        site.write(
            "city/a.md",
            &md(
                "Alpha",
                "2025-03-01 09:00",
                "tags = [\"x\"]\nauthor = \"Ana Souza\"",
            ),
        );
    };
    let index_links = |d: &Daemon| -> (bool, bool) {
        let hrefs = anchors(d, "/");
        (
            hrefs.iter().any(|h| h.contains("/tags/")),
            hrefs.iter().any(|h| h.contains("/authors/")),
        )
    };

    // Default: both, and linked from /. OPML lists no term feed.
    let site = site_with("");
    content(&site);
    let d = Daemon::start(&site.config);
    for path in [
        "/tags/",
        "/tags/x/",
        "/tags/x/rss.xml",
        "/authors/",
        "/authors/ana-souza/rss.xml",
    ] {
        assert_eq!(d.get(path).status, 200, "default config: GET {path}");
    }
    assert_eq!(index_links(&d), (true, true), "default config: / links");
    let opml = d.get_ok("/feeds.opml").unwrap();
    assert!(
        !opml.text().contains("/tags/") && !opml.text().contains("/authors/"),
        "/feeds.opml lists a term feed:\n{}",
        opml.text()
    );
    drop(d);

    // []: neither.
    let site = site_with("taxonomies = []");
    content(&site);
    let d = Daemon::start(&site.config);
    for path in [
        "/tags/",
        "/tags/x/",
        "/tags/x/rss.xml",
        "/tags/x/atom.xml",
        "/tags/x/feed.json",
        "/authors/",
        "/authors/ana-souza/",
        "/authors/ana-souza/rss.xml",
    ] {
        d.assert_404(path);
    }
    assert_eq!(index_links(&d), (false, false), "taxonomies = []: / links");
    assert_eq!(d.titles("/city/rss.xml").unwrap(), ["Alpha"]);
    drop(d);

    // ["tags"]: tags only.
    let site = site_with("taxonomies = [\"tags\"]");
    content(&site);
    let d = Daemon::start(&site.config);
    for path in ["/tags/", "/tags/x/", "/tags/x/rss.xml"] {
        assert_eq!(
            d.get(path).status,
            200,
            "taxonomies = [\"tags\"]: GET {path}"
        );
    }
    for path in [
        "/authors/",
        "/authors/ana-souza/",
        "/authors/ana-souza/rss.xml",
    ] {
        d.assert_404(path);
    }
    assert_eq!(
        index_links(&d),
        (true, false),
        "taxonomies = [\"tags\"]: / links"
    );
}

#[test]
fn drafts_and_embargoed_articles_make_no_term_until_published_by_the_clock() {
    let site = site_with("");
    site.write(
        "city/published.md",
        &md("Published", "2025-03-01 09:00", "tags = [\"common\"]"),
    );
    site.write(
        "city/draft.md",
        &md(
            "Draft",
            "2025-03-02 09:00",
            "tags = [\"draft-only\", \"common\"]\nauthor = \"Drafty\"\ndraft = true",
        ),
    );
    let due = "2026-01-01T00:00:10Z";
    site.write(
        "city/future.md",
        &md(
            "Embargoed",
            due,
            "tags = [\"embargo\", \"common\"]\nauthor = \"Future Writer\"",
        ),
    );
    let clock = Clock::manual(at("2026-01-01T00:00:00Z"));
    let d = Daemon::start_with(&site.config, |o| o.clock = clock.clone());

    for path in [
        "/tags/draft-only/",
        "/tags/draft-only/rss.xml",
        "/authors/drafty/",
        "/authors/drafty/rss.xml",
        "/tags/embargo/",
        "/tags/embargo/rss.xml",
        "/tags/embargo/feed.json",
        "/authors/future-writer/",
        "/authors/future-writer/atom.xml",
    ] {
        d.assert_404(path);
    }
    let rows = list_rows(&d, "/tags/").unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.name.as_str(), r.count))
            .collect::<Vec<_>>(),
        [("common", 1)],
        "/tags/ before the embargo ends"
    );
    assert!(list_rows(&d, "/authors/").unwrap().is_empty());
    assert_eq!(d.titles("/tags/common/rss.xml").unwrap(), ["Published"]);

    // Its date comes, with no file event: its terms appear.
    clock.set(at(due));
    wait_titles(&d, "/tags/embargo/rss.xml", &["Embargoed"]);
    wait_titles(&d, "/tags/common/rss.xml", &["Embargoed", "Published"]);
    wait_titles(&d, "/authors/future-writer/rss.xml", &["Embargoed"]);
    assert_eq!(d.get("/tags/embargo/").status, 200);
    let rows = list_rows(&d, "/tags/").unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.name.as_str(), r.count))
            .collect::<Vec<_>>(),
        [("common", 2), ("embargo", 1)],
        "/tags/ after the embargo ends"
    );
    assert_eq!(
        list_rows(&d, "/authors/")
            .unwrap()
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["Future Writer"]
    );
    // The draft is still no term.
    d.assert_404("/tags/draft-only/rss.xml");
    d.assert_404("/authors/drafty/");
}

/// A newsroom with tags and authors of every shape: case and spacing
/// variants, a `/`, Chinese names, a YAML list, a byline, a draft.
fn write_newsroom(site: &Site) {
    site.write(
        "politics/budget.md",
        &md(
            "Council approves harbour budget",
            "2025-03-10T09:30:00+08:00",
            "authors = [\"Mei Lin\", \"Tom Baker\"]\ntags = [\"City Budget\", \"財政\", \"Port/Logistics\"]",
        ),
    );
    site.write(
        "politics/hearing.md",
        "---\ntitle: Budget hearing moves online\ndate: 2025-03-11 10:00\n\
         author: Mei Lin\ntags:\n  - city budget\n  - EV\n---\nThe hearing is streamed.\n",
    );
    site.write(
        "社会/library.md",
        &md(
            "新圖書館開放夜間閱覽",
            "2025-03-09 08:00",
            "author = \"李華\"\ntags = [\"財政\", \"圖書館\"]",
        ),
    );
    site.write("politics/seed.txt", &seed_txt("記者 林金彥 楊光"));
    site.write(
        "politics/draft.md",
        &md(
            "Unfinished",
            "2025-03-12 10:00",
            "draft = true\ntags = [\"secret\"]\nauthor = \"Ghost Writer\"",
        ),
    );
    site.write("about.md", &md("About", "2025-01-01", "tags = [\"ev\"]"));
}

/// The term keys [`write_newsroom`] publishes.
const NEWSROOM_TAGS: &[&str] = &["city-budget", "財政", "port-logistics", "ev", "圖書館"];
const NEWSROOM_AUTHORS: &[&str] = &["mei-lin", "tom-baker", "李華", "林金彥", "楊光"];

#[test]
fn herald_build_writes_every_tag_and_author_page_as_the_daemon_serves_it() {
    let site = site_with("");
    write_newsroom(&site);
    let out = site.root.join("out");
    site.build(&out);
    let d = Daemon::start(&site.config);

    let files: Vec<String> = pages_under(&out)
        .into_iter()
        .filter(|f| f.starts_with("tags/") || f.starts_with("authors/"))
        .collect();

    // Every published term, and nothing else, has its four files.
    let mut want = BTreeSet::new();
    for (tax, keys) in [("tags", NEWSROOM_TAGS), ("authors", NEWSROOM_AUTHORS)] {
        want.insert(format!("{tax}/index.html"));
        for key in keys {
            for file in ["index.html", "rss.xml", "atom.xml", "feed.json"] {
                want.insert(format!("{tax}/{key}/{file}"));
            }
        }
    }
    let got: BTreeSet<String> = files.iter().cloned().collect();
    assert_eq!(
        got,
        want,
        "files under tags/ and authors/: missing {:?}, unexpected {:?}",
        want.difference(&got).collect::<Vec<_>>(),
        got.difference(&want).collect::<Vec<_>>()
    );

    // Each is byte-equal to what the daemon serves at its URL.
    let mut differ = Vec::new();
    for f in &files {
        let path = url_of_file(f);
        let built = std::fs::read(out.join(f)).unwrap();
        let r = d.get(&path);
        if r.status != 200 {
            differ.push(format!("{f}: GET {path} → {}", r.status));
        } else if r.body != built {
            differ.push(format!(
                "{f}: GET {path} differs ({} bytes served, {} built)",
                r.body.len(),
                built.len()
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} files differ from the daemon:\n{}",
        differ.len(),
        files.len(),
        differ.join("\n")
    );
}

#[test]
fn every_tag_and_author_feed_is_valid_self_linked_and_answers_conditional_requests() {
    let site = site_with("limit = 2");
    write_newsroom(&site);
    let d = Daemon::start(&site.config);
    let c = client();

    for (tax, keys) in [("tags", NEWSROOM_TAGS), ("authors", NEWSROOM_AUTHORS)] {
        let rows = list_rows(&d, &format!("/{tax}/")).unwrap();
        let listed: BTreeMap<String, Row> = rows.into_iter().map(|r| (r.href.clone(), r)).collect();
        let want: BTreeSet<String> = keys
            .iter()
            .map(|k| format!("{BASE}{}", term_path(tax, k, "")))
            .collect();
        assert_eq!(
            listed.keys().cloned().collect::<BTreeSet<_>>(),
            want,
            "/{tax}/ links"
        );
        for (href, row) in &listed {
            let page = href.strip_prefix(BASE).unwrap();
            let html = d.get_ok(page).unwrap();
            let alternates: BTreeSet<String> = tags(html.text(), "link")
                .into_iter()
                .filter(|l| l.get("rel").map(String::as_str) == Some("alternate"))
                .filter_map(|l| l.get("href").cloned())
                .collect();
            let feeds: BTreeSet<String> = FEED_FILES.iter().map(|f| format!("{href}{f}")).collect();
            assert_eq!(alternates, feeds, "autodiscovery of {page}");

            for file in FEED_FILES {
                let path = format!("{page}{file}");
                let r = c.get(&d.url(&path));
                assert_eq!(r.status, 200, "GET {path}");
                assert_eq!(
                    r.header("content-type"),
                    fixture::feed_content_type(file),
                    "GET {path}"
                );
                let feed = feed_rs::parser::parse(&r.body[..])
                    .unwrap_or_else(|e| panic!("GET {path}: feed-rs: {e}"));
                assert_eq!(
                    feed.title.map(|t| t.content),
                    Some(format!("{} - {TITLE}", row.name)),
                    "GET {path}: title"
                );
                assert_eq!(
                    feed.entries.len(),
                    row.count.min(2),
                    "GET {path}: items (count {}, limit 2)",
                    row.count
                );
                if file == "feed.json" {
                    serde_json::from_slice::<serde_json::Value>(&r.body)
                        .unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"));
                } else {
                    parse_xml(&path, &r.body).unwrap();
                }
                assert_eq!(
                    self_link(file, &r.body).unwrap_or_else(|e| panic!("GET {path}: {e}")),
                    format!("{BASE}{path}"),
                    "GET {path}: self link"
                );
                let etag = r.header("etag");
                let again = c.get_with(&d.url(&path), &[("if-none-match", etag)]);
                assert_eq!(again.status, 304, "GET {path} with If-None-Match {etag}");
                assert!(again.body.is_empty(), "GET {path}: 304 with a body");
            }
        }
    }

    // The "city budget" tag has two articles; with limit 2 both, newest first.
    assert_eq!(
        d.titles("/tags/city-budget/rss.xml").unwrap(),
        [
            "Budget hearing moves online",
            "Council approves harbour budget"
        ]
    );
    // A Chinese key: the segment as the spec writes it.
    assert_eq!(term_path("tags", "財政", ""), "/tags/%E8%B2%A1%E6%94%BF/");
    assert_eq!(
        d.titles("/tags/%E8%B2%A1%E6%94%BF/rss.xml").unwrap(),
        ["Council approves harbour budget", "新圖書館開放夜間閱覽"]
    );
}

#[test]
fn a_tag_or_author_path_without_its_slash_redirects_to_the_page() {
    let site = site_with("");
    site.write(
        "city/a.md",
        &md(
            "Charging points planned",
            "2025-03-01 09:00",
            "tags = [\"EV\"]\nauthor = \"林金彥\"",
        ),
    );
    let d = Daemon::start(&site.config);
    for (path, to) in [
        ("/tags/ev", "/tags/ev/"),
        ("/tags", "/tags/"),
        (
            "/authors/%E6%9E%97%E9%87%91%E5%BD%A5",
            "/authors/%E6%9E%97%E9%87%91%E5%BD%A5/",
        ),
    ] {
        let r = d.get(path);
        assert_eq!(r.status, 301, "GET {path}");
        assert_eq!(r.header("location"), to, "GET {path}");
        assert_eq!(d.get(to).status, 200, "GET {to}");
    }
    // A path sent as raw UTF-8 is redirected to its percent-encoded form:
    // a Location header is ASCII.
    let r = raw_get(d.addr, "/authors/林金彥".as_bytes());
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some("/authors/%E6%9E%97%E9%87%91%E5%BD%A5/"),
        "{:?}",
        r.headers
    );
    // No page under the slash either: still 404, and a file-like name is
    // never redirected.
    d.assert_404("/tags/nope");
    d.assert_404("/tags/ev/rss");
}

#[test]
fn dot_and_backslash_names_get_pages_a_url_can_reach_and_never_replace_the_sites() {
    let site = site_with("");
    site.write(
        "politics/dots.md",
        &md(
            "Dotted",
            "2025-03-01 09:00",
            "tags = [\"..\", \".\", \"\\\\back\"]\nauthor = \"Back\\\\Slash\"",
        ),
    );
    site.write("politics/plain.md", &md("Plain", "2025-03-02 09:00", ""));
    let d = Daemon::start(&site.config);
    // `..` and `.` would name the parent folder and the folder itself:
    // their keys are `--` and `-`; a backslash folds like a slash.
    for (tax, key, name) in [
        ("tags", "--", ".."),
        ("tags", "-", "."),
        ("tags", "-back", "\\back"),
        ("authors", "back-slash", "Back\\Slash"),
    ] {
        let page = d.get(&term_path(tax, key, ""));
        assert_eq!(page.status, 200, "{tax}/{key}/");
        assert!(
            page.text().contains(&format!("<h1>{name}</h1>")),
            "{}",
            page.text()
        );
        let feed = d.get(&term_path(tax, key, "rss.xml"));
        assert_eq!(
            rss_titles(&feed.body).unwrap(),
            ["Dotted"],
            "{tax}/{key}/rss.xml"
        );
    }
    let list = d.get("/tags/");
    assert!(!list.text().contains("/tags/./"), "{}", list.text());
    assert!(!list.text().contains("/tags/../"), "{}", list.text());

    let out = site.root.join("out");
    site.build(&out);
    let home = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_eq!(
        home.as_bytes(),
        &d.get("/").body[..],
        "the home page was overwritten"
    );
    let feed = std::fs::read(out.join("rss.xml")).unwrap();
    assert_eq!(
        feed,
        d.get("/rss.xml").body,
        "the site feed was overwritten"
    );
    assert_eq!(rss_titles(&feed).unwrap(), ["Plain", "Dotted"]);
    for (dir, key) in [
        ("tags", "--"),
        ("tags", "-"),
        ("tags", "-back"),
        ("authors", "back-slash"),
    ] {
        let built = std::fs::read(out.join(dir).join(key).join("rss.xml")).unwrap();
        assert_eq!(
            built,
            d.get(&term_path(dir, key, "rss.xml")).body,
            "{dir}/{key}"
        );
    }
}

#[test]
fn tag_and_author_lists_keep_their_last_modified_until_their_bytes_change() {
    let site = site_with("");
    let one = |body: &str, tags: &str| {
        format!(
            "+++\ntitle = \"Harbour\"\ndate = \"2025-03-01 09:00\"\ntags = [{tags}]\nauthor = \"Mei Lin\"\n+++\n{body}\n"
        )
    };
    site.write("city/a.md", &one("First body.", "\"port\""));
    let d = Daemon::start_watching(&site);
    let validators = |path: &str| {
        let r = d.get(path);
        assert_eq!(r.status, 200, "GET {path}");
        (
            r.header("etag").to_string(),
            r.header("last-modified").to_string(),
        )
    };
    let tags = validators("/tags/");
    let authors = validators("/authors/");
    // Later than any Last-Modified given so far, in whole seconds.
    std::thread::sleep(std::time::Duration::from_millis(1100));

    // An edit of the article's body touches its tag and author: both
    // lists are let go and rendered again at their next request, to the
    // same bytes, which keep their Last-Modified.
    site.atomic_save("city/a.md", &one("Second body.", "\"port\""));
    d.wait_title("/tags/port/rss.xml", "Harbour", true, DEADLINE);
    eventually("the edit served", DEADLINE, || {
        let feed = d.get("/tags/port/feed.json");
        feed.text()
            .contains("Second body")
            .then_some(())
            .ok_or(feed.text().to_string())
    });
    assert_eq!(validators("/tags/"), tags);
    assert_eq!(validators("/authors/"), authors);

    // A new tag changes /tags/: a new ETag and a later Last-Modified.
    site.atomic_save("city/a.md", &one("Second body.", "\"port\", \"ferry\""));
    d.wait_status("/tags/ferry/rss.xml", 200);
    let (etag, modified) = validators("/tags/");
    assert_ne!(etag, tags.0);
    let parse = |s: &str| httpdate::parse_http_date(s).unwrap();
    assert!(
        parse(&modified) > parse(&tags.1),
        "{modified} after {}",
        tags.1
    );
    assert_eq!(validators("/authors/"), authors);
}
