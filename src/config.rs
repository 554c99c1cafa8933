//! The configuration file: TOML read into [`RawConfig`] (serde, unknown keys refused), then
//! validated into [`Config`] (durations, sizes, URLs, references), collecting every error with the
//! key and line it concerns.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// Where the configuration file was looked for, in order, when `--config` was not given.
pub fn default_config_candidates() -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("FEEDFOLD_CONFIG").filter(|p| !p.is_empty()) {
        candidates.push(PathBuf::from(path));
    }
    candidates.push(PathBuf::from("feedfold.toml"));
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = xdg {
        candidates.push(dir.join("feedfold").join("feedfold.toml"));
    }
    candidates
}

/// One problem found in the configuration, with the key it concerns and, where known, its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no config file found (looked at {looked}); pass --config PATH or set FEEDFOLD_CONFIG")]
    NotFound { looked: String },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {} error(s):\n{}", problems.len(), format_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

fn format_problems(path: &Path, problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| match p.line {
            Some(line) => format!("  {}:{}: {}: {}", path.display(), line, p.key, p.message),
            None => format!("  {}: {}: {}", path.display(), p.key, p.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Raw form: what serde reads. Values that need validation stay strings with their spans.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    dedup: RawDedup,
    #[serde(default)]
    feeds: Vec<RawFeed>,
    #[serde(default)]
    watches: Vec<RawWatch>,
    #[serde(default)]
    sinks: Vec<RawSink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<Spanned<String>>,
    retention: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    interval: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    host_spacing: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<String>>,
    user_agent: Option<String>,
    proxy: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    window: Option<Spanned<String>>,
    related: Option<bool>,
    merge_stories: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    url: Spanned<String>,
    name: Option<String>,
    interval: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    name: Spanned<String>,
    query: Spanned<String>,
    #[serde(default)]
    notify: Vec<Spanned<String>>,
    #[serde(default)]
    feeds: Vec<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    min_sources: Option<Spanned<i64>>,
    #[serde(default)]
    follow_ups: Vec<Spanned<i64>>,
    max_per_hour: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    name: Spanned<String>,
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    command: Option<Vec<String>>,
    format: Option<Spanned<String>>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    secret_file: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// Validated form.

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_CONCURRENCY: usize = 16;
pub const DEFAULT_PER_HOST: usize = 2;
pub const DEFAULT_HOST_SPACING: Duration = Duration::from_secs(1);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_BODY: u64 = 15 * 1024 * 1024;
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(72 * 3600);
/// Below this interval `check-config` warns: polling a publisher that often is impolite.
pub const POLITE_INTERVAL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from; relative paths in it resolve against its folder.
    pub source: PathBuf,
    pub storage: StorageConfig,
    pub fetch: FetchConfig,
    pub dedup: DedupConfig,
    pub feeds: Vec<FeedConfig>,
    pub watches: Vec<WatchConfig>,
    pub sinks: Vec<SinkConfig>,
    /// Things that are allowed but probably not meant (printed by `check-config`).
    pub warnings: Vec<ConfigProblem>,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The SQLite file, already resolved against the config file's folder.
    pub path: PathBuf,
    /// Items first fetched longer ago than this are pruned; `None` keeps everything ("0s").
    pub retention: Option<Duration>,
}

/// How long items are kept, counted from their first fetch.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 86400);

#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub interval: Duration,
    pub concurrency: usize,
    pub per_host: usize,
    pub host_spacing: Duration,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body: u64,
    pub user_agent: String,
    /// An HTTP(S) proxy for every feed. Proxies from the environment (`HTTP_PROXY`...)
    /// are never used: a daemon's network path is what its config says.
    pub proxy: Option<Url>,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            interval: DEFAULT_INTERVAL,
            concurrency: DEFAULT_CONCURRENCY,
            per_host: DEFAULT_PER_HOST,
            host_spacing: DEFAULT_HOST_SPACING,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            user_agent: default_user_agent(),
            proxy: None,
        }
    }
}

pub fn default_user_agent() -> String {
    format!(
        "feedfold/{} (self-hosted feed aggregator; +https://github.com/feedfold/feedfold)",
        env!("CARGO_PKG_VERSION")
    )
}

#[derive(Debug, Clone)]
pub struct DedupConfig {
    pub window: Duration,
    /// Gather different outlets' reports of one event (in other words) into its cluster, besides
    /// folding copies. On by default, at a strict threshold.
    pub related: bool,
    /// Let a new report that agrees with two stories fold the newer story into the older (the
    /// older keeps its id). Off by default: stories do not merge by themselves, and only
    /// `recluster` moves items.
    pub merge_stories: bool,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            window: DEFAULT_WINDOW,
            related: true,
            merge_stories: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    pub url: Url,
    pub name: Option<String>,
    pub interval: Option<Duration>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub name: String,
    /// The query as written.
    pub query_text: String,
    pub query: crate::watches::Query,
    pub notify: Vec<String>,
    /// Only items of these feeds (configured URL or name); empty: every feed.
    pub feeds: Vec<String>,
    /// Only items of feeds with one of these tags; empty: every feed.
    pub tags: Vec<String>,
    /// Alert only once the story is carried by this many feeds (default 1).
    pub min_sources: usize,
    /// Story sizes (in feeds) that earn a follow-up alert, each at most once.
    pub follow_ups: Vec<usize>,
    /// At most this many alerts an hour; the excess goes out as one digest. None: no cap.
    pub max_per_hour: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    Log,
    Webhook {
        url: Url,
        format: WebhookFormat,
        /// Extra headers sent with every request.
        headers: Vec<(String, String)>,
        /// Signs each body: `X-Feedfold-Signature: sha256=<hex HMAC-SHA256>`.
        secret: Option<Secret>,
    },
    Exec {
        command: Vec<String>,
    },
}

/// The body a webhook gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The alert document (DESIGN §5).
    Json,
    /// ntfy's JSON publishing (`url` is the topic's URL).
    Ntfy,
    /// A Slack-compatible incoming webhook (`{"text": ...}`).
    Slack,
}

/// A secret read from a file or the environment; never printed.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Config {
    /// Finds the config file (explicit path, else the default candidates) and loads it.
    pub fn locate_and_load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        if let Some(path) = explicit {
            return Config::load(path);
        }
        let candidates = default_config_candidates();
        for candidate in &candidates {
            if candidate.is_file() {
                return Config::load(candidate);
            }
        }
        Err(ConfigError::NotFound {
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// Parses and validates `text`, read from `path` (used for messages and relative paths).
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut v = Validator {
            text,
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        let config = v.validate(raw, path);
        if v.problems.is_empty() {
            let mut config = config;
            config.warnings = v.warnings;
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: v.problems,
            })
        }
    }

    /// The interval that applies to `feed`.
    pub fn interval_for(&self, feed: &FeedConfig) -> Duration {
        feed.interval.unwrap_or(self.fetch.interval)
    }
}

struct Validator<'a> {
    text: &'a str,
    problems: Vec<ConfigProblem>,
    warnings: Vec<ConfigProblem>,
}

impl Validator<'_> {
    fn line_of(&self, span: std::ops::Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn problem<T>(
        &mut self,
        key: impl Into<String>,
        value: &Spanned<T>,
        message: impl Into<String>,
    ) {
        let line = Some(self.line_of(value.span()));
        self.problems.push(ConfigProblem {
            key: key.into(),
            line,
            message: message.into(),
        });
    }

    fn duration(
        &mut self,
        key: &str,
        value: &Option<Spanned<String>>,
        default: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        match parse_duration(value.get_ref()) {
            Ok(d) => d,
            Err(message) => {
                self.problem(key, value, message);
                default
            }
        }
    }

    fn count(&mut self, key: &str, value: &Option<Spanned<i64>>, default: usize) -> usize {
        let Some(value) = value else { return default };
        match usize::try_from(*value.get_ref()) {
            Ok(n) if n >= 1 => n,
            _ => {
                self.problem(
                    key,
                    value,
                    format!(
                        "must be a whole number of at least 1, not {}",
                        value.get_ref()
                    ),
                );
                default
            }
        }
    }

    fn webhook_format(&mut self, i: usize, sink: &RawSink) -> WebhookFormat {
        match sink.format.as_ref().map(|f| (f, f.get_ref().as_str())) {
            None | Some((_, "json")) => WebhookFormat::Json,
            Some((_, "ntfy")) => WebhookFormat::Ntfy,
            Some((_, "slack")) => WebhookFormat::Slack,
            Some((f, other)) => {
                self.problem(
                    format!("sinks[{i}].format"),
                    f,
                    format!("unknown webhook format {other:?}; expected json, ntfy or slack"),
                );
                WebhookFormat::Json
            }
        }
    }

    /// The signing secret from `secret_file` (relative to the config's folder; surrounding
    /// whitespace trimmed) or `secret_env`.
    fn webhook_secret(&mut self, i: usize, sink: &RawSink, folder: &Path) -> Option<Secret> {
        match (&sink.secret_file, &sink.secret_env) {
            (Some(file), Some(_)) => {
                self.problem(
                    format!("sinks[{i}].secret_file"),
                    file,
                    "give secret_file or secret_env, not both",
                );
                None
            }
            (Some(file), None) => {
                let path = folder.join(file.get_ref());
                match std::fs::read(&path) {
                    Ok(bytes) if !bytes.trim_ascii().is_empty() => {
                        Some(Secret(bytes.trim_ascii().to_vec()))
                    }
                    Ok(_) => {
                        self.problem(
                            format!("sinks[{i}].secret_file"),
                            file,
                            format!("{} is empty", path.display()),
                        );
                        None
                    }
                    Err(e) => {
                        self.problem(
                            format!("sinks[{i}].secret_file"),
                            file,
                            format!("cannot read {}: {e}", path.display()),
                        );
                        None
                    }
                }
            }
            (None, Some(var)) => match std::env::var(var.get_ref()) {
                Ok(value) if !value.trim().is_empty() => {
                    Some(Secret(value.trim().as_bytes().to_vec()))
                }
                _ => {
                    self.problem(
                        format!("sinks[{i}].secret_env"),
                        var,
                        format!("the environment variable {} is not set", var.get_ref()),
                    );
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn validate(&mut self, raw: RawConfig, path: &Path) -> Config {
        let folder = path.parent().unwrap_or(Path::new("."));
        let storage_path = match &raw.storage.path {
            Some(p) if p.get_ref().trim().is_empty() => {
                self.problem("storage.path", p, "must not be empty");
                PathBuf::from("feedfold.db")
            }
            Some(p) => PathBuf::from(p.get_ref()),
            None => PathBuf::from("feedfold.db"),
        };
        let retention = match &raw.storage.retention {
            None => Some(DEFAULT_RETENTION),
            Some(v) => match parse_duration(v.get_ref()) {
                Ok(d) if d.is_zero() => None,
                Ok(d) => Some(d),
                Err(message) => {
                    self.problem("storage.retention", v, message);
                    Some(DEFAULT_RETENTION)
                }
            },
        };
        let storage = StorageConfig {
            path: folder.join(storage_path),
            retention,
        };

        let f = &raw.fetch;
        let fetch = FetchConfig {
            interval: self.duration("fetch.interval", &f.interval, DEFAULT_INTERVAL),
            concurrency: self.count("fetch.concurrency", &f.concurrency, DEFAULT_CONCURRENCY),
            per_host: self.count("fetch.per_host", &f.per_host, DEFAULT_PER_HOST),
            host_spacing: self.duration(
                "fetch.host_spacing",
                &f.host_spacing,
                DEFAULT_HOST_SPACING,
            ),
            timeout: self.duration("fetch.timeout", &f.timeout, DEFAULT_TIMEOUT),
            connect_timeout: self.duration(
                "fetch.connect_timeout",
                &f.connect_timeout,
                DEFAULT_CONNECT_TIMEOUT,
            ),
            max_body: match &f.max_body {
                None => DEFAULT_MAX_BODY,
                Some(v) => match parse_size(v.get_ref()) {
                    Ok(0) => {
                        self.problem("fetch.max_body", v, "must be larger than 0");
                        DEFAULT_MAX_BODY
                    }
                    Ok(n) => n,
                    Err(message) => {
                        self.problem("fetch.max_body", v, message);
                        DEFAULT_MAX_BODY
                    }
                },
            },
            user_agent: f.user_agent.clone().unwrap_or_else(default_user_agent),
            proxy: f.proxy.as_ref().and_then(|v| {
                match Url::parse(v.get_ref()) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
                    Ok(url) => {
                        let scheme = url.scheme().to_string();
                        self.problem(
                            "fetch.proxy",
                            v,
                            format!("proxy scheme {scheme:?} is not supported; use an http or https proxy URL"),
                        );
                        None
                    }
                    Err(e) => {
                        self.problem("fetch.proxy", v, format!("not a URL: {e}"));
                        None
                    }
                }
            }),
        };
        for (key, value, d) in [
            ("fetch.interval", &f.interval, fetch.interval),
            ("fetch.timeout", &f.timeout, fetch.timeout),
            (
                "fetch.connect_timeout",
                &f.connect_timeout,
                fetch.connect_timeout,
            ),
        ] {
            if d.is_zero()
                && let Some(value) = value
            {
                self.problem(key, value, "must be longer than 0s");
            }
        }
        if fetch.interval < POLITE_INTERVAL && !fetch.interval.is_zero() {
            self.warnings.push(ConfigProblem {
                key: "fetch.interval".into(),
                line: f.interval.as_ref().map(|v| self.line_of(v.span())),
                message: format!(
                    "{} is under 5m: fine for local feeds, impolite to a publisher",
                    humantime::format_duration(fetch.interval)
                ),
            });
        }

        let dedup = DedupConfig {
            window: self.duration("dedup.window", &raw.dedup.window, DEFAULT_WINDOW),
            related: raw.dedup.related.unwrap_or(true),
            merge_stories: raw.dedup.merge_stories.unwrap_or(false),
        };

        let mut feeds = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, feed) in raw.feeds.iter().enumerate() {
            let key = format!("feeds[{i}].url");
            let url = match parse_feed_url(feed.url.get_ref()) {
                Ok(url) => url,
                Err(message) => {
                    self.problem(&key, &feed.url, message);
                    continue;
                }
            };
            let line = self.line_of(feed.url.span());
            if let Some(first_line) = seen.insert(url.as_str().to_string(), line) {
                self.problem(
                    &key,
                    &feed.url,
                    format!("duplicate feed URL {url} (first listed on line {first_line})"),
                );
                continue;
            }
            let interval = feed.interval.as_ref().map(|_| {
                self.duration(
                    &format!("feeds[{i}].interval"),
                    &feed.interval,
                    DEFAULT_INTERVAL,
                )
            });
            if let (Some(d), Some(value)) = (interval, &feed.interval) {
                if d.is_zero() {
                    self.problem(
                        format!("feeds[{i}].interval"),
                        value,
                        "must be longer than 0s",
                    );
                } else if d < POLITE_INTERVAL && matches!(url.scheme(), "http" | "https") {
                    self.warnings.push(ConfigProblem {
                        key: format!("feeds[{i}].interval"),
                        line: Some(self.line_of(value.span())),
                        message: format!(
                            "{} is under 5m: impolite to a publisher",
                            humantime::format_duration(d)
                        ),
                    });
                }
            }
            feeds.push(FeedConfig {
                url,
                name: feed.name.clone().filter(|n| !n.trim().is_empty()),
                interval,
                tags: feed.tags.clone(),
            });
        }

        let mut sinks = Vec::new();
        let mut sink_names = HashSet::new();
        for (i, sink) in raw.sinks.iter().enumerate() {
            let name = sink.name.get_ref().clone();
            if !sink_names.insert(name.clone()) {
                self.problem(
                    format!("sinks[{i}].name"),
                    &sink.name,
                    format!("duplicate sink name {name:?}"),
                );
            }
            let kind = match sink.kind.get_ref().as_str() {
                "log" => Some(SinkKind::Log),
                "webhook" => match &sink.url {
                    None => {
                        self.problem(
                            format!("sinks[{i}].url"),
                            &sink.kind,
                            "a webhook sink needs `url`",
                        );
                        None
                    }
                    Some(u) => match Url::parse(u.get_ref()) {
                        Ok(url) if matches!(url.scheme(), "http" | "https") => {
                            let format = self.webhook_format(i, sink);
                            let secret = self.webhook_secret(i, sink, folder);
                            let headers = sink
                                .headers
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect();
                            Some(SinkKind::Webhook {
                                url,
                                format,
                                headers,
                                secret,
                            })
                        }
                        Ok(url) => {
                            self.problem(
                                format!("sinks[{i}].url"),
                                u,
                                format!("scheme {:?} is not http or https", url.scheme()),
                            );
                            None
                        }
                        Err(e) => {
                            self.problem(format!("sinks[{i}].url"), u, format!("not a URL: {e}"));
                            None
                        }
                    },
                },
                "exec" => match &sink.command {
                    Some(cmd) if !cmd.is_empty() => Some(SinkKind::Exec {
                        command: cmd.clone(),
                    }),
                    _ => {
                        self.problem(
                            format!("sinks[{i}].command"),
                            &sink.kind,
                            "an exec sink needs `command`, a non-empty array (program and arguments)",
                        );
                        None
                    }
                },
                other => {
                    self.problem(
                        format!("sinks[{i}].kind"),
                        &sink.kind,
                        format!("unknown sink kind {other:?}; expected webhook, exec or log"),
                    );
                    None
                }
            };
            if let Some(kind) = kind {
                sinks.push(SinkConfig { name, kind });
            }
        }

        let mut watches = Vec::new();
        let mut watch_names = HashSet::new();
        for (i, watch) in raw.watches.iter().enumerate() {
            let name = watch.name.get_ref().clone();
            if !watch_names.insert(name.clone()) {
                self.problem(
                    format!("watches[{i}].name"),
                    &watch.name,
                    format!("duplicate watch name {name:?}"),
                );
            }
            let query = match crate::watches::Query::parse(watch.query.get_ref()) {
                Ok(query) => Some(query),
                Err(e) => {
                    self.problem(format!("watches[{i}].query"), &watch.query, e.to_string());
                    None
                }
            };
            for (j, sink) in watch.notify.iter().enumerate() {
                if !sink_names.contains(sink.get_ref()) {
                    self.problem(
                        format!("watches[{i}].notify[{j}]"),
                        sink,
                        format!("no sink named {:?} in [[sinks]]", sink.get_ref()),
                    );
                }
            }
            for (j, feed) in watch.feeds.iter().enumerate() {
                let known = feeds.iter().any(|f: &FeedConfig| {
                    f.url.as_str() == feed.get_ref() || f.name.as_deref() == Some(feed.get_ref())
                });
                if !known {
                    self.problem(
                        format!("watches[{i}].feeds[{j}]"),
                        feed,
                        format!("no feed with URL or name {:?} in [[feeds]]", feed.get_ref()),
                    );
                }
            }
            let min_sources = match &watch.min_sources {
                None => 1,
                Some(n) if *n.get_ref() >= 1 => *n.get_ref() as usize,
                Some(n) => {
                    self.problem(format!("watches[{i}].min_sources"), n, "must be at least 1");
                    1
                }
            };
            let mut follow_ups = Vec::new();
            for (j, size) in watch.follow_ups.iter().enumerate() {
                if *size.get_ref() as usize <= min_sources || *size.get_ref() < 2 {
                    self.problem(
                        format!("watches[{i}].follow_ups[{j}]"),
                        size,
                        format!(
                            "a follow-up size must be larger than min_sources ({min_sources}) and at least 2"
                        ),
                    );
                } else {
                    follow_ups.push(*size.get_ref() as usize);
                }
            }
            follow_ups.sort_unstable();
            follow_ups.dedup();
            let max_per_hour = match &watch.max_per_hour {
                None => None,
                Some(n) if *n.get_ref() >= 1 => Some(*n.get_ref() as usize),
                Some(n) => {
                    self.problem(
                        format!("watches[{i}].max_per_hour"),
                        n,
                        "must be at least 1",
                    );
                    None
                }
            };
            if let Some(query) = query {
                watches.push(WatchConfig {
                    name,
                    query_text: watch.query.get_ref().clone(),
                    query,
                    notify: watch.notify.iter().map(|s| s.get_ref().clone()).collect(),
                    feeds: watch.feeds.iter().map(|s| s.get_ref().clone()).collect(),
                    tags: watch.tags.clone(),
                    min_sources,
                    follow_ups,
                    max_per_hour,
                });
            }
        }

        Config {
            source: path.to_path_buf(),
            storage,
            fetch,
            dedup,
            feeds,
            watches,
            sinks,
            warnings: Vec::new(),
        }
    }
}

/// A feed URL: absolute, with scheme http, https or file.
pub fn parse_feed_url(text: &str) -> Result<Url, String> {
    let url =
        Url::parse(text.trim()).map_err(|e| format!("not an absolute URL ({e}): {text:?}"))?;
    match url.scheme() {
        "http" | "https" => {
            if url.host_str().is_none_or(str::is_empty) {
                return Err(format!("URL has no host: {text:?}"));
            }
            Ok(url)
        }
        "file" => Ok(url),
        other => Err(format!(
            "scheme {other:?} is not supported; use http, https or file: {text:?}"
        )),
    }
}

/// A humantime duration such as `30m`, `1h 30m` or `0s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?} ({e}); write it like \"30m\", \"2h\" or \"1h 30m\"")
    })
}

/// A byte size such as `15MiB`, `512 KiB`, `2MB` or `1048576`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let err = || format!("invalid size {text:?}; write it like \"15MiB\", \"512KiB\" or \"2MB\"");
    let number: f64 = number.parse().map_err(|_| err())?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1000,
        "kib" => 1024,
        "mb" | "m" => 1000 * 1000,
        "mib" => 1024 * 1024,
        "gb" | "g" => 1000 * 1000 * 1000,
        "gib" => 1024 * 1024 * 1024,
        _ => return Err(err()),
    };
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes as u64)
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/feedfold/feedfold.toml"))
    }

    #[test]
    fn defaults_apply_and_storage_is_relative_to_the_config_folder() {
        let c = load("").unwrap();
        assert_eq!(c.storage.path, PathBuf::from("/etc/feedfold/feedfold.db"));
        assert_eq!(c.fetch.interval, DEFAULT_INTERVAL);
        assert_eq!(c.fetch.max_body, 15 * 1024 * 1024);
        assert_eq!(c.dedup.window, Duration::from_secs(72 * 3600));
    }

    #[test]
    fn unknown_key_is_an_error_naming_it_and_its_line() {
        let err = load("[fetch]\ninterval = \"30m\"\nintervall = \"5m\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("intervall"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn every_validation_error_is_reported_with_key_and_line() {
        let err = load(
            "[fetch]\ninterval = \"soon\"\nmax_body = \"lots\"\n\n[[feeds]]\nurl = \"ftp://x.org/f\"\n\n[[feeds]]\nurl = \"https://a.org/rss\"\n[[feeds]]\nurl = \"https://a.org/rss\"\n",
        )
        .unwrap_err();
        let ConfigError::Invalid { problems, .. } = &err else {
            panic!("expected Invalid, got {err}")
        };
        let keys: Vec<(&str, Option<usize>)> =
            problems.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert_eq!(
            keys,
            vec![
                ("fetch.interval", Some(2)),
                ("fetch.max_body", Some(3)),
                ("feeds[0].url", Some(6)),
                ("feeds[2].url", Some(11)),
            ]
        );
        assert!(problems[3].message.contains("duplicate"));
    }

    #[test]
    fn a_proxy_must_be_an_http_url() {
        let c = load("[fetch]\nproxy = \"http://proxy.internal:3128\"\n").unwrap();
        assert_eq!(
            c.fetch.proxy.unwrap().as_str(),
            "http://proxy.internal:3128/"
        );
        let err = load("[fetch]\nproxy = \"ftp://proxy.internal\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains(":2: fetch.proxy"), "{err}");
        assert!(load("[fetch]\nproxy = \"not a url\"\n").is_err());
    }

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("15MiB").unwrap(), 15 * 1024 * 1024);
        assert_eq!(parse_size("512 KiB").unwrap(), 512 * 1024);
        assert_eq!(parse_size("2MB").unwrap(), 2_000_000);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("30").is_err());
    }

    #[test]
    fn short_interval_warns_but_loads() {
        let c = load("[fetch]\ninterval = \"1m\"\n").unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].key, "fetch.interval");
    }

    #[test]
    fn watch_queries_compile_and_errors_point_at_line_and_column() {
        let c = load(
            "[[sinks]]\nname = \"log\"\nkind = \"log\"\n\n[[watches]]\nname = \"ukraine\"\n\
             query = 'ukraine OR kyiv NOT \"football\"'\nnotify = [\"log\"]\nmin_sources = 2\n\
             follow_ups = [10, 3]\n",
        )
        .unwrap();
        let w = &c.watches[0];
        assert_eq!((w.min_sources, w.follow_ups.clone()), (2, vec![3, 10]));
        assert!(
            w.query
                .matches(&crate::watches::Document::new("Kyiv under fire", ""))
                .is_some()
        );
        let err = load("[[watches]]\nname = \"w\"\nquery = 'ukraine \"unclosed'\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":3: watches[0].query: column 9: this quote is never closed"),
            "{err}"
        );
        let err = load("[[watches]]\nname = \"w\"\nquery = \"x\"\nfollow_ups = [1]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("watches[0].follow_ups[0]"), "{err}");
    }

    #[test]
    fn watch_notify_must_name_a_sink() {
        let err =
            load("[[watches]]\nname = \"w\"\nquery = \"x\"\nnotify = [\"nope\"]\n").unwrap_err();
        assert!(err.to_string().contains("watches[0].notify[0]"), "{err}");
    }
}
