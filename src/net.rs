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
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::display::DisplayErrorContext;
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

    /// The URL requests go to, for messages.
    pub fn url(self, env: &Environment, region: &str) -> String {
        env.endpoint_url(self.endpoint_var())
            .unwrap_or_else(|| match self {
                Service::SsoOidc => format!("https://oidc.{region}.amazonaws.com"),
                Service::Sso => format!("https://portal.sso.{region}.amazonaws.com"),
                Service::Sts => format!("https://sts.{region}.amazonaws.com"),
            })
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
    pub fn block_on<F: Future>(&self, f: F) -> Result<F::Output> {
        if self.runtime.get().is_none() {
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
                aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https()
            })
            .clone()
    }

    /// Timeouts: the defaults, or `AWSCRED_HTTP_TIMEOUT` seconds for reads and attempts
    /// (slow proxies want more, tests less).
    fn timeouts(&self) -> TimeoutConfig {
        let custom = self
            .env
            .get(env::AWSCRED_HTTP_TIMEOUT)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0 && v.is_finite())
            .map(Duration::from_secs_f64);
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

/// What went wrong with a request, reduced to what awscred decides on.
#[derive(Debug)]
pub struct Failure {
    /// The service's error code (`AuthorizationPendingException`, …), if it answered.
    pub code: Option<String>,
    /// The error, ready to show.
    pub error: Error,
}

/// Turns an SDK error into a [`Failure`] whose message names the operation and URL.
pub fn failure<E, R>(
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    operation: &str,
    url: &str,
) -> Failure
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let code = err.code().map(str::to_string);
    let error = match &err {
        SdkError::ServiceError(se) if se.err().code().is_some() => {
            let e = se.err();
            let mut text = e.code().unwrap_or("error").to_string();
            if let Some(m) = e.message() {
                text.push_str(": ");
                text.push_str(m);
            }
            Error::unexpected(format!("{operation} at {url} failed")).caused_by_text(text)
        }
        // An answer without an error code is one the SDK could not parse.
        SdkError::ServiceError(_) => Error::unexpected(format!(
            "{operation} at {url} returned a response awscred cannot read"
        ))
        .caused_by_text(DisplayErrorContext(&err).to_string()),
        // A read or connect timeout inside the connector is a timeout too.
        SdkError::TimeoutError(_) => timed_out(operation, url, &err),
        SdkError::DispatchFailure(d) if d.is_timeout() => timed_out(operation, url, &err),
        SdkError::DispatchFailure(_) => {
            Error::unexpected(format!("could not reach {url} for {operation}"))
                .caused_by_text(DisplayErrorContext(&err).to_string())
                .with_hint("check your network connection, proxy and AWS_ENDPOINT_URL settings")
        }
        SdkError::ResponseError(_) => Error::unexpected(format!(
            "{operation} at {url} returned a response awscred cannot read"
        ))
        .caused_by_text(DisplayErrorContext(&err).to_string()),
        _ => Error::unexpected(format!("{operation} at {url} failed"))
            .caused_by_text(DisplayErrorContext(&err).to_string()),
    };
    Failure { code, error }
}

fn timed_out(operation: &str, url: &str, err: &dyn std::error::Error) -> Error {
    Error::unexpected(format!("{operation} at {url} timed out"))
        .caused_by_text(DisplayErrorContext(err).to_string())
        .with_hint("check your network connection or proxy, then run the command again")
}
