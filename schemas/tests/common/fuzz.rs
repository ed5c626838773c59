//! The runner of the workspace's property-based fuzz tests (`schemas/tests/fuzz_avro.rs`,
//! `producers/tests/fuzz_parsers.rs`, the log's `recovery_fuzz`, `consumers/tests/fuzz_windows.rs`,
//! `cryptoviz/tests/api/fuzz_params.rs`), included by path so each
//! reads the same knobs: `PROPTEST_CASES` (default 10,000) and `PROPTEST_RNG_SEED` (default:
//! the test's own fixed seed), with no failure persistence (a failure prints its seed).

use proptest::test_runner::{Config, RngSeed, TestRunner};

/// A runner of `PROPTEST_CASES` cases (10,000 unless set) from the fixed seed
/// `PROPTEST_RNG_SEED`, or `default_seed` when that is not set.
pub(crate) fn runner(default_seed: u64) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_seed);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    })
}
