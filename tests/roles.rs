//! Role assumption on top of every source, against the emulator (which verifies each
//! AssumeRole signature against the credentials below it), and the same profiles resolved
//! by botocore.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stderr,
    unsafe_code
)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::time::Duration;

const USER_KEY: &str = "AKIAEMUUSER000000001";
const USER_SECRET: &str = "emu-user-secret-0000000000000000000000001";

fn roles_config(extra: &str) -> String {
    format!(
        "{CONFIG}
[profile role-a]
role_arn = arn:aws:iam::222233334444:role/RoleA
source_profile = bedrock
role_session_name = alice

[profile role-b]
role_arn = arn:aws:iam::555566667777:role/RoleB
source_profile = role-a
role_session_name = alice-b

[profile keys]
region = us-east-1

[profile mfa]
role_arn = arn:aws:iam::222233334444:role/Mfa
source_profile = keys
mfa_serial = arn:aws:iam::111122223333:mfa/alice
role_session_name = mfa-session
{extra}"
    )
}

fn harness(extra: &str) -> Harness {
    harness_with(extra, Settings::default())
}

fn harness_with(extra: &str, settings: Settings) -> Harness {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..settings
        },
    );
    h.emu.add_user(USER_KEY, USER_SECRET, ACCOUNT, "alice");
    h.write_config(&roles_config(extra));
    std::fs::write(
        h.home().join(".aws/credentials"),
        format!("[keys]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\n"),
    )
    .unwrap();
    h
}

fn issued_arn(h: &Harness, out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    h.emu
        .issued(v["AccessKeyId"].as_str().unwrap())
        .expect("issued by the emulator")
        .arn
}

#[test]
fn sso_then_two_roles_with_exact_request_counts() {
    // Every credential lives 15 min 3 s: 4 s later the last role is under the 15-minute
    // window while the steps below it (which only need 5 minutes) are still fresh.
    let h = harness_with(
        "",
        Settings {
            credentials_ttl: 15 * 60 + 3,
            ..Settings::default()
        },
    );
    h.login();
    assert_eq!(h.emu.count("GetRoleCredentials"), 1);
    let o = h.run(&["process", "--profile", "role-b"]);
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::555566667777:assumed-role/RoleB/alice-b"
    );
    assert_eq!(h.emu.count("AssumeRole"), 2);
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        1,
        "the SSO step is shared with profile bedrock"
    );
    // RoleA is cached as a step of its own and serves profile role-a directly.
    let o = h.run(&["process", "--profile", "role-a"]);
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::222233334444:assumed-role/RoleA/alice"
    );
    assert_eq!(h.emu.count("AssumeRole"), 2);
    // 4 s later RoleB is under the window: exactly one AssumeRole refreshes it.
    std::thread::sleep(Duration::from_secs(4));
    let o = h.run(&["process", "--profile", "role-b"]);
    assert!(o.status.success());
    assert_eq!(h.emu.count("AssumeRole"), 3);
    assert_eq!(h.emu.count("GetRoleCredentials"), 1);
}

#[test]
fn mfa_from_a_process_is_asked_once_per_session() {
    let h = harness("");
    h.emu.require_mfa("arn:aws:iam::222233334444:role/Mfa");
    h.write_config(&roles_config("awscred_mfa_process = echo 123456\n"));
    let o = h.run(&["process", "--profile", "mfa"]);
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::222233334444:assumed-role/Mfa/mfa-session"
    );
    let calls = h.emu.sts_calls();
    let (_, form) = calls.iter().find(|(a, _)| a == "AssumeRole").unwrap();
    assert_eq!(form["SerialNumber"], "arn:aws:iam::111122223333:mfa/alice");
    assert_eq!(form["TokenCode"], "123456");
    let o = h.run(&["export", "--profile", "mfa"]);
    assert!(o.status.success());
    assert_eq!(
        h.emu.count("AssumeRole"),
        1,
        "no second MFA code while the session lasts"
    );
}

#[test]
fn wrong_mfa_code_is_a_user_error() {
    let h = harness("awscred_mfa_process = echo 654321\n");
    let o = h.run(&["process", "--profile", "mfa"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("invalid MFA"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn mfa_without_terminal_or_process_fails_fast() {
    let h = harness("");
    let o = h.run(&["process", "--profile", "mfa"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs an MFA code"), "{}", stderr(&o));
    assert!(stderr(&o).contains("hint: run awscred login --profile mfa"));
    assert_eq!(h.emu.count("AssumeRole"), 0);
}

#[cfg(unix)]
#[test]
fn mfa_code_typed_on_the_terminal() {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let h = harness("");
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave_fd = pty.slave.as_raw_fd();
    let mut cmd = h.command(&["process", "--profile", "mfa"]);
    cmd.stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Give the child the pseudo-terminal as its controlling terminal, as a shell would.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            rustix::process::ioctl_tiocsctty(std::io::stdin()).map_err(std::io::Error::from)
        });
    }
    let child = cmd.spawn().unwrap();
    let _ = slave_fd;
    drop(pty.slave);
    let mut master = std::fs::File::from(pty.master);
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen)
        .contains("MFA code for arn:aws:iam::111122223333:mfa/alice: ")
    {
        let n = master.read(&mut buf).unwrap();
        assert!(n > 0, "terminal closed before the prompt");
        seen.extend_from_slice(&buf[..n]);
    }
    master.write_all(b"123456\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::222233334444:assumed-role/Mfa/mfa-session"
    );
    assert!(
        !stdout(&o).contains("MFA code"),
        "the prompt never goes to stdout"
    );
}

#[test]
fn external_id_tags_and_source_identity_reach_sts() {
    let h = harness(
        "[profile tagged]
role_arn = arn:aws:iam::222233334444:role/Tagged
source_profile = keys
external_id = ext-42
awscred_session_tags = Project=bedrock, Team=ml
awscred_transitive_tag_keys = Project
awscred_source_identity = alice
",
    );
    h.emu
        .require_external_id("arn:aws:iam::222233334444:role/Tagged", "ext-42");
    let o = h.run(&["process", "--profile", "tagged"]);
    assert!(
        issued_arn(&h, &o).starts_with("arn:aws:sts::222233334444:assumed-role/Tagged/awscred-")
    );
    let calls = h.emu.sts_calls();
    let (_, f) = calls.iter().find(|(a, _)| a == "AssumeRole").unwrap();
    assert_eq!(f["ExternalId"], "ext-42");
    assert_eq!(f["Tags.member.1.Key"], "Project");
    assert_eq!(f["Tags.member.1.Value"], "bedrock");
    assert_eq!(f["Tags.member.2.Key"], "Team");
    assert_eq!(f["TransitiveTagKeys.member.1"], "Project");
    assert_eq!(f["SourceIdentity"], "alice");
}

#[test]
fn access_denied_names_the_role() {
    let h = harness(
        "[profile denied]\nrole_arn = arn:aws:iam::222233334444:role/Nope\nsource_profile = keys\n",
    );
    h.emu.deny_role("arn:aws:iam::222233334444:role/Nope");
    let o = h.run(&["export", "--profile", "denied"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("you may not assume arn:aws:iam::222233334444:role/Nope"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_source_profile_is_named() {
    let h = harness("[profile orphan]\nrole_arn = arn:aws:iam::1:role/X\nsource_profile = ghost\n");
    let o = h.run(&["export", "--profile", "orphan"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("names source_profile `ghost`, which does not exist"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn credential_sources_environment_container_and_instance() {
    let mut h = harness(
        "[profile from-env]
role_arn = arn:aws:iam::222233334444:role/FromEnv
credential_source = Environment
role_session_name = env
[profile from-ecs]
role_arn = arn:aws:iam::222233334444:role/FromEcs
credential_source = EcsContainer
role_session_name = ecs
[profile from-imds]
role_arn = arn:aws:iam::222233334444:role/FromImds
credential_source = Ec2InstanceMetadata
role_session_name = imds
",
    );
    let url = h.emu.url().to_string();
    h.set_env("AWS_ACCESS_KEY_ID", USER_KEY);
    h.set_env("AWS_SECRET_ACCESS_KEY", USER_SECRET);
    h.set_env(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        &format!("{url}/ecs-credentials"),
    );
    h.set_env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url);
    let o = h.run(&["process", "--profile", "from-env"]);
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::222233334444:assumed-role/FromEnv/env"
    );
    let o = h.run(&["process", "--profile", "from-ecs"]);
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::222233334444:assumed-role/FromEcs/ecs"
    );
    assert_eq!(h.emu.count("ContainerCredentials"), 1);
    let o = h.run(&["process", "--profile", "from-imds"]);
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::222233334444:assumed-role/FromImds/imds"
    );
    assert!(h.emu.count("ImdsCredentials") >= 1);
}

#[test]
fn web_identity_from_profile_and_environment() {
    let mut h = harness("");
    let token = h.home().join("token.jwt");
    std::fs::write(&token, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.sig\n").unwrap();
    h.write_config(&roles_config(&format!(
        "[profile web]\nrole_arn = arn:aws:iam::222233334444:role/Web\nweb_identity_token_file = {}\nrole_session_name = web\n",
        token.display()
    )));
    let o = h.run(&["process", "--profile", "web"]);
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::222233334444:assumed-role/Web/web"
    );
    assert_eq!(h.emu.count("AssumeRoleWithWebIdentity"), 1);
    let o = h.run(&["process", "--profile", "web"]);
    assert!(o.status.success());
    assert_eq!(h.emu.count("AssumeRoleWithWebIdentity"), 1, "cached");

    h.set_env("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap());
    h.set_env("AWS_ROLE_ARN", "arn:aws:iam::222233334444:role/EnvWeb");
    h.set_env("AWS_ROLE_SESSION_NAME", "ci-job");
    let o = h.run(&["process"]);
    assert_eq!(
        issued_arn(&h, &o),
        "arn:aws:sts::222233334444:assumed-role/EnvWeb/ci-job"
    );

    std::fs::write(&token, "not-a-jwt").unwrap();
    h.write_config(&roles_config(&format!(
        "[profile web2]\nrole_arn = arn:aws:iam::222233334444:role/Web2\nweb_identity_token_file = {}\n",
        token.display()
    )));
    let o = h.run(&["process", "--profile", "web2"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did not accept the web identity token"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn export_of_long_term_keys_uses_a_session_token() {
    let h = harness("");
    let o = h.run(&["export", "--profile", "keys"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = parse_export(&stdout(&o));
    assert_ne!(c["AccessKeyId"], USER_KEY);
    assert_eq!(h.emu.count("GetSessionToken"), 1);
    let p = h.run(&["process", "--profile", "keys"]);
    let v: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(
        v["AccessKeyId"], USER_KEY,
        "credential_process passes long-term keys through"
    );
    assert!(v.get("SessionToken").is_none() && v.get("Expiration").is_none());
    let _ = Duration::ZERO;
}
