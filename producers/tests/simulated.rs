//! The simulated market: deterministic, realistic enough to exercise the analytics, valid.

use std::time::Duration;

use cryptoviz_producers::sources::simulated::{Market, SimConfig, classify_fear_greed, generate};
use cryptoviz_schemas::{CryptoPrice, Message};

const START: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn run(config: &SimConfig, steps: u64) -> (Vec<CryptoPrice>, Market) {
    let mut market = Market::new(config, START);
    let mut all = Vec::new();
    let coins = market.coin_count() as u64;
    generate(&mut market, steps * coins, |_, prices| all.append(prices));
    (all, market)
}

#[test]
fn the_same_seed_gives_the_same_market() {
    let config = SimConfig::default();
    let (a, _) = run(&config, 500);
    let (b, _) = run(&config, 500);
    assert_eq!(a, b);
    let other = SimConfig {
        seed: 43,
        ..SimConfig::default()
    };
    let (c, _) = run(&other, 500);
    assert_ne!(a, c);
}

#[test]
fn default_universe_is_the_top_20_with_valid_records() {
    let config = SimConfig::default();
    let (ticks, _) = run(&config, 10);
    assert_eq!(ticks.len(), 200);
    let ids: Vec<&str> = ticks[..20].iter().map(|p| p.crypto_id.as_str()).collect();
    assert_eq!(ids[0], "bitcoin");
    assert!(ids.contains(&"ethereum") && ids.contains(&"solana") && ids.contains(&"dogecoin"));
    let now = START + 86_400_000;
    for (i, tick) in ticks.iter().enumerate() {
        tick.validate_at(now)
            .unwrap_or_else(|e| panic!("tick {i} invalid: {e}"));
        assert_eq!(tick.timestamp_ms, START + 1_000 * (i as i64 / 20 + 1));
        assert_eq!(tick.source, "simulated");
    }
}

#[test]
fn prices_move_like_a_market_with_jumps_and_stablecoins_hold_their_peg() {
    let config = SimConfig {
        tick_interval: Duration::from_secs(10),
        jumps_per_day: 2.0,
        ..SimConfig::default()
    };
    // Three market days.
    let (ticks, _) = run(&config, 3 * 8_640);
    let series = |id: &str| -> Vec<f64> {
        ticks
            .iter()
            .filter(|t| t.crypto_id == id)
            .map(|t| t.price_usd)
            .collect()
    };
    let returns =
        |prices: &[f64]| -> Vec<f64> { prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect() };
    let btc = series("bitcoin");
    assert!(btc.iter().all(|p| p.is_finite() && *p > 0.0));
    let btc_returns = returns(&btc);
    let calm: Vec<f64> = btc_returns
        .iter()
        .copied()
        .filter(|r| r.abs() < 0.02)
        .collect();
    let sd = (calm.iter().map(|r| r * r).sum::<f64>() / calm.len() as f64).sqrt();
    // 55 % a year at 10 s steps is about 0.03 % a step; regimes can raise it ×2.5.
    assert!(sd > 1e-4 && sd < 2e-3, "bitcoin step stddev {sd}");
    let jumps = config
        .coins
        .iter()
        .filter(|c| !c.stable)
        .map(|c| {
            returns(&series(&c.id))
                .iter()
                .filter(|r| r.abs() > 0.025)
                .count()
        })
        .sum::<usize>();
    assert!(
        jumps >= 10,
        "expected jumps across 17 coins over 3 days, saw {jumps}"
    );
    let usdt = series("tether");
    assert!(
        usdt.iter().all(|p| (p - 1.0).abs() < 0.01),
        "tether left its peg"
    );
}

#[test]
fn news_and_fear_greed_are_generated_on_market_time() {
    let config = SimConfig {
        news_interval: Duration::from_secs(600),
        ..SimConfig::default()
    };
    let mut market = Market::new(&config, START);
    let mut buf = Vec::new();
    let mut news = Vec::new();
    let mut fng = Vec::new();
    // 25 market hours at 1 s ticks.
    for _ in 0..90_000 {
        market.step(&mut buf);
        buf.clear();
        news.extend(market.take_news());
        fng.extend(market.take_sentiment());
    }
    assert_eq!(news.len(), 150, "one headline per 10 market minutes");
    assert_eq!(
        fng.len(),
        2,
        "one Fear & Greed value at the start, one per market day"
    );
    for n in &news {
        n.validate_at(START + 2 * 86_400_000).unwrap();
        assert_eq!(n.coins.len(), 1);
        assert!(!n.title.is_empty());
    }
    let guids: std::collections::HashSet<_> = news.iter().map(|n| &n.guid).collect();
    assert_eq!(guids.len(), news.len(), "guids are unique");
    for f in &fng {
        assert!((0..=100).contains(&f.value));
        assert_eq!(f.classification, classify_fear_greed(f.value));
    }
}

#[test]
fn an_injected_jump_moves_the_next_tick() {
    let config = SimConfig::default();
    let mut market = Market::new(&config, START);
    let mut buf = Vec::new();
    market.step(&mut buf);
    let before = buf[0].price_usd;
    buf.clear();
    assert!(market.inject_jump("bitcoin", 10.0));
    assert!(!market.inject_jump("not-a-coin", 10.0));
    market.step(&mut buf);
    let ratio = buf[0].price_usd / before;
    assert!((ratio - 1.10).abs() < 0.01, "ratio {ratio}");
}

#[test]
fn bad_configuration_names_the_key() {
    let config = SimConfig {
        speed: 0.0,
        ..SimConfig::default()
    };
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("simulator.speed")
    );
    let mut config = SimConfig::default();
    config.coins[3].price = f64::NAN;
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("simulator.coins[3].price")
    );
}

#[test]
fn the_trade_tape_gives_tens_of_valid_trades_per_coin_minute_without_moving_prices() {
    let config = SimConfig::default();
    let (plain, _) = run(&config, 600);
    // Ten market minutes with the tape on.
    let mut market = Market::new(&config, START);
    market.set_trades(true);
    let mut prices = Vec::new();
    let mut trades = Vec::new();
    let coins = market.coin_count() as u64;
    generate(&mut market, 600 * coins, |m, p| {
        prices.append(p);
        trades.append(&mut m.take_trades());
    });
    assert_eq!(prices, plain, "the tape has its own generator");
    let now = START + 86_400_000;
    let mut per_minute: std::collections::BTreeMap<(String, i64), usize> = Default::default();
    let mut last_id: std::collections::HashMap<String, (i64, i64)> = Default::default();
    for t in &trades {
        t.validate_at(now).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        assert_eq!(
            (t.exchange.as_str(), t.quote.as_str()),
            ("simulated", "USD")
        );
        assert!(t.event_time_ms > START && t.event_time_ms <= START + 600_000);
        // Ids are contiguous per coin, and in time order.
        if let Some((id, time)) = last_id.get(&t.crypto_id) {
            assert_eq!(t.trade_id, id + 1);
            assert!(t.event_time_ms >= *time);
        }
        last_id.insert(t.crypto_id.clone(), (t.trade_id, t.event_time_ms));
        *per_minute
            .entry((t.crypto_id.clone(), t.event_time_ms / 60_000))
            .or_default() += 1;
    }
    assert_eq!(per_minute.len(), 20 * 10, "every coin trades every minute");
    let mean = trades.len() as f64 / per_minute.len() as f64;
    assert!(
        (30.0..=50.0).contains(&mean),
        "mean {mean} trades per 1m candle"
    );
    assert!(per_minute.values().all(|&n| n >= 10), "{per_minute:?}");
    // Off by default: history mode piles nothing up.
    let (_, mut quiet) = run(&config, 10);
    assert!(quiet.take_trades().is_empty());
}

#[test]
fn trades_per_minute_is_checked() {
    let config = SimConfig {
        trades_per_minute: -1.0,
        ..SimConfig::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("simulator.trades_per_minute"), "{err}");
}
