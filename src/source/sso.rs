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
use crate::login;
use crate::net::{Service, failure};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Client name sent to RegisterClient.
pub const CLIENT_NAME: &str = "awscred";
/// Grant type of the device flow.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

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
}

/// An OIDC client registration as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret<String>,
    /// When the secret expires.
    pub expires_at: DateTime<Utc>,
}

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
    let client = ctx.net.sso(region);
    crate::log::debug(&format!(
        "GetRoleCredentials account {} role {} at {url}",
        role.account_id, role.role_name
    ));
    let out = ctx
        .net
        .block_on(
            client
                .get_role_credentials()
                .account_id(&role.account_id)
                .role_name(&role.role_name)
                .access_token(token.access_token.expose())
                .send(),
        )
        .map_err(|error| crate::net::Failure { code: None, error })?
        .map_err(|e| {
            let mut f = failure(e, "GetRoleCredentials", &url);
            if matches!(f.code.as_deref(), Some("ForbiddenException" | "ResourceNotFoundException")) {
                f.error = f
                    .error
                    .context(format!(
                        "IAM Identity Center does not let you use role {} in account {}",
                        role.role_name, role.account_id
                    ))
                    .with_kind(Kind::User)
                    .with_hint("check sso_account_id and sso_role_name against the roles your access portal shows");
            }
            f
        })?;
    let rc = out
        .role_credentials
        .ok_or_else(|| bad_shape(&url, "roleCredentials"))?;
    let (Some(akid), Some(secret), Some(token)) =
        (rc.access_key_id, rc.secret_access_key, rc.session_token)
    else {
        return Err(bad_shape(
            &url,
            "accessKeyId, secretAccessKey and sessionToken",
        ));
    };
    // The portal gives expiration in epoch milliseconds.
    let expiration = DateTime::<Utc>::from_timestamp_millis(rc.expiration)
        .filter(|_| rc.expiration > 0)
        .ok_or_else(|| bad_shape(&url, "a valid expiration"))?;
    super::role::check_expiration(expiration, ctx.clock.now(), &url, "GetRoleCredentials")
        .map_err(|error| crate::net::Failure { code: None, error })?;
    Ok(Credentials {
        access_key_id: akid,
        secret_access_key: Secret::new(secret),
        session_token: Some(Secret::new(token)),
        expiration: Some(expiration),
    })
}

fn bad_shape(url: &str, what: &str) -> crate::net::Failure {
    crate::net::Failure {
        code: None,
        error: Error::unexpected(format!("GetRoleCredentials at {url} returned no {what}")),
    }
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
            if let Some(old) = stale
                && let Some(refresh_token) = &old.refresh_token
            {
                match refresh(ctx, session, old, refresh_token) {
                    Ok(t) => return Ok(t),
                    Err(e) if e.kind() == Kind::LoginRequired => {
                        crate::log::info(&format!("{}; a new sign-in is needed", e.message()));
                    }
                    Err(e) => {
                        // A network failure with a token still valid for a while: use it.
                        if cache::fresh(
                            Some(old.expires_at),
                            ctx.clock.now(),
                            std::time::Duration::from_secs(60),
                        ) {
                            crate::log::warn(&format!(
                                "{e}; using the current token until it expires"
                            ));
                            return Ok(old.clone());
                        }
                        return Err(e);
                    }
                }
            }
            match login::choose(&ctx.login, ctx.env) {
                Ok(login::Flow::Device) => login::device::sign_in(ctx, session),
                Ok(login::Flow::Browser) => login::pkce::sign_in(ctx, session),
                Err(why) if ctx.login.allowed => {
                    Err(login_required(ctx, session).caused_by_text(why))
                }
                Err(_) => Err(login_required(ctx, session)),
            }
        },
    )
}

impl super::CachedToken for SsoToken {
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    fn obtained_at(&self) -> DateTime<Utc> {
        self.obtained_at
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
    let url = Service::SsoOidc.url(ctx.env, &session.region);
    let out = create_token(ctx, &session.region, &reg, "CreateToken (refresh)", |r| {
        r.grant_type("refresh_token")
            .refresh_token(refresh_token.expose())
    })?;
    match out {
        Ok(out) => token_from(
            ctx,
            out,
            old.client_key.clone(),
            Some(refresh_token.clone()),
            &url,
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
    grant: impl FnOnce(
        aws_sdk_ssooidc::operation::create_token::builders::CreateTokenFluentBuilder,
    )
        -> aws_sdk_ssooidc::operation::create_token::builders::CreateTokenFluentBuilder,
) -> Result<
    std::result::Result<
        aws_sdk_ssooidc::operation::create_token::CreateTokenOutput,
        crate::net::Failure,
    >,
> {
    let url = Service::SsoOidc.url(ctx.env, region);
    crate::log::debug(&format!("{operation} at {url}"));
    let client = ctx.net.sso_oidc(region);
    let request = grant(
        client
            .create_token()
            .client_id(&reg.client_id)
            .client_secret(reg.client_secret.expose()),
    );
    Ok(ctx
        .net
        .block_on(request.send())?
        .map_err(|e| failure(e, operation, &url)))
}

/// Builds a cached token from a CreateToken answer, keeping the old refresh token when the
/// answer carries none.
pub fn token_from(
    ctx: &Context<'_>,
    out: aws_sdk_ssooidc::operation::create_token::CreateTokenOutput,
    client_key: String,
    previous_refresh: Option<Secret<String>>,
    url: &str,
) -> Result<SsoToken> {
    let access = out.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        Error::unexpected(format!("CreateToken at {url} returned no accessToken"))
    })?;
    if out.expires_in <= 0 {
        return Err(Error::unexpected(format!(
            "CreateToken at {url} returned a token that expires in {} seconds",
            out.expires_in
        )));
    }
    let now = ctx.clock.now();
    Ok(SsoToken {
        access_token: Secret::new(access),
        refresh_token: out
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .or(previous_refresh),
        expires_at: now + chrono::Duration::seconds(i64::from(out.expires_in)),
        obtained_at: now,
        client_key,
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
    let client = ctx.net.sso_oidc(&session.region);
    let mut req = client
        .register_client()
        .client_name(CLIENT_NAME)
        .client_type("public")
        .set_scopes(Some(session.scopes.clone()));
    if flow == "device" {
        req = req.grant_types(DEVICE_GRANT).grant_types("refresh_token");
    } else {
        req = req
            .grant_types("authorization_code")
            .grant_types("refresh_token")
            .redirect_uris(login::pkce::REGISTERED_REDIRECT)
            .issuer_url(&session.start_url);
    }
    let out = ctx
        .net
        .block_on(req.send())?
        .map_err(|e| failure(e, "RegisterClient", &url).error)?;
    let (Some(id), Some(secret)) = (out.client_id, out.client_secret) else {
        return Err(Error::unexpected(format!(
            "RegisterClient at {url} returned no client id or secret"
        )));
    };
    let expires_at = DateTime::<Utc>::from_timestamp(out.client_secret_expires_at, 0)
        .filter(|t| *t > ctx.clock.now())
        .ok_or_else(|| {
            Error::unexpected(format!(
                "RegisterClient at {url} returned an expiry in the past ({})",
                out.client_secret_expires_at
            ))
        })?;
    let reg = Registration {
        client_id: id,
        client_secret: Secret::new(secret),
        expires_at,
    };
    ctx.cache.put(&key, &reg)?;
    Ok((key, reg))
}

/// Signs out: tells IAM Identity Center to revoke the token, then deletes it.
pub fn logout(ctx: &Context<'_>, session: &SsoSession) -> Result<bool> {
    let key = token_key(session);
    let Some(t) = ctx.cache.get::<SsoToken>(&key)? else {
        return Ok(false);
    };
    if cache::fresh(
        Some(t.expires_at),
        ctx.clock.now(),
        std::time::Duration::ZERO,
    ) {
        let url = Service::Sso.url(ctx.env, &session.region);
        let client = ctx.net.sso(&session.region);
        match ctx
            .net
            .block_on(client.logout().access_token(t.access_token.expose()).send())?
        {
            Ok(_) => crate::log::debug(&format!("Logout at {url} succeeded")),
            Err(e) => crate::log::warn(&format!(
                "{}; the local token is deleted anyway",
                failure(e, "Logout", &url).error
            )),
        }
    }
    ctx.cache.delete(&key)?;
    Ok(true)
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
        Ok(match cached_token(ctx, self)? {
            None => super::SignInState::None,
            Some(t) if t.expires_at > ctx.clock.now() => super::SignInState::Valid {
                until: t.expires_at,
                refreshable: t.refresh_token.is_some(),
            },
            Some(t) => super::SignInState::Expired {
                refreshable: t.refresh_token.is_some(),
            },
        })
    }
    fn ensure(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let before = cached_token(ctx, self)?;
        let token = token(ctx, self)?;
        let reused = before.is_some_and(|b| b.access_token == token.access_token);
        Ok(reused.then_some(token.expires_at))
    }
    fn sign_out(&self, ctx: &Context<'_>, _sharing: &[&crate::config::Base]) -> Result<String> {
        Ok(if logout(ctx, self)? {
            format!("Signed out of {}.", super::SignIn::name(self))
        } else {
            format!("Not signed in to {}.", super::SignIn::name(self))
        })
    }
}
