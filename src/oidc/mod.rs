//! A small OpenID Connect client for external identity providers: discovery, the JWKS, the
//! device authorization endpoint, the token endpoint (code, device code and refresh
//! grants) and token revocation. Synchronous HTTP through ureq with rustls (ring) and the
//! platform's trust store, so corporate CAs work; no async runtime.
//!
//! Everything a provider sends is foreign: bodies are read up to [`MAX_BODY`], errors say
//! the operation, the endpoint (through [`remote::url`]), the HTTP status and the
//! provider's `error` / `error_description` (through [`remote::text`]), never a body, a
//! header or a library's own description of what it parsed. URLs are checked before use:
//! https, or plain http on the loopback interface only, and no endpoint weaker than its
//! issuer.

pub mod jwt;

use crate::error::{Error, Result};
use crate::net::Net;
use crate::remote;
use crate::secret::Secret;
use serde::Deserialize;

/// Largest response body read from a provider (discovery documents and JWKS are a few KiB).
pub const MAX_BODY: u64 = crate::net::MAX_RESPONSE_BYTES as u64;

/// The hosts a plain-http issuer may name: the loopback interface, spelled exactly.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// What a URL is, once parsed: enough to decide whether it may be used.
struct Parsed {
    https: bool,
    loopback: bool,
}

/// Parses an absolute http(s) URL strictly: no userinfo, no fragment, a host.
fn parse_url(url: &str) -> std::result::Result<Parsed, &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains spaces or control characters");
    }
    if url.contains('#') {
        return Err("it has a fragment (#)");
    }
    let uri: ureq::http::Uri = url.parse().map_err(|_| "it is not a URL")?;
    let https = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => true,
        Some(s) if s.eq_ignore_ascii_case("http") => false,
        _ => return Err("it is not an http(s) URL"),
    };
    let Some(authority) = uri.authority() else {
        return Err("it names no host");
    };
    if authority.as_str().contains('@') {
        return Err("it carries a user name or password (@)");
    }
    let host = authority.host();
    if host.is_empty() {
        return Err("it names no host");
    }
    let loopback = LOOPBACK_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host));
    Ok(Parsed { https, loopback })
}

/// Checks an issuer URL: https, or http on exactly `127.0.0.1`, `[::1]` or `localhost`;
/// no userinfo, query or fragment (OpenID Connect Discovery §2). The error says why.
pub fn check_issuer(issuer: &str) -> std::result::Result<(), String> {
    let p = parse_url(issuer).map_err(str::to_string)?;
    if issuer.contains('?') {
        return Err("an issuer has no query (?)".into());
    }
    if !p.https && !p.loopback {
        return Err(
            "plain http is allowed only for 127.0.0.1, [::1] and localhost; use https://".into(),
        );
    }
    Ok(())
}

/// Checks an endpoint a provider published for `issuer`: https, or plain http on the
/// loopback interface when the issuer itself is plain http there. Never weaker than the
/// issuer: an https issuer's endpoints are all https.
pub fn check_endpoint(issuer: &str, endpoint: &str) -> std::result::Result<(), String> {
    let i = parse_url(issuer).map_err(str::to_string)?;
    let e = parse_url(endpoint).map_err(str::to_string)?;
    if e.https {
        return Ok(());
    }
    if i.https {
        return Err("it is plain http, but the issuer is https".into());
    }
    if !(i.loopback && e.loopback) {
        return Err("plain http is allowed only on the loopback interface".into());
    }
    Ok(())
}

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
    /// RFC 7009 token revocation, when the provider publishes it (RFC 8414 metadata).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
}

/// An HTTP client for one provider, on the process's one HTTP stack ([`Net`]): the same
/// trust store, `AWS_CA_BUNDLE`, proxies, timeouts and body cap as every AWS request.
pub struct Http<'a> {
    net: &'a Net,
}

/// What a provider said when it refused: its `error` and `error_description`, made inert.
fn provider_error(body: &serde_json::Value) -> Option<String> {
    let code = body.get("error").and_then(|e| e.as_str())?;
    let desc = body
        .get("error_description")
        .and_then(|e| e.as_str())
        .unwrap_or("");
    Some(if desc.is_empty() {
        remote::text(code)
    } else {
        format!("{}: {}", remote::text(code), remote::text(desc))
    })
}

use crate::net::transport_cause;

fn unreachable_err(url: &str, what: &str, e: &ureq::Error) -> Error {
    Error::unexpected(format!("could not reach {} for {what}", remote::url(url)))
        .caused_by_text(transport_cause(e))
        .with_hint("check your network connection, proxy and the issuer URL (awscred_oidc_issuer)")
}

/// Why a body is not what was expected, without quoting it (serde's messages do).
fn json_cause(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => {
            format!("not JSON (line {}, column {})", e.line(), e.column())
        }
        Category::Data => "JSON without the expected fields".into(),
        Category::Io => "it could not be read".into(),
    }
}

impl<'a> Http<'a> {
    /// A client on `net`; no redirects are followed (a redirect could lead from https to
    /// http). A malformed network setting (`AWSCRED_HTTP_TIMEOUT`, a proxy, the CA bundle)
    /// is an error naming it, before any request.
    pub fn new(net: &'a Net) -> Result<Self> {
        net.ready()?;
        Ok(Self { net })
    }

    fn agent(&self, url: &str, what: &str) -> Result<&ureq::Agent> {
        self.net
            .agent_for(url)
            .map_err(|e| e.context(format!("cannot send {what} to {}", remote::url(url))))
    }

    /// Reads a response body, at most [`MAX_BODY`] bytes.
    fn read_body(
        url: &str,
        what: &str,
        resp: &mut ureq::http::Response<ureq::Body>,
    ) -> Result<String> {
        resp.body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| {
                Error::unexpected(format!(
                    "{what} at {} sent a response awscred cannot read",
                    remote::url(url)
                ))
                .caused_by_text(transport_cause(&e))
            })
    }

    /// Parses a body as JSON (any status); a body that is not JSON is an error that names
    /// the status.
    fn json(url: &str, what: &str, status: u16, body: &str) -> Result<serde_json::Value> {
        serde_json::from_str(body).map_err(|e| {
            Error::unexpected(format!(
                "{what} at {} answered HTTP {status} with a body awscred cannot read",
                remote::url(url)
            ))
            .caused_by_text(json_cause(&e))
        })
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str, what: &str) -> Result<T> {
        let mut resp = self
            .agent(url, what)?
            .get(url)
            .header("accept", "application/json")
            .call()
            .map_err(|e| unreachable_err(url, what, &e))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(Error::unexpected(format!(
                "{what} at {} answered HTTP {status}",
                remote::url(url)
            )));
        }
        let body = Self::read_body(url, what, &mut resp)?;
        serde_json::from_str(&body).map_err(|e| {
            Error::unexpected(format!(
                "{what} at {} returned a document awscred cannot read",
                remote::url(url)
            ))
            .caused_by_text(json_cause(&e))
        })
    }

    /// Posts a form; the status and the raw body (which may be empty, as a revocation
    /// endpoint's is).
    fn post_form_raw(&self, url: &str, what: &str, form: &[(&str, &str)]) -> Result<(u16, String)> {
        let mut resp = self
            .agent(url, what)?
            .post(url)
            .header("accept", "application/json")
            .send_form(form.iter().copied())
            .map_err(|e| unreachable_err(url, what, &e))?;
        let status = resp.status().as_u16();
        let body = Self::read_body(url, what, &mut resp)?;
        Ok((status, body))
    }

    fn post_form(
        &self,
        url: &str,
        what: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, serde_json::Value)> {
        let (status, body) = self.post_form_raw(url, what, form)?;
        Ok((status, Self::json(url, what, status, &body)?))
    }

    /// Posts awsJson1.1 (Cognito identity pools); unsigned.
    pub fn post_aws_json(
        &self,
        url: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value)> {
        let mut resp = self
            .agent(url, target)?
            .post(url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .send(body.to_string())
            .map_err(|e| unreachable_err(url, target, &e))?;
        let status = resp.status().as_u16();
        let text = Self::read_body(url, target, &mut resp)?;
        Ok((status, Self::json(url, target, status, &text)?))
    }
}

fn bad_url(issuer: &str, field: &str, url: &str, why: &str) -> Error {
    Error::user(format!(
        "the identity provider {} publishes a {field} awscred will not use ({}): {why}",
        remote::url(issuer),
        remote::url(url)
    ))
    .with_hint("check awscred_oidc_issuer; every endpoint must be https:// (plain http only on 127.0.0.1 for a local test provider)")
}

/// Reads `/.well-known/openid-configuration`, checks the issuer it names and that every
/// endpoint is https (or loopback for a loopback issuer).
pub fn discover(http: &Http, issuer: &str) -> Result<Provider> {
    check_issuer(issuer).map_err(|why| {
        Error::user(format!(
            "awscred_oidc_issuer {} is not usable: {why}",
            remote::url(issuer)
        ))
        .with_hint("set awscred_oidc_issuer to the provider's https:// issuer URL")
    })?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let p: Provider = http.get_json(&url, "OpenID discovery")?;
    if p.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(Error::user(format!(
            "the identity provider at {} calls itself {}, not {issuer}",
            remote::url(&url),
            remote::text(&p.issuer)
        ))
        .with_hint("set awscred_oidc_issuer to exactly the issuer the provider publishes"));
    }
    let endpoints = [
        ("authorization_endpoint", Some(&p.authorization_endpoint)),
        ("token_endpoint", Some(&p.token_endpoint)),
        ("jwks_uri", Some(&p.jwks_uri)),
        (
            "device_authorization_endpoint",
            p.device_authorization_endpoint.as_ref(),
        ),
        ("revocation_endpoint", p.revocation_endpoint.as_ref()),
    ];
    for (field, url) in endpoints {
        if let Some(url) = url {
            check_endpoint(issuer, url).map_err(|why| bad_url(issuer, field, url, &why))?;
        }
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
    pub id_token: Option<Secret<String>>,
    /// Refresh token.
    #[serde(default)]
    pub refresh_token: Option<Secret<String>>,
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
    /// `invalid_grant` and similar: the grant (code, refresh token) is no good. Holds the
    /// provider's error, already made inert.
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
    let url = &provider.token_endpoint;
    let (status, body) = http
        .post_form(url, "the token endpoint", form)
        .map_err(Refusal::Failed)?;
    if status == 200 {
        return serde_json::from_value(body).map_err(|e| {
            Refusal::Failed(
                Error::unexpected(format!(
                    "the token endpoint {} answered without tokens",
                    remote::url(url)
                ))
                .caused_by_text(json_cause(&e)),
            )
        });
    }
    let code = body.get("error").and_then(|e| e.as_str()).unwrap_or("");
    let said = provider_error(&body).unwrap_or_else(|| "no error code".into());
    Err(match code {
        "authorization_pending" => Refusal::Pending,
        "slow_down" => Refusal::SlowDown,
        "expired_token" => Refusal::Expired,
        "access_denied" => Refusal::Denied,
        "invalid_grant" | "invalid_request" | "unauthorized_client" => Refusal::InvalidGrant(said),
        _ => Refusal::Failed(
            Error::unexpected(format!(
                "the token endpoint {} answered HTTP {status}",
                remote::url(url)
            ))
            .caused_by_text(said),
        ),
    })
}

/// Revokes a refresh token (RFC 7009) at the provider's `revocation_endpoint`.
/// `Ok(false)` when the provider publishes none.
pub fn revoke_refresh_token(
    http: &Http,
    provider: &Provider,
    client_id: &str,
    client_secret: Option<&Secret<String>>,
    refresh_token: &Secret<String>,
) -> Result<bool> {
    let Some(url) = &provider.revocation_endpoint else {
        return Ok(false);
    };
    let mut form = vec![
        ("token", refresh_token.expose().as_str()),
        ("token_type_hint", "refresh_token"),
        ("client_id", client_id),
    ];
    if let Some(s) = client_secret {
        form.push(("client_secret", s.expose().as_str()));
    }
    let (status, body) = http.post_form_raw(url, "token revocation", &form)?;
    // RFC 7009 §2.2 answers 200 (also for a token already invalid); some providers 204.
    if (200..300).contains(&status) {
        return Ok(true);
    }
    let said = serde_json::from_str(&body)
        .ok()
        .and_then(|v| provider_error(&v));
    let e = Error::unexpected(format!(
        "token revocation at {} answered HTTP {status}",
        remote::url(url)
    ));
    Err(match said {
        Some(s) => e.caused_by_text(s),
        None => e,
    })
}

/// An RFC 8628 device authorization.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceAuthorization {
    /// Device code (a bearer secret while the sign-in is pending).
    pub device_code: Secret<String>,
    /// Code the user confirms.
    pub user_code: Secret<String>,
    /// Where to confirm it.
    pub verification_uri: String,
    /// The same, with the code filled in.
    #[serde(default)]
    pub verification_uri_complete: Option<Secret<String>>,
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
            remote::text(&provider.issuer)
        ))
        .with_hint("use the browser sign-in (awscred_login = browser)"));
    };
    let (status, body) = http.post_form(url, "device authorization", form)?;
    if status != 200 {
        let said = provider_error(&body).unwrap_or_else(|| "no error code".into());
        return Err(Error::user(format!(
            "device authorization at {} was refused (HTTP {status})",
            remote::url(url)
        ))
        .caused_by_text(said)
        .with_hint("check awscred_oidc_client_id and that the client may use the device grant"));
    }
    serde_json::from_value(body).map_err(|e| {
        Error::unexpected(format!(
            "device authorization at {} answered without a device code",
            remote::url(url)
        ))
        .caused_by_text(json_cause(&e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Duration;

    #[test]
    fn issuers_are_https_or_exactly_loopback() {
        for ok in [
            "https://idp.example.com",
            "https://login.microsoftonline.com/tenant/v2.0",
            "http://127.0.0.1:8080",
            "http://127.0.0.1",
            "http://[::1]:9000/realms/x",
            "http://localhost:3000",
            "HTTP://LOCALHOST:3000",
        ] {
            assert_eq!(check_issuer(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://localhost.attacker.example",
            "http://127.0.0.1.attacker.example",
            "http://127.0.0.1@attacker.example",
            "http://localhost:80@attacker.example",
            "https://user:pw@idp.example.com",
            "http://idp.example.com",
            "http://[::2]:80",
            "ftp://idp.example.com",
            "https://idp.example.com/?x=1",
            "https://idp.example.com/#x",
            "https://",
            "idp.example.com",
            "https://idp.example.com/\u{1b}[2J",
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_are_never_weaker_than_the_issuer() {
        let https = "https://idp.example.com";
        assert!(check_endpoint(https, "https://other.example.com/token").is_ok());
        assert!(check_endpoint(https, "http://idp.example.com/token").is_err());
        assert!(check_endpoint(https, "http://127.0.0.1:9/token").is_err());
        assert!(check_endpoint(https, "https://u:p@idp.example.com/token").is_err());
        let local = "http://127.0.0.1:4444";
        assert!(check_endpoint(local, "http://127.0.0.1:4444/token").is_ok());
        assert!(check_endpoint(local, "http://localhost:4444/token").is_ok());
        assert!(check_endpoint(local, "https://idp.example.com/token").is_ok());
        assert!(check_endpoint(local, "http://idp.example.com/token").is_err());
        assert!(check_endpoint(local, "http://localhost.attacker.example/token").is_err());
    }

    /// Serves one canned HTTP answer on a loopback port.
    fn serve_once(status: &str, body: Vec<u8>) -> String {
        serve_and_record(status, body).0
    }

    /// Serves one canned HTTP answer and hands back the request it got.
    fn serve_and_record(
        status: &str,
        body: Vec<u8>,
    ) -> (String, std::sync::mpsc::Receiver<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = status.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if rest.len() >= len {
                        break;
                    }
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&request).into_owned());
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        });
        (format!("http://127.0.0.1:{port}"), rx)
    }

    fn provider(base: &str) -> Provider {
        Provider {
            issuer: base.into(),
            authorization_endpoint: format!("{base}/auth"),
            token_endpoint: format!("{base}/token?k=SECRET-QUERY"),
            device_authorization_endpoint: None,
            jwks_uri: format!("{base}/jwks"),
            revocation_endpoint: Some(format!("{base}/revoke")),
        }
    }

    fn http() -> Http<'static> {
        let net = Box::leak(Box::new(Net::new(crate::env::Environment::from_pairs([]))));
        Http::new(net).expect("default settings")
    }

    #[test]
    fn errors_never_carry_the_body_or_the_query() {
        let base = serve_once(
            "500 Internal Server Error",
            br#"<html>SECRET-BODY "refresh_token":"rt-123"</html>"#.to_vec(),
        );
        let Err(Refusal::Failed(e)) = token(&http(), &provider(&base), &[("a", "b")]) else {
            panic!("a 500 is a failure")
        };
        let report = e.report();
        assert!(report.contains("HTTP 500"), "{report}");
        assert!(!report.contains("SECRET"), "{report}");
        assert!(!report.contains("rt-123"), "{report}");

        // A 200 whose fields have the wrong type: serde would quote the value.
        let base = serve_once("200 OK", br#"{"id_token": 12345678}"#.to_vec());
        let Err(Refusal::Failed(e)) = token(&http(), &provider(&base), &[]) else {
            panic!("a token answer of the wrong shape is a failure")
        };
        assert!(!e.report().contains("12345678"), "{}", e.report());

        // The provider's own error code and description, inert.
        let base = serve_once(
            "400 Bad Request",
            br#"{"error":"invalid_client","error_description":"bad\u001b[2J\nhint: x"}"#.to_vec(),
        );
        let Err(Refusal::Failed(e)) = token(&http(), &provider(&base), &[]) else {
            panic!("invalid_client is a failure")
        };
        let report = e.report();
        assert!(
            report.contains("invalid_client: bad\\u{1b}[2J\\nhint: x"),
            "{report}"
        );
        assert!(!report.contains('\u{1b}'), "{report}");
    }

    #[test]
    fn discovery_refuses_endpoints_weaker_than_the_issuer() {
        // The document names the issuer, so the port is chosen before it is written.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let doc = serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": "http://idp.example.com/token",
            "jwks_uri": format!("{issuer}/jwks"),
        })
        .to_string();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{doc}",
                doc.len()
            );
        });
        let e = discover(&http(), &issuer).unwrap_err();
        assert!(e.message().contains("token_endpoint"), "{}", e.report());
        assert!(
            e.message().contains("http://idp.example.com/token"),
            "{}",
            e.report()
        );
        let e = discover(&http(), "http://localhost.attacker.example").unwrap_err();
        assert!(e.message().contains("not usable"), "{}", e.report());
    }

    #[test]
    fn bodies_are_size_capped() {
        let mut big = b"{\"error\":\"".to_vec();
        big.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
        big.extend(b"\"}");
        let base = serve_once("400 Bad Request", big);
        let Err(Refusal::Failed(e)) = token(&http(), &provider(&base), &[]) else {
            panic!("an oversized answer is a failure")
        };
        assert!(e.report().contains("larger than"), "{}", e.report());
    }

    #[test]
    fn revocation_sends_rfc7009_fields_and_reports_refusals() {
        let (base, request) = serve_and_record("200 OK", Vec::new());
        assert!(
            revoke_refresh_token(
                &http(),
                &provider(&base),
                "c1",
                None,
                &Secret::new("rt-9".into())
            )
            .unwrap()
        );
        let request = request.recv().unwrap();
        assert!(request.starts_with("POST /revoke "), "{request}");
        let body = request.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(
            body,
            "token=rt-9&token_type_hint=refresh_token&client_id=c1"
        );

        let base = serve_once("503 Service Unavailable", b"down".to_vec());
        let e = revoke_refresh_token(
            &http(),
            &provider(&base),
            "c1",
            None,
            &Secret::new("rt".into()),
        )
        .unwrap_err();
        assert!(e.message().contains("HTTP 503"), "{}", e.report());
        assert!(!e.report().contains("down"), "{}", e.report());
        let mut p = provider(&base);
        p.revocation_endpoint = None;
        assert!(!revoke_refresh_token(&http(), &p, "c1", None, &Secret::new("rt".into())).unwrap());
    }

    #[test]
    fn token_types_keep_secrets_out_of_debug() {
        let t: Tokens =
            serde_json::from_str(r#"{"id_token":"eyJ-id","refresh_token":"rt-1","expires_in":5}"#)
                .unwrap();
        let d: DeviceAuthorization = serde_json::from_str(
            r#"{"device_code":"dc-1","user_code":"ABCD-EFGH","verification_uri":"https://x/device","verification_uri_complete":"https://x/device?user_code=ABCD-EFGH","expires_in":600}"#,
        )
        .unwrap();
        let shown = format!("{t:?} {d:?}");
        for secret in ["eyJ-id", "rt-1", "dc-1", "ABCD-EFGH"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
