//! The command line, as clap types only; behaviour lives in [`crate::app`].

use clap::{Args, Parser, Subcommand};

/// Short-lived AWS credentials for Claude Code, the AWS CLI and every AWS SDK.
#[derive(Debug, Parser)]
#[command(name = "awscred", version, about, propagate_version = true)]
pub struct Cli {
    /// Profile in ~/.aws/config (default: AWS_PROFILE, then `default`).
    #[arg(long, short = 'p', global = true, value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Print debug information on stderr (same as AWSCRED_LOG=debug).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print credentials for Claude Code's `awsCredentialExport` ({"Credentials":{…}}).
    Export,
    /// Print credentials for AWS `credential_process` ({"Version":1,…}).
    Process,
    /// Sign in (for Claude Code's `awsAuthRefresh`); instructions go to stdout.
    Login(LoginArgs),
    /// Sign out: revoke the IAM Identity Center token and delete cached credentials.
    Logout,
    /// Show the profile's source chain, the store in use, and what is cached.
    Status,
}

/// Options of `login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Use the device-code flow (show a URL and a code).
    #[arg(long, conflicts_with = "browser")]
    pub device_code: bool,
    /// Use the browser flow (authorization code + PKCE on a 127.0.0.1 redirect).
    #[arg(long)]
    pub browser: bool,
    /// Do not launch a browser; print the URL to open instead.
    #[arg(long)]
    pub no_browser: bool,
    /// Sign in again even when a valid token is cached.
    #[arg(long)]
    pub force: bool,
    /// Give up after this many seconds (default: 170 without a terminal, else the code's lifetime).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}
