//! `awscred otel-headers` (Claude Code's `otelHeadersHelper`) with the built binary: who the
//! user is from the configuration and cache only — no request, no sign-in, no program run —
//! never a secret, `{}` when nothing is known, and `setup claude --otel-headers` writing the
//! setting. The external-provider case runs against a real provider in tests/oidc.rs.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use serde_json::{Value, json};

fn headers(h: &Harness, profile: &str) -> Value {
    let o = h.run(&["otel-headers", "--profile", profile]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.ends_with('\n') && out.matches('\n').count() == 1,
        "{out:?}"
    );
    assert!(out.is_ascii(), "{out}");
    serde_json::from_str(&out).unwrap()
}

/// Every secret the emulator issued or the store holds, for leak checks.
fn secrets(h: &Harness) -> Vec<String> {
    let mut out = h.emu.issued_secrets();
    if let Ok(rd) = std::fs::read_dir(h.cache_dir().join("store")) {
        for f in rd.flatten() {
            let v: Value = serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
            for k in [
                "access_token",
                "refresh_token",
                "id_token",
                "client_secret",
                "secret_access_key",
                "session_token",
            ] {
                let mut stack = vec![&v];
                while let Some(x) = stack.pop() {
                    match x {
                        Value::Object(m) => {
                            if let Some(Value::String(s)) = m.get(k) {
                                out.push(s.clone());
                            }
                            stack.extend(m.values());
                        }
                        Value::Array(a) => stack.extend(a),
                        _ => {}
                    }
                }
            }
        }
    }
    out.retain(|s| s.len() >= 8);
    out
}

#[test]
fn sso_profiles_give_role_and_account_without_any_request() {
    let h = Harness::new("file", Settings::default());
    // Not signed in: what the configuration says, and nothing is asked of anyone.
    assert_eq!(
        headers(&h, "bedrock"),
        json!({"x-aws-account-id": "111122223333", "x-role": "BedrockUser"})
    );
    assert_eq!(h.total_requests(), 0);

    h.login();
    let e = h.run(&["export", "--profile", "admin"]);
    assert!(e.status.success(), "{}", stderr(&e));
    let before = h.emu.counters();
    let v = headers(&h, "bedrock");
    assert_eq!(
        v,
        json!({"x-aws-account-id": "111122223333", "x-role": "BedrockUser"})
    );
    // The last role of a chain is the one Claude Code's calls carry.
    assert_eq!(
        headers(&h, "admin"),
        json!({"x-aws-account-id": "111122223333", "x-role": "Admin"})
    );
    assert_eq!(h.emu.counters(), before, "no request");
    let all = format!("{v}{}", headers(&h, "admin"));
    let secrets = secrets(&h);
    assert!(secrets.len() >= 4, "the leak check sees the secrets");
    for s in secrets {
        assert!(!all.contains(&s), "a secret in {all}");
    }
}

#[test]
fn nothing_known_prints_an_empty_object_and_runs_nothing() {
    let h = Harness::new("file", Settings::default());
    let ran = h.home().join("ran");
    h.write_config(&format!(
        "{CONFIG}\n[profile ext]\ncredential_process = touch {}\nregion = us-east-1\n",
        ran.display()
    ));
    let o = h.run(&["otel-headers", "--profile", "ext"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "{}\n");
    assert!(!ran.exists(), "the credential process was not run");
    assert_eq!(h.total_requests(), 0);
}

#[test]
fn an_unknown_profile_is_an_error_claude_code_shows() {
    let h = Harness::new("file", Settings::default());
    let o = h.run(&["otel-headers", "--profile", "nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert_eq!(stdout(&o), "", "nothing on stdout");
    assert!(stderr(&o).contains("error:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("hint:"), "{}", stderr(&o));
}

#[test]
fn setup_claude_writes_the_otel_headers_helper_keeping_the_rest() {
    let h = Harness::new("file", Settings::default());
    let path = h.home().join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        "{\n  \"theme\": \"dark\",\n  \"env\": {\"OTEL_EXPORTER_OTLP_ENDPOINT\": \"http://collector:4318\"}\n}\n",
    )
    .unwrap();
    let o = h.run(&["setup", "claude", "--profile", "bedrock", "--otel-headers"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let helper = v["otelHeadersHelper"].as_str().unwrap();
    assert!(
        helper.ends_with(" otel-headers --profile bedrock"),
        "{helper}"
    );
    assert_eq!(v["theme"], "dark");
    assert_eq!(
        v["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"],
        "http://collector:4318"
    );
    assert!(
        text.starts_with("{\n  \"theme\": \"dark\",\n  \"env\""),
        "{text}"
    );
    // Without the flag it is neither written nor removed.
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(again["otelHeadersHelper"], v["otelHeadersHelper"]);
    let fresh = Harness::new("file", Settings::default());
    let o = fresh.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(fresh.home().join(".claude/settings.json")).unwrap(),
    )
    .unwrap();
    assert!(v.get("otelHeadersHelper").is_none(), "{v}");
}

#[cfg(unix)]
#[test]
fn a_store_that_cannot_open_leaves_what_the_configuration_says() {
    use std::os::unix::fs::PermissionsExt;
    let mut h = Harness::new("file", Settings::default());
    let open = h.home().join("open-to-all");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    h.set_env("AWSCRED_CACHE_DIR", open.join("awscred").to_str().unwrap());
    let refused = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(refused.status.code(), Some(1), "the store is refused");
    assert_eq!(
        headers(&h, "bedrock"),
        json!({"x-aws-account-id": "111122223333", "x-role": "BedrockUser"})
    );
}
