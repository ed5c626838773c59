//! Binance spot: the combined stream's `<symbol>@trade` (every message `{stream, data}`), and
//! `/api/v3/historicalTrades?fromId=` (keyless, weight 25) to fill gaps by trade id.
//!
//! A trade: `t` trade id (contiguous per symbol), `p`/`q` decimal strings, `T` trade time in
//! ms, `m` = the buyer is the maker, so the taker sold. `M` is ignored.

use cryptoviz_schemas::TakerSide;
use serde::Deserialize;
use serde_json::Value;

use super::{Event, Exchange, Gap, HistoryPage, Market, Markets, Protocol, decimal, trade};

/// Binance spot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binance;

/// Most trades one history page returns.
const PAGE: u64 = 1000;

#[derive(Deserialize)]
struct WsTrade {
    #[serde(rename = "s")]
    symbol: String,
    #[serde(rename = "t")]
    id: i64,
    #[serde(rename = "p")]
    price: String,
    #[serde(rename = "q")]
    quantity: String,
    #[serde(rename = "T")]
    time: i64,
    #[serde(rename = "m")]
    buyer_is_maker: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestTrade {
    id: i64,
    price: String,
    qty: String,
    time: i64,
    is_buyer_maker: bool,
}

fn side(buyer_is_maker: bool) -> TakerSide {
    if buyer_is_maker {
        TakerSide::Sell
    } else {
        TakerSide::Buy
    }
}

impl Protocol for Binance {
    const EXCHANGE: Exchange = Exchange::Binance;

    fn subscribe(markets: &Markets) -> Vec<String> {
        let params: Vec<String> = markets
            .iter()
            .map(|m| format!("{}@trade", m.symbol.to_ascii_lowercase()))
            .collect();
        vec![serde_json::json!({"method": "SUBSCRIBE", "params": params, "id": 1}).to_string()]
    }

    fn parse(text: &str, markets: &Markets, received_ms: i64) -> Result<Vec<Event>, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        // The reply to SUBSCRIBE: `{"result":null,"id":1}` or `{"error":{code,msg},"id":1}`.
        if let Some(error) = value.get("error") {
            return Ok(vec![Event::SubscriptionError(error.to_string())]);
        }
        if value.get("id").is_some() && value.get("result").is_some() {
            return Ok(vec![Event::Subscribed(text.to_string())]);
        }
        // Combined stream `{stream, data}`; a raw stream sends `data` alone.
        let data = value.get("data").unwrap_or(&value);
        match data.get("e").and_then(Value::as_str) {
            Some("trade") => {}
            _ => return Ok(vec![Event::Other]),
        }
        let t = WsTrade::deserialize(data).map_err(|e| format!("trade of the wrong shape: {e}"))?;
        let market = markets
            .get(&t.symbol)
            .ok_or_else(|| format!("trade of unsubscribed symbol {}", t.symbol))?;
        Ok(vec![Event::Trades(vec![trade(
            Exchange::Binance,
            market,
            t.id,
            decimal("p", &t.price)?,
            decimal("q", &t.quantity)?,
            side(t.buyer_is_maker),
            t.time,
            received_ms,
        )])])
    }

    fn history_url(rest_url: &str, market: &Market, gap: &Gap, cursor: Option<&str>) -> String {
        let from = cursor
            .and_then(|c| c.parse::<i64>().ok())
            .unwrap_or(gap.first);
        let limit = ((gap.last - from + 1).max(1) as u64).min(PAGE);
        format!(
            "{rest_url}/api/v3/historicalTrades?symbol={}&fromId={from}&limit={limit}",
            market.rest_symbol
        )
    }

    fn parse_history(
        body: &[u8],
        market: &Market,
        received_ms: i64,
    ) -> Result<HistoryPage, String> {
        let rows: Vec<RestTrade> = super::history_rows(body, |v| {
            let code = v.get("code").cloned().unwrap_or_default();
            v.get("msg").map(|msg| format!("{code} {msg}"))
        })?;
        let mut page = HistoryPage::default();
        for r in rows {
            page.trades.push(trade(
                Exchange::Binance,
                market,
                r.id,
                decimal("price", &r.price)?,
                decimal("qty", &r.qty)?,
                side(r.is_buyer_maker),
                r.time,
                received_ms,
            ));
        }
        // Pages run forward: the next one starts after the newest id.
        page.next = page
            .trades
            .iter()
            .map(|t| t.trade_id)
            .max()
            .map(|id| (id + 1).to_string());
        Ok(page)
    }
}
