//! The Bedrock endpoints Claude Code calls with `ANTHROPIC_BEDROCK_BASE_URL`: list the
//! system inference profiles, invoke a model, and invoke it with a response stream in AWS
//! event-stream framing (`chunk` events whose `bytes` carry Anthropic stream events). Every
//! request's SigV4 signature (service `bedrock`) is verified against issued credentials, or
//! its Bedrock API key (`Authorization: Bearer bedrock-api-key-…`): the presigned signature
//! inside, its life and its region.

use crate::wire::{enter, json_error};
use crate::{Shared, lock, sigv4};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

/// Counts the call, applies faults, verifies the signature; `Some` is the response to send
/// instead of the normal answer.
async fn admit(
    state: &Shared,
    op: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    if let Some(r) = enter(state, op, false).await {
        return Some(r);
    }
    authorize(state, method, uri, headers, body).err()
}

/// Verifies the signature and records who signed; `Err` is the response to send.
fn authorize(
    state: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, Response> {
    let mut s = lock(state);
    let now = s.now();
    if let Some(key) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let region = s.settings.bedrock_region.clone();
        return match sigv4::verify_bearer(&s.issued, now, key.trim(), region.as_deref()) {
            Ok(akid) => {
                s.bedrock_bearers.push(akid.clone());
                Ok(akid)
            }
            Err((code, msg)) => Err(json_error(403, code, &format!("{code}: {msg}"))),
        };
    }
    match sigv4::verify(
        &s.issued,
        now,
        method.as_str(),
        uri,
        headers,
        body,
        "bedrock",
    ) {
        Ok(akid) => {
            s.bedrock_signers.push(akid.clone());
            Ok(akid)
        }
        Err((code, msg)) => {
            let code = match code {
                "ExpiredToken" => "ExpiredTokenException",
                "InvalidClientTokenId" => "UnrecognizedClientException",
                "SignatureDoesNotMatch" => "InvalidSignatureException",
                other => other,
            };
            Err(json_error(403, code, &format!("{code}: {msg}")))
        }
    }
}

pub(crate) async fn list_inference_profiles(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(
        &state,
        "ListInferenceProfiles",
        &method,
        &uri,
        &headers,
        b"",
    )
    .await
    {
        return r;
    }
    let profiles: Vec<Value> = [
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "us.anthropic.claude-opus-4-1-20250805-v1:0",
    ]
    .iter()
    .map(|id| {
        json!({
            "inferenceProfileId": id,
            "inferenceProfileName": id,
            "inferenceProfileArn": format!("arn:aws:bedrock:us-east-1:111122223333:inference-profile/{id}"),
            "models": [{"modelArn": format!("arn:aws:bedrock:us-east-1::foundation-model/{}", id.trim_start_matches("us."))}],
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        })
    })
    .collect();
    axum::Json(json!({"inferenceProfileSummaries": profiles})).into_response()
}

fn reply_text(state: &Shared) -> String {
    lock(state).settings.reply.clone()
}

pub(crate) async fn invoke(
    State(state): State<Shared>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = admit(&state, "InvokeModel", &method, &uri, &headers, &body).await {
        return r;
    }
    let text = reply_text(&state);
    axum::Json(json!({
        "id": "msg_emu_invoke",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }))
    .into_response()
}

pub(crate) async fn invoke_stream(
    State(state): State<Shared>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = admit(
        &state,
        "InvokeModelWithResponseStream",
        &method,
        &uri,
        &headers,
        &body,
    )
    .await
    {
        return r;
    }
    let text = reply_text(&state);
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_emu_stream", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 10, "outputTokenCount": 5, "invocationLatency": 1, "firstByteLatency": 1}}),
    ];
    let mut out = Vec::new();
    for e in events {
        let bytes = base64::engine::general_purpose::STANDARD.encode(e.to_string());
        let payload = json!({"bytes": bytes}).to_string();
        out.extend(frame(
            &[
                (":event-type", "chunk"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.as_bytes(),
        ));
    }
    (
        StatusCode::OK,
        [
            ("content-type", "application/vnd.amazon.eventstream"),
            ("x-amzn-bedrock-content-type", "application/json"),
        ],
        out,
    )
        .into_response()
}

/// One AWS event-stream message: prelude (total length, headers length, CRC32), string
/// headers, payload, message CRC32.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(name.len() as u8);
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = 12 + h.len() + payload.len() + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_be_bytes());
    m.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&m[..8]);
    m.extend_from_slice(&prelude_crc.to_be_bytes());
    m.extend_from_slice(&h);
    m.extend_from_slice(payload);
    let crc = crc32fast::hash(&m);
    m.extend_from_slice(&crc.to_be_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout() {
        let f = frame(&[(":event-type", "chunk")], b"{}");
        let total = u32::from_be_bytes(f[0..4].try_into().unwrap()) as usize;
        let hlen = u32::from_be_bytes(f[4..8].try_into().unwrap()) as usize;
        assert_eq!(total, f.len());
        assert_eq!(hlen, 1 + 11 + 1 + 2 + 5);
        assert_eq!(
            u32::from_be_bytes(f[8..12].try_into().unwrap()),
            crc32fast::hash(&f[..8])
        );
        assert_eq!(&f[12 + hlen..total - 4], b"{}");
        assert_eq!(
            u32::from_be_bytes(f[total - 4..].try_into().unwrap()),
            crc32fast::hash(&f[..total - 4])
        );
    }
}
