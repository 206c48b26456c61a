//! `awscred setup claude-desktop`: Claude Desktop (third-party inference on Bedrock) gets
//! its Bedrock API keys from `awscred bedrock-token` through a launcher beside its
//! configuration (macOS) or by running awscred itself with no arguments (Windows, see
//! [`helper`]), or from managed preferences an administrator rolls out.

use crate::claude::desktop::{self, Platform};
use crate::cli::{DesktopPlatform, SetupClaudeDesktopArgs};
use crate::clock::{Clock, SystemClock};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::safe_write::{self, Backups, MODE_PRIVATE, MODE_SHARED, Place};
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

/// The program a Scoop shim runs: `NAME.shim` beside the shim `NAME.exe` says
/// `path = "…"`. `None` when the shim also adds arguments (`args = …`), which would end a
/// no-argument run.
fn shim_target(text: &str) -> Option<&str> {
    let mut path = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k.trim() {
            "path" => path = Some(v.trim().trim_matches('"')),
            "args" if !v.trim().is_empty() => return None,
            _ => {}
        }
    }
    path.filter(|p| !p.is_empty())
}

/// This awscred's absolute path, as Claude Desktop (which has no useful PATH) must run it:
/// the `PATH` entry that is this binary when there is one (a package manager's link or
/// Scoop's shim, which survive upgrades), else the path this process was started from.
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
            let shim = safe_write::read(&Place::Own(dir.join("awscred.shim")))
                .ok()
                .flatten();
            if candidate.is_file()
                && shim
                    .as_deref()
                    .and_then(shim_target)
                    .is_some_and(|t| fs_err::canonicalize(t).is_ok_and(|c| c == real))
            {
                return Ok(candidate.to_string_lossy().into_owned());
            }
        }
    }
    Ok(me.to_string_lossy().into_owned())
}

fn unsafe_value(profile: &str) -> Error {
    Error::user(format!(
        "the awscred path, profile `{}` or region cannot be written for Claude Desktop safely (a control character, or a profile name longer than 256 characters)",
        crate::remote::text(profile)
    ))
    .with_hint("use a profile name of letters, digits and - _ . and install awscred in a plain directory")
}

/// What to write for one system: the helper Claude Desktop runs, and the file that makes
/// it work (the macOS launcher, or the Windows [`desktop::HELPER_CONFIG_FILE`]).
struct Helper {
    /// `inferenceCredentialHelper`.
    path: String,
    /// The file beside Claude Desktop's configuration (user setup) and its text.
    file_name: &'static str,
    text: String,
    mode: u32,
}

fn helper_for(
    p: Platform,
    dir: &std::path::Path,
    exe: &str,
    profile: &str,
    region: &str,
    ttl: Option<u64>,
) -> Result<Helper> {
    if exe.chars().any(char::is_control) {
        return Err(unsafe_value(profile));
    }
    Ok(match p {
        Platform::Macos => Helper {
            path: dir
                .join(desktop::LAUNCHER_NAME)
                .to_string_lossy()
                .into_owned(),
            file_name: desktop::LAUNCHER_NAME,
            text: desktop::launcher(exe, profile, region, ttl)
                .ok_or_else(|| unsafe_value(profile))?,
            mode: MODE_LAUNCHER,
        },
        Platform::Windows => Helper {
            path: exe.to_string(),
            file_name: desktop::HELPER_CONFIG_FILE,
            text: desktop::HelperConfig::new(profile, region, ttl)
                .map_err(|_| unsafe_value(profile))?
                .to_json(),
            mode: MODE_SHARED,
        },
    })
}

/// Whether this run is Claude Desktop's: no arguments, and `CLAUDE_HELPER_CONTEXT` set (as
/// Claude Desktop sets it for every run of `inferenceCredentialHelper`).
pub fn is_helper_run(argc: usize, env: &Environment) -> bool {
    argc <= 1 && env.get(crate::env::CLAUDE_HELPER_CONTEXT).is_some()
}

/// awscred run by Claude Desktop as its `inferenceCredentialHelper` (no arguments): `awscred
/// bedrock-token` with the profile, region and ttl `setup claude-desktop` recorded in
/// [`desktop::HELPER_CONFIG_FILE`], the user's first, then the machine's.
pub fn helper(env: &Environment) -> Result<ExitCode> {
    let hint = "run awscred setup claude-desktop --profile PROFILE";
    let paths = desktop::helper_config_paths(
        desktop::helper_platform(),
        env.home().as_deref(),
        env.get("APPDATA"),
        env.get("ProgramData")
            .or(cfg!(windows).then_some(r"C:\ProgramData")),
    );
    for path in &paths {
        let Some(text) = safe_write::read(&Place::Own(path.clone()))? else {
            continue;
        };
        let config = desktop::HelperConfig::parse(&text).map_err(|why| {
            Error::user(format!(
                "{} is not a file awscred can use ({why})",
                path.display()
            ))
            .with_hint(hint)
        })?;
        crate::log::debug(&format!(
            "Claude Desktop's helper: profile {} and region {} from {}",
            crate::remote::text(&config.profile),
            config.region,
            path.display()
        ));
        let services = crate::services::Services::new(env)?;
        return super::bedrock::run(&services, &config.profile, &config.token_args());
    }
    let looked: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Err(Error::user(format!(
        "awscred was run with no arguments by Claude Desktop (CLAUDE_HELPER_CONTEXT is set), but no {} says which profile to use (looked in: {})",
        desktop::HELPER_CONFIG_FILE,
        if looked.is_empty() {
            "nowhere: no home directory".to_string()
        } else {
            looked.join(", ")
        }
    ))
    .with_hint(hint))
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

/// Prints the managed-preferences file on stdout and the file to install on stderr.
fn managed(p: Platform, exe: &str, profile: &str, region: &str) -> Result<()> {
    let (install, dir) = match p {
        Platform::Macos => (
            desktop::MANAGED_LAUNCHER,
            "/Library/Application Support/awscred",
        ),
        Platform::Windows => (desktop::managed_helper_config(p), r"C:\ProgramData\awscred"),
    };
    let helper = helper_for(p, std::path::Path::new(dir), exe, profile, region, None)?;
    let keys = desktop::keys(region, &helper.path);
    let file = match p {
        Platform::Macos => desktop::mobileconfig(&keys),
        Platform::Windows => desktop::reg(&keys),
    };
    let err = Sink::Stderr;
    let what = match p {
        Platform::Macos => format!(
            "Install this launcher at {install} on every machine (with awscred at {exe}, or change that path), readable and executable by its users and writable by administrators only:"
        ),
        Platform::Windows => format!(
            "Claude Desktop runs awscred at {exe} itself (change that path in the file if awscred is elsewhere); install this file at {install} on every machine, readable by its users and writable by administrators only:"
        ),
    };
    err.line(&format!(
        "Managed preferences for Claude Desktop on {} on stdout ({}). {what}",
        p.name(),
        match p {
            Platform::Macos => "a .mobileconfig for your device management",
            Platform::Windows =>
                "a .reg for HKEY_CURRENT_USER; Group Policy can set the same values",
        },
    ));
    for line in helper.text.lines() {
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
    let old = safe_write::read(&config_place)?;
    let ttl = desktop::configured_ttl(old.as_deref());
    let helper = helper_for(p, &dir, exe, profile, region, ttl)?;
    let text = helper.text;
    let launcher_path = dir.join(helper.file_name);
    let launcher_place = Place::Own(launcher_path.clone());
    let merged = desktop::merge(
        old.as_deref(),
        &config_place.path(),
        &desktop::keys(region, &helper.path),
    )?;
    let old_launcher = safe_write::read(&launcher_place)?;
    let out = Sink::Stdout;
    let verb = |would: &str, does: &str| if dry_run { would } else { does }.to_string();
    out.line(&format!("Claude Desktop on {}:", p.name()));
    if old_launcher.as_deref() == Some(text.as_str()) {
        out.line(&format!("  {} is up to date.", launcher_path.display()));
    } else {
        out.line(&format!(
            "  {} {} (mode {:04o}):",
            verb("Would write", "Writing"),
            launcher_path.display(),
            helper.mode
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
            helper.mode,
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
    let stale = dir.join(desktop::OLD_WINDOWS_LAUNCHER);
    if p == Platform::Windows && fs_err::symlink_metadata(&stale).is_ok() {
        out.line(&format!(
            "  {} is no longer used (Claude Desktop cannot run a .cmd file); you may delete it.",
            stale.display()
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_claude_desktops_no_argument_run_is_the_helper() {
        let desktop = Environment::from_pairs([("CLAUDE_HELPER_CONTEXT", "background")]);
        assert!(is_helper_run(1, &desktop));
        assert!(is_helper_run(0, &desktop));
        assert!(
            !is_helper_run(2, &desktop),
            "any argument is a command line"
        );
        assert!(!is_helper_run(1, &Environment::from_pairs([])));
        assert!(!is_helper_run(
            1,
            &Environment::from_pairs([("CLAUDE_HELPER_CONTEXT", "")])
        ));
    }

    #[test]
    fn a_scoop_shim_names_the_program_it_runs() {
        assert_eq!(
            shim_target(
                "path = \"C:\\Users\\ada\\scoop\\apps\\awscred\\current\\awscred.exe\"\r\n"
            ),
            Some(r"C:\Users\ada\scoop\apps\awscred\current\awscred.exe")
        );
        assert_eq!(
            shim_target("path = C:\\a\\awscred.exe\n"),
            Some(r"C:\a\awscred.exe")
        );
        assert_eq!(
            shim_target("path = \"C:\\a.exe\"\nargs = \n"),
            Some(r"C:\a.exe")
        );
        assert_eq!(
            shim_target("path = \"C:\\a.exe\"\nargs = --profile x\n"),
            None
        );
        assert_eq!(shim_target("args = x\n"), None);
        assert_eq!(shim_target("path = \"\"\n"), None);
        assert_eq!(shim_target("not a shim"), None);
        assert_eq!(shim_target("\npath = C:\\a.exe\n\n"), Some(r"C:\a.exe"));
    }

    #[test]
    fn windows_runs_awscred_itself_and_macos_a_launcher() {
        let dir = std::path::Path::new("/h/Claude-3p");
        let w = helper_for(
            Platform::Windows,
            dir,
            r"C:\scoop\shims\awscred.exe",
            "bedrock",
            "us-east-1",
            Some(1800),
        )
        .unwrap();
        assert_eq!(w.path, r"C:\scoop\shims\awscred.exe");
        assert_eq!(w.file_name, "awscred-desktop.json");
        assert_eq!(
            desktop::HelperConfig::parse(&w.text).unwrap(),
            desktop::HelperConfig::new("bedrock", "us-east-1", Some(1800)).unwrap()
        );
        assert_eq!(w.mode, MODE_SHARED);
        let m = helper_for(
            Platform::Macos,
            dir,
            "/a/awscred",
            "bedrock",
            "us-east-1",
            None,
        )
        .unwrap();
        assert_eq!(m.path, "/h/Claude-3p/awscred-bedrock-token");
        assert!(m.text.starts_with("#!/bin/sh\n"));
        assert_eq!(m.mode, 0o700);
        for p in [Platform::Windows, Platform::Macos] {
            assert!(helper_for(p, dir, "/a/awscred", "a\nb", "us-east-1", None).is_err());
            assert!(helper_for(p, dir, "/a/\rawscred", "b", "us-east-1", None).is_err());
        }
    }
}
