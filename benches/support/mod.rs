//! Generated data shared by the benchmarks and the measuring examples: a reproducible random
//! source, prose-like text over a generated vocabulary, and news-like articles. Included with `mod support;` from
//! `benches/` and with `#[path]` from `examples/`.

#![allow(dead_code)]

/// SplitMix64: small, fast and reproducible from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "an", "or", "el", "is", "um", "ba", "fi",
    "go", "ha",
];

/// `size` made-up words of one to three syllables.
pub fn vocabulary(rng: &mut Rng, size: usize) -> Vec<String> {
    (0..size)
        .map(|_| {
            (0..1 + rng.below(3))
                .map(|_| *rng.pick(SYLLABLES))
                .collect()
        })
        .collect()
}

/// About `bytes` of sentences; word ranks are skewed so that frequent words dominate, as in prose.
pub fn prose(rng: &mut Rng, vocab: &[String], bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 64);
    let mut in_sentence = 0;
    while text.len() < bytes {
        let rank = rng.below(vocab.len()) * rng.below(vocab.len()) / vocab.len();
        let word = &vocab[rank];
        if in_sentence == 0 {
            let mut chars = word.chars();
            let first = chars
                .next()
                .expect("words are not empty")
                .to_ascii_uppercase();
            text.push(first);
            text.push_str(chars.as_str());
        } else {
            text.push_str(word);
        }
        in_sentence += 1;
        if in_sentence > 8 + rng.below(12) {
            text.push_str(". ");
            in_sentence = 0;
        } else {
            text.push(' ');
        }
    }
    text
}

/// The function words of English news, most frequent first ("said" is one in news).
const FUNCTION_WORDS: &[&str] = &[
    "the", "of", "to", "a", "and", "in", "said", "on", "for", "that", "was", "is", "with", "at",
    "by", "he", "as", "from", "it", "his", "has", "an", "have", "be", "were", "are", "had", "not",
    "but", "after", "who", "they", "their", "been", "will", "which", "this", "its", "or", "also",
    "would", "when", "more", "than", "two", "about", "up", "into", "over", "she", "her", "we",
];

/// The words a news-like article is made of: made-up content words of two to eight syllables
/// and made-up names of two to four. (The long words make 1 KB hold about as many words as a
/// real article does: real text spends its bytes on punctuation and longer function words.)
pub struct NewsVocabulary {
    pub words: Vec<String>,
    pub names: Vec<String>,
}

impl NewsVocabulary {
    pub fn new(rng: &mut Rng, words: usize, names: usize) -> NewsVocabulary {
        let mut made = |n: usize, syllables: usize| -> Vec<String> {
            (0..n)
                .map(|_| {
                    (0..2 + rng.below(syllables - 1))
                        .map(|_| *rng.pick(SYLLABLES))
                        .collect()
                })
                .collect()
        };
        let words = made(words, 8);
        let names = made(names, 4)
            .into_iter()
            .map(|name| capitalized(&name))
            .collect();
        NewsVocabulary { words, names }
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A rank in `0..n`, small ranks likelier (the product of two uniform draws).
fn skewed(rng: &mut Rng, n: usize) -> usize {
    rng.below(n) * rng.below(n) / n.max(1)
}

/// A headline and about `bytes` of body with the make-up of a news article rather than of
/// uniform prose: about half the words function words, a cast of a few names that recur, a
/// few numbers, and topic words that recur. Made-up words, so that two articles share only
/// what chance and the skew give them. Calibrated against the ECB+ articles cut to 1 KB, as
/// `benches/dedup.rs` counts them (it prints the counts for the text it runs): those have
/// about 138 words, 62 event terms, 18 names and 5 numbers per item; these about 148, 63, 17
/// and 5.
pub fn news_article(rng: &mut Rng, vocab: &NewsVocabulary, bytes: usize) -> (String, String) {
    let cast: Vec<&str> = (0..16)
        .map(|_| vocab.names[skewed(rng, vocab.names.len())].as_str())
        .collect();
    let topic: Vec<&str> = (0..8)
        .map(|_| vocab.words[skewed(rng, vocab.words.len())].as_str())
        .collect();
    let word = |rng: &mut Rng, headline: bool| -> String {
        let roll = rng.below(100);
        let function_share = if headline { 15 } else { 45 };
        if roll < function_share {
            FUNCTION_WORDS[skewed(rng, FUNCTION_WORDS.len())].to_string()
        } else if roll < function_share + 16 {
            cast[rng.below(cast.len())].to_string()
        } else if roll < function_share + 19 {
            match rng.below(3) {
                0 => (1990 + rng.below(40)).to_string(),
                1 => rng.below(1000).to_string(),
                _ => format!("{}.{}", rng.below(10), rng.below(10)),
            }
        } else if roll < function_share + 33 {
            topic[rng.below(topic.len())].to_string()
        } else {
            vocab.words[skewed(rng, vocab.words.len())].clone()
        }
    };
    let headline_words: Vec<String> = (0..8 + rng.below(5)).map(|_| word(rng, true)).collect();
    let headline = capitalized(&headline_words.join(" "));
    let mut body = String::with_capacity(bytes + 64);
    while body.len() < bytes {
        let sentence: Vec<String> = (0..15 + rng.below(16))
            .map(|_| {
                let word = word(rng, false);
                if rng.chance(0.08) { word + "," } else { word }
            })
            .collect();
        body.push_str(&capitalized(&sentence.join(" ")));
        body.push_str(". ");
    }
    (headline, body.trim_end().to_string())
}

/// The longest prefix of `text` of at most `bytes` bytes that ends on a character boundary.
pub fn cut(text: &str, bytes: usize) -> &str {
    let end = (0..=bytes.min(text.len()))
        .rev()
        .find(|&c| text.is_char_boundary(c))
        .unwrap_or(0);
    &text[..end]
}

/// Joins Penn-Treebank-style tokens back into text.
pub fn detokenize(sentence: &str) -> String {
    let mut s = format!(" {sentence} ");
    for (from, to) in [
        (" `` ", " \u{201c}"),
        (" '' ", "\u{201d} "),
        (" ` ", " \u{2018}"),
        (" ,", ","),
        (" .", "."),
        (" ;", ";"),
        (" :", ":"),
        (" !", "!"),
        (" ?", "?"),
        (" n't", "n't"),
        (" 's", "'s"),
        (" 're", "'re"),
        (" 've", "'ve"),
        (" 'll", "'ll"),
        (" 'd", "'d"),
        (" 'm", "'m"),
        (" %", "%"),
        ("$ ", "$"),
        ("( ", "("),
        (" )", ")"),
        ("-LRB- ", "("),
        (" -RRB-", ")"),
    ] {
        s = s.replace(from, to);
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn looks_like_url_or_date(sentence: &str) -> bool {
    let s = sentence.trim();
    s.starts_with("http")
        || s.contains(" / / ")
        || s.contains(". com")
        || s.split_whitespace().count() <= 4
}

/// One document of the ECB+ corpus (`../shared/data/ecbplus-dev.jsonl`), rejoined into text.
pub struct EcbDoc {
    pub id: String,
    pub topic: i64,
    /// The real-world event: the gold label.
    pub event: String,
    /// The headline (ECB+ documents carry one after their URL; ECB documents have none, so
    /// their first words stand in).
    pub title: String,
    /// Sentences of the body, source URL and dateline left out.
    pub sentences: Vec<String>,
}

/// Every document of an ECB+ JSONL file, in file order.
pub fn ecbplus(path: &str) -> Vec<EcbDoc> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut docs = Vec::new();
    for line in text.lines() {
        let doc: serde_json::Value = serde_json::from_str(line).expect("JSONL");
        let sentences: Vec<String> = doc["sentences"]
            .as_array()
            .expect("sentences")
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_string())
            .collect();
        let is_plus = doc["subtopic"] == "ecbplus";
        let mut body: Vec<String> = Vec::new();
        let mut title = None;
        for (i, s) in sentences.iter().enumerate() {
            if i < 3 && looks_like_url_or_date(s) {
                continue;
            }
            if is_plus && title.is_none() && i < 3 {
                title = Some(detokenize(s));
                continue;
            }
            body.push(detokenize(s));
        }
        let title = title.unwrap_or_else(|| {
            let first = body.first().map(String::as_str).unwrap_or_default();
            let words: Vec<&str> = first.split_whitespace().take(12).collect();
            words.join(" ").trim_end_matches([',', '.']).to_string()
        });
        docs.push(EcbDoc {
            id: doc["doc"].as_str().unwrap_or_default().to_string(),
            topic: doc["topic"].as_i64().unwrap_or_default(),
            event: doc["cluster"].as_str().unwrap_or_default().to_string(),
            title,
            sentences: body,
        });
    }
    docs
}
