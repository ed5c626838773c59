//! Configuration of the embedded store.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Parquet codec of data files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression: fastest writes, biggest files.
    None,
    /// Snappy: fast, understood by every Parquet reader.
    #[default]
    Snappy,
    /// LZ4 (`LZ4_RAW`): fast, needs a recent reader.
    Lz4,
}

/// Configuration of [`EmbeddedStore`](super::EmbeddedStore); every field has a default that works out of the box.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedStoreConfig {
    /// Root directory; one sub-directory per measurement. Default `data/store`.
    pub dir: PathBuf,
    /// Compact a measurement once it has this many small files (fewer than
    /// `target_file_rows` rows) after its last full one. Default 16; at least 2.
    pub compaction_trigger_files: usize,
    /// Rows per compacted file; files this big are not compacted again. Default 1,000,000.
    pub target_file_rows: usize,
    /// Maximum rows per Parquet row group (the unit of predicate pruning). Default 65,536.
    pub row_group_rows: usize,
    /// Codec of data files: `none`, `snappy` or `lz4`. Default `snappy`.
    pub compression: Compression,
    /// Run compaction in a background task after writes. Default true; when false, only
    /// [`EmbeddedStore::compact`](super::EmbeddedStore::compact) compacts.
    pub background_compaction: bool,
    /// DataFusion partitions per query; 0 means the number of CPUs. Default 0.
    pub query_partitions: usize,
}

impl Default for EmbeddedStoreConfig {
    fn default() -> Self {
        EmbeddedStoreConfig {
            dir: PathBuf::from("data/store"),
            compaction_trigger_files: 16,
            target_file_rows: 1_000_000,
            row_group_rows: 65_536,
            compression: Compression::Snappy,
            background_compaction: true,
            query_partitions: 0,
        }
    }
}

impl EmbeddedStoreConfig {
    /// Defaults with the given root directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        EmbeddedStoreConfig {
            dir: dir.into(),
            ..Default::default()
        }
    }

    /// Checks the values; the error names the bad key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key, reason: &str| {
            Err(Error::Config {
                key,
                reason: reason.to_owned(),
            })
        };
        if self.dir.as_os_str().is_empty() {
            return bad("dir", "must not be empty");
        }
        if self.compaction_trigger_files < 2 {
            return bad("compaction_trigger_files", "must be at least 2");
        }
        if self.target_file_rows == 0 {
            return bad("target_file_rows", "must be positive");
        }
        if self.row_group_rows == 0 {
            return bad("row_group_rows", "must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_validation_names_the_key() {
        let c: EmbeddedStoreConfig =
            serde_json::from_str(r#"{"dir": "/tmp/x", "compression": "lz4"}"#).unwrap();
        assert_eq!(c.compaction_trigger_files, 16);
        assert_eq!(c.target_file_rows, 1_000_000);
        assert_eq!(c.compression, Compression::Lz4);
        c.validate().unwrap();
        assert!(serde_json::from_str::<EmbeddedStoreConfig>(r#"{"dri": "x"}"#).is_err());
        let bad = EmbeddedStoreConfig {
            compaction_trigger_files: 1,
            ..c
        };
        let err = bad.validate().unwrap_err();
        assert!(
            err.to_string().contains("compaction_trigger_files"),
            "{err}"
        );
    }
}
