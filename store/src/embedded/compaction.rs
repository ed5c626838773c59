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

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::ident;

use super::files::{
    DataFile, FileKind, FileRef, FileWriter, ManifestEntry, file_name, fsync_dir, writer_properties,
};
use super::scan::{Snapshot, deduplicated};
use super::{Inner, Measurement};
use crate::batch::TIME_COLUMN;
use crate::error::{Error, Result};
use crate::query::TimeRange;

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
    let ctx = inner.context();
    let fields: Vec<String> = snap.schema.fields()[snap.tags.len() + 1..]
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = match deduplicated(&ctx, &snap, &TimeRange::default(), &[], &fields).await? {
        Some(df) => {
            let order = snap
                .tags
                .iter()
                .map(|t| ident(t.as_str()).sort(true, false))
                .chain([ident(TIME_COLUMN).sort(true, false)])
                .collect();
            df.sort(order)?.collect().await?
        }
        None => Vec::new(),
    };
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
    );
    let schema = snap.schema.clone();
    let outputs = tokio::task::spawn_blocking(move || -> Result<Vec<DataFile>> {
        let mut outputs = Vec::new();
        let mut writer: Option<(u64, FileWriter)> = None;
        let mut next = first_seq;
        for batch in &batches {
            let mut offset = 0;
            while offset < batch.num_rows() {
                if writer.is_none() {
                    let path = dir.join(file_name(FileKind::Compacted, next));
                    writer = Some((
                        next,
                        FileWriter::create(path, schema.clone(), props.clone())?,
                    ));
                    next += 1;
                }
                let (_, w) = writer.as_mut().expect("just created");
                let take = (target - w.rows() as usize).min(batch.num_rows() - offset);
                w.write(&batch.slice(offset, take))?;
                offset += take;
                if w.rows() as usize >= target {
                    let (seq, w) = writer.take().expect("open");
                    let (rows, time) = w.finish()?;
                    outputs.push(DataFile::new(
                        &dir,
                        seq,
                        FileKind::Compacted,
                        rank,
                        rows,
                        time,
                    ));
                }
            }
        }
        if let Some((seq, w)) = writer.take() {
            let (rows, time) = w.finish()?;
            outputs.push(DataFile::new(
                &dir,
                seq,
                FileKind::Compacted,
                rank,
                rows,
                time,
            ));
        }
        fsync_dir(&dir)?;
        Ok(outputs)
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
    manifest
        .tombstones
        .retain(|s| m.dir.join(file_name(FileKind::Write, *s)).exists());
    manifest.tombstones.extend(
        snap.files
            .iter()
            .filter(|f| f.kind == FileKind::Write)
            .map(|f| f.seq),
    );
    let store_dir = m.dir.clone();
    let committed = manifest.clone();
    tokio::task::spawn_blocking(move || committed.store(&store_dir))
        .await
        .map_err(|e| Error::Task(e.to_string()))??;

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
    tracing::info!(
        measurement = %m.name,
        inputs = snap.files.len(),
        outputs = outputs.len(),
        rows = total,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "compacted"
    );
    Ok(true)
}
