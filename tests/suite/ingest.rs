//! `run --once` end to end: copies of one story fold into one cluster, unrelated stories stay
//! apart, polls are idempotent, and a broken feed is an error on that feed only.

use std::time::Duration;

use crate::common::{FeedServer, Item, Route, Workspace, feeds_toml, fixture, rss, terminate};

/// The paragraphs of the real article in the fixtures (standfirst, byline and date skipped).
fn paragraphs() -> Vec<String> {
    fixture("sample-article.txt")
        .lines()
        .skip(3)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn html(paragraphs: &[String]) -> String {
    paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect()
}

/// Unrelated stories, each about something else.
fn unrelated(n: usize) -> Item {
    let stories = [
        (
            "Magnitude 6.1 earthquake shakes northern Chile",
            "A magnitude 6.1 earthquake struck off the coast of northern Chile early on Tuesday, the national seismology centre said, rattling buildings in Antofagasta and Iquique. There were no immediate reports of casualties or serious damage, and the navy said the quake did not meet the conditions to generate a tsunami along the coast. Residents in several towns left their homes as a precaution before returning after the all-clear was given by emergency officials.",
        ),
        (
            "Central bank holds rates as inflation cools",
            "The central bank left its benchmark interest rate unchanged at 3.75 percent on Thursday, saying inflation had cooled faster than expected over the summer while the labour market showed signs of softening. Policymakers voted seven to two to hold, with two members preferring a quarter-point cut. The governor told reporters that the committee would watch wage growth closely before deciding whether to ease policy at its December meeting.",
        ),
        (
            "Local club wins cup final on penalties",
            "Riverside Athletic won the regional cup final on penalties after a goalless draw against Northgate Rovers in front of a sell-out crowd on Saturday. Goalkeeper Tom Ellis saved two spot kicks in the shoot-out before captain Sam Okafor scored the winner. The manager praised his players for their resilience during extra time and dedicated the trophy to the club's volunteers and supporters.",
        ),
        (
            "Tech firm unveils foldable laptop",
            "A Seoul-based electronics maker unveiled a laptop with a foldable 17-inch screen at a trade show on Wednesday, betting that professionals will pay a premium for a device that folds to the size of a paperback. The company said the machine would go on sale in March, priced from 2,499 dollars, and that its hinge had been tested for more than 200,000 folds without damage to the display.",
        ),
    ];
    let (title, body) = stories[n];
    Item {
        guid: Some(format!("other-{n}")),
        link: Some(format!("https://elsewhere.example/story/{n}")),
        title: title.into(),
        html: format!("<p>{body}</p>"),
        published: Some(format!("Sat, 06 Sep 2025 1{n}:00:00 +0000")),
    }
}

/// Serves three outlets carrying the same story with the edits syndication makes, each beside
/// unrelated stories.
pub(super) fn serve_story(server: &FeedServer) -> Vec<String> {
    let p = paragraphs();
    let original = Item {
        guid: Some("wire-1".into()),
        link: Some("https://wire.example/world/russia-nato-troops".into()),
        title: "Russia threatens NATO troops in Ukraine as \u{201c}legitimate targets\u{201d}"
            .into(),
        html: html(&p),
        published: Some("Sat, 06 Sep 2025 09:00:00 +0000".into()),
    };
    // New headline, wire prefix, trimmed body, straight quotes, dateline, tracking parameters.
    let mut trimmed: Vec<String> = p[..5]
        .iter()
        .map(|s| {
            s.replace(['\u{201c}', '\u{201d}'], "\"")
                .replace('\u{2019}', "'")
        })
        .collect();
    trimmed[0] = format!("LONDON (Daily Wire) - {}", trimmed[0]);
    let daily = Item {
        guid: Some("daily-77".into()),
        link: Some("https://daily.example/2025/09/06/putin-troops?utm_source=rss&utm_medium=feed&utm_campaign=world".into()),
        title: "UPDATE 1-Putin warns any foreign troops in Ukraine would be targets".into(),
        html: html(&trimmed),
        published: Some("Sat, 06 Sep 2025 10:30:00 +0000".into()),
    };
    // Another headline, no guid, appended boilerplate, HTML wrappers, tracking in the link.
    let metro = Item {
        guid: None,
        link: Some("https://metro.example/news/12345?fbclid=IwAR0abc#comments".into()),
        title: "Kremlin says NATO troops would be 'legitimate targets'".into(),
        html: format!(
            "<div class=\"article\"><figure><img src=\"/i/putin.jpg\" alt=\"Putin\"><figcaption>Vladimir Putin in Vladivostok</figcaption></figure>{}<p><em>(Reporting by Imran Malik; Editing by Anna Kowalski)</em></p><p>Copyright 2025 Metro News. All rights reserved. Click here to subscribe to our newsletter.</p></div>",
            html(&p[..7])
        ),
        published: Some("Sat, 06 Sep 2025 11:15:00 +0000".into()),
    };
    server.set(
        "/wire.xml",
        Route::xml(rss("Wire", &[original, unrelated(0)])),
    );
    server.set(
        "/daily.xml",
        Route::xml(rss("Daily", &[unrelated(1), daily])),
    );
    server.set(
        "/metro.xml",
        Route::xml(rss("Metro", &[metro, unrelated(2), unrelated(3)])),
    );
    vec![
        server.url("/wire.xml"),
        server.url("/daily.xml"),
        server.url("/metro.xml"),
    ]
}

fn guids(cluster: &serde_json::Value) -> Vec<String> {
    let mut g: Vec<String> = cluster["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["guid"].as_str().unwrap().to_string())
        .collect();
    g.sort();
    g
}

/// The story of `clusters` (`clusters --json`) that holds the item `guid`.
fn story_of(clusters: &[serde_json::Value], guid: &str) -> serde_json::Value {
    clusters
        .iter()
        .find(|c| guids(c).contains(&guid.to_string()))
        .unwrap_or_else(|| panic!("{guid} is stored"))
        .clone()
}

/// The member `guid` of `story`, with its reason.
fn member(story: &serde_json::Value, guid: &str) -> serde_json::Value {
    story["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["guid"] == guid)
        .unwrap_or_else(|| panic!("{guid} in {story:#}"))
        .clone()
}

#[test]
fn copies_of_one_story_fold_into_one_cluster_and_the_rest_stay_apart() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    ws.write_config(&serve_story(&server));
    let out = ws.ok(&["run", "--once"]);
    assert!(out.stdout.contains("3 feeds: 3 ok"), "{}", out.stdout);

    let clusters = ws.all_clusters();
    let items: usize = clusters
        .iter()
        .map(|c| c["items"].as_array().unwrap().len())
        .sum();
    assert_eq!(items, 7, "every item listed exactly once");
    let big: Vec<&serde_json::Value> = clusters.iter().filter(|c| c["size"] != 1).collect();
    assert_eq!(big.len(), 1, "one multi-item cluster: {clusters:#?}");
    let story = big[0];
    assert_eq!(story["size"], 3);
    assert_eq!(story["sources"], 3);
    assert_eq!(
        guids(story),
        vec!["daily-77", "u:https://metro.example/news/12345", "wire-1"]
    );
    // The representative is the earliest published; each copy says why it joined and to whom
    // (which copy came first depends on which feed answered first).
    assert_eq!(
        story["title"],
        "Russia threatens NATO troops in Ukraine as \u{201c}legitimate targets\u{201d}"
    );
    assert_eq!(
        story["url"],
        "https://wire.example/world/russia-nato-troops"
    );
    let members = story["items"].as_array().unwrap();
    let ids: Vec<&serde_json::Value> = members.iter().map(|i| &i["id"]).collect();
    let rules: Vec<&str> = members
        .iter()
        .map(|i| i["reason"]["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules.iter().filter(|r| **r == "first").count(),
        1,
        "{rules:?}"
    );
    assert_eq!(
        rules.iter().filter(|r| **r == "near-duplicate").count(),
        2,
        "{rules:?}"
    );
    for copy in members.iter().filter(|i| i["reason"]["rule"] != "first") {
        assert!(copy["reason"]["score"].as_f64().unwrap() >= 0.6, "{copy:#}");
        assert!(copy["reason"]["distance"].is_i64(), "{copy:#}");
        assert!(ids.contains(&&copy["reason"]["matched"]), "{copy:#}");
    }
    // Unrelated stories are singletons.
    let singles: Vec<Vec<String>> = clusters
        .iter()
        .filter(|c| c["size"] == 1)
        .map(guids)
        .collect();
    assert_eq!(singles.len(), 4);

    // A second poll of the same feeds adds nothing.
    let again = ws.ok(&["run", "--once"]);
    assert!(again.stdout.contains("0 new items"), "{}", again.stdout);
    assert_eq!(ws.all_clusters(), clusters);
}

#[test]
fn items_without_guid_or_link_are_not_duplicated_across_polls() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let bare = |n: usize| Item {
        title: format!("Bulletin number {n}"),
        html: format!("<p>Text of bulletin {n}, with nothing to identify it but its words.</p>"),
        ..Item::default()
    };
    server.set("/bare.xml", Route::xml(rss("Bare", &[bare(1), bare(2)])));
    ws.write_config(&[server.url("/bare.xml")]);
    ws.ok(&["run", "--once"]);
    // The document changes around the items (a new one on top), so it is parsed again.
    server.set(
        "/bare.xml",
        Route::xml(rss("Bare v2", &[bare(3), bare(1), bare(2)])),
    );
    ws.ok(&["run", "--once"]);
    server.set(
        "/bare.xml",
        Route::xml(rss("Bare v3", &[bare(3), bare(2), bare(1)])),
    );
    let third = ws.ok(&["run", "--once"]);
    assert!(third.stdout.contains("0 new items"), "{}", third.stdout);
    assert_eq!(server.hits("/bare.xml"), 3);
    let clusters = ws.all_clusters();
    let mut titles: Vec<String> = clusters
        .iter()
        .flat_map(|c| c["items"].as_array().unwrap().clone())
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        vec![
            "Bulletin number 1",
            "Bulletin number 2",
            "Bulletin number 3"
        ]
    );
}

#[test]
fn a_broken_feed_is_an_error_on_that_feed_and_the_others_are_ingested() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let mut urls = serve_story(&server);
    server.set(
        "/garbage.xml",
        Route::xml("<rss version=\"2.0\"><channel><item><title>never closed"),
    );
    server.set("/down.xml", Route::status(500, "internal error"));
    server.set(
        "/page.xml",
        Route {
            content_type: "text/html".into(),
            ..Route::xml("<!DOCTYPE html><html><body>Just a moment...</body></html>")
        },
    );
    urls.push(server.url("/garbage.xml"));
    urls.push(server.url("/down.xml"));
    urls.push(server.url("/page.xml"));
    let missing = ws.path("no-such-feed.xml");
    urls.push(format!("file://{}", missing.display()));
    ws.write_config(&urls);

    let out = ws.ok(&["run", "--once"]);
    assert!(
        out.stdout
            .contains("7 feeds: 3 ok, 0 unchanged, 4 failed; 7 new items"),
        "{}",
        out.stdout
    );
    let feeds = ws.ok(&["feeds", "--json"]).json();
    let by_url = |url: &str| {
        feeds
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["url"] == url)
            .unwrap()
            .clone()
    };
    for good in &urls[..3] {
        let f = by_url(good);
        assert_eq!(f["state"], "ok");
        assert_eq!(f["error_count"], 0);
        assert!(f["items"].as_i64().unwrap() >= 2);
    }
    let garbage = by_url(&urls[3]);
    assert_eq!(garbage["state"], "error");
    assert_eq!(garbage["error_count"], 1);
    assert!(
        garbage["last_error"]
            .as_str()
            .unwrap()
            .contains("not a valid RSS"),
        "{garbage:#}"
    );
    let down = by_url(&urls[4]);
    assert_eq!(down["last_status"], 500);
    assert!(
        down["last_error"].as_str().unwrap().contains("HTTP 500"),
        "{down:#}"
    );
    let page = by_url(&urls[5]);
    assert!(
        page["last_error"].as_str().unwrap().contains("not a feed"),
        "{page:#}"
    );
    assert!(
        page["last_error"].as_str().unwrap().contains("text/html"),
        "{page:#}"
    );
    let file = by_url(&urls[6]);
    assert_eq!(file["state"], "error");
    assert!(
        file["last_error"]
            .as_str()
            .unwrap()
            .contains("no-such-feed.xml"),
        "{file:#}"
    );

    // Consecutive failures are counted; a recovery resets the count.
    ws.ok(&["run", "--once"]);
    server.set("/down.xml", Route::xml(rss("Back", &[unrelated(0)])));
    ws.ok(&["run", "--once"]);
    let feeds = ws.ok(&["feeds", "--json"]).json();
    let garbage = feeds
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["url"] == urls[3].as_str())
        .unwrap();
    assert_eq!(garbage["error_count"], 3);
    let down = feeds
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["url"] == urls[4].as_str())
        .unwrap();
    assert_eq!(down["state"], "ok");
    assert_eq!(down["error_count"], 0);
}

#[test]
fn the_same_link_through_another_feed_is_the_same_item_in_both_feeds() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let story = unrelated(1);
    let mut relayed = story.clone();
    relayed.guid = Some("aggregator-9".into());
    relayed.link = Some(format!(
        "{}?utm_source=aggregator&utm_medium=rss#top",
        story.link.clone().unwrap()
    ));
    relayed.title = "Rates on hold (via Aggregator)".into();
    server.set("/outlet.xml", Route::xml(rss("Outlet", &[story])));
    server.set("/aggregator.xml", Route::xml(rss("Aggregator", &[relayed])));
    ws.write_config(&[server.url("/outlet.xml")]);
    ws.ok(&["run", "--once"]);
    ws.write_config(&[server.url("/outlet.xml"), server.url("/aggregator.xml")]);
    let out = ws.ok(&["run", "--once"]);
    assert!(
        out.stdout.contains("1 already seen via another feed"),
        "{}",
        out.stdout
    );
    let clusters = ws.all_clusters();
    assert_eq!(clusters.len(), 1);
    let item = &clusters[0]["items"][0];
    assert_eq!(clusters[0]["size"], 1);
    assert_eq!(clusters[0]["sources"], 2);
    // The title first seen is kept; the item belongs to both feeds.
    assert_eq!(item["title"], "Central bank holds rates as inflation cools");
    assert_eq!(item["feeds"].as_array().unwrap().len(), 2);
    let feeds = ws.ok(&["feeds", "--json"]).json();
    assert!(
        feeds.as_array().unwrap().iter().all(|f| f["items"] == 1),
        "{feeds:#}"
    );
}

#[test]
fn an_edited_title_updates_the_item_in_place() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let v1 = unrelated(0);
    let mut v2 = v1.clone();
    v2.title = "Magnitude 6.3 earthquake shakes northern Chile, no tsunami".into();
    server.set("/quake.xml", Route::xml(rss("Q", &[v1])));
    ws.write_config(&[server.url("/quake.xml")]);
    ws.ok(&["run", "--once"]);
    server.set("/quake.xml", Route::xml(rss("Q", &[v2])));
    let out = ws.ok(&["run", "--once"]);
    assert!(
        out.stdout.contains("0 new items") && out.stdout.contains("1 updated"),
        "{}",
        out.stdout
    );
    let clusters = ws.all_clusters();
    assert_eq!(clusters.len(), 1);
    assert_eq!(
        clusters[0]["items"][0]["title"],
        "Magnitude 6.3 earthquake shakes northern Chile, no tsunami"
    );
    // The search index followed the edit: the new title's words are found, the old ones not.
    let found = |query: &str| {
        ws.ok(&["search", "--since", "100000d", "--json", query])
            .json()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(found("title:6.3"), 1);
    assert_eq!(found("title:6.1"), 0);
    assert_eq!(found("title:tsunami"), 1);
    ws.db()
        .execute(
            "INSERT INTO items_fts(items_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("the search index agrees with the items");
}

#[test]
fn the_store_is_consistent_and_every_item_is_in_exactly_one_cluster() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    ws.write_config(&serve_story(&server));
    ws.ok(&["run", "--once"]);
    let db = ws.db();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let (items, sized): (i64, i64) = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM items), (SELECT SUM(size) FROM clusters)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(items, 7);
    assert_eq!(sized, 7, "cluster sizes add up to the items");
    let orphans: i64 = db
        .query_row("SELECT COUNT(*) FROM items i LEFT JOIN feed_items fi ON fi.item_id = i.id WHERE fi.item_id IS NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orphans, 0, "every item belongs to a feed");
}

#[test]
fn a_copy_arriving_after_a_restart_joins_the_story_stored_before_it() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let urls = serve_story(&server);
    // First process: only the wire's feed.
    ws.write_config(&urls[..1]);
    ws.ok(&["run", "--once"]);
    assert_eq!(ws.all_clusters().len(), 2);
    // A new process (the candidate index starts empty and is rebuilt from the store) meets
    // the copies.
    ws.write_config(&urls);
    let out = ws.ok(&["run", "--once"]);
    let clusters = ws.all_clusters();
    assert!(
        out.stdout.contains("2 folded"),
        "{}\n{clusters:#?}",
        out.stdout
    );
    let clusters = ws.all_clusters();
    let story = clusters.iter().find(|c| c["size"] == 3).expect("one story");
    assert_eq!(
        guids(story),
        vec!["daily-77", "u:https://metro.example/news/12345", "wire-1"]
    );
}

/// An outlet's report `guid` (linked at `https://{guid}.example/story`), published on
/// 1 September 2025 at `hour`.
fn report(guid: &str, title: &str, body: &str, hour: u32) -> Item {
    Item {
        guid: Some(guid.into()),
        link: Some(format!("https://{guid}.example/story")),
        title: title.into(),
        html: format!("<p>{body}</p>"),
        published: Some(format!("Mon, 01 Sep 2025 {hour:02}:00:00 +0000")),
    }
}

/// Two outlets' own reports of one event, and a report of another event of the same kind.
fn rehab_reports() -> Vec<Item> {
    vec![
        report(
            "people",
            "Tara Reid checks into Promises rehab in Malibu",
            "Actress Tara Reid has checked herself into the Promises Treatment Center in Malibu, \
             her representative told People magazine on Monday. The American Pie star asked for \
             privacy while she receives treatment at Promises, the representative said, adding \
             that Reid was grateful for the support of her family and friends.",
            9,
        ),
        report(
            "eonline",
            "American Pie star Tara Reid enters Promises Treatment Center",
            "Tara Reid is in rehab. The American Pie actress entered the Promises Treatment \
             Center in Malibu this week, a spokesperson for Reid confirmed, and hopes to return \
             to work soon. Promises has treated several Hollywood stars; Reid thanked fans for \
             their messages and asked the press to respect her privacy in Malibu.",
            11,
        ),
        report(
            "tmz",
            "Lindsay Lohan checks into Betty Ford Center",
            "Actress Lindsay Lohan has checked into the Betty Ford Center in Rancho Mirage, her \
             lawyer told a Los Angeles judge on Monday. Lohan will stay at Betty Ford for ninety \
             days under the terms of her sentence, the lawyer said, and asked for privacy while \
             the Mean Girls star receives treatment.",
            12,
        ),
    ]
}

/// Serves the rehab reports, one feed each, after a feed of forty unrelated earlier stories;
/// returns the URLs, the history feed first.
fn serve_rehab(server: &FeedServer) -> Vec<String> {
    let reports = rehab_reports();
    for (n, report) in reports.iter().enumerate() {
        server.set(
            &format!("/r{n}.xml"),
            Route::xml(rss("R", std::slice::from_ref(report))),
        );
    }
    let mut urls: Vec<String> = (0..reports.len())
        .map(|n| server.url(&format!("/r{n}.xml")))
        .collect();
    // The rule weighs words by how rare they are in the stream: a store needs some history
    // before a name stands out. Forty unrelated stories published earlier give it one.
    let topics = [
        ("council", "budget", "Leeds"),
        ("storm", "flooding", "Valencia"),
        ("election", "ballots", "Nairobi"),
        ("strike", "wages", "Lyon"),
        ("museum", "painting", "Oslo"),
        ("bridge", "repairs", "Porto"),
        ("vaccine", "trial", "Toronto"),
        ("airline", "routes", "Dublin"),
    ];
    let history: Vec<Item> = (0..40)
        .map(|n| {
            let (a, b, city) = topics[n % topics.len()];
            Item {
                guid: Some(format!("history-{n}")),
                link: Some(format!("https://history.example/{n}")),
                title: format!("{city} {a} report number {n}"),
                html: format!(
                    "<p>Officials in {city} discussed the {a} and the {b} on day {n}, with \
                     residents and experts offering views on what comes next for the region \
                     and its {b}.</p>"
                ),
                published: Some("Sun, 31 Aug 2025 08:00:00 +0000".into()),
            }
        })
        .collect();
    server.set("/history.xml", Route::xml(rss("History", &history)));
    urls.insert(0, server.url("/history.xml"));
    urls
}

/// A config with these feeds and `[dedup] related`.
fn related_config(urls: &[String], related: bool) -> String {
    // A watch on every story, so that re-clustering has alerts to keep consistent.
    let mut config = format!(
        "[fetch]\nhost_spacing = \"0s\"\n[dedup]\nrelated = {related}\n\n\
         [[sinks]]\nname = \"log\"\nkind = \"log\"\n\n\
         [[watches]]\nname = \"all\"\nquery = \"the OR in OR of\"\nnotify = [\"log\"]\n\n"
    );
    config.push_str(&feeds_toml(urls));
    config
}

/// The same with `[dedup] merge_stories = true`.
fn merging_config(urls: &[String]) -> String {
    related_config(urls, true).replace(
        "[dedup]\nrelated = true\n",
        "[dedup]\nrelated = true\nmerge_stories = true\n",
    )
}

/// Rows that break the store's story bookkeeping: a size that is not the member count, an
/// empty story, a representative that is not a member, an alert or watch match of a story that
/// is gone, a delivery of an alert that is gone. 0 in a consistent store.
fn inconsistencies(db: &rusqlite::Connection) -> i64 {
    db.query_row(
        "SELECT (SELECT COUNT(*) FROM clusters c
                 WHERE c.size != (SELECT COUNT(*) FROM items i WHERE i.cluster_id = c.id)
                    OR c.size = 0
                    OR c.representative NOT IN (SELECT id FROM items i WHERE i.cluster_id = c.id))
              + (SELECT COUNT(*) FROM alerts WHERE cluster_id NOT IN (SELECT id FROM clusters))
              + (SELECT COUNT(*) FROM watch_matches WHERE cluster_id NOT IN (SELECT id FROM clusters))
              + (SELECT COUNT(*) FROM deliveries WHERE alert_id NOT IN (SELECT id FROM alerts))",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// The alerts raised for `story` (a cluster of `clusters --json`).
fn alerts_on(db: &rusqlite::Connection, story: &serde_json::Value) -> i64 {
    db.query_row(
        "SELECT COUNT(*) FROM alerts WHERE cluster_id = ?1",
        [story["id"].as_i64().unwrap()],
        |r| r.get(0),
    )
    .unwrap()
}

/// After a fold into `story`: the store stays consistent (sizes match members, no empty story,
/// no orphaned alert or watch match), the story is announced once (the folded story's alert
/// went), and clustering the stored items again with the same settings gives the same stories.
fn assert_consistent_after_fold(ws: &Workspace, story: &serde_json::Value) {
    let db = ws.db();
    assert_eq!(inconsistencies(&db), 0);
    assert_eq!(alerts_on(&db, story), 1, "announced once");
    let again = ws.ok(&["recluster", "--dry-run"]);
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );
}

/// Ingests the history first (so that the stream has some), then the reports.
fn ingest_rehab(ws: &Workspace, urls: &[String], related: bool) {
    ws.write_config_text(&related_config(&urls[..1], related));
    ws.ok(&["run", "--once"]);
    ws.write_config_text(&related_config(urls, related));
    ws.ok(&["run", "--once"]);
}

#[test]
fn reports_of_one_event_in_other_words_join_and_the_same_kind_of_event_stays_apart() {
    let server = FeedServer::start();
    let urls = serve_rehab(&server);
    let ws = Workspace::new();
    ingest_rehab(&ws, &urls, true);
    let clusters = ws.all_clusters();
    let reid = clusters
        .iter()
        .find(|c| c["size"] == 2)
        .unwrap_or_else(|| panic!("the two Reid reports form one story: {clusters:#?}"));
    assert_eq!(guids(reid), vec!["eonline", "people"]);
    // Whichever feed the writer took first started the story; the other joined it.
    let joined = reid["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reason"]["rule"] != "first")
        .unwrap();
    assert_eq!(joined["reason"]["rule"], "related", "{joined:#}");
    assert!(joined["reason"]["score"].as_f64().unwrap() >= 0.6);
    let lohan = story_of(&clusters, "tmz");
    assert_eq!(lohan["size"], 1, "Lohan's story stays apart: {lohan:#}");

    // `related = false`: copies only.
    let ws = Workspace::new();
    ingest_rehab(&ws, &urls, false);
    assert!(ws.all_clusters().iter().all(|c| c["size"] == 1));
}

#[test]
fn recluster_reports_merges_and_splits_and_applies_only_without_dry_run() {
    let server = FeedServer::start();
    let urls = serve_rehab(&server);
    let ws = Workspace::new();
    ingest_rehab(&ws, &urls, false);
    let before = ws.all_clusters();
    assert!(before.iter().all(|c| c["size"] == 1));

    // The settings change: related coverage on. A dry run reports the merge, changes nothing.
    ws.write_config_text(&related_config(&urls, true));
    let dry = ws.ok(&["recluster", "--dry-run"]);
    assert!(
        dry.stdout
            .contains("items changing story: 1; merged: 1, split: 0"),
        "{}",
        dry.stdout
    );
    let merged_line = dry
        .stdout
        .lines()
        .find(|l| l.contains("merged: \""))
        .unwrap();
    assert_eq!(merged_line.matches("Tara Reid").count(), 2, "{merged_line}");
    assert!(
        dry.stdout.contains("dry run: nothing changed"),
        "{}",
        dry.stdout
    );
    assert_eq!(ws.all_clusters(), before);

    let applied = ws.ok(&["recluster"]);
    assert!(applied.stdout.contains("applied"), "{}", applied.stdout);
    let after = ws.all_clusters();
    let reid = after
        .iter()
        .find(|c| c["size"] == 2)
        .expect("the Reid story");
    assert_eq!(guids(reid), vec!["eonline", "people"]);
    assert!(
        reid["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["reason"]["rule"] == "related")
    );
    assert_eq!(after.len(), before.len() - 1);
    // The store stays consistent: sizes match members, no empty cluster is left, alerts and
    // watch matches point at living stories; the two Reid reports had one alert each, the
    // merged story keeps one.
    let db = ws.db();
    assert_eq!(inconsistencies(&db), 0);
    assert_eq!(alerts_on(&db, reid), 1);
    // Unchanged stories kept their ids.
    let ids = |cs: &[serde_json::Value]| -> std::collections::BTreeSet<i64> {
        cs.iter().map(|c| c["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(ids(&before).difference(&ids(&after)).count(), 1);

    // Again with the same settings: nothing to do. Back to copies only: the story splits.
    assert!(ws.ok(&["recluster"]).stdout.contains("nothing to change"));
    ws.write_config_text(&related_config(&urls, false));
    let split = ws.ok(&["recluster", "--dry-run"]);
    assert!(
        split.stdout.contains("merged: 0, split: 1"),
        "{}",
        split.stdout
    );
    ws.ok(&["recluster"]);
    assert!(ws.all_clusters().iter().all(|c| c["size"] == 1));
    // A period with no items in it changes nothing.
    assert!(
        ws.ok(&["recluster", "--since", "1h"])
            .stdout
            .contains("recluster: 0 items")
    );
}

/// Three outlets' own reports of one eruption: the first two share too little to join (each
/// starts a story); the third reports what both say.
fn eruption_reports() -> Vec<Item> {
    vec![
        report(
            "ruv",
            "Volcano erupts on Reykjanes peninsula near Grindavik",
            "A volcano erupted on the Reykjanes peninsula in Iceland on Monday evening, sending \
             fountains of lava into the sky near the fishing town of Grindavik, which had been \
             evacuated. The Icelandic Meteorological Office said the fissure was about four \
             kilometres long and that seismic activity had been building for weeks.",
            9,
        ),
        report(
            "mbl",
            "Lava reaches defensive walls as Grindavik eruption goes on",
            "Civil protection officials said lava was moving towards the defensive walls built \
             north of Grindavik overnight. The Blue Lagoon spa closed its doors and flights at \
             Keflavik airport were not affected, the operator Isavia said, while engineers \
             raised the barriers with more earth.",
            10,
        ),
        report(
            "visir",
            "Grindavik evacuated and Blue Lagoon closed as Reykjanes volcano erupts",
            "The eruption on the Reykjanes peninsula forced the evacuation of Grindavik. The \
             Icelandic Meteorological Office said the fissure was four kilometres long; the \
             Blue Lagoon spa closed as lava moved toward the defensive walls north of the town, \
             and Isavia said Keflavik airport stayed open.",
            11,
        ),
    ]
}

/// One feed per eruption report (`/e0.xml`..): their URLs.
fn serve_eruption_feeds(server: &FeedServer) -> Vec<String> {
    let mut feeds = Vec::new();
    for (n, report) in eruption_reports().iter().enumerate() {
        let path = format!("/e{n}.xml");
        server.set(&path, Route::xml(rss("E", std::slice::from_ref(report))));
        feeds.push(server.url(&path));
    }
    feeds
}

#[test]
fn by_default_a_report_of_two_stories_joins_one_and_merges_nothing() {
    let server = FeedServer::start();
    let urls = serve_rehab(&server);
    let mut feeds = urls[..1].to_vec();
    feeds.extend(serve_eruption_feeds(&server));
    let ws = Workspace::new();
    ws.write_config_text(&related_config(&urls[..1], true));
    ws.ok(&["run", "--once"]);
    ws.write_config_text(&related_config(&feeds[..3], true));
    ws.ok(&["run", "--once"]);
    let before = ws.all_clusters();
    ws.write_config_text(&related_config(&feeds, true));
    let run = ws.ok(&["run", "--once"]);
    assert!(!run.stdout.contains("merged"), "{}", run.stdout);
    let after = ws.all_clusters();
    assert_eq!(after.len(), before.len(), "no story added, none gone");
    let with = |guid: &str| story_of(&after, guid);
    let (ruv, mbl, visir) = (with("ruv"), with("mbl"), with("visir"));
    assert_ne!(ruv["id"], mbl["id"], "the first two stay apart");
    assert!(
        visir["id"] == ruv["id"] || visir["id"] == mbl["id"],
        "{visir:#}"
    );
    let joined = visir["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["guid"] == "visir")
        .unwrap()
        .clone();
    assert_eq!(joined["reason"]["rule"], "related", "{joined:#}");
    let score = joined["reason"]["score"].as_f64().unwrap();
    assert!(
        (0.3..0.65).contains(&score),
        "joined under the bar, echoed by both stories: {score}"
    );
    // `recluster` judges its period as one batch, as a fetch is judged: it would fold them.
    let dry = ws.ok(&["recluster", "--dry-run"]);
    assert!(dry.stdout.contains("merged: 1, split: 0"), "{}", dry.stdout);
}

#[test]
fn one_fetch_is_judged_whole_a_story_it_started_folds_into_the_older() {
    let server = FeedServer::start();
    let urls = serve_rehab(&server);
    // The three reports in one feed: the second starts a story of its own, the third ties the
    // two. Nobody has seen the second story's id before the fetch commits: by default it is
    // folded into the first.
    server.set("/eruption.xml", Route::xml(rss("E", &eruption_reports())));
    let mut feeds = urls[..1].to_vec();
    feeds.push(server.url("/eruption.xml"));
    let ws = Workspace::new();
    ws.write_config_text(&related_config(&urls[..1], true));
    ws.ok(&["run", "--once"]);
    let before = ws.all_clusters();
    ws.write_config_text(&related_config(&feeds, true));
    let run = ws.ok(&["run", "--once"]);
    let story = assert_mbl_folded_into_ruv(&ws, &before, &run.stdout);
    assert_consistent_after_fold(&ws, &story);
}

/// After a run (which printed `stdout`) that stored the eruption reports over the stories
/// `before`: one new story, whose second report's story was folded into the first's when the
/// third tied them. Returns the story.
fn assert_mbl_folded_into_ruv(
    ws: &Workspace,
    before: &[serde_json::Value],
    stdout: &str,
) -> serde_json::Value {
    assert!(
        stdout.contains("stories merged into another: 1"),
        "{stdout}"
    );
    let after = ws.all_clusters();
    assert_eq!(after.len(), before.len() + 1, "one new story");
    let story = story_of(&after, "ruv");
    assert_eq!(guids(&story), vec!["mbl", "ruv", "visir"]);
    let item = |guid: &str| member(&story, guid);
    let (ruv, mbl, visir) = (item("ruv"), item("mbl"), item("visir"));
    assert_eq!(ruv["reason"]["rule"], "first");
    assert_eq!(
        (&mbl["reason"]["rule"], &mbl["reason"]["matched"]),
        (&"merged".into(), &visir["id"]),
        "{mbl:#}"
    );
    assert_eq!(visir["reason"]["rule"], "related", "{visir:#}");
    story
}

#[test]
fn one_round_is_judged_whole_however_far_apart_its_fetches_finish() {
    let server = FeedServer::start();
    let urls = serve_rehab(&server);
    // The three reports in three feeds whose server answers 300 ms apart, in the order of
    // `one_fetch_is_judged_whole_a_story_it_started_folds_into_the_older`: further apart than
    // fetches that merely finish together, but one round (one `run --once`, or the daemon's
    // first look), judged as one batch. So the second report's story is folded into the
    // first's, as within one fetch.
    for (n, report) in eruption_reports().iter().enumerate() {
        server.set(
            &format!("/e{n}.xml"),
            Route {
                delay: Some(Duration::from_millis(300 * n as u64)),
                ..Route::xml(rss("E", std::slice::from_ref(report)))
            },
        );
    }
    let mut feeds = urls[..1].to_vec();
    feeds.extend((0..3).map(|n| server.url(&format!("/e{n}.xml"))));
    // All four requests at once, so that the answers come in the order of their delays.
    let at_once = related_config(&feeds, true).replace("[fetch]\n", "[fetch]\nper_host = 4\n");
    assert!(at_once.contains("per_host = 4"));
    for daemon in [false, true] {
        let ws = Workspace::new();
        ws.write_config_text(&related_config(&urls[..1], true));
        ws.ok(&["run", "--once"]);
        let before = ws.all_clusters();
        ws.write_config_text(&at_once);
        let report = if daemon {
            let mut child = ws.spawn_daemon(&[]);
            let stored = || {
                ws.db()
                    .query_row(
                        "SELECT COUNT(*) FROM items WHERE guid IN ('ruv', 'mbl', 'visir')",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap_or(0)
                    == 3
            };
            ws.wait_until(Duration::from_secs(30), "the reports are stored", stored);
            let status = terminate(&mut child, Duration::from_secs(10));
            assert!(status.success(), "{status:?}");
            ws.daemon_log()
        } else {
            ws.ok(&["run", "--once"]).stdout
        };
        let story = assert_mbl_folded_into_ruv(&ws, &before, &report);
        assert_consistent_after_fold(&ws, &story);
    }
}

#[test]
fn a_report_of_two_stories_merges_them_and_keeps_the_store_consistent() {
    let server = FeedServer::start();
    let urls = serve_rehab(&server);
    let reports = eruption_reports();
    for (n, report) in reports[..2].iter().enumerate() {
        server.set(
            &format!("/e{n}.xml"),
            Route::xml(rss("E", std::slice::from_ref(report))),
        );
    }
    // The third report's feed goes on with a new story and a copy of it: new stories after a
    // merge get ids of their own (the folded story's id is not given again).
    let quake = |guid: &str, hour: u32| Item {
        guid: Some(guid.into()),
        link: Some(format!("https://{guid}.example/story")),
        published: Some(format!("Mon, 01 Sep 2025 {hour:02}:00:00 +0000")),
        ..unrelated(0)
    };
    server.set(
        "/e2.xml",
        Route::xml(rss(
            "E",
            &[
                reports[2].clone(),
                quake("quake", 12),
                quake("quake-copy", 13),
            ],
        )),
    );
    let ws = Workspace::new();
    ws.write_config_text(&merging_config(&urls[..1]));
    ws.ok(&["run", "--once"]);
    // The first two reports: two stories, each announced to the watch.
    let mut feeds = urls[..1].to_vec();
    feeds.extend((0..2).map(|n| server.url(&format!("/e{n}.xml"))));
    ws.write_config_text(&merging_config(&feeds));
    ws.ok(&["run", "--once"]);
    let before = ws.all_clusters();
    let (ruv, mbl) = (story_of(&before, "ruv"), story_of(&before, "mbl"));
    assert_eq!(
        (ruv["size"].as_i64(), mbl["size"].as_i64()),
        (Some(1), Some(1))
    );
    let db = ws.db();
    assert_eq!((alerts_on(&db, &ruv), alerts_on(&db, &mbl)), (1, 1));

    // The third report agrees with both: the newer story is folded into the older.
    feeds.push(server.url("/e2.xml"));
    ws.write_config_text(&merging_config(&feeds));
    let run = ws.ok(&["run", "--once"]);
    assert!(
        run.stdout.contains("stories merged into another: 1"),
        "{}",
        run.stdout
    );
    let after = ws.all_clusters();
    let story = story_of(&after, "visir");
    assert_eq!(guids(&story), vec!["mbl", "ruv", "visir"]);
    // The two feeds were read in whichever order their fetches finished: the story stored
    // first keeps its id.
    let (older, newer) = if ruv["id"].as_i64() < mbl["id"].as_i64() {
        (&ruv, &mbl)
    } else {
        (&mbl, &ruv)
    };
    assert_eq!(story["id"], older["id"], "the older story keeps its id");
    let first_guid = |c: &serde_json::Value| guids(c)[0].clone();
    assert_eq!(
        after.len(),
        before.len(),
        "the folded story is gone, the quake's is new"
    );
    let quake_story = story_of(&after, "quake");
    assert_eq!(guids(&quake_story), vec!["quake", "quake-copy"]);
    assert_ne!(quake_story["id"], newer["id"], "a new id");
    let item = |guid: &str| member(&story, guid);
    let (visir, merged) = (item("visir"), item(&first_guid(newer)));
    assert_eq!(visir["reason"]["rule"], "related", "{visir:#}");
    assert_eq!(visir["reason"]["matched"], item(&first_guid(older))["id"]);
    // The story folded in says why: the report that tied it, and how close it was to it.
    assert_eq!(merged["reason"]["rule"], "merged", "{merged:#}");
    assert_eq!(merged["reason"]["matched"], visir["id"]);
    let score = merged["reason"]["score"].as_f64().unwrap();
    assert!(
        (0.3..0.65).contains(&score),
        "between the bridge and join bars: {score}"
    );
    assert_consistent_after_fold(&ws, &story);
}

#[test]
fn recluster_folds_an_older_story_that_a_report_in_the_period_ties_to_another() {
    let server = FeedServer::start();
    let urls = serve_rehab(&server);
    let mut feeds = urls[..1].to_vec();
    feeds.extend(serve_eruption_feeds(&server));
    // Stored with copies only: three stories, each announced.
    let ws = Workspace::new();
    ws.write_config_text(&related_config(&urls[..1], false));
    ws.ok(&["run", "--once"]);
    ws.write_config_text(&related_config(&feeds, false));
    ws.ok(&["run", "--once"]);
    let before = ws.all_clusters();

    // Related coverage on, over the period from 10:30: the third report (11:00) is decided
    // again; the first two (09:00, 10:00) are its context. It ties them: the context story it
    // does not join moves too.
    ws.write_config_text(&merging_config(&feeds));
    let cutoff = 1_756_722_600; // 2025-09-01T10:30:00Z
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let since = format!("{}s", now - cutoff);
    let dry = ws.ok(&["recluster", "--since", &since, "--dry-run"]);
    assert!(
        dry.stdout
            .contains("items changing story: 2; merged: 1, split: 0"),
        "{}",
        dry.stdout
    );
    assert_eq!(ws.all_clusters(), before);
    ws.ok(&["recluster", "--since", &since]);
    let after = ws.all_clusters();
    assert_eq!(after.len(), before.len() - 2);
    let story = story_of(&after, "visir");
    assert_eq!(guids(&story), vec!["mbl", "ruv", "visir"]);
    let reasons: Vec<String> = story["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reason"]["rule"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = reasons.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["first", "merged", "related"], "{story:#}");
    let db = ws.db();
    assert_eq!(inconsistencies(&db), 0);
    assert_eq!(alerts_on(&db, &story), 1, "announced once");
    // The same settings again over the same period: nothing to change.
    let again = ws.ok(&["recluster", "--since", &since, "--dry-run"]);
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );
}
