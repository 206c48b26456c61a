//! Where secrets live: one small trait and one module per store.
//!
//! A [`Store`] keeps opaque byte values under string keys. The OS keyrings come through
//! `keyring-core` stores ([`keyring`]), the file store ([`file`]) serves machines with no
//! keyring, [`chunked`] splits values for stores with a size limit (Windows Credential
//! Manager) and [`memory`] serves unit tests. [`open`] picks one from a [`StoreChoice`].

pub mod chunked;
pub mod file;
pub mod kernel;
pub mod keyring;
pub mod memory;
pub mod private_dir;

use crate::env::Environment;
use crate::error::{Error, Result};

/// Where secrets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// The first store that works on this machine.
    Auto,
    /// Linux Secret Service.
    SecretService,
    /// macOS Keychain.
    Keychain,
    /// Windows Credential Manager.
    WinCred,
    /// Linux kernel key retention service.
    Keyutils,
    /// Files under the cache directory.
    File,
}

impl StoreChoice {
    /// Every concrete store (not `Auto`).
    pub const ALL: &'static [StoreChoice] = &[
        Self::File,
        Self::SecretService,
        Self::Keyutils,
        Self::Keychain,
        Self::WinCred,
    ];

    /// Every accepted spelling, for messages.
    pub const NAMES: &'static str = "auto, secret-service, keychain, wincred, keyutils, file";

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Self::Auto,
            "secret-service" | "secretservice" | "secret_service" => Self::SecretService,
            "keychain" => Self::Keychain,
            "wincred" | "windows" => Self::WinCred,
            "keyutils" => Self::Keyutils,
            "file" => Self::File,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::SecretService => "secret-service",
            Self::Keychain => "keychain",
            Self::WinCred => "wincred",
            Self::Keyutils => "keyutils",
            Self::File => "file",
        }
    }
}

/// A place to keep secret values.
pub trait Store: Send + Sync {
    /// The store's name as `AWSCRED_CACHE` spells it.
    fn name(&self) -> &'static str;
    /// Reads a value; `Ok(None)` when there is none.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Writes a value, replacing any old one.
    fn set(&self, key: &str, value: &[u8]) -> Result<()>;
    /// Deletes a value; deleting a missing value is not an error.
    fn delete(&self, key: &str) -> Result<()>;
    /// Opens now what the store would open on first use (the Secret Service behind its
    /// kernel keyring copies): an error when it cannot be reached.
    fn ready(&self) -> Result<()> {
        Ok(())
    }
    /// Where the values are, for `status`.
    fn location(&self) -> String {
        self.name().to_string()
    }
    /// Deletes every value `stale` says is no longer useful; returns how many. Stores that
    /// cannot list their entries (the OS keyrings, which hold one entry per profile and
    /// session anyway) keep everything.
    fn prune(&self, stale: &dyn Fn(&[u8]) -> bool) -> Result<usize> {
        let _ = stale;
        Ok(0)
    }
}

/// Says at debug level that a store was read, and for which kind of entry (`awscred:credentials`,
/// never the rest of the key): how many reads a command costs is seen with `AWSCRED_LOG=debug`.
pub(crate) fn log_read(store: &str, key: &str) {
    let kind = key.splitn(3, ':').take(2).collect::<Vec<_>>().join(":");
    crate::log::debug(&format!("store {store}: read {kind}"));
}

/// The stores `auto` tries, in order, on this platform.
pub fn auto_order() -> &'static [StoreChoice] {
    if cfg!(target_os = "macos") {
        &[StoreChoice::Keychain, StoreChoice::File]
    } else if cfg!(windows) {
        &[StoreChoice::WinCred, StoreChoice::File]
    } else if cfg!(target_os = "linux") {
        &[
            StoreChoice::SecretService,
            StoreChoice::Keyutils,
            StoreChoice::File,
        ]
    } else {
        &[StoreChoice::File]
    }
}

/// Opens the chosen store. `auto` takes the first store that opens, and the next one when an
/// operation fails (no probe read: a hit costs one read), saying so once.
pub fn open(choice: StoreChoice, env: &Environment) -> Result<Box<dyn Store>> {
    if choice != StoreChoice::Auto {
        let store = open_one(choice, env)?;
        return Ok(store);
    }
    let candidates: Vec<StoreChoice> = auto_order()
        .iter()
        .copied()
        .filter(|c| {
            let usable = *c != StoreChoice::SecretService || session_bus_present(env);
            if !usable {
                crate::log::debug("store auto: skipped secret-service: no D-Bus session bus");
            }
            usable
        })
        .collect();
    let failover = Failover {
        env: env.clone(),
        candidates,
        active: std::sync::Mutex::new(None),
    };
    failover.advance(None)?;
    Ok(Box::new(failover))
}

/// `auto`: the first store that works, and the next one when it stops working during the
/// run (a keyring that is locked answers a probe but refuses the real read or write). Each
/// store given up on costs one warning line; the file store is the last resort.
struct Failover {
    env: Environment,
    candidates: Vec<StoreChoice>,
    active: std::sync::Mutex<Option<(usize, Box<dyn Store>)>>,
}

impl Failover {
    /// Moves to the first working candidate after `failed` (or the first of all).
    fn advance(&self, failed: Option<(usize, &Error)>) -> Result<()> {
        let start = match failed {
            Some((i, e)) => {
                crate::log::warn(&format!(
                    "the {} store is not usable ({}); using the next store (set AWSCRED_CACHE to choose one)",
                    self.candidates[i].name(),
                    e.message()
                ));
                i + 1
            }
            None => 0,
        };
        let mut skipped = Vec::new();
        for (i, &candidate) in self.candidates.iter().enumerate().skip(start) {
            match open_one(candidate, &self.env) {
                Ok(store) => {
                    *self.active.lock().unwrap_or_else(|e| e.into_inner()) = Some((i, store));
                    return Ok(());
                }
                Err(e) => {
                    if candidate != StoreChoice::File {
                        crate::log::warn(&format!(
                            "the {} store is not usable ({}); using the next store (set AWSCRED_CACHE to choose one)",
                            candidate.name(),
                            e.message()
                        ));
                    }
                    skipped.push(format!("{}: {e}", candidate.name()));
                }
            }
        }
        Err(
            Error::unexpected("no credential store works on this machine")
                .caused_by_text(skipped.join("; "))
                .with_hint(
                    "set AWSCRED_CACHE=file to keep credentials in a private cache directory",
                ),
        )
    }

    fn with<T>(&self, op: impl Fn(&dyn Store) -> Result<T>) -> Result<T> {
        loop {
            let (index, result) = {
                let guard = self.active.lock().unwrap_or_else(|e| e.into_inner());
                let Some((i, store)) = guard.as_ref() else {
                    return Err(Error::unexpected("no credential store is open"));
                };
                (*i, op(store.as_ref()))
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) if index + 1 < self.candidates.len() => self.advance(Some((index, &e)))?,
                Err(e) => return Err(e),
            }
        }
    }

    fn current<T>(&self, f: impl Fn(&dyn Store) -> T, default: T) -> T {
        let guard = self.active.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .map(|(_, s)| f(s.as_ref()))
            .unwrap_or(default)
    }
}

impl Store for Failover {
    fn name(&self) -> &'static str {
        self.current(|s| s.name(), "auto")
    }

    fn location(&self) -> String {
        self.current(|s| s.location(), "auto".to_string())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.with(|s| s.get(key))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.with(|s| s.set(key, value))
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.with(|s| s.delete(key))
    }

    fn prune(&self, stale: &dyn Fn(&[u8]) -> bool) -> Result<usize> {
        self.with(|s| s.prune(stale))
    }

    fn ready(&self) -> Result<()> {
        self.with(|s| s.ready())
    }
}

/// The D-Bus session bus the Secret Service is reached through (empty when none is known).
fn session_bus(env: &Environment) -> String {
    if let Some(a) = env.get("DBUS_SESSION_BUS_ADDRESS") {
        return a.to_string();
    }
    env.get("XDG_RUNTIME_DIR")
        .map(|d| format!("unix:path={d}/bus"))
        .unwrap_or_default()
}

fn session_bus_present(env: &Environment) -> bool {
    if env.get("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    env.get("XDG_RUNTIME_DIR")
        .map(|d| std::path::Path::new(d).join("bus").exists())
        .unwrap_or(false)
}

fn open_one(choice: StoreChoice, env: &Environment) -> Result<Box<dyn Store>> {
    match choice {
        StoreChoice::File => Ok(Box::new(file::FileStore::new(
            env.cache_dir()?.join("store"),
        )?)),
        StoreChoice::Auto => open(StoreChoice::Auto, env),
        // Credentials also in the kernel keyring, read from there; the Secret Service is
        // connected to only when the kernel has no copy (see SPEC §4).
        // Without a session bus it cannot work: said now, as any store that does not open.
        StoreChoice::SecretService if !session_bus_present(env) => keyring::open(choice),
        StoreChoice::SecretService => Ok(Box::new(kernel::Tiered::new(
            StoreChoice::SecretService.name(),
            &session_bus(env),
            Box::new(|| keyring::open(StoreChoice::SecretService)),
        ))),
        other => keyring::open(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_always_the_last_resort() {
        assert_eq!(auto_order().last(), Some(&StoreChoice::File));
    }

    #[test]
    fn explicit_file_store_opens_under_the_cache_dir() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::from_pairs([("AWSCRED_CACHE_DIR", dir.path().to_str().unwrap())]);
        let s = open(StoreChoice::File, &env).unwrap();
        assert_eq!(s.name(), "file");
        s.set("k", b"v").unwrap();
        assert_eq!(s.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    }
}
