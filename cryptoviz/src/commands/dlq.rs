//! `cryptoviz dlq list|show|replay`: the dead-letter topic for humans.
//!
//! The embedded log has one owner at a time (a lock file), so on the embedded backend these
//! commands run while `cryptoviz run` is stopped.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use cryptoviz_producers::{Publisher, SourceStatus, dlq};

use crate::backends;
use crate::config::Config;

/// Flags of `cryptoviz dlq`.
#[derive(Debug, Args)]
pub(crate) struct DlqArgs {
    #[command(subcommand)]
    pub action: DlqAction,
}

/// What to do with the dead letters.
#[derive(Debug, Subcommand)]
pub(crate) enum DlqAction {
    /// The newest dead letters, oldest first: id, time, topic, source, reason.
    List {
        /// How many to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One dead letter in full, payload included.
    Show {
        /// Its id, `partition:offset`, as `dlq list` prints it.
        id: String,
    },
    /// Re-validate dead letters not replayed before and publish those that now pass.
    Replay,
}

/// Runs a `dlq` action against the configured log.
pub(crate) async fn dlq(config: Config, args: DlqArgs) -> anyhow::Result<()> {
    let log = backends::open_log(&config).await?;
    match args.action {
        DlqAction::List { limit, json } => {
            let letters = dlq::list(log.as_ref(), limit).await?;
            if letters.is_empty() && !json {
                println!("the dead-letter topic is empty");
            }
            for (partition, offset, letter) in letters {
                let summary = dlq::summary(&format!("{partition}:{offset}"), &letter, false);
                if json {
                    println!("{summary}");
                } else {
                    println!(
                        "{:<10} {} {:<24} {:<14} {}",
                        summary["id"].as_str().unwrap_or_default(),
                        summary["time"].as_str().unwrap_or_default(),
                        letter.original_topic,
                        letter.source,
                        letter.reason
                    );
                }
            }
        }
        DlqAction::Show { id } => {
            if !id.contains(':') {
                bail!(
                    "ID: expected `partition:offset` (as `cryptoviz dlq list` prints), got `{id}`"
                );
            }
            match dlq::show(log.as_ref(), &id).await? {
                Some(letter) => println!("{:#}", dlq::summary(&id, &letter, true)),
                None => bail!("no dead letter with id {id}"),
            }
        }
        DlqAction::Replay => {
            let status = SourceStatus::new("dlq-replay");
            let publisher = Publisher::new(log.clone(), "dlq-replay", status);
            let report = dlq::replay(log.as_ref(), &publisher)
                .await
                .context("replay failed; what was republished before the error is committed")?;
            println!(
                "scanned {}, replayed {}, still invalid {}, not replayable (raw upstream payloads) {}",
                report.scanned, report.replayed, report.still_invalid, report.not_replayable
            );
        }
    }
    log.flush().await?;
    Ok(())
}
