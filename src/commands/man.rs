//! `awscred man`: the manual page (roff), one page for every command, with the sections a
//! reader looks for: ENVIRONMENT, FILES and EXIT STATUS. It names no other page of its own
//! (the subcommands are sections here, not `awscred-export(1)` pages that do not exist).

use crate::cli::Cli;
use crate::error::{Error, Result};

/// Environment variables awscred reads, with what each does.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "AWS_PROFILE",
        "The profile when --profile is not given (then `default`).",
    ),
    (
        "AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE",
        "Where the AWS config and credentials files are (default ~/.aws/config, ~/.aws/credentials).",
    ),
    (
        "AWS_REGION, AWS_DEFAULT_REGION",
        "The region for STS, before the profile's `region`.",
    ),
    (
        "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_COGNITO_IDENTITY",
        "Endpoint overrides (private networks, the bundled emulator); each must start with http:// or https://.",
    ),
    (
        "AWS_ENDPOINT_URL_SIGNIN",
        "The AWS Sign-In endpoint of awscred console (its /federation); the default follows the region's partition.",
    ),
    (
        "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
        "Proxies for every request; loopback and link-local addresses always go direct.",
    ),
    (
        "AWS_CA_BUNDLE",
        "A PEM file of extra trusted certificates (beats the profile's ca_bundle).",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
        "Keys for credential_source = Environment.",
    ),
    (
        "AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME",
        "A web identity for profiles without credentials of their own.",
    ),
    (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED",
        "The container and instance metadata endpoints for credential_source.",
    ),
    (
        "AWSCRED_CACHE",
        "The store: auto, keychain, wincred, secret-service, keyutils or file.",
    ),
    (
        "AWSCRED_CACHE_DIR",
        "The file store's and the locks' directory.",
    ),
    (
        "AWSCRED_HTTP_TIMEOUT",
        "Seconds for each read and attempt (at most 3600).",
    ),
    (
        "AWSCRED_LOG",
        "error, warn (default), info or debug, on stderr; never a secret.",
    ),
    (
        "BROWSER",
        "The browser for sign-in (`:`-separated commands, `;` on Windows; %s is the URL); true, false or empty mean none.",
    ),
    (
        "XDG_CACHE_HOME, XDG_STATE_HOME, XDG_RUNTIME_DIR",
        "Where the cache, backups and the endpoint token file go on Linux.",
    ),
    (
        "AWSCRED_PROFILE",
        "Set by awscred exec for its child: the profile it runs under.",
    ),
    (
        "CLAUDE_HELPER_CONTEXT",
        "Set by Claude Desktop for awscred bedrock-token: only interactive (or unset) may sign in; any other value fails at once with a hint. awscred run with no arguments and this set (Claude Desktop on Windows) is awscred bedrock-token for the profile in awscred-desktop.json.",
    ),
    (
        "AWSCRED_PROCESS_CHAIN",
        "Set for a credential_process awscred runs, to stop loops.",
    ),
    (
        "AWS_ENDPOINT_URL_SIGNIN",
        "Endpoint override for AWS Sign-In (console sessions of login_session profiles).",
    ),
    (
        "AWS_LOGIN_CACHE_DIRECTORY",
        "The AWS CLI's login cache directory (default ~/.aws/login/cache).",
    ),
];

/// Files awscred reads or writes.
const FILES: &[(&str, &str)] = &[
    (
        "~/.aws/config, ~/.aws/credentials",
        "Profiles; awscred_* keys carry what the AWS CLI cannot say.",
    ),
    (
        "~/.aws/sso/cache/*.json",
        "The AWS CLI's IAM Identity Center tokens: read; written (access token only, 0600) with awscred_share_sso_cache = true.",
    ),
    (
        "$XDG_CACHE_HOME/awscred (or the platform cache directory)",
        "store/ (the file store, 0600 entries in a 0700 directory) and locks/.",
    ),
    (
        "$XDG_STATE_HOME/awscred, ~/Library/Application Support/awscred, %LOCALAPPDATA%\\awscred",
        "Backups of files awscred changed, the last five of each.",
    ),
    (
        "$XDG_RUNTIME_DIR/awscred",
        "The token file of awscred serve --token-file, removed at exit.",
    ),
    (
        "~/Library/Application Support/Claude-3p/claude_desktop_config.json, %APPDATA%\\Claude-3p\\claude_desktop_config.json",
        "Claude Desktop's configuration, whose enterpriseConfig awscred setup claude-desktop edits; the macOS launcher it writes sits beside it.",
    ),
    (
        "%APPDATA%\\Claude-3p\\awscred-desktop.json, %ProgramData%\\awscred\\awscred-desktop.json",
        "The profile, region and ttl of awscred run by Claude Desktop with no arguments (Windows), written by awscred setup claude-desktop; the user's first, then the machine's.",
    ),
    (
        "~/.claude/settings.json, .claude/settings.json, .claude/settings.local.json",
        "Claude Code settings that awscred setup claude edits and awscred doctor reads.",
    ),
    (
        "~/.aws/login/cache/<sha256 of login_session>.json",
        "The console session of aws login (login_session profiles): read, refreshed and written back in the AWS CLI's format (0600); logout keeps it (aws logout ends it).",
    ),
];

/// The page, as roff.
pub fn render() -> Result<String> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out: Vec<u8> = Vec::new();
    let io = |e: std::io::Error| Error::unexpected("cannot render the man page").caused_by(&e);
    man.render_title(&mut out).map_err(io)?;
    man.render_name_section(&mut out).map_err(io)?;
    man.render_synopsis_section(&mut out).map_err(io)?;
    man.render_description_section(&mut out).map_err(io)?;
    man.render_options_section(&mut out).map_err(io)?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push_str(".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        text.push_str(&format!(
            ".TP\n\\fBawscred {}\\fR\n{}\n",
            escape(sub.get_name()),
            escape(&sub.get_about().map(|a| a.to_string()).unwrap_or_default())
        ));
    }
    text.push_str(".PP\nawscred COMMAND \\-\\-help shows the options of each command.\n");
    section(&mut text, "ENVIRONMENT", ENVIRONMENT);
    section(&mut text, "FILES", FILES);
    text.push_str(
        ".SH EXIT STATUS\n.TP\n0\nSuccess.\n.TP\n1\nA problem you can fix: configuration, a sign-in that is needed, a refusal; the message ends with a hint: line saying what to run.\n.TP\n2\nAn unexpected failure (network, store, a server's answer awscred cannot read).\n.PP\nawscred exec exits with its command's status.\n",
    );
    let mut version = Vec::new();
    man.render_version_section(&mut version).map_err(io)?;
    text.push_str(&String::from_utf8_lossy(&version));
    Ok(text)
}

fn section(text: &mut String, title: &str, rows: &[(&str, &str)]) {
    text.push_str(&format!(".SH {title}\n"));
    for (name, what) in rows {
        text.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            escape(name),
            escape(what)
        ));
    }
}

/// Escapes what roff would read as its own: backslashes, leading dots and quotes, hyphens.
fn escape(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_the_sections_readers_look_for_and_names_no_missing_page() {
        let page = render().unwrap();
        for s in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH COMMANDS",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH EXIT STATUS",
        ] {
            assert!(page.contains(s), "{s} missing");
        }
        assert!(!page.contains("(1)"), "refers to another page");
        assert!(page.contains("\\fBawscred export\\fR"));
        assert!(page.contains("AWSCRED_CACHE"));
    }
}
