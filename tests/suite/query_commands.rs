//! The query commands over a real store: `search`, `clusters --query`, and what they print.

use crate::common::{FeedServer, Route, Workspace};

/// A store holding the three outlets' copies of one story beside four unrelated stories (all
/// published in September 2025).
fn story_store() -> (FeedServer, Workspace) {
    let server = FeedServer::start();
    let ws = Workspace::new();
    ws.write_config(&super::ingest::serve_story(&server));
    ws.ok(&["run", "--once"]);
    (server, ws)
}

fn search(ws: &Workspace, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["search", "--since", "100000d", "--json"];
    all.extend_from_slice(args);
    ws.ok(&all).json().as_array().unwrap().clone()
}

#[test]
fn search_ranks_groups_by_story_and_takes_any_text() {
    let (_server, ws) = story_store();

    // Three copies of one story: one group, every copy matching, a snippet around the match.
    let found = search(&ws, &["legitimate", "targets"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let story = &found[0];
    assert_eq!(story["size"], 3);
    assert_eq!(story["matching"], 3);
    assert_eq!(story["items"].as_array().unwrap().len(), 3);
    for item in story["items"].as_array().unwrap() {
        let snippet = item["snippet"].as_str().unwrap().to_lowercase();
        assert!(snippet.contains("target"), "{snippet}");
        assert!(item["score"].as_f64().unwrap() > 0.0);
    }
    let scores: Vec<f64> = story["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first");

    // The query language: OR gathers stories, NOT excludes, title: looks at titles only,
    // prefix* and diacritics fold.
    assert_eq!(search(&ws, &["earthquake", "OR", "laptop"]).len(), 2);
    assert_eq!(search(&ws, &["earthquake", "NOT", "chile"]).len(), 0);
    assert_eq!(search(&ws, &["title:goalkeeper"]).len(), 0);
    assert_eq!(search(&ws, &["goalkeeper"]).len(), 1);
    assert_eq!(search(&ws, &["Antofagást*"]).len(), 1);

    // Any user text: never an SQL or FTS5 error, exit 0, a JSON array.
    for hostile in [
        "c++",
        "rust-lang",
        "\"unclosed",
        "(a OR",
        "AT&T",
        "NEAR(a b)",
        "*",
        "'; DROP TABLE items; --",
        "title:",
        "+++",
        "a AND AND b",
        "\u{1b}[2J",
        "col:umn",
        "^start",
    ] {
        let out = ws.run(&["search", "--since", "100000d", "--json", hostile]);
        assert_eq!(out.code, 0, "{hostile:?}: {}", out.stderr);
        assert!(out.json().is_array(), "{hostile:?}");
        let out = ws.run(&["search", "--since", "100000d", hostile]);
        assert_eq!(out.code, 0, "{hostile:?}: {}", out.stderr);
    }
    // The store is still whole.
    assert_eq!(ws.all_clusters().len(), 5);

    // --since: the default 24 hours hold none of September 2025's stories.
    let out = ws.ok(&["search", "putin"]);
    assert!(out.stdout.contains("nothing found"), "{}", out.stdout);
    // --limit counts stories.
    assert_eq!(
        search(&ws, &["--limit", "1", "earthquake", "OR", "laptop"]).len(),
        1
    );

    // Human output: the story, then each matching item with its snippet; no colour on a pipe.
    let out = ws.ok(&["search", "--since", "100000d", "targets"]);
    assert!(out.stdout.starts_with("story "), "{}", out.stdout);
    // The feeds have no name in the config: each goes by its own title.
    assert!(out.stdout.contains("(Wire, "), "{}", out.stdout);
    assert!(!out.stdout.contains('\u{1b}'));
}

#[test]
fn an_empty_listing_says_why_and_what_to_try() {
    // No story yet: the feed failed, and the listings say so rather than suggest a period.
    let server = FeedServer::start();
    let empty = Workspace::new();
    server.set("/gone.xml", Route::status(404, "gone"));
    empty.write_config(&[server.url("/gone.xml")]);
    empty.run(&["run", "--once"]);
    for command in [&["clusters"][..], &["search", "putin"]] {
        let out = empty.ok(command);
        assert!(out.stdout.contains("holds no story yet"), "{}", out.stdout);
    }

    // The stories are from September 2025: the default 24 hours hold none of them. The hint
    // says how old the newest is, and the --since it gives lists it.
    let (_server, ws) = story_store();
    let out = ws.ok(&["clusters"]);
    assert!(
        out.stdout.starts_with(
            "no clusters: no story was seen in the last 24h; the newest was last seen "
        ),
        "{}",
        out.stdout
    );
    let suggested = out
        .stdout
        .split("(try --since ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("a --since to try")
        .to_string();
    assert!(suggested.ends_with('d'), "{suggested}");
    let listed = ws.ok(&[
        "clusters",
        "--json",
        "--min-size",
        "1",
        "--since",
        &suggested,
    ]);
    assert!(!listed.json().as_array().unwrap().is_empty(), "{suggested}");
    // One day less falls short of the newest story.
    let days: u64 = suggested.trim_end_matches('d').parse().unwrap();
    let shorter = format!("{}d", days - 1);
    let listed = ws.ok(&["clusters", "--json", "--min-size", "1", "--since", &shorter]);
    assert!(listed.json().as_array().unwrap().is_empty(), "{shorter}");
    let out = ws.ok(&["search", "putin"]);
    assert!(
        out.stdout.contains("no story was seen in the last 24h"),
        "{}",
        out.stdout
    );

    // Stories in the period, but too small, or not matching the other filters.
    let out = ws.ok(&["clusters", "--since", "100000d", "--min-size", "50"]);
    assert_eq!(
        out.stdout,
        "no clusters: 5 stories of the last 100000d, none with 50 items or more (try --min-size 1)\n"
    );
    let out = ws.ok(&[
        "clusters", "--since", "100000d", "--tag", "nosuch", "--query", "nato",
    ]);
    assert!(
        out.stdout.ends_with("matches --tag and --query\n"),
        "{}",
        out.stdout
    );
    let out = ws.ok(&["search", "--since", "100000d", "zzzqqq"]);
    assert!(out.stdout.contains("holds these words"), "{}", out.stdout);
}

#[test]
fn clusters_query_uses_the_same_search() {
    let (_server, ws) = story_store();
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut all = vec![
            "clusters",
            "--json",
            "--since",
            "100000d",
            "--min-size",
            "1",
            "--limit",
            "0",
        ];
        all.extend_from_slice(args);
        ws.ok(&all)
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&["--query", "nato"]).len(), 1);
    assert_eq!(ids(&["--query", "earthquake OR laptop"]).len(), 2);
    assert_eq!(ids(&["--query", "Kyïv OR kremlin"]).len(), 1);
    assert_eq!(ids(&["--query", "c++ \"unclosed"]).len(), 0);
    assert_eq!(ids(&["--query", "+++"]).len(), 0);
    assert_eq!(ids(&[]).len(), 5);
}

#[test]
fn export_writes_one_entry_per_story_that_parses_back_as_a_feed() {
    let (server, ws) = story_store();
    for format in ["atom", "json"] {
        let out = ws.ok(&["export", "--format", format, "--since", "100000d"]);
        // The export is itself a feed: serve it and let feedfold fetch it into another store.
        server.set("/folded", crate::common::Route::xml(out.stdout.clone()));
        let reader = Workspace::new();
        reader.write_config(&[server.url("/folded")]);
        reader.ok(&["run", "--once"]);
        let entries = reader.all_clusters();
        assert_eq!(entries.len(), 5, "{format}: one entry per story");
        let story = entries
            .iter()
            .find(|c| c["title"].as_str().unwrap().contains("legitimate targets"))
            .unwrap_or_else(|| panic!("{format}: the folded story: {entries:#?}"));
        assert_eq!(
            story["url"], "https://wire.example/world/russia-nato-troops",
            "{format}: the representative's link"
        );
        // The other two outlets' links are in the entry.
        assert!(
            out.stdout
                .contains("https://daily.example/2025/09/06/putin-troops")
        );
        assert!(out.stdout.contains("https://metro.example/news/12345"));
    }
    // Filters: --query and --since (the stories are from 2025).
    let out = ws.ok(&[
        "export",
        "--format",
        "json",
        "--since",
        "100000d",
        "--query",
        "earthquake",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["items"].as_array().unwrap().len(), 1);
    let out = ws.ok(&["export", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["items"].as_array().unwrap().len(), 0);
}

#[test]
fn opml_import_adds_feeds_to_the_store_and_export_lists_them_with_the_config() {
    let (server, ws) = story_store();
    let opml = format!(
        r#"<?xml version="1.0"?>
<opml version="1.0"><head><title>Reader export</title></head><body>
  <outline text="World">
    <outline type="rss" text="Extra &amp; more" xmlUrl="{extra}"/>
    <outline type="rss" text="Wire again" xmlUrl="{wire}"/>
  </outline>
  <outline type="rss" text="Extra twice" xmlUrl="{extra}"/>
  <outline type="rss" text="Bad" xmlUrl="ftp://files.example/feed"/>
</body></opml>"#,
        extra = server.url("/extra.xml"),
        wire = server.url("/wire.xml"),
    );
    server.set(
        "/extra.xml",
        crate::common::Route::xml(crate::common::rss(
            "Extra",
            &[crate::common::Item {
                guid: Some("extra-1".into()),
                link: Some("https://extra.example/1".into()),
                title: "Lighthouse keeper retires after forty years".into(),
                html: "<p>The keeper of the old lighthouse retired on Friday.</p>".into(),
                published: Some("Mon, 08 Sep 2025 08:00:00 +0000".into()),
            }],
        )),
    );
    std::fs::write(ws.path("list.opml"), &opml).unwrap();
    let out = ws.ok(&["opml", "import", ws.path("list.opml").to_str().unwrap()]);
    assert!(
        out.stdout.contains(
            "1 feed added; skipped: 1 already known (1 in the config), 1 listed twice, 1 invalid"
        ),
        "{}",
        out.stdout
    );
    // Listed at once, with its folder as a tag, and fetched by the next run.
    let feeds = ws.ok(&["feeds", "--json"]).json();
    let extra = feeds
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["url"] == server.url("/extra.xml"))
        .expect("the imported feed is listed");
    assert_eq!(extra["name"], "Extra & more");
    assert_eq!(extra["tags"], serde_json::json!(["World"]));
    assert_eq!(extra["state"], "new");
    ws.ok(&["run", "--once"]);
    assert_eq!(server.hits("/extra.xml"), 1);
    // Importing again adds nothing.
    let out = ws.ok(&["opml", "import", ws.path("list.opml").to_str().unwrap()]);
    assert!(out.stdout.contains(": 0 feeds added"), "{}", out.stdout);

    // Removed by name: no longer polled, its items stay; a config feed is not the CLI's to remove.
    let out = ws.ok(&["opml", "remove", "Extra & more"]);
    assert!(out.stdout.contains("no longer polled"), "{}", out.stdout);
    ws.ok(&["run", "--once"]);
    assert_eq!(server.hits("/extra.xml"), 1, "not fetched again");
    let stats = ws.ok(&["stats", "--json"]).json();
    assert_eq!(stats["feeds"]["removed"], 1);
    assert_eq!(stats["items"], 8, "its item stays");
    let out = ws.run(&["opml", "remove", &server.url("/wire.xml")]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("[[feeds]]"), "{}", out.stderr);
    let out = ws.run(&["opml", "remove", "https://nowhere.example/feed"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no feed"), "{}", out.stderr);
    // Imported again: polled again.
    let out = ws.ok(&["opml", "import", ws.path("list.opml").to_str().unwrap()]);
    assert!(out.stdout.contains(": 1 feed added"), "{}", out.stdout);

    // Export: the three configured feeds and the imported one, valid enough to import back.
    let out = ws.ok(&["opml", "export"]);
    assert!(out.stdout.contains("<opml version=\"2.0\">"));
    std::fs::write(ws.path("out.opml"), &out.stdout).unwrap();
    let other = Workspace::new();
    other.write_config_text("");
    let back = other.ok(&["opml", "import", ws.path("out.opml").to_str().unwrap()]);
    assert!(back.stdout.contains(": 4 feeds added"), "{}", back.stdout);

    // Not OPML: a usage error naming the file.
    std::fs::write(ws.path("page.html"), "<html><body>hello</body></html>").unwrap();
    let out = ws.run(&["opml", "import", ws.path("page.html").to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("page.html") && out.stderr.contains("not an OPML file"));
}

#[test]
fn stats_completions_and_man_page() {
    let (_server, ws) = story_store();
    let stats = ws.ok(&["stats", "--json"]).json();
    assert_eq!(stats["items"], 7);
    assert_eq!(stats["clusters"], 5);
    assert_eq!(stats["copies_folded"], 2);
    assert_eq!(stats["multi_item_clusters"], 1);
    assert_eq!(stats["largest_cluster"], 3);
    assert_eq!(stats["feeds"], serde_json::json!({"ok": 3}));
    assert!(stats["store_bytes"].as_u64().unwrap() > 0);
    let text = ws.ok(&["stats"]).stdout;
    assert!(text.contains("folded     2 copies"), "{text}");

    for shell in ["bash", "zsh", "fish"] {
        let out = ws.ok(&["completions", shell]);
        assert!(
            out.stdout.contains("search") && out.stdout.contains("opml"),
            "{shell}"
        );
    }
    let man = ws.ok(&["man"]).stdout;
    assert!(
        man.starts_with(".ie") || man.contains(".TH feedfold"),
        "{man}"
    );
    assert!(man.contains("search"));
    ws.ok(&["man", "--dir", ws.path("man").to_str().unwrap()]);
    assert!(ws.path("man/feedfold-search.1").exists());
}

/// Runs the binary on a pseudo-terminal (util-linux `script`); `None` where `script` is missing.
fn on_a_terminal(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let mut command_line = format!(
        "{} --config {}",
        env!("CARGO_BIN_EXE_feedfold"),
        ws.config_path().display()
    );
    for arg in args {
        command_line.push_str(&format!(" '{arg}'"));
    }
    let mut command = std::process::Command::new("script");
    command
        .args(["-qec", &command_line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .env("COLUMNS", "60");
    for (k, v) in env {
        command.env(k, v);
    }
    match command.output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => panic!(
            "feedfold {args:?} on a terminal failed: {}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(e) => {
            eprintln!("skipped: no `script` to give feedfold a terminal ({e})");
            None
        }
    }
}

#[test]
fn on_a_terminal_a_progress_bar_a_bold_header_and_the_width_without_no_color_never_colour() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    ws.write_config(&super::ingest::serve_story(&server));
    let Some(run) = on_a_terminal(&ws, &["run", "--once"], &[]) else {
        return;
    };
    assert!(run.contains("] 3/3 feeds"), "{run:?}");
    assert!(run.contains("\u{1b}[2K"), "the bar is redrawn in place");
    assert!(run.contains("3 feeds: 3 ok"), "then the summary");
    // Piped: no bar.
    let piped = ws.ok(&["run", "--once"]);
    assert!(!piped.stderr.contains("feeds") && !piped.stdout.contains('\u{1b}'));

    let listing = ["clusters", "--since", "100000d", "--min-size", "1"];
    let coloured = on_a_terminal(&ws, &listing, &[]).unwrap();
    assert!(coloured.contains("\u{1b}[1mID"), "{coloured:?}");
    assert!(
        coloured
            .lines()
            .all(|l| l.trim_end_matches('\r').chars().count() <= 60 + 8),
        "fits 60 columns: {coloured}"
    );
    let plain = on_a_terminal(&ws, &listing, &[("NO_COLOR", "1")]).unwrap();
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
    let found = on_a_terminal(&ws, &["search", "--since", "100000d", "targets"], &[]).unwrap();
    assert!(
        found.contains("\u{1b}[1;31m"),
        "matches highlighted: {found:?}"
    );
}

#[test]
fn a_feed_the_config_does_not_name_goes_by_its_own_title() {
    use crate::common::{Item, Route, rss};
    let server = FeedServer::start();
    let ws = Workspace::new();
    let urls = super::ingest::serve_story(&server);
    // A sloppy title: markup, an entity, spaces and a line break make one line of text.
    let extra = |guid: &str| Item {
        guid: Some(guid.into()),
        link: None,
        title: format!("Lighthouse keeper {guid} retires"),
        html: "<p>The keeper of the old lighthouse retired on Friday.</p>".into(),
        published: Some("Mon, 08 Sep 2025 08:00:00 +0000".into()),
    };
    server.set(
        "/extra.xml",
        Route::xml(rss("  <b>Extra</b> &amp;\n more ", &[extra("x-1")])),
    );
    // Two imported feeds that give the same title.
    server.set("/same-a.xml", Route::xml(rss("Same", &[extra("a-1")])));
    server.set("/same-b.xml", Route::xml(rss("Same", &[extra("b-1")])));
    ws.write_config_text(&format!(
        "[[feeds]]\nurl = \"{}\"\nname = \"Wire service\"\n\n[[feeds]]\nurl = \"{}\"\n\n[[feeds]]\nurl = \"{}\"\n\n[[feeds]]\nurl = \"{}\"\n",
        urls[0],
        urls[1],
        urls[2],
        server.url("/extra.xml")
    ));
    std::fs::write(
        ws.path("same.opml"),
        format!(
            r#"<opml version="2.0"><body><outline type="rss" xmlUrl="{}"/><outline type="rss" xmlUrl="{}"/></body></opml>"#,
            server.url("/same-a.xml"),
            server.url("/same-b.xml")
        ),
    )
    .unwrap();
    ws.ok(&["opml", "import", ws.path("same.opml").to_str().unwrap()]);
    // Before any fetch there is no title: the URL.
    let before = ws.ok(&["feeds"]).stdout;
    assert!(before.contains("/same-a.xml"), "{before}");

    ws.ok(&["run", "--once"]);
    let listing = ws.ok(&["feeds"]).stdout;
    for shown in ["Wire service", "Daily", "Metro", "Extra & more"] {
        assert!(listing.contains(shown), "{shown} in {listing}");
    }
    assert!(!listing.contains("/daily.xml"), "{listing}");
    assert!(
        listing
            .lines()
            .filter(|l| l.contains("Wire"))
            .all(|l| l.contains("Wire service")),
        "the config's name wins over the title: {listing}"
    );
    // JSON keeps `name` for the config's name.
    let feeds = ws.ok(&["feeds", "--json"]).json();
    let daily = feeds
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["url"] == urls[1])
        .unwrap();
    assert!(daily["name"].is_null(), "{daily}");

    // The title picks the feed's stories, and names it where feeds are named.
    let stories = ws
        .ok(&[
            "clusters",
            "--since",
            "100000d",
            "--min-size",
            "1",
            "--feed",
            "Daily",
            "--json",
        ])
        .json();
    let stories = stories.as_array().unwrap();
    assert_eq!(
        stories.len(),
        2,
        "the story Daily shares and its own: {stories:#?}"
    );
    let shared = stories
        .iter()
        .find(|c| c["size"] == 3)
        .expect("the shared story");
    let view = ws.ok(&["cluster", &shared["id"].to_string()]).stdout;
    for shown in ["Wire service", "Daily", "Metro"] {
        assert!(view.contains(shown), "{shown} in {view}");
    }
    let found = ws
        .ok(&["search", "--since", "100000d", "lighthouse"])
        .stdout;
    assert!(found.contains("(Extra & more,"), "{found}");
    let opml = ws.ok(&["opml", "export"]).stdout;
    assert!(
        opml.contains("text=\"Daily\"") && opml.contains("text=\"Wire service\""),
        "{opml}"
    );

    // `opml remove` takes a title that one feed gives, not one that two give.
    let out = ws.run(&["opml", "remove", "Same"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("several feeds are titled Same"),
        "{}",
        out.stderr
    );
    let out = ws.run(&["opml", "remove", "Metro"]);
    assert_eq!(out.code, 2, "a config feed: {}", out.stderr);
    assert!(out.stderr.contains("[[feeds]]"), "{}", out.stderr);
}
