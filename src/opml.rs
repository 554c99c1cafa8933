//! Feed lists in and out as OPML (pure).
//!
//! In: lenient, as the files people export from readers are: OPML 1.0 or 2.0 or no version,
//! junk around the document, HTML entities, broken nesting. Every `<outline>` with an `xmlUrl`
//! is a feed; the outlines it sits in (folders) and its `category` attribute become its tags.
//! Duplicates are skipped. Out: OPML 2.0, one folder per feed's first tag, every tag also in
//! `category`, so that an export imports back to the same feeds and tags.

use std::collections::HashSet;

use url::Url;

/// One feed read from an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    pub url: String,
    pub name: Option<String>,
    pub tags: Vec<String>,
}

/// What an OPML file held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OpmlList {
    pub feeds: Vec<OpmlFeed>,
    /// Feeds listed more than once in the file (the first is kept).
    pub duplicates: usize,
    /// Outlines whose `xmlUrl` is not an http(s) URL: (the value, why).
    pub invalid: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpmlError {
    #[error("not an OPML file: no <outline> element in it")]
    NoOutlines,
}

/// Reads a feed list from an OPML document (any encoding: invalid UTF-8 is replaced).
pub fn parse(document: &[u8]) -> Result<OpmlList, OpmlError> {
    let text = String::from_utf8_lossy(document);
    let text = text.trim_start_matches('\u{feff}');
    let mut list = OpmlList::default();
    let mut seen = HashSet::new();
    // The folders the scan is inside; `None` for an outline that names no folder.
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut outlines = 0;
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |end| &rest[end + 3..]);
            continue;
        }
        let Some(tag_end) = tag_end(rest) else { break };
        let tag = &rest[1..tag_end];
        rest = &rest[tag_end + 1..];
        let (closing, name_and_attributes) = match tag.strip_prefix('/') {
            Some(t) => (true, t),
            None => (false, tag),
        };
        let name_len = name_and_attributes
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(name_and_attributes.len());
        if !name_and_attributes[..name_len].eq_ignore_ascii_case("outline") {
            continue;
        }
        if closing {
            folders.pop();
            continue;
        }
        outlines += 1;
        let self_closing = tag.trim_end().ends_with('/');
        let attributes = attributes(&name_and_attributes[name_len..]);
        let get = |key: &str| {
            attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let label = get("title").or_else(|| get("text"));
        match get("xmlUrl") {
            Some(url) => {
                let mut tags: Vec<String> = folders.iter().flatten().cloned().collect();
                for category in get("category").iter().flat_map(|c| c.split(',')) {
                    // OPML 2.0 categories are slash-delimited paths ("/News/World"): the last
                    // part is the tag.
                    if let Some(tag) = category.rsplit('/').map(str::trim).find(|t| !t.is_empty()) {
                        tags.push(tag.to_string());
                    }
                }
                let mut unique = HashSet::new();
                tags.retain(|t| unique.insert(t.clone()));
                match web_url(&url) {
                    Ok(url) if !seen.insert(url.clone()) => list.duplicates += 1,
                    Ok(url) => list.feeds.push(OpmlFeed {
                        url,
                        name: label,
                        tags,
                    }),
                    Err(why) => list.invalid.push((url, why)),
                }
                if !self_closing {
                    folders.push(None);
                }
            }
            None if !self_closing => folders.push(label),
            None => {}
        }
    }
    if outlines == 0 {
        return Err(OpmlError::NoOutlines);
    }
    Ok(list)
}

/// Where the tag that `text` opens ends (its `>`), quotes respected.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// `key="value"` pairs (single, double or no quotes), values with entities decoded.
fn attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches('/').trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(end) => (&after[1..1 + end], &after[end + 2..]),
                None => (&after[1..], ""),
            },
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        // Only the last word before `=` is the key (junk before it is dropped).
        let key = key
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or("")
            .to_string();
        out.push((key, html_escape::decode_html_entities(value).into_owned()));
        rest = next.trim_start();
    }
    out
}

fn web_url(text: &str) -> Result<String, String> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url.to_string()),
        Ok(url) => Err(format!("scheme {:?} is not http or https", url.scheme())),
        Err(e) => Err(format!("not a URL ({e})")),
    }
}

/// A feed as listed by `opml export`.
pub struct ExportFeed<'a> {
    pub url: &'a str,
    pub name: Option<&'a str>,
    pub tags: &'a [String],
}

/// An OPML 2.0 document of `feeds`, created at `now` (unix seconds).
pub fn render(feeds: &[ExportFeed], now: i64) -> String {
    let attr = crate::export::xml_text;
    let outline = |f: &ExportFeed, indent: &str| {
        let name = f.name.unwrap_or(f.url);
        let mut line = format!(
            "{indent}<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"",
            attr(name),
            attr(f.url)
        );
        if !f.tags.is_empty() {
            let categories: Vec<String> = f.tags.iter().map(|t| format!("/{t}")).collect();
            line.push_str(&format!(" category=\"{}\"", attr(&categories.join(","))));
        }
        line.push_str("/>\n");
        line
    };
    let created = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
        .unwrap_or_default()
        .to_rfc2822();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>feedfold feeds</title>\n    <dateCreated>{created}</dateCreated>\n  </head>\n  <body>\n"
    );
    // Untagged feeds first, then one folder per first tag, in order of appearance.
    let mut folders: Vec<&str> = Vec::new();
    for f in feeds {
        match f.tags.first() {
            None => out.push_str(&outline(f, "    ")),
            Some(tag) if !folders.contains(&tag.as_str()) => folders.push(tag),
            Some(_) => {}
        }
    }
    for folder in folders {
        out.push_str(&format!(
            "    <outline text=\"{0}\" title=\"{0}\">\n",
            attr(folder)
        ));
        for f in feeds
            .iter()
            .filter(|f| f.tags.first().map(String::as_str) == Some(folder))
        {
            out.push_str(&outline(f, "      "));
        }
        out.push_str("    </outline>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(url: &str, name: Option<&str>, tags: &[&str]) -> OpmlFeed {
        OpmlFeed {
            url: url.into(),
            name: name.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn nested_outlines_become_tags_and_duplicates_are_skipped() {
        let opml = br#"<?xml version="1.0"?>
<opml version="2.0"><head><title>Mine</title></head><body>
  <outline text="News">
    <outline text="World">
      <outline type="rss" text="BBC &amp; World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    </outline>
    <outline type="rss" title="Guardian" text="ignored" xmlUrl="https://www.theguardian.com/world/rss" category="/Politics,/News/Europe"></outline>
  </outline>
  <!-- <outline xmlUrl="https://commented.example/out"/> -->
  <outline type="rss" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml" text="again"/>
  <outline type="rss" xmlurl="http://lower.example/feed" text="Lower&nbsp;case"/>
  <outline type="rss" xmlUrl="javascript:alert(1)" text="bad"/>
  <outline type="rss" xmlUrl="not a url" text="bad"/>
</body></opml>"#;
        let list = parse(opml).unwrap();
        assert_eq!(
            list.feeds,
            vec![
                feed(
                    "https://feeds.bbci.co.uk/news/world/rss.xml",
                    Some("BBC & World"),
                    &["News", "World"]
                ),
                feed(
                    "https://www.theguardian.com/world/rss",
                    Some("Guardian"),
                    &["News", "Politics", "Europe"]
                ),
                feed("http://lower.example/feed", Some("Lower\u{a0}case"), &[]),
            ]
        );
        assert_eq!(list.duplicates, 1);
        assert_eq!(list.invalid.len(), 2);
        assert!(list.invalid[0].1.contains("javascript"));
    }

    #[test]
    fn old_and_broken_files_still_give_their_feeds() {
        // OPML 1.0 without a declaration, no version, junk before it, unquoted and
        // single-quoted attributes, an outline never closed.
        let opml = b"junk line\n<opml><body><outline text=Tech><outline xmlUrl='https://a.example/rss' text='A'><outline xmlUrl=https://b.example/rss>\n</body></opml>";
        let list = parse(opml).unwrap();
        let urls: Vec<&str> = list.feeds.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(urls, ["https://a.example/rss", "https://b.example/rss"]);
        assert_eq!(list.feeds[0].tags, ["Tech"]);
        assert_eq!(
            parse(b"<html><body>no</body></html>"),
            Err(OpmlError::NoOutlines)
        );
        assert_eq!(parse(b"\xff\xfe garbage"), Err(OpmlError::NoOutlines));
    }

    #[test]
    fn mangled_files_never_panic() {
        // Deterministic mutations of a real-looking file: bytes replaced, inserted and cut,
        // favouring the characters the reader looks at and invalid UTF-8.
        let base = br#"<?xml version="1.0"?><opml version="2.0"><body><!-- c --><outline text="News"><outline type="rss" text="A &amp; B" xmlUrl="https://a.example/rss" category="/x,/y/z"/></outline><outline xmlUrl='http://b.example/' title=C></body></opml>"#;
        const SPECIAL: &[u8] = b"<>\"'=/-!&; \xff\xc3\xa9\xe2\x80";
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1du64);
        for _ in 0..5000 {
            let mut doc = base.to_vec();
            for _ in 0..1 + next() % 6 {
                let at = (next() as usize) % doc.len();
                let byte = SPECIAL[(next() as usize) % SPECIAL.len()];
                match next() % 3 {
                    0 => doc[at] = byte,
                    1 => doc.insert(at, byte),
                    _ => doc.truncate(at.max(1)),
                }
            }
            let _ = parse(&doc);
        }
    }

    #[test]
    fn export_imports_back_to_the_same_feeds() {
        let tags_world = vec!["world".to_string(), "europe".to_string()];
        let tags_tech = vec!["tech".to_string()];
        let feeds = [
            ExportFeed {
                url: "https://a.example/rss?x=1&y=2",
                name: Some("A \"quoted\" <name>\u{1b}"),
                tags: &tags_world,
            },
            ExportFeed {
                url: "https://b.example/rss",
                name: None,
                tags: &[],
            },
            ExportFeed {
                url: "https://c.example/rss",
                name: Some("C"),
                tags: &tags_tech,
            },
        ];
        let document = render(&feeds, 1_800_000_000);
        assert!(document.contains("<opml version=\"2.0\">"));
        assert!(!document.contains('\u{1b}'));
        let back = parse(document.as_bytes()).unwrap();
        assert_eq!(
            back.feeds,
            vec![
                feed("https://b.example/rss", Some("https://b.example/rss"), &[]),
                feed(
                    "https://a.example/rss?x=1&y=2",
                    Some("A \"quoted\" <name>"),
                    &["world", "europe"]
                ),
                feed("https://c.example/rss", Some("C"), &["tech"]),
            ]
        );
    }
}
