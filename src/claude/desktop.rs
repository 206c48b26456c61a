//! Claude Desktop on Bedrock (third-party inference): the `enterpriseConfig` keys that make
//! it run awscred for its Bedrock API keys, what it runs, and the managed-preferences
//! files for a roll-out. Pure text in, text out.
//!
//! Claude Desktop runs `inferenceCredentialHelper` with no arguments and reads a bearer
//! token from its stdout. On macOS the helper is a small sh launcher that runs `awscred
//! bedrock-token --profile P --region R` by absolute path. On Windows Claude Desktop (a
//! Node application) cannot start a `.cmd` launcher, so the helper is awscred itself: run
//! with no arguments and `CLAUDE_HELPER_CONTEXT` set, it reads the profile, region and ttl
//! from [`HELPER_CONFIG_FILE`]. Every value Desktop reads is a string. Managed preferences
//! (a configuration profile on macOS, the `SOFTWARE\Policies\Claude` registry key on
//! Windows) win over the user's file.

use super::{Change, editor, not_object, parse_object, show};
use crate::error::Result;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A system Claude Desktop runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// macOS.
    Macos,
    /// Windows.
    Windows,
}

impl Platform {
    /// The name users know.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Macos => "macOS",
            Platform::Windows => "Windows",
        }
    }

    /// The system awscred runs on, when Claude Desktop exists for it.
    pub fn this() -> Option<Platform> {
        if cfg!(target_os = "macos") {
            Some(Platform::Macos)
        } else if cfg!(windows) {
            Some(Platform::Windows)
        } else {
            None
        }
    }
}

/// The directory of Claude Desktop's third-party configuration for a user: `~/Library/
/// Application Support/Claude-3p` on macOS, `%APPDATA%\Claude-3p` on Windows.
pub fn config_dir(platform: Platform, home: &Path, appdata: Option<&str>) -> PathBuf {
    match platform {
        Platform::Macos => home
            .join("Library")
            .join("Application Support")
            .join("Claude-3p"),
        Platform::Windows => appdata
            .filter(|a| !a.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("AppData").join("Roaming"))
            .join("Claude-3p"),
    }
}

/// The configuration file in [`config_dir`].
pub const CONFIG_FILE: &str = "claude_desktop_config.json";

/// The macOS launcher's file name, in [`config_dir`].
pub const LAUNCHER_NAME: &str = "awscred-bedrock-token";

/// The Windows launcher earlier versions wrote in [`config_dir`]: Claude Desktop never
/// runs it (Node refuses to start a `.cmd` without a shell).
pub const OLD_WINDOWS_LAUNCHER: &str = "awscred-bedrock-token.cmd";

/// Where a managed roll-out installs the macOS launcher, for every user.
pub const MANAGED_LAUNCHER: &str = "/Library/Application Support/awscred/awscred-bedrock-token";

/// The macOS launcher's text: runs `exe bedrock-token --profile P --region R [--ttl Ns]`,
/// its output and exit status Claude Desktop's. `None` when a value holds a control
/// character.
pub fn launcher(exe: &str, profile: &str, region: &str, ttl: Option<u64>) -> Option<String> {
    let words = [exe, profile, region];
    if words.iter().any(|w| w.chars().any(char::is_control)) {
        return None;
    }
    let ttl = ttl.map(|s| format!(" --ttl {s}s")).unwrap_or_default();
    Some(format!(
        "#!/bin/sh\n# Claude Desktop runs this for a Bedrock API key (written by awscred setup claude-desktop).\nexec {} bedrock-token --profile {} --region {}{ttl}\n",
        super::shell_quote(exe, false),
        super::shell_quote(profile, false),
        super::shell_quote(region, false)
    ))
}

/// The file, beside Claude Desktop's configuration, in which `setup claude-desktop` on
/// Windows records what `awscred` run by Claude Desktop with no arguments does: Node (and
/// so Claude Desktop) cannot run a `.cmd` launcher, so there `inferenceCredentialHelper` is
/// awscred itself.
pub const HELPER_CONFIG_FILE: &str = "awscred-desktop.json";

/// Where a managed roll-out installs [`HELPER_CONFIG_FILE`] for every user of a machine.
pub fn managed_helper_config(platform: Platform) -> &'static str {
    match platform {
        Platform::Macos => "/Library/Application Support/awscred/awscred-desktop.json",
        Platform::Windows => r"C:\ProgramData\awscred\awscred-desktop.json",
    }
}

/// The system whose layout a no-argument run looks in: this one, or where Claude Desktop
/// has no version (Linux) the Windows layout, so a Windows home written with `setup
/// claude-desktop --platform windows` works the same here.
pub fn helper_platform() -> Platform {
    Platform::this().unwrap_or(Platform::Windows)
}

/// Where a no-argument run looks for [`HELPER_CONFIG_FILE`], first found wins: the user's
/// own (beside Claude Desktop's configuration, a choice the user made), then the machine's
/// (a managed roll-out: `%ProgramData%\awscred` on Windows, `/Library/Application
/// Support/awscred` on macOS). `appdata` and `programdata` are those variables; a place
/// whose variable (or home) is missing is not looked in.
pub fn helper_config_paths(
    platform: Platform,
    home: Option<&Path>,
    appdata: Option<&str>,
    programdata: Option<&str>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let appdata = appdata.filter(|a| !a.is_empty());
    match (platform, home) {
        (Platform::Windows, _) if appdata.is_some() => {
            out.push(config_dir(platform, Path::new(""), appdata).join(HELPER_CONFIG_FILE));
        }
        (_, Some(home)) => out.push(config_dir(platform, home, None).join(HELPER_CONFIG_FILE)),
        (_, None) => {}
    }
    match platform {
        Platform::Macos => out.push(PathBuf::from(managed_helper_config(platform))),
        Platform::Windows => {
            if let Some(pd) = programdata.filter(|p| !p.is_empty()) {
                out.push(Path::new(pd).join("awscred").join(HELPER_CONFIG_FILE));
            }
        }
    }
    out
}

/// The largest [`HELPER_CONFIG_FILE`] read.
const HELPER_CONFIG_MAX: usize = 16 << 10;

/// What [`HELPER_CONFIG_FILE`] holds: `awscred bedrock-token --profile P --region R
/// [--ttl Ns]`. Nothing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperConfig {
    /// The profile.
    pub profile: String,
    /// The Bedrock region.
    pub region: String,
    /// Claude Desktop's `inferenceCredentialHelperTtlSec`, when set.
    pub ttl: Option<u64>,
}

impl HelperConfig {
    /// A checked record: a profile of at most 256 characters without control characters,
    /// a region of letters, digits and `-`, a ttl from 1 s to 12 h.
    pub fn new(profile: &str, region: &str, ttl: Option<u64>) -> std::result::Result<Self, String> {
        if profile.is_empty()
            || profile.chars().count() > 256
            || profile.chars().any(char::is_control)
        {
            return Err("`profile` is not a profile name".into());
        }
        if region.is_empty()
            || region.len() > 64
            || !region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err("`region` is not a region name".into());
        }
        if ttl.is_some_and(|t| !(1..=43200).contains(&t)) {
            return Err("`ttl` is not a number of seconds from 1 to 43200".into());
        }
        Ok(Self {
            profile: profile.into(),
            region: region.into(),
            ttl,
        })
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::Map::new();
        v.insert("profile".into(), Value::String(self.profile.clone()));
        v.insert("region".into(), Value::String(self.region.clone()));
        if let Some(t) = self.ttl {
            v.insert("ttl".into(), Value::from(t));
        }
        let mut text = serde_json::to_string_pretty(&Value::Object(v)).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads the file's text; `Err` says what is wrong (never echoing the file).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        if text.len() > HELPER_CONFIG_MAX {
            return Err(format!("it is larger than {} KiB", HELPER_CONFIG_MAX >> 10));
        }
        let v: Value = serde_json::from_str(text).map_err(|_| "it is not JSON".to_string())?;
        let obj = v.as_object().ok_or("it is not a JSON object")?;
        let string = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{k}` is missing or not a string"))
        };
        let ttl = match obj.get("ttl") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.as_u64().ok_or("`ttl` is not a number of seconds")?),
            Some(Value::String(s)) => Some(
                s.trim()
                    .parse()
                    .map_err(|_| "`ttl` is not a number of seconds".to_string())?,
            ),
            Some(_) => return Err("`ttl` is not a number of seconds".into()),
        };
        Self::new(string("profile")?, string("region")?, ttl)
    }

    /// The `bedrock-token` options it stands for.
    pub fn token_args(&self) -> crate::cli::BedrockTokenArgs {
        crate::cli::BedrockTokenArgs {
            region: Some(self.region.clone()),
            duration: None,
            ttl: self.ttl.map(|t| format!("{t}s")),
            format: crate::cli::TokenFormat::Token,
            refresh: false,
        }
    }
}

/// The `enterpriseConfig` keys, in the order written.
pub fn keys(region: &str, helper: &str) -> Vec<(&'static str, String)> {
    vec![
        ("inferenceProvider", "bedrock".into()),
        ("inferenceBedrockRegion", region.into()),
        ("inferenceCredentialKind", "helper-script".into()),
        ("inferenceCredentialHelper", helper.into()),
    ]
}

/// `enterpriseConfig.inferenceCredentialHelperTtlSec` when set to a usable number of
/// seconds (a string, as Desktop writes it, or a number).
pub fn configured_ttl(existing: Option<&str>) -> Option<u64> {
    let v: Value = serde_json::from_str(existing?).ok()?;
    let ttl = v
        .get("enterpriseConfig")?
        .get("inferenceCredentialHelperTtlSec")?;
    let secs = match ttl {
        Value::String(s) => s.trim().parse().ok()?,
        Value::Number(n) => n.as_u64()?,
        _ => return None,
    };
    Some(secs).filter(|s| (1..=43200).contains(s))
}

/// The result of [`merge`].
#[derive(Debug, Clone)]
pub struct Merged {
    /// The new text.
    pub text: String,
    /// What changed; empty when the file is already right.
    pub changes: Vec<Change>,
    /// The file had repeated keys and was rewritten whole.
    pub rewritten: bool,
}

/// Sets `keys` under `enterpriseConfig` as a minimal edit: every other key, its place and
/// the file's indentation stay.
pub fn merge(existing: Option<&str>, file: &Path, keys: &[(&str, String)]) -> Result<Merged> {
    let text = match existing {
        Some(t) if !t.trim().is_empty() => t,
        _ => "{}\n",
    };
    let parsed = parse_object(text, file)?;
    if parsed
        .get("enterpriseConfig")
        .is_some_and(|e| !e.is_object())
    {
        return Err(not_object(file, "`enterpriseConfig`"));
    }
    let (mut ed, rewritten) = editor(text, parsed)?;
    let mut changes = Vec::new();
    for (k, v) in keys {
        let path = ["enterpriseConfig", k];
        let new = Value::String(v.clone());
        let old = ed.get(&path);
        if old.as_ref() != Some(&new) {
            ed.set(&path, &new)
                .ok_or_else(|| not_object(file, "`enterpriseConfig`"))?;
            changes.push(Change::Set {
                key: path.join("."),
                old: old.as_ref().map(show),
                new: show(&new),
            });
        }
    }
    let mut text = ed.text().to_string();
    if !text.ends_with('\n') && existing.is_none_or(|t| t.trim().is_empty()) {
        text.push('\n');
    }
    Ok(Merged {
        text,
        changes,
        rewritten,
    })
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A UUID (version 4 layout) derived from `seed`, so the same setup prints the same file.
fn uuid(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A macOS configuration profile setting `keys` as managed preferences of Claude Desktop
/// (`com.anthropic.claudefordesktop`), every value a `<string>`.
pub fn mobileconfig(keys: &[(&str, String)]) -> String {
    let seed: String = keys.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let mut body = String::new();
    for (k, v) in keys {
        body.push_str(&format!(
            "\t\t\t<key>{}</key>\n\t\t\t<string>{}</string>\n",
            xml(k),
            xml(v)
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
<plist version=\"1.0\">\n\
<dict>\n\
\t<key>PayloadContent</key>\n\
\t<array>\n\
\t\t<dict>\n\
\t\t\t<key>PayloadType</key>\n\
\t\t\t<string>com.anthropic.claudefordesktop</string>\n\
\t\t\t<key>PayloadIdentifier</key>\n\
\t\t\t<string>com.anthropic.claudefordesktop.awscred</string>\n\
\t\t\t<key>PayloadUUID</key>\n\
\t\t\t<string>{}</string>\n\
\t\t\t<key>PayloadVersion</key>\n\
\t\t\t<integer>1</integer>\n\
\t\t\t<key>PayloadDisplayName</key>\n\
\t\t\t<string>Claude Desktop on Amazon Bedrock</string>\n\
{body}\
\t\t</dict>\n\
\t</array>\n\
\t<key>PayloadDisplayName</key>\n\
\t<string>Claude Desktop on Amazon Bedrock (awscred)</string>\n\
\t<key>PayloadIdentifier</key>\n\
\t<string>com.anthropic.claudefordesktop.awscred.profile</string>\n\
\t<key>PayloadType</key>\n\
\t<string>Configuration</string>\n\
\t<key>PayloadUUID</key>\n\
\t<string>{}</string>\n\
\t<key>PayloadVersion</key>\n\
\t<integer>1</integer>\n\
</dict>\n\
</plist>\n",
        uuid(&format!("payload\n{seed}")),
        uuid(&format!("profile\n{seed}"))
    )
}

/// A Windows `.reg` file setting `keys` as `REG_SZ` values of
/// `HKEY_CURRENT_USER\SOFTWARE\Policies\Claude` (CRLF line ends).
pub fn reg(keys: &[(&str, String)]) -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from(
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\SOFTWARE\\Policies\\Claude]\r\n",
    );
    for (k, v) in keys {
        out.push_str(&format!("\"{}\"=\"{}\"\r\n", quote(k), quote(v)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lives_in_claude_3p() {
        let home = Path::new("/Users/ada");
        assert_eq!(
            config_dir(Platform::Macos, home, None).join(CONFIG_FILE),
            PathBuf::from(
                "/Users/ada/Library/Application Support/Claude-3p/claude_desktop_config.json"
            )
        );
        assert_eq!(
            config_dir(
                Platform::Windows,
                home,
                Some(r"C:\Users\ada\AppData\Roaming")
            ),
            PathBuf::from(r"C:\Users\ada\AppData\Roaming").join("Claude-3p")
        );
        assert_eq!(
            config_dir(Platform::Windows, home, None),
            home.join("AppData").join("Roaming").join("Claude-3p")
        );
    }

    #[test]
    fn the_launcher_runs_awscred_by_absolute_path() {
        assert_eq!(
            launcher("/opt/my tools/awscred", "bedrock", "eu-west-1", None).unwrap(),
            "#!/bin/sh\n# Claude Desktop runs this for a Bedrock API key (written by awscred setup claude-desktop).\nexec '/opt/my tools/awscred' bedrock-token --profile bedrock --region eu-west-1\n"
        );
        assert!(
            launcher("/a/awscred", "b", "us-east-1", Some(1800))
                .unwrap()
                .ends_with(" --region us-east-1 --ttl 1800s\n")
        );
        assert!(launcher("/a/awscred", "p\nrm -rf ~", "us-east-1", None).is_none());
        // A quote in a profile cannot end the word in sh.
        let sh = launcher("/a/awscred", "it's", "us-east-1", None).unwrap();
        assert!(sh.contains("--profile 'it'\\''s'"), "{sh}");
    }

    #[test]
    fn a_no_argument_run_looks_in_the_users_claude_3p_then_the_machines() {
        let home = Path::new("/home/ada");
        assert_eq!(
            helper_config_paths(
                Platform::Windows,
                Some(home),
                Some("/r/AppData/Roaming"),
                Some("/r/ProgramData")
            ),
            vec![
                PathBuf::from("/r/AppData/Roaming/Claude-3p/awscred-desktop.json"),
                PathBuf::from("/r/ProgramData/awscred/awscred-desktop.json"),
            ]
        );
        assert_eq!(
            helper_config_paths(Platform::Windows, Some(home), None, None),
            vec![home.join("AppData/Roaming/Claude-3p/awscred-desktop.json")]
        );
        assert_eq!(
            helper_config_paths(Platform::Windows, None, Some(""), Some("")),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            helper_config_paths(Platform::Macos, Some(home), Some("/x"), Some("/y")),
            vec![
                home.join("Library/Application Support/Claude-3p/awscred-desktop.json"),
                PathBuf::from("/Library/Application Support/awscred/awscred-desktop.json"),
            ]
        );
        assert_eq!(
            managed_helper_config(Platform::Windows),
            r"C:\ProgramData\awscred\awscred-desktop.json"
        );
    }

    #[test]
    fn the_helper_file_round_trips_and_refuses_what_it_cannot_run() {
        let c = HelperConfig::new("dev team", "eu-west-1", Some(1800)).unwrap();
        assert_eq!(
            c.to_json(),
            "{\n  \"profile\": \"dev team\",\n  \"region\": \"eu-west-1\",\n  \"ttl\": 1800\n}\n"
        );
        assert_eq!(HelperConfig::parse(&c.to_json()).unwrap(), c);
        let a = c.token_args();
        assert_eq!(a.region.as_deref(), Some("eu-west-1"));
        assert_eq!(a.ttl.as_deref(), Some("1800s"));
        assert!(a.duration.is_none() && !a.refresh);
        assert_eq!(a.format, crate::cli::TokenFormat::Token);
        let plain =
            HelperConfig::parse(r#"{"profile":"p","region":"us-east-1","extra":1}"#).unwrap();
        assert_eq!(plain.ttl, None);
        assert!(plain.token_args().ttl.is_none());
        assert!(!plain.to_json().contains("ttl"));
        assert_eq!(
            HelperConfig::parse(r#"{"profile":"p","region":"us-east-1","ttl":"600"}"#)
                .unwrap()
                .ttl,
            Some(600)
        );
        for bad in [
            "",
            "{",
            "[]",
            r#"{"region":"us-east-1"}"#,
            r#"{"profile":3,"region":"us-east-1"}"#,
            r#"{"profile":"","region":"us-east-1"}"#,
            r#"{"profile":"a\nb","region":"us-east-1"}"#,
            r#"{"profile":"p"}"#,
            r#"{"profile":"p","region":"us-east-1 --x"}"#,
            r#"{"profile":"p","region":"us-east-1","ttl":0}"#,
            r#"{"profile":"p","region":"us-east-1","ttl":43201}"#,
            r#"{"profile":"p","region":"us-east-1","ttl":-5}"#,
            r#"{"profile":"p","region":"us-east-1","ttl":[1]}"#,
        ] {
            assert!(HelperConfig::parse(bad).is_err(), "{bad}");
        }
        let big = format!(
            r#"{{"profile":"p","region":"us-east-1","pad":"{}"}}"#,
            "x".repeat(HELPER_CONFIG_MAX)
        );
        assert!(HelperConfig::parse(&big).unwrap_err().contains("larger"));
        assert!(HelperConfig::new(&"p".repeat(257), "us-east-1", None).is_err());
    }

    #[test]
    fn merge_keeps_everything_else_and_writes_strings() {
        let old = "{\n    \"mcpServers\": {\"x\": {\"command\": \"y\"}},\n    \"enterpriseConfig\": {\n        \"inferenceCredentialHelperTtlSec\": \"1800\",\n        \"inferenceProvider\": \"vertex\"\n    },\n    \"zzz\": 1\n}\n";
        let m = merge(
            Some(old),
            Path::new("c.json"),
            &keys("eu-west-1", "/h/awscred-bedrock-token"),
        )
        .unwrap();
        assert_eq!(
            m.text,
            "{\n    \"mcpServers\": {\"x\": {\"command\": \"y\"}},\n    \"enterpriseConfig\": {\n        \"inferenceCredentialHelperTtlSec\": \"1800\",\n        \"inferenceProvider\": \"bedrock\",\n        \"inferenceBedrockRegion\": \"eu-west-1\",\n        \"inferenceCredentialKind\": \"helper-script\",\n        \"inferenceCredentialHelper\": \"/h/awscred-bedrock-token\"\n    },\n    \"zzz\": 1\n}\n"
        );
        assert_eq!(m.changes.len(), 4);
        assert_eq!(
            m.changes[0].to_string(),
            "~ enterpriseConfig.inferenceProvider = \"bedrock\" (was \"vertex\")"
        );
        assert_eq!(configured_ttl(Some(old)), Some(1800));
        let again = merge(
            Some(&m.text),
            Path::new("c.json"),
            &keys("eu-west-1", "/h/awscred-bedrock-token"),
        )
        .unwrap();
        assert!(again.changes.is_empty());
        assert_eq!(again.text, m.text);
    }

    #[test]
    fn a_new_file_and_refusals() {
        let m = merge(None, Path::new("c.json"), &keys("us-east-1", "/h/l")).unwrap();
        let v: Value = serde_json::from_str(&m.text).unwrap();
        assert!(
            v["enterpriseConfig"]
                .as_object()
                .unwrap()
                .values()
                .all(Value::is_string)
        );
        assert!(m.text.ends_with("}\n"));
        assert!(merge(Some("[]"), Path::new("c.json"), &keys("us-east-1", "/h/l")).is_err());
        assert!(
            merge(
                Some("{\"enterpriseConfig\": 3}"),
                Path::new("c.json"),
                &keys("us-east-1", "/h/l")
            )
            .is_err()
        );
        assert!(merge(Some("{"), Path::new("c.json"), &keys("us-east-1", "/h/l")).is_err());
        assert_eq!(
            configured_ttl(Some(
                "{\"enterpriseConfig\":{\"inferenceCredentialHelperTtlSec\":600}}"
            )),
            Some(600)
        );
        assert_eq!(
            configured_ttl(Some(
                "{\"enterpriseConfig\":{\"inferenceCredentialHelperTtlSec\":\"x\"}}"
            )),
            None
        );
    }

    #[test]
    fn managed_files_carry_strings_only() {
        let k = keys("eu-west-1", r"C:\Program Files\awscred\awscred.exe");
        assert_eq!(
            reg(&k),
            "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\SOFTWARE\\Policies\\Claude]\r\n\"inferenceProvider\"=\"bedrock\"\r\n\"inferenceBedrockRegion\"=\"eu-west-1\"\r\n\"inferenceCredentialKind\"=\"helper-script\"\r\n\"inferenceCredentialHelper\"=\"C:\\\\Program Files\\\\awscred\\\\awscred.exe\"\r\n"
        );
        let k = keys("eu-west-1", "/Library/Application Support/awscred/a&b");
        let mc = mobileconfig(&k);
        assert!(mc.contains("\t\t\t<key>inferenceCredentialHelper</key>\n\t\t\t<string>/Library/Application Support/awscred/a&amp;b</string>\n"), "{mc}");
        assert!(mc.contains("<string>com.anthropic.claudefordesktop</string>"));
        assert_eq!(mc.matches("<string>").count(), k.len() + 8, "{mc}");
        assert!(!mc.contains("<array>\n\t\t\t<string>") && !mc.contains("<true/>"));
        assert_eq!(mc, mobileconfig(&k), "the same input prints the same file");
        assert_ne!(uuid("a"), uuid("b"));
        assert_eq!(uuid("a").len(), 36);
    }
}
