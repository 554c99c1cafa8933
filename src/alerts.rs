//! Alert delivery: the outbox that ingest fills (`deliveries` rows written in the same
//! transaction as the items that raised them) is worked through here, apart from ingest, so a
//! failing sink never holds up fetching or the other sinks.
//!
//! At least once: a delivery is marked delivered only after its sink accepted it, so a crash in
//! between sends it again; every payload carries a stable `idempotency_key` for the receiver to
//! drop repeats. A failure is retried with backoff (a minute, doubling, at most six hours) and
//! marked `failed` only after at least 10 attempts over at least 24 hours (DESIGN §5).
//!
//! Sinks: `log` (one structured line), `webhook` (POST of the JSON payload, or of its ntfy or
//! Slack form; optional headers and HMAC signature), `exec` (a program run directly, never
//! through a shell, with the payload on its standard input as one line of JSON, and a
//! timeout). Feed text only ever travels inside a JSON document.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, SinkConfig, SinkKind, WebhookFormat};
use crate::fetch::Poster;
use crate::store::alerts::{AlertView, DueDelivery};
use crate::store::{Store, StoreError};
use crate::timefmt::{now_unix, rfc3339};

/// Attempts before a delivery may be given up, and the least time it must have been tried for.
const GIVE_UP_AFTER_ATTEMPTS: i64 = 10;
const GIVE_UP_AFTER_SECS: i64 = 24 * 3600;
const FIRST_RETRY_SECS: i64 = 60;
const MAX_RETRY_SECS: i64 = 6 * 3600;
/// How long an `exec` sink's program may run.
const EXEC_TIMEOUT: Duration = Duration::from_secs(30);
/// Deliveries taken from the outbox at a time.
const BATCH: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// The sinks, ready to send. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct Deliverer {
    sinks: HashMap<String, SinkConfig>,
    poster: Poster,
}

impl Deliverer {
    pub fn new(config: &Config) -> Result<Deliverer, crate::fetch::FetchError> {
        Ok(Deliverer {
            sinks: config
                .sinks
                .iter()
                .map(|s| (s.name.clone(), s.clone()))
                .collect(),
            poster: Poster::new(&config.fetch)?,
        })
    }

    /// Sends one payload to one sink.
    async fn send(&self, sink: &str, payload: &serde_json::Value) -> Result<(), String> {
        let Some(config) = self.sinks.get(sink) else {
            return Err(format!(
                "no sink named {sink:?} in the config any more; add it back or the alert stays pending"
            ));
        };
        match &config.kind {
            SinkKind::Log => {
                tracing::info!(target: "feedfold::alert", sink = %sink, alert = %payload, "alert");
                Ok(())
            }
            SinkKind::Webhook {
                url,
                format,
                headers,
                secret,
            } => {
                let key = payload["idempotency_key"].as_str().unwrap_or_default();
                let (post_to, body) = webhook_body(url, *format, payload);
                let mut all = vec![
                    ("content-type".to_string(), "application/json".to_string()),
                    ("idempotency-key".to_string(), key.to_string()),
                ];
                if let Some(secret) = secret {
                    all.push((
                        "x-feedfold-signature".to_string(),
                        signature(&secret.0, &body),
                    ));
                }
                all.extend(headers.iter().cloned());
                self.poster
                    .post(&post_to, &all, body)
                    .await
                    .map_err(|e| e.to_string())
            }
            SinkKind::Exec { command } => {
                // One line of JSON: a script that reads a line (`read -r payload`) gets it
                // whole, and appending the input to a file makes JSON Lines. (Without the
                // newline `read` reported end of input, and appended payloads ran together.)
                let mut body = serde_json::to_vec(payload).expect("JSON values serialize");
                body.push(b'\n');
                run_exec(command, &body).await
            }
        }
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`: the receiver recomputes it to
/// know the request came from this daemon.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Where a webhook posts and what, for its format. ntfy gets its JSON publishing form (posted to
/// the server's root with the topic inside), which keeps feed text out of HTTP headers.
fn webhook_body(
    url: &url::Url,
    format: WebhookFormat,
    payload: &serde_json::Value,
) -> (url::Url, Vec<u8>) {
    let text = |p: &serde_json::Value| p.as_str().unwrap_or_default().to_string();
    let sources = payload["sources"].as_array().map_or(0, Vec::len);
    let headline = format!(
        "{} ({}): {}",
        text(&payload["watch"]),
        if payload["kind"] == "new" {
            "new story".to_string()
        } else {
            text(&payload["kind"])
        },
        text(&payload["title"])
    );
    match format {
        WebhookFormat::Json => (url.clone(), serde_json::to_vec(payload).expect("JSON")),
        WebhookFormat::Ntfy => {
            let topic = url
                .path_segments()
                .and_then(|mut s| s.next_back())
                .unwrap_or_default()
                .to_string();
            let mut root = url.clone();
            root.set_path("/");
            root.set_query(None);
            let body = serde_json::json!({
                "topic": topic,
                "title": format!("feedfold: {}", text(&payload["watch"])),
                "message": format!("{}\n{} outlet(s)", text(&payload["title"]), sources),
                "click": payload["url"],
                "tags": ["newspaper"],
            });
            (root, serde_json::to_vec(&body).expect("JSON"))
        }
        WebhookFormat::Slack => {
            // Slack's control characters in text: &, < and >.
            let escape = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            };
            let line = match payload["url"].as_str() {
                Some(link) => format!("<{}|{}>", escape(link), escape(&headline)),
                None => escape(&headline),
            };
            let body = serde_json::json!({
                "text": format!("{line} ({sources} outlet(s))"),
            });
            (url.clone(), serde_json::to_vec(&body).expect("JSON"))
        }
    }
}

/// Runs `command` (program and arguments, no shell) with `input` on its standard input.
async fn run_exec(command: &[String], input: &[u8]) -> Result<(), String> {
    let (program, args) = command.split_first().ok_or("empty command")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        // The program is not the service: it must not talk to systemd in its name.
        .env_remove("NOTIFY_SOCKET")
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {program:?}: {e}"))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let run = async {
        // A program that does not read its input may close it early: not an error by itself.
        let _ = stdin.write_all(input).await;
        drop(stdin);
        child.wait_with_output().await
    };
    match tokio::time::timeout(EXEC_TIMEOUT, run).await {
        Err(_) => Err(format!(
            "{program:?} did not finish within {}s",
            EXEC_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!("{program:?} failed: {e}")),
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: String = stderr
                .trim()
                .chars()
                .rev()
                .take(200)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(format!("{program:?} exited with {}: {tail}", output.status))
        }
    }
}

/// The JSON document every sink gets (DESIGN §5).
pub fn payload(alert: &AlertView, sources: &[(String, Option<String>)]) -> serde_json::Value {
    serde_json::json!({
        "idempotency_key": format!(
            "feedfold:{}:{}:{}:{}",
            alert.watch, alert.cluster, alert.kind, alert.threshold
        ),
        "watch": alert.watch,
        "kind": alert.kind,
        "cluster": alert.cluster,
        "title": alert.title,
        "url": alert.url,
        "sources": sources
            .iter()
            .map(|(feed, url)| serde_json::json!({"feed": feed, "url": url}))
            .collect::<Vec<_>>(),
        "matched": alert.matched,
        "created": rfc3339(alert.created),
    })
}

/// When a delivery that has now failed `attempts` times is tried again; `None` to give up.
pub fn next_attempt(attempts: i64, first_attempt: i64, now: i64) -> Option<i64> {
    if attempts >= GIVE_UP_AFTER_ATTEMPTS && now - first_attempt >= GIVE_UP_AFTER_SECS {
        return None;
    }
    let shift = (attempts - 1).clamp(0, 20) as u32;
    let delay = FIRST_RETRY_SECS
        .saturating_mul(1 << shift)
        .min(MAX_RETRY_SECS);
    Some(now + delay)
}

/// Runs `f` on the store on the blocking pool (SQLite waits on locks; the runtime must not).
async fn on_store<T: Send + 'static>(
    store: Store,
    f: impl FnOnce(&mut Store) -> T + Send + 'static,
) -> (Store, T) {
    tokio::task::spawn_blocking(move || {
        let mut store = store;
        let out = f(&mut store);
        (store, out)
    })
    .await
    .expect("a store task does not panic")
}

/// Works through `sink`'s due deliveries (every pending one with `ignore_backoff`) until none is
/// left or `deadline` passes. Each sink has its own worker and its own connection, so a sink
/// that hangs until its timeout holds up only its own alerts.
pub async fn deliver_due(
    store: Store,
    deliverer: &Deliverer,
    sink: &str,
    ignore_backoff: bool,
    deadline: tokio::time::Instant,
) -> (Store, Result<DeliveryReport, StoreError>) {
    let mut report = DeliveryReport::default();
    let mut store = store;
    // With `ignore_backoff` a failed delivery stays due: each is tried once per call.
    let mut tried: std::collections::HashSet<i64> = Default::default();
    loop {
        let now = now_unix();
        let due;
        let sink_name = sink.to_string();
        (store, due) = on_store(store, move |s| {
            s.due_deliveries(&sink_name, now, ignore_backoff, BATCH)
        })
        .await;
        let due: Vec<DueDelivery> = match due {
            Ok(due) => due
                .into_iter()
                .filter(|d| !tried.contains(&d.alert_id))
                .collect(),
            Err(e) => return (store, Err(e)),
        };
        if due.is_empty() || tokio::time::Instant::now() >= deadline {
            return (store, Ok(report));
        }
        // Alerts held by a watch's rate cap go out together: one digest per watch and digest
        // time.
        let mut groups: Vec<Vec<DueDelivery>> = Vec::new();
        for d in due {
            let joins = d.alert.digest_at.and_then(|at| {
                groups.iter().position(|g| {
                    g[0].alert.watch == d.alert.watch && g[0].alert.digest_at == Some(at)
                })
            });
            match joins {
                Some(i) => groups[i].push(d),
                None => groups.push(vec![d]),
            }
        }
        for group in groups {
            if tokio::time::Instant::now() >= deadline {
                return (store, Ok(report));
            }
            let mut stories = Vec::with_capacity(group.len());
            for d in &group {
                tried.insert(d.alert_id);
                let cluster = d.alert.cluster;
                let sources;
                (store, sources) = on_store(store, move |s| s.story_sources(cluster)).await;
                stories.push(payload(&d.alert, &sources.unwrap_or_default()));
            }
            let first = &group[0];
            let body = match first.alert.digest_at {
                Some(at) => digest_payload(&first.alert.watch, at, &stories),
                None => stories.pop().expect("one story"),
            };
            let sent = deliverer.send(sink, &body).await;
            let now = now_unix();
            for d in group {
                let alert_id = d.alert_id;
                let sink_name = sink.to_string();
                let outcome = match &sent {
                    Ok(()) => {
                        report.delivered += 1;
                        Ok(())
                    }
                    Err(error) => {
                        let next =
                            next_attempt(d.attempts + 1, d.first_attempt.unwrap_or(now), now);
                        if next.is_some() {
                            report.retrying += 1;
                        } else {
                            report.failed += 1;
                        }
                        tracing::warn!(sink = %sink, alert = alert_id, error = %error, "alert delivery failed");
                        Err((error.clone(), next))
                    }
                };
                let recorded;
                (store, recorded) = on_store(store, move |s| {
                    s.record_delivery(
                        alert_id,
                        &sink_name,
                        now,
                        outcome
                            .as_ref()
                            .map(|_| ())
                            .map_err(|(e, n)| (e.as_str(), *n)),
                    )
                })
                .await;
                if let Err(e) = recorded {
                    return (store, Err(e));
                }
            }
        }
    }
}

/// One document for the alerts a watch's rate cap held back: the stories, each as its own
/// alert's payload would carry it.
pub fn digest_payload(
    watch: &str,
    digest_at: i64,
    stories: &[serde_json::Value],
) -> serde_json::Value {
    serde_json::json!({
        "idempotency_key": format!("feedfold:{watch}:digest:{digest_at}"),
        "watch": watch,
        "kind": "digest",
        "title": format!("{} more stories for {watch}", stories.len()),
        "url": serde_json::Value::Null,
        "sources": [],
        "matched": [],
        "stories": stories,
        "created": rfc3339(digest_at),
    })
}

/// `run --once`: delivers what is pending, whatever its backoff, within `limit`; every sink at
/// once.
pub async fn deliver_pending(
    config: &Config,
    db_path: &Path,
    limit: Duration,
) -> Result<DeliveryReport, anyhow::Error> {
    let deliverer = Deliverer::new(config)?;
    let deadline = tokio::time::Instant::now() + limit;
    let mut workers = tokio::task::JoinSet::new();
    for sink in config.sinks.iter().map(|s| s.name.clone()) {
        let store = Store::open_existing(db_path)?;
        let deliverer = deliverer.clone();
        workers.spawn(async move {
            deliver_due(store, &deliverer, &sink, true, deadline)
                .await
                .1
        });
    }
    let mut total = DeliveryReport::default();
    while let Some(joined) = workers.join_next().await {
        let report = joined.expect("a delivery worker does not panic")?;
        total.delivered += report.delivered;
        total.retrying += report.retrying;
        total.failed += report.failed;
    }
    Ok(total)
}

/// The daemon's delivery: a worker per sink, each every few seconds working through what is
/// due, until `shutdown`.
pub async fn delivery_loop(
    config: Config,
    db_path: std::path::PathBuf,
    shutdown: CancellationToken,
) {
    let deliverer = match Deliverer::new(&config) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "alert delivery cannot start");
            return;
        }
    };
    let mut workers = tokio::task::JoinSet::new();
    for sink in config.sinks.iter().map(|s| s.name.clone()) {
        let deliverer = deliverer.clone();
        let db_path = db_path.clone();
        let shutdown = shutdown.clone();
        workers.spawn(async move { sink_worker(deliverer, sink, db_path, shutdown).await });
    }
    while workers.join_next().await.is_some() {}
}

async fn sink_worker(
    deliverer: Deliverer,
    sink: String,
    db_path: std::path::PathBuf,
    shutdown: CancellationToken,
) {
    let mut store = match Store::open_existing(&db_path) {
        Ok(store) => store,
        Err(e) => {
            tracing::error!(sink = %sink, error = %e, "alert delivery cannot open the store");
            return;
        }
    };
    let every = Duration::from_secs(5);
    while !shutdown.is_cancelled() {
        let deadline = tokio::time::Instant::now() + every * 6;
        let report;
        (store, report) = tokio::select! {
            out = deliver_due(store, &deliverer, &sink, false, deadline) => out,
            () = shutdown.cancelled() => return,
        };
        match report {
            Ok(r) if r != DeliveryReport::default() => {
                tracing::info!(sink = %sink, delivered = r.delivered, retrying = r.retrying, failed = r.failed, "alerts delivered");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(sink = %sink, error = %e, "alert delivery: store error"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_give_up_only_after_ten_attempts_and_a_day() {
        let start = 1_000_000;
        assert_eq!(next_attempt(1, start, start), Some(start + 60));
        assert_eq!(next_attempt(2, start, start), Some(start + 120));
        assert_eq!(
            next_attempt(12, start, start + 3600),
            Some(start + 3600 + 6 * 3600)
        );
        // Ten attempts within the day: keep trying.
        assert!(next_attempt(10, start, start + 20 * 3600).is_some());
        // A day of trying, but fewer than ten attempts: keep trying.
        assert!(next_attempt(5, start, start + 30 * 3600).is_some());
        assert_eq!(next_attempt(10, start, start + 24 * 3600), None);
    }

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn ntfy_and_slack_bodies_carry_the_facts_and_escape_them() {
        let payload = serde_json::json!({
            "watch": "nato", "kind": "new", "cluster": 7,
            "title": "Allies <meet> & \"talk\"\nagain", "url": "https://wire.example/1",
            "sources": [{"feed": "a", "url": null}, {"feed": "b", "url": null}],
        });
        let url = url::Url::parse("https://ntfy.example/alerts-topic?x=1").unwrap();
        let (to, body) = webhook_body(&url, WebhookFormat::Ntfy, &payload);
        assert_eq!(to.as_str(), "https://ntfy.example/");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["topic"], "alerts-topic");
        assert_eq!(body["click"], "https://wire.example/1");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Allies <meet> & \"talk\"\nagain\n2 outlet")
        );
        let hook = url::Url::parse("https://hooks.example/T/B/x").unwrap();
        let (to, body) = webhook_body(&hook, WebhookFormat::Slack, &payload);
        assert_eq!(to, hook);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["text"],
            "<https://wire.example/1|nato (new story): Allies &lt;meet&gt; &amp; \"talk\"\nagain> (2 outlet(s))"
        );
    }
}
