//! STS AssumeRoleWithWebIdentity from a token file (`web_identity_token_file`, or
//! `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`). The file is read at every use: its
//! writer (EKS, a CI runner) rotates it.

use super::Context;
use super::role::{default_session_name, from_sts, region};
use crate::config::{Chain, WebIdentity};
use crate::credentials::Credentials;
use crate::error::{Error, Kind, Result};
use crate::net::Service;

/// Credentials for the role, and its account.
pub fn credentials(
    ctx: &Context<'_>,
    chain: &Chain,
    w: &WebIdentity,
) -> Result<(Credentials, Option<String>)> {
    let token = fs_err::read_to_string(&w.token_file).map_err(|e| {
        Error::user(format!(
            "cannot read the web identity token of profile `{}`",
            chain.profile
        ))
        .caused_by(&e)
        .with_hint("check web_identity_token_file (or AWS_WEB_IDENTITY_TOKEN_FILE)")
    })?;
    let token = token.trim();
    if token.is_empty() {
        return Err(Error::user(format!(
            "the web identity token file {} is empty",
            w.token_file
        ))
        .with_hint("check web_identity_token_file (or AWS_WEB_IDENTITY_TOKEN_FILE)"));
    }
    assume_with_token(
        ctx,
        chain,
        &w.role_arn,
        &w.session_name
            .clone()
            .unwrap_or_else(|| default_session_name(ctx.env)),
        w.duration_seconds,
        token,
    )
}

/// AssumeRoleWithWebIdentity with a token in hand (from a file or an identity provider).
pub fn assume_with_token(
    ctx: &Context<'_>,
    chain: &Chain,
    role_arn: &str,
    session_name: &str,
    duration_seconds: Option<i32>,
    token: &str,
) -> Result<(Credentials, Option<String>)> {
    let region = region(chain);
    let url = Service::Sts.url(ctx.env, region);
    crate::log::debug(&format!("AssumeRoleWithWebIdentity {role_arn} at {url}"));
    let duration = duration_seconds.map(|d| d.to_string());
    let mut params = vec![
        ("RoleArn", role_arn),
        ("RoleSessionName", session_name),
        ("WebIdentityToken", token),
    ];
    if let Some(d) = &duration {
        params.push(("DurationSeconds", d.as_str()));
    }
    let out = crate::sts::call(ctx.net, region, None, "AssumeRoleWithWebIdentity", &params)
        .map_err(|f| match f.code.as_deref() {
            Some(
                "InvalidIdentityToken"
                | "ExpiredTokenException"
                | "AccessDenied"
                | "IDPRejectedClaim",
            ) => f
                .error
                .context(format!(
                    "STS did not accept the web identity token for {role_arn}"
                ))
                .with_kind(Kind::User)
                .with_hint("check the token's issuer and audience against the role's trust policy"),
            _ => f.error,
        })?;
    let account = role_arn.split(':').nth(4).map(str::to_string);
    Ok((
        from_sts(&out, &url, "AssumeRoleWithWebIdentity", ctx.clock.now())?,
        account,
    ))
}

impl super::Source for WebIdentity {
    fn kind(&self) -> &'static str {
        "web-identity"
    }
    fn describe(&self) -> String {
        format!("web identity token {} → {}", self.token_file, self.role_arn)
    }
    fn cache_id(&self) -> String {
        format!(
            "web|{}|{}|{}|{}",
            self.role_arn,
            self.token_file,
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
}
