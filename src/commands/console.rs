//! `awscred console`: the AWS console, signed in with a profile's credentials, through the
//! federation endpoint of AWS Sign-In.
//!
//! The final credentials of the profile's chain go to `getSigninToken` (with
//! `SessionDuration` only for role sessions, 900 s to 12 h); long-term keys of an IAM user,
//! which the console does not take, are exchanged first with STS GetFederationToken (a
//! federated user named after the profile, with a session policy allowing everything, so
//! the user's own policies decide). The sign-in URL (`Action=login&…&SigninToken=…`) signs
//! in whoever opens it for 15 minutes: it is printed only with `--print`, and otherwise
//! handed to the browser through a one-use link on 127.0.0.1
//! ([`crate::login::loopback::open_once`]), so it never sits in a process's argv. Hosts
//! follow the region's partition (aws, aws-cn, aws-us-gov); `AWS_ENDPOINT_URL_SIGNIN`
//! overrides the federation endpoint.

use crate::cli::ConsoleArgs;
use crate::config::Chain;
use crate::credentials::Credentials;
use crate::env::{self, Environment};
use crate::error::{Error, Kind, Result};
use crate::net::{Errors, Request};
use crate::services::Services;
use crate::source::{self, LoginPolicy};
use crate::ui::{self, Sink};
use std::process::ExitCode;
use std::time::Duration;

/// Shortest and longest console session of role credentials (`SessionDuration`).
const ROLE_SESSION: (u64, u64) = (900, 43_200);
/// Shortest and longest GetFederationToken lifetime for an IAM user.
const FEDERATION_TOKEN: (u64, u64) = (900, 129_600);
/// GetFederationToken lifetime when `--duration` is not given.
const DEFAULT_FEDERATION_SECONDS: u32 = 3600;
/// How long the browser may take to open the one-use link.
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);

/// The sign-in and console hosts of a region's partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hosts {
    /// The AWS Sign-In host (federation endpoint).
    pub signin: &'static str,
    /// The console host.
    pub console: &'static str,
}

/// The hosts for `region` (the commercial partition when there is no region).
pub fn hosts(region: Option<&str>) -> Hosts {
    match region {
        Some(r) if r.starts_with("cn-") => Hosts {
            signin: "signin.amazonaws.cn",
            console: "console.amazonaws.cn",
        },
        Some(r) if r.starts_with("us-gov-") => Hosts {
            signin: "signin.amazonaws-us-gov.com",
            console: "console.amazonaws-us-gov.com",
        },
        _ => Hosts {
            signin: "signin.aws.amazon.com",
            console: "console.aws.amazon.com",
        },
    }
}

/// Where the console opens: an https URL as given, or a service name (`s3`, `bedrock`) as
/// that service's page in the profile's region; the console's home by default.
pub fn destination(asked: Option<&str>, hosts: Hosts, region: Option<&str>) -> Result<String> {
    let query = region
        .map(|r| format!("?region={}", crate::net::encode(r)))
        .unwrap_or_default();
    let Some(asked) = asked.map(str::trim) else {
        return Ok(format!("https://{}/console/home{query}", hosts.console));
    };
    if asked.contains("://") {
        if !asked.to_ascii_lowercase().starts_with("https://")
            || asked.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::user(format!(
                "--destination {} is not an https URL",
                crate::remote::url(asked)
            ))
            .with_hint(format!(
                "give a console URL such as https://{}/s3/home, or a service name such as s3",
                hosts.console
            )));
        }
        return Ok(asked.to_string());
    }
    let service_ok = !asked.is_empty()
        && asked.len() <= 64
        && asked
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !service_ok {
        return Err(Error::user(format!(
            "--destination `{}` is neither an https URL nor a service name",
            crate::remote::text(asked)
        ))
        .with_hint(
            "give a service name in lower case (s3, ec2, bedrock) or a full https console URL",
        ));
    }
    Ok(format!("https://{}/{asked}/home{query}", hosts.console))
}

/// The kinds of source ([`source::Source::kind`]) whose credentials are a role session
/// (IAM Identity Center, web identity, an instance or container role): with AssumeRole
/// steps, the only ones that take `SessionDuration`.
const ROLE_SOURCES: &[&str] = &[
    "sso",
    "web-identity",
    "oidc",
    "instance-metadata",
    "container",
];

/// The kinds of source that may give an IAM user's long-term keys.
const KEY_SOURCES: &[&str] = &["static", "environment"];

/// `--duration` read and checked against `range` (seconds).
fn duration_in(text: &str, range: (u64, u64), what: &str) -> Result<u32> {
    let secs = crate::config::settings::parse_duration(text)
        .map(|d| d.as_secs())
        .filter(|s| (range.0..=range.1).contains(s))
        .and_then(|s| u32::try_from(s).ok());
    secs.ok_or_else(|| {
        Error::user(format!(
            "--duration {} is not a duration from {} s to {} h ({what})",
            crate::remote::text(text),
            range.0,
            range.1 / 3600
        ))
        .with_hint("give seconds (3600) or hours and minutes (1h, 90m)")
    })
}

/// What the console session is made of: the credentials and the `SessionDuration`.
struct Session {
    credentials: Credentials,
    duration: Option<u32>,
}

/// The profile's credentials as a console session.
fn session(services: &Services, profile: &str, args: &ConsoleArgs) -> Result<(Session, Chain)> {
    let mut req = services.request(profile)?;
    req.refresh = args.refresh;
    let chain = req.chain.clone();
    // Checked before any sign-in or request.
    let kind = source::of(&chain.base).kind();
    let role = !chain.roles.is_empty() || ROLE_SOURCES.contains(&kind);
    let keys = chain.roles.is_empty() && KEY_SOURCES.contains(&kind);
    let role_duration = match (&args.duration, role) {
        (Some(d), true) => Some(duration_in(d, ROLE_SESSION, "a role's console session")?),
        _ => None,
    };
    let federation_duration = match (&args.duration, keys) {
        (Some(d), true) => duration_in(d, FEDERATION_TOKEN, "an IAM user's federation token")?,
        _ => DEFAULT_FEDERATION_SECONDS,
    };
    let refuse_duration = || {
        Error::user(format!(
            "--duration sets the console session of role credentials, and profile {profile} gives other temporary credentials ({})",
            source::describe(&chain)
        ))
        .with_hint(format!(
            "run awscred console --profile {profile} without --duration: the session lasts as long as the credentials"
        ))
    };
    if args.duration.is_some() && !role && !keys {
        return Err(refuse_duration());
    }
    let ctx = req.context(LoginPolicy::for_credentials(&chain.settings));
    let creds = source::credentials(&ctx, &chain)?.credentials;
    if creds.session_token.is_some() {
        // Keys with a session token are temporary already (from GetSessionToken, say).
        if keys && args.duration.is_some() {
            return Err(refuse_duration());
        }
        return Ok((
            Session {
                credentials: creds,
                duration: role_duration,
            },
            chain,
        ));
    }
    // Long-term keys (a profile's or the environment's): the console needs a session.
    let region = source::role::region(&chain);
    let now = ctx.clock.now();
    let result = crate::sts::get_federation_token(
        ctx.net,
        region,
        &creds,
        now,
        profile,
        federation_duration,
    )
    .map_err(|f| {
        let code = f.code.clone();
        let e = f.error.with_code(code);
        if e.is_rejected_credentials() {
            e.context(format!(
                "AWS did not accept the long-term keys of profile {profile}"
            ))
            .with_kind(Kind::User)
            .with_hint(source::of(&chain.base).rejected_fix(profile))
        } else if e.code() == Some("AccessDenied") {
            e.context(format!(
                "the IAM user of profile {profile} may not call sts:GetFederationToken, which the console needs for long-term keys"
            ))
            .with_kind(Kind::User)
            .with_hint("allow sts:GetFederationToken for the user, or use a role profile")
        } else {
            e
        }
    })?;
    let url = crate::net::Service::Sts.url(ctx.env, region);
    let credentials = source::role::from_sts(&result, &url, "GetFederationToken", now)?;
    Ok((
        Session {
            credentials,
            duration: None,
        },
        chain,
    ))
}

/// The federation endpoint: `AWS_ENDPOINT_URL_SIGNIN` (or `AWS_ENDPOINT_URL`), else the
/// partition's sign-in host.
fn federation_url(env: &Environment, hosts: Hosts) -> String {
    let base = env
        .endpoint_url(env::AWS_ENDPOINT_URL_SIGNIN)
        .unwrap_or_else(|| format!("https://{}", hosts.signin));
    format!("{base}/federation")
}

/// getSigninToken: a sign-in token for the session.
fn signin_token(services: &Services, chain: &Chain, endpoint: &str, s: &Session) -> Result<String> {
    let c = &s.credentials;
    let Some(token) = &c.session_token else {
        return Err(Error::unexpected("a console session needs a session token"));
    };
    let session = serde_json::json!({
        "sessionId": c.access_key_id,
        "sessionKey": c.secret_access_key.expose(),
        "sessionToken": token.expose(),
    })
    .to_string();
    let duration = s.duration.map(|d| d.to_string());
    let mut query = vec![("Action", "getSigninToken")];
    query.extend(duration.as_deref().map(|d| ("SessionDuration", d)));
    query.push(("Session", &session));
    let url = format!("{endpoint}?{}", crate::net::form(&query));
    let net = services.net_for(&chain.settings.ca_bundle);
    let operation = "getSigninToken";
    let reply = net
        .send(
            operation,
            &Request {
                method: "GET",
                url: &url,
                headers: Vec::new(),
                body: Vec::new(),
            },
            Errors::Plain,
        )
        .map_err(|f| {
            f.error.with_kind(Kind::User).with_hint(format!(
                "AWS Sign-In takes only role sessions and federation tokens that are still valid, and --duration from 900 s to 12 h; to fetch new credentials, run awscred console --profile {} --refresh",
                chain.profile
            ))
        })?;
    let shown = crate::remote::url(endpoint);
    let v: serde_json::Value = serde_json::from_str(&reply.body)
        .map_err(|_| crate::net::unreadable(operation, &shown, Some(reply.status)))?;
    match v.get("SigninToken").and_then(|t| t.as_str()) {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => Err(crate::net::unreadable(
            operation,
            &shown,
            Some(reply.status),
        )),
    }
}

/// `awscred console`.
pub fn run(services: &Services, profile: &str, args: &ConsoleArgs) -> Result<ExitCode> {
    let env = &services.env;
    // Before any sign-in: whether the URL can be shown at all.
    let headless = (!args.print)
        .then(|| crate::login::headless_reason(env, &|p| std::path::Path::new(p).exists()))
        .flatten();
    if let Some(why) = headless {
        return Err(Error::user(format!("cannot open a browser here: {why}")).with_hint(format!(
            "run awscred console --profile {profile} --print and open the URL in a browser yourself (it signs in whoever opens it: do not share it)"
        )));
    }
    let (session, chain) = session(services, profile, args)?;
    let region = chain.settings.region.as_deref();
    let hosts = hosts(region);
    let destination = destination(args.destination.as_deref(), hosts, region)?;
    let endpoint = federation_url(env, hosts);
    let token = signin_token(services, &chain, &endpoint, &session)?;
    let issuer = format!("https://{}/", hosts.console);
    let login = format!(
        "{endpoint}?{}",
        crate::net::form(&[
            ("Action", "login"),
            ("Issuer", &issuer),
            ("Destination", &destination),
            ("SigninToken", &token),
        ])
    );
    if args.print {
        ui::data(&format!("{login}\n"))
            .map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::login::loopback::open_once(env, &login, OPEN_TIMEOUT).map_err(|e| {
        e.with_hint(format!(
            "run awscred console --profile {profile} --print and open the URL in a browser yourself"
        ))
    })?;
    Sink::Stderr.line(&format!(
        "Opened the AWS console for profile {profile} in your browser."
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_follow_the_partition() {
        assert_eq!(hosts(Some("eu-west-1")).signin, "signin.aws.amazon.com");
        assert_eq!(hosts(None).console, "console.aws.amazon.com");
        assert_eq!(hosts(Some("cn-north-1")).signin, "signin.amazonaws.cn");
        assert_eq!(
            hosts(Some("cn-northwest-1")).console,
            "console.amazonaws.cn"
        );
        assert_eq!(
            hosts(Some("us-gov-west-1")).signin,
            "signin.amazonaws-us-gov.com"
        );
        assert_eq!(
            hosts(Some("us-gov-east-1")).console,
            "console.amazonaws-us-gov.com"
        );
    }

    #[test]
    fn destinations_are_urls_or_services_in_the_region() {
        let h = hosts(Some("eu-west-1"));
        assert_eq!(
            destination(None, h, Some("eu-west-1")).unwrap(),
            "https://console.aws.amazon.com/console/home?region=eu-west-1"
        );
        assert_eq!(
            destination(Some("bedrock"), h, Some("eu-west-1")).unwrap(),
            "https://console.aws.amazon.com/bedrock/home?region=eu-west-1"
        );
        assert_eq!(
            destination(Some("s3"), hosts(Some("cn-north-1")), None).unwrap(),
            "https://console.amazonaws.cn/s3/home"
        );
        let url = "https://eu-west-1.console.aws.amazon.com/ec2/home#Instances:";
        assert_eq!(destination(Some(url), h, None).unwrap(), url);
        for bad in [
            "http://console.aws.amazon.com/",
            "S3",
            "s3 home",
            "",
            "javascript://x",
        ] {
            let e = destination(Some(bad), h, None).unwrap_err();
            assert_eq!(e.exit_code(), 1, "{bad}");
        }
    }

    #[test]
    fn role_and_key_sources_are_kinds_sources_give() {
        use crate::config::Base;
        for (base, list) in [
            (Base::Container, ROLE_SOURCES),
            (Base::InstanceMetadata, ROLE_SOURCES),
            (Base::Environment, KEY_SOURCES),
        ] {
            assert!(list.contains(&source::of(&base).kind()), "{base:?}");
        }
    }

    #[test]
    fn durations_are_checked_against_the_range() {
        assert_eq!(duration_in("1h", ROLE_SESSION, "x").unwrap(), 3600);
        assert_eq!(duration_in("900", ROLE_SESSION, "x").unwrap(), 900);
        assert_eq!(duration_in("12h", ROLE_SESSION, "x").unwrap(), 43200);
        for bad in ["899", "13h", "soon", "-1"] {
            assert!(duration_in(bad, ROLE_SESSION, "x").is_err(), "{bad}");
        }
        assert_eq!(duration_in("36h", FEDERATION_TOKEN, "x").unwrap(), 129_600);
    }
}
