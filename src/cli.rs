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
    #[arg(
        long,
        short = 'p',
        global = true,
        value_name = "PROFILE",
        add = clap_complete::engine::ArgValueCandidates::new(crate::commands::list::candidates)
    )]
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
    Export(FetchArgs),
    /// Print credentials for AWS `credential_process` ({"Version":1,…}).
    Process(FetchArgs),
    /// Sign in (for Claude Code's `awsAuthRefresh`); instructions go to stdout.
    Login(LoginArgs),
    /// Sign out: revoke the sign-in's tokens and delete cached credentials.
    Logout(LogoutArgs),
    /// Delete cached credentials (not sign-ins): the next use fetches new ones.
    Clear(ClearArgs),
    /// List every profile with its source, sign-in state and credentials' expiry.
    List(ListArgs),
    /// Show the profile's source chain, the store in use, and what is cached.
    Status(StatusArgs),
    /// Check the whole setup and say what to fix.
    ///
    /// Config, profile, store, sign-in, STS GetCallerIdentity, Bedrock in the region Claude
    /// Code uses (ListInferenceProfiles: the Claude inference profiles there and whether the
    /// configured models are among them, or the IAM action missing; with --invoke one
    /// InvokeModel), and Claude Code's settings as it merges them. Never signs in. Bedrock
    /// endpoints as Claude Code picks them: ANTHROPIC_BEDROCK_BASE_URL, else
    /// AWS_ENDPOINT_URL_BEDROCK / AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else AWS_ENDPOINT_URL.
    Doctor(DoctorArgs),
    /// Print the JSON headers for Claude Code's otelHeadersHelper: who you are, from the
    /// profile's configuration and cache only (no request, no sign-in; `{}` when nothing
    /// is known).
    ///
    /// Headers (names of the AWS guidance "Claude Code with Amazon Bedrock" where it has
    /// them): x-user-email, x-user-id (the ID token's subject, hashed as the guidance
    /// does), x-user-name and x-user-groups from an external identity provider's ID token;
    /// x-role and x-aws-account-id from the IAM Identity Center role or the last role
    /// assumed. Values are ASCII (anything else percent-encoded), at most 256 characters.
    OtelHeaders,
    /// Run a command with the profile's credentials in its environment.
    Exec(ExecArgs),
    /// Print the profile's credentials as environment variable assignments.
    Env(EnvArgs),
    /// Print a short-term Amazon Bedrock API key (AWS_BEARER_TOKEN_BEDROCK), minted from
    /// the profile's credentials; Claude Desktop's credential helper runs it.
    ///
    /// The key is minted locally from the cached credentials (no request) and lives at most
    /// 12 hours, never past the credentials. Run by Claude Desktop with CLAUDE_HELPER_CONTEXT
    /// other than `interactive`, it never signs in: it fails at once with a hint instead.
    BedrockToken(BedrockTokenArgs),
    /// Serve the profile's credentials on 127.0.0.1 in the AWS container format, refreshed
    /// as they age, for long-running programs (AWS_CONTAINER_CREDENTIALS_FULL_URI).
    Serve(ServeArgs),
    /// Configure Claude Code, Claude Desktop or an AWS CLI profile to use awscred.
    #[command(subcommand)]
    Setup(SetupCommand),
    /// Open the AWS console signed in with the profile's credentials (or print the URL).
    Console(ConsoleArgs),
    /// The AWS access portal of an IAM Identity Center sign-in: list the accounts and roles
    /// you can use, and write a profile for each.
    #[command(subcommand)]
    Sso(SsoCommand),
    /// Print a shell completion script (it asks awscred for profile names as you type).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}

/// Options of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also call the configured model once (InvokeModel, one output token): ANTHROPIC_MODEL,
    /// else the region's newest Sonnet inference profile.
    #[arg(long)]
    pub invoke: bool,
}

/// Options of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of commands that hand out credentials.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Ignore the cached credentials of every step this once (never the sign-in).
    #[arg(long)]
    pub refresh: bool,
}

/// Options of `logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Sign out of everything and delete everything awscred stored, in every store.
    #[arg(long)]
    pub all: bool,
}

/// Options of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long, conflicts_with = "names")]
    pub json: bool,
    /// Print the profile names only, one a line (for scripts).
    #[arg(long)]
    pub names: bool,
}

/// Options of `clear`.
#[derive(Debug, Args)]
pub struct ClearArgs {
    /// Every profile in the AWS config, not only the one named.
    #[arg(long)]
    pub all: bool,
}

/// Options of `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Give the command a credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) that
    /// refreshes, instead of fixed keys; it stops when the command ends.
    #[arg(long)]
    pub server: bool,
    /// With --server: the port on 127.0.0.1 (default: a free port).
    #[arg(long, value_name = "PORT", requires = "server")]
    pub port: Option<u16>,
    /// With --server: give the token in a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)
    /// instead of AWS_CONTAINER_AUTHORIZATION_TOKEN.
    #[arg(long, requires = "server")]
    pub token_file: bool,
    /// The profile (as `--profile`; aws-vault's `exec PROFILE -- CMD`).
    #[arg(id = "exec_profile", value_name = "PROFILE")]
    pub profile: Option<String>,
    /// The command and its arguments, after `--` (default: your shell, marked with
    /// AWSCRED_PROFILE).
    #[arg(last = true, allow_hyphen_values = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
    /// Region for the command (AWS_REGION and AWS_DEFAULT_REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// DurationSeconds of the chain's last AssumeRole, or of the GetSessionToken that
    /// long-term keys are exchanged through (e.g. 3600, 1h; 900 s to 12 h).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Allow starting inside another `awscred exec` of a different profile.
    #[arg(long)]
    pub nested: bool,
    /// Give the command a short-term Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) and
    /// AWS_REGION instead of AWS keys.
    ///
    /// Claude Code prefers the key over any AWS credentials and never refreshes it: the key
    /// lives as long as the profile's credentials (at most 12 hours); start the command
    /// again when it expires.
    #[arg(long, conflicts_with_all = ["server"])]
    pub bedrock_token: bool,
    /// Ignore the cached credentials of every step this once (never the sign-in).
    #[arg(long)]
    pub refresh: bool,
}

/// What `bedrock-token` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenFormat {
    /// The bare key and a newline.
    Token,
    /// `{"token":"…","expiration":"…Z"}`.
    Json,
}

/// Options of `bedrock-token`.
#[derive(Debug, Args)]
pub struct BedrockTokenArgs {
    /// Bedrock region name; the key works there only (default: AWS_REGION, then the
    /// profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// Longest life of the key (e.g. 3600, 1h; 15m to 12h; default 12h). It never outlives
    /// the credentials it is minted from.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// How long the program that asks keeps the key (Claude Desktop's
    /// inferenceCredentialHelperTtlSec; default 1h): credentials with less than this and 5
    /// minutes left are refreshed first when the source gives longer ones.
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "token")]
    pub format: TokenFormat,
    /// Ignore the cached credentials of every step this once (never the sign-in).
    #[arg(long)]
    pub refresh: bool,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port on 127.0.0.1 (default: a free port).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Write the token to a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, removed at exit)
    /// instead of printing it as AWS_CONTAINER_AUTHORIZATION_TOKEN.
    #[arg(long)]
    pub token_file: bool,
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
    /// Windows cmd.exe: set "NAME=value" lines (refuses values it cannot quote).
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
    /// Ignore the cached credentials of every step this once (never the sign-in).
    #[arg(long)]
    pub refresh: bool,
}

/// What `setup` configures.
#[derive(Debug, Subcommand)]
pub enum SetupCommand {
    /// Write awsCredentialExport, awsAuthRefresh and the Bedrock env into Claude Code's settings.
    Claude(SetupClaudeArgs),
    /// Add `credential_process = awscred process --profile P` to an AWS CLI profile.
    AwsProfile(SetupAwsProfileArgs),
    /// Make Claude Desktop (third-party inference on Bedrock) get its keys from
    /// `awscred bedrock-token`.
    ///
    /// Sets enterpriseConfig in Claude Desktop's claude_desktop_config.json (in Claude-3p),
    /// with inferenceCredentialHelper the program Claude Desktop runs, with no arguments,
    /// for each key. On macOS that is a launcher beside the configuration
    /// (awscred-bedrock-token, mode 0700) running awscred bedrock-token --profile P
    /// --region R. On Windows, where Claude Desktop cannot run a .cmd file, it is
    /// awscred.exe itself (its PATH entry, such as a Scoop shim, when there is one): run with
    /// no arguments and CLAUDE_HELPER_CONTEXT set, awscred reads the profile, region and ttl
    /// from awscred-desktop.json beside the configuration, else from
    /// C:\ProgramData\awscred\awscred-desktop.json (a managed roll-out).
    ClaudeDesktop(SetupClaudeDesktopArgs),
}

/// The systems Claude Desktop runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DesktopPlatform {
    /// macOS.
    Macos,
    /// Windows.
    Windows,
}

/// Options of `setup claude-desktop`.
#[derive(Debug, Args)]
pub struct SetupClaudeDesktopArgs {
    /// Bedrock region name, such as eu-west-1 (default: AWS_REGION, then the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// The system to configure (default: this one; Claude Desktop has no Linux version).
    #[arg(long, value_enum)]
    pub platform: Option<DesktopPlatform>,
    /// Print a managed-preferences file for an administrator to roll out instead (a
    /// .mobileconfig for macOS, a .reg for Windows), and on stderr the file to install on
    /// every machine (the macOS launcher, or Windows'
    /// C:\ProgramData\awscred\awscred-desktop.json); managed preferences win over the
    /// user's configuration file.
    #[arg(long)]
    pub managed: bool,
    /// Show the change without writing it.
    #[arg(long)]
    pub dry_run: bool,
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
    /// Also write otelHeadersHelper (`awscred otel-headers --profile P`): Claude Code's
    /// telemetry export then carries who you are (x-user-email, x-user-id, x-user-name,
    /// x-user-groups, x-role, x-aws-account-id), never a secret.
    #[arg(long)]
    pub otel_headers: bool,
    /// Show the change without writing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `setup aws-profile`.
#[derive(Debug, Args)]
pub struct SetupAwsProfileArgs {
    /// The AWS CLI profile to create or update (one word, no brackets or quotes).
    pub name: String,
    /// Region for the profile (default: the source profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// Add credential_process even though the profile has other credential settings
    /// (which the AWS CLI would then use instead, or in conflict).
    #[arg(long)]
    pub force: bool,
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

/// Options of `console`.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Print the sign-in URL on stdout instead of opening a browser. Whoever opens it is
    /// signed in to the console for up to 15 minutes: treat it as a password.
    #[arg(long)]
    pub print: bool,
    /// How long the console session lasts (e.g. 3600, 1h). Role sessions (IAM Identity
    /// Center, AssumeRole): 900 s to 12 h (without it, AWS Sign-In's default). An IAM user's
    /// long-term keys: the lifetime of the federation token awscred gets for them, 900 s to
    /// 36 h (default 1 h). Refused for other temporary credentials, whose session lasts as
    /// long as they do.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Where the console opens: a full https console URL, or a service name (s3, ec2,
    /// bedrock) for that service's page in the profile's region (default: the console home).
    #[arg(long, value_name = "URL|SERVICE")]
    pub destination: Option<String>,
    /// Ignore the cached credentials of every step this once (never the sign-in).
    #[arg(long)]
    pub refresh: bool,
}

/// What `sso` does.
#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// List the accounts and roles the access portal lets you use.
    List(SsoListArgs),
    /// Write one profile per account and role into ~/.aws/config.
    ///
    /// Generated profiles carry `awscred_generated = <sso-session>`: a later run updates
    /// them, removes those whose account or role is gone, and keeps (and reports) those you
    /// changed (a key added, or the account or role changed); a changed region is set back
    /// (choose it with --region). Profiles you wrote are never touched; a name that is taken
    /// is reported and skipped.
    ///
    /// The profiles use `sso_session`, `sso_account_id` and `sso_role_name`: awscred, the
    /// AWS CLI and the SDKs read them. The AWS CLI and the SDKs need their own sign-in
    /// (`aws sso login`) unless the [sso-session] section has
    /// `awscred_share_sso_cache = true`, which makes `awscred login` share its token with
    /// them. With --credential-process they call awscred instead and need nothing else.
    Populate(SsoPopulateArgs),
}

/// Options of `sso list`.
#[derive(Debug, Args)]
pub struct SsoListArgs {
    /// The [sso-session] to list (default: the only one, or the profile's).
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `sso populate`.
#[derive(Debug, Args)]
pub struct SsoPopulateArgs {
    /// The [sso-session] whose accounts and roles become profiles.
    #[arg(long, value_name = "NAME")]
    pub sso_session: String,
    /// Profile names, from {account_name}, {account_id} and {role_name}; characters a
    /// profile name cannot hold (spaces, brackets, quotes, # and ;) become `-`.
    #[arg(long, default_value = "{account_name}.{role_name}")]
    pub template: String,
    /// The profiles' region (default: the sso-session's sso_region).
    #[arg(long)]
    pub region: Option<String>,
    /// Show the changes without writing them.
    #[arg(long)]
    pub dry_run: bool,
    /// Write `credential_process = awscred process --profile NAME.sso` profiles (for tools
    /// that must not sign in themselves), each with a hidden `NAME.sso` profile holding the
    /// IAM Identity Center settings.
    #[arg(long)]
    pub credential_process: bool,
}
