//! Which market of which exchange is which coin: the built-in table for the default coins
//! (data, extended or replaced in config), resolved into [`Markets`].

use std::collections::HashMap;

use super::Exchange;
use super::config::ExchangeConfig;
use crate::{Error, Result};

/// The default coins (the simulator's top 20, by CoinGecko id) and their market on each
/// exchange: Binance spot against USDT, Coinbase Exchange and Kraken against USD. `""` means
/// the exchange does not list the pair (Tether has no USDT pair; Binance lists no HYPE, and
/// so on). Coinbase refuses a whole subscription naming an unknown product, so its column
/// holds only long-listed pairs; Binance and Kraken refuse (or ignore) an unknown pair alone.
const LISTINGS: &[(&str, &str, &str, &str)] = &[
    // coin,              binance,     coinbase,    kraken
    ("bitcoin", "BTCUSDT", "BTC-USD", "BTC/USD"),
    ("ethereum", "ETHUSDT", "ETH-USD", "ETH/USD"),
    ("tether", "", "USDT-USD", "USDT/USD"),
    ("ripple", "XRPUSDT", "XRP-USD", "XRP/USD"),
    ("binancecoin", "BNBUSDT", "", ""),
    ("solana", "SOLUSDT", "SOL-USD", "SOL/USD"),
    ("usd-coin", "USDCUSDT", "", "USDC/USD"),
    ("tron", "TRXUSDT", "", "TRX/USD"),
    ("dogecoin", "DOGEUSDT", "DOGE-USD", "DOGE/USD"),
    ("cardano", "ADAUSDT", "ADA-USD", "ADA/USD"),
    ("hyperliquid", "", "", ""),
    ("chainlink", "LINKUSDT", "LINK-USD", "LINK/USD"),
    ("stellar", "XLMUSDT", "XLM-USD", "XLM/USD"),
    ("sui", "SUIUSDT", "", "SUI/USD"),
    ("bitcoin-cash", "BCHUSDT", "BCH-USD", "BCH/USD"),
    ("avalanche-2", "AVAXUSDT", "AVAX-USD", "AVAX/USD"),
    ("hedera-hashgraph", "HBARUSDT", "HBAR-USD", "HBAR/USD"),
    ("litecoin", "LTCUSDT", "LTC-USD", "LTC/USD"),
    ("the-open-network", "TONUSDT", "", "TON/USD"),
    ("shiba-inu", "SHIBUSDT", "SHIB-USD", "SHIB/USD"),
];

/// Quote currencies recognised at the end of a Binance symbol, longest first.
const BINANCE_QUOTES: &[&str] = &[
    "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "EUR", "TRY", "BTC", "ETH", "BNB", "USD",
];

/// One market of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    /// The symbol as the exchange writes it in trade messages (`BTCUSDT`, `BTC-USD`, `BTC/USD`).
    pub symbol: String,
    /// Coin id of every trade of this market.
    pub coin: String,
    /// Quote currency (`USDT`, `USD`).
    pub quote: String,
    /// The symbol the REST history takes (Kraken `XBTUSD`; the others: `symbol`).
    pub rest_symbol: String,
}

/// An exchange's markets, by symbol.
#[derive(Debug, Clone, Default)]
pub struct Markets {
    list: Vec<Market>,
    by_symbol: HashMap<String, usize>,
}

impl Markets {
    /// The built-in table (unless `default_markets` is off) plus the configured markets.
    /// The error names the bad key.
    pub fn from_config(exchange: Exchange, config: &ExchangeConfig) -> Result<Self> {
        let mut rows: Vec<(String, String, Option<String>, Option<String>)> = Vec::new();
        if config.default_markets {
            for (coin, binance, coinbase, kraken) in LISTINGS {
                let symbol = match exchange {
                    Exchange::Binance => binance,
                    Exchange::Coinbase => coinbase,
                    Exchange::Kraken => kraken,
                };
                if !symbol.is_empty() {
                    rows.push((symbol.to_string(), coin.to_string(), None, None));
                }
            }
        }
        for (symbol, m) in &config.markets {
            let symbol = normalise(exchange, symbol);
            rows.retain(|(s, ..)| *s != symbol);
            rows.push((
                symbol,
                m.coin.clone(),
                m.quote.clone(),
                m.rest_symbol.clone(),
            ));
        }
        let mut markets = Markets::default();
        for (symbol, coin, quote, rest_symbol) in rows {
            let key = format!("sources.{}.markets.{symbol}", exchange.as_str());
            if bad_id(&symbol) {
                return Err(Error::Config(format!(
                    "{key}: the symbol must not be empty or hold spaces"
                )));
            }
            if bad_id(&coin) || coin.contains('\\') {
                return Err(Error::Config(format!(
                    "{key}.coin: must be a coin id like `bitcoin`"
                )));
            }
            let quote = match quote.or_else(|| quote_of(exchange, &symbol)) {
                Some(q) if !bad_id(&q) => q.to_ascii_uppercase(),
                _ => {
                    return Err(Error::Config(format!(
                        "{key}.quote: cannot be read from the symbol; set it"
                    )));
                }
            };
            let rest_symbol = rest_symbol.unwrap_or_else(|| rest_symbol_of(exchange, &symbol));
            markets.push(Market {
                symbol,
                coin,
                quote,
                rest_symbol,
            });
        }
        Ok(markets)
    }

    /// Markets given directly (tests).
    pub fn new(markets: impl IntoIterator<Item = Market>) -> Self {
        let mut out = Markets::default();
        for m in markets {
            out.push(m);
        }
        out
    }

    fn push(&mut self, market: Market) {
        self.by_symbol
            .insert(market.symbol.clone(), self.list.len());
        self.list.push(market);
    }

    /// The market whose trade messages say `symbol`.
    pub fn get(&self, symbol: &str) -> Option<&Market> {
        self.by_symbol.get(symbol).map(|&i| &self.list[i])
    }

    /// Every market, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Market> {
        self.list.iter()
    }

    /// Number of markets.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// No market at all.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Empty, or holding spaces or control characters: not an identifier.
fn bad_id(v: &str) -> bool {
    v.trim().is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The symbol as trade messages write it: Binance upper case (`btcusdt` → `BTCUSDT`), the
/// others as given.
fn normalise(exchange: Exchange, symbol: &str) -> String {
    match exchange {
        Exchange::Binance => symbol.trim().to_ascii_uppercase(),
        _ => symbol.trim().to_string(),
    }
}

fn quote_of(exchange: Exchange, symbol: &str) -> Option<String> {
    match exchange {
        Exchange::Binance => BINANCE_QUOTES
            .iter()
            .find(|q| symbol.len() > q.len() && symbol.ends_with(*q))
            .map(|q| q.to_string()),
        Exchange::Coinbase => symbol.split_once('-').map(|(_, q)| q.to_string()),
        Exchange::Kraken => symbol.split_once('/').map(|(_, q)| q.to_string()),
    }
}

/// Kraken's REST takes the pair's altname: no slash, and Kraken's own asset codes for the two
/// it renamed (`XBT` for BTC, `XDG` for DOGE).
fn rest_symbol_of(exchange: Exchange, symbol: &str) -> String {
    match exchange {
        Exchange::Kraken => match symbol.split_once('/') {
            Some((base, quote)) => {
                let base = match base {
                    "BTC" => "XBT",
                    "DOGE" => "XDG",
                    other => other,
                };
                format!("{base}{quote}")
            }
            None => symbol.to_string(),
        },
        _ => symbol.to_string(),
    }
}
