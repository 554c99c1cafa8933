//! The quality harness: runs the real normalize and dedup code over labelled data, in time order,
//! and prints pairwise and B-cubed precision, recall and F1 with cluster counts.
//!
//! ```sh
//! cargo run --release --example quality -- FILE.jsonl          # {id, title, text, published, label}
//! cargo run --release --example quality -- --ecbplus ../shared/data/ecbplus-dev.jsonl [--shuffle SEED] [--batch N] [--errors]
//! cargo run --release --example quality -- --sts ../shared/data/sts-headlines/headlines-only.tsv
//! cargo run --release --example quality -- --feeds ../shared/data/synd-dev   # feeds/*.xml + gold.json
//! ```
//!
//! JSONL: one object a line; `text` may hold HTML; `published` is RFC 3339 or absent (then items
//! are taken in file order, all at one time). `--ecbplus` reads the ECB+ format (one label per
//! real event) and also prints the topic-only baseline; it has no times, so its documents come in
//! file order (grouped by topic) unless `--shuffle SEED` deals them in a random order.
//! `--feeds DIR` reads every `DIR/feeds/*.xml` through the real parser and normalizer, labelled
//! by `DIR/gold.json` (guid → story), as the syndication sets (`../shared/data/synd-dev`,
//! `examples/syndicate`) are laid out. `--batch N` stores the items N to a transaction, as a
//! fetch of N items would be (1 by default, 0 for all in one). `--sts` scores the "same story"
//! decision on headline pairs: pairs scored 4 or more should be one story, 2 or less two.
//! `--errors` lists wrong merges (or, with `--sts`, the pairs decided wrongly).

use std::collections::HashMap;

use feedfold::dedup::{Deduplicator, Fingerprint, Thresholds};
use feedfold::eval::score;
use feedfold::normalize::{clean_title, html_to_text, normalize_entries};
use feedfold::parse::parse_feed;

#[path = "../benches/support/mod.rs"]
mod support;

struct Record {
    id: String,
    title: String,
    text: String,
    published: i64,
    label: String,
}

const WINDOW: i64 = 72 * 3600;

/// The thresholds in use: the defaults, or for tuning `--related X` (related coverage at that
/// similarity), `--no-related` (none), `--related-headline X`, `--related-supported X`,
/// `--related-bridge X`, `--merge-stories` (`[dedup] merge_stories = true`) and
/// `--min-name-idf X`.
fn parse_thresholds() -> Thresholds {
    let mut t = Thresholds::with_window(WINDOW);
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--related" => {
                t.related_coverage = true;
                t.related = pair[1].parse().expect("--related X");
            }
            "--min-name-idf" => t.min_name_idf = pair[1].parse().expect("--min-name-idf X"),
            "--related-headline" => {
                t.related_headline_only = pair[1].parse().expect("--related-headline X")
            }
            "--related-bridge" => t.related_bridge = pair[1].parse().expect("--related-bridge X"),
            "--related-supported" => {
                t.related_supported = pair[1].parse().expect("--related-supported X")
            }
            _ => {}
        }
    }
    if args.iter().any(|a| a == "--no-related") {
        t.related_coverage = false;
    }
    if args.iter().any(|a| a == "--merge-stories") {
        t.merge_stories = true;
    }
    t
}

/// The thresholds, read from the command line once.
fn thresholds() -> Thresholds {
    static THRESHOLDS: std::sync::OnceLock<Thresholds> = std::sync::OnceLock::new();
    *THRESHOLDS.get_or_init(parse_thresholds)
}

/// The fingerprint, with event terms where related coverage is on.
fn fingerprint(title: &str, text: &str) -> Fingerprint {
    thresholds().fingerprint(title, text)
}

/// How many items the daemon stores in one transaction (`--batch N`, 1 by default; 0 for all
/// in one): a story started in the batch may still be folded into another
/// ([`Deduplicator::begin_batch`]). A fetch of one feed is one batch.
fn batch_size() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == "--batch").map_or(1, |at| {
        args.get(at + 1)
            .and_then(|n| n.parse().ok())
            .expect("--batch N")
    })
}

/// Clusters `records` in time order; returns id → cluster and the decisions' rules.
fn cluster(records: &[Record]) -> (HashMap<String, i64>, HashMap<&'static str, usize>) {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| records[i].published);
    let mut dedup = Deduplicator::new(thresholds());
    let mut assigned = HashMap::new();
    let mut rules: HashMap<&'static str, usize> = HashMap::new();
    let batch = batch_size();
    // As the store does: the folded story's members move.
    let fold = |assigned: &mut HashMap<String, i64>, story: i64, into: i64| {
        for c in assigned.values_mut() {
            if *c == story {
                *c = into;
            }
        }
    };
    for (n, &i) in order.iter().enumerate() {
        if batch > 0 && n % batch == 0 {
            for refold in dedup.review_batch() {
                fold(&mut assigned, refold.story, refold.into);
                *rules.entry("stories refolded").or_default() += 1;
            }
            dedup.begin_batch();
        }
        let r = &records[i];
        let fp = fingerprint(&clean_title(&r.title), &html_to_text(&r.text));
        let decision = dedup.decide(&fp, r.published);
        let cluster = decision.cluster.unwrap_or_else(|| {
            dedup.start_story(n as i64);
            n as i64
        });
        *rules.entry(decision.rule.as_str()).or_default() += 1;
        dedup.insert(
            n as i64,
            cluster,
            r.published,
            fp,
            decision.is_independent_report(),
        );
        if let Some(merged) = decision.merged {
            dedup.fold_story(merged.cluster, cluster);
            *rules.entry("stories merged").or_default() += 1;
            fold(&mut assigned, merged.cluster, cluster);
        }
        assigned.insert(r.id.clone(), cluster);
    }
    for refold in dedup.review_batch() {
        fold(&mut assigned, refold.story, refold.into);
        *rules.entry("stories refolded").or_default() += 1;
    }
    (assigned, rules)
}

fn read_jsonl(path: &str) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}:{}: {e}", n + 1));
            let field = |k: &str| {
                v[k].as_str()
                    .map(str::to_string)
                    .or_else(|| v[k].as_i64().map(|i| i.to_string()))
            };
            Record {
                id: field("id").unwrap_or_else(|| n.to_string()),
                title: field("title").unwrap_or_default(),
                text: field("text").unwrap_or_default(),
                published: v["published"]
                    .as_str()
                    .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
                    .map_or(0, |t| t.timestamp()),
                label: field("label").expect("every record needs a label"),
            }
        })
        .collect()
}

/// The items of a syndication set's feed files, parsed and normalized as `run --once` does,
/// labelled by its `gold.json`.
fn read_feeds(dir: &str) -> Vec<Record> {
    let dir = std::path::Path::new(dir);
    let gold: HashMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("gold.json")).expect("DIR/gold.json"),
    )
    .expect("gold.json maps guid to story");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("feeds"))
        .expect("DIR/feeds/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let mut records = Vec::new();
    for file in files {
        let body = std::fs::read(&file).unwrap();
        let base = format!("file://{}", file.display());
        let parsed = parse_feed(&body, &base).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for item in normalize_entries(&parsed.entries, 0) {
            let Some(label) = gold.get(&item.guid) else {
                continue;
            };
            records.push(Record {
                id: item.guid.clone(),
                title: item.title,
                text: item.text,
                published: item.published.unwrap_or(0),
                label: label.clone(),
            });
        }
    }
    records
}

fn print_scores(name: &str, predicted: &HashMap<String, i64>, gold: &HashMap<String, String>) {
    println!("{name}\n{}", score(predicted, gold));
}

fn errors(records: &[Record], predicted: &HashMap<String, i64>) {
    let mut by_cluster: HashMap<i64, Vec<&Record>> = HashMap::new();
    for r in records {
        by_cluster.entry(predicted[&r.id]).or_default().push(r);
    }
    let mut merged: Vec<_> = by_cluster
        .values()
        .filter(|rs| rs.iter().any(|r| r.label != rs[0].label))
        .collect();
    merged.sort_by_key(|rs| std::cmp::Reverse(rs.len()));
    for rs in merged.iter().take(15) {
        println!("merged:");
        for r in rs.iter() {
            println!("  [{}] {}", r.label, r.title);
        }
    }
    // Splits: each gold story spread over several clusters, with each fragment's size and first
    // title.
    let mut by_label: HashMap<&str, HashMap<i64, Vec<&Record>>> = HashMap::new();
    for r in records {
        by_label
            .entry(r.label.as_str())
            .or_default()
            .entry(predicted[&r.id])
            .or_default()
            .push(r);
    }
    let mut split: Vec<_> = by_label.iter().filter(|(_, c)| c.len() > 1).collect();
    split.sort_by_key(|(label, c)| (std::cmp::Reverse(c.len()), *label));
    for (label, fragments) in split.iter().take(15) {
        let mut fragments: Vec<&Vec<&Record>> = fragments.values().collect();
        fragments.sort_by_key(|f| std::cmp::Reverse(f.len()));
        println!("split [{label}] into {}:", fragments.len());
        for f in fragments {
            println!("  {:3} x {}", f.len(), f[0].title);
        }
    }
}

fn sts(path: &str, show_errors: bool) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (mut tp, mut fp_, mut fn_, mut tn, mut skipped) = (0usize, 0usize, 0usize, 0usize, 0usize);
    // IDF needs a stream: all headlines of the file first feed the term statistics of a
    // background index; each pair is then decided in a copy of it.
    let rows: Vec<(f64, String, String)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.len() >= 6).then(|| {
                (
                    cols[3].parse().unwrap_or(-1.0),
                    cols[4].to_string(),
                    cols[5].to_string(),
                )
            })
        })
        .collect();
    let background = background(&rows);
    for (score, a, b) in &rows {
        let positive = *score >= 4.0;
        let negative = *score <= 2.0;
        if !positive && !negative {
            skipped += 1;
            continue;
        }
        // The first headline is stored in a copy of the background, the second decided against
        // it, so that pairs do not see each other.
        let mut dedup = background.clone();
        dedup.insert(-1, -1, 0, fingerprint(&clean_title(a), ""), true);
        let same = dedup.decide(&fingerprint(&clean_title(b), ""), 0).cluster == Some(-1);
        if show_errors && positive != same {
            println!("{} {score}: {a} | {b}", if same { "FP" } else { "FN" });
        }
        match (positive, same) {
            (true, true) => tp += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp_ += 1,
            (false, false) => tn += 1,
        }
    }
    let p = if tp + fp_ > 0 {
        tp as f64 / (tp + fp_) as f64
    } else {
        1.0
    };
    let r = tp as f64 / (tp + fn_).max(1) as f64;
    println!(
        "STS headlines: same-story decision on pairs scored >= 4 (positive) vs <= 2 (negative); {skipped} pairs in between skipped\n  TP {tp}  FP {fp_}  FN {fn_}  TN {tn}\n  precision {p:.4}  recall {r:.4}  F1 {:.4}",
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    );
}

/// A deduplicator whose term statistics have seen every headline of the file (as a running
/// daemon has seen the day's news), but which holds no cluster a pair could join: the
/// background items lie far outside the window.
fn background(rows: &[(f64, String, String)]) -> Deduplicator {
    let mut dedup = Deduplicator::new(thresholds());
    for (n, headline) in rows.iter().flat_map(|(_, a, b)| [a, b]).enumerate() {
        let id = 1_000_000 + n as i64;
        dedup.insert(
            id,
            id,
            -10 * WINDOW,
            fingerprint(&clean_title(headline), ""),
            true,
        );
    }
    dedup
}

/// Fisher-Yates with xorshift64: the same order for the same seed, on every machine.
fn shuffle(order: &mut [i64], seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

fn gold_of(records: &[Record]) -> HashMap<String, String> {
    records
        .iter()
        .map(|r| (r.id.clone(), r.label.clone()))
        .collect()
}

/// Clusters the records and prints the scores (and, with `--errors`, the wrong merges).
fn evaluate(records: &[Record], show_errors: bool) {
    let (predicted, rules) = cluster(records);
    print_scores(
        &format!("feedfold (decisions: {rules:?}):"),
        &predicted,
        &gold_of(records),
    );
    if show_errors {
        errors(records, &predicted);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_errors = args.iter().any(|a| a == "--errors");
    match args.first().map(String::as_str) {
        Some("--sts") => sts(args.get(1).expect("--sts FILE"), show_errors),
        Some("--ecbplus") => {
            let docs = support::ecbplus(args.get(1).expect("--ecbplus FILE"));
            // ECB+ has no publication times: the documents come in file order (grouped by
            // topic), or with `--shuffle SEED` in a random order, as a daemon reading several
            // feeds at once would see them.
            let mut order: Vec<i64> = (0..docs.len() as i64).collect();
            if let Some(at) = args.iter().position(|a| a == "--shuffle") {
                let seed: u64 = args
                    .get(at + 1)
                    .and_then(|s| s.parse().ok())
                    .expect("--shuffle SEED");
                shuffle(&mut order, seed);
            }
            let records: Vec<Record> = docs
                .iter()
                .zip(&order)
                .map(|(d, &at)| Record {
                    id: d.id.clone(),
                    title: d.title.clone(),
                    text: d.sentences.iter().map(|s| format!("<p>{s}</p>")).collect(),
                    published: at,
                    label: d.event.clone(),
                })
                .collect();
            let gold = gold_of(&records);
            let topics: HashMap<String, i64> =
                docs.iter().map(|d| (d.id.clone(), d.topic)).collect();
            print_scores(
                "topic-only baseline (every document of a topic in one cluster):",
                &topics,
                &gold,
            );
            evaluate(&records, show_errors);
        }
        Some("--feeds") => evaluate(&read_feeds(args.get(1).expect("--feeds DIR")), show_errors),
        Some("--help" | "-h") => println!("{USAGE}"),
        // The data comes first; a tuning option there would be read as a file name.
        Some(path) if !path.starts_with('-') => evaluate(&read_jsonl(path), show_errors),
        Some(_) | None => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

const USAGE: &str = "usage: quality (FILE.jsonl | --ecbplus FILE [--shuffle SEED] | --sts FILE | --feeds DIR) [--batch N] [--errors]
       tuning, after the data: --related X --related-headline X --related-supported X
       --related-bridge X --min-name-idf X --merge-stories --no-related";
