//! The platform's own keyring through awscred's store layer: the Secret Service on Linux,
//! the Keychain on macOS, Credential Manager on Windows (where values larger than its
//! 2560-byte limit go through the chunking layer).

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred::config::StoreChoice;
use awscred::env::Environment;

fn native() -> StoreChoice {
    if cfg!(target_os = "macos") {
        StoreChoice::Keychain
    } else if cfg!(windows) {
        StoreChoice::WinCred
    } else {
        StoreChoice::SecretService
    }
}

#[test]
fn native_store_round_trips_small_and_large_values() {
    let available = if cfg!(target_os = "linux") {
        std::env::var("DBUS_SESSION_BUS_ADDRESS").is_ok()
    } else {
        std::env::var("AWSCRED_TEST_NATIVE_STORE").is_ok_and(|v| v == "1")
    };
    if !available {
        return common::missing("the platform keyring");
    }
    let store = awscred::store::open(native(), &Environment::from_process()).unwrap();
    let key = format!("awscred:test:{}", std::process::id());
    let large: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    for value in [&b"small"[..], &large[..]] {
        store.set(&key, value).unwrap();
        assert_eq!(store.get(&key).unwrap().as_deref(), Some(value));
    }
    store.set(&key, b"shrunk").unwrap();
    assert_eq!(store.get(&key).unwrap().as_deref(), Some(&b"shrunk"[..]));
    store.delete(&key).unwrap();
    assert_eq!(store.get(&key).unwrap(), None);
    store.delete(&key).unwrap();
}
