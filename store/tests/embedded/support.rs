//! Helpers building batches and reading columns back.

use std::sync::Arc;

use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, RecordBatch, WriteBatch};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema};

/// 2023-11-14T22:10:00Z, a multiple of 5 minutes since the epoch.
pub(crate) const T0: i64 = 1_699_999_800_000_000_000;
pub(crate) const MIN: i64 = 60_000_000_000;

pub(crate) fn open(dir: &std::path::Path) -> EmbeddedStore {
    EmbeddedStore::open(config(dir)).expect("open store")
}

pub(crate) fn config(dir: &std::path::Path) -> EmbeddedStoreConfig {
    let mut c = EmbeddedStoreConfig::new(dir);
    c.background_compaction = false;
    c
}

/// A column of a test batch.
pub(crate) enum Col {
    Tag(&'static str, Vec<&'static str>),
    F64(&'static str, Vec<Option<f64>>),
    I64(&'static str, Vec<Option<i64>>),
    Str(&'static str, Vec<Option<&'static str>>),
    Bool(&'static str, Vec<Option<bool>>),
}

/// A batch of `measurement` with `time` and the given columns.
pub(crate) fn batch(measurement: &str, times: Vec<i64>, cols: Vec<Col>) -> WriteBatch {
    let mut fields = vec![Field::new("time", cryptoviz_store::time_data_type(), false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(
        TimestampNanosecondArray::from(times).with_timezone("UTC"),
    )];
    let mut tags = Vec::new();
    for c in cols {
        let (name, dt, arr): (&str, DataType, ArrayRef) = match c {
            Col::Tag(n, v) => {
                tags.push(n.to_owned());
                (n, DataType::Utf8, Arc::new(StringArray::from(v)))
            }
            Col::F64(n, v) => (n, DataType::Float64, Arc::new(Float64Array::from(v))),
            Col::I64(n, v) => (n, DataType::Int64, Arc::new(Int64Array::from(v))),
            Col::Str(n, v) => (n, DataType::Utf8, Arc::new(StringArray::from(v))),
            Col::Bool(n, v) => (n, DataType::Boolean, Arc::new(BooleanArray::from(v))),
        };
        fields.push(Field::new(name, dt, true));
        arrays.push(arr);
    }
    let rb = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("batch");
    WriteBatch::new(measurement, tags, rb).expect("valid batch")
}

/// `prices` rows (crypto_id, time, price).
pub(crate) fn prices(rows: &[(&'static str, i64, f64)]) -> WriteBatch {
    batch(
        "prices",
        rows.iter().map(|r| r.1).collect(),
        vec![
            Col::Tag("crypto_id", rows.iter().map(|r| r.0).collect()),
            Col::F64("price", rows.iter().map(|r| Some(r.2)).collect()),
        ],
    )
}

pub(crate) fn concat(batches: &[RecordBatch]) -> Option<RecordBatch> {
    let first = batches.first()?;
    Some(concat_batches(&first.schema(), batches).expect("concat"))
}

fn column(batches: &[RecordBatch], name: &str) -> ArrayRef {
    let b = concat(batches).expect("some rows");
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", b.schema()))
        .clone()
}

pub(crate) fn num_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

pub(crate) fn strs(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    let c = column(batches, name);
    let a = c.as_any().downcast_ref::<StringArray>().expect("utf8");
    a.iter().map(|v| v.map(str::to_owned)).collect()
}

pub(crate) fn f64s(batches: &[RecordBatch], name: &str) -> Vec<Option<f64>> {
    let c = column(batches, name);
    let a = c.as_any().downcast_ref::<Float64Array>().expect("f64");
    a.iter().collect()
}

pub(crate) fn i64s(batches: &[RecordBatch], name: &str) -> Vec<Option<i64>> {
    let c = column(batches, name);
    let a = c.as_any().downcast_ref::<Int64Array>().expect("i64");
    a.iter().collect()
}

pub(crate) fn times(batches: &[RecordBatch]) -> Vec<i64> {
    let c = column(batches, "time");
    assert_eq!(c.data_type(), &cryptoviz_store::time_data_type());
    let a = c
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .expect("ts");
    assert_eq!(a.null_count(), 0);
    a.values().to_vec()
}

pub(crate) fn names(batches: &[RecordBatch]) -> Vec<String> {
    batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// Renders rows as (tags…, time, fields…) strings, for comparing whole results.
pub(crate) fn render(batches: &[RecordBatch]) -> Vec<String> {
    let Some(b) = concat(batches) else {
        return Vec::new();
    };
    (0..b.num_rows())
        .map(|i| {
            b.columns()
                .iter()
                .map(|c| {
                    datafusion::common::ScalarValue::try_from_array(c, i)
                        .expect("scalar")
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}
