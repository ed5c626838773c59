//! Consumer groups: membership, range assignment, and committed offsets persisted per group
//! in `<dir>/groups/<group>.json` (temp file, fsync, rename, fsync dir).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::sync_dir;
use crate::error::{Error, Result};
use crate::{AssignmentChange, Committed, TopicPartition};

/// What a member sees of its assignment; shared between the group and the consumer.
#[derive(Debug, Default)]
pub(crate) struct MemberState {
    pub assignment: BTreeSet<TopicPartition>,
    /// Reported by the next `take_assignment_change`.
    pending_revoked: BTreeSet<TopicPartition>,
    pending_assigned: BTreeSet<TopicPartition>,
    reported_once: bool,
    /// Assigned since the consumer last synced its read positions (they restart from the
    /// committed offset).
    pub fresh: BTreeSet<TopicPartition>,
    pub generation: u64,
}

impl MemberState {
    pub(super) fn take_change(&mut self) -> Option<AssignmentChange> {
        if self.reported_once && self.pending_revoked.is_empty() && self.pending_assigned.is_empty()
        {
            return None;
        }
        self.reported_once = true;
        Some(AssignmentChange {
            revoked: std::mem::take(&mut self.pending_revoked)
                .into_iter()
                .collect(),
            assigned: std::mem::take(&mut self.pending_assigned)
                .into_iter()
                .collect(),
        })
    }

    fn apply(&mut self, new: BTreeSet<TopicPartition>) {
        for tp in self.assignment.difference(&new) {
            self.fresh.remove(tp);
            // Assigned and revoked again before anyone looked: the consumer never knew it.
            if !self.pending_assigned.remove(tp) {
                self.pending_revoked.insert(tp.clone());
            }
        }
        for tp in new.difference(&self.assignment) {
            self.pending_assigned.insert(tp.clone());
            self.fresh.insert(tp.clone());
        }
        if new != self.assignment {
            self.generation += 1;
        }
        self.assignment = new;
    }
}

/// Handle a consumer keeps on its membership.
#[derive(Debug)]
pub(crate) struct Member {
    pub id: u64,
    pub notify: Arc<Notify>,
    pub state: Mutex<MemberState>,
}

#[derive(Debug)]
struct MemberEntry {
    topics: Vec<(String, u32)>,
    member: Arc<Member>,
}

/// One consumer group.
#[derive(Debug)]
pub(crate) struct Group {
    pub name: String,
    path: PathBuf,
    members: Mutex<BTreeMap<u64, MemberEntry>>,
    committed: Mutex<BTreeMap<TopicPartition, Committed>>,
    /// Serializes file writes so the newest snapshot always lands last.
    file_lock: Mutex<()>,
}

#[derive(Serialize, Deserialize)]
struct GroupFile {
    group: String,
    offsets: Vec<OffsetEntry>,
}

#[derive(Serialize, Deserialize)]
struct OffsetEntry {
    topic: String,
    partition: u32,
    offset: u64,
    #[serde(default)]
    metadata: String,
}

impl Group {
    fn load(name: &str, dir: &Path) -> Result<Self> {
        let path = dir.join(format!("{name}.json"));
        let mut committed = BTreeMap::new();
        match fs::read(&path) {
            Ok(bytes) => {
                let f: GroupFile = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                for o in f.offsets {
                    committed.insert(
                        TopicPartition::new(o.topic, o.partition),
                        Committed {
                            offset: o.offset,
                            metadata: o.metadata,
                        },
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
        Ok(Self {
            name: name.to_owned(),
            path,
            members: Mutex::new(BTreeMap::new()),
            committed: Mutex::new(committed),
            file_lock: Mutex::new(()),
        })
    }

    /// Adds a member and rebalances the group.
    pub(super) fn join(&self, member: Arc<Member>, topics: Vec<(String, u32)>) {
        let mut members = self.members.lock();
        members.insert(member.id, MemberEntry { topics, member });
        rebalance(&members);
    }

    /// Removes a member (consumer dropped) and gives its partitions to the others.
    pub(super) fn leave(&self, id: u64) {
        let mut members = self.members.lock();
        if members.remove(&id).is_some() {
            rebalance(&members);
        }
    }

    pub(super) fn committed(&self, tp: &TopicPartition) -> Option<Committed> {
        self.committed.lock().get(tp).cloned()
    }

    pub(super) fn committed_for_topic(
        &self,
        topic: &str,
        partitions: u32,
    ) -> Vec<Option<Committed>> {
        let c = self.committed.lock();
        (0..partitions)
            .map(|p| c.get(&TopicPartition::new(topic, p)).cloned())
            .collect()
    }

    /// Records offsets in memory and persists the whole group atomically. Blocking.
    pub(super) fn commit(&self, offsets: &[(TopicPartition, Committed)]) -> Result<()> {
        {
            let mut c = self.committed.lock();
            for (tp, o) in offsets {
                c.insert(tp.clone(), o.clone());
            }
        }
        let _g = self.file_lock.lock();
        let snapshot = GroupFile {
            group: self.name.clone(),
            offsets: self
                .committed
                .lock()
                .iter()
                .map(|(tp, c)| OffsetEntry {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    offset: c.offset,
                    metadata: c.metadata.clone(),
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&snapshot).expect("offsets always serialize");
        write_atomic(&self.path, &bytes)
    }
}

/// Kafka's range assignor, per topic: members subscribed to it, in join order, each get a
/// contiguous run of `n / m` partitions and the first `n % m` get one more.
fn rebalance(members: &BTreeMap<u64, MemberEntry>) {
    let mut per_topic: BTreeMap<&str, (u32, Vec<u64>)> = BTreeMap::new();
    for (id, m) in members {
        for (t, n) in &m.topics {
            per_topic
                .entry(t.as_str())
                .or_insert((*n, Vec::new()))
                .1
                .push(*id);
        }
    }
    let mut new: HashMap<u64, BTreeSet<TopicPartition>> =
        members.keys().map(|id| (*id, BTreeSet::new())).collect();
    for (topic, (n, ids)) in per_topic {
        let m = ids.len() as u32;
        let (each, extra) = (n / m, n % m);
        let mut next = 0;
        for (i, id) in ids.iter().enumerate() {
            let count = each + u32::from((i as u32) < extra);
            let set = new.get_mut(id).expect("every member has a set");
            for p in next..next + count {
                set.insert(TopicPartition::new(topic, p));
            }
            next += count;
        }
    }
    for (id, m) in members {
        let assignment = new.remove(id).unwrap_or_default();
        let changed = {
            let mut st = m.member.state.lock();
            let before = st.generation;
            st.apply(assignment);
            st.generation != before
        };
        if changed {
            m.member.notify.notify_one();
        }
    }
}

/// Writes `bytes` to `path` atomically and durably: temp file, fsync, rename, fsync dir.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        // A full disk must not leave the temp file behind.
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// All groups of a log, loaded lazily from disk.
#[derive(Debug)]
pub(crate) struct Coordinator {
    dir: PathBuf,
    groups: Mutex<HashMap<String, Arc<Group>>>,
}

impl Coordinator {
    pub(super) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// The group, loading its committed offsets on first use. Blocking (reads one file).
    pub(super) fn group(&self, name: &str) -> Result<Arc<Group>> {
        let mut groups = self.groups.lock();
        if let Some(g) = groups.get(name) {
            return Ok(g.clone());
        }
        let g = Arc::new(Group::load(name, &self.dir)?);
        groups.insert(name.to_owned(), g.clone());
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64) -> Arc<Member> {
        Arc::new(Member {
            id,
            notify: Arc::new(Notify::new()),
            state: Mutex::new(MemberState::default()),
        })
    }

    fn parts(m: &Member) -> Vec<u32> {
        m.state
            .lock()
            .assignment
            .iter()
            .map(|tp| tp.partition)
            .collect()
    }

    #[test]
    fn range_assignment_splits_and_rebalances() {
        let dir = tempfile::tempdir().unwrap();
        let g = Group::load("g", dir.path()).unwrap();
        let (a, b, c) = (member(1), member(2), member(3));
        let topics = vec![("t".to_owned(), 5u32)];
        g.join(a.clone(), topics.clone());
        assert_eq!(parts(&a), vec![0, 1, 2, 3, 4]);
        g.join(b.clone(), topics.clone());
        assert_eq!((parts(&a), parts(&b)), (vec![0, 1, 2], vec![3, 4]));
        g.join(c.clone(), topics.clone());
        assert_eq!(
            (parts(&a), parts(&b), parts(&c)),
            (vec![0, 1], vec![2, 3], vec![4])
        );
        g.leave(2);
        assert_eq!((parts(&a), parts(&c)), (vec![0, 1, 2], vec![3, 4]));

        let ch = a.state.lock().take_change().unwrap();
        assert!(ch.revoked.is_empty()); // 2..=4 were given and taken before a ever looked
        assert_eq!(ch.assigned.len(), 3);
        assert!(a.state.lock().take_change().is_none());
        let ch = c.state.lock().take_change().unwrap();
        assert_eq!(
            ch.assigned.iter().map(|t| t.partition).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }
}
