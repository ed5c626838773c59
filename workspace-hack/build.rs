// A build script makes cargo treat the build-dependencies section as real, so build scripts
// and proc macros across the workspace unify their features too.
fn main() {}
