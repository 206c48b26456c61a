//! Typed, versioned entries on top of a [`Store`], and the freshness rules.
//!
//! Every entry is JSON in an envelope `{"v":1,"key":…,"data":…}`. An entry that does not
//! decode (corrupt, another version, a different key behind a hash) is a miss: the caller
//! fetches anew and overwrites it, never crashes on it.

use crate::error::Result;
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The envelope version this build writes and reads.
pub const VERSION: u32 = 1;
/// Tokens are refreshed this long before they expire.
pub const TOKEN_REFRESH_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Client registrations are renewed this long before their secret expires.
pub const REGISTRATION_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Claude Code treats credentials with 6 minutes left or less as having no expiry and keeps
/// them for an hour; awscred hands out nothing that close to expiry when it can do better.
pub const MIN_USEFUL: Duration = Duration::from_secs(6 * 60 + 5);

/// Cache keys, one constructor per kind of entry.
pub mod keys {
    /// Final credentials of a chain.
    pub fn credentials(chain_id: &str) -> String {
        format!("awscred:credentials:{chain_id}")
    }
    /// An IAM Identity Center token.
    pub fn sso_token(session_name: Option<&str>, start_url: &str) -> String {
        format!(
            "awscred:sso-token:{}|{start_url}",
            session_name.unwrap_or("")
        )
    }
    /// An IAM Identity Center OIDC client registration.
    pub fn sso_client(region: &str, flow: &str, scopes: &[String], start_url: &str) -> String {
        format!(
            "awscred:sso-client:{region}|{flow}|{}|{start_url}",
            scopes.join(",")
        )
    }
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    v: u32,
    key: &'a str,
    data: &'a T,
}

#[derive(Deserialize)]
struct EnvelopeIn<T> {
    v: u32,
    key: String,
    data: T,
}

/// Typed access to a store.
pub struct Cache {
    store: Box<dyn Store>,
}

impl Cache {
    /// Wraps a store.
    pub fn new(store: Box<dyn Store>) -> Self {
        Self { store }
    }

    /// The store underneath.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Reads an entry; anything that does not decode is a miss.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let Some(bytes) = self.store.get(key)? else {
            return Ok(None);
        };
        Ok(decode(key, &bytes))
    }

    /// Writes an entry.
    pub fn put<T: Serialize>(&self, key: &str, data: &T) -> Result<()> {
        let bytes = serde_json::to_vec(&EnvelopeOut {
            v: VERSION,
            key,
            data,
        })
        .map_err(|e| {
            crate::error::Error::unexpected("cannot encode a cache entry").caused_by(&e)
        })?;
        self.store.set(key, &bytes)
    }

    /// Deletes an entry.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.store.delete(key)
    }

    /// Deletes entries that can never be used again, so the cache stays bounded when
    /// profiles are renamed or removed: credentials expired more than [`PRUNE_AFTER`] ago,
    /// expired registrations, expired tokens without a refresh token, and anything that does
    /// not decode. Returns how many were deleted.
    pub fn prune(&self, now: DateTime<Utc>) -> Result<usize> {
        self.store.prune(&|bytes| is_stale(bytes, now))
    }
}

/// How long after expiry an entry is kept (for `status` to show what lapsed).
pub const PRUNE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Whether a raw entry can be pruned.
pub fn is_stale(bytes: &[u8], now: DateTime<Utc>) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return true;
    };
    if v.get("v").and_then(serde_json::Value::as_u64) != Some(u64::from(VERSION)) {
        return true;
    }
    let data = &v["data"];
    let time = |x: &serde_json::Value| {
        x.as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let cutoff = now - chrono::Duration::from_std(PRUNE_AFTER).unwrap_or_default();
    if let Some(exp) = time(&data["credentials"]["expiration"]) {
        return exp < cutoff;
    }
    if data.get("refresh_token").is_some_and(|r| !r.is_null()) {
        return false;
    }
    match time(&data["expires_at"]) {
        Some(exp) => exp < cutoff,
        None => false,
    }
}

/// Decodes an envelope; `None` for anything unexpected.
pub fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Option<T> {
    match serde_json::from_slice::<EnvelopeIn<T>>(bytes) {
        Ok(env) if env.v == VERSION && env.key == key => Some(env.data),
        Ok(_) => {
            crate::log::debug("cache entry of another version or key; treating it as a miss");
            None
        }
        Err(e) => {
            crate::log::debug(&format!(
                "unreadable cache entry ({e}); treating it as a miss"
            ));
            None
        }
    }
}

/// Time left until `expires`, or zero.
pub fn remaining(expires: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (expires - now).to_std().unwrap_or(Duration::ZERO)
}

/// Whether something expiring at `expires` is still worth handing out with `window` to spare.
pub fn fresh(expires: Option<DateTime<Utc>>, now: DateTime<Utc>, window: Duration) -> bool {
    match expires {
        None => true,
        Some(e) => remaining(e, now) > window,
    }
}

/// Whether cached credentials can be handed out: more than `window` left, or, when their
/// source only issues credentials that live less than `window` (so fetching again cannot do
/// better), more than [`MIN_USEFUL`] left.
pub fn reusable(
    expires: Option<DateTime<Utc>>,
    obtained: DateTime<Utc>,
    now: DateTime<Utc>,
    window: Duration,
) -> bool {
    let short_lived = expires.is_some_and(|e| remaining(e, obtained) <= window);
    fresh(expires, now, window) || (short_lived && fresh(expires, now, MIN_USEFUL.min(window)))
}

/// The rule after waiting on a lock: fresh by the window, or refreshed by another process
/// since `since` and still useful.
pub fn fresh_or_just_refreshed(
    expires: Option<DateTime<Utc>>,
    obtained: DateTime<Utc>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    window: Duration,
    useful: Duration,
) -> bool {
    fresh(expires, now, window) || (obtained >= since && fresh(expires, now, useful))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FixedClock};
    use crate::store::memory::MemoryStore;
    use chrono::TimeZone;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct E {
        a: u32,
    }

    #[test]
    fn round_trip_and_misses() {
        let mem = MemoryStore::new();
        let c = Cache::new(Box::new(mem));
        assert_eq!(c.get::<E>("k").unwrap(), None);
        c.put("k", &E { a: 1 }).unwrap();
        assert_eq!(c.get::<E>("k").unwrap(), Some(E { a: 1 }));
        c.delete("k").unwrap();
        assert_eq!(c.get::<E>("k").unwrap(), None);
    }

    #[test]
    fn corrupt_wrong_version_and_wrong_key_are_misses() {
        assert_eq!(decode::<E>("k", b"{not json"), None);
        assert_eq!(
            decode::<E>("k", br#"{"v":2,"key":"k","data":{"a":1}}"#),
            None
        );
        assert_eq!(
            decode::<E>("k", br#"{"v":1,"key":"other","data":{"a":1}}"#),
            None
        );
        assert_eq!(
            decode::<E>("k", br#"{"v":1,"key":"k","data":{"b":1}}"#),
            None
        );
        assert_eq!(
            decode::<E>("k", br#"{"v":1,"key":"k","data":{"a":1}}"#),
            Some(E { a: 1 })
        );
    }

    #[test]
    fn stale_entries_are_recognised() {
        let now = Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap();
        let creds = |exp: &str| {
            format!(
                r#"{{"v":1,"key":"k","data":{{"credentials":{{"expiration":"{exp}"}},"obtained_at":"2026-01-01T00:00:00Z"}}}}"#
            )
        };
        assert!(is_stale(creds("2026-01-08T00:00:00Z").as_bytes(), now));
        assert!(
            !is_stale(creds("2026-01-09T12:00:00Z").as_bytes(), now),
            "kept for a day"
        );
        assert!(
            !is_stale(
                br#"{"v":1,"key":"k","data":{"credentials":{"expiration":null}}}"#,
                now
            ),
            "long-term keys stay"
        );
        assert!(!is_stale(br#"{"v":1,"key":"k","data":{"expires_at":"2026-01-01T00:00:00Z","refresh_token":"r"}}"#, now), "refreshable tokens stay");
        assert!(is_stale(br#"{"v":1,"key":"k","data":{"expires_at":"2026-01-01T00:00:00Z","refresh_token":null}}"#, now));
        assert!(is_stale(b"garbage", now));
        assert!(is_stale(br#"{"v":9,"key":"k","data":{}}"#, now));
    }

    #[test]
    fn prune_deletes_only_stale_files() {
        let d = tempfile::tempdir().unwrap();
        let store = crate::store::file::FileStore::new(d.path().join("s")).unwrap();
        let c = Cache::new(Box::new(store));
        let now = Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap();
        let mk = |exp: DateTime<Utc>| crate::credentials::CachedCredentials {
            credentials: crate::credentials::Credentials {
                access_key_id: "A".into(),
                secret_access_key: crate::secret::Secret::new("s".into()),
                session_token: None,
                expiration: Some(exp),
            },
            obtained_at: exp,
            account_id: None,
        };
        for i in 0..50 {
            c.put(&format!("old{i}"), &mk(now - chrono::Duration::days(3)))
                .unwrap();
        }
        c.put("fresh", &mk(now + chrono::Duration::hours(1)))
            .unwrap();
        assert_eq!(c.prune(now).unwrap(), 50);
        assert!(
            c.get::<crate::credentials::CachedCredentials>("fresh")
                .unwrap()
                .is_some()
        );
        assert_eq!(std::fs::read_dir(d.path().join("s")).unwrap().count(), 1);
    }

    #[test]
    fn freshness_follows_the_clock() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let clock = FixedClock::new(t0);
        let exp = Some(t0 + chrono::Duration::minutes(20));
        let window = Duration::from_secs(15 * 60);
        assert!(fresh(exp, clock.now(), window));
        clock.advance(chrono::Duration::minutes(5));
        assert!(
            !fresh(exp, clock.now(), window),
            "exactly 15 minutes left is not enough"
        );
        assert!(fresh(None, clock.now(), window));
        // Refreshed by a peer after we started waiting, with 10 minutes left: accept.
        assert!(fresh_or_just_refreshed(
            Some(clock.now() + chrono::Duration::minutes(10)),
            clock.now(),
            t0,
            clock.now(),
            window,
            MIN_USEFUL
        ));
        // Old entry with 10 minutes left: refresh.
        assert!(!fresh_or_just_refreshed(
            Some(clock.now() + chrono::Duration::minutes(10)),
            t0 - chrono::Duration::minutes(1),
            t0,
            clock.now(),
            window,
            MIN_USEFUL
        ));
        // Short-lived credentials (the source gives 10 minutes): reused while more than
        // MIN_USEFUL remains, since fetching again cannot do better.
        let obtained = clock.now();
        let short = Some(obtained + chrono::Duration::minutes(10));
        assert!(reusable(short, obtained, clock.now(), window));
        assert!(reusable(
            short,
            obtained,
            clock.now() + chrono::Duration::minutes(3),
            window
        ));
        assert!(!reusable(
            short,
            obtained,
            clock.now() + chrono::Duration::minutes(4),
            window
        ));
        // Long-lived credentials under the window are refreshed.
        let long = Some(obtained + chrono::Duration::minutes(10));
        assert!(!reusable(
            long,
            obtained - chrono::Duration::minutes(50),
            clock.now(),
            window
        ));
        // Refreshed by a peer but only 6 minutes left: not useful to Claude Code.
        assert!(!fresh_or_just_refreshed(
            Some(clock.now() + chrono::Duration::minutes(6)),
            clock.now(),
            t0,
            clock.now(),
            window,
            MIN_USEFUL
        ));
    }
}
