//! AWS Sign-In's OAuth 2.0 endpoints for console sessions (`aws login`): the browser's
//! `GET /v1/authorize` (PKCE with `code_challenge_method=SHA-256`, redirecting to the
//! loopback `redirect_uri` with `code` and `state` when `Settings::authorize` is `approve`,
//! like the IAM Identity Center page) and `POST /v1/token` (restJson, the body is the
//! `tokenInput` structure itself).
//!
//! Every token request must carry a DPoP proof: an ES256 JWT with `typ` `dpop+jwt` and the
//! P-256 public key as `jwk`, whose payload names `htm` POST, `htu` this endpoint's URL, an
//! `iat` within five minutes and a `jti` never seen before; the signature is checked with
//! the key it carries. A refresh token is bound to that key and rotates: each use ends it
//! and issues the next. `Emulator::signin_expire_refresh_tokens` (or
//! `POST /_emulator/signin/expire`) makes every refresh token answer `TOKEN_EXPIRED`.

use crate::wire::{body_json, enter, field};
use crate::{Emulator, Shared, lock};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The client ids Sign-In accepts from developer tools.
const CLIENTS: [&str; 2] = [
    "arn:aws:signin:::devtools/same-device",
    "arn:aws:signin:::devtools/cross-device",
];
/// The session a browser sign-in signs in as, unless a test sets another.
pub const DEFAULT_PRINCIPAL: &str = "arn:aws:sts::111122223333:assumed-role/Admin/emu-user";
/// Longest lifetime of the credentials (Sign-In gives at most 15 minutes).
const MAX_EXPIRES_IN: i64 = 900;
/// How far a proof's `iat` may be from the emulator's clock.
const IAT_SKEW: i64 = 300;

#[derive(Debug, Clone)]
struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: String,
}

#[derive(Debug, Clone)]
struct Refresh {
    client_id: String,
    session: String,
    /// The bound key: base64url `x.y`.
    jkt: String,
    used: bool,
    expired: bool,
}

/// Called with the refresh token "another tool" got by refreshing first.
type Race = Box<dyn FnOnce(String) + Send>;

/// What the Sign-In endpoints remember.
#[derive(Default)]
pub struct SigninState {
    codes: HashMap<String, Code>,
    refresh: HashMap<String, Refresh>,
    jtis: HashSet<String>,
    principal: Option<String>,
    race: Option<Race>,
}

impl std::fmt::Debug for SigninState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigninState")
    }
}

/// Rotates `token` as a refresh by someone else would: it is used up, and the next one,
/// bound to the same key, is returned.
fn rotate(s: &mut crate::EmulatorState, token: &str) -> Option<String> {
    let r = s.signin.refresh.get_mut(token)?;
    if r.used || r.expired {
        return None;
    }
    r.used = true;
    let next = Refresh {
        used: false,
        ..r.clone()
    };
    let new = s.next("ASOR-emu-refresh-", 48);
    s.signin.refresh.insert(new.clone(), next);
    Some(new)
}

fn error(status: u16, exception: &str, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [
            ("x-amzn-errortype", exception),
            ("content-type", "application/json"),
        ],
        json!({"error": code, "message": message}).to_string(),
    )
        .into_response()
}

fn invalid(message: &str) -> Response {
    error(400, "ValidationException", "INVALID_REQUEST", message)
}

fn denied(code: &str, message: &str) -> Response {
    let status = if matches!(code, "TOKEN_EXPIRED" | "AUTHCODE_EXPIRED") {
        401
    } else {
        403
    };
    error(status, "AccessDeniedException", code, message)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

pub(crate) async fn authorize(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = enter(&state, "SigninAuthorize", false).await {
        return r;
    }
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (client_id, redirect, st, challenge) = (
        get("client_id"),
        get("redirect_uri"),
        get("state"),
        get("code_challenge"),
    );
    if !CLIENTS.contains(&client_id.as_str()) {
        return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
    }
    let loopback =
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/oauth/callback");
    let confirmation = redirect.ends_with("/v1/sessions/confirmation");
    if !(loopback || confirmation) {
        return (StatusCode::BAD_REQUEST, "redirect_uri not allowed").into_response();
    }
    if get("response_type") != "code"
        || get("code_challenge_method") != "SHA-256"
        || get("scope") != "openid"
        || challenge.is_empty()
        || st.is_empty()
    {
        return (
            StatusCode::BAD_REQUEST,
            "response_type=code, scope=openid, a SHA-256 challenge and state are required",
        )
            .into_response();
    }
    let mode = lock(&state).settings.authorize.clone();
    match mode.as_str() {
        "deny" => {
            return (
                StatusCode::FOUND,
                [(
                    "location",
                    format!("{redirect}?error=access_denied&state={st}"),
                )],
            )
                .into_response();
        }
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::REQUEST_TIMEOUT.into_response();
        }
        _ => {}
    }
    let code = {
        let mut s = lock(&state);
        let code = s.next("emu-signin-code-", 40);
        s.signin.codes.insert(
            code.clone(),
            Code {
                client_id,
                redirect_uri: redirect.clone(),
                challenge,
            },
        );
        code
    };
    if confirmation {
        // The page shows what the user types on the other device.
        let shown =
            base64::engine::general_purpose::STANDARD.encode(format!("code={code}&state={st}"));
        return (StatusCode::OK, shown).into_response();
    }
    (
        StatusCode::FOUND,
        [("location", format!("{redirect}?code={code}&state={st}"))],
    )
        .into_response()
}

/// Checks the DPoP proof of a request to `htu`; returns the bound key's `x.y`.
fn check_proof(
    proof: &str,
    htu: &str,
    now: i64,
    seen: &mut HashSet<String>,
) -> Result<String, &'static str> {
    let parts: Vec<&str> = proof.split('.').collect();
    let [h, p, sig] = parts.as_slice() else {
        return Err("the DPoP proof is not a JWT");
    };
    let header: Value = unb64(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the DPoP header is not JSON")?;
    let claims: Value = unb64(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the DPoP payload is not JSON")?;
    if field(&header, "typ") != Some("dpop+jwt") || field(&header, "alg") != Some("ES256") {
        return Err("the DPoP proof must be typ dpop+jwt, alg ES256");
    }
    let jwk = header.get("jwk").ok_or("the DPoP proof has no jwk")?;
    if field(jwk, "kty") != Some("EC") || field(jwk, "crv") != Some("P-256") {
        return Err("the DPoP jwk must be an EC P-256 key");
    }
    let (x, y) = (
        field(jwk, "x").unwrap_or_default(),
        field(jwk, "y").unwrap_or_default(),
    );
    let (Some(xb), Some(yb)) = (unb64(x), unb64(y)) else {
        return Err("the DPoP jwk coordinates are not base64url");
    };
    if xb.len() != 32 || yb.len() != 32 {
        return Err("the DPoP jwk coordinates are not 32 bytes");
    }
    let mut point = vec![4u8];
    point.extend(xb);
    point.extend(yb);
    let signature = unb64(sig).ok_or("the DPoP signature is not base64url")?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(format!("{h}.{p}").as_bytes(), &signature)
        .map_err(|_| "the DPoP signature does not verify with its jwk")?;
    if field(&claims, "htm") != Some("POST") {
        return Err("the DPoP htm is not POST");
    }
    if field(&claims, "htu") != Some(htu) {
        return Err("the DPoP htu is not this endpoint");
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("the DPoP proof has no iat")?;
    if (iat - now).abs() > IAT_SKEW {
        return Err("the DPoP iat is not current");
    }
    let jti = field(&claims, "jti")
        .filter(|j| !j.is_empty())
        .ok_or("the DPoP proof has no jti")?;
    if !seen.insert(jti.to_string()) {
        return Err("the DPoP jti was used before");
    }
    Ok(format!("{x}.{y}"))
}

fn id_token(session: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(br#"{"alg":"ES384","typ":"JWT"}"#),
        b64(
            json!({"sub": session, "iss": "https://signin.aws.amazon.com/signin"})
                .to_string()
                .as_bytes()
        ),
        b64(b"emulator-signature")
    )
}

pub(crate) async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = body_json(&body);
    let grant = field(&v, "grantType").unwrap_or_default().to_string();
    if let Some(r) = enter(&state, &format!("CreateOAuth2Token:{grant}"), false).await {
        return r;
    }
    if let Some(r) = enter(&state, "CreateOAuth2Token", false).await {
        return r;
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let htu = format!("http://{host}/v1/token");
    let Some(proof) = headers.get("dpop").and_then(|h| h.to_str().ok()) else {
        return invalid("the DPoP header is missing");
    };
    if grant == "refresh_token" {
        // Another tool refreshes with the same token just before this request lands.
        let raced = {
            let mut s = lock(&state);
            let token = field(&v, "refreshToken").unwrap_or_default();
            match s.signin.race.take() {
                Some(f) => rotate(&mut s, token).map(|new| (f, new)),
                None => None,
            }
        };
        if let Some((f, new)) = raced {
            f(new);
        }
    }
    let mut s = lock(&state);
    let now = s.now().timestamp();
    let jkt = match check_proof(proof, &htu, now, &mut s.signin.jtis) {
        Ok(k) => k,
        Err(why) => return invalid(why),
    };
    let client_id = field(&v, "clientId").unwrap_or_default().to_string();
    if !CLIENTS.contains(&client_id.as_str()) {
        return invalid("unknown clientId");
    }
    let (session, id) = match grant.as_str() {
        "authorization_code" => {
            let code = field(&v, "code").unwrap_or_default();
            let Some(c) = s.signin.codes.remove(code) else {
                return denied(
                    "AUTHCODE_EXPIRED",
                    "the authorization code is unknown or used",
                );
            };
            if c.client_id != client_id || Some(c.redirect_uri.as_str()) != field(&v, "redirectUri")
            {
                return invalid("clientId or redirectUri differ from the authorize request");
            }
            let verifier = field(&v, "codeVerifier").unwrap_or_default();
            if crate::pkce_challenge(verifier) != c.challenge {
                return invalid("the code verifier does not match the challenge");
            }
            let session = s
                .signin
                .principal
                .clone()
                .unwrap_or_else(|| DEFAULT_PRINCIPAL.to_string());
            let id = id_token(&session);
            (session, Some(id))
        }
        "refresh_token" => {
            let token = field(&v, "refreshToken").unwrap_or_default();
            let Some(r) = s.signin.refresh.get_mut(token) else {
                return denied("TOKEN_EXPIRED", "the refresh token is unknown");
            };
            if r.used || r.expired {
                return denied("TOKEN_EXPIRED", "the refresh token expired or was used");
            }
            if r.jkt != jkt {
                return invalid("the DPoP key is not the one the refresh token is bound to");
            }
            if r.client_id != client_id {
                return invalid("the refresh token belongs to another client");
            }
            r.used = true;
            (r.session.clone(), None)
        }
        _ => return invalid("grantType must be authorization_code or refresh_token"),
    };
    let account = session.split(':').nth(4).unwrap_or_default().to_string();
    let ttl = s.settings.credentials_ttl.clamp(1, MAX_EXPIRES_IN);
    let (akid, issued) = s.issue_for(&account, &session, ttl);
    let refresh = s.next("ASOR-emu-refresh-", 48);
    s.signin.refresh.insert(
        refresh.clone(),
        Refresh {
            client_id,
            session,
            jkt,
            used: false,
            expired: false,
        },
    );
    let mut out = json!({
        "accessToken": {
            "accessKeyId": akid,
            "secretAccessKey": issued.secret,
            "sessionToken": issued.token,
        },
        "tokenType": "aws_sigv4",
        "expiresIn": ttl,
        "refreshToken": refresh,
    });
    if let Some(id) = id {
        out["idToken"] = Value::String(id);
    }
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        out.to_string(),
    )
        .into_response()
}

pub(crate) async fn admin_expire(State(state): State<Shared>) -> Response {
    let n = expire_refresh_tokens(&state);
    axum::Json(json!({"expired": n})).into_response()
}

fn expire_refresh_tokens(state: &Shared) -> usize {
    let mut s = lock(state);
    let mut n = 0;
    for r in s.signin.refresh.values_mut() {
        if !r.expired && !r.used {
            r.expired = true;
            n += 1;
        }
    }
    n
}

impl Emulator {
    /// A refresh token for the console session `session`, bound to the P-256 public key
    /// `point` (uncompressed, 65 bytes), as `aws login` would have left in the AWS CLI's
    /// cache.
    pub fn signin_refresh_token(&self, session: &str, client_id: &str, point: &[u8]) -> String {
        let mut s = lock(self.shared());
        let token = s.next("ASOR-emu-refresh-", 48);
        let (x, y) = point.get(1..).unwrap_or_default().split_at(32);
        s.signin.refresh.insert(
            token.clone(),
            Refresh {
                client_id: client_id.to_string(),
                session: session.to_string(),
                jkt: format!("{}.{}", b64(x), b64(y)),
                used: false,
                expired: false,
            },
        );
        token
    }

    /// What another tool's refresh does to `token`: it is used up and the next one, bound
    /// to the same key, is returned (`None` for an unknown, used or expired token).
    pub fn signin_rotate(&self, token: &str) -> Option<String> {
        rotate(&mut lock(self.shared()), token)
    }

    /// The next refresh request loses a race: just before it is answered, another tool
    /// refreshes with the same token, and `then` is called with the token that tool got
    /// (to write it where that tool keeps it); the request itself then finds its token used
    /// (`TOKEN_EXPIRED`).
    pub fn signin_race_next_refresh(&self, then: impl FnOnce(String) + Send + 'static) {
        lock(self.shared()).signin.race = Some(Box::new(then));
    }

    /// Whether `token` is a refresh token that still works.
    pub fn signin_refresh_token_live(&self, token: &str) -> bool {
        lock(self.shared())
            .signin
            .refresh
            .get(token)
            .is_some_and(|r| !r.used && !r.expired)
    }

    /// Ends every refresh token: the next refresh answers `TOKEN_EXPIRED` (a session past its
    /// 12 hours, or signed out). Returns how many.
    pub fn signin_expire_refresh_tokens(&self) -> usize {
        expire_refresh_tokens(self.shared())
    }

    /// The session the next browser sign-in signs in as.
    pub fn signin_set_principal(&self, session: &str) {
        lock(self.shared()).signin.principal = Some(session.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    fn key() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn proof(k: &EcdsaKeyPair, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = k.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    fn header(k: &EcdsaKeyPair) -> Value {
        let p = k.public_key().as_ref();
        json!({"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":b64(&p[1..33]),"y":b64(&p[33..])}})
    }

    const HTU: &str = "http://127.0.0.1:1/v1/token";

    #[test]
    fn proofs_are_checked_for_signature_method_url_time_and_reuse() {
        let k = key();
        let claims = |htm: &str, htu: &str, iat: i64, jti: &str| json!({"htm":htm,"htu":htu,"iat":iat,"jti":jti});
        let mut seen = HashSet::new();
        let good = proof(&k, header(&k), claims("POST", HTU, 1000, "a"));
        assert!(check_proof(&good, HTU, 1000, &mut seen).is_ok());
        assert_eq!(
            check_proof(&good, HTU, 1000, &mut seen),
            Err("the DPoP jti was used before")
        );
        for (p, why) in [
            (proof(&k, header(&k), claims("GET", HTU, 1000, "b")), "htm"),
            (
                proof(
                    &k,
                    header(&k),
                    claims("POST", "http://x/v1/token", 1000, "c"),
                ),
                "htu",
            ),
            (
                proof(&k, header(&k), claims("POST", HTU, 1000 - 301, "d")),
                "iat",
            ),
            (
                proof(&k, header(&key()), claims("POST", HTU, 1000, "e")),
                "signature",
            ),
            (
                proof(
                    &k,
                    json!({"typ":"JWT","alg":"ES256","jwk":header(&k)["jwk"]}),
                    claims("POST", HTU, 1000, "f"),
                ),
                "typ",
            ),
        ] {
            let e = check_proof(&p, HTU, 1000, &mut seen).unwrap_err();
            assert!(e.contains(why), "{why}: {e}");
        }
    }
}
