//! Signed in once, for every tool: awscred uses a valid access token that the AWS CLI cached
//! for the same IAM Identity Center session (read only), and with
//! `awscred_share_sso_cache = true` writes its own access token in the CLI's format, which
//! botocore then uses.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::path::PathBuf;

/// `~/.aws/sso/cache/` + sha1("corp") + `.json`: the AWS CLI's file for `[sso-session corp]`.
const CLI_FILE: &str = ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";

fn cli_file(h: &Harness) -> PathBuf {
    h.home().join(CLI_FILE)
}

/// Writes the AWS CLI's cache as `aws sso login` leaves it, with a token the emulator issued.
fn aws_sso_login(h: &Harness, start_url: &str) -> String {
    let (token, expires) = h.emu.issue_access_token(3600);
    let path = cli_file(h);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let body = serde_json::json!({
        "startUrl": start_url,
        "region": "us-east-1",
        "accessToken": token,
        "expiresAt": expires.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "clientId": "cli-client",
        "clientSecret": "cli-client-secret",
        "registrationExpiresAt": "2099-01-01T00:00:00Z",
        "refreshToken": "cli-refresh-token",
    });
    std::fs::write(&path, body.to_string()).unwrap();
    token
}

#[test]
fn a_valid_aws_cli_sign_in_is_used_without_signing_in_again() {
    let h = Harness::new("file", Settings::default());
    let cli = aws_sso_login(&h, "https://corp.awsapps.com/start");
    let before = std::fs::read(cli_file(&h)).unwrap();

    let o = h.run(&["export", "--profile", "admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 0, "no sign-in");
    assert_eq!(h.emu.count("RegisterClient"), 0);
    assert_eq!(
        h.emu.count("CreateToken"),
        0,
        "the CLI's refresh token is never used"
    );
    assert_eq!(h.emu.count("GetRoleCredentials"), 1);
    assert_eq!(
        std::fs::read(cli_file(&h)).unwrap(),
        before,
        "the AWS CLI's file is read only"
    );
    assert!(!stdout(&o).contains(&cli) && !stderr(&o).contains(&cli));

    let o = h.run(&["status", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("signed in"), "{}", stdout(&o));

    // `awscred login` says it uses that sign-in, on stdout for awsAuthRefresh.
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Already signed in"), "{}", stdout(&o));
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 0);
}

#[test]
fn another_start_url_or_an_expired_token_is_not_used() {
    let h = Harness::new("file", Settings::default());
    aws_sso_login(&h, "https://other.awsapps.com/start");
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: run awscred login"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.emu.count("GetRoleCredentials"), 0);

    // Expires within the refresh window: not used either.
    let (token, _) = h.emu.issue_access_token(60);
    let soon = chrono::Utc::now() + chrono::Duration::seconds(60);
    std::fs::write(
        cli_file(&h),
        serde_json::json!({
            "startUrl": "https://corp.awsapps.com/start",
            "region": "us-east-1",
            "accessToken": token,
            "expiresAt": soon.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })
        .to_string(),
    )
    .unwrap();
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(h.emu.count("GetRoleCredentials"), 0);
}

/// A borrowed token that IAM Identity Center rejects is not picked up again (no loop); a
/// sign-out stops awscred using the CLI's sign-in without revoking it.
#[test]
fn a_rejected_or_signed_out_cli_token_is_not_used_again() {
    let h = Harness::new("file", Settings::default());
    aws_sso_login(&h, "https://corp.awsapps.com/start");
    assert!(h.run(&["export", "--profile", "bedrock"]).status.success());

    h.emu.revoke_all_tokens();
    h.emu.forget_credentials();
    let o = h.run(&["export", "--profile", "bedrock", "--refresh"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: run awscred login"),
        "{}",
        stderr(&o)
    );
    let calls = h.emu.count("GetRoleCredentials");
    let o = h.run(&["export", "--profile", "bedrock", "--refresh"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        calls,
        "the rejected token is not tried again"
    );

    // A new `aws sso login`: used again; `awscred logout` stops using it, leaves it valid.
    aws_sso_login(&h, "https://corp.awsapps.com/start");
    assert!(
        h.run(&["export", "--profile", "bedrock", "--refresh"])
            .status
            .success()
    );
    let o = h.run(&["logout", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no longer uses the AWS CLI's sign-in"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.emu.count("Logout"), 0, "the CLI's sign-in is not revoked");
    assert!(cli_file(&h).exists());
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[cfg(unix)]
fn run_aws(aws: &std::path::Path, h: &Harness) -> std::process::Output {
    aws_command(
        aws,
        h,
        &[
            "sts",
            "get-caller-identity",
            "--profile",
            "bedrock",
            "--output",
            "json",
        ],
    )
    .output()
    .expect("run aws")
}

#[cfg(unix)]
#[test]
fn a_shared_session_writes_the_access_token_for_the_aws_cli() {
    use std::os::unix::fs::PermissionsExt;
    let Some(aws) = aws_cli() else {
        return missing("the AWS CLI (pip install awscli)");
    };
    let h = Harness::new("file", Settings::default());
    h.write_config(&CONFIG.replace(
        "sso_registration_scopes = sso:account:access\n",
        "sso_registration_scopes = sso:account:access\nawscred_share_sso_cache = true\n",
    ));
    let o = run_aws(&aws, &h);
    assert!(!o.status.success(), "not signed in yet");

    h.login();
    let path = cli_file(&h);
    let meta = std::fs::metadata(&path).expect("the CLI's file is written");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["startUrl"], "https://corp.awsapps.com/start");
    assert_eq!(v["region"], "us-east-1");
    assert!(
        v["accessToken"]
            .as_str()
            .is_some_and(|t| t.starts_with("emu-access-"))
    );
    assert!(v["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    for never in ["refreshToken", "clientId", "clientSecret"] {
        assert!(v.get(never).is_none(), "{never} is never shared: {v}");
    }

    // botocore's SSO provider uses the shared token.
    let o = run_aws(&aws, &h);
    assert!(o.status.success(), "aws failed: {}", stderr(&o));
    let id: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(id["Account"], ACCOUNT);

    // Signing out revokes the token and removes the copy that would no longer work.
    let o = h.run(&["logout", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!path.exists(), "the shared copy is removed at sign-out");
}

/// A link planted at the CLI's file name is not written through: one warning, and the
/// sign-in itself works.
#[cfg(unix)]
#[test]
fn a_link_at_the_shared_file_is_not_followed() {
    let h = Harness::new("file", Settings::default());
    h.write_config(&CONFIG.replace(
        "sso_registration_scopes = sso:account:access\n",
        "sso_registration_scopes = sso:account:access\nawscred_share_sso_cache = true\n",
    ));
    let path = cli_file(&h);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let target = h.home().join("elsewhere");
    std::fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    h.login();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(h.run(&["export", "--profile", "bedrock"]).status.success());
}
