//! `cryptoviz openapi`: prints the API's OpenAPI 3.1 document — the one served at
//! `/api/v1/openapi.json` — as pretty JSON on stdout, without starting a server or reading
//! the configuration. `scripts/gen-web-types.sh` generates the viewer's types from it.

use std::io::Write;

use anyhow::Context;
use clap::Args;

/// Flags of `cryptoviz openapi` (none).
#[derive(Debug, Args)]
pub(crate) struct OpenapiArgs {}

/// Writes the document, followed by a newline, to stdout.
pub(crate) fn openapi(_args: OpenapiArgs) -> anyhow::Result<()> {
    let json = cryptoviz_api::openapi::document()
        .to_pretty_json()
        .context("cannot render the OpenAPI document")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{json}")
        .and_then(|()| out.flush())
        .context("cannot write the OpenAPI document to stdout")
}
