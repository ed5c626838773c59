//! News: articles with their sentiment (`crypto_news`), filtered and newest first, and the
//! publishers with their article counts.

use std::collections::BTreeMap;
use std::sync::Arc;

use cryptoviz_measurements::names::{NEWS, SOURCE_TAG};
use cryptoviz_measurements::sentiment::Label;
use cryptoviz_store::{Query, Store};

use super::{Between, decode, tag};
use crate::error::ApiResult;
use crate::json::rows;
use crate::model::{NewsArticle, NewsSource};

/// Articles read at most when filtering on fields (coin, sentiment) after the store's filters.
const SCAN_CAP: usize = 50_000;

/// Typed queries over the articles.
#[derive(Clone)]
pub struct News {
    store: Arc<dyn Store>,
}

/// Which articles [`News::articles`] reads.
#[derive(Debug, Clone, Default)]
pub struct NewsQuery {
    /// Publisher.
    pub source: Option<String>,
    /// Only articles mentioning this coin.
    pub coin: Option<String>,
    pub label: Option<Label>,
    /// Publication times.
    pub between: Between,
    pub limit: usize,
    /// Matching articles skipped first.
    pub offset: usize,
}

impl News {
    /// Queries over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        News { store }
    }

    /// Articles matching `q`, newest first.
    pub async fn articles(&self, q: &NewsQuery) -> ApiResult<Vec<NewsArticle>> {
        // Coins and labels are fields, filtered here: read more than asked for.
        let filtered = q.coin.is_some() || q.label.is_some();
        let query = Query {
            measurement: NEWS.to_string(),
            range: q.between.range(),
            tags: q.source.iter().map(|s| tag(SOURCE_TAG, s)).collect(),
            fields: None,
            downsample: None,
            descending: true,
            limit: Some(if filtered {
                SCAN_CAP
            } else {
                q.offset + q.limit
            }),
        };
        let rows: Vec<NewsArticle> = decode(&self.store.query(&query).await?)?;
        Ok(rows
            .into_iter()
            .filter(|a| {
                q.coin.as_ref().is_none_or(|c| a.coins.0.contains(c))
                    && q.label.is_none_or(|l| a.sentiment_label == Some(l))
            })
            .skip(q.offset)
            .take(q.limit)
            .collect())
    }

    /// Every publisher with its article count and newest article's time.
    pub async fn sources(&self) -> ApiResult<Vec<NewsSource>> {
        let mut query = Query::new(NEWS);
        query.fields = Some(vec!["guid".to_string()]);
        let mut by_source: BTreeMap<String, (usize, Option<String>)> = BTreeMap::new();
        for row in rows(&self.store.query(&query).await?) {
            let source = row
                .get(SOURCE_TAG)
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let time = row.get("time").and_then(|v| v.as_str()).map(str::to_string);
            let entry = by_source.entry(source.to_string()).or_default();
            entry.0 += 1;
            // Rows come oldest first: the last one seen is the newest.
            if time.is_some() {
                entry.1 = time;
            }
        }
        Ok(by_source
            .into_iter()
            .map(|(source, (articles, latest))| NewsSource {
                source,
                articles,
                latest,
            })
            .collect())
    }
}
