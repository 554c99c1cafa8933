//! Full-text search over stored items (SQLite FTS5, schema 4): bm25 ranking with the title
//! weighted above the text, results grouped by story. The shown items come with their text;
//! the caller cuts a snippet from it ([`crate::watches::snippet`]): FTS5's own `snippet()`
//! evaluates the query again per row, which costs seconds for a short `prefix*`.
//!
//! Callers pass an FTS5 expression built by [`crate::watches::fts5_match`], never user text.

use std::collections::HashMap;

use rusqlite::params;

use super::{Result, Store};

/// The title counts this many times the text in the ranking.
const TITLE_WEIGHT: f64 = 4.0;
/// Matching items listed per story (the rest are counted).
const HITS_PER_STORY: usize = 3;

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub item: i64,
    pub title: String,
    pub url: Option<String>,
    /// URL of the feed that first carried it, and its name (the config's, else the feed's own
    /// title) if it has one.
    pub feed: String,
    pub feed_name: Option<String>,
    pub published: Option<i64>,
    pub fetched: i64,
    /// The item's text (for a snippet).
    pub text: String,
    /// bm25 score: higher is better.
    pub score: f64,
}

/// One story with its matching items, best first.
#[derive(Debug, Clone)]
pub struct SearchGroup {
    pub cluster: i64,
    pub size: i64,
    pub last_seen: i64,
    /// The representative's title and link.
    pub title: String,
    pub url: Option<String>,
    /// How many of its items match (only the best few are in `hits`).
    pub matching: usize,
    pub hits: Vec<SearchHit>,
}

impl Store {
    /// Stories with items matching `expression` (FTS5 syntax) whose newest member is at or
    /// after `since`, best match first; at most `limit` stories (0 = all).
    pub fn search(&self, expression: &str, since: i64, limit: usize) -> Result<Vec<SearchGroup>> {
        let Some(first_item) = self.first_item_of_period(since)? else {
            return Ok(Vec::new());
        };
        // First rank every match (ids and scores only); the text of the few shown follows.
        let mut ranked = self
            .conn
            .prepare_cached(
                "SELECT items_fts.rowid, i.cluster_id, -bm25(items_fts, ?3, 1.0) AS score
                 FROM items_fts
                 JOIN items i ON i.id = items_fts.rowid
                 JOIN clusters c ON c.id = i.cluster_id
                 WHERE items_fts MATCH ?1 AND items_fts.rowid >= ?4 AND c.last_ts >= ?2
                 ORDER BY score DESC, items_fts.rowid",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = ranked
            .query(params![expression, since, TITLE_WEIGHT, first_item])
            .map_err(|e| self.err(e))?;
        let mut groups: Vec<SearchGroup> = Vec::new();
        let mut shown: Vec<(usize, i64, f64)> = Vec::new();
        let mut index: HashMap<i64, usize> = HashMap::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (item, cluster, score): (i64, i64, f64) =
                (|| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))().map_err(|e| self.err(e))?;
            let slot = match index.get(&cluster) {
                Some(&slot) => slot,
                None if limit > 0 && groups.len() >= limit => continue,
                None => {
                    index.insert(cluster, groups.len());
                    groups.push(SearchGroup {
                        cluster,
                        size: 0,
                        last_seen: 0,
                        title: String::new(),
                        url: None,
                        matching: 0,
                        hits: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            groups[slot].matching += 1;
            if groups[slot].matching <= HITS_PER_STORY {
                shown.push((slot, item, score));
            }
        }
        drop(rows);
        let mut details = self
            .conn
            .prepare_cached(
                "SELECT i.title, i.url, f.url, COALESCE(f.name, f.title), i.published, i.fetched, i.text
                 FROM items i JOIN feeds f ON f.id = i.first_feed WHERE i.id = ?1",
            )
            .map_err(|e| self.err(e))?;
        for (slot, item, score) in shown {
            let hit = details
                .query_row([item], |r| {
                    Ok(SearchHit {
                        item,
                        title: r.get(0)?,
                        url: r.get(1)?,
                        feed: r.get(2)?,
                        feed_name: r.get(3)?,
                        published: r.get(4)?,
                        fetched: r.get(5)?,
                        text: r.get(6)?,
                        score,
                    })
                })
                .map_err(|e| self.err(e))?;
            groups[slot].hits.push(hit);
        }
        let mut head = self
            .conn
            .prepare_cached(
                "SELECT c.size, c.last_ts, i.title, i.url FROM clusters c
                 LEFT JOIN items i ON i.id = c.representative WHERE c.id = ?1",
            )
            .map_err(|e| self.err(e))?;
        for group in &mut groups {
            (group.size, group.last_seen, group.title, group.url) = head
                .query_row([group.cluster], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        r.get(3)?,
                    ))
                })
                .map_err(|e| self.err(e))?;
        }
        Ok(groups)
    }

    /// The smallest id of any member of a story whose newest member is at or after `since`;
    /// `None` when there is no such story. Every item a query for the period may return has an
    /// id at least this, so its full-text scan starts there (FTS5 seeks to a rowid) instead of
    /// ranking every match in the store; ids grow with time, so that is near the period's start.
    pub(crate) fn first_item_of_period(&self, since: i64) -> Result<Option<i64>> {
        self.conn
            .prepare_cached(
                "SELECT MIN(i.id) FROM clusters c JOIN items i ON i.cluster_id = c.id
                 WHERE c.last_ts >= ?1",
            )
            .and_then(|mut s| s.query_row([since], |r| r.get(0)))
            .map_err(|e| self.err(e))
    }
}
