//! `kill -9` at random moments while the daemon ingests: the store stays consistent, no feed is
//! half-ingested, nothing committed is lost, and the next start resumes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::common::{FeedServer, Item, Route, Workspace, feeds_toml, rss};

const FEEDS: usize = 24;
/// A round of 3000 items: the daemon stores a round's fetches together, up to 1000 items a
/// transaction, so that a round takes three commits and kills can land between them.
const ITEMS: usize = 125;
const KILLS: usize = 40;

/// Feed `feed`'s body in `round`: `ITEMS` items whose guids name the feed and the round.
fn feed_body(feed: usize, round: usize) -> String {
    let items: Vec<Item> = (0..ITEMS)
        .map(|i| Item {
            guid: Some(format!("f{feed}-r{round}-i{i}")),
            link: Some(format!("https://kill.example/{feed}/{round}/{i}")),
            title: format!("Round {round} report {i} from desk {feed}"),
            html: format!(
                "<p>Desk {feed} files report {i} of round {round}. Figures {} and {} were \
                 published on the {}th, with comment from {} officials in the region.</p>",
                i * 7 + feed,
                round * 13 + i,
                i % 28 + 1,
                feed + round
            ),
            // A week apart per round, as news moves on: the deduplication index a start loads
            // holds the recent rounds, not the whole history.
            published: Some(pub_date(round as i64 * 7 * 86400 + i as i64 * 60)),
        })
        .collect();
    rss(&format!("Desk {feed}"), &items)
}

/// RFC 2822 (an RSS `pubDate`) for 2025-09-01 08:00 UTC plus `offset` seconds.
fn pub_date(offset: i64) -> String {
    chrono::DateTime::from_timestamp(1_756_713_600 + offset, 0)
        .unwrap()
        .to_rfc2822()
}

/// A small deterministic generator (xorshift64*), seeded per run and printed on failure.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Checks the invariants; returns the guids stored.
fn check_store(ws: &Workspace, context: &str) -> HashSet<String> {
    let db = ws.db();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "{context}");
    // Every (feed, round) is all or nothing.
    let mut groups: HashMap<String, usize> = HashMap::new();
    let mut stmt = db.prepare("SELECT guid FROM items").unwrap();
    let guids: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for guid in &guids {
        let group = guid.rsplit_once("-i").unwrap().0.to_string();
        *groups.entry(group).or_default() += 1;
    }
    for (group, n) in &groups {
        assert_eq!(*n, ITEMS, "{context}: {group} is half-ingested");
    }
    let unique: HashSet<String> = guids.iter().cloned().collect();
    assert_eq!(unique.len(), guids.len(), "{context}: an item stored twice");
    // Memberships and cluster sizes agree with the items.
    let orphans: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM items WHERE id NOT IN (SELECT item_id FROM feed_items)
               OR cluster_id NOT IN (SELECT id FROM clusters)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "{context}: items without a feed or a cluster");
    let wrong_sizes: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM clusters c
             WHERE c.size != (SELECT COUNT(*) FROM items i WHERE i.cluster_id = c.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        wrong_sizes, 0,
        "{context}: cluster sizes disagree with their items"
    );
    unique
}

#[test]
fn kill_9_at_random_moments_loses_nothing_committed_and_the_next_start_resumes() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let urls: Vec<String> = (0..FEEDS)
        .map(|f| server.url(&format!("/{f}.xml")))
        .collect();
    // Every feed due again a second after its fetch: each start fetches everything.
    let mut config =
        String::from("[fetch]\ninterval = \"1s\"\nhost_spacing = \"0s\"\nper_host = 8\n\n");
    config.push_str(&feeds_toml(&urls));
    ws.write_config_text(&config);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut committed: HashSet<String> = HashSet::new();
    let mut killed_with_work = 0;
    // The kill comes at a random moment below `max_delay`, which adapts so that kills keep
    // landing during ingest (some feeds of the round stored, others not) on fast and slow
    // machines alike: shorter after a round that finished, longer after one that stored nothing.
    let mut max_delay = 700u64;
    let mut round = 0;
    while round < KILLS || (killed_with_work < KILLS / 4 && round < 3 * KILLS) {
        for (f, _) in urls.iter().enumerate() {
            server.set(&format!("/{f}.xml"), Route::xml(feed_body(f, round)));
        }
        let mut daemon = ws.spawn_daemon(&[("RUST_LOG", "warn")]);
        std::thread::sleep(Duration::from_millis(20 + rng.below(max_delay)));
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        let context = format!("seed {seed}, round {round}");
        round += 1;
        if !ws.path("feedfold.db").exists() {
            continue;
        }
        let stored = check_store(&ws, &context);
        let lost: Vec<&String> = committed.difference(&stored).collect();
        assert!(lost.is_empty(), "{context}: committed items lost: {lost:?}");
        let this_round = stored
            .iter()
            .filter(|g| g.contains(&format!("-r{}-", round - 1)))
            .count();
        if this_round == 0 {
            max_delay = (max_delay * 5 / 4).min(5000);
        } else if this_round == FEEDS * ITEMS {
            max_delay = (max_delay * 3 / 4).max(40);
        } else {
            killed_with_work += 1;
        }
        committed = stored;
    }
    eprintln!("kill -9 loop: {round} kills, {killed_with_work} mid-ingest (seed {seed})");
    assert!(
        killed_with_work >= KILLS / 4,
        "only {killed_with_work} of {round} kills landed during ingest (seed {seed})"
    );
    // The next start resumes: the last round is ingested in full.
    ws.ok(&["run", "--once"]);
    let stored = check_store(&ws, "after the final run");
    let last = stored
        .iter()
        .filter(|g| g.contains(&format!("-r{}-", round - 1)))
        .count();
    assert_eq!(last, FEEDS * ITEMS);
    assert!(committed.is_subset(&stored));
}
