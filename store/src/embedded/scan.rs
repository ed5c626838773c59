//! Query building over a measurement's files with DataFusion: file pruning by time,
//! projection and predicate pushdown into the Parquet scans, deduplication of the rows that
//! files of different ranks may both hold (`overlap.rs`), downsampling with `date_bin`,
//! sorting.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNano, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{ScalarValue, TableReference};
use datafusion::functions::expr_fn::date_bin;
use datafusion::functions_aggregate::expr_fn::{
    avg, count, first_value, last_value, max, min, sum,
};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{ExprFunctionExt, SortExpr};
use datafusion::prelude::{DataFrame, Expr, ParquetReadOptions, SessionContext, ident, lit};

use super::files::FileRef;
use super::overlap::{self, Dirty, FileSpan, Interval};
use crate::batch::TIME_COLUMN;
use crate::error::{Error, Result};
use crate::query::{Agg, Downsample, Query, TimeRange};

const RANK: &str = "__rank";
const ROW_NUMBER: &str = "__rn";
/// Most (series, times) terms in the filter that splits a file into rows read as they are and
/// rows to deduplicate; a file needing more is split by time alone (coarser, as correct).
const MAX_SERIES_TERMS: usize = 64;

/// A consistent view of one measurement: holding it keeps its files on disk.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub tags: Vec<String>,
    /// Tags, `time`, fields.
    pub schema: SchemaRef,
    /// Live files in rank order.
    pub files: Vec<FileRef>,
}

fn ts_lit(ns: i64) -> Expr {
    lit(ScalarValue::TimestampNanosecond(
        Some(ns),
        Some("UTC".into()),
    ))
}

/// Filters on key columns: they select whole dedup groups, so they may run before dedup.
fn key_filters(range: &TimeRange, tags: &[(String, String)]) -> Vec<Expr> {
    let mut filters = Vec::new();
    if let Some(s) = range.start_ns {
        filters.push(ident(TIME_COLUMN).gt_eq(ts_lit(s)));
    }
    if let Some(e) = range.end_ns {
        filters.push(ident(TIME_COLUMN).lt(ts_lit(e)));
    }
    for (tag, value) in tags {
        filters.push(ident(tag.as_str()).eq(lit(value.as_str())));
    }
    filters
}

fn apply_filters(mut df: DataFrame, filters: &[Expr]) -> Result<DataFrame> {
    for f in filters {
        df = df.filter(f.clone())?;
    }
    Ok(df)
}

/// `time` within one of `intervals` (inclusive), as one disjunction.
fn time_within(intervals: &[Interval]) -> Option<Expr> {
    intervals
        .iter()
        .map(|&(lo, hi)| {
            ident(TIME_COLUMN)
                .gt_eq(ts_lit(lo))
                .and(ident(TIME_COLUMN).lt_eq(ts_lit(hi)))
        })
        .reduce(Expr::or)
}

/// `(tags = key AND time within intervals)` for every term, as one disjunction.
fn series_within(tags: &[String], terms: &[(&[String], Vec<Interval>)]) -> Option<Expr> {
    terms
        .iter()
        .filter_map(|(key, intervals)| {
            let times = time_within(intervals)?;
            Some(
                tags.iter()
                    .zip(key.iter())
                    .map(|(tag, value)| ident(tag.as_str()).eq(lit(value.as_str())))
                    .fold(times, |e, eq| eq.and(e)),
            )
        })
        .reduce(Expr::or)
}

/// The deduplicated rows of `snap` within `range` matching the tag filters, with columns
/// tags, `time` and `fields`. `None` if no file can hold a match.
///
/// Only the rows that can still have a duplicate (`overlap.rs`: times covered by files of
/// two ranks) go through the dedup window; every other row is read straight from Parquet, so
/// DataFusion pushes projections, filters and limits into those scans and answers a bare
/// `count(*)` of clean files from their metadata.
pub(crate) async fn deduplicated(
    ctx: &SessionContext,
    snap: &Snapshot,
    range: &TimeRange,
    tag_filters: &[(String, String)],
    fields: &[String],
) -> Result<Option<DataFrame>> {
    let files: Vec<&FileRef> = snap
        .files
        .iter()
        .filter(|f| f.rows > 0 && range.overlaps(f.min_time, f.max_time))
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    let filters = key_filters(range, tag_filters);
    let key: Vec<Expr> = snap
        .tags
        .iter()
        .map(|t| ident(t.as_str()))
        .chain([ident(TIME_COLUMN)])
        .collect();
    let columns: Vec<Expr> = key
        .iter()
        .cloned()
        .chain(fields.iter().map(|f| ident(f.as_str())))
        .collect();
    let options = || ParquetReadOptions::default().schema(&snap.schema);

    // Rows outside the range are filtered anyway: clip the spans so that a conflict outside
    // the range costs nothing.
    let spans: Vec<FileSpan<'_>> = files
        .iter()
        .map(|f| FileSpan {
            rank: f.rank,
            min: range.start_ns.map_or(f.min_time, |s| f.min_time.max(s)),
            max: range
                .end_ns
                .map_or(f.max_time, |e| f.max_time.min(e.saturating_sub(1))),
            series: f.series.as_deref(),
        })
        .collect();
    let plans = overlap::plan_files(&spans, MAX_SERIES_TERMS);
    let mut clean: Vec<String> = Vec::new();
    let mut parts: Vec<DataFrame> = Vec::new();
    let mut dirty: Option<DataFrame> = None;
    for (f, plan) in files.iter().zip(plans) {
        let (outside, inside) = match plan {
            Dirty::Clean => {
                clean.push(path_str(f)?);
                continue;
            }
            Dirty::Times { dirty, clean } => (time_within(&clean), time_within(&dirty)),
            Dirty::Series(terms) => {
                let inside = series_within(&snap.tags, &terms);
                (inside.clone().map(|e| !e), inside)
            }
        };
        let inside = inside.expect("a dirty file has a conflict");
        if let Some(outside) = outside {
            let df = ctx.read_parquet(path_str(f)?, options()).await?;
            parts.push(
                apply_filters(df, &filters)?
                    .filter(outside)?
                    .select(columns.clone())?,
            );
        }
        let df = ctx.read_parquet(path_str(f)?, options()).await?;
        let mut cols = columns.clone();
        cols.push(lit(f.rank).alias(RANK));
        let df = apply_filters(df, &filters)?.filter(inside)?.select(cols)?;
        dirty = Some(match dirty {
            Some(u) => u.union(df)?,
            None => df,
        });
    }
    tracing::debug!(
        files = files.len(),
        clean = clean.len(),
        split = parts.len(),
        "deduplicating scan planned"
    );
    if let Some(union) = dirty {
        let rn = row_number()
            .partition_by(key.clone())
            .order_by(vec![ident(RANK).sort(false, false)])
            .build()?
            .alias(ROW_NUMBER);
        let deduped = union
            .window(vec![rn])?
            .filter(ident(ROW_NUMBER).eq(lit(1u64)))?
            .select(columns.clone())?;
        parts.push(deduped);
    }
    if !clean.is_empty() {
        let df = ctx.read_parquet(clean, options()).await?;
        parts.insert(0, apply_filters(df, &filters)?.select(columns.clone())?);
    }
    let mut parts = parts.into_iter();
    let mut df = parts.next().expect("at least one part");
    for p in parts {
        df = df.union(p)?;
    }
    Ok(Some(df))
}

fn path_str(f: &FileRef) -> Result<String> {
    f.path
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::Corrupt {
            path: f.path.clone(),
            reason: "path is not UTF-8".into(),
        })
}

fn field_type<'a>(snap: &'a Snapshot, name: &str) -> Result<&'a DataType> {
    if name == TIME_COLUMN || snap.tags.iter().any(|t| t == name) {
        return Err(Error::InvalidQuery(format!(
            "`{name}` is not a field (it is `time` or a tag)"
        )));
    }
    snap.schema
        .field_with_name(name)
        .map(|f| f.data_type())
        .map_err(|_| Error::InvalidQuery(format!("unknown field `{name}`")))
}

/// Runs a [`Query`] over a snapshot.
pub(crate) async fn run_query(
    ctx: &SessionContext,
    snap: &Snapshot,
    q: &Query,
) -> Result<Vec<RecordBatch>> {
    if q.tags.iter().any(|(t, _)| !snap.tags.contains(t)) {
        // A tag the measurement does not have matches no point.
        return Ok(Vec::new());
    }
    let fields: Vec<String> = match (&q.downsample, &q.fields) {
        (Some(ds), _) => {
            ds.outputs(&snap.tags, |f| field_type(snap, f).cloned())?;
            let mut f: Vec<String> = Vec::new();
            for (name, _, _) in &ds.aggregates {
                if !f.contains(name) {
                    f.push(name.clone());
                }
            }
            f
        }
        (None, Some(fields)) => {
            let mut out: Vec<String> = Vec::with_capacity(fields.len());
            for f in fields {
                field_type(snap, f)?;
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
            out
        }
        (None, None) => snap.schema.fields()[snap.tags.len() + 1..]
            .iter()
            .map(|f| f.name().clone())
            .collect(),
    };
    let Some(mut df) = deduplicated(ctx, snap, &q.range, &q.tags, &fields).await? else {
        return Ok(Vec::new());
    };
    if let Some(ds) = &q.downsample {
        df = downsample(df, &snap.tags, ds)?;
    }
    let mut order: Vec<SortExpr> = vec![ident(TIME_COLUMN).sort(!q.descending, false)];
    order.extend(
        snap.tags
            .iter()
            .map(|t| ident(t.as_str()).sort(true, false)),
    );
    df = df.sort(order)?;
    if let Some(n) = q.limit {
        df = df.limit(0, Some(n))?;
    }
    Ok(df.collect().await?)
}

/// Aggregates rows into epoch-aligned bins: tags, `time` (bin start), outputs.
fn downsample(df: DataFrame, tags: &[String], ds: &Downsample) -> Result<DataFrame> {
    let stride = lit(ScalarValue::IntervalMonthDayNano(Some(
        IntervalMonthDayNano {
            months: 0,
            days: 0,
            nanoseconds: ds.every_ns,
        },
    )));
    let bin = date_bin(stride, ident(TIME_COLUMN), ts_lit(0));
    let mut group: Vec<Expr> = tags.iter().map(|t| ident(t.as_str())).collect();
    group.push(bin.alias(TIME_COLUMN));
    let by_time = || vec![ident(TIME_COLUMN).sort(true, false)];
    let aggs: Vec<Expr> = ds
        .aggregates
        .iter()
        .map(|(field, agg, output)| {
            let f = ident(field.as_str());
            let e = match agg {
                Agg::First => first_value(f, by_time()),
                Agg::Last => last_value(f, by_time()),
                Agg::Min => min(f),
                Agg::Max => max(f),
                Agg::Sum => sum(f),
                Agg::Mean => avg(f),
                Agg::Count => count(f),
            };
            e.alias(output.as_str())
        })
        .collect();
    Ok(df.aggregate(group, aggs)?)
}

/// Registers every snapshot as a deduplicated view named after its measurement.
pub(crate) async fn register_views(
    ctx: &SessionContext,
    snaps: &[(String, Arc<Snapshot>)],
) -> Result<()> {
    for (name, snap) in snaps {
        let fields: Vec<String> = snap.schema.fields()[snap.tags.len() + 1..]
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let df = match deduplicated(ctx, snap, &TimeRange::default(), &[], &fields).await? {
            Some(df) => df,
            None => ctx
                .read_empty()?
                .select(
                    snap.schema
                        .fields()
                        .iter()
                        .map(|f| {
                            lit(ScalarValue::try_from(f.data_type()).unwrap_or(ScalarValue::Null))
                                .alias(f.name())
                        })
                        .collect::<Vec<_>>(),
                )?
                .limit(0, Some(0))?,
        };
        ctx.register_table(TableReference::bare(name.as_str()), df.into_view())?;
    }
    Ok(())
}
