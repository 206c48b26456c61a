//! Bedrock API keys end to end: `awscred bedrock-token`, `exec --bedrock-token` and the
//! Claude Desktop launcher `setup claude-desktop` writes, each key sent to the emulator's
//! Bedrock, which verifies the presigned signature inside it.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use base64::Engine;
use common::*;
use std::io::{Read, Write};

/// Four hours: longer than the hour and five minutes Claude Desktop's key needs.
fn settings() -> Settings {
    Settings {
        credentials_ttl: 4 * 3600,
        ..Settings::default()
    }
}

/// The presigned URL inside a key.
fn decode(key: &str) -> String {
    let b64 = key
        .strip_prefix("bedrock-api-key-")
        .unwrap_or_else(|| panic!("no prefix: {key}"));
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

fn param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split(['?', '&'])
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing in {url}"))
}

/// Sends `InvokeModel` with `Authorization: Bearer KEY` to the emulator; the status code.
fn invoke_with(h: &Harness, key: &str) -> u16 {
    let addr = h.emu.url().trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    let body = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}"#;
    write!(
        s,
        "POST /model/global.anthropic.claude-sonnet-4-20250514-v1:0/invoke HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status: {answer}"))
}

fn export_akid(h: &Harness) -> (String, String) {
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = parse_export(&stdout(&o));
    (
        c["AccessKeyId"].as_str().unwrap().to_string(),
        c["Expiration"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_key_is_minted_from_cached_credentials_without_a_request_and_bedrock_accepts_it() {
    let h = Harness::new("file", settings());
    h.login();
    let (akid, _) = export_akid(&h);
    h.emu.reset_counters();
    let o = h.run(&["bedrock-token", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.total_requests(), 0, "{:?}", h.emu.counters());
    let out = stdout(&o);
    assert!(
        out.ends_with('\n') && out.matches('\n').count() == 1,
        "{out:?}"
    );
    let key = out.trim_end();
    assert!(!stderr(&o).contains(key), "the key is never on stderr");
    let url = decode(key);
    assert!(url.starts_with("bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="), "{url}");
    assert!(url.ends_with("&Version=1"), "{url}");
    assert!(
        param(&url, "X-Amz-Credential").starts_with(&format!("{akid}%2F")),
        "signed with the cached credentials: {url}"
    );
    assert!(param(&url, "X-Amz-Credential").contains("%2Fus-east-1%2Fbedrock%2F"));
    assert_eq!(param(&url, "X-Amz-SignedHeaders"), "host");
    // Four-hour credentials: the key lives as long as they do, not 12 hours.
    let expires: i64 = param(&url, "X-Amz-Expires").parse().unwrap();
    assert!((4 * 3600 - 120..=4 * 3600).contains(&expires), "{expires}");
    assert_eq!(invoke_with(&h, key), 200);
    assert_eq!(h.emu.bedrock_bearers(), vec![akid]);
    // Debug logging never shows a key, nor the signature inside it.
    let o = h
        .command(&["bedrock-token", "--profile", "bedrock", "--format", "json"])
        .env("AWSCRED_LOG", "debug")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let url = decode(v["token"].as_str().unwrap());
    let err = stderr(&o);
    assert!(!err.is_empty(), "debug logging is on");
    assert!(
        !err.contains("bedrock-api-key-") && !err.contains(param(&url, "X-Amz-Signature")),
        "{err}"
    );
    assert!(h.emu.bedrock_signers().is_empty());
}

#[test]
fn json_format_carries_the_expiration_of_the_credentials_or_the_duration() {
    let h = Harness::new("file", settings());
    h.login();
    let (_, exp) = export_akid(&h);
    let o = h.run(&["bedrock-token", "--profile", "bedrock", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("{\"token\":\"bedrock-api-key-") && out.ends_with("\"}\n"),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["expiration"], exp.as_str(), "never past the credentials");
    assert_eq!(v.as_object().unwrap().len(), 2);
    let o = h.run(&[
        "bedrock-token",
        "--profile",
        "bedrock",
        "--format",
        "json",
        "--duration",
        "30m",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let url = decode(v["token"].as_str().unwrap());
    assert_eq!(param(&url, "X-Amz-Expires"), "1800");
    let at = chrono::NaiveDateTime::parse_from_str(param(&url, "X-Amz-Date"), "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc();
    assert_eq!(
        v["expiration"],
        (at + chrono::Duration::seconds(1800))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
    assert_eq!(invoke_with(&h, v["token"].as_str().unwrap()), 200);
    for bad in ["12h1s", "5m", "soon"] {
        let o = h.run(&["bedrock-token", "--profile", "bedrock", "--duration", bad]);
        assert_eq!(o.status.code(), Some(1), "{bad}");
        assert!(stderr(&o).contains("hint:"), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn credentials_with_too_little_life_for_claude_desktop_are_refreshed_first() {
    // 65 minutes and 3 seconds: right after the fetch they cover Claude Desktop's hour and
    // five minutes, a few seconds later they no longer do.
    let h = Harness::new(
        "file",
        Settings {
            credentials_ttl: 65 * 60 + 3,
            ..Settings::default()
        },
    );
    h.login();
    let (akid, _) = export_akid(&h);
    std::thread::sleep(std::time::Duration::from_secs(5));
    let grc = h.emu.count("GetRoleCredentials");
    let o = h.run(&["bedrock-token", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("GetRoleCredentials"), grc + 1, "fetched anew");
    let url = decode(stdout(&o).trim_end());
    assert!(!param(&url, "X-Amz-Credential").starts_with(&akid), "{url}");
    // A consumer that keeps the key for a minute only is served from the cache.
    let o = h.run(&["bedrock-token", "--profile", "bedrock", "--ttl", "60"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("GetRoleCredentials"), grc + 1);
}

#[test]
fn other_regions_and_partitions_sign_for_their_region_and_host() {
    let h = Harness::new("file", settings());
    h.login();
    let o = h.run(&[
        "bedrock-token",
        "--profile",
        "bedrock",
        "--region",
        "eu-west-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let key = stdout(&o).trim_end().to_string();
    assert!(decode(&key).contains("%2Feu-west-1%2Fbedrock%2F"));
    h.emu
        .update(|s| s.bedrock_region = Some("us-east-1".into()));
    assert_eq!(
        invoke_with(&h, &key),
        403,
        "a key for eu-west-1 is refused in us-east-1"
    );
    h.emu
        .update(|s| s.bedrock_region = Some("eu-west-1".into()));
    assert_eq!(invoke_with(&h, &key), 200);
    let o = h.run(&[
        "bedrock-token",
        "--profile",
        "bedrock",
        "--region",
        "cn-north-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(decode(stdout(&o).trim_end()).starts_with("bedrock.amazonaws.com.cn/?"));
    let o = h.run(&[
        "bedrock-token",
        "--profile",
        "bedrock",
        "--region",
        "not a region",
    ]);
    assert_eq!(o.status.code(), Some(1));
    // Endpoint overrides say where requests go, not what the key is for: Bedrock checks
    // the signature over the host written inside the key.
    let o = h
        .command(&["bedrock-token", "--profile", "bedrock"])
        .env("AWS_ENDPOINT_URL_BEDROCK", h.emu.url())
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", h.emu.url())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(decode(stdout(&o).trim_end()).starts_with("bedrock.amazonaws.com/?"));
    // A tampered key is refused.
    let url = decode(&key).replace("X-Amz-Expires=", "X-Amz-Expires=1");
    let forged = format!(
        "bedrock-api-key-{}",
        base64::engine::general_purpose::STANDARD.encode(url)
    );
    assert_eq!(invoke_with(&h, &forged), 403);
}

#[test]
fn only_an_interactive_helper_context_may_sign_in() {
    let mut h = Harness::new("file", settings());
    // A browser that would leave a mark if anything opened it.
    let mark = h.home().join("browser-opened");
    let browser = h.home().join("browser.sh");
    std::fs::write(&browser, format!("#!/bin/sh\ntouch '{}'\n", mark.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    h.set_env("BROWSER", browser.to_str().unwrap());
    for context in [
        "background",
        "mid-session-refresh",
        "scheduled-task",
        "setup-test",
    ] {
        let o = h
            .command(&["bedrock-token", "--profile", "bedrock"])
            .env("CLAUDE_HELPER_CONTEXT", context)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{context}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("hint: run awscred login --profile bedrock"),
            "{err}"
        );
        assert!(err.contains(context), "{err}");
        assert!(stdout(&o).is_empty());
    }
    assert!(!mark.exists(), "no browser opened");
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 0);
    assert_eq!(h.emu.count("RegisterClient"), 0);
    // Once signed in, every context gets its key from the cache.
    h.login();
    let o = h
        .command(&["bedrock-token", "--profile", "bedrock"])
        .env("CLAUDE_HELPER_CONTEXT", "background")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(invoke_with(&h, stdout(&o).trim_end()), 200);
}

#[cfg(unix)]
#[test]
fn exec_gives_the_child_a_key_and_its_region_and_no_aws_keys() {
    let mut h = Harness::new("file", settings());
    h.login();
    h.set_env("AWS_ACCESS_KEY_ID", "AKIAOUTERSHELL");
    h.set_env("AWS_SECRET_ACCESS_KEY", "outer");
    let o = h.run(&[
        "exec",
        "bedrock",
        "--bedrock-token",
        "--region",
        "eu-west-1",
        "--",
        "sh",
        "-c",
        "printf '%s\\n%s\\n%s\\n%s\\n' \"$AWS_BEARER_TOKEN_BEDROCK\" \"$AWS_REGION\" \"${AWS_ACCESS_KEY_ID-none}\" \"${AWS_SECRET_ACCESS_KEY-none}\"",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1..], ["eu-west-1", "none", "none"], "{out}");
    assert!(decode(lines[0]).contains("%2Feu-west-1%2Fbedrock%2F"));
    assert_eq!(invoke_with(&h, lines[0]), 200);
    let help = stdout(&h.run(&["exec", "--help"]));
    assert!(help.contains("never refreshes"), "{help}");
}

#[cfg(unix)]
fn run_launcher(h: &Harness, launcher: &std::path::Path, context: &str) -> std::process::Output {
    let base = h.command(&[]);
    let mut c = std::process::Command::new(launcher);
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.env("CLAUDE_HELPER_CONTEXT", context)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn setup_claude_desktop_writes_a_launcher_that_prints_keys_bedrock_accepts() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::new("file", settings());
    let dir = h.home().join("Library/Application Support/Claude-3p");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("claude_desktop_config.json");
    let before = "{\n  \"mcpServers\": {},\n  \"enterpriseConfig\": {\n    \"inferenceCredentialHelperTtlSec\": \"1800\"\n  }\n}\n";
    std::fs::write(&config, before).unwrap();
    let o = h.run(&[
        "setup",
        "claude-desktop",
        "--profile",
        "bedrock",
        "--platform",
        "macos",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let launcher = dir.join("awscred-bedrock-token");
    let mode = std::fs::metadata(&launcher).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_awscred")).unwrap();
    assert_eq!(
        std::fs::read_to_string(&launcher).unwrap(),
        format!(
            "#!/bin/sh\n# Claude Desktop runs this for a Bedrock API key (written by awscred setup claude-desktop).\nexec {} bedrock-token --profile bedrock --region us-east-1 --ttl 1800s\n",
            exe.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        format!(
            "{{\n  \"mcpServers\": {{}},\n  \"enterpriseConfig\": {{\n    \"inferenceCredentialHelperTtlSec\": \"1800\",\n    \"inferenceProvider\": \"bedrock\",\n    \"inferenceBedrockRegion\": \"us-east-1\",\n    \"inferenceCredentialKind\": \"helper-script\",\n    \"inferenceCredentialHelper\": \"{}\"\n  }}\n}}\n",
            launcher.display()
        )
    );
    let backups: Vec<_> = std::fs::read_dir(h.home().join(if cfg!(target_os = "macos") {
        "Library/Application Support/awscred"
    } else {
        ".local/state/awscred"
    }))
    .unwrap()
    .flatten()
    .map(|e| std::fs::read_to_string(e.path()).unwrap())
    .collect();
    assert!(
        backups.contains(&before.to_string()),
        "the old config is kept"
    );
    // Not signed in: a background run fails at once, with the fix on stderr.
    let o = run_launcher(&h, &launcher, "background");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: run awscred login --profile bedrock"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 0);
    h.login();
    let o = run_launcher(&h, &launcher, "interactive");
    assert!(o.status.success(), "{}", stderr(&o));
    let key = stdout(&o);
    assert!(
        key.starts_with("bedrock-api-key-") && key.ends_with('\n'),
        "{key}"
    );
    assert_eq!(invoke_with(&h, key.trim_end()), 200);
    // Again: nothing to change.
    let o = h.run(&[
        "setup",
        "claude-desktop",
        "--profile",
        "bedrock",
        "--platform",
        "macos",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("nothing to change"), "{}", stdout(&o));
    assert!(stdout(&o).contains("is up to date"), "{}", stdout(&o));
}

#[test]
fn setup_claude_desktop_on_linux_shows_both_systems_and_writes_only_when_told_which() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let h = Harness::new("file", settings());
    let o = h.run(&["setup", "claude-desktop", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no Linux version"), "{}", stderr(&o));
    assert!(stderr(&o).contains("hint:") && stderr(&o).contains("--dry-run"));
    let files = h.all_files();
    let o = h.run(&[
        "setup",
        "claude-desktop",
        "--profile",
        "bedrock",
        "--dry-run",
        "--region",
        "eu-west-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Claude Desktop on macOS:") && out.contains("Claude Desktop on Windows:"),
        "{out}"
    );
    assert!(
        out.contains("Library/Application Support/Claude-3p/claude_desktop_config.json"),
        "{out}"
    );
    assert!(
        out.contains("Claude-3p/awscred-desktop.json")
            || out.contains("Claude-3p\\awscred-desktop.json"),
        "{out}"
    );
    assert!(
        out.contains("+ enterpriseConfig.inferenceBedrockRegion = \"eu-west-1\""),
        "{out}"
    );
    assert!(!out.contains(".cmd") && !out.contains("@echo off"), "{out}");
    assert!(
        out.contains("\"profile\": \"bedrock\"") && out.contains("\"region\": \"eu-west-1\""),
        "{out}"
    );
    assert_eq!(h.all_files(), files, "a dry run writes nothing");
    let o = h.run(&[
        "setup",
        "claude-desktop",
        "--profile",
        "bedrock",
        "--managed",
        "--platform",
        "windows",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\SOFTWARE\\Policies\\Claude]\r\n"), "{}", stdout(&o));
    // Claude Desktop runs awscred itself; the machine-wide file says which profile.
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_awscred")).unwrap();
    let reg_path = exe.to_str().unwrap().replace('\\', "\\\\");
    assert!(
        stdout(&o).contains(&format!("\"inferenceCredentialHelper\"=\"{reg_path}\"\r\n")),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains(r"C:\ProgramData\awscred\awscred-desktop.json")
            && err.contains(
                "  {\n    \"profile\": \"bedrock\",\n    \"region\": \"us-east-1\"\n  }\n"
            ),
        "{err}"
    );
    let o = h.run(&[
        "setup",
        "claude-desktop",
        "--profile",
        "bedrock",
        "--managed",
        "--platform",
        "macos",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plist = stdout(&o);
    assert!(
        plist.starts_with("<?xml") && plist.contains("<string>helper-script</string>"),
        "{plist}"
    );
    assert_eq!(h.all_files(), files, "managed output writes nothing");
}

#[cfg(unix)]
#[test]
fn the_launcher_runs_awscred_through_its_link_on_path_which_survives_upgrades() {
    // Homebrew links bin/awscred to a versioned directory that an upgrade removes.
    let mut h = Harness::new("file", settings());
    let bin = h.home().join("brew/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_awscred"), bin.join("awscred")).unwrap();
    let path = format!(
        "/nonexistent:{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    h.set_env("PATH", &path);
    let o = h.run(&[
        "setup",
        "claude-desktop",
        "--profile",
        "bedrock",
        "--platform",
        "macos",
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "exec {} bedrock-token --profile bedrock --region us-east-1\n",
            bin.join("awscred").display()
        )),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_key_shorter_than_the_consumers_cache_comes_with_a_warning() {
    // One-hour role sessions: the key cannot outlive Claude Desktop's hour and 5 minutes.
    let h = Harness::new("file", Settings::default());
    h.login();
    let o = h.run(&["bedrock-token", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("bedrock-api-key-"));
    assert!(
        stderr(&o).contains("inferenceCredentialHelperTtlSec"),
        "{}",
        stderr(&o)
    );
    let o = h.run(&["bedrock-token", "--profile", "bedrock", "--ttl", "30m"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

/// Runs `exe` as Claude Desktop does: no arguments, CLAUDE_HELPER_CONTEXT (when given) set.
#[cfg(not(target_os = "macos"))]
fn run_helper(
    h: &Harness,
    exe: &str,
    context: Option<&str>,
    extra: &[(&str, &std::path::Path)],
) -> std::process::Output {
    let base = h.command(&[]);
    let mut c = std::process::Command::new(exe);
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    if let Some(context) = context {
        c.env("CLAUDE_HELPER_CONTEXT", context);
    }
    for (k, v) in extra {
        c.env(k, v);
    }
    c.stdin(std::process::Stdio::null()).output().unwrap()
}

/// Claude Desktop is a Node application, and Node cannot start a `.cmd` file: on Windows
/// `inferenceCredentialHelper` is awscred itself, which with no arguments reads what
/// setup recorded beside Claude Desktop's configuration (or the machine's managed file).
#[cfg(not(target_os = "macos"))]
#[test]
fn on_windows_claude_desktop_runs_awscred_itself_with_no_arguments() {
    let h = Harness::new("file", settings());
    let appdata = h.home().join("AppData").join("Roaming");
    let programdata = h.home().join("ProgramData");
    let dir = appdata.join("Claude-3p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&programdata).unwrap();
    let config = dir.join("claude_desktop_config.json");
    std::fs::write(
        &config,
        "{\"enterpriseConfig\": {\"inferenceCredentialHelperTtlSec\": \"1800\"}}\n",
    )
    .unwrap();
    std::fs::write(dir.join("awscred-bedrock-token.cmd"), "@echo off\r\n").unwrap();
    let layout: [(&str, &std::path::Path); 2] =
        [("APPDATA", &appdata), ("ProgramData", &programdata)];
    let mut setup = h.command(&[
        "setup",
        "claude-desktop",
        "--profile",
        "bedrock",
        "--platform",
        "windows",
    ]);
    setup.env("APPDATA", &appdata);
    let o = setup.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("awscred-bedrock-token.cmd is no longer used"),
        "{}",
        stdout(&o)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let helper = v["enterpriseConfig"]["inferenceCredentialHelper"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        std::path::PathBuf::from(&helper),
        std::fs::canonicalize(env!("CARGO_BIN_EXE_awscred")).unwrap(),
        "an executable, not a launcher"
    );
    assert_eq!(
        v["enterpriseConfig"]["inferenceCredentialKind"],
        "helper-script"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("awscred-desktop.json")).unwrap(),
        "{\n  \"profile\": \"bedrock\",\n  \"region\": \"us-east-1\",\n  \"ttl\": 1800\n}\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("awscred-desktop.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "nothing secret, nothing to run");
    }

    // Not signed in: a background run fails at once with the fix, and signs in nowhere.
    let o = run_helper(&h, &helper, Some("background"), &layout);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: run awscred login --profile bedrock"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 0);
    assert_eq!(h.emu.count("RegisterClient"), 0);

    h.login();
    let o = run_helper(&h, &helper, Some("interactive"), &layout);
    assert!(o.status.success(), "{}", stderr(&o));
    let key = stdout(&o);
    assert!(
        key.starts_with("bedrock-api-key-") && key.ends_with('\n'),
        "{key}"
    );
    let url = decode(key.trim_end());
    assert!(param(&url, "X-Amz-Credential").contains("%2Fus-east-1%2Fbedrock%2F"));
    assert_eq!(invoke_with(&h, key.trim_end()), 200);

    // Without CLAUDE_HELPER_CONTEXT no arguments is a command line without a command: help.
    let o = run_helper(&h, &helper, None, &layout);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("Usage: awscred") && !stderr(&o).contains("bedrock-api-key-"),
        "{}",
        stderr(&o)
    );

    // The machine's file, from a managed roll-out, when the user has none.
    let o = h.run(&[
        "setup",
        "claude-desktop",
        "--profile",
        "bedrock",
        "--managed",
        "--platform",
        "windows",
        "--region",
        "eu-west-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let machine: String = stderr(&o)
        .lines()
        .skip_while(|l| !l.starts_with("  {"))
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap()))
        .collect();
    assert!(machine.contains("\"region\": \"eu-west-1\""), "{machine}");
    std::fs::create_dir_all(programdata.join("awscred")).unwrap();
    std::fs::write(
        programdata.join("awscred").join("awscred-desktop.json"),
        &machine,
    )
    .unwrap();
    let elsewhere = h.home().join("other-user-appdata");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let managed: [(&str, &std::path::Path); 2] =
        [("APPDATA", &elsewhere), ("ProgramData", &programdata)];
    let o = run_helper(&h, &helper, Some("background"), &managed);
    assert!(o.status.success(), "{}", stderr(&o));
    let url = decode(stdout(&o).trim_end());
    assert!(
        param(&url, "X-Amz-Credential").contains("%2Feu-west-1%2Fbedrock%2F"),
        "{url}"
    );
    // The user's own file comes first.
    let o = run_helper(&h, &helper, Some("background"), &layout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(param(&decode(stdout(&o).trim_end()), "X-Amz-Credential").contains("%2Fus-east-1%2F"));

    // No file anywhere, or one awscred cannot use: the fix, at once.
    let nowhere: [(&str, &std::path::Path); 2] =
        [("APPDATA", &elsewhere), ("ProgramData", &elsewhere)];
    let o = run_helper(&h, &helper, Some("interactive"), &nowhere);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("awscred-desktop.json")
            && err.contains("hint: run awscred setup claude-desktop --profile"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
    std::fs::write(
        dir.join("awscred-desktop.json"),
        "{\"profile\": \"bedrock\"",
    )
    .unwrap();
    let o = run_helper(&h, &helper, Some("interactive"), &layout);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("is not a file awscred can use (it is not JSON)")
            && err.contains("hint: run awscred setup claude-desktop --profile"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
}

/// Scoop puts a shim `awscred.exe` on PATH with `awscred.shim` beside it naming the real
/// program (in a directory an upgrade replaces): Claude Desktop is pointed at the shim.
#[test]
fn the_windows_helper_is_the_scoop_shim_on_path() {
    let mut h = Harness::new("file", settings());
    let shims = h.home().join("scoop").join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    let name = if cfg!(windows) {
        "awscred.exe"
    } else {
        "awscred"
    };
    std::fs::write(shims.join(name), "a shim program").unwrap();
    let shim_file = shims.join("awscred.shim");
    std::fs::write(
        &shim_file,
        format!("path = \"{}\"\r\n", env!("CARGO_BIN_EXE_awscred")),
    )
    .unwrap();
    let path = std::env::join_paths([shims.clone()].into_iter().chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    h.set_env("PATH", path.to_str().unwrap());
    let setup = |h: &Harness| {
        let o = h.run(&[
            "setup",
            "claude-desktop",
            "--profile",
            "bedrock",
            "--platform",
            "windows",
            "--managed",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let reg_path = |p: &std::path::Path| p.to_str().unwrap().replace('\\', "\\\\");
    let out = setup(&h);
    assert!(
        out.contains(&format!(
            "\"inferenceCredentialHelper\"=\"{}\"",
            reg_path(&shims.join(name))
        )),
        "{out}"
    );
    // A shim that adds arguments would end the no-argument run: the program itself instead.
    std::fs::write(
        &shim_file,
        format!(
            "path = \"{}\"\r\nargs = --profile other\r\n",
            env!("CARGO_BIN_EXE_awscred")
        ),
    )
    .unwrap();
    let out = setup(&h);
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_awscred")).unwrap();
    assert!(
        out.contains(&format!(
            "\"inferenceCredentialHelper\"=\"{}\"",
            reg_path(&exe)
        )),
        "{out}"
    );
}
