//! Evaluates the rules against the live events and delivers what fires.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::rules::{Fired, Rule, RuleBook, RuleKind};
use super::webhook::Webhooks;
use crate::live::{EventKind, Hub};
use cryptoviz_measurements::time::rfc3339;

/// What a rule decided about one event.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// The event is not about this rule.
    Irrelevant,
    /// The condition holds, with this value; `episode` identifies what it holds for, so
    /// that the same condition is reported once.
    Holds { value: f64, episode: Option<String> },
    /// The condition does not hold (re-arms the rule).
    Clear,
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn judge(rule: &Rule, kind: EventKind, data: &Value) -> Verdict {
    let holds = |value: f64, cond: bool| {
        if cond {
            Verdict::Holds {
                value,
                episode: None,
            }
        } else {
            Verdict::Clear
        }
    };
    match (rule.kind, kind) {
        (RuleKind::PriceAbove | RuleKind::PriceBelow | RuleKind::ChangePct, EventKind::Price)
            if text(data, "id") == rule.coin =>
        {
            let Some(price) = num(data, "price_usd") else {
                return Verdict::Irrelevant;
            };
            match rule.kind {
                RuleKind::PriceAbove => holds(price, price > rule.threshold),
                RuleKind::PriceBelow => holds(price, price < rule.threshold),
                _ => {
                    let field = match rule.window.as_deref() {
                        Some("1h") => "change_1h",
                        Some("7d") => "change_7d",
                        _ => "change_24h",
                    };
                    match num(data, field) {
                        Some(change) => holds(change, change.abs() >= rule.threshold),
                        None => Verdict::Irrelevant,
                    }
                }
            }
        }
        (RuleKind::Anomaly, EventKind::Anomaly) if text(data, "crypto_id") == rule.coin => {
            match num(data, "score") {
                Some(score) if score.abs() >= rule.threshold => Verdict::Holds {
                    value: score,
                    // One alert per episode: an episode is its kind, source and start.
                    episode: Some(format!(
                        "{}|{}|{}",
                        text(data, "kind"),
                        text(data, "source"),
                        text(data, "time")
                    )),
                },
                _ => Verdict::Irrelevant,
            }
        }
        (RuleKind::SentimentBelow, EventKind::Sentiment)
            if text(data, "crypto_id") == rule.coin =>
        {
            match num(data, "score") {
                Some(score) => holds(score, score < rule.threshold),
                None => Verdict::Irrelevant,
            }
        }
        _ => Verdict::Irrelevant,
    }
}

fn message(rule: &Rule, value: f64) -> String {
    match rule.kind {
        RuleKind::PriceAbove => format!("{} rose above {} USD: {value}", rule.coin, rule.threshold),
        RuleKind::PriceBelow => format!("{} fell below {} USD: {value}", rule.coin, rule.threshold),
        RuleKind::ChangePct => format!(
            "{} moved {value:.2} % over {} (threshold ±{} %)",
            rule.coin,
            rule.window.as_deref().unwrap_or("24h"),
            rule.threshold
        ),
        RuleKind::Anomaly => format!("anomaly on {} with score {value:.2}", rule.coin),
        RuleKind::SentimentBelow => format!(
            "{} sentiment fell to {value:.3} (below {})",
            rule.coin, rule.threshold
        ),
    }
}

/// The per-rule memory that makes a condition fire once: `Some(episode)` while it holds.
#[derive(Default)]
struct Armed(HashMap<String, Option<String>>);

impl Armed {
    /// Whether `verdict` fires `rule` now.
    fn fires(&mut self, rule: &Rule, verdict: &Verdict) -> bool {
        match verdict {
            Verdict::Irrelevant => false,
            Verdict::Clear => {
                self.0.remove(&rule.id);
                false
            }
            Verdict::Holds { episode, .. } => {
                let key = episode.clone().unwrap_or_default();
                match self.0.get(&rule.id) {
                    Some(active) if *active == Some(key.clone()) => false,
                    _ => {
                        self.0.insert(rule.id.clone(), Some(key));
                        true
                    }
                }
            }
        }
    }
}

/// Evaluates every rule against every event until `cancel`; fired alerts are recorded in the
/// book, published on the hub and POSTed to the rule's webhook by `webhooks`.
pub async fn run(
    book: Arc<RuleBook>,
    hub: Arc<Hub>,
    webhooks: Webhooks,
    cancel: CancellationToken,
) {
    let mut sub = hub.subscribe(None);
    let mut armed = Armed::default();
    loop {
        let event = tokio::select! {
            _ = cancel.cancelled() => return,
            e = sub.receiver.recv() => e,
        };
        let event = match event {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "alerts fell behind the live events; some were not evaluated"
                );
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if !matches!(
            event.kind,
            EventKind::Price | EventKind::Anomaly | EventKind::Sentiment
        ) {
            continue;
        }
        let rules = book.rules();
        if rules.is_empty() {
            continue;
        }
        let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
            continue;
        };
        for rule in rules.iter() {
            let verdict = judge(rule, event.kind, &data);
            if !armed.fires(rule, &verdict) {
                continue;
            }
            let Verdict::Holds { value, .. } = verdict else {
                continue;
            };
            let fired = Fired {
                rule_id: rule.id.clone(),
                coin: rule.coin.clone(),
                kind: rule.kind,
                message: message(rule, value),
                value,
                threshold: rule.threshold,
                time: rfc3339(chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()),
            };
            let body = serde_json::to_string(&fired).unwrap_or_default();
            tracing::info!(rule = %rule.id, coin = %rule.coin, "alert fired");
            book.record_fired(fired);
            hub.publish(EventKind::Alert, body.clone());
            if let Some(url) = &rule.webhook_url {
                webhooks.deliver(url, &rule.id, body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(kind: RuleKind, threshold: f64, window: Option<&str>) -> Rule {
        Rule {
            id: "r1".into(),
            kind,
            coin: "bitcoin".into(),
            threshold,
            window: window.map(str::to_string),
            webhook_url: None,
            created_at: String::new(),
        }
    }

    #[test]
    fn a_price_rule_fires_once_and_rearms() {
        let r = rule(RuleKind::PriceAbove, 100.0, None);
        let mut armed = Armed::default();
        let tick = |p: f64| json!({"id": "bitcoin", "price_usd": p});
        let fires =
            |armed: &mut Armed, p: f64| armed.fires(&r, &judge(&r, EventKind::Price, &tick(p)));
        assert!(!fires(&mut armed, 99.0));
        assert!(fires(&mut armed, 101.0));
        assert!(!fires(&mut armed, 102.0), "still above: no second alert");
        assert!(!fires(&mut armed, 98.0));
        assert!(fires(&mut armed, 105.0), "re-armed after falling back");
        // Another coin's tick is irrelevant.
        let other = json!({"id": "ethereum", "price_usd": 1e6});
        assert_eq!(judge(&r, EventKind::Price, &other), Verdict::Irrelevant);
    }

    #[test]
    fn change_sentiment_and_anomaly_rules() {
        let change = rule(RuleKind::ChangePct, 5.0, Some("1h"));
        let tick = json!({"id": "bitcoin", "price_usd": 1.0, "change_1h": -6.5, "change_24h": 1.0});
        assert!(
            matches!(judge(&change, EventKind::Price, &tick), Verdict::Holds { value, .. } if value == -6.5)
        );

        let mut sentiment = rule(RuleKind::SentimentBelow, -0.2, None);
        sentiment.coin = "market".into();
        let hour = json!({"crypto_id": "market", "window": "1h", "score": -0.4});
        assert!(matches!(
            judge(&sentiment, EventKind::Sentiment, &hour),
            Verdict::Holds { .. }
        ));

        let anomaly = rule(RuleKind::Anomaly, 3.0, None);
        let mut armed = Armed::default();
        let ep = |t: &str, score: f64| json!({"crypto_id": "bitcoin", "kind": "price_return", "source": "s", "time": t, "score": score});
        let fires = |armed: &mut Armed, v: Value| {
            armed.fires(&anomaly, &judge(&anomaly, EventKind::Anomaly, &v))
        };
        assert!(fires(&mut armed, ep("t1", 4.0)));
        assert!(
            !fires(&mut armed, ep("t1", 5.0)),
            "the same episode growing"
        );
        assert!(fires(&mut armed, ep("t2", 3.5)), "a new episode");
        assert!(
            !fires(&mut armed, ep("t3", 2.0)),
            "below the score threshold"
        );
    }
}
