//! One folder or file per source, and [`build_sources`] which turns the `[sources]` config
//! into the real agents (the polling HTTP agents and the exchange trade streams).

pub mod coingecko;
pub mod coinmarketcap;
pub mod common;
pub mod exchanges;
pub mod feargreed;
pub mod history;
pub mod news;
pub mod simulated;

use crate::{Source, SourcesConfig};

/// The enabled real agents of `config` (validate it first with
/// [`SourcesConfig::validate`]). The CoinMarketCap agent needs a key: without one it is left
/// out and says so once, here. An agent that cannot be built is logged and left out; the
/// others still run.
///
/// Give each source a [`crate::Publisher`] with its own [`crate::SourceStatus`] named
/// [`Source::name`]: agents report their breaker state and last error there.
pub fn build_sources(config: &SourcesConfig) -> Vec<Box<dyn Source>> {
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    let mut add = |name: &str, built: crate::Result<Box<dyn Source>>| match built {
        Ok(source) => sources.push(source),
        Err(e) => tracing::error!(source = name, error = %e, "agent not started"),
    };
    if config.coingecko.enabled {
        add(
            coingecko::SOURCE,
            coingecko::CoinGeckoSource::new(config.coingecko.clone())
                .map(|s| Box::new(s) as Box<dyn Source>),
        );
    }
    if config.coinmarketcap.enabled {
        if config.coinmarketcap.api_key.is_none() {
            tracing::info!(
                "coinmarketcap agent off: no API key (set sources.coinmarketcap.api_key or COINMARKETCAP_API_KEY)"
            );
        } else {
            add(
                coinmarketcap::SOURCE,
                coinmarketcap::CoinMarketCapSource::new(config.coinmarketcap.clone())
                    .map(|s| Box::new(s) as Box<dyn Source>),
            );
        }
    }
    if config.feargreed.enabled {
        add(
            "feargreed",
            feargreed::FearGreedSource::new(config.feargreed.clone())
                .map(|s| Box::new(s) as Box<dyn Source>),
        );
    }
    for (exchange, built) in exchanges::build(config) {
        add(exchange.as_str(), built);
    }
    if config.news.enabled {
        add(
            news::SOURCE,
            news::NewsSource::new(config.news.clone(), &config.state_dir)
                .map(|s| Box::new(s) as Box<dyn Source>),
        );
    }
    sources
}
