//! An independent computation of the windows, to check the streaming operator.
//!
//! The streaming path aggregates tick by tick (Welford, watermarks, checkpoints); this module
//! recomputes every window in one batch query with DataFusion's own aggregates over the raw
//! `crypto_market` points the pipeline stored, and compares: counts, open, close, min and max
//! exactly, mean, standard deviation, volume and VWAP within 1e-9 relative. The bench and the end-to-end
//! tests use it. It assumes no tick was late (a late tick is stored raw but, by design, is in
//! no window).

use std::collections::HashMap;

use cryptoviz_store::EmbeddedStore;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, Int64Type, TimestampNanosecondType};

use crate::Result;
use crate::measurements::{ANALYTICS, MARKET};

/// Outcome of a comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Windows the batch computation found.
    pub expected: usize,
    /// Windows the pipeline stored.
    pub actual: usize,
    /// Human-readable differences (at most 20).
    pub mismatches: Vec<String>,
    /// Total number of differences.
    pub mismatch_count: usize,
}

impl Comparison {
    /// Whether every window matches and none is missing or extra.
    pub fn matches(&self) -> bool {
        self.mismatch_count == 0 && self.expected == self.actual
    }

    fn mismatch(&mut self, what: String) {
        self.mismatch_count += 1;
        if self.mismatches.len() < 20 {
            self.mismatches.push(what);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Row {
    count: i64,
    open: f64,
    close: f64,
    min: f64,
    max: f64,
    mean: f64,
    stddev: Option<f64>,
    volume: Option<f64>,
    vwap: Option<f64>,
}

type Key = (String, String, i64);

/// Compares the stored `window` (e.g. `1m` of `width_ms`) rows of `crypto_analytics` with a
/// batch computation over `crypto_market`.
pub async fn compare_windows(
    store: &EmbeddedStore,
    window: &str,
    width_ms: i64,
) -> Result<Comparison> {
    let width_s = width_ms / 1000;
    let expected = store
        .sql(&format!(
            "SELECT crypto_id, source, \
                    date_bin(INTERVAL '{width_s} seconds', time, TIMESTAMP '1970-01-01T00:00:00Z') AS bin, \
                    count(*) AS count, \
                    first_value(coalesce(open_usd, price_usd) ORDER BY time) AS open, \
                    last_value(price_usd ORDER BY time) AS close, \
                    min(coalesce(low_usd, price_usd)) AS min, \
                    max(coalesce(high_usd, price_usd)) AS max, \
                    avg(price_usd) AS mean, stddev(price_usd) AS stddev, \
                    sum(volume) AS volume, \
                    sum(CASE WHEN high_usd > low_usd \
                             THEN (high_usd + low_usd + price_usd) / 3.0 \
                             ELSE price_usd END * volume) \
                      / nullif(sum(volume), 0.0) AS vwap \
             FROM {MARKET} GROUP BY crypto_id, source, bin"
        ))
        .await?;
    let actual = store
        .sql(&format!(
            "SELECT crypto_id, source, time AS bin, count, open, close, min, max, mean, stddev, \
                    volume, vwap \
             FROM {ANALYTICS} WHERE \"window\" = '{window}'"
        ))
        .await?;
    let expected = rows(&expected);
    let actual = rows(&actual);
    let mut report = Comparison {
        expected: expected.len(),
        actual: actual.len(),
        ..Default::default()
    };
    for (key, want) in &expected {
        let Some(got) = actual.get(key) else {
            report.mismatch(format!("missing window {key:?}"));
            continue;
        };
        let exact = got.count == want.count
            && got.open == want.open
            && got.close == want.close
            && got.min == want.min
            && got.max == want.max;
        let close_enough = relative_eq(got.mean, want.mean)
            && opt_relative_eq(got.volume, want.volume)
            && opt_relative_eq(got.vwap, want.vwap)
            && match (got.stddev, want.stddev) {
                (Some(a), Some(b)) => relative_eq(a, b),
                (None, None) => true,
                // One tick: the pipeline says "no stddev", SQL may say null or 0.
                (None, Some(b)) | (Some(b), None) => got.count == 1 && b == 0.0,
            };
        if !(exact && close_enough) {
            report.mismatch(format!("window {key:?}: stored {got:?}, computed {want:?}"));
        }
    }
    for key in actual.keys() {
        if !expected.contains_key(key) {
            report.mismatch(format!("extra window {key:?}"));
        }
    }
    Ok(report)
}

fn relative_eq(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn opt_relative_eq(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => relative_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn rows(batches: &[RecordBatch]) -> HashMap<Key, Row> {
    let mut out = HashMap::new();
    for b in batches {
        let id = b.column(0).as_string::<i32>();
        let source = b.column(1).as_string::<i32>();
        let bin = b.column(2).as_primitive::<TimestampNanosecondType>();
        let count = b.column(3).as_primitive::<Int64Type>();
        let f = |i: usize| b.column(i).as_primitive::<Float64Type>();
        let (open, close, min, max, mean, stddev) = (f(4), f(5), f(6), f(7), f(8), f(9));
        let (volume, vwap) = (f(10), f(11));
        let opt = |a: &datafusion::arrow::array::Float64Array, r: usize| {
            (!a.is_null(r)).then(|| a.value(r))
        };
        for r in 0..b.num_rows() {
            out.insert(
                (
                    id.value(r).to_string(),
                    source.value(r).to_string(),
                    bin.value(r),
                ),
                Row {
                    count: count.value(r),
                    open: open.value(r),
                    close: close.value(r),
                    min: min.value(r),
                    max: max.value(r),
                    mean: mean.value(r),
                    stddev: opt(stddev, r),
                    volume: opt(volume, r),
                    vwap: opt(vwap, r),
                },
            );
        }
    }
    out
}
