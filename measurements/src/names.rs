//! Every measurement's name and tags as plain constants, for readers that name a measurement
//! without its row (queries, Grafana's dashboards follow the same names).

use crate::Measurement;
use crate::analytics::AnalyticsRow;
use crate::anomalies::AnomalyRow;
use crate::coin_info::CoinInfoRow;
use crate::fear_greed::FearGreedRow;
use crate::market::MarketRow;
use crate::news::NewsRow;
use crate::sentiment::SentimentRow;
use crate::trades::{TradeCandleRow, TradeRow};

/// Every raw price tick: price, market cap, volumes, changes (and OHLC of imported candles).
pub const MARKET: &str = MarketRow::NAME;
/// A coin's name, ATH, ATL and circulating supply per source, written when they change.
pub const COIN_INFO: &str = CoinInfoRow::NAME;
/// Window statistics per coin, source and window width.
pub const ANALYTICS: &str = AnalyticsRow::NAME;
/// One point per news article.
pub const NEWS: &str = NewsRow::NAME;
/// Hourly news sentiment per coin and market-wide (`crypto_id` = `market`).
pub const SENTIMENT: &str = SentimentRow::NAME;
/// Anomaly episodes per coin, kind and source.
pub const ANOMALIES: &str = AnomalyRow::NAME;
/// The Fear & Greed index (and any other market-wide sentiment reading).
pub const FEAR_GREED: &str = FearGreedRow::NAME;

/// Every exchange trade.
pub const TRADES: &str = TradeRow::NAME;
/// Candles of exchange trades per coin, exchange, quote currency and window width.
pub const TRADE_CANDLES: &str = TradeCandleRow::NAME;

/// Tag columns of [`MARKET`].
pub const MARKET_TAGS: &[&str] = MarketRow::TAGS;
/// Tag columns of [`COIN_INFO`] (those of [`MARKET`]).
pub const COIN_INFO_TAGS: &[&str] = CoinInfoRow::TAGS;
/// Tag columns of [`ANALYTICS`].
pub const ANALYTICS_TAGS: &[&str] = AnalyticsRow::TAGS;
/// Tag columns of [`ANOMALIES`].
pub const ANOMALY_TAGS: &[&str] = AnomalyRow::TAGS;
/// Tag columns of [`SENTIMENT`].
pub const SENTIMENT_TAGS: &[&str] = SentimentRow::TAGS;
/// The only tag of [`NEWS`] and [`FEAR_GREED`]: the publisher.
pub const SOURCE_TAG: &str = NewsRow::TAGS[0];
/// Tag columns of [`TRADES`].
pub const TRADE_TAGS: &[&str] = TradeRow::TAGS;
/// Tag columns of [`TRADE_CANDLES`].
pub const TRADE_CANDLE_TAGS: &[&str] = TradeCandleRow::TAGS;
