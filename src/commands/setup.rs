//! `awscred setup claude` and `awscred setup aws-profile`.

use crate::claude::{self, Setup};
use crate::cli::{SetupAwsProfileArgs, SetupClaudeArgs};
use crate::clock::{Clock, SystemClock};
use crate::config::{self, AwsFiles, edit};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::safe_write::{self, Backups, MODE_PRIVATE, MODE_SHARED, Place};
use crate::ui::Sink;
use std::path::PathBuf;
use std::process::ExitCode;

/// How Claude Code and AWS config should call awscred: `awscred` when that name on PATH
/// is this binary, else this binary's full path.
pub fn awscred_command(env: &Environment) -> String {
    let Ok(me) = std::env::current_exe() else {
        return "awscred".into();
    };
    let me_real = fs_err::canonicalize(&me).unwrap_or_else(|_| me.clone());
    let exe_name = if cfg!(windows) {
        "awscred.exe"
    } else {
        "awscred"
    };
    if let Some(path) = env.get("PATH") {
        for dir in std::env::split_paths(path) {
            let candidate = dir.join(exe_name);
            if fs_err::canonicalize(&candidate).is_ok_and(|c| c == me_real) {
                return "awscred".into();
            }
        }
    }
    me.to_string_lossy().into_owned()
}

/// Replaces the file, keeping a private copy of `old` in awscred's state directory.
fn write_with_backup(
    env: &Environment,
    place: &Place,
    old: Option<&str>,
    new: &str,
    new_mode: u32,
) -> Result<Option<PathBuf>> {
    let dir = env.state_dir().ok_or_else(|| {
        Error::user("cannot find a directory for backups: no home directory").with_hint("set HOME")
    })?;
    safe_write::write_with_backup(
        place,
        old.map(str::as_bytes),
        new.as_bytes(),
        new_mode,
        &Backups::new(dir),
        SystemClock.now(),
    )
}

/// `awscred setup claude`.
pub fn claude(env: &Environment, profile: &str, args: &SetupClaudeArgs) -> Result<ExitCode> {
    // The profile must resolve, or Claude Code would run a command that cannot work.
    let files = AwsFiles::load(env)?;
    let chain = config::resolve::resolve(&files, profile, env)?;
    let region = args
        .region
        .clone()
        .or_else(|| chain.settings.region.clone())
        .ok_or_else(|| {
            Error::user(format!(
                "no region for Claude Code: profile `{profile}` has none and AWS_REGION is unset"
            ))
            .with_hint(format!(
                "run awscred setup claude --profile {profile} --region us-east-1"
            ))
        })?;
    let exe = awscred_command(env);
    let windows = cfg!(windows);
    let setup = Setup {
        export_command: claude::command_line(&exe, "export", profile, windows),
        refresh_command: claude::command_line(&exe, "login", profile, windows),
        region,
        model: args.model.clone().or_else(|| {
            args.default_models
                .then(|| claude::DEFAULT_MODEL.to_string())
        }),
        small_fast_model: args.small_fast_model.clone().or_else(|| {
            args.default_models
                .then(|| claude::DEFAULT_SMALL_FAST_MODEL.to_string())
        }),
    };
    let cwd = std::env::current_dir()
        .map_err(|e| Error::unexpected("cannot read the current directory").caused_by(&e))?;
    let place = claude::settings_place(
        args.scope,
        env.home().as_deref(),
        env.get("CLAUDE_CONFIG_DIR"),
        &cwd,
    );
    let path = place.path();
    let old = safe_write::read(&place)?;
    let (new, changes) = claude::merge(old.as_deref(), &path, &setup)?;
    let out = Sink::Stdout;
    if changes.is_empty() {
        out.line(&format!(
            "{} already uses awscred for profile {profile}; nothing to change.",
            path.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    out.line(&format!(
        "{}{}:",
        if args.dry_run {
            "Would change "
        } else {
            "Changing "
        },
        path.display()
    ));
    for c in &changes {
        out.line(&format!("  {c}"));
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let backup = write_with_backup(env, &place, old.as_deref(), &new, MODE_SHARED)?;
    if let Some(b) = backup {
        out.line(&format!("The previous file is kept as {}.", b.display()));
    }
    out.line(&format!(
        "Claude Code will run `{}` for credentials.",
        setup.export_command
    ));
    Ok(ExitCode::SUCCESS)
}

/// `awscred setup aws-profile NAME --profile P`.
pub fn aws_profile(
    env: &Environment,
    profile: &str,
    args: &SetupAwsProfileArgs,
) -> Result<ExitCode> {
    if args.name == profile {
        return Err(Error::user(format!(
            "profile `{profile}` cannot run awscred for itself: awscred reads its sso_* or role settings"
        ))
        .with_hint(format!("run awscred setup aws-profile {profile}-cli --profile {profile}")));
    }
    let files = AwsFiles::load(env)?;
    config::resolve::resolve(&files, profile, env)?;
    let path = env.config_file();
    let place = Place::Own(path.clone());
    let old = safe_write::read(&place)?.unwrap_or_default();
    let value = claude::command_line(&awscred_command(env), "process", profile, cfg!(windows));
    let Some(new) = edit::set_profile_key(&old, &args.name, "credential_process", &value) else {
        Sink::Stdout.line(&format!(
            "[profile {}] in {} already runs awscred; nothing to change.",
            args.name,
            path.display()
        ));
        return Ok(ExitCode::SUCCESS);
    };
    let out = Sink::Stdout;
    if args.dry_run {
        out.line(&format!(
            "Would set in [profile {}] of {}:",
            args.name,
            path.display()
        ));
        out.line(&format!("  credential_process = {value}"));
        return Ok(ExitCode::SUCCESS);
    }
    // The config may hold secrets (an SSO client secret, static keys), so a new one is
    // private.
    let backup = write_with_backup(
        env,
        &place,
        (!old.is_empty()).then_some(old.as_str()),
        &new,
        MODE_PRIVATE,
    )?;
    out.line(&format!(
        "Set credential_process = {value} in [profile {}] of {}.",
        args.name,
        path.display()
    ));
    if let Some(b) = backup {
        out.line(&format!("The previous file is kept as {}.", b.display()));
    }
    Ok(ExitCode::SUCCESS)
}
