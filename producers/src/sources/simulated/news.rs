//! Plausible headlines for the simulated market, chosen from the coin's recent move.

use super::coins::CoinSpec;

/// A generated headline and its summary.
pub(super) struct Headline {
    pub title: String,
    pub summary: String,
}

const BULLISH: &[&str] = &[
    "{name} ({symbol}) rallies {abs}% as buyers return",
    "{name} surges {abs}% in an hour amid strong inflows",
    "Analysts turn bullish on {symbol} after a {abs}% gain",
    "{symbol} breaks resistance, up {abs}% on heavy volume",
];
const BEARISH: &[&str] = &[
    "{name} ({symbol}) slides {abs}% as sellers take control",
    "{symbol} drops {abs}% amid liquidations across exchanges",
    "Traders fear further losses after {name} falls {abs}%",
    "{name} tumbles {abs}% as market sentiment sours",
];
const NEUTRAL: &[&str] = &[
    "{name} ({symbol}) trades sideways ahead of key data",
    "{symbol} holds steady as volumes thin out",
    "Developers publish a roadmap update for {name}",
    "{name} network activity unchanged this week",
];

/// A headline for `coin` given its 1 h change in percent; `draw` and `template` are uniform
/// numbers in [0, 1) from the market's generator.
pub(super) fn headline(coin: &CoinSpec, change_pct: f64, draw: f64, template: f64) -> Headline {
    // Mostly follow the move, sometimes not (news is noisy).
    let mood = if draw < 0.2 { 0.0 } else { change_pct };
    let templates = if mood > 0.5 {
        BULLISH
    } else if mood < -0.5 {
        BEARISH
    } else {
        NEUTRAL
    };
    let pick = templates[((template * templates.len() as f64) as usize).min(templates.len() - 1)];
    let title = pick
        .replace("{name}", &coin.name)
        .replace("{symbol}", &coin.symbol)
        .replace("{abs}", &format!("{:.1}", change_pct.abs()));
    let summary = format!(
        "{} is {} {:.2}% over the past hour according to simulated market data.",
        coin.name,
        if change_pct >= 0.0 { "up" } else { "down" },
        change_pct.abs()
    );
    Headline { title, summary }
}
