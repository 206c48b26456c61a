//! The file store, for machines with no keyring (headless Linux, WSL, CI).
//!
//! One file per key under a private directory (0700), each written 0600 to a temporary
//! file and renamed into place, so a reader sees the old value or the new one, never a torn
//! one. File names are hashes of the keys, so nothing about a profile shows in a listing.
//! The directory, the cache directory above it and every entry must be the user's
//! ([`private_dir`](super::private_dir)); entries are reached through the directory's handle,
//! never through a symbolic link, and pruning touches only names the store writes.

use super::Store;
use super::private_dir::{self, PrivateDir};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Values as files in one directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PrivateDir,
    /// Refused entries already warned about, so each costs one line per run.
    warned: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Temporary files older than this were left by a writer that was killed.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

impl FileStore {
    /// Uses (and creates, private) `dir` inside the cache directory that holds it.
    pub fn new(dir: PathBuf) -> Result<Self> {
        Ok(Self {
            dir: private_dir::open_in_cache(&dir)?,
            warned: Default::default(),
        })
    }

    /// The name of the file that holds `key`.
    fn name_for(key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        format!("{}.json", hex(&digest[..16]))
    }

    /// The file that holds `key`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.dir.path().join(Self::name_for(key))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Reads the entry `name`; one that is not the user's own file is skipped with a warning
    /// (a miss, which the next write replaces).
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let cannot = |e: &std::io::Error| {
            Error::unexpected(format!(
                "cannot read a cached entry in {}",
                self.dir().display()
            ))
            .caused_by(e)
        };
        match self.dir.open_entry(name) {
            Ok(Some(mut f)) => {
                let mut bytes = Vec::new();
                f.read_to_end(&mut bytes).map_err(|e| cannot(&e))?;
                Ok(Some(bytes))
            }
            Ok(None) => Ok(None),
            Err(e) if private_dir::is_refused_entry(&e) => {
                let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
                if warned.insert(name.to_string()) {
                    crate::log::warn(&e.to_string());
                }
                Ok(None)
            }
            Err(e) => Err(cannot(&e)),
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `path` atomically with owner-only permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// Writes `bytes` to `path` atomically with the given Unix mode: a new temporary file
/// beside it (exclusive, never through a symbolic link), then a rename.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        let mut f = fs_err::File::from_parts(opts.open(&tmp)?, &tmp);
        f.write_all(bytes)?;
        f.sync_all()?;
        fs_err::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl Store for FileStore {
    fn name(&self) -> &'static str {
        "file"
    }

    fn location(&self) -> String {
        format!("file ({})", self.dir().display())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        super::log_read("file", key);
        self.read(&Self::name_for(key))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.dir
            .write_atomic(&Self::name_for(key), value, 0o600)
            .map_err(|e| {
                Error::unexpected(format!(
                    "cannot write to the cache directory {}",
                    self.dir().display()
                ))
                .caused_by(&e)
                .with_hint(format!(
                    "free space or fix permissions in {}, or set AWSCRED_CACHE to another store",
                    self.dir().display()
                ))
            })
    }

    fn prune(&self, stale: &dyn Fn(&[u8]) -> bool) -> Result<usize> {
        let Ok(names) = self.dir.names() else {
            return Ok(0);
        };
        let mut removed = 0;
        for name in names {
            if private_dir::is_temp_name(&name) {
                // Left by a writer that was killed between write and rename.
                let old = self.dir.age(&name).is_some_and(|a| a > ABANDONED_AFTER);
                if old && self.dir.remove(&name).is_ok() {
                    removed += 1;
                }
                continue;
            }
            if !private_dir::is_entry_name(&name) {
                continue;
            }
            if let Ok(Some(mut f)) = self.dir.open_entry(&name) {
                let mut bytes = Vec::new();
                if f.read_to_end(&mut bytes).is_ok()
                    && stale(&bytes)
                    && self.dir.remove(&name).is_ok()
                {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.dir
            .remove(&Self::name_for(key))
            .map_err(|e| Error::unexpected("cannot delete a cached entry").caused_by(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_delete() {
        let d = tempfile::tempdir().unwrap();
        let s = FileStore::new(d.path().join("store")).unwrap();
        assert_eq!(s.get("a").unwrap(), None);
        s.set("a", b"one").unwrap();
        s.set("a", b"two").unwrap();
        assert_eq!(s.get("a").unwrap().as_deref(), Some(&b"two"[..]));
        s.delete("a").unwrap();
        s.delete("a").unwrap();
        assert_eq!(s.get("a").unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_and_names_hide_keys() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let s = FileStore::new(d.path().join("store")).unwrap();
        s.set("awscred:sso-token:https://corp.example/start", b"x")
            .unwrap();
        let dir_mode = std::fs::metadata(s.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        let entries: Vec<_> = std::fs::read_dir(s.dir())
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(entries.len(), 1, "no temporary files left behind");
        let name = entries[0].file_name().into_string().unwrap();
        assert!(!name.contains("corp"));
        assert_eq!(
            entries[0].metadata().unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_directory_others_can_write() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("open");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = FileStore::new(dir).unwrap_err();
        assert!(e.message().contains("can be written by other users"));
        assert!(e.hint().unwrap().contains("chmod 700"));
    }

    #[cfg(unix)]
    #[test]
    fn prune_deletes_only_names_the_store_writes() {
        let d = tempfile::tempdir().unwrap();
        let s = FileStore::new(d.path().join("store")).unwrap();
        s.set("mine", b"stale").unwrap();
        let foreign = [
            "aws-cli-cache.json",
            "botocore-client-id-us-east-1.json",
            "0123456789ABCDEF0123456789ABCDEF.json",
            ".something.tmp",
        ];
        for name in foreign {
            fs_err::write(s.dir().join(name), b"stale").unwrap();
        }
        assert_eq!(s.prune(&|b| b == b"stale").unwrap(), 1);
        assert_eq!(s.get("mine").unwrap(), None);
        for name in foreign {
            assert!(s.dir().join(name).exists(), "{name} survives");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_entry_is_neither_followed_nor_pruned_through() {
        let d = tempfile::tempdir().unwrap();
        let s = FileStore::new(d.path().join("store")).unwrap();
        let target = d.path().join("elsewhere.json");
        fs_err::write(&target, br#"{"v":1,"key":"k","data":"planted"}"#).unwrap();
        std::os::unix::fs::symlink(&target, s.path_for("k")).unwrap();
        assert_eq!(s.get("k").unwrap(), None, "a link is a miss");
        assert_eq!(s.prune(&|_| true).unwrap(), 0);
        assert!(target.exists());
        s.set("k", b"mine").unwrap();
        assert_eq!(s.get("k").unwrap().as_deref(), Some(&b"mine"[..]));
        assert_eq!(
            fs_err::read(&target).unwrap(),
            br#"{"v":1,"key":"k","data":"planted"}"#,
            "the write replaced the link, not its target"
        );
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_store_that_is_a_link_or_under_a_cache_of_someone_else() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::create_dir(d.path().join("cache")).unwrap();
        std::os::unix::fs::symlink(&real, d.path().join("cache/store")).unwrap();
        let e = FileStore::new(d.path().join("cache/store")).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(
            e.message().contains("is a symbolic link"),
            "{}",
            e.message()
        );
        assert!(e.hint().is_some());
        if rustix::process::geteuid().is_root() {
            let theirs = d.path().join("theirs");
            std::fs::create_dir(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(54322), Some(54322)).unwrap();
            let e = FileStore::new(theirs.join("store")).unwrap_err();
            assert!(
                e.message().contains("belongs to uid 54322"),
                "{}",
                e.message()
            );
        }
    }
}
