//! botocore (the AWS CLI from PyPI) consuming `awscred process` as its credential_process,
//! against the emulator, which verifies the SigV4 signature of the STS call.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::path::PathBuf;
use std::process::Command;

fn aws_cli() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("AWSCRED_TEST_AWS_CLI") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/aws");
    venv.exists().then_some(venv)
}

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
        Command::new(&aws)
            .args([
                "sts",
                "get-caller-identity",
                "--profile",
                "cli",
                "--output",
                "json",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", h.home())
            .env("XDG_CACHE_HOME", h.home().join(".cache"))
            .env("AWS_CONFIG_FILE", h.config_path())
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                h.home().join(".aws/credentials"),
            )
            .env("AWS_ENDPOINT_URL", h.emu.url())
            .env("AWS_EC2_METADATA_DISABLED", "true")
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
