//! Claude Code and shell integration: `setup claude`, `setup aws-profile`, `status --json`,
//! `doctor`, `exec`, `env`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::process::Command;

fn settings_path(h: &Harness) -> std::path::PathBuf {
    h.home().join(".claude/settings.json")
}

#[test]
fn setup_claude_writes_merges_backs_up_and_is_idempotent() {
    let h = Harness::new("file", Settings::default());
    std::fs::create_dir_all(h.home().join(".claude")).unwrap();
    std::fs::write(
        settings_path(&h),
        r#"{"theme": "dark", "env": {"AWS_PROFILE": "bedrock", "FOO": "1"}}"#,
    )
    .unwrap();

    let dry = h.run(&[
        "setup",
        "claude",
        "--profile",
        "bedrock",
        "--remove-aws-profile",
        "--dry-run",
    ]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("Would change"));
    assert!(stdout(&dry).contains("- env.AWS_PROFILE"));
    assert!(
        std::fs::read_to_string(settings_path(&h))
            .unwrap()
            .contains("AWS_PROFILE"),
        "dry run writes nothing"
    );

    let o = h.run(&[
        "setup",
        "claude",
        "--profile",
        "bedrock",
        "--remove-aws-profile",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(settings_path(&h)).unwrap()).unwrap();
    let exe = env!("CARGO_BIN_EXE_awscred");
    assert_eq!(
        v["awsCredentialExport"],
        format!("{exe} export --profile bedrock")
    );
    assert_eq!(
        v["awsAuthRefresh"],
        format!("{exe} login --profile bedrock")
    );
    assert_eq!(v["theme"], "dark");
    assert_eq!(v["env"]["FOO"], "1");
    assert_eq!(v["env"]["CLAUDE_CODE_USE_BEDROCK"], "1");
    assert_eq!(
        v["env"]["AWS_REGION"], "us-east-1",
        "from the profile's region"
    );
    assert!(
        v["env"].get("ANTHROPIC_MODEL").is_none(),
        "no model ids unless asked"
    );
    assert!(v["env"].get("AWS_PROFILE").is_none());
    // The backup is private, in awscred's state directory, and the message names it.
    let out = stdout(&o);
    let backup = out
        .lines()
        .find_map(|l| l.strip_prefix("The previous file is kept as "))
        .and_then(|l| l.strip_suffix('.'))
        .unwrap_or_else(|| panic!("no backup named in {out}"));
    let backup = std::path::Path::new(backup);
    assert!(
        backup.starts_with(h.home().join(".local/state/awscred")),
        "{}",
        backup.display()
    );
    assert!(
        std::fs::read_to_string(backup)
            .unwrap()
            .contains("AWS_PROFILE")
    );
    assert_eq!(
        std::fs::read_dir(h.home().join(".claude")).unwrap().count(),
        1,
        "nothing beside settings.json"
    );

    let before = std::fs::read(settings_path(&h)).unwrap();
    let again = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(stdout(&again).contains("nothing to change"));
    assert_eq!(std::fs::read(settings_path(&h)).unwrap(), before);
}

#[test]
fn setup_claude_quotes_a_path_with_spaces_so_the_shell_runs_it() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let dir = h.home().join("Program Files/awscred dir");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("awscred");
    std::fs::copy(env!("CARGO_BIN_EXE_awscred"), &exe).unwrap();
    let c = h.command(&["setup", "claude", "--profile", "bedrock"]);
    let o = Command::new(&exe)
        .args(["setup", "claude", "--profile", "bedrock"])
        .envs(
            c.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .env_remove("PATH")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(settings_path(&h)).unwrap()).unwrap();
    let cmd = v["awsCredentialExport"].as_str().unwrap().to_string();
    assert_eq!(cmd, format!("'{}' export --profile bedrock", exe.display()));
    // The command as Claude Code runs it: through the shell.
    assert!(h.run(&["login", "--profile", "bedrock"]).status.success());
    let o = h
        .command(&[])
        .get_envs()
        .fold(Command::new("sh"), |mut s, (k, v)| {
            if let Some(v) = v {
                s.env(k, v);
            }
            s
        })
        .args(["-c", &cmd])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    parse_export(&stdout(&o));
}

#[test]
fn setup_claude_needs_a_region() {
    let h = Harness::new("file", Settings::default());
    h.write_config("[sso-session corp]\nsso_start_url = https://x\nsso_region = us-east-1\n[profile r]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = R\n");
    let o = h.run(&["setup", "claude", "--profile", "r"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("hint: run awscred setup claude --profile r --region us-east-1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn setup_aws_profile_keeps_the_file_and_is_idempotent() {
    let h = Harness::new("file", Settings::default());
    let original =
        format!("# my settings\n{CONFIG}\n[profile bedrock-cli] ; mine\nregion = us-west-2\n");
    h.write_config(&original);
    let o = h.run(&[
        "setup",
        "aws-profile",
        "bedrock-cli",
        "--profile",
        "bedrock",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(h.config_path()).unwrap();
    let exe = env!("CARGO_BIN_EXE_awscred");
    assert_eq!(
        text,
        original.replace(
            "region = us-west-2\n",
            &format!("region = us-west-2\ncredential_process = {exe} process --profile bedrock\n")
        )
    );
    let o = h.run(&[
        "setup",
        "aws-profile",
        "bedrock-cli",
        "--profile",
        "bedrock",
    ]);
    assert!(stdout(&o).contains("nothing to change"));
    assert_eq!(std::fs::read_to_string(h.config_path()).unwrap(), text);
    let o = h.run(&["setup", "aws-profile", "bedrock", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "a profile cannot point at itself");
}

#[test]
fn status_json_and_doctor() {
    let h = Harness::new("file", Settings::default());
    let o = h.run(&["doctor", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("error not signed in"), "{}", stdout(&o));
    assert!(stdout(&o).contains("fix: awscred login --profile bedrock"));
    h.login();
    std::fs::create_dir_all(h.home().join(".claude")).unwrap();
    std::fs::write(settings_path(&h), r#"{"env": {"AWS_PROFILE": "bedrock"}}"#).unwrap();
    let o = h.run(&["doctor", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("warn  env.AWS_PROFILE = \"bedrock\" in user settings"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("error env lacks AWS_REGION"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o)
            .contains("STS GetCallerIdentity: arn:aws:sts::111122223333:assumed-role/BedrockUser/"),
        "{}",
        stdout(&o)
    );
    assert!(
        h.run(&["setup", "claude", "--profile", "bedrock"])
            .status
            .success()
    );
    let o = h.run(&["doctor", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(!stdout(&o).contains("error"), "{}", stdout(&o));

    let s = h.run(&["status", "--profile", "bedrock", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(v["profile"], "bedrock");
    assert_eq!(v["store"], "file");
    assert_eq!(v["sign_in"]["signed_in"], true);
    assert_eq!(v["credentials"]["valid"], true);
    for secret in h.emu.issued_secrets() {
        assert!(
            !stdout(&s).contains(&secret) && !stdout(&o).contains(&secret),
            "no secret in status or doctor"
        );
    }
}

#[test]
fn exec_passes_credentials_and_the_exit_code() {
    let h = Harness::new("file", Settings::default());
    h.login();
    let o = h.run(&[
        "exec",
        "--profile",
        "bedrock",
        "--",
        "sh",
        "-c",
        "echo $AWS_ACCESS_KEY_ID $AWS_REGION ${AWS_PROFILE:-none}; exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let out = stdout(&o);
    let akid = out.split_whitespace().next().unwrap();
    assert!(h.emu.issued(akid).is_some(), "{out}");
    assert!(out.contains(" us-east-1 none"), "{out}");
    let o = h.run(&["exec", "--profile", "bedrock", "--", "no-such-program-xyz"]);
    assert_eq!(o.status.code(), Some(1));
    // awscred becomes the child: a signal ends it as it would end the child, the child's
    // parent is the caller, and the child is not held to awscred's core-file limit of 0.
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        let o = h.run(&[
            "exec",
            "--profile",
            "bedrock",
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ]);
        assert_eq!(o.status.signal(), Some(15), "{}", stderr(&o));
        let o = h
            .command(&[
                "exec",
                "--profile",
                "bedrock",
                "--",
                "sh",
                "-c",
                "echo $PPID",
            ])
            .output()
            .unwrap();
        assert_eq!(stdout(&o).trim(), std::process::id().to_string());
    }
}

#[test]
fn env_output_evaluates_in_a_shell() {
    let h = Harness::new("file", Settings::default());
    h.login();
    let o = h.run(&["env", "--profile", "bedrock"]);
    assert!(o.status.success());
    let script = format!(
        "{}\necho \"$AWS_ACCESS_KEY_ID|$AWS_CREDENTIAL_EXPIRATION\"",
        stdout(&o)
    );
    let r = Command::new("sh").args(["-c", &script]).output().unwrap();
    let line = stdout(&r);
    let (akid, exp) = line.trim().split_once('|').unwrap();
    assert!(h.emu.issued(akid).is_some());
    assert!(exp.ends_with('Z'));
    let j = h.run(&["env", "--profile", "bedrock", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["AWS_ACCESS_KEY_ID"], akid);
}

/// `login --force` is a new sign-in, perhaps as someone else: the credentials of every
/// profile on that sign-in go with the old one, whichever profile was named.
#[test]
fn login_force_drops_the_credentials_of_every_profile_on_the_sign_in() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = h.run(&["process", "--profile", "admin"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(h.emu.count("AssumeRole"), 1);
    let again = h.run(&["login", "--profile", "bedrock"]);
    assert!(
        stdout(&again)
            .contains("Already signed in to IAM Identity Center (sso-session corp) until"),
        "{}",
        stdout(&again)
    );
    let o = h.run(&["login", "--profile", "bedrock", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 2, "a new sign-in");
    let second = h.run(&["process", "--profile", "admin"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        h.emu.count("AssumeRole"),
        2,
        "admin's credentials were dropped"
    );
    assert_ne!(stdout(&first), stdout(&second));
}

/// What a user does: `eval "$(awscred env)"` in a shell where AWS_PROFILE picks the
/// profile. Afterwards the profile variables are gone (the JavaScript SDK would otherwise
/// ignore the keys) and the keys are the ones the emulator issued.
#[test]
fn eval_of_env_in_sh_unsets_the_profile() {
    let h = Harness::new("file", Settings::default());
    h.login();
    let template = h.command(&[]);
    let mut sh = Command::new("sh");
    sh.env_clear();
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    let o = sh
        .args([
            "-c",
            r#"eval "$("$0" env --format sh)" || exit 9
printf '%s|%s|%s|%s' "${AWS_PROFILE-unset}" "${AWS_DEFAULT_PROFILE-unset}" "$AWS_ACCESS_KEY_ID" "$AWS_REGION""#,
            env!("CARGO_BIN_EXE_awscred"),
        ])
        .env("AWS_PROFILE", "bedrock")
        .env("AWS_DEFAULT_PROFILE", "bedrock")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let fields: Vec<&str> = out.split('|').collect();
    assert_eq!(fields[..2], ["unset", "unset"], "{out}");
    assert!(h.emu.issued(fields[2]).is_some(), "{out}");
    assert_eq!(fields[3], "us-east-1");
}

/// `env-no-export` and `json` cannot express an unset: they print the credentials only.
#[test]
fn env_formats_without_unset_leave_the_profile_out() {
    let h = Harness::new("file", Settings::default());
    h.login();
    let o = h.run(&["env", "--profile", "bedrock", "--format", "env-no-export"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        names,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_REGION",
            "AWS_DEFAULT_REGION"
        ],
        "{text}"
    );
    let o = h.run(&["env", "--profile", "bedrock", "--format", "windows-cmd"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with("set \"AWS_PROFILE=\"\nset \"AWS_DEFAULT_PROFILE=\"\n"),
        "{}",
        stdout(&o)
    );
    let help = h.run(&["env", "--help"]);
    let words = stdout(&help)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        words.contains("env-no-export and json cannot express an unset"),
        "{words}"
    );
}

/// `process` names the account it knows from the configuration (`sso_account_id`, the
/// role ARN) right after `SessionToken`, without asking STS.
#[test]
fn process_carries_the_account_known_from_the_configuration() {
    let h = Harness::new("file", Settings::default());
    h.login();
    for profile in ["bedrock", "admin"] {
        let o = h.run(&["process", "--profile", profile]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = stdout(&o);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "Version",
                "AccessKeyId",
                "SecretAccessKey",
                "SessionToken",
                "AccountId",
                "Expiration"
            ],
            "{profile}"
        );
        assert_eq!(v["AccountId"], ACCOUNT, "{profile}");
    }
    assert_eq!(h.emu.count("GetCallerIdentity"), 0);
}

/// A server that answers with a session token made to break out of shell quoting: `eval`
/// of the sh output runs none of it and sets the exact value; windows-cmd, which cannot
/// quote `%` and `"`, refuses without printing it.
#[test]
fn a_hostile_session_token_stays_data_in_every_env_format() {
    let h = Harness::new("file", Settings::default());
    h.write_config(&format!(
        "{CONFIG}\n[profile other]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = OtherRole\nregion = us-east-1\n"
    ));
    h.login();
    let token = "tok'$(touch pwned1)`touch pwned2`\"; touch pwned3 #%PATH%!\n'\\''";
    h.emu.inject(awscred_emulator::Fault {
        field: Some("sessionToken".into()),
        value: serde_json::Value::String(token.into()).to_string(),
        ..awscred_emulator::Fault::error("GetRoleCredentials", 0, "", 1)
    });
    let o = h.run(&["env", "--profile", "other", "--format", "sh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let work = tempfile::tempdir().unwrap();
    let script = format!("{}printf '%s' \"$AWS_SESSION_TOKEN\"", stdout(&o));
    let r = Command::new("sh")
        .args(["-c", &script])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(stdout(&r), token);
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "nothing in the token ran"
    );

    let p = h.run(&["process", "--profile", "other"]);
    let v: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(v["SessionToken"], token);

    let c = h.run(&["env", "--profile", "other", "--format", "windows-cmd"]);
    assert_eq!(c.status.code(), Some(1), "{}", stderr(&c));
    assert_eq!(stdout(&c), "");
    assert!(stderr(&c).contains("AWS_SESSION_TOKEN"), "{}", stderr(&c));
    assert!(!stderr(&c).contains("pwned"), "{}", stderr(&c));
}

/// `clear` drops credentials and keeps the sign-in; `--refresh` ignores cached credentials
/// once; `logout --all` leaves nothing behind.
#[test]
fn clear_refresh_and_logout_all() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    assert!(h.run(&["login", "--profile", "bedrock"]).status.success());
    let first = h.run(&["process", "--profile", "admin"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(h.emu.count("AssumeRole"), 1);

    let o = h.run(&["clear", "--profile", "admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("sign-ins are kept"), "{}", stderr(&o));
    let second = h.run(&["process", "--profile", "admin"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(h.emu.count("AssumeRole"), 2, "credentials were cleared");
    assert_ne!(stdout(&first), stdout(&second));

    let roles_before = h.emu.count("GetRoleCredentials");
    let third = h.run(&["process", "--profile", "admin", "--refresh"]);
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(
        h.emu.count("AssumeRole"),
        3,
        "--refresh fetched the role again"
    );
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        roles_before + 1,
        "and the step below it"
    );
    let again = h.run(&["process", "--profile", "admin"]);
    assert_eq!(stdout(&again), stdout(&third), "then the cache serves");

    assert!(h.run(&["clear", "--all"]).status.success());
    assert!(h.run(&["process", "--profile", "admin"]).status.success());
    assert_eq!(h.emu.count("AssumeRole"), 4);
    assert_eq!(
        h.emu.count("StartDeviceAuthorization"),
        1,
        "never a new sign-in"
    );

    let o = h.run(&["logout", "--all"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Signed out of IAM Identity Center (sso-session corp)."),
        "{}",
        stderr(&o)
    );
    let left: Vec<_> = std::fs::read_dir(h.cache_dir().join("store"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".json"))
        .collect();
    assert!(left.is_empty(), "nothing stored: {left:?}");
    let o = h.run(&["export", "--profile", "admin"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: run awscred login --profile admin"),
        "{}",
        stderr(&o)
    );
}

/// aws-vault's habits: `exec PROFILE -- CMD`, no command starts the shell, a nested exec of
/// another profile is refused, `--region` and `--duration` reach the child and STS.
#[cfg(unix)]
#[test]
fn exec_takes_the_profile_first_starts_a_shell_and_sets_region_and_duration() {
    let mut h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    assert!(h.run(&["login", "--profile", "bedrock"]).status.success());
    let shell = h.home().join("shell.sh");
    std::fs::write(
        &shell,
        "#!/bin/sh\necho \"shell $AWSCRED_PROFILE ${AWS_ACCESS_KEY_ID:+has-key} $AWS_REGION\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&shell, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    h.set_env("SHELL", shell.to_str().unwrap());
    let o = h.run(&["exec", "admin", "--region", "eu-west-1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "shell admin has-key eu-west-1");

    let o = h.run(&[
        "exec",
        "admin",
        "--duration",
        "1h",
        "--",
        "sh",
        "-c",
        "echo $AWS_ACCESS_KEY_ID",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let last = h
        .emu
        .sts_calls()
        .into_iter()
        .rev()
        .find(|(op, _)| op == "AssumeRole");
    assert_eq!(
        last.and_then(|(_, p)| p.get("DurationSeconds").cloned())
            .as_deref(),
        Some("3600")
    );
    let o = h.run(&["exec", "bedrock", "--duration", "1h", "--", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("fixed by the permission set"),
        "{}",
        stderr(&o)
    );

    h.set_env("AWSCRED_PROFILE", "bedrock");
    let o = h.run(&["exec", "admin", "--", "true"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already runs inside `awscred exec` of profile bedrock"));
    let o = h.run(&["exec", "admin", "--nested", "--", "true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = h.run(&["exec", "--profile", "bedrock", "admin", "--", "true"]);
    assert_eq!(o.status.code(), Some(1), "two different profiles");
}

/// `exec --duration` on long-term keys sets GetSessionToken's DurationSeconds, and the
/// duration is part of that step's cache key: another duration is another GetSessionToken.
#[cfg(unix)]
#[test]
fn exec_duration_on_long_term_keys_sets_get_session_token_duration() {
    let h = Harness::new("file", Settings::default());
    h.emu.add_user(
        "AKIAEXECDURATION0001",
        "exec-duration-secret",
        ACCOUNT,
        "dev",
    );
    h.write_config(&format!("{CONFIG}\n[profile keys]\nregion = us-east-1\n"));
    std::fs::write(
        h.home().join(".aws/credentials"),
        "[keys]\naws_access_key_id = AKIAEXECDURATION0001\naws_secret_access_key = exec-duration-secret\n",
    )
    .unwrap();
    let run = |d: &str| {
        let o = h.run(&[
            "exec",
            "keys",
            "--duration",
            d,
            "--",
            "sh",
            "-c",
            "echo ${AWS_SESSION_TOKEN:+temporary}",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            stdout(&o).trim(),
            "temporary",
            "session credentials, not the keys"
        );
    };
    let durations = || {
        h.emu
            .sts_calls()
            .into_iter()
            .filter(|(op, _)| op == "GetSessionToken")
            .map(|(_, p)| p.get("DurationSeconds").cloned().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    run("2h");
    assert_eq!(durations(), ["7200"]);
    run("2h");
    assert_eq!(durations(), ["7200"], "served from the cache");
    run("1h");
    assert_eq!(
        durations(),
        ["7200", "3600"],
        "another duration, another step"
    );
}

/// `list` shows every profile from the cache alone; completion scripts get profile names.
#[test]
fn list_and_profile_name_completion() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let before = h.total_requests();
    let o = h.run(&["list", "--names"]);
    assert_eq!(stdout(&o), "admin\nbedrock\n");
    let o = h.run(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[1]["profile"], "bedrock");
    assert_eq!(v[1]["source"], "sso");
    assert_eq!(v[1]["sign_in"], "signed-out");
    assert_eq!(h.total_requests(), before, "list sends nothing");
    assert!(h.run(&["login", "--profile", "bedrock"]).status.success());
    let o = h.run(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v[0]["sign_in"], "signed-in",
        "admin shares bedrock's sign-in"
    );
    assert!(
        v[1]["credentials_until"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let o = h.run(&["list"]);
    assert!(stdout(&o).starts_with("PROFILE"), "{}", stdout(&o));

    // What fish's completion script runs while `awscred export --profile b<TAB>` is typed.
    let o = h
        .command(&["--", "awscred", "export", "--profile", "b"])
        .env("AWSCRED_COMPLETE", "fish")
        .output()
        .unwrap();
    assert_eq!(stdout(&o).trim(), "bedrock", "{}", stderr(&o));
    let o = h.run(&["completions", "bash"]);
    assert!(stdout(&o).contains("AWSCRED_COMPLETE"), "{}", stdout(&o));
}

/// Self-healing: when AWS rejects cached credentials, awscred drops them and fetches once
/// more by itself; a permission answer drops nothing.
#[test]
fn rejected_cached_credentials_are_dropped_and_fetched_again() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    h.write_config(&format!(
        "{CONFIG}\n[profile viewer]\nrole_arn = arn:aws:iam::111122223333:role/Viewer\nsource_profile = bedrock\n[profile denied]\nrole_arn = arn:aws:iam::111122223333:role/Denied\nsource_profile = bedrock\n"
    ));
    assert!(h.run(&["login", "--profile", "bedrock"]).status.success());
    assert!(h.run(&["process", "--profile", "admin"]).status.success());
    let roles = h.emu.count("GetRoleCredentials");

    // The role sessions are revoked; the sign-in stays. viewer's AssumeRole is signed with
    // bedrock's cached (now unknown) credentials: rejected, dropped, fetched, retried.
    h.emu.forget_credentials();
    let o = h.run(&["process", "--profile", "viewer"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(h.emu.issued(v["AccessKeyId"].as_str().unwrap()).is_some());
    assert_eq!(h.emu.count("GetRoleCredentials"), roles + 1);

    // A permission answer is not a stale credential.
    h.emu.deny_role("arn:aws:iam::111122223333:role/Denied");
    let o = h.run(&["process", "--profile", "denied"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("AccessDenied"), "{}", stderr(&o));
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        roles + 1,
        "nothing dropped"
    );

    // Everything forgotten (a restarted service): export still serves its cache (it cannot
    // know), then `awscred login` (Claude Code's awsAuthRefresh after Bedrock refused them)
    // checks with one GetCallerIdentity, drops them and signs in again.
    h.emu.forget_sessions();
    let o = h.run(&["login", "--profile", "admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("AWS no longer accepts the cached credentials"),
        "{}",
        stdout(&o)
    );
    let o = h.run(&["process", "--profile", "admin"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        h.emu.issued(v["AccessKeyId"].as_str().unwrap()).is_some(),
        "credentials AWS accepts again"
    );
}

/// `setup aws-profile` writes a working profile: the region, no clobbering of another
/// source, and only names botocore reads back.
#[test]
fn setup_aws_profile_writes_region_refuses_clobbering_and_bad_names() {
    let h = Harness::new("file", Settings::default());
    let run = |args: &[&str]| {
        let mut a = vec!["setup", "aws-profile"];
        a.extend_from_slice(args);
        h.run(&a)
    };
    let before = std::fs::read_to_string(h.config_path()).unwrap();
    for bad in ["bad name]", "x\n[profile evil]", "\"q\"", ""] {
        let o = run(&[bad, "--profile", "bedrock"]);
        assert_eq!(o.status.code(), Some(1), "{bad:?}: {}", stderr(&o));
        assert_eq!(std::fs::read_to_string(h.config_path()).unwrap(), before);
    }
    let o = run(&["admin", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("already has role_arn"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(h.config_path()).unwrap(), before);

    let o = run(&["new-cli", "--profile", "bedrock", "--dry-run"]);
    assert!(
        stdout(&o).contains("  region = us-east-1"),
        "{}",
        stdout(&o)
    );
    assert_eq!(std::fs::read_to_string(h.config_path()).unwrap(), before);
    let o = run(&["new-cli", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["eu-cli", "--profile", "bedrock", "--region", "eu-west-1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["admin", "--profile", "bedrock", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(h.config_path()).unwrap();
    assert!(
        text.contains("[profile new-cli]\nregion = us-east-1\ncredential_process = "),
        "{text}"
    );
    assert!(
        text.contains("[profile eu-cli]\nregion = eu-west-1\n"),
        "{text}"
    );
    // The profiles work for the AWS CLI's resolution rules as awscred reads them.
    let o = h.run(&["status", "--profile", "new-cli"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Errors say what fixes them: keys AWS does not accept point at where they came from
/// (not at a sign-in), and doctor suggests signing in only when AWS refused credentials.
#[test]
fn rejected_keys_and_unreachable_endpoints_get_the_right_fix() {
    let mut h = Harness::new("file", Settings::default());
    h.write_config(&format!(
        "{CONFIG}\n[profile envrole]\nrole_arn = arn:aws:iam::111122223333:role/R\ncredential_source = Environment\n[profile static]\nregion = us-east-1\n"
    ));
    std::fs::write(
        h.home().join(".aws/credentials"),
        "[static]\naws_access_key_id = AKIAUNKNOWN000000001\naws_secret_access_key = nope\n",
    )
    .unwrap();
    h.set_env("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000002");
    h.set_env("AWS_SECRET_ACCESS_KEY", "nope");
    let o = h.run(&["process", "--profile", "envrole"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: AWS does not accept AWS_ACCESS_KEY_ID"),
        "{}",
        stderr(&o)
    );
    let o = h.run(&["export", "--profile", "static"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("AWS did not accept the long-term keys of profile static"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("put current aws_access_key_id"),
        "{}",
        stderr(&o)
    );

    // Nothing listens on port 1: doctor's STS check fails to connect, and the fix is the
    // network, not a sign-in.
    h.set_env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1");
    let o = h.run(&["doctor", "--profile", "static"]);
    let out = stdout(&o);
    assert!(out.contains("could not reach http://127.0.0.1:1"), "{out}");
    assert!(!out.contains("fix: awscred login"), "{out}");
}

/// "Sign-in needed" says why, and a refresh token IAM Identity Center rejected is not
/// called refreshable any more.
#[test]
fn sign_in_needed_says_why() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            token_ttl: 120,
            ..Settings::default()
        },
    );
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("there is no sign-in on this machine"),
        "{}",
        stderr(&o)
    );

    assert!(h.run(&["login", "--profile", "bedrock"]).status.success());
    let s = h.run(&["status", "--profile", "bedrock"]);
    assert!(stdout(&s).contains(", refreshable"), "{}", stdout(&s));
    h.emu.forget_sessions();
    // admin needs a token (its role is not cached); the token is within its refresh window,
    // and the refresh is refused.
    let o = h.run(&["export", "--profile", "admin"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rejected the refresh token"),
        "{}",
        stderr(&o)
    );
    let s = h.run(&["status", "--profile", "bedrock"]);
    assert!(!stdout(&s).contains("refreshable"), "{}", stdout(&s));
}
