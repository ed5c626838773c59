//! `cryptoviz`: one command for the whole pipeline.
//!
//! `cryptoviz run` wires every stage into one process — sources → Avro → embedded log →
//! windowed consumers → embedded store → HTTP API — with no external service. The other
//! subcommands run one stage alone (`produce`, `consume`, `serve`), import history files
//! through the pipeline (`import`), re-run the consumers over the log's history (`replay`) or
//! measure the pipeline (`bench`); `backtest` scores volatility and price-range forecasts
//! walk-forward over a candle file; `openapi` prints the API's OpenAPI document. Configuration
//! comes from an optional TOML file plus `CRYPTOVIZ__SECTION__KEY` environment overrides, then
//! command-line flags ([`config`]); a bad key or value stops start-up with a message naming it.

mod backends;
mod commands;
mod config;
mod exporter;
mod replays;
mod shutdown;
mod stage_metrics;
mod stages;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Real-time crypto market analytics: one binary, the whole Lambda pipeline.
#[derive(Debug, Parser)]
#[command(name = "cryptoviz", version, about)]
struct Cli {
    /// TOML configuration file (optional; `CRYPTOVIZ__SECTION__KEY` variables override it).
    #[arg(long, short, global = true, env = "CRYPTOVIZ_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory for the embedded log and store (overrides `data_dir`).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every stage in one process: sources, log, consumers, store and API.
    Run(commands::run::RunArgs),
    /// Run the producers alone: the live agents, or the simulated market with `--simulate`
    /// (live, or a range of history as fast as possible with `--ticks`).
    Produce(commands::produce::ProduceArgs),
    /// Run the consumers alone.
    Consume(commands::consume::ConsumeArgs),
    /// Serve the HTTP API alone, over the configured store.
    Serve(commands::serve::ServeArgs),
    /// Import history (Binance klines, Kraken OHLCVT or JSONL price records) through the log
    /// and the consumers, so it is windowed and stored like live data.
    Import(commands::import::ImportArgs),
    /// Walk-forward backtest of volatility and price-range forecasts over a candle file,
    /// against naive baselines (no log, store or configuration involved).
    Backtest(commands::backtest::BacktestArgs),
    /// Re-run the consumers over the log's history into the store (recompute or backfill).
    Replay(commands::replay::ReplayArgs),
    /// List, show or replay dead letters (`crypto-dlq`).
    Dlq(commands::dlq::DlqArgs),
    /// Maintain the embedded log (`log repair`: move damaged segments aside).
    Log(commands::log::LogArgs),
    /// Measure the news sentiment scorer on labelled sentences (`sentence@label` lines).
    SentimentEval(commands::sentiment_eval::SentimentEvalArgs),
    /// Push simulated ticks through the full embedded pipeline and report throughput.
    Bench(commands::bench::BenchArgs),
    /// Print the API's OpenAPI document (as served at `/api/v1/openapi.json`) as JSON.
    Openapi(commands::openapi::OpenapiArgs),
}

/// Caps glibc's malloc at two arenas. By default it grows one arena per thread that
/// allocates (up to 8 × cores), and the pipeline's short-lived batches, built on the async
/// workers and freed on blocking threads, fragment across them: the bench's peak RSS is
/// 207–223 MB with the default and 140 MB with two arenas, at the same throughput
/// (docs/benchmarks.md). Equivalent to `MALLOC_ARENA_MAX=2`, which still overrides it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` only sets an allocator parameter; it is called first thing in
        // `main`, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    if let Command::Openapi(args) = cli.command {
        // Needs no configuration, runtime or logging: stdout is the document alone.
        return exit_code(commands::openapi::openapi(args));
    }
    if let Command::Backtest(args) = cli.command {
        // A file in, scores out: no configuration, runtime or logging.
        return exit_code(commands::backtest::backtest(args));
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("CRYPTOVIZ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::SentimentEval(args) = cli.command {
        // Needs neither the configuration nor the runtime.
        return exit_code(commands::sentiment_eval::sentiment_eval(args));
    }
    let result = runtime.block_on(async {
        let config = config::load(cli.config.as_deref(), cli.data_dir)?;
        match cli.command {
            Command::Run(args) => commands::run::run(config, args).await,
            Command::Produce(args) => commands::produce::produce(config, args).await,
            Command::Consume(args) => commands::consume::consume(config, args).await,
            Command::Serve(args) => commands::serve::serve(config, args).await,
            Command::Import(args) => commands::import::import(config, args).await,
            Command::Replay(args) => commands::replay::replay(config, args).await,
            Command::Dlq(args) => commands::dlq::dlq(config, args).await,
            Command::Log(args) => commands::log::log(config, args).await,
            Command::Bench(args) => commands::bench::bench(config, args).await,
            Command::SentimentEval(_) | Command::Openapi(_) | Command::Backtest(_) => {
                unreachable!("handled before the runtime starts")
            }
        }
    });
    exit_code(result)
}

/// Success, or the error and its causes on stderr and failure.
fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
