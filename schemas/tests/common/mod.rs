//! Shared fixtures: sample records, their `apache_avro::types::Value` built by hand (an
//! encoder independent of ours), and a tiny deterministic PRNG.
#![allow(dead_code)] // each test binary uses a different subset

use apache_avro::types::Value;
use cryptoviz_schemas::{
    CryptoNews, CryptoPrice, CryptoTrade, DlqRecord, MarketSentiment, TakerSide,
};

/// 2023-11-14T22:13:20Z.
pub(crate) const TS: i64 = 1_700_000_000_000;

pub(crate) fn price_full() -> CryptoPrice {
    CryptoPrice {
        crypto_id: "bitcoin".into(),
        symbol: "BTC".into(),
        name: "Bitcoin".into(),
        source: "coingecko".into(),
        price_usd: 67_123.45,
        market_cap: Some(1.32e12),
        volume_24h: Some(2.5e10),
        change_1h: Some(-0.12),
        change_24h: Some(1.5),
        change_7d: Some(-7.25),
        ath: Some(73_750.07),
        atl: Some(67.81),
        circulating_supply: Some(19_700_000.0),
        timestamp_ms: TS,
        volume: Some(12.5),
        open_usd: Some(67_000.0),
        high_usd: Some(67_200.0),
        low_usd: Some(66_900.5),
    }
}

pub(crate) fn price_minimal() -> CryptoPrice {
    CryptoPrice {
        crypto_id: "ether".into(),
        symbol: "ETH".into(),
        name: "Ξther – «test» 🚀".into(),
        source: "binance".into(),
        price_usd: 3_000.0,
        market_cap: None,
        volume_24h: None,
        change_1h: None,
        change_24h: None,
        change_7d: None,
        ath: None,
        atl: None,
        circulating_supply: None,
        timestamp_ms: TS + 1,
        ..CryptoPrice::default()
    }
}

pub(crate) fn news_full() -> CryptoNews {
    CryptoNews {
        guid: "urn:news:42".into(),
        title: "Bitcoin franchit 70 000 $ — 比特币".into(),
        summary: Some("Résumé avec des accents et un émoji 📈".into()),
        link: "https://example.invalid/a/42".into(),
        source: "rss:coindesk".into(),
        published_at_ms: TS - 60_000,
        fetched_at_ms: TS,
        sentiment_score: Some(0.75),
        sentiment_label: Some("positive".into()),
        coins: vec!["bitcoin".into(), "ethereum".into(), "солана".into()],
    }
}

pub(crate) fn news_minimal() -> CryptoNews {
    CryptoNews {
        guid: "g".into(),
        title: "t".into(),
        summary: None,
        link: "l".into(),
        source: "s".into(),
        published_at_ms: TS,
        fetched_at_ms: TS,
        sentiment_score: None,
        sentiment_label: None,
        coins: vec![],
    }
}

pub(crate) fn sentiment() -> MarketSentiment {
    MarketSentiment {
        source: "alternative.me".into(),
        value: 72,
        classification: "Greed".into(),
        timestamp_ms: TS,
    }
}

pub(crate) fn dlq() -> DlqRecord {
    DlqRecord {
        original_topic: "crypto-prices".into(),
        reason: "truncated datum at byte 3 while reading `symbol`".into(),
        payload: vec![0, 0, 0, 0, 1, 0xff, 0x00, 0x80],
        source: "consumer-window".into(),
        timestamp_ms: TS,
    }
}

pub(crate) fn trade() -> CryptoTrade {
    CryptoTrade {
        exchange: "binance".into(),
        symbol: "BTCUSDT".into(),
        crypto_id: "bitcoin".into(),
        quote: "USDT".into(),
        trade_id: 3_735_683_259,
        price: 61_837.63,
        quantity: 0.02,
        side: TakerSide::Sell,
        event_time_ms: TS,
        receive_time_ms: TS + 12,
    }
}

pub(crate) fn trade_value(t: &CryptoTrade) -> Value {
    let side = match t.side {
        TakerSide::Buy => Value::Enum(0, "buy".into()),
        TakerSide::Sell => Value::Enum(1, "sell".into()),
    };
    record(vec![
        ("exchange", s(&t.exchange)),
        ("symbol", s(&t.symbol)),
        ("crypto_id", s(&t.crypto_id)),
        ("quote", s(&t.quote)),
        ("trade_id", Value::Long(t.trade_id)),
        ("price", Value::Double(t.price)),
        ("quantity", Value::Double(t.quantity)),
        ("side", side),
        ("event_time", Value::TimestampMillis(t.event_time_ms)),
        ("receive_time", Value::TimestampMillis(t.receive_time_ms)),
    ])
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

fn opt_d(v: Option<f64>) -> Value {
    match v {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(d) => Value::Union(1, Box::new(Value::Double(d))),
    }
}

fn opt_s(v: Option<&str>) -> Value {
    match v {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(x) => Value::Union(1, Box::new(s(x))),
    }
}

fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect())
}

pub(crate) fn price_fields(p: &CryptoPrice) -> Vec<(&'static str, Value)> {
    vec![
        ("crypto_id", s(&p.crypto_id)),
        ("symbol", s(&p.symbol)),
        ("name", s(&p.name)),
        ("source", s(&p.source)),
        ("price_usd", Value::Double(p.price_usd)),
        ("market_cap", opt_d(p.market_cap)),
        ("volume_24h", opt_d(p.volume_24h)),
        ("change_1h", opt_d(p.change_1h)),
        ("change_24h", opt_d(p.change_24h)),
        ("change_7d", opt_d(p.change_7d)),
        ("ath", opt_d(p.ath)),
        ("atl", opt_d(p.atl)),
        ("circulating_supply", opt_d(p.circulating_supply)),
        ("timestamp", Value::TimestampMillis(p.timestamp_ms)),
        ("volume", opt_d(p.volume)),
        ("open_usd", opt_d(p.open_usd)),
        ("high_usd", opt_d(p.high_usd)),
        ("low_usd", opt_d(p.low_usd)),
    ]
}

pub(crate) fn price_value(p: &CryptoPrice) -> Value {
    record(price_fields(p))
}

/// The v2 price record: v1 plus `exchange` right after `source`.
pub(crate) fn price_v2_value(p: &CryptoPrice, exchange: Option<&str>) -> Value {
    let mut fields = price_fields(p);
    fields.insert(4, ("exchange", opt_s(exchange)));
    record(fields)
}

pub(crate) fn news_value(n: &CryptoNews) -> Value {
    record(vec![
        ("guid", s(&n.guid)),
        ("title", s(&n.title)),
        ("summary", opt_s(n.summary.as_deref())),
        ("link", s(&n.link)),
        ("source", s(&n.source)),
        ("published_at", Value::TimestampMillis(n.published_at_ms)),
        ("fetched_at", Value::TimestampMillis(n.fetched_at_ms)),
        ("sentiment_score", opt_d(n.sentiment_score)),
        ("sentiment_label", opt_s(n.sentiment_label.as_deref())),
        (
            "coins",
            Value::Array(n.coins.iter().map(|c| s(c)).collect()),
        ),
    ])
}

pub(crate) fn sentiment_value(m: &MarketSentiment) -> Value {
    record(vec![
        ("source", s(&m.source)),
        ("value", Value::Int(m.value)),
        ("classification", s(&m.classification)),
        ("timestamp", Value::TimestampMillis(m.timestamp_ms)),
    ])
}

pub(crate) fn dlq_value(d: &DlqRecord) -> Value {
    record(vec![
        ("original_topic", s(&d.original_topic)),
        ("reason", s(&d.reason)),
        ("payload", Value::Bytes(d.payload.clone())),
        ("source", s(&d.source)),
        ("timestamp", Value::TimestampMillis(d.timestamp_ms)),
    ])
}

/// Frames a datum produced by someone else (e.g. `apache_avro::to_avro_datum`).
pub(crate) fn frame(id: u32, datum: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(datum);
    out
}

/// xorshift64: deterministic, dependency-free garbage.
pub(crate) struct XorShift(pub u64);

impl XorShift {
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
