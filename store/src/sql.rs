//! Read-only SQL over any [`Store`]: each measurement is a DataFusion table whose scans become
//! [`Store::query`] calls, with the time range taken from the query's filters on `time` (so a
//! bounded query reads only its range from, say, InfluxDB). Other filters, projections,
//! joins and aggregates run in DataFusion over what the store returned. Used where a backend
//! has no SQL of its own ([`Store::query_sql`] answers `Unsupported`).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, new_null_array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use crate::Store;
use crate::batch::TIME_COLUMN;
use crate::error::Result;
use crate::query::{Query, TimeRange};

/// Runs `sql` (read-only) over every measurement of `store`, returning at most `max_rows` rows.
pub async fn sql_over_store(
    store: Arc<dyn Store>,
    sql: &str,
    max_rows: usize,
) -> Result<Vec<RecordBatch>> {
    let ctx = SessionContext::new();
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
        };
        ctx.register_table(measurement.as_str(), Arc::new(table))?;
    }
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = ctx
        .sql_with_options(sql, options)
        .await?
        .limit(0, Some(max_rows))?;
    Ok(frame.collect().await?)
}

struct StoreTable {
    store: Arc<dyn Store>,
    measurement: String,
    schema: SchemaRef,
}

impl std::fmt::Debug for StoreTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTable")
            .field("measurement", &self.measurement)
            .finish_non_exhaustive()
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
        let query = Query {
            range,
            ..Query::new(self.measurement.clone())
        };
        let batches = self
            .store
            .query(&query)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
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
