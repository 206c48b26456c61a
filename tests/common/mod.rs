//! Test harness: a private HOME with an AWS config, the emulator, and helpers that run the
//! built awscred binary exactly as users and their tools do.

#![allow(dead_code)]

use awscred_emulator::{Emulator, Settings};
use std::io::{BufRead, BufReader};
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const ACCOUNT: &str = "111122223333";
pub const ROLE: &str = "BedrockUser";

/// Whether tests that need an outside part (keyring, awscli) must fail instead of skip.
pub fn require_all() -> bool {
    std::env::var("AWSCRED_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Skips (or, under CI, fails) a test whose outside part is missing.
pub fn missing(what: &str) {
    if require_all() {
        panic!("{what} is required (AWSCRED_TEST_REQUIRE_ALL=1) but not available");
    }
    eprintln!("skipped: {what} not available");
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub emu: Emulator,
    pub store: &'static str,
    extra_env: Vec<(String, String)>,
    run_as: Option<(u32, PathBuf)>,
}

pub const CONFIG: &str = "\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile bedrock]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = BedrockUser
region = us-east-1

[profile admin]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile = bedrock
";

impl Harness {
    pub fn new(store: &'static str, settings: Settings) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        let h = Self {
            emu: Emulator::start(settings).expect("emulator"),
            dir,
            store,
            extra_env: Vec::new(),
            run_as: None,
        };
        h.write_config(CONFIG);
        h
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.home().join(".aws/config")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.home().join(".cache/awscred")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn set_env(&mut self, k: &str, v: &str) {
        self.extra_env.push((k.to_string(), v.to_string()));
    }

    /// From now on runs awscred as the unprivileged `uid` (group `uid`, no other groups),
    /// with HOME and everything in it given to that user. Permission bits do not stop root,
    /// which CI runs as, so tests of what another local user can do run awscred this way.
    /// Returns false (after [`missing`]) when this process cannot switch users.
    #[cfg(unix)]
    pub fn run_as(&mut self, uid: u32) -> bool {
        if !rustix::process::geteuid().is_root() {
            missing("root (to run awscred as another uid)");
            return false;
        }
        if !Command::new("setpriv")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            missing("setpriv (util-linux)");
            return false;
        }
        chown_tree(self.home(), uid);
        // The built binary may sit under a directory only root can enter (a checkout in
        // /root): then run a link or copy of it from a root-owned directory anyone can enter.
        let built = PathBuf::from(env!("CARGO_BIN_EXE_awscred"));
        let reachable = built.ancestors().skip(1).all(|a| {
            std::fs::metadata(a).is_ok_and(|m| {
                std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o001 != 0
            })
        });
        let bin = if reachable {
            built
        } else {
            let dir = self.home().join(".bin");
            std::fs::create_dir(&dir).unwrap();
            let bin = dir.join("awscred");
            if std::fs::hard_link(&built, &bin).is_err() {
                std::fs::copy(&built, &bin).unwrap();
            }
            bin
        };
        self.run_as = Some((uid, bin));
        true
    }

    /// The environment a user's shell would give awscred.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = match &self.run_as {
            Some((uid, bin)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={uid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(bin);
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_awscred")),
        };
        c.args(args).env_clear();
        for k in [
            "PATH",
            "DBUS_SESSION_BUS_ADDRESS",
            "XDG_RUNTIME_DIR",
            "USER",
        ] {
            if let Ok(v) = std::env::var(k) {
                c.env(k, v);
            }
        }
        c.env("HOME", self.home())
            .env("XDG_CACHE_HOME", self.home().join(".cache"))
            .env("AWS_ENDPOINT_URL", self.emu.url())
            .env("AWSCRED_CACHE", self.store);
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c.stdin(Stdio::null());
        c
    }

    /// Runs with stdout and stderr captured (no terminal, as under Claude Code or an SDK).
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run awscred")
    }

    /// Runs with stderr on a pseudo-terminal (a person at a shell), stdout captured.
    #[cfg(unix)]
    pub fn spawn_attended(&self, args: &[&str]) -> (Child, OwnedFd) {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(pty.slave))
            .spawn()
            .expect("spawn");
        (child, pty.master)
    }

    /// Starts `awscred login` with stdout piped, returns the child and a channel of its
    /// stdout lines.
    pub fn spawn_login(&self, extra: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut args = vec!["login", "--profile", "bedrock"];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn login");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (child, rx)
    }

    /// Signs in through `awscred login`, approving the device code at the emulator the way
    /// a person would in the browser. Returns everything login printed on stdout.
    pub fn login(&self) -> String {
        let (mut child, rx) = self.spawn_login(&["--device-code"]);
        let mut seen = String::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("login output");
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("confirm the code") {
                break;
            }
        }
        assert_eq!(
            self.emu.approve_all(),
            1,
            "exactly one device code to approve"
        );
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            seen.push_str(&line);
            seen.push('\n');
        }
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "login failed: {err}\n{seen}");
        seen
    }

    pub fn total_requests(&self) -> u64 {
        self.emu
            .counters()
            .iter()
            .filter(|(k, _)| !k.contains(':'))
            .map(|(_, v)| v)
            .sum()
    }

    /// Every file under HOME, for leak checks.
    pub fn all_files(&self) -> Vec<PathBuf> {
        fn walk(p: &Path, out: &mut Vec<PathBuf>) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out)
                    } else {
                        out.push(p)
                    }
                }
            }
        }
        let mut v = Vec::new();
        walk(self.home(), &mut v);
        v
    }
}

/// Gives `path` and everything under it (links themselves, not their targets) to `uid`.
#[cfg(unix)]
pub fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).expect("chown");
    if !std::fs::symlink_metadata(path).unwrap().is_dir() {
        return;
    }
    for e in std::fs::read_dir(path).unwrap().flatten() {
        chown_tree(&e.path(), uid);
    }
}

/// The AWS CLI (botocore) to test with: AWSCRED_TEST_AWS_CLI, else target/venv/bin/aws.
pub fn aws_cli() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("AWSCRED_TEST_AWS_CLI") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/aws");
    venv.exists().then_some(venv)
}

/// Gives `c` the environment an AWS tool sees in the harness: nothing inherited but PATH,
/// the harness's home, config and credentials files, the emulator as every endpoint, and
/// no instance metadata.
pub fn aws_env<'c>(c: &'c mut Command, h: &Harness) -> &'c mut Command {
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", h.home())
        .env("AWS_CONFIG_FILE", h.config_path())
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            h.home().join(".aws/credentials"),
        )
        .env("AWS_ENDPOINT_URL", h.emu.url())
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// `aws args..` in the harness's environment ([`aws_env`]).
pub fn aws_command(aws: &Path, h: &Harness, args: &[&str]) -> Command {
    let mut c = Command::new(aws);
    c.args(args);
    aws_env(&mut c, h);
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Checks the exact shape of `export` output and returns the inner credentials object.
pub fn parse_export(text: &str) -> serde_json::Value {
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "one line: {text:?}"
    );
    let re_order = [
        "{\"Credentials\":{\"AccessKeyId\":\"",
        "\",\"SecretAccessKey\":\"",
        "\",\"SessionToken\":\"",
        "\",\"Expiration\":\"",
    ];
    let mut at = 0;
    for piece in re_order {
        let i = text[at..]
            .find(piece)
            .unwrap_or_else(|| panic!("{piece} missing or out of order in {text}"));
        at += i + piece.len();
    }
    let v: serde_json::Value = serde_json::from_str(text).expect("json");
    let c = v["Credentials"].clone();
    let exp = c["Expiration"].as_str().unwrap();
    assert_eq!(exp.len(), 20, "{exp}");
    assert!(exp.ends_with('Z'));
    chrono::DateTime::parse_from_rfc3339(exp).expect("rfc3339");
    for k in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
        assert!(!c[k].as_str().unwrap().is_empty(), "{k} empty");
    }
    c
}
