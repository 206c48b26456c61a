//! The OAuth device authorization flow against IAM Identity Center.
//!
//! StartDeviceAuthorization, show the verification URL and code, then poll CreateToken at
//! the given interval: `AuthorizationPendingException` keeps polling, `SlowDownException`
//! adds 5 seconds, `ExpiredTokenException` and `AccessDeniedException` stop with a clear
//! error. The wait is bounded by the code's lifetime and by the policy's timeout.

use crate::config::SsoSession;
use crate::error::{Error, Kind, Result};
use crate::net::{Service, failure};
use crate::source::Context;
use crate::source::sso::{self, DEVICE_GRANT, SsoToken};
use std::time::{Duration, Instant};

/// Default polling interval when the service names none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Added to the interval on `SlowDownException`.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Runs the device flow for `session` and returns the new token.
pub fn sign_in(ctx: &Context<'_>, session: &SsoSession) -> Result<SsoToken> {
    let mut retried = false;
    loop {
        let (client_key, reg) = sso::registration(ctx, session, "device")?;
        let url = Service::SsoOidc.url(ctx.env, &session.region);
        let client = ctx.net.sso_oidc(&session.region);
        crate::log::debug(&format!("StartDeviceAuthorization at {url}"));
        let start = ctx.net.block_on(
            client
                .start_device_authorization()
                .client_id(&reg.client_id)
                .client_secret(reg.client_secret.expose())
                .start_url(&session.start_url)
                .send(),
        )?;
        let auth = match start {
            Ok(a) => a,
            Err(e) => {
                let f = failure(e, "StartDeviceAuthorization", &url);
                if !retried && f.code.as_deref() == Some("InvalidClientException") {
                    // The cached registration is no longer known: register again once.
                    ctx.cache.delete(&client_key)?;
                    retried = true;
                    continue;
                }
                return Err(f.error);
            }
        };
        // The code and the URL are the service's words, shown to a person: made inert.
        let (Some(device_code), Some(user_code)) = (
            auth.device_code.clone(),
            auth.user_code.as_deref().map(crate::remote::text),
        ) else {
            return Err(Error::unexpected(format!(
                "StartDeviceAuthorization at {url} returned no device or user code"
            )));
        };
        let verify = auth
            .verification_uri_complete
            .as_deref()
            .or(auth.verification_uri.as_deref())
            .map(crate::remote::text)
            .ok_or_else(|| {
                Error::unexpected(format!(
                    "StartDeviceAuthorization at {url} returned no verification URL"
                ))
            })?;
        let lifetime = Duration::from_secs(u64::try_from(auth.expires_in).unwrap_or(0).max(1));
        let limit = lifetime.min(ctx.login.timeout);
        let sink = ctx.login.sink;
        sink.line(&format!(
            "Sign in to IAM Identity Center ({}) for profile {}:",
            session.display_name(),
            ctx.profile
        ));
        sink.line(&format!("  open {verify}"));
        sink.line(&format!("  and confirm the code {user_code}"));
        sink.line(&format!("Waiting up to {} for approval…", human(limit)));

        let mut interval = u64::try_from(auth.interval)
            .ok()
            .filter(|&i| i > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_INTERVAL);
        let begun = Instant::now();
        loop {
            if begun.elapsed() + interval > limit {
                let (msg, hint) = if limit < lifetime {
                    (
                        format!("the sign-in was not approved within {}", human(limit)),
                        ctx.login_hint(),
                    )
                } else {
                    (
                        format!("the device code {user_code} expired before it was approved"),
                        ctx.login_hint(),
                    )
                };
                return Err(Error::user(msg).with_hint(hint));
            }
            std::thread::sleep(interval);
            let out = sso::create_token(ctx, &session.region, &reg, "CreateToken", |r| {
                r.grant_type(DEVICE_GRANT).device_code(&device_code)
            })?;
            match out {
                Ok(out) => {
                    let t = sso::token_from(ctx, out, client_key, None, &url)?;
                    sink.line(&format!(
                        "Signed in to IAM Identity Center ({}).",
                        session.display_name()
                    ));
                    return Ok(t);
                }
                Err(f) => match f.code.as_deref() {
                    Some("AuthorizationPendingException") => {}
                    Some("SlowDownException") => interval += SLOW_DOWN_STEP,
                    Some("ExpiredTokenException") => {
                        return Err(Error::user(format!(
                            "the device code {user_code} expired before it was approved"
                        ))
                        .with_hint(ctx.login_hint()));
                    }
                    Some("AccessDeniedException") => {
                        return Err(Error::user("the sign-in was denied in the browser")
                            .with_kind(Kind::User)
                            .with_hint(ctx.login_hint()));
                    }
                    _ => return Err(f.error),
                },
            }
        }
    }
}

/// "2 min", "45 s".
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 120 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}
