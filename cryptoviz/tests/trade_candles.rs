//! `cryptoviz run` with the Binance stream pointed at a local WebSocket server that replays a
//! recorded capture (`../shared/fixtures/ws/binance/spot_btcusdt_trade_2024-08-0*_part*.jsonl`,
//! 19,904 real trades): the stored 1-minute trade candles of the 10 complete minutes, read back
//! through `/api/v1/coins/bitcoin/history?source=binance`, equal an independent computation
//! from the file — open, high, low, close, base volume and trade count exact — and
//! `/coins/bitcoin/trades` ends with the capture's last trade. Skipped, with a message, when the
//! shared fixtures are absent.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const PARTS: [&str; 2] = [
    "spot_btcusdt_trade_2024-08-08_part1.jsonl",
    "spot_btcusdt_trade_2024-08-09_part2.jsonl",
];

/// The capture's lines, or `None` (with a message) when the shared fixtures are absent.
fn capture() -> Option<Vec<String>> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/ws/binance"
    ));
    if !dir.is_dir() {
        println!("skipped: shared fixtures not found at {}", dir.display());
        return None;
    }
    let mut lines = Vec::new();
    for part in PARTS {
        let text = std::fs::read_to_string(dir.join(part)).unwrap();
        lines.extend(text.lines().map(str::to_string));
    }
    Some(lines)
}

/// A 1-minute candle computed from the file: (open, high, low, close, volume, trades).
#[derive(Debug, Clone, PartialEq)]
struct Candle {
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    trades: u64,
}

/// 1-minute candles by start (ms) of the trades in `lines`, in file order (which is trade-id
/// order), binned on the trade time `T` as the exchange reports it.
fn candles_of(lines: &[String]) -> BTreeMap<i64, Candle> {
    let mut out: BTreeMap<i64, Candle> = BTreeMap::new();
    let mut last_id = None;
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        let d = &v["data"];
        let id = d["t"].as_i64().unwrap();
        if let Some(prev) = last_id {
            assert_eq!(id, prev + 1, "the capture is contiguous");
        }
        last_id = Some(id);
        let time = d["T"].as_i64().unwrap();
        let price: f64 = d["p"].as_str().unwrap().parse().unwrap();
        let qty: f64 = d["q"].as_str().unwrap().parse().unwrap();
        let start = time - time.rem_euclid(60_000);
        out.entry(start)
            .and_modify(|c| {
                c.high = c.high.max(price);
                c.low = c.low.min(price);
                c.close = price;
                c.volume += qty;
                c.trades += 1;
            })
            .or_insert(Candle {
                open: price,
                high: price,
                low: price,
                close: price,
                volume: qty,
                trades: 1,
            });
    }
    out
}

/// A WebSocket server on 127.0.0.1:0: the first connection gets `lines` after its
/// subscription and is held open; later ones (a reconnect) get nothing.
fn ws_server(lines: Vec<String>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let mut lines = Some(lines);
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let send = lines.take().unwrap_or_default();
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    // The client subscribes first.
                    while let Some(Ok(frame)) = ws.next().await {
                        if matches!(frame, Message::Text(_)) {
                            break;
                        }
                    }
                    for line in send {
                        if ws.feed(Message::text(line)).await.is_err() {
                            return;
                        }
                    }
                    if ws.flush().await.is_err() {
                        return;
                    }
                    while let Some(Ok(_)) = ws.next().await {}
                });
            }
        });
    });
    url
}

fn stored_candles(body: &Value) -> BTreeMap<i64, Candle> {
    body["candles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let time = chrono::DateTime::parse_from_rfc3339(c["time"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
            let candle = Candle {
                open: c["open"].as_f64().unwrap(),
                high: c["high"].as_f64().unwrap(),
                low: c["low"].as_f64().unwrap(),
                close: c["close"].as_f64().unwrap(),
                volume: c["volume"].as_f64().unwrap(),
                trades: c["ticks"].as_u64().unwrap(),
            };
            (time, candle)
        })
        .collect()
}

#[test]
fn replayed_binance_trades_become_exact_one_minute_candles() {
    let Some(lines) = capture() else { return };
    let all = candles_of(&lines);
    // The partial first and last minutes are left out: 23:55 to 00:04.
    let complete: BTreeMap<i64, Candle> = all
        .iter()
        .skip(1)
        .take(all.len() - 2)
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    assert_eq!(complete.len(), 10, "the capture holds 10 complete minutes");
    let last_id = serde_json::from_str::<Value>(lines.last().unwrap()).unwrap()["data"]["t"]
        .as_i64()
        .unwrap();

    let ws_url = ws_server(lines);
    // The exchange's REST history: no trade is missing from the replay.
    let rest_url = serve(vec![("/", b"[]".to_vec())]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cryptoviz.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[sources.coingecko]
enabled = false
[sources.feargreed]
enabled = false
[sources.news]
enabled = false
[sources.coinbase]
enabled = false
[sources.kraken]
enabled = false
[sources.binance]
ws_url = "{ws_url}"
rest_url = "{rest_url}"
"#
        ),
    )
    .unwrap();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (running, base) = run_with_config(dir.path(), &config);

    let (from, to) = (
        complete.keys().next().unwrap(),
        complete.keys().last().unwrap() + 60_000,
    );
    let history = format!(
        "{base}/api/v1/coins/bitcoin/history?source=binance&interval=1m&from={from}&to={to}"
    );
    // The windows close once the watermark passes them (the replay ends in 00:05, past the
    // last complete minute plus the allowed lateness).
    let mut last = None;
    let stored = wait_for(Duration::from_secs(60), || {
        let (status, body) = get_json(&client, &history)?;
        last = Some(body.clone());
        if status != 200 {
            return None;
        }
        let stored = stored_candles(&body);
        (stored == complete).then_some(body)
    });
    let Some(body) = stored else {
        panic!(
            "the stored candles never equalled the file's:\nexpected {complete:#?}\nlast answer {last:#?}"
        );
    };
    assert_eq!(body["source"], "binance");
    assert_eq!(body["quote"], "USDT");
    assert_eq!(body["count"], 10);

    // The latest trade served is the capture's last one; several trades share its time.
    let (status, trades) = get_json(
        &client,
        &format!("{base}/api/v1/coins/bitcoin/trades?source=binance&limit=5"),
    )
    .expect("trades answered");
    assert_eq!(status, 200, "{trades}");
    assert_eq!(trades["count"], 5, "{trades}");
    assert_eq!(trades["data"][0]["trade_id"], last_id, "{trades}");
    assert_eq!(trades["data"][0]["symbol"], "BTCUSDT", "{trades}");

    // A source nothing was ever stored from is a 400 naming the parameter.
    let (status, error) = get_json(
        &client,
        &format!("{base}/api/v1/coins/bitcoin/history?source=nosuchexchange"),
    )
    .expect("history answered");
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["param"], "source", "{error}");

    let exit = running.terminate(Duration::from_secs(20));
    assert!(exit.success(), "cryptoviz exited with {exit}");
}
