//! Executing a chain: from a [`Chain`] to credentials, through the cache.
//!
//! The order is the same for every source. Look in the cache without a lock (the hot path:
//! no network, no runtime). On a miss, take the chain's lock, look again (a peer may have
//! just refreshed), then get the base credentials from their source and assume each role
//! in turn, and cache the result. One module per source; a new source (OIDC providers, AWS
//! console sessions) is one more [`Base`] variant and one more module.

pub mod role;
pub mod sso;

use crate::cache::{self, Cache, MIN_USEFUL};
use crate::clock::Clock;
use crate::config::{Base, Chain, LoginFlow};
use crate::credentials::{CachedCredentials, Credentials};
use crate::env::Environment;
use crate::error::Result;
use crate::lock::Locks;
use crate::net::Net;
use crate::ui::Sink;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Whether and how this invocation may sign the user in.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// A sign-in may be started at all.
    pub allowed: bool,
    /// Someone reads the instructions (a terminal, or `awscred login` under Claude Code),
    /// so the device-code flow can work.
    pub attended: bool,
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
    pub cache: &'a Cache,
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
    let key = cache::keys::credentials(&chain.cache_id());
    let window = chain.settings.refresh_window;
    if let Some(hit) = ctx.cache.get::<CachedCredentials>(&key)?
        && cache::fresh(hit.credentials.expiration, ctx.clock.now(), window)
    {
        crate::log::debug("credentials: cache hit");
        return Ok(hit);
    }
    let _guard = ctx
        .locks
        .acquire(&key, ctx.lock_wait(), "refreshing these credentials")?;
    if let Some(hit) = ctx.cache.get::<CachedCredentials>(&key)?
        && cache::fresh_or_just_refreshed(
            hit.credentials.expiration,
            hit.obtained_at,
            ctx.started,
            ctx.clock.now(),
            window,
            MIN_USEFUL,
        )
    {
        crate::log::debug("credentials: refreshed by another process");
        return Ok(hit);
    }
    let fetched = fetch(ctx, chain)?;
    if chain.base.is_cacheable() || !chain.roles.is_empty() {
        ctx.cache.put(&key, &fetched)?;
    }
    Ok(fetched)
}

/// Gets credentials from the sources, ignoring the final cache entry.
fn fetch(ctx: &Context<'_>, chain: &Chain) -> Result<CachedCredentials> {
    let (mut creds, mut account): (Credentials, Option<String>) = match &chain.base {
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
    };
    for step in &chain.roles {
        let (next, acct) = role::assume(ctx, chain, step, &creds)?;
        creds = next;
        account = acct.or(account);
    }
    Ok(CachedCredentials {
        credentials: creds,
        obtained_at: ctx.clock.now(),
        account_id: account,
    })
}

impl Base {
    /// Whether the base's own credentials are worth caching (static keys are already on
    /// disk where the user put them).
    pub fn is_cacheable(&self) -> bool {
        !matches!(self, Base::StaticKeys(_))
    }
}
