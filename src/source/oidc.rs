//! An external OpenID Connect provider (Okta, Entra ID, Auth0, Keycloak, Google, Cognito
//! user pools, …): an ID token obtained by browser or device sign-in, kept fresh with the
//! refresh token, checked locally, then exchanged through STS AssumeRoleWithWebIdentity or
//! a Cognito identity pool. Signing out deletes the tokens and every credential derived
//! from them, and revokes the refresh token where the provider allows it.

use super::Context;
use super::role::check_expiration;
use super::web_identity::assume_with_token;

use crate::config::{Base, Chain, OidcSource};
use crate::credentials::Credentials;
use crate::error::{Error, Kind, Result};
use crate::login;
use crate::oidc::{self, Http, Provider, Refusal, jwt};
use crate::remote;
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
        let http = Http::new(ctx.net)?;
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
            crate::log::debug(&format!(
                "refresh at {}",
                remote::url(&provider.token_endpoint)
            ));
            match oidc::token(&http, &provider, &form) {
                Ok(tokens) if !has_id_token(&tokens) && old.expires_at <= ctx.clock.now() => {
                    // The provider renewed nothing a role can be assumed with, and the old
                    // ID token has lapsed.
                    crate::log::info(&format!(
                        "{} refreshed without a new ID token and the cached one has expired; a new sign-in is needed",
                        src.issuer
                    ));
                    ctx.cache.delete(&key)?;
                }
                Ok(tokens) => {
                    return accept(ctx, &http, &provider, src, tokens, None, Some(old)).map_err(
                        |e| {
                            if e.kind() == Kind::User {
                                // The renewed ID token fails a check (another subject, an
                                // audience, a signature): this sign-in is not renewed again.
                                let _ = ctx.cache.delete(&key);
                                e.with_hint(ctx.login_hint())
                            } else {
                                e
                            }
                        },
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
        let answer = match login::choose(&ctx.login, ctx.env) {
            Ok(login::Flow::Device) => {
                login::oidc::device(&ctx.sign_in_ctx(), &http, &provider, src)?
            }
            Ok(login::Flow::Browser) => {
                login::oidc::browser(&ctx.sign_in_ctx(), &http, &provider, src)?
            }
            Err(why) if ctx.login.allowed => {
                return Err(login_required(ctx, src).caused_by_text(why));
            }
            Err(_) => return Err(login_required(ctx, src)),
        };
        let nonce = answer.nonce.as_ref().map(|n| n.expose().as_str());
        let t = accept(ctx, &http, &provider, src, answer.tokens, nonce, None)?;
        ctx.login
            .sink
            .line(&format!("Signed in to {}.", src.issuer));
        Ok(t)
    })
}

impl super::CachedToken for OidcToken {
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

fn has_id_token(tokens: &oidc::Tokens) -> bool {
    tokens
        .id_token
        .as_ref()
        .is_some_and(|t| !t.expose().is_empty())
}

/// Verifies a token answer and turns it into a cache entry. `previous` is the token a
/// refresh renews: a refreshed ID token must name the same sign-in (OpenID Connect Core
/// §12.2), and an answer without an ID token keeps the previous one while it is valid.
pub fn accept(
    ctx: &Context<'_>,
    http: &Http,
    provider: &Provider,
    src: &OidcSource,
    tokens: oidc::Tokens,
    nonce: Option<&str>,
    previous: Option<&OidcToken>,
) -> Result<OidcToken> {
    let now = ctx.clock.now();
    let refresh_token = tokens
        .refresh_token
        .filter(|t| !t.expose().is_empty())
        .or_else(|| previous.and_then(|p| p.refresh_token.clone()));
    let Some(id_token) = tokens.id_token.filter(|t| !t.expose().is_empty()) else {
        if let Some(kept) = keep_previous(previous, refresh_token, now) {
            crate::log::debug("the refresh returned no ID token; the cached one is still valid");
            return Ok(kept);
        }
        return Err(Error::user(format!(
            "{} returned no ID token",
            remote::url(&provider.token_endpoint)
        ))
        .with_hint("include `openid` in awscred_oidc_scopes"));
    };
    let keys = oidc::jwks(http, provider)?;
    let claims = jwt::verify(
        id_token.expose(),
        &keys,
        &jwt::Expect {
            issuer: &provider.issuer,
            audience: &src.audience,
            client_id: &src.client_id,
            nonce,
            now,
        },
    )?;
    if let Some(old) = previous {
        let original = jwt::peek(old.id_token.expose())
            .ok_or_else(|| Error::user("the cached ID token of this sign-in cannot be read"))?;
        jwt::same_sign_in(&original, &claims)?;
    }
    let expires_at = DateTime::<Utc>::from_timestamp(claims.exp, 0)
        .ok_or_else(|| Error::unexpected("the ID token's exp is out of range"))?;
    Ok(OidcToken {
        id_token,
        refresh_token,
        expires_at,
        obtained_at: now,
    })
}

/// After a refresh that returned no ID token: the previous ID token, with the refresh
/// token now current, while it has not expired; afterwards nothing (a new sign-in).
fn keep_previous(
    previous: Option<&OidcToken>,
    refresh_token: Option<Secret<String>>,
    now: DateTime<Utc>,
) -> Option<OidcToken> {
    let old = previous.filter(|p| p.expires_at > now)?;
    Some(OidcToken {
        id_token: old.id_token.clone(),
        refresh_token,
        expires_at: old.expires_at,
        obtained_at: old.obtained_at,
    })
}

/// The tokens a sign-in to one issuer with one client left in the cache: one per scope set
/// among the profiles that use it.
#[derive(Debug, Default)]
pub struct SignInEntries {
    /// Token cache keys, with the source each belongs to.
    pub tokens: Vec<(String, OidcSource)>,
}

impl SignInEntries {
    /// The token entries of `sharing` (the bases of every profile on one sign-in).
    pub fn of(sharing: &[&Base]) -> Self {
        let mut out = Self::default();
        for b in sharing {
            let Base::Oidc(o) = b else { continue };
            let key = token_key(o);
            if !out.tokens.iter().any(|(k, _)| *k == key) {
                out.tokens.push((key, o.clone()));
            }
        }
        out
    }
}

/// Signs out of `src`'s issuer: deletes its ID and refresh tokens (the caller deletes the
/// credentials of every profile using that issuer and client), then revokes the refresh token at the
/// provider's `revocation_endpoint` (RFC 7009) when it publishes one. Returns what was
/// done, as a line for the user. When revocation fails, everything local is deleted all
/// the same and the error says so: the refresh token stays valid at the provider, which
/// someone relying on the sign-out must learn (exit 1).
pub fn logout(ctx: &Context<'_>, entries: &SignInEntries, src: &OidcSource) -> Result<String> {
    let mut signed_in = false;
    let mut refresh_tokens: Vec<(Secret<String>, &OidcSource)> = Vec::new();
    for (key, o) in &entries.tokens {
        if let Some(t) = ctx.cache.get::<OidcToken>(key)? {
            signed_in = true;
            if let Some(r) = t.refresh_token
                && !refresh_tokens.iter().any(|(x, _)| *x == r)
            {
                refresh_tokens.push((r, o));
            }
        }
        ctx.cache.delete(key)?;
    }
    let issuer = &src.issuer;
    if !signed_in {
        return Ok(format!("Not signed in to {issuer}."));
    }
    if refresh_tokens.is_empty() {
        return Ok(format!(
            "Signed out of {issuer} (the provider had issued no refresh token)."
        ));
    }
    let not_revoked = |e: Error| {
        e.context(format!(
            "signed out of {issuer} on this machine, but the refresh token could not be revoked"
        ))
        .with_kind(Kind::User)
        .with_hint(format!(
            "the refresh token stays valid at {issuer} until it expires; end the session in the provider's own portal to cut it short"
        ))
    };
    let http = Http::new(ctx.net)?;
    let provider = oidc::discover(&http, issuer).map_err(not_revoked)?;
    let Some(url) = provider.revocation_endpoint.as_deref() else {
        return Ok(format!(
            "Signed out of {issuer}; the provider publishes no revocation endpoint; the refresh token stays valid until it expires."
        ));
    };
    for (token, o) in &refresh_tokens {
        oidc::revoke_refresh_token(
            &http,
            &provider,
            &o.client_id,
            o.client_secret.as_ref(),
            token,
        )
        .map_err(not_revoked)?;
    }
    Ok(format!(
        "Signed out of {issuer}; revoked the refresh token at {}.",
        remote::url(url)
    ))
}

/// Cognito identity pools: GetId, then GetCredentialsForIdentity with the ID token.
fn cognito(
    ctx: &Context<'_>,
    src: &OidcSource,
    pool: &str,
    token: &str,
) -> Result<(Credentials, Option<String>)> {
    let region = crate::config::resolve::pool_region(pool).map_err(|why| {
        Error::user(format!("awscred_oidc_identity_pool_id is not usable: {why}"))
            .with_hint("set awscred_oidc_identity_pool_id to the pool's id, like us-east-1:00000000-aaaa-bbbb-cccc-000000000000")
    })?;
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
    let http = Http::new(ctx.net)?;
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
        let e = Error::unexpected(format!(
            "{op} at {} answered HTTP {status}",
            remote::url(&url)
        ))
        .caused_by_text(format!("{}: {}", remote::text(code), remote::text(msg)));
        if code.contains("NotAuthorized") {
            e.with_kind(Kind::User)
                .with_hint("check the identity pool's identity provider settings")
        } else {
            e
        }
    };
    crate::log::debug(&format!(
        "Cognito GetId for {pool} at {}",
        remote::url(&url)
    ));
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
        .ok_or_else(|| {
            Error::unexpected(format!(
                "GetId at {} returned no IdentityId",
                remote::url(&url)
            ))
        })?;
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
            "GetCredentialsForIdentity at {} returned incomplete credentials",
            remote::url(&url)
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

impl super::Source for OidcSource {
    fn kind(&self) -> &'static str {
        "oidc"
    }
    fn describe(&self) -> String {
        format!(
            "identity provider {} → {}",
            self.issuer,
            self.role_arn
                .clone()
                .or_else(|| self
                    .identity_pool_id
                    .as_ref()
                    .map(|p| format!("Cognito identity pool {p}")))
                .unwrap_or_default()
        )
    }
    fn cache_id(&self) -> String {
        format!(
            "oidc|{}|{}|{}|{}|{}|{}",
            self.issuer,
            self.client_id,
            self.role_arn.as_deref().unwrap_or(""),
            self.identity_pool_id.as_deref().unwrap_or(""),
            self.session_name.as_deref().unwrap_or(""),
            self.duration_seconds.unwrap_or(0)
        )
    }
    fn cacheable(&self) -> bool {
        true
    }
    fn fetch(&self, ctx: &Context<'_>, chain: &Chain) -> Result<(Credentials, Option<String>)> {
        credentials(ctx, chain, self)
    }
    fn sign_in(&self) -> Option<&dyn super::SignIn> {
        Some(self)
    }
}

impl super::SignIn for OidcSource {
    fn name(&self) -> String {
        self.issuer.clone()
    }
    fn shared_by(&self, other: &Base) -> bool {
        matches!(other, Base::Oidc(o) if o.issuer == self.issuer && o.client_id == self.client_id)
    }
    fn state(&self, ctx: &Context<'_>) -> Result<super::SignInState> {
        super::token_state::<OidcToken>(ctx, &token_key(self))
    }
    fn ensure(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let before = ctx.cache.get::<OidcToken>(&token_key(self))?;
        let token = id_token(ctx, self)?;
        let reused = before.is_some_and(|b| b.id_token == token.id_token);
        Ok(reused.then_some(token.expires_at))
    }
    fn sign_out(&self, ctx: &Context<'_>, sharing: &[&Base]) -> Result<String> {
        logout(ctx, &SignInEntries::of(sharing), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache;
    use crate::config::{self, AwsFiles};
    use crate::env::Environment;

    #[test]
    fn session_names_follow_sts_rules() {
        assert_eq!(session_name("alice@example.com"), "alice@example.com");
        assert_eq!(session_name("a b/c"), "a-b-c");
        assert_eq!(session_name("x"), "x-");
        assert_eq!(session_name(&"y".repeat(80)).len(), 64);
    }

    #[test]
    fn a_refresh_without_an_id_token_keeps_the_old_one_only_while_it_is_valid() {
        let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        let old = OidcToken {
            id_token: Secret::new("old-id".into()),
            refresh_token: Some(Secret::new("rt-old".into())),
            expires_at: at(2000),
            obtained_at: at(1000),
        };
        let kept = keep_previous(Some(&old), Some(Secret::new("rt-new".into())), at(1999))
            .expect("still valid");
        assert_eq!(kept.id_token.expose(), "old-id");
        assert_eq!(kept.expires_at, at(2000));
        assert_eq!(kept.refresh_token.unwrap().expose(), "rt-new");
        assert!(
            keep_previous(Some(&old), None, at(2000)).is_none(),
            "expired"
        );
        assert!(
            keep_previous(None, None, at(1500)).is_none(),
            "a first sign-in"
        );
    }

    #[test]
    fn a_sign_in_reaches_every_profile_on_its_issuer_and_client() {
        let files = AwsFiles::from_texts(
            "[profile a]\nawscred_oidc_issuer = https://idp.example.com\nawscred_oidc_client_id = c1\nawscred_oidc_role_arn = arn:aws:iam::1:role/A\n\
             [profile b]\nawscred_oidc_issuer = https://idp.example.com/\nawscred_oidc_client_id = c1\nawscred_oidc_scopes = openid\nawscred_oidc_role_arn = arn:aws:iam::1:role/B\n\
             [profile admin]\nsource_profile = b\nrole_arn = arn:aws:iam::1:role/Admin\n\
             [profile other-client]\nawscred_oidc_issuer = https://idp.example.com\nawscred_oidc_client_id = c2\nawscred_oidc_role_arn = arn:aws:iam::1:role/A\n\
             [profile other-issuer]\nawscred_oidc_issuer = https://idp2.example.com\nawscred_oidc_client_id = c1\nawscred_oidc_role_arn = arn:aws:iam::1:role/A\n\
             [profile broken]\nawscred_oidc_issuer = http://localhost.attacker.example\nawscred_oidc_client_id = c1\n",
            "",
        )
        .unwrap();
        let env = Environment::from_pairs([]);
        let chain = |name: &str| config::resolve::resolve(&files, name, &env).unwrap();
        let a = chain("a");
        let Base::Oidc(src) = &a.base else { panic!() };
        let sharing = super::super::sharing(&files, &env, &a, src);
        let entries = SignInEntries::of(&sharing.iter().map(|c| &c.base).collect::<Vec<_>>());
        let scopes: Vec<String> = entries
            .tokens
            .iter()
            .map(|(_, o)| o.scopes.join(" "))
            .collect();
        assert_eq!(
            scopes,
            ["openid email offline_access", "openid"],
            "one token per scope set"
        );
        // admin's first step is b's credentials: each key once.
        let admin = chain("admin");
        let id = super::super::cache_id;
        assert_eq!(id(&admin, 0), id(&chain("b"), 0));
        let key = |c: &Chain, n| cache::keys::credentials(&id(c, n));
        let session = |c: &Chain, n| cache::keys::credentials(&format!("{}>session", id(c, n)));
        let mut want = vec![
            key(&a, 0),
            session(&a, 0),
            key(&admin, 0),
            session(&chain("b"), 0),
            key(&admin, 1),
            session(&admin, 1),
        ];
        let mut got = super::super::credential_keys(&sharing);
        got.sort();
        want.sort();
        assert_eq!(got, want);
        for other in ["other-client", "other-issuer"] {
            let c = chain(other);
            assert!(!got.contains(&key(&c, 0)), "{other}");
        }
    }
}
