//! `/api/v1/openapi.json` and `/docs`, a self-contained page rendering the document with a
//! form per operation to try it (no CDN, so it works offline and behind firewalls).

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    crate::openapi::document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!(r#"{{"error": "cannot render the OpenAPI document: {e}"}}"#))
});

/// The OpenAPI 3.1 document.
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

/// The interactive documentation page.
pub async fn page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
