//! CoinMarketCap `/v1/cryptocurrency/listings/latest`, one [`CryptoPrice`] per coin.
//!
//! Records carry CoinGecko's coin id as `crypto_id`, so both sources of a coin land on the
//! same key. The mapping goes by CMC *slug* — never by symbol, which collides (dozens of
//! tokens call themselves `UNI` or `LUNA`) — through [`SLUG_TO_COINGECKO`] where the two
//! differ; an unknown slug is kept as it is.

use std::time::Duration;

use cryptoviz_schemas::{CryptoPrice, topics};
use serde::Deserialize;

use super::common::{self, Parsed, PollReport, Poller, RejectMemory};
use crate::config::CoinMarketCapConfig;
use crate::http::HttpClient;
use crate::{Result, SourceContext};

/// Source name and `CryptoPrice::source` value.
pub const SOURCE: &str = "coinmarketcap";

/// CMC slug → CoinGecko id, for the top coins whose slugs differ.
pub const SLUG_TO_COINGECKO: &[(&str, &str)] = &[
    ("bnb", "binancecoin"),
    ("xrp", "ripple"),
    ("avalanche", "avalanche-2"),
    ("toncoin", "the-open-network"),
    ("polygon", "matic-network"),
    ("polkadot-new", "polkadot"),
    ("multi-collateral-dai", "dai"),
    ("unus-sed-leo", "leo-token"),
    ("near-protocol", "near"),
    ("cronos", "crypto-com-chain"),
    ("crypto-com-coin", "crypto-com-chain"),
    ("hedera", "hedera-hashgraph"),
    ("render", "render-token"),
    ("injective", "injective-protocol"),
    ("optimism-ethereum", "optimism"),
    ("stacks", "blockstack"),
    ("dogwifhat", "dogwifcoin"),
    ("artificial-superintelligence-alliance", "fetch-ai"),
    ("bitget-token-new", "bitget-token"),
    ("theta-network", "theta-token"),
    ("multiversx-egld", "elrond-erd-2"),
    ("elrond-egld", "elrond-erd-2"),
    ("quant", "quant-network"),
    ("terra-luna-v2", "terra-luna-2"),
    ("pancakeswap", "pancakeswap-token"),
    ("sei", "sei-network"),
    ("lido-finance-wsteth", "wrapped-steth"),
    ("steth", "staked-ether"),
    ("worldcoin-org", "worldcoin-wld"),
    ("kucoin-token", "kucoin-shares"),
    ("gatetoken", "gatechain-token"),
    ("bittorrent-new", "bittorrent"),
    ("xinfin", "xdce-crowd-sale"),
];

/// The CoinGecko id for CMC `slug` (the slug itself when unknown).
pub fn coingecko_id(slug: &str) -> &str {
    SLUG_TO_COINGECKO
        .iter()
        .find(|(s, _)| *s == slug)
        .map_or(slug, |(_, id)| id)
}

#[derive(Deserialize)]
struct Listing {
    name: String,
    symbol: String,
    slug: String,
    circulating_supply: Option<f64>,
    last_updated: Option<String>,
    quote: Quotes,
}

#[derive(Deserialize)]
struct Quotes {
    #[serde(rename = "USD")]
    usd: Quote,
}

#[derive(Deserialize)]
struct Quote {
    price: Option<f64>,
    volume_24h: Option<f64>,
    percent_change_1h: Option<f64>,
    percent_change_24h: Option<f64>,
    percent_change_7d: Option<f64>,
    market_cap: Option<f64>,
    last_updated: Option<String>,
}

/// Parses a listings body (`{"status": …, "data": [...]}`). An upstream error status or a body
/// of the wrong shape is rejected whole; a bad item alone.
pub fn parse_listings(body: &[u8], now_ms: i64) -> Parsed<CryptoPrice> {
    common::parse_json_items(SOURCE, body, listings, |item| {
        listing_to_price(item, now_ms)
    })
}

/// The `data` array of listings, unless the `status` reports an upstream error.
fn listings(value: &serde_json::Value) -> Result<&[serde_json::Value], String> {
    let status = value.get("status");
    let code = status
        .and_then(|s| s.get("error_code"))
        .and_then(|c| {
            c.as_i64()
                .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0);
    if code != 0 {
        let message = status
            .and_then(|s| s.get("error_message"))
            .and_then(|m| m.as_str())
            .unwrap_or("no message");
        return Err(format!("upstream error {code}: {message}"));
    }
    common::data_array(value)
}

fn listing_to_price(item: &serde_json::Value, now_ms: i64) -> Result<CryptoPrice, String> {
    let l = Listing::deserialize(item).map_err(|e| format!("wrong shape: {e}"))?;
    let q = l.quote.usd;
    let price_usd = q
        .price
        .ok_or_else(|| format!("{}: quote.USD.price is null", l.slug))?;
    let timestamp_ms = match q.last_updated.as_deref().or(l.last_updated.as_deref()) {
        None => now_ms,
        Some(s) => common::rfc3339_ms(s)
            .ok_or_else(|| format!("{}: last_updated {s:?} is not RFC 3339", l.slug))?,
    };
    Ok(CryptoPrice {
        crypto_id: coingecko_id(&l.slug).to_string(),
        symbol: l.symbol.to_uppercase(),
        name: l.name,
        source: SOURCE.to_string(),
        price_usd,
        market_cap: q.market_cap,
        volume_24h: q.volume_24h,
        change_1h: q.percent_change_1h,
        change_24h: q.percent_change_24h,
        change_7d: q.percent_change_7d,
        ath: None,
        atl: None,
        circulating_supply: l.circulating_supply,
        timestamp_ms,
        ..CryptoPrice::default()
    })
}

/// The CoinMarketCap agent (only built with a key).
pub struct CoinMarketCapSource {
    config: CoinMarketCapConfig,
    http: HttpClient,
    rejected: RejectMemory,
}

impl CoinMarketCapSource {
    /// An agent for `config`; fails when there is no key.
    pub fn new(config: CoinMarketCapConfig) -> Result<Self> {
        if config.api_key.is_none() {
            return Err(crate::Error::Config(
                "sources.coinmarketcap.api_key: required (or set COINMARKETCAP_API_KEY)".into(),
            ));
        }
        let http = HttpClient::new(&config.http)
            .map_err(|e| crate::Error::Config(format!("sources.coinmarketcap.http: {e}")))?;
        Ok(Self {
            config,
            http,
            rejected: RejectMemory::default(),
        })
    }
}

impl Poller for CoinMarketCapSource {
    const NAME: &'static str = SOURCE;

    /// The poll interval.
    fn interval(&self) -> Duration {
        self.config.interval
    }

    /// One poll: fetch, parse, publish the good records, dead-letter the rest.
    async fn poll_once(&mut self, ctx: &SourceContext) -> Result<PollReport> {
        let url = format!(
            "{}/v1/cryptocurrency/listings/latest?limit={}&convert=USD",
            self.config.base_url.trim_end_matches('/'),
            self.config.limit
        );
        let key = self
            .config
            .api_key
            .clone()
            .unwrap_or_else(|| crate::config::ApiKey::new(""));
        let headers = [
            ("X-CMC_PRO_API_KEY", key.expose()),
            ("Accept", "application/json"),
        ];
        common::poll_prices(
            &mut self.http,
            &mut self.rejected,
            ctx,
            SOURCE,
            &url,
            &headers,
            topics::PRICES,
            parse_listings,
        )
        .await
    }

    fn log_start(&self) {
        tracing::info!(
            limit = self.config.limit,
            interval_s = self.interval().as_secs(),
            "coinmarketcap agent started"
        );
    }
}
