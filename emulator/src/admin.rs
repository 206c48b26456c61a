//! The endpoints under `/_emulator/` that scripts and tests use over HTTP.

use crate::oidc::UserCode;
use crate::{Fault, Settings, Shared, lock};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(crate) async fn counters(State(state): State<Shared>) -> Response {
    axum::Json(lock(&state).counters.clone()).into_response()
}

pub(crate) async fn approve(State(state): State<Shared>, q: Query<UserCode>) -> Response {
    let mut s = lock(&state);
    let mut n = 0;
    for d in s.devices.values_mut() {
        if q.user_code.as_deref().is_none_or(|c| c == d.user_code) && !d.approved {
            d.approved = true;
            n += 1;
        }
    }
    axum::Json(json!({"approved": n})).into_response()
}

pub(crate) async fn settings(State(state): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Settings>(&body) {
        Ok(new) => {
            lock(&state).settings = new;
            StatusCode::OK.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

pub(crate) async fn fault(State(state): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(f) => {
            lock(&state).faults.push(f);
            StatusCode::OK.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

pub(crate) async fn expire(State(state): State<Shared>) -> Response {
    let n = lock(&state).expire_all();
    axum::Json(json!({"expired": n})).into_response()
}
