//! Micro-benchmarks of the work on the cache-hit path, so regressions show: parsing the AWS
//! config, resolving a profile, decoding a cached entry, decoding a chunk header.

#![allow(clippy::unwrap_used)]

use awscred::cache;
use awscred::config::{AwsFiles, resolve};
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
    c.bench_function("decode a chunk header", |b| {
        b.iter(|| {
            awscred::store::chunked::decode_chunk(black_box(b"ac1;0123456789abcdef;2;3\npayload"))
                .unwrap()
        })
    });
}

criterion_group!(micro, benches);
criterion_main!(micro);
