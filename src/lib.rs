//! feedfold: a self-hosted news feed aggregator that folds the many copies of one story into a
//! single cluster.
//!
//! The modules follow the pipeline, in the order an item travels through it:
//!
//! - [`config`]: the TOML file, parsed into a validated [`config::Config`]; every error names its key.
//! - [`schedule`]: pure: when each feed is due next (interval, failures, backoff).
//! - [`fetch`]: the only home of `reqwest`: polite HTTP and `file://` with limits and a body cap.
//! - [`parse`]: the only home of `feed_rs`: raw bytes to entries, with a repair pass; panics contained.
//! - [`normalize`]: pure: identity key, canonical URL, plain text.
//! - [`dedup`]: pure: fingerprints, the candidate index and the cluster decision with its reason.
//! - [`store`]: SQLite: migrations, the write path (one transaction per feed), read queries.
//! - [`pipeline`]: runs the stages together for one feed attempt; `run --once`.
//! - [`daemon`]: the `run` loop: attempts as feeds fall due, systemd READY/STATUS/WATCHDOG.
//! - [`systemd`]: `sd_notify` datagrams (nothing without `NOTIFY_SOCKET`).
//! - [`export`]: pure: the folded stream out as Atom or JSON Feed, one entry per story.
//! - [`opml`]: pure: feed lists in (lenient OPML 1.0/2.0) and out (OPML 2.0).
//! - [`cli`]: the command line: argument definitions, commands, and terminal-safe rendering.
//! - [`eval`]: clustering quality measures (pairwise and B-cubed) for the measuring tools.

pub mod alerts;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod eval;
pub mod export;
pub mod fetch;
pub mod normalize;
pub mod opml;
pub mod parse;
pub mod pipeline;
pub mod recluster;
pub mod schedule;
pub mod store;
pub mod systemd;
pub mod timefmt;
pub mod watches;

/// Helpers for the unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    /// A reproducible xorshift64 generator: the same `seed` gives the same sequence.
    pub fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }
}
