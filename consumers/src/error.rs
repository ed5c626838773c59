//! Errors of the consumer stage.

/// What can go wrong while consuming.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The log failed (poll, commit or a dead-letter append).
    #[error("log: {0}")]
    Log(#[from] cryptoviz_log::Error),
    /// The store failed a write or a query.
    #[error("store: {0}")]
    Store(#[from] cryptoviz_store::Error),
    /// Building an Arrow batch failed (a bug: the schemas are fixed).
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A row did not convert to its measurement's batch (a bug: the contract is fixed).
    #[error("measurement: {0}")]
    Contract(#[from] cryptoviz_measurements::Error),
    /// A configuration value is invalid (the message names the key).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The task writing a flush to the store panicked or was cancelled.
    #[error("store write task: {0}")]
    WriteTask(String),
    /// Committed offset metadata could not be read back.
    #[error("checkpoint of {topic}/{partition}: {reason}")]
    Checkpoint {
        topic: String,
        partition: u32,
        reason: String,
    },
}

impl Error {
    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Log(e) => e.is_retryable(),
            Error::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// Result with the consumer [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
