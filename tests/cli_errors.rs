//! Bad input gets exit 1, an error naming what is wrong, and a hint; never a panic, never
//! anything on stdout.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;

fn assert_user_error(o: &std::process::Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(o.stdout.is_empty(), "stdout must stay empty: {}", stdout(o));
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("\nhint: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n} not in {err}");
    }
}

#[test]
fn unknown_profile() {
    let h = Harness::new("file", Settings::default());
    assert_user_error(
        &h.run(&["export", "--profile", "nope"]),
        &["profile `nope` not found", "known profiles: admin, bedrock"],
    );
}

#[test]
fn malformed_config_names_file_and_line() {
    let h = Harness::new("file", Settings::default());
    h.write_config("[profile x]\nsso_start_url https://x\n");
    let path = h.config_path();
    assert_user_error(
        &h.run(&["process", "--profile", "x"]),
        &[&format!("{}:2", path.display())],
    );
}

#[test]
fn missing_sso_key_names_profile_and_key() {
    let h = Harness::new("file", Settings::default());
    h.write_config("[sso-session s]\nsso_start_url = https://x\n[profile x]\nsso_session = s\nsso_account_id = 1\nsso_role_name = r\n");
    assert_user_error(
        &h.run(&["export", "--profile", "x"]),
        &["[sso-session s] is missing sso_region"],
    );
}

#[test]
fn unknown_store() {
    let mut h = Harness::new("file", Settings::default());
    h.set_env("AWSCRED_CACHE", "floppy");
    assert_user_error(
        &h.run(&["export", "--profile", "bedrock"]),
        &["AWSCRED_CACHE", "secret-service"],
    );
}

#[test]
fn usage_errors_are_exit_1() {
    let h = Harness::new("file", Settings::default());
    let o = h.run(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

#[test]
fn profile_comes_from_aws_profile() {
    let mut h = Harness::new("file", Settings::default());
    h.set_env("AWS_PROFILE", "ghost");
    assert_user_error(&h.run(&["export"]), &["profile `ghost` not found"]);
}

#[test]
fn cycles_are_named() {
    let h = Harness::new("file", Settings::default());
    h.write_config("[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::1:role/B\nsource_profile = a\n");
    assert_user_error(&h.run(&["export", "--profile", "a"]), &["a → b → a"]);
}

#[test]
fn huge_durations_and_deep_chains_are_errors_not_aborts() {
    let mut h = Harness::new("file", Settings::default());
    h.set_env("AWSCRED_HTTP_TIMEOUT", "1e300");
    assert_user_error(
        &h.run(&["login", "--profile", "bedrock", "--device-code"]),
        &["AWSCRED_HTTP_TIMEOUT = `1e300`"],
    );

    let h = Harness::new("file", Settings::default());
    h.write_config(&format!(
        "{CONFIG}\n[profile slow]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = BedrockUser\nawscred_login_timeout = 18446744073709551615\n"
    ));
    assert_user_error(
        &h.run(&["export", "--profile", "slow"]),
        &["awscred_login_timeout = `18446744073709551615`"],
    );

    let mut deep = String::from(CONFIG);
    for i in 0..7000 {
        deep.push_str(&format!(
            "[profile p{i}]\nrole_arn = arn:aws:iam::111122223333:role/R{i}\nsource_profile = p{}\n",
            i + 1
        ));
    }
    deep.push_str("[profile p7000]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = BedrockUser\n");
    h.write_config(&deep);
    assert_user_error(
        &h.run(&["export", "--profile", "p0"]),
        &["source_profile chain longer than 64 profiles"],
    );
}

/// While awscred runs (here: waiting for `exec`'s child), its core-file limit is 0 and it
/// is not dumpable: another process of the same user cannot read its environment or
/// memory through /proc. Root bypasses that check, so the reader runs as another uid.
#[cfg(target_os = "linux")]
#[test]
fn a_running_awscred_writes_no_core_and_cannot_be_read() {
    use std::os::unix::fs::PermissionsExt;
    let mut h = Harness::new("file", Settings::default());
    std::fs::write(
        h.home().join(".aws/credentials"),
        "[static]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret-value\n",
    )
    .unwrap();
    h.set_env(
        "AWS_SHARED_CREDENTIALS_FILE",
        h.home().join(".aws/credentials").to_str().unwrap(),
    );
    // Started with a soft core limit above 0, as a developer's shell may have it.
    let c = h.command(&[
        "exec",
        "--profile",
        "static",
        "--",
        "sh",
        "-c",
        "grep '^Max core file size' /proc/$PPID/limits",
    ]);
    let mut raised = std::process::Command::new("sh");
    raised
        .args(["-c", "ulimit -S -c 4096 && exec \"$0\" \"$@\""])
        .arg(c.get_program())
        .args(c.get_args())
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let o = raised.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let line = stdout(&o);
    let soft: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(soft.get(4), Some(&"0"), "soft core limit: {line}");

    if !rustix::process::geteuid().is_root() {
        return missing("root, to run awscred as an unprivileged user");
    }
    // As one unprivileged uid: awscred, and a child that tries to read awscred's
    // environment through /proc (a non-dumpable process's /proc files belong to root).
    let uid = "54331";
    std::fs::remove_dir_all(h.home().join(".cache")).unwrap();
    for p in [
        h.home().to_path_buf(),
        h.home().join(".aws"),
        h.home().join(".aws/credentials"),
    ] {
        std::os::unix::fs::chown(&p, Some(54331), Some(54331)).unwrap();
    }
    std::fs::set_permissions(h.home(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = h.command(&[
        "exec",
        "--profile",
        "static",
        "--",
        "sh",
        "-c",
        "if cat /proc/$PPID/environ >/dev/null 2>&1; then echo readable; else echo refused; fi",
    ]);
    let awscred = c.get_program().to_owned();
    let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
    let mut runner = std::process::Command::new("setpriv");
    runner
        .args(["--reuid", uid, "--regid", uid, "--clear-groups", "--"])
        .arg(awscred)
        .args(args);
    runner.env_clear();
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            runner.env(k, v);
        }
    }
    let o = runner.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "refused", "{}", stderr(&o));
}
