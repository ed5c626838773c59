//! Cross-source divergence: two sources' closes of one coin in the same minute.

use std::collections::HashMap;
use std::sync::Arc;

use super::episode::{EpisodeTracker, Observation};
use super::{Anomaly, AnomalyConfig, AnomalyKind, CROSS_SOURCE};

/// The divergence episodes of every coin.
#[derive(Debug)]
pub struct DivergenceDetector {
    coins: HashMap<Arc<str>, EpisodeTracker>,
    /// The `source` tag of every divergence.
    cross_source: Arc<str>,
}

impl Default for DivergenceDetector {
    fn default() -> Self {
        Self {
            coins: HashMap::new(),
            cross_source: CROSS_SOURCE.into(),
        }
    }
}

impl DivergenceDetector {
    /// Compares the closes of one coin's 1-minute candles `[start_ms, end_ms)` from two or more
    /// sources: the spread between the highest and the lowest, as a percentage of the lowest.
    pub fn on_minute(
        &mut self,
        crypto_id: &Arc<str>,
        (start_ms, end_ms): (i64, i64),
        closes: &[(Arc<str>, f64)],
        config: &AnomalyConfig,
        out: &mut Vec<Anomaly>,
    ) {
        if closes.len() < 2 {
            return;
        }
        let by_price = |a: &&(Arc<str>, f64), b: &&(Arc<str>, f64)| {
            a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0))
        };
        let (Some(low), Some(high)) = (
            closes.iter().min_by(by_price),
            closes.iter().max_by(by_price),
        ) else {
            return;
        };
        let spread_pct = (high.1 / low.1 - 1.0) * 100.0;
        let obs = Observation {
            start_ms,
            end_ms,
            observed: spread_pct,
            baseline: config.divergence_pct,
            score: spread_pct / config.divergence_pct,
            threshold: 1.0,
            detail: format!(
                "{} {} vs {} {} ({:+.3}%)",
                high.0, high.1, low.0, low.1, spread_pct
            ),
        };
        self.coins.entry(crypto_id.clone()).or_default().observe(
            (crypto_id, AnomalyKind::Divergence, &self.cross_source),
            obs,
            config.end_after,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomalies::{EpisodeStatus, Severity};

    #[test]
    fn sources_more_than_the_threshold_apart_diverge_once_per_episode() {
        let c = AnomalyConfig::default();
        let mut d = DivergenceDetector::default();
        let coin: Arc<str> = "bitcoin".into();
        let (cg, cmc): (Arc<str>, Arc<str>) = ("coingecko".into(), "coinmarketcap".into());
        let mut out = Vec::new();
        let minutes = [
            (95_000.0, 95_100.0), // 0.105 %: fine
            (95_000.0, 96_140.0), // 1.2 %: diverges
            (95_000.0, 97_090.0), // 2.2 %: the peak
            (95_000.0, 95_050.0), // back together
            (95_000.0, 95_020.0), // second normal minute: ended
        ];
        for (m, (a, b)) in minutes.into_iter().enumerate() {
            let s = m as i64 * 60_000;
            let closes = [(cg.clone(), a), (cmc.clone(), b)];
            d.on_minute(&coin, (s, s + 60_000), &closes, &c, &mut out);
        }
        // One source alone says nothing.
        d.on_minute(
            &coin,
            (300_000, 360_000),
            &[(cg.clone(), 1.0)],
            &c,
            &mut out,
        );
        assert_eq!(out.len(), 3, "{out:#?}");
        let end = out.last().unwrap();
        assert_eq!(end.status, EpisodeStatus::Ended);
        assert_eq!(
            (end.start_ms, end.end_ms, end.peak_ms),
            (60_000, 180_000, 120_000)
        );
        assert!((end.observed - (97_090.0 / 95_000.0 - 1.0) * 100.0).abs() < 1e-9);
        assert_eq!(end.severity, Severity::High);
        assert_eq!(&*end.source, CROSS_SOURCE);
        assert_eq!(
            end.detail,
            "coinmarketcap 97090 vs coingecko 95000 (+2.200%)"
        );
    }
}
