//! Scores feedfold's clusters against gold labels: pairwise and B-cubed precision, recall, F1.
//!
//! ```sh
//! feedfold --config OUT/feedfold.toml clusters --json --limit 0 --min-size 1 --since 100000d > OUT/clusters.json
//! cargo run --release --example score -- OUT/clusters.json OUT/gold.json [--errors]
//! ```
//!
//! `gold.json` maps each item's guid to its story label. `--errors` lists the gold stories that
//! were split and the clusters that merged different stories.

use std::collections::{BTreeMap, HashMap};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(clusters_path), Some(gold_path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: score CLUSTERS.json GOLD.json [--errors]");
        std::process::exit(2);
    };
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}")))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
    };
    let clusters = read(clusters_path);
    let gold: HashMap<String, String> =
        serde_json::from_value(read(gold_path)).expect("gold.json maps guid to label");
    let mut predicted: HashMap<String, i64> = HashMap::new();
    let mut titles: HashMap<String, String> = HashMap::new();
    for c in clusters.as_array().expect("clusters --json is an array") {
        for item in c["items"].as_array().unwrap() {
            let guid = item["guid"].as_str().unwrap().to_string();
            titles.insert(
                guid.clone(),
                item["title"].as_str().unwrap_or_default().to_string(),
            );
            predicted.insert(guid, c["id"].as_i64().unwrap());
        }
    }
    let missing = gold.keys().filter(|g| !predicted.contains_key(*g)).count();
    let scores = feedfold::eval::score(&predicted, &gold);
    println!("{scores}");
    if missing > 0 {
        println!("warning: {missing} gold items are not in the clusters");
    }
    if args.iter().any(|a| a == "--errors") {
        let mut by_gold: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
        let mut by_pred: BTreeMap<i64, Vec<&String>> = BTreeMap::new();
        for (guid, label) in &gold {
            if let Some(p) = predicted.get(guid) {
                by_gold.entry(label).or_default().push(guid);
                by_pred.entry(*p).or_default().push(guid);
            }
        }
        for (label, guids) in &by_gold {
            let mut ids: Vec<i64> = guids.iter().map(|g| predicted[*g]).collect();
            ids.sort();
            ids.dedup();
            if ids.len() > 1 {
                println!(
                    "split {label}: {}",
                    guids
                        .iter()
                        .map(|g| format!("{g}→{} {:?}", predicted[*g], titles[*g]))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
        }
        for (id, guids) in &by_pred {
            let mut labels: Vec<&String> = guids.iter().map(|g| &gold[*g]).collect();
            labels.sort();
            labels.dedup();
            if labels.len() > 1 {
                println!(
                    "merged cluster {id}: {}",
                    guids
                        .iter()
                        .map(|g| format!("{g}={} {:?}", gold[*g], titles[*g]))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
        }
    }
}
