//! Full-text search over stored items (SQLite FTS5, schema 4): bm25 ranking with the title
//! weighted above the text, a snippet around the match, results grouped by story.
//!
//! Callers pass an FTS5 expression built by [`crate::watches::fts5_match`], never user text.

use std::collections::HashMap;

use rusqlite::params;

use super::{Result, Store};

/// Marks the start and end of a match inside [`SearchHit::snippet`] (private-use characters, so
/// no feed text can forge them; the CLI turns them into highlighting).
pub const MATCH_START: char = '\u{e000}';
pub const MATCH_END: char = '\u{e001}';

/// The title counts this many times the text in the ranking.
const TITLE_WEIGHT: f64 = 4.0;
/// Words of context in a snippet.
const SNIPPET_WORDS: i64 = 16;
/// Matching items listed per story (the rest are counted).
const HITS_PER_STORY: usize = 3;

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub item: i64,
    pub title: String,
    pub url: Option<String>,
    /// URL of the feed that first carried it, and its name if it has one.
    pub feed: String,
    pub feed_name: Option<String>,
    pub published: Option<i64>,
    pub fetched: i64,
    /// Text around the match, on one line, matches between [`MATCH_START`] and [`MATCH_END`].
    pub snippet: String,
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
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.id, i.cluster_id, i.title, i.url, f.url, i.published, i.fetched,
                        snippet(items_fts, -1, char(57344), char(57345), '…', ?3),
                        -bm25(items_fts, ?4, 1.0) AS score, f.name
                 FROM items_fts
                 JOIN items i ON i.id = items_fts.rowid
                 JOIN clusters c ON c.id = i.cluster_id
                 JOIN feeds f ON f.id = i.first_feed
                 WHERE items_fts MATCH ?1 AND c.last_ts >= ?2
                 ORDER BY score DESC, i.id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(params![expression, since, SNIPPET_WORDS, TITLE_WEIGHT])
            .map_err(|e| self.err(e))?;
        let mut groups: Vec<SearchGroup> = Vec::new();
        let mut index: HashMap<i64, usize> = HashMap::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let cluster: i64 = r.get(1).map_err(|e| self.err(e))?;
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
            let group = &mut groups[slot];
            group.matching += 1;
            if group.hits.len() < HITS_PER_STORY {
                let hit = (|| {
                    let snippet: String = r.get(7)?;
                    Ok(SearchHit {
                        item: r.get(0)?,
                        title: r.get(2)?,
                        url: r.get(3)?,
                        feed: r.get(4)?,
                        published: r.get(5)?,
                        fetched: r.get(6)?,
                        snippet: snippet.split_whitespace().collect::<Vec<_>>().join(" "),
                        score: r.get(8)?,
                        feed_name: r.get(9)?,
                    })
                })()
                .map_err(|e| self.err(e))?;
                group.hits.push(hit);
            }
        }
        drop(rows);
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
}
