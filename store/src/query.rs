//! What can be asked of a store: [`Query`] with its [`TimeRange`] and [`Downsample`].

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
