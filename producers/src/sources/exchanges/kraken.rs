//! Kraken WebSocket v2: the `trade` channel, and `/0/public/Trades?since=` to fill gaps.
//!
//! v2 sends prices and quantities as JSON numbers (`0.00005100`, trailing zeros kept); trades
//! are plain f64 here (the book checksum, which needs the text, is not used). `side` is the
//! taker's; `trade_id` is contiguous per symbol and the same id space as the REST history's
//! seventh field. The REST history pages by time (`since`, then the answer's `last`, in ns),
//! so a gap is fetched from the time of the trade before it and kept by id.

use cryptoviz_schemas::TakerSide;
use serde::Deserialize;
use serde_json::Value;

use super::{Event, Exchange, Gap, HistoryPage, Market, Markets, Protocol, history_json, trade};
use crate::sources::common::rfc3339_ms;

/// Kraken spot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kraken;

#[derive(Deserialize)]
struct WsTrade {
    symbol: String,
    side: String,
    price: f64,
    qty: f64,
    trade_id: i64,
    timestamp: String,
}

fn side(text: &str) -> Result<TakerSide, String> {
    match text {
        "buy" | "b" => Ok(TakerSide::Buy),
        "sell" | "s" => Ok(TakerSide::Sell),
        other => Err(format!("side {other:?} is neither buy nor sell")),
    }
}

impl Protocol for Kraken {
    const EXCHANGE: Exchange = Exchange::Kraken;

    fn subscribe(markets: &Markets) -> Vec<String> {
        let symbols: Vec<&str> = markets.iter().map(|m| m.symbol.as_str()).collect();
        vec![
            serde_json::json!({
                "method": "subscribe",
                "params": {"channel": "trade", "symbol": symbols, "snapshot": false},
                "req_id": 1,
            })
            .to_string(),
        ]
    }

    fn parse(text: &str, markets: &Markets, received_ms: i64) -> Result<Vec<Event>, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if let Some(method) = value.get("method").and_then(Value::as_str) {
            if method != "subscribe" {
                return Ok(vec![Event::Other]); // pong, unsubscribe
            }
            return Ok(vec![
                if value.get("success").and_then(Value::as_bool) == Some(true) {
                    Event::Subscribed(
                        value
                            .get("result")
                            .map(Value::to_string)
                            .unwrap_or_default(),
                    )
                } else {
                    let error = value
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("refused");
                    let symbol = value.get("symbol").and_then(Value::as_str).unwrap_or("");
                    Event::SubscriptionError(format!("{error} {symbol}").trim().to_string())
                },
            ]);
        }
        if value.get("channel").and_then(Value::as_str) != Some("trade") {
            return Ok(vec![Event::Other]); // heartbeat, status, book
        }
        let rows = value
            .get("data")
            .map(Vec::<WsTrade>::deserialize)
            .transpose()
            .map_err(|e| format!("trade data of the wrong shape: {e}"))?
            .unwrap_or_default();
        let mut trades = Vec::with_capacity(rows.len());
        for t in rows {
            let market = markets
                .get(&t.symbol)
                .ok_or_else(|| format!("trade of unsubscribed symbol {}", t.symbol))?;
            let time = rfc3339_ms(&t.timestamp)
                .ok_or_else(|| format!("timestamp {:?} is not RFC 3339", t.timestamp))?;
            trades.push(trade(
                Exchange::Kraken,
                market,
                t.trade_id,
                t.price,
                t.qty,
                side(&t.side)?,
                time,
                received_ms,
            ));
        }
        Ok(vec![Event::Trades(trades)])
    }

    fn history_url(rest_url: &str, market: &Market, gap: &Gap, cursor: Option<&str>) -> String {
        // From the second of the trade before the gap (ids before it are dropped).
        let since = cursor
            .map(str::to_string)
            .unwrap_or_else(|| (gap.after_time_ms.div_euclid(1000)).to_string());
        format!(
            "{rest_url}/0/public/Trades?pair={}&since={since}&count=1000",
            market.rest_symbol
        )
    }

    fn parse_history(
        body: &[u8],
        market: &Market,
        received_ms: i64,
    ) -> Result<HistoryPage, String> {
        let value = history_json(body, |v| {
            v.get("error")
                .filter(|e| e.as_array().is_some_and(|e| !e.is_empty()))
                .map(Value::to_string)
        })?;
        let result = value
            .get("result")
            .and_then(Value::as_object)
            .ok_or("history: no `result` object")?;
        let mut page = HistoryPage {
            trades: Vec::new(),
            next: match result.get("last") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
        };
        // The rows sit under the pair's Kraken name (`XXBTZUSD` for `XBTUSD`): the key that
        // is not `last`.
        let rows = result
            .iter()
            .find(|(k, _)| k.as_str() != "last")
            .and_then(|(_, v)| v.as_array())
            .ok_or("history: no trade rows")?;
        for (i, row) in rows.iter().enumerate() {
            let cell = |n: usize| {
                row.get(n)
                    .ok_or_else(|| format!("history: row {i} has no field {n}"))
            };
            let price =
                history_number(cell(0)?).ok_or_else(|| format!("history: row {i}: bad price"))?;
            let quantity =
                history_number(cell(1)?).ok_or_else(|| format!("history: row {i}: bad volume"))?;
            let time_s =
                history_number(cell(2)?).ok_or_else(|| format!("history: row {i}: bad time"))?;
            let taker = side(cell(3)?.as_str().unwrap_or(""))?;
            let id = cell(6)?
                .as_i64()
                .ok_or_else(|| format!("history: row {i}: no trade id (old 6-field format)"))?;
            page.trades.push(trade(
                Exchange::Kraken,
                market,
                id,
                price,
                quantity,
                taker,
                // Through whole microseconds, as the WebSocket writes them: the float's
                // last digits must not move a trade across a millisecond.
                ((time_s * 1e6).round() / 1000.0).floor() as i64,
                received_ms,
            ));
        }
        Ok(page)
    }
}

fn history_number(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}
