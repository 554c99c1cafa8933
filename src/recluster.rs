//! `feedfold recluster`: clusters the stored items of a period again with the current settings
//! and says what would change (stories split, stories merged, items moved) before anything does.
//!
//! The items before the period keep their clusters and seed the deduplicator (as they would
//! have been in its index when the period's items arrived), so an item of the period may still
//! join a story that began before it. The period's items are then decided again in time order.
//! An old story's id stays with the new story that holds its earliest member.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::dedup::{Deduplicator, Thresholds};
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

/// Re-runs clustering over the items with `ts >= since`; changes nothing.
pub fn plan(store: &Store, thresholds: Thresholds, since: i64) -> Result<Plan, StoreError> {
    let context = store.items_between(since.saturating_sub(2 * thresholds.window_secs), since)?;
    let period = store.items_between(since, i64::MAX)?;
    let with_older_members = store.clusters_with_items_before(since)?;

    let mut dedup = Deduplicator::new(thresholds);
    for item in &context {
        dedup.insert(
            item.id,
            item.cluster,
            item.ts,
            thresholds.fingerprint(&item.title, &item.text),
            item.independent,
        );
    }
    // New clusters get provisional negative ids until they are matched to old ones.
    let mut provisional = 0i64;
    let mut decided: Vec<(i64, crate::dedup::Decision)> = Vec::with_capacity(period.len());
    for item in &period {
        let fp = thresholds.fingerprint(&item.title, &item.text);
        let decision = dedup.decide(&fp, item.ts);
        let cluster = decision.cluster.unwrap_or_else(|| {
            provisional -= 1;
            provisional
        });
        dedup.insert(
            item.id,
            cluster,
            item.ts,
            fp,
            decision.is_independent_report(),
        );
        decided.push((cluster, decision));
    }
    let targets = resolve_provisional(&period, &decided, &with_older_members);
    Ok(diff(
        since,
        &period,
        &decided,
        &targets,
        &with_older_members,
    ))
}

/// Gives provisional clusters ids: an old cluster's id stays with the new cluster that holds its
/// earliest member (DESIGN §4), unless that member joined an existing story or the old cluster
/// still has members before the period; provisional clusters left over are created.
fn resolve_provisional(
    period: &[StoredItem],
    decided: &[(i64, crate::dedup::Decision)],
    with_older_members: &BTreeSet<i64>,
) -> HashMap<i64, ClusterTarget> {
    let mut targets: HashMap<i64, ClusterTarget> = HashMap::new();
    let mut seen_old: BTreeSet<i64> = BTreeSet::new();
    // `period` is in time order: the first member seen of each old cluster is its earliest.
    for (item, (cluster, _)) in period.iter().zip(decided) {
        if !seen_old.insert(item.cluster) {
            continue;
        }
        if *cluster < 0 && !with_older_members.contains(&item.cluster) {
            targets
                .entry(*cluster)
                .or_insert(ClusterTarget::Existing(item.cluster));
        }
    }
    let mut created = 0;
    // Provisional ids count down from -1 in creation order.
    let mut provisional: Vec<i64> = decided.iter().map(|(c, _)| *c).filter(|c| *c < 0).collect();
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

fn diff(
    since: i64,
    period: &[StoredItem],
    decided: &[(i64, crate::dedup::Decision)],
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
    let mut assignments = Vec::with_capacity(period.len());
    let mut moved = 0;
    // old cluster → the new clusters its period members went to; new → the old ones it holds.
    let mut parts: BTreeMap<i64, BTreeMap<ClusterTarget, &str>> = BTreeMap::new();
    let mut sources: BTreeMap<ClusterTarget, BTreeMap<i64, &str>> = BTreeMap::new();
    for (item, (cluster, decision)) in period.iter().zip(decided) {
        let target = target_of(*cluster);
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
            rule: decision.rule.as_str(),
            score: decision.score,
            distance: decision.distance,
            matched: decision.matched,
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
        items: period.len(),
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
