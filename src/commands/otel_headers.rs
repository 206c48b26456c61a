//! `awscred otel-headers`: the JSON object of headers Claude Code's `otelHeadersHelper`
//! adds to its telemetry export, saying who the user is without any secret.
//!
//! Claude Code runs the helper at start and every 29 minutes, and a slow helper holds up
//! its interface, so the answer comes from the profile's configuration and cache only: no
//! request, no sign-in, no lock. What is not known is left out; nothing known prints `{}`.
//!
//! Header names are those of the AWS guidance "Claude Code with Amazon Bedrock" otel helper
//! where it has one (`x-user-email`, `x-user-id`, `x-user-name`, `x-role`), and awscred's
//! own otherwise (`x-user-groups`, `x-aws-account-id`):
//!
//! | header | external identity provider | IAM Identity Center | role steps |
//! | --- | --- | --- | --- |
//! | `x-user-email` | ID token `email` (else `mail`, else an email-shaped `preferred_username`) | — | — |
//! | `x-user-id` | ID token `sub`, hashed as the guidance does (SHA-256, UUID-shaped) | — | — |
//! | `x-user-name` | `cognito:username`, else `preferred_username` | — | the last `role_session_name` set |
//! | `x-user-groups` | `groups` (else `cognito:groups`), comma-separated | — | — |
//! | `x-role` | the role name of `awscred_oidc_role_arn` | `sso_role_name` | the last role's name |
//! | `x-aws-account-id` | the role's account | `sso_account_id` | the last role's account |
//!
//! Values are ASCII: printable characters stay, `%` and anything else are percent-encoded
//! (UTF-8), each value at most [`MAX_VALUE`] characters.

use crate::config::chain::{Base, Chain};
use crate::error::Result;
use crate::services::Services;
use crate::source;
use base64::Engine;
use serde_json::{Map, Value};
use std::process::ExitCode;

/// Header names and values, each name once.
pub type Headers = Vec<(&'static str, String)>;

/// The names, in the order they are printed.
const NAMES: [&str; 6] = [
    "x-user-email",
    "x-user-id",
    "x-user-name",
    "x-user-groups",
    "x-role",
    "x-aws-account-id",
];

/// Sets `name` to `value`, replacing an earlier value.
fn put(out: &mut Headers, name: &'static str, value: String) {
    out.retain(|(n, _)| *n != name);
    out.push((name, value));
}

/// The value of `name`, if set.
pub fn value<'a>(h: &'a Headers, name: &str) -> Option<&'a str> {
    h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

/// Longest header value, after encoding.
pub const MAX_VALUE: usize = 256;
/// Longest `x-user-groups`: groups past it are left out whole.
pub const MAX_GROUPS: usize = 1024;

/// A value made ASCII: printable ASCII stays, `%` and every other character become `%XX`
/// per UTF-8 byte; cut to `max` characters between characters, never inside one.
pub fn ascii(value: &str, max: usize) -> String {
    let mut out = String::new();
    for c in value.trim().chars() {
        let piece = if (' '..='~').contains(&c) && c != '%' {
            c.to_string()
        } else {
            let mut buf = [0u8; 4];
            c.encode_utf8(&mut buf)
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect()
        };
        if out.len() + piece.len() > max {
            break;
        }
        out.push_str(&piece);
    }
    out
}

/// The claims of a JWT's payload, unchecked (the token was verified when it was obtained;
/// only who it names is read here).
fn claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The subject as the AWS guidance's helper sends it: SHA-256, the first 32 hex digits
/// in UUID form.
fn hashed_subject(sub: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, sub.as_bytes());
    let h = crate::sigv4::hex(d.as_ref());
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The headers an ID token's claims give.
pub fn from_claims(c: &Map<String, Value>) -> Headers {
    let text = |k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut out = Headers::new();
    let email = text("email")
        .or_else(|| text("mail"))
        .or_else(|| text("preferred_username").filter(|u| u.contains('@')));
    if let Some(e) = email {
        put(&mut out, "x-user-email", ascii(e, MAX_VALUE));
    }
    if let Some(sub) = text("sub") {
        put(&mut out, "x-user-id", hashed_subject(sub));
    }
    if let Some(name) = text("cognito:username").or_else(|| text("preferred_username")) {
        put(&mut out, "x-user-name", ascii(name, MAX_VALUE));
    }
    let groups = c
        .get("groups")
        .or_else(|| c.get("cognito:groups"))
        .and_then(Value::as_array);
    if let Some(groups) = groups {
        let mut joined = String::new();
        for g in groups.iter().filter_map(Value::as_str) {
            // A comma inside a name is encoded, so the list splits back exactly.
            let g = ascii(g, MAX_VALUE).replace(',', "%2C");
            if g.is_empty() {
                continue;
            }
            let extra = g.len() + usize::from(!joined.is_empty());
            if joined.len() + extra > MAX_GROUPS {
                break;
            }
            if !joined.is_empty() {
                joined.push(',');
            }
            joined.push_str(&g);
        }
        if !joined.is_empty() {
            put(&mut out, "x-user-groups", joined);
        }
    }
    out
}

/// `arn:aws:iam::ACCOUNT:role/path/NAME` → (account, name).
fn role_of(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, _, _, account, resource] = parts.as_slice() else {
        return None;
    };
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (!account.is_empty() && !name.is_empty()).then_some((*account, name))
}

/// What the chain's configuration says without any cache: role and account.
pub fn from_config(chain: &Chain) -> Headers {
    let mut out = Headers::new();
    let role = |arn: &str, out: &mut Headers| {
        if let Some((account, name)) = role_of(arn) {
            put(out, "x-aws-account-id", ascii(account, MAX_VALUE));
            put(out, "x-role", ascii(name, MAX_VALUE));
        }
    };
    match &chain.base {
        Base::Sso(r) => {
            put(
                &mut out,
                "x-aws-account-id",
                ascii(&r.account_id, MAX_VALUE),
            );
            put(&mut out, "x-role", ascii(&r.role_name, MAX_VALUE));
        }
        Base::Oidc(o) => {
            if let Some(arn) = &o.role_arn {
                role(arn, &mut out);
            }
        }
        Base::WebIdentity(w) => role(&w.role_arn, &mut out),
        _ => {}
    }
    for step in &chain.roles {
        role(&step.role_arn, &mut out);
        if let Some(name) = &step.session_name {
            put(&mut out, "x-user-name", ascii(name, MAX_VALUE));
        }
    }
    out
}

/// Everything known about the profile's user from its configuration and cache. A store
/// that cannot be opened or read leaves the cache out: the configuration still speaks.
fn headers(services: &Services, profile: &str) -> Result<Headers> {
    let chain = crate::config::resolve::resolve(&services.files, profile, &services.env)?;
    let mut out = Headers::new();
    let cache = services
        .cache(chain.settings.store)
        .map_err(|e| crate::log::debug(&format!("otel-headers: no store: {e}")))
        .ok();
    // The identity provider's claims first: the configuration's role and account win.
    if let (Base::Oidc(src), Some(cache)) = (&chain.base, &cache) {
        match cache.get::<source::oidc::OidcToken>(&source::oidc::token_key(src)) {
            Ok(Some(t)) => {
                if let Some(c) = claims(t.id_token.expose()) {
                    for (k, v) in from_claims(&c) {
                        put(&mut out, k, v);
                    }
                }
            }
            Ok(None) => {}
            Err(e) => crate::log::debug(&format!("otel-headers: the sign-in is unreadable: {e}")),
        }
    }
    for (k, v) in from_config(&chain) {
        put(&mut out, k, v);
    }
    if value(&out, "x-aws-account-id").is_none()
        && let Some(cache) = &cache
        && let Ok(Some(c)) =
            cache.get::<crate::credentials::CachedCredentials>(&source::final_key(&chain))
        && let Some(a) = c.account_id
    {
        put(&mut out, "x-aws-account-id", ascii(&a, MAX_VALUE));
    }
    Ok(out)
}

/// `awscred otel-headers --profile P`: one JSON object on stdout, `{}` when nothing is
/// known. An unknown profile is an error (exit 1): Claude Code shows a failing helper once,
/// where an empty answer would hide the typo for good.
pub fn run(services: &Services, profile: &str) -> Result<ExitCode> {
    let known = headers(services, profile)?;
    let object: Map<String, Value> = NAMES
        .iter()
        .filter_map(|n| value(&known, n).map(|v| (n.to_string(), Value::String(v.into()))))
        .collect();
    let text = Value::Object(object).to_string();
    let _ = crate::ui::data(&format!("{text}\n"));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn values_become_ascii_and_bounded() {
        assert_eq!(ascii("jane@example.com", MAX_VALUE), "jane@example.com");
        assert_eq!(ascii("José 100%", MAX_VALUE), "Jos%C3%A9 100%25");
        assert_eq!(ascii("a\nb\u{1b}[2J", MAX_VALUE), "a%0Ab%1B[2J");
        assert_eq!(ascii("\u{202e}x", MAX_VALUE), "%E2%80%AEx");
        let long = "é".repeat(1000);
        let cut = ascii(&long, MAX_VALUE);
        assert!(cut.len() <= MAX_VALUE);
        assert!(cut.ends_with("%A9"), "no escape split: {cut}");
        assert!(cut.is_ascii());
    }

    #[test]
    fn claims_give_email_hashed_subject_name_and_groups() {
        let h = from_claims(&map(json!({
            "iss": "https://idp.example.com",
            "sub": "00u1abcd",
            "email": "jane@example.com",
            "preferred_username": "jane",
            "groups": ["eng", "a,b", "Ünïcode", 7],
            "nonce": "n",
        })));
        assert_eq!(value(&h, "x-user-email").unwrap(), "jane@example.com");
        assert_eq!(value(&h, "x-user-name").unwrap(), "jane");
        assert_eq!(
            value(&h, "x-user-groups").unwrap(),
            "eng,a%2Cb,%C3%9Cn%C3%AFcode"
        );
        let id = value(&h, "x-user-id").unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert!(!id.contains("00u1abcd"));
        assert_eq!(id, hashed_subject("00u1abcd"), "stable");
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn cognito_claims_and_missing_ones() {
        let h = from_claims(&map(json!({
            "sub": "s",
            "cognito:username": "jdoe",
            "cognito:groups": ["admins"],
        })));
        assert_eq!(value(&h, "x-user-name").unwrap(), "jdoe");
        assert_eq!(value(&h, "x-user-groups").unwrap(), "admins");
        assert!(value(&h, "x-user-email").is_none());
        assert!(from_claims(&Map::new()).is_empty());
        // An email-shaped preferred_username stands in for a missing email.
        let h = from_claims(&map(json!({"preferred_username": "j@example.com"})));
        assert_eq!(value(&h, "x-user-email").unwrap(), "j@example.com");
    }

    #[test]
    fn groups_are_bounded_whole() {
        let many: Vec<String> = (0..500).map(|i| format!("group-{i:03}")).collect();
        let h = from_claims(&map(json!({"groups": many})));
        let g = value(&h, "x-user-groups").unwrap();
        assert!(g.len() <= MAX_GROUPS);
        assert!(g.split(',').all(|x| x.len() == 9), "no group cut: {g}");
    }

    #[test]
    fn claims_are_read_from_the_payload_only() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"email":"a@b.c"}"#);
        let c = claims(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")).unwrap();
        assert_eq!(c["email"], "a@b.c");
        assert!(claims("not-a-jwt").is_none());
        assert!(claims("a.!!!.c").is_none());
    }

    #[test]
    fn role_arns_give_account_and_name() {
        assert_eq!(
            role_of("arn:aws:iam::111122223333:role/team/Bedrock"),
            Some(("111122223333", "Bedrock"))
        );
        assert_eq!(role_of("arn:aws:iam::111122223333:user/x"), None);
        assert_eq!(role_of("nonsense"), None);
    }
}
