//! Opening a URL in the user's browser.
//!
//! `BROWSER` is honoured (a `:`-separated list of commands; `%s` stands for the URL, else
//! the URL is appended). Otherwise the platform's opener: `open` on macOS, `rundll32
//! url.dll,FileProtocolHandler` on Windows, `xdg-open` elsewhere. The launcher's stdin,
//! stdout and stderr are all null: its chatter must never reach awscred's stdout, which
//! belongs to the JSON.

use crate::env::Environment;
use std::process::{Child, Command, Stdio};

/// The commands that would open `url`, in the order they are tried.
pub fn commands(url: &str, env: &Environment) -> Vec<Vec<String>> {
    if let Some(b) = env.get("BROWSER") {
        let sep = if cfg!(windows) { ';' } else { ':' };
        return b
            .split(sep)
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| {
                let mut words: Vec<String> = c.split_whitespace().map(str::to_string).collect();
                if words.iter().any(|w| w.contains("%s")) {
                    for w in &mut words {
                        *w = w.replace("%s", url);
                    }
                } else {
                    words.push(url.to_string());
                }
                words
            })
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
        let e = Environment::from_pairs([("BROWSER", "firefox --new-tab %s:w3m")]);
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

    #[test]
    fn platform_default_without_browser() {
        let cmds = commands("http://x", &Environment::from_pairs([]));
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].last().map(String::as_str), Some("http://x"));
    }
}
