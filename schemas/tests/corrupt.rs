//! Corrupt, short and random bytes give errors, never panics.

mod common;

use common::*;
use cryptoviz_schemas::{
    CryptoNews, CryptoPrice, CryptoTrade, DlqRecord, Error, MarketSentiment, Message, decode,
    schema_id, to_bytes,
};

#[test]
fn short_frames_are_too_short() {
    for len in 0..5 {
        let bytes = vec![0u8; len];
        assert_eq!(schema_id(&bytes), Err(Error::TooShort { len, need: 5 }));
        assert_eq!(
            decode::<CryptoPrice>(&bytes),
            Err(Error::TooShort { len, need: 5 })
        );
    }
}

#[test]
fn bad_magic_and_unknown_id() {
    let mut bytes = to_bytes(&price_full());
    bytes[0] = 0x7b; // a JSON '{'
    assert_eq!(decode::<CryptoPrice>(&bytes), Err(Error::BadMagic(0x7b)));
    assert_eq!(
        decode::<CryptoPrice>(&frame(999, b"")),
        Err(Error::UnknownSchemaId(999))
    );
}

fn all_prefixes_fail<M: Message>(msg: &M) {
    let bytes = to_bytes(msg);
    assert!(decode::<M>(&bytes).is_ok());
    for len in 0..bytes.len() {
        assert!(decode::<M>(&bytes[..len]).is_err(), "prefix {len} decoded");
    }
}

#[test]
fn every_truncation_fails() {
    all_prefixes_fail(&price_full());
    all_prefixes_fail(&price_minimal());
    all_prefixes_fail(&news_full());
    all_prefixes_fail(&news_minimal());
    all_prefixes_fail(&sentiment());
    all_prefixes_fail(&dlq());
}

#[test]
fn huge_declared_lengths_fail_without_allocating() {
    // i64::MAX as zig-zag varint.
    let huge = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert_eq!(
        decode::<CryptoPrice>(&frame(CryptoPrice::SCHEMA_ID, &huge)),
        Err(Error::Truncated {
            at: 0,
            what: "crypto_id"
        })
    );
    // DLQ payload (bytes) with a huge length after two valid strings.
    let mut datum = vec![2, b'a', 2, b'b'];
    datum.extend_from_slice(&huge);
    assert_eq!(
        decode::<DlqRecord>(&frame(4, &datum)),
        Err(Error::Truncated {
            at: 4,
            what: "payload"
        })
    );
    // News coins: a block count far larger than the input.
    let mut n = news_minimal();
    n.coins.clear();
    let mut bytes = to_bytes(&n);
    bytes.pop();
    bytes.extend_from_slice(&huge);
    assert!(matches!(
        decode::<CryptoNews>(&bytes),
        Err(Error::Truncated { what: "coins", .. })
    ));
}

#[test]
fn specific_corruptions_have_readable_errors() {
    // Union index 2 in `market_cap`.
    let mut datum = Vec::new();
    price_minimal().encode_datum(&mut datum);
    let p = price_minimal();
    let mut head = Vec::new();
    for s in [&p.crypto_id, &p.symbol, &p.name, &p.source] {
        head.push((s.len() * 2) as u8);
        head.extend_from_slice(s.as_bytes());
    }
    head.extend_from_slice(&p.price_usd.to_le_bytes());
    assert_eq!(&datum[..head.len()], head.as_slice());
    datum[head.len()] = 4;
    let err = decode::<CryptoPrice>(&frame(CryptoPrice::SCHEMA_ID, &datum)).expect_err("bad union");
    assert_eq!(
        err,
        Error::BadUnionIndex {
            what: "market_cap",
            index: 2
        }
    );
    assert_eq!(err.to_string(), "bad union branch index 2 for `market_cap`");

    // Invalid UTF-8 in `symbol`.
    let err = decode::<CryptoPrice>(&frame(CryptoPrice::SCHEMA_ID, &[2, b'a', 2, 0xff]))
        .expect_err("utf8");
    assert_eq!(err, Error::InvalidUtf8 { what: "symbol" });

    // Negative string length.
    let err = decode::<MarketSentiment>(&frame(3, &[1])).expect_err("negative");
    assert_eq!(err, Error::NegativeLength { what: "source" });
    assert_eq!(err.to_string(), "negative length for `source`");
}

fn check_no_panic<M: Message>(bytes: &[u8]) {
    if let Ok(m) = decode::<M>(bytes) {
        // Whatever decoded must re-encode to something that decodes to the same bytes.
        let again = to_bytes(&m);
        let m2 = decode::<M>(&again).expect("re-encoded record decodes");
        assert_eq!(to_bytes(&m2), again);
    }
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut ok = 0usize;
    for _ in 0..5000 {
        let len = rng.below(96) as usize;
        let raw = rng.bytes(len);
        if raw.first().is_some_and(|&b| b != 0) {
            assert!(decode::<CryptoPrice>(&raw).is_err());
        }
        let id = 1 + rng.below(6) as u32;
        let framed = frame(id, &raw);
        check_no_panic::<CryptoPrice>(&framed);
        check_no_panic::<CryptoNews>(&framed);
        check_no_panic::<DlqRecord>(&framed);
        check_no_panic::<MarketSentiment>(&framed);
        check_no_panic::<CryptoTrade>(&framed);
        ok += usize::from(decode::<CryptoPrice>(&frame(CryptoPrice::SCHEMA_ID, &raw)).is_ok());
    }
    assert!(ok < 50, "{ok} random datums decoded as prices");
}

#[test]
fn mutated_valid_frames_never_panic() {
    let mut rng = XorShift(0xdead_beef_cafe_f00d);
    let frames = [
        to_bytes(&price_full()),
        to_bytes(&news_full()),
        to_bytes(&sentiment()),
        to_bytes(&dlq()),
        to_bytes(&trade()),
    ];
    for _ in 0..2000 {
        for f in &frames {
            let mut bytes = f.clone();
            for _ in 0..=rng.below(3) {
                let i = rng.below(bytes.len() as u64) as usize;
                bytes[i] = rng.next_u64() as u8;
            }
            check_no_panic::<CryptoPrice>(&bytes);
            check_no_panic::<CryptoNews>(&bytes);
            check_no_panic::<MarketSentiment>(&bytes);
            check_no_panic::<DlqRecord>(&bytes);
            check_no_panic::<CryptoTrade>(&bytes);
        }
    }
}
