//! The resolve stage: a profile name becomes a [`Chain`] of plain data.
//!
//! The precedence follows botocore so a profile means the same to awscred as to the AWS CLI:
//! `role_arn` (with `source_profile`, `credential_source` or `web_identity_token_file`) first,
//! then `web_identity_token_file`, then IAM Identity Center (`sso_session` or the legacy
//! `sso_start_url` keys), then static keys. Keys prefixed `awscred_` carry what AWS config
//! cannot say; botocore ignores them.

use super::AwsFiles;
use super::parse::{Section, SectionKind, Value};
use crate::env::{self, Environment};
use crate::error::{Error, Result};
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

/// Picks the profile: `--profile`, then `AWS_PROFILE`, then `default`.
pub fn profile_name(explicit: Option<&str>, env: &Environment) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| env.get(env::AWS_PROFILE).map(str::to_string))
        .unwrap_or_else(|| "default".to_string())
}

/// Resolves a profile into a chain.
pub fn resolve(files: &AwsFiles, profile: &str, env: &Environment) -> Result<Chain> {
    let mut visited: Vec<String> = Vec::new();
    let mut roles = Vec::new();
    let base = match env_web_identity(env) {
        // Like the SDKs, the environment's web identity serves a profile that has no
        // credential settings of its own (EKS pods, CI runners).
        Some(w) if !has_credential_settings(&view(files, profile)) => Base::WebIdentity(w),
        _ => walk(files, env, profile, &mut visited, &mut roles)?,
    };
    roles.reverse();
    let settings = settings(files, profile, env)?;
    Ok(Chain {
        profile: profile.to_string(),
        base,
        roles,
        settings,
    })
}

/// A profile's keys: config-file keys, with credentials-file keys on top.
struct ProfileView<'a> {
    name: &'a str,
    config: Option<&'a Section>,
    credentials: Option<&'a Section>,
}

impl<'a> ProfileView<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.credentials
            .and_then(|s| s.get(key))
            .or_else(|| self.config.and_then(|s| s.get(key)))
    }

    fn text(&self, key: &str) -> Option<&'a str> {
        self.get(key).map(|v| v.text.as_str())
    }

    fn exists(&self) -> bool {
        self.config.is_some() || self.credentials.is_some()
    }
}

fn view<'a>(files: &'a AwsFiles, name: &'a str) -> ProfileView<'a> {
    ProfileView {
        name,
        config: files.config.get(SectionKind::Profile, name),
        credentials: files.credentials.get(SectionKind::Profile, name),
    }
}

fn env_web_identity(env: &Environment) -> Option<WebIdentity> {
    Some(WebIdentity {
        token_file: env.get(env::AWS_WEB_IDENTITY_TOKEN_FILE)?.to_string(),
        role_arn: env.get(env::AWS_ROLE_ARN)?.to_string(),
        session_name: env.get(env::AWS_ROLE_SESSION_NAME).map(str::to_string),
        duration_seconds: None,
    })
}

fn has_credential_settings(p: &ProfileView<'_>) -> bool {
    [
        "role_arn",
        "sso_session",
        "sso_start_url",
        "aws_access_key_id",
        "web_identity_token_file",
        "credential_process",
        "awscred_oidc_issuer",
    ]
    .iter()
    .any(|k| p.get(k).is_some())
}

/// Most profile names an error lists.
pub const MAX_LISTED: usize = 20;

fn not_found(files: &AwsFiles, name: &str, env: &Environment) -> Error {
    let mut known: Vec<&str> = files
        .config
        .names(SectionKind::Profile)
        .chain(files.credentials.names(SectionKind::Profile))
        .collect();
    known.sort_unstable();
    known.dedup();
    let from_env = if env.get(env::AWS_PROFILE) == Some(name) {
        " (the name comes from AWS_PROFILE)"
    } else {
        ""
    };
    let mut e = Error::user(format!(
        "profile `{name}` not found in {} or {}{from_env}",
        files.config_path.display(),
        files.credentials_path.display()
    ));
    if known.is_empty() && !files.config_path.exists() && !files.credentials_path.exists() {
        e = e.caused_by_text(format!(
            "neither {} nor {} exists",
            files.config_path.display(),
            files.credentials_path.display()
        ));
    } else if known.is_empty() {
        e = e.caused_by_text("no profiles are defined");
    } else if known.len() <= MAX_LISTED {
        e = e.caused_by_text(format!("known profiles: {}", known.join(", ")));
    } else {
        e = e.caused_by_text(format!(
            "known profiles: {}, … and {} more",
            known[..MAX_LISTED].join(", "),
            known.len() - MAX_LISTED
        ));
    }
    if files.config.get(SectionKind::Bare, name).is_some() {
        return e.with_hint(format!(
            "{} has [{name}]: in the config file a profile is written [profile {name}]",
            files.config_path.display()
        ));
    }
    if let Some(near) = nearest(name, &known) {
        return e.with_hint(format!("did you mean --profile {near}?"));
    }
    e.with_hint(format!(
        "add a [profile {name}] section to {} or pass --profile with one of the known profiles",
        files.config_path.display()
    ))
}

/// The known name closest to `name`, when it is close (a typo, not another word).
fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance, for suggestions only (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn walk(
    files: &AwsFiles,
    env: &Environment,
    name: &str,
    visited: &mut Vec<String>,
    roles: &mut Vec<RoleStep>,
) -> Result<Base> {
    if let Some(pos) = visited.iter().position(|v| v == name) {
        let mut cycle: Vec<&str> = visited[pos..].iter().map(String::as_str).collect();
        cycle.push(name);
        return Err(Error::user(format!(
            "profile `{}` has a source_profile cycle: {}",
            visited[0],
            cycle.join(" → ")
        ))
        .with_hint(format!(
            "change source_profile in {} so the chain ends at a profile with credentials",
            files.config_path.display()
        )));
    }
    if visited.len() >= MAX_CHAIN {
        return Err(Error::user(format!(
            "profile `{}` has a source_profile chain longer than {MAX_CHAIN} profiles",
            visited[0]
        ))
        .with_hint(format!(
            "shorten the chain in {}: point source_profile at a profile with credentials",
            files.config_path.display()
        )));
    }
    visited.push(name.to_string());
    let p = view(files, name);
    if !p.exists() {
        return Err(not_found(files, name, env));
    }

    // A source_profile with static keys gives those keys, even when it also sets role_arn
    // (botocore's and the Rust SDK's rule); the profile asked for assumes its own role.
    if visited.len() > 1
        && let Some(keys) = static_keys(files, &p)?
    {
        return Ok(keys);
    }

    if let Some(role_arn) = p.text("role_arn") {
        let step = role_step(&p, role_arn)?;
        let source = p.text("source_profile");
        let credential_source = p.get("credential_source");
        if let Some(token_file) = p.text("web_identity_token_file") {
            // The role is assumed with the token itself: the base is the whole step.
            return Ok(Base::WebIdentity(WebIdentity {
                token_file: token_file.to_string(),
                role_arn: step.role_arn,
                session_name: step.session_name,
                duration_seconds: step.duration_seconds,
            }));
        }
        if let (Some(_), Some(cs)) = (source, credential_source) {
            return Err(Error::user(format!(
                "profile `{name}` sets both source_profile and credential_source ({})",
                cs.at
            ))
            .with_hint(format!("keep one of them in [profile {name}]")));
        }
        if let Some(cs) = credential_source {
            roles.push(step);
            return match cs.text.as_str() {
                "Environment" => Ok(Base::Environment),
                "Ec2InstanceMetadata" => Ok(Base::InstanceMetadata),
                "EcsContainer" => Ok(Base::Container),
                other => Err(Error::user(format!(
                    "{}: credential_source = `{other}` is not one of Environment, Ec2InstanceMetadata, EcsContainer",
                    cs.at
                ))
                .with_hint(format!("fix credential_source in [profile {name}]"))),
            };
        }
        let Some(source) = source else {
            return Err(Error::user(format!(
                "profile `{name}` sets role_arn but neither source_profile nor credential_source"
            ))
            .with_hint(format!(
                "add source_profile = <profile with credentials> to [profile {name}] in {}",
                files.config_path.display()
            )));
        };
        roles.push(step);
        if source == name {
            // A profile that is its own source uses its own static keys as the base.
            return static_keys(files, &p)?.ok_or_else(|| {
                Error::user(format!(
                    "profile `{name}` is its own source_profile but has no aws_access_key_id"
                ))
                .with_hint(format!(
                    "add aws_access_key_id and aws_secret_access_key for [{name}] to {}",
                    files.credentials_path.display()
                ))
            });
        }
        if !view(files, source).exists() {
            return Err(not_found(files, source, env).context(format!(
                "profile `{name}` names source_profile `{source}`, which does not exist"
            )));
        }
        return walk(files, env, source, visited, roles);
    }

    if let Some(v) = p.get("web_identity_token_file") {
        return Err(Error::user(format!(
            "profile `{name}` sets web_identity_token_file ({}) but no role_arn",
            v.at
        ))
        .with_hint(format!(
            "add role_arn = <role to assume> to [profile {name}]"
        )));
    }

    if p.get("awscred_oidc_issuer").is_some() {
        return oidc(files, &p).map(Base::Oidc);
    }

    if p.get("sso_session").is_some() || p.get("sso_start_url").is_some() {
        return sso(files, &p).map(Base::Sso);
    }

    if let Some(keys) = static_keys(files, &p)? {
        return Ok(keys);
    }

    if let Some(v) = p.get("credential_process") {
        let argv = crate::config::parse::shell_words(&v.text)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                Error::user(format!(
                    "{}: credential_process of profile `{name}` is not a command line (an unclosed quote?)",
                    v.at
                ))
                .with_hint(format!("fix credential_process in [profile {name}]"))
            })?;
        // awscred's own `process --profile P` (what `setup aws-profile` writes) is P,
        // resolved here instead of run.
        if let Some(target) = awscred_process_target(&argv) {
            if target == name {
                return Err(Error::user(format!(
                    "{}: credential_process of profile `{name}` runs awscred for `{name}` itself, which would call itself forever",
                    v.at
                ))
                .with_hint(
                    "point it at the profile that holds the sign-in: credential_process = awscred process --profile <that profile>",
                ));
            }
            return walk(files, env, &target, visited, roles);
        }
        let timeout = match p.get("awscred_process_timeout") {
            None => DEFAULT_PROCESS_TIMEOUT,
            Some(t) => parse_duration(&t.text)
                .filter(|d| !d.is_zero() && *d <= MAX_LOGIN_TIMEOUT)
                .ok_or_else(|| {
                    Error::user(format!(
                        "{}: awscred_process_timeout = `{}` is not a duration from 1s to 1h",
                        t.at, t.text
                    ))
                    .with_hint("write it as seconds or with a unit, e.g. 30 or 1m")
                })?,
        };
        return Ok(Base::Process(ProcessSource {
            profile: name.to_string(),
            argv,
            timeout,
        }));
    }

    Err(Error::user(format!(
        "profile `{name}` has no credential settings (sso_session, sso_start_url, role_arn or aws_access_key_id)"
    ))
    .with_hint(format!(
        "add sso_session, sso_account_id and sso_role_name to [profile {name}] in {}",
        files.config_path.display()
    )))
}

fn role_step(p: &ProfileView<'_>, role_arn: &str) -> Result<RoleStep> {
    let duration_seconds = match p.get("duration_seconds") {
        None => None,
        Some(v) => Some(v.text.parse::<i32>().ok().filter(|d| (900..=43200).contains(d)).ok_or_else(|| {
            Error::user(format!(
                "{}: duration_seconds of profile `{}` must be a whole number of seconds from 900 to 43200",
                v.at, p.name
            ))
            .with_hint("set duration_seconds = 3600")
        })?),
    };
    let mut session_tags = Vec::new();
    if let Some(v) = p.get("awscred_session_tags") {
        for pair in list(Some(&v.text)) {
            let Some((k, val)) = pair.split_once('=') else {
                return Err(Error::user(format!(
                    "{}: awscred_session_tags entry `{pair}` is not Key=Value",
                    v.at
                ))
                .with_hint("write awscred_session_tags = Project=bedrock,Team=ml"));
            };
            session_tags.push((k.trim().to_string(), val.trim().to_string()));
        }
    }
    Ok(RoleStep {
        profile: p.name.to_string(),
        role_arn: role_arn.to_string(),
        external_id: p.text("external_id").map(str::to_string),
        session_name: p.text("role_session_name").map(str::to_string),
        duration_seconds,
        mfa_serial: p.text("mfa_serial").map(str::to_string),
        mfa_process: p.text("awscred_mfa_process").map(str::to_string),
        session_tags,
        transitive_tag_keys: list(p.text("awscred_transitive_tag_keys")),
        source_identity: p.text("awscred_source_identity").map(str::to_string),
    })
}

fn static_keys(files: &AwsFiles, p: &ProfileView<'_>) -> Result<Option<Base>> {
    let Some(akid) = p.get("aws_access_key_id") else {
        return Ok(None);
    };
    let Some(secret) = p.text("aws_secret_access_key") else {
        return Err(Error::user(format!(
            "profile `{}` has aws_access_key_id ({}) but no aws_secret_access_key",
            p.name, akid.at
        ))
        .with_hint(format!(
            "add aws_secret_access_key to [{}] in {}",
            p.name,
            files.credentials_path.display()
        )));
    };
    Ok(Some(Base::StaticKeys(StaticKeys {
        profile: p.name.to_string(),
        access_key_id: akid.text.clone(),
        secret_access_key: Secret::new(secret.to_string()),
        session_token: p
            .text("aws_session_token")
            .map(|t| Secret::new(t.to_string())),
    })))
}

fn required<'a>(
    files: &AwsFiles,
    p: &ProfileView<'a>,
    key: &str,
    example: &str,
) -> Result<&'a str> {
    p.text(key).ok_or_else(|| {
        Error::user(format!("profile `{}` is missing {key}", p.name)).with_hint(format!(
            "add `{key} = {example}` to [profile {}] in {}",
            p.name,
            files.config_path.display()
        ))
    })
}

fn sso(files: &AwsFiles, p: &ProfileView<'_>) -> Result<SsoRole> {
    let session = if let Some(sv) = p.get("sso_session") {
        let sname = sv.text.as_str();
        let Some(section) = files.config.get(SectionKind::SsoSession, sname) else {
            return Err(Error::user(format!(
                "profile `{}` names sso_session `{sname}` ({}), but there is no [sso-session {sname}] section",
                p.name, sv.at
            ))
            .with_hint(format!(
                "add [sso-session {sname}] with sso_start_url and sso_region to {}",
                files.config_path.display()
            )));
        };
        let get = |key: &str, example: &str| -> Result<String> {
            section.get(key).map(|v| v.text.clone()).ok_or_else(|| {
                Error::user(format!("[sso-session {sname}] is missing {key}")).with_hint(format!(
                    "add `{key} = {example}` to [sso-session {sname}] in {}",
                    files.config_path.display()
                ))
            })
        };
        let start_url = get("sso_start_url", "https://my-org.awsapps.com/start")?;
        let region = get("sso_region", "us-east-1")?;
        for (key, value) in [("sso_start_url", &start_url), ("sso_region", &region)] {
            if let Some(v) = p.get(key)
                && &v.text != value
            {
                return Err(Error::user(format!(
                    "profile `{}` sets {key} = {} ({}), which differs from [sso-session {sname}]'s {value}",
                    p.name, v.text, v.at
                ))
                .with_hint(format!("remove {key} from [profile {}]", p.name)));
            }
        }
        let scopes = section
            .get("sso_registration_scopes")
            .map(|v| {
                v.text
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec![DEFAULT_SSO_SCOPE.to_string()]);
        let where_ = section
            .get("sso_region")
            .map(|v| v.at.to_string())
            .unwrap_or_else(|| format!("[sso-session {sname}]"));
        SsoSession {
            name: Some(sname.to_string()),
            start_url,
            region: check_region(&region, &format!("{where_}: sso_region"))?,
            scopes,
        }
    } else {
        SsoSession {
            name: None,
            start_url: required(
                files,
                p,
                "sso_start_url",
                "https://my-org.awsapps.com/start",
            )?
            .to_string(),
            region: check_region(
                required(files, p, "sso_region", "us-east-1")?,
                &format!("profile `{}`: sso_region", p.name),
            )?,
            scopes: vec![DEFAULT_SSO_SCOPE.to_string()],
        }
    };
    Ok(SsoRole {
        session,
        account_id: required(files, p, "sso_account_id", "123456789012")?.to_string(),
        role_name: required(files, p, "sso_role_name", "BedrockUser")?.to_string(),
    })
}

fn oidc(files: &AwsFiles, p: &ProfileView<'_>) -> Result<OidcSource> {
    let issuer = required(files, p, "awscred_oidc_issuer", "https://my-org.okta.com")?
        .trim_end_matches('/')
        .to_string();
    if let Err(why) = crate::oidc::check_issuer(&issuer) {
        let at = p
            .get("awscred_oidc_issuer")
            .map(|v| v.at.to_string())
            .unwrap_or_default();
        return Err(Error::user(format!(
            "{at}: awscred_oidc_issuer must be an https:// URL, not {}: {why}",
            crate::remote::text(&issuer)
        ))
        .with_hint(format!("fix awscred_oidc_issuer in [profile {}]", p.name)));
    }
    let client_id = required(files, p, "awscred_oidc_client_id", "0oa1b2c3d4EXAMPLE")?.to_string();
    let role_arn = p.text("awscred_oidc_role_arn").map(str::to_string);
    let identity_pool_id = p.text("awscred_oidc_identity_pool_id").map(str::to_string);
    if let Some(pool) = &identity_pool_id
        && let Err(why) = pool_region(pool)
    {
        let at = p
            .get("awscred_oidc_identity_pool_id")
            .map(|v| v.at.to_string())
            .unwrap_or_default();
        return Err(Error::user(format!(
            "{at}: awscred_oidc_identity_pool_id is not usable: {why}"
        ))
        .with_hint(format!(
            "set awscred_oidc_identity_pool_id in [profile {}] to the pool's id, like us-east-1:00000000-aaaa-bbbb-cccc-000000000000",
            p.name
        )));
    }
    if role_arn.is_none() && identity_pool_id.is_none() {
        return Err(Error::user(format!(
            "profile `{}` names an identity provider but no awscred_oidc_role_arn or awscred_oidc_identity_pool_id",
            p.name
        ))
        .with_hint(format!(
            "add awscred_oidc_role_arn = arn:aws:iam::123456789012:role/BedrockUser to [profile {}]",
            p.name
        )));
    }
    let scopes: Vec<String> = p
        .text("awscred_oidc_scopes")
        .unwrap_or(DEFAULT_OIDC_SCOPES)
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let authorize_params = p
        .text("awscred_oidc_authorize_params")
        .map(|t| crate::form::decode(t).into_iter().collect())
        .unwrap_or_default();
    let step = role_step(p, role_arn.as_deref().unwrap_or(""))?;
    Ok(OidcSource {
        audience: p
            .text("awscred_oidc_audience")
            .unwrap_or(&client_id)
            .to_string(),
        issuer,
        client_id,
        client_secret: p
            .text("awscred_oidc_client_secret")
            .map(|s| Secret::new(s.to_string())),
        scopes,
        role_arn,
        identity_pool_id,
        authorize_params,
        session_name: step.session_name,
        duration_seconds: step.duration_seconds,
    })
}

fn settings(files: &AwsFiles, profile: &str, env: &Environment) -> Result<Settings> {
    let p = view(files, profile);
    let store = match env.get(env::AWSCRED_CACHE) {
        Some(s) => StoreChoice::parse(s).ok_or_else(|| {
            Error::user(format!(
                "{} = `{s}` is not a store awscred knows",
                env::AWSCRED_CACHE
            ))
            .with_hint(format!(
                "set {} to one of: {}",
                env::AWSCRED_CACHE,
                StoreChoice::NAMES
            ))
        })?,
        None => match p.get("awscred_cache") {
            Some(v) => StoreChoice::parse(&v.text).ok_or_else(|| {
                Error::user(format!(
                    "{}: awscred_cache = `{}` is not a store awscred knows",
                    v.at, v.text
                ))
                .with_hint(format!(
                    "set awscred_cache to one of: {}",
                    StoreChoice::NAMES
                ))
            })?,
            None => StoreChoice::Auto,
        },
    };
    let login = match p
        .get("awscred_login")
        .or_else(|| p.get("awscred_oidc_flow"))
    {
        None => LoginFlow::Auto,
        Some(v) => match v.text.to_ascii_lowercase().as_str() {
            "auto" => LoginFlow::Auto,
            "device" | "device-code" => LoginFlow::Device,
            "browser" | "pkce" => LoginFlow::Browser,
            _ => {
                return Err(Error::user(format!(
                    "{}: awscred_login = `{}` is not a sign-in flow",
                    v.at, v.text
                ))
                .with_hint("set awscred_login to auto, device or browser"));
            }
        },
    };
    let refresh_window = match p.get("awscred_refresh_window") {
        None => DEFAULT_REFRESH_WINDOW,
        Some(v) => parse_duration(&v.text)
            .filter(|d| *d <= MAX_REFRESH_WINDOW)
            .ok_or_else(|| {
                Error::user(format!(
                    "{}: awscred_refresh_window = `{}` is not a duration of at most 12h",
                    v.at, v.text
                ))
                .with_hint("write it as seconds or with a unit, e.g. 900, 15m or 1h")
            })?,
    };
    let login_timeout = match p.get("awscred_login_timeout") {
        None => DEFAULT_LOGIN_TIMEOUT,
        Some(v) => parse_duration(&v.text)
            .filter(|d| !d.is_zero() && *d <= MAX_LOGIN_TIMEOUT)
            .ok_or_else(|| {
                Error::user(format!(
                    "{}: awscred_login_timeout = `{}` is not a duration from 1s to 1h",
                    v.at, v.text
                ))
                .with_hint("write it as seconds or with a unit, e.g. 120 or 2m")
            })?,
    };
    let redirect_port = match p.get("awscred_redirect_port") {
        None => 0,
        Some(v) => v.text.parse::<u16>().map_err(|_| {
            Error::user(format!(
                "{}: awscred_redirect_port = `{}` is not a port number",
                v.at, v.text
            ))
            .with_hint("use a number from 1024 to 65535, or 0 for any free port")
        })?,
    };
    let region = if let Some(r) = env.get(env::AWS_REGION) {
        Some(check_region(r, env::AWS_REGION)?)
    } else if let Some(r) = env.get(env::AWS_DEFAULT_REGION) {
        Some(check_region(r, env::AWS_DEFAULT_REGION)?)
    } else if let Some(v) = p.get("region") {
        Some(check_region(&v.text, &format!("{}: region", v.at))?)
    } else {
        None
    };
    let ca_bundle = p
        .get("ca_bundle")
        .filter(|v| !v.text.trim().is_empty())
        .map(|v| {
            (
                env.expand_home(v.text.trim()),
                format!("{}: ca_bundle", v.at),
            )
        });
    Ok(Settings {
        store,
        login,
        refresh_window,
        region,
        login_timeout,
        redirect_port,
        ca_bundle,
    })
}

fn list(v: Option<&str>) -> Vec<String> {
    v.map(|t| {
        t.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// Longest duration any setting accepts (a year); longer values, and values whose seconds
/// overflow, are not durations.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);
/// Longest `awscred_login_timeout`.
pub const MAX_LOGIN_TIMEOUT: Duration = Duration::from_secs(3600);
/// Longest `awscred_refresh_window` (role credentials last at most 12 hours).
pub const MAX_REFRESH_WINDOW: Duration = Duration::from_secs(12 * 3600);
/// Most profiles in one `source_profile` chain; longer chains are refused (the AWS CLI
/// allows any length, but no real chain comes near this).
pub const MAX_CHAIN: usize = 64;

/// The profile of `awscred process --profile P` (or `-p P`, `--profile=P`), when `argv`
/// runs awscred itself.
fn awscred_process_target(argv: &[String]) -> Option<String> {
    let program = std::path::Path::new(argv.first()?)
        .file_name()?
        .to_str()?
        .to_ascii_lowercase();
    if program != "awscred" && program != "awscred.exe" {
        return None;
    }
    let rest = &argv[1..];
    if !rest.iter().any(|a| a == "process") {
        return None;
    }
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--profile" || a == "-p" {
            return it.next().cloned();
        }
        if let Some(p) = a.strip_prefix("--profile=") {
            return Some(p.to_string());
        }
    }
    None
}

/// A region name as AWS spells them (`us-east-1`, `us-gov-west-1`, `eusc-de-east-1`):
/// lower-case letters and digits in dash-separated words. Regions become part of host
/// names, so anything else (`us-east-1.attacker.example#`) is refused, naming where it
/// was set.
pub fn check_region(region: &str, set_in: &str) -> Result<String> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        return Ok(region.to_string());
    }
    Err(Error::user(format!(
        "{set_in} = `{}` is not an AWS region name",
        crate::remote::text(region)
    ))
    .with_hint("use a region name such as us-east-1 or eu-west-1"))
}

/// The region of a Cognito identity pool id (`us-east-1:0000…`), checked before it becomes
/// part of a host name: lowercase letters, digits and single hyphens, starting with a
/// letter and ending with a digit, as every AWS region is.
pub fn pool_region(pool: &str) -> std::result::Result<&str, String> {
    let Some((region, id)) = pool.split_once(':') else {
        return Err("an identity pool id has the form <region>:<id>".into());
    };
    let valid = !id.is_empty()
        && (2..=32).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region.ends_with(|c: char| c.is_ascii_digit())
        && !region.contains("--");
    if valid {
        Ok(region)
    } else {
        Err(format!(
            "{} does not start with an AWS region",
            crate::remote::text(pool)
        ))
    }
}

/// Parses `900`, `900s`, `15m`, `1h` (at most [`MAX_DURATION`]).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 's') => (&s[..i], 1),
        (i, 'm') => (&s[..i], 60),
        (i, 'h') => (&s[..i], 3600),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .map(Duration::from_secs)
        .filter(|d| *d <= MAX_DURATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access, extra:scope

[profile bedrock]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = BedrockUser
region = us-west-2
awscred_cache = file

[profile legacy]
sso_start_url = https://old.awsapps.com/start
sso_region = us-east-1
sso_account_id = 444455556666
sso_role_name = Admin

[profile admin]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile = bedrock
external_id = ext-1
duration_seconds = 1800

[profile deep]
role_arn = arn:aws:iam::111122223333:role/Deep
source_profile = admin

[profile a]
role_arn = arn:aws:iam::1:role/A
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/B
source_profile = a

[profile selfref]
role_arn = arn:aws:iam::1:role/S
source_profile = selfref

[profile broken]
sso_session = nope
sso_account_id = 1
sso_role_name = r
";
    const CREDS: &str = "[selfref]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = sekrit\n[keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = s2\n";

    fn files() -> AwsFiles {
        AwsFiles::from_texts(CONFIG, CREDS).unwrap()
    }

    fn env() -> Environment {
        Environment::from_pairs([])
    }

    #[test]
    fn sso_session_profile_resolves() {
        let c = resolve(&files(), "bedrock", &env()).unwrap();
        let Base::Sso(r) = &c.base else {
            panic!("{c:?}")
        };
        assert_eq!(r.session.name.as_deref(), Some("corp"));
        assert_eq!(r.session.region, "eu-west-1");
        assert_eq!(r.session.scopes, ["sso:account:access", "extra:scope"]);
        assert_eq!(r.account_id, "111122223333");
        assert_eq!(c.settings.store, StoreChoice::File);
        assert_eq!(c.settings.region.as_deref(), Some("us-west-2"));
        assert!(c.roles.is_empty());
    }

    #[test]
    fn legacy_profile_gets_default_scope() {
        let c = resolve(&files(), "legacy", &env()).unwrap();
        let Base::Sso(r) = &c.base else {
            panic!("{c:?}")
        };
        let s = &r.session;
        assert_eq!(s.name, None);
        assert_eq!(s.scopes, [DEFAULT_SSO_SCOPE]);
    }

    #[test]
    fn role_chains_resolve_base_first() {
        let c = resolve(&files(), "deep", &env()).unwrap();
        assert!(matches!(c.base, Base::Sso(_)));
        let arns: Vec<&str> = c.roles.iter().map(|r| r.role_arn.as_str()).collect();
        assert_eq!(
            arns,
            [
                "arn:aws:iam::111122223333:role/Admin",
                "arn:aws:iam::111122223333:role/Deep"
            ]
        );
        assert_eq!(c.roles[0].external_id.as_deref(), Some("ext-1"));
        assert_eq!(c.roles[0].duration_seconds, Some(1800));
    }

    #[test]
    fn cycles_are_named() {
        let e = resolve(&files(), "a", &env()).unwrap_err();
        assert!(e.message().contains("a → b → a"), "{}", e.message());
    }

    #[test]
    fn self_source_uses_own_keys() {
        let c = resolve(&files(), "selfref", &env()).unwrap();
        let Base::StaticKeys(k) = &c.base else {
            panic!()
        };
        assert_eq!(k.access_key_id, "AKIAEXAMPLE");
        assert_eq!(c.roles.len(), 1);
        assert!(!format!("{c:?}").contains("sekrit"));
    }

    #[test]
    fn static_keys_from_credentials_file() {
        let c = resolve(&files(), "keys", &env()).unwrap();
        assert!(matches!(c.base, Base::StaticKeys(_)));
    }

    #[test]
    fn missing_session_section_names_profile_and_section() {
        let e = resolve(&files(), "broken", &env()).unwrap_err();
        assert!(e.message().contains("profile `broken`"));
        assert!(e.message().contains("[sso-session nope]"));
        assert!(e.hint().unwrap().contains("[sso-session nope]"));
    }

    #[test]
    fn unknown_profiles_get_a_suggestion_a_short_list_and_the_source_of_the_name() {
        let mut text = String::from("[plain]\nregion = x\n");
        for i in 0..50 {
            text.push_str(&format!("[profile team-{i:02}]\nregion = x\n"));
        }
        text.push_str("[profile production]\nregion = x\n");
        let f = AwsFiles::from_texts(&text, "").unwrap();
        let e = resolve(&f, "prodution", &env()).unwrap_err();
        assert_eq!(e.hint(), Some("did you mean --profile production?"));
        let listed = e.causes()[0].matches("team-").count();
        assert_eq!(
            listed + 1,
            MAX_LISTED,
            "production and 19 teams: {}",
            e.causes()[0]
        );
        assert!(e.causes()[0].contains("and 31 more"), "{}", e.causes()[0]);
        let e = resolve(&f, "plain", &env()).unwrap_err();
        assert!(
            e.hint().unwrap().contains("written [profile plain]"),
            "{:?}",
            e.hint()
        );
        let from_env = Environment::from_pairs([("AWS_PROFILE", "nosuch")]);
        let e = resolve(&f, "nosuch", &from_env).unwrap_err();
        assert!(
            e.message().contains("(the name comes from AWS_PROFILE)"),
            "{}",
            e.message()
        );
        let none = AwsFiles {
            config_path: "/nonexistent/config".into(),
            credentials_path: "/nonexistent/credentials".into(),
            ..AwsFiles::default()
        };
        let e = resolve(&none, "x", &env()).unwrap_err();
        assert!(
            e.causes()[0].contains("neither /nonexistent/config nor"),
            "{:?}",
            e.causes()
        );
    }

    #[test]
    fn unknown_profile_lists_known_ones() {
        let e = resolve(&files(), "nosuch", &env()).unwrap_err();
        assert!(
            e.report().contains("known profiles: a, admin, b"),
            "{}",
            e.report()
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn missing_keys_are_named() {
        let f = AwsFiles::from_texts(
            "[profile p]\nsso_start_url = https://x\nsso_region = us-east-1\nsso_account_id = 1\n",
            "",
        )
        .unwrap();
        let e = resolve(&f, "p", &env()).unwrap_err();
        assert_eq!(e.message(), "profile `p` is missing sso_role_name");
    }

    #[test]
    fn env_beats_profile_for_store_and_region() {
        let e =
            Environment::from_pairs([("AWSCRED_CACHE", "keyutils"), ("AWS_REGION", "ap-south-1")]);
        let c = resolve(&files(), "bedrock", &e).unwrap();
        assert_eq!(c.settings.store, StoreChoice::Keyutils);
        assert_eq!(c.settings.region.as_deref(), Some("ap-south-1"));
        let bad = Environment::from_pairs([("AWSCRED_CACHE", "floppy")]);
        assert!(
            resolve(&files(), "bedrock", &bad)
                .unwrap_err()
                .hint()
                .unwrap()
                .contains("secret-service")
        );
    }

    #[test]
    fn credential_process_of_awscred_resolves_in_process_and_others_are_run() {
        let f = AwsFiles::from_texts(
            "[profile bedrock]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = R\n\
             [profile cli]\ncredential_process = /usr/local/bin/awscred process --profile bedrock\n\
             [profile ext]\ncredential_process = \"/opt/my tools/creds\" --account 'a b'\nawscred_process_timeout = 5s\n\
             [profile on-ext]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = ext\n",
            "",
        )
        .unwrap();
        let c = resolve(&f, "cli", &env()).unwrap();
        assert!(matches!(c.base, Base::Sso(_)), "{c:?}");
        let c = resolve(&f, "ext", &env()).unwrap();
        let Base::Process(p) = &c.base else {
            panic!("{c:?}")
        };
        assert_eq!(p.argv, ["/opt/my tools/creds", "--account", "a b"]);
        assert_eq!(p.timeout, Duration::from_secs(5));
        let c = resolve(&f, "on-ext", &env()).unwrap();
        assert!(matches!(c.base, Base::Process(_)) && c.roles.len() == 1);
        // A script that merely lives under a directory named awscred is run, not refused.
        assert_eq!(
            awscred_process_target(&["/home/u/awscred/creds.sh".into()]),
            None
        );
    }

    #[test]
    fn credential_process_pointing_at_awscred_is_refused() {
        let f = AwsFiles::from_texts(
            "[profile p]\ncredential_process = awscred process --profile p\n",
            "",
        )
        .unwrap();
        let e = resolve(&f, "p", &env()).unwrap_err();
        assert!(
            e.report().contains("runs awscred for `p` itself"),
            "{}",
            e.report()
        );
    }

    #[test]
    fn identity_provider_profiles() {
        let f = AwsFiles::from_texts(
            "[profile idp]\nawscred_oidc_issuer = https://idp.example.com/\nawscred_oidc_client_id = c1\nawscred_oidc_role_arn = arn:aws:iam::1:role/R\nawscred_oidc_flow = device\nawscred_oidc_authorize_params = access_type=offline&prompt=consent\n[profile nothing]\nawscred_oidc_issuer = https://idp.example.com\nawscred_oidc_client_id = c1\n[profile plain]\nawscred_oidc_issuer = http://idp.example.com\nawscred_oidc_client_id = c1\nawscred_oidc_role_arn = arn:aws:iam::1:role/R\n",
            "",
        )
        .unwrap();
        let c = resolve(&f, "idp", &env()).unwrap();
        let Base::Oidc(o) = &c.base else { panic!() };
        assert_eq!(o.issuer, "https://idp.example.com");
        assert_eq!(o.audience, "c1");
        assert_eq!(o.scopes, ["openid", "email", "offline_access"]);
        assert_eq!(o.authorize_params.len(), 2);
        assert_eq!(c.settings.login, LoginFlow::Device);
        let e = resolve(&f, "nothing", &env()).unwrap_err();
        assert!(
            e.message().contains("no awscred_oidc_role_arn"),
            "{}",
            e.message()
        );
        let e = resolve(&f, "plain", &env()).unwrap_err();
        assert!(
            e.message().contains("must be an https:// URL"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn cognito_pool_regions_are_checked_before_they_become_a_host_name() {
        assert_eq!(pool_region("us-east-1:0000-aaaa"), Ok("us-east-1"));
        assert_eq!(pool_region("us-gov-west-1:x"), Ok("us-gov-west-1"));
        assert_eq!(pool_region("eusc-de-east-1:x"), Ok("eusc-de-east-1"));
        for bad in [
            "us-east-1.attacker.example#:x",
            "us-east-1.attacker.example#",
            "attacker.example/:x",
            "us-east-1",
            "us-east-1:",
            ":x",
            "US-EAST-1:x",
            "us-east-:x",
            "us--east-1:x",
            "1us-east-1:x",
            "us-east-1@evil:x",
        ] {
            assert!(pool_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_provider_urls_and_pool_regions_are_checked() {
        let profile = |name: &str, issuer: &str, pool: &str| {
            format!(
                "[profile {name}]\nawscred_oidc_issuer = {issuer}\nawscred_oidc_client_id = c1\nawscred_oidc_identity_pool_id = {pool}\n"
            )
        };
        let f = AwsFiles::from_texts(
            &[
                profile(
                    "lookalike",
                    "http://localhost.attacker.example",
                    "us-east-1:x",
                ),
                profile(
                    "userinfo",
                    "http://127.0.0.1@attacker.example",
                    "us-east-1:x",
                ),
                profile("local", "http://127.0.0.1:8080", "us-east-1:x"),
                profile("local6", "http://[::1]:8080/realms/r", "us-east-1:x"),
                profile(
                    "region",
                    "https://idp.example.com",
                    "us-east-1.attacker.example#:x",
                ),
            ]
            .concat(),
            "",
        )
        .unwrap();
        for bad in ["lookalike", "userinfo"] {
            let e = resolve(&f, bad, &env()).unwrap_err();
            assert!(
                e.message().contains("awscred_oidc_issuer"),
                "{bad}: {}",
                e.message()
            );
        }
        for good in ["local", "local6"] {
            resolve(&f, good, &env()).unwrap();
        }
        let e = resolve(&f, "region", &env()).unwrap_err();
        assert!(
            e.message().contains("awscred_oidc_identity_pool_id"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("900"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("18446744073709551615"), None);
        for good in ["us-east-1", "us-gov-west-1", "eusc-de-east-1", "cn-north-1"] {
            assert_eq!(check_region(good, "x").unwrap(), good);
        }
        for bad in [
            "us-east-1.attacker.example#",
            "US-EAST-1",
            "",
            "us--east-1",
            "us-east-1/",
            "a b",
        ] {
            let e = check_region(bad, "AWS_REGION").expect_err(bad);
            assert!(e.message().starts_with("AWS_REGION = `"), "{}", e.message());
        }
        assert_eq!(parse_duration("18446744073709551615h"), None);
        assert_eq!(parse_duration("367d"), None);
        assert_eq!(parse_duration("9000h"), None);
        assert_eq!(parse_duration("x"), None);
    }
}
