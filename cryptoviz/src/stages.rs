//! Starting the stages shared by `run`, `produce` and `consume`: the sources (the real agents
//! or the simulated market) and the three consumer groups (prices, trades, news and sentiment).

use std::sync::Arc;

use cryptoviz_consumers::{ConsumerStats, PricePipeline, RecordsPipeline, TradePipeline};
use cryptoviz_log::Log;
use cryptoviz_producers::sources::simulated::SimulatedSource;
use cryptoviz_producers::{Publisher, Source, SourceContext, SourceStatus, build_sources};
use cryptoviz_store::Store;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;

/// Starts the sources on `tracker`: the simulated market with `simulate`, else every enabled
/// real agent (each its own task, so one stuck upstream never stalls another). Returns their
/// status handles, in start order.
pub(crate) fn spawn_sources(
    config: &Config,
    log: &Arc<dyn Log>,
    simulate: bool,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<Vec<Arc<SourceStatus>>> {
    let sources: Vec<Box<dyn Source>> = if simulate {
        vec![Box::new(SimulatedSource::new(
            config.simulator.clone(),
            cryptoviz_schemas::now_ms(),
        )?)]
    } else {
        build_sources(&config.sources)
    };
    if sources.is_empty() {
        tracing::warn!("no source is enabled: only what is already in the log will be served");
    }
    let mut statuses = Vec::with_capacity(sources.len());
    for mut source in sources {
        let name = source.name().to_string();
        let status = SourceStatus::new(name.clone());
        statuses.push(status.clone());
        let context = SourceContext {
            shutdown: shutdown.clone(),
            publisher: Publisher::new(log.clone(), &name, status),
        };
        tracing::info!(source = %name, simulate, "source started");
        tracker.spawn_on(
            async move {
                if let Err(e) = source.run(context).await {
                    tracing::error!(source = %name, error = %e, "source stopped");
                }
            },
            runtime,
        );
    }
    Ok(statuses)
}

/// The sources' status as a JSON array (for `/api/v1/sources`).
pub(crate) fn sources_json(statuses: &[Arc<SourceStatus>]) -> Value {
    Value::Array(
        statuses
            .iter()
            .map(|s| serde_json::to_value(s.snapshot()).unwrap_or(Value::Null))
            .collect(),
    )
}

/// Counters of the consumer groups.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerHandles {
    /// The price pipeline (raw ingest and windows).
    pub prices: Arc<ConsumerStats>,
    /// The trade pipeline (raw trades and trade candles).
    pub trades: Arc<ConsumerStats>,
    /// The news and sentiment pipeline.
    pub records: Arc<ConsumerStats>,
}

impl ConsumerHandles {
    /// `Err` naming the consumer that has failed for good (for `/ready`).
    pub(crate) fn check_alive(&self) -> Result<(), String> {
        self.prices
            .check_alive()
            .map_err(|e| format!("price {e}"))?;
        self.trades
            .check_alive()
            .map_err(|e| format!("trade {e}"))?;
        self.records.check_alive().map_err(|e| format!("news {e}"))
    }

    /// Each group's counters under the name status and metrics give it.
    pub(crate) fn groups(&self) -> [(&'static str, &Arc<ConsumerStats>); 3] {
        [
            ("prices", &self.prices),
            ("trades", &self.trades),
            ("records", &self.records),
        ]
    }

    /// Every group's counters as JSON.
    pub(crate) fn json(&self) -> Value {
        let groups = self.groups().map(|(name, stats)| {
            (
                name.to_string(),
                serde_json::to_value(stats.snapshot()).unwrap_or(Value::Null),
            )
        });
        Value::Object(groups.into_iter().collect())
    }
}

/// The consumer groups, joined and restored from their checkpoints.
pub(crate) struct Consumers {
    /// Prices → `crypto_market` + `crypto_analytics`.
    pub prices: PricePipeline,
    /// Trades → `crypto_trades` + `crypto_trade_candles`.
    pub trades: TradePipeline,
    /// News and sentiment → `crypto_news` + `fear_greed`.
    pub records: RecordsPipeline,
    /// Their counters.
    pub handles: ConsumerHandles,
}

/// The consumer groups and their topics, for the API's lag metric.
pub(crate) fn lag_groups(config: &Config) -> Vec<(String, Vec<String>)> {
    use cryptoviz_schemas::topics;
    vec![
        (
            config.consumer.group.clone(),
            vec![topics::PRICES.to_string()],
        ),
        (trades_group(config), vec![topics::TRADES.to_string()]),
        (
            format!("{}-records", config.consumer.group),
            vec![topics::NEWS.to_string(), topics::SENTIMENT.to_string()],
        ),
    ]
}

/// The trade consumers' group: `consumer.group` + `-trades`.
fn trades_group(config: &Config) -> String {
    format!("{}-trades", config.consumer.group)
}

/// Joins the consumer groups (`consumer.group`, `consumer.group` + `-trades` and
/// `consumer.group` + `-records`); the trade group windows with the `[consumer]` settings.
pub(crate) async fn consumers(
    config: &Config,
    log: &Arc<dyn Log>,
    store: Arc<dyn Store>,
) -> anyhow::Result<Consumers> {
    let handles = ConsumerHandles::default();
    let prices = PricePipeline::new(
        log.clone(),
        store.clone(),
        config.consumer.clone(),
        handles.prices.clone(),
    )
    .await?;
    let mut trade_config = config.consumer.clone();
    trade_config.group = trades_group(config);
    let trades = TradePipeline::new(
        log.clone(),
        store.clone(),
        trade_config,
        handles.trades.clone(),
    )
    .await?;
    let records = RecordsPipeline::new(
        log.clone(),
        store,
        &format!("{}-records", config.consumer.group),
        config.consumer.poll_max,
        handles.records.clone(),
    )
    .await?;
    Ok(Consumers {
        prices,
        trades,
        records,
        handles,
    })
}

impl Consumers {
    /// Runs every group on `runtime`, tracked by `tracker`, until `shutdown`; each drains
    /// before its task ends. Each retries retryable errors by itself; a permanent failure
    /// ends its task, marks it `failed` in its counters (so `/ready` fails) and cancels
    /// `failed`, for a process that should exit then (`cryptoviz consume`).
    pub(crate) fn spawn(
        self,
        shutdown: &CancellationToken,
        tracker: &TaskTracker,
        runtime: &tokio::runtime::Handle,
        failed: &CancellationToken,
    ) -> ConsumerHandles {
        let (token, on_failure) = (shutdown.clone(), failed.clone());
        tracker.spawn_on(
            async move {
                if let Err(e) = self.prices.run(token).await {
                    tracing::error!(error = %e, "price consumer stopped; its uncommitted input will be replayed at the next start");
                    on_failure.cancel();
                }
            },
            runtime,
        );
        let (token, on_failure) = (shutdown.clone(), failed.clone());
        tracker.spawn_on(
            async move {
                if let Err(e) = self.trades.run(token).await {
                    tracing::error!(error = %e, "trade consumer stopped; its uncommitted input will be replayed at the next start");
                    on_failure.cancel();
                }
            },
            runtime,
        );
        let (token, on_failure) = (shutdown.clone(), failed.clone());
        tracker.spawn_on(
            async move {
                if let Err(e) = self.records.run(token).await {
                    tracing::error!(error = %e, "news consumer stopped; its uncommitted input will be replayed at the next start");
                    on_failure.cancel();
                }
            },
            runtime,
        );
        self.handles
    }
}
