//! Executing a chain: from a [`Chain`] to credentials, through the cache.
//!
//! Every step of a chain (the base, then each role) has its own cache entry, so a refresh
//! of the last role costs one AssumeRole while the steps below are still fresh, and an MFA
//! code is asked once per session. For each step: look in the cache without a lock (the hot
//! path: no network, no runtime); on a miss take the step's lock, look again (a peer may
//! have just refreshed), fetch, cache. One module per source; a new source (OIDC providers,
//! AWS console sessions) is one more [`Base`] variant and one more module.

pub mod instance;
pub mod mfa;
pub mod oidc;
pub mod role;
pub mod sso;
pub mod web_identity;

use crate::cache::{self, MIN_USEFUL};
use crate::clock::Clock;
use crate::config::{Base, Chain, LoginFlow};
use crate::credentials::{CachedCredentials, Credentials};
use crate::env::{self, Environment};
use crate::error::{Error, Result};
use crate::lock::Locks;
use crate::net::Net;
use crate::ui::Sink;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Credentials below the last step are reused while more than this remains: they only
/// have to last for the next AssumeRole call.
pub const INTERMEDIATE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Whether and how this invocation may sign the user in.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// A sign-in may be started at all.
    pub allowed: bool,
    /// Someone reads the instructions (a terminal, or `awscred login` under Claude Code),
    /// so the device-code flow can work.
    pub attended: bool,
    /// A person at a terminal can type an answer (an MFA code) on `/dev/tty`.
    pub can_prompt: bool,
    /// The flow asked for (flags, then `awscred_login`).
    pub flow: LoginFlow,
    /// Launch a browser for the browser flow (`--no-browser` prints the URL only).
    pub open_browser: bool,
    /// Fixed loopback port for the browser flow (0 = any free port).
    pub redirect_port: u16,
    /// Where sign-in instructions go.
    pub sink: Sink,
    /// Longest a sign-in may take.
    pub timeout: Duration,
    /// Sign in again even if a token is cached (`login --force`).
    pub force: bool,
}

/// Everything a source needs from the outside world.
pub struct Context<'a> {
    /// Environment snapshot.
    pub env: &'a Environment,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// The typed cache.
    pub cache: &'a cache::Cache,
    /// Cross-process locks.
    pub locks: &'a Locks,
    /// AWS clients, built on first use.
    pub net: &'a Net,
    /// Sign-in rules.
    pub login: LoginPolicy,
    /// When this invocation started (entries obtained since were refreshed by a peer).
    pub started: DateTime<Utc>,
    /// The profile asked for, for hints.
    pub profile: &'a str,
}

impl Context<'_> {
    /// The hint that tells the user how to sign in.
    pub fn login_hint(&self) -> String {
        format!("run awscred login --profile {}", self.profile)
    }

    /// How long to wait for a peer holding a lock.
    pub fn lock_wait(&self) -> Duration {
        self.login.timeout + Duration::from_secs(15)
    }
}

/// Credentials for a chain: from the cache when fresh, otherwise from the sources.
pub fn credentials(ctx: &Context<'_>, chain: &Chain) -> Result<CachedCredentials> {
    step(ctx, chain, chain.roles.len(), chain.settings.refresh_window)
}

/// Credentials that carry a session token: long-term keys are exchanged with STS
/// GetSessionToken (Claude Code rejects credentials without one).
pub fn session_credentials(ctx: &Context<'_>, chain: &Chain) -> Result<CachedCredentials> {
    let c = credentials(ctx, chain)?;
    if c.credentials.session_token.is_some() {
        return Ok(c);
    }
    let key = cache::keys::credentials(&format!("{}>session", chain.cache_id()));
    cached_step(
        ctx,
        &key,
        chain.settings.refresh_window,
        "getting a session token",
        || {
            let (creds, _) = role::session_token(ctx, chain, &c.credentials)?;
            Ok(CachedCredentials {
                credentials: creds,
                obtained_at: ctx.clock.now(),
                account_id: c.account_id.clone(),
            })
        },
    )
}

/// The credentials after `n` role steps.
fn step(ctx: &Context<'_>, chain: &Chain, n: usize, window: Duration) -> Result<CachedCredentials> {
    if n == 0 && !is_cacheable(&chain.base) {
        return base(ctx, chain);
    }
    let key = cache::keys::credentials(&chain.cache_id_at(n));
    cached_step(ctx, &key, window, "refreshing these credentials", || {
        if n == 0 {
            return base(ctx, chain);
        }
        let below = step(ctx, chain, n - 1, INTERMEDIATE_WINDOW)?;
        let (creds, account) = role::assume(ctx, chain, &chain.roles[n - 1], &below.credentials)?;
        Ok(CachedCredentials {
            credentials: creds,
            obtained_at: ctx.clock.now(),
            account_id: account.or(below.account_id),
        })
    })
}

/// Cache lookup, lock, second lookup, fetch, store.
fn cached_step(
    ctx: &Context<'_>,
    key: &str,
    window: Duration,
    what: &str,
    fetch: impl FnOnce() -> Result<CachedCredentials>,
) -> Result<CachedCredentials> {
    if let Some(hit) = ctx.cache.get::<CachedCredentials>(key)?
        && cache::reusable(
            hit.credentials.expiration,
            hit.obtained_at,
            ctx.clock.now(),
            window,
        )
    {
        crate::log::debug("credentials: cache hit");
        return Ok(hit);
    }
    let _guard = ctx.locks.acquire(key, ctx.lock_wait(), what)?;
    if let Some(hit) = ctx.cache.get::<CachedCredentials>(key)?
        && (cache::reusable(
            hit.credentials.expiration,
            hit.obtained_at,
            ctx.clock.now(),
            window,
        ) || cache::fresh_or_just_refreshed(
            hit.credentials.expiration,
            hit.obtained_at,
            ctx.started,
            ctx.clock.now(),
            window,
            MIN_USEFUL.min(window),
        ))
    {
        crate::log::debug("credentials: refreshed by another process");
        return Ok(hit);
    }
    let fetched = fetch()?;
    ctx.cache.put(key, &fetched)?;
    prune_now_and_then(ctx);
    Ok(fetched)
}

/// How often the write path prunes the cache.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Prunes stale entries at most once per [`PRUNE_EVERY`] (a marker file's age says when it
/// last ran). Only refreshes get here, never the cache-hit path.
fn prune_now_and_then(ctx: &Context<'_>) {
    let Ok(cache_dir) = ctx.env.cache_dir() else {
        return;
    };
    let marker = cache_dir.join("last-prune");
    let due = fs_err::metadata(&marker)
        .and_then(|m| m.modified())
        .map(|t| t.elapsed().map(|e| e >= PRUNE_EVERY).unwrap_or(true))
        .unwrap_or(true);
    if !due {
        return;
    }
    let _ = crate::store::file::write_atomic(&marker, b"");
    match ctx.cache.prune(ctx.clock.now()) {
        Ok(0) => {}
        Ok(n) => crate::log::debug(&format!("pruned {n} stale cache entries")),
        Err(e) => crate::log::debug(&format!("pruning the cache failed: {e}")),
    }
}

/// A sign-in token as cached: what the shared token lifecycle needs to know of it.
pub trait CachedToken: serde::Serialize + serde::de::DeserializeOwned + Clone {
    /// When it stops working.
    fn expires_at(&self) -> DateTime<Utc>;
    /// When this process or a peer obtained it.
    fn obtained_at(&self) -> DateTime<Utc>;
}

/// The token lifecycle every sign-in source shares: a fresh cached token without a lock;
/// otherwise the key's lock, a second look (a peer may just have renewed it, which also
/// satisfies `login --force`), then `renew` (refresh or sign in) and the cache. `renew` gets
/// the stale token, or `None` when a new sign-in is forced.
pub(crate) fn cached_token<T: CachedToken>(
    ctx: &Context<'_>,
    key: &str,
    what: &str,
    renew: impl FnOnce(Option<&T>) -> Result<T>,
) -> Result<T> {
    if !ctx.login.force
        && let Some(t) = ctx.cache.get::<T>(key)?
        && cache::fresh(
            Some(t.expires_at()),
            ctx.clock.now(),
            cache::TOKEN_REFRESH_WINDOW,
        )
    {
        return Ok(t);
    }
    let _guard = ctx.locks.acquire(key, ctx.lock_wait(), what)?;
    let cached = ctx.cache.get::<T>(key)?;
    if let Some(t) = &cached
        && (!ctx.login.force || t.obtained_at() >= ctx.started)
        && cache::fresh_or_just_refreshed(
            Some(t.expires_at()),
            t.obtained_at(),
            ctx.started,
            ctx.clock.now(),
            cache::TOKEN_REFRESH_WINDOW,
            MIN_USEFUL,
        )
    {
        return Ok(t.clone());
    }
    let t = renew(cached.as_ref().filter(|_| !ctx.login.force))?;
    ctx.cache.put(key, &t)?;
    Ok(t)
}

/// Whether a base's own credentials are worth caching: those that cost a sign-in or a
/// network call. Keys on disk or in the environment, and local metadata endpoints, are
/// read each time.
pub fn is_cacheable(base: &Base) -> bool {
    matches!(base, Base::Sso(_) | Base::WebIdentity(_) | Base::Oidc(_))
}

/// The base credentials of a chain, from their source.
fn base(ctx: &Context<'_>, chain: &Chain) -> Result<CachedCredentials> {
    let (credentials, account_id) = match &chain.base {
        Base::Sso(role) => (
            sso::role_credentials(ctx, role)?,
            Some(role.account_id.clone()),
        ),
        Base::StaticKeys(k) => (
            Credentials {
                access_key_id: k.access_key_id.clone(),
                secret_access_key: k.secret_access_key.clone(),
                session_token: k.session_token.clone(),
                expiration: None,
            },
            None,
        ),
        Base::Environment => (from_environment(ctx.env, &chain.profile)?, None),
        Base::InstanceMetadata => (
            instance::credentials(ctx, instance::Kind::InstanceMetadata)?,
            None,
        ),
        Base::Container => (instance::credentials(ctx, instance::Kind::Container)?, None),
        Base::WebIdentity(w) => web_identity::credentials(ctx, chain, w)?,
        Base::Oidc(o) => oidc::credentials(ctx, chain, o)?,
    };
    Ok(CachedCredentials {
        credentials,
        obtained_at: ctx.clock.now(),
        account_id,
    })
}

fn from_environment(env: &Environment, profile: &str) -> Result<Credentials> {
    let (Some(akid), Some(secret)) = (
        env.get(env::AWS_ACCESS_KEY_ID),
        env.get(env::AWS_SECRET_ACCESS_KEY),
    ) else {
        return Err(Error::user(format!(
            "profile `{profile}` uses credential_source = Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set"
        ))
        .with_hint("export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or change credential_source"));
    };
    Ok(Credentials {
        access_key_id: akid.to_string(),
        secret_access_key: crate::secret::Secret::new(secret.to_string()),
        session_token: env
            .get(env::AWS_SESSION_TOKEN)
            .map(|t| crate::secret::Secret::new(t.to_string())),
        expiration: None,
    })
}
