//! The source every exchange runs: connect, subscribe, read trades, drop duplicates and fill
//! gaps by trade id, reconnect with exponential back-off and jitter. What differs per
//! exchange is its [`Protocol`].

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use cryptoviz_schemas::{CryptoTrade, topics};
use futures::FutureExt;
use tokio::time::Instant;

use super::ids::{TradeIds, Verdict};
use super::ws::{WsConnection, WsError, WsTimings};
use super::{Event, ExchangeConfig, Gap, Market, Markets, Protocol};
use crate::http::{FetchError, Fetched, HttpClient};
use crate::{Result, Source, SourceContext, StreamCounters};

/// A session that lasted this long resets the back-off: the next drop reconnects quickly.
const HEALTHY_SESSION: Duration = Duration::from_secs(30);

/// Most frames handled (and trades appended) together.
const MAX_BURST: usize = 512;

/// Most REST pages one gap may take (the size cap, `max_gap_fill`, normally stops it first).
const MAX_PAGES: usize = 1_000;

/// Why a session ended.
enum End {
    /// Shutdown was requested.
    Shutdown,
    /// The connection failed or was lost; reconnect.
    Lost(WsError),
}

/// The trade stream of one exchange.
pub struct ExchangeSource<P: Protocol> {
    config: ExchangeConfig,
    markets: Markets,
    http: HttpClient,
    ids: TradeIds,
    clock: fn() -> i64,
    protocol: PhantomData<P>,
}

impl<P: Protocol> ExchangeSource<P> {
    /// A source for `config` (validated by [`crate::SourcesConfig::validate`]).
    pub fn new(config: ExchangeConfig) -> Result<Self> {
        let markets = Markets::from_config(P::EXCHANGE, &config)?;
        let http = HttpClient::new(&config.http).map_err(|e| {
            crate::Error::Config(format!("sources.{}.http: {e}", P::EXCHANGE.as_str()))
        })?;
        Ok(Self {
            config,
            markets,
            http,
            ids: TradeIds::default(),
            clock: cryptoviz_schemas::now_ms,
            protocol: PhantomData,
        })
    }

    /// Uses `clock` (ms since the epoch) for receive times instead of the system clock.
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    /// The markets streamed.
    pub fn markets(&self) -> &Markets {
        &self.markets
    }

    /// The back-off between connection attempts: `reconnect_min` doubling up to
    /// `reconnect_max`, each delay plus up to 100 % jitter (backon's), never giving up.
    pub fn backoff(&self) -> backon::ExponentialBackoff {
        ExponentialBuilder::new()
            .with_min_delay(self.config.reconnect_min)
            .with_max_delay(self.config.reconnect_max)
            .with_jitter()
            .without_max_times()
            .build()
    }

    fn timings(&self) -> WsTimings {
        WsTimings {
            connect_timeout: self.config.connect_timeout,
            ping_interval: self.config.ping_interval,
            stale_timeout: self.config.stale_timeout,
        }
    }

    /// One connection: connect, subscribe, then handle frames until it ends.
    async fn session(&mut self, ctx: &SourceContext) -> End {
        let exchange = P::EXCHANGE;
        let url = self.config.effective_ws_url(exchange).to_string();
        let counters = ctx.publisher.status().stream();
        let connect = WsConnection::connect(&url, self.timings());
        let mut conn = tokio::select! {
            _ = ctx.shutdown.cancelled() => return End::Shutdown,
            c = connect => match c {
                Ok(c) => c,
                Err(e) => return End::Lost(e),
            },
        };
        for message in P::subscribe(&self.markets) {
            if let Err(e) = conn.send(message).await {
                return End::Lost(e);
            }
        }
        counters.set_connected(true);
        tracing::info!(%exchange, markets = self.markets.len(), "stream connected and subscribed");
        let end = loop {
            let first = tokio::select! {
                _ = ctx.shutdown.cancelled() => break End::Shutdown,
                t = conn.next_text() => match t {
                    Ok(t) => t,
                    Err(e) => break End::Lost(e),
                },
            };
            // Frames already waiting are handled together: their trades go out in one append
            // (a busy stream costs one log write per burst, not per trade).
            let mut texts = vec![first];
            let mut lost = None;
            while texts.len() < MAX_BURST {
                match conn.next_text().now_or_never() {
                    Some(Ok(t)) => texts.push(t),
                    Some(Err(e)) => {
                        lost = Some(e);
                        break;
                    }
                    None => break,
                }
            }
            self.handle_burst(ctx, texts).await;
            if let Some(e) = lost {
                break End::Lost(e);
            }
        };
        counters.set_connected(false);
        if matches!(end, End::Shutdown) {
            conn.close().await;
        }
        end
    }

    /// Parses `texts` (received together) and handles their events in order; consecutive
    /// trades are taken as one batch.
    async fn handle_burst(&mut self, ctx: &SourceContext, texts: Vec<String>) {
        let received = (self.clock)();
        let mut trades = Vec::new();
        for text in texts {
            let events = match P::parse(&text, &self.markets, received) {
                Ok(events) => events,
                Err(reason) => {
                    self.reject(ctx, reason, text.into_bytes(), received).await;
                    continue;
                }
            };
            for event in events {
                match event {
                    Event::Trades(t) => trades.extend(t),
                    other => {
                        if !trades.is_empty() {
                            self.take_trades(ctx, std::mem::take(&mut trades)).await;
                        }
                        self.handle(ctx, other).await;
                    }
                }
            }
        }
        if !trades.is_empty() {
            self.take_trades(ctx, trades).await;
        }
    }

    async fn handle(&mut self, ctx: &SourceContext, event: Event) {
        let exchange = P::EXCHANGE;
        let status = ctx.publisher.status();
        match event {
            Event::Trades(trades) => self.take_trades(ctx, trades).await,
            Event::LastTradeId { symbol, trade_id } => {
                let Some(gap) = self.ids.announce(&symbol, trade_id) else {
                    return;
                };
                let Some(market) = self.markets.get(&symbol).cloned() else {
                    return;
                };
                let filled = self.fill(ctx, &market, gap).await;
                self.publish(ctx, &filled).await;
                // Filled or not, the ids up to the announced one are behind us.
                self.ids.accept(&symbol, gap.last, gap.after_time_ms);
            }
            Event::Subscribed(what) => tracing::debug!(%exchange, %what, "subscribed"),
            Event::SubscriptionError(why) => {
                status.stream().subscription_error();
                tracing::warn!(%exchange, reason = %why, "subscription refused");
                status.record_error(
                    format!("{exchange}: subscription refused: {why}"),
                    (self.clock)(),
                );
            }
            Event::Other => {}
        }
    }

    /// Publishes the new trades of one message in order; a gap before a trade is filled
    /// (and published) first; duplicates are dropped.
    async fn take_trades(&mut self, ctx: &SourceContext, trades: Vec<CryptoTrade>) {
        let counters = ctx.publisher.status().stream();
        let mut batch = Vec::with_capacity(trades.len());
        let mut duplicates = 0;
        for trade in trades {
            counters.saw_trade(trade.event_time_ms);
            match self.ids.check(&trade.symbol, trade.trade_id) {
                Verdict::Duplicate => duplicates += 1,
                Verdict::Next => {
                    self.ids
                        .accept(&trade.symbol, trade.trade_id, trade.event_time_ms);
                    batch.push(trade);
                }
                Verdict::AfterGap(gap) => {
                    self.publish(ctx, &batch).await;
                    batch.clear();
                    if let Some(market) = self.markets.get(&trade.symbol).cloned() {
                        let filled = self.fill(ctx, &market, gap).await;
                        self.publish(ctx, &filled).await;
                    }
                    self.ids
                        .accept(&trade.symbol, trade.trade_id, trade.event_time_ms);
                    batch.push(trade);
                }
            }
        }
        if duplicates > 0 {
            counters.duplicates(duplicates);
            tracing::debug!(exchange = %P::EXCHANGE, duplicates, "duplicate trades dropped");
        }
        self.publish(ctx, &batch).await;
    }

    /// The trades of `gap` from the exchange's REST history, in id order; counts the gap as
    /// filled or unfillable.
    async fn fill(&mut self, ctx: &SourceContext, market: &Market, gap: Gap) -> Vec<CryptoTrade> {
        let exchange = P::EXCHANGE;
        let counters = ctx.publisher.status().stream();
        let missing = gap.len();
        if missing > self.config.max_gap_fill {
            tracing::error!(%exchange, symbol = %market.symbol, missing, "gap larger than max_gap_fill: trades lost");
            counters.gap_unfillable(0, missing);
            return Vec::new();
        }
        let rest = self.config.effective_rest_url(exchange).to_string();
        let mut got: BTreeMap<i64, CryptoTrade> = BTreeMap::new();
        let mut cursor: Option<String> = None;
        let mut failure = None;
        for _ in 0..MAX_PAGES {
            let url = P::history_url(&rest, market, &gap, cursor.as_deref());
            // Pages are not polls: an identical body is still an answer.
            self.http.forget(&url);
            let body = match self.http.get(&url, &[], &ctx.shutdown).await {
                Ok(Fetched::New(body)) => body,
                Ok(Fetched::Unchanged) => break,
                Err(FetchError::Cancelled) => break,
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            };
            let page = match P::parse_history(&body, market, (self.clock)()) {
                Ok(page) => page,
                Err(reason) => {
                    failure = Some(reason.clone());
                    self.reject(ctx, reason, body.to_vec(), (self.clock)())
                        .await;
                    break;
                }
            };
            let empty = page.trades.is_empty();
            for t in page.trades {
                if gap.contains(t.trade_id) {
                    got.insert(t.trade_id, t);
                }
            }
            if got.len() as u64 >= missing || empty {
                break;
            }
            match page.next {
                Some(next) if cursor.as_ref() != Some(&next) => cursor = Some(next),
                _ => break,
            }
        }
        let filled = got.len() as u64;
        if filled == missing {
            counters.gap_filled(filled);
            tracing::info!(%exchange, symbol = %market.symbol, trades = filled, "gap filled from REST");
        } else {
            counters.gap_unfillable(filled, missing - filled);
            let why = failure.unwrap_or_else(|| "the history returned too few trades".into());
            tracing::error!(%exchange, symbol = %market.symbol, missing = missing - filled, reason = %why, "gap not filled: trades lost");
            ctx.publisher.status().record_error(
                format!(
                    "{exchange}: gap of {missing} {} trades not filled ({why})",
                    market.symbol
                ),
                (self.clock)(),
            );
        }
        got.into_values().collect()
    }

    async fn publish(&self, ctx: &SourceContext, trades: &[CryptoTrade]) {
        if trades.is_empty() {
            return;
        }
        let now = (self.clock)();
        if let Err(e) = ctx.publisher.publish(trades, now).await {
            tracing::error!(exchange = %P::EXCHANGE, error = %e, trades = trades.len(), "trades not published");
            ctx.publisher
                .status()
                .record_error(format!("{}: {e}", P::EXCHANGE), now);
        }
    }

    async fn reject(&self, ctx: &SourceContext, reason: String, payload: Vec<u8>, now: i64) {
        let reason = format!("{}: {reason}", P::EXCHANGE);
        ctx.publisher.status().record_error(reason.clone(), now);
        if let Err(e) = ctx
            .publisher
            .reject(topics::TRADES, reason, payload, now)
            .await
        {
            tracing::error!(exchange = %P::EXCHANGE, error = %e, "dead letter not written");
        }
    }
}

#[async_trait::async_trait]
impl<P: Protocol> Source for ExchangeSource<P> {
    fn name(&self) -> &str {
        P::EXCHANGE.as_str()
    }

    async fn run(&mut self, ctx: SourceContext) -> Result<()> {
        let exchange = P::EXCHANGE;
        let counters: &StreamCounters = ctx.publisher.status().stream();
        counters.set_connected(false);
        tracing::info!(%exchange, markets = self.markets.len(), url = %self.config.effective_ws_url(exchange), "exchange stream started");
        let mut backoff = self.backoff();
        let mut first = true;
        loop {
            if !first {
                counters.reconnected();
            }
            first = false;
            let started = Instant::now();
            match self.session(&ctx).await {
                End::Shutdown => break,
                End::Lost(e) => {
                    tracing::warn!(%exchange, error = %e, "stream connection ended; reconnecting");
                    ctx.publisher
                        .status()
                        .record_error(format!("{exchange}: {e}"), (self.clock)());
                }
            }
            if started.elapsed() >= HEALTHY_SESSION {
                backoff = self.backoff();
            }
            let delay = backoff.next().unwrap_or(self.config.reconnect_max);
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        tracing::info!(%exchange, "exchange stream stopped");
        Ok(())
    }
}
