//! Related coverage: different outlets' reports of one event, in different words. Single-pass
//! online clustering as in Topic Detection and Tracking (Allan et al. 1998) and Miranda et al.
//! (2018): each item is a weighted term vector over its headline and lead; each cluster keeps
//! the summed vector of its members; IDF is kept incrementally from the stream, so rare names
//! weigh more than "said" or "earthquake". A new item joins the most similar cluster above the
//! threshold, and only when they share a distinctive name or number: two events of the same kind
//! (two earthquakes, two rehab stays) share the generic words and differ in exactly those.
//!
//! Reports of one event that come before any two of them agree strongly start clusters of their
//! own. A later report that two such clusters echo ties them: it joins the closer one though
//! under its bar, and the caller may fold the other into it (see [`Bars::bridge`]).
//!
//! Candidate clusters come from an inverted index of each member's most distinctive terms, so
//! the cost does not grow with the store.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use super::fasthash::{FastMap, IdSet, PostingList, TopBits, drop_from_lists, sort_by_hash, warm};
use super::fingerprint::{WordShape, shape, word_hash};

/// One term of an item's headline and lead.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EventTerm {
    /// The hash of the word's stem (words as the fingerprint splits them: runs of letters and
    /// digits).
    pub hash: u64,
    /// Occurrences, the headline's counting double, capped.
    pub weight: f32,
    /// A proper name (capitalized inside a sentence), an acronym or a number.
    pub name: bool,
    /// Found in the headline.
    pub headline: bool,
    /// Holds a digit ("1009", "2012", "G20", "6.6").
    pub number: bool,
}

/// Words of the lead that count, after the headline.
pub(crate) const LEAD_WORDS: usize = 300;
const MAX_TERM_WEIGHT: f32 = 4.0;
const HEADLINE_WEIGHT: f32 = 2.0;
/// Names and numbers weigh this much more than other words.
const NAME_BOOST: f32 = 2.0;
/// Each member posts this many of its most distinctive terms to the cluster index.
const POSTED_TERMS: usize = 10;
/// Terms of a new item looked up in the cluster index.
const QUERY_TERMS: usize = 12;
/// Clusters scored for one item: those that posted most of its distinctive terms.
const MAX_CANDIDATES: usize = 12;
/// Candidate clusters must have posted at least this many of the item's query terms (on ECB+
/// dev and the STS pairs, 2 loses no join at the default thresholds; 3 begins to).
const MIN_POSTED_SHARED: u32 = 2;
/// A posting list longer than this is a term too common to find one story by.
const MAX_POSTING: usize = 256;
/// With conflicting headline names, the similarity a join needs.
const CONFLICT_THRESHOLD: f64 = 0.45;
/// The term statistics count at most about this many distinct terms (20 to 40 MiB); see
/// `RelatedIndex::bound_term_statistics`.
const MAX_COUNTED_TERMS: usize = 1 << 20;
/// A cluster profile keeps at most this many terms (the heaviest).
const PROFILE_TERMS: usize = 64;

/// Function words and reporting verbs that say nothing about which event an article covers.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "according", "across", "afp", "after", "again", "against", "all",
    "also", "am", "amid", "among", "an", "and", "another", "any", "ap", "are", "around", "as",
    "at", "back", "be", "because", "been", "before", "being", "below", "between", "both",
    "breaking", "but", "by", "can", "click", "could", "day", "days", "did", "do", "does", "doing",
    "down", "during", "each", "even", "exclusive", "few", "first", "for", "friday", "from",
    "further", "get", "got", "had", "has", "have", "having", "he", "her", "here", "hers",
    "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "just", "last", "least", "like", "live", "made", "make", "many", "may", "me",
    "might", "monday", "more", "most", "mr", "mrs", "ms", "much", "must", "my", "myself", "new",
    "news", "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or", "other",
    "our", "ours", "ourselves", "out", "over", "own", "people", "per", "photo", "photos", "read",
    "report", "reported", "reports", "reuters", "said", "same", "saturday", "say", "says", "she",
    "should", "since", "so", "some", "still", "such", "sunday", "than", "that", "the", "their",
    "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "three",
    "through", "thursday", "time", "to", "today", "told", "tomorrow", "too", "tuesday", "two",
    "under", "until", "up", "update", "updated", "us", "very", "via", "video", "was", "we",
    "wednesday", "week", "well", "were", "what", "when", "where", "which", "while", "who", "whom",
    "why", "will", "with", "would", "year", "years", "yesterday", "yet", "you", "your", "yours",
];

/// The stopwords' hashes: a word is looked up by the hash computed for it anyway.
/// An open-addressing table of them, a fifth full, placed by the hash's top bits, where no
/// stopword lands further than [`STOPWORD_REACH`] slots past its home (checked when the table
/// is built): a word is a stopword when one of those slots holds its hash. A fixed number of
/// loads and comparisons, without a branch: a probe that stopped at the first empty slot
/// branched on data that the processor guessed wrong about once in five words (callgrind's
/// branch simulation), and a hash set's probe was a fifth of the event-term scan. Empty slots
/// hold 0, which no stopword hashes to (also checked).
static STOPWORD_HASHES: LazyLock<[u64; STOPWORD_SLOTS + STOPWORD_REACH]> = LazyLock::new(|| {
    let mut table = [0u64; STOPWORD_SLOTS + STOPWORD_REACH];
    for word in STOPWORDS {
        let hash = word_hash(word);
        assert_ne!(hash, 0, "a stopword hashes to the empty slot");
        let home = stopword_slot(hash);
        let slot = (home..=home + STOPWORD_REACH)
            .find(|&slot| table[slot] == 0)
            .expect("every stopword within STOPWORD_REACH of its home: make the table larger");
        table[slot] = hash;
    }
    table
});

const STOPWORD_SLOTS: usize = 1024;
/// How far past its home slot a stopword may be placed.
const STOPWORD_REACH: usize = 3;

fn stopword_slot(hash: u64) -> usize {
    (hash >> (64 - STOPWORD_SLOTS.trailing_zeros())) as usize
}

/// Whether `hash` is a stopword's, in `table` ([`STOPWORD_HASHES`], which a caller looking up
/// many words dereferences once: its lazy initialisation is checked there).
fn is_stopword_hash(table: &[u64; STOPWORD_SLOTS + STOPWORD_REACH], hash: u64) -> bool {
    let home = stopword_slot(hash);
    table[home..=home + STOPWORD_REACH]
        .iter()
        .fold(false, |found, &held| found | (held == hash))
}

/// The weight factor of a term: names and numbers count [`NAME_BOOST`] times. Read from a
/// table, not chosen by a branch: whether a term is a name is a coin toss, and the compiler's
/// branch here was guessed wrong for one term in three (callgrind's branch simulation).
fn boost(name: bool) -> f32 {
    const BOOSTS: [f32; 2] = [1.0, NAME_BOOST];
    BOOSTS[usize::from(name)]
}

/// Counts below this have their logarithm in [`SMALL_LOGS`].
const SMALL_COUNTS: usize = 4096;

/// `ln(n)` for the counts below [`SMALL_COUNTS`]: most terms are rare, and a logarithm per term
/// per decision was about 4 % of `benches/dedup`'s time.
static SMALL_LOGS: LazyLock<Vec<f32>> =
    LazyLock::new(|| (0..SMALL_COUNTS).map(|n| (n as f32).ln()).collect());

/// The key a term is counted under in the document counts, and kept under in a cluster
/// profile: the top half of its hash.
///
/// Eight-byte slots rather than sixteen halve the document counts, which about 300 lookups an
/// item go to (they held 29k terms, a megabyte, after the 20k items of `benches/dedup`: more
/// than a core's second-level cache), and a profile term ([`ProfileTerm`]) is half as long.
/// Two terms whose hashes share their top half share a count, and are one term in a profile
/// that holds both. Among the [`MAX_COUNTED_TERMS`] the counts hold at most, about a hundred
/// pairs do; a shared count only lowers the two terms' IDF, and in a profile of at most a few
/// hundred terms a pair turns up about once in a hundred thousand profiles. The harness output
/// on every development set is the same as with whole hashes.
fn term_key(term: u64) -> u32 {
    (term >> 32) as u32
}

/// `ln(n)`, from `small_logs` ([`SMALL_LOGS`]) when it holds it.
fn ln_count(small_logs: &[f32], n: u32) -> f32 {
    match small_logs.get(n as usize) {
        Some(&ln) => ln,
        None => (n as f32).ln(),
    }
}

/// Inverse document frequency for one corpus size: `ln((docs + 1) / (df + 1)) + 1`, taken as a
/// difference of logarithms, so that `ln(docs + 1)` is computed once and a term's is a lookup.
/// (The harness output on every development set is the same as with the quotient's logarithm.)
struct Idf {
    ln_docs: f32,
    /// [`SMALL_LOGS`], whose lazy initialisation is checked once here rather than at every
    /// term's lookup (hundreds an item).
    small_logs: &'static [f32],
}

impl Idf {
    fn at(docs: u32) -> Idf {
        let small_logs = &SMALL_LOGS[..];
        Idf {
            ln_docs: ln_count(small_logs, docs + 1),
            small_logs,
        }
    }

    /// Of a term found in `df` documents (smoothed, at least 1).
    fn of(&self, df: u32) -> f32 {
        self.ln_docs - ln_count(self.small_logs, df + 1) + 1.0
    }

    /// Of `term`, with the document counts `df`.
    fn of_term(&self, df: &FastMap<u32, u32>, term: u64) -> f32 {
        self.of_key(df, term_key(term))
    }

    /// Of the term whose [`term_key`] is `key`.
    fn of_key(&self, df: &FastMap<u32, u32>, key: u32) -> f32 {
        self.of(df.get(&key).copied().unwrap_or(0))
    }
}

/// The event terms of an item: its headline (counting double) and the first words of its text.
/// (The deduplicator takes them from the fingerprint's scan, [`Fingerprint::with_event_terms`];
/// this scans for them alone.)
///
/// [`Fingerprint::with_event_terms`]: super::fingerprint::Fingerprint::with_event_terms
pub fn event_terms(headline: &str, text: &str) -> Vec<EventTerm> {
    let (title, lead) = super::fingerprint::word_shapes(headline, text);
    event_terms_of(&title, &lead, &mut Vec::new(), &mut Vec::new())
}

/// The event terms of the words of a headline and of the first [`LEAD_WORDS`] of a text, from
/// their shapes: stopwords and lone single letters dropped, each term its stem, names marked.
/// The terms are gathered, sorted and merged in `work` and `spare` (scratch space a caller keeps
/// from one item to the next), and only the result is allocated, at its size.
///
/// Every occurrence is sorted, not only the distinct terms: merging the occurrences while they
/// are gathered (in an open-addressing table by hash) left the sort about two fifths of them,
/// but the table's own work cost more than the shorter sort saved: 1.8 % more instructions on
/// the per-item path of `benches/dedup`.
pub(crate) fn event_terms_of(
    title: &[WordShape],
    lead: &[WordShape],
    work: &mut Vec<EventTerm>,
    spare: &mut Vec<EventTerm>,
) -> Vec<EventTerm> {
    let terms = work;
    terms.clear();
    add_terms(
        terms,
        title,
        HEADLINE_WEIGHT,
        Case::of_headline(title),
        true,
    );
    add_terms(terms, lead, 1.0, Case::Sentence, false);
    sort_by_hash(terms, spare, |t| t.hash);
    merge_occurrences(terms);
    terms.to_vec()
}

/// One term for each run of equal hashes in `terms` (sorted by hash): weights summed up to the
/// cap, flags joined, in place.
fn merge_occurrences(terms: &mut Vec<EventTerm>) {
    terms.dedup_by(|later, first| {
        let same = later.hash == first.hash;
        if same {
            first.weight = (first.weight + later.weight).min(MAX_TERM_WEIGHT);
            first.name |= later.name;
            first.headline |= later.headline;
            first.number |= later.number;
        }
        same
    });
}

/// How a text uses capitals, and so what a capital says about a name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    /// Ordinary prose: a capital inside a sentence starts a name.
    Sentence,
    /// A headline in Title Case capitalizes everything: only acronyms and numbers are known to
    /// be names.
    Title,
    /// A headline in capitals: every word looks like an acronym, only numbers are known to be
    /// names ("PIERRE THOMAS PLACED ON INJURED RESERVE" made "placed" and "injured" names,
    /// weighed double, and joined another player's injury story).
    Upper,
}

impl Case {
    fn of_headline(words: &[WordShape]) -> Case {
        let has = |w: &WordShape, flag: u8| w.flags & flag != 0;
        // Seven in ten of at least three words.
        let mostly = |n: usize| words.len() >= 3 && n * 10 >= words.len() * 7;
        let with_letters = || words.iter().filter(|w| has(w, shape::LETTER));
        let lettered = with_letters().count();
        let upper = with_letters().filter(|w| !has(w, shape::LOWER)).count();
        let capitalized = words.iter().filter(|w| has(w, shape::CAPITALIZED)).count();
        if lettered >= 3 && upper == lettered {
            Case::Upper
        } else if mostly(capitalized) {
            Case::Title
        } else {
            Case::Sentence
        }
    }
}

/// Adds the terms of `words` to `terms`.
fn add_terms(
    terms: &mut Vec<EventTerm>,
    words: &[WordShape],
    weight: f32,
    case: Case,
    headline: bool,
) {
    // Every word is written and the count moves past the ones kept: whether a word is a
    // stopword is a coin toss, and the branches on it were guessed wrong about one word in five
    // (callgrind's branch simulation). Hence `&` and `|` rather than `&&` and `||` below.
    let stopwords = &*STOPWORD_HASHES;
    let mut kept = terms.len();
    terms.resize(kept + words.len(), EventTerm::default());
    for w in words {
        let has = |flag: u8| w.flags & flag != 0;
        let (number, joined) = (has(shape::DIGIT), has(shape::JOINED));
        // Numbers are never stopwords and count at any length, and so do joined words
        // ("U.S.").
        let keep = number | joined | ((w.bytes >= 2) & !is_stopword_hash(stopwords, w.hash));
        let acronym = (case != Case::Upper) & ((w.bytes >= 2) | joined) & !has(shape::NOT_CAPITALS);
        let inside_sentence = has(shape::CAPITALIZED) & !has(shape::SENTENCE_START);
        terms[kept] = EventTerm {
            hash: w.stem_hash,
            weight,
            name: number | acronym | ((case == Case::Sentence) & inside_sentence),
            headline,
            number,
        };
        kept += usize::from(keep);
    }
    terms.truncate(kept);
}

/// Keeps the `k` heaviest terms of `ranked` (keys of [`heaviest_first`]), in no particular
/// order (a partial selection, not a sort). Ties break by hash, so that the choice does not
/// depend on the input order.
fn select_heaviest(ranked: &mut Vec<u64>, k: usize) {
    if ranked.len() > k {
        ranked.select_nth_unstable(k);
        ranked.truncate(k);
    }
}

/// The order [`select_heaviest`] selects by, as one integer, for the term at `position` of a
/// list sorted by hash (each hash once; the item's terms and a profile's are): the heavier
/// first (by `f32::total_cmp`, reversed), then the smaller position, which is the smaller
/// hash. The key is computed once per term and compared as a plain integer: the selections
/// ran hundreds of comparisons per item, and comparing the float and then the hash (or
/// computing this key per comparison) was 8 % and then 3 % of the per-item instructions in
/// `benches/dedup`. The position rather than the hash makes it one word, not two (with a
/// `u128` holding the hash the per-item path took 2 % more instructions). [`key_position`]
/// gives the position back.
fn heaviest_first(position: usize, weight: f32) -> u64 {
    // What `total_cmp` does: flip the magnitude bits of negatives so that the integer order of
    // the bits is the float order, then move the sign so that unsigned order is too.
    let bits = weight.to_bits() as i32;
    let total = (bits ^ ((((bits >> 31) as u32) >> 1) as i32)) as u32 ^ 0x8000_0000;
    let position = u32::try_from(position).expect("a term list is far shorter than 2^32");
    (u64::from(!total) << 32) | u64::from(position)
}

/// The position in its list of the term of a [`heaviest_first`] key.
fn key_position(key: u64) -> usize {
    key as u32 as usize
}

/// One term of a cluster profile, in eight bytes: each query walks the whole profile of every
/// candidate it scores (about three an item, of up to 128 terms), and a norm's recomputation
/// walks it too. With the whole hash and the flags in a byte each, a term took sixteen.
#[derive(Debug, Clone, Copy)]
struct ProfileTerm {
    /// The term's [`term_key`].
    key: u32,
    /// Summed weight over the members, which is above zero: its sign bit says whether the term
    /// is a name.
    signed_sum: f32,
}

impl ProfileTerm {
    fn new(key: u32, sum: f32, name: bool) -> ProfileTerm {
        // The sign bit flipped for a name, as `-sum` would, without a branch on `name`.
        ProfileTerm {
            key,
            signed_sum: f32::from_bits(sum.to_bits() ^ (u32::from(name) << 31)),
        }
    }

    fn sum(self) -> f32 {
        self.signed_sum.abs()
    }

    fn name(self) -> bool {
        self.signed_sum.is_sign_negative()
    }

    /// Adds `other`'s sum, and its name flag.
    fn add(&mut self, other: ProfileTerm) {
        *self = ProfileTerm::new(
            self.key,
            self.sum() + other.sum(),
            self.name() | other.name(),
        );
    }
}

impl Profile {
    fn get(&self, hash: u64) -> Option<&ProfileTerm> {
        self.terms
            .binary_search_by_key(&term_key(hash), |t| t.key)
            .ok()
            .map(|i| &self.terms[i])
    }

    fn contains(&self, hash: u64) -> bool {
        self.get(hash).is_some()
    }

    /// Adds a member's terms (sorted by hash). `fresh` is scratch space.
    fn add<'a>(
        &mut self,
        terms: impl Iterator<Item = &'a EventTerm>,
        fresh: &mut Vec<ProfileTerm>,
    ) {
        self.add_sums(
            terms.map(|t| ProfileTerm::new(term_key(t.hash), t.weight, t.name)),
            fresh,
        );
    }

    /// Adds summed terms (sorted by key): a term the profile has adds to its sum in place, and
    /// the others are merged in from the back, so that the profile grows in place (a new
    /// merged vector for every member was one of the largest allocations per item). `fresh` is
    /// scratch space.
    fn add_sums(&mut self, terms: impl Iterator<Item = ProfileTerm>, fresh: &mut Vec<ProfileTerm>) {
        fresh.clear();
        let mut at = 0;
        for t in terms {
            while at < self.terms.len() && self.terms[at].key < t.key {
                at += 1;
            }
            match self.terms.get_mut(at) {
                Some(p) if p.key == t.key => {
                    self.names += u32::from(t.name() & !p.name());
                    p.add(t);
                }
                _ => fresh.push(t),
            }
        }
        self.names += fresh.iter().filter(|t| t.name()).count() as u32;
        if fresh.is_empty() {
            return;
        }
        // Both runs are sorted and share no key: fill the grown vector from its end with the
        // larger of the two runs' last terms.
        let mut own = self.terms.len();
        self.terms.reserve_exact(fresh.len());
        self.terms.resize(own + fresh.len(), fresh[0]);
        let mut to = self.terms.len();
        while let Some(&t) = fresh.last() {
            to -= 1;
            if own > 0 && self.terms[own - 1].key > t.key {
                own -= 1;
                self.terms[to] = self.terms[own];
            } else {
                self.terms[to] = t;
                fresh.pop();
            }
        }
    }
}

/// What the index keeps of a cluster: the summed term weights of its members.
#[derive(Clone)]
struct Profile {
    /// Sorted by key: lookups are binary searches, and the similarity walks it together with
    /// the item's terms (sorted by hash, and so by key). A sorted vector is also a third of a
    /// hash map's memory, and the index holds one profile per recent story.
    terms: Vec<ProfileTerm>,
    /// How many of `terms` are names: a query whose item has no distinctive name skips a
    /// profile without one at once, since they can share no name.
    names: u32,
    /// Name terms found in a member's headline.
    headline_names: Vec<u64>,
    /// Numbers found in a member's headline.
    headline_numbers: Vec<u64>,
    /// (corpus size when computed, length of the weighted vector); see `cached_norm`.
    norm: std::cell::Cell<(u32, f32)>,
    members: u32,
    /// Members that are reports of their own, not copies.
    reports: u32,
    last_ts: i64,
    representative: i64,
    /// Every term whose posting list may name this cluster (sorted, each once): eviction and
    /// merging visit these lists only, not every list of the index.
    posted: Vec<u64>,
}

impl Profile {
    /// An empty profile of a story that `representative`, at `ts`, starts.
    fn new(representative: i64, ts: i64) -> Profile {
        Profile {
            terms: Vec::new(),
            names: 0,
            headline_names: Vec::new(),
            headline_numbers: Vec::new(),
            norm: std::cell::Cell::new((0, 0.0)),
            members: 0,
            reports: 0,
            last_ts: ts,
            representative,
            posted: Vec::new(),
        }
    }

    /// Records that the posting list of `term` names this cluster.
    fn record_posted(&mut self, term: u64) {
        if let Err(at) = self.posted.binary_search(&term) {
            self.posted.insert(at, term);
        }
    }
}

/// Puts cluster `number`, which two reports or more back, on the backed list of each term it
/// `posted` ([`RelatedIndex::backed`]).
fn file_backed(backed: &mut FastMap<u64, PostingList<u32>>, number: u32, posted: &[u64]) {
    for &term in posted {
        backed.entry(term).or_default().push(number);
    }
}

/// Moves `cluster`'s newest-member time `last_ts` to `ts` if that is later, in the profile and in
/// the time-ordered set `by_time` alike.
fn move_later(by_time: &mut BTreeSet<(i64, i64)>, cluster: i64, last_ts: &mut i64, ts: i64) {
    if ts > *last_ts {
        by_time.remove(&(*last_ts, cluster));
        by_time.insert((ts, cluster));
        *last_ts = ts;
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelatedMatch {
    pub cluster: i64,
    pub representative: i64,
    pub score: f64,
}

/// Where related coverage places an item: the cluster it joins, and possibly a second cluster
/// of the same event that the item ties to the first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelatedJoin {
    pub joined: RelatedMatch,
    pub bridged: Option<RelatedMatch>,
}

/// The similarities related coverage asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bars {
    /// To join a cluster that one report backs.
    pub join: f64,
    /// To join a cluster that two or more independent reports back.
    pub supported: f64,
    /// To tie a second cluster to the one the item joins, or, when the item reaches no join bar,
    /// to join the closer of two clusters it is this close to: the item is a third report that
    /// agrees with both. Never two clusters that each have two reports or more: those are
    /// stories with their own agreement, and an item close to both is more often about how
    /// they relate than a sign they are one.
    pub bridge: f64,
    /// Least IDF of the shared name.
    pub min_name_idf: f32,
}

/// The profiles of the clusters the index holds, each under a dense number: the posting lists
/// and a query's hit counts hold numbers, four bytes rather than a cluster id's eight (the
/// hit counting reads a few hundred ids an item), and a candidate's profile is found by its
/// number, not through a hash lookup. A number is reused once its cluster has left the index
/// and every posting list.
#[derive(Clone, Default)]
struct Profiles {
    /// The number of each cluster held.
    numbers: FastMap<i64, u32>,
    /// By number: the profile, `None` while the number is free or taken out.
    held: Vec<Option<Profile>>,
    /// By number: the cluster (of a free number, its last).
    clusters: Vec<i64>,
    /// Numbers free for reuse.
    free: Vec<u32>,
}

impl Profiles {
    fn len(&self) -> usize {
        self.numbers.len()
    }

    fn number(&self, cluster: i64) -> Option<u32> {
        self.numbers.get(&cluster).copied()
    }

    fn get(&self, cluster: i64) -> Option<&Profile> {
        self.at(self.number(cluster)?)
    }

    fn get_mut(&mut self, cluster: i64) -> Option<&mut Profile> {
        let number = self.number(cluster)?;
        self.at_mut(number)
    }

    /// The cluster numbered `number`.
    fn cluster(&self, number: u32) -> i64 {
        self.clusters[number as usize]
    }

    /// The profile numbered `number` (a number a posting list or this index gave out).
    fn at(&self, number: u32) -> Option<&Profile> {
        self.held[number as usize].as_ref()
    }

    fn at_mut(&mut self, number: u32) -> Option<&mut Profile> {
        self.held[number as usize].as_mut()
    }

    /// The number of `cluster`, which `new` gives a profile if it has none.
    fn number_or_insert_with(&mut self, cluster: i64, new: impl FnOnce() -> Profile) -> u32 {
        if let Some(number) = self.number(cluster) {
            return number;
        }
        let number = self.free.pop().unwrap_or_else(|| {
            self.held.push(None);
            self.clusters.push(cluster);
            u32::try_from(self.held.len() - 1).expect("fewer than 2^32 clusters held")
        });
        self.put(number, cluster, new());
        number
    }

    /// Takes `cluster`'s profile out, with its number, which stays taken until
    /// [`Profiles::release`] or [`Profiles::put`]: the posting lists may still hold it.
    fn take(&mut self, cluster: i64) -> Option<(u32, Profile)> {
        let number = self.numbers.remove(&cluster)?;
        Some((number, self.held[number as usize].take()?))
    }

    /// Holds `profile` as `cluster`'s, under `number` (free or taken out).
    fn put(&mut self, number: u32, cluster: i64, profile: Profile) {
        self.held[number as usize] = Some(profile);
        self.clusters[number as usize] = cluster;
        self.numbers.insert(cluster, number);
    }

    /// Frees a number taken out, once no posting list holds it.
    fn release(&mut self, number: u32) {
        self.free.push(number);
    }

    /// How many numbers have been given out: every number is below it.
    fn numbers_given(&self) -> usize {
        self.held.len()
    }

    fn values(&self) -> impl Iterator<Item = &Profile> {
        self.held.iter().flatten()
    }

    /// (cluster, number, profile) of every cluster held.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (i64, u32, &Profile)> {
        self.numbers
            .iter()
            .map(|(&cluster, &number)| (cluster, number, self.at(number).expect("held")))
    }
}

#[derive(Clone)]
pub struct RelatedIndex {
    window_secs: i64,
    /// How many documents hold each term, under its [`term_key`].
    ///
    /// A hash map rather than an open-addressing array of 8-byte (key, count) slots: the array
    /// took 2 % fewer instructions, but a lookup of a term the counts do not hold read its
    /// slots, where the map reads only its control bytes (32-64 KB, which stay cached), and kept
    /// at most half full it was twice the map's data at seven eighths. It missed a 1 MB cache
    /// 9 % more often (callgrind), and `benches/dedup` ran 4-10 % slower.
    df: FastMap<u32, u32>,
    docs: u32,
    profiles: Profiles,
    /// The clusters that posted each term, by number ([`Profiles`]).
    postings: FastMap<u64, PostingList<u32>>,
    /// The clusters of each list of `postings` that two independent reports or more back
    /// (`Profile::reports`): what the batch review reads ([`RelatedIndex::best_among_backed_or`]).
    backed: FastMap<u64, PostingList<u32>>,
    /// (newest member's time, cluster) of every profile: eviction takes the oldest first.
    by_time: BTreeSet<(i64, i64)>,
    newest_ts: i64,
    /// Scratch space for [`RelatedIndex::best_among`], borrowed while it runs (so `consider`
    /// and `accept` must not search this index). Kept between calls, so that it does not grow
    /// from empty for every item.
    query_scratch: std::cell::RefCell<QueryScratch>,
    /// Scratch space for [`RelatedIndex::insert`], kept between calls: the vectors it needs
    /// hold a key for each of the item's terms, a few kilobytes that were allocated afresh for
    /// every item.
    insert_scratch: InsertScratch,
}

#[derive(Clone, Default)]
struct InsertScratch {
    /// A key ([`heaviest_first`]) for each term of the item.
    keys: Vec<u64>,
    /// The keys being selected from.
    heaviest: Vec<u64>,
    /// The item's terms its cluster's profile keeps.
    members: Vec<EventTerm>,
    /// The terms new to a profile, for [`Profile::add_sums`].
    fresh: Vec<ProfileTerm>,
}

/// What [`RelatedIndex::best_among`] works in: for each of the item's terms its IDF, its weight
/// and its key ([`heaviest_first`]), the hit counts, the candidates and their scores. A few
/// kilobytes an item, which were allocated afresh for every query.
#[derive(Clone, Default)]
struct QueryScratch {
    /// How many of the item's query terms each cluster posted.
    hits: HitCounts,
    idfs: Vec<f32>,
    item_weights: Vec<f32>,
    query: Vec<u64>,
    candidates: Candidates,
    /// Each candidate that reaches a bar: (match, reaches its join bar, independent reports).
    scored: Vec<(RelatedMatch, bool, u32)>,
}

/// The clusters a query scores: (cluster, how many of the query's lists it is on, its number).
type Candidates = Vec<(i64, u32, u32)>;

/// The lists a query reads: for each of its terms (the item's [`QUERY_TERMS`] heaviest), the
/// term and the numbers of the clusters that posted it, unless the list is past
/// [`MAX_POSTING`] (such a list is never read).
type QueryLists<'a> = [Option<(u64, &'a [u32])>; QUERY_TERMS];

/// Counts per cluster number ([`Profiles`]), for the query's hit counting: up to QUERY_TERMS
/// posting lists of up to MAX_POSTING numbers each, so a few thousand increments a query once
/// the lists are full. One count for every number the index has given out, in an array that
/// the number indexes: an increment is a load, an add and a store, with no hashing and no
/// probing (an open-addressing table of the numbers counted, before, took 8 % of the per-item
/// time in `benches/dedup`).
///
/// A count takes one byte: the increments land all over the array, and at four bytes a count
/// the 16k numbers of `benches/dedup` took 64 KB, so that 70 % of the increments missed a
/// 32 KB first-level cache (at one byte, 27 %; callgrind). Between queries every count is 0:
/// a query puts back to 0 the counts of the numbers on its lists ([`HitCounts::end`]), which
/// it has just read, so that what a query costs does not grow with the window. (Counts that
/// carried the query's generation, before, needed the whole array cleared every 15 queries:
/// 100 KB written at once with 80k stories in the window, 4 % of the per-item instructions of
/// `benches/dedup --warm 80000` in callgrind, and the caches' contents thrown out.)
#[derive(Clone, Default)]
struct HitCounts {
    /// By number: how many of the query's lists hold it (0 outside a query).
    counts: Vec<u8>,
    /// The numbers whose count reached [`MIN_POSTED_SHARED`], in the order they did: the only
    /// clusters a query scores. Most clusters a query counts posted one of its terms and no
    /// other; going through every count for the few that posted two cost more than the
    /// counting (callgrind: a tenth of the batch review's instructions).
    repeated: Vec<u32>,
    /// A query began and has not ended: if a query was left (a panic in a caller's closure),
    /// the next one clears every count instead.
    counting: bool,
}

impl HitCounts {
    /// Starts a query that counts numbers below `numbers`.
    fn begin(&mut self, numbers: usize) {
        // A count never passes QUERY_TERMS: a number is on a list at most once, and a query
        // reads QUERY_TERMS lists.
        const { assert!(QUERY_TERMS <= u8::MAX as usize) };
        self.repeated.clear();
        if std::mem::replace(&mut self.counting, true) {
            self.counts.fill(0);
        }
        if self.counts.len() < numbers {
            self.counts.resize(numbers, 0);
        }
    }

    /// Counts each number of `list` once (each below the `numbers` of the last `begin`).
    fn add_all(&mut self, list: &[u32]) {
        // The array and the vector as locals: a byte stored through the array may, as far as
        // the compiler knows, change the vectors' own pointers and lengths, which it then read
        // again at every number.
        let (counts, repeated) = (&mut self.counts[..], &mut self.repeated);
        for &number in list {
            let slot = &mut counts[number as usize];
            *slot += 1;
            if u32::from(*slot) == MIN_POSTED_SHARED {
                repeated.push(number);
            }
        }
    }

    /// Ends the query that counted `lists` (all of them): their numbers' counts back to 0.
    fn end<'a>(&mut self, lists: impl Iterator<Item = &'a [u32]>) {
        let counts = &mut self.counts[..];
        for list in lists {
            for &number in list {
                counts[number as usize] = 0;
            }
        }
        self.counting = false;
    }

    /// Counts `number` once.
    #[cfg(test)]
    fn add(&mut self, number: u32) {
        self.add_all(&[number]);
    }

    /// The count of `number` in this query.
    fn count(&self, number: u32) -> u32 {
        u32::from(self.counts[number as usize])
    }

    /// (number, count) of every cluster counted since the last `begin`.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.counts.len() as u32)
            .map(|number| (number, self.count(number)))
            .filter(|&(_, count)| count > 0)
    }

    /// (number, count) of every cluster counted [`MIN_POSTED_SHARED`] times or more since the
    /// last `begin` (read before the query's `end`, which puts the counts back to 0).
    fn repeated(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.repeated
            .iter()
            .map(|&number| (number, self.count(number)))
    }
}

/// Where each of an item's terms is among them (sorted by hash), found by the top bits of a
/// hash: one slot of [`TermPositions::SLOTS`] for each value of those bits. A query asks about
/// every term of the profiles it scores, most of them not the item's; a slot answers most
/// questions with one read and one comparison. (A bit for each slot said only whether the
/// item might hold the term, and then a binary search of the item's terms found it: the
/// search was a tenth of the decision's related query in `benches/dedup`.) A slot that two of
/// the item's terms share, or whose term's position does not fit in it, sends the question to
/// that binary search, so the answer is the search's, always.
struct TermPositions {
    /// By the top bits of a hash: [`Self::EMPTY`], [`Self::SEARCH`], or 1 + the position of
    /// the one item term with those bits.
    slots: [u16; Self::SLOTS],
}

impl TermPositions {
    const SLOTS: usize = 1024;
    const EMPTY: u16 = 0;
    const SEARCH: u16 = u16::MAX;

    fn of(terms: &[EventTerm]) -> TermPositions {
        let mut slots = [Self::EMPTY; Self::SLOTS];
        for (position, term) in terms.iter().enumerate() {
            let slot = &mut slots[Self::slot(term_key(term.hash))];
            *slot = match u16::try_from(position + 1) {
                Ok(one) if *slot == Self::EMPTY && one != Self::SEARCH => one,
                _ => Self::SEARCH,
            };
        }
        TermPositions { slots }
    }

    fn slot(key: u32) -> usize {
        const { assert!(TermPositions::SLOTS.is_power_of_two()) };
        (key >> (32 - Self::SLOTS.trailing_zeros())) as usize
    }

    /// The position among `terms` (those it was made of) of a term whose [`term_key`] is `key`,
    /// as a binary search by key finds it.
    #[inline]
    fn of_key(&self, terms: &[EventTerm], key: u32) -> Option<usize> {
        match self.slots[Self::slot(key)] {
            Self::EMPTY => None,
            Self::SEARCH => terms.binary_search_by_key(&key, |t| term_key(t.hash)).ok(),
            one => {
                let position = usize::from(one - 1);
                (term_key(terms[position].hash) == key).then_some(position)
            }
        }
    }

    /// The position among `terms` of `term` (a whole hash), as a binary search finds it.
    fn of_term(&self, terms: &[EventTerm], term: u64) -> Option<usize> {
        match self.slots[Self::slot(term_key(term))] {
            Self::EMPTY => None,
            Self::SEARCH => terms.binary_search_by_key(&term, |t| t.hash).ok(),
            one => {
                let position = usize::from(one - 1);
                (terms[position].hash == term).then_some(position)
            }
        }
    }
}

impl RelatedIndex {
    pub fn new(window_secs: i64) -> RelatedIndex {
        RelatedIndex {
            window_secs,
            df: FastMap::default(),
            docs: 0,
            profiles: Profiles::default(),
            postings: FastMap::default(),
            backed: FastMap::default(),
            by_time: BTreeSet::new(),
            newest_ts: i64::MIN,
            query_scratch: Default::default(),
            insert_scratch: InsertScratch::default(),
        }
    }

    /// How many clusters the index holds.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.len() == 0
    }

    /// The IDF of `term` now (for tests).
    #[cfg(test)]
    fn idf(&self, term: u64) -> f32 {
        Idf::at(self.docs).of_term(&self.df, term)
    }

    /// The most similar cluster within the window, if its similarity reaches `bars.join` (or
    /// `bars.supported`, for a cluster that two independent reports back) and it shares a
    /// distinctive name (a name or number term with IDF of at least `bars.min_name_idf`); with
    /// the next most similar cluster at `bars.bridge` or more, which the item ties to it. When
    /// no cluster reaches its bar, the two most similar at `bars.bridge` or more, the first as
    /// the one joined.
    ///
    /// `accept` sees each candidate cluster's representative with the similarity and can refuse
    /// it (the caller checks the numbers of the texts).
    pub fn best(
        &self,
        terms: &[EventTerm],
        ts: i64,
        bars: &Bars,
        accept: impl Fn(i64, f64) -> bool,
    ) -> Option<RelatedJoin> {
        self.best_among(terms, ts, bars, |_, _| true, accept)
    }

    /// [`RelatedIndex::best`] among the clusters that `consider` lets through, asked with each
    /// cluster and how many independent reports back it ([`RelatedIndex::reports`]) before any
    /// scoring, so that a narrow look costs little.
    pub fn best_among(
        &self,
        terms: &[EventTerm],
        ts: i64,
        bars: &Bars,
        consider: impl Fn(i64, u32) -> bool,
        accept: impl Fn(i64, f64) -> bool,
    ) -> Option<RelatedJoin> {
        let gather = |lists: &QueryLists, hits: &mut HitCounts, candidates: &mut Candidates| {
            // The lists are warmed before any is read, so that their cache misses overlap
            // (see `warm`).
            lists.iter().flatten().for_each(|(_, list)| warm(list));
            // `consider` is asked only about the clusters on two lists or more. (Their reports
            // are read through the number the count has: `reports(cluster)`, a lookup of the
            // number first, was 2 % of the per-item path's cache misses.)
            let all = lists.iter().flatten().map(|&(_, list)| list);
            self.gather_repeated(all, hits, candidates, |cluster, number| {
                consider(cluster, self.profiles.at(number).map_or(0, |p| p.reports))
            });
        };
        self.best_gathered(terms, ts, bars, gather, accept)
    }

    /// [`RelatedIndex::best_among`] the clusters that two independent reports or more back and
    /// those that `changed` names (each once), less `except`: the batch review's look. It reads
    /// the lists of the backed clusters (`backed`), not every cluster's, and counts a changed
    /// cluster's terms in what it posted: the same candidates, with the same counts. (Most
    /// stories have one report: reading every list, the review read as many as the item's
    /// decision had, to score few of their clusters.)
    pub fn best_among_backed_or(
        &self,
        terms: &[EventTerm],
        ts: i64,
        bars: &Bars,
        changed: &[i64],
        except: i64,
        accept: impl Fn(i64, f64) -> bool,
    ) -> Option<RelatedJoin> {
        let gather = |lists: &QueryLists, hits: &mut HitCounts, candidates: &mut Candidates| {
            // Only the terms whose whole list would be read: the backed list of a term whose
            // list is past MAX_POSTING is not read either.
            let backed: [Option<&[u32]>; QUERY_TERMS] = std::array::from_fn(|n| {
                let (term, _) = lists[n]?;
                self.backed.get(&term).map(|list| &list[..])
            });
            let backed = backed.iter().flatten().copied();
            self.gather_repeated(backed, hits, candidates, |cluster, _| cluster != except);
            // The query's terms, for a walk of what a changed cluster posted (a few dozen
            // terms): a bit of the filter first, then a look through the query's few.
            let query_terms = TopBits::<4>::of(lists.iter().flatten().map(|&(term, _)| term));
            let in_query = |term: u64| {
                query_terms.holds(term) && lists.iter().flatten().any(|&(t, _)| t == term)
            };
            for &cluster in changed.iter().filter(|&&c| c != except) {
                let Some(number) = self.profiles.number(cluster) else {
                    continue;
                };
                // A backed cluster was counted from the backed lists.
                let Some(profile) = self.profiles.at(number).filter(|p| p.reports < 2) else {
                    continue;
                };
                // It is on a term's list exactly when it posted the term.
                let shared = profile.posted.iter().filter(|&&t| in_query(t)).count() as u32;
                if shared >= MIN_POSTED_SHARED {
                    candidates.push((cluster, shared, number));
                }
            }
        };
        self.best_gathered(terms, ts, bars, gather, accept)
    }

    /// Counts the numbers on `lists` and puts in `candidates` each cluster on two of them or
    /// more that `keep` lets through (asked with the cluster and its number), with its count.
    /// A cluster that posted only one of the item's distinctive terms is never similar enough
    /// to join: scoring it is wasted work.
    fn gather_repeated<'a>(
        &self,
        lists: impl Iterator<Item = &'a [u32]> + Clone,
        hits: &mut HitCounts,
        candidates: &mut Candidates,
        keep: impl Fn(i64, u32) -> bool,
    ) {
        hits.begin(self.profiles.numbers_given());
        for list in lists.clone() {
            hits.add_all(list);
        }
        candidates.extend(
            hits.repeated()
                .map(|(number, n)| (self.profiles.cluster(number), n, number))
                .filter(|&(cluster, _, number)| keep(cluster, number)),
        );
        hits.end(lists);
    }

    /// The scoring that [`RelatedIndex::best`] and its narrower looks share: `gather` puts in
    /// `candidates` each cluster to score, with how many of the query's lists it is on (at
    /// least [`MIN_POSTED_SHARED`]), from the lists given; `hits` is its to count with. The
    /// [`MAX_CANDIDATES`] on most lists are scored.
    fn best_gathered(
        &self,
        terms: &[EventTerm],
        ts: i64,
        bars: &Bars,
        gather: impl FnOnce(&QueryLists, &mut HitCounts, &mut Candidates),
        accept: impl Fn(i64, f64) -> bool,
    ) -> Option<RelatedJoin> {
        let min_name_idf = bars.min_name_idf;
        if terms.is_empty() {
            return None;
        }
        // `terms` is sorted by hash: the item side is looked up by binary search. Each term's
        // IDF is looked up once, here, not once per candidate.
        let idf_at = Idf::at(self.docs);
        let mut scratch = self.query_scratch.borrow_mut();
        let QueryScratch {
            hits,
            idfs,
            item_weights,
            query,
            candidates,
            scored,
        } = &mut *scratch;
        idfs.clear();
        idfs.extend(terms.iter().map(|t| idf_at.of_term(&self.df, t.hash)));
        item_weights.clear();
        item_weights.extend(
            terms
                .iter()
                .zip(idfs.iter())
                .map(|(t, idf)| t.weight * idf * boost(t.name)),
        );
        // Candidate clusters, ranked by how many of the item's distinctive terms they posted.
        query.clear();
        query.extend(
            item_weights
                .iter()
                .enumerate()
                .map(|(n, &w)| heaviest_first(n, w)),
        );
        select_heaviest(query, QUERY_TERMS);
        let (idfs, item_weights) = (&idfs[..], &item_weights[..]);
        // Every list is looked up before any is read. (On the stack: `query` holds at most
        // QUERY_TERMS keys.)
        let lists: QueryLists = std::array::from_fn(|n| {
            let term = terms[key_position(*query.get(n)?)].hash;
            let list = self.postings.get(&term)?;
            (list.len() <= MAX_POSTING).then_some((term, &list[..]))
        });
        candidates.clear();
        gather(&lists, hits, candidates);
        candidates.sort_unstable_by_key(|&(cluster, n, _)| {
            (std::cmp::Reverse(n), std::cmp::Reverse(cluster))
        });
        debug_assert!(
            candidates.windows(2).all(|w| w[0].0 != w[1].0),
            "each cluster gathered once"
        );
        candidates.truncate(MAX_CANDIDATES);
        if candidates.is_empty() {
            return None;
        }
        let item_norm = item_weights.iter().map(|w| w * w).sum::<f32>().sqrt();
        let positions = TermPositions::of(terms);
        let in_item = |term: u64| positions.of_term(terms, term).is_some();
        let item_names = terms
            .iter()
            .zip(idfs)
            .any(|(t, &idf)| t.name && idf >= min_name_idf);
        // The item's headline names and numbers, to tell whether a profile lacks one of them
        // by counting those it has.
        let headline_names = terms
            .iter()
            .zip(idfs)
            .filter(|(t, idf)| t.name && t.headline && **idf >= min_name_idf)
            .count();
        let headline_numbers = terms.iter().filter(|t| t.number && t.headline).count();
        scored.clear();
        // The profiles too are looked up and warmed before any is read (on the stack:
        // `candidates` holds at most MAX_CANDIDATES), all their terms (a load every eight
        // terms, 64 bytes), not only the first: the walk below reads them all, and nearly every
        // line of a profile missed the caches (callgrind). Warmed together, their misses
        // overlap. Callgrind counts the same misses either way; in four A-B-B-A series of
        // `benches/dedup` the median run was 2-11 % faster, though no single series was
        // beyond its noise. A profile that the walk would not read is left out before the
        // warming: one whose newest member is outside the item's window (the index holds two
        // windows, so many of a long-running daemon's candidates are), and one that cannot
        // share a name with an item that has none (a shared distinctive name is a name on
        // either side). That took 6 % off the LL read misses with eviction (callgrind).
        let profiles: [Option<(i64, &Profile)>; MAX_CANDIDATES] = std::array::from_fn(|n| {
            let &(cluster, _, number) = candidates.get(n)?;
            let profile = self.profiles.at(number)?;
            let in_window = (profile.last_ts - ts).abs() <= self.window_secs;
            (in_window && (item_names || profile.names > 0)).then_some((cluster, profile))
        });
        profiles
            .iter()
            .flatten()
            .for_each(|(_, profile)| profile.terms.chunks(8).for_each(warm));
        for (cluster, profile) in profiles.into_iter().flatten() {
            // The profile's terms that are the item's too, found through `positions`: a walk of
            // the profile alone. (A merge of both lists, before, branched at every step on which
            // side moved on, and the processor often guessed wrong: a walk through a filter of
            // the item's terms took a seventh off the per-item path's mispredicted branches on
            // news-like text.
            // And a shared-name test before the merge searched the profile for each of the
            // item's names.) Visited in hash order, as the merge did, so the sum is the same to
            // the bit.
            let mut dot = 0.0f32;
            // The squared length of the profile's vector over the terms the item shares.
            let mut shared_square = 0.0f32;
            let mut shared_name = false;
            let (mut shared_headline_names, mut shared_headline_numbers) = (0, 0);
            let members = profile.members as f32;
            for &p in &profile.terms {
                let Some(i) = positions.of_key(terms, p.key) else {
                    continue;
                };
                let (t, idf) = (&terms[i], idfs[i]);
                let weight = p.sum() / members * idf * boost(p.name());
                dot += weight * item_weights[i];
                shared_square += weight * weight;
                // A distinctive name on either side.
                shared_name |= (p.name() || t.name) && idf >= min_name_idf;
                shared_headline_names += usize::from(t.name && t.headline && idf >= min_name_idf);
                shared_headline_numbers += usize::from(t.number && t.headline);
            }
            let item_only_name = shared_headline_names < headline_names;
            let item_only_number = shared_headline_numbers < headline_numbers;
            // Different numbers in the headlines (draw 1006 and draw 1009, highs of 22C and
            // 23C, 6.6 and 5.9 quakes): different stories, however alike the words.
            if item_only_number && profile.headline_numbers.iter().any(|&n| !in_item(n)) {
                continue;
            }
            // Without a shared distinctive name there is no join, whatever the similarity.
            if !shared_name || dot <= 0.0 || item_norm == 0.0 {
                continue;
            }
            let join = if profile.reports >= 2 {
                bars.supported
            } else {
                bars.join
            };
            let norm = match self.cached_norm(profile) {
                Some(norm) => norm,
                None => {
                    // The norm, computed now, is at least the length of the shared terms'
                    // part (the same weights, summed in the same order, of fewer terms). When
                    // even that leaves the score below both bars (the conflict rule only raises
                    // them), the candidate is out without the norm's lookup of every profile
                    // term's count: a third of the recomputations in `benches/dedup`.
                    let most = f64::from(dot / (shared_square.sqrt() * item_norm));
                    let lowest_bar = join.min(bars.bridge);
                    if most < lowest_bar {
                        debug_assert!(
                            f64::from(dot / (self.norm_now(profile) * item_norm)) < lowest_bar
                        );
                        continue;
                    }
                    self.fresh_norm(profile)
                }
            };
            let score = f64::from(dot / (norm * item_norm));
            // Each side names someone or something in its headline that the other never
            // mentions (another fighter, another player, another year's patch): the same kind
            // of event with other actors. That weighs against all but strong similarity. It
            // can only matter to a score that reaches a bar and not CONFLICT_THRESHOLD: for any
            // other (most candidates fall short of every bar) the profile's headline names, a
            // read from memory of their own, are not looked at.
            let conflict_decides = |bar: f64| (bar..CONFLICT_THRESHOLD).contains(&score);
            let cluster_only_name = (conflict_decides(join) || conflict_decides(bars.bridge))
                && item_only_name
                && profile
                    .headline_names
                    .iter()
                    .any(|&t| !in_item(t) && idf_at.of_term(&self.df, t) >= min_name_idf);
            let at_least = |bar: f64| {
                if cluster_only_name {
                    bar.max(CONFLICT_THRESHOLD)
                } else {
                    bar
                }
            };
            let joins = score >= at_least(join);
            if (joins || score >= at_least(bars.bridge)) && accept(profile.representative, score) {
                let m = RelatedMatch {
                    cluster,
                    representative: profile.representative,
                    score,
                };
                scored.push((m, joins, profile.reports));
            }
        }
        // Most similar first; on a tie, the order the candidates came in (stable sort).
        scored.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
        let bridges = |joined: &(RelatedMatch, bool, u32)| {
            scored
                .iter()
                .filter(|c| c.0.score >= bars.bridge && c.0.cluster != joined.0.cluster)
                .find(|c| c.2.min(joined.2) <= 1)
                .map(|c| c.0)
        };
        match scored.iter().find(|c| c.1) {
            Some(joined) => Some(RelatedJoin {
                joined: joined.0,
                bridged: bridges(joined),
            }),
            None => {
                let first = scored.first()?;
                Some(RelatedJoin {
                    joined: first.0,
                    bridged: Some(bridges(first)?),
                })
            }
        }
    }

    /// The length of a profile's weighted vector, as last computed, if it is still current.
    /// IDF moves as documents arrive, so the value is computed afresh ([`Self::fresh_norm`])
    /// once the corpus has grown by a tenth (or the profile changed).
    fn cached_norm(&self, profile: &Profile) -> Option<f32> {
        let (docs_at, norm) = profile.norm.get();
        (docs_at > 0 && self.docs <= docs_at + docs_at / 10).then_some(norm)
    }

    /// The length of a profile's weighted vector now, kept for [`Self::cached_norm`].
    fn fresh_norm(&self, profile: &Profile) -> f32 {
        let norm = self.norm_now(profile);
        profile.norm.set((self.docs, norm));
        norm
    }

    /// The length of a profile's weighted vector with the counts as they are now.
    fn norm_now(&self, profile: &Profile) -> f32 {
        let idf_at = Idf::at(self.docs);
        profile
            .terms
            .iter()
            .map(|p| {
                let idf = idf_at.of_key(&self.df, p.key);
                let w = p.sum() / profile.members as f32 * idf * boost(p.name());
                w * w
            })
            .sum::<f32>()
            .sqrt()
    }

    /// Counts the item's terms (IDF) and adds them to its cluster's profile.
    pub fn insert(
        &mut self,
        item: i64,
        cluster: i64,
        ts: i64,
        terms: &[EventTerm],
        independent: bool,
    ) {
        self.docs += 1;
        // Count each term (`terms` holds each once), and weigh it with its new count: one
        // lookup a term. `keys[n]` is the key of `terms[n]`.
        let idf_at = Idf::at(self.docs);
        let InsertScratch {
            mut keys,
            mut heaviest,
            mut members,
            mut fresh,
        } = std::mem::take(&mut self.insert_scratch);
        keys.clear();
        keys.extend(terms.iter().enumerate().map(|(n, t)| {
            let df = self.df.entry(term_key(t.hash)).or_default();
            *df += 1;
            let idf = idf_at.of(*df);
            heaviest_first(n, t.weight * idf * boost(t.name))
        }));
        // The heaviest PROFILE_TERMS, of which the heaviest POSTED_TERMS go to the cluster
        // index. Only which terms these are matters, not their order: selections, no sort. The
        // keys are unique (each holds its term's hash), so a term is among the kept exactly
        // when its key is at most the largest kept key: no sorted copy of the kept to search.
        heaviest.clear();
        heaviest.extend_from_slice(&keys);
        select_heaviest(&mut heaviest, PROFILE_TERMS);
        let lightest_kept = heaviest.iter().copied().max().unwrap_or(0);
        select_heaviest(&mut heaviest, POSTED_TERMS);
        let number = self.profiles.number_or_insert_with(cluster, || {
            self.by_time.insert((ts, cluster));
            Profile::new(item, ts)
        });
        let profile = self.profiles.at_mut(number).expect("just numbered");
        profile.members += 1;
        let was_backed = profile.reports >= 2;
        profile.reports += u32::from(independent);
        move_later(&mut self.by_time, cluster, &mut profile.last_ts, ts);
        // A profile keeps the member's most distinctive terms and its headline, not its every
        // word: that bounds memory per story, and the light terms barely move the similarity.
        // (Gathered by writing every term and counting the kept: whether a term is among the
        // heaviest is a coin toss for the processor's branch guessing.)
        members.clear();
        members.resize(terms.len(), EventTerm::default());
        let mut kept = 0;
        for (t, &key) in terms.iter().zip(&keys) {
            members[kept] = *t;
            kept += usize::from((key <= lightest_kept) | t.headline);
        }
        members.truncate(kept);
        profile.add(members.iter(), &mut fresh);
        for t in members.iter().filter(|t| t.headline) {
            if t.name && !profile.headline_names.contains(&t.hash) {
                profile.headline_names.push(t.hash);
            }
            if t.number && !profile.headline_numbers.contains(&t.hash) {
                profile.headline_numbers.push(t.hash);
            }
        }
        profile.norm.set((0, 0.0));
        // One allocation for the terms a new story posts, not one at each doubling.
        profile.posted.reserve(heaviest.len());
        for &key in &heaviest {
            let term = terms[key_position(key)].hash;
            let list = self.postings.entry(term).or_default();
            // Past MAX_POSTING the list is never read: stop growing it. The list names the
            // cluster already exactly when `posted` holds the term: a binary search there, not
            // a scan of up to MAX_POSTING numbers.
            if list.len() <= MAX_POSTING
                && let Err(at) = profile.posted.binary_search(&term)
            {
                list.push(number);
                profile.posted.insert(at, term);
                if was_backed {
                    file_backed(&mut self.backed, number, &[term]);
                }
            }
        }
        if !was_backed && profile.reports >= 2 {
            file_backed(&mut self.backed, number, &profile.posted);
        }
        self.insert_scratch = InsertScratch {
            keys,
            heaviest,
            members,
            fresh,
        };
        self.trim(cluster);
        if ts > self.newest_ts {
            self.newest_ts = ts;
        }
    }

    /// Keeps a profile that has grown past twice `PROFILE_TERMS` to its heaviest terms.
    fn trim(&mut self, cluster: i64) {
        let (df, idf_at) = (&self.df, Idf::at(self.docs));
        let Some(profile) = self.profiles.get_mut(cluster) else {
            return;
        };
        if profile.terms.len() <= 2 * PROFILE_TERMS {
            return;
        }
        let mut heaviest: Vec<u64> = profile
            .terms
            .iter()
            .enumerate()
            .map(|(n, p)| heaviest_first(n, p.sum() * idf_at.of_key(df, p.key)))
            .collect();
        select_heaviest(&mut heaviest, PROFILE_TERMS);
        let mut keep: Vec<u32> = heaviest
            .into_iter()
            .map(|key| profile.terms[key_position(key)].key)
            .collect();
        keep.sort_unstable();
        profile.terms.retain(|p| keep.binary_search(&p.key).is_ok());
        profile.names = profile.terms.iter().filter(|p| p.name()).count() as u32;
    }

    /// How many independent reports back `cluster` (0 for a cluster it does not know).
    pub fn reports(&self, cluster: i64) -> u32 {
        self.profiles.get(cluster).map_or(0, |p| p.reports)
    }

    /// Folds cluster `from` into `into`: one profile with both clusters' members and reports,
    /// and `from`'s postings moved to `into`.
    pub fn merge(&mut self, from: i64, into: i64) {
        if from == into {
            return;
        }
        let Some((from_number, mut gone)) = self.profiles.take(from) else {
            return;
        };
        self.by_time.remove(&(gone.last_ts, from));
        // `into` keeps its number; one without a profile takes `from`'s, which the lists hold.
        let into_number = self.profiles.number(into).unwrap_or(from_number);
        // Off the backed lists, both: the merged profile goes back on them at the end if two
        // reports back it. (A merge is rare; the lists of what the two posted are short.)
        if gone.reports >= 2 {
            drop_from_lists(&mut self.backed, gone.posted.clone(), |&c| c == from_number);
        }
        if let Some(profile) = self.profiles.get(into).filter(|p| p.reports >= 2) {
            drop_from_lists(&mut self.backed, profile.posted.clone(), |&c| {
                c == into_number
            });
        }
        // The postings of the terms `from` keeps name `into` instead. The terms trimmed from
        // its profile no longer name either (they were not among its heaviest).
        for &term in &gone.posted {
            let Some(list) = self.postings.get_mut(&term) else {
                continue;
            };
            let kept = gone.contains(term);
            if let Some(at) = list.iter().position(|&c| c == from_number) {
                if kept && (into_number == from_number || !list.contains(&into_number)) {
                    list[at] = into_number;
                } else {
                    // (A cluster is on a list at most once.)
                    list.retain(|&c| c != from_number);
                }
            }
            if list.is_empty() {
                self.postings.remove(&term);
            }
        }
        let mut posted = std::mem::take(&mut gone.posted);
        posted.retain(|&term| gone.contains(term));
        gone.posted = posted;
        let Some(profile) = self.profiles.get_mut(into) else {
            self.by_time.insert((gone.last_ts, into));
            if gone.reports >= 2 {
                file_backed(&mut self.backed, from_number, &gone.posted);
            }
            self.profiles.put(from_number, into, gone);
            return;
        };
        for &term in &gone.posted {
            profile.record_posted(term);
        }
        profile.add_sums(gone.terms.into_iter(), &mut self.insert_scratch.fresh);
        profile.members += gone.members;
        profile.reports += gone.reports;
        move_later(&mut self.by_time, into, &mut profile.last_ts, gone.last_ts);
        for name in gone.headline_names {
            if !profile.headline_names.contains(&name) {
                profile.headline_names.push(name);
            }
        }
        for number in gone.headline_numbers {
            if !profile.headline_numbers.contains(&number) {
                profile.headline_numbers.push(number);
            }
        }
        profile.norm.set((0, 0.0));
        if profile.reports >= 2 {
            file_backed(&mut self.backed, into_number, &profile.posted);
        }
        self.profiles.release(from_number);
        self.trim(into);
    }

    /// Forgets clusters whose newest member is more than two windows older than the newest item,
    /// and keeps the term statistics bounded. The oldest clusters come from a time-ordered set,
    /// and only the posting lists they were on are cleaned, each once: a pass over every cluster
    /// and every list each time cost what the index keeps, not what it drops.
    pub fn evict(&mut self) {
        self.bound_term_statistics(MAX_COUNTED_TERMS);
        let horizon = self.newest_ts.saturating_sub(2 * self.window_secs);
        let mut numbers: Vec<u32> = Vec::new();
        let (mut lists, mut backed_lists): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
        while let Some(&(ts, cluster)) = self.by_time.first()
            && ts < horizon
        {
            self.by_time.pop_first();
            if let Some((number, profile)) = self.profiles.take(cluster) {
                if profile.reports >= 2 {
                    backed_lists.extend_from_slice(&profile.posted);
                }
                lists.extend(profile.posted);
                numbers.push(number);
            }
        }
        let gone = IdSet::of(numbers.iter().map(|&n| i64::from(n)));
        drop_from_lists(&mut self.postings, lists, |&c| gone.contains(i64::from(c)));
        drop_from_lists(&mut self.backed, backed_lists, |&c| {
            gone.contains(i64::from(c))
        });
        for number in numbers {
            self.profiles.release(number);
        }
    }

    /// Past `max_terms` counted terms, halves every count and the number of documents: the
    /// ratios IDF reads stay about the same, the terms seen once (most of a long stream's
    /// vocabulary: numbers, typos, one-off names) are forgotten, and recent documents weigh
    /// more than old ones. Without it a daemon's counts grew with every term it ever saw.
    fn bound_term_statistics(&mut self, max_terms: usize) {
        if self.df.len() <= max_terms {
            return;
        }
        self.docs /= 2;
        self.df.retain(|_, n| {
            *n /= 2;
            *n > 0
        });
        // Cached norms were computed with the old counts; their "recompute when the corpus has
        // grown by a tenth" test would not fire for a long time after a halving.
        for profile in self.profiles.values() {
            profile.norm.set((0, 0.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stopword_table_finds_every_stopword_and_nothing_else() {
        for word in STOPWORDS {
            assert!(
                is_stopword_hash(&STOPWORD_HASHES, word_hash(word)),
                "{word}"
            );
        }
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let state = next();
            let word: String = (0..1 + state % 6)
                .map(|k| char::from(b'a' + ((state >> (8 * k)) % 26) as u8))
                .collect();
            assert_eq!(
                is_stopword_hash(&STOPWORD_HASHES, word_hash(&word)),
                STOPWORDS.binary_search(&word.as_str()).is_ok(),
                "{word}"
            );
        }
    }

    #[test]
    fn heaviest_first_orders_as_the_weight_then_the_position() {
        let weights = [
            0.0f32,
            -0.0,
            1.0,
            1.5,
            2.0,
            -1.0,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let positions = [0usize, 1, 7, 200, u32::MAX as usize];
        let pairs: Vec<(usize, f32)> = weights
            .iter()
            .flat_map(|&w| positions.iter().map(move |&n| (n, w)))
            .collect();
        for a in &pairs {
            for b in &pairs {
                let expected = b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
                let (key_a, key_b) = (heaviest_first(a.0, a.1), heaviest_first(b.0, b.1));
                assert_eq!(key_a.cmp(&key_b), expected, "{a:?} {b:?}");
                assert_eq!(key_position(key_a), a.0);
            }
        }
    }

    #[test]
    fn select_heaviest_keeps_the_k_smallest_keys() {
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..500usize {
            let n = round % 200;
            // Narrow weights make ties that only the position breaks.
            let keys: Vec<u64> = (0..n)
                .map(|position| heaviest_first(position, (next() % 8) as f32))
                .collect();
            for k in [1, 2, 10, 12, 64] {
                let mut selected = keys.clone();
                select_heaviest(&mut selected, k);
                selected.sort_unstable();
                let mut expected = keys.clone();
                expected.sort_unstable();
                expected.truncate(k);
                assert_eq!(selected, expected, "n {n} k {k}");
            }
        }
    }

    #[test]
    fn profile_sums_merge_as_a_map_does() {
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1d);
        // A profile built by adding terms must equal the sums a map keeps, whatever the
        // overlap: disjoint runs, interleaved ones, all shared, none before or after.
        let mut fresh = Vec::new();
        for round in 0..300 {
            let mut profile = Profile::new(0, 0);
            let mut expected: std::collections::BTreeMap<u32, (f32, bool)> = Default::default();
            let span = [4, 40, 400][round % 3];
            for _ in 0..1 + next() % 5 {
                let mut terms: Vec<ProfileTerm> = (0..next() % 30)
                    .map(|_| {
                        let key = (next() % span) as u32;
                        ProfileTerm::new(key, (1 + next() % 8) as f32, next().is_multiple_of(3))
                    })
                    .collect();
                terms.sort_by_key(|t| t.key);
                terms.dedup_by_key(|t| t.key);
                for t in &terms {
                    let e = expected.entry(t.key).or_default();
                    e.0 += t.sum();
                    e.1 |= t.name();
                }
                profile.add_sums(terms.into_iter(), &mut fresh);
                let got: Vec<(u32, (f32, bool))> = profile
                    .terms
                    .iter()
                    .map(|p| (p.key, (p.sum(), p.name())))
                    .collect();
                let want: Vec<(u32, (f32, bool))> =
                    expected.iter().map(|(&k, &v)| (k, v)).collect();
                assert_eq!(got, want, "round {round}");
                let names = expected.values().filter(|v| v.1).count();
                assert_eq!(profile.names as usize, names, "round {round}");
            }
        }
    }

    #[test]
    fn hit_counts_count_as_a_map_does_across_queries_and_growth() {
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1d);
        let mut hits = HitCounts::default();
        for round in 0..300usize {
            // As a query counts them: up to QUERY_TERMS lists (one at a time, as a list of one
            // is counted too), each of up to 300 distinct numbers below a bound that goes up
            // and down from one query to the next (the counts grow to it), from a narrow range
            // so that they repeat across lists, 0 included.
            let spread = 1 + (round % 5) as u64 * 100;
            hits.begin(spread as usize);
            let mut expected: std::collections::HashMap<u32, u32> = Default::default();
            let mut lists = Vec::new();
            for _ in 0..=(round % QUERY_TERMS) {
                let mut list: Vec<u32> = (0..next() % 300)
                    .map(|_| (next() % spread) as u32)
                    .collect();
                list.sort_unstable();
                list.dedup();
                if list.len() == 1 {
                    hits.add(list[0]);
                } else {
                    hits.add_all(&list);
                }
                lists.push(list);
            }
            for &cluster in lists.iter().flatten() {
                *expected.entry(cluster).or_default() += 1;
            }
            let mut counted: Vec<(u32, u32)> = hits.iter().collect();
            counted.sort_unstable();
            let mut repeated: Vec<(u32, u32)> = hits.repeated().collect();
            repeated.sort_unstable();
            let mut expected: Vec<(u32, u32)> = expected.into_iter().collect();
            expected.sort_unstable();
            assert_eq!(counted, expected, "round {round}");
            expected.retain(|&(_, n)| n >= MIN_POSTED_SHARED);
            assert_eq!(repeated, expected, "round {round}: the repeated");
            // Every seventh query is left without its end, as a panic in a caller's closure
            // would leave it: the next query must still start from nothing.
            if round % 7 != 3 {
                hits.end(lists.iter().map(|l| &l[..]));
                assert_eq!(
                    hits.iter().count(),
                    0,
                    "round {round}: counts left after the end"
                );
            }
        }
    }

    #[test]
    fn term_positions_answer_as_a_binary_search_does() {
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
        let (mut searched, mut found) = (0, 0);
        for round in 0..300 {
            // Up to 400 terms, so that many slots are shared; in round 2 two terms share a key.
            let count = [0, 1, 64, 400][round % 4];
            let mut terms: Vec<EventTerm> = (0..count)
                .map(|_| EventTerm {
                    hash: next(),
                    ..EventTerm::default()
                })
                .collect();
            if round == 2 {
                terms[1].hash = (terms[0].hash & !0xffff_ffff) | (next() & 0xffff_ffff);
            }
            terms.sort_by_key(|t| t.hash);
            let positions = TermPositions::of(&terms);
            searched += positions
                .slots
                .iter()
                .filter(|&&s| s == TermPositions::SEARCH)
                .count();
            // Each term, a stranger with the key of a term, and strangers.
            let asked = terms
                .iter()
                .map(|t| t.hash)
                .chain(terms.iter().map(|t| t.hash ^ 1))
                .chain((0..100).map(|_| next()));
            for hash in asked {
                let key = term_key(hash);
                let by_key = terms.binary_search_by_key(&key, |t| term_key(t.hash)).ok();
                assert_eq!(positions.of_key(&terms, key), by_key, "{hash:x}");
                let by_hash = terms.binary_search_by_key(&hash, |t| t.hash).ok();
                assert_eq!(positions.of_term(&terms, hash), by_hash, "{hash:x}");
                found += usize::from(by_hash.is_some());
            }
        }
        // Both kinds of slot were asked: shared ones (and a shared key) and single ones.
        assert!(searched > 0 && found > 0, "{searched} {found}");
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(
            STOPWORDS.windows(2).all(|w| w[0] < w[1]),
            "keep STOPWORDS sorted"
        );
    }

    /// The hash of the event term of one word.
    fn term(word: &str) -> u64 {
        super::super::fingerprint::word_shapes(word, "").0[0].stem_hash
    }

    /// `event_terms` defined character by character with `str::split`, for the test below.
    fn reference_event_terms(headline: &str, text: &str) -> Vec<EventTerm> {
        use super::super::fingerprint::{MAX_TOKENS, joined_hash};
        /// The words of `text` (runs of letters and digits; the first MAX_TOKENS), each with
        /// the words that continue it across full stops (digits right after "<digit>.", a
        /// single ASCII letter right after "<single ASCII letter>.") and whether a sentence
        /// starts at it (at the start, or after `.`, `!`, `?` or `:` since the word before).
        fn words(text: &str) -> Vec<(Vec<&str>, bool)> {
            let mut words: Vec<(Vec<&str>, bool)> = Vec::new();
            let (mut sentence_start, mut at, mut count) = (true, 0, 0);
            for piece in text.split_inclusive(|c: char| !c.is_alphanumeric()) {
                let word = piece.trim_end_matches(|c: char| !c.is_alphanumeric());
                if !word.is_empty() && count < MAX_TOKENS {
                    count += 1;
                    let before = &text.as_bytes()[..at];
                    // The text before the word ends with "<digit>." or "<letter>.".
                    let stop_after = |class: fn(&u8) -> bool| {
                        before.len() >= 2
                            && before.ends_with(b".")
                            && class(&before[before.len() - 2])
                    };
                    let digits =
                        stop_after(u8::is_ascii_digit) && word.bytes().all(|b| b.is_ascii_digit());
                    // The letter before stands alone: at the start, or after an ASCII separator.
                    let alone = || {
                        before.len() == 2
                            || (before[before.len() - 3] < 0x80
                                && !before[before.len() - 3].is_ascii_alphanumeric())
                    };
                    let initials = stop_after(u8::is_ascii_alphabetic)
                        && alone()
                        && word.len() == 1
                        && word.as_bytes()[0].is_ascii_alphabetic();
                    match words.last_mut() {
                        Some((parts, _)) if digits || initials => parts.push(word),
                        _ => words.push((vec![word], sentence_start)),
                    }
                    sentence_start = false;
                }
                sentence_start |= piece.ends_with(['.', '!', '?', ':']);
                at += piece.len();
            }
            words
        }
        fn stem(w: &str) -> &str {
            for suffix in ["ing", "ed"] {
                if let Some(stem) = w.strip_suffix(suffix)
                    && stem.len() >= 4
                {
                    return stem;
                }
            }
            let plural = w.ends_with('s') && !w.ends_with("ss");
            if w.len() > 3 && plural && !w.ends_with("us") && !w.ends_with("is") {
                return &w[..w.len() - 1];
            }
            w
        }
        fn case_of(words: &[(Vec<&str>, bool)]) -> Case {
            let firsts: Vec<&str> = words.iter().map(|(parts, _)| parts[0]).collect();
            let lettered: Vec<&str> = firsts
                .iter()
                .copied()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .collect();
            let upper = lettered
                .iter()
                .filter(|w| !w.chars().any(char::is_lowercase))
                .count();
            let capitalized = firsts
                .iter()
                .filter(|w| w.starts_with(char::is_uppercase))
                .count();
            if lettered.len() >= 3 && upper == lettered.len() {
                Case::Upper
            } else if words.len() >= 3 && capitalized * 10 >= words.len() * 7 {
                Case::Title
            } else {
                Case::Sentence
            }
        }
        fn add(
            terms: &mut Vec<EventTerm>,
            words: &[(Vec<&str>, bool)],
            weight: f32,
            case: Case,
            headline: bool,
        ) {
            for (parts, sentence_start) in words {
                let word = parts[0];
                let joined = parts.len() > 1;
                let lower: String = word.chars().flat_map(char::to_lowercase).collect();
                let is_number = word.bytes().any(|b| b.is_ascii_digit());
                let dropped = is_stopword_hash(&STOPWORD_HASHES, word_hash(&lower))
                    || (lower.len() < 2 && !is_number);
                if dropped && !joined {
                    continue;
                }
                // A word and the words that continue it: one term.
                let hash = parts[1..]
                    .iter()
                    .fold(word_hash(stem(&lower)), |hash, part| {
                        joined_hash(hash, word_hash(part))
                    });
                let capitals = |w: &&str| w.chars().all(|c| c.is_uppercase() || c.is_ascii_digit());
                let acronym = case != Case::Upper
                    && (lower.len() >= 2 || joined)
                    && parts.iter().all(capitals);
                let capitalized = word.starts_with(char::is_uppercase);
                terms.push(EventTerm {
                    hash,
                    weight,
                    name: is_number
                        || acronym
                        || (case == Case::Sentence && capitalized && !sentence_start),
                    headline,
                    number: is_number,
                });
            }
        }
        let mut terms = Vec::new();
        let title_words = words(headline);
        add(
            &mut terms,
            &title_words,
            HEADLINE_WEIGHT,
            case_of(&title_words),
            true,
        );
        let mut lead_words = words(text);
        lead_words.truncate(LEAD_WORDS);
        add(&mut terms, &lead_words, 1.0, Case::Sentence, false);
        // The merge of occurrences is not what changed: the reference shares it.
        terms.sort_by_key(|t| t.hash);
        merge_occurrences(&mut terms);
        terms
    }

    /// The fingerprint's byte-level scan finds the terms that the character-by-character
    /// definition finds, on text that mixes ASCII, sentence ends, curly quotes, accents, other
    /// scripts, case changes, stopwords, plurals, long words and runs past the lead's word
    /// limit.
    #[test]
    fn event_terms_agree_with_their_char_by_char_definition() {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "7",
            " ",
            ".",
            "!",
            "?",
            ":",
            "-",
            "'",
            "\u{2019}",
            "\u{201c}",
            ",",
            "(",
            "é",
            "É",
            "ß",
            "İ",
            "Ω",
            "日本",
            "\u{a0}",
            "\u{2014}",
            "\n",
            "\t",
            "U.S.",
            "don't",
            "3.5",
            "--",
            "…",
            "١٢",
            "ǅ",
            "The ",
            "said ",
            "Troops ",
            "killed ",
            "NATO ",
            "Obama's ",
            "Obama\u{2019}s ",
            "virus ",
            "ALLCAPS ",
            "McCain ",
            "Zürich ",
            "ÉLYSÉE ",
            "Antidisestablishmentarianism-and-then-some ",
            "word",
            "says.",
            "in",
            "2012",
        ];
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1du64);
        for round in 0..3000 {
            let mut piece = || PIECES[(next() % PIECES.len() as u64) as usize];
            let headline: String = (0..round % 12).map(|_| piece()).collect();
            // Every tenth text is longer than the lead.
            let pieces = if round % 10 == 0 { 900 } else { round % 60 };
            let text: String = (0..pieces).map(|_| piece()).collect();
            assert_eq!(
                event_terms(&headline, &text),
                reference_event_terms(&headline, &text),
                "{headline:?} / {text:?}"
            );
        }
    }

    #[test]
    fn names_numbers_and_stems() {
        let terms = event_terms(
            "Quake hits Chile",
            "A magnitude 6.1 earthquake struck off Antofagasta on Tuesday, officials said. Troops were deployed.",
        );
        let has = |w: &str| terms.iter().find(|t| t.hash == term(w)).copied();
        assert!(has("antofagasta").unwrap().name);
        assert!(has("chile").unwrap().name);
        assert!(!has("earthquake").unwrap().name);
        assert!(has("said").is_none() && has("tuesday").is_none());
        assert_eq!(has("troop"), has("troops"));
        assert!(
            !has("troops").unwrap().name,
            "sentence-initial capitals are not names"
        );
        assert_eq!(has("quake").unwrap().weight, 2.0);
    }

    #[test]
    fn initials_and_decimals_are_one_term_each() {
        let names = |text: &str| -> Vec<u64> {
            event_terms("", text)
                .iter()
                .filter(|t| t.name)
                .map(|t| t.hash)
                .collect()
        };
        // "U.S." is one name, not two dropped letters, and not "U.N.".
        let (us, un) = (
            names("Officials of the U.S. met"),
            names("Officials of the U.N. met"),
        );
        assert_eq!((us.len(), un.len()), (1, 1));
        assert_ne!(us, un);
        // "6.6" is one number, and not "6.1".
        let (six_six, six_one) = (names("a quake of 6.6 hit"), names("a quake of 6.1 hit"));
        assert_eq!((six_six.len(), six_one.len()), (1, 1));
        assert_ne!(six_six, six_one);
    }

    #[test]
    fn a_headline_in_capitals_names_nothing_by_its_capitals() {
        let name_in = |headline: &str, word: &str| {
            event_terms(headline, "")
                .iter()
                .find(|t| t.hash == term(word))
                .map(|t| t.name)
        };
        let shouting = "PIERRE THOMAS PLACED ON INJURED RESERVE AFTER WEEK 16";
        assert_eq!(name_in(shouting, "injured"), Some(false));
        assert_eq!(name_in(shouting, "thomas"), Some(false));
        assert_eq!(name_in(shouting, "16"), Some(true), "numbers stay names");
        // An acronym in an ordinary headline is still a name.
        assert_eq!(name_in("Saints put RB Thomas on IR", "ir"), Some(true));
        assert_eq!(name_in("Saints put RB Thomas on IR", "thomas"), Some(true));
    }

    /// Two reports of Tara Reid's stay in rehab, Lindsay Lohan's (the same kind of event) and
    /// other news.
    fn reid() -> Vec<EventTerm> {
        event_terms(
            "Tara Reid checks into rehab",
            "Actress Tara Reid has checked herself into Promises Treatment Center in Malibu, her representative told People magazine.",
        )
    }

    fn reid_again() -> Vec<EventTerm> {
        event_terms(
            "Tara Reid enters Promises rehab facility",
            "The American Pie star Tara Reid entered the Promises Treatment Center, her publicist confirmed on Friday.",
        )
    }

    fn lohan() -> Vec<EventTerm> {
        event_terms(
            "Lindsay Lohan checks into rehab",
            "Actress Lindsay Lohan has checked into the Betty Ford Center in Rancho Mirage, her lawyer told a judge.",
        )
    }

    fn markets() -> Vec<EventTerm> {
        event_terms(
            "Markets rally on rate hopes",
            "Stocks rose in Frankfurt and Paris as traders bet on lower interest rates from the central bank.",
        )
    }

    /// Bars for the tests: `join` and `supported`, no bridging, any name counts.
    fn bars(join: f64, supported: f64) -> Bars {
        Bars {
            join,
            supported,
            bridge: f64::INFINITY,
            min_name_idf: 1.0,
        }
    }

    #[test]
    fn same_event_joins_and_same_kind_of_event_stays_apart() {
        let mut index = RelatedIndex::new(72 * 3600);
        let reid = reid();
        index.insert(1, 10, 0, &reid, true);
        let filler = markets();
        index.insert(2, 20, 0, &filler, true);
        let reid_again = reid_again();
        let m = index
            .best(&reid_again, 3600, &bars(0.2, 0.2), |_, _| true)
            .expect("same event joins");
        assert_eq!(m.joined.cluster, 10);
        let lohan = lohan();
        assert_eq!(
            index
                .best(&lohan, 3600, &bars(0.2, 0.2), |_, _| true)
                .map(|m| m.joined.cluster),
            None,
            "no shared name: apart"
        );
    }

    #[test]
    fn a_cluster_two_reports_back_takes_related_coverage_at_the_lower_bar() {
        let first = reid();
        let second = reid_again();
        let later = event_terms(
            "American Pie actress seeks treatment",
            "Reid, 33, went to Promises on Tuesday; friends and family supported her decision, a friend of the American Pie star said.",
        );
        let filler = markets();
        let index_with = |second_is_a_report: bool| {
            let mut index = RelatedIndex::new(72 * 3600);
            index.insert(1, 10, 0, &first, true);
            index.insert(2, 10, 0, &second, second_is_a_report);
            index.insert(3, 20, 0, &filler, true);
            index
        };
        let join = |index: &RelatedIndex| {
            index
                .best(&later, 3600, &bars(0.9, 0.1), |_, _| true)
                .map(|m| m.joined.cluster)
        };
        let score = index_with(true)
            .best(&later, 3600, &bars(0.0, 0.0), |_, _| true)
            .expect("a shared name")
            .joined
            .score;
        assert!((0.1..0.9).contains(&score), "between the bars: {score}");
        assert_eq!(
            join(&index_with(true)),
            Some(10),
            "two reports: 0.1 is enough"
        );
        assert_eq!(
            join(&index_with(false)),
            None,
            "a report and a copy: 0.9 is needed"
        );
    }

    #[test]
    fn a_third_report_ties_two_stories_of_one_event_but_not_two_established_ones() {
        let first = reid();
        let second = reid_again();
        let third = event_terms(
            "Tara Reid in rehab at Promises in Malibu",
            "The American Pie actress checked into the Promises Treatment Center, her publicist confirmed.",
        );
        let lohan = lohan();
        let filler = markets();
        // The first two reports in stories of their own (neither reached the other's bar).
        let mut index = RelatedIndex::new(72 * 3600);
        index.insert(1, 10, 0, &first, true);
        index.insert(2, 11, 0, &second, true);
        index.insert(3, 30, 0, &lohan, true);
        index.insert(4, 20, 0, &filler, true);
        let tie = Bars {
            bridge: 0.05,
            ..bars(0.99, 0.99)
        };
        let found = index
            .best(&third, 3600, &tie, |_, _| true)
            .expect("close to both Reid stories");
        let mut stories = [
            found.joined.cluster,
            found.bridged.expect("the other Reid story").cluster,
        ];
        stories.sort_unstable();
        assert_eq!(stories, [10, 11], "never the Lohan story (no shared name)");
        assert!(found.joined.score >= found.bridged.unwrap().score);
        // Without the bridge bar nothing is joined.
        assert_eq!(
            index.best(&third, 3600, &bars(0.99, 0.99), |_, _| true),
            None
        );

        // Both stories already backed by two reports each: they stay apart.
        index.insert(5, 10, 0, &second, true);
        index.insert(6, 11, 0, &first, true);
        assert_eq!(index.best(&third, 3600, &tie, |_, _| true), None);

        // A story that reaches its bar joins, and ties a one-report story to it.
        let mut index = RelatedIndex::new(72 * 3600);
        index.insert(1, 10, 0, &first, true);
        index.insert(5, 10, 0, &second, true);
        index.insert(2, 11, 0, &second, true);
        index.insert(4, 20, 0, &filler, true);
        let found = index
            .best(
                &third,
                3600,
                &Bars {
                    bridge: 0.05,
                    ..bars(0.99, 0.01)
                },
                |_, _| true,
            )
            .expect("joins the two-report story");
        assert_eq!(found.joined.cluster, 10);
        assert_eq!(found.bridged.map(|m| m.cluster), Some(11));
    }

    #[test]
    fn a_merged_story_is_found_under_the_id_that_holds_it() {
        let reid = reid();
        let promises = event_terms(
            "Promises clinic admits American Pie star",
            "The Malibu clinic Promises admitted the American Pie actress on Tuesday, staff said.",
        );
        let filler = markets();
        let mut index = RelatedIndex::new(72 * 3600);
        index.insert(1, 10, 0, &reid, true);
        index.insert(2, 11, 0, &promises, true);
        index.insert(3, 20, 0, &filler, true);
        let eleven = index.profiles.number(11).expect("story 11 is held");
        index.merge(11, 10);
        assert!(index.profiles.get(11).is_none());
        let merged = index.profiles.get(10).expect("story 10 is held");
        assert_eq!(
            (merged.members, merged.reports, merged.representative),
            (2, 2, 1)
        );
        assert!(
            index.postings.values().all(|list| !list.contains(&eleven)),
            "no posting names the folded story"
        );
        // An item like the folded story's own member finds it as story 10.
        let again = event_terms(
            "Promises clinic admits American Pie star",
            "Promises, the clinic in Malibu, admitted the American Pie actress, staff said.",
        );
        let found = index
            .best(&again, 0, &bars(0.1, 0.1), |_, _| true)
            .expect("the merged story");
        assert_eq!(found.joined.cluster, 10);
    }

    /// The index's records agree: one time record per profile, a posting list names a
    /// cluster exactly when the cluster's `posted` holds the list's term, and each number is
    /// held by one cluster or free.
    fn assert_index_consistent(index: &RelatedIndex) {
        let profiles = &index.profiles;
        let timed: BTreeSet<(i64, i64)> = profiles.iter().map(|(c, _, p)| (p.last_ts, c)).collect();
        assert_eq!(index.by_time, timed, "one time record per profile");
        for (&term, list) in &index.postings {
            assert!(!list.is_empty(), "no empty list");
            for (at, n) in list.iter().enumerate() {
                assert!(!list[..at].contains(n), "{n} twice on one list");
                let profile = profiles.at(*n).expect("a list names a held cluster");
                let c = profiles.cluster(*n);
                assert_eq!(profiles.number(c), Some(*n), "{c} is held as {n}");
                assert!(
                    profile.posted.binary_search(&term).is_ok(),
                    "{c} records {term}"
                );
            }
        }
        for (&term, list) in &index.backed {
            assert!(!list.is_empty(), "no empty backed list");
            for (at, n) in list.iter().enumerate() {
                assert!(!list[..at].contains(n), "{n} twice on one backed list");
                let profile = profiles.at(*n).expect("a backed list names a held cluster");
                assert!(profile.reports >= 2, "{n} on a backed list has two reports");
                assert!(index.postings[&term].contains(n), "{n} on {term}'s list");
            }
        }
        for (c, n, profile) in profiles.iter() {
            assert_eq!(profiles.cluster(n), c, "{n} is {c}'s number");
            if profile.reports >= 2 {
                for term in &profile.posted {
                    assert!(
                        index.backed.get(term).is_some_and(|l| l.contains(&n)),
                        "{c}, backed, is on the backed list of {term}"
                    );
                }
            }
            let names = profile.terms.iter().filter(|p| p.name()).count();
            assert_eq!(profile.names as usize, names, "{c} counts its names");
            assert!(profile.posted.windows(2).all(|w| w[0] < w[1]));
            for term in &profile.posted {
                assert!(
                    index.postings[term].contains(&n),
                    "{c} is on the list of {term}"
                );
            }
        }
        let mut numbers: Vec<u32> = profiles
            .numbers
            .values()
            .chain(&profiles.free)
            .copied()
            .collect();
        numbers.sort_unstable();
        let given: Vec<u32> = (0..profiles.held.len() as u32).collect();
        assert_eq!(numbers, given, "each number held or free, once");
        assert!(profiles.free.iter().all(|&n| profiles.at(n).is_none()));
    }

    #[test]
    fn the_batch_review_skips_a_list_past_the_cap_as_every_query_does() {
        let mut index = RelatedIndex::new(72 * 3600);
        let term = |word: String, name: bool| EventTerm {
            hash: word_hash(&word),
            weight: 1.0,
            name,
            headline: false,
            number: false,
        };
        // Stories of three terms each: "common", which every story posts until its list is
        // full, and two names of their own. The first 300 have two reports each; every tenth
        // of the first 100 has one.
        let story = |k: usize| {
            let mut terms = vec![
                term("common".into(), false),
                term(format!("first{k}"), true),
                term(format!("second{k}"), true),
            ];
            terms.sort_unstable_by_key(|t| t.hash);
            terms
        };
        for k in 0..400 {
            let single = k < 100 && k % 10 == 0;
            for member in 0..if k < 300 && !single { 2 } else { 1 } {
                index.insert((2 * k + member) as i64, k as i64, 0, &story(k), true);
            }
        }
        assert!(index.postings[&word_hash("common")].len() > MAX_POSTING);
        let bars = Bars {
            join: 0.1,
            supported: 0.1,
            bridge: f64::INFINITY,
            min_name_idf: 0.0,
        };
        let changed: Vec<i64> = (0..100).step_by(10).collect();
        let look = |terms: &[EventTerm]| {
            let review = index.best_among_backed_or(terms, 0, &bars, &changed, -1, |_, _| true);
            let consider = |c: i64, reports: u32| reports >= 2 || changed.contains(&c);
            let general = index.best_among(terms, 0, &bars, consider, |_, _| true);
            assert_eq!(review, general);
            review.map(|found| found.joined.cluster)
        };
        for k in [5, 20] {
            // A story found by its two names; through "common" and one name it would be on two
            // of the query's lists, but the list of "common" is never read.
            let both = [
                term(format!("first{k}"), true),
                term(format!("second{k}"), true),
            ];
            let mut both = both.to_vec();
            both.sort_unstable_by_key(|t| t.hash);
            assert_eq!(look(&both), Some(k as i64), "story {k}");
            let mut one = vec![
                term("common".into(), false),
                term(format!("first{k}"), true),
            ];
            one.sort_unstable_by_key(|t| t.hash);
            assert_eq!(look(&one), None, "story {k}: one list read");
        }
    }

    #[test]
    fn eviction_and_merging_keep_postings_and_time_records_exact() {
        let window = 100;
        let mut index = RelatedIndex::new(window);
        let mut next = crate::test_support::xorshift(0x5851_f42d_4c95_7f2d);
        let mut ts = 0i64;
        let mut clusters: Vec<i64> = Vec::new();
        let (mut evicted, mut merged, mut moved, mut trimmed_posting) = (0, 0, 0, 0);
        let (mut looked, mut found, mut backed_found) = (0, 0, 0);
        let mut recent_terms: Vec<Vec<EventTerm>> = Vec::new();
        for item in 0..3000i64 {
            ts += (next() % 7) as i64;
            // Terms from a small vocabulary, so that posting lists are shared (their hashes
            // spread over 64 bits, as a word's are: a profile keeps a term by the top half).
            let mut terms: Vec<EventTerm> = (0..2 + next() % 40)
                .map(|_| EventTerm {
                    hash: (1 + next() % 400).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    weight: (1 + next() % 4) as f32,
                    name: next().is_multiple_of(3),
                    headline: next().is_multiple_of(4),
                    number: false,
                })
                .collect();
            terms.sort_unstable_by_key(|t| t.hash);
            terms.dedup_by_key(|t| t.hash);
            // A story of its own, or a member of one of the recent ten: they grow large.
            let cluster = match (clusters.len(), next() % 4) {
                (0, _) | (_, 0) => item,
                (n, _) => clusters[n - 1 - (next() as usize % n.min(10))],
            };
            index.insert(item, cluster, ts, &terms, next().is_multiple_of(3));
            if recent_terms.len() == 30 {
                recent_terms.remove(0);
            }
            recent_terms.push(terms);
            if cluster == item {
                clusters.push(item);
            }
            if item % 37 == 0 && clusters.len() >= 2 {
                // Two recent stories, large ones among them: their trimmed profiles no longer
                // hold every term they posted.
                let n = clusters.len();
                let recent = |r: u64| n - 1 - (r as usize % n.min(20));
                let (from, into) = (recent(next()), recent(next()));
                if from != into {
                    let gone = index.profiles.get(clusters[from]).expect("held");
                    trimmed_posting += gone.posted.iter().filter(|&&t| !gone.contains(t)).count();
                    index.merge(clusters[from], clusters[into]);
                    clusters.remove(from);
                    merged += 1;
                    assert_index_consistent(&index);
                }
            }
            if item % 53 == 0 && !clusters.is_empty() {
                // Into a story the index does not hold: the profile moves to that id.
                let (from, into) = (clusters.len() - 1, -item);
                let members = index.profiles.get(clusters[from]).map(|p| p.members);
                index.merge(clusters[from], into);
                assert_eq!(index.profiles.get(into).map(|p| p.members), members);
                clusters[from] = into;
                moved += 1;
                assert_index_consistent(&index);
            }
            if item % 5 == 0 && !clusters.is_empty() {
                // The batch review's look agrees with the general one's over the same stories:
                // those two reports back, and a few recent ones, less one.
                let recent =
                    |r: u64| clusters[clusters.len() - 1 - (r as usize % clusters.len().min(30))];
                let mut changed: Vec<i64> = (0..next() % 6).map(|_| recent(next())).collect();
                changed.sort_unstable();
                changed.dedup();
                let except = recent(next());
                // Like a recent item: its own story and those near it are found.
                let query = &recent_terms[next() as usize % recent_terms.len()];
                let bars = Bars {
                    join: 0.3,
                    supported: 0.2,
                    bridge: 0.1,
                    min_name_idf: 0.0,
                };
                let consider =
                    |c: i64, reports: u32| c != except && (reports >= 2 || changed.contains(&c));
                let general = index.best_among(query, ts, &bars, consider, |_, _| true);
                let review =
                    index.best_among_backed_or(query, ts, &bars, &changed, except, |_, _| true);
                assert_eq!(review, general, "item {item}");
                looked += 1;
                found += usize::from(general.is_some());
                backed_found +=
                    usize::from(general.is_some_and(|j| index.reports(j.joined.cluster) >= 2));
            }
            if item % 101 == 0 {
                let before = index.len();
                index.evict();
                evicted += before - index.len();
                let horizon = index.newest_ts - 2 * window;
                assert!(index.profiles.values().all(|p| p.last_ts >= horizon));
                assert_index_consistent(&index);
            }
        }
        assert!(
            evicted > 500 && merged > 50 && moved > 20,
            "{evicted} evicted, {merged} merged, {moved} moved"
        );
        assert!(
            trimmed_posting > 0,
            "merged stories had posted terms their profiles trimmed"
        );
        assert!(
            found > looked / 4 && backed_found > 0 && found - backed_found > 0,
            "{found} of {looked} looks found a story, {backed_found} backed by two reports"
        );
        assert!(
            index.postings.values().any(|l| l.len() > 1),
            "lists are shared"
        );
    }

    #[test]
    fn term_statistics_stay_bounded_and_keep_their_ratios() {
        let mut index = RelatedIndex::new(72 * 3600);
        let common = word_hash("rehab");
        let rare = word_hash("promises");
        for n in 0..400u64 {
            // Each document: one term never seen again, "rehab" in every second, "promises"
            // in every tenth.
            let mut terms = vec![EventTerm {
                hash: word_hash(&format!("once{n}")),
                weight: 1.0,
                name: false,
                headline: false,
                number: false,
            }];
            for (hash, every) in [(common, 2), (rare, 10)] {
                if n % every == 0 {
                    terms.push(EventTerm { hash, ..terms[0] });
                }
            }
            terms.sort_unstable_by_key(|t| t.hash);
            index.insert(n as i64, n as i64, 0, &terms, true);
        }
        let (common_idf, rare_idf) = (index.idf(common), index.idf(rare));
        assert!(index.df.len() > 400);
        index.bound_term_statistics(100);
        assert_eq!(index.df.len(), 2, "the terms seen once are forgotten");
        assert_eq!(index.docs, 200);
        assert!((index.idf(common) - common_idf).abs() < 0.05);
        assert!((index.idf(rare) - rare_idf).abs() < 0.05);
        assert!(index.idf(rare) > index.idf(common));
    }

    #[test]
    fn different_numbers_in_the_headlines_are_different_stories() {
        let mut index = RelatedIndex::new(72 * 3600);
        let body = "The winning numbers of the national lottery draw were announced in Lisbon on Saturday evening by the operator.";
        index.insert(
            1,
            10,
            0,
            &event_terms("Lottery results for draw 1006 in Lisbon", body),
            true,
        );
        let filler = event_terms(
            "Markets rally on rate hopes",
            "Stocks rose in Frankfurt and Paris as traders bet on lower rates.",
        );
        index.insert(2, 20, 0, &filler, true);
        // The cluster an item joins at a low bar, any name counting.
        let joins = |index: &RelatedIndex, terms: &[EventTerm]| {
            index
                .best(terms, 0, &bars(0.1, 0.1), |_, _| true)
                .map(|m| m.joined.cluster)
        };
        let other_draw = event_terms("Lottery results for draw 1009 in Lisbon", body);
        assert_eq!(joins(&index, &other_draw), None);
        let same_draw = event_terms("Lisbon lottery: the draw 1006 results", body);
        assert_eq!(joins(&index, &same_draw), Some(10));
        // A number with decimals is one number: 6.6 and 6.1 differ though both start with 6.
        let quake = "The earthquake struck off the coast of Papua early on Tuesday, the geological survey said.";
        let first_quake = event_terms("Magnitude 6.6 quake hits Papua", quake);
        index.insert(3, 30, 0, &first_quake, true);
        let other_quake = event_terms("Magnitude 6.1 quake hits Papua", quake);
        assert_ne!(joins(&index, &other_quake), Some(30));
        let same_quake = event_terms("Papua hit by magnitude 6.6 quake", quake);
        assert_eq!(joins(&index, &same_quake), Some(30));
    }
}
