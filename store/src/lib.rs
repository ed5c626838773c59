//! The store seam of CryptoViz: where windowed market data comes to rest and where the
//! serving API reads it back.
//!
//! Consumers turn the windows they close into [`WriteBatch`]es and hand them to a [`Store`];
//! the API asks it for ranges, downsampled series and the latest point of every coin. The
//! trait is backend-neutral: [`EmbeddedStore`] (Parquet files queried with DataFusion) runs
//! inside the process; [`InfluxStore`] keeps the data in an InfluxDB server.
//!
//! # Data model
//! InfluxDB's: a *measurement* (e.g. `prices`) holds points; a point has a `time`
//! (nanoseconds, UTC), a set of *tags* (indexed strings such as `crypto_id`) and *fields*
//! (Float64, Int64, Utf8 or Boolean values, each nullable). The tag values of a point name its
//! *series*. A point is identified by measurement + tag set + time: writing the same identity
//! again replaces the whole earlier row (last write wins), which makes replaying a log
//! idempotent.
//!
//! # Embedded backend
//! - **Layout**: `dir/<measurement>/<seq:020>.parquet`, one file per measurement per `write`,
//!   sorted by (tags…, time) and deduplicated; compaction produces
//!   `dir/<measurement>/c<seq:020>.parquet` and records them in `dir/<measurement>/MANIFEST.json`.
//! - **Durability**: a file is written under a `.tmp` name, fsynced, renamed and the directory
//!   fsynced before `write` returns. The manifest is replaced atomically the same way.
//! - **Dedup**: for equal (tags…, time) the row of the newest file wins, at query time across
//!   files not yet compacted and physically in compaction. A query deduplicates only the
//!   rows whose time files of different ranks both cover; every other row is read straight
//!   from Parquet (statistics, row-group and page pruning, `count(*)` from metadata).
//! - **Crash safety**: on open, `.tmp` leftovers, compaction outputs the manifest does not
//!   list, and inputs a committed compaction replaced are deleted; what remains is the exact
//!   acknowledged state.
//!
//! # Layout of this crate
//! - [`error`]: the error type and its retry classification.
//! - `batch`: [`WriteBatch`] and the schema conventions.
//! - `query`: [`Query`], [`TimeRange`], [`Downsample`], [`Agg`].
//! - [`embedded`]: the Parquet + DataFusion backend.
//! - [`influx`]: the InfluxDB backend (line protocol writes, InfluxQL reads).

pub mod batch;
pub mod embedded;
pub mod error;
pub mod influx;
pub mod query;
pub mod sql;

pub use batch::{TIME_COLUMN, WriteBatch, time_data_type};
pub use datafusion::arrow::record_batch::RecordBatch;
pub use embedded::{Compression, EmbeddedStore, EmbeddedStoreConfig};
pub use error::{Error, Result};
pub use influx::{InfluxApi, InfluxConfig, InfluxStore};
pub use query::{Agg, Downsample, Query, TimeRange};
pub use sql::SqlBudget;

/// A time-series store of measurements; see the crate docs for the data model.
///
/// Handlers and sinks hold it as `Arc<dyn Store>`.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes points. Durable when it returns (the consumer commits log offsets only after
    /// this). Idempotent: a point with the same measurement + tag set + time as an earlier one
    /// replaces it (last write wins, whole row), so replaying the log rewrites the same points.
    /// Within one call, a later row of the same identity wins too.
    async fn write(&self, batches: Vec<WriteBatch>) -> Result<()>;

    /// Rows sorted by time (then tags), deduplicated. Columns: tags, `time`, then the
    /// requested fields (or the downsample outputs). An unknown measurement yields no batches.
    async fn query(&self, q: &Query) -> Result<Vec<RecordBatch>>;

    /// The latest point of every series (tag set) of a measurement matching the tag filters,
    /// sorted by tags.
    async fn last(&self, measurement: &str, tags: &[(String, String)]) -> Result<Vec<RecordBatch>>;

    /// Names of all measurements, sorted.
    async fn measurements(&self) -> Result<Vec<String>>;

    /// Distinct values of a tag (e.g. every `crypto_id`), sorted.
    async fn tag_values(&self, measurement: &str, tag: &str) -> Result<Vec<String>>;

    /// Finishes background work (compactions). Writes are already durable without it.
    async fn flush(&self) -> Result<()>;

    /// Checks that the store is reachable and usable.
    async fn ping(&self) -> Result<()>;

    /// Runs a read-only SQL query (DataFusion's dialect) over the measurements, each a table
    /// named after it, returning at most `max_rows` rows. DDL, DML and `SET` are refused. Its
    /// operators reserve memory from `budget`'s pool and fail past it (no spilling).
    async fn query_sql(
        &self,
        sql: &str,
        max_rows: usize,
        budget: &sql::SqlBudget,
    ) -> Result<Vec<RecordBatch>> {
        let _ = (sql, max_rows, budget);
        Err(Error::Unsupported("SQL queries".into()))
    }
}
