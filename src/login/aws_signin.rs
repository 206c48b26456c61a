//! Signing in to an AWS console session (what `aws login` does): authorization code + PKCE
//! with AWS Sign-In, then the token exchange with a DPoP proof made with a new P-256 key.
//!
//! Same device: the browser is sent to `…/v1/authorize` with the loopback redirect
//! `http://127.0.0.1:{port}/oauth/callback` and the client `…/devtools/same-device`.
//! Cross device: the redirect is Sign-In's own confirmation page, which shows a code (base64
//! of `code=…&state=…`) that the user types on this machine's terminal; only with
//! `/dev/tty`.

use super::loopback::{self, Loopback};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::signin_oauth::{self, DpopKey, Grant, TokenOutput};
use base64::Engine;

/// A finished sign-in: Sign-In's answer, the key it is bound to, the client that asked.
pub struct SignedIn {
    /// The token output (credentials, refresh token, ID token).
    pub output: TokenOutput,
    /// The new DPoP key.
    pub key: DpopKey,
    /// The client id the refresh token belongs to.
    pub client_id: &'static str,
}

/// The browser flow on a loopback redirect.
pub fn browser(ctx: &super::Ctx<'_>, region: &str) -> Result<SignedIn> {
    let listener = Loopback::bind(ctx.policy.redirect_port)?;
    let verifier = loopback::verifier();
    let state = loopback::random_token(16);
    let redirect = listener.redirect_uri(signin_oauth::CALLBACK_PATH);
    let client_id = signin_oauth::SAME_DEVICE_CLIENT;
    let url = signin_oauth::authorize_url(
        ctx.env,
        region,
        client_id,
        &redirect,
        &state,
        &loopback::challenge(&verifier),
    );
    ctx.policy.sink.line(&format!(
        "Sign in to the AWS console session of profile {} in your browser.",
        ctx.profile
    ));
    let callback = listener.sign_in(ctx, &url, signin_oauth::CALLBACK_PATH, &state)?;
    exchange(ctx, region, client_id, &callback.code, &verifier, &redirect)
}

/// The cross-device flow: the URL is shown, the code is typed on `/dev/tty`.
pub fn cross_device(ctx: &super::Ctx<'_>, region: &str) -> Result<SignedIn> {
    if !ctx.policy.can_prompt {
        return Err(Error::user(
            "the AWS console sign-in on another device needs a terminal to type the code it shows, and none is attached",
        )
        .with_hint(format!(
            "run awscred login --profile {} in a terminal, or with a browser on this machine (--browser)",
            ctx.profile
        )));
    }
    let verifier = loopback::verifier();
    let state = loopback::random_token(16);
    let client_id = signin_oauth::CROSS_DEVICE_CLIENT;
    let redirect = format!(
        "{}{}",
        signin_oauth::base(ctx.env, region),
        signin_oauth::CONFIRMATION_PATH
    );
    let url = signin_oauth::authorize_url(
        ctx.env,
        region,
        client_id,
        &redirect,
        &state,
        &loopback::challenge(&verifier),
    );
    let sink = ctx.policy.sink;
    sink.line(&format!(
        "Sign in to the AWS console session of profile {} in a browser on any device:",
        ctx.profile
    ));
    sink.line(&format!("  {url}"));
    let pasted = read_code()?;
    let (code, got_state) = parse_pasted(&pasted).ok_or_else(|| {
        Error::user("the code typed is not the one the sign-in page shows").with_hint(ctx.hint())
    })?;
    if got_state != state {
        return Err(Error::user("the code typed belongs to another sign-in").with_hint(ctx.hint()));
    }
    exchange(ctx, region, client_id, &code, &verifier, &redirect)
}

/// The pasted code: base64 of `code=…&state=…`.
fn parse_pasted(text: &str) -> Option<(Secret<String>, String)> {
    let text = text.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
        })
        .ok()?;
    let query = String::from_utf8(bytes).ok()?;
    let mut pairs = crate::form::decode(&query);
    let code = pairs.remove("code").filter(|c| !c.is_empty())?;
    let state = pairs.remove("state")?;
    Some((Secret::new(code), state))
}

#[cfg(unix)]
fn read_code() -> Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| {
            Error::user("cannot open the terminal to read the sign-in code").caused_by(&e)
        })?;
    let mut w = &tty;
    let _ = write!(w, "Code shown by the sign-in page: ");
    let _ = w.flush();
    let mut line = String::new();
    BufReader::new(std::io::Read::take(&tty, 4096))
        .read_line(&mut line)
        .map_err(|e| Error::user("cannot read the sign-in code from the terminal").caused_by(&e))?;
    Ok(line)
}

#[cfg(not(unix))]
fn read_code() -> Result<String> {
    Err(Error::user(
        "typing the code of an AWS console sign-in on another device is not supported here",
    )
    .with_hint("sign in with a browser on this machine: awscred login --browser"))
}

fn exchange(
    ctx: &super::Ctx<'_>,
    region: &str,
    client_id: &'static str,
    code: &Secret<String>,
    verifier: &Secret<String>,
    redirect_uri: &str,
) -> Result<SignedIn> {
    let key = DpopKey::generate()?;
    let output = signin_oauth::create_token(
        ctx.net,
        region,
        client_id,
        Grant::AuthorizationCode {
            code,
            verifier,
            redirect_uri,
        },
        &key,
        crate::clock::Clock::now(&crate::clock::SystemClock),
    )
    .map_err(|f| match f.code.as_deref() {
        Some("AUTHCODE_EXPIRED") => Error::user("AWS Sign-In no longer accepts the sign-in code")
            .caused_by_text(f.error.to_string())
            .with_hint(ctx.hint()),
        Some("INSUFFICIENT_PERMISSIONS") => Error::user(
            "the signed-in principal may not use console credentials from the command line",
        )
        .caused_by_text(f.error.to_string())
        .with_hint("ask an administrator for the signin:AuthorizeOAuth2Access and signin:CreateOAuth2Token permissions"),
        _ => f.error,
    })?;
    Ok(SignedIn {
        output,
        key,
        client_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pasted_code_is_base64_of_code_and_state() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let (code, state) =
            parse_pasted(&format!("{}\n", b64.encode("code=abc&state=xyz"))).unwrap();
        assert_eq!((code.expose().as_str(), state.as_str()), ("abc", "xyz"));
        assert!(parse_pasted(&b64.encode("state=xyz")).is_none());
        assert!(parse_pasted("not base64 !").is_none());
    }
}
