//! Any bytes, as a fetched body, through the real parse, normalize, fingerprint and watch
//! matching path. A panic that escapes is a finding. Panics that `parse_feed` contains (feed-rs's
//! own, which the daemon turns into an error on that feed) are not: the hook libFuzzer installs
//! would abort on them, so it is replaced by a silent one and the containment is checked
//! instead (`tests/fixtures/fuzz/author-email-multibyte.xml` is one such feed-rs panic).

#![no_main]

use feedfold::dedup::Thresholds;
use feedfold::normalize::normalize_entries;
use feedfold::parse::parse_feed;
use feedfold::watches::{Document, Query};
use libfuzzer_sys::fuzz_target;

static QUIET: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    // An escaping panic still reaches libFuzzer: its harness aborts on an unwinding target.
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
