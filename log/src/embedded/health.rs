//! Whether the embedded log is taking appends: a full disk stalls a partition's appends
//! (retried until space returns) and this is how the process's readiness learns of it.

use std::io;
use std::time::SystemTime;

use super::EmbeddedLog;
use crate::error::Error;

/// Appends to a partition are waiting for disk space (see [`EmbeddedLog::stalled`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stalled {
    /// Topic of the stalled partition.
    pub topic: String,
    /// The stalled partition.
    pub partition: u32,
    /// When the stall began.
    pub since: SystemTime,
    /// The error that stalled it, with the file it happened on.
    pub error: String,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.since.elapsed().map_or(0, |d| d.as_secs());
        write!(
            f,
            "appends to {}/{} stalled for {secs} s: {}; retrying until disk space is freed",
            self.topic, self.partition, self.error
        )
    }
}

impl EmbeddedLog {
    /// `Some` while appends to some partition are stalled on a full disk: they are retried
    /// with back-off and resume by themselves once space is freed, acknowledging nothing
    /// meanwhile. A readiness probe should fail while this is `Some`.
    pub fn stalled(&self) -> Option<Stalled> {
        self.inner
            .all_topics()
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find_map(|p| p.stalled())
    }
}

/// Whether `e` says the file system is out of space or quota (a condition that passes).
pub(crate) fn is_disk_full(e: &Error) -> bool {
    match e {
        Error::Io { source, .. } => io_disk_full(source),
        _ => false,
    }
}

fn io_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}
