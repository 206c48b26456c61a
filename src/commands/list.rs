//! `awscred list`: every profile, its source, sign-in state and credentials' expiry, from
//! the cache only (no request, no sign-in); and the profile names shell completion offers.

use crate::clock::{Clock, format_expiration};
use crate::config::{AwsFiles, parse::SectionKind, resolve};
use crate::credentials::CachedCredentials;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::services::Services;
use crate::source::{self, LoginPolicy, SignInState};
use crate::ui;
use serde::Serialize;
use std::process::ExitCode;

/// Every profile name of the AWS files, sorted, each once.
pub fn names(files: &AwsFiles) -> Vec<String> {
    let mut names: Vec<String> = files
        .config
        .names(SectionKind::Profile)
        .chain(files.credentials.names(SectionKind::Profile))
        .map(str::to_string)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Profile names for shell completion: read from the files the environment points at;
/// nothing when they cannot be read.
pub fn candidates() -> Vec<clap_complete::engine::CompletionCandidate> {
    AwsFiles::load(&Environment::from_process())
        .map(|f| names(&f))
        .unwrap_or_default()
        .into_iter()
        .map(clap_complete::engine::CompletionCandidate::new)
        .collect()
}

/// One row of `list`.
#[derive(Debug, Serialize)]
struct Row {
    profile: String,
    /// `sso`, `oidc`, `static`, `environment`, `instance-metadata`, `container`,
    /// `web-identity`, or `error` for a profile that does not resolve.
    source: &'static str,
    description: String,
    /// `signed-in`, `expired`, `refreshable`, `signed-out`, or `none` (no sign-in).
    sign_in: &'static str,
    sign_in_until: Option<String>,
    credentials_until: Option<String>,
    /// Why the profile does not resolve (never a value from the file).
    error: Option<String>,
}

/// `awscred list`.
pub fn run(services: &Services, as_json: bool, names_only: bool) -> Result<ExitCode> {
    services.files.validate()?;
    let all = names(&services.files);
    if names_only {
        let mut text = all.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = services.clock.now();
    let mut rows = Vec::with_capacity(all.len());
    for name in &all {
        let chain = match resolve::resolve(&services.files, name, &services.env) {
            Ok(c) => c,
            Err(e) => {
                rows.push(Row {
                    profile: name.clone(),
                    source: "error",
                    description: String::new(),
                    sign_in: "none",
                    sign_in_until: None,
                    credentials_until: None,
                    error: Some(e.to_string()),
                });
                continue;
            }
        };
        let req = services.request(name)?;
        let ctx = req.context(LoginPolicy::silent());
        let (sign_in, sign_in_until) = match source::of(&chain.base).sign_in() {
            None => ("none", None),
            Some(s) => match s.state(&ctx)? {
                SignInState::Valid { until, .. } => ("signed-in", Some(format_expiration(until))),
                SignInState::Expired { refreshable: true } => ("refreshable", None),
                SignInState::Expired { refreshable: false } => ("expired", None),
                SignInState::None => ("signed-out", None),
            },
        };
        let credentials_until = req
            .cache
            .get::<CachedCredentials>(&source::final_key(&chain))?
            .and_then(|c| c.credentials.expiration)
            .filter(|e| *e > now)
            .map(format_expiration);
        rows.push(Row {
            profile: name.clone(),
            source: source::of(&chain.base).kind(),
            description: source::describe(&chain),
            sign_in,
            sign_in_until,
            credentials_until,
            error: None,
        });
    }
    let text = if as_json {
        let mut t = serde_json::to_string_pretty(&rows)
            .map_err(|e| Error::unexpected("cannot encode the list").caused_by(&e))?;
        t.push('\n');
        t
    } else {
        let width = rows
            .iter()
            .map(|r| r.profile.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let mut t = format!(
            "{:width$}  {:18}  {:30}  {}\n",
            "PROFILE", "SOURCE", "SIGN-IN", "CREDENTIALS"
        );
        for r in &rows {
            let sign_in = match &r.sign_in_until {
                Some(u) => format!("{} until {u}", r.sign_in),
                None => r.sign_in.to_string(),
            };
            let creds = match (&r.error, &r.credentials_until) {
                (Some(e), _) => crate::remote::text(e),
                (None, Some(u)) => format!("until {u}"),
                (None, None) => "none cached".to_string(),
            };
            t.push_str(&format!(
                "{:width$}  {:18}  {:30}  {}\n",
                crate::remote::text(&r.profile),
                r.source,
                sign_in,
                creds
            ));
        }
        t
    };
    ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    Ok(ExitCode::SUCCESS)
}
