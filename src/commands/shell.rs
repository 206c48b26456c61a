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

/// What `exec` and `env` may change about a request.
#[derive(Debug, Default)]
pub struct Options {
    /// Ignore cached credentials this once.
    pub refresh: bool,
    /// DurationSeconds of the chain's last AssumeRole.
    pub duration: Option<String>,
    /// Region for the child.
    pub region: Option<String>,
    /// Give the child a Bedrock API key instead of AWS keys.
    pub bedrock_token: bool,
}

fn get(
    services: &Services,
    profile: &str,
    opts: &Options,
) -> Result<(Credentials, Option<String>)> {
    let mut req = services.request(profile)?;
    req.refresh = opts.refresh;
    let session_duration = match &opts.duration {
        Some(d) => set_duration(&mut req.chain, d)?,
        None => None,
    };
    let ctx = req.context(LoginPolicy::for_credentials(&req.chain.settings));
    let c = match session_duration {
        Some(secs) => source::session_credentials_lasting(&ctx, &req.chain, Some(secs))?,
        None => source::credentials(&ctx, &req.chain)?,
    };
    let region = match &opts.region {
        Some(r) => Some(crate::config::resolve::check_region(r, "--region")?),
        None => req.chain.settings.region.clone(),
    };
    Ok((c.credentials, region))
}

/// `--duration`: the DurationSeconds of the chain's last AssumeRole, part of that step's
/// cache key; for long-term keys without a role, of the GetSessionToken they are exchanged
/// through (returned: the caller asks for session credentials). IAM Identity Center and
/// the other sources have no such choice.
pub(crate) fn set_duration(chain: &mut crate::config::Chain, text: &str) -> Result<Option<i32>> {
    let secs = crate::config::resolve::parse_duration(text)
        .map(|d| d.as_secs())
        .filter(|s| (900..=43200).contains(s))
        .and_then(|s| i32::try_from(s).ok())
        .ok_or_else(|| {
            Error::user(format!(
                "--duration `{}` is not a duration from 15m to 12h",
                crate::remote::text(text)
            ))
            .with_hint("write it as seconds or with a unit, e.g. 3600 or 1h")
        })?;
    let profile = chain.profile.clone();
    if let Some(last) = chain.roles.last_mut() {
        last.duration_seconds = Some(secs);
        return Ok(None);
    }
    match &chain.base {
        crate::config::Base::StaticKeys(k) if k.session_token.is_none() => Ok(Some(secs)),
        crate::config::Base::Sso(_) => Err(Error::user(format!(
            "profile `{profile}` assumes no role, so --duration has nothing to set"
        ))
        .with_hint(
            "IAM Identity Center role durations are fixed by the permission set; drop --duration",
        )),
        _ => Err(Error::user(format!(
            "profile `{profile}` assumes no role and has no long-term keys, so --duration has nothing to set"
        ))
        .with_hint("drop --duration; the source decides how long its credentials last")),
    }
}

/// `awscred exec -- CMD ARGS…`: runs CMD with the credentials; its exit status is ours.
///
/// On Unix awscred becomes the child (`execvp`): signals, job control and the exit status
/// are the child's own. On Windows it starts the child, lets the console's Ctrl+C reach
/// the child alone, waits, and exits with the child's full 32-bit status.
/// Without a command it starts the user's shell, marked with `AWSCRED_PROFILE`; inside
/// such a shell, `exec` of another profile is refused unless `nested` (credentials of two
/// profiles in one environment are easy to mistake for each other).
pub fn exec(
    services: &Services,
    profile: &str,
    command: Vec<OsString>,
    opts: &Options,
    nested: bool,
) -> Result<ExitCode> {
    let env = &services.env;
    if let Some(outer) = env.get("AWSCRED_PROFILE")
        && outer != profile
        && !nested
    {
        return Err(Error::user(format!(
            "this shell already runs inside `awscred exec` of profile {}",
            crate::remote::text(outer)
        ))
        .with_hint(format!(
            "exit that shell first, or run awscred exec {profile} --nested"
        )));
    }
    let vars = if opts.bedrock_token {
        bedrock_variables(services, profile, opts)?
    } else {
        let (creds, region) = get(services, profile, opts)?;
        variables(&creds, region.as_deref())
    };
    let command = if command.is_empty() {
        vec![default_shell(env)]
    } else {
        command
    };
    let Some((program, args)) = command.split_first() else {
        return Err(Error::unexpected("no command to run"));
    };
    let resolved = resolve_program(env, program);
    let mut cmd = std::process::Command::new(&resolved);
    cmd.args(args);
    // The child must use these credentials, not re-resolve a profile.
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env("AWSCRED_PROFILE", profile);
    for (k, v) in vars {
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

/// The child's variables with `--bedrock-token`: the key and its region, and none of the
/// AWS keys (an outer shell's would otherwise reach the child beside the key).
fn bedrock_variables(
    services: &Services,
    profile: &str,
    opts: &Options,
) -> Result<Vec<(&'static str, Option<String>)>> {
    let key_opts = super::bedrock::KeyOptions {
        region: opts.region.clone(),
        duration: None,
        ttl: None,
        role_duration: opts.duration.clone(),
        refresh: opts.refresh,
    };
    let (minted, region) = super::bedrock::mint(services, profile, &key_opts)?;
    Ok(vec![
        (
            "AWS_BEARER_TOKEN_BEDROCK",
            Some(minted.token.expose().clone()),
        ),
        ("AWS_REGION", Some(region.clone())),
        ("AWS_DEFAULT_REGION", Some(region)),
        ("AWS_ACCESS_KEY_ID", None),
        ("AWS_SECRET_ACCESS_KEY", None),
        ("AWS_SESSION_TOKEN", None),
        ("AWS_SECURITY_TOKEN", None),
        ("AWS_CREDENTIAL_EXPIRATION", None),
    ])
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

/// The user's shell: `$SHELL` (else `/bin/sh`) on Unix, `%ComSpec%` (else `cmd.exe`) on
/// Windows.
fn default_shell(env: &Environment) -> OsString {
    let (var, fallback) = if cfg!(windows) {
        ("ComSpec", "cmd.exe")
    } else {
        ("SHELL", "/bin/sh")
    };
    OsString::from(env.get(var).unwrap_or(fallback))
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
pub fn env(
    services: &Services,
    profile: &str,
    format: EnvFormat,
    refresh: bool,
) -> Result<ExitCode> {
    let mut req = services.request(profile)?;
    req.refresh = refresh;
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
