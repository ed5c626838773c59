//! `cryptoviz sentiment-eval FILE`: the news sentiment scorer measured on labelled sentences.

use anyhow::Context;
use clap::Args;
use cryptoviz_consumers::sentiment::eval::{Evaluation, decode_text, parse};

/// Flags of `cryptoviz sentiment-eval`.
#[derive(Debug, Args)]
pub(crate) struct SentimentEvalArgs {
    /// Labelled sentences, one `sentence@label` per line (positive, negative or neutral),
    /// UTF-8 or Latin-1.
    pub file: std::path::PathBuf,
}

/// Prints accuracy, per-class precision and recall, and the confusion matrix.
pub(crate) fn sentiment_eval(args: SentimentEvalArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("FILE: cannot read {}", args.file.display()))?;
    let examples = parse(&decode_text(&bytes)).with_context(|| {
        format!(
            "FILE: {} is not `sentence@label` lines",
            args.file.display()
        )
    })?;
    anyhow::ensure!(
        !examples.is_empty(),
        "FILE: {} has no labelled sentence",
        args.file.display()
    );
    print!("{}", Evaluation::run(&examples));
    Ok(())
}
