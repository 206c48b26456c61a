//! Browser sign-in (authorization code + PKCE) against the emulator, with a scripted
//! browser set as `BROWSER`, and the rules for running without a terminal.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;

const BROWSER_PROFILE: &str = "
[profile web]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = BedrockUser
awscred_login = browser
awscred_login_timeout = 60
";

fn harness(settings: Settings, mode: &str) -> Harness {
    let mut h = Harness::new("file", settings);
    h.write_config(&format!("{CONFIG}{BROWSER_PROFILE}"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fake-browser.py"
    );
    h.set_env("BROWSER", &format!("python3 {script}"));
    let log = h.home().join("browser.log");
    h.set_env("FAKE_BROWSER_LOG", log.to_str().unwrap());
    h.set_env("FAKE_BROWSER_MODE", mode);
    h
}

/// The argv of each launch of the scripted browser, one line each.
fn launched(h: &Harness) -> Vec<String> {
    std::fs::read_to_string(h.home().join("browser.log"))
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

fn launches(h: &Harness) -> usize {
    launched(h).len()
}

#[test]
fn browser_login_succeeds_with_pkce() {
    let h = harness(Settings::default(), "follow");
    let o = h.run(&["login", "--profile", "web"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("/authorize?response_type=code&client_id="),
        "{out}"
    );
    for p in [
        "code_challenge_method=S256",
        "scopes=sso%3Aaccount%3Aaccess",
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A",
        "%2Foauth%2Fcallback",
        "&state=",
        "&code_challenge=",
    ] {
        assert!(out.contains(p), "{p} in {out}");
    }
    assert!(
        !out.contains("/start/"),
        "the user sees the provider's URL: {out}"
    );
    // The browser's argv, readable by every local user, holds only a one-use local link.
    let argv = launched(&h);
    assert_eq!(argv.len(), 1);
    assert!(argv[0].starts_with("http://127.0.0.1:"), "{argv:?}");
    assert!(argv[0].contains("/start/"), "{argv:?}");
    for p in [
        "state",
        "code_challenge",
        "client_id",
        "authorize",
        "redirect_uri",
    ] {
        assert!(!argv[0].contains(p), "{p} in {argv:?}");
    }
    assert_eq!(h.emu.count("Authorize"), 1);
    assert_eq!(h.emu.count("CreateToken:authorization_code"), 1);
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 0);
    let e = h.run(&["export", "--profile", "web"]);
    assert!(e.status.success());
    parse_export(&stdout(&e));
}

/// A `BROWSER` command may be a quoted program path with spaces, as macOS `.app` bundles
/// have; commands are tried in order until one starts.
#[cfg(unix)]
#[test]
fn browser_may_be_a_quoted_path_with_spaces() {
    use std::os::unix::fs::PermissionsExt;
    let mut h = harness(Settings::default(), "follow");
    let app = h.home().join("Google Chrome.app/Contents/MacOS");
    std::fs::create_dir_all(&app).unwrap();
    let program = app.join("Google Chrome");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fake-browser.py"
        ),
        &program,
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    h.set_env(
        "BROWSER",
        &format!(
            "/nonexistent/awscred-browser:\"{}\" --new-window %s",
            program.display()
        ),
    );
    let o = h.run(&["login", "--profile", "web"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let argv = launched(&h);
    assert_eq!(argv.len(), 1, "{argv:?}");
    assert!(
        argv[0].starts_with("--new-window http://127.0.0.1:"),
        "{argv:?}"
    );
    assert_eq!(h.emu.count("CreateToken:authorization_code"), 1);
}

#[test]
fn auth_code_and_device_registrations_are_cached_apart() {
    let h = harness(
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
        "follow",
    );
    assert!(
        h.run(&["login", "--profile", "bedrock", "--device-code"])
            .status
            .success()
    );
    assert!(
        h.run(&["login", "--profile", "web", "--force"])
            .status
            .success()
    );
    assert_eq!(h.emu.count("RegisterClient"), 2);
    assert!(
        h.run(&["login", "--profile", "web", "--force"])
            .status
            .success()
    );
    assert_eq!(h.emu.count("RegisterClient"), 2, "registrations are reused");
}

#[test]
fn wrong_state_is_ignored_and_the_wait_goes_on() {
    let h = harness(
        Settings {
            authorize: "wrong-state".into(),
            ..Settings::default()
        },
        "follow",
    );
    let o = h.run(&["login", "--profile", "web", "--timeout", "3"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("ignored a sign-in callback with the wrong state"),
        "{err}"
    );
    // Not ended by the forged callback: the sign-in ran on to its timeout.
    assert!(err.contains("did not finish within 3 s"), "{err}");
    assert_eq!(h.emu.count("Authorize"), 1);
    assert_eq!(h.emu.count("CreateToken"), 0);
}

#[test]
fn forged_callbacks_are_ignored_and_the_real_one_completes_the_sign_in() {
    let h = harness(Settings::default(), "forge-first");
    let o = h.run(&["login", "--profile", "web"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(
        err.matches("ignored a sign-in callback with the wrong state")
            .count(),
        1,
        "three forged callbacks, one warning: {err}"
    );
    assert_eq!(h.emu.count("CreateToken:authorization_code"), 1);
    let e = h.run(&["export", "--profile", "web"]);
    assert!(e.status.success(), "{}", stderr(&e));
}

#[test]
fn a_second_opening_of_the_sign_in_link_ends_the_sign_in() {
    let h = harness(Settings::default(), "open-twice");
    let o = h.run(&["login", "--profile", "web"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("the sign-in link was opened twice"), "{err}");
    assert!(
        err.contains("hint: run awscred login --profile web"),
        "{err}"
    );
    assert_eq!(h.emu.count("Authorize"), 0);
    assert_eq!(h.emu.count("CreateToken"), 0);
}

#[test]
fn access_denied_callback() {
    let h = harness(
        Settings {
            authorize: "deny".into(),
            ..Settings::default()
        },
        "follow",
    );
    let o = h.run(&["login", "--profile", "web"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("denied"), "{}", stderr(&o));
}

#[test]
fn verifier_mismatch_is_rejected_by_the_emulator() {
    let h = harness(Settings::default(), "tamper-challenge");
    let o = h.run(&["login", "--profile", "web"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rejected the sign-in code"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.emu.count("CreateToken:authorization_code"), 1);
}

#[test]
fn busy_redirect_port_is_a_clear_error() {
    let h = harness(Settings::default(), "follow");
    let held = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = held.local_addr().unwrap().port();
    h.write_config(&format!(
        "{CONFIG}{BROWSER_PROFILE}awscred_redirect_port = {port}\n"
    ));
    let o = h.run(&["login", "--profile", "web"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("port {port} on 127.0.0.1 is in use")),
        "{}",
        stderr(&o)
    );
    assert_eq!(launches(&h), 0);
}

#[test]
fn user_who_never_finishes_gets_a_timeout() {
    let h = harness(Settings::default(), "ignore");
    let o = h.run(&["login", "--profile", "web", "--timeout", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("did not finish within 2 s"),
        "{}",
        stderr(&o)
    );
    // The hint does not just name the command that was run: it says how to get more time.
    assert!(
        stderr(&o).contains(
            "hint: finish the sign-in within 2 s when you run it again, or give it longer: awscred login --profile web --timeout 600"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn no_browser_prints_the_url_without_launching() {
    let h = harness(Settings::default(), "follow");
    let o = h.run(&[
        "login",
        "--profile",
        "web",
        "--no-browser",
        "--timeout",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("/authorize?response_type=code"));
    assert_eq!(launches(&h), 0);
}

#[test]
fn parallel_exports_without_terminal_open_one_browser() {
    let h = harness(Settings::default(), "follow");
    let kids: Vec<_> = (0..10)
        .map(|_| {
            h.command(&["export", "--profile", "web"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = kids
        .into_iter()
        .map(|k| k.wait_with_output().unwrap())
        .collect();
    for o in &outs {
        assert!(o.status.success(), "{}", stderr(o));
    }
    parse_export(&stdout(&outs[0]));
    assert!(outs.iter().all(|o| o.stdout == outs[0].stdout));
    assert_eq!(launches(&h), 1, "one browser window");
    assert_eq!(h.emu.count("Authorize"), 1);
    assert_eq!(h.emu.count("GetRoleCredentials"), 1);
}

#[test]
fn a_chatty_launcher_does_not_touch_stdout() {
    let h = harness(Settings::default(), "noisy");
    let o = h.run(&["export", "--profile", "web"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("GLib-WARNING"));
    // Without a terminal the instructions go to stderr, with the provider's own URL.
    assert!(
        stderr(&o).contains("/authorize?response_type=code&client_id="),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("/start/"), "{}", stderr(&o));
    let first = stdout(&o);
    parse_export(&first);
    let again = h.run(&["export", "--profile", "web"]);
    assert_eq!(stdout(&again), first, "byte-identical to the cache hit");
    assert_eq!(launches(&h), 1);
}

#[test]
fn headless_machine_uses_the_device_flow() {
    // The harness gives awscred no DISPLAY and no BROWSER: no browser can open here.
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("confirm the code"));
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 1);
    assert_eq!(h.emu.count("Authorize"), 0);
    // And `export` without a terminal fails fast, saying why.
    assert!(h.run(&["logout", "--profile", "bedrock"]).status.success());
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no browser can open"), "{}", stderr(&o));
}

/// The flow chosen automatically (no `awscred_login` in the profile), as users meet it:
/// a VS Code remote's `BROWSER` helper opens the browser even over SSH; plain SSH with a
/// `BROWSER` from the dotfiles does not; Claude Code's `BROWSER=true` on WSL is no browser,
/// but `wslview` on PATH is.
#[cfg(unix)]
#[test]
fn the_flow_is_chosen_from_the_environment_when_the_profile_does_not_pin_it() {
    use std::os::unix::fs::PermissionsExt;
    let mut h = harness(Settings::default(), "follow");
    // bedrock (from CONFIG) pins no flow.
    h.set_env("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22");
    h.set_env("VSCODE_IPC_HOOK_CLI", "/tmp/vscode-ipc-test.sock");
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "VS Code remote: {}", stderr(&o));
    assert_eq!(launches(&h), 1, "the BROWSER helper was used");
    assert_eq!(h.emu.count("StartDeviceAuthorization"), 0);

    let mut h = harness(Settings::default(), "follow");
    h.set_env("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22");
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "plain SSH: {}", stderr(&o));
    assert!(
        stderr(&o).contains("this is an SSH session"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        launches(&h),
        0,
        "a dotfiles BROWSER is not launched over SSH"
    );

    let mut h = harness(Settings::default(), "follow");
    let bin = h.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fake-browser.py"
    );
    let wslview = bin.join("wslview");
    std::fs::write(
        &wslview,
        format!("#!/bin/sh\nexec python3 {script} \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&wslview, std::fs::Permissions::from_mode(0o755)).unwrap();
    h.set_env("BROWSER", "true");
    h.set_env("WSL_DISTRO_NAME", "Ubuntu");
    h.set_env(
        "PATH",
        &format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "WSL with wslview: {}", stderr(&o));
    assert_eq!(launches(&h), 1, "wslview opened the sign-in link");
}
