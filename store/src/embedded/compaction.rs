//! Compaction: merges the small files at the tail of a measurement into sorted,
//! deduplicated files, committed atomically through the manifest.
//!
//! Files are ordered by rank (newest last). The run compacted is the suffix of files after
//! the last one that already has `target_file_rows`; writes arriving meanwhile append after
//! it, so replacing the run in place keeps the dedup order. Crash safety: outputs are
//! renamed into place and fsynced before the manifest lists them; inputs are deleted only
//! after the manifest commit (write files through tombstones, old compacted files by no
//! longer being listed), so every crash point leaves either the old or the new set live.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, new_null_array};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::files::{
    DataFile, FileKind, FileRef, FileWriter, Manifest, ManifestEntry, file_name, fsync_dir,
    writer_properties,
};
use super::scan::Snapshot;
use super::{Inner, Measurement};
use crate::batch::sort_dedup;
use crate::error::{Error, Result};

/// Reads `files` (in rank order, oldest first) with every column aligned to `schema` (a column
/// an older file lacks is null), then sorts by (tags…, time) keeping the last row of every
/// key, which is the newest file's: the write path's own sort ([`sort_dedup`]), so a run of
/// files is merged as one large write would have been.
fn merge_files(files: &[FileRef], schema: &SchemaRef, n_tags: usize) -> Result<RecordBatch> {
    let mut batches = Vec::new();
    for f in files {
        let file = std::fs::File::open(&f.path).map_err(|e| Error::io(&f.path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(64 * 1024).build())
            .map_err(|e| Error::parquet(&f.path, e))?;
        for batch in reader {
            let batch = batch?;
            let n = batch.num_rows();
            let columns: Vec<ArrayRef> = schema
                .fields()
                .iter()
                .map(|field| match batch.column_by_name(field.name()) {
                    Some(c) => c.clone(),
                    None => new_null_array(field.data_type(), n),
                })
                .collect();
            batches.push(RecordBatch::try_new(schema.clone(), columns)?);
        }
    }
    let all = concat_batches(schema, &batches)?;
    drop(batches);
    sort_dedup(&all, n_tags)
}

/// The compactable tail: files after the last full one.
pub(crate) fn small_tail(files: &[FileRef], target_file_rows: usize) -> &[FileRef] {
    let start = files
        .iter()
        .rposition(|f| f.rows >= target_file_rows as u64)
        .map_or(0, |i| i + 1);
    &files[start..]
}

/// Compacts the small tail of `m` if it has at least `min_files` files. Returns whether it
/// did.
pub(crate) async fn compact_measurement(
    inner: &Inner,
    m: &Measurement,
    min_files: usize,
) -> Result<bool> {
    let _guard = m.compaction_lock.lock().await;
    let target = inner.config.target_file_rows;
    let snap = {
        let st = m.state.read();
        let run = small_tail(&st.files, target);
        if run.len() < min_files.max(2) {
            return Ok(false);
        }
        Snapshot {
            tags: st.tags.clone(),
            schema: st
                .schema
                .clone()
                .expect("a measurement with files has a schema"),
            files: run.to_vec(),
        }
    };
    let started = std::time::Instant::now();
    // Read, sort and deduplicate off the async workers: the newest row of every key wins.
    let merged = {
        let files = snap.files.clone();
        let schema = snap.schema.clone();
        let n_tags = snap.tags.len();
        tokio::task::spawn_blocking(move || merge_files(&files, &schema, n_tags))
            .await
            .map_err(|e| Error::Task(e.to_string()))??
    };
    let batches = vec![merged];
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let n_out = total.div_ceil(target);
    let first_seq = {
        let mut st = m.state.write();
        let s = st.next_seq;
        st.next_seq += n_out as u64;
        s
    };
    let rank = snap.files.last().expect("run is not empty").rank;
    let dir = m.dir.clone();
    let props = writer_properties(
        inner.config.compression,
        inner.config.row_group_rows,
        &snap.tags,
        &snap.schema,
    );
    let schema = snap.schema.clone();
    let n_tags = snap.tags.len();
    let outputs = tokio::task::spawn_blocking(move || -> Result<Vec<DataFile>> {
        let mut outputs = Vec::new();
        let written = write_outputs(
            &batches,
            &dir,
            &schema,
            &props,
            (first_seq, rank),
            (target, n_tags),
            &mut outputs,
        );
        if written.is_err() {
            // Renamed outputs are not listed anywhere yet: delete them now (a full disk
            // needs the space back), not at the next open. A failed writer deleted its temp.
            for f in &outputs {
                f.mark_obsolete();
            }
        }
        written.map(|()| outputs)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))??;

    let mut manifest = m.state.read().manifest.clone();
    manifest.version = 1;
    let replaced: Vec<u64> = snap.files.iter().map(|f| f.seq).collect();
    manifest.compacted.retain(|e| !replaced.contains(&e.seq));
    manifest
        .compacted
        .extend(outputs.iter().map(|f| ManifestEntry {
            seq: f.seq,
            rank: f.rank,
            rows: f.rows,
            min_time: f.min_time,
            max_time: f.max_time,
        }));
    let new_tombstones: Vec<u64> = snap
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Write)
        .map(|f| f.seq)
        .collect();
    // Filesystem work (the tombstones' `stat`s, the manifest's write and fsync) stays off the
    // async workers, which serve requests meanwhile.
    let store_dir = m.dir.clone();
    let manifest = tokio::task::spawn_blocking(move || -> Result<Manifest> {
        manifest
            .tombstones
            .retain(|s| store_dir.join(file_name(FileKind::Write, *s)).exists());
        manifest.tombstones.extend(new_tombstones);
        manifest.store(&store_dir)?;
        Ok(manifest)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?;
    let manifest = match manifest {
        Ok(m) => m,
        Err(e) => {
            // Not committed: the outputs are unlisted, delete them now.
            for f in &outputs {
                f.mark_obsolete();
            }
            let _ = tokio::task::spawn_blocking(move || drop(outputs)).await;
            return Err(e);
        }
    };

    let outputs: Vec<FileRef> = outputs.into_iter().map(Arc::new).collect();
    {
        let mut st = m.state.write();
        let pos = st
            .files
            .iter()
            .position(|f| Arc::ptr_eq(f, &snap.files[0]))
            .expect("only compaction removes files and it holds the lock");
        st.files
            .splice(pos..pos + snap.files.len(), outputs.iter().cloned());
        st.manifest = manifest;
    }
    for f in &snap.files {
        f.mark_obsolete();
    }
    // The inputs are deleted when their last reference goes (here, unless a query still
    // reads them): unlinking large files is blocking work too.
    let inputs = snap.files.len();
    let dropped = tokio::task::spawn_blocking(move || drop(snap));
    let _ = dropped.await;
    tracing::info!(
        measurement = %m.name,
        inputs,
        outputs = outputs.len(),
        rows = total,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "compacted"
    );
    Ok(true)
}

/// Writes the compacted rows into files of `target` rows from `first_seq` on, pushing each
/// finished file to `outputs`, then fsyncs the directory.
fn write_outputs(
    batches: &[RecordBatch],
    dir: &std::path::Path,
    schema: &SchemaRef,
    props: &datafusion::parquet::file::properties::WriterProperties,
    (first_seq, rank): (u64, u64),
    (target, n_tags): (usize, usize),
    outputs: &mut Vec<DataFile>,
) -> Result<()> {
    let mut writer: Option<(u64, FileWriter)> = None;
    let mut next = first_seq;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if writer.is_none() {
                let path = dir.join(file_name(FileKind::Compacted, next));
                writer = Some((
                    next,
                    FileWriter::create(path, schema.clone(), n_tags, props.clone())?,
                ));
                next += 1;
            }
            let (_, w) = writer.as_mut().expect("just created");
            let take = (target - w.rows() as usize).min(batch.num_rows() - offset);
            w.write(&batch.slice(offset, take))?;
            offset += take;
            if w.rows() as usize >= target {
                let (seq, w) = writer.take().expect("open");
                let w = w.finish()?;
                outputs.push(
                    DataFile::new(dir, seq, FileKind::Compacted, rank, w.rows, w.time)
                        .with_series(w.series),
                );
            }
        }
    }
    if let Some((seq, w)) = writer.take() {
        let w = w.finish()?;
        outputs.push(
            DataFile::new(dir, seq, FileKind::Compacted, rank, w.rows, w.time)
                .with_series(w.series),
        );
    }
    fsync_dir(dir)?;
    Ok(())
}
