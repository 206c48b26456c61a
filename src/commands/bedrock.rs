//! `awscred bedrock-token`: a short-term Amazon Bedrock API key for Claude Desktop's
//! `inferenceCredentialHelper`, `awscred exec --bedrock-token` and anything that reads
//! `AWS_BEARER_TOKEN_BEDROCK`. Minted locally from the profile's credentials (cached, or
//! refreshed through the profile's source): no request when they are cached.

use crate::bedrock_token::{self, DESKTOP_TTL, MARGIN, MAX_LIFE, Minted};
use crate::cli::{BedrockTokenArgs, TokenFormat};
use crate::clock::Clock;
use crate::env::{self, Environment};
use crate::error::{Error, Kind, Result};
use crate::services::Services;
use crate::source::{self, LoginPolicy};
use crate::ui;
use std::process::ExitCode;
use std::time::Duration;

/// What a caller may choose about a key.
#[derive(Debug, Default)]
pub struct KeyOptions {
    /// The region (`--region`).
    pub region: Option<String>,
    /// Longest life (`--duration`).
    pub duration: Option<String>,
    /// How long the consumer keeps the key (`--ttl`).
    pub ttl: Option<String>,
    /// DurationSeconds of the chain's last AssumeRole (`exec --duration`).
    pub role_duration: Option<String>,
    /// Ignore cached credentials this once.
    pub refresh: bool,
}

/// Whether this run may sign in: Claude Desktop says why it runs the helper in
/// `CLAUDE_HELPER_CONTEXT`, and only an `interactive` run (or a run outside Claude Desktop)
/// may open a browser or show a device code. `Err` carries the context's value.
pub fn may_sign_in(env: &Environment) -> std::result::Result<(), String> {
    match env.get(env::CLAUDE_HELPER_CONTEXT).map(str::trim) {
        None | Some("") | Some("interactive") => Ok(()),
        Some(other) => Err(crate::remote::text(other)),
    }
}

fn duration_option(text: &str, flag: &str, min: Duration, max: Duration) -> Result<Duration> {
    crate::config::resolve::parse_duration(text)
        .filter(|d| (min..=max).contains(d))
        .ok_or_else(|| {
            Error::user(format!(
                "{flag} `{}` is not a duration from {} to {}",
                crate::remote::text(text),
                human(min),
                human(max)
            ))
            .with_hint("write it as seconds or with a unit, e.g. 3600 or 1h")
        })
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) && s > 0 {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// The credentials' remaining life a key needs: its consumer's cache time and 5 minutes,
/// never more than the life asked for.
pub fn needed_life(asked: Duration, ttl: Duration) -> Duration {
    ttl.saturating_add(MARGIN).min(asked)
}

/// Mints a key for `profile`; returns it with the region it works in.
pub fn mint(services: &Services, profile: &str, opts: &KeyOptions) -> Result<(Minted, String)> {
    let asked = match &opts.duration {
        Some(d) => duration_option(d, "--duration", Duration::from_secs(900), MAX_LIFE)?,
        None => MAX_LIFE,
    };
    let ttl = match &opts.ttl {
        Some(t) => duration_option(t, "--ttl", Duration::from_secs(0), MAX_LIFE)?,
        None => DESKTOP_TTL,
    };
    let mut req = services.request(profile)?;
    req.refresh = opts.refresh;
    let session_duration = match &opts.role_duration {
        Some(d) => super::shell::set_duration(&mut req.chain, d)?,
        None => None,
    };
    let region = match &opts.region {
        Some(r) => crate::config::resolve::check_region(r, "--region")?,
        None => req.chain.settings.region.clone().ok_or_else(|| {
            Error::user(format!(
                "no region for the Bedrock API key: profile `{profile}` has none and AWS_REGION is unset"
            ))
            .with_hint(format!(
                "run awscred bedrock-token --profile {profile} --region us-east-1"
            ))
        })?,
    };
    let needed = needed_life(asked, ttl);
    req.chain.settings.refresh_window = req.chain.settings.refresh_window.max(needed);
    let context = may_sign_in(&services.env);
    let login = match &context {
        Ok(()) => LoginPolicy::for_credentials(&req.chain.settings),
        // Fail fast: no sign-in, no prompt, and only a short wait for a peer's sign-in.
        Err(_) => LoginPolicy {
            timeout: Duration::from_secs(5),
            ..LoginPolicy::silent()
        },
    };
    let ctx = req.context(login);
    let fetched = match session_duration {
        Some(secs) => source::session_credentials_lasting(&ctx, &req.chain, Some(secs)),
        None => source::credentials(&ctx, &req.chain),
    };
    let creds = match fetched {
        Ok(c) => c,
        Err(e) => {
            return Err(match context {
                Err(why) if e.kind() == Kind::LoginRequired => e.caused_by_text(format!(
                    "Claude Desktop ran this helper as `{why}` (CLAUDE_HELPER_CONTEXT), where only an interactive run may sign in"
                )),
                _ => e,
            });
        }
    };
    // Whole seconds, as X-Amz-Date says: the key ends exactly at the reported expiration.
    let now = services.clock.now();
    let now = chrono::Timelike::with_nanosecond(&now, 0).unwrap_or(now);
    let secs = bedrock_token::life(&creds.credentials, asked, now).ok_or_else(|| {
        Error::unexpected(format!(
            "the credentials of profile {profile} have expired; no Bedrock API key can be minted from them"
        ))
        .with_hint(format!("run awscred clear --profile {profile}"))
    })?;
    if Duration::from_secs(secs) < needed {
        crate::log::warn(&format!(
            "the Bedrock API key lasts {} only, as the credentials of profile {profile} do; a program that keeps it for {} (Claude Desktop's inferenceCredentialHelperTtlSec) uses it after that: lower that setting, or lengthen the role's session",
            human(Duration::from_secs(secs)),
            human(ttl)
        ));
    }
    Ok((
        bedrock_token::mint(&creds.credentials, &region, secs, now),
        region,
    ))
}

/// `awscred bedrock-token`.
pub fn run(services: &Services, profile: &str, args: &BedrockTokenArgs) -> Result<ExitCode> {
    let opts = KeyOptions {
        region: args.region.clone(),
        duration: args.duration.clone(),
        ttl: args.ttl.clone(),
        role_duration: None,
        refresh: args.refresh,
    };
    let (minted, _) = mint(services, profile, &opts)?;
    let text = render(&minted, args.format);
    ui::data(text.expose())
        .map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    Ok(ExitCode::SUCCESS)
}

/// The exact bytes printed.
fn render(minted: &Minted, format: TokenFormat) -> crate::secret::Secret<String> {
    crate::secret::Secret::new(match format {
        TokenFormat::Token => format!("{}\n", minted.token.expose()),
        // The key is base64 and the time digits: nothing to escape.
        TokenFormat::Json => format!(
            "{{\"token\":{},\"expiration\":\"{}\"}}\n",
            serde_json::Value::String(minted.token.expose().clone()),
            crate::clock::format_expiration(minted.expiration)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn only_interactive_or_no_context_may_sign_in() {
        let env = |v: Option<&str>| match v {
            Some(v) => Environment::from_pairs([("CLAUDE_HELPER_CONTEXT", v)]),
            None => Environment::from_pairs([]),
        };
        assert!(may_sign_in(&env(None)).is_ok());
        assert!(may_sign_in(&env(Some("interactive"))).is_ok());
        for other in [
            "background",
            "mid-session-refresh",
            "scheduled-task",
            "setup-test",
            "Interactive",
        ] {
            assert!(may_sign_in(&env(Some(other))).is_err(), "{other}");
        }
    }

    #[test]
    fn the_credentials_must_outlive_the_consumers_cache_by_five_minutes() {
        assert_eq!(
            needed_life(MAX_LIFE, DESKTOP_TTL),
            Duration::from_secs(65 * 60)
        );
        assert_eq!(
            needed_life(Duration::from_secs(1800), DESKTOP_TTL),
            Duration::from_secs(1800),
            "never more than the life asked for"
        );
        assert_eq!(
            needed_life(MAX_LIFE, Duration::from_secs(300)),
            Duration::from_secs(600)
        );
    }

    #[test]
    fn formats_are_exact() {
        let m = Minted {
            token: crate::secret::Secret::new("bedrock-api-key-abc=".into()),
            expiration: chrono::Utc
                .with_ymd_and_hms(2026, 11, 25, 18, 4, 5)
                .single()
                .unwrap(),
        };
        assert_eq!(
            render(&m, TokenFormat::Token).expose(),
            "bedrock-api-key-abc=\n"
        );
        assert_eq!(
            render(&m, TokenFormat::Json).expose(),
            "{\"token\":\"bedrock-api-key-abc=\",\"expiration\":\"2026-11-25T18:04:05Z\"}\n"
        );
    }
}
