//! One error type for every handler, one JSON shape for every error.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query or path parameter is invalid: 400 naming it.
    #[error("{message}")]
    BadParam {
        param: &'static str,
        message: String,
    },
    /// The thing asked for does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// The store failed: 503 when it may recover, else 500; logged, never shown in detail.
    #[error("store: {0}")]
    Store(#[from] cryptoviz_store::Error),
    /// A bug or an unexpected shape of stored data: 500, logged.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 for `param`.
    pub fn bad(param: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadParam {
            param,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::BadParam { param, message } => (
                StatusCode::BAD_REQUEST,
                json!({"error": {"code": "invalid_parameter", "message": message, "param": param}}),
            ),
            ApiError::NotFound(message) => (
                StatusCode::NOT_FOUND,
                json!({"error": {"code": "not_found", "message": message}}),
            ),
            ApiError::Store(e) => {
                tracing::error!(error = %e, "store error while serving a request");
                let status = if e.is_retryable() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                (
                    status,
                    json!({"error": {"code": "store_unavailable", "message": "the store could not answer; try again"}}),
                )
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error while serving a request");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": {"code": "internal", "message": "internal error"}}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
