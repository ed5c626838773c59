//! One error type for every handler, one JSON shape for every error:
//! `{"error": {"code", "message", "param"?}}`.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An error a handler returns. `Clone`, so that every request waiting on one shared
/// computation (the response cache's single-flight loads) answers with its error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// A query or path parameter (or a body field) is invalid: 400 naming it.
    #[error("{message}")]
    BadParam {
        param: Cow<'static, str>,
        message: String,
    },
    /// Missing or wrong `x-api-key`: 401.
    #[error("{0}")]
    Unauthorized(String),
    /// The thing asked for does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// The method is not served on this path: 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request conflicts with work in progress (a replay already running): 409.
    #[error("{0}")]
    Conflict(String),
    /// The request (or the query it ran) took too long: 408.
    #[error("{0}")]
    Timeout(String),
    /// The request body is larger than allowed: 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The client is over its rate limit: 429 with `Retry-After`.
    #[error("rate limit exceeded; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// This client holds as many of a limited resource (live streams) as it may: 429.
    #[error("{0}")]
    TooMany(String),
    /// The configured backend cannot do this: 501.
    #[error("{0}")]
    Unsupported(String),
    /// A dependency (the log, the store) is not reachable: 503.
    #[error("{0}")]
    Unavailable(String),
    /// The store failed: 503 when it may recover, else 500; logged, never shown in detail.
    #[error("store: {0}")]
    Store(Arc<cryptoviz_store::Error>),
    /// A bug or an unexpected shape of stored data: 500, logged.
    #[error("internal: {0}")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `invalid_parameter`, `unauthorized`, `not_found`,
    /// `method_not_allowed`, `conflict`, `timeout`, `payload_too_large`, `rate_limited`,
    /// `too_many_clients`, `unsupported`,
    /// `unavailable`, `store_unavailable`, `internal`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// The parameter (or body field) at fault, for `invalid_parameter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

impl ApiError {
    /// A 400 for `param`.
    pub fn bad(param: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadParam {
            param: Cow::Borrowed(param),
            message: message.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Option<String>) {
        match self {
            ApiError::BadParam { param, message } => (
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                message.clone(),
                Some(param.to_string()),
            ),
            ApiError::Unauthorized(m) => {
                (StatusCode::UNAUTHORIZED, "unauthorized", m.clone(), None)
            }
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone(), None),
            ApiError::MethodNotAllowed(m) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                m.clone(),
                None,
            ),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone(), None),
            ApiError::Timeout(m) => (StatusCode::REQUEST_TIMEOUT, "timeout", m.clone(), None),
            ApiError::PayloadTooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                m.clone(),
                None,
            ),
            ApiError::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                self.to_string(),
                None,
            ),
            ApiError::TooMany(m) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_clients",
                m.clone(),
                None,
            ),
            ApiError::Unsupported(m) => {
                (StatusCode::NOT_IMPLEMENTED, "unsupported", m.clone(), None)
            }
            ApiError::Unavailable(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                m.clone(),
                None,
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
                    "store_unavailable",
                    "the store could not answer; try again".into(),
                    None,
                )
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error while serving a request");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error".into(),
                    None,
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, param) = self.parts();
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                param,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<cryptoviz_store::Error> for ApiError {
    fn from(e: cryptoviz_store::Error) -> Self {
        ApiError::Store(Arc::new(e))
    }
}

impl From<Arc<ApiError>> for ApiError {
    /// The error of a computation several requests shared.
    fn from(shared: Arc<ApiError>) -> Self {
        Arc::unwrap_or_clone(shared)
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
