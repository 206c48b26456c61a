//! `awscred serve` from memory (SPEC §8: p99 < 1 ms for one client, flat RSS over 100,000
//! requests): signs in once against the in-process emulator, starts the server, then prints
//! the latency of one client (a new connection per request, as the SDKs make), the server's
//! resident set before and after 100,000 requests, and the requests per second and errors of
//! 50 parallel clients. Run with `cargo bench --bench serve` (Linux: RSS from /proc).

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stdout)]

use awscred_emulator::{Emulator, Settings};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REQUESTS: usize = 100_000;
const CLIENTS: usize = 50;
const PER_CLIENT: usize = 400;

fn main() {
    let emu = Emulator::start(Settings {
        auto_approve_after: Some(0),
        ..Settings::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
    std::fs::write(
        dir.path().join(".aws/config"),
        "[sso-session s]\nsso_start_url = https://bench.awsapps.com/start\nsso_region = us-east-1\n\
         [profile bench]\nsso_session = s\nsso_account_id = 111122223333\nsso_role_name = BedrockUser\n",
    )
    .unwrap();
    let cmd = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_awscred"));
        c.args(args)
            .env_clear()
            .env("HOME", dir.path())
            .env("XDG_CACHE_HOME", dir.path().join(".cache"))
            .env("AWS_ENDPOINT_URL", emu.url())
            .env("AWSCRED_CACHE", "file")
            .stdin(Stdio::null());
        c
    };
    let o = cmd(&["login", "--profile", "bench"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut server = cmd(&["serve", "--profile", "bench"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (port, token) = endpoint(&mut server);
    let requests_before: u64 = emu.counters().values().sum();

    for _ in 0..1000 {
        assert!(get(port, &token));
    }
    let rss_before = rss_kib(server.id());
    let mut times = Vec::with_capacity(REQUESTS);
    let mut errors = 0;
    for _ in 0..REQUESTS {
        let t = Instant::now();
        if !get(port, &token) {
            errors += 1;
        }
        times.push(t.elapsed());
    }
    let rss_after = rss_kib(server.id());
    times.sort();
    println!("awscred serve, one client, {REQUESTS} requests (a new connection each):");
    println!(
        "  p50 {}  p99 {}  max {}  errors {errors}",
        fmt(times[REQUESTS / 2]),
        fmt(times[REQUESTS * 99 / 100]),
        fmt(times[REQUESTS - 1])
    );
    println!(
        "  server RSS before {:.1} MB, after {:.1} MB",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );

    let t = Instant::now();
    let errors: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let token = &token;
                s.spawn(move || (0..PER_CLIENT).filter(|_| !get(port, token)).count())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let wall = t.elapsed();
    let total = CLIENTS * PER_CLIENT;
    println!(
        "{CLIENTS} parallel clients, {total} requests: {:.0} requests/s, errors {errors}, server RSS {:.1} MB",
        total as f64 / wall.as_secs_f64(),
        rss_kib(server.id()) as f64 / 1024.0
    );
    let requests_after: u64 = emu.counters().values().sum();
    println!(
        "requests to AWS while serving: {}",
        requests_after - requests_before
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// The port and token `serve` prints as `export` lines.
fn endpoint(server: &mut Child) -> (u16, String) {
    let out = BufReader::new(server.stdout.take().unwrap());
    let (mut port, mut token) = (None, None);
    for line in out.lines().map_while(Result::ok) {
        let Some((k, v)) = line.strip_prefix("export ").and_then(|r| r.split_once('=')) else {
            continue;
        };
        let v = v.trim_matches('\'');
        match k {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI" => {
                port = v
                    .strip_prefix("http://127.0.0.1:")
                    .and_then(|r| r.trim_end_matches('/').parse().ok());
            }
            "AWS_CONTAINER_AUTHORIZATION_TOKEN" => token = Some(v.to_string()),
            _ => {}
        }
        if let (Some(p), Some(t)) = (port, &token) {
            return (p, t.clone());
        }
    }
    panic!("serve printed no endpoint");
}

/// One request on a new connection; whether it was answered 200 with credentials.
fn get(port: u16, token: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::with_capacity(2048);
    if s.read_to_end(&mut answer).is_err() {
        return false;
    }
    answer.starts_with(b"HTTP/1.1 200") && answer.windows(11).any(|w| w == b"AccessKeyId")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn fmt(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
