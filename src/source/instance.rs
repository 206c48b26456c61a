//! `credential_source = Ec2InstanceMetadata` and `EcsContainer`.
//!
//! IMDSv2: `PUT /latest/api/token` (with `x-aws-ec2-metadata-token-ttl-seconds`), then the
//! role name from `GET /latest/meta-data/iam/security-credentials/` and its credentials
//! from `…/{role}`, each with `x-aws-ec2-metadata-token`; the endpoint is
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` or `http://169.254.169.254`, and
//! `AWS_EC2_METADATA_DISABLED=true` turns it off.
//!
//! The container endpoint: `AWS_CONTAINER_CREDENTIALS_FULL_URI`, or `http://169.254.170.2`
//! followed by `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`; the `Authorization` header comes
//! from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at every use) or
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`. A plain-http full URI must name a loopback address
//! or the ECS/EKS agent addresses, as for the AWS SDKs.

use super::Context;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::net::{Errors, Failure, Request};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Which metadata endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// EC2 instance metadata.
    InstanceMetadata,
    /// ECS/EKS container endpoint.
    Container,
}

/// The IMDS endpoint when none is configured.
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254";
/// The ECS agent, for relative URIs.
pub const ECS_ENDPOINT: &str = "http://169.254.170.2";
/// Lifetime asked for an IMDSv2 session token, seconds.
pub const IMDS_TOKEN_TTL: &str = "21600";
/// Largest authorization token file read.
const MAX_TOKEN_FILE: u64 = 16 * 1024;

/// Credentials from the endpoint.
pub fn credentials(ctx: &Context<'_>, kind: Kind) -> Result<Credentials> {
    let what = match kind {
        Kind::InstanceMetadata => "the EC2 instance metadata service",
        Kind::Container => "the container credentials endpoint",
    };
    let hint = "check that this runs where that endpoint exists, or change credential_source";
    let got = match kind {
        Kind::InstanceMetadata => imds(ctx),
        Kind::Container => container(ctx),
    };
    got.map_err(|f| {
        f.error
            .context(format!("cannot get credentials from {what}"))
            .with_hint(hint)
    })
}

/// A metadata endpoint as a chain's base.
pub struct Endpoint(pub Kind);

impl super::Source for Endpoint {
    fn kind(&self) -> &'static str {
        match self.0 {
            Kind::InstanceMetadata => "instance-metadata",
            Kind::Container => "container",
        }
    }
    fn describe(&self) -> String {
        match self.0 {
            Kind::InstanceMetadata => "EC2 instance role (IMDS)".to_string(),
            Kind::Container => "container credentials (ECS/EKS endpoint)".to_string(),
        }
    }
    fn cache_id(&self) -> String {
        match self.0 {
            Kind::InstanceMetadata => "imds".to_string(),
            Kind::Container => "ecs".to_string(),
        }
    }
    fn cacheable(&self) -> bool {
        false
    }
    fn fetch(
        &self,
        ctx: &Context<'_>,
        _chain: &crate::config::Chain,
    ) -> Result<(Credentials, Option<String>)> {
        Ok((credentials(ctx, self.0)?, None))
    }
}

fn get(
    ctx: &Context<'_>,
    operation: &str,
    method: &'static str,
    url: &str,
    headers: Vec<(&'static str, String)>,
) -> std::result::Result<crate::net::Reply, Failure> {
    crate::log::debug(&format!("{operation} at {}", crate::remote::url(url)));
    ctx.net.send(
        operation,
        &Request {
            method,
            url,
            headers,
            body: Vec::new(),
        },
        Errors::Plain,
    )
}

fn imds(ctx: &Context<'_>) -> std::result::Result<Credentials, Failure> {
    if ctx
        .env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(Error::user("AWS_EC2_METADATA_DISABLED is true")
            .with_hint("unset AWS_EC2_METADATA_DISABLED, or change credential_source")
            .into());
    }
    let base = ctx
        .env
        .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or(IMDS_ENDPOINT)
        .trim_end_matches('/')
        .to_string();
    let token = get(
        ctx,
        "the IMDSv2 token request",
        "PUT",
        &format!("{base}/latest/api/token"),
        vec![(
            "x-aws-ec2-metadata-token-ttl-seconds",
            IMDS_TOKEN_TTL.to_string(),
        )],
    )?
    .body;
    let token = Secret::new(token.trim().to_string());
    let auth = || vec![("x-aws-ec2-metadata-token", token.expose().clone())];
    let list = format!("{base}/latest/meta-data/iam/security-credentials/");
    let roles = get(ctx, "the instance role lookup", "GET", &list, auth())?.body;
    let Some(role) = roles.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Err(Error::user(format!(
            "{} names no instance role",
            crate::remote::url(&list)
        ))
        .with_hint("attach an IAM role (instance profile) to this instance")
        .into());
    };
    if role.contains(['/', '?', '#']) || role.chars().any(|c| c.is_control()) {
        return Err(crate::net::unreadable("the instance role lookup", &list, Some(200)).into());
    }
    let url = format!("{list}{}", crate::net::encode(role));
    let reply = get(ctx, "the instance credentials request", "GET", &url, auth())?;
    parse(
        "the instance credentials request",
        &crate::remote::url(&url),
        &reply.body,
    )
}

fn container(ctx: &Context<'_>) -> std::result::Result<Credentials, Failure> {
    let url = if let Some(rel) = ctx.env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        format!("{ECS_ENDPOINT}{rel}")
    } else if let Some(full) = ctx.env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        check_full_uri(full).map_err(|why| {
            Error::user(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI {} is not allowed: {why}",
                crate::remote::url(full)
            ))
            .with_hint(
                "use https://, or http:// on a loopback address or the ECS/EKS agent address",
            )
        })?;
        full.to_string()
    } else {
        return Err(Error::user(
            "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
        )
        .with_hint("run in ECS or EKS, or change credential_source")
        .into());
    };
    let mut headers = Vec::new();
    if let Some(token) = authorization_token(ctx)? {
        headers.push(("authorization", token.expose().clone()));
    }
    let reply = get(
        ctx,
        "the container credentials request",
        "GET",
        &url,
        headers,
    )?;
    parse(
        "the container credentials request",
        &crate::remote::url(&url),
        &reply.body,
    )
}

/// The container endpoint's authorization token: the token file (read at every use: the
/// agent rotates it) or the variable.
fn authorization_token(ctx: &Context<'_>) -> Result<Option<Secret<String>>> {
    use std::io::Read;
    if let Some(path) = ctx.env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        let bad = |why: String| {
            Error::user(format!(
                "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}: {why}",
                crate::remote::text(path)
            ))
            .with_hint("check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        };
        let mut text = String::new();
        fs_err::File::open(path)
            .map_err(|e| bad(e.kind().to_string()))?
            .take(MAX_TOKEN_FILE)
            .read_to_string(&mut text)
            .map_err(|e| bad(e.kind().to_string()))?;
        let t = text.trim();
        if t.is_empty() || t.contains(['\r', '\n']) {
            return Err(bad("it is empty or has more than one line".into()));
        }
        return Ok(Some(Secret::new(t.to_string())));
    }
    Ok(ctx
        .env
        .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        .filter(|t| !t.contains(['\r', '\n']))
        .map(|t| Secret::new(t.to_string())))
}

/// Whether a full container URI may be used: https, or http on a loopback address or the
/// ECS/EKS agent addresses.
fn check_full_uri(url: &str) -> std::result::Result<(), &'static str> {
    let uri: ureq::http::Uri = url.parse().map_err(|_| "it is not a URL")?;
    let host = uri.host().ok_or("it names no host")?;
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("https") => Ok(()),
        Some("http") => {
            let h = host.trim_start_matches('[').trim_end_matches(']');
            let allowed = h.eq_ignore_ascii_case("localhost")
                || matches!(h, "169.254.170.2" | "169.254.170.23")
                || h.parse::<std::net::IpAddr>().is_ok_and(|ip| {
                    ip.is_loopback()
                        || ip == std::net::IpAddr::from([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23])
                });
            if allowed {
                Ok(())
            } else {
                Err("plain http is allowed only on loopback and the ECS/EKS agent addresses")
            }
        }
        _ => Err("it is not an http(s) URL"),
    }
}

/// The metadata credentials document: `AccessKeyId`, `SecretAccessKey`, `Token`,
/// `Expiration` (RFC 3339), and `Code` other than `Success` for a refusal.
fn parse(operation: &str, url: &str, body: &str) -> std::result::Result<Credentials, Failure> {
    let unreadable = || Failure::from(crate::net::unreadable(operation, url, Some(200)));
    let v: Value = serde_json::from_str(body).map_err(|_| unreadable())?;
    let field = |k: &str| -> std::result::Result<Option<String>, Failure> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(unreadable()),
        }
    };
    if let Some(code) = field("Code")?.filter(|c| c != "Success") {
        return Err(Error::unexpected(format!("{operation} at {url} failed"))
            .caused_by_text(crate::remote::text(&code))
            .into());
    }
    let (Some(akid), Some(secret)) = (field("AccessKeyId")?, field("SecretAccessKey")?) else {
        return Err(Error::unexpected(format!(
            "{operation} at {url} returned no AccessKeyId and SecretAccessKey"
        ))
        .into());
    };
    let expiration = match field("Expiration")? {
        Some(e) => Some(
            DateTime::parse_from_rfc3339(e.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| unreadable())?,
        ),
        None => None,
    };
    Ok(Credentials {
        access_key_id: akid,
        secret_access_key: Secret::new(secret),
        session_token: field("Token")?.map(Secret::new),
        expiration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_uris_are_https_or_local_http() {
        for ok in [
            "https://creds.example.com/x",
            "http://127.0.0.1:8080/creds",
            "http://localhost/creds",
            "http://169.254.170.2/v2/credentials",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "http://[::1]:80/x",
        ] {
            assert_eq!(check_full_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://creds.example.com/x",
            "http://10.0.0.1/x",
            "ftp://127.0.0.1/x",
            "nonsense",
        ] {
            assert!(check_full_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn documents_are_read_field_by_field() {
        let ok = r#"{"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"s3cr3t","Token":"t","Expiration":"2030-01-01T00:00:00Z"}"#;
        let c = parse("op", "http://h", ok).unwrap();
        assert_eq!(c.access_key_id, "ASIA1");
        assert!(c.expiration.is_some());
        let bad = ok.replace("2030-01-01T00:00:00Z", "soon");
        let e = parse("op", "http://h", &bad).unwrap_err().error;
        assert!(e.message().contains("cannot read"), "{}", e.report());
        assert!(!e.report().contains("s3cr3t"), "{}", e.report());
        let e = parse("op", "http://h", r#"{"Code":"Failed"}"#)
            .unwrap_err()
            .error;
        assert!(e.report().contains("Failed"), "{}", e.report());
        assert!(parse("op", "http://h", "{\"AccessKeyId\":").is_err());
    }
}
