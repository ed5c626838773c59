//! The live stream over a real socket: a tick appended to the log reaches an SSE client within
//! 100 ms, a client resumes from `Last-Event-ID`, and an alert rule fires onto the stream and
//! to its webhook (retried after a failure).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cryptoviz_api::replays::{ReplayRunner, RunningReplay};
use cryptoviz_api::{AppState, start_live};
use cryptoviz_consumers::replay::{self, ReplaySpec};
use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log, Record};
use cryptoviz_schemas::{to_bytes, topics};
use cryptoviz_store::{EmbeddedStore, EmbeddedStoreConfig, Store};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

struct Server {
    base: String,
    log: Arc<EmbeddedLog>,
    state: AppState,
    cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

/// The consumers' replay, as the binary injects it.
struct ConsumerReplays;

impl ReplayRunner for ConsumerReplays {
    fn start(
        &self,
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        spec: ReplaySpec,
        cancel: CancellationToken,
    ) -> RunningReplay {
        let consumer = cryptoviz_consumers::ConsumerConfig::default();
        let (progress, done) = replay::start(log, store, consumer, spec, cancel);
        RunningReplay {
            progress: Box::new(progress),
            done: Box::pin(done),
        }
    }
}

async fn server() -> Server {
    let mut settings = common::settings();
    // The alert test's webhook listens on 127.0.0.1.
    settings.webhook_allowed_networks =
        cryptoviz_api::settings::Networks::parse(&["127.0.0.1"]).unwrap();
    server_with(settings).await
}

async fn server_with(settings: cryptoviz_api::ApiSettings) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
    log.ensure_topic(topics::PRICES, 3).await.unwrap();
    log.ensure_topic(topics::NEWS, 1).await.unwrap();
    let store = EmbeddedStore::open(EmbeddedStoreConfig::new(dir.path().join("store"))).unwrap();
    let state = AppState::new(Arc::new(store))
        .with_settings(settings)
        .unwrap()
        .with_log(log.clone(), Vec::new())
        .with_replays(Arc::new(ConsumerReplays));
    let cancel = CancellationToken::new();
    start_live(&state, &cancel);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = cancel.clone();
    tokio::spawn(cryptoviz_api::serve(listener, state.clone(), async move {
        stop.cancelled().await
    }));
    Server {
        base: format!("http://{addr}"),
        log,
        state,
        cancel,
        _dir: dir,
    }
}

async fn publish(log: &EmbeddedLog, coin: &str, price: f64) {
    let now = chrono::Utc::now().timestamp_millis();
    let tick = common::tick(coin, "TST", "simulated", price, 1e9, now);
    log.append(
        topics::PRICES,
        vec![Record {
            key: Some(Bytes::from(coin.to_string())),
            value: Bytes::from(to_bytes(&tick)),
            timestamp_ms: now,
        }],
    )
    .await
    .unwrap();
}

/// One SSE event: id, event name, data.
#[derive(Debug)]
struct Sse {
    id: Option<String>,
    event: String,
    data: String,
}

struct Reader {
    response: reqwest::Response,
    buf: String,
}

impl Reader {
    async fn open(base: &str, query: &str, last_id: Option<&str>) -> Reader {
        let mut request = reqwest::Client::new().get(format!("{base}/api/v1/stream?{query}"));
        if let Some(id) = last_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Reader {
            response,
            buf: String::new(),
        }
    }

    /// The next event (comments skipped), or None after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = Sse {
                    id: None,
                    event: "message".into(),
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_string();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        event.data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next price event for `coin`.
    async fn price_of(&mut self, coin: &str, wait: Duration) -> Option<(Sse, Value)> {
        let deadline = Instant::now() + wait;
        while let Some(e) = self
            .next(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            if e.event == "price" {
                let v: Value = serde_json::from_str(&e.data).unwrap();
                if v["id"] == coin {
                    return Some((e, v));
                }
            }
        }
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_reaches_the_stream_within_100_ms_and_a_client_resumes() {
    let s = server().await;
    let mut reader = Reader::open(&s.base, "topics=prices", None).await;
    // Warm up: the feed joins its group and seeks to the end before it forwards anything.
    let mut warm = false;
    for _ in 0..100 {
        publish(&s.log, "warmup", 1.0).await;
        if reader
            .price_of("warmup", Duration::from_millis(100))
            .await
            .is_some()
        {
            warm = true;
            break;
        }
    }
    assert!(warm, "the stream never delivered a tick");

    let mut worst = Duration::ZERO;
    let mut last_id = String::new();
    for i in 0..20 {
        publish(&s.log, "bitcoin", 100.0 + f64::from(i)).await;
        let published = Instant::now();
        let (event, tick) = reader
            .price_of("bitcoin", Duration::from_secs(2))
            .await
            .expect("the tick never arrived");
        worst = worst.max(published.elapsed());
        assert_eq!(tick["price_usd"], 100.0 + f64::from(i));
        last_id = event.id.unwrap();
    }
    assert!(
        worst < Duration::from_millis(100),
        "slowest tick took {worst:?}"
    );

    // Disconnect, miss two ticks, resume from the last id seen: exactly those two, in order.
    drop(reader);
    publish(&s.log, "bitcoin", 500.0).await;
    publish(&s.log, "ethereum", 600.0).await;
    let mut resumed = Reader::open(&s.base, "topics=prices", Some(&last_id)).await;
    let a = resumed.next(Duration::from_secs(2)).await.unwrap();
    let b = resumed.next(Duration::from_secs(2)).await.unwrap();
    let price = |e: &Sse| serde_json::from_str::<Value>(&e.data).unwrap()["price_usd"].clone();
    assert_eq!((price(&a), price(&b)), (json!(500.0), json!(600.0)));
    // An id from another run of the server: told to reload.
    let mut stale = Reader::open(&s.base, "topics=prices", Some("1-5")).await;
    assert_eq!(
        stale.next(Duration::from_secs(2)).await.unwrap().event,
        "reset"
    );
    s.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_fires_on_the_stream_and_to_its_webhook_with_retries() {
    // A webhook that fails once, then accepts.
    let hits = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(parking_lot::Mutex::new(Vec::<Value>::new()));
    let hook = {
        let (hits, received) = (hits.clone(), received.clone());
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::Json<Value>| {
                let (hits, received) = (hits.clone(), received.clone());
                async move {
                    if hits.fetch_add(1, Ordering::SeqCst) == 0 {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        received.lock().push(body.0);
                        axum::http::StatusCode::OK
                    }
                }
            }),
        )
    };
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = hook_listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(hook_listener, hook).await });

    let s = server().await;
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/alerts", s.base))
        .header("x-api-key", "test-key-123")
        .json(&json!({
            "kind": "price_above", "coin": "bitcoin", "threshold": 1000.0,
            "webhook_url": format!("http://{hook_addr}/hook"),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let rule: Value = created.json().await.unwrap();

    let mut reader = Reader::open(&s.base, "topics=alerts", None).await;
    // Below the threshold: nothing; above: one alert; still above: no second one.
    let mut fired = None;
    for _ in 0..50 {
        publish(&s.log, "bitcoin", 900.0).await;
        publish(&s.log, "bitcoin", 1200.0).await;
        publish(&s.log, "bitcoin", 1300.0).await;
        if let Some(e) = reader.next(Duration::from_millis(200)).await {
            fired = Some(e);
            break;
        }
    }
    let fired = fired.expect("the alert never fired");
    assert_eq!(fired.event, "alert");
    let alert: Value = serde_json::from_str(&fired.data).unwrap();
    assert_eq!(alert["rule_id"], rule["id"]);
    assert_eq!(alert["value"], 1200.0);
    let listed: Value = reqwest::get(format!("{}/api/v1/alerts/fired", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["count"].as_u64().unwrap() >= 1);
    // The webhook got it on the second attempt (after 1 s of backoff).
    let deadline = Instant::now() + Duration::from_secs(5);
    while received.lock().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(hits.load(Ordering::SeqCst) >= 2);
    assert_eq!(received.lock()[0]["rule_id"], rule["id"]);
    assert!(s.state.hub.published() > 0);
    // The dead letters are readable and replayable (with the key) through the same process.
    let letters: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/dlq", s.base))
        .header("x-api-key", "test-key-123")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(letters["count"], 0);
    let replay = reqwest::Client::new()
        .post(format!("{}/api/v1/dlq/replay", s.base))
        .header("x-api-key", "test-key-123")
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap()["scanned"], 0);
    s.cancel.cancel();
}

/// Appends `minutes` minutes of one tick per second for bitcoin, from `T0`.
async fn publish_history(log: &EmbeddedLog, minutes: i64) -> u64 {
    let mut records = Vec::new();
    for s in 0..minutes * 60 {
        let ts = common::T0 + s * 1_000;
        let tick = common::tick(
            "bitcoin",
            "BTC",
            "simulated",
            95_000.0 + (s % 7) as f64,
            1.9e12,
            ts,
        );
        records.push(Record {
            key: Some(Bytes::from_static(b"bitcoin")),
            value: Bytes::from(to_bytes(&tick)),
            timestamp_ms: ts,
        });
    }
    let n = records.len() as u64;
    log.append(topics::PRICES, records).await.unwrap();
    n
}

async fn replay_request(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", s.base))
        .header("x-api-key", "test-key-123");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls a replay job until it is no longer running.
async fn finished_job(s: &Server, id: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, job) = replay_request(
            s,
            reqwest::Method::GET,
            &format!("/api/v1/replays/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{job}");
        if job["state"] != "running" {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "replay {id} still running: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_run_as_jobs_that_report_progress_and_can_be_cancelled() {
    let s = server().await;
    let ticks = publish_history(&s.log, 10).await;
    let post = reqwest::Method::POST;

    // Without the key: refused. Bad bounds and topics: 400 naming them.
    let anonymous = reqwest::Client::new()
        .post(format!("{}/api/v1/replays", s.base))
        .json(&json!({"from": "beginning"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    for (body, param) in [
        (json!({"from": "yesterday"}), "from"),
        (json!({"from": "beginning", "to": "beginning"}), "to"),
        (json!({"from": "beginning", "topics": ["prices"]}), "topics"),
        (
            json!({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
            "to",
        ),
        (json!({"from": "beginning", "extra": 1}), "body"),
    ] {
        let (status, error) = replay_request(&s, post.clone(), "/api/v1/replays", Some(body)).await;
        assert_eq!(
            (status, error["error"]["param"].as_str()),
            (400, Some(param)),
            "{error}"
        );
    }

    // A replay starting after the last tick reads nothing until it gives up (2 s of quiet):
    // meanwhile a second one is refused, and a cancel stops it.
    let (status, idle) = replay_request(
        &s,
        post.clone(),
        "/api/v1/replays",
        Some(json!({"from": "2030-01-01T00:00:00Z", "topics": ["crypto-prices"]})),
    )
    .await;
    assert_eq!(status, 202, "{idle}");
    assert_eq!(idle["state"], "running");
    let (status, conflict) = replay_request(
        &s,
        post.clone(),
        "/api/v1/replays",
        Some(json!({"from": "beginning"})),
    )
    .await;
    assert_eq!(
        (status, conflict["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let idle_id = idle["id"].as_u64().unwrap();
    let (status, cancelling) = replay_request(
        &s,
        reqwest::Method::DELETE,
        &format!("/api/v1/replays/{idle_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(cancelling["cancel_requested"], true);
    let cancelled = finished_job(&s, idle_id).await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["progress"]["ticks"], 0);

    // A full replay: every tick read and stored, the windows rebuilt.
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/replays", s.base))
        .header("x-api-key", "test-key-123")
        .json(&json!({"from": "beginning", "topics": ["crypto-prices"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let job: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/replays/{}", job["id"]));
    let done = finished_job(&s, job["id"].as_u64().unwrap()).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["topics"], json!(["crypto-prices"]));
    assert_eq!(done["progress"]["kept"], ticks);
    assert_eq!(done["progress"]["ticks"], ticks);
    assert!(done["finished_at"].is_string());
    // Ten 1-minute windows (the last emitted on finishing), two 5-minute ones, one hour.
    let minutes = s
        .state
        .store
        .query(
            &cryptoviz_store::Query::new("crypto_analytics")
                .tag("crypto_id", "bitcoin")
                .tag("window", "1m"),
        )
        .await
        .unwrap();
    assert_eq!(minutes.iter().map(|b| b.num_rows()).sum::<usize>(), 10);
    assert!(
        done["progress"]["windows"].as_u64().unwrap() >= 13,
        "{done}"
    );

    // Listed newest first; unknown and malformed ids.
    let (status, list) = replay_request(&s, reqwest::Method::GET, "/api/v1/replays", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["count"], 2);
    assert_eq!(list["data"][0]["id"], job["id"]);
    let (status, _) = replay_request(&s, reqwest::Method::GET, "/api/v1/replays/999", None).await;
    assert_eq!(status, 404);
    let (status, error) = replay_request(&s, reqwest::Method::GET, "/api/v1/replays/x", None).await;
    assert_eq!(
        (status, error["error"]["param"].as_str()),
        (400, Some("id"))
    );
    s.cancel.cancel();
}

async fn get_with_key(s: &Server, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", s.base))
        .query(query)
        .header("x-api-key", "test-key-123")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_need_the_key_and_come_in_pages() {
    use cryptoviz_schemas::DlqRecord;
    let s = server().await;
    s.log.ensure_topic(topics::DLQ, 3).await.unwrap();
    let records: Vec<Record> = (0..25)
        .map(|i| {
            let ts = common::T0 + i * 1_000;
            let letter = DlqRecord {
                original_topic: topics::PRICES.into(),
                reason: format!("bad {i}"),
                payload: br#"{"crypto_id":"x"}"#.to_vec(),
                source: "test".into(),
                timestamp_ms: ts,
            };
            Record {
                key: Some(Bytes::from(format!("k{i}"))),
                value: Bytes::from(to_bytes(&letter)),
                timestamp_ms: ts,
            }
        })
        .collect();
    s.log.append(topics::DLQ, records).await.unwrap();

    // Without the key: nothing, not even the list.
    for path in ["/api/v1/dlq", "/api/v1/dlq/0:0"] {
        let status = reqwest::get(format!("{}{path}", s.base))
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "{path}");
    }
    // Pages of 10, newest first from page to page, oldest first within a page.
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut query = vec![("limit", "10")];
        if let Some(b) = &before {
            query.push(("before", b.as_str()));
        }
        let (status, page) = get_with_key(&s, "/api/v1/dlq", &query).await;
        assert_eq!(status, 200, "{page}");
        let reasons: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["reason"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(page["count"], reasons.len());
        pages.push(reasons);
        match page["next"].as_str() {
            Some(next) => before = Some(next.to_string()),
            None => break,
        }
        assert!(pages.len() < 10, "the pages never end");
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let all: Vec<String> = pages.into_iter().rev().flatten().collect();
    let expected: Vec<String> = (0..25).map(|i| format!("bad {i}")).collect();
    assert_eq!(all, expected);

    // One letter, with its payload.
    let (_, first) = get_with_key(&s, "/api/v1/dlq", &[("limit", "1")]).await;
    let id = first["data"][0]["id"].as_str().unwrap().to_string();
    let (status, letter) = get_with_key(&s, &format!("/api/v1/dlq/{id}"), &[]).await;
    assert_eq!(status, 200, "{letter}");
    assert_eq!(letter["reason"], "bad 24");
    assert_eq!(letter["payload"], r#"{"crypto_id":"x"}"#);
    let (status, _) = get_with_key(&s, "/api/v1/dlq/2:999", &[]).await;
    assert_eq!(status, 404);
    let (status, body) = get_with_key(&s, "/api/v1/dlq", &[("before", "7:1")]).await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("before"))
    );
    s.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_clients_are_capped_per_client_address() {
    let mut settings = common::settings();
    settings.stream_max_clients_per_ip = 2;
    // The test client plays a proxy forwarding two viewers.
    settings.trusted_proxies = cryptoviz_api::settings::Networks::parse(&["127.0.0.1"]).unwrap();
    let s = server_with(settings).await;
    let open = |viewer: &'static str| {
        reqwest::Client::new()
            .get(format!("{}/api/v1/stream?topics=prices", s.base))
            .header("x-forwarded-for", viewer)
            .send()
    };
    let first = open("203.0.113.1").await.unwrap();
    let _second = open("203.0.113.1").await.unwrap();
    assert_eq!(
        (first.status().as_u16(), _second.status().as_u16()),
        (200, 200)
    );
    let third = open("203.0.113.1").await.unwrap();
    assert_eq!(third.status(), 429);
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_clients");
    // Another viewer behind the same proxy has its own share.
    assert_eq!(open("203.0.113.2").await.unwrap().status(), 200);
    // A stream that closes gives its slot back (noticed at the next event written to it).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        publish(&s.log, "bitcoin", 100.0).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let again = open("203.0.113.1").await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's slot never came back"
        );
    }
    s.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_idle_connection_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut settings = common::settings();
    settings.header_read_timeout = Duration::from_millis(300);
    let s = server_with(settings).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    // Reads until the server closes the connection (at most 5 s); what it sent and when.
    async fn until_closed(tcp: &mut tokio::net::TcpStream) -> (String, Option<Instant>) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return Instant::now(),
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await
        .ok();
        (String::from_utf8_lossy(&seen).into_owned(), closed)
    }
    // Half a request head, then nothing (a slowloris).
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (_, closed) = until_closed(&mut slow).await;
    let closed = closed.expect("the server kept a half-sent request open");
    assert!(closed - started < Duration::from_secs(3));
    // A whole request, answered, then an idle keep-alive connection.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (seen, closed) = until_closed(&mut idle).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(closed.is_some(), "the server kept an idle connection open");
    s.cancel.cancel();
}
