//! `awscred serve` and `awscred exec --server`: a container credentials endpoint on
//! 127.0.0.1, what SDKs read from `AWS_CONTAINER_CREDENTIALS_FULL_URI`, so long-running
//! programs get fresh credentials without running anything again.
//!
//! One thread, the refresher, owns the [`Services`] and does all the source work; the
//! connections are served on their own threads (at most [`MAX_CONNECTIONS`] at once, each
//! reading at most [`MAX_REQUEST`] bytes of request line and headers before its deadline)
//! and ask the refresher for an answer. The refresher takes every question that is waiting,
//! answers them all with one look at the credentials, and so makes one refresh per
//! rollover however many clients wait for it.
//!
//! Each answer is judged when it is asked for: a new [`Request`](crate::services::Request)
//! (freshness counts from then), the cache entry read again (so `logout`, a deleted entry
//! and `login --force` take effect on the next request), and credentials with less than
//! [`SERVE_WINDOW`] left refreshed when the source can do better. With the file store that
//! read is one small file per batch of requests; with a keyring, whose reads are a round
//! trip to another process, a good answer is reused for at most [`SLOW_STORE_REUSE`]. The
//! refresher also refreshes ahead on its own, when the credentials it served reach the
//! window, so a client rarely waits for the network.
//!
//! The endpoint never signs in: an answer that needs a sign-in is an error whose message
//! carries the `awscred login` hint. Requests need `Authorization` with the 256-bit token,
//! compared in constant time: none is 401, a wrong one 403, both with an empty body and no
//! CORS header. Credentials are fetched before the endpoint is advertised (the JavaScript
//! SDK gives up after 1 s).

use crate::cache::{self, MIN_USEFUL};
use crate::cli::{ExecArgs, ServeArgs};
use crate::credentials::CachedCredentials;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::output::{self, Format, Issued};
use crate::secret::Secret;
use crate::services::Services;
use crate::source::{self, LoginPolicy};
use crate::store::private_dir::PrivateDir;
use crate::ui::Sink;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Credentials are refreshed when less than this remains (or the profile's own
/// `awscred_refresh_window`, if longer), so an answer carries at least this much whenever
/// the source issues credentials that live longer.
pub const SERVE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most bytes read of one request's line and headers; a longer request is answered 431.
pub const MAX_REQUEST: usize = 8 * 1024;
/// Most connections served at once; further ones wait in the listen queue.
pub const MAX_CONNECTIONS: usize = 128;
/// Longest a connection may take to send its request line and headers.
const READ_LIMIT: Duration = Duration::from_secs(2);
/// Longest an answer may take to write.
const WRITE_LIMIT: Duration = Duration::from_secs(2);
/// Longest a connection waits for the refresher before it answers 503.
const ANSWER_LIMIT: Duration = Duration::from_secs(30);
/// Longest a connection is kept after its answer, for the client to finish sending.
const LINGER: Duration = Duration::from_millis(200);
/// Most bytes read after an answer.
const LINGER_BYTES: usize = 64 * 1024;
/// Stack of a connection's thread: it parses one short request.
const CONNECTION_STACK: usize = 128 * 1024;
/// With a keyring store, a good answer is reused this long before the entry is read again.
pub const SLOW_STORE_REUSE: Duration = Duration::from_secs(1);
/// After a refresh ahead failed, the next one is tried this much later.
const RETRY_AHEAD: Duration = Duration::from_secs(30);
/// How long an answer waits for a peer holding a lock (a sign-in in progress).
const PEER_TIMEOUT: Duration = Duration::from_secs(5);

/// The path the endpoint answers on.
const PATH: &str = "/";

/// Variables a child of `exec --server` must not have: each would win over the endpoint, or
/// (the other token variable) make the token ambiguous.
pub const REMOVED_FOR_CHILD: [&str; 10] = [
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
];

/// `awscred serve`: serves until interrupted (SIGINT, SIGTERM, SIGHUP), then removes the
/// token file.
pub fn serve(services: &Services, profile: &str, args: &ServeArgs) -> Result<ExitCode> {
    // The handler comes first, so no signal can end awscred between writing the token
    // file and being able to remove it.
    let token_file: Arc<Mutex<Option<TokenFile>>> = Arc::default();
    let on_signal = Arc::clone(&token_file);
    ctrlc::set_handler(move || {
        // Removes the file (through the directory it was written in), then ends.
        drop(on_signal.lock().unwrap_or_else(|p| p.into_inner()).take());
        std::process::exit(0);
    })
    .map_err(|e| Error::unexpected("cannot handle interrupts").caused_by(&e))?;
    let endpoint = Endpoint::start(
        services,
        profile,
        args.port.unwrap_or(0),
        args.token_file.then_some(token_file),
    )?;
    let mut text = String::new();
    for (k, v) in endpoint.variables() {
        match v {
            Some(v) => text.push_str(&format!("export {k}={}\n", sh_quote(&v))),
            None => text.push_str(&format!("unset {k}\n")),
        }
    }
    crate::ui::data(&text)
        .map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    warn_shadowing(services);
    Sink::Stderr.line(&format!(
        "Serving the credentials of profile {profile} on {} until interrupted.",
        endpoint.url
    ));
    endpoint.run(services, profile);
    Ok(ExitCode::SUCCESS)
}

/// `awscred exec --server -- CMD…`: runs CMD with the endpoint and stops serving when it
/// ends; its exit status is ours.
pub fn exec(services: &Services, profile: &str, args: ExecArgs) -> Result<ExitCode> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::user("no command given")
            .with_hint("run awscred exec --server --profile P -- aws sts get-caller-identity"));
    };
    let endpoint = Endpoint::start(
        services,
        profile,
        args.port.unwrap_or(0),
        args.token_file.then(Arc::default),
    )?;
    warn_shadowing(services);
    let mut cmd = std::process::Command::new(program);
    cmd.args(rest).env("AWSCRED_PROFILE", profile);
    for (k, v) in endpoint.variables() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    if let Ok(req) = services.request(profile)
        && let Some(region) = req.chain.settings.region.as_deref()
    {
        cmd.env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region);
    }
    // Signals from the terminal reach the child too; awscred stays until the child ends.
    let _ = ctrlc::set_handler(|| {});
    let name = program.to_string_lossy().into_owned();
    let mut child = cmd.spawn().map_err(|e| {
        Error::user(format!("cannot run {}", crate::remote::text(&name)))
            .caused_by(&e)
            .with_hint("check the command name and PATH")
    })?;
    let stop = endpoint.jobs.clone();
    std::thread::Builder::new()
        .name("child".into())
        .spawn(move || {
            let code = match child.wait() {
                Ok(status) => exit_code(status),
                Err(_) => 2,
            };
            let _ = stop.send(Msg::Stop(code));
        })
        .map_err(|e| Error::unexpected("cannot wait for the command").caused_by(&e))?;
    let code = endpoint.run(services, profile);
    Ok(ExitCode::from(code))
}

/// The exit status to pass on: the child's code, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return 128i32
            .checked_add(sig)
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(255);
    }
    status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(2)
}

/// What the refresher is asked.
enum Msg {
    /// Answer this connection.
    Answer(SyncSender<Arc<Reply>>),
    /// Stop serving, exiting with this status (the child of `exec --server` ended).
    Stop(u8),
}

/// An HTTP answer: status and body.
struct Reply {
    status: u16,
    body: Secret<String>,
}

impl Reply {
    fn empty(status: u16) -> Self {
        Self {
            status,
            body: Secret::new(String::new()),
        }
    }
}

/// A running endpoint: bound, first credentials fetched, connections accepted.
struct Endpoint {
    url: String,
    token: Secret<String>,
    token_file: Arc<Mutex<Option<TokenFile>>>,
    token_path: Option<PathBuf>,
    jobs: Sender<Msg>,
    questions: Receiver<Msg>,
    first: Arc<Reply>,
    refresher: Refresher,
}

impl Endpoint {
    /// Binds 127.0.0.1:`port`, fetches the credentials (a sign-in may happen here, as for
    /// `exec`), writes the token file into `token_file` if given, and starts accepting
    /// connections.
    fn start(
        services: &Services,
        profile: &str,
        port: u16,
        token_file: Option<Arc<Mutex<Option<TokenFile>>>>,
    ) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                Error::user(format!(
                    "port {port} on 127.0.0.1 is in use by another program"
                ))
                .caused_by(&e)
                .with_hint("stop that program, or choose another --port (or none: a free one)")
            } else {
                Error::unexpected(format!("cannot listen on 127.0.0.1:{port}")).caused_by(&e)
            }
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::unexpected("cannot read the listener's port").caused_by(&e))?
            .port();
        let mut refresher = Refresher::new(services, profile)?;
        let first = refresher.first(services, profile)?;
        let token = Secret::new(crate::login::loopback::random_token(32));
        let (slot, path) = match token_file {
            Some(slot) => {
                let f = TokenFile::write(&services.env, port, &token)?;
                let p = f.path();
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
                (slot, Some(p))
            }
            None => (Arc::default(), None),
        };
        let (jobs, questions) = mpsc::channel();
        let accept = Accept {
            listener,
            token: token.clone(),
            jobs: jobs.clone(),
            slots: Arc::new((Mutex::new(0), Condvar::new())),
        };
        std::thread::Builder::new()
            .name("accept".into())
            .spawn(move || accept.run())
            .map_err(|e| Error::unexpected("cannot start the listener").caused_by(&e))?;
        Ok(Self {
            url: format!("http://127.0.0.1:{port}{PATH}"),
            token,
            token_file: slot,
            token_path: path,
            jobs,
            questions,
            first,
            refresher,
        })
    }

    /// The variables a client needs (name, value); `None` means "remove it".
    fn variables(&self) -> Vec<(&'static str, Option<String>)> {
        let mut v: Vec<(&'static str, Option<String>)> =
            REMOVED_FOR_CHILD.iter().map(|k| (*k, None)).collect();
        let token = match &self.token_path {
            Some(p) => (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                p.to_string_lossy().into_owned(),
            ),
            None => (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                self.token.expose().clone(),
            ),
        };
        v.retain(|(k, _)| *k != token.0);
        v.insert(
            0,
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", Some(self.url.clone())),
        );
        v.insert(1, (token.0, Some(token.1)));
        v
    }

    /// Answers until told to stop; returns the exit status to stop with. The token file
    /// is removed on the way out.
    fn run(mut self, services: &Services, profile: &str) -> u8 {
        self.refresher.last = Some(Last {
            reply: Arc::clone(&self.first),
            reuse_until: Instant::now(),
        });
        let code = self.refresher.serve(services, profile, &self.questions);
        drop(
            self.token_file
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        code
    }
}

/// POSIX single quotes.
fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

/// Warns when the default profile has credentials: SDKs read the profile before the
/// container endpoint, so they would use those instead.
fn warn_shadowing(services: &Services) {
    if let Ok(chain) = crate::config::resolve::resolve(&services.files, "default", &services.env) {
        crate::log::warn(&format!(
            "the default profile has credentials ({}); SDKs use them before the endpoint, so programs may not use the endpoint's credentials",
            source::describe(&chain)
        ));
    }
}

/// What was last answered.
struct Last {
    reply: Arc<Reply>,
    /// Until when it may be given again without a look at the store.
    reuse_until: Instant,
}

/// Owns the source work: answers batches of questions and refreshes ahead.
struct Refresher {
    last: Option<Last>,
    /// When to refresh ahead of any question.
    ahead: Option<Instant>,
    /// The store's reads are slow (a keyring).
    slow_store: bool,
}

impl Refresher {
    fn new(services: &Services, profile: &str) -> Result<Self> {
        let req = services.request(profile)?;
        Ok(Self {
            last: None,
            ahead: None,
            slow_store: !matches!(req.cache.store().name(), "file" | "memory"),
        })
    }

    /// The first credentials, before anything is advertised: a sign-in may happen here
    /// under the rules of `exec`; a failure ends the command.
    fn first(&mut self, services: &Services, profile: &str) -> Result<Arc<Reply>> {
        let (reply, ahead) = fetch(services, profile, true)?;
        self.ahead = ahead;
        Ok(Arc::new(reply))
    }

    /// The answer to the questions waiting now.
    fn answer(&mut self, services: &Services, profile: &str) -> Arc<Reply> {
        let now = Instant::now();
        if let Some(last) = &self.last
            && now < last.reuse_until
        {
            return Arc::clone(&last.reply);
        }
        let (reply, hold) = match fetch(services, profile, false) {
            Ok((reply, ahead)) => {
                self.ahead = ahead;
                let hold = if self.slow_store {
                    SLOW_STORE_REUSE
                } else {
                    Duration::ZERO
                };
                (reply, hold)
            }
            // Not reused: a sign-in counts from the next request. Questions that arrive
            // while a failing source is asked wait for one answer together, so the
            // source sees one attempt at a time whatever the number of clients.
            Err(e) => {
                crate::log::warn(&format!("cannot answer with credentials: {e}"));
                (error_reply(&e), Duration::ZERO)
            }
        };
        let reuse_until = match self.ahead {
            Some(a) => (now + hold).min(a),
            None => now + hold,
        };
        let reply = Arc::new(reply);
        self.last = Some(Last {
            reply: Arc::clone(&reply),
            reuse_until,
        });
        reply
    }

    /// Takes questions until a stop; every question waiting at one moment gets one answer.
    fn serve(&mut self, services: &Services, profile: &str, questions: &Receiver<Msg>) -> u8 {
        loop {
            let first = match self.ahead {
                Some(at) => questions.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => questions.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let mut waiting = Vec::new();
            let mut stop = None;
            match first {
                Ok(Msg::Answer(tx)) => waiting.push(tx),
                Ok(Msg::Stop(code)) => return code,
                Err(RecvTimeoutError::Disconnected) => return 0,
                Err(RecvTimeoutError::Timeout) => {
                    self.refresh_ahead(services, profile);
                    continue;
                }
            }
            loop {
                match questions.try_recv() {
                    Ok(Msg::Answer(tx)) => waiting.push(tx),
                    Ok(Msg::Stop(code)) => {
                        stop = Some(code);
                        break;
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            let reply = self.answer(services, profile);
            for w in waiting {
                let _ = w.try_send(Arc::clone(&reply));
            }
            if let Some(code) = stop {
                return code;
            }
        }
    }

    /// Refreshes without a question waiting, when the credentials reached the window.
    fn refresh_ahead(&mut self, services: &Services, profile: &str) {
        crate::log::debug("serve: refreshing ahead");
        self.last = None;
        let reply = self.answer(services, profile);
        if reply.status != 200 {
            self.ahead = Some(Instant::now() + RETRY_AHEAD);
        }
    }
}

/// The rules of answers after the first: never a sign-in, a short wait for a peer's.
fn quiet() -> LoginPolicy {
    LoginPolicy {
        timeout: PEER_TIMEOUT,
        ..LoginPolicy::silent()
    }
}

/// The window the endpoint refreshes by: [`SERVE_WINDOW`] or the profile's, if longer.
pub fn window(profile_window: Duration) -> Duration {
    profile_window.max(SERVE_WINDOW)
}

/// Fetches (from the cache when fresh) and renders; also says when to refresh ahead.
fn fetch(services: &Services, profile: &str, first: bool) -> Result<(Reply, Option<Instant>)> {
    let mut req = services.request(profile)?;
    let window = window(req.chain.settings.refresh_window);
    req.chain.settings.refresh_window = window;
    let login = if first {
        LoginPolicy::for_credentials(&req.chain.settings)
    } else {
        quiet()
    };
    let ctx = req.context(login);
    let creds = source::session_credentials(&ctx, &req.chain)?;
    let body = output::render(Format::Container, &Issued::new(&creds, None))?;
    let now = services_now(services);
    let ahead = due(&creds, now, window).map(|d| Instant::now() + d);
    Ok((
        Reply {
            status: 200,
            body: Secret::new(body),
        },
        ahead,
    ))
}

fn services_now(services: &Services) -> DateTime<Utc> {
    crate::clock::Clock::now(&services.clock)
}

/// How long until credentials need a refresh under `window` (a second after they stop
/// being reusable); `None` when they never expire or need one already (then every answer
/// looks again anyway).
pub fn due(c: &CachedCredentials, now: DateTime<Utc>, window: Duration) -> Option<Duration> {
    let expires = c.credentials.expiration?;
    let keep = if cache::remaining(expires, c.obtained_at) <= window {
        MIN_USEFUL.min(window)
    } else {
        window
    };
    cache::remaining(expires, now)
        .checked_sub(keep)
        .filter(|d| !d.is_zero())
        .and_then(|d| d.checked_add(Duration::from_secs(1)))
}

/// The answer for a failure: 500 and `{"Code","Message"}`, which the SDKs show (the
/// message carries the hint, `run awscred login --profile P` when a sign-in is needed).
fn error_reply(e: &Error) -> Reply {
    let mut message = e.to_string();
    if let Some(h) = e.hint() {
        message.push_str("; hint: ");
        message.push_str(&crate::remote::text(h));
    }
    let body = serde_json::json!({"Code": "CredentialsUnavailable", "Message": message});
    Reply {
        status: 500,
        body: Secret::new(format!("{body}\n")),
    }
}

/// The token file: written private (0600, exclusive, no trailing newline) in awscred's
/// runtime directory; removed when dropped.
struct TokenFile {
    dir: PrivateDir,
    name: String,
}

impl TokenFile {
    fn write(env: &Environment, port: u16, token: &Secret<String>) -> Result<Self> {
        let path = runtime_dir(env)?;
        let dir = PrivateDir::open(&path).map_err(|e| {
            e.context(format!(
                "awscred will not write the endpoint's token file in {}",
                path.display()
            ))
        })?;
        let name = format!("endpoint-{port}.token");
        dir.write_atomic(&name, token.expose().as_bytes(), 0o600)
            .map_err(|e| {
                Error::unexpected(format!(
                    "cannot write the token file in {}",
                    dir.path().display()
                ))
                .caused_by(&e)
            })?;
        Ok(Self { dir, name })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join(&self.name)
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = self.dir.remove(&self.name);
    }
}

/// awscred's runtime directory: `$XDG_RUNTIME_DIR/awscred` where the session has one (a
/// private tmpfs, emptied at logout), else `run` in the cache directory. Either is checked
/// as the cache directory is (the user's, 0700, no symbolic link, trusted ancestors).
pub fn runtime_dir(env: &Environment) -> Result<PathBuf> {
    if cfg!(unix)
        && let Some(x) = env.get("XDG_RUNTIME_DIR")
        && std::path::Path::new(x).is_absolute()
    {
        return Ok(PathBuf::from(x).join("awscred"));
    }
    Ok(env.cache_dir()?.join("run"))
}

/// Accepts connections and starts a thread for each, at most [`MAX_CONNECTIONS`] at once.
struct Accept {
    listener: TcpListener,
    token: Secret<String>,
    jobs: Sender<Msg>,
    slots: Arc<(Mutex<usize>, Condvar)>,
}

/// Frees a connection slot when its thread ends.
struct Slot(Arc<(Mutex<usize>, Condvar)>);

impl Drop for Slot {
    fn drop(&mut self) {
        let (count, freed) = &*self.0;
        let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        freed.notify_one();
    }
}

impl Accept {
    fn run(self) {
        loop {
            {
                let (count, freed) = &*self.slots;
                let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
                while *n >= MAX_CONNECTIONS {
                    n = freed.wait(n).unwrap_or_else(|p| p.into_inner());
                }
                *n += 1;
            }
            let slot = Slot(Arc::clone(&self.slots));
            let Ok((stream, _)) = self.listener.accept() else {
                drop(slot);
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let token = self.token.clone();
            let jobs = self.jobs.clone();
            let _ = std::thread::Builder::new()
                .name("connection".into())
                .stack_size(CONNECTION_STACK)
                .spawn(move || {
                    let _slot = slot;
                    connection(stream, &token, &jobs);
                });
        }
    }
}

/// Serves one connection: one request, one answer, closed.
fn connection(mut stream: TcpStream, token: &Secret<String>, jobs: &Sender<Msg>) {
    let _ = stream.set_write_timeout(Some(WRITE_LIMIT));
    let head = match read_head(&mut stream, Instant::now() + READ_LIMIT) {
        Head::Complete(h) => h,
        Head::TooLarge => {
            respond(&mut stream, &Reply::empty(431));
            return;
        }
        Head::Gone => return,
    };
    let reply = match judge(&head, token) {
        Verdict::Status(s) => Arc::new(Reply::empty(s)),
        Verdict::Answer => {
            let (tx, rx) = mpsc::sync_channel(1);
            if jobs.send(Msg::Answer(tx)).is_err() {
                Arc::new(Reply::empty(503))
            } else {
                rx.recv_timeout(ANSWER_LIMIT)
                    .unwrap_or_else(|_| Arc::new(Reply::empty(503)))
            }
        }
    };
    respond(&mut stream, &reply);
}

/// What reading a request's head gave.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// Request line and headers, up to the blank line.
    Complete(Vec<u8>),
    /// More than [`MAX_REQUEST`] bytes without the blank line.
    TooLarge,
    /// Closed, failed or past the deadline.
    Gone,
}

fn read_head(stream: &mut impl ReadWithDeadline, deadline: Instant) -> Head {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Head::Gone;
        }
        if stream.set_deadline(deadline - now).is_err() {
            return Head::Gone;
        }
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Head::Gone,
            Ok(n) => n,
        };
        let start = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_blank_line(&buf[start..]) {
            let end = start + end;
            if end > MAX_REQUEST {
                return Head::TooLarge;
            }
            buf.truncate(end);
            return Head::Complete(buf);
        }
        if buf.len() > MAX_REQUEST {
            return Head::TooLarge;
        }
    }
}

/// Where the head ends (just past `\r\n\r\n` or `\n\n`), if it does in `buf`.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if buf[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
}

/// A reader whose reads can be bounded in time.
trait ReadWithDeadline: Read {
    fn set_deadline(&mut self, left: Duration) -> std::io::Result<()>;
}

impl ReadWithDeadline for TcpStream {
    fn set_deadline(&mut self, left: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(left.max(Duration::from_millis(1))))
    }
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Answer with credentials.
    Answer,
    /// Answer this status with an empty body.
    Status(u16),
}

/// Judges a request's head: 400 when it is not HTTP, 401 without `Authorization`, 403 with
/// a wrong one (or more than one), 405 for a method other than GET, 404 for another path.
fn judge(head: &[u8], token: &Secret<String>) -> Verdict {
    let Ok(text) = std::str::from_utf8(head) else {
        return Verdict::Status(400);
    };
    let mut lines = text.lines();
    let mut request = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) = (
        request.next(),
        request.next(),
        request.next(),
        request.next(),
    ) else {
        return Verdict::Status(400);
    };
    if !version.starts_with("HTTP/1.") {
        return Verdict::Status(400);
    }
    let mut given = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Verdict::Status(400);
        };
        if name.eq_ignore_ascii_case("authorization") {
            given.push(value.trim_matches([' ', '\t']));
        }
    }
    match given.as_slice() {
        [] => return Verdict::Status(401),
        [one] if same_token(one.as_bytes(), token.expose().as_bytes()) => {}
        _ => return Verdict::Status(403),
    }
    if method != "GET" {
        return Verdict::Status(405);
    }
    if target != PATH {
        return Verdict::Status(404);
    }
    Verdict::Answer
}

/// Compares in constant time: digests of both, every byte looked at, so neither where they
/// differ nor the length shows in the time taken.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    let a = Sha256::digest(given);
    let b = Sha256::digest(expected);
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    }
}

/// The bytes of an answer: no CORS header, never cached, connection closed.
fn response(reply: &Reply) -> Vec<u8> {
    let body = reply.body.expose();
    let mut out = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    if !body.is_empty() {
        out.push_str("Content-Type: application/json\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    out.push_str(body);
    out.into_bytes()
}

/// Writes the answer and closes: first the sending half, then, after reading what the
/// client still sends (at most [`LINGER_BYTES`], for at most [`LINGER`]), the rest, so a
/// client that sent more than was read gets the answer rather than a reset.
fn respond(stream: &mut TcpStream, reply: &Reply) {
    let _ = stream.write_all(&response(reply));
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER));
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut left = LINGER_BYTES;
    while left > 0 && Instant::now() < deadline {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;
    use chrono::TimeZone;

    fn token() -> Secret<String> {
        Secret::new("t0ken".into())
    }

    #[test]
    fn requests_are_judged_token_first() {
        let t = token();
        let ok = b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: t0ken\r\n\r\n";
        assert_eq!(judge(ok, &t), Verdict::Answer);
        let lower = b"GET / HTTP/1.1\r\nauthorization:t0ken\r\n\r\n";
        assert_eq!(judge(lower, &t), Verdict::Answer);
        assert_eq!(
            judge(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &t),
            Verdict::Status(401)
        );
        assert_eq!(
            judge(b"GET / HTTP/1.1\r\nAuthorization: t0ke\r\n\r\n", &t),
            Verdict::Status(403)
        );
        assert_eq!(
            judge(
                b"GET / HTTP/1.1\r\nAuthorization: t0ken\r\nAuthorization: x\r\n\r\n",
                &t
            ),
            Verdict::Status(403),
            "two tokens are one too many"
        );
        assert_eq!(
            judge(b"POST / HTTP/1.1\r\nAuthorization: t0ken\r\n\r\n", &t),
            Verdict::Status(405)
        );
        assert_eq!(
            judge(b"GET /x HTTP/1.1\r\nAuthorization: t0ken\r\n\r\n", &t),
            Verdict::Status(404)
        );
        assert_eq!(
            judge(b"GET /x HTTP/1.1\r\n\r\n", &t),
            Verdict::Status(401),
            "nothing about paths without the token"
        );
        assert_eq!(judge(b"hello\r\n\r\n", &t), Verdict::Status(400));
        assert_eq!(judge(b"GET / SPDY\r\n\r\n", &t), Verdict::Status(400));
        assert_eq!(judge(&[0xff, b'\n', b'\n'], &t), Verdict::Status(400));
    }

    #[test]
    fn tokens_compare_equal_only_when_equal() {
        assert!(same_token(b"abc", b"abc"));
        assert!(!same_token(b"abc", b"abd"));
        assert!(!same_token(b"ab", b"abc"));
        assert!(!same_token(b"", b"abc"));
    }

    struct Drip {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Drip {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    impl ReadWithDeadline for Drip {
        fn set_deadline(&mut self, _left: Duration) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn a_head_ends_at_the_blank_line_even_when_it_arrives_byte_by_byte() {
        let mut d = Drip {
            data: b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest".to_vec(),
            at: 0,
            step: 1,
        };
        assert_eq!(
            read_head(&mut d, deadline()),
            Head::Complete(b"GET / HTTP/1.1\r\nA: b\r\n\r\n".to_vec())
        );
    }

    #[test]
    fn a_head_longer_than_the_cap_is_refused_and_a_closed_one_is_gone() {
        let mut data = b"GET / HTTP/1.1\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'a', MAX_REQUEST * 2));
        let mut d = Drip {
            data,
            at: 0,
            step: 1000,
        };
        assert_eq!(read_head(&mut d, deadline()), Head::TooLarge);
        let mut d = Drip {
            data: b"GET / HTTP/1.1\r\n".to_vec(),
            at: 0,
            step: 1000,
        };
        assert_eq!(read_head(&mut d, deadline()), Head::Gone);
        let mut d = Drip {
            data: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            at: 0,
            step: 1000,
        };
        assert_eq!(
            read_head(&mut d, Instant::now()),
            Head::Gone,
            "past the deadline"
        );
    }

    #[test]
    fn answers_carry_no_cors_header_and_an_empty_body_for_refusals() {
        let text = String::from_utf8(response(&Reply::empty(401))).unwrap();
        assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{text}");
        assert!(
            text.ends_with(
                "Content-Length: 0\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
            ),
            "{text}"
        );
        assert!(!text.to_ascii_lowercase().contains("access-control"));
        let ok = Reply {
            status: 200,
            body: Secret::new("{}\n".into()),
        };
        let text = String::from_utf8(response(&ok)).unwrap();
        assert!(text.contains("Content-Type: application/json\r\n"));
        assert!(text.ends_with("\r\n\r\n{}\n"));
    }

    fn creds(obtained: DateTime<Utc>, lifetime_min: i64) -> CachedCredentials {
        CachedCredentials {
            credentials: Credentials {
                access_key_id: "ASIA".into(),
                secret_access_key: Secret::new("s".into()),
                session_token: Some(Secret::new("t".into())),
                expiration: Some(obtained + chrono::Duration::minutes(lifetime_min)),
            },
            obtained_at: obtained,
            account_id: None,
        }
    }

    #[test]
    fn the_window_is_at_least_fifteen_minutes() {
        assert_eq!(window(Duration::from_secs(60)), SERVE_WINDOW);
        assert_eq!(window(Duration::from_secs(3600)), Duration::from_secs(3600));
    }

    #[test]
    fn a_refresh_ahead_is_due_when_the_credentials_reach_the_window() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let c = creds(t0, 60);
        assert_eq!(
            due(&c, t0, SERVE_WINDOW),
            Some(Duration::from_secs(45 * 60 + 1)),
            "an hour's credentials: refreshed with 15 minutes left"
        );
        assert_eq!(
            due(&c, t0 + chrono::Duration::minutes(46), SERVE_WINDOW),
            None
        );
        let short = creds(t0, 10);
        assert_eq!(
            due(&short, t0, SERVE_WINDOW),
            Some(Duration::from_secs(10 * 60 - MIN_USEFUL.as_secs() + 1)),
            "a source that issues 10 minutes: kept while they are still useful"
        );
        let keys = CachedCredentials {
            credentials: Credentials {
                expiration: None,
                ..c.credentials.clone()
            },
            ..c
        };
        assert_eq!(due(&keys, t0, SERVE_WINDOW), None);
    }

    #[test]
    fn an_error_answer_carries_the_hint_in_its_message() {
        let e = Error::user("no sign-in").with_hint("run awscred login --profile p");
        let r = error_reply(&e);
        assert_eq!(r.status, 500);
        let v: serde_json::Value = serde_json::from_str(r.body.expose()).unwrap();
        assert_eq!(v["Code"], "CredentialsUnavailable");
        assert_eq!(
            v["Message"],
            "no sign-in; hint: run awscred login --profile p"
        );
    }

    #[test]
    fn the_runtime_directory_is_the_sessions_or_beside_the_cache() {
        let env = Environment::from_pairs([
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
            ("AWSCRED_CACHE_DIR", "/c/awscred"),
        ]);
        if cfg!(unix) {
            assert_eq!(
                runtime_dir(&env).unwrap(),
                PathBuf::from("/run/user/1000/awscred")
            );
        }
        let env = Environment::from_pairs([
            ("XDG_RUNTIME_DIR", "relative"),
            ("AWSCRED_CACHE_DIR", "/c/awscred"),
        ]);
        assert_eq!(runtime_dir(&env).unwrap(), PathBuf::from("/c/awscred/run"));
    }
}
