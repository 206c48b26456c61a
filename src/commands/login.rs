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
    if !args.force {
        drop_rejected(&ctx, &req.chain)?;
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

/// Claude Code runs `awsAuthRefresh` after Bedrock rejected the credentials `export` gave
/// it: cached credentials AWS no longer accepts (a revoked session) are checked with one
/// GetCallerIdentity and dropped, so the next step fetches new ones. A permission answer
/// (`AccessDenied`) is no stale credential and drops nothing.
fn drop_rejected(ctx: &crate::source::Context<'_>, chain: &crate::config::Chain) -> Result<()> {
    let Some(cached) = ctx
        .cache
        .get::<crate::credentials::CachedCredentials>(&source::final_key(chain))?
    else {
        return Ok(());
    };
    if cached.credentials.session_token.is_none() {
        // Long-term keys: nothing cached to drop.
        return Ok(());
    }
    ctx.net.ready()?;
    let region = source::role::region(chain);
    let answer = crate::sts::call(
        ctx.net,
        region,
        Some((&cached.credentials, ctx.clock.now())),
        "GetCallerIdentity",
        &[],
    );
    if let Err(f) = answer
        && f.error.is_rejected_credentials()
    {
        Sink::Stdout.line("AWS no longer accepts the cached credentials; fetching new ones.");
        for key in source::step_keys(chain) {
            ctx.cache.delete(&key)?;
        }
    }
    Ok(())
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

/// `awscred logout --all`: signs out of every sign-in the AWS files use, deletes the
/// credentials of every profile in every store that opens on this machine, and empties
/// the file store (registrations and tokens of profiles since removed included).
pub fn logout_all(services: &Services) -> Result<ExitCode> {
    let chains = super::clear::every_chain(services);
    let mut signed_out: Vec<&crate::config::Base> = Vec::new();
    for chain in &chains {
        let Some(sign_in) = source::of(&chain.base).sign_in() else {
            continue;
        };
        if signed_out.iter().any(|b| sign_in.shared_by(b)) {
            continue;
        }
        signed_out.push(&chain.base);
        let req = services.request(&chain.profile)?;
        let ctx = req.context(LoginPolicy::silent());
        let bases: Vec<&crate::config::Base> = chains
            .iter()
            .filter(|c| sign_in.shared_by(&c.base))
            .map(|c| &c.base)
            .collect();
        Sink::Stderr.line(&sign_in.sign_out(&ctx, &bases)?);
    }
    let keys = source::credential_keys(&chains);
    let mut stores = 0;
    for choice in crate::store::StoreChoice::ALL {
        let Ok(cache) = services.cache(*choice) else {
            continue;
        };
        if cache.store().ready().is_err() {
            // Opened on first use and unreachable (the Secret Service): skipped like a store
            // that does not open, its kernel keyring copies deleted all the same.
            let _ = cache.store().prune(&|_| true);
            continue;
        }
        stores += 1;
        for key in &keys {
            cache.delete(key)?;
        }
        // Stores that can list their entries (the file store) are emptied.
        cache.store().prune(&|_| true)?;
    }
    Sink::Stderr.line(&format!(
        "Deleted the cached credentials of {} profiles in {stores} stores.",
        chains.len()
    ));
    Ok(ExitCode::SUCCESS)
}
