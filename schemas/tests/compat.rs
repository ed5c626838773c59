//! Round trips, and proof that the hand-written codec is byte-identical to `apache-avro`.

mod common;

use apache_avro::{from_avro_datum, to_avro_datum, types::Value};
use common::*;
use cryptoviz_schemas::{
    CryptoNews, CryptoPrice, CryptoTrade, DlqRecord, Error, MarketSentiment, Message, TakerSide,
    decode, decode_into, encode, schema_id, to_bytes, topics,
};

/// Our datum == apache-avro's datum, apache-avro reads ours back to the same value, and both
/// our fast path and `from_avro_value` give back the record.
fn assert_compat<M: Message + PartialEq + std::fmt::Debug + Clone>(msg: &M, value: Value) {
    let theirs = to_avro_datum(M::schema(), value.clone()).expect("apache-avro encodes");
    let mut ours = Vec::new();
    msg.encode_datum(&mut ours);
    assert_eq!(ours, theirs, "datum bytes differ from apache-avro");

    let read = from_avro_datum(M::schema(), &mut ours.as_slice(), None).expect("apache reads");
    assert_eq!(read, value);
    assert_eq!(&M::from_avro_value(read).expect("from value"), msg);
    assert_eq!(&M::decode_datum(&theirs).expect("fast decode"), msg);
}

#[test]
fn price_bytes_match_apache_avro() {
    for p in [price_full(), price_minimal()] {
        assert_compat(&p, price_value(&p));
    }
    let mut partial = price_full();
    partial.market_cap = None;
    partial.atl = None;
    partial.timestamp_ms = -1; // exercises negative zig-zag
    assert_compat(&partial, price_value(&partial));
}

#[test]
fn news_bytes_match_apache_avro() {
    for n in [news_full(), news_minimal()] {
        assert_compat(&n, news_value(&n));
    }
}

#[test]
fn sentiment_and_dlq_bytes_match_apache_avro() {
    let mut m = sentiment();
    assert_compat(&m, sentiment_value(&m));
    m.value = i32::MIN;
    assert_compat(&m, sentiment_value(&m));
    let mut d = dlq();
    assert_compat(&d, dlq_value(&d));
    d.payload = vec![];
    d.reason = "x".repeat(300); // two-byte length prefix
    assert_compat(&d, dlq_value(&d));
}

#[test]
fn trade_bytes_match_apache_avro() {
    let mut t = trade();
    assert_compat(&t, trade_value(&t));
    t.side = TakerSide::Buy;
    t.trade_id = 0;
    t.symbol = "BTC/USD".into();
    assert_compat(&t, trade_value(&t));
    // A side index outside the enum is an error, not a panic or a default.
    let mut datum = Vec::new();
    t.encode_datum(&mut datum);
    let side_at = datum.len() - 2 * 6 - 1; // two 6-byte timestamps follow the side
    assert_eq!(datum[side_at], 0);
    datum[side_at] = 4; // zig-zag(2)
    assert!(CryptoTrade::decode_datum(&datum).is_err());
}

#[test]
fn a_price_decoded_into_a_used_record_keeps_nothing_of_it() {
    let (full, minimal) = (price_full(), price_minimal());
    // Over a record with every optional field set, then back: each equals a fresh decode.
    let mut reused = full.clone();
    for want in [&minimal, &full, &minimal] {
        decode_into(&to_bytes(want), &mut reused).expect("decodes");
        assert_eq!(&reused, want);
    }
    // Another record type's frame is an error, as for `decode`.
    assert!(decode_into(&to_bytes(&news_full()), &mut reused).is_err());
}

fn assert_round_trip<M: Message + PartialEq + std::fmt::Debug>(msg: &M) {
    let bytes = to_bytes(msg);
    assert_eq!(bytes[0], 0);
    assert_eq!(schema_id(&bytes), Ok(M::SCHEMA_ID));
    assert_eq!(&decode::<M>(&bytes).expect("decodes"), msg);
}

#[test]
fn every_type_round_trips_through_the_wire() {
    assert_round_trip(&price_full());
    assert_round_trip(&price_minimal());
    assert_round_trip(&news_full());
    assert_round_trip(&news_minimal());
    assert_round_trip(&sentiment());
    assert_round_trip(&dlq());
    assert_round_trip(&trade());
}

#[test]
fn encode_appends_and_reuses_the_buffer() {
    let mut buf = Vec::new();
    encode(&price_full(), &mut buf);
    let first = buf.clone();
    encode(&price_minimal(), &mut buf);
    assert_eq!(&buf[..first.len()], first.as_slice());
    assert_eq!(
        decode::<CryptoPrice>(&buf[first.len()..]),
        Ok(price_minimal())
    );
    buf.clear();
    encode(&price_full(), &mut buf);
    assert_eq!(buf, first);
}

#[test]
fn frame_header_is_confluent() {
    let bytes = to_bytes(&news_minimal());
    assert_eq!(&bytes[..5], &[0, 0, 0, 0, 2]);
    assert_eq!(&to_bytes(&sentiment())[..5], &[0, 0, 0, 0, 3]);
    assert_eq!(&to_bytes(&dlq())[..5], &[0, 0, 0, 0, 4]);
}

#[test]
fn negative_block_counts_are_read_like_apache_avro() {
    let n = news_full();
    let mut body = n.clone();
    body.coins.clear();
    let mut datum = Vec::new();
    body.encode_datum(&mut datum);
    datum.pop(); // drop the empty-array terminator, then write the blocks by hand
    // Block 1: count -2 with byte size; block 2: count 1; then 0.
    datum.extend_from_slice(&[3, 34]); // zig-zag(-2) = 3, size 17 -> 34
    for c in &n.coins[..2] {
        datum.push((c.len() * 2) as u8);
        datum.extend_from_slice(c.as_bytes());
    }
    datum.push(2);
    datum.push((n.coins[2].len() * 2) as u8);
    datum.extend_from_slice(n.coins[2].as_bytes());
    datum.push(0);

    let ours = CryptoNews::decode_datum(&datum).expect("fast path reads blocks");
    let theirs = from_avro_datum(CryptoNews::schema(), &mut datum.as_slice(), None)
        .expect("apache reads blocks");
    assert_eq!(CryptoNews::from_avro_value(theirs), Ok(ours.clone()));
    assert_eq!(ours.coins, n.coins);
    assert_eq!(ours.guid, n.guid);
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = to_bytes(&sentiment());
    bytes.push(0);
    assert_eq!(
        decode::<MarketSentiment>(&bytes),
        Err(Error::TrailingBytes(1))
    );
}

#[test]
fn topics_and_ids() {
    assert_eq!(
        topics::ALL,
        [
            "crypto-prices",
            "crypto-news",
            "crypto-market-sentiment",
            "crypto-dlq",
            "crypto-trades"
        ]
    );
    assert_eq!(
        [
            CryptoPrice::TOPIC,
            CryptoNews::TOPIC,
            MarketSentiment::TOPIC,
            DlqRecord::TOPIC,
            CryptoTrade::TOPIC
        ],
        topics::ALL
    );
    assert_eq!(
        [
            CryptoPrice::SCHEMA_ID,
            CryptoNews::SCHEMA_ID,
            MarketSentiment::SCHEMA_ID,
            DlqRecord::SCHEMA_ID,
            CryptoTrade::SCHEMA_ID
        ],
        [5, 2, 3, 4, 6]
    );
    for (name, schema) in [
        (CryptoPrice::FULL_NAME, CryptoPrice::schema()),
        (CryptoNews::FULL_NAME, CryptoNews::schema()),
        (MarketSentiment::FULL_NAME, MarketSentiment::schema()),
        (DlqRecord::FULL_NAME, DlqRecord::schema()),
        (CryptoTrade::FULL_NAME, CryptoTrade::schema()),
    ] {
        assert_eq!(
            schema.name().map(|n| n.fullname(None)).as_deref(),
            Some(name)
        );
    }
}
