//! Runs the emulator in the foreground: `awscred-emulator [--port N] [--auto-approve]`.
//! Prints its URL on the first line of stdout.

use awscred_emulator::{Emulator, Settings};
use std::io::Write;

const HELP: &str = "\
awscred-emulator: a local AWS for trying and testing awscred, no AWS account needed

Usage: awscred-emulator [--port N] [--auto-approve]

Serves IAM Identity Center (OIDC and portal, with its account listings), STS, the AWS
console federation endpoint (/federation), Bedrock runtime, instance metadata and the
container credentials endpoint on 127.0.0.1, prints its URL (http://127.0.0.1:PORT)
as the first line of stdout, and runs until interrupted. Point awscred at it with
AWS_ENDPOINT_URL=<that URL>.

Options:
  --port N        listen on 127.0.0.1:N (1-65535; 0 or no --port: a free port)
  --auto-approve  approve each device code at the first CreateToken poll, without the
                  browser step
  -h, --help      print this help

Signing in:
  `awscred login` shows a device URL (<URL>/device?user_code=CODE); open it in a
  browser and press Approve. Only that code is approved. <URL>/device without a code
  asks for it.

Endpoints for scripts and tests:
  GET  /_emulator/counters   requests per operation so far, as a JSON object
                             (\"CreateToken\": 3, \"CreateToken:device_code\": 3, ...)
  POST /_emulator/approve    approve every device code not yet approved; with
                             ?user_code=CODE only that one. Answers {\"approved\": N}
  POST /_emulator/settings   replace the settings with a JSON object; fields left out take
                             their defaults: token_ttl, credentials_ttl, client_ttl,
                             device_ttl, interval (seconds), auto_approve_after (polls or
                             null), refresh_tokens (bool), authorize (approve, deny,
                             wrong-state, hang), mfa_code, reply, clock_skew (seconds),
                             portal_accounts (what the access portal lists:
                             [{\"id\", \"name\", \"email\", \"roles\": [...]}]),
                             portal_page_size (items a page), portal_delay_ms,
                             bedrock_region (a Bedrock API key for another region is
                             refused; null: any),
                             bedrock_denied (IAM actions Bedrock refuses with
                             AccessDeniedException, e.g. [\"bedrock:InvokeModel\"])
  POST /_emulator/fault      make the next `count` calls of an operation fail, as JSON:
                             {\"operation\": \"GetRoleCredentials\", \"status\": 500,
                             \"code\": \"InternalFailure\", \"count\": 1}; optional: body
                             (raw answer), delay_ms, field and value (replace one field of
                             a good answer), truncate (cut a good answer in half)
  POST /_emulator/expire     make every temporary credential issued so far expire now
                             (requests signed with them fail with ExpiredToken), for a
                             credential rollover without waiting. Answers {\"expired\": N}
";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Run { port: u16, auto_approve: bool },
}

/// Reads the arguments; `Err` is the message for stderr.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut port = 0u16;
    let mut auto_approve = false;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let value = match a.split_once('=') {
            Some(("--port", v)) => Some(v.to_string()),
            _ if a == "--port" => Some(args.next().ok_or("--port needs a value (1-65535)")?),
            _ => None,
        };
        if let Some(v) = value {
            port = v
                .parse()
                .map_err(|_| format!("--port must be a number from 0 to 65535, not {v:?}"))?;
            continue;
        }
        match a.as_str() {
            "--auto-approve" => auto_approve = true,
            "--help" | "-h" => return Ok(Command::Help),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(Command::Run { port, auto_approve })
}

fn main() {
    let (port, auto_approve) = match parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{HELP}");
            return;
        }
        Ok(Command::Run { port, auto_approve }) => (port, auto_approve),
        Err(message) => {
            eprintln!("awscred-emulator: {message}");
            std::process::exit(2);
        }
    };
    let mut settings = Settings::default();
    if auto_approve {
        settings.auto_approve_after = Some(0);
    }
    let emu = match Emulator::start_on(settings, port) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("awscred-emulator: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("{}", emu.url());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Command, String> {
        parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn ports_in_range_are_taken_as_given() {
        assert_eq!(
            args(&["--port", "8123"]),
            Ok(Command::Run {
                port: 8123,
                auto_approve: false
            })
        );
        assert_eq!(
            args(&["--port=65535", "--auto-approve"]),
            Ok(Command::Run {
                port: 65535,
                auto_approve: true
            })
        );
        assert_eq!(
            args(&[]),
            Ok(Command::Run {
                port: 0,
                auto_approve: false
            })
        );
    }

    #[test]
    fn a_bad_port_is_an_error_naming_it() {
        for bad in ["abc", "70000", "-1", "", "80 "] {
            let err = args(&["--port", bad]).unwrap_err();
            assert!(
                err.contains("--port") && err.contains(&format!("{bad:?}")),
                "{err}"
            );
        }
        assert!(args(&["--port=x"]).unwrap_err().contains("\"x\""));
        assert!(args(&["--port"]).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn unknown_arguments_and_help() {
        assert!(args(&["--prot", "80"]).unwrap_err().contains("--prot"));
        assert_eq!(args(&["--auto-approve", "-h"]), Ok(Command::Help));
    }
}
