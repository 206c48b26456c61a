//! The settings of a profile that are not about where credentials come from: store,
//! sign-in flow, refresh window, timeouts, region, `ca_bundle`; and the checks every value
//! from outside goes through (durations, regions, Cognito pool ids).

use super::AwsFiles;
use super::chain::{
    DEFAULT_LOGIN_TIMEOUT, DEFAULT_REFRESH_WINDOW, LoginFlow, Settings, StoreChoice,
};
use super::resolve::view;
use crate::env::{self, Environment};
use crate::error::{Error, Result};
use std::time::Duration;

pub(super) fn settings(files: &AwsFiles, profile: &str, env: &Environment) -> Result<Settings> {
    let p = view(files, profile)?;
    let store = match env.get(env::AWSCRED_CACHE) {
        Some(s) => StoreChoice::parse(s).ok_or_else(|| {
            Error::user(format!(
                "{} = `{s}` is not a store awscred knows",
                env::AWSCRED_CACHE
            ))
            .with_hint(format!(
                "set {} to one of: {}",
                env::AWSCRED_CACHE,
                StoreChoice::NAMES
            ))
        })?,
        None => match p.get("awscred_cache") {
            Some(v) => StoreChoice::parse(&v.text).ok_or_else(|| {
                Error::user(format!(
                    "{}: awscred_cache = `{}` is not a store awscred knows",
                    v.at, v.text
                ))
                .with_hint(format!(
                    "set awscred_cache to one of: {}",
                    StoreChoice::NAMES
                ))
            })?,
            None => StoreChoice::Auto,
        },
    };
    let login = match p
        .get("awscred_login")
        .or_else(|| p.get("awscred_oidc_flow"))
    {
        None => LoginFlow::Auto,
        Some(v) => match v.text.to_ascii_lowercase().as_str() {
            "auto" => LoginFlow::Auto,
            "device" | "device-code" => LoginFlow::Device,
            "browser" | "pkce" => LoginFlow::Browser,
            _ => {
                return Err(Error::user(format!(
                    "{}: awscred_login = `{}` is not a sign-in flow",
                    v.at, v.text
                ))
                .with_hint("set awscred_login to auto, device or browser"));
            }
        },
    };
    let refresh_window = duration_setting(
        p.get("awscred_refresh_window"),
        "awscred_refresh_window",
        DEFAULT_REFRESH_WINDOW,
        (Duration::ZERO, MAX_REFRESH_WINDOW),
        ("of at most 12h", "900, 15m or 1h"),
    )?;
    let login_timeout = duration_setting(
        p.get("awscred_login_timeout"),
        "awscred_login_timeout",
        DEFAULT_LOGIN_TIMEOUT,
        (Duration::from_secs(1), MAX_LOGIN_TIMEOUT),
        ("from 1s to 1h", "120 or 2m"),
    )?;
    let redirect_port = match p.get("awscred_redirect_port") {
        None => 0,
        Some(v) => v.text.parse::<u16>().map_err(|_| {
            Error::user(format!(
                "{}: awscred_redirect_port = `{}` is not a port number",
                v.at, v.text
            ))
            .with_hint("use a number from 1024 to 65535, or 0 for any free port")
        })?,
    };
    let region = if let Some(r) = env.get(env::AWS_REGION) {
        Some(check_region(r, env::AWS_REGION)?)
    } else if let Some(r) = env.get(env::AWS_DEFAULT_REGION) {
        Some(check_region(r, env::AWS_DEFAULT_REGION)?)
    } else if let Some(v) = p.get("region") {
        Some(check_region(&v.text, &format!("{}: region", v.at))?)
    } else {
        None
    };
    let ca_bundle = p
        .get("ca_bundle")
        .filter(|v| !v.text.trim().is_empty())
        .map(|v| {
            (
                env.expand_home(v.text.trim()),
                format!("{}: ca_bundle", v.at),
            )
        });
    Ok(Settings {
        store,
        login,
        refresh_window,
        region,
        login_timeout,
        redirect_port,
        ca_bundle,
    })
}

/// An optional duration key: `default` when unset, else a duration within `bounds`;
/// anything else is an error naming the file, line, key and value, saying the range
/// (`texts.0`) and examples of the fix (`texts.1`).
pub(super) fn duration_setting(
    value: Option<&super::parse::Value>,
    key: &str,
    default: Duration,
    bounds: (Duration, Duration),
    texts: (&str, &str),
) -> Result<Duration> {
    let Some(v) = value else {
        return Ok(default);
    };
    parse_duration(&v.text)
        .filter(|d| *d >= bounds.0 && *d <= bounds.1)
        .ok_or_else(|| {
            Error::user(format!(
                "{}: {key} = `{}` is not a duration {}",
                v.at, v.text, texts.0
            ))
            .with_hint(format!(
                "write it as seconds or with a unit, e.g. {}",
                texts.1
            ))
        })
}

/// Longest duration any setting accepts (a year); longer values, and values whose seconds
/// overflow, are not durations.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);
/// Longest `awscred_login_timeout`.
pub const MAX_LOGIN_TIMEOUT: Duration = Duration::from_secs(3600);
/// Longest `awscred_refresh_window` (role credentials last at most 12 hours).
pub const MAX_REFRESH_WINDOW: Duration = Duration::from_secs(12 * 3600);

/// A region name as AWS spells them (`us-east-1`, `us-gov-west-1`, `eusc-de-east-1`):
/// lower-case letters and digits in dash-separated words. Regions become part of host
/// names, so anything else (`us-east-1.attacker.example#`) is refused, naming where it
/// was set.
pub fn check_region(region: &str, set_in: &str) -> Result<String> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        return Ok(region.to_string());
    }
    Err(Error::user(format!(
        "{set_in} = `{}` is not an AWS region name",
        crate::remote::text(region)
    ))
    .with_hint("use a region name such as us-east-1 or eu-west-1"))
}

/// The region of a Cognito identity pool id (`us-east-1:0000…`), checked before it becomes
/// part of a host name: lowercase letters, digits and single hyphens, starting with a
/// letter and ending with a digit, as every AWS region is.
pub fn pool_region(pool: &str) -> std::result::Result<&str, String> {
    let Some((region, id)) = pool.split_once(':') else {
        return Err("an identity pool id has the form <region>:<id>".into());
    };
    let valid = !id.is_empty()
        && (2..=32).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region.ends_with(|c: char| c.is_ascii_digit())
        && !region.contains("--");
    if valid {
        Ok(region)
    } else {
        Err(format!(
            "{} does not start with an AWS region",
            crate::remote::text(pool)
        ))
    }
}

/// Parses `900`, `900s`, `15m`, `1h` (at most [`MAX_DURATION`]).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 's') => (&s[..i], 1),
        (i, 'm') => (&s[..i], 60),
        (i, 'h') => (&s[..i], 3600),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .map(Duration::from_secs)
        .filter(|d| *d <= MAX_DURATION)
}
