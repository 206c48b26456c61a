//! Dispatch: turns a parsed command line into work and an exit status.
//!
//! Each command builds an [`Invocation`] (environment, files, chain, cache, locks, clock),
//! runs, and returns an exit status. Errors are printed once, here, as `error:` /
//! `caused by:` / `hint:` on stderr.

use crate::cache::{self, Cache};
use crate::cli::{Cli, Command, LoginArgs, SetupCommand};
use crate::clock::{Clock, SystemClock, format_expiration};
use crate::commands;
use crate::config::{self, AwsFiles, Chain, LoginFlow};
use crate::env::{self, Environment};
use crate::error::{Error, Result};
use crate::lock::Locks;
use crate::log::{self, Level};
use crate::net::Net;
use crate::source::{self, Context, LoginPolicy, sso};
use crate::ui::{self, Sink};
use crate::{output, store};
use chrono::{DateTime, Utc};
use clap::Parser;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

/// How long `awscred login` may take when no terminal is attached (Claude Code kills
/// `awsAuthRefresh` after 3 minutes).
pub const LOGIN_TIMEOUT_UNATTENDED: Duration = Duration::from_secs(170);
/// How long a sign-in may take with a terminal attached (the device code's usual lifetime).
pub const LOGIN_TIMEOUT_ATTENDED: Duration = Duration::from_secs(600);
/// How long a non-interactive command waits for a peer's sign-in.
pub const PEER_WAIT: Duration = Duration::from_secs(120);

/// Runs awscred with these arguments and returns the exit status.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::hardening::apply();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let env = Environment::from_process();
    let level = if cli.verbose {
        Level::Debug
    } else {
        env.get(env::AWSCRED_LOG)
            .and_then(Level::parse)
            .unwrap_or(Level::Warn)
    };
    log::set_level(level);
    match dispatch(cli, env) {
        Ok(code) => code,
        Err(e) => {
            Sink::Stderr.line(e.report().trim_end());
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: Cli, env: Environment) -> Result<ExitCode> {
    let profile = config::resolve::profile_name(cli.profile.as_deref(), &env);
    match cli.command {
        Command::Export => print_credentials(&env, &profile, true, output::export_json),
        Command::Process => print_credentials(&env, &profile, false, output::process_json),
        Command::Login(args) => login(&env, &profile, &args),
        Command::Logout => logout(&env, &profile),
        Command::Status(args) => commands::status::run(&env, &profile, args.json),
        Command::Doctor => commands::doctor::run(&env, &profile),
        Command::Exec(args) => commands::shell::exec(&env, &profile, args.command),
        Command::Env(args) => commands::shell::env(&env, &profile, args.format),
        Command::Setup(SetupCommand::Claude(args)) => {
            commands::setup::claude(&env, &profile, &args)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "awscred", &mut out);
            ui::data(&String::from_utf8_lossy(&out))
                .map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Error::unexpected("cannot render the man page").caused_by(&e))?;
            ui::data(&String::from_utf8_lossy(&out))
                .map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Setup(SetupCommand::AwsProfile(args)) => {
            commands::setup::aws_profile(&env, &profile, &args)
        }
    }
}

/// What one command works with.
pub(crate) struct Invocation {
    pub(crate) env: Environment,
    pub(crate) files: AwsFiles,
    pub(crate) chain: Chain,
    pub(crate) cache: Cache,
    pub(crate) locks: Locks,
    pub(crate) net: Net,
    pub(crate) clock: SystemClock,
    pub(crate) started: DateTime<Utc>,
}

impl Invocation {
    pub(crate) fn new(env: &Environment, profile: &str) -> Result<Self> {
        let clock = SystemClock;
        let started = clock.now();
        let files = AwsFiles::load(env)?;
        let chain = config::resolve::resolve(&files, profile, env)?;
        let store = store::open(chain.settings.store, env)?;
        Ok(Self {
            env: env.clone(),
            files,
            cache: Cache::new(store),
            locks: Locks::new(env.cache_dir()?.join("locks")),
            net: Net::new(env.clone()).with_ca_bundle(chain.settings.ca_bundle.clone()),
            clock,
            started,
            chain,
        })
    }

    pub(crate) fn context(&self, login: LoginPolicy) -> Context<'_> {
        Context {
            env: &self.env,
            clock: &self.clock,
            cache: &self.cache,
            locks: &self.locks,
            net: &self.net,
            login,
            started: self.started,
            profile: &self.chain.profile,
        }
    }
}

/// The sign-in rules of commands that print or pass on credentials: a person at a
/// terminal can do any sign-in; under Claude Code or an SDK nobody sees a prompt, so only a
/// browser sign-in (where a browser can open) may run, bounded.
pub(crate) fn credentials_policy(inv: &Invocation) -> LoginPolicy {
    let attended = ui::stderr_is_terminal();
    let settings = &inv.chain.settings;
    LoginPolicy {
        allowed: true,
        attended,
        can_prompt: ui::can_prompt(),
        flow: settings.login,
        open_browser: true,
        redirect_port: settings.redirect_port,
        sink: Sink::Stderr,
        timeout: if attended {
            LOGIN_TIMEOUT_ATTENDED
        } else {
            settings.login_timeout
        },
        force: false,
    }
}

/// The rules of commands that must never sign in (status, doctor, logout).
pub(crate) fn silent_policy() -> LoginPolicy {
    LoginPolicy {
        allowed: false,
        attended: false,
        can_prompt: false,
        flow: LoginFlow::Auto,
        open_browser: false,
        redirect_port: 0,
        sink: Sink::Stderr,
        timeout: PEER_WAIT,
        force: false,
    }
}

fn print_credentials(
    env: &Environment,
    profile: &str,
    need_session_token: bool,
    format: fn(&crate::credentials::Credentials) -> Result<String>,
) -> Result<ExitCode> {
    let inv = Invocation::new(env, profile)?;
    let ctx = inv.context(credentials_policy(&inv));
    let creds = if need_session_token {
        source::session_credentials(&ctx, &inv.chain)?
    } else {
        source::credentials(&ctx, &inv.chain)?
    };
    let text = format(&creds.credentials)?;
    ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    Ok(ExitCode::SUCCESS)
}

fn login(env: &Environment, profile: &str, args: &LoginArgs) -> Result<ExitCode> {
    let inv = Invocation::new(env, profile)?;
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
        inv.chain.settings.login
    };
    let ctx = inv.context(LoginPolicy {
        allowed: true,
        attended: true,
        can_prompt: ui::can_prompt(),
        flow,
        open_browser: !args.no_browser,
        redirect_port: inv.chain.settings.redirect_port,
        sink: Sink::Stdout,
        timeout,
        force: args.force,
    });
    if let Some(session) = inv.chain.sso_session() {
        let before = sso::cached_token(&ctx, session)?;
        let token = sso::token(&ctx, session)?;
        let reused = before.is_some_and(|b| b.access_token == token.access_token);
        if reused {
            Sink::Stdout.line(&format!(
                "Already signed in to IAM Identity Center ({}) until {}.",
                session.display_name(),
                format_expiration(token.expires_at)
            ));
        }
    }
    if let config::Base::Oidc(src) = &inv.chain.base
        && args.force
    {
        // A new sign-in (perhaps as someone else): the credentials minted from the old one
        // go, here and in every profile on the same issuer and client.
        source::oidc::id_token(&ctx, src)?;
        let entries = source::oidc::sign_in_entries(&inv.files, env, &inv.chain, src);
        source::oidc::forget_credentials(&ctx, &entries)?;
    }
    let creds = source::credentials(&ctx, &inv.chain)?;
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

fn logout(env: &Environment, profile: &str) -> Result<ExitCode> {
    let inv = Invocation::new(env, profile)?;
    let ctx = inv.context(silent_policy());
    let mut removed = 0;
    inv.cache
        .delete(&cache::keys::credentials(&inv.chain.cache_id()))?;
    if let Some(session) = inv.chain.sso_session() {
        let had_token = sso::logout(&ctx, session)?;
        // Every profile signed in through this session loses its cached credentials too.
        let names: Vec<String> = inv
            .files
            .config
            .names(config::parse::SectionKind::Profile)
            .map(str::to_string)
            .collect();
        for name in names {
            if let Ok(other) = config::resolve::resolve(&inv.files, &name, env)
                && other.sso_session() == Some(session)
            {
                inv.cache
                    .delete(&cache::keys::credentials(&other.cache_id()))?;
                removed += 1;
            }
        }
        Sink::Stderr.line(&if had_token {
            format!(
                "Signed out of IAM Identity Center ({}).",
                session.display_name()
            )
        } else {
            format!(
                "Not signed in to IAM Identity Center ({}).",
                session.display_name()
            )
        });
    }
    if let config::Base::Oidc(src) = &inv.chain.base {
        let entries = source::oidc::sign_in_entries(&inv.files, env, &inv.chain, src);
        removed += entries.credentials.len();
        Sink::Stderr.line(&source::oidc::logout(&ctx, &entries, src)?);
    }
    log::debug(&format!("deleted cached credentials of {removed} profiles"));
    Ok(ExitCode::SUCCESS)
}
