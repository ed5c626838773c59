//! `fear_greed`: the Fear & Greed index (and any other market-wide sentiment reading).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::Time;

crate::measurement! {
    /// A Fear & Greed reading.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    #[schema(as = FearGreedPoint)]
    pub struct FearGreedRow in "fear_greed", tags ["source"] {
        #[schema(value_type = String)]
        pub time: Time,
        pub source: String,
        /// 0 (extreme fear) to 100 (extreme greed).
        pub value: Option<i64>,
        pub classification: Option<String>,
    }
}
