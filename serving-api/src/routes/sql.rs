//! `POST /api/v1/sql`: read-only SQL over the store's measurements (API key required).
//!
//! Every query runs under limits an anonymous or careless caller cannot get past, and each
//! answers a 4xx naming its key: `api.sql_max_concurrent` queries at once (429, at once: the
//! query threads are not a queue), `api.sql_memory_limit_bytes` shared by their operators
//! (sorts, joins, aggregates fail past it rather than spill), `api.sql_max_rows` collected
//! (the plan stops reading past it), `api.sql_max_scan_rows` read by one scan of a backend
//! without SQL (InfluxDB), and `api.sql_timeout`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorDetail};
use crate::json::table;

/// Longest query text accepted.
const MAX_QUERY_LEN: usize = 20_000;
/// Statements refused before planning, with a clear message (the planner refuses them too).
const WRITES: [&str; 14] = [
    "insert", "update", "delete", "create", "drop", "alter", "copy", "set", "truncate", "merge",
    "grant", "revoke", "prepare", "execute",
];

/// A query.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One read-only statement: SELECT, WITH, EXPLAIN, SHOW, DESCRIBE.
    pub query: String,
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
    /// Most rows to return (1 to the server's limit, which is also the default).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A column of the answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlColumn {
    pub name: String,
    /// Arrow data type, e.g. `Float64`, `Utf8`, `Timestamp(ns, "UTC")`.
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The answer in JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlResult {
    pub columns: Vec<SqlColumn>,
    /// Rows as arrays in column order.
    pub rows: Vec<Vec<Value>>,
    pub row_count: usize,
    /// Whether more rows matched than were returned.
    pub truncated: bool,
}

/// Runs a read-only SQL query (DataFusion) over `crypto_market`, `crypto_analytics`,
/// `crypto_anomalies`, `crypto_news`, `crypto_sentiment` and `fear_greed`.
#[utoipa::path(post, path = "/api/v1/sql", tag = "sql",
    request_body = SqlRequest,
    security(("api_key" = [])),
    responses(
        (status = 200, body = SqlResult, description = "JSON, or text/csv with format=csv"),
        (status = 400, body = ErrorBody, description = "Not a read-only query, or it does not plan"),
        (status = 401, body = ErrorBody),
        (status = 400, body = ErrorBody, description = "Past the memory limit (api.sql_memory_limit_bytes) or the scan limit (api.sql_max_scan_rows)"),
        (status = 408, body = ErrorBody, description = "Stopped after the time limit"),
        (status = 429, body = ErrorBody, description = "api.sql_max_concurrent queries are already running; retry after the Retry-After seconds"),
    ))]
pub async fn sql(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SqlRequest>,
) -> ApiResult<Response> {
    let text = request.query.trim();
    if text.is_empty() || text.len() > MAX_QUERY_LEN {
        return Err(ApiError::bad(
            "query",
            format!("`query` must be 1 to {MAX_QUERY_LEN} characters"),
        ));
    }
    let first = text
        .trim_start_matches(|c: char| c == '(' || c.is_whitespace())
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if WRITES.contains(&first.as_str()) {
        return Err(ApiError::bad(
            "query",
            format!(
                "`{}` is not allowed: /sql runs read-only queries only",
                first.to_uppercase()
            ),
        ));
    }
    let csv = match request.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "format",
                format!("`format` must be json or csv, got `{other}`"),
            ));
        }
    };
    let max = state.settings.sql_max_rows;
    let limit = match request.limit {
        None => max,
        Some(n) if (1..=max).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::bad(
                "limit",
                format!("`limit` must be 1 to {max}, got {n}"),
            ));
        }
    };
    // Held until the answer is built; a query stopped by the time limit is aborted with it.
    let Some(_permit) = state.sql.admit() else {
        return Ok(too_many_queries(state.sql.max_concurrent()));
    };
    let timeout = state.settings.sql_timeout;
    let budget = state.sql.budget();
    let run = async {
        match state.store.query_sql(text, limit + 1, budget).await {
            // A backend without SQL of its own (InfluxDB): DataFusion over its queries.
            Err(cryptoviz_store::Error::Unsupported(_)) => {
                cryptoviz_store::sql::sql_over_store(state.store.clone(), text, limit + 1, budget)
                    .await
            }
            other => other,
        }
    };
    let batches = match tokio::time::timeout(timeout, run).await {
        Err(_) => {
            return Err(ApiError::Timeout(format!(
                "the query was stopped after {} s (api.sql_timeout)",
                timeout.as_secs_f64()
            )));
        }
        Ok(Err(e)) if cryptoviz_store::sql::is_memory_exhausted(&e) => {
            return Err(ApiError::bad(
                "query",
                format!(
                    "the query needs more memory than /sql allows (api.sql_memory_limit_bytes = \
                     {} bytes, shared by the queries running at once): filter or aggregate \
                     more, or read a shorter time range. {e}",
                    budget.memory_limit_bytes()
                ),
            ));
        }
        Ok(Err(cryptoviz_store::Error::DataFusion(e))) => {
            return Err(ApiError::bad("query", e.to_string()));
        }
        Ok(Err(cryptoviz_store::Error::InvalidQuery(e))) => return Err(ApiError::bad("query", e)),
        Ok(Err(cryptoviz_store::Error::Unsupported(what))) => {
            return Err(ApiError::Unsupported(format!(
                "{what} are not available with this store backend; use the embedded store or query InfluxDB directly"
            )));
        }
        Ok(Err(e)) => return Err(e.into()),
        Ok(Ok(b)) => b,
    };
    let (columns, mut rows) = table(&batches);
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    if csv {
        let mut out = String::new();
        let names: Vec<String> = columns
            .iter()
            .map(|(n, _)| csv_field(&Value::from(n.as_str())))
            .collect();
        out.push_str(&names.join(","));
        out.push_str("\r\n");
        for row in &rows {
            let fields: Vec<String> = row.iter().map(csv_field).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    Ok(Json(SqlResult {
        columns: columns
            .into_iter()
            .map(|(name, data_type)| SqlColumn { name, data_type })
            .collect(),
        row_count: rows.len(),
        rows,
        truncated,
    })
    .into_response())
}

/// 429 naming the limit, with `Retry-After` (a query usually ends within seconds).
fn too_many_queries(max: usize) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: "rate_limited",
            message: format!(
                "{max} /sql queries are already running, the most api.sql_max_concurrent allows; retry shortly"
            ),
            param: None,
        },
    };
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "1")],
        Json(body),
    )
        .into_response()
}

/// RFC 4180 quoting.
fn csv_field(v: &Value) -> String {
    let text = match v {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}
