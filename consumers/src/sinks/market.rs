//! Raw ingest: every price tick as a point of `crypto_market`.
//!
//! A tick's slowly changing fundamentals (name, ATH, ATL, circulating supply) are not repeated
//! here: [`super::coin_info`] writes them to `crypto_coin_info` when they change.
//!
//! The columns are declared by [`MarketRow`]; this builder fills them without building a
//! row per tick (the hot path: no string copies), in the row's column order, and the batch
//! is checked against the declared schema when it is built.

use std::sync::Arc;

use cryptoviz_measurements::Measurement;
use cryptoviz_measurements::market::MarketRow;
use cryptoviz_schemas::CryptoPrice;
use cryptoviz_store::WriteBatch;
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::record_batch::RecordBatch;

use super::ms_to_ns;
use crate::Result;

/// The float columns of [`MarketRow`] after its tags, in order (`price_usd` first).
const NUMBERS: usize = 10;

/// Accumulates ticks into a `crypto_market` batch.
pub struct MarketBuilder {
    time: TimestampNanosecondBuilder,
    crypto_id: StringBuilder,
    symbol: StringBuilder,
    source: StringBuilder,
    numbers: [Float64Builder; NUMBERS],
    len: usize,
}

impl Default for MarketBuilder {
    fn default() -> Self {
        Self::with_capacity(0, [0; 3])
    }
}

impl MarketBuilder {
    /// Room for `rows` ticks whose `crypto_id`, `symbol` and `source` take `bytes` in all.
    fn with_capacity(rows: usize, bytes: [usize; 3]) -> Self {
        Self {
            time: TimestampNanosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            crypto_id: StringBuilder::with_capacity(rows, bytes[0]),
            symbol: StringBuilder::with_capacity(rows, bytes[1]),
            source: StringBuilder::with_capacity(rows, bytes[2]),
            numbers: std::array::from_fn(|_| Float64Builder::with_capacity(rows)),
            len: 0,
        }
    }

    /// Rows buffered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Buffers one tick, stamped `sub_ns` nanoseconds after its millisecond event time (its
    /// offset among the distinct ticks of that millisecond, see [`crate::identity`]).
    pub fn push(&mut self, p: &CryptoPrice, sub_ns: u32) {
        self.time
            .append_value(ms_to_ns(p.timestamp_ms).saturating_add(i64::from(sub_ns)));
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
        let rows = std::mem::take(&mut self.len);
        let time = self.time.finish();
        let strings = [&mut self.crypto_id, &mut self.symbol, &mut self.source].map(|b| b.finish());
        let numbers = self.numbers.each_mut().map(|b| b.finish());
        // The next batch is likely about as large: size the builders for it now rather than
        // grow them by doubling (a copy, and fresh pages faulted in, at every step).
        *self = Self::with_capacity(rows, strings.each_ref().map(|a| a.value_data().len()));
        let mut columns: Vec<ArrayRef> = vec![Arc::new(time)];
        columns.extend(strings.map(|a| Arc::new(a) as ArrayRef));
        columns.extend(numbers.map(|a| Arc::new(a) as ArrayRef));
        let batch = RecordBatch::try_new(MarketRow::schema(), columns)?;
        Ok(Some(WriteBatch::new(
            MarketRow::NAME,
            MarketRow::tags(),
            batch,
        )?))
    }
}
