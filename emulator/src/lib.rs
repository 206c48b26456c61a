//! A local AWS emulator for awscred's tests and demo.
//!
//! It speaks the real wire protocols on 127.0.0.1: IAM Identity Center OIDC (restJson:
//! RegisterClient, StartDeviceAuthorization, CreateToken), the IAM Identity Center portal
//! (GetRoleCredentials, Logout) and STS (query protocol with XML answers: GetCallerIdentity,
//! AssumeRole), verifying every STS request's SigV4 signature against credentials it issued.
//! Tests drive it in-process through [`Emulator`] or over HTTP under `/_emulator/`:
//! request counters, device-code approval, lifetimes, revocation and fault injection.

#![allow(clippy::result_large_err)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

mod bedrock;
mod sigv4;

pub use bedrock::frame;

/// Lifetimes and behaviour; every field can be changed while running.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Access token lifetime (seconds).
    pub token_ttl: i64,
    /// Role credential lifetime (seconds) from GetRoleCredentials and AssumeRole.
    pub credentials_ttl: i64,
    /// Client secret lifetime (seconds).
    pub client_ttl: i64,
    /// Device code lifetime (seconds).
    pub device_ttl: i64,
    /// Polling interval the device flow is told to use (seconds).
    pub interval: i64,
    /// Approve device codes by themselves after this many CreateToken polls.
    pub auto_approve_after: Option<u32>,
    /// Whether CreateToken returns refresh tokens.
    pub refresh_tokens: bool,
    /// What `/authorize` does: `approve` (redirect with a code), `deny` (redirect with
    /// `error=access_denied`), `wrong-state` (redirect with a state of its own), `hang`
    /// (never answer, as a user who never finishes).
    pub authorize: String,
    /// The one-time code AssumeRole accepts with a SerialNumber.
    pub mfa_code: Option<String>,
    /// What the Bedrock model answers.
    pub reply: String,
    /// Seconds the emulator's clock is ahead of this machine's (negative: behind).
    pub clock_skew: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_ttl: 8 * 3600,
            credentials_ttl: 3600,
            client_ttl: 90 * 24 * 3600,
            device_ttl: 600,
            interval: 1,
            auto_approve_after: None,
            refresh_tokens: true,
            authorize: "approve".into(),
            mfa_code: Some("123456".into()),
            reply: "Hello from the awscred emulator.".into(),
            clock_skew: 0,
        }
    }
}

/// An injected failure for the next `count` calls of an operation.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct Fault {
    /// Operation name (`GetRoleCredentials`, `CreateToken`, …).
    pub operation: String,
    /// HTTP status to answer with (0 = answer normally after the delay).
    #[serde(default)]
    pub status: u16,
    /// Error code (`ThrottlingException`, `ExpiredToken`, …).
    #[serde(default)]
    pub code: String,
    /// A raw body to send instead (for malformed answers).
    #[serde(default)]
    pub body: Option<String>,
    /// Delay before answering (milliseconds).
    #[serde(default)]
    pub delay_ms: u64,
    /// Answer normally, then replace the value of this JSON field (`"name":value`) or XML
    /// element (`<Name>value</Name>`) with the raw text of [`Fault::value`]: a 200 that
    /// carries real secrets next to one malformed field.
    #[serde(default)]
    pub field: Option<String>,
    /// The raw replacement for [`Fault::field`] (JSON: include quotes for a string).
    #[serde(default)]
    pub value: String,
    /// Answer normally, then send only the first half of the body.
    #[serde(default)]
    pub truncate: bool,
    /// How many calls it applies to.
    pub count: u32,
}

impl Fault {
    /// The next `count` calls of `operation` fail with HTTP `status` and error `code`.
    pub fn error(operation: &str, status: u16, code: &str, count: u32) -> Self {
        Self {
            operation: operation.into(),
            status,
            code: code.into(),
            body: None,
            delay_ms: 0,
            field: None,
            value: String::new(),
            truncate: false,
            count,
        }
    }

    /// The next `count` successful answers of `operation` have `field`'s value replaced by
    /// the raw text `value`.
    pub fn rewrite(operation: &str, field: &str, value: &str, count: u32) -> Self {
        Self {
            field: Some(field.into()),
            value: value.into(),
            ..Self::error(operation, 0, "", count)
        }
    }

    /// The next `count` successful answers of `operation` are cut in half.
    pub fn truncated(operation: &str, count: u32) -> Self {
        Self {
            truncate: true,
            ..Self::error(operation, 0, "", count)
        }
    }
}

/// Rewrites a successful answer as a [`Fault`] asks: one field's value replaced, or the
/// body cut in half.
fn rewrite_body(body: &str, fault: &Fault) -> String {
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

#[derive(Debug, Clone)]
struct Client {
    secret: String,
    expires_at: DateTime<Utc>,
    grant_types: Vec<String>,
    redirect_uris: Vec<String>,
}

#[derive(Debug, Clone)]
struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    used: bool,
}

#[derive(Debug, Clone)]
struct Device {
    client_id: String,
    user_code: String,
    expires_at: DateTime<Utc>,
    approved: bool,
    denied: bool,
    polls: u32,
    used: bool,
}

#[derive(Debug, Clone)]
struct Token {
    client_id: String,
    expires_at: DateTime<Utc>,
    revoked: bool,
}

/// Credentials the emulator issued, and whom they belong to.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Secret key.
    pub secret: String,
    /// Session token.
    pub token: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Account.
    pub account: String,
    /// ARN of the assumed role session.
    pub arn: String,
}

/// Everything the emulator knows.
#[derive(Default)]
pub struct EmulatorState {
    settings: Settings,
    counters: BTreeMap<String, u64>,
    clients: HashMap<String, Client>,
    devices: HashMap<String, Device>,
    tokens: HashMap<String, Token>,
    refresh: HashMap<String, String>,
    codes: HashMap<String, AuthCode>,
    issued: HashMap<String, Issued>,
    faults: Vec<Fault>,
    /// A rewrite for the answer being produced (see [`Fault::field`]); one at a time, which
    /// is what the tests that inject one need.
    rewrite: Option<Fault>,
    calls: Vec<(String, HashMap<String, String>)>,
    denied_roles: Vec<String>,
    mfa_roles: Vec<String>,
    external_ids: HashMap<String, String>,
    web_identity_check: Option<WebIdentityCheck>,
    bedrock_signers: Vec<String>,
    seq: u64,
}

impl EmulatorState {
    /// The emulator's clock: the real time shifted by `clock_skew`, to test a local clock
    /// that is off.
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.settings.clock_skew)
    }

    fn next(&mut self, prefix: &str, len: usize) -> String {
        self.seq += 1;
        let mut s = format!("{prefix}{:06}", self.seq);
        while s.len() < len {
            s.push(char::from(b'A' + rand::random_range(0..26u8)));
        }
        s
    }

    fn count(&mut self, op: &str) {
        *self.counters.entry(op.to_string()).or_default() += 1;
    }

    fn take_fault(&mut self, op: &str) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|f| f.operation == op && f.count > 0)?;
        self.faults[i].count -= 1;
        let f = self.faults[i].clone();
        if self.faults[i].count == 0 {
            self.faults.remove(i);
        }
        Some(f)
    }

    fn issue(&mut self, account: &str, arn: &str) -> (String, Issued) {
        let ttl = self.settings.credentials_ttl;
        self.issue_for(account, arn, ttl)
    }

    fn issue_for(&mut self, account: &str, arn: &str, ttl: i64) -> (String, Issued) {
        let akid = self.next("ASIAEMU", 20);
        let issued = Issued {
            secret: self.next("emu-secret-", 40),
            token: self.next("emu-session-", 60),
            expires_at: self.now() + chrono::Duration::seconds(ttl),
            account: account.to_string(),
            arn: arn.to_string(),
        };
        self.issued.insert(akid.clone(), issued.clone());
        (akid, issued)
    }
}

pub(crate) type Shared = Arc<Mutex<EmulatorState>>;

/// Decides whether STS accepts a web identity token (`Err` carries the reason).
pub type WebIdentityCheck = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

pub(crate) fn lock(s: &Shared) -> MutexGuard<'_, EmulatorState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running emulator.
pub struct Emulator {
    url: String,
    state: Shared,
    _thread: std::thread::JoinHandle<()>,
}

impl Emulator {
    /// Starts on 127.0.0.1 with a free port.
    pub fn start(settings: Settings) -> std::io::Result<Self> {
        Self::start_on(settings, 0)
    }

    /// Starts on 127.0.0.1:`port`.
    pub fn start_on(settings: Settings, port: u16) -> std::io::Result<Self> {
        let state: Shared = Arc::new(Mutex::new(EmulatorState {
            settings,
            ..Default::default()
        }));
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name("emulator".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("emulator runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    axum::serve(listener, router(st)).await.expect("serve");
                });
            })?;
        Ok(Self {
            url: format!("http://{addr}"),
            state,
            _thread: thread,
        })
    }

    /// Base URL, for every `AWS_ENDPOINT_URL_*`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Requests per operation so far.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        lock(&self.state).counters.clone()
    }

    /// Requests of one operation so far.
    pub fn count(&self, op: &str) -> u64 {
        lock(&self.state).counters.get(op).copied().unwrap_or(0)
    }

    /// Forgets the counters.
    pub fn reset_counters(&self) {
        lock(&self.state).counters.clear();
    }

    /// Changes the settings.
    pub fn update(&self, f: impl FnOnce(&mut Settings)) {
        f(&mut lock(&self.state).settings)
    }

    /// Approves every pending device code; returns how many.
    pub fn approve_all(&self) -> usize {
        let mut s = lock(&self.state);
        let mut n = 0;
        for d in s.devices.values_mut() {
            if !d.approved && !d.denied {
                d.approved = true;
                n += 1;
            }
        }
        n
    }

    /// Denies every pending device code.
    pub fn deny_all(&self) {
        for d in lock(&self.state).devices.values_mut() {
            d.denied = true;
        }
    }

    /// Revokes every access token (as an administrator's sign-out would).
    pub fn revoke_all_tokens(&self) {
        for t in lock(&self.state).tokens.values_mut() {
            t.revoked = true;
        }
    }

    /// Injects a fault.
    pub fn inject(&self, fault: Fault) {
        lock(&self.state).faults.push(fault);
    }

    /// Every secret value it issued (secret keys, session tokens, access and refresh
    /// tokens, client secrets), for leak checks.
    pub fn issued_secrets(&self) -> Vec<String> {
        let s = lock(&self.state);
        let mut v: Vec<String> = s
            .issued
            .values()
            .flat_map(|i| [i.secret.clone(), i.token.clone()])
            .collect();
        v.extend(s.tokens.keys().cloned());
        v.extend(s.refresh.keys().cloned());
        v.extend(s.clients.values().map(|c| c.secret.clone()));
        v.extend(s.devices.keys().cloned());
        v.extend(s.codes.keys().cloned());
        v
    }

    /// Registers long-term keys of an IAM user (static keys for chains).
    pub fn add_user(&self, access_key_id: &str, secret: &str, account: &str, user: &str) {
        lock(&self.state).issued.insert(
            access_key_id.to_string(),
            Issued {
                secret: secret.to_string(),
                token: String::new(),
                expires_at: Utc::now() + chrono::Duration::days(3650),
                account: account.to_string(),
                arn: format!("arn:aws:iam::{account}:user/{user}"),
            },
        );
    }

    /// Makes AssumeRole of `role_arn` fail with AccessDenied.
    pub fn deny_role(&self, role_arn: &str) {
        lock(&self.state).denied_roles.push(role_arn.to_string());
    }

    /// Makes `role_arn` require MFA.
    pub fn require_mfa(&self, role_arn: &str) {
        lock(&self.state).mfa_roles.push(role_arn.to_string());
    }

    /// Makes `role_arn` require this external id.
    pub fn require_external_id(&self, role_arn: &str, external_id: &str) {
        lock(&self.state)
            .external_ids
            .insert(role_arn.to_string(), external_id.to_string());
    }

    /// Replaces the web identity token check (default: any three-part JWT).
    pub fn set_web_identity_check(&self, check: WebIdentityCheck) {
        lock(&self.state).web_identity_check = Some(check);
    }

    /// The access key ids that signed each Bedrock request, in order.
    pub fn bedrock_signers(&self) -> Vec<String> {
        lock(&self.state).bedrock_signers.clone()
    }

    /// Every STS call so far: action and form parameters.
    pub fn sts_calls(&self) -> Vec<(String, HashMap<String, String>)> {
        lock(&self.state).calls.clone()
    }

    /// Who owns an access key id it issued.
    pub fn issued(&self, akid: &str) -> Option<Issued> {
        lock(&self.state).issued.get(akid).cloned()
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/client/register", post(register_client))
        .route("/device_authorization", post(start_device_authorization))
        .route("/token", post(create_token))
        .route("/federation/credentials", get(get_role_credentials))
        .route("/logout", post(logout))
        .route("/", post(sts))
        .route("/device", get(device_page))
        .route("/authorize", get(authorize))
        .route("/ecs-credentials", get(container_credentials))
        .route("/inference-profiles", get(bedrock::list_inference_profiles))
        .route("/model/{id}/invoke", post(bedrock::invoke))
        .route(
            "/model/{id}/invoke-with-response-stream",
            post(bedrock::invoke_stream),
        )
        .route("/latest/api/token", axum::routing::put(imds_token))
        .route(
            "/latest/meta-data/iam/security-credentials/",
            get(imds_role_name),
        )
        .route(
            "/latest/meta-data/iam/security-credentials/{role}",
            get(imds_credentials),
        )
        .route("/_emulator/counters", get(admin_counters))
        .route("/_emulator/approve", post(admin_approve))
        .route("/_emulator/settings", post(admin_settings))
        .route("/_emulator/fault", post(admin_fault))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            apply_rewrite,
        ))
        .with_state(state)
}

/// Applies a pending [`Fault`] rewrite to the answer a handler produced.
async fn apply_rewrite(
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

// ---------- wire helpers ----------

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

fn xml_error(status: u16, code: &str, message: &str) -> Response {
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

fn xml_escape(s: &str) -> String {
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

fn body_json(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

// ---------- SSO-OIDC ----------

async fn register_client(State(state): State<Shared>, body: Bytes) -> Response {
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

async fn start_device_authorization(
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

async fn create_token(State(state): State<Shared>, body: Bytes) -> Response {
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
struct UserCode {
    user_code: Option<String>,
}

async fn device_page(Query(q): Query<UserCode>) -> Response {
    (
        StatusCode::OK,
        format!(
            "device approval page for {}",
            q.user_code.unwrap_or_default()
        ),
    )
        .into_response()
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

async fn authorize(
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

// ---------- instance and container metadata ----------

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

async fn container_credentials(State(state): State<Shared>) -> Response {
    if let Some(r) = enter(&state, "ContainerCredentials", false).await {
        return r;
    }
    let mut s = lock(&state);
    axum::Json(metadata_json(&mut s, "emu-task-role")).into_response()
}

async fn imds_token(State(state): State<Shared>) -> Response {
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

async fn imds_role_name(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = enter(&state, "ImdsRole", false).await {
        return r;
    }
    if !imds_authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    (StatusCode::OK, INSTANCE_ROLE).into_response()
}

async fn imds_credentials(
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

// ---------- SSO portal ----------

fn bearer(s: &EmulatorState, headers: &HeaderMap) -> Result<String, Response> {
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

async fn get_role_credentials(
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

async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Response {
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

// ---------- STS ----------

async fn sts(
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

// ---------- admin ----------

async fn admin_counters(State(state): State<Shared>) -> Response {
    axum::Json(lock(&state).counters.clone()).into_response()
}

async fn admin_approve(State(state): State<Shared>, q: Query<UserCode>) -> Response {
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

async fn admin_settings(State(state): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Settings>(&body) {
        Ok(new) => {
            lock(&state).settings = new;
            StatusCode::OK.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn admin_fault(State(state): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(f) => {
            lock(&state).faults.push(f);
            StatusCode::OK.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
