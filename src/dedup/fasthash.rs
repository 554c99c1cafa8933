//! A hasher for keys that are already hashes (xxh3 outputs) or small integers (item and cluster
//! ids): std's SipHash is made for keys an attacker chooses and cost a fifth of the dedup time.
//! One multiply spreads sequential ids over the table; hash outputs pass through it unharmed.
//! Keys here come from our own hashing, never straight from a feed.
//! Also what the indexes keyed by such hashes share: `sort_by_hash`, `drop_from_lists` for
//! eviction, and `warm` for lookups into indexes larger than the CPU's caches.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by the integer keys of this module; kept correct for any other key.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
pub type FastSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

/// A posting list: the values filed under one key of an index. Most keys of the indexes are
/// held by one item (an anchor or a band of one article's fingerprint, a term one story posted),
/// so a list of one is kept in the map's slot itself: no allocation for it, and a lookup that
/// reads the value without following a pointer to another cache line. A longer list is a
/// vector, as before. Reads see a slice.
#[derive(Clone, Debug)]
pub enum PostingList<V> {
    One(V),
    Many(Vec<V>),
}

impl<V> Default for PostingList<V> {
    /// The empty list (allocates nothing).
    fn default() -> Self {
        PostingList::Many(Vec::new())
    }
}

impl<V: Copy> PostingList<V> {
    pub fn push(&mut self, value: V) {
        match self {
            PostingList::Many(list) if list.is_empty() => *self = PostingList::One(value),
            PostingList::One(first) => *self = PostingList::Many(vec![*first, value]),
            PostingList::Many(list) => list.push(value),
        }
    }

    /// Keeps the values for which `keep` holds, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        match self {
            PostingList::One(value) if !keep(value) => *self = PostingList::default(),
            PostingList::One(_) => {}
            PostingList::Many(list) => list.retain(|v| keep(v)),
        }
    }
}

impl<V> std::ops::Deref for PostingList<V> {
    type Target = [V];
    fn deref(&self) -> &[V] {
        match self {
            PostingList::One(value) => std::slice::from_ref(value),
            PostingList::Many(list) => list,
        }
    }
}

impl<V> std::ops::DerefMut for PostingList<V> {
    fn deref_mut(&mut self) -> &mut [V] {
        match self {
            PostingList::One(value) => std::slice::from_mut(value),
            PostingList::Many(list) => list,
        }
    }
}

/// Takes the values for which `is_gone` holds off the lists of `keys` (each list once, however
/// often its key is repeated), and drops the lists left empty. Eviction cleans only the lists
/// that what it removes was on, not every list of an index.
pub fn drop_from_lists<K: std::hash::Hash + Eq + Ord + Copy, V: Copy>(
    map: &mut FastMap<K, PostingList<V>>,
    mut keys: Vec<K>,
    is_gone: impl Fn(&V) -> bool,
) {
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        if let Some(list) = map.get_mut(&key) {
            list.retain(|v| !is_gone(v));
            if list.is_empty() {
                map.remove(&key);
            }
        }
    }
}

/// The ids an eviction removes, asked about for every value of the posting lists they were on
/// (a common key's list can hold thousands). The store gives out row ids in order and an
/// eviction takes the oldest items; the related index's cluster numbers are reused below the
/// count given out. Either way the range of the ids removed is nearly always dense, and then a
/// bit for each id in it answers with a shift and a mask. A hash set, before, was a multiply
/// and a probe of a table that seldom stayed cached. Ids spread far apart fall back to the
/// hash set.
pub enum IdSet {
    Bits { first: i64, bits: Vec<u64> },
    Hashed(FastSet<i64>),
}

impl IdSet {
    /// A range wider than this many ids per id held is not worth a bit per id.
    const MAX_SPREAD: u64 = 64;

    /// The set of `ids`, which it goes through twice (their range, then the set itself).
    pub fn of(ids: impl Iterator<Item = i64> + Clone) -> IdSet {
        let (mut first, mut last, mut count) = (i64::MAX, i64::MIN, 0u64);
        for id in ids.clone() {
            (first, last, count) = (first.min(id), last.max(id), count + 1);
        }
        if count == 0 {
            return IdSet::Hashed(FastSet::default());
        }
        let width = last.abs_diff(first);
        if width >= Self::MAX_SPREAD.saturating_mul(count) {
            return IdSet::Hashed(ids.collect());
        }
        let mut bits = vec![0u64; (width / 64 + 1) as usize];
        for id in ids {
            let at = id.abs_diff(first);
            bits[(at / 64) as usize] |= 1 << (at % 64);
        }
        IdSet::Bits { first, bits }
    }

    #[inline]
    pub fn contains(&self, id: i64) -> bool {
        match self {
            IdSet::Bits { first, bits } => {
                // Below `first`, the difference wraps to a number past every word.
                let at = (id as u64).wrapping_sub(*first as u64);
                bits.get((at / 64) as usize)
                    .is_some_and(|word| word & (1 << (at % 64)) != 0)
            }
            IdSet::Hashed(set) => set.contains(&id),
        }
    }
}

/// Reads the first element of `list` and discards it: a load issued early, so that the cache
/// misses of several posting lists overlap instead of coming one after another (a software
/// prefetch without `unsafe`; the CPU runs the loads it does not wait for out of order). An
/// index that holds a million items is far larger than the caches, and each of its lookups
/// misses: looking up every list a query needs first, warming them all, and only then reading
/// them took the candidate index's per-item cost at a million items from 6.7-7.1 to 4.9-5.5 us,
/// 1.3-1.4 times its cost at 10k instead of 1.8-1.9 (`benches/dedup --no-related`, part 2).
#[inline(always)]
pub fn warm<T: Copy>(list: &[T]) {
    std::hint::black_box(list.first().copied());
}

/// A set of `64 * WORDS` bits (a power of two), one picked by the top bits of each hash put in:
/// a hash whose bit is clear was never put in, and one in a few of the others gets through.
/// Read from a cache line or two, it spares a search (the related query's filter of an item's
/// terms) or a read of what the hashes came from (the candidate index's signature of an
/// entry's shingles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopBits<const WORDS: usize>([u64; WORDS]);

impl<const WORDS: usize> TopBits<WORDS> {
    pub fn of(hashes: impl IntoIterator<Item = u64>) -> TopBits<WORDS> {
        let mut bits = [0u64; WORDS];
        for hash in hashes {
            let bit = Self::bit(hash);
            bits[bit / 64] |= 1 << (bit % 64);
        }
        TopBits(bits)
    }

    fn bit(hash: u64) -> usize {
        const { assert!(WORDS.is_power_of_two()) };
        (hash >> (64 - (64 * WORDS).trailing_zeros())) as usize
    }

    pub fn holds(&self, hash: u64) -> bool {
        let bit = Self::bit(hash);
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// How many bits are set.
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// How many bits are set in both.
    pub fn common(&self, other: &TopBits<WORDS>) -> usize {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a & b).count_ones() as usize)
            .sum()
    }
}

/// Sorts `items` by `key`, a hash (evenly spread over `u64`): a counting pass puts each item in
/// one of 256 buckets by the key's top byte, and an insertion sort orders the few that share a
/// bucket. For the few hundred word and shingle hashes of an article this takes about two thirds
/// of `sort_unstable`'s instructions, copy included (callgrind over `benches/dedup.rs`). Keys that crowd into
/// a bucket (a text built to collide) fall back to `sort_unstable`, so the cost stays
/// O(n log n) whatever the input; the result is sorted either way.
///
/// The buckets are filled in `spare`, which is then swapped with `items`: a caller that keeps
/// `spare` from one sort to the next allocates nothing (the copy this took for every article's
/// terms was one of the largest allocations per item).
pub fn sort_by_hash<T: Copy>(items: &mut Vec<T>, spare: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    /// Below this, buckets cost more than they save.
    const MIN_ITEMS: usize = 32;
    /// Most items a bucket may take before the insertion sort is not worth it.
    const MAX_BUCKET: usize = 16;
    if items.len() < MIN_ITEMS {
        items.sort_unstable_by_key(key);
        return;
    }
    // More items than 256 buckets of MAX_BUCKET hold must crowd one: the general sort, without
    // counting (and so the counts below fit in u32).
    if items.len() > 256 * MAX_BUCKET {
        items.sort_unstable_by_key(key);
        return;
    }
    let bucket = |item: &T| (key(item) >> 56) as usize;
    // Counts as u32: the array is cleared for every call, and half the bytes halve that.
    let mut starts = [0u32; 257];
    for item in items.iter() {
        starts[bucket(item) + 1] += 1;
    }
    if starts.iter().any(|&n| n as usize > MAX_BUCKET) {
        items.sort_unstable_by_key(key);
        return;
    }
    for b in 0..256 {
        starts[b + 1] += starts[b];
    }
    let sorted = spare;
    sorted.clear();
    sorted.extend_from_slice(items);
    for item in items.iter() {
        let at = &mut starts[bucket(item)];
        sorted[*at as usize] = *item;
        *at += 1;
    }
    // Within a bucket (at most MAX_BUCKET items), order by the whole key.
    for i in 1..sorted.len() {
        let mut j = i;
        while j > 0 && key(&sorted[j - 1]) > key(&sorted[j]) {
            sorted.swap(j - 1, j);
            j -= 1;
        }
    }
    std::mem::swap(items, sorted);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_set_holds_exactly_its_ids_dense_or_spread() {
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1du64);
        let dense: Vec<i64> = (1000..5000).filter(|i| i % 3 != 0).collect();
        let negative: Vec<i64> = (-70..70).step_by(2).collect();
        let spread: Vec<i64> = (0..500).map(|_| next() as i64).collect();
        let extremes = vec![i64::MIN, i64::MAX, 0];
        for ids in [dense, negative, spread, extremes, vec![7], vec![]] {
            let set = IdSet::of(ids.iter().copied());
            let held: FastSet<i64> = ids.iter().copied().collect();
            // Around every id held, and at both ends of the range and past them.
            let asked = ids
                .iter()
                .flat_map(|&i| [i.wrapping_sub(1), i, i.wrapping_add(1)])
                .chain([i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX])
                .chain((0..200).map(|_| next() as i64));
            for id in asked {
                assert_eq!(set.contains(id), held.contains(&id), "{id} in {ids:?}");
            }
        }
        assert!(matches!(IdSet::of(0..4096), IdSet::Bits { .. }));
        assert!(matches!(
            IdSet::of([0, 1 << 40].into_iter()),
            IdSet::Hashed(_)
        ));
    }

    #[test]
    fn sort_by_hash_sorts_spread_crowded_and_repeated_keys() {
        let mut next = crate::test_support::xorshift(0x853c_49e6_748f_ea9bu64);
        for len in [0, 1, 5, 31, 32, 33, 200, 600, 3000] {
            // Spread keys, keys crowded under one top byte, and few distinct keys.
            for shape in 0..3 {
                let items: Vec<(u64, u32)> = (0..len)
                    .map(|i| {
                        let k = next();
                        let key = match shape {
                            0 => k,
                            1 => k >> 8,
                            _ => (k % 7) << 60,
                        };
                        (key, i)
                    })
                    .collect();
                let mut ours = items.clone();
                // A spare with something in it: what it held must not leak into the result.
                let mut spare = vec![(u64::MAX, u32::MAX); 3];
                sort_by_hash(&mut ours, &mut spare, |&(k, _)| k);
                let mut expected = items;
                expected.sort_by_key(|&(k, _)| k);
                let keys = |v: &[(u64, u32)]| v.iter().map(|&(k, _)| k).collect::<Vec<_>>();
                assert_eq!(keys(&ours), keys(&expected), "len {len}, shape {shape}");
                ours.sort();
                expected.sort();
                assert_eq!(ours, expected, "the same items, len {len}, shape {shape}");
            }
        }
    }

    #[test]
    fn a_posting_list_holds_what_a_vector_would() {
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1du64);
        let mut ours: PostingList<u64> = PostingList::default();
        let mut expected: Vec<u64> = Vec::new();
        let (mut inline, mut empty_again) = (0, 0);
        for round in 0..5000 {
            // Pushes, with now and then a retain that drops a few values or all of them,
            // so that the list passes through empty, one and many again and again.
            match next() % 8 {
                0 => {
                    let cut = next() % 4;
                    ours.retain(|&v| v % 4 != cut);
                    expected.retain(|&v| v % 4 != cut);
                }
                1 if expected.len() > 3 => {
                    ours.retain(|_| false);
                    expected.clear();
                    empty_again += 1;
                }
                _ => {
                    let value = next() % 1000;
                    ours.push(value);
                    expected.push(value);
                }
            }
            if let Some(first) = expected.first().copied() {
                // Written through the slice, as merging clusters renames an entry.
                ours[0] = first + 1;
                expected[0] = first + 1;
            }
            assert_eq!(&ours[..], &expected[..], "round {round}");
            inline += usize::from(matches!(ours, PostingList::One(_)));
        }
        assert!(inline > 100 && empty_again > 100, "{inline} {empty_again}");
    }
}
