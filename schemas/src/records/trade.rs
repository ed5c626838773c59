//! `CryptoTrade`: one trade on one exchange (topic `crypto-trades`), the input of trade
//! candles.

use std::sync::LazyLock;

use apache_avro::{Schema, types::Value};
use serde::{Deserialize, Serialize};

use crate::codec::{Reader, put_double, put_int, put_long, put_str};
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
    const SCHEMA_ID: u32 = 6;
    const FULL_NAME: &'static str = "io.cryptoviz.CryptoTrade";
    const TOPIC: &'static str = topics::TRADES;

    fn schema() -> &'static Schema {
        &SCHEMA
    }

    fn encode_datum(&self, out: &mut Vec<u8>) {
        put_str(out, &self.exchange);
        put_str(out, &self.symbol);
        put_str(out, &self.crypto_id);
        put_str(out, &self.quote);
        put_long(out, self.trade_id);
        put_double(out, self.price);
        put_double(out, self.quantity);
        put_int(out, self.side.index());
        put_long(out, self.event_time_ms);
        put_long(out, self.receive_time_ms);
    }

    fn decode_datum(bytes: &[u8]) -> Result<Self> {
        let mut msg = Self::default();
        msg.decode_datum_into(bytes)?;
        Ok(msg)
    }

    fn decode_datum_into(&mut self, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes);
        let Self {
            exchange,
            symbol,
            crypto_id,
            quote,
            trade_id,
            price,
            quantity,
            side,
            event_time_ms,
            receive_time_ms,
        } = self;
        r.string_into("exchange", exchange)?;
        r.string_into("symbol", symbol)?;
        r.string_into("crypto_id", crypto_id)?;
        r.string_into("quote", quote)?;
        *trade_id = r.long("trade_id")?;
        *price = r.double("price")?;
        *quantity = r.double("quantity")?;
        *side = TakerSide::from_index(r.int("side")?)?;
        *event_time_ms = r.long("event_time")?;
        *receive_time_ms = r.long("receive_time")?;
        r.finish()
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

    fn from_avro_value(v: Value) -> Result<Self> {
        let mut f = Fields::new(v, "CryptoTrade")?;
        Ok(Self {
            exchange: f.string("exchange")?,
            symbol: f.string("symbol")?,
            crypto_id: f.string("crypto_id")?,
            quote: f.string("quote")?,
            trade_id: f.long("trade_id")?,
            price: f.double("price")?,
            quantity: f.double("quantity")?,
            side: match f.enum_symbol("side")?.as_str() {
                "buy" => TakerSide::Buy,
                "sell" => TakerSide::Sell,
                _ => return Err(Error::Value { what: "side" }),
            },
            event_time_ms: f.timestamp_ms("event_time")?,
            receive_time_ms: f.timestamp_ms("receive_time")?,
        })
    }
}
