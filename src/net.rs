//! The one HTTP stack: every request awscred sends (IAM Identity Center, STS, the metadata
//! endpoints and external identity providers) goes through the agents built here.
//!
//! The cache-hit path never reaches this module: nothing is built until a request must be
//! sent. Then ureq with rustls (ring) is configured once for the process:
//!
//! - trust: the platform's verifier (the OS trust store), or, when `AWS_CA_BUNDLE` names a
//!   PEM file, the OS roots plus the certificates of that file (a corporate CA that
//!   re-signs TLS);
//! - proxy: `HTTPS_PROXY` for https URLs and `HTTP_PROXY` for http URLs (lower-case names
//!   too), `ALL_PROXY` for either, except hosts `NO_PROXY` names ([`no_proxy_matches`]).
//!   Loopback and link-local addresses (the emulator, IMDS at 169.254.169.254, the
//!   container endpoint at 169.254.170.2) always go direct: a proxy would reach its own
//!   loopback, or its own instance's credentials, not this machine's;
//! - timeouts: connect [`CONNECT_TIMEOUT`], read [`READ_TIMEOUT`], attempt
//!   [`ATTEMPT_TIMEOUT`], or `AWSCRED_HTTP_TIMEOUT` seconds for reads and attempts;
//! - bodies read up to [`MAX_RESPONSE_BYTES`]; no redirects are followed;
//! - up to [`MAX_ATTEMPTS`] attempts with exponential backoff and jitter, for 5xx answers,
//!   throttling error codes, timeouts and connection failures.
//!
//! Errors name the operation, the URL (through [`crate::remote::url`]), the HTTP status and
//! the service's error code and message (through [`crate::remote::text`]); never a body, a
//! header, or a library's `Debug` text.

use crate::env::{self, Environment};
use crate::error::{Error, Result};
use crate::remote;
use std::cell::OnceCell;
use std::time::Duration;

/// Connect timeout for every request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Read timeout for every request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Upper bound of one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body read; AWS's and identity providers' answers to these operations
/// are a few kilobytes, and a hostile endpoint must not make awscred buffer gigabytes.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Attempts per request.
pub const MAX_ATTEMPTS: u32 = 3;
/// First backoff step; attempt `n` waits a random part of `BASE_BACKOFF * 2^(n-1)`.
pub const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// Largest CA bundle read (a full public root bundle is about 250 KiB).
pub const MAX_CA_BUNDLE_BYTES: u64 = 4 << 20;
/// The variable naming extra trusted CA certificates (PEM), as for the AWS CLI.
pub const AWS_CA_BUNDLE: &str = "AWS_CA_BUNDLE";

/// Process-wide HTTP service, built on first use.
pub struct Net {
    env: Environment,
    /// The profile's `ca_bundle` and where it was set.
    ca_bundle: Option<(std::path::PathBuf, String)>,
    agents: OnceCell<Agents>,
}

struct Agents {
    direct: ureq::Agent,
    https_proxy: Option<ureq::Agent>,
    http_proxy: Option<ureq::Agent>,
    no_proxy: Vec<String>,
}

/// The AWS services awscred talks to.
#[derive(Debug, Clone, Copy)]
pub enum Service {
    /// IAM Identity Center OIDC.
    SsoOidc,
    /// IAM Identity Center portal.
    Sso,
    /// STS.
    Sts,
}

impl Service {
    fn endpoint_var(self) -> &'static str {
        match self {
            Service::SsoOidc => env::AWS_ENDPOINT_URL_SSO_OIDC,
            Service::Sso => env::AWS_ENDPOINT_URL_SSO,
            Service::Sts => env::AWS_ENDPOINT_URL_STS,
        }
    }

    /// The base URL requests go to (an `AWS_ENDPOINT_URL*` override, or the regional
    /// endpoint), without a trailing slash.
    pub fn base(self, env: &Environment, region: &str) -> String {
        env.endpoint_url(self.endpoint_var()).unwrap_or_else(|| {
            let suffix = dns_suffix(region);
            match self {
                Service::SsoOidc => format!("https://oidc.{region}.{suffix}"),
                Service::Sso => format!("https://portal.sso.{region}.{suffix}"),
                Service::Sts => format!("https://sts.{region}.{suffix}"),
            }
        })
    }

    /// The URL requests go to, for messages (without userinfo, query or fragment).
    pub fn url(self, env: &Environment, region: &str) -> String {
        remote::url(&self.base(env, region))
    }
}

/// The domain of a region's partition: `amazonaws.com.cn` in China, `amazonaws.com` in
/// the commercial regions and GovCloud.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// How a service encodes its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errors {
    /// restJson / awsJson: `x-amzn-errortype`, or `__type` / `code` / OAuth `error` fields.
    Json,
    /// The query protocol: `<Error><Code>…</Code><Message>…</Message></Error>`.
    Xml,
    /// No error codes (the metadata endpoints): the status says it.
    Plain,
    /// restJson whose modelled `error` field is the code that matters (AWS Sign-In:
    /// `TOKEN_EXPIRED` inside an `AccessDeniedException`), else as [`Errors::Json`].
    JsonErrorField,
}

/// One request.
#[derive(Debug)]
pub struct Request<'a> {
    /// `GET`, `POST` or `PUT`.
    pub method: &'static str,
    /// The full URL (may carry a query; never shown).
    pub url: &'a str,
    /// Headers (values may be secrets: never shown).
    pub headers: Vec<(&'static str, String)>,
    /// The body, for POST and PUT.
    pub body: Vec<u8>,
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body, UTF-8, at most [`MAX_RESPONSE_BYTES`].
    pub body: String,
}

/// What went wrong with a request, reduced to what awscred decides on.
#[derive(Debug)]
pub struct Failure {
    /// The service's error code (`AuthorizationPendingException`, …), if it answered one.
    pub code: Option<String>,
    /// The error, ready to show.
    pub error: Error,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { code: None, error }
    }
}

impl Net {
    /// The service for `env`; nothing is built yet.
    pub fn new(env: Environment) -> Self {
        Self {
            env,
            ca_bundle: None,
            agents: OnceCell::new(),
        }
    }

    /// Trusts the certificates of the profile's `ca_bundle` (and where it was set, for
    /// messages) too, unless `AWS_CA_BUNDLE` names a bundle.
    pub fn with_ca_bundle(mut self, bundle: Option<(std::path::PathBuf, String)>) -> Self {
        self.ca_bundle = bundle;
        self
    }

    /// The environment the service was built from.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// Checks the settings (endpoint overrides, timeout, proxies, CA bundle) and builds the
    /// agents, before any request is sent; a malformed setting is an error naming it.
    pub fn ready(&self) -> Result<()> {
        self.agents().map(|_| ())
    }

    fn agents(&self) -> Result<&Agents> {
        if let Some(a) = self.agents.get() {
            return Ok(a);
        }
        self.env.check_endpoint_urls()?;
        let built = build_agents(&self.env, self.ca_bundle.as_ref())?;
        Ok(self.agents.get_or_init(|| built))
    }

    /// The agent for `url`: through the proxy for its scheme unless NO_PROXY, loopback or
    /// link-local says direct.
    pub fn agent_for(&self, url: &str) -> Result<&ureq::Agent> {
        let agents = self.agents()?;
        let (https, host) = scheme_and_host(url);
        let proxy = if https {
            agents.https_proxy.as_ref()
        } else {
            agents.http_proxy.as_ref()
        };
        Ok(match (proxy, host) {
            (Some(p), Some(h)) if !goes_direct(&h, &agents.no_proxy) => p,
            _ => &agents.direct,
        })
    }

    /// Sends `req` for `operation`, retrying transient failures; a 2xx answer is returned,
    /// anything else is a [`Failure`] carrying the service's error code.
    pub fn send(
        &self,
        operation: &str,
        req: &Request<'_>,
        errors: Errors,
    ) -> std::result::Result<Reply, Failure> {
        let shown = remote::url(req.url);
        let mut attempt = 1;
        loop {
            match self.send_once(operation, &shown, req, errors) {
                Ok(r) => return Ok(r),
                Err((retry, f)) => {
                    if !retry || attempt >= MAX_ATTEMPTS {
                        return Err(f);
                    }
                    crate::log::debug(&format!(
                        "{}; attempt {} of {MAX_ATTEMPTS}",
                        f.error,
                        attempt + 1
                    ));
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
            }
        }
    }

    /// One attempt; on failure, whether it may be retried.
    fn send_once(
        &self,
        operation: &str,
        url: &str,
        req: &Request<'_>,
        errors: Errors,
    ) -> std::result::Result<Reply, (bool, Failure)> {
        let agent = self.agent_for(req.url).map_err(|e| (false, e.into()))?;
        let mut builder = ureq::http::Request::builder()
            .method(req.method)
            .uri(req.url);
        for (k, v) in &req.headers {
            builder = builder.header(*k, v.as_str());
        }
        let request = builder.body(req.body.as_slice()).map_err(|_| {
            (
                false,
                Failure::from(
                    Error::unexpected(format!("cannot build the {operation} request for {url}"))
                        .with_hint("check the region and the AWS_ENDPOINT_URL settings"),
                ),
            )
        })?;
        let mut resp = match agent.run(request) {
            Ok(r) => r,
            Err(e) => return Err(transport_failure(operation, url, &e)),
        };
        let status = resp.status().as_u16();
        let error_type = resp
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES as u64)
            .read_to_vec();
        let body = match body {
            Ok(b) => b,
            Err(e) => {
                let f = Failure::from(
                    unreadable(operation, url, Some(status)).caused_by_text(transport_cause(&e)),
                );
                return Err((is_transient(&e) && status >= 500, f));
            }
        };
        let Ok(body) = String::from_utf8(body) else {
            return Err((false, unreadable(operation, url, Some(status)).into()));
        };
        if (200..300).contains(&status) {
            return Ok(Reply { status, body });
        }
        let said = match errors {
            Errors::Json => json_error(error_type.as_deref(), &body),
            Errors::Xml => xml_error(&body),
            Errors::Plain => None,
            Errors::JsonErrorField => {
                json_error_field(&body).or_else(|| json_error(error_type.as_deref(), &body))
            }
        };
        let retry = status >= 500 || status == 429;
        Err(match said {
            Some((code, message)) => {
                let mut text = remote::text(&code);
                if let Some(m) = message.filter(|m| !m.is_empty()) {
                    text.push_str(": ");
                    text.push_str(&remote::text(&m));
                }
                let retry = retry || is_throttling(&code);
                let error =
                    Error::unexpected(format!("{operation} at {url} failed (HTTP {status})"))
                        .caused_by_text(text)
                        .with_code(Some(code.clone()));
                (
                    retry,
                    Failure {
                        code: Some(code),
                        error,
                    },
                )
            }
            None if errors == Errors::Plain => (
                retry,
                Error::unexpected(format!("{operation} at {url} failed (HTTP {status})")).into(),
            ),
            None => (retry, unreadable(operation, url, Some(status)).into()),
        })
    }
}

/// "`operation` at `url` returned a response awscred cannot read (HTTP n)".
pub fn unreadable(operation: &str, url: &str, status: Option<u16>) -> Error {
    let status = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
    Error::unexpected(format!(
        "{operation} at {url} returned a response awscred cannot read{status}"
    ))
    .with_hint("check AWS_ENDPOINT_URL settings and any proxy between you and AWS")
}

fn timed_out(operation: &str, url: &str) -> Error {
    Error::unexpected(format!("{operation} at {url} timed out"))
        .with_hint("check your network connection or proxy, then run the command again")
}

/// The wait before attempt `attempt + 1`: a random part of `BASE_BACKOFF * 2^(attempt-1)`.
fn backoff(attempt: u32) -> Duration {
    let cap = BASE_BACKOFF.saturating_mul(1u32 << attempt.saturating_sub(1).min(8));
    cap.mul_f64(rand::random::<f64>())
}

/// Error codes AWS uses for throttling and transient service trouble.
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "LimitExceededException"
            | "RequestThrottled"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "EC2ThrottledException"
            | "RequestTimeout"
            | "RequestTimeoutException"
            | "InternalError"
            | "InternalFailure"
    )
}

fn is_transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Timeout(_)
            | ureq::Error::Io(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::ConnectProxyFailed(_)
            | ureq::Error::Protocol(_)
    )
}

fn is_timeout(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::TimedOut,
        _ => false,
    }
}

/// The TLS error inside `e`: rustls's own, or one it raised through the stream's I/O.
fn tls_error(e: &ureq::Error) -> Option<&rustls::Error> {
    match e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    }
}

fn transport_failure(operation: &str, url: &str, e: &ureq::Error) -> (bool, Failure) {
    if is_timeout(e) {
        return (true, timed_out(operation, url).into());
    }
    let rustls_error = tls_error(e);
    let tls = rustls_error.is_some() || matches!(e, ureq::Error::Tls(_) | ureq::Error::Pem(_));
    let hint = if tls {
        "if a proxy or a private CA signs this endpoint's certificate, set AWS_CA_BUNDLE to that CA's certificate (PEM)"
    } else {
        "check your network connection, proxy (HTTPS_PROXY, NO_PROXY) and AWS_ENDPOINT_URL settings"
    };
    let err = Error::unexpected(format!("could not reach {url} for {operation}"))
        .caused_by_text(transport_cause(e))
        .with_hint(hint);
    (!tls && is_transient(e), err.into())
}

/// Why a request did not complete, in awscred's words (a library's message may quote the
/// URL with its query, or describe what it parsed).
pub fn transport_cause(e: &ureq::Error) -> String {
    if let Some(r) = tls_error(e) {
        // rustls says which check failed (unknown issuer, name mismatch); no secrets.
        return format!(
            "the TLS connection failed: {}",
            remote::text(&r.to_string())
        );
    }
    match e {
        ureq::Error::Timeout(_) => "the request timed out".into(),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::TimedOut => "the request timed out".into(),
            kind => format!("network error ({kind})"),
        },
        ureq::Error::HostNotFound => "the host name does not resolve".into(),
        ureq::Error::ConnectionFailed => "the connection failed".into(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            "the TLS connection failed (is the server's certificate trusted?)".into()
        }
        ureq::Error::BodyExceedsLimit(n) => format!("the response is larger than {n} bytes"),
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            "the server redirected, which awscred does not follow here".into()
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => "the URL is not valid".into(),
        ureq::Error::InvalidProxyUrl | ureq::Error::ConnectProxyFailed(_) => {
            "the proxy (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY) failed".into()
        }
        _ => "the HTTP exchange failed".into(),
    }
}

/// The error code and message of a JSON error answer: the `x-amzn-errortype` header, else
/// the body's `__type`, `code` or OAuth `error` field (the last mapped to the service's
/// exception name).
fn json_error(header: Option<&str>, body: &str) -> Option<(String, Option<String>)> {
    let v: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |k: &str| {
        v.as_ref()
            .and_then(|v| v.get(k))
            .and_then(|x| x.as_str())
            .map(str::to_string)
    };
    let clean = |c: &str| {
        // `Code:http://internal…` in the header; `ns#Code` in `__type`.
        let c = c.split(':').next().unwrap_or(c);
        c.rsplit('#').next().unwrap_or(c).trim().to_string()
    };
    let code = header
        .map(clean)
        .filter(|c| !c.is_empty())
        .or_else(|| field("__type").map(|c| clean(&c)))
        .or_else(|| field("code").or_else(|| field("Code")))
        .or_else(|| field("error").map(|e| oauth_code(&e)))
        .filter(|c| !c.is_empty())?;
    let message = field("message")
        .or_else(|| field("Message"))
        .or_else(|| field("error_description"));
    Some((code, message))
}

/// The `error` field of a restJson error body, with `message`.
fn json_error_field(body: &str) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let code = v
        .get("error")?
        .as_str()
        .filter(|c| !c.is_empty())?
        .to_string();
    let message = v
        .get("message")
        .and_then(|m| m.as_str())
        .map(str::to_string);
    Some((code, message))
}

/// SSO-OIDC's OAuth error names as the service's exception names.
fn oauth_code(e: &str) -> String {
    match e {
        "authorization_pending" => "AuthorizationPendingException",
        "slow_down" => "SlowDownException",
        "expired_token" => "ExpiredTokenException",
        "access_denied" => "AccessDeniedException",
        "invalid_grant" => "InvalidGrantException",
        "invalid_client" => "InvalidClientException",
        "unauthorized_client" => "UnauthorizedClientException",
        "invalid_request" => "InvalidRequestException",
        "invalid_scope" => "InvalidScopeException",
        "unsupported_grant_type" => "UnsupportedGrantTypeException",
        other => other,
    }
    .to_string()
}

/// The code and message of a query-protocol error answer.
fn xml_error(body: &str) -> Option<(String, Option<String>)> {
    let error = crate::sts::xml_element(body, "Error")?;
    let code = crate::sts::xml_element(error, "Code")
        .map(crate::sts::xml_unescape)
        .filter(|c| !c.is_empty())?;
    let message = crate::sts::xml_element(error, "Message").map(crate::sts::xml_unescape);
    Some((code, message))
}

// ---------- building the agents ----------

fn build_agents(
    env: &Environment,
    profile_bundle: Option<&(std::path::PathBuf, String)>,
) -> Result<Agents> {
    let custom = env.http_timeout()?;
    let tls = tls_config(env, profile_bundle)?;
    let proxy = |names: &[&str]| -> Result<Option<ureq::Proxy>> {
        for name in names {
            if let Some(v) = env.get(name) {
                return ureq::Proxy::new(v.trim()).map(Some).map_err(|_| {
                    Error::user(format!(
                        "{name} is `{}`, which is not a proxy URL",
                        remote::url(v)
                    ))
                    .with_hint(format!(
                        "set {name} to a URL such as http://proxy.example.com:3128, or unset it"
                    ))
                });
            }
        }
        Ok(None)
    };
    let https = proxy(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])?;
    let http = proxy(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])?;
    let agent = |proxy: Option<ureq::Proxy>| {
        ureq::Agent::config_builder()
            .timeout_connect(Some(
                custom.map_or(CONNECT_TIMEOUT, |c| c.min(CONNECT_TIMEOUT)),
            ))
            .timeout_recv_response(Some(custom.unwrap_or(READ_TIMEOUT)))
            .timeout_recv_body(Some(custom.unwrap_or(READ_TIMEOUT)))
            .timeout_global(Some(custom.unwrap_or(ATTEMPT_TIMEOUT)))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("awscred/", env!("CARGO_PKG_VERSION")))
            .proxy(proxy)
            .tls_config(tls.clone())
            .build()
            .new_agent()
    };
    let no_proxy = env
        .get("NO_PROXY")
        .or_else(|| env.get("no_proxy"))
        .map(no_proxy_list)
        .unwrap_or_default();
    Ok(Agents {
        direct: agent(None),
        https_proxy: https.map(|p| agent(Some(p))),
        http_proxy: http.map(|p| agent(Some(p))),
        no_proxy,
    })
}

/// The OS verifier, or the OS roots plus the certificates of `AWS_CA_BUNDLE` (else the
/// profile's `ca_bundle`).
fn tls_config(
    env: &Environment,
    profile_bundle: Option<&(std::path::PathBuf, String)>,
) -> Result<ureq::tls::TlsConfig> {
    let builder = ureq::tls::TlsConfig::builder();
    let bundle = match env.get(AWS_CA_BUNDLE) {
        Some(p) => Some((std::path::PathBuf::from(p), AWS_CA_BUNDLE.to_string())),
        None => profile_bundle.cloned(),
    };
    let Some((path, set_in)) = bundle else {
        return Ok(builder
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build());
    };
    let mut roots = read_ca_bundle(&path, &set_in)?;
    // The OS store as well, so endpoints the corporate CA does not sign still verify.
    let native = rustls_native_certs::load_native_certs();
    roots.extend(
        native
            .certs
            .into_iter()
            .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()),
    );
    Ok(builder
        .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
        .build())
}

/// The certificates of a PEM bundle: at most [`MAX_CA_BUNDLE_BYTES`], at least one
/// certificate; errors name the file and where it was set.
pub fn read_ca_bundle(
    path: &std::path::Path,
    set_in: &str,
) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    use std::io::Read;
    let shown = remote::text(&path.display().to_string());
    let hint = "point AWS_CA_BUNDLE (or the profile's ca_bundle) to a PEM file of CA certificates, or unset it";
    let bad = |why: String| {
        Error::user(format!("{set_in} {shown} cannot be used: {why}")).with_hint(hint)
    };
    let file = fs_err::File::open(path).map_err(|e| bad(e.kind().to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_CA_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.kind().to_string()))?;
    if bytes.len() as u64 > MAX_CA_BUNDLE_BYTES {
        return Err(bad(format!(
            "it is larger than {MAX_CA_BUNDLE_BYTES} bytes"
        )));
    }
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(_) => return Err(bad("it is not a valid PEM file".into())),
        }
    }
    if certs.is_empty() {
        return Err(bad("it holds no PEM certificate".into()));
    }
    Ok(certs)
}

// ---------- proxy choice ----------

fn scheme_and_host(url: &str) -> (bool, Option<String>) {
    let Ok(uri) = url.parse::<ureq::http::Uri>() else {
        return (false, None);
    };
    let https = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("https"));
    let host = uri.host().map(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    });
    (https, host)
}

/// NO_PROXY's entries: lower-case, trimmed, without a leading `*` or `.` and without a port.
pub fn no_proxy_list(value: &str) -> Vec<String> {
    value
        .split([',', ' '])
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .map(|e| {
            if e == "*" {
                return e;
            }
            let e = e.trim_start_matches('*').trim_start_matches('.');
            // `host:port`, `[v6]:port`, bare IPv6.
            let e = if let Some(rest) = e.strip_prefix('[') {
                rest.split(']').next().unwrap_or(rest)
            } else if e.matches(':').count() == 1 {
                e.split(':').next().unwrap_or(e)
            } else {
                e
            };
            e.to_string()
        })
        .filter(|e| !e.is_empty())
        .collect()
}

/// Whether `host` (lower-case, IPv6 without brackets) is covered by a NO_PROXY entry:
/// `*` covers every host; `example.com` (or `.example.com`, `*.example.com`) covers it and
/// its subdomains; an IP address covers itself; `10.0.0.0/8` covers the addresses in it.
pub fn no_proxy_matches(host: &str, entries: &[String]) -> bool {
    let host = host.trim_end_matches('.');
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    entries.iter().any(|e| {
        if e == "*" {
            return true;
        }
        if let (Some(ip), Some((net, bits))) = (ip, e.split_once('/')) {
            return cidr_contains(net, bits, ip);
        }
        let e = e.trim_end_matches('.');
        host == e
            || (ip.is_none()
                && host.len() > e.len()
                && host.ends_with(e)
                && host.as_bytes().get(host.len() - e.len() - 1) == Some(&b'.'))
    })
}

fn cidr_contains(net: &str, bits: &str, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Whether a request to `host` skips the proxy: NO_PROXY covers it, or it is a loopback
/// or link-local address (`localhost` included).
pub fn goes_direct(host: &str, no_proxy: &[String]) -> bool {
    use std::net::IpAddr;
    let local = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback() || a.is_link_local(),
        Ok(IpAddr::V6(a)) => {
            a.is_loopback()
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
                // The EKS pod identity agent.
                || a == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)
        }
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    };
    local || no_proxy_matches(host, no_proxy)
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 and
/// form bodies want.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A form body (or query) from pairs, encoded with [`encode`].
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {

    #[test]
    fn regional_endpoints_follow_the_partition() {
        let env = crate::env::Environment::from_pairs([]);
        assert_eq!(
            Service::Sts.base(&env, "cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            Service::Sso.base(&env, "us-gov-west-1"),
            "https://portal.sso.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            Service::SsoOidc.base(&env, "eu-west-1"),
            "https://oidc.eu-west-1.amazonaws.com"
        );
    }

    use super::*;

    fn list(s: &str) -> Vec<String> {
        no_proxy_list(s)
    }

    #[test]
    fn no_proxy_covers_hosts_subdomains_addresses_and_ranges() {
        let l =
            list(" .corp.example , amazonaws.com:443,10.0.0.0/8, [::1]:80,*.internal,192.168.1.7");
        assert_eq!(
            l,
            [
                "corp.example",
                "amazonaws.com",
                "10.0.0.0/8",
                "::1",
                "internal",
                "192.168.1.7"
            ]
        );
        for yes in [
            "corp.example",
            "a.corp.example",
            "sts.us-east-1.amazonaws.com",
            "amazonaws.com",
            "10.1.2.3",
            "x.internal",
            "192.168.1.7",
        ] {
            assert!(no_proxy_matches(yes, &l), "{yes}");
        }
        for no in [
            "evilcorp.example",
            "amazonaws.com.evil",
            "notamazonaws.com",
            "11.0.0.1",
            "192.168.1.70",
            "internal.example",
        ] {
            assert!(!no_proxy_matches(no, &l), "{no}");
        }
        assert!(no_proxy_matches("anything.example", &list("*")));
        assert!(!no_proxy_matches("anything.example", &list("")));
        assert!(no_proxy_matches("fd00::1", &list("fd00::/8")));
        assert!(!no_proxy_matches("fe00::1", &list("fd00::/8")));
    }

    #[test]
    fn loopback_and_link_local_always_go_direct() {
        for local in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "localhost",
            "169.254.169.254",
            "169.254.170.2",
            "fe80::1",
            "fd00:ec2::23",
        ] {
            assert!(goes_direct(local, &[]), "{local}");
        }
        for remote in [
            "sts.amazonaws.com",
            "10.0.0.1",
            "2001:db8::1",
            "localhost.evil",
        ] {
            assert!(!goes_direct(remote, &[]), "{remote}");
        }
    }

    #[test]
    fn proxies_follow_the_scheme_and_no_proxy() {
        let net = Net::new(Environment::from_pairs([
            ("HTTPS_PROXY", "http://127.0.0.1:9"),
            ("NO_PROXY", "direct.example"),
        ]));
        let a = net.agents().unwrap();
        assert!(a.https_proxy.is_some());
        assert!(a.http_proxy.is_none(), "HTTPS_PROXY is for https URLs only");
        let proxied = net.agent_for("https://sts.amazonaws.com/").unwrap();
        assert!(std::ptr::eq(proxied, a.https_proxy.as_ref().unwrap()));
        for direct in [
            "https://x.direct.example/",
            "http://sts.amazonaws.com/",
            "https://127.0.0.1:4566/",
        ] {
            assert!(
                std::ptr::eq(net.agent_for(direct).unwrap(), &a.direct),
                "{direct}"
            );
        }
        let net = Net::new(Environment::from_pairs([(
            "ALL_PROXY",
            "http://127.0.0.1:9",
        )]));
        let a = net.agents().unwrap();
        assert!(a.https_proxy.is_some() && a.http_proxy.is_some());
    }

    #[test]
    fn a_bad_proxy_or_ca_bundle_is_an_error_naming_it() {
        let e = Net::new(Environment::from_pairs([(
            "HTTPS_PROXY",
            "ftp://user:pw@x:1",
        )]))
        .ready()
        .unwrap_err();
        assert!(e.message().contains("HTTPS_PROXY"), "{}", e.report());
        assert!(!e.report().contains("pw"), "{}", e.report());

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = Net::new(Environment::from_pairs([(
            "AWS_CA_BUNDLE",
            missing.to_str().unwrap(),
        )]))
        .ready()
        .unwrap_err();
        assert!(e.message().contains("nope.pem"), "{}", e.report());
        // The profile's ca_bundle is named with where it was set; AWS_CA_BUNDLE beats it.
        let profile = Some((
            dir.path().join("profile.pem"),
            "config:7: ca_bundle".to_string(),
        ));
        let e = Net::new(Environment::from_pairs([]))
            .with_ca_bundle(profile.clone())
            .ready()
            .unwrap_err();
        assert!(
            e.message().contains("config:7: ca_bundle") && e.message().contains("profile.pem"),
            "{}",
            e.report()
        );
        let e = Net::new(Environment::from_pairs([(
            "AWS_CA_BUNDLE",
            missing.to_str().unwrap(),
        )]))
        .with_ca_bundle(profile)
        .ready()
        .unwrap_err();
        assert!(e.message().contains("nope.pem"), "{}", e.report());
        let junk = dir.path().join("junk.pem");
        fs_err::write(&junk, "not a certificate").unwrap();
        let e = read_ca_bundle(&junk, "AWS_CA_BUNDLE").unwrap_err();
        assert!(e.message().contains("junk.pem"), "{}", e.report());
        assert!(e.message().contains("no PEM certificate"), "{}", e.report());
        let big = dir.path().join("big.pem");
        fs_err::write(&big, vec![b'a'; MAX_CA_BUNDLE_BYTES as usize + 1]).unwrap();
        let e = read_ca_bundle(&big, "AWS_CA_BUNDLE").unwrap_err();
        assert!(e.message().contains("larger than"), "{}", e.report());
    }

    #[test]
    fn json_errors_come_from_the_header_type_or_oauth_fields() {
        assert_eq!(
            json_error(
                Some("AuthorizationPendingException:http://internal.amazon.com/coral/x/"),
                "{}"
            ),
            Some(("AuthorizationPendingException".into(), None))
        );
        assert_eq!(
            json_error(
                None,
                r#"{"__type":"com.amazon#ForbiddenException","message":"no"}"#
            ),
            Some(("ForbiddenException".into(), Some("no".into())))
        );
        assert_eq!(
            json_error(None, r#"{"error":"slow_down","error_description":"wait"}"#),
            Some(("SlowDownException".into(), Some("wait".into())))
        );
        assert_eq!(json_error(None, "<html>"), None);
    }

    #[test]
    fn sign_in_errors_come_from_the_error_field() {
        assert_eq!(
            json_error_field(r#"{"error":"TOKEN_EXPIRED","message":"gone"}"#),
            Some(("TOKEN_EXPIRED".into(), Some("gone".into())))
        );
        assert_eq!(json_error_field(r#"{"message":"x"}"#), None);
    }

    #[test]
    fn xml_errors_give_code_and_message() {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>a &amp; b</Message></Error></ErrorResponse>";
        assert_eq!(
            xml_error(body),
            Some(("AccessDenied".into(), Some("a & b".into())))
        );
        assert_eq!(xml_error("<Error><Code>"), None);
    }

    #[test]
    fn throttling_codes_are_retried_but_sign_in_codes_are_not() {
        assert!(is_throttling("Throttling"));
        assert!(is_throttling("ThrottlingException"));
        assert!(!is_throttling("SlowDownException"));
        assert!(!is_throttling("AuthorizationPendingException"));
        assert!(!is_throttling("AccessDenied"));
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..=MAX_ATTEMPTS {
            assert!(backoff(attempt) <= BASE_BACKOFF * (1 << (attempt - 1)));
        }
        assert!(backoff(u32::MAX) <= BASE_BACKOFF * 256);
    }

    /// Answers every request with `status` and `body`, counting requests.
    fn serve(
        status: &'static str,
        body: &'static str,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, count)
    }

    fn get(url: &str, errors: Errors) -> std::result::Result<Reply, Failure> {
        Net::new(Environment::from_pairs([])).send(
            "Op",
            &Request {
                method: "GET",
                url,
                headers: Vec::new(),
                body: Vec::new(),
            },
            errors,
        )
    }

    #[test]
    fn only_transient_failures_are_retried_and_at_most_three_times() {
        let n = |c: &std::sync::atomic::AtomicUsize| c.load(std::sync::atomic::Ordering::SeqCst);
        let (url, count) = serve(
            "400 Bad Request",
            "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>",
        );
        let f = get(&url, Errors::Xml).unwrap_err();
        assert_eq!(f.code.as_deref(), Some("AccessDenied"));
        assert_eq!(n(&count), 1, "a refusal is final");

        let (url, count) = serve(
            "400 Bad Request",
            "<ErrorResponse><Error><Code>Throttling</Code><Message>slow</Message></Error></ErrorResponse>",
        );
        let f = get(&url, Errors::Xml).unwrap_err();
        assert!(
            f.error.report().contains("Throttling: slow"),
            "{}",
            f.error.report()
        );
        assert_eq!(n(&count), 3, "throttling is retried, boundedly");

        let (url, count) = serve("503 Service Unavailable", "<html>down</html>");
        let f = get(&url, Errors::Json).unwrap_err();
        assert!(
            f.error.message().contains("cannot read (HTTP 503)"),
            "{}",
            f.error.report()
        );
        assert!(!f.error.report().contains("down"), "{}", f.error.report());
        assert_eq!(n(&count), 3);

        let (url, count) = serve("404 Not Found", "");
        let f = get(&url, Errors::Plain).unwrap_err();
        assert_eq!(
            f.error.message(),
            format!("Op at {} failed (HTTP 404)", remote::url(&url))
        );
        assert_eq!(n(&count), 1);

        let (url, count) = serve("200 OK", "fine");
        assert_eq!(get(&url, Errors::Json).unwrap().body, "fine");
        assert_eq!(n(&count), 1);
    }

    #[test]
    fn encoding_is_rfc3986() {
        assert_eq!(encode("a b/c~d_e.f-g+h=&"), "a%20b%2Fc~d_e.f-g%2Bh%3D%26");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(form(&[("A", "1"), ("B c", "d&e")]), "A=1&B%20c=d%26e");
    }
}
