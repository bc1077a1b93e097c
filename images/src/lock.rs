//! One download per ISO: pulls of the same URL wait for each other, in this process (a map of
//! in-flight downloads, so waiters queue on a mutex instead of each blocking a thread) and
//! across processes (a lock file in the cache's `.locks/`).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use tracing::{debug, info};

use crate::error::{CacheError, PullError};
use crate::progress::Progress;

/// Takes the right to download the ISO with this key: first among the pulls of this
/// process, then among processes (a lock file in `locks_dir`). Released when the guard is
/// dropped.
pub(crate) async fn lock_download(
    locks_dir: &Path,
    key: &str,
    shown: &str,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<DownloadGuard, PullError> {
    let lock_path = locks_dir.join(format!("{key}.lock"));
    let in_process = in_process_lock(&lock_path);
    let mut announced = false;
    let in_process_guard = match in_process.clone().try_lock_owned() {
        Ok(guard) => guard,
        Err(_) => {
            debug!(url = %shown, "another pull in this process is downloading it; waiting");
            progress(Progress::WaitingForOtherDownload {
                url: shown.to_string(),
            });
            announced = true;
            in_process.lock_owned().await
        }
    };
    let lock_error = |source: io::Error| CacheError::Io {
        action: "lock",
        path: lock_path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(lock_error)?;
    let file = match file.try_lock() {
        Ok(()) => file,
        Err(TryLockError::WouldBlock) => {
            info!(url = %shown, "another vswarm process is downloading it; waiting");
            if !announced {
                progress(Progress::WaitingForOtherDownload {
                    url: shown.to_string(),
                });
            }
            let waited = tokio::task::spawn_blocking(move || file.lock().map(|()| file)).await;
            match waited {
                Ok(Ok(file)) => file,
                Ok(Err(source)) => return Err(lock_error(source).into()),
                Err(join) => return Err(lock_error(io::Error::other(join.to_string())).into()),
            }
        }
        Err(TryLockError::Error(source)) => return Err(lock_error(source).into()),
    };
    Ok(DownloadGuard {
        _in_process: in_process_guard,
        _file: file,
    })
}

/// Held while downloading one ISO; dropping it lets the next waiter in.
pub(crate) struct DownloadGuard {
    _in_process: tokio::sync::OwnedMutexGuard<()>,
    /// Locked; closing it releases the lock.
    _file: File,
}

/// The downloads in flight in this process, by lock file: pulls of the same ISO queue on the
/// same mutex instead of each blocking a thread on the lock file.
static IN_FLIGHT: LazyLock<Mutex<HashMap<PathBuf, Weak<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn in_process_lock(lock_path: &Path) -> Arc<tokio::sync::Mutex<()>> {
    let mut in_flight = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
    in_flight.retain(|_, mutex| mutex.strong_count() > 0);
    if let Some(existing) = in_flight.get(lock_path).and_then(Weak::upgrade) {
        return existing;
    }
    let fresh = Arc::new(tokio::sync::Mutex::new(()));
    in_flight.insert(lock_path.to_path_buf(), Arc::downgrade(&fresh));
    fresh
}
