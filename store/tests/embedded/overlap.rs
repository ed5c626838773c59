//! Dedup only where files overlap: overlapping files still deduplicate newest-wins, files
//! that cannot share a key are read as they are (and counted from their metadata), and any
//! mix of writes and compactions answers like a brute-force last-write-wins reference.

use std::collections::BTreeMap;

use cryptoviz_store::{EmbeddedStore, Query, RecordBatch, Store};
use datafusion::arrow::array::{Array, Int64Array, StringArray};
use proptest::prelude::*;

use crate::support::*;

/// The physical plan of `sql`, as DataFusion's `EXPLAIN` prints it.
async fn physical_plan(store: &EmbeddedStore, sql: &str) -> String {
    let batches = store.sql(&format!("EXPLAIN {sql}")).await.unwrap();
    let b = concat(&batches).unwrap();
    let kind = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
    let plan = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
    (0..b.num_rows())
        .find(|&i| kind.value(i) == "physical_plan")
        .map(|i| plan.value(i).to_owned())
        .expect("a physical plan")
}

async fn count(store: &EmbeddedStore, sql: &str) -> i64 {
    let batches: Vec<RecordBatch> = store.sql(sql).await.unwrap();
    let b = concat(&batches).unwrap();
    b.column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0)
}

const COUNT: &str = "SELECT count(*) FROM prices";

#[tokio::test]
async fn overlapping_files_keep_the_newest_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Minutes 0..10, then 5..15 rewritten, then minute 7 of btc once more (a late write
    // inside both ranges), then a file that overlaps nothing.
    let first: Vec<_> = (0..10)
        .flat_map(|m| [("btc", T0 + m * MIN, 1.0), ("eth", T0 + m * MIN, 1.0)])
        .collect();
    let second: Vec<_> = (5..15)
        .flat_map(|m| [("btc", T0 + m * MIN, 2.0), ("eth", T0 + m * MIN, 2.0)])
        .collect();
    store.write(vec![prices(&first)]).await.unwrap();
    store.write(vec![prices(&second)]).await.unwrap();
    store
        .write(vec![prices(&[("btc", T0 + 7 * MIN, 3.0)])])
        .await
        .unwrap();
    store
        .write(vec![prices(&[("btc", T0 + 60 * MIN, 4.0)])])
        .await
        .unwrap();
    assert!(physical_plan(&store, COUNT).await.contains("WindowAggExec"));

    let out = store
        .query(&Query::new("prices").tag("crypto_id", "btc"))
        .await
        .unwrap();
    let mut want: Vec<Option<f64>> = vec![Some(1.0); 5];
    want.extend([Some(2.0); 10]);
    want[7] = Some(3.0);
    want.push(Some(4.0));
    assert_eq!(f64s(&out, "price"), want);
    assert_eq!(count(&store, COUNT).await, 31);
    let sum = store
        .sql("SELECT sum(price) AS s FROM prices WHERE crypto_id = 'btc'")
        .await
        .unwrap();
    assert_eq!(f64s(&sum, "s"), [Some(5.0 + 18.0 + 3.0 + 4.0)]);

    // Compacted, the run is one rank: nothing left to deduplicate, same answers. A later
    // overwrite of a compacted row still wins.
    store.compact().await.unwrap();
    assert!(!physical_plan(&store, COUNT).await.contains("WindowAggExec"));
    assert_eq!(count(&store, COUNT).await, 31);
    store
        .write(vec![prices(&[("eth", T0 + 9 * MIN, 5.0)])])
        .await
        .unwrap();
    assert_eq!(count(&store, COUNT).await, 31);
    let eth9 = Query::new("prices")
        .tag("crypto_id", "eth")
        .range(T0 + 9 * MIN, T0 + 10 * MIN);
    assert_eq!(
        f64s(&store.query(&eth9).await.unwrap(), "price"),
        [Some(5.0)]
    );
}

#[tokio::test]
async fn files_that_do_not_overlap_are_read_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Three writes in time order, the same series in each: 3 × 2 × 20 distinct rows.
    for w in 0..3 {
        let rows: Vec<_> = (0..20)
            .flat_map(|m| {
                let t = T0 + (w * 20 + m) * MIN;
                [("btc", t, w as f64), ("eth", t, w as f64)]
            })
            .collect();
        store.write(vec![prices(&rows)]).await.unwrap();
    }
    assert_eq!(store.file_count("prices"), 3);
    // No dedup node in the way: the count comes from the Parquet metadata, not a scan.
    let plan = physical_plan(&store, COUNT).await;
    assert!(!plan.contains("WindowAggExec"), "{plan}");
    assert!(!plan.contains("DataSourceExec"), "{plan}");
    assert_eq!(count(&store, COUNT).await, 120);
    let all = store.query(&Query::new("prices")).await.unwrap();
    assert_eq!(num_rows(&all), 120);
    // A range across two files, and a tag filter.
    let q = Query::new("prices")
        .tag("crypto_id", "eth")
        .range(T0 + 15 * MIN, T0 + 25 * MIN);
    assert_eq!(
        f64s(&store.query(&q).await.unwrap(), "price"),
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0].map(Some)
    );
}

/// A write: `(series, minute, value)` rows; a compaction; closing and opening the store.
#[derive(Clone, Debug)]
enum Op {
    Write(Vec<(usize, i64, i64)>),
    Compact,
    Reopen,
}

const SERIES: [&str; 3] = ["ada", "btc", "eth"];

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // Each write covers a window of minutes: some overlap earlier writes, some do not.
    let write = (0i64..60, 1i64..12, 1usize..25).prop_flat_map(|(start, width, n)| {
        prop::collection::vec((0usize..3, start..start + width, -1000i64..1000), n)
            .prop_map(Op::Write)
    });
    prop::collection::vec(
        prop_oneof![6 => write, 1 => Just(Op::Compact), 1 => Just(Op::Reopen)],
        1..10,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any mix of overlapping and disjoint writes and compactions reads back as the
    /// brute-force reference: the last write of every (series, time) wins.
    #[test]
    fn any_history_reads_like_last_write_wins(ops in ops(), lo in 0i64..70, len in 1i64..40) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let mut config = config(dir.path());
            config.target_file_rows = 16;
            let mut store = EmbeddedStore::open(config.clone()).unwrap();
            let mut reference: BTreeMap<(i64, &str), f64> = BTreeMap::new();
            for op in &ops {
                match op {
                    Op::Write(rows) => {
                        let rows: Vec<(&'static str, i64, f64)> = rows
                            .iter()
                            .map(|&(s, m, v)| (SERIES[s], T0 + m * MIN, v as f64))
                            .collect();
                        for &(s, t, v) in &rows {
                            reference.insert((t, s), v);
                        }
                        store.write(vec![prices(&rows)]).await.unwrap();
                    }
                    Op::Compact => {
                        store.compact().await.unwrap();
                    }
                    Op::Reopen => {
                        drop(store);
                        store = EmbeddedStore::open(config.clone()).unwrap();
                    }
                }
            }
            let expect = |range: Option<(i64, i64)>| -> Vec<String> {
                reference
                    .iter()
                    .filter(|((t, _), _)| range.is_none_or(|(a, b)| *t >= a && *t < b))
                    .map(|((t, s), v)| format!("{s},{t},{v}"))
                    .collect()
            };
            let got = |batches: &[RecordBatch]| -> Vec<String> {
                if num_rows(batches) == 0 {
                    return Vec::new();
                }
                let (s, t, v) = (strs(batches, "crypto_id"), times(batches), f64s(batches, "price"));
                (0..t.len())
                    .map(|i| format!("{},{},{}", s[i].as_deref().unwrap(), t[i], v[i].unwrap()))
                    .collect()
            };
            let all = store.query(&Query::new("prices")).await.unwrap();
            assert_eq!(got(&all), expect(None), "{ops:?}");
            if reference.is_empty() {
                return; // no write: no `prices` table for SQL
            }
            let (a, b) = (T0 + lo * MIN, T0 + (lo + len) * MIN);
            let ranged = store.query(&Query::new("prices").range(a, b)).await.unwrap();
            assert_eq!(got(&ranged), expect(Some((a, b))), "{ops:?}");
            assert_eq!(count(&store, COUNT).await as usize, reference.len(), "{ops:?}");
            let sql = store
                .sql("SELECT crypto_id, time, price FROM prices ORDER BY time, crypto_id")
                .await
                .unwrap();
            assert_eq!(got(&sql), expect(None), "{ops:?}");
        });
    }
}
