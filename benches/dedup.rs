//! Normalize-plus-dedup throughput and candidate-index scaling, on generated text.
//!
//! ```sh
//! cargo bench --bench dedup -- [--items 20000] [--scales 10000,100000,1000000] [--no-related]
//!                                [--repeat 5] [--ecbplus ../shared/data/ecbplus-dev.jsonl]
//!                                [--uniform-prose] [--warm 0] [--seconds-apart 1]
//! ```
//!
//! The generated items are news-like (`support::news_article`): about half their words are
//! function words, and a cast of names and a few numbers recur, so that an item has about as
//! many event terms, names and numbers as an ECB+ article of 1 KB. The bench prints those
//! counts for the text it ran. `--uniform-prose` makes the items of the earlier benches
//! instead: words drawn from one vocabulary with a mild skew, no names, no numbers, and twice
//! the event terms of a news article (`support::prose`).
//!
//! 1. The whole per-item path on one core: `html_to_text` of about 1 KB of HTML,
//!    `Thresholds::fingerprint` (with the event terms, unless `--no-related`),
//!    `Deduplicator::decide` and `insert`, in fetches of 25 items (each a batch, reviewed at its
//!    end), in items per second (a fifth of the items are trimmed copies of items published
//!    within a window before them, so verification runs too). It runs `--repeat` times, each with a
//!    fresh deduplicator, and reports the best and the median run: on a shared machine single
//!    runs of the same binary differed by a third. With `--ecbplus FILE` the items are real
//!    news instead (the ECB+ documents, each cut to about 1 KB, in file order, with the same
//!    share of trimmed copies): stories of one event, which generated text lacks, make the
//!    related index score more candidates; but the index holds only those 614 items.
//!    With `--warm N`, each run first feeds N more items of the same stream, untimed, and then
//!    times `--items` items: the per-item path of a daemon whose window already holds N items,
//!    not of one that starts empty (posting lists are longer, more candidates are scored, and
//!    the tables no longer grow). The items are published one second apart: the whole stream
//!    stays in the window (72 hours), and the index only grows. With `--seconds-apart S` the
//!    index holds two windows of items (518400 / S) and evicts as the stream moves on, as a
//!    daemon's does once it has run for two windows. It prints, too, what the decisions were,
//!    so that a change made for speed shows what it did to them: how many of the timed copies
//!    ended in their original's story (and how many were published within a window of it, the
//!    only ones to fold: all of them, as the copies are made), and how many articles of their
//!    own joined one.
//! 2. The candidate index alone: the per-item cost of `decide` + `insert` of fresh items (the
//!    best of five windows of 5000, and their median) after the index already holds 10k, 100k
//!    and 1M items, to show that it does not grow with the store, and the ratio of the largest
//!    scale's cost to the smallest's. The indexes of every scale are filled first and the
//!    windows go round them, so that the machine's slow spells fall on all scales alike.
//! 3. The same with related coverage on (the default): the related index holds a profile for
//!    each of those items too. The fresh items' event terms are real, so that each query finds
//!    and scores the profiles of the items it was written like; their shingles are not, so
//!    that no near-duplicate rule settles them first.
//! 4. Related-index eviction at the same scales: the index holds that many clusters (two
//!    windows of a stream of one item a second), the stream goes on, and every 4096 inserts
//!    `evict` drops the clusters that fell out, as the deduplicator calls it. Reported: the
//!    time `evict` takes per cluster it drops, which should not grow with what it keeps.
//!    (`--no-related` leaves parts 3 and 4 out.)

use std::time::Instant;

use feedfold::dedup::related::RelatedIndex;
use feedfold::dedup::{Deduplicator, EVICT_EVERY, Fingerprint, Thresholds};
use feedfold::normalize::html_to_text;

mod support;
use support::{NewsVocabulary, Rng, cut, news_article, prose, vocabulary};

/// A fingerprint with the same shape as `fp` but other hashes, so that it matches nothing that
/// `fp` or another salt would.
fn salted(fp: &Fingerprint, salt: u32) -> Fingerprint {
    let mut fp = fp.clone();
    let mix = |h: u32| h.wrapping_mul(0x9e37_79b9) ^ salt.wrapping_mul(0x85eb_ca6b);
    for h in fp
        .shingles
        .iter_mut()
        .chain(fp.anchors.iter_mut())
        .chain(fp.lead.iter_mut())
    {
        *h = mix(*h);
    }
    fp.shingles.sort_unstable();
    fp.simhash =
        fp.simhash.rotate_left(salt % 64) ^ u64::from(salt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    fp.content_hash = fp
        .content_hash
        .map(|h| h ^ u64::from(salt).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    fp.title_key = None;
    for term in &mut fp.event {
        term.hash ^= u64::from(salt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    // Sorted by hash, as `event_terms` returns them.
    fp.event.sort_unstable_by_key(|t| t.hash);
    fp
}

/// The `n`th of as many distinct fingerprints as needed, without generating text: `fps` as they
/// are, then again with fresh hashes for each further pass.
fn nth_distinct(fps: &[Fingerprint], n: usize) -> Fingerprint {
    let (fp, salt) = (&fps[n % fps.len()], (n / fps.len()) as u32);
    if salt == 0 {
        fp.clone()
    } else {
        salted(fp, salt)
    }
}

/// Items per fetch: the store ingests a fetch as one batch, and looks again at the stories it
/// started at its end (`Deduplicator::review_batch`).
const FETCH_ITEMS: usize = 25;

/// One pass of the per-item path over `htmls` with a fresh deduplicator, of which the first
/// `warm` items are not timed: seconds taken by the rest, and the story each item ended in.
#[inline(never)] // a frame of its own, for profilers
fn per_item_path(
    htmls: &[(String, String)],
    warm: usize,
    thresholds: Thresholds,
    apart: i64,
) -> (f64, Stories) {
    let mut stream = Stream {
        dedup: Deduplicator::new(thresholds),
        thresholds,
        apart,
        stories: Stories::with_capacity(htmls.len()),
    };
    untimed_items(&mut stream, &htmls[..warm]);
    let start = Instant::now();
    timed_items(&mut stream, &htmls[warm..]);
    (start.elapsed().as_secs_f64(), stream.stories)
}

/// A run's deduplicator and what it was fed: the items go `apart` seconds of publication time
/// after each other, and `stories` holds the story of each item fed so far.
struct Stream {
    dedup: Deduplicator,
    thresholds: Thresholds,
    apart: i64,
    stories: Stories,
}

/// The items fed before the timer starts: a frame of their own, so that a profiler can leave
/// them out (`valgrind --tool=callgrind --toggle-collect='dedup::timed_items'`: a pattern
/// `*timed_items*` would match this frame too).
#[inline(never)]
fn untimed_items(stream: &mut Stream, htmls: &[(String, String)]) {
    feed_items(stream, htmls);
}

/// The timed items, and the review of their last batch. (The deduplicator is dropped after
/// the timer stops.)
#[inline(never)]
fn timed_items(stream: &mut Stream, htmls: &[(String, String)]) {
    feed_items(stream, htmls);
    stream.dedup.review_batch();
}

/// Which story each item of the stream joined, as a union-find over the items: an item that
/// starts a story is its own root, one that joins a story points at that story's id (its first
/// item), and a story merged into another points at it. (A batch review's refolds are left
/// out: they move a few items, and the bench reports what the per-item decisions did.)
struct Stories {
    parent: Vec<usize>,
    /// Whether the item joined an existing story when it came.
    joined: Vec<bool>,
}

impl Stories {
    fn with_capacity(items: usize) -> Stories {
        Stories {
            parent: Vec::with_capacity(items),
            joined: Vec::with_capacity(items),
        }
    }

    fn root(&self, mut item: usize) -> usize {
        while self.parent[item] != item {
            item = self.parent[item];
        }
        item
    }
}

/// Feeds `htmls`, the items of the stream after those fed before, through the per-item path,
/// in fetches of FETCH_ITEMS (each a batch, reviewed when the next begins).
#[inline(always)]
fn feed_items(stream: &mut Stream, htmls: &[(String, String)]) {
    let Stream {
        dedup,
        thresholds,
        apart,
        stories,
    } = stream;
    let apart = *apart;
    for (title, html) in htmls {
        let i = stories.parent.len();
        if i.is_multiple_of(FETCH_ITEMS) {
            dedup.review_batch();
            dedup.begin_batch();
        }
        let plain = html_to_text(html);
        let fp = thresholds.fingerprint(title, &plain);
        let ts = 1_000_000 + i as i64 * apart;
        let decision = dedup.decide(&fp, ts);
        let cluster = decision.cluster.unwrap_or_else(|| {
            dedup.start_story(i as i64);
            i as i64
        });
        stories.parent.push(cluster as usize);
        stories.joined.push(decision.cluster.is_some());
        let independent = decision.is_independent_report();
        dedup.insert(i as i64, cluster, ts, fp, independent);
        if let Some(merged) = decision.merged {
            dedup.fold_story(merged.cluster, cluster);
            let (from, into) = (stories.root(merged.cluster as usize), stories.root(i));
            stories.parent[from] = into;
        }
    }
}

/// The deduplicator's window, the default's 72 hours.
const WINDOW_SECS: i64 = 72 * 3600;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut items = 20_000usize;
    let mut scales = vec![10_000usize, 100_000, 1_000_000];
    let mut related = true;
    let mut news_like = true;
    let mut repeat = 5usize;
    let mut ecbplus: Option<String> = None;
    let mut warm = 0usize;
    let mut apart = 1i64;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-related" => related = false,
            "--uniform-prose" => news_like = false,
            "--ecbplus" => ecbplus = args.next(),
            "--repeat" => repeat = args.next().unwrap().parse::<usize>().unwrap().max(1),
            "--items" => items = args.next().unwrap().parse().unwrap(),
            "--warm" => warm = args.next().unwrap().parse().unwrap(),
            "--seconds-apart" => apart = args.next().unwrap().parse::<i64>().unwrap().max(1),
            "--scales" => {
                scales = args
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|s| s.parse().unwrap())
                    .collect()
            }
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let mut rng = Rng(7);
    let vocab = vocabulary(&mut rng, 20_000);
    // From a source of its own, so that `--uniform-prose` makes the same items as before.
    let news_vocab = NewsVocabulary::new(&mut Rng(11), 20_000, 5_000);
    // Real news, when asked for: each document's headline and about 1 KB of its body.
    let mut real = ecbplus.as_deref().map(support::ecbplus).map(|docs| {
        docs.into_iter().map(|doc| {
            let body = doc.sentences.join(" ");
            let body = cut(&body, 1000);
            let first = cut(body, body.len() / 2);
            let html = format!("<p>{first}</p><p>{}</p>", &body[first.len()..]);
            (doc.title, html)
        })
    });
    let mut htmls: Vec<(String, String)> = Vec::with_capacity(warm + items);
    // The item each copy was made of (`None` for an article of its own).
    let mut copy_of: Vec<Option<usize>> = Vec::with_capacity(warm + items);
    for i in 0..warm + items {
        if i > 10 && rng.below(5) == 0 {
            // A trimmed copy, with a wire prefix and boilerplate, of an earlier item published
            // within a window before it: syndication reprints a story within hours, not a week
            // later. (With items one second apart, any earlier item of the run.)
            let span = i.min((WINDOW_SECS / apart) as usize).max(1);
            let source = i - span + rng.below(span);
            copy_of.push(Some(source));
            let (title, html) = &htmls[source];
            let trimmed = cut(html, html.len() * 3 / 4);
            let copy = format!("{trimmed}</p><p>Reporting by A. Writer; editing by B. Editor</p>");
            htmls.push((format!("UPDATE 1-{title}"), copy));
        } else if let Some(docs) = real.as_mut() {
            match docs.next() {
                Some(doc) => {
                    copy_of.push(None);
                    htmls.push(doc);
                }
                None => break,
            }
        } else {
            copy_of.push(None);
            let (title, body) = if news_like {
                news_article(&mut rng, &news_vocab, 1000)
            } else {
                // The body first: the order the items were always made in.
                let body = prose(&mut rng, &vocab, 1000);
                (prose(&mut rng, &vocab, 60), body)
            };
            let first = cut(&body, body.len() / 2);
            let html = format!("<p>{first}</p><p>{}</p>", &body[first.len()..]);
            htmls.push((title, html));
        }
    }

    // 1. The per-item path on one core.
    // The default thresholds, related coverage included; `--no-related` measures without it.
    let mut thresholds = Thresholds::with_window(WINDOW_SECS);
    thresholds.related_coverage &= related;
    let warm = warm.min(htmls.len());
    let items = htmls.len() - warm;
    assert!(items > 0, "--warm {warm} leaves none of the items to time");
    let mut runs: Vec<f64> = Vec::with_capacity(repeat);
    let mut stories = Stories::with_capacity(0);
    for _ in 0..repeat {
        let elapsed;
        (elapsed, stories) = per_item_path(&htmls, warm, thresholds, apart);
        runs.push(elapsed);
    }
    // Every run decides alike: the last one's stories stand for all.
    let folded = stories.joined[warm..].iter().filter(|&&j| j).count();
    let (mut copies, mut copies_home, mut own, mut own_joined) = (0, 0, 0, 0);
    // A copy published more than a window after its original is not one to fold.
    let mut copies_in_window = 0;
    for (i, source) in copy_of.iter().enumerate().skip(warm) {
        match *source {
            Some(source) => {
                copies += 1;
                copies_home += usize::from(stories.root(i) == stories.root(source));
                copies_in_window +=
                    usize::from((i - source) as i64 * apart <= thresholds.window_secs);
            }
            None => {
                own += 1;
                own_joined += usize::from(stories.joined[i]);
            }
        }
    }
    runs.sort_by(f64::total_cmp);
    let (best, median) = (runs[0], runs[runs.len() / 2]);
    // The later parts take the timed items only.
    htmls.drain(..warm);
    let bytes: usize = htmls.iter().map(|(t, h)| t.len() + h.len()).sum();
    let mut warmed = if warm > 0 {
        format!(" after {warm} untimed")
    } else {
        String::new()
    };
    if apart > 1 {
        // The index keeps two windows.
        let held = 2 * thresholds.window_secs / apart;
        warmed.push_str(&format!(", {apart} s apart (two windows: {held} items)"));
    }
    println!(
        "normalize+dedup (related coverage {}, {}): {items} items{warmed} ({:.0} bytes each), {folded} folded, {repeat} runs: best {best:.3} s -> {:.0} items/s on one core (median {median:.3} s -> {:.0} items/s)",
        if thresholds.related_coverage {
            "on"
        } else {
            "off"
        },
        if ecbplus.is_some() {
            "ECB+ news"
        } else if news_like {
            "generated news-like text"
        } else {
            "generated uniform prose"
        },
        bytes as f64 / items as f64,
        items as f64 / best,
        items as f64 / median
    );
    // What the decisions were, so that a change made for speed shows what it did to them:
    // every copy belongs in its original's story, and an article of its own in none.
    println!(
        "  of the timed items: {copies_home} of {copies} copies in their original's story ({copies_in_window} published within a window of it), {own_joined} of {own} articles of their own joined one"
    );
    let plains: Vec<(String, String)> = htmls
        .iter()
        .map(|(t, h)| (t.clone(), html_to_text(h)))
        .collect();
    let start = Instant::now();
    for (_, h) in &htmls {
        std::hint::black_box(html_to_text(h));
    }
    let text_time = start.elapsed();
    let start = Instant::now();
    let fps: Vec<Fingerprint> = plains.iter().map(|(t, p)| Fingerprint::of(t, p)).collect();
    let fp_time = start.elapsed();
    let start = Instant::now();
    let with_terms: Vec<Fingerprint> = plains
        .iter()
        .map(|(t, p)| Fingerprint::with_event_terms(t, p))
        .collect();
    let terms_time = start.elapsed();
    println!(
        "  of which html_to_text {:.1} us/item, Fingerprint::of {:.1} us/item (with the event terms {:.1} us/item)",
        text_time.as_secs_f64() * 1e6 / items as f64,
        fp_time.as_secs_f64() * 1e6 / items as f64,
        terms_time.as_secs_f64() * 1e6 / items as f64
    );
    // What the related index works with per item: kinds of text differ most in the number of
    // event terms, and in how many of them are names.
    let per_item = |count: &dyn Fn(&Fingerprint) -> usize| {
        with_terms.iter().map(count).sum::<usize>() as f64 / items as f64
    };
    let words: usize = plains
        .iter()
        .map(|(_, p)| p.split_whitespace().count())
        .sum();
    println!(
        "  per item: {:.0} words, {:.1} event terms ({:.1} names, of which {:.1} numbers)",
        words as f64 / items as f64,
        per_item(&|fp| fp.event.len()),
        per_item(&|fp| fp.event.iter().filter(|t| t.name).count()),
        per_item(&|fp| fp.event.iter().filter(|t| t.number).count()),
    );

    // 2. Index scaling: fill with distinct items, then time decide+insert of fresh ones; 3. the
    // same with the related index.
    let probe = 5_000usize.min(fps.len());
    index_scaling(&fps, &scales, probe, false);
    if related {
        index_scaling(&with_terms, &scales, probe, true);
        related_eviction(&with_terms, &scales);
    }
}

/// Part 4: the cost of `RelatedIndex::evict` per cluster dropped, once the index holds `scale`
/// clusters, over a stream of one new story a second (its event terms from `fps`).
fn related_eviction(fps: &[Fingerprint], scales: &[usize]) {
    for &scale in scales {
        // Two windows hold `scale` items of one a second.
        let window = (scale / 2).max(1) as i64;
        let mut index = RelatedIndex::new(window);
        let terms = |n: usize| nth_distinct(fps, n).event;
        for n in 0..scale {
            index.insert(n as i64, n as i64, n as i64, &terms(n), true);
        }
        let (mut evict_time, mut dropped) = (0.0f64, 0usize);
        let stream = 4 * EVICT_EVERY;
        for n in scale..scale + stream {
            index.insert(n as i64, n as i64, n as i64, &terms(n), true);
            if (n + 1) % EVICT_EVERY == 0 {
                let before = index.len();
                let start = Instant::now();
                index.evict();
                evict_time += start.elapsed().as_secs_f64();
                dropped += before - index.len();
            }
        }
        println!(
            "related index eviction at {scale:>9} clusters: {:.2} us per cluster dropped ({dropped} dropped)",
            evict_time * 1e6 / dropped.max(1) as f64
        );
    }
}

/// Rounds of fresh-item windows: each round times one window at every scale in turn.
const PROBE_ROUNDS: usize = 5;

/// Parts 2 and 3: per-item `decide` + `insert` of `probe` fresh items after filling the index
/// with each of `scales` distinct items. All the indexes are filled first and the windows then
/// go round them, so that a slow spell of a shared machine falls on every scale alike instead
/// of on whichever was being timed (the ratio between scales moved from 1.3 to 2.4 between
/// runs when each scale was timed in one stretch).
fn index_scaling(fps: &[Fingerprint], scales: &[usize], probe: usize, related: bool) {
    let name = if related {
        "candidate+related index"
    } else {
        "candidate index"
    };
    let mut filled: Vec<(Deduplicator, f64)> = scales
        .iter()
        .map(|&scale| {
            let mut thresholds = Thresholds::with_window(i64::MAX / 8);
            thresholds.related_coverage = related;
            let mut dedup = Deduplicator::new(thresholds);
            let fill = Instant::now();
            for n in 0..scale {
                dedup.insert(n as i64, n as i64, 1_000_000, nth_distinct(fps, n), true);
            }
            (dedup, fill.elapsed().as_secs_f64())
        })
        .collect();
    let mut per_item: Vec<Vec<f64>> = vec![Vec::with_capacity(PROBE_ROUNDS); scales.len()];
    let mut next_id = scales.iter().copied().max().unwrap_or(0);
    for round in 0..PROBE_ROUNDS {
        // Fresh items, salted apart from everything stored but for their event terms, made
        // before the clock starts; the same ones at every scale.
        let fresh: Vec<Fingerprint> = fps
            .iter()
            .take(probe)
            .map(|fp| {
                let mut fresh = salted(fp, u32::MAX - round as u32);
                fresh.event.clone_from(&fp.event);
                fresh
            })
            .collect();
        for ((dedup, _), times) in filled.iter_mut().zip(&mut per_item) {
            let mut window = fresh.clone().into_iter();
            let start = Instant::now();
            for (n, fp) in window.by_ref().enumerate() {
                let id = (next_id + n) as i64;
                let d = dedup.decide(&fp, 1_000_000);
                let independent = d.is_independent_report();
                dedup.insert(id, d.cluster.unwrap_or(id), 1_000_000, fp, independent);
            }
            times.push(start.elapsed().as_secs_f64() * 1e6 / probe as f64);
            // The emptied buffer is the bench's, not the path's: freed off the clock.
            drop(window);
        }
        next_id += probe;
    }
    let mut summary: Vec<(f64, f64)> = Vec::with_capacity(scales.len());
    for ((&scale, (_, fill_secs)), times) in scales.iter().zip(&filled).zip(&mut per_item) {
        times.sort_by(f64::total_cmp);
        let (best, median) = (times[0], times[times.len() / 2]);
        summary.push((best, median));
        println!(
            "{name} at {scale:>9} items: decide+insert {best:.2} us/item (best of {PROBE_ROUNDS} windows of {probe}; median {median:.2}; filled in {fill_secs:.1} s)"
        );
    }
    if let (Some(first), Some(last)) = (summary.first(), summary.last())
        && summary.len() > 1
    {
        println!(
            "{name}: {} items cost {:.2}x the per-item time of {} (best), {:.2}x (median)",
            scales[scales.len() - 1],
            last.0 / first.0,
            scales[0],
            last.1 / first.1
        );
    }
}
