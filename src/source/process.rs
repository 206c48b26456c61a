//! `credential_process` as a chain's base: another program prints credentials in the
//! `Version: 1` shape. Run as botocore runs it (the command line split into words, no
//! shell), but with stdin on `/dev/null`, stderr passed through, output and time bounded,
//! and recursion stopped by an environment marker that carries the profiles on the way.

use super::Context;
use crate::config::{Chain, ProcessSource};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The marker: the profiles whose `credential_process` is running, comma-separated.
pub const CHAIN_VAR: &str = "AWSCRED_PROCESS_CHAIN";
/// How many `credential_process` runs may nest (the AWS CLI stops at the same depth).
pub const MAX_DEPTH: usize = 4;
/// Largest output read from the command.
pub const MAX_OUTPUT: u64 = 64 * 1024;

/// The marker value for a run of `profile`'s command, or an error naming the loop.
pub fn next_chain(current: Option<&str>, profile: &str) -> Result<String> {
    let mut chain: Vec<&str> = current
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    if chain.contains(&profile) || chain.len() >= MAX_DEPTH {
        chain.push(profile);
        return Err(Error::user(format!(
            "credential_process runs loop or nest too deep: {}",
            crate::remote::text(&chain.join(" → "))
        ))
        .with_hint(format!(
            "make the credential_process of profile `{profile}` print credentials without running awscred for it again"
        )));
    }
    chain.push(profile);
    Ok(chain.join(","))
}

/// What the command printed, checked.
pub fn parse_output(text: &str, profile: &str, now: DateTime<Utc>) -> Result<Credentials> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Out {
        version: Option<i64>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        session_token: Option<String>,
        expiration: Option<String>,
    }
    let bad = |why: &str| {
        Error::user(format!(
            "the credential_process of profile `{profile}` printed {why}"
        ))
        .with_hint("run the command yourself: it must print {\"Version\": 1, \"AccessKeyId\": …, \"SecretAccessKey\": …}")
    };
    let out: Out = serde_json::from_str(text.trim()).map_err(|_| bad("no JSON object"))?;
    if out.version != Some(1) {
        return Err(bad("no \"Version\": 1"));
    }
    let (Some(akid), Some(secret)) = (
        out.access_key_id.filter(|s| !s.is_empty()),
        out.secret_access_key.filter(|s| !s.is_empty()),
    ) else {
        return Err(bad("no AccessKeyId or SecretAccessKey"));
    };
    let expiration = match out.expiration {
        None => None,
        Some(e) => Some(
            DateTime::parse_from_rfc3339(&e)
                .map_err(|_| bad("an Expiration that is not an RFC 3339 time"))?
                .with_timezone(&Utc),
        ),
    };
    if expiration.is_some_and(|e| e <= now) {
        return Err(bad("credentials that have already expired"));
    }
    Ok(Credentials {
        access_key_id: akid,
        secret_access_key: Secret::new(secret),
        session_token: out.session_token.filter(|s| !s.is_empty()).map(Secret::new),
        expiration,
    })
}

/// Runs the command and reads its credentials.
pub fn credentials(ctx: &Context<'_>, src: &ProcessSource) -> Result<Credentials> {
    let marker = next_chain(ctx.env.get(CHAIN_VAR), &src.profile)?;
    let Some((program, args)) = src.argv.split_first() else {
        return Err(Error::user(format!(
            "the credential_process of profile `{}` is empty",
            src.profile
        )));
    };
    let shown = crate::remote::text(program);
    let mut child = Command::new(program)
        .args(args)
        .env(CHAIN_VAR, &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            Error::user(format!(
                "cannot run the credential_process of profile `{}` ({shown})",
                src.profile
            ))
            .caused_by(&e)
            .with_hint(format!(
                "check credential_process in [profile {}]",
                src.profile
            ))
        })?;
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(out) = stdout {
            let _ = out.take(MAX_OUTPUT).read_to_string(&mut text);
        }
        text
    });
    let deadline = Instant::now() + src.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::user(format!(
                    "the credential_process of profile `{}` did not finish within {} s",
                    src.profile,
                    src.timeout.as_secs()
                ))
                .with_hint(format!(
                    "run it yourself to see why, or raise awscred_process_timeout in [profile {}]",
                    src.profile
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(
                    Error::unexpected("cannot wait for the credential_process").caused_by(&e)
                );
            }
        }
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::user(format!(
            "the credential_process of profile `{}` failed ({status})",
            src.profile
        ))
        .with_hint("its own messages are above; run it yourself to see more"));
    }
    parse_output(&text, &src.profile, ctx.clock.now())
}

impl super::Source for ProcessSource {
    fn rejected_fix(&self, _profile: &str) -> String {
        format!(
            "AWS does not accept what the credential_process of profile `{}` prints: run it yourself and check its keys",
            self.profile
        )
    }
    fn kind(&self) -> &'static str {
        "process"
    }
    fn describe(&self) -> String {
        format!(
            "credential_process {}",
            crate::remote::text(&self.argv.join(" "))
        )
    }
    fn cache_id(&self) -> String {
        format!("process|{}", self.argv.join("\u{1f}"))
    }
    fn cacheable(&self) -> bool {
        // Like botocore: run each time; the roles above it are cached.
        false
    }
    fn fetch(&self, ctx: &Context<'_>, _chain: &Chain) -> Result<(Credentials, Option<String>)> {
        Ok((credentials(ctx, self)?, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_marker_stops_loops_and_deep_nesting() {
        assert_eq!(next_chain(None, "a").unwrap(), "a");
        assert_eq!(next_chain(Some("a,b"), "c").unwrap(), "a,b,c");
        let e = next_chain(Some("a,b"), "a").unwrap_err();
        assert!(e.message().contains("a → b → a"), "{}", e.message());
        assert!(next_chain(Some("a,b,c,d"), "e").is_err());
    }

    #[test]
    fn output_needs_version_1_and_keys() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let c = parse_output(
            r#"{"Version":1,"AccessKeyId":"AKIA","SecretAccessKey":"s","SessionToken":"t","Expiration":"2026-11-25T13:00:00Z"}"#,
            "p",
            now,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "AKIA");
        assert!(c.expiration.is_some());
        for bad in [
            r#"{"AccessKeyId":"AKIA","SecretAccessKey":"s"}"#,
            r#"{"Version":2,"AccessKeyId":"AKIA","SecretAccessKey":"s"}"#,
            r#"{"Version":1,"AccessKeyId":"AKIA"}"#,
            r#"{"Version":1,"AccessKeyId":"AKIA","SecretAccessKey":"s","Expiration":"soon"}"#,
            r#"{"Version":1,"AccessKeyId":"AKIA","SecretAccessKey":"s","Expiration":"2026-11-25T11:00:00Z"}"#,
            "not json SECRET",
        ] {
            let e = parse_output(bad, "p", now).unwrap_err();
            assert!(!e.report().contains("SECRET"), "{}", e.report());
        }
    }
}
