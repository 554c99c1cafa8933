//! Watches and alerts end to end: once per story, delivered through a real webhook receiver on
//! 127.0.0.1 (down, then up), an exec sink given the payload as data, follow-ups, and a kill in
//! the middle of a delivery.

use std::time::Duration;

use crate::common::{FeedServer, Item, Route, Workspace, feeds_toml, rss};

/// The three outlets' story (`ingest::serve_story`) with one watch (its TOML lines) notifying a
/// webhook at `/hook` on the same server, which answers `hook`. Nothing fetched yet.
fn watching(watch: &str, hook: Route) -> (FeedServer, Workspace) {
    let server = FeedServer::start();
    let urls = super::ingest::serve_story(&server);
    server.set("/hook", hook);
    let ws = Workspace::new();
    let mut text = format!(
        "[fetch]\nhost_spacing = \"0s\"\nper_host = 8\n\n[[sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\n[[watches]]\n{watch}\nnotify = [\"hook\"]\n\n",
        server.url("/hook")
    );
    text.push_str(&feeds_toml(&urls));
    ws.write_config_text(&text);
    (server, ws)
}

#[test]
fn three_copies_of_a_matching_story_raise_one_alert_delivered_once() {
    let (server, ws) = watching(
        "name = \"nato\"\nquery = 'nato OR \"foreign troops\" NOT football'",
        Route::status(200, "ok"),
    );
    let out = ws.ok(&["run", "--once"]);
    assert!(
        out.stdout
            .contains("alerts: 1 delivered, 0 to retry, 0 failed"),
        "{}",
        out.stdout
    );
    let bodies = server.json_bodies("/hook");
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    let alert = &bodies[0];
    let story = ws
        .all_clusters()
        .into_iter()
        .find(|c| c["size"] == 3)
        .expect("the story");
    assert_eq!(alert["watch"], "nato");
    assert_eq!(alert["kind"], "new");
    assert_eq!(alert["cluster"], story["id"]);
    // Title and link: the story's as it stood when the alert was raised (the first copy that
    // arrived; the feeds are fetched concurrently).
    let members = story["items"].as_array().unwrap();
    assert!(
        members
            .iter()
            .any(|i| i["title"] == alert["title"] && i["url"] == alert["url"]),
        "{alert:#}"
    );
    assert_eq!(alert["sources"].as_array().unwrap().len(), 3);
    assert!(
        alert["matched"]
            .as_array()
            .unwrap()
            .contains(&"nato".into())
    );
    assert_eq!(
        alert["idempotency_key"],
        format!("feedfold:nato:{}:new:0", story["id"])
    );
    let listed = ws.ok(&["alerts", "--json"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["deliveries"][0]["status"], "delivered");
    // Polling again changes nothing and sends nothing.
    ws.ok(&["run", "--once"]);
    assert_eq!(server.json_bodies("/hook").len(), 1);
}

#[test]
fn a_receiver_that_is_down_gets_every_alert_once_it_is_up() {
    let (server, ws) = watching(
        "name = \"all\"\nquery = \"the\"",
        Route::status(500, "down"),
    );
    let out = ws.ok(&["run", "--once"]);
    let stories = ws.all_clusters().len();
    assert!(
        out.stdout
            .contains(&format!("alerts: 0 delivered, {stories} to retry")),
        "{}",
        out.stdout
    );
    let listed = ws.ok(&["alerts", "--json"]).json();
    for alert in listed.as_array().unwrap() {
        let d = &alert["deliveries"][0];
        assert_eq!(d["status"], "pending");
        assert_eq!(d["attempts"], 1);
        assert!(
            d["last_error"].as_str().unwrap().contains("HTTP 500"),
            "{d:#}"
        );
    }
    let table = ws.ok(&["alerts"]).stdout;
    assert!(table.contains("retrying (1 tries"), "{table}");
    // The receiver is back: the next run delivers everything that was pending.
    server.set("/hook", Route::status(200, "ok"));
    let out = ws.ok(&["run", "--once"]);
    assert!(
        out.stdout.contains(&format!("alerts: {stories} delivered")),
        "{}",
        out.stdout
    );
    let delivered: std::collections::BTreeSet<String> = server
        .json_bodies("/hook")
        .iter()
        .map(|b| b["idempotency_key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(delivered.len(), stories, "every story's alert arrived");
    let listed = ws.ok(&["alerts", "--json"]).json();
    assert!(listed.as_array().unwrap().iter().all(
        |a| a["deliveries"][0]["status"] == "delivered" && a["deliveries"][0]["attempts"] == 2
    ));
}

#[test]
fn follow_ups_come_once_per_size_and_min_sources_waits_for_outlets() {
    let (server, ws) = watching(
        "name = \"nato\"\nquery = \"nato\"\nmin_sources = 2\nfollow_ups = [3, 10]",
        Route::status(200, "ok"),
    );
    ws.ok(&["run", "--once"]);
    let mut kinds: Vec<(String, i64)> = server
        .json_bodies("/hook")
        .iter()
        .map(|b| {
            (
                b["kind"].as_str().unwrap().to_string(),
                b["sources"].as_array().unwrap().len() as i64,
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![("follow-up".to_string(), 3), ("new".to_string(), 3)]
    );
    let keys: Vec<String> = server
        .json_bodies("/hook")
        .iter()
        .map(|b| b["idempotency_key"].as_str().unwrap().to_string())
        .collect();
    assert!(keys.iter().any(|k| k.ends_with(":follow-up:3")), "{keys:?}");
}

#[test]
fn feed_text_reaches_sinks_as_data_only() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let marker = ws.path("pwned");
    let hostile_title = format!(
        "Say \"hi\" to 'them' $(touch {}) `touch {}` ; rm -rf / && echo",
        marker.display(),
        marker.display()
    );
    let item = Item {
        guid: Some("h-1".into()),
        link: Some("https://hostile.example/1".into()),
        title: hostile_title.clone(),
        html: "<p>Line one\nline two with $(id) and a \"quote\".</p>".into(),
        published: Some("Mon, 01 Sep 2025 08:00:00 +0000".into()),
    };
    server.set("/h.xml", Route::xml(rss("H", &[item])));
    server.set("/hook", Route::status(200, "ok"));
    let captured = ws.path("captured.json");
    // A script that reads one line, as shell scripts do: `read` fails on input without a
    // newline. (Its own text quotes the payload: it is data to the shell too.)
    let read_line = ws.path("read.json");
    let reader = format!(
        "read -r payload && printf '%s' \\\"$payload\\\" > '{}'",
        read_line.display()
    );
    let text = format!(
        "[fetch]\nhost_spacing = \"0s\"\n\n[[sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\n\
         [[sinks]]\nname = \"script\"\nkind = \"exec\"\ncommand = [\"tee\", \"{}\"]\n\n\
         [[sinks]]\nname = \"reader\"\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", \"{}\"]\n\n\
         [[watches]]\nname = \"quotes\"\nquery = \"quote OR hi\"\nnotify = [\"hook\", \"script\", \"reader\"]\n\n\
         [[feeds]]\nurl = \"{}\"\n",
        server.url("/hook"),
        captured.display(),
        reader,
        server.url("/h.xml")
    );
    ws.write_config_text(&text);
    let out = ws.ok(&["run", "--once"]);
    assert!(
        out.stdout.contains("alerts: 3 delivered"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let stored_title = ws.all_clusters()[0]["title"].as_str().unwrap().to_string();
    assert!(stored_title.contains("$(touch"), "{stored_title}");
    let hook = &server.json_bodies("/hook")[0];
    assert_eq!(hook["title"], stored_title.as_str());
    // One line of JSON on the program's input.
    let input = std::fs::read_to_string(&captured).unwrap();
    assert!(
        input.ends_with('\n') && input.lines().count() == 1,
        "{input:?}"
    );
    let script: serde_json::Value = serde_json::from_str(&input).unwrap();
    assert_eq!(script["title"], stored_title.as_str());
    assert_eq!(script["idempotency_key"], hook["idempotency_key"]);
    let line: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&read_line).unwrap()).unwrap();
    assert_eq!(line, script);
    assert!(!marker.exists(), "nothing in the feed's text was run");
}

#[test]
fn a_kill_in_the_middle_of_a_delivery_sends_it_again_with_the_same_key() {
    // A receiver that takes its time: the daemon is killed while it waits for the answer.
    let (server, ws) = watching(
        "name = \"nato\"\nquery = \"nato\"",
        Route {
            delay: Some(Duration::from_secs(30)),
            ..Route::status(200, "ok")
        },
    );
    let mut daemon = ws.spawn_daemon(&[]);
    ws.wait_until(Duration::from_secs(30), "the webhook was called", || {
        server.hits("/hook") >= 1
    });
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let listed = ws.ok(&["alerts", "--json"]).json();
    assert_eq!(listed[0]["deliveries"][0]["status"], "pending");
    // After the restart (here a one-shot run) it goes out again, with the same key.
    server.set("/hook", Route::status(200, "ok"));
    ws.ok(&["run", "--once"]);
    let bodies = server.json_bodies("/hook");
    assert_eq!(bodies.len(), 2, "at least once: sent again after the kill");
    assert_eq!(bodies[0]["idempotency_key"], bodies[1]["idempotency_key"]);
    assert_eq!(
        ws.ok(&["alerts", "--json"]).json()[0]["deliveries"][0]["status"],
        "delivered"
    );
}

#[test]
fn watch_test_replays_history_one_line_per_story() {
    // Ingest first with the watch already there, so that replay and reality can be compared.
    let (_server, ws) = watching(
        "name = \"nato\"\nquery = \"nato\"",
        Route::status(200, "ok"),
    );
    ws.ok(&["run", "--once"]);
    let raised = ws
        .ok(&["alerts", "--json"])
        .json()
        .as_array()
        .unwrap()
        .len();
    let out = ws.ok(&["watch", "test", "nato"]);
    let story_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("  story "))
        .collect();
    assert_eq!(story_lines.len(), 1, "{}", out.stdout);
    assert!(
        story_lines[0].contains("3 outlets  [nato]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("stories would have raised {raised} alerts")),
        "{}",
        out.stdout
    );
    assert!(
        ws.ok(&["watch", "test", "nato", "--since", "1h"])
            .stdout
            .contains("0 matching items")
    );
    let unknown = ws.run(&["watch", "test", "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no watch named \"nope\""),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_signed_webhook_carries_the_hmac_of_its_body_and_custom_headers() {
    let server = FeedServer::start();
    let urls = super::ingest::serve_story(&server);
    server.set("/hook", Route::status(200, "ok"));
    server.set("/slack", Route::status(200, "ok"));
    let ws = Workspace::new();
    std::fs::write(ws.path("hook.secret"), "s3cret-value\n").unwrap();
    let mut text = format!(
        "[fetch]\nhost_spacing = \"0s\"\n\n\
         [[sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret_file = \"hook.secret\"\n\
         headers = {{ \"X-Team\" = \"news-desk\" }}\n\n\
         [[sinks]]\nname = \"slack\"\nkind = \"webhook\"\nurl = \"{}\"\nformat = \"slack\"\n\n\
         [[watches]]\nname = \"nato\"\nquery = \"nato\"\nnotify = [\"hook\", \"slack\"]\n\n",
        server.url("/hook"),
        server.url("/slack")
    );
    text.push_str(&feeds_toml(&urls));
    ws.write_config_text(&text);
    ws.ok(&["run", "--once"]);
    let body = &server.raw_bodies("/hook")[0];
    let request = &server.requests_to("/hook")[0];
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret-value");
    let expected: String = ring::hmac::sign(&key, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        request["x-feedfold-signature"],
        format!("sha256={expected}").as_str()
    );
    assert_eq!(request["x-team"], "news-desk");
    assert_eq!(request["content-type"], "application/json");
    let slack = &server.json_bodies("/slack")[0];
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("nato (new story): "),
        "{slack:#}"
    );
    // A secret file that is missing is a config error naming it.
    std::fs::remove_file(ws.path("hook.secret")).unwrap();
    let check = ws.run(&["check-config"]);
    assert_eq!(check.code, 2);
    assert!(
        check.stderr.contains("sinks[0].secret_file"),
        "{}",
        check.stderr
    );
}

#[test]
fn a_rate_cap_sends_the_excess_as_one_digest() {
    let (server, ws) = watching(
        "name = \"all\"\nquery = \"the\"\nmax_per_hour = 2",
        Route::status(200, "ok"),
    );
    ws.ok(&["run", "--once"]);
    let stories = ws.all_clusters().len();
    assert!(stories > 3, "{stories}");
    let bodies = server.json_bodies("/hook");
    let single: Vec<_> = bodies.iter().filter(|b| b["kind"] == "new").collect();
    let digests: Vec<_> = bodies.iter().filter(|b| b["kind"] == "digest").collect();
    assert_eq!(single.len(), 2, "{bodies:#?}");
    assert_eq!(digests.len(), 1, "{bodies:#?}");
    assert_eq!(digests[0]["stories"].as_array().unwrap().len(), stories - 2);
    // Every story is told once: two alone, the rest in the digest.
    let mut told: Vec<i64> = single
        .iter()
        .map(|b| b["cluster"].as_i64().unwrap())
        .collect();
    told.extend(
        digests[0]["stories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["cluster"].as_i64().unwrap()),
    );
    told.sort_unstable();
    told.dedup();
    assert_eq!(told.len(), stories);
    let listed = ws.ok(&["alerts", "--json"]).json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["deliveries"][0]["status"] == "delivered")
    );
}

#[test]
fn a_hanging_sink_does_not_hold_up_another() {
    let server = FeedServer::start();
    let urls = super::ingest::serve_story(&server);
    server.set(
        "/slow",
        Route {
            delay: Some(Duration::from_secs(60)),
            ..Route::status(200, "ok")
        },
    );
    server.set("/fast", Route::status(200, "ok"));
    let ws = Workspace::new();
    let mut text = format!(
        "[fetch]\nhost_spacing = \"0s\"\n\n\
         [[sinks]]\nname = \"slow\"\nkind = \"webhook\"\nurl = \"{}\"\n\n\
         [[sinks]]\nname = \"fast\"\nkind = \"webhook\"\nurl = \"{}\"\n\n\
         [[watches]]\nname = \"all\"\nquery = \"the\"\nnotify = [\"slow\", \"fast\"]\n\n",
        server.url("/slow"),
        server.url("/fast")
    );
    text.push_str(&feeds_toml(&urls));
    ws.write_config_text(&text);
    let mut daemon = ws.spawn_daemon(&[]);
    ws.wait_until(
        Duration::from_secs(30),
        "every story reached the fast sink",
        || {
            let stories = if ws.path("feedfold.db").exists() {
                ws.run(&["alerts", "--json"])
                    .stdout
                    .parse::<serde_json::Value>()
                    .map_or(0, |v| v.as_array().map_or(0, Vec::len))
            } else {
                0
            };
            stories > 0 && server.json_bodies("/fast").len() == stories
        },
    );
    // Meanwhile the slow sink has taken its first request (its worker may start after the fast
    // one has finished on a loaded machine) and not answered it: it is never asked again.
    ws.wait_until(
        Duration::from_secs(10),
        "the slow sink took its first request",
        || server.hits("/slow") >= 1,
    );
    assert_eq!(server.hits("/slow"), 1);
    let listed = ws.ok(&["alerts", "--json"]).json();
    assert!(listed.as_array().unwrap().iter().all(|a| {
        a["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["sink"] == "fast" && d["status"] == "delivered")
    }));
    crate::common::terminate(&mut daemon, Duration::from_secs(10));
}
