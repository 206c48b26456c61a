//! `awscred exec` and `awscred env`: credentials for programs that read the standard
//! `AWS_*` environment variables. Secrets travel in the environment, never in arguments.

use crate::app::{Invocation, credentials_policy};
use crate::cli::EnvFormat;
use crate::clock::format_expiration;
use crate::credentials::Credentials;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::source;
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

fn get(env: &Environment, profile: &str) -> Result<(Credentials, Option<String>)> {
    let inv = Invocation::new(env, profile)?;
    let ctx = inv.context(credentials_policy(&inv));
    let c = source::credentials(&ctx, &inv.chain)?;
    Ok((c.credentials, inv.chain.settings.region.clone()))
}

/// `awscred exec -- CMD ARGS…`: runs CMD with the credentials; its exit status is ours.
pub fn exec(env: &Environment, profile: &str, command: Vec<OsString>) -> Result<ExitCode> {
    let (creds, region) = get(env, profile)?;
    let Some((program, args)) = command.split_first() else {
        return Err(Error::user("no command given")
            .with_hint("run awscred exec --profile P -- aws sts get-caller-identity"));
    };
    let mut cmd = std::process::Command::new(program);
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
    let status = cmd.status().map_err(|e| {
        Error::user(format!("cannot run {name}"))
            .caused_by(&e)
            .with_hint("check the command name and PATH")
    })?;
    Ok(ExitCode::from(exit_code(status)))
}

#[cfg(unix)]
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => (c & 0xff) as u8,
        (None, Some(sig)) => (128 + sig).min(255) as u8,
        _ => 2,
    }
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> u8 {
    status.code().map(|c| (c & 0xff) as u8).unwrap_or(2)
}

/// `awscred env --format …`.
pub fn env(env: &Environment, profile: &str, format: EnvFormat) -> Result<ExitCode> {
    let (creds, region) = get(env, profile)?;
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
