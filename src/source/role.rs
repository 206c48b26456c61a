//! STS AssumeRole on top of any source, and GetSessionToken for long-term keys.

use super::{Context, mfa};
use crate::config::{Chain, RoleStep};
use crate::credentials::Credentials;
use crate::error::{Error, Kind, Result};
use crate::net::{Service, failure};
use crate::secret::Secret;
use aws_sdk_sts::types::{Credentials as StsCredentials, Tag};
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

/// Converts STS credentials.
pub fn from_sts(c: StsCredentials, url: &str, op: &str, now: DateTime<Utc>) -> Result<Credentials> {
    let expiration = DateTime::<Utc>::from_timestamp(c.expiration.secs(), 0)
        .ok_or_else(|| Error::unexpected(format!("{op} at {url} returned a bad expiration")))?;
    check_expiration(expiration, now, url, op)?;
    if c.access_key_id.is_empty() || c.secret_access_key.is_empty() || c.session_token.is_empty() {
        return Err(Error::unexpected(format!(
            "{op} at {url} returned empty credentials"
        )));
    }
    Ok(Credentials {
        access_key_id: c.access_key_id,
        secret_access_key: Secret::new(c.secret_access_key),
        session_token: Some(Secret::new(c.session_token)),
        expiration: Some(expiration),
    })
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
    let mut tags = Vec::new();
    for (k, v) in &step.session_tags {
        tags.push(Tag::builder().key(k).value(v).build().map_err(|e| {
            Error::user(format!(
                "session tag {k} of profile {} is invalid",
                step.profile
            ))
            .caused_by(&e)
        })?);
    }
    crate::log::debug(&format!("AssumeRole {} at {url}", step.role_arn));
    let client = ctx.net.sts(region, Some(creds));
    let out = ctx
        .net
        .block_on(
            client
                .assume_role()
                .role_arn(&step.role_arn)
                .role_session_name(&session_name)
                .set_external_id(step.external_id.clone())
                .set_duration_seconds(step.duration_seconds)
                .set_serial_number(step.mfa_serial.clone())
                .set_token_code(code.map(|c| c.expose().clone()))
                .set_tags((!tags.is_empty()).then_some(tags))
                .set_transitive_tag_keys(
                    (!step.transitive_tag_keys.is_empty())
                        .then(|| step.transitive_tag_keys.clone()),
                )
                .set_source_identity(step.source_identity.clone())
                .send(),
        )?
        .map_err(|e| {
            let f = failure(e, "AssumeRole", &url);
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
                        "the credentials below {} were not accepted",
                        step.role_arn
                    ))
                    .with_hint(ctx.login_hint()),
                _ => f.error,
            }
        })?;
    let c = out
        .credentials
        .ok_or_else(|| Error::unexpected(format!("AssumeRole at {url} returned no credentials")))?;
    let account = step.role_arn.split(':').nth(4).map(str::to_string);
    Ok((from_sts(c, &url, "AssumeRole", ctx.clock.now())?, account))
}

/// Exchanges long-term keys for temporary ones (STS GetSessionToken).
pub fn session_token(
    ctx: &Context<'_>,
    chain: &Chain,
    creds: &Credentials,
) -> Result<(Credentials, ())> {
    let region = region(chain);
    let url = Service::Sts.url(ctx.env, region);
    crate::log::debug(&format!("GetSessionToken at {url}"));
    let client = ctx.net.sts(region, Some(creds));
    let out = ctx
        .net
        .block_on(client.get_session_token().send())?
        .map_err(|e| failure(e, "GetSessionToken", &url).error)?;
    let c = out.credentials.ok_or_else(|| {
        Error::unexpected(format!("GetSessionToken at {url} returned no credentials"))
    })?;
    Ok((from_sts(c, &url, "GetSessionToken", ctx.clock.now())?, ()))
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
