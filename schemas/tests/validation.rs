//! Semantic validation with a pinned clock.

mod common;

use common::*;
use cryptoviz_schemas::{MIN_TIMESTAMP_MS, Message, ValidationError};

/// A fixed "now", one hour after the samples.
const NOW: i64 = TS + 3_600_000;
const DAY: i64 = 86_400_000;

fn field_of(r: Result<(), ValidationError>) -> &'static str {
    r.expect_err("should be rejected").field
}

#[test]
fn samples_are_valid() {
    assert_eq!(price_full().validate_at(NOW), Ok(()));
    assert_eq!(price_minimal().validate_at(NOW), Ok(()));
    assert_eq!(news_full().validate_at(NOW), Ok(()));
    assert_eq!(news_minimal().validate_at(NOW), Ok(()));
    assert_eq!(sentiment().validate_at(NOW), Ok(()));
    assert_eq!(dlq().validate_at(NOW), Ok(()));
    assert_eq!(trade().validate_at(NOW), Ok(()));
    // The system clock is well past 2023.
    assert_eq!(price_full().validate(), Ok(()));
}

#[test]
fn price_checks() {
    let mut p = price_full();
    p.price_usd = f64::NAN;
    let err = p.validate_at(NOW).expect_err("NaN");
    assert_eq!(
        err.to_string(),
        "field `price_usd`: must be finite, got NaN"
    );
    p.price_usd = -1.0;
    assert_eq!(field_of(p.validate_at(NOW)), "price_usd");
    p.price_usd = 0.0;
    assert_eq!(field_of(p.validate_at(NOW)), "price_usd");

    let mut p = price_full();
    p.crypto_id = String::new();
    assert_eq!(field_of(p.validate_at(NOW)), "crypto_id");
    let mut p = price_full();
    p.symbol = "  ".into();
    assert_eq!(field_of(p.validate_at(NOW)), "symbol");
    let mut p = price_full();
    p.market_cap = Some(-5.0);
    assert_eq!(field_of(p.validate_at(NOW)), "market_cap");
    let mut p = price_full();
    p.volume_24h = Some(f64::INFINITY);
    assert_eq!(field_of(p.validate_at(NOW)), "volume_24h");
    let mut p = price_full();
    p.change_24h = Some(f64::NAN);
    assert_eq!(field_of(p.validate_at(NOW)), "change_24h");
    let mut p = price_full();
    p.change_7d = Some(-60.0); // negative changes are fine
    assert_eq!(p.validate_at(NOW), Ok(()));
}

#[test]
fn candle_checks() {
    // price_full is a candle: open 67,000, high 67,200, low 66,900.5, close 67,123.45.
    assert_eq!(price_full().validate_at(NOW), Ok(()));
    let mut p = price_full();
    p.volume = Some(-1.0);
    assert_eq!(field_of(p.validate_at(NOW)), "volume");
    let mut p = price_full();
    p.high_usd = None;
    let err = p.validate_at(NOW).expect_err("part of a candle");
    assert_eq!(
        err.to_string(),
        "field `high_usd`: a candle needs open_usd, high_usd and low_usd together"
    );
    let mut p = price_full();
    p.low_usd = Some(67_050.0); // above the open
    assert_eq!(field_of(p.validate_at(NOW)), "low_usd");
    let mut p = price_full();
    p.high_usd = Some(67_100.0); // below the close
    assert_eq!(field_of(p.validate_at(NOW)), "high_usd");
    let mut p = price_full();
    p.open_usd = Some(0.0);
    assert_eq!(field_of(p.validate_at(NOW)), "open_usd");
    let mut quote = price_full();
    (quote.open_usd, quote.high_usd, quote.low_usd) = (None, None, None);
    assert_eq!(quote.validate_at(NOW), Ok(()));
    assert_eq!(quote.ohlc(), (67_123.45, 67_123.45, 67_123.45, 67_123.45));
    assert_eq!(
        price_full().ohlc(),
        (67_000.0, 67_200.0, 66_900.5, 67_123.45)
    );
}

#[test]
fn timestamps_must_be_plausible() {
    let mut p = price_full();
    p.timestamp_ms = 631_152_000_000; // 1990-01-01
    let err = p.validate_at(NOW).expect_err("1990");
    assert_eq!(err.field, "timestamp");
    p.timestamp_ms = MIN_TIMESTAMP_MS - 1;
    assert_eq!(field_of(p.validate_at(NOW)), "timestamp");
    p.timestamp_ms = MIN_TIMESTAMP_MS;
    assert_eq!(p.validate_at(NOW), Ok(()));
    p.timestamp_ms = NOW + DAY;
    assert_eq!(p.validate_at(NOW), Ok(()));
    p.timestamp_ms = NOW + DAY + 1;
    assert_eq!(field_of(p.validate_at(NOW)), "timestamp");
    // `now + 1 day` saturates instead of overflowing.
    p.timestamp_ms = i64::MAX;
    assert_eq!(p.validate_at(i64::MAX), Ok(()));
}

#[test]
fn sentiment_value_is_0_to_100() {
    let mut m = sentiment();
    for (v, ok) in [(0, true), (100, true), (101, false), (-1, false)] {
        m.value = v;
        assert_eq!(m.validate_at(NOW).is_ok(), ok, "value {v}");
    }
    m.value = 101;
    assert_eq!(
        m.validate_at(NOW).expect_err("101").to_string(),
        "field `value`: must be within 0..=100, got 101"
    );
}

#[test]
fn news_checks() {
    let mut n = news_full();
    n.sentiment_score = Some(1.5);
    assert_eq!(field_of(n.validate_at(NOW)), "sentiment_score");
    n.sentiment_score = Some(-1.0);
    assert_eq!(n.validate_at(NOW), Ok(()));
    let mut n = news_full();
    n.title = String::new();
    assert_eq!(field_of(n.validate_at(NOW)), "title");
    let mut n = news_full();
    n.link = String::new();
    assert_eq!(field_of(n.validate_at(NOW)), "link");
    let mut n = news_full();
    n.guid = String::new();
    assert_eq!(field_of(n.validate_at(NOW)), "guid");
    let mut n = news_full();
    n.published_at_ms = 0;
    assert_eq!(field_of(n.validate_at(NOW)), "published_at");
}

#[test]
fn trade_checks() {
    let mut t = trade();
    t.price = 0.0;
    assert_eq!(field_of(t.validate_at(NOW)), "price");
    t = trade();
    t.quantity = f64::INFINITY;
    assert_eq!(field_of(t.validate_at(NOW)), "quantity");
    t = trade();
    t.quantity = 0.0;
    assert_eq!(field_of(t.validate_at(NOW)), "quantity");
    t = trade();
    t.trade_id = -1;
    assert_eq!(field_of(t.validate_at(NOW)), "trade_id");
    t = trade();
    t.crypto_id = String::new();
    assert_eq!(field_of(t.validate_at(NOW)), "crypto_id");
    t = trade();
    t.symbol = "BTC\nUSDT".into();
    assert_eq!(field_of(t.validate_at(NOW)), "symbol");
    t = trade();
    t.quote = " ".into();
    assert_eq!(field_of(t.validate_at(NOW)), "quote");
    t = trade();
    t.event_time_ms = MIN_TIMESTAMP_MS - 1;
    assert_eq!(field_of(t.validate_at(NOW)), "event_time");
    t = trade();
    t.receive_time_ms = NOW + 2 * DAY;
    assert_eq!(field_of(t.validate_at(NOW)), "receive_time");
}
