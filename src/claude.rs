//! Claude Code integration: writing `settings.json` and spotting its pitfalls.
//!
//! `awscred setup claude` merges three things into the chosen settings file and keeps
//! everything else: `awsCredentialExport` (`awscred export --profile P`), `awsAuthRefresh`
//! (`awscred login --profile P`) and `env` entries (`CLAUDE_CODE_USE_BEDROCK=1`,
//! `AWS_REGION`, the recommended token limits, models when given). It never writes
//! `AWS_PROFILE` into `env` (Claude Code then ignores `awsCredentialExport`) and removes one
//! that is there. Everything here is pure text-in, text-out, so it is tested without files.

use crate::error::{Error, Result};
use crate::safe_write::Place;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Recommended by the Claude Code Bedrock docs.
pub const RECOMMENDED_ENV: [(&str, &str); 2] = [
    ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096"),
    ("MAX_THINKING_TOKENS", "1024"),
];
/// Default primary model on Bedrock.
pub const DEFAULT_MODEL: &str = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
/// Default small/fast model on Bedrock.
pub const DEFAULT_SMALL_FAST_MODEL: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";

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
    /// `ANTHROPIC_MODEL`, when asked.
    pub model: Option<String>,
    /// `ANTHROPIC_SMALL_FAST_MODEL`, when asked.
    pub small_fast_model: Option<String>,
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

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Merges `setup` into the existing settings text (`None` for a new file). Returns the new
/// text and the changes; no changes means the file is already right.
pub fn merge(existing: Option<&str>, file: &Path, setup: &Setup) -> Result<(String, Vec<Change>)> {
    let mut root: Map<String, Value> = match existing.map(str::trim) {
        None | Some("") => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(
                    Error::user(format!("{} is not a JSON object", file.display())).with_hint(
                        format!("fix {} by hand; awscred left it unchanged", file.display()),
                    ),
                );
            }
            Err(e) => {
                return Err(Error::user(format!("{} is not valid JSON", file.display()))
                    .caused_by(&e)
                    .with_hint(format!(
                        "fix {} by hand; awscred left it unchanged",
                        file.display()
                    )));
            }
        },
    };
    let mut changes = Vec::new();
    let mut set = |map: &mut Map<String, Value>, prefix: &str, key: &str, value: &str| {
        let new = Value::String(value.to_string());
        let old = map.get(key).cloned();
        if old.as_ref() != Some(&new) {
            changes.push(Change::Set {
                key: format!("{prefix}{key}"),
                old: old.as_ref().map(show),
                new: show(&new),
            });
            map.insert(key.to_string(), new);
        }
    };
    set(&mut root, "", "awsCredentialExport", &setup.export_command);
    set(&mut root, "", "awsAuthRefresh", &setup.refresh_command);
    let mut env = match root.remove("env") {
        Some(Value::Object(m)) => m,
        None => Map::new(),
        Some(_) => {
            return Err(
                Error::user(format!("`env` in {} is not an object", file.display())).with_hint(
                    format!(
                        "fix `env` in {} by hand; awscred left it unchanged",
                        file.display()
                    ),
                ),
            );
        }
    };
    set(&mut env, "env.", "CLAUDE_CODE_USE_BEDROCK", "1");
    set(&mut env, "env.", "AWS_REGION", &setup.region);
    for (k, v) in RECOMMENDED_ENV {
        if !env.contains_key(k) {
            set(&mut env, "env.", k, v);
        }
    }
    if let Some(m) = &setup.model {
        set(&mut env, "env.", "ANTHROPIC_MODEL", m);
    }
    if let Some(m) = &setup.small_fast_model {
        set(&mut env, "env.", "ANTHROPIC_SMALL_FAST_MODEL", m);
    }
    if let Some(old) = env.remove("AWS_PROFILE") {
        changes.push(Change::Removed {
            key: "env.AWS_PROFILE".into(),
            old: show(&old),
        });
    }
    root.insert("env".into(), Value::Object(env));
    let mut text = serde_json::to_string_pretty(&Value::Object(root))
        .map_err(|e| Error::unexpected("cannot encode the settings").caused_by(&e))?;
    text.push('\n');
    Ok((text, changes))
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Fine.
    Ok,
    /// Works, but not as intended.
    Warn,
    /// Broken.
    Error,
}

/// One thing `doctor` found in a settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What.
    pub message: String,
    /// The command or edit that fixes it.
    pub fix: Option<String>,
}

/// Checks one settings file's text for the pitfalls of Bedrock with awscred.
pub fn check(text: &str, file: &Path, profile: &str, setup_cmd: &str) -> Vec<Finding> {
    let f = |severity, message: String, fix: Option<String>| Finding {
        severity,
        message,
        fix,
    };
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return vec![f(
                Severity::Error,
                format!(
                    "{} is not valid JSON ({e}); Claude Code ignores it",
                    file.display()
                ),
                Some(format!("fix {} by hand", file.display())),
            )];
        }
    };
    let mut out = Vec::new();
    let env = v.get("env").and_then(Value::as_object);
    if env.is_some_and(|e| e.contains_key("AWS_PROFILE")) {
        out.push(f(
            Severity::Error,
            format!(
                "{}: env sets AWS_PROFILE, so Claude Code ignores awsCredentialExport",
                file.display()
            ),
            Some(setup_cmd.to_string()),
        ));
    }
    let export = v.get("awsCredentialExport").and_then(Value::as_str);
    match export {
        None => out.push(f(
            Severity::Warn,
            format!("{}: no awsCredentialExport", file.display()),
            Some(setup_cmd.to_string()),
        )),
        Some(cmd) if !cmd.contains("awscred") || !cmd.contains(" export") => out.push(f(
            Severity::Warn,
            format!(
                "{}: awsCredentialExport does not run `awscred export` ({cmd})",
                file.display()
            ),
            Some(setup_cmd.to_string()),
        )),
        Some(cmd) if !cmd.contains(profile) => out.push(f(
            Severity::Warn,
            format!(
                "{}: awsCredentialExport uses another profile than {profile} ({cmd})",
                file.display()
            ),
            Some(setup_cmd.to_string()),
        )),
        Some(_) => out.push(f(
            Severity::Ok,
            format!("{}: awsCredentialExport runs awscred", file.display()),
            None,
        )),
    }
    if v.get("awsAuthRefresh").and_then(Value::as_str).is_none() {
        out.push(f(
            Severity::Warn,
            format!(
                "{}: no awsAuthRefresh; Claude Code cannot ask you to sign in again",
                file.display()
            ),
            Some(setup_cmd.to_string()),
        ));
    }
    let get = |k: &str| env.and_then(|e| e.get(k)).and_then(Value::as_str);
    if get("CLAUDE_CODE_USE_BEDROCK").is_none_or(|x| x != "1" && x != "true") {
        out.push(f(
            Severity::Warn,
            format!("{}: env lacks CLAUDE_CODE_USE_BEDROCK=1", file.display()),
            Some(setup_cmd.to_string()),
        ));
    }
    if get("AWS_REGION").is_none() {
        out.push(f(
            Severity::Error,
            format!(
                "{}: env lacks AWS_REGION, which Claude Code on Bedrock requires",
                file.display()
            ),
            Some(setup_cmd.to_string()),
        ));
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
            model: None,
            small_fast_model: None,
        }
    }

    #[test]
    fn new_file_gets_everything() {
        let (text, changes) = merge(None, Path::new("s.json"), &setup()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["awsCredentialExport"], "awscred export --profile bedrock");
        assert_eq!(v["awsAuthRefresh"], "awscred login --profile bedrock");
        assert_eq!(v["env"]["CLAUDE_CODE_USE_BEDROCK"], "1");
        assert_eq!(v["env"]["AWS_REGION"], "us-east-1");
        assert_eq!(v["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"], "4096");
        assert_eq!(v["env"]["MAX_THINKING_TOKENS"], "1024");
        assert!(v["env"].get("AWS_PROFILE").is_none());
        assert_eq!(changes.len(), 6);
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn merge_keeps_unknown_keys_order_and_user_choices_and_is_idempotent() {
        let existing = r#"{"theme": "dark", "permissions": {"allow": ["Bash(ls)"]}, "env": {"FOO": "bar", "MAX_THINKING_TOKENS": "2048", "AWS_PROFILE": "old"}}"#;
        let (text, changes) = merge(Some(existing), Path::new("s.json"), &setup()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["theme"], "dark");
        assert_eq!(v["permissions"]["allow"][0], "Bash(ls)");
        assert_eq!(v["env"]["FOO"], "bar");
        assert_eq!(
            v["env"]["MAX_THINKING_TOKENS"], "2048",
            "a user's own value stays"
        );
        assert!(v["env"].get("AWS_PROFILE").is_none());
        assert!(changes.contains(&Change::Removed {
            key: "env.AWS_PROFILE".into(),
            old: "\"old\"".into()
        }));
        assert!(
            text.find("theme").unwrap() < text.find("awsCredentialExport").unwrap(),
            "existing keys keep their place"
        );
        let (again, changes) = merge(Some(&text), Path::new("s.json"), &setup()).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(again, text);
    }

    #[test]
    fn models_when_asked() {
        let mut s = setup();
        s.model = Some(DEFAULT_MODEL.into());
        s.small_fast_model = Some(DEFAULT_SMALL_FAST_MODEL.into());
        let (text, _) = merge(None, Path::new("s.json"), &s).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["env"]["ANTHROPIC_MODEL"], DEFAULT_MODEL);
        assert_eq!(
            v["env"]["ANTHROPIC_SMALL_FAST_MODEL"],
            DEFAULT_SMALL_FAST_MODEL
        );
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

    #[test]
    fn pitfalls_are_found() {
        let bad = r#"{"awsCredentialExport": "aws configure export-credentials", "env": {"AWS_PROFILE": "x"}}"#;
        let f = check(
            bad,
            Path::new("s.json"),
            "bedrock",
            "awscred setup claude --profile bedrock",
        );
        let sev = |needle: &str| {
            f.iter()
                .find(|x| x.message.contains(needle))
                .map(|x| x.severity)
        };
        assert_eq!(sev("AWS_PROFILE"), Some(Severity::Error));
        assert_eq!(sev("AWS_REGION"), Some(Severity::Error));
        assert_eq!(sev("does not run `awscred export`"), Some(Severity::Warn));
        assert_eq!(sev("awsAuthRefresh"), Some(Severity::Warn));
        let (good, _) = merge(None, Path::new("s"), &setup()).unwrap();
        let f = check(&good, Path::new("s.json"), "bedrock", "x");
        assert!(f.iter().all(|x| x.severity == Severity::Ok), "{f:?}");
    }
}
