//! SigV4 verification: recompute the signature of an incoming request with the secret of the
//! access key it names, and compare.

use crate::Issued;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::http::{HeaderMap, Uri};
use chrono::{NaiveDateTime, Utc};
use std::collections::HashMap;

type Failure = (&'static str, String);

/// Verifies the request; returns the access key id that signed it.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    issued: &HashMap<String, Issued>,
    now: chrono::DateTime<Utc>,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    service: &str,
) -> Result<String, Failure> {
    let auth = header(headers, "authorization").ok_or((
        "MissingAuthenticationToken",
        "request is not signed".to_string(),
    ))?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(("IncompleteSignature", "not AWS4-HMAC-SHA256".to_string()))?;
    let mut credential = "";
    let mut signed_headers = "";
    let mut signature = "";
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = v;
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = v;
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = v;
        }
    }
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[3] != service || scope[4] != "aws4_request" {
        return Err((
            "IncompleteSignature",
            format!("bad credential scope {credential}"),
        ));
    }
    let akid = scope[0];
    let region = scope[2];
    let credentials = live_key(
        issued,
        now,
        akid,
        header(headers, "x-amz-security-token"),
        ("InvalidClientTokenId", "ExpiredToken"),
    )?;
    let date = header(headers, "x-amz-date")
        .ok_or(("IncompleteSignature", "no x-amz-date".to_string()))?;
    let time = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| ("IncompleteSignature", "bad x-amz-date".to_string()))?
        .and_utc();
    let skew = (now - time).num_seconds().abs();
    if skew > 15 * 60 {
        return Err((
            "SignatureDoesNotMatch",
            "Signature expired: request time too skewed".to_string(),
        ));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for name in &names {
        let v = header(headers, name).ok_or((
            "SignatureDoesNotMatch",
            format!("signed header {name} missing"),
        ))?;
        // The signer adds these two itself from the time and the identity.
        if *name != "x-amz-date" && *name != "x-amz-security-token" {
            pairs.push((name, v));
        }
    }
    let host = header(headers, "host").unwrap_or("127.0.0.1");
    let full = format!(
        "http://{host}{}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time.into())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| ("InternalFailure", e.to_string()))?
        .into();
    let request = SignableRequest::new(method, &full, pairs.into_iter(), SignableBody::Bytes(body))
        .map_err(|e| ("InternalFailure", e.to_string()))?;
    let out = sign(request, &params).map_err(|e| ("InternalFailure", e.to_string()))?;
    if out.signature() != signature {
        return Err((
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided."
                .to_string(),
        ));
    }
    Ok(akid.to_string())
}

/// The global Bedrock hosts a Bedrock API key may be signed for, one per partition.
const BEARER_HOSTS: [&str; 2] = ["bedrock.amazonaws.com", "bedrock.amazonaws.com.cn"];

/// Verifies a short-term Bedrock API key (`bedrock-api-key-` + base64 of a presigned
/// `CallWithBearerToken` URL + `&Version=1`): the signature inside against the issued
/// credentials it names, its life (`X-Amz-Date` + `X-Amz-Expires`, at most 12 hours) and,
/// when `region` is given, that it was minted for that region. Returns the access key id.
pub fn verify_bearer(
    issued: &HashMap<String, Issued>,
    now: chrono::DateTime<Utc>,
    key: &str,
    region: Option<&str>,
) -> Result<String, Failure> {
    use base64::Engine;
    let malformed = |why: &str| {
        (
            "UnrecognizedClientException",
            format!("Invalid API key: {why}"),
        )
    };
    let encoded = key
        .strip_prefix("bedrock-api-key-")
        .ok_or_else(|| malformed("no bedrock-api-key- prefix"))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| malformed("not base64"))?;
    let url = String::from_utf8(raw).map_err(|_| malformed("not text"))?;
    let url = url
        .strip_suffix("&Version=1")
        .ok_or_else(|| malformed("no Version=1"))?;
    let (host, query) = url
        .split_once("/?")
        .ok_or_else(|| malformed("not a presigned URL"))?;
    if !BEARER_HOSTS.contains(&host) {
        return Err(malformed("signed for another host"));
    }
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| params.get(k).map(String::as_str);
    if get("Action") != Some("CallWithBearerToken")
        || get("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256")
        || get("X-Amz-SignedHeaders") != Some("host")
    {
        return Err(malformed("not a CallWithBearerToken presign"));
    }
    let credential = get("X-Amz-Credential").unwrap_or_default();
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[3] != "bedrock" || scope[4] != "aws4_request" {
        return Err(malformed("bad credential scope"));
    }
    let (akid, key_region) = (scope[0], scope[2]);
    if let Some(r) = region
        && r != key_region
    {
        return Err((
            "UnrecognizedClientException",
            format!("The API key was issued for {key_region}, not {r}"),
        ));
    }
    let time = get("X-Amz-Date")
        .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y%m%dT%H%M%SZ").ok())
        .ok_or_else(|| malformed("bad X-Amz-Date"))?
        .and_utc();
    let expires: i64 = get("X-Amz-Expires")
        .and_then(|e| e.parse().ok())
        .filter(|e| (1..=43200).contains(e))
        .ok_or_else(|| malformed("X-Amz-Expires not from 1 to 43200"))?;
    if time > now + chrono::Duration::minutes(15) {
        return Err(malformed("signed in the future"));
    }
    if time + chrono::Duration::seconds(expires) <= now {
        return Err((
            "ExpiredTokenException",
            "The API key has expired".to_string(),
        ));
    }
    let credentials = live_key(
        issued,
        now,
        akid,
        get("X-Amz-Security-Token"),
        ("UnrecognizedClientException", "ExpiredTokenException"),
    )?;
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = aws_sigv4::http_request::SignatureLocation::QueryParams;
    settings.expires_in = Some(std::time::Duration::from_secs(expires.unsigned_abs()));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(key_region)
        .name("bedrock")
        .time(time.into())
        .settings(settings)
        .build()
        .map_err(|e| ("InternalFailure", e.to_string()))?
        .into();
    let full = format!("https://{host}/?Action=CallWithBearerToken");
    let request = SignableRequest::new(
        "POST",
        &full,
        [("host", host)].into_iter(),
        SignableBody::Bytes(b""),
    )
    .map_err(|e| ("InternalFailure", e.to_string()))?;
    let out = sign(request, &params).map_err(|e| ("InternalFailure", e.to_string()))?;
    if get("X-Amz-Signature") != Some(out.signature()) {
        return Err((
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided."
                .to_string(),
        ));
    }
    Ok(akid.to_string())
}

/// The credentials of the issued key `akid`, which must be unexpired and presented with its
/// session token (none for a long-term key). The service's error codes are given for
/// (invalid, expired).
fn live_key(
    issued: &HashMap<String, Issued>,
    now: chrono::DateTime<Utc>,
    akid: &str,
    token: Option<&str>,
    (invalid, expired): (&'static str, &'static str),
) -> Result<aws_credential_types::Credentials, Failure> {
    let bad = || {
        (
            invalid,
            "The security token included in the request is invalid.".to_string(),
        )
    };
    let who = issued.get(akid).ok_or_else(bad)?;
    if who.expires_at <= now {
        return Err((
            expired,
            "The security token included in the request is expired".to_string(),
        ));
    }
    let expected_token = (!who.token.is_empty()).then_some(who.token.as_str());
    if token != expected_token {
        return Err(bad());
    }
    Ok(aws_credential_types::Credentials::new(
        akid,
        &who.secret,
        expected_token.map(str::to_string),
        None,
        "emulator",
    ))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Issued;

    fn signed(token: Option<&str>) -> (HeaderMap, String) {
        let identity = aws_credential_types::Credentials::new(
            "AKID",
            "secret",
            token.map(str::to_string),
            None,
            "t",
        )
        .into();
        let time = std::time::SystemTime::now();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("sts")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [
            ("host", "127.0.0.1:1"),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        let req = SignableRequest::new(
            "POST",
            "http://127.0.0.1:1/",
            headers.into_iter(),
            SignableBody::Bytes(b"Action=X"),
        )
        .unwrap();
        let out = sign(req, &params).unwrap();
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(axum::http::HeaderName::from_static(k), v.parse().unwrap());
        }
        for (k, v) in out.output().headers() {
            map.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        (map, out.signature().to_string())
    }

    #[test]
    fn verifies_its_own_signatures_with_and_without_token() {
        for token in [Some("tok"), None] {
            let (headers, _) = signed(token);
            let mut issued = HashMap::new();
            issued.insert(
                "AKID".to_string(),
                Issued {
                    secret: "secret".into(),
                    token: token.unwrap_or("").into(),
                    expires_at: Utc::now() + chrono::Duration::hours(1),
                    account: "1".into(),
                    arn: "a".into(),
                },
            );
            let uri: Uri = "/".parse().unwrap();
            let r = verify(
                &issued,
                Utc::now(),
                "POST",
                &uri,
                &headers,
                b"Action=X",
                "sts",
            );
            assert!(r.is_ok(), "{token:?}: {r:?}");
        }
    }

    fn issued_to(akid: &str, secret: &str, token: &str) -> HashMap<String, Issued> {
        let mut issued = HashMap::new();
        issued.insert(
            akid.to_string(),
            Issued {
                secret: secret.into(),
                token: token.into(),
                expires_at: at() + chrono::Duration::hours(13),
                account: "1".into(),
                arn: "a".into(),
            },
        );
        issued
    }

    fn at() -> chrono::DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .single()
            .unwrap()
    }

    /// Minted by botocore's SigV4QueryAuth (as the Python token generator does) at `at()`
    /// for us-east-1, 12 hours.
    const BOTOCORE_KEY: &str = "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbiZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVkZW50aWFsPUFTSUFFWEFNUExFS0VZMDAwMDAxJTJGMjAyNjExMjUlMkZ1cy1lYXN0LTElMkZiZWRyb2NrJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjExMjVUMTIwMDAwWiZYLUFtei1FeHBpcmVzPTQzMjAwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCZYLUFtei1TZWN1cml0eS1Ub2tlbj1JUW9KYjNKcFoybHVYMlZqRSUyQiUyRiUzRHRvayZYLUFtei1TaWduYXR1cmU9MGUxODRjM2YyNzczZjAyODc1NjhlYmIxODhiMmNiMTQxNTkxOTU3MmRkZWRiYTc3NzY3ZmE4MzQyOTMzZDc1YSZWZXJzaW9uPTE=";

    fn botocore_issued() -> HashMap<String, Issued> {
        issued_to(
            "ASIAEXAMPLEKEY000001",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "IQoJb3JpZ2luX2VjE+/=tok",
        )
    }

    #[test]
    fn accepts_a_key_botocore_minted() {
        let r = verify_bearer(&botocore_issued(), at(), BOTOCORE_KEY, Some("us-east-1"));
        assert_eq!(r, Ok("ASIAEXAMPLEKEY000001".to_string()));
        let later = at() + chrono::Duration::hours(11);
        assert!(verify_bearer(&botocore_issued(), later, BOTOCORE_KEY, None).is_ok());
    }

    #[test]
    fn refuses_other_regions_expired_keys_wrong_secrets_and_tampering() {
        let issued = botocore_issued();
        let r = verify_bearer(&issued, at(), BOTOCORE_KEY, Some("eu-west-1"));
        assert_eq!(r.unwrap_err().0, "UnrecognizedClientException");
        let r = verify_bearer(
            &issued,
            at() + chrono::Duration::hours(12),
            BOTOCORE_KEY,
            None,
        );
        assert_eq!(r.unwrap_err().0, "ExpiredTokenException");
        let wrong = issued_to(
            "ASIAEXAMPLEKEY000001",
            "another secret",
            "IQoJb3JpZ2luX2VjE+/=tok",
        );
        let r = verify_bearer(&wrong, at(), BOTOCORE_KEY, None);
        assert_eq!(r.unwrap_err().0, "InvalidSignatureException");
        let r = verify_bearer(&HashMap::new(), at(), BOTOCORE_KEY, None);
        assert_eq!(r.unwrap_err().0, "UnrecognizedClientException");
        // A longer life written into the key breaks the signature.
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let url = String::from_utf8(
            b64.decode(BOTOCORE_KEY.strip_prefix("bedrock-api-key-").unwrap())
                .unwrap(),
        )
        .unwrap();
        let longer = format!(
            "bedrock-api-key-{}",
            b64.encode(url.replace("X-Amz-Expires=43200", "X-Amz-Expires=43100"))
        );
        let r = verify_bearer(&issued, at(), &longer, None);
        assert_eq!(r.unwrap_err().0, "InvalidSignatureException");
        let other_host = format!(
            "bedrock-api-key-{}",
            b64.encode(url.replace("bedrock.amazonaws.com/", "evil.example/"))
        );
        assert!(verify_bearer(&issued, at(), &other_host, None).is_err());
        assert!(verify_bearer(&issued, at(), "bedrock-api-key-!!!", None).is_err());
        assert!(verify_bearer(&issued, at(), "sk-ant-123", None).is_err());
    }
}
