//! The AWS CLI's IAM Identity Center token cache (`~/.aws/sso/cache/<sha1>.json`), shared
//! so that a user signed in with one tool is not asked to sign in again with the other.
//!
//! Reading: a valid access token the AWS CLI cached for the same session (start URL and
//! region match) is used until it expires. Only its access token: awscred never refreshes
//! with the CLI's refresh token or client, because refresh tokens rotate and that would
//! break the CLI's own copy. A token IAM Identity Center rejected, or one the user signed
//! out of with `awscred logout`, is remembered (by digest) and not picked up again.
//!
//! Writing, with `awscred_share_sso_cache = true` in the `[sso-session]`: each access
//! token awscred obtains is written in the CLI's format — never the refresh token or the
//! client — 0600, through [`crate::safe_write::write_private`]. The AWS CLI and botocore
//! use it until it expires; the AWS SDK for JavaScript stops 5 minutes before.

use super::Context;
use super::sso::SsoToken;
use crate::cache;
use crate::config::SsoSession;
use crate::error::Result;
use crate::secret::Secret;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The file the AWS CLI keeps a session's token in: the SHA-1 of the session's name, or
/// of the start URL for a profile without `sso_session`.
pub fn path(ctx: &Context<'_>, session: &SsoSession) -> Option<PathBuf> {
    let home = ctx.env.home()?;
    Some(
        home.join(".aws")
            .join("sso")
            .join("cache")
            .join(file_name(session)),
    )
}

fn file_name(session: &SsoSession) -> String {
    let input = session.name.as_deref().unwrap_or(&session.start_url);
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, input.as_bytes());
    format!("{}.json", crate::sigv4::hex(digest.as_ref()))
}

/// The fields awscred reads (the file has more, which stay the AWS CLI's).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CliToken {
    start_url: Option<String>,
    region: Option<String>,
    access_token: Option<Secret<String>>,
    expires_at: Option<String>,
}

/// What awscred writes: the access token and what identifies it, nothing that refreshes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SharedToken<'a> {
    start_url: &'a str,
    region: &'a str,
    access_token: &'a str,
    expires_at: String,
}

/// Tokens awscred no longer takes from the AWS CLI's cache: rejected by IAM Identity
/// Center, or signed out of.
#[derive(Serialize, Deserialize, Default)]
struct Ignored {
    digests: Vec<String>,
}

fn ignored_key(session: &SsoSession) -> String {
    format!(
        "awscred:sso-cli-ignored:{}|{}",
        session.name.as_deref().unwrap_or(""),
        session.start_url
    )
}

fn digest(token: &str) -> String {
    use sha2::Digest;
    crate::sigv4::hex(&sha2::Sha256::digest(token.as_bytes()))
}

/// The AWS CLI writes `2026-11-25T18:00:00Z`; older versions `2026-11-25T18:00:00UTC`.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let text = text
        .strip_suffix("UTC")
        .map(|t| format!("{t}Z"))
        .unwrap_or_else(|| text.to_string());
    DateTime::parse_from_rfc3339(&text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// A token from the AWS CLI's cache for `session`, when one is there, matches, has more
/// than the refresh window left, and was not rejected or signed out of. Anything
/// unreadable counts as none.
pub fn borrow(ctx: &Context<'_>, session: &SsoSession) -> Result<Option<SsoToken>> {
    let Some(path) = path(ctx, session) else {
        return Ok(None);
    };
    let text = match crate::safe_write::read_private(&path) {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(None),
        Err(e) => {
            crate::log::debug(&format!("the AWS CLI's SSO cache is not usable: {e}"));
            return Ok(None);
        }
    };
    let Ok(t) = serde_json::from_slice::<CliToken>(&text) else {
        crate::log::debug(&format!(
            "{} is not an AWS CLI token; not used",
            path.display()
        ));
        return Ok(None);
    };
    let (Some(access), Some(expires_at)) =
        (t.access_token, t.expires_at.as_deref().and_then(parse_time))
    else {
        return Ok(None);
    };
    let matches = t
        .start_url
        .as_deref()
        .is_some_and(|u| same_url(u, &session.start_url))
        && t.region.as_deref() == Some(session.region.as_str());
    if !matches {
        crate::log::debug(&format!(
            "{} belongs to another start URL or region; not used",
            path.display()
        ));
        return Ok(None);
    }
    let now = ctx.clock.now();
    if !cache::fresh(Some(expires_at), now, cache::TOKEN_REFRESH_WINDOW) {
        return Ok(None);
    }
    let ignored = ctx.cache.get::<Ignored>(&ignored_key(session))?;
    if ignored.is_some_and(|i| i.digests.contains(&digest(access.expose()))) {
        crate::log::debug("the AWS CLI's token was rejected or signed out of before; not used");
        return Ok(None);
    }
    Ok(Some(SsoToken {
        access_token: access,
        refresh_token: None,
        expires_at,
        obtained_at: now,
        client_key: String::new(),
        borrowed: true,
    }))
}

/// Remembers that `token` (borrowed from the AWS CLI) is not to be used again.
pub fn ignore(ctx: &Context<'_>, session: &SsoSession, token: &SsoToken) -> Result<()> {
    let key = ignored_key(session);
    let mut ignored = ctx.cache.get::<Ignored>(&key)?.unwrap_or_default();
    let d = digest(token.access_token.expose());
    if !ignored.digests.contains(&d) {
        ignored.digests.push(d);
        // A few are enough: each stands for a token that expires within hours.
        let excess = ignored.digests.len().saturating_sub(8);
        ignored.digests.drain(..excess);
        ctx.cache.put(&key, &ignored)?;
    }
    Ok(())
}

/// Writes `token` to the AWS CLI's cache when the session shares it. A failure costs one
/// warning: awscred's own sign-in works all the same.
pub fn share(ctx: &Context<'_>, session: &SsoSession, token: &SsoToken) {
    if !session.share_cli_cache || token.borrowed {
        return;
    }
    let Some(path) = path(ctx, session) else {
        crate::log::warn("no home directory: the AWS CLI's SSO cache was not updated");
        return;
    };
    let body = SharedToken {
        start_url: &session.start_url,
        region: &session.region,
        access_token: token.access_token.expose(),
        expires_at: token.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let written = serde_json::to_vec(&body)
        .map_err(|e| crate::error::Error::unexpected(format!("cannot encode the token: {e}")))
        .and_then(|bytes| crate::safe_write::write_private(&path, &bytes));
    match written {
        Ok(()) => crate::log::debug(&format!(
            "shared the access token with the AWS CLI in {}",
            path.display()
        )),
        Err(e) => crate::log::warn(&format!(
            "{e}; the AWS CLI's SSO cache was not updated (awscred_share_sso_cache)"
        )),
    }
}

/// At sign-out: removes the AWS CLI's copy when it holds `token` (written by [`share`]),
/// so no tool keeps using a revoked token.
pub fn unshare(ctx: &Context<'_>, session: &SsoSession, token: &SsoToken) -> Result<()> {
    let Some(path) = path(ctx, session) else {
        return Ok(());
    };
    let Ok(Some(text)) = crate::safe_write::read_private(&path) else {
        return Ok(());
    };
    let theirs = serde_json::from_slice::<CliToken>(&text)
        .ok()
        .and_then(|t| t.access_token);
    if theirs.is_some_and(|t| t.expose() == token.access_token.expose()) {
        crate::safe_write::remove_file(&path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(name: Option<&str>) -> SsoSession {
        SsoSession {
            name: name.map(str::to_string),
            start_url: "https://corp.awsapps.com/start".into(),
            region: "us-east-1".into(),
            scopes: vec![],
            share_cli_cache: false,
        }
    }

    #[test]
    fn file_name_is_the_sha1_of_the_session_name_or_start_url() {
        // As the AWS CLI names them (hashlib.sha1(...).hexdigest()).
        assert_eq!(
            file_name(&session(Some("corp"))),
            "ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
        );
        assert_eq!(
            file_name(&session(None)),
            "a51746d4aa793ae07b25e90c3a5db96fc7832bd7.json"
        );
    }

    #[test]
    fn both_time_formats_of_the_aws_cli_parse() {
        let want = DateTime::parse_from_rfc3339("2026-11-25T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_time("2026-11-25T18:00:00Z"), Some(want));
        assert_eq!(parse_time("2026-11-25T18:00:00UTC"), Some(want));
        assert_eq!(parse_time("2026-11-25T18:00:00+00:00"), Some(want));
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn start_urls_match_with_or_without_a_trailing_slash() {
        assert!(same_url("https://a/start/", "https://a/start"));
        assert!(!same_url("https://a/start", "https://b/start"));
    }
}
