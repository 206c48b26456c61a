//! Executing a chain: from a [`Chain`] to credentials, through the cache.
//!
//! Every step of a chain (the base, then each role) has its own cache entry, so a refresh
//! of the last role costs one AssumeRole while the steps below are still fresh, and an MFA
//! code is asked once per session. For each step: look in the cache without a lock (the hot
//! path: no network, no runtime); on a miss take the step's lock, look again (a peer may
//! have just refreshed), fetch, cache.
//!
//! One module per source. [`of`] is the one place that matches on [`Base`]: it turns the
//! plain data of a chain's base into a [`Source`] (and, where the source signs the user in,
//! a [`SignIn`]). Everything else — caching, `status`, `doctor`, `login`, `logout` — goes
//! through those traits, so a new variant makes the compiler point at `of` and nowhere else.

pub mod cli_sso_cache;
pub mod instance;
pub mod login_session;
pub mod mfa;
pub mod oidc;
pub mod process;
pub mod role;
pub mod sso;
pub mod web_identity;

use crate::cache::{self, MIN_USEFUL};
use crate::clock::Clock;
use crate::config::{Base, Chain};
use crate::credentials::{CachedCredentials, Credentials};
use crate::env::{self, Environment};
use crate::error::{Error, Result};
use crate::lock::Locks;
use crate::net::Net;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Credentials below the last step are reused while more than this remains: they only
/// have to last for the next AssumeRole call.
pub const INTERMEDIATE_WINDOW: Duration = Duration::from_secs(5 * 60);

pub use crate::login::{LOGIN_TIMEOUT_ATTENDED, LOGIN_TIMEOUT_UNATTENDED, LoginPolicy};

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
    /// Ignore cached credentials obtained before this request (`--refresh`); sign-ins are
    /// kept.
    pub refresh: bool,
}

impl Context<'_> {
    /// The hint that tells the user how to sign in.
    pub fn login_hint(&self) -> String {
        format!("run awscred login --profile {}", self.profile)
    }

    /// What a sign-in flow needs of this context.
    pub fn sign_in_ctx(&self) -> crate::login::Ctx<'_> {
        crate::login::Ctx {
            env: self.env,
            net: self.net,
            policy: &self.login,
            profile: self.profile,
        }
    }

    /// How long to wait for a peer holding a lock.
    pub fn lock_wait(&self) -> Duration {
        self.login.timeout + Duration::from_secs(15)
    }
}

/// A chain's base as behaviour.
pub trait Source {
    /// A short stable name of the kind of source (`sso`, `static`, …), for `list --json`.
    fn kind(&self) -> &'static str;
    /// One line for `status` and `doctor`.
    fn describe(&self) -> String;
    /// The identity of the credentials it gives, the start of every cache id of the chain.
    fn cache_id(&self) -> String;
    /// Whether its credentials are cached: those that cost a sign-in or a request. Keys on
    /// disk or in the environment, and local metadata endpoints, are read each time.
    fn cacheable(&self) -> bool;
    /// Fetches its credentials, and the account id when it is known without a request.
    fn fetch(&self, ctx: &Context<'_>, chain: &Chain) -> Result<(Credentials, Option<String>)>;
    /// The sign-in it depends on, if any.
    fn sign_in(&self) -> Option<&dyn SignIn> {
        None
    }
    /// What to do when AWS rejects the credentials it gave (revoked, expired, unknown);
    /// for a sign-in source, signing in again.
    fn rejected_fix(&self, profile: &str) -> String {
        format!("run awscred login --profile {profile}")
    }
}

/// A sign-in a source depends on: IAM Identity Center, an external identity provider.
pub trait SignIn {
    /// What is signed in to, for messages (`IAM Identity Center (sso-session corp)`).
    fn name(&self) -> String;
    /// Whether `other` (another profile's base) uses this same sign-in: `logout` and
    /// `login --force` reach the credentials of every profile on it.
    fn shared_by(&self, other: &Base) -> bool;
    /// The state from the cache alone: no request, no sign-in.
    fn state(&self, ctx: &Context<'_>) -> Result<SignInState>;
    /// Makes sure the sign-in works: the cached one, refreshed, or a new one where the
    /// policy allows (always a new one with `ctx.login.force`). Returns until when an
    /// existing sign-in was reused, or `None` when a new one was made.
    fn ensure(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>>;
    /// Signs out: deletes its tokens (those of `sharing` too, the bases of every profile on
    /// it) and tells the provider where it can. Returns a line for the user.
    fn sign_out(&self, ctx: &Context<'_>, sharing: &[&Base]) -> Result<String>;
}

/// A sign-in's state, as `status` and `doctor` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInState {
    /// Never signed in, or signed out.
    None,
    /// Signed in until then; `refreshable` when a refresh token can renew it.
    Valid {
        /// When the token expires.
        until: DateTime<Utc>,
        /// Whether it can be refreshed without the user.
        refreshable: bool,
    },
    /// The token expired; `refreshable` when a refresh token may still renew it.
    Expired {
        /// Whether it can be refreshed without the user.
        refreshable: bool,
    },
}

/// Keys from the environment (`credential_source = Environment`).
pub struct EnvironmentKeys;

static ENVIRONMENT_KEYS: EnvironmentKeys = EnvironmentKeys;
static INSTANCE_METADATA: instance::Endpoint = instance::Endpoint(instance::Kind::InstanceMetadata);
static CONTAINER: instance::Endpoint = instance::Endpoint(instance::Kind::Container);

/// The source behind a chain's base: the one match on [`Base`].
pub fn of(base: &Base) -> &dyn Source {
    match base {
        Base::Sso(role) => role,
        Base::StaticKeys(keys) => keys,
        Base::Environment => &ENVIRONMENT_KEYS,
        Base::InstanceMetadata => &INSTANCE_METADATA,
        Base::Container => &CONTAINER,
        Base::WebIdentity(w) => w,
        Base::Oidc(o) => o,
        Base::Process(p) => p,
        Base::LoginSession(l) => l,
    }
}

/// The identity of the credentials after the first `steps` roles of `chain` (0 = the base).
pub fn cache_id(chain: &Chain, steps: usize) -> String {
    let mut id = of(&chain.base).cache_id();
    for r in chain.roles.iter().take(steps) {
        id.push_str(&format!(
            ">role|{}|{}|{}|{}|{}",
            r.role_arn,
            r.external_id.as_deref().unwrap_or(""),
            r.session_name.as_deref().unwrap_or(""),
            r.duration_seconds.unwrap_or(0),
            r.mfa_serial.as_deref().unwrap_or("")
        ));
        if !r.session_tags.is_empty() || r.source_identity.is_some() {
            id.push_str(&format!(
                "|{:?}|{:?}|{}",
                r.session_tags,
                r.transitive_tag_keys,
                r.source_identity.as_deref().unwrap_or("")
            ));
        }
    }
    id
}

/// The cache key of the credentials `chain` produces.
pub fn final_key(chain: &Chain) -> String {
    cache::keys::credentials(&cache_id(chain, chain.roles.len()))
}

/// The cache keys of every credentials entry `chain` can leave: each step, and the session
/// that long-term keys are exchanged for.
pub fn step_keys(chain: &Chain) -> Vec<String> {
    let mut keys: Vec<String> = (0..=chain.roles.len())
        .map(|n| cache::keys::credentials(&cache_id(chain, n)))
        .collect();
    keys.push(session_key(chain));
    keys
}

/// The cache key of the session `export` gets for long-term keys.
fn session_key(chain: &Chain) -> String {
    cache::keys::credentials(&format!("{}>session", cache_id(chain, chain.roles.len())))
}

/// `chain` and every other chain in the configuration whose base uses `sign_in`. The stores
/// cannot list their entries, so what a sign-in left in the cache is found from the
/// profiles that could have written it. Profiles that do not resolve are skipped.
pub fn sharing(
    files: &crate::config::AwsFiles,
    env: &Environment,
    chain: &Chain,
    sign_in: &dyn SignIn,
) -> Vec<Chain> {
    let mut out = vec![chain.clone()];
    out.extend(
        files
            .config
            .names(crate::config::parse::SectionKind::Profile)
            .filter(|name| *name != chain.profile)
            .filter_map(|name| crate::config::resolve::resolve(files, name, env).ok())
            .filter(|c| sign_in.shared_by(&c.base)),
    );
    out
}

/// The credential cache keys of every step of `chains`, each once.
pub fn credential_keys(chains: &[Chain]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for c in chains {
        for k in step_keys(c) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

/// One line describing the chain, for `status` and `doctor`.
pub fn describe(chain: &Chain) -> String {
    let mut s = of(&chain.base).describe();
    for r in &chain.roles {
        s.push_str(&format!(" → assume {}", r.role_arn));
    }
    s
}

impl Source for EnvironmentKeys {
    fn rejected_fix(&self, _profile: &str) -> String {
        "AWS does not accept AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: set current keys".into()
    }
    fn kind(&self) -> &'static str {
        "environment"
    }
    fn describe(&self) -> String {
        "keys from the environment (AWS_ACCESS_KEY_ID)".to_string()
    }
    fn cache_id(&self) -> String {
        "env".to_string()
    }
    fn cacheable(&self) -> bool {
        false
    }
    fn fetch(&self, ctx: &Context<'_>, chain: &Chain) -> Result<(Credentials, Option<String>)> {
        Ok((from_environment(ctx.env, &chain.profile)?, None))
    }
}

impl Source for crate::config::StaticKeys {
    fn rejected_fix(&self, _profile: &str) -> String {
        format!(
            "AWS does not accept the keys of [{}]: put current aws_access_key_id and aws_secret_access_key in your credentials file",
            self.profile
        )
    }
    fn kind(&self) -> &'static str {
        "static"
    }
    fn describe(&self) -> String {
        format!("static keys of profile {}", self.profile)
    }
    fn cache_id(&self) -> String {
        format!("static|{}", self.access_key_id)
    }
    fn cacheable(&self) -> bool {
        false
    }
    fn fetch(&self, _ctx: &Context<'_>, _chain: &Chain) -> Result<(Credentials, Option<String>)> {
        Ok((
            Credentials {
                access_key_id: self.access_key_id.clone(),
                secret_access_key: self.secret_access_key.clone(),
                session_token: self.session_token.clone(),
                expiration: None,
            },
            None,
        ))
    }
}

/// Credentials for a chain: from the cache when fresh, otherwise from the sources.
pub fn credentials(ctx: &Context<'_>, chain: &Chain) -> Result<CachedCredentials> {
    step(ctx, chain, chain.roles.len(), chain.settings.refresh_window)
}

/// Credentials that carry a session token: long-term keys are exchanged with STS
/// GetSessionToken (Claude Code rejects credentials without one).
pub fn session_credentials(ctx: &Context<'_>, chain: &Chain) -> Result<CachedCredentials> {
    session_credentials_lasting(ctx, chain, None)
}

/// [`session_credentials`] with GetSessionToken's DurationSeconds (`exec --duration`),
/// which is part of that step's cache key.
pub fn session_credentials_lasting(
    ctx: &Context<'_>,
    chain: &Chain,
    duration: Option<i32>,
) -> Result<CachedCredentials> {
    let c = credentials(ctx, chain)?;
    if c.credentials.session_token.is_some() {
        return Ok(c);
    }
    let id = cache_id(chain, chain.roles.len());
    let key = cache::keys::credentials(&match duration {
        Some(d) => format!("{id}>session|{d}"),
        None => format!("{id}>session"),
    });
    cached_step(
        ctx,
        &key,
        chain.settings.refresh_window,
        "getting a session token",
        || {
            let (creds, _) = role::session_token(ctx, chain, &c.credentials, duration)?;
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
    if n == 0 && !of(&chain.base).cacheable() {
        return base(ctx, chain);
    }
    let key = cache::keys::credentials(&cache_id(chain, n));
    cached_step(ctx, &key, window, "refreshing these credentials", || {
        if n == 0 {
            return base(ctx, chain);
        }
        let below = step(ctx, chain, n - 1, INTERMEDIATE_WINDOW)?;
        let role = &chain.roles[n - 1];
        let (creds, account) = match role::assume(ctx, chain, role, &below.credentials) {
            // AWS no longer accepts the cached credentials below (a revoked session, a
            // restarted service): drop them and fetch that step once more, by itself.
            Err(e) if e.is_rejected_credentials() && below.obtained_at < ctx.started => {
                crate::log::info(&format!(
                    "AWS rejected the cached credentials below {}; fetching them again",
                    role.role_arn
                ));
                ctx.cache
                    .delete(&cache::keys::credentials(&cache_id(chain, n - 1)))?;
                let below = step(ctx, chain, n - 1, INTERMEDIATE_WINDOW)?;
                role::assume(ctx, chain, role, &below.credentials)?
            }
            other => other?,
        };
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
    if !ctx.refresh
        && let Some(hit) = ctx.cache.get::<CachedCredentials>(key)?
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
        // With --refresh only what a peer fetched during this request is good enough.
        && (!ctx.refresh || hit.obtained_at >= ctx.started)
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
    /// Whether a refresh token can renew it without the user.
    fn refreshable(&self) -> bool;
}

/// A sign-in's state from its cached token alone: no request.
pub(crate) fn token_state<T: CachedToken>(ctx: &Context<'_>, key: &str) -> Result<SignInState> {
    Ok(match ctx.cache.get::<T>(key)? {
        None => SignInState::None,
        Some(t) if t.expires_at() > ctx.clock.now() => SignInState::Valid {
            until: t.expires_at(),
            refreshable: t.refreshable(),
        },
        Some(t) => SignInState::Expired {
            refreshable: t.refreshable(),
        },
    })
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

/// The base credentials of a chain, from their source.
fn base(ctx: &Context<'_>, chain: &Chain) -> Result<CachedCredentials> {
    let (credentials, account_id) = of(&chain.base).fetch(ctx, chain)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AwsFiles;

    const CONFIG: &str = "\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
[profile bedrock]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = BedrockUser
[profile admin]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile = bedrock
external_id = x
[profile legacy]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = BedrockUser
[profile keys]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = s
[profile other]
sso_session = corp
sso_account_id = 444455556666
sso_role_name = BedrockUser
";

    fn chain(name: &str) -> Chain {
        let files = AwsFiles::from_texts(CONFIG, "").unwrap();
        crate::config::resolve::resolve(&files, name, &Environment::from_pairs([])).unwrap()
    }

    use crate::clock::FixedClock;
    use crate::store::memory::MemoryStore;
    use chrono::TimeZone;
    use std::cell::Cell;

    /// A context over a memory store, a fixed clock and locks in a temporary directory;
    /// nothing here reaches the network.
    struct Rig {
        env: Environment,
        clock: FixedClock,
        cache: cache::Cache,
        locks: Locks,
        net: Net,
        _dir: tempfile::TempDir,
    }

    impl Rig {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let env = Environment::from_pairs([]);
            Self {
                net: Net::new(env.clone()),
                env,
                clock: FixedClock::new(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()),
                cache: cache::Cache::new(Box::new(MemoryStore::default())),
                locks: Locks::new(dir.path().join("locks")),
                _dir: dir,
            }
        }

        fn ctx(&self, started: DateTime<Utc>, force: bool) -> Context<'_> {
            Context {
                env: &self.env,
                clock: &self.clock,
                cache: &self.cache,
                locks: &self.locks,
                net: &self.net,
                login: LoginPolicy {
                    force,
                    ..LoginPolicy::silent()
                },
                started,
                profile: "p",
                refresh: false,
            }
        }

        fn now(&self) -> DateTime<Utc> {
            self.clock.now()
        }

        fn entry(&self, minutes_left: i64, obtained: DateTime<Utc>) -> CachedCredentials {
            CachedCredentials {
                credentials: Credentials {
                    access_key_id: format!("ASIA{minutes_left}"),
                    secret_access_key: crate::secret::Secret::new("s".into()),
                    session_token: None,
                    expiration: Some(self.now() + chrono::Duration::minutes(minutes_left)),
                },
                obtained_at: obtained,
                account_id: None,
            }
        }
    }

    const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn step_with(rig: &Rig, started: DateTime<Utc>, fetches: &Cell<u32>) -> CachedCredentials {
        cached_step(&rig.ctx(started, false), "k", WINDOW, "testing", || {
            fetches.set(fetches.get() + 1);
            Ok(rig.entry(60, rig.now()))
        })
        .unwrap()
    }

    #[test]
    fn a_step_is_served_from_the_cache_while_more_than_the_window_remains() {
        let rig = Rig::new();
        let fetches = Cell::new(0);
        let first = step_with(&rig, rig.now(), &fetches);
        rig.clock.advance(chrono::Duration::minutes(44));
        let second = step_with(&rig, rig.now(), &fetches);
        assert_eq!(fetches.get(), 1, "16 minutes left: no fetch");
        assert_eq!(
            first.credentials.access_key_id,
            second.credentials.access_key_id
        );
        rig.clock.advance(chrono::Duration::minutes(2));
        step_with(&rig, rig.now(), &fetches);
        assert_eq!(fetches.get(), 2, "14 minutes left: fetched once more");
    }

    #[test]
    fn a_peers_refresh_counts_only_when_it_happened_after_this_request_started() {
        let rig = Rig::new();
        let fetches = Cell::new(0);
        let started = rig.now();
        // A peer cached credentials with 10 minutes left (its source issues no longer
        // ones) after this request started: taken as they are, once past the lock.
        rig.clock.advance(chrono::Duration::seconds(1));
        let peer = rig.entry(10, rig.now());
        let peer = CachedCredentials {
            obtained_at: rig.now() - chrono::Duration::hours(1),
            ..peer
        };
        rig.cache.put("k", &peer).unwrap();
        step_with(&rig, started, &fetches);
        assert_eq!(
            fetches.get(),
            1,
            "obtained before the request: not a peer's refresh"
        );

        let rig = Rig::new();
        let fetches = Cell::new(0);
        let started = rig.now() - chrono::Duration::seconds(5);
        let fresh_peer = CachedCredentials {
            obtained_at: rig.now() - chrono::Duration::hours(1),
            ..rig.entry(10, rig.now())
        };
        rig.cache.put("k", &fresh_peer).unwrap();
        // Lifetime judged from when they were obtained: 70 minutes, so not short-lived,
        // and obtained long before this request: fetched again.
        step_with(&rig, started, &fetches);
        assert_eq!(fetches.get(), 1);
        let peer_now = CachedCredentials {
            obtained_at: rig.now(),
            ..rig.entry(10, rig.now())
        };
        rig.cache.put("k", &peer_now).unwrap();
        step_with(&rig, started, &fetches);
        assert_eq!(
            fetches.get(),
            1,
            "refreshed by a peer after the request started: short-lived, reused"
        );
    }

    #[test]
    fn a_long_running_process_judges_each_request_from_its_own_start() {
        // A server started an hour ago: an entry a peer wrote 30 minutes ago with 7
        // minutes left is stale for a request starting now.
        let rig = Rig::new();
        let process_start = rig.now();
        rig.clock.advance(chrono::Duration::minutes(30));
        let entry = CachedCredentials {
            obtained_at: rig.now(),
            ..rig.entry(37, rig.now())
        };
        rig.cache.put("k", &entry).unwrap();
        rig.clock.advance(chrono::Duration::minutes(30));
        let fetches = Cell::new(0);
        let stale = step_with(&rig, process_start, &fetches);
        assert_eq!(
            (fetches.get(), stale.credentials.access_key_id.as_str()),
            (0, "ASIA37"),
            "judged from the process's start, 7 minutes would pass as a peer's refresh"
        );
        step_with(&rig, rig.now(), &fetches);
        assert_eq!(fetches.get(), 1, "a request starting now refetches");
    }

    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Token {
        n: u32,
        expires_at: DateTime<Utc>,
        obtained_at: DateTime<Utc>,
    }

    impl CachedToken for Token {
        fn expires_at(&self) -> DateTime<Utc> {
            self.expires_at
        }
        fn obtained_at(&self) -> DateTime<Utc> {
            self.obtained_at
        }
        fn refreshable(&self) -> bool {
            false
        }
    }

    #[test]
    fn tokens_are_renewed_five_minutes_before_expiry_and_always_when_forced() {
        let rig = Rig::new();
        let renewals = Cell::new(0);
        let renew = |old: Option<&Token>| {
            renewals.set(renewals.get() + 1);
            Ok(Token {
                n: old.map_or(0, |t| t.n) + 1,
                expires_at: rig.now() + chrono::Duration::hours(1),
                obtained_at: rig.now(),
            })
        };
        let t = cached_token(&rig.ctx(rig.now(), false), "t", "testing", renew).unwrap();
        assert_eq!((t.n, renewals.get()), (1, 1));
        rig.clock.advance(chrono::Duration::minutes(54));
        let t = cached_token(&rig.ctx(rig.now(), false), "t", "testing", renew).unwrap();
        assert_eq!((t.n, renewals.get()), (1, 1), "6 minutes left: cached");
        rig.clock.advance(chrono::Duration::minutes(2));
        let t = cached_token(&rig.ctx(rig.now(), false), "t", "testing", renew).unwrap();
        assert_eq!(
            (t.n, renewals.get()),
            (2, 2),
            "4 minutes left: renewed from the old one"
        );
        rig.clock.advance(chrono::Duration::seconds(1));
        let t = cached_token(&rig.ctx(rig.now(), true), "t", "testing", renew).unwrap();
        assert_eq!(
            (t.n, renewals.get()),
            (1, 3),
            "forced: a new sign-in, not a refresh"
        );
        // A forced sign-in is satisfied by one a peer made after this request started.
        let started = rig.now() - chrono::Duration::seconds(1);
        let t = cached_token(&rig.ctx(started, true), "t", "testing", renew).unwrap();
        assert_eq!((t.n, renewals.get()), (1, 3));
    }

    #[test]
    fn cache_ids_are_stable_and_differ_per_step_role_and_account() {
        // The exact text: a change here would sign every user out on upgrade.
        assert_eq!(
            cache_id(&chain("bedrock"), 0),
            "sso|https://corp.awsapps.com/start|eu-west-1|111122223333|BedrockUser"
        );
        assert_eq!(
            cache_id(&chain("admin"), 1),
            "sso|https://corp.awsapps.com/start|eu-west-1|111122223333|BedrockUser>role|arn:aws:iam::111122223333:role/Admin|x||0|"
        );
        assert_eq!(cache_id(&chain("keys"), 0), "static|AKIAEXAMPLE");
        assert_eq!(cache_id(&chain("admin"), 0), cache_id(&chain("bedrock"), 0));
        assert_ne!(cache_id(&chain("other"), 0), cache_id(&chain("bedrock"), 0));
        assert_eq!(
            step_keys(&chain("admin")).len(),
            3,
            "two steps and the session"
        );
        assert_eq!(final_key(&chain("admin")), step_keys(&chain("admin"))[1]);
    }

    #[test]
    fn only_sources_that_cost_a_request_are_cached_and_only_sign_ins_have_one() {
        assert!(of(&chain("bedrock").base).cacheable());
        assert!(!of(&chain("keys").base).cacheable());
        assert!(!of(&Base::Environment).cacheable());
        assert!(!of(&Base::InstanceMetadata).cacheable());
        assert!(!of(&Base::Container).cacheable());
        assert!(of(&chain("bedrock").base).sign_in().is_some());
        assert!(of(&chain("keys").base).sign_in().is_none());
    }

    #[test]
    fn a_sign_in_is_shared_by_every_profile_on_the_same_session() {
        let files = AwsFiles::from_texts(CONFIG, "").unwrap();
        let env = Environment::from_pairs([]);
        let bedrock = chain("bedrock");
        let sign_in = of(&bedrock.base).sign_in().unwrap();
        let mut names: Vec<String> = sharing(&files, &env, &bedrock, sign_in)
            .into_iter()
            .map(|c| c.profile)
            .collect();
        names.sort();
        // legacy has no sso-session name: another sign-in, though the URL is the same.
        assert_eq!(names, ["admin", "bedrock", "other"]);
        let keys = credential_keys(&sharing(&files, &env, &bedrock, sign_in));
        assert_eq!(
            keys.len(),
            6,
            "steps and sessions of three chains; admin's first step is bedrock's: counted once"
        );
        assert_eq!(
            describe(&chain("admin")),
            "IAM Identity Center sso-session corp → account 111122223333 role BedrockUser → assume arn:aws:iam::111122223333:role/Admin"
        );
    }
}
