//! InfluxQL JSON results → Arrow [`RecordBatch`]es in the column order the [`Store`] trait
//! promises: tags, `time`, fields.
//!
//! [`Store`]: crate::Store

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, StringBuilder,
    TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value;

use super::client::Series;
use crate::batch::{TIME_COLUMN, time_data_type};
use crate::error::Result;

/// How the merged rows of all series are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// Time ascending, then tags.
    TimeAsc,
    /// Time descending, then tags ascending.
    TimeDesc,
    /// Tags only (one row per series).
    Tags,
}

struct Row {
    time: i64,
    tags: Vec<String>,
    values: Vec<Value>,
}

/// Merges `series` into one batch of `tags` (Utf8; a tag a series lacks reads as ""),
/// `time`, then `fields` typed as given; rows ordered by `order`, at most `limit`.
pub(crate) fn to_batches(
    series: Vec<Series>,
    tags: &[String],
    fields: &[(String, DataType)],
    order: Order,
    limit: Option<usize>,
) -> Result<Vec<RecordBatch>> {
    let mut rows: Vec<Row> = Vec::new();
    for s in series {
        let time_idx = s.columns.iter().position(|c| c == TIME_COLUMN);
        let idx: Vec<Option<usize>> = fields
            .iter()
            .map(|(name, _)| s.columns.iter().position(|c| c == name))
            .collect();
        let tag_values: Vec<String> = tags
            .iter()
            .map(|t| s.tags.get(t).cloned().unwrap_or_default())
            .collect();
        for mut v in s.values {
            let time = time_idx
                .and_then(|i| v.get(i))
                .and_then(Value::as_i64)
                .ok_or_else(|| bad(format!("a row without an integer `time`: {v:?}")))?;
            let values = idx
                .iter()
                .map(|i| match i {
                    Some(i) => v.get_mut(*i).map_or(Value::Null, Value::take),
                    None => Value::Null,
                })
                .collect();
            rows.push(Row {
                time,
                tags: tag_values.clone(),
                values,
            });
        }
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    rows.sort_by(|a, b| {
        let by_tags = || a.tags.cmp(&b.tags);
        match order {
            Order::TimeAsc => a.time.cmp(&b.time).then_with(by_tags),
            Order::TimeDesc => b.time.cmp(&a.time).then_with(by_tags),
            Order::Tags => by_tags(),
        }
    });
    if let Some(n) = limit {
        rows.truncate(n);
    }

    let mut schema_fields: Vec<Field> = tags
        .iter()
        .map(|t| Field::new(t, DataType::Utf8, false))
        .collect();
    schema_fields.push(Field::new(TIME_COLUMN, time_data_type(), false));
    schema_fields.extend(fields.iter().map(|(n, dt)| Field::new(n, dt.clone(), true)));

    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema_fields.len());
    for t in 0..tags.len() {
        let mut b = StringBuilder::new();
        for r in &rows {
            b.append_value(&r.tags[t]);
        }
        columns.push(Arc::new(b.finish()));
    }
    columns.push(Arc::new(
        TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.time))
            .with_timezone("UTC"),
    ));
    for (i, (name, dt)) in fields.iter().enumerate() {
        columns.push(column(&rows, i, name, dt)?);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(schema_fields)), columns)?;
    Ok(vec![batch])
}

fn column(rows: &[Row], i: usize, name: &str, dt: &DataType) -> Result<ArrayRef> {
    Ok(match dt {
        DataType::Float64 => Arc::new(Float64Array::from(cells(rows, i, name, dt, Value::as_f64)?)),
        DataType::Int64 => Arc::new(Int64Array::from(cells(rows, i, name, dt, Value::as_i64)?)),
        DataType::Utf8 => Arc::new(StringArray::from(cells(rows, i, name, dt, Value::as_str)?)),
        DataType::Boolean => Arc::new(BooleanArray::from(cells(
            rows,
            i,
            name,
            dt,
            Value::as_bool,
        )?)),
        other => return Err(bad(format!("field `{name}` has unsupported type {other}"))),
    })
}

/// Column `i` of `rows` as `get` reads each cell: `None` for a JSON null, an error naming the
/// field for a value `get` cannot read as `dt`.
fn cells<'a, T>(
    rows: &'a [Row],
    i: usize,
    name: &str,
    dt: &DataType,
    get: impl Fn(&'a Value) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    rows.iter()
        .map(|r| match &r.values[i] {
            Value::Null => Ok(None),
            v => get(v)
                .map(Some)
                .ok_or_else(|| bad(format!("field `{name}` is {dt} but InfluxDB returned {v}"))),
        })
        .collect()
}

fn bad(msg: String) -> crate::error::Error {
    ArrowError::ParseError(format!("influxdb result: {msg}")).into()
}

/// Maps an InfluxDB field type (`SHOW FIELD KEYS`) to Arrow.
pub(crate) fn field_type(influx: &str) -> Option<DataType> {
    Some(match influx {
        "float" => DataType::Float64,
        "integer" => DataType::Int64,
        "string" => DataType::Utf8,
        "boolean" => DataType::Boolean,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray, Float64Array};
    use datafusion::arrow::datatypes::{Int64Type, TimestampNanosecondType};

    use super::*;

    fn series(json: &str) -> Vec<Series> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn influx_json_to_arrow_merges_sorts_and_types() {
        let s = series(
            r#"[{"name":"m","tags":{"c":"eth","s":"x"},"columns":["time","p","n","t","b"],
                 "values":[[1500,3,7,"a\"b\n",true],[500,0.30000000000000004,null,null,null]]},
                {"name":"m","tags":{"c":"btc"},"columns":["time","p"],
                 "values":[[1500,1e-7],[2000,12345678901234.567]]}]"#,
        );
        let fields = vec![
            ("p".to_owned(), DataType::Float64),
            ("n".to_owned(), DataType::Int64),
            ("t".to_owned(), DataType::Utf8),
            ("b".to_owned(), DataType::Boolean),
        ];
        let tags = vec!["c".to_owned(), "s".to_owned()];
        let out = to_batches(s, &tags, &fields, Order::TimeAsc, Some(3)).unwrap();
        assert_eq!(out.len(), 1);
        let b = &out[0];
        let names: Vec<&str> = b
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["c", "s", "time", "p", "n", "t", "b"]);
        assert_eq!(b.num_rows(), 3);
        let c: Vec<&str> = b
            .column(0)
            .as_string::<i32>()
            .iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(c, ["eth", "btc", "eth"]);
        assert_eq!(b.column(1).as_string::<i32>().value(1), "");
        let t = b.column(2).as_primitive::<TimestampNanosecondType>();
        assert_eq!(t.values().to_vec(), vec![500, 1500, 1500]);
        assert_eq!(b.column(2).data_type(), &time_data_type());
        let p: &Float64Array = b.column(3).as_primitive();
        assert_eq!(p.value(0), 0.1 + 0.2);
        assert_eq!(p.value(1), 1e-7);
        assert_eq!(p.value(2), 3.0);
        let n = b.column(4).as_primitive::<Int64Type>();
        assert!(n.is_null(0) && n.is_null(1));
        assert_eq!(n.value(2), 7);
        assert_eq!(b.column(5).as_string::<i32>().value(2), "a\"b\n");
        assert!(b.column(6).as_boolean().value(2));

        let s = series(r#"[{"name":"m","columns":["time","p"],"values":[[1,"oops"]]}]"#);
        let err = to_batches(s, &[], &fields[..1], Order::TimeAsc, None).unwrap_err();
        assert!(err.to_string().contains("field `p`"), "{err}");
        assert!(
            to_batches(Vec::new(), &tags, &fields, Order::Tags, None)
                .unwrap()
                .is_empty()
        );
    }
}
