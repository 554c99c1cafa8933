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
//! entries are evicted as the stream moves on (by the items' time, never the clock).

use super::fasthash::FastMap;

use super::fingerprint::Fingerprint;

const BANDS: usize = 4;
/// A posting list longer than this is a stop-key (boilerplate shared by many items): it says
/// nothing about one story and would make lookups linear, so it is not followed.
const MAX_POSTING: usize = 512;
/// Band candidates further than this from the new item's simhash are not verified: the anchors
/// find the heavier rewrites.
const BAND_MAX_DISTANCE: u32 = 12;

#[derive(Clone)]
pub struct Entry {
    pub item: i64,
    pub cluster: i64,
    pub ts: i64,
    pub simhash: u64,
    pub shingles: Box<[u32]>,
    pub lead: Box<[u32]>,
    pub numbers: Box<[(u32, u32)]>,
    pub title_key: Option<u64>,
}

#[derive(Clone)]
pub struct CandidateIndex {
    window_secs: i64,
    entries: FastMap<i64, Entry>,
    bands: [FastMap<u16, Vec<(u64, i64)>>; BANDS],
    anchors: FastMap<u32, Vec<i64>>,
    content: FastMap<u64, Vec<i64>>,
    titles: FastMap<u64, Vec<i64>>,
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
            Entry {
                item,
                cluster,
                ts,
                simhash: fp.simhash,
                shingles: fp.shingles.into_boxed_slice(),
                lead: fp.lead.into_boxed_slice(),
                numbers: fp.numbers.into_boxed_slice(),
                title_key: fp.title_key,
            },
        );
        self.newest_ts = self.newest_ts.max(ts);
    }

    /// Drops entries older than two windows before the newest item, and compacts the postings.
    pub fn evict(&mut self) {
        let horizon = self.newest_ts.saturating_sub(2 * self.window_secs);
        let before = self.entries.len();
        self.entries.retain(|_, e| e.ts >= horizon);
        if self.entries.len() == before {
            return;
        }
        let entries = &self.entries;
        let keep = |list: &mut Vec<i64>| {
            list.retain(|i| entries.contains_key(i));
            !list.is_empty()
        };
        for b in &mut self.bands {
            b.retain(|_, l| {
                l.retain(|(_, i)| entries.contains_key(i));
                !l.is_empty()
            });
        }
        self.anchors.retain(|_, l| keep(l));
        self.content.retain(|_, l| keep(l));
        self.titles.retain(|_, l| keep(l));
    }

    pub fn entry(&self, item: i64) -> Option<&Entry> {
        self.entries.get(&item)
    }

    pub fn by_content(&self, hash: u64) -> impl Iterator<Item = &Entry> {
        self.content
            .get(&hash)
            .into_iter()
            .flatten()
            .filter_map(|i| self.entries.get(i))
    }

    /// Items that share a simhash band, an anchor or the headline key with `fp`, each once.
    pub fn candidates(&self, fp: &Fingerprint) -> Vec<&Entry> {
        let mut ids: Vec<i64> = Vec::new();
        for b in 0..BANDS {
            if let Some(list) = self.bands[b].get(&band(fp.simhash, b)) {
                let near = list
                    .iter()
                    .filter(|(sim, _)| (sim ^ fp.simhash).count_ones() <= BAND_MAX_DISTANCE);
                ids.extend(near.map(|&(_, i)| i));
            }
        }
        for a in fp.anchors.iter().filter(|&&a| a != 0) {
            if let Some(list) = self.anchors.get(a)
                && list.len() <= MAX_POSTING
            {
                ids.extend_from_slice(list);
            }
        }
        if let Some(list) = fp.title_key.and_then(|h| self.titles.get(&h))
            && list.len() <= MAX_POSTING
        {
            ids.extend_from_slice(list);
        }
        ids.sort_unstable();
        ids.dedup();
        ids.iter().filter_map(|i| self.entries.get(i)).collect()
    }
}
