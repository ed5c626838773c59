//! Hourly sentiment, per coin and market-wide, as points of `crypto_sentiment`.
//!
//! An hour's point is recomputed from every article of that hour in the store each time an
//! article of the hour is written, so late articles and replays converge on the same value and
//! the write is idempotent (same tags and time, whole row replaced).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use cryptoviz_store::{Query, RecordBatch, Store, WriteBatch};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int64Builder, StringBuilder,
    TimestampNanosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef};

use super::{ms_to_ns, time_field};
use crate::Result;
use crate::measurements::{NEWS, SENTIMENT, SENTIMENT_TAGS};

/// The `crypto_id` of the market-wide series.
pub const MARKET_WIDE: &str = "market";

const HOUR_MS: i64 = 3_600_000;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![time_field()];
    fields.extend(
        SENTIMENT_TAGS
            .iter()
            .map(|t| Field::new(*t, DataType::Utf8, false)),
    );
    fields.push(Field::new("score", DataType::Float64, true));
    for f in ["articles", "positive", "negative", "neutral"] {
        fields.push(Field::new(f, DataType::Int64, true));
    }
    Arc::new(Schema::new(fields))
});

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
    if hours.is_empty() {
        return Ok(None);
    }
    let mut time = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut coin = StringBuilder::new();
    let mut window = StringBuilder::new();
    let mut score = Float64Builder::new();
    let mut counts: [Int64Builder; 4] = std::array::from_fn(|_| Int64Builder::new());
    for ((start, id), h) in hours {
        time.append_value(ms_to_ns(*start));
        coin.append_value(id);
        window.append_value("1h");
        score.append_value(h.sum / h.articles as f64);
        for (b, v) in counts
            .iter_mut()
            .zip([h.articles, h.positive, h.negative, h.neutral])
        {
            b.append_value(v);
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(time.finish()),
        Arc::new(coin.finish()),
        Arc::new(window.finish()),
        Arc::new(score.finish()),
    ];
    columns.extend(counts.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    let batch = RecordBatch::try_new(SCHEMA.clone(), columns)?;
    let tags = SENTIMENT_TAGS.iter().map(|t| t.to_string()).collect();
    Ok(Some(WriteBatch::new(SENTIMENT, tags, batch)?))
}
