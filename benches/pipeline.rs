//! End-to-end throughput of `feedfold run --once` over generated feeds served on 127.0.0.1:
//! fetch, parse, normalize, fingerprint, cluster and store, everything included.
//!
//! ```sh
//! cargo bench --bench pipeline -- [--feeds 200] [--items 25] [--copies 0.2] [--file]
//!     [--item-bytes 1000] [--concurrency 16]
//! ```
//!
//! Memory bound with `concurrency` bodies of `max_body` in flight (15 MiB each, 8 at once):
//! `--feeds 8 --items 1000 --item-bytes 14500 --copies 0 --concurrency 8`.
//!
//! Each item carries about 1 KB of text drawn from a generated vocabulary (Zipf-like word
//! frequencies); a share of the items (`--copies`) are trimmed copies of items of other feeds, so
//! that the deduplicator has work. `--file` serves the feeds as `file://` instead of HTTP;
//! `--keep` leaves the generated folder (config, feeds, store) for profiling.
//! Prints items per second of the first run (everything new), the time of a second run (every
//! body unchanged) and the peak resident memory of the feedfold process.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

mod support;
use support::{Rng, cut, prose, vocabulary};

fn rss(feed: usize, items: &[(String, String, String)]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Bench feed {feed}</title><link>https://bench{feed}.example/</link><description>generated</description>\n"
    );
    for (n, (guid, title, text)) in items.iter().enumerate() {
        let _ = writeln!(
            out,
            "<item><title>{title}</title><link>https://bench{feed}.example/a/{n}</link><guid isPermaLink=\"false\">{guid}</guid><pubDate>Tue, 05 May 2026 {:02}:{:02}:00 +0000</pubDate><description>&lt;p&gt;{text}&lt;/p&gt;</description></item>",
            n % 24,
            n % 60
        );
    }
    out.push_str("</channel></rss>\n");
    out
}

/// Peak resident memory (KiB) and CPU seconds (user + system) of the finished child processes.
fn children_usage() -> (i64, f64) {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (usage.ru_maxrss, secs(usage.ru_utime) + secs(usage.ru_stime))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut feeds, mut items, mut copies, mut file, mut keep) =
        (200usize, 25usize, 0.2f64, false, false);
    let (mut item_bytes, mut concurrency) = (1000usize, 16usize);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--feeds" => feeds = args.next().unwrap().parse().unwrap(),
            "--items" => items = args.next().unwrap().parse().unwrap(),
            "--copies" => copies = args.next().unwrap().parse().unwrap(),
            "--item-bytes" => item_bytes = args.next().unwrap().parse().unwrap(),
            "--concurrency" => concurrency = args.next().unwrap().parse().unwrap(),
            "--file" => file = true,
            "--keep" => keep = true,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let mut rng = Rng(42);
    let vocab = vocabulary(&mut rng, 20_000);
    // Generate every feed's items; some are trimmed copies of an earlier feed's item.
    let mut documents: Vec<Vec<(String, String, String)>> = Vec::with_capacity(feeds);
    let mut copied = 0usize;
    for f in 0..feeds {
        let mut feed_items = Vec::with_capacity(items);
        for i in 0..items {
            let guid = format!("bench-{f}-{i}");
            if f > 0 && (rng.below(10_000) as f64) < copies * 10_000.0 {
                let src_feed = rng.below(f);
                let (_, title, text) = &documents[src_feed][rng.below(items)];
                feed_items.push((
                    guid,
                    format!("UPDATE 1-{title}"),
                    cut(text, text.len() * 3 / 4).to_string(),
                ));
                copied += 1;
            } else {
                let title = prose(&mut rng, &vocab, 60)
                    .trim_end_matches(['.', ' '])
                    .to_string();
                feed_items.push((guid, title, prose(&mut rng, &vocab, item_bytes)));
            }
        }
        documents.push(feed_items);
    }
    let bodies: Vec<String> = documents
        .iter()
        .enumerate()
        .map(|(f, d)| rss(f, d))
        .collect();
    let total_bytes: usize = bodies.iter().map(String::len).sum();

    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let urls: Vec<String> = if file {
        bodies
            .iter()
            .enumerate()
            .map(|(f, body)| {
                let path = dir.path().join(format!("f{f}.xml"));
                std::fs::write(&path, body).unwrap();
                format!("file://{}", path.display())
            })
            .collect()
    } else {
        let bodies = Arc::new(bodies);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let served = bodies.clone();
        let app = axum::Router::new().route(
            "/f/{n}",
            axum::routing::get(move |axum::extract::Path(n): axum::extract::Path<usize>| {
                let served = served.clone();
                async move { ([("content-type", "application/rss+xml")], served[n].clone()) }
            }),
        );
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        (0..feeds).map(|f| format!("http://{addr}/f/{f}")).collect()
    };
    let mut config = format!(
        "[fetch]\nconcurrency = {concurrency}\nper_host = {concurrency}\nhost_spacing = \"0s\"\n\n"
    );
    for url in &urls {
        let _ = write!(config, "[[feeds]]\nurl = \"{url}\"\n\n");
    }
    let config_path = dir.path().join("feedfold.toml");
    std::fs::write(&config_path, config).unwrap();

    let run = || {
        let start = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedfold"))
            .arg("--config")
            .arg(&config_path)
            .args(["run", "--once"])
            .output()
            .unwrap();
        let elapsed = start.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            elapsed,
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    };
    let (first, summary) = run();
    let (peak, cpu) = children_usage();
    let (second, summary2) = run();
    let n = feeds * items;
    let store_size = std::fs::metadata(dir.path().join("feedfold.db"))
        .map(|m| m.len())
        .unwrap_or(0)
        + std::fs::metadata(dir.path().join("feedfold.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "pipeline bench: {feeds} feeds x {items} items = {n} items ({copied} copies), {:.1} MB of {}",
        total_bytes as f64 / 1e6,
        if file {
            "file:// feeds"
        } else {
            "RSS over HTTP on 127.0.0.1"
        }
    );
    println!(
        "first run:  {:.3} s  -> {:.0} items/s  ({:.1} MB/s)",
        first.as_secs_f64(),
        n as f64 / first.as_secs_f64(),
        total_bytes as f64 / 1e6 / first.as_secs_f64()
    );
    println!("            {summary}");
    println!(
        "            CPU {cpu:.3} s ({:.0}% of one core; {:.1} us of CPU per item)",
        100.0 * cpu / first.as_secs_f64(),
        cpu * 1e6 / n as f64
    );
    println!(
        "second run: {:.3} s (every body unchanged)",
        second.as_secs_f64()
    );
    println!("            {summary2}");
    println!(
        "peak RSS of feedfold: {:.1} MiB; store {:.1} MB",
        peak as f64 / 1024.0,
        store_size as f64 / 1e6
    );
    if keep {
        println!("kept {}", dir.keep().display());
    }
}
