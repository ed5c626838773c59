//! Arrow rows to JSON objects.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Float64Type, Int32Type, Int64Type, TimeUnit, TimestampNanosecondType, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Map, Value};

use cryptoviz_measurements::time::rfc3339;

/// Every row of `batches` as a JSON object keyed by column name. Timestamps become RFC 3339
/// strings, non-finite floats become null.
pub fn rows(batches: &[RecordBatch]) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let mut object = Map::with_capacity(schema.fields().len());
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                object.insert(field.name().clone(), cell(column.as_ref(), row));
            }
            out.push(object);
        }
    }
    out
}

fn cell(column: &dyn Array, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Null;
    }
    match column.data_type() {
        DataType::Utf8 => Value::from(column.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Value::from(column.as_string::<i64>().value(row)),
        DataType::Utf8View => Value::from(column.as_string_view().value(row)),
        DataType::Float64 => {
            let v = column.as_primitive::<Float64Type>().value(row);
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
        DataType::Int32 => Value::from(column.as_primitive::<Int32Type>().value(row)),
        DataType::UInt64 => Value::from(column.as_primitive::<UInt64Type>().value(row)),
        DataType::Boolean => Value::from(column.as_boolean().value(row)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => Value::from(rfc3339(
            column.as_primitive::<TimestampNanosecondType>().value(row),
        )),
        // Anything else (integers of other widths, dates, decimals, lists) as Arrow prints it.
        _ => ArrayFormatter::try_new(column, &FormatOptions::default())
            .map_or(Value::Null, |f| Value::from(f.value(row).to_string())),
    }
}

/// Columns (name, Arrow type) and rows as arrays, for answers whose shape the client chose
/// (`/sql`).
pub fn table(batches: &[RecordBatch]) -> (Vec<(String, String)>, Vec<Vec<Value>>) {
    let columns = batches.first().map_or_else(Vec::new, |b| {
        b.schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().to_string()))
            .collect()
    });
    let mut out = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| cell(c.as_ref(), row))
                    .collect(),
            );
        }
    }
    (columns, out)
}
