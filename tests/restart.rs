//! Restarts with `content.index_file`: the daemon serves from the index it
//! saved, exactly what reading the tree would give, then applies whatever
//! changed while it was stopped; an index that is damaged, from another
//! config or missing is not used, and nothing is lost.

mod support;

use std::time::Duration;

use support::*;

const INDEX: &str = "index_file = \"../state/index\"";

/// An empty site whose config keeps an index file (in `state/`), with
/// `rest` (other tables) added.
fn indexed_site(rest: &str) -> Site {
    let site = Site::with_config(&config_text("Restart", INDEX, rest));
    std::fs::create_dir_all(site.root.join("state")).unwrap();
    site
}

/// SIGTERM, and a clean exit within 10 s (the index is written then).
fn stop_cleanly(d: Daemon) {
    assert!(d.stop(Duration::from_secs(10)).is_some_and(|s| s.success()));
}

/// The daemon's log says it started from the saved index.
fn assert_from_index(d: &Daemon) {
    assert!(d.log().contains("from=\"saved index\""), "{}", d.log());
}

/// A site with an index file, three articles in two categories and one
/// broken file.
fn site() -> Site {
    let site = indexed_site("");
    site.write("news/one.md", &article("One", "2025-01-01T00:00:00Z"));
    site.write("news/two.md", &article("Two", "2025-01-02T00:00:00Z"));
    site.write("sport/three.md", &article("Three", "2025-01-03T00:00:00Z"));
    site.write(
        "sport/nested/four.md",
        &article("Four", "2025-01-04T00:00:00Z"),
    );
    site.write("news/broken.md", "+++\ntitle = \n+++\nno title\n");
    site
}

const PAGES: &[&str] = &[
    "/rss.xml",
    "/atom.xml",
    "/feed.json",
    "/news/rss.xml",
    "/sport/atom.xml",
    "/",
    "/feeds.opml",
    "/tags/",
];

/// The body and ETag of every page of [`PAGES`].
fn pages(d: &Daemon) -> Vec<(String, Vec<u8>, String)> {
    PAGES
        .iter()
        .map(|p| {
            let r = d.get(p);
            assert_eq!(r.status, 200, "{p}");
            let etag = r.header("etag").to_string();
            (p.to_string(), r.body, etag)
        })
        .collect()
}

/// Starts the binary and waits until it has saved its index.
fn start_and_save(site: &Site) -> Daemon {
    let d = Daemon::spawn(&site.config);
    eventually("the index to be saved", Duration::from_secs(20), || {
        (d.log_count("index saved") > 0)
            .then_some(())
            .ok_or_else(|| d.log())
    });
    d
}

#[test]
fn a_restart_serves_from_the_saved_index_the_same_bytes_as_reading_the_tree() {
    let site = site();
    let first = start_and_save(&site);
    assert!(first.log().contains("from=\"tree\""), "{}", first.log());
    let before = pages(&first);
    assert!(first
        .health_errors()
        .iter()
        .any(|e| e.contains("broken.md")));
    stop_cleanly(first);
    assert!(site.root.join("state/index").is_file());

    let second = Daemon::spawn(&site.config);
    assert_from_index(&second);
    assert_eq!(pages(&second), before, "the same bodies and ETags");
    // The broken file is read again (its last read failed): still reported.
    eventually("the broken file's error", Duration::from_secs(10), || {
        let errors = second.health_errors();
        errors
            .iter()
            .any(|e| e.contains("broken.md"))
            .then_some(())
            .ok_or(format!("{errors:?}"))
    });
}

#[test]
fn what_changed_while_stopped_is_applied_after_a_restart_and_new_folders_are_watched() {
    let site = site();
    let first = start_and_save(&site);
    assert_eq!(first.titles("/rss.xml").unwrap().len(), 4);
    stop_cleanly(first);

    // While stopped: an edit, a deletion, a new file, a new category with
    // a nested folder, the broken file fixed, a folder removed.
    site.write(
        "news/one.md",
        &article("One, edited while stopped", "2025-01-01T00:00:00Z"),
    );
    std::fs::remove_file(site.path("news/two.md")).unwrap();
    site.write("news/five.md", &article("Five", "2025-01-05T00:00:00Z"));
    site.write(
        "culture/deep/six.md",
        &article("Six", "2025-01-06T00:00:00Z"),
    );
    site.write("news/broken.md", &article("Fixed", "2025-01-07T00:00:00Z"));
    std::fs::remove_dir_all(site.path("sport/nested")).unwrap();

    let second = Daemon::spawn(&site.config);
    assert_from_index(&second);
    eventually(
        "the changes made while stopped",
        Duration::from_secs(10),
        || {
            let titles = second.titles("/rss.xml")?;
            let want = ["Fixed", "Six", "Five", "Three", "One, edited while stopped"];
            (titles == want).then_some(()).ok_or(format!("{titles:?}"))
        },
    );
    assert_eq!(second.wait_status("/culture/rss.xml", 200).status, 200);
    assert!(
        second.health_errors().is_empty(),
        "{:?}",
        second.health_errors()
    );

    // The new folders have their watches: edits in them are live.
    site.atomic_save(
        "culture/deep/six.md",
        &article("Six, edited live", "2025-01-06T00:00:00Z"),
    );
    second.wait_title(
        "/culture/rss.xml",
        "Six, edited live",
        true,
        Duration::from_secs(10),
    );
    site.write(
        "culture/deep/er/seven.md",
        &article("Seven", "2025-01-08T00:00:00Z"),
    );
    second.wait_title("/rss.xml", "Seven", true, Duration::from_secs(10));
    site.write(
        "culture/deep/er/eight.md",
        &article("Eight", "2025-01-09T00:00:00Z"),
    );
    second.wait_title("/rss.xml", "Eight", true, Duration::from_secs(10));

    // The index written at this stop holds the live edits.
    stop_cleanly(second);
    let third = Daemon::spawn(&site.config);
    assert_from_index(&third);
    let titles = third.titles("/rss.xml").unwrap();
    assert_eq!(titles[..2], ["Eight", "Seven"], "{titles:?}");
    assert!(
        titles.contains(&"Six, edited live".to_string()),
        "{titles:?}"
    );
}

#[test]
fn a_damaged_or_stale_index_is_not_used_and_the_tree_is_read() {
    let site = site();
    let first = start_and_save(&site);
    let before = pages(&first);
    stop_cleanly(first);
    let index = site.root.join("state/index");
    let whole = std::fs::read(&index).unwrap();

    // Cut short, then one byte flipped in the middle, then not an index.
    let mut flipped = whole.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    for (what, bytes) in [
        ("cut short", whole[..whole.len() - 10].to_vec()),
        ("a byte flipped", flipped),
        ("not an index", b"hello".to_vec()),
    ] {
        std::fs::write(&index, &bytes).unwrap();
        let d = Daemon::spawn(&site.config);
        assert!(
            d.log().contains("not using the saved index"),
            "{what}: {}",
            d.log()
        );
        assert!(d.log().contains("from=\"tree\""), "{what}: {}", d.log());
        assert_eq!(pages(&d), before, "{what}");
        assert!(d.stop(Duration::from_secs(10)).is_some());
    }

    // A config that shapes entries differently (a byline prefix, here)
    // makes the index stale.
    std::fs::write(&index, &whole).unwrap();
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        format!("{text}\n[text]\nbyline_prefixes = [\"Reporter\"]\n"),
    )
    .unwrap();
    let d = Daemon::spawn(&site.config);
    assert!(
        d.log().contains("not using the saved index") && d.log().contains("for another"),
        "{}",
        d.log()
    );
    assert_eq!(d.titles("/rss.xml").unwrap().len(), 4);
}

#[test]
fn an_index_that_cannot_be_written_is_reported_and_serving_goes_on() {
    let site = Site::with_config(&config_text(
        "Restart",
        "index_file = \"../no/such/folder/index\"",
        "",
    ));
    site.write("news/one.md", &article("One", "2025-01-01T00:00:00Z"));
    let d = Daemon::spawn(&site.config);
    eventually(
        "the failed save to be logged",
        Duration::from_secs(20),
        || {
            (d.log_count("cannot save the index") > 0)
                .then_some(())
                .ok_or_else(|| d.log())
        },
    );
    assert_eq!(d.titles("/rss.xml").unwrap(), ["One"]);
    site.write("news/two.md", &article("Two", "2025-01-02T00:00:00Z"));
    d.wait_title("/rss.xml", "Two", true, Duration::from_secs(10));
}

#[test]
fn an_article_broken_while_stopped_leaves_its_feed_without_leaving_a_hole() {
    let site = indexed_site("[feeds]\nlimit = 2\n");
    site.write("news/a1.md", &article("A1", "2025-01-01T00:00:00Z"));
    site.write("news/a2.md", &article("A2", "2025-01-02T00:00:00Z"));
    site.write("news/a3.md", &article("A3", "2025-01-03T00:00:00Z"));
    let first = start_and_save(&site);
    assert_eq!(first.titles("/news/rss.xml").unwrap(), ["A3", "A2"]);
    stop_cleanly(first);

    site.write("news/a3.md", "+++\ntitle = \n+++\nbroken while stopped\n");
    let second = Daemon::spawn(&site.config);
    assert_from_index(&second);
    // At the first answer already: the next article takes its place.
    assert_eq!(second.titles("/news/rss.xml").unwrap(), ["A2", "A1"]);
    assert!(
        second.health_errors().iter().any(|e| e.contains("a3.md")),
        "{:?}",
        second.health_errors()
    );
    // Fixed, it comes back.
    site.atomic_save("news/a3.md", &article("A3 fixed", "2025-01-03T00:00:00Z"));
    second.wait_title("/news/rss.xml", "A3 fixed", true, Duration::from_secs(10));
}

#[test]
fn a_saved_folder_that_became_a_link_gets_no_watch_and_publishes_nothing_twice() {
    let site = indexed_site("");
    site.write("common/c.md", &article("C1", "2025-01-01T00:00:00Z"));
    site.write("news/shared/s.md", &article("S1", "2025-01-02T00:00:00Z"));
    site.write("news/n.md", &article("N1", "2025-01-03T00:00:00Z"));
    let first = start_and_save(&site);
    stop_cleanly(first);

    // While stopped, the saved folder news/shared becomes a link to a
    // folder the tree holds under its own name.
    std::fs::remove_dir_all(site.path("news/shared")).unwrap();
    std::os::unix::fs::symlink("../common", site.path("news/shared")).unwrap();
    let second = Daemon::spawn(&site.config);
    eventually("S1 gone", Duration::from_secs(10), || {
        let titles = second.titles("/rss.xml")?;
        (titles == ["N1", "C1"])
            .then_some(())
            .ok_or(format!("{titles:?}"))
    });
    site.atomic_save("common/c.md", &article("C2", "2025-01-01T00:00:00Z"));
    second.wait_title("/rss.xml", "C2", true, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(second.titles("/rss.xml").unwrap(), ["N1", "C2"]);
    assert_eq!(second.titles("/news/rss.xml").unwrap(), ["N1"]);
}
