//! `cryptoviz log repair`: moves aside the damaged parts of the embedded log that start-up
//! refuses to truncate by itself (a damaged closed segment, or damage in the active segment
//! followed by intact records), so the pipeline can start again. What it does, step by step,
//! is in `cryptoviz_log::embedded::repair` and docs/deployment.md ("Log recovery and repair").
//! Runs while `cryptoviz run` is stopped (the log has one owner at a time).

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use cryptoviz_log::embedded::repair;

use crate::config::{Config, LogBackend};

/// Flags of `cryptoviz log`.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    #[command(subcommand)]
    pub action: LogAction,
}

/// Maintenance of the embedded log.
#[derive(Debug, Subcommand)]
pub(crate) enum LogAction {
    /// Scan every segment in full; copy each damaged one to `<data_dir>/log/quarantine/`,
    /// cut it to its intact prefix and record the offsets given up, so start-up succeeds
    /// and no offset is ever handed out twice.
    Repair {
        /// Only report what would be done.
        #[arg(long)]
        dry_run: bool,
    },
}

pub(crate) async fn log(config: Config, args: LogArgs) -> anyhow::Result<()> {
    if config.log.backend != LogBackend::Embedded {
        bail!("`cryptoviz log` works on the embedded log; log.backend is Kafka");
    }
    let LogAction::Repair { dry_run } = args.action;
    let dir = config.log_dir();
    let shown = dir.clone();
    let report = tokio::task::spawn_blocking(move || repair(&dir, dry_run))
        .await?
        .with_context(|| format!("cannot repair the log in {}", shown.display()))?;
    for a in &report.actions {
        println!(
            "{}{a}",
            if dry_run {
                "would repair "
            } else {
                "repaired "
            }
        );
    }
    println!(
        "{} segments in {} partitions scanned, {} {}",
        report.segments,
        report.partitions,
        report.actions.len(),
        match (report.actions.is_empty(), dry_run) {
            (true, _) => "damaged: nothing to do",
            (false, true) => "damaged (dry run: nothing changed)",
            (false, false) => "repaired",
        }
    );
    Ok(())
}
