//! Dispatch: turns a parsed command line into work and an exit status.
//!
//! The process's [`Services`] are built once; each command in [`commands`] takes them and
//! returns an exit status. Errors are printed once, here, as `error:` / `caused by:` /
//! `hint:` on stderr.

use crate::cli::{Cli, Command, SetupCommand, SsoCommand};
use crate::commands;
use crate::config;
use crate::env::{self, Environment};
use crate::error::{Error, Result};
use crate::log::{self, Level};
use crate::output;
use crate::services::Services;
use crate::ui::{self, Sink};
use clap::Parser;
use std::ffi::OsString;
use std::process::ExitCode;

/// The variable the completion scripts set when they ask awscred for candidates.
pub const COMPLETE_VAR: &str = "AWSCRED_COMPLETE";

/// Runs awscred with these arguments and returns the exit status.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    crate::hardening::apply();
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(code) = complete(&args) {
        return code;
    }
    if args.len() <= 1 {
        // Claude Desktop runs its credential helper with no arguments (Windows setup).
        let env = Environment::from_process();
        if commands::setup_desktop::is_helper_run(args.len(), &env) {
            log::set_level(
                env.get(env::AWSCRED_LOG)
                    .and_then(Level::parse)
                    .unwrap_or(Level::Warn),
            );
            return finish(commands::setup_desktop::helper(&env));
        }
    }
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
    finish(dispatch(cli, env))
}

/// The exit status of a run; its error, if any, printed once on stderr.
fn finish(result: Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            Sink::Stderr.line(e.report().trim_end());
            ExitCode::from(e.exit_code())
        }
    }
}

/// Answers a completion script's request (`AWSCRED_COMPLETE=<shell> awscred -- WORDS…`):
/// candidates for the word being typed, profile names included. `None` for a normal run.
fn complete(args: &[OsString]) -> Option<ExitCode> {
    let shell = std::env::var(COMPLETE_VAR).ok().filter(|s| !s.is_empty())?;
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells.completer(&shell)?;
    let words: Vec<OsString> = args
        .iter()
        .skip_while(|a| *a != "--")
        .skip(1)
        .cloned()
        .collect();
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut out = Vec::new();
    let current_dir = std::env::current_dir().ok();
    if completer
        .write_complete(&mut cmd, words, current_dir.as_deref(), &mut out)
        .is_err()
    {
        return Some(ExitCode::from(1));
    }
    let _ = ui::data(&String::from_utf8_lossy(&out));
    Some(ExitCode::SUCCESS)
}

fn dispatch(cli: Cli, env: Environment) -> Result<ExitCode> {
    let profile = config::resolve::profile_name(cli.profile.as_deref(), &env);
    let cli_profile = cli.profile;
    match cli.command {
        Command::Export(a) => commands::credentials::print(
            &Services::new(&env)?,
            &profile,
            output::Format::Export,
            a.refresh,
        ),
        Command::Process(a) => commands::credentials::print(
            &Services::new(&env)?,
            &profile,
            output::Format::Process,
            a.refresh,
        ),
        Command::Login(args) => commands::login::login(&Services::new(&env)?, &profile, &args),
        Command::Logout(a) if a.all => commands::login::logout_all(&Services::new(&env)?),
        Command::Logout(_) => commands::login::logout(&Services::new(&env)?, &profile),
        Command::Clear(a) => commands::clear::run(&Services::new(&env)?, &profile, a.all),
        Command::List(a) => commands::list::run(&Services::new(&env)?, a.json, a.names),
        Command::Status(args) => commands::status::run(&Services::new(&env)?, &profile, args.json),
        Command::OtelHeaders => commands::otel_headers::run(&Services::new(&env)?, &profile),
        Command::Doctor(args) => commands::doctor::run(&env, &profile, args.invoke),
        Command::Exec(args) => {
            let profile = match (&cli_profile, args.profile.clone()) {
                (Some(flag), Some(positional)) if *flag != positional => {
                    return Err(Error::user(format!(
                        "two profiles given: --profile {flag} and {positional}"
                    ))
                    .with_hint("name the profile once"));
                }
                (_, Some(positional)) => positional,
                (_, None) => profile,
            };
            if args.server {
                return commands::serve::exec(&Services::new(&env)?, &profile, args);
            }
            let opts = commands::shell::Options {
                refresh: args.refresh,
                duration: args.duration,
                region: args.region,
                bedrock_token: args.bedrock_token,
            };
            commands::shell::exec(
                &Services::new(&env)?,
                &profile,
                args.command,
                &opts,
                args.nested,
            )
        }
        Command::Env(args) => {
            commands::shell::env(&Services::new(&env)?, &profile, args.format, args.refresh)
        }
        Command::BedrockToken(args) => {
            commands::bedrock::run(&Services::new(&env)?, &profile, &args)
        }
        Command::Serve(args) => commands::serve::serve(&Services::new(&env)?, &profile, &args),
        Command::Setup(SetupCommand::Claude(args)) => {
            commands::setup::claude(&env, &profile, &args)
        }
        Command::Completions { shell } => {
            let shells = clap_complete::env::Shells::builtins();
            let completer = shells
                .completer(&shell.to_string())
                .ok_or_else(|| Error::unexpected(format!("no completion for {shell}")))?;
            let mut out = Vec::new();
            completer
                .write_registration(COMPLETE_VAR, "awscred", "awscred", "awscred", &mut out)
                .map_err(|e| {
                    Error::unexpected("cannot write the completion script").caused_by(&e)
                })?;
            ui::data(&String::from_utf8_lossy(&out))
                .map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            ui::data(&commands::man::render()?)
                .map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Setup(SetupCommand::AwsProfile(args)) => {
            commands::setup::aws_profile(&env, &profile, &args)
        }
        Command::Console(args) => commands::console::run(&Services::new(&env)?, &profile, &args),
        Command::Sso(SsoCommand::List(args)) => {
            commands::sso::list(&Services::new(&env)?, &profile, &args)
        }
        Command::Sso(SsoCommand::Populate(args)) => {
            commands::sso::populate(&Services::new(&env)?, &args)
        }
        Command::Setup(SetupCommand::ClaudeDesktop(args)) => {
            commands::setup_desktop::run(&env, &profile, &args)
        }
    }
}
