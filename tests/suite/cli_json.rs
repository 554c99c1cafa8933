//! Every `--json` output parses and carries exactly DESIGN §2's fields; tables escape feed text;
//! exit codes follow the contract.

use crate::common::{FeedServer, Item, Route, Workspace, rss};

fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

fn story(n: usize, title: &str) -> Item {
    Item {
        guid: Some(format!("g{n}")),
        link: Some(format!("https://news.example/{n}")),
        title: title.into(),
        html: format!(
            "<p>{title}: the full report on this event number {n}, with enough words to make a body that identifies it among the others in this feed today.</p>"
        ),
        published: Some("Mon, 01 Sep 2025 08:00:00 +0000".into()),
    }
}

fn store_with_two_feeds() -> (FeedServer, Workspace) {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let hostile = "Evil \u{1b}]0;pwned\u{7}title \u{1b}[2J with \u{202e}bidi";
    server.set(
        "/a.xml",
        Route::xml(rss(
            "A",
            &[story(1, "Storm reaches the coast"), story(2, hostile)],
        )),
    );
    let mut copy = story(1, "Storm reaches the coast, thousands evacuated");
    copy.guid = Some("b-copy".into());
    copy.link = Some("https://other.example/storm".into());
    copy.published = Some("Mon, 01 Sep 2025 09:00:00 +0000".into());
    server.set("/b.xml", Route::xml(rss("B", &[copy])));
    ws.write_config_text(&format!(
        "[fetch]\nhost_spacing = \"0s\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"Feed A\"\ntags = [\"world\", \"weather\"]\n\n[[feeds]]\nurl = \"{}\"\n",
        server.url("/a.xml"),
        server.url("/b.xml")
    ));
    ws.ok(&["run", "--once"]);
    (server, ws)
}

#[test]
fn feeds_json_has_the_design_fields() {
    let (server, ws) = store_with_two_feeds();
    let feeds = ws.ok(&["feeds", "--json"]).json();
    let feeds = feeds.as_array().unwrap();
    assert_eq!(feeds.len(), 2);
    for f in feeds {
        assert_eq!(
            keys(f),
            sorted(&[
                "url",
                "name",
                "tags",
                "state",
                "last_fetch",
                "last_status",
                "error_count",
                "last_error",
                "next_fetch",
                "items"
            ])
        );
        assert!(f["items"].is_i64());
        assert!(chrono::DateTime::parse_from_rfc3339(f["last_fetch"].as_str().unwrap()).is_ok());
        assert!(f["next_fetch"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(feeds[0]["url"], server.url("/a.xml"));
    assert_eq!(feeds[0]["name"], "Feed A");
    assert_eq!(feeds[0]["tags"], serde_json::json!(["world", "weather"]));
    assert_eq!(feeds[0]["items"], 2);
    assert_eq!(feeds[1]["name"], serde_json::Value::Null);
}

#[test]
fn clusters_and_cluster_json_have_the_design_fields() {
    let (server, ws) = store_with_two_feeds();
    let clusters = ws.ok(&["clusters", "--json", "--since", "100000d"]).json();
    let clusters = clusters.as_array().unwrap();
    assert_eq!(
        clusters.len(),
        1,
        "default --min-size 2 keeps only the folded story"
    );
    let c = &clusters[0];
    assert_eq!(
        keys(c),
        sorted(&[
            "id",
            "size",
            "sources",
            "first_seen",
            "last_seen",
            "title",
            "url",
            "items"
        ])
    );
    assert!(c["id"].is_i64());
    assert_eq!(c["size"], 2);
    assert_eq!(c["sources"], 2);
    assert_eq!(c["first_seen"], "2025-09-01T08:00:00Z");
    assert_eq!(c["title"], "Storm reaches the coast");
    assert_eq!(c["url"], "https://news.example/1");
    for item in c["items"].as_array().unwrap() {
        assert_eq!(
            keys(item),
            sorted(&[
                "id",
                "guid",
                "url",
                "title",
                "feed",
                "feeds",
                "published",
                "fetched",
                "reason"
            ])
        );
        assert!(item["reason"]["rule"].is_string());
    }
    assert_eq!(c["items"][0]["feed"], server.url("/a.xml"));
    assert_eq!(
        c["items"][1]["feeds"],
        serde_json::json!([server.url("/b.xml")])
    );

    let one = ws.ok(&["cluster", &c["id"].to_string(), "--json"]).json();
    assert_eq!(&one, c);

    // Filters: by tag and feed name, by text; nothing found is still success.
    assert_eq!(
        ws.ok(&[
            "clusters", "--json", "--since", "100000d", "--tag", "weather"
        ])
        .json(),
        serde_json::json!([c])
    );
    assert_eq!(
        ws.ok(&[
            "clusters", "--json", "--since", "100000d", "--feed", "Feed A"
        ])
        .json(),
        serde_json::json!([c])
    );
    assert_eq!(
        ws.ok(&[
            "clusters",
            "--json",
            "--since",
            "100000d",
            "--query",
            "EVACUATED"
        ])
        .json(),
        serde_json::json!([c])
    );
    assert_eq!(
        ws.ok(&["clusters", "--json", "--since", "100000d", "--tag", "sport"])
            .json(),
        serde_json::json!([])
    );
    assert_eq!(
        ws.ok(&[
            "clusters", "--json", "--since", "100000d", "--query", "100%_'\\"
        ])
        .json(),
        serde_json::json!([])
    );
    // The window is on the stories' publication time: these are from 2025.
    assert_eq!(ws.ok(&["clusters", "--json"]).json(), serde_json::json!([]));
}

#[test]
fn listing_every_item_once_and_unknown_cluster_exits_1() {
    let (_server, ws) = store_with_two_feeds();
    let all = ws.all_clusters();
    let ids: Vec<i64> = all
        .iter()
        .flat_map(|c| c["items"].as_array().unwrap().clone())
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(unique.len(), 3);
    let missing = ws.run(&["cluster", "999999"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no cluster with id 999999"),
        "{}",
        missing.stderr
    );
}

#[test]
fn tables_never_print_terminal_controls_from_a_feed() {
    let (_server, ws) = store_with_two_feeds();
    for args in [
        vec!["clusters", "--since", "100000d", "--min-size", "1"],
        vec!["feeds"],
    ] {
        let out = ws.ok(&args);
        assert!(
            !out.stdout.contains('\u{1b}')
                && !out.stdout.contains('\u{7}')
                && !out.stdout.contains('\u{202e}'),
            "{:?}",
            out.stdout
        );
    }
    let out = ws.ok(&["clusters", "--since", "100000d", "--min-size", "1"]);
    assert!(
        out.stdout.contains("Evil ]0;pwnedtitle [2J with bidi"),
        "controls stripped at ingest: {}",
        out.stdout
    );
    let json = ws.ok(&[
        "clusters",
        "--json",
        "--since",
        "100000d",
        "--min-size",
        "1",
    ]);
    assert!(!json.stdout.contains('\u{1b}'));
}

#[test]
fn query_commands_on_a_missing_store_fail_cleanly() {
    let ws = Workspace::new();
    ws.write_config(&[]);
    let out = ws.run(&["clusters"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("does not exist yet"), "{}", out.stderr);
    assert!(!ws.path("feedfold.db").exists());
}
