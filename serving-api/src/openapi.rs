//! The OpenAPI 3.1 document, generated from the handlers' annotations and the answer types.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::params::{CoinSort, Interval, Order, Range, Window};
use crate::routes::{
    alerts, analytics, anomalies, coins, dlq, health, news, replays, sql, stream, trades,
};
use cryptoviz_measurements::anomalies::{AnomalyKind, Severity};
use cryptoviz_measurements::sentiment::Label;

/// The document served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "CryptoViz API",
        description = "Real-time crypto market analytics: snapshots, candles, window statistics, indicators, anomalies, news sentiment, a live event stream, alerts and read-only SQL. Errors always have the shape {\"error\": {\"code\", \"message\", \"param\"?}}.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        coins::list, coins::detail, coins::history, coins::indicators, coins::global,
        trades::list,
        analytics::list, analytics::top_volatile, analytics::compare, anomalies::list,
        news::list, news::sources, news::sentiment, news::fear_greed,
        health::health, health::ready, health::status, health::sources,
        dlq::list, dlq::show, dlq::replay,
        replays::start, replays::list, replays::show, replays::cancel,
        stream::stream,
        alerts::list, alerts::create, alerts::delete, alerts::fired,
        sql::sql,
    ),
    // The closed sets of the query parameters are referenced by name; register them so every
    // reference resolves.
    components(schemas(CoinSort, Order, Interval, Window, Range, AnomalyKind, Severity, Label)),
    modifiers(&ApiKeyScheme),
    tags(
        (name = "market", description = "Coins, candles, indicators, market totals, exchange trades"),
        (name = "analytics", description = "Window statistics, volatility, comparisons, anomalies"),
        (name = "news", description = "Articles, sentiment, Fear & Greed"),
        (name = "live", description = "Server-Sent Events"),
        (name = "alerts", description = "Alert rules and fired alerts"),
        (name = "sql", description = "Read-only SQL over the stored measurements"),
        (name = "operations", description = "Health, readiness, status, dead letters, replays"),
    )
)]
pub struct ApiDoc;

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
    }
}

/// The document as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
