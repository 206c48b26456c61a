//! The loopback listener of the browser sign-in flows, and the PKCE values.
//!
//! The listener binds 127.0.0.1 only (never a wildcard address), on a random port unless
//! the profile names one. Every program on the machine can connect to it, so it trusts no
//! connection:
//!
//! - each connection is served on its own thread and may send at most [`MAX_REQUEST`]
//!   bytes of request line and headers before its own deadline, which never passes the
//!   sign-in's: a connection that stalls, drips bytes or never ends its line holds up
//!   neither the browser's callback nor the end of the wait (awscred holds the token lock
//!   meanwhile), and an over-long request costs at most that many bytes;
//! - the browser launcher is never given the authorize URL itself, which would sit in its
//!   argv where every local user reads it (`/proc/*/cmdline`, `state` and PKCE challenge
//!   included), but a one-use [`Link`], `http://127.0.0.1:PORT/start/<128 random bits>`:
//!   the first request for it is redirected to the real URL, a later one gets 410 and
//!   ends the sign-in;
//! - a callback whose `state` is not this sign-in's is answered, ignored and the wait goes
//!   on; unknown paths get 404.
//!
//! So the worst another local program can do is end a sign-in early. [`open_once`] hands
//! any other URL to the browser the same way.

use crate::env::Environment;
use crate::error::{Error, Result};
use crate::secret::Secret;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

/// The start of the message of a browser sign-in that ran out of time.
const TIMED_OUT: &str = "the browser sign-in did not finish within";

/// Most bytes read of one request's line and headers; a longer request is answered 431
/// and its connection closed.
pub const MAX_REQUEST: u64 = 8 * 1024;
/// Longest one connection may take to send its request (and never past the sign-in's
/// deadline).
const CONNECTION_LIMIT: Duration = Duration::from_secs(10);
/// Longest one response may take to write.
const WRITE_LIMIT: Duration = Duration::from_secs(2);
/// How long the waiting loop sleeps between looks for new connections.
const POLL: Duration = Duration::from_millis(20);
/// How long one blocking read waits before a connection looks at its deadline again.
const READ_SLICE: Duration = Duration::from_millis(100);
/// Stack of a connection's thread: it parses one short request.
const CONNECTION_STACK: usize = 128 * 1024;
/// Most connections served at once; more are closed unanswered, so a flood of them costs
/// neither threads nor file descriptors beyond this.
pub const MAX_CONNECTIONS: usize = 64;
/// How long [`open_once`] goes on listening after the link was fetched while the
/// launcher still runs (answering 410 to any repeat).
const OPENED_GRACE: Duration = Duration::from_secs(5);
/// Where one-use links live on the listener.
const LINK_PREFIX: &str = "/start/";
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

/// A bound listener waiting for the browser.
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

/// A one-use link on the listener that sends the browser on to a target URL. Only
/// [`Link::url`] is given to a browser launcher; the target never leaves this process
/// except in the one redirect.
pub struct Link {
    path: String,
    url: String,
    target: Secret<String>,
}

impl Link {
    /// `http://127.0.0.1:PORT/start/<random>`, the URL a browser launcher is given.
    pub fn url(&self) -> &str {
        &self.url
    }
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
    #[allow(dead_code)] // tests, and URLs other than sign-ins handed to a browser
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn redirect_uri(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A new one-use link to `target`, with 128 random bits in its path so no other
    /// program can guess it.
    pub fn link(&self, target: &str) -> Link {
        let path = format!("{LINK_PREFIX}{:032x}", rand::random::<u128>());
        Link {
            url: self.redirect_uri(&path),
            path,
            target: Secret::new(target.to_string()),
        }
    }

    /// Waits for the callback on `path` carrying `state`, until `deadline`, serving `link`
    /// (when the browser was given one) once. A failed browser launcher is reported once
    /// but does not end the wait: the user can still open the printed URL.
    pub fn wait(
        &self,
        link: Option<&Link>,
        path: &str,
        state: &str,
        deadline: Instant,
        timeout: Duration,
        launcher: Option<Child>,
    ) -> Result<Callback> {
        let plan = Plan::new(link, Some((path, state)));
        match self.serve(plan, deadline, launcher, false)? {
            Outcome::Callback(c) => Ok(c),
            Outcome::Opened | Outcome::TimedOut => {
                Err(Error::user(format!("{TIMED_OUT} {} s", timeout.as_secs())))
            }
        }
    }

    /// Serves `link` once and returns as soon as a browser has fetched it, or fails at
    /// `deadline`.
    pub fn hand_over(
        &self,
        link: &Link,
        deadline: Instant,
        timeout: Duration,
        launcher: Option<Child>,
    ) -> Result<()> {
        match self.serve(Plan::new(Some(link), None), deadline, launcher, true)? {
            Outcome::Opened => Ok(()),
            Outcome::Callback(_) | Outcome::TimedOut => Err(Error::user(format!(
                "the browser did not open the link within {} s",
                timeout.as_secs()
            ))),
        }
    }

    /// Shows `url` (and opens it in a browser, through a one-use link, unless told not
    /// to), then waits for the callback on `path` with `state`, bounded by the policy's
    /// timeout. What is shown is `url` itself, the provider's address the user can check.
    pub fn sign_in(
        &self,
        ctx: &super::Ctx<'_>,
        url: &str,
        path: &str,
        state: &str,
    ) -> Result<Callback> {
        let sink = ctx.policy.sink;
        // The URL is on the user's screen (written and flushed) before any browser starts:
        // a launcher that hangs, or a browser on another display, must not hide it.
        sink.line(if ctx.policy.open_browser {
            "Opening your browser; if it does not open, visit:"
        } else {
            "Open this URL in a browser on this machine:"
        });
        sink.line(&format!("  {url}"));
        let mut link = None;
        let launcher = if ctx.policy.open_browser {
            let l = self.link(url);
            let child = super::browser::open(l.url(), ctx.env);
            if child.is_none() {
                sink.line("Could not start a browser; open the URL above yourself.");
            }
            link = Some(l);
            child
        } else {
            None
        };
        let timeout = ctx.policy.timeout;
        self.wait(
            link.as_ref(),
            path,
            state,
            deadline_after(timeout),
            timeout,
            launcher,
        )
        .map_err(|e| {
            // Out of time: say how to get more; anything else (a second opening of the
            // link, a refusal): sign in again.
            let hint = if e.message().starts_with(TIMED_OUT) {
                ctx.again_hint()
            } else {
                ctx.hint()
            };
            e.with_hint(hint)
        })
    }

    /// Accepts connections until the callback arrives (or, with `until_opened`, until the
    /// link is fetched), a second request for the link, or `deadline`.
    fn serve(
        &self,
        plan: Plan,
        deadline: Instant,
        mut launcher: Option<Child>,
        until_opened: bool,
    ) -> Result<Outcome> {
        let plan = Arc::new(plan);
        // Connections still being served end as soon as this wait does.
        let _ended = Ended(Arc::clone(&plan));
        let (tx, rx) = mpsc::channel();
        let mut warned = false;
        // With `until_opened`: when the link was fetched while the launcher still ran, and
        // how long to go on answering 410 to repeats before returning anyway.
        let mut opened: Option<Instant> = None;
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
            if let Some(at) = opened
                && (launcher.is_none() || at.elapsed() >= OPENED_GRACE)
            {
                return Ok(Outcome::Opened);
            }
            loop {
                match self.listener.accept() {
                    Ok((stream, _)) => {
                        let until = deadline_after(CONNECTION_LIMIT).min(deadline);
                        spawn_connection(stream, &plan, &tx, until);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => {
                        return Err(Error::unexpected("the sign-in listener failed").caused_by(&e));
                    }
                }
            }
            match rx.recv_timeout(POLL) {
                // A launcher that fetches the link itself (or a browser started in the
                // foreground) may still be running: the listener stays a moment, so a
                // second fetch meets a 410 rather than a closed port.
                Ok(Event::Opened) if until_opened && launcher.is_some() => {
                    opened = Some(Instant::now());
                }
                Ok(Event::Opened) if until_opened => return Ok(Outcome::Opened),
                Ok(Event::Opened) => {}
                Ok(Event::OpenedAgain) if opened.is_some() => {}
                Ok(Event::OpenedAgain) => {
                    return Err(Error::user(
                        "the sign-in link was opened twice, so this sign-in was stopped (another program on this machine may have opened it)",
                    ));
                }
                Ok(Event::WrongState) if !warned => {
                    // Once: another program can send these as fast as it likes.
                    warned = true;
                    crate::log::warn(
                        "ignored a sign-in callback with the wrong state (it did not come from this sign-in); still waiting",
                    );
                }
                Ok(Event::WrongState) => {}
                Ok(Event::Answer(a)) => return a.into_callback().map(Outcome::Callback),
                Err(_) => {}
            }
            if Instant::now() >= deadline {
                return Ok(if opened.is_some() {
                    Outcome::Opened
                } else {
                    Outcome::TimedOut
                });
            }
        }
    }
}

/// Opens `url` in the user's browser through a one-use link on a new loopback listener,
/// and returns once the link has been fetched (and the launcher has exited, or
/// [`OPENED_GRACE`] has passed: a repeat meanwhile gets 410). The launcher's argv holds only the link,
/// so what `url` carries (a sign-in token, say) never appears in any process list. A
/// local program that reads the link there and fetches it before the browser does gets
/// the redirect instead, and the browser then finds no listener: the user sees a failed
/// page, so a `url` that is itself a bearer credential should be short-lived. Fails when
/// no launcher starts or the link is not fetched within `timeout`.
pub fn open_once(env: &Environment, url: &str, timeout: Duration) -> Result<()> {
    let listener = Loopback::bind(0)?;
    let link = listener.link(url);
    let Some(child) = super::browser::open(link.url(), env) else {
        return Err(Error::user("could not start a browser")
            .with_hint("set BROWSER to a command that opens a URL"));
    };
    listener.hand_over(&link, deadline_after(timeout), timeout, Some(child))
}

/// `now + d`, or a far deadline when that does not fit an `Instant`.
fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// How a wait ended, short of an error.
enum Outcome {
    Opened,
    Callback(Callback),
    TimedOut,
}

/// What one wait serves; shared with the connection threads.
struct Plan {
    /// The one-use link: its path and where it leads.
    link: Option<(String, Secret<String>)>,
    /// The callback path and the `state` it must carry.
    callback: Option<(String, Secret<String>)>,
    /// Whether the link was fetched.
    opened: AtomicBool,
    /// Connections being served.
    serving: AtomicUsize,
    /// Whether the wait is over.
    ended: AtomicBool,
}

impl Plan {
    fn new(link: Option<&Link>, callback: Option<(&str, &str)>) -> Self {
        Self {
            link: link.map(|l| (l.path.clone(), l.target.clone())),
            callback: callback.map(|(p, s)| (p.to_string(), Secret::new(s.to_string()))),
            opened: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            serving: AtomicUsize::new(0),
        }
    }
}

/// Marks the wait over when dropped.
struct Ended(Arc<Plan>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.ended.store(true, Ordering::Relaxed);
    }
}

/// What a connection tells the waiting loop.
enum Event {
    /// The link was fetched for the first time and redirected.
    Opened,
    /// The link was fetched again (answered 410).
    OpenedAgain,
    /// A callback with another `state` (answered, ignored).
    WrongState,
    /// The callback.
    Answer(Answer),
}

/// What a callback with the right `state` carried.
enum Answer {
    Code(Secret<String>),
    Refused { error: String, description: String },
    NoCode,
}

impl Answer {
    fn into_callback(self) -> Result<Callback> {
        match self {
            Answer::Code(code) => Ok(Callback { code }),
            Answer::Refused { error, description } => {
                let e = if error == "access_denied" {
                    Error::user("the sign-in was denied in the browser")
                } else {
                    Error::user(format!(
                        "the identity provider refused the sign-in: {}",
                        crate::remote::text(&error)
                    ))
                };
                Err(if description.is_empty() {
                    e
                } else {
                    e.caused_by_text(crate::remote::text(&description))
                })
            }
            Answer::NoCode => Err(Error::unexpected(
                "the sign-in callback carried no authorization code",
            )),
        }
    }
}

/// Counts a connection as served until dropped.
struct Serving(Arc<Plan>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.serving.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `stream` on a thread of its own, unless [`MAX_CONNECTIONS`] are being served:
/// then it is closed unanswered and the wait goes on.
fn spawn_connection(stream: TcpStream, plan: &Arc<Plan>, tx: &Sender<Event>, until: Instant) {
    let serving = Serving(Arc::clone(plan));
    if plan.serving.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
        crate::log::debug("too many sign-in connections at once; closed one");
        return;
    }
    let tx = tx.clone();
    let started = std::thread::Builder::new()
        .name("awscred-loopback".into())
        .stack_size(CONNECTION_STACK)
        .spawn(move || {
            if let Some(event) = handle(&stream, &serving.0, until) {
                let _ = tx.send(event);
            }
        });
    if let Err(e) = started {
        // The connection is dropped, closing it; the wait goes on.
        crate::log::debug(&format!("cannot serve a sign-in connection: {e}"));
    }
}

/// Reads a connection until its deadline or the end of the wait, whichever comes first,
/// however slowly the peer sends.
struct Bounded<'a> {
    stream: &'a TcpStream,
    until: Instant,
    ended: &'a AtomicBool,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let left = self.until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.ended.load(Ordering::Relaxed) {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            self.stream.set_read_timeout(Some(left.min(READ_SLICE)))?;
            match (&mut &*self.stream).read(buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                r => return r,
            }
        }
    }
}

/// One line of at most what is left of the request's allowance.
enum Line {
    Full(Vec<u8>),
    /// The allowance ran out before the line ended.
    TooLong,
    /// The peer closed, stalled past the deadline, or failed.
    Gone,
}

fn read_line(reader: &mut BufReader<std::io::Take<Bounded<'_>>>) -> Line {
    let mut line = Vec::new();
    match reader.read_until(b'\n', &mut line) {
        Ok(_) if line.ends_with(b"\n") => Line::Full(line),
        Ok(_) if reader.get_ref().limit() == 0 => Line::TooLong,
        _ => Line::Gone,
    }
}

/// Reads a request's line and headers; `None` when the peer went away, stalled past
/// `until`, or sent more than [`MAX_REQUEST`] bytes (answered 431).
fn read_request(stream: &TcpStream, plan: &Plan, until: Instant) -> Option<Vec<u8>> {
    let bounded = Bounded {
        stream,
        until,
        ended: &plan.ended,
    };
    let mut reader = BufReader::new(bounded.take(MAX_REQUEST));
    let mut request_line = None;
    // Read the headers too, so the browser sees a clean response.
    loop {
        match read_line(&mut reader) {
            Line::Full(h) if request_line.is_some() && (h == b"\r\n" || h == b"\n") => {
                return request_line;
            }
            Line::Full(l) => {
                request_line.get_or_insert(l);
            }
            Line::TooLong => {
                if answerable(stream, until) {
                    respond(
                        stream,
                        "431 Request Header Fields Too Large",
                        &page_fail("request too long"),
                    );
                }
                return None;
            }
            Line::Gone => return None,
        }
    }
}

/// Whether there is time left to answer before `until`; bounds the writes by it.
fn answerable(stream: &TcpStream, until: Instant) -> bool {
    let left = until.saturating_duration_since(Instant::now());
    !left.is_zero()
        && stream
            .set_write_timeout(Some(left.min(WRITE_LIMIT)))
            .is_ok()
}

/// Serves one connection; the event is for the waiting loop, `None` means nothing it
/// needs to know.
fn handle(stream: &TcpStream, plan: &Plan, until: Instant) -> Option<Event> {
    let _ = stream.set_nonblocking(false);
    let line = read_request(stream, plan, until)?;
    if !answerable(stream, until) {
        return None;
    }
    let line = String::from_utf8_lossy(&line);
    let mut parts = line.split_whitespace();
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else {
        respond(
            stream,
            "405 Method Not Allowed",
            &page_fail("unexpected request"),
        );
        return None;
    };
    let (req_path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Some((path, to)) = &plan.link
        && req_path == path
    {
        if plan.opened.swap(true, Ordering::SeqCst) {
            respond(
                stream,
                "410 Gone",
                &page_fail("this sign-in link was already used, so the sign-in was stopped"),
            );
            return Some(Event::OpenedAgain);
        }
        redirect(stream, to.expose());
        return Some(Event::Opened);
    }
    if let Some((path, state)) = &plan.callback
        && req_path == path
    {
        return Some(callback(stream, query, state));
    }
    respond(stream, "404 Not Found", &page_fail("not found"));
    None
}

fn callback(stream: &TcpStream, query: &str, state: &Secret<String>) -> Event {
    let mut params: std::collections::HashMap<String, String> = crate::form::decode(query);
    if params.get("state") != Some(state.expose()) {
        respond(
            stream,
            "400 Bad Request",
            &page_fail(
                "this answer did not come from the sign-in awscred is waiting for (wrong state), so it was ignored",
            ),
        );
        return Event::WrongState;
    }
    if let Some(error) = params.remove("error") {
        let description = params.remove("error_description").unwrap_or_default();
        respond(
            stream,
            "200 OK",
            &page_fail(&format!("{error}: {description}")),
        );
        return Event::Answer(Answer::Refused { error, description });
    }
    let Some(code) = params.remove("code").filter(|c| !c.is_empty()) else {
        respond(
            stream,
            "400 Bad Request",
            &page_fail("no authorization code"),
        );
        return Event::Answer(Answer::NoCode);
    };
    respond(stream, "200 OK", PAGE_OK);
    Event::Answer(Answer::Code(Secret::new(code)))
}

const PAGE_OK: &str = "<!doctype html><meta charset=utf-8><title>awscred</title><body style=\"font-family:sans-serif;margin:4em\"><h1>Signed in</h1><p>You can close this tab and return to your terminal.</p>";

fn page_fail(msg: &str) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><title>awscred</title><body style=\"font-family:sans-serif;margin:4em\"><h1>Sign-in failed</h1><p>{}</p><p>Return to your terminal for details.</p>",
        msg.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
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

/// Sends the browser on to `to`, with no referrer and nothing cached. Spaces and control
/// characters in `to` (which may hold a provider's endpoint) are percent-encoded, so it
/// stays one header.
fn redirect(mut stream: &TcpStream, to: &str) {
    let mut location = String::with_capacity(to.len());
    for c in to.chars() {
        if c.is_control() || c.is_whitespace() {
            let mut b = [0; 4];
            for byte in c.encode_utf8(&mut b).bytes() {
                location.push_str(&format!("%{byte:02X}"));
            }
        } else {
            location.push(c);
        }
    }
    let to = location;
    let _ = write!(
        stream,
        "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\r\n"
    );
    let _ = stream.flush();
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
        let m = crate::form::decode(&q);
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

    fn soon() -> Instant {
        Instant::now() + MINUTE
    }

    const MINUTE: Duration = Duration::from_secs(60);

    /// The path of `link` on `lb`.
    fn path_of(lb: &Loopback, link: &Link) -> String {
        link.url()
            .strip_prefix(&lb.redirect_uri(""))
            .unwrap()
            .to_string()
    }

    #[test]
    fn listener_binds_loopback_only() {
        let lb = Loopback::bind(0).unwrap();
        let addr = lb.listener.local_addr().unwrap();
        assert_eq!(addr.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
        assert!(lb.redirect_uri("/x").starts_with("http://127.0.0.1:"));
    }

    #[test]
    fn a_wrong_state_is_ignored_and_the_right_one_accepted() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let t = std::thread::spawn(move || {
            let a = get(port, "/favicon.ico");
            let b = get(port, "/cb?code=forged&state=evil");
            let c = get(port, "/cb?code=abc&state=s1");
            (a, b, c)
        });
        let cb = lb.wait(None, "/cb", "s1", soon(), MINUTE, None).unwrap();
        assert_eq!(cb.code.expose(), "abc");
        let (a, b, c) = t.join().unwrap();
        assert!(a.starts_with("HTTP/1.1 404"), "{a}");
        assert!(b.starts_with("HTTP/1.1 400"), "{b}");
        assert!(b.contains("so it was ignored"), "{b}");
        assert!(c.contains("Signed in"), "{c}");
    }

    #[test]
    fn a_stalled_connection_does_not_hold_up_the_callback() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        // Both stallers are queued before the real callback connects.
        let silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut dripping = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let answered = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&answered);
        let dripper = std::thread::spawn(move || {
            // One byte at a time, never a whole line, for up to 30 s: true when it gave
            // up before the callback was answered.
            for _ in 0..300 {
                if seen.load(Ordering::SeqCst) {
                    return false;
                }
                let _ = dripping.write_all(b"G");
                std::thread::sleep(Duration::from_millis(100));
            }
            true
        });
        let caller = std::thread::spawn(move || get(port, "/cb?code=abc&state=s1"));
        let cb = lb.wait(None, "/cb", "s1", soon(), MINUTE, None).unwrap();
        assert_eq!(cb.code.expose(), "abc");
        assert!(caller.join().unwrap().contains("Signed in"));
        answered.store(true, Ordering::SeqCst);
        assert!(
            !dripper.join().unwrap(),
            "the callback was answered while the other connections stalled"
        );
        drop(silent);
    }

    #[test]
    fn a_flood_of_connections_is_capped_and_the_callback_still_arrives() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let t = std::thread::spawn(move || {
            let held: Vec<TcpStream> = (0..MAX_CONNECTIONS)
                .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
                .collect();
            // One over the cap: closed without an answer to its request.
            let mut extra = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let _ = write!(extra, "GET /favicon.ico HTTP/1.1\r\n\r\n");
            let mut answer = Vec::new();
            let _ = std::io::Read::read_to_end(&mut extra, &mut answer);
            let closed = answer.is_empty();
            drop(held);
            // Once the held connections are gone, the callback gets through.
            let ok = (0..100)
                .map(|_| {
                    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    let _ = write!(s, "GET /cb?code=abc&state=s1 HTTP/1.1\r\n\r\n");
                    let mut out = String::new();
                    let _ = std::io::Read::read_to_string(&mut s, &mut out);
                    out
                })
                .find(|out| !out.is_empty())
                .unwrap_or_default();
            (closed, ok)
        });
        let cb = lb.wait(None, "/cb", "s1", soon(), MINUTE, None).unwrap();
        assert_eq!(cb.code.expose(), "abc");
        let (closed, ok) = t.join().unwrap();
        assert!(closed, "the connection over the cap was closed unanswered");
        assert!(ok.contains("Signed in"), "{ok}");
    }

    #[test]
    fn an_over_long_request_closes_only_its_connection() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let t = std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let chunk = vec![b'a'; 64 * 1024];
            let _ = s.write_all(b"GET /");
            // Up to 64 MiB without a newline; the listener closes the connection long
            // before.
            let mut closed = false;
            for _ in 0..1024 {
                if s.write_all(&chunk).is_err() {
                    closed = true;
                    break;
                }
            }
            let mut answer = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut answer);
            (closed, answer, get(port, "/cb?code=abc&state=s1"))
        });
        let cb = lb.wait(None, "/cb", "s1", soon(), MINUTE, None).unwrap();
        assert_eq!(cb.code.expose(), "abc");
        let (closed, answer, ok) = t.join().unwrap();
        assert!(closed, "the over-long request was cut off: {answer}");
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
            "{answer}"
        );
        assert!(ok.contains("Signed in"), "{ok}");
    }

    #[test]
    fn over_long_headers_are_refused_too() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let t = std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let mut request = b"GET /cb?code=abc&state=s1 HTTP/1.1\r\n".to_vec();
            for _ in 0..1000 {
                request.extend_from_slice(b"X-Filler: 0123456789\r\n");
            }
            request.extend_from_slice(b"\r\n");
            let _ = s.write_all(&request);
            let mut answer = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut answer);
            (answer, get(port, "/cb?code=def&state=s1"))
        });
        let cb = lb.wait(None, "/cb", "s1", soon(), MINUTE, None).unwrap();
        assert_eq!(
            cb.code.expose(),
            "def",
            "the over-long request did not count"
        );
        let (answer, ok) = t.join().unwrap();
        assert!(!answer.contains("Signed in"), "{answer}");
        assert!(ok.contains("Signed in"), "{ok}");
    }

    #[test]
    fn the_deadline_ends_the_wait_despite_a_dripping_client() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let t = std::thread::spawn(move || {
            // A valid callback, one byte every 200 ms: it would be complete after ~8 s.
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            for b in b"GET /cb?code=abc&state=s1 HTTP/1.1\r\n\r\n" {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let e = lb
            .wait(
                None,
                "/cb",
                "s1",
                Instant::now() + Duration::from_millis(300),
                Duration::from_secs(0),
                None,
            )
            .unwrap_err();
        assert!(e.message().contains("did not finish"), "{e}");
        t.join().unwrap();
    }

    #[test]
    fn the_link_redirects_once_then_a_second_request_aborts() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let target = "https://idp.example/authorize?state=s1&code_challenge=c1";
        let link = lb.link(target);
        assert_ne!(link.url(), lb.link(target).url(), "every link is new");
        let prefix = format!("http://127.0.0.1:{port}/start/");
        let nonce = link.url().strip_prefix(&prefix).unwrap();
        assert_eq!(nonce.len(), 32);
        assert!(nonce.bytes().all(|b| b.is_ascii_hexdigit()));
        let path = path_of(&lb, &link);
        let t = std::thread::spawn(move || {
            let guess = get(port, "/start/00000000000000000000000000000000");
            let first = get(port, &path);
            let second = get(port, &path);
            (guess, first, second)
        });
        let e = lb
            .wait(Some(&link), "/cb", "s1", soon(), MINUTE, None)
            .unwrap_err();
        assert!(e.message().contains("opened twice"), "{e}");
        assert_eq!(e.exit_code(), 1);
        let (guess, first, second) = t.join().unwrap();
        assert!(guess.starts_with("HTTP/1.1 404"), "{guess}");
        assert!(first.starts_with("HTTP/1.1 302"), "{first}");
        assert!(
            first.contains(&format!("\r\nLocation: {target}\r\n")),
            "{first}"
        );
        assert!(second.starts_with("HTTP/1.1 410"), "{second}");
    }

    #[test]
    fn a_link_target_stays_one_header() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let link = lb.link("https://idp.example/a b\r\nSet-Cookie: x=1");
        let path = path_of(&lb, &link);
        let t = std::thread::spawn(move || get(port, &path));
        lb.hand_over(&link, soon(), MINUTE, None).unwrap();
        let answer = t.join().unwrap();
        assert!(
            answer.contains("\r\nLocation: https://idp.example/a%20b%0D%0ASet-Cookie:%20x=1\r\n"),
            "{answer}"
        );
        assert!(!answer.contains("\r\nSet-Cookie"), "{answer}");
    }

    #[test]
    fn hand_over_returns_once_the_link_is_fetched() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let link = lb.link("https://signin.example/federation?SigninToken=T");
        let path = path_of(&lb, &link);
        let t = std::thread::spawn(move || get(port, &path));
        lb.hand_over(&link, soon(), MINUTE, None).unwrap();
        assert!(t.join().unwrap().starts_with("HTTP/1.1 302"));

        let e = lb
            .hand_over(
                &lb.link("https://x"),
                Instant::now() + Duration::from_millis(50),
                Duration::from_secs(0),
                None,
            )
            .unwrap_err();
        assert!(e.message().contains("did not open the link"), "{e}");
    }

    #[test]
    fn open_once_gives_the_launcher_only_the_link() {
        let target = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let tport = target.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (s, _) = target.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).unwrap();
            let _ = (&s)
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            line
        });
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fake-browser.py"
        );
        let dir = std::env::temp_dir().join(format!("awscred-open-once-{}", std::process::id()));
        fs_err::create_dir_all(&dir).unwrap();
        let log = dir.join("argv");
        // The fixture records its argv in the file `--log=` names; `%s` puts the URL last.
        let browser = format!("python3 {script} --log={} %s", log.display());
        let env = Environment::from_pairs([("BROWSER", browser.as_str())]);
        let url = format!("http://127.0.0.1:{tport}/federation?SigninToken=SECRET");
        open_once(&env, &url, MINUTE).unwrap();
        assert!(server.join().unwrap().contains("SigninToken=SECRET"));
        let argv = fs_err::read_to_string(&log).unwrap();
        let _ = fs_err::remove_dir_all(&dir);
        assert!(argv.contains("http://127.0.0.1:"), "{argv}");
        assert!(!argv.contains("SigninToken"), "{argv}");

        let nothing = Environment::from_pairs([("BROWSER", "/nonexistent/awscred-browser")]);
        let e = open_once(&nothing, &url, MINUTE).unwrap_err();
        assert!(e.message().contains("could not start a browser"), "{e}");
    }

    #[test]
    fn callback_errors_are_shown_inert() {
        let lb = Loopback::bind(0).unwrap();
        let port = lb.port();
        let t = std::thread::spawn(move || {
            get(
                port,
                "/cb?state=s1&error=bad%1B%5B2J&error_description=x%0Ahint%3A%20run%20evil",
            )
        });
        let e = lb
            .wait(None, "/cb", "s1", soon(), MINUTE, None)
            .unwrap_err();
        assert!(e.message().contains("bad\\u{1b}[2J"), "{e}");
        assert!(!e.report().contains('\u{1b}'));
        assert_eq!(e.causes(), ["x\\nhint: run evil"]);
        assert!(t.join().unwrap().contains("Sign-in failed"));
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
                None,
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
