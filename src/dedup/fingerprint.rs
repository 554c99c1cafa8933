//! Fingerprints of an item's text, all pure and all built on xxh3 (a hash with a specified output,
//! so stored values stay valid across compiler versions, unlike `std::hash`).
//!
//! - word 3-shingles of the body, as a sorted set of 32-bit hashes: containment between two sets
//!   is the verification that decides a near-duplicate;
//! - a 64-bit simhash over those shingles (Charikar): close fingerprints are cheap candidates;
//! - anchors: the smallest shingle hashes of the lead and of the whole body (bottom-k min-hashes),
//!   so that an excerpt, a trimmed copy or a copy with a new dateline still shares a key;
//! - a content hash of the token sequence, the numbers in the text and a title key.

use xxhash_rust::xxh3::xxh3_64;

/// Stored beside every simhash: a change to tokenizing, shingling or hashing bumps it.
pub const FINGERPRINT_VERSION: i64 = 1;
/// Words per shingle.
const SHINGLE_WORDS: usize = 3;
/// Only the first words count: enough to identify an article, bounded for long ones.
const MAX_TOKENS: usize = 600;
/// The lead: an excerpt carries at least this much of its article.
const LEAD_TOKENS: usize = 50;
/// Anchors taken from the lead and from the whole body.
pub const ANCHORS_PER_PART: usize = 4;
/// Below this many body words, the title's words are fingerprinted with the body.
const MIN_BODY_TOKENS: usize = 8;
/// A title needs this many words before two equal titles say anything.
const MIN_TITLE_TOKENS: usize = 6;

#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub simhash: u64,
    /// Sorted, unique 32-bit shingle hashes.
    pub shingles: Vec<u32>,
    /// Bottom-k of the lead's shingles, then bottom-k of the whole body's (0 = none).
    pub anchors: [u32; 2 * ANCHORS_PER_PART],
    /// Hash of the body's token sequence, `None` when the body is too short to identify anything.
    pub content_hash: Option<u64>,
    /// Hash of the title's tokens, `None` when the title is too short to identify anything.
    pub title_key: Option<u64>,
    /// Sorted hashes of the number tokens ("2026", "7.5", "12") in the text.
    pub numbers: Vec<u32>,
}

/// Lower-cased alphanumeric words; apostrophes, quotes and punctuation split words, so quote
/// style and typography do not change the tokens.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.is_ascii() {
                w.to_ascii_lowercase()
            } else {
                w.to_lowercase()
            }
        })
}

fn shingle_hashes(words: &[String]) -> Vec<u64> {
    if words.is_empty() {
        return Vec::new();
    }
    if words.len() < SHINGLE_WORDS {
        return vec![xxh3_64(words.join(" ").as_bytes())];
    }
    let mut buf = String::with_capacity(64);
    words
        .windows(SHINGLE_WORDS)
        .map(|w| {
            buf.clear();
            for (i, word) in w.iter().enumerate() {
                if i > 0 {
                    buf.push(' ');
                }
                buf.push_str(word);
            }
            xxh3_64(buf.as_bytes())
        })
        .collect()
}

/// Charikar's simhash: each bit is the majority vote of that bit over the shingle hashes.
pub fn simhash(hashes: &[u64]) -> u64 {
    let mut counts = [0i32; 64];
    for &h in hashes {
        for (bit, count) in counts.iter_mut().enumerate() {
            *count += if (h >> bit) & 1 == 1 { 1 } else { -1 };
        }
    }
    counts
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c > 0)
        .fold(0u64, |acc, (bit, _)| acc | (1 << bit))
}

fn bottom_k(hashes: &[u32], out: &mut [u32]) {
    let mut sorted: Vec<u32> = hashes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for (slot, h) in out.iter_mut().zip(sorted) {
        *slot = h;
    }
}

fn is_number(word: &str) -> bool {
    word.bytes().all(|b| b.is_ascii_digit()) && !word.is_empty()
}

impl Fingerprint {
    pub fn of(title: &str, text: &str) -> Fingerprint {
        let title_words: Vec<String> = tokens(title).collect();
        let mut words: Vec<String> = tokens(text).take(MAX_TOKENS).collect();
        let body_is_short = words.len() < MIN_BODY_TOKENS;
        let content_hash = (!body_is_short).then(|| xxh3_64(words.join(" ").as_bytes()));
        if body_is_short {
            let mut with_title = title_words.clone();
            with_title.append(&mut words);
            words = with_title;
        }
        let hashes = shingle_hashes(&words);
        let short: Vec<u32> = hashes.iter().map(|&h| h as u32).collect();
        let mut anchors = [0u32; 2 * ANCHORS_PER_PART];
        let lead_shingles = LEAD_TOKENS
            .saturating_sub(SHINGLE_WORDS - 1)
            .min(short.len());
        bottom_k(&short[..lead_shingles], &mut anchors[..ANCHORS_PER_PART]);
        bottom_k(&short, &mut anchors[ANCHORS_PER_PART..]);
        let mut shingles = short;
        shingles.sort_unstable();
        shingles.dedup();
        let mut numbers: Vec<u32> = words
            .iter()
            .filter(|w| is_number(w))
            .map(|w| xxh3_64(w.as_bytes()) as u32)
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        let title_key = (title_words.len() >= MIN_TITLE_TOKENS)
            .then(|| xxh3_64(title_words.join(" ").as_bytes()));
        Fingerprint {
            simhash: simhash(&hashes),
            shingles,
            anchors,
            content_hash,
            title_key,
            numbers,
        }
    }
}

/// Shared shingles over the smaller set (Broder's containment): 1.0 when one text holds the other.
pub fn containment(a: &[u32], b: &[u32]) -> f64 {
    let smaller = a.len().min(b.len());
    if smaller == 0 {
        return 0.0;
    }
    intersection_size(a, b) as f64 / smaller as f64
}

/// Size of the intersection of two sorted, unique slices.
pub fn intersection_size(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Russia has threatened NATO allies against sending troops to Ukraine, calling them legitimate targets, but Putin faces criticism as North Korean soldiers reportedly fight alongside Russian forces against Ukraine. Tensions escalated sharply this week after 26 NATO countries pledged to send forces.";

    #[test]
    fn quote_style_and_case_do_not_change_the_fingerprint() {
        let a = Fingerprint::of(
            "T",
            "He said \u{201c}legitimate targets\u{201d} on Monday, and Putin\u{2019}s aides agreed with the plan today",
        );
        let b = Fingerprint::of(
            "T",
            "HE SAID \"legitimate targets\" on Monday, and Putin's aides agreed with the plan today",
        );
        assert_eq!(a, b);
    }

    #[test]
    fn an_excerpt_is_contained_in_its_article() {
        let full = Fingerprint::of("Full", TEXT);
        let excerpt = Fingerprint::of("Other headline", &TEXT[..150]);
        // Only the shingle holding the word cut in half is missing from the article.
        assert!(containment(&full.shingles, &excerpt.shingles) > 0.9);
        // The lead anchors overlap, so the index finds the article from the excerpt.
        assert!(
            excerpt.anchors[..ANCHORS_PER_PART]
                .iter()
                .any(|a| full.anchors[..ANCHORS_PER_PART].contains(a))
        );
        assert!(hamming(full.simhash, excerpt.simhash) < 32);
    }

    #[test]
    fn different_texts_are_far_apart() {
        let a = Fingerprint::of("A", TEXT);
        let b = Fingerprint::of(
            "B",
            "The central bank kept interest rates unchanged on Thursday, citing slowing inflation and a weaker labour market across the euro area economies this quarter.",
        );
        assert!(containment(&a.shingles, &b.shingles) < 0.05);
        assert!(hamming(a.simhash, b.simhash) > 12);
    }

    #[test]
    fn hashes_are_stable_across_builds() {
        // xxh3 has a specified output; stored simhashes depend on these exact values. A change
        // here must come with a FINGERPRINT_VERSION bump.
        assert_eq!(FINGERPRINT_VERSION, 1);
        assert_eq!(xxh3_64(b"one two three"), 0x6415_426d_7ec0_92b2);
        let fp = Fingerprint::of("", "one two three four five six seven eight nine");
        assert_eq!(fp.simhash, 0xe645_2380_ffaa_d912);
    }
}
