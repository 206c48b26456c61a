//! AWS clients, built only when a request must be sent.
//!
//! The cache-hit path never reaches this module: no async runtime, no TLS, no SDK client.
//! When a request is needed, one current-thread Tokio runtime and one rustls (ring) HTTPS
//! client are made and shared. Endpoints follow `AWS_ENDPOINT_URL_*` so private networks
//! and the local emulator work without any special code path.

use crate::credentials::Credentials;
use crate::env::{self, Environment};
use crate::error::{Error, Result};
use aws_sdk_sso::config::Region;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::cell::OnceCell;
use std::future::Future;
use std::time::Duration;

/// Connect timeout for every AWS request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Read timeout for every AWS request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Upper bound of one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body read from an AWS service; AWS's answers to these operations are a
/// few kilobytes, and a hostile endpoint must not make awscred buffer gigabytes.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Attempts per request (the SDK's standard retry with backoff for 5xx and throttling).
pub const MAX_ATTEMPTS: u32 = 3;

/// Lazily built network plumbing.
pub struct Net {
    env: Environment,
    runtime: OnceCell<tokio::runtime::Runtime>,
    http: OnceCell<SharedHttpClient>,
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

    /// The URL requests go to, for messages (without userinfo, query or fragment).
    pub fn url(self, env: &Environment, region: &str) -> String {
        let url = env
            .endpoint_url(self.endpoint_var())
            .unwrap_or_else(|| match self {
                Service::SsoOidc => format!("https://oidc.{region}.amazonaws.com"),
                Service::Sso => format!("https://portal.sso.{region}.amazonaws.com"),
                Service::Sts => format!("https://sts.{region}.amazonaws.com"),
            });
        crate::remote::url(&url)
    }
}

impl Net {
    /// Plumbing for `env`; nothing is built yet.
    pub fn new(env: Environment) -> Self {
        Self {
            env,
            runtime: OnceCell::new(),
            http: OnceCell::new(),
        }
    }

    /// Runs a future to completion on the shared runtime.
    /// The first call checks the endpoint overrides, so a malformed one is refused before
    /// any request is sent.
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output> {
        if self.runtime.get().is_none() {
            self.env.check_endpoint_urls()?;
            self.env.http_timeout()?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::unexpected("cannot start the network runtime").caused_by(&e))?;
            let _ = self.runtime.set(rt);
        }
        let rt = self
            .runtime
            .get()
            .ok_or_else(|| Error::unexpected("network runtime missing"))?;
        Ok(rt.block_on(f))
    }

    /// The shared HTTPS client.
    pub fn http(&self) -> SharedHttpClient {
        self.http
            .get_or_init(|| {
                SharedHttpClient::new(Capped(
                    aws_smithy_http_client::Builder::new()
                        .tls_provider(tls::Provider::Rustls(
                            tls::rustls_provider::CryptoMode::Ring,
                        ))
                        .build_https(),
                ))
            })
            .clone()
    }

    /// Timeouts: the defaults, or `AWSCRED_HTTP_TIMEOUT` seconds for reads and attempts
    /// (slow proxies want more, tests less).
    fn timeouts(&self) -> TimeoutConfig {
        // Checked (an error naming the variable) before the first request, in `block_on`.
        let custom = self.env.http_timeout().ok().flatten();
        TimeoutConfig::builder()
            .connect_timeout(custom.map_or(CONNECT_TIMEOUT, |c| c.min(CONNECT_TIMEOUT)))
            .read_timeout(custom.unwrap_or(READ_TIMEOUT))
            .operation_attempt_timeout(custom.unwrap_or(ATTEMPT_TIMEOUT))
            .build()
    }

    /// An IAM Identity Center OIDC client.
    pub fn sso_oidc(&self, region: &str) -> aws_sdk_ssooidc::Client {
        let mut b = aws_sdk_ssooidc::Config::builder()
            .region(Region::new(region.to_string()))
            .http_client(self.http())
            .timeout_config(self.timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(url) = self.env.endpoint_url(Service::SsoOidc.endpoint_var()) {
            b = b.endpoint_url(url);
        }
        aws_sdk_ssooidc::Client::from_conf(b.build())
    }

    /// An IAM Identity Center portal client.
    pub fn sso(&self, region: &str) -> aws_sdk_sso::Client {
        let mut b = aws_sdk_sso::Config::builder()
            .region(Region::new(region.to_string()))
            .http_client(self.http())
            .timeout_config(self.timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(url) = self.env.endpoint_url(Service::Sso.endpoint_var()) {
            b = b.endpoint_url(url);
        }
        aws_sdk_sso::Client::from_conf(b.build())
    }

    /// An STS client signing with `creds` (unsigned calls pass `None`).
    pub fn sts(&self, region: &str, creds: Option<&Credentials>) -> aws_sdk_sts::Client {
        let mut b = aws_sdk_sts::Config::builder()
            .region(Region::new(region.to_string()))
            .http_client(self.http())
            .timeout_config(self.timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(c) = creds {
            b = b.credentials_provider(aws_credential_types::Credentials::new(
                c.access_key_id.clone(),
                c.secret_access_key.expose().clone(),
                c.session_token.as_ref().map(|t| t.expose().clone()),
                c.expiration.map(std::time::SystemTime::from),
                "awscred",
            ));
        }
        if let Some(url) = self.env.endpoint_url(Service::Sts.endpoint_var()) {
            b = b.endpoint_url(url);
        }
        aws_sdk_sts::Client::from_conf(b.build())
    }

    /// The environment the clients were built from.
    pub fn env(&self) -> &Environment {
        &self.env
    }
}

/// An HTTP client whose response bodies end after [`MAX_RESPONSE_BYTES`]: a longer body is a
/// read error, reported as a response awscred cannot read.
#[derive(Debug)]
struct Capped(SharedHttpClient);

impl HttpClient for Capped {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CappedConnector(self.0.http_connector(settings, components)))
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct CappedConnector(SharedHttpConnector);

impl HttpConnector for CappedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let response = self.0.call(request);
        HttpConnectorFuture::new(async move {
            Ok(response.await?.map(|body| {
                SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_RESPONSE_BYTES))
            }))
        })
    }
}

/// What went wrong with a request, reduced to what awscred decides on.
#[derive(Debug)]
pub struct Failure {
    /// The service's error code (`AuthorizationPendingException`, …), if it answered.
    pub code: Option<String>,
    /// The error, ready to show.
    pub error: Error,
}

/// Turns an SDK error into a [`Failure`] whose message names the operation, the URL (without
/// userinfo, query or fragment), the HTTP status and the service's error code and message.
///
/// Never the response body, a request header or the SDK's `Debug` text: a reply the SDK
/// could not read may be a 200 carrying valid secrets next to one malformed field, and the
/// SDK's own error context prints the raw response and the signed request.
pub fn failure<E>(
    err: aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
    operation: &str,
    url: &str,
) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let url = crate::remote::url(url);
    let status = err
        .raw_response()
        .map(|r| format!(" (HTTP {})", r.status().as_u16()))
        .unwrap_or_default();
    let code = match &err {
        SdkError::ServiceError(se) => se.err().code().map(str::to_string),
        _ => None,
    };
    let error = match &err {
        SdkError::ServiceError(se) if se.err().code().is_some() => {
            let e = se.err();
            let mut text = crate::remote::text(e.code().unwrap_or("error"));
            if let Some(m) = e.message().filter(|m| !m.is_empty()) {
                text.push_str(": ");
                text.push_str(&crate::remote::text(m));
            }
            Error::unexpected(format!("{operation} at {url} failed{status}")).caused_by_text(text)
        }
        // An answer without an error code, or one that could not be read, is one the SDK
        // could not parse: say so, and show none of it.
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => Error::unexpected(format!(
            "{operation} at {url} returned a response awscred cannot read{status}"
        ))
        .with_hint("check AWS_ENDPOINT_URL settings and any proxy between you and AWS"),
        // A read or connect timeout inside the connector is a timeout too.
        SdkError::TimeoutError(_) => timed_out(operation, &url),
        SdkError::DispatchFailure(d) if d.is_timeout() => timed_out(operation, &url),
        SdkError::DispatchFailure(d) => {
            let mut e = Error::unexpected(format!("could not reach {url} for {operation}"))
                .with_hint("check your network connection, proxy and AWS_ENDPOINT_URL settings");
            if let Some(cause) = std::error::Error::source(
                d.as_connector_error()
                    .map_or(&err as &(dyn std::error::Error + 'static), |c| {
                        c as &(dyn std::error::Error + 'static)
                    }),
            ) {
                e = e.caused_by(cause);
            }
            e
        }
        // Building the request failed before anything was sent.
        SdkError::ConstructionFailure(_) => {
            Error::unexpected(format!("cannot build the {operation} request for {url}"))
                .with_hint("check the region and the AWS_ENDPOINT_URL settings")
        }
        _ => Error::unexpected(format!("{operation} at {url} failed{status}")),
    };
    Failure { code, error }
}

fn timed_out(operation: &str, url: &str) -> Error {
    Error::unexpected(format!("{operation} at {url} timed out"))
        .with_hint("check your network connection or proxy, then run the command again")
}
