//! Sign-in to an external OpenID provider: authorization code + PKCE on a loopback
//! redirect (random `state` and `nonce`, both checked), or the device authorization grant
//! (RFC 8628: `authorization_pending`, `slow_down`, `expired_token`, `access_denied`).

use super::device::{Poll, Wait, poll_until, show};
use super::loopback::{self, Loopback};
use crate::config::OidcSource;
use crate::error::{Error, Result};
use crate::oidc::{self, Http, Provider, Refusal};
use crate::remote;
use crate::secret::Secret;

/// The loopback redirect path.
pub const CALLBACK_PATH: &str = "/callback";

fn client_auth<'a>(src: &'a OidcSource, form: &mut Vec<(&'a str, &'a str)>) {
    form.push(("client_id", src.client_id.as_str()));
    if let Some(s) = &src.client_secret {
        form.push(("client_secret", s.expose().as_str()));
    }
}

/// What a provider answered a sign-in with, and the `nonce` its ID token must carry (the
/// browser flow's; the device grant has none). Checking and caching them is the caller's.
pub struct Answer {
    /// The token endpoint's answer.
    pub tokens: oidc::Tokens,
    /// The nonce sent, if any.
    pub nonce: Option<Secret<String>>,
}

/// The browser flow.
pub fn browser(
    ctx: &super::Ctx<'_>,
    http: &Http,
    provider: &Provider,
    src: &OidcSource,
) -> Result<Answer> {
    let listener = Loopback::bind(ctx.policy.redirect_port)?;
    let verifier = loopback::verifier();
    let state = loopback::random_token(16);
    let nonce = loopback::random_token(16);
    let redirect = listener.redirect_uri(CALLBACK_PATH);
    let scope = src.scopes.join(" ");
    let mut url = format!(
        "{}{}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
        provider.authorization_endpoint,
        if provider.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        },
        loopback::encode(&src.client_id),
        loopback::encode(&redirect),
        loopback::encode(&scope),
        loopback::encode(&state),
        loopback::encode(&nonce),
        loopback::encode(&loopback::challenge(&verifier)),
    );
    let mut extra = src.authorize_params.clone();
    if src.scopes.iter().any(|s| s == "offline_access") && !extra.iter().any(|(k, _)| k == "prompt")
    {
        // OpenID Connect issues a refresh token for offline_access only with consent.
        extra.push(("prompt".into(), "consent".into()));
    }
    for (k, v) in &extra {
        url.push_str(&format!("&{}={}", loopback::encode(k), loopback::encode(v)));
    }
    ctx.policy.sink.line(&format!(
        "Sign in to {} for profile {} in your browser.",
        src.issuer, ctx.profile
    ));
    let callback = listener.sign_in(ctx, &url, CALLBACK_PATH, &state)?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", callback.code.expose().as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier.expose().as_str()),
    ];
    client_auth(src, &mut form);
    match oidc::token(http, provider, &form) {
        Ok(tokens) => Ok(Answer {
            tokens,
            nonce: Some(Secret::new(nonce)),
        }),
        Err(Refusal::InvalidGrant(why)) => Err(Error::user(format!(
            "{} rejected the sign-in code",
            src.issuer
        ))
        .caused_by_text(why)
        .with_hint(ctx.hint())),
        Err(Refusal::Failed(e)) => Err(e),
        Err(_) => {
            Err(Error::user(format!("{} refused the sign-in", src.issuer)).with_hint(ctx.hint()))
        }
    }
}

/// The device authorization grant.
pub fn device(
    ctx: &super::Ctx<'_>,
    http: &Http,
    provider: &Provider,
    src: &OidcSource,
) -> Result<Answer> {
    let scope = src.scopes.join(" ");
    let mut form = vec![("scope", scope.as_str())];
    client_auth(src, &mut form);
    let auth = oidc::device_authorization(http, provider, &form)?;
    let wait = Wait {
        interval: auth.interval.unwrap_or(0),
        expires_in: auth.expires_in,
    };
    // Shown whole (the user needs the query); made inert, as everything a provider sends.
    let verify = remote::text(
        auth.verification_uri_complete
            .as_ref()
            .map_or(&auth.verification_uri, |u| u.expose()),
    );
    let user_code = remote::text(auth.user_code.expose());
    show(
        ctx,
        &src.issuer,
        &verify,
        &user_code,
        wait.limit(ctx.policy.timeout),
    );
    let hint = ctx.hint();
    let sleep = &mut std::thread::sleep;
    let tokens = poll_until(wait, ctx.policy.timeout, &hint, &user_code, sleep, || {
        let mut form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", auth.device_code.expose().as_str()),
        ];
        client_auth(src, &mut form);
        match oidc::token(http, provider, &form) {
            Ok(tokens) => Ok(Poll::Done(tokens)),
            Err(Refusal::Pending) => Ok(Poll::Pending),
            Err(Refusal::SlowDown) => Ok(Poll::SlowDown),
            Err(Refusal::Expired) => Ok(Poll::Expired),
            Err(Refusal::Denied) => Err(Error::user(format!(
                "the sign-in to {} was denied",
                src.issuer
            ))
            .with_hint(ctx.hint())),
            Err(Refusal::InvalidGrant(why)) => Err(Error::user(format!(
                "{} refused the device code",
                src.issuer
            ))
            .caused_by_text(why)
            .with_hint(ctx.hint())),
            Err(Refusal::Failed(e)) => Err(e),
        }
    })
    .map_err(|e| super::device::time_hint(ctx, e))?;
    Ok(Answer {
        tokens,
        nonce: None,
    })
}
