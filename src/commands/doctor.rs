//! `awscred doctor`: checks a setup end to end and says what to fix. Never signs in; a
//! silent refresh is allowed, since that is what Claude Code's calls would do.

use crate::claude::{self, Finding, Severity};
use crate::config;
use crate::env::Environment;
use crate::error::Result;
use crate::services::Services;
use crate::source::{self, LoginPolicy, SignInState, role};
use crate::ui::Sink;
use std::process::ExitCode;

fn print(f: &Finding) {
    let tag = match f.severity {
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
            Some("set AWSCRED_CACHE=file".into()),
        ),
        Err(e) => add(
            Severity::Error,
            format!("store: {e}"),
            Some("set AWSCRED_CACHE=file".into()),
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
                    add(Severity::Error, f.error.to_string(), Some(login.clone()));
                }
            }
        }
        Err(e) => add(
            Severity::Error,
            format!("credentials: {e}"),
            Some(e.hint().map(str::to_string).unwrap_or(login.clone())),
        ),
    }
    // Claude Code settings, most specific last (as Claude Code merges them).
    let cwd = std::env::current_dir().unwrap_or_default();
    let setup_cmd = format!("awscred setup claude --profile {profile}");
    let mut any = false;
    for scope in [
        claude::Scope::User,
        claude::Scope::Project,
        claude::Scope::Local,
    ] {
        let place = claude::settings_place(
            scope,
            env.home().as_deref(),
            env.get("CLAUDE_CONFIG_DIR"),
            &cwd,
        );
        let path = place.path();
        match crate::safe_write::read(&place) {
            Ok(Some(text)) => {
                any = true;
                for f in claude::check(&text, &path, profile, &setup_cmd) {
                    add(f.severity, f.message, f.fix);
                }
            }
            Ok(None) => {}
            Err(e) => add(
                Severity::Warn,
                format!("{}; not checked", e.message()),
                e.hint().map(str::to_string),
            ),
        }
    }
    if !any {
        add(
            Severity::Warn,
            "no Claude Code settings found".into(),
            Some(setup_cmd),
        );
    }
    let broken = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(ExitCode::from(if broken { 1 } else { 0 }))
}
