//! Watches: what a user tracks. A watch is a compiled [`query::Query`] with an optional scope
//! (feeds, tags), a least number of outlets before it alerts (`min_sources`), the story sizes
//! that earn a follow-up, and the sinks it notifies. Pure: deciding whether an item matches
//! needs no store and no clock.

pub mod query;

pub use query::{Document, Query, QueryError, SearchTerm, fts5_match, search_terms, snippet};

use std::collections::HashMap;

use crate::config::{Config, WatchConfig};

/// A watch that an item matched, with the query's terms found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchHit {
    /// Index into [`Watches::get`].
    pub watch: usize,
    pub matched: Vec<String>,
}

/// The configured watches, with which of them apply to each feed.
#[derive(Debug, Clone, Default)]
pub struct Watches {
    list: Vec<WatchConfig>,
    /// Configured feed URL → the watches whose scope includes it.
    by_feed: HashMap<String, Vec<usize>>,
}

impl Watches {
    pub fn new(config: &Config) -> Watches {
        let mut by_feed = HashMap::new();
        for feed in &config.feeds {
            let applies: Vec<usize> = config
                .watches
                .iter()
                .enumerate()
                .filter(|(_, w)| {
                    let feed_ok = w.feeds.is_empty()
                        || w.feeds.iter().any(|f| {
                            f == feed.url.as_str() || feed.name.as_deref() == Some(f.as_str())
                        });
                    let tag_ok = w.tags.is_empty() || w.tags.iter().any(|t| feed.tags.contains(t));
                    feed_ok && tag_ok
                })
                .map(|(i, _)| i)
                .collect();
            by_feed.insert(feed.url.to_string(), applies);
        }
        Watches {
            list: config.watches.clone(),
            by_feed,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, index: usize) -> &WatchConfig {
        &self.list[index]
    }

    pub fn by_name(&self, name: &str) -> Option<&WatchConfig> {
        self.list.iter().find(|w| w.name == name)
    }

    /// The index of the watch named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|w| w.name == name)
    }

    /// Whether watch `index` applies to the feed configured at `feed_url` and matches the item;
    /// the terms found if so.
    pub fn matches(
        &self,
        index: usize,
        feed_url: &str,
        title: &str,
        text: &str,
    ) -> Option<Vec<String>> {
        let applies = self.by_feed.get(feed_url)?.contains(&index);
        if !applies {
            return None;
        }
        self.list[index].query.matches(&Document::new(title, text))
    }

    /// The watches in scope for the feed configured at `feed_url` that an item matches.
    pub fn hits(&self, feed_url: &str, title: &str, text: &str) -> Vec<WatchHit> {
        let Some(applies) = self.by_feed.get(feed_url).filter(|a| !a.is_empty()) else {
            return Vec::new();
        };
        let doc = Document::new(title, text);
        applies
            .iter()
            .filter_map(|&i| {
                self.list[i]
                    .query
                    .matches(&doc)
                    .map(|matched| WatchHit { watch: i, matched })
            })
            .collect()
    }
}
