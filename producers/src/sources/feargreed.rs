//! alternative.me Fear & Greed index (`/fng/`), one [`MarketSentiment`] per day.
//!
//! Every number in the payload is a string (`"value": "69"`, `"timestamp": "1788825600"` in
//! epoch seconds). The first poll after start-up asks for `limit = backfill` days of history;
//! later polls ask for the latest value only and publish it only when its timestamp is newer
//! than the last one published (the body changes every poll through `time_until_update`).

use std::time::Duration;

use cryptoviz_schemas::{MarketSentiment, topics};
use serde::Deserialize;

use super::common::{self, Parsed, PollReport, Poller, RejectMemory};
use crate::config::FearGreedConfig;
use crate::http::HttpClient;
use crate::{Result, SourceContext};

/// Source name and `MarketSentiment::source` value.
pub const SOURCE: &str = "alternative.me";

#[derive(Deserialize)]
struct Entry {
    value: StrOrNum,
    value_classification: String,
    timestamp: StrOrNum,
}

/// A number sent as a string (the documented form) or, defensively, as a JSON number.
#[derive(Deserialize)]
#[serde(untagged)]
enum StrOrNum {
    Str(String),
    Num(serde_json::Number),
}

impl StrOrNum {
    fn as_i64(&self) -> Option<i64> {
        match self {
            StrOrNum::Str(s) => s.trim().parse().ok(),
            StrOrNum::Num(n) => n.as_i64(),
        }
    }
}

impl std::fmt::Debug for StrOrNum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StrOrNum::Str(s) => write!(f, "{s:?}"),
            StrOrNum::Num(n) => write!(f, "{n}"),
        }
    }
}

/// Parses an `/fng/` body, oldest reading first. A `metadata.error` or a body of the wrong
/// shape is rejected whole; an entry whose numbers do not parse alone.
pub fn parse_fng(body: &[u8]) -> Parsed<MarketSentiment> {
    let mut parsed = common::parse_json_items(SOURCE, body, entries, entry_to_sentiment);
    parsed.records.sort_by_key(|s| s.timestamp_ms);
    parsed
}

/// The `data` array of readings, unless the `metadata` reports an upstream error.
fn entries(value: &serde_json::Value) -> Result<&[serde_json::Value], String> {
    if let Some(err) = value
        .get("metadata")
        .and_then(|m| m.get("error"))
        .filter(|e| !e.is_null())
    {
        return Err(format!("upstream error: {err}"));
    }
    common::data_array(value)
}

fn entry_to_sentiment(item: &serde_json::Value) -> Result<MarketSentiment, String> {
    let e = Entry::deserialize(item).map_err(|e| format!("wrong shape: {e}"))?;
    let value = e
        .value
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| format!("value {:?} is not an integer", e.value))?;
    let secs = e
        .timestamp
        .as_i64()
        .ok_or_else(|| format!("timestamp {:?} is not epoch seconds", e.timestamp))?;
    Ok(MarketSentiment {
        source: SOURCE.to_string(),
        value,
        classification: e.value_classification,
        timestamp_ms: secs.saturating_mul(1000),
    })
}

/// The Fear & Greed agent.
pub struct FearGreedSource {
    config: FearGreedConfig,
    http: HttpClient,
    rejected: RejectMemory,
    last_ts_ms: Option<i64>,
}

impl FearGreedSource {
    /// An agent for `config`.
    pub fn new(config: FearGreedConfig) -> Result<Self> {
        let http = HttpClient::new(&config.http)
            .map_err(|e| crate::Error::Config(format!("sources.feargreed.http: {e}")))?;
        Ok(Self {
            config,
            http,
            rejected: RejectMemory::default(),
            last_ts_ms: None,
        })
    }
}

impl Poller for FearGreedSource {
    const NAME: &'static str = "feargreed";

    /// The poll interval.
    fn interval(&self) -> Duration {
        self.config.interval
    }

    /// One poll: the backfill on the first successful one, the latest value afterwards.
    async fn poll_once(&mut self, ctx: &SourceContext) -> Result<PollReport> {
        let limit = if self.last_ts_ms.is_none() {
            self.config.backfill.max(1)
        } else {
            1
        };
        let url = format!(
            "{}/fng/?limit={limit}",
            self.config.base_url.trim_end_matches('/')
        );
        let mut report = PollReport::default();
        let fetched = common::fetch(
            &mut self.http,
            ctx,
            SOURCE,
            &url,
            &[],
            topics::SENTIMENT,
            &mut report,
        )
        .await?;
        let Some(body) = fetched else {
            return Ok(report);
        };
        let now = cryptoviz_schemas::now_ms();
        let mut parsed = parse_fng(&body);
        self.rejected.filter(&mut parsed);
        let last = self.last_ts_ms;
        parsed
            .records
            .retain(|s| last.is_none_or(|last| s.timestamp_ms > last));
        let newest = parsed.records.iter().map(|s| s.timestamp_ms).max();
        common::publish_or_forget(&mut self.http, &url, ctx, &parsed, now, &mut report).await?;
        if newest.is_some() {
            self.last_ts_ms = newest.max(self.last_ts_ms);
        }
        Ok(report)
    }

    fn log_start(&self) {
        tracing::info!(
            interval_s = self.interval().as_secs(),
            backfill_days = self.config.backfill,
            "fear & greed agent started"
        );
    }
}
