//! STS AssumeRole on top of any source.

use super::Context;
use crate::config::{Chain, RoleStep};
use crate::credentials::Credentials;
use crate::error::{Error, Kind, Result};
use crate::net::{Service, failure};
use crate::secret::Secret;
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

/// Assumes `step` with `creds`; returns the new credentials and the role's account.
pub fn assume(
    ctx: &Context<'_>,
    chain: &Chain,
    step: &RoleStep,
    creds: &Credentials,
) -> Result<(Credentials, Option<String>)> {
    if let Some(serial) = &step.mfa_serial {
        return Err(Error::user(format!(
            "profile `{}` needs an MFA code for {serial}, which this version of awscred cannot ask for yet",
            step.profile
        ))
        .with_hint("remove mfa_serial from the profile or use an IAM Identity Center profile"));
    }
    let region = chain
        .settings
        .region
        .as_deref()
        .unwrap_or(DEFAULT_STS_REGION);
    let url = Service::Sts.url(ctx.env, region);
    let session_name = step
        .session_name
        .clone()
        .unwrap_or_else(|| default_session_name(ctx.env));
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
                .send(),
        )?
        .map_err(|e| {
            let f = failure(e, "AssumeRole", &url);
            if f.code.as_deref() == Some("AccessDenied") {
                f.error
                    .context(format!(
                        "you may not assume {} (profile {})",
                        step.role_arn, step.profile
                    ))
                    .with_kind(Kind::User)
                    .with_hint("check role_arn, external_id and the role's trust policy")
            } else {
                f.error
            }
        })?;
    let c = out
        .credentials
        .ok_or_else(|| Error::unexpected(format!("AssumeRole at {url} returned no credentials")))?;
    let expiration = DateTime::<Utc>::from_timestamp(c.expiration.secs(), 0).ok_or_else(|| {
        Error::unexpected(format!("AssumeRole at {url} returned a bad expiration"))
    })?;
    let account = step.role_arn.split(':').nth(4).map(str::to_string);
    Ok((
        Credentials {
            access_key_id: c.access_key_id,
            secret_access_key: Secret::new(c.secret_access_key),
            session_token: Some(Secret::new(c.session_token)),
            expiration: Some(expiration),
        },
        account,
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
