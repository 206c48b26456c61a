//! STS over the query protocol: AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken,
//! GetFederationToken and GetCallerIdentity. Form-encoded POST to the regional endpoint (or `AWS_ENDPOINT_URL_STS`),
//! signed with SigV4 unless the operation is unsigned; answers are small XML documents read
//! by a bounded element lookup, errors are `<Error><Code>…</Code><Message>…</Message>`.

use crate::credentials::Credentials;
use crate::error::Error;
use crate::net::{Errors, Failure, Net, Request, Service};
use crate::secret::Secret;
use chrono::{DateTime, Utc};

/// The STS API version.
pub const VERSION: &str = "2011-06-15";

/// Calls `action` with `params`; signed with `creds` (at `now`) when given. Returns the
/// answer's `<{action}Result>` element.
pub fn call(
    net: &Net,
    region: &str,
    creds: Option<(&Credentials, DateTime<Utc>)>,
    action: &str,
    params: &[(&str, &str)],
) -> Result<String, Failure> {
    let base = Service::Sts.base(net.env(), region);
    let url = format!("{base}/");
    let shown = crate::remote::url(&url);
    let mut pairs = vec![("Action", action), ("Version", VERSION)];
    pairs.extend_from_slice(params);
    let body = crate::net::form(&pairs);
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let mut headers = vec![("content-type", content_type.to_string())];
    if let Some((c, now)) = creds {
        headers.extend(crate::sigv4::sign(
            "POST",
            &url,
            &[("content-type", content_type)],
            body.as_bytes(),
            c,
            crate::sigv4::Scope {
                region,
                service: "sts",
                time: now,
            },
        ));
    }
    crate::log::debug(&format!("{action} at {shown}"));
    let reply = net.send(
        action,
        &Request {
            method: "POST",
            url: &url,
            headers,
            body: body.into_bytes(),
        },
        Errors::Xml,
    )?;
    let root = format!("{action}Response");
    let result = format!("{action}Result");
    xml_element(&reply.body, &root)
        .and_then(|r| xml_element(r, &result))
        .map(str::to_string)
        .ok_or_else(|| crate::net::unreadable(action, &shown, Some(reply.status)).into())
}

/// The session policy sent with GetFederationToken: everything. A federated user's
/// permissions are the intersection of this and the IAM user's own policies, so the
/// session can do what the user can (less IAM and most of STS, which AWS never allows a
/// federation token); an inline policy, unlike the `AdministratorAccess` ARN aws-vault
/// sends, is the same in every partition.
pub const FEDERATION_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The `Name` of a federated user: the characters GetFederationToken accepts
/// (`[\w+=,.@-]`, others become `-`), 2 to 32 of them.
pub fn federated_user_name(wanted: &str) -> String {
    let mut name: String = wanted
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(32)
        .collect();
    if name.len() < 2 {
        name = "awscred".to_string();
    }
    name
}

/// GetFederationToken, signed with an IAM user's long-term keys: a session for the AWS
/// console, which takes no long-term keys. Returns the `<GetFederationTokenResult>`.
pub fn get_federation_token(
    net: &Net,
    region: &str,
    creds: &Credentials,
    now: DateTime<Utc>,
    name: &str,
    duration_seconds: u32,
) -> Result<String, Failure> {
    let duration = duration_seconds.to_string();
    call(
        net,
        region,
        Some((creds, now)),
        "GetFederationToken",
        &[
            ("Name", &federated_user_name(name)),
            ("DurationSeconds", &duration),
            ("Policy", FEDERATION_POLICY),
        ],
    )
}

/// The `<Credentials>` of an answer, checked: all four fields, an RFC 3339 expiration.
pub fn credentials(result: &str, action: &str, url: &str) -> Result<Credentials, Error> {
    let Some(c) = xml_element(result, "Credentials") else {
        return Err(Error::unexpected(format!(
            "{action} at {url} returned no credentials"
        )));
    };
    let get = |k: &str| {
        xml_element(c, k)
            .map(xml_unescape)
            .filter(|v| !v.is_empty())
    };
    let (Some(akid), Some(secret), Some(token), Some(expiration)) = (
        get("AccessKeyId"),
        get("SecretAccessKey"),
        get("SessionToken"),
        get("Expiration"),
    ) else {
        return Err(Error::unexpected(format!(
            "{action} at {url} returned empty credentials"
        )));
    };
    let expiration = DateTime::parse_from_rfc3339(expiration.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| crate::net::unreadable(action, url, Some(200)))?;
    Ok(Credentials {
        access_key_id: akid,
        secret_access_key: Secret::new(secret),
        session_token: Some(Secret::new(token)),
        expiration: Some(expiration),
    })
}

/// The text inside the first `<name …>…</name>` of `xml` (the element's own markup
/// excluded), if the element is complete. Bounded: one forward scan, no recursion.
pub fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut from = 0;
    while let Some(i) = xml.get(from..)?.find(&open) {
        let start = from + i + open.len();
        let rest = xml.get(start..)?;
        // `<Name>` or `<Name attr…>`, not `<NameOther>`.
        match rest.chars().next() {
            Some('>' | '/' | ' ' | '\t' | '\r' | '\n') => {
                let gt = rest.find('>')?;
                if rest[..gt].ends_with('/') {
                    return Some("");
                }
                let body_start = start + gt + 1;
                let end = xml.get(body_start..)?.find(&close)?;
                return xml.get(body_start..body_start + end);
            }
            _ => from = start,
        }
    }
    None
}

/// XML text with its five predefined entities and numeric references resolved; anything
/// else is left as it is.
pub fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(semi) = tail.find(';').filter(|&n| n <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| e.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_whole_and_only_whole() {
        let x = "<R xmlns=\"n\"><AssumeRoleResult><CredentialsX>no</CredentialsX><Credentials><AccessKeyId>A</AccessKeyId><Empty/></Credentials></AssumeRoleResult></R>";
        let r = xml_element(x, "AssumeRoleResult").unwrap();
        let c = xml_element(r, "Credentials").unwrap();
        assert_eq!(xml_element(c, "AccessKeyId"), Some("A"));
        assert_eq!(xml_element(c, "Empty"), Some(""));
        assert_eq!(xml_element("<A><B>cut", "B"), None);
        assert_eq!(xml_element("<A>", "Missing"), None);
    }

    #[test]
    fn entities_are_resolved() {
        assert_eq!(
            xml_unescape("a&amp;b&lt;c&gt;&quot;&apos;&#65;&#x42;&bogus;&"),
            "a&b<c>\"'AB&bogus;&"
        );
    }

    #[test]
    fn credentials_need_every_field_and_a_date() {
        let ok = "<Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00.5Z</Expiration></Credentials>";
        let c = credentials(ok, "AssumeRole", "u").unwrap();
        assert_eq!(c.access_key_id, "ASIA");
        assert_eq!(
            c.expiration.unwrap().to_rfc3339(),
            "2030-01-01T00:00:00.500+00:00"
        );
        let bad = ok.replace("2030-01-01T00:00:00.5Z", "notadate");
        let e = credentials(&bad, "AssumeRole", "u").unwrap_err();
        assert!(e.message().contains("cannot read"), "{}", e.report());
        assert!(!e.report().contains("ASIA"), "{}", e.report());
        let e = credentials("<X/>", "AssumeRole", "u").unwrap_err();
        assert!(e.message().contains("returned no credentials"));
    }

    #[test]
    fn federated_user_names_are_what_sts_accepts() {
        assert_eq!(federated_user_name("prod admin/ü"), "prod-admin--");
        assert_eq!(federated_user_name("a"), "awscred");
        assert_eq!(federated_user_name(&"x".repeat(40)).len(), 32);
        assert_eq!(federated_user_name("me@corp.example"), "me@corp.example");
    }
}
