//! What can be asked of a store: [`Query`] with its [`TimeRange`] and [`Downsample`].

use datafusion::arrow::datatypes::DataType;

use crate::batch::TIME_COLUMN;
use crate::error::{Error, Result};

/// A half-open time range `[start_ns, end_ns)` in Unix nanoseconds; `None` is unbounded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub start_ns: Option<i64>,
    /// Exclusive end.
    pub end_ns: Option<i64>,
}

impl TimeRange {
    /// `[start_ns, end_ns)`.
    pub fn new(start_ns: i64, end_ns: i64) -> Self {
        TimeRange {
            start_ns: Some(start_ns),
            end_ns: Some(end_ns),
        }
    }

    /// Whether a point at `t` is inside.
    pub fn contains(&self, t: i64) -> bool {
        self.start_ns.is_none_or(|s| t >= s) && self.end_ns.is_none_or(|e| t < e)
    }

    /// Whether `[min, max]` (inclusive) intersects the range.
    pub fn overlaps(&self, min: i64, max: i64) -> bool {
        self.start_ns.is_none_or(|s| max >= s) && self.end_ns.is_none_or(|e| min < e)
    }
}

/// An aggregate of one field over a downsampling bin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agg {
    /// Value at the earliest time in the bin.
    First,
    /// Value at the latest time in the bin.
    Last,
    /// Smallest non-null value.
    Min,
    /// Largest non-null value.
    Max,
    /// Sum of non-null values (numeric fields only).
    Sum,
    /// Mean of non-null values as Float64 (numeric fields only).
    Mean,
    /// Number of non-null values (Int64).
    Count,
}

/// Aggregation of points into fixed bins aligned to the Unix epoch (`date_bin`).
///
/// Output columns: tags, `time` (bin start), then one column per aggregate.
#[derive(Clone, Debug)]
pub struct Downsample {
    /// Bin width in nanoseconds (> 0).
    pub every_ns: i64,
    /// `(field, aggregate, output column)`.
    pub aggregates: Vec<(String, Agg, String)>,
}

impl Downsample {
    /// Bins of `every_ns` without aggregates yet; add them with [`Downsample::agg`].
    pub fn every(every_ns: i64) -> Self {
        Downsample {
            every_ns,
            aggregates: Vec::new(),
        }
    }

    /// Adds `agg(field) AS output`.
    pub fn agg(mut self, field: &str, agg: Agg, output: &str) -> Self {
        self.aggregates
            .push((field.to_owned(), agg, output.to_owned()));
        self
    }

    /// The output columns with their types, for a measurement with `tags` whose fields'
    /// types `field_type` gives; both backends validate a downsample here: a positive
    /// interval, at least one aggregate, `Sum`/`Mean` of numeric fields only, and output
    /// columns that are not empty, not repeated and clash with neither `time` nor a tag.
    pub(crate) fn outputs(
        &self,
        tags: &[String],
        field_type: impl Fn(&str) -> Result<DataType>,
    ) -> Result<Vec<(String, DataType)>> {
        if self.every_ns <= 0 {
            return Err(Error::InvalidQuery(format!(
                "downsample interval must be positive, got {} ns",
                self.every_ns
            )));
        }
        if self.aggregates.is_empty() {
            return Err(Error::InvalidQuery("downsample without aggregates".into()));
        }
        let mut out: Vec<(String, DataType)> = Vec::new();
        for (field, agg, output) in &self.aggregates {
            let dt = field_type(field.as_str())?;
            let numeric = matches!(dt, DataType::Float64 | DataType::Int64);
            if matches!(agg, Agg::Sum | Agg::Mean) && !numeric {
                return Err(Error::InvalidQuery(format!(
                    "{agg:?} needs a numeric field but `{field}` is {dt}"
                )));
            }
            if output.is_empty()
                || output == TIME_COLUMN
                || tags.contains(output)
                || out.iter().any(|(o, _)| o == output)
            {
                return Err(Error::InvalidQuery(format!(
                    "downsample output column `{output}` is empty, duplicated or clashes with `time` or a tag"
                )));
            }
            let out_type = match agg {
                Agg::Mean => DataType::Float64,
                Agg::Count => DataType::Int64,
                _ => dt,
            };
            out.push((output.clone(), out_type));
        }
        Ok(out)
    }
}

/// A read of one measurement.
#[derive(Clone, Debug)]
pub struct Query {
    /// Measurement to read.
    pub measurement: String,
    /// Time range `[start, end)`.
    pub range: TimeRange,
    /// Tag equality filters, ANDed. Values are data: backends never splice them into query
    /// text unescaped.
    pub tags: Vec<(String, String)>,
    /// Fields to return; `None` means all. Ignored when downsampling (the aggregates say).
    pub fields: Option<Vec<String>>,
    /// Aggregate into time bins.
    pub downsample: Option<Downsample>,
    /// Newest first (time descending, tags ascending).
    pub descending: bool,
    /// At most this many rows (after sorting).
    pub limit: Option<usize>,
}

impl Query {
    /// Every point of a measurement, oldest first.
    pub fn new(measurement: impl Into<String>) -> Self {
        Query {
            measurement: measurement.into(),
            range: TimeRange::default(),
            tags: Vec::new(),
            fields: None,
            downsample: None,
            descending: false,
            limit: None,
        }
    }

    /// Restricts to `[start_ns, end_ns)`.
    pub fn range(mut self, start_ns: i64, end_ns: i64) -> Self {
        self.range = TimeRange::new(start_ns, end_ns);
        self
    }

    /// Adds a `tag = value` filter.
    pub fn tag(mut self, tag: &str, value: &str) -> Self {
        self.tags.push((tag.to_owned(), value.to_owned()));
        self
    }

    /// Returns only these fields.
    pub fn fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Aggregates into bins.
    pub fn downsample(mut self, downsample: Downsample) -> Self {
        self.downsample = Some(downsample);
        self
    }

    /// Newest first.
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// At most `n` rows.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
}
