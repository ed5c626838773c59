//! The latest row of every series, kept in memory so `last` never scans files.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray, TimestampNanosecondArray};
use datafusion::arrow::compute::partition;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;

use crate::batch::TIME_COLUMN;
use crate::error::Result;

/// One series' newest row: its time and the fields the write carried (absent ones read as
/// null, since a write replaces the whole row).
#[derive(Clone, Debug)]
struct LatestRow {
    time: i64,
    fields: Vec<(Arc<str>, ScalarValue)>,
}

/// Latest row per tag set of one measurement.
#[derive(Debug, Default)]
pub(crate) struct LatestCache {
    series: HashMap<Vec<String>, LatestRow>,
}

impl LatestCache {
    /// Folds in a batch sorted by (tags…, time) whose first `n_tags` columns are the tags
    /// and next is `time`. Must be called in write (rank) order: on equal times the later
    /// call wins, like the store's dedup.
    pub(super) fn update(&mut self, batch: &RecordBatch, n_tags: usize) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let tag_cols: Vec<&StringArray> = batch.columns()[..n_tags]
            .iter()
            .map(|c| {
                c.as_any()
                    .downcast_ref::<StringArray>()
                    .expect("tags are Utf8")
            })
            .collect();
        let times = batch
            .column(n_tags)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .expect("time is Timestamp(ns)");
        let schema = batch.schema();
        let field_names: Vec<Arc<str>> = schema.fields()[n_tags + 1..]
            .iter()
            .map(|f| Arc::from(f.name().as_str()))
            .collect();
        let ranges: Vec<std::ops::Range<usize>> = if n_tags == 0 {
            // One series: the whole batch.
            std::iter::once(0..batch.num_rows()).collect()
        } else {
            partition(&batch.columns()[..n_tags])?.ranges()
        };
        for r in ranges {
            // Sorted by time inside a series: the range's last row is its newest.
            let i = r.end - 1;
            let time = times.value(i);
            let key: Vec<String> = tag_cols.iter().map(|c| c.value(i).to_owned()).collect();
            if self.series.get(&key).is_some_and(|old| old.time > time) {
                continue;
            }
            let fields = field_names
                .iter()
                .zip(&batch.columns()[n_tags + 1..])
                .map(|(name, col)| Ok((name.clone(), ScalarValue::try_from_array(col, i)?)))
                .collect::<Result<Vec<_>>>()?;
            self.series.insert(key, LatestRow { time, fields });
        }
        Ok(())
    }

    /// Distinct values of the tag at position `tag_index`, sorted.
    pub(super) fn tag_values(&self, tag_index: usize) -> Vec<String> {
        let mut v: Vec<String> = self.series.keys().map(|k| k[tag_index].clone()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The latest rows of the series matching `filters` (tag position, value), sorted by
    /// tags, as one batch of `schema` (tags, time, fields).
    pub(super) fn rows(
        &self,
        schema: &SchemaRef,
        n_tags: usize,
        filters: &[(usize, &str)],
    ) -> Result<Option<RecordBatch>> {
        let mut hits: Vec<(&Vec<String>, &LatestRow)> = self
            .series
            .iter()
            .filter(|(k, _)| filters.iter().all(|(i, v)| k[*i] == *v))
            .collect();
        if hits.is_empty() {
            return Ok(None);
        }
        hits.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for i in 0..n_tags {
            columns.push(Arc::new(StringArray::from_iter_values(
                hits.iter().map(|(k, _)| k[i].as_str()),
            )));
        }
        let tz = match schema.field_with_name(TIME_COLUMN)?.data_type() {
            datafusion::arrow::datatypes::DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        columns.push(Arc::new(
            TimestampNanosecondArray::from_iter_values(hits.iter().map(|(_, r)| r.time))
                .with_timezone_opt(tz),
        ));
        for field in &schema.fields()[n_tags + 1..] {
            let null = ScalarValue::try_from(field.data_type())?;
            let values = hits.iter().map(|(_, r)| {
                r.fields
                    .iter()
                    .find(|(n, _)| **n == **field.name())
                    .map_or_else(|| null.clone(), |(_, v)| v.clone())
            });
            columns.push(ScalarValue::iter_to_array(values)?);
        }
        Ok(Some(RecordBatch::try_new(schema.clone(), columns)?))
    }
}
