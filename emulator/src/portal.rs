//! The IAM Identity Center portal: GetRoleCredentials and Logout, authorized by the
//! access token CreateToken issued.

use crate::wire::{enter, json_error};
use crate::{EmulatorState, Shared, lock};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

pub(crate) fn bearer(s: &EmulatorState, headers: &HeaderMap) -> Result<String, Response> {
    let t = headers
        .get("x-amz-sso_bearer_token")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    match s.tokens.get(t) {
        Some(tok)
            if !tok.revoked
                && tok.expires_at > s.now()
                && s.clients.contains_key(&tok.client_id) =>
        {
            Ok(t.to_string())
        }
        _ => Err(json_error(
            401,
            "UnauthorizedException",
            "Session token not found or invalid",
        )),
    }
}

#[derive(Deserialize)]
struct RoleQuery {
    role_name: String,
    account_id: String,
}

pub(crate) async fn get_role_credentials(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = enter(&state, "GetRoleCredentials", false).await {
        return r;
    }
    let mut s = lock(&state);
    if let Err(r) = bearer(&s, &headers) {
        return r;
    }
    let (Some(role_name), Some(account_id)) = (q.get("role_name"), q.get("account_id")) else {
        return json_error(
            400,
            "InvalidRequestException",
            "role_name and account_id are required",
        );
    };
    let q = RoleQuery {
        role_name: role_name.clone(),
        account_id: account_id.clone(),
    };
    if q.account_id.len() != 12 || !q.account_id.chars().all(|c| c.is_ascii_digit()) {
        return json_error(403, "ForbiddenException", "No access");
    }
    let arn = format!(
        "arn:aws:sts::{}:assumed-role/{}/awscred",
        q.account_id, q.role_name
    );
    let (akid, issued) = s.issue(&q.account_id, &arn);
    axum::Json(json!({"roleCredentials": {
        "accessKeyId": akid,
        "secretAccessKey": issued.secret,
        "sessionToken": issued.token,
        "expiration": issued.expires_at.timestamp_millis(),
    }}))
    .into_response()
}

pub(crate) async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = enter(&state, "Logout", false).await {
        return r;
    }
    let mut s = lock(&state);
    let t = match bearer(&s, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if let Some(tok) = s.tokens.get_mut(&t) {
        tok.revoked = true;
    }
    StatusCode::OK.into_response()
}
