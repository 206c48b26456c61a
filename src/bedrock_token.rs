//! Short-term Amazon Bedrock API keys (`AWS_BEARER_TOKEN_BEDROCK`), minted locally from AWS
//! credentials as the AWS token generators do: a SigV4 query presign of
//! `POST https://<host>/?Action=CallWithBearerToken` (service `bedrock`, the caller's
//! region, `host` the only signed header, the payload hash of the empty body), without
//! `https://`, with `&Version=1` appended, base64 (standard alphabet) and the prefix
//! `bedrock-api-key-`. An HMAC over cached credentials: no request.
//!
//! The host is the partition's global Bedrock host (`bedrock.amazonaws.com`,
//! `bedrock.amazonaws.com.cn` in China), never an endpoint override: the key is a
//! credential for Bedrock wherever requests are sent, and Bedrock checks the signature
//! over the host written inside it.

use crate::credentials::Credentials;
use crate::secret::Secret;
use base64::Engine;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What every key starts with.
pub const PREFIX: &str = "bedrock-api-key-";
/// Longest life of a key (`X-Amz-Expires` at most 43200).
pub const MAX_LIFE: Duration = Duration::from_secs(12 * 3600);
/// How long Claude Desktop keeps a helper's answer unless configured otherwise
/// (`inferenceCredentialHelperTtlSec`).
pub const DESKTOP_TTL: Duration = Duration::from_secs(3600);
/// Life a key must have beyond its consumer's cache time.
pub const MARGIN: Duration = Duration::from_secs(5 * 60);

/// The Bedrock host a key is signed for in `region`'s partition.
pub fn host(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "bedrock.amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "bedrock.sc2s.sgov.gov"
    } else if region.starts_with("us-iso-") {
        "bedrock.c2s.ic.gov"
    } else {
        // The commercial and GovCloud partitions share the amazonaws.com suffix.
        "bedrock.amazonaws.com"
    }
}

/// A key and when it stops working.
#[derive(Debug, Clone)]
pub struct Minted {
    /// `bedrock-api-key-…`.
    pub token: Secret<String>,
    /// The end of its life: the shorter of the life asked for and the credentials' life.
    pub expiration: DateTime<Utc>,
}

/// The life of a key minted `now` from `creds`: the shorter of `asked` (at most 12 hours)
/// and what the credentials have left; `None` when they have under a second left.
pub fn life(creds: &Credentials, asked: Duration, now: DateTime<Utc>) -> Option<u64> {
    let asked = asked.min(MAX_LIFE).as_secs();
    let left = match creds.expiration {
        Some(e) => u64::try_from((e - now).num_seconds()).ok()?,
        None => asked,
    };
    Some(asked.min(left)).filter(|s| *s >= 1)
}

/// Mints a key valid for `secs` seconds from `now` in `region`.
pub fn mint(creds: &Credentials, region: &str, secs: u64, now: DateTime<Utc>) -> Minted {
    let host = host(region);
    let query = crate::sigv4::presign_query(
        "POST",
        host,
        "/",
        &[("Action", "CallWithBearerToken")],
        b"",
        secs,
        creds,
        crate::sigv4::Scope {
            region,
            service: "bedrock",
            time: now,
        },
    );
    let url = Secret::new(format!("{host}/?{query}&Version=1"));
    let encoded = base64::engine::general_purpose::STANDARD.encode(url.expose().as_bytes());
    let expiration =
        now + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX).min(43200));
    Minted {
        token: Secret::new(format!("{PREFIX}{encoded}")),
        expiration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .single()
            .unwrap()
    }

    fn session() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLEKEY000001".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: Some(Secret::new("IQoJb3JpZ2luX2VjE+/=tok".into())),
            expiration: Some(at() + chrono::Duration::hours(13)),
        }
    }

    // The expected keys were computed independently with botocore's SigV4QueryAuth (the
    // signer the Python token generator uses) at the same instant.

    #[test]
    fn matches_botocore_with_a_session_token() {
        let m = mint(&session(), "us-east-1", 43200, at());
        assert_eq!(
            m.token.expose(),
            "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbiZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVkZW50aWFsPUFTSUFFWEFNUExFS0VZMDAwMDAxJTJGMjAyNjExMjUlMkZ1cy1lYXN0LTElMkZiZWRyb2NrJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjExMjVUMTIwMDAwWiZYLUFtei1FeHBpcmVzPTQzMjAwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCZYLUFtei1TZWN1cml0eS1Ub2tlbj1JUW9KYjNKcFoybHVYMlZqRSUyQiUyRiUzRHRvayZYLUFtei1TaWduYXR1cmU9MGUxODRjM2YyNzczZjAyODc1NjhlYmIxODhiMmNiMTQxNTkxOTU3MmRkZWRiYTc3NzY3ZmE4MzQyOTMzZDc1YSZWZXJzaW9uPTE="
        );
        assert_eq!(m.expiration, at() + chrono::Duration::hours(12));
    }

    #[test]
    fn matches_botocore_with_long_term_keys() {
        let c = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("secret".into()),
            session_token: None,
            expiration: None,
        };
        let m = mint(&c, "eu-west-1", 3600, at());
        let raw = base64::engine::general_purpose::STANDARD
            .decode(m.token.expose().strip_prefix(PREFIX).unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261125%2Feu-west-1%2Fbedrock%2Faws4_request&X-Amz-Date=20261125T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=314ec8559320c84593d7e8e10b320e19c8413dd66bc72fcd252b7bd585db02e7&Version=1"
        );
    }

    #[test]
    fn china_signs_for_its_own_host() {
        let m = mint(&session(), "cn-north-1", 900, at());
        assert_eq!(
            m.token.expose(),
            "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLmNuLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbiZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVkZW50aWFsPUFTSUFFWEFNUExFS0VZMDAwMDAxJTJGMjAyNjExMjUlMkZjbi1ub3J0aC0xJTJGYmVkcm9jayUyRmF3czRfcmVxdWVzdCZYLUFtei1EYXRlPTIwMjYxMTI1VDEyMDAwMFomWC1BbXotRXhwaXJlcz05MDAmWC1BbXotU2lnbmVkSGVhZGVycz1ob3N0JlgtQW16LVNlY3VyaXR5LVRva2VuPUlRb0piM0pwWjJsdVgyVmpFJTJCJTJGJTNEdG9rJlgtQW16LVNpZ25hdHVyZT1kMmMyODJmOTVlNmYzNjJjZDdhNGU5ZWM1MDg5N2YwNzk3ZTUyZGFlNjc0NDI3Y2QxNmExNWI0Y2I0NmU4MzMyJlZlcnNpb249MQ=="
        );
        assert_eq!(host("us-gov-west-1"), "bedrock.amazonaws.com");
        assert_eq!(host("eu-central-1"), "bedrock.amazonaws.com");
    }

    #[test]
    fn life_is_the_shorter_of_the_ask_twelve_hours_and_the_credentials() {
        let mut c = session();
        assert_eq!(life(&c, Duration::from_secs(86400), at()), Some(43200));
        assert_eq!(life(&c, Duration::from_secs(1800), at()), Some(1800));
        c.expiration = Some(at() + chrono::Duration::minutes(70));
        assert_eq!(life(&c, MAX_LIFE, at()), Some(4200));
        c.expiration = Some(at());
        assert_eq!(life(&c, MAX_LIFE, at()), None);
        c.expiration = None;
        assert_eq!(life(&c, MAX_LIFE, at()), Some(43200));
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let m = mint(&session(), "us-east-1", 60, at());
        assert!(!format!("{m:?}").contains(PREFIX));
    }
}
