//! The cache directory is ours or refused.
//!
//! The file store and the lock files live in directories that only the user may change. On
//! Unix a directory is trusted when the user (the effective uid) owns it, it is not a
//! symbolic link and nobody else can write it; every directory above it must belong to root
//! or the user and be closed to other writers, except a sticky directory such as `/tmp`,
//! where others can add names but never rename or remove the user's. The walk down from `/`
//! opens each directory relative to the one above with `O_NOFOLLOW`, so a name swapped
//! after a check is never followed, and entries and locks are opened relative to the
//! trusted directory's handle and checked for their owner.
//!
//! The decisions are pure functions of `stat` facts ([`judge_private`], [`judge_ancestor`],
//! [`judge_entry`]) and are tested on any platform; the calls around them are thin.
//!
//! On Windows the directory is used by path. Under the user's profile (the default,
//! `%LOCALAPPDATA%\awscred`) the profile's access list already admits only the user, SYSTEM
//! and Administrators. Elsewhere (`AWSCRED_CACHE_DIR=D:\creds`, where folders inherit
//! `C:\`'s or `D:\`'s grant of write access to every signed-in user, and Unix permission
//! bits mean nothing) the topmost directory awscred creates gets an access list of its own,
//! inherited by everything below it: no inherited entries, full control for the user and
//! SYSTEM, nobody else ([`icacls_args`]). A directory that was already there is left as
//! its owner made it.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// What `stat` says of one directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The owner.
    pub uid: u32,
    /// Type and permission bits, as in `st_mode`.
    pub mode: u32,
}

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_ISVTX: u32 = 0o1000;
const GROUP_OR_WORLD_WRITE: u32 = 0o022;

impl Facts {
    fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }
    fn is_symlink(&self) -> bool {
        self.kind() == S_IFLNK
    }
    fn is_dir(&self) -> bool {
        self.kind() == S_IFDIR
    }
    fn is_file(&self) -> bool {
        self.kind() == S_IFREG
    }
    fn others_can_write(&self) -> bool {
        self.mode & GROUP_OR_WORLD_WRITE != 0
    }
    fn sticky(&self) -> bool {
        self.mode & S_ISVTX != 0
    }
}

/// Why a directory or entry is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It is a symbolic link.
    Symlink,
    /// It is not a directory (or, for an entry, not a regular file).
    WrongType,
    /// Someone other than the user owns it.
    OwnedBy(u32),
    /// Its group or other users can write it.
    WritableByOthers,
    /// An ancestor belongs to someone other than root or the user.
    AncestorOwnedBy(u32),
    /// An ancestor that is not sticky can be written by its group or other users.
    AncestorWritableByOthers,
    /// A sticky, shared ancestor holds a name that belongs to someone else.
    SharedAncestorEntryOwnedBy(u32),
}

/// Judges a directory awscred keeps secrets or locks in: the user's, not a symbolic link,
/// closed to other writers.
pub fn judge_private(dir: Facts, euid: u32) -> Result<(), Refusal> {
    if dir.is_symlink() {
        return Err(Refusal::Symlink);
    }
    if !dir.is_dir() {
        return Err(Refusal::WrongType);
    }
    if dir.uid != euid {
        return Err(Refusal::OwnedBy(dir.uid));
    }
    if dir.others_can_write() {
        return Err(Refusal::WritableByOthers);
    }
    Ok(())
}

/// Judges a directory above a private one, given what is below it on the path: it belongs
/// to root or the user, and nobody else can write it unless it is sticky and the name below
/// it belongs to root or the user (nobody else can then rename or remove that name).
pub fn judge_ancestor(dir: Facts, below: Facts, euid: u32) -> Result<(), Refusal> {
    if dir.is_symlink() {
        return Err(Refusal::Symlink);
    }
    if !dir.is_dir() {
        return Err(Refusal::WrongType);
    }
    if dir.uid != 0 && dir.uid != euid {
        return Err(Refusal::AncestorOwnedBy(dir.uid));
    }
    if dir.others_can_write() {
        if !dir.sticky() {
            return Err(Refusal::AncestorWritableByOthers);
        }
        if below.uid != 0 && below.uid != euid {
            return Err(Refusal::SharedAncestorEntryOwnedBy(below.uid));
        }
    }
    Ok(())
}

/// Judges an entry or lock file inside a private directory: a regular file of the user's.
pub fn judge_entry(file: Facts, euid: u32) -> Result<(), Refusal> {
    if file.is_symlink() {
        return Err(Refusal::Symlink);
    }
    if !file.is_file() {
        return Err(Refusal::WrongType);
    }
    if file.uid != euid {
        return Err(Refusal::OwnedBy(file.uid));
    }
    Ok(())
}

/// The error for a refused directory: names it, says why and how to fix it (exit 1).
pub fn refused_dir(path: &Path, refusal: Refusal, euid: u32) -> Error {
    let p = path.display();
    let elsewhere = "or set AWSCRED_CACHE_DIR to a private directory of yours";
    let (message, hint) = match refusal {
        Refusal::Symlink => (
            format!("the cache directory {p} is a symbolic link"),
            format!("replace it with a directory: rm {p} && mkdir -m 700 {p}, {elsewhere}"),
        ),
        Refusal::WrongType => (
            format!("the cache directory {p} is not a directory"),
            format!("remove {p}, {elsewhere}"),
        ),
        Refusal::OwnedBy(uid) => (
            format!("the cache directory {p} belongs to uid {uid}, not to you (uid {euid})"),
            format!("remove it (it may hold credentials planted by someone else), {elsewhere}"),
        ),
        Refusal::WritableByOthers => (
            format!("the cache directory {p} can be written by other users"),
            format!("run chmod 700 {p} {elsewhere}"),
        ),
        Refusal::AncestorOwnedBy(uid) => (
            format!(
                "{p}, above the cache directory, belongs to uid {uid}, who could replace what is below it"
            ),
            format!("keep the cache under directories owned by you or root, {elsewhere}"),
        ),
        Refusal::AncestorWritableByOthers => (
            format!(
                "{p}, above the cache directory, can be written by other users, who could replace what is below it"
            ),
            format!("run chmod go-w {p} (or chmod +t {p} if it is shared), {elsewhere}"),
        ),
        Refusal::SharedAncestorEntryOwnedBy(uid) => (
            format!("{p}, in a shared directory, belongs to uid {uid}, not to you (uid {euid})"),
            format!("use a directory that you made, {elsewhere}"),
        ),
    };
    Error::user(format!(
        "{message}; awscred will not keep credentials there"
    ))
    .with_hint(hint)
}

/// Whether `name` is an entry the file store writes (`<32 hex>.json`). Pruning touches
/// nothing but these and [`is_temp_name`]s, whatever else a directory holds.
pub fn is_entry_name(name: &str) -> bool {
    name.strip_suffix(".json")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Whether `name` is the temporary file of an interrupted write of an entry
/// (`.<entry>.<pid>.<random>.tmp`).
pub fn is_temp_name(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let mut parts = inner.rsplitn(3, '.');
    let (Some(random), Some(pid), Some(entry)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(random) && digits(pid) && is_entry_name(entry)
}

/// The temporary name for writing `name`.
fn temp_name(name: &str) -> String {
    format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Creates the missing directories above `dir`, private, as before any check (a
/// directory that cannot be created is reported as the cache directory it was for).
#[cfg(unix)]
fn create_parents(dir: &Path, shown: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    if parent.as_os_str().is_empty() || parent.is_dir() {
        return Ok(());
    }
    let made = {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
    };
    made.map_err(|e| cannot_create(shown, &e))
}

/// The first directory on the way down to `dir` that does not exist: the topmost one
/// creating `dir` makes. `None` when `dir` exists.
pub fn topmost_missing(dir: &Path, exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let mut missing = None;
    for a in dir.ancestors() {
        if a.as_os_str().is_empty() || exists(a) {
            break;
        }
        missing = Some(a.to_path_buf());
    }
    missing
}

/// A Windows path as lower-case components, `.` and `..` resolved and the `\\?\` prefix
/// dropped, for comparing paths the way Windows does (any case, either slash).
fn windows_components(path: &str) -> Vec<String> {
    let path = path.replace('/', "\\");
    let path = path
        .strip_prefix(r"\\?\UNC\")
        .or_else(|| path.strip_prefix(r"\\?\"))
        .unwrap_or(&path);
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('\\') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            p => parts.push(p.to_lowercase()),
        }
    }
    parts
}

/// Whether the Windows path `dir` is the profile directory `profile` or inside it, where
/// the profile's access list keeps other users out. A profile that is a whole drive does
/// not count.
pub fn under_profile(dir: &str, profile: &str) -> bool {
    let dir = windows_components(dir);
    let profile = windows_components(profile);
    profile.len() >= 2 && dir.starts_with(&profile)
}

/// Whether a directory awscred has just created at `created` needs an access list of its
/// own: unless it is under the user's profile (or where the profile is, is unknown).
pub fn needs_access_list(created: &str, profile: Option<&str>) -> bool {
    profile.is_none_or(|p| !under_profile(created, p))
}

/// The well-known SID of the operating system's own account (`NT AUTHORITY\SYSTEM`).
const SYSTEM_SID: &str = "S-1-5-18";

/// The user's security identifier from the output of `whoami /user /fo csv /nh`
/// (`"host\user","S-1-5-21-…"`).
pub fn sid_from_whoami(output: &str) -> Option<String> {
    let line = output.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let sid = line.rsplit(',').next()?.trim().trim_matches('"');
    let rest = sid.strip_prefix("S-1-")?;
    let well_formed = !rest.is_empty()
        && rest
            .split('-')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    well_formed.then(|| sid.to_string())
}

/// Who `icacls` grants the directory to: the user's SID (`*S-1-5-21-…`) when `whoami`
/// told it, else `DOMAIN\user` from `USERDOMAIN` and `USERNAME`.
pub fn acl_principal(
    whoami: Option<&str>,
    domain: Option<&str>,
    user: Option<&str>,
) -> Option<String> {
    if let Some(sid) = whoami.and_then(sid_from_whoami) {
        return Some(format!("*{sid}"));
    }
    let user = user.filter(|u| !u.is_empty())?;
    Some(match domain.filter(|d| !d.is_empty()) {
        Some(d) => format!("{d}\\{user}"),
        None => user.to_string(),
    })
}

/// The `icacls` arguments that give `dir` an access list of its own: inherited entries
/// removed, full control for `principal` and SYSTEM, passed on to everything created
/// inside (`(OI)(CI)`), nobody else. SYSTEM stays because it is the operating system
/// itself (backup, indexing, antivirus), which can take any file regardless.
pub fn icacls_args(dir: &Path, principal: &str) -> Vec<std::ffi::OsString> {
    vec![
        dir.as_os_str().to_owned(),
        "/inheritance:r".into(),
        "/grant:r".into(),
        format!("{principal}:(OI)(CI)F").into(),
        format!("*{SYSTEM_SID}:(OI)(CI)F").into(),
        "/q".into(),
    ]
}

fn cannot_create(dir: &Path, e: &std::io::Error) -> Error {
    Error::unexpected(format!(
        "cannot create the cache directory {}",
        dir.display()
    ))
    .caused_by(e)
    .with_hint(format!(
        "check the permissions of {} or set AWSCRED_CACHE_DIR",
        dir.parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    ))
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    std::path::absolute(dir).map_err(|e| {
        Error::unexpected(format!(
            "cannot resolve the cache directory {}",
            dir.display()
        ))
        .caused_by(&e)
    })
}

fn leaf_name(dir: &Path) -> Result<&std::ffi::OsStr> {
    dir.file_name().ok_or_else(|| {
        Error::user(format!(
            "the cache directory {} does not name a directory",
            dir.display()
        ))
        .with_hint("set AWSCRED_CACHE_DIR to a path such as ~/.cache/awscred")
    })
}

#[cfg(unix)]
pub use unix::PrivateDir;

/// Opens `dir` (the store or the locks) and the cache directory that holds it: both must be
/// private, and everything above them trusted.
pub fn open_in_cache(dir: &Path) -> Result<PrivateDir> {
    let dir = absolute(dir)?;
    let name = leaf_name(&dir)?;
    let Some(cache) = dir.parent() else {
        return Err(Error::user(format!(
            "{} is not inside a cache directory",
            dir.display()
        )));
    };
    PrivateDir::open(cache)?.subdir(name)
}

#[cfg(not(unix))]
pub use portable::PrivateDir;

#[cfg(unix)]
mod unix {
    use super::*;
    use rustix::fs::{AtFlags, Mode, OFlags, Stat};
    use rustix::io::Errno;
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io::Write;
    use std::os::fd::OwnedFd;

    /// A directory checked to be the user's, held open; everything in it is reached through
    /// this handle.
    #[derive(Debug)]
    pub struct PrivateDir {
        path: PathBuf,
        fd: OwnedFd,
        facts: Facts,
        euid: u32,
    }

    #[allow(clippy::useless_conversion)]
    fn facts(st: &Stat) -> Facts {
        Facts {
            uid: st.st_uid,
            mode: u32::from(st.st_mode),
        }
    }

    /// The path a refusal of `ancestor` names: the entry below it when that is at fault.
    fn blame<'a>(r: Refusal, ancestor: &'a Path, below: &'a Path) -> &'a Path {
        match r {
            Refusal::SharedAncestorEntryOwnedBy(_) => below,
            _ => ancestor,
        }
    }

    /// Flags for holding a directory on the walk: searchable without being readable.
    fn walk_flags() -> OFlags {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let base = OFlags::PATH;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let base = OFlags::RDONLY;
        base | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
    }

    fn io(e: Errno) -> std::io::Error {
        std::io::Error::from(e)
    }

    impl PrivateDir {
        /// Opens the cache directory `dir` (creating it, and what is missing above it,
        /// 0700) after checking every directory from `/` down; refuses it unless it and
        /// its ancestors are trusted.
        pub fn open(dir: &Path) -> Result<Self> {
            let dir = absolute(dir)?;
            let name = leaf_name(&dir)?.to_owned();
            create_parents(&dir, &dir)?;
            let parent = dir.parent().unwrap_or(Path::new("/"));
            let real = std::fs::canonicalize(parent).map_err(|e| cannot_create(&dir, &e))?;
            let euid = rustix::process::geteuid().as_raw();
            let root = rustix::fs::open("/", walk_flags(), Mode::empty())
                .map_err(|e| Error::unexpected("cannot open /").caused_by(&io(e)))?;
            let mut at = PathBuf::from("/");
            let mut fd = root;
            let mut here = facts(
                &rustix::fs::fstat(&fd)
                    .map_err(|e| Error::unexpected("cannot read /").caused_by(&io(e)))?,
            );
            for part in real.components().skip(1) {
                let std::path::Component::Normal(part) = part else {
                    continue;
                };
                let next_path = at.join(part);
                let next = match rustix::fs::openat(&fd, part, walk_flags(), Mode::empty()) {
                    Ok(next) => next,
                    Err(e) => {
                        return Err(classify(&fd, part, e)
                            .map(|r| refused_dir(&next_path, r, euid))
                            .unwrap_or_else(|e| {
                                Error::unexpected(format!("cannot open {}", next_path.display()))
                                    .caused_by(&e)
                            }));
                    }
                };
                let below = facts(&rustix::fs::fstat(&next).map_err(|e| {
                    Error::unexpected(format!("cannot read {}", next_path.display()))
                        .caused_by(&io(e))
                })?);
                judge_ancestor(here, below, euid)
                    .map_err(|r| refused_dir(blame(r, &at, &next_path), r, euid))?;
                at = next_path;
                fd = next;
                here = below;
            }
            let (leaf, leaf_facts) = open_child_dir(&fd, &name, &dir, euid)?;
            judge_ancestor(here, leaf_facts, euid)
                .map_err(|r| refused_dir(blame(r, &at, &dir), r, euid))?;
            Ok(Self {
                path: dir,
                fd: leaf,
                facts: leaf_facts,
                euid,
            })
        }

        /// Opens (creating, 0700) the private directory `name` inside this one.
        pub fn subdir(&self, name: &OsStr) -> Result<Self> {
            let path = self.path.join(name);
            let (fd, facts) = open_child_dir(&self.fd, name, &path, self.euid)?;
            judge_ancestor(self.facts, facts, self.euid)
                .map_err(|r| refused_dir(blame(r, &self.path, &path), r, self.euid))?;
            Ok(Self {
                path,
                fd,
                facts,
                euid: self.euid,
            })
        }

        /// Where it is.
        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Opens the entry `name` for reading: a regular file of the user's, never through
        /// a symbolic link. `Ok(None)` when there is none.
        pub fn open_entry(&self, name: &str) -> std::io::Result<Option<File>> {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
            let fd = match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(self.entry_error(name, e)),
            };
            self.check_entry(name, &fd)?;
            Ok(Some(File::from(fd)))
        }

        /// Opens (creating, 0600, never truncating) the file `name` for a lock: a regular
        /// file of the user's, never through a symbolic link.
        pub fn open_lock(&self, name: &str) -> std::io::Result<File> {
            let flags = OFlags::RDWR
                | OFlags::CREATE
                | OFlags::NOFOLLOW
                | OFlags::NONBLOCK
                | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(0o600))
                .map_err(|e| self.entry_error(name, e))?;
            self.check_entry(name, &fd)?;
            Ok(File::from(fd))
        }

        fn check_entry(&self, name: &str, fd: &OwnedFd) -> std::io::Result<()> {
            let st = rustix::fs::fstat(fd).map_err(io)?;
            judge_entry(facts(&st), self.euid).map_err(|r| refused_entry(&self.path.join(name), r))
        }

        fn entry_error(&self, name: &str, e: Errno) -> std::io::Error {
            match classify(&self.fd, OsStr::new(name), e) {
                Ok(r) => refused_entry(&self.path.join(name), r),
                Err(e) => e,
            }
        }

        /// Writes `bytes` as `name` atomically: a new temporary file (exclusive, never
        /// through a link) with `mode`, synced, renamed over the old entry.
        pub fn write_atomic(&self, name: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
            let tmp = temp_name(name);
            let result = (|| {
                let flags = OFlags::WRONLY
                    | OFlags::CREATE
                    | OFlags::EXCL
                    | OFlags::NOFOLLOW
                    | OFlags::CLOEXEC;
                let fd = rustix::fs::openat(
                    &self.fd,
                    tmp.as_str(),
                    flags,
                    Mode::from_raw_mode(mode as _),
                )
                .map_err(io)?;
                let mut f = File::from(fd);
                f.write_all(bytes)?;
                f.sync_all()?;
                rustix::fs::renameat(&self.fd, tmp.as_str(), &self.fd, name).map_err(io)
            })();
            if result.is_err() {
                let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
            }
            result
        }

        /// Removes the entry `name`; a missing one is not an error.
        pub fn remove(&self, name: &str) -> std::io::Result<()> {
            match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(io(e)),
            }
        }

        /// The names in the directory.
        pub fn names(&self) -> std::io::Result<Vec<String>> {
            let dir = rustix::fs::Dir::read_from(&self.fd).map_err(io)?;
            let mut names = Vec::new();
            for entry in dir {
                let entry = entry.map_err(io)?;
                if let Ok(name) = entry.file_name().to_str()
                    && name != "."
                    && name != ".."
                {
                    names.push(name.to_string());
                }
            }
            Ok(names)
        }

        /// How long ago `name` (not followed if a link) was last changed.
        pub fn age(&self, name: &str) -> Option<std::time::Duration> {
            let st = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
            let secs = u64::try_from(st.st_mtime).ok()?;
            let modified =
                std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))?;
            modified.elapsed().ok()
        }
    }

    /// Opens (creating, 0700) the directory `name` under `parent`, and checks it is private.
    fn open_child_dir(
        parent: &OwnedFd,
        name: &OsStr,
        path: &Path,
        euid: u32,
    ) -> Result<(OwnedFd, Facts)> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let open = || rustix::fs::openat(parent, name, flags, Mode::empty());
        let fd = match open() {
            Err(Errno::NOENT) => {
                match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(cannot_create(path, &io(e))),
                }
                open()
            }
            other => other,
        };
        let fd = match fd {
            Ok(fd) => fd,
            Err(e) => {
                return Err(match classify(parent, name, e) {
                    Ok(r) => refused_dir(path, r, euid),
                    Err(e) => Error::unexpected(format!(
                        "cannot open the cache directory {}",
                        path.display()
                    ))
                    .caused_by(&e),
                });
            }
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| {
            Error::unexpected(format!(
                "cannot read the cache directory {}",
                path.display()
            ))
            .caused_by(&io(e))
        })?;
        let f = facts(&st);
        judge_private(f, euid).map_err(|r| refused_dir(path, r, euid))?;
        Ok((fd, f))
    }

    /// After an `openat` with `O_NOFOLLOW` failed: a link or the wrong type is a refusal,
    /// anything else the error itself.
    fn classify(parent: &OwnedFd, name: &OsStr, e: Errno) -> std::io::Result<Refusal> {
        match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if facts(&st).is_symlink() => Ok(Refusal::Symlink),
            Ok(_) if e == Errno::NOTDIR => Ok(Refusal::WrongType),
            _ => Err(io(e)),
        }
    }
}

/// The error for an entry or lock file that is not the user's own regular file.
#[cfg_attr(not(unix), allow(dead_code))]
fn refused_entry(path: &Path, refusal: Refusal) -> std::io::Error {
    let why = match refusal {
        Refusal::Symlink => "is a symbolic link".to_string(),
        Refusal::OwnedBy(uid) => format!("belongs to uid {uid}"),
        _ => "is not a regular file".to_string(),
    };
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        RefusedEntry(format!("{} {why}; awscred will not use it", path.display())),
    )
}

/// The cause of an entry that was refused (see [`is_refused_entry`]).
#[derive(Debug)]
struct RefusedEntry(String);

impl std::fmt::Display for RefusedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefusedEntry {}

/// Whether an I/O error is an entry refused for its type or owner (not a failure of the
/// disk), so the caller can say so and name the file.
pub fn is_refused_entry(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<RefusedEntry>())
}

#[cfg(not(unix))]
mod portable {
    use super::*;
    use std::fs::File;
    use std::io::Write;

    /// Gives the directory awscred has just created at `dir` an access list of its own
    /// ([`icacls_args`]) unless it is under the user's profile.
    #[cfg(windows)]
    fn restrict(dir: &Path) -> Result<()> {
        use std::process::{Command, Stdio};
        let profile = dirs::home_dir();
        let profile = profile.as_deref().map(|p| p.to_string_lossy());
        if !needs_access_list(&dir.to_string_lossy(), profile.as_deref()) {
            return Ok(());
        }
        let system32 = std::env::var_os("SystemRoot")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\Windows"))
            .join("System32");
        let whoami = Command::new(system32.join("whoami.exe"))
            .args(["/user", "/fo", "csv", "/nh"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let var = |n: &str| std::env::var(n).ok();
        let cannot = |why: String| {
            Error::unexpected(format!(
                "cannot make {} private to you: {why}",
                dir.display()
            ))
            .with_hint(
                "set AWSCRED_CACHE_DIR to a directory under your user profile \
                 (such as %LOCALAPPDATA%\\awscred)",
            )
        };
        let Some(principal) = acl_principal(
            whoami.as_deref(),
            var("USERDOMAIN").as_deref(),
            var("USERNAME").as_deref(),
        ) else {
            return Err(cannot("awscred cannot tell who you are".into()));
        };
        let out = Command::new(system32.join("icacls.exe"))
            .args(icacls_args(dir, &principal))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| cannot(format!("icacls did not start ({e})")))?;
        if !out.status.success() {
            let said = [&out.stderr, &out.stdout]
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .join(" ");
            return Err(cannot(format!(
                "icacls failed ({}): {}",
                out.status,
                crate::remote::text(said.trim())
            )));
        }
        Ok(())
    }

    /// Elsewhere the directory is used as created.
    #[cfg(not(windows))]
    fn restrict(_dir: &Path) -> Result<()> {
        Ok(())
    }

    /// A directory used by path, kept private by its access list: the user profile's, or
    /// one of its own when awscred created it elsewhere.
    #[derive(Debug)]
    pub struct PrivateDir {
        path: PathBuf,
    }

    impl PrivateDir {
        /// Opens (creating) the cache directory `dir`. The topmost directory this creates
        /// outside the user's profile gets an access list that admits only the user (and
        /// SYSTEM) before anything is created inside it.
        pub fn open(dir: &Path) -> Result<Self> {
            let dir = absolute(dir)?;
            leaf_name(&dir)?;
            if let Some(top) = topmost_missing(&dir, |p| std::fs::symlink_metadata(p).is_ok()) {
                match std::fs::create_dir(&top) {
                    Ok(()) => {
                        if let Err(e) = restrict(&top) {
                            // Left as it is, the next run would find it and use it open.
                            let _ = std::fs::remove_dir(&top);
                            return Err(e);
                        }
                    }
                    // Another awscred made it a moment ago (and restricts it).
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(cannot_create(&dir, &e)),
                }
            }
            std::fs::DirBuilder::new()
                .recursive(true)
                .create(&dir)
                .map_err(|e| cannot_create(&dir, &e))?;
            Ok(Self { path: dir })
        }

        /// Opens (creating) the directory `name` inside this one.
        pub fn subdir(&self, name: &std::ffi::OsStr) -> Result<Self> {
            Self::open(&self.path.join(name))
        }

        /// Where it is.
        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Opens the entry `name` for reading; `Ok(None)` when there is none.
        pub fn open_entry(&self, name: &str) -> std::io::Result<Option<File>> {
            match File::open(self.path.join(name)) {
                Ok(f) => Ok(Some(f)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }

        /// Opens (creating, never truncating) the lock file `name`.
        pub fn open_lock(&self, name: &str) -> std::io::Result<File> {
            File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(self.path.join(name))
        }

        /// Writes `bytes` as `name` atomically (temporary file, then rename).
        pub fn write_atomic(&self, name: &str, bytes: &[u8], _mode: u32) -> std::io::Result<()> {
            let tmp = self.path.join(temp_name(name));
            let result = (|| {
                let mut f = File::options().write(true).create_new(true).open(&tmp)?;
                f.write_all(bytes)?;
                f.sync_all()?;
                std::fs::rename(&tmp, self.path.join(name))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        }

        /// Removes the entry `name`; a missing one is not an error.
        pub fn remove(&self, name: &str) -> std::io::Result<()> {
            match std::fs::remove_file(self.path.join(name)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        }

        /// The names in the directory.
        pub fn names(&self) -> std::io::Result<Vec<String>> {
            Ok(std::fs::read_dir(&self.path)?
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect())
        }

        /// How long ago `name` was last changed.
        pub fn age(&self, name: &str) -> Option<std::time::Duration> {
            std::fs::symlink_metadata(self.path.join(name))
                .and_then(|m| m.modified())
                .ok()?
                .elapsed()
                .ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 1000;
    const OTHER: u32 = 1001;
    fn dir(uid: u32, perm: u32) -> Facts {
        Facts {
            uid,
            mode: S_IFDIR | perm,
        }
    }

    #[test]
    fn a_private_directory_is_the_users_own_closed_directory() {
        assert_eq!(judge_private(dir(ME, 0o700), ME), Ok(()));
        assert_eq!(judge_private(dir(ME, 0o755), ME), Ok(()));
        assert_eq!(
            judge_private(dir(OTHER, 0o700), ME),
            Err(Refusal::OwnedBy(OTHER))
        );
        assert_eq!(
            judge_private(dir(0, 0o700), ME),
            Err(Refusal::OwnedBy(0)),
            "not even root's"
        );
        assert_eq!(
            judge_private(dir(ME, 0o770), ME),
            Err(Refusal::WritableByOthers)
        );
        assert_eq!(
            judge_private(dir(ME, 0o1777), ME),
            Err(Refusal::WritableByOthers),
            "sticky is no excuse for the directory itself"
        );
        let link = Facts {
            uid: ME,
            mode: S_IFLNK | 0o777,
        };
        assert_eq!(judge_private(link, ME), Err(Refusal::Symlink));
        let file = Facts {
            uid: ME,
            mode: S_IFREG | 0o600,
        };
        assert_eq!(judge_private(file, ME), Err(Refusal::WrongType));
    }

    #[test]
    fn ancestors_belong_to_root_or_the_user_and_are_closed_unless_sticky() {
        let mine = dir(ME, 0o700);
        assert_eq!(judge_ancestor(dir(0, 0o755), mine, ME), Ok(()));
        assert_eq!(judge_ancestor(dir(ME, 0o755), mine, ME), Ok(()));
        assert_eq!(
            judge_ancestor(dir(OTHER, 0o755), mine, ME),
            Err(Refusal::AncestorOwnedBy(OTHER))
        );
        assert_eq!(
            judge_ancestor(dir(0, 0o777), mine, ME),
            Err(Refusal::AncestorWritableByOthers)
        );
        assert_eq!(
            judge_ancestor(dir(ME, 0o775), mine, ME),
            Err(Refusal::AncestorWritableByOthers)
        );
        // /tmp: shared but sticky; what is below must be the user's or root's.
        assert_eq!(judge_ancestor(dir(0, 0o1777), mine, ME), Ok(()));
        assert_eq!(judge_ancestor(dir(0, 0o1777), dir(0, 0o755), ME), Ok(()));
        assert_eq!(
            judge_ancestor(dir(0, 0o1777), dir(OTHER, 0o700), ME),
            Err(Refusal::SharedAncestorEntryOwnedBy(OTHER))
        );
        let link = Facts {
            uid: 0,
            mode: S_IFLNK | 0o777,
        };
        assert_eq!(judge_ancestor(link, mine, ME), Err(Refusal::Symlink));
    }

    #[test]
    fn root_trusts_only_its_own() {
        assert_eq!(judge_private(dir(0, 0o700), 0), Ok(()));
        assert_eq!(
            judge_ancestor(dir(OTHER, 0o700), dir(0, 0o700), 0),
            Err(Refusal::AncestorOwnedBy(OTHER))
        );
    }

    #[test]
    fn entries_are_the_users_regular_files() {
        let f = |uid, kind| Facts {
            uid,
            mode: kind | 0o600,
        };
        assert_eq!(judge_entry(f(ME, S_IFREG), ME), Ok(()));
        assert_eq!(
            judge_entry(f(OTHER, S_IFREG), ME),
            Err(Refusal::OwnedBy(OTHER))
        );
        assert_eq!(judge_entry(f(ME, S_IFLNK), ME), Err(Refusal::Symlink));
        assert_eq!(judge_entry(f(ME, S_IFDIR), ME), Err(Refusal::WrongType));
        assert_eq!(judge_entry(f(ME, 0o010_000), ME), Err(Refusal::WrongType));
    }

    #[test]
    fn refusals_name_the_directory_and_how_to_fix_it() {
        let e = refused_dir(Path::new("/c/store"), Refusal::Symlink, ME);
        assert_eq!(e.exit_code(), 1);
        assert!(
            e.message().contains("/c/store is a symbolic link"),
            "{}",
            e.message()
        );
        assert!(e.hint().unwrap().contains("AWSCRED_CACHE_DIR"));
        let e = refused_dir(Path::new("/c"), Refusal::OwnedBy(OTHER), ME);
        assert!(
            e.message().contains("belongs to uid 1001"),
            "{}",
            e.message()
        );
        let e = refused_dir(Path::new("/c"), Refusal::WritableByOthers, ME);
        assert!(e.message().contains("can be written by other users"));
        assert!(e.hint().unwrap().contains("chmod 700 /c"));
        let e = refused_dir(Path::new("/s"), Refusal::AncestorWritableByOthers, ME);
        assert!(e.hint().unwrap().contains("chmod go-w /s"));
    }

    #[test]
    fn the_topmost_missing_directory_is_the_first_one_created() {
        let tmp = tempfile::tempdir().unwrap();
        let exists = |p: &Path| p.exists();
        let dir = tmp.path().join("a").join("b").join("c");
        assert_eq!(topmost_missing(&dir, exists), Some(tmp.path().join("a")));
        fs_err::create_dir_all(tmp.path().join("a").join("b")).unwrap();
        assert_eq!(topmost_missing(&dir, exists), Some(dir.clone()));
        std::fs::create_dir(&dir).unwrap();
        assert_eq!(topmost_missing(&dir, exists), None);
        assert_eq!(
            topmost_missing(Path::new("x/y"), |_| false),
            Some(PathBuf::from("x")),
            "stops at the end of a relative path"
        );
    }

    #[test]
    fn only_directories_outside_the_profile_get_an_access_list() {
        let profile = r"C:\Users\Ada";
        for inside in [
            r"C:\Users\Ada\AppData\Local\awscred",
            r"c:\users\ada\.cache\awscred",
            r"C:/Users/Ada/x",
            r"\\?\C:\Users\Ada\AppData\Local\awscred",
            r"C:\Users\Ada",
            r"C:\Users\Ada\.\x\..\y",
        ] {
            assert!(under_profile(inside, profile), "{inside}");
            assert!(!needs_access_list(inside, Some(profile)), "{inside}");
        }
        for outside in [
            r"C:\awscred",
            r"D:\creds\awscred",
            r"C:\Users\Ada2\awscred",
            r"C:\Users\Public\awscred",
            r"C:\Users\Ada\..\Bob\awscred",
            r"\\server\share\Users\Ada\awscred",
        ] {
            assert!(!under_profile(outside, profile), "{outside}");
            assert!(needs_access_list(outside, Some(profile)), "{outside}");
        }
        assert!(
            needs_access_list(r"C:\Users\Ada\x", None),
            "an unknown profile protects nothing"
        );
        assert!(
            !under_profile(r"C:\awscred", r"C:\"),
            "a whole drive is no profile"
        );
        assert!(under_profile(
            r"\\?\UNC\server\home\ada\awscred",
            r"\\server\home\ada"
        ));
    }

    #[test]
    fn the_access_list_admits_the_user_and_system_only() {
        let whoami = "\"desktop-1\\ada\",\"S-1-5-21-1004336348-1177238915-682003330-1001\"\r\n";
        let principal = acl_principal(Some(whoami), Some("DESKTOP-1"), Some("ada")).unwrap();
        assert_eq!(principal, "*S-1-5-21-1004336348-1177238915-682003330-1001");
        let args = icacls_args(Path::new(r"D:\creds\awscred"), &principal);
        assert_eq!(
            args,
            [
                r"D:\creds\awscred",
                "/inheritance:r",
                "/grant:r",
                "*S-1-5-21-1004336348-1177238915-682003330-1001:(OI)(CI)F",
                "*S-1-5-18:(OI)(CI)F",
                "/q",
            ]
            .map(std::ffi::OsString::from)
        );
        // Without whoami, the names in the environment; without those, nobody to grant.
        assert_eq!(
            acl_principal(None, Some("CORP"), Some("ada")).as_deref(),
            Some(r"CORP\ada")
        );
        assert_eq!(
            acl_principal(Some("garbage"), None, Some("ada")).as_deref(),
            Some("ada")
        );
        assert_eq!(acl_principal(None, Some("CORP"), None), None);
        for bad in [
            "",
            "\"a\",\"S-1-\"",
            "\"a\",\"S-1-5-x\"",
            "\"a\",\"X-1-5-18\"",
            "S-1-5--1",
        ] {
            assert_eq!(sid_from_whoami(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_names_awscred_writes_are_its_own() {
        let entry = "0123456789abcdef0123456789abcdef.json";
        assert!(is_entry_name(entry));
        assert!(is_temp_name(&format!(".{entry}.4242.17.tmp")));
        for other in [
            "aws-cli-cache.json",
            "d3b07384d113edec49eaa6238ad5ff00.JSON",
            "0123456789ABCDEF0123456789ABCDEF.json",
            "0123456789abcdef0123456789abcde.json",
            "0123456789abcdef0123456789abcdef0.json",
            "botocore-client-id-us-east-1.json",
            "0123456789abcdef0123456789abcdef.lock",
            "last-prune",
            ".something.tmp",
            ".x.json.1.2.tmp",
            ".last-prune.1.2.tmp",
        ] {
            assert!(!is_entry_name(other), "{other}");
            assert!(!is_temp_name(other), "{other}");
        }
        assert!(!is_temp_name(&format!(".{entry}.x.17.tmp")));
        assert!(!is_temp_name(&format!("{entry}.1.17.tmp")));
    }
}
