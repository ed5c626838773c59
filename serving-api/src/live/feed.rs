//! The tasks that fill the [`Hub`]:
//!
//! - [`tail_log`] follows `crypto-prices`, `crypto-trades` and `crypto-news` from their end in a group of its
//!   own (never committing), so a tick reaches SSE clients as soon as it is appended, whether
//!   the log is embedded or Kafka; articles are scored like the consumers score them (with
//!   the [`EnrichFn`] the binary provides).
//! - [`watch_store`] asks the read layer ([`crate::read`], as the routes do) each period for
//!   the latest row of every window, anomaly and sentiment series and publishes the rows that
//!   changed. It sees the latest state of each series, not every intermediate write: a
//!   window that opened and closed within one period is published once, closed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cryptoviz_log::{Log, SeekTo};
use cryptoviz_measurements::Measurement;
use cryptoviz_schemas::{CryptoNews, CryptoPrice, CryptoTrade, decode, topics};
use cryptoviz_store::Store;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{EventKind, Hub};
use crate::error::ApiResult;
use crate::model::{AnalyticsRow, AnomalyRow, SentimentRow};
use crate::read::{Analytics, Anomalies, Sentiment};
use crate::state::EnrichFn;
use cryptoviz_measurements::time::rfc3339;

/// A tick as the stream shows it.
pub fn price_event(p: &CryptoPrice) -> Value {
    json!({
        "id": p.crypto_id,
        "symbol": p.symbol,
        "name": p.name,
        "source": p.source,
        "time": rfc3339(p.timestamp_ms.saturating_mul(1_000_000)),
        "price_usd": p.price_usd,
        "market_cap": p.market_cap,
        "volume_24h": p.volume_24h,
        "change_1h": p.change_1h,
        "change_24h": p.change_24h,
        "change_7d": p.change_7d,
    })
}

/// A trade as the stream shows it: the fields of a stored trade (`/coins/{id}/trades`), its
/// time being the exchange's event time.
pub fn trade_event(t: &CryptoTrade) -> Value {
    json!({
        "time": rfc3339(t.event_time_ms.saturating_mul(1_000_000)),
        "crypto_id": t.crypto_id,
        "exchange": t.exchange,
        "symbol": t.symbol,
        "quote": t.quote,
        "trade_id": t.trade_id,
        "price": t.price,
        "quantity": t.quantity,
        "side": t.side.as_str(),
    })
}

/// An article as the stream (and `/news`) shows it.
pub fn news_event(a: &CryptoNews) -> Value {
    json!({
        "time": rfc3339(a.published_at_ms.saturating_mul(1_000_000)),
        "source": a.source,
        "guid": a.guid,
        "title": a.title,
        "summary": a.summary,
        "link": a.link,
        "published_at": a.published_at_ms,
        "sentiment_score": a.sentiment_score,
        "sentiment_label": a.sentiment_label,
        "coins": a.coins,
    })
}

/// Follows the price, trade and news topics until `cancel`. Errors are logged and retried: the
/// stream degrades, the API stays up.
pub async fn tail_log(
    log: Arc<dyn Log>,
    hub: Arc<Hub>,
    enrich: EnrichFn,
    cancel: CancellationToken,
) {
    let group = format!(
        "cryptoviz-api-live-{}-{}",
        std::process::id(),
        hub.published() ^ rand_suffix()
    );
    while !cancel.is_cancelled() {
        if let Err(e) = follow(&log, &hub, &enrich, &group, &cancel).await {
            tracing::warn!(error = %e, "live feed: reading the log failed; retrying in 1 s");
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64)
}

async fn follow(
    log: &Arc<dyn Log>,
    hub: &Hub,
    enrich: &EnrichFn,
    group: &str,
    cancel: &CancellationToken,
) -> cryptoviz_log::Result<()> {
    let mut consumer = log
        .subscribe(group, &[topics::PRICES, topics::TRADES, topics::NEWS])
        .await?;
    loop {
        let records = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            r = consumer.poll(2_000, Duration::from_millis(500)) => r?,
        };
        // Newly assigned partitions start at their end: the stream is live, not a replay.
        // Records fetched from them before the seek are dropped.
        let mut fresh = Vec::new();
        if let Some(change) = consumer.take_assignment_change() {
            for tp in change.assigned {
                consumer.seek(&tp, SeekTo::End).await?;
                fresh.push(tp);
            }
        }
        for record in records {
            if fresh
                .iter()
                .any(|tp| tp.topic.as_str() == &*record.topic && tp.partition == record.partition)
            {
                continue;
            }
            match &*record.topic {
                topics::PRICES => match decode::<CryptoPrice>(&record.value) {
                    Ok(p) => {
                        hub.publish(EventKind::Price, price_event(&p).to_string());
                    }
                    Err(e) => tracing::debug!(error = %e, "live feed: undecodable tick skipped"),
                },
                topics::TRADES => match decode::<CryptoTrade>(&record.value) {
                    Ok(t) => {
                        hub.publish(EventKind::Trade, trade_event(&t).to_string());
                    }
                    Err(e) => tracing::debug!(error = %e, "live feed: undecodable trade skipped"),
                },
                topics::NEWS => match decode::<CryptoNews>(&record.value) {
                    Ok(a) => {
                        hub.publish(EventKind::News, news_event(&enrich(a)).to_string());
                    }
                    Err(e) => tracing::debug!(error = %e, "live feed: undecodable article skipped"),
                },
                _ => {}
            }
        }
    }
}

/// The rows of one measurement last seen, by series (the values of its tags), as the text
/// the stream shows: windows and anomalies in the shape `/analytics` and `/anomalies`
/// answer, sentiment hours as stored.
#[derive(Default)]
struct Seen(HashMap<String, String>);

impl Seen {
    /// Publishes the rows of `latest` that changed since the last call (the first call only
    /// records them). A read that failed is logged and retried next period.
    fn publish<M: Measurement + Serialize>(
        &mut self,
        hub: &Hub,
        kind: EventKind,
        latest: ApiResult<Vec<M>>,
        first: bool,
    ) {
        let rows = match latest {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, measurement = M::NAME, "live feed: reading the store failed");
                return;
            }
        };
        for row in rows {
            let Ok(value) = serde_json::to_value(&row) else {
                continue;
            };
            let key: String = M::TAGS
                .iter()
                .map(|t| value.get(*t).and_then(Value::as_str).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|");
            let text = value.to_string();
            if self.0.get(&key) != Some(&text) {
                if !first {
                    hub.publish(kind, text.clone());
                }
                self.0.insert(key, text);
            }
        }
    }
}

/// Publishes the windows, anomalies and sentiment hours that changed, every `period`.
pub async fn watch_store(
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    period: Duration,
    cancel: CancellationToken,
) {
    let analytics = Analytics::new(store.clone());
    let anomalies = Anomalies::new(store.clone());
    let sentiment = Sentiment::new(store);
    let (mut windows, mut episodes, mut hours) =
        (Seen::default(), Seen::default(), Seen::default());
    let mut first = true;
    loop {
        let latest = analytics.latest(None, None).await;
        windows.publish::<AnalyticsRow>(&hub, EventKind::Analytics, latest, first);
        let latest = anomalies.latest().await;
        episodes.publish::<AnomalyRow>(&hub, EventKind::Anomaly, latest, first);
        let latest = sentiment.latest().await;
        hours.publish::<SentimentRow>(&hub, EventKind::Sentiment, latest, first);
        first = false;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
    }
}
