//! Dispatch: turns a parsed command line into work and an exit status.
//!
//! The process's [`Services`] are built once; each command in [`commands`] takes them and
//! returns an exit status. Errors are printed once, here, as `error:` / `caused by:` /
//! `hint:` on stderr.

use crate::cli::{Cli, Command, SetupCommand};
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
        Command::Export => {
            commands::credentials::print(&Services::new(&env)?, &profile, output::Format::Export)
        }
        Command::Process => {
            commands::credentials::print(&Services::new(&env)?, &profile, output::Format::Process)
        }
        Command::Login(args) => commands::login::login(&Services::new(&env)?, &profile, &args),
        Command::Logout => commands::login::logout(&Services::new(&env)?, &profile),
        Command::Status(args) => commands::status::run(&Services::new(&env)?, &profile, args.json),
        Command::Doctor => commands::doctor::run(&env, &profile),
        Command::Exec(args) if args.server => {
            commands::serve::exec(&Services::new(&env)?, &profile, args)
        }
        Command::Exec(args) => commands::shell::exec(&Services::new(&env)?, &profile, args.command),
        Command::Serve(args) => commands::serve::serve(&Services::new(&env)?, &profile, &args),
        Command::Env(args) => commands::shell::env(&Services::new(&env)?, &profile, args.format),
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
