//! [`WriteBatch`]: the unit of writing, and the schema conventions every backend relies on.

use std::collections::HashSet;
use std::sync::Arc;

use ahash::AHashMap;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::array::{ArrayRef, UInt32Array, new_null_array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::{
    DataType, Field, Schema, SchemaRef, TimeUnit, TimestampNanosecondType,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};

/// Name of the timestamp column of every measurement.
pub const TIME_COLUMN: &str = "time";

/// Column names starting with this are reserved for the store's own bookkeeping.
pub(crate) const RESERVED_PREFIX: &str = "__";

/// The Arrow type of [`TIME_COLUMN`]: `Timestamp(Nanosecond, Some("UTC"))`.
pub fn time_data_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// Arrow batch of one measurement.
///
/// Column `time` is `Timestamp(Nanosecond, Some("UTC"))` without nulls; the columns named in
/// `tags` are `Utf8` without nulls; every other column is a field: `Float64`, `Int64`, `Utf8`
/// or `Boolean`, nullable. Build it with [`WriteBatch::new`], which checks all of this;
/// stores check again with [`WriteBatch::validate`] since the fields are public.
#[derive(Clone, Debug)]
pub struct WriteBatch {
    /// Measurement name: ASCII letters, digits, `_` and `-`, at most 200 bytes.
    pub measurement: String,
    /// Names of the tag columns; together with `time` they identify a point.
    pub tags: Vec<String>,
    /// The rows.
    pub batch: RecordBatch,
}

impl WriteBatch {
    /// Builds a batch, validating the schema conventions; errors name the offending column.
    pub fn new(
        measurement: impl Into<String>,
        tags: Vec<String>,
        batch: RecordBatch,
    ) -> Result<Self> {
        let wb = WriteBatch {
            measurement: measurement.into(),
            tags,
            batch,
        };
        wb.validate()?;
        Ok(wb)
    }

    /// Checks the schema conventions described on [`WriteBatch`].
    pub fn validate(&self) -> Result<()> {
        let m = self.measurement.as_str();
        validate_measurement_name(m)?;
        let schema = self.batch.schema();
        let mut seen = HashSet::new();
        for f in schema.fields() {
            let name = f.name();
            if name.is_empty() {
                return Err(Error::invalid_batch(m, "a column has an empty name"));
            }
            if name.starts_with(RESERVED_PREFIX) {
                return Err(Error::invalid_batch(
                    m,
                    format!(
                        "column `{name}`: names starting with `{RESERVED_PREFIX}` are reserved"
                    ),
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(Error::invalid_batch(
                    m,
                    format!("column `{name}` appears twice"),
                ));
            }
        }
        let time = schema
            .index_of(TIME_COLUMN)
            .map_err(|_| Error::invalid_batch(m, format!("missing the `{TIME_COLUMN}` column")))?;
        let time_type = schema.field(time).data_type();
        if *time_type != time_data_type() {
            return Err(Error::invalid_batch(
                m,
                format!(
                    "column `{TIME_COLUMN}` is {time_type} but must be {}",
                    time_data_type()
                ),
            ));
        }
        if self.batch.column(time).null_count() > 0 {
            return Err(Error::invalid_batch(
                m,
                format!("column `{TIME_COLUMN}` contains nulls"),
            ));
        }
        let mut tag_set = HashSet::new();
        for tag in &self.tags {
            if tag == TIME_COLUMN {
                return Err(Error::invalid_batch(m, "column `time` cannot be a tag"));
            }
            if !tag_set.insert(tag.as_str()) {
                return Err(Error::invalid_batch(
                    m,
                    format!("tag `{tag}` is listed twice"),
                ));
            }
            let idx = schema
                .index_of(tag)
                .map_err(|_| Error::invalid_batch(m, format!("tag column `{tag}` is missing")))?;
            let dt = schema.field(idx).data_type();
            if *dt != DataType::Utf8 {
                return Err(Error::invalid_batch(
                    m,
                    format!("tag column `{tag}` is {dt} but tags must be Utf8"),
                ));
            }
            if self.batch.column(idx).null_count() > 0 {
                return Err(Error::invalid_batch(
                    m,
                    format!("tag column `{tag}` contains nulls"),
                ));
            }
        }
        for f in schema.fields() {
            if f.name() == TIME_COLUMN || tag_set.contains(f.name().as_str()) {
                continue;
            }
            if !is_field_type(f.data_type()) {
                return Err(Error::invalid_batch(
                    m,
                    format!(
                        "field column `{}` is {} but fields must be Float64, Int64, Utf8 or Boolean",
                        f.name(),
                        f.data_type()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The field columns (everything but `time` and the tags).
    pub fn field_columns(&self) -> impl Iterator<Item = &Arc<Field>> {
        self.batch
            .schema_ref()
            .fields()
            .iter()
            .filter(|f| f.name() != TIME_COLUMN && !self.tags.contains(f.name()))
    }
}

/// Checks a measurement name: non-empty, at most 200 bytes of `[A-Za-z0-9_-]`, so it is safe
/// as a directory name and as an SQL identifier (quote names with `-` or capitals in SQL).
pub fn validate_measurement_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_batch(
            name,
            "measurement names must be 1-200 characters of ASCII letters, digits, `_` or `-`",
        ))
    }
}

fn is_field_type(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Float64 | DataType::Int64 | DataType::Utf8 | DataType::Boolean
    )
}

/// The stored schema of a measurement: tags (Utf8, non-null) in the measurement's tag order,
/// `time` (non-null), then fields (nullable) in order of first appearance.
pub(crate) fn measurement_schema(tags: &[String], fields: &[Arc<Field>]) -> SchemaRef {
    let mut out: Vec<Field> = tags
        .iter()
        .map(|t| Field::new(t, DataType::Utf8, false))
        .collect();
    out.push(Field::new(TIME_COLUMN, time_data_type(), false));
    out.extend(
        fields
            .iter()
            .map(|f| Field::new(f.name(), f.data_type().clone(), true)),
    );
    Arc::new(Schema::new(out))
}

/// Field columns of a stored schema.
pub(crate) fn schema_fields(schema: &Schema, tags: &[String]) -> Vec<Arc<Field>> {
    schema
        .fields()
        .iter()
        .filter(|f| f.name() != TIME_COLUMN && !tags.contains(f.name()))
        .cloned()
        .collect()
}

/// Result of checking writes of one measurement against what is stored.
pub(crate) struct Merged {
    /// Tag order of the measurement.
    pub tags: Vec<String>,
    /// The measurement schema after this write (union of all columns).
    pub schema: SchemaRef,
    /// Schema of the file this write produces (only the columns it has).
    pub file_schema: SchemaRef,
}

/// Checks batches of one measurement against its stored schema (`None` if new) and computes
/// the evolved schema. A column changing type, or the tag set changing, is an error naming
/// the column.
pub(crate) fn merge_schema(
    existing: Option<(&[String], &Schema)>,
    batches: &[WriteBatch],
) -> Result<Merged> {
    let measurement = &batches[0].measurement;
    let tags: Vec<String> = match existing {
        Some((tags, _)) => tags.to_vec(),
        None => batches[0].tags.clone(),
    };
    let conflict = |column: &str, existing: String, new: String| Error::SchemaConflict {
        measurement: measurement.clone(),
        column: column.to_owned(),
        existing,
        new,
    };
    let mut all_fields: Vec<Arc<Field>> = match existing {
        Some((tags, schema)) => schema_fields(schema, tags),
        None => Vec::new(),
    };
    let mut file_fields: Vec<Arc<Field>> = Vec::new();
    for b in batches {
        for tag in &b.tags {
            if !tags.contains(tag) {
                let was = all_fields.iter().find(|f| f.name() == tag).map_or_else(
                    || "absent".to_owned(),
                    |f| format!("a {} field", f.data_type()),
                );
                return Err(conflict(tag, was, "a tag".into()));
            }
        }
        for tag in &tags {
            if !b.tags.contains(tag) {
                let now = if b.batch.schema().index_of(tag).is_ok() {
                    "a field"
                } else {
                    "absent"
                };
                return Err(conflict(tag, "a tag".into(), now.into()));
            }
        }
        for f in b.field_columns() {
            match all_fields.iter().find(|e| e.name() == f.name()) {
                Some(e) if e.data_type() != f.data_type() => {
                    return Err(conflict(
                        f.name(),
                        e.data_type().to_string(),
                        f.data_type().to_string(),
                    ));
                }
                Some(_) => {}
                None => all_fields.push(f.clone()),
            }
            if !file_fields.iter().any(|e| e.name() == f.name()) {
                file_fields.push(f.clone());
            }
        }
    }
    Ok(Merged {
        schema: measurement_schema(&tags, &all_fields),
        file_schema: measurement_schema(&tags, &file_fields),
        tags,
    })
}

/// Concatenates batches into `file_schema` (absent fields become null), sorts by
/// (tags…, time) and keeps the last row of every duplicate (tags…, time).
pub(crate) fn prepare_rows(
    batches: &[WriteBatch],
    file_schema: &SchemaRef,
    tags: &[String],
) -> Result<RecordBatch> {
    let mut aligned = Vec::with_capacity(batches.len());
    for b in batches {
        let n = b.batch.num_rows();
        let columns: Vec<ArrayRef> = file_schema
            .fields()
            .iter()
            .map(|f| match b.batch.column_by_name(f.name()) {
                Some(c) => c.clone(),
                None => new_null_array(f.data_type(), n),
            })
            .collect();
        aligned.push(RecordBatch::try_new(file_schema.clone(), columns)?);
    }
    let all = if aligned.len() == 1 {
        aligned.pop().expect("one batch")
    } else {
        concat_batches(file_schema, &aligned)?
    };
    sort_dedup(&all, tags.len())
}

/// Sorts a batch whose first `n_tags + 1` columns are tags and time, keeping the last
/// occurrence (in input order) of every duplicate key.
///
/// Tags are low-cardinality strings, so instead of a generic lexicographic sort (a dynamic
/// string comparison per pair of rows) every row's tag tuple is first reduced to a dense
/// rank that orders like the strings: one hash lookup per tag per row, then a sort of the
/// few distinct values. The rows are then sorted by `(rank, time, input position)` as plain
/// integers, and one `take` builds the result.
pub(crate) fn sort_dedup(batch: &RecordBatch, n_tags: usize) -> Result<RecordBatch> {
    let n = batch.num_rows();
    if n == 0 {
        return Ok(batch.clone());
    }
    let tag_rank = tag_ranks(&batch.columns()[..n_tags], n)?;
    let times = batch
        .column(n_tags)
        .as_primitive_opt::<TimestampNanosecondType>()
        .ok_or_else(|| {
            ArrowError::InvalidArgumentError(format!("column `{TIME_COLUMN}` is not a timestamp"))
        })?
        .values();
    let mut order: Vec<(u32, i64, u32)> =
        (0..n).map(|i| (tag_rank[i], times[i], i as u32)).collect();
    order.sort_unstable();
    // Keep the last row (highest input position) of every run of equal (tags, time).
    let mut keep = Vec::with_capacity(n);
    for (i, row) in order.iter().enumerate() {
        let last_of_run = order
            .get(i + 1)
            .is_none_or(|next| (next.0, next.1) != (row.0, row.1));
        if last_of_run {
            keep.push(row.2);
        }
    }
    Ok(take_record_batch(batch, &UInt32Array::from(keep))?)
}

/// For every row, a dense rank of its tag tuple: rows compare by rank exactly as their tag
/// strings compare lexicographically, column by column.
fn tag_ranks(tags: &[ArrayRef], n: usize) -> Result<Vec<u32>> {
    let mut rank = vec![0u32; n];
    let mut distinct_so_far: u64 = 1;
    for column in tags {
        let strings = column
            .as_string_opt::<i32>()
            .ok_or_else(|| ArrowError::InvalidArgumentError("a tag column is not Utf8".into()))?;
        // Ids in order of first appearance, then the rank of each id in string order.
        let mut ids: AHashMap<&str, u32> = AHashMap::new();
        let row_ids: Vec<u32> = (0..n)
            .map(|i| {
                let next = ids.len() as u32;
                *ids.entry(strings.value(i)).or_insert(next)
            })
            .collect();
        let mut by_value: Vec<(&str, u32)> = ids.into_iter().collect();
        by_value.sort_unstable();
        let mut id_rank = vec![0u32; by_value.len()];
        for (r, (_, id)) in by_value.iter().enumerate() {
            id_rank[*id as usize] = r as u32;
        }
        // Combine with the previous columns' rank (mixed radix, < n * n fits in u64), then
        // make it dense again so the next column can be combined the same way.
        let card = by_value.len() as u64;
        let combined: Vec<u64> = rank
            .iter()
            .zip(&row_ids)
            .map(|(&r, &id)| u64::from(r) * card + u64::from(id_rank[id as usize]))
            .collect();
        distinct_so_far = distinct_so_far.saturating_mul(card);
        if distinct_so_far <= u64::from(u32::MAX) {
            // Small enough to be dense already: no need to re-rank.
            for (r, c) in rank.iter_mut().zip(&combined) {
                *r = *c as u32;
            }
        } else {
            let mut values = combined.clone();
            values.sort_unstable();
            values.dedup();
            let dense: AHashMap<u64, u32> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (*v, i as u32))
                .collect();
            for (r, c) in rank.iter_mut().zip(&combined) {
                *r = dense[c];
            }
            distinct_so_far = values.len() as u64;
        }
    }
    Ok(rank)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, StringArray, TimestampNanosecondArray};
    use datafusion::arrow::compute::{SortColumn, lexsort_to_indices, partition};

    use super::*;

    /// The obvious implementation: Arrow's generic lexicographic sort, then a partition.
    fn reference(batch: &RecordBatch, n_tags: usize) -> RecordBatch {
        let n = batch.num_rows();
        let mut columns: Vec<SortColumn> = batch.columns()[..=n_tags]
            .iter()
            .map(|c| SortColumn {
                values: c.clone(),
                options: None,
            })
            .collect();
        columns.push(SortColumn {
            values: Arc::new(UInt32Array::from_iter_values(0..n as u32)),
            options: None,
        });
        let sorted =
            take_record_batch(batch, &lexsort_to_indices(&columns, None).unwrap()).unwrap();
        let ranges = partition(&sorted.columns()[..=n_tags]).unwrap().ranges();
        let keep = UInt32Array::from_iter_values(ranges.iter().map(|r| (r.end - 1) as u32));
        take_record_batch(&sorted, &keep).unwrap()
    }

    fn batch(tags: &[Vec<&str>], times: Vec<i64>) -> RecordBatch {
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (i, t) in tags.iter().enumerate() {
            fields.push(Field::new(format!("t{i}"), DataType::Utf8, false));
            columns.push(Arc::new(StringArray::from(t.clone())));
        }
        let n = times.len();
        fields.push(Field::new(TIME_COLUMN, time_data_type(), false));
        columns.push(Arc::new(
            TimestampNanosecondArray::from(times).with_timezone("UTC"),
        ));
        fields.push(Field::new("row", DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter_values(
            (0..n).map(|i| i as f64),
        )));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    #[test]
    fn equals_the_generic_lexicographic_sort_with_duplicates() {
        // A deterministic pseudo-random mix of tag values (some prefixes of others, one
        // empty), repeated times and whole duplicate keys.
        let values = ["", "a", "ab", "b", "bitcoin", "bit", "ethereum", "Z"];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m
        };
        for n_tags in 0..=3 {
            let n = 5_000;
            let tags: Vec<Vec<&str>> = (0..n_tags)
                .map(|_| (0..n).map(|_| values[next(8) as usize]).collect())
                .collect();
            let times: Vec<i64> = (0..n).map(|_| next(40) as i64 - 20).collect();
            let b = batch(&tags, times);
            assert_eq!(
                sort_dedup(&b, n_tags).unwrap(),
                reference(&b, n_tags),
                "{n_tags} tags"
            );
        }
    }

    #[test]
    fn keeps_the_last_duplicate_in_input_order() {
        let b = batch(&[vec!["x", "x", "w", "x"]], vec![5, 5, 5, 1]);
        let out = sort_dedup(&b, 1).unwrap();
        let rows = out
            .column(2)
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        assert_eq!(rows.values().to_vec(), vec![2.0, 3.0, 1.0]);
    }
}
