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
    /// Why it is in its cluster, as stored.
    pub rule: String,
    pub score: Option<f64>,
    pub distance: Option<u32>,
    pub matched: Option<i64>,
}

impl StoredItem {
    /// Whether it is a report of its own rather than a copy, by the rule and score that placed
    /// it ([`crate::dedup::independent_report`]).
    pub fn independent(&self) -> bool {
        crate::dedup::stored_independent_report(&self.rule, self.score)
    }
}

/// Where an item goes, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAssignment {
    pub item: i64,
    pub cluster: ClusterTarget,
    pub rule: String,
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
                "SELECT id, cluster_id, ts, title, text, rule, score, distance, matched FROM items
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
                    rule: r.get(5)?,
                    score: r.get(6)?,
                    distance: r.get(7)?,
                    matched: r.get(8)?,
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
                if !super::write::refresh_story(tx, cluster)? {
                    // Left empty: its alerts and watch matches follow its representative to
                    // the story that holds it now.
                    let heir: Option<i64> = match old_representative.get(&cluster) {
                        Some(rep) => tx
                            .query_row("SELECT cluster_id FROM items WHERE id = ?1", [rep], |r| {
                                r.get(0)
                            })
                            .optional()?,
                        None => None,
                    };
                    super::write::retire_story(tx, cluster, heir)?;
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
