//! The query commands over a real store: `search`, `clusters --query`, and what they print.

use crate::common::{FeedServer, Workspace};

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
    assert!(out.stdout.contains("(wire.example") || out.stdout.contains("(127.0.0.1"));
    assert!(!out.stdout.contains('\u{1b}'));
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
