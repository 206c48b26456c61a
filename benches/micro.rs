//! Micro-benchmarks of the work on the cache-hit path, so regressions show: parsing the AWS
//! config, resolving a profile (also in a 50,000-profile config), decoding a cached entry,
//! decoding a chunk header, and one store read broken down (with a D-Bus session: the
//! Secret Service connection and its encrypted session, one read on it, one read of the
//! kernel keyring copy; the file store).

#![allow(clippy::unwrap_used)]

use awscred::cache;
use awscred::config::parse::FileKind;
use awscred::config::{AwsFiles, StoreChoice, resolve};
use awscred::credentials::CachedCredentials;
use awscred::env::Environment;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn config_text(profiles: usize) -> String {
    let mut s = String::from(
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n",
    );
    for i in 0..profiles {
        s.push_str(&format!(
            "# profile {i}\n[profile p{i}]\nsso_session = corp\nsso_account_id = {:012}\nsso_role_name = Role{i}\nregion = us-east-1\n\n",
            i
        ));
    }
    s
}

fn benches(c: &mut Criterion) {
    let text = config_text(50);
    c.bench_function("parse 50-profile config", |b| {
        b.iter(|| AwsFiles::from_texts(black_box(&text), "").unwrap())
    });
    let files = AwsFiles::from_texts(&text, "").unwrap();
    let env = Environment::from_pairs([]);
    c.bench_function("resolve a profile", |b| {
        b.iter(|| resolve::resolve(black_box(&files), "p42", &env).unwrap())
    });
    let entry = br#"{"v":1,"key":"awscred:credentials:sso|https://corp.awsapps.com/start|us-east-1|000000000042|Role42","data":{"credentials":{"access_key_id":"ASIAEXAMPLE000000001","secret_access_key":"wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY00","session_token":"IQoJb3JpZ2luX2VjEXAMPLETOKENEXAMPLETOKENEXAMPLETOKENEXAMPLETOKENEXAMPLETOKEN","expiration":"2026-11-24T18:04:05Z"},"obtained_at":"2026-11-24T17:04:05Z","account_id":"000000000042"}}"#;
    let key =
        "awscred:credentials:sso|https://corp.awsapps.com/start|us-east-1|000000000042|Role42";
    c.bench_function("decode a cached credentials entry", |b| {
        b.iter(|| cache::decode::<CachedCredentials>(black_box(key), black_box(entry)).unwrap())
    });
    let big = config_text(50_000);
    c.bench_function(
        "load a 50,000-profile config and resolve one profile",
        |b| {
            b.iter(|| {
                let mut files = AwsFiles::default();
                files.config.add_text(
                    black_box(big.clone()),
                    std::path::Path::new("config"),
                    FileKind::Config,
                );
                resolve::resolve(&files, "p49999", &env).unwrap()
            })
        },
    );
    stores(c, entry);
    c.bench_function("decode a chunk header", |b| {
        b.iter(|| {
            awscred::store::chunked::decode_chunk(black_box(b"ac1;0123456789abcdef;2;3\npayload"))
                .unwrap()
        })
    });
}

/// One read from each store, and what opening the Secret Service costs by itself.
fn stores(c: &mut Criterion, entry: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
    let env = Environment::from_pairs([
        ("AWSCRED_CACHE_DIR", dir.path().to_str().unwrap()),
        ("DBUS_SESSION_BUS_ADDRESS", bus.as_str()),
    ]);
    let key = format!("awscred:credentials:bench-{}", std::process::id());
    let exp = awscred::clock::Clock::now(&awscred::clock::SystemClock) + chrono::Duration::hours(1);
    let value = String::from_utf8_lossy(entry)
        .replace("2026-11-24T18:04:05Z", &exp.to_rfc3339())
        .into_bytes();
    let mut g = c.benchmark_group("store");
    g.sample_size(20);
    let file = awscred::store::open(StoreChoice::File, &env).unwrap();
    file.set(&key, &value).unwrap();
    g.bench_function("file store: one read", |b| {
        b.iter(|| file.get(black_box(&key)).unwrap())
    });
    if std::env::var("DBUS_SESSION_BUS_ADDRESS").is_ok() {
        g.bench_function(
            "secret-service: connect (D-Bus and encrypted session)",
            |b| b.iter(|| awscred::store::keyring::open(StoreChoice::SecretService).unwrap()),
        );
        let ss = awscred::store::keyring::open(StoreChoice::SecretService).unwrap();
        ss.set(&key, &value).unwrap();
        g.bench_function("secret-service: one read on an open connection", |b| {
            b.iter(|| ss.get(black_box(&key)).unwrap())
        });
        let tiered = awscred::store::open(StoreChoice::SecretService, &env).unwrap();
        tiered.set(&key, &value).unwrap();
        g.bench_function("secret-service: one read of the kernel keyring copy", |b| {
            b.iter(|| tiered.get(black_box(&key)).unwrap())
        });
        tiered.delete(&key).unwrap();
    }
    g.finish();
}

criterion_group!(micro, benches);
criterion_main!(micro);
