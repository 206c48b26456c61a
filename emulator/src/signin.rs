//! The AWS console federation endpoint (`/federation`): `Action=getSigninToken` turns
//! temporary credentials the emulator issued into a sign-in token (`SessionDuration` only
//! for role sessions, 900 to 43200 s), `Action=login` accepts a token once and shows a page
//! in place of the console. Also STS GetFederationToken, which gives an IAM user the
//! temporary credentials the console needs.

use crate::state::ConsoleLogin;
use crate::wire::{enter, html_escape, html_page, xml_error, xml_escape};
use crate::{Issued, Shared, lock};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// How long a sign-in token may wait for its use (as AWS: 15 minutes).
const SIGNIN_TOKEN_TTL: i64 = 15 * 60;

/// A sign-in token handed out by `getSigninToken`.
#[derive(Debug, Clone)]
pub(crate) struct SigninToken {
    arn: String,
    session_duration: Option<i64>,
    expires_at: DateTime<Utc>,
    used: bool,
}

/// A plain failure, as the federation endpoint answers (no error code).
fn refused(status: u16) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [("content-type", "text/plain")],
        "The request could not be satisfied.\n",
    )
        .into_response()
}

pub(crate) async fn federation(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("Action").map(String::as_str) {
        Some("getSigninToken") => get_signin_token(&state, &q).await,
        Some("login") => login(&state, &q).await,
        _ => refused(400),
    }
}

async fn get_signin_token(state: &Shared, q: &HashMap<String, String>) -> Response {
    if let Some(r) = enter(state, "GetSigninToken", false).await {
        return r;
    }
    let Some(session) = q
        .get("Session")
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
    else {
        return refused(400);
    };
    let field = |k: &str| session.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let mut s = lock(state);
    let now = s.now();
    let who = match s.issued.get(field("sessionId")) {
        Some(i)
            if !i.token.is_empty()
                && i.secret == field("sessionKey")
                && i.token == field("sessionToken")
                && i.expires_at > now =>
        {
            i.clone()
        }
        _ => return refused(400),
    };
    let session_duration = match q.get("SessionDuration") {
        None => None,
        Some(d) => match d.parse::<i64>() {
            Ok(d) if (900..=43200).contains(&d) && who.arn.contains(":assumed-role/") => Some(d),
            _ => return refused(400),
        },
    };
    let token = s.next("emu-signin-token-", 60);
    s.signin_tokens.insert(
        token.clone(),
        SigninToken {
            arn: who.arn,
            session_duration,
            expires_at: now + chrono::Duration::seconds(SIGNIN_TOKEN_TTL),
            used: false,
        },
    );
    axum::Json(serde_json::json!({ "SigninToken": token })).into_response()
}

async fn login(state: &Shared, q: &HashMap<String, String>) -> Response {
    if let Some(r) = enter(state, "ConsoleLogin", false).await {
        return r;
    }
    let mut s = lock(state);
    let now = s.now();
    let token = q.get("SigninToken").cloned().unwrap_or_default();
    let destination = q.get("Destination").cloned().unwrap_or_default();
    let issuer = q.get("Issuer").cloned().unwrap_or_default();
    let Some(t) = s.signin_tokens.get_mut(&token) else {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "<p>Unknown sign-in token.</p>",
        );
    };
    if t.used || t.expires_at <= now || !destination.starts_with("https://") {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "<p>The sign-in token was used already, has expired, or the destination is not https.</p>",
        );
    }
    t.used = true;
    let login = ConsoleLogin {
        arn: t.arn.clone(),
        issuer,
        destination: destination.clone(),
        session_duration: t.session_duration,
    };
    let body = format!(
        "<p>Signed in as <code>{}</code>; the console would open <code>{}</code>.</p>",
        html_escape(&login.arn),
        html_escape(&destination)
    );
    s.console_logins.push(login);
    html_page(StatusCode::OK, "Signed in to the AWS console", &body)
}

/// STS GetFederationToken for a caller that signed with long-term keys.
pub(crate) fn get_federation_token(
    s: &mut crate::EmulatorState,
    ns: &str,
    who: &Issued,
    form: &HashMap<String, String>,
) -> Response {
    if !who.token.is_empty() {
        return xml_error(
            403,
            "AccessDenied",
            "Cannot call GetFederationToken with session credentials",
        );
    }
    let name = form.get("Name").cloned().unwrap_or_default();
    let name_ok = (2..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !name_ok {
        return xml_error(400, "ValidationError", "Name is not valid");
    }
    if form
        .get("Policy")
        .is_none_or(|p| serde_json::from_str::<serde_json::Value>(p).is_err())
    {
        return xml_error(
            400,
            "MalformedPolicyDocument",
            "a session policy is required here",
        );
    }
    let ttl = match form.get("DurationSeconds").map(|d| d.parse::<i64>()) {
        None => 43200,
        Some(Ok(d)) if (900..=129_600).contains(&d) => d,
        Some(_) => return xml_error(400, "ValidationError", "DurationSeconds is out of range"),
    };
    let account = who.account.clone();
    let arn = format!("arn:aws:sts::{account}:federated-user/{name}");
    let (akid, issued) = s.issue_for(&account, &arn, ttl);
    (
        [("content-type", "text/xml")],
        format!(
            "<GetFederationTokenResponse xmlns=\"{ns}\"><GetFederationTokenResult><Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials><FederatedUser><Arn>{}</Arn><FederatedUserId>{account}:{name}</FederatedUserId></FederatedUser><PackedPolicySize>6</PackedPolicySize></GetFederationTokenResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></GetFederationTokenResponse>",
            issued.secret,
            issued.token,
            issued.expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
            xml_escape(&issued.arn)
        ),
    )
        .into_response()
}
