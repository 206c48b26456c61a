//! Claude Code integration: writing `settings.json` and spotting its pitfalls.
//!
//! `awscred setup claude` merges three things into the chosen settings file as a minimal
//! textual edit (key order, indentation and unknown keys stay): `awsCredentialExport`
//! (`awscred export --profile P`), `awsAuthRefresh` (`awscred login --profile P`) and `env`
//! entries (`CLAUDE_CODE_USE_BEDROCK=1`, `AWS_REGION`, the recommended token limits, models
//! only when asked). It never writes `AWS_PROFILE` into `env` (Claude Code would hand the
//! Bedrock identity to every process it starts) and removes one only when asked, since the
//! user's other tools may rely on it. `doctor` evaluates every settings file the way Claude
//! Code merges them (managed > local > project > user). Everything here is pure text-in,
//! text-out, so it is tested without files.

use crate::error::{Error, Result};
use crate::safe_write::Place;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub mod desktop;
mod json_edit;
pub mod models;

use json_edit::Editor;

/// Recommended by the Claude Code Bedrock docs.
pub const RECOMMENDED_ENV: [(&str, &str); 2] = [
    ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096"),
    ("MAX_THINKING_TOKENS", "1024"),
];

/// The settings keys holding commands Claude Code runs; a higher source replaces them
/// whole.
pub const HELPER_KEYS: [&str; 4] = [
    "awsCredentialExport",
    "awsAuthRefresh",
    "otelHeadersHelper",
    "apiKeyHelper",
];

/// Which settings file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// `~/.claude/settings.json` (or `$CLAUDE_CONFIG_DIR/settings.json`).
    User,
    /// `.claude/settings.json` in the current directory (shared with the project).
    Project,
    /// `.claude/settings.local.json` in the current directory (not committed).
    Local,
    /// The machine-wide managed settings file (administrators).
    Managed,
}

/// The settings file of a scope.
pub fn settings_path(
    scope: Scope,
    home: Option<&Path>,
    config_dir: Option<&str>,
    cwd: &Path,
) -> PathBuf {
    match scope {
        Scope::User => match config_dir {
            Some(d) => PathBuf::from(d).join("settings.json"),
            None => home
                .unwrap_or(Path::new("."))
                .join(".claude")
                .join("settings.json"),
        },
        Scope::Project => cwd.join(".claude").join("settings.json"),
        Scope::Local => cwd.join(".claude").join("settings.local.json"),
        Scope::Managed => managed_path(),
    }
}

/// The settings file of a scope, with how far links on the way to it are trusted: the
/// project and local files are inside a checkout whose contents a repository decides, so
/// `.claude` and the file are never followed there when they are links.
pub fn settings_place(
    scope: Scope,
    home: Option<&Path>,
    config_dir: Option<&str>,
    cwd: &Path,
) -> Place {
    let inside = |name: &str| Place::Inside {
        root: cwd.to_path_buf(),
        rel: vec![".claude".into(), name.into()],
    };
    match scope {
        Scope::Project => inside("settings.json"),
        Scope::Local => inside("settings.local.json"),
        Scope::User | Scope::Managed => Place::Own(settings_path(scope, home, config_dir, cwd)),
    }
}

fn managed_path() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/ClaudeCode/managed-settings.json")
    } else if cfg!(windows) {
        PathBuf::from(r"C:\Program Files\ClaudeCode\managed-settings.json")
    } else {
        PathBuf::from("/etc/claude-code/managed-settings.json")
    }
}

/// Quotes one word for the shell Claude Code runs commands with (`sh` on Unix, `cmd` on
/// Windows); plain words stay as they are.
pub fn shell_quote(word: &str, windows: bool) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c) || (windows && c == '\\')
        });
    if plain {
        return word.to_string();
    }
    if windows {
        format!("\"{}\"", word.replace('"', "\"\""))
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `<exe> <subcommand> --profile <profile>`, quoted for the platform.
pub fn command_line(exe: &str, subcommand: &str, profile: &str, windows: bool) -> String {
    format!(
        "{} {subcommand} --profile {}",
        shell_quote(exe, windows),
        shell_quote(profile, windows)
    )
}

/// What `setup claude` writes.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `awsCredentialExport`.
    pub export_command: String,
    /// `awsAuthRefresh`.
    pub refresh_command: String,
    /// `AWS_REGION`.
    pub region: String,
    /// Model variables to set (`ANTHROPIC_MODEL`, `ANTHROPIC_DEFAULT_*_MODEL`), when asked.
    pub models: Vec<(&'static str, String)>,
    /// Whether to add the recommended output-token settings (a value already there stays).
    pub token_limits: bool,
    /// Whether to remove `env.AWS_PROFILE`.
    pub remove_aws_profile: bool,
    /// Whether to remove the model ids an earlier awscred wrote.
    pub remove_stale_models: bool,
    /// `otelHeadersHelper`, when asked.
    pub otel_headers_command: Option<String>,
}

/// One change to the settings, for `--dry-run` and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A key set (with its old value, if any).
    Set {
        /// Dotted key.
        key: String,
        /// Old value.
        old: Option<String>,
        /// New value.
        new: String,
    },
    /// A key removed.
    Removed {
        /// Dotted key.
        key: String,
        /// Old value.
        old: String,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Set {
                key,
                old: None,
                new,
            } => write!(f, "+ {key} = {new}"),
            Change::Set {
                key,
                old: Some(o),
                new,
            } => write!(f, "~ {key} = {new} (was {o})"),
            Change::Removed { key, old } => write!(f, "- {key} (was {old})"),
        }
    }
}

pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The result of [`merge`].
#[derive(Debug, Clone)]
pub struct Merged {
    /// The new text.
    pub text: String,
    /// What changed; empty when the file is already right.
    pub changes: Vec<Change>,
    /// The file could not be edited in place (duplicate keys) and was rewritten whole.
    pub rewritten: bool,
    /// `env.AWS_PROFILE`, left in place because removing it was not asked for.
    pub aws_profile: Option<String>,
    /// Model ids an earlier awscred wrote, left in place: (variable, value).
    pub stale_models: Vec<(String, String)>,
}

/// The settings `text` of `file` as a JSON object; anything else is the user's to fix.
pub(crate) fn parse_object(text: &str, file: &Path) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(not_object(file, "the top level")),
        Err(e) => Err(Error::user(format!("{} is not valid JSON", file.display()))
            .caused_by(&e)
            .with_hint(format!(
                "fix {} by hand; awscred left it unchanged",
                file.display()
            ))),
    }
}

/// An editor over `text`, and whether the text had to be rewritten: what the editor
/// declines (duplicate keys) is rewritten whole as pretty JSON, as a JSON reader sees it
/// (`parsed`, the same text read by serde_json).
pub(crate) fn editor(text: &str, parsed: Map<String, Value>) -> Result<(Editor, bool)> {
    if let Some(ed) = Editor::new(text) {
        return Ok((ed, false));
    }
    let mut pretty = serde_json::to_string_pretty(&Value::Object(parsed))
        .map_err(|e| Error::unexpected("cannot encode the settings").caused_by(&e))?;
    pretty.push('\n');
    let ed = Editor::new(&pretty)
        .ok_or_else(|| Error::unexpected("cannot edit the settings awscred encoded"))?;
    Ok((ed, true))
}

pub(crate) fn not_object(file: &Path, what: &str) -> Error {
    Error::user(format!("{what} in {} is not a JSON object", file.display())).with_hint(format!(
        "fix {} by hand; awscred left it unchanged",
        file.display()
    ))
}

/// Merges `setup` into the existing settings text (`None` for a new file) as a minimal
/// edit: every key, its place and the file's indentation stay as they were.
pub fn merge(existing: Option<&str>, file: &Path, setup: &Setup) -> Result<Merged> {
    let text = match existing {
        Some(t) if !t.trim().is_empty() => t,
        _ => "{}\n",
    };
    let parsed = parse_object(text, file)?;
    if parsed.get("env").is_some_and(|e| !e.is_object()) {
        return Err(not_object(file, "`env`"));
    }
    let (mut ed, rewritten) = editor(text, parsed)?;
    let mut changes = Vec::new();
    let mut set = |ed: &mut Editor, path: &[&str], value: &str| -> Result<()> {
        let new = Value::String(value.to_string());
        let old = ed.get(path);
        if old.as_ref() != Some(&new) {
            ed.set(path, &new)
                .ok_or_else(|| not_object(file, &format!("`{}`", path[0])))?;
            changes.push(Change::Set {
                key: path.join("."),
                old: old.as_ref().map(show),
                new: show(&new),
            });
        }
        Ok(())
    };
    set(&mut ed, &["awsCredentialExport"], &setup.export_command)?;
    set(&mut ed, &["awsAuthRefresh"], &setup.refresh_command)?;
    if let Some(otel) = &setup.otel_headers_command {
        set(&mut ed, &["otelHeadersHelper"], otel)?;
    }
    set(&mut ed, &["env", "CLAUDE_CODE_USE_BEDROCK"], "1")?;
    set(&mut ed, &["env", "AWS_REGION"], &setup.region)?;
    if setup.token_limits {
        for (k, v) in RECOMMENDED_ENV {
            if ed.get(&["env", k]).is_none() {
                set(&mut ed, &["env", k], v)?;
            }
        }
    }
    for (k, v) in &setup.models {
        set(&mut ed, &["env", k], v)?;
    }
    let mut removed = Vec::new();
    let mut remove = |ed: &mut Editor, key: &str| {
        if let Some(old) = ed.get(&["env", key])
            && ed.remove(&["env", key])
        {
            removed.push(Change::Removed {
                key: format!("env.{key}"),
                old: show(&old),
            });
        }
    };
    // A Haiku model supersedes the deprecated variable.
    if setup
        .models
        .iter()
        .any(|(k, _)| *k == "ANTHROPIC_DEFAULT_HAIKU_MODEL")
    {
        remove(&mut ed, models::SMALL_FAST);
    }
    let mut stale_models = Vec::new();
    for (k, _) in models::STALE {
        if let Some(Value::String(v)) = ed.get(&["env", k])
            && models::is_stale(k, &v)
        {
            if setup.remove_stale_models {
                remove(&mut ed, k);
            } else {
                stale_models.push((k.to_string(), v));
            }
        }
    }
    let mut aws_profile = None;
    if setup.remove_aws_profile {
        remove(&mut ed, "AWS_PROFILE");
    } else if let Some(v) = ed.get(&["env", "AWS_PROFILE"]) {
        aws_profile = Some(match v {
            Value::String(s) => s,
            other => other.to_string(),
        });
    }
    changes.extend(removed);
    let mut text = ed.text().to_string();
    if existing.is_none_or(|t| t.trim().is_empty()) && !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(Merged {
        text,
        changes,
        rewritten,
        aws_profile,
        stale_models,
    })
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something `doctor` cannot check, said so.
    Note,
    /// Fine.
    Ok,
    /// Works, but not as intended.
    Warn,
    /// Broken.
    Error,
}

/// One thing `doctor` found in the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What.
    pub message: String,
    /// The command or edit that fixes it.
    pub fix: Option<String>,
}

/// One settings file Claude Code reads, with its text.
#[derive(Debug, Clone)]
pub struct Source {
    /// Which scope it belongs to.
    pub scope: Scope,
    /// Where it is.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

impl Scope {
    /// The name `--scope` takes.
    pub fn name(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Project => "project",
            Scope::Local => "local",
            Scope::Managed => "managed",
        }
    }

    /// Claude Code's precedence: managed > local > project > user.
    fn rank(self) -> u8 {
        match self {
            Scope::User => 0,
            Scope::Project => 1,
            Scope::Local => 2,
            Scope::Managed => 3,
        }
    }
}

/// The managed drop-in directory beside the managed file; its `*.json` files apply after
/// the managed file, in name order.
pub fn managed_drop_ins() -> PathBuf {
    let file = managed_path();
    file.parent()
        .unwrap_or(Path::new("."))
        .join("managed-settings.d")
}

/// The drop-in files in `dir` in the order Claude Code applies them: `*.json`, hidden
/// files left out, by name. A missing or unreadable directory has none.
pub fn drop_in_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
        .collect();
    names.sort();
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// A parsed source.
struct Read<'a> {
    src: &'a Source,
    v: Map<String, Value>,
}

/// Evaluates the settings the way Claude Code merges them and says what is wrong for
/// Bedrock with awscred. `sources` go lowest precedence first within a scope (the managed
/// file, then its drop-ins in name order); `region` is the profile's, for when `env` has
/// none.
pub fn evaluate(
    sources: &[Source],
    profile: &str,
    region: Option<&str>,
    awscred_setup: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    // Project settings come with a repository: everything shown is made inert.
    let mut f = |severity, message: String, fix: Option<String>| {
        out.push(Finding {
            severity,
            message: crate::remote::text(&message),
            fix: fix.map(|x| crate::remote::text(&x)),
        })
    };
    let mut read: Vec<Read<'_>> = Vec::new();
    for src in sources {
        match serde_json::from_str::<Value>(&src.text) {
            Ok(Value::Object(v)) => read.push(Read { src, v }),
            Ok(_) => f(
                Severity::Error,
                format!(
                    "{} is not a JSON object; Claude Code ignores it",
                    src.path.display()
                ),
                Some(format!("fix {} by hand", src.path.display())),
            ),
            Err(e) => f(
                Severity::Error,
                format!(
                    "{} is not valid JSON ({e}); Claude Code ignores it",
                    src.path.display()
                ),
                Some(format!("fix {} by hand", src.path.display())),
            ),
        }
    }
    // Stable: within a scope the given order stands.
    read.sort_by_key(|r| r.src.scope.rank());
    let at = |r: &Read<'_>| format!("{} settings ({})", r.src.scope.name(), r.src.path.display());
    let fix_in = |r: Option<&Read<'_>>, extra: &str| -> String {
        match r {
            // Managed settings are the administrator's; `extra` is then what to ask for.
            Some(r) if r.src.scope == Scope::Managed => format!(
                "ask your administrator to {} {}",
                if extra.starts_with(' ') || extra.is_empty() {
                    "change"
                } else {
                    extra
                },
                r.src.path.display()
            ),
            Some(r) => format!("{awscred_setup} --scope {}{extra}", r.src.scope.name()),
            None => format!("{awscred_setup}{extra}"),
        }
    };
    // Helpers: whole from the highest source that sets them.
    let helper = |key: &str| -> Option<(&Read<'_>, &Value)> {
        read.iter().rev().find_map(|r| r.v.get(key).map(|v| (r, v)))
    };
    let runs_awscred = |v: &Value, sub: &str| {
        v.as_str()
            .is_some_and(|c| c.contains("awscred") && c.contains(sub))
    };
    match helper("awsCredentialExport") {
        None => f(
            Severity::Warn,
            "no awsCredentialExport in any Claude Code settings".into(),
            Some(fix_in(None, "")),
        ),
        Some((r, v)) if !runs_awscred(v, " export") => {
            // The nearest source under it, a managed file under a drop-in included.
            let index = read.iter().position(|x| std::ptr::eq(x, r)).unwrap_or(0);
            let below = read[..index].iter().rev().find(|l| {
                l.v.get("awsCredentialExport")
                    .is_some_and(|x| runs_awscred(x, " export"))
            });
            match below {
                Some(l) => f(
                    Severity::Error,
                    format!(
                        "awsCredentialExport in {} overrides awscred's in {}: Claude Code runs {}",
                        at(r),
                        at(l),
                        show(v)
                    ),
                    Some(fix_in(Some(r), "")),
                ),
                None => f(
                    Severity::Warn,
                    format!(
                        "awsCredentialExport in {} does not run `awscred export` ({})",
                        at(r),
                        show(v)
                    ),
                    Some(fix_in(Some(r), "")),
                ),
            }
        }
        Some((r, v)) => {
            let cmd = v.as_str().unwrap_or_default();
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let uses = words
                .windows(2)
                .find(|w| w[0] == "--profile")
                .map(|w| w[1].trim_matches(['\'', '"']));
            if uses.is_some_and(|p| p != profile) {
                f(
                    Severity::Warn,
                    format!(
                        "awsCredentialExport in {} uses another profile than {profile} ({cmd})",
                        at(r)
                    ),
                    Some(fix_in(Some(r), "")),
                )
            } else {
                f(
                    Severity::Ok,
                    format!("awsCredentialExport runs awscred (from {})", at(r)),
                    None,
                )
            }
        }
    }
    match helper("awsAuthRefresh") {
        None => f(
            Severity::Warn,
            "no awsAuthRefresh; Claude Code cannot ask you to sign in again".into(),
            Some(fix_in(helper("awsCredentialExport").map(|(r, _)| r), "")),
        ),
        Some((r, v)) if !runs_awscred(v, " login") => f(
            Severity::Warn,
            format!(
                "awsAuthRefresh in {} does not run `awscred login` ({})",
                at(r),
                show(v)
            ),
            Some(fix_in(Some(r), "")),
        ),
        Some(_) => {}
    }
    for r in &read {
        if matches!(r.src.scope, Scope::Project | Scope::Local) {
            let keys: Vec<&str> = HELPER_KEYS
                .iter()
                .copied()
                .filter(|k| r.v.contains_key(*k))
                .collect();
            if !keys.is_empty() {
                f(
                    Severity::Warn,
                    format!(
                        "{} in {} run only after you trust this workspace in Claude Code",
                        keys.join(", "),
                        at(r)
                    ),
                    Some(format!(
                        "trust the workspace when Claude Code asks, or remove them from {} and run {awscred_setup} --scope user",
                        r.src.path.display()
                    )),
                );
            }
        }
    }
    // env: per key, from the highest source that sets it.
    let env = |key: &str| -> Option<(&Read<'_>, &Value)> {
        read.iter().rev().find_map(|r| {
            r.v.get("env")
                .and_then(Value::as_object)
                .and_then(|e| e.get(key))
                .map(|v| (r, v))
        })
    };
    let text_of = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let on = |key: &str| env(key).is_some_and(|(_, v)| matches!(text_of(v).as_str(), "1" | "true"));
    // The same helpers serve Bedrock's Mantle endpoint and Claude Platform on AWS.
    let other_aws = on("CLAUDE_CODE_USE_MANTLE") || on("CLAUDE_CODE_USE_ANTHROPIC_AWS");
    match env("CLAUDE_CODE_USE_BEDROCK") {
        Some((_, v)) if matches!(text_of(v).as_str(), "1" | "true") => {}
        None if other_aws => {}
        found => f(
            Severity::Warn,
            match found {
                Some((r, v)) => format!(
                    "env.CLAUDE_CODE_USE_BEDROCK is {} in {}; Claude Code does not use Bedrock",
                    show(v),
                    at(r)
                ),
                None => "env lacks CLAUDE_CODE_USE_BEDROCK=1".into(),
            },
            Some(fix_in(found.map(|(r, _)| r), "")),
        ),
    }
    let env_region = env("AWS_REGION").map(|(_, v)| text_of(v));
    if env_region.is_none() {
        f(
            Severity::Error,
            "env lacks AWS_REGION, which Claude Code on Bedrock requires".into(),
            Some(fix_in(None, "")),
        );
    }
    for r in &read {
        let Some(v) =
            r.v.get("env")
                .and_then(Value::as_object)
                .and_then(|e| e.get("AWS_PROFILE"))
        else {
            continue;
        };
        if r.src.scope == Scope::Managed {
            f(
                Severity::Error,
                format!(
                    "env.AWS_PROFILE = {} in {}: Claude Code then skips awsCredentialExport",
                    show(v),
                    at(r)
                ),
                Some(fix_in(Some(r), "remove env.AWS_PROFILE from")),
            );
        } else {
            f(
                Severity::Warn,
                format!(
                    "env.AWS_PROFILE = {} in {} hands that profile's Bedrock identity to every process Claude Code starts",
                    show(v),
                    at(r)
                ),
                Some(fix_in(Some(r), " --remove-aws-profile")),
            );
        }
    }
    let region = env_region
        .as_deref()
        .or(region)
        .filter(|_| on("CLAUDE_CODE_USE_BEDROCK"));
    if let (Some((r, v)), Some(region)) = (env("ANTHROPIC_BEDROCK_REGION_PREFIX"), region)
        && let Some(why) = models::check_region_prefix(&text_of(v), region)
    {
        f(Severity::Warn, format!("{why} (in {})", at(r)), None);
    }
    // The `model` setting takes a model id too.
    if let (Some((r, Value::String(id))), Some(region)) = (helper("model"), region)
        && let models::Verdict::Refuse(why, instead) = models::check(id, region)
    {
        f(
            Severity::Error,
            format!("model in {}: {why}", at(r)),
            Some(format!(
                "set \"model\": \"{instead}\" in {}",
                r.src.path.display()
            )),
        );
    }
    for var in models::MODEL_VARS {
        let Some((r, v)) = env(var) else { continue };
        let id = text_of(v);
        let flag = match var {
            "ANTHROPIC_DEFAULT_OPUS_MODEL" => "--opus-model",
            "ANTHROPIC_DEFAULT_SONNET_MODEL" => "--sonnet-model",
            "ANTHROPIC_MODEL" => "--model",
            _ => "--haiku-model",
        };
        if models::is_stale(var, &id) {
            f(
                Severity::Warn,
                format!(
                    "env.{var} = {id} in {} is a year-old default an earlier awscred wrote; Claude Code picks current models itself",
                    at(r)
                ),
                Some(fix_in(Some(r), " --remove-stale-models")),
            );
            continue;
        }
        if var == models::SMALL_FAST {
            f(
                Severity::Warn,
                format!(
                    "env.{var} in {} is deprecated; Claude Code reads ANTHROPIC_DEFAULT_HAIKU_MODEL",
                    at(r)
                ),
                Some(fix_in(
                    Some(r),
                    &format!(" {flag} {}", shell_quote(&id, false)),
                )),
            );
        }
        let Some(region) = region else { continue };
        match models::check(&id, region) {
            models::Verdict::Fine => {}
            models::Verdict::Warn(w) => f(Severity::Warn, format!("env.{var}: {w}"), None),
            models::Verdict::Refuse(why, instead) => f(
                Severity::Error,
                format!("env.{var} in {}: {why}", at(r)),
                Some(fix_in(
                    Some(r),
                    &format!(" {flag} {}", shell_quote(&instead, false)),
                )),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            export_command: "awscred export --profile bedrock".into(),
            refresh_command: "awscred login --profile bedrock".into(),
            region: "us-east-1".into(),
            models: Vec::new(),
            token_limits: true,
            remove_aws_profile: false,
            remove_stale_models: false,
            otel_headers_command: None,
        }
    }

    fn merged(existing: &str, s: &Setup) -> Merged {
        merge(Some(existing), Path::new("s.json"), s).unwrap()
    }

    #[test]
    fn new_file_gets_everything_and_no_models() {
        let m = merge(None, Path::new("s.json"), &setup()).unwrap();
        assert_eq!(
            m.text,
            r#"{
  "awsCredentialExport": "awscred export --profile bedrock",
  "awsAuthRefresh": "awscred login --profile bedrock",
  "env": {
    "CLAUDE_CODE_USE_BEDROCK": "1",
    "AWS_REGION": "us-east-1",
    "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "4096",
    "MAX_THINKING_TOKENS": "1024"
  }
}
"#
        );
        assert_eq!(m.changes.len(), 6);
        assert!(!m.rewritten);
    }

    #[test]
    fn an_edit_keeps_order_indentation_and_unknown_keys() {
        let existing = "{\n    \"env\": {\n        \"FOO\": \"bar\",\n        \"MAX_THINKING_TOKENS\": \"2048\"\n    },\n    \"theme\": \"dark\",\n    \"permissions\": {\"allow\": [\"Bash(ls)\"]},\n    \"awsAuthRefresh\": \"old\"\n}\n";
        let m = merged(existing, &setup());
        assert_eq!(
            m.text,
            "{\n    \"env\": {\n        \"FOO\": \"bar\",\n        \"MAX_THINKING_TOKENS\": \"2048\",\n        \"CLAUDE_CODE_USE_BEDROCK\": \"1\",\n        \"AWS_REGION\": \"us-east-1\",\n        \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"4096\"\n    },\n    \"theme\": \"dark\",\n    \"permissions\": {\"allow\": [\"Bash(ls)\"]},\n    \"awsAuthRefresh\": \"awscred login --profile bedrock\",\n    \"awsCredentialExport\": \"awscred export --profile bedrock\"\n}\n"
        );
        assert!(m.changes.contains(&Change::Set {
            key: "awsAuthRefresh".into(),
            old: Some("\"old\"".into()),
            new: "\"awscred login --profile bedrock\"".into()
        }));
        let again = merged(&m.text, &setup());
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        assert_eq!(again.text, m.text);
    }

    #[test]
    fn token_limits_can_be_left_out() {
        let mut s = setup();
        s.token_limits = false;
        let m = merged("{}", &s);
        assert!(!m.text.contains("MAX_OUTPUT_TOKENS"), "{}", m.text);
        assert!(!m.text.contains("MAX_THINKING_TOKENS"), "{}", m.text);
    }

    #[test]
    fn aws_profile_stays_unless_removing_it_is_asked() {
        let existing = r#"{"env": {"AWS_PROFILE": "old", "A": "1"}}"#;
        let m = merged(existing, &setup());
        assert!(m.text.contains("\"AWS_PROFILE\": \"old\""), "{}", m.text);
        assert_eq!(m.aws_profile.as_deref(), Some("old"));
        let mut s = setup();
        s.remove_aws_profile = true;
        let m = merged(existing, &s);
        assert!(!m.text.contains("AWS_PROFILE"), "{}", m.text);
        assert!(m.text.starts_with(r#"{"env": {"A": "1", "#), "{}", m.text);
        assert_eq!(m.aws_profile, None);
        assert!(m.changes.contains(&Change::Removed {
            key: "env.AWS_PROFILE".into(),
            old: "\"old\"".into()
        }));
    }

    #[test]
    fn models_when_asked_and_haiku_replaces_the_deprecated_variable() {
        let mut s = setup();
        s.models = vec![
            ("ANTHROPIC_MODEL", "eu.anthropic.claude-x".into()),
            (
                "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                "eu.anthropic.claude-h".into(),
            ),
        ];
        let m = merged(
            r#"{"env": {"ANTHROPIC_SMALL_FAST_MODEL": "eu.anthropic.claude-old"}}"#,
            &s,
        );
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert_eq!(v["env"]["ANTHROPIC_MODEL"], "eu.anthropic.claude-x");
        assert_eq!(
            v["env"]["ANTHROPIC_DEFAULT_HAIKU_MODEL"],
            "eu.anthropic.claude-h"
        );
        assert!(v["env"].get("ANTHROPIC_SMALL_FAST_MODEL").is_none());
    }

    #[test]
    fn stale_models_are_found_and_removed_when_asked() {
        let existing = format!(
            r#"{{"env": {{"ANTHROPIC_MODEL": "{}", "ANTHROPIC_SMALL_FAST_MODEL": "{}", "ANTHROPIC_DEFAULT_OPUS_MODEL": "us.anthropic.claude-3-7-sonnet-20250219-v1:0"}}}}"#,
            models::STALE[0].1,
            models::STALE[1].1
        );
        let m = merged(&existing, &setup());
        assert_eq!(m.stale_models.len(), 2);
        assert!(m.text.contains(models::STALE[0].1));
        let mut s = setup();
        s.remove_stale_models = true;
        let m = merged(&existing, &s);
        assert!(m.stale_models.is_empty());
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert!(v["env"].get("ANTHROPIC_MODEL").is_none());
        assert!(v["env"].get("ANTHROPIC_SMALL_FAST_MODEL").is_none());
        assert_eq!(
            v["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"],
            models::STALE[0].1,
            "only what awscred wrote goes"
        );
    }

    #[test]
    fn repeated_keys_are_rewritten_whole_and_said() {
        let m = merged(r#"{"theme": "a", "theme": "b"}"#, &setup());
        assert!(m.rewritten);
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert_eq!(v["theme"], "b");
        assert_eq!(m.text.matches("theme").count(), 1);
    }

    #[test]
    fn broken_files_are_refused_untouched() {
        let e = merge(Some("{not json"), Path::new("/x/settings.json"), &setup()).unwrap_err();
        assert!(e.message().contains("/x/settings.json is not valid JSON"));
        assert!(merge(Some("[1]"), Path::new("s"), &setup()).is_err());
        assert!(merge(Some(r#"{"env": 3}"#), Path::new("s"), &setup()).is_err());
    }

    #[test]
    fn project_files_are_reached_without_following_links() {
        let cwd = Path::new("/repo");
        for (scope, name) in [
            (Scope::Project, "settings.json"),
            (Scope::Local, "settings.local.json"),
        ] {
            let place = settings_place(scope, Some(Path::new("/h")), None, cwd);
            assert_eq!(
                place,
                Place::Inside {
                    root: cwd.into(),
                    rel: vec![".claude".into(), name.into()]
                }
            );
            assert_eq!(place.path(), settings_path(scope, None, None, cwd));
        }
        assert_eq!(
            settings_place(Scope::User, Some(Path::new("/h")), None, cwd),
            Place::Own(PathBuf::from("/h/.claude/settings.json"))
        );
    }

    #[test]
    fn quoting_for_each_shell() {
        assert_eq!(
            shell_quote("/usr/local/bin/awscred", false),
            "/usr/local/bin/awscred"
        );
        assert_eq!(
            shell_quote("/Users/Jo Smith/bin/awscred", false),
            "'/Users/Jo Smith/bin/awscred'"
        );
        assert_eq!(shell_quote("it's", false), "'it'\\''s'");
        assert_eq!(
            shell_quote(r"C:\Program Files\awscred\awscred.exe", true),
            r#""C:\Program Files\awscred\awscred.exe""#
        );
        assert_eq!(
            shell_quote(r"C:\bin\awscred.exe", true),
            r"C:\bin\awscred.exe"
        );
        assert_eq!(
            command_line("/a b/awscred", "export", "my profile", false),
            "'/a b/awscred' export --profile 'my profile'"
        );
    }

    const SETUP: &str = "awscred setup claude --profile bedrock";

    fn src(scope: Scope, path: &str, text: &str) -> Source {
        Source {
            scope,
            path: PathBuf::from(path),
            text: text.into(),
        }
    }

    fn good() -> String {
        merge(None, Path::new("s"), &setup()).unwrap().text
    }

    fn find<'a>(f: &'a [Finding], needle: &str) -> &'a Finding {
        f.iter()
            .find(|x| x.message.contains(needle))
            .unwrap_or_else(|| panic!("no finding with {needle}: {f:#?}"))
    }

    #[test]
    fn drop_ins_are_json_files_in_name_order() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "20-b.json",
            "10-a.json",
            ".hidden.json",
            "notes.txt",
            "30.json.bak",
        ] {
            fs_err::write(d.path().join(n), "{}").unwrap();
        }
        assert_eq!(
            drop_in_files(d.path()),
            vec![d.path().join("10-a.json"), d.path().join("20-b.json")]
        );
        assert!(drop_in_files(&d.path().join("missing")).is_empty());
    }

    #[test]
    fn a_good_user_file_has_no_warnings() {
        let f = evaluate(
            &[src(Scope::User, "u.json", &good())],
            "bedrock",
            None,
            SETUP,
        );
        assert!(f.iter().all(|x| x.severity == Severity::Ok), "{f:#?}");
    }

    #[test]
    fn managed_helpers_override_awscred_whole() {
        let managed = r#"{"awsCredentialExport": "/opt/corp/creds"}"#;
        let f = evaluate(
            &[
                src(Scope::User, "u.json", &good()),
                src(
                    Scope::Managed,
                    "/etc/claude-code/managed-settings.json",
                    managed,
                ),
            ],
            "bedrock",
            None,
            SETUP,
        );
        let x = find(&f, "overrides awscred's");
        assert_eq!(x.severity, Severity::Error);
        assert!(
            x.message
                .contains("managed settings (/etc/claude-code/managed-settings.json)")
                && x.message.contains("user settings (u.json)"),
            "{}",
            x.message
        );
        assert_eq!(
            x.fix.as_deref(),
            Some("ask your administrator to change /etc/claude-code/managed-settings.json")
        );
        // A drop-in after the managed file wins over it.
        let f = evaluate(
            &[
                src(Scope::User, "u.json", &good()),
                src(Scope::Managed, "m.json", managed),
                src(
                    Scope::Managed,
                    "d/10.json",
                    r#"{"awsCredentialExport": "awscred export --profile bedrock"}"#,
                ),
            ],
            "bedrock",
            None,
            SETUP,
        );
        assert_eq!(
            find(&f, "awsCredentialExport runs awscred").message,
            "awsCredentialExport runs awscred (from managed settings (d/10.json))"
        );
    }

    #[test]
    fn env_merges_per_key_and_fixes_name_the_scope() {
        let local = r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": "0"}}"#;
        let f = evaluate(
            &[
                src(Scope::User, "u.json", &good()),
                src(Scope::Local, ".claude/settings.local.json", local),
            ],
            "bedrock",
            None,
            SETUP,
        );
        let x = find(&f, "CLAUDE_CODE_USE_BEDROCK is \"0\" in local settings");
        assert_eq!(
            x.fix.as_deref(),
            Some("awscred setup claude --profile bedrock --scope local")
        );
        // AWS_REGION still comes from the user file.
        assert!(
            !f.iter().any(|x| x.message.contains("AWS_REGION")),
            "{f:#?}"
        );
        let wrong = r#"{"awsCredentialExport": "awscred export --profile other"}"#;
        let f = evaluate(
            &[
                src(Scope::User, "u.json", &good()),
                src(Scope::Project, ".claude/settings.json", wrong),
            ],
            "bedrock",
            None,
            SETUP,
        );
        let x = find(&f, "uses another profile");
        assert_eq!(
            x.fix.as_deref(),
            Some("awscred setup claude --profile bedrock --scope project")
        );
        assert_eq!(find(&f, "trust this workspace").severity, Severity::Warn);
    }

    #[test]
    fn mantle_and_claude_platform_on_aws_use_the_same_helpers() {
        for key in ["CLAUDE_CODE_USE_MANTLE", "CLAUDE_CODE_USE_ANTHROPIC_AWS"] {
            let user = good().replace("CLAUDE_CODE_USE_BEDROCK", key).replace(
                "\"AWS_REGION\": \"us-east-1\"",
                "\"AWS_REGION\": \"eu-west-1\", \"ANTHROPIC_MODEL\": \"us.anthropic.claude-x\"",
            );
            let f = evaluate(&[src(Scope::User, "u.json", &user)], "bedrock", None, SETUP);
            assert!(
                f.iter().all(|x| x.severity == Severity::Ok),
                "{key}: {f:#?}"
            );
        }
        let f = evaluate(
            &[src(
                Scope::User,
                "u.json",
                &good().replace("CLAUDE_CODE_USE_BEDROCK", "OTHER"),
            )],
            "bedrock",
            None,
            SETUP,
        );
        find(&f, "env lacks CLAUDE_CODE_USE_BEDROCK=1");
    }

    #[test]
    fn aws_profile_is_always_reported_and_an_error_only_when_managed() {
        let user = good().replace(
            "\"CLAUDE_CODE_USE_BEDROCK\"",
            "\"AWS_PROFILE\": \"bedrock\",\n    \"CLAUDE_CODE_USE_BEDROCK\"",
        );
        let f = evaluate(&[src(Scope::User, "u.json", &user)], "bedrock", None, SETUP);
        let x = find(&f, "env.AWS_PROFILE");
        assert_eq!(x.severity, Severity::Warn);
        assert!(x.message.contains("every process"), "{}", x.message);
        assert_eq!(
            x.fix.as_deref(),
            Some("awscred setup claude --profile bedrock --scope user --remove-aws-profile")
        );
        let f = evaluate(
            &[
                src(Scope::User, "u.json", &good()),
                src(
                    Scope::Managed,
                    "m.json",
                    r#"{"env": {"AWS_PROFILE": "corp"}}"#,
                ),
            ],
            "bedrock",
            None,
            SETUP,
        );
        let x = find(&f, "env.AWS_PROFILE");
        assert_eq!(x.severity, Severity::Error);
        assert!(
            x.message.contains("skips awsCredentialExport"),
            "{}",
            x.message
        );
    }

    #[test]
    fn models_are_checked_against_the_region() {
        let user = good().replace(
            "\"AWS_REGION\": \"us-east-1\"",
            &format!(
                "\"AWS_REGION\": \"eu-west-1\", \"ANTHROPIC_SMALL_FAST_MODEL\": \"{}\", \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"us.anthropic.claude-opus-x\"",
                models::STALE[1].1
            ),
        );
        let f = evaluate(&[src(Scope::User, "u.json", &user)], "bedrock", None, SETUP);
        let stale = find(&f, "an earlier awscred wrote");
        assert_eq!(
            stale.fix.as_deref(),
            Some("awscred setup claude --profile bedrock --scope user --remove-stale-models")
        );
        let f2 = evaluate(
            &[src(
                Scope::User,
                "u.json",
                &user.replace(
                    "\"AWS_REGION\"",
                    "\"ANTHROPIC_BEDROCK_REGION_PREFIX\": \"us\", \"AWS_REGION\"",
                ),
            )],
            "bedrock",
            None,
            SETUP,
        );
        assert_eq!(
            find(
                &f2,
                "ANTHROPIC_BEDROCK_REGION_PREFIX=us cannot be called from eu-west-1"
            )
            .severity,
            Severity::Warn
        );
        let f3 = evaluate(
            &[src(
                Scope::User,
                "u.json",
                &user.replacen('{', "{\"model\": \"us.anthropic.claude-z\",", 1),
            )],
            "bedrock",
            None,
            SETUP,
        );
        assert_eq!(
            find(
                &f3,
                "model in user settings (u.json): us.anthropic.claude-z"
            )
            .fix
            .as_deref(),
            Some("set \"model\": \"eu.anthropic.claude-z\" in u.json")
        );
        let geo = find(&f, "ANTHROPIC_DEFAULT_OPUS_MODEL");
        assert_eq!(geo.severity, Severity::Error);
        assert_eq!(
            geo.fix.as_deref(),
            Some(
                "awscred setup claude --profile bedrock --scope user --opus-model eu.anthropic.claude-opus-x"
            )
        );
    }

    #[test]
    fn what_a_repository_wrote_is_shown_inert() {
        let project = "{\"awsCredentialExport\": \"evil \\u001b]0;pwned\\u0007 \\u202e\", \"env\": {\"ANTHROPIC_MODEL\": \"x\\u001b[2J.anthropic.y\"}}";
        let f = evaluate(
            &[
                src(Scope::User, "u.json", &good()),
                src(Scope::Project, ".claude/settings.json", project),
            ],
            "bedrock",
            None,
            SETUP,
        );
        assert!(f.len() > 2);
        for x in &f {
            let all = format!("{}{}", x.message, x.fix.as_deref().unwrap_or(""));
            assert!(
                !all.contains('\u{1b}') && !all.contains('\u{7}') && !all.contains('\u{202e}'),
                "{all:?}"
            );
        }
        find(&f, "overrides awscred's");
        find(&f, "inference-profile prefix");
    }

    #[test]
    fn broken_sources_are_named_and_the_rest_still_count() {
        let f = evaluate(
            &[
                src(Scope::User, "u.json", &good()),
                src(Scope::Local, "l.json", "{oops"),
            ],
            "bedrock",
            None,
            SETUP,
        );
        assert_eq!(
            find(&f, "l.json is not valid JSON").severity,
            Severity::Error
        );
        find(&f, "awsCredentialExport runs awscred");
    }
}
