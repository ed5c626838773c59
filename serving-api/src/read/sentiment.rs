//! Sentiment: hourly news sentiment per coin and market-wide (`crypto_sentiment`), and the
//! Fear & Greed index (`fear_greed`).

use std::sync::Arc;

use cryptoviz_measurements::names::{FEAR_GREED, SENTIMENT};
use cryptoviz_store::{Query, Store, TimeRange};

use super::{Between, decode, tag};
use crate::error::ApiResult;
use crate::model::{FearGreedPoint, SentimentRow};

/// Most hours one series answer holds.
const MAX_HOURS: usize = 10_000;

/// Typed queries over sentiment.
#[derive(Clone)]
pub struct Sentiment {
    store: Arc<dyn Store>,
}

impl Sentiment {
    /// Queries over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Sentiment { store }
    }

    /// The hourly sentiment of `coin` (a coin id, or `market` for the market-wide series)
    /// in `[from, to)`, oldest first.
    pub async fn hourly(&self, coin: &str, (from, to): (i64, i64)) -> ApiResult<Vec<SentimentRow>> {
        let query = Query {
            measurement: SENTIMENT.to_string(),
            range: TimeRange::new(from, to),
            tags: vec![tag("crypto_id", coin), tag("window", "1h")],
            fields: None,
            downsample: None,
            descending: false,
            limit: Some(MAX_HOURS),
        };
        decode(&self.store.query(&query).await?)
    }

    /// The latest hour of every series (coin or market, window).
    pub async fn latest(&self) -> ApiResult<Vec<SentimentRow>> {
        decode(&self.store.last(SENTIMENT, &[]).await?)
    }

    /// Fear & Greed readings, newest first, at most `limit`.
    pub async fn fear_greed(
        &self,
        between: Between,
        limit: usize,
    ) -> ApiResult<Vec<FearGreedPoint>> {
        let query = Query {
            measurement: FEAR_GREED.to_string(),
            range: between.range(),
            tags: Vec::new(),
            fields: None,
            downsample: None,
            descending: true,
            limit: Some(limit),
        };
        decode(&self.store.query(&query).await?)
    }
}
