//! Exchange trades through the API: an exchange's trade candles as `/coins/{id}/history`
//! (`volume` the base volume, `ticks` the trades), the latest trades newest first, and the
//! parameters' errors naming the parameter.

use crate::common;

use axum::http::StatusCode;
use common::{get, state};
use cryptoviz_measurements::Measurement;
use cryptoviz_measurements::analytics::WindowStatus;
use cryptoviz_measurements::trades::{TakerSide, TradeCandleRow, TradeRow, trade_offset_ns};
use cryptoviz_measurements::{Nanos, Time};

const T0_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn candle(minute: i64, window: &str, trades: i64) -> TradeCandleRow {
    let start = T0_MS + minute * 60_000;
    TradeCandleRow {
        time: Time::from_ms(start),
        crypto_id: "bitcoin".into(),
        exchange: "binance".into(),
        quote: "USDT".into(),
        window: window.into(),
        open: 100.0 + minute as f64,
        high: 110.0 + minute as f64,
        low: 90.0 + minute as f64,
        close: 105.0 + minute as f64,
        volume: 2.0,
        quote_volume: 200.0,
        vwap: 100.0,
        trades,
        taker_buy_volume: 1.5,
        taker_sell_volume: 0.5,
        window_end: Nanos::from_ms(start + 60_000),
        status: WindowStatus::Closed,
    }
}

fn trade(id: i64, ms: i64) -> TradeRow {
    TradeRow {
        time: Time(ms * 1_000_000 + trade_offset_ns(id)),
        crypto_id: "bitcoin".into(),
        exchange: "binance".into(),
        symbol: "BTCUSDT".into(),
        quote: "USDT".into(),
        trade_id: id,
        price: 100.0,
        quantity: 0.5,
        side: TakerSide::Buy,
    }
}

#[tokio::test]
async fn trade_candles_and_latest_trades() {
    let (_d, s) = state().await;
    let candles: Vec<TradeCandleRow> = (0..3).map(|m| candle(m, "1m", 10 + m)).collect();
    // Three trades in one millisecond, then one more.
    let trades: Vec<TradeRow> = [(1, 0), (2, 0), (3, 0), (4, 7)]
        .into_iter()
        .map(|(id, ms)| trade(id, T0_MS + ms))
        .collect();
    let batches = vec![
        TradeCandleRow::to_batch(&candles).unwrap().unwrap(),
        TradeRow::to_batch(&trades).unwrap().unwrap(),
    ];
    s.store.write(batches).await.unwrap();

    let (status, body) = get(
        &s,
        "/api/v1/coins/bitcoin/history?source=binance&interval=1m&from=2026-01-01T00:00:00Z&to=2026-01-01T00:03:00Z",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["source"].as_str(), body["quote"].as_str()),
        (Some("binance"), Some("USDT"))
    );
    assert_eq!(body["count"], 3);
    let c = &body["candles"][1];
    assert_eq!(c["time"], "2026-01-01T00:01:00.000Z");
    assert_eq!(
        (c["open"].as_f64(), c["close"].as_f64()),
        (Some(101.0), Some(106.0))
    );
    assert_eq!(
        (c["volume"].as_f64(), c["ticks"].as_i64()),
        (Some(2.0), Some(11))
    );
    // A price source's history has no quote.
    let (_, body) = get(&s, "/api/v1/coins/bitcoin/history?interval=5m").await;
    assert_eq!(body["source"], "simulated");
    assert!(body.get("quote").is_none(), "{body}");

    // A source nothing was stored from is a 400 naming it.
    let (status, body) = get(&s, "/api/v1/coins/bitcoin/history?source=nosuch").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["param"], "source");

    let (status, body) = get(&s, "/api/v1/coins/bitcoin/trades?source=binance&limit=3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<i64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trade_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [4, 3, 2],
        "newest first, trades of one millisecond apart"
    );
    assert_eq!(body["data"][0]["side"], "buy");
    let (_, body) = get(
        &s,
        "/api/v1/coins/bitcoin/trades?before=2026-01-01T00:00:00.001Z",
    )
    .await;
    assert_eq!(body["count"], 3);

    for (uri, param) in [
        ("/api/v1/coins/bitcoin/trades?limit=0", "limit"),
        ("/api/v1/coins/bitcoin/trades?before=later", "before"),
        // An unknown parameter is named in the message; the parameter at fault is the query.
        ("/api/v1/coins/bitcoin/trades?sort=price", "query"),
    ] {
        let (status, body) = get(&s, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["param"], param, "{uri}: {body}");
    }
    let (status, _) = get(&s, "/api/v1/coins/dogecoin/trades").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
