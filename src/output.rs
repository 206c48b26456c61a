//! The exact bytes awscred prints for its consumers, every format in one place.
//!
//! A [`Format`] names a consumer's contract; [`render`] turns [`Issued`] credentials into
//! it. JSON formats are one line, keys in a fixed order, expiration in UTC with seconds and
//! `Z`. Environment formats quote every value for their shell (or refuse one they cannot
//! quote), so credentials that came from a server never run as code where they are `eval`ed.

use crate::clock::format_expiration;
use crate::credentials::{CachedCredentials, Credentials};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Every shape awscred prints credentials in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"Credentials":{…}}`, the STS shape Claude Code's `awsCredentialExport` reads.
    Export,
    /// `{"Version":1,…}` for `credential_process` (botocore, the SDKs).
    Process,
    /// The reply of a container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
    Container,
    /// Environment variable assignments in a shell's syntax.
    Env(Shell),
}

/// The syntaxes of [`Format::Env`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// POSIX shells: `export NAME='value'`, `unset NAME`.
    Sh,
    /// fish: `set -gx NAME 'value';`, `set -e NAME;`.
    Fish,
    /// PowerShell: `$env:NAME = 'value'`, `Remove-Item Env:NAME …`.
    Powershell,
    /// Windows `cmd.exe`: `set "NAME=value"`, `set "NAME="` (which removes it).
    WindowsCmd,
    /// `NAME=value` lines without `export` (AWS CLI v2's `env-no-export`, dotenv files).
    NoExport,
    /// A JSON object of the variables.
    Json,
}

impl Format {
    /// Whether the consumer rejects credentials without a session token, so long-term keys
    /// must first be exchanged for temporary ones.
    pub fn needs_session_token(self) -> bool {
        matches!(self, Format::Export | Format::Container)
    }
}

impl From<crate::cli::EnvFormat> for Shell {
    fn from(f: crate::cli::EnvFormat) -> Self {
        use crate::cli::EnvFormat as E;
        match f {
            E::Sh => Shell::Sh,
            E::Fish => Shell::Fish,
            E::Powershell => Shell::Powershell,
            E::WindowsCmd => Shell::WindowsCmd,
            E::EnvNoExport => Shell::NoExport,
            E::Json => Shell::Json,
        }
    }
}

/// What a format may print: the credentials and what is known about them without a request.
#[derive(Debug, Clone, Copy)]
pub struct Issued<'a> {
    /// The credentials.
    pub credentials: &'a Credentials,
    /// Their account, when the source names it (`sso_account_id`, a role ARN). Never looked
    /// up: printing credentials costs no request beyond getting them.
    pub account_id: Option<&'a str>,
    /// The profile's region, for the environment formats.
    pub region: Option<&'a str>,
}

impl<'a> Issued<'a> {
    /// Cached credentials with the account they carry, and the profile's region.
    pub fn new(c: &'a CachedCredentials, region: Option<&'a str>) -> Self {
        Self {
            credentials: &c.credentials,
            account_id: c.account_id.as_deref(),
            region,
        }
    }

    /// The account id, when it is one: twelve digits. Anything else (a role ARN typed
    /// with a typo) is left out rather than handed to SDKs that build endpoints from it.
    fn account(&self) -> Option<&'a str> {
        self.account_id
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// Renders credentials in a format: the exact bytes for stdout, newline included.
pub fn render(format: Format, issued: &Issued<'_>) -> Result<String> {
    match format {
        Format::Export => export(issued),
        Format::Process => process(issued),
        Format::Container => container(issued),
        Format::Env(shell) => environment(shell, issued),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Export<'a> {
    credentials: StsCredentials<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Process<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Container<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    expiration: String,
}

fn session_token(c: &Credentials) -> Option<&str> {
    c.session_token.as_ref().map(|t| t.expose().as_str())
}

fn encode<T: Serialize>(v: &T) -> Result<String> {
    let mut s = serde_json::to_string(v)
        .map_err(|e| Error::unexpected("cannot encode credentials").caused_by(&e))?;
    s.push('\n');
    Ok(s)
}

/// Claude Code rejects credentials without a session token, so those are an error here
/// rather than a silent failure there.
fn export(i: &Issued<'_>) -> Result<String> {
    let c = i.credentials;
    let Some(token) = session_token(c) else {
        return Err(Error::user(
            "these are long-term keys without a session token, which Claude Code rejects",
        )
        .with_hint("assume a role (role_arn with source_profile) in this profile, or use IAM Identity Center"));
    };
    encode(&Export {
        credentials: StsCredentials {
            access_key_id: &c.access_key_id,
            secret_access_key: c.secret_access_key.expose(),
            session_token: token,
            expiration: c.expiration.map(format_expiration),
        },
    })
}

/// botocore and the JavaScript SDK read `AccountId`; every SDK ignores its absence.
fn process(i: &Issued<'_>) -> Result<String> {
    let c = i.credentials;
    encode(&Process {
        version: 1,
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        session_token: session_token(c),
        account_id: i.account(),
        expiration: c.expiration.map(format_expiration),
    })
}

/// The SDKs' container providers require `Token` and `Expiration`.
fn container(i: &Issued<'_>) -> Result<String> {
    let c = i.credentials;
    let (Some(token), Some(expiration)) = (session_token(c), c.expiration) else {
        return Err(Error::user(
            "a container credentials reply needs temporary credentials with an expiration; these have none",
        )
        .with_hint("assume a role (role_arn with source_profile) in this profile, or use IAM Identity Center"));
    };
    encode(&Container {
        access_key_id: &c.access_key_id,
        secret_access_key: c.secret_access_key.expose(),
        token,
        account_id: i.account(),
        expiration: format_expiration(expiration),
    })
}

/// The standard variables for credentials (name, value); `None` means "remove it", so a
/// variable left over from other credentials cannot be mixed with these.
pub fn variables(i: &Issued<'_>) -> Vec<(&'static str, Option<String>)> {
    let c = i.credentials;
    let mut v = vec![
        ("AWS_ACCESS_KEY_ID", Some(c.access_key_id.clone())),
        (
            "AWS_SECRET_ACCESS_KEY",
            Some(c.secret_access_key.expose().clone()),
        ),
        ("AWS_SESSION_TOKEN", session_token(c).map(str::to_string)),
        (
            "AWS_CREDENTIAL_EXPIRATION",
            c.expiration.map(format_expiration),
        ),
    ];
    if let Some(r) = i.region {
        v.push(("AWS_REGION", Some(r.to_string())));
        v.push(("AWS_DEFAULT_REGION", Some(r.to_string())));
    }
    v
}

/// Profile variables an `env` format removes: the JavaScript SDK v3 ignores the key
/// variables while `AWS_PROFILE` is set, and botocore reads `AWS_DEFAULT_PROFILE`. They are
/// removed, never set empty: botocore reads `AWS_PROFILE=` as a profile named "".
const PROFILE_VARIABLES: [&str; 2] = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];

fn environment(shell: Shell, i: &Issued<'_>) -> Result<String> {
    let mut vars = variables(i);
    vars.extend(PROFILE_VARIABLES.iter().map(|k| (*k, None)));
    for (k, v) in &vars {
        if v.as_deref().is_some_and(|v| v.contains('\0')) {
            return Err(Error::unexpected(format!(
                "the value of {k} has a NUL character, which no environment variable can hold"
            )));
        }
    }
    if shell == Shell::Json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), serde_json::Value::String(v))))
            .collect();
        return encode(&map);
    }
    let mut out = String::new();
    for (k, v) in &vars {
        let line = match (shell, v) {
            (Shell::Sh, Some(v)) => format!("export {k}={}", sh_quote(v)),
            (Shell::Sh, None) => format!("unset {k}"),
            (Shell::Fish, Some(v)) => format!("set -gx {k} {};", fish_quote(v)),
            (Shell::Fish, None) => format!("set -e {k};"),
            (Shell::Powershell, Some(v)) => format!("$env:{k} = {}", powershell_quote(v)),
            (Shell::Powershell, None) => {
                format!("Remove-Item Env:{k} -ErrorAction SilentlyContinue")
            }
            (Shell::WindowsCmd, Some(v)) => format!("set \"{k}={}\"", cmd_value(k, v)?),
            (Shell::WindowsCmd, None) => format!("set \"{k}=\""),
            (Shell::NoExport, Some(v)) if is_plain(v) => format!("{k}={v}"),
            (Shell::NoExport, Some(v)) => format!("{k}={}", sh_quote(v)),
            // A line without `export` cannot remove a variable.
            (Shell::NoExport, None) => continue,
            (Shell::Json, _) => unreachable!("written above"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// POSIX single quotes keep every byte literal; a quote is closed, escaped and reopened.
fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

/// In fish's single quotes only `\\` and `\'` are escapes.
fn fish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// PowerShell ends a single-quoted string at any of five quote characters (the typographic
/// ones too); doubling one makes it literal.
fn powershell_quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('\'');
    for ch in v.chars() {
        if matches!(ch, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            s.push(ch);
        }
        s.push(ch);
    }
    s.push('\'');
    s
}

/// Inside `set "NAME=value"`, `& | < > ^ ( )` and spaces are literal; `%` and `!` expand
/// (the command line, batch files, delayed expansion) and a `"` or a line break ends the
/// command, with no escape that works everywhere. Such values are refused.
fn cmd_value<'v>(name: &str, v: &'v str) -> Result<&'v str> {
    if v.chars()
        .any(|c| matches!(c, '"' | '%' | '!') || c.is_control())
    {
        return Err(Error::user(format!(
            "the value of {name} has characters cmd.exe cannot take literally (% ! \" or a control character)"
        ))
        .with_hint("use awscred env --format powershell, or run the program with awscred exec -- COMMAND"));
    }
    Ok(v)
}

/// Values printed bare by `env-no-export`, as the AWS CLI prints them (docker's
/// `--env-file` takes quotes literally): what real keys, tokens, times and regions are made
/// of. Anything else is single-quoted, so the line is still safe for a shell.
fn is_plain(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=:._-@,".contains(&b))
}

/// `awscred status --json`: what a script may read about a profile, never a secret.
/// Pretty-printed, keys in this order.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    /// The profile asked for.
    pub profile: &'a str,
    /// Its source chain, described.
    pub source: String,
    /// The store's name (`keyring`, `file`, …).
    pub store: &'a str,
    /// Where the store keeps entries.
    pub store_location: String,
    /// The sign-in the source depends on; `null` for sources without one.
    pub sign_in: Option<SignIn>,
    /// The cached credentials; `null` when none are cached.
    pub credentials: Option<CachedState<'a>>,
    /// Who holds the refresh lock; `null` when it is free.
    pub lock: Option<String>,
}

/// The sign-in part of [`Status`].
#[derive(Debug, Serialize)]
pub struct SignIn {
    /// What is signed in to (`IAM Identity Center (sso-session corp)`, an issuer URL).
    pub to: String,
    /// A token that has not expired is cached.
    pub signed_in: bool,
    /// When the cached token expires (absent without one).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "utc_option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The cached token can be refreshed without a sign-in (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refreshable: Option<bool>,
}

/// The cached-credentials part of [`Status`].
#[derive(Debug, Serialize)]
pub struct CachedState<'a> {
    /// The access key id (not secret on its own).
    pub access_key_id: &'a str,
    /// When they expire; `null` for long-term keys.
    #[serde(serialize_with = "utc_option")]
    pub expiration: Option<DateTime<Utc>>,
    /// They have not expired.
    pub valid: bool,
}

fn utc_option<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_expiration(*t)),
        None => s.serialize_none(),
    }
}

/// Renders [`Status`]: indented JSON and a newline.
pub fn status_json(status: &Status<'_>) -> Result<String> {
    let mut s = serde_json::to_string_pretty(status)
        .map_err(|e| Error::unexpected("cannot encode status").caused_by(&e))?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use chrono::TimeZone;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("sec/ret+key".into()),
            session_token: Some(Secret::new("tok\"en".into())),
            expiration: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 11, 24, 18, 4, 5)
                    .unwrap(),
            ),
        }
    }

    fn issued(c: &Credentials) -> Issued<'_> {
        Issued {
            credentials: c,
            account_id: None,
            region: None,
        }
    }

    fn with_account(c: &Credentials) -> Issued<'_> {
        Issued {
            credentials: c,
            account_id: Some("111122223333"),
            region: Some("eu-west-1"),
        }
    }

    /// Credentials as a hostile server could send them: every character some shell treats
    /// specially.
    fn hostile() -> Credentials {
        Credentials {
            access_key_id: "AKIA'X".into(),
            secret_access_key: Secret::new("a'b\"c\\d$(id)`id`\n;&|<>^()’e".into()),
            session_token: None,
            expiration: None,
        }
    }

    #[test]
    fn export_bytes_are_exact() {
        let c = creds();
        let expected = "{\"Credentials\":{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"tok\\\"en\",\"Expiration\":\"2026-11-24T18:04:05Z\"}}\n";
        assert_eq!(render(Format::Export, &issued(&c)).unwrap(), expected);
        assert_eq!(
            render(Format::Export, &with_account(&c)).unwrap(),
            expected,
            "the STS shape has no account"
        );
    }

    #[test]
    fn process_bytes_are_exact() {
        let c = creds();
        assert_eq!(
            render(Format::Process, &issued(&c)).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"tok\\\"en\",\"Expiration\":\"2026-11-24T18:04:05Z\"}\n"
        );
    }

    #[test]
    fn process_puts_a_known_account_after_the_session_token() {
        let c = creds();
        assert_eq!(
            render(Format::Process, &with_account(&c)).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"SessionToken\":\"tok\\\"en\",\"AccountId\":\"111122223333\",\"Expiration\":\"2026-11-24T18:04:05Z\"}\n"
        );
    }

    #[test]
    fn an_account_that_is_not_twelve_digits_is_left_out() {
        let c = creds();
        for bad in ["", "11112222333", "1111222233334", "11112222333x", "aws"] {
            let i = Issued {
                account_id: Some(bad),
                ..issued(&c)
            };
            assert!(
                !render(Format::Process, &i).unwrap().contains("AccountId"),
                "{bad:?}"
            );
            assert!(
                !render(Format::Container, &i).unwrap().contains("AccountId"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn long_term_keys_omit_token_and_expiry_for_process_and_fail_for_export() {
        let mut c = creds();
        c.session_token = None;
        c.expiration = None;
        assert_eq!(
            render(Format::Process, &with_account(&c)).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"AccountId\":\"111122223333\"}\n"
        );
        for format in [Format::Export, Format::Container] {
            let e = render(format, &issued(&c)).unwrap_err();
            assert_eq!(e.exit_code(), 1);
            assert!(!e.report().contains("sec/ret"));
        }
    }

    #[test]
    fn container_bytes_are_exact() {
        let c = creds();
        assert_eq!(
            render(Format::Container, &issued(&c)).unwrap(),
            "{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"Token\":\"tok\\\"en\",\"Expiration\":\"2026-11-24T18:04:05Z\"}\n"
        );
        assert_eq!(
            render(Format::Container, &with_account(&c)).unwrap(),
            "{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"sec/ret+key\",\"Token\":\"tok\\\"en\",\"AccountId\":\"111122223333\",\"Expiration\":\"2026-11-24T18:04:05Z\"}\n"
        );
        let mut c = creds();
        c.expiration = None;
        assert!(
            render(Format::Container, &issued(&c)).is_err(),
            "SDKs require an expiration"
        );
    }

    #[test]
    fn needs_session_token_only_where_the_consumer_rejects_long_term_keys() {
        for (f, needs) in [
            (Format::Export, true),
            (Format::Container, true),
            (Format::Process, false),
            (Format::Env(Shell::Sh), false),
            (Format::Env(Shell::Json), false),
        ] {
            assert_eq!(f.needs_session_token(), needs, "{f:?}");
        }
    }

    #[test]
    fn sh_bytes_are_exact() {
        let c = creds();
        assert_eq!(
            render(Format::Env(Shell::Sh), &with_account(&c)).unwrap(),
            "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'
export AWS_SECRET_ACCESS_KEY='sec/ret+key'
export AWS_SESSION_TOKEN='tok\"en'
export AWS_CREDENTIAL_EXPIRATION='2026-11-24T18:04:05Z'
export AWS_REGION='eu-west-1'
export AWS_DEFAULT_REGION='eu-west-1'
unset AWS_PROFILE
unset AWS_DEFAULT_PROFILE
"
        );
        let c = hostile();
        assert_eq!(
            render(Format::Env(Shell::Sh), &issued(&c)).unwrap(),
            "export AWS_ACCESS_KEY_ID='AKIA'\\''X'
export AWS_SECRET_ACCESS_KEY='a'\\''b\"c\\d$(id)`id`
;&|<>^()’e'
unset AWS_SESSION_TOKEN
unset AWS_CREDENTIAL_EXPIRATION
unset AWS_PROFILE
unset AWS_DEFAULT_PROFILE
"
        );
    }

    #[test]
    fn fish_bytes_are_exact() {
        let c = creds();
        assert_eq!(
            render(Format::Env(Shell::Fish), &with_account(&c)).unwrap(),
            "set -gx AWS_ACCESS_KEY_ID 'ASIAEXAMPLE';
set -gx AWS_SECRET_ACCESS_KEY 'sec/ret+key';
set -gx AWS_SESSION_TOKEN 'tok\"en';
set -gx AWS_CREDENTIAL_EXPIRATION '2026-11-24T18:04:05Z';
set -gx AWS_REGION 'eu-west-1';
set -gx AWS_DEFAULT_REGION 'eu-west-1';
set -e AWS_PROFILE;
set -e AWS_DEFAULT_PROFILE;
"
        );
        let c = hostile();
        assert_eq!(
            render(Format::Env(Shell::Fish), &issued(&c)).unwrap(),
            "set -gx AWS_ACCESS_KEY_ID 'AKIA\\'X';
set -gx AWS_SECRET_ACCESS_KEY 'a\\'b\"c\\\\d$(id)`id`
;&|<>^()’e';
set -e AWS_SESSION_TOKEN;
set -e AWS_CREDENTIAL_EXPIRATION;
set -e AWS_PROFILE;
set -e AWS_DEFAULT_PROFILE;
"
        );
    }

    #[test]
    fn powershell_bytes_are_exact() {
        let c = creds();
        assert_eq!(
            render(Format::Env(Shell::Powershell), &with_account(&c)).unwrap(),
            "$env:AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE'
$env:AWS_SECRET_ACCESS_KEY = 'sec/ret+key'
$env:AWS_SESSION_TOKEN = 'tok\"en'
$env:AWS_CREDENTIAL_EXPIRATION = '2026-11-24T18:04:05Z'
$env:AWS_REGION = 'eu-west-1'
$env:AWS_DEFAULT_REGION = 'eu-west-1'
Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue
Remove-Item Env:AWS_DEFAULT_PROFILE -ErrorAction SilentlyContinue
"
        );
        let c = hostile();
        assert_eq!(
            render(Format::Env(Shell::Powershell), &issued(&c)).unwrap(),
            "$env:AWS_ACCESS_KEY_ID = 'AKIA''X'
$env:AWS_SECRET_ACCESS_KEY = 'a''b\"c\\d$(id)`id`
;&|<>^()’’e'
Remove-Item Env:AWS_SESSION_TOKEN -ErrorAction SilentlyContinue
Remove-Item Env:AWS_CREDENTIAL_EXPIRATION -ErrorAction SilentlyContinue
Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue
Remove-Item Env:AWS_DEFAULT_PROFILE -ErrorAction SilentlyContinue
"
        );
    }

    #[test]
    fn powershell_doubles_every_single_quote_character() {
        let mut c = hostile();
        c.access_key_id = "a'b\u{2018}c\u{2019}d\u{201A}e\u{201B}f".into();
        let out = render(Format::Env(Shell::Powershell), &issued(&c)).unwrap();
        assert!(out.starts_with(
            "$env:AWS_ACCESS_KEY_ID = 'a''b\u{2018}\u{2018}c\u{2019}\u{2019}d\u{201A}\u{201A}e\u{201B}\u{201B}f'\n"
        ));
    }

    #[test]
    fn windows_cmd_bytes_are_exact() {
        let c = creds();
        let mut c2 = c.clone();
        c2.session_token = Some(Secret::new("tok&en|<x>^(y) z".into()));
        assert_eq!(
            render(Format::Env(Shell::WindowsCmd), &with_account(&c2)).unwrap(),
            "set \"AWS_ACCESS_KEY_ID=ASIAEXAMPLE\"
set \"AWS_SECRET_ACCESS_KEY=sec/ret+key\"
set \"AWS_SESSION_TOKEN=tok&en|<x>^(y) z\"
set \"AWS_CREDENTIAL_EXPIRATION=2026-11-24T18:04:05Z\"
set \"AWS_REGION=eu-west-1\"
set \"AWS_DEFAULT_REGION=eu-west-1\"
set \"AWS_PROFILE=\"
set \"AWS_DEFAULT_PROFILE=\"
"
        );
    }

    #[test]
    fn windows_cmd_refuses_what_it_cannot_quote_without_showing_it() {
        for bad in ["tok\"en", "100%PATH%", "a!b", "a\nb", "a\rb"] {
            let mut c = creds();
            c.session_token = Some(Secret::new(bad.into()));
            let e = render(Format::Env(Shell::WindowsCmd), &issued(&c)).unwrap_err();
            assert_eq!(e.exit_code(), 1, "{bad:?}");
            let report = e.report();
            assert!(report.contains("AWS_SESSION_TOKEN"), "{report}");
            assert!(!report.contains(bad), "{report}");
        }
    }

    #[test]
    fn env_no_export_bytes_are_exact() {
        let mut c = creds();
        c.session_token = Some(Secret::new("IQoJb3JpZ2luX2VjE/+=".into()));
        assert_eq!(
            render(Format::Env(Shell::NoExport), &with_account(&c)).unwrap(),
            "AWS_ACCESS_KEY_ID=ASIAEXAMPLE
AWS_SECRET_ACCESS_KEY=sec/ret+key
AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjE/+=
AWS_CREDENTIAL_EXPIRATION=2026-11-24T18:04:05Z
AWS_REGION=eu-west-1
AWS_DEFAULT_REGION=eu-west-1
",
            "plain values bare, nothing removed"
        );
        let c = hostile();
        assert_eq!(
            render(Format::Env(Shell::NoExport), &issued(&c)).unwrap(),
            "AWS_ACCESS_KEY_ID='AKIA'\\''X'
AWS_SECRET_ACCESS_KEY='a'\\''b\"c\\d$(id)`id`
;&|<>^()’e'
"
        );
        let mut c = creds();
        c.access_key_id = "~/x".into();
        assert!(
            render(Format::Env(Shell::NoExport), &issued(&c))
                .unwrap()
                .starts_with("AWS_ACCESS_KEY_ID='~/x'\n"),
            "a tilde would expand in an assignment"
        );
    }

    #[test]
    fn env_json_bytes_are_exact() {
        let c = creds();
        assert_eq!(
            render(Format::Env(Shell::Json), &with_account(&c)).unwrap(),
            "{\"AWS_ACCESS_KEY_ID\":\"ASIAEXAMPLE\",\"AWS_SECRET_ACCESS_KEY\":\"sec/ret+key\",\"AWS_SESSION_TOKEN\":\"tok\\\"en\",\"AWS_CREDENTIAL_EXPIRATION\":\"2026-11-24T18:04:05Z\",\"AWS_REGION\":\"eu-west-1\",\"AWS_DEFAULT_REGION\":\"eu-west-1\"}\n"
        );
        let c = hostile();
        assert_eq!(
            render(Format::Env(Shell::Json), &issued(&c)).unwrap(),
            "{\"AWS_ACCESS_KEY_ID\":\"AKIA'X\",\"AWS_SECRET_ACCESS_KEY\":\"a'b\\\"c\\\\d$(id)`id`\\n;&|<>^()’e\"}\n"
        );
    }

    #[test]
    fn a_nul_byte_is_refused_by_every_environment_format() {
        let mut c = creds();
        c.session_token = Some(Secret::new("a\0b".into()));
        for f in [
            Format::Env(Shell::Sh),
            Format::Env(Shell::Fish),
            Format::Env(Shell::Powershell),
            Format::Env(Shell::WindowsCmd),
            Format::Env(Shell::NoExport),
            Format::Env(Shell::Json),
        ] {
            let e = render(f, &issued(&c)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{f:?}");
            assert!(e.report().contains("AWS_SESSION_TOKEN"), "{f:?}");
        }
    }

    #[test]
    fn status_bytes_are_exact() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 24, 18, 4, 5)
            .unwrap();
        let status = Status {
            profile: "bedrock",
            source: "sso".into(),
            store: "file",
            store_location: "/home/u/.cache/awscred".into(),
            sign_in: Some(SignIn {
                to: "IAM Identity Center (sso-session corp)".into(),
                signed_in: true,
                expires_at: Some(t),
                refreshable: Some(false),
            }),
            credentials: Some(CachedState {
                access_key_id: "ASIAEXAMPLE",
                expiration: Some(t),
                valid: true,
            }),
            lock: Some("pid 7".into()),
        };
        assert_eq!(
            status_json(&status).unwrap(),
            r#"{
  "profile": "bedrock",
  "source": "sso",
  "store": "file",
  "store_location": "/home/u/.cache/awscred",
  "sign_in": {
    "to": "IAM Identity Center (sso-session corp)",
    "signed_in": true,
    "expires_at": "2026-11-24T18:04:05Z",
    "refreshable": false
  },
  "credentials": {
    "access_key_id": "ASIAEXAMPLE",
    "expiration": "2026-11-24T18:04:05Z",
    "valid": true
  },
  "lock": "pid 7"
}
"#
        );
        let bare = Status {
            sign_in: Some(SignIn {
                to: "IAM Identity Center (sso-session corp)".into(),
                signed_in: false,
                expires_at: None,
                refreshable: None,
            }),
            credentials: Some(CachedState {
                access_key_id: "AKIAEXAMPLE",
                expiration: None,
                valid: true,
            }),
            lock: None,
            ..status
        };
        assert_eq!(
            status_json(&bare).unwrap(),
            r#"{
  "profile": "bedrock",
  "source": "sso",
  "store": "file",
  "store_location": "/home/u/.cache/awscred",
  "sign_in": {
    "to": "IAM Identity Center (sso-session corp)",
    "signed_in": false
  },
  "credentials": {
    "access_key_id": "AKIAEXAMPLE",
    "expiration": null,
    "valid": true
  },
  "lock": null
}
"#
        );
        let none = Status {
            sign_in: None,
            credentials: None,
            ..bare
        };
        assert!(
            status_json(&none)
                .unwrap()
                .contains("\"sign_in\": null,\n  \"credentials\": null,")
        );
    }

    /// Runs `script` in `shell` with a stale profile and token in the environment; `None`
    /// when that shell is not installed.
    #[cfg(unix)]
    fn run_in(shell: &str, script: &str) -> Option<String> {
        let o = std::process::Command::new(shell)
            .args(["-c", script])
            .env("AWS_PROFILE", "other")
            .env("AWS_DEFAULT_PROFILE", "other")
            .env("AWS_SESSION_TOKEN", "stale")
            .output()
            .ok()?;
        assert!(o.status.success(), "{shell}");
        Some(String::from_utf8(o.stdout).unwrap())
    }

    /// The sh output, run by real shells, sets exactly the values and removes the rest.
    #[cfg(unix)]
    #[test]
    fn sh_output_round_trips_through_real_shells() {
        let c = hostile();
        let script = format!(
            "{}printf '%s|%s|%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"${{AWS_PROFILE-unset}}\" \"${{AWS_DEFAULT_PROFILE-unset}}\" \"${{AWS_SESSION_TOKEN-unset}}\"",
            render(Format::Env(Shell::Sh), &issued(&c)).unwrap()
        );
        let expected = format!("AKIA'X|{}|unset|unset|unset", c.secret_access_key.expose());
        assert_eq!(run_in("sh", &script).as_deref(), Some(expected.as_str()));
        for shell in ["bash", "zsh", "dash"] {
            if let Some(out) = run_in(shell, &script) {
                assert_eq!(out, expected, "{shell}");
            }
        }
        let plain = format!(
            "{}printf '%s|%s|%s' \"$AWS_SECRET_ACCESS_KEY\" \"${{AWS_PROFILE-unset}}\" \"${{AWS_SESSION_TOKEN-unset}}\"",
            render(Format::Env(Shell::NoExport), &issued(&c)).unwrap()
        );
        assert_eq!(
            run_in("sh", &plain),
            Some(format!("{}|other|stale", c.secret_access_key.expose())),
            "env-no-export quotes for sh, and cannot unset"
        );
    }

    /// The fish output, run by fish when it is installed.
    #[cfg(unix)]
    #[test]
    fn fish_output_round_trips_through_fish() {
        let c = hostile();
        let script = format!(
            "{}printf '%s|%s|' $AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY; for v in AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN; if set -q $v; printf set; else; printf unset; end; end",
            render(Format::Env(Shell::Fish), &issued(&c)).unwrap()
        );
        if let Some(out) = run_in("fish", &script) {
            assert_eq!(
                out,
                format!("AKIA'X|{}|unsetunsetunset", c.secret_access_key.expose())
            );
        }
    }
}
