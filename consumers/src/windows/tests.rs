//! Golden tests of the tumbling operator: input ticks → expected emitted windows.

use super::*;

const MIN: i64 = 60_000;

fn add(w: &mut TumblingWindows, coin: &str, ts: i64, price: f64, offset: u64) -> Added {
    w.add(coin, "sim", ts, price, 0, offset)
}

fn summary(e: &EmittedWindow) -> (String, i64, u64, f64, f64, f64, f64, &'static str) {
    let s = e.stats;
    (
        e.crypto_id.to_string(),
        e.start_ms,
        s.count,
        s.open,
        s.high,
        s.low,
        s.close,
        e.status.as_str(),
    )
}

#[test]
fn in_order_ticks_close_when_the_watermark_passes() {
    let mut w = TumblingWindows::new("1m", MIN, 5_000);
    let mut out = Vec::new();
    for (i, (ts, p)) in [(0, 10.0), (20_000, 12.0), (59_999, 11.0), (60_000, 13.0)]
        .into_iter()
        .enumerate()
    {
        assert_eq!(add(&mut w, "btc", ts, p, i as u64), Added::Aggregated);
    }
    // Watermark 60_000 - 5_000 does not pass the first window's end yet.
    w.advance(Some(60_000), &mut out);
    assert!(out.is_empty());
    w.advance(Some(65_000), &mut out);
    assert_eq!(
        out.iter().map(summary).collect::<Vec<_>>(),
        vec![("btc".into(), 0, 3, 10.0, 12.0, 10.0, 11.0, "closed")]
    );
    assert_eq!(out[0].end_ms, MIN);
    assert_eq!(w.open_count(), 1);
}

#[test]
fn out_of_order_within_lateness_is_aggregated_and_late_is_reported() {
    let mut w = TumblingWindows::new("1m", MIN, 10_000);
    let mut out = Vec::new();
    add(&mut w, "eth", 55_000, 2.0, 0);
    add(&mut w, "eth", 65_000, 3.0, 1);
    // 50_000 arrives after 65_000 but within the lateness: it opens the first window.
    assert_eq!(add(&mut w, "eth", 50_000, 1.0, 2), Added::Aggregated);
    w.advance(Some(70_000), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(
        summary(&out[0]),
        ("eth".into(), 0, 2, 1.0, 2.0, 1.0, 2.0, "closed")
    );
    // The first window is closed now: another tick for it is late, and changes nothing.
    assert_eq!(add(&mut w, "eth", 59_000, 9.0, 3), Added::Late);
    w.advance(Some(200_000), &mut out);
    assert_eq!(
        summary(&out[1]),
        ("eth".into(), MIN, 1, 3.0, 3.0, 3.0, 3.0, "closed")
    );
}

#[test]
fn a_redelivered_tick_counts_once() {
    // A producer retry can deliver a tick twice; the store keeps one point per (series,
    // time), and so does the window.
    let mut w = TumblingWindows::new("1m", MIN, 0);
    let mut out = Vec::new();
    assert_eq!(add(&mut w, "sol", 1_000, 5.0, 0), Added::Aggregated);
    assert_eq!(add(&mut w, "sol", 2_000, 6.0, 1), Added::Aggregated);
    assert_eq!(add(&mut w, "sol", 1_000, 5.0, 2), Added::Duplicate);
    w.advance(Some(MIN), &mut out);
    assert_eq!(out[0].stats.count, 2);
    assert_eq!((out[0].stats.open, out[0].stats.close), (5.0, 6.0));
}

#[test]
fn keys_are_separate_per_coin_and_source() {
    let mut w = TumblingWindows::new("1m", MIN, 0);
    let mut out = Vec::new();
    w.add("btc", "coingecko", 1_000_i64, 100.0, 0, 0);
    w.add("btc", "coinmarketcap", 2_000_i64, 101.0, 0, 1);
    w.add("eth", "coingecko", 3_000_i64, 5.0, 1, 0);
    w.advance(Some(MIN), &mut out);
    let mut keys: Vec<(String, String)> = out
        .iter()
        .map(|e| (e.crypto_id.to_string(), e.source.to_string()))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            ("btc".into(), "coingecko".into()),
            ("btc".into(), "coinmarketcap".into()),
            ("eth".into(), "coingecko".into())
        ]
    );
}

#[test]
fn open_windows_can_be_emitted_without_closing_and_pin_their_offsets() {
    let mut w = TumblingWindows::new("1m", MIN, 0);
    let mut out = Vec::new();
    w.add("btc", "sim", 1_000_i64, 1.0, 2, 40);
    w.add("btc", "sim", 2_000_i64, 2.0, 2, 41);
    w.add("eth", "sim", 1_000_i64, 3.0, 0, 7);
    w.emit_open(WindowStatus::Provisional, &mut out);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|e| e.status == WindowStatus::Provisional));
    assert_eq!(w.open_count(), 2);
    let mut first = HashMap::new();
    w.first_open_offsets(&mut first);
    assert_eq!(first, HashMap::from([(2, 40), (0, 7)]));
}

#[test]
fn negative_event_times_fall_in_the_right_bin() {
    let mut w = TumblingWindows::new("1m", MIN, 0);
    let mut out = Vec::new();
    w.add("btc", "sim", -1_i64, 1.0, 0, 0);
    w.advance(Some(0), &mut out);
    assert_eq!(out[0].start_ms, -MIN);
}

#[test]
fn the_watermark_never_moves_back() {
    let mut w = TumblingWindows::new("1m", MIN, 0);
    let mut out = Vec::new();
    w.advance(Some(3 * MIN), &mut out);
    w.advance(Some(MIN), &mut out);
    assert_eq!(w.closed_until(), Some(3 * MIN));
    assert_eq!(add(&mut w, "btc", 2 * MIN, 1.0, 0), Added::Late);
}

#[test]
fn an_inherited_partition_keeps_its_own_closing_point() {
    // After a rebalance this member kept partition 0 (closed up to 3 minutes) and inherited
    // partition 1, whose previous owner had closed windows up to 1 minute only.
    let mut w = TumblingWindows::new("1m", MIN, 0);
    w.restore_closed_until(0, 3 * MIN);
    w.restore_closed_until(1, MIN);
    assert_eq!(w.closed_until_of(0), Some(3 * MIN));
    assert_eq!(w.closed_until_of(1), Some(MIN));
    // Partition 1's tick in minute 2 belongs to a window its previous owner never closed.
    assert_eq!(
        w.add("eth", "sim", 90_000_i64, 1.0, 1, 0),
        Added::Aggregated
    );
    assert_eq!(w.add("btc", "sim", 90_000_i64, 1.0, 0, 0), Added::Late);
    let mut out = Vec::new();
    w.advance(Some(2 * MIN), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!((&*out[0].crypto_id, out[0].start_ms), ("eth", MIN));
    // The watermark's closing point applies to both once it passes them.
    w.advance(Some(4 * MIN), &mut out);
    assert_eq!(w.closed_until_of(1), Some(4 * MIN));
}

#[test]
fn event_times_at_the_ends_of_i64_do_not_wrap() {
    let mut w = TumblingWindows::new("1m", MIN, 0);
    let mut out = Vec::new();
    assert_eq!(w.add("btc", "sim", i64::MIN, 1.0, 0, 0), Added::Aggregated);
    assert_eq!(w.add("btc", "sim", i64::MAX, 2.0, 0, 1), Added::Aggregated);
    w.advance(Some(i64::MAX), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].start_ms, i64::MIN);
    assert!(out.iter().all(|o| o.end_ms > o.start_ms), "{out:?}");
    assert!(out[1].start_ms > i64::MAX - MIN);
    assert!(w.is_late(i64::MIN + 1, 0));
}

#[test]
fn distinct_ticks_of_one_millisecond_all_count() {
    use crate::identity::TickKey;
    let mut w = TumblingWindows::new("1m", MIN, 0);
    for (i, price) in [3.0, 1.0, 2.0].into_iter().enumerate() {
        let key = TickKey::new(1_000, i as u32, 100 + i as u64);
        assert_eq!(
            w.add("btc", "sim", key, price, 0, i as u64),
            Added::Aggregated
        );
    }
    let copy = TickKey::new(1_000, 1, 101);
    assert_eq!(w.add("btc", "sim", copy, 1.0, 0, 3), Added::Duplicate);
    let mut out = Vec::new();
    w.advance(Some(MIN), &mut out);
    let s = out[0].stats;
    assert_eq!(
        (s.count, s.open, s.close, s.low, s.high),
        (3, 3.0, 2.0, 1.0, 3.0)
    );
}
