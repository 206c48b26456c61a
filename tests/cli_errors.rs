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
