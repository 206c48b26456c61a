//! A small OpenID Connect client for external identity providers: discovery, the JWKS, the
//! device authorization endpoint and the token endpoint (code, device code and refresh
//! grants). Synchronous HTTP through ureq with rustls (ring) and the platform's trust
//! store, so corporate CAs work; no async runtime.

pub mod jwt;

use crate::env::Environment;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::time::Duration;

/// Timeout of one request to the identity provider.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// What discovery says about a provider.
#[derive(Debug, Clone, Deserialize)]
pub struct Provider {
    /// Issuer (must equal the configured one).
    pub issuer: String,
    /// Browser sign-in.
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// RFC 8628 device authorization, when supported.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// Signing keys.
    pub jwks_uri: String,
}

/// An HTTP client for one provider.
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// A client with bounded timeouts (`AWSCRED_HTTP_TIMEOUT` applies here too).
    pub fn new(env: &Environment) -> Self {
        let timeout = env
            .get(crate::env::AWSCRED_HTTP_TIMEOUT)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0 && v.is_finite())
            .map(Duration::from_secs_f64)
            .unwrap_or(HTTP_TIMEOUT);
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .build()
            .new_agent();
        Self { agent }
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str, what: &str) -> Result<T> {
        let mut resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| unreachable_err(url, what, &e))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(Error::unexpected(format!(
                "{what} at {url} answered HTTP {status}"
            )));
        }
        resp.body_mut().read_json::<T>().map_err(|e| {
            Error::unexpected(format!(
                "{what} at {url} returned a document awscred cannot read"
            ))
            .caused_by(&e)
        })
    }

    fn post_form(
        &self,
        url: &str,
        what: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, serde_json::Value)> {
        let mut resp = self
            .agent
            .post(url)
            .header("accept", "application/json")
            .send_form(form.iter().copied())
            .map_err(|e| unreachable_err(url, what, &e))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&body).map_err(|e| {
            Error::unexpected(format!(
                "{what} at {url} returned HTTP {status} that awscred cannot read"
            ))
            .caused_by(&e)
        })?;
        Ok((status, json))
    }

    /// Posts awsJson1.1 (Cognito identity pools); unsigned.
    pub fn post_aws_json(
        &self,
        url: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value)> {
        let mut resp = self
            .agent
            .post(url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .send(body.to_string())
            .map_err(|e| unreachable_err(url, target, &e))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&text).map_err(|e| {
            Error::unexpected(format!(
                "{target} at {url} returned HTTP {status} that awscred cannot read"
            ))
            .caused_by(&e)
        })?;
        Ok((status, json))
    }
}

fn unreachable_err(url: &str, what: &str, e: &ureq::Error) -> Error {
    Error::unexpected(format!("could not reach {url} for {what}"))
        .caused_by(e)
        .with_hint("check your network connection, proxy and the issuer URL (awscred_oidc_issuer)")
}

/// Reads `/.well-known/openid-configuration` and checks the issuer.
pub fn discover(http: &Http, issuer: &str) -> Result<Provider> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let p: Provider = http.get_json(&url, "OpenID discovery")?;
    if p.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(Error::user(format!(
            "the identity provider at {url} calls itself {}, not {issuer}",
            p.issuer
        ))
        .with_hint("set awscred_oidc_issuer to exactly the issuer the provider publishes"));
    }
    Ok(p)
}

/// The provider's signing keys.
pub fn jwks(http: &Http, provider: &Provider) -> Result<jwt::Jwks> {
    http.get_json(&provider.jwks_uri, "the provider's signing keys (JWKS)")
}

/// Tokens from the token endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// ID token.
    #[serde(default)]
    pub id_token: Option<String>,
    /// Refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Access token lifetime.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// How the token endpoint refused.
#[derive(Debug)]
pub enum Refusal {
    /// `authorization_pending`.
    Pending,
    /// `slow_down`.
    SlowDown,
    /// `expired_token`.
    Expired,
    /// `access_denied`.
    Denied,
    /// `invalid_grant` and similar: the grant (code, refresh token) is no good.
    InvalidGrant(String),
    /// Anything else.
    Failed(Error),
}

/// Calls the token endpoint.
pub fn token(
    http: &Http,
    provider: &Provider,
    form: &[(&str, &str)],
) -> std::result::Result<Tokens, Refusal> {
    let (status, body) = http
        .post_form(&provider.token_endpoint, "the token endpoint", form)
        .map_err(Refusal::Failed)?;
    if status == 200 {
        return serde_json::from_value(body).map_err(|e| {
            Refusal::Failed(
                Error::unexpected(format!(
                    "the token endpoint {} answered without tokens",
                    provider.token_endpoint
                ))
                .caused_by(&e),
            )
        });
    }
    let code = body.get("error").and_then(|e| e.as_str()).unwrap_or("");
    let desc = body
        .get("error_description")
        .and_then(|e| e.as_str())
        .unwrap_or("")
        .to_string();
    Err(match code {
        "authorization_pending" => Refusal::Pending,
        "slow_down" => Refusal::SlowDown,
        "expired_token" => Refusal::Expired,
        "access_denied" => Refusal::Denied,
        "invalid_grant" | "invalid_request" | "unauthorized_client" => {
            Refusal::InvalidGrant(format!("{code}: {desc}"))
        }
        _ => Refusal::Failed(
            Error::unexpected(format!(
                "the token endpoint {} answered HTTP {status}",
                provider.token_endpoint
            ))
            .caused_by_text(format!("{code}: {desc}")),
        ),
    })
}

/// An RFC 8628 device authorization.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceAuthorization {
    /// Device code.
    pub device_code: String,
    /// Code the user confirms.
    pub user_code: String,
    /// Where to confirm it.
    pub verification_uri: String,
    /// The same, with the code filled in.
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Polling interval in seconds.
    #[serde(default)]
    pub interval: Option<i64>,
}

/// Starts a device authorization.
pub fn device_authorization(
    http: &Http,
    provider: &Provider,
    form: &[(&str, &str)],
) -> Result<DeviceAuthorization> {
    let Some(url) = &provider.device_authorization_endpoint else {
        return Err(Error::user(format!(
            "the identity provider {} does not offer the device authorization grant",
            provider.issuer
        ))
        .with_hint("use the browser sign-in (awscred_login = browser)"));
    };
    let (status, body) = http.post_form(url, "device authorization", form)?;
    if status != 200 {
        let code = body
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("error");
        let desc = body
            .get("error_description")
            .and_then(|e| e.as_str())
            .unwrap_or("");
        return Err(Error::user(format!(
            "device authorization at {url} was refused ({code}: {desc})"
        ))
        .with_hint("check awscred_oidc_client_id and that the client may use the device grant"));
    }
    serde_json::from_value(body).map_err(|e| {
        Error::unexpected(format!(
            "device authorization at {url} answered without a device code"
        ))
        .caused_by(&e)
    })
}
