//! The valence lexicon: finance and crypto terms, phrases, negators, intensifiers.
//!
//! Valences follow VADER's scale (about ±1 mild to ±3 extreme). The lists are written for
//! market headlines: "crash", "exploit" and "rug pull" are strongly negative, "all-time high"
//! and "ETF approval" strongly positive; words such as "update", "upgrade" or "record" carry
//! no valence of their own ("record" intensifies: "record inflows", "record losses").

use std::collections::HashMap;
use std::sync::LazyLock;

/// Phrases (space-separated tokens) with their valence; matched before single words, longest
/// first, and their words are not counted again.
const PHRASES: &[(&str, f64)] = &[
    ("all time high", 3.0),
    ("all time highs", 3.0),
    ("record high", 2.5),
    ("record highs", 2.5),
    ("new high", 2.0),
    ("new highs", 2.0),
    ("etf approval", 3.0),
    ("etf approved", 3.0),
    ("green light", 2.0),
    ("goes live", 1.2),
    ("go live", 1.2),
    ("bull run", 2.0),
    ("bull market", 2.0),
    ("golden cross", 2.0),
    ("short squeeze", 1.2),
    ("rug pull", -3.2),
    ("rug pulls", -3.2),
    ("pull the rug", -3.2),
    ("pulled the rug", -3.2),
    ("all time low", -2.5),
    ("record low", -2.2),
    ("record lows", -2.2),
    ("sell off", -2.0),
    ("wiped out", -2.2),
    ("under pressure", -1.5),
    ("red flag", -1.8),
    ("red flags", -1.8),
    ("bear market", -2.0),
    ("death cross", -2.0),
    ("flash crash", -3.0),
    ("bank run", -2.5),
    ("cease and desist", -2.0),
    ("class action", -2.0),
    ("ponzi scheme", -3.2),
    ("exit scam", -3.2),
];

const WORDS: &[(&str, f64)] = &[
    // Price moves, up.
    ("surge", 2.5),
    ("surges", 2.5),
    ("surged", 2.5),
    ("surging", 2.5),
    ("soar", 2.5),
    ("soars", 2.5),
    ("soared", 2.5),
    ("soaring", 2.5),
    ("skyrocket", 3.0),
    ("skyrockets", 3.0),
    ("skyrocketed", 3.0),
    ("rally", 2.2),
    ("rallies", 2.2),
    ("rallied", 2.2),
    ("rallying", 2.2),
    ("jump", 1.8),
    ("jumps", 1.8),
    ("jumped", 1.8),
    ("climb", 1.5),
    ("climbs", 1.5),
    ("climbed", 1.5),
    ("gain", 1.5),
    ("gains", 1.5),
    ("gained", 1.5),
    ("rise", 1.2),
    ("rises", 1.2),
    ("rose", 1.2),
    ("rising", 1.2),
    ("up", 1.0),
    ("higher", 1.0),
    ("highs", 1.2),
    ("rebound", 1.8),
    ("rebounds", 1.8),
    ("rebounded", 1.8),
    ("recover", 1.5),
    ("recovers", 1.5),
    ("recovered", 1.5),
    ("recovery", 1.5),
    ("boost", 1.8),
    ("boosts", 1.8),
    ("boosted", 1.8),
    ("breakout", 1.8),
    ("outperform", 1.8),
    ("outperforms", 1.8),
    ("outperformed", 1.8),
    ("bullish", 2.2),
    ("bull", 1.2),
    ("bulls", 1.2),
    ("boom", 2.0),
    ("booming", 2.0),
    // Money in, success.
    ("inflow", 1.8),
    ("inflows", 1.8),
    ("profit", 1.5),
    ("profits", 1.5),
    ("profitable", 1.8),
    ("growth", 1.5),
    ("grow", 1.2),
    ("grows", 1.2),
    ("growing", 1.2),
    ("expand", 1.0),
    ("expands", 1.0),
    ("expansion", 1.0),
    ("win", 1.8),
    ("wins", 1.8),
    ("won", 1.8),
    ("success", 2.0),
    ("successful", 2.0),
    ("milestone", 1.5),
    ("best", 1.5),
    ("strong", 1.2),
    ("stronger", 1.2),
    ("beat", 1.2),
    ("beats", 1.2),
    ("optimism", 2.0),
    ("optimistic", 2.0),
    ("confidence", 1.5),
    ("confident", 1.5),
    ("upbeat", 1.8),
    ("positive", 1.5),
    ("thrive", 2.0),
    ("thrives", 2.0),
    ("celebrate", 1.8),
    ("celebrates", 1.8),
    ("welcome", 1.2),
    ("welcomes", 1.2),
    // Adoption, regulation going well.
    ("approve", 2.2),
    ("approves", 2.2),
    ("approved", 2.2),
    ("approval", 2.2),
    ("adoption", 1.5),
    ("adopt", 1.2),
    ("adopts", 1.2),
    ("embrace", 1.5),
    ("embraces", 1.5),
    ("partnership", 1.5),
    ("partnerships", 1.5),
    ("partners", 1.0),
    ("clarity", 1.0),
    ("safe", 1.2),
    ("safely", 1.0),
    ("secure", 1.0),
    ("secured", 1.0),
    ("backs", 0.8),
    ("backing", 0.8),
    ("support", 0.8),
    ("supports", 0.8),
    ("innovation", 1.0),
    ("legalize", 1.5),
    ("legalizes", 1.5),
    ("dismissed", 1.2),
    ("dismisses", 1.2),
    ("acquitted", 2.0),
    ("settles", 0.5),
    // Price moves, down.
    ("crash", -2.8),
    ("crashes", -2.8),
    ("crashed", -2.8),
    ("crashing", -2.8),
    ("plunge", -2.6),
    ("plunges", -2.6),
    ("plunged", -2.6),
    ("plunging", -2.6),
    ("plummet", -2.8),
    ("plummets", -2.8),
    ("plummeted", -2.8),
    ("tumble", -2.2),
    ("tumbles", -2.2),
    ("tumbled", -2.2),
    ("slump", -2.0),
    ("slumps", -2.0),
    ("slumped", -2.0),
    ("sink", -1.8),
    ("sinks", -1.8),
    ("sank", -1.8),
    ("drop", -1.5),
    ("drops", -1.5),
    ("dropped", -1.5),
    ("fall", -1.5),
    ("falls", -1.5),
    ("fell", -1.5),
    ("falling", -1.5),
    ("decline", -1.5),
    ("declines", -1.5),
    ("declined", -1.5),
    ("slide", -1.5),
    ("slides", -1.5),
    ("slid", -1.5),
    ("dip", -1.0),
    ("dips", -1.0),
    ("dipped", -1.0),
    ("down", -1.0),
    ("lower", -0.8),
    ("selloff", -2.0),
    ("dump", -2.0),
    ("dumps", -2.0),
    ("dumped", -2.0),
    ("bearish", -2.2),
    ("bear", -1.2),
    ("bears", -1.2),
    ("capitulation", -2.2),
    ("bleed", -2.0),
    ("bleeding", -2.0),
    ("slash", -1.5),
    ("slashes", -1.5),
    ("slashed", -1.5),
    // Money out, failure.
    ("outflow", -1.8),
    ("outflows", -1.8),
    ("loss", -1.8),
    ("losses", -1.8),
    ("lose", -1.8),
    ("loses", -1.8),
    ("lost", -1.8),
    ("liquidation", -2.0),
    ("liquidations", -2.0),
    ("liquidated", -2.0),
    ("bankrupt", -3.0),
    ("bankruptcy", -3.0),
    ("insolvent", -3.0),
    ("insolvency", -3.0),
    ("collapse", -3.0),
    ("collapses", -3.0),
    ("collapsed", -3.0),
    ("default", -2.2),
    ("defaults", -2.2),
    ("defaulted", -2.2),
    ("contagion", -2.4),
    ("fail", -2.0),
    ("fails", -2.0),
    ("failed", -2.0),
    ("failure", -2.0),
    ("weak", -1.2),
    ("weaker", -1.2),
    ("worst", -2.2),
    ("struggle", -1.5),
    ("struggles", -1.5),
    ("layoffs", -2.0),
    ("layoff", -2.0),
    ("shutdown", -1.8),
    ("shuts", -1.8),
    ("turmoil", -2.2),
    ("panic", -2.5),
    ("fear", -1.8),
    ("fears", -1.8),
    ("worry", -1.5),
    ("worries", -1.5),
    ("concern", -1.2),
    ("concerns", -1.2),
    ("warn", -1.5),
    ("warns", -1.5),
    ("warning", -1.5),
    ("risk", -0.8),
    ("risks", -0.8),
    ("delay", -1.0),
    ("delays", -1.0),
    ("delayed", -1.0),
    ("volatile", -0.5),
    // Crime and security.
    ("hack", -2.8),
    ("hacks", -2.8),
    ("hacked", -2.8),
    ("hacker", -2.5),
    ("hackers", -2.5),
    ("exploit", -2.6),
    ("exploits", -2.6),
    ("exploited", -2.6),
    ("exploiter", -2.4),
    ("breach", -2.5),
    ("attack", -2.2),
    ("attacks", -2.2),
    ("attacker", -2.2),
    ("vulnerability", -2.0),
    ("stolen", -2.6),
    ("steal", -2.6),
    ("steals", -2.6),
    ("theft", -2.6),
    ("drain", -2.2),
    ("drains", -2.2),
    ("drained", -2.2),
    ("scam", -3.0),
    ("scams", -3.0),
    ("scammer", -3.0),
    ("scammers", -3.0),
    ("fraud", -3.0),
    ("fraudulent", -3.0),
    ("ponzi", -3.0),
    ("rug", -2.0),
    ("manipulation", -2.2),
    ("laundering", -2.5),
    // Regulators and courts going badly.
    ("lawsuit", -2.2),
    ("lawsuits", -2.2),
    ("sue", -2.0),
    ("sues", -2.0),
    ("sued", -2.0),
    ("indicted", -2.6),
    ("indictment", -2.6),
    ("arrest", -2.4),
    ("arrested", -2.4),
    ("charged", -1.8),
    ("charges", -1.2),
    ("convicted", -2.6),
    ("guilty", -2.4),
    ("ban", -2.2),
    ("bans", -2.2),
    ("banned", -2.2),
    ("crackdown", -2.2),
    ("delist", -2.2),
    ("delists", -2.2),
    ("delisted", -2.2),
    ("delisting", -2.2),
    ("fined", -1.8),
    ("fines", -1.5),
    ("penalty", -1.8),
    ("sanctions", -1.8),
    ("sanctioned", -1.8),
    ("probe", -1.2),
    ("investigation", -1.2),
    ("reject", -2.0),
    ("rejects", -2.0),
    ("rejected", -2.0),
    ("rejection", -2.0),
    ("halt", -1.5),
    ("halts", -1.5),
    ("halted", -1.5),
    ("suspend", -1.6),
    ("suspends", -1.6),
    ("suspended", -1.6),
    ("outage", -2.0),
    ("outages", -2.0),
    ("freeze", -1.8),
    ("freezes", -1.8),
    ("froze", -1.8),
    ("frozen", -1.8),
    ("depeg", -2.5),
    ("depegs", -2.5),
    ("depegged", -2.5),
];

/// Scale the sentiment term next to them (within two tokens before or after).
const INTENSIFIERS: &[(&str, f64)] = &[
    ("very", 1.3),
    ("extremely", 1.6),
    ("sharply", 1.5),
    ("massive", 1.5),
    ("massively", 1.5),
    ("huge", 1.4),
    ("record", 1.3),
    ("significantly", 1.3),
    ("heavily", 1.3),
    ("deeply", 1.3),
    ("strongly", 1.4),
    ("steep", 1.4),
    ("steeply", 1.4),
    ("biggest", 1.4),
    ("largest", 1.3),
    ("major", 1.2),
    ("dramatically", 1.5),
    ("severely", 1.5),
    ("historic", 1.3),
    ("slightly", 0.5),
    ("somewhat", 0.6),
    ("modest", 0.6),
    ("modestly", 0.6),
    ("marginally", 0.5),
    ("mildly", 0.6),
    ("minor", 0.6),
];

/// Flip (and damp) a sentiment term up to three tokens after them.
const NEGATORS: &[&str] = &[
    "not", "no", "never", "without", "nor", "neither", "hardly", "barely", "cannot", "none",
    "nothing", "avoids", "avoided", "denies", "denied", "fails",
];

/// VADER's negation scalar: "not good" is less bad than "bad".
const NEGATION: f64 = -0.74;

struct Lexicon {
    phrases: Vec<(Vec<&'static str>, f64)>,
    words: HashMap<&'static str, f64>,
    intensifiers: HashMap<&'static str, f64>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut phrases: Vec<(Vec<&str>, f64)> = PHRASES
        .iter()
        .map(|(p, v)| (p.split(' ').collect(), *v))
        .collect();
    phrases.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    Lexicon {
        phrases,
        words: WORDS.iter().copied().collect(),
        intensifiers: INTENSIFIERS.iter().copied().collect(),
    }
});

fn is_negator(token: &str) -> bool {
    NEGATORS.contains(&token) || token.ends_with("n't")
}

/// The summed valence of `tokens` (lower-case words).
pub(super) fn valence(tokens: &[String]) -> f64 {
    let lex = &*LEXICON;
    // (first token, last token, valence) of each sentiment term.
    let mut terms: Vec<(usize, usize, f64)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let phrase = lex.phrases.iter().find(|(words, _)| {
            tokens.len() - i >= words.len() && words.iter().zip(&tokens[i..]).all(|(w, t)| w == t)
        });
        if let Some((words, v)) = phrase {
            terms.push((i, i + words.len() - 1, *v));
            i += words.len();
            continue;
        }
        if let Some(v) = lex.words.get(tokens[i].as_str()) {
            terms.push((i, i, *v));
        }
        i += 1;
    }
    let mut total = 0.0;
    for &(first, last, v) in &terms {
        let mut v = v;
        // The strongest modifier within two tokens on either side.
        let around = first.saturating_sub(2)..(last + 3).min(tokens.len());
        let scale = around
            .filter(|&j| j < first || j > last)
            .filter_map(|j| lex.intensifiers.get(tokens[j].as_str()))
            .fold(1.0_f64, |acc, s| {
                if (s - 1.0).abs() > (acc - 1.0).abs() {
                    *s
                } else {
                    acc
                }
            });
        v *= scale;
        if tokens[first.saturating_sub(3)..first]
            .iter()
            .any(|t| is_negator(t))
        {
            v *= NEGATION;
        }
        total += v;
    }
    total
}
