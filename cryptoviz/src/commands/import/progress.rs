//! Progress on stderr while importing: bytes of the file read, ticks consumed. Hidden when
//! stderr is not a terminal (scripts, tests, CI logs).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::summary::{Totals, thousands};

/// The import's progress bars (cheap to clone: handles to the same bars).
#[derive(Clone)]
pub(super) struct Progress {
    read: ProgressBar,
    consumed: Option<ProgressBar>,
}

impl Progress {
    /// Bars for a file of `file_bytes`, plus one for the consumer when `consume`.
    pub(super) fn new(file_bytes: u64, consume: bool) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let style = |template: &str| {
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ")
        };
        let read = multi.add(ProgressBar::new(file_bytes));
        read.set_style(style(
            "{prefix:>9} [{bar:30}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}) {msg}",
        ));
        read.set_prefix("read");
        read.enable_steady_tick(Duration::from_millis(200));
        let consumed = consume.then(|| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(style(
                "{prefix:>9} [{bar:30}] {human_pos}/{human_len} ticks {msg}",
            ));
            bar.set_prefix("windowed");
            bar
        });
        Self { read, consumed }
    }

    /// The reader is at `bytes`; `totals` so far.
    pub(super) fn read(&self, bytes: u64, totals: &Totals) {
        self.read.set_position(bytes);
        self.read.set_message(format!(
            "{} rows, {} bad",
            thousands(totals.rows),
            thousands(totals.bad)
        ));
        if let Some(bar) = &self.consumed {
            bar.set_length(totals.published);
        }
    }

    /// Every record is published: `published` in all.
    pub(super) fn published(&self, published: u64) {
        self.read.finish();
        if let Some(bar) = &self.consumed {
            bar.set_length(published);
        }
    }

    /// The consumer has read `ticks` (it may be a batch ahead of the published count).
    pub(super) fn consumed(&self, ticks: u64) {
        if let Some(bar) = &self.consumed {
            bar.set_position(ticks.min(bar.length().unwrap_or(ticks)));
        }
    }

    /// Removes the bars (the summary follows on stdout).
    pub(super) fn finish(&self) {
        self.read.finish_and_clear();
        if let Some(bar) = &self.consumed {
            bar.finish_and_clear();
        }
    }
}
