//! Security properties checked on the real binary: no issued secret in any stderr, log,
//! `status`/`doctor` output, child process argument list or file outside the store; private
//! cache permissions.
//!
//! Unix only: it reads `/proc` and permission bits.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn no_secret_leaves_the_store() {
    let mut h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    h.set_env("AWSCRED_LOG", "debug");
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut record = |name: &str, o: &std::process::Output, stdout_is_data: bool| {
        outputs.push((format!("{name} stderr"), stderr(o)));
        if !stdout_is_data {
            outputs.push((format!("{name} stdout"), stdout(o)));
        }
    };
    record("login", &h.run(&["login", "--profile", "bedrock"]), false);
    record(
        "export",
        &h.run(&["export", "--profile", "bedrock", "-v"]),
        true,
    );
    record(
        "process",
        &h.run(&["process", "--profile", "admin", "-v"]),
        true,
    );
    record("status", &h.run(&["status", "--profile", "bedrock"]), false);
    record(
        "status json",
        &h.run(&["status", "--profile", "bedrock", "--json"]),
        false,
    );
    record("doctor", &h.run(&["doctor", "--profile", "bedrock"]), false);
    record("env", &h.run(&["env", "--profile", "bedrock"]), true);
    // A child's argument list never carries a secret: it only gets the environment.
    let exec = h.run(&[
        "exec",
        "--profile",
        "bedrock",
        "--",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/$$/cmdline",
    ]);
    assert!(exec.status.success(), "{}", stderr(&exec));
    record("exec (child's argv)", &exec, false);
    h.emu.deny_role("arn:aws:iam::111122223333:role/Admin");
    h.emu.revoke_all_tokens();
    record("logout", &h.run(&["logout", "--profile", "bedrock"]), false);
    record(
        "export after logout",
        &h.run(&["export", "--profile", "bedrock", "-v"]),
        true,
    );

    let secrets = h.emu.issued_secrets();
    assert!(secrets.len() > 5, "the emulator issued secrets to look for");
    let store_dir = h.cache_dir().join("store");
    for (name, text) in &outputs {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "an issued secret appears in {name}"
            );
        }
    }
    for path in h.all_files() {
        if path.starts_with(&store_dir) {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "an issued secret appears in {}",
                path.display()
            );
        }
    }
}

#[test]
fn cache_files_and_directories_are_private() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    h.login();
    for dir in ["store", "locks"] {
        let p = h.cache_dir().join(dir);
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700,
            "{}",
            p.display()
        );
    }
    let mut n = 0;
    for f in std::fs::read_dir(h.cache_dir().join("store"))
        .unwrap()
        .flatten()
    {
        assert_eq!(
            f.metadata().unwrap().permissions().mode() & 0o777,
            0o600,
            "{:?}",
            f.path()
        );
        n += 1;
    }
    assert!(n >= 3, "registration, token and credentials");
    // A cache directory others can write is refused, and nothing is written there.
    let open = h.home().join("open-cache");
    std::fs::create_dir_all(open.join("store")).unwrap();
    std::fs::set_permissions(open.join("store"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut h2 = Harness::new("file", Settings::default());
    h2.set_env("AWSCRED_CACHE_DIR", open.to_str().unwrap());
    let o = h2.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("can be written by other users"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_dir(open.join("store")).unwrap().count(), 0);
}
