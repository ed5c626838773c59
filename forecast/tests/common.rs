//! Shared helpers of the forecast crate's tests.
#![allow(dead_code)]

use cryptoviz_forecast::Candles;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

pub(crate) const MINUTE: i64 = 60_000;

/// `days` of 1-minute candles from 2023-03-01, a random walk whose minute volatility follows
/// a slow GARCH-like cycle plus an intraday pattern, with a fixed seed.
pub(crate) fn simulated(days: usize, seed: u64) -> Candles {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let start = 1_677_628_800_000;
    let n = days * 1440;
    let mut price = 20_000.0_f64;
    let mut var = 1e-6_f64;
    let (mut times, mut closes) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let hour = (i / 60) % 24;
        let season = if (13..17).contains(&hour) { 2.0 } else { 1.0 };
        let z: f64 = StandardNormal.sample(&mut rng);
        let r = (var * season).sqrt() * z;
        var = 2e-8 + 0.05 * r * r + 0.93 * var;
        price *= r.exp();
        times.push(start + i as i64 * MINUTE);
        closes.push(price);
    }
    Candles::new(times, closes).expect("valid candles")
}
