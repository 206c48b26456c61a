//! Interactive sign-in: which flow to use, and the flows themselves. None reads stdin.
//!
//! [`choose`] decides between the browser (authorization code + PKCE on a loopback
//! redirect) and the device-code flow from the profile, the flags, and what this machine
//! can do: over SSH, in WSL, in a container, or without a display, a browser cannot open
//! here, so the device flow is the default there.

pub mod aws_signin;
pub mod browser;
pub mod device;
pub mod loopback;
pub mod oidc;
pub mod pkce;

use crate::config::LoginFlow;
use crate::env::Environment;
use crate::net::Net;
use crate::ui::Sink;
use std::time::Duration;

/// Whether and how this invocation may sign the user in.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// A sign-in may be started at all.
    pub allowed: bool,
    /// Someone reads the instructions (a terminal, or `awscred login` under Claude Code),
    /// so the device-code flow can work.
    pub attended: bool,
    /// A person at a terminal can type an answer (an MFA code) on `/dev/tty`.
    pub can_prompt: bool,
    /// The flow asked for (flags, then `awscred_login`).
    pub flow: LoginFlow,
    /// Launch a browser for the browser flow (`--no-browser` prints the URL only).
    pub open_browser: bool,
    /// Fixed loopback port for the browser flow (0 = any free port).
    pub redirect_port: u16,
    /// Where sign-in instructions go.
    pub sink: Sink,
    /// Longest a sign-in may take.
    pub timeout: Duration,
    /// Sign in again even if a token is cached (`login --force`).
    pub force: bool,
}

/// How long `awscred login` may take when no terminal is attached (Claude Code kills
/// `awsAuthRefresh` after 3 minutes).
pub const LOGIN_TIMEOUT_UNATTENDED: Duration = Duration::from_secs(170);
/// How long a sign-in may take with a terminal attached (the device code's usual lifetime).
pub const LOGIN_TIMEOUT_ATTENDED: Duration = Duration::from_secs(600);
/// How long a non-interactive command waits for a peer's sign-in.
pub const PEER_WAIT: Duration = Duration::from_secs(120);

impl LoginPolicy {
    /// The rules of commands that print or pass on credentials: a person at a terminal can
    /// do any sign-in; under Claude Code or an SDK nobody sees a prompt, so only a browser
    /// sign-in (where a browser can open) may run, bounded.
    pub fn for_credentials(settings: &crate::config::Settings) -> Self {
        let attended = crate::ui::stderr_is_terminal();
        Self {
            allowed: true,
            attended,
            can_prompt: crate::ui::can_prompt(),
            flow: settings.login,
            open_browser: true,
            redirect_port: settings.redirect_port,
            sink: Sink::Stderr,
            timeout: if attended {
                LOGIN_TIMEOUT_ATTENDED
            } else {
                settings.login_timeout
            },
            force: false,
        }
    }

    /// The rules of commands that must never sign in (status, doctor, logout).
    pub fn silent() -> Self {
        Self {
            allowed: false,
            attended: false,
            can_prompt: false,
            flow: LoginFlow::Auto,
            open_browser: false,
            redirect_port: 0,
            sink: Sink::Stderr,
            timeout: PEER_WAIT,
            force: false,
        }
    }
}

/// What a sign-in flow needs from its caller: the environment, the network, the rules and
/// the profile it signs in for. Flows return what the provider answered; caching it is the
/// caller's ([`crate::source`]).
pub struct Ctx<'a> {
    /// Environment snapshot.
    pub env: &'a Environment,
    /// HTTP plumbing.
    pub net: &'a Net,
    /// Sign-in rules.
    pub policy: &'a LoginPolicy,
    /// The profile asked for, for messages and hints.
    pub profile: &'a str,
}

impl Ctx<'_> {
    /// The hint that tells the user how to sign in.
    pub fn hint(&self) -> String {
        format!("run awscred login --profile {}", self.profile)
    }

    /// The hint after a sign-in that was not finished in time. Under `awscred login` that
    /// command is what the user just ran: say how to get more time instead.
    pub fn again_hint(&self) -> String {
        if self.policy.sink == Sink::Stdout {
            format!(
                "finish the sign-in within {} when you run it again, or give it longer: awscred login --profile {} --timeout 600",
                device::human(self.policy.timeout),
                self.profile
            )
        } else {
            self.hint()
        }
    }
}

/// A sign-in flow to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// OAuth device authorization: show a URL and a code.
    Device,
    /// Authorization code + PKCE through a browser and a loopback listener.
    Browser,
}

/// The `BROWSER` value when it can open something: `true`, `false` and an empty value (Claude
/// Code sets `BROWSER=true` for its subprocesses on WSL) count as no browser.
pub fn usable_browser(env: &Environment) -> Option<&str> {
    env.get("BROWSER")
        .map(str::trim)
        .filter(|b| !b.is_empty() && !matches!(*b, "true" | "false" | ":"))
}

/// Whether this runs in a VS Code remote (Remote-SSH, Dev Containers) or a Codespace,
/// whose `BROWSER` helper opens the local machine's browser and forwards loopback ports.
fn vscode_remote(env: &Environment) -> bool {
    ["VSCODE_IPC_HOOK_CLI", "REMOTE_CONTAINERS", "CODESPACES"]
        .iter()
        .any(|v| env.get(v).is_some())
}

/// Whether `program` is on `PATH`.
pub fn on_path(env: &Environment, program: &str, exists: &dyn Fn(&str) -> bool) -> bool {
    let sep = if cfg!(windows) { ';' } else { ':' };
    env.get("PATH").is_some_and(|p| {
        p.split(sep)
            .filter(|d| !d.is_empty())
            .any(|d| exists(&format!("{}/{program}", d.trim_end_matches('/'))))
    })
}

/// Why no browser can open here, or `None` when one can. An explicit, usable `BROWSER`
/// wins over container and WSL detection (VS Code and Codespaces set it to a helper that
/// opens the host's browser); over plain SSH it does not (dotfiles often carry
/// `BROWSER=firefox`, and the loopback callback could never arrive), except in a VS Code
/// remote. On WSL without `BROWSER`, `wslview` or `explorer.exe` opens the Windows browser.
pub fn headless_reason(env: &Environment, exists: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    let browser = usable_browser(env).is_some();
    if env.get("SSH_CONNECTION").is_some()
        || env.get("SSH_CLIENT").is_some()
        || env.get("SSH_TTY").is_some()
    {
        return (!(browser && vscode_remote(env))).then_some("this is an SSH session");
    }
    if env.get("WSL_DISTRO_NAME").is_some() || env.get("WSL_INTEROP").is_some() {
        let launcher =
            browser || on_path(env, "wslview", exists) || on_path(env, "explorer.exe", exists);
        return (!launcher)
            .then_some("this is WSL and neither wslview nor explorer.exe is on PATH");
    }
    if exists("/.dockerenv")
        || exists("/run/.containerenv")
        || env.get("KUBERNETES_SERVICE_HOST").is_some()
    {
        return (!browser).then_some("this is a container");
    }
    if browser {
        return None;
    }
    if cfg!(any(target_os = "macos", windows)) {
        return None;
    }
    if env.get("DISPLAY").is_none() && env.get("WAYLAND_DISPLAY").is_none() {
        return Some("there is no display (DISPLAY and WAYLAND_DISPLAY are unset)");
    }
    None
}

/// Picks the flow for this invocation, or says why none may run.
pub fn choose(policy: &LoginPolicy, env: &Environment) -> Result<Flow, String> {
    if !policy.allowed {
        return Err("this command does not sign in".into());
    }
    let headless = headless_reason(env, &|p| std::path::Path::new(p).exists());
    match policy.flow {
        LoginFlow::Device if policy.attended => Ok(Flow::Device),
        LoginFlow::Device => Err(
            "the device-code flow needs someone to read the code, and no terminal is attached"
                .into(),
        ),
        LoginFlow::Browser => Ok(Flow::Browser),
        LoginFlow::Auto => match headless {
            None => Ok(Flow::Browser),
            Some(_) if policy.attended => Ok(Flow::Device),
            Some(why) => Err(format!(
                "no terminal is attached and no browser can open ({why})"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_flows_use_protocols_never_the_sources() {
        // `source` uses `login` through `Ctx` and what the flows return; the other way
        // round would be a cycle.
        for (name, text) in [
            ("mod.rs", include_str!("mod.rs")),
            ("browser.rs", include_str!("browser.rs")),
            ("device.rs", include_str!("device.rs")),
            ("loopback.rs", include_str!("loopback.rs")),
            ("oidc.rs", include_str!("oidc.rs")),
            ("pkce.rs", include_str!("pkce.rs")),
        ] {
            let uses_source = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .any(|l| l.contains(concat!("crate::", "source")));
            assert!(!uses_source, "login/{name} reaches into source");
        }
    }
    use crate::ui::Sink;
    use std::time::Duration;

    fn policy(flow: LoginFlow, attended: bool) -> LoginPolicy {
        LoginPolicy {
            allowed: true,
            attended,
            can_prompt: false,
            flow,
            open_browser: true,
            redirect_port: 0,
            sink: Sink::Stderr,
            timeout: Duration::from_secs(1),
            force: false,
        }
    }

    fn none(_: &str) -> bool {
        false
    }

    #[test]
    fn headless_detection() {
        let desktop = Environment::from_pairs([("DISPLAY", ":0")]);
        assert_eq!(headless_reason(&desktop, &none), None);
        let ssh = Environment::from_pairs([("DISPLAY", ":0"), ("SSH_CONNECTION", "1 2 3 4")]);
        assert_eq!(headless_reason(&ssh, &none), Some("this is an SSH session"));
        let wsl = Environment::from_pairs([("WSL_DISTRO_NAME", "Ubuntu")]);
        assert_eq!(
            headless_reason(&wsl, &none),
            Some("this is WSL and neither wslview nor explorer.exe is on PATH")
        );
        assert_eq!(
            headless_reason(&desktop, &|p| p == "/.dockerenv"),
            Some("this is a container")
        );
        let browser = Environment::from_pairs([("BROWSER", "firefox")]);
        assert_eq!(headless_reason(&browser, &none), None);
        if cfg!(target_os = "linux") {
            let bare = Environment::from_pairs([]);
            assert!(
                headless_reason(&bare, &none)
                    .unwrap()
                    .contains("no display")
            );
        }
    }

    #[test]
    fn an_explicit_browser_wins_over_containers_and_wsl_but_not_plain_ssh() {
        let docker = |p: &str| p == "/.dockerenv";
        let dev_container = Environment::from_pairs([
            ("BROWSER", "/vscode/bin/helpers/browser.sh"),
            ("REMOTE_CONTAINERS", "true"),
            ("DISPLAY", ":1"),
        ]);
        assert_eq!(headless_reason(&dev_container, &docker), None);
        let plain_container = Environment::from_pairs([("DISPLAY", ":1")]);
        assert_eq!(
            headless_reason(&plain_container, &docker),
            Some("this is a container")
        );
        for fake in ["true", "false", "", " "] {
            let claude_on_wsl =
                Environment::from_pairs([("BROWSER", fake), ("WSL_DISTRO_NAME", "U")]);
            assert!(headless_reason(&claude_on_wsl, &none).is_some(), "{fake:?}");
        }
        let wsl_with_wslview = Environment::from_pairs([
            ("BROWSER", "true"),
            ("WSL_DISTRO_NAME", "Ubuntu"),
            ("PATH", "/usr/bin:/mnt/c/Windows"),
        ]);
        assert_eq!(
            headless_reason(&wsl_with_wslview, &|p| p == "/mnt/c/Windows/explorer.exe"),
            None
        );
        let ssh_with_dotfiles = Environment::from_pairs([
            ("BROWSER", "firefox"),
            ("SSH_CONNECTION", "1 2 3 4"),
            ("DISPLAY", ":0"),
        ]);
        assert_eq!(
            headless_reason(&ssh_with_dotfiles, &none),
            Some("this is an SSH session")
        );
        let remote_ssh = Environment::from_pairs([
            ("BROWSER", "/home/u/.vscode-server/bin/x/helpers/browser.sh"),
            ("SSH_CONNECTION", "1 2 3 4"),
            ("VSCODE_IPC_HOOK_CLI", "/tmp/vscode-ipc.sock"),
        ]);
        assert_eq!(headless_reason(&remote_ssh, &none), None);
        assert_eq!(
            usable_browser(&Environment::from_pairs([("BROWSER", "true")])),
            None
        );
    }

    #[test]
    fn flow_choice() {
        let desktop = Environment::from_pairs([("BROWSER", "x")]);
        let ssh = Environment::from_pairs([("SSH_TTY", "/dev/pts/1")]);
        // choose() also looks at the real filesystem for container markers, so pin the
        // outcomes that do not depend on it.
        assert_eq!(
            choose(&policy(LoginFlow::Device, true), &desktop),
            Ok(Flow::Device)
        );
        assert!(choose(&policy(LoginFlow::Device, false), &desktop).is_err());
        assert_eq!(
            choose(&policy(LoginFlow::Browser, false), &ssh),
            Ok(Flow::Browser)
        );
        assert_eq!(
            choose(&policy(LoginFlow::Auto, true), &ssh),
            Ok(Flow::Device)
        );
        let e = choose(&policy(LoginFlow::Auto, false), &ssh).unwrap_err();
        assert!(e.contains("SSH"), "{e}");
        let mut p = policy(LoginFlow::Auto, true);
        p.allowed = false;
        assert!(choose(&p, &desktop).is_err());
    }
}
