//! `crypto_news`: one point per article.
//!
//! Only the publisher (`source`) is a tag: a guid or a title as a tag would make one series
//! per article (unbounded cardinality in InfluxDB). The point's time is the publication time
//! plus a stable sub-millisecond offset per guid (see the consumers' news sink), so distinct
//! articles get distinct points and a replay overwrites the same one.

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::column::{Columns, FieldDef, Kind, read_optional};
use crate::sentiment::Label;
use crate::time::Time;

/// The coin ids an article mentions, stored as one comma-separated `Utf8` field (declared
/// nullable; always written, empty when none) and served as a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoinList(pub Vec<String>);

impl<'de> Deserialize<'de> for CoinList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        Ok(CoinList::parse(raw.as_deref().unwrap_or_default()))
    }
}

impl CoinList {
    /// The ids of a stored comma-separated list.
    pub fn parse(stored: &str) -> Self {
        CoinList(
            stored
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }
}

impl Columns for CoinList {
    type Builders = StringBuilder;
    fn defs(name: &'static str, out: &mut Vec<FieldDef>) {
        out.push(FieldDef {
            name,
            kind: Kind::Text,
            nullable: true,
        });
    }
    fn builders(rows: usize) -> StringBuilder {
        StringBuilder::with_capacity(rows, rows * 16)
    }
    fn append(&self, b: &mut StringBuilder) {
        b.append_value(self.0.join(","));
    }
    fn finish(b: &mut StringBuilder, out: &mut Vec<ArrayRef>) {
        out.push(datafusion::arrow::array::ArrayBuilder::finish(b));
    }
    fn read(batch: &RecordBatch, name: &'static str) -> crate::Result<Vec<Self>> {
        Ok(read_optional::<String>(batch, name)?
            .into_iter()
            .map(|s| CoinList::parse(s.as_deref().unwrap_or_default()))
            .collect())
    }
}

crate::measurement! {
    /// A news article with its sentiment.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    #[schema(as = NewsArticle)]
    pub struct NewsRow in "crypto_news", tags ["source"] {
        /// Publication time.
        #[schema(value_type = String)]
        pub time: Time,
        /// Publisher (feed name).
        pub source: String,
        pub guid: Option<String>,
        pub title: Option<String>,
        pub summary: Option<String>,
        pub link: Option<String>,
        /// Publication time, epoch milliseconds.
        pub published_at: Option<i64>,
        /// When the producer fetched it, epoch milliseconds (stored, not served).
        #[serde(skip_serializing, default)]
        pub fetched_at: Option<i64>,
        pub sentiment_score: Option<f64>,
        pub sentiment_label: Option<Label>,
        /// Coin ids the article mentions (always served, empty when none; a stored row
        /// without the column reads as empty).
        #[schema(value_type = Vec<String>, required = true)]
        #[serde(default)]
        pub coins: CoinList,
    }
}
