//! Query speed on a big store: the `clusters` listing and `search`, through the same `Store`
//! methods the CLI calls, on a generated store (default one million items over 90 days, about
//! 1.5 items per story, 200 feeds, 600 bytes of text per item).
//!
//! ```sh
//! cargo bench --bench queries -- [--items 1000000] [--store PATH] [--runs 7]
//! ```
//!
//! `--store PATH` keeps the generated store there and reuses it on the next run (generating a
//! million items takes a few minutes). Each query runs once to warm the page cache, then
//! `--runs` times; the median and the slowest are reported.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use feedfold::store::Store;
use feedfold::store::read::ClusterFilter;
use feedfold::watches::fts5_match;

mod support;
use support::{Rng, prose, vocabulary};

const DAY: i64 = 86_400;
const DAYS: i64 = 90;
const FEEDS: i64 = 200;

/// A store of `items` items published over the 90 days before `now`.
fn generate(path: &Path, items: usize, vocab: &[String], now: i64) {
    drop(Store::open(path).expect("a new store"));
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")
        .unwrap();
    let mut rng = Rng(42);
    let started = Instant::now();
    let tx = conn.transaction().unwrap();
    for feed in 0..FEEDS {
        tx.execute(
            "INSERT INTO feeds (id, url, url_in_use, name, origin, active, state, created)
             VALUES (?1, ?2, ?2, ?3, 'config', 1, 'ok', 0)",
            rusqlite::params![
                feed + 1,
                format!("https://outlet{feed}.example/feed.xml"),
                format!("Outlet {feed}")
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    let start = now - DAYS * DAY;
    let step = (DAYS * DAY) as f64 / items as f64;
    let mut recent: Vec<(i64, i64)> = Vec::new(); // (cluster id, size)
    let mut next_cluster = 1i64;
    let batch = 20_000;
    for first in (0..items).step_by(batch) {
        let tx = conn.transaction().unwrap();
        {
            let mut new_cluster = tx
                .prepare_cached(
                    "INSERT INTO clusters (id, representative, size, first_ts, last_ts, created)
                     VALUES (?1, ?2, 1, ?3, ?3, ?3)",
                )
                .unwrap();
            let mut grow = tx
                .prepare_cached(
                    "UPDATE clusters SET size = size + 1, last_ts = MAX(last_ts, ?2) WHERE id = ?1",
                )
                .unwrap();
            let mut item = tx
                .prepare_cached(
                    "INSERT INTO items (id, guid, url, title, text, published, fetched, ts,
                                        first_feed, cluster_id, rule, simhash, fp_version)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, ?7, ?8, ?9, 0, 1)",
                )
                .unwrap();
            let mut membership = tx
                .prepare_cached(
                    "INSERT INTO feed_items (feed_id, key, item_id, first_seen) VALUES (?1, ?2, ?3, ?4)",
                )
                .unwrap();
            for n in first..(first + batch).min(items) {
                let id = n as i64 + 1;
                let ts = start + (n as f64 * step) as i64;
                let feed = 1 + rng.below(FEEDS as usize) as i64;
                // A third of the items join one of the last stories.
                let (cluster, rule) = if !recent.is_empty() && rng.chance(0.34) {
                    let slot = rng.below(recent.len());
                    recent[slot].1 += 1;
                    grow.execute(rusqlite::params![recent[slot].0, ts]).unwrap();
                    (recent[slot].0, "simhash")
                } else {
                    let cluster = next_cluster;
                    next_cluster += 1;
                    new_cluster
                        .execute(rusqlite::params![cluster, id, ts])
                        .unwrap();
                    recent.push((cluster, 1));
                    if recent.len() > 200 {
                        recent.remove(0);
                    }
                    (cluster, "new")
                };
                let title = prose(&mut rng, vocab, 60);
                let text = prose(&mut rng, vocab, 600);
                let guid = format!("g{id}");
                item.execute(rusqlite::params![
                    id,
                    guid,
                    format!("https://outlet{feed}.example/a/{id}"),
                    title.trim_end_matches(['.', ' ']),
                    text,
                    ts,
                    feed,
                    cluster,
                    rule
                ])
                .unwrap();
                membership
                    .execute(rusqlite::params![feed, format!("g:{guid}"), id, ts])
                    .unwrap();
            }
            // Indexed for search as the ingest does it: at the end of the transaction.
            tx.execute(
                "INSERT INTO items_fts (rowid, title, text)
                 SELECT id, title, text FROM items WHERE id > ?1 AND id <= ?2",
                rusqlite::params![first as i64, (first + batch).min(items) as i64],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .unwrap();
    eprintln!(
        "generated {items} items in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn time<T>(runs: usize, mut query: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut result = query();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        result = query();
        times.push(t.elapsed());
    }
    times.sort();
    (times[runs / 2], times[runs - 1], result)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut items = 1_000_000usize;
    let mut kept: Option<PathBuf> = None;
    let mut runs = 7usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--items" => items = args.next().unwrap().parse().unwrap(),
            "--store" => kept = Some(args.next().unwrap().into()),
            "--runs" => runs = args.next().unwrap().parse().unwrap(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let mut rng = Rng(7);
    let vocab = vocabulary(&mut rng, 6000);
    let dir = tempfile::tempdir().unwrap();
    let path = kept.unwrap_or_else(|| dir.path().join("feedfold.db"));
    if !path.exists() {
        generate(&path, items, &vocab, feedfold::timefmt::now_unix());
    }
    let store = Store::open_existing(&path).unwrap();
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let stats = store.stats().unwrap();
    // The store's own "now": its newest item (a kept store stays comparable with itself).
    let now = stats.newest_item.unwrap();
    println!(
        "store: {} items, {} stories, {:.0} MB, newest item {} s ago",
        stats.items,
        stats.clusters,
        size as f64 / 1e6,
        feedfold::timefmt::now_unix() - now
    );

    // Words by how common they are (`prose` skews toward the low ranks).
    let common = &vocab[0];
    let middling = &vocab[300];
    let rare = &vocab[5000];
    // A prefix as people type them (`ukrain*`): three letters or more.
    let long_word = vocab[100..].iter().find(|w| w.len() >= 6).unwrap();
    let prefix = format!("{}*", &long_word[..3]);
    let short_prefix = format!("{}*", &middling[..2]);
    let day_ago = now - DAY;
    let listing = |min_size: i64, query: Option<&str>| ClusterFilter {
        since: day_ago,
        min_size,
        limit: 20,
        tag: None,
        feed: None,
        query: query.map(|q| fts5_match(q).unwrap()),
    };
    let report = |name: &str, (median, max, found): (Duration, Duration, usize)| {
        println!(
            "{name:<52} median {:>8.2} ms  max {:>8.2} ms  ({found} stories)",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    };
    report(
        "clusters --since 24h",
        time(runs, || store.clusters(&listing(2, None)).unwrap().len()),
    );
    report(
        "clusters --since 24h --min-size 1",
        time(runs, || store.clusters(&listing(1, None)).unwrap().len()),
    );
    report(
        &format!("clusters --since 24h --query {common}"),
        time(runs, || {
            store.clusters(&listing(1, Some(common))).unwrap().len()
        }),
    );
    for (label, query) in [
        ("common word", common.clone()),
        ("middling word", middling.clone()),
        ("rare word", rare.clone()),
        ("two words", format!("{common} {middling}")),
        ("phrase", format!("\"{} {}\"", vocab[0], vocab[1])),
        ("prefix of three letters", prefix),
        ("prefix of two letters", short_prefix),
    ] {
        let expression = fts5_match(&query).unwrap();
        report(
            &format!("search --since 24h {query} ({label})"),
            time(runs, || {
                store.search(&expression, day_ago, 20).unwrap().len()
            }),
        );
    }
    let expression = fts5_match(rare).unwrap();
    report(
        &format!("search --since 100000d {rare} (rare word, all items)"),
        time(runs, || store.search(&expression, 0, 20).unwrap().len()),
    );
    let expression = fts5_match(middling).unwrap();
    report(
        &format!("search --since 100000d {middling} (middling word, all items)"),
        time(runs, || store.search(&expression, 0, 20).unwrap().len()),
    );

    // The whole command as a user runs it: process start, store open, query, rendering.
    // `--since 24h` counts from the clock, so this is the same period only for a store
    // generated within the hour.
    let binary = env!("CARGO_BIN_EXE_feedfold");
    for args in [
        vec!["clusters", "--since", "24h"],
        vec!["search", common.as_str()],
        vec!["search", "--json", middling.as_str()],
    ] {
        let (median, max, _) = time(runs, || {
            let status = std::process::Command::new(binary)
                .arg("--db")
                .arg(&path)
                .args(&args)
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
            0
        });
        println!(
            "{:<52} median {:>8.2} ms  max {:>8.2} ms  (the binary)",
            format!("feedfold {}", args.join(" ")),
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
}
