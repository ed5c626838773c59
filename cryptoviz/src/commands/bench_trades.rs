//! `cryptoviz bench --trades`: exchange trades through the whole trade path.
//!
//! validate → encode → log (`crypto-trades`) → decode → raw trades + trade candles → store,
//! the producer and the trade consumer running concurrently as in `cryptoviz run`. The clock
//! stops when the consumer has read the last trade and drained its windows (everything
//! written and committed). The trades are synthetic but shaped like a busy market: ten coins on
//! two exchanges, eight trades per millisecond overall, so most milliseconds of a series hold
//! several trades. The stored `crypto_trades` points are then counted: every trade must be
//! one.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use cryptoviz_consumers::{ConsumerStats, TradePipeline};
use cryptoviz_log::Log;
use cryptoviz_producers::{Publisher, SourceStatus};
use cryptoviz_schemas::{CryptoTrade, TakerSide};
use cryptoviz_store::{Query, Store};
use serde::Serialize;

use super::produce::HISTORY_START_MS;
use crate::config::Config;

const COINS: [&str; 10] = [
    "bitcoin",
    "ethereum",
    "solana",
    "ripple",
    "cardano",
    "dogecoin",
    "polkadot",
    "litecoin",
    "chainlink",
    "avalanche-2",
];
const EXCHANGES: [(&str, &str); 2] = [("binance", "USDT"), ("kraken", "USD")];
/// Trades per millisecond over all series.
const PER_MS: u64 = 8;
/// Trades published per append.
const CHUNK: u64 = 20_000;

/// What the trade bench measured.
#[derive(Debug, Serialize)]
struct TradeBenchReport {
    trades: u64,
    seconds: f64,
    trades_per_sec: f64,
    stored_trades: usize,
    candles: u64,
    late_rows: u64,
    dead_letters: u64,
    commits: u64,
    peak_rss_mb: f64,
}

/// The `n`-th synthetic trade: series round-robin, ids contiguous per series.
fn trade(n: u64) -> CryptoTrade {
    let series = (n % (COINS.len() * EXCHANGES.len()) as u64) as usize;
    let (coin, (exchange, quote)) = (COINS[series / 2], EXCHANGES[series % 2]);
    let id = (n / (COINS.len() * EXCHANGES.len()) as u64) as i64;
    let wave = ((n as f64) / 997.0).sin();
    let ts = HISTORY_START_MS + (n / PER_MS) as i64;
    CryptoTrade {
        exchange: exchange.to_string(),
        symbol: format!("{coin}{quote}"),
        crypto_id: coin.to_string(),
        quote: quote.to_string(),
        trade_id: id,
        price: 100.0 * (series + 1) as f64 * (1.0 + 0.01 * wave),
        quantity: 0.001 * (1 + n % 13) as f64,
        side: if n.is_multiple_of(3) {
            TakerSide::Sell
        } else {
            TakerSide::Buy
        },
        event_time_ms: ts,
        receive_time_ms: ts,
    }
}

/// Publishes `trades` synthetic trades to `log`.
async fn publish(log: Arc<dyn Log>, trades: u64) -> anyhow::Result<()> {
    let publisher = Publisher::new(log, "bench", SourceStatus::new("bench"));
    let now = cryptoviz_schemas::now_ms();
    let mut n = 0;
    while n < trades {
        let batch: Vec<CryptoTrade> = (n..(n + CHUNK).min(trades)).map(trade).collect();
        let report = publisher.publish(&batch, now).await?;
        if report.rejected > 0 {
            bail!("{} synthetic trades were rejected", report.rejected);
        }
        n += batch.len() as u64;
    }
    Ok(())
}

/// Runs the trade benchmark over `log` and `store` and prints its report.
pub(crate) async fn bench(
    config: &Config,
    log: Arc<dyn Log>,
    store: Arc<dyn Store>,
    trades: u64,
    json: bool,
) -> anyhow::Result<()> {
    let stats = Arc::new(ConsumerStats::default());
    let mut group = config.consumer.clone();
    group.group = format!("{}-trades-bench", group.group);
    let mut pipeline = TradePipeline::new(log.clone(), store.clone(), group, stats.clone()).await?;
    let started = Instant::now();
    let mut producer = Some(tokio::spawn(publish(log, trades)));
    let mut idle_after_producer = 0;
    while stats.ticks() < trades {
        let read = pipeline.step().await?;
        if producer.as_ref().is_some_and(|p| p.is_finished())
            && let Some(p) = producer.take()
        {
            p.await.context("producer task")??;
        }
        if producer.is_none() && read == 0 {
            idle_after_producer += 1;
            if idle_after_producer > 50 {
                bail!(
                    "the producer finished but only {} of {trades} trades arrived",
                    stats.ticks()
                );
            }
        }
    }
    pipeline.finish().await?;
    if let Some(p) = producer {
        p.await.context("producer task")??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let s = stats.snapshot();
    let stored_trades: usize = store
        .query(&Query::new("crypto_trades").fields(["trade_id"]))
        .await?
        .iter()
        .map(|b| b.num_rows())
        .sum();
    let report = TradeBenchReport {
        trades: s.ticks,
        seconds,
        trades_per_sec: s.ticks as f64 / seconds,
        stored_trades,
        candles: s.windows,
        late_rows: s.late_rows,
        dead_letters: s.dead_letters,
        commits: s.commits,
        peak_rss_mb: super::bench::peak_rss_mb(),
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} trades in {:.3} s: {:.0} trades/s end to end; {} stored, {} candles written; \
             peak RSS {:.1} MB",
            report.trades,
            report.seconds,
            report.trades_per_sec,
            report.stored_trades,
            report.candles,
            report.peak_rss_mb
        );
    }
    if report.stored_trades as u64 != trades {
        bail!("{trades} trades published but {stored_trades} stored");
    }
    Ok(())
}
