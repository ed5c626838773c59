//! Raw ingest: every price tick as a point of `crypto_market`.
//!
//! A tick's slowly changing fundamentals (name, ATH, ATL, circulating supply) are not repeated
//! here: [`super::coin_info`] writes them to `crypto_coin_info` when they change.

use std::sync::{Arc, LazyLock};

use cryptoviz_schemas::CryptoPrice;
use cryptoviz_store::WriteBatch;
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::{ms_to_ns, time_field};
use crate::Result;
use crate::measurements::{MARKET, MARKET_TAGS};

const NUMBERS: [&str; 10] = [
    "price_usd",
    "market_cap",
    "volume_24h",
    "change_1h",
    "change_24h",
    "change_7d",
    "volume",
    "open_usd",
    "high_usd",
    "low_usd",
];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![time_field()];
    fields.extend(
        MARKET_TAGS
            .iter()
            .map(|t| Field::new(*t, DataType::Utf8, false)),
    );
    fields.push(Field::new("price_usd", DataType::Float64, false));
    fields.extend(
        NUMBERS[1..]
            .iter()
            .map(|f| Field::new(*f, DataType::Float64, true)),
    );
    Arc::new(Schema::new(fields))
});

/// Accumulates ticks into a `crypto_market` batch.
pub struct MarketBuilder {
    time: TimestampNanosecondBuilder,
    crypto_id: StringBuilder,
    symbol: StringBuilder,
    source: StringBuilder,
    numbers: [Float64Builder; NUMBERS.len()],
    len: usize,
}

impl Default for MarketBuilder {
    fn default() -> Self {
        Self {
            time: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            crypto_id: StringBuilder::new(),
            symbol: StringBuilder::new(),
            source: StringBuilder::new(),
            numbers: std::array::from_fn(|_| Float64Builder::new()),
            len: 0,
        }
    }
}

impl MarketBuilder {
    /// Rows buffered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Buffers one tick.
    pub fn push(&mut self, p: &CryptoPrice) {
        self.time.append_value(ms_to_ns(p.timestamp_ms));
        self.crypto_id.append_value(&p.crypto_id);
        self.symbol.append_value(&p.symbol);
        self.source.append_value(&p.source);
        let values = [
            Some(p.price_usd),
            p.market_cap,
            p.volume_24h,
            p.change_1h,
            p.change_24h,
            p.change_7d,
            p.volume,
            p.open_usd,
            p.high_usd,
            p.low_usd,
        ];
        for (builder, value) in self.numbers.iter_mut().zip(values) {
            builder.append_option(value);
        }
        self.len += 1;
    }

    /// Takes what is buffered as a write batch (`None` when empty).
    pub fn finish(&mut self) -> Result<Option<WriteBatch>> {
        if self.len == 0 {
            return Ok(None);
        }
        self.len = 0;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
            Arc::new(self.crypto_id.finish()),
            Arc::new(self.symbol.finish()),
            Arc::new(self.source.finish()),
        ];
        columns.extend(
            self.numbers
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        let batch = RecordBatch::try_new(SCHEMA.clone(), columns)?;
        let tags = MARKET_TAGS.iter().map(|t| t.to_string()).collect();
        Ok(Some(WriteBatch::new(MARKET, tags, batch)?))
    }
}
