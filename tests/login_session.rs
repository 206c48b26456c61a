//! AWS console sessions (`login_session` profiles of `aws login`) against the emulator's
//! AWS Sign-In: the AWS CLI's login cache read, refreshed with a DPoP proof and written back
//! in the CLI's format; role chains on top; a token rotated by the other tool; an expired
//! session; `awscred login`'s browser flow.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stderr,
    unsafe_code
)]

mod common;

use awscred_emulator::{SIGNIN_DEFAULT_PRINCIPAL as SESSION, Settings};
use base64::Engine;
use common::*;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

const SAME_DEVICE: &str = "arn:aws:signin:::devtools/same-device";

const PROFILES: &str = "
[profile console]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/emu-user
region = us-east-1

[profile console-admin]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile = console
";

/// A new P-256 key as the AWS CLI stores it (SEC1 `EC PRIVATE KEY` PEM), and its
/// uncompressed public point.
fn key() -> (String, Vec<u8>) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let doc = pkcs8.as_ref();
    let at = doc
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .unwrap()
        + 5;
    let point = pair.public_key().as_ref().to_vec();
    let mut der = vec![0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];
    der.extend_from_slice(&doc[at..at + 32]);
    der.extend_from_slice(&[
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0xa1, 0x44, 0x03,
        0x42, 0x00,
    ]);
    der.extend_from_slice(&point);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    (
        format!(
            "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
            lines.join("\n")
        ),
        point,
    )
}

fn cache_path(h: &Harness) -> PathBuf {
    let hash: String = Sha256::digest(SESSION.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    h.home().join(format!(".aws/login/cache/{hash}.json"))
}

fn read_cache(h: &Harness) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(cache_path(h)).unwrap()).unwrap()
}

/// Writes the AWS CLI's cache file as `aws login` leaves it, credentials expired.
fn write_cache(h: &Harness, refresh: &str, pem: &str) {
    let path = cache_path(h);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let doc = serde_json::json!({
        "accessToken": {
            "accessKeyId": "ASIAOLDCLIKEY",
            "secretAccessKey": "old-cli-secret",
            "sessionToken": "old-cli-session",
            "accountId": ACCOUNT,
            "expiresAt": "2020-01-01T00:00:00Z",
        },
        "tokenType": "aws_sigv4",
        "clientId": SAME_DEVICE,
        "refreshToken": refresh,
        "idToken": "header.payload.signature",
        "dpopKey": pem,
    });
    std::fs::write(&path, doc.to_string()).unwrap();
}

/// A harness with the console profiles and a signed-in session; returns its refresh token
/// and key.
fn signed_in(settings: Settings) -> (Harness, String, String) {
    let h = Harness::new("file", settings);
    h.write_config(&format!("{CONFIG}{PROFILES}"));
    let (pem, point) = key();
    let refresh = h.emu.signin_refresh_token(SESSION, SAME_DEVICE, &point);
    write_cache(&h, &refresh, &pem);
    (h, refresh, pem)
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn export_refreshes_with_dpop_and_writes_the_cli_file_back() {
    let (h, first, pem) = signed_in(Settings::default());
    #[cfg(unix)]
    let victim = {
        // A link planted at the temporary name awscred would use first.
        let victim = h.home().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        let name = cache_path(&h)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        std::os::unix::fs::symlink(
            &victim,
            cache_path(&h).with_file_name(format!(".{name}.awscred.tmp")),
        )
        .unwrap();
        victim
    };
    let o = h.run(&["export", "--profile", "console", "--verbose"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = parse_export(&stdout(&o));
    assert_ne!(
        c["AccessKeyId"], "ASIAOLDCLIKEY",
        "refreshed, not the expired ones"
    );
    assert!(h.emu.issued(c["AccessKeyId"].as_str().unwrap()).is_some());
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 1);

    // Written back in the CLI's format: the rotated refresh token, the same key and fields.
    let doc = read_cache(&h);
    let next = doc["refreshToken"].as_str().unwrap();
    assert_ne!(next, first);
    assert!(!h.emu.signin_refresh_token_live(&first));
    assert!(h.emu.signin_refresh_token_live(next));
    assert_eq!(doc["dpopKey"], pem.as_str());
    assert_eq!(doc["clientId"], SAME_DEVICE);
    assert_eq!(doc["tokenType"], "aws_sigv4");
    assert_eq!(doc["idToken"], "header.payload.signature");
    let at = &doc["accessToken"];
    assert_eq!(at["accessKeyId"], c["AccessKeyId"]);
    assert_eq!(at["secretAccessKey"], c["SecretAccessKey"]);
    assert_eq!(at["sessionToken"], c["SessionToken"]);
    assert_eq!(at["accountId"], ACCOUNT);
    assert_eq!(
        at["expiresAt"], c["Expiration"],
        "%Y-%m-%dT%H:%M:%SZ, as the CLI writes"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&cache_path(&h)), 0o600);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    }

    // The account is known from the cache file.
    let p = h.run(&["process", "--profile", "console"]);
    assert!(p.status.success(), "{}", stderr(&p));
    let v: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(v["AccountId"], ACCOUNT);
    assert_eq!(
        h.emu.count("CreateOAuth2Token:refresh_token"),
        1,
        "served from awscred's cache"
    );

    // No secret of the session in what awscred printed to the terminal or logged.
    let err = stderr(&o);
    for secret in [first.as_str(), next] {
        assert!(!err.contains(secret), "refresh token in stderr: {err}");
    }
    assert!(!err.contains("BEGIN EC PRIVATE KEY") && !err.contains(&pem[31..60]));
    assert!(!err.contains(c["SecretAccessKey"].as_str().unwrap()));
}

#[test]
fn a_role_chain_runs_on_top_of_a_console_session() {
    let (h, _, _) = signed_in(Settings::default());
    let o = h.run(&["export", "--profile", "console-admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = parse_export(&stdout(&o));
    let issued = h.emu.issued(c["AccessKeyId"].as_str().unwrap()).unwrap();
    assert!(issued.arn.contains("assumed-role/Admin"), "{}", issued.arn);
    assert_eq!(h.emu.count("AssumeRole"), 1);
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 1);
}

#[test]
fn a_refresh_token_rotated_by_the_other_tool_between_runs_is_used() {
    let (h, _, pem) = signed_in(Settings::default());
    let o = h.run(&["export", "--profile", "console"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The AWS CLI refreshes next and rewrites its file.
    let ours = read_cache(&h)["refreshToken"].as_str().unwrap().to_string();
    let theirs = h.emu.signin_rotate(&ours).unwrap();
    write_cache(&h, &theirs, &pem);
    let o = h.run(&["export", "--profile", "console", "--refresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    parse_export(&stdout(&o));
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 2);
    let now = read_cache(&h)["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(now, theirs);
    assert!(h.emu.signin_refresh_token_live(&now));
}

#[test]
fn token_expired_after_the_other_tool_refreshed_rereads_the_file_once() {
    let (h, _, pem) = signed_in(Settings::default());
    // The AWS CLI refreshes with the same token while awscred's request is on its way, and
    // writes the token it got; awscred's answer is TOKEN_EXPIRED.
    let path = cache_path(&h);
    let pem2 = pem.clone();
    h.emu.signin_race_next_refresh(move |theirs| {
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        doc["refreshToken"] = serde_json::Value::String(theirs);
        doc["dpopKey"] = serde_json::Value::String(pem2);
        std::fs::write(&path, doc.to_string()).unwrap();
    });
    let o = h.run(&["export", "--profile", "console"]);
    assert!(o.status.success(), "{}", stderr(&o));
    parse_export(&stdout(&o));
    assert_eq!(
        h.emu.count("CreateOAuth2Token:refresh_token"),
        2,
        "refused once, then the token the other tool wrote"
    );
    let now = read_cache(&h)["refreshToken"].as_str().unwrap().to_string();
    assert!(h.emu.signin_refresh_token_live(&now));
}

#[test]
fn an_expired_session_fails_with_the_sign_in_hint_after_one_more_look() {
    let (h, first, _) = signed_in(Settings::default());
    assert_eq!(h.emu.signin_expire_refresh_tokens(), 1);
    let before = std::fs::read(cache_path(&h)).unwrap();
    let o = h.run(&["export", "--profile", "console"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("hint: run awscred login --profile console"),
        "{err}"
    );
    assert!(err.contains("aws login --profile console"), "{err}");
    assert!(
        err.contains("TOKEN_EXPIRED"),
        "Sign-In's answer is named: {err}"
    );
    assert!(stdout(&o).is_empty());
    assert!(!err.contains(&first));
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 1);
    assert_eq!(
        std::fs::read(cache_path(&h)).unwrap(),
        before,
        "the CLI's file is left as it was"
    );
}

#[test]
fn no_cache_file_means_a_sign_in_is_needed() {
    let h = Harness::new("file", Settings::default());
    h.write_config(&format!("{CONFIG}{PROFILES}"));
    let o = h.run(&["export", "--profile", "console-admin"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: run awscred login --profile console-admin"),
        "{}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn a_link_at_the_cache_file_is_not_followed() {
    let (h, refresh, pem) = signed_in(Settings::default());
    let path = cache_path(&h);
    let real = h.home().join("elsewhere.json");
    std::fs::rename(&path, &real).unwrap();
    std::os::unix::fs::symlink(&real, &path).unwrap();
    let o = h.run(&["export", "--profile", "console"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert_eq!(h.emu.count("CreateOAuth2Token"), 0);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
    assert_eq!(doc["refreshToken"], refresh.as_str());
    assert_eq!(doc["dpopKey"], pem.as_str());
}

#[test]
fn awscred_login_signs_in_through_the_browser_and_writes_the_cli_cache() {
    let mut h = Harness::new("file", Settings::default());
    h.write_config(&format!("{CONFIG}{PROFILES}"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fake-browser.py"
    );
    h.set_env("BROWSER", &format!("python3 {script}"));
    h.set_env("FAKE_BROWSER_MODE", "follow");
    let o = h.run(&["login", "--profile", "console", "--browser"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for p in [
        "/v1/authorize?response_type=code",
        "client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device",
        "code_challenge_method=SHA-256",
        "scope=openid",
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A",
        "%2Foauth%2Fcallback",
        "&code_challenge=",
    ] {
        assert!(out.contains(p), "{p} in {out}");
    }
    assert_eq!(h.emu.count("SigninAuthorize"), 1);
    assert_eq!(h.emu.count("CreateOAuth2Token:authorization_code"), 1);
    let doc = read_cache(&h);
    assert_eq!(doc["clientId"], SAME_DEVICE);
    assert_eq!(doc["tokenType"], "aws_sigv4");
    assert_eq!(doc["accessToken"]["accountId"], ACCOUNT);
    assert_eq!(doc["signInRegion"], "us-east-1");
    assert!(doc["idToken"].as_str().unwrap().split('.').count() == 3);
    let key = doc["dpopKey"].as_str().unwrap();
    assert!(key.starts_with("-----BEGIN EC PRIVATE KEY-----\n"), "{key}");
    #[cfg(unix)]
    assert_eq!(mode(&cache_path(&h)), 0o600);
    for secret in [
        doc["refreshToken"].as_str().unwrap(),
        doc["accessToken"]["secretAccessKey"].as_str().unwrap(),
        &key[31..60],
    ] {
        assert!(!out.contains(secret) && !stderr(&o).contains(secret));
    }
    // The key it wrote refreshes (the emulator bound the token to it).
    let e = h.run(&["export", "--profile", "console", "--refresh"]);
    assert!(e.status.success(), "{}", stderr(&e));
    parse_export(&stdout(&e));
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 1);
    assert_eq!(h.emu.count("SigninAuthorize"), 1, "no second sign-in");

    // Signed in as another session than the profile names: refused, nothing written.
    h.emu
        .signin_set_principal("arn:aws:sts::444455556666:assumed-role/Other/x");
    let before = std::fs::read(cache_path(&h)).unwrap();
    let o = h.run(&["login", "--profile", "console", "--browser", "--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("uses login_session"), "{}", stderr(&o));
    assert_eq!(std::fs::read(cache_path(&h)).unwrap(), before);
}

#[test]
fn the_cross_device_sign_in_needs_a_terminal() {
    let h = Harness::new("file", Settings::default());
    h.write_config(&format!("{CONFIG}{PROFILES}"));
    let o = h.run(&["login", "--profile", "console", "--device-code"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(h.emu.count("SigninAuthorize"), 0);
}

#[test]
fn logout_drops_awscreds_credentials_and_keeps_the_cli_sign_in() {
    let (h, _, _) = signed_in(Settings::default());
    assert!(h.run(&["export", "--profile", "console"]).status.success());
    let store = h.cache_dir().join("store");
    let entries = || std::fs::read_dir(&store).map(|d| d.count()).unwrap_or(0);
    assert_eq!(entries(), 1, "the derived credentials, and nothing else");
    let before = std::fs::read(cache_path(&h)).unwrap();
    let o = h.run(&["logout", "--profile", "console"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("aws logout"), "{}", stderr(&o));
    assert_eq!(std::fs::read(cache_path(&h)).unwrap(), before);
    assert_eq!(entries(), 0, "awscred's credentials are gone");
}

/// The cross-device flow with a terminal: the URL is opened "on another device" (here, a
/// plain HTTP request), and the code its page shows is typed on awscred's terminal.
#[cfg(unix)]
#[test]
fn the_cross_device_sign_in_reads_the_code_from_the_terminal() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let h = Harness::new("file", Settings::default());
    h.write_config(&format!("{CONFIG}{PROFILES}"));
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut cmd = h.command(&["login", "--profile", "console", "--device-code"]);
    cmd.stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The pseudo-terminal becomes the child's controlling terminal, as a shell's would.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            rustix::process::ioctl_tiocsctty(std::io::stdin()).map_err(std::io::Error::from)
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(pty.slave);
    let mut master = std::fs::File::from(pty.master);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the URL on stdout").unwrap();
        if let Some(u) = line.trim().strip_prefix("http") {
            break format!("http{u}");
        }
    };
    assert!(
        url.contains("client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fcross-device"),
        "{url}"
    );
    assert!(url.contains("%2Fv1%2Fsessions%2Fconfirmation"), "{url}");
    let shown = ureq::get(&url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("Code shown by the sign-in page: ") {
        let n = master.read(&mut buf).unwrap();
        assert!(n > 0, "terminal closed before the prompt");
        seen.extend_from_slice(&buf[..n]);
    }
    master.write_all(format!("{shown}\n").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
    assert_eq!(h.emu.count("CreateOAuth2Token:authorization_code"), 1);
    let doc = read_cache(&h);
    assert_eq!(doc["clientId"], "arn:aws:signin:::devtools/cross-device");
    // Its refresh token works with the key it wrote, under the cross-device client.
    let e = h.run(&["export", "--profile", "console", "--refresh"]);
    assert!(e.status.success(), "{}", stderr(&e));
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 1);
}

/// A token answer awscred cannot use (an empty refresh token, a lifetime out of range)
/// leaves the AWS CLI's file as it was: its refresh token is not lost to a broken answer.
#[test]
fn a_malformed_token_answer_leaves_the_cli_file_alone() {
    for (field, value) in [("refreshToken", "\"\""), ("expiresIn", "99999999")] {
        let (h, first, _) = signed_in(Settings::default());
        let before = std::fs::read(cache_path(&h)).unwrap();
        h.emu.inject(awscred_emulator::Fault::rewrite(
            "CreateOAuth2Token",
            field,
            value,
            1,
        ));
        let o = h.run(&["export", "--profile", "console"]);
        assert_eq!(o.status.code(), Some(2), "{field}: {}", stderr(&o));
        assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
        assert_eq!(std::fs::read(cache_path(&h)).unwrap(), before, "{field}");
        assert!(!stderr(&o).contains(&first));
    }
}

/// A login cache directory every local user can write to: another user could swap the file
/// between awscred's read and write, so awscred neither reads a key there nor writes one.
#[cfg(unix)]
#[test]
fn a_login_cache_directory_open_to_other_users_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (h, _, _) = signed_in(Settings::default());
    let dir = cache_path(&h).parent().unwrap().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = h.run(&["export", "--profile", "console"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("other users"), "{}", stderr(&o));
    assert!(stderr(&o).contains("hint: make"), "{}", stderr(&o));
    assert_eq!(h.emu.count("CreateOAuth2Token"), 0);
}

fn aws_cli() -> Option<PathBuf> {
    let aws = std::env::var("AWSCRED_TEST_AWS_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/aws"));
    aws.exists().then_some(aws)
}

/// `aws sts get-caller-identity --profile console`; `None` (after [`missing`]) when this
/// AWS CLI cannot use login_session profiles (its botocore predates them, or lacks awscrt).
fn aws_identity(h: &Harness, aws: &std::path::Path) -> Option<serde_json::Value> {
    let o = std::process::Command::new(aws)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "console",
            "--output",
            "json",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", h.home())
        .env("AWS_CONFIG_FILE", h.config_path())
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            h.home().join(".aws/credentials"),
        )
        .env("AWS_ENDPOINT_URL", h.emu.url())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let err = stderr(&o);
    if err.contains("botocore[crt]") || (err.contains("login_session") && err.contains("nknown")) {
        missing("an AWS CLI whose botocore reads login_session profiles (with awscrt)");
        return None;
    }
    assert!(o.status.success(), "aws failed: {err}");
    Some(serde_json::from_slice(&o.stdout).unwrap())
}

/// Both tools on one session: botocore (the AWS CLI from PyPI, whose login provider uses
/// the same cache) uses what `awscred login` wrote and refreshes with its key, and awscred
/// then refreshes with the token botocore wrote.
#[test]
fn awscred_and_the_aws_cli_take_turns_on_one_session() {
    let Some(aws) = aws_cli() else {
        return missing("the AWS CLI (pip install awscli)");
    };
    let mut h = Harness::new("file", Settings::default());
    h.write_config(&format!("{CONFIG}{PROFILES}"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fake-browser.py"
    );
    h.set_env("BROWSER", &format!("python3 {script}"));
    let o = h.run(&["login", "--profile", "console", "--browser"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let Some(v) = aws_identity(&h, &aws) else {
        return;
    };
    assert_eq!(v["Account"], ACCOUNT);
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 0);

    // Expired: the AWS CLI refreshes with the key awscred generated (the emulator checks
    // its DPoP proof) and writes the rotated token.
    let path = cache_path(&h);
    let mut doc = read_cache(&h);
    let ours = doc["refreshToken"].as_str().unwrap().to_string();
    doc["accessToken"]["expiresAt"] = serde_json::Value::String("2020-01-01T00:00:00Z".into());
    std::fs::write(&path, doc.to_string()).unwrap();
    let v = aws_identity(&h, &aws).unwrap();
    assert_eq!(v["Account"], ACCOUNT);
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 1);
    let theirs = read_cache(&h)["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(theirs, ours);

    // awscred reads what botocore wrote and refreshes with it.
    let o = h.run(&["export", "--profile", "console", "--refresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 2);
    assert!(!h.emu.signin_refresh_token_live(&theirs));
    let now = read_cache(&h)["refreshToken"].as_str().unwrap().to_string();
    assert!(h.emu.signin_refresh_token_live(&now));
    // And the AWS CLI goes on with what awscred wrote.
    let v = aws_identity(&h, &aws).unwrap();
    assert_eq!(v["Account"], ACCOUNT);
}

/// Refresh tokens rotate, so two refreshes of one session at once would end it: processes
/// started together refresh once, and the others wait and use the result.
#[test]
fn parallel_exports_refresh_the_session_once() {
    let (h, _, _) = signed_in(Settings::default());
    let children: Vec<_> = (0..8)
        .map(|_| {
            h.command(&["export", "--profile", "console-admin"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        parse_export(&stdout(&o));
    }
    assert_eq!(h.emu.count("CreateOAuth2Token:refresh_token"), 1);
    assert_eq!(h.emu.count("AssumeRole"), 1);
    let now = read_cache(&h)["refreshToken"].as_str().unwrap().to_string();
    assert!(h.emu.signin_refresh_token_live(&now));
}

/// A cache file that is not the AWS CLI's format is an error that says which file and how
/// to sign in again, never a crash, and it is left as it was.
#[test]
fn a_broken_cache_file_names_itself_and_the_fix() {
    let (h, _, _) = signed_in(Settings::default());
    std::fs::write(cache_path(&h), "{\"accessToken\":").unwrap();
    let o = h.run(&["export", "--profile", "console"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(".aws/login/cache/"), "{err}");
    assert!(
        err.contains("hint: run awscred login --profile console"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(cache_path(&h)).unwrap(),
        "{\"accessToken\":"
    );
}
