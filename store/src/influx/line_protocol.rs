//! [`WriteBatch`] → InfluxDB line protocol.
//!
//! `measurement,tag=value field=1.5,n=2i,s="text",b=true 1700000000000000000`, one line per
//! row, time in nanoseconds. Escaping follows the 1.x parser: `,` and space in measurement
//! names; `,`, `=` and space in tag keys, tag values and field keys; `"` and `\` inside string
//! field values (a raw newline is fine inside the quotes).
//!
//! What InfluxDB 1.x cannot take (or could store but never select by tag in InfluxQL) is
//! refused before anything is sent, since a 400 would fail the whole write for good: see
//! [`tag_value_is_representable`] (line breaks, NUL, a trailing backslash, an odd run of
//! backslashes before a space, over 4 KiB) and
//! [`time_is_representable`]. A tag value may hold any other character, backslashes
//! included: the parser unescapes only
//! `\,`, `\=` and `\ `, so every other backslash reads back as written (verified against a
//! real influxd by `store/tests/fuzz_line_protocol.rs`). Keys (our own column names) keep the
//! stricter rule: no backslash or newline at all.

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int64Array, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, TimestampNanosecondType};

use crate::batch::{TIME_COLUMN, WriteBatch};
use crate::error::{Error, Result};

/// A field column of a batch, typed.
enum FieldCol<'a> {
    Float(&'a Float64Array),
    Int(&'a Int64Array),
    Str(&'a StringArray),
    Bool(&'a BooleanArray),
}

/// One [`WriteBatch`] as line protocol: its columns resolved and checked once, then its rows
/// appended one line each to request bodies, so that a body can be sent while the next is
/// being written. Rows whose fields are all null (or non-finite floats, which InfluxDB cannot
/// store) are skipped: InfluxDB has no point without a field.
pub(crate) struct BatchLines<'a> {
    prefix: String,
    tags: Vec<(String, &'a StringArray)>,
    fields: Vec<(String, FieldCol<'a>)>,
    time: &'a TimestampNanosecondArray,
    /// Measurement and tags of row `series_row`, reused while the next rows share its tag
    /// values (the consumers' writes are sorted by series).
    series: String,
    series_row: Option<usize>,
    floats: ryu::Buffer,
    ints: itoa::Buffer,
}

impl<'a> BatchLines<'a> {
    /// Checks `wb` whole (schema, keys, every tag value), so that a bad batch is refused before
    /// any of it is sent.
    pub(crate) fn new(wb: &'a WriteBatch) -> Result<Self> {
        wb.validate()?;
        let m = wb.measurement.as_str();
        let schema = wb.batch.schema();
        let mut prefix = String::new();
        escape_measurement(m, &mut prefix);

        let mut tags: Vec<(String, &StringArray)> = Vec::with_capacity(wb.tags.len());
        let mut sorted_tags = wb.tags.clone();
        // InfluxDB wants tags sorted by key for the fastest parse; order does not change
        // identity.
        sorted_tags.sort();
        for t in &sorted_tags {
            check_key(m, t)?;
            let mut k = String::new();
            escape_key(t, &mut k);
            let col = wb
                .batch
                .column_by_name(t)
                .expect("validated tag column")
                .as_string::<i32>();
            check_tag_values(m, &k, col)?;
            tags.push((k, col));
        }
        let mut fields: Vec<(String, FieldCol<'_>)> = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            if f.name() == TIME_COLUMN || wb.tags.contains(f.name()) {
                continue;
            }
            check_key(m, f.name())?;
            let mut k = String::new();
            escape_key(f.name(), &mut k);
            let col = wb.batch.column(i);
            let typed = match f.data_type() {
                DataType::Float64 => FieldCol::Float(col.as_primitive()),
                DataType::Int64 => FieldCol::Int(col.as_primitive()),
                DataType::Utf8 => FieldCol::Str(col.as_string::<i32>()),
                DataType::Boolean => FieldCol::Bool(col.as_boolean()),
                other => unreachable!("validated field type {other}"),
            };
            fields.push((k, typed));
        }
        let time = wb
            .batch
            .column_by_name(TIME_COLUMN)
            .expect("validated time column")
            .as_primitive::<TimestampNanosecondType>();
        check_times(m, time)?;
        Ok(Self {
            prefix,
            tags,
            fields,
            time,
            series: String::new(),
            series_row: None,
            floats: ryu::Buffer::new(),
            ints: itoa::Buffer::new(),
        })
    }

    /// Rows of the batch (points, unless some have no field).
    pub(crate) fn rows(&self) -> usize {
        self.time.len()
    }

    /// Appends row `row` as one line, newline included; `false` (and nothing appended) when
    /// the row has no field to write.
    pub(crate) fn push_line(&mut self, row: usize, out: &mut String) -> bool {
        let line_start = out.len();
        let same_series = self.series_row.is_some_and(|last| {
            self.tags
                .iter()
                .all(|(_, col)| col.value(last) == col.value(row))
        });
        if !same_series {
            self.series.clear();
            self.series.push_str(&self.prefix);
            for (k, col) in &self.tags {
                let v = col.value(row);
                if v.is_empty() {
                    // InfluxDB has no empty tag values: an absent tag reads back as "".
                    continue;
                }
                self.series.push(',');
                self.series.push_str(k);
                self.series.push('=');
                escape_key(v, &mut self.series);
            }
            self.series_row = Some(row);
        }
        out.push_str(&self.series);
        let mut sep = ' ';
        for (k, col) in &self.fields {
            let start = out.len();
            out.push(sep);
            out.push_str(k);
            out.push('=');
            let written = match col {
                FieldCol::Float(a) if a.is_valid(row) && a.value(row).is_finite() => {
                    // Ryū's shortest round-trip form (`1.0`, `1e21`, `1.5e-7`), which
                    // InfluxDB parses as a float (only an `i` suffix makes an integer).
                    out.push_str(self.floats.format_finite(a.value(row)));
                    true
                }
                FieldCol::Int(a) if a.is_valid(row) => {
                    out.push_str(self.ints.format(a.value(row)));
                    out.push('i');
                    true
                }
                FieldCol::Str(a) if a.is_valid(row) => {
                    escape_string_field(a.value(row), out);
                    true
                }
                FieldCol::Bool(a) if a.is_valid(row) => {
                    out.push_str(if a.value(row) { "true" } else { "false" });
                    true
                }
                _ => false,
            };
            if written {
                sep = ',';
            } else {
                out.truncate(start);
            }
        }
        if sep == ' ' {
            out.truncate(line_start); // no non-null field
            return false;
        }
        out.push(' ');
        out.push_str(self.ints.format(self.time.value(row)));
        out.push('\n');
        true
    }
}

/// The lines of `wb`, one `String` per point, without their newlines.
#[cfg(test)]
pub(crate) fn encode_batch(wb: &WriteBatch, out: &mut Vec<String>) -> Result<()> {
    let mut lines = BatchLines::new(wb)?;
    for row in 0..lines.rows() {
        let mut line = String::new();
        if lines.push_line(row, &mut line) {
            line.pop();
            out.push(line);
        }
    }
    Ok(())
}

fn check_key(measurement: &str, key: &str) -> Result<()> {
    if key.contains(['\\', '\n', '\r']) {
        return Err(Error::invalid_batch(
            measurement,
            format!("column `{key}`: InfluxDB keys cannot contain a backslash or newline"),
        ));
    }
    Ok(())
}

/// Longest tag value written, in bytes (before escaping). InfluxDB 1.x refuses a point whose
/// series key (measurement and every escaped `tag=value`) passes 65,535 bytes; with values
/// of at most 4 KiB (8 KiB escaped) a measurement can have seven tags and stay under it.
pub const MAX_TAG_VALUE_BYTES: usize = 4096;

/// Earliest time InfluxDB 1.x stores (ns): `i64::MIN + 2`.
pub const MIN_TIME_NS: i64 = i64::MIN + 2;
/// Latest time InfluxDB 1.x stores (ns): `i64::MAX - 1`.
pub const MAX_TIME_NS: i64 = i64::MAX - 1;

/// Why a string cannot be written as an InfluxDB tag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unrepresentable {
    /// A newline ends a line-protocol point and tags have no escape for it; a carriage
    /// return is written fine but InfluxQL reads it as a newline, which ends a string literal,
    /// so the value could never be selected by a tag filter.
    #[error(
        "it contains a line break (`\\n` or `\\r`), which line protocol or InfluxQL cannot carry"
    )]
    Newline,
    /// An odd run of backslashes right before a space: the space is written escaped
    /// (`\\ ` for `\ `), which the tag parser reads back right, but InfluxDB's line splitter
    /// pairs backslashes and takes the space for the start of the fields, so a later `"` in
    /// the line is misread and the line runs into the next ones (influxd then drops the
    /// connection: the whole write fails).
    #[error(
        "it has an odd run of backslashes before a space, which InfluxDB's line splitter misreads"
    )]
    BackslashBeforeSpace,
    /// A final backslash would escape the separator written after the value.
    #[error("it ends with a backslash (which would escape the separator after it)")]
    TrailingBackslash,
    /// A NUL: InfluxQL ends a string literal there and has no escape for it, so the value
    /// could be written but never selected by a tag filter.
    #[error("it contains a NUL character (InfluxQL cannot select it by tag)")]
    Nul,
    /// Longer than [`MAX_TAG_VALUE_BYTES`].
    #[error("it is longer than {MAX_TAG_VALUE_BYTES} bytes (InfluxDB caps a series key at 64 KiB)")]
    TooLong,
}

/// Whether `value` can be written to InfluxDB 1.x as a tag value and read back identical.
///
/// Everything else is escaped by the encoder and round-trips, through reads and through tag
/// filters: commas, equals signs, spaces, quotes, backslashes (but at the end or in an odd
/// run before a space), tabs and other control characters but NUL and CR, any Unicode. The
/// empty string is written as an absent tag, which reads back as `""`. Producers and
/// consumers call this to dead-letter a record instead of letting one value fail every store
/// write that carries it.
pub fn tag_value_is_representable(value: &str) -> std::result::Result<(), Unrepresentable> {
    if value.len() > MAX_TAG_VALUE_BYTES {
        Err(Unrepresentable::TooLong)
    } else if value.contains(['\n', '\r']) {
        Err(Unrepresentable::Newline)
    } else if value.contains('\0') {
        Err(Unrepresentable::Nul)
    } else if value.ends_with('\\') {
        Err(Unrepresentable::TrailingBackslash)
    } else if odd_backslashes_before_space(value) {
        Err(Unrepresentable::BackslashBeforeSpace)
    } else {
        Ok(())
    }
}

fn odd_backslashes_before_space(value: &str) -> bool {
    let mut run = 0usize;
    for b in value.bytes() {
        match b {
            b'\\' => run += 1,
            b' ' if run % 2 == 1 => return true,
            _ => run = 0,
        }
    }
    false
}

/// Whether InfluxDB 1.x stores a point at `ns` (Unix nanoseconds): within
/// [`MIN_TIME_NS`]`..=`[`MAX_TIME_NS`]. A point outside fails the whole write with a 400.
pub fn time_is_representable(ns: i64) -> bool {
    (MIN_TIME_NS..=MAX_TIME_NS).contains(&ns)
}

/// Every value of a tag column: one scan of the column's bytes, and the row only on error.
fn check_tag_values(measurement: &str, tag: &str, col: &StringArray) -> Result<()> {
    // Only this array's bytes: a slice of a larger array shares the whole values buffer.
    let offsets = col.value_offsets();
    let (first, last) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
    let bytes = &col.values()[first..last];
    if bytes.len() <= MAX_TAG_VALUE_BYTES
        && !bytes.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r' | 0))
    {
        return Ok(());
    }
    col.iter().flatten().try_for_each(|v| {
        tag_value_is_representable(v).map_err(|why| {
            Error::invalid_batch(
                measurement,
                format!("tag `{tag}` value {v:?} cannot be written to InfluxDB: {why}"),
            )
        })
    })
}

/// Every time of the batch within what InfluxDB stores.
fn check_times(measurement: &str, time: &TimestampNanosecondArray) -> Result<()> {
    match time.values().iter().find(|t| !time_is_representable(**t)) {
        None => Ok(()),
        Some(t) => Err(Error::invalid_batch(
            measurement,
            format!("time {t} ns is outside what InfluxDB stores ({MIN_TIME_NS}..={MAX_TIME_NS})"),
        )),
    }
}

/// Measurement names: escape `,` and space.
pub(crate) fn escape_measurement(s: &str, out: &mut String) {
    if !s.contains([',', ' ']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        if matches!(c, ',' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Tag keys, tag values and field keys: escape `,`, `=` and space.
pub(crate) fn escape_key(s: &str, out: &mut String) {
    if !s.contains([',', '=', ' ']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        if matches!(c, ',' | '=' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// String field values: double-quoted, `"` and `\` escaped.
pub(crate) fn escape_string_field(s: &str, out: &mut String) {
    out.push('"');
    if !s.contains(['"', '\\']) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::ArrayRef;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;

    use super::*;
    use crate::batch::time_data_type;

    #[test]
    fn influx_escaping_of_keys_values_and_strings() {
        let mut s = String::new();
        escape_measurement("a b,c=d", &mut s);
        assert_eq!(s, r"a\ b\,c=d");
        s.clear();
        escape_key("a b,c=d", &mut s);
        assert_eq!(s, r"a\ b\,c\=d");
        s.clear();
        escape_string_field("say \"hi\"\\\nbye", &mut s);
        assert_eq!(s, "\"say \\\"hi\\\"\\\\\nbye\"");
    }

    #[test]
    fn influx_lines_types_nulls_and_tag_escaping() {
        let rows = 4;
        let schema = Arc::new(Schema::new(vec![
            Field::new("crypto_id", DataType::Utf8, false),
            Field::new("time", time_data_type(), false),
            Field::new("price", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
            Field::new("title", DataType::Utf8, true),
            Field::new("ok", DataType::Boolean, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["bit coin,x=y", "eth", "eth", ""])),
            Arc::new(
                TimestampNanosecondArray::from_iter_values((0..rows as i64).map(|i| 1000 + i))
                    .with_timezone("UTC"),
            ),
            Arc::new(Float64Array::from(vec![
                Some(1.0),
                Some(0.1 + 0.2),
                None,
                Some(f64::NAN),
            ])),
            Arc::new(Int64Array::from(vec![Some(-7), None, None, None])),
            Arc::new(StringArray::from(vec![
                Some("a \"b\"\nc"),
                None,
                None,
                None,
            ])),
            Arc::new(BooleanArray::from(vec![
                None,
                Some(true),
                None,
                Some(false),
            ])),
        ];
        let wb = WriteBatch::new(
            "crypto_market",
            vec!["crypto_id".into()],
            RecordBatch::try_new(schema, cols).unwrap(),
        )
        .unwrap();
        let mut out = Vec::new();
        encode_batch(&wb, &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                "crypto_market,crypto_id=bit\\ coin\\,x\\=y price=1.0,n=-7i,title=\"a \\\"b\\\"\nc\" 1000"
                    .to_owned(),
                "crypto_market,crypto_id=eth price=0.30000000000000004,ok=true 1001".to_owned(),
                // row 2: all fields null → skipped; row 3: NaN dropped, empty tag omitted
                "crypto_market ok=false 1003".to_owned(),
            ]
        );
    }

    #[test]
    fn influx_rejects_backslash_in_tag_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("coin", DataType::Utf8, false),
            Field::new("time", time_data_type(), false),
            Field::new("p", DataType::Float64, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["a\\"])),
            Arc::new(TimestampNanosecondArray::from(vec![1]).with_timezone("UTC")),
            Arc::new(Float64Array::from(vec![1.0])),
        ];
        let wb = WriteBatch::new(
            "m",
            vec!["coin".into()],
            RecordBatch::try_new(schema, cols).unwrap(),
        )
        .unwrap();
        let err = encode_batch(&wb, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("backslash"), "{err}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn influx_slices_are_checked_alone_and_series_change_with_any_tag() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("coin", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, false),
            Field::new("time", time_data_type(), false),
            Field::new("p", DataType::Float64, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["bad\\", "a", "a", "a", "a"])),
            Arc::new(StringArray::from(vec!["x", "x", "y", "y", "x"])),
            Arc::new(TimestampNanosecondArray::from(vec![1, 2, 3, 4, 5]).with_timezone("UTC")),
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0])),
        ];
        let all = RecordBatch::try_new(schema, cols).unwrap();
        let tags = vec!["coin".to_owned(), "source".to_owned()];
        // A slice is judged on its own rows: the bad value in row 0 is not part of it.
        let wb = WriteBatch::new("m", tags.clone(), all.slice(1, 4)).unwrap();
        let mut out = Vec::new();
        encode_batch(&wb, &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                "m,coin=a,source=x p=2.0 2",
                "m,coin=a,source=y p=3.0 3",
                "m,coin=a,source=y p=4.0 4",
                "m,coin=a,source=x p=5.0 5",
            ]
        );
        let wb = WriteBatch::new("m", tags, all.slice(0, 2)).unwrap();
        let err = encode_batch(&wb, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("backslash"), "{err}");
    }

    fn one_tag_batch(values: Vec<&str>, times: Vec<i64>) -> WriteBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("coin", DataType::Utf8, false),
            Field::new("time", time_data_type(), false),
            Field::new("p", DataType::Float64, true),
        ]));
        let n = values.len();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(values)),
            Arc::new(TimestampNanosecondArray::from(times).with_timezone("UTC")),
            Arc::new(Float64Array::from(vec![1.0; n])),
        ];
        WriteBatch::new(
            "m",
            vec!["coin".into()],
            RecordBatch::try_new(schema, cols).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn influx_inner_backslashes_in_tag_values_are_written_as_is() {
        // InfluxDB unescapes only `\,`, `\=` and `\ ` in tags: other backslashes are literal.
        let wb = one_tag_batch(vec![r"a\b", r"x\,y", "tab\t\u{1}\"q"], vec![1, 2, 3]);
        let mut out = Vec::new();
        encode_batch(&wb, &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                r"m,coin=a\b p=1.0 1",
                r"m,coin=x\\,y p=1.0 2",
                "m,coin=tab\t\u{1}\"q p=1.0 3"
            ]
        );
    }

    #[test]
    fn influx_unrepresentable_tag_values_and_times_are_refused_before_sending() {
        assert_eq!(
            tag_value_is_representable("a\nb"),
            Err(Unrepresentable::Newline)
        );
        assert_eq!(
            tag_value_is_representable("a\rb"),
            Err(Unrepresentable::Newline)
        );
        assert_eq!(
            tag_value_is_representable("a\0b"),
            Err(Unrepresentable::Nul)
        );
        assert_eq!(
            tag_value_is_representable(r"a\"),
            Err(Unrepresentable::TrailingBackslash)
        );
        let long = "x".repeat(MAX_TAG_VALUE_BYTES + 1);
        assert_eq!(
            tag_value_is_representable(&long),
            Err(Unrepresentable::TooLong)
        );
        assert_eq!(tag_value_is_representable(&long[1..]), Ok(()));
        assert_eq!(tag_value_is_representable(r"\a, b=c"), Ok(()));
        assert_eq!(
            tag_value_is_representable(r"a\ b"),
            Err(Unrepresentable::BackslashBeforeSpace)
        );
        assert_eq!(tag_value_is_representable(r"a\\ b\,c\=d"), Ok(()));
        for bad in ["a\nb", long.as_str()] {
            let err =
                encode_batch(&one_tag_batch(vec![bad], vec![1]), &mut Vec::new()).unwrap_err();
            assert!(!err.is_retryable(), "{err}");
        }
        for t in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let err =
                encode_batch(&one_tag_batch(vec!["a"], vec![t]), &mut Vec::new()).unwrap_err();
            assert!(err.to_string().contains("outside"), "{err}");
        }
        for t in [MIN_TIME_NS, MAX_TIME_NS] {
            encode_batch(&one_tag_batch(vec!["a"], vec![t]), &mut Vec::new()).unwrap();
        }
    }
}
