//! Faults from the emulator, store faults, crash safety and storms (TESTING.md lists each
//! case and what it shows).

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stderr,
    unsafe_code
)]

mod common;

use awscred_emulator::{Fault, Settings};
use common::*;
#[cfg(unix)]
use std::time::Duration;
use std::time::Instant;

fn signed_in(settings: Settings) -> Harness {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..settings
        },
    );
    h.login();
    h
}

fn assert_unexpected(o: &std::process::Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        !stdout(o).contains('{'),
        "no credentials on stdout: {}",
        stdout(o)
    );
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

#[test]
fn slow_answers_time_out_with_the_url_and_keep_the_cache() {
    let mut h = signed_in(Settings::default());
    h.set_env("AWSCRED_HTTP_TIMEOUT", "1");
    let mut slow = Fault::error("AssumeRole", 0, "", 10);
    slow.delay_ms = 3000;
    h.emu.inject(slow);
    let t = Instant::now();
    let o = h.run(&["process", "--profile", "admin"]);
    assert_unexpected(&o, &["AssumeRole at http://127.0.0.1:", "timed out"]);
    eprintln!("timed out after {:?}", t.elapsed());
    // What was cached before is still served.
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn server_errors_and_throttling_are_retried_then_reported() {
    let h = signed_in(Settings::default());
    h.emu
        .inject(Fault::error("AssumeRole", 500, "InternalFailure", 1));
    h.emu
        .inject(Fault::error("AssumeRole", 400, "Throttling", 1));
    let o = h.run(&["process", "--profile", "admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("AssumeRole"), 3, "two retries, then success");

    let h = signed_in(Settings::default());
    h.emu
        .inject(Fault::error("AssumeRole", 503, "ServiceUnavailable", 10));
    let o = h.run(&["process", "--profile", "admin"]);
    assert_unexpected(
        &o,
        &["AssumeRole at http://127.0.0.1:", "ServiceUnavailable"],
    );
    assert_eq!(h.emu.count("AssumeRole"), 3, "bounded attempts");
}

#[test]
fn malformed_and_truncated_answers_are_clear_errors() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let mut bad = Fault::error("GetRoleCredentials", 0, "", 1);
    bad.body = Some("{\"roleCredentials\": {\"accessKeyId\": \"ASIA".into());
    h.emu.inject(bad);
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert_unexpected(
        &o,
        &["GetRoleCredentials at http://127.0.0.1:", "cannot read"],
    );

    let mut shape = Fault::error("GetRoleCredentials", 0, "", 1);
    shape.body = Some("{\"roleCredentials\": {\"accessKeyId\": \"ASIA\"}}".into());
    h.emu.inject(shape);
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert_unexpected(
        &o,
        &["GetRoleCredentials at http://127.0.0.1:", "returned no"],
    );

    let mut xml = Fault::error("AssumeRole", 0, "", 1);
    xml.body = Some("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>AS".into());
    h.emu.inject(xml);
    let o = h.run(&["process", "--profile", "admin"]);
    assert_unexpected(&o, &["AssumeRole at http://127.0.0.1:"]);
}

#[test]
fn expirations_in_the_past_are_refused_and_far_future_ones_work() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            credentials_ttl: -60,
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert_unexpected(
        &o,
        &[
            "returned credentials that expired at",
            "hint: check this machine's clock",
        ],
    );

    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            token_ttl: -5,
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert_unexpected(&o, &["expires in -5 seconds"]);

    let ten_years = 10 * 365 * 24 * 3600;
    let h = signed_in(Settings {
        credentials_ttl: ten_years,
        token_ttl: ten_years,
        ..Settings::default()
    });
    let o = h.run(&["export", "--profile", "bedrock"]);
    let c = parse_export(&stdout(&o));
    assert!(c["Expiration"].as_str().unwrap() > "2035-");
    let before = h.total_requests();
    assert!(h.run(&["export", "--profile", "bedrock"]).status.success());
    assert_eq!(h.total_requests(), before);
}

#[test]
fn a_clock_ten_minutes_off_still_works() {
    for skew in [600, -600] {
        let h = signed_in(Settings {
            clock_skew: skew,
            ..Settings::default()
        });
        let o = h.run(&["export", "--profile", "bedrock"]);
        let c = parse_export(&stdout(&o));
        let who = h.emu.issued(c["AccessKeyId"].as_str().unwrap()).unwrap();
        assert_eq!(
            c["Expiration"].as_str().unwrap(),
            who.expires_at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        );
        // SigV4 with this machine's time against a server 10 minutes off.
        let o = h.run(&["process", "--profile", "admin"]);
        assert!(o.status.success(), "skew {skew}: {}", stderr(&o));
    }
}

#[cfg(unix)]
#[test]
fn a_revoked_token_signs_in_again_at_a_terminal() {
    let h = signed_in(Settings {
        credentials_ttl: 15 * 60 + 2,
        ..Settings::default()
    });
    h.emu.revoke_all_tokens();
    std::thread::sleep(Duration::from_secs(3));
    let (child, _m) = h.spawn_attended(&["export", "--profile", "bedrock"]);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    parse_export(&stdout(&o));
    assert_eq!(
        h.emu.count("StartDeviceAuthorization"),
        2,
        "signed in again"
    );
}

#[test]
fn an_unusable_secret_service_falls_back_with_one_warning() {
    let mut h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    h.set_env("AWSCRED_CACHE", "auto");
    h.set_env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/awscred-test-bus",
    );
    let o = h.run(&["status", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{}", stderr(&o));
    assert!(warnings[0].contains("secret-service"), "{}", warnings[0]);
    assert!(!stdout(&o).contains("secret-service"), "{}", stdout(&o));
}

#[test]
fn an_unusable_cache_directory_is_a_clear_error() {
    let mut h = Harness::new("file", Settings::default());
    let file = h.home().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    h.set_env("AWSCRED_CACHE_DIR", file.join("cache").to_str().unwrap());
    let o = h.run(&["export", "--profile", "bedrock"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot create the cache directory"), "{err}");
    assert!(err.contains("hint: "), "{err}");
}

#[cfg(unix)]
#[test]
fn killed_writers_never_leave_a_torn_entry() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    h.login();
    let store = h.cache_dir().join("store");
    let mut killed = 0;
    // A forced sign-in takes about 1.1 s (one 1-second poll); spread the kills over all of
    // it, so they land before, between and after its writes.
    for i in 0..40u64 {
        let mut child = h
            .command(&["login", "--profile", "bedrock", "--force", "--device-code"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(i * 35));
        if child.try_wait().unwrap().is_none() {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        for f in std::fs::read_dir(&store).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(f.path()).unwrap())
                        .unwrap_or_else(|e| panic!("torn entry {name}: {e}"));
                assert_eq!(v["v"], 1);
            }
        }
    }
    eprintln!("{killed} of 40 writers killed mid-run");
    assert!(
        killed > 5 && killed < 40,
        "some runs finish, most are cut: {killed}"
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn storm_of_100_on_a_cold_and_on_an_expired_cache() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(1),
            credentials_ttl: 15 * 60 + 4,
            ..Settings::default()
        },
    );
    let t = Instant::now();
    let kids: Vec<_> = (0..100)
        .map(|_| h.spawn_attended(&["export", "--profile", "bedrock"]))
        .collect();
    let outs: Vec<_> = kids
        .into_iter()
        .map(|(c, _m)| c.wait_with_output().unwrap())
        .collect();
    eprintln!("cold storm: {:?}", t.elapsed());
    assert!(
        outs.iter()
            .all(|o| o.status.success() && o.stdout == outs[0].stdout)
    );
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 1);
    assert_eq!(h.emu.count("GetRoleCredentials"), 1);

    std::thread::sleep(Duration::from_secs(5));
    let t = Instant::now();
    let kids: Vec<_> = (0..100)
        .map(|_| {
            h.command(&["export", "--profile", "bedrock"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs2: Vec<_> = kids
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    eprintln!("expired storm: {:?}", t.elapsed());
    for o in &outs2 {
        assert!(o.status.success(), "{}", stderr(o));
    }
    assert!(
        outs2.iter().all(|o| o.stdout == outs2[0].stdout),
        "100 identical answers"
    );
    assert_ne!(outs2[0].stdout, outs[0].stdout, "refreshed");
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        2,
        "one refresh for 100 processes"
    );
    assert_eq!(h.emu.count("CreateToken"), 2);
}

#[test]
fn a_read_only_cache_directory_keeps_serving_and_reports_writes() {
    let h = signed_in(Settings::default());
    let store = h.cache_dir().join("store");
    let first = h.run(&["export", "--profile", "bedrock"]);
    assert!(first.status.success());
    // Immutable even for root (CI runs as root, so permission bits would not stop it).
    if !std::process::Command::new("chattr")
        .arg("+i")
        .arg(&store)
        .status()
        .is_ok_and(|s| s.success())
    {
        return missing("chattr +i (an immutable directory)");
    }
    let hit = h.run(&["export", "--profile", "bedrock"]);
    let forced = h.run(&["login", "--profile", "bedrock", "--force"]);
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(&store)
        .status();
    assert_eq!(stdout(&hit), stdout(&first), "reads still work");
    let err = stderr(&forced);
    assert_eq!(forced.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "cannot write to the cache directory {}",
            store.display()
        )),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
    let after = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(stdout(&after), stdout(&first), "nothing cached was lost");
}

#[cfg(unix)]
#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    use std::os::unix::process::CommandExt;
    let h = signed_in(Settings::default());
    let first = h.run(&["export", "--profile", "bedrock"]);
    assert!(first.status.success());
    let mut cmd = h.command(&["login", "--profile", "bedrock", "--force"]);
    // No byte may be written to any file: what a full disk looks like to a writer.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGXFSZ,
                nix::sys::signal::SigHandler::SigIgn,
            )
            .map_err(std::io::Error::from)?;
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_FSIZE, 0, 0)
                .map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write to the cache directory"), "{err}");
    let after = h.run(&["export", "--profile", "bedrock"]);
    assert!(after.status.success(), "{}", stderr(&after));
    assert_eq!(stdout(&after), stdout(&first), "the old entries are intact");
}
