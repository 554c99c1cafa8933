//! Any text through the CLI's one rendering path: what reaches a terminal never holds a control
//! character or a bidirectional override, and JSON output decodes back to the same text.

#![no_main]

use feedfold::cli::render::{escape, escape_lines, json};
use libfuzzer_sys::fuzz_target;

fn dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let escaped = escape(&text);
    assert!(
        !escaped.chars().any(dangerous),
        "escape let through: {escaped:?}"
    );
    let lines = escape_lines(&text);
    assert!(
        !lines.chars().any(|c| c != '\n' && dangerous(c)),
        "escape_lines let through: {lines:?}"
    );
    let doc = json(&serde_json_value(&text));
    assert!(
        !doc.chars().any(|c| c != '\n' && dangerous(c)),
        "json let through: {doc:?}"
    );
    let back: String = serde_json::from_str(&doc).expect("valid JSON");
    assert_eq!(back, text, "JSON round trip");
});

fn serde_json_value(text: &str) -> String {
    text.to_string()
}
