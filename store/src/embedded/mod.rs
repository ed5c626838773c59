//! The embedded backend: Parquet files per measurement, queried with DataFusion.
//!
//! `write` sorts and deduplicates each measurement's rows, writes them as one new file and
//! fsyncs it; `query` builds a DataFusion plan over a snapshot of the live files
//! (`scan.rs`); a background task compacts small files (`compaction.rs`); `last` is answered
//! from an in-memory latest-row-per-series cache (`latest.rs`) rebuilt on open.

mod compaction;
mod config;
mod executor;
mod files;
mod health;
mod latest;
mod overlap;
mod scan;
mod series;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::datatypes::{Field, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{SessionConfig, SessionContext};
use parking_lot::{Mutex, RwLock};
use tokio::task::JoinHandle;

pub use self::config::{Compression, EmbeddedStoreConfig};
use self::executor::QueryExecutor;
use self::files::{DataFile, FileKind, FileRef, FileWriter, Manifest, file_name, fsync_dir};
pub use self::health::Stalled;
use self::latest::LatestCache;
use self::scan::Snapshot;
use crate::Store;
use crate::batch::{
    WriteBatch, measurement_schema, merge_schema, prepare_rows, schema_fields,
    validate_measurement_name,
};
use crate::error::{Error, Result};
use crate::query::Query;
use crate::sql::SqlBudget;

/// The embedded [`Store`]: Parquet files under [`EmbeddedStoreConfig::dir`], queried with
/// DataFusion. Cheap to clone (shared state).
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    config: EmbeddedStoreConfig,
    session_config: SessionConfig,
    /// Where query plans run (never on the caller's async workers).
    queries: QueryExecutor,
    measurements: RwLock<BTreeMap<String, Arc<Measurement>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Writes waiting for disk space, by measurement.
    stalls: Mutex<BTreeMap<String, Stalled>>,
}

/// One measurement's directory and in-memory state.
pub(crate) struct Measurement {
    name: String,
    dir: PathBuf,
    /// Serialises writers so that sequence order is commit order.
    write_lock: tokio::sync::Mutex<()>,
    /// One compaction at a time; it is also the only remover of files.
    compaction_lock: tokio::sync::Mutex<()>,
    compaction_scheduled: AtomicBool,
    state: RwLock<State>,
}

struct State {
    /// Tag names in stored order (empty until the first write).
    tags: Vec<String>,
    /// Union schema (tags, time, fields); `None` until the first write.
    schema: Option<SchemaRef>,
    /// Live files in rank order.
    files: Vec<FileRef>,
    next_seq: u64,
    manifest: Manifest,
    latest: LatestCache,
}

impl Measurement {
    fn new(name: String, dir: PathBuf, state: State) -> Self {
        Measurement {
            name,
            dir,
            write_lock: tokio::sync::Mutex::new(()),
            compaction_lock: tokio::sync::Mutex::new(()),
            compaction_scheduled: AtomicBool::new(false),
            state: RwLock::new(state),
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        let st = self.state.read();
        Some(Snapshot {
            tags: st.tags.clone(),
            schema: st.schema.clone()?,
            files: st.files.clone(),
        })
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store at `config.dir`, recovering from any crash: temp files
    /// and uncommitted compaction outputs are deleted, and the latest-row cache is rebuilt by
    /// reading the live files.
    pub fn open(config: EmbeddedStoreConfig) -> Result<Self> {
        config.validate()?;
        let root = config.dir.clone();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        let mut measurements = BTreeMap::new();
        let entries = std::fs::read_dir(&root).map_err(|e| Error::io(&root, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry
                .file_type()
                .map_err(|e| Error::io(entry.path(), e))?
                .is_dir();
            if !is_dir || validate_measurement_name(&name).is_err() {
                continue;
            }
            let m = load_measurement(name.clone(), entry.path())?;
            measurements.insert(name, Arc::new(m));
        }
        let partitions = match config.query_partitions {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let mut session_config = SessionConfig::new().with_target_partitions(partitions);
        session_config
            .options_mut()
            .execution
            .parquet
            .pushdown_filters = true;
        session_config
            .options_mut()
            .execution
            .parquet
            .reorder_filters = true;
        let files: usize = measurements
            .values()
            .map(|m| m.state.read().files.len())
            .sum();
        tracing::info!(dir = %root.display(), measurements = measurements.len(), files, "store opened");
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                config,
                session_config,
                queries: QueryExecutor::new(partitions)?,
                measurements: RwLock::new(measurements),
                tasks: Mutex::new(Vec::new()),
                stalls: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// The configuration the store runs with.
    pub fn config(&self) -> &EmbeddedStoreConfig {
        &self.inner.config
    }

    /// Runs a read-only SQL query over the stored data. Every measurement is registered as
    /// a deduplicated table named after it (quote names with capitals or `-`), with columns
    /// tags, `time`, fields. The files read stay on disk until the statement finishes.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.sql_limited(sql, None).await
    }

    /// [`EmbeddedStore::sql`] returning at most `max_rows` rows (the plan stops reading once
    /// it has them).
    pub async fn sql_limited(
        &self,
        sql: &str,
        max_rows: Option<usize>,
    ) -> Result<Vec<RecordBatch>> {
        self.run_sql(self.inner.context(), sql, max_rows).await
    }

    /// Runs `sql` in `ctx`, on the query threads.
    async fn run_sql(
        &self,
        ctx: SessionContext,
        sql: &str,
        max_rows: Option<usize>,
    ) -> Result<Vec<RecordBatch>> {
        let snaps: Vec<(String, Arc<Snapshot>)> = self
            .handles()
            .into_iter()
            .filter_map(|m| Some((m.name.clone(), Arc::new(m.snapshot()?))))
            .collect();
        let sql = sql.to_string();
        self.inner
            .queries
            .run(async move {
                scan::register_views(&ctx, &snaps).await?;
                let mut frame = ctx.sql_with_options(&sql, crate::sql::read_only()).await?;
                if let Some(n) = max_rows {
                    frame = frame.limit(0, Some(n))?;
                }
                let out = frame.collect().await?;
                drop(snaps);
                Ok(out)
            })
            .await
    }

    /// Compacts every measurement that has at least two small files, waiting for it;
    /// returns how many were compacted. Background compaction does the same on its own.
    pub async fn compact(&self) -> Result<usize> {
        let mut n = 0;
        for m in self.handles() {
            if compaction::compact_measurement(&self.inner, &m, 2).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Number of live data files of a measurement (0 if unknown); for tests and metrics.
    pub fn file_count(&self, measurement: &str) -> usize {
        self.handle(measurement)
            .map_or(0, |m| m.state.read().files.len())
    }

    fn handles(&self) -> Vec<Arc<Measurement>> {
        self.inner.measurements.read().values().cloned().collect()
    }

    fn handle(&self, measurement: &str) -> Option<Arc<Measurement>> {
        self.inner.measurements.read().get(measurement).cloned()
    }

    /// The handle of a measurement, creating its directory if new.
    fn handle_or_create(&self, measurement: &str) -> Result<Arc<Measurement>> {
        if let Some(m) = self.handle(measurement) {
            return Ok(m);
        }
        let mut map = self.inner.measurements.write();
        if let Some(m) = map.get(measurement) {
            return Ok(m.clone());
        }
        let dir = self.inner.config.dir.join(measurement);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        fsync_dir(&self.inner.config.dir)?;
        let state = State {
            tags: Vec::new(),
            schema: None,
            files: Vec::new(),
            next_seq: 1,
            manifest: Manifest::default(),
            latest: LatestCache::default(),
        };
        let m = Arc::new(Measurement::new(measurement.to_owned(), dir, state));
        map.insert(measurement.to_owned(), m.clone());
        Ok(m)
    }

    fn maybe_schedule_compaction(&self, m: &Arc<Measurement>) {
        let config = &self.inner.config;
        if !config.background_compaction {
            return;
        }
        let tail = compaction::small_tail(&m.state.read().files, config.target_file_rows).len();
        if tail < config.compaction_trigger_files
            || m.compaction_scheduled.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let inner = self.inner.clone();
        let m = m.clone();
        let task = tokio::spawn(async move {
            let result = compaction::compact_measurement(&inner, &m, 2).await;
            m.compaction_scheduled.store(false, Ordering::Release);
            if let Err(e) = result {
                // Not data loss: the inputs stay live and the next write retries.
                tracing::warn!(measurement = %m.name, error = %e, "compaction failed");
            }
        });
        let mut tasks = self.inner.tasks.lock();
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }
}

impl Inner {
    pub(crate) fn context(&self) -> SessionContext {
        SessionContext::new_with_config(self.session_config.clone())
    }
}

/// Recovers a measurement directory and rebuilds its schema and latest-row cache.
fn load_measurement(name: String, dir: PathBuf) -> Result<Measurement> {
    let recovered = files::recover_dir(&dir)?;
    let mut tags: Option<Vec<String>> = None;
    let mut fields: Vec<Arc<Field>> = Vec::new();
    let mut latest = LatestCache::default();
    let mut live = Vec::with_capacity(recovered.files.len());
    for mut f in recovered.files {
        let mut bounds: Option<(i64, i64)> = None;
        let mut series = series::SeriesRanges::default();
        let (schema, file_tags) = files::read_file(&f.path, |file_tags, batch| {
            if let Some(b) = files::batch_time_bounds(batch) {
                bounds = Some(bounds.map_or(b, |a| (a.0.min(b.0), a.1.max(b.1))));
            }
            series.add(batch, file_tags.len());
            latest.update(batch, file_tags.len())
        })?;
        f.series = series.finish();
        let corrupt = |reason: String| Error::Corrupt {
            path: f.path.clone(),
            reason,
        };
        match &tags {
            None => tags = Some(file_tags.clone()),
            Some(t) if *t != file_tags => {
                return Err(corrupt(format!("tags {file_tags:?} differ from {t:?}")));
            }
            Some(_) => {}
        }
        for field in schema_fields(&schema, &file_tags) {
            match fields.iter().find(|e| e.name() == field.name()) {
                Some(e) if e.data_type() != field.data_type() => {
                    return Err(corrupt(format!(
                        "column `{}` is {} here but {} elsewhere",
                        field.name(),
                        field.data_type(),
                        e.data_type()
                    )));
                }
                Some(_) => {}
                None => fields.push(field),
            }
        }
        if f.kind == FileKind::Write
            && let Some((lo, hi)) = bounds
        {
            f.min_time = lo;
            f.max_time = hi;
        }
        live.push(Arc::new(f));
    }
    let tags = tags.unwrap_or_default();
    let schema = (!live.is_empty()).then(|| measurement_schema(&tags, &fields));
    Ok(Measurement::new(
        name,
        dir,
        State {
            tags,
            schema,
            files: live,
            next_seq: recovered.next_seq,
            manifest: recovered.manifest,
            latest,
        },
    ))
}

/// Writes one measurement's new file: sort, dedup, Parquet, fsync, rename, fsync dir.
fn write_file(
    dir: &Path,
    seq: u64,
    batches: &[WriteBatch],
    merged: &crate::batch::Merged,
    props: datafusion::parquet::file::properties::WriterProperties,
) -> Result<(DataFile, RecordBatch)> {
    let rows = prepare_rows(batches, &merged.file_schema, &merged.tags)?;
    let path = dir.join(file_name(FileKind::Write, seq));
    let mut w = FileWriter::create(path, merged.file_schema.clone(), merged.tags.len(), props)?;
    w.write(&rows)?;
    let written = w.finish()?;
    fsync_dir(dir)?;
    let file = DataFile::new(dir, seq, FileKind::Write, seq, written.rows, written.time)
        .with_series(written.series);
    Ok((file, rows))
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn query_sql(
        &self,
        sql: &str,
        max_rows: usize,
        budget: &SqlBudget,
    ) -> Result<Vec<RecordBatch>> {
        let ctx = budget.context(self.inner.session_config.clone());
        self.run_sql(ctx, sql, Some(max_rows)).await
    }

    async fn write(&self, batches: Vec<WriteBatch>) -> Result<()> {
        let mut groups: BTreeMap<String, Vec<WriteBatch>> = BTreeMap::new();
        for b in batches {
            b.validate()?;
            if b.num_rows() > 0 {
                groups.entry(b.measurement.clone()).or_default().push(b);
            }
        }
        if groups.is_empty() {
            return Ok(());
        }
        let mut work = Vec::with_capacity(groups.len());
        for (name, batches) in groups {
            work.push((self.handle_or_create(&name)?, batches));
        }
        // Lock in name order (BTreeMap order), so concurrent writers cannot deadlock.
        let locked: Vec<Arc<Measurement>> = work.iter().map(|(m, _)| m.clone()).collect();
        let mut guards = Vec::with_capacity(locked.len());
        for m in &locked {
            guards.push(m.write_lock.lock().await);
        }
        // Check every measurement's schema before writing anything.
        let mut planned = Vec::with_capacity(work.len());
        for (m, batches) in work {
            let merged = {
                let st = m.state.read();
                let existing = st.schema.as_deref().map(|s| (st.tags.as_slice(), s));
                merge_schema(existing, &batches)?
            };
            planned.push((m, batches, merged));
        }
        let mut jobs = Vec::with_capacity(planned.len());
        for (m, batches, merged) in planned {
            // Compaction allocates from the same counter (under the state lock, not ours).
            let seq = {
                let mut st = m.state.write();
                st.next_seq += 1;
                st.next_seq - 1
            };
            let props = files::writer_properties(
                self.inner.config.compression,
                self.inner.config.row_group_rows,
                &merged.tags,
                &merged.file_schema,
            );
            let dir = m.dir.clone();
            let inner = self.inner.clone();
            let name = m.name.clone();
            let job = tokio::task::spawn_blocking(move || {
                // A full disk stalls this write (retried with the same sequence number; a
                // failed attempt leaves no file) rather than failing it.
                let out = inner.until_space(&name, || {
                    write_file(&dir, seq, &batches, &merged, props.clone())
                });
                (out, merged)
            });
            jobs.push((m, job));
        }
        let mut first_error = None;
        for (m, job) in jobs {
            let (out, merged) = match job.await {
                Ok(r) => r,
                Err(e) => {
                    first_error.get_or_insert(Error::Task(e.to_string()));
                    continue;
                }
            };
            match out {
                Ok((file, rows)) => {
                    let mut st = m.state.write();
                    let n_tags = merged.tags.len();
                    st.files.push(Arc::new(file));
                    st.tags = merged.tags;
                    st.schema = Some(merged.schema);
                    if let Err(e) = st.latest.update(&rows, n_tags) {
                        first_error.get_or_insert(e);
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            tracing::debug!(measurement = %m.name, "write committed");
        }
        drop(guards);
        if let Some(e) = first_error {
            return Err(e);
        }
        for m in self.handles() {
            self.maybe_schedule_compaction(&m);
        }
        Ok(())
    }

    async fn query(&self, q: &Query) -> Result<Vec<RecordBatch>> {
        let Some(snap) = self.handle(&q.measurement).and_then(|m| m.snapshot()) else {
            return Ok(Vec::new());
        };
        let ctx = self.inner.context();
        let q = q.clone();
        self.inner
            .queries
            .run(async move { scan::run_query(&ctx, &snap, &q).await })
            .await
    }

    async fn last(&self, measurement: &str, tags: &[(String, String)]) -> Result<Vec<RecordBatch>> {
        let Some(m) = self.handle(measurement) else {
            return Ok(Vec::new());
        };
        let st = m.state.read();
        let Some(schema) = &st.schema else {
            return Ok(Vec::new());
        };
        let mut filters = Vec::with_capacity(tags.len());
        for (tag, value) in tags {
            match st.tags.iter().position(|t| t == tag) {
                Some(i) => filters.push((i, value.as_str())),
                None => return Ok(Vec::new()),
            }
        }
        Ok(st
            .latest
            .rows(schema, st.tags.len(), &filters)?
            .into_iter()
            .collect())
    }

    async fn measurements(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .measurements
            .read()
            .iter()
            .filter(|(_, m)| m.state.read().schema.is_some())
            .map(|(name, _)| name.clone())
            .collect())
    }

    async fn tag_values(&self, measurement: &str, tag: &str) -> Result<Vec<String>> {
        let Some(m) = self.handle(measurement) else {
            return Ok(Vec::new());
        };
        let st = m.state.read();
        Ok(match st.tags.iter().position(|t| t == tag) {
            Some(i) => st.latest.tag_values(i),
            None => Vec::new(),
        })
    }

    async fn flush(&self) -> Result<()> {
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.inner.tasks.lock());
        for t in tasks {
            t.await.map_err(|e| Error::Task(e.to_string()))?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        if let Some(stall) = self.stalled() {
            return Err(Error::Unavailable(stall.to_string()));
        }
        let dir = &self.inner.config.dir;
        match tokio::fs::metadata(dir).await {
            Ok(md) if md.is_dir() => Ok(()),
            Ok(_) => Err(Error::Corrupt {
                path: dir.clone(),
                reason: "not a directory".into(),
            }),
            Err(e) => Err(Error::io(dir, e)),
        }
    }
}
