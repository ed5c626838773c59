//! CoinGecko `/api/v3/coins/markets`: the top coins by market cap, one [`CryptoPrice`] each.
//!
//! `crypto_id` is CoinGecko's coin id, the project's canonical coin id (CoinMarketCap records
//! are mapped onto it, see [`super::coinmarketcap`]).

use std::time::Duration;

use cryptoviz_schemas::{CryptoPrice, topics};
use serde::Deserialize;

use super::common::{self, Parsed, PollReport, Poller, RejectMemory};
use crate::config::{CoinGeckoConfig, CoinGeckoPlan};
use crate::http::HttpClient;
use crate::{Result, SourceContext};

/// Source name and `CryptoPrice::source` value.
pub const SOURCE: &str = "coingecko";

#[derive(Deserialize)]
struct Coin {
    id: String,
    symbol: String,
    name: String,
    current_price: Option<f64>,
    market_cap: Option<f64>,
    total_volume: Option<f64>,
    price_change_percentage_1h_in_currency: Option<f64>,
    price_change_percentage_24h_in_currency: Option<f64>,
    price_change_percentage_24h: Option<f64>,
    price_change_percentage_7d_in_currency: Option<f64>,
    ath: Option<f64>,
    atl: Option<f64>,
    circulating_supply: Option<f64>,
    last_updated: Option<String>,
}

/// Parses a `/coins/markets` body. A body that is not a JSON array is rejected whole; an item
/// of the wrong shape, without a price or with a bad `last_updated` is rejected alone.
/// `now_ms` stands in for a missing `last_updated`.
pub fn parse_markets(body: &[u8], now_ms: i64) -> Parsed<CryptoPrice> {
    common::parse_json_items(SOURCE, body, coins, |item| coin_to_price(item, now_ms))
}

/// The array of coins; an object instead is CoinGecko's error, named in the reason.
fn coins(value: &serde_json::Value) -> Result<&[serde_json::Value], String> {
    match value {
        serde_json::Value::Array(items) => Ok(items),
        other => {
            let detail = other
                .get("status")
                .and_then(|s| s.get("error_message"))
                .or_else(|| other.get("error"))
                .map(|e| format!(" (upstream error: {e})"))
                .unwrap_or_default();
            Err(format!(
                "expected a JSON array of coins, got {}{detail}",
                common::json_kind(other)
            ))
        }
    }
}

fn coin_to_price(item: &serde_json::Value, now_ms: i64) -> Result<CryptoPrice, String> {
    let coin = Coin::deserialize(item).map_err(|e| format!("wrong shape: {e}"))?;
    let price_usd = coin
        .current_price
        .ok_or_else(|| format!("{}: current_price is null", coin.id))?;
    let timestamp_ms = match coin.last_updated.as_deref() {
        None => now_ms,
        Some(s) => common::rfc3339_ms(s)
            .ok_or_else(|| format!("{}: last_updated {s:?} is not RFC 3339", coin.id))?,
    };
    Ok(CryptoPrice {
        crypto_id: coin.id,
        symbol: coin.symbol.to_uppercase(),
        name: coin.name,
        source: SOURCE.to_string(),
        price_usd,
        market_cap: coin.market_cap,
        volume_24h: coin.total_volume,
        change_1h: coin.price_change_percentage_1h_in_currency,
        change_24h: coin
            .price_change_percentage_24h_in_currency
            .or(coin.price_change_percentage_24h),
        change_7d: coin.price_change_percentage_7d_in_currency,
        ath: coin.ath,
        atl: coin.atl,
        circulating_supply: coin.circulating_supply,
        timestamp_ms,
        ..CryptoPrice::default()
    })
}

/// The CoinGecko agent.
pub struct CoinGeckoSource {
    config: CoinGeckoConfig,
    http: HttpClient,
    rejected: RejectMemory,
}

impl CoinGeckoSource {
    /// An agent for `config` (not validated here: see [`crate::SourcesConfig::validate`]).
    pub fn new(config: CoinGeckoConfig) -> Result<Self> {
        let http = HttpClient::new(&config.http)
            .map_err(|e| crate::Error::Config(format!("sources.coingecko.http: {e}")))?;
        Ok(Self {
            config,
            http,
            rejected: RejectMemory::default(),
        })
    }

    fn url(&self) -> String {
        format!(
            "{}/api/v3/coins/markets?vs_currency=usd&order=market_cap_desc&per_page={}&page=1&price_change_percentage=1h,24h,7d",
            self.config.effective_base_url(),
            self.config.per_page
        )
    }
}

impl Poller for CoinGeckoSource {
    const NAME: &'static str = SOURCE;

    /// The poll interval.
    fn interval(&self) -> Duration {
        self.config.effective_interval()
    }

    /// One poll: fetch, parse, publish the good records, dead-letter the rest.
    async fn poll_once(&mut self, ctx: &SourceContext) -> Result<PollReport> {
        let url = self.url();
        let header = match self.config.plan {
            CoinGeckoPlan::Demo => "x-cg-demo-api-key",
            CoinGeckoPlan::Pro => "x-cg-pro-api-key",
        };
        let key = self.config.api_key.clone();
        let headers: Vec<(&str, &str)> = key.iter().map(|k| (header, k.expose())).collect();
        common::poll_prices(
            &mut self.http,
            &mut self.rejected,
            ctx,
            SOURCE,
            &url,
            &headers,
            topics::PRICES,
            parse_markets,
        )
        .await
    }

    fn log_start(&self) {
        tracing::info!(
            per_page = self.config.per_page,
            interval_s = self.interval().as_secs(),
            keyed = self.config.api_key.is_some(),
            "coingecko agent started"
        );
    }
}
