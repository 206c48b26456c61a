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
    /// The account they belong to, when known.
    #[serde(default)]
    pub account_id: Option<String>,
}
