//! The fetcher: the only module that knows `reqwest`. One call is one attempt (redirects aside):
//! conditional GET with the stored validators, redirects followed by hand (at most
//! [`MAX_REDIRECTS`], each hop checked), a cap on the decoded body, per-host concurrency and
//! spacing, and `file://` for local feeds. Retrying is the scheduler's job, not this module's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::config::FetchConfig;

pub const MAX_REDIRECTS: usize = 5;

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
    NotModified { validators: Validators },
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
            _ => None,
        }
    }
}

/// One of the `concurrency` global fetch slots, held from the request until its result has been
/// handed on (dropping it frees the slot).
pub struct FetchSlot {
    _permit: OwnedSemaphorePermit,
}

/// Per-host gate: at most `per_host` requests in flight, and starts spaced by `host_spacing`.
struct HostGate {
    slots: Semaphore,
    next_start: Mutex<Option<Instant>>,
}

pub struct Fetcher {
    client: reqwest::Client,
    settings: FetchConfig,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
}

impl Fetcher {
    pub fn new(settings: &FetchConfig) -> Result<Fetcher, FetchError> {
        // reqwest is built without a default crypto provider (ring is much lighter to build than
        // aws-lc); it must be installed once per process before a client exists.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .build()
            .map_err(|e| FetchError::Request {
                url: "(client setup)".into(),
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
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
        let gate = self.gate(url.host_str().unwrap_or_default());
        // Host slot first, global slot second: a feed waiting on a busy host must not hold one of
        // the global slots that other hosts could use.
        let _host_permit = gate.slots.acquire().await.expect("semaphore never closed");
        let slot = self.slot().await;
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
                all_permanent &= matches!(status, 301 | 308);
                url = next;
                continue;
            }
            if status == 304 {
                return Ok(FetchOutcome::NotModified {
                    validators: header_validators(&response, validators),
                });
            }
            if status == 410 {
                return Err(FetchError::Gone {
                    url: url.to_string(),
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
    let start = skip_bom_and_space(body);
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

fn skip_bom_and_space(body: &[u8]) -> &[u8] {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let first = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    &body[first..]
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
}
