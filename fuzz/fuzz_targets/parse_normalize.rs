//! Any bytes, as a fetched body, through the real parse, normalize, fingerprint and watch
//! matching path. A panic anywhere (even one that `parse_feed` would contain in the daemon) is a
//! finding: libFuzzer's hook aborts on it.

#![no_main]

use feedfold::dedup::Thresholds;
use feedfold::normalize::normalize_entries;
use feedfold::parse::parse_feed;
use feedfold::watches::{Document, Query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(feed) = parse_feed(data, "https://fuzz.example/feed.xml") else {
        return;
    };
    let thresholds = Thresholds::with_window(72 * 3600);
    let query = Query::parse("ukraine OR \"power plant\" OR title:kyiv* NOT football")
        .expect("a valid query");
    for item in normalize_entries(&feed.entries, 1_800_000_000) {
        // Stored text never carries terminal controls.
        assert!(
            !item
                .title
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "control character in a title: {:?}",
            item.title
        );
        let fp = thresholds.fingerprint(&item.title, &item.text);
        std::hint::black_box(fp);
        std::hint::black_box(query.matches(&Document::new(&item.title, &item.text)));
    }
});
