//! Read-only SQL for `/sql`, and the limits every such query runs under.
//!
//! [`SqlBudget`] is what a caller (the serving API) shares between all its SQL queries: one
//! memory pool that every query's operators reserve from (no spilling to disk, so a query
//! past it fails with `ResourcesExhausted` instead of filling the disk), and the most rows a
//! table scan may read from a backend without SQL of its own.
//!
//! [`sql_over_store`] runs SQL over any [`Store`]: each measurement is a DataFusion table
//! whose scans become [`Store::query`] calls, with the time range taken from the query's
//! filters on `time` (so a bounded query reads only its range from, say, InfluxDB). Other
//! filters, projections, joins and aggregates run in DataFusion over what the store
//! returned. Used where a backend has no SQL of its own ([`Store::query_sql`] answers
//! `Unsupported`). What a scan reads is held in memory whole, so before reading, the scan
//! counts the rows of its range on the server and refuses more than
//! [`SqlBudget::max_scan_rows`] (InfluxDB's `max-select-point` does the same).

use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, new_null_array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SQLOptions;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::Store;
use crate::batch::TIME_COLUMN;
use crate::error::{Error, Result};
use crate::query::{Agg, Downsample, Query, TimeRange};

/// Default of [`SqlBudget::memory_limit_bytes`]: 256 MiB.
pub const DEFAULT_MEMORY_LIMIT_BYTES: usize = 256 << 20;
/// Default of [`SqlBudget::max_scan_rows`].
pub const DEFAULT_MAX_SCAN_ROWS: usize = 500_000;

/// The resources SQL queries share: one memory pool, and a cap on what one scan of a backend
/// without SQL may read. Create one per process (or per API) and pass it to every query.
pub struct SqlBudget {
    runtime: Arc<RuntimeEnv>,
    memory_limit_bytes: usize,
    max_scan_rows: usize,
}

impl std::fmt::Debug for SqlBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlBudget")
            .field("memory_limit_bytes", &self.memory_limit_bytes)
            .field("max_scan_rows", &self.max_scan_rows)
            .finish_non_exhaustive()
    }
}

impl Default for SqlBudget {
    fn default() -> Self {
        SqlBudget::new(DEFAULT_MEMORY_LIMIT_BYTES, DEFAULT_MAX_SCAN_ROWS)
            .expect("the default SQL budget is valid")
    }
}

impl SqlBudget {
    /// A pool of `memory_limit_bytes` shared by every query run with this budget (a
    /// [`FairSpillPool`]: with several queries at once, each spilling operator gets a fair
    /// share), spilling disabled, and scans of at most `max_scan_rows` rows.
    pub fn new(memory_limit_bytes: usize, max_scan_rows: usize) -> Result<Self> {
        if memory_limit_bytes == 0 {
            return Err(Error::Config {
                key: "memory_limit_bytes",
                reason: "must be positive".into(),
            });
        }
        if max_scan_rows == 0 {
            return Err(Error::Config {
                key: "max_scan_rows",
                reason: "must be positive".into(),
            });
        }
        let pool = TrackConsumersPool::new(
            FairSpillPool::new(memory_limit_bytes),
            NonZeroUsize::new(3).expect("3 is not zero"),
        );
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(pool))
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()?;
        Ok(SqlBudget {
            runtime,
            memory_limit_bytes,
            max_scan_rows,
        })
    }

    /// Bytes the queries' operators may hold at once (sorts, joins, aggregates).
    pub fn memory_limit_bytes(&self) -> usize {
        self.memory_limit_bytes
    }

    /// Most rows one table scan may read from a backend without SQL (InfluxDB).
    pub fn max_scan_rows(&self) -> usize {
        self.max_scan_rows
    }

    /// Bytes the running queries hold now.
    pub fn memory_reserved_bytes(&self) -> usize {
        self.runtime.memory_pool.reserved()
    }

    /// A session with `config` running under this budget.
    pub(crate) fn context(&self, config: SessionConfig) -> SessionContext {
        SessionContext::new_with_config_rt(config, self.runtime.clone())
    }
}

/// Whether `e` is a query stopped by the memory limit of its [`SqlBudget`].
pub fn is_memory_exhausted(e: &Error) -> bool {
    matches!(e, Error::DataFusion(d) if matches!(d.find_root(), DataFusionError::ResourcesExhausted(_)))
}

/// The read-only options of every `/sql` statement: no DDL (CREATE EXTERNAL TABLE), DML
/// (COPY, INSERT) or SET.
pub(crate) fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Runs `sql` (read-only) over every measurement of `store` under `budget`, returning at
/// most `max_rows` rows.
pub async fn sql_over_store(
    store: Arc<dyn Store>,
    sql: &str,
    max_rows: usize,
    budget: &SqlBudget,
) -> Result<Vec<RecordBatch>> {
    let ctx = budget.context(SessionConfig::new());
    for measurement in store.measurements().await? {
        // The schema: the newest row carries every column (tags, time, all fields, typed).
        let probe = Query {
            descending: true,
            limit: Some(1),
            ..Query::new(measurement.clone())
        };
        let Some(schema) = store.query(&probe).await?.first().map(RecordBatch::schema) else {
            continue;
        };
        let table = StoreTable {
            store: store.clone(),
            measurement: measurement.clone(),
            schema,
            max_scan_rows: budget.max_scan_rows,
        };
        ctx.register_table(measurement.as_str(), Arc::new(table))?;
    }
    let run = async {
        let frame = ctx
            .sql_with_options(sql, read_only())
            .await?
            .limit(0, Some(max_rows))?;
        frame.collect().await
    };
    run.await.map_err(store_error)
}

/// A store error raised inside a scan (the scan limit) comes back as itself, not wrapped.
fn store_error(e: DataFusionError) -> Error {
    if let DataFusionError::External(inner) = e.find_root()
        && let Some(Error::InvalidQuery(m)) = inner.downcast_ref::<Error>()
    {
        return Error::InvalidQuery(m.clone());
    }
    Error::DataFusion(e)
}

struct StoreTable {
    store: Arc<dyn Store>,
    measurement: String,
    schema: SchemaRef,
    max_scan_rows: usize,
}

impl std::fmt::Debug for StoreTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTable")
            .field("measurement", &self.measurement)
            .finish_non_exhaustive()
    }
}

impl StoreTable {
    /// Rows in `range`, counted by the store without reading them: per series and per bin
    /// (one bin spans the whole range), the largest count of any field. A lower bound of the
    /// rows when fields are sparse; exact when one field is always set.
    async fn count_rows(&self, range: &TimeRange) -> Result<usize> {
        let fields: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .skip_while(|n| *n != TIME_COLUMN)
            .skip(1)
            .collect();
        if fields.is_empty() {
            return Ok(0);
        }
        // A bin of about 146 years: every range a stored point can fall in is one or two bins.
        let mut every = Downsample::every(i64::MAX / 2);
        for (i, f) in fields.iter().enumerate() {
            every = every.agg(f, Agg::Count, &format!("n{i}"));
        }
        let query = Query {
            range: range.clone(),
            ..Query::new(self.measurement.clone())
        }
        .downsample(every);
        let mut rows = 0usize;
        for batch in self.store.query(&query).await? {
            let counts: Vec<&datafusion::arrow::array::Int64Array> = (0..fields.len())
                .filter_map(|i| batch.column_by_name(&format!("n{i}")))
                .filter_map(|c| c.as_any().downcast_ref())
                .collect();
            for row in 0..batch.num_rows() {
                let most = counts
                    .iter()
                    .filter(|c| c.is_valid(row))
                    .map(|c| c.value(row))
                    .max()
                    .unwrap_or(0);
                rows = rows.saturating_add(usize::try_from(most).unwrap_or(0));
            }
        }
        Ok(rows)
    }

    fn too_many(&self, rows: usize, range: &TimeRange) -> Error {
        let bound = match (range.start_ns, range.end_ns) {
            (None, None) => "no bound on `time`".to_string(),
            _ => "the `time` bounds given".to_string(),
        };
        Error::InvalidQuery(format!(
            "reading `{}` with {bound} means reading {rows} rows, more than the scan limit \
             (api.sql_max_scan_rows = {}): narrow the range with a bound on `time`, e.g. \
             `WHERE time >= now() - interval '1 day'`",
            self.measurement, self.max_scan_rows
        ))
    }
}

/// `time <op> literal` (or `literal <op> time`) as a bound on the range.
fn narrow(range: &mut TimeRange, expr: &Expr) {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else {
        return;
    };
    let (op, value) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column(c), Expr::Literal(v, _)) if c.name == TIME_COLUMN => (*op, v),
        (Expr::Literal(v, _), Expr::Column(c)) if c.name == TIME_COLUMN => match op.swap() {
            Some(op) => (op, v),
            None => return,
        },
        _ => return,
    };
    let ScalarValue::TimestampNanosecond(Some(t), _) = value else {
        return;
    };
    let t = *t;
    match op {
        Operator::Gt => range.start_ns = Some(range.start_ns.map_or(t + 1, |s| s.max(t + 1))),
        Operator::GtEq => range.start_ns = Some(range.start_ns.map_or(t, |s| s.max(t))),
        Operator::Lt => range.end_ns = Some(range.end_ns.map_or(t, |e| e.min(t))),
        Operator::LtEq => range.end_ns = Some(range.end_ns.map_or(t + 1, |e| e.min(t + 1))),
        Operator::Eq => {
            range.start_ns = Some(range.start_ns.map_or(t, |s| s.max(t)));
            range.end_ns = Some(range.end_ns.map_or(t + 1, |e| e.min(t + 1)));
        }
        _ => {}
    }
}

#[async_trait::async_trait]
impl TableProvider for StoreTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Time bounds narrow the read; DataFusion still applies every filter itself.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let mut range = TimeRange::default();
        for f in filters {
            narrow(&mut range, f);
        }
        let external = |e: Error| DataFusionError::External(Box::new(e));
        let counted = self.count_rows(&range).await.map_err(external)?;
        if counted > self.max_scan_rows {
            return Err(external(self.too_many(counted, &range)));
        }
        // The count is a lower bound when fields are sparse: the read is capped as well.
        let query = Query {
            range: range.clone(),
            limit: Some(self.max_scan_rows + 1),
            ..Query::new(self.measurement.clone())
        };
        let batches = self.store.query(&query).await.map_err(external)?;
        let read: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if read > self.max_scan_rows {
            return Err(external(self.too_many(read, &range)));
        }
        // Align every batch with the table's schema by column name (a field first written
        // after the schema was read is dropped, a missing one reads as null).
        let aligned = batches
            .iter()
            .map(|b| {
                let columns: Vec<ArrayRef> = self
                    .schema
                    .fields()
                    .iter()
                    .map(|f| {
                        b.column_by_name(f.name())
                            .filter(|c| c.data_type() == f.data_type())
                            .cloned()
                            .unwrap_or_else(|| new_null_array(f.data_type(), b.num_rows()))
                    })
                    .collect();
                RecordBatch::try_new(self.schema.clone(), columns)
                    .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
            })
            .collect::<DfResult<Vec<_>>>()?;
        let exec =
            MemorySourceConfig::try_new_exec(&[aligned], self.schema.clone(), projection.cloned())?;
        Ok(exec)
    }
}
