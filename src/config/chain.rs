//! The plain data a profile resolves to: a [`Chain`] (a base source, role steps, settings)
//! and the types of each source. No behaviour: [`crate::source`] gives it.

use crate::secret::Secret;
use std::time::Duration;

/// Default scope of IAM Identity Center registrations.
pub const DEFAULT_SSO_SCOPE: &str = "sso:account:access";
/// Role credentials are reused while more than this remains.
pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Everything needed to produce credentials for one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The profile asked for.
    pub profile: String,
    /// Where the first credentials come from.
    pub base: Base,
    /// Roles assumed in order on top of the base.
    pub roles: Vec<RoleStep>,
    /// Per-profile behaviour (store, login flow, refresh window).
    pub settings: Settings,
}

/// The first link of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// IAM Identity Center: a token for a session, then a role in an account.
    Sso(SsoRole),
    /// Long-term keys from the credentials or config file.
    StaticKeys(StaticKeys),
    /// `credential_source = Environment`: `AWS_ACCESS_KEY_ID` and friends.
    Environment,
    /// `credential_source = Ec2InstanceMetadata`: the instance role through IMDS.
    InstanceMetadata,
    /// `credential_source = EcsContainer`: the task role from the container endpoint.
    Container,
    /// `web_identity_token_file` + `role_arn`: STS AssumeRoleWithWebIdentity.
    WebIdentity(WebIdentity),
    /// An external OpenID Connect provider (`awscred_oidc_*`): its ID token exchanged
    /// through AssumeRoleWithWebIdentity or a Cognito identity pool.
    Oidc(OidcSource),
    /// `credential_process`: another program prints the credentials.
    Process(ProcessSource),
    /// `login_session`: a console session of `aws login` (AWS Sign-In, DPoP-bound refresh).
    LoginSession(LoginSession),
}

/// A console session signed in with `aws login` (or `awscred login`): the AWS CLI's login
/// cache file holds its credentials, refresh token and DPoP key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSession {
    /// The profile that names it.
    pub profile: String,
    /// `login_session`: the ARN of the signed-in session; its SHA-256 names the cache file.
    pub session: String,
    /// Region of the Sign-In endpoint (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
    /// `region`, else `us-east-1`).
    pub region: String,
}

/// An external `credential_process` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSource {
    /// The profile that names it.
    pub profile: String,
    /// The command line, split into words as botocore splits it (POSIX rules, no shell).
    pub argv: Vec<String>,
    /// Longest the command may run (`awscred_process_timeout`).
    pub timeout: Duration,
}

/// Default `awscred_process_timeout`.
pub const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// An external identity provider and what its ID token is exchanged for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSource {
    /// Issuer URL (discovery at `/.well-known/openid-configuration`).
    pub issuer: String,
    /// Client id registered with the provider.
    pub client_id: String,
    /// Client secret, for providers that insist on one for native apps.
    pub client_secret: Option<Secret<String>>,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// Audience the ID token must carry (default: the client id).
    pub audience: String,
    /// Role for AssumeRoleWithWebIdentity.
    pub role_arn: Option<String>,
    /// Cognito identity pool (instead of a role).
    pub identity_pool_id: Option<String>,
    /// Extra authorization request parameters (`k=v&k2=v2`).
    pub authorize_params: Vec<(String, String)>,
    /// `role_session_name` (default: from the token's email or subject).
    pub session_name: Option<String>,
    /// `duration_seconds`.
    pub duration_seconds: Option<i32>,
}

/// Scopes asked for when the profile names none: a refresh token needs `offline_access`.
pub const DEFAULT_OIDC_SCOPES: &str = "openid email offline_access";

/// A role assumed with an OIDC token from a file (EKS, GitHub Actions, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentity {
    /// File holding the token (read at every use; it is rotated by its writer).
    pub token_file: String,
    /// The role.
    pub role_arn: String,
    /// `role_session_name`.
    pub session_name: Option<String>,
    /// `duration_seconds`.
    pub duration_seconds: Option<i32>,
}

/// An IAM Identity Center session: what a sign-in is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSession {
    /// The `[sso-session NAME]`, or `None` for a legacy profile.
    pub name: Option<String>,
    /// The AWS access portal URL.
    pub start_url: String,
    /// The region of IAM Identity Center.
    pub region: String,
    /// Registration scopes.
    pub scopes: Vec<String>,
    /// `awscred_share_sso_cache = true`: awscred's access tokens are also written to the
    /// AWS CLI's SSO cache, so `aws` and the SDKs' SSO profiles use the same sign-in.
    pub share_cli_cache: bool,
}

impl SsoSession {
    /// What the session is called in messages.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => format!("sso-session {n}"),
            None => self.start_url.clone(),
        }
    }
}

/// A role reached through IAM Identity Center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoRole {
    /// The session that signs in.
    pub session: SsoSession,
    /// The account.
    pub account_id: String,
    /// The permission set's role name.
    pub role_name: String,
}

/// Long-term access keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticKeys {
    /// The profile that holds them.
    pub profile: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret<String>,
    /// Session token, if these are temporary.
    pub session_token: Option<Secret<String>>,
}

/// One `AssumeRole` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStep {
    /// The profile that names the role.
    pub profile: String,
    /// The role.
    pub role_arn: String,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `role_session_name`.
    pub session_name: Option<String>,
    /// `duration_seconds`.
    pub duration_seconds: Option<i32>,
    /// `mfa_serial`.
    pub mfa_serial: Option<String>,
    /// `awscred_mfa_process`: a command that prints the MFA code.
    pub mfa_process: Option<String>,
    /// `awscred_session_tags = Key=Value,…`.
    pub session_tags: Vec<(String, String)>,
    /// `awscred_transitive_tag_keys = Key,…`.
    pub transitive_tag_keys: Vec<String>,
    /// `awscred_source_identity`.
    pub source_identity: Option<String>,
}

pub use crate::store::StoreChoice;

/// How a sign-in is done when one is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFlow {
    /// Pick by environment.
    Auto,
    /// The device authorization flow.
    Device,
    /// The browser authorization-code flow.
    Browser,
}

/// Per-profile behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Store choice (`AWSCRED_CACHE` beats `awscred_cache`).
    pub store: StoreChoice,
    /// Login flow (`awscred_login`).
    pub login: LoginFlow,
    /// Reuse credentials while more than this remains (`awscred_refresh_window`).
    pub refresh_window: Duration,
    /// Region for STS (`AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`).
    pub region: Option<String>,
    /// How long `export`/`process` without a terminal wait for a browser sign-in
    /// (`awscred_login_timeout`).
    pub login_timeout: Duration,
    /// Fixed loopback port for browser sign-in (`awscred_redirect_port`; 0 = any).
    pub redirect_port: u16,
    /// The profile's `ca_bundle` (`~` expanded) and where it was set; `AWS_CA_BUNDLE`
    /// beats it.
    pub ca_bundle: Option<(std::path::PathBuf, String)>,
}

/// Default wait for a browser sign-in started without a terminal.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(120);
