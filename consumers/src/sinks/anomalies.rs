//! Anomaly episodes as points of `crypto_anomalies` (declared in
//! [`cryptoviz_measurements::anomalies`]).

use cryptoviz_measurements::anomalies::AnomalyRow;
use cryptoviz_measurements::{Measurement, Nanos, Time};
use cryptoviz_store::WriteBatch;

use crate::Result;
use crate::anomalies::Anomaly;

/// The stored row of an episode. The point's time is the episode's start, so every update of
/// an episode (and a replay) rewrites the same point; the last write wins.
pub fn row(a: &Anomaly) -> AnomalyRow {
    AnomalyRow {
        time: Time::from_ms(a.start_ms),
        crypto_id: a.crypto_id.to_string(),
        kind: a.kind,
        source: a.source.to_string(),
        end_time: Nanos::from_ms(a.end_ms),
        peak_time: Nanos::from_ms(a.peak_ms),
        observed: a.observed,
        baseline: a.baseline,
        score: a.score,
        severity: a.severity,
        status: a.status,
        detail: a.detail.clone(),
    }
}

/// Builds a `crypto_anomalies` batch (`None` when there is nothing to write).
pub fn batch(anomalies: &[Anomaly]) -> Result<Option<WriteBatch>> {
    let rows: Vec<AnomalyRow> = anomalies.iter().map(row).collect();
    Ok(AnomalyRow::to_batch(&rows)?)
}
