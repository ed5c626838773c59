//! Market: the latest snapshot of each coin and source (`crypto_market`), with the series'
//! fundamentals (`crypto_coin_info`) and the volatility of its latest 1-hour window
//! (`crypto_analytics`).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use cryptoviz_measurements::Time;
use cryptoviz_measurements::names::{COIN_INFO, MARKET};
use cryptoviz_store::Store;
use serde::Deserialize;

use super::{Analytics, decode, tag};
use crate::error::ApiResult;
use crate::model::{Coin, CoinInfoRow};
use crate::params::{CoinSort, Order, Window, rfc3339};

/// Typed queries over the coin snapshots.
#[derive(Clone)]
pub struct Market {
    store: Arc<dyn Store>,
}

/// The latest `crypto_market` row of a series (coin × source). Its name and fundamentals
/// come from `crypto_coin_info` ([`Market::snapshots`]); rows written before they moved
/// there keep their own, read here.
#[derive(Debug, Clone, Deserialize)]
pub struct Snapshot {
    pub time: Time,
    pub crypto_id: String,
    pub symbol: String,
    pub source: String,
    pub name: Option<String>,
    pub price_usd: f64,
    pub market_cap: Option<f64>,
    pub volume_24h: Option<f64>,
    pub change_1h: Option<f64>,
    pub change_24h: Option<f64>,
    pub change_7d: Option<f64>,
    pub ath: Option<f64>,
    pub atl: Option<f64>,
    pub circulating_supply: Option<f64>,
}

impl Snapshot {
    /// Takes the series' newest fundamentals from `crypto_coin_info`.
    fn fill_info(&mut self, info: &CoinInfoRow) {
        if info.name.as_deref().is_some_and(|n| !n.is_empty()) {
            self.name.clone_from(&info.name);
        }
        self.ath = info.ath.or(self.ath);
        self.atl = info.atl.or(self.atl);
        self.circulating_supply = info.circulating_supply.or(self.circulating_supply);
    }

    /// As a [`Coin`], with the volatility of its latest 1-hour window.
    pub fn into_coin(self, volatility_pct: Option<f64>) -> Coin {
        Coin {
            id: self.crypto_id,
            symbol: self.symbol,
            name: self.name,
            source: self.source,
            updated_at: rfc3339(self.time.0),
            price_usd: self.price_usd,
            market_cap: self.market_cap,
            volume_24h: self.volume_24h,
            change_1h: self.change_1h,
            change_24h: self.change_24h,
            change_7d: self.change_7d,
            volatility_pct,
            ath: self.ath,
            atl: self.atl,
            circulating_supply: self.circulating_supply,
            sparkline: None,
        }
    }
}

impl Market {
    /// Queries over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Market { store }
    }

    /// The latest row of every series of `coin` (or of every coin), newest first, without
    /// the fundamentals.
    pub async fn latest(&self, coin: Option<&str>) -> ApiResult<Vec<Snapshot>> {
        let tags: Vec<_> = coin.map(|c| tag("crypto_id", c)).into_iter().collect();
        let mut out: Vec<Snapshot> = decode(&self.store.last(MARKET, &tags).await?)?;
        out.sort_by_key(|r| std::cmp::Reverse(r.time));
        Ok(out)
    }

    /// [`Market::latest`] with each series' newest fundamentals (name, ATH, ATL, supply).
    pub async fn snapshots(&self, coin: Option<&str>) -> ApiResult<Vec<Snapshot>> {
        let mut markets = self.latest(coin).await?;
        let tags: Vec<_> = coin.map(|c| tag("crypto_id", c)).into_iter().collect();
        let info: HashMap<(String, String), CoinInfoRow> =
            decode::<CoinInfoRow>(&self.store.last(COIN_INFO, &tags).await?)?
                .into_iter()
                .map(|row| ((row.crypto_id.clone(), row.source.clone()), row))
                .collect();
        for m in &mut markets {
            if let Some(i) = info.get(&(m.crypto_id.clone(), m.source.clone())) {
                m.fill_info(i);
            }
        }
        Ok(markets)
    }

    /// Every source's latest snapshot of `coin` (or of every coin) as a [`Coin`], newest
    /// first.
    pub async fn coins_by_source(&self, coin: Option<&str>) -> ApiResult<Vec<Coin>> {
        let snapshots = self.snapshots(coin).await?;
        if snapshots.is_empty() {
            return Ok(Vec::new());
        }
        let volatility = self.volatility(coin).await?;
        Ok(snapshots
            .into_iter()
            .map(|row| {
                let vol = volatility
                    .get(&(row.crypto_id.clone(), row.source.clone()))
                    .copied();
                row.into_coin(vol)
            })
            .collect())
    }

    /// Every coin's newest snapshot across sources, largest market cap first.
    pub async fn coins(&self) -> ApiResult<Vec<Coin>> {
        let mut by_coin: HashMap<String, Coin> = HashMap::new();
        for coin in self.coins_by_source(None).await? {
            // Newest first: the first one per coin wins.
            by_coin.entry(coin.id.clone()).or_insert(coin);
        }
        let mut coins: Vec<Coin> = by_coin.into_values().collect();
        sort(&mut coins, CoinSort::MarketCap, Order::Desc);
        Ok(coins)
    }

    /// The time (ns) and source of a coin's newest snapshot, from `source` if given.
    pub async fn newest(
        &self,
        coin: &str,
        source: Option<&str>,
    ) -> ApiResult<Option<(i64, String)>> {
        let latest = self.latest(Some(coin)).await?;
        let row = match source {
            Some(s) => latest.into_iter().find(|r| r.source == s),
            None => latest.into_iter().next(),
        };
        Ok(row.map(|r| (r.time.0, r.source)))
    }

    /// Volatility of the latest 1-hour window per (coin, source).
    async fn volatility(&self, coin: Option<&str>) -> ApiResult<HashMap<(String, String), f64>> {
        let windows = Analytics::new(self.store.clone())
            .latest(Some(Window::H1), coin)
            .await?;
        Ok(windows
            .into_iter()
            .filter_map(|w| Some(((w.crypto_id, w.source), w.volatility_pct?)))
            .collect())
    }
}

/// Sorts `coins` by `by`: coins without the value go last in both orders, ties by id for a
/// stable answer.
pub fn sort(coins: &mut [Coin], by: CoinSort, order: Order) {
    let key = |c: &Coin| -> Option<f64> {
        match by {
            CoinSort::MarketCap => c.market_cap,
            CoinSort::Price => Some(c.price_usd),
            CoinSort::Volume => c.volume_24h,
            CoinSort::Change1h => c.change_1h,
            CoinSort::Change24h => c.change_24h,
            CoinSort::Change7d => c.change_7d,
            CoinSort::Volatility => c.volatility_pct,
        }
    };
    coins.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => {
            let o = x.total_cmp(&y);
            let o = if order == Order::Desc { o.reverse() } else { o };
            o.then_with(|| a.id.cmp(&b.id))
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.id.cmp(&b.id),
    });
}
