//! Property-based fuzz tests of the producers' parsers: RSS/Atom feeds (`news::parse_feed`,
//! `strip_html`, `decode_entities`, `canonical_link`) and the history readers (Binance klines
//! CSV, Kraken OHLCVT CSV, JSONL).
//!
//! Arbitrary input never panics and every record that comes out is valid; well-formed input
//! built from random values reads back as those values.
//!
//! Cases: `PROPTEST_CASES` (default 10,000), seed `PROPTEST_RNG_SEED`. Long run:
//! `PROPTEST_CASES=1000000 cargo test --release --workspace --test fuzz_parsers`.

#[path = "../../schemas/tests/common/fuzz.rs"]
mod fuzz;

use chrono::{DateTime, SecondsFormat, Utc};
use cryptoviz_producers::sources::history::{Format, HistoryReader, Series};
use cryptoviz_producers::sources::news::{canonical_link, decode_entities, parse_feed, strip_html};
use cryptoviz_schemas::{CryptoPrice, MIN_TIMESTAMP_MS, Message};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// 2026-06-01: "now" for every parse.
const NOW: i64 = 1_780_272_000_000;

fn runner() -> TestRunner {
    fuzz::runner(0x9a55_e125)
}

// ---------------------------------------------------------------------------------------
// RSS / Atom

/// Text with the characters HTML and XML treat specially.
fn markup_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9 ]{1,8}",
        1 => prop::sample::select(vec![
            "&amp;", "&lt;", "&gt;", "&#39;", "&#x2019;", "&#xFFFFFFFF;", "&#0;", "&nbsp;",
            "&bogus;", "&", "<", ">", "<p>", "</p>", "<script>x</script>", "<style", "<br/>",
            "\"", "'", "\t", "\n", "é", "比特币", "🚀", "&#", "&;",
        ])
        .prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

/// Whether XML 1.0 can carry `c` (escaped or not): most control characters it cannot.
fn xml_char(c: char) -> bool {
    (!c.is_control() || matches!(c, '\t' | '\n' | '\r')) && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// `s` without what XML cannot carry.
fn xml_chars(s: &str) -> String {
    s.chars().filter(|c| xml_char(*c)).collect()
}

/// `s` escaped for XML character data (what XML cannot carry is dropped).
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| xml_char(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Item {
    title: String,
    link: String,
    guid: Option<String>,
    description: Option<String>,
    date_ms: Option<i64>,
}

fn item() -> impl Strategy<Value = Item> {
    (
        markup_text(),
        prop_oneof![
            3 => "https://[a-z]{1,8}\\.example/[a-z0-9/]{0,12}(\\?(utm_source=x|id=[0-9]{1,3}|fbclid=q)(&(utm_medium=y|p=[0-9]))?)?(#[a-z]{0,4})?",
            1 => markup_text(),
        ],
        prop::option::of("[a-z0-9:.-]{0,12}"),
        prop::option::of(markup_text()),
        prop::option::of(MIN_TIMESTAMP_MS..NOW),
    )
        .prop_map(|(title, link, guid, description, date_ms)| Item {
            title,
            link,
            guid,
            description,
            date_ms,
        })
}

fn rfc2822(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms / 1000 * 1000)
        .unwrap()
        .to_rfc2822()
}

fn rss(items: &[Item]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>",
    );
    for it in items {
        out.push_str("<item><title>");
        out.push_str(&xml_escape(&it.title));
        out.push_str("</title><link>");
        out.push_str(&xml_escape(&it.link));
        out.push_str("</link>");
        if let Some(g) = &it.guid {
            out.push_str(&format!("<guid>{}</guid>", xml_escape(g)));
        }
        if let Some(d) = &it.description {
            out.push_str(&format!("<description>{}</description>", xml_escape(d)));
        }
        if let Some(ms) = it.date_ms {
            out.push_str(&format!("<pubDate>{}</pubDate>", rfc2822(ms)));
        }
        out.push_str("</item>");
    }
    out.push_str("</channel></rss>");
    out
}

fn atom(items: &[Item]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>urn:f</id><updated>2024-01-01T00:00:00Z</updated>",
    );
    for it in items {
        out.push_str("<entry><title>");
        out.push_str(&xml_escape(&it.title));
        out.push_str(&format!(
            "</title><link rel=\"alternate\" href=\"{}\"/>",
            xml_escape(&it.link)
        ));
        if let Some(g) = &it.guid {
            out.push_str(&format!("<id>{}</id>", xml_escape(g)));
        }
        if let Some(d) = &it.description {
            out.push_str(&format!("<summary>{}</summary>", xml_escape(d)));
        }
        if let Some(ms) = it.date_ms {
            let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap();
            out.push_str(&format!(
                "<updated>{}</updated>",
                t.to_rfc3339_opts(SecondsFormat::Millis, true)
            ));
        }
        out.push_str("</entry>");
    }
    out.push_str("</feed>");
    out
}

/// Every record of a parse is complete: a title and link, fetched now, published at a real
/// time, and of the feed it came from.
fn check_records(news: &[cryptoviz_schemas::CryptoNews]) -> Result<(), TestCaseError> {
    for n in news {
        prop_assert!(!n.title.is_empty() && !n.link.is_empty() && !n.guid.is_empty());
        prop_assert_eq!(n.fetched_at_ms, NOW);
        prop_assert_eq!(&n.source, "feed");
        prop_assert!(n.title.trim() == n.title && !n.title.contains("  "));
        if let Some(s) = &n.summary {
            prop_assert!(!s.is_empty() && s.trim() == s);
        }
        prop_assert!(n.coins.is_empty());
    }
    Ok(())
}

#[test]
fn arbitrary_bytes_as_a_feed_never_panic() {
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        // Feed-shaped noise: real tags around random text, cut anywhere.
        (
            prop::collection::vec(item(), 0..4),
            any::<bool>(),
            any::<usize>()
        )
            .prop_map(|(items, is_rss, cut)| {
                let mut doc = if is_rss { rss(&items) } else { atom(&items) }.into_bytes();
                doc.truncate(cut % (doc.len() + 1));
                doc
            }),
    ];
    runner()
        .run(&body, |body| {
            let parsed = parse_feed("feed", &body, NOW);
            check_records(&parsed.records)
        })
        .unwrap();
}

#[test]
fn generated_rss_and_atom_items_read_back() {
    runner()
        .run(
            &(prop::collection::vec(item(), 0..5), any::<bool>()),
            |(items, is_rss)| {
                let doc = if is_rss { rss(&items) } else { atom(&items) };
                let parsed = parse_feed("feed", doc.as_bytes(), NOW);
                check_records(&parsed.records)?;
                prop_assert_eq!(
                    parsed.records.len() + parsed.rejects.len(),
                    items.len(),
                    "every item is a record or a reject: {}",
                    doc
                );
                // Items without a title or link are rejected; the others keep their order.
                let mut records = parsed.records.iter();
                for it in &items {
                    let expected_title = decode_entities(&xml_chars(&it.title))
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    let link = canonical_link(&xml_chars(&it.link));
                    if expected_title.is_empty() || link.is_empty() {
                        continue;
                    }
                    let Some(r) = records.next() else {
                        // feed-rs may drop an entry it finds malformed; never invent one.
                        break;
                    };
                    if r.title != expected_title {
                        // feed-rs rejected or reshaped this entry (e.g. a link it would not
                        // parse); the remaining ones are not aligned any more.
                        break;
                    }
                    if let Some(ms) = it.date_ms {
                        let expected = if is_rss { ms / 1000 * 1000 } else { ms };
                        prop_assert_eq!(r.published_at_ms, expected);
                    } else {
                        prop_assert_eq!(r.published_at_ms, NOW);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn html_stripping_and_entities_never_panic_and_collapse_whitespace() {
    runner()
        .run(&markup_text(), |s| {
            let plain = strip_html(&s);
            prop_assert_eq!(plain.trim(), plain.as_str());
            prop_assert!(!plain.contains("  "));
            let _ = decode_entities(&s);
            // Escaping then decoding is the identity.
            let escaped = s
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            prop_assert_eq!(decode_entities(&escaped), s.clone());
            let link = canonical_link(&s);
            prop_assert!(!link.contains('#'));
            prop_assert!(!link.to_ascii_lowercase().contains("?utm_"));
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// History readers

fn read_all(format: Format, text: &[u8]) -> (Vec<CryptoPrice>, usize, Option<std::io::Error>) {
    let series = Series::for_coin("bitcoin", "binanceus", None, None);
    let (mut ok, mut bad) = (Vec::new(), 0);
    for row in HistoryReader::new(text, format, series, NOW) {
        match row {
            Ok(Ok(p)) => ok.push(p),
            Ok(Err(_)) => bad += 1,
            Err(e) => return (ok, bad, Some(e)),
        }
    }
    (ok, bad, None)
}

/// Text in the formats' alphabet: digits, separators, signs, quotes, dates, JSON punctuation.
fn csvish_line() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[0-9]{1,20}",
        2 => prop::sample::select(vec![
            ",", ".", "-", "+", "e", "E", "\"", " ", "T", "Z", ":", "{", "}", "[", "]", "null",
            "true", "\"timestamp\":", "\"price_usd\":", "\"crypto_id\":\"b\"", "NaN", "inf",
            "2023-03-01", "T00:00:00", "+05:30", "\u{FEFF}", "\r", "open_time", "é",
        ])
        .prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..14).prop_map(|v| v.concat())
}

#[test]
fn arbitrary_history_files_never_panic_and_yield_only_valid_records() {
    let file = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(csvish_line(), 0..8).prop_map(|l| l.join("\n").into_bytes()),
    ];
    runner()
        .run(
            &(file, prop::sample::select(Format::ALL.to_vec())),
            |(text, format)| {
                let (ok, bad, _) = read_all(format, &text);
                let lines = text.split(|b| *b == b'\n').count();
                prop_assert!(ok.len() + bad <= lines);
                for p in &ok {
                    prop_assert!(p.validate_at(NOW).is_ok(), "{p:?}");
                    prop_assert!(p.timestamp_ms >= MIN_TIMESTAMP_MS);
                }
                Ok(())
            },
        )
        .unwrap();
}

#[derive(Debug, Clone, Copy)]
struct Candle {
    ms: i64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

fn price_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        1e-8..1e7f64,
        (1u32..100_000).prop_map(|c| f64::from(c) / 100.0)
    ]
}

fn candle() -> impl Strategy<Value = Candle> {
    (
        MIN_TIMESTAMP_MS..NOW,
        price_value(),
        price_value(),
        0.0..1e9f64,
        0.0..1.0f64,
        0.0..1.0f64,
    )
        .prop_map(|(ms, open, close, volume, up, down)| {
            let hi = open.max(close);
            let lo = open.min(close);
            Candle {
                ms,
                open,
                high: hi * (1.0 + up),
                low: lo * (1.0 - down * 0.5),
                close,
                volume,
            }
        })
}

/// How a time is written in a file.
#[derive(Debug, Clone, Copy)]
enum TimeStyle {
    Millis,
    Micros,
    Seconds,
    IsoZ,
    IsoOffset(i32),
    IsoSpace,
}

fn time_style() -> impl Strategy<Value = TimeStyle> {
    prop_oneof![
        Just(TimeStyle::Millis),
        Just(TimeStyle::Micros),
        Just(TimeStyle::Seconds),
        Just(TimeStyle::IsoZ),
        (-14 * 60..=14 * 60i32).prop_map(|m| TimeStyle::IsoOffset(m * 60)),
        Just(TimeStyle::IsoSpace),
    ]
}

/// `ms` written in `style`, and the ms it stands for (seconds drop the milliseconds).
fn write_time(ms: i64, style: TimeStyle) -> (String, i64) {
    let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap();
    match style {
        TimeStyle::Millis => (ms.to_string(), ms),
        TimeStyle::Micros => ((ms * 1000).to_string(), ms),
        TimeStyle::Seconds => ((ms / 1000).to_string(), ms / 1000 * 1000),
        TimeStyle::IsoZ => (utc.to_rfc3339_opts(SecondsFormat::Millis, true), ms),
        TimeStyle::IsoOffset(secs) => {
            let tz = chrono::FixedOffset::east_opt(secs).unwrap();
            (
                utc.with_timezone(&tz)
                    .to_rfc3339_opts(SecondsFormat::Millis, false),
                ms,
            )
        }
        TimeStyle::IsoSpace => (utc.format("%Y-%m-%d %H:%M:%S%.3f").to_string(), ms),
    }
}

fn check_candle(p: &CryptoPrice, c: &Candle, ms: i64) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.timestamp_ms, ms);
    prop_assert_eq!(p.open_usd, Some(c.open));
    prop_assert_eq!(p.high_usd, Some(c.high));
    prop_assert_eq!(p.low_usd, Some(c.low));
    prop_assert_eq!(p.price_usd, c.close);
    prop_assert_eq!(p.volume, Some(c.volume));
    prop_assert_eq!(&p.crypto_id, "bitcoin");
    Ok(())
}

#[test]
fn generated_binance_and_kraken_rows_read_back() {
    runner()
        .run(
            &(
                prop::collection::vec((candle(), time_style()), 1..6),
                any::<bool>(),
            ),
            |(rows, header)| {
                // Binance: any time style, optional header, extra columns.
                let mut text = String::new();
                if header {
                    text.push_str("open_time,open,high,low,close,volume,close_time\n");
                }
                let mut expected = Vec::new();
                for (c, style) in &rows {
                    let (t, ms) = write_time(c.ms, *style);
                    text.push_str(&format!(
                        "{t},{},{},{},{},{},0\n",
                        c.open, c.high, c.low, c.close, c.volume
                    ));
                    expected.push((*c, ms));
                }
                let (ok, bad, err) = read_all(Format::BinanceKlines, text.as_bytes());
                prop_assert!(err.is_none() && bad == 0, "{text}: {err:?} {bad}");
                prop_assert_eq!(ok.len(), rows.len());
                for (p, (c, ms)) in ok.iter().zip(&expected) {
                    check_candle(p, c, *ms)?;
                }

                // Kraken: epoch seconds, trades count.
                let mut text = String::new();
                for (c, _) in &rows {
                    text.push_str(&format!(
                        "{},{},{},{},{},{},7\r\n",
                        c.ms / 1000,
                        c.open,
                        c.high,
                        c.low,
                        c.close,
                        c.volume
                    ));
                }
                let (ok, bad, err) = read_all(Format::KrakenOhlcvt, text.as_bytes());
                prop_assert!(err.is_none() && bad == 0, "{text}: {err:?} {bad}");
                for (p, (c, _)) in ok.iter().zip(&rows) {
                    check_candle(p, c, c.ms / 1000 * 1000)?;
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn generated_jsonl_lines_read_back() {
    let line = (
        candle(),
        time_style(),
        "[a-z]{1,10}",
        prop_oneof![
            "[A-Za-z0-9 ]{1,10}",
            // Escapes and Unicode go through serde_json's path.
            "[A-Za-z]{1,4}".prop_map(|s| format!("{s}\"\\/\u{e9}\u{1F680}")),
        ],
        any::<bool>(),
    );
    runner()
        .run(
            &prop::collection::vec(line, 1..5),
            |lines| {
                let mut text = String::new();
                for (c, style, coin, name, numeric_time) in &lines {
                    let (t, _) = write_time(c.ms, *style);
                    let t = if *numeric_time && t.bytes().all(|b| b.is_ascii_digit()) {
                        t
                    } else {
                        serde_json::to_string(&t).unwrap()
                    };
                    let obj = format!(
                        "{{\"crypto_id\":{},\"symbol\":\"X\",\"name\":{},\"source\":\"s\",\"price_usd\":{},\"open_usd\":{},\"high_usd\":{},\"low_usd\":{},\"volume\":{},\"timestamp\":{t},\"extra\":[1,{{}}]}}\n",
                        serde_json::to_string(coin).unwrap(),
                        serde_json::to_string(name).unwrap(),
                        c.close,
                        c.open,
                        c.high,
                        c.low,
                        c.volume,
                    );
                    text.push_str(&obj);
                }
                let (ok, bad, err) = read_all(Format::Jsonl, text.as_bytes());
                prop_assert!(err.is_none() && bad == 0, "{text}: {err:?} {bad}");
                prop_assert_eq!(ok.len(), lines.len());
                for (p, (c, style, coin, name, _)) in ok.iter().zip(&lines) {
                    let (_, ms) = write_time(c.ms, *style);
                    prop_assert_eq!(&p.crypto_id, coin);
                    prop_assert_eq!(&p.name, name);
                    prop_assert_eq!(p.timestamp_ms, ms);
                    prop_assert_eq!(p.price_usd, c.close);
                    prop_assert_eq!(p.open_usd, Some(c.open));
                    prop_assert_eq!(p.volume, Some(c.volume));
                }
                Ok(())
            },
        )
        .unwrap();
}
