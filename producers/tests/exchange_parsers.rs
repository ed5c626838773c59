//! The exchange parsers: the project's hand-written fixtures (always), and the recorded real
//! messages in `../shared/fixtures/ws` and `../shared/fixtures/rest` (skipped with a message
//! when that folder is absent).

mod support;

use std::collections::HashMap;

use cryptoviz_producers::sources::exchanges::binance::Binance;
use cryptoviz_producers::sources::exchanges::coinbase::Coinbase;
use cryptoviz_producers::sources::exchanges::kraken::Kraken;
use cryptoviz_producers::sources::exchanges::{
    Event, Exchange, ExchangeConfig, Gap, Market, MarketConfig, Markets, Protocol,
};
use cryptoviz_schemas::{CryptoTrade, Message, TakerSide};
use support::{fixture, shared};

const NOW: i64 = 1_790_000_000_000; // 2026-09

fn market(symbol: &str, coin: &str, quote: &str, rest: &str) -> Market {
    Market {
        symbol: symbol.into(),
        coin: coin.into(),
        quote: quote.into(),
        rest_symbol: rest.into(),
    }
}

fn binance_markets() -> Markets {
    Markets::new([
        market("BTCUSDT", "bitcoin", "USDT", "BTCUSDT"),
        market("ETHUSDT", "ethereum", "USDT", "ETHUSDT"),
        market("DOTUSDT", "polkadot", "USDT", "DOTUSDT"),
    ])
}

fn coinbase_markets() -> Markets {
    Markets::new([
        market("BTC-USD", "bitcoin", "USD", "BTC-USD"),
        market("ETH-USD", "ethereum", "USD", "ETH-USD"),
        market("BTC-EUR", "bitcoin", "EUR", "BTC-EUR"),
    ])
}

fn kraken_markets() -> Markets {
    Markets::new([
        market("BTC/USD", "bitcoin", "USD", "XBTUSD"),
        market("BTC/USDT", "bitcoin", "USDT", "XBTUSDT"),
    ])
}

/// Every event of every line of a `.jsonl` capture; a line that fails is a test failure.
fn events<P: Protocol>(text: &[u8], markets: &Markets) -> Vec<Event> {
    let text = std::str::from_utf8(text).unwrap();
    text.lines()
        .enumerate()
        .flat_map(|(i, line)| {
            P::parse(line, markets, NOW).unwrap_or_else(|e| panic!("line {}: {e}", i + 1))
        })
        .collect()
}

fn trades(events: &[Event]) -> Vec<CryptoTrade> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Trades(t) => Some(t.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Trade ids run without a gap or a repeat per symbol; returns the count per symbol.
fn assert_contiguous(trades: &[CryptoTrade]) -> HashMap<String, usize> {
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut count: HashMap<String, usize> = HashMap::new();
    for t in trades {
        if let Some(prev) = last.get(&t.symbol) {
            assert_eq!(t.trade_id, prev + 1, "{} after {prev}", t.symbol);
        }
        last.insert(t.symbol.clone(), t.trade_id);
        *count.entry(t.symbol.clone()).or_default() += 1;
        t.validate_at(NOW).unwrap_or_else(|e| panic!("{t:?}: {e}"));
    }
    count
}

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

// ---- hand-written fixtures -------------------------------------------------------------

#[test]
fn binance_trades_parse_with_the_taker_side_and_the_trade_time() {
    let evs = events::<Binance>(&fixture("exchanges/binance_ws.jsonl"), &binance_markets());
    assert!(matches!(evs[0], Event::Subscribed(_)));
    let trades = trades(&evs);
    assert_eq!(trades.len(), 13);
    assert_contiguous(&trades);
    let first = &trades[0];
    assert_eq!(
        (
            first.exchange.as_str(),
            first.symbol.as_str(),
            first.crypto_id.as_str(),
            first.quote.as_str()
        ),
        ("binance", "BTCUSDT", "bitcoin", "USDT")
    );
    assert_eq!(
        (first.trade_id, first.price, first.quantity),
        (500, 95000.1, 0.01)
    );
    // `m`: the buyer is the maker, so the taker sold.
    assert_eq!(first.side, TakerSide::Sell);
    assert_eq!(trades[1].side, TakerSide::Buy);
    assert_eq!(first.event_time_ms, 1_763_700_000_099, "T, not E");
    assert_eq!(first.receive_time_ms, NOW);
    // Three trades in one millisecond are three trades.
    assert_eq!(
        trades
            .iter()
            .filter(|t| t.event_time_ms == 1_763_700_000_099)
            .count(),
        3
    );
}

#[test]
fn binance_replies_and_errors_are_events_and_garbage_is_a_reason() {
    let m = binance_markets();
    let err = Binance::parse(
        r#"{"error":{"code":2,"msg":"Invalid request"},"id":1}"#,
        &m,
        NOW,
    )
    .unwrap();
    assert!(matches!(&err[0], Event::SubscriptionError(s) if s.contains("Invalid request")));
    assert_eq!(
        Binance::parse(
            r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate"}}"#,
            &m,
            NOW
        )
        .unwrap(),
        vec![Event::Other]
    );
    assert!(
        Binance::parse("{nope", &m, NOW)
            .unwrap_err()
            .contains("not JSON")
    );
    let bad = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"x","q":"1","T":1,"m":true,"M":true}}"#;
    assert!(
        Binance::parse(bad, &m, NOW)
            .unwrap_err()
            .contains("p \"x\"")
    );
    let unknown = r#"{"stream":"xyzusdt@trade","data":{"e":"trade","E":1,"s":"XYZUSDT","t":1,"p":"1","q":"1","T":1,"m":true,"M":true}}"#;
    assert!(
        Binance::parse(unknown, &m, NOW)
            .unwrap_err()
            .contains("XYZUSDT")
    );
    let subscribe = Binance::subscribe(&m);
    assert_eq!(subscribe.len(), 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&subscribe[0]).unwrap(),
        serde_json::json!({"method": "SUBSCRIBE", "params": ["btcusdt@trade", "ethusdt@trade", "dotusdt@trade"], "id": 1})
    );
}

#[test]
fn coinbase_matches_turn_the_maker_side_around_and_heartbeats_announce_ids() {
    let evs = events::<Coinbase>(&fixture("exchanges/coinbase_ws.jsonl"), &coinbase_markets());
    let trades = trades(&evs);
    let counts = assert_contiguous(&trades);
    assert_eq!(
        (counts["BTC-USD"], counts["ETH-USD"]),
        (9, 4),
        "last_match counts"
    );
    let t = &trades[2]; // first match: maker sold, so the taker bought
    assert_eq!(
        (t.trade_id, t.price, t.quantity, t.side),
        (7001, 95000.02, 0.2, TakerSide::Buy)
    );
    assert_eq!(t.event_time_ms, ms("2025-11-21T04:40:00.164Z"));
    assert_eq!(t.quote, "USD");
    assert!(evs.contains(&Event::LastTradeId {
        symbol: "BTC-USD".into(),
        trade_id: 7004
    }));
    let error = Coinbase::parse(r#"{"type":"error","message":"Failed to subscribe","reason":"FOO-USD is not a valid product"}"#, &coinbase_markets(), NOW).unwrap();
    assert!(matches!(&error[0], Event::SubscriptionError(s) if s.contains("FOO-USD")));
}

#[test]
fn kraken_v2_trades_parse_from_json_numbers() {
    let evs = events::<Kraken>(&fixture("exchanges/kraken_ws.jsonl"), &kraken_markets());
    assert!(evs.iter().any(|e| matches!(e, Event::Subscribed(_))));
    let trades = trades(&evs);
    assert_eq!(assert_contiguous(&trades)["BTC/USD"], 9);
    let t = &trades[3];
    assert_eq!(
        (t.trade_id, t.price, t.quantity, t.side),
        (2003, 95000.9, 0.000051, TakerSide::Sell)
    );
    assert_eq!(t.event_time_ms, ms("2025-11-21T04:40:05.562Z"));
    let refused = Kraken::parse(r#"{"error":"Currency pair not supported FOO/USD","method":"subscribe","success":false,"symbol":"FOO/USD","time_in":"x","time_out":"y"}"#, &kraken_markets(), NOW).unwrap();
    assert!(matches!(&refused[0], Event::SubscriptionError(s) if s.contains("FOO/USD")));
    assert_eq!(
        Kraken::parse(r#"{"method":"pong","req_id":2}"#, &kraken_markets(), NOW).unwrap(),
        vec![Event::Other]
    );
}

#[test]
fn rest_histories_parse_and_page_towards_the_gap() {
    let gap = Gap {
        first: 503,
        last: 504,
        after_time_ms: 1_763_700_000_099,
    };
    let btc = market("BTCUSDT", "bitcoin", "USDT", "BTCUSDT");
    assert_eq!(
        Binance::history_url("http://x", &btc, &gap, None),
        "http://x/api/v3/historicalTrades?symbol=BTCUSDT&fromId=503&limit=2"
    );
    let page =
        Binance::parse_history(&fixture("exchanges/binance_history.json"), &btc, NOW).unwrap();
    assert_eq!(
        page.trades.iter().map(|t| t.trade_id).collect::<Vec<_>>(),
        [503, 504]
    );
    assert_eq!(page.trades[1].side, TakerSide::Sell);
    assert_eq!(page.next.as_deref(), Some("505"));
    assert!(
        Binance::parse_history(
            br#"{"code":-1003,"msg":"Way too many requests"}"#,
            &btc,
            NOW
        )
        .unwrap_err()
        .contains("-1003")
    );

    let cb = market("BTC-USD", "bitcoin", "USD", "BTC-USD");
    let gap = Gap {
        first: 7004,
        last: 7005,
        after_time_ms: 0,
    };
    assert_eq!(
        Coinbase::history_url("http://x", &cb, &gap, None),
        "http://x/products/BTC-USD/trades?after=7006&limit=2"
    );
    let page =
        Coinbase::parse_history(&fixture("exchanges/coinbase_history.json"), &cb, NOW).unwrap();
    assert_eq!(page.trades[0].event_time_ms, ms("2025-11-21T04:40:02.100Z"));
    assert_eq!(page.trades[1].side, TakerSide::Sell, "maker bought");
    assert_eq!(page.next.as_deref(), Some("7004"));

    let kr = market("BTC/USD", "bitcoin", "USD", "XBTUSD");
    let gap = Gap {
        first: 2001,
        last: 2003,
        after_time_ms: 1_763_700_004_590,
    };
    assert_eq!(
        Kraken::history_url("http://x", &kr, &gap, None),
        "http://x/0/public/Trades?pair=XBTUSD&since=1763700004&count=1000"
    );
    let page = Kraken::parse_history(&fixture("exchanges/kraken_history.json"), &kr, NOW).unwrap();
    assert_eq!(
        page.trades.iter().map(|t| t.trade_id).collect::<Vec<_>>(),
        [2001, 2003]
    );
    assert_eq!(page.trades[0].event_time_ms, 1_763_700_005_562);
    assert_eq!(page.next.as_deref(), Some("1763700005562702000"));
    assert!(
        Kraken::parse_history(br#"{"error":["EQuery:Unknown asset pair"]}"#, &kr, NOW)
            .unwrap_err()
            .contains("Unknown asset pair")
    );
}

#[test]
fn the_market_table_is_data_and_config_extends_it() {
    let mut config = ExchangeConfig::default();
    let binance = Markets::from_config(Exchange::Binance, &config).unwrap();
    let btc = binance.get("BTCUSDT").unwrap();
    assert_eq!((btc.coin.as_str(), btc.quote.as_str()), ("bitcoin", "USDT"));
    assert!(binance.get("USDTUSDT").is_none());
    let kraken = Markets::from_config(Exchange::Kraken, &config).unwrap();
    assert_eq!(kraken.get("BTC/USD").unwrap().rest_symbol, "XBTUSD");
    assert_eq!(kraken.get("DOGE/USD").unwrap().rest_symbol, "XDGUSD");
    let coinbase = Markets::from_config(Exchange::Coinbase, &config).unwrap();
    assert_eq!(coinbase.get("ETH-USD").unwrap().coin, "ethereum");
    // Config adds a market (quote read from the symbol) and replaces one.
    config.markets.insert(
        "dotusdt".into(),
        MarketConfig {
            coin: "polkadot".into(),
            quote: None,
            rest_symbol: None,
        },
    );
    config.markets.insert(
        "BTCUSDT".into(),
        MarketConfig {
            coin: "bitcoin".into(),
            quote: Some("usdt".into()),
            rest_symbol: None,
        },
    );
    let extended = Markets::from_config(Exchange::Binance, &config).unwrap();
    assert_eq!(extended.len(), binance.len() + 1);
    assert_eq!(extended.get("DOTUSDT").unwrap().quote, "USDT");
    // Only the configured markets.
    config.default_markets = false;
    assert_eq!(
        Markets::from_config(Exchange::Binance, &config)
            .unwrap()
            .len(),
        2
    );
    // A quote that cannot be read names its key.
    config.markets.insert(
        "BTCXYZ".into(),
        MarketConfig {
            coin: "bitcoin".into(),
            quote: None,
            rest_symbol: None,
        },
    );
    let err = Markets::from_config(Exchange::Binance, &config)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sources.binance.markets.BTCXYZ.quote"),
        "{err}"
    );
}

#[test]
fn exchange_config_errors_name_the_key() {
    let mut config = ExchangeConfig {
        ws_url: Some("http://x".into()),
        ..ExchangeConfig::default()
    };
    let err = config.validate(Exchange::Kraken).unwrap_err().to_string();
    assert!(err.contains("sources.kraken.ws_url"), "{err}");
    config.ws_url = None;
    config.stale_timeout = config.ping_interval;
    let err = config.validate(Exchange::Coinbase).unwrap_err().to_string();
    assert!(err.contains("sources.coinbase.stale_timeout"), "{err}");
    config.stale_timeout = std::time::Duration::from_secs(60);
    config.default_markets = false;
    let err = config.validate(Exchange::Binance).unwrap_err().to_string();
    assert!(err.contains("sources.binance.markets"), "{err}");
}

// ---- recorded real messages (../shared/fixtures) ----------------------------------------

#[test]
fn recorded_binance_trade_streams_parse_without_a_gap() {
    let Some(part1) = shared("ws/binance/spot_btcusdt_trade_2024-08-08_part1.jsonl") else {
        return;
    };
    let part2 = shared("ws/binance/spot_btcusdt_trade_2024-08-09_part2.jsonl").unwrap();
    let m = binance_markets();
    let mut all = trades(&events::<Binance>(&part1, &m));
    all.extend(trades(&events::<Binance>(&part2, &m)));
    assert_eq!(all.len(), 9_757 + 10_147);
    assert_eq!(assert_contiguous(&all)["BTCUSDT"], 19_904);
    assert_eq!(
        (all[0].trade_id, all.last().unwrap().trade_id),
        (3_735_683_259, 3_735_703_162)
    );
    assert_eq!(all[0].price, 61_837.63);
    // The 2026 capture: two symbols interleaved with depth updates.
    let recent = shared("ws/binance/spot_btc_eth_trade_depth100ms_2026-07-07.jsonl").unwrap();
    let counts = assert_contiguous(&trades(&events::<Binance>(&recent, &m)));
    assert_eq!(counts.values().sum::<usize>(), 1_163);
    // aggTrade and kline are not trades: ignored, not rejected.
    let agg =
        shared("ws/binance/spot_btc_eth_dot_aggTrade_kline1m_depth_2021-04-04.jsonl").unwrap();
    assert!(trades(&events::<Binance>(&agg, &m)).is_empty());
}

#[test]
fn recorded_coinbase_exchange_matches_and_heartbeats_parse() {
    let Some(text) =
        shared("ws/coinbase/exchange_btc-usd_eth-usd_level2_50_matches_heartbeat_2026-07-07.jsonl")
    else {
        return;
    };
    let m = coinbase_markets();
    let evs = events::<Coinbase>(&text, &m);
    let counts = assert_contiguous(&trades(&evs));
    // 435 matches + one last_match per product.
    assert_eq!(counts.values().sum::<usize>(), 437);
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e, Event::LastTradeId { .. }))
            .count(),
        118
    );
    // The 2021 capture quotes other products: none of them is ours, so its matches are
    // rejected as unsubscribed, never mistaken for ours.
    let old =
        shared("ws/coinbase/exchange_5products-a_level2_ticker_matches_2021-04-17.jsonl").unwrap();
    let dash = Markets::new([
        market("DASH-BTC", "dash", "BTC", "DASH-BTC"),
        market("SKL-BTC", "skale", "BTC", "SKL-BTC"),
        market("NMR-EUR", "numeraire", "EUR", "NMR-EUR"),
        market("YFI-BTC", "yearn-finance", "BTC", "YFI-BTC"),
        market("CRV-EUR", "curve-dao-token", "EUR", "CRV-EUR"),
    ]);
    let counts = assert_contiguous(&trades(&events::<Coinbase>(&old, &dash)));
    assert_eq!(counts.values().sum::<usize>(), 31 + 5);
}

#[test]
fn recorded_kraken_v2_trades_parse_with_their_trailing_zeros() {
    let Some(text) = shared("ws/kraken/v2_btc-usd_book10_trade_2026-07-07.jsonl") else {
        return;
    };
    let evs = events::<Kraken>(&text, &kraken_markets());
    let trades = trades(&evs);
    assert_eq!(assert_contiguous(&trades)["BTC/USD"], 12);
    assert_eq!(
        (trades[0].trade_id, trades[11].trade_id),
        (103_436_768, 103_436_779)
    );
    assert_eq!(trades[3].quantity, 0.000051);
}

#[test]
fn recorded_rest_histories_parse() {
    let Some(body) = shared("rest/binance/trades_BTCUSDT_2020-08-31.json") else {
        return;
    };
    let btc = market("BTCUSDT", "bitcoin", "USDT", "BTCUSDT");
    let page = Binance::parse_history(&body, &btc, NOW).unwrap();
    assert_eq!(assert_contiguous(&page.trades)["BTCUSDT"], 1000);
    assert_eq!(page.next.as_deref(), Some("399089278"));
    let page = Binance::parse_history(
        &shared("rest/binance/historicalTrades_BTCUSDT_2021-10-22.json").unwrap(),
        &btc,
        NOW,
    )
    .unwrap();
    assert_eq!(page.trades.len(), 10);
    let ban = shared("rest/binance/error_-1003_418-ip-ban_2018-12-11.json").unwrap();
    assert!(Binance::parse_history(&ban, &btc, NOW).is_err());

    let eur = market("BTC-EUR", "bitcoin", "EUR", "BTC-EUR");
    let mut page = Coinbase::parse_history(
        &shared("rest/coinbase/trades_BTC-EUR_2020-02-17.json").unwrap(),
        &eur,
        NOW,
    )
    .unwrap();
    assert_eq!(
        page.next.as_deref(),
        Some("24169618"),
        "newest first: the next page is below"
    );
    page.trades.reverse();
    assert_eq!(assert_contiguous(&page.trades)["BTC-EUR"], 100);
    assert_eq!(
        page.trades[99].event_time_ms,
        ms("2020-02-17T07:23:16.353Z")
    );

    let xbt = market("BTC/USDT", "bitcoin", "USDT", "XBTUSDT");
    let page = Kraken::parse_history(
        &shared("rest/kraken/Trades_XBTUSDT_2025-11-10.json").unwrap(),
        &xbt,
        NOW,
    )
    .unwrap();
    assert_eq!(assert_contiguous(&page.trades)["BTC/USDT"], 1000);
    assert_eq!(page.trades[0].trade_id, 10_218_208);
    assert_eq!(page.trades[0].event_time_ms, 1_762_795_433_971);
    assert_eq!(page.next.as_deref(), Some("1762820035982277754"));
}
