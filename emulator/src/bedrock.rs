//! The Bedrock endpoints Claude Code calls with `ANTHROPIC_BEDROCK_BASE_URL`: list the
//! system inference profiles, invoke a model, and invoke it with a response stream in AWS
//! event-stream framing (`chunk` events whose `bytes` carry Anthropic stream events). Every
//! request's SigV4 signature (service `bedrock`) is verified against issued credentials, or
//! its Bedrock API key (`Authorization: Bearer bedrock-api-key-…`): the presigned signature
//! inside, its life and its region.
//!
//! As Bedrock does: ListInferenceProfiles answers the signing region's profiles (its
//! geography's prefix and `global.`, a few non-Claude ones among them) a page at a time
//! with `nextToken`; an invoke of a profile of another geography, or a body without
//! `anthropic_version` and `max_tokens`, is a ValidationException; an IAM action listed in
//! [`crate::Settings::bedrock_denied`] is an AccessDeniedException naming the caller.

use crate::wire::{enter, json_error};
use crate::{Shared, lock, sigv4};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

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

/// The IAM action each operation needs.
fn action_of(op: &str) -> &'static str {
    match op {
        "ListInferenceProfiles" => "bedrock:ListInferenceProfiles",
        "InvokeModelWithResponseStream" => "bedrock:InvokeModelWithResponseStream",
        _ => "bedrock:InvokeModel",
    }
}

/// [`admit`], then the IAM check: an action in `bedrock_denied` is refused as Bedrock
/// refuses it, naming the caller and the action. `Ok` is the region the request was
/// signed for.
async fn admit_action(
    state: &Shared,
    op: &str,
    resource: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, Response> {
    if let Some(r) = enter(state, op, false).await {
        return Err(r);
    }
    let akid = authorize(state, method, uri, headers, body)?;
    let region = signing_region(headers).unwrap_or_else(|| "us-east-1".into());
    let s = lock(state);
    let action = action_of(op);
    if s.settings.bedrock_denied.iter().any(|a| a == action) {
        let who = s
            .issued
            .get(&akid)
            .map(|i| (i.arn.clone(), i.account.clone()))
            .unwrap_or_else(|| ("unknown".into(), "111122223333".into()));
        let resource = resource
            .replace("{region}", &region)
            .replace("{account}", &who.1);
        return Err(json_error(
            403,
            "AccessDeniedException",
            &format!(
                "User: {} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action",
                who.0
            ),
        ));
    }
    Ok(region)
}

/// The region of the request's credential scope: from a SigV4 `Authorization` header, or
/// from the presigned URL inside a Bedrock API key (`Bearer bedrock-api-key-…`).
fn signing_region(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = if let Some(key) = auth.strip_prefix("Bearer bedrock-api-key-") {
        let url = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .ok()?;
        let url = String::from_utf8(url).ok()?;
        let v = url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("X-Amz-Credential="))?;
        v.replace("%2F", "/").replace("%2f", "/")
    } else {
        auth.split([' ', ','])
            .find_map(|p| p.trim().strip_prefix("Credential="))?
            .to_string()
    };
    credential.split('/').nth(2).map(str::to_string)
}

/// The inference-profile prefixes a region's ListInferenceProfiles answer carries, as
/// Bedrock has them: its geography's, and `global` outside GovCloud.
fn region_prefixes(region: &str) -> Vec<&'static str> {
    let geo = if region.starts_with("us-gov-") {
        Some("us-gov")
    } else if region.starts_with("us-") || region.starts_with("ca-") {
        Some("us")
    } else if region.starts_with("eu-") {
        Some("eu")
    } else if region.starts_with("ap-") {
        Some("apac")
    } else {
        None
    };
    let mut out: Vec<&'static str> = geo.into_iter().collect();
    match region {
        "ap-northeast-1" | "ap-northeast-3" => out.push("jp"),
        "ap-southeast-2" | "ap-southeast-4" => out.push("au"),
        _ => {}
    }
    if !region.starts_with("us-gov-") {
        out.push("global");
    }
    out
}

/// Models behind the system inference profiles: (model id, also under `global.`).
const PROFILE_MODELS: [(&str, bool); 7] = [
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", true),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", true),
    ("anthropic.claude-opus-4-1-20250805-v1:0", false),
    ("anthropic.claude-sonnet-4-20250514-v1:0", true),
    ("anthropic.claude-3-7-sonnet-20250219-v1:0", false),
    ("amazon.nova-pro-v1:0", false),
    ("meta.llama3-2-11b-instruct-v1:0", false),
];

/// Profiles per page when the caller names no `maxResults` (small, so that callers
/// must follow `nextToken`).
const PAGE: usize = 4;

/// The system inference profiles of `region`, in a stable order.
fn profiles_of(region: &str, account: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for prefix in region_prefixes(region) {
        for (model, global) in PROFILE_MODELS {
            if prefix == "global" && !global {
                continue;
            }
            let id = format!("{prefix}.{model}");
            out.push(json!({
                "inferenceProfileId": id,
                "inferenceProfileName": id,
                "inferenceProfileArn": format!("arn:aws:bedrock:{region}:{account}:inference-profile/{id}"),
                "models": [{"modelArn": format!("arn:aws:bedrock:{region}::foundation-model/{model}")}],
                "status": "ACTIVE",
                "type": "SYSTEM_DEFINED",
            }));
        }
    }
    out
}

/// ListInferenceProfiles: the region's system profiles, `PAGE` (or `maxResults`) at a
/// time; `nextToken` is the index of the next profile.
pub(crate) async fn list_inference_profiles(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let region = match admit_action(
        &state,
        "ListInferenceProfiles",
        "arn:aws:bedrock:{region}:{account}:inference-profile/*",
        &method,
        &uri,
        &headers,
        b"",
    )
    .await
    {
        Ok(r) => r,
        Err(r) => return r,
    };
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let page = match get("maxResults").map(str::parse::<usize>) {
        None => PAGE,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return json_error(400, "ValidationException", "maxResults must be 1 to 1000");
        }
    };
    let start = match get("nextToken").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return json_error(400, "ValidationException", "The nextToken is invalid.");
        }
    };
    let all: Vec<Value> = match get("type") {
        Some("APPLICATION") => Vec::new(),
        _ => profiles_of(&region, "111122223333"),
    };
    let end = start.saturating_add(page).min(all.len());
    let mut answer = json!({
        "inferenceProfileSummaries": all.get(start.min(end)..end).unwrap_or_default(),
    });
    if end < all.len() {
        answer["nextToken"] = Value::String(end.to_string());
    }
    axum::Json(answer).into_response()
}

fn reply_text(state: &Shared) -> String {
    lock(state).settings.reply.clone()
}

/// Whether Bedrock refuses `model` in `region`: a system inference profile of a geography
/// the region does not serve. Other ids (foundation models, ARNs) are let through.
fn uncallable(model: &str, region: &str) -> bool {
    let Some((prefix, _)) = model.split_once('.') else {
        return false;
    };
    let known = ["us", "us-gov", "eu", "apac", "jp", "au", "global"];
    known.contains(&prefix) && !region_prefixes(region).contains(&prefix)
}

/// Checks an invoke request as Bedrock does before answering: the model can be called from
/// the region, and the body is an Anthropic Messages request. `Ok` is `max_tokens`.
fn check_invoke(model: &str, region: &str, body: &[u8]) -> Result<u64, Response> {
    if uncallable(model, region) {
        return Err(json_error(
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
        ));
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        json_error(
            400,
            "ValidationException",
            "Malformed input request, please reformat your input and try again.",
        )
    })?;
    if v.get("anthropic_version").and_then(Value::as_str).is_none() {
        return Err(json_error(
            400,
            "ValidationException",
            "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.",
        ));
    }
    v.get("max_tokens").and_then(Value::as_u64).filter(|n| *n >= 1).ok_or_else(|| {
        json_error(
            400,
            "ValidationException",
            "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.",
        )
    })
}

/// Admits an InvokeModel-like call `op` on the inference profile `model` and checks its
/// body; returns its max_tokens.
async fn admit_invoke(
    state: &Shared,
    op: &str,
    model: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<u64, Response> {
    let region = admit_action(
        state,
        op,
        &format!("arn:aws:bedrock:{{region}}:{{account}}:inference-profile/{model}"),
        method,
        uri,
        headers,
        body,
    )
    .await?;
    check_invoke(model, &region, body)
}

pub(crate) async fn invoke(
    State(state): State<Shared>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let max_tokens = match admit_invoke(
        &state,
        "InvokeModel",
        &model,
        &method,
        &uri,
        &headers,
        &body,
    )
    .await
    {
        Ok(n) => n,
        Err(r) => return r,
    };
    let text = reply_text(&state);
    // One token: the first word, stopped as Bedrock stops it.
    let (text, stop, out) = if max_tokens == 1 {
        let first = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        (first, "max_tokens", 1)
    } else {
        (text, "end_turn", 5)
    };
    axum::Json(json!({
        "id": "msg_emu_invoke",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": out},
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
    if let Err(r) = admit_invoke(
        &state,
        "InvokeModelWithResponseStream",
        &model,
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
    fn regions_list_their_geography_and_global() {
        assert_eq!(region_prefixes("eu-west-1"), ["eu", "global"]);
        assert_eq!(region_prefixes("ap-northeast-1"), ["apac", "jp", "global"]);
        assert_eq!(region_prefixes("us-gov-west-1"), ["us-gov"]);
        assert_eq!(region_prefixes("sa-east-1"), ["global"]);
        assert!(uncallable("us.anthropic.x", "eu-west-1"));
        assert!(!uncallable("global.anthropic.x", "eu-west-1"));
        assert!(!uncallable("anthropic.claude-x", "eu-west-1"));
        let ids: Vec<String> = profiles_of("eu-west-1", "1")
            .iter()
            .map(|p| p["inferenceProfileId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 10);
        assert!(
            ids.iter()
                .all(|i| i.starts_with("eu.") || i.starts_with("global."))
        );
    }

    #[test]
    fn the_signing_region_from_sigv4_or_an_api_key() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-west-1/bedrock/aws4_request, SignedHeaders=host, Signature=x"
                .parse()
                .unwrap(),
        );
        assert_eq!(signing_region(&h).as_deref(), Some("eu-west-1"));
        let url = "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Credential=AKID%2F20261125%2Fap-southeast-2%2Fbedrock%2Faws4_request&Version=1";
        let key = base64::engine::general_purpose::STANDARD.encode(url);
        h.insert(
            "authorization",
            format!("Bearer bedrock-api-key-{key}").parse().unwrap(),
        );
        assert_eq!(signing_region(&h).as_deref(), Some("ap-southeast-2"));
    }

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
