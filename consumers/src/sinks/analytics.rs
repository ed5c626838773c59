//! Window statistics and the indicators of their series as points of `crypto_analytics`
//! (declared in [`cryptoviz_measurements::analytics`]).

use std::collections::{HashMap, HashSet};

use cryptoviz_measurements::analytics::AnalyticsRow;
use cryptoviz_measurements::{Measurement, Nanos, Time};
use cryptoviz_store::{Query, Store, WriteBatch};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::TimestampNanosecondType;

use super::ms_to_ns;
use crate::Result;
use crate::measurements::ANALYTICS;
use crate::windows::{EmittedWindow, WindowStatus};

/// The stored row of an emitted window. The point's time is the window's start, so
/// re-emitting a window (provisional, then closed) overwrites the same point.
pub fn row(w: &EmittedWindow) -> AnalyticsRow {
    let s = &w.stats;
    AnalyticsRow {
        time: Time::from_ms(w.start_ms),
        crypto_id: w.crypto_id.to_string(),
        source: w.source.to_string(),
        window: w.window.to_string(),
        open: s.open,
        high: s.high,
        low: s.low,
        close: s.close,
        mean: s.mean,
        min: s.low,
        max: s.high,
        stddev: s.stddev,
        volatility_pct: s.volatility_pct,
        volume: s.volume,
        vwap: s.vwap,
        indicators: w.indicators,
        count: s.count as i64,
        window_end: Nanos::from_ms(w.end_ms),
        status: w.status,
    }
}

/// Builds a `crypto_analytics` batch from emitted windows (`None` when there are none).
pub fn batch(windows: &[EmittedWindow]) -> Result<Option<WriteBatch>> {
    let rows: Vec<AnalyticsRow> = windows.iter().map(row).collect();
    Ok(AnalyticsRow::to_batch(&rows)?)
}

/// Where a kind of window is stored: its measurement and the tag that names the series'
/// source (for [`drop_superseded`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredWindows {
    pub measurement: &'static str,
    pub source_tag: &'static str,
}

/// Price windows: `crypto_analytics`, by `source`.
pub(crate) const PRICE_WINDOWS: StoredWindows = StoredWindows {
    measurement: ANALYTICS,
    source_tag: "source",
};

/// Keeps, of several emissions of one window in a flush (provisional, then closed), only the
/// last — the most complete. Written together, both rows would share a point identity, and a
/// store that splits a write into concurrent requests (InfluxDB) could apply the older one
/// last. Order is otherwise kept.
pub(crate) fn keep_latest_emissions<S>(emitted: &mut Vec<EmittedWindow<S>>) {
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
pub(crate) async fn drop_superseded<S>(
    store: &dyn Store,
    stored: StoredWindows,
    emitted: &mut Vec<EmittedWindow<S>>,
) -> Result<()> {
    let open = emitted.iter().filter(|w| w.status != WindowStatus::Closed);
    let Some((from, to)) = open.fold(None, |span: Option<(i64, i64)>, w| {
        Some(span.map_or((w.start_ms, w.start_ms), |(a, b)| {
            (a.min(w.start_ms), b.max(w.start_ms))
        }))
    }) else {
        return Ok(());
    };
    let query = Query::new(stored.measurement)
        .range(ms_to_ns(from), ms_to_ns(to).saturating_add(1))
        .fields(["status"]);
    let mut closed: HashSet<(String, String, String, i64)> = HashSet::new();
    for b in store.query(&query).await? {
        let col = |n: &str| b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>());
        let (Some(id), Some(source), Some(window), Some(status)) = (
            col("crypto_id"),
            col(stored.source_tag),
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
