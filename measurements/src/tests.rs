//! The derived schemas are the ones the sinks wrote by hand before this crate existed
//! (names, types, nullability and order), so stored data and dashboards are unaffected.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::analytics::{AnalyticsRow, INDICATOR_FIELDS, IndicatorSet, WindowStatus};
use crate::anomalies::{AnomalyKind, AnomalyRow, EpisodeStatus, Severity};
use crate::coin_info::CoinInfoRow;
use crate::fear_greed::FearGreedRow;
use crate::market::MarketRow;
use crate::news::{CoinList, NewsRow};
use crate::sentiment::{Label, SentimentRow};
use crate::time::{Nanos, Time};
use crate::{Measurement, Result};

const F: DataType = DataType::Float64;
const I: DataType = DataType::Int64;
const S: DataType = DataType::Utf8;

/// `time`, then the listed columns: (name, type, nullable).
fn legacy(columns: &[(&str, DataType, bool)]) -> Schema {
    let mut fields = vec![Field::new(
        "time",
        DataType::Timestamp(TimeUnit::Nanosecond, Some(Arc::from("UTC"))),
        false,
    )];
    fields.extend(
        columns
            .iter()
            .map(|(n, t, null)| Field::new(*n, t.clone(), *null)),
    );
    Schema::new(fields)
}

fn tags(names: &[&'static str]) -> Vec<(&'static str, DataType, bool)> {
    names.iter().map(|n| (*n, S, false)).collect()
}

fn assert_schema<M: Measurement>(
    name: &str,
    tag_names: &[&'static str],
    rest: &[(&str, DataType, bool)],
) {
    let mut columns = tags(tag_names);
    columns.extend(rest.iter().cloned());
    assert_eq!(M::NAME, name);
    assert_eq!(M::TAGS, tag_names);
    assert_eq!(*M::schema(), legacy(&columns), "{name}");
}

#[test]
fn schemas_are_the_ones_the_sinks_wrote() {
    let market_tags = ["crypto_id", "symbol", "source"];
    let mut market = vec![("price_usd", F, false)];
    for f in [
        "market_cap",
        "volume_24h",
        "change_1h",
        "change_24h",
        "change_7d",
        "volume",
        "open_usd",
        "high_usd",
        "low_usd",
    ] {
        market.push((f, F, true));
    }
    assert_schema::<MarketRow>("crypto_market", &market_tags, &market);

    let mut info = vec![("name", S, true)];
    for f in ["ath", "atl", "circulating_supply"] {
        info.push((f, F, true));
    }
    assert_schema::<CoinInfoRow>("crypto_coin_info", &market_tags, &info);

    let stats = [
        "open",
        "high",
        "low",
        "close",
        "mean",
        "min",
        "max",
        "stddev",
        "volatility_pct",
        "volume",
        "vwap",
    ];
    let mut analytics: Vec<_> = stats
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, F, i >= 7))
        .collect();
    for f in [
        "sma_20",
        "sma_50",
        "ema_20",
        "ema_50",
        "rsi_14",
        "macd",
        "macd_signal",
        "macd_hist",
        "bb_upper",
        "bb_middle",
        "bb_lower",
    ] {
        analytics.push((f, F, true));
    }
    analytics.extend([
        ("count", I, false),
        ("window_end", I, false),
        ("status", S, false),
    ]);
    assert_schema::<AnalyticsRow>(
        "crypto_analytics",
        &["crypto_id", "source", "window"],
        &analytics,
    );

    let mut anomalies = vec![("end_time", I, false), ("peak_time", I, false)];
    for f in ["observed", "baseline", "score"] {
        anomalies.push((f, F, false));
    }
    for f in ["severity", "status", "detail"] {
        anomalies.push((f, S, false));
    }
    assert_schema::<AnomalyRow>(
        "crypto_anomalies",
        &["crypto_id", "kind", "source"],
        &anomalies,
    );

    let news = [
        ("guid", S, true),
        ("title", S, true),
        ("summary", S, true),
        ("link", S, true),
        ("published_at", I, true),
        ("fetched_at", I, true),
        ("sentiment_score", F, true),
        ("sentiment_label", S, true),
        ("coins", S, true),
    ];
    assert_schema::<NewsRow>("crypto_news", &["source"], &news);

    let mut sentiment = vec![("score", F, true)];
    for f in ["articles", "positive", "negative", "neutral"] {
        sentiment.push((f, I, true));
    }
    assert_schema::<SentimentRow>("crypto_sentiment", &["crypto_id", "window"], &sentiment);

    let fear_greed = [("value", I, true), ("classification", S, true)];
    assert_schema::<FearGreedRow>("fear_greed", &["source"], &fear_greed);
}

#[test]
fn indicator_fields_follow_the_declaration() {
    let mut defs = Vec::new();
    <IndicatorSet as crate::Columns>::defs("indicators", &mut defs);
    let names: Vec<&str> = defs.iter().map(|d| d.name).collect();
    assert_eq!(names, INDICATOR_FIELDS);
    let mut row = analytics_row(WindowStatus::Closed);
    let values: Vec<f64> = (0..INDICATOR_FIELDS.len()).map(|i| i as f64).collect();
    let mut v = values.iter().copied().map(Some);
    let mut next = || v.next().flatten();
    row.indicators = IndicatorSet {
        sma_20: next(),
        sma_50: next(),
        ema_20: next(),
        ema_50: next(),
        rsi_14: next(),
        macd: next(),
        macd_signal: next(),
        macd_hist: next(),
        bb_upper: next(),
        bb_middle: next(),
        bb_lower: next(),
    };
    let batch = AnalyticsRow::to_batch(&[row.clone()])
        .unwrap()
        .unwrap()
        .batch;
    for (i, name) in INDICATOR_FIELDS.iter().enumerate() {
        let column = batch.column_by_name(name).unwrap();
        let column = column
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Float64Array>();
        assert_eq!(column.unwrap().value(0), values[i], "{name}");
        assert_eq!(row.indicators.to_array()[i], Some(values[i]), "{name}");
    }
}

fn analytics_row(status: WindowStatus) -> AnalyticsRow {
    AnalyticsRow {
        time: Time::from_ms(1_700_000_040_000),
        crypto_id: "bitcoin".into(),
        source: "sim".into(),
        window: "1m".into(),
        open: 1.0,
        high: 3.0,
        low: 0.5,
        close: 2.0,
        mean: 1.5,
        min: 0.5,
        max: 3.0,
        stddev: Some(0.25),
        volatility_pct: None,
        volume: Some(10.0),
        vwap: None,
        indicators: IndicatorSet {
            sma_20: Some(1.25),
            rsi_14: Some(55.0),
            ..IndicatorSet::default()
        },
        count: 7,
        window_end: Nanos::from_ms(1_700_000_100_000),
        status,
    }
}

#[test]
fn rows_round_trip_through_a_batch() -> Result<()> {
    let rows = vec![
        analytics_row(WindowStatus::Closed),
        analytics_row(WindowStatus::Provisional),
    ];
    let batch = AnalyticsRow::to_batch(&rows)?.expect("rows");
    assert_eq!(batch.measurement, "crypto_analytics");
    assert_eq!(batch.tags, ["crypto_id", "source", "window"]);
    assert_eq!(AnalyticsRow::from_batch(&batch.batch)?, rows);
    assert!(AnalyticsRow::to_batch(&[])?.is_none());

    let anomaly = AnomalyRow {
        time: Time(5),
        crypto_id: "eth".into(),
        kind: AnomalyKind::PriceReturn,
        source: "sim".into(),
        end_time: Nanos(10),
        peak_time: Nanos(7),
        observed: 1.0,
        baseline: 0.5,
        score: 4.2,
        severity: Severity::High,
        status: EpisodeStatus::Ongoing,
        detail: "jump".into(),
    };
    let batch = AnomalyRow::to_batch(std::slice::from_ref(&anomaly))?.expect("rows");
    assert_eq!(AnomalyRow::from_batch(&batch.batch)?, vec![anomaly]);

    let article = NewsRow {
        time: Time(1),
        source: "coindesk".into(),
        guid: Some("g".into()),
        title: Some("t".into()),
        summary: None,
        link: Some("https://x.test".into()),
        published_at: Some(1),
        fetched_at: Some(2),
        sentiment_score: Some(0.5),
        sentiment_label: Some(Label::Positive),
        coins: CoinList(vec!["bitcoin".into(), "ethereum".into()]),
    };
    let batch = NewsRow::to_batch(std::slice::from_ref(&article))?.expect("rows");
    assert_eq!(NewsRow::from_batch(&batch.batch)?, vec![article]);
    Ok(())
}

#[test]
fn a_stored_row_as_json_reads_and_serves_like_the_api_did() -> Result<()> {
    let row = serde_json::json!({
        "time": "2023-11-14T22:14:00.000Z",
        "crypto_id": "bitcoin", "source": "sim", "window": "1m",
        "open": 1.0, "high": 3.0, "low": 0.5, "close": 2.0, "mean": 1.5, "min": 0.5, "max": 3.0,
        "stddev": 0.25, "volatility_pct": null, "volume": 10.0, "vwap": null,
        "sma_20": 1.25, "sma_50": null, "ema_20": null, "ema_50": null, "rsi_14": 55.0,
        "macd": null, "macd_signal": null, "macd_hist": null,
        "bb_upper": null, "bb_middle": null, "bb_lower": null,
        "count": 7, "window_end": 1_700_000_100_000_000_000_i64, "status": "closed",
    });
    let serde_json::Value::Object(map) = row.clone() else {
        unreachable!()
    };
    let parsed = AnalyticsRow::from_row(map)?;
    assert_eq!(parsed, analytics_row(WindowStatus::Closed));
    let mut served = row;
    served["window_end"] = "2023-11-14T22:15:00.000Z".into();
    assert_eq!(serde_json::to_value(&parsed)?, served);
    Ok(())
}

#[test]
fn closed_sets_keep_their_stored_strings() {
    let window: Vec<&str> = WindowStatus::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(window, ["closed", "provisional", "partial"]);
    let kinds: Vec<&str> = AnomalyKind::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(kinds, ["price_return", "volume", "divergence"]);
    let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(severities, ["low", "medium", "high"]);
    let episodes: Vec<&str> = EpisodeStatus::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(episodes, ["ongoing", "ended"]);
    let labels: Vec<&str> = Label::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(labels, ["positive", "negative", "neutral"]);
    for s in WindowStatus::ALL {
        assert_eq!(s.as_str().parse::<WindowStatus>().unwrap(), *s);
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    assert!("open".parse::<WindowStatus>().is_err());
    assert_eq!(Label::parse(" Positive "), Some(Label::Positive));
}

/// The values the OpenAPI document gives a closed set, as JSON strings.
fn documented<T: utoipa::PartialSchema>() -> Vec<String> {
    let schema = serde_json::to_value(T::schema()).expect("a schema serialises");
    schema["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("not an enum schema: {schema}"))
        .iter()
        .map(|v| v.as_str().expect("string values").to_owned())
        .collect()
}

/// The document names each closed set's stored (and served) strings, not the Rust variant
/// names: a macro-captured `literal` is opaque to utoipa's attribute parser, which then
/// ignored `#[serde(rename)]` and documented `Closed` for what is served as `closed`.
#[test]
fn documented_values_are_the_served_strings() {
    fn served<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(|v| v.to_string()).collect()
    }
    assert_eq!(documented::<WindowStatus>(), served(WindowStatus::ALL));
    assert_eq!(documented::<AnomalyKind>(), served(AnomalyKind::ALL));
    assert_eq!(documented::<Severity>(), served(Severity::ALL));
    assert_eq!(documented::<EpisodeStatus>(), served(EpisodeStatus::ALL));
    assert_eq!(documented::<Label>(), served(Label::ALL));
    for v in WindowStatus::ALL {
        assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
    }
}

#[test]
fn trade_schemas_are_pinned_and_rows_round_trip() -> Result<()> {
    use crate::trades::{TakerSide, TradeCandleRow, TradeRow, trade_offset_ns};

    assert_schema::<TradeRow>(
        "crypto_trades",
        &["crypto_id", "exchange", "symbol"],
        &[
            ("quote", S, false),
            ("trade_id", I, false),
            ("price", F, false),
            ("quantity", F, false),
            ("side", S, false),
        ],
    );
    let mut candle: Vec<(&str, DataType, bool)> = ["open", "high", "low", "close"]
        .into_iter()
        .chain(["volume", "quote_volume", "vwap"])
        .map(|f| (f, F, false))
        .collect();
    candle.extend([
        ("trades", I, false),
        ("taker_buy_volume", F, false),
        ("taker_sell_volume", F, false),
        ("window_end", I, false),
        ("status", S, false),
    ]);
    assert_schema::<TradeCandleRow>(
        "crypto_trade_candles",
        &["crypto_id", "exchange", "quote", "window"],
        &candle,
    );

    let trade = TradeRow {
        time: Time(1_723_161_255_342_000_000 + trade_offset_ns(3_735_683_259)),
        crypto_id: "bitcoin".into(),
        exchange: "binance".into(),
        symbol: "BTCUSDT".into(),
        quote: "USDT".into(),
        trade_id: 3_735_683_259,
        price: 61_837.63,
        quantity: 0.02,
        side: TakerSide::Sell,
    };
    let batch = TradeRow::to_batch(std::slice::from_ref(&trade))?.expect("one row");
    assert_eq!(TradeRow::from_batch(&batch.batch)?, vec![trade]);
    assert_eq!(trade_offset_ns(3_735_683_259), 683_259);
    assert_eq!(trade_offset_ns(-1), 999_999, "never negative");
    Ok(())
}
