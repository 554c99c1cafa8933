//! The deduplicator (pure): decides which cluster a new item joins, and why.
//!
//! Layers, cheapest first (identity and canonical URL are settled by the store before an item
//! reaches this module, since they make it the *same item*, not a copy):
//! 1. `content`: the same body, word for word, within the window;
//! 2. `near-duplicate`: candidates from the simhash band index and the anchor index, each verified
//!    by shingle containment (shared shingles over the smaller set) of at least
//!    [`Thresholds::containment`];
//! 3. `lead`: the first shingles of one text (its lead) found in the other, so that an excerpt
//!    followed by boilerplate still matches its article;
//! 4. `title`: the same long headline (wire markers and outlet names aside) within the window,
//!    where the texts do not contradict it;
//! 5. `related` (see [`Thresholds::related_coverage`]): coverage of the same event in other
//!    words ([`related`]): headline-and-lead similarity to a cluster, with a shared distinctive
//!    name, at a strict threshold.
//!
//! Every rule after `content` also asks that the numbers agree (templated stories: weather,
//! results, market wraps differ only in them). An item joins the best verified candidate's
//! cluster or starts its own; clusters never merge here, so a weak link cannot chain two stories
//! together. Time is the items' own publication time
//! (`ts`), never the clock.

mod fasthash;
pub mod fingerprint;
mod index;
pub mod related;

pub use fingerprint::{
    FINGERPRINT_VERSION, Fingerprint, ShingleBits, containment, hamming, lead_containment,
    lead_containment_reaching, numbers_conflict,
};
pub use index::CandidateIndex;

use fasthash::{FastMap, FastSet};

/// The indexes drop what fell out of the window once per this many inserts.
pub const EVICT_EVERY: usize = 4096;

/// Why an item is in its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// It started the cluster.
    First,
    /// Identical body text.
    Content,
    /// Shingle containment over the threshold.
    NearDuplicate,
    /// One text's lead is contained in the other (an excerpt, with or without boilerplate).
    Lead,
    /// Same long title, bodies compatible.
    Title,
    /// Coverage of the same event in other words: headline-and-lead similarity to the cluster,
    /// with a shared distinctive name.
    Related,
    /// It started a story that was later folded into this one, when a new item reported both
    /// (see [`MergedStory`]); its score and matched member are that item's.
    Merged,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::First => "first",
            Rule::Content => "content",
            Rule::NearDuplicate => "near-duplicate",
            Rule::Lead => "lead",
            Rule::Title => "title",
            Rule::Related => "related",
            Rule::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Some(match s {
            "first" => Rule::First,
            "content" => Rule::Content,
            "near-duplicate" => Rule::NearDuplicate,
            "lead" => Rule::Lead,
            "title" => Rule::Title,
            "related" => Rule::Related,
            "merged" => Rule::Merged,
            _ => return None,
        })
    }
}

/// Whether an item that joined its cluster by `rule` with `score` is a report of its own: the
/// first of its cluster, or related coverage in other words. Copies (identical content,
/// near-duplicates, excerpts, equal titles) repeat a report, and so does related coverage that
/// scored like a copy. A cluster that two independent reports back accepts related coverage at
/// [`Thresholds::related_supported`].
pub fn independent_report(rule: Rule, score: Option<f64>) -> bool {
    match rule {
        Rule::First | Rule::Merged => true,
        Rule::Related => score.is_some_and(|s| s < COPY_LIKE_SIMILARITY),
        Rule::Content | Rule::NearDuplicate | Rule::Lead | Rule::Title => false,
    }
}

/// Whether a stored item, placed by the rule named `rule` with `score`, is a report of its own
/// ([`independent_report`]). A rule this version does not know counts as a copy (the stricter
/// choice).
pub fn stored_independent_report(rule: &str, score: Option<f64>) -> bool {
    Rule::parse(rule).is_some_and(|rule| independent_report(rule, score))
}

/// Related coverage this similar to a cluster reads like a copy of it, not like another report.
const COPY_LIKE_SIMILARITY: f64 = 0.8;

/// Up to this many stories changed in a batch, [`Deduplicator::review_batch`] looks at each
/// changed one by what it posted (a few dozen terms each), besides the backed stories' lists;
/// past it, it reads every list of the query instead, as a decision does. A round stored as
/// one batch holds up to a thousand items: looking at every changed story for each story the
/// batch started took the review from 9k to 115k instructions per item (`benches/dedup` with
/// batches of 1000 items instead of 25, callgrind); reading every list, 8.6k.
const FEW_CHANGES: usize = 32;

/// The decision for one item, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The cluster to join; `None` starts a new one.
    pub cluster: Option<i64>,
    pub rule: Rule,
    /// Containment (or 1.0 for identical content); `None` for `first`.
    pub score: Option<f64>,
    /// Simhash Hamming distance to the matched member.
    pub distance: Option<u32>,
    /// The member it matched.
    pub matched: Option<i64>,
    /// Another story the item reports too: it is folded into `cluster`.
    pub merged: Option<MergedStory>,
}

/// A story of the batch that [`Deduplicator::review_batch`] finds is part of another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refold {
    /// The story folded (started in the batch).
    pub story: i64,
    /// The story that holds its members now (the older of the two).
    pub into: i64,
    /// How similar the first item of one is to the other.
    pub score: f64,
    /// The member it matched: the rule `merged` on `story`'s first item names it.
    pub via: i64,
}

/// The first item of a story started in the current batch.
#[derive(Clone)]
struct BatchStart {
    story: i64,
    item: i64,
    /// `Deduplicator::inserted` after it.
    inserted: u64,
    ts: i64,
    event: Vec<related::EventTerm>,
    numbers: Vec<(u32, u32)>,
    headline_only: bool,
}

/// A story that an item's related coverage ties to the story it joins: the item agrees with
/// both at [`Thresholds::related_bridge`] or more. The older story keeps its id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MergedStory {
    /// The cluster folded into the decision's cluster.
    pub cluster: i64,
    /// The item's similarity to it.
    pub score: f64,
    /// Its representative (the member that started it).
    pub representative: i64,
}

impl Decision {
    /// Whether the item is a report of its own, not a copy of a member: it started the cluster
    /// or joined it as related coverage (see [`independent_report`]).
    pub fn is_independent_report(&self) -> bool {
        independent_report(self.rule, self.score)
    }

    pub fn new_cluster() -> Decision {
        Decision {
            cluster: None,
            rule: Rule::First,
            score: None,
            distance: None,
            matched: None,
            merged: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Dedup window in seconds: candidates further apart in publication time are ignored.
    pub window_secs: i64,
    /// Least containment for a near-duplicate.
    pub containment: f64,
    /// Least number of shared shingles for containment to count: a short excerpt followed by
    /// boilerplate must not match another story through the boilerplate alone.
    pub min_shared: usize,
    /// Least share of one text's lead found in the other.
    pub lead_containment: f64,
    /// Least number of lead shingles for the lead rule to count.
    pub min_lead: usize,
    /// Two equal titles are one story unless both texts have at least `title_contradicts`
    /// shingles and their containment is under `title_containment`.
    pub title_contradicts: usize,
    pub title_containment: f64,
    /// Whether the `related` rule runs at all.
    pub related_coverage: bool,
    /// Least cosine similarity between an item's headline-and-lead terms and a cluster's for
    /// related coverage.
    pub related: f64,
    /// The same for an item with a headline and next to no text: less evidence, a stricter bar.
    pub related_headline_only: f64,
    /// Least similarity for related coverage to join a cluster that two independent reports
    /// back (see [`independent_report`]): its profile is the agreement of two reports, not one
    /// article's vocabulary.
    pub related_supported: f64,
    /// Least similarity of a report to each of two stories for it to tie them: it joins the
    /// closer one though under its bar, and with `merge_stories` folds the other into it (see
    /// [`MergedStory`]).
    pub related_bridge: f64,
    /// Whether a report of two stories folds one into the other when both are stored already.
    /// Off by default: a stored story's id is out (DESIGN §4: stories do not merge by
    /// themselves, only `recluster` moves items). A story started in the current batch is
    /// folded either way (see [`Deduplicator::begin_batch`]).
    pub merge_stories: bool,
    /// Least IDF of the shared name that related coverage asks for.
    pub min_name_idf: f32,
}

impl Thresholds {
    pub fn with_window(window_secs: i64) -> Thresholds {
        Thresholds {
            window_secs,
            // Containment 0.6 with at least 20 shared 3-word shingles (a 22-word verbatim
            // overlap) and agreeing numbers: on synd-dev and five generated syndication sets
            // (trimmed bodies, boilerplate, excerpts, templated stories) pairwise precision and
            // recall are both 1.0. The notes' 0.85 missed trimmed copies with added boilerplate;
            // below 20 shared shingles a short excerpt matched another story through the
            // boilerplate alone.
            containment: 0.6,
            min_shared: 20,
            // A one-sentence excerpt behind a dateline and before boilerplate keeps 17 of its
            // 24 lead shingles in the article (0.71); two different stories share far fewer.
            lead_containment: 0.7,
            min_lead: 12,
            title_contradicts: 40,
            title_containment: 0.3,
            // Related coverage is on, at thresholds chosen for precision. Measured with
            // `examples/quality` (`--feeds DIR` for the syndication sets, `--ecbplus`, `--sts`)
            // and `feedfold recluster --dry-run` on the stored sets: at 0.65 every syndication
            // set (synd-dev and five generated ones) keeps pairwise precision 1.0 and ECB+ dev
            // gains some recall at B-cubed precision 1.0 (F1 0.19 without the rule, 0.25 with
            // it). The hardest negative, the Chargers' two DUI arrests (same team, same charge,
            // within a day), scores 0.608 when the items come in time order, so 0.6 leaves no
            // margin. Lower thresholds raise ECB+ recall (F1 0.75 at 0.3) but join two events
            // of one kind (pairwise precision 0.83 to 0.97 on the syndication sets): they
            // share their principal names, and no names, years or key-name-overlap guard we
            // tried separates them. A wrong merge hides news; a missed one shows it twice.
            // Headline-only items carry less evidence: at 0.8 the STS headline pairs give
            // precision 0.97 (recall 0.33); at 0.6, 0.86.
            related_coverage: true,
            related: 0.65,
            related_headline_only: 0.8,
            // A cluster two independent reports back (the second joined at 0.65 or more)
            // holds what they agree on: the event's names and words rather than one writer's.
            // Reports of the same event join it at a lower bar. Two events of one kind never
            // reach it on the syndication sets, whose stories are one report each with its
            // copies: they meet only a one-report cluster and its 0.65. On ECB+ dev B-cubed F1
            // goes 0.26 -> 0.42 (P 0.95, R 0.27; at 0.40 F1 0.43, P 0.95; at 0.50 F1 0.37,
            // P 0.97); synd-dev, five generated syndication sets and the STS pairs do not move.
            related_supported: 0.45,
            // Reports of one event that come before any two of them meet the bar above start
            // stories of their own. A later report that two of them echo (0.3 or more with
            // each; never two stories that each have two reports or more) joins the closer one,
            // though under its bar: ECB+ dev B-cubed F1 0.42 -> 0.64 (mean of file order and
            // four shuffles, `--shuffle N`; P 0.93, R 0.49). Where the newer story is the
            // batch's (or with `merge_stories`, always) it also folds that story in: 0.82 with
            // the file as one batch (P 0.88, R 0.77; 0.79-0.84 through `run --once` with
            // `merge_stories`); at 0.35: 0.80 (P 0.90), at 0.4: 0.77 (P 0.91); letting two
            // established stories merge too cost precision (P 0.85 at 0.35). The wrong merges
            // are ECB+'s same-kind pairs with the same principal names (Matt Smith cast as the
            // Doctor, and Capaldi replacing him), which a real stream rarely sees inside one
            // window. The syndication sets and the STS pairs do not move (their stories are
            // one report each, and a copy ties nothing).
            related_bridge: 0.3,
            merge_stories: false,
            min_name_idf: 1.5,
        }
    }
}

impl Thresholds {
    /// The near-duplicate rule: with `shared` shingles in common and `smaller` in the smaller
    /// set, the containment when it makes the two texts near-duplicates.
    fn near_duplicate(&self, shared: usize, smaller: usize) -> Option<f64> {
        let score = fingerprint::containment_of(shared, smaller);
        (score >= self.containment && shared >= self.min_shared).then_some(score)
    }

    /// Whether the item `fp` and the entry `e` can be near-duplicates (which takes
    /// `near_needed` shared shingles, [`Thresholds::shingles_for_near_duplicate`] of the
    /// smaller set) or match by the lead rule, as far as `e`'s shingle
    /// signature and `fp`'s (`fp_bits`) tell: `false` only when neither rule can hold, so that
    /// the answer is the verification's whenever it is `false`. The shingles of `fp` whose bit
    /// `e`'s signature sets are at least as many as the two share; the same holds for `fp`'s
    /// lead in `e`, and for `e`'s lead in `fp`.
    ///
    /// On generated news-like text the candidate index gives 4.5 candidates an item for 0.2
    /// copies: the verification of the rest read their shingles, lead and numbers.
    fn may_fold(
        &self,
        fp: &Fingerprint,
        fp_bits: &ShingleBits,
        e: &index::Entry,
        near_needed: usize,
    ) -> bool {
        // The signatures' common bits first: for most candidates even that bound falls short.
        if e.shingle_bits.count_in_at_most(fp_bits, &fp.shingles) >= near_needed
            && e.shingle_bits.count_in(&fp.shingles) >= near_needed
        {
            return true;
        }
        if fp.lead.len().min(e.lead.len()) < self.min_lead {
            return false;
        }
        if fp.lead.is_empty() || e.lead.is_empty() {
            // (Only with `min_lead` at 0: an empty lead's share is decided by the bar alone.)
            return true;
        }
        let reaches = |found_at_most: usize, lead: usize| {
            fingerprint::shingles_for_share(lead, self.lead_containment)
                .is_some_and(|needed| found_at_most >= needed)
        };
        reaches(e.shingle_bits.count_in(&fp.lead), fp.lead.len())
            || reaches(fp_bits.count_in(&e.lead), e.lead.len())
    }

    /// The fewest shared shingles that make two texts near-duplicates when the smaller has
    /// `smaller` shingles: the least count for which the rule in `Deduplicator::place` holds
    /// (`smaller + 1` when none does). The share's part of the rule is found by the same
    /// division the rule makes ([`fingerprint::shingles_for_share`]), so that the two cannot
    /// disagree on a rounding.
    fn shingles_for_near_duplicate(&self, smaller: usize) -> usize {
        let share_needed = if smaller == 0 {
            // (An empty set's share is 0, not 0/0.)
            (fingerprint::containment_of(0, 0) >= self.containment).then_some(0)
        } else {
            fingerprint::shingles_for_share(smaller, self.containment)
        };
        match share_needed.map(|n| n.max(self.min_shared)) {
            Some(n) if n <= smaller => n,
            _ => smaller + 1,
        }
    }

    /// The fingerprint these thresholds need: with the event terms when related coverage is on.
    pub fn fingerprint(&self, title: &str, text: &str) -> Fingerprint {
        if self.related_coverage {
            Fingerprint::with_event_terms(title, text)
        } else {
            Fingerprint::of(title, text)
        }
    }
}

/// The deduplicator's state: the candidate index over recent items and the thresholds.
#[derive(Clone)]
pub struct Deduplicator {
    pub thresholds: Thresholds,
    index: CandidateIndex,
    related: related::RelatedIndex,
    /// Stories folded into another ([`Deduplicator::fold_story`]): folded id -> (the id that
    /// holds it now, the newest item time when it was folded). The candidate index's entries
    /// keep the id they were inserted with; decisions read it through this map. An entry goes
    /// once every item that could carry the old id has left the index.
    folded: FastMap<i64, (i64, i64)>,
    /// Stories started since [`Deduplicator::begin_batch`] ([`Deduplicator::start_story`]).
    provisional: FastSet<i64>,
    /// The first item of each story of the batch, for [`Deduplicator::review_batch`].
    batch_starts: Vec<BatchStart>,
    /// Items inserted so far: the order of events within a batch.
    inserted: u64,
    /// The stories that gained members (or a folded story) in the batch, with when they last
    /// did (`inserted` then).
    batch_changes: FastMap<i64, u64>,
    newest_ts: i64,
    inserts_since_evict: usize,
}

impl Deduplicator {
    pub fn new(thresholds: Thresholds) -> Deduplicator {
        Deduplicator {
            thresholds,
            index: CandidateIndex::new(thresholds.window_secs),
            related: related::RelatedIndex::new(thresholds.window_secs),
            folded: FastMap::default(),
            provisional: FastSet::default(),
            batch_starts: Vec::new(),
            inserted: 0,
            batch_changes: FastMap::default(),
            newest_ts: i64::MIN,
            inserts_since_evict: 0,
        }
    }

    /// Starts a batch: the items of one transaction. A story that a later item of the batch
    /// ties to an older one is folded into it, whatever `merge_stories` says: until the
    /// transaction commits, nobody has seen its id, so no id that was ever given out changes.
    /// This judges the items of the fetches stored together as a reader of them all would.
    pub fn begin_batch(&mut self) {
        self.provisional.clear();
        self.batch_starts.clear();
        self.batch_changes.clear();
    }

    /// Records that story `cluster` begins in the current batch, before its first item is
    /// inserted (see [`Deduplicator::begin_batch`]).
    pub fn start_story(&mut self, cluster: i64) {
        self.provisional.insert(cluster);
    }

    /// Looks again, at the end of a batch, at each story the batch started that one report
    /// still stands for: its first item was decided before the batch's later items were in,
    /// and may now reach the join bar of a story that they started or changed since. Such a
    /// pair is folded, the newer story into the older, when the newer one is the batch's; the
    /// caller applies each [`Refold`] to the store. A story backed by two reports or more is
    /// joined at [`Thresholds::related_bridge`] (the first item agrees with two reports, as a
    /// bridge does), and looked at even if it did not change: the decision held it to the
    /// higher `related_supported`. Other stories that did not change are not looked at again:
    /// the decision saw them as they are.
    ///
    /// Measured on ECB+ dev (mean of file order and four shuffles, `examples/quality --batch
    /// N`): with the whole file as one batch, B-cubed F1 0.82 without the review, 0.83 with it
    /// at the decision's bars, 0.84 at these (P 0.88 -> 0.87; the same gain on each half of the
    /// topics); in batches of 124, 0.76 -> 0.79; one item a batch, 0.64 -> 0.67 (P 0.926 ->
    /// 0.922). Lowering `related_supported` to 0.3 for every decision instead costs more
    /// precision (one batch: 0.83, P 0.86; one item a batch: 0.68, P 0.905). Looking at every
    /// story again, changed or not, halved the throughput of `benches/dedup`; this look costs
    /// about a tenth. The syndication sets and the STS pairs do not move.
    pub fn review_batch(&mut self) -> Vec<Refold> {
        let starts = std::mem::take(&mut self.batch_starts);
        let t = self.thresholds;
        let mut refolds = Vec::new();
        let mut changed = Vec::new();
        for start in starts {
            if self.current(start.story) != start.story || self.related.reports(start.story) != 1 {
                continue;
            }
            // A story that two reports or more back holds what they agree on; a report that
            // echoes it at the bridge bar agrees with two reports, as a bridge does.
            let (join, supported) = if start.headline_only {
                (t.related_headline_only, t.related_headline_only)
            } else {
                (t.related, t.related_bridge)
            };
            let bars = related::Bars {
                join,
                supported,
                bridge: f64::INFINITY,
                min_name_idf: t.min_name_idf,
            };
            // The stories worth a look: those two reports back, and those the batch changed
            // after this one's first item was decided.
            let accept = |representative: i64, _score: f64| {
                representative != start.item && self.numbers_agree(&start.numbers, representative)
            };
            let found = if self.batch_changes.len() <= FEW_CHANGES {
                changed.clear();
                changed.extend(
                    self.batch_changes
                        .iter()
                        .filter(|&(_, &at)| at > start.inserted)
                        .map(|(&cluster, _)| cluster),
                );
                self.related.best_among_backed_or(
                    &start.event,
                    start.ts,
                    &bars,
                    &changed,
                    start.story,
                    accept,
                )
            } else {
                // The same stories, found through every list of the query, as a decision
                // finds them: the same candidates with the same counts (the related index's
                // test `eviction_and_merging_keep_postings_and_time_records_exact` checks that
                // both looks agree).
                let changed_after = |cluster: i64| {
                    self.batch_changes
                        .get(&cluster)
                        .is_some_and(|&at| at > start.inserted)
                };
                let consider = |cluster: i64, reports: u32| {
                    cluster != start.story && (reports >= 2 || changed_after(cluster))
                };
                self.related
                    .best_among(&start.event, start.ts, &bars, consider, accept)
            };
            let Some(found) = found else {
                continue;
            };
            let other = found.joined;
            let refold = if other.representative < start.item {
                Refold {
                    story: start.story,
                    into: other.cluster,
                    score: other.score,
                    via: other.representative,
                }
            } else {
                Refold {
                    story: other.cluster,
                    into: start.story,
                    score: other.score,
                    via: start.item,
                }
            };
            if self.provisional.contains(&refold.story) {
                self.fold_story(refold.story, refold.into);
                refolds.push(refold);
            }
        }
        refolds
    }

    /// Whether `numbers` agree with the numbers in the same places of `representative` (an
    /// item no longer in the index agrees).
    fn numbers_agree(&self, numbers: &[(u32, u32)], representative: i64) -> bool {
        self.index
            .entry(representative)
            .is_none_or(|e| !numbers_conflict(numbers, &e.numbers))
    }

    /// The id that holds the story `cluster` now.
    fn current(&self, cluster: i64) -> i64 {
        self.folded.get(&cluster).map_or(cluster, |&(into, _)| into)
    }

    /// Which cluster an item with fingerprint `fp`, published at `ts`, joins. A decision that
    /// folds another story into it ([`Decision::merged`]) is the caller's to apply: move the
    /// story's members, then tell [`Deduplicator::fold_story`].
    pub fn decide(&self, fp: &Fingerprint, ts: i64) -> Decision {
        let mut decision = self.place(fp, ts);
        decision.cluster = decision.cluster.map(|c| self.current(c));
        decision
    }

    fn place(&self, fp: &Fingerprint, ts: i64) -> Decision {
        let t = &self.thresholds;
        let in_window = |other: i64| (other - ts).abs() <= t.window_secs;
        if let Some(hash) = fp.content_hash
            && let Some(e) = self.index.by_content(hash).find(|e| in_window(e.ts))
        {
            return Decision {
                cluster: Some(e.cluster),
                rule: Rule::Content,
                score: Some(1.0),
                distance: Some(hamming(fp.simhash, e.simhash)),
                matched: Some(e.item),
                merged: None,
            };
        }
        // (rule, score, distance, item, cluster) of the best verified candidate.
        let mut best: Option<(Rule, f64, u32, i64, i64)> = None;
        let mut title_match: Option<(f64, u32, i64, i64)> = None;
        let fp_bits = ShingleBits::of(&fp.shingles);
        for e in self.index.candidates(fp) {
            if !in_window(e.ts) {
                continue;
            }
            let smaller = fp.shingles.len().min(e.shingles.len());
            let headline_may_match =
                fp.title_key.is_some() && fp.title_key == e.title_key && title_match.is_none();
            let near_needed = t.shingles_for_near_duplicate(smaller);
            // Most candidates share an anchor by chance: the entry's signature rules them out
            // before its shingles, lead and numbers are read.
            if !headline_may_match && !t.may_fold(fp, &fp_bits, e, near_needed) {
                continue;
            }
            if numbers_conflict(&fp.numbers, &e.numbers) {
                continue;
            }
            let distance = hamming(fp.simhash, e.simhash);
            // The exact share matters when it makes a near-duplicate, or for a headline match;
            // otherwise the walk stops once the near-duplicate bar is out of reach, and the
            // share counts as none.
            let needed = if headline_may_match { 0 } else { near_needed };
            let shared =
                fingerprint::intersection_reaching(&fp.shingles, &e.shingles, needed).unwrap_or(0);
            // The lead's share is looked at only when the item is not a near-duplicate, and
            // each side's only as far as it can still reach the bar (a side that falls short
            // is below the other whenever the other reaches it, so the larger share is kept).
            let lead_score = || {
                if fp.lead.len().min(e.lead.len()) < t.min_lead {
                    return None;
                }
                let ours = lead_containment_reaching(&fp.lead, &e.shingles, t.lead_containment);
                let theirs = lead_containment_reaching(&e.lead, &fp.shingles, t.lead_containment);
                match (ours, theirs) {
                    (Some(ours), Some(theirs)) => Some(ours.max(theirs)),
                    (ours, theirs) => ours.or(theirs),
                }
            };
            let verdict = if let Some(score) = t.near_duplicate(shared, smaller) {
                Some((Rule::NearDuplicate, score))
            } else {
                lead_score().map(|score| (Rule::Lead, score))
            };
            if let Some((rule, score)) = verdict {
                let key =
                    |s: f64, d: u32, item: i64| (s, std::cmp::Reverse(d), std::cmp::Reverse(item));
                if best
                    .is_none_or(|(_, s, d, item, _)| key(score, distance, e.item) > key(s, d, item))
                {
                    best = Some((rule, score, distance, e.item, e.cluster));
                }
            } else if headline_may_match {
                let score = fingerprint::containment_of(shared, smaller);
                if score >= t.title_containment || smaller < t.title_contradicts {
                    title_match = Some((score, distance, e.item, e.cluster));
                }
            }
        }
        if let Some((rule, score, distance, item, cluster)) = best {
            return Decision {
                cluster: Some(cluster),
                rule,
                score: Some(score),
                distance: Some(distance),
                matched: Some(item),
                merged: None,
            };
        }
        if let Some((score, distance, item, cluster)) = title_match {
            return Decision {
                cluster: Some(cluster),
                rule: Rule::Title,
                score: Some(score),
                distance: Some(distance),
                matched: Some(item),
                merged: None,
            };
        }
        // A headline with next to no text is less evidence: one bar for everything, and at it
        // the item reads like a copy, which never ties two stories.
        let (related, supported, bridge) = if fp.content_hash.is_some() {
            (t.related, t.related_supported, t.related_bridge)
        } else {
            let bar = t.related_headline_only;
            (bar, bar, bar)
        };
        // Templated stories (results, weather, markets) read alike and differ in their numbers:
        // numbers in the same places must agree with the cluster's representative. This costs
        // recall on real coverage that rounds or updates a figure; precision comes first.
        let numbers_agree =
            |representative: i64, _score: f64| self.numbers_agree(&fp.numbers, representative);
        if !t.related_coverage {
            return Decision::new_cluster();
        }
        let bars = related::Bars {
            join: related,
            supported,
            bridge,
            min_name_idf: t.min_name_idf,
        };
        let Some(found) = self.related.best(&fp.event, ts, &bars, numbers_agree) else {
            return Decision::new_cluster();
        };
        // Only a report of its own ties two stories: a copy of one story that happens to be
        // close to another says nothing new about either.
        let bridged = found
            .bridged
            .filter(|_| independent_report(Rule::Related, Some(found.joined.score)));
        // The older story (the smaller id of the member that started it) keeps its id; the
        // newer one is folded into it if its id is not out yet, or `merge_stories` allows it.
        let (kept, folded) = match bridged {
            None => (found.joined, None),
            Some(bridged) => {
                let (older, newer) = if bridged.representative < found.joined.representative {
                    (bridged, found.joined)
                } else {
                    (found.joined, bridged)
                };
                if t.merge_stories || self.provisional.contains(&newer.cluster) {
                    (older, Some(newer))
                } else {
                    (found.joined, None)
                }
            }
        };
        Decision {
            cluster: Some(kept.cluster),
            rule: Rule::Related,
            score: Some(kept.score),
            distance: None,
            matched: Some(kept.representative),
            merged: folded.map(|f| MergedStory {
                cluster: f.cluster,
                score: f.score,
                representative: f.representative,
            }),
        }
    }

    /// Records an item so that later items can find it. Nothing is taken back: when the
    /// transaction that stored the item rolls back, the caller discards the deduplicator and
    /// rebuilds it from the store (the related index keeps sums, which cannot be undone without
    /// keeping every item's terms).
    ///
    /// `independent` tells whether the item is a report of its own or a copy
    /// ([`Decision::is_independent_report`]).
    pub fn insert(
        &mut self,
        item: i64,
        cluster: i64,
        ts: i64,
        mut fp: Fingerprint,
        independent: bool,
    ) {
        if self.thresholds.related_coverage {
            self.related
                .insert(item, cluster, ts, &fp.event, independent);
        }
        // The event terms live on in the cluster's profile; the entry does not need them,
        // only a story's first item of the batch keeps them for `review_batch`.
        let event = std::mem::take(&mut fp.event);
        self.inserted += 1;
        // A story of the batch that the batch has not changed yet: this is its first item.
        let starts_story =
            self.provisional.contains(&cluster) && !self.batch_changes.contains_key(&cluster);
        if !self.provisional.is_empty() {
            self.batch_changes.insert(cluster, self.inserted);
        }
        if starts_story && self.thresholds.related_coverage {
            self.batch_starts.push(BatchStart {
                story: cluster,
                item,
                inserted: self.inserted,
                ts,
                event,
                numbers: fp.numbers.clone(),
                headline_only: fp.content_hash.is_none(),
            });
        }
        self.index.insert(item, cluster, ts, fp);
        self.newest_ts = self.newest_ts.max(ts);
        self.inserts_since_evict += 1;
        if self.inserts_since_evict >= EVICT_EVERY {
            self.inserts_since_evict = 0;
            self.index.evict();
            self.related.evict();
            // The candidate index drops items older than two windows before the newest: by
            // then none of a folded story's members is left in it.
            let horizon = self
                .newest_ts
                .saturating_sub(2 * self.thresholds.window_secs);
            self.folded.retain(|_, &mut (_, newest)| newest >= horizon);
        }
    }

    /// Records that story `story` is now part of story `into` (a decision's
    /// [`Decision::merged`], applied by the caller).
    pub fn fold_story(&mut self, story: i64, into: i64) {
        if story == into {
            return;
        }
        self.related.merge(story, into);
        if !self.provisional.is_empty() {
            self.batch_changes.insert(into, self.inserted);
        }
        // Stories folded into `story` before follow it.
        for (held_by, _) in self.folded.values_mut() {
            if *held_by == story {
                *held_by = into;
            }
        }
        self.folded.insert(story, (into, self.newest_ts));
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "Tensions escalated sharply this week after 26 NATO countries pledged to send forces to Ukraine in support of Kyiv's struggle against Russia's invasion, prompting Russian President Vladimir Putin to threaten that any foreign troops would become legitimate targets. The announcement followed a summit in Europe where French President Emmanuel Macron confirmed that dozens of nations had agreed to provide post-war security guarantees to Ukraine.";

    fn dedup() -> Deduplicator {
        Deduplicator::new(Thresholds::with_window(72 * 3600))
    }

    /// The first `count` of four unrelated stories, as items 100.. at time 900: related coverage
    /// weighs terms by the stream it has seen.
    fn insert_other_news(d: &mut Deduplicator, count: usize) {
        let others = [
            (
                "Central bank holds rates",
                "The central bank kept interest rates unchanged on Thursday, citing slowing inflation.",
            ),
            (
                "Storm hits Florida coast",
                "Hurricane Milton made landfall near Tampa with winds of 120 miles per hour.",
            ),
            (
                "Apple unveils new iPhone",
                "Apple showed a thinner iPhone at its September event in Cupertino, California.",
            ),
            (
                "Earthquake shakes Chile",
                "A strong earthquake struck northern Chile near Antofagasta; no tsunami was expected.",
            ),
        ];
        for (n, (title, text)) in others.iter().take(count).enumerate() {
            d.insert(
                100 + n as i64,
                100 + n as i64,
                900,
                Fingerprint::with_event_terms(title, text),
                true,
            );
        }
    }

    /// The signature test rules a candidate out only when neither the near-duplicate rule nor
    /// the lead rule holds, on pairs from unrelated texts to copies with words changed and
    /// excerpts either way round (each side's lead in the other); and it does rule out most
    /// unrelated texts.
    #[test]
    fn the_signature_rules_a_candidate_out_only_when_no_rule_holds() {
        let t = Thresholds::with_window(3600);
        let mut next = crate::test_support::xorshift(0x1234_5678_9abc_def1);
        let mut words =
            |n: usize| -> Vec<String> { (0..n).map(|_| format!("w{}", next() % 500)).collect() };
        let mut index = CandidateIndex::new(3600);
        let (mut unrelated, mut unrelated_ruled_out, mut rules_held) = (0, 0, 0);
        for round in 0..400i64 {
            let a = words(20 + (round as usize * 7) % 300);
            let other = words(10 + (round as usize * 13) % 200);
            let cut = a.len() / 3;
            let b: Vec<String> = match round % 4 {
                0 => other,
                // The entry is an excerpt from the middle of the item, with words of its own
                // after it: only the entry's lead is in the other.
                1 => a[cut..2 * cut].iter().chain(&other).cloned().collect(),
                // The item is an excerpt from the middle of the entry: only its lead is in
                // the other.
                2 => a.iter().chain(&other).cloned().collect(),
                // A copy with every seventh word changed.
                _ => a
                    .iter()
                    .zip(&other)
                    .enumerate()
                    .map(|(n, (w, o))| if n % 7 == 3 { o.clone() } else { w.clone() })
                    .collect(),
            };
            let item_text = if round % 4 == 2 {
                a[cut..2 * cut].join(" ")
            } else {
                a.join(" ")
            };
            let fp = Fingerprint::of("", &item_text);
            index.insert(round, round, 0, Fingerprint::of("", &b.join(" ")));
            let e = index.entry(round).expect("just inserted");
            let smaller = fp.shingles.len().min(e.shingles.len());
            let shared = fingerprint::intersection_size(&fp.shingles, &e.shingles);
            let near = t.near_duplicate(shared, smaller).is_some();
            let lead = fp.lead.len().min(e.lead.len()) >= t.min_lead
                && (lead_containment(&fp.lead, &e.shingles) >= t.lead_containment
                    || lead_containment(&e.lead, &fp.shingles) >= t.lead_containment);
            let near_needed = t.shingles_for_near_duplicate(smaller);
            let may = t.may_fold(&fp, &ShingleBits::of(&fp.shingles), e, near_needed);
            assert!(
                may || !(near || lead),
                "round {round}: ruled out, but a rule holds"
            );
            rules_held += usize::from(near || lead);
            if round % 4 == 0 {
                unrelated += 1;
                unrelated_ruled_out += usize::from(!may);
            }
        }
        assert!(rules_held > 150, "{rules_held}");
        assert!(
            unrelated_ruled_out * 10 > unrelated * 9,
            "{unrelated_ruled_out} of {unrelated}"
        );
    }

    #[test]
    fn the_shingles_a_near_duplicate_needs_are_the_least_count_that_passes_the_rule() {
        let mut variants = vec![Thresholds::with_window(3600)];
        for (containment, min_shared) in [
            (0.85, 0),
            (0.0, 0),
            (0.6, 500),
            (1.0, 1),
            (1.5, 0),
            (-0.5, 3),
            (0.333, 7),
        ] {
            let mut t = Thresholds::with_window(3600);
            (t.containment, t.min_shared) = (containment, min_shared);
            variants.push(t);
        }
        for t in variants {
            for smaller in 0..400usize {
                // The rule as `place` applies it, count by count.
                let passes = |shared: usize| {
                    let score = if smaller == 0 {
                        0.0
                    } else {
                        shared as f64 / smaller as f64
                    };
                    score >= t.containment && shared >= t.min_shared
                };
                let least = (0..=smaller).find(|&s| passes(s)).unwrap_or(smaller + 1);
                assert_eq!(
                    t.shingles_for_near_duplicate(smaller),
                    least,
                    "containment {} min_shared {} smaller {smaller}",
                    t.containment,
                    t.min_shared
                );
            }
        }
    }

    #[test]
    fn copies_and_copy_like_coverage_are_not_reports_of_their_own() {
        assert!(independent_report(Rule::First, None));
        assert!(independent_report(Rule::Related, Some(0.5)));
        assert!(
            !independent_report(Rule::Related, Some(0.85)),
            "reads like a copy"
        );
        for copy in [Rule::Content, Rule::NearDuplicate, Rule::Lead, Rule::Title] {
            assert!(!independent_report(copy, Some(0.9)), "{copy:?}");
        }
        assert!(stored_independent_report("related", Some(0.5)));
        assert!(!stored_independent_report("lead", Some(0.8)));
        assert!(!stored_independent_report("unknown", None));
    }

    #[test]
    fn trimmed_copy_with_boilerplate_joins_and_says_why() {
        let mut d = dedup();
        d.insert(
            1,
            10,
            1000,
            Fingerprint::of("Putin warns NATO", STORY),
            true,
        );
        let copy = format!(
            "{} Reporting by Jane Doe; editing by John Roe.",
            &STORY[..300]
        );
        let decision = d.decide(
            &Fingerprint::of("UPDATE 1-Russia threatens NATO troops", &copy),
            2000,
        );
        assert_eq!(decision.cluster, Some(10));
        assert_eq!(decision.rule, Rule::NearDuplicate);
        assert_eq!(decision.matched, Some(1));
        assert!(decision.score.unwrap() >= 0.6);
    }

    #[test]
    fn identical_body_is_content_rule_and_window_applies() {
        let mut d = dedup();
        d.insert(1, 10, 1000, Fingerprint::of("A", STORY), true);
        assert_eq!(
            d.decide(&Fingerprint::of("B", STORY), 5000).rule,
            Rule::Content
        );
        // Four days later it is a new story, whatever the text.
        assert_eq!(
            d.decide(&Fingerprint::of("B", STORY), 1000 + 4 * 86400)
                .cluster,
            None
        );
    }

    #[test]
    fn different_numbers_in_templated_text_stay_apart() {
        let mut d = dedup();
        let template = |a: u32, b: u32, c: u32| {
            format!(
                "The winning numbers in Saturday's draw were {a}, {b} and {c}. The jackpot was not won and rolls over to next week, the lottery operator said in its weekly statement to players."
            )
        };
        d.insert(
            1,
            10,
            1000,
            Fingerprint::of("Lottery results", &template(4, 18, 33)),
            true,
        );
        let decision = d.decide(
            &Fingerprint::of("Lottery results", &template(7, 21, 40)),
            2000,
        );
        assert_eq!(decision.cluster, None, "{decision:?}");
    }

    #[test]
    fn coverage_of_the_same_event_in_other_words_is_related() {
        let mut d = dedup();
        d.thresholds.related_coverage = true;
        // Other news first: term weights (IDF) come from the stream.
        insert_other_news(&mut d, 4);
        let story = Fingerprint::with_event_terms("Putin warns NATO", STORY);
        d.insert(1, 10, 1000, story, true);
        let headline = "Putin: NATO troops in Ukraine would be targets";
        let other_words = "Russian President Vladimir Putin said foreign troops sent to Ukraine would be legitimate targets, after Emmanuel Macron announced that 26 NATO countries had pledged forces to guarantee Kyiv's security once the fighting stops.";
        let copy = Fingerprint::with_event_terms(headline, other_words);
        let decision = d.decide(&copy, 2000);
        assert_eq!(decision.rule, Rule::Related, "{decision:?}");
        assert_eq!(decision.cluster, Some(10));
        assert_eq!(decision.matched, Some(1));
    }

    const MACRON: &str = "Emmanuel Macron said 26 NATO countries pledged forces to guarantee the security of Ukraine once the fighting with Russia stops, at a summit in Paris on Thursday.";
    const PUTIN: &str = "Vladimir Putin said any foreign troops in Ukraine would be legitimate targets for Russia, a day after NATO allies in Paris pledged forces.";
    const PUTIN_TITLE: &str = "Putin warns NATO troops would be targets";
    const BOTH: &str = "Putin warned that troops in Ukraine would be targets after Macron said 26 NATO countries pledged forces at the Paris summit.";

    fn fp(title: &str, text: &str) -> Fingerprint {
        Fingerprint::with_event_terms(title, text)
    }

    /// A deduplicator where no two reports join each other and a report close to two stories
    /// ties them, after three other stories.
    fn ties_everything() -> Deduplicator {
        let mut d = dedup();
        d.thresholds.related = 0.99;
        d.thresholds.related_supported = 0.99;
        d.thresholds.related_bridge = 0.05;
        insert_other_news(&mut d, 3);
        d
    }

    /// Story 10: Macron's pledge (item 1, at 1000). Story 11: Putin's answer (item 2, at 1100),
    /// started in the current batch when `putin_in_batch`.
    fn macron_and_putin(d: &mut Deduplicator, putin_in_batch: bool) {
        d.insert(
            1,
            10,
            1000,
            fp("Macron: 26 NATO countries pledge Ukraine forces", MACRON),
            true,
        );
        d.begin_batch();
        if putin_in_batch {
            d.start_story(11);
        }
        d.insert(2, 11, 1100, fp(PUTIN_TITLE, PUTIN), true);
    }

    #[test]
    fn a_report_of_two_stories_joins_one_and_may_fold_the_newer_into_the_older() {
        let mut d = ties_everything();
        macron_and_putin(&mut d, false);
        let (macron, putin) = (MACRON, PUTIN);

        // A copy of the first report in other order (same terms, no shared phrase) that also
        // names Putin: close to both stories, but a copy, which ties nothing.
        let reversed = |text: &str| text.split(' ').rev().collect::<Vec<_>>().join(" ");
        let copy_like = d.decide(
            &fp(
                "forces Ukraine pledge countries NATO 26 Macron:",
                &format!("{} Putin answered.", reversed(macron)),
            ),
            1200,
        );
        assert_eq!(
            (copy_like.rule, copy_like.cluster),
            (Rule::Related, Some(10))
        );
        assert!(
            copy_like.score.unwrap() >= COPY_LIKE_SIMILARITY,
            "{copy_like:?}"
        );
        assert_eq!(copy_like.merged, None);

        let both = BOTH;
        // By default stored stories do not merge: the report joins the closer story, under its
        // bar.
        let joins = d.decide(&fp("Putin answers Macron on Ukraine forces", both), 1300);
        assert_eq!(
            (joins.rule, joins.cluster),
            (Rule::Related, Some(10)),
            "{joins:?}"
        );
        assert!(joins.score.unwrap() < 0.99);
        assert_eq!(joins.merged, None);
        d.thresholds.merge_stories = true;
        let decision = d.decide(&fp("Putin answers Macron on Ukraine forces", both), 1300);
        assert_eq!(decision.rule, Rule::Related, "{decision:?}");
        assert!(decision.is_independent_report());
        // The older story (started by item 1) keeps its id; the other is folded into it.
        assert_eq!((decision.cluster, decision.matched), (Some(10), Some(1)));
        let merged = decision.merged.expect("the Putin story is folded in");
        assert_eq!((merged.cluster, merged.representative), (11, 2));
        assert!(merged.score >= 0.05 && merged.score < 0.99);
        d.insert(
            3,
            10,
            1300,
            fp("Putin answers Macron on Ukraine forces", both),
            true,
        );
        d.fold_story(11, 10);

        // A copy of the folded story's member now joins the story that holds it.
        let copy = d.decide(&fp("Putin: troops would be targets", putin), 1400);
        assert_eq!(copy.rule, Rule::Content);
        assert_eq!((copy.cluster, copy.matched), (Some(10), Some(2)));
    }

    #[test]
    fn a_story_of_the_current_batch_is_folded_by_default_until_the_batch_ends() {
        let mut d = ties_everything();
        macron_and_putin(&mut d, true);
        let report = fp("Putin answers Macron on Ukraine forces", BOTH);
        // Nobody has seen story 11's id yet: the report folds it into the older story.
        let decision = d.decide(&report, 1300);
        assert_eq!((decision.cluster, decision.matched), (Some(10), Some(1)));
        assert_eq!(decision.merged.map(|m| m.cluster), Some(11), "{decision:?}");
        // Once its batch is over (stored), story 11 stays as it is.
        d.begin_batch();
        let decision = d.decide(&report, 1300);
        assert_eq!(decision.cluster, Some(10));
        assert_eq!(decision.merged, None);
    }

    #[test]
    fn the_end_of_a_batch_folds_a_story_that_later_reports_of_the_batch_back() {
        // Story 11 starts with Putin's answer. Macron's pledge and a report of both then make
        // story 12, which two reports back: at the end of the batch the answer reaches its
        // lower bar (the bridge bar) and story 12, the newer, folds into 11.
        let batch = |first_in_batch: bool| {
            let mut d = ties_everything();
            d.thresholds.related_bridge = 0.2;
            if first_in_batch {
                d.begin_batch();
                d.start_story(11);
            }
            d.insert(1, 11, 1000, fp(PUTIN_TITLE, PUTIN), true);
            if !first_in_batch {
                d.begin_batch();
            }
            d.start_story(12);
            let pledge = fp("Macron: 26 NATO countries pledge Ukraine forces", MACRON);
            d.insert(2, 12, 1100, pledge, true);
            d.insert(3, 12, 1200, fp("Putin answers Macron", BOTH), true);
            let refolds = d.review_batch();
            (d, refolds)
        };
        let (d, refolds) = batch(true);
        assert_eq!(refolds.len(), 1, "{refolds:?}");
        let refold = refolds[0];
        assert_eq!((refold.story, refold.into, refold.via), (12, 11, 1));
        assert!(refold.score >= 0.2 && refold.score < 0.99, "{refold:?}");
        assert_eq!(d.current(12), 11);
        let copy = d.decide(&fp("Macron pledge", MACRON), 1300);
        assert_eq!((copy.rule, copy.cluster), (Rule::Content, Some(11)));
        // The answer's story was stored in an earlier batch, and story 12 has two reports: it
        // is not looked at again, and nothing moves.
        let (d, refolds) = batch(false);
        assert_eq!(refolds, Vec::new());
        assert_eq!(d.current(12), 12);
        // A review looks at a batch once.
        let mut d = d;
        assert_eq!(d.review_batch(), Vec::new());

        // The pledge's story, two reports strong, complete before the answer comes: the
        // decision held the answer to `related_supported` for it. The review looks again at
        // the bridge bar, and the answer's story, the newer, is folded into it.
        let mut d = ties_everything();
        d.thresholds.related_bridge = 0.2;
        d.begin_batch();
        d.start_story(12);
        let pledge = fp("Macron: 26 NATO countries pledge Ukraine forces", MACRON);
        d.insert(2, 12, 1100, pledge, true);
        d.insert(3, 12, 1200, fp("Putin answers Macron", BOTH), true);
        d.start_story(11);
        d.insert(4, 11, 1300, fp(PUTIN_TITLE, PUTIN), true);
        let refolds = d.review_batch();
        assert_eq!(refolds.len(), 1, "{refolds:?}");
        assert_eq!(
            (refolds[0].story, refolds[0].into, refolds[0].via),
            (11, 12, 2)
        );
    }

    #[test]
    fn the_record_of_folded_stories_is_forgotten_with_their_members() {
        let mut d = dedup();
        d.insert(1, 10, 1000, Fingerprint::of("A", STORY), true);
        d.insert(2, 11, 1000, Fingerprint::of("B", &STORY[..200]), true);
        d.fold_story(11, 10);
        assert_eq!(d.current(11), 10);
        // Later items, more than two windows on: the folded story's members leave the index,
        // and so does the record.
        let later = 1000 + 3 * d.thresholds.window_secs;
        for n in 0..EVICT_EVERY as i64 {
            d.insert(100 + n, 100 + n, later, Fingerprint::of("C", "other"), true);
        }
        assert!(d.folded.is_empty());
        assert_eq!(d.current(11), 11);
    }

    #[test]
    fn unrelated_story_starts_a_cluster() {
        let mut d = dedup();
        d.insert(1, 10, 1000, Fingerprint::of("A", STORY), true);
        let other = "The central bank kept interest rates unchanged on Thursday, citing slowing inflation and a weaker labour market across the euro area economies this quarter, officials said.";
        assert_eq!(
            d.decide(&Fingerprint::of("Rates", other), 1000),
            Decision::new_cluster()
        );
    }
}
