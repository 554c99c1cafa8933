//! Alerts in the store: raising them inside the ingest transaction (so an alert exists exactly
//! when the items that raised it do), the delivery outbox, and the `alerts` listing.
//!
//! An alert is keyed by (watch, story, kind, threshold): a `new` alert once per watch and story,
//! a `follow-up` once per configured size. Another copy of the story never raises a second one.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use crate::watches::{WatchHit, Watches};

/// A delivery that is due, with what its payload needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub alert_id: i64,
    pub sink: String,
    pub attempts: i64,
    pub first_attempt: Option<i64>,
    pub alert: AlertView,
}

/// One alert as listed and as sent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertView {
    pub id: i64,
    pub watch: String,
    pub cluster: i64,
    pub kind: String,
    pub threshold: i64,
    pub sources: i64,
    pub title: String,
    pub url: Option<String>,
    pub matched: Vec<String>,
    pub created: i64,
    /// Held by the watch's rate cap: goes out in the digest sent at this time.
    pub digest_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub sink: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// Records that a new member joined `cluster` (a new item, or an item newly carried by another
/// feed) and raises the alerts it earns: `hits` are the watches the member matched.
pub(crate) fn on_new_member(
    tx: &rusqlite::Transaction,
    watches: &Watches,
    cluster: i64,
    item: i64,
    hits: &[WatchHit],
    now: i64,
) -> rusqlite::Result<usize> {
    if watches.is_empty() {
        return Ok(0);
    }
    for hit in hits {
        let matched = serde_json::to_string(&hit.matched).expect("strings serialize");
        tx.prepare_cached(
            "INSERT OR IGNORE INTO watch_matches (cluster_id, watch, item_id, matched, created)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            cluster,
            watches.get(hit.watch).name,
            item,
            matched,
            now
        ])?;
    }
    let matches: Vec<(String, String)> = tx
        .prepare_cached("SELECT watch, matched FROM watch_matches WHERE cluster_id = ?1")?
        .query_map([cluster], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if matches.is_empty() {
        return Ok(0);
    }
    let sources: i64 = tx
        .prepare_cached(
            "SELECT COUNT(DISTINCT fi.feed_id) FROM items i JOIN feed_items fi ON fi.item_id = i.id
             WHERE i.cluster_id = ?1",
        )?
        .query_row([cluster], |r| r.get(0))?;
    let (title, url): (String, Option<String>) = tx
        .prepare_cached(
            "SELECT i.title, i.url FROM clusters c JOIN items i ON i.id = c.representative
             WHERE c.id = ?1",
        )?
        .query_row([cluster], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut raised = 0;
    for (name, matched) in matches {
        // A watch no longer in the config raises nothing more.
        let Some(watch) = watches.by_name(&name) else {
            continue;
        };
        let new_alert_sources: Option<i64> = tx
            .prepare_cached(
                "SELECT sources FROM alerts WHERE watch = ?1 AND cluster_id = ?2 AND kind = 'new'",
            )?
            .query_row(params![name, cluster], |r| r.get(0))
            .optional()?;
        let mut raise = |kind: &str, threshold: i64| -> rusqlite::Result<()> {
            let exists: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM alerts
                       WHERE watch = ?1 AND cluster_id = ?2 AND kind = ?3 AND threshold = ?4)",
                )?
                .query_row(params![name, cluster, kind, threshold], |r| r.get(0))?;
            if exists {
                return Ok(());
            }
            let digest_at = match watch.max_per_hour {
                Some(cap) => held_until(tx, &name, cap, now)?,
                None => None,
            };
            tx.prepare_cached(
                "INSERT INTO alerts
                    (watch, cluster_id, kind, threshold, sources, title, url, matched, created, digest_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                name, cluster, kind, threshold, sources, title, url, matched, now, digest_at
            ])?;
            let alert = tx.last_insert_rowid();
            for sink in &watch.notify {
                tx.prepare_cached(
                    "INSERT INTO deliveries (alert_id, sink, next_attempt) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![alert, sink, digest_at.unwrap_or(now)])?;
            }
            raised += 1;
            Ok(())
        };
        match new_alert_sources {
            None if sources >= watch.min_sources as i64 => raise("new", 0)?,
            None => {}
            Some(at_first) => {
                // Sizes reached since the first alert, each once; a story that was already that
                // big when it was first announced gets no follow-up for it.
                for &size in &watch.follow_ups {
                    let size = size as i64;
                    if sources >= size && at_first < size {
                        raise("follow-up", size)?;
                    }
                }
            }
        }
    }
    Ok(raised)
}

/// With a cap of `cap` alerts an hour: `None` when one more may go out now, else the time of
/// the digest that holds it (when the oldest alert of the last hour leaves the window; every
/// alert held meanwhile shares it, so they go out together).
fn held_until(
    tx: &rusqlite::Transaction,
    watch: &str,
    cap: usize,
    now: i64,
) -> rusqlite::Result<Option<i64>> {
    let (sent, oldest): (i64, Option<i64>) = tx
        .prepare_cached(
            "SELECT COUNT(*), MIN(created) FROM alerts
             WHERE watch = ?1 AND created > ?2 AND digest_at IS NULL",
        )?
        .query_row(params![watch, now - 3600], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if (sent as usize) < cap {
        return Ok(None);
    }
    // A digest already scheduled in this window takes this alert too.
    let pending: Option<i64> = tx
        .prepare_cached("SELECT MAX(digest_at) FROM alerts WHERE watch = ?1 AND digest_at > ?2")?
        .query_row(params![watch, now], |r| r.get(0))?;
    Ok(Some(pending.unwrap_or(oldest.unwrap_or(now) + 3600)))
}

const ALERT_COLUMNS: &str = "a.id, a.watch, a.cluster_id, a.kind, a.threshold, a.sources, a.title, a.url, a.matched, a.created, a.digest_at";

fn alert_row(r: &rusqlite::Row, offset: usize) -> rusqlite::Result<AlertView> {
    let matched: String = r.get(offset + 8)?;
    Ok(AlertView {
        id: r.get(offset)?,
        watch: r.get(offset + 1)?,
        cluster: r.get(offset + 2)?,
        kind: r.get(offset + 3)?,
        threshold: r.get(offset + 4)?,
        sources: r.get(offset + 5)?,
        title: r.get(offset + 6)?,
        url: r.get(offset + 7)?,
        matched: serde_json::from_str(&matched).unwrap_or_default(),
        created: r.get(offset + 9)?,
        digest_at: r.get(offset + 10)?,
    })
}

impl Store {
    /// `sink`'s pending deliveries due at `now` (every pending one with `ignore_backoff`),
    /// oldest first.
    pub fn due_deliveries(
        &self,
        sink: &str,
        now: i64,
        ignore_backoff: bool,
        limit: usize,
    ) -> Result<Vec<DueDelivery>> {
        let sql = format!(
            "SELECT d.alert_id, d.sink, d.attempts, d.first_attempt, {ALERT_COLUMNS}
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.status = 'pending' AND d.sink = ?4 AND (?2 OR d.next_attempt <= ?1)
             ORDER BY d.next_attempt, d.alert_id LIMIT ?3"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![now, ignore_backoff, limit as i64, sink], |r| {
                Ok(DueDelivery {
                    alert_id: r.get(0)?,
                    sink: r.get(1)?,
                    attempts: r.get(2)?,
                    first_attempt: r.get(3)?,
                    alert: alert_row(r, 4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// The feeds (name or URL, and the item's link there) that carry story `cluster`.
    pub fn story_sources(&self, cluster: i64) -> Result<Vec<(String, Option<String>)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT COALESCE(f.name, f.url), MIN(i.url) FROM items i
                 JOIN feed_items fi ON fi.item_id = i.id JOIN feeds f ON f.id = fi.feed_id
                 WHERE i.cluster_id = ?1 GROUP BY f.id ORDER BY MIN(fi.first_seen), f.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([cluster], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// Records an attempt: delivered, or failed with `error` and the next attempt (`None`: give
    /// up, the delivery is `failed`).
    pub fn record_delivery(
        &mut self,
        alert_id: i64,
        sink: &str,
        now: i64,
        outcome: std::result::Result<(), (&str, Option<i64>)>,
    ) -> Result<()> {
        self.write(|tx| {
            match outcome {
                Ok(()) => tx.execute(
                    "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1,
                        first_attempt = COALESCE(first_attempt, ?3), delivered = ?3, last_error = NULL
                     WHERE alert_id = ?1 AND sink = ?2",
                    params![alert_id, sink, now],
                )?,
                Err((error, next)) => tx.execute(
                    "UPDATE deliveries SET status = CASE WHEN ?5 IS NULL THEN 'failed' ELSE 'pending' END,
                        attempts = attempts + 1, first_attempt = COALESCE(first_attempt, ?3),
                        last_error = ?4, next_attempt = COALESCE(?5, next_attempt)
                     WHERE alert_id = ?1 AND sink = ?2",
                    params![alert_id, sink, now, error, next],
                )?,
            };
            Ok(())
        })
    }

    /// Every alert, newest first, with its deliveries.
    pub fn alerts(&self) -> Result<Vec<(AlertView, Vec<DeliveryView>)>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts a ORDER BY a.created DESC, a.id DESC"
            ))
            .map_err(|e| self.err(e))?;
        let alerts: Vec<AlertView> = stmt
            .query_map([], |r| alert_row(r, 0))
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut deliveries = self
            .conn
            .prepare(
                "SELECT sink, status, attempts, last_error FROM deliveries
                 WHERE alert_id = ?1 ORDER BY sink",
            )
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(alerts.len());
        for alert in alerts {
            let ds: Vec<DeliveryView> = deliveries
                .query_map([alert.id], |r| {
                    Ok(DeliveryView {
                        sink: r.get(0)?,
                        status: r.get(1)?,
                        attempts: r.get(2)?,
                        last_error: r.get(3)?,
                    })
                })
                .map_err(|e| self.err(e))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.err(e))?;
            out.push((alert, ds));
        }
        Ok(out)
    }
}

/// A stored item with the feeds that carry it, for replaying a watch over history.
#[derive(Debug, Clone)]
pub struct HistoryItem {
    pub cluster: i64,
    pub ts: i64,
    pub title: String,
    pub text: String,
    /// Configured URLs of the feeds that carry it.
    pub feeds: Vec<String>,
}

impl Store {
    /// Items with `ts >= since`, oldest first, with their feeds.
    pub fn history_since(&self, since: i64) -> Result<Vec<HistoryItem>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.cluster_id, i.ts, i.title, i.text, group_concat(f.url, char(10))
                 FROM items i JOIN feed_items fi ON fi.item_id = i.id JOIN feeds f ON f.id = fi.feed_id
                 WHERE i.ts >= ?1 GROUP BY i.id ORDER BY i.ts, i.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([since], |r| {
                let feeds: String = r.get(4)?;
                Ok(HistoryItem {
                    cluster: r.get(0)?,
                    ts: r.get(1)?,
                    title: r.get(2)?,
                    text: r.get(3)?,
                    feeds: feeds.lines().map(str::to_string).collect(),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }
}
