//! Article pages, as a reader meets them over HTTP: one HTML
//! page per published article whose permalink lies under `site.base_url`,
//! at the permalink's path; none for permalinks elsewhere, drafts or
//! articles not yet due; rendered again while held when the article
//! changes; one page for two articles sharing a permalink (and a warning
//! for each); the feeds' caching and compression; feeds and index pages
//! winning their own paths; and `herald build` writing the same bytes.

mod support;

use std::collections::BTreeSet;

use support::*;

/// `site.title` of every test site here.
const TITLE: &str = "港城新聞 Harbour City News";
/// `site.base_url` of every test site here: permalinks start with it.
const BASE: &str = "https://feeds.harbour.example";
/// `site.author`: the fallback name, shown but never linked.
const SITE_AUTHOR: &str = "港城新聞網";
/// `site.language`.
const LANGUAGE: &str = "zh-TW";
/// The three feed files of a category, in `feeds.formats` order.
const FEED_FILES: [&str; 3] = ["rss.xml", "atom.xml", "feed.json"];
/// The RSS `content:encoded` namespace.
const CONTENT_NS: &str = "http://purl.org/rss/1.0/modules/content/";

/// A site with [`TITLE`], [`BASE`], [`SITE_AUTHOR`] and [`LANGUAGE`], a
/// 50 ms debounce, and `site_extra` as more lines of its `[site]` table
/// (`site.link` is unset unless `site_extra` sets it).
fn site_with(site_extra: &str) -> Site {
    Site::with_config(&format!(
        "[site]\ntitle = \"{TITLE}\"\nbase_url = \"{BASE}\"\nauthor = \"{SITE_AUTHOR}\"\n\
         language = \"{LANGUAGE}\"\nid_authority = \"harbour.example\"\n{site_extra}\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\n\
         [content]\ndir = \"../content\"\ndebounce_ms = 50\n"
    ))
}

/// A Markdown article with TOML front matter: `title`, `date`, then the
/// front-matter lines `extra`, then `body`.
fn md_body(title: &str, date: &str, extra: &str, body: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = \"{date}\"\n{extra}\n+++\n{body}\n")
}

/// [`md_body`] with the body `Body of <title>.`.
fn md(title: &str, date: &str, extra: &str) -> String {
    md_body(title, date, extra, &format!("Body of {title}."))
}

/// The path of a URL under [`BASE`] (`None` for one elsewhere).
fn local_path(url: &str) -> Option<&str> {
    url.strip_prefix(BASE).filter(|p| p.starts_with('/'))
}

/// A percent-encoded path, decoded to UTF-8 (the raw request target).
fn decoded(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .unwrap_or_else(|e| panic!("{path}: not UTF-8 once decoded: {e}"))
        .into_owned()
}

/// The newsroom of these tests: TOML and YAML front matter, a plain-text
/// export with a byline, a Chinese category, a nested folder, a file at
/// the top level, a title that needs escaping, a body with a script, an
/// article `lang` and an invalid one, and a draft.
const NEWSROOM: &[(&str, &str)] = &[
    (
        "politics/council-vote.md",
        "+++\ntitle = \"Council approves harbour budget\"\n\
         date = 2025-03-10T09:30:00+08:00\nlang = \"en\"\n\
         authors = [\"Mei Lin\", \"Tom Baker\"]\ntags = [\"Budget\", \"council\"]\n+++\n\
         The council voted **23 to 4** for the harbour budget.\n\n\
         <script>alert(\"pwned\")</script>\n\nDebate resumes [next week](https://www.harbour.example/agenda).\n",
    ),
    (
        "politics/old-hall.md",
        "---\ntitle: Q&A on the <old> town hall\ndate: 2025-02-01 10:00\nauthor: Zhou Wen\n\
         lang: not a language tag!\ntags:\n  - heritage\n---\n\
         The restored hall opens to visitors in May.\n",
    ),
    (
        "社会/bus-routes.txt",
        "公交線路(xiàn)調整\n三條線路延伸至新區\n\
         市交通局宣布,自4月1日起,5路、12路和K3路公交延伸至東部新區。\n\
         調整後新區居民可直達火車站和市立醫院。\n記者 陳靜\n2025-03-12 14:20:00\n\
         2025-03-12 14:00:00\n港城新聞網 版權所有\n",
    ),
    (
        "社会/library.md",
        "+++\ntitle = \"新圖書館開放夜間閱覽\"\ndate = \"2025-03-10T09:30:00+08:00\"\n\
         author = \"李華\"\ntags = [\"圖書館\"]\n+++\n市圖書館自本週起延長開放時間至晚上十點。\n",
    ),
    (
        "culture/2025/03/opera.md",
        "+++\ntitle = \"Opera night at the harbour\"\ndate = \"2025-03-11 20:00\"\n\
         author = \"Ana Souza\"\n+++\nA sold-out night.\n",
    ),
    (
        "about.md",
        "+++\ntitle = \"About this feed\"\ndate = \"2025-01-01\"\n+++\n\
         Harbour City News publishes city news.\n",
    ),
    (
        "politics/unfinished.md",
        "+++\ntitle = \"Unfinished\"\ndate = \"2025-03-12 10:00\"\ndraft = true\n+++\nNot yet.\n",
    ),
];

/// The titles of [`NEWSROOM`]'s published articles.
const NEWSROOM_TITLES: [&str; 6] = [
    "Council approves harbour budget",
    "Q&A on the <old> town hall",
    "公交線路(xiàn)調整",
    "新圖書館開放夜間閱覽",
    "Opera night at the harbour",
    "About this feed",
];

fn write_newsroom(site: &Site) {
    for (rel, text) in NEWSROOM {
        site.write(rel, text);
    }
}

/// One RSS item: title, link, `content:encoded`.
#[derive(Debug, Clone)]
struct Item {
    title: String,
    link: String,
    content: String,
}

/// The items of the RSS feed at `path`.
fn rss_items(d: &Daemon, path: &str) -> Vec<Item> {
    let r = d.get_ok(path).unwrap();
    let doc = roxmltree::Document::parse(r.text()).unwrap_or_else(|e| panic!("{path}: {e}"));
    doc.descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|item| {
            let child = |name: (&str, &str)| {
                item.children()
                    .find(|c| {
                        c.tag_name().name() == name.1
                            && c.tag_name().namespace().unwrap_or("") == name.0
                    })
                    .and_then(|c| c.text())
                    .unwrap_or_default()
                    .to_string()
            };
            Item {
                title: child(("", "title")),
                link: child(("", "link")),
                content: child((CONTENT_NS, "encoded")),
            }
        })
        .collect()
}

/// The text of the first `<tag>…</tag>` in `html`, HTML-unescaped.
fn element_text(html: &str, tag: &str) -> Option<String> {
    let re = regex::Regex::new(&format!(r"(?is)<{tag}(?:\s[^>]*)?>(.*?)</{tag}>")).unwrap();
    re.captures(html)
        .map(|c| html_escape::decode_html_entities(&c[1]).trim().to_string())
}

/// Every `href` value in `html` (any element), HTML-unescaped.
fn hrefs(html: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"(?i)\shref\s*=\s*"([^"]*)""#).unwrap();
    re.captures_iter(html)
        .map(|c| html_escape::decode_html_entities(&c[1]).into_owned())
        .collect()
}

/// The `href` of every `<link rel=…>` in `html` with this `rel`.
fn link_rel(html: &str, rel: &str) -> Vec<String> {
    tags(html, "link")
        .into_iter()
        .filter(|l| l.get("rel").map(String::as_str) == Some(rel))
        .filter_map(|l| l.get("href").cloned())
        .collect()
}

/// The `href` of every `<a>` in `html`.
fn anchors(html: &str) -> Vec<String> {
    tags(html, "a")
        .into_iter()
        .filter_map(|a| a.get("href").cloned())
        .collect()
}

/// The `lang` of the `<html>` element.
fn html_lang(html: &str) -> Option<String> {
    tags(html, "html").first()?.get("lang").cloned()
}

/// The page at `path` answering 200, as text.
fn page(d: &Daemon, path: &str) -> String {
    let r = d.get(path);
    assert_eq!(r.status, 200, "GET {path}");
    assert_eq!(
        r.header("content-type"),
        "text/html; charset=utf-8",
        "GET {path}"
    );
    r.text().to_string()
}

/// What is wrong with the shape of an HTML5 document, by plain string
/// checks: the doctype first, one `<html>` closed at the end, one `<head>`
/// before one `<body>`, and `<article>` balanced.
fn structure_problems(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    if !lower.starts_with("<!doctype html>") {
        out.push(format!(
            "does not start with <!DOCTYPE html>: {:?}",
            &html[..html.len().min(40)]
        ));
    }
    let count = |needle: &str| regex::Regex::new(needle).unwrap().find_iter(&lower).count();
    for (open, close) in [
        (r"<html[\s>]", "</html>"),
        (r"<head[\s>]", "</head>"),
        (r"<body[\s>]", "</body>"),
    ] {
        let (o, c) = (count(open), lower.matches(close).count());
        if o != 1 || c != 1 {
            out.push(format!(
                "{o} opening {open:?} and {c} {close}, want one each"
            ));
        }
    }
    if !lower.trim_end().ends_with("</html>") {
        out.push("does not end with </html>".into());
    }
    let (head, body) = (lower.find("<head"), lower.find("<body"));
    if !matches!((head, body), (Some(h), Some(b)) if h < b) {
        out.push("<head> does not come before <body>".into());
    }
    let (o, c) = (count(r"<article[\s>]"), lower.matches("</article>").count());
    if o != c || o == 0 {
        out.push(format!("{o} <article> and {c} </article>"));
    }
    out
}

// ------------------------------------------------------------------ tests

#[test]
fn every_published_article_has_a_page_at_its_feed_link_whose_links_all_answer() {
    let site = site_with("");
    write_newsroom(&site);
    let d = Daemon::start(&site.config);

    let items = rss_items(&d, "/rss.xml");
    let mut titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
    titles.sort_unstable();
    let mut want = NEWSROOM_TITLES.to_vec();
    want.sort_unstable();
    assert_eq!(titles, want, "the site feed lists every published article");

    let mut checked_links = BTreeSet::new();
    for item in &items {
        let t = &item.title;
        let path = local_path(&item.link)
            .unwrap_or_else(|| panic!("{t}: link {} is not under {BASE}", item.link));
        let html = page(&d, path);
        let what = format!("{t} (GET {path})");

        assert!(
            structure_problems(&html).is_empty(),
            "{what}: {:?}",
            structure_problems(&html)
        );
        assert_eq!(
            link_rel(&html, "canonical"),
            std::slice::from_ref(&item.link),
            "{what}: canonical link"
        );
        assert_eq!(
            element_text(&html, "title").as_deref(),
            Some(format!("{t} - {TITLE}").as_str()),
            "{what}: <title>"
        );
        assert_eq!(
            element_text(&html, "h1").as_deref(),
            Some(t.as_str()),
            "{what}: <h1>"
        );
        let datetime = tags(&html, "time")
            .first()
            .and_then(|t| t.get("datetime").cloned())
            .unwrap_or_else(|| panic!("{what}: no <time datetime>"));
        chrono::DateTime::parse_from_rfc3339(&datetime)
            .unwrap_or_else(|e| panic!("{what}: <time datetime={datetime:?}>: {e}"));
        assert!(
            html.contains(item.content.trim()),
            "{what}: the body is not as the feed's content:encoded carries it:\n\
             feed: {}\npage:\n{html}",
            item.content
        );
        assert!(
            !html.to_ascii_lowercase().contains("<script"),
            "{what}: a <script> in the page:\n{html}"
        );

        // Breadcrumb: the site index, and the category page when there is one.
        let links = anchors(&html);
        assert!(
            links.contains(&format!("{BASE}/")),
            "{what}: no link to {BASE}/ in {links:?}"
        );
        let category = path[1..].split_once('/').map(|(c, _)| decoded(c));
        let feed_dir = match &category {
            Some(c) => {
                let cat_page = format!("{BASE}/{}/", pct(c));
                assert!(
                    links.contains(&cat_page),
                    "{what}: no link to its category page {cat_page} in {links:?}"
                );
                cat_page
            }
            None => format!("{BASE}/"),
        };
        let alternates: BTreeSet<String> = link_rel(&html, "alternate").into_iter().collect();
        let feeds: BTreeSet<String> = FEED_FILES
            .iter()
            .map(|f| format!("{feed_dir}{f}"))
            .collect();
        assert_eq!(alternates, feeds, "{what}: autodiscovery links");
        // Named as the feeds they point to are (not as the article).
        let feeds_title = match &category {
            Some(c) => format!("{c} - {TITLE}"),
            None => TITLE.to_string(),
        };
        for link in tags(&html, "link") {
            if link.get("rel").map(String::as_str) == Some("alternate") && link.contains_key("type")
            {
                let title = link.get("title").cloned().unwrap_or_default();
                assert!(
                    title.starts_with(&format!("{feeds_title} (")),
                    "{what}: autodiscovery title {title:?}, want {feeds_title:?} (…)"
                );
            }
        }

        // Every link under base_url answers.
        for href in hrefs(&html) {
            let Some(p) = local_path(&href) else { continue };
            if checked_links.insert(p.to_string()) {
                let r = d.get(p);
                assert_eq!(r.status, 200, "{what} links {href}: GET {p}");
            }
        }

        // The raw UTF-8 path is the same page.
        let raw = raw_get(d.addr, decoded(path).as_bytes());
        assert_eq!(
            raw.status,
            200,
            "{what}: GET {} (raw UTF-8): {}",
            decoded(path),
            raw.status_line
        );
        assert!(
            raw.body == html.as_bytes(),
            "{what}: the raw UTF-8 path serves other bytes"
        );
    }

    // Paths as the default article_url makes them, Chinese percent-encoded.
    let paths: BTreeSet<&str> = items.iter().filter_map(|i| local_path(&i.link)).collect();
    let want: BTreeSet<String> = [
        "/politics/council-vote.html".to_string(),
        "/politics/old-hall.html".into(),
        format!("/{}/bus-routes.html", pct("社会")),
        format!("/{}/library.html", pct("社会")),
        "/culture/opera.html".into(),
        "/about.html".into(),
    ]
    .into();
    assert_eq!(
        paths,
        want.iter().map(String::as_str).collect(),
        "page paths"
    );

    // The details of single pages.
    let vote = page(&d, "/politics/council-vote.html");
    assert_eq!(html_lang(&vote).as_deref(), Some("en"), "article lang");
    let vote_links: BTreeSet<String> = anchors(&vote).into_iter().collect();
    for want in [
        format!("{BASE}/authors/mei-lin/"),
        format!("{BASE}/authors/tom-baker/"),
        format!("{BASE}/tags/budget/"),
        format!("{BASE}/tags/council/"),
    ] {
        assert!(
            vote_links.contains(&want),
            "council-vote: no link {want} in {vote_links:?}"
        );
    }
    assert!(vote.contains("<strong>23 to 4</strong>"), "{vote}");

    let hall = page(&d, "/politics/old-hall.html");
    assert_eq!(
        html_lang(&hall).as_deref(),
        Some(LANGUAGE),
        "an invalid article lang gives the site's"
    );
    assert!(
        hall.contains("Q&amp;A on the &lt;old&gt; town hall"),
        "old-hall: the title is not escaped:\n{hall}"
    );
    let hall_time = tags(&hall, "time")[0]["datetime"].clone();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&hall_time).unwrap(),
        at("2025-02-01T10:00:00+08:00"),
        "old-hall: <time datetime> (site zone Asia/Shanghai)"
    );

    let bus = page(&d, &format!("/{}/bus-routes.html", pct("社会")));
    assert!(
        anchors(&bus).contains(&format!("{BASE}/authors/{}/", pct("陳靜"))),
        "bus-routes: the byline's author is not linked: {:?}",
        anchors(&bus)
    );

    let about = page(&d, "/about.html");
    assert_eq!(html_lang(&about).as_deref(), Some(LANGUAGE));
    assert!(
        about.contains(SITE_AUTHOR),
        "about: the fallback author is not shown:\n{about}"
    );
    assert!(
        !about.contains("/authors/"),
        "about: the fallback author is linked:\n{about}"
    );
}

#[test]
fn permalinks_on_another_host_have_no_page_and_a_relative_link_has_one_at_its_path() {
    // site.link on another host: every permalink is there, no page here.
    let site = site_with("link = \"https://www.harbour.example\"");
    write_newsroom(&site);
    let d = Daemon::start(&site.config);
    let items = rss_items(&d, "/rss.xml");
    assert_eq!(items.len(), NEWSROOM_TITLES.len());
    for item in &items {
        let path = item
            .link
            .strip_prefix("https://www.harbour.example")
            .unwrap_or_else(|| panic!("{}: link {}", item.title, item.link));
        d.assert_404(path);
        let raw = raw_get(d.addr, decoded(path).as_bytes());
        assert_eq!(raw.status, 404, "GET {} (raw)", decoded(path));
    }
    assert_eq!(d.get("/").status, 200);
    drop(d);

    // Front-matter links: another host (none), relative (made absolute
    // against site.link, which defaults to base_url).
    let site = site_with("");
    site.write(
        "politics/wire.md",
        &md(
            "Wire copy",
            "2025-03-01 09:00",
            "link = \"https://elsewhere.example/a\"",
        ),
    );
    site.write(
        "politics/moved.md",
        &md("Moved story", "2025-03-02 09:00", "link = \"/news/a.html\""),
    );
    site.write(
        "politics/plain.md",
        &md("Plain story", "2025-03-03 09:00", ""),
    );
    let d = Daemon::start(&site.config);
    let links: Vec<(String, String)> = rss_items(&d, "/politics/rss.xml")
        .into_iter()
        .map(|i| (i.title, i.link))
        .collect();
    assert_eq!(
        links,
        [
            ("Plain story".into(), format!("{BASE}/politics/plain.html")),
            ("Moved story".into(), format!("{BASE}/news/a.html")),
            ("Wire copy".into(), "https://elsewhere.example/a".into()),
        ],
        "permalinks in /politics/rss.xml"
    );
    for path in ["/a", "/politics/wire.html", "/politics/moved.html"] {
        d.assert_404(path);
    }
    let moved = page(&d, "/news/a.html");
    assert_eq!(element_text(&moved, "h1").as_deref(), Some("Moved story"));
    assert_eq!(
        link_rel(&moved, "canonical"),
        [format!("{BASE}/news/a.html")]
    );
    assert_eq!(
        element_text(&page(&d, "/politics/plain.html"), "h1").as_deref(),
        Some("Plain story")
    );
}

#[test]
fn drafts_have_no_page_and_an_embargoed_article_gets_one_when_its_date_comes() {
    let site = site_with("");
    site.write(
        "city/published.md",
        &md("Published", "2025-03-01 09:00", ""),
    );
    site.write(
        "city/draft.md",
        &md("Draft", "2025-03-02 09:00", "draft = true"),
    );
    let due = "2026-01-01T00:00:10Z";
    site.write("city/future.md", &md("Embargoed", due, ""));
    let clock = Clock::manual(at("2026-01-01T00:00:00Z"));
    let d = Daemon::start_with(&site.config, |o| o.clock = clock.clone());

    assert!(!page(&d, "/city/published.html").is_empty());
    for path in ["/city/draft.html", "/city/future.html"] {
        d.assert_404(path);
    }
    assert_eq!(d.titles("/city/rss.xml").unwrap(), ["Published"]);

    // Its date comes, with no file event: its page appears.
    clock.set(at(due));
    let r = d.wait_status("/city/future.html", 200);
    assert_eq!(
        element_text(r.text(), "h1").as_deref(),
        Some("Embargoed"),
        "{}",
        r.text()
    );
    d.assert_404("/city/draft.html");
}

#[test]
fn editing_an_article_renders_its_page_again_and_deleting_it_removes_the_page() {
    let site = site_with("");
    site.write(
        "politics/vote.md",
        &md("Council vote tonight", "2025-03-01 09:00", ""),
    );
    site.write(
        "politics/other.md",
        &md("Another story", "2025-03-02 09:00", ""),
    );
    let d = Daemon::start_watching(&site);
    let path = "/politics/vote.html";
    // Rendered on this request, and held from now on.
    let before = page(&d, path);
    assert_eq!(
        element_text(&before, "h1").as_deref(),
        Some("Council vote tonight")
    );
    let etag = d.get(path).header("etag").to_string();

    site.atomic_save(
        "politics/vote.md",
        &md_body(
            "Council vote postponed",
            "2025-03-01 09:00",
            "tags = [\"council\"]",
            "The vote moves to Friday.",
        ),
    );
    let after = eventually("the page to show the new title", DEADLINE, || {
        let html = d.get_ok(path)?.text().to_string();
        (element_text(&html, "h1").as_deref() == Some("Council vote postponed"))
            .then_some(html.clone())
            .ok_or(html)
    });
    assert_eq!(
        element_text(&after, "title").as_deref(),
        Some(format!("Council vote postponed - {TITLE}").as_str())
    );
    assert!(after.contains("The vote moves to Friday."), "{after}");
    assert!(anchors(&after).contains(&format!("{BASE}/tags/council/")));
    assert_ne!(d.get(path).header("etag"), etag, "the ETag changed");

    std::fs::remove_file(site.path("politics/vote.md")).unwrap();
    d.wait_status(path, 404);
    let raw = raw_get(d.addr, path.as_bytes());
    assert_eq!(raw.status, 404, "GET {path} (raw) after the delete");
    assert_eq!(
        element_text(&page(&d, "/politics/other.html"), "h1").as_deref(),
        Some("Another story")
    );
}

#[test]
fn of_two_articles_with_one_permalink_the_earlier_path_has_the_page_and_check_warns_both() {
    let site = site_with("");
    let (first, second) = ("politics/a/first.md", "politics/b/second.md");
    // The later path is newer and written first (older mtime), so only
    // the path order picks the earlier path.
    site.write(
        second,
        &md("From folder b", "2025-03-05 09:00", "slug = \"shared\""),
    );
    site.write(
        first,
        &md("From folder a", "2025-03-01 09:00", "slug = \"shared\""),
    );
    let d = Daemon::start(&site.config);
    let links = rss_items(&d, "/politics/rss.xml");
    assert!(
        links
            .iter()
            .all(|i| i.link == format!("{BASE}/politics/shared.html")),
        "both share the permalink: {links:?}"
    );
    let html = page(&d, "/politics/shared.html");
    assert_eq!(
        element_text(&html, "h1").as_deref(),
        Some("From folder a"),
        "the earlier path's article has the page"
    );
    drop(d);

    let run = check(&site.config);
    for (rel, other) in [(first, second), (second, first)] {
        let warnings: Vec<Diag> = diags_for(&run.stdout, rel)
            .into_iter()
            .chain(diags_for(&run.stderr, rel))
            .filter(|w| w.severity == "warning")
            .collect();
        assert!(
            !warnings.is_empty(),
            "herald check: no warning naming {rel}:\n{}",
            run.printed()
        );
        let other_name = other.rsplit('/').next().unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.message.contains(other_name)
                    || w.message.contains("/politics/shared.html")),
            "herald check: the warning for {rel} names neither {other} nor the page: {warnings:?}"
        );
    }
}

#[test]
fn spellings_of_one_tag_or_author_are_one_link_on_the_article_page() {
    let site = site_with("");
    site.write(
        "politics/ev.md",
        &md(
            "Chargers",
            "2025-03-01 09:00",
            "tags = [\"ev\", \"EV\", \"Ev\", \"grid\"]\nauthors = [\"Mei Lin\", \"MEI  LIN\"]",
        ),
    );
    let d = Daemon::start(&site.config);
    let html = page(&d, "/politics/ev.html");
    let links = anchors(&html);
    for (href, n) in [
        (format!("{BASE}/tags/ev/"), 1),
        (format!("{BASE}/tags/grid/"), 1),
        (format!("{BASE}/authors/mei-lin/"), 1),
    ] {
        assert_eq!(
            links.iter().filter(|l| **l == href).count(),
            n,
            "{href} in {links:?}"
        );
    }
    // The first spelling is shown.
    assert!(
        html.contains(">ev</a>") && !html.contains(">EV</a>"),
        "{html}"
    );
}

#[test]
fn article_pages_hold_nothing_html_forbids_whatever_the_article_holds() {
    // What the W3C Nu checker refused on pages herald rendered: controls
    // and noncharacters from front matter, entities or bylines; a
    // `<time datetime>` with six digits of a fraction (or a second 60);
    // `rel` on a link whose refused URL was removed; an image without
    // a source.
    let site = site_with("");
    site.write(
        "politics/odd.md",
        &md_body(
            "Odd\\u0080 title\\uFDD0",
            "2025-05-01T10:00:00.123456+08:00",
            "tags = [\"tag\\u0000nul\", \"del\\u007F\", \"\\u0080\\u0001\"]\nauthors = [\"Mei\\u009F Lin\"]",
            "A &#128; sign, &#xFFFF;.\n\n<p>Call <a href=\"javascript:go()\">us</a>.</p>\n\n\
             ![map](javascript:x) and [home](javascript:y).",
        ),
    );
    site.write("politics/leap.md", &md("Leap", "2016-12-31T23:59:60Z", ""));
    let d = Daemon::start(&site.config);
    let forbidden = |c: char| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}')
            || matches!(c, '\u{7F}'..='\u{9F}' | '\u{FDD0}'..='\u{FDEF}')
            || u32::from(c) & 0xFFFE == 0xFFFE
    };
    let odd = page(&d, "/politics/odd.html");
    let leap = page(&d, "/politics/leap.html");
    for (path, html) in [
        ("/politics/odd.html", &odd),
        ("/politics/leap.html", &leap),
        ("/politics/", &page(&d, "/politics/")),
        ("/tags/", &page(&d, "/tags/")),
        ("/", &page(&d, "/")),
    ] {
        let bad: Vec<char> = html.chars().filter(|&c| forbidden(c)).collect();
        assert!(bad.is_empty(), "{path} holds {bad:?}:\n{html}");
    }
    assert!(odd.contains("<h1>Odd title</h1>"), "{odd}");
    // A name of nothing but such characters names no term.
    let tags = page(&d, "/tags/");
    assert!(!tags.contains("/tags//"), "{tags}");
    assert!(!odd.contains("/tags//"), "{odd}");
    assert!(
        odd.contains("<time datetime=\"2025-05-01T10:00:00+08:00\">"),
        "{odd}"
    );
    assert!(
        leap.contains("<time datetime=\"2016-12-31T23:59:59Z\">"),
        "{leap}"
    );
    assert!(odd.contains("Call <a>us</a>."), "{odd}");
    assert!(odd.contains("<p>map and home.</p>"), "{odd}");
    // The names' links lead to their pages and feeds.
    let links = anchors(&odd);
    for href in [
        format!("{BASE}/tags/tagnul/"),
        format!("{BASE}/tags/del/"),
        format!("{BASE}/authors/mei-lin/"),
    ] {
        assert!(links.contains(&href), "{href} not in {links:?}");
        let path = local_path(&href).unwrap();
        page(&d, path);
        assert_eq!(
            d.get(&format!("{path}rss.xml")).status,
            200,
            "{path}rss.xml"
        );
    }
}

#[test]
fn the_daemon_warns_of_a_shared_permalink_at_start_and_when_a_file_makes_one() {
    let site = site_with("");
    let (first, second, third) = (
        "politics/a/first.md",
        "politics/b/second.md",
        "politics/c/third.md",
    );
    let shared = |title: &str| md(title, "2025-03-01 09:00", "slug = \"shared\"");
    site.write(first, &shared("From folder a"));
    site.write(second, &shared("From folder b"));
    site.write("politics/other.md", &md("Other", "2025-03-02 09:00", ""));
    let d = Daemon::spawn_watching(&site);
    // A warning line naming `rel` that says its page is shared with `other`.
    let warned = |rel: &str, other: &str| {
        let log = d.log();
        log.lines().any(|l| {
            l.contains("WARN")
                && l.contains(&*site.path(rel).to_string_lossy())
                && l.contains("/politics/shared.html")
                && l.contains(other)
        })
    };
    eventually("both files warned of at start", DEADLINE, || {
        (warned(first, second) && warned(second, first))
            .then_some(())
            .ok_or(d.log())
    });
    let at_start = d.log_count("also the permalink of");
    assert_eq!(at_start, 2, "one warning each:\n{}", d.log());

    // A third file takes the permalink too: it and the page's owner are
    // warned of; the pair that was there already is not said again.
    site.write(third, &shared("From folder c"));
    eventually("the new sharer warned of", DEADLINE, || {
        (warned(third, first) && warned(first, third))
            .then_some(())
            .ok_or(d.log())
    });
    assert_eq!(
        d.log_count("also the permalink of"),
        at_start + 2,
        "{}",
        d.log()
    );
    // An edit elsewhere says nothing of them.
    site.write(
        "politics/other.md",
        &md("Other, edited", "2025-03-02 09:00", ""),
    );
    d.wait_title("/politics/rss.xml", "Other, edited", true, DEADLINE);
    assert_eq!(
        d.log_count("also the permalink of"),
        at_start + 2,
        "{}",
        d.log()
    );
}

#[test]
fn article_pages_have_etags_conditional_requests_compression_and_head_like_the_feeds() {
    let site = site_with("");
    write_newsroom(&site);
    let d = Daemon::start(&site.config);
    let c = client();
    let feed = c.get(&d.url("/politics/rss.xml"));
    assert_eq!(feed.status, 200);

    for path in [
        "/politics/council-vote.html".to_string(),
        format!("/{}/library.html", pct("社会")),
    ] {
        let url = d.url(&path);
        let r = c.get(&url);
        assert_eq!(r.status, 200, "GET {path}");
        let etag = r.header("etag").to_string();
        assert!(
            etag.starts_with('"') || etag.starts_with("W/\""),
            "GET {path}: ETag {etag:?}"
        );
        assert_eq!(
            r.opt_header("cache-control"),
            feed.opt_header("cache-control"),
            "GET {path}: Cache-Control as the feeds'"
        );
        assert!(r.opt_header("cache-control").is_some(), "GET {path}");

        let again = c.get_with(&url, &[("if-none-match", &etag)]);
        assert_eq!(again.status, 304, "GET {path} with If-None-Match {etag}");
        assert!(again.body.is_empty(), "GET {path}: 304 with a body");
        assert_eq!(again.opt_header("etag"), Some(etag.as_str()));
        let other = c.get_with(&url, &[("if-none-match", "\"something-else\"")]);
        assert_eq!(other.status, 200, "GET {path} with another ETag");

        // Compressed variants appear shortly after the first request.
        let gz = eventually(&format!("a gzip variant of {path}"), DEADLINE, || {
            let g = c.get_with(&url, &[("accept-encoding", "gzip")]);
            if g.status == 200 && g.opt_header("content-encoding") == Some("gzip") {
                Ok(g)
            } else {
                Err(format!("{} {:?}", g.status, g.headers))
            }
        });
        assert!(
            gunzip(&gz.body) == r.body,
            "GET {path}: gunzipped body differs from identity"
        );
        assert!(
            gz.opt_header("vary")
                .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
            "GET {path} gzip: Vary {:?}",
            gz.opt_header("vary")
        );
        let br = eventually(&format!("a br variant of {path}"), DEADLINE, || {
            let b = c.get_with(&url, &[("accept-encoding", "br")]);
            if b.status == 200 && b.opt_header("content-encoding") == Some("br") {
                Ok(b)
            } else {
                Err(format!("{} {:?}", b.status, b.headers))
            }
        });
        assert!(
            unbrotli(&br.body) == r.body,
            "GET {path}: un-brotli'd body differs from identity"
        );
        let gz_304 = c.get_with(
            &url,
            &[
                ("accept-encoding", "gzip"),
                ("if-none-match", gz.header("etag")),
            ],
        );
        assert_eq!(gz_304.status, 304, "GET {path} gzip with its ETag");

        let head = c.send(Method::HEAD, &url, &[]);
        assert_eq!(head.status, 200, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has a body");
        assert_eq!(head.opt_header("etag"), Some(etag.as_str()), "HEAD {path}");
        assert_eq!(
            head.opt_header("content-type"),
            Some("text/html; charset=utf-8")
        );
        if let Some(len) = head.opt_header("content-length") {
            assert_eq!(len, r.body.len().to_string(), "HEAD {path}: Content-Length");
        }
    }
}

#[test]
fn herald_build_writes_every_article_page_as_the_daemon_serves_it() {
    let site = site_with("");
    write_newsroom(&site);
    let out = site.root.join("out");
    site.build(&out);
    let d = Daemon::start(&site.config);

    let want: BTreeSet<String> = rss_items(&d, "/rss.xml")
        .iter()
        .map(|i| decoded(&local_path(&i.link).unwrap()[1..]))
        .collect();
    assert!(want.contains("社会/library.html"), "{want:?}");
    let files: BTreeSet<String> = pages_under(&out)
        .into_iter()
        .filter(|f| f.ends_with(".html") && !f.ends_with("index.html"))
        .collect();
    assert_eq!(
        files,
        want,
        "article pages built: missing {:?}, unexpected {:?}",
        want.difference(&files).collect::<Vec<_>>(),
        files.difference(&want).collect::<Vec<_>>()
    );
    assert!(
        !files_under(&out).iter().any(|f| f.contains('%')),
        "a percent-encoded file name: {:?}",
        files_under(&out)
    );

    d.assert_serves_built(&out, &files);
}

/// A category with a story, and two articles whose front-matter links
/// claim its feed's and its page's paths.
fn write_squatters(site: &Site) {
    site.write(
        "politics/real.md",
        &md("Real politics story", "2025-03-01 09:00", ""),
    );
    site.write(
        "politics/squatter.md",
        &md(
            "Squatting the feed",
            "2025-03-02 09:00",
            "link = \"/politics/rss.xml\"",
        ),
    );
    site.write(
        "politics/index-squatter.md",
        &md(
            "Squatting the index",
            "2025-03-03 09:00",
            "link = \"/politics/\"",
        ),
    );
}

/// Whether `body` is the politics RSS feed.
fn is_politics_feed(body: &[u8]) -> Result<(), String> {
    let titles = rss_titles(body).map_err(|e| format!("{e}: {}", lossy(body)))?;
    titles
        .contains(&"Real politics story".to_string())
        .then_some(())
        .ok_or(format!("{titles:?}"))
}

/// Whether `html` is the politics category page.
fn is_politics_index(html: &str) -> Result<(), String> {
    let h1 = element_text(html, "h1").unwrap_or_default();
    (html.contains("Real politics story") && !h1.starts_with("Squatting"))
        .then_some(())
        .ok_or_else(|| html.to_string())
}

/// Asserts `/politics/rss.xml` and `/politics/` are the feed and the page
/// (reporting both when both are not).
fn assert_feed_and_index_win(d: &Daemon, when: &str) {
    let mut problems = Vec::new();
    let feed = d.get("/politics/rss.xml");
    if feed.status != 200 {
        problems.push(format!("GET /politics/rss.xml: status {}", feed.status));
    } else if let Err(e) = is_politics_feed(&feed.body) {
        problems.push(format!("GET /politics/rss.xml is not the feed: {e}"));
    }
    let index = d.get("/politics/");
    if index.status != 200 {
        problems.push(format!("GET /politics/: status {}", index.status));
    } else if let Err(e) = is_politics_index(index.text()) {
        problems.push(format!(
            "GET /politics/ is not the category page: {}",
            lossy(e.as_bytes())
        ));
    }
    assert!(problems.is_empty(), "{when}:\n{}", problems.join("\n"));
}

#[test]
fn a_feed_or_index_page_wins_over_an_article_page_at_the_same_path_while_serving() {
    let site = site_with("");
    write_squatters(&site);
    let d = Daemon::start_watching(&site);
    assert_feed_and_index_win(&d, "at start");

    // Editing the articles that claim those paths does not replace them.
    site.atomic_save(
        "politics/squatter.md",
        &md(
            "Squatting the feed again",
            "2025-03-02 09:00",
            "link = \"/politics/rss.xml\"",
        ),
    );
    site.atomic_save(
        "politics/index-squatter.md",
        &md(
            "Squatting the index again",
            "2025-03-03 09:00",
            "link = \"/politics/\"",
        ),
    );
    d.wait_title("/rss.xml", "Squatting the feed again", true, DEADLINE);
    d.wait_title("/rss.xml", "Squatting the index again", true, DEADLINE);
    assert_feed_and_index_win(&d, "after editing the articles");

    // Nor does deleting them remove the feed or the page.
    std::fs::remove_file(site.path("politics/squatter.md")).unwrap();
    std::fs::remove_file(site.path("politics/index-squatter.md")).unwrap();
    d.wait_title("/rss.xml", "Squatting the feed again", false, DEADLINE);
    d.wait_title("/rss.xml", "Squatting the index again", false, DEADLINE);
    assert_feed_and_index_win(&d, "after deleting the articles");
}

#[test]
fn tag_and_author_pages_win_over_articles_whose_links_claim_their_paths() {
    let site = site_with("");
    site.write(
        "politics/real.md",
        &md(
            "Real EV story",
            "2025-03-01 09:00",
            "tags = [\"EV\"]\nauthor = \"Jane Doe\"",
        ),
    );
    let squat =
        |title: &str, link: &str| md(title, "2025-03-02 09:00", &format!("link = \"{link}\""));
    let squatters = [
        ("politics/s1.md", "/tags/ev/"),
        ("politics/s2.md", "/tags/"),
        ("politics/s3.md", "/authors/jane-doe/"),
        ("politics/s4.md", "/tags/ev"),
        ("politics/s5.md", "/tags/EV/"),
        ("politics/s6.md", "/authors/JANE-DOE/"),
    ];
    // Each term page is asked first (so it is held), then the squatters
    // come and are edited: the held pages must not be replaced.
    let d = Daemon::start_watching(&site);
    let is_term_page = |path: &str| {
        let r = d.get(path);
        let h1 = element_text(r.text(), "h1").unwrap_or_default();
        (r.status == 200 && !h1.starts_with("Squat"))
            .then_some(())
            .ok_or(format!("GET {path}: {} {h1:?}", r.status))
    };
    for path in ["/tags/ev/", "/tags/", "/authors/jane-doe/"] {
        is_term_page(path).unwrap();
    }
    for (i, (file, link)) in squatters.iter().enumerate() {
        site.write(file, &squat(&format!("Squat {i}"), link));
    }
    d.wait_title("/rss.xml", "Squat 5", true, DEADLINE);
    for (i, (file, link)) in squatters.iter().enumerate() {
        site.atomic_save(file, &squat(&format!("Squat {i} again"), link));
    }
    d.wait_title("/rss.xml", "Squat 5 again", true, DEADLINE);
    for path in ["/tags/ev/", "/tags/", "/authors/jane-doe/"] {
        is_term_page(path).unwrap();
    }
    // Another spelling of a term's URL is no page, an article's neither.
    d.assert_404("/tags/EV/");
    d.assert_404("/authors/JANE-DOE/");
    assert_eq!(d.get("/tags/ev").status, 301, "the redirect stays herald's");

    // Two articles claiming one route: the warnings say whose page is there.
    site.write("politics/s7.md", &squat("Squat 6", "/tags/"));
    let run = check(&site.config);
    for rel in ["politics/s2.md", "politics/s7.md"] {
        let said: Vec<String> = diags_for(&run.stdout, rel)
            .into_iter()
            .filter(|w| w.message.contains("/tags/"))
            .map(|w| w.message)
            .collect();
        assert!(
            !said.is_empty()
                && said
                    .iter()
                    .all(|m| m.contains("herald's own page is served there")),
            "{rel}: {said:?}\n{}",
            run.printed()
        );
    }

    // herald build writes the term pages there, not the articles.
    let out = site.root.join("out");
    site.build(&out);
    for file in [
        "tags/ev/index.html",
        "tags/index.html",
        "authors/jane-doe/index.html",
    ] {
        let html = std::fs::read_to_string(out.join(file)).unwrap();
        let h1 = element_text(&html, "h1").unwrap_or_default();
        assert!(!h1.starts_with("Squat"), "{file}: {h1:?}");
    }
    assert!(
        !out.join("tags/ev").is_file(),
        "an article page written over the tag's folder"
    );
}

#[test]
fn no_permalink_makes_a_page_outside_the_output_folder_or_over_a_compressed_copy() {
    let site = site_with("");
    site.write(
        "politics/real.md",
        &md("Real story", "2025-03-01 09:00", ""),
    );
    let cases = [
        (
            "politics/t1.md",
            "link = \"/politics/..%2F..%2F..%2Fescaped-link.html\"",
        ),
        ("politics/t2.md", "slug = \"../../../escaped-slug\""),
        ("politics/t3.md", "link = \"/%2Fescaped-root.html\""),
        ("politics/t4.md", "link = \"/politics/rss.xml.gz\""),
        ("politics/t5.md", "link = \"/politics/real.html.br\""),
    ];
    for (i, (file, extra)) in cases.iter().enumerate() {
        site.write(file, &md(&format!("Tricky {i}"), "2025-03-02 09:00", extra));
    }
    let d = Daemon::start(&site.config);
    // Every article is in the feeds, with its permalink as written.
    let titles = rss_titles(&d.get("/politics/rss.xml").body).unwrap();
    assert_eq!(titles.len(), 6, "{titles:?}");
    for path in [
        "/politics/..%2F..%2F..%2Fescaped-link.html",
        "/politics/rss.xml.gz",
        "/politics/real.html.br",
    ] {
        let r = d.get(path);
        assert!(
            r.status == 404 || !r.text().contains("Tricky"),
            "GET {path}: {} {}",
            r.status,
            lossy(&r.body)
        );
    }

    let out = site.root.join("a/b/c/out");
    site.build(&out);
    let escaped: Vec<String> = support::files_under(&site.root)
        .into_iter()
        .filter(|f| f.contains("escaped"))
        .collect();
    assert!(escaped.is_empty(), "written outside or beside: {escaped:?}");
    // The compressed copies are the feed's and the page's, compressed.
    for file in ["politics/rss.xml.gz", "politics/real.html.br"] {
        let bytes = std::fs::read(out.join(file)).unwrap();
        assert!(
            !lossy(&bytes).contains("Tricky"),
            "{file} is an article page"
        );
    }
    let gz = std::fs::read(out.join("politics/rss.xml.gz")).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "politics/rss.xml.gz is gzip");
}

#[test]
fn herald_build_writes_the_feed_and_index_page_where_an_article_claims_their_paths() {
    let site = site_with("");
    write_squatters(&site);
    let out = site.root.join("out");
    site.build(&out);
    let d = Daemon::start(&site.config);
    assert_feed_and_index_win(&d, "served");

    let mut problems = Vec::new();
    for (file, path) in [
        ("politics/rss.xml", "/politics/rss.xml"),
        ("politics/index.html", "/politics/"),
    ] {
        let built = std::fs::read(out.join(file)).unwrap();
        let served = d.get(path).body;
        if built != served {
            problems.push(format!(
                "{file} differs from GET {path}: built {}, served {}",
                lossy(&built),
                lossy(&served)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn article_pages_are_well_formed_html5() {
    let site = site_with("");
    write_newsroom(&site);
    let d = Daemon::start(&site.config);

    let title_re = regex::Regex::new(r"(?i)<title[\s>]").unwrap();
    let h1_re = regex::Regex::new(r"(?i)<h1[\s>]").unwrap();

    let items = rss_items(&d, "/rss.xml");
    assert_eq!(items.len(), NEWSROOM_TITLES.len());
    for item in &items {
        let path = local_path(&item.link).unwrap();
        let html = page(&d, path);
        let problems = structure_problems(&html);
        assert!(problems.is_empty(), "GET {path}: {problems:?}\n{html}");
        let metas = tags(&html, "meta");
        assert!(
            metas.iter().any(|m| m
                .get("charset")
                .is_some_and(|c| c.eq_ignore_ascii_case("utf-8"))),
            "GET {path}: no <meta charset=utf-8>"
        );
        assert_eq!(
            title_re.find_iter(&html).count(),
            1,
            "GET {path}: one <title>"
        );
        assert_eq!(h1_re.find_iter(&html).count(), 1, "GET {path}: one <h1>");
    }
}
