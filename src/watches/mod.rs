//! Watches: what a user tracks. A watch is a compiled [`query::Query`] with an optional scope
//! (feeds, tags), a least number of outlets before it alerts (`min_sources`), the story sizes
//! that earn a follow-up, and the sinks it notifies. Pure: deciding whether an item matches
//! needs no store and no clock.

pub mod query;

pub use query::{Document, Query, QueryError};
