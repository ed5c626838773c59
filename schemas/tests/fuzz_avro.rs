//! Property-based fuzz tests of the Avro wire codec: arbitrary bytes and mutated valid frames
//! decode to a record or an error, never a panic or a runaway allocation; what decodes
//! re-encodes to a frame that decodes to the same record; arbitrary records round-trip; and
//! validation of whatever decoded never panics.
//!
//! Both decoding paths are covered: the hand-written fast path (the record's own schema id)
//! and `apache-avro` schema resolution (the v1 price id, reached by mutating the id byte).
//!
//! Cases: `PROPTEST_CASES` (default 10,000), seed `PROPTEST_RNG_SEED`. Long run:
//! `PROPTEST_CASES=1000000 cargo test --release --workspace --test fuzz_avro`.

mod common;

#[path = "common/fuzz.rs"]
mod fuzz;

use apache_avro::Schema;
use apache_avro::types::Value;
use common::{frame, price_fields};
use cryptoviz_schemas::{
    CryptoNews, CryptoPrice, DlqRecord, MarketSentiment, Message, Registry, decode, decode_into,
    decode_value, to_bytes,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

fn runner() -> TestRunner {
    fuzz::runner(0xa5a0_f022)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9:/._ -]{0,12}",
        1 => any::<String>(),
        1 => Just(String::new()),
    ]
}

fn opt_f64() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(any::<f64>())
}

fn price() -> impl Strategy<Value = CryptoPrice> {
    (
        (text(), text(), text(), text(), any::<f64>(), any::<i64>()),
        prop::collection::vec(opt_f64(), 12),
    )
        .prop_map(
            |((crypto_id, symbol, name, source, price_usd, ts), o)| CryptoPrice {
                crypto_id,
                symbol,
                name,
                source,
                price_usd,
                market_cap: o[0],
                volume_24h: o[1],
                change_1h: o[2],
                change_24h: o[3],
                change_7d: o[4],
                ath: o[5],
                atl: o[6],
                circulating_supply: o[7],
                timestamp_ms: ts,
                volume: o[8],
                open_usd: o[9],
                high_usd: o[10],
                low_usd: o[11],
            },
        )
}

fn news() -> impl Strategy<Value = CryptoNews> {
    (
        (text(), text(), prop::option::of(text()), text(), text()),
        (
            any::<i64>(),
            any::<i64>(),
            opt_f64(),
            prop::option::of(text()),
        ),
        prop::collection::vec(text(), 0..4),
    )
        .prop_map(
            |((guid, title, summary, link, source), (published, fetched, score, label), coins)| {
                CryptoNews {
                    guid,
                    title,
                    summary,
                    link,
                    source,
                    published_at_ms: published,
                    fetched_at_ms: fetched,
                    sentiment_score: score,
                    sentiment_label: label,
                    coins,
                }
            },
        )
}

fn sentiment() -> impl Strategy<Value = MarketSentiment> {
    (text(), any::<i32>(), text(), any::<i64>()).prop_map(
        |(source, value, classification, timestamp_ms)| MarketSentiment {
            source,
            value,
            classification,
            timestamp_ms,
        },
    )
}

fn dlq() -> impl Strategy<Value = DlqRecord> {
    (
        text(),
        text(),
        prop::collection::vec(any::<u8>(), 0..32),
        text(),
        any::<i64>(),
    )
        .prop_map(
            |(original_topic, reason, payload, source, timestamp_ms)| DlqRecord {
                original_topic,
                reason,
                payload,
                source,
                timestamp_ms,
            },
        )
}

/// The v1 price schema and a v1 frame of `p` (written by `apache-avro`, id 1).
fn v1_frame(p: &CryptoPrice) -> Vec<u8> {
    static V1: std::sync::LazyLock<Schema> = std::sync::LazyLock::new(|| {
        Schema::parse_str(include_str!("../avro/crypto_price.v1.avsc")).expect("v1 parses")
    });
    let Schema::Record(r) = &*V1 else {
        unreachable!("v1 is a record")
    };
    let fields: Vec<(String, Value)> = price_fields(p)
        .into_iter()
        .filter(|(n, _)| r.fields.iter().any(|f| f.name == *n))
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    frame(
        1,
        &apache_avro::to_avro_datum(&V1, Value::Record(fields)).expect("v1 encodes"),
    )
}

/// [`check_decode`] of `bytes` as each record type (over a default-like seed).
fn check_decode_all(bytes: &[u8], now: i64) -> Result<(), TestCaseError> {
    check_decode(bytes, now, &CryptoPrice::default())?;
    check_decode(bytes, now, &CryptoNews::default_for_fuzz())?;
    check_decode(bytes, now, &sentiment_seed())?;
    check_decode(bytes, now, &dlq_seed())
}

/// Decoding `bytes` as `M` by every entry point: never panics; the fast path and the
/// reusing path agree; a decoded record re-encodes to a frame that decodes to itself, and
/// validating it (at any clock) does not panic.
fn check_decode<M: Message + PartialEq + std::fmt::Debug + Clone>(
    bytes: &[u8],
    now_ms: i64,
    seed: &M,
) -> Result<(), TestCaseError> {
    let decoded = decode::<M>(bytes);
    let mut reused = seed.clone();
    let into = decode_into(bytes, &mut reused);
    prop_assert_eq!(
        decoded.is_ok(),
        into.is_ok(),
        "decode and decode_into disagree"
    );
    let _ = decode_value(Registry::builtin(), bytes, M::schema());
    if let Ok(m) = decoded {
        prop_assert_eq!(&to_bytes(&reused), &to_bytes(&m));
        let again = decode::<M>(&to_bytes(&m));
        prop_assert!(again.is_ok(), "re-encoded record does not decode: {:?}", m);
        prop_assert_eq!(to_bytes(&again.unwrap()), to_bytes(&m));
        let _ = m.validate_at(now_ms);
        let _ = m.validate();
    }
    Ok(())
}

/// Arbitrary bytes, mostly behind a valid header so the datum decoder is reached.
fn frame_bytes() -> impl Strategy<Value = Vec<u8>> {
    let datum = prop::collection::vec(any::<u8>(), 0..96);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..16),
        4 => (prop::sample::select(vec![1u32, 2, 3, 4, 5, 6, u32::MAX]), datum)
            .prop_map(|(id, d)| frame(id, &d)),
    ]
}

#[test]
fn arbitrary_bytes_never_panic() {
    runner()
        .run(&(frame_bytes(), any::<i64>()), |(bytes, now)| {
            check_decode_all(&bytes, now)
        })
        .unwrap();
}

/// One edit of a frame.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
    SchemaId(u32),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let m = prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        3 => (any::<usize>(), prop::sample::select(vec![0u8, 1, 2, 0x7f, 0x80, 0xfe, 0xff]))
            .prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..10))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<usize>(), 1..8usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => prop::sample::select(vec![1u32, 2, 3, 4, 5]).prop_map(Mutation::SchemaId),
    ];
    prop::collection::vec(m, 1..4)
}

fn mutate(mut bytes: Vec<u8>, edits: &[Mutation]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match e {
            Mutation::Flip(i, b) => {
                if let Some(x) = bytes.get_mut(i % len) {
                    *x ^= b;
                }
            }
            Mutation::Set(i, b) => {
                if let Some(x) = bytes.get_mut(i % len) {
                    *x = *b;
                }
            }
            Mutation::Insert(i, b) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Mutation::Remove(i, n) => {
                let at = i % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
            Mutation::SchemaId(id) => {
                if bytes.len() >= 5 {
                    bytes[1..5].copy_from_slice(&id.to_be_bytes());
                }
            }
        }
    }
    bytes
}

#[derive(Debug, Clone)]
enum AnyRecord {
    Price(CryptoPrice),
    PriceV1(CryptoPrice),
    News(CryptoNews),
    Sentiment(MarketSentiment),
    Dlq(DlqRecord),
}

fn any_record() -> impl Strategy<Value = AnyRecord> {
    prop_oneof![
        price().prop_map(AnyRecord::Price),
        price().prop_map(AnyRecord::PriceV1),
        news().prop_map(AnyRecord::News),
        sentiment().prop_map(AnyRecord::Sentiment),
        dlq().prop_map(AnyRecord::Dlq),
    ]
}

fn bytes_of(r: &AnyRecord) -> Vec<u8> {
    match r {
        AnyRecord::Price(m) => to_bytes(m),
        AnyRecord::PriceV1(m) => v1_frame(m),
        AnyRecord::News(m) => to_bytes(m),
        AnyRecord::Sentiment(m) => to_bytes(m),
        AnyRecord::Dlq(m) => to_bytes(m),
    }
}

#[test]
fn arbitrary_records_round_trip() {
    runner()
        .run(&any_record(), |r| {
            let bytes = bytes_of(&r);
            // Compared through their encodings: NaN != NaN, but its bits round-trip.
            match &r {
                AnyRecord::Price(_) => {
                    prop_assert_eq!(to_bytes(&decode::<CryptoPrice>(&bytes).unwrap()), bytes)
                }
                AnyRecord::PriceV1(m) => {
                    // v1 has no candle fields: they read back as None.
                    let back = decode::<CryptoPrice>(&bytes).unwrap();
                    let expected = CryptoPrice {
                        volume: None,
                        open_usd: None,
                        high_usd: None,
                        low_usd: None,
                        ..m.clone()
                    };
                    prop_assert_eq!(to_bytes(&back), to_bytes(&expected));
                }
                AnyRecord::News(_) => {
                    prop_assert_eq!(to_bytes(&decode::<CryptoNews>(&bytes).unwrap()), bytes)
                }
                AnyRecord::Sentiment(_) => {
                    prop_assert_eq!(to_bytes(&decode::<MarketSentiment>(&bytes).unwrap()), bytes)
                }
                AnyRecord::Dlq(m) => prop_assert_eq!(&decode::<DlqRecord>(&bytes).unwrap(), m),
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_valid_frames_never_panic() {
    runner()
        .run(
            &(any_record(), mutations(), any::<i64>()),
            |(r, edits, now)| {
                let bytes = mutate(bytes_of(&r), &edits);
                check_decode_all(&bytes, now)
            },
        )
        .unwrap();
}

/// Records to decode over (their strings are overwritten in place).
trait FuzzSeed {
    fn default_for_fuzz() -> Self;
}

impl FuzzSeed for CryptoNews {
    fn default_for_fuzz() -> Self {
        common::news_full()
    }
}

fn sentiment_seed() -> MarketSentiment {
    common::sentiment()
}

fn dlq_seed() -> DlqRecord {
    common::dlq()
}
