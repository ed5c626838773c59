//! Rules and the rule book: a JSON file rewritten atomically (temp file, fsync, rename) on
//! every change, so a crash leaves the old or the new book, never half of one.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::webhook;
use crate::error::{ApiError, ApiResult};
use crate::params;
use crate::settings::Networks;

/// Most rules kept.
pub const MAX_RULES: usize = 1000;
/// Fired alerts kept in memory for `/alerts/fired`.
const FIRED_KEPT: usize = 500;

/// What a rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// The coin's price rises above `threshold` USD.
    PriceAbove,
    /// The coin's price falls below `threshold` USD.
    PriceBelow,
    /// The coin's price moved by at least `threshold` percent (either way) over `window`.
    ChangePct,
    /// An anomaly on the coin with a score of at least `threshold`.
    Anomaly,
    /// The coin's (or the market's) hourly sentiment score falls below `threshold`.
    SentimentBelow,
}

/// A rule as a client creates it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    pub kind: RuleKind,
    /// Coin id; `market` is allowed for `sentiment_below`.
    pub coin: String,
    pub threshold: f64,
    /// For `change_pct`: `1h`, `24h` or `7d` (the source's reported change).
    #[serde(default)]
    pub window: Option<String>,
    /// `http://` or `https://` URL to POST fired alerts to (retried with backoff; no
    /// redirects; internal addresses refused unless `api.webhook_allowed_networks` names
    /// them). Never shown in full again: reads give only its scheme and host.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

/// A stored rule.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct Rule {
    pub id: String,
    pub kind: RuleKind,
    pub coin: String,
    pub threshold: f64,
    pub window: Option<String>,
    /// The webhook, masked in every answer (`https://hooks.example.com/***`): the path and
    /// query often carry a token.
    pub webhook_url: Option<String>,
    pub created_at: String,
}

impl Rule {
    /// The rule as the API shows it: the webhook URL masked.
    pub fn masked(&self) -> Rule {
        Rule {
            webhook_url: self.webhook_url.as_deref().map(webhook::mask),
            ..self.clone()
        }
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("coin", &self.coin)
            .field("threshold", &self.threshold)
            .field("window", &self.window)
            .field(
                "webhook_url",
                &self.webhook_url.as_deref().map(webhook::mask),
            )
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A rule that fired.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Fired {
    pub rule_id: String,
    pub coin: String,
    pub kind: RuleKind,
    pub message: String,
    /// The value that crossed the threshold.
    pub value: f64,
    pub threshold: f64,
    /// When it fired.
    pub time: String,
}

impl NewRule {
    /// Checks every field, webhooks against `allow` (see [`webhook::check_url`]); a 400
    /// names the one at fault. Does not resolve the webhook's host ([`webhook::vet`] does).
    pub fn validate(self, allow: &Networks) -> ApiResult<NewRule> {
        if self.kind == RuleKind::SentimentBelow && self.coin == "market" {
            // The market-wide sentiment series.
        } else {
            params::coin_id(&self.coin, "coin")?;
        }
        if !self.threshold.is_finite() {
            return Err(ApiError::bad(
                "threshold",
                "`threshold` must be a finite number",
            ));
        }
        match self.kind {
            RuleKind::PriceAbove | RuleKind::PriceBelow if self.threshold <= 0.0 => {
                return Err(ApiError::bad(
                    "threshold",
                    "a price threshold must be above 0",
                ));
            }
            RuleKind::ChangePct if self.threshold <= 0.0 => {
                return Err(ApiError::bad(
                    "threshold",
                    "a change threshold must be above 0 (percent)",
                ));
            }
            RuleKind::SentimentBelow if !(-1.0..=1.0).contains(&self.threshold) => {
                return Err(ApiError::bad(
                    "threshold",
                    "a sentiment threshold is between -1 and 1",
                ));
            }
            _ => {}
        }
        match (self.kind, self.window.as_deref()) {
            (RuleKind::ChangePct, Some("1h" | "24h" | "7d")) => {}
            (RuleKind::ChangePct, _) => {
                return Err(ApiError::bad(
                    "window",
                    "`change_pct` needs `window`: 1h, 24h or 7d",
                ));
            }
            (_, Some(_)) => {
                return Err(ApiError::bad(
                    "window",
                    "`window` applies to `change_pct` only",
                ));
            }
            _ => {}
        }
        if let Some(url) = &self.webhook_url {
            webhook::check_url(url, allow).map_err(|m| ApiError::bad("webhook_url", m))?;
        }
        Ok(self)
    }
}

struct Book {
    /// Shared with readers; replaced (copy on write) when a rule is added or deleted.
    rules: Arc<Vec<Rule>>,
    fired: VecDeque<Fired>,
}

/// The rule book, durable when it has a path.
pub struct RuleBook {
    path: Option<PathBuf>,
    book: Mutex<Book>,
    /// Serialises file writes so that the file always holds the newest book.
    write: Mutex<()>,
}

impl std::fmt::Debug for RuleBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleBook")
            .field("path", &self.path)
            .finish()
    }
}

impl RuleBook {
    /// A book kept in memory only.
    pub fn in_memory() -> Self {
        RuleBook {
            path: None,
            book: Mutex::new(Book {
                rules: Arc::default(),
                fired: VecDeque::new(),
            }),
            write: Mutex::new(()),
        }
    }

    /// Loads the book at `path` (a missing file is an empty book).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let rules: Vec<Rule> = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: not a rule book: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(RuleBook {
            path: Some(path.to_path_buf()),
            book: Mutex::new(Book {
                rules: Arc::new(rules),
                fired: VecDeque::new(),
            }),
            write: Mutex::new(()),
        })
    }

    /// Every rule, oldest first (shared, not copied: the alert engine asks on every event).
    pub fn rules(&self) -> Arc<Vec<Rule>> {
        self.book.lock().rules.clone()
    }

    /// Adds a validated rule and stores the book.
    pub fn add(&self, new: NewRule) -> ApiResult<Rule> {
        let rule = Rule {
            id: new_id(),
            kind: new.kind,
            coin: new.coin,
            threshold: new.threshold,
            window: new.window,
            webhook_url: new.webhook_url,
            created_at: params::rfc3339(now_ns()),
        };
        {
            let mut book = self.book.lock();
            if book.rules.len() >= MAX_RULES {
                return Err(ApiError::bad("kind", format!("at most {MAX_RULES} rules")));
            }
            Arc::make_mut(&mut book.rules).push(rule.clone());
        }
        self.save()?;
        Ok(rule)
    }

    /// Deletes a rule; false when there is none with that id.
    pub fn delete(&self, id: &str) -> ApiResult<bool> {
        let removed = {
            let mut book = self.book.lock();
            let before = book.rules.len();
            Arc::make_mut(&mut book.rules).retain(|r| r.id != id);
            book.rules.len() != before
        };
        if removed {
            self.save()?;
        }
        Ok(removed)
    }

    /// Records a fired alert.
    pub fn record_fired(&self, fired: Fired) {
        let mut book = self.book.lock();
        if book.fired.len() == FIRED_KEPT {
            book.fired.pop_back();
        }
        book.fired.push_front(fired);
    }

    /// Fired alerts, newest first.
    pub fn fired(&self, limit: usize) -> Vec<Fired> {
        self.book.lock().fired.iter().take(limit).cloned().collect()
    }

    fn save(&self) -> ApiResult<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let _w = self.write.lock();
        let text = serde_json::to_vec_pretty(&*self.book.lock().rules)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let io = |e: std::io::Error| {
            ApiError::Internal(format!(
                "cannot store the alert rules at {}: {e}",
                path.display()
            ))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&text).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
}

/// A random-enough id: time and a per-process counter, hex.
fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = (now_ns() as u64).rotate_left(17) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("r{mixed:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: RuleKind, coin: &str, threshold: f64, window: Option<&str>) -> NewRule {
        NewRule {
            kind,
            coin: coin.into(),
            threshold,
            window: window.map(str::to_string),
            webhook_url: None,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let param = |r: NewRule| match r.validate(&Networks::default()) {
            Err(ApiError::BadParam { param, .. }) => param,
            other => panic!("expected a 400, got {other:?}"),
        };
        assert_eq!(
            param(rule(RuleKind::PriceAbove, "Bit Coin", 1.0, None)),
            "coin"
        );
        assert_eq!(
            param(rule(RuleKind::PriceAbove, "bitcoin", f64::NAN, None)),
            "threshold"
        );
        assert_eq!(
            param(rule(RuleKind::PriceBelow, "bitcoin", -1.0, None)),
            "threshold"
        );
        assert_eq!(
            param(rule(RuleKind::ChangePct, "bitcoin", 5.0, None)),
            "window"
        );
        assert_eq!(
            param(rule(RuleKind::PriceAbove, "bitcoin", 5.0, Some("1h"))),
            "window"
        );
        assert_eq!(
            param(rule(RuleKind::SentimentBelow, "market", 3.0, None)),
            "threshold"
        );
        let mut hook = rule(RuleKind::PriceAbove, "bitcoin", 5.0, None);
        hook.webhook_url = Some("ftp://x".into());
        assert_eq!(param(hook), "webhook_url");
        let open = Networks::default();
        assert!(
            rule(RuleKind::SentimentBelow, "market", -0.2, None)
                .validate(&open)
                .is_ok()
        );
        assert!(
            rule(RuleKind::ChangePct, "ethereum", 5.0, Some("24h"))
                .validate(&open)
                .is_ok()
        );
    }

    #[test]
    fn the_book_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.json");
        let book = RuleBook::open(&path).unwrap();
        let a = book
            .add(rule(RuleKind::PriceAbove, "bitcoin", 1e5, None))
            .unwrap();
        let b = book
            .add(rule(RuleKind::PriceBelow, "ethereum", 10.0, None))
            .unwrap();
        assert_ne!(a.id, b.id);
        assert!(book.delete(&a.id).unwrap());
        assert!(!book.delete(&a.id).unwrap());
        let reopened = RuleBook::open(&path).unwrap();
        let ids: Vec<String> = reopened.rules().iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, vec![b.id]);
    }
}
