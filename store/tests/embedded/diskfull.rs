//! A full disk stalls a store write (retried until space returns, reported by `stalled` and
//! `ping`), leaves no `.tmp` file behind and loses nothing. Runs on a real tmpfs; skipped
//! (with a message) where mounting one is not permitted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cryptoviz_store::Store;

use crate::support::*;

struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
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
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn fill_up(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 16 << 10];
    loop {
        match f.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break path,
            Err(e) => panic!("filling: {e}"),
        }
    }
}

fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(tmp_files(&p));
        } else if p.to_string_lossy().ends_with(".tmp") {
            out.push(p);
        }
    }
    out
}

async fn count(store: &cryptoviz_store::EmbeddedStore) -> usize {
    num_rows(&store.sql("SELECT * FROM prices").await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_stalls_writes_until_space_returns() {
    let Some(fs) = Tmpfs::mount("8m") else { return };
    let dir = fs.dir.path().join("store");
    let store = open(&dir);
    store
        .write(vec![prices(&[("bitcoin", T0, 1.0)])])
        .await
        .unwrap();

    let filler = fill_up(fs.dir.path());
    let rows: Vec<(&'static str, i64, f64)> = (1..=20_000)
        .map(|i| ("bitcoin", T0 + i * MIN, i as f64 * 1.37))
        .collect();
    let writer = store.clone();
    let task = tokio::spawn(async move { writer.write(vec![prices(&rows)]).await });

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.stalled().is_none() {
        assert!(
            !task.is_finished(),
            "write finished on a full disk: {:?}",
            task.await
        );
        assert!(tokio::time::Instant::now() < deadline, "never stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = store.ping().await.expect_err("not ready while stalled");
    assert!(err.to_string().contains("prices"), "{err}");
    assert_eq!(
        count(&store).await,
        1,
        "nothing of the stalled write is visible"
    );
    assert!(!task.is_finished());

    std::fs::remove_file(&filler).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the write resumes once space returns")
        .unwrap()
        .unwrap();
    assert!(store.stalled().is_none());
    store.ping().await.unwrap();
    assert_eq!(tmp_files(&dir), Vec::<PathBuf>::new());
    assert_eq!(count(&store).await, 20_001);
    drop(store);
    assert_eq!(count(&open(&dir)).await, 20_001);
}
