//! STS AssumeRole on top of any source, and GetSessionToken for long-term keys.

use super::{Context, mfa};
use crate::config::{Chain, RoleStep};
use crate::credentials::Credentials;
use crate::error::{Error, Kind, Result};
use crate::net::Service;
use chrono::{DateTime, Utc};

/// Region STS is called in when the profile and environment name none.
pub const DEFAULT_STS_REGION: &str = "us-east-1";

/// The session name used when the profile sets none: `awscred-<user>`, cut to STS's rules.
pub fn default_session_name(env: &crate::env::Environment) -> String {
    let user = env
        .get("USER")
        .or_else(|| env.get("USERNAME"))
        .unwrap_or("user");
    let cleaned: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(*c))
        .collect();
    let mut name = format!("awscred-{cleaned}");
    name.truncate(64);
    name
}

/// The STS region of a chain.
pub fn region(chain: &Chain) -> &str {
    chain
        .settings
        .region
        .as_deref()
        .unwrap_or(DEFAULT_STS_REGION)
}

/// Reads and checks the credentials of an STS answer.
pub fn from_sts(result: &str, url: &str, op: &str, now: DateTime<Utc>) -> Result<Credentials> {
    let c = crate::sts::credentials(result, op, url)?;
    if let Some(expiration) = c.expiration {
        check_expiration(expiration, now, url, op)?;
    }
    Ok(c)
}

/// Refuses credentials that are already expired when they arrive (a broken endpoint, or a
/// clock far off): handing them out would only fail later and be cached for an hour.
pub fn check_expiration(
    expiration: DateTime<Utc>,
    now: DateTime<Utc>,
    url: &str,
    op: &str,
) -> Result<()> {
    if expiration <= now {
        return Err(Error::unexpected(format!(
            "{op} at {url} returned credentials that expired at {}, before now ({})",
            crate::clock::format_expiration(expiration),
            crate::clock::format_expiration(now)
        ))
        .with_hint("check this machine's clock (it must be within minutes of the real time)"));
    }
    Ok(())
}

/// Assumes `step` with `creds`; returns the new credentials and the role's account.
pub fn assume(
    ctx: &Context<'_>,
    chain: &Chain,
    step: &RoleStep,
    creds: &Credentials,
) -> Result<(Credentials, Option<String>)> {
    let region = region(chain);
    let url = Service::Sts.url(ctx.env, region);
    let session_name = step
        .session_name
        .clone()
        .unwrap_or_else(|| default_session_name(ctx.env));
    let code = match &step.mfa_serial {
        Some(serial) => Some(mfa::code(ctx, step, serial)?),
        None => None,
    };
    crate::log::debug(&format!("AssumeRole {} at {url}", step.role_arn));
    let duration = step.duration_seconds.map(|d| d.to_string());
    let mut params: Vec<(String, String)> = vec![
        ("RoleArn".into(), step.role_arn.clone()),
        ("RoleSessionName".into(), session_name),
    ];
    let optional = [
        ("ExternalId", step.external_id.clone()),
        ("DurationSeconds", duration),
        ("SerialNumber", step.mfa_serial.clone()),
        ("TokenCode", code.map(|c| c.expose().clone())),
        ("SourceIdentity", step.source_identity.clone()),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            params.push((k.into(), v));
        }
    }
    for (n, (k, v)) in step.session_tags.iter().enumerate() {
        params.push((format!("Tags.member.{}.Key", n + 1), k.clone()));
        params.push((format!("Tags.member.{}.Value", n + 1), v.clone()));
    }
    for (n, k) in step.transitive_tag_keys.iter().enumerate() {
        params.push((format!("TransitiveTagKeys.member.{}", n + 1), k.clone()));
    }
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let out = crate::sts::call(
        ctx.net,
        region,
        Some((creds, ctx.clock.now())),
        "AssumeRole",
        &pairs,
    )
    .map_err(|f| {
        let code = f.code.clone();
        assume_error(f, chain, step, ctx).with_code(code)
    })?;
    let account = step.role_arn.split(':').nth(4).map(str::to_string);
    Ok((
        from_sts(&out, &url, "AssumeRole", ctx.clock.now())?,
        account,
    ))
}
/// What AssumeRole's refusal means for the person reading it.
fn assume_error(
    f: crate::net::Failure,
    chain: &Chain,
    step: &RoleStep,
    ctx: &Context<'_>,
) -> Error {
    match f.code.as_deref() {
        Some("AccessDenied") => f
            .error
            .context(format!(
                "you may not assume {} (profile {})",
                step.role_arn, step.profile
            ))
            .with_kind(Kind::User)
            .with_hint(if step.mfa_serial.is_some() {
                "check the MFA code, role_arn, external_id and the role's trust policy"
            } else {
                "check role_arn, external_id and the role's trust policy"
            }),
        Some("ValidationError") => f
            .error
            .context(format!(
                "STS refused the parameters of profile {}",
                step.profile
            ))
            .with_kind(Kind::User)
            .with_hint("check role_arn, role_session_name and duration_seconds"),
        Some("ExpiredToken" | "InvalidClientTokenId") => f
            .error
            .context(format!(
                "AWS did not accept the credentials below {}",
                step.role_arn
            ))
            .with_kind(Kind::User)
            .with_hint(super::of(&chain.base).rejected_fix(ctx.profile)),
        _ => f.error,
    }
}

/// Exchanges long-term keys for temporary ones (STS GetSessionToken).
pub fn session_token(
    ctx: &Context<'_>,
    chain: &Chain,
    creds: &Credentials,
    duration: Option<i32>,
) -> Result<(Credentials, ())> {
    let region = region(chain);
    let url = Service::Sts.url(ctx.env, region);
    crate::log::debug(&format!("GetSessionToken at {url}"));
    let duration = duration.map(|d| d.to_string());
    let params: Vec<(&str, &str)> = duration
        .as_deref()
        .map(|d| ("DurationSeconds", d))
        .into_iter()
        .collect();
    let out = crate::sts::call(
        ctx.net,
        region,
        Some((creds, ctx.clock.now())),
        "GetSessionToken",
        &params,
    )
    .map_err(|f| {
        let code = f.code.clone();
        let e = f.error.with_code(code);
        if e.is_rejected_credentials() {
            e.context(format!(
                "AWS did not accept the long-term keys of profile {}",
                chain.profile
            ))
            .with_kind(Kind::User)
            .with_hint(super::of(&chain.base).rejected_fix(ctx.profile))
        } else {
            e
        }
    })?;
    Ok((
        from_sts(&out, &url, "GetSessionToken", ctx.clock.now())?,
        (),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_name_is_sanitized_and_bounded() {
        let e = crate::env::Environment::from_pairs([("USER", "jo hn/x")]);
        assert_eq!(default_session_name(&e), "awscred-johnx");
        let long = "a".repeat(100);
        let e = crate::env::Environment::from_pairs([("USER", long.as_str())]);
        assert_eq!(default_session_name(&e).len(), 64);
    }
}
