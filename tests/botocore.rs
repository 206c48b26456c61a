//! botocore (the AWS CLI from PyPI) consuming `awscred process` as its credential_process,
//! against the emulator, which verifies the SigV4 signature of the STS call.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn aws_cli_uses_awscred_as_credential_process() {
    let Some(aws) = aws_cli() else {
        return missing("the AWS CLI (pip install awscli)");
    };
    let h = Harness::new("file", Settings::default());
    let exe = env!("CARGO_BIN_EXE_awscred");
    h.write_config(&format!(
        "{CONFIG}\n[profile cli]\ncredential_process = {exe} process --profile bedrock\nregion = us-east-1\n"
    ));
    h.login();
    let run = || {
        aws_command(
            &aws,
            &h,
            &[
                "sts",
                "get-caller-identity",
                "--profile",
                "cli",
                "--output",
                "json",
            ],
        )
        .env("XDG_CACHE_HOME", h.home().join(".cache"))
        .env("AWSCRED_CACHE", "file")
        .output()
        .expect("run aws")
    };
    let o = run();
    assert!(o.status.success(), "aws failed: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("aws json");
    assert_eq!(v["Account"], ACCOUNT);
    assert!(
        v["Arn"]
            .as_str()
            .unwrap()
            .contains(&format!("assumed-role/{ROLE}/")),
        "{v}"
    );
    assert_eq!(
        h.emu.count("GetCallerIdentity"),
        1,
        "the signature verified and the call was answered"
    );
    // A second CLI process is served from awscred's cache: no new role credentials.
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("GetRoleCredentials"), 1);
    assert_eq!(h.emu.count("GetCallerIdentity"), 2);
}

const KEY: &str = "AKIAEMUMATRIX0000001";
const SECRET: &str = "emu-matrix-secret-000000000000000000000001";

/// The same profiles resolved by botocore and by awscred must end on the same role
/// session: role ARN and session name (when the profile sets one; otherwise each tool's
/// own default).
#[test]
fn profile_matrix_matches_botocore() {
    let Some(aws) = aws_cli() else {
        return missing("the AWS CLI (pip install awscli)");
    };
    let h = Harness::new("file", Settings::default());
    h.emu.add_user(KEY, SECRET, ACCOUNT, "matrix");
    h.emu
        .require_external_id("arn:aws:iam::222233334444:role/B", "ext-b");
    let token = h.home().join("web.jwt");
    std::fs::write(&token, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYXRyaXgifQ.sig").unwrap();
    h.write_config(&format!(
        "[default]
region = us-east-1
[profile keys]
region = us-east-1
[profile m-chain1]
role_arn = arn:aws:iam::222233334444:role/A
source_profile = keys
role_session_name = s1
[profile m-chain2]
role_arn = arn:aws:iam::222233334444:role/B
source_profile = m-chain1
role_session_name = s2
external_id = ext-b
[profile m-env]
role_arn = arn:aws:iam::222233334444:role/C
credential_source = Environment
role_session_name = s3
[profile m-web]
role_arn = arn:aws:iam::222233334444:role/D
web_identity_token_file = {}
role_session_name = s4
[profile m-self]
role_arn = arn:aws:iam::222233334444:role/E
source_profile = m-self
role_session_name = s5
[profile m-dur]
role_arn = arn:aws:iam::222233334444:role/G
source_profile = keys
duration_seconds = 1800
role_session_name = s6
[profile m-noname]
role_arn = arn:aws:iam::222233334444:role/F
source_profile = keys
[profile \"m quoted\"]
role_arn: arn:aws:iam::222233334444:role/H
source_profile: keys
role_session_name: s7
[profile m-indent]
s3 =
  max_concurrent_requests = 20
  addressing_style = path
role_arn = arn:aws:iam::222233334444:role/I
source_profile = keys
role_session_name = s8
[profile both]
role_arn = arn:aws:iam::222233334444:role/NotThis
source_profile = keys
[profile m-both]
role_arn = arn:aws:iam::222233334444:role/J
source_profile = both
role_session_name = s9
",
        token.display()
    ));
    std::fs::write(
        h.home().join(".aws/credentials"),
        format!("[keys]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n[m-self]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n[both]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    let env = |c: &mut Command| {
        aws_env(c, &h)
            .env("USER", "matrix")
            .env("XDG_CACHE_HOME", h.home().join(".cache"))
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWSCRED_CACHE", "file");
    };
    let session = |arn: &str| arn.rsplit('/').next().unwrap().to_string();
    let role = |arn: &str| arn.rsplit_once('/').unwrap().0.to_string();
    for profile in [
        "m-chain1", "m-chain2", "m-env", "m-web", "m-self", "m-dur", "m-noname", "m quoted",
        "m-indent", "m-both",
    ] {
        let mut c = Command::new(&aws);
        c.args([
            "sts",
            "get-caller-identity",
            "--profile",
            profile,
            "--output",
            "json",
        ]);
        env(&mut c);
        let o = c.output().unwrap();
        assert!(o.status.success(), "botocore {profile}: {}", stderr(&o));
        let boto_arn = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["Arn"]
            .as_str()
            .unwrap()
            .to_string();

        let mut c = Command::new(env!("CARGO_BIN_EXE_awscred"));
        c.args(["process", "--profile", profile]);
        env(&mut c);
        let o = c.output().unwrap();
        assert!(o.status.success(), "awscred {profile}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let ours = h
            .emu
            .issued(v["AccessKeyId"].as_str().unwrap())
            .unwrap()
            .arn;

        assert_eq!(role(&ours), role(&boto_arn), "{profile}: role");
        if profile == "m-noname" {
            assert!(
                session(&boto_arn).starts_with("botocore-session-"),
                "{boto_arn}"
            );
            assert_eq!(session(&ours), "awscred-matrix");
        } else {
            assert_eq!(ours, boto_arn, "{profile}");
        }
    }
}

/// The Python interpreter the AWS CLI runs on (its script's `#!` line), which can import
/// the CLI's botocore.
fn aws_cli_python(aws: &std::path::Path) -> Option<PathBuf> {
    let script = std::fs::read_to_string(aws).ok()?;
    let interpreter = script.lines().next()?.strip_prefix("#!")?.trim();
    (interpreter.contains("python") && !interpreter.contains(' '))
        .then(|| PathBuf::from(interpreter))
}

/// botocore reads the `AccountId` awscred prints: the account it resolves for the
/// credential_process profile is the one in the configuration.
#[test]
fn botocore_reads_the_account_id_of_awscred_process() {
    let Some(aws) = aws_cli() else {
        return missing("the AWS CLI (pip install awscli)");
    };
    let Some(python) = aws_cli_python(&aws) else {
        return missing("the AWS CLI's Python interpreter");
    };
    let h = Harness::new("file", Settings::default());
    let exe = env!("CARGO_BIN_EXE_awscred");
    h.write_config(&format!(
        "{CONFIG}\n[profile cli]\ncredential_process = {exe} process --profile admin\nregion = us-east-1\n"
    ));
    h.login();
    let mut c = Command::new(python);
    c.args([
        "-c",
        "import awscli.clidriver, botocore.session\n\
         c = botocore.session.Session(profile='cli').get_credentials().get_frozen_credentials()\n\
         print(c.access_key + '|' + str(c.account_id))",
    ]);
    let o = aws_env(&mut c, &h)
        .env("XDG_CACHE_HOME", h.home().join(".cache"))
        .env("AWSCRED_CACHE", "file")
        .output()
        .expect("run python");
    assert!(o.status.success(), "botocore failed: {}", stderr(&o));
    let out = stdout(&o);
    let (akid, account) = out.trim().split_once('|').unwrap();
    assert!(h.emu.issued(akid).is_some(), "{out}");
    assert_eq!(account, ACCOUNT, "{out}");
}
