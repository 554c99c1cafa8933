//! Syndication set generator: realistic copies of real articles spread over many outlets' feeds,
//! with gold labels, for measuring how well feedfold folds copies of one story.
//!
//! ```sh
//! cargo run --release --example syndicate -- --out /tmp/synd \
//!     [--source ../shared/data/ecbplus-dev.jsonl] [--extra ../shared/data/sample-article.txt] \
//!     [--seed 7] [--outlets 24] [--max-copies 6] [--templated 12]
//! ```
//!
//! Writes `OUT/feeds/fNNNN.xml` (RSS 2.0 and Atom), `OUT/gold.json` (guid → story) and
//! `OUT/feedfold.toml` (the feeds as `file://` URLs, store `OUT/feedfold.db`). Then:
//! `feedfold --config OUT/feedfold.toml run --once`, `feedfold --config OUT/feedfold.toml clusters
//! --json --limit 0 --min-size 1 --since 100000d > OUT/clusters.json`, and the `score` example.
//!
//! Each story is one real article (one per ECB+ event, plus `--extra` text files); each copy gets
//! the edits syndication makes: a new or prefixed headline, a dateline, trimmed paragraphs or an
//! excerpt, wire boilerplate, HTML wrappers and images, another quote style, entity-encoded
//! punctuation, tracking parameters and fragments in the link, a later publication time.
//! `--templated` adds hard negatives: stories written from one template that differ only in
//! their numbers and names (market wraps, lottery draws, weather), each its own story.
//!
//! `--events-as-feeds N` writes instead every document of `--source` (ECB+: several outlets'
//! own reports of each event, and two events of one kind per topic) as it is, dealt round robin
//! into N feeds, in file order or with `--shuffle` in an order that `--seed` draws; gold.json
//! maps each to its event. This is related coverage through the real `run --once` path: with
//! `--base-url URL` the config names `URL/feeds/fNNNN.xml` (serve OUT there, for instance with
//! `python3 -m http.server`) at the default `host_spacing`, so that fetches from one host come
//! a second apart; otherwise `file://` URLs.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "../benches/support/mod.rs"]
mod support;
use support::Rng;

struct Article {
    title: String,
    paragraphs: Vec<String>,
}

struct Copy {
    guid: String,
    story: String,
    title: String,
    html: String,
    link: String,
    published: i64,
}

fn load_ecbplus(path: &str) -> Vec<Article> {
    // One article per event: two articles about one event are related coverage, not copies.
    let mut seen_events = HashSet::new();
    support::ecbplus(path)
        .into_iter()
        .filter(|doc| seen_events.insert(doc.event.clone()) && doc.sentences.len() >= 3)
        .map(|doc| Article {
            title: doc.title,
            paragraphs: doc.sentences.chunks(2).map(|c| c.join(" ")).collect(),
        })
        .collect()
}

fn load_plain(path: &str) -> Article {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    // First line a standfirst, then byline and date lines (short), then paragraphs.
    let paragraphs: Vec<String> = lines
        .iter()
        .skip(1)
        .filter(|l| l.split_whitespace().count() > 6)
        .map(|s| s.to_string())
        .collect();
    let title = lines[0]
        .split_whitespace()
        .take(14)
        .collect::<Vec<_>>()
        .join(" ");
    Article { title, paragraphs }
}

/// Stories from one template: same words, different numbers and names. Each is its own story.
fn templated(rng: &mut Rng, n: usize) -> Vec<Article> {
    let cities = [
        "Lisbon", "Oslo", "Warsaw", "Athens", "Dublin", "Vienna", "Prague", "Helsinki", "Madrid",
        "Brussels",
    ];
    let mut out = Vec::new();
    for i in 0..n {
        let article = match i % 3 {
            0 => {
                let (a, b, c, d) = (
                    rng.below(49) + 1,
                    rng.below(49) + 1,
                    rng.below(49) + 1,
                    rng.below(90) + 5,
                );
                Article {
                    title: format!("Lottery results: winning numbers for draw {}", 1000 + i),
                    paragraphs: vec![
                        format!("The winning numbers in draw {} of the national lottery were {a}, {b} and {c}, with bonus ball {d}, the operator said on Saturday evening.", 1000 + i),
                        format!("No ticket matched all the numbers, so the jackpot of {} million rolls over to the next draw, which takes place on Wednesday.", rng.below(30) + 2),
                        "Players are reminded to check their tickets and that prizes must be claimed within 180 days of the draw date.".into(),
                    ],
                }
            }
            1 => {
                let city = cities[rng.below(cities.len())];
                let (hi, lo, rain) = (rng.below(15) + 15, rng.below(10) + 2, rng.below(80) + 10);
                Article {
                    title: format!("Weather forecast for {city}: highs of {hi}C"),
                    paragraphs: vec![
                        format!("Forecasters expect a high of {hi} degrees and a low of {lo} degrees in {city} on {}, with a {rain} percent chance of showers in the afternoon.", ["Monday", "Tuesday", "Friday"][i % 3]),
                        format!("Winds will blow from the west at {} kilometres per hour, easing overnight, the national weather service said in its daily bulletin.", rng.below(30) + 5),
                        "Residents are advised to check the latest warnings before travelling, as conditions can change quickly at this time of year.".into(),
                    ],
                }
            }
            _ => {
                let (idx, pts, pct) = (rng.below(4000) + 6000, rng.below(200) + 10, rng.below(300));
                Article {
                    title: format!("Stocks close {} as index ends at {idx}", if pct % 2 == 0 { "higher" } else { "lower" }),
                    paragraphs: vec![
                        format!("The benchmark index closed {} {pts} points, or {}.{} percent, at {idx} on {}, as investors weighed the latest earnings reports.", if pct % 2 == 0 { "up" } else { "down" }, pct / 100, pct % 100, ["Monday", "Wednesday", "Thursday"][i % 3]),
                        format!("Trading volume was {} million shares, below the 30-day average, while the currency traded at {}.{} against the dollar.", rng.below(900) + 100, rng.below(2) + 1, rng.below(99)),
                        "Analysts said markets were likely to stay cautious ahead of the central bank's next policy meeting later this month.".into(),
                    ],
                }
            }
        };
        out.push(article);
    }
    out
}

const OUTLET_NAMES: &[&str] = &[
    "Reuters",
    "AP",
    "AFP",
    "Daily Wire",
    "Metro",
    "The Courier",
    "Globe",
    "Herald",
    "Observer",
    "Tribune",
];
const DATELINES: &[&str] = &[
    "LONDON",
    "WASHINGTON",
    "PARIS",
    "NEW YORK",
    "BERLIN",
    "TOKYO",
    "NAIROBI",
    "SYDNEY",
];
const PREFIXES: &[&str] = &[
    "UPDATE 1-",
    "UPDATE 2-",
    "EXCLUSIVE-",
    "BREAKING: ",
    "WRAPUP 1-",
    "CORRECTED-",
];

fn rewrite_headline(rng: &mut Rng, article: &Article, outlet: &str) -> String {
    match rng.below(5) {
        0 => article.title.clone(),
        1 => format!("{}{}", rng.pick(PREFIXES), article.title),
        2 => format!("{} | {outlet}", article.title),
        3 => {
            // A new headline written from the lead.
            let lead = &article.paragraphs[0];
            let words: Vec<&str> = lead.split_whitespace().take(9 + rng.below(4)).collect();
            words
                .join(" ")
                .trim_end_matches([',', '.', ';'])
                .to_string()
        }
        _ => {
            // Words dropped from the original headline.
            let words: Vec<&str> = article.title.split_whitespace().collect();
            let keep = (words.len() * 3 / 4).max(3).min(words.len());
            words[..keep].join(" ")
        }
    }
}

fn quote_style(rng: &mut Rng, text: &str) -> String {
    match rng.below(3) {
        0 => text
            .replace(['\u{201c}', '\u{201d}'], "\"")
            .replace(['\u{2018}', '\u{2019}'], "'"),
        1 => text.replace('\'', "&#8217;"),
        _ => text.to_string(),
    }
}

fn make_copy(rng: &mut Rng, article: &Article, outlet: &str, original: bool) -> (String, String) {
    let title = if original {
        article.title.clone()
    } else {
        rewrite_headline(rng, article, outlet)
    };
    let mut paragraphs: Vec<String> = article.paragraphs.clone();
    if !original {
        match rng.below(4) {
            // Trimmed: the last paragraphs dropped (at least half kept).
            0 | 1 if paragraphs.len() > 2 => {
                let keep = paragraphs.len() / 2 + rng.below(paragraphs.len() / 2 + 1);
                paragraphs.truncate(keep.max(2));
            }
            // An excerpt: the first 25 to 55 words, as feed generators cut them (WordPress: 55).
            2 => {
                let all = paragraphs.join(" ");
                let cut: Vec<&str> = all.split_whitespace().take(25 + rng.below(31)).collect();
                paragraphs = vec![format!("{} [\u{2026}]", cut.join(" "))];
            }
            _ => {}
        }
        if rng.chance(0.4) {
            paragraphs[0] = format!("{} ({outlet}) - {}", rng.pick(DATELINES), paragraphs[0]);
        }
    }
    let mut html = String::new();
    let wrap = !original && rng.chance(0.5);
    if wrap {
        let _ = write!(
            html,
            "<div class=\"story-body\"><figure><img src=\"https://cdn.{}.example/img/{}.jpg\" alt=\"\"><figcaption>File photo</figcaption></figure>",
            outlet.to_lowercase().replace(' ', ""),
            rng.below(99999)
        );
    }
    for p in &paragraphs {
        let text = if original {
            p.clone()
        } else {
            quote_style(rng, p)
        };
        let _ = write!(html, "<p>{text}</p>");
    }
    if !original && rng.chance(0.6) {
        let boiler = [
            format!("<p><em>(Reporting by Mara Lind; additional reporting by Anna Kowalski; editing by {outlet} staff)</em></p>"),
            format!("<p>\u{a9} 2026 {outlet}. All rights reserved. This material may not be published, broadcast, rewritten or redistributed.</p>"),
            "<p>Sign up for our morning newsletter to get the day's top stories in your inbox.</p><p><a href=\"https://example.org/subscribe\">Subscribe now</a></p>".to_string(),
            "<p>Read more: <a href=\"https://example.org/more\">Full coverage</a></p>".to_string(),
        ];
        let chosen: &String = rng.pick(&boiler);
        html.push_str(chosen);
    }
    if wrap {
        html.push_str("</div>");
    }
    (title, html)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rfc2822(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc2822()
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()
}

fn write_feed(outlet: usize, copies: &[&Copy]) -> String {
    let host = format!("news{outlet:02}.example");
    let mut out = String::new();
    if outlet.is_multiple_of(2) {
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\n<title>{host}</title>\n<link>https://{host}/</link>\n<description>{host} news</description>\n"
        );
        for c in copies {
            let _ = write!(
                out,
                "<item>\n<title>{}</title>\n<link>{}</link>\n<guid isPermaLink=\"false\">{}</guid>\n<pubDate>{}</pubDate>\n<description>{}</description>\n</item>\n",
                xml_escape(&c.title),
                xml_escape(&c.link),
                c.guid,
                rfc2822(c.published),
                xml_escape(&c.html)
            );
        }
        out.push_str("</channel></rss>\n");
    } else {
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>{host}</title>\n<id>https://{host}/</id>\n<updated>2026-05-06T00:00:00Z</updated>\n<link href=\"https://{host}/\"/>\n"
        );
        for c in copies {
            let _ = write!(
                out,
                "<entry>\n<title>{}</title>\n<link href=\"{}\"/>\n<id>{}</id>\n<updated>{}</updated>\n<content type=\"html\">{}</content>\n</entry>\n",
                xml_escape(&c.title),
                xml_escape(&c.link),
                c.guid,
                rfc3339(c.published),
                xml_escape(&c.html)
            );
        }
        out.push_str("</feed>\n");
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut out = None;
    let mut source = "../shared/data/ecbplus-dev.jsonl".to_string();
    let mut extras: Vec<String> = Vec::new();
    let (mut seed, mut outlets, mut max_copies, mut n_templated) = (7u64, 24usize, 6usize, 12usize);
    let (mut events_as_feeds, mut shuffle, mut base_url) = (None, false, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--events-as-feeds" => {
                events_as_feeds = Some(value().parse().expect("--events-as-feeds N"))
            }
            "--shuffle" => shuffle = true,
            "--base-url" => base_url = Some(value()),
            "--out" => out = Some(PathBuf::from(value())),
            "--source" => source = value(),
            "--extra" => extras.push(value()),
            "--seed" => seed = value().parse().expect("--seed N"),
            "--outlets" => outlets = value().parse().expect("--outlets N"),
            "--max-copies" => max_copies = value().parse().expect("--max-copies N"),
            "--templated" => n_templated = value().parse().expect("--templated N"),
            other => panic!("unknown argument {other}; see the header of examples/syndicate.rs"),
        }
    }
    let out = out.expect("--out DIR is required");
    let mut rng = Rng(seed);
    if let Some(feeds) = events_as_feeds {
        let order = shuffle.then_some(&mut rng);
        write_events_as_feeds(&out, &source, feeds, order, base_url.as_deref());
        return;
    }
    let mut articles = load_ecbplus(&source);
    articles.extend(extras.iter().map(|p| load_plain(p)));
    articles.extend(templated(&mut rng, n_templated));

    let base_time = 1_778_000_000i64; // early May 2026
    let mut copies: Vec<(usize, Copy)> = Vec::new();
    let mut next_guid = 0usize;
    for (story, article) in articles.iter().enumerate() {
        let k = 1 + rng.below(max_copies);
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < k.min(outlets) {
            let o = rng.below(outlets);
            if !chosen.contains(&o) {
                chosen.push(o);
            }
        }
        let published = base_time + (story as i64) * 1800 + rng.below(3600) as i64;
        for (n, &outlet) in chosen.iter().enumerate() {
            let name = OUTLET_NAMES[outlet % OUTLET_NAMES.len()];
            let (title, html) = make_copy(&mut rng, article, name, n == 0);
            let mut link = format!("https://news{outlet:02}.example/a/{next_guid}");
            if n > 0 && rng.chance(0.5) {
                let tracking: &&str = rng.pick(&[
                    "?utm_source=rss&utm_medium=feed",
                    "?utm_campaign=world&utm_source=twitter",
                    "?fbclid=IwAR2xyz",
                    "?ref=rss#comments",
                ]);
                link.push_str(tracking);
            }
            copies.push((
                outlet,
                Copy {
                    guid: format!("syn-{next_guid}"),
                    story: format!("story-{story}"),
                    title,
                    html,
                    link,
                    published: published
                        + if n == 0 {
                            0
                        } else {
                            rng.below(6 * 3600) as i64
                        },
                },
            ));
            next_guid += 1;
        }
    }

    std::fs::create_dir_all(out.join("feeds")).unwrap();
    let mut gold = BTreeMap::new();
    let mut feed_urls = Vec::new();
    for outlet in 0..outlets {
        let mut mine: Vec<&Copy> = copies
            .iter()
            .filter(|(o, _)| *o == outlet)
            .map(|(_, c)| c)
            .collect();
        if mine.is_empty() {
            continue;
        }
        mine.sort_by_key(|c| std::cmp::Reverse(c.published));
        for c in &mine {
            gold.insert(c.guid.clone(), c.story.clone());
        }
        let path = out.join("feeds").join(format!("f{outlet:04}.xml"));
        std::fs::write(&path, write_feed(outlet, &mine)).unwrap();
        feed_urls.push(url_of(&path));
    }
    write_gold_and_config(
        &out,
        &gold,
        &feed_urls,
        "[fetch]\nhost_spacing = \"0s\"\n\n",
    );
    let stories: HashSet<&String> = gold.values().collect();
    eprintln!(
        "wrote {} items of {} stories ({} templated) into {} feeds under {}",
        gold.len(),
        stories.len(),
        n_templated,
        feed_urls.len(),
        out.display()
    );
}

/// `OUT/gold.json` (guid -> story) and `OUT/feedfold.toml`: the store in OUT, `fetch` (a
/// `[fetch]` table, or nothing for the defaults) and the feeds.
fn write_gold_and_config(
    out: &std::path::Path,
    gold: &BTreeMap<String, String>,
    feed_urls: &[String],
    fetch: &str,
) {
    std::fs::write(
        out.join("gold.json"),
        serde_json::to_string_pretty(gold).unwrap(),
    )
    .unwrap();
    let mut config = format!("[storage]\npath = \"feedfold.db\"\n\n{fetch}");
    for url in feed_urls {
        let _ = write!(config, "[[feeds]]\nurl = \"{url}\"\n\n");
    }
    std::fs::write(out.join("feedfold.toml"), config).unwrap();
}

/// `--events-as-feeds`: every document of `source` as one item, dealt round robin into
/// `feeds` feeds (in file order, or in an order `shuffle` draws), a minute of publication time
/// apart, all within one dedup window.
fn write_events_as_feeds(
    out: &std::path::Path,
    source: &str,
    feeds: usize,
    shuffle: Option<&mut Rng>,
    base_url: Option<&str>,
) {
    let mut docs = support::ecbplus(source);
    if let Some(rng) = shuffle {
        for i in (1..docs.len()).rev() {
            docs.swap(i, rng.below(i + 1));
        }
    }
    let feeds = feeds.clamp(1, docs.len().max(1));
    let base_time = 1_778_000_000i64;
    let mut dealt: Vec<Vec<Copy>> = (0..feeds).map(|_| Vec::new()).collect();
    let mut gold = BTreeMap::new();
    for (n, doc) in docs.into_iter().enumerate() {
        let guid = format!("ecb-{}", doc.id);
        gold.insert(guid.clone(), doc.event.clone());
        let html: String = doc
            .sentences
            .chunks(2)
            .map(|pair| format!("<p>{}</p>", xml_escape(&pair.join(" "))))
            .collect();
        dealt[n % feeds].push(Copy {
            link: format!("https://news{:02}.example/{guid}", n % feeds),
            guid,
            story: doc.event,
            title: doc.title,
            html,
            published: base_time + 60 * n as i64,
        });
    }
    std::fs::create_dir_all(out.join("feeds")).unwrap();
    let mut feed_urls = Vec::new();
    for (outlet, items) in dealt.iter().enumerate() {
        let path = out.join("feeds").join(format!("f{outlet:04}.xml"));
        let items: Vec<&Copy> = items.iter().collect();
        std::fs::write(&path, write_feed(outlet, &items)).unwrap();
        feed_urls.push(match base_url {
            Some(base) => format!("{}/feeds/f{outlet:04}.xml", base.trim_end_matches('/')),
            None => url_of(&path),
        });
    }
    // Served over HTTP, the defaults (fetches from one host a second apart); from files, no
    // spacing (there is no host).
    let fetch = if base_url.is_some() {
        ""
    } else {
        "[fetch]\nhost_spacing = \"0s\"\n\n"
    };
    write_gold_and_config(out, &gold, &feed_urls, fetch);
    eprintln!(
        "wrote {} documents of {} events into {feeds} feeds under {}",
        gold.len(),
        gold.values().collect::<HashSet<_>>().len(),
        out.display()
    );
}

fn url_of(path: &std::path::Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap();
    url::Url::from_file_path(abs).unwrap().to_string()
}
