//! The resolve stage: a profile name becomes a [`Chain`] of plain data.
//!
//! The precedence follows botocore so a profile means the same to awscred as to the AWS CLI:
//! `role_arn` (with `source_profile`, `credential_source` or `web_identity_token_file`) first,
//! then `web_identity_token_file`, then IAM Identity Center (`sso_session` or the legacy
//! `sso_start_url` keys), then static keys. Keys prefixed `awscred_` carry what AWS config
//! cannot say; botocore ignores them.

use super::AwsFiles;
pub use super::chain::*;
use super::parse::{Section, SectionKind, Value};
use super::settings::settings;
pub use super::settings::{
    MAX_DURATION, MAX_LOGIN_TIMEOUT, MAX_REFRESH_WINDOW, check_region, parse_duration, pool_region,
};
use crate::env::{self, Environment};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Most profiles in one `source_profile` chain; longer chains are refused (the AWS CLI
/// allows any length, but no real chain comes near this).
pub const MAX_CHAIN: usize = 64;

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
        Some(w) if !has_credential_settings(&view(files, profile)?) => Base::WebIdentity(w),
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
/// One profile as both files give it (the credentials file first, as botocore reads it).
pub(super) struct ProfileView<'a> {
    pub(super) name: &'a str,
    config: Option<&'a Section>,
    credentials: Option<&'a Section>,
}

impl<'a> ProfileView<'a> {
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.credentials
            .and_then(|s| s.get(key))
            .or_else(|| self.config.and_then(|s| s.get(key)))
    }

    pub(super) fn text(&self, key: &str) -> Option<&'a str> {
        self.get(key).map(|v| v.text.as_str())
    }

    fn exists(&self) -> bool {
        self.config.is_some() || self.credentials.is_some()
    }
}

/// A profile's sections, each parsed on first use (an error when its lines are malformed).
pub(super) fn view<'a>(files: &'a AwsFiles, name: &'a str) -> Result<ProfileView<'a>> {
    Ok(ProfileView {
        name,
        config: files.config.get(SectionKind::Profile, name)?,
        credentials: files.credentials.get(SectionKind::Profile, name)?,
    })
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
        "login_session",
    ]
    .iter()
    .any(|k| p.get(k).is_some())
}

/// Most profile names an error lists.
pub const MAX_LISTED: usize = 20;

fn not_found(files: &AwsFiles, name: &str, env: &Environment) -> Error {
    // A malformed header elsewhere may be the profile asked for: the file's own error says
    // more than "not found".
    if let Err(e) = files.validate() {
        return e;
    }
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
    if files
        .config
        .get(SectionKind::Bare, name)
        .ok()
        .flatten()
        .is_some()
    {
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
    let p = view(files, name)?;
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
        if !view(files, source)?.exists() {
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

    // botocore's order: keys in the credentials file, then the login session, then
    // credential_process and keys in the config file.
    if let Some(v) = p.get("login_session")
        && p.credentials
            .is_none_or(|s| s.get("aws_access_key_id").is_none())
    {
        return login_session(env, &view(files, &visited[0])?, &p, v);
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
        let timeout = super::settings::duration_setting(
            p.get("awscred_process_timeout"),
            "awscred_process_timeout",
            DEFAULT_PROCESS_TIMEOUT,
            (std::time::Duration::from_secs(1), MAX_LOGIN_TIMEOUT),
            ("from 1s to 1h", "30 or 1m"),
        )?;
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

fn login_session(
    env: &Environment,
    top: &ProfileView<'_>,
    p: &ProfileView<'_>,
    v: &Value,
) -> Result<Base> {
    let session = v.text.trim();
    if !session.starts_with("arn:") {
        return Err(Error::user(format!(
            "{}: login_session of profile `{}` is not an ARN",
            v.at, p.name
        ))
        .with_hint(format!("run aws login --profile {} to set it", p.name)));
    }
    let (region, set_in) = if let Some(r) = env.get(env::AWS_REGION) {
        (r, env::AWS_REGION.to_string())
    } else if let Some(r) = env.get(env::AWS_DEFAULT_REGION) {
        (r, env::AWS_DEFAULT_REGION.to_string())
    } else if let Some(r) = top.get("region").or_else(|| p.get("region")) {
        (r.text.as_str(), format!("{}: region", r.at))
    } else {
        ("us-east-1", String::new())
    };
    Ok(Base::LoginSession(LoginSession {
        profile: p.name.to_string(),
        session: session.to_string(),
        region: check_region(region, &set_in)?,
    }))
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
        let Some(section) = files.config.get(SectionKind::SsoSession, sname)? else {
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
        let share_cli_cache = match section.get("awscred_share_sso_cache") {
            None => false,
            Some(v) => match v.text.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(Error::user(format!(
                        "{}: awscred_share_sso_cache must be true or false",
                        v.at
                    ))
                    .with_hint("set awscred_share_sso_cache = true"));
                }
            },
        };
        SsoSession {
            name: Some(sname.to_string()),
            start_url,
            region: check_region(&region, &format!("{where_}: sso_region"))?,
            scopes,
            share_cli_cache,
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
            share_cli_cache: false,
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

fn list(v: Option<&str>) -> Vec<String> {
    v.map(|t| {
        t.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
    fn login_session_profiles_resolve_in_botocores_order() {
        let config = "\
[profile console]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/me
region = eu-west-1
[profile on-top]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile = console
region = ap-south-1
[profile with-config-keys]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/me
aws_access_key_id = AKIACONFIG
aws_secret_access_key = s
[profile with-file-keys]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/me
[profile bad]
login_session = me
";
        let creds = "[with-file-keys]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n";
        let files = AwsFiles::from_texts(config, creds).unwrap();
        let none = Environment::from_pairs([]);
        let login = |name: &str, env: &Environment| match resolve(&files, name, env).unwrap().base {
            Base::LoginSession(l) => Some(l),
            _ => None,
        };
        let l = login("console", &none).unwrap();
        assert_eq!(
            (l.session.as_str(), l.region.as_str(), l.profile.as_str()),
            (
                "arn:aws:sts::111122223333:assumed-role/Admin/me",
                "eu-west-1",
                "console"
            )
        );
        // The region of the profile asked for, as botocore's session has it.
        assert_eq!(login("on-top", &none).unwrap().region, "ap-south-1");
        let env = Environment::from_pairs([("AWS_REGION", "us-west-2")]);
        assert_eq!(login("console", &env).unwrap().region, "us-west-2");
        assert!(
            login("with-config-keys", &none).is_some(),
            "beats keys in the config file"
        );
        assert!(
            login("with-file-keys", &none).is_none(),
            "loses to the credentials file"
        );
        let e = resolve(&files, "bad", &none).unwrap_err();
        assert!(e.message().contains("not an ARN"), "{}", e.message());
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
