//! Runs the stages together for one feed attempt: fetch (async, concurrent within the limits) →
//! parse and normalize (blocking pool, panics contained) → deduplicate and store (one writer
//! thread that owns the SQLite connection and the candidate index). `run --once` is one
//! [`Pipeline::cycle`] over every feed; the daemon ([`crate::daemon`]) starts attempts as feeds
//! fall due.
//!
//! SQLite stays off the async workers: the writer is a plain thread fed through a bounded
//! channel, so a slow disk holds back the fetchers (backpressure) instead of blocking the runtime.
//! Time comes from a [`Clock`], so that the scheduler can be tested on a paused tokio clock.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use url::Url;
use xxhash_rust::xxh3::xxh3_64;

use crate::config::Config;
use crate::dedup::{Deduplicator, Thresholds};
use crate::fetch::{FetchError, FetchOutcome, FetchSlot, FetchedBody, Fetcher, Validators};
use crate::normalize::{clean_title, normalize_entries};
use crate::parse::{ParseError, parse_feed};
use crate::schedule;
use crate::store::retention::PruneReport;
use crate::store::write::{
    FeedDelivery, FeedToFetch, FetchRecord, IngestReport, NewValidators, PreparedItem,
};
use crate::store::{Checkpointer, FetchLock, Store, StoreError};
use crate::timefmt::now_unix;
use crate::watches::Watches;

/// Where "now" comes from: the system clock, or (in tests) a start time plus tokio's clock, which
/// a test can pause and advance.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    Wall,
    Tokio {
        start_unix: i64,
        start: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `start_unix` now and then moves with tokio's (possibly paused) time.
    pub fn tokio_from(start_unix: i64) -> Clock {
        Clock::Tokio {
            start_unix,
            start: tokio::time::Instant::now(),
        }
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        match self {
            Clock::Wall => now_unix(),
            Clock::Tokio { start_unix, start } => start_unix + start.elapsed().as_secs() as i64,
        }
    }
}

/// What one attempt at a source gives back: the fetch slot to hold (if any) and the outcome.
pub type SourceFuture<'a> = Pin<
    Box<dyn Future<Output = (Option<FetchSlot>, Result<FetchOutcome, FetchError>)> + Send + 'a>,
>;

/// One fetch attempt as the pipeline sees it. The real one is the [`Fetcher`]; a test can put a
/// scripted server in its place to run the scheduler on simulated time.
pub trait FeedSource: Send + Sync + 'static {
    /// One attempt at `url`; the slot (if any) is held until the result is with the writer.
    fn fetch<'a>(&'a self, url: &'a Url, validators: &'a Validators) -> SourceFuture<'a>;
}

impl FeedSource for Fetcher {
    fn fetch<'a>(&'a self, url: &'a Url, validators: &'a Validators) -> SourceFuture<'a> {
        Box::pin(async move {
            let (slot, result) = Fetcher::fetch(self, url, validators).await;
            (Some(slot), result)
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the store writer stopped unexpectedly")]
    WriterGone,
}

/// Totals of one or more cycles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub feeds: usize,
    pub ok: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub new_items: usize,
    pub folded: usize,
    /// Stories folded into another because a new item reported both.
    pub merged: usize,
    pub shared: usize,
    pub updated: usize,
    /// Attempts not made because the feed's host asked for a pause (429/503 `Retry-After`).
    pub deferred: usize,
}

impl RunReport {
    /// Adds another report's counts to this one.
    pub fn merge(&mut self, other: &RunReport) {
        self.feeds += other.feeds;
        self.ok += other.ok;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
        self.new_items += other.new_items;
        self.folded += other.folded;
        self.merged += other.merged;
        self.shared += other.shared;
        self.updated += other.updated;
        self.deferred += other.deferred;
    }

    /// Counts one feed's result.
    pub fn add(&mut self, outcome: &FeedResult) {
        self.feeds += 1;
        match outcome {
            FeedResult::Ingested(r) => {
                self.ok += 1;
                self.new_items += r.new_items;
                self.folded += r.folded;
                self.merged += r.merged;
                self.shared += r.shared;
                self.updated += r.updated;
            }
            FeedResult::Unchanged => self.unchanged += 1,
            FeedResult::Failed(_) => self.failed += 1,
            FeedResult::Deferred(_) => self.deferred += 1,
        }
    }
}

impl std::fmt::Display for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} feeds: {} ok, {} unchanged, {} failed",
            self.feeds, self.ok, self.unchanged, self.failed
        )?;
        if self.deferred > 0 {
            write!(f, ", {} deferred", self.deferred)?;
        }
        write!(
            f,
            "; {} new items, {} folded into existing stories, {} already seen via another feed, {} updated",
            self.new_items, self.folded, self.shared, self.updated
        )?;
        if self.merged > 0 {
            write!(f, "; stories merged into another: {}", self.merged)?;
        }
        Ok(())
    }
}

/// How one feed's attempt ended.
#[derive(Debug, Clone)]
pub enum FeedResult {
    Ingested(IngestReport),
    Unchanged,
    Failed(String),
    /// Not attempted: the host asked for a pause.
    Deferred(String),
}

/// One finished attempt: the feed as it was, how it went, and the feed as the store now has it
/// (`None` once it is gone or no longer configured).
#[derive(Debug)]
pub struct Attempt {
    pub feed: FeedToFetch,
    pub result: FeedResult,
    pub next_fetch: i64,
    pub updated: Option<FeedToFetch>,
}

/// What a fetch task hands the writer.
enum Fetched {
    Items {
        items: Vec<PreparedItem>,
        /// The longer of the feed's `ttl` and the response's freshness.
        hint: Option<Duration>,
        status: u16,
        validators: NewValidators,
    },
    Unchanged {
        status: u16,
        hint: Option<Duration>,
        validators: NewValidators,
    },
    Failed {
        error: String,
        status: Option<u16>,
        gone: bool,
        /// The server asked for at least this long (`Retry-After`).
        wait_at_least: Option<Duration>,
    },
    /// The host is paused (it answered 429/503 to another feed): not attempted.
    Deferred { reason: String, wait: Duration },
}

enum WriterMsg {
    Outcome(Box<OutcomeMsg>),
    Feeds {
        reply: oneshot::Sender<Result<Vec<FeedToFetch>, StoreError>>,
    },
    /// Answered as soon as the writer gets to it: the watchdog's proof that it is not stuck.
    Ping {
        reply: oneshot::Sender<()>,
    },
    /// Retention: delete the items first fetched before `cutoff`.
    Prune {
        cutoff: i64,
        reply: oneshot::Sender<Result<PruneReport, StoreError>>,
    },
}

struct OutcomeMsg {
    feed: FeedToFetch,
    at: i64,
    fetched: Fetched,
    reply: oneshot::Sender<Attempt>,
    /// The round the attempt was started in.
    round: Round,
}

/// Why fetches could not be ingested (the feed's error says which).
#[derive(Debug, thiserror::Error)]
enum IngestFailure {
    #[error("cannot load the candidate index: {0}")]
    Index(StoreError),
    #[error("cannot store items: {0}")]
    Store(StoreError),
}

/// How the writer groups fetches with items into one transaction, which is one batch of the
/// deduplicator: the stories a batch starts are judged together at its end
/// ([`Deduplicator::review_batch`]), so a story that one feed starts may still be folded into
/// another by what a later feed of the batch brings. Once stored, a story's id is out and it
/// never merges by itself (DESIGN §4). So how the fetches group decides how much of a stream is
/// judged at once. ECB+ dev served as 20 feeds from one host, fetched 1 s apart (the default
/// `host_spacing`), in three shuffled layouts, B-cubed F1 of `run --once`: each fetch alone
/// (when the writer waited only 100 ms for more) 0.70-0.74; the round as one group, 0.82-0.85.
#[derive(Debug, Clone, Copy)]
struct GroupLimits {
    /// After the last fetch with items, how long to wait for another when no fetch of the
    /// group's rounds is still coming: fetches of different rounds that finish together.
    linger: Duration,
    /// The longest a group stays open from its first fetch, waiting for its rounds: what is
    /// fetched waits at most this long to be stored (and its alerts to be raised).
    max_wait: Duration,
    /// The most items in one group: they are held in memory until the transaction.
    max_items: usize,
    /// The most messages taken off the queue at once.
    max_messages: usize,
}

/// The daemon's and `run --once`'s grouping. A minute covers a round of 60 feeds on one host at
/// the default `host_spacing` (1 s). Items are held until their group is stored: with groups
/// of up to 1000 items, the pipeline bench (200 feeds of 25 items) peaked at 50-53 MiB of RSS,
/// against 44-47 MiB with groups of at most 8 fetches, and stored 5.7k-8.8k items/s against
/// 4.7k-6.5k (six runs each, alternated, on one machine). One fetch a transaction was slower
/// still (4.4k against 6.8k-8.1k on an earlier machine).
const GROUP_LIMITS: GroupLimits = GroupLimits {
    linger: Duration::from_millis(100),
    max_wait: Duration::from_secs(60),
    max_items: 1000,
    max_messages: 256,
};

/// The fetches of one round (the attempts started together: every feed of `run --once`, the
/// feeds the daemon finds due at one look) that have not reached the writer yet. While some of
/// a round are still coming, the writer keeps the group that holds the others open for them
/// (within [`GroupLimits`]): a round is judged as one batch, however its fetches are spaced.
#[derive(Debug, Clone, Default)]
pub struct Round(Arc<AtomicUsize>);

impl Round {
    /// One more fetch of the round, pending until the guard is dropped (when the writer has its
    /// outcome, or the attempt ends without one).
    fn start(&self) -> PendingFetch {
        self.0.fetch_add(1, Ordering::AcqRel);
        PendingFetch(self.0.clone())
    }

    /// Whether a fetch of the round has not reached the writer yet.
    fn is_pending(&self) -> bool {
        self.0.load(Ordering::Acquire) > 0
    }
}

/// A fetch of a [`Round`] that the writer does not have yet.
struct PendingFetch(Arc<AtomicUsize>);

impl Drop for PendingFetch {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The items `msg` carries for the store: `Some` for a fetch with items (what a group gathers).
fn items_in(msg: &WriterMsg) -> Option<usize> {
    match msg {
        WriterMsg::Outcome(o) => match &o.fetched {
            Fetched::Items { items, .. } => Some(items.len()),
            _ => None,
        },
        _ => None,
    }
}

/// The writer: owns the store and the deduplicator.
struct Writer {
    store: Store,
    watches: Arc<Watches>,
    /// Loaded from the store on the first new item: a run where nothing changed skips it.
    dedup: Option<Deduplicator>,
    thresholds: Thresholds,
    intervals: HashMap<String, Duration>,
    default_interval: Duration,
}

impl Writer {
    fn handle(&mut self, msg: WriterMsg) {
        match msg {
            WriterMsg::Feeds { reply } => {
                let _ = reply.send(self.store.feeds_to_fetch());
            }
            WriterMsg::Ping { reply } => {
                let _ = reply.send(());
            }
            WriterMsg::Prune { cutoff, reply } => {
                let result = self.store.prune(cutoff);
                if matches!(&result, Ok(r) if r.items > 0) {
                    // The index may hold pruned items: rebuilt from the store when next needed.
                    self.dedup = None;
                }
                let _ = reply.send(result);
            }
            WriterMsg::Outcome(msg) => {
                let OutcomeMsg {
                    feed,
                    at,
                    fetched,
                    reply,
                    round: _,
                } = *msg;
                let (result, next_fetch) = self.record(&feed, at, fetched);
                self.reply(feed, result, next_fetch, reply);
            }
        }
    }

    /// `first` and what comes with it off `rx`, to be handled together ([`Writer::handle_all`]).
    /// After anything but a fetch with items: what is queued already. After a fetch with items:
    /// the fetches with items that follow, while a fetch of their rounds is still coming (or
    /// within `limits.linger` of the last), up to the limits. What else comes meanwhile is
    /// handled at once (a watchdog ping, the list of feeds, a failed or unchanged fetch: none
    /// touches the group's stories), but for retention, which ends the group and follows it.
    fn gather(
        &mut self,
        first: WriterMsg,
        rx: &mut mpsc::Receiver<WriterMsg>,
        limits: GroupLimits,
    ) -> Vec<WriterMsg> {
        let first_items = items_in(&first);
        let mut msgs = vec![first];
        let Some(mut items) = first_items else {
            while msgs.len() < limits.max_messages
                && let Ok(more) = rx.try_recv()
            {
                msgs.push(more);
            }
            return msgs;
        };
        // Whether a round of the group has a fetch still to come (the group holds fetches with
        // items only, each with its round).
        let coming = |msgs: &[WriterMsg]| {
            msgs.iter()
                .any(|m| matches!(m, WriterMsg::Outcome(o) if o.round.is_pending()))
        };
        let started = std::time::Instant::now();
        let mut last = started;
        while items < limits.max_items && msgs.len() < limits.max_messages {
            match rx.try_recv() {
                Ok(msg) => match items_in(&msg) {
                    Some(n) => {
                        items += n;
                        last = std::time::Instant::now();
                        msgs.push(msg);
                    }
                    None if matches!(msg, WriterMsg::Prune { .. }) => {
                        msgs.push(msg);
                        break;
                    }
                    None => self.handle(msg),
                },
                Err(mpsc::error::TryRecvError::Empty) => {
                    let now = std::time::Instant::now();
                    if now - started >= limits.max_wait
                        || (!coming(&msgs) && now - last >= limits.linger)
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        }
        msgs
    }

    /// Handles `msgs` in order, except that fetches with items that come one after another are
    /// ingested together, in one transaction: one batch, so that a story one feed starts may
    /// still be folded into another by what the next feed brings (see
    /// [`Deduplicator::begin_batch`]). `msgs` are what [`Writer::gather`] collected.
    fn handle_all(&mut self, msgs: Vec<WriterMsg>) {
        let mut group: Vec<OutcomeMsg> = Vec::new();
        for msg in msgs {
            match msg {
                WriterMsg::Outcome(outcome) if matches!(outcome.fetched, Fetched::Items { .. }) => {
                    group.push(*outcome)
                }
                other => {
                    self.ingest_group(std::mem::take(&mut group));
                    self.handle(other);
                }
            }
        }
        self.ingest_group(group);
    }

    /// Ingests fetches with items in one transaction and answers each. When that fails, each
    /// is ingested alone, so that one feed's failure is that feed's.
    fn ingest_group(&mut self, group: Vec<OutcomeMsg>) {
        if group.len() <= 1 {
            for msg in group {
                self.handle(WriterMsg::Outcome(Box::new(msg)));
            }
            return;
        }
        let fetches: Vec<(&FeedToFetch, i64, &Fetched)> = group
            .iter()
            .map(|msg| (&msg.feed, msg.at, &msg.fetched))
            .collect();
        match self.ingest_fetches(&fetches) {
            Ok(stored) => {
                tracing::debug!(feeds = group.len(), "fetches stored in one transaction");
                for (msg, (report, next_fetch)) in group.into_iter().zip(stored) {
                    self.reply(
                        msg.feed,
                        FeedResult::Ingested(report),
                        next_fetch,
                        msg.reply,
                    );
                }
            }
            Err(failure) => {
                tracing::warn!(feeds = group.len(), error = %failure, "cannot store the fetches together; storing each alone");
                for msg in group {
                    self.handle(WriterMsg::Outcome(Box::new(msg)));
                }
            }
        }
    }

    /// Ingests `fetches` (feed, time, a fetch with items) in one transaction: for each, what
    /// the ingest did and when the feed is due next. On a failure the rollback took the items
    /// back but the deduplicator had seen them: it is dropped, and rebuilt from the store on
    /// the next new item.
    fn ingest_fetches(
        &mut self,
        fetches: &[(&FeedToFetch, i64, &Fetched)],
    ) -> Result<Vec<(IngestReport, i64)>, IngestFailure> {
        let records: Vec<FetchRecord> = fetches
            .iter()
            .map(|&(feed, at, fetched)| {
                let Fetched::Items { hint, status, .. } = fetched else {
                    unreachable!("only fetches with items are ingested")
                };
                FetchRecord {
                    at,
                    status: Some(*status),
                    next_fetch: self.next_fetch(feed, at, 0, *hint),
                }
            })
            .collect();
        let deliveries: Vec<FeedDelivery> = fetches
            .iter()
            .zip(&records)
            .map(|(&(feed, _, fetched), record)| {
                let Fetched::Items {
                    items, validators, ..
                } = fetched
                else {
                    unreachable!("only fetches with items are ingested")
                };
                FeedDelivery {
                    feed_id: feed.id,
                    items,
                    record,
                    validators,
                }
            })
            .collect();
        let mut dedup = match self.dedup.take() {
            Some(dedup) => dedup,
            None => self.load_dedup().map_err(IngestFailure::Index)?,
        };
        let reports = self
            .store
            .ingest(&deliveries, &mut dedup, &self.watches)
            .map_err(IngestFailure::Store)?;
        self.dedup = Some(dedup);
        Ok(reports
            .into_iter()
            .zip(records)
            .map(|(report, record)| (report, record.next_fetch))
            .collect())
    }

    /// Answers an attempt with its result and the feed as the store now has it.
    fn reply(
        &mut self,
        feed: FeedToFetch,
        result: FeedResult,
        next_fetch: i64,
        reply: oneshot::Sender<Attempt>,
    ) {
        let updated = match self.store.feed_to_fetch(feed.id) {
            Ok(updated) => updated,
            Err(e) => {
                tracing::error!(feed = %feed.url, error = %e, "cannot read the feed back");
                // Keep polling it on the schedule just decided.
                Some(FeedToFetch {
                    next_fetch: Some(next_fetch),
                    ..feed.clone()
                })
            }
        };
        let _ = reply.send(Attempt {
            feed,
            result,
            next_fetch,
            updated,
        });
    }

    /// The candidate index rebuilt from the store, so that a copy of a story stored before a
    /// restart still finds its cluster.
    fn load_dedup(&self) -> Result<Deduplicator, StoreError> {
        let mut dedup = Deduplicator::new(self.thresholds);
        let loaded = self.store.load_dedup_index(&mut dedup)?;
        tracing::debug!(items = loaded, "candidate index loaded from the store");
        Ok(dedup)
    }

    fn interval(&self, feed: &FeedToFetch) -> Duration {
        self.intervals
            .get(&feed.url)
            .copied()
            .unwrap_or(self.default_interval)
    }

    fn next_fetch(
        &self,
        feed: &FeedToFetch,
        at: i64,
        failures: u32,
        hint: Option<Duration>,
    ) -> i64 {
        schedule::next_due(
            at,
            self.interval(feed),
            failures,
            hint,
            spread_unit(feed, at),
        )
    }

    fn record(&mut self, feed: &FeedToFetch, at: i64, fetched: Fetched) -> (FeedResult, i64) {
        match fetched {
            Fetched::Items { status, .. } => {
                let fetch = (feed, at, &fetched);
                match self.ingest_fetches(&[fetch]) {
                    Ok(mut stored) => {
                        let (report, next_fetch) = stored.pop().unwrap_or_default();
                        (FeedResult::Ingested(report), next_fetch)
                    }
                    Err(failure) => {
                        self.fail(feed, at, failure.to_string(), Some(status), false, None)
                    }
                }
            }
            Fetched::Unchanged {
                status,
                hint,
                validators,
            } => {
                let next_fetch = self.next_fetch(feed, at, 0, hint);
                let record = FetchRecord {
                    at,
                    status: Some(status),
                    next_fetch,
                };
                match self.store.record_unchanged(feed.id, &record, &validators) {
                    Ok(()) => (FeedResult::Unchanged, next_fetch),
                    Err(e) => self.fail(
                        feed,
                        at,
                        format!("cannot record fetch: {e}"),
                        Some(status),
                        false,
                        None,
                    ),
                }
            }
            Fetched::Failed {
                error,
                status,
                gone,
                wait_at_least,
            } => self.fail(feed, at, error, status, gone, wait_at_least),
            Fetched::Deferred { reason, wait } => {
                // Due when the pause ends, plus up to a minute so that the host's feeds do not
                // all come back in the same second.
                let spread = (spread_unit(feed, at) * 60.0) as i64;
                let next_fetch = at + wait.as_secs() as i64 + 1 + spread;
                tracing::info!(feed = %feed.url, reason = %reason, "fetch deferred");
                if let Err(e) = self.store.record_deferred(feed.id, next_fetch) {
                    tracing::error!(feed = %feed.url, error = %e, "cannot record the deferral in the store");
                }
                (FeedResult::Deferred(reason), next_fetch)
            }
        }
    }

    fn fail(
        &mut self,
        feed: &FeedToFetch,
        at: i64,
        error: String,
        status: Option<u16>,
        gone: bool,
        wait_at_least: Option<Duration>,
    ) -> (FeedResult, i64) {
        let next_fetch = self.next_fetch(feed, at, feed.error_count + 1, wait_at_least);
        let record = FetchRecord {
            at,
            status,
            next_fetch,
        };
        tracing::warn!(feed = %feed.url, error = %error, "fetch failed");
        if let Err(e) = self.store.record_failure(feed.id, &record, &error, gone) {
            tracing::error!(feed = %feed.url, error = %e, "cannot record the failure in the store");
        }
        (FeedResult::Failed(error), next_fetch)
    }
}

/// A number in [0, 1) for the jitter: a cheap, deterministic spread, so that feeds fetched
/// together drift apart.
fn spread_unit(feed: &FeedToFetch, at: i64) -> f64 {
    (xxh3_64(&[feed.id.to_le_bytes(), at.to_le_bytes()].concat()) % 10_000) as f64 / 10_000.0
}

/// How fetch tasks reach the writer: a thread behind a channel, or (in single-threaded tests on
/// a paused clock, where waiting on another thread would let tokio jump its clock) called in
/// place.
#[derive(Clone)]
enum WriterLink {
    Thread(mpsc::Sender<WriterMsg>),
    #[cfg(test)]
    Inline(Arc<std::sync::Mutex<Writer>>),
}

impl WriterLink {
    async fn send(&self, msg: WriterMsg) -> Result<(), PipelineError> {
        match self {
            WriterLink::Thread(tx) => tx.send(msg).await.map_err(|_| PipelineError::WriterGone),
            #[cfg(test)]
            WriterLink::Inline(writer) => {
                writer.lock().expect("writer lock").handle(msg);
                Ok(())
            }
        }
    }
}

/// A running pipeline: the source, the parse slots and the link to the writer.
pub struct Pipeline {
    retention: Option<Duration>,
    source: Arc<dyn FeedSource>,
    parse_slots: Arc<Semaphore>,
    thresholds: Thresholds,
    watches: Arc<Watches>,
    writer: WriterLink,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    clock: Clock,
    _checkpointer: Checkpointer,
    _lock: FetchLock,
}

impl Pipeline {
    /// Takes the fetch lock, opens and migrates the store, records the configured feeds and
    /// starts the writer and checkpoint threads. The candidate index is rebuilt from the store
    /// when the first new item arrives.
    pub fn start(config: &Config, db_path: &Path) -> Result<Pipeline, PipelineError> {
        let fetcher = Arc::new(Fetcher::new(&config.fetch)?);
        let (mut writer, lock, checkpointer) = open_writer(config, db_path, Clock::Wall)?;
        let writer_watches = writer.watches.clone();
        let (tx, mut rx) = mpsc::channel::<WriterMsg>(64);
        let thread = std::thread::Builder::new()
            .name("feedfold-store".into())
            .spawn(move || {
                while let Some(msg) = rx.blocking_recv() {
                    let msgs = writer.gather(msg, &mut rx, GROUP_LIMITS);
                    writer.handle_all(msgs);
                }
            })
            .expect("spawn the store writer thread");
        Ok(Pipeline {
            retention: config.storage.retention,
            source: fetcher,
            parse_slots: Arc::new(Semaphore::new(parse_slots())),
            thresholds: thresholds(config),
            watches: writer_watches.clone(),
            writer: WriterLink::Thread(tx),
            writer_thread: Some(thread),
            clock: Clock::Wall,
            _checkpointer: checkpointer,
            _lock: lock,
        })
    }

    /// A pipeline on `source` and `clock` whose writer runs in place (single-threaded tests on
    /// a paused clock).
    #[cfg(test)]
    pub(crate) fn start_inline(
        config: &Config,
        db_path: &Path,
        source: Arc<dyn FeedSource>,
        clock: Clock,
    ) -> Result<Pipeline, PipelineError> {
        let (writer, lock, checkpointer) = open_writer(config, db_path, clock)?;
        let writer_watches = writer.watches.clone();
        Ok(Pipeline {
            retention: config.storage.retention,
            source,
            parse_slots: Arc::new(Semaphore::new(parse_slots())),
            thresholds: thresholds(config),
            watches: writer_watches.clone(),
            writer: WriterLink::Inline(Arc::new(std::sync::Mutex::new(writer))),
            writer_thread: None,
            clock,
            _checkpointer: checkpointer,
            _lock: lock,
        })
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The feeds to poll (active, not gone), with their schedule and validators.
    pub async fn feeds(&self) -> Result<Vec<FeedToFetch>, PipelineError> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(WriterMsg::Feeds { reply }).await?;
        Ok(rx.await.map_err(|_| PipelineError::WriterGone)??)
    }

    /// Applies retention (`[storage] retention`) now; nothing when it is off.
    pub async fn prune(&self) -> Result<PruneReport, PipelineError> {
        let Some(retention) = self.retention else {
            return Ok(PruneReport::default());
        };
        let cutoff = crate::timefmt::before(self.clock.now(), retention);
        let (reply, rx) = oneshot::channel();
        self.writer.send(WriterMsg::Prune { cutoff, reply }).await?;
        let report = rx.await.map_err(|_| PipelineError::WriterGone)??;
        if report.items > 0 {
            tracing::info!(
                items = report.items,
                stories = report.clusters,
                alerts = report.alerts,
                "retention: pruned items first fetched before the cutoff"
            );
        }
        Ok(report)
    }

    /// Asks the writer to answer; the receiver resolves once it has worked through what was
    /// queued before (the watchdog's check that the store is making progress).
    pub async fn ping(&self) -> Result<oneshot::Receiver<()>, PipelineError> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(WriterMsg::Ping { reply }).await?;
        Ok(rx)
    }

    /// One attempt at `feed`, as a task that owns what it needs, started in `round` (the
    /// attempts started with it). `None` when `shutdown` came before the result reached the
    /// writer (nothing was written); once the writer has it, the transaction finishes whatever
    /// happens.
    pub fn attempt(
        &self,
        feed: FeedToFetch,
        shutdown: CancellationToken,
        round: &Round,
    ) -> impl Future<Output = Option<Attempt>> + Send + 'static {
        // Pending from now, not from the task's first poll: the writer must not take the round
        // for done while a task of it has yet to run.
        let pending = round.start();
        let round = round.clone();
        let source = self.source.clone();
        let parse_slots = self.parse_slots.clone();
        let writer = self.writer.clone();
        let clock = self.clock;
        let thresholds = self.thresholds;
        let watches = self.watches.clone();
        async move {
            let prepare = Prepare {
                thresholds,
                watches,
            };
            let (slot, fetched) = tokio::select! {
                fetched = fetch_and_parse(&*source, &parse_slots, &prepare, &feed, clock) => fetched,
                () = shutdown.cancelled() => return None,
            };
            let (reply, rx) = oneshot::channel();
            let msg = WriterMsg::Outcome(Box::new(OutcomeMsg {
                feed,
                at: clock.now(),
                fetched,
                reply,
                round,
            }));
            writer.send(msg).await.ok()?;
            // The writer has it: the round waits for it no more, and the fetch slot is free for
            // the next feed.
            drop(pending);
            drop(slot);
            rx.await.ok()
        }
    }

    /// Fetches and ingests `feeds` concurrently (`run --once`). On `shutdown`, fetches in flight
    /// are abandoned; a feed already handed to the writer finishes its transaction.
    pub async fn cycle(
        &self,
        feeds: Vec<FeedToFetch>,
        shutdown: &CancellationToken,
        mut on_done: impl FnMut(&FeedToFetch, &FeedResult),
    ) -> Result<RunReport, PipelineError> {
        let mut tasks = tokio::task::JoinSet::new();
        // One round: the writer stores the fetches together as far as its limits allow.
        let round = Round::default();
        for feed in feeds {
            tasks.spawn(self.attempt(feed, shutdown.clone(), &round));
        }
        let mut report = RunReport::default();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Some(attempt)) => {
                    report.add(&attempt.result);
                    on_done(&attempt.feed, &attempt.result);
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "a fetch task failed"),
            }
        }
        Ok(report)
    }

    /// Stops the writer after the messages in hand are done.
    pub fn finish(mut self) {
        drop(self.writer);
        if let Some(handle) = self.writer_thread.take() {
            let _ = handle.join();
        }
    }
}

/// The deduplication thresholds that `config` asks for.
pub fn thresholds(config: &Config) -> Thresholds {
    let window = i64::try_from(config.dedup.window.as_secs()).unwrap_or(i64::MAX / 4);
    let mut thresholds = Thresholds::with_window(window);
    thresholds.related_coverage = config.dedup.related;
    thresholds.merge_stories = config.dedup.merge_stories;
    thresholds
}

/// Takes the fetch lock, opens and migrates the store, starts the checkpointer and records the
/// configured feeds: everything the writer needs before the first fetch.
fn open_writer(
    config: &Config,
    db_path: &Path,
    clock: Clock,
) -> Result<(Writer, FetchLock, Checkpointer), PipelineError> {
    let lock = FetchLock::acquire(db_path)?;
    let mut store = Store::open_writer(db_path)?;
    let checkpointer = Checkpointer::start(db_path)?;
    store.sync_config_feeds(&config.feeds, clock.now())?;
    let writer = Writer {
        store,
        watches: Arc::new(Watches::new(config)),
        dedup: None,
        thresholds: thresholds(config),
        intervals: config
            .feeds
            .iter()
            .map(|f| (f.url.to_string(), config.interval_for(f)))
            .collect(),
        default_interval: config.fetch.interval,
    };
    Ok((writer, lock, checkpointer))
}

/// How many documents are parsed at once: one per core. Parsing is CPU-bound, so more would only
/// preempt the writer thread, and a large body peaks near seven times its size in memory while it
/// is parsed, so the bound also bounds memory.
fn parse_slots() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Fetches and parses one feed. The fetch slot comes back with the result: the caller holds it
/// until the writer has the result, which bounds the results waiting in memory.
/// What preparing an item needs: the fingerprint's settings and the watches to match.
#[derive(Clone)]
struct Prepare {
    thresholds: Thresholds,
    watches: Arc<Watches>,
}

async fn fetch_and_parse(
    source: &dyn FeedSource,
    parse_slots: &Semaphore,
    prepare: &Prepare,
    feed: &FeedToFetch,
    clock: Clock,
) -> (Option<FetchSlot>, Fetched) {
    let url = match Url::parse(&feed.url_in_use) {
        Ok(url) => url,
        Err(e) => {
            let error = format!("invalid URL {:?}: {e}", feed.url_in_use);
            return (
                None,
                Fetched::Failed {
                    error,
                    status: None,
                    gone: false,
                    wait_at_least: None,
                },
            );
        }
    };
    let validators = Validators {
        etag: feed.etag.clone(),
        last_modified: feed.last_modified.clone(),
    };
    let (slot, outcome) = source.fetch(&url, &validators).await;
    let fetched = match outcome {
        Ok(FetchOutcome::NotModified {
            validators,
            fresh_for,
        }) => Fetched::Unchanged {
            status: 304,
            hint: fresh_for,
            validators: NewValidators {
                etag: validators.etag,
                last_modified: validators.last_modified,
                ..NewValidators::default()
            },
        },
        Ok(FetchOutcome::Body(body)) => parse_body(*body, feed, parse_slots, prepare, clock).await,
        Err(FetchError::HostPaused { host, remaining }) => Fetched::Deferred {
            reason: FetchError::HostPaused { host, remaining }.to_string(),
            wait: remaining,
        },
        Err(e) => Fetched::Failed {
            status: e.status(),
            gone: matches!(e, FetchError::Gone { .. }),
            wait_at_least: e.wait_at_least(),
            error: e.to_string(),
        },
    };
    (slot, fetched)
}

/// Parses, normalizes and fingerprints a fetched body on the blocking pool, one document per
/// parse slot; the same bytes as last time are not parsed again.
async fn parse_body(
    body: FetchedBody,
    feed: &FeedToFetch,
    parse_slots: &Semaphore,
    prepare: &Prepare,
    clock: Clock,
) -> Fetched {
    let body_hash = xxh3_64(&body.body) as i64;
    let validators = NewValidators {
        etag: body.validators.etag.clone(),
        last_modified: body.validators.last_modified.clone(),
        body_hash: Some(body_hash),
        moved_to: body.moved_permanently_to.as_ref().map(Url::to_string),
        // Read off the document below, once it is parsed.
        title: None,
    };
    if feed.body_hash == Some(body_hash) {
        return Fetched::Unchanged {
            status: body.status,
            hint: body.fresh_for,
            validators,
        };
    }
    let status = body.status;
    let fresh_for = body.fresh_for;
    let url = body.final_url.to_string();
    let base = url.clone();
    let fetched_at = clock.now();
    let _parse_slot = parse_slots.acquire().await.expect("semaphore never closed");
    let prepare = prepare.clone();
    let feed_url = feed.url.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        parse_feed(&body.body, &base).map(|p| {
            let items = normalize_entries(&p.entries, fetched_at);
            let title = p
                .title
                .as_deref()
                .map(clean_title)
                .filter(|t| !t.is_empty());
            (
                p.ttl_minutes,
                title,
                items
                    .into_iter()
                    .map(|item| {
                        PreparedItem::new(item, &prepare.thresholds)
                            .with_hits(&prepare.watches, &feed_url)
                    })
                    .collect(),
            )
        })
    })
    .await;
    match parsed {
        Ok(Ok((ttl_minutes, title, items))) => {
            let ttl = ttl_minutes.map(|m| Duration::from_secs(u64::from(m) * 60));
            Fetched::Items {
                items,
                hint: ttl.max(fresh_for),
                status,
                validators: NewValidators {
                    title,
                    ..validators
                },
            }
        }
        Ok(Err(e)) => Fetched::Failed {
            error: format!("{e} ({url})"),
            status: Some(status),
            gone: false,
            wait_at_least: None,
        },
        // A panic outside feed-rs (in normalize) is contained here, on this feed.
        Err(join) => Fetched::Failed {
            error: format!("{} ({url})", ParseError::Panicked(join.to_string())),
            status: Some(status),
            gone: false,
            wait_at_least: None,
        },
    }
}

/// `feedfold run --once`: every feed that is not gone, now, whatever its schedule.
pub async fn run_once(
    config: &Config,
    db_path: &Path,
    shutdown: &CancellationToken,
    on_start: impl FnOnce(usize),
    on_done: impl FnMut(&FeedToFetch, &FeedResult),
) -> Result<RunReport, PipelineError> {
    let pipeline = Pipeline::start(config, db_path)?;
    let feeds = pipeline.feeds().await?;
    on_start(feeds.len());
    let report = pipeline.cycle(feeds, shutdown, on_done).await?;
    if let Err(e) = pipeline.prune().await {
        // The fetched items are stored; retention runs again next time.
        tracing::error!(error = %e, "retention failed");
    }
    pipeline.finish();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormalizedItem;

    fn story(guid: &str) -> NormalizedItem {
        let text = "The harbour authority reopened the northern channel on Tuesday after divers \
                    cleared the wreck of a grain barge that sank in the storm last week, and \
                    shipping companies said the first convoys would sail at dawn. "
            .repeat(40);
        NormalizedItem {
            key: format!("g:{guid}"),
            guid: guid.into(),
            url: Some(format!("https://{guid}.example/harbour")),
            canonical_url: Some(format!("https://{guid}.example/harbour")),
            title: "Harbour channel reopens after barge wreck is cleared".into(),
            text,
            published: Some(1_800_000_000),
        }
    }

    fn items(writer: &Writer, guid: &str) -> Fetched {
        Fetched::Items {
            items: vec![PreparedItem::new(story(guid), &writer.thresholds)],
            hint: None,
            status: 200,
            validators: NewValidators::default(),
        }
    }

    /// (guid, title, text)
    type Story = (&'static str, &'static str, &'static str);

    const OTHER_NEWS: [Story; 3] = [
        (
            "rates",
            "Central bank holds rates",
            "The central bank kept interest rates unchanged on Thursday, citing slowing inflation.",
        ),
        (
            "storm",
            "Storm hits Florida coast",
            "Hurricane Milton made landfall near Tampa with winds of 120 miles per hour.",
        ),
        (
            "iphone",
            "Apple unveils new iPhone",
            "Apple showed a thinner iPhone at its September event in Cupertino, California.",
        ),
    ];

    /// Putin's answer, Macron's pledge and a second report of the pledge. In this order, with
    /// the bridge bar at 0.45 (see `nato_writer`): the pledge does not reach the answer's story
    /// (0.58) and starts another, which the second report joins (0.75), so two reports back
    /// it; the second report is not close enough to the answer to tie the two (0.40). Looking
    /// again afterwards, the answer reaches the pledge's story at its lower bar, the bridge bar
    /// (0.53).
    const NATO_REPORTS: [Story; 3] = [
        (
            "putin",
            "Russia says forces pledged for Ukraine in Paris would be targets",
            "Vladimir Putin said the forces that 26 NATO countries pledged to guarantee the security of Ukraine at the Paris summit would be legitimate targets.",
        ),
        (
            "macron",
            "Macron: 26 NATO countries pledge Ukraine forces",
            "Emmanuel Macron said 26 NATO countries pledged forces to guarantee the security of Ukraine once the fighting with Russia stops, at a summit in Paris on Thursday.",
        ),
        (
            "pledge",
            "Macron says 26 countries will guarantee Ukraine's security",
            "Emmanuel Macron said after the Paris summit on Thursday that 26 countries had agreed to take part in post-war guarantees for Kyiv, some of them with troops.",
        ),
    ];

    /// A fetch of `stories`, published a minute apart from `minute` on.
    fn fetched(writer: &Writer, stories: &[Story], minute: i64) -> Fetched {
        let items = stories
            .iter()
            .zip(minute..)
            .map(|(&(guid, title, text), minute)| {
                let item = NormalizedItem {
                    key: format!("g:{guid}"),
                    guid: guid.into(),
                    url: Some(format!("https://{guid}.example/story")),
                    canonical_url: Some(format!("https://{guid}.example/story")),
                    title: title.into(),
                    text: text.into(),
                    published: Some(1_800_000_000 + 60 * minute),
                };
                PreparedItem::new(item, &writer.thresholds)
            })
            .collect();
        Fetched::Items {
            items,
            hint: None,
            status: 200,
            validators: NewValidators::default(),
        }
    }

    /// An attempt at `feed` that fetched `fetched`, as the writer receives it, and where its
    /// answer arrives.
    fn outcome(feed: &FeedToFetch, fetched: Fetched) -> (WriterMsg, oneshot::Receiver<Attempt>) {
        let (reply, rx) = oneshot::channel();
        let msg = WriterMsg::Outcome(Box::new(OutcomeMsg {
            feed: feed.clone(),
            at: 1_800_000_100,
            fetched,
            reply,
            round: Round::default(),
        }));
        (msg, rx)
    }

    /// The disk is full: the store may not grow by a page.
    fn fill_the_disk(writer: &Writer) {
        let pages: i64 = writer
            .store
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        writer
            .store
            .conn
            .execute_batch(&format!("PRAGMA max_page_count = {pages}"))
            .unwrap();
    }

    /// A writer over two feeds, with the bridge bar at 0.45 and the other news stored from the
    /// first feed.
    fn nato_writer(dir: &Path) -> (Writer, FetchLock, Checkpointer, [FeedToFetch; 2]) {
        let config = Config::from_toml(
            "[[feeds]]\nurl = \"https://a.example/feed\"\n[[feeds]]\nurl = \"https://b.example/feed\"\n",
            &dir.join("feedfold.toml"),
        )
        .unwrap();
        let (mut writer, lock, checkpointer) =
            open_writer(&config, &dir.join("feedfold.db"), Clock::Wall).unwrap();
        writer.thresholds.related_bridge = 0.45;
        let feeds = writer.store.feeds_to_fetch().unwrap();
        let other_news = fetched(&writer, &OTHER_NEWS, -10);
        writer.record(&feeds[0], 1_800_000_000, other_news);
        let feeds = [0, 1].map(|n| writer.store.feed_to_fetch(feeds[n].id).unwrap().unwrap());
        (writer, lock, checkpointer, feeds)
    }

    /// The story of each of `NATO_REPORTS` and its members' rules, as (id, story, rule,
    /// matched).
    fn nato_rows(writer: &Writer) -> [(i64, i64, String, Option<i64>); 3] {
        NATO_REPORTS.map(|(guid, _, _)| {
            writer
                .store
                .conn
                .query_row(
                    "SELECT id, cluster_id, rule, matched FROM items WHERE guid = ?1",
                    [guid],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .unwrap()
        })
    }

    /// The pledge's story folded into the answer's: one story of three, the pledge's first
    /// report saying "merged" and naming the answer.
    fn assert_pledge_folded_into_answer(writer: &Writer) {
        let [putin, macron, pledge] = nato_rows(writer);
        assert_eq!((putin.1, macron.1, pledge.1), (putin.1, putin.1, putin.1));
        assert_eq!(putin.2, "first");
        assert_eq!((macron.2.as_str(), macron.3), ("merged", Some(putin.0)));
        assert_eq!((pledge.2.as_str(), pledge.3), ("related", Some(macron.0)));
        let (stories, size): (i64, i64) = writer
            .store
            .conn
            .query_row(
                "SELECT COUNT(*), (SELECT size FROM clusters WHERE id = ?1) FROM clusters",
                [putin.1],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((stories, size), (4, 3), "three other stories and this one");
    }

    #[test]
    fn the_end_of_a_fetch_folds_a_story_that_its_later_reports_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, _lock, _checkpointer, [feed, _]) = nato_writer(dir.path());
        let reports = fetched(&writer, &NATO_REPORTS, 0);
        let (result, _) = writer.record(&feed, 1_800_000_100, reports);
        let FeedResult::Ingested(report) = result else {
            panic!("{result:?}")
        };
        assert_eq!((report.new_items, report.merged), (3, 1), "{report:?}");
        assert_pledge_folded_into_answer(&writer);
    }

    #[test]
    fn fetches_queued_together_are_stored_as_one_batch() {
        let reports = |writer: &Writer, feed: &FeedToFetch, stories: &[Story], minute: i64| {
            outcome(feed, fetched(writer, stories, minute))
        };
        // The answer in one feed, the pledge's two reports in the other, queued together:
        // the answer's story is not stored yet when the pledge's story is looked at again.
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, _lock, _checkpointer, [a, b]) = nato_writer(dir.path());
        let (answer, mut answer_rx) = reports(&writer, &a, &NATO_REPORTS[..1], 0);
        let (pledge, mut pledge_rx) = reports(&writer, &b, &NATO_REPORTS[1..], 1);
        let (ping, mut ping_rx) = oneshot::channel();
        writer.handle_all(vec![answer, pledge, WriterMsg::Ping { reply: ping }]);
        assert_eq!(ping_rx.try_recv(), Ok(()));
        let answered = answer_rx.try_recv().expect("the answer's feed is answered");
        let pledged = pledge_rx.try_recv().expect("the pledge's feed is answered");
        let (FeedResult::Ingested(first), FeedResult::Ingested(second)) =
            (&answered.result, &pledged.result)
        else {
            panic!("{:?} {:?}", answered.result, pledged.result)
        };
        assert_eq!(
            (first.new_items, second.new_items, second.merged),
            (1, 2, 1)
        );
        // Each feed's fetch is recorded as its own.
        for attempt in [&answered, &pledged] {
            let updated = attempt.updated.as_ref().unwrap();
            assert_eq!(updated.next_fetch, Some(attempt.next_fetch));
            assert!(attempt.next_fetch > 1_800_000_100);
        }
        assert_pledge_folded_into_answer(&writer);

        // The same fetches one after the other: the answer's story is stored by then, and
        // stays as it is.
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, _lock, _checkpointer, [a, b]) = nato_writer(dir.path());
        let (answer, _answer_rx) = reports(&writer, &a, &NATO_REPORTS[..1], 0);
        let (pledge, _pledge_rx) = reports(&writer, &b, &NATO_REPORTS[1..], 1);
        writer.handle_all(vec![answer]);
        writer.handle_all(vec![pledge]);
        let [putin, macron, pledge] = nato_rows(&writer);
        assert_ne!(putin.1, macron.1);
        assert_eq!((macron.1, macron.2.as_str()), (pledge.1, "first"));
    }

    /// Limits for a test of `Writer::gather`: `linger` and `max_wait` as given, room for
    /// everything else.
    fn limits(linger: Duration, max_wait: Duration) -> GroupLimits {
        GroupLimits {
            linger,
            max_wait,
            ..GROUP_LIMITS
        }
    }

    #[test]
    fn the_writer_waits_for_more_fetches_only_after_one_with_items() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, _lock, _checkpointer, [a, _]) = nato_writer(dir.path());
        let answer = |writer: &Writer| outcome(&a, fetched(writer, &NATO_REPORTS[..1], 0)).0;
        let ping = || WriterMsg::Ping {
            reply: oneshot::channel().0,
        };
        let (tx, mut rx) = mpsc::channel::<WriterMsg>(8);
        // After a fetch with items the writer waits (here up to a minute) for the next one,
        // sent a little later from elsewhere; it takes two messages at most.
        let late = answer(&writer);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.blocking_send(late).ok().unwrap();
            tx
        });
        let two = GroupLimits {
            max_messages: 2,
            ..limits(Duration::from_secs(60), Duration::from_secs(60))
        };
        let first = answer(&writer);
        let msgs = writer.gather(first, &mut rx, two);
        assert_eq!(msgs.len(), 2);
        let tx = sender.join().unwrap();
        // After anything else it takes what is queued and goes on: it would find the fetch
        // sent half a second later if it waited.
        tx.blocking_send(ping()).ok().unwrap();
        let late = answer(&writer);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            tx.blocking_send(late).ok().unwrap();
        });
        let msgs = writer.gather(ping(), &mut rx, two);
        assert_eq!(msgs.len(), 2, "the first ping and the one queued");
        sender.join().unwrap();
        assert!(
            rx.try_recv().is_ok(),
            "the late fetch is left for the next round"
        );
    }

    #[test]
    fn a_round_is_stored_as_one_batch_however_far_apart_its_fetches_come() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, _lock, _checkpointer, [a, b]) = nato_writer(dir.path());
        let round = Round::default();
        let (answer_pending, pledge_pending) = (round.start(), round.start());
        let in_round = |msg: WriterMsg| match msg {
            WriterMsg::Outcome(mut o) => {
                o.round = round.clone();
                WriterMsg::Outcome(o)
            }
            other => other,
        };
        let (answer, mut answer_rx) = outcome(&a, fetched(&writer, &NATO_REPORTS[..1], 0));
        let (pledge, mut pledge_rx) = outcome(&b, fetched(&writer, &NATO_REPORTS[1..], 1));
        let (answer, pledge) = (in_round(answer), in_round(pledge));
        drop(answer_pending);
        let (tx, mut rx) = mpsc::channel::<WriterMsg>(8);
        // The pledge's reports come long after the linger. Meanwhile a ping is answered at
        // once, though the group is still open.
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let (reply, pinged) = oneshot::channel();
            tx.blocking_send(WriterMsg::Ping { reply }).ok().unwrap();
            pinged.blocking_recv().expect("the ping is answered");
            tx.blocking_send(pledge).ok().unwrap();
            drop(pledge_pending);
            tx
        });
        let linger = Duration::from_millis(20);
        let msgs = writer.gather(answer, &mut rx, limits(linger, Duration::from_secs(60)));
        let tx = sender.join().unwrap();
        assert_eq!(msgs.len(), 2, "the ping was handled, not gathered");
        writer.handle_all(msgs);
        for rx in [&mut answer_rx, &mut pledge_rx] {
            rx.try_recv().expect("each feed is answered");
        }
        assert_pledge_folded_into_answer(&writer);

        // After a fetch whose round has come whole, no later one is waited for past the
        // linger; and a round whose last fetch never comes holds the group for `max_wait`, not
        // longer. Either way the late fetch is left for the next group.
        let pending_forever = round.start();
        for (round_of_first, max_wait) in [
            (Round::default(), Duration::from_secs(60)),
            (round.clone(), Duration::from_millis(100)),
        ] {
            let (mut first, _) = outcome(&a, fetched(&writer, &NATO_REPORTS[..1], 2));
            if let WriterMsg::Outcome(o) = &mut first {
                o.round = round_of_first;
            }
            let (late, _) = outcome(&b, fetched(&writer, &NATO_REPORTS[1..2], 3));
            let sender = std::thread::spawn({
                let tx = tx.clone();
                move || {
                    std::thread::sleep(Duration::from_millis(700));
                    tx.blocking_send(late).ok().unwrap();
                }
            });
            let msgs = writer.gather(first, &mut rx, limits(linger, max_wait));
            assert_eq!(msgs.len(), 1, "max_wait {max_wait:?}");
            sender.join().unwrap();
            assert!(rx.try_recv().is_ok(), "the late fetch is queued still");
        }
        drop(pending_forever);
    }

    #[test]
    fn when_fetches_stored_together_fail_each_is_stored_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, _lock, _checkpointer, [a, b]) = nato_writer(dir.path());
        // The store may not grow by a page: one short item still fits in the pages it has, a
        // long article does not. Together they fail; alone, only the article's feed does.
        fill_the_disk(&writer);
        let (short, mut short_rx) = outcome(&a, fetched(&writer, &NATO_REPORTS[..1], 0));
        let (long, mut long_rx) = outcome(&b, items(&writer, "wire"));
        writer.handle_all(vec![short, long]);
        let short = short_rx.try_recv().expect("answered").result;
        let FeedResult::Ingested(report) = short else {
            panic!("the short item's feed is stored: {short:?}")
        };
        assert_eq!(report.new_items, 1);
        let long = long_rx.try_recv().expect("answered").result;
        let FeedResult::Failed(error) = long else {
            panic!("the article does not fit: {long:?}")
        };
        assert!(error.contains("cannot store items"), "{error}");
        let stored: Vec<String> = writer
            .store
            .conn
            .prepare("SELECT guid FROM items ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(stored, ["rates", "storm", "iphone", "putin"]);
    }

    #[test]
    fn a_rolled_back_ingest_leaves_nothing_for_a_later_copy_to_join() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_toml(
            "[[feeds]]\nurl = \"https://a.example/feed\"\n",
            &dir.path().join("feedfold.toml"),
        )
        .unwrap();
        let db = dir.path().join("feedfold.db");
        let (mut writer, _lock, _checkpointer) = open_writer(&config, &db, Clock::Wall).unwrap();
        let feed = writer.store.feeds_to_fetch().unwrap().remove(0);
        fill_the_disk(&writer);
        let first = items(&writer, "wire");
        let (result, _) = writer.record(&feed, 1_800_000_100, first);
        let FeedResult::Failed(error) = result else {
            panic!("a full disk fails the ingest: {result:?}")
        };
        assert!(error.contains("cannot store items"), "{error}");
        assert!(writer.dedup.is_none(), "the deduplicator is discarded");

        // Room again: a copy of the story that was rolled back is a story of its own.
        writer
            .store
            .conn
            .execute_batch("PRAGMA max_page_count = 1073741823")
            .unwrap();
        let feed = writer.store.feed_to_fetch(feed.id).unwrap().unwrap();
        let copy = items(&writer, "copy");
        let (result, _) = writer.record(&feed, 1_800_000_200, copy);
        let FeedResult::Ingested(report) = result else {
            panic!("{result:?}")
        };
        assert_eq!((report.new_items, report.folded), (1, 0));
        let stored: i64 = writer
            .store
            .conn
            .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 1);
    }
}
