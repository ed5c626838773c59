//! The default simulated universe: the top 20 coins by market cap, with real CoinGecko ids.

use serde::{Deserialize, Serialize};

/// One simulated coin and the parameters of its price process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoinSpec {
    /// CoinGecko id, e.g. `bitcoin` (the `crypto_id` of every record).
    pub id: String,
    /// Ticker symbol, e.g. `BTC`.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// Starting price in USD.
    pub price: f64,
    /// Circulating supply (market cap = price × supply).
    pub supply: f64,
    /// Annualised volatility of log returns in the calm regime (0.6 = 60 %).
    pub annual_vol: f64,
    /// Typical 24 h traded volume in USD.
    pub volume_24h: f64,
    /// A stablecoin mean-reverts around its starting price instead of following a random walk.
    #[serde(default)]
    pub stable: bool,
}

fn coin(
    id: &str,
    symbol: &str,
    name: &str,
    price: f64,
    supply: f64,
    annual_vol: f64,
    volume_24h: f64,
) -> CoinSpec {
    CoinSpec {
        id: id.into(),
        symbol: symbol.into(),
        name: name.into(),
        price,
        supply,
        annual_vol,
        volume_24h,
        stable: annual_vol == 0.0,
    }
}

/// The top 20 coins by market capitalisation (ids, symbols and names as CoinGecko has them;
/// prices, supplies and volumes are round late-2025 magnitudes, volatilities typical of each).
pub fn top20() -> Vec<CoinSpec> {
    vec![
        coin("bitcoin", "BTC", "Bitcoin", 95_000.0, 19.9e6, 0.55, 45e9),
        coin("ethereum", "ETH", "Ethereum", 3_300.0, 120.7e6, 0.70, 25e9),
        coin("tether", "USDT", "Tether", 1.0, 185e9, 0.0, 90e9),
        coin("ripple", "XRP", "XRP", 2.2, 60e9, 0.85, 4e9),
        coin("binancecoin", "BNB", "BNB", 900.0, 139e6, 0.50, 2e9),
        coin("solana", "SOL", "Solana", 150.0, 560e6, 0.85, 5e9),
        coin("usd-coin", "USDC", "USDC", 1.0, 76e9, 0.0, 10e9),
        coin("tron", "TRX", "TRON", 0.28, 94.7e9, 0.55, 0.8e9),
        coin("dogecoin", "DOGE", "Dogecoin", 0.16, 151e9, 1.0, 1.5e9),
        coin("cardano", "ADA", "Cardano", 0.45, 36.5e9, 0.90, 0.7e9),
        coin(
            "hyperliquid",
            "HYPE",
            "Hyperliquid",
            35.0,
            337e6,
            1.1,
            0.4e9,
        ),
        coin("chainlink", "LINK", "Chainlink", 14.0, 697e6, 0.90, 0.6e9),
        coin("stellar", "XLM", "Stellar", 0.25, 32e9, 0.85, 0.3e9),
        coin("sui", "SUI", "Sui", 1.8, 3.6e9, 1.1, 0.8e9),
        coin(
            "bitcoin-cash",
            "BCH",
            "Bitcoin Cash",
            520.0,
            19.9e6,
            0.75,
            0.5e9,
        ),
        coin("avalanche-2", "AVAX", "Avalanche", 14.0, 427e6, 0.95, 0.5e9),
        coin(
            "hedera-hashgraph",
            "HBAR",
            "Hedera",
            0.14,
            42.4e9,
            0.95,
            0.2e9,
        ),
        coin("litecoin", "LTC", "Litecoin", 85.0, 76.4e6, 0.75, 0.5e9),
        coin(
            "the-open-network",
            "TON",
            "Toncoin",
            1.6,
            2.5e9,
            0.80,
            0.2e9,
        ),
        coin(
            "shiba-inu",
            "SHIB",
            "Shiba Inu",
            0.0000085,
            589e12,
            1.0,
            0.2e9,
        ),
    ]
}
