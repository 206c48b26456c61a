//! Where secrets live: one small trait and one module per store.
//!
//! A [`Store`] keeps opaque byte values under string keys. The OS keyrings come through
//! `keyring-core` stores ([`keyring`]), the file store ([`file`]) serves machines with no
//! keyring, [`chunked`] splits values for stores with a size limit (Windows Credential
//! Manager) and [`memory`] serves unit tests. [`open`] picks one from a [`StoreChoice`].

pub mod chunked;
pub mod file;
pub mod keyring;
pub mod memory;

use crate::config::StoreChoice;
use crate::env::Environment;
use crate::error::{Error, Result};

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

/// Opens the chosen store. `auto` takes the first store that answers a read, and says on
/// stderr (once, at debug level) which ones it passed over.
pub fn open(choice: StoreChoice, env: &Environment) -> Result<Box<dyn Store>> {
    if choice != StoreChoice::Auto {
        let store = open_one(choice, env)?;
        return Ok(store);
    }
    let mut skipped = Vec::new();
    for &candidate in auto_order() {
        if candidate == StoreChoice::SecretService && !session_bus_present(env) {
            skipped.push("secret-service: no D-Bus session bus".to_string());
            continue;
        }
        match open_one(candidate, env).and_then(|s| probe(s.as_ref()).map(|()| s)) {
            Ok(s) => {
                for why in &skipped {
                    crate::log::debug(&format!("store auto: skipped {why}"));
                }
                return Ok(s);
            }
            Err(e) => {
                // A keyring that is there but refuses (locked, broken) is worth one line;
                // the next store still serves this run.
                if candidate != StoreChoice::File {
                    crate::log::warn(&format!(
                        "the {} store is not usable ({}); using the next store (set AWSCRED_CACHE to choose one)",
                        candidate.name(),
                        e.message()
                    ));
                }
                skipped.push(format!("{}: {e}", candidate.name()))
            }
        }
    }
    Err(
        Error::unexpected("no credential store works on this machine")
            .caused_by_text(skipped.join("; "))
            .with_hint("set AWSCRED_CACHE=file to keep credentials in a private cache directory"),
    )
}

fn probe(store: &dyn Store) -> Result<()> {
    store.get("awscred:probe").map(|_| ())
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
            env.cache_dir().join("store"),
        )?)),
        StoreChoice::Auto => open(StoreChoice::Auto, env),
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
