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
    /// The watches scoped by neither feed nor tag: they apply to a feed the config does not
    /// list too (one added by `opml import`; such a feed's tags are not known here, so
    /// tag-scoped watches do not apply to it).
    unscoped: Vec<usize>,
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
        let unscoped = config
            .watches
            .iter()
            .enumerate()
            .filter(|(_, w)| w.feeds.is_empty() && w.tags.is_empty())
            .map(|(i, _)| i)
            .collect();
        Watches {
            list: config.watches.clone(),
            by_feed,
            unscoped,
        }
    }

    /// The watches whose scope includes the feed at `feed_url` (its configured URL).
    fn applicable(&self, feed_url: &str) -> &[usize] {
        self.by_feed
            .get(feed_url)
            .map_or(self.unscoped.as_slice(), Vec::as_slice)
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
        if !self.applicable(feed_url).contains(&index) {
            return None;
        }
        self.list[index].query.matches(&Document::new(title, text))
    }

    /// The watches in scope for the feed configured at `feed_url` that an item matches.
    pub fn hits(&self, feed_url: &str, title: &str, text: &str) -> Vec<WatchHit> {
        let applies = self.applicable(feed_url);
        if applies.is_empty() {
            return Vec::new();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_pick_the_watches_of_each_feed_and_unlisted_feeds_get_the_unscoped_ones() {
        let config = Config::from_toml(
            "[[sinks]]\nname = \"log\"\nkind = \"log\"\n\n\
             [[feeds]]\nurl = \"https://a.example/feed\"\nname = \"A\"\ntags = [\"world\"]\n\n\
             [[feeds]]\nurl = \"https://b.example/feed\"\n\n\
             [[watches]]\nname = \"all\"\nquery = \"storm\"\nnotify = [\"log\"]\n\n\
             [[watches]]\nname = \"world\"\nquery = \"storm\"\nnotify = [\"log\"]\ntags = [\"world\"]\n\n\
             [[watches]]\nname = \"only-a\"\nquery = \"storm\"\nnotify = [\"log\"]\nfeeds = [\"A\"]\n",
            std::path::Path::new("/tmp/feedfold.toml"),
        )
        .unwrap();
        let watches = Watches::new(&config);
        let names = |feed: &str| -> Vec<&str> {
            watches
                .hits(feed, "Storm hits the coast", "")
                .iter()
                .map(|h| watches.get(h.watch).name.as_str())
                .collect()
        };
        assert_eq!(names("https://a.example/feed"), ["all", "world", "only-a"]);
        assert_eq!(names("https://b.example/feed"), ["all"]);
        // A feed added by `opml import`: not in the config, still watched by unscoped watches.
        assert_eq!(names("https://imported.example/rss"), ["all"]);
        let all = watches.index_of("all").unwrap();
        assert!(
            watches
                .matches(all, "https://imported.example/rss", "storm", "")
                .is_some()
        );
        assert!(
            watches
                .hits("https://b.example/feed", "Calm seas", "")
                .is_empty()
        );
    }
}
