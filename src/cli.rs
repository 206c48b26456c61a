//! The command line, as clap types only; behaviour lives in [`crate::app`].

use clap::{Args, Parser, Subcommand};

/// `awscred --version`: the version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("AWSCRED_GIT_COMMIT"),
    ")"
);

/// Short-lived AWS credentials for Claude Code, the AWS CLI and every AWS SDK.
#[derive(Debug, Parser)]
#[command(name = "awscred", version = VERSION, about, propagate_version = true)]
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
    Status(StatusArgs),
    /// Check the whole setup and say what to fix.
    Doctor,
    /// Run a command with the profile's credentials in its environment.
    Exec(ExecArgs),
    /// Print the profile's credentials as environment variable assignments.
    Env(EnvArgs),
    /// Configure Claude Code or an AWS CLI profile to use awscred.
    #[command(subcommand)]
    Setup(SetupCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}

/// Options of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<std::ffi::OsString>,
}

/// Shell syntax for `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvFormat {
    /// POSIX shells: `export NAME='value'`, `unset NAME`.
    Sh,
    /// fish: `set -gx NAME 'value';`, `set -e NAME;`.
    Fish,
    /// PowerShell: `$env:NAME = 'value'`, `Remove-Item Env:NAME`.
    Powershell,
    /// Windows cmd.exe: `set "NAME=value"`, `set "NAME="` (refuses values with % ! ").
    WindowsCmd,
    /// `NAME=value` lines without export (as the AWS CLI prints them; dotenv files).
    EnvNoExport,
    /// A JSON object.
    Json,
}

/// Options of `env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Output syntax.
    ///
    /// The AWS SDK for JavaScript ignores these variables while AWS_PROFILE is set, so sh,
    /// fish, powershell and windows-cmd also unset AWS_PROFILE and AWS_DEFAULT_PROFILE.
    /// env-no-export and json cannot express an unset and leave them as they are: unset
    /// them yourself.
    #[arg(long, value_enum, default_value = "sh")]
    pub format: EnvFormat,
}

/// What `setup` configures.
#[derive(Debug, Subcommand)]
pub enum SetupCommand {
    /// Write awsCredentialExport, awsAuthRefresh and the Bedrock env into Claude Code's settings.
    Claude(SetupClaudeArgs),
    /// Add `credential_process = awscred process --profile P` to an AWS CLI profile.
    AwsProfile(SetupAwsProfileArgs),
}

/// Options of `setup claude`.
#[derive(Debug, Args)]
pub struct SetupClaudeArgs {
    /// Bedrock region name, such as eu-west-1 (default: AWS_REGION, then the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// Which settings file to write.
    #[arg(long, value_enum, default_value = "user")]
    pub scope: crate::claude::Scope,
    /// Model id, inference profile or application-inference-profile ARN (ANTHROPIC_MODEL).
    ///
    /// Without model options Claude Code picks current models and the region's
    /// inference-profile prefix itself.
    #[arg(long)]
    pub model: Option<String>,
    /// Opus model (ANTHROPIC_DEFAULT_OPUS_MODEL).
    #[arg(long)]
    pub opus_model: Option<String>,
    /// Sonnet model (ANTHROPIC_DEFAULT_SONNET_MODEL).
    #[arg(long)]
    pub sonnet_model: Option<String>,
    /// Haiku model, for background tasks (ANTHROPIC_DEFAULT_HAIKU_MODEL).
    #[arg(long)]
    pub haiku_model: Option<String>,
    /// Deprecated: the same as --haiku-model.
    #[arg(long, hide = true, conflicts_with = "haiku_model")]
    pub small_fast_model: Option<String>,
    /// No longer supported: Claude Code picks current models itself.
    #[arg(long, hide = true)]
    pub default_models: bool,
    /// Leave out the recommended output-token settings (CLAUDE_CODE_MAX_OUTPUT_TOKENS,
    /// MAX_THINKING_TOKENS).
    #[arg(long)]
    pub no_token_limits: bool,
    /// Remove env.AWS_PROFILE from the settings (it hands the Bedrock identity to every
    /// process Claude Code starts; other tools of yours may rely on it).
    #[arg(long)]
    pub remove_aws_profile: bool,
    /// Remove the year-old model ids an earlier awscred wrote.
    #[arg(long)]
    pub remove_stale_models: bool,
    /// Show the change without writing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `setup aws-profile`.
#[derive(Debug, Args)]
pub struct SetupAwsProfileArgs {
    /// The AWS CLI profile to create or update.
    pub name: String,
    /// Show the change without writing it.
    #[arg(long)]
    pub dry_run: bool,
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
