//! The real agents against a scripted local HTTP server: normal answers, rate limits, outages,
//! hangs and malformed payloads. Every case ends with no panic, the bad payload in the DLQ
//! with a readable reason, and every good record published exactly once.

mod support;

use std::time::{Duration, Instant};

use cryptoviz_producers::BreakerState;
use cryptoviz_producers::Source;
use cryptoviz_producers::config::{
    ApiKey, CoinGeckoConfig, CoinMarketCapConfig, FearGreedConfig, FeedConfig, NewsConfig,
};
use cryptoviz_producers::sources::coingecko::CoinGeckoSource;
use cryptoviz_producers::sources::coinmarketcap::CoinMarketCapSource;
use cryptoviz_producers::sources::common::Poller;
use cryptoviz_producers::sources::feargreed::FearGreedSource;
use cryptoviz_producers::sources::news::NewsSource;
use cryptoviz_schemas::{CryptoNews, CryptoPrice, MarketSentiment, topics};
use support::{Reply, Server, TestLog, fixture, http};

fn coingecko(server: &Server, retries: u32) -> CoinGeckoSource {
    CoinGeckoSource::new(CoinGeckoConfig {
        base_url: Some(server.url.clone()),
        api_key: Some(ApiKey::new("demo-secret")),
        per_page: 4,
        http: http(retries),
        ..CoinGeckoConfig::default()
    })
    .unwrap()
}

fn news(urls: &[(&str, &str)], state_dir: &std::path::Path) -> NewsSource {
    NewsSource::new(
        NewsConfig {
            feeds: urls
                .iter()
                .map(|(name, url)| FeedConfig {
                    name: (*name).into(),
                    url: (*url).into(),
                })
                .collect(),
            http: http(0),
            ..NewsConfig::default()
        },
        state_dir,
    )
    .unwrap()
}

#[tokio::test]
async fn normal_response_publishes_once_and_identical_body_is_skipped() {
    let server = Server::start(vec![Reply::ok(fixture("cg_markets.json"))]).await;
    let log = TestLog::new();
    let (ctx, status) = log.ctx("coingecko");
    let mut source = coingecko(&server, 0);
    let report = source.poll_once(&ctx).await.unwrap();
    assert_eq!((report.published, report.rejected), (2, 2));
    let again = source.poll_once(&ctx).await.unwrap();
    assert_eq!((again.published, again.unchanged), (0, 1));
    assert_eq!(server.hits(), 2);

    let prices = log.read::<CryptoPrice>().await;
    let ids: Vec<&str> = prices.iter().map(|p| p.crypto_id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"bitcoin") && ids.contains(&"ethereum"));
    let dlq = log.dlq().await;
    assert_eq!(dlq.len(), 2);
    assert!(dlq.iter().all(|d| d.original_topic == topics::PRICES));
    assert!(
        dlq.iter()
            .any(|d| d.reason.contains("current_price is null"))
    );

    let request = server.requests.lock()[0].to_ascii_lowercase();
    assert!(request.starts_with(
        "get /api/v3/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=4&page=1&price_change_percentage=1h,24h,7d "
    ));
    assert!(request.contains("x-cg-demo-api-key: demo-secret"));
    let snap = status.snapshot();
    assert_eq!(snap.breaker, Some(BreakerState::Closed));
    assert_eq!(snap.published, 2);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let server = Server::start(vec![
        Reply::Http(
            429,
            vec![("Retry-After".into(), "2".into())],
            b"slow down".to_vec(),
        ),
        Reply::ok(fixture("cg_markets.json")),
    ])
    .await;
    let log = TestLog::new();
    let (ctx, status) = log.ctx("coingecko");
    let mut source = coingecko(&server, 2);
    let started = Instant::now();
    let report = source.poll_once(&ctx).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.published, 2);
    assert_eq!(server.hits(), 2);
    assert_eq!(status.snapshot().breaker, Some(BreakerState::Closed));
    assert_eq!(log.read::<CryptoPrice>().await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_ends_the_poll() {
    let server = Server::start(vec![Reply::Http(
        429,
        vec![("Retry-After".into(), "3600".into())],
        Vec::new(),
    )])
    .await;
    let log = TestLog::new();
    let (ctx, status) = log.ctx("coingecko");
    let started = Instant::now();
    let report = coingecko(&server, 3).poll_once(&ctx).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!((report.failed, server.hits()), (1, 1));
    assert!(status.last_error().unwrap().contains("HTTP 429"));
}

#[tokio::test]
async fn server_errors_open_the_breaker_and_recovery_closes_it() {
    let server = Server::start(vec![Reply::status(500)]).await;
    let log = TestLog::new();
    let (ctx, status) = log.ctx("coingecko");
    let mut source = coingecko(&server, 1); // each poll: one try + one retry
    for _ in 0..3 {
        let report = source.poll_once(&ctx).await.unwrap();
        assert_eq!(report.failed, 1);
    }
    assert_eq!(server.hits(), 6);
    assert_eq!(status.snapshot().breaker, Some(BreakerState::Open));
    assert!(status.last_error().unwrap().contains("HTTP 500"));
    // Open: no request is sent.
    let report = source.poll_once(&ctx).await.unwrap();
    assert_eq!(report.failed, 1);
    assert_eq!(server.hits(), 6);
    assert!(
        status.last_error().unwrap().contains("HTTP 500"),
        "the cause stays visible"
    );
    assert!(!format!("{:?}", status.snapshot()).contains("demo-secret"));

    server.set_replies(vec![Reply::ok(fixture("cg_markets.json"))]);
    tokio::time::sleep(Duration::from_millis(350)).await; // past the cool-down: half-open
    let report = source.poll_once(&ctx).await.unwrap();
    assert_eq!(report.published, 2);
    assert_eq!(status.snapshot().breaker, Some(BreakerState::Closed));
    assert_eq!(log.read::<CryptoPrice>().await.len(), 2);
}

#[tokio::test]
async fn a_hang_times_out_and_does_not_stall_another_agent() {
    let hanging = Server::start(vec![Reply::Hang]).await;
    let fng = Server::start(vec![Reply::ok(fixture("fng.json"))]).await;
    let log = TestLog::new();
    let (cg_ctx, cg_status) = log.ctx("coingecko");
    let (fg_ctx, fg_status) = log.ctx("feargreed");
    let shutdown = cg_ctx.shutdown.clone();
    let fg_ctx = cryptoviz_producers::SourceContext {
        shutdown: shutdown.clone(),
        publisher: fg_ctx.publisher,
    };
    let mut cg = coingecko(&hanging, 0);
    let mut fg = FearGreedSource::new(FearGreedConfig {
        base_url: fng.url.clone(),
        interval: Duration::from_millis(100),
        http: http(0),
        ..FearGreedConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    let cg_task = tokio::spawn(async move { cg.run(cg_ctx).await });
    let fg_task = tokio::spawn(async move { fg.run(fg_ctx).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    shutdown.cancel();
    cg_task.await.unwrap().unwrap();
    fg_task.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));

    assert!(cg_status.last_error().unwrap().contains("timed out"));
    // The hang did not stall Fear & Greed: its two valid readings went out exactly once.
    let sentiment = log.read::<MarketSentiment>().await;
    assert_eq!(sentiment.len(), 2);
    assert_eq!(fg_status.snapshot().published, 2);
    let dlq = log.dlq().await;
    assert_eq!(dlq.len(), 1, "{dlq:?}");
    assert!(dlq[0].reason.contains("not an integer"));
    assert!(fng.hits() >= 2, "later polls kept running");
}

async fn single_bad_body(body: &[u8]) -> (String, Vec<u8>) {
    let server = Server::start(vec![Reply::ok(body.to_vec())]).await;
    let log = TestLog::new();
    let (ctx, status) = log.ctx("coingecko");
    let report = coingecko(&server, 0).poll_once(&ctx).await.unwrap();
    assert_eq!((report.published, report.rejected), (0, 1));
    assert!(log.read::<CryptoPrice>().await.is_empty());
    let dlq = log.dlq().await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].source, "coingecko");
    assert!(status.last_error().is_some());
    (dlq[0].reason.clone(), dlq[0].payload.clone())
}

#[tokio::test]
async fn truncated_json_goes_to_the_dlq() {
    let body = br#"[{"id": "bitcoin", "symbol": "btc", "current_pri"#;
    let (reason, payload) = single_bad_body(body).await;
    assert!(reason.contains("truncated JSON"), "{reason}");
    assert_eq!(payload, body);
}

#[tokio::test]
async fn html_error_page_with_status_200_goes_to_the_dlq() {
    let body = b"\n<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head></html>";
    let (reason, payload) = single_bad_body(body).await;
    assert!(reason.contains("HTML"), "{reason}");
    assert_eq!(payload, body);
}

#[tokio::test]
async fn json_of_the_wrong_shape_goes_to_the_dlq() {
    let body = br#"{"status": {"error_code": 10002, "error_message": "missing API key"}}"#;
    let (reason, _) = single_bad_body(body).await;
    assert!(reason.contains("expected a JSON array"), "{reason}");
    assert!(reason.contains("missing API key"), "{reason}");
}

#[tokio::test]
async fn oversized_body_is_cut_and_dead_lettered() {
    let mut body = b"[".to_vec();
    body.extend(std::iter::repeat_n(b' ', 100 * 1024));
    body.push(b']');
    let (reason, payload) = single_bad_body(&body).await;
    assert!(reason.contains("larger than"), "{reason}");
    assert!(payload.len() <= 4096);
}

#[tokio::test]
async fn coinmarketcap_sends_its_key_and_maps_ids() {
    let server = Server::start(vec![Reply::ok(fixture("cmc_listings.json"))]).await;
    let log = TestLog::new();
    let (ctx, _) = log.ctx("coinmarketcap");
    let mut cmc = CoinMarketCapSource::new(CoinMarketCapConfig {
        base_url: server.url.clone(),
        api_key: Some(ApiKey::new("cmc-secret")),
        limit: 5,
        http: http(0),
        ..CoinMarketCapConfig::default()
    })
    .unwrap();
    let report = cmc.poll_once(&ctx).await.unwrap();
    assert_eq!((report.published, report.rejected), (4, 1));
    let request = server.requests.lock()[0].to_ascii_lowercase();
    assert!(request.starts_with("get /v1/cryptocurrency/listings/latest?limit=5&convert=usd "));
    assert!(request.contains("x-cmc_pro_api_key: cmc-secret"));
    let ids: Vec<String> = log
        .read::<CryptoPrice>()
        .await
        .into_iter()
        .map(|p| p.crypto_id)
        .collect();
    assert!(ids.contains(&"binancecoin".to_string()) && ids.contains(&"ripple".to_string()));
    assert_eq!(log.dlq().await.len(), 1);
    // Without a key the agent cannot be built.
    assert!(CoinMarketCapSource::new(CoinMarketCapConfig::default()).is_err());
}

#[tokio::test]
async fn fear_greed_backfills_once_then_publishes_only_newer_readings() {
    let server = Server::start(vec![Reply::ok(fixture("fng.json"))]).await;
    let log = TestLog::new();
    let (ctx, _) = log.ctx("feargreed");
    let mut fg = FearGreedSource::new(FearGreedConfig {
        base_url: server.url.clone(),
        backfill: 30,
        http: http(0),
        ..FearGreedConfig::default()
    })
    .unwrap();
    assert_eq!(fg.poll_once(&ctx).await.unwrap().published, 2);
    assert!(server.requests.lock()[0].starts_with("GET /fng/?limit=30 "));
    let newer = br#"{"data": [{"value": "30", "value_classification": "Fear", "timestamp": "1748822400"}], "metadata": {"error": null}}"#;
    let same = br#"{"data": [{"value": "25", "value_classification": "Extreme Fear", "timestamp": "1748736000", "time_until_update": "10"}], "metadata": {"error": null}}"#;
    server.set_replies(vec![Reply::ok(same.to_vec()), Reply::ok(newer.to_vec())]);
    assert_eq!(fg.poll_once(&ctx).await.unwrap().published, 0);
    assert_eq!(fg.poll_once(&ctx).await.unwrap().published, 1);
    assert!(server.requests.lock()[1].starts_with("GET /fng/?limit=1 "));
    let values: Vec<i32> = log
        .read::<MarketSentiment>()
        .await
        .iter()
        .map(|s| s.value)
        .collect();
    assert_eq!(values, [40, 25, 30]);
}

#[tokio::test]
async fn news_publishes_each_article_once_across_restarts() {
    let rss = Server::start(vec![Reply::ok(fixture("feed_rss.xml"))]).await;
    let atom = Server::start(vec![Reply::ok(fixture("feed_atom.xml"))]).await;
    let empty = Server::start(vec![Reply::ok(fixture("feed_empty.xml"))]).await;
    let down = Server::start(vec![Reply::status(503)]).await;
    let log = TestLog::new();
    let state = log.dir.path().join("state");
    let feeds = [
        ("example", rss.url.as_str()),
        ("down", down.url.as_str()),
        ("atom", atom.url.as_str()),
        ("empty", empty.url.as_str()),
    ];
    let (ctx, status) = log.ctx("news");
    let mut agent = news(&feeds, &state);
    let report = agent.poll_once(&ctx).await.unwrap();
    // 3 RSS items (one undated) + 1 Atom entry; the item without title/link to the DLQ.
    assert_eq!(
        (report.published, report.rejected, report.failed),
        (4, 1, 1)
    );
    assert!(status.last_error().is_some());

    // A restart with a new client (so bodies are not skipped as identical) publishes nothing.
    drop(agent);
    let mut agent = news(&feeds, &state);
    assert_eq!(agent.seen_len(), 4);
    let report = agent.poll_once(&ctx).await.unwrap();
    assert_eq!(report.published, 0);

    let news: Vec<CryptoNews> = log.read().await;
    assert_eq!(news.len(), 4);
    let undated = news
        .iter()
        .find(|n| n.title == "An item without a date")
        .unwrap();
    assert_eq!(undated.published_at_ms, undated.fetched_at_ms);
    let dlq = log.dlq().await;
    assert!(dlq.iter().all(|d| d.original_topic == topics::NEWS));
    assert!(dlq[0].reason.contains("missing title or link"));
}

#[tokio::test]
async fn a_body_that_is_not_a_feed_goes_to_the_dlq() {
    let server = Server::start(vec![Reply::ok(b"{\"oops\": true}".to_vec())]).await;
    let log = TestLog::new();
    let (ctx, _) = log.ctx("news");
    let mut agent = news(&[("weird", server.url.as_str())], &log.dir.path().join("s"));
    let report = agent.poll_once(&ctx).await.unwrap();
    assert_eq!((report.published, report.rejected), (0, 1));
    let dlq = log.dlq().await;
    assert!(
        dlq[0].reason.starts_with("weird: not an RSS/Atom feed"),
        "{}",
        dlq[0].reason
    );
}
