//! Whole-process benchmark of the cache-hit path (SPEC §8: median ≤ 5 ms, peak RSS ≤ 15 MB).
//!
//! Signs in once against the in-process emulator, then runs `awscred export` and
//! `awscred process` many times with a warm cache and prints the median, 90th percentile
//! and peak RSS of the child processes, each beside a bare exec of `/bin/true` measured in
//! the same run (SPEC §8's budgets are ratios to it). The scale section adds a
//! 50,000-profile config. Run with `cargo bench --bench hot_path`.
//!
//! `AWSCRED_BENCH_STORES` (comma-separated store names, e.g. `keychain` or `wincred`) measures
//! those stores only and skips the scale section: what the `native-stores` CI job runs.
//! `AWSCRED_BENCH_BARE` names the program whose bare exec is the baseline (default
//! `/bin/true`; on Windows, Git's `true.exe`).

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stdout)]

use awscred_emulator::{Emulator, Settings};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 300;

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
    let chosen = std::env::var("AWSCRED_BENCH_STORES").ok();
    let mut stores: Vec<String> = match &chosen {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        None => vec!["file".to_string()],
    };
    if chosen.is_none() && std::env::var("DBUS_SESSION_BUS_ADDRESS").is_ok() {
        // First: peak RSS is the largest of all children so far, and the file store's
        // scale section (the 50,000-profile config) comes last.
        stores.insert(0, "secret-service".to_string());
    }
    let bare = bare_exec();
    println!("awscred cache-hit path, {RUNS} runs each (whole process: exec, config, store, JSON)");
    println!("bare exec: median {}", fmt(bare));
    println!(
        "{:<16} {:<8} {:>10} {:>10} {:>9} {:>10}",
        "store", "command", "median", "p90", "vs bare", "peak RSS"
    );
    for store in &stores {
        let store = store.as_str();
        let cmd = |args: &[&str]| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_awscred"));
            if cfg!(unix) {
                c.env_clear();
            }
            c.args(args)
                .env("HOME", dir.path())
                .env("USERPROFILE", dir.path())
                .env("XDG_CACHE_HOME", dir.path().join(".cache"))
                .env("AWS_ENDPOINT_URL", emu.url())
                .env("AWSCRED_CACHE", store)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            for k in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] {
                if let Ok(v) = std::env::var(k) {
                    c.env(k, v);
                }
            }
            c
        };
        let o = cmd(&["login", "--profile", "bench"]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let requests_before: u64 = emu.counters().values().sum();
        for sub in ["export", "process"] {
            for _ in 0..20 {
                cmd(&[sub, "--profile", "bench"]).output().unwrap();
            }
            let rss_before = children_max_rss_kib();
            let mut times = Vec::with_capacity(RUNS);
            for _ in 0..RUNS {
                let t = Instant::now();
                let o = cmd(&[sub, "--profile", "bench"]).output().unwrap();
                times.push(t.elapsed());
                assert!(o.status.success());
            }
            times.sort();
            let rss = children_max_rss_kib().max(rss_before);
            println!(
                "{:<16} {:<8} {:>10} {:>10} {:>8.1}× {:>8.1} MB",
                store,
                sub,
                fmt(times[RUNS / 2]),
                fmt(times[RUNS * 9 / 10]),
                ratio(times[RUNS / 2], bare),
                rss as f64 / 1024.0
            );
        }
        let requests_after: u64 = emu.counters().values().sum();
        println!(
            "{:<16} requests to AWS during the cache-hit runs: {}",
            store,
            requests_after - requests_before
        );
        if store != "file" || chosen.is_some() {
            continue;
        }
        // Scale: 1,000 sequential runs, time per call at the start and at the end.
        let mut seq = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let t = Instant::now();
            let o = cmd(&["export", "--profile", "bench"]).output().unwrap();
            seq.push(t.elapsed());
            assert!(o.status.success());
        }
        println!(
            "1,000 sequential exports: median of the first 100 {}, of the last 100 {}, peak RSS {:.1} MB",
            fmt(median(&seq[..100])),
            fmt(median(&seq[900..])),
            children_max_rss_kib() as f64 / 1024.0
        );
        // Scale: 200 at once.
        let before: u64 = emu.counters().values().sum();
        let t = Instant::now();
        let kids: Vec<_> = (0..200)
            .map(|_| cmd(&["export", "--profile", "bench"]).spawn().unwrap())
            .collect();
        let outs: Vec<_> = kids
            .into_iter()
            .map(|k| k.wait_with_output().unwrap())
            .collect();
        let wall = t.elapsed();
        let ok = outs
            .iter()
            .filter(|o| o.status.success() && o.stdout == outs[0].stdout)
            .count();
        let after: u64 = emu.counters().values().sum();
        println!(
            "200 parallel exports: {ok}/200 identical successes in {} wall, {} requests",
            fmt(wall),
            after - before
        );
        let entries = std::fs::read_dir(dir.path().join(".cache/awscred/store"))
            .map(|d| d.count())
            .unwrap_or(0);
        println!("file store entries after all runs: {entries}");

        // Scale: a 50,000-profile config (5.6 MB, as generated for every account of an
        // organisation), the profile asked for at its end.
        let big = dir.path().join("big-config");
        std::fs::write(&big, big_config(50_000)).unwrap();
        let size = std::fs::metadata(&big).unwrap().len();
        let mut times = Vec::with_capacity(RUNS);
        let mut bare_times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            let o = cmd(&["export", "--profile", "bench"])
                .env("AWS_CONFIG_FILE", &big)
                .output()
                .unwrap();
            times.push(t.elapsed());
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            bare_times.push(bare_once());
        }
        let (m, b) = (median(&times), median(&bare_times));
        println!(
            "50,000-profile config ({:.1} MB): export median {} ({} above a bare exec, {:.1}×), peak RSS ≤ {:.1} MB",
            size as f64 / 1e6,
            fmt(m),
            fmt(m.saturating_sub(b)),
            ratio(m, b),
            children_max_rss_kib() as f64 / 1024.0
        );
    }
}

/// The bench profile's session and profile, after `n` generated SSO profiles.
fn big_config(n: usize) -> String {
    let mut text = String::with_capacity(n * 115);
    for i in 0..n {
        text.push_str(&format!(
            "[profile org-account-{i:06}-admin]\nsso_session = s\nsso_account_id = {:012}\nsso_role_name = AdministratorAccess\nregion = us-east-1\n\n",
            100_000_000_000u64 + i as u64
        ));
    }
    text.push_str(
        "[sso-session s]\nsso_start_url = https://bench.awsapps.com/start\nsso_region = us-east-1\n\
         [profile bench]\nsso_session = s\nsso_account_id = 111122223333\nsso_role_name = BedrockUser\n",
    );
    text
}

fn bare_once() -> Duration {
    let program = std::env::var("AWSCRED_BENCH_BARE").unwrap_or_else(|_| {
        if cfg!(windows) {
            r"C:\Program Files\Git\usr\bin\true.exe".to_string()
        } else {
            "/bin/true".to_string()
        }
    });
    let t = Instant::now();
    Command::new(program).output().unwrap();
    t.elapsed()
}

/// Median of `RUNS` bare execs.
fn bare_exec() -> Duration {
    let v: Vec<Duration> = (0..RUNS).map(|_| bare_once()).collect();
    median(&v)
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn fmt(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Largest resident set of any waited-for child so far (Linux reports KiB).
#[cfg(unix)]
fn children_max_rss_kib() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map(|u| u.max_rss())
        .unwrap_or(0)
}

/// Not measured outside Unix (`getrusage` is Unix's): shown as 0.
#[cfg(not(unix))]
fn children_max_rss_kib() -> i64 {
    0
}
