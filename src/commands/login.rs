//! `awscred login` (Claude Code's `awsAuthRefresh`) and `awscred logout`, for every source
//! through its [`SignIn`](crate::source::SignIn): no command knows which sources exist.

use crate::cli::LoginArgs;
use crate::clock::format_expiration;
use crate::config::LoginFlow;
use crate::error::Result;
use crate::services::Services;
use crate::source::{self, LOGIN_TIMEOUT_ATTENDED, LOGIN_TIMEOUT_UNATTENDED, LoginPolicy};
use crate::ui::{self, Sink};
use std::process::ExitCode;
use std::time::Duration;

/// `awscred login`: signs in where the profile's source needs it (again with `--force`),
/// then makes sure its credentials are ready. Instructions go to stdout, which Claude Code
/// shows.
pub fn login(services: &Services, profile: &str, args: &LoginArgs) -> Result<ExitCode> {
    let req = services.request(profile)?;
    let timeout = args
        .timeout
        .map(Duration::from_secs)
        .unwrap_or(if ui::stdout_is_terminal() {
            LOGIN_TIMEOUT_ATTENDED
        } else {
            LOGIN_TIMEOUT_UNATTENDED
        });
    let flow = if args.device_code {
        LoginFlow::Device
    } else if args.browser {
        LoginFlow::Browser
    } else {
        req.chain.settings.login
    };
    let ctx = req.context(LoginPolicy {
        allowed: true,
        attended: true,
        can_prompt: ui::can_prompt(),
        flow,
        open_browser: !args.no_browser,
        redirect_port: req.chain.settings.redirect_port,
        sink: Sink::Stdout,
        timeout,
        force: args.force,
    });
    if let Some(sign_in) = source::of(&req.chain.base).sign_in() {
        let reused = sign_in.ensure(&ctx)?;
        if let Some(until) = reused {
            Sink::Stdout.line(&format!(
                "Already signed in to {} until {}.",
                sign_in.name(),
                format_expiration(until)
            ));
        }
        if args.force {
            // A new sign-in (perhaps as someone else): the credentials minted from the old
            // one go, here and in every profile on the same sign-in.
            let sharing = source::sharing(&services.files, &services.env, &req.chain, sign_in);
            for key in source::credential_keys(&sharing) {
                ctx.cache.delete(&key)?;
            }
        }
    }
    let creds = source::credentials(&ctx, &req.chain)?;
    let until = creds
        .credentials
        .expiration
        .map(|e| format!("valid until {}", format_expiration(e)))
        .unwrap_or_else(|| "long-term keys".to_string());
    Sink::Stdout.line(&format!(
        "Credentials for profile {profile} are ready ({until})."
    ));
    Ok(ExitCode::SUCCESS)
}

/// `awscred logout`: deletes the profile's credentials; where its source signs in, signs
/// out and deletes the credentials of every profile on that sign-in.
pub fn logout(services: &Services, profile: &str) -> Result<ExitCode> {
    let req = services.request(profile)?;
    let ctx = req.context(LoginPolicy::silent());
    for key in source::step_keys(&req.chain) {
        ctx.cache.delete(&key)?;
    }
    if let Some(sign_in) = source::of(&req.chain.base).sign_in() {
        let sharing = source::sharing(&services.files, &services.env, &req.chain, sign_in);
        let keys = source::credential_keys(&sharing);
        for key in &keys {
            ctx.cache.delete(key)?;
        }
        crate::log::debug(&format!(
            "deleted {} cached credential entries of {} profiles",
            keys.len(),
            sharing.len()
        ));
        let bases: Vec<&crate::config::Base> = sharing.iter().map(|c| &c.base).collect();
        Sink::Stderr.line(&sign_in.sign_out(&ctx, &bases)?);
    }
    Ok(ExitCode::SUCCESS)
}
