//! Exact round trips to AWS for each cold path, so an unneeded request shows up as a
//! failing count (SPEC §8: a refresh of role credentials is one request, a token refresh
//! one).

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;

#[test]
fn device_login_is_four_requests() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock", "--device-code"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // RegisterClient, StartDeviceAuthorization, CreateToken, GetRoleCredentials.
    assert_eq!(h.total_requests(), 4, "{:?}", h.emu.counters());
    // A second profile on the same session needs only its own role credentials.
    let o = h.run(&["export", "--profile", "admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        h.total_requests(),
        5,
        "one AssumeRole on top of the cached SSO step: {:?}",
        h.emu.counters()
    );
}

#[test]
fn three_role_chain_is_one_request_per_step() {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    h.write_config(&format!(
        "{CONFIG}
[profile r1]
role_arn = arn:aws:iam::222233334444:role/R1
source_profile = bedrock
[profile r2]
role_arn = arn:aws:iam::222233334444:role/R2
source_profile = r1
[profile r3]
role_arn = arn:aws:iam::222233334444:role/R3
source_profile = r2
"
    ));
    // Signed in, with the SSO role credentials cached by the sign-in.
    assert!(
        h.run(&["login", "--profile", "bedrock", "--device-code"])
            .status
            .success()
    );
    h.emu.reset_counters();
    let o = h.run(&["process", "--profile", "r3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu.count("AssumeRole"), 3);
    assert_eq!(
        h.total_requests(),
        3,
        "the SSO step is cached: {:?}",
        h.emu.counters()
    );
    let o = h.run(&["process", "--profile", "r3"]);
    assert!(o.status.success());
    assert_eq!(h.total_requests(), 3, "cache hit: no request");
}
