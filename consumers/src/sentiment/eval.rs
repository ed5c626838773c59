//! Measuring the scorer on labelled sentences: accuracy, per-class precision and recall, and
//! the confusion matrix (`cryptoviz sentiment-eval FILE`).

use std::fmt;

use super::{Label, score};

const LABELS: [Label; 3] = [Label::Positive, Label::Negative, Label::Neutral];

/// A line that is not `sentence@label`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Decodes a labelled file: UTF-8 when it is valid UTF-8, else Latin-1 (every byte is a
/// character), so files exported by older tools read as written.
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim_start_matches('\u{feff}').to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Parses `sentence@label` lines (the label after the last `@`); blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<(String, Label)>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| ParseError {
            line: i + 1,
            reason,
        };
        let (sentence, label) = line
            .rsplit_once('@')
            .ok_or_else(|| bad("expected `sentence@label`".into()))?;
        let label = Label::parse(label).ok_or_else(|| {
            bad(format!(
                "label `{}` is not positive, negative or neutral",
                label.trim()
            ))
        })?;
        if sentence.trim().is_empty() {
            return Err(bad("empty sentence".into()));
        }
        out.push((sentence.trim().to_string(), label));
    }
    Ok(out)
}

/// The scorer's results on a labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// `confusion[actual][predicted]`, indices in the order positive, negative, neutral.
    pub confusion: [[usize; 3]; 3],
}

fn index(label: Label) -> usize {
    LABELS.iter().position(|l| *l == label).unwrap_or(2)
}

impl Evaluation {
    /// Scores every sentence and counts.
    pub fn run(examples: &[(String, Label)]) -> Self {
        let mut confusion = [[0; 3]; 3];
        for (sentence, actual) in examples {
            confusion[index(*actual)][index(score(sentence).label)] += 1;
        }
        Self { confusion }
    }

    /// Number of examples.
    pub fn total(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }

    /// Share of examples labelled right.
    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..3).map(|i| self.confusion[i][i]).sum();
        ratio(right, self.total())
    }

    /// Of the examples predicted `label`, the share that are `label`.
    pub fn precision(&self, label: Label) -> f64 {
        let i = index(label);
        ratio(
            self.confusion[i][i],
            (0..3).map(|a| self.confusion[a][i]).sum(),
        )
    }

    /// Of the examples that are `label`, the share predicted `label`.
    pub fn recall(&self, label: Label) -> f64 {
        let i = index(label);
        ratio(self.confusion[i][i], self.confusion[i].iter().sum())
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "examples: {}", self.total())?;
        writeln!(f, "accuracy: {:.3}", self.accuracy())?;
        writeln!(f)?;
        writeln!(f, "{:<10} {:>9} {:>7}", "class", "precision", "recall")?;
        for label in LABELS {
            writeln!(
                f,
                "{:<10} {:>9.3} {:>7.3}",
                label.as_str(),
                self.precision(label),
                self.recall(label)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "confusion (rows: actual, columns: predicted)")?;
        writeln!(
            f,
            "{:<10} {:>9} {:>9} {:>9}",
            "", "positive", "negative", "neutral"
        )?;
        for (i, label) in LABELS.iter().enumerate() {
            let row = self.confusion[i];
            writeln!(
                f,
                "{:<10} {:>9} {:>9} {:>9}",
                label.as_str(),
                row[0],
                row[1],
                row[2]
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utf8_and_latin1_and_names_bad_lines() {
        let latin1 = b"Caf\xe9 owners cheer as Bitcoin soars@positive\n";
        let text = decode_text(latin1);
        assert!(text.starts_with("Café"));
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed[0].1, Label::Positive);
        let parsed = parse("a@b.com says hi@neutral\r\n\nx@Negative").unwrap();
        assert_eq!(
            parsed[0].0, "a@b.com says hi",
            "the label is after the last @"
        );
        assert_eq!(parsed[1].1, Label::Negative);
        assert_eq!(parse("ok@positive\nno label here").unwrap_err().line, 2);
        assert!(parse("x@maybe").unwrap_err().reason.contains("maybe"));
    }

    #[test]
    fn metrics_from_the_confusion_matrix() {
        let e = Evaluation {
            confusion: [[8, 1, 1], [0, 9, 1], [2, 0, 8]],
        };
        assert_eq!(e.total(), 30);
        assert!((e.accuracy() - 25.0 / 30.0).abs() < 1e-12);
        assert!((e.precision(Label::Positive) - 0.8).abs() < 1e-12);
        assert!((e.recall(Label::Neutral) - 0.8).abs() < 1e-12);
        assert!(e.to_string().contains("accuracy: 0.833"));
    }
}
