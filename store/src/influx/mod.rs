//! The InfluxDB backend of the [`Store`] trait: points go out as line protocol over HTTP and
//! come back through InfluxQL.
//!
//! # Mapping
//! - **Measurements** are InfluxDB measurements (`crypto_market`, `crypto_analytics`,
//!   `crypto_anomalies`, `crypto_news`, `crypto_sentiment`, `fear_greed`).
//! - **Tags** are the batch's tag columns, which the consumers keep to low-cardinality keys
//!   (coin id, symbol, source, window); a news guid or a price must be a field, since every
//!   distinct tag value makes a series in InfluxDB's index. An empty tag value is not written
//!   (InfluxDB has none) and reads back as `""`. Tag keys and values with a backslash or a
//!   newline are rejected: the 1.x parser cannot carry them.
//! - **Fields**: Float64 (Rust's shortest round-trip text; `1` is a float to InfluxDB),
//!   Int64 (`i` suffix), Utf8 (quoted, `"` and `\` escaped, newlines kept), Boolean. Null
//!   and non-finite float fields are omitted; a row with no field left is skipped (InfluxDB
//!   has no point without a field).
//! - **Time** is written and read in nanoseconds (`precision=ns`, `epoch=ns`).
//!
//! # Writes
//! Each [`Store::write`] is encoded, cut into requests of `batch_points` lines, gzipped
//! (`gzip`, by default unless the server is local) and sent `write_concurrency` requests at a
//! time, each retried on 429/5xx/connection errors with exponential back-off (honouring
//! `Retry-After`). Writes follow one another, so a later write's row of the same identity
//! wins; within one write, two rows of one identity win in order only when they fall in the
//! same request (known limitation: the consumers' windows emitted twice in one flush, e.g.
//! provisional then closed, can land in two requests in flight at once).
//! `write` returns only when every request got its 204; exhausting the retry budget returns
//! a *retryable* [`Error::Unavailable`], so the consumer keeps its offsets and data. A body
//! InfluxDB rejects (400: bad line, field type conflict) is a permanent error carrying
//! InfluxDB's message. Time-based batching belongs to the caller: a `write` is durable when
//! it returns, so nothing lingers here.
//!
//! # Reads
//! InfluxQL over `/query` (which 1.x serves, and 2.x/3.x through a DBRP mapping), names
//! double-quoted and values single-quoted with escapes. Tag and field keys, with field types,
//! come from `SHOW TAG KEYS` / `SHOW FIELD KEYS`, cached per measurement and refreshed when
//! a result mentions an unknown key.
//!
//! # What differs from the embedded store
//! - **Overwrite is per field**: InfluxDB identifies a point by measurement + tag set +
//!   time like the trait, but merges fields: a field null in the new write keeps its old
//!   value instead of becoming null.
//! - Column order: tags sorted by name (InfluxDB does not keep the order of first write) and,
//!   when all fields are read, fields sorted by name.
//! - A row whose selected fields are all null is not returned (InfluxDB never materializes
//!   it); a downsample bin appears only when it has a value.
//! - A field's type is fixed per shard by its first write; a write of another type fails with
//!   a 400 rather than [`Error::SchemaConflict`].
//! - `flush` has nothing to do: writes are acknowledged synchronously.

mod client;
mod config;
mod convert;
mod influxql;
mod line_protocol;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::task::Poll;

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::sync::OnceCell;

pub use config::{InfluxApi, InfluxConfig, RetryConfig};
pub use line_protocol::{
    MAX_TAG_VALUE_BYTES, MAX_TIME_NS, MIN_TIME_NS, Unrepresentable, tag_value_is_representable,
    time_is_representable,
};

use crate::Store;
use crate::batch::{TIME_COLUMN, WriteBatch};
use crate::error::{Error, Result};
use crate::query::Query;
use client::Client;
use convert::{Order, to_batches};

/// Field names with their Arrow types.
type TypedFields = Vec<(String, DataType)>;

/// Tag keys (sorted) and typed field keys (sorted) of a measurement.
#[derive(Debug)]
struct Keys {
    tags: Vec<String>,
    fields: Vec<(String, DataType)>,
}

impl Keys {
    fn field(&self, name: &str) -> Option<&DataType> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// A [`Store`] in an InfluxDB server; see the module docs for the mapping.
pub struct InfluxStore {
    client: Client,
    cfg: InfluxConfig,
    keys: Mutex<HashMap<String, Arc<Keys>>>,
    database_ready: OnceCell<()>,
}

impl std::fmt::Debug for InfluxStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InfluxStore")
            .field("url", &config::redact_url(&self.cfg.url))
            .field("database", &self.cfg.database)
            .field("api", &self.cfg.api)
            .finish_non_exhaustive()
    }
}

impl InfluxStore {
    /// Validates the config and builds the HTTP client; does not contact the server (see
    /// [`Store::ping`]).
    pub fn new(cfg: InfluxConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(InfluxStore {
            client: Client::new(cfg.clone())?,
            cfg,
            keys: Mutex::new(HashMap::new()),
            database_ready: OnceCell::new(),
        })
    }

    /// Number of points of `measurement` that have `field` (InfluxQL `count`), for checks
    /// and benchmarks.
    pub async fn count(&self, measurement: &str, field: &str) -> Result<u64> {
        let q = format!(
            "SELECT count({}) FROM {}",
            influxql::ident(field),
            influxql::ident(measurement)
        );
        Ok(self
            .client
            .query(&q)
            .await?
            .into_iter()
            .flat_map(|s| s.values)
            .filter_map(|row| row.get(1).and_then(serde_json::Value::as_u64))
            .sum())
    }

    async fn ensure_database(&self) -> Result<()> {
        if !self.cfg.create_database || self.cfg.api != InfluxApi::V1 {
            return Ok(());
        }
        self.database_ready
            .get_or_try_init(|| async {
                let q = format!("CREATE DATABASE {}", influxql::ident(&self.cfg.database));
                self.client.query(&q).await.map(|_| ())
            })
            .await
            .map(|_| ())
    }

    /// Keys of a measurement, `None` when it has no field (does not exist).
    async fn keys(&self, measurement: &str, refresh: bool) -> Result<Option<Arc<Keys>>> {
        if !refresh && let Some(k) = self.keys.lock().get(measurement) {
            return Ok(Some(k.clone()));
        }
        let m = influxql::ident(measurement);
        let mut fields: Vec<(String, DataType)> = Vec::new();
        for s in self
            .client
            .query(&format!("SHOW FIELD KEYS FROM {m}"))
            .await?
        {
            for row in s.values {
                let (Some(name), Some(ty)) = (
                    row.first().and_then(|v| v.as_str()),
                    row.get(1)
                        .and_then(|v| v.as_str())
                        .and_then(convert::field_type),
                ) else {
                    continue;
                };
                // The same key can be listed once per type when shards disagree: keep the first.
                if !fields.iter().any(|(n, _)| n == name) {
                    fields.push((name.to_owned(), ty));
                }
            }
        }
        if fields.is_empty() {
            self.keys.lock().remove(measurement);
            return Ok(None);
        }
        let mut tags: Vec<String> = Vec::new();
        for s in self
            .client
            .query(&format!("SHOW TAG KEYS FROM {m}"))
            .await?
        {
            tags.extend(
                s.values
                    .iter()
                    .filter_map(|row| row.first().and_then(|v| v.as_str()).map(str::to_owned)),
            );
        }
        tags.sort();
        tags.dedup();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let keys = Arc::new(Keys { tags, fields });
        self.keys
            .lock()
            .insert(measurement.to_owned(), keys.clone());
        Ok(Some(keys))
    }

    /// Keys that know every tag of `filters` and every field of `wanted`, refreshing the
    /// cache once if needed; `None` if the measurement does not exist.
    async fn keys_covering(
        &self,
        measurement: &str,
        filters: &[(String, String)],
        wanted: &[&str],
    ) -> Result<Option<Arc<Keys>>> {
        let covers = |k: &Keys| {
            filters.iter().all(|(t, _)| k.tags.contains(t))
                && wanted.iter().all(|f| k.field(f).is_some())
        };
        match self.keys(measurement, false).await? {
            Some(k) if covers(&k) => Ok(Some(k)),
            _ => self.keys(measurement, true).await,
        }
    }

    /// Output fields of a query with their types, validated like the embedded store does.
    fn output_fields(keys: &Keys, q: &Query) -> Result<(Vec<String>, TypedFields)> {
        let field_type = |name: &str| -> Result<DataType> {
            if name == TIME_COLUMN || keys.tags.iter().any(|t| t == name) {
                return Err(Error::InvalidQuery(format!(
                    "`{name}` is not a field (it is `time` or a tag)"
                )));
            }
            keys.field(name)
                .cloned()
                .ok_or_else(|| Error::InvalidQuery(format!("unknown field `{name}`")))
        };
        match (&q.downsample, &q.fields) {
            (Some(ds), _) => {
                let out = ds.outputs(&keys.tags, field_type)?;
                Ok((Vec::new(), out))
            }
            (None, Some(fields)) => {
                let mut out: Vec<(String, DataType)> = Vec::new();
                for f in fields {
                    let dt = field_type(f)?;
                    if !out.iter().any(|(n, _)| n == f) {
                        out.push((f.clone(), dt));
                    }
                }
                // Selecting no field is not InfluxQL: read them all, return none.
                let raw = if out.is_empty() {
                    keys.fields.iter().map(|(n, _)| n.clone()).collect()
                } else {
                    out.iter().map(|(n, _)| n.clone()).collect()
                };
                Ok((raw, out))
            }
            (None, None) => Ok((
                keys.fields.iter().map(|(n, _)| n.clone()).collect(),
                keys.fields.clone(),
            )),
        }
    }

    fn knows_all(keys: &Keys, series: &[client::Series], check_columns: bool) -> bool {
        series.iter().all(|s| {
            s.tags.keys().all(|t| keys.tags.contains(t))
                && (!check_columns
                    || s.columns
                        .iter()
                        .all(|c| c == TIME_COLUMN || keys.field(c).is_some()))
        })
    }
}

/// Request bodies of up to `batch_points` lines each, written on demand from the batches in
/// order.
struct Bodies<'a> {
    encoders: Vec<line_protocol::BatchLines<'a>>,
    batch: usize,
    row: usize,
    batch_points: usize,
    /// Bytes of the previous body, to size the next one.
    last_len: usize,
}

impl<'a> Bodies<'a> {
    fn new(encoders: Vec<line_protocol::BatchLines<'a>>, batch_points: usize) -> Self {
        Self {
            encoders,
            batch: 0,
            row: 0,
            batch_points: batch_points.max(1),
            last_len: 0,
        }
    }
}

impl Iterator for Bodies<'_> {
    /// A body and its number of points.
    type Item = (String, usize);

    fn next(&mut self) -> Option<(String, usize)> {
        let mut body = String::with_capacity(self.last_len + self.last_len / 8);
        let mut points = 0;
        while points < self.batch_points {
            let Some(enc) = self.encoders.get_mut(self.batch) else {
                break;
            };
            if self.row == enc.rows() {
                self.batch += 1;
                self.row = 0;
                continue;
            }
            if enc.push_line(self.row, &mut body) {
                points += 1;
            }
            self.row += 1;
        }
        self.last_len = body.len();
        (points > 0).then_some((body, points))
    }
}

#[async_trait::async_trait]
impl Store for InfluxStore {
    async fn write(&self, batches: Vec<WriteBatch>) -> Result<()> {
        // Every batch is checked before anything is sent: a bad one is refused whole.
        let encoders = batches
            .iter()
            .map(line_protocol::BatchLines::new)
            .collect::<Result<Vec<_>>>()?;
        let measurements: BTreeSet<&str> = batches.iter().map(|b| b.measurement.as_str()).collect();
        let mut bodies = Bodies::new(encoders, self.cfg.batch_points);
        let Some(first) = bodies.next() else {
            return Ok(());
        };
        self.ensure_database().await?;
        let what = measurements.iter().copied().collect::<Vec<_>>().join(", ");
        // Up to `write_concurrency` requests in flight: influxd ingests them in parallel. Each
        // request goes out as soon as a slot is free, and the next body is written while the
        // requests are in flight, so that the server never waits for the encoder. Every one
        // must succeed before `write` returns (and offsets may be committed); points are
        // idempotent, so a body that succeeded before another failed is harmlessly written
        // again by the retry.
        let concurrency = self.cfg.write_concurrency.max(1);
        let mut in_flight = futures::stream::FuturesUnordered::new();
        let mut next = Some(first);
        while next.is_some() || !in_flight.is_empty() {
            while in_flight.len() < concurrency
                && let Some((body, points)) = next.take()
            {
                in_flight.push(self.client.write_body(body, points, &what));
                // The first poll sends the request; then the next body is written.
                if let Poll::Ready(Some(done)) = futures::poll!(in_flight.next()) {
                    done?;
                }
                next = bodies.next();
            }
            if let Some(done) = in_flight.next().await {
                done?;
            }
        }
        drop(in_flight);
        // New fields or tags may exist now; read them again on the next query.
        let mut keys = self.keys.lock();
        for m in measurements {
            keys.remove(m);
        }
        Ok(())
    }

    async fn query(&self, q: &Query) -> Result<Vec<RecordBatch>> {
        if q.limit == Some(0) {
            return Ok(Vec::new());
        }
        let wanted: Vec<&str> = match (&q.downsample, &q.fields) {
            (Some(ds), _) => ds.aggregates.iter().map(|(f, _, _)| f.as_str()).collect(),
            (None, Some(f)) => f.iter().map(String::as_str).collect(),
            (None, None) => Vec::new(),
        };
        let Some(mut keys) = self.keys_covering(&q.measurement, &q.tags, &wanted).await? else {
            return Ok(Vec::new());
        };
        if q.tags.iter().any(|(t, _)| !keys.tags.contains(t)) {
            // A tag the measurement does not have matches no point.
            return Ok(Vec::new());
        }
        let (raw, mut out) = Self::output_fields(&keys, q)?;
        let text = influxql::select(q, &raw);
        let series = self.client.query(&text).await?;
        let all_fields = q.downsample.is_none() && q.fields.is_none();
        // Written since we cached the keys: learn the new tags/fields.
        if !Self::knows_all(&keys, &series, all_fields)
            && let Some(k) = self.keys(&q.measurement, true).await?
        {
            keys = k;
            if all_fields {
                out = keys.fields.clone();
            }
        }
        let order = if q.descending {
            Order::TimeDesc
        } else {
            Order::TimeAsc
        };
        to_batches(series, &keys.tags, &out, order, q.limit)
    }

    async fn last(&self, measurement: &str, tags: &[(String, String)]) -> Result<Vec<RecordBatch>> {
        let Some(mut keys) = self.keys_covering(measurement, tags, &[]).await? else {
            return Ok(Vec::new());
        };
        if tags.iter().any(|(t, _)| !keys.tags.contains(t)) {
            return Ok(Vec::new());
        }
        let series = self
            .client
            .query(&influxql::last(measurement, tags))
            .await?;
        if !Self::knows_all(&keys, &series, true)
            && let Some(k) = self.keys(measurement, true).await?
        {
            keys = k;
        }
        to_batches(series, &keys.tags, &keys.fields, Order::Tags, None)
    }

    async fn measurements(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = self
            .client
            .query("SHOW MEASUREMENTS")
            .await?
            .into_iter()
            .flat_map(|s| s.values)
            .filter_map(|row| row.first().and_then(|v| v.as_str()).map(str::to_owned))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn tag_values(&self, measurement: &str, tag: &str) -> Result<Vec<String>> {
        let q = format!(
            "SHOW TAG VALUES FROM {} WITH KEY = {}",
            influxql::ident(measurement),
            influxql::ident(tag)
        );
        let mut out: Vec<String> = self
            .client
            .query(&q)
            .await?
            .into_iter()
            .flat_map(|s| s.values)
            .filter_map(|row| row.get(1).and_then(|v| v.as_str()).map(str::to_owned))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        self.client.ping().await
    }
}
