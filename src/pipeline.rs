//! Runs the stages together: fetch (async, concurrent within the limits) → parse and normalize
//! (blocking pool, panics contained) → deduplicate and store (one writer thread that owns the
//! SQLite connection and the candidate index). `run --once` is one cycle over every feed; the
//! daemon repeats cycles over the feeds that are due until it is told to stop.
//!
//! SQLite stays off the async workers: the writer is a plain thread fed through a bounded
//! channel, so a slow disk holds back the fetchers (backpressure) instead of blocking the runtime.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use url::Url;
use xxhash_rust::xxh3::xxh3_64;

use crate::config::Config;
use crate::dedup::{Deduplicator, Thresholds};
use crate::fetch::{FetchError, FetchOutcome, FetchSlot, FetchedBody, Fetcher, Validators};
use crate::normalize::normalize_entries;
use crate::parse::{ParseError, parse_feed};
use crate::schedule;
use crate::store::write::{FeedToFetch, FetchRecord, IngestReport, NewValidators, PreparedItem};
use crate::store::{Checkpointer, FetchLock, Store, StoreError};
use crate::timefmt::now_unix;

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
    pub shared: usize,
    pub updated: usize,
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
        self.shared += other.shared;
        self.updated += other.updated;
    }

    fn add(&mut self, outcome: &FeedResult) {
        self.feeds += 1;
        match outcome {
            FeedResult::Ingested(r) => {
                self.ok += 1;
                self.new_items += r.new_items;
                self.folded += r.folded;
                self.shared += r.shared;
                self.updated += r.updated;
            }
            FeedResult::Unchanged => self.unchanged += 1,
            FeedResult::Failed(_) => self.failed += 1,
        }
    }
}

impl std::fmt::Display for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} feeds: {} ok, {} unchanged, {} failed; {} new items, {} folded into existing stories, {} already seen via another feed, {} updated",
            self.feeds,
            self.ok,
            self.unchanged,
            self.failed,
            self.new_items,
            self.folded,
            self.shared,
            self.updated
        )
    }
}

/// How one feed's attempt ended.
#[derive(Debug, Clone)]
pub enum FeedResult {
    Ingested(IngestReport),
    Unchanged,
    Failed(String),
}

/// What a fetch task hands the writer.
enum Fetched {
    Items {
        items: Vec<PreparedItem>,
        ttl_minutes: Option<u32>,
        status: u16,
        validators: NewValidators,
    },
    Unchanged {
        status: u16,
        validators: NewValidators,
    },
    Failed {
        error: String,
        status: Option<u16>,
        gone: bool,
    },
}

enum WriterMsg {
    Outcome(Box<OutcomeMsg>),
    Feeds {
        reply: oneshot::Sender<Result<Vec<FeedToFetch>, StoreError>>,
    },
}

struct OutcomeMsg {
    feed: FeedToFetch,
    at: i64,
    fetched: Fetched,
    reply: oneshot::Sender<(FeedResult, i64)>,
}

/// The writer thread: owns the store and the deduplicator.
struct Writer {
    store: Store,
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
            WriterMsg::Outcome(msg) => {
                let OutcomeMsg {
                    feed,
                    at,
                    fetched,
                    reply,
                } = *msg;
                let result = self.record(&feed, at, fetched);
                let _ = reply.send(result);
            }
        }
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
        ttl_minutes: Option<u32>,
    ) -> i64 {
        let mut delay = schedule::next_delay(self.interval(feed), failures);
        if let Some(ttl) = ttl_minutes {
            delay = delay
                .max(Duration::from_secs(u64::from(ttl) * 60))
                .min(schedule::MAX_DELAY);
        }
        // A cheap, deterministic spread: feeds fetched together drift apart.
        let unit = (xxh3_64(&[feed.id.to_le_bytes(), at.to_le_bytes()].concat()) % 10_000) as f64
            / 10_000.0;
        at + schedule::jitter(delay, unit).as_secs() as i64
    }

    fn record(&mut self, feed: &FeedToFetch, at: i64, fetched: Fetched) -> (FeedResult, i64) {
        let (result, next_fetch) = match fetched {
            Fetched::Items {
                items,
                ttl_minutes,
                status,
                validators,
            } => {
                let next_fetch = self.next_fetch(feed, at, 0, ttl_minutes);
                let record = FetchRecord {
                    at,
                    status: Some(status),
                    next_fetch,
                };
                let mut dedup = match self.dedup.take() {
                    Some(dedup) => dedup,
                    None => match self.load_dedup() {
                        Ok(dedup) => dedup,
                        Err(e) => {
                            let error = format!("cannot load the candidate index: {e}");
                            return self.fail(feed, at, error, Some(status), false);
                        }
                    },
                };
                let result = self
                    .store
                    .ingest(feed.id, items, &mut dedup, &record, &validators);
                self.dedup = Some(dedup);
                match result {
                    Ok(report) => (FeedResult::Ingested(report), next_fetch),
                    Err(e) => self.fail(
                        feed,
                        at,
                        format!("cannot store items: {e}"),
                        Some(status),
                        false,
                    ),
                }
            }
            Fetched::Unchanged { status, validators } => {
                let next_fetch = self.next_fetch(feed, at, 0, None);
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
                    ),
                }
            }
            Fetched::Failed {
                error,
                status,
                gone,
            } => self.fail(feed, at, error, status, gone),
        };
        (result, next_fetch)
    }

    fn fail(
        &mut self,
        feed: &FeedToFetch,
        at: i64,
        error: String,
        status: Option<u16>,
        gone: bool,
    ) -> (FeedResult, i64) {
        let next_fetch = self.next_fetch(feed, at, feed.error_count + 1, None);
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

/// A running pipeline: the fetcher and the handle to the writer thread.
pub struct Pipeline {
    fetcher: Arc<Fetcher>,
    parse_slots: Arc<Semaphore>,
    writer_tx: mpsc::Sender<WriterMsg>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    _checkpointer: Checkpointer,
    _lock: FetchLock,
}

impl Pipeline {
    /// Takes the fetch lock, opens and migrates the store, records the configured feeds and
    /// starts the writer and checkpoint threads. The candidate index is rebuilt from the store
    /// when the first new item arrives.
    pub fn start(config: &Config, db_path: &Path) -> Result<Pipeline, PipelineError> {
        let lock = FetchLock::acquire(db_path)?;
        let mut store = Store::open_writer(db_path)?;
        let checkpointer = Checkpointer::start(db_path)?;
        store.sync_config_feeds(&config.feeds, now_unix())?;
        let window = i64::try_from(config.dedup.window.as_secs()).unwrap_or(i64::MAX / 4);
        let fetcher = Arc::new(Fetcher::new(&config.fetch)?);
        let mut writer = Writer {
            store,
            dedup: None,
            thresholds: Thresholds::with_window(window),
            intervals: config
                .feeds
                .iter()
                .map(|f| (f.url.to_string(), config.interval_for(f)))
                .collect(),
            default_interval: config.fetch.interval,
        };
        let (writer_tx, mut writer_rx) = mpsc::channel::<WriterMsg>(64);
        let writer_thread = std::thread::Builder::new()
            .name("feedfold-store".into())
            .spawn(move || {
                while let Some(msg) = writer_rx.blocking_recv() {
                    writer.handle(msg);
                }
            })
            .expect("spawn the store writer thread");
        Ok(Pipeline {
            fetcher,
            parse_slots: Arc::new(Semaphore::new(parse_slots())),
            writer_tx,
            writer_thread: Some(writer_thread),
            _checkpointer: checkpointer,
            _lock: lock,
        })
    }

    pub async fn feeds(&self) -> Result<Vec<FeedToFetch>, PipelineError> {
        let (reply, rx) = oneshot::channel();
        self.writer_tx
            .send(WriterMsg::Feeds { reply })
            .await
            .map_err(|_| PipelineError::WriterGone)?;
        Ok(rx.await.map_err(|_| PipelineError::WriterGone)??)
    }

    /// Fetches and ingests `feeds` concurrently; returns each feed's result and next due time.
    /// On `shutdown`, fetches in flight are abandoned; a feed already handed to the writer
    /// finishes its transaction.
    pub async fn cycle(
        &self,
        feeds: Vec<FeedToFetch>,
        shutdown: &CancellationToken,
        mut on_done: impl FnMut(&FeedToFetch, &FeedResult),
    ) -> Result<(RunReport, Vec<i64>), PipelineError> {
        let mut tasks = tokio::task::JoinSet::new();
        for feed in feeds {
            let fetcher = self.fetcher.clone();
            let parse_slots = self.parse_slots.clone();
            let writer = self.writer_tx.clone();
            let shutdown = shutdown.clone();
            tasks.spawn(async move {
                let (slot, fetched) = tokio::select! {
                    fetched = fetch_and_parse(&fetcher, &parse_slots, &feed) => fetched,
                    () = shutdown.cancelled() => return None,
                };
                let (reply, rx) = oneshot::channel();
                let msg = WriterMsg::Outcome(Box::new(OutcomeMsg {
                    feed: feed.clone(),
                    at: now_unix(),
                    fetched,
                    reply,
                }));
                writer.send(msg).await.ok()?;
                // The writer has it: the fetch slot is free for the next feed.
                drop(slot);
                let (result, next) = rx.await.ok()?;
                Some((feed, result, next))
            });
        }
        let mut report = RunReport::default();
        let mut next_due = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Some((feed, result, next))) => {
                    report.add(&result);
                    on_done(&feed, &result);
                    next_due.push(next);
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "a fetch task failed"),
            }
        }
        Ok((report, next_due))
    }

    /// Stops the writer after the messages in hand are done.
    pub fn finish(mut self) {
        drop(self.writer_tx);
        if let Some(handle) = self.writer_thread.take() {
            let _ = handle.join();
        }
    }
}

/// How many documents are parsed at once: one per core. Parsing is CPU-bound, so more would only
/// preempt the writer thread, and a large body peaks near seven times its size in memory while it
/// is parsed, so the bound also bounds memory.
fn parse_slots() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Fetches and parses one feed. The fetch slot comes back with the result: the caller holds it
/// until the writer has the result, which bounds the results waiting in memory.
async fn fetch_and_parse(
    fetcher: &Fetcher,
    parse_slots: &Semaphore,
    feed: &FeedToFetch,
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
                },
            );
        }
    };
    let validators = Validators {
        etag: feed.etag.clone(),
        last_modified: feed.last_modified.clone(),
    };
    let (slot, outcome) = fetcher.fetch(&url, &validators).await;
    let fetched = match outcome {
        Ok(FetchOutcome::NotModified { validators }) => Fetched::Unchanged {
            status: 304,
            validators: NewValidators {
                etag: validators.etag,
                last_modified: validators.last_modified,
                ..NewValidators::default()
            },
        },
        Ok(FetchOutcome::Body(body)) => parse_body(*body, feed, parse_slots).await,
        Err(e) => Fetched::Failed {
            status: e.status(),
            gone: matches!(e, FetchError::Gone { .. }),
            error: e.to_string(),
        },
    };
    (Some(slot), fetched)
}

/// Parses, normalizes and fingerprints a fetched body on the blocking pool, one document per
/// parse slot; the same bytes as last time are not parsed again.
async fn parse_body(body: FetchedBody, feed: &FeedToFetch, parse_slots: &Semaphore) -> Fetched {
    let body_hash = xxh3_64(&body.body) as i64;
    let validators = NewValidators {
        etag: body.validators.etag.clone(),
        last_modified: body.validators.last_modified.clone(),
        body_hash: Some(body_hash),
        moved_to: body.moved_permanently_to.as_ref().map(Url::to_string),
    };
    if feed.body_hash == Some(body_hash) {
        return Fetched::Unchanged {
            status: body.status,
            validators,
        };
    }
    let status = body.status;
    let url = body.final_url.to_string();
    let base = url.clone();
    let fetched_at = now_unix();
    let _parse_slot = parse_slots.acquire().await.expect("semaphore never closed");
    let parsed = tokio::task::spawn_blocking(move || {
        parse_feed(&body.body, &base).map(|p| {
            let items = normalize_entries(&p.entries, fetched_at);
            (
                p.ttl_minutes,
                items.into_iter().map(PreparedItem::new).collect(),
            )
        })
    })
    .await;
    match parsed {
        Ok(Ok((ttl_minutes, items))) => Fetched::Items {
            items,
            ttl_minutes,
            status,
            validators,
        },
        Ok(Err(e)) => Fetched::Failed {
            error: format!("{e} ({url})"),
            status: Some(status),
            gone: false,
        },
        // A panic outside feed-rs (in normalize) is contained here, on this feed.
        Err(join) => Fetched::Failed {
            error: format!("{} ({url})", ParseError::Panicked(join.to_string())),
            status: Some(status),
            gone: false,
        },
    }
}

/// `feedfold run --once`: every feed that is not gone, now, whatever its schedule.
pub async fn run_once(
    config: &Config,
    db_path: &Path,
    shutdown: &CancellationToken,
    on_done: impl FnMut(&FeedToFetch, &FeedResult),
) -> Result<RunReport, PipelineError> {
    let pipeline = Pipeline::start(config, db_path)?;
    let feeds = pipeline.feeds().await?;
    let (report, _) = pipeline.cycle(feeds, shutdown, on_done).await?;
    pipeline.finish();
    Ok(report)
}

/// `feedfold run`: fetch feeds as they fall due until `shutdown`.
pub async fn run_daemon(
    config: &Config,
    db_path: &Path,
    shutdown: CancellationToken,
) -> Result<RunReport, PipelineError> {
    let pipeline = Pipeline::start(config, db_path)?;
    tracing::info!(feeds = config.feeds.len(), store = %db_path.display(), "feedfold started");
    let mut total = RunReport::default();
    while !shutdown.is_cancelled() {
        let now = now_unix();
        let feeds = pipeline.feeds().await?;
        let (due, waiting): (Vec<_>, Vec<_>) = feeds
            .into_iter()
            .partition(|f| f.next_fetch.is_none_or(|t| t <= now));
        let mut next_wake: Option<i64> = waiting.iter().filter_map(|f| f.next_fetch).min();
        if !due.is_empty() {
            let (report, next_due) = pipeline
                .cycle(due, &shutdown, |feed, result| {
                    if let FeedResult::Ingested(r) = result {
                        tracing::info!(feed = %feed.url, new = r.new_items, folded = r.folded, "feed ingested");
                    }
                })
                .await?;
            tracing::info!("cycle done: {report}");
            total.merge(&report);
            next_wake = next_due.into_iter().chain(next_wake).min();
        }
        let sleep_secs = next_wake.map_or(60, |t| (t - now_unix()).clamp(1, 3600)) as u64;
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(sleep_secs)) => {}
            () = shutdown.cancelled() => {}
        }
    }
    tracing::info!("stopping: {total}");
    pipeline.finish();
    Ok(total)
}
