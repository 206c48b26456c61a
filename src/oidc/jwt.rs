//! ID token checks done locally before a token is sent to STS: signature against the
//! provider's JWKS (RS256, RS384, RS512, PS256, ES256, ES384), issuer, audience, expiry and
//! nonce. A token that fails here would fail at STS too, with a far less useful message.

use crate::error::{Error, Result};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The claims awscred reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience: one string or a list.
    #[serde(default)]
    pub aud: Audience,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Subject.
    #[serde(default)]
    pub sub: Option<String>,
    /// Email, when the provider includes it.
    #[serde(default)]
    pub email: Option<String>,
    /// Nonce of the authorization request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Authorized party.
    #[serde(default)]
    pub azp: Option<String>,
}

/// `aud` as either form.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(untagged)]
pub enum Audience {
    /// Absent.
    #[default]
    None,
    /// One audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, want: &str) -> bool {
        match self {
            Audience::None => false,
            Audience::One(a) => a == want,
            Audience::Many(v) => v.iter().any(|a| a == want),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// One key of a JWKS.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

/// A JWK Set.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

fn invalid(why: &str) -> Error {
    Error::user(format!(
        "the identity provider's ID token is not valid: {why}"
    ))
}

/// What a token must satisfy.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// Issuer exactly as discovered.
    pub issuer: &'a str,
    /// Required audience.
    pub audience: &'a str,
    /// Nonce of the request, for tokens from an authorization request.
    pub nonce: Option<&'a str>,
    /// The current time.
    pub now: DateTime<Utc>,
}

/// Verifies `token` against `jwks` and the expectations; returns its claims.
pub fn verify(token: &str, jwks: &Jwks, expect: &Expect<'_>) -> Result<Claims> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("it is not a three-part JWT"));
    };
    let header: Header = b64(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("its header does not decode"))?;
    let signature = b64(sig).ok_or_else(|| invalid("its signature does not decode"))?;
    let signed = &token[..h.len() + 1 + p.len()];
    let candidates: Vec<&Jwk> = jwks
        .keys
        .iter()
        .filter(|k| header.kid.is_none() || k.kid == header.kid)
        .collect();
    if candidates.is_empty() {
        return Err(invalid(&format!(
            "no key {} in the provider's JWKS",
            header.kid.as_deref().unwrap_or("(no kid)")
        )));
    }
    let ok = candidates
        .iter()
        .any(|k| check_signature(&header.alg, k, signed.as_bytes(), &signature));
    if !ok {
        return Err(invalid(&format!(
            "its {} signature does not verify",
            header.alg
        )));
    }
    let claims: Claims = b64(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("its claims do not decode"))?;
    if claims.iss != expect.issuer {
        return Err(invalid(&format!(
            "issuer {} is not {}",
            claims.iss, expect.issuer
        )));
    }
    if !claims.aud.contains(expect.audience) {
        return Err(invalid(&format!("its audience is not {}", expect.audience))
            .with_hint("check awscred_oidc_audience (or awscred_oidc_client_id) against the provider's settings"));
    }
    let leeway = 60;
    if claims.exp + leeway <= expect.now.timestamp() {
        return Err(invalid("it has expired"));
    }
    if let Some(n) = expect.nonce
        && claims.nonce.as_deref() != Some(n)
    {
        return Err(invalid("its nonce does not match this sign-in"));
    }
    Ok(claims)
}

fn check_signature(alg: &str, key: &Jwk, signed: &[u8], signature: &[u8]) -> bool {
    use ring::signature as rs;
    match (alg, key.kty.as_str()) {
        ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512", "RSA") => {
            let (Some(n), Some(e)) = (
                key.n.as_deref().and_then(b64),
                key.e.as_deref().and_then(b64),
            ) else {
                return false;
            };
            let params: &rs::RsaParameters = match alg {
                "RS256" => &rs::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &rs::RSA_PKCS1_2048_8192_SHA384,
                "RS512" => &rs::RSA_PKCS1_2048_8192_SHA512,
                "PS256" => &rs::RSA_PSS_2048_8192_SHA256,
                "PS384" => &rs::RSA_PSS_2048_8192_SHA384,
                _ => &rs::RSA_PSS_2048_8192_SHA512,
            };
            rs::RsaPublicKeyComponents { n: &n, e: &e }
                .verify(params, signed, signature)
                .is_ok()
        }
        ("ES256" | "ES384", "EC") => {
            let (Some(x), Some(y)) = (
                key.x.as_deref().and_then(b64),
                key.y.as_deref().and_then(b64),
            ) else {
                return false;
            };
            let (alg, crv): (&dyn rs::VerificationAlgorithm, &str) = if alg == "ES256" {
                (&rs::ECDSA_P256_SHA256_FIXED, "P-256")
            } else {
                (&rs::ECDSA_P384_SHA384_FIXED, "P-384")
            };
            if key.crv.as_deref() != Some(crv) {
                return false;
            }
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            rs::UnparsedPublicKey::new(alg, point)
                .verify(signed, signature)
                .is_ok()
        }
        _ => false,
    }
}

/// Reads the claims without checking anything (for messages and session names only).
pub fn peek(token: &str) -> Option<Claims> {
    let p = token.split('.').nth(1)?;
    serde_json::from_slice(&b64(p)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    fn enc(b: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    }

    fn setup() -> (EcdsaKeyPair, Jwks) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let pk = kp.public_key().as_ref();
        let jwks: Jwks = serde_json::from_value(serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1", "x": enc(&pk[1..33]), "y": enc(&pk[33..65])
        }]}))
        .unwrap();
        (kp, jwks)
    }

    fn sign(kp: &EcdsaKeyPair, claims: serde_json::Value) -> String {
        let h = enc(br#"{"alg":"ES256","kid":"k1"}"#);
        let p = enc(claims.to_string().as_bytes());
        let msg = format!("{h}.{p}");
        let sig = kp.sign(&SystemRandom::new(), msg.as_bytes()).unwrap();
        format!("{msg}.{}", enc(sig.as_ref()))
    }

    fn expect(now: i64) -> Expect<'static> {
        Expect {
            issuer: "https://idp",
            audience: "client",
            nonce: Some("n1"),
            now: DateTime::from_timestamp(now, 0).unwrap(),
        }
    }

    #[test]
    fn valid_tokens_pass_and_every_check_can_fail() {
        let (kp, jwks) = setup();
        let good = serde_json::json!({"iss": "https://idp", "aud": ["other", "client"], "exp": 2000, "sub": "u", "nonce": "n1"});
        let c = verify(&sign(&kp, good.clone()), &jwks, &expect(1000)).unwrap();
        assert_eq!(c.sub.as_deref(), Some("u"));
        let bad = |patch: serde_json::Value| {
            let mut v = good.clone();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            verify(&sign(&kp, v), &jwks, &expect(1000))
                .unwrap_err()
                .message()
                .to_string()
        };
        assert!(bad(serde_json::json!({"iss": "https://evil"})).contains("issuer"));
        assert!(bad(serde_json::json!({"aud": "other"})).contains("audience"));
        assert!(bad(serde_json::json!({"exp": 900})).contains("expired"));
        assert!(bad(serde_json::json!({"nonce": "n2"})).contains("nonce"));
        // A token signed by someone else.
        let (other, _) = setup();
        let e = verify(&sign(&other, good.clone()), &jwks, &expect(1000)).unwrap_err();
        assert!(e.message().contains("signature"), "{}", e.message());
        // Tampered claims.
        let t = sign(&kp, good);
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = enc(br#"{"iss":"https://idp","aud":"client","exp":9999999999,"nonce":"n1"}"#);
        parts[1] = &forged;
        assert!(verify(&parts.join("."), &jwks, &expect(1000)).is_err());
        assert!(verify("a.b", &jwks, &expect(1000)).is_err());
    }
}
