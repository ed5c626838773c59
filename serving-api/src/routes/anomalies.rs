//! `/api/v1/anomalies`: anomaly episodes, newest first.

use axum::Json;
use axum::extract::{Query, State};
use axum_extra::extract::WithRejection;
use cryptoviz_measurements::anomalies::{AnomalyKind, Severity};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, ErrorBody};
use crate::model::{AnomalyRow, List};
use crate::params::{CoinId, Limit, Params, Range, Span, Timestamp, choices};
use crate::read::{AnomalyQuery, Between};
use crate::state::AppState;

/// Parameters of `/anomalies`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnomaliesQuery {
    /// Coin id
    #[param(inline)]
    pub coin: Option<CoinId>,
    /// price_return, volume or divergence
    #[serde(default, deserialize_with = "choices::optional")]
    pub kind: Option<AnomalyKind>,
    /// low, medium or high
    #[serde(default, deserialize_with = "choices::optional")]
    pub severity: Option<Severity>,
    /// Start: RFC 3339 or epoch ms
    #[param(inline)]
    pub from: Option<Timestamp>,
    /// End (exclusive)
    #[param(inline)]
    pub to: Option<Timestamp>,
    /// 1h, 24h, 7d, 30d, 1y before `to` (or now)
    pub range: Option<Range>,
    /// 1-1000 (100)
    #[serde(default)]
    #[param(inline)]
    pub limit: Limit<100, 1000>,
}

/// Anomaly episodes (z-score of returns and volume, cross-source divergence), newest first.
#[utoipa::path(get, path = "/api/v1/anomalies", tag = "analytics", operation_id = "list_anomalies",
    params(AnomaliesQuery),
    responses((status = 200, body = List<AnomalyRow>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    WithRejection(Query(q), _): Params<AnomaliesQuery>,
) -> ApiResult<Json<List<AnomalyRow>>> {
    let span = Span::new(q.from, q.to, q.range)?;
    // Open-ended unless a range is asked for, which ends at `to` or now.
    let between = match span.range {
        Some(_) => {
            let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
            let (from, to) = span.resolve(now, 0);
            Between::closed(from, to)
        }
        None => Between {
            from: span.from,
            to: span.to,
        },
    };
    let data = state
        .anomalies()
        .episodes(&AnomalyQuery {
            coin: q.coin.map(|c| c.0),
            kind: q.kind,
            severity: q.severity,
            between,
            limit: q.limit.get(),
        })
        .await?;
    Ok(Json(List::new(data)))
}
