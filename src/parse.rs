//! The parser: the only module that knows `feed_rs`. Raw bytes in, [`ParsedFeed`] out.
//!
//! feed-rs is strict (one invalid byte, a bare `&`, `<rss>` without a version or junk before the
//! root fails the whole document), so a failed parse is retried once on a repaired copy, the way
//! browsers and hosted readers are lenient. A panic inside feed-rs is caught here and becomes an
//! error on that feed; it never reaches the caller.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, Utc};

/// At most this many entries are taken from one document: a feed of 100k items is hostile.
pub const MAX_ENTRIES: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct ParsedFeed {
    pub title: Option<String>,
    /// RSS `<ttl>`, in minutes: the publisher's hint for how often to poll.
    pub ttl_minutes: Option<u32>,
    pub entries: Vec<RawEntry>,
    /// True when the document only parsed after the repair pass.
    pub repaired: bool,
    /// Entries dropped beyond [`MAX_ENTRIES`].
    pub truncated: usize,
}

/// One entry as the document gave it; text fields may hold HTML.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    /// The guid or id as written in the document (never one made up by the parser).
    pub guid: Option<String>,
    /// The entry's link, resolved against the document's URL.
    pub link: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a valid RSS, Atom or JSON feed: {0}")]
    Invalid(String),
    #[error("the feed parser crashed on this document ({0}); the feed is skipped until it changes")]
    Panicked(String),
}

/// Parses `body`, fetched from `base_url` (after redirects; relative links resolve against it).
pub fn parse_feed(body: &[u8], base_url: &str) -> Result<ParsedFeed, ParseError> {
    // quick-xml panics when it has to switch to UTF-16 after reading the prolog: such documents
    // are turned into UTF-8 first.
    let transcoded = utf16_to_utf8(body);
    let body = transcoded.as_deref().unwrap_or(body);
    // It panics too on an XML declaration after the start and on a long or odd one (both found
    // by fuzzing): the document's own declaration is decoded here and replaced by a plain UTF-8
    // one, and late ones are dropped (never valid XML).
    let cleaned = without_late_declarations(body);
    let body = cleaned.as_deref().unwrap_or(body);
    let prolog = plain_prolog(body);
    let body = prolog.as_deref().unwrap_or(body);
    match parse_contained(body, base_url) {
        Ok(feed) => Ok(feed),
        Err(first_error) => {
            let Some(repaired) = repair(body) else {
                return Err(first_error);
            };
            match parse_contained(&repaired, base_url) {
                Ok(mut feed) => {
                    feed.repaired = true;
                    Ok(feed)
                }
                // The original error describes the document the publisher sent.
                Err(_) => Err(first_error),
            }
        }
    }
}

fn parse_contained(body: &[u8], base_url: &str) -> Result<ParsedFeed, ParseError> {
    contain_panic(|| {
        feed_rs::parser::Builder::new()
            .base_uri(Some(base_url))
            // Leave missing ids empty: feed-rs would otherwise invent a random one per parse, and
            // feedfold computes its own stable identity key in the normalizer.
            .id_generator(|_, _, _| String::new())
            .sanitize_content(false)
            .build()
            .parse(body)
            .map(convert)
            .map_err(|e| e.to_string())
    })
}

/// Runs `parse`, turning a panic inside it into [`ParseError::Panicked`].
fn contain_panic<T>(parse: impl FnOnce() -> Result<T, String>) -> Result<T, ParseError> {
    match catch_unwind(AssertUnwindSafe(parse)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(ParseError::Invalid(message)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(ParseError::Panicked(message))
        }
    }
}

fn convert(feed: feed_rs::model::Feed) -> ParsedFeed {
    let total = feed.entries.len();
    let entries = feed
        .entries
        .into_iter()
        .take(MAX_ENTRIES)
        .map(|e| {
            let link = e
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .or(e.links.first())
                .map(|l| l.href.clone());
            RawEntry {
                guid: Some(e.id).filter(|id| !id.trim().is_empty()),
                link,
                title: e.title.map(|t| t.content),
                summary: e.summary.map(|t| t.content),
                content: e.content.and_then(|c| c.body),
                published: e.published,
                updated: e.updated,
            }
        })
        .collect();
    ParsedFeed {
        title: feed.title.map(|t| t.content),
        ttl_minutes: feed.ttl,
        entries,
        repaired: false,
        truncated: total.saturating_sub(MAX_ENTRIES),
    }
}

/// A repaired copy of an XML document, or `None` when there is nothing to repair (JSON, or a
/// document the repairs do not change).
fn repair(body: &[u8]) -> Option<Vec<u8>> {
    let text = decode_lossy(body);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        return None;
    }
    let mut fixed = String::with_capacity(text.len() + 64);
    // Junk before the root (a PHP warning, a stray line): start at the prolog or the root element.
    let lower = text.to_ascii_lowercase();
    let start = ["<?xml", "<rss", "<feed", "<rdf:rdf"]
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(0);
    let text = &text[start..];
    // The text is UTF-8 now, whatever the prolog declared.
    let text = replace_declared_encoding(text);
    // A content type feed-rs does not know (`<content type="application/xhtml+xml">`, an empty
    // one) fails the whole feed: each becomes the Atom type it amounts to.
    let text = with_known_content_types(&text);
    escape_stray_ampersands(&text, &mut fixed);
    // `<rss>` without a version, or with one feed-rs does not know (0.93, 0.94, 2.01: the 0.9x
    // line and 2.0 share their elements), is refused by feed-rs; 2.0 is what such feeds are.
    // So are items without a channel.
    if let Some(pos) = fixed.find("<rss") {
        let tag_end = fixed[pos..]
            .find('>')
            .map(|e| pos + e)
            .unwrap_or(fixed.len());
        // Items straight under `<rss>`, with no `<channel>` around them, get one.
        let after_tag = fixed[(tag_end + 1).min(fixed.len())..].trim_start();
        if after_tag.starts_with("<item")
            && !fixed.contains("<channel")
            && let Some(close) = fixed.rfind("</rss>")
        {
            fixed.insert_str(close, "</channel>");
            fixed.insert_str(tag_end + 1, "<channel>");
        }
        match rss_version(&fixed[pos..tag_end]) {
            None => fixed.insert_str(pos + 4, " version=\"2.0\""),
            Some((start, end))
                if !matches!(&fixed[pos + start..pos + end], "0.91" | "0.92" | "2.0") =>
            {
                fixed.replace_range(pos + start..pos + end, "2.0");
            }
            Some(_) => {}
        }
    }
    (fixed.as_bytes() != body).then(|| fixed.into_bytes())
}

/// The document with every ` type="…"` value that is not an Atom text type (`text`, `html`,
/// `xhtml`) replaced (this runs only after a first parse failed): XHTML types by `xhtml`, HTML
/// ones by `html`, anything else (`text/plain`, `xml`, `pdf`, `image/jpeg`, an empty value) by
/// `text`: the entry keeps its title and link, and a body it cannot show is only text. Link
/// `type`s are changed too, which nothing reads.
fn with_known_content_types(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find(" type=") {
        let after_equals = search + found + " type=".len();
        let Some(quote @ ('"' | '\'')) = text[after_equals..].chars().next() else {
            // Not a quoted value: look on from here (`after_equals` is a character boundary,
            // one byte further may not be).
            search = after_equals;
            continue;
        };
        let value_start = after_equals + 1;
        let Some(len) = text[value_start..].find(quote) else {
            break;
        };
        let value = &text[value_start..value_start + len];
        let lower = value.trim().to_ascii_lowercase();
        let replacement = match lower.as_str() {
            "text" | "html" | "xhtml" => None,
            _ if lower.contains("xhtml") => Some("xhtml"),
            _ if lower.contains("html") => Some("html"),
            // Feed-level and link types (`application/rss+xml`, `image/png` on an enclosure)
            // reach here too; as text types they are equally harmless.
            _ => Some("text"),
        };
        if let Some(replacement) = replacement {
            out.push_str(&text[copied..value_start]);
            out.push_str(replacement);
            copied = value_start + len;
        }
        search = value_start + len;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Where the value of the `version` attribute of an `<rss …` start tag is (byte range in `tag`).
fn rss_version(tag: &str) -> Option<(usize, usize)> {
    let at = tag.find("version")?;
    let rest = &tag[at + "version".len()..];
    let eq = rest.find('=')?;
    let after_eq = &rest[eq + 1..];
    let quote_at = after_eq.find(['"', '\''])?;
    let quote = after_eq[quote_at..].chars().next()?;
    let value_start = at + "version".len() + eq + 1 + quote_at + 1;
    let value_len = tag[value_start..].find(quote)?;
    Some((value_start, value_start + value_len))
}

/// A document that opens with an XML declaration, decoded to UTF-8 by the encoding it declares
/// and opened by `<?xml version="1.0" encoding="utf-8"?>` instead; `None` when it has no
/// declaration or already the plain one.
fn plain_prolog(body: &[u8]) -> Option<Vec<u8>> {
    const PLAIN: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>";
    let start = skip_bom_and_space(body);
    if !start
        .get(..5)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"<?xml"))
        || start.starts_with(PLAIN)
    {
        return None;
    }
    let text = decode_lossy(body);
    // `decode_lossy` dropped a byte-order mark; find the declaration's end in the text.
    let text_start = text.trim_start_matches('\u{feff}').trim_start();
    let text_end = text_start.find("?>").map(|e| e + 2)?;
    let mut out = Vec::with_capacity(text_start.len() + PLAIN.len());
    out.extend_from_slice(PLAIN);
    out.extend_from_slice(&text_start.as_bytes()[text_end..]);
    Some(out)
}

/// The document from its first character that is not a UTF-8 byte-order mark or white space.
pub(crate) fn skip_bom_and_space(body: &[u8]) -> &[u8] {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let first = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    &body[first..]
}

/// The document without the `<?xml ...?>` declarations that do not open it; `None` when there
/// are none.
fn without_late_declarations(body: &[u8]) -> Option<Vec<u8>> {
    let is_declaration = |at: usize| {
        body.get(at..at + 5)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"<?xml"))
            && body
                .get(at + 5)
                .is_none_or(|c| c.is_ascii_whitespace() || *c == b'?')
    };
    let first = body.len() - skip_bom_and_space(body).len();
    let late: Vec<usize> = (first + 1..body.len().saturating_sub(4))
        .filter(|&i| body[i] == b'<' && is_declaration(i))
        .collect();
    if late.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut from = 0;
    for at in late {
        if at < from {
            continue;
        }
        out.extend_from_slice(&body[from..at]);
        from = body[at..]
            .windows(2)
            .position(|w| w == b"?>")
            .map_or(body.len(), |end| at + end + 2);
    }
    out.extend_from_slice(&body[from.min(body.len())..]);
    Some(out)
}

/// A UTF-16 document (by its byte-order mark, or by `<?` in UTF-16 without one) as UTF-8 with
/// its declaration saying so; `None` for anything else.
fn utf16_to_utf8(body: &[u8]) -> Option<Vec<u8>> {
    let encoding = match body {
        [0xFE, 0xFF, ..] | [0x00, b'<', 0x00, b'?', ..] => encoding_rs::UTF_16BE,
        [0xFF, 0xFE, ..] | [b'<', 0x00, b'?', 0x00, ..] => encoding_rs::UTF_16LE,
        _ => return None,
    };
    // `decode` drops a byte-order mark; without one the sniffed encoding applies.
    let (text, _, _) = encoding.decode(body);
    Some(replace_declared_encoding(&text).into_owned().into_bytes())
}

/// Decodes with the encoding the prolog declares (UTF-8 when none), replacing invalid bytes.
fn decode_lossy(body: &[u8]) -> Cow<'_, str> {
    let head = String::from_utf8_lossy(&body[..body.len().min(200)]).to_ascii_lowercase();
    let declared = head
        .find("encoding=")
        .and_then(|i| {
            let rest = &head[i + 9..];
            // The declared name sits between quotes; anything else (a stray byte, found by
            // fuzzing) declares nothing.
            let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
            let rest = &rest[quote.len_utf8()..];
            rest.find(quote).map(|end| rest[..end].to_string())
        })
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = declared.decode(body);
    text
}

fn replace_declared_encoding(text: &str) -> Cow<'_, str> {
    if !text.starts_with("<?xml") {
        return Cow::Borrowed(text);
    }
    let Some(end) = text.find("?>") else {
        return Cow::Borrowed(text);
    };
    Cow::Owned(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"{}",
        &text[end..]
    ))
}

/// Turns `&` that does not start a character reference into `&amp;`, and HTML named entities
/// that XML does not know (`&nbsp;`, `&eacute;`) into numeric references.
fn escape_stray_ampersands(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let reference_len = after
            .char_indices()
            .take(32)
            .find(|&(_, c)| c == ';' || !(c.is_ascii_alphanumeric() || c == '#'))
            .filter(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        match reference_len {
            Some(len) if len > 0 => {
                let name = &after[..len];
                if let Some(number) = name.strip_prefix('#') {
                    match referenced_char(number) {
                        // NUL, a surrogate or a number beyond Unicode fails the whole document
                        // in an XML parser; the character is dropped instead (the normalizer
                        // strips the other controls).
                        Some(Some(c)) if c != '\0' => {
                            out.push('&');
                            out.push_str(name);
                            out.push(';');
                        }
                        Some(_) => {}
                        None => {
                            out.push_str("&amp;");
                            out.push_str(name);
                            out.push(';');
                        }
                    }
                } else if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
                    out.push('&');
                    out.push_str(name);
                    out.push(';');
                } else {
                    let entity = format!("&{name};");
                    let decoded = html_escape::decode_html_entities(&entity);
                    if decoded != entity {
                        for c in decoded.chars() {
                            out.push_str(&format!("&#{};", c as u32));
                        }
                    } else {
                        out.push_str("&amp;");
                        out.push_str(name);
                        out.push(';');
                    }
                }
                rest = &after[len + 1..];
            }
            _ => {
                out.push_str("&amp;");
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// The character a numeric reference (`#` removed: `233`, `xE9`) names: `None` when it is not a
/// number, `Some(None)` when the number is no character.
fn referenced_char(number: &str) -> Option<Option<char>> {
    let value = match number.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => number.parse::<u32>(),
    };
    match value {
        Ok(v) => Some(char::from_u32(v)),
        // Digits too many for a u32 are still a number, and no character.
        Err(_)
            if !number.is_empty()
                && number
                    .trim_start_matches(['x', 'X'])
                    .chars()
                    .all(|c| c.is_ascii_hexdigit()) =>
        {
            Some(None)
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document a fuzzing run found (`tests/fixtures/fuzz/`).
    fn fuzz_fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn odd_declarations_are_replaced_and_declared_encodings_still_apply() {
        // Found by `cargo fuzz run parse_normalize`: quick-xml panicked on a long declaration.
        let body = fuzz_fixture("long-declaration.xml");
        let result = parse_feed(&body, "https://x.example/feed");
        assert!(
            !matches!(result, Err(ParseError::Panicked(_))),
            "{result:?}"
        );
        // A Latin-1 document keeps its accents.
        let latin = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss version=\"2.0\"><channel><title>T</title><item><title>Caf\xe9</title><link>https://x.example/a</link></item></channel></rss>";
        let feed = parse_feed(latin, "https://x.example/feed").unwrap();
        assert_eq!(feed.entries[0].title.as_deref(), Some("Caf\u{e9}"));
    }

    #[test]
    fn a_feed_rs_panic_on_an_author_is_contained() {
        // Found by `cargo fuzz run parse_normalize`: feed-rs slices inside a character after an
        // e-mail address in <author>. Contained: the feed is an error, the daemon goes on.
        let body = fuzz_fixture("author-email-multibyte.xml");
        let result = std::panic::catch_unwind(|| parse_feed(&body, "https://x.example/feed"));
        assert!(result.is_ok(), "the panic does not escape parse_feed");
    }

    #[test]
    fn a_declared_encoding_without_quotes_is_no_panic() {
        // Found by `cargo fuzz run parse_normalize`: the repair pass sliced inside a character.
        let body = fuzz_fixture("encoding-not-quoted.xml");
        let result = std::panic::catch_unwind(|| parse_feed(&body, "https://x.example/feed"));
        assert!(result.is_ok(), "parse_feed panicked");
        assert!(!matches!(result.unwrap(), Err(ParseError::Panicked(_))));
    }

    #[test]
    fn a_late_xml_declaration_is_dropped_not_a_panic() {
        // Found by `cargo fuzz run parse_normalize`: quick-xml panicked on it.
        let body = fuzz_fixture("late-xml-declaration.xml");
        let result = parse_feed(&body, "https://x.example/feed");
        assert!(
            !matches!(result, Err(ParseError::Panicked(_))),
            "{result:?}"
        );
        let doc = b"<rss version=\"2.0\"><channel><title>T</title><?xml version='1.0' encoding='iso-8859-1'?><item><title>A</title><link>https://x.example/a</link></item></channel></rss>";
        let feed = parse_feed(doc, "https://x.example/feed").unwrap();
        assert_eq!(feed.entries.len(), 1);
        // A declaration at the start stays.
        assert_eq!(
            without_late_declarations(b"  <?xml version='1.0'?><rss/>"),
            None
        );
    }

    #[test]
    fn utf16_documents_parse_with_or_without_a_byte_order_mark() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss version=\"2.0\"><channel><title>T</title><item><title>Caf\u{e9} news</title><link>https://x.example/1</link></item></channel></rss>";
        let be: Vec<u8> = xml.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let le: Vec<u8> = xml.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for body in [
            be.clone(),
            [vec![0xFE, 0xFF], be].concat(),
            le.clone(),
            [vec![0xFF, 0xFE], le].concat(),
        ] {
            let feed = parse_feed(&body, "https://x.example/feed").unwrap();
            assert_eq!(feed.entries.len(), 1);
            assert_eq!(feed.entries[0].title.as_deref(), Some("Caf\u{e9} news"));
        }
    }

    const BASE: &str = "https://news.example.org/feeds/world.xml";

    #[test]
    fn rss_entries_keep_their_guid_and_absolute_links() {
        let xml =
            br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>60</ttl>
            <item><title>A</title><link>/p/1</link><guid>g-1</guid></item>
            <item><title>B</title><description>only text</description></item>
            </channel></rss>"#;
        let feed = parse_feed(xml, BASE).unwrap();
        assert_eq!(feed.ttl_minutes, Some(60));
        assert_eq!(feed.entries.len(), 2);
        assert_eq!(feed.entries[0].guid.as_deref(), Some("g-1"));
        assert_eq!(
            feed.entries[0].link.as_deref(),
            Some("https://news.example.org/p/1")
        );
        // No guid, no link: the parser must not invent an id.
        assert_eq!(feed.entries[1].guid, None);
        assert_eq!(feed.entries[1].link, None);
        assert!(!feed.repaired);
    }

    #[test]
    fn broken_documents_that_browsers_accept_are_repaired() {
        let xml = b"Warning: junk\n<rss><channel><title>T &amp; U</title>\n<item><title>Fish & chips&nbsp;today</title><guid>1</guid><description>caf\xE9</description></item></channel></rss>";
        let feed = parse_feed(xml, BASE).unwrap();
        assert!(feed.repaired);
        assert_eq!(feed.entries.len(), 1);
        assert_eq!(
            feed.entries[0].title.as_deref(),
            Some("Fish & chips\u{a0}today")
        );
        assert_eq!(feed.entries[0].summary.as_deref(), Some("caf\u{fffd}"));
    }

    #[test]
    fn a_type_attribute_before_a_multibyte_character_is_no_panic() {
        // Found by fuzzing the repair pass: `type=` followed by an invalid byte (U+FFFD after
        // the lossy decode, three bytes) sliced inside that character.
        let body = fuzz_fixture("content-type-before-a-multibyte-character.xml");
        // An Atom feed without entries once repaired: no panic, nothing made up.
        let feed = parse_feed(&body, BASE);
        assert!(feed.is_ok_and(|f| f.entries.is_empty()));
        assert_eq!(
            with_known_content_types("<a type=\u{fffd}x\" type=\"\u{e9}\"/>"),
            "<a type=\u{fffd}x\" type=\"text\"/>"
        );
    }

    #[test]
    fn content_types_feed_rs_refuses_become_text_types() {
        for (declared, body) in [
            ("application/octet-stream", "AAEC"),
            ("image/jpeg", "AAEC"),
            ("xml", "plain"),
            ("", "plain"),
            (
                "application/xhtml+xml",
                "<div xmlns='http://www.w3.org/1999/xhtml'>x</div>",
            ),
            (
                "text/xhtml",
                "<div xmlns='http://www.w3.org/1999/xhtml'>x</div>",
            ),
        ] {
            let xml = format!(
                "<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><entry><id>e1</id><title>Kept</title><link href='https://x.example/1' type='text/html'/><content type='{declared}'>{body}</content></entry></feed>"
            );
            let feed =
                parse_feed(xml.as_bytes(), BASE).unwrap_or_else(|e| panic!("{declared}: {e}"));
            assert_eq!(feed.entries.len(), 1, "{declared}");
            assert_eq!(feed.entries[0].title.as_deref(), Some("Kept"));
            assert_eq!(feed.entries[0].link.as_deref(), Some("https://x.example/1"));
        }
        assert_eq!(
            with_known_content_types(r#"<a type="TEXT/HTML"/><b type='x/y'/><c type="html"/>"#),
            r#"<a type="html"/><b type='text'/><c type="html"/>"#
        );
    }

    #[test]
    fn rss_versions_feed_rs_does_not_know_are_read_as_2_0() {
        for version in ["0.93", "0.94", "2.01", "2.1", "junk"] {
            let xml = format!(
                "<rss version='{version}'><channel><title>t</title><item><guid>1</guid><title>x</title></item></channel></rss>"
            );
            let feed =
                parse_feed(xml.as_bytes(), BASE).unwrap_or_else(|e| panic!("{version}: {e}"));
            assert!(feed.repaired, "{version}");
            assert_eq!(feed.entries.len(), 1, "{version}");
        }
        // Items with no channel around them.
        let xml = b"<rss>\n<item><guid>1</guid><title>x</title></item><item><guid>2</guid><title>y</title></item>\n</rss>";
        assert_eq!(parse_feed(xml, BASE).unwrap().entries.len(), 2);
        // Known versions parse as they are.
        let xml = b"<rss version=\"0.91\"><channel><title>t</title><item><title>x</title></item></channel></rss>";
        assert!(!parse_feed(xml, BASE).unwrap().repaired);
        let tag = r#"<rss xmlns:a="b" version = "0.93""#;
        let (start, end) = rss_version(tag).unwrap();
        assert_eq!(&tag[start..end], "0.93");
    }

    #[test]
    fn references_to_characters_xml_forbids_are_dropped() {
        let xml = b"<rss version=\"2.0\"><channel><item><guid>1</guid><title>a&#0;b&#x0;c&#xD800;d&#99999999999;e&#27;f&#xe9;&#zz;</title></item></channel></rss>";
        let feed = parse_feed(xml, BASE).unwrap();
        assert!(feed.repaired);
        assert_eq!(
            feed.entries[0].title.as_deref(),
            Some("abcde\u{1b}f\u{e9}&#zz;")
        );
        assert_eq!(referenced_char("x41"), Some(Some('A')));
        assert_eq!(referenced_char("65"), Some(Some('A')));
        assert_eq!(referenced_char("xD800"), Some(None));
        assert_eq!(referenced_char("zz"), None);
        assert_eq!(referenced_char(""), None);
    }

    #[test]
    fn latin1_declared_documents_decode() {
        let xml = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss><channel><item><title>caf\xE9</title><guid>1</guid></item></channel></rss>";
        let feed = parse_feed(xml, BASE).unwrap();
        assert_eq!(feed.entries[0].title.as_deref(), Some("caf\u{e9}"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let err = parse_feed(b"this is not a feed at all", BASE).unwrap_err();
        assert!(matches!(err, ParseError::Invalid(_)), "{err}");
    }

    #[test]
    fn a_panic_in_the_parser_becomes_an_error() {
        let err = contain_panic::<()>(|| panic!("index out of bounds")).unwrap_err();
        assert!(
            matches!(&err, ParseError::Panicked(m) if m == "index out of bounds"),
            "{err}"
        );
        assert!(err.to_string().contains("crashed"));
    }

    #[test]
    fn json_feed_parses() {
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","url":"https://x.example/1","title":"Hello","content_text":"Body"}]}"#;
        let feed = parse_feed(json, BASE).unwrap();
        assert_eq!(feed.entries.len(), 1);
        assert_eq!(feed.entries[0].guid.as_deref(), Some("1"));
    }
}
