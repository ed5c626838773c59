//! One folder or file per source.

pub mod simulated;
