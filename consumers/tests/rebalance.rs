//! Two members of one group on the embedded log: a second joins mid-stream, the first leaves
//! mid-stream, and the stored windows are exactly those of the ticks — none skipped because
//! another partition had closed further.

mod common;

use std::sync::Arc;

use common::{open, publish, simulated};
use cryptoviz_consumers::pipeline::WINDOW_1M;
use cryptoviz_consumers::{ConsumerConfig, ConsumerStats, PricePipeline, verify};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_and_one_leaving_mid_stream_lose_no_window() {
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    let ticks = simulated(40);
    publish(log.clone(), &ticks).await;
    let config = ConsumerConfig {
        flush_rows: 300,
        poll_max: 100,
        ..ConsumerConfig::default()
    };
    let member = || async {
        let stats = Arc::new(ConsumerStats::default());
        let p = PricePipeline::new(log.clone(), store.clone(), config.clone(), stats.clone())
            .await
            .unwrap();
        (p, stats)
    };

    // The first member reads alone for a while.
    let (mut first, first_stats) = member().await;
    while first_stats.ticks() < 4_000 {
        first.step().await.unwrap();
    }
    // A second joins; the first reads three polls to its one, so their partitions' closing
    // points drift apart.
    let (mut second, second_stats) = member().await;
    for _ in 0..60 {
        for _ in 0..3 {
            first.step().await.unwrap();
        }
        second.step().await.unwrap();
    }
    assert!(first.assigned_partitions() > 0 && second.assigned_partitions() > 0);
    assert!(second_stats.ticks() > 0, "the second member read nothing");
    // The first leaves mid-stream (drains and commits); the second inherits its partitions.
    first.finish().await.unwrap();
    let mut idle = 0;
    while idle < 20 {
        if second.step().await.unwrap() == 0 {
            idle += 1;
        } else {
            idle = 0;
        }
    }
    assert_eq!(second.assigned_partitions(), 3);
    second.finish().await.unwrap();
    assert_eq!(second_stats.snapshot().late_rows, 0);

    let raw = store
        .sql("SELECT COUNT(*) AS n FROM crypto_market")
        .await
        .unwrap();
    assert_eq!(
        raw[0].column(0).as_primitive::<Int64Type>().value(0),
        ticks.len() as i64
    );
    // Every 1-minute window holds all of its ticks: a batch computation over the raw points
    // finds the same windows, exactly.
    let report = verify::compare_windows(&store, WINDOW_1M.0, WINDOW_1M.1)
        .await
        .unwrap();
    assert!(report.matches(), "{report:?}");
    assert_eq!(report.expected, 41 * 20);
}
