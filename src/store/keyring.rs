//! The operating system keyrings, through `keyring-core` credential stores.
//!
//! Each platform contributes one constructor; everything else is shared. Secret Service
//! (pure-Rust D-Bus) and kernel keyutils on Linux, the Keychain on macOS, Credential Manager
//! on Windows (through [`super::chunked`], since it caps a value at 2560 bytes). A store a
//! platform lacks answers with a clear error instead of failing to compile.

use super::Store;
use super::StoreChoice;
use crate::error::{Error, Result};
use keyring_core::{CredentialStore, Entry};
use sha2::Digest;
use std::sync::Arc;

/// The keyring service name every awscred entry is filed under.
pub const SERVICE: &str = "awscred";
/// Windows Credential Manager's limit on one credential's blob.
pub const WINCRED_LIMIT: usize = 2560;

/// Longest entry name given to Credential Manager: its target names (`awscred.<name>`) end at
/// 513 characters, and long role chains with session tags pass that.
pub const WINCRED_NAME_LIMIT: usize = 400;

/// A `keyring-core` store.
pub struct KeyringStore {
    name: &'static str,
    store: Arc<CredentialStore>,
    /// Longest entry name the store takes; longer keys are shortened with a hash.
    name_limit: Option<usize>,
    /// Store-specific options for entries awscred creates.
    modifiers: &'static [(&'static str, &'static str)],
}

impl KeyringStore {
    fn entry(&self, key: &str) -> Result<Entry> {
        let name = match self.name_limit {
            Some(limit) => entry_name(key, limit),
            None => key.to_string(),
        };
        let made = if self.modifiers.is_empty() {
            Entry::new_in_store(&self.store, SERVICE, &name)
        } else {
            let modifiers = self.modifiers.iter().copied().collect();
            Entry::new_in_store_with_modifiers(&self.store, SERVICE, &name, &modifiers)
        };
        made.map_err(|e| self.fail("cannot address an entry in", e))
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
        super::log_read(self.name, key);
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
    let wincred = choice == StoreChoice::WinCred;
    let ks = KeyringStore {
        name,
        store,
        name_limit: wincred.then_some(WINCRED_NAME_LIMIT),
        // Local: kept on this machine. The crate's default, Enterprise, roams tokens to
        // every machine of a domain user's roaming profile.
        modifiers: if wincred {
            &[("persistence", "Local")]
        } else {
            &[]
        },
    };
    if wincred {
        return Ok(Box::new(super::chunked::ChunkedStore::new(
            ks,
            WINCRED_LIMIT,
        )));
    }
    Ok(Box::new(ks))
}

/// `key` when it fits in `limit` bytes; otherwise its start, cut on a character boundary,
/// and a SHA-256 of the whole key, `limit` bytes in all. The same key always gives the
/// same name, and two keys that share a long start still get different names.
pub fn entry_name(key: &str, limit: usize) -> String {
    if key.len() <= limit {
        return key.to_string();
    }
    let digest = super::file::hex(&sha2::Sha256::digest(key.as_bytes()));
    let mut keep = limit.saturating_sub(digest.len() + 1);
    while !key.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}#{digest}", &key[..keep])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_hashed_to_fit() {
        assert_eq!(entry_name("awscred:short", 400), "awscred:short");
        let long = format!(
            "awscred:credentials:{}",
            "arn:aws:iam::1:role/é|".repeat(40)
        );
        let name = entry_name(&long, WINCRED_NAME_LIMIT);
        assert!(name.len() <= WINCRED_NAME_LIMIT, "{}", name.len());
        assert!(name.starts_with("awscred:credentials:arn:aws:iam::1:role/"));
        assert_eq!(name, entry_name(&long, WINCRED_NAME_LIMIT), "stable");
        let other = format!("{long}x");
        assert_ne!(name, entry_name(&other, WINCRED_NAME_LIMIT));
        // With the chunk suffix added below the chunking layer, still within the limit.
        let chunk = super::super::chunked::chunk_key(&long, 4095);
        assert!(entry_name(&chunk, WINCRED_NAME_LIMIT).len() <= WINCRED_NAME_LIMIT);
    }
}
