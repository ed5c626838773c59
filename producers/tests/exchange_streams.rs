//! The exchange sources against local servers: a WebSocket server on 127.0.0.1:0 replays a
//! capture to the real source, drops the connection mid-stream and resumes past a gap (and
//! with a few trades sent again); a local REST server serves the missing trades in the
//! exchange's history format. What reaches `crypto-trades` must be the capture's trades, each
//! once, and the counters must show the gap filled and the duplicates dropped.
//!
//! Hand-written captures always run; the recorded ones in `../shared/fixtures/ws` run when
//! that folder is present. The sockets are real, so the timings are short real durations.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, FsyncPolicy};
use cryptoviz_producers::config::HttpConfig;
use cryptoviz_producers::sources::exchanges::binance::Binance;
use cryptoviz_producers::sources::exchanges::coinbase::Coinbase;
use cryptoviz_producers::sources::exchanges::kraken::Kraken;
use cryptoviz_producers::sources::exchanges::{
    ExchangeConfig, ExchangeSource, MarketConfig, Protocol,
};
use cryptoviz_producers::{Source, SourceStatus, StreamSnapshot};
use cryptoviz_schemas::{CryptoTrade, topics};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{Value, json};
use support::{Reply, TestLog, fixture, query, serve, shared};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// What one connection of the WebSocket server does after reading the subscription.
#[derive(Clone)]
enum Session {
    /// Sends the lines, then shuts the TCP connection down (no close frame).
    SendThenDrop(Vec<String>),
    /// Sends the lines and keeps the connection open.
    SendThenHold(Vec<String>),
    /// Accepts, then neither reads nor writes: no pong ever comes back.
    Silent,
}

struct WsServer {
    url: String,
    subscriptions: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

/// A WebSocket server on 127.0.0.1:0 whose n-th connection plays `sessions[n]` (the last
/// one repeats).
async fn ws_server(sessions: Vec<Session>) -> WsServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let subscriptions = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (subs, conns) = (subscriptions.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let n = conns.fetch_add(1, Ordering::SeqCst);
            let session = sessions[n.min(sessions.len() - 1)].clone();
            let subs = subs.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                if matches!(session, Session::Silent) {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                // The client subscribes first.
                while let Some(Ok(frame)) = ws.next().await {
                    if let Message::Text(text) = frame {
                        subs.lock().push(text.to_string());
                        break;
                    }
                }
                let (lines, hold) = match session {
                    Session::SendThenDrop(l) => (l, false),
                    Session::SendThenHold(l) => (l, true),
                    Session::Silent => unreachable!(),
                };
                for line in lines {
                    if ws.feed(Message::text(line)).await.is_err() {
                        return;
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
                if !hold {
                    // FIN after the data, then read until the client goes (no RST that could
                    // discard frames still unread on the client's side).
                    let _ = ws.get_mut().shutdown().await;
                }
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    WsServer {
        url,
        subscriptions,
        connections,
    }
}

/// A trade as the capture has it: everything the exchanges' REST histories need.
#[derive(Debug, Clone)]
struct Expected {
    symbol: String,
    id: i64,
    price: String,
    qty: String,
    time_ms: i64,
    time_text: String,
    /// Binance `m`, Coinbase maker `side`, Kraken taker `side`.
    side: Value,
}

fn config(ws: &str, rest: &str, markets: &[(&str, &str)]) -> ExchangeConfig {
    ExchangeConfig {
        ws_url: Some(ws.to_string()),
        rest_url: Some(rest.to_string()),
        default_markets: false,
        markets: markets
            .iter()
            .map(|(s, c)| {
                let m = MarketConfig {
                    coin: c.to_string(),
                    quote: None,
                    rest_symbol: None,
                };
                (s.to_string(), m)
            })
            .collect(),
        connect_timeout: Duration::from_secs(2),
        ping_interval: Duration::from_millis(500),
        stale_timeout: Duration::from_secs(5),
        reconnect_min: Duration::from_millis(10),
        reconnect_max: Duration::from_millis(100),
        // A page of 1,000 Binance trades is about 150 KB.
        http: HttpConfig {
            max_response_bytes: 4 << 20,
            ..support::http(2)
        },
        ..ExchangeConfig::default()
    }
}

/// Runs `source` until `want` trades are published (or 60 s pass), then stops it; returns
/// the trades on `crypto-trades` and the stream counters.
async fn run_until<S: Source + 'static>(
    mut source: S,
    name: &str,
    want: u64,
) -> (Vec<CryptoTrade>, StreamSnapshot, Arc<SourceStatus>, TestLog) {
    // No fsync per append: tens of thousands of one-trade batches.
    let dir = tempfile::tempdir().unwrap();
    let mut log_config = EmbeddedLogConfig::new(dir.path().join("log"));
    log_config.fsync = FsyncPolicy::Never;
    let log = TestLog {
        log: EmbeddedLog::open(log_config).unwrap(),
        dir,
    };
    let (ctx, status) = log.ctx(name);
    let shutdown = ctx.shutdown.clone();
    let task = tokio::spawn(async move { source.run(ctx).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while status.snapshot().published < want && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Anything extra (a duplicate let through) would arrive now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("source stops on shutdown")
        .unwrap()
        .unwrap();
    let trades = log.read::<CryptoTrade>().await;
    let stream = status.snapshot().stream.expect("stream counters");
    (trades, stream, status, log)
}

/// The published trades equal the expected ones: same count, each id once, same prices.
fn assert_same(published: &[CryptoTrade], expected: &[Expected]) {
    assert_eq!(published.len(), expected.len(), "trade count");
    let mut by_id: HashMap<(&str, i64), &CryptoTrade> = HashMap::new();
    for t in published {
        assert!(
            by_id.insert((t.symbol.as_str(), t.trade_id), t).is_none(),
            "{} {} published twice",
            t.symbol,
            t.trade_id
        );
    }
    for e in expected {
        let t = by_id
            .get(&(e.symbol.as_str(), e.id))
            .unwrap_or_else(|| panic!("{} {} missing", e.symbol, e.id));
        assert_eq!(
            t.price,
            e.price.parse::<f64>().unwrap(),
            "price of {}",
            e.id
        );
        assert_eq!(t.quantity, e.qty.parse::<f64>().unwrap(), "qty of {}", e.id);
        assert_eq!(t.event_time_ms, e.time_ms, "time of {}", e.id);
    }
    // Per symbol, the log holds them in id order (gaps were filled before what followed).
    let mut last: HashMap<&str, i64> = HashMap::new();
    for t in published {
        if let Some(prev) = last.insert(&t.symbol, t.trade_id) {
            assert_eq!(t.trade_id, prev + 1, "{} order", t.symbol);
        }
    }
}

/// Splits a capture: the first connection sends `lines[..cut]`; the second sends `dup`
/// lines again (`lines[cut - dup..cut]`), skips `gap` lines and sends the rest.
fn sessions(head: &[String], lines: &[String], cut: usize, dup: usize, gap: usize) -> Vec<Session> {
    let mut first = head.to_vec();
    first.extend_from_slice(&lines[..cut]);
    let mut second = head.to_vec();
    second.extend_from_slice(&lines[cut - dup..cut]);
    second.extend_from_slice(&lines[cut + gap..]);
    vec![Session::SendThenDrop(first), Session::SendThenHold(second)]
}

/// Replays `sessions` to an `ExchangeSource<P>` for `markets` with `rest` as its REST history;
/// checks that it published exactly `expected` after one reconnect, and that every
/// subscription frame passes `subscribed`. Returns the stream counters, the WebSocket server
/// and the REST paths requested.
async fn replay<P: Protocol>(
    markets: &[(&str, &str)],
    sessions: Vec<Session>,
    expected: &[Expected],
    rest: impl Fn(&str) -> Reply + Send + Sync + 'static,
    subscribed: impl Fn(&str) -> bool,
) -> (StreamSnapshot, WsServer, Arc<Mutex<Vec<String>>>) {
    let ws = ws_server(sessions).await;
    let (rest, requests) = serve(rest).await;
    let source = ExchangeSource::<P>::new(config(&ws.url, &rest, markets)).unwrap();
    let name = P::EXCHANGE.as_str();
    let (published, stream, _, _) = run_until(source, name, expected.len() as u64).await;
    assert_same(&published, expected);
    assert_eq!(stream.reconnects, 1);
    let subs = ws.subscriptions.lock().clone();
    assert!(subs.iter().all(|s| subscribed(s)), "{subs:?}");
    (stream, ws, requests)
}

// ---- Binance ---------------------------------------------------------------------------------

fn binance_expected(lines: &[String]) -> Vec<Expected> {
    lines
        .iter()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let d = v.get("data")?;
            (d["e"] == "trade").then(|| Expected {
                symbol: d["s"].as_str().unwrap().to_string(),
                id: d["t"].as_i64().unwrap(),
                price: d["p"].as_str().unwrap().to_string(),
                qty: d["q"].as_str().unwrap().to_string(),
                time_ms: d["T"].as_i64().unwrap(),
                time_text: String::new(),
                side: d["m"].clone(),
            })
        })
        .collect()
}

/// `/api/v3/historicalTrades?symbol=&fromId=&limit=` over `all`.
fn binance_rest(all: Vec<Expected>) -> impl Fn(&str) -> Reply + Send + Sync + 'static {
    move |path| {
        if !path.starts_with("/api/v3/historicalTrades") {
            return Reply::status(404);
        }
        let symbol = query(path, "symbol").unwrap_or("");
        let from: i64 = query(path, "fromId").unwrap().parse().unwrap();
        let limit: usize = query(path, "limit").unwrap().parse().unwrap();
        let rows: Vec<Value> = all
            .iter()
            .filter(|e| e.symbol == symbol && e.id >= from)
            .take(limit)
            .map(|e| {
                json!({"id": e.id, "price": e.price, "qty": e.qty, "quoteQty": "0", "time": e.time_ms,
                       "isBuyerMaker": e.side, "isBestMatch": true})
            })
            .collect();
        Reply::ok(serde_json::to_vec(&rows).unwrap())
    }
}

async fn binance_replay(
    lines: Vec<String>,
    markets: &[(&str, &str)],
    cut: usize,
    dup: usize,
    gap: usize,
) {
    let head = vec![r#"{"result":null,"id":1}"#.to_string()];
    let (trade_lines, other): (Vec<String>, Vec<String>) =
        lines.into_iter().partition(|l| l.contains("@trade"));
    assert!(
        other.iter().all(|l| l.contains("\"result\"")),
        "only trades and acks"
    );
    let expected = binance_expected(&trade_lines);
    // Subscribed on each connection.
    let (stream, ws, requests) = replay::<Binance>(
        markets,
        sessions(&head, &trade_lines, cut, dup, gap),
        &expected,
        binance_rest(expected.clone()),
        |s| s.contains("SUBSCRIBE") && s.contains("@trade"),
    )
    .await;
    assert_eq!(
        (stream.gaps_filled, stream.gaps_unfillable),
        (1, 0),
        "{stream:?}"
    );
    assert_eq!(stream.trades_filled, gap as u64);
    assert_eq!(stream.duplicates_dropped, dup as u64);
    assert!(!requests.lock().is_empty());
    assert_eq!(ws.subscriptions.lock().len(), 2);
    assert!(ws.connections.load(Ordering::SeqCst) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binance_replay_with_a_dropped_connection_loses_and_repeats_nothing() {
    let lines = lines(&fixture("exchanges/binance_ws.jsonl"));
    // Cut after 6 trades, send 2 again, skip 3 (BTC 503..=505 and an ETH one: two gaps).
    let trade_lines: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("@trade"))
        .cloned()
        .collect();
    let expected = binance_expected(&trade_lines);
    let head = vec![lines[0].clone()];
    let ws = ws_server(sessions(&head, &trade_lines, 6, 2, 3)).await;
    let (rest, requests) = serve(binance_rest(expected.clone())).await;
    let markets = [("BTCUSDT", "bitcoin"), ("ETHUSDT", "ethereum")];
    let source = ExchangeSource::<Binance>::new(config(&ws.url, &rest, &markets)).unwrap();
    let (published, stream, status, _) = run_until(source, "binance", expected.len() as u64).await;
    assert_same(&published, &expected);
    assert_eq!(stream.reconnects, 1);
    assert_eq!(stream.duplicates_dropped, 2);
    assert_eq!(
        (
            stream.gaps_filled,
            stream.gaps_unfillable,
            stream.trades_filled
        ),
        (2, 0, 3)
    );
    assert_eq!(stream.subscription_errors, 0);
    assert!(!stream.connected, "down after shutdown");
    assert_eq!(stream.last_trade_ms, Some(1_763_700_001_600));
    assert_eq!(status.snapshot().rejected, 0);
    let requests = requests.lock().clone();
    assert!(
        requests
            .iter()
            .any(|p| p.contains("symbol=BTCUSDT&fromId=504&limit=2")),
        "{requests:?}"
    );
    // The counters reach `/api/v1/sources` through the status JSON.
    let json = serde_json::to_value(status.snapshot()).unwrap();
    assert_eq!(json["stream"]["gaps_filled"], 2);
    assert_eq!(json["stream"]["duplicates_dropped"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_binance_capture_replays_exactly_across_a_drop() {
    let Some(part1) = shared("ws/binance/spot_btcusdt_trade_2024-08-08_part1.jsonl") else {
        return;
    };
    let mut all = lines(&part1);
    all.extend(lines(
        &shared("ws/binance/spot_btcusdt_trade_2024-08-09_part2.jsonl").unwrap(),
    ));
    assert_eq!(all.len(), 19_904);
    // Drop mid-stream; 1,500 trades (two REST pages) go missing; 25 come again.
    binance_replay(all, &[("BTCUSDT", "bitcoin")], 9_000, 25, 1_500).await;
}

// ---- Coinbase --------------------------------------------------------------------------------

fn coinbase_expected(lines: &[String]) -> Vec<Expected> {
    lines
        .iter()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            matches!(v["type"].as_str(), Some("match" | "last_match")).then(|| {
                let time = v["time"].as_str().unwrap().to_string();
                Expected {
                    symbol: v["product_id"].as_str().unwrap().to_string(),
                    id: v["trade_id"].as_i64().unwrap(),
                    price: v["price"].as_str().unwrap().to_string(),
                    qty: v["size"].as_str().unwrap().to_string(),
                    time_ms: chrono::DateTime::parse_from_rfc3339(&time)
                        .unwrap()
                        .timestamp_millis(),
                    time_text: time,
                    side: v["side"].clone(),
                }
            })
        })
        .collect()
}

/// `/products/{id}/trades?after=&limit=`: the trades below `after`, newest first.
fn coinbase_rest(all: Vec<Expected>) -> impl Fn(&str) -> Reply + Send + Sync + 'static {
    move |path| {
        let Some(product) = path
            .strip_prefix("/products/")
            .and_then(|p| p.split_once("/trades"))
            .map(|(p, _)| p.to_string())
        else {
            return Reply::status(404);
        };
        let after: i64 = query(path, "after").unwrap().parse().unwrap();
        let limit: usize = query(path, "limit").unwrap().parse().unwrap();
        let mut rows: Vec<&Expected> = all
            .iter()
            .filter(|e| e.symbol == product && e.id < after)
            .collect();
        rows.sort_by_key(|e| std::cmp::Reverse(e.id));
        let rows: Vec<Value> = rows
            .into_iter()
            .take(limit)
            .map(|e| json!({"time": e.time_text, "trade_id": e.id, "price": e.price, "size": e.qty, "side": e.side}))
            .collect();
        Reply::ok(serde_json::to_vec(&rows).unwrap())
    }
}

/// Replays `lines` without the ones `withheld` says (trades only the REST history has).
async fn coinbase_replay(
    lines: Vec<String>,
    withheld: impl Fn(&str) -> bool,
    cut: usize,
    dup: usize,
    gap: usize,
) -> StreamSnapshot {
    let expected = coinbase_expected(&lines);
    let lines: Vec<String> = lines.into_iter().filter(|l| !withheld(l)).collect();
    let (stream, _, _) = replay::<Coinbase>(
        &[("BTC-USD", "bitcoin"), ("ETH-USD", "ethereum")],
        sessions(&[], &lines, cut, dup, gap),
        &expected,
        coinbase_rest(expected.clone()),
        |s| s.contains("matches") && s.contains("heartbeat"),
    )
    .await;
    assert_eq!(stream.gaps_unfillable, 0, "{stream:?}");
    assert!(stream.gaps_filled >= 1, "{stream:?}");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coinbase_replay_fills_gaps_found_by_matches_and_by_heartbeats() {
    let lines = lines(&fixture("exchanges/coinbase_ws.jsonl"));
    // Cut after line 9 (BTC 7003), resend 1 line, skip 4: BTC 7004, ETH 3002, a heartbeat
    // and BTC 7005 are missing (found by the next matches). BTC 7008 is never sent: two
    // heartbeats announce it, and the second one has it fetched.
    let stream = coinbase_replay(lines, |l| l.contains("\"trade_id\":7008"), 9, 1, 4).await;
    assert_eq!(stream.duplicates_dropped, 1);
    assert_eq!((stream.gaps_filled, stream.trades_filled), (3, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_coinbase_capture_replays_exactly_across_a_drop() {
    let Some(text) =
        shared("ws/coinbase/exchange_btc-usd_eth-usd_level2_50_matches_heartbeat_2026-07-07.jsonl")
    else {
        return;
    };
    // Trades and heartbeats only (the book lines are not ours, and one is 1.1 MB).
    let lines: Vec<String> = lines(&text)
        .into_iter()
        .filter(|l| {
            l.contains("\"match\"")
                || l.contains("last_match")
                || l.contains("\"heartbeat\"")
                || l.contains("subscriptions")
        })
        .collect();
    let cut = lines.len() / 2;
    let stream = coinbase_replay(lines, |_| false, cut, 10, 40).await;
    assert!(stream.trades_filled > 0);
}

// ---- Kraken ----------------------------------------------------------------------------------

fn kraken_expected(lines: &[String]) -> Vec<Expected> {
    let mut out = Vec::new();
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap();
        if v["channel"] != "trade" {
            continue;
        }
        // The raw number tokens, as Kraken wrote them.
        let raw: Value = serde_json::from_str(l).unwrap();
        for t in raw["data"].as_array().unwrap() {
            let time = t["timestamp"].as_str().unwrap().to_string();
            out.push(Expected {
                symbol: t["symbol"].as_str().unwrap().to_string(),
                id: t["trade_id"].as_i64().unwrap(),
                price: t["price"].to_string(),
                qty: t["qty"].to_string(),
                time_ms: chrono::DateTime::parse_from_rfc3339(&time)
                    .unwrap()
                    .timestamp_millis(),
                time_text: time,
                side: t["side"].clone(),
            });
        }
    }
    out
}

fn kraken_ns(e: &Expected) -> i128 {
    let t = chrono::DateTime::parse_from_rfc3339(&e.time_text).unwrap();
    t.timestamp_nanos_opt().unwrap() as i128
}

/// `/0/public/Trades?pair=&since=&count=`: trades from `since` (seconds, or ns when large),
/// with `last` in ns; rows under the pair's Kraken name.
fn kraken_rest(all: Vec<Expected>) -> impl Fn(&str) -> Reply + Send + Sync + 'static {
    move |path| {
        if !path.starts_with("/0/public/Trades") {
            return Reply::status(404);
        }
        let pair = query(path, "pair").unwrap().to_string();
        let since: i128 = query(path, "since").unwrap().parse().unwrap();
        let since_ns = if since < 100_000_000_000 {
            since * 1_000_000_000
        } else {
            since + 1
        };
        let count: usize = query(path, "count").unwrap().parse().unwrap();
        let rows: Vec<&Expected> = all
            .iter()
            .filter(|e| {
                e.symbol.replace("BTC", "XBT").replace('/', "") == pair && kraken_ns(e) >= since_ns
            })
            .take(count)
            .collect();
        let last = rows.last().map(|e| kraken_ns(e)).unwrap_or(since_ns);
        let body = json!({"error": [], "result": {
            "XXBTZUSD": rows.iter().map(|e| {
                let side = if e.side == "buy" { "b" } else { "s" };
                json!([e.price, e.qty, kraken_ns(e) as f64 / 1e9, side, "l", "", e.id])
            }).collect::<Vec<_>>(),
            "last": last.to_string(),
        }});
        Reply::ok(serde_json::to_vec(&body).unwrap())
    }
}

async fn kraken_replay(lines: Vec<String>, cut: usize, dup: usize, gap: usize) -> StreamSnapshot {
    let expected = kraken_expected(&lines);
    let (stream, _, _) = replay::<Kraken>(
        &[("BTC/USD", "bitcoin")],
        sessions(&[], &lines, cut, dup, gap),
        &expected,
        kraken_rest(expected.clone()),
        |s| s.contains("\"trade\"") && s.contains("BTC/USD"),
    )
    .await;
    assert_eq!(
        (stream.gaps_filled, stream.gaps_unfillable),
        (1, 0),
        "{stream:?}"
    );
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kraken_replay_with_a_dropped_connection_loses_and_repeats_nothing() {
    let lines = lines(&fixture("exchanges/kraken_ws.jsonl"));
    // Cut after the 3-trade message (line 5), resend it, skip the heartbeat and the next two
    // trade messages (2004..=2006).
    let stream = kraken_replay(lines, 5, 1, 3).await;
    assert_eq!(stream.duplicates_dropped, 3);
    assert_eq!(stream.trades_filled, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_kraken_capture_replays_exactly_across_a_drop() {
    let Some(text) = shared("ws/kraken/v2_btc-usd_book10_trade_2026-07-07.jsonl") else {
        return;
    };
    let lines: Vec<String> = lines(&text)
        .into_iter()
        .filter(|l| !l.contains("\"book\""))
        .collect();
    // Cut after the second trade message; skip the third (one trade, 103436772).
    let at = |n: usize| {
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("\"channel\":\"trade\",\"type\""))
            .nth(n)
            .unwrap()
            .0
    };
    let (second, third, fourth) = (at(1), at(2), at(3));
    let stream = kraken_replay(lines.clone(), second + 1, 0, fourth - second - 1).await;
    assert_eq!(stream.trades_filled, 1, "third message at line {third}");
}

// ---- resilience ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_goes_stale_and_is_replaced() {
    let lines = lines(&fixture("exchanges/kraken_ws.jsonl"));
    let expected = kraken_expected(&lines);
    let ws = ws_server(vec![Session::Silent, Session::SendThenHold(lines)]).await;
    let (rest, _) = serve(kraken_rest(expected.clone())).await;
    let mut cfg = config(&ws.url, &rest, &[("BTC/USD", "bitcoin")]);
    cfg.ping_interval = Duration::from_millis(50);
    cfg.stale_timeout = Duration::from_millis(300);
    let source = ExchangeSource::<Kraken>::new(cfg).unwrap();
    let (published, stream, status, _) = run_until(source, "kraken", expected.len() as u64).await;
    assert_same(&published, &expected);
    assert_eq!(stream.reconnects, 1);
    let error = status.last_error().unwrap_or_default();
    assert!(error.contains("stale"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_subscriptions_are_counted_and_bad_frames_dead_lettered() {
    let lines = vec![
        r#"{"error":"Currency pair not supported FOO/USD","method":"subscribe","success":false,"symbol":"FOO/USD","time_in":"x","time_out":"y"}"#.to_string(),
        "{not json".to_string(),
        r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":0.0,"qty":1.0,"ord_type":"limit","trade_id":1,"timestamp":"2025-11-21T04:40:04.590753Z"}]}"#.to_string(),
        r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":95000.0,"qty":1.0,"ord_type":"limit","trade_id":2,"timestamp":"2025-11-21T04:40:04.590753Z"}]}"#.to_string(),
    ];
    let ws = ws_server(vec![Session::SendThenHold(lines)]).await;
    let (rest, _) = serve(|_: &str| Reply::status(500)).await;
    let source =
        ExchangeSource::<Kraken>::new(config(&ws.url, &rest, &[("BTC/USD", "bitcoin")])).unwrap();
    let (published, stream, status, log) = run_until(source, "kraken", 1).await;
    assert_eq!(
        published.iter().map(|t| t.trade_id).collect::<Vec<_>>(),
        [2]
    );
    assert_eq!(stream.subscription_errors, 1);
    let dlq = log.dlq().await;
    assert_eq!(
        dlq.len(),
        2,
        "the frame that is not JSON, the trade priced 0"
    );
    assert!(
        dlq.iter()
            .all(|d| d.original_topic == topics::TRADES && d.source == "kraken")
    );
    assert!(dlq.iter().any(|d| d.reason.contains("not JSON")));
    assert!(dlq.iter().any(|d| d.reason.contains("price")));
    assert_eq!(status.snapshot().rejected, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfillable_gap_is_counted_and_the_stream_goes_on() {
    let lines = lines(&fixture("exchanges/binance_ws.jsonl"));
    let trade_lines: Vec<String> = lines[1..].to_vec();
    let ws = ws_server(sessions(&lines[..1], &trade_lines, 4, 0, 2)).await;
    // The history answers 429 with a Retry-After, then a permanent error.
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let (rest, _) = serve(move |_: &str| {
        if h.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Http(
                429,
                vec![("Retry-After".into(), "0".into())],
                b"{}".to_vec(),
            )
        } else {
            Reply::Http(
                400,
                vec![],
                br#"{"code":-1121,"msg":"Invalid symbol."}"#.to_vec(),
            )
        }
    })
    .await;
    let markets = [("BTCUSDT", "bitcoin"), ("ETHUSDT", "ethereum")];
    let source = ExchangeSource::<Binance>::new(config(&ws.url, &rest, &markets)).unwrap();
    let (published, stream, status, _) = run_until(source, "binance", 11).await;
    assert_eq!(published.len(), 11, "13 trades, 2 lost");
    assert!(stream.gaps_unfillable >= 1, "{stream:?}");
    assert_eq!(stream.trades_missed, 2);
    assert!(hits.load(Ordering::SeqCst) >= 2, "429 retried");
    assert!(
        status
            .last_error()
            .unwrap_or_default()
            .contains("not filled")
    );
}

#[test]
fn reconnect_delays_grow_with_jitter_and_never_give_up() {
    let cfg = ExchangeConfig {
        reconnect_min: Duration::from_secs(1),
        reconnect_max: Duration::from_secs(8),
        ..ExchangeConfig::default()
    };
    let source = ExchangeSource::<Binance>::new(cfg).unwrap();
    let delays: Vec<Duration> = source.backoff().take(40).collect();
    assert_eq!(delays.len(), 40, "no attempt limit");
    assert!(delays[0] >= Duration::from_secs(1) && delays[0] <= Duration::from_secs(2));
    assert!(delays.iter().all(|d| *d <= Duration::from_secs(16)));
    assert!(delays[39] >= Duration::from_secs(8), "reaches the cap");
    // Jitter: two sources do not retry in lockstep.
    let other: Vec<Duration> = source.backoff().take(40).collect();
    assert_ne!(delays, other);
}
