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
    let who = issued.get(akid).ok_or((
        "InvalidClientTokenId",
        "The security token included in the request is invalid.".to_string(),
    ))?;
    if who.expires_at <= now {
        return Err((
            "ExpiredToken",
            "The security token included in the request is expired".to_string(),
        ));
    }
    let expected_token = (!who.token.is_empty()).then_some(who.token.as_str());
    if header(headers, "x-amz-security-token") != expected_token {
        return Err((
            "InvalidClientTokenId",
            "The security token included in the request is invalid.".to_string(),
        ));
    }
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
    let identity = aws_credential_types::Credentials::new(
        akid,
        &who.secret,
        expected_token.map(str::to_string),
        None,
        "emulator",
    )
    .into();
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
}
