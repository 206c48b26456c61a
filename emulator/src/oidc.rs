//! IAM Identity Center OIDC (restJson): RegisterClient, StartDeviceAuthorization,
//! CreateToken, the browser's `/authorize` and the device approval page.

use crate::state::{AuthCode, Client, Device, Token};
use crate::wire::{body_json, enter, field, html_escape, html_page, json_error};
use crate::{EmulatorState, Shared, lock};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

pub(crate) async fn register_client(State(state): State<Shared>, body: Bytes) -> Response {
    if let Some(r) = enter(&state, "RegisterClient", false).await {
        return r;
    }
    let v = body_json(&body);
    if field(&v, "clientName").is_none() || field(&v, "clientType") != Some("public") {
        return json_error(
            400,
            "InvalidRequestException",
            "clientName and clientType=public are required",
        );
    }
    let mut s = lock(&state);
    let id = s.next("emu-client-", 24);
    let secret = s.next("emu-client-secret-", 48);
    let expires_at = s.now() + chrono::Duration::seconds(s.settings.client_ttl);
    let list = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let grant_types = list("grantTypes");
    let redirect_uris = list("redirectUris");
    if grant_types.iter().any(|g| g == "authorization_code")
        && (redirect_uris.is_empty() || field(&v, "issuerUrl").is_none())
    {
        return json_error(
            400,
            "InvalidRequestException",
            "authorization_code clients need redirectUris and issuerUrl",
        );
    }
    s.clients.insert(
        id.clone(),
        Client {
            secret: secret.clone(),
            expires_at,
            grant_types,
            redirect_uris,
        },
    );
    axum::Json(json!({
        "clientId": id,
        "clientSecret": secret,
        "clientIdIssuedAt": s.now().timestamp(),
        "clientSecretExpiresAt": expires_at.timestamp(),
    }))
    .into_response()
}

fn check_client(s: &EmulatorState, v: &Value) -> Result<String, Response> {
    let id = field(v, "clientId").unwrap_or_default();
    match s.clients.get(id) {
        Some(c)
            if Some(c.secret.as_str()) == field(v, "clientSecret") && c.expires_at > s.now() =>
        {
            Ok(id.to_string())
        }
        _ => Err(json_error(
            400,
            "InvalidClientException",
            "unknown client or wrong secret",
        )),
    }
}

pub(crate) async fn start_device_authorization(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = enter(&state, "StartDeviceAuthorization", false).await {
        return r;
    }
    let v = body_json(&body);
    let mut s = lock(&state);
    let client_id = match check_client(&s, &v) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if field(&v, "startUrl").is_none() {
        return json_error(400, "InvalidRequestException", "startUrl is required");
    }
    let device_code = s.next("emu-device-", 40);
    let user_code = format!("{:04}-{:04}", rand::random_range(0..10000), s.seq % 10000);
    let ttl = s.settings.device_ttl;
    let now = s.now();
    s.devices.insert(
        device_code.clone(),
        Device {
            client_id,
            user_code: user_code.clone(),
            expires_at: now + chrono::Duration::seconds(ttl),
            approved: false,
            denied: false,
            polls: 0,
            used: false,
        },
    );
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    axum::Json(json!({
        "deviceCode": device_code,
        "userCode": user_code,
        "verificationUri": format!("http://{host}/device"),
        "verificationUriComplete": format!("http://{host}/device?user_code={user_code}"),
        "expiresIn": ttl,
        "interval": s.settings.interval,
    }))
    .into_response()
}

fn grant_token(s: &mut EmulatorState, client_id: &str) -> Value {
    let access = s.next("emu-access-", 48);
    let ttl = s.settings.token_ttl;
    s.tokens.insert(
        access.clone(),
        Token {
            client_id: client_id.to_string(),
            expires_at: s.now() + chrono::Duration::seconds(ttl),
            revoked: false,
        },
    );
    let mut out = json!({"accessToken": access, "tokenType": "Bearer", "expiresIn": ttl});
    if s.settings.refresh_tokens {
        let refresh = s.next("emu-refresh-", 48);
        s.refresh.insert(refresh.clone(), client_id.to_string());
        out["refreshToken"] = json!(refresh);
    }
    out
}

pub(crate) async fn create_token(State(state): State<Shared>, body: Bytes) -> Response {
    if let Some(r) = enter(&state, "CreateToken", false).await {
        return r;
    }
    let v = body_json(&body);
    let mut s = lock(&state);
    let client_id = match check_client(&s, &v) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match field(&v, "grantType") {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            s.count("CreateToken:device_code");
            let code = field(&v, "deviceCode").unwrap_or_default().to_string();
            let auto = s.settings.auto_approve_after;
            let now = s.now();
            let Some(d) = s.devices.get_mut(&code) else {
                return json_error(400, "InvalidGrantException", "unknown device code");
            };
            if d.client_id != client_id || d.used {
                return json_error(
                    400,
                    "InvalidGrantException",
                    "device code not valid for this client",
                );
            }
            if d.expires_at <= now {
                return json_error(400, "ExpiredTokenException", "device code expired");
            }
            if d.denied {
                return json_error(400, "AccessDeniedException", "the user denied the request");
            }
            d.polls += 1;
            if auto.is_some_and(|n| d.polls > n) {
                d.approved = true;
            }
            if !d.approved {
                return json_error(400, "AuthorizationPendingException", "pending");
            }
            d.used = true;
            let out = grant_token(&mut s, &client_id);
            axum::Json(out).into_response()
        }
        Some("authorization_code") => {
            s.count("CreateToken:authorization_code");
            let code = field(&v, "code").unwrap_or_default().to_string();
            let verifier = field(&v, "codeVerifier").unwrap_or_default().to_string();
            let redirect = field(&v, "redirectUri").unwrap_or_default().to_string();
            let Some(c) = s.codes.get_mut(&code) else {
                return json_error(400, "InvalidGrantException", "unknown authorization code");
            };
            if c.used || c.client_id != client_id {
                return json_error(
                    400,
                    "InvalidGrantException",
                    "authorization code already used or for another client",
                );
            }
            if c.redirect_uri != redirect {
                return json_error(
                    400,
                    "InvalidGrantException",
                    "redirectUri differs from the one authorized",
                );
            }
            if pkce_challenge(&verifier) != c.challenge {
                return json_error(
                    400,
                    "InvalidGrantException",
                    "code verifier does not match the challenge",
                );
            }
            c.used = true;
            let out = grant_token(&mut s, &client_id);
            axum::Json(out).into_response()
        }
        Some("refresh_token") => {
            s.count("CreateToken:refresh_token");
            let rt = field(&v, "refreshToken").unwrap_or_default().to_string();
            match s.refresh.get(&rt) {
                Some(owner) if *owner == client_id => {}
                _ => return json_error(400, "InvalidGrantException", "unknown refresh token"),
            }
            let mut out = grant_token(&mut s, &client_id);
            // Like IAM Identity Center, keep the refresh token usable and omit a new one.
            if let Some(new) = out.as_object_mut().and_then(|o| o.remove("refreshToken"))
                && let Some(n) = new.as_str()
            {
                s.refresh.remove(n);
            }
            axum::Json(out).into_response()
        }
        other => json_error(
            400,
            "UnsupportedGrantTypeException",
            &format!("grant {other:?} not supported"),
        ),
    }
}

#[derive(Deserialize)]
pub(crate) struct UserCode {
    pub(crate) user_code: Option<String>,
}

/// The page the device URL opens: the user code and an Approve button that approves that
/// code only. Without a code, a field to type it in.
pub(crate) async fn device_page(Query(q): Query<UserCode>) -> Response {
    let code = q.user_code.unwrap_or_default();
    let code = code.trim();
    let form = if code.is_empty() {
        "<p>Enter the code awscred showed in the terminal.</p>\n\
         <form method=\"post\" action=\"/device/approve\">\n\
         <input name=\"user_code\" placeholder=\"1234-5678\" autofocus>\n\
         <button type=\"submit\">Approve</button>\n</form>"
            .to_string()
    } else {
        let code = html_escape(code);
        format!(
            "<p>awscred asks to sign in with the code</p>\n<p><code>{code}</code></p>\n\
             <p>Approve if it is the code shown in your terminal.</p>\n\
             <form method=\"post\" action=\"/device/approve\">\n\
             <input type=\"hidden\" name=\"user_code\" value=\"{code}\">\n\
             <button type=\"submit\">Approve</button>\n</form>"
        )
    };
    html_page(StatusCode::OK, "Sign in to awscred", &form)
}

/// What the Approve button posts to (`user_code=…`, form-encoded): approves the pending
/// device authorization with that user code, and no other, then says what happened.
pub(crate) async fn device_approve(State(state): State<Shared>, body: Bytes) -> Response {
    let code = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "user_code")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let (status, title, text) = match approve_user_code(&mut lock(&state), &code) {
        Approval::Approved => (
            StatusCode::OK,
            "Approved",
            "The request is approved. Return to the terminal: awscred finishes signing in \
             by itself. You can close this page.",
        ),
        Approval::AlreadyApproved => (
            StatusCode::OK,
            "Already approved",
            "This request was approved already. You can close this page.",
        ),
        Approval::Denied => (
            StatusCode::CONFLICT,
            "Denied",
            "This request was denied; run the sign-in again for a new code.",
        ),
        Approval::Expired => (
            StatusCode::GONE,
            "Expired",
            "This code has expired; run the sign-in again for a new code.",
        ),
        Approval::Unknown => (
            StatusCode::NOT_FOUND,
            "Unknown code",
            "No sign-in request has this code.",
        ),
    };
    let body = format!(
        "<p>{text}</p>\n<p>Code: <code>{}</code></p>",
        html_escape(&code)
    );
    html_page(status, title, &body)
}

/// What approving a user code did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Approval {
    Approved,
    AlreadyApproved,
    Denied,
    Expired,
    Unknown,
}

/// Approves the device authorization whose user code is `code`, if it is still pending.
pub(crate) fn approve_user_code(s: &mut EmulatorState, code: &str) -> Approval {
    let now = s.now();
    let Some(d) = s
        .devices
        .values_mut()
        .find(|d| !code.is_empty() && d.user_code == code)
    else {
        return Approval::Unknown;
    };
    if d.denied {
        Approval::Denied
    } else if d.approved || d.used {
        Approval::AlreadyApproved
    } else if d.expires_at <= now {
        Approval::Expired
    } else {
        d.approved = true;
        Approval::Approved
    }
}

/// S256: base64url(sha256(verifier)) without padding.
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn loopback_redirect_allowed(registered: &[String], asked: &str) -> bool {
    // RFC 8252 §7.3: for loopback redirects the port is not compared.
    let strip_port = |u: &str| -> Option<String> {
        let rest = u.strip_prefix("http://127.0.0.1")?;
        let path_start = rest.find('/').unwrap_or(rest.len());
        let port = &rest[..path_start];
        if !(port.is_empty()
            || (port.starts_with(':') && port[1..].chars().all(|c| c.is_ascii_digit())))
        {
            return None;
        }
        Some(rest[path_start..].to_string())
    };
    let Some(asked_path) = strip_port(asked) else {
        return false;
    };
    registered
        .iter()
        .any(|r| strip_port(r).as_deref() == Some(asked_path.as_str()))
}

pub(crate) async fn authorize(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = enter(&state, "Authorize", false).await {
        return r;
    }
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (client_id, redirect, st, challenge) = (
        get("client_id"),
        get("redirect_uri"),
        get("state"),
        get("code_challenge"),
    );
    let mode = {
        let s = lock(&state);
        let Some(c) = s.clients.get(&client_id) else {
            return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
        };
        if !c.grant_types.iter().any(|g| g == "authorization_code") {
            return (
                StatusCode::BAD_REQUEST,
                "client is not registered for authorization_code",
            )
                .into_response();
        }
        if !loopback_redirect_allowed(&c.redirect_uris, &redirect) {
            return (StatusCode::BAD_REQUEST, "redirect_uri not registered").into_response();
        }
        if get("response_type") != "code"
            || get("code_challenge_method") != "S256"
            || challenge.is_empty()
            || st.is_empty()
            || get("scopes").is_empty()
        {
            return (
                StatusCode::BAD_REQUEST,
                "response_type=code, S256 challenge, state and scopes are required",
            )
                .into_response();
        }
        s.settings.authorize.clone()
    };
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = match mode.as_str() {
        "deny" => format!("{redirect}{sep}error=access_denied&error_description=denied&state={st}"),
        "wrong-state" => format!("{redirect}{sep}code=forged&state=not-{st}"),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::REQUEST_TIMEOUT.into_response();
        }
        _ => {
            let mut s = lock(&state);
            let code = s.next("emu-code-", 32);
            s.codes.insert(
                code.clone(),
                AuthCode {
                    client_id,
                    redirect_uri: redirect.clone(),
                    challenge,
                    used: false,
                },
            );
            format!("{redirect}{sep}code={code}&state={st}")
        }
    };
    (StatusCode::FOUND, [("location", location)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_device(f: impl FnOnce(&mut Device)) -> EmulatorState {
        let mut s = EmulatorState::default();
        let mut d = Device {
            client_id: "c".into(),
            user_code: "1234-0001".into(),
            expires_at: s.now() + chrono::Duration::seconds(600),
            approved: false,
            denied: false,
            polls: 0,
            used: false,
        };
        f(&mut d);
        s.devices.insert("dc-1".into(), d);
        let mut other = s.devices["dc-1"].clone();
        other.user_code = "1234-0002".into();
        other.approved = false;
        s.devices.insert("dc-2".into(), other);
        s
    }

    #[test]
    fn approving_a_user_code_approves_that_device_only() {
        let mut s = with_device(|_| {});
        assert_eq!(approve_user_code(&mut s, "1234-0001"), Approval::Approved);
        assert!(s.devices["dc-1"].approved);
        assert!(!s.devices["dc-2"].approved);
        assert_eq!(
            approve_user_code(&mut s, "1234-0001"),
            Approval::AlreadyApproved
        );
    }

    #[test]
    fn denied_expired_and_unknown_codes_stay_unapproved() {
        let mut s = with_device(|d| d.denied = true);
        assert_eq!(approve_user_code(&mut s, "1234-0001"), Approval::Denied);
        assert!(!s.devices["dc-1"].approved);

        let mut s =
            with_device(|d| d.expires_at = chrono::Utc::now() - chrono::Duration::seconds(1));
        assert_eq!(approve_user_code(&mut s, "1234-0001"), Approval::Expired);
        assert!(!s.devices["dc-1"].approved);

        let mut s = with_device(|_| {});
        for code in ["", "1234-000", "1234-0003"] {
            assert_eq!(approve_user_code(&mut s, code), Approval::Unknown);
        }
        assert!(s.devices.values().all(|d| !d.approved));
    }
}
