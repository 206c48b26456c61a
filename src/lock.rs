//! Cross-process locks, one per cache key, so one process logs in or refreshes while the
//! others wait and then read what it cached.
//!
//! The lock is an OS file lock (`flock` on Unix, `LockFileEx` on Windows) on a file in the
//! cache directory. The kernel drops it when its holder exits, however it exits, so a lock
//! left by a killed process is recovered without anyone doing anything. The holder writes
//! its pid into the file so a waiter can say whom it is waiting for.

use crate::error::{Error, Result};
use crate::store::file::{ensure_private_dir, hex};
use sha2::{Digest, Sha256};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where lock files live.
#[derive(Debug, Clone)]
pub struct Locks {
    dir: PathBuf,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Guard {
    file: File,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

impl Locks {
    /// Locks under `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The lock file for `key`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.lock",
            hex(&Sha256::digest(key.as_bytes())[..16])
        ))
    }

    /// Whether another process holds the lock for `key` right now.
    pub fn is_held(&self, key: &str) -> Result<Option<String>> {
        let path = self.path_for(key);
        let Ok(file) = File::options().read(true).write(true).open(&path) else {
            return Ok(None);
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                Ok(None)
            }
            Err(TryLockError::WouldBlock) => Ok(Some(holder(&path))),
            Err(TryLockError::Error(e)) => {
                Err(Error::unexpected("cannot test a lock").caused_by(&e))
            }
        }
    }

    /// Takes the lock for `key`, waiting up to `wait` for another process to finish
    /// `what` (e.g. "signing in").
    pub fn acquire(&self, key: &str, wait: Duration, what: &str) -> Result<Guard> {
        ensure_private_dir(&self.dir)?;
        let path = self.path_for(key);
        let open = || {
            File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| {
                    Error::unexpected(format!("cannot open the lock file {}", path.display()))
                        .caused_by(&e)
                })
        };
        let mut file = open()?;
        let start = Instant::now();
        let mut said = false;
        let mut pause = Duration::from_millis(10);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if !said {
                        crate::log::info(&format!(
                            "waiting for another awscred process ({}) that is {what}",
                            holder(&path)
                        ));
                        said = true;
                    }
                    if start.elapsed() >= wait {
                        return Err(Error::unexpected(format!(
                            "timed out after {}s waiting for another awscred process ({}) that is {what}",
                            wait.as_secs(),
                            holder(&path)
                        ))
                        .with_hint("finish the sign-in in that process, or stop it and run the command again"));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(
                        Error::unexpected(format!("cannot lock {}", path.display())).caused_by(&e)
                    );
                }
            }
        }
        // Record who holds it; a failure here only costs the message above.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "pid {}", std::process::id());
        let _ = file.flush();
        Ok(Guard { file })
    }
}

fn holder(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let s = s.trim();
    if s.is_empty() {
        "pid unknown".to_string()
    } else {
        s.chars().take(32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_waits_then_times_out_and_release_frees_it() {
        let d = tempfile::tempdir().unwrap();
        let locks = Locks::new(d.path().join("locks"));
        let g = locks
            .acquire("k", Duration::from_secs(1), "testing")
            .unwrap();
        assert!(locks.is_held("k").unwrap().unwrap().starts_with("pid "));
        let e = locks
            .acquire("k", Duration::from_millis(50), "signing in")
            .unwrap_err();
        assert!(e.message().contains("signing in"), "{}", e.message());
        drop(g);
        assert_eq!(locks.is_held("k").unwrap(), None);
        let _g = locks
            .acquire("k", Duration::from_millis(50), "testing")
            .unwrap();
        assert!(
            locks.acquire("other", Duration::ZERO, "x").is_ok(),
            "keys lock independently"
        );
    }
}
