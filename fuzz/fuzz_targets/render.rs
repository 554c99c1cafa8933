//! Any text through the CLI's one rendering path: what reaches a terminal never holds a control
//! character or a bidirectional override (in colour, only the highlighting's own sequences),
//! and JSON output decodes back to the same text.

#![no_main]

use feedfold::cli::render::{Table, Terminal, escape, escape_lines, json, unmarked};
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

    // A table fitted to a narrow terminal.
    let mut table = Table::new(vec!["ID", "TITLE"]);
    table.row(vec!["1".into(), text.to_string()]);
    let narrow = Terminal {
        colour: true,
        width: Some(20),
    };
    let rendered = table.render_for(narrow).replace("\u{1b}[1m", "").replace("\u{1b}[0m", "");
    assert!(
        !rendered.chars().any(|c| c != '\n' && dangerous(c)),
        "table let through: {rendered:?}"
    );

    // A search snippet of the text for its own first words, highlighted in colour: the only
    // escape sequences are the highlighting's, and every one is closed.
    let query: String = text.chars().take(12).collect();
    let terms = feedfold::watches::search_terms(&query);
    let body = unmarked(&text);
    if let Some(snippet) = feedfold::watches::snippet(&body, &terms, 16, ('\u{e000}', '\u{e001}')) {
        let shown = narrow.snippet(&snippet);
        let opened = shown.matches("\u{1b}[1;31m").count();
        let closed = shown.matches("\u{1b}[0m").count();
        assert_eq!(opened, closed, "every highlight is closed: {shown:?}");
        let bare = shown.replace("\u{1b}[1;31m", "").replace("\u{1b}[0m", "");
        assert!(
            !bare.chars().any(dangerous),
            "snippet let through: {bare:?}"
        );
    }
});

fn serde_json_value(text: &str) -> String {
    text.to_string()
}
