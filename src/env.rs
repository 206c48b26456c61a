//! Every environment variable awscred reads, and the snapshot of them it works from.
//!
//! Nothing outside this module calls `std::env::var`: commands receive an [`Environment`],
//! so tests build one from a map and the whole program sees one consistent view.

use std::collections::HashMap;
use std::path::PathBuf;

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
/// Home directory.
pub const HOME: &str = "HOME";
/// Windows home directory.
pub const USERPROFILE: &str = "USERPROFILE";

/// A snapshot of the environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

impl Environment {
    /// Reads the process environment (non-UTF-8 values are skipped).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// Builds an environment from pairs; for tests.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// A variable's value; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The home directory.
    pub fn home(&self) -> Option<PathBuf> {
        self.get(HOME)
            .or_else(|| self.get(USERPROFILE))
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

    fn expand_home(&self, p: &str) -> PathBuf {
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

    /// The endpoint override for a service, most specific first.
    pub fn endpoint_url(&self, service_var: &str) -> Option<String> {
        self.get(service_var)
            .or_else(|| self.get(AWS_ENDPOINT_URL))
            .map(|s| s.trim_end_matches('/').to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[cfg(unix)]
    #[test]
    fn cache_dir_prefers_explicit_then_xdg() {
        let e = Environment::from_pairs([("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(e.cache_dir().unwrap(), PathBuf::from("/x/awscred"));
        let e = Environment::from_pairs([("AWSCRED_CACHE_DIR", "/c"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(e.cache_dir().unwrap(), PathBuf::from("/c"));
    }
}
