//! What an import did, printed on stdout when it ends.

use std::path::Path;
use std::time::Duration;

use cryptoviz_producers::sources::history::{Format, RowError};

/// Counts of the read-and-publish side.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    /// Rows read (good and bad; blank lines and a header are not rows).
    pub rows: u64,
    /// Records appended to `crypto-prices`.
    pub published: u64,
    /// Records the publisher refused on validation (dead-lettered by it; normally none, as the
    /// reader validates first).
    pub rejected: u64,
    /// Rows that did not parse or validate (dead-lettered with their line).
    pub bad: u64,
    /// The first bad rows, for the summary.
    pub first_bad: Vec<RowError>,
    /// Earliest and latest event time published, ms.
    pub span: Option<(i64, i64)>,
}

/// Counts of the consumer side.
#[derive(Debug)]
pub(crate) struct Consumed {
    /// Price records read by the consumer.
    pub ticks: u64,
    /// Window points written to `crypto_analytics` (a window re-emitted counts again).
    pub windows: u64,
    /// Ticks whose window had already closed: stored raw, not windowed.
    pub late: u64,
    /// Records on the topic that did not decode.
    pub dead_letters: u64,
    /// Records identical to one just before them (same coin, source, time and values):
    /// counted once.
    pub duplicates: u64,
    /// Windows in the store per width (`1m`, `5m`, `1h`) over the imported span.
    pub stored: Vec<(&'static str, u64)>,
}

/// Prints the summary.
pub(crate) fn print(
    file: &Path,
    format: Format,
    totals: &Totals,
    consumed: Option<&Consumed>,
    elapsed: Duration,
) {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        (totals.rows as f64 / secs) as u64
    } else {
        0
    };
    println!(
        "imported {} ({format}): {} rows",
        file.display(),
        thousands(totals.rows)
    );
    println!(
        "  published   {} price records",
        thousands(totals.published)
    );
    if totals.rejected > 0 {
        println!(
            "  rejected    {} at publication (in crypto-dlq)",
            thousands(totals.rejected)
        );
    }
    println!("  bad rows    {}", thousands(totals.bad));
    match totals.span {
        Some((lo, hi)) => println!("  time span   {} – {}", rfc3339(lo), rfc3339(hi)),
        None => println!("  time span   (nothing imported)"),
    }
    if let Some(c) = consumed {
        println!(
            "  consumed    {} ticks; {} window points written",
            thousands(c.ticks),
            thousands(c.windows)
        );
        if !c.stored.is_empty() {
            let per_width: Vec<String> = c
                .stored
                .iter()
                .map(|(label, n)| format!("{label} {}", thousands(*n)))
                .collect();
            println!(
                "  windows     {} stored over the imported span",
                per_width.join(", ")
            );
        }
        if c.dead_letters > 0 {
            println!(
                "  undecodable {} records on the topic (in crypto-dlq)",
                thousands(c.dead_letters)
            );
        }
        if c.duplicates > 0 {
            println!(
                "  duplicates  {} records repeated an identical record of the same coin, source \
                 and millisecond: counted once",
                thousands(c.duplicates)
            );
        }
        if c.late > 0 {
            println!(
                "  late        {} ticks fell in windows this data directory had already closed \
                 (newer data was windowed first): stored raw in crypto_market, not windowed; \
                 import history into a fresh --data-dir, or before live data",
                thousands(c.late)
            );
        }
    }
    println!("  elapsed     {secs:.2} s ({} rows/s)", thousands(rate));
    if !totals.first_bad.is_empty() {
        let more = totals.bad - totals.first_bad.len() as u64;
        println!(
            "bad rows{} (every one is in crypto-dlq: `cryptoviz dlq list`):",
            if more > 0 {
                format!(" (first {})", totals.first_bad.len())
            } else {
                String::new()
            }
        );
        for bad in &totals.first_bad {
            println!("  {bad}");
        }
        if more > 0 {
            println!("  … and {} more", thousands(more));
        }
    }
}

/// With `--no-consume`: what to run next, and a warning when the group has already closed
/// windows after the start of the history.
pub(crate) fn print_not_consumed(totals: &Totals, closed_until: Option<i64>) {
    println!(
        "not windowed yet: `cryptoviz consume --exit-when-idle 2s` (or `cryptoviz run`) will; \
         consume before the log's age retention (log.retention) removes the imported segments"
    );
    if let (Some((lo, _)), Some(closed)) = (totals.span, closed_until)
        && lo < closed
    {
        println!(
            "warning: the consumers have closed windows up to {}: imported ticks before that \
             will be stored raw but not windowed",
            rfc3339(closed)
        );
    }
}

pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || format!("{ms} ms"),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(5_000_000), "5,000,000");
    }
}
