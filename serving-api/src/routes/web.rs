//! The viewer: the built Next.js export (`web/out`) served at `/`, next to the API.

use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::AppState;
use crate::error::ApiError;

const NOT_BUILT: &str = r#"<!doctype html><meta charset="utf-8"><title>CryptoViz</title>
<body style="font:15px system-ui;max-width:44em;margin:3em auto">
<h1>CryptoViz</h1><p>The API is up; the viewer is not built (or <code>api.web_dir</code> does not point at it).</p>
<p>Build it with <code>cd web &amp;&amp; npm install &amp;&amp; npm run build</code> (or start with <code>./scripts/run.sh</code>, which does), then restart.</p>
<p>Meanwhile: <a href="/docs">API documentation</a> · <a href="/api/v1/coins">/api/v1/coins</a> · <a href="/metrics">/metrics</a></p>"#;

/// Serves the viewer's files; paths under `/api/` that matched no route get the API's JSON 404.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") {
        return ApiError::NotFound(format!("no route for {path}")).into_response();
    }
    let built = state
        .settings
        .web_dir
        .as_ref()
        .filter(|dir| dir.join("index.html").is_file());
    match built {
        Some(dir) => {
            let service = ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .not_found_service(ServeFile::new(dir.join("404.html")));
            match service.oneshot(request).await {
                Ok(response) => response.into_response(),
                Err(never) => match never {},
            }
        }
        None if path == "/" => Html(NOT_BUILT).into_response(),
        None => ApiError::NotFound(format!("no route for {path}")).into_response(),
    }
}
