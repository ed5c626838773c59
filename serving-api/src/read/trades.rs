//! Exchange trades: the latest trades of a coin (`crypto_trades`) and the candles built from
//! them per exchange (`crypto_trade_candles`).

use std::sync::Arc;

use cryptoviz_measurements::names::{TRADE_CANDLES, TRADES};
use cryptoviz_store::{Query, Store, TimeRange};

use super::analytics::candles;
use super::{CandleQuery, decode, tag};
use crate::error::ApiResult;
use crate::model::{Candle, TradeCandleRow, TradeRow};

/// Typed queries over the trades and their candles.
#[derive(Clone)]
pub struct Trades {
    store: Arc<dyn Store>,
}

impl Trades {
    /// Queries over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Trades { store }
    }

    /// The exchanges that have trade candles (of any coin), sorted.
    pub async fn exchanges(&self) -> ApiResult<Vec<String>> {
        let mut names = self.store.tag_values(TRADE_CANDLES, "exchange").await?;
        names.sort();
        Ok(names)
    }

    /// Start (ns) and quote currency of the newest candle of `coin` on `exchange`, if it has
    /// any.
    pub async fn newest(&self, coin: &str, exchange: &str) -> ApiResult<Option<(i64, String)>> {
        let tags = [tag("crypto_id", coin), tag("exchange", exchange)];
        let latest: Vec<TradeCandleRow> = decode(&self.store.last(TRADE_CANDLES, &tags).await?)?;
        Ok(latest
            .into_iter()
            .max_by_key(|r| r.time.0)
            .map(|r| (r.time.0, r.quote)))
    }

    /// Candles of one coin on one exchange (`source` in `q`): volume is the base volume,
    /// ticks the trade count.
    pub async fn candles(&self, q: &CandleQuery) -> ApiResult<Vec<Candle>> {
        candles(self.store.as_ref(), TRADE_CANDLES, "exchange", "trades", q).await
    }

    /// The newest `limit` trades of `coin` (on one exchange when given) in `[.., before)`,
    /// newest first.
    pub async fn latest(
        &self,
        coin: &str,
        exchange: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> ApiResult<Vec<TradeRow>> {
        let mut tags = vec![tag("crypto_id", coin)];
        tags.extend(exchange.map(|e| tag("exchange", e)));
        let query = Query {
            measurement: TRADES.to_string(),
            range: TimeRange {
                start_ns: None,
                end_ns: before,
            },
            tags,
            fields: None,
            downsample: None,
            descending: true,
            limit: Some(limit),
        };
        decode(&self.store.query(&query).await?)
    }
}
