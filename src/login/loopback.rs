//! The loopback redirect listener of the authorization-code flow, and the PKCE values.
//!
//! The listener binds 127.0.0.1 only (never a wildcard address), on a random port unless
//! the profile names one. It answers the browser with a small page, accepts exactly one
//! callback whose `state` matches, and gives up at a deadline.

use crate::error::{Error, Result};
use crate::secret::Secret;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// A random URL-safe string of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// A PKCE verifier (43 characters, RFC 7636).
pub fn verifier() -> Secret<String> {
    Secret::new(random_token(32))
}

/// The S256 challenge of a verifier.
pub fn challenge(verifier: &Secret<String>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.expose().as_bytes()))
}

/// A bound listener waiting for the redirect.
pub struct Loopback {
    listener: TcpListener,
    port: u16,
}

/// What the callback carried.
#[derive(Debug)]
pub struct Callback {
    /// The authorization code.
    pub code: Secret<String>,
}

impl Loopback {
    /// Binds 127.0.0.1 on `port` (0 = any free port).
    pub fn bind(port: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                Error::user(format!("port {port} on 127.0.0.1 is in use by another program"))
                    .caused_by(&e)
                    .with_hint("stop that program, or change awscred_redirect_port in the profile (0 picks a free port)")
            } else {
                Error::unexpected(format!("cannot listen on 127.0.0.1:{port} for the sign-in redirect")).caused_by(&e)
            }
        })?;
        listener.set_nonblocking(true).map_err(|e| {
            Error::unexpected("cannot configure the sign-in listener").caused_by(&e)
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| {
                Error::unexpected("cannot read the sign-in listener's port").caused_by(&e)
            })?
            .port();
        Ok(Self { listener, port })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn redirect_uri(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits for the callback on `path` carrying `state`, until `deadline`. A failed
    /// browser launcher is reported once but does not end the wait: the user can still
    /// open the printed URL.
    pub fn wait(
        &self,
        path: &str,
        state: &str,
        deadline: Instant,
        timeout: Duration,
        mut launcher: Option<Child>,
    ) -> Result<Callback> {
        loop {
            if let Some(child) = launcher.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                if !status.success() {
                    crate::log::warn(&format!(
                        "the browser launcher exited with {status}; open the URL above yourself"
                    ));
                }
                launcher = None;
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(result) = handle(stream, path, state) {
                        return result;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(Error::user(format!(
                            "the browser sign-in did not finish within {} s",
                            timeout.as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(Error::unexpected("the sign-in listener failed").caused_by(&e));
                }
            }
        }
    }
}

impl Loopback {
    /// Shows `url` (and opens it in a browser unless told not to), then waits for the
    /// callback on `path` with `state`, bounded by the policy's timeout.
    pub fn sign_in(
        &self,
        ctx: &crate::source::Context<'_>,
        url: &str,
        path: &str,
        state: &str,
    ) -> Result<Callback> {
        let sink = ctx.login.sink;
        let launcher = if ctx.login.open_browser {
            let child = super::browser::open(url, ctx.env);
            sink.line(if child.is_some() {
                "If no browser window opens, visit:"
            } else {
                "Could not start a browser; open this URL yourself:"
            });
            child
        } else {
            sink.line("Open this URL in a browser on this machine:");
            None
        };
        sink.line(&format!("  {url}"));
        let timeout = ctx.login.timeout;
        self.wait(path, state, Instant::now() + timeout, timeout, launcher)
            .map_err(|e| e.with_hint(ctx.login_hint()))
    }
}

const PAGE_OK: &str = "<!doctype html><meta charset=utf-8><title>awscred</title><body style=\"font-family:sans-serif;margin:4em\"><h1>Signed in</h1><p>You can close this tab and return to your terminal.</p>";

fn page_fail(msg: &str) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><title>awscred</title><body style=\"font-family:sans-serif;margin:4em\"><h1>Sign-in failed</h1><p>{}</p><p>Return to your terminal for details.</p>",
        msg.replace('&', "&amp;").replace('<', "&lt;")
    )
}

fn respond(mut stream: &TcpStream, status: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// Handles one connection; `None` means "not the callback, keep waiting".
fn handle(stream: TcpStream, path: &str, state: &str) -> Option<Result<Callback>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return None;
    }
    // Drain the headers so the browser sees a clean response.
    let mut h = String::new();
    while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
        h.clear();
    }
    let mut parts = line.split_whitespace();
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else {
        respond(
            &stream,
            "405 Method Not Allowed",
            &page_fail("unexpected request"),
        );
        return None;
    };
    let (req_path, query) = target.split_once('?').unwrap_or((target, ""));
    if req_path != path {
        respond(&stream, "404 Not Found", &page_fail("not found"));
        return None;
    }
    let params: std::collections::HashMap<String, String> = form_urlencoded(query);
    if params.get("state").map(String::as_str) != Some(state) {
        respond(
            &stream,
            "400 Bad Request",
            &page_fail("the sign-in answer did not match this request (state)"),
        );
        return Some(Err(Error::user(
            "the sign-in callback carried the wrong state, so it was rejected (it may not come from your sign-in)",
        )
        .with_hint("run the sign-in again")));
    }
    if let Some(err) = params.get("error") {
        let desc = params.get("error_description").cloned().unwrap_or_default();
        respond(&stream, "200 OK", &page_fail(&format!("{err}: {desc}")));
        let e = if err == "access_denied" {
            Error::user("the sign-in was denied in the browser")
        } else {
            Error::user(format!("the identity provider refused the sign-in: {err}"))
        };
        return Some(Err(e.caused_by_text(desc)));
    }
    let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
        respond(
            &stream,
            "400 Bad Request",
            &page_fail("no authorization code"),
        );
        return Some(Err(Error::unexpected(
            "the sign-in callback carried no authorization code",
        )));
    };
    respond(&stream, "200 OK", PAGE_OK);
    Some(Ok(Callback {
        code: Secret::new(code.clone()),
    }))
}

/// Decodes `a=1&b=%20x` into a map.
pub fn form_urlencoded(query: &str) -> std::collections::HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_example() {
        let v = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string());
        assert_eq!(challenge(&v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(verifier().expose().len(), 43);
    }

    #[test]
    fn query_round_trip() {
        let q = format!("a={}&b=x+y&c=%zz", encode("sso:account:access /"));
        let m = form_urlencoded(&q);
        assert_eq!(m["a"], "sso:account:access /");
        assert_eq!(m["b"], "x y");
        assert_eq!(m["c"], "%zz");
    }

    fn get(port: u16, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut s, &mut out).unwrap();
        out
    }

    #[test]
    fn listener_binds_loopback_only() {
        let lb = Loopback::bind(0).unwrap();
        let addr = lb.listener.local_addr().unwrap();
        assert_eq!(addr.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
        assert!(lb.redirect_uri("/x").starts_with("http://127.0.0.1:"));
    }

    #[test]
    fn listener_accepts_only_the_matching_state() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let t = std::thread::spawn(move || {
            let a = get(port, "/favicon.ico");
            let b = get(port, "/cb?code=abc&state=s1");
            (a, b)
        });
        let cb = lb
            .wait(
                "/cb",
                "s1",
                Instant::now() + Duration::from_secs(10),
                Duration::from_secs(10),
                None,
            )
            .unwrap();
        assert_eq!(cb.code.expose(), "abc");
        let (a, b) = t.join().unwrap();
        assert!(a.starts_with("HTTP/1.1 404"));
        assert!(b.contains("Signed in"));

        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let t = std::thread::spawn(move || get(port, "/cb?code=abc&state=evil"));
        let e = lb
            .wait(
                "/cb",
                "s1",
                Instant::now() + Duration::from_secs(10),
                Duration::from_secs(10),
                None,
            )
            .unwrap_err();
        assert!(e.message().contains("wrong state"));
        assert!(t.join().unwrap().starts_with("HTTP/1.1 400"));
    }

    #[test]
    fn a_busy_port_is_a_clear_user_error() {
        let held = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = held.local_addr().unwrap().port();
        let e = Loopback::bind(port).err().unwrap();
        assert_eq!(e.exit_code(), 1);
        assert!(e.message().contains(&format!("port {port}")));
    }

    #[test]
    fn times_out() {
        let lb = Loopback::bind(0).unwrap();
        let e = lb
            .wait(
                "/cb",
                "s",
                Instant::now() + Duration::from_millis(50),
                Duration::from_secs(0),
                None,
            )
            .unwrap_err();
        assert!(e.message().contains("did not finish"));
    }
}
