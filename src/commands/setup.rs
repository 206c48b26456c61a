//! `awscred setup claude` and `awscred setup aws-profile`.

use crate::claude::{self, Setup, models};
use crate::cli::{SetupAwsProfileArgs, SetupClaudeArgs};
use crate::clock::{Clock, SystemClock};
use crate::config::{self, AwsFiles, edit};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::safe_write::{self, Backups, MODE_PRIVATE, MODE_SHARED, Place};
use crate::ui::Sink;
use std::path::PathBuf;
use std::process::ExitCode;

/// How Claude Code and AWS config should call awscred: `awscred` when that name on PATH
/// is this binary, else this binary's full path.
pub fn awscred_command(env: &Environment) -> String {
    let Ok(me) = std::env::current_exe() else {
        return "awscred".into();
    };
    let me_real = fs_err::canonicalize(&me).unwrap_or_else(|_| me.clone());
    let exe_name = if cfg!(windows) {
        "awscred.exe"
    } else {
        "awscred"
    };
    if let Some(path) = env.get("PATH") {
        for dir in std::env::split_paths(path) {
            let candidate = dir.join(exe_name);
            if fs_err::canonicalize(&candidate).is_ok_and(|c| c == me_real) {
                return "awscred".into();
            }
        }
    }
    me.to_string_lossy().into_owned()
}

/// Replaces the file, keeping a private copy of `old` in awscred's state directory.
fn write_with_backup(
    env: &Environment,
    place: &Place,
    old: Option<&str>,
    new: &str,
    new_mode: u32,
) -> Result<Option<PathBuf>> {
    let dir = env.state_dir().ok_or_else(|| {
        Error::user("cannot find a directory for backups: no home directory").with_hint("set HOME")
    })?;
    safe_write::write_with_backup(
        place,
        old.map(str::as_bytes),
        new.as_bytes(),
        new_mode,
        &Backups::new(dir),
        SystemClock.now(),
    )
}

/// The model variables `args` asks for, each checked against `region`: refused when its
/// inference profile cannot be called from there, written with a warning when awscred
/// does not know its prefix.
fn models_asked(
    args: &SetupClaudeArgs,
    region: &str,
    profile: &str,
) -> Result<Vec<(&'static str, String)>> {
    if args.default_models {
        return Err(Error::user(
            "--default-models is gone: Claude Code picks current models and the inference-profile prefix for the region itself",
        )
        .with_hint(format!(
            "run awscred setup claude --profile {profile} without --default-models, or name a model with --model, --opus-model, --sonnet-model or --haiku-model"
        )));
    }
    if args.small_fast_model.is_some() {
        crate::log::warn(
            "--small-fast-model is deprecated (Claude Code reads ANTHROPIC_DEFAULT_HAIKU_MODEL now): writing it as --haiku-model",
        );
    }
    let asked = [
        ("ANTHROPIC_MODEL", "--model", &args.model),
        (
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "--opus-model",
            &args.opus_model,
        ),
        (
            "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "--sonnet-model",
            &args.sonnet_model,
        ),
        (
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "--haiku-model",
            if args.small_fast_model.is_some() {
                &args.small_fast_model
            } else {
                &args.haiku_model
            },
        ),
    ];
    let mut out = Vec::new();
    for (var, flag, value) in asked {
        let Some(id) = value else { continue };
        match models::check(id, region) {
            models::Verdict::Fine => {}
            models::Verdict::Warn(w) => crate::log::warn(&w),
            models::Verdict::Refuse(why, instead) => {
                return Err(Error::user(why).with_hint(format!(
                    "use {flag} {} (the prefix for {region})",
                    claude::shell_quote(&instead, cfg!(windows))
                )));
            }
        }
        out.push((var, id.clone()));
    }
    Ok(out)
}

/// The region a Claude setup writes: `asked` (--region), else the profile's (or
/// AWS_REGION's). The profile must resolve. `product` names what is being set up in
/// messages ("Claude Code"), `command` is the setup subcommand the hint runs again.
pub(crate) fn region(
    env: &Environment,
    profile: &str,
    asked: Option<&str>,
    product: &str,
    command: &str,
) -> Result<String> {
    if let Some(r) = asked
        && !models::is_region(r)
    {
        return Err(Error::user(format!("--region {r:?} is not a region name"))
            .with_hint("give a name such as --region us-east-1 or --region eu-west-1"));
    }
    let files = AwsFiles::load(env)?;
    let chain = config::resolve::resolve(&files, profile, env)?;
    let again = || format!("run awscred setup {command} --profile {profile} --region us-east-1");
    let region = asked
        .map(str::to_string)
        .or(chain.settings.region)
        .ok_or_else(|| {
            Error::user(format!(
                "no region for {product}: profile `{profile}` has none and AWS_REGION is unset"
            ))
            .with_hint(again())
        })?;
    if !models::is_region(&region) {
        return Err(Error::user(format!(
            "the region of profile `{profile}` ({region:?}) is not a region name"
        ))
        .with_hint(again()));
    }
    Ok(region)
}

/// `awscred setup claude`.
pub fn claude(env: &Environment, profile: &str, args: &SetupClaudeArgs) -> Result<ExitCode> {
    // The profile must resolve, or Claude Code would run a command that cannot work.
    let region = region(
        env,
        profile,
        args.region.as_deref(),
        "Claude Code",
        "claude",
    )?;
    let exe = awscred_command(env);
    let windows = cfg!(windows);
    let setup = Setup {
        export_command: claude::command_line(&exe, "export", profile, windows),
        refresh_command: claude::command_line(&exe, "login", profile, windows),
        models: models_asked(args, &region, profile)?,
        region,
        token_limits: !args.no_token_limits,
        remove_aws_profile: args.remove_aws_profile,
        remove_stale_models: args.remove_stale_models,
        otel_headers_command: args
            .otel_headers
            .then(|| claude::command_line(&exe, "otel-headers", profile, windows)),
    };
    let cwd = std::env::current_dir()
        .map_err(|e| Error::unexpected("cannot read the current directory").caused_by(&e))?;
    let place = claude::settings_place(
        args.scope,
        env.home().as_deref(),
        env.get("CLAUDE_CONFIG_DIR"),
        &cwd,
    );
    let path = place.path();
    let old = safe_write::read(&place)?;
    let merged = claude::merge(old.as_deref(), &path, &setup)?;
    let out = Sink::Stdout;
    let scope = args.scope.name();
    if let Some(p) = &merged.aws_profile {
        out.line(&format!(
            "Note: env.AWS_PROFILE = {p:?} stays in {}: Claude Code hands it, and the Bedrock identity, to every process it starts. If no other tool of yours needs it there, run awscred setup claude --profile {profile} --scope {scope} --remove-aws-profile.",
            path.display()
        ));
    }
    for (k, v) in &merged.stale_models {
        out.line(&format!(
            "Note: env.{k} = {v:?} in {} is a year-old default an earlier awscred wrote; Claude Code picks current models itself. Remove it with awscred setup claude --profile {profile} --scope {scope} --remove-stale-models (add --dry-run to see the change first).",
            path.display()
        ));
    }
    if merged.changes.is_empty() {
        out.line(&format!(
            "{} already uses awscred for profile {profile}; nothing to change.",
            path.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    out.line(&format!(
        "{}{}:",
        if args.dry_run {
            "Would change "
        } else {
            "Changing "
        },
        path.display()
    ));
    for c in &merged.changes {
        out.line(&format!("  {c}"));
    }
    if merged.rewritten {
        out.line(&format!(
            "{} has repeated keys, so it {} rewritten whole (the last of each repeated key kept) rather than edited in place.",
            path.display(),
            if args.dry_run { "would be" } else { "is" }
        ));
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let backup = write_with_backup(env, &place, old.as_deref(), &merged.text, MODE_SHARED)?;
    if let Some(b) = backup {
        out.line(&format!("The previous file is kept as {}.", b.display()));
    }
    out.line(&format!(
        "Claude Code will run `{}` for credentials.",
        setup.export_command
    ));
    if matches!(args.scope, claude::Scope::Project | claude::Scope::Local) {
        out.line(
            "Claude Code runs commands from project or local settings only after you trust this workspace when it asks.",
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Credential settings that `credential_process` would compete with in one profile.
const OTHER_CREDENTIAL_KEYS: &[&str] = &[
    "sso_session",
    "sso_start_url",
    "role_arn",
    "source_profile",
    "credential_source",
    "web_identity_token_file",
    "aws_access_key_id",
    "awscred_oidc_issuer",
];

/// A profile name botocore reads back as the same name: `[profile NAME]` must split into
/// exactly two words, and the header must stay one line.
pub(crate) fn check_profile_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "[]\"'\\#;".contains(c));
    if bad {
        return Err(Error::user(format!(
            "`{}` cannot be a profile name in ~/.aws/config",
            crate::remote::text(name)
        ))
        .with_hint(
            "use letters, digits and - _ . @ + = , / : (no spaces, brackets, quotes, # or ;)",
        ));
    }
    Ok(())
}

/// `awscred setup aws-profile NAME --profile P`: a profile the AWS CLI and every SDK use
/// through `credential_process = awscred process --profile P`, with the region.
pub fn aws_profile(
    env: &Environment,
    profile: &str,
    args: &SetupAwsProfileArgs,
) -> Result<ExitCode> {
    if args.name == profile {
        return Err(Error::user(format!(
            "profile `{profile}` cannot run awscred for itself: awscred reads its sso_* or role settings"
        ))
        .with_hint(format!("run awscred setup aws-profile {profile}-cli --profile {profile}")));
    }
    check_profile_name(&args.name)?;
    let files = AwsFiles::load(env)?;
    let source = config::resolve::resolve(&files, profile, env)?;
    let region = match &args.region {
        Some(r) => Some(config::resolve::check_region(r, "--region")?),
        None => source.settings.region.clone(),
    };
    let path = env.config_file();
    if !args.force
        && let Some(section) = files
            .config
            .get(config::parse::SectionKind::Profile, &args.name)?
        && let Some(key) = OTHER_CREDENTIAL_KEYS
            .iter()
            .find(|k| section.get(k).is_some())
    {
        return Err(Error::user(format!(
            "[profile {}] in {} already has {key}: with credential_process added, the AWS CLI would use one or the other",
            args.name,
            path.display()
        ))
        .with_hint(format!(
            "choose a new name (awscred setup aws-profile {}-cli --profile {profile}), or pass --force",
            args.name
        )));
    }
    let place = Place::Own(path.clone());
    let old = safe_write::read(&place)?.unwrap_or_default();
    let value = claude::command_line(&awscred_command(env), "process", profile, cfg!(windows));
    let with_region = match &region {
        Some(r)
            if files
                .config
                .get(config::parse::SectionKind::Profile, &args.name)?
                .is_none_or(|s| s.get("region").is_none()) =>
        {
            edit::set_profile_key(&old, &args.name, "region", r)
        }
        _ => None,
    };
    let base = with_region.as_deref().unwrap_or(&old);
    let new = edit::set_profile_key(base, &args.name, "credential_process", &value)
        .or(with_region.clone());
    let Some(new) = new else {
        Sink::Stdout.line(&format!(
            "[profile {}] in {} already runs awscred; nothing to change.",
            args.name,
            path.display()
        ));
        return Ok(ExitCode::SUCCESS);
    };
    let out = Sink::Stdout;
    if args.dry_run {
        out.line(&format!(
            "Would set in [profile {}] of {}:",
            args.name,
            path.display()
        ));
        if with_region.is_some()
            && let Some(r) = &region
        {
            out.line(&format!("  region = {r}"));
        }
        out.line(&format!("  credential_process = {value}"));
        return Ok(ExitCode::SUCCESS);
    }
    // The config may hold secrets (an SSO client secret, static keys), so a new one is
    // private.
    let backup = write_with_backup(
        env,
        &place,
        (!old.is_empty()).then_some(old.as_str()),
        &new,
        MODE_PRIVATE,
    )?;
    out.line(&format!(
        "Set credential_process = {value} in [profile {}] of {}.",
        args.name,
        path.display()
    ));
    if let Some(b) = backup {
        out.line(&format!("The previous file is kept as {}.", b.display()));
    }
    Ok(ExitCode::SUCCESS)
}
