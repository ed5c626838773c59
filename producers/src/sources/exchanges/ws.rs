//! The WebSocket client of the exchange sources: TLS by rustls (ring, webpki roots), a ping
//! every `ping_interval`, and a stale timeout — no frame at all for `stale_timeout` and the
//! connection is given up (a half-open TCP connection otherwise looks alive forever).
//! Pings from the exchange are answered by tungstenite as frames are read.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// Why a connection ended or could not start. All of them are retried with back-off.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// No connection within the connect timeout.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// Connect, TLS or WebSocket handshake failed.
    #[error("connect failed: {0}")]
    Connect(String),
    /// No frame for the stale timeout.
    #[error("no message for {0:?}: connection stale")]
    Stale(Duration),
    /// The exchange closed the connection.
    #[error("closed by the exchange{}", .0.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
    /// The connection broke (I/O or protocol error).
    #[error("connection lost: {0}")]
    Lost(String),
}

/// How a connection keeps itself honest.
#[derive(Debug, Clone, Copy)]
pub struct WsTimings {
    /// Longest connect.
    pub connect_timeout: Duration,
    /// Ping period.
    pub ping_interval: Duration,
    /// Longest silence.
    pub stale_timeout: Duration,
}

/// TLS for `wss://`: the ring provider named here rather than picked from crate features at
/// run time, and the webpki root certificates.
static TLS: LazyLock<Arc<rustls::ClientConfig>> = LazyLock::new(|| {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        // The ring provider supports the default versions: this cannot fail.
        .unwrap_or_else(|e| panic!("rustls set-up: {e}"));
    Arc::new(config)
});

/// One open WebSocket connection.
pub struct WsConnection {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    timings: WsTimings,
    last_frame: Instant,
    next_ping: Instant,
}

impl WsConnection {
    /// Connects to `url` (`ws://` or `wss://`) within the connect timeout.
    pub async fn connect(url: &str, timings: WsTimings) -> Result<Self, WsError> {
        let connector = url
            .starts_with("wss://")
            .then(|| Connector::Rustls(TLS.clone()));
        let connect = tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector);
        let (stream, _response) = tokio::time::timeout(timings.connect_timeout, connect)
            .await
            .map_err(|_| WsError::ConnectTimeout(timings.connect_timeout))?
            .map_err(|e| WsError::Connect(e.to_string()))?;
        let now = Instant::now();
        Ok(Self {
            stream,
            timings,
            last_frame: now,
            next_ping: now + timings.ping_interval,
        })
    }

    /// Sends a text frame.
    pub async fn send(&mut self, text: String) -> Result<(), WsError> {
        self.stream
            .send(Message::text(text))
            .await
            .map_err(|e| WsError::Lost(e.to_string()))
    }

    /// The next text frame. Pings and pongs count as signs of life; our own ping goes out on
    /// schedule; silence past the stale timeout is an error.
    pub async fn next_text(&mut self) -> Result<String, WsError> {
        loop {
            let stale_at = self.last_frame + self.timings.stale_timeout;
            let wake = stale_at.min(self.next_ping);
            let frame = tokio::select! {
                frame = self.stream.next() => frame,
                _ = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    if now >= stale_at {
                        return Err(WsError::Stale(self.timings.stale_timeout));
                    }
                    self.next_ping = now + self.timings.ping_interval;
                    self.stream
                        .send(Message::Ping(Default::default()))
                        .await
                        .map_err(|e| WsError::Lost(e.to_string()))?;
                    continue;
                }
            };
            self.last_frame = Instant::now();
            match frame {
                None => return Err(WsError::Closed(None)),
                Some(Err(e)) => return Err(WsError::Lost(e.to_string())),
                Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
                Some(Ok(Message::Binary(bytes))) => match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => return Ok(text),
                    Err(_) => return Err(WsError::Lost("binary frame is not UTF-8".into())),
                },
                Some(Ok(Message::Close(frame))) => {
                    return Err(WsError::Closed(
                        frame.map(|f| format!("{} {}", u16::from(f.code), f.reason)),
                    ));
                }
                Some(Ok(_)) => continue, // ping (answered by tungstenite), pong, raw frame
            }
        }
    }

    /// Closes politely (best effort).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.stream.close(None)).await;
    }
}
