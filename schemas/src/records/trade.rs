//! `CryptoTrade`: one trade on one exchange (topic `crypto-trades`), the input of trade
//! candles.

use std::sync::LazyLock;

use apache_avro::Schema;
use serde::{Deserialize, Serialize};

use super::fields::{Field, message_codec};
use crate::codec::{Reader, put_int};
use crate::error::Error;
use crate::validate::{positive, tag_value, timestamp};
use crate::value::Fields;
use crate::{Message, Result, ValidationError, topics};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    super::parse_embedded(
        include_str!("../../avro/crypto_trade.avsc"),
        "crypto_trade.avsc",
    )
});

/// The taker's side of a trade (Avro enum `TakerSide`): `buy` lifted an ask, `sell` hit a
/// bid. Exchanges that report the maker's side (Binance `m`, Coinbase `side`) are turned
/// around by their parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TakerSide {
    /// The taker bought.
    #[default]
    Buy,
    /// The taker sold.
    Sell,
}

impl TakerSide {
    /// `buy` or `sell`, the Avro symbol.
    pub fn as_str(self) -> &'static str {
        match self {
            TakerSide::Buy => "buy",
            TakerSide::Sell => "sell",
        }
    }

    fn index(self) -> i32 {
        match self {
            TakerSide::Buy => 0,
            TakerSide::Sell => 1,
        }
    }

    fn from_index(index: i32) -> Result<Self> {
        match index {
            0 => Ok(TakerSide::Buy),
            1 => Ok(TakerSide::Sell),
            other => Err(Error::BadUnionIndex {
                what: "side",
                index: other.into(),
            }),
        }
    }
}

/// An Avro enum: its index on the wire, its symbol in a resolved record.
impl Field for TakerSide {
    fn put(&self, out: &mut Vec<u8>) {
        put_int(out, self.index());
    }
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        TakerSide::from_index(r.int(name)?)
    }
    fn from_value(f: &mut Fields, name: &'static str) -> Result<Self> {
        match f.enum_symbol(name)?.as_str() {
            "buy" => Ok(TakerSide::Buy),
            "sell" => Ok(TakerSide::Sell),
            _ => Err(Error::Value { what: name }),
        }
    }
}

/// One trade of one market on one exchange.
///
/// `(exchange, symbol, trade_id)` identifies a trade: the three exchanges number trades
/// contiguously per symbol, so a consumer can check for gaps and drop duplicates by id (never
/// by time: many trades share a millisecond).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CryptoTrade {
    /// Exchange name, e.g. `binance` (also the producing source's name).
    pub exchange: String,
    /// The exchange's market symbol, e.g. `BTCUSDT`, `BTC-USD`, `BTC/USD`.
    pub symbol: String,
    /// Canonical coin id, e.g. `bitcoin` (the partitioning key).
    pub crypto_id: String,
    /// Quote currency, e.g. `USDT`, `USD`.
    pub quote: String,
    /// The exchange's trade id, >= 0.
    pub trade_id: i64,
    /// Price in the quote currency, finite and > 0.
    pub price: f64,
    /// Base-asset quantity, finite and > 0.
    pub quantity: f64,
    /// The taker's side.
    pub side: TakerSide,
    /// Trade time at the exchange, ms since the Unix epoch (Avro field `event_time`).
    pub event_time_ms: i64,
    /// When the pipeline received the trade, ms since the Unix epoch (Avro field
    /// `receive_time`); for a trade fetched over REST to fill a gap, the fetch time.
    pub receive_time_ms: i64,
}

impl Message for CryptoTrade {
    message_codec! {
        id: 6, name: "io.cryptoviz.CryptoTrade", topic: topics::TRADES, schema: SCHEMA,
        record "CryptoTrade" {
            exchange: "exchange",
            symbol: "symbol",
            crypto_id: "crypto_id",
            quote: "quote",
            trade_id: "trade_id",
            price: "price",
            quantity: "quantity",
            side: "side",
            event_time_ms: "event_time" as timestamp,
            receive_time_ms: "receive_time" as timestamp,
        }
    }

    fn validate_at(&self, now_ms: i64) -> Result<(), ValidationError> {
        tag_value("exchange", &self.exchange)?;
        tag_value("symbol", &self.symbol)?;
        tag_value("crypto_id", &self.crypto_id)?;
        tag_value("quote", &self.quote)?;
        if self.trade_id < 0 {
            return Err(ValidationError::new(
                "trade_id",
                format!("must be >= 0, got {}", self.trade_id),
            ));
        }
        positive("price", self.price)?;
        positive("quantity", self.quantity)?;
        timestamp("event_time", self.event_time_ms, now_ms)?;
        timestamp("receive_time", self.receive_time_ms, now_ms)
    }
}
