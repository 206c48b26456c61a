//! AWS Signature Version 4 for the requests awscred signs (STS query requests).
//!
//! Header signing with HMAC-SHA256 (`ring`): the canonical request (method, URI path with
//! each segment encoded again, sorted query, sorted lower-case headers, SHA-256 of the
//! body), the string to sign over the credential scope `date/region/service/aws4_request`,
//! and the key derived from the secret through the date, region and service.

use crate::credentials::Credentials;
use chrono::{DateTime, Utc};
use ring::{digest, hmac};
use std::fmt::Write as _;

/// Lower-case hex of a digest or key.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// The parts of a URL SigV4 needs: `host[:port]` as sent in the Host header, the path and
/// the query.
fn split_url(url: &str) -> (String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('#').next().unwrap_or(rest);
    let (authority, path_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let path = if path.is_empty() { "/" } else { path };
    (host.to_string(), path.to_string(), query.to_string())
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                crate::net::encode(&percent_decode(k)),
                crate::net::encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = b.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Each path segment encoded (again, as SigV4 wants for every service but S3).
fn canonical_path(path: &str) -> String {
    path.split('/')
        .map(crate::net::encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Where and when a signature applies.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The region (`us-east-1`).
    pub region: &'a str,
    /// The signing name of the service (`sts`).
    pub service: &'a str,
    /// The signing time (this machine's clock).
    pub time: DateTime<Utc>,
}

/// Signs a request: returns the headers to send in addition to `headers` (`host`,
/// `x-amz-date`, `x-amz-security-token` when the credentials carry a session token, and
/// `authorization`). `headers` are signed too (names lower-case).
pub fn sign(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    creds: &Credentials,
    scope: Scope<'_>,
) -> Vec<(&'static str, String)> {
    let Scope {
        region,
        service,
        time,
    } = scope;
    let (host, path, query) = split_url(url);
    let amz_date = time.format("%Y%m%dT%H%M%SZ").to_string();
    let date = time.format("%Y%m%d").to_string();
    let mut added: Vec<(&'static str, String)> =
        vec![("host", host), ("x-amz-date", amz_date.clone())];
    if let Some(t) = &creds.session_token {
        added.push(("x-amz-security-token", t.expose().clone()));
    }
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_string()))
        .chain(added.iter().map(|(k, v)| ((*k).to_string(), v.clone())))
        .map(|(k, v)| (k, v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    all.sort();
    let canonical_headers: String = all.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = all
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        canonical_path(&path),
        canonical_query(&query),
        sha256_hex(body)
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let k_signing = signing_key(creds, &date, region, service);
    let signature = hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    added.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    added
}

/// Presigns a request in the query string (SigV4 query authentication) with `host` as the
/// only signed header: returns the query, in botocore's order — `params`, then
/// `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
/// `X-Amz-SignedHeaders`, `X-Amz-Security-Token` when the credentials carry one, and
/// `X-Amz-Signature` last. The payload hash is that of `body`.
#[allow(clippy::too_many_arguments)]
pub fn presign_query(
    method: &str,
    host: &str,
    path: &str,
    params: &[(&str, &str)],
    body: &[u8],
    expires_secs: u64,
    creds: &Credentials,
    scope: Scope<'_>,
) -> String {
    let Scope {
        region,
        service,
        time,
    } = scope;
    let amz_date = time.format("%Y%m%dT%H%M%SZ").to_string();
    let date = time.format("%Y%m%d").to_string();
    let credential_scope = format!("{date}/{region}/{service}/aws4_request");
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    pairs.push(("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()));
    pairs.push((
        "X-Amz-Credential".into(),
        format!("{}/{credential_scope}", creds.access_key_id),
    ));
    pairs.push(("X-Amz-Date".into(), amz_date.clone()));
    pairs.push(("X-Amz-Expires".into(), expires_secs.to_string()));
    pairs.push(("X-Amz-SignedHeaders".into(), "host".into()));
    if let Some(t) = &creds.session_token {
        pairs.push(("X-Amz-Security-Token".into(), t.expose().clone()));
    }
    let encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (crate::net::encode(k), crate::net::encode(v)))
        .collect();
    let mut sorted = encoded.clone();
    sorted.sort();
    let canonical_query = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_request = format!(
        "{method}\n{}\n{canonical_query}\nhost:{}\n\nhost\n{}",
        canonical_path(path),
        host.trim(),
        sha256_hex(body)
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{credential_scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let signature = hex(&hmac_sha256(
        &signing_key(creds, &date, region, service),
        string_to_sign.as_bytes(),
    ));
    let mut query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    query
}

fn signing_key(creds: &Credentials, date: &str, region: &str, service: &str) -> Vec<u8> {
    let secret = format!("AWS4{}", creds.secret_access_key.expose());
    let k_date = hmac_sha256(secret.as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use chrono::TimeZone;

    fn example() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: None,
            expiration: None,
        }
    }

    fn time() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0)
            .single()
            .unwrap()
    }

    fn authorization(h: &[(&'static str, String)]) -> String {
        h.iter()
            .find(|(k, _)| *k == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap()
    }

    /// The AWS SigV4 test suite's `get-vanilla` case.
    #[test]
    fn get_vanilla() {
        let h = sign(
            "GET",
            "https://example.amazonaws.com/",
            &[],
            b"",
            &example(),
            Scope {
                region: "us-east-1",
                service: "service",
                time: time(),
            },
        );
        assert_eq!(
            authorization(&h),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// The test suite's `get-vanilla-query-order-key-case` case: the query is sorted.
    #[test]
    fn get_vanilla_query_order() {
        let h = sign(
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            &[],
            b"",
            &example(),
            Scope {
                region: "us-east-1",
                service: "service",
                time: time(),
            },
        );
        assert_eq!(
            authorization(&h),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn session_token_is_signed_and_urls_split() {
        let mut c = example();
        c.session_token = Some(Secret::new("tok".into()));
        let h = sign(
            "POST",
            "http://127.0.0.1:4566",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"Action=GetCallerIdentity&Version=2011-06-15",
            &c,
            Scope {
                region: "eu-west-1",
                service: "sts",
                time: time(),
            },
        );
        assert!(h.contains(&("host", "127.0.0.1:4566".into())));
        assert!(h.contains(&("x-amz-security-token", "tok".into())));
        assert!(
            authorization(&h)
                .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token")
        );
        assert_eq!(
            split_url("https://u:p@h.example:8443/a/b?x=1#f"),
            ("h.example:8443".into(), "/a/b".into(), "x=1".into())
        );
        assert_eq!(canonical_path("/a b/c"), "/a%20b/c");
    }
}
