//! The embedded backend: segment files on local disk, consumer groups in process.

mod config;
mod consumer;
mod frame;
mod group;
mod health;
mod partition;
mod read;
mod repair;
mod retention;
mod segment;

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tracing::{info, warn};

pub use config::{EmbeddedLogConfig, FsyncPolicy};
pub use health::Stalled;
pub use repair::{RepairAction, RepairReport, repair};
pub use retention::RetentionReport;

use consumer::{EmbeddedConsumer, join_error};
use group::{Coordinator, Member, MemberState};
use partition::{Partition, PartitionConfig};

use crate::error::{Error, IoContext, Result};
use crate::{
    Committed, ConsumedRecord, Log, LogConsumer, Produced, Record, TopicPartition,
    partition_for_key, validate_name, validate_topic_name,
};

/// The embedded, single-process [`Log`] backend (see the crate docs for layout and
/// durability). Open once per data directory; share the `Arc`.
pub struct EmbeddedLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("dir", &self.inner.cfg.dir)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    cfg: EmbeddedLogConfig,
    pcfg: PartitionConfig,
    topics_dir: PathBuf,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    create_lock: Mutex<()>,
    coordinator: Coordinator,
    next_member: AtomicU64,
    /// Holds the directory's advisory lock for the life of the log.
    _lock: File,
}

pub(crate) struct Topic {
    partitions: Vec<Arc<Partition>>,
    round_robin: AtomicU32,
}

#[derive(Serialize, Deserialize)]
struct TopicMeta {
    partitions: u32,
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log in `config.dir`, recovering every partition: torn
    /// tails are truncated and missing indexes rebuilt. Fails with [`Error::Locked`] if another
    /// instance has the directory open. Background tasks (interval fsync, retention) are
    /// spawned on the current Tokio runtime; without one, `FsyncPolicy::Interval` is refused
    /// and retention runs only through [`EmbeddedLog::enforce_retention`].
    pub fn open(config: EmbeddedLogConfig) -> Result<Arc<Self>> {
        config.validate()?;
        let dir = config.dir.clone();
        fs::create_dir_all(&dir).at(&dir)?;
        let lock = lock_dir(&dir)?;
        let topics_dir = dir.join("topics");
        let groups_dir = dir.join("groups");
        fs::create_dir_all(&topics_dir).at(&topics_dir)?;
        fs::create_dir_all(&groups_dir).at(&groups_dir)?;
        let pcfg = PartitionConfig {
            segment_bytes: config.segment_bytes,
            fsync: config.fsync,
        };

        let mut topics = HashMap::new();
        for entry in fs::read_dir(&topics_dir).at(&topics_dir)? {
            let path = entry.at(&topics_dir)?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            let meta_path = path.join("topic.json");
            let meta: TopicMeta = match fs::read(&meta_path) {
                Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::Corrupt {
                    path: meta_path.clone(),
                    reason: e.to_string(),
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // A creation cut short by a crash; `ensure_topic` finishes it later.
                    warn!(topic = %name, "topic directory without topic.json; ignoring");
                    continue;
                }
                Err(e) => return Err(Error::io(meta_path, e)),
            };
            let topic = open_topic(&topics_dir, &name, meta.partitions, pcfg)?;
            topics.insert(name, Arc::new(topic));
        }
        info!(dir = %dir.display(), topics = topics.len(), "embedded log opened");

        let inner = Arc::new(Inner {
            pcfg,
            topics_dir,
            topics: RwLock::new(topics),
            create_lock: Mutex::new(()),
            coordinator: Coordinator::new(groups_dir),
            next_member: AtomicU64::new(1),
            _lock: lock,
            cfg: config,
        });
        let wants_retention = inner.cfg.retention.is_some() || inner.cfg.retention_bytes.is_some();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                if let FsyncPolicy::Interval(every) = inner.cfg.fsync {
                    rt.spawn(retention::run_flusher(Arc::downgrade(&inner), every));
                }
                if wants_retention {
                    let every = inner.cfg.retention_check_interval;
                    rt.spawn(retention::run(Arc::downgrade(&inner), every));
                }
            }
            Err(_) if matches!(inner.cfg.fsync, FsyncPolicy::Interval(_)) => {
                return Err(Error::Config {
                    key: "fsync",
                    reason: "an interval policy needs EmbeddedLog::open inside a Tokio runtime"
                        .into(),
                });
            }
            Err(_) => {}
        }
        Ok(Arc::new(Self { inner }))
    }

    /// The configuration in force.
    pub fn config(&self) -> &EmbeddedLogConfig {
        &self.inner.cfg
    }

    /// Runs one retention pass now, judging age by the system clock.
    pub async fn enforce_retention(&self) -> Result<RetentionReport> {
        self.enforce_retention_at(retention::now_ms()).await
    }

    /// Runs one retention pass judging age against `now_ms` (Unix ms): the injectable clock.
    pub async fn enforce_retention_at(&self, now_ms: i64) -> Result<RetentionReport> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || retention::enforce(&inner, now_ms))
            .await
            .map_err(join_error)?
    }
}

fn open_topic(
    topics_dir: &Path,
    name: &str,
    partitions: u32,
    pcfg: PartitionConfig,
) -> Result<Topic> {
    let topic: Arc<str> = Arc::from(name);
    let dir = topics_dir.join(name);
    let partitions = (0..partitions)
        .map(|p| Partition::open(dir.join(p.to_string()), topic.clone(), p, pcfg).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    Ok(Topic {
        partitions,
        round_robin: AtomicU32::new(0),
    })
}

/// How long [`lock_dir`] waits for a holder that is letting go.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Takes the advisory lock on `<dir>/.lock`, held for as long as the returned file is open.
///
/// A lock that is busy is retried for [`LOCK_WAIT`] before [`Error::Locked`]: a `flock` belongs
/// to the open file description, so a child process forked anywhere in this process in the
/// instant before it execs keeps a just-dropped log's lock alive for a moment. A second live
/// instance still fails, after the wait.
pub(crate) fn lock_dir(dir: &Path) -> Result<File> {
    let lock_path = dir.join(".lock");
    let lock = File::create(&lock_path).at(&lock_path)?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(lock),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(lock_path, e)),
        }
    }
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

impl Inner {
    fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().get(name).cloned()
    }

    fn require_topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.topic(name)
            .ok_or_else(|| Error::UnknownTopic(name.to_owned()))
    }

    pub(crate) fn all_topics(&self) -> Vec<Arc<Topic>> {
        self.topics.read().values().cloned().collect()
    }

    pub(crate) fn partition(&self, tp: &TopicPartition) -> Result<Arc<Partition>> {
        self.require_topic(&tp.topic)?
            .partitions
            .get(tp.partition as usize)
            .cloned()
            .ok_or_else(|| Error::InvalidArgument(format!("partition {tp} does not exist")))
    }

    /// Creates the topic if missing. Blocking (directory and file creation).
    fn create_topic(&self, name: &str, partitions: u32) -> Result<Arc<Topic>> {
        let _g = self.create_lock.lock();
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        let topic = Arc::new(open_topic(&self.topics_dir, name, partitions, self.pcfg)?);
        let dir = self.topics_dir.join(name);
        sync_dir(&dir)?;
        // topic.json last: its presence marks a complete topic.
        let meta = serde_json::to_vec(&TopicMeta { partitions }).expect("meta serializes");
        group::write_atomic(&dir.join("topic.json"), &meta)?;
        sync_dir(&self.topics_dir)?;
        info!(topic = %name, partitions, "topic created");
        self.topics.write().insert(name.to_owned(), topic.clone());
        Ok(topic)
    }
}

impl EmbeddedLog {
    async fn ensure(&self, topic: &str, partitions: u32) -> Result<Arc<Topic>> {
        validate_topic_name(topic)?;
        if partitions == 0 {
            return Err(Error::InvalidArgument(
                "a topic needs at least 1 partition".into(),
            ));
        }
        if let Some(t) = self.inner.topic(topic) {
            return Ok(t);
        }
        let inner = self.inner.clone();
        let name = topic.to_owned();
        tokio::task::spawn_blocking(move || inner.create_topic(&name, partitions))
            .await
            .map_err(join_error)?
    }
}

#[async_trait::async_trait]
impl Log for EmbeddedLog {
    fn stalled(&self) -> Option<String> {
        EmbeddedLog::stalled(self).map(|s| s.to_string())
    }

    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<()> {
        self.ensure(topic, partitions).await.map(|_| ())
    }

    async fn partition_count(&self, topic: &str) -> Result<u32> {
        validate_topic_name(topic)?;
        Ok(self.inner.require_topic(topic)?.partitions.len() as u32)
    }

    async fn append(&self, topic: &str, records: Vec<Record>) -> Result<Vec<Produced>> {
        validate_topic_name(topic)?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let max = self.inner.cfg.max_record_bytes;
        if let Some(size) = records.iter().map(segment::frame_len).find(|&s| s > max) {
            return Err(Error::RecordTooLarge { size, max });
        }
        let t = self
            .ensure(topic, self.inner.cfg.default_partitions)
            .await?;
        let n = t.partitions.len() as u32;
        let mut by_partition: Vec<Vec<usize>> = vec![Vec::new(); n as usize];
        for (i, r) in records.iter().enumerate() {
            let p = match &r.key {
                Some(k) => partition_for_key(k, n),
                None => t.round_robin.fetch_add(1, Ordering::Relaxed) % n,
            };
            by_partition[p as usize].push(i);
        }
        let always = self.inner.cfg.fsync == FsyncPolicy::Always;
        tokio::task::spawn_blocking(move || -> Result<Vec<Produced>> {
            let mut out = vec![
                Produced {
                    partition: 0,
                    offset: 0
                };
                records.len()
            ];
            let mut scratch = Vec::new();
            let mut refs = Vec::new();
            for (p, idxs) in by_partition.iter().enumerate() {
                if idxs.is_empty() {
                    continue;
                }
                refs.clear();
                refs.extend(idxs.iter().map(|&i| &records[i]));
                let first = t.partitions[p].append(&refs, &mut scratch)?;
                for (k, &i) in idxs.iter().enumerate() {
                    out[i] = Produced {
                        partition: p as u32,
                        offset: first + k as u64,
                    };
                }
            }
            if always {
                // fsync the touched partitions concurrently: the device overlaps them.
                let touched: Vec<&Arc<Partition>> = by_partition
                    .iter()
                    .zip(&t.partitions)
                    .filter(|(idxs, _)| !idxs.is_empty())
                    .map(|(_, p)| p)
                    .collect();
                std::thread::scope(|s| {
                    let handles: Vec<_> = touched.iter().map(|p| s.spawn(|| p.sync())).collect();
                    handles
                        .into_iter()
                        .try_for_each(|h| h.join().expect("fsync thread panicked"))
                })?;
            }
            Ok(out)
        })
        .await
        .map_err(join_error)?
    }

    async fn subscribe(&self, group: &str, topics: &[&str]) -> Result<Box<dyn LogConsumer>> {
        validate_name("group", group)?;
        if topics.is_empty() {
            return Err(Error::InvalidArgument(
                "subscribe needs at least one topic".into(),
            ));
        }
        let mut subs = Vec::with_capacity(topics.len());
        for &name in topics {
            let t = self.ensure(name, self.inner.cfg.default_partitions).await?;
            if !subs.iter().any(|(n, _): &(String, u32)| n == name) {
                subs.push((name.to_owned(), t.partitions.len() as u32));
            }
        }
        let inner = self.inner.clone();
        let name = group.to_owned();
        let group = tokio::task::spawn_blocking(move || inner.coordinator.group(&name))
            .await
            .map_err(join_error)??;
        let member = Arc::new(Member {
            id: self.inner.next_member.fetch_add(1, Ordering::Relaxed),
            notify: Arc::new(Notify::new()),
            state: Mutex::new(MemberState::default()),
        });
        group.join(member.clone(), subs);
        Ok(Box::new(EmbeddedConsumer {
            inner: self.inner.clone(),
            group,
            member,
            seen_generation: 0,
            positions: Default::default(),
            cursor: 0,
        }))
    }

    async fn offsets(&self, topic: &str) -> Result<Vec<(u64, u64)>> {
        validate_topic_name(topic)?;
        let t = self.inner.require_topic(topic)?;
        Ok(t.partitions.iter().map(|p| p.offsets()).collect())
    }

    async fn group_offsets(&self, group: &str, topic: &str) -> Result<Vec<Option<Committed>>> {
        validate_name("group", group)?;
        validate_topic_name(topic)?;
        let n = self.inner.require_topic(topic)?.partitions.len() as u32;
        let inner = self.inner.clone();
        let name = group.to_owned();
        let g = tokio::task::spawn_blocking(move || inner.coordinator.group(&name))
            .await
            .map_err(join_error)??;
        Ok(g.committed_for_topic(topic, n))
    }

    async fn read(
        &self,
        tp: &TopicPartition,
        from: u64,
        max: usize,
    ) -> Result<Vec<ConsumedRecord>> {
        validate_topic_name(&tp.topic)?;
        let partition = self.inner.partition(tp)?;
        tokio::task::spawn_blocking(move || partition.read(from, max).map(|r| r.records))
            .await
            .map_err(join_error)?
    }

    async fn flush(&self) -> Result<()> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            for t in inner.all_topics() {
                for p in &t.partitions {
                    p.flush()?;
                }
            }
            Ok(())
        })
        .await
        .map_err(join_error)?
    }
}
