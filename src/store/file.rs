//! The file store, for machines with no keyring (headless Linux, WSL, CI).
//!
//! One file per key under a private directory (0700), each written 0600 to a temporary
//! file and renamed into place, so a reader sees the old value or the new one, never a torn
//! one. File names are hashes of the keys, so nothing about a profile shows in a listing.
//! A directory that other users can write is refused.

use super::Store;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Values as files in one directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// Uses (and creates, private) `dir`.
    pub fn new(dir: PathBuf) -> Result<Self> {
        ensure_private_dir(&dir)?;
        Ok(Self { dir })
    }

    /// The file that holds `key`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        let digest = Sha256::digest(key.as_bytes());
        self.dir.join(format!("{}.json", hex(&digest[..16])))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates `dir` (and parents) readable by the owner only, and refuses one that others can
/// write.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    let hint = || {
        format!(
            "run chmod 700 {} or set AWSCRED_CACHE_DIR to a private directory",
            dir.display()
        )
    };
    if !dir.exists() {
        create_private(dir).map_err(|e| {
            Error::unexpected(format!(
                "cannot create the cache directory {}",
                dir.display()
            ))
            .caused_by(&e)
            .with_hint(format!(
                "check the permissions of {} or set AWSCRED_CACHE_DIR",
                parent_of(dir)
            ))
        })?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs_err::metadata(dir).map_err(|e| {
            Error::unexpected(format!("cannot read the cache directory {}", dir.display()))
                .caused_by(&e)
        })?;
        if meta.mode() & 0o022 != 0 {
            return Err(Error::user(format!(
                "the cache directory {} can be written by other users; awscred will not keep credentials there",
                dir.display()
            ))
            .with_hint(hint()));
        }
    }
    let _ = hint;
    Ok(())
}

fn parent_of(dir: &Path) -> String {
    dir.parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn create_private(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::DirBuilder::new().recursive(true).create(dir)
    }
}

/// Writes `bytes` to `path` atomically with owner-only permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// Writes `bytes` to `path` atomically with the given Unix mode.
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
            opts.mode(mode);
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
        format!("file ({})", self.dir.display())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path_for(key);
        match fs_err::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::unexpected("cannot read a cached entry").caused_by(&e)),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        let path = self.path_for(key);
        write_atomic(&path, value).map_err(|e| {
            Error::unexpected(format!(
                "cannot write to the cache directory {}",
                self.dir.display()
            ))
            .caused_by(&e)
            .with_hint(format!(
                "free space or fix permissions in {}, or set AWSCRED_CACHE to another store",
                self.dir.display()
            ))
        })
    }

    fn prune(&self, stale: &dyn Fn(&[u8]) -> bool) -> Result<usize> {
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                // Left by a writer that was killed between write and rename.
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .map(|t| t.elapsed().map(|e| e.as_secs() > 600).unwrap_or(false))
                    .unwrap_or(false);
                if old && fs_err::remove_file(&path).is_ok() {
                    removed += 1;
                }
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            if let Ok(bytes) = fs_err::read(&path)
                && stale(&bytes)
                && fs_err::remove_file(&path).is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn delete(&self, key: &str) -> Result<()> {
        match fs_err::remove_file(self.path_for(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::unexpected("cannot delete a cached entry").caused_by(&e)),
        }
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
}
