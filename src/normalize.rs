//! The normalizer (pure): turns parsed entries into [`NormalizedItem`]s with a stable identity key,
//! a canonical URL, plain text and a sane publication time. Time comes in as an argument.
//!
//! Identity (DESIGN §4): within a feed an item is its guid, else its canonical URL, else a hash of
//! its title and text, so that items with neither guid nor link keep their key across polls. A
//! guid repeated in one document for different content gets a disambiguated key; a URL that
//! several different items of one document share (a homepage link) identifies nothing.

use std::collections::{HashMap, HashSet};

use url::Url;
use xxhash_rust::xxh3::xxh3_64;

use crate::parse::RawEntry;

/// Stored text is cut at this many bytes: enough for any article, and bounded for hostile input.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
pub const MAX_TITLE_BYTES: usize = 1024;

/// Publication dates before this (1995-01-01) are not news feeds' dates: treated as missing.
const EARLIEST_PLAUSIBLE: i64 = 788_918_400;
/// Dates more than this far past the fetch time are treated as missing.
const FUTURE_SLACK_SECS: i64 = 2 * 86_400;

#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedItem {
    /// Identity within its feed: `g:` guid, `u:` canonical URL or `h:` content hash.
    pub key: String,
    /// The guid as the feed gave it, or the derived key when it gave none.
    pub guid: String,
    /// The link as given (absolute).
    pub url: Option<String>,
    /// The canonical URL when it identifies this item (not shared with other items of the feed).
    pub canonical_url: Option<String>,
    pub title: String,
    pub text: String,
    /// Publication time (unix seconds) where the feed gave a plausible one.
    pub published: Option<i64>,
}

/// Query parameters that only track the reader. Sources: Miniflux `urlcleaner`, the ClearURLs
/// rules for news sites, and the parameters seen in the syndication data.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "ocid",
    "cmpid",
    "cmp",
    "ito",
    "ref",
    "ref_src",
    "ref_url",
    "referrer",
    "src",
    "share",
    "smid",
    "sr_share",
    "spm",
    "ns_mchannel",
    "ns_source",
    "ns_campaign",
    "ns_linkname",
    "ns_fee",
    "at_medium",
    "at_campaign",
    "at_custom1",
    "at_custom2",
    "at_custom3",
    "at_custom4",
    "wt_mc",
    "wt.mc_id",
    "rss",
    "feed",
    "via",
    "s_cid",
    "icid",
    "intcmp",
    "guccounter",
    "campaign_id",
    "ncid",
    "taid",
    "xtor",
];

fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_")
        || lower.starts_with("pk_")
        || TRACKING_PARAMS.contains(&lower.as_str())
}

/// The URL that two copies of one link share: host lower-cased, default port, fragment and
/// tracking parameters removed, an empty query dropped. `None` for what is not an http(s) URL.
pub fn canonical_url(link: &str) -> Option<String> {
    let mut url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    // The url crate already lower-cases the host and drops a default port.
    Some(url.to_string())
}

/// Elements whose content is never text a reader sees.
const SKIPPED_ELEMENTS: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "object", "svg", "head",
];
/// Elements that break a line: their text must not run into the next element's.
const BLOCK_ELEMENTS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "table",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "hr",
    "pre",
    "dd",
    "dt",
    "dl",
    "aside",
    "nav",
    "main",
    "img",
];

thread_local! {
    /// The text between the tags, before its whitespace is collapsed: kept per thread from one
    /// item to the next (at most twice MAX_TEXT_BYTES), because a buffer the size of the body
    /// for every item went through the allocator's path for large chunks.
    static RAW_TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Plain text from HTML: tags removed (script, style and the like with their content), entities
/// decoded, control characters removed, whitespace collapsed, paragraphs on their own lines.
pub fn html_to_text(html: &str) -> String {
    RAW_TEXT.with_borrow_mut(|raw| {
        raw.clear();
        html_to_text_in(html, raw)
    })
}

/// [`html_to_text`], gathering the text between the tags in `raw`.
fn html_to_text_in(html: &str, raw: &mut String) -> String {
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    // Enough raw text for MAX_TEXT_BYTES of output: the rest of a huge body is not read.
    while i < bytes.len() && raw.len() < 2 * MAX_TEXT_BYTES {
        let Some(lt) = html[i..].find('<') else { break };
        i += lt;
        let next = bytes.get(i + 1).copied().unwrap_or(b' ');
        if !(next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?') {
            i += 1;
            continue;
        }
        raw.push_str(&decode_entities(&html[text_start..i]));
        if html[i..].starts_with("<!--") {
            i = html[i + 4..]
                .find("-->")
                .map_or(bytes.len(), |e| i + 4 + e + 3);
            text_start = i;
            continue;
        }
        let tag_end = html[i..].find('>').map_or(bytes.len(), |e| i + e + 1);
        let closing = next == b'/';
        let name_start = i + 1 + usize::from(closing);
        let name_len = bytes[name_start.min(tag_end)..tag_end]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let name = &bytes[name_start.min(tag_end)..name_start.min(tag_end) + name_len];
        let self_closing = tag_end >= 2 && bytes[tag_end - 2] == b'/';
        let is = |list: &[&str]| list.iter().any(|e| e.as_bytes().eq_ignore_ascii_case(name));
        i = tag_end;
        if !closing && !self_closing && is(SKIPPED_ELEMENTS) {
            i = end_of_element(html, i, name);
        } else if is(BLOCK_ELEMENTS) {
            raw.push('\n');
        }
        text_start = i;
    }
    if text_start < bytes.len() && raw.len() < 2 * MAX_TEXT_BYTES {
        raw.push_str(&decode_entities(&html[text_start..]));
    }
    collapse_whitespace(&strip_controls(raw), MAX_TEXT_BYTES)
}

/// Where the element `name` whose content starts at `from` ends: after its closing tag, found
/// without regard to case, or the end of the input when it is never closed.
fn end_of_element(html: &str, from: usize, name: &[u8]) -> usize {
    let bytes = html.as_bytes();
    let mut j = from;
    while let Some(p) = html[j..].find("</") {
        let k = j + p + 2;
        if bytes.len() >= k + name.len() && bytes[k..k + name.len()].eq_ignore_ascii_case(name) {
            return html[k..].find('>').map_or(bytes.len(), |e| k + e + 1);
        }
        j = k;
    }
    bytes.len()
}

fn decode_entities(text: &str) -> Cow<'_, str> {
    if text.contains('&') {
        html_escape::decode_html_entities(text)
    } else {
        Cow::Borrowed(text)
    }
}

use std::borrow::Cow;

/// Removes characters that can move or restyle a terminal or hide text: C0 and C1 controls
/// (tab and newline become spaces and newlines), DEL, bidirectional overrides and isolates, BOM.
pub fn strip_controls(text: &str) -> Cow<'_, str> {
    if !has_removable(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|&c| !is_removable(c)).collect())
}

/// A character [`strip_controls`] removes.
fn is_removable(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{feff}')
}

/// Whether UTF-8 `bytes` hold a character [`is_removable`], read from the encoded bytes without
/// decoding: C0 and DEL are single bytes, C1 is 0xC2 0x80..0x9F, the marks and overrides are
/// 0xE2 0x80 0x8E/0x8F/0xAA..0xAE and 0xE2 0x81 0xA6..0xA9, the BOM is 0xEF 0xBB 0xBF. Most text
/// has none: for a 1 KB article this takes about 1,000 instructions where decoding it character
/// by character took 19,000 (a third of `html_to_text`; callgrind over `benches/dedup.rs`).
fn has_removable(bytes: &[u8]) -> bool {
    // First in blocks without branches (vectorized): a block of printable ASCII, tabs and
    // newlines holds nothing to remove.
    let plain = |b: u8| (0x20..0x7f).contains(&b) | (b == b'\n') | (b == b'\t');
    let Some(block) = bytes
        .chunks(32)
        .position(|chunk| !chunk.iter().fold(true, |all, &b| all & plain(b)))
    else {
        return false;
    };
    // Every byte before the block is printable ASCII: the first character that may matter
    // starts inside it.
    let from = block * 32;
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    bytes.iter().enumerate().skip(from).any(|(i, &b)| match b {
        b'\n' | b'\t' => false,
        0..0x20 | 0x7f => true,
        0xc2 => matches!(at(i + 1), 0x80..=0x9f),
        0xe2 => matches!(
            (at(i + 1), at(i + 2)),
            (0x80, 0x8e | 0x8f | 0xaa..=0xae) | (0x81, 0xa6..=0xa9)
        ),
        0xef => at(i + 1) == 0xbb && at(i + 2) == 0xbf,
        _ => false,
    })
}

/// What [`collapse_whitespace`] needs to know of a byte of UTF-8.
const PLAIN: u8 = 0;
const SPACE: u8 = 1;
const NEWLINE: u8 = 2;
/// The first byte of a character that may be whitespace beyond ASCII: U+0085 and U+00A0 (0xC2),
/// U+1680 (0xE1), U+2000 to U+205F (0xE2) and U+3000 (0xE3). Every other non-ASCII character
/// is part of a word.
const MAYBE_SPACE: u8 = 3;
const WHITESPACE_CLASS: [u8; 256] = {
    let mut table = [PLAIN; 256];
    table[b' ' as usize] = SPACE;
    table[b'\t' as usize] = SPACE;
    table[0x0b] = SPACE;
    table[0x0c] = SPACE;
    table[b'\r' as usize] = SPACE;
    table[b'\n' as usize] = NEWLINE;
    table[0xc2] = MAYBE_SPACE;
    table[0xe1] = MAYBE_SPACE;
    table[0xe2] = MAYBE_SPACE;
    table[0xe3] = MAYBE_SPACE;
    table
};

/// The length of the whitespace character at byte `i` of `text` (a character boundary, or a
/// continuation byte, which is never whitespace), 0 for none.
#[inline(always)]
fn space_len(text: &str, i: usize) -> usize {
    match WHITESPACE_CLASS[usize::from(text.as_bytes()[i])] {
        PLAIN => 0,
        MAYBE_SPACE => text[i..]
            .chars()
            .next()
            .filter(|c| c.is_whitespace())
            .map_or(0, char::len_utf8),
        _ => 1,
    }
}

/// Bytes [`is_plain_block`] tests at once.
const PLAIN_BLOCK: usize = 32;

/// Whether the first [`PLAIN_BLOCK`] bytes of `block` (which holds one more) are printable
/// ASCII where every space is followed by something other than whitespace: text that
/// collapsing leaves as it is. Without branches, so that it is vectorized.
#[inline(always)]
fn is_plain_block(block: &[u8]) -> bool {
    let printable = |b: u8| b > b' ' && b < 0x7f;
    block
        .windows(2)
        .take(PLAIN_BLOCK)
        .fold(true, |plain, pair| {
            plain & (printable(pair[0]) | ((pair[0] == b' ') & printable(pair[1])))
        })
}

/// Runs of spaces become one space, runs of blank lines one newline; cut at `max_bytes` (at a
/// character boundary).
///
/// In one pass over the bytes, and the runs of words that single spaces separate (most of a
/// text) are copied whole: going character by character cost a third of [`html_to_text`], and
/// pushing byte by byte still half of it (callgrind over `benches/dedup.rs`). The result is
/// what splitting into lines and each line at `char::is_whitespace` gives (the test's
/// reference).
fn collapse_whitespace(text: &str, max_bytes: usize) -> String {
    /// What goes before the next word.
    enum Gap {
        Nothing,
        Space,
        Newline,
    }
    let bytes = text.as_bytes();
    // A string, not bytes to validate at the end: every run ends at whitespace or the end of
    // the text, so each slice of `text` copied is whole characters (validating the result
    // again cost 10 instructions a byte on text beyond ASCII).
    let mut out = String::with_capacity(text.len().min(max_bytes));
    let mut gap = Gap::Nothing;
    // Whether the current line has a word yet: blank lines and leading spaces leave no trace.
    let mut line_has_words = false;
    let mut i = 0;
    while i < bytes.len() && out.len() <= max_bytes {
        let space = space_len(text, i);
        if space > 0 {
            if bytes[i] == b'\n' {
                if line_has_words {
                    gap = Gap::Newline;
                    line_has_words = false;
                }
            } else if line_has_words {
                gap = Gap::Space;
            }
            i += space;
            continue;
        }
        // A run of words with one ASCII space between each two, from here to the next other
        // whitespace. (Continuation bytes of UTF-8 are PLAIN: the walk may step onto them.)
        let start = i;
        i += 1;
        // Where the walk next tries whole blocks: after a block that is not plain, only a block
        // further on, so that text which is rarely plain (any script but Latin) pays one test
        // per block, not one per byte (that made Cyrillic 1.8 times as slow as before blocks).
        let mut next_block = i;
        while i < bytes.len() {
            // Whole blocks of printable ASCII with single spaces first: one test a block, not
            // a branch at every word's end that the processor guesses wrong about once a word.
            if i >= next_block {
                while let Some(block) = bytes.get(i..i + PLAIN_BLOCK + 1)
                    && is_plain_block(block)
                {
                    i += PLAIN_BLOCK;
                }
                next_block = i + PLAIN_BLOCK;
            }
            if space_len(text, i) == 0 {
                i += 1;
            } else if bytes[i] == b' ' && i + 1 < bytes.len() && space_len(text, i + 1) == 0 {
                i += 2;
            } else {
                break;
            }
        }
        match gap {
            Gap::Nothing => {}
            Gap::Space => out.push(' '),
            Gap::Newline => out.push('\n'),
        }
        gap = Gap::Nothing;
        line_has_words = true;
        out.push_str(&text[start..i]);
    }
    truncate_at_char(&mut out, max_bytes);
    out
}

fn truncate_at_char(s: &mut String, max_bytes: usize) {
    if s.len() > max_bytes {
        let mut cut = max_bytes;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// A link a reader can follow: absolute `http` or `https`. `javascript:`, `data:` and the like,
/// which a feed can use to run script in whatever later renders the link, are dropped.
fn web_link(link: &str) -> Option<String> {
    let link = strip_controls(link.trim());
    let parsed = Url::parse(&link).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| link.into_owned())
}

/// A title on one line, as plain text.
pub fn clean_title(title: &str) -> String {
    let text = html_to_text(title);
    let mut one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_at_char(&mut one_line, MAX_TITLE_BYTES);
    one_line
}

fn plausible_time(t: Option<chrono::DateTime<chrono::Utc>>, fetched: i64) -> Option<i64> {
    let ts = t?.timestamp();
    (EARLIEST_PLAUSIBLE..=fetched + FUTURE_SLACK_SECS)
        .contains(&ts)
        .then_some(ts)
}

fn content_key(title: &str, text: &str) -> String {
    let mut buf = String::with_capacity(title.len() + text.len() + 1);
    buf.push_str(title);
    buf.push('\n');
    buf.push_str(text);
    format!("{:016x}", xxh3_64(buf.as_bytes()))
}

/// Normalizes the entries of one document, fetched at `fetched` (unix seconds).
/// Entries that repeat an earlier entry exactly (same key) are dropped.
pub fn normalize_entries(entries: &[RawEntry], fetched: i64) -> Vec<NormalizedItem> {
    struct Draft<'a> {
        raw: &'a RawEntry,
        title: String,
        text: String,
        canonical: Option<String>,
        content: String,
    }
    let drafts: Vec<Draft> = entries
        .iter()
        .map(|raw| {
            let title = raw.title.as_deref().map(clean_title).unwrap_or_default();
            // Prefer the full content; the summary is often an excerpt of it.
            let body = raw
                .content
                .as_deref()
                .filter(|c| !c.trim().is_empty())
                .or(raw.summary.as_deref())
                .unwrap_or("");
            let text = html_to_text(body);
            let canonical = raw.link.as_deref().and_then(canonical_url);
            let content = content_key(&title, &text);
            Draft {
                raw,
                title,
                text,
                canonical,
                content,
            }
        })
        .collect();

    // A URL shared by entries with different content (a homepage link) identifies nothing.
    let mut contents_per_url: HashMap<&str, HashSet<&str>> = HashMap::new();
    for d in &drafts {
        if let Some(c) = &d.canonical {
            contents_per_url.entry(c).or_default().insert(&d.content);
        }
    }
    let identifying = |c: &str| contents_per_url.get(c).is_some_and(|s| s.len() == 1);

    let mut seen_keys = HashSet::new();
    // The content each guid was first seen with: a later entry under that guid with other
    // content is another item; with the same content it is a repeat.
    let mut first_content_by_guid: HashMap<&str, &str> = HashMap::new();
    let mut items = Vec::with_capacity(drafts.len());
    for d in &drafts {
        let canonical = d.canonical.clone().filter(|c| identifying(c));
        let guid = d
            .raw
            .guid
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty());
        let key = match (guid, &canonical) {
            (Some(g), _) => match first_content_by_guid.entry(g).or_insert(&d.content) {
                first if *first == d.content => format!("g:{g}"),
                _ => format!("g:{g}#{}", d.content),
            },
            (None, Some(url)) => format!("u:{url}"),
            (None, None) => format!("h:{}", d.content),
        };
        if !seen_keys.insert(key.clone()) {
            continue;
        }
        items.push(NormalizedItem {
            guid: guid.map_or_else(|| key.clone(), str::to_string),
            key,
            url: d.raw.link.as_deref().and_then(web_link),
            canonical_url: canonical,
            title: d.title.clone(),
            text: d.text.clone(),
            published: plausible_time(d.raw.published, fetched)
                .or_else(|| plausible_time(d.raw.updated, fetched)),
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`collapse_whitespace`] must give: lines split at `\n`, each line's words split at
    /// `char::is_whitespace` and joined by one space, blank lines dropped, cut at a character
    /// boundary.
    fn reference_collapse(text: &str, max_bytes: usize) -> String {
        let mut out = text
            .split('\n')
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        truncate_at_char(&mut out, max_bytes);
        out
    }

    /// The byte walk collapses as the reference does, for every ASCII whitespace and control
    /// character, whitespace and other characters beyond ASCII, and any cut.
    #[test]
    fn whitespace_collapses_as_the_reference_does() {
        const PIECES: &[&str] = &[
            "a",
            "word",
            " ",
            "  ",
            "\t",
            "\n",
            "\n\n",
            "\r",
            "\x0b",
            "\x0c",
            "\x1c",
            "\x1f",
            "\x00",
            "\x7f",
            ".",
            "x y",
            "\u{a0}",
            "\u{85}",
            "\u{2003}",
            "\u{3000}",
            "\u{2028}",
            "\u{201c}",
            "\u{e9}",
            "\u{2014}",
            "\u{1f600}",
            // Longer than a block of the byte walk: plain, and with a double space.
            "the quick brown fox jumps over the lazy dog and runs away",
            "a plain line of text that is long enough  for two blocks of it",
        ];
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for _ in 0..20000 {
            let text: String = (0..next() % 30)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let cut = (next() % 400) as usize;
            assert_eq!(
                collapse_whitespace(&text, cut),
                reference_collapse(&text, cut),
                "{text:?} cut at {cut}"
            );
        }
        // Every character, between words and alone.
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            for text in [format!("ab {c} cd"), format!("ab{c}cd"), c.to_string()] {
                assert_eq!(
                    collapse_whitespace(&text, 100),
                    reference_collapse(&text, 100),
                    "{:#x}",
                    c as u32
                );
            }
        }
    }

    #[test]
    fn the_byte_test_for_removable_characters_agrees_with_the_character_test() {
        // Every Unicode scalar value, alone and between two letters.
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let alone = c.to_string();
            let inside = format!("a{c}b");
            assert_eq!(
                has_removable(alone.as_bytes()),
                is_removable(c),
                "{:#x}",
                c as u32
            );
            assert_eq!(
                has_removable(inside.as_bytes()),
                is_removable(c),
                "{:#x}",
                c as u32
            );
        }
        assert_eq!(strip_controls("a\u{1b}[31mb\u{202e}c\u{feff}"), "a[31mbc");
        assert!(matches!(
            strip_controls("plain \u{2019}quoted\u{2019}"),
            Cow::Borrowed(_)
        ));
    }
    use chrono::TimeZone;

    #[test]
    fn canonical_url_drops_tracking_fragment_and_default_port() {
        assert_eq!(
            canonical_url("HTTPS://News.Example.COM:443/a/1?utm_source=rss&id=7&fbclid=x#top")
                .unwrap(),
            "https://news.example.com/a/1?id=7"
        );
        assert_eq!(
            canonical_url("http://example.com:80/a?utm_medium=feed").unwrap(),
            "http://example.com/a"
        );
        assert_eq!(canonical_url("mailto:x@example.com"), None);
    }

    #[test]
    fn html_becomes_plain_text() {
        let html = "<p>Fish &amp; chips&nbsp;<b>now</b></p><script>alert(1)</script><style>p{}</style><p>Caf&eacute; \u{1b}[31mred\u{202e}</p><!-- note -->";
        assert_eq!(html_to_text(html), "Fish & chips now\nCafé [31mred");
        assert_eq!(html_to_text("a < b and c>d"), "a < b and c>d");
        assert_eq!(
            clean_title("  Breaking:\n <em>storm</em>  hits "),
            "Breaking: storm hits"
        );
    }

    fn entry(guid: Option<&str>, link: Option<&str>, title: &str) -> RawEntry {
        RawEntry {
            guid: guid.map(str::to_string),
            link: link.map(str::to_string),
            title: Some(title.into()),
            summary: Some(format!("<p>{title} body</p>")),
            ..RawEntry::default()
        }
    }

    #[test]
    fn identity_keys_follow_the_design_rules() {
        let entries = vec![
            entry(Some("g1"), Some("https://x.example/1"), "One"),
            entry(
                Some("g1"),
                Some("https://x.example/2"),
                "Two reuses the guid",
            ),
            entry(None, Some("https://x.example/3?utm_source=a"), "Three"),
            entry(None, None, "Four has nothing"),
            entry(None, Some("https://x.example/"), "Five on the homepage"),
            entry(None, Some("https://x.example/"), "Six on the homepage"),
            // An exact repeat of the first entry, after another item under its guid.
            entry(Some("g1"), Some("https://x.example/1"), "One"),
        ];
        let items = normalize_entries(&entries, 1_800_000_000);
        assert_eq!(items.len(), 6, "the repeat is the first item again");
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys[0], "g:g1");
        assert!(keys[1].starts_with("g:g1#"), "{}", keys[1]);
        assert_eq!(keys[2], "u:https://x.example/3");
        assert!(keys[3].starts_with("h:"));
        assert!(keys[4].starts_with("h:") && keys[5].starts_with("h:") && keys[4] != keys[5]);
        assert_eq!(items[4].canonical_url, None);
        assert_eq!(items[3].guid, items[3].key);
        // Stable across polls.
        assert_eq!(
            normalize_entries(&entries, 1_800_000_100),
            items
                .iter()
                .map(|i| NormalizedItem { ..i.clone() })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn only_web_links_are_kept() {
        let link = |l: &str| {
            normalize_entries(&[entry(Some("g"), Some(l), "T")], 0)[0]
                .url
                .clone()
        };
        assert_eq!(
            link(" https://x.example/a\u{1b}b "),
            Some("https://x.example/ab".into())
        );
        assert_eq!(link("http://x.example/"), Some("http://x.example/".into()));
        for hostile in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>",
            "vbscript:x",
            "file:///etc/passwd",
            "/relative/never/resolved",
        ] {
            assert_eq!(link(hostile), None, "{hostile}");
        }
    }

    #[test]
    fn absurd_dates_are_dropped() {
        let fetched = 1_800_000_000;
        let mut e = entry(Some("g"), None, "T");
        e.published = Some(chrono::Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(normalize_entries(&[e.clone()], fetched)[0].published, None);
        e.published = Some(chrono::Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(normalize_entries(&[e.clone()], fetched)[0].published, None);
        e.published = chrono::Utc.timestamp_opt(fetched - 3600, 0).single();
        assert_eq!(
            normalize_entries(&[e], fetched)[0].published,
            Some(fetched - 3600)
        );
    }
}
