//! Live behaviour of `herald serve`: the daemon over a temp
//! content directory, changed the ways editors and operators change it,
//! with every expectation polled against the served feeds under a
//! deadline. In-process where the test is about content; the real binary
//! where it is about the process (signals, exit status, `--listen`, what
//! it logs).

mod support;

use std::time::{Duration, Instant};

use support::*;

const DATE: &str = "2025-03-01 10:00";
const LATER: &str = "2025-03-02 10:00";

/// Each of `present` exactly once and none of `absent` in the RSS at `path`.
fn shows(d: &Daemon, path: &str, present: &[&str], absent: &[&str]) -> Result<(), String> {
    let titles = d.titles(path)?;
    let count = |want: &str| titles.iter().filter(|t| *t == want).count();
    let wrong: Vec<String> = present
        .iter()
        .filter(|p| count(p) != 1)
        .map(|p| format!("{p:?} ×{}", count(p)))
        .chain(
            absent
                .iter()
                .filter(|a| count(a) > 0)
                .map(|a| format!("{a:?} ×{} (should be gone)", count(a))),
        )
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    let shown: Vec<&String> = titles.iter().take(20).collect();
    Err(format!(
        "{path}: {} of {} titles wrong: {}; first items {shown:?}",
        wrong.len(),
        present.len() + absent.len(),
        wrong
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Waits until every feed in `paths` [`shows`] `present` and not `absent`.
fn wait_for(d: &Daemon, paths: &[&str], present: &[&str], absent: &[&str]) {
    let what = if present.len() + absent.len() > 6 {
        format!(
            "{paths:?} to show {} titles and not {}",
            present.len(),
            absent.len()
        )
    } else {
        format!("{paths:?} to show {present:?} and not {absent:?}")
    };
    eventually(&what, DEADLINE, || {
        paths.iter().try_for_each(|p| shows(d, p, present, absent))
    });
}

/// Waits until `/healthz` reports no errors.
fn wait_no_errors(d: &Daemon) {
    eventually("/healthz errors to clear", DEADLINE, || {
        let errors = d.health_errors();
        errors.is_empty().then_some(()).ok_or(format!("{errors:?}"))
    });
}

/// Waits until a `/healthz` error contains `needle`, and returns it.
fn wait_error(d: &Daemon, needle: &str) -> String {
    eventually(&format!("/healthz to report {needle}"), DEADLINE, || {
        let errors = d.health_errors();
        errors
            .iter()
            .find(|e| e.contains(needle))
            .cloned()
            .ok_or(format!("{errors:?}"))
    })
}

const BOTH: &[&str] = &["/news/rss.xml", "/rss.xml"];

#[test]
fn created_article_reaches_its_category_feed_and_the_site_feed() {
    let site = Site::new();
    site.write("news/old.md", &article("Old news", DATE));
    let d = Daemon::spawn_watching(&site);
    wait_for(&d, BOTH, &["Old news"], &[]);
    assert_eq!(d.health()["watcher"], "events");

    site.write("news/fresh.md", &article("Fresh news", LATER));
    wait_for(&d, BOTH, &["Old news", "Fresh news"], &[]);

    // A file in a category folder that did not exist yet.
    site.write("sports/goal.md", &article("Late goal", LATER));
    wait_for(&d, &["/sports/rss.xml", "/rss.xml"], &["Late goal"], &[]);

    let status = d.stop(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM should exit 0, got {status:?}"
    );
}

#[test]
fn edit_in_place_replaces_the_old_title() {
    let site = Site::new();
    site.write("news/x.md", &article("Draft headline", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Draft headline"], &[]);

    site.edit_in_place("news/x.md", &article("Final headline", DATE));
    wait_for(&d, BOTH, &["Final headline"], &["Draft headline"]);
}

#[test]
fn a_file_with_a_backslash_in_its_name_is_followed_live() {
    // On Unix a backslash is a character of the name like any other.
    let site = Site::new();
    site.write("news/back\\slash.md", &article("Draft headline", DATE));
    // At the top level too (site feeds only), where the first part of the
    // path is the file's own name.
    site.write("top\\level.md", &article("Draft top", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Draft headline"], &[]);
    wait_for(&d, &["/rss.xml"], &["Draft top"], &[]);

    site.edit_in_place("news/back\\slash.md", &article("Final headline", DATE));
    site.edit_in_place("top\\level.md", &article("Final top", DATE));
    wait_for(&d, BOTH, &["Final headline"], &["Draft headline"]);
    wait_for(&d, &["/rss.xml"], &["Final top"], &["Draft top"]);
    std::fs::remove_file(site.path("news/back\\slash.md")).unwrap();
    std::fs::remove_file(site.path("top\\level.md")).unwrap();
    wait_for(&d, &["/rss.xml"], &[], &["Final headline", "Final top"]);
}

#[test]
fn atomic_save_by_rename_shows_the_new_text_once() {
    let site = Site::new();
    site.write("news/x.md", &article("Before save", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Before save"], &[]);

    site.atomic_save("news/x.md", &article("After save", DATE));
    wait_for(&d, BOTH, &["After save"], &["Before save"]);
    assert!(!site.path("news/.x.md.tmp").exists());
}

#[test]
fn vim_style_save_with_backup_and_swap_files_shows_the_final_text_once() {
    let site = Site::new();
    site.write("news/x.md", &article("Vim before", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Vim before"], &[]);

    // What vim does with `backupcopy=no`: a swap file, a probe file named
    // 4913, the original renamed to a backup, the new text written, the
    // backup removed.
    site.write("news/.x.md.swp", "\0\0vim swap\0");
    site.write("news/4913", "");
    std::fs::remove_file(site.path("news/4913")).unwrap();
    std::fs::rename(site.path("news/x.md"), site.path("news/x.md~")).unwrap();
    site.write("news/x.md", &article("Vim after", DATE));
    std::fs::remove_file(site.path("news/x.md~")).unwrap();
    wait_for(&d, BOTH, &["Vim after"], &["Vim before"]);

    std::fs::remove_file(site.path("news/.x.md.swp")).unwrap();
    wait_for(&d, BOTH, &["Vim after"], &["Vim before"]);
    assert!(
        d.health_errors().is_empty(),
        "editor debris is not content: {:?}",
        d.health_errors()
    );
}

#[test]
fn delete_then_recreate_shows_the_final_text_once() {
    let site = Site::new();
    site.write("news/x.md", &article("Before sed", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Before sed"], &[]);

    std::fs::remove_file(site.path("news/x.md")).unwrap();
    site.write("news/x.md", &article("After sed", DATE));
    wait_for(&d, BOTH, &["After sed"], &["Before sed"]);
}

#[test]
fn deleted_article_leaves_its_category_feed_and_the_site_feed() {
    let site = Site::new();
    site.write("news/keep.md", &article("Keeper", DATE));
    site.write("news/gone.md", &article("Goner", LATER));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Keeper", "Goner"], &[]);

    std::fs::remove_file(site.path("news/gone.md")).unwrap();
    wait_for(&d, BOTH, &["Keeper"], &["Goner"]);
}

#[test]
fn rename_within_a_category_keeps_the_item_exactly_once() {
    let site = Site::new();
    site.write("news/a.md", &article("Renamed story", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Renamed story"], &[]);

    std::fs::rename(site.path("news/a.md"), site.path("news/b.md")).unwrap();
    // The slug is the file stem, so the permalink tells the old and the new apart.
    let want = format!("{LIVE_BASE_URL}/news/b.html");
    eventually("the item to move to b.html, once", DEADLINE, || {
        for path in BOTH {
            shows(&d, path, &["Renamed story"], &[])?;
            let links = rss_links(&d.get_ok(path)?.body)?;
            if links != [want.clone()] {
                return Err(format!("{path}: links {links:?}"));
            }
        }
        Ok(())
    });
}

#[test]
fn rename_into_another_category_moves_the_item() {
    let site = Site::new();
    site.write("news/a.md", &article("Wandering story", DATE));
    site.write("sports/b.md", &article("Sports resident", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Wandering story"], &[]);

    std::fs::rename(site.path("news/a.md"), site.path("sports/a.md")).unwrap();
    wait_for(
        &d,
        &["/sports/rss.xml", "/rss.xml"],
        &["Wandering story", "Sports resident"],
        &[],
    );
    wait_for(&d, &["/news/rss.xml"], &[], &["Wandering story"]);
}

#[test]
fn folder_moved_in_becomes_a_category_and_moved_out_disappears() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    let staging = site.root.join("staging/world");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("one.md"), article("World one", DATE)).unwrap();
    std::fs::write(staging.join("two.md"), article("World two", LATER)).unwrap();
    let d = Daemon::start_watching(&site);
    wait_for(&d, &["/rss.xml"], &["Resident"], &[]);
    assert_eq!(d.get("/world/rss.xml").status, 404);

    std::fs::rename(&staging, site.path("world")).unwrap();
    let both = ["World one", "World two"];
    wait_for(&d, &["/world/rss.xml", "/rss.xml"], &both, &[]);
    let listed = format!("href=\"{LIVE_BASE_URL}/world/\"");
    eventually("/ and /feeds.opml to list world", DEADLINE, || {
        let index = d.get_ok("/")?.text().to_string();
        let opml = d.get_ok("/feeds.opml")?.text().to_string();
        if index.contains(&listed) && opml.contains("/world/rss.xml") {
            Ok(())
        } else {
            Err(format!("index:\n{index}\nopml:\n{opml}"))
        }
    });

    // Renamed in place: one category becomes another.
    std::fs::rename(site.path("world"), site.path("globe")).unwrap();
    d.wait_status("/world/rss.xml", 404);
    wait_for(&d, &["/globe/rss.xml", "/rss.xml"], &both, &[]);
    std::fs::rename(site.path("globe"), site.path("world")).unwrap();
    d.wait_status("/globe/rss.xml", 404);
    wait_for(&d, &["/world/rss.xml", "/rss.xml"], &both, &[]);

    std::fs::rename(site.path("world"), site.root.join("moved-out")).unwrap();
    d.wait_status("/world/rss.xml", 404);
    wait_for(&d, &["/rss.xml"], &["Resident"], &both);
    eventually("/ and /feeds.opml to drop world", DEADLINE, || {
        let index = d.get_ok("/")?.text().to_string();
        let opml = d.get_ok("/feeds.opml")?.text().to_string();
        if !index.contains(&listed) && !opml.contains("/world/") {
            Ok(())
        } else {
            Err(format!("index:\n{index}\nopml:\n{opml}"))
        }
    });
    assert_eq!(d.get("/world/").status, 404);
}

#[test]
fn deleted_category_folder_404s_and_its_items_leave_the_site_feed() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    site.write("sports/a/one.md", &article("Sport one", DATE));
    site.write("sports/two.md", &article("Sport two", LATER));
    let d = Daemon::start_watching(&site);
    let sports = ["Sport one", "Sport two"];
    wait_for(&d, &["/sports/rss.xml", "/rss.xml"], &sports, &[]);

    std::fs::remove_dir_all(site.path("sports")).unwrap();
    d.wait_status("/sports/rss.xml", 404);
    d.wait_status("/sports/", 404);
    wait_for(&d, &["/rss.xml"], &["Resident"], &sports);
    assert_eq!(d.health()["categories"], 1);

    // An emptied category still serves an empty feed while its folder exists.
    std::fs::remove_file(site.path("news/x.md")).unwrap();
    eventually("an empty news feed", DEADLINE, || {
        let t = d.titles("/news/rss.xml")?;
        t.is_empty().then_some(()).ok_or(format!("{t:?}"))
    });
}

#[test]
fn article_written_right_after_mkdir_p_is_published() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Resident"], &[]);

    // A new category, and new deep folders in an existing one; each file
    // written the moment its folders exist.
    std::fs::create_dir_all(site.path("deep/a/b/c")).unwrap();
    std::fs::write(site.path("deep/a/b/c/x.md"), article("Deep new", DATE)).unwrap();
    std::fs::create_dir_all(site.path("news/2025/03/01")).unwrap();
    std::fs::write(
        site.path("news/2025/03/01/y.md"),
        article("Deep old", LATER),
    )
    .unwrap();
    wait_for(&d, &["/deep/rss.xml"], &["Deep new"], &[]);
    wait_for(&d, BOTH, &["Resident", "Deep old"], &[]);
    wait_for(&d, &["/rss.xml"], &["Deep new", "Deep old"], &[]);
}

/// Runs `herald build` on the site's current content into `root/<name>`,
/// then waits until every page it wrote is served byte for byte. Returns
/// the files it wrote, sorted.
fn wait_equal_to_build(site: &Site, d: &Daemon, name: &str, timeout: Duration) -> Vec<String> {
    let out = site.root.join(name);
    site.build(&out);
    let files = pages_under(&out);
    let built: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (url_of_file(f), std::fs::read(out.join(f)).unwrap()))
        .collect();
    eventually("every served page to equal herald build's", timeout, || {
        for (url, want) in &built {
            let got = d.get_ok(url)?;
            if &got.body != want {
                let n = rss_titles(&got.body).map(|t| t.len()).unwrap_or(0);
                return Err(format!("{url} differs ({n} RSS items served)"));
            }
        }
        Ok(())
    });
    files
}

/// Of the files `herald build` wrote, the feeds and index pages (not the
/// article pages, nor the tag and author lists, which have their tests).
fn feed_files(files: &[String]) -> Vec<String> {
    files
        .iter()
        .filter(|f| !f.starts_with("tags/") && !f.starts_with("authors/"))
        .filter(|f| !f.ends_with(".html") || f.ends_with("index.html"))
        .cloned()
        .collect()
}

/// The article pages among the files `herald build` wrote.
fn article_pages(files: &[String]) -> usize {
    files
        .iter()
        .filter(|f| f.ends_with(".html") && !f.ends_with("index.html"))
        .count()
}

/// The feed and page files `herald build` writes for these categories.
fn expected_files(categories: &[&str]) -> Vec<String> {
    let mut expected = vec!["feeds.opml".to_string()];
    let prefixes = std::iter::once(String::new()).chain(categories.iter().map(|c| format!("{c}/")));
    for c in prefixes {
        for f in ["rss.xml", "atom.xml", "feed.json", "index.html"] {
            expected.push(format!("{c}{f}"));
        }
    }
    expected.sort();
    expected
}

/// `2025-01-01 00:00` plus `i` minutes, as front matter writes it.
fn minutes_after_2025(i: i64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    (base + chrono::Duration::minutes(i))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[test]
fn burst_of_a_thousand_files_ends_byte_equal_to_herald_build() {
    let site = Site::with_config(&config_text("Burst", "", "[feeds]\nlimit = 2000\n"));
    site.write("cat0/seed.md", &article("Seed", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, &["/cat0/rss.xml"], &["Seed"], &[]);

    for i in 0..1000 {
        let p = site.path(&format!("cat{}/n{i:04}.md", i % 5));
        if i < 5 {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        std::fs::write(p, article(&format!("Burst {i}"), &minutes_after_2025(i))).unwrap();
    }

    let files = wait_equal_to_build(&site, &d, "built", Duration::from_secs(20));
    assert_eq!(
        feed_files(&files),
        expected_files(&["cat0", "cat1", "cat2", "cat3", "cat4"])
    );
    // Every article has its page, served as built (compared above).
    assert_eq!(article_pages(&files), 1001);
    let built = std::fs::read(site.root.join("built/rss.xml")).unwrap();
    assert_eq!(rss_titles(&built).unwrap().len(), 1001);
    assert_eq!(d.health()["articles"], 1001);
}

#[test]
fn mixed_burst_of_edits_renames_deletes_and_folder_moves_ends_byte_equal_to_herald_build() {
    let site = Site::with_config(&config_text("Mixed", "", "[feeds]\nlimit = 2000\n"));
    for i in 0..200 {
        site.write(
            &format!("cat{}/old{i:03}.md", i % 4),
            &article(&format!("Old {i}"), &minutes_after_2025(i)),
        );
    }
    let staged = site.root.join("staging/movedin");
    for i in 0..20 {
        let p = staged.join(format!("sub/m{i:02}.md"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let text = article(&format!("Moved in {i}"), &minutes_after_2025(5000 + i));
        std::fs::write(p, text).unwrap();
    }
    let d = Daemon::start_watching(&site);
    wait_for(&d, &["/rss.xml"], &["Old 0", "Old 199"], &[]);

    for i in 0..200i64 {
        let rel = format!("cat{}/old{i:03}.md", i % 4);
        let date = minutes_after_2025(i);
        match i % 10 {
            // In place, atomically, and `sed -i` style.
            0 | 1 => site.edit_in_place(&rel, &article(&format!("Edited {i}"), &date)),
            2 => site.atomic_save(&rel, &article(&format!("Saved {i}"), &date)),
            3 => {
                std::fs::remove_file(site.path(&rel)).unwrap();
                site.write(&rel, &article(&format!("Recreated {i}"), &date));
            }
            4 => std::fs::remove_file(site.path(&rel)).unwrap(),
            // Renamed within its category, and into another one.
            5 => {
                let to = format!("cat{}/ren{i:03}.md", i % 4);
                std::fs::rename(site.path(&rel), site.path(&to)).unwrap();
            }
            6 => {
                let to = format!("cat{}/across{i:03}.md", (i + 1) % 4);
                std::fs::rename(site.path(&rel), site.path(&to)).unwrap();
            }
            _ => {}
        }
        site.write(
            &format!("cat{}/new{i:03}.md", i % 4),
            &article(&format!("New {i}"), &minutes_after_2025(1000 + i)),
        );
    }
    // A whole category moved out, another moved in, and a folder moved
    // from one category to another right after it was made.
    std::fs::rename(site.path("cat3"), site.root.join("cat3-archived")).unwrap();
    std::fs::rename(&staged, site.path("movedin")).unwrap();
    // (Not the newest article: see the OPML test for why that matters.)
    site.write(
        "cat0/2025/01/deep.md",
        &article("Deep", &minutes_after_2025(3000)),
    );
    std::fs::rename(site.path("cat0/2025"), site.path("cat1/2025")).unwrap();

    let files = wait_equal_to_build(&site, &d, "built", Duration::from_secs(20));
    assert_eq!(
        feed_files(&files),
        expected_files(&["cat0", "cat1", "cat2", "movedin"])
    );
    d.wait_status("/cat3/rss.xml", 404);
    shows(&d, "/cat1/rss.xml", &["Deep"], &[]).unwrap();
    shows(&d, "/cat0/rss.xml", &[], &["Deep"]).unwrap();
}

#[test]
fn broken_save_keeps_the_last_good_version_until_fixed() {
    let site = Site::new();
    site.write("news/x.md", &article("Good version", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Good version"], &[]);
    assert!(d.health_errors().is_empty());

    site.edit_in_place("news/x.md", "+++\ntitle = \"unterminated\n+++\n");
    // Not the "empty file" a stalled write between truncate and write
    // can show for a moment: the error of the broken text.
    let error = wait_error(&d, "news/x.md:2:");
    // path:line:col: error: message
    let after = &error[error.find("news/x.md:").expect("path then position") + 10..];
    assert!(
        after.starts_with(|c: char| c.is_ascii_digit()) && after.contains(": error: "),
        "error without line:col: {error}"
    );
    // The daemon has taken in the broken file; the good version stays.
    shows(&d, "/news/rss.xml", &["Good version"], &["unterminated"]).unwrap();
    shows(&d, "/rss.xml", &["Good version"], &["unterminated"]).unwrap();

    site.edit_in_place("news/x.md", &article("Fixed version", DATE));
    wait_for(&d, BOTH, &["Fixed version"], &["Good version"]);
    wait_no_errors(&d);
}

#[test]
fn broken_new_file_is_reported_and_deleting_it_clears_the_error() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Resident"], &[]);

    site.write(
        "news/bad.md",
        "+++\ndate = \"2025-03-01\"\n+++\nno title anywhere\n",
    );
    wait_error(&d, "news/bad.md");
    assert_eq!(d.titles("/news/rss.xml").unwrap(), ["Resident"]);

    std::fs::remove_file(site.path("news/bad.md")).unwrap();
    wait_no_errors(&d);
}

#[test]
fn future_dated_article_is_published_when_due_without_a_file_event() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    // The daemon's clock stands still until the test moves it.
    let clock = Clock::manual(at("2026-01-01T00:00:00Z"));
    let d = Daemon::start_with(&site.config, |o| o.clock = clock.clone());
    d.wait_until_watching(&site);
    wait_for(&d, BOTH, &["Resident"], &[]);

    let due = "2026-01-01T00:00:10Z";
    site.write("news/future.md", &article("Embargoed", due));
    site.write("news/marker.md", &article("Marker", DATE));
    // The marker shows that the daemon has read both files.
    wait_for(&d, BOTH, &["Resident", "Marker"], &["Embargoed"]);

    // A second before its date: still embargoed. (Setting the clock queues
    // a wake-up before the second marker's event, so once that marker
    // shows, the daemon has looked at what is due at this time.)
    clock.set(at("2026-01-01T00:00:09Z"));
    site.write("news/marker2.md", &article("Second marker", DATE));
    wait_for(&d, BOTH, &["Marker", "Second marker"], &["Embargoed"]);

    // At its date, with no file event: published.
    clock.set(at(due));
    wait_for(&d, BOTH, &["Embargoed"], &[]);
    shows(
        &d,
        "/rss.xml",
        &["Embargoed", "Marker", "Second marker", "Resident"],
        &[],
    )
    .unwrap();
}

#[test]
fn polling_watcher_sees_create_edit_and_delete() {
    let site = Site::with_config(&config_text(
        "Live",
        "watch = \"poll\"\npoll_interval_ms = 200\n",
        "",
    ));
    site.write("news/x.md", &article("Resident", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Resident"], &[]);
    assert_eq!(d.health()["watcher"], "polling");

    site.write("news/polled.md", &article("Polled", LATER));
    wait_for(&d, BOTH, &["Resident", "Polled"], &[]);
    site.edit_in_place("news/polled.md", &article("Polled again", LATER));
    wait_for(&d, BOTH, &["Resident", "Polled again"], &["Polled"]);
    std::fs::remove_file(site.path("news/polled.md")).unwrap();
    wait_for(&d, BOTH, &["Resident"], &["Polled again"]);
    // A new category folder too.
    site.write("sports/goal.md", &article("Polled goal", LATER));
    wait_for(&d, &["/sports/rss.xml", "/rss.xml"], &["Polled goal"], &[]);
    assert_eq!(d.health()["watcher"], "polling");
}

/// Waits until the site RSS channel title is `title`.
fn wait_site_title(d: &Daemon, title: &str) {
    eventually(&format!("site title {title:?}"), DEADLINE, || {
        let got = rss_channel_title(&d.get_ok("/rss.xml")?.body)?;
        if got == title {
            Ok(())
        } else {
            Err(got)
        }
    });
}

#[test]
fn config_edits_reload_and_a_broken_config_keeps_the_old_one() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    let d = Daemon::spawn_watching(&site);
    wait_site_title(&d, "Live");

    site.edit_config_in_place(&config_text("Edited in place", "", ""));
    wait_site_title(&d, "Edited in place");
    site.save_config_atomically(&config_text("Saved atomically", "", ""));
    wait_site_title(&d, "Saved atomically");
    // The category feed follows too: "<category> - <site.title>".
    eventually("the category feed title", DEADLINE, || {
        let t = rss_channel_title(&d.get_ok("/news/rss.xml")?.body)?;
        (t == "news - Saved atomically").then_some(()).ok_or(t)
    });

    // An unknown key on line 3.
    let broken = config_text("Broken", "", "").replacen("base_url", "no_such_key = 1\nbase_url", 1);
    assert_eq!(broken.lines().nth(2), Some("no_such_key = 1"));
    site.save_config_atomically(&broken);
    let prefix = format!("{}:3:", site.config.display());
    let error = eventually("/healthz to report the config error", DEADLINE, || {
        let errors = d.health_errors();
        errors
            .iter()
            .find(|e| e.starts_with(&prefix))
            .cloned()
            .ok_or(format!("want {prefix}…, got {errors:?}"))
    });
    let col = &error[prefix.len()..];
    assert!(
        col.starts_with(|c: char| c.is_ascii_digit()) && error.contains("no_such_key"),
        "{error}"
    );
    // The reload was attempted and failed: the old config is still in force.
    let title = rss_channel_title(&d.get("/rss.xml").body).unwrap();
    assert_eq!(title, "Saved atomically");

    site.edit_config_in_place(&config_text("Fixed", "", ""));
    wait_site_title(&d, "Fixed");
    wait_no_errors(&d);
    // The socket stayed where it was.
    assert_eq!(d.listening_addrs(), vec![d.addr], "{}", d.log());
}

#[test]
fn sighup_reloads_a_config_edit_the_watcher_cannot_see() {
    // cfg/herald.toml is a symlink to real/herald.toml: the watcher
    // watches cfg/, so editing the target is invisible to it and only
    // SIGHUP can bring the change in.
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    let real = site.root.join("real/herald.toml");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::rename(&site.config, &real).unwrap();
    std::os::unix::fs::symlink(&real, &site.config).unwrap();
    let d = Daemon::spawn_watching(&site);
    wait_site_title(&d, "Live");

    edit_in_place(&real, &config_text("After SIGHUP", "", ""));
    d.signal(libc::SIGHUP);
    wait_site_title(&d, "After SIGHUP");
    // (Through the log pipe the line may trail the reload a little.)
    eventually("SIGHUP in the log", DEADLINE, || {
        (d.log_count("SIGHUP") >= 1).then_some(()).ok_or(d.log())
    });

    // SIGHUP after an edit the watcher does see reloads as well.
    site.edit_config_in_place(&config_text("Seen and SIGHUP", "", ""));
    d.signal(libc::SIGHUP);
    wait_site_title(&d, "Seen and SIGHUP");
    assert_eq!(d.get("/healthz").status, 200);
}

#[test]
fn changing_content_dir_serves_and_watches_the_new_directory() {
    let site = Site::new();
    site.write("news/x.md", &article("In first dir", DATE));
    let second = site.root.join("content2");
    std::fs::create_dir_all(second.join("world")).unwrap();
    std::fs::write(second.join("world/y.md"), article("In second dir", DATE)).unwrap();
    let d = Daemon::start_watching(&site);
    wait_for(&d, &["/rss.xml"], &["In first dir"], &[]);

    let text = config_text("Live", "", "").replace("../content", "../content2");
    site.save_config_atomically(&text);
    wait_for(&d, &["/rss.xml"], &["In second dir"], &["In first dir"]);
    d.wait_status("/news/rss.xml", 404);

    // The watcher follows: changes in the new directory show, changes in
    // the old one do not. (The new directory's feeds are published before
    // its watcher starts: see the large-tree test below.)
    d.wait_until_watching_dir(&second);
    std::fs::write(second.join("world/z.md"), article("Later in second", LATER)).unwrap();
    let world = ["In second dir", "Later in second"];
    wait_for(&d, &["/world/rss.xml", "/rss.xml"], &world, &[]);
    site.write("news/ignored.md", &article("Old dir edit", LATER));
    std::fs::write(second.join("world/marker.md"), article("Marker", LATER)).unwrap();
    wait_for(&d, &["/rss.xml"], &["Marker"], &["Old dir edit"]);
}

/// An article with an explicit `id`.
fn article_with_id(title: &str, date: &str, id: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = \"{date}\"\nid = \"{id}\"\n+++\nBody of {title}.\n")
}

#[test]
fn duplicate_ids_stay_equal_to_herald_build_as_files_come_and_go() {
    let site = Site::new();
    let tagged = article_with_id("Second holder", DATE, "same").replace(
        "id = ",
        "tags = [\"Relay\"]\nauthors = [\"Ann Lee\"]\nid = ",
    );
    site.write("sports/b.md", &tagged);
    site.write("news/other.md", &article("Resident", DATE));
    let d = Daemon::spawn_watching(&site);
    wait_for(&d, &["/sports/rss.xml"], &["Second holder"], &[]);
    let guid_in = |url: &str| {
        let body = d.get_ok(url).unwrap();
        let text = body.text();
        let at = text.find("<guid").expect("an item");
        let end = at + text[at..].find("</guid>").unwrap();
        text[at..end].rsplit('>').next().unwrap().to_string()
    };
    assert_eq!(guid_in("/tags/relay/rss.xml"), "same");

    // news/a.md sorts first, so from now on sports/b.md is published
    // under a derived id: the sports feeds, and those of its tag and
    // author, change without a file of theirs changing.
    site.write("news/a.md", &article_with_id("First holder", DATE, "same"));
    wait_for(&d, BOTH, &["First holder"], &[]);
    wait_equal_to_build(&site, &d, "built-1", DEADLINE);
    for feed in ["/tags/relay/rss.xml", "/authors/ann-lee/rss.xml"] {
        assert!(guid_in(feed).starts_with("same-"), "{feed}");
    }
    // The log says which file lost its id, to what, and to whom.
    let b = site.path("sports/b.md");
    eventually("the duplicate id logged", DEADLINE, || {
        d.log()
            .lines()
            .any(|l| {
                l.contains("WARN")
                    && l.contains(&*b.to_string_lossy())
                    && l.contains("duplicate id \"same\" (also used by news/a.md)")
            })
            .then_some(())
            .ok_or(d.log())
    });

    // And back: with news/a.md gone, sports/b.md gets its own id again.
    std::fs::remove_file(site.path("news/a.md")).unwrap();
    wait_for(&d, BOTH, &[], &["First holder"]);
    wait_equal_to_build(&site, &d, "built-2", DEADLINE);
    for feed in ["/tags/relay/rss.xml", "/authors/ann-lee/rss.xml"] {
        assert_eq!(guid_in(feed), "same", "{feed}");
    }
}

#[test]
fn empty_category_feed_and_opml_stay_equal_to_herald_build_when_the_site_changes() {
    // An empty feed's lastBuildDate / updated and the OPML dateModified are
    // the newest `updated` of the whole site.
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    std::fs::create_dir_all(site.path("empty")).unwrap();
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Resident"], &[]);
    assert_eq!(d.titles("/empty/rss.xml").unwrap(), Vec::<String>::new());

    site.write("news/newer.md", &article("Newer", LATER));
    wait_for(&d, BOTH, &["Resident", "Newer"], &[]);
    wait_equal_to_build(&site, &d, "built-1", DEADLINE);

    std::fs::remove_file(site.path("news/newer.md")).unwrap();
    wait_for(&d, BOTH, &["Resident"], &["Newer"]);
    wait_equal_to_build(&site, &d, "built-2", DEADLINE);
}

#[test]
fn draft_toggle_hides_and_shows_the_item() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    site.write("news/d.md", &article("Toggled", LATER));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Resident", "Toggled"], &[]);

    let draft = article("Toggled", LATER).replace("+++\nBody", "draft = true\n+++\nBody");
    site.edit_in_place("news/d.md", &draft);
    wait_for(&d, BOTH, &["Resident"], &["Toggled"]);
    site.edit_in_place("news/d.md", &article("Toggled", LATER));
    wait_for(&d, BOTH, &["Resident", "Toggled"], &[]);
    wait_equal_to_build(&site, &d, "built", DEADLINE);
}

#[test]
fn hidden_folder_renamed_visible_becomes_a_category() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    site.write(".drafts/a.md", &article("Hidden one", DATE));
    site.write("news/.wip/b.md", &article("Hidden two", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Resident"], &["Hidden one", "Hidden two"]);
    assert_eq!(d.get("/.drafts/rss.xml").status, 404);

    std::fs::rename(site.path(".drafts"), site.path("drafts")).unwrap();
    std::fs::rename(site.path("news/.wip"), site.path("news/wip")).unwrap();
    wait_for(&d, &["/drafts/rss.xml", "/rss.xml"], &["Hidden one"], &[]);
    wait_for(&d, BOTH, &["Resident", "Hidden two"], &[]);

    // And hidden again.
    std::fs::rename(site.path("news/wip"), site.path("news/.wip")).unwrap();
    wait_for(&d, BOTH, &["Resident"], &["Hidden two"]);
}

#[test]
fn switching_to_polling_by_config_edit_is_reported_and_still_sees_changes() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    let d = Daemon::start_watching(&site);
    assert_eq!(d.health()["watcher"], "events");

    let polling = config_text("Live", "watch = \"poll\"\npoll_interval_ms = 200\n", "");
    site.save_config_atomically(&polling);
    eventually("/healthz watcher to be polling", DEADLINE, || {
        let w = d.health()["watcher"].clone();
        (w == "polling").then_some(()).ok_or(format!("{w}"))
    });
    site.write("news/polled.md", &article("Polled", LATER));
    wait_for(&d, BOTH, &["Resident", "Polled"], &[]);

    site.save_config_atomically(&config_text("Live", "", ""));
    eventually("/healthz watcher to be events", DEADLINE, || {
        let w = d.health()["watcher"].clone();
        (w == "events").then_some(()).ok_or(format!("{w}"))
    });
    site.write("news/evented.md", &article("Evented", LATER));
    wait_for(&d, BOTH, &["Resident", "Polled", "Evented"], &[]);
}

#[test]
fn changes_right_after_a_content_dir_switch_reach_the_feeds_in_a_large_tree() {
    let site = Site::with_config(&config_text("Big", "", "[feeds]\nlimit = 5000\n"));
    site.write("news/x.md", &article("In first dir", DATE));
    let second = site.root.join("content2");
    for c in 0..10 {
        for day in 0..100 {
            let p = second.join(format!("c{c}/d{day:03}/old.md"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, article(&format!("Old {c} {day}"), DATE)).unwrap();
        }
    }
    let d = Daemon::start_watching(&site);
    let text =
        config_text("Big", "", "[feeds]\nlimit = 5000\n").replace("../content", "../content2");
    site.save_config_atomically(&text);
    eventually("the switch to the new directory", DEADLINE, || {
        let n = d.health()["articles"].clone();
        (n == 1000).then_some(()).ok_or(format!("{n} articles"))
    });
    // Right after the new directory is served: a new file in every tenth folder.
    let mut fresh = Vec::new();
    for c in 0..10 {
        for day in (0..100).step_by(10) {
            let title = format!("Fresh {c} {day}");
            let p = second.join(format!("c{c}/d{day:03}/fresh.md"));
            std::fs::write(p, article(&title, LATER)).unwrap();
            fresh.push(title);
        }
    }
    let want: Vec<&str> = fresh.iter().map(String::as_str).collect();
    wait_for(&d, &["/rss.xml"], &want, &[]);
}

#[test]
fn changed_listen_address_is_applied_by_rebinding() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    let d = Daemon::spawn_watching(&site);
    let old = d.addr;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    site.edit_config_in_place(&config_with("Moved", &listen, "", ""));

    let new: std::net::SocketAddr = listen.parse().unwrap();
    eventually("the daemon to serve on the new port", DEADLINE, || {
        let r = fresh_client().try_get(&url(new, "/rss.xml"))?;
        let title = rss_channel_title(&r.body)?;
        (r.status == 200 && title == "Moved")
            .then_some(())
            .ok_or(format!("{} {title}", r.status))
    });
    // The line is written before the new socket is served, but the test
    // reads the log through a pipe and a thread: it may arrive later.
    let line = format!("listening on http://{listen}");
    eventually(&format!("{line:?} in the log"), DEADLINE, || {
        (d.log_count(&line) >= 1).then_some(()).ok_or(d.log())
    });
    // Rebinding retires the old socket.
    eventually("the old port to close", DEADLINE, || {
        match fresh_client().try_send(Method::GET, &url(old, "/"), &[]) {
            Err(e) if is_refused(&e) => Ok(()),
            Err(e) => Err(e.to_string()),
            Ok(r) => Err(format!("status {}", r.status)),
        }
    });
}

#[test]
fn config_reload_keeps_the_command_line_listen_address() {
    // server.listen names a free port; --listen 127.0.0.1:0 overrides it at start.
    let listen = format!("127.0.0.1:{}", free_port());
    let site = Site::with_config(&config_with("Live", &listen, "", ""));
    site.write("news/x.md", &article("Resident", DATE));
    let d = Daemon::spawn_watching(&site);
    wait_site_title(&d, "Live");

    // Only the title changes, twice (the second reload surely comes after
    // any rebinding the first one started).
    site.edit_config_in_place(&config_with("Retitled", &listen, "", ""));
    wait_site_title(&d, "Retitled");
    site.edit_config_in_place(&config_with("Retitled again", &listen, "", ""));
    wait_site_title(&d, "Retitled again");
    assert_eq!(d.listening_addrs(), vec![d.addr], "{}", d.log());
}

#[test]
fn output_dir_mirrors_the_served_feeds_after_an_edit() {
    let site = Site::with_config(&config_text("Live", "", "[output]\ndir = \"../out\"\n"));
    site.write("news/x.md", &article("Before output", DATE));
    let d = Daemon::start_watching(&site);
    wait_for(&d, BOTH, &["Before output"], &[]);

    site.edit_in_place("news/x.md", &article("After output", DATE));
    wait_for(&d, BOTH, &["After output"], &["Before output"]);
    let out = site.root.join("out");
    eventually("out/ to equal the served feeds", DEADLINE, || {
        for url in ["/news/rss.xml", "/rss.xml", "/news/atom.xml", "/feed.json"] {
            let served = d.get_ok(url)?.body;
            let file = std::fs::read(out.join(&url[1..])).map_err(|e| format!("{url}: {e}"))?;
            if file != served {
                return Err(format!("out{url} differs from the served body"));
            }
        }
        Ok(())
    });
    let on_disk = std::fs::read(out.join("news/rss.xml")).unwrap();
    assert_eq!(rss_titles(&on_disk).unwrap(), ["After output"]);

    // A new category is written, a removed one is removed.
    site.write("sports/goal.md", &article("Goal", LATER));
    eventually("out/sports/rss.xml to be written", DEADLINE, || {
        let file = std::fs::read(out.join("sports/rss.xml")).map_err(|e| e.to_string())?;
        (file == d.get_ok("/sports/rss.xml")?.body)
            .then_some(())
            .ok_or("differs".to_string())
    });
    std::fs::remove_dir_all(site.path("sports")).unwrap();
    d.wait_status("/sports/rss.xml", 404);
    eventually("out/sports/ to be removed", DEADLINE, || {
        let left = out.join("sports").exists();
        (!left).then_some(()).ok_or("still there".to_string())
    });
}

#[test]
fn changes_right_after_listening_reach_the_feeds_in_a_large_tree() {
    // 1,000 dated folders (10 categories × 100 days), one article each.
    let site = Site::with_config(&config_text("Big", "", "[feeds]\nlimit = 5000\n"));
    for c in 0..10 {
        for day in 0..100 {
            site.write(
                &format!("c{c}/d{day:03}/old.md"),
                &article(&format!("Old {c} {day}"), DATE),
            );
        }
    }
    let d = Daemon::start(&site.config);
    // Right after the daemon says it serves: a new file in every tenth folder.
    let mut fresh = Vec::new();
    for c in 0..10 {
        for day in (0..100).step_by(10) {
            let title = format!("Fresh {c} {day}");
            site.write(&format!("c{c}/d{day:03}/fresh.md"), &article(&title, LATER));
            fresh.push(title);
        }
    }
    let want: Vec<&str> = fresh.iter().map(String::as_str).collect();
    wait_for(&d, &["/rss.xml"], &want, &[]);
}

#[test]
fn warnings_are_logged_once_even_when_an_article_reenters_a_feed() {
    // feeds.limit = 20 keeps the newest 20 of 22 in the feeds. The two
    // oldest have unknown keys: the TOML one is indexed quickly (and
    // checked in the background), the YAML one read in full at load.
    let site = Site::with_config(&config_text("Warn", "", "[feeds]\nlimit = 20\n"));
    for i in 2..22 {
        let date = format!("2025-03-{:02} 10:00", i + 1);
        site.write(
            &format!("news/a{i:02}.md"),
            &article(&format!("Story {i}"), &date),
        );
    }
    site.write(
        "news/a00.md",
        "+++\ntitle = \"Old toml\"\ndate = \"2025-03-01 10:00\"\nmood = \"calm\"\n+++\nBody.\n",
    );
    site.write(
        "news/a01.md",
        "---\ntitle: Old yaml\ndate: 2025-03-02 10:00\ntone: dry\n---\nBody.\n",
    );
    let d = Daemon::spawn_watching(&site);
    let said = |key: &str| d.log_count(&format!("unknown key `{key}` ignored"));
    eventually("both warnings to be logged", DEADLINE, || {
        let n = (said("mood"), said("tone"));
        (n.0 >= 1 && n.1 >= 1).then_some(()).ok_or(format!("{n:?}"))
    });
    // The two newest go: both old articles enter the feeds and are read again.
    std::fs::remove_file(site.path("news/a21.md")).unwrap();
    std::fs::remove_file(site.path("news/a20.md")).unwrap();
    wait_for(
        &d,
        BOTH,
        &["Old toml", "Old yaml"],
        &["Story 21", "Story 20"],
    );
    // A broken file logged after the re-reads: once its line is in, every
    // line before it is (the log arrives in order, through a pipe).
    site.write("news/zz-sentinel.md", "+++\ntitle = \n+++\n");
    eventually("the sentinel's error in the log", DEADLINE, || {
        (d.log_count("zz-sentinel.md") >= 1)
            .then_some(())
            .ok_or(d.log())
    });
    assert_eq!((said("mood"), said("tone")), (1, 1), "{}", d.log());
}

#[test]
fn deleting_folders_logs_no_warning() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    site.write("sports/a/b/y.md", &article("Deep one", DATE));
    site.write("news/old/z.md", &article("Nested one", DATE));
    let d = Daemon::spawn_watching(&site);
    wait_for(
        &d,
        &["/rss.xml"],
        &["Resident", "Deep one", "Nested one"],
        &[],
    );
    std::fs::remove_dir_all(site.path("sports")).unwrap();
    std::fs::remove_dir_all(site.path("news/old")).unwrap();
    wait_for(
        &d,
        &["/rss.xml"],
        &["Resident"],
        &["Deep one", "Nested one"],
    );
    d.assert_404("/sports/rss.xml");
    // A marker edit after the deletions: once it is served, every line
    // the deletions caused is in the log.
    site.write("news/marker.md", &article("Marker", LATER));
    wait_for(&d, &["/rss.xml"], &["Marker"], &[]);
    let log = d.log();
    assert!(
        !log.lines()
            .any(|l| l.contains("WARN") || l.contains("ERROR")),
        "{log}"
    );
}

#[test]
fn a_folder_named_like_a_route_made_while_running_is_warned_of_once() {
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    let d = Daemon::spawn_watching(&site);
    site.write("tags/a.md", &article("In tags", DATE));
    let said = || d.log_count("folder name is one of herald's own paths");
    eventually("the reserved folder warned of", DEADLINE, || {
        (said() >= 1).then_some(()).ok_or(d.log())
    });
    // More files in it, and an edit elsewhere: said once, never published.
    site.write("tags/b.md", &article("In tags too", DATE));
    site.write("news/marker.md", &article("Marker", LATER));
    wait_for(&d, &["/rss.xml"], &["Marker"], &["In tags", "In tags too"]);
    assert_eq!(said(), 1, "{}", d.log());
    assert_eq!(d.get("/tags/").status, 200);

    // A folder whose name no URL can carry is no category either.
    site.write("back\\slash/c.md", &article("Behind the slash", DATE));
    let unservable = || d.log_count("folder name holds a backslash");
    eventually("the unservable folder warned of", DEADLINE, || {
        (unservable() >= 1).then_some(()).ok_or(d.log())
    });
    site.write("back\\slash/d.md", &article("Behind the slash too", DATE));
    site.write("news/marker2.md", &article("Second marker", LATER));
    wait_for(&d, &["/rss.xml"], &["Second marker"], &["Behind the slash"]);
    assert_eq!(unservable(), 1, "{}", d.log());
}

#[test]
fn walk_problems_are_logged_once_each() {
    use std::os::unix::ffi::OsStrExt;
    let site = Site::new();
    site.write("news/x.md", &article("Resident", DATE));
    // A name that is not UTF-8 (Latin-1 "café") and a link leading out.
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9.md");
    std::fs::write(site.path("news").join(latin1), article("Latin-1", DATE)).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("o.md"), article("Outside", DATE)).unwrap();
    std::os::unix::fs::symlink(outside.path(), site.path("news/elsewhere")).unwrap();
    let d = Daemon::spawn_watching(&site);
    let counts = || {
        (
            d.log_count("file name is not valid UTF-8"),
            d.log_count("symbolic link leads outside content.dir"),
        )
    };
    eventually("both walk problems in the log", DEADLINE, || {
        let n = counts();
        (n.0 >= 1 && n.1 >= 1).then_some(()).ok_or(d.log())
    });
    wait_for(
        &d,
        &["/news/rss.xml"],
        &["Resident"],
        &["Latin-1", "Outside"],
    );

    // A reload walks the whole tree again and finds the same: not said again.
    d.signal(libc::SIGHUP);
    eventually("SIGHUP in the log", DEADLINE, || {
        (d.log_count("SIGHUP") >= 1).then_some(()).ok_or(d.log())
    });
    // A folder moved in, with a name of its own that is not UTF-8: said.
    let stage = site.root.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::write(stage.join("ok.md"), article("Moved in", DATE)).unwrap();
    let other = std::ffi::OsStr::from_bytes(b"r\xe9sum\xe9.md");
    std::fs::write(stage.join(other), article("Latin-1 too", DATE)).unwrap();
    std::fs::rename(&stage, site.path("sport")).unwrap();
    wait_for(&d, &["/sport/rss.xml"], &["Moved in"], &["Latin-1 too"]);
    eventually("the moved folder's problem in the log", DEADLINE, || {
        (counts().0 >= 2).then_some(()).ok_or(d.log())
    });
    // Every line before the sentinel's is in the log once it is.
    site.write("news/zz-sentinel.md", "+++\ntitle = \n+++\n");
    eventually("the sentinel's error in the log", DEADLINE, || {
        (d.log_count("zz-sentinel.md") >= 1)
            .then_some(())
            .ok_or(d.log())
    });
    assert_eq!(counts(), (2, 1), "{}", d.log());
}

#[test]
fn a_load_logs_a_bounded_number_of_warnings_and_says_how_many_more() {
    // Every file carries an unknown key, as a CMS export might: 50 more
    // warnings than a load logs.
    let n = LOAD_WARNINGS_LOGGED + 50;
    let site = Site::with_config(&config_text("Warn", "", "[feeds]\nlimit = 20\n"));
    for i in 0..n {
        site.write(
            &format!("news/a{i:03}.md"),
            &format!(
                "+++\ntitle = \"Story {i}\"\ndate = \"2025-03-01 10:{:02}\"\npriority = 3\n+++\nBody.\n",
                i % 60
            ),
        );
    }
    let d = Daemon::spawn_watching(&site);
    eventually("the summary line", DEADLINE, || {
        (d.log_count("more warnings at this load were not logged") >= 1)
            .then_some(())
            .ok_or(d.log())
    });
    let said = || d.log_count("unknown key `priority` ignored");
    assert_eq!(said(), LOAD_WARNINGS_LOGGED, "{}", d.log());
    assert_eq!(
        d.log_count("50 more warnings at this load"),
        1,
        "{}",
        d.log()
    );
    // Past the load, an edit's warning is logged whatever the count.
    site.write(
        "news/zz-edit.md",
        "+++\ntitle = \"Edited\"\ndate = \"2025-03-02 10:00\"\nmood = \"calm\"\n+++\nBody.\n",
    );
    eventually("the edit's warning", DEADLINE, || {
        (d.log_count("unknown key `mood` ignored") == 1)
            .then_some(())
            .ok_or(d.log())
    });
    assert_eq!(said(), LOAD_WARNINGS_LOGGED, "{}", d.log());
}

/// Edits made while the daemon loads and right after it first answers are
/// all served, those after the first answer within the debounce and a
/// moment: the watchers run before the first request is answered, and
/// the catch-up with changes made during the load runs beside the events.
#[test]
fn edits_during_and_right_after_the_first_load_are_all_served_promptly() {
    let site = Site::new();
    // A tree big enough that the first load takes a while, written an
    // hour ago (a tree written just before the daemon starts is all
    // re-read by the catch-up, as file times are coarse).
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    for i in 0..3000 {
        let rel = format!("bulk/a{i:05}.md");
        site.write(&rel, &article(&format!("Bulk {i}"), "2020-01-01 00:00"));
        std::fs::File::options()
            .write(true)
            .open(site.path(&rel))
            .and_then(|f| f.set_modified(an_hour_ago))
            .unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let saved = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Instant)>::new()));
    let writer = {
        let (stop, saved) = (stop.clone(), saved.clone());
        let content = site.content.clone();
        std::thread::spawn(move || {
            let mut k = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let title = format!("Early edit {k}");
                let path = content.join(format!("live/e{k:03}.md"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                let date = format!("2025-06-01 {:02}:{:02}", k / 60, k % 60);
                atomic_save(&path, &article(&title, &date));
                saved.lock().unwrap().push((title, Instant::now()));
                k += 1;
                std::thread::sleep(Duration::from_millis(40));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(30));
    let d = Daemon::start(&site.config);
    let first_answer = Instant::now();
    // Keep editing for a while after the first answer, watching the feed.
    let mut seen: std::collections::HashMap<String, Instant> = Default::default();
    while first_answer.elapsed() < Duration::from_millis(1500) {
        if let Ok(titles) = d.titles("/live/rss.xml") {
            for t in titles {
                seen.entry(t).or_insert_with(Instant::now);
            }
        }
        if first_answer.elapsed() > Duration::from_millis(800) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    writer.join().unwrap();
    let saved = saved.lock().unwrap().clone();
    assert!(saved.len() > 20, "only {} edits made", saved.len());
    // Every edit is served in the end.
    eventually("every edit served", DEADLINE, || {
        let titles = d.titles("/live/rss.xml")?;
        let missing: Vec<&String> = saved
            .iter()
            .map(|(t, _)| t)
            .filter(|t| !titles.contains(t))
            .collect();
        missing
            .is_empty()
            .then_some(())
            .ok_or(format!("missing {missing:?}"))
    });
    // Those saved after the first answer, promptly (debounce 50 ms; slack
    // for a loaded two-core machine).
    let late: Vec<(String, Duration)> = saved
        .iter()
        .filter(|(_, at)| *at > first_answer)
        .filter_map(|(t, at)| {
            let shown = seen.get(t)?;
            Some((t.clone(), shown.saturating_duration_since(*at)))
        })
        .collect();
    assert!(
        late.len() > 10,
        "too few edits seen after the first answer: {late:?}"
    );
    let slow: Vec<&(String, Duration)> = late
        .iter()
        .filter(|(_, took)| *took > Duration::from_millis(600))
        .collect();
    assert!(
        slow.is_empty(),
        "served late after the first answer: {slow:?}"
    );
}
