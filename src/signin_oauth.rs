//! AWS Sign-In's OAuth 2.0 protocol for console sessions (`login_session`, `aws login`):
//! the authorize URL, the token endpoint (`POST {base}/v1/token`, restJson whose body is the
//! `tokenInput` structure itself) with a DPoP proof (RFC 9449, ES256 over P-256), and the
//! P-256 key in the AWS CLI's format (a SEC1 `EC PRIVATE KEY` PEM; PKCS#8 is read too).
//!
//! The refresh token is bound to the key: every token request carries a proof signed with
//! it, whose header holds the public key as a JWK and whose payload names the method, the
//! URL, the time and a fresh random id.

use crate::env::{self, Environment};
use crate::error::{Error, Result};
use crate::net::{Errors, Failure, Net, Request};
use crate::secret::Secret;
use base64::Engine;
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

/// Client id of the same-device (browser with a loopback redirect) flow.
pub const SAME_DEVICE_CLIENT: &str = "arn:aws:signin:::devtools/same-device";
/// Client id of the cross-device flow (the user pastes a code shown by the browser).
pub const CROSS_DEVICE_CLIENT: &str = "arn:aws:signin:::devtools/cross-device";
/// The loopback redirect path of the same-device flow (as the AWS CLI uses).
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// The redirect path on the Sign-In host itself for the cross-device flow.
pub const CONFIRMATION_PATH: &str = "/v1/sessions/confirmation";

/// The Sign-In base URL for `region`: `AWS_ENDPOINT_URL_SIGNIN` (or `AWS_ENDPOINT_URL`), else
/// the regional host of the region's partition. No trailing slash.
pub fn base(env: &Environment, region: &str) -> String {
    env.endpoint_url(env::AWS_ENDPOINT_URL_SIGNIN)
        .unwrap_or_else(|| {
            let domain = if region.starts_with("cn-") {
                "signin.amazonaws.cn"
            } else if region.starts_with("us-gov-") {
                "signin.amazonaws-us-gov.com"
            } else {
                "signin.aws.amazon.com"
            };
            format!("https://{region}.{domain}")
        })
}

/// The token endpoint, which is also the `htu` of every proof.
pub fn token_url(env: &Environment, region: &str) -> String {
    format!("{}/v1/token", base(env, region))
}

/// The authorize URL the browser opens. `code_challenge` is base64url (no padding) of the
/// verifier's SHA-256, with the method named `SHA-256` as Sign-In spells it.
pub fn authorize_url(
    env: &Environment,
    region: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    code_challenge: &str,
) -> String {
    use crate::net::encode;
    format!(
        "{}/v1/authorize?response_type=code&client_id={}&state={}&code_challenge_method=SHA-256&scope=openid&redirect_uri={}&code_challenge={}",
        base(env, region),
        encode(client_id),
        encode(state),
        encode(redirect_uri),
        encode(code_challenge),
    )
}

/// A P-256 key that binds a refresh token, with its PEM as stored in the cache file.
pub struct DpopKey {
    pair: EcdsaKeyPair,
    pem: Secret<String>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DpopKey(REDACTED)")
    }
}

/// `prime256v1` (1.2.840.10045.3.1.7).
const P256_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn bad_key(why: &str) -> Error {
    Error::user(format!("the DPoP key of the sign-in cannot be read: {why}"))
}

impl DpopKey {
    /// A new random key, kept as the SEC1 PEM the AWS CLI writes.
    pub fn generate() -> Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::unexpected("cannot generate a P-256 key"))?;
        let private = pkcs8_private_scalar(pkcs8.as_ref())
            .ok_or_else(|| Error::unexpected("cannot read the generated P-256 key"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| Error::unexpected("cannot use the generated P-256 key"))?;
        let der = sec1_der(&private, pair.public_key().as_ref());
        Ok(Self {
            pem: Secret::new(pem("EC PRIVATE KEY", &der)),
            pair,
        })
    }

    /// Reads a SEC1 (`EC PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`) PEM.
    pub fn from_pem(text: &str) -> Result<Self> {
        let rng = SystemRandom::new();
        let (label, der) = unpem(text).ok_or_else(|| bad_key("not a PEM document"))?;
        let pair = match label.as_str() {
            "EC PRIVATE KEY" => {
                let (private, public) = sec1_parts(&der)?;
                EcdsaKeyPair::from_private_key_and_public_key(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &private,
                    &public,
                    &rng,
                )
                .map_err(|_| bad_key("the private and public keys do not match P-256"))?
            }
            "PRIVATE KEY" => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
                .map_err(|_| bad_key("not a P-256 key in PKCS#8"))?,
            _ => return Err(bad_key("not an EC PRIVATE KEY or PRIVATE KEY")),
        };
        Ok(Self {
            pair,
            pem: Secret::new(text.to_string()),
        })
    }

    /// The PEM (as read, or SEC1 for a generated key).
    pub fn pem(&self) -> &Secret<String> {
        &self.pem
    }

    /// The public key's coordinates, base64url without padding, as the JWK carries them.
    pub fn jwk_xy(&self) -> (String, String) {
        let point = self.pair.public_key().as_ref();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (x, y) = point
            .get(1..)
            .unwrap_or_default()
            .split_at(point.len().saturating_sub(1) / 2);
        (b64.encode(x), b64.encode(y))
    }

    /// A DPoP proof for `POST htu` at `now`.
    pub fn proof(&self, htu: &str, now: DateTime<Utc>) -> Result<String> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (x, y) = self.jwk_xy();
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","x":"{x}","y":"{y}","crv":"P-256"}}}}"#
        );
        let payload = serde_json::to_vec(&Claims {
            htm: "POST",
            htu,
            iat: now.timestamp(),
            jti: uuid_v4(),
        })
        .map_err(|_| Error::unexpected("cannot encode the DPoP proof"))?;
        let input = format!("{}.{}", b64.encode(header.as_bytes()), b64.encode(&payload));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| Error::unexpected("cannot sign the DPoP proof"))?;
        Ok(format!("{input}.{}", b64.encode(sig.as_ref())))
    }
}

/// A random version 4 UUID in its text form.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::sigv4::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// One DER element: (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 2 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The private scalar (32 bytes) and uncompressed public point (65 bytes) of a SEC1
/// ECPrivateKey on P-256.
fn sec1_parts(der: &[u8]) -> Result<([u8; 32], Vec<u8>)> {
    let (tag, body, _) = tlv(der).ok_or_else(|| bad_key("not DER"))?;
    if tag != 0x30 {
        return Err(bad_key("not an ECPrivateKey"));
    }
    let (tag, version, rest) = tlv(body).ok_or_else(|| bad_key("no version"))?;
    if tag != 0x02 || version != [1] {
        return Err(bad_key("not an ECPrivateKey version 1"));
    }
    let (tag, scalar, mut rest) = tlv(rest).ok_or_else(|| bad_key("no private key"))?;
    if tag != 0x04 || scalar.is_empty() || scalar.len() > 32 {
        return Err(bad_key("the private key is not a P-256 scalar"));
    }
    let mut private = [0u8; 32];
    private[32 - scalar.len()..].copy_from_slice(scalar);
    let mut public = None;
    while !rest.is_empty() {
        let (tag, content, next) = tlv(rest).ok_or_else(|| bad_key("truncated"))?;
        match tag {
            0xa0 => {
                let (t, oid, _) = tlv(content).ok_or_else(|| bad_key("bad parameters"))?;
                if t != 0x06 || oid != P256_OID {
                    return Err(bad_key("the curve is not P-256"));
                }
            }
            0xa1 => {
                let (t, bits, _) = tlv(content).ok_or_else(|| bad_key("bad public key"))?;
                match bits.split_first() {
                    Some((0, point)) if t == 0x03 && point.len() == 65 && point[0] == 4 => {
                        public = Some(point.to_vec());
                    }
                    _ => return Err(bad_key("the public key is not an uncompressed P-256 point")),
                }
            }
            _ => {}
        }
        rest = next;
    }
    let public = public.ok_or_else(|| bad_key("the public key is missing"))?;
    Ok((private, public))
}

/// The private scalar inside ring's PKCS#8 document (its OCTET STRING holds an
/// ECPrivateKey).
fn pkcs8_private_scalar(der: &[u8]) -> Option<[u8; 32]> {
    let (_, body, _) = tlv(der)?;
    let (_, _version, rest) = tlv(body)?;
    let (_, _algorithm, rest) = tlv(rest)?;
    let (tag, inner, _) = tlv(rest)?;
    if tag != 0x04 {
        return None;
    }
    let (_, ec, _) = tlv(inner)?;
    let (_, _v, rest) = tlv(ec)?;
    let (tag, scalar, _) = tlv(rest)?;
    (tag == 0x04 && scalar.len() == 32).then(|| {
        let mut out = [0u8; 32];
        out.copy_from_slice(scalar);
        out
    })
}

/// SEC1 ECPrivateKey DER with the curve named and the public key, as OpenSSL writes it.
fn sec1_der(private: &[u8; 32], public: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x01, 0x04, 0x20];
    body.extend_from_slice(private);
    body.extend_from_slice(&[0xa0, 0x0a, 0x06, 0x08]);
    body.extend_from_slice(P256_OID);
    // public is 65 bytes: BIT STRING of 66, in [1] of 68.
    body.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
    body.extend_from_slice(public);
    let mut der = vec![0x30, body.len() as u8];
    der.extend_from_slice(&body);
    der
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str) -> Option<(String, Vec<u8>)> {
    let mut label = None;
    let mut body = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(l) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            label = Some(l.to_string());
        } else if line.starts_with("-----END ") {
            break;
        } else if label.is_some() {
            body.push_str(line);
        }
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()?;
    Some((label?, der))
}

/// What a token request asks for.
pub enum Grant<'a> {
    /// Redeem an authorization code (PKCE).
    AuthorizationCode {
        /// The code from the redirect.
        code: &'a Secret<String>,
        /// The PKCE verifier.
        verifier: &'a Secret<String>,
        /// The same redirect URI as in the authorize request.
        redirect_uri: &'a str,
    },
    /// Refresh with a refresh token.
    Refresh(&'a Secret<String>),
}

/// The `tokenOutput` structure.
#[derive(Debug)]
pub struct TokenOutput {
    /// Access key id of the session's credentials.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret<String>,
    /// Session token.
    pub session_token: Secret<String>,
    /// Seconds until the credentials expire.
    pub expires_in: i64,
    /// The next refresh token (they rotate).
    pub refresh_token: Secret<String>,
    /// The ID token (only from an authorization code).
    pub id_token: Option<Secret<String>>,
    /// `aws_sigv4`.
    pub token_type: String,
}

/// The `tokenInput` structure, sent as the whole body.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenInput<'a> {
    client_id: &'a str,
    grant_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_verifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

/// A proof's claims.
#[derive(serde::Serialize)]
struct Claims<'a> {
    htm: &'a str,
    htu: &'a str,
    iat: i64,
    jti: String,
}

/// CreateOAuth2Token: one POST with a fresh proof. A refusal carries Sign-In's `error` code
/// (`TOKEN_EXPIRED`, `USER_CREDENTIALS_CHANGED`, `AUTHCODE_EXPIRED`, …) in
/// [`Failure::code`].
pub fn create_token(
    net: &Net,
    region: &str,
    client_id: &str,
    grant: Grant<'_>,
    key: &DpopKey,
    now: DateTime<Utc>,
) -> std::result::Result<TokenOutput, Failure> {
    let url = token_url(net.env(), region);
    let shown = crate::remote::url(&url);
    let input = match grant {
        Grant::AuthorizationCode {
            code,
            verifier,
            redirect_uri,
        } => TokenInput {
            client_id,
            grant_type: "authorization_code",
            code: Some(code.expose()),
            code_verifier: Some(verifier.expose()),
            redirect_uri: Some(redirect_uri),
            refresh_token: None,
        },
        Grant::Refresh(token) => TokenInput {
            client_id,
            grant_type: "refresh_token",
            code: None,
            code_verifier: None,
            redirect_uri: None,
            refresh_token: Some(token.expose()),
        },
    };
    let body = Secret::new(
        serde_json::to_vec(&input)
            .map_err(|_| Error::unexpected("cannot encode the token request"))?,
    );
    let operation = "CreateOAuth2Token";
    let reply = net.send(
        operation,
        &Request {
            method: "POST",
            url: &url,
            headers: vec![
                ("content-type", "application/json".to_string()),
                ("dpop", key.proof(&url, now)?),
            ],
            body: body.expose().clone(),
        },
        Errors::JsonErrorField,
    )?;
    parse_output(&reply.body).map_err(|what| {
        Failure::from(
            crate::net::unreadable(operation, &shown, Some(reply.status)).caused_by_text(what),
        )
    })
}

fn parse_output(body: &str) -> std::result::Result<TokenOutput, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|_| "the answer is not JSON".to_string())?;
    // The payload is the structure itself; accept it wrapped too.
    let v = v.get("tokenOutput").unwrap_or(&v);
    let s = |o: &serde_json::Value, k: &str| {
        o.get(k)
            .and_then(|x| x.as_str())
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("{k} is missing"))
    };
    let access = v
        .get("accessToken")
        .filter(|a| a.is_object())
        .ok_or_else(|| "accessToken is missing".to_string())?;
    let expires_in = v
        .get("expiresIn")
        .and_then(|x| x.as_i64())
        .filter(|x| (1..=43_200).contains(x))
        .ok_or_else(|| "expiresIn is missing or out of range".to_string())?;
    Ok(TokenOutput {
        access_key_id: s(access, "accessKeyId")?,
        secret_access_key: Secret::new(s(access, "secretAccessKey")?),
        session_token: Secret::new(s(access, "sessionToken")?),
        expires_in,
        refresh_token: Secret::new(s(v, "refreshToken")?),
        id_token: s(v, "idToken").ok().map(Secret::new),
        token_type: s(v, "tokenType").unwrap_or_else(|_| "aws_sigv4".to_string()),
    })
}

/// The `sub` claim of an ID token (the login session's ARN), read without checking the
/// signature: it only names the cache file, and the token came straight from Sign-In over
/// TLS.
pub fn id_token_subject(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("sub")?.as_str().map(str::to_string)
}

/// The account id in an ARN (`arn:aws:sts::111122223333:assumed-role/…`).
pub fn arn_account(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| account.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OpenSSL-written SEC1 key (`openssl ecparam -name prime256v1 -genkey -noout`) and
    /// its public coordinates as `openssl ec -text` shows them.
    const SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIIu4E16UB1crtEgjTvQTKnl90Gi+95aJMYmgvwBxfH48oAoGCCqGSM49
AwEHoUQDQgAE1rhcpLqzSxAmsa4zisMMWSuE9pZCw3pSpNEG77/oFfeui7D2B4no
p8v8byud1ikhPZd0Z4Sewbe3a9J34qCMqg==
-----END EC PRIVATE KEY-----
";

    fn verify(proof: &str, x: &str, y: &str) -> bool {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = proof.split('.').collect();
        let mut point = vec![4u8];
        point.extend(b64.decode(x).unwrap());
        point.extend(b64.decode(y).unwrap());
        let sig = b64.decode(parts[2]).unwrap();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .is_ok()
    }

    #[test]
    fn a_sec1_key_is_read_and_its_jwk_matches_the_public_point() {
        let k = DpopKey::from_pem(SEC1).unwrap();
        let (x, y) = k.jwk_xy();
        assert_eq!(x, "1rhcpLqzSxAmsa4zisMMWSuE9pZCw3pSpNEG77_oFfc");
        assert_eq!(y, "rouw9geJ6KfL_G8rndYpIT2XdGeEnsG3t2vSd-KgjKo");
        assert_eq!(k.pem().expose(), SEC1, "kept as read");
        assert!(format!("{k:?}").contains("REDACTED"));
    }

    #[test]
    fn proofs_have_the_dpop_header_and_claims_and_verify_with_the_jwk() {
        let k = DpopKey::from_pem(SEC1).unwrap();
        let now = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let url = "https://us-east-1.signin.aws.amazon.com/v1/token";
        let p1 = k.proof(url, now).unwrap();
        let p2 = k.proof(url, now).unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let part = |p: &str, i: usize| -> serde_json::Value {
            serde_json::from_slice(&b64.decode(p.split('.').nth(i).unwrap()).unwrap()).unwrap()
        };
        let h = part(&p1, 0);
        assert_eq!(h["typ"], "dpop+jwt");
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["jwk"]["kty"], "EC");
        assert_eq!(h["jwk"]["crv"], "P-256");
        let x = h["jwk"]["x"].as_str().unwrap().to_string();
        let y = h["jwk"]["y"].as_str().unwrap().to_string();
        let c = part(&p1, 1);
        assert_eq!(c["htm"], "POST");
        assert_eq!(c["htu"], url);
        assert_eq!(c["iat"], 1_764_000_000);
        assert_eq!(c["jti"].as_str().unwrap().len(), 36);
        assert_ne!(c["jti"], part(&p2, 1)["jti"], "a fresh jti each time");
        assert_eq!(b64.decode(p1.split('.').nth(2).unwrap()).unwrap().len(), 64);
        assert!(verify(&p1, &x, &y));
        // Another payload under the same signature does not verify.
        let mut parts: Vec<&str> = p1.split('.').collect();
        let other = p2.split('.').nth(1).unwrap();
        parts[1] = other;
        assert!(!verify(&parts.join("."), &x, &y));
    }

    #[test]
    fn a_generated_key_is_sec1_pem_that_reads_back_to_the_same_key() {
        let k = DpopKey::generate().unwrap();
        let text = k.pem().expose().clone();
        assert!(
            text.starts_with("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI"),
            "{text}"
        );
        assert!(text.ends_with("-----END EC PRIVATE KEY-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
        let again = DpopKey::from_pem(&text).unwrap();
        assert_eq!(again.jwk_xy(), k.jwk_xy());
        let (x, y) = again.jwk_xy();
        let p = k
            .proof(
                "https://h/v1/token",
                DateTime::from_timestamp(1_764_000_000, 0).unwrap(),
            )
            .unwrap();
        assert!(
            verify(&p, &x, &y),
            "signed by the generated key, checked with the read one"
        );
    }

    /// Both directions against an independent implementation (Python's `cryptography`,
    /// which the AWS CLI's own key handling agrees with on SEC1), when it is installed.
    #[test]
    fn sec1_keys_round_trip_with_python_cryptography() {
        // The suite's virtual environment (scripts/test installs cryptography there), else
        // the system's python3; under AWSCRED_TEST_REQUIRE_ALL=1 a missing one fails.
        let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python");
        let python = if venv.exists() {
            venv.to_string_lossy().into_owned()
        } else {
            "python3".to_string()
        };
        let probe = std::process::Command::new(&python)
            .args(["-c", "import cryptography"])
            .output();
        if !probe.is_ok_and(|o| o.status.success()) {
            assert!(
                std::env::var("AWSCRED_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
                "python with cryptography is required (AWSCRED_TEST_REQUIRE_ALL=1)"
            );
            eprintln!("skipped: python3 with cryptography not available");
            return;
        }
        let k = DpopKey::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        fs_err::write(&path, k.pem().expose()).unwrap();
        let script = r#"
import sys, base64
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
n = k.public_key().public_numbers()
e = lambda v: base64.urlsafe_b64encode(v.to_bytes(32, 'big')).rstrip(b'=').decode()
print(e(n.x), e(n.y))
g = ec.generate_private_key(ec.SECP256R1())
open(sys.argv[1] + '.new', 'wb').write(g.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
m = g.public_key().public_numbers()
print(e(m.x), e(m.y))
"#;
        let out = std::process::Command::new(&python)
            .args(["-c", script, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (x, y) = k.jwk_xy();
        assert_eq!(
            lines[0],
            format!("{x} {y}"),
            "cryptography reads awscred's key"
        );
        let theirs = fs_err::read_to_string(dir.path().join("k.pem.new")).unwrap();
        assert!(theirs.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let read = DpopKey::from_pem(&theirs).unwrap();
        let (x, y) = read.jwk_xy();
        assert_eq!(
            lines[1],
            format!("{x} {y}"),
            "awscred reads cryptography's key"
        );
    }

    #[test]
    fn broken_keys_are_refused_with_a_message_and_no_key_material() {
        for bad in [
            "",
            "-----BEGIN EC PRIVATE KEY-----\n!!!\n-----END EC PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN EC PRIVATE KEY-----\nMAMCAQE=\n-----END EC PRIVATE KEY-----\n",
        ] {
            let e = DpopKey::from_pem(bad).unwrap_err();
            assert!(e.message().contains("DPoP key"), "{}", e.message());
        }
        // The public point altered: ring refuses a pair that does not match.
        let mut der = unpem(SEC1).unwrap().1;
        let last = der.len() - 1;
        der[last] ^= 1;
        let e = DpopKey::from_pem(&pem("EC PRIVATE KEY", &der)).unwrap_err();
        assert!(e.message().contains("do not match"), "{}", e.message());
    }

    #[test]
    fn endpoints_follow_the_partition_and_the_override() {
        let env = Environment::from_pairs([]);
        assert_eq!(
            token_url(&env, "eu-west-1"),
            "https://eu-west-1.signin.aws.amazon.com/v1/token"
        );
        assert_eq!(
            base(&env, "cn-north-1"),
            "https://cn-north-1.signin.amazonaws.cn"
        );
        assert_eq!(
            base(&env, "us-gov-west-1"),
            "https://us-gov-west-1.signin.amazonaws-us-gov.com"
        );
        let env = Environment::from_pairs([("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:9/")]);
        assert_eq!(token_url(&env, "eu-west-1"), "http://127.0.0.1:9/v1/token");
        let u = authorize_url(
            &env,
            "x",
            SAME_DEVICE_CLIENT,
            "http://127.0.0.1:5/oauth/callback",
            "st",
            "ch",
        );
        assert_eq!(
            u,
            "http://127.0.0.1:9/v1/authorize?response_type=code&client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device&state=st&code_challenge_method=SHA-256&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Foauth%2Fcallback&code_challenge=ch"
        );
    }

    #[test]
    fn token_output_is_read_bare_or_wrapped_and_checked() {
        let bare = r#"{"accessToken":{"accessKeyId":"ASIA1","secretAccessKey":"s","sessionToken":"t"},"tokenType":"aws_sigv4","expiresIn":900,"refreshToken":"r","idToken":"i"}"#;
        let o = parse_output(bare).unwrap();
        assert_eq!((o.access_key_id.as_str(), o.expires_in), ("ASIA1", 900));
        assert_eq!(o.refresh_token.expose(), "r");
        let wrapped = format!(r#"{{"tokenOutput":{bare}}}"#);
        assert!(parse_output(&wrapped).is_ok());
        assert!(parse_output(&bare.replace("900", "0")).is_err());
        assert!(parse_output(&bare.replace(r#""refreshToken":"r","#, "")).is_err());
        assert!(parse_output("<html>").is_err());
    }

    #[test]
    fn id_token_subject_and_account_come_from_the_arn() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let t = format!(
            "h.{}.s",
            b64.encode(br#"{"sub":"arn:aws:sts::111122223333:assumed-role/Admin/me"}"#)
        );
        let sub = id_token_subject(&t).unwrap();
        assert_eq!(arn_account(&sub).as_deref(), Some("111122223333"));
        assert_eq!(arn_account("arn:aws:iam::12:user/x"), None);
        assert_eq!(id_token_subject("nope"), None);
    }
}
