//! A Secret Service that is there but locked: under `auto` awscred says so in one warning
//! line and moves to the next store; with the Secret Service chosen explicitly it fails with
//! the fix. Runs its own D-Bus session and gnome-keyring, so the suite's keyring stays
//! unlocked for the other tests.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::process::Command;

const SCRIPT: &str = r#"
set -u
export XDG_DATA_HOME="$HOME/keyring-data"
mkdir -p "$XDG_DATA_HOME"
eval "$(printf 'locked-test' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
AWSCRED_CACHE=auto "$AWSCRED" login --profile bedrock > "$OUT/login1.out" 2> "$OUT/login1.err"; echo $? > "$OUT/login1.rc"
AWSCRED_CACHE=auto "$AWSCRED" status --profile bedrock > "$OUT/status1.out" 2>&1
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
  org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login > /dev/null
AWSCRED_CACHE=auto "$AWSCRED" login --profile bedrock > "$OUT/login2.out" 2> "$OUT/login2.err"; echo $? > "$OUT/login2.rc"
AWSCRED_CACHE=auto "$AWSCRED" export --profile bedrock > "$OUT/export.out" 2> "$OUT/export.err"; echo $? > "$OUT/export.rc"
AWSCRED_CACHE=secret-service "$AWSCRED" export --profile bedrock > "$OUT/copy.out" 2> "$OUT/copy.err"; echo $? > "$OUT/copy.rc"
AWSCRED_CACHE=secret-service "$AWSCRED" export --profile admin > "$OUT/explicit.out" 2> "$OUT/explicit.err"; echo $? > "$OUT/explicit.rc"
"#;

#[test]
fn a_locked_secret_service_falls_back_under_auto_and_fails_clearly_when_chosen() {
    let have = |c: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("dbus-run-session") || !have("gnome-keyring-daemon") || !have("dbus-send") {
        return missing("dbus-run-session, dbus-send and gnome-keyring-daemon");
    }
    let h = Harness::new(
        "auto",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let out = h.home().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let cmd = h.command(&[]);
    let o = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", SCRIPT])
        .env_clear()
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("AWSCRED", env!("CARGO_BIN_EXE_awscred"))
        .env("OUT", &out)
        .output()
        .unwrap();
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_default();
    assert_eq!(
        read("login1.rc").trim(),
        "0",
        "{}{}",
        read("login1.err"),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        read("status1.out").contains("store:        secret-service"),
        "{}",
        read("status1.out")
    );

    // Locked: the sign-in moves to the next store, saying so once.
    assert_eq!(read("login2.rc").trim(), "0", "{}", read("login2.err"));
    let warnings: Vec<String> = read("login2.err")
        .lines()
        .filter(|l| l.contains("warning:"))
        .map(str::to_string)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("the secret-service store is not usable"),
        "{}",
        warnings[0]
    );
    assert_eq!(read("export.rc").trim(), "0", "{}", read("export.err"));
    parse_export(&read("export.out"));

    // Credentials fetched before the lock are still served from their kernel keyring copy
    // until they expire (SPEC §4).
    assert_eq!(read("copy.rc").trim(), "0", "{}", read("copy.err"));
    parse_export(&read("copy.out"));

    // Chosen explicitly, for credentials never fetched: a clear failure with the fix,
    // nothing on stdout.
    assert_eq!(read("explicit.rc").trim(), "2", "{}", read("explicit.err"));
    assert!(read("explicit.out").is_empty());
    assert!(
        read("explicit.err").contains("secret-service store"),
        "{}",
        read("explicit.err")
    );
    assert!(
        read("explicit.err").contains("hint: set AWSCRED_CACHE=file"),
        "{}",
        read("explicit.err")
    );
}
