//! Schema evolution through the registry: a v2 `CryptoPrice` with an added optional field.

mod common;

use apache_avro::{Schema, to_avro_datum, types::Value};
use common::*;
use cryptoviz_schemas::{
    CryptoNews, CryptoPrice, Error, Message, Registry, decode, decode_value, decode_with_registry,
    to_bytes,
};

const V2_ID: u32 = 101;

const V1_JSON: &str = include_str!("../avro/crypto_price.avsc");

/// The v1 schema JSON with its `fields` edited (not the canonical form, which drops
/// `default` and `logicalType`).
fn edit_v1(edit: impl FnOnce(&mut Vec<serde_json::Value>)) -> String {
    let mut json: serde_json::Value = serde_json::from_str(V1_JSON).expect("v1 is JSON");
    let fields = json["fields"].as_array_mut().expect("fields");
    edit(fields);
    json.to_string()
}

/// v1 plus `exchange` (placed mid-record on purpose: resolution matches by name).
fn v2_json() -> String {
    edit_v1(|fields| {
        let exchange = serde_json::json!(
            {"name": "exchange", "type": ["null", "string"], "default": null}
        );
        fields.insert(4, exchange);
    })
}

fn registry() -> Registry {
    let mut reg = Registry::new();
    reg.register(V2_ID, &v2_json()).expect("v2 registers");
    reg
}

fn v2_frame(p: &CryptoPrice, exchange: Option<&str>) -> Vec<u8> {
    let reg = registry();
    let v2 = reg.get(V2_ID).expect("registered");
    frame(
        V2_ID,
        &to_avro_datum(v2, price_v2_value(p, exchange)).expect("v2 encodes"),
    )
}

#[test]
fn v2_schema_has_the_new_field() {
    let json = v2_json();
    assert!(json.contains("exchange"), "{json}");
    let reg = registry();
    assert_eq!(reg.full_name(V2_ID), Some(CryptoPrice::FULL_NAME));
}

#[test]
fn v1_reader_reads_v2_data_ignoring_the_added_field() {
    let reg = registry();
    for (p, exchange) in [(price_full(), Some("binance")), (price_minimal(), None)] {
        let bytes = v2_frame(&p, exchange);
        assert_eq!(decode_with_registry::<CryptoPrice>(&reg, &bytes), Ok(p));
    }
}

#[test]
fn builtin_registry_reads_version_1_frames() {
    // Data written before volume and candles existed (schema id 1) still decodes, with the
    // new fields defaulted; today's writer uses id 5.
    let v1_json = include_str!("../avro/crypto_price.v1.avsc");
    let v1 = Schema::parse_str(v1_json).expect("v1 parses");
    let mut p = price_full();
    let fields: Vec<(String, Value)> = price_fields(&p)
        .into_iter()
        .take(14)
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    let bytes = frame(
        1,
        &to_avro_datum(&v1, Value::Record(fields)).expect("v1 encodes"),
    );
    (p.volume, p.open_usd, p.high_usd, p.low_usd) = (None, None, None, None);
    assert_eq!(decode::<CryptoPrice>(&bytes), Ok(p));
    assert_eq!(CryptoPrice::SCHEMA_ID, 5);
}

#[test]
fn builtin_registry_does_not_know_v2() {
    let bytes = v2_frame(&price_full(), Some("kraken"));
    assert_eq!(
        decode::<CryptoPrice>(&bytes),
        Err(Error::UnknownSchemaId(V2_ID))
    );
}

#[test]
fn v2_reader_reads_v1_data_with_the_default() {
    let reg = registry();
    let v2_reader = Schema::parse_str(&v2_json()).expect("parses");
    let p = price_full();
    let value = decode_value(&reg, &to_bytes(&p), &v2_reader).expect("resolves");
    let Value::Record(fields) = value else {
        panic!("not a record: {value:?}")
    };
    let exchange = fields.iter().find(|(n, _)| n == "exchange").map(|(_, v)| v);
    assert_eq!(exchange, Some(&Value::Union(0, Box::new(Value::Null))));
    let price = fields
        .iter()
        .find(|(n, _)| n == "price_usd")
        .map(|(_, v)| v);
    assert_eq!(price, Some(&Value::Double(p.price_usd)));
}

#[test]
fn reader_without_ath_reads_v1_data() {
    let reg = Registry::new();
    let json = edit_v1(|fields| fields.retain(|f| f["name"] != "ath"));
    assert!(!json.contains(r#""ath""#), "{json}");
    let reader = Schema::parse_str(&json).expect("parses");
    let p = price_full();
    let Value::Record(fields) = decode_value(&reg, &to_bytes(&p), &reader).expect("resolves")
    else {
        panic!("not a record")
    };
    assert_eq!(fields.len(), 17);
    assert!(fields.iter().all(|(n, _)| n != "ath"));
    let atl = fields.iter().find(|(n, _)| n == "atl").map(|(_, v)| v);
    assert_eq!(atl, Some(&Value::Union(1, Box::new(Value::Double(67.81)))));
}

#[test]
fn another_records_id_is_a_mismatch() {
    let reg = registry();
    let bytes = v2_frame(&price_full(), None);
    assert_eq!(
        decode_with_registry::<CryptoNews>(&reg, &bytes),
        Err(Error::SchemaMismatch {
            expected: "io.cryptoviz.CryptoNews",
            found_id: V2_ID
        })
    );
    assert_eq!(
        decode::<CryptoNews>(&to_bytes(&price_full())),
        Err(Error::SchemaMismatch {
            expected: "io.cryptoviz.CryptoNews",
            found_id: CryptoPrice::SCHEMA_ID
        })
    );
}

#[test]
fn register_rejects_duplicates_and_bad_schemas() {
    let mut reg = registry();
    assert_eq!(
        reg.register(V2_ID, &v2_json()),
        Err(Error::DuplicateSchemaId(V2_ID))
    );
    assert_eq!(
        reg.register(1, &v2_json()),
        Err(Error::DuplicateSchemaId(1))
    );
    assert!(matches!(reg.register(7, "{not json"), Err(Error::Avro(_))));
    assert!(matches!(
        reg.register(8, r#""string""#),
        Err(Error::Avro(_))
    ));
}

#[test]
fn slow_path_rejects_every_truncation_and_trailing_bytes() {
    let reg = registry();
    let bytes = v2_frame(&price_full(), Some("binance"));
    for len in 0..bytes.len() {
        assert!(
            decode_with_registry::<CryptoPrice>(&reg, &bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        decode_with_registry::<CryptoPrice>(&reg, &long),
        Err(Error::TrailingBytes(1))
    );
}

#[test]
fn slow_path_checks_lengths_before_apache_avro_allocates() {
    let reg = registry();
    // crypto_id declares i64::MAX / 2 bytes: must fail on the length, not try to allocate.
    let datum = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, b'a'];
    assert_eq!(
        decode_with_registry::<CryptoPrice>(&reg, &frame(V2_ID, &datum)),
        Err(Error::Truncated {
            at: 0,
            what: "string"
        })
    );
}

#[test]
fn slow_path_survives_garbage() {
    let reg = registry();
    let valid = v2_frame(&price_full(), Some("binance"));
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let mut bytes = valid.clone();
        for _ in 0..=rng.below(4) {
            let i = 5 + rng.below((bytes.len() - 5) as u64) as usize;
            bytes[i] = rng.next_u64() as u8;
        }
        let _ = decode_with_registry::<CryptoPrice>(&reg, &bytes);
        let len = rng.below(80) as usize;
        let _ = decode_with_registry::<CryptoPrice>(&reg, &frame(V2_ID, &rng.bytes(len)));
    }
}
