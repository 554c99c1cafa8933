//! `check-config`: a summary and exit 0, or every error with key and line and exit 2.

use crate::common::Workspace;

#[test]
fn valid_config_prints_a_summary() {
    let ws = Workspace::new();
    ws.write_config(&[
        "https://news.example/rss".into(),
        "file:///var/feeds/local.xml".into(),
    ]);
    let out = ws.ok(&["check-config"]);
    assert!(out.stdout.contains("ok"), "{}", out.stdout);
    assert!(out.stdout.contains("feeds: 2"), "{}", out.stdout);
    // Sizes and durations as a config writes them, not 15728640 bytes and "3days".
    assert!(out.stdout.contains("max body 15.0 MiB"), "{}", out.stdout);
    assert!(out.stdout.contains("dedup window: 3d"), "{}", out.stdout);
}

#[test]
fn every_error_is_reported_with_key_and_line_and_exit_2() {
    let ws = Workspace::new();
    ws.write_config_text(
        "[fetch]\ninterval = \"often\"\ntimeout = \"30s\"\nmax_body = \"huge\"\n\n[[feeds]]\nurl = \"gopher://old.example/feed\"\n\n[[feeds]]\nurl = \"https://a.example/rss\"\n\n[[feeds]]\nurl = \"https://a.example/rss\"\n",
    );
    let out = ws.run(&["check-config"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for expected in [
        ":2: fetch.interval",
        ":4: fetch.max_body",
        ":7: feeds[0].url",
        ":13: feeds[2].url",
    ] {
        assert!(
            out.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("duplicate feed URL"), "{}", out.stderr);
}

#[test]
fn unknown_keys_are_errors_and_stop_the_daemon() {
    let ws = Workspace::new();
    ws.write_config_text("[fetch]\nconcurency = 4\n");
    let out = ws.run(&["check-config"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("concurency") && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
    let run = ws.run(&["run", "--once"]);
    assert_eq!(run.code, 2);
    assert!(
        !ws.path("feedfold.db").exists(),
        "nothing written on a bad config"
    );
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let ws = Workspace::new();
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("feedfold.toml"), "{}", out.stderr);
    // The system's reason, once (it is both in the message and the message's cause).
    assert!(
        out.stderr.contains("cannot read config file"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("os error 2").count(),
        1,
        "{}",
        out.stderr
    );
}
