//! Shows every deduplication measure between two stored items, for tuning:
//! `cargo run --release --example explain_pair -- STORE.db GUID_A GUID_B`.

use feedfold::dedup::{Fingerprint, containment, hamming, lead_containment};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, a, b] = &args[..] else {
        eprintln!("usage: explain_pair STORE.db GUID_A GUID_B");
        std::process::exit(2);
    };
    let conn = rusqlite::Connection::open(db).expect("open store");
    let load = |guid: &str| -> (String, String, i64) {
        conn.query_row(
            "SELECT title, text, ts FROM items WHERE guid = ?1",
            [guid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap_or_else(|e| panic!("{guid}: {e}"))
    };
    let (ta, xa, tsa) = load(a);
    let (tb, xb, tsb) = load(b);
    let (fa, fb) = (Fingerprint::of(&ta, &xa), Fingerprint::of(&tb, &xb));
    println!(
        "A: {ta:?}\n   {} shingles, {} numbers, ts {tsa}\n   {:.300}",
        fa.shingles.len(),
        fa.numbers.len(),
        xa
    );
    println!(
        "B: {tb:?}\n   {} shingles, {} numbers, ts {tsb}\n   {:.300}",
        fb.shingles.len(),
        fb.numbers.len(),
        xb
    );
    let shared = fa
        .anchors
        .iter()
        .filter(|x| **x != 0 && fb.anchors.contains(x))
        .count();
    println!(
        "containment {:.3}  lead A in B {:.3}  lead B in A {:.3}  simhash distance {}  shared anchors {shared}  bands shared {}",
        containment(&fa.shingles, &fb.shingles),
        lead_containment(&fa.lead, &fb.shingles),
        lead_containment(&fb.lead, &fa.shingles),
        hamming(fa.simhash, fb.simhash),
        (0..4)
            .filter(|i| (fa.simhash >> (16 * i)) as u16 == (fb.simhash >> (16 * i)) as u16)
            .count()
    );
    let na: Vec<_> = fa
        .numbers
        .iter()
        .filter(|n| !fb.numbers.contains(n))
        .collect();
    let nb: Vec<_> = fb
        .numbers
        .iter()
        .filter(|n| !fa.numbers.contains(n))
        .collect();
    println!(
        "numbers only in A: {}  only in B: {}  conflict {}  same headline {}",
        na.len(),
        nb.len(),
        feedfold::dedup::numbers_conflict(&fa.numbers, &fb.numbers),
        fa.title_key.is_some() && fa.title_key == fb.title_key
    );
}
