//! STS (query protocol, XML answers): AssumeRole, AssumeRoleWithWebIdentity,
//! GetSessionToken and GetCallerIdentity, every signed call verified with SigV4; and the
//! Cognito identity pool calls that share its endpoint.

use crate::wire::{body_json, enter, field, json_error, xml_error, xml_escape};
use crate::{Issued, Shared, WebIdentityCheck, lock, sigv4};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) async fn sts(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok())
        && let Some(op) = target.strip_prefix("AWSCognitoIdentityService.")
    {
        return cognito_identity(&state, op, &body).await;
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let action = form.get("Action").cloned().unwrap_or_default();
    if let Some(r) = enter(&state, &action, true).await {
        return r;
    }
    lock(&state).calls.push((action.clone(), form.clone()));
    let ns = "https://sts.amazonaws.com/doc/2011-06-15/";
    if action == "AssumeRoleWithWebIdentity" {
        // Unsigned: the web identity token is the proof.
        let token = form.get("WebIdentityToken").cloned().unwrap_or_default();
        let verdict = {
            let s = lock(&state);
            s.web_identity_check
                .as_ref()
                .map(|check| check(&token))
                .unwrap_or_else(|| {
                    if token.split('.').count() == 3 {
                        Ok(())
                    } else {
                        Err("token is not a JWT".to_string())
                    }
                })
        };
        if let Err(why) = verdict {
            return xml_error(400, "InvalidIdentityToken", &why);
        }
        let (role_arn, session, account, role) = match role_params(&form) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let arn = format!("arn:aws:sts::{account}:assumed-role/{role}/{session}");
        let mut s = lock(&state);
        let ttl = duration(&form, s.settings.credentials_ttl);
        let (akid, issued) = s.issue_for(&account, &arn, ttl);
        let _ = role_arn;
        return (
            [("content-type", "text/xml")],
            format!(
                "<AssumeRoleWithWebIdentityResponse xmlns=\"{ns}\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials><SubjectFromWebIdentityToken>emu</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>{}</Arn><AssumedRoleId>AROAEMU:{session}</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
                issued.secret,
                issued.token,
                issued.expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
                xml_escape(&issued.arn)
            ),
        )
            .into_response();
    }
    let caller = {
        let s = lock(&state);
        match sigv4::verify(
            &s.issued,
            s.now(),
            method.as_str(),
            &uri,
            &headers,
            &body,
            "sts",
        ) {
            Ok(akid) => s.issued.get(&akid).cloned().map(|i| (akid, i)),
            Err((code, msg)) => return xml_error(403, code, &msg),
        }
    };
    let Some((akid, who)) = caller else {
        return xml_error(403, "InvalidClientTokenId", "unknown access key");
    };
    match action.as_str() {
        "GetCallerIdentity" => (
            [("content-type", "text/xml")],
            format!(
                "<GetCallerIdentityResponse xmlns=\"{ns}\"><GetCallerIdentityResult><Arn>{}</Arn><UserId>{akid}</UserId><Account>{}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                xml_escape(&who.arn),
                who.account
            ),
        )
            .into_response(),
        "AssumeRole" => {
            let (role_arn, session, account, role) = match role_params(&form) {
                Ok(v) => v,
                Err(r) => return r,
            };
            let mut s = lock(&state);
            if s.denied_roles.contains(&role_arn) {
                return xml_error(403, "AccessDenied", &format!("User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}", who.arn));
            }
            if let Some(serial) = form.get("SerialNumber") {
                let ok = s.settings.mfa_code.as_deref().is_some_and(|c| Some(c) == form.get("TokenCode").map(String::as_str));
                if !ok {
                    return xml_error(403, "AccessDenied", &format!("MultiFactorAuthentication failed with invalid MFA one time pass code for {serial}"));
                }
            } else if s.mfa_roles.contains(&role_arn) {
                return xml_error(403, "AccessDenied", "MultiFactorAuthentication is required to assume this role");
            }
            if let Some(want) = s.external_ids.get(&role_arn)
                && form.get("ExternalId") != Some(want)
            {
                return xml_error(403, "AccessDenied", "external id does not match the role's trust policy");
            }
            let ttl = duration(&form, s.settings.credentials_ttl);
            let arn = format!("arn:aws:sts::{account}:assumed-role/{role}/{session}");
            let (akid, issued) = s.issue_for(&account, &arn, ttl);
            assume_role_xml(ns, &akid, &issued)
        }
        "GetSessionToken" => {
            let mut s = lock(&state);
            let ttl = form.get("DurationSeconds").and_then(|d| d.parse().ok()).unwrap_or(s.settings.credentials_ttl);
            let (akid, issued) = s.issue_for(&who.account.clone(), &who.arn.clone(), ttl);
            (
                [("content-type", "text/xml")],
                format!(
                    "<GetSessionTokenResponse xmlns=\"{ns}\"><GetSessionTokenResult><Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></GetSessionTokenResponse>",
                    issued.secret,
                    issued.token,
                    issued.expires_at.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            )
                .into_response()
        }
        "GetFederationToken" => {
            crate::signin::get_federation_token(&mut lock(&state), ns, &who, &form)
        }
        other => xml_error(400, "InvalidAction", &format!("action {other} is not supported")),
    }
}

/// Cognito identity pools (awsJson1.1, unsigned): GetId and GetCredentialsForIdentity,
/// accepting a login only when the web identity check accepts its token.
async fn cognito_identity(state: &Shared, op: &str, body: &[u8]) -> Response {
    if let Some(r) = enter(state, op, false).await {
        return r;
    }
    let v = body_json(&Bytes::copy_from_slice(body));
    let logins = v
        .get("Logins")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(token) = logins.values().next().and_then(Value::as_str) else {
        return json_error(400, "NotAuthorizedException", "Logins are required");
    };
    let verdict = {
        let s = lock(state);
        s.web_identity_check
            .as_ref()
            .map(|check| check(token))
            .unwrap_or(Ok(()))
    };
    if let Err(why) = verdict {
        return json_error(400, "NotAuthorizedException", &why);
    }
    let mut s = lock(state);
    match op {
        "GetId" => {
            let pool = field(&v, "IdentityPoolId").unwrap_or_default().to_string();
            let region = pool.split(':').next().unwrap_or("us-east-1").to_string();
            let id = s.next(&format!("{region}:emu-identity-"), 30);
            axum::Json(json!({"IdentityId": id})).into_response()
        }
        "GetCredentialsForIdentity" => {
            let id = field(&v, "IdentityId").unwrap_or_default().to_string();
            let arn = "arn:aws:sts::111122223333:assumed-role/Cognito_Authenticated/CognitoIdentityCredentials".to_string();
            let (akid, issued) = s.issue("111122223333", &arn);
            axum::Json(json!({"IdentityId": id, "Credentials": {
                "AccessKeyId": akid,
                "SecretKey": issued.secret,
                "SessionToken": issued.token,
                "Expiration": issued.expires_at.timestamp() as f64,
            }}))
            .into_response()
        }
        other => json_error(
            400,
            "InvalidParameterException",
            &format!("{other} is not supported"),
        ),
    }
}

/// A web identity check that verifies a token's signature against a JWKS (as STS does with
/// the provider's keys), its issuer and its audience. Independent of awscred's own check.
pub fn jwks_check(
    jwks_json: &str,
    issuer: &str,
    audience: &str,
) -> Result<WebIdentityCheck, String> {
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(jwks_json).map_err(|e| e.to_string())?;
    let issuer = issuer.to_string();
    let audience = audience.to_string();
    Ok(Arc::new(move |token: &str| {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("bad token header: {e}"))?;
        let jwk = match &header.kid {
            Some(kid) => set.find(kid),
            None => set.keys.first(),
        }
        .ok_or("no matching key in the provider's JWKS")?;
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_audience(&[audience.as_str()]);
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map(|_| ())
            .map_err(|e| format!("web identity token rejected: {e}"))
    }))
}

fn duration(form: &HashMap<String, String>, default: i64) -> i64 {
    form.get("DurationSeconds")
        .and_then(|d| d.parse().ok())
        .unwrap_or(default)
}

#[allow(clippy::type_complexity)]
fn role_params(
    form: &HashMap<String, String>,
) -> Result<(String, String, String, String), Response> {
    let role_arn = form.get("RoleArn").cloned().unwrap_or_default();
    let session = form.get("RoleSessionName").cloned().unwrap_or_default();
    let parts: Vec<&str> = role_arn.split(':').collect();
    if parts.len() != 6 || parts[0] != "arn" || !parts[5].starts_with("role/") {
        return Err(xml_error(
            400,
            "ValidationError",
            &format!("{role_arn} is not a valid role ARN"),
        ));
    }
    if session.is_empty()
        || session.len() > 64
        || !session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(c))
    {
        return Err(xml_error(
            400,
            "ValidationError",
            "RoleSessionName must be 2-64 characters of [\\w+=,.@-]",
        ));
    }
    if let Some(d) = form
        .get("DurationSeconds")
        .and_then(|d| d.parse::<i64>().ok())
        && !(900..=43200).contains(&d)
    {
        return Err(xml_error(
            400,
            "ValidationError",
            "DurationSeconds must be between 900 and 43200",
        ));
    }
    let account = parts[4].to_string();
    let role = parts[5].trim_start_matches("role/").to_string();
    Ok((role_arn, session, account, role))
}

fn assume_role_xml(ns: &str, akid: &str, i: &Issued) -> Response {
    (
        [("content-type", "text/xml")],
        format!(
            "<AssumeRoleResponse xmlns=\"{ns}\"><AssumeRoleResult><Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><Arn>{}</Arn><AssumedRoleId>AROAEMU:{akid}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>emu</RequestId></ResponseMetadata></AssumeRoleResponse>",
            i.secret,
            i.token,
            i.expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
            xml_escape(&i.arn)
        ),
    )
        .into_response()
}
