//! Analytics: the consumers' windows (`crypto_analytics`) as stored, the latest per series,
//! and what is computed from them: candles, indicator series and closes per bin (for
//! sparklines and normalised comparisons).

use std::collections::HashMap;
use std::sync::Arc;

use cryptoviz_measurements::Time;
use cryptoviz_measurements::analytics::INDICATOR_FIELDS;
use cryptoviz_measurements::names::ANALYTICS;
use cryptoviz_store::{Agg, Downsample, Query, Store, TimeRange};
use serde::Deserialize;

use super::{Between, decode, tag};
use crate::error::ApiResult;
use crate::json::rows;
use crate::model::{AnalyticsRow, Candle, ComparePoint, IndicatorPoint, from_row};
use crate::params::{DAY_NS, MINUTE_NS, Window, rfc3339, source_window};

/// Typed queries over the windows.
#[derive(Clone)]
pub struct Analytics {
    store: Arc<dyn Store>,
}

/// Which stored windows [`Analytics::windows`] reads.
#[derive(Debug, Clone)]
pub struct WindowQuery {
    /// Only this coin's.
    pub coin: Option<String>,
    /// Window width.
    pub window: Window,
    /// Window starts.
    pub between: Between,
    /// Most windows returned.
    pub limit: usize,
}

/// One series' candles for [`Analytics::candles`].
#[derive(Debug, Clone)]
pub struct CandleQuery {
    pub coin: String,
    pub source: String,
    /// `[from, to)`, nanoseconds.
    pub from: i64,
    pub to: i64,
    /// Candle width in nanoseconds (built from the 1-hour windows from an hour up).
    pub every_ns: i64,
}

/// The last close of a bin of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Close {
    /// Bin start.
    pub time: Time,
    pub crypto_id: String,
    pub source: String,
    pub close: f64,
}

/// A downsampled row as the store gives it (a bin may lack a value).
#[derive(Deserialize)]
struct Bin {
    time: Option<Time>,
    crypto_id: Option<String>,
    source: Option<String>,
    close: Option<f64>,
}

impl Analytics {
    /// Queries over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Analytics { store }
    }

    /// Stored windows, oldest first. Without a start, the newest `limit` windows.
    pub async fn windows(&self, q: &WindowQuery) -> ApiResult<Vec<AnalyticsRow>> {
        let mut tags: Vec<_> = q.coin.iter().map(|c| tag("crypto_id", c)).collect();
        tags.push(tag("window", q.window.as_str()));
        let query = Query {
            measurement: ANALYTICS.to_string(),
            range: q.between.range(),
            tags,
            fields: None,
            downsample: None,
            // Newest first when no start is given, so `limit` keeps the most recent windows.
            descending: q.between.from.is_none(),
            limit: Some(q.limit),
        };
        let mut data: Vec<AnalyticsRow> = decode(&self.store.query(&query).await?)?;
        if q.between.from.is_none() {
            data.reverse();
        }
        Ok(data)
    }

    /// The latest window of every series (coin × source × width), of one width and one coin
    /// when given.
    pub async fn latest(
        &self,
        window: Option<Window>,
        coin: Option<&str>,
    ) -> ApiResult<Vec<AnalyticsRow>> {
        let mut tags: Vec<_> = window
            .map(|w| tag("window", w.as_str()))
            .into_iter()
            .collect();
        tags.extend(coin.map(|c| tag("crypto_id", c)));
        decode(&self.store.last(ANALYTICS, &tags).await?)
    }

    /// The coins whose latest `window` is the most volatile: each coin's newest window (across
    /// sources) that has a volatility, most volatile first (ties by coin), at most `limit`.
    pub async fn most_volatile(
        &self,
        window: Window,
        limit: usize,
    ) -> ApiResult<Vec<AnalyticsRow>> {
        let mut newest: HashMap<String, AnalyticsRow> = HashMap::new();
        for row in self.latest(Some(window), None).await? {
            if row.volatility_pct.is_none() {
                continue;
            }
            match newest.get(&row.crypto_id) {
                Some(seen) if seen.time >= row.time => {}
                _ => {
                    newest.insert(row.crypto_id.clone(), row);
                }
            }
        }
        let mut data: Vec<AnalyticsRow> = newest.into_values().collect();
        let volatility = |r: &AnalyticsRow| r.volatility_pct.unwrap_or_default();
        data.sort_by(|a, b| {
            volatility(b)
                .total_cmp(&volatility(a))
                .then_with(|| a.crypto_id.cmp(&b.crypto_id))
        });
        data.truncate(limit);
        Ok(data)
    }

    /// Candles of one series with volume and tick counts, downsampled from its windows (bins
    /// without a window are left out).
    pub async fn candles(&self, q: &CandleQuery) -> ApiResult<Vec<Candle>> {
        candles(self.store.as_ref(), ANALYTICS, "source", "count", q).await
    }

    /// The close and indicators of one series' `window` windows in `[from, to)`, oldest
    /// first, at most `limit`.
    pub async fn indicators(
        &self,
        coin: &str,
        source: &str,
        window: Window,
        (from, to): (i64, i64),
        limit: usize,
    ) -> ApiResult<Vec<IndicatorPoint>> {
        let mut fields = vec!["close".to_string()];
        fields.extend(INDICATOR_FIELDS.iter().map(|f| f.to_string()));
        let query = Query {
            measurement: ANALYTICS.to_string(),
            range: TimeRange::new(from, to),
            tags: vec![
                tag("crypto_id", coin),
                tag("source", source),
                tag("window", window.as_str()),
            ],
            fields: Some(fields),
            downsample: None,
            descending: false,
            limit: Some(limit),
        };
        decode(&self.store.query(&query).await?)
    }

    /// The last close of each `every_ns` bin in `[from, to)` of every series of `coin` (or of
    /// every coin), oldest first; bins without a close are left out.
    pub async fn closes(
        &self,
        coin: Option<&str>,
        (from, to): (i64, i64),
        every_ns: i64,
    ) -> ApiResult<Vec<Close>> {
        let mut tags: Vec<_> = coin.map(|c| tag("crypto_id", c)).into_iter().collect();
        tags.push(tag("window", source_window(every_ns).as_str()));
        let query = Query {
            measurement: ANALYTICS.to_string(),
            range: TimeRange::new(from, to),
            tags,
            fields: None,
            downsample: Some(Downsample::every(every_ns).agg("close", Agg::Last, "close")),
            descending: false,
            limit: None,
        };
        Ok(decode::<Bin>(&self.store.query(&query).await?)?
            .into_iter()
            .filter_map(|b| {
                Some(Close {
                    time: b.time?,
                    crypto_id: b.crypto_id?,
                    source: b.source?,
                    close: b.close?,
                })
            })
            .collect())
    }

    /// Half-hourly closes of the 24 hours up to the bin after `newest_ns` per coin, from one
    /// source per coin (the first one seen), oldest first.
    pub async fn sparklines(&self, newest_ns: i64) -> ApiResult<HashMap<String, Vec<f64>>> {
        let every = 30 * MINUTE_NS;
        let end = newest_ns - newest_ns.rem_euclid(every) + every;
        let mut out: HashMap<String, Vec<f64>> = HashMap::new();
        let mut chosen: HashMap<String, String> = HashMap::new();
        for c in self.closes(None, (end - DAY_NS, end), every).await? {
            let source = chosen
                .entry(c.crypto_id.clone())
                .or_insert_with(|| c.source.clone());
            if *source == c.source {
                out.entry(c.crypto_id).or_default().push(c.close);
            }
        }
        Ok(out)
    }

    /// One coin's closes per `every_ns` bin in `[from, to)` as the percent change from its
    /// first close in the range, from one source (the first one in the range).
    pub async fn performance(
        &self,
        coin: &str,
        span: (i64, i64),
        every_ns: i64,
    ) -> ApiResult<Vec<ComparePoint>> {
        let closes = self.closes(Some(coin), span, every_ns).await?;
        let Some(first) = closes.first().cloned() else {
            return Ok(Vec::new());
        };
        Ok(closes
            .into_iter()
            .filter(|c| c.source == first.source)
            .map(|c| ComparePoint {
                time: rfc3339(c.time.0),
                close: c.close,
                change_pct: if first.close != 0.0 {
                    (c.close / first.close - 1.0) * 100.0
                } else {
                    0.0
                },
            })
            .collect())
    }
}

/// Candles of one series of `measurement` (its source named by the tag `source_tag`, its
/// tick count in the field `count`), downsampled from its windows: the 1-minute windows below
/// an hour, the 1-hour ones from an hour up (bins without a window are left out). Shared by
/// the price windows and the trade candles.
pub(super) async fn candles(
    store: &dyn Store,
    measurement: &str,
    source_tag: &str,
    count: &str,
    q: &CandleQuery,
) -> ApiResult<Vec<Candle>> {
    let query = Query {
        measurement: measurement.to_string(),
        range: TimeRange::new(q.from, q.to),
        tags: vec![
            tag("crypto_id", &q.coin),
            tag(source_tag, &q.source),
            tag("window", source_window(q.every_ns).as_str()),
        ],
        fields: None,
        downsample: Some(
            Downsample::every(q.every_ns)
                .agg("open", Agg::First, "open")
                .agg("high", Agg::Max, "high")
                .agg("low", Agg::Min, "low")
                .agg("close", Agg::Last, "close")
                .agg("volume", Agg::Sum, "volume")
                .agg(count, Agg::Sum, "ticks"),
        ),
        descending: false,
        limit: None,
    };
    rows(&store.query(&query).await?)
        .into_iter()
        .filter(|r| !r.get("open").is_none_or(|v| v.is_null()))
        .map(from_row::<Candle>)
        .collect()
}
