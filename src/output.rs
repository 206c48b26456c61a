//! The exact bytes awscred prints for its consumers.
//!
//! `export` prints the STS shape Claude Code's `awsCredentialExport` reads, `process` the
//! `credential_process` shape (Version 1) the SDKs read, `env` shell assignments. One line,
//! keys in a fixed order, expiration in UTC with seconds and `Z`.

use crate::clock::format_expiration;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Export<'a> {
    credentials: StsCredentials<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Process<'a> {
    version: u8,
    #[serde(flatten)]
    credentials: StsCredentials<'a>,
}

fn sts(c: &Credentials) -> StsCredentials<'_> {
    StsCredentials {
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        session_token: c.session_token.as_ref().map(|t| t.expose().as_str()),
        expiration: c.expiration.map(format_expiration),
    }
}

fn encode<T: Serialize>(v: &T) -> Result<String> {
    let mut s = serde_json::to_string(v)
        .map_err(|e| Error::unexpected("cannot encode credentials").caused_by(&e))?;
    s.push('\n');
    Ok(s)
}

/// `{"Credentials":{…}}` for Claude Code. It rejects credentials without a session token,
/// so those are an error here rather than a silent failure there.
pub fn export_json(c: &Credentials) -> Result<String> {
    if c.session_token.is_none() {
        return Err(Error::user(
            "these are long-term keys without a session token, which Claude Code rejects",
        )
        .with_hint("assume a role (role_arn with source_profile) in this profile, or use IAM Identity Center"));
    }
    encode(&Export {
        credentials: sts(c),
    })
}

/// `{"Version":1,…}` for `credential_process`.
pub fn process_json(c: &Credentials) -> Result<String> {
    encode(&Process {
        version: 1,
        credentials: sts(c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use chrono::TimeZone;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("sec/ret+key".into()),
            session_token: Some(Secret::new("tok\"en".into())),
            expiration: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 11, 24, 18, 4, 5)
                    .unwrap(),
            ),
        }
    }

    #[test]
    fn export_bytes_are_exact() {
        assert_eq!(
            export_json(&creds()).unwrap(),
            "{\"Credentials\":{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"tok\\\"en\",\"Expiration\":\"2026-11-24T18:04:05Z\"}}\n"
        );
    }

    #[test]
    fn process_bytes_are_exact() {
        assert_eq!(
            process_json(&creds()).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"tok\\\"en\",\"Expiration\":\"2026-11-24T18:04:05Z\"}\n"
        );
    }

    #[test]
    fn long_term_keys_omit_token_and_expiry_for_process_and_fail_for_export() {
        let mut c = creds();
        c.session_token = None;
        c.expiration = None;
        assert_eq!(
            process_json(&c).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\"}\n"
        );
        let e = export_json(&c).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(!e.report().contains("sec/ret"));
    }
}
