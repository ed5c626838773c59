//! Closed sets a parameter takes: the API's own ([`CoinSort`], [`Order`], [`Interval`],
//! [`Window`], [`Range`]) declared with `choice!`, and the contract's (anomaly kind,
//! severity, sentiment label) read through [`optional`]. Each is an enum in the OpenAPI
//! document (referenced by name, so the viewer's types name them) and answers a value
//! outside the set with the list of those it takes.

use serde::{Deserialize, Deserializer};

use super::{DAY_NS, HOUR_NS, MINUTE_NS};

/// A closed set of parameter values.
pub trait Choice: Copy + 'static {
    /// Every value, in the documented order.
    const ALL: &'static [Self];

    /// The value as written in a query.
    fn as_str(self) -> &'static str;

    /// The value written `raw`, or the message (after the parameter's name) listing the set.
    fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == raw)
            .ok_or_else(|| {
                let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("must be one of {}; got `{raw}`", all.join(", "))
            })
    }
}

/// Reads a [`Choice`] from a parameter's text.
pub fn one_of<'de, D: Deserializer<'de>, T: Choice>(d: D) -> Result<T, D::Error> {
    let raw = String::deserialize(d)?;
    T::parse(&raw).map_err(serde::de::Error::custom)
}

/// `deserialize_with` for an optional parameter of a closed set declared elsewhere (the
/// contract's enums derive serde's own messages): `#[serde(default, deserialize_with =
/// "choices::optional")]`.
pub fn optional<'de, D: Deserializer<'de>, T: Choice>(d: D) -> Result<Option<T>, D::Error> {
    one_of(d).map(Some)
}

/// Declares a closed set of parameter values: the enum with its written values (serde
/// renames, read by utoipa for the document), [`Choice`] and `Deserialize`. The values are
/// `tt` on purpose: a macro-captured `literal` is opaque to utoipa's attribute parser, which
/// would then document the variant names.
macro_rules! choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),* $(,)?
        }
    ) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),*
        }

        impl $name {
            /// The value as written in a query.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),*
                }
            }
        }

        impl Choice for $name {
            const ALL: &'static [Self] = &[$($name::$variant),*];

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                one_of(d)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The contract's closed sets taken as parameters.
macro_rules! contract_choice {
    ($($t:ty),*) => {$(
        impl Choice for $t {
            const ALL: &'static [Self] = <$t>::ALL;

            fn as_str(self) -> &'static str {
                <$t>::as_str(self)
            }
        }
    )*};
}

contract_choice!(
    cryptoviz_measurements::anomalies::AnomalyKind,
    cryptoviz_measurements::anomalies::Severity,
    cryptoviz_measurements::sentiment::Label
);

choice! {
    /// `sort=` of `/coins`.
    #[derive(Default)]
    pub enum CoinSort {
        #[default]
        MarketCap = "market_cap",
        Price = "price",
        Volume = "volume",
        Change1h = "change_1h",
        Change24h = "change_24h",
        Change7d = "change_7d",
        Volatility = "volatility",
    }
}

choice! {
    /// `order=`.
    #[derive(Default)]
    pub enum Order {
        #[default]
        Desc = "desc",
        Asc = "asc",
    }
}

choice! {
    /// `interval=`: a candle width, or `auto`.
    #[derive(Default)]
    pub enum Interval {
        M1 = "1m",
        M5 = "5m",
        M15 = "15m",
        H1 = "1h",
        H4 = "4h",
        D1 = "1d",
        /// The finest width giving at most [`AUTO_POINTS`](super::AUTO_POINTS) bins.
        #[default]
        Auto = "auto",
    }
}

impl Interval {
    /// The widths, finest first.
    pub const WIDTHS: [Interval; 6] = [
        Interval::M1,
        Interval::M5,
        Interval::M15,
        Interval::H1,
        Interval::H4,
        Interval::D1,
    ];

    /// The width in nanoseconds (`None` for `auto`).
    pub fn nanos(self) -> Option<i64> {
        Some(match self {
            Interval::M1 => MINUTE_NS,
            Interval::M5 => 5 * MINUTE_NS,
            Interval::M15 => 15 * MINUTE_NS,
            Interval::H1 => HOUR_NS,
            Interval::H4 => 4 * HOUR_NS,
            Interval::D1 => DAY_NS,
            Interval::Auto => return None,
        })
    }

    /// This width, or for `auto` the finest giving at most `max_bins` bins over `span_ns`:
    /// (label, nanoseconds).
    pub fn resolve(self, span_ns: i64, max_bins: i64) -> (Interval, i64) {
        match self.nanos() {
            Some(ns) => (self, ns),
            None => Self::WIDTHS
                .iter()
                .map(|w| (*w, w.nanos().expect("a width")))
                .find(|(_, ns)| span_ns / ns <= max_bins)
                .unwrap_or((Interval::D1, DAY_NS)),
        }
    }
}

choice! {
    /// `window=`: the width of the consumers' analytics windows.
    pub enum Window {
        M1 = "1m",
        M5 = "5m",
        H1 = "1h",
    }
}

impl Window {
    /// 1 minute (a field default).
    pub fn m1() -> Self {
        Window::M1
    }

    /// 5 minutes (a field default).
    pub fn m5() -> Self {
        Window::M5
    }

    /// 1 hour (a field default).
    pub fn h1() -> Self {
        Window::H1
    }
}

choice! {
    /// `range=`: a span ending at `to` (or now).
    pub enum Range {
        H1 = "1h",
        H24 = "24h",
        D7 = "7d",
        D30 = "30d",
        Y1 = "1y",
    }
}

impl Range {
    /// The length in nanoseconds.
    pub fn nanos(self) -> i64 {
        match self {
            Range::H1 => HOUR_NS,
            Range::H24 => DAY_NS,
            Range::D7 => 7 * DAY_NS,
            Range::D30 => 30 * DAY_NS,
            Range::Y1 => 365 * DAY_NS,
        }
    }
}
