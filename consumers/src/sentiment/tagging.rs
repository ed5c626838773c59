//! Which coins a text mentions: by name (any case) or ticker (upper case, or after `$`), on
//! word boundaries.

use std::collections::HashMap;
use std::sync::LazyLock;

/// (CoinGecko id, names in lower case, tickers). Names that are everyday English words
/// ("stellar", "near", "link") are left out: only their tickers count.
const COINS: &[(&str, &[&str], &[&str])] = &[
    ("bitcoin", &["bitcoin", "bitcoins"], &["BTC", "XBT"]),
    ("ethereum", &["ethereum", "ether"], &["ETH"]),
    ("tether", &["tether"], &["USDT"]),
    ("ripple", &["ripple", "xrp"], &["XRP"]),
    ("binancecoin", &["bnb"], &["BNB"]),
    ("solana", &["solana"], &["SOL"]),
    ("usd-coin", &["usdc", "usd coin"], &["USDC"]),
    ("tron", &["tron"], &["TRX"]),
    ("dogecoin", &["dogecoin", "doge"], &["DOGE"]),
    ("cardano", &["cardano"], &["ADA"]),
    ("hyperliquid", &["hyperliquid"], &["HYPE"]),
    ("chainlink", &["chainlink"], &["LINK"]),
    ("stellar", &[], &["XLM"]),
    ("sui", &[], &["SUI"]),
    ("bitcoin-cash", &["bitcoin cash"], &["BCH"]),
    ("hedera-hashgraph", &["hedera", "hashgraph"], &["HBAR"]),
    (
        "the-open-network",
        &["toncoin", "the open network"],
        &["TON"],
    ),
    ("shiba-inu", &["shiba inu"], &["SHIB"]),
    ("litecoin", &["litecoin"], &["LTC"]),
    ("avalanche-2", &["avalanche"], &["AVAX"]),
    ("polkadot", &["polkadot"], &["DOT"]),
    ("matic-network", &["polygon"], &["MATIC", "POL"]),
    ("monero", &["monero"], &["XMR"]),
    ("uniswap", &["uniswap"], &["UNI"]),
    ("dai", &[], &["DAI"]),
];

struct Table {
    /// Names as token sequences, longest first.
    names: Vec<(Vec<&'static str>, &'static str)>,
    tickers: HashMap<&'static str, &'static str>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut names: Vec<(Vec<&str>, &str)> = COINS
        .iter()
        .flat_map(|(id, names, _)| names.iter().map(move |n| (n.split(' ').collect(), *id)))
        .collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let tickers = COINS
        .iter()
        .flat_map(|(id, _, tickers)| tickers.iter().map(move |t| (*t, *id)))
        .collect();
    Table { names, tickers }
});

/// Ids of the coins `text` mentions, in order of first mention, each once. A longer name wins
/// over a shorter one inside it: "Bitcoin Cash" is `bitcoin-cash`, not `bitcoin`.
pub fn tag_coins(text: &str) -> Vec<String> {
    let table = &*TABLE;
    let words: Vec<(&str, bool)> = split_words(text);
    let lower: Vec<String> = words.iter().map(|(w, _)| w.to_lowercase()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut push = |id: &str| {
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    };
    let mut i = 0;
    while i < words.len() {
        let name = table.names.iter().find(|(n, _)| {
            lower.len() - i >= n.len() && n.iter().zip(&lower[i..]).all(|(a, b)| a == b)
        });
        if let Some((n, id)) = name {
            push(id);
            i += n.len();
            continue;
        }
        let (word, dollar) = words[i];
        let upper = word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if (upper || dollar)
            && let Some(id) = table.tickers.get(word.to_ascii_uppercase().as_str())
        {
            push(id);
        }
        i += 1;
    }
    out
}

/// Alphanumeric words of `text`, each with whether a `$` directly precedes it.
fn split_words(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut dollar = false;
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
                dollar = prev == '$';
            }
        } else if let Some(s) = start.take() {
            out.push((&text[s..i], dollar));
        }
        prev = c;
    }
    if let Some(s) = start {
        out.push((&text[s..], dollar));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tickers_on_word_boundaries() {
        assert_eq!(tag_coins("ETH and BTC rally"), ["ethereum", "bitcoin"]);
        assert!(
            tag_coins("A new method for solid setups").is_empty(),
            "ETH in method, SOL in solid"
        );
        assert!(
            tag_coins("Eth is lower case, sol too").is_empty(),
            "tickers count in upper case"
        );
        assert_eq!(tag_coins("Traders pile into $sol"), ["solana"]);
        assert_eq!(
            tag_coins("bitcoin, Ethereum and SOLANA"),
            ["bitcoin", "ethereum", "solana"]
        );
    }

    #[test]
    fn longer_names_win_and_duplicates_collapse() {
        assert_eq!(
            tag_coins("Bitcoin Cash forks, not Bitcoin"),
            ["bitcoin-cash", "bitcoin"]
        );
        assert_eq!(tag_coins("Bitcoin, BTC, bitcoin"), ["bitcoin"]);
        assert_eq!(tag_coins("Shiba Inu burns tokens"), ["shiba-inu"]);
    }

    #[test]
    fn everyday_words_are_not_coins() {
        assert!(tag_coins("A stellar quarter as prices near records; link in bio").is_empty());
        assert_eq!(tag_coins("Stellar (XLM) and NEAR? only XLM"), ["stellar"]);
    }
}
