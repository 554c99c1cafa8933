//! The folded stream out (pure): one Atom or JSON Feed 1.1 entry per story, carrying the
//! representative's title and link and the other outlets' links ("also covered by"), so that
//! any feed reader can subscribe to feedfold's deduplicated view. Time comes in as an argument.
//!
//! Everything from a feed is escaped for the format it lands in; links are only ever `http` or
//! `https`, and characters XML cannot carry are dropped.

use std::collections::HashMap;

use serde::Serialize;

use crate::store::read::ClusterView;
use crate::timefmt::rfc3339;

/// Characters of a story's text quoted in its entry.
const EXCERPT_CHARS: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Atom,
    Json,
}

/// What the export is of, for the feed's own title (`feedfold: stories of the last 7d`), and
/// when it was made (the feed's `updated` when it has no entry).
pub struct ExportInfo<'a> {
    pub description: &'a str,
    pub generated: i64,
}

/// One story as exported.
struct Entry<'a> {
    id: String,
    title: &'a str,
    url: Option<&'a str>,
    first_seen: i64,
    last_seen: i64,
    excerpt: String,
    /// The other outlets: (feed's name or URL, item title, link).
    also: Vec<(String, &'a str, &'a str)>,
}

fn entries<'a>(
    stories: &'a [ClusterView],
    texts: &'a HashMap<i64, String>,
    feed_names: &HashMap<String, String>,
) -> Vec<Entry<'a>> {
    let name_of = |feed: &str| feed_names.get(feed).cloned().unwrap_or(feed.to_string());
    stories
        .iter()
        .map(|story| {
            let url = story.url.as_deref().filter(|u| is_web_link(u));
            let mut seen_links: Vec<&str> = url.into_iter().collect();
            let mut also = Vec::new();
            for item in &story.items {
                let Some(link) = item.url.as_deref().filter(|u| is_web_link(u)) else {
                    continue;
                };
                if seen_links.contains(&link) {
                    continue;
                }
                seen_links.push(link);
                also.push((name_of(&item.feed), item.title.as_str(), link));
            }
            let excerpt = story
                .representative
                .and_then(|id| texts.get(&id))
                .map(|t| excerpt(t))
                .unwrap_or_default();
            Entry {
                id: format!("urn:feedfold:story:{}", story.id),
                title: &story.title,
                url,
                first_seen: story.first_seen,
                last_seen: story.last_seen,
                excerpt,
                also,
            }
        })
        .collect()
}

/// The stories (newest first) as a document in `format`. `texts` holds the representatives'
/// text by item id; `feed_names` a display name per feed URL.
pub fn render(
    format: Format,
    info: &ExportInfo,
    stories: &[ClusterView],
    texts: &HashMap<i64, String>,
    feed_names: &HashMap<String, String>,
) -> String {
    let entries = entries(stories, texts, feed_names);
    match format {
        Format::Atom => atom(info, &entries),
        Format::Json => json_feed(info, &entries),
    }
}

fn is_web_link(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn excerpt(text: &str) -> String {
    let first_lines: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        format!("{}…", first_lines.trim_end())
    } else {
        first_lines
    }
}

/// The entry's body as HTML: the excerpt, then the other outlets' links.
fn body_html(entry: &Entry) -> String {
    let mut html = String::new();
    for paragraph in entry.excerpt.lines().filter(|l| !l.trim().is_empty()) {
        html.push_str(&format!("<p>{}</p>", html_escape::encode_text(paragraph)));
    }
    if !entry.also.is_empty() {
        html.push_str("<p>Also covered by:</p><ul>");
        for (feed, title, link) in &entry.also {
            html.push_str(&format!(
                "<li>{}: <a href=\"{}\">{}</a></li>",
                html_escape::encode_text(feed),
                html_escape::encode_double_quoted_attribute(link),
                html_escape::encode_text(title)
            ));
        }
        html.push_str("</ul>");
    }
    html
}

/// Text safe inside XML 1.0 content and attribute values: markup characters escaped,
/// characters XML forbids dropped, and C1 controls and bidirectional overrides written as
/// character references (they decode to the same text, and never reach a terminal raw when the
/// document is printed).
pub(crate) fn xml_text(text: &str) -> String {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || matches!(c, '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|&c| allowed(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\u{7f}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}' => out.push_str(&format!("&#x{:x};", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

fn atom(info: &ExportInfo, entries: &[Entry]) -> String {
    let updated = entries
        .iter()
        .map(|e| e.last_seen)
        .max()
        .unwrap_or(info.generated);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!(
        "  <id>urn:feedfold:export</id>\n  <title>{}</title>\n  <updated>{}</updated>\n  <author><name>feedfold</name></author>\n  <generator version=\"{}\">feedfold</generator>\n",
        xml_text(&format!("feedfold: {}", info.description)),
        rfc3339(updated),
        env!("CARGO_PKG_VERSION")
    ));
    for e in entries {
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <id>{}</id>\n", xml_text(&e.id)));
        out.push_str(&format!(
            "    <title type=\"text\">{}</title>\n",
            xml_text(e.title)
        ));
        if let Some(url) = e.url {
            out.push_str(&format!(
                "    <link rel=\"alternate\" href=\"{}\"/>\n",
                xml_text(url)
            ));
        }
        for (feed, _, link) in &e.also {
            out.push_str(&format!(
                "    <link rel=\"related\" href=\"{}\" title=\"{}\"/>\n",
                xml_text(link),
                xml_text(feed)
            ));
        }
        out.push_str(&format!(
            "    <published>{}</published>\n    <updated>{}</updated>\n",
            rfc3339(e.first_seen),
            rfc3339(e.last_seen)
        ));
        out.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            xml_text(&body_html(e))
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: String,
    description: &'a str,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_html: String,
    date_published: String,
    date_modified: String,
    /// feedfold's extension (JSON Feed allows keys starting with `_`).
    _feedfold: JsonExtension<'a>,
}

#[derive(Serialize)]
struct JsonExtension<'a> {
    also: Vec<JsonAlso<'a>>,
}

#[derive(Serialize)]
struct JsonAlso<'a> {
    feed: &'a str,
    title: &'a str,
    url: &'a str,
}

fn json_feed(info: &ExportInfo, entries: &[Entry]) -> String {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: format!("feedfold: {}", info.description),
        description: "One entry per story; the other outlets' links in each entry",
        items: entries
            .iter()
            .map(|e| JsonItem {
                id: &e.id,
                url: e.url,
                title: e.title,
                content_html: body_html(e),
                date_published: rfc3339(e.first_seen),
                date_modified: rfc3339(e.last_seen),
                _feedfold: JsonExtension {
                    also: e
                        .also
                        .iter()
                        .map(|(feed, title, url)| JsonAlso { feed, title, url })
                        .collect(),
                },
            })
            .collect(),
    };
    // The CLI's JSON writer: C1 controls and bidi overrides escaped as well.
    crate::cli::render::json(&feed) + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::read::ItemView;

    fn item(id: i64, title: &str, url: &str, feed: &str) -> ItemView {
        ItemView {
            id,
            guid: format!("g{id}"),
            url: Some(url.into()),
            title: title.into(),
            feed: feed.into(),
            feeds: vec![feed.into()],
            published: Some(1_700_000_000 + id),
            fetched: 1_700_000_000,
            rule: "new".into(),
            score: None,
            distance: None,
            matched: None,
        }
    }

    fn story() -> ClusterView {
        ClusterView {
            id: 7,
            size: 3,
            sources: 3,
            first_seen: 1_700_000_001,
            last_seen: 1_700_000_003,
            representative: Some(1),
            title: "Storm <hits> \"coast\" & town\u{1}".into(),
            url: Some("https://a.example/1".into()),
            items: vec![
                item(
                    1,
                    "Storm <hits> \"coast\" & town\u{1}",
                    "https://a.example/1",
                    "https://a.example/feed",
                ),
                item(
                    2,
                    "Storm hits coast",
                    "https://b.example/2?x=1&y=2",
                    "https://b.example/feed",
                ),
                item(3, "Script", "javascript:alert(1)", "https://c.example/feed"),
            ],
        }
    }

    fn rendered(format: Format) -> String {
        let texts = HashMap::from([(1, "First <b>paragraph</b> & more.\nSecond.".to_string())]);
        let names = HashMap::from([("https://b.example/feed".to_string(), "B & Co".to_string())]);
        let info = ExportInfo {
            description: "stories since <then>",
            generated: 1_800_000_000,
        };
        render(format, &info, &[story()], &texts, &names)
    }

    /// Parsed back by the same parser feedfold reads feeds with (feed-rs).
    fn parsed(document: &str) -> crate::parse::ParsedFeed {
        let feed = crate::parse::parse_feed(document.as_bytes(), "https://feedfold.invalid/")
            .expect("the export parses as a feed");
        assert!(!feed.repaired, "valid without the repair pass");
        feed
    }

    #[test]
    fn atom_parses_back_with_the_story_and_its_other_outlets() {
        let atom = rendered(Format::Atom);
        assert!(!atom.contains('\u{1}'));
        let feed = parsed(&atom);
        assert_eq!(feed.entries.len(), 1);
        let entry = &feed.entries[0];
        assert_eq!(entry.guid.as_deref(), Some("urn:feedfold:story:7"));
        assert_eq!(
            entry.title.as_deref(),
            Some("Storm <hits> \"coast\" & town")
        );
        assert_eq!(entry.link.as_deref(), Some("https://a.example/1"));
        assert_eq!(entry.updated.unwrap().timestamp(), 1_700_000_003);
        assert!(atom.contains(
            "<link rel=\"related\" href=\"https://b.example/2?x=1&amp;y=2\" title=\"B &amp; Co\"/>"
        ));
        assert!(!atom.contains("javascript:"), "only web links are exported");
        let body = entry.content.as_deref().unwrap();
        assert!(
            body.contains("<p>First &lt;b&gt;paragraph&lt;/b&gt; &amp; more.</p><p>Second.</p>")
        );
        assert!(body.contains(
            "B &amp; Co: <a href=\"https://b.example/2?x=1&amp;y=2\">Storm hits coast</a>"
        ));
    }

    #[test]
    fn controls_are_references_in_xml_and_escapes_in_json() {
        assert_eq!(
            xml_text("a\u{1}b\u{9b}c\u{202e}d<&\"e"),
            "ab&#x9b;c&#x202e;d&lt;&amp;&quot;e"
        );
        let mut s = story();
        s.title = "x\u{9b}31m\u{202e}y".into();
        let info = ExportInfo {
            description: "d",
            generated: 0,
        };
        for format in [Format::Atom, Format::Json] {
            let out = render(
                format,
                &info,
                &[s.clone()],
                &HashMap::new(),
                &HashMap::new(),
            );
            assert!(!out.contains(['\u{9b}', '\u{202e}']), "{format:?}");
            let back = parsed(&out);
            assert_eq!(
                back.entries[0].title.as_deref(),
                Some("x\u{9b}31m\u{202e}y")
            );
        }
    }

    #[test]
    fn json_feed_parses_back() {
        let json = rendered(Format::Json);
        let feed = parsed(&json);
        assert_eq!(feed.entries.len(), 1);
        assert_eq!(
            feed.entries[0].guid.as_deref(),
            Some("urn:feedfold:story:7")
        );
        assert_eq!(feed.entries[0].link.as_deref(), Some("https://a.example/1"));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(value["items"][0]["_feedfold"]["also"][0]["feed"], "B & Co");
        assert!(!json.contains("javascript:"));
    }
}
