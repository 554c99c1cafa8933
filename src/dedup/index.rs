//! The candidate index: finds the stored items that may be copies of a new one without looking
//! at every stored item. Three inverted indexes, all hash lookups:
//! - simhash bands: the 64 bits cut into four 16-bit bands; two fingerprints within Hamming
//!   distance 3 share at least one band exactly (pigeonhole, Manku et al. 2007). Postings keep
//!   the full simhash, so a bucket is filtered by distance without touching the entries (at a
//!   million items a bucket holds about fifteen, nearly all far away);
//! - anchors: the bottom-k shingle hashes of the lead and of the body (min-hash keys), which
//!   catch trimmed copies and excerpts whose simhash moved further than 3 bits;
//! - the exact content hash, and the headline key (for the title rule).
//!
//! It holds items whose publication time is within two windows of the newest one seen; older
//! entries are evicted as the stream moves on (by the items' time, never the clock), oldest
//! first from a time-ordered set, so that eviction costs what it removes, not what it keeps.

use std::collections::BTreeSet;

use super::fasthash::{FastMap, IdSet, PostingList, drop_from_lists, warm};

use super::fingerprint::{ANCHORS, Fingerprint, LEAD_SHINGLES, ShingleBits};

const BANDS: usize = 4;
/// A posting list longer than this is a stop-key (boilerplate shared by many items): it says
/// nothing about one story and would make lookups linear, so it is not followed.
const MAX_POSTING: usize = 512;
/// An anchor list longer than this holds a common shingle ("said on Tuesday the") or a story
/// copied many times. An item found only on such lists is a candidate when it is on two of
/// them: a copy shares several anchors with its article, however many copies the window holds,
/// while most items on a common shingle's list share that one anchor with a new item by chance.
/// With 80k items in the window (`benches/dedup --warm 80000`) a lookup gathered 21 distinct
/// candidates, seven in ten of them from lists longer than 32, and each was verified by reading
/// an entry seldom still cached. With this rule the per-item path's reads that missed a 1 MB
/// cache fell 38 % and its instructions 11 %; every copy still joined its original's story, and
/// syndication sets of stories with up to 50 copies still scored 1.0.
const COMMON_ANCHOR: usize = 8;
/// Band candidates further than this from the new item's simhash are not verified: the anchors
/// find the heavier rewrites.
const BAND_MAX_DISTANCE: u32 = 12;

/// What the index keeps of an item. Laid out by hand (`repr(C)`): first and together the
/// fields a verification reads of nearly every candidate (the time, the shingle count, the
/// headline key, the signature and the lead, about 200 bytes), then those it reads of the few
/// that pass. With the window full a candidate's entry is seldom still cached, and in the
/// compiler's order those fields lay apart: with 20k items already in, the per-item path's
/// reads that missed a 1 MB cache fell 2.7 % (callgrind over `benches/dedup --warm 20000`).
#[derive(Clone)]
#[repr(C)]
pub struct Entry {
    pub ts: i64,
    pub shingles: Box<[u32]>,
    pub title_key: Option<u64>,
    /// The signature of `shingles`: a bound on how many shingles a candidate shares with this
    /// entry, before its shingles are read.
    pub shingle_bits: ShingleBits,
    pub lead: Lead,
    /// Kept to find the item's postings when it is evicted. (Here, after the lead, the two
    /// leave no padding: the entry is as long as in the compiler's order.)
    anchors: [u32; ANCHORS],
    pub simhash: u64,
    pub item: i64,
    pub cluster: i64,
    pub numbers: Box<[(u32, u32)]>,
    content_hash: Option<u64>,
}

/// An entry's lead shingles ([`Fingerprint::lead`]) in the entry itself, not behind a pointer:
/// the verification of nearly every candidate reads them (`Thresholds::may_fold`), and a read
/// through the pointer missed the cache on its own (a tenth of `Deduplicator::decide`'s
/// samples in `benches/dedup`).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Lead {
    /// First: a verification reads it before the hashes, and may stop there.
    len: u8,
    hashes: [u32; LEAD_SHINGLES],
}

impl Lead {
    /// The first [`LEAD_SHINGLES`] of `lead`: all of it, as [`Fingerprint`] builds a lead.
    fn of(lead: &[u32]) -> Lead {
        let len = lead.len().min(LEAD_SHINGLES);
        let mut hashes = [0; LEAD_SHINGLES];
        hashes[..len].copy_from_slice(&lead[..len]);
        Lead {
            hashes,
            len: len as u8,
        }
    }
}

impl std::ops::Deref for Lead {
    type Target = [u32];

    fn deref(&self) -> &[u32] {
        &self.hashes[..usize::from(self.len)]
    }
}

#[derive(Clone)]
pub struct CandidateIndex {
    window_secs: i64,
    /// Boxed: an entry is about 300 bytes. Held in the map's own slots, every insert wrote
    /// one into a random slot of a table of megabytes, and every growth of the table moved
    /// them all. Boxes are written one after another, and the table moves only pointers.
    /// Over the per-item path of `benches/dedup` (callgrind, a 1 MB cache) the reads that
    /// missed fell by 4 % and the writes by 12 %; a lookup follows one pointer more.
    entries: FastMap<i64, Box<Entry>>,
    bands: [FastMap<u16, PostingList<(u64, i64)>>; BANDS],
    anchors: FastMap<u32, PostingList<i64>>,
    content: FastMap<u64, PostingList<i64>>,
    titles: FastMap<u64, PostingList<i64>>,
    /// (time, item) of every entry: the oldest are evicted first.
    by_time: BTreeSet<(i64, i64)>,
    newest_ts: i64,
}

fn band(simhash: u64, b: usize) -> u16 {
    (simhash >> (16 * b)) as u16
}

impl CandidateIndex {
    pub fn new(window_secs: i64) -> CandidateIndex {
        CandidateIndex {
            window_secs,
            entries: FastMap::default(),
            bands: Default::default(),
            anchors: FastMap::default(),
            content: FastMap::default(),
            titles: FastMap::default(),
            by_time: BTreeSet::new(),
            newest_ts: i64::MIN,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn insert(&mut self, item: i64, cluster: i64, ts: i64, fp: Fingerprint) {
        // An item stored again replaces what was kept of it.
        if let Some(old) = self.entries.remove(&item) {
            self.by_time.remove(&(old.ts, item));
            self.drop_postings(&[old]);
        }
        for b in 0..BANDS {
            self.bands[b]
                .entry(band(fp.simhash, b))
                .or_default()
                .push((fp.simhash, item));
        }
        for &a in fp.anchors.iter().filter(|&&a| a != 0) {
            let list = self.anchors.entry(a).or_default();
            if list.last() != Some(&item) {
                list.push(item);
            }
        }
        if let Some(h) = fp.content_hash {
            self.content.entry(h).or_default().push(item);
        }
        if let Some(h) = fp.title_key {
            self.titles.entry(h).or_default().push(item);
        }
        self.entries.insert(
            item,
            Box::new(Entry {
                item,
                cluster,
                ts,
                simhash: fp.simhash,
                shingle_bits: ShingleBits::of(&fp.shingles),
                shingles: fp.shingles.into_boxed_slice(),
                lead: Lead::of(&fp.lead),
                numbers: fp.numbers.into_boxed_slice(),
                title_key: fp.title_key,
                anchors: fp.anchors,
                content_hash: fp.content_hash,
            }),
        );
        self.by_time.insert((ts, item));
        self.newest_ts = self.newest_ts.max(ts);
    }

    /// Drops entries older than two windows before the newest item, and their postings. Only
    /// the evicted entries and the posting lists they were on are visited: a pass over every
    /// entry each time (every 4096 inserts) cost a quarter of the per-item time at a million
    /// items, and made it 2.1-2.4 times that at 10k (`benches/dedup`, the index part).
    pub fn evict(&mut self) {
        let horizon = self.newest_ts.saturating_sub(2 * self.window_secs);
        let mut evicted = Vec::new();
        while let Some(&(ts, item)) = self.by_time.first()
            && ts < horizon
        {
            self.by_time.pop_first();
            evicted.extend(self.entries.remove(&item));
        }
        self.drop_postings(&evicted);
    }

    /// Takes the items of `removed` (no longer in `entries`) off the posting lists they were
    /// on: each list once, however many of them were on it (a boilerplate anchor's list can
    /// hold thousands).
    fn drop_postings(&mut self, removed: &[Box<Entry>]) {
        if removed.is_empty() {
            return;
        }
        let gone = IdSet::of(removed.iter().map(|e| e.item));
        for (b, map) in self.bands.iter_mut().enumerate() {
            let keys = removed.iter().map(|e| band(e.simhash, b)).collect();
            drop_from_lists(map, keys, |&(_, i)| gone.contains(i));
        }
        let anchors = removed.iter().flat_map(|e| e.anchors).filter(|&a| a != 0);
        drop_from_lists(&mut self.anchors, anchors.collect(), |&i| gone.contains(i));
        let content = removed.iter().filter_map(|e| e.content_hash).collect();
        drop_from_lists(&mut self.content, content, |&i| gone.contains(i));
        let titles = removed.iter().filter_map(|e| e.title_key).collect();
        drop_from_lists(&mut self.titles, titles, |&i| gone.contains(i));
    }

    pub fn entry(&self, item: i64) -> Option<&Entry> {
        self.entries.get(&item).map(|e| &**e)
    }

    pub fn by_content(&self, hash: u64) -> impl Iterator<Item = &Entry> {
        self.content
            .get(&hash)
            .into_iter()
            .flat_map(|list| list.iter())
            .filter_map(|&i| self.entry(i))
    }

    /// Items that share a simhash band, an anchor or the headline key with `fp`, each once.
    /// An item found only on long anchor lists must be on two of them (see
    /// [`COMMON_ANCHOR`]).
    pub fn candidates(&self, fp: &Fingerprint) -> Vec<&Entry> {
        // The parts' anchors overlap (the first sentence's smallest are often the lead's), and
        // an anchor looked up twice would count twice: each distinct anchor once.
        let mut keys = fp.anchors;
        keys.sort_unstable();
        let distinct = |k: usize| keys[k] != 0 && (k == 0 || keys[k] != keys[k - 1]);
        // Every list is looked up, and warmed, before any is read: at a million items each
        // lookup is a cache miss, and issued together they overlap (see `warm`).
        let bands: [Option<&[(u64, i64)]>; BANDS] =
            std::array::from_fn(|b| self.bands[b].get(&band(fp.simhash, b)).map(|l| &l[..]));
        let anchors: [Option<&[i64]>; ANCHORS] = std::array::from_fn(|k| {
            distinct(k)
                .then(|| self.anchors.get(&keys[k]))
                .flatten()
                .map(|l| &l[..])
        });
        bands.iter().flatten().for_each(|list| warm(list));
        anchors.iter().flatten().for_each(|list| warm(list));
        let mut ids: Vec<i64> = Vec::new();
        for list in bands.into_iter().flatten() {
            let near = list
                .iter()
                .filter(|(sim, _)| (sim ^ fp.simhash).count_ones() <= BAND_MAX_DISTANCE);
            ids.extend(near.map(|&(_, i)| i));
        }
        let mut common: Vec<i64> = Vec::new();
        for list in anchors.into_iter().flatten() {
            if list.len() <= COMMON_ANCHOR {
                ids.extend_from_slice(list);
            } else if list.len() <= MAX_POSTING {
                common.extend_from_slice(list);
            }
        }
        if common.len() > 1 {
            common.sort_unstable();
            ids.extend(common.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]));
        }
        if let Some(list) = fp.title_key.and_then(|h| self.titles.get(&h))
            && list.len() <= MAX_POSTING
        {
            ids.extend_from_slice(list);
        }
        ids.sort_unstable();
        ids.dedup();
        ids.iter().filter_map(|&i| self.entry(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "Rescue teams searched through the night for survivors after a magnitude 6.1 earthquake struck the coastal province, flattening homes and cutting power to thousands of residents, officials said on Tuesday.";

    /// Every posting list names only items the index holds, and each item holds its keys.
    fn assert_postings_match_entries(index: &CandidateIndex) {
        let held = |i: &i64| index.entries.contains_key(i);
        for b in &index.bands {
            assert!(
                b.values()
                    .all(|l| !l.is_empty() && l.iter().all(|(_, i)| held(i)))
            );
        }
        for map in [&index.content, &index.titles] {
            assert!(map.values().all(|l| !l.is_empty() && l.iter().all(held)));
        }
        assert!(
            index
                .anchors
                .values()
                .all(|l| !l.is_empty() && l.iter().all(held))
        );
        let timed: Vec<i64> = index.by_time.iter().map(|&(_, i)| i).collect();
        let mut held_items: Vec<i64> = index.entries.keys().copied().collect();
        held_items.sort_unstable();
        let mut timed_sorted = timed.clone();
        timed_sorted.sort_unstable();
        assert_eq!(timed_sorted, held_items, "one time record per entry");
    }

    #[test]
    fn an_entrys_lead_is_the_fingerprints_lead() {
        for len in 0..=LEAD_SHINGLES {
            let lead: Vec<u32> = (1..=len as u32)
                .map(|h| h.wrapping_mul(0x9e37_79b9))
                .collect();
            assert_eq!(&*Lead::of(&lead), &lead[..]);
        }
        let fp = Fingerprint::of("Quake hits the coast hard today", STORY);
        let mut index = CandidateIndex::new(3600);
        index.insert(1, 1, 0, fp.clone());
        assert_eq!(&*index.entry(1).unwrap().lead, &fp.lead[..]);
        assert!(!fp.lead.is_empty());
    }

    #[test]
    fn eviction_drops_old_items_and_their_postings_and_keeps_the_rest() {
        let window = 3600;
        let mut index = CandidateIndex::new(window);
        let fp = |n: usize| Fingerprint::of(&format!("Quake {n} hits the coast hard today"), STORY);
        // Items 1-3 at time 0 (item 2 stored again later, at time 5000), items 4-5 well after.
        index.insert(1, 1, 0, fp(1));
        index.insert(2, 2, 0, fp(2));
        index.insert(3, 3, 100, fp(3));
        index.insert(2, 2, 5000, fp(2));
        index.insert(4, 4, 3 * window, fp(4));
        index.insert(5, 5, 3 * window + 10, fp(5));
        index.evict();
        // Two windows before the newest (3 * 3600 + 10) is 3610: 1 and 3 go, 2 (now at 5000),
        // 4 and 5 stay.
        let mut held: Vec<i64> = index.entries.keys().copied().collect();
        held.sort_unstable();
        assert_eq!(held, vec![2, 4, 5]);
        assert_postings_match_entries(&index);
        // The same text: the candidates are the items still held.
        let mut found: Vec<i64> = index.candidates(&fp(9)).iter().map(|e| e.item).collect();
        found.sort_unstable();
        assert_eq!(found, vec![2, 4, 5]);
        assert_eq!(index.by_content(fp(9).content_hash.unwrap()).count(), 3);
        // Everything old: the index empties, postings included.
        index.insert(
            6,
            6,
            100 * window,
            Fingerprint::of("Other", "other words entirely here"),
        );
        index.evict();
        assert_eq!(index.len(), 1);
        assert_postings_match_entries(&index);
    }

    /// A fingerprint keyed only by `anchors` (the rest of its slots 0): its simhash bands match
    /// nothing of another `n`, and it has no content hash or headline key.
    fn keyed_by(n: u64, anchors: &[u32]) -> Fingerprint {
        let mut fp = Fingerprint::of("", "");
        fp.simhash = (n + 1).wrapping_mul(0x0001_0001_0001_0001);
        fp.anchors = [0; ANCHORS];
        fp.anchors[..anchors.len()].copy_from_slice(anchors);
        fp.content_hash = None;
        fp.title_key = None;
        fp
    }

    fn found(index: &CandidateIndex, fp: &Fingerprint) -> Vec<i64> {
        let mut found: Vec<i64> = index.candidates(fp).iter().map(|e| e.item).collect();
        found.sort_unstable();
        found
    }

    #[test]
    fn an_item_only_on_common_anchors_lists_is_a_candidate_when_on_two() {
        const SAID: u32 = 7;
        const MONDAY: u32 = 9;
        const STORY_KEY: u32 = 11;
        let mut index = CandidateIndex::new(3600);
        // Items 1-40 share the common anchor SAID, items 41-80 MONDAY, and items 81-85 both
        // (each besides an anchor of its own). Item 86 has a rare anchor.
        for n in 1..=85u32 {
            let common: &[u32] = match n {
                1..=40 => &[SAID],
                41..=80 => &[MONDAY],
                _ => &[SAID, MONDAY],
            };
            let anchors = [common, &[1000 + n]].concat();
            index.insert(
                i64::from(n),
                i64::from(n),
                0,
                keyed_by(u64::from(n), &anchors),
            );
        }
        index.insert(86, 86, 0, keyed_by(86, &[STORY_KEY]));
        assert!(index.anchors[&SAID].len() > COMMON_ANCHOR);
        let query = |anchors: &[u32]| found(&index, &keyed_by(1000, anchors));
        // On both common lists: items 81-85; on one only: no item.
        assert_eq!(query(&[SAID, MONDAY, 5]), vec![81, 82, 83, 84, 85]);
        assert_eq!(query(&[SAID, 5]), Vec::<i64>::new());
        // An anchor that comes twice (the first sentence's and the lead's) counts once.
        assert_eq!(query(&[SAID, 5, SAID]), Vec::<i64>::new());
        // A short list is followed whatever else is on the item.
        assert_eq!(query(&[SAID, STORY_KEY]), vec![86]);
        assert_eq!(query(&[1001]), vec![1]);
    }

    #[test]
    fn a_story_with_more_copies_than_a_common_anchor_is_found_by_its_anchors() {
        let mut index = CandidateIndex::new(3600);
        let copies = 3 * COMMON_ANCHOR as i64;
        for n in 1..=copies {
            let title = format!("Quake {n} hits the coast hard today");
            index.insert(n, 1, 0, Fingerprint::of(&title, STORY));
        }
        // A trimmed copy, kept from the bands, the content hash and the headline key: found
        // through the anchors it shares with every copy, all on long lists.
        let trimmed = &STORY[..STORY.len() * 2 / 3];
        let mut fp = Fingerprint::of("Rescue teams search for survivors", trimmed);
        fp.simhash = !index.entry(1).unwrap().simhash;
        fp.content_hash = None;
        fp.title_key = None;
        let mut shared: Vec<u32> = index.entry(1).unwrap().anchors.to_vec();
        shared.retain(|a| *a != 0 && fp.anchors.contains(a));
        shared.sort_unstable();
        shared.dedup();
        assert!(shared.len() >= 2, "{shared:?}");
        assert_eq!(found(&index, &fp), (1..=copies).collect::<Vec<_>>());
    }
}
