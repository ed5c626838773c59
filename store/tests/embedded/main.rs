//! Black-box tests of the embedded store against real files in a temp directory.

mod compaction;
mod diskfull;
mod downsample;
mod overlap;
mod support;
mod write_query;
