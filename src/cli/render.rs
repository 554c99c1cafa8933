//! The one rendering path to the terminal. Every byte that came from a feed goes through
//! [`escape`] (tables) or [`json`] (JSON documents) before it is printed, so no feed can move,
//! clear, retitle or recolour the terminal that shows it.

use std::fmt::Write as _;

/// Characters that a terminal may act on: C0 and C1 controls, DEL, and the bidirectional
/// overrides and isolates that reorder what is shown.
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Text safe to print on a terminal: every dangerous character is shown as a visible escape
/// (`\u{1b}`), everything else as it is.
pub fn escape(text: &str) -> String {
    if !text.chars().any(is_dangerous) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_dangerous(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// [`escape`] for multi-line text of our own (messages, summaries) that quotes feed text:
/// line breaks stay line breaks, everything else dangerous is escaped.
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

/// A JSON document as one string. serde_json escapes C0 controls; C1 controls and bidi overrides
/// are escaped here too (`\u009b`), which any JSON reader decodes back to the same text.
pub fn json<T: serde::Serialize>(value: &T) -> String {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    if !text.chars().any(is_dangerous_in_json) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_dangerous_in_json(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Newlines in pretty JSON are the document's own layout, not feed text (feed newlines are
/// already escaped by serde_json inside strings).
fn is_dangerous_in_json(c: char) -> bool {
    c != '\n' && is_dangerous(c)
}

/// Cuts `text` to at most `width` characters, marking the cut with an ellipsis.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A plain aligned table; every cell is escaped.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: Vec<&'static str>) -> Table {
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|c| escape(&c)).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
            let mut text = String::new();
            for (i, (cell, w)) in cells.zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let _ = write!(text, "{cell:<w$}");
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().copied(), &mut out);
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str), &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_terminal_sequences() {
        let hostile = "A\u{1b}[2J\u{1b}]0;pwned\u{7}B\u{9b}31m\u{202e}C\r\n";
        let safe = escape(hostile);
        assert!(!safe.chars().any(is_dangerous), "{safe}");
        assert_eq!(
            safe,
            "A\\u{1b}[2J\\u{1b}]0;pwned\\u{7}B\\u{9b}31m\\u{202e}C\\u{d}\\u{a}"
        );
        assert_eq!(escape("Café — ok"), "Café — ok");
        assert_eq!(escape_lines("a\n\u{1b}b\r\n"), "a\n\\u{1b}b\\u{d}\n");
    }

    #[test]
    fn json_escapes_c1_and_bidi_but_round_trips() {
        let value = serde_json::json!({"title": "x\u{9b}31m\u{202e}y\u{1b}"});
        let text = json(&value);
        assert!(!text.chars().any(is_dangerous_in_json), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn table_aligns_and_escapes() {
        let mut t = Table::new(vec!["ID", "TITLE"]);
        t.row(vec!["1".into(), "a\u{1b}b".into()]);
        t.row(vec!["22".into(), "c".into()]);
        assert_eq!(t.render(), "ID  TITLE\n1   a\\u{1b}b\n22  c\n");
    }
}
