//! Test plumbing: a scripted HTTP/1.1 server on 127.0.0.1:0, an embedded log in a tempdir,
//! and readers for what was published and dead-lettered.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use cryptoviz_producers::{Publisher, SourceContext, SourceStatus};
use cryptoviz_schemas::{DlqRecord, Message, topics};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A file of the project's own fixtures.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    std::fs::read(format!("{path}{name}")).unwrap()
}

/// A file of the recorded real data in `../shared/fixtures`, or `None` (with a message saying
/// the test is skipped) when that folder is absent.
pub(crate) fn shared(rel: &str) -> Option<Vec<u8>> {
    let dir = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures"
    ));
    if !dir.is_dir() {
        println!("skipped: shared fixtures not found at {}", dir.display());
        return None;
    }
    Some(std::fs::read(dir.join(rel)).unwrap())
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// Status, extra headers, body.
    Http(u16, Vec<(String, String)>, Vec<u8>),
    /// Accept and never answer.
    Hang,
}

impl Reply {
    pub(crate) fn ok(body: impl Into<Vec<u8>>) -> Self {
        Reply::Http(200, Vec::new(), body.into())
    }
    pub(crate) fn status(code: u16) -> Self {
        Reply::Http(code, Vec::new(), b"oops".to_vec())
    }
}

/// A server answering each request with the next scripted reply (the last one repeats).
pub(crate) struct Server {
    pub url: String,
    replies: Arc<Mutex<Vec<Reply>>>,
    hits: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub(crate) async fn start(replies: Vec<Reply>) -> Self {
        let replies = Arc::new(Mutex::new(replies));
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r, h, q) = (replies.clone(), hits.clone(), requests.clone());
        let url = listen(move |head| {
            q.lock().push(head.to_string());
            let n = h.fetch_add(1, Ordering::SeqCst);
            let replies = r.lock();
            replies[n.min(replies.len() - 1)].clone()
        })
        .await;
        Self {
            url,
            replies,
            hits,
            requests,
        }
    }

    /// Requests received so far.
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Replaces the script (the counter keeps running: replies are indexed from now on).
    pub(crate) fn set_replies(&self, replies: Vec<Reply>) {
        let n = self.hits();
        let mut script = vec![Reply::status(599); n];
        script.extend(replies);
        *self.replies.lock() = script;
    }
}

/// An HTTP/1.1 server on 127.0.0.1:0 answering each request by `handler(path with query)`;
/// returns its base URL and the paths requested so far.
pub(crate) async fn serve(
    handler: impl Fn(&str) -> Reply + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = paths.clone();
    let url = listen(move |head| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        seen.lock().push(path.clone());
        handler(&path)
    })
    .await;
    (url, paths)
}

/// The HTTP/1.1 server under [`Server`] and [`serve`], on 127.0.0.1:0: one request per
/// connection (answered with `Connection: close`), whose head `answer` turns into the reply.
/// Returns the base URL.
async fn listen(answer: impl Fn(&str) -> Reply + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let (code, headers, body) = match answer(&head) {
                    Reply::Http(code, headers, body) => (code, headers, body),
                    Reply::Hang => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                };
                let mut out = format!(
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let _ = stream.write_all(out.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

/// The value of `key` in the query of `path`.
pub(crate) fn query<'a>(path: &'a str, key: &str) -> Option<&'a str> {
    path.split_once('?')?
        .1
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// An embedded log in a tempdir.
pub(crate) struct TestLog {
    pub dir: tempfile::TempDir,
    pub log: Arc<EmbeddedLog>,
}

impl TestLog {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
        Self { dir, log }
    }

    pub(crate) fn ctx(&self, name: &str) -> (SourceContext, Arc<SourceStatus>) {
        let status = SourceStatus::new(name);
        let publisher = Publisher::new(self.log.clone(), name, status.clone());
        (
            SourceContext {
                shutdown: CancellationToken::new(),
                publisher,
            },
            status,
        )
    }

    /// Every record of `M`'s topic.
    pub(crate) async fn read<M: Message>(&self) -> Vec<M> {
        self.raw(M::TOPIC)
            .await
            .into_iter()
            .map(|v| cryptoviz_schemas::decode::<M>(&v).unwrap())
            .collect()
    }

    /// Every dead letter.
    pub(crate) async fn dlq(&self) -> Vec<DlqRecord> {
        self.read::<DlqRecord>().await
    }

    async fn raw(&self, topic: &str) -> Vec<Vec<u8>> {
        let log: &dyn Log = self.log.as_ref();
        if log.partition_count(topic).await.is_err() {
            return Vec::new();
        }
        let ends: u64 = log
            .offsets(topic)
            .await
            .unwrap()
            .iter()
            .map(|(s, e)| e - s)
            .sum();
        static GROUP: AtomicUsize = AtomicUsize::new(0);
        let group = format!("test-reader-{}", GROUP.fetch_add(1, Ordering::SeqCst));
        let mut consumer = log.subscribe(&group, &[topic]).await.unwrap();
        let mut out = Vec::new();
        let mut idle = 0;
        while (out.len() as u64) < ends && idle < 30 {
            let batch = consumer
                .poll(1000, Duration::from_millis(50))
                .await
                .unwrap();
            if batch.is_empty() {
                idle += 1;
            }
            out.extend(batch.into_iter().map(|r| r.value.to_vec()));
        }
        out
    }
}

/// Quick HTTP settings for tests: short timeout, no retries unless asked.
pub(crate) fn http(retries: u32) -> cryptoviz_producers::config::HttpConfig {
    cryptoviz_producers::config::HttpConfig {
        timeout: Duration::from_millis(500),
        max_response_bytes: 64 * 1024,
        retries,
        backoff: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(5),
        breaker_failures: 3,
        breaker_cooldown: Duration::from_millis(300),
    }
}

pub(crate) fn topics_all() -> [&'static str; 5] {
    topics::ALL
}
