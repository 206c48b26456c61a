//! The operating system keyrings, through `keyring-core` credential stores.
//!
//! Each platform contributes one constructor; everything else is shared. Secret Service
//! (pure-Rust D-Bus) and kernel keyutils on Linux, the Keychain on macOS, Credential Manager
//! on Windows (through [`super::chunked`], since it caps a value at 2560 bytes). A store a
//! platform lacks answers with a clear error instead of failing to compile.

use super::Store;
use crate::config::StoreChoice;
use crate::error::{Error, Result};
use keyring_core::{CredentialStore, Entry};
use std::sync::Arc;

/// The keyring service name every awscred entry is filed under.
pub const SERVICE: &str = "awscred";
/// Windows Credential Manager's limit on one credential's blob.
pub const WINCRED_LIMIT: usize = 2560;

/// A `keyring-core` store.
pub struct KeyringStore {
    name: &'static str,
    store: Arc<CredentialStore>,
}

impl KeyringStore {
    fn entry(&self, key: &str) -> Result<Entry> {
        Entry::new_in_store(&self.store, SERVICE, key)
            .map_err(|e| self.fail("cannot address an entry in", e))
    }

    fn fail(&self, what: &str, e: keyring_core::Error) -> Error {
        Error::unexpected(format!("{what} the {} store", self.name))
            .caused_by(&e)
            .with_hint("set AWSCRED_CACHE=file to use the file store instead")
    }
}

impl Store for KeyringStore {
    fn name(&self) -> &'static str {
        self.name
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(key)?.get_secret() {
            Ok(v) => Ok(Some(v)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            // Unreadable or ambiguous entries are misses; the cache rewrites them.
            Err(keyring_core::Error::BadEncoding(_))
            | Err(keyring_core::Error::BadDataFormat(..))
            | Err(keyring_core::Error::Ambiguous(_)) => Ok(None),
            Err(e) => Err(self.fail("cannot read from", e)),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        let entry = self.entry(key)?;
        match entry.set_secret(value) {
            Ok(()) => Ok(()),
            Err(keyring_core::Error::Ambiguous(entries)) => {
                for e in entries {
                    let _ = e.delete_credential();
                }
                self.entry(key)?
                    .set_secret(value)
                    .map_err(|e| self.fail("cannot write to", e))
            }
            Err(e) => Err(self.fail("cannot write to", e)),
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.fail("cannot delete from", e)),
        }
    }
}

/// Opens a keyring store by choice.
pub fn open(choice: StoreChoice) -> Result<Box<dyn Store>> {
    let name = choice.name();
    let store = platform_store(choice).map_err(|e| {
        Error::unexpected(format!("the {name} store is not available"))
            .caused_by(&e)
            .with_hint("set AWSCRED_CACHE=file to use the file store instead")
    })?;
    let ks = KeyringStore { name, store };
    if choice == StoreChoice::WinCred {
        return Ok(Box::new(super::chunked::ChunkedStore::new(
            ks,
            WINCRED_LIMIT,
        )));
    }
    Ok(Box::new(ks))
}

fn unsupported(choice: StoreChoice) -> keyring_core::Error {
    keyring_core::Error::NotSupportedByStore(format!(
        "{} is not available on this operating system",
        choice.name()
    ))
}

#[cfg(target_os = "linux")]
fn platform_store(choice: StoreChoice) -> keyring_core::Result<Arc<CredentialStore>> {
    match choice {
        StoreChoice::SecretService => {
            Ok(zbus_secret_service_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        StoreChoice::Keyutils => {
            Ok(linux_keyutils_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        other => Err(unsupported(other)),
    }
}

#[cfg(target_os = "macos")]
fn platform_store(choice: StoreChoice) -> keyring_core::Result<Arc<CredentialStore>> {
    match choice {
        StoreChoice::Keychain => {
            Ok(apple_native_keyring_store::keychain::Store::new()? as Arc<CredentialStore>)
        }
        other => Err(unsupported(other)),
    }
}

#[cfg(windows)]
fn platform_store(choice: StoreChoice) -> keyring_core::Result<Arc<CredentialStore>> {
    match choice {
        StoreChoice::WinCred => {
            Ok(windows_native_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        other => Err(unsupported(other)),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn platform_store(choice: StoreChoice) -> keyring_core::Result<Arc<CredentialStore>> {
    Err(unsupported(choice))
}
