//! News sentiment: a lexicon scorer for finance and crypto headlines, and coin tagging.
//!
//! [`score`] gives a text a score in [-1, 1] and a label (`positive`, `negative`,
//! `neutral`). It is a VADER-style sum of term valences: phrases before words ("rug pull",
//! "all-time high", "etf approval"), an intensifier ("sharply", "massive") scales the next
//! sentiment term, a diminisher ("slightly") damps it, and a negator within three tokens
//! before a term ("not bullish", "didn't reject") flips and damps it. The sum is squashed as
//! `s / sqrt(s² + 15)`. Tokens are whole words, so "up" never matches inside "update".
//!
//! [`tag_coins`] finds the coins a text mentions by name (case-insensitive) or ticker
//! (upper case, `$BTC` too), on word boundaries: "ETH" is not in "method", "SOL" not in
//! "solid".
//!
//! [`eval`] measures the scorer on labelled sentences (`cryptoviz sentiment-eval`).

pub mod eval;
mod lexicon;
mod tagging;

pub use tagging::tag_coins;

/// The label of a score (above [`THRESHOLD`]: positive; below −[`THRESHOLD`]: negative),
/// declared with the `crypto_news` measurement.
pub use cryptoviz_measurements::sentiment::Label;

/// |score| at or below this is neutral.
pub const THRESHOLD: f64 = 0.05;

/// A scored text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sentiment {
    /// In [-1, 1].
    pub score: f64,
    /// From the score and [`THRESHOLD`].
    pub label: Label,
}

/// Scores `text` (a headline, optionally followed by its summary).
pub fn score(text: &str) -> Sentiment {
    let tokens = tokenize(text);
    let raw = lexicon::valence(&tokens);
    let score = if raw == 0.0 {
        0.0
    } else {
        raw / (raw * raw + 15.0).sqrt()
    };
    let label = if score > THRESHOLD {
        Label::Positive
    } else if score < -THRESHOLD {
        Label::Negative
    } else {
        Label::Neutral
    };
    Sentiment { score, label }
}

/// Lower-case word tokens: runs of letters and digits; an apostrophe inside a word is kept
/// (`didn't`), any other character separates words (`all-time` → `all`, `time`).
pub(crate) fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let apostrophe = matches!(c, '\'' | '’')
            && !word.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if apostrophe {
            word.push('\'');
        } else if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(text: &str) -> Label {
        score(text).label
    }

    #[test]
    fn words_not_substrings() {
        assert_eq!(
            tokenize("Update: ETH's all-time high"),
            ["update", "eth's", "all", "time", "high"]
        );
        assert_eq!(
            label("Exchange publishes a routine software update"),
            Label::Neutral
        );
        assert_eq!(label("Bitcoin is up 5% today"), Label::Positive);
    }

    #[test]
    fn negation_flips_and_damps() {
        let plain = score("Analysts are bullish on Solana");
        let negated = score("Analysts are not bullish on Solana");
        assert_eq!(plain.label, Label::Positive);
        assert_eq!(negated.label, Label::Negative);
        assert!(negated.score.abs() < plain.score.abs());
        assert_eq!(label("SEC didn't reject the spot ETF"), Label::Positive);
        assert_eq!(
            label("No hack: funds are safe, exchange says"),
            Label::Positive
        );
    }

    #[test]
    fn intensifiers_and_diminishers_scale() {
        let base = score("Bitcoin falls").score;
        let strong = score("Bitcoin falls sharply").score;
        let weak = score("Bitcoin falls slightly").score;
        assert!(
            strong < base && base < weak && weak < 0.0,
            "{strong} {base} {weak}"
        );
    }

    #[test]
    fn crypto_vocabulary() {
        for text in [
            "DeFi protocol loses $40M in exploit",
            "Developers pull the rug on meme token: a rug pull, investors say",
            "Exchange announces delisting of privacy coins",
            "Regulator files lawsuit against crypto lender",
            "Hackers drain bridge in massive hack",
        ] {
            assert_eq!(label(text), Label::Negative, "{text}");
        }
        for text in [
            "SEC grants ETF approval for spot Ether",
            "Bitcoin hits an all-time high above $120,000",
            "Record inflows into Bitcoin funds",
        ] {
            assert_eq!(label(text), Label::Positive, "{text}");
        }
        assert_eq!(
            label("Ethereum developers schedule a call for Thursday"),
            Label::Neutral
        );
    }

    #[test]
    fn scores_stay_in_range() {
        let s = score(&"surge rally soar record bullish ".repeat(50));
        assert!(s.score > 0.9 && s.score <= 1.0);
        let s = score(&"hack crash exploit fraud ".repeat(50));
        assert!(s.score < -0.9 && s.score >= -1.0);
        assert_eq!(score("").score, 0.0);
    }
}
