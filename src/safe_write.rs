//! Files awscred changes outside its own store: Claude Code settings, `~/.aws/config`, and
//! the backups of both.
//!
//! Every write goes to a temporary file created with `O_EXCL|O_NOFOLLOW` in the target's
//! directory, with the original's permissions (or the caller's choice for a new file), and
//! is then renamed over the original: a reader sees the old text or the new one, and a link
//! planted at any name is never written through.
//!
//! Where a file is decides how far links are trusted ([`Place`]). Inside a project (the
//! `.claude` directory of a checkout, which whoever wrote the repository controls) every
//! component is opened relative to the project directory without following links, for
//! reading as well as writing. A user's own file that is a link to another file the user
//! owns (stow, chezmoi, home-manager) is updated beside that target, keeping the link.
//!
//! Backups go to awscred's state directory, private, named by file and time; the last
//! [`BACKUPS_KEPT`] of each file are kept.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Largest file awscred reads here; settings files and AWS config are a few KiB.
const MAX_LEN: u64 = 4 << 20;
/// Backups kept per original file.
pub const BACKUPS_KEPT: usize = 5;
/// Backups of one file possible within one second.
const SAME_SECOND: u32 = 100;
/// Mode of a new file that holds nothing secret.
pub const MODE_SHARED: u32 = 0o644;
/// Mode of a new file that may hold a secret, and of every backup.
pub const MODE_PRIVATE: u32 = 0o600;

/// Where a file is, and so which links on the way to it are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A file of the user's own (`~/.claude/settings.json`, `~/.aws/config`, managed
    /// settings): a link to a regular file the user owns is updated beside its target.
    Own(PathBuf),
    /// `rel` under `root`, a directory whose contents someone else may have written (a
    /// checked-out repository): no component of `rel` is followed when it is a link.
    Inside {
        /// The project directory.
        root: PathBuf,
        /// Single names, outermost first, the file's last.
        rel: Vec<String>,
    },
}

impl Place {
    /// The path shown to the user.
    pub fn path(&self) -> PathBuf {
        match self {
            Place::Own(p) => p.clone(),
            Place::Inside { root, rel } => rel.iter().fold(root.clone(), |p, n| p.join(n)),
        }
    }
}

/// What is found at a name, without following a link there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Missing,
    Link,
    Dir,
    /// A regular file with its permission bits and owner.
    File {
        mode: u32,
        uid: u32,
    },
    Other,
}

fn link_refused(path: &Path) -> Error {
    Error::user(format!(
        "{} is a symbolic link; awscred does not follow links inside a project",
        path.display()
    ))
    .with_hint(format!(
        "replace {} with a regular file, or remove it",
        path.display()
    ))
}

fn not_a_file(path: &Path) -> Error {
    Error::user(format!("{} is not a regular file", path.display()))
        .with_hint(format!("remove or rename {}", path.display()))
}

fn cannot(verb: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::user(format!("cannot {verb} {}", path.display()))
        .caused_by(e)
        .with_hint("check the permissions of the file and its directory (managed settings need administrator rights)")
}

/// Reads a file as text; `None` when it does not exist.
pub fn read(place: &Place) -> Result<Option<String>> {
    let bytes = match place {
        Place::Own(path) => read_own(path)?,
        Place::Inside { root, rel } => read_inside(root, rel)?,
    };
    bytes
        .map(|b| {
            String::from_utf8(b).map_err(|_| {
                Error::user(format!("{} is not UTF-8 text", place.path().display())).with_hint(
                    format!(
                        "fix {} by hand; awscred left it unchanged",
                        place.path().display()
                    ),
                )
            })
        })
        .transpose()
}

/// Replaces a file's content atomically, keeping its permissions; a new file gets
/// `new_mode`.
#[cfg_attr(not(test), allow(dead_code))] // every writer today also keeps a backup
pub fn write(place: &Place, bytes: &[u8], new_mode: u32) -> Result<()> {
    replace(place, bytes, new_mode, &mut || Ok(()))
}

/// Like [`write`], keeping `old` (the content read before) in `backups` first. The backup
/// is made once the file is known to be writable, so a refused change leaves none.
/// Returns the backup's path.
pub fn write_with_backup(
    place: &Place,
    old: Option<&[u8]>,
    new: &[u8],
    new_mode: u32,
    backups: &Backups,
    now: DateTime<Utc>,
) -> Result<Option<PathBuf>> {
    let mut kept = None;
    replace(place, new, new_mode, &mut || {
        if let Some(old) = old {
            kept = Some(backups.keep(&place.path(), old, now)?);
        }
        Ok(())
    })?;
    Ok(kept)
}

/// Reads a file of another tool's that holds a secret (the AWS CLI's login cache); `None`
/// when it does not exist. A link (or anything but a regular file) at its name is refused,
/// never followed.
pub fn read_private(path: &Path) -> Result<Option<Vec<u8>>> {
    let (name, parent) = name_and_dir(path)?;
    let dir = match sys::open_dir(parent) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot("open", parent, &e)),
    };
    check_private_dir(parent)?;
    match sys::lookup(&dir, name).map_err(|e| cannot("read", path, &e))? {
        Found::Missing => return Ok(None),
        Found::File { .. } => {}
        Found::Link => return Err(private_link_refused(path)),
        Found::Dir | Found::Other => return Err(not_a_file(path)),
    }
    match sys::open_file(&dir, name) {
        Ok(f) => read_limited(f, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(cannot("read", path, &e)),
    }
}

/// Replaces a file of another tool's that holds a secret: a new `O_EXCL|O_NOFOLLOW` file
/// beside it, always [`MODE_PRIVATE`], renamed over it. A link at the name is refused, not
/// written through; missing directories are made owner-only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let (name, parent) = name_and_dir(path)?;
    if fs_err::symlink_metadata(parent).is_err() {
        sys::create_private_dir(parent).map_err(|e| cannot("create", parent, &e))?;
    }
    let dir = sys::open_dir(parent).map_err(|e| cannot("open", parent, &e))?;
    check_private_dir(parent)?;
    match sys::lookup(&dir, name).map_err(|e| cannot("read", path, &e))? {
        Found::Missing | Found::File { .. } => {}
        Found::Link => return Err(private_link_refused(path)),
        Found::Dir | Found::Other => return Err(not_a_file(path)),
    }
    replace_in(&dir, name, bytes, MODE_PRIVATE).map_err(|e| cannot("write", path, &e))
}

/// The directory of a private file must be the user's and closed to other users' writes,
/// or another user could replace the file between a read and a write.
fn check_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = fs_err::metadata(dir) else {
            return Ok(());
        };
        let open_to_others = m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0;
        if !sys::is_current_user(m.uid()) || open_to_others {
            return Err(Error::user(format!(
                "{} belongs to another user or can be written by other users; awscred keeps no secret there",
                dir.display()
            ))
            .with_hint(format!(
                "make {} your own directory with chmod 700",
                dir.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn private_link_refused(path: &Path) -> Error {
    Error::user(format!(
        "{} is a symbolic link; awscred does not follow links to a file that holds a secret",
        path.display()
    ))
    .with_hint(format!("remove {} and sign in again", path.display()))
}

/// Removes a regular file (never what a link at its name points to); `false` when there
/// was none.
pub fn remove_file(path: &Path) -> Result<bool> {
    let (name, parent) = name_and_dir(path)?;
    let dir = match sys::open_dir(parent) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(cannot("open", parent, &e)),
    };
    match sys::lookup(&dir, name).map_err(|e| cannot("read", path, &e))? {
        Found::Missing => Ok(false),
        Found::File { .. } => sys::remove(&dir, name)
            .map(|()| true)
            .map_err(|e| cannot("remove", path, &e)),
        Found::Link | Found::Dir | Found::Other => Err(not_a_file(path)),
    }
}

/// Called once every check has passed, just before the file is replaced.
type Ready<'a> = &'a mut dyn FnMut() -> Result<()>;

fn replace(place: &Place, bytes: &[u8], new_mode: u32, ready: Ready) -> Result<()> {
    match place {
        Place::Own(path) => write_own(path, bytes, new_mode, ready),
        Place::Inside { root, rel } => write_inside(root, rel, bytes, new_mode, ready),
    }
}

fn read_limited(mut f: impl Read, path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    (&mut f)
        .take(MAX_LEN.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| cannot("read", path, &e))?;
    if u64::try_from(buf.len()).map_or(true, |n| n > MAX_LEN) {
        return Err(Error::user(format!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_LEN >> 20
        ))
        .with_hint(format!("awscred left {} unchanged", path.display())));
    }
    Ok(buf)
}

fn read_own(path: &Path) -> Result<Option<Vec<u8>>> {
    // Looked at first, so a FIFO or device there cannot block or feed the read.
    match fs_err::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(not_a_file(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot("read", path, &e)),
    }
    match fs_err::File::open(path) {
        Ok(f) => read_limited(f, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(cannot("read", path, &e)),
    }
}

/// Opens the directories of `rel` under `root` one at a time, refusing links; `None` when
/// one is missing and `create` is false.
fn walk(root: &Path, dirs: &[String], create: bool) -> Result<Option<(sys::Dir, PathBuf)>> {
    let mut dir = sys::open_dir(root).map_err(|e| cannot("open", root, &e))?;
    let mut shown = root.to_path_buf();
    for name in dirs {
        shown.push(name);
        match sys::lookup(&dir, name).map_err(|e| cannot("open", &shown, &e))? {
            Found::Dir => {}
            Found::Missing if create => match sys::mkdir(&dir, name) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(cannot("create", &shown, &e)),
            },
            Found::Missing => return Ok(None),
            Found::Link => return Err(link_refused(&shown)),
            Found::File { .. } | Found::Other => {
                return Err(
                    Error::user(format!("{} is not a directory", shown.display()))
                        .with_hint(format!("remove or rename {}", shown.display())),
                );
            }
        }
        dir = match sys::subdir(&dir, name) {
            Ok(d) => d,
            // Replaced by a link between the look and the open.
            Err(_) if sys::lookup(&dir, name).ok() == Some(Found::Link) => {
                return Err(link_refused(&shown));
            }
            Err(e) => return Err(cannot("open", &shown, &e)),
        };
    }
    Ok(Some((dir, shown)))
}

fn split(rel: &[String]) -> Result<(&String, &[String])> {
    rel.split_last()
        .ok_or_else(|| Error::unexpected("an empty path inside the project"))
}

fn read_inside(root: &Path, rel: &[String]) -> Result<Option<Vec<u8>>> {
    let (name, dirs) = split(rel)?;
    let Some((dir, mut shown)) = walk(root, dirs, false)? else {
        return Ok(None);
    };
    shown.push(name);
    match sys::open_file(&dir, name) {
        Ok(f) => {
            if !f.metadata().is_ok_and(|m| m.is_file()) {
                return Err(not_a_file(&shown));
            }
            read_limited(f, &shown).map(Some)
        }
        Err(e) => match sys::lookup(&dir, name) {
            Ok(Found::Missing) => Ok(None),
            Ok(Found::Link) => Err(link_refused(&shown)),
            Ok(Found::Dir | Found::Other) => Err(not_a_file(&shown)),
            _ => Err(cannot("read", &shown, &e)),
        },
    }
}

fn write_inside(
    root: &Path,
    rel: &[String],
    bytes: &[u8],
    new_mode: u32,
    ready: Ready,
) -> Result<()> {
    let (name, dirs) = split(rel)?;
    let Some((dir, mut shown)) = walk(root, dirs, true)? else {
        return Err(Error::unexpected(
            "a directory vanished while awscred created it",
        ));
    };
    shown.push(name);
    let mode = match sys::lookup(&dir, name).map_err(|e| cannot("read", &shown, &e))? {
        Found::Missing => new_mode,
        Found::File { mode, .. } => mode,
        Found::Link => return Err(link_refused(&shown)),
        Found::Dir | Found::Other => return Err(not_a_file(&shown)),
    };
    replace_when_ready(&dir, name, bytes, mode, ready, |e| {
        cannot("write", &shown, e)
    })
}

fn file_name(path: &Path) -> Result<&str> {
    path.file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::user(format!("{} does not name a file", path.display())))
}

/// A path's file name and the directory it is in (`.` for a bare name).
fn name_and_dir(path: &Path) -> Result<(&str, &Path)> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((file_name(path)?, parent))
}

fn write_own(path: &Path, bytes: &[u8], new_mode: u32, ready: Ready) -> Result<()> {
    let (name, parent) = name_and_dir(path)?;
    let meta = match fs_err::symlink_metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(cannot("read", path, &e)),
    };
    match meta {
        None => {
            fs_err::create_dir_all(parent).map_err(|e| cannot("create", parent, &e))?;
            let dir = sys::open_dir(parent).map_err(|e| cannot("open", parent, &e))?;
            replace_when_ready(&dir, name, bytes, new_mode, ready, |e| {
                cannot("write", path, e)
            })
        }
        Some(m) if m.file_type().is_symlink() => write_through_link(path, bytes, ready),
        Some(m) if m.is_file() => {
            let dir = sys::open_dir(parent).map_err(|e| cannot("open", parent, &e))?;
            let mode = match sys::lookup(&dir, name).map_err(|e| cannot("read", path, &e))? {
                Found::File { mode, .. } => mode,
                Found::Missing => new_mode,
                Found::Link => return write_through_link(path, bytes, ready),
                Found::Dir | Found::Other => return Err(not_a_file(path)),
            };
            replace_when_ready(&dir, name, bytes, mode, ready, |e| cannot("write", path, e))
        }
        Some(_) => Err(not_a_file(path)),
    }
}

/// `link` is a user's own link (a dotfile manager's): the new content goes beside the
/// file it points to, so the link stays and keeps pointing at the updated file.
fn write_through_link(link: &Path, bytes: &[u8], ready: Ready) -> Result<()> {
    let both = |what: &str| {
        let to = std::fs::read_link(link)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "its target".into());
        format!("{} is a link to {to}, {what}", link.display())
    };
    let target = std::fs::canonicalize(link).map_err(|e| {
        Error::user(both("which cannot be reached"))
            .caused_by(&e)
            .with_hint(format!("create the target, or remove {}", link.display()))
    })?;
    let name = file_name(&target)?;
    let parent = target.parent().unwrap_or(Path::new("/"));
    let shown = |what: &str| {
        format!(
            "{} is a link to {}, {what}",
            link.display(),
            target.display()
        )
    };
    let dir = sys::open_dir(parent)
        .map_err(|e| Error::user(shown("whose directory cannot be opened")).caused_by(&e))?;
    let (mode, uid) = match sys::lookup(&dir, name)
        .map_err(|e| Error::user(shown("which cannot be read")).caused_by(&e))?
    {
        Found::File { mode, uid } => (mode, uid),
        _ => return Err(Error::user(shown("which is not a regular file"))),
    };
    if !sys::is_current_user(uid) {
        return Err(
            Error::user(shown("which belongs to another user")).with_hint(format!(
                "change {} where it is managed, or replace the link with a file of your own",
                target.display()
            )),
        );
    }
    if mode & 0o200 == 0 {
        return Err(Error::user(shown("which is read-only")).with_hint(format!(
            "make {} writable, or change it where your dotfiles are managed",
            target.display()
        )));
    }
    replace_when_ready(&dir, name, bytes, mode, ready, |e| {
        Error::user(shown("which cannot be written"))
            .caused_by(e)
            .with_hint(format!(
                "check the permissions of {} and its directory",
                target.display()
            ))
    })
}

/// Private copies of files as they were before awscred changed them.
#[derive(Debug, Clone)]
pub struct Backups {
    dir: PathBuf,
}

impl Backups {
    /// Backups in `dir` (awscred's state directory), created private when missing.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Keeps `bytes`, the content of `original` before a change, as a new backup (0600)
    /// and drops all but the newest [`BACKUPS_KEPT`] of that file. Returns its path.
    pub fn keep(&self, original: &Path, bytes: &[u8], now: DateTime<Utc>) -> Result<PathBuf> {
        let fail = |e: &std::io::Error| {
            Error::user(format!(
                "cannot keep a backup in {}; awscred changed nothing",
                self.dir.display()
            ))
            .caused_by(e)
            .with_hint(format!("check the permissions of {}", self.dir.display()))
        };
        sys::create_private_dir(&self.dir).map_err(|e| fail(&e))?;
        let dir = sys::open_dir(&self.dir).map_err(|e| fail(&e))?;
        if sys::others_can_write(&self.dir) {
            return Err(Error::user(format!(
                "{} can be written by other users; awscred will not keep backups there",
                self.dir.display()
            ))
            .with_hint(format!("run chmod 700 {}", self.dir.display())));
        }
        let stem = backup_stem(original);
        let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
        // Several changes within one second: the next number after the newest, so names
        // sort in the order the backups were made.
        let numbered = |n: u32| {
            if n == 0 {
                format!("{stem}.{stamp}")
            } else {
                format!("{stem}.{stamp}-{n:02}")
            }
        };
        let mut next = 0;
        for n in 0..SAME_SECOND {
            if sys::lookup(&dir, &numbered(n)).map_err(|e| fail(&e))? != Found::Missing {
                next = n + 1;
            }
        }
        if next >= SAME_SECOND {
            return Err(Error::unexpected(format!(
                "too many backups of {} within one second",
                original.display()
            )));
        }
        let name = numbered(next);
        replace_in(&dir, &name, bytes, MODE_PRIVATE).map_err(|e| fail(&e))?;
        if let Ok(entries) = fs_err::read_dir(&self.dir) {
            let names = entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok());
            for old in outdated(names, &stem, BACKUPS_KEPT) {
                let _ = sys::remove(&dir, &old);
            }
        }
        Ok(self.dir.join(name))
    }
}

/// `<file name>.<8 hex digits of the full path>`: a project's `settings.json` and the
/// user's keep separate turns.
fn backup_stem(original: &Path) -> String {
    let name = original
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let digest = Sha256::digest(original.to_string_lossy().as_bytes());
    format!("{name}.{}", crate::store::file::hex(&digest[..4]))
}

/// The backups of `stem` beyond the newest `keep`, oldest first.
fn outdated(names: impl Iterator<Item = String>, stem: &str, keep: usize) -> Vec<String> {
    let prefix = format!("{stem}.");
    let mut mine: Vec<String> = names
        .filter(|n| {
            n.strip_prefix(&prefix).is_some_and(|rest| {
                rest.len() >= 16
                    && rest.as_bytes().get(8) == Some(&b'T')
                    && rest.as_bytes()[..8].iter().all(u8::is_ascii_digit)
            })
        })
        .collect();
    mine.sort();
    let extra = mine.len().saturating_sub(keep);
    mine.truncate(extra);
    mine
}

/// Name of the temporary file for `name`: a fixed one first, then random ones when that is
/// taken (by a planted link, or a writer that was killed).
fn temp_name(name: &str, attempt: u32) -> String {
    if attempt == 0 {
        format!(".{name}.awscred.tmp")
    } else {
        format!(".{name}.awscred.{:08x}.tmp", rand::random::<u32>())
    }
}

const TEMP_ATTEMPTS: u32 = 8;

/// A new temporary file beside the file it will replace; removed unless committed.
struct Temp<'a> {
    dir: &'a sys::Dir,
    name: String,
    file: Option<std::fs::File>,
}

impl<'a> Temp<'a> {
    /// Creates it with `O_EXCL|O_NOFOLLOW`, owner-only: this is also the proof that the
    /// directory can be written.
    fn create(dir: &'a sys::Dir, target: &str) -> std::io::Result<Self> {
        let mut last = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        for attempt in 0..TEMP_ATTEMPTS {
            let name = temp_name(target, attempt);
            match sys::create_exclusive(dir, &name) {
                Ok(f) => {
                    return Ok(Self {
                        dir,
                        name,
                        file: Some(f),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Writes `bytes`, gives the file `mode`, syncs it and renames it over `target`.
    fn commit(mut self, target: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
        let mut f = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("temporary file already used"))?;
        f.write_all(bytes)?;
        sys::set_mode(&f, mode)?;
        f.sync_all()?;
        drop(f);
        sys::rename(self.dir, &self.name, target)?;
        self.name.clear();
        Ok(())
    }
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        // Closed first: Windows cannot remove an open file.
        drop(self.file.take());
        if !self.name.is_empty() {
            let _ = sys::remove(self.dir, &self.name);
        }
    }
}

/// Like [`replace_in`], calling `ready` once the temporary file exists (so the directory
/// is known to be writable) and before anything is replaced.
fn replace_when_ready(
    dir: &sys::Dir,
    name: &str,
    bytes: &[u8],
    mode: u32,
    ready: Ready,
    error: impl Fn(&std::io::Error) -> Error,
) -> Result<()> {
    let tmp = Temp::create(dir, name).map_err(|e| error(&e))?;
    ready()?;
    tmp.commit(name, bytes, mode).map_err(|e| error(&e))
}

/// Writes `bytes` over `name` in `dir` through a temporary file.
fn replace_in(dir: &sys::Dir, name: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    Temp::create(dir, name)?.commit(name, bytes, mode)
}

#[cfg(unix)]
mod sys {
    //! Directory handles and `*at` calls: nothing here follows a link at the last name.

    use super::Found;
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use std::os::fd::OwnedFd;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// An open directory.
    pub type Dir = OwnedFd;

    pub fn open_dir(path: &Path) -> std::io::Result<Dir> {
        Ok(rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    pub fn subdir(dir: &Dir, name: &str) -> std::io::Result<Dir> {
        Ok(rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    pub fn mkdir(dir: &Dir, name: &str) -> std::io::Result<()> {
        Ok(rustix::fs::mkdirat(
            dir,
            name,
            Mode::from_bits_truncate(0o755),
        )?)
    }

    /// Opens a file for reading; fails on a link. `NONBLOCK` so a planted FIFO cannot hang.
    pub fn open_file(dir: &Dir, name: &str) -> std::io::Result<std::fs::File> {
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(std::fs::File::from(fd))
    }

    #[allow(clippy::unnecessary_cast)]
    fn found(st: &rustix::fs::Stat) -> Found {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => Found::Link,
            FileType::Directory => Found::Dir,
            FileType::RegularFile => Found::File {
                mode: (st.st_mode as u32) & 0o7777,
                uid: st.st_uid,
            },
            _ => Found::Other,
        }
    }

    pub fn lookup(dir: &Dir, name: &str) -> std::io::Result<Found> {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(found(&st)),
            Err(rustix::io::Errno::NOENT) => Ok(Found::Missing),
            Err(e) => Err(e.into()),
        }
    }

    pub fn is_current_user(uid: u32) -> bool {
        rustix::process::geteuid().as_raw() == uid
    }

    pub fn others_can_write(path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).is_ok_and(|m| m.mode() & 0o022 != 0)
    }

    pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
    }

    pub fn remove(dir: &Dir, name: &str) -> std::io::Result<()> {
        Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
    }

    /// Creates a new file owner-only, failing when anything (a link included) is there.
    pub fn create_exclusive(dir: &Dir, name: &str) -> std::io::Result<std::fs::File> {
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )?;
        Ok(std::fs::File::from(fd))
    }

    /// Sets the exact permission bits, whatever the umask.
    pub fn set_mode(f: &std::fs::File, mode: u32) -> std::io::Result<()> {
        f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
    }

    pub fn rename(dir: &Dir, from: &str, to: &str) -> std::io::Result<()> {
        rustix::fs::renameat(dir, from, dir, to)?;
        // The rename itself survives a crash once the directory is synced.
        let _ = rustix::fs::fsync(dir);
        Ok(())
    }
}

#[cfg(not(unix))]
mod sys {
    //! Paths instead of directory handles: links are refused by looking before opening.

    use super::Found;
    use std::path::{Path, PathBuf};

    /// A directory, by path.
    pub type Dir = PathBuf;

    pub fn open_dir(path: &Path) -> std::io::Result<Dir> {
        if std::fs::metadata(path)?.is_dir() {
            Ok(path.to_path_buf())
        } else {
            Err(std::io::Error::other("not a directory"))
        }
    }

    pub fn subdir(dir: &Dir, name: &str) -> std::io::Result<Dir> {
        match lookup(dir, name)? {
            Found::Dir => Ok(dir.join(name)),
            _ => Err(std::io::Error::other("not a directory")),
        }
    }

    pub fn mkdir(dir: &Dir, name: &str) -> std::io::Result<()> {
        std::fs::create_dir(dir.join(name))
    }

    pub fn open_file(dir: &Dir, name: &str) -> std::io::Result<std::fs::File> {
        match lookup(dir, name)? {
            Found::File { .. } => std::fs::File::open(dir.join(name)),
            Found::Missing => Err(std::io::ErrorKind::NotFound.into()),
            _ => Err(std::io::Error::other("not a regular file")),
        }
    }

    pub fn lookup(dir: &Dir, name: &str) -> std::io::Result<Found> {
        match std::fs::symlink_metadata(dir.join(name)) {
            Ok(m) if m.file_type().is_symlink() => Ok(Found::Link),
            Ok(m) if m.is_dir() => Ok(Found::Dir),
            Ok(m) if m.is_file() => Ok(Found::File {
                mode: if m.permissions().readonly() {
                    0o444
                } else {
                    0o644
                },
                uid: 0,
            }),
            Ok(_) => Ok(Found::Other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Found::Missing),
            Err(e) => Err(e),
        }
    }

    pub fn is_current_user(_uid: u32) -> bool {
        true
    }

    pub fn others_can_write(_path: &Path) -> bool {
        false
    }

    pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
        std::fs::DirBuilder::new().recursive(true).create(path)
    }

    pub fn remove(dir: &Dir, name: &str) -> std::io::Result<()> {
        std::fs::remove_file(dir.join(name))
    }

    pub fn create_exclusive(dir: &Dir, name: &str) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(name))
    }

    pub fn set_mode(_f: &std::fs::File, _mode: u32) -> std::io::Result<()> {
        Ok(())
    }

    /// Replaces `to` (`MoveFileEx` with `MOVEFILE_REPLACE_EXISTING`).
    pub fn rename(dir: &Dir, from: &str, to: &str) -> std::io::Result<()> {
        std::fs::rename(dir.join(from), dir.join(to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(root: &Path, name: &str) -> Place {
        Place::Inside {
            root: root.to_path_buf(),
            rel: vec![".claude".into(), name.into()],
        }
    }

    #[test]
    fn only_the_oldest_backups_of_the_same_file_go() {
        let stem = "settings.json.0011aabb";
        let mut names: Vec<String> = (0..7)
            .map(|i| format!("{stem}.2026112{i}T120000Z"))
            .collect();
        names.push(format!("{stem}.20261127T120000Z-01"));
        names.push("settings.json.ffffffff.20261101T000000Z".into());
        names.push(format!(".{stem}.20261101T000000Z.awscred.tmp"));
        names.push(format!("{stem}.notes"));
        names.push(format!("{stem}.2026é1125T120000Z"));
        let gone = outdated(names.into_iter(), stem, 5);
        assert_eq!(
            gone,
            vec![
                format!("{stem}.20261120T120000Z"),
                format!("{stem}.20261121T120000Z"),
                format!("{stem}.20261122T120000Z"),
            ]
        );
    }

    #[test]
    fn backups_of_same_named_files_are_told_apart() {
        let a = backup_stem(Path::new("/h/.claude/settings.json"));
        let b = backup_stem(Path::new("/repo/.claude/settings.json"));
        assert!(a.starts_with("settings.json.") && b.starts_with("settings.json."));
        assert_ne!(a, b);
        assert_eq!(a, backup_stem(Path::new("/h/.claude/settings.json")));
    }

    #[test]
    fn a_new_file_inside_a_project_is_created_with_its_directory() {
        let d = tempfile::tempdir().unwrap();
        let place = inside(d.path(), "settings.json");
        assert_eq!(read(&place).unwrap(), None);
        write(&place, b"{}\n", MODE_SHARED).unwrap();
        assert_eq!(read(&place).unwrap().as_deref(), Some("{}\n"));
        let names: Vec<_> = std::fs::read_dir(d.path().join(".claude"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["settings.json"], "no temporary file is left");
    }

    #[cfg(unix)]
    mod unix {
        use super::*;
        use chrono::TimeZone;
        use std::os::unix::fs::{PermissionsExt, symlink};

        fn at(sec: u32) -> DateTime<Utc> {
            Utc.with_ymd_and_hms(2026, 11, 25, 14, 0, sec).unwrap()
        }

        fn mode(p: &Path) -> u32 {
            std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
        }

        #[test]
        fn links_inside_a_project_are_refused_for_reading_and_writing() {
            let d = tempfile::tempdir().unwrap();
            let secret = d.path().join("id_ed25519");
            fs_err::write(&secret, "PRIVATE KEY").unwrap();
            std::fs::create_dir(d.path().join("repo")).unwrap();
            let repo = d.path().join("repo");
            std::fs::create_dir(repo.join(".claude")).unwrap();
            symlink(&secret, repo.join(".claude/settings.local.json")).unwrap();
            let place = inside(&repo, "settings.local.json");
            let e = read(&place).unwrap_err();
            assert!(
                e.message().contains("is a symbolic link"),
                "{}",
                e.message()
            );
            assert!(!e.report().contains("PRIVATE KEY"));
            let e = write(&place, b"{}", MODE_SHARED).unwrap_err();
            assert!(e.message().contains("is a symbolic link"));
            assert_eq!(fs_err::read_to_string(&secret).unwrap(), "PRIVATE KEY");

            // `.claude` itself a link to a directory elsewhere.
            let elsewhere = d.path().join("elsewhere");
            std::fs::create_dir(&elsewhere).unwrap();
            fs_err::write(elsewhere.join("settings.json"), "{\"x\": 1}").unwrap();
            let repo2 = d.path().join("repo2");
            std::fs::create_dir(&repo2).unwrap();
            symlink(&elsewhere, repo2.join(".claude")).unwrap();
            let place = inside(&repo2, "settings.json");
            assert!(
                read(&place)
                    .unwrap_err()
                    .message()
                    .contains("repo2/.claude is a symbolic link")
            );
            assert!(write(&place, b"{}", MODE_SHARED).is_err());
            assert_eq!(
                fs_err::read_to_string(elsewhere.join("settings.json")).unwrap(),
                "{\"x\": 1}"
            );
        }

        #[test]
        fn a_fifo_is_not_read() {
            let d = tempfile::tempdir().unwrap();
            std::fs::create_dir(d.path().join(".claude")).unwrap();
            let fifo = d.path().join(".claude/settings.json");
            let status = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(status.success());
            let e = read(&inside(d.path(), "settings.json")).unwrap_err();
            assert!(
                e.message().contains("not a regular file"),
                "{}",
                e.message()
            );
        }

        #[test]
        fn a_link_planted_at_the_temporary_name_is_not_followed() {
            let d = tempfile::tempdir().unwrap();
            let victim = d.path().join("victim");
            fs_err::write(&victim, "keep").unwrap();
            std::fs::create_dir(d.path().join(".claude")).unwrap();
            let planted = d.path().join(".claude").join(temp_name("settings.json", 0));
            symlink(&victim, &planted).unwrap();
            let place = inside(d.path(), "settings.json");
            write(&place, b"{}\n", MODE_SHARED).unwrap();
            assert_eq!(fs_err::read_to_string(&victim).unwrap(), "keep");
            assert_eq!(read(&place).unwrap().as_deref(), Some("{}\n"));
            assert!(
                std::fs::symlink_metadata(&planted)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }

        #[test]
        fn modes_are_kept_and_new_files_get_exactly_the_mode_asked() {
            let d = tempfile::tempdir().unwrap();
            let cfg = d.path().join("config");
            fs_err::write(&cfg, "old").unwrap();
            std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
            write(&Place::Own(cfg.clone()), b"new", MODE_SHARED).unwrap();
            assert_eq!(mode(&cfg), 0o600);
            assert_eq!(fs_err::read_to_string(&cfg).unwrap(), "new");
            let fresh = d.path().join("sub/fresh");
            write(&Place::Own(fresh.clone()), b"x", MODE_PRIVATE).unwrap();
            assert_eq!(mode(&fresh), 0o600);
            let shared = d.path().join("shared");
            write(&Place::Own(shared.clone()), b"x", MODE_SHARED).unwrap();
            assert_eq!(mode(&shared), 0o644, "not narrowed by the umask");
        }

        #[test]
        fn a_dotfile_link_is_kept_and_its_target_updated() {
            let d = tempfile::tempdir().unwrap();
            let dotfiles = d.path().join("dotfiles");
            std::fs::create_dir(&dotfiles).unwrap();
            let target = dotfiles.join("settings.json");
            fs_err::write(&target, "old").unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
            let link = d.path().join("settings.json");
            symlink(&target, &link).unwrap();
            let place = Place::Own(link.clone());
            assert_eq!(read(&place).unwrap().as_deref(), Some("old"));
            write(&place, b"new", MODE_SHARED).unwrap();
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read_link(&link).unwrap(), target);
            assert_eq!(fs_err::read_to_string(&target).unwrap(), "new");
            assert_eq!(mode(&target), 0o600);
            assert_eq!(std::fs::read_dir(&dotfiles).unwrap().count(), 1);
        }

        #[test]
        fn a_read_only_link_target_is_an_error_naming_both_paths() {
            let d = tempfile::tempdir().unwrap();
            let target = d.path().join("store-settings.json");
            fs_err::write(&target, "old").unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o444)).unwrap();
            let link = d.path().join("settings.json");
            symlink(&target, &link).unwrap();
            let state = d.path().join("state");
            let e = write_with_backup(
                &Place::Own(link.clone()),
                Some(b"old"),
                b"new",
                MODE_SHARED,
                &Backups::new(state.clone()),
                at(0),
            )
            .unwrap_err();
            assert!(!state.exists(), "a refused change leaves no backup");
            let m = e.message();
            assert!(m.contains(&link.display().to_string()), "{m}");
            assert!(m.contains(&target.display().to_string()), "{m}");
            assert!(m.contains("read-only"), "{m}");
            assert_eq!(fs_err::read_to_string(&target).unwrap(), "old");
        }

        #[test]
        fn a_link_to_another_users_file_is_refused() {
            let d = tempfile::tempdir().unwrap();
            let target = d.path().join("theirs.json");
            fs_err::write(&target, "theirs").unwrap();
            let status = std::process::Command::new("chown")
                .arg("54323")
                .arg(&target)
                .status()
                .unwrap();
            if !status.success() {
                // Not root: a file root owns serves as another user's.
                std::fs::remove_file(&target).unwrap();
                symlink("/etc/passwd", &target).unwrap();
            }
            let link = d.path().join("settings.json");
            symlink(&target, &link).unwrap();
            let e = write(&Place::Own(link.clone()), b"new", MODE_SHARED).unwrap_err();
            assert!(
                e.message().contains("belongs to another user"),
                "{}",
                e.message()
            );
            assert!(e.message().contains(&link.display().to_string()));
        }

        #[test]
        fn backups_are_private_named_by_file_and_time_and_few() {
            let d = tempfile::tempdir().unwrap();
            let state = d.path().join("state/awscred");
            let b = Backups::new(state.clone());
            let original = Path::new("/h/.aws/config");
            let first = b.keep(original, b"v0", at(0)).unwrap();
            assert_eq!(mode(&state), 0o700);
            assert_eq!(mode(&first), 0o600);
            let name = first.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with("config."), "{name}");
            assert!(name.ends_with(".20261125T140000Z"), "{name}");
            let same_second = b.keep(original, b"v1", at(0)).unwrap();
            assert_ne!(same_second, first);
            assert_eq!(fs_err::read_to_string(&first).unwrap(), "v0");
            for i in 1..=6 {
                b.keep(original, format!("w{i}").as_bytes(), at(i)).unwrap();
            }
            // Within one second, after the oldest of that second was dropped.
            for i in 7..=12 {
                b.keep(original, format!("w{i}").as_bytes(), at(59))
                    .unwrap();
            }
            let other = b.keep(Path::new("/repo/config"), b"o", at(9)).unwrap();
            let mut left: Vec<String> = std::fs::read_dir(&state)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with(&backup_stem(original)))
                .collect();
            left.sort();
            assert_eq!(left.len(), BACKUPS_KEPT);
            let texts: Vec<String> = left
                .iter()
                .map(|n| fs_err::read_to_string(state.join(n)).unwrap())
                .collect();
            assert_eq!(texts, ["w8", "w9", "w10", "w11", "w12"]);
            assert!(other.exists(), "another file's backups are its own");
        }

        #[test]
        fn a_backup_directory_others_can_write_is_refused() {
            let d = tempfile::tempdir().unwrap();
            let state = d.path().join("awscred");
            std::fs::create_dir(&state).unwrap();
            std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
            let e = Backups::new(state.clone())
                .keep(Path::new("/h/config"), b"x", at(0))
                .unwrap_err();
            assert!(e.message().contains("other users"), "{}", e.message());
            assert_eq!(std::fs::read_dir(&state).unwrap().count(), 0);
        }
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_replaced_and_never_reached_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login/cache/k.json");
        assert_eq!(read_private(&path).unwrap(), None);
        write_private(&path, b"one").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            mode(path.parent().unwrap()),
            0o700,
            "a new directory is private"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(mode(&path), 0o600, "a secret file is 0600 whatever it was");
        assert_eq!(read_private(&path).unwrap().as_deref(), Some(&b"two"[..]));
        // A link at the temporary name: a fresh random name is taken, the target untouched.
        let victim = dir.path().join("victim");
        fs_err::write(&victim, "keep").unwrap();
        let tmp = path.parent().unwrap().join(".k.json.awscred.tmp");
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        write_private(&path, b"three").unwrap();
        assert_eq!(fs_err::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(fs_err::read(&path).unwrap(), b"three");
        // A link at the name itself: refused for reading and writing.
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let e = write_private(&path, b"four").unwrap_err();
        assert!(e.message().contains("symbolic link"), "{}", e.message());
        assert!(read_private(&path).is_err());
        assert_eq!(fs_err::read_to_string(&victim).unwrap(), "keep");
        // A directory every user can write to (not sticky): refused.
        fs_err::remove_file(&path).unwrap();
        let parent = path.parent().unwrap();
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = write_private(&path, b"five").unwrap_err();
        assert!(e.message().contains("other users"), "{}", e.message());
        assert!(read_private(&path).is_err());
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o775)).unwrap();
        write_private(&path, b"six").unwrap();
    }
}
