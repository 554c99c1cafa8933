//! The watch query language: terms, `"phrases"`, `AND` / `OR` / `NOT`, parentheses, `prefix*`
//! and `title:` (for a term, phrase or prefix). Adjacent terms mean AND; AND binds tighter than
//! OR; the operators are written in capitals (a lowercase "not" is a word to look for).
//! Matching ignores case and diacritics ("Kyïv" matches `kyiv`), and words are what is between
//! non-alphanumeric characters, in the query as in the text (`rust-lang` is the phrase
//! "rust lang").
//!
//! A query compiles once, when the config loads; an invalid one is an error that gives the
//! column where it goes wrong.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A compiled query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Match {
        words: Vec<String>,
        prefix: bool,
        title_only: bool,
        text: String,
    },
}

/// Where and why a query does not parse. `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

/// The words of a text, folded: lowercase, diacritics removed.
pub fn fold_words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A text prepared for matching: its words and the set of them.
pub struct Document {
    title: Vec<String>,
    all: Vec<String>,
    title_set: HashSet<String>,
    all_set: HashSet<String>,
}

impl Document {
    pub fn new(title: &str, text: &str) -> Document {
        let title = fold_words(title);
        let mut all = title.clone();
        all.extend(fold_words(text));
        Document {
            title_set: title.iter().cloned().collect(),
            all_set: all.iter().cloned().collect(),
            title,
            all,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    /// A word or `word*`, maybe with `title:`.
    Word {
        text: String,
        title_only: bool,
    },
    /// A `"phrase"`, maybe with `title:`.
    Phrase {
        text: String,
        title_only: bool,
    },
}

fn tokenize(query: &str) -> Result<Vec<(usize, Token)>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '(' {
            tokens.push((column, Token::Open));
            i += 1;
            continue;
        }
        if c == ')' {
            tokens.push((column, Token::Close));
            i += 1;
            continue;
        }
        let mut title_only = false;
        let rest: String = chars[i..].iter().take(6).collect();
        if rest.eq_ignore_ascii_case("title:") {
            title_only = true;
            i += 6;
            if i >= chars.len() || chars[i].is_whitespace() || chars[i] == ')' {
                return Err(QueryError {
                    column,
                    message: "title: needs a term or a \"phrase\" right after it".into(),
                });
            }
        }
        if chars[i] == '"' {
            let start = i;
            i += 1;
            let mut text = String::new();
            while i < chars.len() && chars[i] != '"' {
                text.push(chars[i]);
                i += 1;
            }
            if i >= chars.len() {
                return Err(QueryError {
                    column: start + 1,
                    message: "this quote is never closed".into(),
                });
            }
            i += 1;
            tokens.push((column, Token::Phrase { text, title_only }));
            continue;
        }
        let mut text = String::new();
        while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '(' | ')' | '"') {
            text.push(chars[i]);
            i += 1;
        }
        let token = match (title_only, text.as_str()) {
            (false, "AND") => Token::And,
            (false, "OR") => Token::Or,
            (false, "NOT") => Token::Not,
            _ => Token::Word { text, title_only },
        };
        tokens.push((column, token));
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    end_column: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.end_column, |(c, _)| *c)
    }

    fn error(&self, message: impl Into<String>) -> QueryError {
        QueryError {
            column: self.column(),
            message: message.into(),
        }
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Node::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Node, QueryError> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.pos += 1;
                    parts.push(self.unary()?);
                }
                Some(Token::Or | Token::Close) | None => break,
                // Adjacent terms: AND.
                Some(_) => parts.push(self.unary()?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Node::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Node, QueryError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, QueryError> {
        let column = self.column();
        match self.tokens.get(self.pos).map(|(_, t)| t.clone()) {
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(QueryError {
                        column,
                        message: "this parenthesis is never closed".into(),
                    });
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Word { text, title_only }) => {
                self.pos += 1;
                let prefix = text.ends_with('*');
                let words = fold_words(text.trim_end_matches('*'));
                if words.is_empty() {
                    return Err(QueryError {
                        column,
                        message: format!("{text:?} has no letters or digits to look for"),
                    });
                }
                Ok(Node::Match {
                    words,
                    prefix,
                    title_only,
                    text,
                })
            }
            Some(Token::Phrase { text, title_only }) => {
                self.pos += 1;
                let words = fold_words(&text);
                if words.is_empty() {
                    return Err(QueryError {
                        column,
                        message: "an empty phrase".into(),
                    });
                }
                Ok(Node::Match {
                    words,
                    // "kyiv pow*": the last word is a prefix.
                    prefix: text.trim_end().ends_with('*'),
                    title_only,
                    text: format!("\"{text}\""),
                })
            }
            Some(Token::Close) => Err(self.error("')' without a matching '('")),
            Some(Token::And | Token::Or) => Err(self.error("AND and OR need a term on each side")),
            Some(Token::Not) => unreachable!("NOT is read by unary"),
            None => Err(self.error("the query ends where a term is expected")),
        }
    }
}

impl Query {
    pub fn parse(query: &str) -> Result<Query, QueryError> {
        let tokens = tokenize(query)?;
        if tokens.is_empty() {
            return Err(QueryError {
                column: 1,
                message: "the query is empty".into(),
            });
        }
        let mut parser = Parser {
            tokens,
            pos: 0,
            end_column: query.chars().count() + 1,
        };
        let root = parser.or()?;
        if parser.pos < parser.tokens.len() {
            return Err(parser.error("')' without a matching '('"));
        }
        if !has_positive(&root) {
            return Err(QueryError {
                column: 1,
                message: "the query only excludes (NOT ...): say what to look for too".into(),
            });
        }
        Ok(Query { root })
    }

    /// Whether `doc` matches; if it does, the query's terms found in it (as written).
    pub fn matches(&self, doc: &Document) -> Option<Vec<String>> {
        let mut found = Vec::new();
        eval(&self.root, doc, &mut found).then(|| {
            found.dedup();
            found
        })
    }
}

/// Any text a user typed as an SQLite FTS5 `MATCH` expression over the columns `title` and
/// `text`, never an FTS5 syntax error: a valid query in this language keeps its meaning (every
/// word double-quoted, so `c++`, `AT&T` or `NEAR` are only words); any other text (`"unclosed`,
/// `(a OR`) looks for all its words. `None` when the text has no word to look for.
pub fn fts5_match(text: &str) -> Option<String> {
    if let Some(expression) = Query::parse(text).ok().and_then(|q| fts5(&q.root)) {
        return Some(expression);
    }
    let words = fold_words(text);
    (!words.is_empty()).then(|| {
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" AND ")
    })
}

/// A word a search looks for, folded; `prefix` for `word*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm {
    pub word: String,
    pub prefix: bool,
}

/// The words a search for `text` looks for (those under a NOT excepted), to highlight them: the
/// same reading of the text as [`fts5_match`].
pub fn search_terms(text: &str) -> Vec<SearchTerm> {
    fn collect(node: &Node, out: &mut Vec<SearchTerm>) {
        match node {
            Node::Match { words, prefix, .. } => {
                for (n, word) in words.iter().enumerate() {
                    out.push(SearchTerm {
                        word: word.clone(),
                        prefix: *prefix && n + 1 == words.len(),
                    });
                }
            }
            Node::And(parts) | Node::Or(parts) => parts.iter().for_each(|p| collect(p, out)),
            Node::Not(_) => {}
        }
    }
    let mut terms = Vec::new();
    match Query::parse(text) {
        Ok(query) if fts5(&query.root).is_some() => collect(&query.root, &mut terms),
        _ => terms.extend(fold_words(text).into_iter().map(|word| SearchTerm {
            word,
            prefix: false,
        })),
    }
    terms
}

/// About `width` words of `text` around the first word a term matches, each matching word
/// between `marks`; `None` when no term matches a word of `text`. Words are compared folded, as
/// the search index compares them.
pub fn snippet(
    text: &str,
    terms: &[SearchTerm],
    width: usize,
    marks: (char, char),
) -> Option<String> {
    let words: Vec<(usize, usize)> = text
        .char_indices()
        .filter(|(_, c)| c.is_alphanumeric())
        .fold(Vec::new(), |mut spans: Vec<(usize, usize)>, (i, c)| {
            match spans.last_mut() {
                Some(last) if last.1 == i => last.1 = i + c.len_utf8(),
                _ => spans.push((i, i + c.len_utf8())),
            }
            spans
        });
    let hits = |&(start, end): &(usize, usize)| {
        let folded = fold_words(&text[start..end]);
        folded.iter().any(|w| {
            terms.iter().any(|t| {
                if t.prefix {
                    w.starts_with(t.word.as_str())
                } else {
                    *w == t.word
                }
            })
        })
    };
    let first = words.iter().position(hits)?;
    let from = first.saturating_sub(width / 4);
    let to = (from + width).min(words.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut at = words[from].0;
    for span in &words[from..to] {
        out.push_str(&text[at..span.0]);
        if hits(span) {
            out.push(marks.0);
            out.push_str(&text[span.0..span.1]);
            out.push(marks.1);
        } else {
            out.push_str(&text[span.0..span.1]);
        }
        at = span.1;
    }
    if to < words.len() {
        out.push('…');
    } else {
        out.push_str(&text[at..]);
    }
    Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// One node in FTS5 syntax; `None` for a NOT that is not the excluded side of an AND (FTS5's
/// NOT is binary: "a NOT b").
fn fts5(node: &Node) -> Option<String> {
    match node {
        // Folded words are letters and digits only: nothing in them can end the quotes.
        Node::Match {
            words,
            prefix,
            title_only,
            ..
        } => Some(format!(
            "{}\"{}\"{}",
            if *title_only { "title : " } else { "" },
            words.join(" "),
            if *prefix { " *" } else { "" }
        )),
        Node::Or(parts) => {
            let parts: Option<Vec<String>> = parts.iter().map(fts5).collect();
            Some(format!("({})", parts?.join(" OR ")))
        }
        Node::And(parts) => {
            let mut positive = Vec::new();
            let mut negative = Vec::new();
            for part in parts {
                match part {
                    Node::Not(inner) => negative.push(fts5(inner)?),
                    other => positive.push(fts5(other)?),
                }
            }
            if positive.is_empty() {
                return None;
            }
            let mut expression = format!("({})", positive.join(" AND "));
            for excluded in negative {
                expression = format!("({expression} NOT {excluded})");
            }
            Some(expression)
        }
        Node::Not(_) => None,
    }
}

/// Whether a node can match something on its own (a query of NOTs alone would match every
/// story that lacks a word: almost all of them).
fn has_positive(node: &Node) -> bool {
    match node {
        Node::Match { .. } => true,
        Node::Not(_) => false,
        Node::And(parts) => parts.iter().any(has_positive),
        Node::Or(parts) => parts.iter().all(has_positive),
    }
}

fn eval(node: &Node, doc: &Document, found: &mut Vec<String>) -> bool {
    match node {
        Node::And(parts) => {
            let mark = found.len();
            let all = parts.iter().all(|p| eval(p, doc, found));
            if !all {
                found.truncate(mark);
            }
            all
        }
        Node::Or(parts) => {
            let mut any = false;
            for p in parts {
                any |= eval(p, doc, found);
            }
            any
        }
        Node::Not(inner) => !eval(inner, doc, &mut Vec::new()),
        Node::Match {
            words,
            prefix,
            title_only,
            text,
        } => {
            let (seq, set) = if *title_only {
                (&doc.title, &doc.title_set)
            } else {
                (&doc.all, &doc.all_set)
            };
            let hit = match (words.as_slice(), prefix) {
                ([one], false) => set.contains(one),
                ([one], true) => set.iter().any(|w| w.starts_with(one.as_str())),
                (many, prefix) => seq.windows(many.len()).any(|window| {
                    let (last, head) = many.split_last().expect("two words or more");
                    window[..head.len()] == *head
                        && if *prefix {
                            window[head.len()].starts_with(last.as_str())
                        } else {
                            window[head.len()] == *last
                        }
                }),
            };
            if hit {
                found.push(text.clone());
            }
            hit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(query: &str, title: &str, text: &str) -> bool {
        Query::parse(query)
            .unwrap()
            .matches(&Document::new(title, text))
            .is_some()
    }

    #[test]
    fn terms_phrases_operators_and_fields() {
        let title = "Drone strike hits Kyïv power plant";
        let text = "Officials in Ukraine said the attack on Monday cut power to 200,000 homes. Football matches were cancelled.";
        assert!(hit("kyiv", title, text), "diacritics and case are folded");
        assert!(hit("KYIV power", title, text), "adjacent terms are AND");
        assert!(!hit("kyiv moscow", title, text));
        assert!(hit("moscow OR kyiv", title, text));
        assert!(hit("\"power plant\"", title, text));
        assert!(
            !hit("\"plant power\"", title, text),
            "phrases keep their order"
        );
        assert!(hit("ukrain*", title, text));
        assert!(hit("title:drone", title, text));
        assert!(
            !hit("title:ukraine", title, text),
            "title: looks in the title only"
        );
        assert!(hit("ukraine NOT \"football final\"", title, text));
        assert!(!hit("ukraine NOT football", title, text));
        assert!(hit("(moscow OR kyiv) AND (power OR water)", title, text));
        assert!(!hit("ukraine AND NOT (power OR water)", title, text));
        assert!(hit("200", title, text));
        assert!(hit("\"drone strike\" title:\"power plant\"", title, text));
        assert!(
            hit("title:\"kyiv pow*\"", title, text),
            "a phrase may end in a prefix"
        );
    }

    #[test]
    fn the_matched_terms_are_reported_as_written() {
        let q = Query::parse("(kyiv OR moscow) AND \"power plant\" NOT football").unwrap();
        let found = q
            .matches(&Document::new("Kyiv power plant hit", "No games today"))
            .unwrap();
        assert_eq!(found, vec!["kyiv", "\"power plant\""]);
    }

    #[test]
    fn errors_point_at_the_column() {
        let err = |q: &str| Query::parse(q).unwrap_err();
        assert_eq!(err("ukraine \"unclosed").column, 9);
        assert!(err("ukraine \"unclosed").message.contains("never closed"));
        assert_eq!(err("(a OR b").column, 1);
        assert_eq!(err("a OR").column, 5);
        assert_eq!(err("a )").column, 3);
        assert_eq!(err("OR a").column, 1);
        assert_eq!(err("").column, 1);
        assert!(err("NOT football").message.contains("only excludes"));
        assert!(err("title: x").message.contains("title:"));
        assert!(err("+++").message.contains("no letters"));
    }

    #[test]
    fn search_text_becomes_quoted_fts5() {
        assert_eq!(fts5_match("kyiv").unwrap(), "\"kyiv\"");
        assert_eq!(fts5_match("c++").unwrap(), "\"c\"");
        assert_eq!(fts5_match("rust-lang").unwrap(), "\"rust lang\"");
        assert_eq!(fts5_match("AT&T").unwrap(), "\"at t\"");
        assert_eq!(fts5_match("NEAR").unwrap(), "\"near\"");
        assert_eq!(
            fts5_match("ukrain* title:\"power plant\" NOT football").unwrap(),
            "((\"ukrain\" * AND title : \"power plant\") NOT \"football\")"
        );
        assert_eq!(
            fts5_match("(moscow OR Kyïv) power").unwrap(),
            "((\"moscow\" OR \"kyiv\") AND \"power\")"
        );
        // Not this language: every word, all of them required.
        assert_eq!(
            fts5_match("\"unclosed power").unwrap(),
            "\"unclosed\" AND \"power\""
        );
        assert_eq!(fts5_match("(a OR").unwrap(), "\"a\" AND \"or\"");
        assert_eq!(
            fts5_match("NOT football").unwrap(),
            "\"not\" AND \"football\""
        );
        assert_eq!(fts5_match("+++ \"\" ()"), None);
    }

    #[test]
    fn snippets_mark_the_words_a_search_looks_for() {
        let terms = search_terms("kyiv \"power plant\" ukrain* NOT football");
        assert_eq!(terms.len(), 4);
        assert!(terms[3].prefix && terms[3].word == "ukrain");
        let text = "Officials said on Monday that a drone hit the Kyïv power plant, and Ukraine's grid operator cut supplies; football was cancelled.";
        let marked = snippet(text, &terms, 8, ('[', ']')).unwrap();
        assert_eq!(marked, "…hit the [Kyïv] [power] [plant], and [Ukraine]'s…");
        assert_eq!(snippet("Nothing here", &terms, 8, ('[', ']')), None);
        // Short text: all of it, no ellipsis.
        assert_eq!(
            snippet("Kyiv today", &terms, 8, ('[', ']')).unwrap(),
            "[Kyiv] today"
        );
        // Text that is not the query language: its words.
        let loose = search_terms("\"unclosed power");
        assert_eq!(loose.len(), 2);
    }

    #[test]
    fn hostile_text_is_just_words() {
        assert!(hit("c++", "C++ 26 is out", ""));
        assert!(hit("at&t", "AT&T buys a network", ""));
        assert!(hit("rust-lang", "The rust lang team", ""));
        assert!(hit("rm", "echo $(rm -rf /)", "`reboot`"));
        assert!(hit("\"c 26\"", "C++ 26 is out", ""));
    }
}
