//! Every environment variable awscred reads, and the snapshot of them it works from.
//!
//! Nothing outside this module calls `std::env::var`: commands receive an [`Environment`],
//! so tests build one from a map and the whole program sees one consistent view.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// Path of the AWS config file (default `~/.aws/config`).
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// Path of the shared credentials file (default `~/.aws/credentials`).
pub const AWS_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
/// Profile used when `--profile` is not given.
pub const AWS_PROFILE: &str = "AWS_PROFILE";
/// Region for STS calls when the profile names none.
pub const AWS_REGION: &str = "AWS_REGION";
/// Older spelling of [`AWS_REGION`].
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// Endpoint for every AWS service (private networks, the local emulator).
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// Endpoint for IAM Identity Center OIDC.
pub const AWS_ENDPOINT_URL_SSO_OIDC: &str = "AWS_ENDPOINT_URL_SSO_OIDC";
/// Endpoint for the IAM Identity Center portal.
pub const AWS_ENDPOINT_URL_SSO: &str = "AWS_ENDPOINT_URL_SSO";
/// Endpoint for Cognito identity pools.
pub const AWS_ENDPOINT_URL_COGNITO_IDENTITY: &str = "AWS_ENDPOINT_URL_COGNITO_IDENTITY";
/// Endpoint for STS.
pub const AWS_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
/// Endpoint for AWS Sign-In (the console federation endpoint, `/federation`, and the
/// OAuth endpoints of `aws login` console sessions).
pub const AWS_ENDPOINT_URL_SIGNIN: &str = "AWS_ENDPOINT_URL_SIGNIN";
/// Endpoint for Bedrock's control plane (ListInferenceProfiles).
pub const AWS_ENDPOINT_URL_BEDROCK: &str = "AWS_ENDPOINT_URL_BEDROCK";
/// Endpoint for Bedrock's runtime (InvokeModel).
pub const AWS_ENDPOINT_URL_BEDROCK_RUNTIME: &str = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME";
/// Claude Code's Bedrock endpoint: its control-plane and runtime clients both use it,
/// ahead of the `AWS_ENDPOINT_URL*` variables.
pub const ANTHROPIC_BEDROCK_BASE_URL: &str = "ANTHROPIC_BEDROCK_BASE_URL";
/// Directory of the AWS CLI's login cache (`~/.aws/login/cache` by default).
pub const AWS_LOGIN_CACHE_DIRECTORY: &str = "AWS_LOGIN_CACHE_DIRECTORY";
/// Web identity token file for AssumeRoleWithWebIdentity.
pub const AWS_WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// Role for the environment's web identity.
pub const AWS_ROLE_ARN: &str = "AWS_ROLE_ARN";
/// Session name for the environment's web identity.
pub const AWS_ROLE_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";
/// Access key id for `credential_source = Environment`.
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// Secret key for `credential_source = Environment`.
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Session token for `credential_source = Environment`.
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// Store choice: `auto`, `secret-service`, `keychain`, `wincred`, `keyutils`, `file`.
pub const AWSCRED_CACHE: &str = "AWSCRED_CACHE";
/// Directory of the file store and of lock files (default: the platform cache dir).
pub const AWSCRED_CACHE_DIR: &str = "AWSCRED_CACHE_DIR";
/// Read and attempt timeout of AWS requests, in seconds.
pub const AWSCRED_HTTP_TIMEOUT: &str = "AWSCRED_HTTP_TIMEOUT";
/// Log level for stderr: `error`, `warn`, `info`, `debug`.
pub const AWSCRED_LOG: &str = "AWSCRED_LOG";
/// `XDG_CACHE_HOME`, honoured on every Unix.
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// `XDG_STATE_HOME`: where backups of changed settings go on Linux and the BSDs.
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
/// Windows per-user local application data (backups of changed settings).
pub const LOCALAPPDATA: &str = "LOCALAPPDATA";
/// Why Claude Desktop runs its credential helper (`interactive`, `mid-session-refresh`,
/// `scheduled-task`, `setup-test`, `background`): only `interactive` may sign in.
pub const CLAUDE_HELPER_CONTEXT: &str = "CLAUDE_HELPER_CONTEXT";
/// Home directory.
pub const HOME: &str = "HOME";
/// Windows home directory.
pub const USERPROFILE: &str = "USERPROFILE";

/// Longest `AWSCRED_HTTP_TIMEOUT` accepted.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(3600);

/// A snapshot of the environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
    /// Windows rules: names are case-insensitive (`Path` is `PATH`) and the home directory
    /// is `USERPROFILE`.
    windows: bool,
}

impl Environment {
    /// Reads the process environment (non-UTF-8 values are skipped).
    pub fn from_process() -> Self {
        Self::with_rules(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            cfg!(windows),
        )
    }

    /// Builds an environment from pairs; for tests.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::with_rules(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
            cfg!(windows),
        )
    }

    /// Builds an environment with Windows rules or Unix rules, whatever this platform is
    /// (so both are tested everywhere).
    pub fn with_rules(pairs: impl IntoIterator<Item = (String, String)>, windows: bool) -> Self {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| (if windows { k.to_ascii_uppercase() } else { k }, v))
            .collect();
        Self { vars, windows }
    }

    /// A variable's value; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        let value = if self.windows {
            self.vars.get(&name.to_ascii_uppercase())
        } else {
            self.vars.get(name)
        };
        value.map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The home directory: `HOME` on Unix; on Windows `USERPROFILE`, as Claude Code
    /// (`os.homedir()`) and the AWS CLI use, never a stray `HOME` set by Git Bash or MSYS.
    pub fn home(&self) -> Option<PathBuf> {
        let (first, second) = if self.windows {
            (USERPROFILE, None)
        } else {
            (HOME, Some(USERPROFILE))
        };
        self.get(first)
            .or_else(|| second.and_then(|s| self.get(s)))
            .map(PathBuf::from)
            .or_else(dirs::home_dir)
    }

    /// The AWS config file.
    pub fn config_file(&self) -> PathBuf {
        self.aws_file(AWS_CONFIG_FILE, "config")
    }

    /// The shared credentials file.
    pub fn credentials_file(&self) -> PathBuf {
        self.aws_file(AWS_SHARED_CREDENTIALS_FILE, "credentials")
    }

    fn aws_file(&self, var: &str, name: &str) -> PathBuf {
        match self.get(var) {
            Some(p) => self.expand_home(p),
            None => self.home().unwrap_or_default().join(".aws").join(name),
        }
    }

    /// `p` with a leading `~` made the home directory.
    pub fn expand_home(&self, p: &str) -> PathBuf {
        match p.strip_prefix("~/").or_else(|| p.strip_prefix("~\\")) {
            Some(rest) => self.home().unwrap_or_default().join(rest),
            None => PathBuf::from(p),
        }
    }

    /// Where the file store and the lock files live: `AWSCRED_CACHE_DIR`, else the user's
    /// cache directory. Never a shared temporary directory, where another user could have
    /// made the name first.
    pub fn cache_dir(&self) -> crate::error::Result<PathBuf> {
        if let Some(d) = self.get(AWSCRED_CACHE_DIR) {
            return Ok(self.expand_home(d));
        }
        if cfg!(unix)
            && let Some(x) = self.get(XDG_CACHE_HOME)
        {
            return Ok(PathBuf::from(x).join("awscred"));
        }
        if cfg!(target_os = "linux")
            && let Some(h) = self.home()
        {
            return Ok(h.join(".cache").join("awscred"));
        }
        dirs::cache_dir()
            .or_else(|| self.home().map(|h| h.join(".cache")))
            .map(|d| d.join("awscred"))
            .ok_or_else(|| {
                crate::error::Error::user("awscred finds no home directory for its cache")
                    .with_hint("set HOME, or AWSCRED_CACHE_DIR to a private directory of yours")
            })
    }

    /// Checks every `AWS_ENDPOINT_URL*` variable before any request is sent: a value without
    /// `http://` or `https://` and a host (`localhost:4566` is an easy typo) is refused,
    /// naming the variable, instead of reaching the HTTP client.
    pub fn check_endpoint_urls(&self) -> crate::error::Result<()> {
        let mut names: Vec<&String> = self
            .vars
            .keys()
            .filter(|k| k.starts_with(AWS_ENDPOINT_URL))
            .collect();
        names.sort();
        for name in names {
            let Some(value) = self.get(name) else {
                continue;
            };
            if let Err(why) = check_endpoint_url(value) {
                let shown = crate::remote::url(value);
                return Err(crate::error::Error::user(format!(
                    "{name} is `{shown}`, which {why}"
                ))
                .with_hint(format!(
                    "set {name} to a URL such as http://{shown} or https://{shown}, or unset it"
                )));
            }
        }
        Ok(())
    }

    /// `AWSCRED_HTTP_TIMEOUT` in seconds (fractions allowed), if set: more than 0 and at
    /// most [`MAX_HTTP_TIMEOUT`]; anything else is an error naming the variable.
    pub fn http_timeout(&self) -> crate::error::Result<Option<Duration>> {
        let Some(v) = self.get(AWSCRED_HTTP_TIMEOUT) else {
            return Ok(None);
        };
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .filter(|d| *d <= MAX_HTTP_TIMEOUT)
            .map(Some)
            .ok_or_else(|| {
                crate::error::Error::user(format!(
                    "{AWSCRED_HTTP_TIMEOUT} = `{}` is not a number of seconds from 0 to {}",
                    crate::remote::text(v),
                    MAX_HTTP_TIMEOUT.as_secs()
                ))
                .with_hint(format!("set {AWSCRED_HTTP_TIMEOUT}=30, or unset it"))
            })
    }

    /// awscred's state directory, where backups of the files it changes go:
    /// `$XDG_STATE_HOME/awscred` (else `~/.local/state/awscred`) on Linux and the BSDs,
    /// `~/Library/Application Support/awscred` on macOS, `%LOCALAPPDATA%\awscred` on Windows.
    pub fn state_dir(&self) -> Option<PathBuf> {
        self.state_dir_on(std::env::consts::OS)
    }

    fn state_dir_on(&self, os: &str) -> Option<PathBuf> {
        let dir = match os {
            "windows" => self
                .get(LOCALAPPDATA)
                .map(PathBuf::from)
                .or_else(dirs::data_local_dir)?,
            "macos" => self.home()?.join("Library").join("Application Support"),
            _ => match self.get(XDG_STATE_HOME).map(PathBuf::from) {
                // The XDG spec says to ignore a relative path.
                Some(x) if x.is_absolute() => x,
                _ => self.home()?.join(".local").join("state"),
            },
        };
        Some(dir.join("awscred"))
    }

    /// The endpoint override for a service, most specific first.
    pub fn endpoint_url(&self, service_var: &str) -> Option<String> {
        self.get(service_var)
            .or_else(|| self.get(AWS_ENDPOINT_URL))
            .map(|s| s.trim_end_matches('/').to_string())
    }
}

/// Why an endpoint override cannot be used, if it cannot.
fn check_endpoint_url(value: &str) -> std::result::Result<(), &'static str> {
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or("does not start with http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') {
        return Err("names no host");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains spaces or control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names_ignore_case_and_home_is_userprofile() {
        let pairs = || {
            [
                ("Path", "C:\\bin"),
                ("HOME", "/c/Users/git-bash"),
                ("USERPROFILE", "C:\\Users\\ada"),
                ("aws_profile", "dev"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        };
        let w = Environment::with_rules(pairs(), true);
        assert_eq!(w.get("PATH"), Some("C:\\bin"));
        assert_eq!(w.get(AWS_PROFILE), Some("dev"));
        assert_eq!(w.home(), Some(PathBuf::from("C:\\Users\\ada")));
        let u = Environment::with_rules(pairs(), false);
        assert_eq!(u.get("PATH"), None);
        assert_eq!(u.get(AWS_PROFILE), None);
        assert_eq!(u.home(), Some(PathBuf::from("/c/Users/git-bash")));
    }

    #[test]
    fn http_timeout_is_checked_not_trusted() {
        let t = |v: &str| Environment::from_pairs([("AWSCRED_HTTP_TIMEOUT", v)]).http_timeout();
        assert_eq!(t("1.5").unwrap(), Some(Duration::from_millis(1500)));
        assert_eq!(t("3600").unwrap(), Some(Duration::from_secs(3600)));
        assert_eq!(Environment::default().http_timeout().unwrap(), None);
        for bad in ["1e300", "inf", "NaN", "-1", "0", "3601", "soon", "1e20"] {
            let e = t(bad).expect_err(bad);
            assert!(
                e.message().contains("AWSCRED_HTTP_TIMEOUT"),
                "{}",
                e.message()
            );
            assert_eq!(e.exit_code(), 1);
        }
    }

    #[test]
    fn endpoint_overrides_need_a_scheme_and_a_host() {
        let ok = Environment::from_pairs([
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/"),
            ("AWS_ENDPOINT_URL_STS", "HTTPS://sts.example.com"),
        ]);
        assert!(ok.check_endpoint_urls().is_ok());
        for (name, bad) in [
            ("AWS_ENDPOINT_URL", "localhost:4566"),
            ("AWS_ENDPOINT_URL_SSO_OIDC", "https://"),
            ("AWS_ENDPOINT_URL_STS", "ftp://x"),
            ("AWS_ENDPOINT_URL_SSO", "http://:80"),
            ("AWS_ENDPOINT_URL_SSO", "http://a b"),
        ] {
            let e = Environment::from_pairs([(name, bad)])
                .check_endpoint_urls()
                .expect_err(bad);
            assert!(e.message().starts_with(name), "{}", e.message());
            assert_eq!(e.exit_code(), 1);
            assert!(e.hint().is_some_and(|h| h.contains(name)));
        }
        let e = Environment::from_pairs([("AWS_ENDPOINT_URL", "user:pw@host:1?token=abc")])
            .check_endpoint_urls()
            .expect_err("no scheme");
        assert!(!e.report().contains("token=abc"), "{}", e.report());
    }

    #[test]
    fn files_follow_overrides_and_home() {
        let e = Environment::from_pairs([("HOME", "/h"), ("AWS_CONFIG_FILE", "~/cfg")]);
        assert_eq!(e.config_file(), PathBuf::from("/h/cfg"));
        assert_eq!(e.credentials_file(), PathBuf::from("/h/.aws/credentials"));
    }

    #[test]
    fn endpoint_specific_beats_generic() {
        let e = Environment::from_pairs([
            ("AWS_ENDPOINT_URL", "http://a/"),
            ("AWS_ENDPOINT_URL_STS", "http://b"),
        ]);
        assert_eq!(
            e.endpoint_url(AWS_ENDPOINT_URL_STS).as_deref(),
            Some("http://b")
        );
        assert_eq!(
            e.endpoint_url(AWS_ENDPOINT_URL_SSO).as_deref(),
            Some("http://a")
        );
    }

    #[test]
    fn state_dir_per_platform() {
        let e = Environment::from_pairs([
            ("HOME", "/h"),
            ("XDG_STATE_HOME", "/s"),
            ("LOCALAPPDATA", r"C:\Users\jo\AppData\Local"),
        ]);
        assert_eq!(e.state_dir_on("linux"), Some(PathBuf::from("/s/awscred")));
        assert_eq!(
            e.state_dir_on("macos"),
            Some(PathBuf::from("/h/Library/Application Support/awscred"))
        );
        assert_eq!(
            e.state_dir_on("windows"),
            Some(PathBuf::from(r"C:\Users\jo\AppData\Local").join("awscred"))
        );
        let e = Environment::from_pairs([("HOME", "/h"), ("XDG_STATE_HOME", "relative/s")]);
        assert_eq!(
            e.state_dir_on("freebsd"),
            Some(PathBuf::from("/h/.local/state/awscred")),
            "a relative XDG_STATE_HOME is ignored"
        );
    }

    #[cfg(unix)]
    #[test]
    fn cache_dir_prefers_explicit_then_xdg() {
        let e = Environment::from_pairs([("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(e.cache_dir().unwrap(), PathBuf::from("/x/awscred"));
        let e = Environment::from_pairs([("AWSCRED_CACHE_DIR", "/c"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(e.cache_dir().unwrap(), PathBuf::from("/c"));
    }
}
