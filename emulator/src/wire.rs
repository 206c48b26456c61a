//! What every service shares on the wire: JSON and XML errors, counting and injected faults
//! on entry, and the middleware that rewrites an answer as a fault asks.

use crate::{Fault, Shared, lock};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::Duration;

/// Applies a pending [`Fault`] rewrite to the answer a handler produced.
pub(crate) async fn apply_rewrite(
    State(state): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let Some(fault) = lock(&state).rewrite.take() else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let text = rewrite_body(&String::from_utf8_lossy(&bytes), &fault);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(text))
}

/// Rewrites a successful answer as a [`Fault`] asks: one field's value replaced, or the
/// body cut in half.
pub(crate) fn rewrite_body(body: &str, fault: &Fault) -> String {
    if fault.truncate {
        let mut cut = body.len() / 2;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        return body[..cut].to_string();
    }
    let Some(field) = &fault.field else {
        return body.to_string();
    };
    let json_key = format!("\"{field}\":");
    if let Some(i) = body.find(&json_key) {
        let start = i + json_key.len();
        let rest = &body[start..];
        let end = if let Some(quoted) = rest.strip_prefix('"') {
            quoted.find('"').map_or(rest.len(), |j| j + 2)
        } else {
            rest.find([',', '}']).unwrap_or(rest.len())
        };
        return format!("{}{}{}", &body[..start], fault.value, &rest[end..]);
    }
    let (open, close) = (format!("<{field}>"), format!("</{field}>"));
    if let (Some(a), Some(b)) = (body.find(&open), body.find(&close)) {
        let start = a + open.len();
        if start <= b {
            return format!("{}{}{}", &body[..start], fault.value, &body[b..]);
        }
    }
    body.to_string()
}

pub(crate) fn json_error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let oauth = match code {
        "AuthorizationPendingException" => "authorization_pending",
        "SlowDownException" => "slow_down",
        "ExpiredTokenException" => "expired_token",
        "AccessDeniedException" => "access_denied",
        "InvalidGrantException" => "invalid_grant",
        "InvalidClientException" => "invalid_client",
        _ => code,
    };
    (
        status,
        [
            ("x-amzn-errortype", code),
            ("content-type", "application/json"),
        ],
        json!({"error": oauth, "error_description": message, "message": message}).to_string(),
    )
        .into_response()
}

pub(crate) fn xml_error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [("content-type", "text/xml")],
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>emu</RequestId></ErrorResponse>",
            xml_escape(message)
        ),
    )
        .into_response()
}

/// A small HTML page for the browser steps a person takes.
pub(crate) fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
        ],
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{title} (awscred emulator)</title>\n</head>\n<body>\n<h1>{title}</h1>\n\
             {body}\n<p><small>awscred emulator: a local stand-in for IAM Identity Center.\
             </small></p>\n</body>\n</html>\n",
            title = html_escape(title)
        ),
    )
        .into_response()
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Counts the call and applies an injected fault, if any.
pub(crate) async fn enter(state: &Shared, op: &str, xml: bool) -> Option<Response> {
    let fault = {
        let mut s = lock(state);
        s.count(op);
        s.take_fault(op)
    }?;
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    if fault.field.is_some() || fault.truncate {
        lock(state).rewrite = Some(fault);
        return None;
    }
    if let Some(body) = fault.body {
        let status = StatusCode::from_u16(if fault.status == 0 { 200 } else { fault.status })
            .unwrap_or(StatusCode::OK);
        return Some(
            (
                status,
                [(
                    "content-type",
                    if xml { "text/xml" } else { "application/json" },
                )],
                body,
            )
                .into_response(),
        );
    }
    if fault.status == 0 {
        return None;
    }
    let code = if fault.code.is_empty() {
        "InternalFailure"
    } else {
        &fault.code
    };
    let message = format!("{code}: injected fault");
    Some(if xml {
        xml_error(fault.status, code, &message)
    } else {
        json_error(fault.status, code, &message)
    })
}

pub(crate) fn body_json(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

pub(crate) fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escape_covers_content_and_attributes() {
        assert_eq!(
            html_escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
