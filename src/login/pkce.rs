//! IAM Identity Center sign-in through the browser: authorization code + PKCE.
//!
//! RegisterClient for an authorization-code client (cached apart from device-code
//! registrations), open `…/authorize?response_type=code&client_id=…&redirect_uri=
//! http://127.0.0.1:{port}/oauth/callback&state=…&code_challenge_method=S256&scopes=…&
//! code_challenge=…`, wait for the loopback callback, then CreateToken with the code, the
//! verifier and the same redirect URI.

use super::loopback::{self, Loopback};
use crate::config::SsoSession;
use crate::error::{Error, Result};
use crate::identity_center::{self, Grant, Registration};
use crate::net::Service;

/// The redirect path registered with IAM Identity Center.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// The redirect URI as registered (loopback redirects match on any port).
pub const REGISTERED_REDIRECT: &str = "http://127.0.0.1/oauth/callback";

/// Runs the browser flow for `session` with the client `reg` and returns IAM Identity
/// Center's CreateToken answer. A refusal of the client itself carries the code
/// `InvalidClientException` ([`Error::code`]): the caller forgets the registration.
pub fn sign_in(
    ctx: &super::Ctx<'_>,
    session: &SsoSession,
    reg: &Registration,
) -> Result<identity_center::Token> {
    let listener = Loopback::bind(ctx.policy.redirect_port)?;
    let verifier = loopback::verifier();
    let state = loopback::random_token(16);
    let redirect = listener.redirect_uri(CALLBACK_PATH);
    let oidc = Service::SsoOidc.url(ctx.env, &session.region);
    let url = format!(
        "{oidc}/authorize?response_type=code&client_id={}&redirect_uri={}&state={}&code_challenge_method=S256&scopes={}&code_challenge={}",
        loopback::encode(&reg.client_id),
        loopback::encode(&redirect),
        loopback::encode(&state),
        loopback::encode(&session.scopes.join(" ")),
        loopback::encode(&loopback::challenge(&verifier)),
    );
    ctx.policy.sink.line(&format!(
        "Sign in to IAM Identity Center ({}) for profile {} in your browser.",
        session.display_name(),
        ctx.profile
    ));
    let callback = listener.sign_in(ctx, &url, CALLBACK_PATH, &state)?;
    identity_center::create_token(
        ctx.net,
        &session.region,
        &reg.client_id,
        &reg.client_secret,
        Grant::AuthorizationCode {
            code: &callback.code,
            verifier: &verifier,
            redirect_uri: &redirect,
        },
        "CreateToken (authorization_code)",
    )
    .map_err(|f| match f.code.as_deref() {
        Some("InvalidGrantException") => {
            Error::user("IAM Identity Center rejected the sign-in code")
                .caused_by_text(f.error.to_string())
                .with_hint(ctx.hint())
        }
        _ => {
            let code = f.code.clone();
            f.error.with_code(code)
        }
    })
}
