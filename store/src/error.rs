//! Errors of the store, classified by whose fault they are and whether a retry can help.

use std::path::PathBuf;

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::parquet::errors::ParquetError;

/// Everything that can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A [`WriteBatch`](crate::WriteBatch) breaks the schema conventions (caller's fault).
    #[error("invalid write batch for measurement `{measurement}`: {reason}")]
    InvalidBatch {
        /// Measurement of the batch.
        measurement: String,
        /// What is wrong, naming the column.
        reason: String,
    },
    /// A column changes type, or the tag set changes, relative to what is stored
    /// (caller's fault).
    #[error(
        "column `{column}` of measurement `{measurement}` is {existing} in the store but {new} in this write"
    )]
    SchemaConflict {
        /// Measurement written to.
        measurement: String,
        /// The offending column.
        column: String,
        /// What the store has (e.g. `Float64`, `a tag`, `absent`).
        existing: String,
        /// What the write has.
        new: String,
    },
    /// A query asks for something that cannot be answered (caller's fault).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A configuration value is invalid; names the key.
    #[error("invalid store config `{key}`: {reason}")]
    Config {
        /// The config key.
        key: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A file system operation failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing a Parquet file failed.
    #[error("parquet error on {}: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: ParquetError,
    },
    /// On-disk state that the store cannot make sense of; a human must look.
    #[error("corrupt store at {}: {reason}", path.display())]
    Corrupt {
        /// File or directory involved.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The query engine failed.
    #[error("query engine: {0}")]
    DataFusion(#[from] DataFusionError),
    /// An Arrow compute kernel failed.
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    /// The backend cannot be reached right now (remote backends; retry with back-off).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A background task panicked or was cancelled.
    #[error("internal task failed: {0}")]
    Task(String),
    /// This backend does not offer the operation.
    #[error("not supported by this store: {0}")]
    Unsupported(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether retrying the same call later may succeed (I/O hiccups, an unreachable
    /// backend). Caller errors and corruption are permanent.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Io { .. }
                | Error::Unavailable(_)
                | Error::Task(_)
                | Error::DataFusion(
                    DataFusionError::IoError(_) | DataFusionError::ResourcesExhausted(_)
                )
        )
    }

    /// Whether the caller sent something invalid (maps to a 4xx in the API).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidBatch { .. } | Error::SchemaConflict { .. } | Error::InvalidQuery(_)
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parquet(path: impl Into<PathBuf>, source: ParquetError) -> Self {
        Error::Parquet {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid_batch(measurement: &str, reason: impl Into<String>) -> Self {
        Error::InvalidBatch {
            measurement: measurement.to_owned(),
            reason: reason.into(),
        }
    }
}
