//! Downsampling against a hand computation.

use cryptoviz_store::{Agg, Downsample, Query, Store};

use crate::support::*;

#[tokio::test]
async fn downsample_1m_to_5m_matches_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Minutes 0..10 for btc with price = minute (minute 3 missing its price) and eth = 100 +
    // minute, written in two unordered writes.
    let mut times_ = Vec::new();
    let mut coins = Vec::new();
    let mut price = Vec::new();
    for m in (0..10).rev() {
        for coin in ["eth", "btc"] {
            times_.push(T0 + m * MIN);
            coins.push(coin);
            let base = if coin == "btc" { 0.0 } else { 100.0 };
            price.push((coin == "eth" || m != 3).then_some(base + m as f64));
        }
    }
    store
        .write(vec![batch(
            "prices",
            times_[..10].to_vec(),
            vec![
                Col::Tag("crypto_id", coins[..10].to_vec()),
                Col::F64("price", price[..10].to_vec()),
            ],
        )])
        .await
        .unwrap();
    store
        .write(vec![batch(
            "prices",
            times_[10..].to_vec(),
            vec![
                Col::Tag("crypto_id", coins[10..].to_vec()),
                Col::F64("price", price[10..].to_vec()),
            ],
        )])
        .await
        .unwrap();
    let ds = Downsample::every(5 * MIN)
        .agg("price", Agg::First, "open")
        .agg("price", Agg::Last, "close")
        .agg("price", Agg::Min, "low")
        .agg("price", Agg::Max, "high")
        .agg("price", Agg::Sum, "sum")
        .agg("price", Agg::Mean, "mean")
        .agg("price", Agg::Count, "n");
    let out = store
        .query(&Query::new("prices").downsample(ds.clone()))
        .await
        .unwrap();
    assert_eq!(
        names(&out),
        [
            "crypto_id",
            "time",
            "open",
            "close",
            "low",
            "high",
            "sum",
            "mean",
            "n"
        ]
    );
    // T0 is a multiple of 5 minutes since the epoch, so bins start at T0 and T0 + 5m.
    assert_eq!(T0 % (5 * MIN), 0);
    assert_eq!(times(&out), [T0, T0, T0 + 5 * MIN, T0 + 5 * MIN]);
    assert_eq!(
        strs(&out, "crypto_id"),
        ["btc", "eth", "btc", "eth"].map(|s| Some(s.to_owned()))
    );
    // btc bin 0: 0,1,2,4 (3 is null); eth bin 0: 100..=104; bins 1: 5..=9 and 105..=109.
    assert_eq!(f64s(&out, "open"), [0.0, 100.0, 5.0, 105.0].map(Some));
    assert_eq!(f64s(&out, "close"), [4.0, 104.0, 9.0, 109.0].map(Some));
    assert_eq!(f64s(&out, "low"), [0.0, 100.0, 5.0, 105.0].map(Some));
    assert_eq!(f64s(&out, "high"), [4.0, 104.0, 9.0, 109.0].map(Some));
    assert_eq!(f64s(&out, "sum"), [7.0, 510.0, 35.0, 535.0].map(Some));
    assert_eq!(f64s(&out, "mean"), [1.75, 102.0, 7.0, 107.0].map(Some));
    assert_eq!(i64s(&out, "n"), [4, 5, 5, 5].map(Some));

    // Filters, descending order and limit apply to bins.
    let out = store
        .query(
            &Query::new("prices")
                .tag("crypto_id", "eth")
                .range(T0 + MIN, T0 + 7 * MIN)
                .downsample(ds)
                .descending()
                .limit(1),
        )
        .await
        .unwrap();
    assert_eq!(times(&out), [T0 + 5 * MIN]);
    assert_eq!(f64s(&out, "open"), [Some(105.0)]);
    assert_eq!(f64s(&out, "close"), [Some(106.0)]);

    let bad = Query::new("prices").downsample(Downsample::every(0).agg("price", Agg::Sum, "s"));
    assert!(store.query(&bad).await.unwrap_err().is_user_error());
}
