//! Hourly sentiment, per coin and market-wide, as points of `crypto_sentiment`.
//!
//! An hour's point is recomputed from every article of that hour in the store each time an
//! article of the hour is written, so late articles and replays converge on the same value and
//! the write is idempotent (same tags and time, whole row replaced).

use std::collections::{BTreeMap, BTreeSet};

pub use cryptoviz_measurements::sentiment::MARKET_WIDE;
use cryptoviz_measurements::sentiment::SentimentRow;
use cryptoviz_measurements::{Measurement, Time};
use cryptoviz_store::{Query, RecordBatch, Store, WriteBatch};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};

use super::ms_to_ns;
use crate::Result;
use crate::measurements::NEWS;

const HOUR_MS: i64 = 3_600_000;

/// Running sums of one (coin, hour).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Hour {
    sum: f64,
    articles: i64,
    positive: i64,
    negative: i64,
    neutral: i64,
}

impl Hour {
    fn add(&mut self, score: f64, label: &str) {
        self.sum += score;
        self.articles += 1;
        match label {
            "positive" => self.positive += 1,
            "negative" => self.negative += 1,
            _ => self.neutral += 1,
        }
    }
}

/// Start (ms) of the hour holding `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// Recomputes the hours starting at `hours` (ms) from the articles stored in them.
pub async fn recompute(store: &dyn Store, hours: &BTreeSet<i64>) -> Result<Option<WriteBatch>> {
    let mut all: BTreeMap<(i64, String), Hour> = BTreeMap::new();
    for &hour in hours {
        let query = Query::new(NEWS)
            .range(ms_to_ns(hour), ms_to_ns(hour + HOUR_MS))
            .fields(["sentiment_score", "sentiment_label", "coins"]);
        for batch in store.query(&query).await? {
            aggregate(hour, &batch, &mut all)?;
        }
    }
    batch(&all)
}

fn aggregate(
    hour: i64,
    batch: &RecordBatch,
    into: &mut BTreeMap<(i64, String), Hour>,
) -> Result<()> {
    let column = |name: &str, to: &DataType| -> Result<ArrayRef> {
        let index = batch.schema().index_of(name)?;
        Ok(cast(batch.column(index), to)?)
    };
    let scores = column("sentiment_score", &DataType::Float64)?;
    let scores = scores.as_primitive::<Float64Type>();
    let labels = column("sentiment_label", &DataType::Utf8)?;
    let labels = labels.as_string::<i32>();
    let coins = column("coins", &DataType::Utf8)?;
    let coins = coins.as_string::<i32>();
    for row in 0..batch.num_rows() {
        if scores.is_null(row) {
            continue;
        }
        let (score, label) = (scores.value(row), labels.value(row));
        into.entry((hour, MARKET_WIDE.to_string()))
            .or_default()
            .add(score, label);
        if !coins.is_null(row) {
            for coin in coins.value(row).split(',').filter(|c| !c.is_empty()) {
                into.entry((hour, coin.to_string()))
                    .or_default()
                    .add(score, label);
            }
        }
    }
    Ok(())
}

fn batch(hours: &BTreeMap<(i64, String), Hour>) -> Result<Option<WriteBatch>> {
    let rows: Vec<SentimentRow> = hours
        .iter()
        .map(|((start, id), h)| SentimentRow {
            time: Time::from_ms(*start),
            crypto_id: id.clone(),
            window: "1h".into(),
            score: Some(h.sum / h.articles as f64),
            articles: Some(h.articles),
            positive: Some(h.positive),
            negative: Some(h.negative),
            neutral: Some(h.neutral),
        })
        .collect();
    Ok(SentimentRow::to_batch(&rows)?)
}
