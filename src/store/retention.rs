//! Retention: items first fetched before a cutoff are deleted in one transaction, and
//! everything that points at them is kept consistent: memberships go with them, their stories
//! shrink (size, times and representative recomputed), a story left empty goes with its watch
//! matches, alerts and deliveries, and a watch match that named a pruned member names the
//! story's new representative.

use rusqlite::params;

use super::{Result, Store};

/// What a prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub items: usize,
    pub clusters: usize,
    pub alerts: usize,
}

impl Store {
    /// Deletes the items first fetched before `cutoff` (unix seconds).
    pub fn prune(&mut self, cutoff: i64) -> Result<PruneReport> {
        self.write(|tx| {
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY, cluster_id INTEGER);
                 DELETE FROM temp.doomed;",
            )?;
            let items = tx.execute(
                "INSERT INTO temp.doomed SELECT id, cluster_id FROM items WHERE fetched < ?1",
                [cutoff],
            )?;
            if items == 0 {
                return Ok(PruneReport::default());
            }
            // Stories every member of which goes.
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS dying (id INTEGER PRIMARY KEY);
                 DELETE FROM temp.dying;
                 INSERT INTO temp.dying
                   SELECT DISTINCT d.cluster_id FROM temp.doomed d
                   WHERE NOT EXISTS (SELECT 1 FROM items i
                                     WHERE i.cluster_id = d.cluster_id
                                       AND i.id NOT IN (SELECT id FROM temp.doomed));",
            )?;
            tx.execute(
                "DELETE FROM deliveries WHERE alert_id IN
                   (SELECT id FROM alerts WHERE cluster_id IN (SELECT id FROM temp.dying))",
                [],
            )?;
            let alerts = tx.execute(
                "DELETE FROM alerts WHERE cluster_id IN (SELECT id FROM temp.dying)",
                [],
            )?;
            tx.execute_batch(
                "DELETE FROM watch_matches WHERE cluster_id IN (SELECT id FROM temp.dying);
                 DELETE FROM feed_items WHERE item_id IN (SELECT id FROM temp.doomed);
                 UPDATE watch_matches SET item_id = (
                     SELECT i.id FROM items i
                     WHERE i.cluster_id = watch_matches.cluster_id
                       AND i.id NOT IN (SELECT id FROM temp.doomed)
                     ORDER BY i.ts, i.id LIMIT 1)
                   WHERE item_id IN (SELECT id FROM temp.doomed);
                 DELETE FROM items WHERE id IN (SELECT id FROM temp.doomed);",
            )?;
            let clusters = tx.execute(
                "DELETE FROM clusters WHERE id IN (SELECT id FROM temp.dying)",
                [],
            )?;
            // The stories that keep members: size, times and representative again.
            tx.execute(
                "UPDATE clusters SET
                    size = (SELECT COUNT(*) FROM items i WHERE i.cluster_id = clusters.id),
                    first_ts = (SELECT MIN(ts) FROM items i WHERE i.cluster_id = clusters.id),
                    last_ts = (SELECT MAX(ts) FROM items i WHERE i.cluster_id = clusters.id),
                    representative = (SELECT id FROM items i WHERE i.cluster_id = clusters.id
                                      ORDER BY ts, id LIMIT 1)
                 WHERE id IN (SELECT DISTINCT cluster_id FROM temp.doomed)",
                params![],
            )?;
            Ok(PruneReport {
                items,
                clusters,
                alerts,
            })
        })
    }
}
