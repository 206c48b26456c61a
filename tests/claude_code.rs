//! The real Claude Code CLI (from the npm registry, version pinned in scripts/test) driven
//! against the emulator, configured by `awscred setup claude`.
//!
//! Unix only: the recorder in front of the binary is a shell script.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::{Fault, Settings};
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn claude_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("AWSCRED_TEST_CLAUDE") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/claude-code/node_modules/.bin/claude");
    p.exists().then_some(p)
}

/// Signs in and runs `awscred setup claude` with `awscred` on PATH (so the settings say
/// `awscred export --profile bedrock`), then puts a recorder in front of the binary under
/// that name: each run Claude Code makes is logged with the time and what it printed.
fn setup(h: &mut Harness) -> PathBuf {
    h.login();
    let bin_dir = h.home().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let shim = bin_dir.join("awscred");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_awscred"), &shim).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    h.set_env("PATH", &path);
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let settings = std::fs::read_to_string(h.home().join(".claude/settings.json")).unwrap();
    assert!(
        settings.contains("\"awscred export --profile bedrock\""),
        "{settings}"
    );
    let log = h.home().join("export.log");
    std::fs::remove_file(&shim).unwrap();
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nout=$(\"{}\" \"$@\")\nrc=$?\nprintf '%s %s %s\\n' \"$(date +%s)\" \"$1\" \"$out\" >> \"{}\"\nprintf '%s\\n' \"$out\"\nexit $rc\n",
            env!("CARGO_BIN_EXE_awscred"),
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    log
}

/// The `awscred export` runs Claude Code made: (unix time, access key id, expiration).
fn export_runs(log: &PathBuf) -> Vec<(i64, String, chrono::DateTime<chrono::Utc>)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').nth(1) == Some("export"))
        .map(|l| {
            let (t, rest) = l.split_once(' ').unwrap();
            let json = rest.split_once(' ').unwrap().1;
            let c = parse_export(&format!("{json}\n"));
            (
                t.parse().unwrap(),
                c["AccessKeyId"].as_str().unwrap().to_string(),
                chrono::DateTime::parse_from_rfc3339(c["Expiration"].as_str().unwrap())
                    .unwrap()
                    .into(),
            )
        })
        .collect()
}

fn claude(h: &Harness, bin: &PathBuf, args: &[&str]) -> Command {
    let base = h.command(&[]);
    let mut c = Command::new(bin);
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.env_remove("AWSCRED_CACHE_DIR")
        .env("ANTHROPIC_BEDROCK_BASE_URL", h.emu.url())
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .current_dir(h.home())
        .args(args)
        .stdin(Stdio::null());
    c
}

/// Claude Code succeeded and printed the emulator's reply; `context` follows "claude failed"
/// in the message otherwise.
fn assert_replied(o: &Output, context: &str) {
    assert!(
        o.status.success(),
        "claude failed{context}: {}\n{}",
        stdout(o),
        stderr(o)
    );
    assert!(
        stdout(o).contains("Hello from the awscred emulator."),
        "{}",
        stdout(o)
    );
}

/// Every Bedrock request was signed with role credentials awscred obtained.
fn assert_signed_by_awscred(h: &Harness) -> Vec<String> {
    let signers = h.emu.bedrock_signers();
    assert!(!signers.is_empty(), "Claude Code sent no Bedrock request");
    for akid in &signers {
        let who = h
            .emu
            .issued(akid)
            .expect("signed with credentials the emulator issued");
        assert!(
            who.arn.contains(":assumed-role/BedrockUser/"),
            "{}",
            who.arn
        );
    }
    signers
}

#[test]
fn claude_prints_the_reply_with_awscred_credentials() {
    let Some(bin) = claude_bin() else {
        return missing("the Claude Code CLI (npm install @anthropic-ai/claude-code)");
    };
    let mut h = Harness::new("file", Settings::default());
    let log = setup(&mut h);
    let o = claude(&h, &bin, &["-p", "say hi"]).output().unwrap();
    assert_replied(&o, "");
    assert!(h.emu.count("InvokeModelWithResponseStream") >= 1);
    let signers = assert_signed_by_awscred(&h);
    let runs = export_runs(&log);
    assert!(!runs.is_empty(), "Claude Code ran awscred export");
    assert!(
        signers.iter().all(|s| runs.iter().any(|r| &r.1 == s)),
        "every signer came from an export run"
    );
}

#[test]
fn expired_token_makes_claude_rerun_export_and_retry() {
    let Some(bin) = claude_bin() else {
        return missing("the Claude Code CLI (npm install @anthropic-ai/claude-code)");
    };
    // Short-lived role credentials: every run of `awscred export` fetches new ones, so a
    // re-run shows as a new signer.
    let mut h = Harness::new("file", Settings::default());
    let log = setup(&mut h);
    h.emu.inject(Fault::error(
        "InvokeModelWithResponseStream",
        403,
        "ExpiredTokenException",
        1,
    ));
    let o = claude(&h, &bin, &["-p", "say hi"]).output().unwrap();
    assert_replied(&o, "");
    assert!(
        h.emu.count("InvokeModelWithResponseStream") >= 2,
        "{:?}",
        h.emu.counters()
    );
    let runs = export_runs(&log);
    assert!(
        runs.len() >= 2,
        "Claude Code ran awscred export again after ExpiredToken: {runs:?}"
    );
    assert_signed_by_awscred(&h);
}

#[test]
fn claude_refreshes_before_expiration_minus_five_minutes() {
    let Some(bin) = claude_bin() else {
        return missing("the Claude Code CLI (npm install @anthropic-ai/claude-code)");
    };
    // 6 min 10 s: Claude Code keeps them until Expiration − 5 min, i.e. 70 s.
    let mut h = Harness::new(
        "file",
        Settings {
            credentials_ttl: 370,
            ..Settings::default()
        },
    );
    let log = setup(&mut h);
    let mut child = claude(
        &h,
        &bin,
        &[
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--verbose",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let prompt = |stdin: &mut std::process::ChildStdin, text: &str| {
        let msg = serde_json::json!({"type": "user", "message": {"role": "user", "content": text}});
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(120))
                .expect("a result from Claude Code");
            if line.contains("\"type\":\"result\"") {
                assert!(line.contains("Hello from the awscred emulator."), "{line}");
                break;
            }
        }
    };
    prompt(&mut stdin, "first");
    let grc1 = h.emu.count("GetRoleCredentials");
    assert_eq!(export_runs(&log).len(), 1);
    std::thread::sleep(Duration::from_secs(80));
    prompt(&mut stdin, "second");
    // Claude Code refreshes in the background once its copy is within 5 minutes of
    // expiring: wait for that run before ending the session.
    let mut runs = export_runs(&log);
    for _ in 0..120 {
        if runs.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        runs = export_runs(&log);
    }
    drop(stdin);
    let _ = child.wait();
    assert_eq!(
        runs.len(),
        2,
        "Claude Code ran awscred export a second time: {runs:?}"
    );
    assert_ne!(
        runs[0].1, runs[1].1,
        "the second run handed out new credentials"
    );
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        grc1 + 1,
        "one more GetRoleCredentials"
    );
    // Neither set had 6 minutes or less left when Claude Code got it.
    for (at, akid, exp) in &runs {
        let left = *exp - chrono::DateTime::from_timestamp(*at, 0).unwrap();
        assert!(
            left > chrono::Duration::minutes(6),
            "{akid} had {left:?} left"
        );
    }
    assert_signed_by_awscred(&h);
}

#[test]
fn a_user_level_aws_profile_does_not_stop_awscred_export() {
    let Some(bin) = claude_bin() else {
        return missing("the Claude Code CLI (npm install @anthropic-ai/claude-code)");
    };
    // Claude Code skips awsCredentialExport for AWS_PROFILE from managed policy only, so
    // `setup` leaves a user's env.AWS_PROFILE alone and `doctor` only warns about it.
    let mut h = Harness::new("file", Settings::default());
    let log = setup(&mut h);
    let path = h.home().join(".claude/settings.json");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "\"CLAUDE_CODE_USE_BEDROCK\"",
        "\"AWS_PROFILE\": \"bedrock\",\n    \"CLAUDE_CODE_USE_BEDROCK\"",
    );
    std::fs::write(&path, &text).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["env"]["AWS_PROFILE"], "bedrock");
    let o = claude(&h, &bin, &["-p", "say hi"]).output().unwrap();
    assert!(
        o.status.success(),
        "claude failed: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    let signers = assert_signed_by_awscred(&h);
    let runs = export_runs(&log);
    assert!(!runs.is_empty(), "Claude Code ran awscred export");
    assert!(
        signers.iter().all(|s| runs.iter().any(|r| &r.1 == s)),
        "every signer came from an export run"
    );
}

/// AWS forgets every session (a revocation, a restarted service): Bedrock rejects the
/// cached credentials, Claude Code re-runs `export` (a cache hit: awscred cannot know yet),
/// its own GetCallerIdentity fails, so it runs `awsAuthRefresh` — `awscred login` checks
/// the cached credentials with one GetCallerIdentity, drops them, and the retry works.
#[test]
fn rejected_cached_credentials_heal_through_aws_auth_refresh() {
    let Some(bin) = claude_bin() else {
        return missing("the Claude Code CLI (npm install @anthropic-ai/claude-code)");
    };
    let mut h = Harness::new("file", Settings::default());
    let log = setup(&mut h);
    let o = claude(&h, &bin, &["-p", "say hi"]).output().unwrap();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let first = export_runs(&log);
    assert!(!first.is_empty());
    let stale = first[first.len() - 1].1.clone();

    h.emu.forget_credentials();
    let o = claude(&h, &bin, &["-p", "say hi"]).output().unwrap();
    assert_replied(&o, " after AWS forgot the session");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().any(|l| l.split(' ').nth(1) == Some("login")),
        "Claude Code ran awsAuthRefresh (awscred login): {text}"
    );
    let runs = export_runs(&log);
    let last = &runs[runs.len() - 1].1;
    assert_ne!(last, &stale, "the last export handed out new credentials");
    let signers = h.emu.bedrock_signers();
    assert_eq!(
        signers.last(),
        Some(last),
        "the answer was signed with the healed credentials"
    );
}

#[test]
fn claude_answers_with_a_bedrock_api_key_from_awscred_exec() {
    let Some(bin) = claude_bin() else {
        return missing("the Claude Code CLI (npm install @anthropic-ai/claude-code)");
    };
    // No settings at all: Claude Code gets a Bedrock API key and a region, nothing else.
    let h = Harness::new("file", Settings::default());
    h.login();
    let bin = bin.to_string_lossy().into_owned();
    let o = h
        .command(&[
            "exec",
            "bedrock",
            "--bedrock-token",
            "--",
            &bin,
            "-p",
            "say hi",
        ])
        .env("CLAUDE_CODE_USE_BEDROCK", "1")
        .env("ANTHROPIC_BEDROCK_BASE_URL", h.emu.url())
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .current_dir(h.home())
        .output()
        .unwrap();
    assert_replied(&o, "");
    assert!(h.emu.count("InvokeModelWithResponseStream") >= 1);
    let bearers = h.emu.bedrock_bearers();
    assert!(
        !bearers.is_empty(),
        "Claude Code sent the key as a Bearer token"
    );
    assert!(
        h.emu.bedrock_signers().is_empty(),
        "no SigV4-signed Bedrock request: {:?}",
        h.emu.bedrock_signers()
    );
    for akid in &bearers {
        let who = h
            .emu
            .issued(akid)
            .expect("a key minted from issued credentials");
        assert!(
            who.arn.contains(":assumed-role/BedrockUser/"),
            "{}",
            who.arn
        );
    }
}
