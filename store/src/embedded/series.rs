//! The time range of every series (tag set) in a file.
//!
//! Two files can only hold the same key if they hold the same series at overlapping times.
//! Whole-file time ranges overlap all the time: a consumer reading several log partitions
//! flushes coins that are hours apart in event time, so every file of an import overlaps
//! the next one, while each coin's own ranges follow each other without a gap. The planner
//! (`overlap.rs`) therefore compares files series by series when it knows their series.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, AsArray, StringArray};
use datafusion::arrow::datatypes::TimestampNanosecondType;
use datafusion::arrow::record_batch::RecordBatch;

/// Files with more series than this keep only their whole time range (their conflicts are
/// then found by time alone, which is correct, only coarser).
pub(crate) const MAX_SERIES_PER_FILE: usize = 4096;

/// One series of a file: its tag values (in the measurement's tag order) and time range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SeriesSpan {
    pub key: Box<[String]>,
    pub min: i64,
    pub max: i64,
}

/// Accumulates the per-series time ranges of the batches of one file.
#[derive(Debug, Default)]
pub(crate) struct SeriesRanges {
    ranges: HashMap<Box<[String]>, (i64, i64)>,
    /// More than [`MAX_SERIES_PER_FILE`] series, or a batch not shaped as expected.
    unknown: bool,
}

impl SeriesRanges {
    /// Adds a batch whose first `n_tags` columns are the tags (Utf8) and the next is `time`.
    pub(super) fn add(&mut self, batch: &RecordBatch, n_tags: usize) {
        if self.unknown || batch.num_rows() == 0 {
            return;
        }
        let tags: Option<Vec<&StringArray>> = batch.columns()[..n_tags.min(batch.num_columns())]
            .iter()
            .map(|c| c.as_string_opt::<i32>())
            .collect();
        let times = batch
            .columns()
            .get(n_tags)
            .and_then(|c| c.as_primitive_opt::<TimestampNanosecondType>());
        let (Some(tags), Some(times)) = (tags, times) else {
            self.unknown = true;
            return;
        };
        if tags.len() != n_tags || tags.iter().any(|t| t.null_count() > 0) {
            self.unknown = true;
            return;
        }
        let times = times.values();
        // Files are sorted by tags, so a series is a run of rows: one lookup per run.
        let mut start = 0;
        while start < batch.num_rows() {
            let mut end = start + 1;
            while end < batch.num_rows() && tags.iter().all(|t| t.value(end) == t.value(start)) {
                end += 1;
            }
            let (lo, hi) = times[start..end]
                .iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
            let key: Box<[String]> = tags.iter().map(|t| t.value(start).to_owned()).collect();
            let range = self.ranges.entry(key).or_insert((lo, hi));
            *range = (range.0.min(lo), range.1.max(hi));
            if self.ranges.len() > MAX_SERIES_PER_FILE {
                self.unknown = true;
                self.ranges = HashMap::new();
                return;
            }
            start = end;
        }
    }

    /// The series, sorted by key; `None` when unknown.
    pub(super) fn finish(self) -> Option<Vec<SeriesSpan>> {
        if self.unknown {
            return None;
        }
        let mut out: Vec<SeriesSpan> = self
            .ranges
            .into_iter()
            .map(|(key, (min, max))| SeriesSpan { key, min, max })
            .collect();
        out.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, TimestampNanosecondArray};

    use super::*;

    fn batch(tags: &[&str], times: &[i64]) -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "crypto_id",
                Arc::new(StringArray::from(tags.to_vec())) as ArrayRef,
            ),
            (
                "time",
                Arc::new(TimestampNanosecondArray::from(times.to_vec()).with_timezone("UTC")),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn ranges_per_series_across_batches_sorted_or_not() {
        let mut r = SeriesRanges::default();
        r.add(&batch(&["a", "a", "b", "a"], &[5, 1, 9, 7]), 1);
        r.add(&batch(&["b"], &[2]), 1);
        let spans = r.finish().unwrap();
        let got: Vec<(&str, i64, i64)> = spans
            .iter()
            .map(|s| (s.key[0].as_str(), s.min, s.max))
            .collect();
        assert_eq!(got, [("a", 1, 7), ("b", 2, 9)]);
    }

    #[test]
    fn too_many_series_are_unknown() {
        let names: Vec<String> = (0..=MAX_SERIES_PER_FILE).map(|i| i.to_string()).collect();
        let tags: Vec<&str> = names.iter().map(String::as_str).collect();
        let times = vec![0; tags.len()];
        let mut r = SeriesRanges::default();
        r.add(&batch(&tags, &times), 1);
        assert_eq!(r.finish(), None);
        // No tags: one series, the whole file.
        let mut r = SeriesRanges::default();
        r.add(&batch(&["x", "y"], &[3, 4]).project(&[1]).unwrap(), 0);
        assert_eq!(r.finish().unwrap()[0].min, 3);
    }
}
