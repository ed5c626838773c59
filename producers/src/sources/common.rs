//! Plumbing shared by the HTTP agents: the poll loop, parse results, fetch-and-report, and
//! small parsing helpers (timestamps, "is this HTML?").

use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Interval, MissedTickBehavior};

use crate::http::{FetchError, Fetched, HttpClient};
use crate::{Publishable, Result, Source, SourceContext};

/// What one parse of an upstream payload produced: the records, and what could not become a
/// record (sent to the DLQ as raw payload with the reason).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// Records built from the payload (still to be validated by the publisher).
    pub records: Vec<T>,
    /// Payloads (the whole body or one item) that could not be turned into a record.
    pub rejects: Vec<Reject>,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            rejects: Vec::new(),
        }
    }
}

impl<T> Parsed<T> {
    /// A parse that rejected the whole payload.
    pub fn rejected(reason: impl Into<String>, payload: &[u8]) -> Self {
        Self {
            records: Vec::new(),
            rejects: vec![Reject::new(reason, payload)],
        }
    }
}

/// A payload that could not become a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Readable reason, e.g. `coingecko: response is HTML, not JSON`.
    pub reason: String,
    /// The raw bytes (whole body or one item's JSON).
    pub payload: Vec<u8>,
}

impl Reject {
    /// A reject of `payload` for `reason`.
    pub fn new(reason: impl Into<String>, payload: &[u8]) -> Self {
        Self {
            reason: reason.into(),
            payload: payload.to_vec(),
        }
    }
}

/// What one poll of an agent did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    /// Records appended to their topic.
    pub published: usize,
    /// Records and payloads sent to the DLQ.
    pub rejected: usize,
    /// Requests answered with a body identical to the previous one (skipped).
    pub unchanged: usize,
    /// Requests that failed (after retries) or were refused by the open breaker.
    pub failed: usize,
}

impl PollReport {
    pub(crate) fn add(&mut self, other: PollReport) {
        self.published += other.published;
        self.rejected += other.rejected;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
    }
}

/// An agent that polls an HTTP API on a fixed interval (CoinGecko, CoinMarketCap, Fear &
/// Greed, the news feeds). Every `Poller` is a [`Source`] whose `run` logs its start and then
/// polls once per interval until shutdown, each result reported to the source's status.
pub trait Poller: Send {
    /// Source name, used in logs and errors.
    const NAME: &'static str;
    /// Time between polls.
    fn interval(&self) -> Duration;
    /// One poll. An error is the poll's failure; the caller reports it in the status.
    fn poll_once(
        &mut self,
        ctx: &SourceContext,
    ) -> impl std::future::Future<Output = Result<PollReport>> + Send;
    /// Logs the agent's start with its settings.
    fn log_start(&self);
}

#[async_trait::async_trait]
impl<P: Poller> Source for P {
    fn name(&self) -> &str {
        P::NAME
    }

    async fn run(&mut self, ctx: SourceContext) -> Result<()> {
        self.log_start();
        run_polls(self, &ctx).await;
        Ok(())
    }
}

/// The poll loop every HTTP agent runs: a poll per tick of [`ticker`] until shutdown, each
/// result reported by [`report_poll`].
pub(crate) async fn run_polls<P: Poller>(agent: &mut P, ctx: &SourceContext) {
    let mut ticker = ticker(agent.interval());
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let result = agent.poll_once(ctx).await;
        report_poll(ctx, P::NAME, result);
    }
}

/// An interval that does not burst after a stall (`MissedTickBehavior::Delay`).
pub(crate) fn ticker(every: Duration) -> Interval {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker
}

/// GETs `url` and reports to the status: breaker state, errors (without the URL), an
/// oversized body to the DLQ. `Ok(None)` when there is nothing to parse.
pub(crate) async fn fetch(
    http: &mut HttpClient,
    ctx: &SourceContext,
    what: &str,
    url: &str,
    headers: &[(&str, &str)],
    topic: &str,
    report: &mut PollReport,
) -> Result<Option<Bytes>> {
    let result = http.get(url, headers, &ctx.shutdown).await;
    let status = ctx.publisher.status();
    status.set_breaker(http.breaker_state());
    let now = cryptoviz_schemas::now_ms();
    match result {
        Ok(Fetched::New(body)) => Ok(Some(body)),
        Ok(Fetched::Unchanged) => {
            report.unchanged += 1;
            tracing::debug!(source = what, "response unchanged, skipped");
            Ok(None)
        }
        Err(FetchError::Cancelled) => Ok(None),
        Err(FetchError::TooLarge { limit, prefix }) => {
            let reason = format!("{what}: response larger than {limit} bytes (first bytes kept)");
            status.record_error(reason.clone(), now);
            ctx.publisher
                .reject(topic, reason, prefix.to_vec(), now)
                .await?;
            report.rejected += 1;
            Ok(None)
        }
        Err(e) => {
            report.failed += 1;
            let message = format!("{what}: {e}");
            if matches!(e, FetchError::BreakerOpen) {
                // Keep the error that opened the breaker as the last error: it is the cause.
                tracing::debug!(source = what, "breaker open, poll skipped");
            } else {
                tracing::warn!(source = what, error = %e, breaker = http.breaker_state().as_str(), "fetch failed");
                status.record_error(message, now);
            }
            Ok(None)
        }
    }
}

/// One poll of a JSON price endpoint: [`fetch`], `parse` the body (as of now), drop rejects
/// already dead-lettered, then [`publish_or_forget`].
#[allow(clippy::too_many_arguments)]
pub(crate) async fn poll_prices<T: Publishable>(
    http: &mut HttpClient,
    rejected: &mut RejectMemory,
    ctx: &SourceContext,
    what: &str,
    url: &str,
    headers: &[(&str, &str)],
    topic: &str,
    parse: impl FnOnce(&[u8], i64) -> Parsed<T>,
) -> Result<PollReport> {
    let mut report = PollReport::default();
    let Some(body) = fetch(http, ctx, what, url, headers, topic, &mut report).await? else {
        return Ok(report);
    };
    let now = cryptoviz_schemas::now_ms();
    let mut parsed = parse(&body, now);
    rejected.filter(&mut parsed);
    publish_or_forget(http, url, ctx, &parsed, now, &mut report).await?;
    Ok(report)
}

/// [`publish_parsed`], and when the log refuses the batch, forgets `url`'s last body so the
/// next poll does not skip the same payload as unchanged (it was never published).
pub(crate) async fn publish_or_forget<T: Publishable>(
    http: &mut HttpClient,
    url: &str,
    ctx: &SourceContext,
    parsed: &Parsed<T>,
    now_ms: i64,
    report: &mut PollReport,
) -> Result<()> {
    match publish_parsed(ctx, parsed, now_ms).await {
        Ok(r) => {
            report.add(r);
            Ok(())
        }
        Err(e) => {
            http.forget(url);
            Err(e)
        }
    }
}

/// Publishes the good records of `parsed` and dead-letters its rejects.
pub(crate) async fn publish_parsed<T: Publishable>(
    ctx: &SourceContext,
    parsed: &Parsed<T>,
    now_ms: i64,
) -> Result<PollReport> {
    let mut report = PollReport::default();
    for reject in &parsed.rejects {
        ctx.publisher
            .reject(
                T::TOPIC,
                reject.reason.clone(),
                reject.payload.clone(),
                now_ms,
            )
            .await?;
        report.rejected += 1;
    }
    let published = ctx.publisher.publish(&parsed.records, now_ms).await?;
    report.published += published.published;
    report.rejected += published.rejected;
    if !parsed.rejects.is_empty() {
        ctx.publisher
            .status()
            .record_error(parsed.rejects[0].reason.clone(), now_ms);
    }
    Ok(report)
}

/// Reports a poll that could not publish (the log refused a batch); the agent carries on:
/// no upstream or log failure ends an agent.
pub(crate) fn report_poll(ctx: &SourceContext, what: &str, result: Result<PollReport>) {
    match result {
        Ok(report) => tracing::debug!(
            source = what,
            published = report.published,
            rejected = report.rejected,
            unchanged = report.unchanged,
            failed = report.failed,
            "poll done"
        ),
        Err(e) => {
            tracing::warn!(source = what, error = %e, "poll not published");
            ctx.publisher
                .status()
                .record_error(format!("{what}: {e}"), cryptoviz_schemas::now_ms());
        }
    }
}

/// A short description of why `body` is not the expected JSON.
pub(crate) fn not_json(what: &str, body: &[u8], e: &serde_json::Error) -> String {
    let head = body
        .iter()
        .copied()
        .skip_while(u8::is_ascii_whitespace)
        .take(64)
        .collect::<Vec<_>>();
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if head.starts_with('<') {
        format!("{what}: response is HTML/XML, not JSON ({e})")
    } else if body.iter().all(u8::is_ascii_whitespace) {
        format!("{what}: empty response body")
    } else if e.is_eof() {
        format!("{what}: truncated JSON ({e})")
    } else {
        format!("{what}: malformed JSON ({e})")
    }
}

/// Parses an RFC 3339 timestamp into ms since the epoch (UTC).
pub(crate) fn rfc3339_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The JSON type name of `v`, for "wrong shape" reasons.
pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Parses a JSON payload item by item: the body must be JSON, `items` finds its array of items
/// (or says why the whole body is rejected), and `record` turns each item into a record (or
/// says why that item goes to the DLQ as its own JSON). Every reason starts with `source`.
pub(crate) fn parse_json_items<T>(
    source: &str,
    body: &[u8],
    items: fn(&serde_json::Value) -> Result<&[serde_json::Value], String>,
    mut record: impl FnMut(&serde_json::Value) -> Result<T, String>,
) -> Parsed<T> {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Parsed::rejected(not_json(source, body, &e), body),
    };
    let items = match items(&value) {
        Ok(items) => items,
        Err(why) => return Parsed::rejected(format!("{source}: {why}"), body),
    };
    let mut parsed = Parsed::default();
    for (i, item) in items.iter().enumerate() {
        match record(item) {
            Ok(r) => parsed.records.push(r),
            Err(why) => parsed.rejects.push(Reject::new(
                format!("{source}: item {i}: {why}"),
                &serde_json::to_vec(item).unwrap_or_default(),
            )),
        }
    }
    parsed
}

/// The `data` array of a JSON object (CoinMarketCap, Fear & Greed), or why there is none.
pub(crate) fn data_array(value: &serde_json::Value) -> Result<&[serde_json::Value], String> {
    match value.get("data") {
        Some(serde_json::Value::Array(items)) => Ok(items),
        _ => Err(format!(
            "expected an object with a \"data\" array, got {}",
            json_kind(value)
        )),
    }
}

/// Remembers (bounded) the rejects already dead-lettered, so a bad item repeated in every
/// poll (the same broken entry in a feed or a history window) reaches the DLQ once.
#[derive(Debug, Default)]
pub(crate) struct RejectMemory {
    seen: std::collections::HashSet<u64>,
    order: std::collections::VecDeque<u64>,
}

impl RejectMemory {
    const CAPACITY: usize = 4096;

    /// Drops from `parsed` the rejects already dead-lettered, and remembers the others.
    pub(crate) fn filter<T>(&mut self, parsed: &mut Parsed<T>) {
        parsed.rejects.retain(|r| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            r.reason.hash(&mut h);
            r.payload.hash(&mut h);
            let key = h.finish();
            if !self.seen.insert(key) {
                return false;
            }
            self.order.push_back(key);
            if self.order.len() > Self::CAPACITY
                && let Some(old) = self.order.pop_front()
            {
                self.seen.remove(&old);
            }
            true
        });
    }
}
