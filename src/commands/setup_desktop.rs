//! `awscred setup claude-desktop`: Claude Desktop (third-party inference on Bedrock) gets
//! its Bedrock API keys from `awscred bedrock-token` through a launcher beside its
//! configuration, or from managed preferences an administrator rolls out.

use crate::claude::desktop::{self, Platform};
use crate::cli::{DesktopPlatform, SetupClaudeDesktopArgs};
use crate::clock::{Clock, SystemClock};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::safe_write::{self, Backups, MODE_PRIVATE, Place};
use crate::ui::Sink;
use std::path::PathBuf;
use std::process::ExitCode;

/// Mode of the launcher: only its owner runs or changes it.
const MODE_LAUNCHER: u32 = 0o700;

fn platform(p: DesktopPlatform) -> Platform {
    match p {
        DesktopPlatform::Macos => Platform::Macos,
        DesktopPlatform::Windows => Platform::Windows,
    }
}

/// This awscred's absolute path, as Claude Desktop (which has no useful PATH) must run it:
/// the `PATH` entry that is this binary when there is one (a package manager's link, which
/// survives upgrades), else the path this process was started from.
fn this_exe(env: &Environment) -> Result<String> {
    let me = std::env::current_exe()
        .map_err(|e| Error::unexpected("cannot find awscred's own path").caused_by(&e))?;
    let me = if me.is_absolute() {
        me
    } else {
        std::env::current_dir()
            .map_err(|e| Error::unexpected("cannot read the current directory").caused_by(&e))?
            .join(me)
    };
    let real = fs_err::canonicalize(&me).unwrap_or_else(|_| me.clone());
    let name = if cfg!(windows) {
        "awscred.exe"
    } else {
        "awscred"
    };
    if let Some(path) = env.get("PATH") {
        for dir in std::env::split_paths(path).filter(|d| d.is_absolute()) {
            let candidate = dir.join(name);
            if fs_err::canonicalize(&candidate).is_ok_and(|c| c == real) {
                return Ok(candidate.to_string_lossy().into_owned());
            }
        }
    }
    Ok(me.to_string_lossy().into_owned())
}

fn unsafe_value(profile: &str) -> Error {
    Error::user(format!(
        "the awscred path, profile `{}` or region cannot be written into a launcher safely (a quote, % or control character)",
        crate::remote::text(profile)
    ))
    .with_hint("use a profile name of letters, digits and - _ . and install awscred in a plain directory")
}

/// `awscred setup claude-desktop`.
pub fn run(env: &Environment, profile: &str, args: &SetupClaudeDesktopArgs) -> Result<ExitCode> {
    // The profile must resolve, or Claude Desktop would run a launcher that cannot work.
    let region = super::setup::region(
        env,
        profile,
        args.region.as_deref(),
        "Claude Desktop",
        "claude-desktop",
    )?;
    let platforms = match (args.platform, Platform::this()) {
        (Some(p), _) => vec![platform(p)],
        (None, Some(p)) => vec![p],
        (None, None) if args.dry_run || args.managed => vec![Platform::Macos, Platform::Windows],
        (None, None) => {
            return Err(Error::user(
                "Claude Desktop has no Linux version, so there is nothing to configure on this machine",
            )
            .with_hint(format!(
                "see what would be written with awscred setup claude-desktop --profile {profile} --dry-run, print a managed roll-out with --managed --platform macos (or windows), or write a macOS or Windows home here with --platform"
            )));
        }
    };
    let exe = this_exe(env)?;
    for p in platforms {
        if args.managed {
            managed(p, &exe, profile, &region)?;
        } else {
            user(env, p, &exe, profile, &region, args.dry_run)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the managed-preferences file on stdout and the launcher to install on stderr.
fn managed(p: Platform, exe: &str, profile: &str, region: &str) -> Result<()> {
    let helper = desktop::managed_launcher(p);
    let text =
        desktop::launcher(p, exe, profile, region, None).ok_or_else(|| unsafe_value(profile))?;
    let keys = desktop::keys(region, helper);
    let file = match p {
        Platform::Macos => desktop::mobileconfig(&keys),
        Platform::Windows => desktop::reg(&keys),
    };
    let err = Sink::Stderr;
    err.line(&format!(
        "Managed preferences for Claude Desktop on {} on stdout ({}). Install this launcher at {} on every machine (with awscred at {exe}, or change that path), readable and executable by its users:",
        p.name(),
        match p {
            Platform::Macos => "a .mobileconfig for your device management",
            Platform::Windows => "a .reg for HKEY_CURRENT_USER; Group Policy can set the same values",
        },
        helper
    ));
    for line in text.lines() {
        err.line(&format!("  {line}"));
    }
    crate::ui::data(&file).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))
}

/// Writes (or, with `dry_run`, shows) the launcher and the user's configuration.
fn user(
    env: &Environment,
    p: Platform,
    exe: &str,
    profile: &str,
    region: &str,
    dry_run: bool,
) -> Result<()> {
    let home = env.home().ok_or_else(|| {
        Error::user("cannot find Claude Desktop's configuration: no home directory")
            .with_hint("set HOME")
    })?;
    let dir = desktop::config_dir(p, &home, env.get("APPDATA"));
    let config_place = Place::Own(dir.join(desktop::CONFIG_FILE));
    let launcher_path = dir.join(desktop::launcher_name(p));
    let launcher_place = Place::Own(launcher_path.clone());
    let old = safe_write::read(&config_place)?;
    let ttl = desktop::configured_ttl(old.as_deref());
    let text =
        desktop::launcher(p, exe, profile, region, ttl).ok_or_else(|| unsafe_value(profile))?;
    let helper = launcher_path.to_string_lossy().into_owned();
    let merged = desktop::merge(
        old.as_deref(),
        &config_place.path(),
        &desktop::keys(region, &helper),
    )?;
    let old_launcher = safe_write::read(&launcher_place)?;
    let out = Sink::Stdout;
    let verb = |would: &str, does: &str| if dry_run { would } else { does }.to_string();
    out.line(&format!("Claude Desktop on {}:", p.name()));
    if old_launcher.as_deref() == Some(text.as_str()) {
        out.line(&format!("  {} is up to date.", launcher_path.display()));
    } else {
        out.line(&format!(
            "  {} {} (mode 0700):",
            verb("Would write", "Writing"),
            launcher_path.display()
        ));
        for line in text.lines() {
            out.line(&format!("    {line}"));
        }
    }
    if merged.changes.is_empty() {
        out.line(&format!(
            "  {} already runs awscred for profile {profile}; nothing to change.",
            config_place.path().display()
        ));
    } else {
        out.line(&format!(
            "  {} {}:",
            verb("Would change", "Changing"),
            config_place.path().display()
        ));
        for c in &merged.changes {
            out.line(&format!("    {c}"));
        }
        if merged.rewritten {
            out.line(&format!(
                "  {} has repeated keys, so it {} rewritten whole (the last of each repeated key kept).",
                config_place.path().display(),
                verb("would be", "is")
            ));
        }
    }
    if dry_run {
        return Ok(());
    }
    let backups = Backups::new(env.state_dir().ok_or_else(|| {
        Error::user("cannot find a directory for backups: no home directory").with_hint("set HOME")
    })?);
    if old_launcher.as_deref() != Some(text.as_str()) {
        write(
            &launcher_place,
            old_launcher.as_deref(),
            &text,
            MODE_LAUNCHER,
            &backups,
        )?;
    }
    if !merged.changes.is_empty() {
        // The file may hold a bearer token or other secrets of Desktop's: a new one is private.
        write(
            &config_place,
            old.as_deref(),
            &merged.text,
            MODE_PRIVATE,
            &backups,
        )?;
    }
    out.line(
        "Quit Claude Desktop completely and open it again: it reads its configuration at start. Managed preferences, where an administrator set them, win over this file.",
    );
    Ok(())
}

fn write(
    place: &Place,
    old: Option<&str>,
    new: &str,
    mode: u32,
    backups: &Backups,
) -> Result<Option<PathBuf>> {
    let kept = safe_write::write_with_backup(
        place,
        old.map(str::as_bytes),
        new.as_bytes(),
        mode,
        backups,
        SystemClock.now(),
    )?;
    if let Some(b) = &kept {
        Sink::Stdout.line(&format!(
            "  The previous {} is kept as {}.",
            place.path().display(),
            b.display()
        ));
    }
    Ok(kept)
}
