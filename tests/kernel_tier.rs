//! Store reads on the cache-hit path, and the kernel keyring copy in front of the Secret
//! Service: a hit reads the store once (no probe), a Secret Service hit is answered from the
//! kernel keyring without D-Bus, and every path that deletes credentials deletes the copy
//! too. (A full kernel key quota, which needs an unprivileged user, is tested in
//! `store::kernel`.)
//!
//! Reads are counted from the `store NAME: read KIND` lines of `AWSCRED_LOG=debug`. The
//! Secret Service tests run their own D-Bus session and gnome-keyring.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

fn settings() -> Settings {
    Settings {
        auto_approve_after: Some(0),
        ..Settings::default()
    }
}

/// The `store …: read …` debug lines of a run.
fn reads(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.contains("debug: store ") && l.contains(": read "))
        .map(|l| l.split("debug: ").nth(1).unwrap_or(l).to_string())
        .collect()
}

fn export_debug(h: &Harness) -> Output {
    let mut c = h.command(&["export", "--profile", "bedrock"]);
    c.env("AWSCRED_LOG", "debug");
    c.output().unwrap()
}

fn access_key(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    parse_export(&stdout(o))["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_cache_hit_reads_the_store_once_and_auto_reads_no_probe() {
    let h = Harness::new("file", settings());
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = export_debug(&h);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(reads(&o), ["store file: read awscred:credentials"]);

    // `auto` (whichever store it takes here): only credentials are read, no probe entry.
    // In a private D-Bus session where there is one, so that no copy this test leaves in
    // the kernel keyring is found by another test in the suite's session.
    let mut h = Harness::new("auto", settings());
    let _session =
        Session::start(&h).inspect(|s| h.set_env("DBUS_SESSION_BUS_ADDRESS", &s.address));
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = export_debug(&h);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = reads(&o);
    assert!(!r.is_empty(), "{}", stderr(&o));
    assert!(
        r.iter().all(|l| l.ends_with(": read awscred:credentials")),
        "{r:?}"
    );
    // Only this profile's entries (`logout --all` would prune other tests' copies too).
    assert!(h.run(&["logout", "--profile", "bedrock"]).status.success());
}

/// A private D-Bus session with an unlocked gnome-keyring.
struct Session {
    child: Child,
    address: String,
}

impl Session {
    fn start(h: &Harness) -> Option<Self> {
        let have = |c: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {c}")])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !have("dbus-run-session") || !have("gnome-keyring-daemon") || !have("keyctl") {
            missing("dbus-run-session, gnome-keyring-daemon and keyctl");
            return None;
        }
        let script = r#"
export XDG_DATA_HOME="$HOME/keyring-data" XDG_RUNTIME_DIR="$HOME/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'tier-test' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
echo "$DBUS_SESSION_BUS_ADDRESS"
exec sleep 600
"#;
        let mut child = Command::new("dbus-run-session")
            .args(["--", "bash", "-c", script])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", h.home())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        assert!(!address.is_empty(), "no D-Bus session address");
        Some(Self { child, address })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Secret Service harness inside its own D-Bus session.
fn secret_service() -> Option<(Harness, Session)> {
    let mut h = Harness::new("secret-service", settings());
    let s = Session::start(&h)?;
    h.set_env("DBUS_SESSION_BUS_ADDRESS", &s.address);
    Some((h, s))
}

fn kernel_hit(o: &Output) -> bool {
    let r = reads(o);
    r == ["store kernel-keyring: read awscred:credentials"]
}

fn secret_service_credentials_read(o: &Output) -> bool {
    reads(o).contains(&"store secret-service: read awscred:credentials".to_string())
}

#[test]
fn a_secret_service_hit_is_answered_from_the_kernel_keyring_and_deletes_reach_it() {
    let Some((h, _session)) = secret_service() else {
        return;
    };
    h.write_config(&format!(
        "{CONFIG}\n[profile other]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Other\n"
    ));
    let login = |extra: &[&str]| {
        let mut args = vec!["login", "--profile", "bedrock"];
        args.extend_from_slice(extra);
        let o = h.run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    login(&[]);
    let o = export_debug(&h);
    assert!(kernel_hit(&o), "{:?}", reads(&o));
    let first = access_key(&o);

    // clear: the copy goes with the entry; the next export reads the Secret Service and
    // fetches new credentials with the kept sign-in.
    assert!(h.run(&["clear", "--profile", "bedrock"]).status.success());
    let o = export_debug(&h);
    assert!(secret_service_credentials_read(&o), "{:?}", reads(&o));
    let second = access_key(&o);
    assert_ne!(first, second);
    assert!(kernel_hit(&export_debug(&h)), "copied again");

    // login --force: a copy left behind would be served instead of new credentials.
    login(&["--force"]);
    let third = access_key(&export_debug(&h));
    assert_ne!(second, third, "login --force fetched new credentials");

    // Self-healing: AWS forgets the role sessions; `login` drops the rejected credentials
    // (and their copy) and fetches new ones.
    h.emu.forget_credentials();
    login(&[]);
    let o = export_debug(&h);
    assert!(kernel_hit(&o), "{:?}", reads(&o));
    let fourth = access_key(&o);
    assert_ne!(third, fourth, "the rejected credentials were dropped");
    assert!(h.emu.issued(&fourth).is_some());

    // logout: gone from the copy (the export that follows reads the Secret Service and
    // needs a sign-in).
    assert!(h.run(&["logout", "--profile", "bedrock"]).status.success());
    let o = export_debug(&h);
    assert!(!o.status.success());
    assert!(secret_service_credentials_read(&o), "{:?}", reads(&o));

    // logout --all: every copy, other profiles' included.
    login(&[]);
    let o = h.run(&["export", "--profile", "other"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(h.run(&["logout", "--all"]).status.success());
    for profile in ["bedrock", "other"] {
        let mut c = h.command(&["export", "--profile", profile]);
        let o = c.env("AWSCRED_LOG", "debug").output().unwrap();
        assert!(!o.status.success(), "{profile}");
        assert!(
            secret_service_credentials_read(&o),
            "{profile}: {:?}",
            reads(&o)
        );
    }
}
