//! A full disk stalls appends (retried until space returns, reported by `stalled`), never
//! acknowledges what is not written, never loses what was, and leaves no half-written
//! record behind. Runs on a real 4 MiB tmpfs; skipped (with a message) where mounting one
//! is not permitted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cryptoviz_log::{EmbeddedLog, EmbeddedLogConfig, Log};

use super::*;

/// A small tmpfs mounted on a temp directory for the life of the value.
pub(crate) struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    pub(crate) fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs to fill ({}); run as root to test a full disk",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount ({e}); run as root to test a full disk");
                None
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system with `filler` until a write fails with "no space".
pub(crate) fn fill_up(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 16 << 10];
    loop {
        match f.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("filling: {e}"),
        }
    }
    path
}

fn big(prefix: &str, i: usize) -> String {
    format!("{prefix}-{i:04}-{}", "x".repeat(120))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_stalls_appends_until_space_returns() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    let cfg = || EmbeddedLogConfig {
        segment_bytes: 64 << 10,
        ..EmbeddedLogConfig::new(fs.path().join("log"))
    };
    let log = EmbeddedLog::open(cfg()).unwrap();
    log.ensure_topic("t", 1).await.unwrap();
    let before: Vec<String> = (0..200).map(|i| big("before", i)).collect();
    let recs = before
        .iter()
        .map(|v| rec(Some("k"), v.clone(), 1))
        .collect();
    log.append("t", recs).await.unwrap();

    // Fill the disk, then free 8 KiB: the next batch (~45 KiB, crossing a segment roll) is
    // cut short part-way.
    let filler = fill_up(fs.path());
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len - (8 << 10))
        .unwrap();
    let stalled: Vec<String> = (0..300).map(|i| big("stalled", i)).collect();
    let recs: Vec<_> = stalled
        .iter()
        .map(|v| rec(Some("k"), v.clone(), 2))
        .collect();
    let writer = log.clone();
    let task = tokio::spawn(async move { writer.append("t", recs).await });

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while log.stalled().is_none() {
        assert!(
            !task.is_finished(),
            "append finished on a full disk: {:?}",
            task.await
        );
        assert!(tokio::time::Instant::now() < deadline, "never stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stall = log.stalled().unwrap();
    assert_eq!((stall.topic.as_str(), stall.partition), ("t", 0));
    assert!(stall.to_string().contains("stalled"), "{stall}");
    // Nothing of the stalled batch is acknowledged or visible; what was acknowledged is.
    let mut c = log.subscribe("g", &["t"]).await.unwrap();
    assert_eq!(values(&poll_n(&mut c, 200).await), before);
    assert!(
        c.poll(10, Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!task.is_finished());

    std::fs::remove_file(&filler).unwrap();
    let produced = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("append resumes once space returns")
        .unwrap()
        .unwrap();
    let offsets: Vec<u64> = produced.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, (200..500).collect::<Vec<u64>>());
    assert!(log.stalled().is_none());
    assert_eq!(values(&poll_n(&mut c, 300).await), stalled);
    drop(c);
    drop(log);

    // Every segment, closed ones included, is intact: start-up refuses any damage there.
    let log = EmbeddedLog::open(cfg()).unwrap();
    let mut c = log.subscribe("again", &["t"]).await.unwrap();
    let all = values(&poll_n(&mut c, 500).await);
    assert_eq!(all[..200], before[..]);
    assert_eq!(all[200..], stalled[..]);
    let p = log
        .append("t", vec![rec(Some("k"), "after", 3)])
        .await
        .unwrap();
    assert_eq!(p[0].offset, 500);
}
