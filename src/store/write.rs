//! The write path. Each fetched feed is one `BEGIN IMMEDIATE` transaction: its items, their
//! memberships, their clusters and the feed's new state commit together or not at all, so a kill
//! at any moment leaves no half-ingested feed.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Result, Store};
use crate::config::FeedConfig;
use crate::dedup::{Deduplicator, FINGERPRINT_VERSION, Fingerprint, Rule, Thresholds};
use crate::normalize::NormalizedItem;
use crate::watches::{WatchHit, Watches};

/// What the scheduler needs to know about a feed.
#[derive(Debug, Clone)]
pub struct FeedToFetch {
    pub id: i64,
    /// As configured (identity).
    pub url: String,
    /// After permanent redirects: what is requested.
    pub url_in_use: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<i64>,
    pub error_count: u32,
    pub next_fetch: Option<i64>,
}

/// How a fetch attempt ended, as the store records it on the feed.
#[derive(Debug, Clone)]
pub struct FetchRecord {
    pub at: i64,
    pub status: Option<u16>,
    pub next_fetch: i64,
}

#[derive(Debug, Clone, Default)]
pub struct NewValidators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<i64>,
    /// Set when every redirect hop was permanent.
    pub moved_to: Option<String>,
    /// The feed's own title (one line of plain text), when its document gave one: what names
    /// a feed the config gives no name. Kept when a fetch brings none.
    pub title: Option<String>,
}

/// A normalized item with its fingerprint and the watches it matches, computed before the store
/// (off the writer thread).
#[derive(Debug, Clone)]
pub struct PreparedItem {
    pub item: NormalizedItem,
    pub fingerprint: Fingerprint,
    pub hits: Vec<WatchHit>,
}

impl PreparedItem {
    /// The item with the fingerprint that `thresholds` decide on (and no watch hits).
    pub fn new(item: NormalizedItem, thresholds: &Thresholds) -> PreparedItem {
        let fingerprint = thresholds.fingerprint(&item.title, &item.text);
        PreparedItem {
            item,
            fingerprint,
            hits: Vec::new(),
        }
    }

    /// With the watches (in scope for the feed configured at `feed_url`) that the item matches.
    pub fn with_hits(mut self, watches: &Watches, feed_url: &str) -> PreparedItem {
        self.hits = watches.hits(feed_url, &self.item.title, &self.item.text);
        self
    }
}

/// One fetched feed for [`Store::ingest`]: its items and how the fetch went.
pub struct FeedDelivery<'a> {
    pub feed_id: i64,
    pub items: &'a [PreparedItem],
    pub record: &'a FetchRecord,
    pub validators: &'a NewValidators,
}

/// What one feed's ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Items new to the store.
    pub new_items: usize,
    /// New items that joined an existing cluster (copies folded).
    pub folded: usize,
    /// Items already stored through another feed (same canonical URL): membership added.
    pub shared: usize,
    /// Items this feed had already delivered whose title or text changed.
    pub updated: usize,
    /// Items this feed had already delivered, unchanged.
    pub unchanged: usize,
    /// Alerts raised by the new items and memberships.
    pub alerts: usize,
    /// Stories folded into another because a new item reported both.
    pub merged: usize,
}

impl Store {
    /// Makes the store's feed list match the config: new feeds are added, names and tags
    /// refreshed, feeds no longer configured marked inactive (their items stay).
    pub fn sync_config_feeds(&mut self, feeds: &[FeedConfig], now: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute("UPDATE feeds SET active = 0 WHERE origin = 'config'", [])?;
            for feed in feeds {
                let tags = serde_json::to_string(&feed.tags).expect("strings serialize");
                tx.execute(
                    "INSERT INTO feeds (url, url_in_use, name, tags, origin, active, created)
                     VALUES (?1, ?1, ?2, ?3, 'config', 1, ?4)
                     ON CONFLICT(url) DO UPDATE SET name = excluded.name, tags = excluded.tags, active = 1",
                    params![feed.url.as_str(), feed.name, tags, now],
                )?;
            }
            Ok(())
        })
    }

    /// Adds feeds from an OPML import (origin `opml`), active at once: a running daemon picks
    /// them up within a minute. A URL the store already has (configured, imported before, or
    /// the URL in use after a redirect) is skipped; one that was removed from the config comes
    /// back as imported. Returns the URLs added.
    pub fn import_feeds(
        &mut self,
        feeds: &[crate::opml::OpmlFeed],
        now: i64,
    ) -> Result<Vec<String>> {
        self.write(|tx| {
            let mut added = Vec::new();
            for feed in feeds {
                let known: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM feeds WHERE (url = ?1 OR url_in_use = ?1) AND active = 1)",
                    [&feed.url],
                    |r| r.get(0),
                )?;
                if known {
                    continue;
                }
                let tags = serde_json::to_string(&feed.tags).expect("strings serialize");
                tx.execute(
                    "INSERT INTO feeds (url, url_in_use, name, tags, origin, active, created)
                     VALUES (?1, ?1, ?2, ?3, 'opml', 1, ?4)
                     ON CONFLICT(url) DO UPDATE SET name = excluded.name, tags = excluded.tags,
                        origin = 'opml', active = 1",
                    params![feed.url, feed.name, tags, now],
                )?;
                added.push(feed.url.clone());
            }
            Ok(added)
        })
    }

    /// Stops polling a feed that `opml import` added (by URL, URL in use, name, or the feed's
    /// own title when no other feed has it): it becomes inactive and its items stay, as with a
    /// feed removed from the config. A feed of the config file is left alone (the config says
    /// what it polls).
    pub fn remove_imported_feed(&mut self, feed: &str) -> Result<RemovedFeed> {
        self.write(|tx| {
            let row = |r: &rusqlite::Row| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?));
            let mut found: Option<(i64, String, String, bool)> = tx
                .query_row(
                    "SELECT id, url, origin, active FROM feeds
                     WHERE url = ?1 OR url_in_use = ?1 OR name = ?1
                     ORDER BY active DESC, id LIMIT 1",
                    [feed],
                    row,
                )
                .optional()?;
            if found.is_none() {
                // A title is the feed's own, and two feeds may well give the same one.
                let mut by_title = tx
                    .prepare("SELECT id, url, origin, active FROM feeds WHERE title = ?1 LIMIT 2")?
                    .query_map([feed], row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                if by_title.len() > 1 {
                    return Ok(RemovedFeed::Ambiguous);
                }
                found = by_title.pop();
            }
            Ok(match found {
                None => RemovedFeed::Unknown,
                Some((_, url, origin, _)) if origin == "config" => RemovedFeed::InConfig(url),
                Some((_, url, _, false)) => RemovedFeed::AlreadyRemoved(url),
                Some((id, url, _, true)) => {
                    tx.execute("UPDATE feeds SET active = 0 WHERE id = ?1", [id])?;
                    RemovedFeed::Removed(url)
                }
            })
        })
    }

    /// Active feeds that are not gone, with what a fetch needs.
    pub fn feeds_to_fetch(&self) -> Result<Vec<FeedToFetch>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{FEED_TO_FETCH} ORDER BY id"))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], feed_to_fetch_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// One feed as [`Store::feeds_to_fetch`] shows it, after an attempt changed it; `None` once
    /// it is gone or no longer configured.
    pub fn feed_to_fetch(&self, feed_id: i64) -> Result<Option<FeedToFetch>> {
        self.conn
            .prepare_cached(&format!("{FEED_TO_FETCH} AND id = ?1"))
            .and_then(|mut stmt| stmt.query_row([feed_id], feed_to_fetch_row).optional())
            .map_err(|e| self.err(e))
    }

    /// A fetch that was not made because the feed's host asked for a pause: only the next
    /// attempt moves; the feed's health stays what the last real answer made it.
    pub fn record_deferred(&mut self, feed_id: i64, next_fetch: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE feeds SET next_fetch = ?2 WHERE id = ?1",
                params![feed_id, next_fetch],
            )?;
            Ok(())
        })
    }

    /// A failed attempt: the error and the consecutive-failure count are kept on the feed.
    /// `gone` (HTTP 410) stops polling.
    pub fn record_failure(
        &mut self,
        feed_id: i64,
        record: &FetchRecord,
        error: &str,
        gone: bool,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE feeds SET state = ?2, last_fetch = ?3, last_status = ?4,
                    error_count = error_count + 1, last_error = ?5, next_fetch = ?6
                 WHERE id = ?1",
                params![
                    feed_id,
                    if gone { "gone" } else { "error" },
                    record.at,
                    record.status,
                    error,
                    record.next_fetch
                ],
            )?;
            Ok(())
        })
    }

    /// A success that brought nothing to parse (304, or the same body as last time).
    pub fn record_unchanged(
        &mut self,
        feed_id: i64,
        record: &FetchRecord,
        validators: &NewValidators,
    ) -> Result<()> {
        self.write(|tx| {
            update_feed_success(tx, feed_id, record, validators)?;
            Ok(())
        })
    }

    /// Ingests fetched feeds in one transaction: every item is either an update of an item
    /// its feed delivered before, a new membership of an item another feed delivered (same
    /// canonical URL), or a new item placed in a cluster by `dedup`. The feeds are one batch
    /// ([`Deduplicator::begin_batch`]): a story that one of them starts may still be folded
    /// into another by a later item of any of them, or at the end. Returns one report per feed,
    /// in order; the stories folded at the end count in the last one. On an error the
    /// transaction rolls back but `dedup` keeps the items it was shown: discard it and rebuild
    /// it with [`Store::load_dedup_index`].
    pub fn ingest(
        &mut self,
        feeds: &[FeedDelivery],
        dedup: &mut Deduplicator,
        watches: &Watches,
    ) -> Result<Vec<IngestReport>> {
        dedup.begin_batch();
        self.write(|tx| {
            let mut reports = Vec::with_capacity(feeds.len());
            let mut search = SearchIndexChanges::default();
            for feed in feeds {
                let mut report = IngestReport::default();
                for item in feed.items {
                    ingest_item(
                        tx,
                        feed.feed_id,
                        item,
                        dedup,
                        watches,
                        feed.record.at,
                        &mut report,
                        &mut search,
                    )?;
                }
                update_feed_success(tx, feed.feed_id, feed.record, feed.validators)?;
                reports.push(report);
            }
            // With the whole batch in, a story it started may turn out to be another's.
            for refold in dedup.review_batch() {
                fold_story(tx, refold.story, refold.into, refold.via, refold.score)?;
                if let Some(last) = reports.last_mut() {
                    last.merged += 1;
                }
            }
            // Last in the transaction: see `SearchIndexChanges`.
            search.apply(tx)?;
            Ok(reports)
        })
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, committing on success.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        let err = |source| super::StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let value = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(value)
    }

    /// Loads the recent items into `dedup`'s candidate index (at start-up), so that a copy of a
    /// story stored before a restart still finds its cluster. "Recent" is measured from the
    /// newest stored item's time, not from the clock.
    pub fn load_dedup_index(&self, dedup: &mut Deduplicator) -> Result<usize> {
        let newest: Option<i64> = self
            .conn
            .query_row("SELECT MAX(ts) FROM items", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let Some(newest) = newest else { return Ok(0) };
        let since = newest.saturating_sub(2 * dedup.thresholds.window_secs);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, cluster_id, ts, title, text, rule, score FROM items
                 WHERE ts >= ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([since]).map_err(|e| self.err(e))?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (id, cluster, ts): (i64, i64, i64) = (
                r.get(0).map_err(|e| self.err(e))?,
                r.get(1).map_err(|e| self.err(e))?,
                r.get(2).map_err(|e| self.err(e))?,
            );
            let title: String = r.get(3).map_err(|e| self.err(e))?;
            let text: String = r.get(4).map_err(|e| self.err(e))?;
            let rule: String = r.get(5).map_err(|e| self.err(e))?;
            let score: Option<f64> = r.get(6).map_err(|e| self.err(e))?;
            let fp = dedup.thresholds.fingerprint(&title, &text);
            let independent = crate::dedup::stored_independent_report(&rule, score);
            dedup.insert(id, cluster, ts, fp, independent);
            n += 1;
        }
        Ok(n)
    }
}

const FEED_TO_FETCH: &str =
    "SELECT id, url, url_in_use, etag, last_modified, body_hash, error_count, next_fetch
     FROM feeds WHERE active = 1 AND state != 'gone'";

fn feed_to_fetch_row(r: &rusqlite::Row) -> rusqlite::Result<FeedToFetch> {
    Ok(FeedToFetch {
        id: r.get(0)?,
        url: r.get(1)?,
        url_in_use: r.get(2)?,
        etag: r.get(3)?,
        last_modified: r.get(4)?,
        body_hash: r.get(5)?,
        error_count: r.get::<_, i64>(6)?.clamp(0, u32::MAX as i64) as u32,
        next_fetch: r.get(7)?,
    })
}

fn update_feed_success(
    tx: &rusqlite::Transaction,
    feed_id: i64,
    record: &FetchRecord,
    v: &NewValidators,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE feeds SET state = 'ok', last_fetch = ?2, last_status = ?3, error_count = 0,
            last_error = NULL, next_fetch = ?4,
            etag = COALESCE(?5, etag), last_modified = COALESCE(?6, last_modified),
            body_hash = COALESCE(?7, body_hash), url_in_use = COALESCE(?8, url_in_use),
            title = COALESCE(?9, title)
         WHERE id = ?1",
    )?
    .execute(params![
        feed_id,
        record.at,
        record.status,
        record.next_fetch,
        v.etag,
        v.last_modified,
        v.body_hash,
        v.moved_to,
        v.title
    ])?;
    Ok(())
}

/// What [`Store::remove_imported_feed`] did, with the feed's URL.
#[derive(Debug, PartialEq, Eq)]
pub enum RemovedFeed {
    Removed(String),
    AlreadyRemoved(String),
    InConfig(String),
    Unknown,
    /// More than one feed gives that title.
    Ambiguous,
}

/// What one ingest changes in the search index (`items_fts`), applied at the end of its
/// transaction in two statements. Not by triggers: FTS5 writes its pending terms to disk at every
/// statement savepoint once it is part of a transaction, so indexing item by item made a tiny
/// index segment per statement and merged them without end (ingest ran 3x slower).
#[derive(Default)]
struct SearchIndexChanges {
    /// New items, and edited ones (indexed again with their new text).
    index: Vec<i64>,
    /// Edited items' old title and text (an external-content FTS5 index forgets a row by being
    /// told the values it indexed).
    forget: Vec<(i64, String, String)>,
}

impl SearchIndexChanges {
    fn apply(self, tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
        if !self.forget.is_empty() {
            let forget: Vec<(i64, &str, &str)> = self
                .forget
                .iter()
                .map(|(id, title, text)| (*id, title.as_str(), text.as_str()))
                .collect();
            tx.prepare_cached(
                "INSERT INTO items_fts (items_fts, rowid, title, text)
                 SELECT 'delete', value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1)",
            )?
            .execute([serde_json::to_string(&forget).expect("values serialize")])?;
        }
        if !self.index.is_empty() {
            tx.prepare_cached(
                "INSERT INTO items_fts (rowid, title, text)
                 SELECT id, title, text FROM items WHERE id IN (SELECT value FROM json_each(?1))",
            )?
            .execute([serde_json::to_string(&self.index).expect("ids serialize")])?;
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn ingest_item(
    tx: &rusqlite::Transaction,
    feed_id: i64,
    prepared: &PreparedItem,
    dedup: &mut Deduplicator,
    watches: &Watches,
    now: i64,
    report: &mut IngestReport,
    search: &mut SearchIndexChanges,
) -> rusqlite::Result<()> {
    let PreparedItem {
        item,
        fingerprint: fp,
        hits,
    } = prepared;
    // 1. This feed delivered it before: an edit updates it in place (only where this feed is the
    //    one that first carried it; another outlet's copy keeps the title first seen).
    // Two lookups, not a join: SQLite re-prepares the join on every new binding (seen with
    // sqlite3_stmt_status), which cost more than the rest of the ingest together.
    let known_id: Option<i64> = tx
        .prepare_cached("SELECT item_id FROM feed_items WHERE feed_id = ?1 AND key = ?2")?
        .query_row(params![feed_id, item.key], |r| r.get(0))
        .optional()?;
    let known: Option<(i64, i64, String, String)> = match known_id {
        Some(id) => Some(
            tx.prepare_cached("SELECT id, first_feed, title, text FROM items WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?,
        ),
        None => None,
    };
    if let Some((id, first_feed, title, text)) = known {
        if first_feed == feed_id && (title != item.title || text != item.text) {
            tx.prepare_cached("UPDATE items SET title = ?2, text = ?3 WHERE id = ?1")?
                .execute(params![id, item.title, item.text])?;
            search.forget.push((id, title, text));
            search.index.push(id);
            report.updated += 1;
        } else {
            report.unchanged += 1;
        }
        return Ok(());
    }
    // Whether the membership is new (this feed had not carried the item under another key).
    let add_membership = |item_id: i64| -> rusqlite::Result<bool> {
        let added = tx.prepare_cached("INSERT OR IGNORE INTO feed_items (feed_id, key, item_id, first_seen) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![feed_id, item.key, item_id, now])?;
        Ok(added == 1)
    };
    // 2. Another feed (or another key of this one) carries the same canonical URL: same item.
    if let Some(url) = &item.canonical_url {
        let existing: Option<i64> = tx
            // No ORDER BY: with it SQLite re-prepares the statement on every call while the table
            // grows. The URL is unique anyway (a unique index holds it).
            .prepare_cached("SELECT id FROM items WHERE canonical_url = ?1")?
            .query_row([url], |r| r.get(0))
            .optional()?;
        if let Some(id) = existing {
            let is_new = add_membership(id)?;
            report.shared += 1;
            if is_new {
                // One more outlet carries the story: it may earn a watch's alert or follow-up.
                let cluster: i64 = tx
                    .prepare_cached("SELECT cluster_id FROM items WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))?;
                report.alerts += super::alerts::on_new_member(tx, watches, cluster, id, hits, now)?;
            }
            return Ok(());
        }
    }
    // 3. A new item: the deduplicator places it.
    let ts = item.published.unwrap_or(now);
    let decision = dedup.decide(fp, ts);
    let cluster_id = match decision.cluster {
        Some(id) => id,
        None => {
            tx.prepare_cached(
                "INSERT INTO clusters (size, first_ts, last_ts, created) VALUES (0, ?1, ?1, ?2)",
            )?
            .execute(params![ts, now])?;
            let story = tx.last_insert_rowid();
            dedup.start_story(story);
            story
        }
    };
    tx.prepare_cached(
        "INSERT INTO items (guid, url, canonical_url, title, text, published, fetched, ts, first_feed,
            cluster_id, rule, score, distance, matched, simhash, fp_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        item.guid,
        item.url,
        item.canonical_url,
        item.title,
        item.text,
        item.published,
        now,
        ts,
        feed_id,
        cluster_id,
        decision.rule.as_str(),
        decision.score,
        decision.distance,
        decision.matched,
        // SQLite integers are signed: the 64 fingerprint bits are stored bit-cast.
        fp.simhash as i64,
        FINGERPRINT_VERSION,
    ])?;
    let item_id = tx.last_insert_rowid();
    search.index.push(item_id);
    // The representative is the earliest member by publication time (first come on a tie).
    tx.prepare_cached(
        "UPDATE clusters SET size = size + 1,
            representative = CASE WHEN representative IS NULL OR ?2 < first_ts THEN ?3 ELSE representative END,
            first_ts = MIN(first_ts, ?2), last_ts = MAX(last_ts, ?2)
         WHERE id = ?1",
    )?
    .execute(params![cluster_id, ts, item_id])?;
    if decision.cluster.is_some() {
        report.folded += 1;
    }
    if let Some(merged) = decision.merged {
        fold_story(tx, merged.cluster, cluster_id, item_id, merged.score)?;
        dedup.fold_story(merged.cluster, cluster_id);
        report.merged += 1;
    }
    add_membership(item_id)?;
    report.alerts += super::alerts::on_new_member(tx, watches, cluster_id, item_id, hits, now)?;
    dedup.insert(
        item_id,
        cluster_id,
        ts,
        fp.clone(),
        decision.is_independent_report(),
    );
    report.new_items += 1;
    Ok(())
}

/// Folds story `story` into `into` after item `via` reported both (a decision's
/// [`crate::dedup::MergedStory`], `score` its similarity to `story`): the members move, the one
/// that started `story` records why (rule `merged`, the score, `via`), and its alerts and watch
/// matches follow it (see [`retire_story`]).
fn fold_story(
    tx: &rusqlite::Transaction,
    story: i64,
    into: i64,
    via: i64,
    score: f64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE items SET rule = ?3, score = ?4, distance = NULL, matched = ?5
         WHERE cluster_id = ?1 AND rule = ?2",
    )?
    .execute(params![
        story,
        Rule::First.as_str(),
        Rule::Merged.as_str(),
        score,
        via
    ])?;
    tx.prepare_cached("UPDATE items SET cluster_id = ?2 WHERE cluster_id = ?1")?
        .execute(params![story, into])?;
    refresh_story(tx, into)?;
    retire_story(tx, story, Some(into))
}

/// Recomputes a story's size, times and representative (the earliest member, first come on a
/// tie, as at ingest) from its members. Returns false, changing nothing, when it has none.
pub(super) fn refresh_story(tx: &rusqlite::Transaction, cluster: i64) -> rusqlite::Result<bool> {
    let (size, first, last, representative): (i64, Option<i64>, Option<i64>, Option<i64>) = tx
        .prepare_cached(
            "SELECT COUNT(*), MIN(ts), MAX(ts),
                (SELECT id FROM items WHERE cluster_id = ?1 ORDER BY ts, id LIMIT 1)
             FROM items WHERE cluster_id = ?1",
        )?
        .query_row([cluster], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let (Some(first), Some(last), Some(representative)) = (first, last, representative) else {
        return Ok(false);
    };
    tx.prepare_cached(
        "UPDATE clusters SET size = ?2, first_ts = ?3, last_ts = ?4, representative = ?5
         WHERE id = ?1",
    )?
    .execute(params![cluster, size, first, last, representative])?;
    Ok(size > 0)
}

/// Deletes a story left without members. Its alerts and watch matches go to `heir` (the story
/// that holds its members now); where `heir` has the same alert already, the story was
/// announced: the duplicate goes, with its deliveries.
pub(super) fn retire_story(
    tx: &rusqlite::Transaction,
    cluster: i64,
    heir: Option<i64>,
) -> rusqlite::Result<()> {
    if let Some(heir) = heir {
        tx.prepare_cached("UPDATE OR IGNORE alerts SET cluster_id = ?2 WHERE cluster_id = ?1")?
            .execute(params![cluster, heir])?;
        tx.prepare_cached(
            "UPDATE OR IGNORE watch_matches SET cluster_id = ?2 WHERE cluster_id = ?1",
        )?
        .execute(params![cluster, heir])?;
    }
    tx.prepare_cached(
        "DELETE FROM deliveries WHERE alert_id IN (SELECT id FROM alerts WHERE cluster_id = ?1)",
    )?
    .execute([cluster])?;
    tx.prepare_cached("DELETE FROM alerts WHERE cluster_id = ?1")?
        .execute([cluster])?;
    tx.prepare_cached("DELETE FROM watch_matches WHERE cluster_id = ?1")?
        .execute([cluster])?;
    tx.prepare_cached("DELETE FROM clusters WHERE id = ?1")?
        .execute([cluster])?;
    Ok(())
}
