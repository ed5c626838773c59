//! A full disk stalls the store's writes instead of failing them: each write is retried
//! with back-off until space returns, an ERROR says so once, and [`EmbeddedStore::stalled`]
//! (and so `ping`, and the API's `/ready`) reports it meanwhile.

use std::time::{Duration, Instant, SystemTime};

use super::files::is_disk_full;
use super::{EmbeddedStore, Inner};
use crate::error::Result;

const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often a continuing stall is logged again.
const REMIND: Duration = Duration::from_secs(60);

/// Writes of a measurement are waiting for disk space (see [`EmbeddedStore::stalled`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stalled {
    /// The measurement whose write waits.
    pub measurement: String,
    /// When the stall began.
    pub since: SystemTime,
    /// The error that stalled it, with the file it happened on.
    pub error: String,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.since.elapsed().map_or(0, |d| d.as_secs());
        write!(
            f,
            "writes to `{}` stalled for {secs} s: {}; retrying until disk space is freed",
            self.measurement, self.error
        )
    }
}

impl EmbeddedStore {
    /// `Some` while a write waits for disk space. The write is retried with back-off and
    /// completes by itself once space is freed; nothing of it is visible meanwhile and no
    /// temporary file is left behind. A readiness probe should fail while this is `Some`
    /// (`ping` does).
    pub fn stalled(&self) -> Option<Stalled> {
        self.inner.stalls.lock().values().next().cloned()
    }
}

impl Inner {
    /// Runs `op` until it succeeds or fails with anything but a full disk. `op` must leave
    /// nothing behind when it fails. Blocking.
    pub(crate) fn until_space<T>(
        &self,
        measurement: &str,
        mut op: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        let mut delay = RETRY_FIRST;
        let mut since: Option<Instant> = None;
        let mut last_log = Instant::now();
        loop {
            match op() {
                Ok(v) => {
                    if let Some(t) = since {
                        self.stalls.lock().remove(measurement);
                        tracing::info!(%measurement, stalled_ms = t.elapsed().as_millis() as u64,
                            "disk space is back: store writes resumed");
                    }
                    return Ok(v);
                }
                Err(e) if is_disk_full(&e) => {
                    let first = since.is_none();
                    if first {
                        since = Some(Instant::now());
                        self.stalls.lock().insert(
                            measurement.to_owned(),
                            Stalled {
                                measurement: measurement.to_owned(),
                                since: SystemTime::now(),
                                error: e.to_string(),
                            },
                        );
                    }
                    if first || last_log.elapsed() >= REMIND {
                        last_log = Instant::now();
                        tracing::error!(%measurement, error = %e,
                            "disk full: store writes are stalled, nothing is acknowledged until \
                             space is freed; retrying");
                    }
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(RETRY_MAX);
                }
                Err(e) => return Err(e),
            }
        }
    }
}
