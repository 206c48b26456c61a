//! `awscred doctor`: checks a setup end to end and says what to fix. Never signs in; a
//! silent refresh is allowed, since that is what Claude Code's calls would do.

use crate::claude::{self, Finding, Scope, Severity, Source};
use crate::config;
use crate::env::Environment;
use crate::error::Result;
use crate::safe_write::{self, Place};
use crate::services::Services;
use crate::source::{self, LoginPolicy, SignInState, role};
use crate::ui::Sink;
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

/// Runs the checks; exit 1 when anything is broken.
pub fn run(env: &Environment, profile: &str) -> Result<ExitCode> {
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
    match source::credentials(&ctx, &chain) {
        Ok(c) => {
            let region = role::region(&chain);
            ctx.net.ready()?;
            match crate::sts::call(
                ctx.net,
                region,
                Some((&c.credentials, ctx.clock.now())),
                "GetCallerIdentity",
                &[],
            ) {
                Ok(who) => add(
                    Severity::Ok,
                    format!(
                        "STS GetCallerIdentity: {}",
                        crate::sts::xml_element(&who, "Arn")
                            .map(|a| crate::remote::text(&crate::sts::xml_unescape(a)))
                            .unwrap_or_default()
                    ),
                    None,
                ),
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
                }
            }
        }
        Err(e) => add(
            Severity::Error,
            format!("credentials: {e}"),
            Some(e.hint().map(str::to_string).unwrap_or(login.clone())),
        ),
    }
    for f in claude_settings(env, profile, chain.settings.region.as_deref()) {
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

/// Claude Code's settings as Claude Code merges them (see [`claude::evaluate`]).
fn claude_settings(env: &Environment, profile: &str, region: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let sources = settings_sources(env, &mut out);
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
