//! The store's side of `feedfold recluster`: reading the items to cluster again, and writing a
//! new assignment back in one transaction (clusters created, resized, emptied ones deleted).

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};

/// A stored item as clustering sees it.
#[derive(Debug, Clone)]
pub struct StoredItem {
    pub id: i64,
    pub cluster: i64,
    pub ts: i64,
    pub title: String,
    pub text: String,
    /// Whether it is a report of its own rather than a copy, by the rule and score that placed
    /// it ([`crate::dedup::independent_report`]).
    pub independent: bool,
}

/// Whether a stored item, placed by the rule named `rule` with `score`, is a report of its own.
/// A rule this version does not know counts as a copy (the stricter choice).
pub(crate) fn stored_independent_report(rule: &str, score: Option<f64>) -> bool {
    crate::dedup::Rule::parse(rule)
        .is_some_and(|rule| crate::dedup::independent_report(rule, score))
}

/// Where an item goes, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAssignment {
    pub item: i64,
    pub cluster: ClusterTarget,
    pub rule: &'static str,
    pub score: Option<f64>,
    pub distance: Option<u32>,
    pub matched: Option<i64>,
}

/// A cluster that exists, or the n-th cluster the transaction creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClusterTarget {
    Existing(i64),
    Created(usize),
}

impl Store {
    /// Items with `ts` in `[from, to)`, oldest first (ties by id): the order they were decided in.
    pub fn items_between(&self, from: i64, to: i64) -> Result<Vec<StoredItem>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, cluster_id, ts, title, text, rule, score FROM items
                 WHERE ts >= ?1 AND ts < ?2 ORDER BY ts, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![from, to], |r| {
                Ok(StoredItem {
                    id: r.get(0)?,
                    cluster: r.get(1)?,
                    ts: r.get(2)?,
                    title: r.get(3)?,
                    text: r.get(4)?,
                    independent: stored_independent_report(&r.get::<_, String>(5)?, r.get(6)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// Writes `assignments` in one transaction: creates `created` new clusters, moves the items,
    /// recomputes every touched cluster (size, times, representative) and deletes the ones left
    /// empty. Returns the ids given to the created clusters, in order.
    pub fn apply_clusters(
        &mut self,
        assignments: &[NewAssignment],
        created: usize,
        now: i64,
    ) -> Result<Vec<i64>> {
        self.write(|tx| {
            let mut new_ids = Vec::with_capacity(created);
            for _ in 0..created {
                tx.execute(
                    "INSERT INTO clusters (size, first_ts, last_ts, created) VALUES (0, 0, 0, ?1)",
                    [now],
                )?;
                new_ids.push(tx.last_insert_rowid());
            }
            let mut touched: Vec<i64> = new_ids.clone();
            // Each old story's representative, to follow where its alerts go if it empties.
            let mut old_representative: std::collections::HashMap<i64, i64> = Default::default();
            let mut update = tx.prepare_cached(
                "UPDATE items SET cluster_id = ?2, rule = ?3, score = ?4, distance = ?5, matched = ?6
                 WHERE id = ?1",
            )?;
            let mut old_cluster =
                tx.prepare_cached("SELECT cluster_id FROM items WHERE id = ?1")?;
            for a in assignments {
                let cluster = match a.cluster {
                    ClusterTarget::Existing(id) => id,
                    ClusterTarget::Created(n) => new_ids[n],
                };
                let old: i64 = old_cluster.query_row([a.item], |r| r.get(0))?;
                if let std::collections::hash_map::Entry::Vacant(e) = old_representative.entry(old)
                {
                    let rep: Option<i64> = tx
                        .query_row(
                            "SELECT representative FROM clusters WHERE id = ?1",
                            [old],
                            |r| r.get(0),
                        )
                        .optional()?
                        .flatten();
                    if let Some(rep) = rep {
                        e.insert(rep);
                    }
                }
                touched.push(old);
                touched.push(cluster);
                update.execute(params![a.item, cluster, a.rule, a.score, a.distance, a.matched])?;
            }
            touched.sort_unstable();
            touched.dedup();
            for cluster in touched {
                // The representative is the earliest member (first come on a tie), as at ingest.
                let (size, first, last, representative): (i64, Option<i64>, Option<i64>, Option<i64>) =
                    tx.query_row(
                        "SELECT COUNT(*), MIN(ts), MAX(ts),
                            (SELECT id FROM items WHERE cluster_id = ?1 ORDER BY ts, id LIMIT 1)
                         FROM items WHERE cluster_id = ?1",
                        [cluster],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )?;
                match (first, last, representative) {
                    (Some(first), Some(last), Some(representative)) if size > 0 => {
                        tx.execute(
                            "UPDATE clusters SET size = ?2, first_ts = ?3, last_ts = ?4,
                                representative = ?5 WHERE id = ?1",
                            params![cluster, size, first, last, representative],
                        )?;
                    }
                    _ => {
                        // Its alerts and watch matches follow its representative to the story
                        // that holds it now; where that story has the same alert already (a
                        // merge), the story was announced: the duplicate goes.
                        let heir: Option<i64> = match old_representative.get(&cluster) {
                            Some(rep) => tx
                                .query_row("SELECT cluster_id FROM items WHERE id = ?1", [rep], |r| {
                                    r.get(0)
                                })
                                .optional()?,
                            None => None,
                        };
                        if let Some(heir) = heir {
                            tx.execute(
                                "UPDATE OR IGNORE alerts SET cluster_id = ?2 WHERE cluster_id = ?1",
                                params![cluster, heir],
                            )?;
                            tx.execute(
                                "UPDATE OR IGNORE watch_matches SET cluster_id = ?2 WHERE cluster_id = ?1",
                                params![cluster, heir],
                            )?;
                        }
                        tx.execute(
                            "DELETE FROM deliveries WHERE alert_id IN
                               (SELECT id FROM alerts WHERE cluster_id = ?1)",
                            [cluster],
                        )?;
                        tx.execute("DELETE FROM alerts WHERE cluster_id = ?1", [cluster])?;
                        tx.execute("DELETE FROM watch_matches WHERE cluster_id = ?1", [cluster])?;
                        tx.execute("DELETE FROM clusters WHERE id = ?1", [cluster])?;
                    }
                }
            }
            Ok(new_ids)
        })
    }
}

impl Store {
    /// The clusters holding an item older than `ts` among those holding an item since `ts`.
    pub fn clusters_with_items_before(&self, ts: i64) -> Result<std::collections::BTreeSet<i64>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT cluster_id FROM items WHERE ts < ?1
                   AND cluster_id IN (SELECT cluster_id FROM items WHERE ts >= ?1)",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([ts], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }
}
