//! Window statistics and the indicators of their series as points of `crypto_analytics`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use cryptoviz_store::{Query, Store, WriteBatch};
use datafusion::arrow::array::{
    ArrayRef, AsArray, Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimestampNanosecondType};
use datafusion::arrow::record_batch::RecordBatch;

use super::{ms_to_ns, time_field};
use crate::Result;
use crate::indicators::INDICATOR_FIELDS;
use crate::measurements::{ANALYTICS, ANALYTICS_TAGS};
use crate::windows::{EmittedWindow, WindowStatus};

/// Float fields, in column order; the first seven are never null.
const STATS: [&str; 11] = [
    "open",
    "high",
    "low",
    "close",
    "mean",
    "min",
    "max",
    "stddev",
    "volatility_pct",
    "volume",
    "vwap",
];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![time_field()];
    fields.extend(
        ANALYTICS_TAGS
            .iter()
            .map(|t| Field::new(*t, DataType::Utf8, false)),
    );
    fields.extend(
        STATS
            .iter()
            .enumerate()
            .map(|(i, f)| Field::new(*f, DataType::Float64, i >= 7)),
    );
    fields.extend(
        INDICATOR_FIELDS
            .iter()
            .map(|f| Field::new(*f, DataType::Float64, true)),
    );
    fields.push(Field::new("count", DataType::Int64, false));
    fields.push(Field::new("window_end", DataType::Int64, false));
    fields.push(Field::new("status", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
});

/// Builds a `crypto_analytics` batch from emitted windows. The point's time is the window's
/// start, so re-emitting a window (provisional, then closed) overwrites the same point.
pub fn batch(windows: &[EmittedWindow]) -> Result<Option<WriteBatch>> {
    if windows.is_empty() {
        return Ok(None);
    }
    let mut time = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut tags: [StringBuilder; 3] = std::array::from_fn(|_| StringBuilder::new());
    let mut stats: [Float64Builder; STATS.len()] = std::array::from_fn(|_| Float64Builder::new());
    let mut indicators: [Float64Builder; INDICATOR_FIELDS.len()] =
        std::array::from_fn(|_| Float64Builder::new());
    let mut count = Int64Builder::new();
    let mut end = Int64Builder::new();
    let mut status = StringBuilder::new();
    for w in windows {
        time.append_value(ms_to_ns(w.start_ms));
        tags[0].append_value(&*w.crypto_id);
        tags[1].append_value(&*w.source);
        tags[2].append_value(&*w.window);
        let s = &w.stats;
        let values = [
            Some(s.open),
            Some(s.high),
            Some(s.low),
            Some(s.close),
            Some(s.mean),
            Some(s.low),
            Some(s.high),
            s.stddev,
            s.volatility_pct,
            s.volume,
            s.vwap,
        ];
        for (b, v) in stats.iter_mut().zip(values) {
            b.append_option(v);
        }
        for (b, v) in indicators.iter_mut().zip(w.indicators.to_array()) {
            b.append_option(v);
        }
        count.append_value(s.count as i64);
        end.append_value(ms_to_ns(w.end_ms));
        status.append_value(w.status.as_str());
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(time.finish())];
    columns.extend(tags.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(stats.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(
        indicators
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef),
    );
    columns.push(Arc::new(count.finish()));
    columns.push(Arc::new(end.finish()));
    columns.push(Arc::new(status.finish()));
    let batch = RecordBatch::try_new(SCHEMA.clone(), columns)?;
    let tags = ANALYTICS_TAGS.iter().map(|t| t.to_string()).collect();
    Ok(Some(WriteBatch::new(ANALYTICS, tags, batch)?))
}

/// Keeps, of several emissions of one window in a flush (provisional, then closed), only the
/// last — the most complete. Written together, both rows would share a point identity, and a
/// store that splits a write into concurrent requests (InfluxDB) could apply the older one
/// last. Order is otherwise kept.
pub(crate) fn keep_latest_emissions(emitted: &mut Vec<EmittedWindow>) {
    if emitted.len() < 2 {
        return;
    }
    let mut last: HashMap<(&str, &str, &str, i64), usize> = HashMap::with_capacity(emitted.len());
    for (i, w) in emitted.iter().enumerate() {
        last.insert((&w.crypto_id, &w.source, &w.window, w.start_ms), i);
    }
    if last.len() == emitted.len() {
        return;
    }
    let keep: Vec<bool> = emitted
        .iter()
        .enumerate()
        .map(|(i, w)| last[&(&*w.crypto_id, &*w.source, &*w.window, w.start_ms)] == i)
        .collect();
    let mut keep = keep.into_iter();
    emitted.retain(|_| keep.next().unwrap_or(true));
}

/// Drops the provisional and partial emissions of windows the store already holds as
/// `closed`: a less complete emission must never replace a more complete one (a replay that
/// ends with a window open which the live consumer has closed since; a consumer emitting an
/// idle window again after another member closed it). Closed emissions always go through.
pub(crate) async fn drop_superseded(
    store: &dyn Store,
    emitted: &mut Vec<EmittedWindow>,
) -> Result<()> {
    let open = emitted.iter().filter(|w| w.status != WindowStatus::Closed);
    let Some((from, to)) = open.fold(None, |span: Option<(i64, i64)>, w| {
        Some(span.map_or((w.start_ms, w.start_ms), |(a, b)| {
            (a.min(w.start_ms), b.max(w.start_ms))
        }))
    }) else {
        return Ok(());
    };
    let query = Query::new(ANALYTICS)
        .range(ms_to_ns(from), ms_to_ns(to).saturating_add(1))
        .fields(["status"]);
    let mut closed: HashSet<(String, String, String, i64)> = HashSet::new();
    for b in store.query(&query).await? {
        let col = |n: &str| b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>());
        let (Some(id), Some(source), Some(window), Some(status)) = (
            col("crypto_id"),
            col("source"),
            col("window"),
            col("status"),
        ) else {
            continue;
        };
        let Some(time) = b
            .column_by_name("time")
            .and_then(|c| c.as_primitive_opt::<TimestampNanosecondType>())
        else {
            continue;
        };
        for r in 0..b.num_rows() {
            if status.value(r) == WindowStatus::Closed.as_str() {
                closed.insert((
                    id.value(r).to_string(),
                    source.value(r).to_string(),
                    window.value(r).to_string(),
                    time.value(r) / 1_000_000,
                ));
            }
        }
    }
    if closed.is_empty() {
        return Ok(());
    }
    let before = emitted.len();
    emitted.retain(|w| {
        w.status == WindowStatus::Closed
            || !closed.contains(&(
                w.crypto_id.to_string(),
                w.source.to_string(),
                w.window.to_string(),
                w.start_ms,
            ))
    });
    tracing::debug!(
        dropped = before - emitted.len(),
        "open windows not written over their closed versions"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::WindowStats;

    fn window(coin: &str, start_ms: i64, status: WindowStatus, count: u64) -> EmittedWindow {
        EmittedWindow {
            crypto_id: coin.into(),
            source: "sim".into(),
            window: "1m".into(),
            start_ms,
            end_ms: start_ms + 60_000,
            stats: WindowStats {
                count,
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0,
                mean: 1.0,
                stddev: None,
                volatility_pct: None,
                volume: None,
                vwap: None,
            },
            status,
            indicators: Default::default(),
        }
    }

    #[test]
    fn a_flush_writes_only_the_last_emission_of_each_window() {
        let mut emitted = vec![
            window("btc", 0, WindowStatus::Provisional, 3),
            window("eth", 0, WindowStatus::Closed, 9),
            window("btc", 0, WindowStatus::Closed, 5),
            window("btc", 60_000, WindowStatus::Provisional, 1),
        ];
        keep_latest_emissions(&mut emitted);
        let got: Vec<(&str, i64, u64)> = emitted
            .iter()
            .map(|w| (&*w.crypto_id, w.start_ms, w.stats.count))
            .collect();
        assert_eq!(got, vec![("eth", 0, 9), ("btc", 0, 5), ("btc", 60_000, 1)]);
        let batch = batch(&emitted).unwrap().unwrap();
        assert_eq!(batch.batch.num_rows(), 3, "one row per point identity");
    }
}
