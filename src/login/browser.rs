//! Opening a URL in the user's browser.
//!
//! `BROWSER` is honoured: a list of commands separated by `:` on Unix (the convention there)
//! and by `;` on Windows, where paths hold `:`. Words in a command may be quoted, so a
//! program path with spaces works (`"C:\Program Files\Mozilla Firefox\firefox.exe" %s`, or
//! `"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"`); a separator inside
//! quotes does not split. On Unix, single quotes and backslash escapes work as in a shell;
//! on Windows only double quotes do, and a backslash is a path separator. A command that is
//! the path of an existing file, unquoted spaces and all, is that program. `%s` stands for
//! the URL, else the URL is appended. Without `BROWSER`, the platform's opener: `open` on
//! macOS, `rundll32 url.dll,FileProtocolHandler` on Windows, `xdg-open` elsewhere. The
//! launcher's stdin, stdout and stderr are all null: its chatter must never reach awscred's
//! stdout, which belongs to the JSON.

use crate::env::Environment;
use std::process::{Child, Command, Stdio};

/// How a `BROWSER` value is read: the separator and quoting of one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// `:` between commands; single and double quotes, backslash escapes.
    Unix,
    /// `;` between commands; double quotes only, backslashes are literal.
    Windows,
}

impl Rules {
    /// This platform's rules.
    pub fn native() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else {
            Self::Unix
        }
    }

    fn separator(self) -> char {
        match self {
            Self::Unix => ':',
            Self::Windows => ';',
        }
    }
}

/// One command of a `BROWSER` value: its words, and whether any quoting was used.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    raw: String,
    words: Vec<String>,
    quoted: bool,
}

/// Splits a `BROWSER` value into its commands and their words, honouring quotes (which
/// also protect a separator). Empty commands are dropped.
fn entries(value: &str, rules: Rules) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut raw = String::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    let finish = |raw: &mut String,
                  words: &mut Vec<String>,
                  word: &mut Option<String>,
                  quoted: &mut bool,
                  out: &mut Vec<Entry>| {
        words.extend(word.take());
        if !words.is_empty() {
            out.push(Entry {
                raw: raw.trim().to_string(),
                words: std::mem::take(words),
                quoted: *quoted,
            });
        }
        raw.clear();
        words.clear();
        *quoted = false;
    };
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                raw.push(c);
            }
            Some('"') if c == '\\' && rules == Rules::Unix => {
                raw.push(c);
                match chars.next() {
                    Some(n) if matches!(n, '"' | '\\' | '$' | '`') => {
                        raw.push(n);
                        word.get_or_insert_default().push(n);
                    }
                    Some(n) => {
                        raw.push(n);
                        let w = word.get_or_insert_default();
                        w.push('\\');
                        w.push(n);
                    }
                    None => word.get_or_insert_default().push('\\'),
                }
            }
            Some(_) => {
                raw.push(c);
                word.get_or_insert_default().push(c);
            }
            None if c == rules.separator() => {
                finish(&mut raw, &mut words, &mut word, &mut quoted, &mut out);
            }
            None if c == '"' || (c == '\'' && rules == Rules::Unix) => {
                quote = Some(c);
                quoted = true;
                raw.push(c);
                word.get_or_insert_default();
            }
            None if c == '\\' && rules == Rules::Unix => {
                quoted = true;
                raw.push(c);
                if let Some(n) = chars.next() {
                    raw.push(n);
                    word.get_or_insert_default().push(n);
                }
            }
            None if c.is_whitespace() => {
                raw.push(c);
                words.extend(word.take());
            }
            None => {
                raw.push(c);
                word.get_or_insert_default().push(c);
            }
        }
    }
    finish(&mut raw, &mut words, &mut word, &mut quoted, &mut out);
    out
}

/// The commands a `BROWSER` value names, each as the argv that opens `url`. An unquoted
/// command that `is_program` says is a whole path (spaces and all) is that one program.
pub fn browser_commands(
    value: &str,
    url: &str,
    rules: Rules,
    is_program: impl Fn(&str) -> bool,
) -> Vec<Vec<String>> {
    entries(value, rules)
        .into_iter()
        .map(|e| {
            let mut words = if !e.quoted && e.words.len() > 1 && is_program(&e.raw) {
                vec![e.raw]
            } else {
                e.words
            };
            if words.iter().any(|w| w.contains("%s")) {
                for w in &mut words {
                    *w = w.replace("%s", url);
                }
            } else {
                words.push(url.to_string());
            }
            words
        })
        .collect()
}

/// The commands that would open `url`, in the order they are tried.
pub fn commands(url: &str, env: &Environment) -> Vec<Vec<String>> {
    commands_with(url, env, &|p| std::path::Path::new(p).is_file())
}

/// [`commands`] with the file-existence test given (tests pass their own).
pub fn commands_with(
    url: &str,
    env: &Environment,
    exists: &dyn Fn(&str) -> bool,
) -> Vec<Vec<String>> {
    if let Some(b) = super::usable_browser(env) {
        return browser_commands(b, url, Rules::native(), exists);
    }
    if env.get("WSL_DISTRO_NAME").is_some() || env.get("WSL_INTEROP").is_some() {
        // The Windows browser: wslview (wslu) when installed, else explorer.exe, which
        // exits 1 even when it opened the page (only a failure to start counts here).
        return ["wslview", "explorer.exe"]
            .iter()
            .filter(|p| super::on_path(env, p, exists))
            .map(|p| vec![(*p).to_string(), url.to_string()])
            .collect();
    }
    let platform: Vec<String> = if cfg!(target_os = "macos") {
        vec!["open".into(), url.into()]
    } else if cfg!(windows) {
        vec![
            "rundll32".into(),
            "url.dll,FileProtocolHandler".into(),
            url.into(),
        ]
    } else {
        vec!["xdg-open".into(), url.into()]
    };
    vec![platform]
}

/// Starts the first launcher that starts; returns it so the caller can notice if it fails.
/// A launcher's argv is readable by every local user, so it is only ever given a one-use
/// loopback link (see [`super::loopback::Link`]), never a URL that carries anything.
pub(super) fn open(url: &str, env: &Environment) -> Option<Child> {
    for words in commands(url, env) {
        let Some((program, args)) = words.split_first() else {
            continue;
        };
        match Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => return Some(child),
            Err(e) => crate::log::debug(&format!("cannot start browser launcher {program}: {e}")),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_variable_with_and_without_placeholder() {
        let sep = Rules::native().separator();
        let e = Environment::from_pairs([(
            "BROWSER",
            format!("firefox --new-tab %s{sep}w3m").as_str(),
        )]);
        assert_eq!(
            commands("http://x/?a=1&b=2", &e),
            vec![
                vec![
                    "firefox".to_string(),
                    "--new-tab".into(),
                    "http://x/?a=1&b=2".into()
                ],
                vec!["w3m".to_string(), "http://x/?a=1&b=2".into()],
            ]
        );
    }

    const URL: &str = "http://127.0.0.1:9/s/x";

    fn unix(value: &str) -> Vec<Vec<String>> {
        browser_commands(value, URL, Rules::Unix, |_| false)
    }

    fn windows(value: &str) -> Vec<Vec<String>> {
        browser_commands(value, URL, Rules::Windows, |_| false)
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn unix_commands_split_on_colons_and_windows_commands_on_semicolons() {
        assert_eq!(
            unix("w3m:lynx -dump %s"),
            vec![argv(&["w3m", URL]), argv(&["lynx", "-dump", URL])]
        );
        assert_eq!(
            windows(r"C:\Tools\w3m.exe;C:\Tools\lynx.exe -dump %s"),
            vec![
                argv(&[r"C:\Tools\w3m.exe", URL]),
                argv(&[r"C:\Tools\lynx.exe", "-dump", URL])
            ],
            "a drive letter's colon does not split on Windows"
        );
        assert_eq!(
            unix(r"C:\Tools\w3m.exe"),
            vec![argv(&["C", URL]), argv(&["Toolsw3m.exe", URL])],
            "Unix rules: the colon splits and a backslash escapes the next character"
        );
        assert_eq!(unix(" : :firefox: "), vec![argv(&["firefox", URL])]);
        assert_eq!(windows(" ; ;firefox; "), vec![argv(&["firefox", URL])]);
    }

    #[test]
    fn a_quoted_windows_path_with_spaces_is_one_program() {
        let value = r#""C:\Program Files\Mozilla Firefox\firefox.exe" -new-tab %s;"C:\Program Files (x86)\Edge;beta\msedge.exe""#;
        assert_eq!(
            windows(value),
            vec![
                argv(&[
                    r"C:\Program Files\Mozilla Firefox\firefox.exe",
                    "-new-tab",
                    URL
                ]),
                argv(&[r"C:\Program Files (x86)\Edge;beta\msedge.exe", URL]),
            ],
            "quotes keep spaces and a semicolon; backslashes stay path separators"
        );
        assert_eq!(
            windows(r#"'C:\it's' %s"#),
            vec![argv(&[r"'C:\it's'", URL])],
            "single quotes are not quoting on Windows"
        );
    }

    #[test]
    fn a_quoted_unix_path_with_spaces_is_one_program() {
        let chrome = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome";
        for value in [
            format!(r#""{chrome}" --new-window %s"#),
            format!("'{chrome}' --new-window %s"),
            format!("{} --new-window %s", chrome.replace(' ', r"\ ")),
        ] {
            assert_eq!(
                unix(&value),
                vec![argv(&[chrome, "--new-window", URL])],
                "{value}"
            );
        }
        assert_eq!(
            unix(r#""/opt/a:b/browser":open -a "Google Chrome""#),
            vec![
                argv(&["/opt/a:b/browser", URL]),
                argv(&["open", "-a", "Google Chrome", URL])
            ],
            "a quoted colon does not split"
        );
        assert_eq!(
            unix(r#""say \"hi\" \x" 'a\b'"#),
            vec![argv(&[r#"say "hi" \x"#, r"a\b", URL])],
            "escapes inside double quotes as in a shell, none inside single quotes"
        );
    }

    #[test]
    fn an_unquoted_path_of_an_existing_program_keeps_its_spaces() {
        let firefox = r"C:\Program Files\Mozilla Firefox\firefox.exe";
        let found = |p: &str| p == firefox;
        assert_eq!(
            browser_commands(&format!("{firefox};w3m"), URL, Rules::Windows, found),
            vec![argv(&[firefox, URL]), argv(&["w3m", URL])]
        );
        assert_eq!(
            browser_commands(&format!("{firefox} %s"), URL, Rules::Windows, found),
            vec![argv(&[
                r"C:\Program",
                r"Files\Mozilla",
                r"Firefox\firefox.exe",
                URL
            ])],
            "a command with arguments is split into words"
        );
        let quoted = format!(r#""{firefox}""#);
        assert_eq!(
            browser_commands(&quoted, URL, Rules::Windows, |_| panic!("not asked")),
            vec![argv(&[firefox, URL])]
        );
    }

    #[test]
    fn the_url_replaces_every_placeholder_or_comes_last() {
        assert_eq!(
            unix("b --a=%s --b=%s"),
            vec![argv(&["b", &format!("--a={URL}"), &format!("--b={URL}")])]
        );
    }

    #[test]
    fn wsl_opens_the_windows_browser_and_a_fake_browser_counts_as_none() {
        let env = Environment::from_pairs([
            ("WSL_DISTRO_NAME", "Ubuntu"),
            ("BROWSER", "true"),
            ("PATH", "/usr/bin:/mnt/c/Windows"),
        ]);
        let both = |p: &str| p == "/usr/bin/wslview" || p == "/mnt/c/Windows/explorer.exe";
        assert_eq!(
            commands_with("http://127.0.0.1:1/start/x", &env, &both),
            [
                argv(&["wslview", "http://127.0.0.1:1/start/x"]),
                argv(&["explorer.exe", "http://127.0.0.1:1/start/x"])
            ]
        );
        let explorer_only = |p: &str| p == "/mnt/c/Windows/explorer.exe";
        assert_eq!(
            commands_with("u", &env, &explorer_only),
            [argv(&["explorer.exe", "u"])]
        );
    }

    #[test]
    fn platform_default_without_browser() {
        let cmds = commands("http://x", &Environment::from_pairs([]));
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].last().map(String::as_str), Some("http://x"));
    }
}
