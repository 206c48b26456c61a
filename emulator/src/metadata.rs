//! Instance metadata (IMDSv2) and the container credentials endpoint.

use crate::wire::enter;
use crate::{EmulatorState, Shared, lock};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const INSTANCE_ROLE: &str = "emu-instance-role";

fn metadata_json(s: &mut EmulatorState, role: &str) -> Value {
    let arn = format!("arn:aws:sts::111122223333:assumed-role/{role}/i-emu");
    let (akid, issued) = s.issue("111122223333", &arn);
    json!({
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": akid,
        "SecretAccessKey": issued.secret,
        "Token": issued.token,
        "Expiration": issued.expires_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "LastUpdated": s.now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "RoleArn": format!("arn:aws:iam::111122223333:role/{role}"),
    })
}

pub(crate) async fn container_credentials(State(state): State<Shared>) -> Response {
    if let Some(r) = enter(&state, "ContainerCredentials", false).await {
        return r;
    }
    let mut s = lock(&state);
    axum::Json(metadata_json(&mut s, "emu-task-role")).into_response()
}

pub(crate) async fn imds_token(State(state): State<Shared>) -> Response {
    if let Some(r) = enter(&state, "ImdsToken", false).await {
        return r;
    }
    (
        StatusCode::OK,
        [("x-aws-ec2-metadata-token-ttl-seconds", "21600")],
        "emu-imds-token",
    )
        .into_response()
}

fn imds_authorized(headers: &HeaderMap) -> bool {
    headers
        .get("x-aws-ec2-metadata-token")
        .and_then(|v| v.to_str().ok())
        == Some("emu-imds-token")
}

pub(crate) async fn imds_role_name(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = enter(&state, "ImdsRole", false).await {
        return r;
    }
    if !imds_authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    (StatusCode::OK, INSTANCE_ROLE).into_response()
}

pub(crate) async fn imds_credentials(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(role): axum::extract::Path<String>,
) -> Response {
    if let Some(r) = enter(&state, "ImdsCredentials", false).await {
        return r;
    }
    if !imds_authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if role != INSTANCE_ROLE {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut s = lock(&state);
    axum::Json(metadata_json(&mut s, INSTANCE_ROLE)).into_response()
}
