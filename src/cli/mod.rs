//! The command line: argument definitions (clap), one function per command, exit codes.
//! Output goes through [`render`] only. Exit codes: 0 success (also when a listing finds
//! nothing), 1 runtime failure, 2 usage or config error.

pub mod render;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError, parse_duration};
use crate::daemon;
use crate::pipeline::{self, FeedResult};
use crate::store::Store;
use crate::store::read::{ClusterFilter, ClusterView, FeedStatus, PeriodSummary};
use crate::systemd::Notifier;
use crate::timefmt::{before, now_unix, relative, rfc3339};
use render::{Table, Terminal, escape, truncate, truncate_middle};

#[derive(Debug, Parser)]
#[command(
    name = "feedfold",
    version,
    about = "Aggregate news feeds and fold the copies of one story into one cluster"
)]
pub struct Cli {
    /// Config file (default: $FEEDFOLD_CONFIG, then ./feedfold.toml, then $XDG_CONFIG_HOME/feedfold/feedfold.toml)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// SQLite store (overrides [storage] path)
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Log level or filter, as RUST_LOG (default: info for run, error for run --once, warn otherwise)
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: fetch feeds on schedule until SIGTERM or SIGINT
    Run {
        /// Fetch every feed now, once, then exit
        #[arg(long)]
        once: bool,
    },
    /// Validate the config file and print a summary or every error
    CheckConfig,
    /// Each feed's health: last fetch, status, errors, next due, items
    Feeds {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Recent clusters (stories), biggest first
    Clusters {
        /// Only clusters whose newest member is at most this old (e.g. 24h, 7d)
        #[arg(long, default_value = "24h", value_parser = parse_duration_arg)]
        since: std::time::Duration,
        /// Only clusters with at least this many items
        #[arg(long, default_value_t = 2)]
        min_size: i64,
        /// At most this many clusters (0 = all)
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Only clusters with an item from a feed with this tag
        #[arg(long)]
        tag: Option<String>,
        /// Only clusters with an item from this feed (URL, name or the feed's own title)
        #[arg(long)]
        feed: Option<String>,
        /// Only clusters with an item whose title or text contains this text
        #[arg(long)]
        query: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// One cluster: every member, its feed, time, and why it joined
    Cluster {
        /// The cluster id (as shown by `clusters`)
        id: i64,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Full-text search over stored items, grouped by story, best match first
    Search {
        /// What to look for: words, "phrases", AND/OR/NOT, (), prefix*, title:word, as in
        /// watches; any other text looks for all of its words
        #[arg(required = true, num_args = 1.., value_name = "QUERY")]
        query: Vec<String>,
        /// Only stories whose newest member is at most this old (e.g. 24h, 7d)
        #[arg(long, default_value = "24h", value_parser = parse_duration_arg)]
        since: std::time::Duration,
        /// At most this many stories (0 = all)
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// The folded stream as a feed on stdout: one entry per story, with the other outlets' links
    Export {
        /// Atom or JSON Feed 1.1
        #[arg(long, value_enum, default_value = "atom")]
        format: crate::export::Format,
        /// Only stories whose newest member is at most this old (e.g. 24h, 7d)
        #[arg(long, default_value = "24h", value_parser = parse_duration_arg)]
        since: std::time::Duration,
        /// Only stories with an item matching this query (as `search`)
        #[arg(long)]
        query: Option<String>,
        /// Only stories with an item from a feed with this tag
        #[arg(long)]
        tag: Option<String>,
        /// Only stories with at least this many items
        #[arg(long, default_value_t = 1)]
        min_size: i64,
        /// At most this many stories, newest first (0 = all)
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// Feeds in and out as OPML
    Opml {
        #[command(subcommand)]
        action: OpmlCommand,
    },
    /// Items, stories, copies folded, feeds by state, store size
    Stats {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Shell completions on stdout (e.g. `feedfold completions bash > /etc/bash_completion.d/feedfold`)
    Completions { shell: clap_complete::Shell },
    /// The man page (roff) on stdout, or every page (one per command) into a folder
    Man {
        /// Write feedfold.1 and one page per command here instead
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Write a consistent copy of the store to PATH (also while the daemon runs)
    Backup {
        /// The new file (never overwritten)
        path: PathBuf,
    },
    /// Watches: replay one over stored history
    Watch {
        #[command(subcommand)]
        action: WatchCommand,
    },
    /// Alerts raised by the watches, newest first, with their delivery status per sink
    Alerts {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Cluster stored items again with the current [dedup] settings; report, then apply
    Recluster {
        /// Only items published (else fetched) at most this long ago (default: every item)
        #[arg(long, value_parser = parse_duration_arg)]
        since: Option<std::time::Duration>,
        /// Report what would change; change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// What the watch would have alerted over stored items: one line per story
    Test {
        /// The watch's name in the config
        name: String,
        /// Only items published (else fetched) at most this long ago (default: every item)
        #[arg(long, value_parser = parse_duration_arg)]
        since: Option<std::time::Duration>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OpmlCommand {
    /// Add the feeds of an OPML file (1.0 or 2.0; folders become tags) to the store, where the
    /// daemon polls them beside the config's feeds
    Import {
        /// The OPML file
        file: PathBuf,
    },
    /// Every feed (the config's and imported ones) as OPML 2.0 on stdout
    Export,
    /// Stop polling a feed that `opml import` added (its items stay); a running daemon stops
    /// after its next attempt at most
    Remove {
        /// The feed's URL, name or own title, as `feedfold feeds` shows it
        feed: String,
    },
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print one JSON document on stdout, nothing else
    #[arg(long)]
    pub json: bool,
}

fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    parse_duration(text)
}

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

/// An error and its causes, outermost first, each once: a library error that writes its cause
/// into its own message (`cannot read config file x: No such file ...`) and also gives it as
/// its source was printed with the cause twice by anyhow's `{:#}`.
fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

impl Failure {
    /// What the command prints for the failure: [`error_message`].
    pub fn message(&self) -> String {
        error_message(&self.error)
    }

    fn usage(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: 2,
            error: error.into(),
        }
    }
    fn runtime(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: 1,
            error: error.into(),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Failure {
        Failure::usage(e)
    }
}

type CliResult = Result<(), Failure>;

/// The daemon logs its work (info); `run --once` prints each failed feed and a summary itself,
/// so its log shows only errors unless `--log` or `RUST_LOG` asks for more.
pub fn default_log_filter(cli: &Cli) -> &'static str {
    match cli.command {
        Command::Run { once: false } => "info",
        Command::Run { once: true } => "error",
        _ => "warn",
    }
}

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> CliResult {
    match &cli.command {
        Command::Run { once } => run(&cli, *once),
        Command::CheckConfig => check_config(&cli),
        Command::Feeds { out } => feeds(&cli, out),
        Command::Clusters {
            since,
            min_size,
            limit,
            tag,
            feed,
            query,
            out,
        } => {
            let filter = ClusterFilter {
                since: since_cutoff(*since),
                min_size: *min_size,
                limit: *limit,
                tag: tag.clone(),
                feed: feed.clone(),
                query: query.as_deref().map(fts5_match_or_nothing),
            };
            clusters(&cli, &filter, *since, out)
        }
        Command::Search {
            query,
            since,
            limit,
            out,
        } => search(&cli, &query.join(" "), *since, *limit, out),
        Command::Cluster { id, out } => cluster(&cli, *id, out),
        Command::Recluster { since, dry_run } => recluster(&cli, *since, *dry_run),
        Command::Alerts { out } => alerts(&cli, out),
        Command::Export {
            format,
            since,
            query,
            tag,
            min_size,
            limit,
        } => {
            let filter = ClusterFilter {
                since: since_cutoff(*since),
                min_size: *min_size,
                limit: 0,
                tag: tag.clone(),
                feed: None,
                query: query.as_deref().map(fts5_match_or_nothing),
            };
            let description = describe_export(*since, query.as_deref(), tag.as_deref());
            export(&cli, *format, &filter, *limit, &description)
        }
        Command::Opml {
            action: OpmlCommand::Import { file },
        } => opml_import(&cli, file),
        Command::Opml {
            action: OpmlCommand::Export,
        } => opml_export(&cli),
        Command::Opml {
            action: OpmlCommand::Remove { feed },
        } => opml_remove(&cli, feed),
        Command::Stats { out } => stats(&cli, out),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "feedfold", &mut out);
            print(&String::from_utf8_lossy(&out))
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Backup { path } => {
            let store = open_for_query(&cli)?;
            store.backup(path).map_err(Failure::runtime)?;
            print(&format!(
                "backup of {} written to {}\n",
                escape(&store.path().display().to_string()),
                escape(&path.display().to_string())
            ))
        }
        Command::Watch {
            action: WatchCommand::Test { name, since },
        } => watch_test(&cli, name, *since),
    }
}

/// The unix time `since` ago.
fn since_cutoff(since: std::time::Duration) -> i64 {
    before(now_unix(), since)
}

/// The FTS5 expression for what the user typed; text without a single word to look for
/// becomes an expression that matches nothing (an empty result, not an error).
fn fts5_match_or_nothing(text: &str) -> String {
    crate::watches::fts5_match(text).unwrap_or_else(|| "\"\"".to_string())
}

#[derive(Serialize)]
struct SearchGroupJson<'a> {
    cluster: i64,
    size: i64,
    last_seen: String,
    title: &'a str,
    url: Option<&'a str>,
    /// How many of the story's items match (the best few are listed).
    matching: usize,
    items: Vec<SearchHitJson<'a>>,
}

#[derive(Serialize)]
struct SearchHitJson<'a> {
    id: i64,
    title: &'a str,
    url: Option<&'a str>,
    feed: &'a str,
    published: Option<String>,
    fetched: String,
    snippet: String,
    score: f64,
}

/// Words of context in a search snippet.
const SNIPPET_WORDS: usize = 16;

fn search(
    cli: &Cli,
    query: &str,
    since: std::time::Duration,
    limit: usize,
    out: &OutputArgs,
) -> CliResult {
    use render::{MATCH_END, MATCH_START, unmarked};
    let store = open_for_query(cli)?;
    let cutoff = since_cutoff(since);
    let groups = store
        .search(&fts5_match_or_nothing(query), cutoff, limit)
        .map_err(Failure::runtime)?;
    // The text around the first match (in the text, else the title, else the text's start).
    let terms = crate::watches::search_terms(query);
    let snippet_of = |hit: &crate::store::search::SearchHit| {
        let marks = (MATCH_START, MATCH_END);
        let (text, title) = (unmarked(&hit.text), unmarked(&hit.title));
        crate::watches::snippet(&text, &terms, SNIPPET_WORDS, marks)
            .or_else(|| crate::watches::snippet(&title, &terms, SNIPPET_WORDS, marks))
            .unwrap_or_else(|| {
                let start: Vec<&str> = text.split_whitespace().take(SNIPPET_WORDS).collect();
                start.join(" ") + "…"
            })
    };
    if out.json {
        let docs: Vec<SearchGroupJson> = groups
            .iter()
            .map(|g| SearchGroupJson {
                cluster: g.cluster,
                size: g.size,
                last_seen: rfc3339(g.last_seen),
                title: &g.title,
                url: g.url.as_deref(),
                matching: g.matching,
                items: g
                    .hits
                    .iter()
                    .map(|h| SearchHitJson {
                        id: h.item,
                        title: &h.title,
                        url: h.url.as_deref(),
                        feed: &h.feed,
                        published: h.published.map(rfc3339),
                        fetched: rfc3339(h.fetched),
                        snippet: snippet_of(h).replace([MATCH_START, MATCH_END], ""),
                        score: (h.score * 1000.0).round() / 1000.0,
                    })
                    .collect(),
            })
            .collect();
        return print(&(render::json(&docs) + "\n"));
    }
    if groups.is_empty() {
        let summary = store.period_summary(cutoff).map_err(Failure::runtime)?;
        let hint = match period_hint(&summary, cutoff, since) {
            Some(hint) => hint,
            None => format!(
                "no story of the last {} holds these words (try fewer words, or a longer --since)",
                period(since)
            ),
        };
        return print(&format!("nothing found: {hint}\n"));
    }
    let terminal = Terminal::stdout();
    let width = terminal.width.unwrap_or(usize::MAX).max(40);
    let now = now_unix();
    let mut text = String::new();
    for g in &groups {
        let head = format!(
            "story {}  {}  {}  ",
            g.cluster,
            plural(g.size, "item"),
            relative(g.last_seen, now)
        );
        let title = truncate(&g.title, width.saturating_sub(head.chars().count()));
        text.push_str(&terminal.bold(&format!("{head}{}", escape(&title))));
        text.push('\n');
        for h in &g.hits {
            let when = h.published.unwrap_or(h.fetched);
            let line = format!(
                "{} ({}, {})",
                truncate(&h.title, width.saturating_sub(4 + 30)),
                truncate(h.feed_name.as_deref().unwrap_or(host_of(&h.feed)), 24),
                relative(when, now)
            );
            text.push_str(&format!("  {}\n", escape(&line)));
            // Cut before highlighting: the markers are single characters.
            let snippet = truncate(&snippet_of(h), width.saturating_sub(4));
            text.push_str(&format!("    {}\n", terminal.snippet(&snippet)));
        }
        if g.matching > g.hits.len() {
            text.push_str(&format!(
                "  … and {} more matching\n",
                plural((g.matching - g.hits.len()) as i64, "item")
            ));
        }
    }
    print(&text)
}

/// The host of a URL (for naming a feed in little room), or the URL itself.
fn host_of(url: &str) -> &str {
    url.split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(rest))
        .filter(|host| !host.is_empty())
        .unwrap_or(url)
}

/// "1 item", "3 items".
fn plural(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Durations past a decade (`--since 100000d`) mean "everything".
const EVERYTHING: u64 = 10 * 366 * 86_400;

/// A `--since` period as a user would write it: `24h`, `7d`, else humantime's words.
fn period(since: std::time::Duration) -> String {
    match since.as_secs() {
        s if s % 86_400 == 0 && s > 86_400 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        _ => humantime::format_duration(since).to_string(),
    }
}

/// Why a listing of the period since `cutoff` (`since` long) is empty, when the period is the
/// reason: the store holds no story yet, or none was seen in the period (then, how long ago
/// the newest was, and a `--since` that reaches it). `None` when the period holds stories.
fn period_hint(summary: &PeriodSummary, cutoff: i64, since: std::time::Duration) -> Option<String> {
    let Some(newest) = summary.newest else {
        return Some(
            "the store holds no story yet (`feedfold run --once` fetches every feed; \
             `feedfold feeds` shows why one failed)"
                .to_string(),
        );
    };
    if newest >= cutoff {
        return None;
    }
    let now = now_unix();
    // Whole days, rounded up: the newest story falls inside.
    let days = (now - newest).max(0) / 86_400 + 1;
    Some(format!(
        "no story was seen in the last {}; the newest was last seen {} (try --since {days}d)",
        period(since),
        relative(newest, now)
    ))
}

/// Why a `clusters` listing is empty when its period holds stories: none is large enough, or
/// none matches the other filters.
fn filter_hint(
    summary: &PeriodSummary,
    filter: &ClusterFilter,
    since: std::time::Duration,
) -> String {
    let (n, last) = (summary.clusters, period(since));
    if summary.largest < filter.min_size {
        let stories = if n == 1 {
            "1 story".to_string()
        } else {
            format!("{n} stories")
        };
        return format!(
            "{stories} of the last {last}, none with {} items or more (try --min-size 1)",
            filter.min_size
        );
    }
    let given = [
        ("--tag", filter.tag.is_some()),
        ("--feed", filter.feed.is_some()),
        ("--query", filter.query.is_some()),
    ];
    let flags: Vec<&str> = given.iter().filter(|f| f.1).map(|f| f.0).collect();
    // (Without those filters the listing would hold the largest story: some flag is given.
    // "the filters" only guards the sentence.)
    let filters = if flags.is_empty() {
        "the filters".to_string()
    } else {
        flags.join(" and ")
    };
    format!(
        "no story of the last {last} with {} items or more matches {filters}",
        filter.min_size
    )
}

fn describe_export(since: std::time::Duration, query: Option<&str>, tag: Option<&str>) -> String {
    let mut text = if since.as_secs() > EVERYTHING {
        "all stories".to_string()
    } else {
        format!("stories of the last {}", period(since))
    };
    if let Some(q) = query {
        text.push_str(&format!(" matching {q}"));
    }
    if let Some(t) = tag {
        text.push_str(&format!(" tagged {t}"));
    }
    text
}

fn export(
    cli: &Cli,
    format: crate::export::Format,
    filter: &ClusterFilter,
    limit: usize,
    description: &str,
) -> CliResult {
    let store = open_for_query(cli)?;
    let mut stories = store.clusters(filter).map_err(Failure::runtime)?;
    // A feed lists the newest first.
    stories.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(b.id.cmp(&a.id)));
    if limit > 0 {
        stories.truncate(limit);
    }
    let representatives: Vec<i64> = stories.iter().filter_map(|s| s.representative).collect();
    let texts = store
        .item_texts(&representatives)
        .map_err(Failure::runtime)?;
    let feed_names = store.feed_names().map_err(Failure::runtime)?;
    let info = crate::export::ExportInfo {
        description,
        generated: now_unix(),
    };
    // The document escapes everything for its own format (XML or JSON), and carries no
    // terminal controls: feed text is stored without them and the renderers drop them.
    print(&crate::export::render(
        format,
        &info,
        &stories,
        &texts,
        &feed_names,
    ))
}

fn opml_import(cli: &Cli, file: &std::path::Path) -> CliResult {
    let config = load_config(cli)?;
    let document = std::fs::read(file).map_err(|e| {
        Failure::usage(anyhow::anyhow!(
            "cannot read the OPML file {}: {e}",
            file.display()
        ))
    })?;
    let list = crate::opml::parse(&document)
        .map_err(|e| Failure::usage(anyhow::anyhow!("{}: {e}", file.display())))?;
    let configured: std::collections::HashSet<String> =
        config.feeds.iter().map(|f| f.url.to_string()).collect();
    let (in_config, new): (Vec<_>, Vec<_>) = list
        .feeds
        .into_iter()
        .partition(|f| configured.contains(&f.url));
    let db = db_path(cli, Some(&config));
    let mut store = Store::open(&db).map_err(Failure::runtime)?;
    let added = store
        .import_feeds(&new, now_unix())
        .map_err(Failure::runtime)?;
    let mut out = String::new();
    for url in &added {
        out.push_str(&format!("added  {}\n", escape(url)));
    }
    for (url, why) in &list.invalid {
        out.push_str(&format!("skipped {}: {}\n", escape(url), escape(why)));
    }
    out.push_str(&format!(
        "{}: {} added; skipped: {} already known ({} in the config), {} listed twice, {} invalid\n",
        escape(&file.display().to_string()),
        plural(added.len() as i64, "feed"),
        new.len() - added.len() + in_config.len(),
        in_config.len(),
        list.duplicates,
        list.invalid.len()
    ));
    if !added.is_empty() {
        out.push_str(&format!(
            "They are kept in the store ({}), not in the config file: a running daemon starts polling them within a minute, and `feedfold feeds` lists them.\n",
            escape(&db.display().to_string())
        ));
    }
    print(&out)
}

fn opml_remove(cli: &Cli, feed: &str) -> CliResult {
    use crate::store::write::RemovedFeed;
    let config = load_config(cli)?;
    let db = db_path(cli, Some(&config));
    let mut store = Store::open_existing(&db).map_err(Failure::runtime)?;
    match store.remove_imported_feed(feed).map_err(Failure::runtime)? {
        RemovedFeed::Removed(url) => print(&format!(
            "removed {}: no longer polled; its items stay\n",
            escape(&url)
        )),
        RemovedFeed::AlreadyRemoved(url) => {
            print(&format!("{} was already removed\n", escape(&url)))
        }
        RemovedFeed::InConfig(url) => Err(Failure::usage(anyhow::anyhow!(
            "{} comes from the config file {}: delete its [[feeds]] entry there",
            escape(&url),
            config.source.display()
        ))),
        RemovedFeed::Unknown => Err(Failure::runtime(anyhow::anyhow!(
            "no feed {} in {}; `feedfold feeds` lists them",
            escape(feed),
            db.display()
        ))),
        RemovedFeed::Ambiguous => Err(Failure::usage(anyhow::anyhow!(
            "several feeds are titled {}; give the one to remove by its URL (`feedfold feeds --json` lists them)",
            escape(feed)
        ))),
    }
}

fn opml_export(cli: &Cli) -> CliResult {
    let config = load_config(cli)?;
    let db = db_path(cli, Some(&config));
    // The store has every feed the daemon polls; before the first run, the config says.
    let stored = match Store::open_existing(&db) {
        Ok(store) => store.feed_statuses().map_err(Failure::runtime)?,
        Err(crate::store::StoreError::Missing { .. }) => Vec::new(),
        Err(e) => return Err(Failure::runtime(e)),
    };
    let mut feeds: Vec<crate::opml::ExportFeed> = Vec::new();
    let mut listed = std::collections::HashSet::new();
    for f in stored.iter().filter(|f| f.active) {
        listed.insert(f.url.as_str());
        feeds.push(crate::opml::ExportFeed {
            url: &f.url_in_use,
            name: f.display_name(),
            tags: &f.tags,
        });
    }
    for f in &config.feeds {
        if listed.insert(f.url.as_str()) {
            feeds.push(crate::opml::ExportFeed {
                url: f.url.as_str(),
                name: f.name.as_deref(),
                tags: &f.tags,
            });
        }
    }
    print(&crate::opml::render(&feeds, now_unix()))
}

#[derive(Serialize)]
struct StatsJson<'a> {
    items: i64,
    clusters: i64,
    multi_item_clusters: i64,
    largest_cluster: i64,
    copies_folded: i64,
    feeds: std::collections::BTreeMap<&'a str, i64>,
    alerts: i64,
    pending_deliveries: i64,
    oldest_item: Option<String>,
    newest_item: Option<String>,
    store_bytes: u64,
}

fn stats(cli: &Cli, out: &OutputArgs) -> CliResult {
    let store = open_for_query(cli)?;
    let s = store.stats().map_err(Failure::runtime)?;
    // Every item beyond the first of its story is a copy or related report folded into it.
    let folded = s.items - s.clusters;
    if out.json {
        let doc = StatsJson {
            items: s.items,
            clusters: s.clusters,
            multi_item_clusters: s.multi_item_clusters,
            largest_cluster: s.largest_cluster,
            copies_folded: folded,
            feeds: s
                .feeds_by_state
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect(),
            alerts: s.alerts,
            pending_deliveries: s.pending_deliveries,
            oldest_item: s.oldest_item.map(rfc3339),
            newest_item: s.newest_item.map(rfc3339),
            store_bytes: s.store_bytes,
        };
        return print(&(render::json(&doc) + "\n"));
    }
    let feeds: i64 = s.feeds_by_state.iter().map(|(_, n)| n).sum();
    let by_state = s
        .feeds_by_state
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect::<Vec<_>>()
        .join(", ");
    let percent = |part: i64, whole: i64| {
        if whole > 0 {
            format!(" ({:.1} %)", 100.0 * part as f64 / whole as f64)
        } else {
            String::new()
        }
    };
    let now = now_unix();
    let text = format!(
        "items      {}\nstories    {} ({} with more than one item, the largest {})\nfolded     {} copies and related reports{}\nfeeds      {}{}\nalerts     {} ({} deliveries pending)\nfetched    {}\nstore      {} ({})\n",
        s.items,
        s.clusters,
        s.multi_item_clusters,
        s.largest_cluster,
        folded,
        percent(folded, s.items),
        feeds,
        if by_state.is_empty() {
            String::new()
        } else {
            format!(": {by_state}")
        },
        s.alerts,
        s.pending_deliveries,
        fetched_span(s.oldest_item, s.newest_item, now),
        human_bytes(s.store_bytes),
        escape(&store.path().display().to_string()),
    );
    print(&text)
}

/// When the stored items were first fetched: `-` for none, one time when the oldest and the
/// newest read alike ("3s ago", not "3s ago to 3s ago"), else the span.
fn fetched_span(oldest: Option<i64>, newest: Option<i64>, now: i64) -> String {
    match (
        oldest.map(|t| relative(t, now)),
        newest.map(|t| relative(t, now)),
    ) {
        (Some(oldest), Some(newest)) if oldest != newest => format!("{oldest} to {newest}"),
        (_, Some(newest)) => newest,
        (Some(oldest), None) => oldest,
        (None, None) => "-".into(),
    }
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn man(dir: Option<&std::path::Path>) -> CliResult {
    use clap::CommandFactory;
    let command = Cli::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(Failure::runtime)?;
            clap_mangen::generate_to(command, dir).map_err(Failure::runtime)?;
            print(&format!(
                "man pages written to {}\n",
                escape(&dir.display().to_string())
            ))
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .map_err(Failure::runtime)?;
            print(&String::from_utf8_lossy(&out))
        }
    }
}

/// How many merges and splits `recluster` lists by title.
const RECLUSTER_EXAMPLES: usize = 10;

fn recluster(cli: &Cli, since: Option<std::time::Duration>, dry_run: bool) -> CliResult {
    let config = load_config(cli)?;
    let db = db_path(cli, Some(&config));
    // It rewrites clusters: no daemon may be ingesting meanwhile.
    let _lock = crate::store::FetchLock::acquire(&db).map_err(Failure::runtime)?;
    let mut store = Store::open_existing(&db).map_err(Failure::runtime)?;
    let now = now_unix();
    let since_ts = since.map_or(i64::MIN, |d| before(now, d));
    let thresholds = pipeline::thresholds(&config);
    let plan = crate::recluster::plan(&store, thresholds, since_ts).map_err(Failure::runtime)?;
    let mut out = String::new();
    let period = if since.is_some() {
        format!("since {}", rfc3339(since_ts))
    } else {
        "all".to_string()
    };
    out.push_str(&format!(
        "recluster: {} ({period}), related coverage {}\n",
        plural(plan.items as i64, "item"),
        if thresholds.related_coverage {
            "on"
        } else {
            "off"
        }
    ));
    out.push_str(&format!(
        "  stories: {} before, {} after; items changing story: {}; merged: {}, split: {}\n",
        plan.clusters_before,
        plan.clusters_after,
        plan.moved,
        plan.merges.len(),
        plan.splits.len()
    ));
    let quoted = |titles: &[String]| {
        titles
            .iter()
            .map(|t| format!("\"{}\"", escape(&truncate(t, 60))))
            .collect::<Vec<_>>()
    };
    for merge in plan.merges.iter().take(RECLUSTER_EXAMPLES) {
        out.push_str(&format!(
            "  merged: {}\n",
            quoted(&merge.stories).join(" + ")
        ));
    }
    for split in plan.splits.iter().take(RECLUSTER_EXAMPLES) {
        out.push_str(&format!(
            "  split:  story {} into {}\n",
            split.cluster,
            quoted(&split.parts).join(" | ")
        ));
    }
    let listed =
        plan.merges.len().min(RECLUSTER_EXAMPLES) + plan.splits.len().min(RECLUSTER_EXAMPLES);
    if plan.merges.len() + plan.splits.len() > listed {
        out.push_str(&format!(
            "  ... and {} more\n",
            plan.merges.len() + plan.splits.len() - listed
        ));
    }
    if plan.is_unchanged() {
        out.push_str("nothing to change\n");
    } else if dry_run {
        out.push_str("dry run: nothing changed (run without --dry-run to apply)\n");
    } else {
        crate::recluster::apply(&mut store, &plan, now).map_err(Failure::runtime)?;
        out.push_str("applied\n");
    }
    print(&out)
}

fn load_config(cli: &Cli) -> Result<Config, Failure> {
    Ok(Config::locate_and_load(cli.config.as_deref())?)
}

/// The store path: `--db`, else the config's `[storage] path`.
fn db_path(cli: &Cli, config: Option<&Config>) -> PathBuf {
    match (&cli.db, config) {
        (Some(db), _) => db.clone(),
        (None, Some(c)) => c.storage.path.clone(),
        (None, None) => PathBuf::from("feedfold.db"),
    }
}

/// Opens the store for a query command. With `--db`, no config file is needed.
fn open_for_query(cli: &Cli) -> Result<Store, Failure> {
    let path = if cli.db.is_some() {
        db_path(cli, None)
    } else {
        db_path(cli, Some(&load_config(cli)?))
    };
    Store::open_existing(&path).map_err(Failure::runtime)
}

fn print(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not a failure of the command.
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::runtime(e)),
        _ => Ok(()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // SQLite work runs on one dedicated thread; the blocking pool only parses.
        .max_blocking_threads(16)
        .build()
        .map_err(Failure::runtime)
}

/// How long `run --once` spends delivering alerts before it exits (the rest stays pending).
const RUN_ONCE_DELIVERY_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

fn run(cli: &Cli, once: bool) -> CliResult {
    let config = load_config(cli)?;
    let db = db_path(cli, Some(&config));
    let rt = runtime()?;
    rt.block_on(async {
        let shutdown = CancellationToken::new();
        let signals = tokio::spawn(stop_on_signal(shutdown.clone()));
        let result = if once {
            let progress = std::cell::RefCell::new(render::Progress::on_stderr());
            let result = pipeline::run_once(
                &config,
                &db,
                &shutdown,
                |total| progress.borrow_mut().start(total),
                |feed, result| {
                    let mut progress = progress.borrow_mut();
                    let (label, message) = match result {
                        FeedResult::Failed(error) => ("error", error),
                        FeedResult::Deferred(reason) => ("deferred", reason),
                        _ => return progress.done(false),
                    };
                    // Fetch and parse errors name the URL already; others get it in front.
                    let line = if message.contains(&feed.url_in_use) {
                        format!("{label}: {}", escape(message))
                    } else {
                        format!("{label}: {}: {}", escape(&feed.url_in_use), escape(message))
                    };
                    progress.message(&line);
                    progress.done(label == "error");
                },
            )
            .await;
            progress.borrow_mut().finish();
            result
        } else {
            let notifier = Notifier::from_env();
            daemon::run_daemon(&config, &db, shutdown.clone(), &notifier).await
        };
        let delivered = if once && result.is_ok() && !config.sinks.is_empty() {
            // Deliver what is pending (also from earlier runs), within a bound.
            Some(crate::alerts::deliver_pending(&config, &db, RUN_ONCE_DELIVERY_LIMIT).await)
        } else {
            None
        };
        signals.abort();
        match result {
            Ok(report) => {
                if once {
                    println!("{report}");
                    match delivered {
                        Some(Ok(d)) if d != Default::default() => println!(
                            "alerts: {} delivered, {} to retry, {} failed",
                            d.delivered, d.retrying, d.failed
                        ),
                        Some(Err(e)) => {
                            eprintln!("error: alert delivery: {}", escape(&error_message(&e)))
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            Err(e) => Err(Failure::runtime(
                anyhow::Error::new(e).context(format!("feedfold run on {}", db.display())),
            )),
        }
    })
}

async fn stop_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("signal received: finishing the transaction in hand, then exiting");
    shutdown.cancel();
}

fn check_config(cli: &Cli) -> CliResult {
    let config = match Config::locate_and_load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!("the config has errors"),
            });
        }
    };
    let mut text = format!(
        "{}: ok\n  store: {}\n  feeds: {}\n  watches: {}\n  sinks: {}\n  fetch: every {} (concurrency {}, {} per host, {} apart), timeout {}, max body {}\n  dedup window: {}\n",
        config.source.display(),
        db_path(cli, Some(&config)).display(),
        config.feeds.len(),
        config.watches.len(),
        config.sinks.len(),
        humantime::format_duration(config.fetch.interval),
        config.fetch.concurrency,
        config.fetch.per_host,
        humantime::format_duration(config.fetch.host_spacing),
        humantime::format_duration(config.fetch.timeout),
        human_bytes(config.fetch.max_body),
        period(config.dedup.window),
    );
    for w in &config.warnings {
        text.push_str(&format!("  warning: {w}\n"));
    }
    print(&render::escape_lines(&text))
}

#[derive(Serialize)]
struct FeedJson<'a> {
    url: &'a str,
    name: Option<&'a str>,
    tags: &'a [String],
    state: &'a str,
    last_fetch: Option<String>,
    last_status: Option<i64>,
    error_count: i64,
    last_error: Option<&'a str>,
    next_fetch: Option<String>,
    items: i64,
}

fn watch_test(cli: &Cli, name: &str, since: Option<std::time::Duration>) -> CliResult {
    let config = load_config(cli)?;
    let watches = crate::watches::Watches::new(&config);
    let Some(index) = watches.index_of(name) else {
        let known: Vec<&str> = config.watches.iter().map(|w| w.name.as_str()).collect();
        return Err(Failure::usage(anyhow::anyhow!(
            "no watch named {name:?} in {} (watches: {})",
            config.source.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    let watch = watches.get(index);
    let store = open_for_query(cli)?;
    let now = now_unix();
    let since_ts = since.map_or(i64::MIN, |d| before(now, d));
    let history = store.history_since(since_ts).map_err(Failure::runtime)?;
    // Per story: when a member first matched, the terms, and every feed that carries it.
    struct Story {
        first: i64,
        title: String,
        matched: Vec<String>,
        feeds: std::collections::BTreeSet<String>,
        hit: bool,
    }
    let mut stories: std::collections::BTreeMap<i64, Story> = Default::default();
    let mut matching_items = 0;
    for item in &history {
        let story = stories.entry(item.cluster).or_insert_with(|| Story {
            first: item.ts,
            title: item.title.clone(),
            matched: Vec::new(),
            feeds: Default::default(),
            hit: false,
        });
        story.feeds.extend(item.feeds.iter().cloned());
        let found = item
            .feeds
            .iter()
            .find_map(|feed| watches.matches(index, feed, &item.title, &item.text));
        if let Some(found) = found {
            matching_items += 1;
            if !story.hit {
                story.first = item.ts;
                story.title = item.title.clone();
                story.hit = true;
            }
            for term in found {
                if !story.matched.contains(&term) {
                    story.matched.push(term);
                }
            }
        }
    }
    let mut hits: Vec<(i64, &Story)> = stories
        .iter()
        .filter(|(_, s)| s.hit && s.feeds.len() >= watch.min_sources)
        .map(|(id, s)| (*id, s))
        .collect();
    hits.sort_by_key(|(id, s)| (s.first, *id));
    let mut out = String::new();
    for (id, s) in &hits {
        out.push_str(&format!(
            "{}  story {id}  {} outlets  [{}]  {}\n",
            rfc3339(s.first),
            s.feeds.len(),
            escape(&s.matched.join(", ")),
            escape(&truncate(&s.title, 80))
        ));
    }
    out.push_str(&format!(
        "watch {:?} ({}): {} matching items in {} stories would have raised {} alerts{}\n",
        name,
        escape(&watch.query_text),
        matching_items,
        stories.values().filter(|s| s.hit).count(),
        hits.len(),
        if watch.min_sources > 1 {
            format!(" (min_sources {})", watch.min_sources)
        } else {
            String::new()
        }
    ));
    print(&out)
}

#[derive(Serialize)]
struct AlertJson<'a> {
    id: i64,
    watch: &'a str,
    cluster: i64,
    kind: &'a str,
    title: &'a str,
    url: Option<&'a str>,
    created: String,
    deliveries: Vec<DeliveryJson<'a>>,
}

#[derive(Serialize)]
struct DeliveryJson<'a> {
    sink: &'a str,
    status: &'a str,
    attempts: i64,
    last_error: Option<&'a str>,
}

fn alerts(cli: &Cli, out: &OutputArgs) -> CliResult {
    let store = open_for_query(cli)?;
    let alerts = store.alerts().map_err(Failure::runtime)?;
    if out.json {
        let docs: Vec<AlertJson> = alerts
            .iter()
            .map(|(a, ds)| AlertJson {
                id: a.id,
                watch: &a.watch,
                cluster: a.cluster,
                kind: &a.kind,
                title: &a.title,
                url: a.url.as_deref(),
                created: rfc3339(a.created),
                deliveries: ds
                    .iter()
                    .map(|d| DeliveryJson {
                        sink: &d.sink,
                        status: &d.status,
                        attempts: d.attempts,
                        last_error: d.last_error.as_deref(),
                    })
                    .collect(),
            })
            .collect();
        return print(&(render::json(&docs) + "\n"));
    }
    if alerts.is_empty() {
        return print("no alerts yet: a watch alerts when a new story matches its query\n");
    }
    let now = now_unix();
    let mut table = Table::new(vec![
        "WATCH", "RAISED", "KIND", "STORY", "DELIVERY", "TITLE",
    ]);
    // Per watch, newest first within each.
    let mut alerts = alerts;
    alerts.sort_by(|(a, _), (b, _)| a.watch.cmp(&b.watch).then(b.created.cmp(&a.created)));
    for (a, ds) in &alerts {
        let kind = if a.kind == "follow-up" {
            format!("follow-up {}", a.threshold)
        } else {
            a.kind.clone()
        };
        let delivery = ds
            .iter()
            .map(|d| match (d.status.as_str(), &d.last_error) {
                ("pending", Some(e)) => format!(
                    "{}: retrying ({} tries: {})",
                    d.sink,
                    d.attempts,
                    truncate(e, 40)
                ),
                (status, _) => format!("{}: {status}", d.sink),
            })
            .collect::<Vec<_>>()
            .join(", ");
        table.row(vec![
            a.watch.clone(),
            relative(a.created, now),
            kind,
            a.cluster.to_string(),
            delivery,
            truncate(&a.title, 60),
        ]);
    }
    print(&table.render_for(Terminal::stdout()))
}

fn feeds(cli: &Cli, out: &OutputArgs) -> CliResult {
    let store = open_for_query(cli)?;
    let feeds = store.feed_statuses().map_err(Failure::runtime)?;
    if out.json {
        let docs: Vec<FeedJson> = feeds.iter().map(feed_json).collect();
        return print(&(render::json(&docs) + "\n"));
    }
    let now = now_unix();
    let mut table = Table::new(vec![
        "STATE",
        "ITEMS",
        "ERRORS",
        "LAST FETCH",
        "STATUS",
        "NEXT",
        "FEED",
        "LAST ERROR",
    ]);
    for f in &feeds {
        let state = if f.active {
            f.state.clone()
        } else {
            format!("{} (removed)", f.state)
        };
        table.row(vec![
            state,
            f.items.to_string(),
            f.error_count.to_string(),
            f.last_fetch.map_or("never".into(), |t| relative(t, now)),
            f.last_status.map_or("-".into(), |s| s.to_string()),
            match (f.state.as_str(), f.next_fetch) {
                ("gone", _) => "stopped".into(),
                (_, Some(t)) if t <= now => "due".into(),
                (_, Some(t)) => relative(t, now),
                (_, None) => "due".into(),
            },
            truncate_middle(f.display_name().unwrap_or(&f.url_in_use), 40),
            truncate(f.last_error.as_deref().unwrap_or(""), 80),
        ]);
    }
    if table.is_empty() {
        return print(
            "no feeds in the store yet; add [[feeds]] to the config and run `feedfold run --once`\n",
        );
    }
    print(&table.render_for(Terminal::stdout()))
}

fn feed_json(f: &FeedStatus) -> FeedJson<'_> {
    FeedJson {
        url: &f.url_in_use,
        name: f.name.as_deref(),
        tags: &f.tags,
        state: &f.state,
        last_fetch: f.last_fetch.map(rfc3339),
        last_status: f.last_status,
        error_count: f.error_count,
        last_error: f.last_error.as_deref(),
        next_fetch: if f.state == "gone" {
            None
        } else {
            f.next_fetch.map(rfc3339)
        },
        items: f.items,
    }
}

#[derive(Serialize)]
struct ClusterJson<'a> {
    id: i64,
    size: i64,
    sources: i64,
    first_seen: String,
    last_seen: String,
    title: &'a str,
    url: Option<&'a str>,
    items: Vec<ItemJson<'a>>,
}

#[derive(Serialize)]
struct ItemJson<'a> {
    id: i64,
    guid: &'a str,
    url: Option<&'a str>,
    title: &'a str,
    feed: &'a str,
    feeds: &'a [String],
    published: Option<String>,
    fetched: String,
    reason: ReasonJson,
}

/// Why an item is in its cluster: the rule, its evidence and the member it matched.
#[derive(Serialize)]
struct ReasonJson {
    rule: String,
    score: Option<f64>,
    distance: Option<i64>,
    matched: Option<i64>,
}

fn cluster_json(c: &ClusterView) -> ClusterJson<'_> {
    ClusterJson {
        id: c.id,
        size: c.size,
        sources: c.sources,
        first_seen: rfc3339(c.first_seen),
        last_seen: rfc3339(c.last_seen),
        title: &c.title,
        url: c.url.as_deref(),
        items: c
            .items
            .iter()
            .map(|i| ItemJson {
                id: i.id,
                guid: &i.guid,
                url: i.url.as_deref(),
                title: &i.title,
                feed: &i.feed,
                feeds: &i.feeds,
                published: i.published.map(rfc3339),
                fetched: rfc3339(i.fetched),
                reason: ReasonJson {
                    rule: i.rule.clone(),
                    score: i.score.map(|s| (s * 1000.0).round() / 1000.0),
                    distance: i.distance,
                    matched: i.matched,
                },
            })
            .collect(),
    }
}

fn clusters(
    cli: &Cli,
    filter: &ClusterFilter,
    since: std::time::Duration,
    out: &OutputArgs,
) -> CliResult {
    let store = open_for_query(cli)?;
    let clusters = store.clusters(filter).map_err(Failure::runtime)?;
    if out.json {
        let docs: Vec<ClusterJson> = clusters.iter().map(cluster_json).collect();
        return print(&(render::json(&docs) + "\n"));
    }
    if clusters.is_empty() {
        let summary = store
            .period_summary(filter.since)
            .map_err(Failure::runtime)?;
        let hint = period_hint(&summary, filter.since, since)
            .unwrap_or_else(|| filter_hint(&summary, filter, since));
        return print(&format!("no clusters: {hint}\n"));
    }
    let now = now_unix();
    let mut table = Table::new(vec!["ID", "SIZE", "SOURCES", "LAST SEEN", "TITLE"]);
    for c in &clusters {
        table.row(vec![
            c.id.to_string(),
            c.size.to_string(),
            c.sources.to_string(),
            relative(c.last_seen, now),
            truncate(&c.title, 90),
        ]);
    }
    print(&table.render_for(Terminal::stdout()))
}

fn cluster(cli: &Cli, id: i64, out: &OutputArgs) -> CliResult {
    let store = open_for_query(cli)?;
    let Some(c) = store.cluster(id).map_err(Failure::runtime)? else {
        return Err(Failure::runtime(anyhow::anyhow!(
            "no cluster with id {id} in {}; `feedfold clusters --min-size 1` lists them",
            store.path().display()
        )));
    };
    if out.json {
        return print(&(render::json(&cluster_json(&c)) + "\n"));
    }
    let names = store.feed_names().map_err(Failure::runtime)?;
    let now = now_unix();
    let mut text = format!(
        "cluster {}: {} from {}, {} to {}\n{}\n{}\n\n",
        c.id,
        plural(c.size, "item"),
        plural(c.sources, "feed"),
        rfc3339(c.first_seen),
        rfc3339(c.last_seen),
        escape(&c.title),
        escape(c.url.as_deref().unwrap_or("")),
    );
    let mut table = Table::new(vec![
        "ITEM",
        "PUBLISHED",
        "RULE",
        "SCORE",
        "DIST",
        "MATCHED",
        "FEED",
        "TITLE",
    ]);
    for i in &c.items {
        table.row(vec![
            i.id.to_string(),
            i.published.map_or_else(
                || format!("({} fetched)", relative(i.fetched, now)),
                |t| relative(t, now),
            ),
            i.rule.clone(),
            i.score.map_or("-".into(), |s| format!("{s:.2}")),
            i.distance.map_or("-".into(), |d| d.to_string()),
            i.matched.map_or("-".into(), |m| m.to_string()),
            truncate_middle(
                &i.feeds
                    .iter()
                    .map(|url| names.get(url).unwrap_or(url).as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                50,
            ),
            truncate(&i.title, 70),
        ]);
    }
    text.push_str(&table.render_for(Terminal::stdout()));
    print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_names_each_cause_once() {
        // A cause in the error's own message and again as its source: once.
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let read = ConfigError::Read {
            path: "nope.toml".into(),
            source: missing,
        };
        assert_eq!(
            Failure::usage(read).message(),
            "cannot read config file nope.toml: No such file"
        );
        // Context that does not repeat its cause: every level.
        let chained = anyhow::Error::new(std::io::Error::other("disk full"))
            .context("writing the backup")
            .context("backup of x.db");
        assert_eq!(
            Failure::runtime(chained).message(),
            "backup of x.db: writing the backup: disk full"
        );
    }

    #[test]
    fn the_fetch_span_reads_as_one_time_when_both_ends_read_alike() {
        let now = 1_000_000;
        assert_eq!(fetched_span(None, None, now), "-");
        assert_eq!(fetched_span(Some(now - 3), Some(now - 3), now), "3s ago");
        assert_eq!(
            fetched_span(Some(now - 2 * 86_400), Some(now - 60), now),
            "2d ago to 1m ago"
        );
    }
}
