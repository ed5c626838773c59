//! `POST /api/v1/sql`: read-only SQL over the store's measurements (API key required).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ErrorBody};
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
        (status = 408, body = ErrorBody, description = "Stopped after the time limit"),
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
    let timeout = state.settings.sql_timeout;
    let run = async {
        match state.store.query_sql(text, limit + 1).await {
            // A backend without SQL of its own (InfluxDB): DataFusion over its queries.
            Err(cryptoviz_store::Error::Unsupported(_)) => {
                cryptoviz_store::sql::sql_over_store(state.store.clone(), text, limit + 1).await
            }
            other => other,
        }
    };
    let batches = match tokio::time::timeout(timeout, run).await {
        Err(_) => {
            return Err(ApiError::Timeout(format!(
                "the query was stopped after {} s",
                timeout.as_secs_f64()
            )));
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
