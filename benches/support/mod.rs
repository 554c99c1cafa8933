//! Generated data shared by the benchmarks and the measuring examples: a reproducible random
//! source and prose-like text over a generated vocabulary. Included with `mod support;` from
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

/// `size` made-up words of one to three syllables.
pub fn vocabulary(rng: &mut Rng, size: usize) -> Vec<String> {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "an", "or", "el", "is", "um", "ba",
        "fi", "go", "ha",
    ];
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

/// The longest prefix of `text` of at most `bytes` bytes that ends on a character boundary.
pub fn cut(text: &str, bytes: usize) -> &str {
    let end = (0..=bytes.min(text.len()))
        .rev()
        .find(|&c| text.is_char_boundary(c))
        .unwrap_or(0);
    &text[..end]
}
