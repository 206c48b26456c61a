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

[profile idp-admin]
source_profile = idp
role_arn = arn:aws:iam::111122223333:role/Admin
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
    device_login_with(h, &["login", "--profile", profile], mode)
}

/// Runs `awscred ARGS` and acts on the device code it shows, if any.
fn device_login_with(h: &Harness, args: &[&str], mode: &str) -> std::process::Output {
    let mut child = h
        .command(args)
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

/// The cached refresh token (the file store holds one sign-in in these tests).
fn cached_refresh_token(h: &Harness) -> Option<String> {
    cached_entries(h)
        .into_iter()
        .find_map(|v| v["data"]["refresh_token"].as_str().map(str::to_string))
}

/// Every entry of the file store, decoded.
fn cached_entries(h: &Harness) -> Vec<serde_json::Value> {
    let Ok(dir) = std::fs::read_dir(h.cache_dir().join("store")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|f| serde_json::from_slice(&std::fs::read(f.path()).ok()?).ok())
        .collect()
}

/// Asks the provider's token endpoint to refresh with `token`; its HTTP status.
fn refresh_status(p: &Provider, token: &str) -> u16 {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    agent
        .post(&format!("{}/token", p.issuer))
        .send_form([
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", token),
        ])
        .unwrap()
        .status()
        .as_u16()
}

/// Signs in through `idp`, then has credentials minted for `idp` and for `idp-admin`, a
/// role assumed with them (whose own cache entry is another key).
fn signed_in_with_two_profiles(h: &Harness) {
    let o = device_login(h, "idp", "approve");
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    for profile in ["idp", "idp-admin"] {
        let e = h.run(&["process", "--profile", profile]);
        assert!(e.status.success(), "{profile}: {}", stderr(&e));
    }
    assert_eq!(h.emu.count("AssumeRoleWithWebIdentity"), 1);
    assert_eq!(h.emu.count("AssumeRole"), 1);
    assert!(
        cached_entries(h).iter().any(|v| v["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("awscred:credentials:"))),
        "credentials are cached"
    );
}

/// After a sign-out nothing of the sign-in is left, and no profile on that issuer and
/// client mints credentials without a new sign-in.
fn assert_signed_out(h: &Harness, refresh: &str) {
    for v in cached_entries(h) {
        let key = v["key"].as_str().unwrap_or("");
        assert!(
            !key.starts_with("awscred:oidc-token:") && !key.starts_with("awscred:credentials:"),
            "{key} is still cached"
        );
    }
    let before = h.emu.count("AssumeRoleWithWebIdentity");
    for profile in ["idp", "idp-admin"] {
        let e = h.run(&["export", "--profile", profile]);
        assert_eq!(e.status.code(), Some(1), "{profile}: {}", stderr(&e));
        assert!(
            stderr(&e).contains(&format!("hint: run awscred login --profile {profile}")),
            "{}",
            stderr(&e)
        );
        assert!(!stderr(&e).contains(refresh));
    }
    assert_eq!(h.emu.count("AssumeRoleWithWebIdentity"), before);
    assert_eq!(h.emu.count("AssumeRole"), 1);
}

#[test]
fn logout_revokes_the_refresh_token_and_forgets_every_profile_of_the_sign_in() {
    let Some(p) = start_provider(&[]) else { return };
    let h = harness(&p, Settings::default(), None);
    signed_in_with_two_profiles(&h);
    let refresh = cached_refresh_token(&h).expect("a refresh token is cached");

    // status and doctor know this sign-in, as they know IAM Identity Center's.
    let s = h.run(&["status", "--profile", "idp-admin"]);
    assert!(
        stdout(&s).contains(&format!("sign-in:      signed in to {} until", p.issuer)),
        "{}",
        stdout(&s)
    );
    let j = h.run(&["status", "--profile", "idp", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["sign_in"]["signed_in"], true, "{v}");
    assert_eq!(v["sign_in"]["refreshable"], true, "{v}");
    let d = h.run(&["doctor", "--profile", "idp"]);
    assert!(
        stdout(&d).contains(&format!("ok    signed in to {}", p.issuer)),
        "{}",
        stdout(&d)
    );

    let o = h.run(&["logout", "--profile", "idp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "Signed out of {}; revoked the refresh token at {}/token/revocation.",
            p.issuer, p.issuer
        )),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(&refresh));
    // The provider no longer honours it.
    assert_eq!(
        refresh_status(&p, &refresh),
        400,
        "the refresh token is revoked"
    );
    assert_signed_out(&h, &refresh);
    let s = h.run(&["status", "--profile", "idp"]);
    assert!(
        stdout(&s).contains(&format!("sign-in:      not signed in to {}", p.issuer)),
        "{}",
        stdout(&s)
    );

    // A second sign-out has nothing left to do.
    let o = h.run(&["logout", "--profile", "idp-web"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("Not signed in to {}.", p.issuer)),
        "{}",
        stderr(&o)
    );
}

#[test]
fn logout_says_when_the_provider_cannot_revoke() {
    let Some(p) = start_provider(&[("OIDC_NO_REVOCATION", "1")]) else {
        return;
    };
    let h = harness(&p, Settings::default(), None);
    signed_in_with_two_profiles(&h);
    let refresh = cached_refresh_token(&h).expect("a refresh token is cached");
    let o = h.run(&["logout", "--profile", "idp-admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "Signed out of {}; the provider publishes no revocation endpoint; the refresh token stays valid until it expires.",
            p.issuer
        )),
        "{}",
        stderr(&o)
    );
    assert_signed_out(&h, &refresh);
    // Said, and true: the provider still honours the token awscred no longer holds.
    assert_eq!(refresh_status(&p, &refresh), 200);

    // The provider unreachable: everything local goes all the same, and the user learns
    // the refresh token may still be valid (exit 1).
    let o = device_login(&h, "idp", "approve");
    assert!(o.status.success(), "{}", stderr(&o));
    let refresh = cached_refresh_token(&h).expect("a refresh token is cached");
    drop(p);
    let o = h.run(&["logout", "--profile", "idp"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("on this machine, but the refresh token could not be revoked"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("hint: the refresh token stays valid"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(&refresh));
    assert!(cached_refresh_token(&h).is_none(), "deleted locally");
}

#[test]
fn login_force_signs_in_again_and_mints_new_credentials() {
    let Some(p) = start_provider(&[]) else { return };
    let h = harness(&p, Settings::default(), None);
    let o = device_login(&h, "idp", "approve");
    assert!(o.status.success(), "{}", stderr(&o));
    let first = h.run(&["process", "--profile", "idp"]);
    let access_key = |o: &std::process::Output| {
        assert!(o.status.success(), "{}", stderr(o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["AccessKeyId"].clone()
    };
    let first_key = access_key(&first);
    let first_refresh = cached_refresh_token(&h).unwrap();
    assert_eq!(h.emu.count("AssumeRoleWithWebIdentity"), 1);

    // Without --force, the cached credentials do.
    let o = h.run(&["login", "--profile", "idp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("Sign in to"), "{}", stdout(&o));

    let o = device_login_with(&h, &["login", "--force", "--profile", "idp"], "approve");
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(&format!("Sign in to {} for profile idp", p.issuer)),
        "a new sign-in: {}",
        stdout(&o)
    );
    assert_eq!(h.emu.count("AssumeRoleWithWebIdentity"), 2);
    assert_ne!(cached_refresh_token(&h).unwrap(), first_refresh);
    let again = h.run(&["process", "--profile", "idp"]);
    assert_ne!(
        access_key(&again),
        first_key,
        "credentials from the new sign-in"
    );
    assert_eq!(h.emu.count("AssumeRoleWithWebIdentity"), 2);
}

#[test]
fn otel_headers_name_the_signed_in_user_from_the_cached_id_token() {
    let Some(p) = start_provider(&[]) else {
        return;
    };
    let h = harness(&p, Settings::default(), None);
    let run = |profile: &str| {
        let o = h.run(&["otel-headers", "--profile", profile]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).is_ascii());
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    // Before any sign-in only the configuration speaks.
    assert_eq!(
        run("idp"),
        serde_json::json!({"x-aws-account-id": "111122223333", "x-role": "OidcUser"})
    );
    let o = device_login(&h, "idp", "approve");
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let before = h.emu.counters();
    let v = run("idp");
    assert_eq!(v["x-user-email"], "alice@example.com");
    assert_eq!(v["x-role"], "OidcUser");
    assert_eq!(v["x-aws-account-id"], "111122223333");
    let id = v["x-user-id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "the subject, hashed: {id}");
    assert!(!id.contains("alice"), "{id}");
    // A role on top: the provider's user, the last role.
    let admin = run("idp-admin");
    assert_eq!(admin["x-user-email"], "alice@example.com");
    assert_eq!(admin["x-role"], "Admin");
    assert_eq!(h.emu.counters(), before, "no request");
    // No token or key from the store in the answer.
    let text = format!("{v}{admin}");
    let store = h.cache_dir().join("store");
    let mut seen = 0;
    for f in std::fs::read_dir(&store).unwrap().flatten() {
        let e: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
        for k in [
            "id_token",
            "refresh_token",
            "secret_access_key",
            "session_token",
        ] {
            if let Some(s) = e["data"][k]
                .as_str()
                .or(e["data"]["credentials"][k].as_str())
            {
                seen += 1;
                assert!(!text.contains(s), "{k} in {text}");
            }
        }
    }
    assert!(seen >= 2, "the check saw the cached secrets");
}
