//! Operations on the store file: a damaged store at start is refused without a write, and
//! `backup` makes a consistent copy and never overwrites.

use crate::common::{FeedServer, Item, Route, Workspace, rss};

fn ingest_some(server: &FeedServer, ws: &Workspace) {
    let items: Vec<Item> = (0..40)
        .map(|n| Item {
            guid: Some(format!("s-{n}")),
            link: Some(format!("https://store.example/{n}")),
            title: format!("Store test story number {n} about harbour works"),
            html: format!(
                "<p>Story {n}: the harbour works continued on pier {n} with cranes and divers, and \
                 the port authority published figures for week {n}.</p>"
            ),
            published: Some("Mon, 01 Sep 2025 08:00:00 +0000".into()),
        })
        .collect();
    server.set("/s.xml", Route::xml(rss("S", &items)));
    ws.write_config(&[server.url("/s.xml")]);
    ws.ok(&["run", "--once"]);
    // Everything into the main file, so that damaging it damages the data.
    ws.db()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

#[test]
fn a_damaged_store_is_refused_at_start_and_left_untouched() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    ingest_some(&server, &ws);
    let db = ws.path("feedfold.db");
    ws.ok(&["backup", ws.path("pristine.db").to_str().unwrap()]);
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    assert!(bytes.len() > 4 * page, "{}", bytes.len());
    // Scribble over the second and third pages (table b-trees).
    for b in &mut bytes[page..3 * page] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the file was not modified"
    );

    // Damage at the end of the file (the last b-tree pages written): refused the same way.
    let mut bytes = std::fs::read(ws.path("pristine.db")).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len - 2 * page..] {
        *b = 0x5A;
    }
    std::fs::write(&db, &bytes).unwrap();
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);

    // Not a database at all: the same clear refusal.
    std::fs::write(
        &db,
        b"this is not a SQLite file, just text that someone put here by mistake",
    )
    .unwrap();
    let out = ws.run(&["run", "--once"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);
}

#[test]
fn backup_writes_a_consistent_copy_and_never_overwrites() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    ingest_some(&server, &ws);
    let copy = ws.path("copy.db");
    let out = ws.ok(&["backup", copy.to_str().unwrap()]);
    assert!(out.stdout.contains("backup of"), "{}", out.stdout);
    let backup = rusqlite::Connection::open(&copy).unwrap();
    let check: String = backup
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let count = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&backup), 40);
    assert_eq!(count(&ws.db()), 40);
    // The copy is a working store: the CLI reads it.
    let listed = ws
        .ok(&["--db", copy.to_str().unwrap(), "feeds", "--json"])
        .json();
    assert_eq!(listed[0]["items"], 40);
    let again = ws.run(&["backup", copy.to_str().unwrap()]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("exists already"), "{}", again.stderr);
}

#[test]
fn retention_prunes_old_items_and_keeps_stories_and_alerts_consistent() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let story = |n: usize, round: &str| Item {
        guid: Some(format!("{round}-{n}")),
        link: Some(format!("https://keep.example/{round}/{n}")),
        title: format!("Harbour works {round} report {n}"),
        html: format!(
            "<p>The harbour works of round {round} continued on pier {n} with cranes and divers, \
             while the port authority published its weekly figures and residents asked about \
             the noise at night near the old lighthouse.</p>"
        ),
        published: Some("Mon, 01 Sep 2025 08:00:00 +0000".into()),
    };
    // Round one: a story carried twice (the same text under two guids) and one on its own.
    let mut copy = story(1, "old");
    copy.guid = Some("old-1-copy".into());
    copy.link = Some("https://elsewhere.example/old/1".into());
    server.set(
        "/k.xml",
        Route::xml(rss("K", &[story(1, "old"), copy, story(2, "old")])),
    );
    let config = |retention: &str| {
        format!(
            "[storage]\nretention = \"{retention}\"\n[fetch]\nhost_spacing = \"0s\"\n\n\
             [[sinks]]\nname = \"log\"\nkind = \"log\"\n\n\
             [[watches]]\nname = \"harbour\"\nquery = \"harbour\"\nnotify = [\"log\"]\n\n\
             [[feeds]]\nurl = \"{}\"\n",
            server.url("/k.xml")
        )
    };
    ws.write_config_text(&config("2s"));
    ws.ok(&["run", "--once"]);
    assert_eq!(
        ws.ok(&["alerts", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    std::thread::sleep(std::time::Duration::from_millis(3100));
    // Round two, later: a new story, and one more copy of the old story 1 (which keeps that
    // story alive with one member); round one is now past retention.
    let mut late_copy = story(1, "old");
    late_copy.guid = Some("late-copy".into());
    late_copy.link = Some("https://late.example/1".into());
    server.set(
        "/k.xml",
        Route::xml(rss("K", &[story(3, "new"), late_copy])),
    );
    ws.ok(&["run", "--once"]);
    let db = ws.db();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM items"), 2);
    assert_eq!(
        count("SELECT COUNT(*) FROM items WHERE guid LIKE 'old%'"),
        0
    );
    assert_eq!(count("SELECT COUNT(*) FROM clusters"), 2);
    // The old story lives on through its late copy, now its representative.
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM clusters c JOIN items i ON i.id = c.representative WHERE i.guid = 'late-copy'"
        ),
        1
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM clusters c WHERE size != (SELECT COUNT(*) FROM items i WHERE i.cluster_id = c.id)"
        ),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM feed_items WHERE item_id NOT IN (SELECT id FROM items)"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM alerts WHERE cluster_id NOT IN (SELECT id FROM clusters)"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM deliveries WHERE alert_id NOT IN (SELECT id FROM alerts)"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM watch_matches WHERE item_id NOT IN (SELECT id FROM items)"),
        0
    );
    // The old story's alert stays with it; old story 2's went with it; the new story has one.
    assert_eq!(
        ws.ok(&["alerts", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // The search index lost the pruned items with them: it agrees with the items table, and a
    // search for round one's words finds only the late copy.
    db.execute(
        "INSERT INTO items_fts(items_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the search index matches the items");
    assert_eq!(
        count("SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH 'title : old'"),
        1
    );
    let found = ws
        .ok(&["search", "title:old", "--since", "100000d", "--json"])
        .json();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["matching"], 1);
    drop(db);
    // Retention off: nothing goes.
    ws.write_config_text(&config("0s"));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    ws.ok(&["run", "--once"]);
    assert_eq!(
        ws.db()
            .query_row("SELECT COUNT(*) FROM items", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        2
    );
}
