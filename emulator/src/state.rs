//! Settings, injected faults, everything the emulator remembers, and the [`Emulator`] handle
//! that tests drive in-process.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

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
    /// What ListAccounts and ListAccountRoles answer.
    pub portal_accounts: Vec<PortalAccount>,
    /// Most items one page of ListAccounts or ListAccountRoles holds (whatever the client
    /// asks for), so that listings are paginated.
    pub portal_page_size: usize,
    /// How long ListAccountRoles takes to answer (milliseconds), to see how many a client
    /// sends at once.
    pub portal_delay_ms: u64,
    /// The region Bedrock serves: a Bedrock API key minted for another region is refused
    /// (`None`: any region).
    pub bedrock_region: Option<String>,
    /// IAM actions Bedrock refuses with AccessDeniedException after a good signature
    /// (`bedrock:ListInferenceProfiles`, `bedrock:InvokeModel`, …).
    pub bedrock_denied: Vec<String>,
}

/// An account the access portal lists, with the roles the user has in it.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct PortalAccount {
    /// Account id.
    pub id: String,
    /// Account name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Role (permission set) names.
    pub roles: Vec<String>,
}

impl PortalAccount {
    /// An account with these roles.
    pub fn new(id: &str, name: &str, roles: &[&str]) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            email: format!("aws+{id}@example.com"),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }
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
            portal_accounts: vec![
                PortalAccount::new("111122223333", "Bedrock Dev", &["BedrockUser", "ReadOnly"]),
                PortalAccount::new("444455556666", "Production", &["ReadOnly"]),
            ],
            portal_page_size: 1,
            portal_delay_ms: 0,
            bedrock_region: None,
            bedrock_denied: Vec::new(),
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

#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) secret: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) grant_types: Vec<String>,
    pub(crate) redirect_uris: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: String,
    pub(crate) used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) client_id: String,
    pub(crate) user_code: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) approved: bool,
    pub(crate) denied: bool,
    pub(crate) polls: u32,
    pub(crate) used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) client_id: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) revoked: bool,
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
    pub(crate) settings: Settings,
    pub(crate) counters: BTreeMap<String, u64>,
    pub(crate) clients: HashMap<String, Client>,
    pub(crate) devices: HashMap<String, Device>,
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) refresh: HashMap<String, String>,
    pub(crate) codes: HashMap<String, AuthCode>,
    pub(crate) issued: HashMap<String, Issued>,
    pub(crate) faults: Vec<Fault>,
    /// A rewrite for the answer being produced (see [`Fault::field`]); one at a time, which
    /// is what the tests that inject one need.
    pub(crate) rewrite: Option<Fault>,
    pub(crate) calls: Vec<(String, HashMap<String, String>)>,
    pub(crate) denied_roles: Vec<String>,
    pub(crate) mfa_roles: Vec<String>,
    pub(crate) external_ids: HashMap<String, String>,
    pub(crate) web_identity_check: Option<WebIdentityCheck>,
    pub(crate) bedrock_signers: Vec<String>,
    /// Access key ids inside the Bedrock API keys (`Authorization: Bearer`) accepted.
    pub(crate) bedrock_bearers: Vec<String>,
    pub(crate) seq: u64,
    /// Sign-in tokens of the console federation endpoint.
    pub(crate) signin_tokens: HashMap<String, crate::signin::SigninToken>,
    /// Console sign-ins it accepted.
    pub(crate) console_logins: Vec<ConsoleLogin>,
    /// ListAccountRoles calls being answered now, and the most at once so far.
    pub(crate) roles_in_flight: (usize, usize),
    pub(crate) signin: crate::signin_oauth::SigninState,
}

/// A console sign-in the federation endpoint accepted (`Action=login`).
#[derive(Debug, Clone)]
pub struct ConsoleLogin {
    /// Who signed in (the session's ARN).
    pub arn: String,
    /// `Issuer`.
    pub issuer: String,
    /// `Destination`.
    pub destination: String,
    /// The `SessionDuration` the sign-in token was asked with, if any.
    pub session_duration: Option<i64>,
}

impl EmulatorState {
    /// The emulator's clock: the real time shifted by `clock_skew`, to test a local clock
    /// that is off.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.settings.clock_skew)
    }

    pub(crate) fn next(&mut self, prefix: &str, len: usize) -> String {
        self.seq += 1;
        let mut s = format!("{prefix}{:06}", self.seq);
        while s.len() < len {
            s.push(char::from(b'A' + rand::random_range(0..26u8)));
        }
        s
    }

    pub(crate) fn count(&mut self, op: &str) {
        *self.counters.entry(op.to_string()).or_default() += 1;
    }

    pub(crate) fn take_fault(&mut self, op: &str) -> Option<Fault> {
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

    /// Makes every temporary credential issued so far expire now: requests signed with
    /// them fail with `ExpiredToken` from here on, and what is issued later is not touched.
    /// Long-term keys ([`Emulator::add_user`]) stay valid. Returns how many expired.
    pub(crate) fn expire_all(&mut self) -> usize {
        let now = self.now();
        let mut n = 0;
        for i in self.issued.values_mut() {
            if !i.token.is_empty() && i.expires_at > now {
                i.expires_at = now;
                n += 1;
            }
        }
        n
    }

    pub(crate) fn issue(&mut self, account: &str, arn: &str) -> (String, Issued) {
        let ttl = self.settings.credentials_ttl;
        self.issue_for(account, arn, ttl)
    }

    pub(crate) fn issue_for(&mut self, account: &str, arn: &str, ttl: i64) -> (String, Issued) {
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
                    axum::serve(listener, crate::router(st))
                        .await
                        .expect("serve");
                });
            })?;
        Ok(Self {
            url: format!("http://{addr}"),
            state,
            _thread: thread,
        })
    }

    /// The shared state, for the handle's methods defined beside their service.
    pub(crate) fn shared(&self) -> &Shared {
        &self.state
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

    /// An access token valid for `ttl` seconds, as another tool's sign-in (`aws sso
    /// login`) would have obtained; with its expiry.
    pub fn issue_access_token(&self, ttl: i64) -> (String, DateTime<Utc>) {
        let mut s = lock(&self.state);
        let access = s.next("emu-access-", 48);
        let expires_at = s.now() + chrono::Duration::seconds(ttl);
        let client = Client {
            secret: "aws-cli-client-secret".to_string(),
            expires_at: s.now() + chrono::Duration::days(90),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            redirect_uris: Vec::new(),
        };
        s.clients.insert("aws-cli".to_string(), client);
        s.tokens.insert(
            access.clone(),
            Token {
                client_id: "aws-cli".to_string(),
                expires_at,
                revoked: false,
            },
        );
        (access, expires_at)
    }

    /// Revokes every access token (as an administrator's sign-out would).
    pub fn revoke_all_tokens(&self) {
        for t in lock(&self.state).tokens.values_mut() {
            t.revoked = true;
        }
    }

    /// Forgets every temporary credential it issued (keeps sign-in tokens): they are
    /// rejected with `InvalidClientTokenId` from now on, as after a role session revocation.
    pub fn forget_credentials(&self) {
        lock(&self.state)
            .issued
            .retain(|akid, _| !akid.starts_with("ASIA"));
    }

    /// Forgets every temporary credential and token it issued, as AWS does after a
    /// revocation or as a restarted emulator would: they are rejected from now on
    /// (`InvalidClientTokenId`, `UnauthorizedException`). Long-term users stay.
    pub fn forget_sessions(&self) {
        let mut s = lock(&self.state);
        s.issued.retain(|akid, _| !akid.starts_with("ASIA"));
        s.tokens.clear();
        s.refresh.clear();
    }

    /// Expires every temporary credential issued so far, deterministically (a credential
    /// rollover without waiting for one); also `POST /_emulator/expire`. Returns how many.
    pub fn expire_all(&self) -> usize {
        lock(&self.state).expire_all()
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

    /// The access key ids inside the Bedrock API keys Bedrock requests carried, in order.
    pub fn bedrock_bearers(&self) -> Vec<String> {
        lock(&self.state).bedrock_bearers.clone()
    }

    /// Every STS call so far: action and form parameters.
    pub fn sts_calls(&self) -> Vec<(String, HashMap<String, String>)> {
        lock(&self.state).calls.clone()
    }

    /// Console sign-ins the federation endpoint accepted, in order.
    pub fn console_logins(&self) -> Vec<ConsoleLogin> {
        lock(&self.state).console_logins.clone()
    }

    /// The most ListAccountRoles calls it was answering at once.
    pub fn max_role_listings_at_once(&self) -> usize {
        lock(&self.state).roles_in_flight.1
    }

    /// Who owns an access key id it issued.
    pub fn issued(&self, akid: &str) -> Option<Issued> {
        lock(&self.state).issued.get(akid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_all_ends_issued_credentials_and_leaves_long_term_keys() {
        let mut s = EmulatorState::default();
        let (akid, _) = s.issue("111122223333", "arn:aws:sts::111122223333:assumed-role/R/s");
        s.issued.insert(
            "AKIAUSER".into(),
            Issued {
                secret: "k".into(),
                token: String::new(),
                expires_at: Utc::now() + chrono::Duration::days(1),
                account: "111122223333".into(),
                arn: "arn:aws:iam::111122223333:user/u".into(),
            },
        );
        assert_eq!(s.expire_all(), 1);
        assert!(s.issued[&akid].expires_at <= s.now());
        assert!(s.issued["AKIAUSER"].expires_at > s.now());
        assert_eq!(s.expire_all(), 0, "nothing left to expire");
        let (later, _) = s.issue("111122223333", "arn");
        assert!(
            s.issued[&later].expires_at > s.now(),
            "later ones are not touched"
        );
    }
}
