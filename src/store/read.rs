//! Read queries for the CLI. Plain data out; rendering is the CLI's business.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};

#[derive(Debug, Clone)]
pub struct FeedStatus {
    pub url: String,
    pub url_in_use: String,
    pub name: Option<String>,
    /// The feed's own title, as its document last gave it.
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub state: String,
    pub active: bool,
    pub last_fetch: Option<i64>,
    pub last_status: Option<i64>,
    pub error_count: i64,
    pub last_error: Option<String>,
    pub next_fetch: Option<i64>,
    pub items: i64,
}

impl FeedStatus {
    /// What a reader knows the feed by: the config's name, else the feed's own title.
    pub fn display_name(&self) -> Option<&str> {
        self.name.as_deref().or(self.title.as_deref())
    }
}

#[derive(Debug, Clone)]
pub struct ClusterView {
    pub id: i64,
    pub size: i64,
    pub sources: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// The representative's item id, title and link.
    pub representative: Option<i64>,
    pub title: String,
    pub url: Option<String>,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone)]
pub struct ItemView {
    pub id: i64,
    pub guid: String,
    pub url: Option<String>,
    pub title: String,
    /// URL of the feed that first carried it.
    pub feed: String,
    /// Every feed that carries it, first one first.
    pub feeds: Vec<String>,
    pub published: Option<i64>,
    pub fetched: i64,
    pub rule: String,
    pub score: Option<f64>,
    pub distance: Option<i64>,
    pub matched: Option<i64>,
}

/// Filters of `feedfold clusters`.
#[derive(Debug, Clone, Default)]
pub struct ClusterFilter {
    /// Newest member's time at or after this (unix seconds).
    pub since: i64,
    pub min_size: i64,
    /// 0 = no limit.
    pub limit: i64,
    /// Only clusters with a member from a feed carrying this tag.
    pub tag: Option<String>,
    /// Only clusters with a member from this feed (URL, name or the feed's own title).
    pub feed: Option<String>,
    /// Only clusters with a member matching this FTS5 expression (built by
    /// [`crate::watches::fts5_match`] from what the user typed).
    pub query: Option<String>,
}

/// What the clusters of a period are, in sum: for saying why a listing of it came out empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSummary {
    /// Clusters whose newest member is in the period.
    pub clusters: i64,
    /// The size of the largest of them (0 when there is none).
    pub largest: i64,
    /// The newest member's time of the newest cluster of all, in the period or not (`None`
    /// when the store holds none).
    pub newest: Option<i64>,
}

impl Store {
    /// The [`PeriodSummary`] of the clusters whose newest member is at or after `since`.
    pub fn period_summary(&self, since: i64) -> Result<PeriodSummary> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COALESCE(MAX(size), 0), (SELECT MAX(last_ts) FROM clusters)
                 FROM clusters WHERE last_ts >= ?1",
                [since],
                |r| {
                    Ok(PeriodSummary {
                        clusters: r.get(0)?,
                        largest: r.get(1)?,
                        newest: r.get(2)?,
                    })
                },
            )
            .map_err(|e| self.err(e))
    }

    /// What each feed that has a name or a title of its own is known by (as
    /// [`FeedStatus::display_name`]), by configured URL: without the per-feed item counts of
    /// [`Store::feed_statuses`], a pass over every feed's items.
    pub fn feed_names(&self) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT url, COALESCE(name, title) FROM feeds
                 WHERE COALESCE(name, title) IS NOT NULL",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    pub fn feed_statuses(&self) -> Result<Vec<FeedStatus>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.url, f.url_in_use, f.name, f.tags, f.state, f.active, f.last_fetch, f.last_status,
                        f.error_count, f.last_error, f.next_fetch,
                        (SELECT COUNT(DISTINCT item_id) FROM feed_items fi WHERE fi.feed_id = f.id),
                        f.title
                 FROM feeds f ORDER BY f.active DESC, f.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let tags: String = r.get(3)?;
                Ok(FeedStatus {
                    url: r.get(0)?,
                    url_in_use: r.get(1)?,
                    name: r.get(2)?,
                    tags: serde_json::from_str(&tags).unwrap_or_default(),
                    state: r.get(4)?,
                    active: r.get(5)?,
                    last_fetch: r.get(6)?,
                    last_status: r.get(7)?,
                    error_count: r.get(8)?,
                    last_error: r.get(9)?,
                    next_fetch: r.get(10)?,
                    items: r.get(11)?,
                    title: r.get(12)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// Clusters whose newest member is within the period, biggest first.
    pub fn clusters(&self, filter: &ClusterFilter) -> Result<Vec<ClusterView>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id FROM clusters c
                 WHERE c.last_ts >= ?1 AND c.size >= ?2
                   AND (?3 IS NULL OR EXISTS (
                        SELECT 1 FROM items i JOIN feed_items fi ON fi.item_id = i.id
                        JOIN feeds f ON f.id = fi.feed_id, json_each(f.tags) t
                        WHERE i.cluster_id = c.id AND t.value = ?3))
                   AND (?4 IS NULL OR EXISTS (
                        SELECT 1 FROM items i JOIN feed_items fi ON fi.item_id = i.id
                        JOIN feeds f ON f.id = fi.feed_id
                        WHERE i.cluster_id = c.id
                          AND (f.url = ?4 OR f.url_in_use = ?4 OR f.name = ?4 OR f.title = ?4)))
                   AND (?5 IS NULL OR c.id IN (
                        SELECT i.cluster_id FROM items_fts JOIN items i ON i.id = items_fts.rowid
                        WHERE items_fts MATCH ?5 AND items_fts.rowid >= ?7))
                 ORDER BY c.size DESC, c.last_ts DESC, c.id DESC
                 LIMIT ?6",
            )
            .map_err(|e| self.err(e))?;
        let limit = if filter.limit <= 0 { -1 } else { filter.limit };
        // A query only looks at items of the period's stories (see `first_item_of_period`).
        let first_item = match &filter.query {
            Some(_) => match self.first_item_of_period(filter.since)? {
                Some(id) => id,
                None => return Ok(Vec::new()),
            },
            None => 0,
        };
        let ids: Vec<i64> = stmt
            .query_map(
                params![
                    filter.since,
                    filter.min_size,
                    filter.tag,
                    filter.feed,
                    filter.query,
                    limit,
                    first_item
                ],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut clusters = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.cluster(id)? {
                clusters.push(c);
            }
        }
        Ok(clusters)
    }

    /// One cluster with every member.
    pub fn cluster(&self, id: i64) -> Result<Option<ClusterView>> {
        let head: Option<(i64, i64, i64, Option<i64>)> = self
            .conn
            .prepare_cached(
                "SELECT size, first_ts, last_ts, representative FROM clusters WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .optional()
            })
            .map_err(|e| self.err(e))?;
        let Some((size, first_ts, last_ts, representative)) = head else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.id, i.guid, i.url, i.title, f.url, i.published, i.fetched, i.rule, i.score,
                        i.distance, i.matched
                 FROM items i JOIN feeds f ON f.id = i.first_feed
                 WHERE i.cluster_id = ?1 ORDER BY i.ts, i.id",
            )
            .map_err(|e| self.err(e))?;
        let mut items: Vec<ItemView> = stmt
            .query_map([id], |r| {
                Ok(ItemView {
                    id: r.get(0)?,
                    guid: r.get(1)?,
                    url: r.get(2)?,
                    title: r.get(3)?,
                    feed: r.get(4)?,
                    feeds: Vec::new(),
                    published: r.get(5)?,
                    fetched: r.get(6)?,
                    rule: r.get(7)?,
                    score: r.get(8)?,
                    distance: r.get(9)?,
                    matched: r.get(10)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut feeds_stmt = self
            .conn
            .prepare_cached(
                "SELECT f.url FROM feed_items fi JOIN feeds f ON f.id = fi.feed_id
                 WHERE fi.item_id = ?1 GROUP BY f.id ORDER BY MIN(fi.first_seen), f.id",
            )
            .map_err(|e| self.err(e))?;
        let mut sources = std::collections::HashSet::new();
        for item in &mut items {
            item.feeds = feeds_stmt
                .query_map([item.id], |r| r.get(0))
                .map_err(|e| self.err(e))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.err(e))?;
            sources.extend(item.feeds.iter().cloned());
        }
        let rep = items
            .iter()
            .find(|i| Some(i.id) == representative)
            .or(items.first());
        Ok(Some(ClusterView {
            id,
            size,
            sources: sources.len() as i64,
            first_seen: first_ts,
            last_seen: last_ts,
            representative: rep.map(|i| i.id),
            title: rep.map(|i| i.title.clone()).unwrap_or_default(),
            url: rep.and_then(|i| i.url.clone()),
            items,
        }))
    }

    /// The text of these items, by id.
    pub fn item_texts(&self, ids: &[i64]) -> Result<HashMap<i64, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT text FROM items WHERE id = ?1")
            .map_err(|e| self.err(e))?;
        let mut texts = HashMap::with_capacity(ids.len());
        for &id in ids {
            if let Some(text) = stmt
                .query_row([id], |r| r.get::<_, String>(0))
                .optional()
                .map_err(|e| self.err(e))?
            {
                texts.insert(id, text);
            }
        }
        Ok(texts)
    }

    /// Counts for `feedfold stats`.
    pub fn stats(&self) -> Result<StoreStats> {
        let count = |sql: &str| -> Result<i64> {
            self.conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(|e| self.err(e))
        };
        let mut feeds_by_state = Vec::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT CASE WHEN active = 1 THEN state ELSE 'removed' END AS s, COUNT(*)
                 FROM feeds GROUP BY s ORDER BY s",
            )
            .map_err(|e| self.err(e))?;
        for row in stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?
        {
            feeds_by_state.push(row.map_err(|e| self.err(e))?);
        }
        let file_size = |suffix: &str| {
            let mut name = self.path.as_os_str().to_os_string();
            name.push(suffix);
            std::fs::metadata(name).map_or(0, |m| m.len())
        };
        Ok(StoreStats {
            items: count("SELECT COUNT(*) FROM items")?,
            clusters: count("SELECT COUNT(*) FROM clusters")?,
            multi_item_clusters: count("SELECT COUNT(*) FROM clusters WHERE size > 1")?,
            largest_cluster: count("SELECT COALESCE(MAX(size), 0) FROM clusters")?,
            feeds_by_state,
            alerts: count("SELECT COUNT(*) FROM alerts")?,
            pending_deliveries: count("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")?,
            oldest_item: self
                .conn
                .query_row("SELECT MIN(fetched) FROM items", [], |r| r.get(0))
                .map_err(|e| self.err(e))?,
            newest_item: self
                .conn
                .query_row("SELECT MAX(fetched) FROM items", [], |r| r.get(0))
                .map_err(|e| self.err(e))?,
            store_bytes: file_size("") + file_size("-wal"),
        })
    }
}

/// What `feedfold stats` reports.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    pub items: i64,
    pub clusters: i64,
    pub multi_item_clusters: i64,
    pub largest_cluster: i64,
    /// Feeds per state (`new`, `ok`, `error`, `gone`, and `removed` for those no longer in the
    /// config).
    pub feeds_by_state: Vec<(String, i64)>,
    pub alerts: i64,
    pub pending_deliveries: i64,
    /// First fetch times of the oldest and newest items.
    pub oldest_item: Option<i64>,
    pub newest_item: Option<i64>,
    /// The database file and its write-ahead log.
    pub store_bytes: u64,
}
