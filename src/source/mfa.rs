//! MFA codes for AssumeRole: from `awscred_mfa_process` (a command that prints the code,
//! such as a YubiKey OATH tool) or typed on the terminal (`/dev/tty`, never stdin, never
//! stdout). Without either, the caller gets a fast error with the command to run.

use super::Context;
use crate::config::RoleStep;
use crate::error::{Error, Result};
use crate::secret::Secret;
use std::process::{Command, Stdio};

/// Reads one MFA code for `serial`.
pub fn code(ctx: &Context<'_>, step: &RoleStep, serial: &str) -> Result<Secret<String>> {
    let raw = if let Some(cmd) = &step.mfa_process {
        from_process(cmd, &step.profile)?
    } else if cfg!(windows) && in_mintty(ctx.env) {
        // mintty is not a console: a prompt on CONOUT$ is invisible and CONIN$ never
        // answers, so asking would hang.
        return Err(Error::user(format!(
            "profile `{}` needs an MFA code for {serial}, and Git Bash's mintty window cannot show the prompt",
            step.profile
        ))
        .with_hint(format!(
            "set awscred_mfa_process in [profile {}] to a command that prints the code (for example `ykman oath accounts code -s NAME`), or run awscred from Windows Terminal, PowerShell or `winpty awscred …`",
            step.profile
        )));
    } else if ctx.login.can_prompt {
        from_terminal(serial, &step.profile)?
    } else {
        return Err(Error::user(format!(
            "profile `{}` needs an MFA code for {serial}, and no terminal is attached to type it",
            step.profile
        ))
        .with_hint(format!(
            "run awscred login --profile {} in a terminal, or set awscred_mfa_process to a command that prints the code",
            ctx.profile
        )));
    };
    let code = raw.trim().to_string();
    if !(6..=8).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            Error::user(format!("the MFA code for {serial} must be 6 to 8 digits")).with_hint(
                format!(
                    "run awscred login --profile {} and type the code again",
                    ctx.profile
                ),
            ),
        );
    }
    Ok(Secret::new(code))
}

/// Whether this runs in mintty (Git Bash, MSYS2, Cygwin's default terminal), which sets
/// `TERM_PROGRAM=mintty`.
fn in_mintty(env: &crate::env::Environment) -> bool {
    env.get("TERM_PROGRAM")
        .is_some_and(|t| t.eq_ignore_ascii_case("mintty"))
}

/// What `cmd.exe` gets for `command`, passed as one raw argument: `/d` skips AutoRun, `/s`
/// strips exactly the outer quotes, so a quoted program path with spaces
/// (`"C:\Program Files\Yubico\ykman.exe" oath …`) reaches cmd as written. Rust's own
/// argument quoting would escape those quotes and break the path.
#[cfg_attr(not(windows), allow(dead_code))]
fn cmd_line(command: &str) -> String {
    format!("/d /s /c \"{command}\"")
}

fn from_process(cmd: &str, profile: &str) -> Result<String> {
    #[cfg(windows)]
    let mut command = {
        use std::os::windows::process::CommandExt;
        let mut c = Command::new("cmd.exe");
        c.raw_arg(cmd_line(cmd));
        c
    };
    #[cfg(not(windows))]
    let mut command = {
        let mut c = Command::new("sh");
        c.args(["-c", cmd]);
        c
    };
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            Error::user(format!(
                "cannot run awscred_mfa_process of profile `{profile}`"
            ))
            .caused_by(&e)
            .with_hint("check the command in awscred_mfa_process")
        })?;
    if !out.status.success() {
        return Err(Error::user(format!(
            "awscred_mfa_process of profile `{profile}` failed ({})",
            out.status
        ))
        .with_hint("run the command yourself to see why"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(unix)]
fn from_terminal(serial: &str, profile: &str) -> Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| {
            Error::user(format!(
                "cannot open the terminal to ask for the MFA code of profile `{profile}`"
            ))
            .caused_by(&e)
            .with_hint("set awscred_mfa_process to a command that prints the code")
        })?;
    let mut w = &tty;
    let _ = write!(w, "MFA code for {serial}: ");
    let _ = w.flush();
    let mut line = String::new();
    BufReader::new(&tty)
        .read_line(&mut line)
        .map_err(|e| Error::user("cannot read the MFA code from the terminal").caused_by(&e))?;
    Ok(line)
}

#[cfg(windows)]
fn from_terminal(serial: &str, profile: &str) -> Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let open = |name: &str, write: bool| {
        std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .open(name)
    };
    let (Ok(mut out), Ok(input)) = (open("CONOUT$", true), open("CONIN$", false)) else {
        return Err(Error::user(format!(
            "cannot open the console to ask for the MFA code of profile `{profile}`"
        ))
        .with_hint("set awscred_mfa_process to a command that prints the code"));
    };
    let _ = write!(out, "MFA code for {serial}: ");
    let _ = out.flush();
    let mut line = String::new();
    BufReader::new(input)
        .read_line(&mut line)
        .map_err(|e| Error::user("cannot read the MFA code from the console").caused_by(&e))?;
    Ok(line)
}

#[cfg(not(any(unix, windows)))]
fn from_terminal(_serial: &str, profile: &str) -> Result<String> {
    Err(Error::user(format!(
        "cannot ask for the MFA code of profile `{profile}` on this platform"
    ))
    .with_hint("set awscred_mfa_process to a command that prints the code"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmd_gets_the_command_line_unescaped() {
        assert_eq!(
            cmd_line("\"C:\\Program Files\\Yubico\\ykman.exe\" oath accounts code -s aws"),
            "/d /s /c \"\"C:\\Program Files\\Yubico\\ykman.exe\" oath accounts code -s aws\""
        );
    }

    #[test]
    fn mintty_is_recognised() {
        let env = |v: &str| crate::env::Environment::from_pairs([("TERM_PROGRAM", v)]);
        assert!(in_mintty(&env("mintty")));
        assert!(!in_mintty(&env("vscode")));
        assert!(!in_mintty(&crate::env::Environment::default()));
    }
}
