//! Parsers: the project's hand-written fixtures (always) and the recorded real-world files in
//! `../shared/fixtures` (skipped with a message when the folder is absent).

mod support;

use cryptoviz_producers::sources::coinmarketcap::{coingecko_id, parse_listings};
use cryptoviz_producers::sources::news::{canonical_link, decode_entities, parse_feed, strip_html};
use cryptoviz_producers::sources::{coingecko::parse_markets, feargreed::parse_fng};
use cryptoviz_schemas::Message;
use support::{fixture, shared};

const NOW: i64 = 1_763_700_000_000; // 2025-11-21

/// Every record passes validation as of `NOW`.
fn assert_valid<T: Message>(records: &[T]) {
    for r in records {
        r.validate_at(NOW).unwrap();
    }
}

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

// ---- hand-written fixtures -------------------------------------------------------------

#[test]
fn coingecko_items_parse_and_bad_items_are_rejected_alone() {
    let parsed = parse_markets(&fixture("cg_markets.json"), NOW);
    assert_eq!(parsed.records.len(), 2);
    let btc = &parsed.records[0];
    assert_eq!(
        (btc.crypto_id.as_str(), btc.symbol.as_str()),
        ("bitcoin", "BTC")
    );
    assert_eq!(btc.source, "coingecko");
    assert_eq!(btc.price_usd, 97000.5);
    assert_eq!(btc.change_1h, Some(-0.2));
    assert_eq!(btc.change_24h, Some(1.6));
    assert_eq!(btc.change_7d, Some(4.25));
    assert_eq!(btc.timestamp_ms, ms("2025-06-01T12:00:00Z"));
    let eth = &parsed.records[1];
    assert_eq!(eth.volume_24h, None, "null stays null");
    assert_eq!(
        eth.change_24h,
        Some(-0.5),
        "falls back to price_change_percentage_24h"
    );
    assert_eq!(eth.change_1h, None);
    assert_eq!(parsed.rejects.len(), 2);
    assert!(parsed.rejects[0].reason.contains("current_price is null"));
    assert!(parsed.rejects[1].reason.contains("wrong shape"));
}

#[test]
fn coingecko_whole_body_rejects_have_readable_reasons() {
    let html = b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>";
    let p = parse_markets(html, NOW);
    assert!(p.records.is_empty());
    assert!(
        p.rejects[0].reason.contains("HTML"),
        "{}",
        p.rejects[0].reason
    );
    assert_eq!(p.rejects[0].payload, html);

    let p = parse_markets(br#"[{"id": "bitcoin", "symbol": "btc", "na"#, NOW);
    assert!(
        p.rejects[0].reason.contains("truncated JSON"),
        "{}",
        p.rejects[0].reason
    );

    let p = parse_markets(
        br#"{"status": {"error_code": 429, "error_message": "rate limited"}}"#,
        NOW,
    );
    assert!(p.rejects[0].reason.contains("expected a JSON array"));
    assert!(p.rejects[0].reason.contains("rate limited"));

    let p = parse_markets(b"", NOW);
    assert!(
        p.rejects[0].reason.contains("empty"),
        "{}",
        p.rejects[0].reason
    );
}

#[test]
fn coinmarketcap_maps_slugs_to_coingecko_ids_never_symbols() {
    let parsed = parse_listings(&fixture("cmc_listings.json"), NOW);
    let ids: Vec<&str> = parsed
        .records
        .iter()
        .map(|r| r.crypto_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["binancecoin", "shiba-inu", "ripple", "uni-clone-token"]
    );
    let shib = &parsed.records[1];
    assert_eq!(shib.price_usd, 1.34e-05);
    assert_eq!(shib.change_1h, None);
    assert_eq!(shib.change_24h, Some(2.0));
    assert_eq!(shib.source, "coinmarketcap");
    assert_eq!(
        shib.timestamp_ms,
        ms("2025-06-01T11:58:00Z"),
        "quote.USD.last_updated"
    );
    assert_eq!(parsed.records[0].timestamp_ms, ms("2025-06-01T11:59:30Z"));
    assert_eq!(
        parsed.records[3].symbol, "UNI",
        "symbol kept, not used for the id"
    );
    assert_eq!(parsed.rejects.len(), 1);
    assert!(parsed.rejects[0].reason.contains("item 4"));
    assert_eq!(coingecko_id("avalanche"), "avalanche-2");
    assert_eq!(coingecko_id("toncoin"), "the-open-network");
    assert_eq!(coingecko_id("polygon"), "matic-network");
    assert_eq!(coingecko_id("bitcoin"), "bitcoin");
}

#[test]
fn coinmarketcap_error_status_is_rejected_whole() {
    let body = br#"{"status": {"error_code": 1001, "error_message": "This API Key is invalid."}}"#;
    let p = parse_listings(body, NOW);
    assert!(p.records.is_empty());
    assert!(p.rejects[0].reason.contains("1001"));
    assert!(p.rejects[0].reason.contains("invalid"));
}

#[test]
fn fear_greed_numbers_are_strings() {
    let parsed = parse_fng(&fixture("fng.json"));
    assert_eq!(parsed.records.len(), 2);
    assert_eq!(parsed.records[0].value, 40, "oldest first");
    assert_eq!(parsed.records[1].value, 25);
    assert_eq!(parsed.records[1].classification, "Extreme Fear");
    assert_eq!(parsed.records[1].timestamp_ms, 1_748_736_000_000);
    assert_eq!(parsed.records[1].source, "alternative.me");
    assert!(parsed.rejects[0].reason.contains("not an integer"));
    let numeric =
        br#"{"data": [{"value": 55, "value_classification": "Greed", "timestamp": 1748736000}]}"#;
    assert_eq!(
        parse_fng(numeric).records[0].value,
        55,
        "numbers accepted too"
    );
    let p = parse_fng(br#"{"data": [], "metadata": {"error": "Something broke"}}"#);
    assert!(p.rejects[0].reason.contains("Something broke"));
}

#[test]
fn rss_items_are_cleaned_and_identified() {
    let parsed = parse_feed("example", &fixture("feed_rss.xml"), NOW);
    assert_eq!(parsed.records.len(), 3);
    let first = &parsed.records[0];
    assert_eq!(first.title, "Bitcoin's rally & the ETF flows");
    assert_eq!(first.guid, "news-example-1");
    assert_eq!(first.link, "https://news.example/a/btc-rally?id=7");
    assert_eq!(
        first.summary.as_deref(),
        Some("Bitcoin rose 3% today — traders cheered.")
    );
    assert!(first.coins.is_empty(), "coins are tagged by the consumers");
    assert_eq!(first.published_at_ms, ms("2025-06-01T10:00:00Z"));
    assert_eq!(first.fetched_at_ms, NOW);
    let second = &parsed.records[1];
    assert_eq!(
        second.guid, "https://news.example/a/eth-upgrade",
        "no guid: cleaned link"
    );
    assert_eq!(second.link, "https://news.example/a/eth-upgrade");
    let undated = &parsed.records[2];
    assert_eq!(undated.published_at_ms, NOW, "no date: fetch time");
    assert_eq!(parsed.rejects.len(), 1);
    assert!(parsed.rejects[0].reason.contains("missing title or link"));
    assert_valid(&parsed.records);
}

#[test]
fn atom_entries_decode_escaped_html() {
    let parsed = parse_feed("atom", &fixture("feed_atom.xml"), NOW);
    assert_eq!(parsed.records.len(), 1);
    let e = &parsed.records[0];
    assert_eq!(e.guid, "urn:example:atom:1");
    assert_eq!(e.link, "https://atom.example/posts/1");
    assert_eq!(e.summary.as_deref(), Some("Validators voted & agreed."));
    assert_eq!(e.published_at_ms, ms("2025-06-01T09:30:00Z"));
    assert!(e.coins.is_empty(), "coins are tagged by the consumers");
}

#[test]
fn empty_feed_and_non_feed() {
    let p = parse_feed("empty", &fixture("feed_empty.xml"), NOW);
    assert!(p.records.is_empty() && p.rejects.is_empty());
    let p = parse_feed(
        "broken",
        b"<html><body>Service Unavailable</body></html>",
        NOW,
    );
    assert!(p.records.is_empty());
    assert!(
        p.rejects[0].reason.contains("not an RSS/Atom feed"),
        "{}",
        p.rejects[0].reason
    );
}

#[test]
fn html_and_links_helpers() {
    assert_eq!(
        decode_entities("it&#39;s &#x2019; &amp;amp; &bogus; &"),
        "it's ’ &amp; &bogus; &"
    );
    assert_eq!(strip_html("<p>a<br/>b</p><script>x()</script>c"), "a b c");
    assert_eq!(strip_html("&lt;b&gt;bold&lt;/b&gt; text"), "bold text");
    assert_eq!(strip_html("1 < 2"), "1 < 2");
    assert_eq!(
        canonical_link("https://x.io/a?utm_source=rss&page=2&gclid=1#top"),
        "https://x.io/a?page=2"
    );
}

// ---- recorded real-world fixtures ------------------------------------------------------

#[test]
fn shared_coingecko_5coins() {
    let Some(body) = shared("coingecko/markets_5coins_2023-01-02.json") else {
        return;
    };
    let p = parse_markets(&body, NOW);
    assert!(p.rejects.is_empty(), "{:?}", p.rejects);
    let ids: Vec<&str> = p.records.iter().map(|r| r.crypto_id.as_str()).collect();
    assert_eq!(
        ids,
        ["bitcoin", "ethereum", "tether", "usd-coin", "binancecoin"]
    );
    let btc = &p.records[0];
    assert_eq!(btc.price_usd, 16730.75);
    assert_eq!(btc.market_cap, Some(322053364166.0));
    assert_eq!(btc.change_24h, Some(0.96122));
    assert_eq!(btc.timestamp_ms, ms("2023-01-02T17:08:13.102Z"));
    assert_valid(&p.records);
}

#[test]
fn shared_coingecko_harness_file() {
    let Some(body) = shared("coingecko/markets_1coin_2024-04-07.harness.txt") else {
        return;
    };
    // The test harness's 3 header lines (GET, path, false) are not part of the response.
    let text = String::from_utf8(body).unwrap();
    let json: String = text.lines().skip(3).collect::<Vec<_>>().join("\n");
    let p = parse_markets(json.as_bytes(), NOW);
    assert!(p.rejects.is_empty(), "{:?}", p.rejects);
    assert_eq!(p.records.len(), 1);
    assert_eq!(p.records[0].crypto_id, "bitcoin");
    assert_eq!(p.records[0].price_usd, 70187.0);
}

#[test]
fn shared_coinmarketcap_20coins() {
    let Some(body) = shared("coinmarketcap/listings_latest_20coins_2024-09-17.json") else {
        return;
    };
    let p = parse_listings(&body, NOW);
    assert!(p.rejects.is_empty(), "{:?}", p.rejects);
    assert_eq!(p.records.len(), 20);
    let id = |slug_id: &str| p.records.iter().find(|r| r.crypto_id == slug_id);
    let shib = id("shiba-inu").unwrap();
    assert_eq!(shib.price_usd, 1.3439305300324306e-05);
    for expected in [
        "binancecoin",
        "ripple",
        "avalanche-2",
        "the-open-network",
        "polkadot",
        "dai",
    ] {
        assert!(id(expected).is_some(), "{expected} missing");
    }
    let btc = id("bitcoin").unwrap();
    assert_eq!(btc.price_usd, 60773.46882000654);
    assert_eq!(btc.timestamp_ms, ms("2024-09-17T16:21:00.000Z"));
    assert_valid(&p.records);
}

#[test]
fn shared_coinmarketcap_100coins_2021_schema() {
    let Some(body) = shared("coinmarketcap/listings_latest_100coins_2021-04-20.js") else {
        return;
    };
    let text = String::from_utf8(body).unwrap();
    let json = text
        .trim()
        .strip_prefix("const coinData = ")
        .expect("JS prefix")
        .trim_end_matches(';');
    let p = parse_listings(json.as_bytes(), NOW);
    assert!(p.rejects.is_empty(), "{:?}", p.rejects);
    assert_eq!(p.records.len(), 100);
    assert_eq!(p.records[0].crypto_id, "bitcoin");
    assert_valid(&p.records);
}

#[test]
fn shared_fear_greed() {
    let Some(body) = shared("feargreed/fng_limit2_2026-09-08.json") else {
        return;
    };
    let p = parse_fng(&body);
    assert!(p.rejects.is_empty(), "{:?}", p.rejects);
    assert_eq!(p.records.len(), 2);
    let latest = &p.records[1];
    assert_eq!(
        (latest.value, latest.classification.as_str()),
        (69, "Greed")
    );
    assert_eq!(latest.timestamp_ms, 1_788_825_600_000);
    assert_eq!(p.records[0].value, 71);
}

fn shared_feed(rel: &str, name: &str, count: usize) -> Option<Vec<cryptoviz_schemas::CryptoNews>> {
    let body = shared(rel)?;
    let p = parse_feed(name, &body, NOW);
    assert!(p.rejects.is_empty(), "{rel}: {:?}", p.rejects);
    assert_eq!(p.records.len(), count, "{rel}");
    let mut guids = std::collections::HashSet::new();
    for r in &p.records {
        assert!(
            guids.insert(r.guid.clone()),
            "{rel}: duplicate guid {}",
            r.guid
        );
        assert!(
            !r.title.contains("&#"),
            "{rel}: undecoded title {}",
            r.title
        );
        if let Some(s) = &r.summary {
            assert!(
                !s.contains("<p") && !s.contains("<img"),
                "{rel}: HTML left: {s}"
            );
        }
        assert!(!r.link.contains("utm_"), "{rel}: tracking link {}", r.link);
    }
    Some(p.records)
}

#[test]
fn shared_feeds() {
    if let Some(items) = shared_feed("rss/coindesk_2025-12-12.xml", "coindesk", 25) {
        assert!(
            items
                .iter()
                .all(|i| i.published_at_ms > ms("2025-01-01T00:00:00Z"))
        );
    }
    if let Some(items) = shared_feed("rss/cointelegraph_2025-12-12.xml", "cointelegraph", 30) {
        assert_eq!(
            items[0].guid,
            "https://cointelegraph.com/news/figure-technology-solana-onchain-equity-second-ipo"
        );
        assert_eq!(
            items[0].link,
            "https://cointelegraph.com/news/figure-technology-solana-onchain-equity-second-ipo"
        );
        assert!(
            items[0]
                .summary
                .as_deref()
                .unwrap()
                .starts_with("Figure is planning")
        );
    }
    if let Some(items) = shared_feed("rss/decrypt_2025-12-12.xml", "decrypt", 58) {
        assert!(items.iter().any(|i| i.title.contains("'Digital Labubu'")));
    }
    shared_feed("rss/reddit_atom_2025-12-03.xml", "reddit", 25);
}
