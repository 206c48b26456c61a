//! External OpenID providers against a real one: the certified `oidc-provider` package from
//! npm (started on 127.0.0.1 by this test), driven through the device grant and the browser
//! flow by tests/fixtures/oidc_user.py. The emulator's STS accepts an ID token only when its
//! signature verifies against that provider's JWKS.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CLIENT: &str = "awscred-test";
const ROLE: &str = "arn:aws:iam::111122223333:role/OidcUser";

struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_dir() -> Option<PathBuf> {
    let dir = std::env::var("AWSCRED_TEST_OIDC_PROVIDER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/oidc-provider"));
    dir.join("node_modules/oidc-provider")
        .exists()
        .then_some(dir)
}

fn start_provider(env: &[(&str, &str)]) -> Option<Provider> {
    let Some(dir) = provider_dir() else {
        missing("the oidc-provider package (npm install oidc-provider) and node");
        return None;
    };
    // The script resolves `oidc-provider` from the directory it runs in.
    let script = dir.join("oidc-provider.mjs");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/oidc-provider.mjs"
        ),
        &script,
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("node")
        .arg(&script)
        .arg(port.to_string())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    // Keep draining what it prints, so it never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    Some(Provider {
        child,
        issuer: line.trim().to_string(),
    })
}

fn harness(p: &Provider, settings: Settings, audience: Option<&str>) -> Harness {
    let h = Harness::new("file", settings);
    let jwks = ureq::get(&format!("{}/jwks", p.issuer))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    h.emu
        .set_web_identity_check(awscred_emulator::jwks_check(&jwks, &p.issuer, CLIENT).unwrap());
    let issuer = &p.issuer;
    let aud = audience
        .map(|a| format!("awscred_oidc_audience = {a}\n"))
        .unwrap_or_default();
    h.write_config(&format!(
        "[profile idp]
awscred_oidc_issuer = {issuer}
awscred_oidc_client_id = {CLIENT}
awscred_oidc_role_arn = {ROLE}
awscred_login = device
region = us-east-1
{aud}
[profile idp-web]
awscred_oidc_issuer = {issuer}
awscred_oidc_client_id = {CLIENT}
awscred_oidc_role_arn = {ROLE}
awscred_login = browser
region = us-east-1

[profile idp-pool]
awscred_oidc_issuer = {issuer}
awscred_oidc_client_id = {CLIENT}
awscred_oidc_identity_pool_id = us-east-1:emu-pool
awscred_login = device
"
    ));
    h
}

fn user(mode: &str, url: &str) {
    let o = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/oidc_user.py"
        ))
        .args([mode, url])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs `awscred login --profile P` and acts on the device code it shows.
fn device_login(h: &Harness, profile: &str, mode: &str) -> std::process::Output {
    let mut child = h
        .command(&["login", "--profile", profile])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("open ") {
            user(mode, url);
            break;
        }
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let mut o = child.wait_with_output().unwrap();
    o.stdout = format!("{seen}{rest}").into_bytes();
    o
}

fn issued_arn(h: &Harness, o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    h.emu
        .issued(v["AccessKeyId"].as_str().unwrap())
        .unwrap()
        .arn
}

#[test]
fn device_grant_then_web_identity_and_refresh() {
    let Some(p) = start_provider(&[("OIDC_ID_TOKEN_TTL", "303")]) else {
        return;
    };
    let h = harness(
        &p,
        Settings {
            credentials_ttl: 15 * 60 + 3,
            ..Settings::default()
        },
        None,
    );
    let o = device_login(&h, "idp", "approve");
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let e = h.run(&["process", "--profile", "idp"]);
    assert_eq!(
        issued_arn(&h, &e),
        "arn:aws:sts::111122223333:assumed-role/OidcUser/alice@example.com"
    );
    assert_eq!(
        h.emu.count("AssumeRoleWithWebIdentity"),
        1,
        "login fetched, process served from the cache"
    );
    // ID token and credentials near expiry: a silent refresh, no new sign-in, no terminal.
    std::thread::sleep(Duration::from_secs(4));
    let e = h.run(&["export", "--profile", "idp"]);
    assert!(e.status.success(), "{}", stderr(&e));
    parse_export(&stdout(&e));
    assert_eq!(h.emu.count("AssumeRoleWithWebIdentity"), 2);

    // The refresh token revoked at the provider: the next refresh needs a sign-in.
    let store = h.cache_dir().join("store");
    let refresh = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .filter_map(|f| {
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(f.path()).unwrap()).ok()
        })
        .find_map(|v| v["data"]["refresh_token"].as_str().map(str::to_string))
        .expect("a refresh token is cached");
    ureq::post(&format!("{}/token/revocation", p.issuer))
        .send_form([("client_id", CLIENT), ("token", refresh.as_str())])
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let e = h.run(&["export", "--profile", "idp"]);
    assert_eq!(e.status.code(), Some(1), "{}", stderr(&e));
    assert!(
        stderr(&e).contains("hint: run awscred login --profile idp"),
        "{}",
        stderr(&e)
    );
    assert!(
        !stderr(&e).contains(refresh.as_str()),
        "the refresh token never reaches stderr"
    );
}

#[test]
fn browser_flow_with_pkce_state_and_nonce() {
    let Some(p) = start_provider(&[]) else { return };
    let mut h = harness(&p, Settings::default(), None);
    h.set_env(
        "BROWSER",
        concat!(
            "python3 ",
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/oidc_user.py"
        ),
    );
    let log = h.home().join("browser.log");
    h.set_env("OIDC_USER_LOG", log.to_str().unwrap());
    let o = h.run(&["login", "--profile", "idp-web"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(&format!("{}/auth?response_type=code", p.issuer)),
        "the provider's own URL is shown: {}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("code_challenge_method=S256"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("&nonce="), "{}", stdout(&o));
    // The browser was given a one-use local link, nothing of the request.
    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.starts_with("http://127.0.0.1:"), "{argv}");
    assert!(argv.contains("/start/"), "{argv}");
    for p in ["state", "nonce", "code_challenge", "client_id"] {
        assert!(!argv.contains(p), "{p} in {argv}");
    }
    let e = h.run(&["process", "--profile", "idp-web"]);
    assert_eq!(
        issued_arn(&h, &e),
        "arn:aws:sts::111122223333:assumed-role/OidcUser/alice@example.com"
    );
}

#[test]
fn cognito_identity_pool() {
    let Some(p) = start_provider(&[]) else { return };
    let h = harness(&p, Settings::default(), None);
    let o = device_login(&h, "idp-pool", "approve");
    assert!(o.status.success(), "{}", stderr(&o));
    let e = h.run(&["process", "--profile", "idp-pool"]);
    assert!(issued_arn(&h, &e).contains("Cognito_Authenticated"));
    assert_eq!(h.emu.count("GetId"), 1);
    assert_eq!(h.emu.count("GetCredentialsForIdentity"), 1);
}

#[test]
fn expired_device_code_denied_consent_and_wrong_audience() {
    let Some(p) = start_provider(&[("OIDC_DEVICE_CODE_TTL", "2")]) else {
        return;
    };
    let h = harness(&p, Settings::default(), None);
    let o = h.run(&["login", "--profile", "idp"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("expired before it was approved"),
        "{}",
        stderr(&o)
    );
    drop(p);

    let Some(p) = start_provider(&[]) else { return };
    let h = harness(&p, Settings::default(), None);
    let o = device_login(&h, "idp", "deny");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("denied"), "{}", stderr(&o));

    let h = harness(&p, Settings::default(), Some("someone-else"));
    let o = device_login(&h, "idp", "approve");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("audience is not someone-else"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        h.emu.count("AssumeRoleWithWebIdentity"),
        0,
        "an invalid token never reaches STS"
    );
}
