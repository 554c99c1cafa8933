//! The daemon loop (`feedfold run`): keeps every feed's next-due time, starts an attempt for each
//! feed as it falls due (the pipeline's limits decide how many run at once), and sleeps until the
//! next one. Runs until `shutdown`: then it starts nothing new, lets the transaction in hand
//! finish and returns.
//!
//! Under systemd it says READY once the store is migrated, keeps a STATUS line, and pings the
//! watchdog only while both the loop and the store writer are making progress: a stalled daemon
//! stops pinging and systemd restarts it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::pipeline::{FeedResult, Pipeline, PipelineError, Round, RunReport};
use crate::store::write::FeedToFetch;
use crate::systemd::Notifier;

/// The longest the loop sleeps without looking at the clock again (a suspended laptop or a
/// corrected wall clock is noticed within this).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How often retention runs (and once at start).
const PRUNE_EVERY: i64 = 6 * 3600;

/// How often the store is asked for feeds added while the daemon runs (`opml import`).
const NEW_FEEDS_EVERY: i64 = 60;

/// How often the STATUS line is refreshed when systemd asks for no watchdog.
const STATUS_EVERY: Duration = Duration::from_secs(15);

/// `feedfold run`: fetch feeds as they fall due until `shutdown`.
pub async fn run_daemon(
    config: &Config,
    db_path: &Path,
    shutdown: CancellationToken,
    notifier: &Notifier,
) -> Result<RunReport, PipelineError> {
    let pipeline = Pipeline::start(config, db_path)?;
    tracing::info!(feeds = config.feeds.len(), store = %db_path.display(), "feedfold started");
    // Alerts go out apart from ingest: a slow or failing sink never holds up a fetch.
    let delivery = tokio::spawn(crate::alerts::delivery_loop(
        config.clone(),
        db_path.to_path_buf(),
        shutdown.clone(),
    ));
    let result = drive(&pipeline, &shutdown, notifier).await;
    shutdown.cancel();
    let _ = delivery.await;
    pipeline.finish();
    if let Ok(total) = &result {
        tracing::info!("stopped: {total}");
    }
    result
}

/// What the loop knows between attempts.
#[derive(Default)]
struct Schedule {
    feeds: BTreeMap<i64, FeedToFetch>,
    in_flight: HashSet<i64>,
    gone: usize,
}

impl Schedule {
    /// Feeds due at `now` that have no attempt running.
    fn due(&self, now: i64) -> Vec<FeedToFetch> {
        self.feeds
            .values()
            .filter(|f| !self.in_flight.contains(&f.id) && f.next_fetch.is_none_or(|t| t <= now))
            .cloned()
            .collect()
    }

    /// Feeds the store lists that the loop does not know yet (added by `opml import` while it
    /// runs); feeds it knows keep the schedule the loop has for them.
    fn add_new_feeds(&mut self, feeds: Vec<FeedToFetch>) {
        for feed in feeds {
            if !self.feeds.contains_key(&feed.id) && !self.in_flight.contains(&feed.id) {
                tracing::info!(feed = %feed.url, "new feed in the store; polling it");
                self.feeds.insert(feed.id, feed);
            }
        }
    }

    /// The earliest due time among feeds that are not being fetched.
    fn next_wake(&self) -> Option<i64> {
        self.feeds
            .values()
            .filter(|f| !self.in_flight.contains(&f.id))
            .filter_map(|f| f.next_fetch)
            .min()
    }

    fn status(&self, now: i64) -> String {
        let in_error = self.feeds.values().filter(|f| f.error_count > 0).count();
        let due_soon = self
            .feeds
            .values()
            .filter(|f| !self.in_flight.contains(&f.id))
            .filter(|f| f.next_fetch.is_none_or(|t| t <= now + 300))
            .count();
        format!(
            "{} feeds polled: {} fetching, {} due within 5 min, {} in error, {} gone",
            self.feeds.len(),
            self.in_flight.len(),
            due_soon,
            in_error,
            self.gone
        )
    }
}

/// The loop itself, on whatever clock and source `pipeline` was built with.
pub(crate) async fn drive(
    pipeline: &Pipeline,
    shutdown: &CancellationToken,
    notifier: &Notifier,
) -> Result<RunReport, PipelineError> {
    let clock = pipeline.clock();
    let mut schedule = Schedule {
        feeds: pipeline
            .feeds()
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect(),
        ..Schedule::default()
    };
    notifier.ready(&schedule.status(clock.now()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut task_feed: HashMap<tokio::task::Id, i64> = HashMap::new();
    let mut total = RunReport::default();
    let tick_every = notifier
        .watchdog()
        .map_or(STATUS_EVERY, |w| (w / 3).max(Duration::from_millis(50)));
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut writer_ping: Option<oneshot::Receiver<()>> = None;
    let mut next_prune = clock.now();
    let mut next_feed_check = clock.now() + NEW_FEEDS_EVERY;
    while !shutdown.is_cancelled() {
        let now = clock.now();
        // The feeds due at one look are one round: stored together as far as the writer's
        // limits allow (a daemon's first look finds every feed due).
        let round = Round::default();
        for feed in schedule.due(now) {
            schedule.in_flight.insert(feed.id);
            let id = feed.id;
            let handle = tasks.spawn(pipeline.attempt(feed, shutdown.clone(), &round));
            task_feed.insert(handle.id(), id);
        }
        let sleep_for = schedule.next_wake().map_or(MAX_SLEEP, |t| {
            Duration::from_secs((t - now).max(1) as u64).min(MAX_SLEEP)
        });
        tokio::select! {
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let task_id = match &joined {
                    Ok((id, _)) => *id,
                    Err(e) => e.id(),
                };
                if let Some(feed_id) = task_feed.remove(&task_id) {
                    schedule.in_flight.remove(&feed_id);
                }
                match joined {
                    Ok((_, Some(attempt))) => {
                        total.add(&attempt.result);
                        if let FeedResult::Ingested(r) = &attempt.result {
                            tracing::info!(feed = %attempt.feed.url, new = r.new_items, folded = r.folded, merged = r.merged, "feed ingested");
                        }
                        match attempt.updated {
                            Some(feed) => {
                                schedule.feeds.insert(feed.id, feed);
                            }
                            None => {
                                schedule.feeds.remove(&attempt.feed.id);
                                if matches!(attempt.result, FeedResult::Failed(_)) {
                                    schedule.gone += 1;
                                }
                            }
                        }
                    }
                    Ok((_, None)) => {}
                    Err(e) => tracing::error!(error = %e, "a fetch task failed"),
                }
            }
            () = tokio::time::sleep(sleep_for) => {}
            _ = tick.tick() => {
                // The loop got here, so it is alive; the writer proves it by answering the
                // previous ping. Only both together earn a watchdog ping.
                let writer_alive = match writer_ping.as_mut().map(|rx| rx.try_recv()) {
                    None | Some(Ok(())) => true,
                    Some(Err(oneshot::error::TryRecvError::Empty)) => false,
                    Some(Err(oneshot::error::TryRecvError::Closed)) => return Err(PipelineError::WriterGone),
                };
                if writer_alive {
                    if notifier.watchdog().is_some() {
                        notifier.watchdog_ping();
                    }
                    writer_ping = Some(pipeline.ping().await?);
                } else {
                    tracing::warn!("the store writer has not answered for {tick_every:?}; withholding the watchdog ping");
                }
                if clock.now() >= next_feed_check {
                    next_feed_check = clock.now() + NEW_FEEDS_EVERY;
                    schedule.add_new_feeds(pipeline.feeds().await?);
                }
                notifier.status(&schedule.status(clock.now()));
                if clock.now() >= next_prune {
                    next_prune = clock.now() + PRUNE_EVERY;
                    if let Err(e) = pipeline.prune().await {
                        tracing::error!(error = %e, "retention failed; it runs again later");
                    }
                }
            }
            () = shutdown.cancelled() => {}
        }
    }
    notifier.stopping("stopping: finishing the transaction in hand");
    // Attempts still fetching see the cancellation and return at once; one already with the
    // writer finishes its transaction.
    while let Some(joined) = tasks.join_next().await {
        if let Ok(Some(attempt)) = joined {
            total.add(&attempt.result);
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    //! The loop on a paused tokio clock: a simulated day passes in milliseconds, with the real
    //! writer and a real SQLite store; only the network is scripted.

    use std::sync::{Arc, Mutex};

    use tokio::time::Instant;
    use url::Url;

    use super::*;
    use crate::fetch::{FetchError, FetchOutcome, FetchSlot, Validators};
    use crate::pipeline::{Clock, FeedSource, SourceFuture};

    type Answer = Box<dyn Fn() -> Result<FetchOutcome, FetchError> + Send + Sync>;

    /// A scripted server: one fixed answer per URL, and the (simulated) time of every request.
    struct Scripted {
        answers: HashMap<String, Answer>,
        requests: Mutex<HashMap<String, Vec<Instant>>>,
    }

    impl FeedSource for Scripted {
        fn fetch<'a>(&'a self, url: &'a Url, _validators: &'a Validators) -> SourceFuture<'a> {
            Box::pin(async move {
                self.requests
                    .lock()
                    .unwrap()
                    .entry(url.to_string())
                    .or_default()
                    .push(Instant::now());
                let answer = &self.answers[url.as_str()];
                (None::<FetchSlot>, answer())
            })
        }
    }

    const START: i64 = 1_800_000_000;
    const HOUR: u64 = 3600;

    /// Runs the daemon loop for `hours` of simulated time over `answers` (30 min interval);
    /// returns each URL's request offsets in seconds from the start, and the store's folder.
    async fn simulate(
        answers: Vec<(&str, Answer)>,
        hours: u64,
    ) -> (HashMap<String, Vec<u64>>, tempfile::TempDir) {
        let configured = answers.len();
        simulate_with(answers, configured, hours, None).await
    }

    /// Something done to the store from outside (another process) after this many seconds.
    type Meanwhile = (u64, Box<dyn FnOnce(&Path) + Send>);

    /// [`simulate`] where only the first `configured` answers are feeds of the config, and
    /// `meanwhile` runs during the simulation.
    async fn simulate_with(
        answers: Vec<(&str, Answer)>,
        configured: usize,
        hours: u64,
        meanwhile: Option<Meanwhile>,
    ) -> (HashMap<String, Vec<u64>>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut toml = String::from("[fetch]\ninterval = \"30m\"\n");
        for (url, _) in answers.iter().take(configured) {
            toml.push_str(&format!("[[feeds]]\nurl = \"{url}\"\n"));
        }
        let config = Config::from_toml(&toml, &dir.path().join("feedfold.toml")).unwrap();
        let source = Arc::new(Scripted {
            answers: answers
                .into_iter()
                .map(|(url, answer)| (Url::parse(url).unwrap().to_string(), answer))
                .collect(),
            requests: Mutex::new(HashMap::new()),
        });
        let db = dir.path().join("feedfold.db");
        let pipeline =
            Pipeline::start_inline(&config, &db, source.clone(), Clock::tokio_from(START)).unwrap();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let start = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(hours * HOUR)).await;
            stop.cancel();
        });
        if let Some((after, action)) = meanwhile {
            let db = db.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(after)).await;
                action(&db);
            });
        }
        drive(&pipeline, &shutdown, &Notifier::disabled())
            .await
            .unwrap();
        pipeline.finish();
        let requests = source.requests.lock().unwrap();
        let offsets = requests
            .iter()
            .map(|(url, times)| {
                let secs = times.iter().map(|t| (*t - start).as_secs()).collect();
                (url.clone(), secs)
            })
            .collect();
        (offsets, dir)
    }

    fn status(url: &str, status: u16) -> Answer {
        let url = url.to_string();
        Box::new(move || {
            Err(FetchError::Status {
                url: url.clone(),
                status,
            })
        })
    }

    fn gaps(times: &[u64]) -> Vec<u64> {
        times.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_feed_imported_while_running_is_polled_within_a_minute() {
        let configured = "https://configured.example/feed";
        let imported = "https://imported.example/feed";
        let unchanged = || -> Answer {
            Box::new(|| {
                Ok(FetchOutcome::NotModified {
                    validators: Validators::default(),
                    fresh_for: None,
                })
            })
        };
        let import: Meanwhile = (
            600,
            Box::new(move |db: &Path| {
                let mut store = crate::store::Store::open(db).unwrap();
                let feed = crate::opml::OpmlFeed {
                    url: imported.to_string(),
                    name: None,
                    tags: vec![],
                };
                assert_eq!(store.import_feeds(&[feed], START + 600).unwrap().len(), 1);
            }),
        );
        let (requests, _dir) = simulate_with(
            vec![(configured, unchanged()), (imported, unchanged())],
            1,
            2,
            Some(import),
        )
        .await;
        let times = &requests[imported];
        assert!(
            times[0] >= 600 && times[0] <= 600 + 75,
            "first request at {times:?}"
        );
        // Then on its interval like any other feed.
        assert!((3..=5).contains(&times.len()), "{times:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_feed_backs_off_doubling_and_is_never_dropped() {
        let url = "https://down.example/feed";
        let (requests, dir) = simulate(vec![(url, status(url, 500))], 24).await;
        let times = &requests[url];
        // 0, 0.5 h, 1.5 h, 3.5 h, 7.5 h, 15.5 h (±10 %); the next would be near 31.5 h.
        assert_eq!(times.len(), 6, "requests at {times:?}");
        assert_eq!(times[0], 0);
        for (n, gap) in gaps(times).into_iter().enumerate() {
            let expected = 1800 * (1 << n);
            assert!(
                gap * 10 >= expected * 9 && gap * 10 <= expected * 11,
                "gap {n} is {gap}s, expected {expected}s ±10 %: {times:?}"
            );
        }
        let store = crate::store::Store::open_existing(&dir.path().join("feedfold.db")).unwrap();
        let feed = &store.feed_statuses().unwrap()[0];
        assert_eq!(feed.error_count, 6);
        assert_eq!(feed.state, "error");
        assert!(feed.last_error.as_deref().unwrap().contains("HTTP 500"));
    }

    #[tokio::test(start_paused = true)]
    async fn server_hints_stretch_the_interval_and_gone_stops_polling() {
        let fresh = "https://fresh.example/feed";
        let slow = "https://slow.example/feed";
        let gone = "https://gone.example/feed";
        let plain = "https://plain.example/feed";
        let not_modified = |max_age: u64| -> Answer {
            Box::new(move || {
                Ok(FetchOutcome::NotModified {
                    validators: Validators::default(),
                    fresh_for: Some(Duration::from_secs(max_age)),
                })
            })
        };
        let slow_url = slow.to_string();
        let gone_url = gone.to_string();
        let (requests, dir) = simulate(
            vec![
                // Cache-Control: max-age=7200 on every 304.
                (fresh, not_modified(2 * HOUR)),
                // 429 with Retry-After: 3 hours.
                (
                    slow,
                    Box::new(move || {
                        Err(FetchError::RetryLater {
                            url: slow_url.clone(),
                            status: 429,
                            after: Duration::from_secs(3 * HOUR),
                        })
                    }),
                ),
                (
                    gone,
                    Box::new(move || {
                        Err(FetchError::Gone {
                            url: gone_url.clone(),
                        })
                    }),
                ),
                // A shorter max-age than the interval changes nothing.
                (plain, not_modified(60)),
            ],
            24,
        )
        .await;
        let fresh_times = &requests[fresh];
        assert!(
            gaps(fresh_times)
                .iter()
                .all(|g| *g >= 2 * HOUR && *g <= 2 * HOUR * 11 / 10),
            "{fresh_times:?}"
        );
        assert!((11..=13).contains(&fresh_times.len()), "{fresh_times:?}");
        let slow_times = &requests[slow];
        assert!(
            gaps(slow_times).iter().all(|g| *g >= 3 * HOUR),
            "{slow_times:?}"
        );
        assert!(slow_times.len() >= 4, "{slow_times:?}");
        assert_eq!(requests[gone], vec![0], "a gone feed is asked once");
        let plain_times = &requests[plain];
        assert!((44..=53).contains(&plain_times.len()), "{plain_times:?}");
        let store = crate::store::Store::open_existing(&dir.path().join("feedfold.db")).unwrap();
        let statuses = store.feed_statuses().unwrap();
        let state = |url: &str| {
            statuses
                .iter()
                .find(|f| f.url == url)
                .map(|f| f.state.clone())
                .unwrap()
        };
        assert_eq!(state(gone), "gone");
        assert_eq!(state(fresh), "ok");
    }
}
