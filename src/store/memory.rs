//! An in-memory store for unit tests, optionally enforcing a value-size limit the way
//! Windows Credential Manager does, so the chunking layer is tested on every platform.

use super::Store;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Values in a map.
#[derive(Debug, Default)]
pub struct MemoryStore {
    values: Mutex<BTreeMap<String, Vec<u8>>>,
    limit: Option<usize>,
}

impl MemoryStore {
    /// An empty store without a size limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that refuses values longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit: Some(limit),
            ..Self::default()
        }
    }

    /// The keys present, for tests.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Replaces a raw value behind the store's back, for corruption tests.
    pub fn put_raw(&self, key: &str, value: &[u8]) {
        self.lock().insert(key.to_string(), value.to_vec());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.lock().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        if let Some(limit) = self.limit
            && value.len() > limit
        {
            return Err(Error::unexpected(format!(
                "value of {} bytes exceeds this store's limit of {limit} bytes",
                value.len()
            )));
        }
        self.lock().insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.lock().remove(key);
        Ok(())
    }
}
