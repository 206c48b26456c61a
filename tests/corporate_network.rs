//! Corporate networks: an HTTP proxy between awscred and AWS (HTTPS_PROXY, HTTP_PROXY,
//! NO_PROXY), and a private CA that signs the endpoint's certificate (AWS_CA_BUNDLE).
//!
//! The proxy here is a loopback CONNECT proxy that sends every tunnel to 127.0.0.1 on the
//! port asked for, and counts tunnels. The endpoint is named `emulator.test`, a name that
//! resolves nowhere: a request reaches the emulator only through the proxy. The TLS front
//! presents a certificate from a CA made by the test and forwards to the emulator.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FAKE_HOST: &str = "emulator.test";

const MORE_ROLES: &str = "
[profile admin2]
role_arn = arn:aws:iam::111122223333:role/Admin2
source_profile = bedrock
";

/// A loopback CONNECT proxy counting the tunnels it opened and the targets asked for.
struct Proxy {
    url: String,
    tunnels: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let tunnels = Arc::new(AtomicUsize::new(0));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let (t, g) = (tunnels.clone(), targets.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (t, g) = (t.clone(), g.clone());
                std::thread::spawn(move || tunnel(client, &t, &g));
            }
        });
        Self {
            url,
            tunnels,
            targets,
        }
    }

    fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }
}

/// Reads a request head, byte by byte (nothing after it is consumed).
fn read_head(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).ok()? == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.push(b[0]);
    }
    String::from_utf8(head).ok()
}

fn tunnel(mut client: TcpStream, tunnels: &AtomicUsize, targets: &Mutex<Vec<String>>) {
    let Some(head) = read_head(&mut client) else {
        return;
    };
    let mut first = head.lines().next().unwrap_or("").split(' ');
    let (Some("CONNECT"), Some(target)) = (first.next(), first.next()) else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    tunnels.fetch_add(1, Ordering::SeqCst);
    targets.lock().unwrap().push(target.to_string());
    let port: u16 = target.rsplit(':').next().unwrap().parse().unwrap();
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let (mut client, mut upstream) = (client, upstream);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Write);
}

/// A CA made for the test, and a TLS front signed by it forwarding to `target`.
struct PrivateCa {
    pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl PrivateCa {
    fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "awscred test corporate CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf_params =
            rcgen::CertificateParams::new(vec![FAKE_HOST.to_string(), "127.0.0.1".to_string()])
                .unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
        Self {
            pem: ca.pem(),
            config: Arc::new(config),
        }
    }

    /// Serves TLS on a loopback port, forwarding the plaintext to `target`.
    fn front(&self, target: u16) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = self.config.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let config = config.clone();
                std::thread::spawn(move || pump(tcp, config, target));
            }
        });
        port
    }
}

fn idle(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Moves bytes between a TLS client and the plaintext upstream until either side ends.
fn pump(tcp: TcpStream, config: Arc<rustls::ServerConfig>, target: u16) {
    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let tick = Some(Duration::from_millis(5));
    tcp.set_read_timeout(tick).unwrap();
    upstream.set_read_timeout(tick).unwrap();
    let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(config).unwrap(), tcp);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if upstream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if idle(&e) => {}
            Err(_) => return,
        }
        match upstream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if tls.write_all(&buf[..n]).and_then(|()| tls.flush()).is_err() {
                    return;
                }
            }
            Err(e) if idle(&e) => {}
            Err(_) => return,
        }
    }
}

fn emulator_port(h: &Harness) -> u16 {
    h.emu.url().rsplit(':').next().unwrap().parse().unwrap()
}

fn harness() -> Harness {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    h.write_config(&format!("{CONFIG}{MORE_ROLES}"));
    h
}

fn assert_ok(o: &std::process::Output, what: &str) {
    assert!(o.status.success(), "{what}: {}", stderr(o));
}

#[test]
fn sign_in_and_export_go_through_http_proxy_and_no_proxy_goes_direct() {
    let mut h = harness();
    let proxy = Proxy::start();
    let endpoint = format!("http://{FAKE_HOST}:{}", emulator_port(&h));
    h.set_env("AWS_ENDPOINT_URL", &endpoint);
    h.set_env("HTTP_PROXY", &proxy.url);
    // HTTPS_PROXY is for https URLs: a dead one must not matter here.
    h.set_env("HTTPS_PROXY", "http://127.0.0.1:9");
    assert_ok(&h.run(&["login", "--profile", "bedrock"]), "login");
    assert_ok(&h.run(&["export", "--profile", "admin"]), "export");
    assert!(proxy.tunnels() > 0, "requests went through the proxy");
    assert_eq!(h.emu.count("AssumeRole"), 1);
    let want = format!("{FAKE_HOST}:{}", emulator_port(&h));
    assert!(
        proxy.targets.lock().unwrap().iter().all(|t| *t == want),
        "{:?}",
        proxy.targets.lock().unwrap()
    );

    // NO_PROXY covering the host: direct, so the made-up name does not resolve.
    let before = proxy.tunnels();
    h.set_env("NO_PROXY", "localhost,.test");
    let o = h.run(&["export", "--profile", "admin2"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("could not reach {endpoint}/ for AssumeRole")),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(proxy.tunnels(), before, "nothing went through the proxy");
    assert_eq!(h.emu.count("AssumeRole"), 1);
}

#[test]
fn https_goes_through_https_proxy_to_an_endpoint_signed_by_a_ca_from_the_profile() {
    let mut h = harness();
    let proxy = Proxy::start();
    let ca = PrivateCa::new();
    let tls_port = ca.front(emulator_port(&h));
    let bundle = h.home().join("corp-ca.pem");
    std::fs::write(&bundle, &ca.pem).unwrap();
    h.set_env(
        "AWS_ENDPOINT_URL",
        &format!("https://{FAKE_HOST}:{tls_port}"),
    );
    h.set_env("https_proxy", &proxy.url);
    // The CA through the profiles' ca_bundle key this time.
    let line = format!("ca_bundle = {}\n", bundle.display());
    h.write_config(
        &format!("{CONFIG}{MORE_ROLES}")
            .replace("[profile bedrock]\n", &format!("[profile bedrock]\n{line}"))
            .replace("[profile admin]\n", &format!("[profile admin]\n{line}")),
    );
    assert_ok(&h.run(&["login", "--profile", "bedrock"]), "login");
    assert_ok(&h.run(&["export", "--profile", "admin"]), "export");
    assert!(proxy.tunnels() > 0, "requests went through the proxy");
    assert!(
        proxy
            .targets
            .lock()
            .unwrap()
            .iter()
            .all(|t| *t == format!("{FAKE_HOST}:{tls_port}"))
    );
    assert!(h.emu.count("GetRoleCredentials") >= 1);
    assert_eq!(h.emu.count("AssumeRole"), 1);
}

#[test]
fn a_private_ca_is_trusted_only_through_aws_ca_bundle() {
    let mut h = harness();
    let ca = PrivateCa::new();
    let tls_port = ca.front(emulator_port(&h));
    let endpoint = format!("https://127.0.0.1:{tls_port}");
    h.set_env("AWS_ENDPOINT_URL", &endpoint);

    // Without the bundle: a TLS error naming the URL, and the fix.
    let o = h.run(&["login", "--profile", "bedrock"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("could not reach {endpoint}/")),
        "{err}"
    );
    assert!(err.contains("TLS"), "{err}");
    eprintln!("{err}");
    assert!(err.contains("AWS_CA_BUNDLE"), "{err}");
    assert_eq!(h.total_requests(), 0, "nothing reached the emulator");

    // A bundle that is not PEM: a user error naming the file, before any request.
    let junk = h.home().join("not-a-ca.pem");
    std::fs::write(&junk, "hello").unwrap();
    h.set_env("AWS_CA_BUNDLE", junk.to_str().unwrap());
    let o = h.run(&["login", "--profile", "bedrock"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not-a-ca.pem"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(h.total_requests(), 0);

    // With it: sign-in and export work.
    let bundle = h.home().join("corp-ca.pem");
    std::fs::write(&bundle, &ca.pem).unwrap();
    h.set_env("AWS_CA_BUNDLE", bundle.to_str().unwrap());
    assert_ok(&h.run(&["login", "--profile", "bedrock"]), "login");
    let o = h.run(&["export", "--profile", "admin"]);
    assert_ok(&o, "export");
    parse_export(&stdout(&o));
    assert_eq!(h.emu.count("AssumeRole"), 1);
}

#[test]
fn loopback_and_metadata_endpoints_never_use_the_proxy() {
    let mut h = harness();
    let proxy = Proxy::start();
    h.write_config(&format!(
        "{CONFIG}{MORE_ROLES}[profile from-imds]\nrole_arn = arn:aws:iam::222233334444:role/FromImds\ncredential_source = Ec2InstanceMetadata\nregion = us-east-1\n"
    ));
    // The emulator stays at 127.0.0.1 (the harness's AWS_ENDPOINT_URL); IMDS there too.
    h.set_env("HTTP_PROXY", &proxy.url);
    h.set_env("HTTPS_PROXY", &proxy.url);
    let imds = h.emu.url().to_string();
    h.set_env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds);
    assert_ok(&h.run(&["login", "--profile", "bedrock"]), "login");
    assert_ok(&h.run(&["export", "--profile", "admin"]), "export");
    assert_ok(&h.run(&["process", "--profile", "from-imds"]), "imds");
    assert_eq!(h.emu.count("ImdsCredentials"), 1);
    assert_eq!(proxy.tunnels(), 0, "loopback goes direct");
}

#[test]
fn a_proxy_that_refuses_the_tunnel_is_a_clear_error() {
    let mut h = harness();
    // A proxy asking for credentials awscred was not given.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(AtomicUsize::new(0));
    let seen = asked.clone();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            if read_head(&mut s).is_some() {
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = s.write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"corp\"\r\ncontent-length: 0\r\n\r\n",
                );
            }
        }
    });
    let endpoint = format!("http://{FAKE_HOST}:{}", emulator_port(&h));
    h.set_env("AWS_ENDPOINT_URL", &endpoint);
    h.set_env("HTTP_PROXY", &proxy);
    let o = h.run(&["login", "--profile", "bedrock"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "could not reach {endpoint}/client/register for RegisterClient"
        )),
        "{err}"
    );
    assert!(err.contains("the proxy"), "{err}");
    assert!(
        err.contains("hint: ") && err.contains("HTTPS_PROXY"),
        "{err}"
    );
    assert!(!err.contains("realm"), "{err}");
    assert!(asked.load(Ordering::SeqCst) >= 1);
    assert_eq!(h.total_requests(), 0);
}
