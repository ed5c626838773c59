//! The shapes the API answers with. Each derives `ToSchema`, so the OpenAPI document is the
//! code; rows read from the store are deserialised into them (`from_row`), so a stored shape
//! that drifted from the documented one is an error here, not a surprise for clients.
//!
//! A stored row is answered as the contract declares it (`cryptoviz-measurements`: the same
//! type the consumers write), re-exported here; the shapes below are the API's own (pages,
//! lists, summaries, projections).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use cryptoviz_measurements::analytics::{AnalyticsRow, IndicatorSet, WindowStatus};
pub use cryptoviz_measurements::anomalies::AnomalyRow;
pub use cryptoviz_measurements::coin_info::CoinInfoRow;
pub use cryptoviz_measurements::fear_greed::FearGreedRow as FearGreedPoint;
pub use cryptoviz_measurements::news::NewsRow as NewsArticle;
pub use cryptoviz_measurements::sentiment::SentimentRow;
pub use cryptoviz_measurements::trades::{TakerSide, TradeCandleRow, TradeRow};

use crate::error::{ApiError, ApiResult};

/// A stored row (from [`crate::json::rows`]) as a typed answer.
pub fn from_row<T: DeserializeOwned>(row: Map<String, Value>) -> ApiResult<T> {
    serde_json::from_value(Value::Object(row))
        .map_err(|e| ApiError::Internal(format!("stored row does not match the API shape: {e}")))
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: String,
    pub uptime_seconds: f64,
}

/// A list of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    /// Items in this answer.
    pub count: usize,
    /// The items.
    pub data: Vec<T>,
}

impl<T> List<T> {
    /// A list of `data`.
    pub fn new(data: Vec<T>) -> Self {
        List {
            count: data.len(),
            data,
        }
    }
}

/// A page of coins.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoinPage {
    /// Coins in this page.
    pub count: usize,
    /// Coins matching the filter, over all pages.
    pub total: usize,
    /// Page size asked for.
    pub limit: usize,
    /// Coins skipped before this page.
    pub offset: usize,
    /// The coins.
    pub data: Vec<Coin>,
}

/// The latest snapshot of a coin.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Coin {
    /// CoinGecko id, e.g. `bitcoin`.
    pub id: String,
    /// Ticker, e.g. `BTC`.
    pub symbol: String,
    /// Display name.
    pub name: Option<String>,
    /// Source of this snapshot (`coingecko`, `coinmarketcap`, `simulated`, …).
    pub source: String,
    /// Event time of the snapshot.
    pub updated_at: String,
    pub price_usd: f64,
    pub market_cap: Option<f64>,
    pub volume_24h: Option<f64>,
    /// Percent change over the last hour, as the source reports it.
    pub change_1h: Option<f64>,
    pub change_24h: Option<f64>,
    pub change_7d: Option<f64>,
    /// Volatility (percent) of the latest 1-hour window.
    pub volatility_pct: Option<f64>,
    pub ath: Option<f64>,
    pub atl: Option<f64>,
    pub circulating_supply: Option<f64>,
    /// Up to 48 half-hourly closes of the last 24 hours, oldest first (`sparkline=true`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sparkline: Option<Vec<f64>>,
}

/// A coin with every source's latest snapshot side by side.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoinDetail {
    /// The newest snapshot across sources.
    #[serde(flatten)]
    pub coin: Coin,
    /// The latest snapshot from each source, newest first.
    pub sources: Vec<Coin>,
}

/// One candle.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Candle {
    /// Bin start.
    pub time: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Traded volume in the bin (sum of the ticks' volumes), when the source gives it; for an
    /// exchange's trade candles, the base-asset volume.
    pub volume: Option<f64>,
    /// Ticks in the bin; for an exchange's trade candles, the trades.
    pub ticks: i64,
}

/// A coin's candles.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub id: String,
    /// The source the candles come from.
    pub source: String,
    /// For an exchange's trade candles, the quote currency of their prices (e.g. `USDT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// Candle width (`1m` … `1d`).
    pub interval: String,
    pub from: String,
    pub to: String,
    pub count: usize,
    pub candles: Vec<Candle>,
}

/// Technical indicators of one window.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IndicatorPoint {
    /// Window start.
    pub time: String,
    pub close: f64,
    #[serde(flatten)]
    pub indicators: IndicatorSet,
}

/// A coin's indicator series.
#[derive(Debug, Serialize, ToSchema)]
pub struct Indicators {
    pub id: String,
    pub source: String,
    /// Window width the indicators were computed over.
    pub window: String,
    pub count: usize,
    pub data: Vec<IndicatorPoint>,
}

/// Market-wide totals over the latest snapshot of every coin.
#[derive(Debug, Serialize, ToSchema)]
pub struct Global {
    /// Newest snapshot time, if any coin is known.
    pub updated_at: Option<String>,
    /// Coins known.
    pub coins: usize,
    pub total_market_cap: f64,
    pub total_volume_24h: f64,
    /// Bitcoin's share of the total market cap, percent.
    pub btc_dominance: Option<f64>,
    pub eth_dominance: Option<f64>,
    /// Sources with at least one coin.
    pub sources: Vec<String>,
}

/// The latest window of a coin, ranked by volatility.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolatileCoin {
    pub id: String,
    pub source: String,
    /// Window start.
    pub time: String,
    pub volatility_pct: f64,
    pub stddev: Option<f64>,
    pub close: f64,
}

/// Answer of `/analytics/top-volatile`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopVolatile {
    pub window: String,
    pub count: usize,
    pub data: Vec<VolatileCoin>,
}

/// A point of a normalised performance series.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComparePoint {
    pub time: String,
    pub close: f64,
    /// Percent change from the first close in the range.
    pub change_pct: f64,
}

/// One coin's normalised performance.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompareSeries {
    pub id: String,
    pub points: Vec<ComparePoint>,
}

/// Answer of `/analytics/compare`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Compare {
    pub from: String,
    pub to: String,
    pub interval: String,
    pub series: Vec<CompareSeries>,
}

/// A news publisher and how much it has published.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewsSource {
    pub source: String,
    /// Articles stored.
    pub articles: usize,
    /// Newest article's time.
    pub latest: Option<String>,
}

/// One hour of sentiment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SentimentPoint {
    /// Hour start.
    pub time: String,
    /// Mean article score in [-1, 1].
    pub score: Option<f64>,
    pub articles: Option<i64>,
    pub positive: Option<i64>,
    pub negative: Option<i64>,
    pub neutral: Option<i64>,
}

impl From<SentimentRow> for SentimentPoint {
    fn from(row: SentimentRow) -> Self {
        SentimentPoint {
            time: cryptoviz_measurements::time::rfc3339(row.time.0),
            score: row.score,
            articles: row.articles,
            positive: row.positive,
            negative: row.negative,
            neutral: row.neutral,
        }
    }
}

/// Sentiment of a coin (or of the market) over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentimentSeries {
    /// Coin id, or `market` for the market-wide series.
    pub coin: String,
    pub count: usize,
    pub data: Vec<SentimentPoint>,
}

/// The latest Fear & Greed reading and its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct FearGreed {
    pub latest: Option<FearGreedPoint>,
    pub count: usize,
    pub data: Vec<FearGreedPoint>,
}

/// The latest trades of a coin, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TradeList {
    pub id: String,
    pub count: usize,
    pub data: Vec<TradeRow>,
}
