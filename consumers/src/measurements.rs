//! Names and tags of the measurements the consumers write, as declared in the contract
//! (`cryptoviz-measurements`).

pub use cryptoviz_measurements::names::*;
