//! Hostile feed content (the content rows of the reliability notes' table), end to end: each
//! document is served from its own feed on 127.0.0.1 beside a good feed, fetched by `run --once`
//! into a real store, and what was stored and what the CLI prints is checked.
//!
//! Rows covered elsewhere: relative links resolved against the final URL after redirects
//! (`fetching::redirects_are_followed_…`), missing guid and link (`ingest::items_without_guid_…`),
//! edited items (`ingest::an_edited_title_updates_…`), invalid bytes under a declared encoding
//! (`faults`), parser panics (`parse::tests`).

use crate::common::{FeedServer, Item, Route, Workspace, rss};

fn channel(items: &str) -> String {
    format!(
        "<rss version=\"2.0\"><channel><title>t</title><link>https://example.org/</link>{items}</channel></rss>"
    )
}

/// Stored (guid, url, title, text, published, ts - fetched) of one feed's items, by guid.
type StoredItem = (String, Option<String>, String, String, Option<i64>, i64);

fn stored_items(ws: &Workspace, feed_url: &str) -> Vec<StoredItem> {
    let db = ws.db();
    let mut stmt = db
        .prepare(
            "SELECT i.guid, i.url, i.title, i.text, i.published, i.ts - i.fetched
             FROM items i JOIN feed_items fi ON fi.item_id = i.id JOIN feeds f ON f.id = fi.feed_id
             WHERE f.url = ?1 ORDER BY i.guid",
        )
        .unwrap();
    stmt.query_map([feed_url], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn feed_state(ws: &Workspace, feed_url: &str) -> (String, Option<String>) {
    ws.db()
        .query_row(
            "SELECT state, last_error FROM feeds WHERE url = ?1",
            [feed_url],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// Serves `documents` (path, body) beside a good feed, runs `run --once` and checks that the good
/// feed was ingested whatever the others did.
fn ingest(documents: &[(&str, String)]) -> (FeedServer, Workspace) {
    let server = FeedServer::start();
    let good = rss(
        "Good",
        &[Item {
            guid: Some("good-1".into()),
            link: Some("https://good.example/1".into()),
            title: "Harbour reopens after storm repairs".into(),
            html: "<p>The harbour reopened on Monday after three weeks of repairs.</p>".into(),
            published: Some("Mon, 08 Sep 2025 08:00:00 +0000".into()),
        }],
    );
    server.set("/good.xml", Route::xml(good));
    let mut urls = vec![server.url("/good.xml")];
    for (path, body) in documents {
        server.set(path, Route::xml(body.clone()));
        urls.push(server.url(path));
    }
    let ws = Workspace::new();
    ws.write_config(&urls);
    let out = ws.run(&["run", "--once"]);
    // Exit 0 or 1 (some feeds failed); never a crash.
    assert!(
        out.code == 0 || out.code == 1,
        "run --once: {}\n{}",
        out.code,
        out.stderr
    );
    let good_items = stored_items(&ws, &urls[0]);
    assert_eq!(good_items.len(), 1, "the good feed beside hostile ones");
    (server, ws)
}

#[test]
fn external_entities_are_never_read_and_entity_expansion_stays_small() {
    let ws_secret = tempfile::tempdir().unwrap();
    let secret = ws_secret.path().join("secret.txt");
    std::fs::write(&secret, "TOPSECRET-7f3a").unwrap();
    let xxe = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY leak SYSTEM \"file://{}\">]>\n{}",
        secret.display(),
        channel(
            "<item><guid>xxe-1</guid><title>Leak &leak; here</title><description>Body &leak; end</description></item>"
        )
    );
    let mut lol = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY lol \"lol\">");
    lol.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">");
    for n in 2..=9 {
        let p = n - 1;
        lol.push_str(&format!(
            "<!ENTITY lol{n} \"{}\">",
            format!("&lol{p};").repeat(10)
        ));
    }
    lol.push_str("]>\n");
    lol.push_str(&channel(
        "<item><guid>lol-1</guid><title>Laughs &lol9;</title><description>Many &lol9; laughs</description></item>",
    ));
    let (server, ws) = ingest(&[("/xxe.xml", xxe), ("/lol.xml", lol)]);

    for path in ["/xxe.xml", "/lol.xml"] {
        let url = server.url(path);
        let (state, error) = feed_state(&ws, &url);
        let items = stored_items(&ws, &url);
        for (_, _, title, text, ..) in &items {
            assert!(
                !title.contains("TOPSECRET") && !text.contains("TOPSECRET"),
                "{path}: a file was read through an entity: {title:?} {text:?}"
            );
            // A billion laughs expanded would be 3 GB; even one level would be 30 bytes per
            // reference. What is stored stays the size of the document.
            assert!(
                title.len() + text.len() < 200,
                "{path}: entities were expanded: {} bytes",
                title.len() + text.len()
            );
        }
        assert!(
            state == "ok" && items.len() == 1 || state == "error" && error.is_some(),
            "{path}: either its item or an error on the feed: {state} {error:?} {items:?}"
        );
    }
    // Nothing of the secret anywhere in the store either.
    ws.ok(&["backup", ws.path("copy.db").to_str().unwrap()]);
    let bytes = std::fs::read(ws.path("copy.db")).unwrap();
    assert!(!bytes.windows(9).any(|w| w == b"TOPSECRET"));
}

#[test]
fn deep_nesting_and_huge_fields_are_bounded_and_many_items_are_capped() {
    // 200,000 nested elements inside a description, as XML.
    let deep_xml = channel(&format!(
        "<item><guid>deep-xml</guid><title>Deep</title><description>{}core{}</description></item>",
        "<div>".repeat(200_000),
        "</div>".repeat(200_000)
    ));
    // 80,000 nested divs as escaped HTML (what a hostile publisher would actually send).
    let deep_html = channel(&format!(
        "<item><guid>deep-html</guid><title>Deep HTML</title><description>{}innermost words{}</description></item>",
        "&lt;div&gt;".repeat(80_000),
        "&lt;/div&gt;".repeat(80_000)
    ));
    // A 1 MB title and a 5 MB description.
    let huge = channel(&format!(
        "<item><guid>huge</guid><title>{}</title><description>{}</description></item>",
        "headline ".repeat(120_000),
        "word ".repeat(1_000_000)
    ));
    // 1,500 items in one document.
    let many: String = (0..1500)
        .map(|n| {
            format!(
                "<item><guid>many-{n}</guid><title>Item number {n}</title><description>Text of item {n}.</description></item>"
            )
        })
        .collect();
    let many = channel(&many);
    let (server, ws) = ingest(&[
        ("/deep-xml.xml", deep_xml),
        ("/deep-html.xml", deep_html),
        ("/huge.xml", huge),
        ("/many.xml", many),
    ]);

    let (state, error) = feed_state(&ws, &server.url("/deep-xml.xml"));
    let items = stored_items(&ws, &server.url("/deep-xml.xml"));
    assert!(
        state == "ok" && items.len() == 1 || state == "error" && error.is_some(),
        "deep XML: {state} {error:?}"
    );

    let items = stored_items(&ws, &server.url("/deep-html.xml"));
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].3, "innermost words", "tags removed, text kept");

    let items = stored_items(&ws, &server.url("/huge.xml"));
    assert_eq!(items.len(), 1);
    let (_, _, title, text, ..) = &items[0];
    assert!(title.starts_with("headline headline") && title.len() <= 1024);
    assert!(text.starts_with("word word") && text.len() <= 64 * 1024);

    let items = stored_items(&ws, &server.url("/many.xml"));
    assert_eq!(items.len(), 1000, "at most 1000 items per fetch");
    assert_eq!(feed_state(&ws, &server.url("/many.xml")).0, "ok");
}

/// Every character that can move, clear, retitle or recolour a terminal, or reorder text.
fn is_terminal_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[test]
fn controls_scripts_and_dangerous_links_never_reach_the_store() {
    // Controls as character references (allowed in XML 1.1 style documents) and raw where XML
    // allows them; an OSC 8 hyperlink, a screen clear, a bell, a bidi override.
    let controls = channel(concat!(
        "<item><guid>ctl-1</guid><link>https://news.example/ctl</link>",
        "<title>Breaking\u{1b}[31m\u{7}\u{0}&#0;&#27;]8;;https://evil.example&#7;click&#27;]8;;&#7; &#27;[2J news &#x202E;reversed&#x9B;31m</title>",
        "<description>&lt;p&gt;Calm &#27;]0;pwned&#7;text&#127; here&lt;/p&gt;</description></item>",
    ));
    let scripts = channel(concat!(
        "<item><guid>js-1</guid><link>javascript:alert(3)</link>",
        "<title>&lt;script&gt;alert(4)&lt;/script&gt;Headline &lt;b&gt;bold&lt;/b&gt;</title>",
        "<description>&lt;p&gt;Hello&lt;/p&gt;&lt;script&gt;alert('x')&lt;/script&gt;&lt;img src=x onerror=\"alert(2)\"&gt;&lt;a href=\"javascript:alert(5)\"&gt;link&lt;/a&gt;&lt;style&gt;body{display:none}&lt;/style&gt;&lt;iframe src=\"https://evil.example\"&gt;&lt;/iframe&gt;</description></item>",
        "<item><guid>data-1</guid><link>data:text/html;base64,PHNjcmlwdD4=</link><title>Data link</title><description>x</description></item>",
    ));
    let (server, ws) = ingest(&[("/ctl.xml", controls), ("/js.xml", scripts)]);

    let items = stored_items(&ws, &server.url("/ctl.xml"));
    assert_eq!(items.len(), 1);
    let (_, url, title, text, ..) = &items[0];
    assert_eq!(url.as_deref(), Some("https://news.example/ctl"));
    for field in [title, text] {
        assert!(
            !field.chars().any(is_terminal_control),
            "a control character was stored: {field:?}"
        );
    }
    assert!(title.starts_with("Breaking") && title.contains("news"));
    assert!(text.contains("Calm") && text.contains("here"));

    let items = stored_items(&ws, &server.url("/js.xml"));
    assert_eq!(items.len(), 2);
    let (_, data_url, ..) = &items[0];
    let (_, js_url, title, text, ..) = &items[1];
    assert_eq!(title, "Headline bold");
    assert!(text.starts_with("Hello"), "{text:?}");
    for field in [title, text] {
        assert!(!field.contains("alert") && !field.contains("display"));
    }
    assert_eq!(js_url, &None, "a javascript: link is not kept");
    assert_eq!(data_url, &None, "a data: link is not kept");

    // And the CLI prints none of it.
    let ids: Vec<String> = ws
        .all_clusters()
        .iter()
        .map(|c| c["id"].to_string())
        .collect();
    let mut commands = vec![
        vec!["clusters", "--since", "100000d", "--min-size", "1"],
        vec![
            "search",
            "--since",
            "100000d",
            "breaking OR calm OR headline",
        ],
        vec!["export", "--since", "100000d"],
        vec!["export", "--since", "100000d", "--format", "json"],
        vec!["feeds"],
        vec!["stats"],
    ];
    commands.extend(ids.iter().map(|id| vec!["cluster", id.as_str()]));
    for args in &commands {
        let out = ws.ok(args);
        assert!(
            !out.stdout.chars().any(is_terminal_control),
            "{args:?} printed a control: {:?}",
            out.stdout
        );
    }
}

#[test]
fn bad_dates_fall_back_to_the_fetch_time_and_repeated_guids_keep_both_items() {
    let dates = channel(concat!(
        "<item><guid>d-0001</guid><title>Year one</title><pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate><description>a</description></item>",
        "<item><guid>d-9999</guid><title>Far future</title><pubDate>Fri, 31 Dec 9999 23:59:59 +0000</pubDate><description>b</description></item>",
        "<item><guid>d-garbage</guid><title>Garbage</title><pubDate>the day after tomorrow</pubDate><description>c</description></item>",
        "<item><guid>d-missing</guid><title>Missing</title><description>d</description></item>",
        "<item><guid>d-good</guid><title>Good date</title><pubDate>Mon, 08 Sep 2025 08:00:00 +0000</pubDate><description>e</description></item>",
    ));
    let repeated = channel(concat!(
        "<item><guid>same</guid><title>First story under one guid</title><description>one</description></item>",
        "<item><guid>same</guid><title>Second story under the same guid</title><description>two</description></item>",
        "<item><guid>same</guid><title>First story under one guid</title><description>one</description></item>",
    ));
    let (server, ws) = ingest(&[("/dates.xml", dates), ("/repeat.xml", repeated)]);

    let items = stored_items(&ws, &server.url("/dates.xml"));
    let by_guid = |g: &str| items.iter().find(|i| i.0 == g).unwrap().clone();
    for guid in ["d-0001", "d-9999", "d-garbage", "d-missing"] {
        let (_, _, _, _, published, ts_minus_fetched) = by_guid(guid);
        assert_eq!(published, None, "{guid}: an implausible date is no date");
        assert_eq!(ts_minus_fetched, 0, "{guid}: ordered by its fetch time");
    }
    assert_eq!(by_guid("d-good").4, Some(1_757_318_400));

    // Both stories under one guid are kept (the exact repeat is one item), and a second poll
    // gives them the same keys: nothing new.
    let repeat_url = server.url("/repeat.xml");
    let titles = |ws: &Workspace| {
        let mut t: Vec<String> = stored_items(ws, &repeat_url)
            .into_iter()
            .map(|i| i.2)
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        titles(&ws),
        [
            "First story under one guid",
            "Second story under the same guid"
        ]
    );
    ws.ok(&["run", "--once"]);
    assert_eq!(titles(&ws).len(), 2, "a second poll adds nothing");
    assert_eq!(feed_state(&ws, &repeat_url).0, "ok");
}
