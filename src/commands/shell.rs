//! `awscred exec` and `awscred env`: credentials for programs that read the standard
//! `AWS_*` environment variables. Secrets travel in the environment, never in arguments.

use crate::cli::EnvFormat;
use crate::clock::format_expiration;
use crate::credentials::Credentials;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::services::Services;
use crate::source;
use crate::source::LoginPolicy;
use crate::ui;
use std::ffi::OsString;
use std::process::ExitCode;

/// The variables set for the child (name, value); `None` values are removed.
pub fn variables(c: &Credentials, region: Option<&str>) -> Vec<(&'static str, Option<String>)> {
    let mut v = vec![
        ("AWS_ACCESS_KEY_ID", Some(c.access_key_id.clone())),
        (
            "AWS_SECRET_ACCESS_KEY",
            Some(c.secret_access_key.expose().clone()),
        ),
        (
            "AWS_SESSION_TOKEN",
            c.session_token.as_ref().map(|t| t.expose().clone()),
        ),
        (
            "AWS_CREDENTIAL_EXPIRATION",
            c.expiration.map(format_expiration),
        ),
    ];
    if let Some(r) = region {
        v.push(("AWS_REGION", Some(r.to_string())));
        v.push(("AWS_DEFAULT_REGION", Some(r.to_string())));
    }
    v
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
    let (creds, region) = get(services, profile)?;
    let text = render(&variables(&creds, region.as_deref()), format)?;
    ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    Ok(ExitCode::SUCCESS)
}

/// Renders assignments in a shell's syntax.
pub fn render(vars: &[(&str, Option<String>)], format: EnvFormat) -> Result<String> {
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let pq = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let fq = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut out = String::new();
    match format {
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .filter_map(|(k, v)| {
                    v.as_ref()
                        .map(|v| (k.to_string(), serde_json::Value::String(v.clone())))
                })
                .collect();
            out = serde_json::to_string(&map)
                .map_err(|e| Error::unexpected("cannot encode").caused_by(&e))?;
            out.push('\n');
        }
        _ => {
            for (k, v) in vars {
                let line = match (format, v) {
                    (EnvFormat::Sh, Some(v)) => format!("export {k}={}", q(v)),
                    (EnvFormat::Sh, None) => format!("unset {k}"),
                    (EnvFormat::Fish, Some(v)) => format!("set -gx {k} {};", fq(v)),
                    (EnvFormat::Fish, None) => format!("set -e {k};"),
                    (EnvFormat::Powershell, Some(v)) => format!("$env:{k} = {}", pq(v)),
                    (EnvFormat::Powershell, None) => {
                        format!("Remove-Item Env:{k} -ErrorAction SilentlyContinue")
                    }
                    (EnvFormat::Json, _) => unreachable!("handled above"),
                };
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(&'static str, Option<String>)> {
        vec![
            ("AWS_ACCESS_KEY_ID", Some("AKIA'X".into())),
            ("AWS_SESSION_TOKEN", None),
        ]
    }

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

    #[test]
    fn each_shell() {
        assert_eq!(
            render(&vars(), EnvFormat::Sh).unwrap(),
            "export AWS_ACCESS_KEY_ID='AKIA'\\''X'\nunset AWS_SESSION_TOKEN\n"
        );
        assert_eq!(
            render(&vars(), EnvFormat::Fish).unwrap(),
            "set -gx AWS_ACCESS_KEY_ID 'AKIA\\'X';\nset -e AWS_SESSION_TOKEN;\n"
        );
        assert_eq!(
            render(&vars(), EnvFormat::Powershell).unwrap(),
            "$env:AWS_ACCESS_KEY_ID = 'AKIA''X'\nRemove-Item Env:AWS_SESSION_TOKEN -ErrorAction SilentlyContinue\n"
        );
        assert_eq!(
            render(&vars(), EnvFormat::Json).unwrap(),
            "{\"AWS_ACCESS_KEY_ID\":\"AKIA'X\"}\n"
        );
    }
}
