//! IAM Identity Center: client registration, tokens (sign-in and silent refresh), role
//! credentials, and sign-out.
//!
//! A token belongs to a session (start URL + region + name). It is refreshed with its
//! refresh token 5 minutes before it expires; when it cannot be refreshed, a sign-in runs
//! where the [`LoginPolicy`](super::LoginPolicy) allows it, and otherwise the caller gets a
//! `login required` error with the command to run.

use super::Context;
use crate::cache::{self, REGISTRATION_WINDOW};
use crate::config::{SsoRole, SsoSession};
use crate::credentials::Credentials;
use crate::error::{Error, Kind, Result};
use crate::identity_center::{self, Grant};
use crate::login;
use crate::net::Service;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Client name sent to RegisterClient.
pub const CLIENT_NAME: &str = "awscred";
/// Grant type of the device flow.
pub const DEVICE_GRANT: &str = identity_center::DEVICE_GRANT;

/// An IAM Identity Center access token as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SsoToken {
    /// Bearer token for the portal.
    pub access_token: Secret<String>,
    /// Refresh token, when the registration allows refresh.
    pub refresh_token: Option<Secret<String>>,
    /// Expiry of the access token.
    pub expires_at: DateTime<Utc>,
    /// When it was obtained.
    pub obtained_at: DateTime<Utc>,
    /// Cache key of the registration that issued it (refresh needs the same client).
    pub client_key: String,
    /// Taken from the AWS CLI's SSO cache: awscred neither refreshes nor revokes it.
    #[serde(default)]
    pub borrowed: bool,
}

pub use crate::identity_center::Registration;

/// The cache key of a session's token.
pub fn token_key(session: &SsoSession) -> String {
    cache::keys::sso_token(session.name.as_deref(), &session.start_url)
}

/// Role credentials for `role`, signing in or refreshing the token as needed.
pub fn role_credentials(ctx: &Context<'_>, role: &SsoRole) -> Result<Credentials> {
    let first = token(ctx, &role.session)?;
    match get_role_credentials(ctx, role, &first) {
        Err(f) if f.code.as_deref() == Some("UnauthorizedException") => {
            // The token was revoked or expired early: drop it and sign in again if allowed.
            crate::log::info("IAM Identity Center no longer accepts the cached token");
            if first.borrowed {
                super::cli_sso_cache::ignore(ctx, &role.session, &first)?;
            }
            ctx.cache.delete(&token_key(&role.session))?;
            if !ctx.login.allowed {
                return Err(login_required(ctx, &role.session).caused_by_text(f.error.to_string()));
            }
            let again = token(ctx, &role.session)?;
            get_role_credentials(ctx, role, &again).map_err(|f| f.error)
        }
        other => other.map_err(|f| f.error),
    }
}

fn get_role_credentials(
    ctx: &Context<'_>,
    role: &SsoRole,
    token: &SsoToken,
) -> std::result::Result<Credentials, crate::net::Failure> {
    let region = &role.session.region;
    let url = Service::Sso.url(ctx.env, region);
    crate::log::debug(&format!(
        "GetRoleCredentials account {} role {} at {url}",
        role.account_id, role.role_name
    ));
    let creds = identity_center::get_role_credentials(
        ctx.net,
        region,
        &token.access_token,
        &role.account_id,
        &role.role_name,
    )
    .map_err(|mut f| {
        if matches!(
            f.code.as_deref(),
            Some("ForbiddenException" | "ResourceNotFoundException")
        ) {
            f.error = f
                .error
                .context(format!(
                    "IAM Identity Center does not let you use role {} in account {}",
                    role.role_name, role.account_id
                ))
                .with_kind(Kind::User)
                .with_hint(
                    "check sso_account_id and sso_role_name against the roles your access portal shows",
                );
        }
        f
    })?;
    if let Some(expiration) = creds.expiration {
        super::role::check_expiration(expiration, ctx.clock.now(), &url, "GetRoleCredentials")?;
    }
    Ok(creds)
}

fn login_required(ctx: &Context<'_>, session: &SsoSession) -> Error {
    Error::login_required(format!(
        "signing in to IAM Identity Center ({}) is needed for profile {}",
        session.display_name(),
        ctx.profile
    ))
    .with_hint(ctx.login_hint())
}

/// The cached token if it is fresh.
pub fn cached_token(ctx: &Context<'_>, session: &SsoSession) -> Result<Option<SsoToken>> {
    ctx.cache.get::<SsoToken>(&token_key(session))
}

/// A valid access token for `session`: cached, refreshed, or from a new sign-in.
pub fn token(ctx: &Context<'_>, session: &SsoSession) -> Result<SsoToken> {
    super::cached_token(
        ctx,
        &token_key(session),
        "signing in to IAM Identity Center",
        |stale: Option<&SsoToken>| {
            let t = renew(ctx, session, stale)?;
            super::cli_sso_cache::share(ctx, session, &t);
            Ok(t)
        },
    )
}

/// A token when the cached one cannot serve: refreshed, borrowed from the AWS CLI's cache,
/// or from a new sign-in where the policy allows one.
fn renew(ctx: &Context<'_>, session: &SsoSession, stale: Option<&SsoToken>) -> Result<SsoToken> {
    // Why a sign-in is needed, for the message if none may start here.
    let mut why = match stale {
        None => "there is no sign-in on this machine (never signed in, or signed out)".to_string(),
        Some(old) => format!(
            "the token expired at {} and cannot be refreshed",
            crate::clock::format_expiration(old.expires_at)
        ),
    };
    if let Some(old) = stale
        && let Some(refresh_token) = &old.refresh_token
    {
        match refresh(ctx, session, old, refresh_token) {
            Ok(t) => return Ok(t),
            Err(e) if e.kind() == Kind::LoginRequired => {
                crate::log::info(&format!("{}; a new sign-in is needed", e.message()));
                why = "IAM Identity Center rejected the refresh token (revoked, or past its lifetime)".to_string();
                // Remembered, so `status` stops calling the sign-in refreshable.
                let spent = SsoToken {
                    refresh_token: None,
                    ..old.clone()
                };
                ctx.cache.put(&token_key(session), &spent)?;
            }
            Err(e) => {
                // A network failure with a token still valid for a while: use it.
                if cache::fresh(
                    Some(old.expires_at),
                    ctx.clock.now(),
                    std::time::Duration::from_secs(60),
                ) {
                    crate::log::warn(&format!("{e}; using the current token until it expires"));
                    return Ok(old.clone());
                }
                return Err(e);
            }
        }
    }
    if !ctx.login.force
        && let Some(t) = super::cli_sso_cache::borrow(ctx, session)?
    {
        ctx.login.sink.line(&format!(
            "Using the AWS CLI's sign-in to IAM Identity Center ({}), valid until {}.",
            session.display_name(),
            crate::clock::format_expiration(t.expires_at)
        ));
        return Ok(t);
    }
    match login::choose(&ctx.login, ctx.env) {
        Ok(flow) => sign_in(ctx, session, flow),
        Err(no_flow) if ctx.login.allowed => Err(login_required(ctx, session)
            .caused_by_text(why)
            .caused_by_text(no_flow)),
        Err(_) => Err(login_required(ctx, session).caused_by_text(why)),
    }
}

/// A new sign-in through `flow`, with a client registration from the cache or a new one.
/// A registration IAM Identity Center no longer knows is forgotten; the device flow, whose
/// code the user has not seen yet when that shows, registers again once.
fn sign_in(ctx: &Context<'_>, session: &SsoSession, flow: login::Flow) -> Result<SsoToken> {
    let (kind, retry) = match flow {
        login::Flow::Device => ("device", true),
        login::Flow::Browser => ("auth-code", false),
    };
    let mut retried = false;
    loop {
        let (client_key, reg) = registration(ctx, session, kind)?;
        let answer = match flow {
            login::Flow::Device => login::device::sign_in(&ctx.sign_in_ctx(), session, &reg),
            login::Flow::Browser => login::pkce::sign_in(&ctx.sign_in_ctx(), session, &reg),
        };
        match answer {
            Ok(out) => {
                let t = token_from(ctx, out, client_key, None)?;
                ctx.login.sink.line(&format!(
                    "Signed in to IAM Identity Center ({}).",
                    session.display_name()
                ));
                return Ok(t);
            }
            Err(e) if e.code() == Some("InvalidClientException") => {
                ctx.cache.delete(&client_key)?;
                if !retry || retried {
                    return Err(e);
                }
                retried = true;
            }
            Err(e) => return Err(e),
        }
    }
}

impl super::CachedToken for SsoToken {
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    fn obtained_at(&self) -> DateTime<Utc> {
        self.obtained_at
    }
    fn refreshable(&self) -> bool {
        self.refresh_token.is_some()
    }
}

fn refresh(
    ctx: &Context<'_>,
    session: &SsoSession,
    old: &SsoToken,
    refresh_token: &Secret<String>,
) -> Result<SsoToken> {
    let Some(reg) = ctx.cache.get::<Registration>(&old.client_key)? else {
        return Err(Error::login_required(
            "the client registration behind the token is gone",
        ));
    };
    if !cache::fresh(
        Some(reg.expires_at),
        ctx.clock.now(),
        std::time::Duration::ZERO,
    ) {
        return Err(Error::login_required(
            "the client registration behind the token expired",
        ));
    }
    let out = create_token(
        ctx,
        &session.region,
        &reg,
        "CreateToken (refresh)",
        Grant::RefreshToken(refresh_token),
    );
    match out {
        Ok(out) => token_from(
            ctx,
            out,
            old.client_key.clone(),
            Some(refresh_token.clone()),
        ),
        Err(f) => match f.code.as_deref() {
            Some(
                "InvalidGrantException"
                | "ExpiredTokenException"
                | "InvalidClientException"
                | "UnauthorizedClientException"
                | "AccessDeniedException",
            ) => Err(
                Error::login_required("IAM Identity Center refused the refresh token")
                    .caused_by_text(f.error.to_string()),
            ),
            _ => Err(f.error),
        },
    }
}

/// CreateToken with the registration's client id and secret; `grant` adds the grant type
/// and its parameters. The service's error code stays visible to the caller.
pub fn create_token(
    ctx: &Context<'_>,
    region: &str,
    reg: &Registration,
    operation: &str,
    grant: Grant<'_>,
) -> std::result::Result<identity_center::Token, crate::net::Failure> {
    crate::log::debug(&format!(
        "{operation} at {}",
        Service::SsoOidc.url(ctx.env, region)
    ));
    identity_center::create_token(
        ctx.net,
        region,
        &reg.client_id,
        &reg.client_secret,
        grant,
        operation,
    )
}

/// Builds a cached token from a CreateToken answer, keeping the old refresh token when the
/// answer carries none.
pub fn token_from(
    ctx: &Context<'_>,
    out: identity_center::Token,
    client_key: String,
    previous_refresh: Option<Secret<String>>,
) -> Result<SsoToken> {
    let url = &out.url;
    let access = out.access_token.ok_or_else(|| {
        Error::unexpected(format!("CreateToken at {url} returned no accessToken"))
    })?;
    if out.expires_in <= 0 {
        return Err(Error::unexpected(format!(
            "CreateToken at {url} returned a token that expires in {} seconds",
            out.expires_in
        )));
    }
    let lifetime = chrono::Duration::try_seconds(out.expires_in).ok_or_else(|| {
        Error::unexpected(format!(
            "CreateToken at {url} returned a token that expires in {} seconds",
            out.expires_in
        ))
    })?;
    let now = ctx.clock.now();
    let expires_at = now.checked_add_signed(lifetime).ok_or_else(|| {
        Error::unexpected(format!(
            "CreateToken at {url} returned a token that expires in {} seconds",
            out.expires_in
        ))
    })?;
    Ok(SsoToken {
        access_token: access,
        refresh_token: out.refresh_token.or(previous_refresh),
        expires_at,
        obtained_at: now,
        client_key,
        borrowed: false,
    })
}

/// A client registration for `flow` ("device" or "auth-code"), cached until 15 minutes before its secret
/// expires.
pub fn registration(
    ctx: &Context<'_>,
    session: &SsoSession,
    flow: &str,
) -> Result<(String, Registration)> {
    let key = cache::keys::sso_client(&session.region, flow, &session.scopes, &session.start_url);
    if let Some(r) = ctx.cache.get::<Registration>(&key)?
        && cache::fresh(Some(r.expires_at), ctx.clock.now(), REGISTRATION_WINDOW)
    {
        return Ok((key, r));
    }
    let url = Service::SsoOidc.url(ctx.env, &session.region);
    crate::log::debug(&format!("RegisterClient ({flow}) at {url}"));
    let device = flow == "device";
    let out = identity_center::register_client(
        ctx.net,
        &session.region,
        &identity_center::ClientRequest {
            name: CLIENT_NAME,
            scopes: &session.scopes,
            grant_types: if device {
                &[DEVICE_GRANT, "refresh_token"]
            } else {
                &["authorization_code", "refresh_token"]
            },
            redirect_uris: if device {
                &[]
            } else {
                &[login::pkce::REGISTERED_REDIRECT]
            },
            issuer_url: (!device).then_some(session.start_url.as_str()),
        },
    )
    .map_err(|f| f.error)?;
    let expires_at = DateTime::<Utc>::from_timestamp(out.secret_expires_at, 0)
        .filter(|t| *t > ctx.clock.now())
        .ok_or_else(|| {
            Error::unexpected(format!(
                "RegisterClient at {url} returned an expiry in the past ({})",
                out.secret_expires_at
            ))
        })?;
    let (id, secret) = (out.client_id, out.client_secret);
    let reg = Registration {
        client_id: id,
        client_secret: secret,
        expires_at,
    };
    ctx.cache.put(&key, &reg)?;
    Ok((key, reg))
}

/// Signs out: tells IAM Identity Center to revoke the token, then deletes it.
/// A token borrowed from the AWS CLI is not revoked (it is the CLI's sign-in): awscred
/// only stops using it. A token shared with the AWS CLI is removed from the CLI's cache.
pub fn logout(ctx: &Context<'_>, session: &SsoSession) -> Result<SignedOut> {
    let key = token_key(session);
    let theirs = super::cli_sso_cache::borrow(ctx, session)?;
    if let Some(t) = &theirs {
        super::cli_sso_cache::ignore(ctx, session, t)?;
    }
    let Some(t) = ctx.cache.get::<SsoToken>(&key)? else {
        return Ok(if theirs.is_some() {
            SignedOut::Borrowed
        } else {
            SignedOut::NotSignedIn
        });
    };
    if t.borrowed {
        super::cli_sso_cache::ignore(ctx, session, &t)?;
        ctx.cache.delete(&key)?;
        return Ok(SignedOut::Borrowed);
    }
    super::cli_sso_cache::unshare(ctx, session, &t)?;
    if cache::fresh(
        Some(t.expires_at),
        ctx.clock.now(),
        std::time::Duration::ZERO,
    ) {
        let url = Service::Sso.url(ctx.env, &session.region);
        match identity_center::logout(ctx.net, &session.region, &t.access_token) {
            Ok(()) => crate::log::debug(&format!("Logout at {url} succeeded")),
            Err(f) => crate::log::warn(&format!("{}; the local token is deleted anyway", f.error)),
        }
    }
    ctx.cache.delete(&key)?;
    Ok(SignedOut::Revoked)
}

/// What [`logout`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedOut {
    /// There was no sign-in.
    NotSignedIn,
    /// awscred's own token was revoked and deleted.
    Revoked,
    /// awscred stopped using the AWS CLI's sign-in, which stays the CLI's.
    Borrowed,
}

impl super::Source for SsoRole {
    fn kind(&self) -> &'static str {
        "sso"
    }
    fn describe(&self) -> String {
        format!(
            "IAM Identity Center {} → account {} role {}",
            self.session.display_name(),
            self.account_id,
            self.role_name
        )
    }
    fn cache_id(&self) -> String {
        format!(
            "sso|{}|{}|{}|{}",
            self.session.start_url, self.session.region, self.account_id, self.role_name
        )
    }
    fn cacheable(&self) -> bool {
        true
    }
    fn fetch(
        &self,
        ctx: &Context<'_>,
        _chain: &crate::config::Chain,
    ) -> Result<(Credentials, Option<String>)> {
        Ok((role_credentials(ctx, self)?, Some(self.account_id.clone())))
    }
    fn sign_in(&self) -> Option<&dyn super::SignIn> {
        Some(&self.session)
    }
}

impl super::SignIn for SsoSession {
    fn name(&self) -> String {
        format!("IAM Identity Center ({})", self.display_name())
    }
    fn shared_by(&self, other: &crate::config::Base) -> bool {
        matches!(other, crate::config::Base::Sso(r) if r.session == *self)
    }
    fn state(&self, ctx: &Context<'_>) -> Result<super::SignInState> {
        let own = super::token_state::<SsoToken>(ctx, &token_key(self))?;
        if matches!(own, super::SignInState::Valid { .. }) {
            return Ok(own);
        }
        // What the next use would borrow from the AWS CLI's cache.
        Ok(match super::cli_sso_cache::borrow(ctx, self)? {
            Some(t) => super::SignInState::Valid {
                until: t.expires_at,
                refreshable: false,
            },
            None => own,
        })
    }
    fn ensure(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let before = cached_token(ctx, self)?;
        let token = token(ctx, self)?;
        let reused = before.is_some_and(|b| b.access_token == token.access_token);
        Ok(reused.then_some(token.expires_at))
    }
    fn sign_out(&self, ctx: &Context<'_>, _sharing: &[&crate::config::Base]) -> Result<String> {
        let name = super::SignIn::name(self);
        Ok(match logout(ctx, self)? {
            SignedOut::Revoked => format!("Signed out of {name}."),
            SignedOut::NotSignedIn => format!("Not signed in to {name}."),
            SignedOut::Borrowed => format!(
                "awscred no longer uses the AWS CLI's sign-in to {name}; `aws sso logout` ends it."
            ),
        })
    }
}
