//! Cross-process locks, one per cache key, so one process logs in or refreshes while the
//! others wait and then read what it cached.
//!
//! The lock is an OS file lock (`flock` on Unix, `LockFileEx` on Windows) on a file in the
//! cache directory. The kernel drops it when its holder exits, however it exits, so a lock
//! left by a killed process is recovered without anyone doing anything. The holder writes
//! its pid into a record beside the lock (`<hash>.holder`), so a waiter can say whom it is
//! waiting for: Windows locks block every read of a locked file, so the record cannot live
//! in the lock file itself. Nobody truncates or removes a lock file, and only the holder
//! writes or removes the record. The locks directory must be the user's, and a lock file the user's
//! own regular file, opened without following a symbolic link
//! ([`private_dir`](crate::store::private_dir)).

use crate::error::{Error, Result};
use crate::store::file::hex;
use crate::store::private_dir::{self, PrivateDir};
use sha2::{Digest, Sha256};
use std::fs::{File, TryLockError};
use std::io::Read;
use std::path::PathBuf;
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
    dir: PrivateDir,
    record: String,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Still held here, so this removes nobody else's record.
        let _ = self.dir.remove(&self.record);
        let _ = self.file.unlock();
    }
}

impl Locks {
    /// Locks under `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn name_for(key: &str) -> String {
        format!("{}.lock", hex(&Sha256::digest(key.as_bytes())[..16]))
    }

    /// The holder's record beside the lock file.
    fn record_for(key: &str) -> String {
        format!("{}.holder", hex(&Sha256::digest(key.as_bytes())[..16]))
    }

    /// The lock file for `key`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.dir.join(Self::name_for(key))
    }

    fn open_dir(&self) -> Result<PrivateDir> {
        private_dir::open_in_cache(&self.dir)
    }

    /// Whether another process holds the lock for `key` right now.
    pub fn is_held(&self, key: &str) -> Result<Option<String>> {
        if !self.dir.exists() {
            return Ok(None);
        }
        let dir = self.open_dir()?;
        let Ok(Some(file)) = dir.open_entry(&Self::name_for(key)) else {
            return Ok(None);
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                Ok(None)
            }
            Err(TryLockError::WouldBlock) => Ok(Some(holder(&dir, &Self::record_for(key)))),
            Err(TryLockError::Error(e)) => {
                Err(Error::unexpected("cannot test a lock").caused_by(&e))
            }
        }
    }

    /// Takes the lock for `key`, waiting up to `wait` for another process to finish
    /// `what` (e.g. "signing in").
    pub fn acquire(&self, key: &str, wait: Duration, what: &str) -> Result<Guard> {
        let dir = self.open_dir()?;
        let path = self.path_for(key);
        let file = dir.open_lock(&Self::name_for(key)).map_err(|e| {
            let refused = private_dir::is_refused_entry(&e);
            let err = Error::unexpected(format!("cannot open the lock file {}", path.display()))
                .caused_by(&e);
            if refused {
                err.with_kind(crate::error::Kind::User).with_hint(format!(
                    "remove {} and run the command again",
                    path.display()
                ))
            } else {
                err
            }
        })?;
        let record = Self::record_for(key);
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
                            holder(&dir, &record)
                        ));
                        said = true;
                    }
                    if start.elapsed() >= wait {
                        return Err(Error::unexpected(format!(
                            "timed out after {}s waiting for another awscred process ({}) that is {what}",
                            wait.as_secs(),
                            holder(&dir, &record)
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
        // Record who holds it, now that it is ours, with an atomic write: a reader sees the
        // old record or the new one, never a torn one. A failure only costs the message.
        let _ = dir.write_atomic(
            &record,
            format!("pid {}", std::process::id()).as_bytes(),
            0o600,
        );
        Ok(Guard { file, dir, record })
    }
}

/// What the holder wrote into its record.
fn holder(dir: &PrivateDir, record: &str) -> String {
    let mut s = String::new();
    if let Ok(Some(mut f)) = dir.open_entry(record) {
        let _ = (&mut f).take(256).read_to_string(&mut s);
    }
    let s = s.trim();
    if s.is_empty() {
        "pid unknown".to_string()
    } else {
        s.chars().filter(|c| !c.is_control()).take(32).collect()
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

    #[cfg(unix)]
    #[test]
    fn a_linked_lock_file_is_refused_and_its_target_untouched() {
        let d = tempfile::tempdir().unwrap();
        let locks = Locks::new(d.path().join("locks"));
        std::fs::create_dir(d.path().join("locks")).unwrap();
        let victim = d.path().join("victim");
        fs_err::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, locks.path_for("k")).unwrap();
        let e = locks.acquire("k", Duration::ZERO, "testing").unwrap_err();
        assert_eq!(e.exit_code(), 1, "{}", e.report());
        assert!(e.report().contains("symbolic link"), "{}", e.report());
        assert!(e.hint().unwrap().contains("remove"));
        assert_eq!(fs_err::read_to_string(&victim).unwrap(), "keep me");
    }

    #[test]
    fn a_waiter_leaves_the_holders_pid_readable() {
        let d = tempfile::tempdir().unwrap();
        let locks = Locks::new(d.path().join("locks"));
        let _g = locks.acquire("k", Duration::ZERO, "testing").unwrap();
        let pid = format!("pid {}", std::process::id());
        for _ in 0..3 {
            let e = locks.acquire("k", Duration::ZERO, "testing").unwrap_err();
            assert!(e.message().contains(&pid), "{}", e.message());
        }
        let record = d.path().join("locks").join(Locks::record_for("k"));
        assert_eq!(
            fs_err::read_to_string(&record).unwrap(),
            pid,
            "the record is whole after waiters came and went"
        );
        // The lock file itself is never written: on Windows nobody could read it.
        assert_eq!(fs_err::read(locks.path_for("k")).unwrap().len(), 0);
        drop(_g);
        assert!(!record.exists(), "the holder removes its record");
    }
}
