//! News from RSS 2.0 and Atom feeds (parsed with `feed-rs`), one [`CryptoNews`] per article.
//!
//! Summaries are stripped of HTML and their entities decoded. An article is identified by its
//! `guid` / Atom `id`, else by its link without tracking parameters (`utm_*`, `fbclid`, …);
//! the keys already published are kept in `<state_dir>/news-seen.json`, written after each
//! publish, so a restart republishes nothing. An item without a date takes its fetch time
//! as `published_at` (it is news we would otherwise drop; it is at most one interval late).

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cryptoviz_schemas::{CryptoNews, topics};

use super::common::{self, Parsed, PollReport, Poller, Reject, RejectMemory};
use crate::config::NewsConfig;
use crate::http::HttpClient;
use crate::{Error, Result, SourceContext};

/// Source name of the agent (each record's `source` is its feed's name).
pub const SOURCE: &str = "news";

/// File name of the seen set inside the state directory.
pub const SEEN_FILE: &str = "news-seen.json";

/// Parses an RSS 2.0 or Atom body from feed `feed_name`. A body that is not a feed is rejected
/// whole; an item without a title or link alone. Every record's `fetched_at` is `now_ms`.
pub fn parse_feed(feed_name: &str, body: &[u8], now_ms: i64) -> Parsed<CryptoNews> {
    // No generated ids: an item without guid falls back to its cleaned link (see dedup_key).
    let parser = feed_rs::parser::Builder::new()
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = match parser.parse(body) {
        Ok(feed) => feed,
        Err(e) => {
            return Parsed::rejected(format!("{feed_name}: not an RSS/Atom feed ({e})"), body);
        }
    };
    let mut parsed = Parsed::default();
    for (i, entry) in feed.entries.into_iter().enumerate() {
        let title = entry
            .title
            .as_ref()
            .map(|t| collapse_ws(&decode_entities(&t.content)))
            .unwrap_or_default();
        let link = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(entry.links.first())
            .map(|l| canonical_link(&l.href))
            .unwrap_or_default();
        if title.is_empty() || link.is_empty() {
            let raw = format!(
                "{{\"id\":{:?},\"title\":{:?},\"link\":{:?}}}",
                entry.id, title, link
            );
            parsed.rejects.push(Reject::new(
                format!("{feed_name}: item {i}: missing title or link"),
                raw.as_bytes(),
            ));
            continue;
        }
        let guid = if entry.id.trim().is_empty() {
            link.clone()
        } else {
            entry.id.trim().to_string()
        };
        let summary = entry
            .summary
            .as_ref()
            .map(|t| t.content.as_str())
            .or_else(|| entry.content.as_ref().and_then(|c| c.body.as_deref()))
            .map(strip_html)
            .filter(|s| !s.is_empty());
        let published_at_ms = entry
            .published
            .or(entry.updated)
            .map_or(now_ms, |t| t.timestamp_millis());
        parsed.records.push(CryptoNews {
            guid,
            // Coin tagging (and sentiment) is the consumers' job: they tag on word
            // boundaries with case-sensitive tickers, for every producer alike.
            coins: Vec::new(),
            title,
            summary,
            link,
            source: feed_name.to_string(),
            published_at_ms,
            fetched_at_ms: now_ms,
            sentiment_score: None,
            sentiment_label: None,
        });
    }
    parsed
}

/// The deduplication key of an article: its guid (which falls back to the cleaned link).
pub fn dedup_key(news: &CryptoNews) -> String {
    format!("{}|{}", news.source, news.guid)
}

const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ref", "ref_src", "igshid", "yclid",
    "_hsenc", "_hsmi", "mkt_tok",
];

/// `url` without tracking query parameters (`utm_*`, `fbclid`, …) and without a fragment.
pub fn canonical_link(url: &str) -> String {
    let url = url.trim();
    let url = url.split('#').next().unwrap_or(url);
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or("").to_ascii_lowercase();
            !(name.starts_with("utm_") || TRACKING_PARAMS.contains(&name.as_str()))
        })
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// Plain text of an HTML fragment: tags removed (block tags become spaces), entities
/// decoded, whitespace collapsed. Content of `<script>`/`<style>` is dropped.
pub fn strip_html(html: &str) -> String {
    // Entity-escaped HTML (`&lt;p&gt;`) is decoded first so its tags are seen as tags.
    let html = if html.contains("&lt;") && !html.contains('<') {
        decode_entities(html)
    } else {
        html.to_string()
    };
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find('>') else {
            // A stray '<' is text.
            out.push_str(after);
            rest = "";
            break;
        };
        let tag = after[1..end].trim_start_matches('/').to_ascii_lowercase();
        rest = &after[end + 1..];
        for skip in ["script", "style"] {
            if tag.starts_with(skip) && !after[1..end].starts_with('/') {
                let close = format!("</{skip}");
                rest = match rest.to_ascii_lowercase().find(&close) {
                    Some(i) => rest[i..].find('>').map_or("", |j| &rest[i + j + 1..]),
                    None => "",
                };
            }
        }
        out.push(' ');
    }
    out.push_str(rest);
    collapse_ws(&decode_entities(&out))
}

/// Decodes HTML character references: named (the common ones) and numeric (`&#39;`,
/// `&#x2019;`). Unknown references are left as they are.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let decoded = after[1..]
            .find(';')
            .filter(|&semi| semi <= 10)
            .and_then(|semi| decode_one(&after[1..semi + 1]).map(|c| (c, semi + 2)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "hellip" => '…',
        "euro" => '€',
        "pound" => '£',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        _ => return None,
    })
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The keys of articles already published, bounded (oldest forgotten first) and persisted.
#[derive(Debug)]
pub struct SeenSet {
    path: PathBuf,
    capacity: usize,
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl SeenSet {
    /// Loads the set from `path` (empty when the file does not exist).
    pub fn load(path: impl Into<PathBuf>, capacity: usize) -> Result<Self> {
        let path = path.into();
        let order: VecDeque<String> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Config(format!("news seen set {}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => VecDeque::new(),
            Err(e) => {
                return Err(Error::Config(format!(
                    "news seen set {}: {e}",
                    path.display()
                )));
            }
        };
        let set = order.iter().cloned().collect();
        let mut seen = Self {
            path,
            capacity: capacity.max(1),
            order,
            set,
        };
        seen.trim();
        Ok(seen)
    }

    /// Whether `key` was seen.
    pub fn contains(&self, key: &str) -> bool {
        self.set.contains(key)
    }

    /// Number of keys remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Remembers `key`.
    pub fn insert(&mut self, key: String) {
        if self.set.insert(key.clone()) {
            self.order.push_back(key);
            self.trim();
        }
    }

    fn trim(&mut self) {
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    /// Writes the set atomically (temp file, fsync, rename).
    pub fn save(&self) -> Result<()> {
        let io = |e: std::io::Error| {
            Error::Config(format!("news seen set {}: {e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.order).unwrap_or_default();
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// The news agent: every feed each interval, only unseen articles published.
pub struct NewsSource {
    config: NewsConfig,
    http: HttpClient,
    rejected: RejectMemory,
    seen: SeenSet,
}

impl NewsSource {
    /// An agent for `config`, with its seen set in `state_dir`.
    pub fn new(config: NewsConfig, state_dir: &Path) -> Result<Self> {
        let http = HttpClient::new(&config.http)
            .map_err(|e| Error::Config(format!("sources.news.http: {e}")))?;
        let seen = SeenSet::load(state_dir.join(SEEN_FILE), config.seen_capacity)?;
        Ok(Self {
            config,
            http,
            rejected: RejectMemory::default(),
            seen,
        })
    }

    /// How many article keys are remembered.
    pub fn seen_len(&self) -> usize {
        self.seen.len()
    }

    async fn poll_feed(
        &mut self,
        ctx: &SourceContext,
        name: &str,
        url: &str,
    ) -> Result<PollReport> {
        let mut report = PollReport::default();
        let accept = [(
            "Accept",
            "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
        )];
        let fetched = common::fetch(
            &mut self.http,
            ctx,
            name,
            url,
            &accept,
            topics::NEWS,
            &mut report,
        )
        .await?;
        let Some(body) = fetched else {
            return Ok(report);
        };
        let now = cryptoviz_schemas::now_ms();
        let mut parsed = parse_feed(name, &body, now);
        self.rejected.filter(&mut parsed);
        let mut batch_keys = HashSet::new();
        parsed.records.retain(|n| {
            let key = dedup_key(n);
            !self.seen.contains(&key) && batch_keys.insert(key)
        });
        report.add(common::publish_parsed(ctx, &parsed, now).await?);
        // Invalid records were dead-lettered once: they count as seen too.
        for key in batch_keys {
            self.seen.insert(key);
        }
        if !parsed.records.is_empty() {
            self.seen.save()?;
        }
        Ok(report)
    }
}

impl Poller for NewsSource {
    const NAME: &'static str = SOURCE;

    /// The poll interval.
    fn interval(&self) -> Duration {
        self.config.interval
    }

    /// One round over every feed. A failing feed does not stop the others.
    async fn poll_once(&mut self, ctx: &SourceContext) -> Result<PollReport> {
        let mut report = PollReport::default();
        let mut first_error = None;
        for feed in self.config.feeds.clone() {
            if ctx.shutdown.is_cancelled() {
                break;
            }
            match self.poll_feed(ctx, &feed.name, &feed.url).await {
                Ok(r) => report.add(r),
                Err(e) => {
                    self.http.forget(&feed.url);
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    fn log_start(&self) {
        tracing::info!(
            feeds = self.config.feeds.len(),
            interval_s = self.interval().as_secs(),
            seen = self.seen.len(),
            "news agent started"
        );
    }
}
