//! Errors of the producer stage.

/// What can go wrong while producing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The log refused or failed an append; retryable when the log says so.
    #[error("log: {0}")]
    Log(#[from] cryptoviz_log::Error),
    /// A source's configuration is invalid (the message names the key).
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether retrying the same operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Log(e) => e.is_retryable(),
            Error::Config(_) => false,
        }
    }
}

/// Result with the producer [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
