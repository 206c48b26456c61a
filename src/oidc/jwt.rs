//! ID token checks done locally before a token is sent to STS (OpenID Connect Core
//! §3.1.3.7): signature against the provider's JWKS (RS256, RS384, RS512, PS256, PS384,
//! PS512, ES256, ES384; a key's `use`, `key_ops` and `alg` honoured; unknown `crit`
//! extensions refused), issuer, audience and `azp`, `exp`, `nbf` and `iat` within
//! [`LEEWAY`], nonce; and for a refreshed token, the same `iss`, `sub`, `aud` and `azp` as
//! the original (§12.2). A token that fails here would fail at STS too, with a far less
//! useful message, or worse, pass there as someone else.

use crate::error::{Error, Result};
use crate::remote;
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
    /// Not valid before (seconds since the epoch).
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Issued at (seconds since the epoch).
    #[serde(default)]
    pub iat: Option<i64>,
}

/// Clock skew allowed between awscred and the provider, in seconds.
pub const LEEWAY: i64 = 60;

/// `aud` as either form.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
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

    /// Whether the token names more than one audience.
    fn is_several(&self) -> bool {
        matches!(self, Audience::Many(v) if v.len() > 1)
    }

    /// The audiences as a sorted list, so `"a"` and `["a"]` compare equal.
    fn normalized(&self) -> Vec<&str> {
        let mut v: Vec<&str> = match self {
            Audience::None => Vec::new(),
            Audience::One(a) => vec![a.as_str()],
            Audience::Many(v) => v.iter().map(String::as_str).collect(),
        };
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Extensions the recipient must understand (RFC 7515 §4.1.11); awscred knows none.
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// One key of a JWKS.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    /// `sig` or `enc` (RFC 7517 §4.2); an encryption key never verifies a signature.
    #[serde(default, rename = "use")]
    use_: Option<String>,
    /// Operations the key is for (RFC 7517 §4.3).
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    /// The one algorithm the key is for (RFC 7517 §4.4).
    #[serde(default)]
    alg: Option<String>,
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

impl Jwk {
    /// Whether the key may verify a signature made with `alg`.
    fn may_verify(&self, alg: &str) -> bool {
        self.use_.as_deref().is_none_or(|u| u == "sig")
            && self
                .key_ops
                .as_ref()
                .is_none_or(|ops| ops.iter().any(|o| o == "verify"))
            && self.alg.as_deref().is_none_or(|a| a == alg)
    }
}

/// What a token must satisfy.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// Issuer exactly as discovered.
    pub issuer: &'a str,
    /// Required audience.
    pub audience: &'a str,
    /// The client id: the `azp` a token must carry when it has one or several audiences.
    pub client_id: &'a str,
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
    if header.crit.is_some() {
        return Err(invalid(
            "its header lists critical extensions (crit) awscred does not understand",
        ));
    }
    let signature = b64(sig).ok_or_else(|| invalid("its signature does not decode"))?;
    let signed = &token[..h.len() + 1 + p.len()];
    let candidates: Vec<&Jwk> = jwks
        .keys
        .iter()
        .filter(|k| header.kid.is_none() || k.kid == header.kid)
        .filter(|k| k.may_verify(&header.alg))
        .collect();
    if candidates.is_empty() {
        return Err(invalid(&format!(
            "no {} signing key {} in the provider's JWKS",
            remote::text(&header.alg),
            remote::text(header.kid.as_deref().unwrap_or("(no kid)"))
        )));
    }
    let ok = candidates
        .iter()
        .any(|k| check_signature(&header.alg, k, signed.as_bytes(), &signature));
    if !ok {
        return Err(invalid(&format!(
            "its {} signature does not verify",
            remote::text(&header.alg)
        )));
    }
    let claims: Claims = b64(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("its claims do not decode"))?;
    if claims.iss != expect.issuer {
        return Err(invalid(&format!(
            "issuer {} is not {}",
            remote::text(&claims.iss),
            expect.issuer
        )));
    }
    if !claims.aud.contains(expect.audience) {
        return Err(invalid(&format!("its audience is not {}", expect.audience))
            .with_hint("check awscred_oidc_audience (or awscred_oidc_client_id) against the provider's settings"));
    }
    match &claims.azp {
        Some(azp) if azp != expect.client_id => {
            return Err(invalid(&format!(
                "it was issued to {} (azp), not to client {}",
                remote::text(azp),
                expect.client_id
            )));
        }
        None if claims.aud.is_several() => {
            return Err(invalid(
                "it names several audiences but no authorized party (azp)",
            ));
        }
        _ => {}
    }
    let now = expect.now.timestamp();
    if claims.exp.saturating_add(LEEWAY) <= now {
        return Err(invalid("it has expired"));
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY))
    {
        return Err(invalid("it is not valid yet (nbf); check the clock"));
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now.saturating_add(LEEWAY))
    {
        return Err(invalid(
            "it was issued in the future (iat); check the clock",
        ));
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

/// Checks that a refreshed ID token speaks of the same sign-in as the original (OpenID
/// Connect Core §12.2): same issuer, subject, audience and authorized party.
pub fn same_sign_in(original: &Claims, refreshed: &Claims) -> Result<()> {
    let differs = if original.iss != refreshed.iss {
        Some("issuer (iss)")
    } else if original.sub != refreshed.sub {
        Some("subject (sub)")
    } else if original.aud.normalized() != refreshed.aud.normalized() {
        Some("audience (aud)")
    } else if original.azp != refreshed.azp {
        Some("authorized party (azp)")
    } else {
        None
    };
    match differs {
        Some(what) => Err(invalid(&format!(
            "the refreshed token names a different {what} than the sign-in it renews"
        ))),
        None => Ok(()),
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
        setup_with(serde_json::json!({}))
    }

    /// A key pair and a JWKS holding its public key, with `extra` members on the JWK.
    fn setup_with(extra: serde_json::Value) -> (EcdsaKeyPair, Jwks) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let pk = kp.public_key().as_ref();
        let mut key = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "k1", "x": enc(&pk[1..33]), "y": enc(&pk[33..65])
        });
        for (k, v) in extra.as_object().unwrap() {
            key[k] = v.clone();
        }
        let jwks: Jwks = serde_json::from_value(serde_json::json!({ "keys": [key] })).unwrap();
        (kp, jwks)
    }

    fn sign(kp: &EcdsaKeyPair, claims: serde_json::Value) -> String {
        sign_with_header(kp, serde_json::json!({"alg": "ES256", "kid": "k1"}), claims)
    }

    fn sign_with_header(
        kp: &EcdsaKeyPair,
        header: serde_json::Value,
        claims: serde_json::Value,
    ) -> String {
        let h = enc(header.to_string().as_bytes());
        let p = enc(claims.to_string().as_bytes());
        let msg = format!("{h}.{p}");
        let sig = kp.sign(&SystemRandom::new(), msg.as_bytes()).unwrap();
        format!("{msg}.{}", enc(sig.as_ref()))
    }

    fn expect(now: i64) -> Expect<'static> {
        Expect {
            issuer: "https://idp",
            audience: "client",
            client_id: "client",
            nonce: Some("n1"),
            now: DateTime::from_timestamp(now, 0).unwrap(),
        }
    }

    #[test]
    fn valid_tokens_pass_and_every_check_can_fail() {
        let (kp, jwks) = setup();
        let good = serde_json::json!({"iss": "https://idp", "aud": ["other", "client"], "azp": "client", "exp": 2000, "sub": "u", "nonce": "n1"});
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

    /// The error message of verifying `claims` (signed with a good key) at time 1000.
    fn refused(claims: serde_json::Value) -> String {
        let (kp, jwks) = setup();
        verify(&sign(&kp, claims), &jwks, &expect(1000))
            .unwrap_err()
            .message()
            .to_string()
    }

    fn claims(patch: serde_json::Value) -> serde_json::Value {
        let mut v = serde_json::json!({"iss": "https://idp", "aud": "client", "exp": 2000, "sub": "u", "nonce": "n1"});
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    }

    #[test]
    fn nbf_and_iat_must_not_be_in_the_future_beyond_the_leeway() {
        let (kp, jwks) = setup();
        // Within the leeway, and in the past: fine.
        for ok in [
            serde_json::json!({"nbf": 1000 + LEEWAY, "iat": 1000 + LEEWAY}),
            serde_json::json!({"nbf": 900, "iat": 900}),
        ] {
            verify(&sign(&kp, claims(ok)), &jwks, &expect(1000)).unwrap();
        }
        let e = refused(claims(serde_json::json!({"nbf": 1000 + LEEWAY + 1})));
        assert!(e.contains("not valid yet"), "{e}");
        let e = refused(claims(serde_json::json!({"iat": 1000 + LEEWAY + 1})));
        assert!(e.contains("issued in the future"), "{e}");
    }

    #[test]
    fn several_audiences_need_the_client_as_authorized_party() {
        let e = refused(claims(serde_json::json!({"aud": ["client", "other"]})));
        assert!(e.contains("no authorized party"), "{e}");
        let e = refused(claims(
            serde_json::json!({"aud": ["client", "other"], "azp": "other"}),
        ));
        assert!(e.contains("azp"), "{e}");
        // A single audience with a foreign azp is refused too.
        let e = refused(claims(serde_json::json!({"azp": "other"})));
        assert!(e.contains("azp"), "{e}");
        let (kp, jwks) = setup();
        let ok = claims(serde_json::json!({"aud": ["client", "other"], "azp": "client"}));
        verify(&sign(&kp, ok), &jwks, &expect(1000)).unwrap();
    }

    #[test]
    fn unknown_critical_extensions_are_refused() {
        let (kp, jwks) = setup();
        let t = sign_with_header(
            &kp,
            serde_json::json!({"alg": "ES256", "kid": "k1", "crit": ["exp-ext"], "exp-ext": 1}),
            claims(serde_json::json!({})),
        );
        let e = verify(&t, &jwks, &expect(1000)).unwrap_err();
        assert!(e.message().contains("crit"), "{}", e.message());
    }

    #[test]
    fn a_keys_use_and_alg_are_honoured() {
        let token_for = |kp: &EcdsaKeyPair| sign(kp, claims(serde_json::json!({})));
        for (extra, usable) in [
            (serde_json::json!({"use": "sig", "alg": "ES256"}), true),
            (serde_json::json!({"key_ops": ["verify"]}), true),
            (serde_json::json!({"use": "enc"}), false),
            (serde_json::json!({"alg": "ES384"}), false),
            (serde_json::json!({"alg": "RS256"}), false),
            (serde_json::json!({"key_ops": ["encrypt"]}), false),
        ] {
            let (kp, jwks) = setup_with(extra.clone());
            let r = verify(&token_for(&kp), &jwks, &expect(1000));
            assert_eq!(r.is_ok(), usable, "{extra}");
            if !usable {
                let e = r.unwrap_err();
                assert!(
                    e.message().contains("no ES256 signing key"),
                    "{}",
                    e.message()
                );
            }
        }
    }

    #[test]
    fn a_refreshed_token_must_speak_of_the_same_sign_in() {
        let parse = |v: serde_json::Value| -> Claims { serde_json::from_value(v).unwrap() };
        let original = parse(claims(serde_json::json!({})));
        same_sign_in(
            &original,
            &parse(claims(serde_json::json!({"exp": 5000, "iat": 4000}))),
        )
        .unwrap();
        // "a" and ["a"] are the same audience.
        same_sign_in(
            &original,
            &parse(claims(serde_json::json!({"aud": ["client"]}))),
        )
        .unwrap();
        for (patch, what) in [
            (serde_json::json!({"sub": "mallory"}), "subject"),
            (serde_json::json!({"iss": "https://other"}), "issuer"),
            (serde_json::json!({"aud": ["client", "x"]}), "audience"),
            (serde_json::json!({"azp": "client"}), "authorized party"),
        ] {
            let e = same_sign_in(&original, &parse(claims(patch.clone()))).unwrap_err();
            assert!(e.message().contains(what), "{patch}: {}", e.message());
        }
    }
}
