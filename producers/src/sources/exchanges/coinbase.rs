//! Coinbase Exchange: the `matches` channel (with `last_match`, the trade just before the
//! first match of a subscription) and `heartbeat` (each second per product, carrying
//! `last_trade_id`), and `/products/{id}/trades?after=` to fill gaps.
//!
//! Every number is a string; `side` is the **maker's** side, so the taker's is the other one;
//! `trade_id` is contiguous per product. REST pages come newest first: `after=N` returns the
//! trades below id N.

use cryptoviz_schemas::TakerSide;
use serde::Deserialize;
use serde_json::Value;

use super::{Event, Exchange, Gap, HistoryPage, Market, Markets, Protocol, decimal, trade};
use crate::sources::common::rfc3339_ms;

/// Coinbase Exchange.
#[derive(Debug, Clone, Copy, Default)]
pub struct Coinbase;

/// Most trades one history page returns.
const PAGE: u64 = 1000;

#[derive(Deserialize)]
struct Match {
    trade_id: i64,
    #[serde(default)]
    product_id: String,
    price: String,
    size: String,
    side: String,
    time: String,
}

fn taker_side(maker_side: &str) -> Result<TakerSide, String> {
    match maker_side {
        "sell" => Ok(TakerSide::Buy),
        "buy" => Ok(TakerSide::Sell),
        other => Err(format!("side {other:?} is neither buy nor sell")),
    }
}

fn to_trade(
    m: Match,
    market: &Market,
    received_ms: i64,
) -> Result<cryptoviz_schemas::CryptoTrade, String> {
    let time = rfc3339_ms(&m.time).ok_or_else(|| format!("time {:?} is not RFC 3339", m.time))?;
    Ok(trade(
        Exchange::Coinbase,
        market,
        m.trade_id,
        decimal("price", &m.price)?,
        decimal("size", &m.size)?,
        taker_side(&m.side)?,
        time,
        received_ms,
    ))
}

impl Protocol for Coinbase {
    const EXCHANGE: Exchange = Exchange::Coinbase;

    fn subscribe(markets: &Markets) -> Vec<String> {
        let products: Vec<&str> = markets.iter().map(|m| m.symbol.as_str()).collect();
        vec![
            serde_json::json!({
                "type": "subscribe",
                "product_ids": products,
                "channels": ["matches", "heartbeat"],
            })
            .to_string(),
        ]
    }

    fn parse(text: &str, markets: &Markets, received_ms: i64) -> Result<Vec<Event>, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "match" | "last_match" => {
                let m = Match::deserialize(&value)
                    .map_err(|e| format!("{kind} of the wrong shape: {e}"))?;
                let market = markets
                    .get(&m.product_id)
                    .ok_or_else(|| format!("{kind} of unsubscribed product {}", m.product_id))?;
                Ok(vec![Event::Trades(vec![to_trade(m, market, received_ms)?])])
            }
            "heartbeat" => {
                let symbol = value.get("product_id").and_then(Value::as_str);
                let id = value.get("last_trade_id").and_then(Value::as_i64);
                match (symbol, id) {
                    (Some(symbol), Some(trade_id)) if markets.get(symbol).is_some() => {
                        Ok(vec![Event::LastTradeId {
                            symbol: symbol.to_string(),
                            trade_id,
                        }])
                    }
                    _ => Ok(vec![Event::Other]),
                }
            }
            "subscriptions" => Ok(vec![Event::Subscribed(text.to_string())]),
            "error" => {
                let message = value.get("message").and_then(Value::as_str).unwrap_or("");
                let reason = value.get("reason").and_then(Value::as_str).unwrap_or("");
                Ok(vec![Event::SubscriptionError(
                    format!("{message} {reason}").trim().to_string(),
                )])
            }
            _ => Ok(vec![Event::Other]),
        }
    }

    fn history_url(rest_url: &str, market: &Market, gap: &Gap, cursor: Option<&str>) -> String {
        // Newest first: start just above the gap and walk down.
        let after = cursor
            .and_then(|c| c.parse::<i64>().ok())
            .unwrap_or(gap.last + 1);
        let limit = ((after - gap.first).max(1) as u64).min(PAGE);
        format!(
            "{rest_url}/products/{}/trades?after={after}&limit={limit}",
            market.rest_symbol
        )
    }

    fn parse_history(
        body: &[u8],
        market: &Market,
        received_ms: i64,
    ) -> Result<HistoryPage, String> {
        let rows: Vec<Match> =
            super::history_rows(body, |v| v.get("message").map(Value::to_string))?;
        let mut page = HistoryPage::default();
        for row in rows {
            page.trades.push(to_trade(row, market, received_ms)?);
        }
        // The next page holds the trades below the oldest of this one.
        page.next = page
            .trades
            .iter()
            .map(|t| t.trade_id)
            .min()
            .map(|id| id.to_string());
        Ok(page)
    }
}
