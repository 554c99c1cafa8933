//! `feedfold recluster`: clusters the stored items of a period again with the current settings
//! and says what would change (stories split, stories merged, items moved) before anything does.
//!
//! The items before the period keep their clusters and seed the deduplicator (as they would
//! have been in its index when the period's items arrived), so an item of the period may still
//! join a story that began before it. The period's items are then decided again in time order,
//! as one batch: a story that the period starts may be folded into another when a later item
//! ties them or at the end of the period (see `Deduplicator::begin_batch`).
//! An old story's id stays with the new story that holds its earliest member.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::dedup::{Deduplicator, Rule, Thresholds};
use crate::store::recluster::{ClusterTarget, NewAssignment, StoredItem};
use crate::store::{Store, StoreError};

/// One story that the new settings cut into parts.
#[derive(Debug, Clone)]
pub struct Split {
    pub cluster: i64,
    /// One title per part.
    pub parts: Vec<String>,
}

/// Stories that the new settings put together.
#[derive(Debug, Clone)]
pub struct Merge {
    /// One title per story merged.
    pub stories: Vec<String>,
}

/// What re-clustering a period changes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub since: i64,
    pub items: usize,
    pub clusters_before: usize,
    pub clusters_after: usize,
    pub moved: usize,
    pub splits: Vec<Split>,
    pub merges: Vec<Merge>,
    assignments: Vec<NewAssignment>,
    created: usize,
}

impl Plan {
    pub fn is_unchanged(&self) -> bool {
        self.moved == 0 && self.splits.is_empty() && self.merges.is_empty()
    }
}

/// Where the plan puts one item, and why.
#[derive(Debug, Clone)]
struct Placement {
    /// Index into the period's items, or (for an older item moved with its story) the context's.
    item: ItemRef,
    /// An existing cluster, or a provisional (negative) one.
    cluster: i64,
    rule: String,
    score: Option<f64>,
    distance: Option<u32>,
    matched: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemRef {
    Period(usize),
    Context(usize),
}

/// Re-runs clustering over the items with `ts >= since`; changes nothing.
pub fn plan(store: &Store, thresholds: Thresholds, since: i64) -> Result<Plan, StoreError> {
    let context_start = since.saturating_sub(2 * thresholds.window_secs);
    let context = store.items_between(context_start, since)?;
    let period = store.items_between(since, i64::MAX)?;
    let mut with_older_members = store.clusters_with_items_before(since)?;

    let mut dedup = Deduplicator::new(thresholds);
    for item in &context {
        dedup.insert(
            item.id,
            item.cluster,
            item.ts,
            thresholds.fingerprint(&item.title, &item.text),
            item.independent(),
        );
    }
    // New clusters get provisional negative ids until they are matched to old ones.
    let mut provisional = 0i64;
    let mut placed: Vec<Placement> = Vec::with_capacity(period.len());
    // Stories of the context folded into another: their context members move too.
    let mut folded_context: BTreeSet<i64> = BTreeSet::new();
    for (n, item) in period.iter().enumerate() {
        let fp = thresholds.fingerprint(&item.title, &item.text);
        let decision = dedup.decide(&fp, item.ts);
        let cluster = decision.cluster.unwrap_or_else(|| {
            provisional -= 1;
            dedup.start_story(provisional);
            provisional
        });
        dedup.insert(
            item.id,
            cluster,
            item.ts,
            fp,
            decision.is_independent_report(),
        );
        placed.push(Placement {
            item: ItemRef::Period(n),
            cluster,
            rule: decision.rule.as_str().to_string(),
            score: decision.score,
            distance: decision.distance,
            matched: decision.matched,
        });
        if let Some(merged) = decision.merged {
            dedup.fold_story(merged.cluster, cluster);
            if merged.cluster > 0 && folded_context.insert(merged.cluster) {
                placed.extend(
                    context
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.cluster == merged.cluster)
                        .map(|(i, c)| Placement {
                            item: ItemRef::Context(i),
                            cluster: merged.cluster,
                            rule: c.rule.clone(),
                            score: c.score,
                            distance: c.distance,
                            matched: c.matched,
                        }),
                );
            }
            follow_fold(&mut placed, merged.cluster, cluster, merged.score, item.id);
        }
    }
    // The period is one batch: a story it started may turn out to be another's (as at the end
    // of an ingest).
    for refold in dedup.review_batch() {
        follow_fold(
            &mut placed,
            refold.story,
            refold.into,
            refold.score,
            refold.via,
        );
    }
    // A folded story of the context keeps only its members from before the context.
    if !folded_context.is_empty() {
        let before_context = store.clusters_with_items_before(context_start)?;
        for story in &folded_context {
            if !before_context.contains(story) {
                with_older_members.remove(story);
            }
        }
    }
    let item_of = |r: ItemRef| match r {
        ItemRef::Period(i) => &period[i],
        ItemRef::Context(i) => &context[i],
    };
    let targets = resolve_provisional(&period, &placed, &with_older_members);
    Ok(diff(
        since,
        period.len(),
        &placed,
        item_of,
        &targets,
        &with_older_members,
    ))
}

/// As at ingest: the members of `story`, folded into `into`, follow, and the one that started it
/// says why (rule `merged`, `score`, the item `via`).
fn follow_fold(placed: &mut [Placement], story: i64, into: i64, score: f64, via: i64) {
    for p in placed {
        if p.cluster == story {
            p.cluster = into;
            if p.rule == Rule::First.as_str() {
                p.rule = Rule::Merged.as_str().to_string();
                p.score = Some(score);
                p.distance = None;
                p.matched = Some(via);
            }
        }
    }
}

/// Gives provisional clusters ids: an old cluster's id stays with the new cluster that holds its
/// earliest member (DESIGN §4), unless that member joined an existing story or the old cluster
/// still has members before the period; provisional clusters left over are created.
fn resolve_provisional(
    period: &[StoredItem],
    placed: &[Placement],
    with_older_members: &BTreeSet<i64>,
) -> HashMap<i64, ClusterTarget> {
    let mut targets: HashMap<i64, ClusterTarget> = HashMap::new();
    let mut seen_old: BTreeSet<i64> = BTreeSet::new();
    // `period` is in time order (and `placed` begins with it in the same order, context
    // members of folded stories interleaved after their fold): the first member seen of each
    // old cluster is its earliest in the period.
    for p in placed {
        let ItemRef::Period(i) = p.item else {
            continue;
        };
        let item = &period[i];
        if !seen_old.insert(item.cluster) {
            continue;
        }
        if p.cluster < 0 && !with_older_members.contains(&item.cluster) {
            targets
                .entry(p.cluster)
                .or_insert(ClusterTarget::Existing(item.cluster));
        }
    }
    let mut created = 0;
    // Provisional ids count down from -1 in creation order.
    let mut provisional: Vec<i64> = placed
        .iter()
        .map(|p| p.cluster)
        .filter(|c| *c < 0)
        .collect();
    provisional.sort_unstable_by(|a, b| b.cmp(a));
    provisional.dedup();
    for p in provisional {
        targets.entry(p).or_insert_with(|| {
            created += 1;
            ClusterTarget::Created(created - 1)
        });
    }
    targets
}

fn diff<'a>(
    since: i64,
    period_items: usize,
    placed: &[Placement],
    item_of: impl Fn(ItemRef) -> &'a StoredItem,
    targets: &HashMap<i64, ClusterTarget>,
    with_older_members: &BTreeSet<i64>,
) -> Plan {
    let target_of = |cluster: i64| {
        if cluster < 0 {
            targets[&cluster]
        } else {
            ClusterTarget::Existing(cluster)
        }
    };
    let mut assignments = Vec::with_capacity(placed.len());
    let mut moved = 0;
    // old cluster → the new clusters its members went to; new → the old ones it holds.
    let mut parts: BTreeMap<i64, BTreeMap<ClusterTarget, &str>> = BTreeMap::new();
    let mut sources: BTreeMap<ClusterTarget, BTreeMap<i64, &str>> = BTreeMap::new();
    for p in placed {
        let item = item_of(p.item);
        let target = target_of(p.cluster);
        if target != ClusterTarget::Existing(item.cluster) {
            moved += 1;
        }
        parts
            .entry(item.cluster)
            .or_default()
            .entry(target)
            .or_insert(&item.title);
        sources
            .entry(target)
            .or_default()
            .entry(item.cluster)
            .or_insert(&item.title);
        assignments.push(NewAssignment {
            item: item.id,
            cluster: target,
            rule: p.rule.clone(),
            score: p.score,
            distance: p.distance,
            matched: p.matched,
        });
    }
    let splits = parts
        .iter()
        .filter(|(old, to)| {
            to.len() > 1
                || (with_older_members.contains(old)
                    && !to.contains_key(&ClusterTarget::Existing(**old)))
        })
        .map(|(old, to)| Split {
            cluster: *old,
            parts: to.values().map(|t| t.to_string()).collect(),
        })
        .collect();
    let merges = sources
        .iter()
        .filter(|(_, from)| from.len() > 1)
        .map(|(_, from)| Merge {
            stories: from.values().map(|t| t.to_string()).collect(),
        })
        .collect();
    let created = targets
        .values()
        .filter(|t| matches!(t, ClusterTarget::Created(_)))
        .count();
    Plan {
        since,
        items: period_items,
        clusters_before: parts.len(),
        clusters_after: sources.len(),
        moved,
        splits,
        merges,
        assignments,
        created,
    }
}

/// Writes `plan` to the store in one transaction.
pub fn apply(store: &mut Store, plan: &Plan, now: i64) -> Result<(), StoreError> {
    store.apply_clusters(&plan.assignments, plan.created, now)?;
    Ok(())
}
