//! AWS credentials as every source produces them and every output prints them.

use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A set of AWS credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Access key id (not secret on its own; shown in `status`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret<String>,
    /// Session token of temporary credentials.
    pub session_token: Option<Secret<String>>,
    /// When they stop working; `None` for long-term keys.
    pub expiration: Option<DateTime<Utc>>,
}

/// Credentials as cached, with when they were obtained (for the lock-waiter rule).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedCredentials {
    /// The credentials.
    pub credentials: Credentials,
    /// When this process or a peer obtained them.
    pub obtained_at: DateTime<Utc>,
    /// The account they belong to, when the source names it without a request
    /// (`sso_account_id`, the role ARN); `process` and container replies print it as
    /// `AccountId`. Entries written before it existed decode with `None`.
    #[serde(default)]
    pub account_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "awscred:credentials:p";

    #[test]
    fn entries_with_and_without_an_account_decode() {
        let old = br#"{"v":1,"key":"awscred:credentials:p","data":{"credentials":{"access_key_id":"A","secret_access_key":"s","session_token":"t","expiration":"2026-11-24T18:04:05Z"},"obtained_at":"2026-11-24T17:04:05Z"}}"#;
        let c: CachedCredentials =
            crate::cache::decode(KEY, old).expect("an entry without account_id");
        assert_eq!(c.account_id, None);
        assert_eq!(c.credentials.access_key_id, "A");

        let new = br#"{"v":1,"key":"awscred:credentials:p","data":{"credentials":{"access_key_id":"A","secret_access_key":"s","session_token":"t","expiration":"2026-11-24T18:04:05Z"},"obtained_at":"2026-11-24T17:04:05Z","account_id":"111122223333"}}"#;
        let c: CachedCredentials =
            crate::cache::decode(KEY, new).expect("an entry with account_id");
        assert_eq!(c.account_id.as_deref(), Some("111122223333"));
    }
}
