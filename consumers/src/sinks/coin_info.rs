//! Coin fundamentals as points of `crypto_coin_info`, written when they change.
//!
//! A coin's display name, all-time high and low and circulating supply change rarely (an ATH
//! moves only when the price passes it), so they are not repeated in every `crypto_market`
//! tick: each (coin, source) series gets a point when one of them differs from the last point
//! this builder produced for it. On InfluxDB every field of a point costs the server parsing,
//! validation and cache work; a tick without them is 7 fields instead of 11.
//!
//! The comparison state lives in the consumer and is rebuilt from the store
//! ([`CoinInfoBuilder::warm_up`]) as of where reading resumes: the checkpoint's closed point
//! after a restart, the start of a time-bounded replay. So a replay over a full store writes
//! exactly the points already there, and a replay into an empty one the points the live
//! consumer wrote. Where the seed and the first re-read tick disagree (ticks re-read from a
//! committed offset before the checkpoint time, a replay from an offset) a series gets one
//! extra point repeating values it had: never a lost or changed value, and the newest point of
//! each series, which the API reads, is the same.

use std::sync::Arc;

use ahash::AHashMap;
use cryptoviz_measurements::Measurement;
use cryptoviz_measurements::coin_info::CoinInfoRow;
use cryptoviz_schemas::CryptoPrice;
use cryptoviz_store::{Query, Store, WriteBatch};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, StringBuilder,
    TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::Float64Type;
use datafusion::arrow::record_batch::RecordBatch;

use super::ms_to_ns;
use crate::Result;
use crate::measurements::COIN_INFO;

/// What a `crypto_coin_info` point carries for one series.
#[derive(Debug, Clone, PartialEq)]
struct Info {
    symbol: String,
    name: String,
    ath: Option<f64>,
    atl: Option<f64>,
    circulating_supply: Option<f64>,
}

impl Info {
    fn of(p: &CryptoPrice) -> Self {
        Self {
            symbol: p.symbol.clone(),
            name: p.name.clone(),
            ath: p.ath,
            atl: p.atl,
            circulating_supply: p.circulating_supply,
        }
    }

    fn matches(&self, p: &CryptoPrice) -> bool {
        self.symbol == p.symbol
            && self.name == p.name
            && self.ath == p.ath
            && self.atl == p.atl
            && self.circulating_supply == p.circulating_supply
    }

    fn is_empty(p: &CryptoPrice) -> bool {
        p.name.is_empty() && p.ath.is_none() && p.atl.is_none() && p.circulating_supply.is_none()
    }
}

/// Accumulates `crypto_coin_info` points: one per series whenever its fundamentals change.
pub struct CoinInfoBuilder {
    /// The last fundamentals buffered per source, then per coin.
    last: AHashMap<String, AHashMap<String, Info>>,
    time: TimestampNanosecondBuilder,
    crypto_id: StringBuilder,
    symbol: StringBuilder,
    source: StringBuilder,
    name: StringBuilder,
    ath: Float64Builder,
    atl: Float64Builder,
    circulating_supply: Float64Builder,
    len: usize,
}

impl Default for CoinInfoBuilder {
    fn default() -> Self {
        Self {
            last: AHashMap::new(),
            time: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            crypto_id: StringBuilder::new(),
            symbol: StringBuilder::new(),
            source: StringBuilder::new(),
            name: StringBuilder::new(),
            ath: Float64Builder::new(),
            atl: Float64Builder::new(),
            circulating_supply: Float64Builder::new(),
            len: 0,
        }
    }
}

impl CoinInfoBuilder {
    /// Points buffered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every series' fundamentals (a start with nothing before it).
    pub fn clear(&mut self) {
        self.last.clear();
    }

    /// Rebuilds the comparison state from the store: each series' newest `crypto_coin_info`
    /// point before `before_ms`.
    pub async fn warm_up(&mut self, store: &dyn Store, before_ms: i64) -> Result<()> {
        self.last.clear();
        let query = Query::new(COIN_INFO).range(0, ms_to_ns(before_ms));
        for b in store.query(&query).await? {
            let col = |name: &str| b.column_by_name(name);
            let (Some(id), Some(source), Some(symbol)) = (
                col("crypto_id").and_then(|c| c.as_string_opt::<i32>()),
                col("source").and_then(|c| c.as_string_opt::<i32>()),
                col("symbol").and_then(|c| c.as_string_opt::<i32>()),
            ) else {
                continue;
            };
            let name = col("name").and_then(|c| c.as_string_opt::<i32>());
            let number = |n: &str| col(n).and_then(|c| c.as_primitive_opt::<Float64Type>());
            let (ath, atl, supply) = (number("ath"), number("atl"), number("circulating_supply"));
            let value = |a: Option<&Float64Array>, r: usize| {
                a.filter(|a| a.is_valid(r)).map(|a| a.value(r))
            };
            // Oldest first: the last row of a series is its newest.
            for r in 0..b.num_rows() {
                let info = Info {
                    symbol: symbol.value(r).to_string(),
                    name: name
                        .filter(|n| n.is_valid(r))
                        .map_or_else(String::new, |n| n.value(r).to_string()),
                    ath: value(ath, r),
                    atl: value(atl, r),
                    circulating_supply: value(supply, r),
                };
                self.last
                    .entry(source.value(r).to_string())
                    .or_default()
                    .insert(id.value(r).to_string(), info);
            }
        }
        Ok(())
    }

    /// Looks at one tick: buffers a point if its fundamentals differ from the series' last
    /// ones (a tick without any is skipped).
    pub fn push(&mut self, p: &CryptoPrice) {
        let by_coin = match self.last.get_mut(p.source.as_str()) {
            Some(m) => m,
            None => self.last.entry(p.source.clone()).or_default(),
        };
        match by_coin.get_mut(p.crypto_id.as_str()) {
            Some(info) if info.matches(p) => return,
            Some(info) => *info = Info::of(p),
            None if Info::is_empty(p) => return,
            None => {
                by_coin.insert(p.crypto_id.clone(), Info::of(p));
            }
        }
        self.time.append_value(ms_to_ns(p.timestamp_ms));
        self.crypto_id.append_value(&p.crypto_id);
        self.symbol.append_value(&p.symbol);
        self.source.append_value(&p.source);
        self.name.append_value(&p.name);
        self.ath.append_option(p.ath);
        self.atl.append_option(p.atl);
        self.circulating_supply.append_option(p.circulating_supply);
        self.len += 1;
    }

    /// Takes what is buffered as a write batch (`None` when empty). The comparison state is
    /// kept.
    pub fn finish(&mut self) -> Result<Option<WriteBatch>> {
        if self.len == 0 {
            return Ok(None);
        }
        self.len = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
            Arc::new(self.crypto_id.finish()),
            Arc::new(self.symbol.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.ath.finish()),
            Arc::new(self.atl.finish()),
            Arc::new(self.circulating_supply.finish()),
        ];
        // In the column order of [`CoinInfoRow`], checked against its schema here.
        let batch = RecordBatch::try_new(CoinInfoRow::schema(), columns)?;
        Ok(Some(WriteBatch::new(
            COIN_INFO,
            CoinInfoRow::tags(),
            batch,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::TimestampNanosecondType;

    use super::*;

    fn tick(id: &str, source: &str, ts: i64, ath: f64) -> CryptoPrice {
        CryptoPrice {
            crypto_id: id.into(),
            symbol: id.to_uppercase(),
            name: format!("{id} coin"),
            source: source.into(),
            price_usd: 1.0,
            timestamp_ms: ts,
            ath: Some(ath),
            atl: Some(0.5),
            circulating_supply: Some(1e6),
            ..CryptoPrice::default()
        }
    }

    fn times_and_aths(b: &WriteBatch) -> Vec<(i64, f64)> {
        let batch = &b.batch;
        let time = batch
            .column_by_name("time")
            .unwrap()
            .as_primitive::<TimestampNanosecondType>();
        let ath: &Float64Array = batch.column_by_name("ath").unwrap().as_primitive();
        (0..batch.num_rows())
            .map(|i| (time.value(i) / 1_000_000, ath.value(i)))
            .collect()
    }

    #[test]
    fn coin_info_written_when_it_changes_per_series() {
        let mut b = CoinInfoBuilder::default();
        b.push(&tick("bitcoin", "coingecko", 1_000, 100.0));
        b.push(&tick("bitcoin", "coingecko", 2_000, 100.0)); // unchanged
        b.push(&tick("bitcoin", "coinmarketcap", 2_500, 100.0)); // another series
        b.push(&tick("bitcoin", "coingecko", 3_000, 101.0)); // new ATH
        b.push(&tick("bitcoin", "coingecko", 4_000, 101.0));
        let mut unnamed = tick("ethereum", "coingecko", 5_000, 0.0);
        (
            unnamed.name,
            unnamed.ath,
            unnamed.atl,
            unnamed.circulating_supply,
        ) = (String::new(), None, None, None);
        b.push(&unnamed); // nothing to say
        assert_eq!(b.len(), 3);
        let batch = b.finish().unwrap().unwrap();
        assert_eq!(batch.measurement, COIN_INFO);
        assert_eq!(
            times_and_aths(&batch),
            vec![(1_000, 100.0), (2_500, 100.0), (3_000, 101.0)]
        );
        // The state outlives a flush: the next unchanged tick writes nothing, a change does.
        b.push(&tick("bitcoin", "coingecko", 6_000, 101.0));
        assert!(b.finish().unwrap().is_none());
        let mut renamed = tick("bitcoin", "coingecko", 7_000, 101.0);
        renamed.circulating_supply = Some(2e6);
        b.push(&renamed);
        assert_eq!(
            times_and_aths(&b.finish().unwrap().unwrap()),
            vec![(7_000, 101.0)]
        );
    }
}
