//! `crypto_coin_info`: a coin's name, ATH, ATL and circulating supply per source, written
//! when they change (its tags are those of [`crate::market`]).

use serde::{Deserialize, Serialize};

use crate::time::Time;

crate::measurement! {
    /// A series' fundamentals from the tick where they last changed.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CoinInfoRow in "crypto_coin_info", tags ["crypto_id", "symbol", "source"] {
        pub time: Time,
        pub crypto_id: String,
        pub symbol: String,
        pub source: String,
        pub name: Option<String>,
        pub ath: Option<f64>,
        pub atl: Option<f64>,
        pub circulating_supply: Option<f64>,
    }
}
