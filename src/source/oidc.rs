//! An external OpenID Connect provider (Okta, Entra ID, Auth0, Keycloak, Google, Cognito
//! user pools, …): an ID token obtained by browser or device sign-in, kept fresh with the
//! refresh token, checked locally, then exchanged through STS AssumeRoleWithWebIdentity or
//! a Cognito identity pool.

use super::Context;
use super::role::check_expiration;
use super::web_identity::assume_with_token;

use crate::config::{Chain, OidcSource};
use crate::credentials::Credentials;
use crate::error::{Error, Kind, Result};
use crate::login;
use crate::oidc::{self, Http, Provider, Refusal, jwt};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An ID token as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcToken {
    /// The ID token (verified when obtained).
    pub id_token: Secret<String>,
    /// Refresh token, when the provider gave one.
    pub refresh_token: Option<Secret<String>>,
    /// The ID token's `exp`.
    pub expires_at: DateTime<Utc>,
    /// When it was obtained.
    pub obtained_at: DateTime<Utc>,
}

/// The cache key of a provider's token for this client and these scopes.
pub fn token_key(src: &OidcSource) -> String {
    format!(
        "awscred:oidc-token:{}|{}|{}",
        src.issuer,
        src.client_id,
        src.scopes.join(" ")
    )
}

/// Credentials for the profile: a fresh ID token, exchanged.
pub fn credentials(
    ctx: &Context<'_>,
    chain: &Chain,
    src: &OidcSource,
) -> Result<(Credentials, Option<String>)> {
    let token = id_token(ctx, src)?;
    let claims = jwt::peek(token.id_token.expose());
    if let Some(pool) = &src.identity_pool_id {
        return cognito(ctx, src, pool, token.id_token.expose());
    }
    let role_arn = src.role_arn.as_deref().unwrap_or_default();
    let session = src
        .session_name
        .clone()
        .or_else(|| {
            claims
                .as_ref()
                .and_then(|c| c.email.clone().or(c.sub.clone()))
                .map(|s| session_name(&s))
        })
        .unwrap_or_else(|| super::role::default_session_name(ctx.env));
    assume_with_token(
        ctx,
        chain,
        role_arn,
        &session,
        src.duration_seconds,
        token.id_token.expose(),
    )
}

/// A role session name from an email or subject: STS allows `[\w+=,.@-]`, 2 to 64 long.
pub fn session_name(from: &str) -> String {
    let mut s: String = from
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    while s.len() < 2 {
        s.push('-');
    }
    s
}

fn login_required(ctx: &Context<'_>, src: &OidcSource) -> Error {
    Error::login_required(format!(
        "signing in to {} is needed for profile {}",
        src.issuer, ctx.profile
    ))
    .with_hint(ctx.login_hint())
}

/// A valid ID token: cached, refreshed, or from a new sign-in.
pub fn id_token(ctx: &Context<'_>, src: &OidcSource) -> Result<OidcToken> {
    let key = token_key(src);
    let what = format!("signing in to {}", src.issuer);
    super::cached_token(ctx, &key, &what, |stale: Option<&OidcToken>| {
        let http = Http::new(ctx.env);
        let provider = oidc::discover(&http, &src.issuer)?;
        if let Some(old) = stale
            && let Some(refresh) = &old.refresh_token
        {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose().as_str()),
                ("client_id", src.client_id.as_str()),
            ];
            if let Some(s) = &src.client_secret {
                form.push(("client_secret", s.expose().as_str()));
            }
            crate::log::debug(&format!("refresh at {}", provider.token_endpoint));
            match oidc::token(&http, &provider, &form) {
                Ok(tokens) => {
                    return accept(
                        ctx,
                        &http,
                        &provider,
                        src,
                        tokens,
                        None,
                        Some(refresh.clone()),
                    );
                }
                Err(Refusal::InvalidGrant(why)) => {
                    crate::log::info(&format!(
                        "{} refused the refresh token ({why}); a new sign-in is needed",
                        src.issuer
                    ));
                    ctx.cache.delete(&key)?;
                }
                Err(Refusal::Failed(e)) => return Err(e),
                Err(_) => return Err(login_required(ctx, src)),
            }
        }
        match login::choose(&ctx.login, ctx.env) {
            Ok(login::Flow::Device) => login::oidc::device(ctx, &http, &provider, src),
            Ok(login::Flow::Browser) => login::oidc::browser(ctx, &http, &provider, src),
            Err(why) if ctx.login.allowed => Err(login_required(ctx, src).caused_by_text(why)),
            Err(_) => Err(login_required(ctx, src)),
        }
    })
}

impl super::CachedToken for OidcToken {
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    fn obtained_at(&self) -> DateTime<Utc> {
        self.obtained_at
    }
}

/// Verifies a token answer and turns it into a cache entry.
pub fn accept(
    ctx: &Context<'_>,
    http: &Http,
    provider: &Provider,
    src: &OidcSource,
    tokens: oidc::Tokens,
    nonce: Option<&str>,
    previous_refresh: Option<Secret<String>>,
) -> Result<OidcToken> {
    let Some(id_token) = tokens.id_token.filter(|t| !t.is_empty()) else {
        return Err(
            Error::user(format!("{} returned no ID token", provider.token_endpoint))
                .with_hint("include `openid` in awscred_oidc_scopes"),
        );
    };
    let keys = oidc::jwks(http, provider)?;
    let claims = jwt::verify(
        &id_token,
        &keys,
        &jwt::Expect {
            issuer: &provider.issuer,
            audience: &src.audience,
            nonce,
            now: ctx.clock.now(),
        },
    )?;
    let expires_at = DateTime::<Utc>::from_timestamp(claims.exp, 0)
        .ok_or_else(|| Error::unexpected("the ID token's exp is out of range"))?;
    Ok(OidcToken {
        id_token: Secret::new(id_token),
        refresh_token: tokens
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .or(previous_refresh),
        expires_at,
        obtained_at: ctx.clock.now(),
    })
}

/// Cognito identity pools: GetId, then GetCredentialsForIdentity with the ID token.
fn cognito(
    ctx: &Context<'_>,
    src: &OidcSource,
    pool: &str,
    token: &str,
) -> Result<(Credentials, Option<String>)> {
    let region = pool
        .split(':')
        .next()
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1");
    let url = ctx
        .env
        .endpoint_url(crate::env::AWS_ENDPOINT_URL_COGNITO_IDENTITY)
        .unwrap_or_else(|| format!("https://cognito-identity.{region}.amazonaws.com"));
    let url = format!("{url}/");
    let provider_name = src
        .issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .to_string();
    let logins = serde_json::json!({ provider_name: token });
    let http = Http::new(ctx.env);
    let fail = |op: &str, status: u16, body: &serde_json::Value| {
        let code = body
            .get("__type")
            .and_then(|t| t.as_str())
            .unwrap_or("error");
        let msg = body
            .get("message")
            .or_else(|| body.get("Message"))
            .and_then(|t| t.as_str())
            .unwrap_or("");
        let e = Error::unexpected(format!("{op} at {url} answered HTTP {status}"))
            .caused_by_text(format!("{code}: {msg}"));
        if code.contains("NotAuthorized") {
            e.with_kind(Kind::User)
                .with_hint("check the identity pool's identity provider settings")
        } else {
            e
        }
    };
    crate::log::debug(&format!("Cognito GetId for {pool} at {url}"));
    let (status, body) = http.post_aws_json(
        &url,
        "AWSCognitoIdentityService.GetId",
        &serde_json::json!({"IdentityPoolId": pool, "Logins": logins}),
    )?;
    if status != 200 {
        return Err(fail("GetId", status, &body));
    }
    let id = body
        .get("IdentityId")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::unexpected(format!("GetId at {url} returned no IdentityId")))?;
    let (status, body) = http.post_aws_json(
        &url,
        "AWSCognitoIdentityService.GetCredentialsForIdentity",
        &serde_json::json!({"IdentityId": id, "Logins": logins}),
    )?;
    if status != 200 {
        return Err(fail("GetCredentialsForIdentity", status, &body));
    }
    let c = &body["Credentials"];
    let (Some(akid), Some(secret), Some(session), Some(exp)) = (
        c["AccessKeyId"].as_str(),
        c["SecretKey"].as_str(),
        c["SessionToken"].as_str(),
        c["Expiration"].as_f64(),
    ) else {
        return Err(Error::unexpected(format!(
            "GetCredentialsForIdentity at {url} returned incomplete credentials"
        )));
    };
    let expiration = DateTime::<Utc>::from_timestamp(exp as i64, 0)
        .ok_or_else(|| Error::unexpected("GetCredentialsForIdentity returned a bad expiration"))?;
    check_expiration(
        expiration,
        ctx.clock.now(),
        &url,
        "GetCredentialsForIdentity",
    )?;
    Ok((
        Credentials {
            access_key_id: akid.to_string(),
            secret_access_key: Secret::new(secret.to_string()),
            session_token: Some(Secret::new(session.to_string())),
            expiration: Some(expiration),
        },
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_follow_sts_rules() {
        assert_eq!(session_name("alice@example.com"), "alice@example.com");
        assert_eq!(session_name("a b/c"), "a-b-c");
        assert_eq!(session_name("x"), "x-");
        assert_eq!(session_name(&"y".repeat(80)).len(), 64);
    }
}
