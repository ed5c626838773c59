//! The crate's error type, classified by whether a retry can help.

use std::io;
use std::path::PathBuf;

use crate::TopicPartition;

/// Everything that can go wrong in the log seam.
///
/// Use [`Error::is_retryable`] to decide between back-off-and-retry and giving up, and
/// [`Error::is_caller_error`] to tell a bad request (our caller's fault) from a fault of the
/// backend or the machine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A topic or group name breaks Kafka's naming rules (`[A-Za-z0-9._-]`, 1..=249 chars).
    #[error("invalid {what} name {name:?}: {reason}")]
    InvalidName {
        /// `"topic"` or `"group"`.
        what: &'static str,
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The topic does not exist (and the call does not auto-create).
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    /// A request argument is out of range (zero partitions, empty topic list, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The consumer tried to seek or commit a partition it is not assigned (any more): a
    /// rebalance moved it. Call `take_assignment_change` and carry on with the new assignment.
    #[error("partitions {0:?} are not assigned to this consumer (rebalanced away?)")]
    NotAssigned(Vec<TopicPartition>),
    /// A single record is larger than `max_record_bytes`.
    #[error("record of {size} bytes exceeds max_record_bytes = {max}")]
    RecordTooLarge {
        /// Encoded size of the record.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The embedded configuration is invalid; `key` names the offending field.
    #[error("invalid log config `{key}`: {reason}")]
    Config {
        /// The config field.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Another `EmbeddedLog` (this or another process) holds the data directory.
    #[error("log directory {0} is locked by another process or instance")]
    Locked(PathBuf),
    /// On-disk data failed validation in a way recovery cannot repair by truncating a tail.
    #[error("corrupt log data in {path}: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// An operating-system I/O error, with the file it happened on.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A backend (e.g. Kafka) failure that is not one of the above.
    #[error("log backend error: {message}")]
    Backend {
        /// Human-readable description.
        message: String,
        /// Whether the backend says a retry may succeed.
        retryable: bool,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when retrying the same call later (with back-off) may succeed: transient I/O
    /// conditions such as a full disk or an interrupted call, or a backend that says so.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::Interrupted
                    | io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::StorageFull
                    | io::ErrorKind::ResourceBusy
                    | io::ErrorKind::OutOfMemory
            ),
            Error::Locked(_) => true,
            Error::Backend { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// True when the caller asked for something invalid (bad name, argument, config,
    /// record size, unassigned partition): fix the request rather than retrying it.
    pub fn is_caller_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidName { .. }
                | Error::UnknownTopic(_)
                | Error::InvalidArgument(_)
                | Error::NotAssigned(_)
                | Error::RecordTooLarge { .. }
                | Error::Config { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Attaches a path to `std::io` results.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
