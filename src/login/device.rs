//! The OAuth device authorization flow against IAM Identity Center, and the one polling
//! loop both device flows (this one and an external provider's, `login::oidc`) share.
//!
//! StartDeviceAuthorization, show the verification URL and code, then poll CreateToken at
//! the given interval: `AuthorizationPendingException` keeps polling, `SlowDownException`
//! adds 5 seconds, `ExpiredTokenException` and `AccessDeniedException` stop with a clear
//! error. The wait is bounded by the code's lifetime and by the policy's timeout.

use crate::config::SsoSession;
use crate::error::{Error, Kind, Result};
use crate::identity_center::Registration;
use crate::identity_center::{self, Grant};
use crate::net::Service;
use std::time::{Duration, Instant};

/// Default polling interval when the service names none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Added to the interval on a slow-down answer.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// What one poll of a token endpoint said.
#[derive(Debug)]
pub enum Poll<T> {
    /// Approved: the result.
    Done(T),
    /// Not approved yet.
    Pending,
    /// Poll less often.
    SlowDown,
    /// The device code expired.
    Expired,
}

/// A device code being waited for.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    /// The interval the service asked for, in seconds (0 or less: [`DEFAULT_INTERVAL`]).
    pub interval: i64,
    /// The code's lifetime, in seconds.
    pub expires_in: i64,
}

impl Wait {
    fn lifetime(self) -> Duration {
        Duration::from_secs(u64::try_from(self.expires_in).unwrap_or(0).max(1))
    }

    /// How long the wait may last: the code's lifetime, at most the policy's timeout.
    pub fn limit(self, timeout: Duration) -> Duration {
        self.lifetime().min(timeout)
    }
}

/// Polls with `poll` until it answers, the code expires or the wait's limit (the code's
/// lifetime, at most `timeout`) passes: every interval; a slow-down adds
/// [`SLOW_DOWN_STEP`]. An error from `poll` (denied, a refused grant, a network failure)
/// ends the wait. `user_code` is already made inert; `hint` says how to sign in again;
/// `sleep` waits (`std::thread::sleep`, or a recorder in tests).
pub fn poll_until<T>(
    wait: Wait,
    timeout: Duration,
    hint: &str,
    user_code: &str,
    sleep: &mut dyn FnMut(Duration),
    mut poll: impl FnMut() -> Result<Poll<T>>,
) -> Result<T> {
    let lifetime = wait.lifetime();
    let limit = wait.limit(timeout);
    let mut interval = u64::try_from(wait.interval)
        .ok()
        .filter(|&i| i > 0)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_INTERVAL);
    let expired = || {
        Error::user(format!(
            "the device code {user_code} expired before it was approved"
        ))
        .with_hint(hint)
    };
    let begun = Instant::now();
    let mut slept = Duration::ZERO;
    loop {
        let elapsed = begun.elapsed().max(slept);
        if elapsed.saturating_add(interval) > limit {
            return Err(if limit < lifetime {
                Error::user(format!("{NOT_APPROVED} {}", human(limit))).with_hint(hint)
            } else {
                expired()
            });
        }
        sleep(interval);
        slept = slept.saturating_add(interval);
        match poll()? {
            Poll::Done(t) => return Ok(t),
            Poll::Pending => {}
            Poll::SlowDown => interval = interval.saturating_add(SLOW_DOWN_STEP),
            Poll::Expired => return Err(expired()),
        }
    }
}

/// Shows where to confirm the code, and for how long awscred waits.
pub fn show(ctx: &super::Ctx<'_>, to: &str, verify: &str, user_code: &str, limit: Duration) {
    let sink = ctx.policy.sink;
    sink.line(&format!("Sign in to {to} for profile {}:", ctx.profile));
    sink.line(&format!("  open {verify}"));
    sink.line(&format!("  and confirm the code {user_code}"));
    sink.line(&format!("Waiting up to {} for approval…", human(limit)));
}

/// The start of the message of a device sign-in that ran out of the caller's time.
const NOT_APPROVED: &str = "the sign-in was not approved within";

/// Out of the caller's time (not the code's): under `awscred login`, say how to get more.
pub(super) fn time_hint(ctx: &super::Ctx<'_>, e: Error) -> Error {
    if e.message().starts_with(NOT_APPROVED) {
        let hint = ctx.again_hint();
        e.with_hint(hint)
    } else {
        e
    }
}

/// Runs the device flow for `session` with the client `reg` and returns IAM Identity
/// Center's CreateToken answer. A refusal of the client itself carries the code
/// `InvalidClientException` ([`Error::code`]): the caller registers again.
pub fn sign_in(
    ctx: &super::Ctx<'_>,
    session: &SsoSession,
    reg: &Registration,
) -> Result<identity_center::Token> {
    let url = Service::SsoOidc.url(ctx.env, &session.region);
    crate::log::debug(&format!("StartDeviceAuthorization at {url}"));
    let auth = identity_center::start_device_authorization(
        ctx.net,
        &session.region,
        &reg.client_id,
        &reg.client_secret,
        &session.start_url,
    )
    .map_err(|f| {
        let code = f.code.clone();
        f.error.with_code(code)
    })?;
    // The code and the URL are the service's words, shown to a person: made inert.
    let user_code = crate::remote::text(&auth.user_code);
    let verify = crate::remote::text(&auth.verification_uri);
    let wait = Wait {
        interval: auth.interval,
        expires_in: auth.expires_in,
    };
    show(
        ctx,
        &format!("IAM Identity Center ({})", session.display_name()),
        &verify,
        &user_code,
        wait.limit(ctx.policy.timeout),
    );
    let hint = ctx.hint();
    let sleep = &mut std::thread::sleep;
    poll_until(wait, ctx.policy.timeout, &hint, &user_code, sleep, || {
        match identity_center::create_token(
            ctx.net,
            &session.region,
            &reg.client_id,
            &reg.client_secret,
            Grant::DeviceCode(&auth.device_code),
            "CreateToken",
        ) {
            Ok(out) => Ok(Poll::Done(out)),
            Err(f) => match f.code.as_deref() {
                Some("AuthorizationPendingException") => Ok(Poll::Pending),
                Some("SlowDownException") => Ok(Poll::SlowDown),
                Some("ExpiredTokenException") => Ok(Poll::Expired),
                Some("AccessDeniedException") => {
                    Err(Error::user("the sign-in was denied in the browser")
                        .with_kind(Kind::User)
                        .with_hint(ctx.hint()))
                }
                _ => Err(f.error),
            },
        }
    })
    .map_err(|e| time_hint(ctx, e))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        interval: i64,
        expires_in: i64,
        timeout: u64,
        answers: Vec<Result<Poll<u8>>>,
    ) -> (Result<u8>, Vec<u64>) {
        let mut slept = Vec::new();
        let mut answers = answers.into_iter();
        let out = poll_until(
            Wait {
                interval,
                expires_in,
            },
            Duration::from_secs(timeout),
            "run awscred login --profile p",
            "ABCD-EFGH",
            &mut |d| slept.push(d.as_secs()),
            || answers.next().unwrap_or(Ok(Poll::Pending)),
        );
        (out, slept)
    }

    #[test]
    fn pending_waits_an_interval_and_slow_down_adds_five_seconds() {
        let (out, slept) = run(
            1,
            600,
            600,
            vec![
                Ok(Poll::Pending),
                Ok(Poll::SlowDown),
                Ok(Poll::Pending),
                Ok(Poll::Done(7)),
            ],
        );
        assert_eq!(out.unwrap(), 7);
        assert_eq!(slept, [1, 1, 6, 6]);
        // No interval from the service: the default.
        let (_, slept) = run(0, 600, 600, vec![Ok(Poll::Done(1))]);
        assert_eq!(slept, [DEFAULT_INTERVAL.as_secs()]);
    }

    #[test]
    fn the_wait_ends_at_the_code_lifetime_or_the_policy_timeout() {
        let (out, slept) = run(2, 9, 600, Vec::new());
        let e = out.unwrap_err();
        assert_eq!(
            e.message(),
            "the device code ABCD-EFGH expired before it was approved"
        );
        assert_eq!(e.hint(), Some("run awscred login --profile p"));
        assert_eq!(slept, [2, 2, 2, 2], "never past the 9 s lifetime");

        let (out, slept) = run(1, 600, 3, Vec::new());
        assert_eq!(
            out.unwrap_err().message(),
            "the sign-in was not approved within 3 s"
        );
        assert_eq!(slept, [1, 1, 1]);
    }

    #[test]
    fn expiry_and_refusals_end_the_wait_at_once() {
        let (out, slept) = run(1, 600, 600, vec![Ok(Poll::Pending), Ok(Poll::Expired)]);
        assert!(out.unwrap_err().message().contains("expired"));
        assert_eq!(slept.len(), 2);
        let (out, slept) = run(
            1,
            600,
            600,
            vec![Err(Error::user("the sign-in was denied in the browser"))],
        );
        assert_eq!(
            out.unwrap_err().message(),
            "the sign-in was denied in the browser"
        );
        assert_eq!(slept.len(), 1);
    }
}
