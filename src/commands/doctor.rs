//! `awscred doctor`: checks a setup end to end and says what to fix. Never signs in; a
//! silent refresh is allowed, since that is what Claude Code's calls would do.
//!
//! Bedrock is checked the way Claude Code reaches it: ListInferenceProfiles on the control
//! plane in the region (which Claude inference profiles exist, whether the configured
//! models are among them, or which IAM action is missing), and with `--invoke` one
//! InvokeModel of one output token. Endpoints as Claude Code picks them:
//! `ANTHROPIC_BEDROCK_BASE_URL` for both, else `AWS_ENDPOINT_URL_BEDROCK` (control plane)
//! and `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (runtime), else `AWS_ENDPOINT_URL`, else AWS's.

use crate::claude::{self, Finding, Scope, Severity, Source, models};
use crate::config;
use crate::credentials::Credentials;
use crate::env::{self, Environment};
use crate::error::Result;
use crate::net::{Errors, Failure, Net, Request};
use crate::safe_write::{self, Place};
use crate::services::Services;
use crate::source::{self, LoginPolicy, SignInState, role};
use crate::ui::Sink;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::process::ExitCode;

fn print(f: &Finding) {
    let tag = match f.severity {
        Severity::Note => "note ",
        Severity::Ok => "ok   ",
        Severity::Warn => "warn ",
        Severity::Error => "error",
    };
    Sink::Stdout.line(&format!("{tag} {}", f.message));
    if let Some(fix) = &f.fix
        && f.severity != Severity::Ok
    {
        Sink::Stdout.line(&format!("      fix: {fix}"));
    }
}

/// The fix for a store that does not work: another store, unless it is the file store
/// already, whose directory is then what to fix.
fn other_store(name: &str) -> String {
    if name == "file" {
        "check the permissions of the cache directory, or set AWSCRED_CACHE_DIR to a directory of yours".into()
    } else {
        "set AWSCRED_CACHE=file to keep credentials in a private cache directory".into()
    }
}

/// Runs the checks (with `invoke`, one call of the model too); exit 1 when anything is
/// broken.
pub fn run(env: &Environment, profile: &str, invoke: bool) -> Result<ExitCode> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut add = |severity, message: String, fix: Option<String>| {
        let f = Finding {
            severity,
            message,
            fix,
        };
        print(&f);
        findings.push(f);
    };
    let login = format!("awscred login --profile {profile}");

    let services = match Services::new(env) {
        Ok(s) => s,
        Err(e) => {
            add(Severity::Error, e.to_string(), e.hint().map(str::to_string));
            return Ok(ExitCode::from(1));
        }
    };
    let files = &services.files;
    // Every section, not only the profile's: the AWS CLI rejects a file with any bad line.
    if let Err(e) = files.validate() {
        add(Severity::Error, e.to_string(), e.hint().map(str::to_string));
        return Ok(ExitCode::from(1));
    }
    if files.config_path.exists() {
        add(
            Severity::Ok,
            format!("AWS config found at {}", files.config_path.display()),
            None,
        );
    } else {
        add(
            Severity::Warn,
            format!("no AWS config at {}", files.config_path.display()),
            Some("create it with an [sso-session] and a profile (see the README)".into()),
        );
    }
    if let Err(e) = env.check_endpoint_urls() {
        add(Severity::Error, e.to_string(), e.hint().map(str::to_string));
        return Ok(ExitCode::from(1));
    }
    let chain = match config::resolve::resolve(files, profile, env) {
        Ok(c) => {
            add(
                Severity::Ok,
                format!("profile {profile}: {}", source::describe(&c)),
                None,
            );
            c
        }
        Err(e) => {
            add(Severity::Error, e.to_string(), e.hint().map(str::to_string));
            return Ok(ExitCode::from(1));
        }
    };
    let inv = match services.request(profile) {
        Ok(i) => {
            add(
                Severity::Ok,
                format!("store: {}", i.cache.store().location()),
                None,
            );
            i
        }
        Err(e) => {
            add(
                Severity::Error,
                format!("store: {e}"),
                e.hint().map(str::to_string),
            );
            return Ok(ExitCode::from(1));
        }
    };
    // The store must take a write, a read and a delete.
    let probe = "awscred:doctor-probe";
    let works = inv
        .cache
        .store()
        .set(probe, b"ok")
        .and_then(|()| inv.cache.store().get(probe))
        .map(|v| v.as_deref() == Some(&b"ok"[..]));
    let _ = inv.cache.store().delete(probe);
    match works {
        Ok(true) => add(
            Severity::Ok,
            "store: write, read and delete work".into(),
            None,
        ),
        Ok(false) => add(
            Severity::Error,
            "store: a value written could not be read back".into(),
            Some(other_store(inv.cache.store().name())),
        ),
        Err(e) => add(
            Severity::Error,
            format!("store: {e}"),
            Some(
                e.hint()
                    .map(str::to_string)
                    .unwrap_or_else(|| other_store(inv.cache.store().name())),
            ),
        ),
    }
    let ctx = inv.context(LoginPolicy::silent());
    if let Some(sign_in) = source::of(&chain.base).sign_in() {
        let to = sign_in.name();
        match sign_in.state(&ctx)? {
            SignInState::Valid { .. } => add(Severity::Ok, format!("signed in to {to}"), None),
            SignInState::Expired { refreshable: true } => add(
                Severity::Ok,
                format!("the token of {to} expired but is refreshable"),
                None,
            ),
            SignInState::Expired { refreshable: false } | SignInState::None => add(
                Severity::Error,
                format!("not signed in to {to}"),
                Some(login.clone()),
            ),
        }
    }
    let mut settings_problems = Vec::new();
    let sources = settings_sources(env, &mut settings_problems);
    let (settings_env, ignored_endpoints) = merged_env(&sources);
    for what in ignored_endpoints {
        add(
            Severity::Warn,
            crate::remote::text(&format!(
                "{what} is not used by doctor: it would send signed requests where the repository says; Claude Code uses it once you trust this workspace"
            )),
            Some("set it in your user settings or your shell if it is yours".into()),
        );
    }
    match source::credentials(&ctx, &chain) {
        Ok(c) => {
            let region = role::region(&chain);
            ctx.net.ready()?;
            let sts = crate::sts::call(
                ctx.net,
                region,
                Some((&c.credentials, ctx.clock.now())),
                "GetCallerIdentity",
                &[],
            );
            match sts {
                Ok(who) => {
                    let arn = crate::sts::xml_element(&who, "Arn")
                        .map(|a| crate::remote::text(&crate::sts::xml_unescape(a)))
                        .unwrap_or_default();
                    add(Severity::Ok, format!("STS GetCallerIdentity: {arn}"), None);
                    let lookup = Lookup {
                        env,
                        settings: &settings_env,
                    };
                    let region = lookup.get(env::AWS_REGION).unwrap_or(region).to_string();
                    let bedrock = BedrockCheck {
                        net: ctx.net,
                        credentials: &c.credentials,
                        now: ctx.clock.now(),
                        region,
                        caller: arn,
                        profile,
                    };
                    for f in bedrock.run(&lookup, invoke) {
                        add(f.severity, f.message, f.fix);
                    }
                }
                Err(f) => {
                    // Say the fix that matches the failure: sign in again only when AWS
                    // refused the credentials; a network or endpoint problem has its own.
                    let rejected = f
                        .code
                        .as_deref()
                        .is_some_and(crate::error::rejects_credentials);
                    let fix = if rejected {
                        Some(source::of(&chain.base).rejected_fix(profile))
                    } else {
                        f.error.hint().map(str::to_string)
                    };
                    add(Severity::Error, f.error.to_string(), fix);
                    add(
                        Severity::Note,
                        "Bedrock not checked: the credentials did not work for STS".into(),
                        None,
                    );
                }
            }
        }
        Err(e) => add(
            Severity::Error,
            format!("credentials: {e}"),
            Some(e.hint().map(str::to_string).unwrap_or(login.clone())),
        ),
    }
    for f in claude_settings(
        sources,
        settings_problems,
        profile,
        chain.settings.region.as_deref(),
    ) {
        add(f.severity, f.message, f.fix);
    }
    let broken = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(ExitCode::from(if broken { 1 } else { 0 }))
}

/// The settings files Claude Code reads, lowest precedence first: user, project, local,
/// the managed file and its drop-ins in name order.
fn settings_sources(env: &Environment, problems: &mut Vec<Finding>) -> Vec<Source> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut places: Vec<(Scope, Place)> =
        [Scope::User, Scope::Project, Scope::Local, Scope::Managed]
            .into_iter()
            .map(|scope| {
                let place = claude::settings_place(
                    scope,
                    env.home().as_deref(),
                    env.get("CLAUDE_CONFIG_DIR"),
                    &cwd,
                );
                (scope, place)
            })
            .collect();
    places.extend(
        claude::drop_in_files(&claude::managed_drop_ins())
            .into_iter()
            .map(|p| (Scope::Managed, Place::Own(p))),
    );
    let mut sources = Vec::new();
    for (scope, place) in places {
        match safe_write::read(&place) {
            Ok(Some(text)) => sources.push(Source {
                scope,
                path: place.path(),
                text,
            }),
            Ok(None) => {}
            Err(e) => problems.push(Finding {
                severity: Severity::Warn,
                message: format!("{}; not checked", e.message()),
                fix: e.hint().map(str::to_string),
            }),
        }
    }
    sources
}

/// Claude Code's settings as Claude Code merges them (see [`claude::evaluate`]), after
/// the problems met reading them.
fn claude_settings(
    sources: Vec<Source>,
    mut out: Vec<Finding>,
    profile: &str,
    region: Option<&str>,
) -> Vec<Finding> {
    let setup_cmd = format!("awscred setup claude --profile {profile}");
    if sources.is_empty() {
        out.push(Finding {
            severity: Severity::Warn,
            message: "no Claude Code settings found".into(),
            fix: Some(setup_cmd),
        });
    } else {
        out.extend(claude::evaluate(&sources, profile, region, &setup_cmd));
    }
    out.push(Finding {
        severity: Severity::Note,
        message: "doctor reads settings files only: it cannot see managed policy from macOS configuration profiles (plist) or the Windows registry, nor server-managed settings, which override these files".into(),
        fix: None,
    });
    out
}

/// Whether `name` sends requests elsewhere (`ANTHROPIC_BEDROCK_BASE_URL`,
/// `AWS_ENDPOINT_URL*`).
fn is_endpoint_var(name: &str) -> bool {
    name == env::ANTHROPIC_BEDROCK_BASE_URL || name.starts_with(env::AWS_ENDPOINT_URL)
}

/// Claude Code's `env` as it merges it: per key, from the highest source that sets it.
/// `sources` go lowest precedence first (as [`settings_sources`] returns them). Endpoint
/// variables from project or local settings (a repository's words) are left out, since
/// doctor would send signed requests there before anyone trusted the workspace; the second
/// list says which were left out, and where.
fn merged_env(sources: &[Source]) -> (HashMap<String, String>, Vec<String>) {
    let mut out = HashMap::new();
    let mut ignored = Vec::new();
    for src in sources {
        let Ok(Value::Object(v)) = serde_json::from_str::<Value>(&src.text) else {
            continue;
        };
        let Some(Value::Object(e)) = v.get("env") else {
            continue;
        };
        for (k, v) in e {
            if is_endpoint_var(k) && matches!(src.scope, Scope::Project | Scope::Local) {
                ignored.push(format!(
                    "env.{k} in {} settings ({})",
                    src.scope.name(),
                    src.path.display()
                ));
                continue;
            }
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(k.clone(), text);
        }
    }
    (out, ignored)
}

/// A variable as Claude Code sees it: its settings' `env` over the process environment.
struct Lookup<'a> {
    env: &'a Environment,
    settings: &'a HashMap<String, String>,
}

impl Lookup<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.settings
            .get(name)
            .map(String::as_str)
            .or_else(|| self.env.get(name))
            .filter(|v| !v.trim().is_empty())
    }

    /// An endpoint variable's value without a trailing slash, if set.
    fn endpoint(&self, name: &str) -> Option<(&'static str, String)> {
        let name = [
            env::ANTHROPIC_BEDROCK_BASE_URL,
            env::AWS_ENDPOINT_URL_BEDROCK,
            env::AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
            env::AWS_ENDPOINT_URL,
        ]
        .into_iter()
        .find(|n| *n == name)?;
        self.get(name)
            .map(|v| (name, v.trim().trim_end_matches('/').to_string()))
    }
}

/// The suffix of AWS hosts in the region's partition.
fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Bedrock's control-plane and runtime base URLs as Claude Code picks them, each with the
/// variable that set it (`None`: AWS's regional endpoint).
fn endpoints(lookup: &Lookup<'_>, region: &str) -> [(Option<&'static str>, String); 2] {
    if let Some((name, base)) = lookup.endpoint(env::ANTHROPIC_BEDROCK_BASE_URL) {
        return [(Some(name), base.clone()), (Some(name), base)];
    }
    let pick = |specific: &str, host: &str| match lookup
        .endpoint(specific)
        .or_else(|| lookup.endpoint(env::AWS_ENDPOINT_URL))
    {
        Some((name, base)) => (Some(name), base),
        None => (
            None,
            format!("https://{host}.{region}.{}", dns_suffix(region)),
        ),
    };
    [
        pick(env::AWS_ENDPOINT_URL_BEDROCK, "bedrock"),
        pick(env::AWS_ENDPOINT_URL_BEDROCK_RUNTIME, "bedrock-runtime"),
    ]
}

/// Why an endpoint URL cannot be used, if it cannot.
fn bad_endpoint(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return Some("does not start with http:// or https://");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (host.is_empty() || host.starts_with(':') || host.contains(char::is_whitespace))
        .then_some("names no host")
}

/// At most this many pages of ListInferenceProfiles are read.
const MAX_PAGES: usize = 20;
/// At most this many profile ids are kept.
const MAX_PROFILES: usize = 2000;
/// At most this many profile ids are shown.
const SHOWN: usize = 12;
/// The InvokeModel body: the Messages API version Bedrock takes, one output token.
const INVOKE_BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"Say OK."}]}"#;

/// The IAM actions Claude Code on Bedrock needs (SPEC §6).
const NEEDED: &str = "bedrock:InvokeModel, bedrock:InvokeModelWithResponseStream, bedrock:ListInferenceProfiles and bedrock:GetInferenceProfile";

/// The Claude inference profiles (ids containing `anthropic.`) of a ListInferenceProfiles
/// page, and its `nextToken`; `None` when the page is not the expected JSON.
fn parse_page(body: &str) -> Option<(Vec<String>, Option<String>)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let list = v.get("inferenceProfileSummaries")?.as_array()?;
    let ids = list
        .iter()
        .filter_map(|p| p.get("inferenceProfileId")?.as_str())
        .filter(|id| id.contains("anthropic."))
        .map(str::to_string)
        .collect();
    let next = v
        .get("nextToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Some((ids, next))
}

/// The model family a Claude model id belongs to (`sonnet`, `opus`, `haiku`).
fn family(id: &str) -> Option<&'static str> {
    ["sonnet", "opus", "haiku"]
        .into_iter()
        .find(|f| id.contains(&format!("-{f}")))
}

/// The release date in a model id (`…-20250929-v1:0` → 20250929), 0 when it has none.
fn release(id: &str) -> u32 {
    id.split(['-', '.', ':'])
        .filter(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|w| w.parse().ok())
        .max()
        .unwrap_or(0)
}

/// The newest listed profile of `family` callable with the region's prefix, else a
/// `global.` one.
fn newest(profiles: &[String], family_name: &str, region: &str) -> Option<String> {
    let geo = format!("{}.", models::region_prefix(region));
    [geo.as_str(), "global."].into_iter().find_map(|prefix| {
        profiles
            .iter()
            .filter(|id| id.starts_with(prefix) && family(id) == Some(family_name))
            .max_by_key(|id| release(id))
            .cloned()
    })
}

/// Whether a model setting names a system inference profile (`eu.anthropic.…`), the ids
/// ListInferenceProfiles answers.
fn is_system_profile(id: &str) -> bool {
    id.split_once('.')
        .is_some_and(|(prefix, rest)| rest.starts_with("anthropic.") && !prefix.contains(':'))
}

/// The model `--invoke` calls: `ANTHROPIC_MODEL` (an alias such as `sonnet` resolved as
/// Claude Code does: `ANTHROPIC_DEFAULT_SONNET_MODEL`, else the newest listed), else the
/// region's newest Sonnet. `None` when nothing names one.
fn model_to_invoke(
    lookup: &Lookup<'_>,
    profiles: Option<&[String]>,
    region: &str,
) -> Option<(String, String)> {
    let listed = |f: &str| profiles.and_then(|p| newest(p, f, region));
    let Some(model) = lookup.get("ANTHROPIC_MODEL") else {
        return listed("sonnet").map(|m| (m, format!("the newest Sonnet profile for {region}")));
    };
    let alias = model.trim().trim_end_matches("[1m]").to_ascii_lowercase();
    let family_name = match alias.as_str() {
        "sonnet" | "default" => "sonnet",
        "opus" | "best" | "opusplan" => "opus",
        "haiku" => "haiku",
        _ => return Some((model.trim().to_string(), "ANTHROPIC_MODEL".into())),
    };
    let var = format!(
        "ANTHROPIC_DEFAULT_{}_MODEL",
        family_name.to_ascii_uppercase()
    );
    match lookup.get(&var) {
        Some(m) => Some((
            m.trim().to_string(),
            format!("ANTHROPIC_MODEL={alias}, {var}"),
        )),
        None => listed(family_name).map(|m| {
            (
                m,
                format!("ANTHROPIC_MODEL={alias}, the newest listed for {region}"),
            )
        }),
    }
}

/// Whether a refusal is IAM's (a missing action) rather than model access.
fn iam_refusal(f: &Failure) -> bool {
    f.code
        .as_deref()
        .is_some_and(|c| c.starts_with("AccessDenied"))
        && f.error
            .causes()
            .iter()
            .any(|c| c.contains("not authorized to perform"))
}

/// One Bedrock check: who calls, where, with what.
struct BedrockCheck<'a> {
    net: &'a Net,
    credentials: &'a Credentials,
    now: DateTime<Utc>,
    region: String,
    /// The caller's ARN, for the administrator's fix.
    caller: String,
    profile: &'a str,
}

impl BedrockCheck<'_> {
    fn signed(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for (k, v) in headers {
            if let Some(name) = ["content-type", "accept"].into_iter().find(|n| n == k) {
                out.push((name, (*v).to_string()));
            }
        }
        out.extend(crate::sigv4::sign(
            method,
            url,
            headers,
            body,
            self.credentials,
            crate::sigv4::Scope {
                region: &self.region,
                service: "bedrock",
                time: self.now,
            },
        ));
        out
    }

    /// Every Claude profile id once, following `nextToken` for at most [`MAX_PAGES`] pages;
    /// `true` with them when the last page was reached.
    fn list(&self, base: &str) -> std::result::Result<(Vec<String>, bool), Failure> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = format!("{base}/inference-profiles?type=SYSTEM_DEFINED");
            if let Some(t) = &token {
                url.push_str("&nextToken=");
                url.push_str(&crate::net::encode(t));
            }
            let headers = self.signed("GET", &url, &[], b"");
            let reply = self.net.send(
                "ListInferenceProfiles",
                &Request {
                    method: "GET",
                    url: &url,
                    headers,
                    body: Vec::new(),
                },
                Errors::Json,
            )?;
            let Some((page, next)) = parse_page(&reply.body) else {
                return Err(crate::net::unreadable(
                    "ListInferenceProfiles",
                    &crate::remote::url(&url),
                    Some(reply.status),
                )
                .into());
            };
            for id in page {
                if ids.len() < MAX_PROFILES && !ids.contains(&id) {
                    ids.push(id);
                }
            }
            match next {
                Some(t) if ids.len() < MAX_PROFILES => token = Some(t),
                Some(_) => return Ok((ids, false)),
                None => return Ok((ids, true)),
            }
        }
        Ok((ids, false))
    }

    /// One InvokeModel of `model` with one output token; `Ok` is the stop reason.
    fn invoke(&self, base: &str, model: &str) -> std::result::Result<String, Failure> {
        let url = format!("{base}/model/{}/invoke", crate::net::encode(model));
        let body = INVOKE_BODY.as_bytes().to_vec();
        let headers = self.signed(
            "POST",
            &url,
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            &body,
        );
        let reply = self.net.send(
            "InvokeModel",
            &Request {
                method: "POST",
                url: &url,
                headers,
                body,
            },
            Errors::Json,
        )?;
        let v: Value = serde_json::from_str(&reply.body).map_err(|_| {
            crate::net::unreadable("InvokeModel", &crate::remote::url(&url), Some(reply.status))
        })?;
        Ok(v.get("stop_reason")
            .and_then(Value::as_str)
            .map(crate::remote::text)
            .unwrap_or_else(|| "none given".into()))
    }

    /// The fix for an IAM refusal.
    fn ask_admin(&self, action: &str) -> String {
        format!(
            "ask your administrator to allow {action} for {} (Claude Code needs {NEEDED})",
            if self.caller.is_empty() {
                format!("the role of profile {}", self.profile)
            } else {
                self.caller.clone()
            }
        )
    }

    /// A failed call as a finding.
    fn failed(&self, what: &str, action: &str, f: &Failure) -> Finding {
        if iam_refusal(f) {
            return Finding {
                severity: Severity::Error,
                message: format!(
                    "Bedrock {what} in {} was refused: the credentials lack {action} ({})",
                    self.region, f.error
                ),
                fix: Some(self.ask_admin(action)),
            };
        }
        let fix = if f
            .code
            .as_deref()
            .is_some_and(|c| c.starts_with("AccessDenied"))
        {
            Some(format!(
                "enable access to this model for the account in the Bedrock console of {} (first use of a model may also need aws-marketplace:ViewSubscriptions and aws-marketplace:Subscribe)",
                self.region
            ))
        } else if f.code.as_deref() == Some("ValidationException") {
            Some(format!(
                "name a model callable from {}: inference profiles there start with `{}.` or `global.` (awscred doctor lists them)",
                self.region,
                models::region_prefix(&self.region)
            ))
        } else if f
            .code
            .as_deref()
            .is_some_and(crate::error::rejects_credentials)
        {
            Some(format!(
                "run awscred export --profile {} --refresh, then awscred doctor again",
                self.profile
            ))
        } else {
            f.error.hint().map(str::to_string)
        };
        Finding {
            severity: Severity::Error,
            message: format!("Bedrock {what} in {}: {}", self.region, f.error),
            fix,
        }
    }

    fn run(&self, lookup: &Lookup<'_>, invoke: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut add = |severity, message: String, fix: Option<String>| {
            out.push(Finding {
                severity,
                message,
                fix,
            })
        };
        let region = self.region.as_str();
        if !models::is_region(region) {
            add(
                Severity::Error,
                format!(
                    "Bedrock not checked: AWS_REGION `{}` is not a region name",
                    crate::remote::text(region)
                ),
                Some(format!(
                    "run awscred setup claude --profile {} --region us-east-1",
                    self.profile
                )),
            );
            return out;
        }
        let [control, runtime] = endpoints(lookup, region);
        for (name, url) in [&control, &runtime] {
            if let (Some(name), Some(why)) = (name, bad_endpoint(url)) {
                add(
                    Severity::Error,
                    format!(
                        "Bedrock not checked: {name} is `{}`, which {why}",
                        crate::remote::url(url)
                    ),
                    Some(format!(
                        "set {name} to a URL such as https://host, or unset it"
                    )),
                );
                return out;
            }
        }
        let shown = |(name, url): &(Option<&str>, String)| match name {
            Some(n) => format!("{} (from {n})", crate::remote::url(url)),
            None => crate::remote::url(url),
        };
        let profiles = match self.list(&control.1) {
            Ok((ids, complete)) => {
                let partial = if complete {
                    String::new()
                } else {
                    format!(" (the first {MAX_PAGES} pages)")
                };
                if ids.is_empty() {
                    add(
                        Severity::Warn,
                        format!(
                            "Bedrock ListInferenceProfiles in {region} at {}: no Claude inference profiles",
                            shown(&control)
                        ),
                        Some("use a region where Bedrock offers Claude (for example us-east-1, eu-west-1, ap-northeast-1)".into()),
                    );
                } else {
                    let mut list: Vec<String> = ids
                        .iter()
                        .take(SHOWN)
                        .map(|i| crate::remote::text(i))
                        .collect();
                    if ids.len() > SHOWN {
                        list.push(format!("and {} more", ids.len() - SHOWN));
                    }
                    add(
                        Severity::Ok,
                        format!(
                            "Bedrock ListInferenceProfiles in {region}: {} Claude inference profiles{partial}: {}",
                            ids.len(),
                            list.join(", ")
                        ),
                        None,
                    );
                }
                Some(ids)
            }
            Err(f) => {
                out.push(self.failed("ListInferenceProfiles", "bedrock:ListInferenceProfiles", &f));
                None
            }
        };
        // The configured models, against the list.
        let mut add = |severity, message: String, fix: Option<String>| {
            out.push(Finding {
                severity,
                message,
                fix,
            })
        };
        if let Some(ids) = &profiles {
            for var in models::MODEL_VARS {
                let Some(id) = lookup.get(var) else { continue };
                let id = id.trim();
                let shown_id = crate::remote::text(id);
                if !is_system_profile(id) {
                    continue;
                }
                if ids.iter().any(|p| p == id) {
                    add(
                        Severity::Ok,
                        format!("{var} = {shown_id} is among them"),
                        None,
                    );
                } else {
                    let instead = family(id).and_then(|f| newest(ids, f, region));
                    add(
                        Severity::Error,
                        format!(
                            "{var} = {shown_id} is not among the Claude inference profiles of {region}"
                        ),
                        Some(match instead {
                            Some(m) => format!(
                                "set {var} to {} (or unset it: Claude Code picks current models itself)",
                                crate::remote::text(&m)
                            ),
                            None => format!(
                                "set {var} to one of the profiles listed above, or unset it"
                            ),
                        }),
                    );
                }
            }
        }
        if !invoke {
            add(
                Severity::Note,
                "run awscred doctor --invoke to call the model once (one output token)".into(),
                None,
            );
            return out;
        }
        let Some((model, why)) = model_to_invoke(lookup, profiles.as_deref(), region) else {
            add(
                Severity::Error,
                format!("InvokeModel not tried: ANTHROPIC_MODEL is unset and no Sonnet inference profile of {region} is known"),
                Some("set ANTHROPIC_MODEL to an inference profile id, e.g. ANTHROPIC_MODEL=<id> awscred doctor --invoke".into()),
            );
            return out;
        };
        match self.invoke(&runtime.1, &model) {
            Ok(stop) => add(
                Severity::Ok,
                format!(
                    "Bedrock InvokeModel of {} ({why}) in {region} at {} answered (stop reason: {stop})",
                    crate::remote::text(&model),
                    shown(&runtime)
                ),
                None,
            ),
            Err(f) => out.push(self.failed(
                &format!("InvokeModel of {}", crate::remote::text(&model)),
                "bedrock:InvokeModel",
                &f,
            )),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn src(scope: Scope, text: &str) -> Source {
        Source {
            scope,
            path: PathBuf::from(format!("/{}", scope.name())),
            text: text.into(),
        }
    }

    #[test]
    fn settings_env_merges_per_key_highest_last() {
        let (m, ignored) = merged_env(&[
            src(
                Scope::User,
                r#"{"env": {"AWS_REGION": "us-east-1", "A": "user", "AWS_ENDPOINT_URL_BEDROCK": "http://mine"}}"#,
            ),
            src(
                Scope::Local,
                r#"{"env": {"AWS_REGION": "eu-west-1", "N": 1, "ANTHROPIC_BEDROCK_BASE_URL": "http://repo"}}"#,
            ),
            src(
                Scope::Project,
                r#"{"env": {"AWS_ENDPOINT_URL_BEDROCK": "http://repo"}}"#,
            ),
            src(Scope::Managed, "not json"),
        ]);
        assert_eq!(m["AWS_ENDPOINT_URL_BEDROCK"], "http://mine");
        assert!(!m.contains_key("ANTHROPIC_BEDROCK_BASE_URL"));
        assert_eq!(ignored.len(), 2);
        assert!(ignored[0].starts_with("env.ANTHROPIC_BEDROCK_BASE_URL in local settings"));
        assert_eq!(m["AWS_REGION"], "eu-west-1");
        assert_eq!(m["A"], "user");
        assert_eq!(m["N"], "1");
    }

    fn lookup_of(
        env: &[(&str, &str)],
        settings: &[(&str, &str)],
    ) -> (Environment, HashMap<String, String>) {
        (
            Environment::from_pairs(env.iter().copied()),
            settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn endpoints_as_claude_code_picks_them() {
        let (e, s) = lookup_of(&[], &[]);
        let l = Lookup {
            env: &e,
            settings: &s,
        };
        let [c, r] = endpoints(&l, "eu-west-1");
        assert_eq!(c, (None, "https://bedrock.eu-west-1.amazonaws.com".into()));
        assert_eq!(
            r,
            (
                None,
                "https://bedrock-runtime.eu-west-1.amazonaws.com".into()
            )
        );
        let [c, _] = endpoints(&l, "cn-north-1");
        assert_eq!(c.1, "https://bedrock.cn-north-1.amazonaws.com.cn");

        let (e, s) = lookup_of(
            &[
                ("AWS_ENDPOINT_URL", "http://all/"),
                ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://rt"),
            ],
            &[],
        );
        let l = Lookup {
            env: &e,
            settings: &s,
        };
        let [c, r] = endpoints(&l, "us-east-1");
        assert_eq!(c, (Some("AWS_ENDPOINT_URL"), "http://all".into()));
        assert_eq!(
            r,
            (Some("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"), "http://rt".into())
        );

        // Claude Code's base URL serves both, and settings' env wins over the shell's.
        let (e, s) = lookup_of(
            &[
                ("ANTHROPIC_BEDROCK_BASE_URL", "http://shell"),
                ("AWS_ENDPOINT_URL_BEDROCK", "http://cp"),
            ],
            &[("ANTHROPIC_BEDROCK_BASE_URL", "http://gateway/")],
        );
        let l = Lookup {
            env: &e,
            settings: &s,
        };
        let [c, r] = endpoints(&l, "us-east-1");
        assert_eq!(
            c,
            (Some("ANTHROPIC_BEDROCK_BASE_URL"), "http://gateway".into())
        );
        assert_eq!(r, c);
    }

    #[test]
    fn bad_endpoints_are_named() {
        assert_eq!(bad_endpoint("https://x"), None);
        assert_eq!(bad_endpoint("HTTP://x:1/p"), None);
        assert!(bad_endpoint("localhost:4566").is_some());
        assert!(bad_endpoint("http://").is_some());
        assert!(bad_endpoint("http://:80").is_some());
    }

    #[test]
    fn pages_keep_claude_profiles_and_the_next_token() {
        let (ids, next) = parse_page(
            r#"{"inferenceProfileSummaries":[{"inferenceProfileId":"eu.anthropic.claude-x"},{"inferenceProfileId":"eu.amazon.nova-pro-v1:0"},{"x":1}],"nextToken":"abc"}"#,
        )
        .unwrap();
        assert_eq!(ids, ["eu.anthropic.claude-x"]);
        assert_eq!(next.as_deref(), Some("abc"));
        let (_, next) = parse_page(r#"{"inferenceProfileSummaries":[],"nextToken":""}"#).unwrap();
        assert_eq!(next, None);
        assert!(parse_page("<html>").is_none());
        assert!(parse_page(r#"{"inferenceProfileSummaries":{}}"#).is_none());
    }

    fn listed() -> Vec<String> {
        [
            "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "eu.anthropic.claude-sonnet-4-20250514-v1:0",
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "eu.anthropic.claude-opus-4-1-20250805-v1:0",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn the_newest_of_a_family_for_the_region() {
        let p = listed();
        assert_eq!(
            newest(&p, "sonnet", "eu-west-1").as_deref(),
            Some("eu.anthropic.claude-sonnet-4-5-20250929-v1:0")
        );
        // None with the region's prefix: a global one.
        assert_eq!(
            newest(&p, "haiku", "eu-central-1").as_deref(),
            Some("global.anthropic.claude-haiku-4-5-20251001-v1:0")
        );
        assert_eq!(newest(&p, "sonnet", "us-east-1"), None);
        assert_eq!(release("x-20250929-v1:0"), 20250929);
        assert_eq!(
            family("eu.anthropic.claude-3-7-sonnet-20250219-v1:0"),
            Some("sonnet")
        );
        assert!(is_system_profile("eu.anthropic.claude-x"));
        assert!(!is_system_profile("anthropic.claude-x"));
        assert!(!is_system_profile(
            "arn:aws:bedrock:us-east-1:1:application-inference-profile/a.anthropic.b"
        ));
    }

    #[test]
    fn the_model_to_invoke() {
        let p = listed();
        let pick = |env: &[(&str, &str)]| {
            let (e, s) = lookup_of(env, &[]);
            let l = Lookup {
                env: &e,
                settings: &s,
            };
            model_to_invoke(&l, Some(&p), "eu-west-1").map(|(m, _)| m)
        };
        assert_eq!(
            pick(&[]).as_deref(),
            Some("eu.anthropic.claude-sonnet-4-5-20250929-v1:0")
        );
        assert_eq!(
            pick(&[("ANTHROPIC_MODEL", "my-id")]).as_deref(),
            Some("my-id")
        );
        assert_eq!(
            pick(&[("ANTHROPIC_MODEL", "opus")]).as_deref(),
            Some("eu.anthropic.claude-opus-4-1-20250805-v1:0")
        );
        assert_eq!(
            pick(&[
                ("ANTHROPIC_MODEL", "sonnet[1m]"),
                ("ANTHROPIC_DEFAULT_SONNET_MODEL", "x")
            ])
            .as_deref(),
            Some("x")
        );
        let (e, s) = lookup_of(&[], &[]);
        let l = Lookup {
            env: &e,
            settings: &s,
        };
        assert_eq!(model_to_invoke(&l, None, "eu-west-1"), None);
    }
}
