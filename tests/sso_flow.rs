//! IAM Identity Center end to end: the built binary against the emulator, on the file store
//! and on the real Secret Service.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::{Fault, Settings};
use common::*;
use std::time::Duration;

fn full_cycle(store: &'static str) {
    let h = Harness::new(
        store,
        Settings {
            // Role credentials that fall under the 15-minute window 4 seconds after issue.
            credentials_ttl: 15 * 60 + 3,
            ..Settings::default()
        },
    );

    // Cold cache, no terminal: fail fast with the hint, print nothing on stdout, start no
    // device authorization.
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("hint: run awscred login --profile bedrock"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 0);

    // Sign in: URL and code on stdout.
    let shown = h.login();
    assert!(
        shown.contains(&format!("{}/device?user_code=", h.emu.url())),
        "{shown}"
    );
    assert!(
        shown.contains("Credentials for profile bedrock are ready"),
        "{shown}"
    );
    assert_eq!(h.emu.count("RegisterClient"), 1);
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 1);
    assert_eq!(h.emu.count("GetRoleCredentials"), 1);

    // Cache hit: zero requests, exact contract, nothing on stderr.
    let before = h.total_requests();
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let c = parse_export(&stdout(&o));
    assert_eq!(h.total_requests(), before, "a cache hit sends no request");
    let issued = h
        .emu
        .issued(c["AccessKeyId"].as_str().unwrap())
        .expect("issued by the emulator");
    assert_eq!(issued.secret, c["SecretAccessKey"].as_str().unwrap());
    let again = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(stdout(&again), stdout(&o));

    let p = h.run(&["process", "--profile", "bedrock"]);
    assert!(p.status.success());
    let pv: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(pv["Version"], 1);
    assert_eq!(pv["AccessKeyId"], c["AccessKeyId"]);
    assert!(stdout(&p).starts_with("{\"Version\":1,\"AccessKeyId\":"));

    // Expiry: under 15 minutes left → exactly one request (GetRoleCredentials).
    std::thread::sleep(Duration::from_secs(4));
    let before = h.emu.counters();
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let fresh = parse_export(&stdout(&o));
    assert_ne!(fresh["AccessKeyId"], c["AccessKeyId"]);
    let after = h.emu.counters();
    let diff: Vec<_> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .collect();
    assert_eq!(diff, [("GetRoleCredentials".to_string(), 1)]);

    // Secrets never reach stderr, status, or (with a keyring store) any file.
    let verbose = h.run(&["export", "--profile", "bedrock", "--verbose"]);
    let status = h.run(&["status", "--profile", "bedrock"]);
    assert!(status.status.success());
    assert!(
        stdout(&status).contains("signed in to IAM Identity Center (sso-session corp) until"),
        "{}",
        stdout(&status)
    );
    assert!(
        stdout(&status).contains(&format!("store:        {store}")),
        "{}",
        stdout(&status)
    );
    let files: Vec<(std::path::PathBuf, String)> = h
        .all_files()
        .into_iter()
        .filter(|p| !p.ends_with("config"))
        .map(|p| {
            let t = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            (p, t)
        })
        .collect();
    for s in h.emu.issued_secrets() {
        assert!(!stderr(&verbose).contains(&s), "secret in verbose stderr");
        assert!(!stdout(&status).contains(&s), "secret in status");
        if store != "file" {
            for (p, t) in &files {
                assert!(!t.contains(&s), "secret in {}", p.display());
            }
        }
    }

    // Logout: one Logout call, then a fresh export needs a sign-in again.
    let o = h.run(&["logout", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("Logout"), 1);
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("hint: run awscred login --profile bedrock"));
    let status = h.run(&["status", "--profile", "bedrock"]);
    assert!(
        stdout(&status).contains("not signed in"),
        "{}",
        stdout(&status)
    );
}

#[test]
fn file_store_full_cycle() {
    full_cycle("file");
}

#[test]
fn secret_service_full_cycle() {
    if std::env::var("DBUS_SESSION_BUS_ADDRESS").is_err() {
        return missing("a D-Bus session with a Secret Service (gnome-keyring)");
    }
    full_cycle("secret-service");
    // Nothing secret was written to the file store.
}

#[test]
fn token_refresh_is_one_create_token_and_keeps_the_refresh_token() {
    let h = Harness::new(
        "file",
        Settings {
            token_ttl: 5 * 60 + 3,
            credentials_ttl: 15 * 60 + 3,
            ..Settings::default()
        },
    );
    h.login();
    std::thread::sleep(Duration::from_secs(4));
    let before = h.emu.counters();
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = h.emu.counters();
    let d = |k: &str| after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
    assert_eq!(d("CreateToken:refresh_token"), 1);
    assert_eq!(d("CreateToken"), 1);
    assert_eq!(d("GetRoleCredentials"), 1);
    assert_eq!(d("StartDeviceAuthorization"), 0);
    // The emulator returned no new refresh token: the old one must still be used.
    std::thread::sleep(Duration::from_secs(4));
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("CreateToken:refresh_token"), 2);
}

#[test]
fn revoked_token_without_terminal_asks_for_login() {
    let h = Harness::new(
        "file",
        Settings {
            credentials_ttl: 15 * 60 + 2,
            ..Settings::default()
        },
    );
    h.login();
    h.emu.revoke_all_tokens();
    std::thread::sleep(Duration::from_secs(3));
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("hint: run awscred login --profile bedrock"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        h.emu.count("StartDeviceAuthorization"),
        1,
        "no new device code without a terminal"
    );
}

#[test]
fn login_is_a_no_op_when_signed_in() {
    let h = Harness::new("file", Settings::default());
    h.login();
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("Already signed in"), "{}", stdout(&o));
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 1);
}

#[test]
fn device_flow_handles_pending_slow_down_and_expiry() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(2),
            ..Settings::default()
        },
    );
    h.emu
        .inject(Fault::error("CreateToken", 400, "SlowDownException", 1));
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // 1 slow-down + 2 pending + 1 success.
    assert_eq!(h.emu.count("CreateToken"), 4);

    let h = Harness::new(
        "file",
        Settings {
            device_ttl: 3,
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("expired before it was approved"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("hint: run awscred login --profile bedrock"));

    let h = Harness::new("file", Settings::default());
    h.emu.deny_all();
    let (mut child, rx) = h.spawn_login(&[]);
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(30)) {
        if l.contains("confirm the code") {
            h.emu.deny_all();
            break;
        }
    }
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(1));
}

#[test]
fn login_timeout_is_bounded_and_clear() {
    let h = Harness::new("file", Settings::default());
    let o = h.run(&["login", "--profile", "bedrock", "--timeout", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not approved within 2 s"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("awscred login --profile bedrock --timeout 600"),
        "says how to get more time: {}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn parallel_cold_exports_share_one_login() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(1),
            ..Settings::default()
        },
    );
    let kids: Vec<_> = (0..50)
        .map(|_| h.spawn_attended(&["export", "--profile", "bedrock"]))
        .collect();
    let mut outs = Vec::new();
    for (child, _master) in kids {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "exit {:?}", o.status);
        outs.push(stdout(&o));
    }
    parse_export(&outs[0]);
    assert!(outs.iter().all(|o| *o == outs[0]), "50 identical answers");
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 1);
    assert_eq!(h.emu.count("GetRoleCredentials"), 1);
    assert_eq!(h.emu.count("RegisterClient"), 1);
}

#[cfg(unix)]
#[test]
fn a_killed_lock_holder_is_recovered() {
    let h = Harness::new("file", Settings::default());
    let (mut child, rx) = h.spawn_login(&[]);
    loop {
        let l = rx.recv_timeout(Duration::from_secs(30)).expect("prompt");
        if l.contains("confirm the code") {
            break;
        }
    }
    // The login holds the token lock while it polls; kill it without a chance to clean up.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    h.emu.update(|s| s.auto_approve_after = Some(0));
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("timed out"));
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 2);
}

#[cfg(unix)]
#[test]
fn corrupt_cache_entries_are_misses_and_get_rewritten() {
    let h = Harness::new("file", Settings::default());
    h.login();
    for f in std::fs::read_dir(h.cache_dir().join("store"))
        .unwrap()
        .flatten()
    {
        std::fs::write(f.path(), b"{\"v\":1,\"key\":").unwrap();
    }
    // Every entry (registration, token, credentials) is unreadable: with a terminal this is
    // a fresh sign-in, never a crash.
    h.emu.update(|s| s.auto_approve_after = Some(0));
    let (child, _m) = h.spawn_attended(&["export", "--profile", "bedrock"]);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    parse_export(&stdout(&o));
    assert_eq!(h.emu.count("RegisterClient"), 2);
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(
        o.status.success(),
        "rewritten entries read back: {}",
        stderr(&o)
    );
}

#[test]
fn unreachable_endpoint_is_exit_2_with_the_url() {
    let mut h = Harness::new("file", Settings::default());
    h.set_env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let o = h.run(&["login", "--profile", "bedrock", "--timeout", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("http://127.0.0.1:9"), "{}", stderr(&o));
    assert!(o.stdout.is_empty() || !stdout(&o).contains('{'));
}

#[test]
fn throttling_is_retried() {
    let h = Harness::new("file", Settings::default());
    h.login();
    h.run(&["logout", "--profile", "bedrock"]);
    h.emu.update(|s| s.auto_approve_after = Some(0));
    h.emu.inject(Fault::error(
        "GetRoleCredentials",
        429,
        "TooManyRequestsException",
        1,
    ));
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn role_on_top_of_sso_is_signed_with_issued_credentials() {
    let h = Harness::new("file", Settings::default());
    h.login();
    let o = h.run(&["process", "--profile", "admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let who = h.emu.issued(v["AccessKeyId"].as_str().unwrap()).unwrap();
    assert!(who.arn.contains("assumed-role/Admin/"), "{}", who.arn);
    assert_eq!(h.emu.count("AssumeRole"), 1);
}
