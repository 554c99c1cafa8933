//! Clustering quality measures, for the measuring tools and tests: pairwise and B-cubed
//! precision, recall and F1 of a predicted clustering against gold labels.

use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    fn new(precision: f64, recall: f64) -> Prf {
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub items: usize,
    pub predicted_clusters: usize,
    pub gold_clusters: usize,
    pub pairwise: Prf,
    pub bcubed: Prf,
}

impl std::fmt::Display for Scores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "items {}  clusters predicted {} gold {}\npairwise  P {:.4}  R {:.4}  F1 {:.4}\nB-cubed   P {:.4}  R {:.4}  F1 {:.4}",
            self.items,
            self.predicted_clusters,
            self.gold_clusters,
            self.pairwise.precision,
            self.pairwise.recall,
            self.pairwise.f1,
            self.bcubed.precision,
            self.bcubed.recall,
            self.bcubed.f1
        )
    }
}

/// Scores `predicted` (item → cluster) against `gold` (item → label) over the items both know.
pub fn score<I, P, G>(predicted: &HashMap<I, P>, gold: &HashMap<I, G>) -> Scores
where
    I: Eq + Hash + Clone,
    P: Eq + Hash + Clone,
    G: Eq + Hash + Clone,
{
    let items: Vec<&I> = gold.keys().filter(|i| predicted.contains_key(*i)).collect();
    // Sizes of predicted clusters, gold clusters and their intersections.
    let mut p_size: HashMap<&P, usize> = HashMap::new();
    let mut g_size: HashMap<&G, usize> = HashMap::new();
    let mut both: HashMap<(&P, &G), usize> = HashMap::new();
    for i in &items {
        let (p, g) = (&predicted[*i], &gold[*i]);
        *p_size.entry(p).or_default() += 1;
        *g_size.entry(g).or_default() += 1;
        *both.entry((p, g)).or_default() += 1;
    }
    let pairs = |n: usize| (n * n.saturating_sub(1) / 2) as f64;
    let true_pairs: f64 = both.values().map(|&n| pairs(n)).sum();
    let predicted_pairs: f64 = p_size.values().map(|&n| pairs(n)).sum();
    let gold_pairs: f64 = g_size.values().map(|&n| pairs(n)).sum();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 1.0 };
    let pairwise = Prf::new(
        ratio(true_pairs, predicted_pairs),
        ratio(true_pairs, gold_pairs),
    );
    let n = items.len().max(1) as f64;
    let (mut bp, mut br) = (0.0, 0.0);
    for i in &items {
        let (p, g) = (&predicted[*i], &gold[*i]);
        let common = both[&(p, g)] as f64;
        bp += common / p_size[p] as f64;
        br += common / g_size[g] as f64;
    }
    Scores {
        items: items.len(),
        predicted_clusters: p_size.len(),
        gold_clusters: g_size.len(),
        pairwise,
        bcubed: Prf::new(bp / n, br / n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(u32, u32)]) -> HashMap<u32, u32> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn perfect_clustering_scores_one() {
        let gold = map(&[(1, 10), (2, 10), (3, 20)]);
        let s = score(&map(&[(1, 5), (2, 5), (3, 6)]), &gold);
        assert_eq!(s.pairwise, Prf::new(1.0, 1.0));
        assert_eq!(s.bcubed, Prf::new(1.0, 1.0));
    }

    #[test]
    fn known_values() {
        // Gold {1,2,3} {4}; predicted {1,2} {3,4}.
        let gold = map(&[(1, 1), (2, 1), (3, 1), (4, 2)]);
        let s = score(&map(&[(1, 7), (2, 7), (3, 8), (4, 8)]), &gold);
        // Pairs: predicted {12, 34}, gold {12, 13, 23}: one true pair.
        assert!((s.pairwise.precision - 0.5).abs() < 1e-12);
        assert!((s.pairwise.recall - 1.0 / 3.0).abs() < 1e-12);
        // B-cubed precision: (1 + 1 + 1/2 + 1/2) / 4; recall: (2/3 + 2/3 + 1/3 + 1) / 4.
        assert!((s.bcubed.precision - 0.75).abs() < 1e-12);
        assert!((s.bcubed.recall - (8.0 / 3.0) / 4.0).abs() < 1e-12);
        assert_eq!((s.predicted_clusters, s.gold_clusters), (2, 2));
    }
}
