//! `cryptoviz import`: real history from a file, through the log and the normal consumers.
//!
//! file ─▶ [`HistoryReader`] (a thread: parse + validate, line by line) ─▶ batches ─▶
//! [`Publisher`] (Avro, `crypto-prices`) ─▶ the price consumer group, run here concurrently,
//! until it has read every offset the import appended ─▶ windows drained into the store.
//!
//! So history is windowed by exactly the code that windows live ticks, and its progress is
//! committed like theirs: an interrupted import resumes, at the next `consume` or `run`, from
//! the committed offsets. A bad row is reported with its line number, dead-lettered to
//! `crypto-dlq` with the line as payload, and the import goes on; but when the first rows all
//! fail the same way (a field no line has), the import stops at once with the fix
//! ([`shared_error`]).

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use cryptoviz_consumers::measurements::ANALYTICS;
use cryptoviz_consumers::windows::RESOLUTIONS;
use cryptoviz_consumers::{ConsumerStats, PricePipeline};
use cryptoviz_log::{Committed, Log};
use cryptoviz_producers::sources::history::{Format, HistoryReader, RowError, Series};
use cryptoviz_producers::{Publisher, SourceStatus, publisher};
use cryptoviz_schemas::{CryptoPrice, DlqRecord, topics};
use cryptoviz_store::{Query, Store};
use tokio::sync::mpsc;

use crate::backends;
use crate::config::Config;

mod progress;
mod shared_error;
pub(crate) mod summary;

use progress::Progress;
use shared_error::FirstRows;
use summary::Totals;

/// Records per publish (one log append, one fsync): large batches keep the fsync cost per
/// record small.
const BATCH: usize = 20_000;

// The first rows are judged before any batch leaves the reader, so an error they all share
// stops the import before anything is published or dead-lettered.
const _: () = assert!(shared_error::SAME_ERROR_ROWS < BATCH as u64);

/// Bad rows kept for the summary (all of them go to the DLQ).
const BAD_ROWS_SHOWN: usize = 20;

/// Least consumer `flush_rows` during an import: a bulk load wants few, large store writes
/// (each write sorts its batch and becomes a file; fewer files also means less compaction).
const BULK_FLUSH_ROWS: usize = 500_000;

/// Least consumer `flush_interval` during an import, for the same reason.
const BULK_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// How long the consumer may read nothing, once the file is published, before the import
/// gives up waiting for it.
const STALL: Duration = Duration::from_secs(30);

/// The file formats, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// CSV `open_time,open,high,low,close,volume[,…]`, with or without a header; the time is
    /// ISO-8601 or epoch s/ms/µs.
    BinanceKlines,
    /// Headerless CSV `epoch,open,high,low,close,volume,trades` (Kraken's OHLCVT files).
    KrakenOhlcvt,
    /// One JSON price record per line, with the schema's field names; `timestamp` is RFC 3339
    /// or epoch ms.
    Jsonl,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::BinanceKlines => Format::BinanceKlines,
            FormatArg::KrakenOhlcvt => Format::KrakenOhlcvt,
            FormatArg::Jsonl => Format::Jsonl,
        }
    }
}

/// Flags of `cryptoviz import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Format of the file.
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// The file to import.
    pub file: PathBuf,
    /// Coin id of the candles, e.g. `bitcoin` (required for the CSV formats); for JSONL, the
    /// `crypto_id` of lines that have none.
    #[arg(
        long,
        required_if_eq_any = [("format", "binance-klines"), ("format", "kraken-ohlcvt")]
    )]
    pub coin: Option<String>,
    /// Source of the candles (default `binance` / `kraken`); for JSONL, the `source` of lines
    /// that have none.
    #[arg(long)]
    pub source: Option<String>,
    /// Ticker (default: the known coin's, e.g. `BTC`, else the coin id in upper case).
    #[arg(long)]
    pub symbol: Option<String>,
    /// Display name (default: the known coin's, e.g. `Bitcoin`, else the coin id).
    #[arg(long)]
    pub name: Option<String>,
    /// Only publish to the log; `cryptoviz consume` or `run` windows the records later.
    #[arg(long)]
    pub no_consume: bool,
}

/// One batch from the reader thread.
struct Chunk {
    records: Vec<CryptoPrice>,
    bad: Vec<RowError>,
    /// File bytes read so far.
    bytes_read: u64,
}

/// Imports `args.file`, then (unless `--no-consume`) windows it and prints a summary.
pub(crate) async fn import(mut config: Config, args: ImportArgs) -> anyhow::Result<()> {
    let format = Format::from(args.format);
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let series = series(format, &args);
    // The windows to count at the end: the candles' series, or every series for JSONL.
    let windows_of = format
        .is_candles()
        .then(|| (series.crypto_id.clone(), series.source.clone()));
    // Age retention judges segments by their records' event times, and imported history is
    // older than any retention: a pass during the import could delete it before it is read.
    config.log.retention = None;
    // Nobody watches the windows of an import appear: write in bulk. Commits follow each
    // acknowledged write as always, so an interrupted import replays at most one batch.
    config.consumer.flush_rows = config.consumer.flush_rows.max(BULK_FLUSH_ROWS);
    config.consumer.flush_interval = config.consumer.flush_interval.max(BULK_FLUSH_INTERVAL);
    let log = open_log(&config).await?;
    let started = Instant::now();
    let progress = Progress::new(size, !args.no_consume);
    let producer = {
        let (tx, rx) = mpsc::channel(4);
        let (recycle, recycled) = std::sync::mpsc::channel();
        let reader = std::thread::Builder::new()
            .name("import-reader".into())
            .spawn(move || read_file(file, format, series, tx, recycled))
            .context("cannot start the reader thread")?;
        let publisher = Publisher::new(log.clone(), "import", SourceStatus::new("import"));
        let log = log.clone();
        let progress = progress.clone();
        let label = args.file.display().to_string();
        tokio::spawn(async move {
            let totals =
                publish_all(&publisher, log.as_ref(), rx, recycle, &progress, &label).await;
            // The reader ends when the channel closes; its error (a read or format error)
            // says more than ours.
            match reader.join() {
                Ok(Ok(())) => totals,
                Ok(Err(e)) => Err(e.context(format!("cannot read {label}"))),
                Err(_) => bail!("the reader thread panicked"),
            }
        })
    };
    let (totals, consumed) = if args.no_consume {
        let totals = producer.await.context("publisher task")??;
        (totals, None)
    } else {
        let store = backends::open_store(&config).await?;
        let (totals, mut consumed) =
            consume(&config, &log, store.clone(), producer, &progress).await?;
        store.flush().await?;
        if let (Some(c), Some(span)) = (consumed.as_mut(), totals.span) {
            c.stored = stored_windows(store.as_ref(), span, windows_of.as_ref()).await?;
        }
        (totals, consumed)
    };
    log.flush().await?;
    progress.finish();
    let elapsed = started.elapsed();
    summary::print(&args.file, format, &totals, consumed.as_ref(), elapsed);
    if args.no_consume && totals.published > 0 {
        let closed = closed_until(log.as_ref(), &config.consumer.group).await?;
        summary::print_not_consumed(&totals, closed);
    }
    Ok(())
}

/// The series the rows are about, from the flags.
fn series(format: Format, args: &ImportArgs) -> Series {
    let source = args
        .source
        .as_deref()
        .or(format.default_source())
        .unwrap_or_default();
    match &args.coin {
        Some(coin) => Series::for_coin(coin, source, args.symbol.as_deref(), args.name.as_deref()),
        None => Series {
            crypto_id: String::new(),
            symbol: args.symbol.clone().unwrap_or_default(),
            name: args.name.clone().unwrap_or_default(),
            source: source.to_string(),
        },
    }
}

/// Opens the log, saying plainly when another process holds the data directory.
async fn open_log(config: &Config) -> anyhow::Result<Arc<dyn Log>> {
    backends::open_log(config).await.map_err(|e| {
        if let Some(cryptoviz_log::Error::Locked(dir)) = e.downcast_ref::<cryptoviz_log::Error>() {
            anyhow::anyhow!(
                "the log in {} is in use by another cryptoviz process (`cryptoviz run`?): \
                 stop it first, or import into another --data-dir",
                dir.display()
            )
        } else {
            e
        }
    })
}

/// The reader thread: parses `file` and sends batches until the end or until the publisher
/// hangs up. The publisher sends each batch's records back once they are in the log, and they
/// are parsed over again: their strings keep their allocations, so a line allocates nothing
/// (four strings per line allocated here and freed on another thread were a tenth of an
/// import's CPU).
fn read_file(
    file: File,
    format: Format,
    series: Series,
    tx: mpsc::Sender<Chunk>,
    recycled: std::sync::mpsc::Receiver<Vec<CryptoPrice>>,
) -> anyhow::Result<()> {
    let input = BufReader::with_capacity(1 << 20, file);
    let mut reader = HistoryReader::new(input, format, series, cryptoviz_schemas::now_ms());
    let new_chunk = || Chunk {
        records: recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH)),
        bad: Vec::new(),
        bytes_read: 0,
    };
    let mut chunk = new_chunk();
    let mut first_rows = FirstRows::default();
    // Records of `chunk.records` below `filled` are this batch's; those after it are spare.
    let mut filled = 0;
    loop {
        if filled == chunk.records.len() {
            chunk.records.push(CryptoPrice::default());
        }
        let row = reader.read_into(&mut chunk.records[filled]).transpose()?;
        let end = row.is_none();
        let shared = match &row {
            Some(row) => first_rows.row(row.as_ref().map(|_| ()), format),
            None => first_rows.end(format),
        };
        if let Some(error) = shared {
            bail!(error);
        }
        match row {
            Some(Ok(())) => filled += 1,
            Some(Err(bad)) => chunk.bad.push(bad),
            None => {}
        }
        if end || filled >= BATCH || chunk.bad.len() >= BATCH {
            chunk.records.truncate(filled);
            chunk.bytes_read = reader.bytes_read();
            let full = std::mem::replace(&mut chunk, new_chunk());
            filled = 0;
            if tx.blocking_send(full).is_err() || end {
                return Ok(());
            }
        }
    }
}

/// Publishes every batch the reader sends; bad rows go to the DLQ with their line.
async fn publish_all(
    publisher: &Publisher,
    log: &dyn Log,
    mut rx: mpsc::Receiver<Chunk>,
    recycle: std::sync::mpsc::Sender<Vec<CryptoPrice>>,
    progress: &Progress,
    label: &str,
) -> anyhow::Result<Totals> {
    let mut totals = Totals::default();
    while let Some(chunk) = rx.recv().await {
        let now = cryptoviz_schemas::now_ms();
        totals.rows += (chunk.records.len() + chunk.bad.len()) as u64;
        for r in &chunk.records {
            totals.span = Some(match totals.span {
                None => (r.timestamp_ms, r.timestamp_ms),
                Some((lo, hi)) => (lo.min(r.timestamp_ms), hi.max(r.timestamp_ms)),
            });
        }
        let report = publisher.publish(&chunk.records, now).await?;
        // Back to the reader, to be parsed over (it may have finished: then they drop here).
        let _ = recycle.send(chunk.records);
        totals.published += report.published as u64;
        totals.rejected += report.rejected as u64;
        if !chunk.bad.is_empty() {
            let dead: Vec<DlqRecord> = chunk
                .bad
                .iter()
                .map(|bad| DlqRecord {
                    original_topic: topics::PRICES.to_string(),
                    reason: format!("{label} line {}: {}", bad.line, bad.reason),
                    payload: bad.raw.clone().into_bytes(),
                    source: "import".to_string(),
                    timestamp_ms: now,
                })
                .collect();
            publisher::append_dlq(log, &dead).await?;
            totals.bad += chunk.bad.len() as u64;
            let room = BAD_ROWS_SHOWN.saturating_sub(totals.first_bad.len());
            totals.first_bad.extend(chunk.bad.into_iter().take(room));
        }
        progress.read(chunk.bytes_read, &totals);
    }
    Ok(totals)
}

/// Runs the price consumer while `producer` publishes, until it has read every offset of
/// `crypto-prices` there is once the producer is done, then drains its windows.
///
/// "Read everything" is seen as two empty polls in a row after the producer finished (the
/// first poll after joining may be empty: it only takes the assignment). It is then checked
/// against the committed checkpoints, which carry how far each partition was read; should a
/// partition still be behind, the consumer resumes from its commit for another pass.
async fn consume(
    config: &Config,
    log: &Arc<dyn Log>,
    store: Arc<dyn Store>,
    producer: tokio::task::JoinHandle<anyhow::Result<Totals>>,
    progress: &Progress,
) -> anyhow::Result<(Totals, Option<summary::Consumed>)> {
    let stats = Arc::new(ConsumerStats::default());
    let group = config.consumer.group.clone();
    let join = || {
        PricePipeline::new(
            log.clone(),
            store.clone(),
            config.consumer.clone(),
            stats.clone(),
        )
    };
    let mut pipeline = join().await?;
    let mut producer = Some(producer);
    let mut done: Option<(Totals, Vec<(u64, u64)>)> = None;
    let mut last_read = Instant::now();
    let mut empty_polls = 0;
    loop {
        let read = pipeline.step().await?;
        progress.consumed(stats.ticks());
        if read > 0 {
            last_read = Instant::now();
        }
        if producer.as_ref().is_some_and(|p| p.is_finished())
            && let Some(p) = producer.take()
        {
            match p.await.context("publisher task")? {
                Ok(totals) => {
                    tracing::info!(
                        rows = totals.rows,
                        published = totals.published,
                        bad = totals.bad,
                        consumed = stats.ticks(),
                        "file published"
                    );
                    progress.published(totals.published);
                    let ends = log.offsets(topics::PRICES).await?;
                    done = Some((totals, ends));
                }
                Err(e) => {
                    // Keep what was consumed so far: drain, then report the failure.
                    pipeline.finish().await?;
                    return Err(e);
                }
            }
        }
        let Some((_, ends)) = &done else { continue };
        empty_polls = if read == 0 { empty_polls + 1 } else { 0 };
        if empty_polls < 2 {
            continue;
        }
        // Emit the open windows (as `partial`), write everything and commit.
        pipeline.finish().await?;
        if caught_up(log.as_ref(), &group, ends).await? {
            tracing::info!(ticks = stats.ticks(), "consumer caught up with the log");
            break;
        }
        if last_read.elapsed() > STALL {
            bail!(
                "the consumer read nothing for {STALL:?} before reaching the end of {}; \
                 `cryptoviz consume --exit-when-idle 2s` resumes from where it stopped",
                topics::PRICES
            );
        }
        pipeline = join().await?;
        empty_polls = 0;
    }
    progress.consumed(stats.ticks());
    let s = stats.snapshot();
    let (totals, _) = done.expect("set before the loop ends");
    let consumed = summary::Consumed {
        ticks: s.ticks,
        windows: s.windows,
        late: s.late_rows,
        dead_letters: s.dead_letters,
        duplicates: s.duplicates,
        stored: Vec::new(),
    };
    Ok((totals, Some(consumed)))
}

/// Windows of each width in the store whose start falls in the imported span `(first, last)`
/// (ms), of the series `of` (`(crypto_id, source)`) or of every series.
async fn stored_windows(
    store: &dyn Store,
    (first, last): (i64, i64),
    of: Option<&(String, String)>,
) -> anyhow::Result<Vec<(&'static str, u64)>> {
    let mut counts = Vec::with_capacity(RESOLUTIONS.len());
    for (label, width_ms) in RESOLUTIONS {
        let start = first - first.rem_euclid(width_ms);
        let mut q = Query::new(ANALYTICS)
            .range(start * 1_000_000, (last + 1) * 1_000_000)
            .tag("window", label)
            .fields(["count"]);
        if let Some((coin, source)) = of {
            q = q.tag("crypto_id", coin).tag("source", source);
        }
        let rows = store
            .query(&q)
            .await?
            .iter()
            .map(|b| b.num_rows() as u64)
            .sum();
        counts.push((label, rows));
    }
    Ok(counts)
}

/// Part of the consumers' commit metadata (see `docs/architecture.md`, delivery guarantees).
#[derive(serde::Deserialize)]
struct Checkpoint {
    read_to: Option<u64>,
    closed_until: Option<i64>,
}

fn checkpoint(c: &Committed) -> Checkpoint {
    serde_json::from_str(&c.metadata).unwrap_or(Checkpoint {
        read_to: None,
        closed_until: None,
    })
}

/// Whether `group` has read every partition of `crypto-prices` up to `ends`. The committed
/// offset itself may stay behind (at the first tick of a window still open), so this reads
/// the `read_to` its checkpoint carries.
async fn caught_up(log: &dyn Log, group: &str, ends: &[(u64, u64)]) -> anyhow::Result<bool> {
    let committed = log.group_offsets(group, topics::PRICES).await?;
    Ok(ends.iter().enumerate().all(|(p, &(start, end))| {
        start >= end
            || committed
                .get(p)
                .and_then(Option::as_ref)
                .is_some_and(|c| checkpoint(c).read_to.unwrap_or(c.offset).max(c.offset) >= end)
    }))
}

/// The event time up to which `group` has closed windows, if it has.
async fn closed_until(log: &dyn Log, group: &str) -> anyhow::Result<Option<i64>> {
    let committed = log.group_offsets(group, topics::PRICES).await?;
    Ok(committed
        .iter()
        .flatten()
        .filter_map(|c| checkpoint(c).closed_until)
        .max())
}
