//! Exchange trades and their candles as points of `crypto_trades` and `crypto_trade_candles`
//! (declared in [`cryptoviz_measurements::trades`]).

use cryptoviz_measurements::trades::{TradeCandleRow, TradeRow, trade_offset_ns};
use cryptoviz_measurements::{Measurement, Nanos, Time};
use cryptoviz_schemas::CryptoTrade;
use cryptoviz_store::WriteBatch;

use super::analytics::StoredWindows;
use super::ms_to_ns;
use crate::Result;
use crate::measurements::TRADE_CANDLES;
use crate::windows::{EmittedWindow, TradeStats, side};

/// Trade candles: `crypto_trade_candles`, by `exchange`.
pub(crate) const TRADE_WINDOWS: StoredWindows = StoredWindows {
    measurement: TRADE_CANDLES,
    source_tag: "exchange",
};

/// The stored row of a trade: its point is its event time plus its id modulo a millisecond
/// (see [`cryptoviz_measurements::trades`]), so every trade of a millisecond is its own point
/// and a replay rewrites the same ones.
pub fn trade_row(t: &CryptoTrade) -> TradeRow {
    TradeRow {
        time: Time(ms_to_ns(t.event_time_ms).saturating_add(trade_offset_ns(t.trade_id))),
        crypto_id: t.crypto_id.clone(),
        exchange: t.exchange.clone(),
        symbol: t.symbol.clone(),
        quote: t.quote.clone(),
        trade_id: t.trade_id,
        price: t.price,
        quantity: t.quantity,
        side: side(t.side),
    }
}

/// The stored row of an emitted trade window whose prices are quoted in `quote`. The point's
/// time is the window's start, so re-emitting a window overwrites the same point.
pub fn candle_row(w: &EmittedWindow<TradeStats>, quote: &str) -> TradeCandleRow {
    let s = &w.stats;
    TradeCandleRow {
        time: Time::from_ms(w.start_ms),
        crypto_id: w.crypto_id.to_string(),
        exchange: w.source.to_string(),
        quote: quote.to_string(),
        window: w.window.to_string(),
        open: s.open,
        high: s.high,
        low: s.low,
        close: s.close,
        volume: s.volume,
        quote_volume: s.quote_volume,
        vwap: s.vwap,
        trades: s.trades as i64,
        taker_buy_volume: s.taker_buy_volume,
        taker_sell_volume: s.taker_sell_volume,
        window_end: Nanos::from_ms(w.end_ms),
        status: w.status,
    }
}

/// A `crypto_trades` batch (`None` when there are no trades).
pub fn trades_batch(rows: &[TradeRow]) -> Result<Option<WriteBatch>> {
    Ok(TradeRow::to_batch(rows)?)
}

/// A `crypto_trade_candles` batch (`None` when there are no rows).
pub fn candles_batch(rows: &[TradeCandleRow]) -> Result<Option<WriteBatch>> {
    Ok(TradeCandleRow::to_batch(rows)?)
}
