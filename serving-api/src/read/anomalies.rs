//! Anomalies: the consumers' anomaly episodes (`crypto_anomalies`), filtered and newest
//! first, and the latest update of every episode series for the live feed.

use std::sync::Arc;

use cryptoviz_measurements::anomalies::{AnomalyKind, Severity};
use cryptoviz_measurements::names::ANOMALIES;
use cryptoviz_store::{Query, Store};

use super::{Between, decode, tag};
use crate::error::ApiResult;
use crate::model::AnomalyRow;

/// Rows read at most when filtering on a field (severity) after the store's filters.
const SCAN_CAP: usize = 50_000;

/// Typed queries over the anomaly episodes.
#[derive(Clone)]
pub struct Anomalies {
    store: Arc<dyn Store>,
}

/// Which episodes [`Anomalies::episodes`] reads.
#[derive(Debug, Clone, Default)]
pub struct AnomalyQuery {
    pub coin: Option<String>,
    pub kind: Option<AnomalyKind>,
    pub severity: Option<Severity>,
    /// Episode starts.
    pub between: Between,
    /// Most episodes returned.
    pub limit: usize,
}

impl Anomalies {
    /// Queries over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Anomalies { store }
    }

    /// Episodes matching `q`, newest first.
    pub async fn episodes(&self, q: &AnomalyQuery) -> ApiResult<Vec<AnomalyRow>> {
        let mut tags: Vec<_> = q.coin.iter().map(|c| tag("crypto_id", c)).collect();
        tags.extend(q.kind.map(|k| tag("kind", k.as_str())));
        let query = Query {
            measurement: ANOMALIES.to_string(),
            range: q.between.range(),
            tags,
            fields: None,
            downsample: None,
            descending: true,
            // Severity is a field, filtered here: read more than asked for.
            limit: Some(if q.severity.is_some() {
                SCAN_CAP
            } else {
                q.limit
            }),
        };
        let rows: Vec<AnomalyRow> = decode(&self.store.query(&query).await?)?;
        Ok(rows
            .into_iter()
            .filter(|r| q.severity.is_none_or(|s| r.severity == s))
            .take(q.limit)
            .collect())
    }

    /// The latest update of every episode series (coin × kind × source).
    pub async fn latest(&self) -> ApiResult<Vec<AnomalyRow>> {
        decode(&self.store.last(ANOMALIES, &[]).await?)
    }
}
