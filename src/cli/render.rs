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

/// `text` cut to `width` characters by taking out its middle: for URLs and paths, whose start
/// (the site) and end (the feed) both tell one from another. (Cut at the end, every feed of a
/// site read `https://feeds.example.com/news/…`.)
pub fn truncate_middle(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    let kept = width.saturating_sub(1);
    let head = kept / 2;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(count - (kept - head)));
    out
}

/// What the terminal on stdout can take: colour (only on a terminal, never when `NO_COLOR` is
/// set to a non-empty value, as no-color.org says, nor on `TERM=dumb`) and its width in columns
/// (only on a terminal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    pub colour: bool,
    pub width: Option<usize>,
}

/// Mark the start and end of a match inside a snippet (private-use characters). Feed text
/// could hold them too: [`unmarked`] replaces them before a snippet is cut, so that only the
/// snippet maker's marks become highlighting.
pub const MATCH_START: char = '\u{e000}';
pub const MATCH_END: char = '\u{e001}';

/// Feed text with any [`MATCH_START`] or [`MATCH_END`] of its own replaced (by U+FFFD).
pub fn unmarked(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([MATCH_START, MATCH_END]) {
        std::borrow::Cow::Owned(text.replace([MATCH_START, MATCH_END], "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Matches stand out this way (bold red, as ripgrep shows them).
const MATCH_STYLE: &str = "\u{1b}[1;31m";
const HEADER_STYLE: &str = "\u{1b}[1m";
const RESET: &str = "\u{1b}[0m";
/// Narrower than this, a table's last column is not squeezed further (it wraps instead).
const MIN_LAST_COLUMN: usize = 20;

impl Terminal {
    /// The terminal on stdout, from the process's environment.
    pub fn stdout() -> Terminal {
        use std::io::IsTerminal;
        let var = |name: &str| std::env::var(name).ok();
        Terminal::decide(
            std::io::stdout().is_terminal(),
            var("NO_COLOR").as_deref(),
            var("TERM").as_deref(),
            var("COLUMNS").as_deref(),
            window_columns(),
        )
    }

    /// The decision, apart from where its inputs come from.
    fn decide(
        is_terminal: bool,
        no_color: Option<&str>,
        term: Option<&str>,
        columns: Option<&str>,
        window_columns: Option<usize>,
    ) -> Terminal {
        // https://no-color.org: set and not empty means no colour.
        let colour_refused = no_color.is_some_and(|v| !v.is_empty()) || term == Some("dumb");
        let width = columns
            .and_then(|c| c.trim().parse().ok())
            .filter(|&w: &usize| w > 0)
            .or(window_columns);
        Terminal {
            colour: is_terminal && !colour_refused,
            width: if is_terminal { width } else { None },
        }
    }

    /// A snippet ([`MATCH_START`] … [`MATCH_END`] around matches) made safe to print, the
    /// matches highlighted when colour is on.
    pub fn snippet(&self, snippet: &str) -> String {
        let mut safe = escape(snippet);
        // A snippet cut to the terminal's width may end inside a match: close it.
        if safe.matches(MATCH_START).count() > safe.matches(MATCH_END).count() {
            safe.push(MATCH_END);
        }
        let (start, end) = if self.colour {
            (MATCH_STYLE, RESET)
        } else {
            ("", "")
        };
        safe.replace(MATCH_START, start).replace(MATCH_END, end)
    }

    /// Our own text (never feed text) in bold when colour is on.
    pub fn bold(&self, text: &str) -> String {
        if self.colour {
            format!("{HEADER_STYLE}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// The width of the terminal window on stdout, asked of the kernel.
#[cfg(unix)]
fn window_columns() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct passed; nothing else is touched.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn window_columns() -> Option<usize> {
    None
}

/// `run --once`'s progress on stderr: a bar redrawn in place (feeds done of total, errors) when
/// stderr is a terminal; on a pipe or a file, only the messages, one per line.
pub struct Progress {
    on_terminal: bool,
    total: usize,
    done: usize,
    errors: usize,
    drawn: bool,
}

const BAR_WIDTH: usize = 30;

impl Progress {
    pub fn on_stderr() -> Progress {
        use std::io::IsTerminal;
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Progress::new(std::io::stderr().is_terminal() && !dumb)
    }

    fn new(on_terminal: bool) -> Progress {
        Progress {
            on_terminal,
            total: 0,
            done: 0,
            errors: 0,
            drawn: false,
        }
    }

    pub fn start(&mut self, total: usize) {
        self.total = total;
        self.draw();
    }

    /// One feed finished.
    pub fn done(&mut self, failed: bool) {
        self.done += 1;
        self.errors += usize::from(failed);
        self.draw();
    }

    /// A line of our own (already escaped) above the bar.
    pub fn message(&mut self, line: &str) {
        self.clear();
        eprintln!("{line}");
        self.draw();
    }

    /// Removes the bar (the summary follows on stdout).
    pub fn finish(&mut self) {
        self.clear();
    }

    /// The bar as text: `[=========>          ] 12/40 feeds, 1 error`.
    fn bar(&self) -> String {
        let filled = (self.done * BAR_WIDTH)
            .checked_div(self.total)
            .unwrap_or(BAR_WIDTH)
            .min(BAR_WIDTH);
        let mut bar = "=".repeat(filled);
        if filled < BAR_WIDTH {
            bar.push('>');
        }
        let errors = match self.errors {
            0 => String::new(),
            1 => ", 1 error".to_string(),
            n => format!(", {n} errors"),
        };
        format!(
            "[{bar:<BAR_WIDTH$}] {}/{} feeds{errors}",
            self.done, self.total
        )
    }

    fn draw(&mut self) {
        if self.on_terminal {
            // \r and "erase line": the bar is redrawn where it was.
            eprint!("\r\u{1b}[2K{}", self.bar());
            self.drawn = true;
        }
    }

    fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\u{1b}[2K");
            self.drawn = false;
        }
    }
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

    /// The table with columns aligned, for a pipe or a file.
    pub fn render(&self) -> String {
        self.render_for(Terminal::default())
    }

    /// The table for `terminal`: the last column (the title) cut to fit its width, the header
    /// in bold when colour is on.
    pub fn render_for(&self, terminal: Terminal) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let fixed: usize = widths.iter().rev().skip(1).map(|w| w + 2).sum();
        let last_width = terminal
            .width
            .map(|total| total.saturating_sub(fixed).max(MIN_LAST_COLUMN));
        let last = widths.len().saturating_sub(1);
        let mut out = String::new();
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (i, (cell, w)) in cells.zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                match last_width {
                    Some(lw) if i == last => text.push_str(&truncate(cell, lw)),
                    _ => {
                        let _ = write!(text, "{cell:<w$}");
                    }
                }
            }
            text.truncate(text.trim_end().len());
            text
        };
        let header = line(&mut self.headers.iter().copied());
        out.push_str(&terminal.bold(&header));
        out.push('\n');
        for row in &self.rows {
            let text = line(&mut row.iter().map(String::as_str));
            out.push_str(&text);
            out.push('\n');
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
    fn a_cut_in_the_middle_keeps_both_ends_and_the_width() {
        let feeds = [
            "https://feeds.example.com/news/world/rss.xml",
            "https://feeds.example.com/news/business/rss.xml",
        ];
        let cut: Vec<String> = feeds.iter().map(|f| truncate_middle(f, 30)).collect();
        assert_eq!(cut[0], "https://feeds.…s/world/rss.xml");
        assert_ne!(cut[0], cut[1]);
        for (text, width) in [
            ("abcdef", 6),
            ("abcdef", 5),
            ("abcdef", 2),
            ("abcdef", 1),
            ("ü€𝄞ab", 4),
        ] {
            let out = truncate_middle(text, width);
            assert_eq!(
                out.chars().count(),
                width.min(text.chars().count()),
                "{text} {width}"
            );
            assert!(text.starts_with(out.split('…').next().unwrap()), "{out}");
            assert!(text.ends_with(out.rsplit('…').next().unwrap()), "{out}");
        }
        assert_eq!(truncate_middle("abcdef", 5), "ab…ef");
        assert_eq!(truncate_middle("short", 40), "short");
    }

    #[test]
    fn table_aligns_and_escapes() {
        let mut t = Table::new(vec!["ID", "TITLE"]);
        t.row(vec!["1".into(), "a\u{1b}b".into()]);
        t.row(vec!["22".into(), "c".into()]);
        assert_eq!(t.render(), "ID  TITLE\n1   a\\u{1b}b\n22  c\n");
    }

    #[test]
    fn the_last_column_fits_the_terminal_and_colour_is_only_for_terminals() {
        let mut t = Table::new(vec!["ID", "TITLE"]);
        t.row(vec!["1".into(), "word ".repeat(20)]);
        let narrow = Terminal {
            colour: false,
            width: Some(30),
        };
        let text = t.render_for(narrow);
        assert!(text.lines().all(|l| l.chars().count() <= 30), "{text}");
        assert!(text.contains('…'));
        let coloured = t.render_for(Terminal {
            colour: true,
            width: None,
        });
        assert!(coloured.starts_with("\u{1b}[1mID  TITLE\u{1b}[0m\n"));

        let decide = Terminal::decide;
        assert_eq!(
            decide(true, None, Some("xterm"), None, Some(120)),
            Terminal {
                colour: true,
                width: Some(120)
            }
        );
        assert!(
            !decide(true, Some("1"), None, None, None).colour,
            "NO_COLOR"
        );
        assert!(
            decide(true, Some(""), None, None, None).colour,
            "empty NO_COLOR"
        );
        assert!(!decide(true, None, Some("dumb"), None, None).colour);
        assert_eq!(
            decide(true, None, None, Some("80"), Some(120)).width,
            Some(80)
        );
        assert_eq!(
            decide(false, None, None, Some("80"), Some(120)),
            Terminal::default(),
            "a pipe gets neither"
        );
    }

    #[test]
    fn the_progress_bar_counts_feeds_and_errors() {
        let mut p = Progress::new(false);
        p.start(4);
        assert_eq!(p.bar(), format!("[>{}] 0/4 feeds", " ".repeat(29)));
        p.done(false);
        p.done(true);
        assert_eq!(
            p.bar(),
            format!("[{}>{}] 2/4 feeds, 1 error", "=".repeat(15), " ".repeat(14))
        );
        p.done(true);
        p.done(false);
        assert_eq!(p.bar(), format!("[{}] 4/4 feeds, 2 errors", "=".repeat(30)));
        assert!(!p.drawn, "nothing is drawn off a terminal");
        let mut empty = Progress::new(false);
        empty.start(0);
        assert_eq!(empty.bar(), format!("[{}] 0/0 feeds", "=".repeat(30)));
    }

    #[test]
    fn snippets_are_escaped_and_matches_highlighted_only_in_colour() {
        let snippet = "the \u{e000}drone\u{e001} hit\u{1b}[2J";
        let plain = Terminal::default().snippet(snippet);
        assert_eq!(plain, "the drone hit\\u{1b}[2J");
        let coloured = Terminal {
            colour: true,
            width: None,
        }
        .snippet(snippet);
        assert_eq!(coloured, "the \u{1b}[1;31mdrone\u{1b}[0m hit\\u{1b}[2J");
        let colour = Terminal {
            colour: true,
            width: None,
        };
        assert_eq!(
            colour.snippet("cut in the \u{e000}mid"),
            "cut in the \u{1b}[1;31mmid\u{1b}[0m",
            "a cut match is closed"
        );
        // A feed's own marks are not highlighting.
        assert_eq!(unmarked("a\u{e000}b\u{e001}"), "a\u{fffd}b\u{fffd}");
    }
}
