//! JSONL: one price record per line, a JSON object with the schema's field names —
//! `crypto_id`, `symbol`, `name`, `source`, `price_usd`, `market_cap`, `volume_24h`,
//! `change_1h`, `change_24h`, `change_7d`, `ath`, `atl`, `circulating_supply`, `timestamp`,
//! `volume`, `open_usd`, `high_usd`, `low_usd` — so a line may be a quote or a candle.
//!
//! - `timestamp` is an RFC 3339 / ISO-8601 string or an epoch number in milliseconds (seconds,
//!   microseconds and nanoseconds are recognised by magnitude); `timestamp_ms`, the name in
//!   the JSON of a dead letter, is accepted too.
//! - `crypto_id`, `symbol`, `source` and `price_usd` are required, but `--coin`, `--symbol`
//!   and `--source` fill in a missing `crypto_id`, `symbol` or `source`; a missing `name` is
//!   the known coin's name, else empty. `null` is the same as absent.
//! - **Unknown fields are ignored**, as is usual for JSON lines (exports carry extra columns):
//!   a misspelt optional field is therefore silently absent, while a misspelt required one is
//!   reported as missing.
//!
//! Parsing borrows the line's strings (no allocation per field unless it has escapes). A plain
//! line is read by `scan`, a one-pass scanner; anything it does not handle, by serde_json.

mod scan;

use std::borrow::Cow;
use std::fmt;

use cryptoviz_schemas::CryptoPrice;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::{LineError, Series, time};

#[derive(Debug, Default, PartialEq, Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    crypto_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    symbol: Option<Text<'a>>,
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    source: Option<Text<'a>>,
    #[serde(default)]
    price_usd: Option<f64>,
    #[serde(default)]
    market_cap: Option<f64>,
    #[serde(default)]
    volume_24h: Option<f64>,
    #[serde(default)]
    change_1h: Option<f64>,
    #[serde(default)]
    change_24h: Option<f64>,
    #[serde(default)]
    change_7d: Option<f64>,
    #[serde(default)]
    ath: Option<f64>,
    #[serde(default)]
    atl: Option<f64>,
    #[serde(default)]
    circulating_supply: Option<f64>,
    #[serde(default, alias = "timestamp_ms")]
    timestamp: Option<Timestamp>,
    #[serde(default)]
    volume: Option<f64>,
    #[serde(default)]
    open_usd: Option<f64>,
    #[serde(default)]
    high_usd: Option<f64>,
    #[serde(default)]
    low_usd: Option<f64>,
}

/// A string borrowed from the line unless it has escapes. (`#[serde(borrow)]` on an
/// `Option<Cow<str>>` would always allocate.)
#[derive(Debug, PartialEq)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// An event time in ms, from a JSON string (ISO-8601 or a number in quotes) or number.
#[derive(Debug, PartialEq)]
struct Timestamp(i64);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time or epoch milliseconds")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(time::epoch_int_to_ms(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                let v = i64::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))?;
                self.visit_i64(v)
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                time::epoch_float_to_ms(v)
                    .map(Timestamp)
                    .ok_or_else(|| E::custom(format!("{v} is not a time")))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                time::parse_time(v).map(Timestamp).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// The record of one line, written over `record` (whose strings keep their allocations: a
/// bulk import reuses its records instead of allocating four strings per line). On error
/// `record` holds a mix of the line and what it held before.
pub(super) fn parse_into(
    bytes: &[u8],
    defaults: &Series,
    record: &mut CryptoPrice,
) -> Result<(), LineError> {
    let line = match scan::scan(bytes) {
        Some(line) => line,
        None => serde_json::from_slice(bytes).map_err(|e| {
            // serde_json counts lines within the input, which is one line here.
            let msg = e.to_string().replace(" at line 1 column ", " at column ");
            LineError::Row(format!("invalid JSON: {msg}"))
        })?,
    };
    let text = |field: &'static str,
                v: &Option<Text<'_>>,
                default: &str,
                out: &mut String|
     -> Result<(), LineError> {
        let v = match v {
            Some(v) => v.0.as_ref(),
            None if !default.is_empty() => default,
            None => return Err(LineError::Row(format!("missing field `{field}`"))),
        };
        out.clear();
        out.push_str(v);
        Ok(())
    };
    // Every field is named here, so a field added to the schema cannot be left stale.
    let CryptoPrice {
        crypto_id,
        symbol,
        name,
        source,
        price_usd,
        market_cap,
        volume_24h,
        change_1h,
        change_24h,
        change_7d,
        ath,
        atl,
        circulating_supply,
        timestamp_ms,
        volume,
        open_usd,
        high_usd,
        low_usd,
    } = record;
    text("crypto_id", &line.crypto_id, &defaults.crypto_id, crypto_id)?;
    text("symbol", &line.symbol, &defaults.symbol, symbol)?;
    text("source", &line.source, &defaults.source, source)?;
    *price_usd = line
        .price_usd
        .ok_or_else(|| LineError::Row("missing field `price_usd`".into()))?;
    *timestamp_ms = line
        .timestamp
        .ok_or_else(|| LineError::Row("missing field `timestamp`".into()))?
        .0;
    let display_name = match &line.name {
        Some(n) => n.0.as_ref(),
        None if *crypto_id == defaults.crypto_id => defaults.name.as_str(),
        None => known_name(crypto_id),
    };
    name.clear();
    name.push_str(display_name);
    *market_cap = line.market_cap;
    *volume_24h = line.volume_24h;
    *change_1h = line.change_1h;
    *change_24h = line.change_24h;
    *change_7d = line.change_7d;
    *ath = line.ath;
    *atl = line.atl;
    *circulating_supply = line.circulating_supply;
    *volume = line.volume;
    *open_usd = line.open_usd;
    *high_usd = line.high_usd;
    *low_usd = line.low_usd;
    Ok(())
}

/// The display name of a known coin id (top 20), else empty.
fn known_name(crypto_id: &str) -> &'static str {
    static NAMES: std::sync::LazyLock<std::collections::HashMap<String, String>> =
        std::sync::LazyLock::new(|| super::top20().into_iter().map(|c| (c.id, c.name)).collect());
    NAMES.get(crypto_id).map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Format, HistoryReader, RowError};
    use super::*;

    const T: i64 = 1_677_628_800_000; // 2023-03-01T00:00:00Z

    fn lines(text: &str) -> Vec<Result<CryptoPrice, RowError>> {
        read(Format::Jsonl, Series::default(), text)
    }

    #[test]
    fn rfc3339_and_epoch_ms_timestamps() {
        let rows = lines(concat!(
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"binance","price_usd":23142.31,"volume_24h":1e9,"timestamp":"2023-03-01T00:00:00Z"}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"binance","price_usd":23142.31,"timestamp":1677628800123}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"binance","price_usd":1,"timestamp":"2023-03-01T01:00:00.5+01:00"}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"binance","price_usd":1,"timestamp_ms":1677628800000}"#,
        ));
        let times: Vec<i64> = rows
            .iter()
            .map(|r| r.as_ref().unwrap().timestamp_ms)
            .collect();
        assert_eq!(times, vec![T, T + 123, T + 500, T]);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.volume_24h, Some(1e9));
        assert_eq!(first.name, "Bitcoin");
        assert_eq!(first.ohlc(), (23142.31, 23142.31, 23142.31, 23142.31));
    }

    #[test]
    fn every_schema_field_is_read() {
        let rows = lines(
            r#"{"crypto_id":"x","symbol":"X","name":"Ex","source":"s","price_usd":2,"market_cap":3,"volume_24h":4,"change_1h":-1,"change_24h":2.5,"change_7d":null,"ath":9,"atl":0.1,"circulating_supply":7,"timestamp":"2023-03-01T00:00:00Z","volume":5,"open_usd":1,"high_usd":3,"low_usd":0.5,"extra":{"ignored":[1,2]}}"#,
        );
        let want = CryptoPrice {
            crypto_id: "x".into(),
            symbol: "X".into(),
            name: "Ex".into(),
            source: "s".into(),
            price_usd: 2.0,
            market_cap: Some(3.0),
            volume_24h: Some(4.0),
            change_1h: Some(-1.0),
            change_24h: Some(2.5),
            change_7d: None,
            ath: Some(9.0),
            atl: Some(0.1),
            circulating_supply: Some(7.0),
            timestamp_ms: T,
            volume: Some(5.0),
            open_usd: Some(1.0),
            high_usd: Some(3.0),
            low_usd: Some(0.5),
        };
        assert_eq!(rows[0].as_ref().unwrap(), &want);
    }

    #[test]
    fn a_record_read_into_again_keeps_nothing_of_the_previous_line() {
        let text = concat!(
            r#"{"crypto_id":"x","symbol":"X","name":"Ex","source":"s","price_usd":2,"market_cap":3,"volume_24h":4,"change_1h":-1,"change_24h":2.5,"change_7d":1,"ath":9,"atl":0.1,"circulating_supply":7,"timestamp":"2023-03-01T00:00:00Z","volume":5,"open_usd":1,"high_usd":3,"low_usd":0.5}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","price_usd":3,"timestamp":1677628800001}"#,
            "\n",
            r#"{"crypto_id":"y","symbol":"Y","source":"s","price_usd":4,"timestamp":1677628800002}"#,
            "\n",
        );
        let defaults = Series {
            symbol: "DEF".into(),
            source: "flag".into(),
            ..Series::default()
        };
        let mut reader = HistoryReader::new(text.as_bytes(), Format::Jsonl, defaults.clone(), NOW);
        let mut record = CryptoPrice::default();
        let mut reused = Vec::new();
        while let Some(row) = reader.read_into(&mut record) {
            row.unwrap().unwrap();
            reused.push(record.clone());
        }
        // Each equals what a fresh record of the same line holds.
        let fresh: Vec<CryptoPrice> = read(Format::Jsonl, defaults, text)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(reused.len(), 3);
        assert_eq!(reused, fresh);
        assert_eq!(reused[1].symbol, "DEF");
        assert_eq!(reused[1].name, "Bitcoin");
        assert_eq!(reused[1].market_cap, None);
        assert_eq!(reused[2].name, "");
        assert_eq!(reused[2].low_usd, None);
    }

    #[test]
    fn the_record_json_of_a_dead_letter_reads_back() {
        let record = CryptoPrice {
            crypto_id: "bitcoin".into(),
            symbol: "BTC".into(),
            name: "Bitcoin".into(),
            source: "coingecko".into(),
            price_usd: 23_000.5,
            timestamp_ms: T,
            ..CryptoPrice::default()
        };
        let text = serde_json::to_string(&record).unwrap();
        assert_eq!(lines(&text)[0].as_ref().unwrap(), &record);
    }

    #[test]
    fn missing_fields_and_bad_values_are_named() {
        let rows = lines(concat!(
            r#"{"symbol":"BTC","source":"s","price_usd":1,"timestamp":1677628800000}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"s","timestamp":1677628800000}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"s","price_usd":1}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"s","price_usd":"1","timestamp":1677628800000}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"s","price_usd":1,"timestamp":"yesterday"}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"s","price_usd":-3,"timestamp":1677628800000}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"s","price_usd":1.5,"open_usd":1,"high_usd":0.5,"low_usd":2,"timestamp":1677628800000}"#,
            "\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"s","price_usd":1.5,"open_usd":1,"timestamp":1677628800000}"#,
            "\n",
            "{not json\n",
            "[1,2]\n",
            r#"{"crypto_id":"bitcoin","symbol":"BTC","source":"s","price_usd":1,"timestamp":1677628800000}"#,
        ));
        assert_eq!(bad_lines(&rows), (1..=10).collect::<Vec<u64>>());
        let reason = |i: usize| rows[i].as_ref().unwrap_err().reason.clone();
        assert_eq!(reason(0), "missing field `crypto_id`");
        assert_eq!(reason(1), "missing field `price_usd`");
        assert_eq!(reason(2), "missing field `timestamp`");
        assert!(
            reason(3).contains("invalid type") && reason(3).contains("column"),
            "{}",
            reason(3)
        );
        assert!(reason(4).contains("yesterday"), "{}", reason(4));
        assert!(reason(5).contains("price_usd"), "{}", reason(5));
        assert!(
            reason(6).contains("low_usd") || reason(6).contains("high_usd"),
            "{}",
            reason(6)
        );
        assert!(reason(7).contains("high_usd"), "{}", reason(7));
        assert!(reason(8).starts_with("invalid JSON"), "{}", reason(8));
        assert!(reason(9).starts_with("invalid JSON"), "{}", reason(9));
        assert!(rows[10].is_ok());
    }

    #[test]
    fn flags_fill_in_missing_identity_fields() {
        let defaults = Series::for_coin("bitcoin", "import", None, None);
        let rows = read(
            Format::Jsonl,
            defaults,
            concat!(
                r#"{"price_usd":1,"timestamp":1677628800000}"#,
                "\n",
                r#"{"crypto_id":"ethereum","symbol":"ETH","price_usd":1,"timestamp":1677628800000}"#,
            ),
        );
        let a = rows[0].as_ref().unwrap();
        assert_eq!(
            (
                a.crypto_id.as_str(),
                a.symbol.as_str(),
                a.name.as_str(),
                a.source.as_str()
            ),
            ("bitcoin", "BTC", "Bitcoin", "import")
        );
        let b = rows[1].as_ref().unwrap();
        assert_eq!(
            (b.crypto_id.as_str(), b.name.as_str()),
            ("ethereum", "Ethereum")
        );
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let rows = lines(
            r#"{"crypto_id":"b\u0069tcoin","symbol":"BTC","source":"s","price_usd":1,"timestamp":1677628800000}"#,
        );
        assert_eq!(rows[0].as_ref().unwrap().crypto_id, "bitcoin");
    }
}
