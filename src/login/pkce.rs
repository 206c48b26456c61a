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
use crate::identity_center::Grant;
use crate::net::Service;
use crate::source::Context;
use crate::source::sso::{self, SsoToken};

/// The redirect path registered with IAM Identity Center.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// The redirect URI as registered (loopback redirects match on any port).
pub const REGISTERED_REDIRECT: &str = "http://127.0.0.1/oauth/callback";

/// Runs the browser flow for `session` and returns the new token.
pub fn sign_in(ctx: &Context<'_>, session: &SsoSession) -> Result<SsoToken> {
    let listener = Loopback::bind(ctx.login.redirect_port)?;
    let (client_key, reg) = sso::registration(ctx, session, "auth-code")?;
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
    let sink = ctx.login.sink;
    sink.line(&format!(
        "Sign in to IAM Identity Center ({}) for profile {} in your browser.",
        session.display_name(),
        ctx.profile
    ));
    let callback = listener.sign_in(ctx, &url, CALLBACK_PATH, &state)?;

    let out = sso::create_token(
        ctx,
        &session.region,
        &reg,
        "CreateToken (authorization_code)",
        Grant::AuthorizationCode {
            code: &callback.code,
            verifier: &verifier,
            redirect_uri: &redirect,
        },
    );
    match out {
        Ok(out) => {
            let t = sso::token_from(ctx, out, client_key, None)?;
            sink.line(&format!(
                "Signed in to IAM Identity Center ({}).",
                session.display_name()
            ));
            Ok(t)
        }
        Err(f) => {
            if f.code.as_deref() == Some("InvalidClientException") {
                ctx.cache.delete(&client_key)?;
            }
            Err(match f.code.as_deref() {
                Some("InvalidGrantException") => {
                    Error::user("IAM Identity Center rejected the sign-in code")
                        .caused_by_text(f.error.to_string())
                        .with_hint(ctx.login_hint())
                }
                _ => f.error,
            })
        }
    }
}
