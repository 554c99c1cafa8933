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
