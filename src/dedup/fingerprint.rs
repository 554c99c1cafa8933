//! Fingerprints of an item's text, all pure and all built on hashes with a specified output
//! (FNV-1a with the murmur3 finalizer for words, xxh3 for runs of words), so stored values stay
//! valid across compiler versions, unlike `std::hash`.
//!
//! - word 3-shingles of the body, as a sorted set of 32-bit hashes: containment between two sets
//!   is the verification that decides a near-duplicate;
//! - a 64-bit simhash over those shingles (Charikar): close fingerprints are cheap candidates;
//! - anchors: the smallest shingle hashes (bottom-k min-hashes) of the first sentence or so, of
//!   the lead and of the whole body, so that a one-sentence excerpt, a trimmed copy or a copy with
//!   a new dateline still shares a key with its article;
//! - a content hash of the token sequence, the numbers in the text and a title key.

use xxhash_rust::xxh3::xxh3_64;

use super::fasthash::TopBits;
use super::related::{EventTerm, LEAD_WORDS};

/// Stored beside every simhash: a change to tokenizing, shingling or hashing bumps it.
pub const FINGERPRINT_VERSION: i64 = 1;
/// Words per shingle.
const SHINGLE_WORDS: usize = 3;
/// Only the first words count: enough to identify an article, bounded for long ones.
pub(crate) const MAX_TOKENS: usize = 600;
/// Anchors are taken from the first [`ANCHOR_SPANS`] shingles (a sentence, the lead) and from
/// the whole body, [`ANCHORS_PER_PART`] from each.
const ANCHOR_SPANS: [usize; 2] = [16, 48];
pub const ANCHORS_PER_PART: usize = 3;
pub const ANCHORS: usize = (ANCHOR_SPANS.len() + 1) * ANCHORS_PER_PART;
/// Shingles, in text order, that make the lead fingerprint.
pub const LEAD_SHINGLES: usize = 24;
/// Below this many body words, the title's words are fingerprinted with the body.
const MIN_BODY_TOKENS: usize = 8;
/// A title needs this many words before two equal titles say anything.
const MIN_TITLE_TOKENS: usize = 6;

#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub simhash: u64,
    /// Sorted, unique 32-bit shingle hashes.
    pub shingles: Vec<u32>,
    /// The first [`LEAD_SHINGLES`] shingle hashes in text order (unique): the lead fingerprint
    /// that lets an excerpt followed by boilerplate still match its article.
    pub lead: Vec<u32>,
    /// Bottom-k of the first sentence's shingles, of the lead's, then of the whole body's
    /// (0 = none).
    pub anchors: [u32; ANCHORS],
    /// Hash of the body's token sequence, `None` when the body is too short to identify anything.
    pub content_hash: Option<u64>,
    /// Hash of the title's tokens, `None` when the title is too short to identify anything.
    pub title_key: Option<u64>,
    /// The numbers of the text with their context: (hash of the words before and after, hash of
    /// the number), sorted. Two texts that put different numbers in the same context are
    /// different stories (templated weather, results, market wraps).
    pub numbers: Vec<(u32, u32)>,
    /// Headline and lead terms for related-coverage clustering (empty unless
    /// [`Fingerprint::with_event_terms`] added them).
    pub event: Vec<EventTerm>,
}

/// One word of a text: the xxh3 hash of its lower-cased form, and whether it is a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Word {
    hash: u64,
    number: bool,
}

/// Stands for any number in the context of another number.
const NUMBER_MARK: u64 = 0x6e75_6d62_6572_2121;

/// FNV-1a over the bytes of a lower-cased word, finished by [`fmix64`] so that every bit mixes:
/// one multiply a byte, no call, fully specified.
#[derive(Clone, Copy)]
struct WordHasher(u64);

impl WordHasher {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    /// The inverse of [`Self::PRIME`] modulo 2^64 (Newton's iteration, each step doubling the
    /// bits that are right; an odd number is its own inverse modulo 8): a step can be undone.
    const PRIME_INVERSE: u64 = {
        let mut x = Self::PRIME;
        let mut step = 0;
        while step < 6 {
            x = x.wrapping_mul(2u64.wrapping_sub(Self::PRIME.wrapping_mul(x)));
            step += 1;
        }
        assert!(Self::PRIME.wrapping_mul(x) == 1);
        x
    };

    fn new() -> WordHasher {
        WordHasher(Self::OFFSET)
    }
    fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
    }
    fn finish(&self) -> u64 {
        fmix64(self.0)
    }

    /// The hasher as it was `n` bytes (at most three) before, when the last bytes were those
    /// of `tail`, the last lowest: the state after a stem is the word's with its suffix taken
    /// off, without hashing the stem again.
    fn unwind(&self, tail: u32, n: u32) -> WordHasher {
        (0..n).fold(*self, |h, k| {
            WordHasher(h.0.wrapping_mul(Self::PRIME_INVERSE) ^ u64::from((tail >> (8 * k)) as u8))
        })
    }
}

/// The hash of one word as [`scan`] computes it (related coverage's stopword table is built
/// with it).
pub(crate) fn word_hash(word: &str) -> u64 {
    let mut h = WordHasher::new();
    let mut utf8 = [0u8; 4];
    for c in word.chars().flat_map(char::to_lowercase) {
        for &b in c.encode_utf8(&mut utf8).as_bytes() {
            h.byte(b);
        }
    }
    h.finish()
}

/// [`ASCII_FOLD`]'s value for ASCII that is not a letter or digit, and for any byte of a
/// character that is not ASCII.
const SEPARATOR: u8 = 0;
const NOT_ASCII: u8 = 0x80;

/// Each byte as [`scan`] reads it: an ASCII letter or digit lower-cased, [`SEPARATOR`] or
/// [`NOT_ASCII`]. One lookup a byte instead of range tests (the scan takes a fifth fewer
/// instructions).
const ASCII_FOLD: [u8; 256] = {
    let mut table = [NOT_ASCII; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            SEPARATOR
        };
        b += 1;
    }
    table
};

/// What related coverage reads of a word besides its hash (`related::event_terms_of`): the
/// hash of its stem, its length and its shape. The fingerprint's scan records it on the way,
/// so that related coverage does not tokenize the text a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WordShape {
    /// The hash of the lower-cased word (the fingerprint's word hash).
    pub hash: u64,
    /// The hash of its stem: the lower-cased word without the suffix [`stem_len`] drops
    /// (mixed with the hashes of the words that continue it, for a [`shape::JOINED`] one).
    pub stem_hash: u64,
    /// Bytes of the lower-cased word (UTF-8; of the first word of a joined one).
    pub bytes: u32,
    /// [`shape`] flags.
    pub flags: u8,
}

/// The [`WordShape::flags`].
pub(crate) mod shape {
    /// Holds a digit.
    pub const DIGIT: u8 = 1;
    /// Starts with an upper-case letter.
    pub const CAPITALIZED: u8 = 2;
    /// Holds a lower-case letter.
    pub const LOWER: u8 = 4;
    /// Holds a character that is neither upper case nor an ASCII digit (not in capitals).
    pub const NOT_CAPITALS: u8 = 8;
    /// Holds a letter.
    pub const LETTER: u8 = 16;
    /// Starts a sentence: the text starts here, or `.`, `!`, `?` or `:` came after the word
    /// before.
    pub const SENTENCE_START: u8 = 32;
    /// Holds a character that is not ASCII.
    pub const NOT_ASCII: u8 = 64;
    /// Stands for a word and the words that continue it across full stops (see
    /// [`continues_across_stop`](super::continues_across_stop)): "6.6", "1.2.3", "U.S.".
    pub const JOINED: u8 = 128;
}

/// The [`shape`] flags of each ASCII letter or digit (0 for anything else). Indexed by any
/// byte, so that a lookup needs no bounds check.
const ASCII_SHAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_digit() {
            shape::DIGIT
        } else if c.is_ascii_uppercase() {
            shape::LETTER
        } else if c.is_ascii_lowercase() {
            shape::LETTER | shape::LOWER | shape::NOT_CAPITALS
        } else {
            0
        };
        b += 1;
    }
    table
};

/// The [`shape`] flags of a character that is not ASCII.
fn char_shape(c: char) -> u8 {
    let mut flags = shape::NOT_ASCII;
    if c.is_alphabetic() {
        flags |= shape::LETTER;
    }
    if c.is_lowercase() {
        flags |= shape::LOWER;
    }
    if !c.is_uppercase() {
        flags |= shape::NOT_CAPITALS;
    }
    flags
}

/// How many bytes of a lower-cased word of `bytes` bytes ending in `tail` (its last three
/// bytes, the last lowest) its stem keeps: a crude English stemmer, enough that "troops" meets
/// "troop" and "killed" meets "kill". "-ing" and "-ed" go when four bytes stay; a plural "-s"
/// from words of four bytes or more, but not "-ss", "-us" or "-is".
fn stem_len(bytes: u32, tail: u32) -> u32 {
    let last = |n: u32| tail & ((1 << (8 * n)) - 1);
    let suffix = |s: &[u8]| packed_tail(s.iter().copied());
    if bytes >= 7 && last(3) == suffix(b"ing") {
        bytes - 3
    } else if bytes >= 6 && last(2) == suffix(b"ed") {
        bytes - 2
    } else if bytes > 3
        && last(1) == u32::from(b's')
        && ![suffix(b"ss"), suffix(b"us"), suffix(b"is")].contains(&last(2))
    {
        bytes - 1
    } else {
        bytes
    }
}

/// The last three of `bytes` as one number, the last lowest (fewer when there are fewer).
fn packed_tail(bytes: impl Iterator<Item = u8>) -> u32 {
    bytes.fold(0u32, |acc, b| (acc << 8) | u32::from(b)) & 0xff_ffff
}

/// The words of `text` (lower-cased alphanumeric runs; apostrophes, quotes and punctuation split
/// words, so quote style and typography do not change them), at most `max`, into `out` (which
/// it clears first); with `SHAPES`, the [`WordShape`] of each of the first `max_shapes` of them
/// too, appended to `shapes` (without it, the shape work is compiled out). One pass over the
/// bytes; ASCII is decided and lower-cased byte by byte, anything else by its decoded
/// character.
fn scan<const SHAPES: bool>(
    text: &str,
    max: usize,
    out: &mut Vec<Word>,
    shapes: &mut Vec<WordShape>,
    max_shapes: usize,
) {
    let bytes = text.as_bytes();
    out.clear();
    out.reserve((text.len() / 6).min(max));
    if SHAPES {
        shapes.reserve((text.len() / 4).min(max_shapes));
    }
    let mut i = 0;
    let mut sentence_start = true;
    // Whether the last word got a shape (a word that continues it joins that shape).
    let mut last_shaped = false;
    while i < bytes.len() && out.len() < max {
        // The ASCII separators before a word (mostly one space) in a loop of their own: each
        // took a turn of the word loop below (7 % more of the scan's instructions).
        while let Some(&b) = bytes.get(i) {
            if ASCII_FOLD[usize::from(b)] != SEPARATOR {
                break;
            }
            if SHAPES && matches!(b, b'.' | b'!' | b'?' | b':') {
                sentence_start = true;
            }
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let mut hash = WordHasher::new();
        // Whether the word has no character that is not ASCII: then it is a number when no
        // byte was a letter (its flags say), which costs the ASCII loop nothing.
        let mut number = true;
        let mut start = i;
        // The shape's flags that a character decides: one lookup an ASCII byte. The rest of
        // the shape is read off the word once it ends ([`shape_of`]). (Kept without `SHAPES`
        // too: the number test reads them.)
        let mut flags = 0u8;
        loop {
            // ASCII letters and digits, most of any text, in a tight loop: one test a byte
            // catches both a separator (0) and a byte that is not ASCII (0x80), which both
            // wrap to 0x7f or more.
            while let Some(&b) = bytes.get(i) {
                let folded = ASCII_FOLD[usize::from(b)];
                if folded.wrapping_sub(1) >= NOT_ASCII - 1 {
                    break;
                }
                flags |= ASCII_SHAPE[usize::from(b)];
                hash.byte(folded);
                i += 1;
            }
            match bytes.get(i) {
                None => break,
                Some(&b) if ASCII_FOLD[usize::from(b)] == SEPARATOR => break,
                Some(_) => {}
            }
            // A character that is not ASCII, decoded.
            let c = text[i..].chars().next().expect("at a char boundary");
            if !c.is_alphanumeric() {
                if i == start {
                    i += c.len_utf8();
                    start = i;
                    continue;
                }
                break;
            }
            number = false;
            if SHAPES {
                flags |= char_shape(c);
            }
            let mut utf8 = [0u8; 4];
            for lower in c.to_lowercase() {
                for &b in lower.encode_utf8(&mut utf8).as_bytes() {
                    hash.byte(b);
                }
            }
            i += c.len_utf8();
        }
        if i == start {
            // An ASCII separator after characters that are not ASCII and separate words
            // (skipped above).
            if SHAPES && matches!(bytes.get(i), Some(b'.' | b'!' | b'?' | b':')) {
                sentence_start = true;
            }
            i += 1;
            continue;
        }
        let word = Word {
            hash: hash.finish(),
            number: number & (flags & shape::LETTER == 0),
        };
        out.push(word);
        if SHAPES {
            if continues_across_stop(bytes, start, i) {
                // Part of the word before: one shape, one term ("6.6" is not "6.1").
                if let Some(last) = shapes.last_mut().filter(|_| last_shaped) {
                    last.stem_hash = joined_hash(last.stem_hash, word.hash);
                    last.flags |= shape::JOINED | (flags & shape::NOT_CAPITALS);
                }
            } else if shapes.len() < max_shapes {
                if sentence_start {
                    flags |= shape::SENTENCE_START;
                }
                shapes.push(shape_of(&bytes[start..i], hash, word.hash, flags));
                last_shaped = true;
            } else {
                last_shaped = false;
            }
            sentence_start = false;
        }
    }
}

/// Whether the word at `start..end` of `bytes` continues the word before across a full stop:
/// digits after a digit ("6.6", "1.2.3"), or a single ASCII letter after a single ASCII letter
/// ("U.S.", "e.g."). Related coverage takes such words as one ([`shape::JOINED`]).
#[inline]
fn continues_across_stop(bytes: &[u8], start: usize, end: usize) -> bool {
    // Most words follow a space: this settles them.
    if start < 2 || bytes[start - 1] != b'.' {
        return false;
    }
    let (word, before) = (&bytes[start..end], bytes[start - 2]);
    let digits = word.iter().all(u8::is_ascii_digit) && before.is_ascii_digit();
    // The word before is a single letter: nothing before it, or an ASCII separator.
    let single_before =
        start == 2 || (bytes[start - 3] < 0x80 && !bytes[start - 3].is_ascii_alphanumeric());
    let initials = word.len() == 1
        && word[0].is_ascii_alphabetic()
        && before.is_ascii_alphabetic()
        && single_before;
    digits || initials
}

/// The term hash of a word joined with a word that continues it (see [`shape::JOINED`]).
pub(crate) fn joined_hash(joined: u64, next: u64) -> u64 {
    fmix64(joined ^ next.rotate_left(29))
}

/// The shape of `word` (letters and digits only), whose lower case hashes to `hash` (`hasher`
/// as it finished it), given the flags its characters set.
///
/// The word comes as bytes: slicing the text as a `str` checked both ends for a character
/// boundary at every word. Only a word that is not ASCII is read as a `str` (a slice of the
/// text between two of its characters, so valid UTF-8).
fn shape_of(word: &[u8], hasher: WordHasher, hash: u64, mut flags: u8) -> WordShape {
    // The lower-cased word: ASCII folded byte by byte (no copy), anything else through its
    // characters.
    if flags & shape::NOT_ASCII == 0 {
        if word[0].is_ascii_uppercase() {
            flags |= shape::CAPITALIZED;
        }
        shape_from(word, |&b| ASCII_FOLD[usize::from(b)], hasher, hash, flags)
    } else {
        let word = std::str::from_utf8(word).expect("a word is whole characters of the text");
        if word.starts_with(|c: char| c.is_uppercase()) {
            flags |= shape::CAPITALIZED;
        }
        let lower: String = word.chars().flat_map(char::to_lowercase).collect();
        shape_from(lower.as_bytes(), |&b| b, hasher, hash, flags)
    }
}

/// The shape of the word that `fold` lower-cases `bytes` into, which `hasher` hashed.
#[inline(always)]
fn shape_from(
    bytes: &[u8],
    fold: impl Fn(&u8) -> u8,
    hasher: WordHasher,
    hash: u64,
    flags: u8,
) -> WordShape {
    let len = bytes.len() as u32;
    let tail = packed_tail(bytes[bytes.len().saturating_sub(3)..].iter().map(&fold));
    let keep = stem_len(len, tail);
    WordShape {
        hash,
        stem_hash: if keep == len {
            hash
        } else {
            hasher.unwind(tail, len - keep).finish()
        },
        bytes: len,
        flags,
    }
}

/// The hash of a run of words: xxh3 over their hashes, little-endian, laid out in `bytes`
/// (scratch space: a body's words took a buffer of a kilobyte or two for every item).
fn hash_words(words: &[Word], bytes: &mut Vec<u8>) -> u64 {
    bytes.clear();
    for w in words {
        bytes.extend_from_slice(&w.hash.to_le_bytes());
    }
    xxh3_64(bytes)
}

/// The murmur3 64-bit finalizer: a cheap, well-mixing, fully specified function.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hashes of the word 3-shingles: the three word hashes rotated apart, combined and mixed
/// (cheaper than hashing the text again; the word hashes are already xxh3).
fn shingle_hashes(words: &[Word], out: &mut Vec<u64>, bytes: &mut Vec<u8>) {
    out.clear();
    if words.is_empty() {
        return;
    }
    if words.len() < SHINGLE_WORDS {
        out.push(hash_words(words, bytes));
        return;
    }
    out.extend(
        words
            .windows(SHINGLE_WORDS)
            .map(|w| fmix64(w[0].hash ^ w[1].hash.rotate_left(21) ^ w[2].hash.rotate_left(42))),
    );
}

/// Charikar's simhash: each bit is the majority vote of that bit over the shingle hashes.
pub fn simhash(hashes: &[u64]) -> u64 {
    // Counting ones bit by bit costs 64 steps a hash. Instead lane `j` of eight u64 lanes keeps
    // eight one-byte counts, of bits j, j + 8, ..., j + 56: a hash shifted right by `j` and
    // masked to the lowest bit of each byte adds one to each count its bit is set for. Eight
    // shifts, masks and adds a hash, and no table (a byte-spreading table, before, was read
    // eight times a hash and fell out of the first-level cache between items). Counts hold at
    // most 255, so the lanes are flushed every 255 hashes.
    const LOW_BITS: u64 = 0x0101_0101_0101_0101;
    let mut ones = [0u32; 64];
    for chunk in hashes.chunks(255) {
        let mut lanes = [0u64; 8];
        for &h in chunk {
            for (j, lane) in lanes.iter_mut().enumerate() {
                *lane += (h >> j) & LOW_BITS;
            }
        }
        for (j, lane) in lanes.iter().enumerate() {
            for k in 0..8 {
                ones[8 * k + j] += ((lane >> (8 * k)) & 0xff) as u32;
            }
        }
    }
    let n = hashes.len() as u32;
    ones.iter()
        .enumerate()
        .filter(|&(_, &c)| 2 * c > n)
        .fold(0u64, |acc, (bit, _)| acc | (1 << bit))
}

/// The `out.len()` smallest distinct values of `hashes` (0 where there are fewer), in one pass,
/// kept sorted in `out` itself.
fn bottom_k(hashes: &[u32], out: &mut [u32]) {
    let k = out.len();
    let mut len = 0;
    for &h in hashes {
        if len == k && h >= out[k - 1] {
            continue;
        }
        if let Err(pos) = out[..len].binary_search(&h) {
            // Room for one more, or the largest falls off the end.
            len = (len + 1).min(k);
            out.copy_within(pos..len - 1, pos + 1);
            out[pos] = h;
        }
    }
    out[len..].fill(0);
}

/// Each number with its context: the two words before and the word after, numbers among them
/// standing as one mark so that "were 4, 18" and "were 7, 21" share the context of their first
/// number.
fn numbers_in_context(
    words: &[Word],
    bytes: &mut Vec<u8>,
    found: &mut Vec<(u32, u32)>,
) -> Vec<(u32, u32)> {
    let context_word = |i: Option<usize>| match i.and_then(|i| words.get(i)) {
        Some(w) if w.number => Word {
            hash: NUMBER_MARK,
            number: true,
        },
        Some(w) => *w,
        None => Word {
            hash: 0,
            number: false,
        },
    };
    // Gathered in `found` (kept by the caller) and copied out at their final size: the vector
    // kept with the fingerprint is allocated once, not grown from four by doubling.
    found.clear();
    found.extend(
        words
            .iter()
            .enumerate()
            .filter(|(_, w)| w.number)
            .map(|(i, w)| {
                let context = [
                    context_word(i.checked_sub(2)),
                    context_word(i.checked_sub(1)),
                    context_word(Some(i + 1)),
                ];
                (hash_words(&context, bytes) as u32, w.hash as u32)
            }),
    );
    found.sort_unstable();
    found.dedup();
    found.to_vec()
}

/// True when some context holds numbers in both texts and they have no number in common there.
pub fn numbers_conflict(a: &[(u32, u32)], b: &[(u32, u32)]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let context = a[i].0;
        match context.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let i_end = i + a[i..].iter().take_while(|x| x.0 == context).count();
                let j_end = j + b[j..].iter().take_while(|x| x.0 == context).count();
                let shared = a[i..i_end]
                    .iter()
                    .any(|x| b[j..j_end].iter().any(|y| y.1 == x.1));
                if !shared {
                    return true;
                }
                (i, j) = (i_end, j_end);
            }
        }
    }
    false
}

/// Wire-service markers put before a headline ("UPDATE 2-", "EXCLUSIVE-", "BREAKING: ").
const HEADLINE_MARKERS: &[&str] = &[
    "UPDATE",
    "EXCLUSIVE",
    "BREAKING",
    "WRAPUP",
    "CORRECTED",
    "REFILE",
    "RPT",
    "ANALYSIS",
    "INSIGHT",
    "FACTBOX",
    "EXPLAINER",
    "FOCUS",
    "URGENT",
    "FLASH",
    "LIVE",
    "WATCH",
    "VIDEO",
    "TIMELINE",
    "OPINION",
    "UPDATED",
];

/// A headline without the parts that outlets add around the same story: a wire marker before it
/// ("UPDATE 1-", "BREAKING: ") and the outlet's name after it (" | Globe", " - BBC News").
pub fn headline_core(title: &str) -> &str {
    let mut t = title.trim();
    // A marker ends within the first 17 bytes; '-' and ':' are ASCII, so a byte search finds
    // what a character search would.
    if let Some(pos) = t.bytes().take(17).position(|b| b == b'-' || b == b':') {
        let word = t[..pos]
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ');
        if HEADLINE_MARKERS.contains(&word) {
            t = t[pos + 1..].trim_start();
        }
    }
    // Most titles have none of the separators' bars and dashes (U+2013 and U+2014 begin with
    // the byte 0xE2): no search for them.
    if !t.bytes().any(|b| matches!(b, b'|' | b'-' | 0xe2)) {
        return t;
    }
    for separator in [" | ", " - ", " \u{2013} ", " \u{2014} "] {
        if let Some(pos) = t.rfind(separator) {
            let tail = &t[pos + separator.len()..];
            let short = tail.split_whitespace().count() <= 4;
            if short && tail.starts_with(|c: char| c.is_uppercase()) && pos > 0 {
                t = t[..pos].trim_end();
                break;
            }
        }
    }
    t
}

/// The vectors a fingerprint is built in and then drops: the words and shapes of its title and
/// text, the shingle hashes, the event terms, and the buffers its sorts and hashes work in, a
/// few kilobytes each (MAX_TOKENS bounds them all). Kept per
/// thread from one item to the next, because allocating them for every item went through the
/// allocator's large-chunk path: 4 % of the per-item instructions with related coverage, 5 %
/// without (`benches/dedup`, callgrind).
#[derive(Default)]
struct Scratch {
    title_words: Vec<Word>,
    words: Vec<Word>,
    title_shapes: Vec<WordShape>,
    lead_shapes: Vec<WordShape>,
    hashes: Vec<u64>,
    /// The shingle hashes cut to 32 bits, and the buffer they are sorted in ([`sort_by_hash`]).
    ///
    /// [`sort_by_hash`]: super::fasthash::sort_by_hash
    short: Vec<u32>,
    short_spare: Vec<u32>,
    /// Where the event terms are gathered and sorted.
    event: Vec<EventTerm>,
    event_spare: Vec<EventTerm>,
    /// The bytes that runs of words are hashed from ([`hash_words`]).
    bytes: Vec<u8>,
    /// The numbers in context, before they are deduplicated.
    numbers: Vec<(u32, u32)>,
}

impl Scratch {
    /// The words of `headline` and of `text`, and with `SHAPES` the shapes of the headline's
    /// words and of the first [`LEAD_WORDS`] of the text.
    fn scan<const SHAPES: bool>(&mut self, headline: &str, text: &str) {
        self.title_shapes.clear();
        self.lead_shapes.clear();
        scan::<SHAPES>(
            headline,
            MAX_TOKENS,
            &mut self.title_words,
            &mut self.title_shapes,
            MAX_TOKENS,
        );
        scan::<SHAPES>(
            text,
            MAX_TOKENS,
            &mut self.words,
            &mut self.lead_shapes,
            LEAD_WORDS,
        );
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

impl Fingerprint {
    /// The fingerprint of an item, without event terms.
    pub fn of(title: &str, text: &str) -> Fingerprint {
        Fingerprint::build::<false>(title, text)
    }

    /// The fingerprint with the headline-and-lead terms that related coverage compares (left
    /// out by [`Fingerprint::of`]: only related coverage, on by default, reads them). The
    /// same scan of the text finds both.
    pub fn with_event_terms(title: &str, text: &str) -> Fingerprint {
        Fingerprint::build::<true>(title, text)
    }

    fn build<const EVENT: bool>(title: &str, text: &str) -> Fingerprint {
        SCRATCH.with_borrow_mut(|scratch| Fingerprint::build_in::<EVENT>(title, text, scratch))
    }

    fn build_in<const EVENT: bool>(title: &str, text: &str, scratch: &mut Scratch) -> Fingerprint {
        scratch.scan::<EVENT>(headline_core(title), text);
        let Scratch {
            title_words,
            words,
            title_shapes,
            lead_shapes,
            hashes,
            short,
            short_spare,
            event,
            event_spare,
            bytes,
            numbers,
        } = scratch;
        let event = if EVENT {
            super::related::event_terms_of(title_shapes, lead_shapes, event, event_spare)
        } else {
            Vec::new()
        };
        let body_is_short = words.len() < MIN_BODY_TOKENS;
        let content_hash = (!body_is_short).then(|| hash_words(words, bytes));
        if body_is_short {
            words.splice(0..0, title_words.iter().copied());
        }
        shingle_hashes(words, hashes, bytes);
        short.clear();
        short.extend(hashes.iter().map(|&h| h as u32));
        let mut anchors = [0u32; ANCHORS];
        for (part, span) in ANCHOR_SPANS.iter().enumerate() {
            let range = part * ANCHORS_PER_PART..(part + 1) * ANCHORS_PER_PART;
            bottom_k(&short[..(*span).min(short.len())], &mut anchors[range]);
        }
        let mut lead: Vec<u32> = Vec::with_capacity(LEAD_SHINGLES);
        for &h in short.iter() {
            if lead.len() == LEAD_SHINGLES {
                break;
            }
            if !lead.contains(&h) {
                lead.push(h);
            }
        }
        super::fasthash::sort_by_hash(short, short_spare, |&h| u64::from(h) << 32);
        short.dedup();
        // The whole body's bottom-k is the start of its sorted, unique shingles (0 where there
        // are fewer), as `bottom_k` would find it: no third pass over them.
        let body = ANCHOR_SPANS.len() * ANCHORS_PER_PART..ANCHORS;
        let smallest = &short[..ANCHORS_PER_PART.min(short.len())];
        anchors[body][..smallest.len()].copy_from_slice(smallest);
        let shingles = short.to_vec();
        let numbers = numbers_in_context(words, bytes, numbers);
        let title_key =
            (title_words.len() >= MIN_TITLE_TOKENS).then(|| hash_words(title_words, bytes));
        Fingerprint {
            simhash: simhash(hashes),
            shingles,
            lead,
            anchors,
            content_hash,
            title_key,
            numbers,
            event,
        }
    }
}

/// The shapes of the words of `headline` (all of them) and of the first [`LEAD_WORDS`] of
/// `text`, as [`Fingerprint::with_event_terms`] finds them.
pub(crate) fn word_shapes(headline: &str, text: &str) -> (Vec<WordShape>, Vec<WordShape>) {
    let mut scratch = Scratch::default();
    scratch.scan::<true>(headline, text);
    (scratch.title_shapes, scratch.lead_shapes)
}

/// Shared shingles over the smaller set (Broder's containment): 1.0 when one text holds the other.
pub fn containment(a: &[u32], b: &[u32]) -> f64 {
    containment_of(intersection_size(a, b), a.len().min(b.len()))
}

/// The containment that `shared` shingles give when the smaller set has `smaller` (0 for an
/// empty set).
pub fn containment_of(shared: usize, smaller: usize) -> f64 {
    if smaller == 0 {
        0.0
    } else {
        shared as f64 / smaller as f64
    }
}

/// Size of the intersection of two sorted, unique slices: [`intersection_reaching`] with
/// nothing needed.
pub fn intersection_size(a: &[u32], b: &[u32]) -> usize {
    intersection_reaching(a, b, 0).expect("any intersection reaches 0")
}

/// The size of the intersection of two sorted, unique slices when it is at least `needed`,
/// `None` otherwise. Branch-free: which side advances is data, not a jump, because on hashes
/// it is a coin toss that a predictor misses half the time (this loop was a third of
/// `Deduplicator::decide` in `benches/dedup`). It gives up as soon as what is left of the
/// shorter side could no longer make up the difference: most candidates a new item is
/// verified against share an anchor by chance and little else, and their walks stop early
/// (`Deduplicator::decide` over 20k items of `benches/dedup`: 1.18G -> 1.05G instructions).
///
/// The walk goes four values of each side at a time: all sixteen pairs of two blocks are
/// compared at once (the compiler makes vector compares of them), and the block with the
/// smaller last value moves on (both, when the last values are equal). A value is compared
/// with every value of the other side that could equal it exactly once, as in the walk one
/// value at a time, which finishes the last few. One value a step made each step wait on
/// the step before (the next loads depend on which side moved); a block a step covers four
/// or more (`benches/dedup`, related coverage on: 1.06 times the items a second).
pub fn intersection_reaching(a: &[u32], b: &[u32], needed: usize) -> Option<usize> {
    /// Block steps between the checks, so that the walk itself stays branch-free.
    const BLOCK_STRIDE: usize = 8;
    /// Value steps between the checks in the walk that finishes.
    const STRIDE: usize = 32;
    let (mut i, mut j, mut n) = (0, 0, 0);
    // Nothing before `i` of `a` can equal anything from `j` of `b` on, or the other way
    // round: what is left can add at most the shorter of the two rests.
    let out_of_reach = |i: usize, j: usize, n: usize| n + (a.len() - i).min(b.len() - j) < needed;
    while i + 4 <= a.len() && j + 4 <= b.len() {
        if out_of_reach(i, j, n) {
            return None;
        }
        for _ in 0..BLOCK_STRIDE {
            let (Some(x), Some(y)) = (block(a, i), block(b, j)) else {
                break;
            };
            n += block_matches(x, y);
            i += 4 * usize::from(x[3] <= y[3]);
            j += 4 * usize::from(y[3] <= x[3]);
        }
    }
    while i < a.len() && j < b.len() {
        if out_of_reach(i, j, n) {
            return None;
        }
        let end = (i + STRIDE).min(a.len());
        while i < end && j < b.len() {
            let (x, y) = (a[i], b[j]);
            n += usize::from(x == y);
            i += usize::from(x <= y);
            j += usize::from(y <= x);
        }
    }
    (n >= needed).then_some(n)
}

/// The four values of `values` from `at`, if there are four.
#[inline(always)]
fn block(values: &[u32], at: usize) -> Option<[u32; 4]> {
    values.get(at..at + 4)?.try_into().ok()
}

/// How many of the sixteen pairs of `x` and `y` are equal: each value against the other block
/// turned by 0 to 3 places.
#[inline(always)]
fn block_matches(x: [u32; 4], y: [u32; 4]) -> usize {
    let mut equal = [0u32; 4];
    for turn in 0..4 {
        for k in 0..4 {
            equal[k] += u32::from(x[k] == y[(k + turn) % 4]);
        }
    }
    equal.iter().sum::<u32>() as usize
}

/// The share of `lead` (any order) found in the sorted set `shingles` (0 for an empty lead):
/// [`lead_containment_reaching`] with no bar.
pub fn lead_containment(lead: &[u32], shingles: &[u32]) -> f64 {
    lead_containment_reaching(lead, shingles, f64::NEG_INFINITY).expect("any share reaches no bar")
}

/// [`lead_containment`] when it reaches `bar`, `None` otherwise. It stops once too many of
/// the lead are missing to reach it: a candidate that shares an anchor by chance misses its
/// first lookups, and the rest are not made.
pub fn lead_containment_reaching(lead: &[u32], shingles: &[u32], bar: f64) -> Option<f64> {
    if lead.is_empty() {
        return (0.0 >= bar).then_some(0.0);
    }
    let share = |found: usize| found as f64 / lead.len() as f64;
    let needed = shingles_for_share(lead.len(), bar)?;
    let mut missing_allowed = lead.len() - needed;
    let mut found = 0;
    for h in lead {
        if shingles.binary_search(h).is_ok() {
            found += 1;
        } else if missing_allowed == 0 {
            return None;
        } else {
            missing_allowed -= 1;
        }
    }
    Some(share(found))
}

/// The fewest of `len` shingles (at least 1) whose share of them reaches `bar`, by the same
/// division as a share is computed with (`count / len`: [`lead_containment_reaching`]'s, and
/// [`containment_of`] for `Thresholds::shingles_for_near_duplicate`); `None` when even all of
/// them fall short (a bar above 1).
///
/// The share grows with the count, so the answer is the first count whose share reaches the
/// bar. It starts from `bar * len` rounded up and steps down and up by the division itself,
/// so that it is the count-by-count search's answer to the last rounding, in a division or
/// two: that search took up to `len` divisions for each candidate a decision verifies
/// (`benches/dedup --warm 80000`: 1.5 % of the per-item instructions).
pub fn shingles_for_share(len: usize, bar: f64) -> Option<usize> {
    let reaches = |n: usize| n as f64 / len as f64 >= bar;
    if !reaches(len) {
        return None;
    }
    // (A bar below 0 or not a number casts to 0; one above 1 returned above.)
    let mut n = ((bar * len as f64).ceil() as usize).min(len);
    while n > 0 && reaches(n - 1) {
        n -= 1;
    }
    while !reaches(n) {
        n += 1;
    }
    Some(n)
}

/// A 512-bit signature of a set of shingle hashes: the bit that the top nine bits of each hash
/// pick. Every shingle two sets share sets the same bit in both, so the shingles of one set
/// whose bit is set in the other's signature are at least as many as the two share: an upper
/// bound, read from one cache line, that rules out most candidates without their shingles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShingleBits(TopBits<8>);

impl ShingleBits {
    pub fn of(shingles: &[u32]) -> ShingleBits {
        ShingleBits(TopBits::of(shingles.iter().map(|&h| Self::key(h))))
    }

    /// A shingle hash as the top bits of the key that picks its bit.
    fn key(hash: u32) -> u64 {
        u64::from(hash) << 32
    }

    /// At least [`ShingleBits::count_in`] of `hashes`, told from their signature `theirs` alone:
    /// the bits both set, plus the hashes that share their bit with another of `hashes`
    /// (`hashes.len()` less the bits `theirs` sets). Each counted hash alone on its bit is a
    /// bit both set; the others are among the hashes that share a bit. A few popcounts, where
    /// `count_in` tests every hash.
    pub fn count_in_at_most(&self, theirs: &ShingleBits, hashes: &[u32]) -> usize {
        self.0.common(&theirs.0) + (hashes.len() - theirs.0.count())
    }

    /// How many of `hashes` have their bit set: at least how many of them the set holds.
    pub fn count_in(&self, hashes: &[u32]) -> usize {
        hashes
            .iter()
            .map(|&h| usize::from(self.0.holds(Self::key(h))))
            .sum()
    }
}

pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Russia has threatened NATO allies against sending troops to Ukraine, calling them legitimate targets, but Putin faces criticism as North Korean soldiers reportedly fight alongside Russian forces against Ukraine. Tensions escalated sharply this week after 26 NATO countries pledged to send forces.";

    #[test]
    fn the_shingles_a_share_needs_are_the_first_count_that_reaches_the_bar() {
        let mut next = crate::test_support::xorshift(0x51_7cc1_b727_220a);
        let mut bars = vec![
            0.0,
            0.1,
            1.0 / 3.0,
            0.5,
            0.6,
            0.7,
            0.75,
            0.8,
            0.85,
            0.9,
            0.95,
            0.99,
            1.0,
            1.0 + f64::EPSILON,
            1.5,
            -0.5,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NAN,
        ];
        bars.extend((0..40).map(|_| (next() % 1_000_001) as f64 / 1_000_000.0));
        let count_by_count =
            |len: usize, bar: f64| (0..=len).find(|&n| n as f64 / len as f64 >= bar);
        for &bar in &bars {
            for len in 0..2000usize {
                let found = shingles_for_share(len, bar);
                assert_eq!(found, count_by_count(len, bar), "len {len} bar {bar}");
            }
        }
        // The bars where rounding decides: a share itself, and the floats either side of it.
        for len in 1..3000usize {
            let share = (next() as usize % (len + 1)) as f64 / len as f64;
            for bar in [share, share.next_down(), share.next_up()] {
                let found = shingles_for_share(len, bar);
                assert_eq!(found, count_by_count(len, bar), "len {len} bar {bar}");
            }
        }
    }

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
    fn headline_core_drops_wire_markers_and_outlet_names() {
        assert_eq!(
            headline_core("UPDATE 2-Putin warns NATO"),
            "Putin warns NATO"
        );
        assert_eq!(
            headline_core("BREAKING: Quake hits Chile | Globe"),
            "Quake hits Chile"
        );
        assert_eq!(
            headline_core("Storm hits coast - BBC News"),
            "Storm hits coast"
        );
        assert_eq!(
            headline_core("NATO-Russia talks stall"),
            "NATO-Russia talks stall"
        );
        assert_eq!(
            headline_core("Inflation - the hidden tax on savers and pensioners everywhere"),
            "Inflation - the hidden tax on savers and pensioners everywhere"
        );
    }

    #[test]
    fn numbers_conflict_only_in_the_same_context() {
        let fp = |t: &str| Fingerprint::of("", t).numbers;
        let a =
            fp("Forecasters expect a high of 28 degrees and a low of 4 degrees in Vienna today");
        let b =
            fp("Forecasters expect a high of 22 degrees and a low of 4 degrees in Vienna today");
        assert!(numbers_conflict(&a, &b));
        // A trimmed copy with a copyright line adds a number in a new context: no conflict.
        let c = fp(
            "Forecasters expect a high of 28 degrees and a low of 4 degrees. Copyright 2026 Globe",
        );
        assert!(!numbers_conflict(&a, &c));
        let d = fp("The winning numbers were 4, 18 and 33 on Saturday");
        let e = fp("The winning numbers were 7, 21 and 40 on Saturday");
        assert!(numbers_conflict(&d, &e));
        assert!(!numbers_conflict(&d, &d));
    }

    #[test]
    fn simhash_is_the_bitwise_majority() {
        let naive = |hashes: &[u64]| {
            (0..64).fold(0u64, |acc, bit| {
                let ones = hashes.iter().filter(|&&h| (h >> bit) & 1 == 1).count();
                if 2 * ones > hashes.len() {
                    acc | (1 << bit)
                } else {
                    acc
                }
            })
        };
        let hashes: Vec<u64> = (0..700u64).map(|i| fmix64(i + 1)).collect();
        for n in [0, 1, 2, 3, 254, 255, 256, 511, 700] {
            assert_eq!(simhash(&hashes[..n]), naive(&hashes[..n]), "{n} hashes");
        }
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
    fn bottom_k_keeps_the_smallest_distinct_values() {
        let mut next = crate::test_support::xorshift(0x5851_f42d);
        for round in 0..2000 {
            let (len, k, span) = (next() % 40, 1 + next() % 5, [5, 50, u64::MAX][round % 3]);
            let hashes: Vec<u32> = (0..len).map(|_| (next() % span) as u32).collect();
            let mut expected = hashes.clone();
            expected.sort_unstable();
            expected.dedup();
            expected.resize(k as usize, 0);
            let mut out = vec![7u32; k as usize];
            bottom_k(&hashes, &mut out);
            assert_eq!(out, expected, "{hashes:?}, k {k}");
        }
    }

    #[test]
    fn intersection_size_counts_the_shared_values() {
        let mut next = crate::test_support::xorshift(0x9e37_79b9);
        let lens = [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 10, 31, 33, 64, 200, 400];
        for (round, len) in lens.into_iter().cycle().take(300).enumerate() {
            // Values from a small range, so that the two sets share some; every third round a
            // near copy instead (most values shared, as near-duplicates' shingles are), with
            // blocks that meet at equal last values now and then.
            let range = if round % 2 == 0 {
                300
            } else {
                3 * len as u64 + 1
            };
            let mut set = |n: usize| {
                let mut v: Vec<u32> = (0..n).map(|_| (next() % range) as u32).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let a = set(len);
            let b = if round % 3 == 0 {
                let mut b: Vec<u32> = a.iter().copied().filter(|&x| x % 7 != 3).collect();
                b.extend(set(len / 8));
                b.sort_unstable();
                b.dedup();
                b
            } else {
                set(len / 2 + 1)
            };
            let shared = a.iter().filter(|x| b.binary_search(x).is_ok()).count();
            assert_eq!(intersection_size(&a, &b), shared, "{a:?} {b:?}");
            assert_eq!(intersection_size(&b, &a), shared);
            assert_eq!(intersection_size(&a, &a), a.len());
            for needed in [0, 1, shared / 2, shared, shared + 1, len + 1] {
                let expected = (shared >= needed).then_some(shared);
                assert_eq!(
                    intersection_reaching(&a, &b, needed),
                    expected,
                    "needed {needed}"
                );
                assert_eq!(
                    intersection_reaching(&b, &a, needed),
                    expected,
                    "needed {needed}"
                );
            }
            // Every value shared: reached with nothing to spare.
            assert_eq!(intersection_reaching(&a, &a, a.len()), Some(a.len()));
            assert_eq!(intersection_reaching(&a, &a, a.len() + 1), None);
        }
    }

    #[test]
    fn the_lead_share_is_reached_exactly_when_the_full_share_reaches_the_bar() {
        let mut next = crate::test_support::xorshift(0x1234_5678_9abc);
        let mut reached = [0usize; 2];
        for round in 0..3000 {
            // A lead of up to 24 values, most of them (or few) among the shingles.
            let mut shingles: Vec<u32> = (0..60).map(|_| (next() % 400) as u32).collect();
            shingles.sort_unstable();
            shingles.dedup();
            let inside = next() % 100;
            let lead: Vec<u32> = (0..next() % 25)
                .map(|_| {
                    if next() % 100 < inside {
                        shingles[(next() as usize) % shingles.len()]
                    } else {
                        400 + (next() % 400) as u32
                    }
                })
                .collect();
            for bar in [0.0, 0.5, 0.7, 17.0 / 24.0, 1.0] {
                // The share by its definition, every value looked up.
                let found = lead.iter().filter(|h| shingles.contains(h)).count();
                let share = if lead.is_empty() {
                    0.0
                } else {
                    found as f64 / lead.len() as f64
                };
                assert_eq!(lead_containment(&lead, &shingles), share);
                let expected = (share >= bar).then_some(share);
                let got = lead_containment_reaching(&lead, &shingles, bar);
                assert_eq!(got, expected, "round {round}, bar {bar}, {lead:?}");
                reached[usize::from(got.is_some())] += 1;
            }
        }
        assert!(reached[0] > 1000 && reached[1] > 1000, "{reached:?}");
    }

    #[test]
    fn the_fingerprint_with_event_terms_is_the_fingerprint_and_the_event_terms() {
        let items = [
            ("Putin warns NATO | Example News", TEXT),
            (
                "UPDATE 1-Quake hits Chile",
                "A magnitude 6.1 earthquake struck. Troops deployed.",
            ),
            (
                "ÉLYSÉE: Macron’s plan",
                "Le président a dit: «non». Zürich, 日本 and U.S. troops.",
            ),
            ("Short", "two words"),
            ("", ""),
        ];
        for (title, text) in items {
            let with_terms = Fingerprint::with_event_terms(title, text);
            assert_eq!(title.is_empty(), with_terms.event.is_empty(), "{title:?}");
            assert_eq!(
                with_terms.event,
                super::super::related::event_terms(headline_core(title), text)
            );
            assert_eq!(
                Fingerprint {
                    event: Vec::new(),
                    ..with_terms
                },
                Fingerprint::of(title, text)
            );
        }
    }

    #[test]
    fn each_anchor_part_is_the_bottom_k_of_its_span() {
        let mut next = crate::test_support::xorshift(0x5851_f42d_4c95_7f2d);
        let vocabulary = [
            "storm", "river", "city", "mayor", "said", "the", "of", "flood", "rain",
        ];
        for len in [0usize, 2, 9, 14, 17, 40, 60, 300] {
            let text: Vec<&str> = (0..len)
                .map(|_| vocabulary[(next() % vocabulary.len() as u64) as usize])
                .collect();
            let text = text.join(" ");
            let fp = Fingerprint::of("Storm floods the river city", &text);
            // The reference: the shingle hashes in text order, as the fingerprint takes them.
            let mut words = Vec::new();
            scan::<false>(&text, MAX_TOKENS, &mut words, &mut Vec::new(), 0);
            if words.len() < MIN_BODY_TOKENS {
                let mut title = Vec::new();
                let headline = headline_core("Storm floods the river city");
                scan::<false>(headline, MAX_TOKENS, &mut title, &mut Vec::new(), 0);
                words.splice(0..0, title);
            }
            let mut hashes = Vec::new();
            shingle_hashes(&words, &mut hashes, &mut Vec::new());
            let short: Vec<u32> = hashes.iter().map(|&h| h as u32).collect();
            for (part, span) in ANCHOR_SPANS.iter().chain([&usize::MAX]).enumerate() {
                let mut smallest = short[..(*span).min(short.len())].to_vec();
                smallest.sort_unstable();
                smallest.dedup();
                smallest.resize(ANCHORS_PER_PART.max(smallest.len()), 0);
                let range = part * ANCHORS_PER_PART..(part + 1) * ANCHORS_PER_PART;
                assert_eq!(
                    fp.anchors[range],
                    smallest[..ANCHORS_PER_PART],
                    "{len} words, part {part}"
                );
            }
        }
    }

    /// The bound from two signatures is never below the count of one set's hashes in the
    /// other's signature, whatever the overlap, and however many hashes share a bit.
    #[test]
    fn the_signatures_bound_is_at_least_the_count_it_stands_for() {
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1du64);
        let mut tight = 0;
        for round in 0..2000u64 {
            // Up to 600 hashes (more than 512 bits: many share a bit), a share of them in
            // common with the other set.
            let (n, m) = ((next() % 600) as usize, (next() % 600) as usize);
            let mut ours: Vec<u32> = (0..n).map(|_| next() as u32).collect();
            let mut theirs: Vec<u32> = (0..m).map(|_| next() as u32).collect();
            let common = (round as usize % 5) * n / 4;
            theirs.extend(ours.iter().take(common));
            ours.sort_unstable();
            ours.dedup();
            theirs.sort_unstable();
            theirs.dedup();
            let (our_bits, their_bits) = (ShingleBits::of(&ours), ShingleBits::of(&theirs));
            let counted = their_bits.count_in(&ours);
            let bound = their_bits.count_in_at_most(&our_bits, &ours);
            assert!(bound >= counted, "round {round}: {bound} < {counted}");
            tight += usize::from(bound == counted);
        }
        // Where no hash shares a bit, the bound is the count itself.
        assert!(tight > 100, "the bound was exact {tight} times");
    }

    #[test]
    fn hashes_are_stable_across_builds() {
        // Word hashes (FNV-1a + fmix64), shingle mixing and xxh3 have specified outputs; the
        // stored simhashes depend on these exact values. A change here must come with a
        // FINGERPRINT_VERSION bump.
        assert_eq!(FINGERPRINT_VERSION, 1);
        assert_eq!(xxh3_64(b"one two three"), 0x6415_426d_7ec0_92b2);
        let mut words = Vec::new();
        scan::<false>("ONE Caf\u{c9}", 10, &mut words, &mut Vec::new(), 0);
        assert_eq!(words[0].hash, word_hash("one"));
        assert_eq!(words[1].hash, word_hash("caf\u{e9}"));
        assert_eq!(word_hash("one"), 0x6299_27f4_6b94_4038);
        let fp = Fingerprint::of("", "one two three four five six seven eight nine");
        assert_eq!(fp.simhash, 0xe655_178d_2093_5afb);
    }
}
