//! `awscred serve` and `awscred exec --server`: the container credentials endpoint, driven
//! over raw HTTP and by the real SDKs (boto3, the AWS CLI, the AWS SDK for JavaScript v3)
//! in a child of `exec --server`, across a credential rollover at the emulator.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `awscred serve`.
struct Served {
    child: Child,
    vars: HashMap<String, String>,
    port: u16,
}

impl Served {
    fn start(h: &Harness, extra: &[&str]) -> Self {
        let mut args = vec!["serve", "--profile", "bedrock"];
        args.extend_from_slice(extra);
        let mut child = h
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut vars = HashMap::new();
        let mut unset = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            if let Some(rest) = line.strip_prefix("export ") {
                let (k, v) = rest.split_once('=').unwrap();
                vars.insert(k.to_string(), v.trim_matches('\'').to_string());
            } else if let Some(k) = line.strip_prefix("unset ") {
                unset.push(k.to_string());
            }
            if unset.iter().any(|k| k == "AWS_DEFAULT_PROFILE") {
                break;
            }
        }
        for k in [
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
        ] {
            assert!(unset.iter().any(|u| u == k), "serve unsets {k}: {unset:?}");
        }
        let url = vars
            .get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            .unwrap_or_else(|| panic!("serve printed no endpoint: {vars:?}"))
            .clone();
        let port = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|r| r.strip_suffix('/'))
            .unwrap()
            .parse()
            .unwrap();
        Self { child, vars, port }
    }

    fn token(&self) -> String {
        match self.vars.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(&self.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])
                .unwrap(),
        }
    }

    fn get(&self, authorization: Option<&str>) -> Answer {
        get(self.port, authorization)
    }

    fn credentials(&self) -> serde_json::Value {
        let a = self.get(Some(&self.token()));
        assert_eq!(a.status, 200, "{}", a.body);
        serde_json::from_str(&a.body).unwrap()
    }

    /// Stops it with `signal` and returns its stderr.
    fn stop(mut self, signal: nix::sys::signal::Signal) -> String {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap()),
            signal,
        )
        .unwrap();
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "serve ends cleanly on {signal}: {err}");
        err
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

fn get(port: u16, authorization: Option<&str>) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n".to_string();
    if let Some(a) = authorization {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    Answer {
        status: head[9..12].parse().unwrap(),
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// A harness signed in to the emulator, with a private runtime directory.
fn signed_in(settings: Settings) -> Harness {
    let mut h = Harness::new("file", settings);
    let run = h.home().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    h.set_env("XDG_RUNTIME_DIR", run.to_str().unwrap());
    h.login();
    // From here on, any browser awscred opened would leave this marker.
    let marker = h.home().join("browser-opened");
    h.set_env("BROWSER", &format!("touch {}", marker.display()));
    h
}

/// The listening sockets on `port` in /proc/net/tcp and tcp6: (local address, state).
fn listeners(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 3 && f[1].ends_with(&format!(":{port:04X}")) && f[3] == "0A" {
                out.push(f[1].to_string());
            }
        }
    }
    out
}

#[test]
fn serve_answers_the_container_format_only_to_the_token_and_binds_loopback_only() {
    let h = signed_in(Settings::default());
    assert_eq!(clear_credentials(&h), 1);
    let served = Served::start(&h, &[]);
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        2,
        "credentials are fetched before the endpoint is advertised"
    );
    let token = served.token();
    assert_eq!(token.len(), 43, "256 random bits, base64url: {token}");
    let c = served.credentials();
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AccessKeyId",
            "SecretAccessKey",
            "Token",
            "AccountId",
            "Expiration"
        ]
    );
    assert_eq!(c["AccountId"], ACCOUNT);
    let expires: chrono::DateTime<chrono::Utc> = c["Expiration"].as_str().unwrap().parse().unwrap();
    assert!(
        expires - chrono::Utc::now() > chrono::Duration::minutes(15),
        "at least 15 minutes left: {expires}"
    );
    let ok = served.get(Some(&token));
    assert!(
        !ok.head.to_ascii_lowercase().contains("access-control"),
        "{}",
        ok.head
    );

    let none = served.get(None);
    assert_eq!((none.status, none.body.as_str()), (401, ""), "{none:?}");
    let wrong = served.get(Some(&format!("{token}x")));
    assert_eq!((wrong.status, wrong.body.as_str()), (403, ""), "{wrong:?}");
    let short = served.get(Some(&token[..42]));
    assert_eq!((short.status, short.body.as_str()), (403, ""), "{short:?}");
    for a in [&none, &wrong] {
        assert!(
            !a.head.to_ascii_lowercase().contains("access-control"),
            "{}",
            a.head
        );
    }

    assert_eq!(
        listeners(served.port),
        [format!("0100007F:{:04X}", served.port)],
        "one listener, on 127.0.0.1 only"
    );
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        2,
        "answered from memory and the cache"
    );
    served.stop(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn serve_takes_a_fixed_port() {
    let h = signed_in(Settings::default());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let served = Served::start(&h, &["--port", &port.to_string()]);
    assert_eq!(served.port, port);
    served.credentials();
    let taken = h.run(&["serve", "--profile", "bedrock", "--port", &port.to_string()]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(stderr(&taken).contains("is in use"), "{}", stderr(&taken));
}

#[test]
fn a_token_file_is_private_without_a_newline_and_removed_at_exit() {
    for signal in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
    ] {
        let h = signed_in(Settings::default());
        let served = Served::start(&h, &["--token-file"]);
        assert!(
            !served
                .vars
                .contains_key("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        );
        let path = PathBuf::from(&served.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]);
        assert!(
            path.starts_with(h.home().join("run/awscred")),
            "{}",
            path.display()
        );
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dir = std::fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        let token = std::fs::read_to_string(&path).unwrap();
        assert_eq!(token.len(), 43, "no trailing newline: {token:?}");
        served.credentials();
        served.stop(signal);
        assert!(!path.exists(), "removed after {signal}");
    }
}

/// Deletes awscred's cached credentials (not the sign-in), as if they had been cleared.
fn clear_credentials(h: &Harness) -> usize {
    let mut n = 0;
    for f in h.all_files() {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && v["key"]
                .as_str()
                .is_some_and(|k| k.starts_with("awscred:credentials:"))
        {
            std::fs::remove_file(&f).unwrap();
            n += 1;
        }
    }
    n
}

#[test]
fn a_hundred_parallel_requests_after_a_clear_cost_one_refresh() {
    let h = signed_in(Settings::default());
    let served = Served::start(&h, &[]);
    let before = served.credentials()["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(clear_credentials(&h), 1);
    h.emu.reset_counters();
    let token = served.token();
    let port = served.port;
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|_| s.spawn(|| get(port, Some(&token))))
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut keys: Vec<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 200, "{a:?}");
            let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
            v["AccessKeyId"].as_str().unwrap().to_string()
        })
        .collect();
    keys.dedup();
    assert_eq!(keys.len(), 1, "every answer carries the same credentials");
    assert_ne!(
        keys[0], before,
        "the cleared credentials are not served from memory"
    );
    assert_eq!(
        h.emu.count("GetRoleCredentials"),
        1,
        "one refresh for all of them"
    );
}

#[test]
fn logout_and_login_force_take_effect_on_the_next_request_and_no_sign_in_starts() {
    let h = signed_in(Settings::default());
    let served = Served::start(&h, &[]);
    let first = served.credentials()["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();

    let out = h.run(&["logout", "--profile", "bedrock"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let devices = h.emu.count("StartDeviceAuthorization");
    let a = served.get(Some(&served.token()));
    assert_eq!(a.status, 500, "{a:?}");
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert!(
        v["Message"]
            .as_str()
            .unwrap()
            .contains("awscred login --profile bedrock"),
        "{v}"
    );
    assert_eq!(
        h.emu.count("StartDeviceAuthorization"),
        devices,
        "no sign-in"
    );
    assert!(!h.home().join("browser-opened").exists(), "no browser");

    h.login();
    let second = served.credentials()["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, first);

    let (mut child, rx) = h.spawn_login(&["--force", "--device-code"]);
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        if line.contains("confirm the code") {
            break;
        }
    }
    assert_eq!(h.emu.approve_all(), 1);
    assert!(child.wait().unwrap().success());
    let third = served.credentials()["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(third, second, "login --force replaced the credentials");
}

// ----- exec --server ---------------------------------------------------------------------

fn env_lines(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn exec_server_gives_the_child_the_endpoint_and_nothing_that_would_win_over_it() {
    let mut h = signed_in(Settings::default());
    for (k, v) in [
        ("AWS_PROFILE", "bedrock"),
        ("AWS_DEFAULT_PROFILE", "bedrock"),
        ("AWS_ACCESS_KEY_ID", "AKIAOLD"),
        ("AWS_SECRET_ACCESS_KEY", "old"),
        ("AWS_SESSION_TOKEN", "old"),
        (
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/x",
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent"),
    ] {
        h.set_env(k, v);
    }
    let out = h.run(&["exec", "--server", "--profile", "bedrock", "--", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let env = env_lines(&stdout(&out));
    let url = &env["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    assert_eq!(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"].len(), 43);
    assert_eq!(env["AWS_REGION"], "us-east-1");
    for k in [
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ] {
        assert!(!env.contains_key(k), "{k} reached the child");
    }
    assert!(
        !stderr(&out).contains("default profile"),
        "{}",
        stderr(&out)
    );

    let script = "env; printf 'mode=%s\\n' \"$(stat -c %a \"$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\")\"; \
                  printf 'bytes=%s\\n' \"$(wc -c < \"$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\")\"; exit 7";
    let out = h.run(&[
        "exec",
        "--server",
        "--token-file",
        "--profile",
        "bedrock",
        "--",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "the child's status: {}",
        stderr(&out)
    );
    let env = env_lines(&stdout(&out));
    assert!(!env.contains_key("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    let file = PathBuf::from(&env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]);
    assert_eq!(env["mode"], "600");
    assert_eq!(env["bytes"].trim(), "43", "no trailing newline");
    assert!(!file.exists(), "removed when the child ended");
}

#[test]
fn exec_server_warns_when_the_default_profile_would_shadow_the_endpoint() {
    let h = signed_in(Settings::default());
    std::fs::write(
        h.home().join(".aws/credentials"),
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s\n",
    )
    .unwrap();
    let out = h.run(&["exec", "--server", "--profile", "bedrock", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the default profile has credentials"),
        "{}",
        stderr(&out)
    );
}

/// An SDK in a child of `exec --server`: it calls STS, waits for a line on stdin, calls
/// again. Between the calls every credential issued so far expires at the emulator. With
/// `ttl` 290 s, less than botocore keeps credentials, each call asks the endpoint, which
/// must then hand out new ones. The JavaScript SDK keeps using credentials that have not
/// reached their `Expiration` while it refreshes in the background, so for it they live
/// a few seconds and the test waits until they are past it.
fn rollover(program: &Path, args: &[&str], ttl: i64) {
    let h = signed_in(Settings {
        credentials_ttl: ttl,
        ..Settings::default()
    });
    let mut all = vec!["exec", "--server", "--profile", "bedrock", "--"];
    all.push(program.to_str().unwrap());
    all.extend_from_slice(args);
    let mut child = h
        .command(&all)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin: ChildStdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("first call").unwrap();
    assert!(first.starts_with("ok "), "{first}");
    assert!(h.emu.expire_all() >= 1);
    if ttl < 60 {
        std::thread::sleep(Duration::from_secs(u64::try_from(ttl).unwrap() + 1));
    }
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    let second = lines.next().map(Result::unwrap).unwrap_or_default();
    let out = child.wait_with_output().unwrap();
    assert!(
        second.starts_with("ok ") && out.status.success(),
        "second call: {second}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(first, second, "new credentials after the rollover");
    assert!(h.emu.count("GetCallerIdentity") >= 2);
}

fn venv_bin(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/venv/bin")
        .join(name);
    p.exists().then_some(p)
}

#[test]
fn boto3_keeps_working_across_a_rollover() {
    let Some(python) = venv_bin("python") else {
        return missing("python with boto3 (target/venv)");
    };
    if !Command::new(&python)
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success())
    {
        return missing("boto3 (pip install boto3)");
    }
    let script = "\
import boto3, sys
s = boto3.Session()
sts = s.client('sts')
def call():
    sts.get_caller_identity()
    print('ok', s.get_credentials().get_frozen_credentials().access_key, flush=True)
call()
sys.stdin.readline()
call()
";
    rollover(&python, &["-c", script], 290);
}

#[test]
fn the_aws_cli_keeps_working_across_a_rollover() {
    let Some(aws) = aws_cli() else {
        return missing("the AWS CLI (pip install awscli)");
    };
    let script = "\
set -e
\"$0\" sts get-caller-identity --output json > /dev/null
echo ok first
read line
\"$0\" sts get-caller-identity --output json > /dev/null
echo ok second
";
    let sh = PathBuf::from("/bin/sh");
    rollover(&sh, &["-c", script, aws.to_str().unwrap()], 290);
}

fn js_sdk() -> Option<PathBuf> {
    let dir = std::env::var("AWSCRED_TEST_JS_SDK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/js-sdk"));
    dir.join("node_modules/@aws-sdk/client-sts")
        .exists()
        .then_some(dir)
}

#[test]
fn the_javascript_sdk_keeps_working_across_a_rollover() {
    let Some(dir) = js_sdk() else {
        return missing("the AWS SDK for JavaScript v3 (npm install @aws-sdk/client-sts)");
    };
    let script = format!(
        "\
const {{ STSClient, GetCallerIdentityCommand }} = require('{}/node_modules/@aws-sdk/client-sts');
const readline = require('readline');
const client = new STSClient({{}});
async function call() {{
  await client.send(new GetCallerIdentityCommand({{}}));
  const c = await client.config.credentials();
  console.log('ok ' + c.accessKeyId);
}}
(async () => {{
  await call();
  const rl = readline.createInterface({{ input: process.stdin }});
  for await (const _ of rl) {{ break; }}
  await call();
  process.exit(0);
}})().catch((e) => {{ console.error(e); process.exit(1); }});
",
        dir.display()
    );
    let Ok(node) = which("node") else {
        return missing("node");
    };
    rollover(&node, &["-e", &script], 5);
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn stalled_and_oversized_requests_hold_up_no_one() {
    let h = signed_in(Settings::default());
    let served = Served::start(&h, &[]);
    // Connections that never finish their request, and one that sends too much.
    let idle: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", served.port)).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nAuthorization: ").unwrap();
            s
        })
        .collect();
    let mut big = TcpStream::connect(("127.0.0.1", served.port)).unwrap();
    let mut req = b"GET / HTTP/1.1\r\nX: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 64 * 1024));
    let _ = big.write_all(&req);
    let mut answer = String::new();
    let _ = big.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:?}");
    served.credentials();
    drop(idle);
}

#[test]
fn a_runtime_directory_that_is_a_link_is_refused_for_the_token_file() {
    let h = signed_in(Settings::default());
    let elsewhere = h.home().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, h.home().join("run/awscred")).unwrap();
    let out = h.run(&["serve", "--profile", "bedrock", "--token-file"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "no token written"
    );
}
