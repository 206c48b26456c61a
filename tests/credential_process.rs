//! `credential_process` as a chain's base: run as botocore runs it, but bounded, with
//! stdin closed and recursion stopped; awscred's own `process --profile P` is resolved in
//! process instead of run.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::os::unix::fs::PermissionsExt;

const KEY: &str = "AKIAEMUPROCESS000001";
const SECRET: &str = "emu-process-secret-0000000000000000000001";

fn script(h: &Harness, name: &str, body: &str) -> String {
    let path = h.home().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn an_external_credential_process_is_a_base_for_roles() {
    let h = Harness::new("file", Settings::default());
    h.emu.add_user(KEY, SECRET, ACCOUNT, "proc");
    let dir = h.home().join("my tools");
    std::fs::create_dir_all(&dir).unwrap();
    let creds = script(
        &h,
        "my tools/creds",
        &format!(
            "read x 2>/dev/null && echo 'stdin was not empty' >&2\necho \"args: $*\" >&2\necho \"chain: $AWSCRED_PROCESS_CHAIN\" >&2\nprintf '{{\"Version\":1,\"AccessKeyId\":\"{KEY}\",\"SecretAccessKey\":\"{SECRET}\"}}'"
        ),
    );
    let slow = script(&h, "slow", "sleep 30");
    let bad = script(
        &h,
        "bad",
        "echo '{\"AccessKeyId\":\"x\",\"SecretAccessKey\":\"y\"}'",
    );
    h.write_config(&format!(
        "{CONFIG}\n[profile ext]\ncredential_process = \"{creds}\" --account 'a b'\n\
         [profile on-ext]\nrole_arn = arn:aws:iam::222233334444:role/OnExt\nsource_profile = ext\nrole_session_name = onext\n\
         [profile slow]\ncredential_process = {slow}\nawscred_process_timeout = 1s\n\
         [profile bad]\ncredential_process = {bad}\n\
         [profile via-awscred]\ncredential_process = awscred process --profile ext\n"
    ));
    let o = h.run(&["process", "--profile", "on-ext"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let issued = h.emu.issued(v["AccessKeyId"].as_str().unwrap()).unwrap();
    assert_eq!(
        issued.arn,
        "arn:aws:sts::222233334444:assumed-role/OnExt/onext"
    );
    let err = stderr(&o);
    assert!(
        err.contains("args: --account a b"),
        "words split as botocore: {err}"
    );
    assert!(err.contains("chain: ext"), "marker set: {err}");
    assert!(!err.contains("stdin was not empty"), "{err}");

    let o = h.run(&["process", "--profile", "slow"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did not finish within 1 s"),
        "{}",
        stderr(&o)
    );

    let o = h.run(&["process", "--profile", "bad"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no \"Version\": 1"), "{}", stderr(&o));

    // awscred's own line is resolved here: the script runs once, not through a second awscred.
    let o = h.run(&["process", "--profile", "via-awscred"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("chain: via-awscred") || stderr(&o).contains("chain: ext"));

    // A loop through the marker is refused before anything runs again.
    let mut h2 = h;
    h2.set_env("AWSCRED_PROCESS_CHAIN", "ext");
    let o = h2.run(&["process", "--profile", "ext"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("ext → ext"), "{}", stderr(&o));
}
