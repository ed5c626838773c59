//! `CryptoPrice`: one price tick, the hot-path record (topic `crypto-prices`).

use std::sync::LazyLock;

use apache_avro::Schema;
use serde::{Deserialize, Serialize};

use super::fields::message_codec;
use crate::validate::{opt_finite, opt_non_negative, positive, tag_value, timestamp};
use crate::{Message, Result, ValidationError, topics};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    super::parse_embedded(
        include_str!("../../avro/crypto_price.avsc"),
        "crypto_price.avsc",
    )
});

/// Schema id of version 1 (no volume, no candle fields), still read through resolution.
pub(crate) const V1_SCHEMA_ID: u32 = 1;

/// The version 1 schema, registered under [`V1_SCHEMA_ID`].
pub(crate) const V1_SCHEMA_JSON: &str = include_str!("../../avro/crypto_price.v1.avsc");

/// One price tick of one coin from one source. Optional fields are `None` when the source does
/// not provide them.
///
/// A *quote* is a point price. A *candle* (imported history) also has `open_usd`, `high_usd`
/// and `low_usd`, with `price_usd` as its close and `timestamp_ms` as its open time; the
/// windows merge candles exactly (first open, highest high, lowest low, last close, summed
/// volume), so resampling 1-minute candles into 5-minute ones gives the 5-minute candles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CryptoPrice {
    /// Stable coin id, e.g. `bitcoin`.
    pub crypto_id: String,
    /// Ticker, e.g. `BTC`.
    pub symbol: String,
    /// Display name, e.g. `Bitcoin`.
    pub name: String,
    /// Upstream API that produced the tick.
    pub source: String,
    /// Price in USD, finite and > 0.
    pub price_usd: f64,
    /// Market capitalisation in USD, >= 0.
    pub market_cap: Option<f64>,
    /// 24h traded volume in USD, >= 0.
    pub volume_24h: Option<f64>,
    /// Price change over 1h, percent.
    pub change_1h: Option<f64>,
    /// Price change over 24h, percent.
    pub change_24h: Option<f64>,
    /// Price change over 7 days, percent.
    pub change_7d: Option<f64>,
    /// All-time high, USD.
    pub ath: Option<f64>,
    /// All-time low, USD.
    pub atl: Option<f64>,
    /// Coins in circulation.
    pub circulating_supply: Option<f64>,
    /// Event time, ms since the Unix epoch (Avro field `timestamp`).
    pub timestamp_ms: i64,
    /// Base-asset units traded in the interval the record covers (a trade's size, a candle's
    /// volume), >= 0; `None` for a quote.
    pub volume: Option<f64>,
    /// Candle open, USD (set together with `high_usd` and `low_usd`).
    pub open_usd: Option<f64>,
    /// Candle high, USD.
    pub high_usd: Option<f64>,
    /// Candle low, USD.
    pub low_usd: Option<f64>,
}

impl CryptoPrice {
    /// `(open, high, low, close)`: the candle's, or the price four times for a quote.
    pub fn ohlc(&self) -> (f64, f64, f64, f64) {
        match (self.open_usd, self.high_usd, self.low_usd) {
            (Some(o), Some(h), Some(l)) => (o, h, l, self.price_usd),
            _ => (
                self.price_usd,
                self.price_usd,
                self.price_usd,
                self.price_usd,
            ),
        }
    }

    /// A candle has all three of open, high and low, each > 0, with `low <= open, close <=
    /// high`; a quote has none of them.
    fn validate_candle(&self) -> Result<(), ValidationError> {
        let (open, high, low) = match (self.open_usd, self.high_usd, self.low_usd) {
            (None, None, None) => return Ok(()),
            (Some(o), Some(h), Some(l)) => (o, h, l),
            (None, _, _) => return Err(candle_part("open_usd")),
            (_, None, _) => return Err(candle_part("high_usd")),
            (_, _, None) => return Err(candle_part("low_usd")),
        };
        positive("open_usd", open)?;
        positive("high_usd", high)?;
        positive("low_usd", low)?;
        let close = self.price_usd;
        if low > open.min(close) {
            return Err(ValidationError::new(
                "low_usd",
                format!("{low} is above the open {open} or the close {close}"),
            ));
        }
        if high < open.max(close) || high < low {
            return Err(ValidationError::new(
                "high_usd",
                format!("{high} is below the open {open}, the close {close} or the low {low}"),
            ));
        }
        Ok(())
    }
}

fn candle_part(missing: &'static str) -> ValidationError {
    ValidationError::new(
        missing,
        "a candle needs open_usd, high_usd and low_usd together",
    )
}

impl Message for CryptoPrice {
    message_codec! {
        id: 5, name: "io.cryptoviz.CryptoPrice", topic: topics::PRICES, schema: SCHEMA,
        record "CryptoPrice" {
            crypto_id: "crypto_id",
            symbol: "symbol",
            name: "name",
            source: "source",
            price_usd: "price_usd",
            market_cap: "market_cap",
            volume_24h: "volume_24h",
            change_1h: "change_1h",
            change_24h: "change_24h",
            change_7d: "change_7d",
            ath: "ath",
            atl: "atl",
            circulating_supply: "circulating_supply",
            timestamp_ms: "timestamp" as timestamp,
            volume: "volume",
            open_usd: "open_usd",
            high_usd: "high_usd",
            low_usd: "low_usd",
        }
    }

    fn validate_at(&self, now_ms: i64) -> Result<(), ValidationError> {
        tag_value("crypto_id", &self.crypto_id)?;
        tag_value("symbol", &self.symbol)?;
        tag_value("source", &self.source)?;
        positive("price_usd", self.price_usd)?;
        opt_non_negative("market_cap", self.market_cap)?;
        opt_non_negative("volume_24h", self.volume_24h)?;
        opt_finite("change_1h", self.change_1h)?;
        opt_finite("change_24h", self.change_24h)?;
        opt_finite("change_7d", self.change_7d)?;
        opt_finite("ath", self.ath)?;
        opt_finite("atl", self.atl)?;
        opt_non_negative("circulating_supply", self.circulating_supply)?;
        opt_non_negative("volume", self.volume)?;
        self.validate_candle()?;
        timestamp("timestamp", self.timestamp_ms, now_ms)
    }
}
