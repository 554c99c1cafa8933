//! The fetcher: the only module that knows `reqwest`. One call is one attempt (redirects aside):
//! conditional GET with the stored validators, redirects followed by hand (at most
//! [`MAX_REDIRECTS`], each hop checked), a cap on the decoded body, per-host concurrency and
//! spacing, and `file://` for local feeds. Retrying is the scheduler's job, not this module's;
//! this module reports what the server said about it (freshness and `Retry-After` hints) and
//! keeps a host that answered 429/503 alone until the time it asked for.
//!
//! Redirects are where a public feed could point the daemon at the operator's own network (a
//! metadata service, a router's admin page): a hop from a public address into loopback, private
//! or link-local space is refused before any request is made to it. A feed that the operator
//! configured on such a host may redirect within it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::config::FetchConfig;

pub const MAX_REDIRECTS: usize = 5;

/// How long a host that sent 429/503 is left alone when its `Retry-After` is missing or
/// unreadable.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The longest `Retry-After` honoured: a server asking for ten years gets a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What the store knows about a feed that makes the request conditional.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub enum FetchOutcome {
    /// A body came back (status 200, or another 2xx).
    Body(Box<FetchedBody>),
    /// 304: the validators matched; nothing to parse.
    NotModified {
        validators: Validators,
        /// What the response's caching headers say about when to ask again.
        fresh_for: Option<Duration>,
    },
}

#[derive(Debug)]
pub struct FetchedBody {
    /// The URL the body came from, after redirects: the base for relative links.
    pub final_url: Url,
    /// Set when the request was redirected and every hop was permanent (301/308): the feed's URL
    /// in use should become this.
    pub moved_permanently_to: Option<Url>,
    pub status: u16,
    pub content_type: Option<String>,
    pub validators: Validators,
    /// How long the response says it stays fresh (`Cache-Control: max-age`, else `Expires`
    /// against `Date`): the scheduler never polls sooner than this.
    pub fresh_for: Option<Duration>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {}s fetching {url}; the server is slow or unreachable", after.as_secs())]
    Timeout { url: String, after: Duration },
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("request to {url} failed: {detail}")]
    Request { url: String, detail: String },
    #[error("HTTP {status} from {url}")]
    Status { url: String, status: u16 },
    #[error("HTTP 410 Gone from {url}: polling stopped; fix or remove the feed's URL")]
    Gone { url: String },
    #[error("HTTP {status} from {url}: the server asked to wait {}; the host is left alone until then", humantime::format_duration(*after))]
    RetryLater {
        url: String,
        status: u16,
        after: Duration,
    },
    #[error("not fetched: {host} asked for a pause (HTTP 429/503 Retry-After) that lasts {} more", humantime::format_duration(*remaining))]
    HostPaused { host: String, remaining: Duration },
    #[error(
        "refused the redirect from {url} to {to}: a public feed may not redirect into loopback, private or link-local addresses ({address})"
    )]
    RedirectRefused {
        url: String,
        to: String,
        address: IpAddr,
    },
    #[error("too many redirects (more than {MAX_REDIRECTS}) starting at {url}")]
    TooManyRedirects { url: String },
    #[error("HTTP {status} redirect from {url} without a usable Location header")]
    BadRedirect { url: String, status: u16 },
    #[error("body of {url} exceeds the {limit}-byte limit (fetch.max_body)")]
    TooLarge { url: String, limit: u64 },
    #[error("{url} is not a feed ({what}, Content-Type {content_type})")]
    NotAFeed {
        url: String,
        what: &'static str,
        content_type: String,
    },
    #[error("cannot read {url}: {detail}")]
    File { url: String, detail: String },
}

impl FetchError {
    /// The HTTP status that ended the attempt, where there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } | FetchError::BadRedirect { status, .. } => {
                Some(*status)
            }
            FetchError::Gone { .. } => Some(410),
            FetchError::RetryLater { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked us to stay away, for the errors that carry such a request.
    pub fn wait_at_least(&self) -> Option<Duration> {
        match self {
            FetchError::RetryLater { after, .. } => Some(*after),
            FetchError::HostPaused { remaining, .. } => Some(*remaining),
            _ => None,
        }
    }
}

/// One of the `concurrency` global fetch slots, held from the request until its result has been
/// handed on (dropping it frees the slot).
pub struct FetchSlot {
    _permit: OwnedSemaphorePermit,
}

/// Per-host gate: at most `per_host` requests in flight, starts spaced by `host_spacing`, and
/// nothing at all before `paused_until` (set by a 429/503 with `Retry-After`).
struct HostGate {
    slots: Semaphore,
    next_start: Mutex<Option<Instant>>,
    paused_until: Mutex<Option<Instant>>,
}

pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchConfig,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
}

impl Fetcher {
    pub fn new(settings: &FetchConfig) -> Result<Fetcher, FetchError> {
        let client = build_client(settings)?;
        Ok(Fetcher {
            client,
            settings: settings.clone(),
            global: Arc::new(Semaphore::new(settings.concurrency)),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    fn gate(&self, host: &str) -> Arc<HostGate> {
        let mut hosts = self.hosts.lock().expect("host table lock");
        hosts
            .entry(host.to_ascii_lowercase())
            .or_insert_with(|| {
                Arc::new(HostGate {
                    slots: Semaphore::new(self.settings.per_host),
                    next_start: Mutex::new(None),
                    paused_until: Mutex::new(None),
                })
            })
            .clone()
    }

    /// One attempt at `url`, within the global and per-host limits. Returns with the attempt's
    /// [`FetchSlot`]: the caller holds it until the result is handed on, so that no more than
    /// `concurrency` fetched bodies wait in memory however slow the stages after the fetch are.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> (FetchSlot, Result<FetchOutcome, FetchError>) {
        if url.scheme() == "file" {
            let slot = self.slot().await;
            return (slot, self.fetch_file(url).await);
        }
        let host = url.host_str().unwrap_or_default();
        let gate = self.gate(host);
        // Host slot first, global slot second: a feed waiting on a busy host must not hold one of
        // the global slots that other hosts could use.
        let _host_permit = gate.slots.acquire().await.expect("semaphore never closed");
        let slot = self.slot().await;
        let paused_until = *gate.paused_until.lock().expect("host pause lock");
        if let Some(until) = paused_until.filter(|until| *until > Instant::now()) {
            // Whole seconds, rounded up: the message is for people.
            let remaining = Duration::from_secs((until - Instant::now()).as_secs() + 1);
            return (
                slot,
                Err(FetchError::HostPaused {
                    host: host.to_string(),
                    remaining,
                }),
            );
        }
        let start = {
            let mut next = gate.next_start.lock().expect("host spacing lock");
            let now = Instant::now();
            let start = next.map_or(now, |n| n.max(now));
            *next = Some(start + self.settings.host_spacing);
            start
        };
        tokio::time::sleep_until(start).await;
        let total = self.settings.timeout;
        let result = match tokio::time::timeout(total, self.fetch_http(url, validators)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                url: url.to_string(),
                after: total,
            }),
        };
        if let Err(FetchError::RetryLater { after, .. }) = &result {
            // Every feed on this host waits, not only the one that was told.
            let mut paused = gate.paused_until.lock().expect("host pause lock");
            let until = Instant::now() + *after;
            *paused = Some(paused.map_or(until, |p| p.max(until)));
        }
        (slot, result)
    }

    async fn slot(&self) -> FetchSlot {
        let permit = self.global.clone().acquire_owned().await;
        FetchSlot {
            _permit: permit.expect("semaphore never closed"),
        }
    }

    async fn fetch_http(
        &self,
        start: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let mut url = start.clone();
        let mut all_permanent = true;
        // Resolved on the first redirect only: most fetches never need it.
        let mut origin_is_public: Option<bool> = None;
        for hop in 0..=MAX_REDIRECTS {
            let mut request = self.client.get(url.as_str());
            // Validators go verbatim: servers compare them byte for byte.
            if let Some(etag) = &validators.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
            let mut response = request
                .send()
                .await
                .map_err(|e| self.request_error(&url, e))?;
            let status = response.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                if hop == MAX_REDIRECTS {
                    return Err(FetchError::TooManyRedirects {
                        url: start.to_string(),
                    });
                }
                let next = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok())
                    .filter(|u| matches!(u.scheme(), "http" | "https"));
                let Some(next) = next else {
                    return Err(FetchError::BadRedirect {
                        url: url.to_string(),
                        status,
                    });
                };
                if origin_is_public.is_none() {
                    let addresses = resolve(start).await;
                    origin_is_public =
                        Some(!addresses.is_empty() && addresses.iter().all(is_public));
                }
                if origin_is_public == Some(true)
                    && let Some(address) = resolve(&next).await.into_iter().find(|a| !is_public(a))
                {
                    return Err(FetchError::RedirectRefused {
                        url: url.to_string(),
                        to: next.to_string(),
                        address,
                    });
                }
                all_permanent &= matches!(status, 301 | 308);
                url = next;
                continue;
            }
            let header = |name: reqwest::header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let now = crate::timefmt::now_unix();
            let date = header(reqwest::header::DATE);
            if status == 304 {
                return Ok(FetchOutcome::NotModified {
                    validators: header_validators(&response, validators),
                    fresh_for: freshness(
                        header(reqwest::header::CACHE_CONTROL).as_deref(),
                        header(reqwest::header::EXPIRES).as_deref(),
                        date.as_deref(),
                        now,
                    ),
                });
            }
            if status == 410 {
                return Err(FetchError::Gone {
                    url: url.to_string(),
                });
            }
            let retry_after = header(reqwest::header::RETRY_AFTER);
            // 429 always means "slow down"; 503 only when it says for how long (otherwise it
            // is an outage, retried on the feed's backoff).
            if status == 429 || (status == 503 && retry_after.is_some()) {
                return Err(FetchError::RetryLater {
                    url: url.to_string(),
                    status,
                    after: retry_after_delay(retry_after.as_deref(), date.as_deref(), now),
                });
            }
            if !(200..300).contains(&status) {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status,
                });
            }
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let new_validators = header_validators(&response, &Validators::default());
            let fresh_for = freshness(
                header(reqwest::header::CACHE_CONTROL).as_deref(),
                header(reqwest::header::EXPIRES).as_deref(),
                date.as_deref(),
                now,
            );
            let mut body = Vec::new();
            // Count decoded bytes as they arrive: Content-Length is the compressed size, and a
            // small gzip body can inflate to gigabytes.
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| self.request_error(&url, e))?
            {
                if body.len() as u64 + chunk.len() as u64 > self.settings.max_body {
                    return Err(FetchError::TooLarge {
                        url: url.to_string(),
                        limit: self.settings.max_body,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            check_looks_like_feed(&url, content_type.as_deref(), &body)?;
            let moved_permanently_to = (hop > 0 && all_permanent).then(|| url.clone());
            return Ok(FetchOutcome::Body(Box::new(FetchedBody {
                final_url: url,
                moved_permanently_to,
                status,
                content_type,
                validators: new_validators,
                fresh_for,
                body,
            })));
        }
        unreachable!("the loop returns on its last hop")
    }

    async fn fetch_file(&self, url: &Url) -> Result<FetchOutcome, FetchError> {
        use tokio::io::AsyncReadExt;
        let file_error = |detail: String| FetchError::File {
            url: url.to_string(),
            detail,
        };
        let path = url
            .to_file_path()
            .map_err(|()| file_error("not a local file path".into()))?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| file_error(e.to_string()))?;
        let mut body = Vec::new();
        file.take(self.settings.max_body + 1)
            .read_to_end(&mut body)
            .await
            .map_err(|e| file_error(e.to_string()))?;
        if body.len() as u64 > self.settings.max_body {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: self.settings.max_body,
            });
        }
        check_looks_like_feed(url, None, &body)?;
        Ok(FetchOutcome::Body(Box::new(FetchedBody {
            final_url: url.clone(),
            moved_permanently_to: None,
            status: 200,
            content_type: None,
            validators: Validators::default(),
            fresh_for: None,
            body,
        })))
    }

    fn request_error(&self, url: &Url, e: reqwest::Error) -> FetchError {
        let detail = error_chain(&e);
        if e.is_timeout() {
            FetchError::Timeout {
                url: url.to_string(),
                after: self.settings.timeout,
            }
        } else if e.is_connect() {
            FetchError::Connect {
                url: url.to_string(),
                detail,
            }
        } else {
            FetchError::Request {
                url: url.to_string(),
                detail,
            }
        }
    }
}

/// The HTTP client both the fetcher and the webhook sink use: redirects never followed by
/// reqwest (the fetcher follows them by hand; a webhook that moved is a configuration error to
/// see), the environment's proxies never used (only `fetch.proxy`), the configured timeouts.
fn build_client(settings: &FetchConfig) -> Result<reqwest::Client, FetchError> {
    // reqwest is built without a default crypto provider (ring is much lighter to build than
    // aws-lc); it must be installed once per process before a client exists.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(settings.user_agent.clone())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout);
    if let Some(proxy) = &settings.proxy {
        let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| FetchError::Request {
            url: proxy.to_string(),
            detail: format!("cannot use fetch.proxy: {e}"),
        })?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| FetchError::Request {
        url: "(client setup)".into(),
        detail: format!("cannot build the HTTP client: {e}"),
    })
}

/// The client for the webhook sink: the one other kind of request the daemon makes.
#[derive(Clone)]
pub struct Poster {
    client: reqwest::Client,
}

impl Poster {
    pub fn new(settings: &FetchConfig) -> Result<Poster, FetchError> {
        let client = build_client(settings)?;
        Ok(Poster { client })
    }

    /// POSTs `body`; Ok for a 2xx answer, the status or the failure otherwise.
    pub async fn post(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<(), FetchError> {
        let mut request = self.client.post(url.as_str()).body(body);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await.map_err(|e| FetchError::Request {
            url: url.to_string(),
            detail: error_chain(&e),
        })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(FetchError::Status {
                url: url.to_string(),
                status,
            })
        }
    }
}

fn header_validators(response: &reqwest::Response, fallback: &Validators) -> Validators {
    let get = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    Validators {
        etag: get(reqwest::header::ETAG).or_else(|| fallback.etag.clone()),
        last_modified: get(reqwest::header::LAST_MODIFIED)
            .or_else(|| fallback.last_modified.clone()),
    }
}

/// Seconds since the epoch of an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(value: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|d| d.timestamp())
}

/// How long a response stays fresh: `Cache-Control: max-age`, else `Expires` minus `Date` (or
/// `now` without a `Date`). `no-store` and `no-cache` mean no hint; so does a time in the past.
pub fn freshness(
    cache_control: Option<&str>,
    expires: Option<&str>,
    date: Option<&str>,
    now: i64,
) -> Option<Duration> {
    if let Some(cc) = cache_control {
        let mut max_age = None;
        for directive in cc.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-store" || directive == "no-cache" {
                return None;
            }
            if let Some(v) = directive.strip_prefix("max-age=") {
                max_age = v.trim_matches('"').parse::<u64>().ok();
            }
        }
        if let Some(secs) = max_age {
            return (secs > 0).then(|| Duration::from_secs(secs));
        }
    }
    let expires = http_date(expires?)?;
    let reference = date.and_then(http_date).unwrap_or(now);
    let secs = expires - reference;
    (secs > 0).then(|| Duration::from_secs(secs as u64))
}

/// The wait a 429/503 asks for: `Retry-After` as seconds or as an HTTP-date (against the
/// response's `Date`, else `now`); [`DEFAULT_RETRY_AFTER`] when missing or unreadable; at most
/// [`MAX_RETRY_AFTER`].
pub fn retry_after_delay(value: Option<&str>, date: Option<&str>, now: i64) -> Duration {
    let Some(value) = value.map(str::trim) else {
        return DEFAULT_RETRY_AFTER;
    };
    let delay = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Some(at) = http_date(value) {
        let reference = date.and_then(http_date).unwrap_or(now);
        Duration::from_secs((at - reference).max(0) as u64)
    } else {
        DEFAULT_RETRY_AFTER
    };
    delay.min(MAX_RETRY_AFTER)
}

/// The addresses a URL's host stands for: the literal for an IP host (the URL parser has already
/// turned `0x7f.1` into `127.0.0.1`), else what DNS says. Empty when resolution fails (the
/// request then fails on its own).
async fn resolve(url: &Url) -> Vec<IpAddr> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => {
            let port = url.port_or_known_default().unwrap_or(80);
            match tokio::net::lookup_host((name, port)).await {
                Ok(addrs) => addrs.map(|a| a.ip()).collect(),
                Err(_) => Vec::new(),
            }
        }
        None => Vec::new(),
    }
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, unique
/// local), shared (100.64/10), link-local, unspecified, multicast, broadcast or documentation
/// space. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is judged as the IPv4 it carries.
pub fn is_public(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_multicast()
                || ip.is_broadcast()
                || ip.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public(&IpAddr::V4(v4));
            }
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The error's causes on one line, without reqwest's and hyper's generic wrappers ("error
/// sending request for url (...)", "client error (Connect)"), which repeat the URL and say
/// nothing of what failed.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        let generic = text.starts_with("error sending request") || text.starts_with("client error");
        if !generic && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// Refuses empty bodies and HTML pages (a login wall, a Cloudflare challenge, a moved site)
/// before the parser sees them, so the error says what came back instead of a parse failure.
fn check_looks_like_feed(
    url: &Url,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(), FetchError> {
    let content_type = || content_type.unwrap_or("none").to_string();
    let start = crate::parse::skip_bom_and_space(body);
    if start.is_empty() {
        return Err(FetchError::NotAFeed {
            url: url.to_string(),
            what: "empty body",
            content_type: content_type(),
        });
    }
    let head: Vec<u8> = start.iter().take(64).map(u8::to_ascii_lowercase).collect();
    if head.starts_with(b"<!doctype html") || head.starts_with(b"<html") {
        return Err(FetchError::NotAFeed {
            url: url.to_string(),
            what: "an HTML page",
            content_type: content_type(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_empty_bodies_are_not_feeds() {
        let url = Url::parse("https://example.org/feed").unwrap();
        let err = check_looks_like_feed(&url, Some("text/html"), b"\n <!DOCTYPE html><html>")
            .unwrap_err();
        assert!(err.to_string().contains("an HTML page"), "{err}");
        assert!(err.to_string().contains("text/html"), "{err}");
        let err = check_looks_like_feed(&url, None, b"  \n").unwrap_err();
        assert!(err.to_string().contains("empty body"), "{err}");
        assert!(
            check_looks_like_feed(&url, Some("text/html"), b"<?xml version=\"1.0\"?><rss/>")
                .is_ok()
        );
    }

    #[test]
    fn freshness_reads_max_age_then_expires() {
        let now = 1_700_000_000;
        let date = "Tue, 14 Nov 2023 22:13:20 GMT"; // = now
        assert_eq!(
            freshness(Some("public, max-age=3600"), None, None, now),
            Some(Duration::from_secs(3600))
        );
        // max-age wins over Expires.
        assert_eq!(
            freshness(
                Some("max-age=60"),
                Some("Wed, 15 Nov 2023 22:13:20 GMT"),
                Some(date),
                now
            ),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            freshness(None, Some("Tue, 14 Nov 2023 23:13:20 GMT"), Some(date), now),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            freshness(Some("no-cache, max-age=600"), None, None, now),
            None
        );
        assert_eq!(freshness(None, Some("0"), None, now), None);
        assert_eq!(
            freshness(None, Some("Mon, 13 Nov 2023 22:13:20 GMT"), None, now),
            None
        );
        assert_eq!(freshness(None, None, None, now), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_with_a_default_and_a_cap() {
        let now = 1_700_000_000;
        assert_eq!(
            retry_after_delay(Some("120"), None, now),
            Duration::from_secs(120)
        );
        assert_eq!(
            retry_after_delay(
                Some("Tue, 14 Nov 2023 22:23:20 GMT"),
                Some("Tue, 14 Nov 2023 22:13:20 GMT"),
                now
            ),
            Duration::from_secs(600)
        );
        assert_eq!(
            retry_after_delay(Some("soon-ish"), None, now),
            DEFAULT_RETRY_AFTER
        );
        assert_eq!(retry_after_delay(None, None, now), DEFAULT_RETRY_AFTER);
        assert_eq!(
            retry_after_delay(Some("315360000"), None, now),
            MAX_RETRY_AFTER
        );
        assert_eq!(
            retry_after_delay(Some("Fri, 01 Jan 2100 00:00:00 GMT"), None, now),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for private in [
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::ffff:127.0.0.1",
            "fd00::1",
            "fe80::1",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(!is_public(&ip), "{private} must not count as public");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(is_public(&ip), "{public} is public");
        }
    }

    #[tokio::test]
    async fn obfuscated_loopback_hosts_resolve_to_loopback() {
        for url in [
            "http://0x7f.1/feed",
            "http://2130706433/feed",
            "http://[::ffff:127.0.0.1]/feed",
            "http://127.1/feed",
        ] {
            let addresses = resolve(&Url::parse(url).unwrap()).await;
            assert!(!addresses.is_empty(), "{url}");
            assert!(
                addresses.iter().all(|a| !is_public(a)),
                "{url}: {addresses:?}"
            );
        }
    }
}
