//! Claude Code as it is today, end to end with the built binary: `setup claude` edits the
//! settings in place and writes no model ids unless asked, `doctor` reads the settings the
//! way Claude Code merges them, and `awscred login` (the `awsAuthRefresh` command) shows
//! the sign-in URL before any browser starts.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

const EXE: &str = env!("CARGO_BIN_EXE_awscred");

fn user_settings(h: &Harness) -> PathBuf {
    h.home().join(".claude/settings.json")
}

fn write_user_settings(h: &Harness, text: &str) {
    std::fs::create_dir_all(h.home().join(".claude")).unwrap();
    std::fs::write(user_settings(h), text).unwrap();
}

fn read_user_settings(h: &Harness) -> String {
    std::fs::read_to_string(user_settings(h)).unwrap()
}

/// `awscred doctor` from an empty directory: no project settings.
fn doctor(h: &Harness) -> std::process::Output {
    let dir = h.home().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    h.command(&["doctor", "--profile", "bedrock"])
        .current_dir(dir)
        .output()
        .unwrap()
}

fn signed_in() -> Harness {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    h
}

#[test]
fn setup_edits_in_place_keeping_order_indentation_and_unknown_keys() {
    let h = Harness::new("file", Settings::default());
    let original = "{\n    \"env\": {\n        \"FOO\": \"1\",\n        \"AWS_PROFILE\": \"bedrock\"\n    },\n    \"theme\": \"dark\",\n    \"someFutureKey\": {\"nested\": [1, 2, {\"x\": null}]}\n}\n";
    write_user_settings(&h, original);
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = format!(
        "{{\n    \"env\": {{\n        \"FOO\": \"1\",\n        \"AWS_PROFILE\": \"bedrock\",\n        \"CLAUDE_CODE_USE_BEDROCK\": \"1\",\n        \"AWS_REGION\": \"us-east-1\",\n        \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"4096\",\n        \"MAX_THINKING_TOKENS\": \"1024\"\n    }},\n    \"theme\": \"dark\",\n    \"someFutureKey\": {{\"nested\": [1, 2, {{\"x\": null}}]}},\n    \"awsCredentialExport\": \"{EXE} export --profile bedrock\",\n    \"awsAuthRefresh\": \"{EXE} login --profile bedrock\"\n}}\n"
    );
    assert_eq!(read_user_settings(&h), expected);
    // No model ids unless asked.
    assert!(!read_user_settings(&h).contains("MODEL"));
    // AWS_PROFILE stays, and the output says why it matters and how to remove it.
    let out = stdout(&o);
    assert!(
        out.contains("Note: env.AWS_PROFILE = \"bedrock\" stays")
            && out.contains(
                "awscred setup claude --profile bedrock --scope user --remove-aws-profile"
            ),
        "{out}"
    );

    let o = h.run(&[
        "setup",
        "claude",
        "--profile",
        "bedrock",
        "--remove-aws-profile",
        "--no-token-limits",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("- env.AWS_PROFILE (was \"bedrock\")"));
    assert_eq!(
        read_user_settings(&h),
        expected.replace("        \"AWS_PROFILE\": \"bedrock\",\n", "")
    );
}

#[test]
fn setup_leaves_out_token_limits_when_asked() {
    let h = Harness::new("file", Settings::default());
    let o = h.run(&[
        "setup",
        "claude",
        "--profile",
        "bedrock",
        "--no-token-limits",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = read_user_settings(&h);
    assert!(text.contains("\"AWS_REGION\": \"us-east-1\""), "{text}");
    assert!(!text.contains("TOKENS"), "{text}");
}

#[test]
fn setup_checks_model_ids_against_the_region() {
    let h = Harness::new("file", Settings::default());
    let setup = |extra: &[&str]| {
        let mut args = vec!["setup", "claude", "--profile", "bedrock"];
        args.extend_from_slice(extra);
        h.run(&args)
    };
    // A US profile cannot be called from an EU region: refused, with the right prefix.
    let o = setup(&[
        "--region",
        "eu-west-1",
        "--model",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("hint: use --model eu.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        "{}",
        stderr(&o)
    );
    assert!(!user_settings(&h).exists(), "nothing written");
    // --region must be a region name.
    let o = setup(&["--region", "us-east"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not a region name"),
        "{}",
        stderr(&o)
    );
    // --default-models is refused with a hint.
    let o = setup(&["--default-models"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("hint: run awscred setup claude --profile bedrock without --default-models"),
        "{}",
        stderr(&o)
    );
    assert!(!user_settings(&h).exists(), "nothing written");
    // An unknown prefix is written with a warning; an application inference profile ARN
    // is accepted; --small-fast-model becomes --haiku-model with a warning.
    let arn = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc";
    let o = setup(&[
        "--model",
        "mx.anthropic.claude-x",
        "--opus-model",
        arn,
        "--small-fast-model",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning: mx.anthropic.claude-x: awscred does not know the inference-profile prefix `mx.`"), "{err}");
    assert!(
        err.contains("warning: --small-fast-model is deprecated"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&read_user_settings(&h)).unwrap();
    assert_eq!(v["env"]["ANTHROPIC_MODEL"], "mx.anthropic.claude-x");
    assert_eq!(v["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"], arn);
    assert_eq!(
        v["env"]["ANTHROPIC_DEFAULT_HAIKU_MODEL"],
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
    assert!(v["env"].get("ANTHROPIC_SMALL_FAST_MODEL").is_none());
}

#[test]
fn stale_model_ids_are_offered_for_removal_with_dry_run_and_backup() {
    let h = Harness::new("file", Settings::default());
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // What an earlier awscred wrote with --default-models.
    let stale = read_user_settings(&h).replace(
        "\"MAX_THINKING_TOKENS\": \"1024\"",
        "\"MAX_THINKING_TOKENS\": \"1024\",\n    \"ANTHROPIC_MODEL\": \"us.anthropic.claude-3-7-sonnet-20250219-v1:0\",\n    \"ANTHROPIC_SMALL_FAST_MODEL\": \"us.anthropic.claude-3-5-haiku-20241022-v1:0\"",
    );
    write_user_settings(&h, &stale);
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("nothing to change"), "{out}");
    assert!(
        out.contains("env.ANTHROPIC_MODEL = \"us.anthropic.claude-3-7-sonnet-20250219-v1:0\"")
            && out.contains("--scope user --remove-stale-models"),
        "{out}"
    );
    assert_eq!(read_user_settings(&h), stale);

    let o = h.run(&[
        "setup",
        "claude",
        "--profile",
        "bedrock",
        "--remove-stale-models",
        "--dry-run",
    ]);
    assert!(
        stdout(&o).contains("- env.ANTHROPIC_MODEL"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("- env.ANTHROPIC_SMALL_FAST_MODEL"));
    assert_eq!(read_user_settings(&h), stale, "a dry run writes nothing");

    let o = h.run(&[
        "setup",
        "claude",
        "--profile",
        "bedrock",
        "--remove-stale-models",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = read_user_settings(&h);
    assert!(!text.contains("ANTHROPIC_"), "{text}");
    let backup = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("The previous file is kept as "))
        .and_then(|l| l.strip_suffix('.'))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no backup in {}", stdout(&o)));
    assert_eq!(std::fs::read_to_string(backup).unwrap(), stale);
}

#[test]
fn doctor_merges_settings_as_claude_code_and_fixes_the_right_scope() {
    let h = signed_in();
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = doctor(&h);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("note  doctor reads settings files only: it cannot see managed policy"),
        "{}",
        stdout(&o)
    );

    // The local file turns Bedrock off: a user-scope fix would change nothing.
    let project = h.home().join("repo");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/settings.local.json"),
        r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": "0"}, "awsCredentialExport": "aws configure export-credentials"}"#,
    )
    .unwrap();
    let o = h
        .command(&["doctor", "--profile", "bedrock"])
        .current_dir(&project)
        .output()
        .unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("error awsCredentialExport in local settings")
            && out.contains("overrides awscred's in user settings"),
        "{out}"
    );
    assert!(
        out.contains("env.CLAUDE_CODE_USE_BEDROCK is \"0\" in local settings"),
        "{out}"
    );
    assert!(
        out.contains("fix: awscred setup claude --profile bedrock --scope local\n"),
        "{out}"
    );
    assert!(
        out.contains("awsCredentialExport in local settings")
            && out.contains("run only after you trust this workspace"),
        "{out}"
    );
    // The fix it names works.
    let o = h
        .command(&[
            "setup",
            "claude",
            "--profile",
            "bedrock",
            "--scope",
            "local",
        ])
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("only after you trust this workspace"),
        "{}",
        stdout(&o)
    );
    let o = h
        .command(&["doctor", "--profile", "bedrock"])
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(!stdout(&o).contains("error"), "{}", stdout(&o));
}

#[test]
fn doctor_reports_a_user_aws_profile_without_failing() {
    let h = signed_in();
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = read_user_settings(&h).replace(
        "\"CLAUDE_CODE_USE_BEDROCK\"",
        "\"AWS_PROFILE\": \"bedrock\",\n    \"CLAUDE_CODE_USE_BEDROCK\"",
    );
    write_user_settings(&h, &text);
    let o = doctor(&h);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("warn  env.AWS_PROFILE = \"bedrock\" in user settings")
            && out.contains("every process Claude Code starts")
            && out.contains(
                "fix: awscred setup claude --profile bedrock --scope user --remove-aws-profile"
            ),
        "{out}"
    );
}

/// Runs `awscred doctor` in a private mount namespace where /etc is an overlay of this
/// machine's with `managed` as /etc/claude-code: the managed settings of a machine,
/// without touching this one's. `None` when this process cannot make mount namespaces.
#[cfg(target_os = "linux")]
fn doctor_with_managed(h: &Harness, managed: &std::path::Path) -> Option<std::process::Output> {
    let can = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs tmpfs /mnt && mkdir /mnt/u /mnt/w \
             && mount -t overlay overlay -o lowerdir=/etc,upperdir=/mnt/u,workdir=/mnt/w /etc",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !can {
        missing("mount namespaces (unshare -m, as root)");
        return None;
    }
    let dir = h.home().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    let c = h.command(&["doctor", "--profile", "bedrock"]);
    let o = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs tmpfs /mnt && mkdir /mnt/u /mnt/w \
             && mount -t overlay overlay -o lowerdir=/etc,upperdir=/mnt/u,workdir=/mnt/w /etc \
             && rm -rf /etc/claude-code && cp -r \"$0\" /etc/claude-code && exec \"$@\"",
        ])
        .arg(managed)
        .arg(c.get_program())
        .args(c.get_args())
        .env_clear()
        .envs(
            c.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Some(o)
}

#[cfg(target_os = "linux")]
#[test]
fn doctor_reads_managed_settings_and_their_drop_ins() {
    let h = signed_in();
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let managed = h.home().join("managed");
    std::fs::create_dir_all(managed.join("managed-settings.d")).unwrap();
    std::fs::write(
        managed.join("managed-settings.json"),
        r#"{"env": {"AWS_PROFILE": "corp"}, "awsCredentialExport": "awscred export --profile bedrock"}"#,
    )
    .unwrap();
    // Applied after the managed file, in name order; hidden and non-JSON files are not.
    for (name, text) in [
        (
            "20-creds.json",
            r#"{"awsCredentialExport": "/opt/corp/creds"}"#,
        ),
        (
            "10-first.json",
            r#"{"awsCredentialExport": "/opt/corp/older"}"#,
        ),
        (
            ".99-hidden.json",
            r#"{"awsCredentialExport": "/opt/hidden"}"#,
        ),
        ("99-notes.txt", r#"{"awsCredentialExport": "/opt/notes"}"#),
    ] {
        std::fs::write(managed.join("managed-settings.d").join(name), text).unwrap();
    }
    let Some(o) = doctor_with_managed(&h, &managed) else {
        return;
    };
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{}", stderr(&o));
    assert!(
        out.contains("error awsCredentialExport in managed settings (/etc/claude-code/managed-settings.d/20-creds.json) overrides awscred's in managed settings (/etc/claude-code/managed-settings.json): Claude Code runs \"/opt/corp/creds\""),
        "{out}"
    );
    assert!(
        out.contains("error env.AWS_PROFILE = \"corp\" in managed settings (/etc/claude-code/managed-settings.json): Claude Code then skips awsCredentialExport"),
        "{out}"
    );
    assert!(
        out.contains("fix: ask your administrator to change /etc/claude-code/managed-settings.d/20-creds.json\n"),
        "{out}"
    );
    assert!(
        out.contains("fix: ask your administrator to remove env.AWS_PROFILE from /etc/claude-code/managed-settings.json\n"),
        "{out}"
    );
    assert!(
        !out.contains("/opt/hidden") && !out.contains("/opt/notes"),
        "{out}"
    );
}

// --- awsAuthRefresh: the URL is shown before any browser starts ---

const WEB_PROFILE: &str = "
[profile web]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = BedrockUser
awscred_login = browser
awscred_login_timeout = 60
";

fn browser_harness(mode: &str) -> Harness {
    let mut h = Harness::new("file", Settings::default());
    h.write_config(&format!("{CONFIG}{WEB_PROFILE}"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fake-browser.py"
    );
    h.set_env("BROWSER", &format!("python3 {script}"));
    h.set_env("FAKE_BROWSER_MODE", mode);
    h
}

#[test]
fn login_prints_the_url_before_it_starts_a_browser() {
    // The order is read from the system calls themselves: the write of the URL to stdout
    // returns before the browser's execve begins, whatever the scheduler does. (A browser
    // that looks at stdout once it runs cannot tell: awscred may print in the meantime.)
    if !std::process::Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return missing("strace");
    }
    let h = browser_harness("follow");
    let trace = h.home().join("trace");
    let c = h.command(&["login", "--profile", "web"]);
    let mut strace = std::process::Command::new("strace");
    strace
        .args(["-f", "-qq", "-s", "65536", "-e", "trace=write,execve", "-o"])
        .arg(&trace)
        .arg(c.get_program())
        .args(c.get_args())
        .env_clear()
        .envs(
            c.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .stdin(Stdio::null());
    let o = strace.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("/authorize?response_type=code"));
    let log = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let url = lines
        .iter()
        .position(|l| l.contains("write(1, \"  http") && l.contains("/authorize?"))
        .unwrap_or_else(|| panic!("no write of the URL to stdout:\n{log}"));
    let browser = lines
        .iter()
        .position(|l| l.contains("execve(") && l.contains("fake-browser.py"))
        .unwrap_or_else(|| panic!("no browser started:\n{log}"));
    assert!(
        url < browser,
        "the browser started before the URL was on stdout:\n{}\n{}",
        lines[browser],
        lines[url]
    );
}

#[test]
fn login_url_reaches_a_pipe_while_the_browser_waits_for_it() {
    let mut h = browser_harness("await-shown");
    let marker = h.home().join("url-seen");
    h.set_env("FAKE_BROWSER_SHOWN", marker.to_str().unwrap());
    // As Claude Code runs awsAuthRefresh: stdout is a pipe it shows line by line. The
    // browser goes on only once the test has read the URL from that pipe, so the sign-in
    // finishes only if the URL was flushed while awscred still waits.
    let mut child = h
        .command(&["login", "--profile", "web", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if line.contains("/authorize?response_type=code") && !marker.exists() {
            std::fs::write(&marker, "").unwrap();
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}\n{lines:#?}");
    let url_at = lines
        .iter()
        .position(|l| l.contains("/authorize?"))
        .unwrap();
    let done_at = lines
        .iter()
        .position(|l| l.starts_with("Signed in to"))
        .unwrap();
    assert!(url_at < done_at, "{lines:#?}");
}
