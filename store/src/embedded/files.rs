//! On-disk format of the embedded store: Parquet data files, the manifest, atomic
//! replacement with fsync, and recovery of a measurement directory on open.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::array::{Array, TimestampNanosecondArray};
use datafusion::arrow::compute::{max, min};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression as ParquetCompression;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{KeyValue, SortingColumn};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};

use crate::batch::TIME_COLUMN;
use crate::error::{Error, Result};

use super::Compression;
use super::series::{SeriesRanges, SeriesSpan};

/// File name of a measurement's manifest.
pub(crate) const MANIFEST: &str = "MANIFEST.json";
/// Key-value metadata key holding the tag column names (JSON array).
const TAGS_KEY: &str = "cryptoviz.tags";
const TMP_SUFFIX: &str = ".tmp";

/// Whether a data file came from a `write` or from compaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `<seq:020>.parquet`: live unless a committed compaction tombstoned it.
    Write,
    /// `c<seq:020>.parquet`: live only while the manifest lists it.
    Compacted,
}

/// A live data file. Dropping the last reference to a file marked obsolete deletes it, so
/// a query that still reads a compacted-away file keeps it until it finishes.
#[derive(Debug)]
pub(crate) struct DataFile {
    pub seq: u64,
    pub kind: FileKind,
    /// Dedup priority: higher wins. A write file's rank is its seq; the outputs of a
    /// compaction share the rank of its newest input (they hold disjoint keys).
    pub rank: u64,
    pub path: PathBuf,
    pub rows: u64,
    pub min_time: i64,
    pub max_time: i64,
    /// Time range of every series, sorted by tags; `None` if not known (too many series).
    pub series: Option<Vec<SeriesSpan>>,
    obsolete: AtomicBool,
}

impl DataFile {
    pub(super) fn new(
        dir: &Path,
        seq: u64,
        kind: FileKind,
        rank: u64,
        rows: u64,
        time: (i64, i64),
    ) -> Self {
        DataFile {
            seq,
            kind,
            rank,
            path: dir.join(file_name(kind, seq)),
            rows,
            min_time: time.0,
            max_time: time.1,
            series: None,
            obsolete: AtomicBool::new(false),
        }
    }

    /// The file with its per-series time ranges.
    pub(super) fn with_series(mut self, series: Option<Vec<SeriesSpan>>) -> Self {
        self.series = series;
        self
    }

    /// Deletes the file once nothing references it any more.
    pub(super) fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }
}

impl Drop for DataFile {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire)
            && let Err(e) = fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            // Harmless: the manifest no longer lists it, the next open deletes it.
            tracing::warn!(path = %self.path.display(), error = %e, "could not delete compacted file");
        }
    }
}

pub(crate) fn file_name(kind: FileKind, seq: u64) -> String {
    match kind {
        FileKind::Write => format!("{seq:020}.parquet"),
        FileKind::Compacted => format!("c{seq:020}.parquet"),
    }
}

fn parse_file_name(name: &str) -> Option<(FileKind, u64)> {
    let stem = name.strip_suffix(".parquet")?;
    let (kind, digits) = match stem.strip_prefix('c') {
        Some(d) => (FileKind::Compacted, d),
        None => (FileKind::Write, stem),
    };
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((kind, digits.parse().ok()?))
}

/// Parquet writer settings of the store for files of `schema`.
///
/// Statistics per page, hence a column and offset index: every file is sorted by
/// (tags…, time), so a time or tag filter skips whole row groups by their statistics and the
/// pages of the others by the page index. The sort is recorded as the row groups' sorting
/// columns.
///
/// Dictionary encoding only for strings (tags, and fields such as a window's status): their
/// values repeat. A number or a time is mostly new in every row, so a dictionary of them
/// costs the writer a hash-table probe per value (a tenth of an import's store writes) and is
/// abandoned for plain encoding anyway once it reaches its size limit.
pub(crate) fn writer_properties(
    compression: Compression,
    row_group_rows: usize,
    tags: &[String],
    schema: &Schema,
) -> WriterProperties {
    let codec = match compression {
        Compression::None => ParquetCompression::UNCOMPRESSED,
        Compression::Snappy => ParquetCompression::SNAPPY,
        Compression::Lz4 => ParquetCompression::LZ4_RAW,
    };
    let tags_json = serde_json::to_string(tags).expect("strings serialise");
    // Files are written with the measurement's tags first, then `time` (`measurement_schema`).
    let sorted = (0..=tags.len())
        .map(|column_idx| SortingColumn {
            column_idx: column_idx as i32,
            descending: false,
            nulls_first: false,
        })
        .collect();
    let builder = WriterProperties::builder()
        .set_compression(codec)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(sorted))
        .set_key_value_metadata(Some(vec![KeyValue::new(TAGS_KEY.to_owned(), tags_json)]));
    schema
        .fields()
        .iter()
        .filter(|f| {
            !matches!(
                f.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        })
        .fold(builder, |b, f| {
            b.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), false)
        })
        .build()
}

/// Writes one Parquet file under a temporary name, fsyncs and renames it into place. The
/// caller fsyncs the directory (once for several files). A writer dropped or failing
/// before its rename deletes its temporary file, so a full disk leaves no `.tmp` behind.
pub(crate) struct FileWriter {
    tmp: PathBuf,
    path: PathBuf,
    /// `None` once finished.
    writer: Option<ArrowWriter<BufWriter<File>>>,
    rows: u64,
    time: Option<(i64, i64)>,
    n_tags: usize,
    series: SeriesRanges,
    renamed: bool,
}

/// What a [`FileWriter`] wrote.
pub(crate) struct Written {
    pub rows: u64,
    /// (min, max) of `time`; (0, 0) when empty.
    pub time: (i64, i64),
    pub series: Option<Vec<SeriesSpan>>,
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if self.renamed {
            return;
        }
        drop(self.writer.take());
        if let Err(e) = fs::remove_file(&self.tmp)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            // Harmless: the next open deletes leftover temp files.
            tracing::warn!(path = %self.tmp.display(), error = %e, "could not delete temp file");
        }
    }
}

impl FileWriter {
    /// A writer of `schema`, whose first `n_tags` columns are the tags and the next `time`.
    pub(super) fn create(
        path: PathBuf,
        schema: SchemaRef,
        n_tags: usize,
        props: WriterProperties,
    ) -> Result<Self> {
        let tmp = tmp_path(&path);
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = FileWriter {
            tmp,
            path,
            writer: None,
            rows: 0,
            time: None,
            n_tags,
            series: SeriesRanges::default(),
            renamed: false,
        };
        w.writer = Some(
            ArrowWriter::try_new(BufWriter::with_capacity(1 << 20, file), schema, Some(props))
                .map_err(|e| Error::parquet(&w.tmp, e))?,
        );
        Ok(w)
    }

    pub(super) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if let Some((lo, hi)) = time_bounds(batch) {
            self.time = Some(match self.time {
                Some((a, b)) => (a.min(lo), b.max(hi)),
                None => (lo, hi),
            });
        }
        self.series.add(batch, self.n_tags);
        self.rows += batch.num_rows() as u64;
        self.writer
            .as_mut()
            .expect("not finished")
            .write(batch)
            .map_err(|e| Error::parquet(&self.tmp, e))
    }

    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// Finishes, fsyncs and renames.
    pub(super) fn finish(mut self) -> Result<Written> {
        let tmp = self.tmp.clone();
        let writer = self.writer.take().expect("finished once");
        let buf = writer.into_inner().map_err(|e| Error::parquet(&tmp, e))?;
        let file = buf
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        self.renamed = true;
        Ok(Written {
            rows: self.rows,
            time: self.time.unwrap_or((0, 0)),
            series: std::mem::take(&mut self.series).finish(),
        })
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(TMP_SUFFIX);
    PathBuf::from(s)
}

fn time_bounds(batch: &RecordBatch) -> Option<(i64, i64)> {
    let col = batch.column_by_name(TIME_COLUMN)?;
    let ts = col.as_any().downcast_ref::<TimestampNanosecondArray>()?;
    Some((min(ts)?, max(ts)?))
}

/// Makes renames and creations inside `dir` durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename, fsync dir).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        // A full disk must not leave the temp file behind (the next open would delete it).
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    fsync_dir(path.parent().expect("manifest has a parent"))
}

/// Whether `e` says the file system is out of space or quota: a condition that passes, so
/// the write is retried rather than failed.
pub(crate) fn is_disk_full(e: &Error) -> bool {
    fn io_full(e: &std::io::Error) -> bool {
        matches!(
            e.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        )
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = match e {
        Error::Io { source, .. } => return io_full(source),
        Error::Parquet { source, .. } => Some(source),
        _ => None,
    };
    // Parquet wraps the I/O error of its sink (`ParquetError::External`).
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io_full(io);
        }
        if let Some(ParquetError::External(inner)) = s.downcast_ref::<ParquetError>()
            && let Some(io) = inner.downcast_ref::<std::io::Error>()
        {
            return io_full(io);
        }
        source = s.source();
    }
    false
}

/// The compaction record of one measurement. Write files are live unless tombstoned;
/// compacted files are live only if listed, so a crash mid-compaction is undone on open.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub version: u32,
    pub compacted: Vec<ManifestEntry>,
    /// Write files replaced by a committed compaction and maybe not deleted yet.
    pub tombstones: Vec<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ManifestEntry {
    pub seq: u64,
    pub rank: u64,
    pub rows: u64,
    pub min_time: i64,
    pub max_time: i64,
}

impl Manifest {
    pub(super) fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                path,
                reason: format!("unreadable manifest: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    pub(super) fn store(&self, dir: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("manifest serialises");
        write_atomic(&dir.join(MANIFEST), &bytes)
    }
}

/// The live files of a measurement directory after recovery, in rank order.
pub(crate) struct Recovered {
    pub files: Vec<DataFile>,
    pub next_seq: u64,
    pub manifest: Manifest,
}

/// Lists a measurement directory, deletes crash leftovers (temp files, uncommitted
/// compaction outputs, tombstoned inputs) and returns the live files in rank order.
pub(crate) fn recover_dir(dir: &Path) -> Result<Recovered> {
    let mut manifest = Manifest::load(dir)?;
    let listed: HashSet<u64> = manifest.compacted.iter().map(|e| e.seq).collect();
    let tombstones: HashSet<u64> = manifest.tombstones.iter().copied().collect();
    let mut max_seq = listed.iter().chain(&tombstones).copied().max().unwrap_or(0);
    let mut write_files = Vec::new();
    let mut present_compacted = HashSet::new();
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.ends_with(TMP_SUFFIX) {
            tracing::info!(path = %path.display(), "deleting leftover temp file");
            remove(&path)?;
            continue;
        }
        let Some((kind, seq)) = parse_file_name(&name) else {
            continue;
        };
        max_seq = max_seq.max(seq);
        match kind {
            FileKind::Write if tombstones.contains(&seq) => {
                tracing::info!(path = %path.display(), "deleting file replaced by compaction");
                remove(&path)?;
            }
            FileKind::Write => write_files.push(seq),
            FileKind::Compacted if listed.contains(&seq) => {
                present_compacted.insert(seq);
            }
            FileKind::Compacted => {
                tracing::info!(path = %path.display(), "deleting uncommitted compaction output");
                remove(&path)?;
            }
        }
    }
    if let Some(missing) = listed.iter().find(|s| !present_compacted.contains(s)) {
        return Err(Error::Corrupt {
            path: dir.join(file_name(FileKind::Compacted, *missing)),
            reason: "listed in the manifest but missing".into(),
        });
    }
    // Every tombstoned file is gone now.
    manifest.tombstones.clear();
    let mut files: Vec<DataFile> = manifest
        .compacted
        .iter()
        .map(|e| {
            DataFile::new(
                dir,
                e.seq,
                FileKind::Compacted,
                e.rank,
                e.rows,
                (e.min_time, e.max_time),
            )
        })
        .collect();
    for seq in write_files {
        let path = dir.join(file_name(FileKind::Write, seq));
        let meta = ParquetRecordBatchReaderBuilder::try_new(
            File::open(&path).map_err(|e| Error::io(&path, e))?,
        )
        .map_err(|e| Error::parquet(&path, e))?;
        let rows = meta.metadata().file_metadata().num_rows() as u64;
        // The time range is recomputed while the latest cache is rebuilt; start wide.
        files.push(DataFile::new(
            dir,
            seq,
            FileKind::Write,
            seq,
            rows,
            (i64::MIN, i64::MAX),
        ));
    }
    files.sort_by_key(|f| (f.rank, f.seq));
    Ok(Recovered {
        files,
        next_seq: max_seq + 1,
        manifest,
    })
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Streams a data file batch by batch into `f`; returns its Arrow schema and tag names.
pub(crate) fn read_file(
    path: &Path,
    mut f: impl FnMut(&[String], &RecordBatch) -> Result<()>,
) -> Result<(SchemaRef, Vec<String>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::parquet(path, e))?;
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let tags = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == TAGS_KEY))
        .and_then(|k| k.value.as_deref())
        .ok_or_else(|| corrupt(format!("no `{TAGS_KEY}` metadata")))?;
    let tags: Vec<String> =
        serde_json::from_str(tags).map_err(|e| corrupt(format!("bad tag metadata: {e}")))?;
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| Error::parquet(path, e))?;
    for batch in reader {
        f(&tags, &batch?)?;
    }
    Ok((schema, tags))
}

/// (min, max) of `time` in a batch, if it has rows.
pub(crate) fn batch_time_bounds(batch: &RecordBatch) -> Option<(i64, i64)> {
    time_bounds(batch)
}

/// Shared handle used by snapshots.
pub(crate) type FileRef = Arc<DataFile>;

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{Field, TimeUnit};

    use super::*;

    #[test]
    fn only_string_columns_get_a_dictionary() {
        let schema = Schema::new(vec![
            Field::new(
                TIME_COLUMN,
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                false,
            ),
            Field::new("crypto_id", DataType::Utf8, false),
            Field::new("status", DataType::Utf8, true),
            Field::new("price_usd", DataType::Float64, false),
            Field::new("count", DataType::Int64, true),
        ]);
        let props = writer_properties(Compression::Snappy, 1024, &["crypto_id".into()], &schema);
        let dictionary = |c: &str| props.dictionary_enabled(&ColumnPath::from(c));
        assert!(dictionary("crypto_id") && dictionary("status"));
        assert!(!dictionary(TIME_COLUMN) && !dictionary("price_usd") && !dictionary("count"));
        // Row-group and page statistics on every column (what pruning reads), and the sort.
        assert_eq!(
            props.statistics_enabled(&ColumnPath::from(TIME_COLUMN)),
            EnabledStatistics::Page
        );
        assert!(!props.offset_index_disabled());
        let sorted: Vec<i32> = props
            .sorting_columns()
            .unwrap()
            .iter()
            .map(|c| c.column_idx)
            .collect();
        assert_eq!(sorted, [0, 1]);
    }
}
