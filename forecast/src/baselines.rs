//! The naive forecasts every model is measured against.
//!
//! - volatility: the last period's realised variance ("yesterday's", for daily periods) and
//!   the mean of the last few periods' (a rolling mean);
//! - price: the random walk, tomorrow's price = today's. Efficient markets make it the point
//!   forecast to beat, and it is rarely beaten (see [`crate::point`]).

use crate::error::{Result, need};

/// The last period's realised variance.
pub fn last_rv(rv: &[f64]) -> Result<f64> {
    need(|| "the last-RV baseline (periods)".into(), 1, rv.len())?;
    Ok(rv[rv.len() - 1])
}

/// The mean realised variance of the last `n` periods.
pub fn rolling_mean_rv(rv: &[f64], n: usize) -> Result<f64> {
    need(
        || format!("a {n}-period rolling mean (periods)"),
        n.max(1),
        rv.len(),
    )?;
    let tail = &rv[rv.len() - n.max(1)..];
    Ok(tail.iter().sum::<f64>() / tail.len() as f64)
}

/// The random walk: the last price.
pub fn random_walk(prices: &[f64]) -> Result<f64> {
    need(|| "the random walk (prices)".into(), 1, prices.len())?;
    Ok(prices[prices.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let rv = [4.0, 1.0, 2.0, 6.0];
        assert_eq!(last_rv(&rv).unwrap(), 6.0);
        assert_eq!(rolling_mean_rv(&rv, 3).unwrap(), 3.0);
        assert!(rolling_mean_rv(&rv, 5).is_err());
        assert_eq!(random_walk(&[1.0, 2.5]).unwrap(), 2.5);
        assert!(random_walk(&[]).is_err());
    }
}
