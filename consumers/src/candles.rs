//! What is derived from the candles as they are emitted: indicators on every width, anomalies
//! on the closed 1-minute ones.
//!
//! Each (coin, source, width) keeps its last [`LOOKBACK`] closed candles' closes. An emitted
//! window gets the indicators of that history plus its own close (so a provisional window shows
//! provisional indicators); a closed one then joins the history. Indicators are therefore
//! defined over a fixed lookback of 200 candles — EMA and RSI are seeded at its start — which
//! makes them a function of the stored candles alone: after a restart [`CandleAnalytics::warm_up`]
//! reloads the same history from the store and the next values are exactly those an
//! uninterrupted run would have produced. The anomaly detectors are rebuilt the same way, by
//! replaying the stored 1-minute candles of the last hours through them with their output
//! discarded.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cryptoviz_measurements::Measurement;
use cryptoviz_measurements::analytics::AnalyticsRow;
use cryptoviz_store::{Query, Store};
use datafusion::arrow::array::RecordBatch;

use crate::Result;
use crate::anomalies::divergence::DivergenceDetector;
use crate::anomalies::zscore::SeriesDetector;
use crate::anomalies::{Anomaly, AnomalyConfig};
use crate::indicators::{self, IndicatorValues};
use crate::sinks::ms_to_ns;
use crate::windows::{EmittedWindow, RESOLUTIONS, WindowStats, WindowStatus};

/// Closed candles per series the indicators look back over.
pub const LOOKBACK: usize = 200;

/// The width whose closed candles the anomaly detectors score.
pub const ANOMALY_WINDOW: (&str, i64) = RESOLUTIONS[0];

type SeriesKey = (Arc<str>, Arc<str>, Arc<str>);

/// (minute start, coin) → each source's close in that minute.
type MinuteCloses = BTreeMap<(i64, Arc<str>), Vec<(Arc<str>, f64)>>;

/// Indicator histories and anomaly detectors of every series.
#[derive(Debug)]
pub struct CandleAnalytics {
    config: AnomalyConfig,
    history: HashMap<SeriesKey, Vec<f64>>,
    zscores: HashMap<(Arc<str>, Arc<str>), SeriesDetector>,
    divergence: DivergenceDetector,
}

impl CandleAnalytics {
    /// Empty histories; `config` must be valid.
    pub fn new(config: AnomalyConfig) -> Self {
        Self {
            config,
            history: HashMap::new(),
            zscores: HashMap::new(),
            divergence: DivergenceDetector::default(),
        }
    }

    /// Forgets every history and detector.
    pub fn clear(&mut self) {
        self.history.clear();
        self.zscores.clear();
        self.divergence = DivergenceDetector::default();
    }

    /// Sets the indicators of each emitted window and, for the closed ones, advances the
    /// histories and the anomaly detectors, pushing anomaly episodes that start, grow or end.
    /// `emitted` must be in emission order (per series, in event time).
    pub fn process(&mut self, emitted: &mut [EmittedWindow], out: &mut Vec<Anomaly>) {
        let mut minutes = MinuteCloses::new();
        for w in emitted.iter_mut() {
            let key = (w.crypto_id.clone(), w.source.clone(), w.window.clone());
            let history = self.history.entry(key).or_default();
            history.push(w.stats.close);
            w.indicators = indicators::compute(history);
            if w.status != WindowStatus::Closed {
                history.pop();
                continue;
            }
            if history.len() > LOOKBACK {
                history.remove(0);
            }
            if &*w.window != ANOMALY_WINDOW.0 {
                continue;
            }
            let config = &self.config;
            self.zscores
                .entry((w.crypto_id.clone(), w.source.clone()))
                .or_insert_with(|| {
                    SeriesDetector::new(w.crypto_id.clone(), w.source.clone(), config)
                })
                .on_candle(
                    (w.start_ms, w.end_ms),
                    w.stats.close,
                    w.stats.volume,
                    config,
                    out,
                );
            minutes
                .entry((w.start_ms, w.crypto_id.clone()))
                .or_default()
                .push((w.source.clone(), w.stats.close));
        }
        for ((start, coin), closes) in minutes {
            let span = (start, start + ANOMALY_WINDOW.1);
            self.divergence
                .on_minute(&coin, span, &closes, &self.config, out);
        }
    }

    /// Rebuilds the histories and detectors from the closed candles stored before
    /// `closed_until_ms` (after a restart or a rebalance), each coin's only up to
    /// `closed_for(coin)`: its partition's own closing point, which after a rebalance can be
    /// behind the others' (a coin for which it is `None` gets no history).
    pub async fn warm_up(
        &mut self,
        store: &dyn Store,
        closed_until_ms: i64,
        closed_for: &(dyn Fn(&str) -> Option<i64> + Send + Sync),
    ) -> Result<()> {
        self.clear();
        let baseline = self.config.baseline_candles() + 120;
        for (label, width) in RESOLUTIONS {
            // Twice the candles needed, so a gap in a series still leaves a full history.
            let candles = if label == ANOMALY_WINDOW.0 {
                LOOKBACK.max(baseline)
            } else {
                LOOKBACK
            } as i64;
            let from = closed_until_ms.saturating_sub(2 * candles * width);
            let query = Query::new(AnalyticsRow::NAME)
                .tag("window", label)
                .range(ms_to_ns(from), ms_to_ns(closed_until_ms));
            let mut rows = closed_candles(&store.query(&query).await?, label, closed_until_ms);
            rows.retain(|w| closed_for(&w.crypto_id).is_some_and(|c| w.end_ms <= c));
            let mut discarded = Vec::new();
            self.process(&mut rows, &mut discarded);
        }
        tracing::debug!(series = self.history.len(), "candle histories rebuilt");
        Ok(())
    }
}

/// The candles of `batches` (stored `crypto_analytics` rows) that had closed by
/// `closed_until_ms`, as emitted windows carrying what the histories use: close and volume.
///
/// A window that closed *after* the checkpoint may already be in the store (written, then a
/// crash before the commit); it is left out here because the replay emits it again.
fn closed_candles(
    batches: &[RecordBatch],
    window: &str,
    closed_until_ms: i64,
) -> Vec<EmittedWindow> {
    let mut out = Vec::new();
    let window: Arc<str> = window.into();
    let mut names: HashMap<String, Arc<str>> = HashMap::new();
    let mut intern = |s: String| {
        names
            .entry(s)
            .or_insert_with_key(|s| s.as_str().into())
            .clone()
    };
    for b in batches {
        let rows = match AnalyticsRow::from_batch(b) {
            Ok(rows) => rows,
            // Rows an older version wrote without a column the contract now requires: the
            // histories start without them rather than the consumer not starting.
            Err(e) => {
                tracing::warn!(error = %e, window = %window, "stored candles skipped in warm-up");
                continue;
            }
        };
        for row in rows {
            let end_ms = row.window_end.0 / 1_000_000;
            if row.status != WindowStatus::Closed || end_ms > closed_until_ms {
                continue;
            }
            let c = row.close;
            out.push(EmittedWindow {
                crypto_id: intern(row.crypto_id),
                source: intern(row.source),
                window: window.clone(),
                start_ms: row.time.0 / 1_000_000,
                end_ms,
                stats: WindowStats {
                    count: 1,
                    open: c,
                    high: c,
                    low: c,
                    close: c,
                    mean: c,
                    stddev: None,
                    volatility_pct: None,
                    volume: row.volume,
                    vwap: None,
                },
                status: WindowStatus::Closed,
                indicators: IndicatorValues::default(),
            });
        }
    }
    out
}
