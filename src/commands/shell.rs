//! `awscred exec` and `awscred env`: credentials for programs that read the standard
//! `AWS_*` environment variables. Secrets travel in the environment, never in arguments.

use crate::cli::EnvFormat;
use crate::credentials::Credentials;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::output::{self, Format, Issued};
use crate::services::Services;
use crate::source;
use crate::source::LoginPolicy;
use crate::ui;
use std::ffi::OsString;
use std::process::ExitCode;

/// The variables set for the child (name, value); `None` values are removed.
pub fn variables(c: &Credentials, region: Option<&str>) -> Vec<(&'static str, Option<String>)> {
    output::variables(&Issued {
        credentials: c,
        account_id: None,
        region,
    })
}

fn get(services: &Services, profile: &str) -> Result<(Credentials, Option<String>)> {
    let req = services.request(profile)?;
    let ctx = req.context(LoginPolicy::for_credentials(&req.chain.settings));
    let c = source::credentials(&ctx, &req.chain)?;
    Ok((c.credentials, req.chain.settings.region.clone()))
}

/// `awscred exec -- CMD ARGS…`: runs CMD with the credentials; its exit status is ours.
///
/// On Unix awscred becomes the child (`execvp`): signals, job control and the exit status
/// are the child's own. On Windows it starts the child, lets the console's Ctrl+C reach
/// the child alone, waits, and exits with the child's full 32-bit status.
pub fn exec(services: &Services, profile: &str, command: Vec<OsString>) -> Result<ExitCode> {
    let (creds, region) = get(services, profile)?;
    let env = &services.env;
    let Some((program, args)) = command.split_first() else {
        return Err(Error::user("no command given")
            .with_hint("run awscred exec --profile P -- aws sts get-caller-identity"));
    };
    let resolved = resolve_program(env, program);
    let mut cmd = std::process::Command::new(&resolved);
    cmd.args(args);
    // The child must use these credentials, not re-resolve a profile.
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env("AWSCRED_PROFILE", profile);
    for (k, v) in variables(&creds, region.as_deref()) {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let name = program.to_string_lossy().into_owned();
    let cannot_run = |e: std::io::Error| {
        Error::user(format!("cannot run {}", crate::remote::text(&name)))
            .caused_by(&e)
            .with_hint("check the command name and PATH")
    };
    run_child(cmd, cannot_run)
}

#[cfg(unix)]
fn run_child(
    mut cmd: std::process::Command,
    cannot_run: impl Fn(std::io::Error) -> Error,
) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    crate::hardening::restore_for_child();
    // Returns only when the program could not be started.
    let e = cmd.exec();
    Err(cannot_run(e))
}

#[cfg(windows)]
fn run_child(
    mut cmd: std::process::Command,
    cannot_run: impl Fn(std::io::Error) -> Error,
) -> Result<ExitCode> {
    // Ctrl+C goes to every process of the console: the child handles it, awscred waits.
    let _ = ctrlc::set_handler(|| {});
    let status = cmd.status().map_err(cannot_run)?;
    // ExitCode carries 8 bits; a Windows status has 32 (256 must not become 0).
    std::process::exit(status.code().unwrap_or(2))
}

#[cfg(not(any(unix, windows)))]
fn run_child(
    mut cmd: std::process::Command,
    cannot_run: impl Fn(std::io::Error) -> Error,
) -> Result<ExitCode> {
    let status = cmd.status().map_err(cannot_run)?;
    std::process::exit(status.code().unwrap_or(2))
}

/// The program to start: on Windows a bare name is looked up in `PATH` with each `PATHEXT`
/// extension, so npm's `.cmd` shims (`claude`, `npx`) start as they do in a console (the
/// standard library only tries `.exe`). Elsewhere, and for names with a path or an
/// extension, the name as given.
fn resolve_program(env: &Environment, program: &std::ffi::OsStr) -> std::path::PathBuf {
    if !cfg!(windows) {
        return program.into();
    }
    let Some(name) = program.to_str() else {
        return program.into();
    };
    find_on_path(
        name,
        env.get("PATH").unwrap_or_default(),
        env.get("PATHEXT").unwrap_or(".COM;.EXE;.BAT;.CMD"),
        |p| p.is_file(),
    )
    .unwrap_or_else(|| program.into())
}

/// Windows lookup rules, as a pure function: `name` with a directory or an extension is
/// left alone; otherwise the first `dir\name.ext` that `exists`, directories from `path`
/// (`;`-separated) in order, extensions from `pathext` in order.
fn find_on_path(
    name: &str,
    path: &str,
    pathext: &str,
    exists: impl Fn(&std::path::Path) -> bool,
) -> Option<std::path::PathBuf> {
    if name.contains(['/', '\\', ':']) || std::path::Path::new(name).extension().is_some() {
        return None;
    }
    for dir in path
        .split(';')
        .map(|d| d.trim().trim_matches('"'))
        .filter(|d| !d.is_empty())
    {
        for ext in pathext
            .split(';')
            .map(str::trim)
            .filter(|e| e.starts_with('.'))
        {
            let dir = dir.trim_end_matches(['\\', '/']);
            let candidate =
                std::path::PathBuf::from(format!("{dir}\\{name}{}", ext.to_ascii_lowercase()));
            if exists(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

/// `awscred env --format …`.
pub fn env(services: &Services, profile: &str, format: EnvFormat) -> Result<ExitCode> {
    let req = services.request(profile)?;
    let ctx = req.context(LoginPolicy::for_credentials(&req.chain.settings));
    let c = source::credentials(&ctx, &req.chain)?;
    let issued = Issued::new(&c, req.chain.settings.region.as_deref());
    let text = output::render(Format::Env(format.into()), &issued)?;
    ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_finds_cmd_shims_through_pathext() {
        let present = [
            "C:\\npm\\claude.cmd",
            "C:\\tools\\claude.exe",
            "C:\\npm\\aws.exe",
        ];
        let exists = |p: &std::path::Path| present.iter().any(|x| std::path::Path::new(x) == p);
        let path = "C:\\none;\"C:\\npm\";C:\\tools";
        assert_eq!(
            find_on_path("claude", path, ".COM;.EXE;.BAT;.CMD", exists),
            Some("C:\\npm\\claude.cmd".into()),
            "the first directory that has any extension wins"
        );
        assert_eq!(
            find_on_path("aws", path, ".COM;.EXE;.BAT;.CMD", exists),
            Some("C:\\npm\\aws.exe".into())
        );
        assert_eq!(find_on_path("claude.cmd", path, ".CMD", exists), None);
        assert_eq!(find_on_path("C:\\npm\\claude", path, ".CMD", exists), None);
        assert_eq!(find_on_path("nothing", path, ".CMD;.EXE", exists), None);
    }
}
