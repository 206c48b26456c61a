//! The `awscred-emulator` binary as a person trying awscred meets it: its `--help`, its
//! `--port` checks, and approving a device code in the browser page.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_awscred-emulator");

/// Runs the binary to its end; if it starts serving instead (prints its URL), stops it, so
/// that a binary which should have refused to start fails the test rather than hangs it.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run awscred-emulator");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read stdout");
    if first.starts_with("http://") {
        let _ = child.kill();
    } else {
        stdout.read_to_string(&mut first).expect("read stdout");
    }
    let mut out = child.wait_with_output().expect("wait for awscred-emulator");
    out.stdout = first.into_bytes();
    out
}

/// A running emulator binary, stopped when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Running {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start awscred-emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the URL line");
        let url = line.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "first line: {url:?}");
        Self { child, url }
    }

    /// One HTTP/1.1 request; the status and the body.
    fn http(&self, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let addr = self.url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("read the answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        (status, body.to_string())
    }

    fn json(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, text) = self.http("POST", path, "application/json", &body.to_string());
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the first `attr="…"` after `after` in an HTML page.
fn attr<'a>(page: &'a str, after: &str, attr: &str) -> &'a str {
    let rest = &page[page
        .find(after)
        .unwrap_or_else(|| panic!("{after} in {page}"))..];
    let key = format!("{attr}=\"");
    let rest = &rest[rest.find(&key).unwrap_or_else(|| panic!("{key} in {page}")) + key.len()..];
    &rest[..rest.find('"').expect("closing quote")]
}

#[test]
fn help_documents_options_and_admin_endpoints() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--port N",
        "--auto-approve",
        "/device?user_code=",
        "Approve",
        "GET  /_emulator/counters",
        "POST /_emulator/approve",
        "?user_code=CODE",
        "POST /_emulator/settings",
        "auto_approve_after",
        "POST /_emulator/fault",
        "delay_ms",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    assert_eq!(String::from_utf8(run(&["-h"]).stdout).unwrap(), help);
}

#[test]
fn an_invalid_port_is_an_error_not_a_random_port() {
    for bad in [
        &["--port", "abc"][..],
        &["--port", "70000"],
        &["--port=-1"],
        &["--port"],
    ] {
        let out = run(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?} started anyway");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("awscred-emulator: --port"),
            "{bad:?}: {err}"
        );
    }
    let err = String::from_utf8(run(&["--port", "70000"]).stderr).unwrap();
    assert!(err.contains("\"70000\""), "{err}");
}

#[test]
fn a_valid_port_is_the_one_listened_on() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let emu = Running::start(&["--port", &port.to_string()]);
    assert_eq!(emu.url, format!("http://127.0.0.1:{port}"));
    let (status, _) = emu.http("GET", "/_emulator/counters", "text/plain", "");
    assert_eq!(status, 200);
}

/// Registers a client and starts two device authorizations: the client and the two
/// `(deviceCode, verificationUriComplete)`.
fn two_devices(emu: &Running) -> (Value, [(String, String); 2]) {
    let (status, client) = emu.json(
        "/client/register",
        json!({"clientName": "test", "clientType": "public"}),
    );
    assert_eq!(status, 200, "{client}");
    let start = || {
        let (status, d) = emu.json(
            "/device_authorization",
            json!({"clientId": client["clientId"], "clientSecret": client["clientSecret"],
                   "startUrl": "https://x.awsapps.com/start"}),
        );
        assert_eq!(status, 200, "{d}");
        let s = |k: &str| d[k].as_str().expect(k).to_string();
        (s("deviceCode"), s("verificationUriComplete"))
    };
    let devices = [start(), start()];
    (client, devices)
}

fn create_token(emu: &Running, client: &Value, device_code: &str) -> (u16, Value) {
    emu.json(
        "/token",
        json!({"clientId": client["clientId"], "clientSecret": client["clientSecret"],
               "grantType": "urn:ietf:params:oauth:grant-type:device_code",
               "deviceCode": device_code}),
    )
}

#[test]
fn the_device_page_approves_that_code_and_only_it() {
    let emu = Running::start(&[]);
    let (client, [(first, first_uri), (second, _)]) = two_devices(&emu);
    let (status, pending) = create_token(&emu, &client, &first);
    assert_eq!(
        (status, &pending["error"]),
        (400, &json!("authorization_pending"))
    );

    // What a browser does: open the device URL, submit its form.
    let path = first_uri.trim_start_matches(&emu.url);
    let (status, page) = emu.http("GET", path, "text/plain", "");
    assert_eq!(status, 200);
    let user_code = first_uri.split("user_code=").nth(1).unwrap();
    assert!(
        page.contains("<button type=\"submit\">Approve</button>"),
        "{page}"
    );
    assert_eq!(attr(&page, "<form", "method"), "post");
    let action = attr(&page, "<form", "action");
    let value = attr(&page, "name=\"user_code\"", "value");
    assert_eq!(value, user_code);
    let (status, done) = emu.http(
        "POST",
        action,
        "application/x-www-form-urlencoded",
        &format!("user_code={value}"),
    );
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("<h1>Approved</h1>"), "{done}");

    let (status, token) = create_token(&emu, &client, &first);
    assert_eq!(status, 200, "{token}");
    assert!(token["accessToken"].as_str().is_some(), "{token}");
    let (status, other) = create_token(&emu, &client, &second);
    assert_eq!(
        (status, &other["error"]),
        (400, &json!("authorization_pending"))
    );
}

#[test]
fn unknown_codes_approve_nothing_and_codes_are_escaped() {
    let emu = Running::start(&[]);
    let (client, [(first, _), (second, _)]) = two_devices(&emu);
    for body in ["user_code=0000-0000", "user_code=", ""] {
        let (status, page) = emu.http(
            "POST",
            "/device/approve",
            "application/x-www-form-urlencoded",
            body,
        );
        assert_eq!(status, 404, "{body}: {page}");
        assert!(page.contains("Unknown code"), "{page}");
    }
    for code in [&first, &second] {
        let (status, _) = create_token(&emu, &client, code);
        assert_eq!(status, 400);
    }

    let (status, page) = emu.http("GET", "/device?user_code=%22%3E%3Cscript%3E", "", "");
    assert_eq!(status, 200);
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&quot;&gt;&lt;script&gt;"), "{page}");

    // Without a code the page asks for one.
    let (status, page) = emu.http("GET", "/device", "", "");
    assert_eq!(status, 200);
    assert_eq!(attr(&page, "<input", "name"), "user_code");
    assert_eq!(attr(&page, "<form", "action"), "/device/approve");
}

#[test]
fn auto_approve_still_approves_without_the_page() {
    let emu = Running::start(&["--auto-approve"]);
    let (client, [(first, _), _]) = two_devices(&emu);
    let (status, token) = create_token(&emu, &client, &first);
    assert_eq!(status, 200, "{token}");
}
