//! Property-based fuzz tests of the window arithmetic at the edges of `i64` event time.
//!
//! Release builds wrap on overflow instead of panicking, so an event time near `i64::MIN` or
//! `i64::MAX` used to produce a window whose start was after its end (or a panic in debug).
//! These properties hold for every event time: no emitted window wraps (its start is at or
//! before its end, and it is at most one width long), and an aggregated tick lies in a window
//! that starts at or before it (the window of a tick within one width of `i64::MAX` is cut at
//! `i64::MAX`).
//!
//! Cases: `PROPTEST_CASES` (default 10,000), fixed seed (`PROPTEST_RNG_SEED` to change it).
//! Long run: `PROPTEST_CASES=1000000 cargo test --release --workspace --test fuzz_windows`.

#[path = "../../schemas/tests/common/fuzz.rs"]
mod fuzz;

use cryptoviz_consumers::windows::{
    Added, RESOLUTIONS, Resolutions, TumblingWindows, WindowStatus,
};
use proptest::prelude::*;

/// Event times biased to the edges of `i64` (where the arithmetic wraps) and to ordinary
/// millisecond timestamps.
fn event_time() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        (0i64..10_000_000).prop_map(|d| i64::MIN + d),
        (0i64..10_000_000).prop_map(|d| i64::MAX - d),
        -4_000_000_000_000i64..4_000_000_000_000,
    ]
}

#[test]
fn every_tick_lands_in_a_window_that_contains_it_or_is_late() {
    fuzz::runner(0x5eed_f022)
        .run(
            &(
                prop::sample::select(RESOLUTIONS.to_vec()),
                0i64..600_000,
                prop::collection::vec((event_time(), any::<bool>()), 1..16),
            ),
            |((label, width), lateness, ticks)| {
                let mut w = TumblingWindows::new(label, width, lateness);
                let mut out = Vec::new();
                let mut aggregated = Vec::new();
                for (i, (ts, advance)) in ticks.iter().copied().enumerate() {
                    if w.add("bitcoin", "sim", ts, 1.0, 0, i as u64) == Added::Aggregated {
                        aggregated.push(ts);
                    }
                    if advance {
                        w.advance(Some(ts), &mut out);
                    }
                }
                w.emit_open(WindowStatus::Partial, &mut out);
                for e in &out {
                    prop_assert!(e.start_ms < e.end_ms, "window {e:?} ends before it starts");
                    prop_assert!(
                        e.end_ms.checked_sub(e.start_ms).is_some_and(|w| w <= width),
                        "window {e:?} is longer than {width} ms"
                    );
                }
                // Every aggregated tick is inside an emitted window.
                for ts in aggregated {
                    let holding = out
                        .iter()
                        .any(|e| e.start_ms <= ts && (ts < e.end_ms || e.end_ms == i64::MAX));
                    prop_assert!(holding, "tick at {ts} is in no emitted window: {out:?}");
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn resolutions_never_wrap_at_the_edges_of_event_time() {
    fuzz::runner(0x5eed_f022)
        .run(
            &prop::collection::vec((event_time(), any::<bool>()), 1..16),
            |ticks| {
                let mut r = Resolutions::new(&RESOLUTIONS, 5_000);
                let mut out = Vec::new();
                for (i, (ts, replayed)) in ticks.iter().copied().enumerate() {
                    r.add("bitcoin", "sim", ts, 1.0, 0, i as u64, replayed);
                    r.advance(Some(ts), &mut out);
                }
                for e in &out {
                    prop_assert!(e.start_ms < e.end_ms, "window {e:?} ends before it starts");
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The counterexample the issue names, kept as a plain test.
#[test]
fn ticks_at_the_i64_limits_never_make_a_wrapped_window() {
    let mut w = TumblingWindows::new("1m", 60_000, 0);
    w.add("bitcoin", "sim", i64::MIN, 1.0, 0, 0);
    w.add("bitcoin", "sim", i64::MAX, 1.0, 0, 1);
    let mut out = Vec::new();
    w.emit_open(WindowStatus::Partial, &mut out);
    for e in &out {
        assert!(e.start_ms < e.end_ms, "{e:?}");
        assert!(
            e.end_ms
                .checked_sub(e.start_ms)
                .is_some_and(|d| d <= 60_000),
            "{e:?}"
        );
    }
}
