//! Names of the measurements the consumers write (shared with the API and Grafana).

/// Every raw price tick: price, market cap, volumes, changes (and OHLC of imported candles).
pub const MARKET: &str = "crypto_market";
/// A coin's name, ATH, ATL and circulating supply per source, written when they change.
pub const COIN_INFO: &str = "crypto_coin_info";
/// Window statistics per coin, source and window width.
pub const ANALYTICS: &str = "crypto_analytics";
/// One point per news article.
pub const NEWS: &str = "crypto_news";
/// Hourly news sentiment per coin and market-wide (`crypto_id` = `market`).
pub const SENTIMENT: &str = "crypto_sentiment";
/// Anomaly episodes per coin, kind and source.
pub const ANOMALIES: &str = "crypto_anomalies";
/// The Fear & Greed index (and any other market-wide sentiment reading).
pub const FEAR_GREED: &str = "fear_greed";

/// Tag columns of [`MARKET`].
pub const MARKET_TAGS: [&str; 3] = ["crypto_id", "symbol", "source"];
/// Tag columns of [`COIN_INFO`] (those of [`MARKET`]).
pub const COIN_INFO_TAGS: [&str; 3] = MARKET_TAGS;
/// Tag columns of [`ANALYTICS`].
pub const ANALYTICS_TAGS: [&str; 3] = ["crypto_id", "source", "window"];
/// Tag columns of [`ANOMALIES`].
pub const ANOMALY_TAGS: [&str; 3] = ["crypto_id", "kind", "source"];
/// Tag columns of [`SENTIMENT`].
pub const SENTIMENT_TAGS: [&str; 2] = ["crypto_id", "window"];
/// The only tag of [`NEWS`] and [`FEAR_GREED`]: the publisher.
pub const SOURCE_TAG: &str = "source";
