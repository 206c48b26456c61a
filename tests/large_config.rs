//! Configs of tens of thousands of profiles (generated for every account of an
//! organisation): a command reads only the sections its profile's chain names, so an error in
//! another section does not stop a cache hit; `doctor` and `list` read every section and
//! report it.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;

fn signed_in() -> Harness {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    h
}

#[test]
fn an_error_in_another_section_stops_no_hit_and_doctor_and_list_report_it() {
    let h = signed_in();
    assert!(h.run(&["process", "--profile", "admin"]).status.success());
    let broken =
        format!("{CONFIG}\n[profile broken]\nregion = eu-west-1\nthis line has no equals sign\n");
    h.write_config(&broken);
    let line = broken.lines().count();
    for profile in ["bedrock", "admin"] {
        let o = h.run(&["export", "--profile", profile]);
        assert!(o.status.success(), "{profile}: {}", stderr(&o));
        parse_export(&stdout(&o));
    }
    let want = format!(".aws/config:{line}: expected `key = value`");
    let o = h.run(&["doctor", "--profile", "bedrock"]);
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains(&want) || stderr(&o).contains(&want),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = h.run(&["list"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    // The section asked for is still checked.
    let o = h.run(&["export", "--profile", "broken"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

#[test]
fn a_fifty_thousand_profile_config_serves_hits_and_lists_every_profile() {
    let h = signed_in();
    let mut text = String::with_capacity(50_000 * 120);
    for i in 0..50_000 {
        text.push_str(&format!(
            "[profile org-{i:06}]\nsso_session = corp\nsso_account_id = {:012}\nsso_role_name = Admin\nregion = us-east-1\n\n",
            100_000_000_000u64 + i
        ));
    }
    text.push_str(CONFIG);
    h.write_config(&text);
    for profile in ["bedrock", "admin"] {
        let o = h.run(&["export", "--profile", profile]);
        assert!(o.status.success(), "{profile}: {}", stderr(&o));
    }
    let o = h.run(&["list", "--names"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 50_002);
}
