//! The AWS console (`awscred console`) and the access portal (`awscred sso list`,
//! `awscred sso populate`), end to end against the emulator.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stderr,
    unsafe_code
)]

mod common;

use awscred_emulator::{Fault, PortalAccount, Settings};
use common::*;
use std::io::{Read, Write};

/// A plain HTTP/1.0 GET of a loopback URL: the status and the body.
fn http_get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

fn settings() -> Settings {
    Settings {
        auto_approve_after: Some(0),
        ..Settings::default()
    }
}

/// The value of `key` in a URL's query, decoded.
fn query_value(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| {
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() + 1 {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        })
    })
}

#[test]
fn console_print_gives_a_sign_in_url_for_the_end_of_a_role_chain() {
    let h = Harness::new("file", settings());
    h.login();
    let o = h.run(&[
        "console",
        "--profile",
        "admin",
        "--print",
        "--duration",
        "2h",
        "--destination",
        "bedrock",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let url = stdout(&o).trim().to_string();
    assert!(
        url.starts_with(&format!("{}/federation?Action=login&", h.emu.url())),
        "{url}"
    );
    assert_eq!(
        query_value(&url, "Destination").as_deref(),
        Some("https://console.aws.amazon.com/bedrock/home"),
        "admin has no region"
    );
    let token = query_value(&url, "SigninToken").unwrap();
    assert!(!stderr(&o).contains(&token), "the token only on stdout");
    let (status, body) = http_get(&url);
    assert_eq!(status, 200, "{body}");
    let logins = h.emu.console_logins();
    assert_eq!(logins.len(), 1);
    assert!(
        logins[0].arn.contains(":assumed-role/Admin/"),
        "the chain's last role: {}",
        logins[0].arn
    );
    assert_eq!(logins[0].session_duration, Some(7200));
    let (again, _) = http_get(&url);
    assert_eq!(again, 400, "a sign-in token works once");

    // The SSO profile: its region picks the destination's region.
    let o = h.run(&["console", "--profile", "bedrock", "--print"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let url = stdout(&o).trim().to_string();
    assert_eq!(
        query_value(&url, "Destination").as_deref(),
        Some("https://console.aws.amazon.com/console/home?region=us-east-1")
    );
    assert_eq!(http_get(&url).0, 200);
    let last = h.emu.console_logins().pop().unwrap();
    assert!(
        last.arn.contains(":assumed-role/BedrockUser/"),
        "{}",
        last.arn
    );
    assert_eq!(last.session_duration, None, "no --duration: none sent");
}

const USER_KEY: &str = "AKIAEMUCONSOLEUSER01";
const USER_SECRET: &str = "console-user-secret-key";

#[test]
fn console_for_long_term_keys_goes_through_get_federation_token() {
    let h = Harness::new("file", settings());
    h.emu.add_user(USER_KEY, USER_SECRET, ACCOUNT, "alice");
    h.write_config(&format!(
        "[profile keys]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\nregion = us-gov-west-1\n"
    ));
    let o = h.run(&[
        "console",
        "--profile",
        "keys",
        "--print",
        "--duration",
        "2h",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let url = stdout(&o).trim().to_string();
    assert_eq!(
        query_value(&url, "Destination").as_deref(),
        Some("https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"),
        "GovCloud's console"
    );
    let calls = h.emu.sts_calls();
    let (_, form) = calls
        .iter()
        .find(|(a, _)| a == "GetFederationToken")
        .expect("GetFederationToken");
    assert_eq!(form["Name"], "keys");
    assert_eq!(
        form["DurationSeconds"], "7200",
        "--duration sets its lifetime"
    );
    assert!(
        form["Policy"].contains("\"Action\":\"*\""),
        "{}",
        form["Policy"]
    );
    assert_eq!(http_get(&url).0, 200);
    let login = h.emu.console_logins().pop().unwrap();
    assert!(login.arn.contains(":federated-user/keys"), "{}", login.arn);
    assert_eq!(login.session_duration, None, "never for a federation token");
}

#[test]
fn console_duration_is_refused_where_it_cannot_apply() {
    let h = Harness::new("file", settings());
    h.write_config(&format!(
        "{CONFIG}\n[profile temp]\naws_access_key_id = ASIAEXAMPLE\naws_secret_access_key = s\naws_session_token = t\n"
    ));
    let o = h.run(&[
        "console",
        "--profile",
        "temp",
        "--print",
        "--duration",
        "1h",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--duration sets the console session of role credentials"),
        "{}",
        stderr(&o)
    );
    for (profile, d) in [("bedrock", "13h"), ("bedrock", "600")] {
        let o = h.run(&["console", "--profile", profile, "--print", "--duration", d]);
        assert_eq!(o.status.code(), Some(1), "{d}: {}", stderr(&o));
        assert!(stderr(&o).contains("900 s to 12 h"), "{}", stderr(&o));
    }
    let o = h.run(&[
        "console",
        "--profile",
        "bedrock",
        "--print",
        "--destination",
        "http://x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        h.total_requests(),
        0,
        "refused before any request or sign-in"
    );
}

#[test]
fn console_failures_of_the_federation_endpoint_show_no_body() {
    let mut h = Harness::new("file", settings());
    h.login();
    h.emu.inject(Fault {
        body: Some("SECRET-BODY <html>".into()),
        ..Fault::error("GetSigninToken", 400, "", 1)
    });
    let o = h.run(&["console", "--profile", "bedrock", "--print"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("getSigninToken"), "{}", stderr(&o));
    assert!(stderr(&o).contains("HTTP 400"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("SECRET-BODY"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    // Credentials the service no longer accepts get no sign-in token.
    assert_eq!(h.emu.expire_all(), 1);
    let o = h.run(&["console", "--profile", "bedrock", "--print"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("HTTP 400"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--refresh"), "{}", stderr(&o));
    let o = h.run(&["console", "--profile", "bedrock", "--print", "--refresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(http_get(stdout(&o).trim()).0, 200);
    // AWS_ENDPOINT_URL_SIGNIN is where the federation endpoint is.
    h.set_env(
        "AWS_ENDPOINT_URL_SIGNIN",
        "http://127.0.0.1:9/signin-override",
    );
    let o = h.run(&["console", "--profile", "bedrock", "--print"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("127.0.0.1:9/signin-override/federation"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("sessionKey"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Session="), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn console_opens_the_browser_through_a_one_use_link() {
    let mut h = Harness::new("file", settings());
    h.login();
    let dir = h.home().join("browser");
    std::fs::create_dir(&dir).unwrap();
    let log = dir.join("log");
    let script = dir.join("browser.py");
    // Fetches the link without following it, fetches it again, then opens where it led.
    std::fs::write(
        &script,
        r#"import sys, urllib.request, urllib.error
log = open(sys.argv[1], "a")
log.write("argv " + " ".join(sys.argv) + "\n")
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
def fetch(url):
    try:
        r = urllib.request.build_opener(NoRedirect).open(url, timeout=30)
        return r.status, ""
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location") or ""
status, location = fetch(sys.argv[-1])
log.write("first %d\n" % status)
status, _ = fetch(sys.argv[-1])
log.write("second %d\n" % status)
status, _ = fetch(location)
log.write("console %d\n" % status)
"#,
    )
    .unwrap();
    h.set_env(
        "BROWSER",
        &format!("python3 {} {} %s", script.display(), log.display()),
    );
    let o = h.run(&["console", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "nothing on stdout: {}", stdout(&o));
    let log = std::fs::read_to_string(&log).unwrap();
    let argv = log.lines().next().unwrap();
    assert!(argv.contains("http://127.0.0.1:"), "{log}");
    assert!(!argv.contains("SigninToken"), "{log}");
    assert!(!argv.contains("federation"), "{log}");
    assert!(log.contains("first 302"), "{log}");
    assert!(log.contains("second 410"), "the link works once: {log}");
    assert!(log.contains("console 200"), "{log}");
    assert_eq!(h.emu.console_logins().len(), 1);

    // No browser can open: say to use --print, before signing anything.
    let mut headless = Harness::new("file", settings());
    headless.set_env("BROWSER", "");
    let before = headless.total_requests();
    let o = headless.run(&["console", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--print"), "{}", stderr(&o));
    assert_eq!(headless.total_requests(), before);
}

fn accounts() -> Vec<PortalAccount> {
    vec![
        PortalAccount::new("111122223333", "Bedrock Dev", &["BedrockUser", "ReadOnly"]),
        PortalAccount::new("444455556666", "Production", &["ReadOnly"]),
        PortalAccount::new("777788889999", "Sandbox", &["Admin"]),
    ]
}

#[test]
fn sso_list_follows_every_page_in_text_and_json() {
    let h = Harness::new(
        "file",
        Settings {
            portal_accounts: accounts(),
            ..settings()
        },
    );
    h.login();
    h.emu.reset_counters();
    let o = h.run(&["sso", "list", "--sso-session", "corp", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let got: Vec<(String, Vec<String>)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["accountName"].as_str().unwrap().to_string(),
                a["roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "Bedrock Dev".to_string(),
                vec!["BedrockUser".to_string(), "ReadOnly".to_string()]
            ),
            ("Production".to_string(), vec!["ReadOnly".to_string()]),
            ("Sandbox".to_string(), vec!["Admin".to_string()]),
        ]
    );
    assert_eq!(v[0]["accountId"], "111122223333");
    assert_eq!(h.emu.count("ListAccounts"), 3, "one account a page");
    assert_eq!(
        h.emu.count("ListAccountRoles"),
        4,
        "Bedrock Dev has two pages"
    );
    // Text, and the only sso-session by default.
    let o = h.run(&["sso", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(
            "Bedrock Dev (111122223333, aws+111122223333@example.com)\n  BedrockUser\n  ReadOnly\n"
        ),
        "{}",
        stdout(&o)
    );
    let o = h.run(&["sso", "list", "--sso-session", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("sessions: corp"), "{}", stderr(&o));

    // A session no profile uses: listed with the same sign-in.
    h.write_config(
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
    );
    let o = h.run(&["sso", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    // Not signed in, and no terminal: how to sign in for such a session.
    std::fs::remove_dir_all(h.cache_dir()).unwrap();
    let o = h.run(&["sso", "list", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hint: run awscred sso list --sso-session corp in a terminal"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("(sso-session corp) is needed to list its accounts"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("awscred-sso-listing"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sso_list_backs_off_when_the_portal_throttles() {
    let h = Harness::new(
        "file",
        Settings {
            portal_accounts: accounts(),
            ..settings()
        },
    );
    h.login();
    // More throttled answers than the network layer retries by itself.
    h.emu.inject(Fault::error(
        "ListAccountRoles",
        429,
        "TooManyRequestsException",
        4,
    ));
    let o = h.run(&["sso", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(h.emu.count("ListAccountRoles"), 4 + 4);
}

fn config(h: &Harness) -> String {
    std::fs::read_to_string(h.config_path()).unwrap()
}

const HAND_WRITTEN: &str = "# mine\n[profile Production.ReadOnly]\nregion = eu-west-1\n";

#[test]
fn sso_populate_writes_updates_removes_and_keeps_what_the_user_changed() {
    let h = Harness::new(
        "file",
        Settings {
            portal_accounts: accounts(),
            ..settings()
        },
    );
    h.write_config(&format!("{CONFIG}\n{HAND_WRITTEN}"));
    h.login();
    let before = config(&h);

    let o = h.run(&["sso", "populate", "--sso-session", "corp", "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Would add profile Bedrock-Dev.BedrockUser (account 111122223333 Bedrock Dev, role BedrockUser)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(config(&h), before, "dry run writes nothing");

    let o = h.run(&[
        "sso",
        "populate",
        "--sso-session",
        "corp",
        "--region",
        "eu-west-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "Skipped profile Production.ReadOnly: a profile awscred did not generate has this name"
        ),
        "{out}"
    );
    assert!(
        out.contains("aws sso login"),
        "says what the AWS CLI needs: {out}"
    );
    let written = config(&h);
    assert!(
        written.starts_with(&before),
        "appended after what was there:\n{written}"
    );
    assert!(
        written.contains("[profile Bedrock-Dev.ReadOnly]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\nregion = eu-west-1\nawscred_generated = corp\n"),
        "{written}"
    );
    assert!(written.contains("[profile Sandbox.Admin]"), "{written}");
    assert_eq!(written.matches("[profile Production.ReadOnly]").count(), 1);

    // The generated profiles work, and complete.
    let o = h.run(&["export", "--profile", "Sandbox.Admin"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let akid = parse_export(&stdout(&o))["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(h.emu.issued(&akid).unwrap().account, "777788889999");
    let o = h
        .command(&["--", "awscred", "export", "--profile", "Bedrock-D"])
        .env("AWSCRED_COMPLETE", "fish")
        .output()
        .unwrap();
    assert_eq!(
        stdout(&o).trim(),
        "Bedrock-Dev.BedrockUser\nBedrock-Dev.ReadOnly",
        "{}",
        stderr(&o)
    );

    // Once more: nothing changes.
    let o = h.run(&[
        "sso",
        "populate",
        "--sso-session",
        "corp",
        "--region",
        "eu-west-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Nothing to change"), "{}", stdout(&o));
    assert_eq!(config(&h), written);

    // The user adds a key to one; Sandbox and Bedrock Dev's ReadOnly go away.
    let edited = written.replace(
        "sso_role_name = ReadOnly\nregion = eu-west-1\n",
        "sso_role_name = ReadOnly\nregion = eu-west-1\noutput = json\n",
    );
    h.write_config(&edited);
    h.emu.update(|s| {
        s.portal_accounts = vec![
            PortalAccount::new("111122223333", "Bedrock Dev", &["BedrockUser"]),
            PortalAccount::new("444455556666", "Production", &["ReadOnly"]),
        ]
    });
    let o = h.run(&[
        "sso",
        "populate",
        "--sso-session",
        "corp",
        "--region",
        "eu-west-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Removed profile Sandbox.Admin"), "{out}");
    assert!(
        out.contains("Kept profile Bedrock-Dev.ReadOnly: you added output"),
        "{out}"
    );
    let after = config(&h);
    assert!(!after.contains("Sandbox.Admin"), "{after}");
    assert!(after.contains("output = json"), "{after}");
    assert!(
        after.contains(HAND_WRITTEN),
        "hand-written profile untouched:\n{after}"
    );
    assert!(
        after.contains("[profile Bedrock-Dev.BedrockUser]"),
        "{after}"
    );
}

#[test]
fn sso_populate_reports_two_roles_with_one_name() {
    let h = Harness::new(
        "file",
        Settings {
            portal_accounts: vec![
                PortalAccount::new("111122223333", "Team", &["Dev"]),
                PortalAccount::new("444455556666", "Team", &["Dev"]),
            ],
            ..settings()
        },
    );
    h.login();
    let o = h.run(&["sso", "populate", "--sso-session", "corp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Skipped profile Team.Dev: also the name of account 111122223333 Team, role Dev; skipped account 444455556666 Team, role Dev"),
        "{}",
        stdout(&o)
    );
    assert_eq!(config(&h).matches("[profile Team.Dev]").count(), 1);
    let o = h.run(&[
        "sso",
        "populate",
        "--sso-session",
        "corp",
        "--template",
        "{account_id}.{role_name}",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = config(&h);
    assert!(text.contains("[profile 444455556666.Dev]"), "{text}");
    assert!(!text.contains("Team.Dev"), "the old names are gone: {text}");
}

#[test]
fn sso_populate_credential_process_profiles_resolve_to_the_sso_role() {
    let h = Harness::new(
        "file",
        Settings {
            portal_accounts: vec![PortalAccount::new("444455556666", "Prod", &["Ops"])],
            ..settings()
        },
    );
    h.login();
    let o = h.run(&[
        "sso",
        "populate",
        "--sso-session",
        "corp",
        "--credential-process",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = config(&h);
    assert!(
        text.contains("[profile Prod.Ops]\ncredential_process = ")
            && text.contains(
                "process --profile Prod.Ops.sso\nregion = us-east-1\nawscred_generated = corp\n"
            ),
        "{text}"
    );
    assert!(
        text.contains("[profile Prod.Ops.sso]\nsso_session = corp\n"),
        "{text}"
    );
    let o = h.run(&["process", "--profile", "Prod.Ops"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let akid = v["AccessKeyId"].as_str().unwrap();
    assert_eq!(h.emu.issued(akid).unwrap().account, "444455556666");

    // The AWS CLI uses it with no sign-in of its own.
    let Some(aws) = aws_cli() else {
        return missing("the AWS CLI (pip install awscli)");
    };
    let o = aws_command(
        &aws,
        &h,
        &[
            "sts",
            "get-caller-identity",
            "--profile",
            "Prod.Ops",
            "--output",
            "json",
        ],
    )
    .env("XDG_CACHE_HOME", h.home().join(".cache"))
    .env("AWSCRED_CACHE", "file")
    .output()
    .expect("run aws");
    assert!(o.status.success(), "aws failed: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["Account"], "444455556666");
}

#[test]
fn sso_populate_writes_nothing_a_hostile_portal_slips_into_names_or_values() {
    let h = Harness::new(
        "file",
        Settings {
            portal_accounts: vec![
                PortalAccount::new("111122223333\n[profile evil]", "Bad id", &["Role"]),
                PortalAccount::new(
                    "444455556666",
                    "Team]\n[profile injected]\x1b[2J",
                    &["Ops", "Ops\ncredential_process = evil"],
                ),
            ],
            ..settings()
        },
    );
    h.login();
    let o = h.run(&["sso", "populate", "--sso-session", "corp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = config(&h);
    assert!(!text.contains("evil"), "{text}");
    assert!(!text.contains("[profile injected]"), "{text}");
    assert!(!text.contains('\x1b'), "{text}");
    assert!(
        text.contains(
            "[profile Team---profile-injected---2J.Ops]\nsso_session = corp\nsso_account_id = 444455556666\nsso_role_name = Ops\n"
        ),
        "{text}"
    );
    assert_eq!(
        text.matches("sso_role_name").count(),
        2,
        "bedrock's and the one good role: {text}"
    );
    assert!(stderr(&o).contains("not 12 digits"), "{}", stderr(&o));
    assert!(!stderr(&o).contains('\x1b'), "{}", stderr(&o));
    assert!(!stdout(&o).contains('\x1b'), "{}", stdout(&o));
}

#[test]
fn sso_list_asks_for_at_most_four_accounts_roles_at_once() {
    let many: Vec<PortalAccount> = (0..10)
        .map(|i| PortalAccount::new(&format!("1000000000{i:02}"), &format!("A{i}"), &["R"]))
        .collect();
    let h = Harness::new(
        "file",
        Settings {
            portal_accounts: many,
            portal_delay_ms: 300,
            ..settings()
        },
    );
    h.login();
    let o = h.run(&["sso", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 10);
    assert_eq!(h.emu.count("ListAccountRoles"), 10, "one call per account");
    let most = h.emu.max_role_listings_at_once();
    assert!((2..=4).contains(&most), "{most} at once");
}
