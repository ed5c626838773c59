//! A less complete emission of a window never replaces a more complete one in the store.

mod common;

use std::sync::Arc;

use common::{open, publish, simulated};

use cryptoviz_consumers::{
    ConsumerConfig, ConsumerStats, PricePipeline, ReplayBounds, ReplayFrom, ReplayTo,
};
use cryptoviz_schemas::topics;
use cryptoviz_store::{EmbeddedStore, Query, Store};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;

/// (status, count) of every stored 1-hour window.
async fn hour_windows(store: &EmbeddedStore) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for b in store
        .query(&Query::new("crypto_analytics").tag("window", "1h"))
        .await
        .unwrap()
    {
        let id = b.column_by_name("crypto_id").unwrap().as_string::<i32>();
        let status = b.column_by_name("status").unwrap().as_string::<i32>();
        let count = b
            .column_by_name("count")
            .unwrap()
            .as_primitive::<Int64Type>();
        for r in 0..b.num_rows() {
            out.push((
                id.value(r).to_string(),
                status.value(r).to_string(),
                count.value(r),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_ending_mid_window_does_not_overwrite_the_closed_window_with_a_partial() {
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    // 70 minutes: the live consumer closes the first hour.
    let ticks = simulated(70);
    publish(log.clone(), &ticks).await;
    let config = ConsumerConfig {
        flush_rows: 5_000,
        poll_max: 2_000,
        ..ConsumerConfig::default()
    };
    let stats = Arc::new(ConsumerStats::default());
    let mut live = PricePipeline::new(log.clone(), store.clone(), config.clone(), stats.clone())
        .await
        .unwrap();
    while stats.ticks() < ticks.len() as u64 {
        live.step().await.unwrap();
    }
    live.finish().await.unwrap();
    let closed = hour_windows(&store).await;
    let first_hour: Vec<_> = closed.iter().filter(|w| w.1 == "closed").cloned().collect();
    assert_eq!(first_hour.len(), 20, "{closed:?}");

    // A replay of the first 500 records of each partition ends with the first hour open: it
    // would write it as partial, with a fraction of its ticks.
    let bounds = ReplayBounds::new(
        log.as_ref(),
        &[topics::PRICES],
        ReplayFrom::Beginning,
        Some(ReplayTo::Offset(500)),
        config.allowed_lateness.as_millis() as i64,
    )
    .await
    .unwrap();
    let replay_config = ConsumerConfig {
        group: "replay-test".into(),
        ..config
    };
    let mut replay = PricePipeline::replay(
        log.clone(),
        store.clone(),
        replay_config,
        Arc::new(ConsumerStats::default()),
        bounds,
    )
    .await
    .unwrap();
    while !replay.replay_bounds().unwrap().complete() {
        replay.step().await.unwrap();
    }
    replay.finish().await.unwrap();
    let after = hour_windows(&store).await;
    let first_hour_after: Vec<_> = after.iter().filter(|w| w.1 == "closed").cloned().collect();
    assert_eq!(
        first_hour_after, first_hour,
        "closed windows are kept whole"
    );
}
