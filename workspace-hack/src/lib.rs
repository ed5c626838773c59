//! Feature unification for the whole workspace, kept by `cargo hakari` (see
//! `.config/hakari.toml`).
//!
//! Every workspace crate depends on this one, and it depends on each third-party crate with the
//! union of the features any build of the workspace asks for. So `cargo build --bin cryptoviz`
//! (the README's run command) and `cargo test --workspace --all-targets` (the test command)
//! compile DataFusion, Arrow and the rest once, with the same features, and share the
//! artifacts. It has no code. After changing a dependency, run `cargo hakari generate` (CI
//! fails on a stale file: `scripts/test.sh` runs `cargo hakari generate --diff`).
