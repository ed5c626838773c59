//! `cryptoviz backtest`: volatility and price-range forecasts, walk-forward over a candle
//! file, scored against naive baselines.
//!
//! file ─▶ [`HistoryReader`] (the import's readers: a bad row is reported with its line and
//! skipped) ─▶ [`Candles`] of the coin ─▶ [`backtest::run`] ─▶ [`evaluate()`] ─▶ a table, one
//! JSON object (`--json`) and/or a self-contained HTML report (`--report`). Nothing is
//! written to the log or the store: this is analysis of a file, and needs no configuration.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use cryptoviz_forecast::backtest::{self, Config, Horizon, Window};
use cryptoviz_forecast::{Candles, Error, ModelScore, evaluate, report};
use cryptoviz_producers::sources::history::{Format, HistoryReader, RowError, Series};
use cryptoviz_schemas::CryptoPrice;
use serde::Serialize;

use super::import::FormatArg;

mod table;

/// Bad rows printed before the rest are only counted.
const BAD_ROWS_SHOWN: usize = 20;

/// Flags of `cryptoviz backtest`.
#[derive(Debug, Args)]
pub(crate) struct BacktestArgs {
    /// Format of the file.
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// The candle file (1-minute candles for realised variance; any regular interval works).
    pub file: PathBuf,
    /// Coin id of the candles, e.g. `bitcoin`; for JSONL, only the lines of this coin are used.
    #[arg(long)]
    pub coin: String,
    /// Forecast horizon: `1h` or `1d`.
    #[arg(long, default_value = "1h", value_parser = parse_horizon)]
    pub horizon: Horizon,
    /// Fit each forecast on the last N periods only (default: every period before it).
    #[arg(long, value_name = "N")]
    pub rolling: Option<usize>,
    /// Adjust hourly RV and returns for the hour-of-day pattern before the models see them.
    #[arg(long)]
    pub diurnal: bool,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report (plots inline, no script) to this path.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

fn parse_horizon(s: &str) -> Result<Horizon, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Output<'a> {
    coin: &'a str,
    horizon: &'static str,
    n_forecasts: usize,
    models: &'a [ModelScore],
}

/// The candles of `coin` in `file`. Bad rows are printed to stderr with their line and
/// skipped, as `cryptoviz import` does; a row out of order names its line.
fn read_candles(file: &std::path::Path, format: Format, coin: &str) -> anyhow::Result<Candles> {
    let input =
        File::open(file).with_context(|| format!("FILE: cannot open {}", file.display()))?;
    let source = format.default_source().unwrap_or_default();
    let series = Series::for_coin(coin, source, None, None);
    let mut reader = HistoryReader::new(
        BufReader::new(input),
        format,
        series,
        cryptoviz_schemas::now_ms(),
    );
    let (mut times, mut closes, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    let mut bad: Vec<RowError> = Vec::new();
    let mut bad_count = 0usize;
    let mut record = CryptoPrice::default();
    while let Some(read) = reader.read_into(&mut record) {
        let read = read.with_context(|| format!("FILE: cannot read {}", file.display()))?;
        match read {
            Ok(()) if record.crypto_id == coin => {
                times.push(record.timestamp_ms);
                closes.push(record.price_usd);
                lines.push(reader.line());
            }
            Ok(()) => {}
            Err(e) => {
                bad_count += 1;
                if bad.len() < BAD_ROWS_SHOWN {
                    bad.push(e);
                }
            }
        }
    }
    for e in &bad {
        eprintln!("skipped {}: {e}", file.display());
    }
    if bad_count > bad.len() {
        eprintln!("… and {} more bad rows", bad_count - bad.len());
    }
    if times.is_empty() {
        bail!("FILE: {} has no valid row of coin `{coin}`", file.display());
    }
    let candles = Candles::new(times, closes).map_err(|e| {
        let row = match &e {
            Error::DuplicateTime { row, .. }
            | Error::UnsortedTime { row, .. }
            | Error::NonPositivePrice { row, .. } => Some(*row),
            _ => None,
        };
        match row {
            Some(row) => anyhow::anyhow!("FILE: line {}: {e}", lines[row]),
            None => anyhow::anyhow!("FILE: {e}"),
        }
    })?;
    Ok(candles)
}

/// Runs the backtest and prints the scores.
pub(crate) fn backtest(args: BacktestArgs) -> anyhow::Result<()> {
    let candles = read_candles(&args.file, Format::from(args.format), &args.coin)?;
    let mut config = Config::new(args.horizon);
    config.diurnal = args.diurnal;
    if let Some(n) = args.rolling {
        config.window = Window::Rolling(n);
    }
    let result = backtest::run(&candles, &config).with_context(|| {
        format!(
            "cannot backtest {} ({} candles) at horizon {}",
            args.file.display(),
            candles.len(),
            args.horizon
        )
    })?;
    let scores = evaluate(&result);
    if args.json {
        let output = Output {
            coin: &args.coin,
            horizon: args.horizon.name(),
            n_forecasts: result.rows.len(),
            models: &scores,
        };
        println!("{}", serde_json::to_string(&output)?);
    } else {
        print!("{}", table::render(&args.coin, &result, &scores));
    }
    if let Some(path) = &args.report {
        std::fs::write(path, report::html(&args.coin, &result, &scores))
            .with_context(|| format!("--report: cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}
