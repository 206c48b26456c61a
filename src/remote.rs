//! Text and URLs that came from outside, made safe to show.
//!
//! A server or identity provider chooses its error messages, its `verification_uri` and
//! the parameters of a callback; a local user chooses what lands on the loopback listener.
//! None of it may steer the terminal (escape sequences, a fake `hint:` line) or carry a
//! secret into a message. Every such string goes through [`text`] before it is printed,
//! and every URL through [`url`], which keeps scheme, host, port and path only: query
//! strings carry `state`, user codes and console session credentials, userinfo carries
//! passwords.

use std::fmt::Write as _;

/// Longest remote text shown; the rest is cut (a hostile server can send megabytes).
pub const MAX_TEXT: usize = 1024;

/// `s` with every control character (C0, DEL, C1, newline included) and every Unicode
/// bidi or format character written as `\u{…}` (or `\n`, `\t`, `\r`), cut to
/// [`MAX_TEXT`] characters. The result is one inert line.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_TEXT));
    for (n, c) in s.chars().enumerate() {
        if n >= MAX_TEXT {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a character must not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Soft hyphen, Arabic letter mark, Mongolian vowel separator.
            '\u{ad}' | '\u{61c}' | '\u{180e}'
            // Zero-width and directional marks, line and paragraph separators,
            // embeddings and overrides, invisible operators, isolates, deprecated format
            // characters.
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            // Byte order mark / zero-width no-break space, interlinear annotation.
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
        )
}

/// A URL reduced to what identifies the endpoint: `scheme://host[:port]/path`, without
/// userinfo, query or fragment, then escaped with [`text`]. Text that does not look like
/// a URL is escaped and cut at the first `?` or `#` all the same.
pub fn url(s: &str) -> String {
    let cut = s.find(['?', '#']).map_or(s, |i| &s[..i]);
    let shown = match cut.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => cut.to_string(),
    };
    text(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_format_characters_are_escaped() {
        assert_eq!(text("plain text, é ü 日本"), "plain text, é ü 日本");
        assert_eq!(text("a\nhint: run rm -rf ~"), "a\\nhint: run rm -rf ~");
        assert_eq!(
            text("\u{1b}[2J\u{1b}]0;title\u{7}"),
            "\\u{1b}[2J\\u{1b}]0;title\\u{7}"
        );
        assert_eq!(text("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(text("abc\u{202e}def\u{2066}"), "abc\\u{202e}def\\u{2066}");
        assert_eq!(
            text("\u{feff}\u{200b}\r\t\u{7f}"),
            "\\u{feff}\\u{200b}\\r\\t\\u{7f}"
        );
        assert!(!text("a\u{2028}b").contains('\u{2028}'));
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(MAX_TEXT * 4);
        let shown = text(&long);
        assert_eq!(shown.chars().count(), MAX_TEXT + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn urls_lose_userinfo_query_and_fragment() {
        assert_eq!(
            url("https://user:pa55@login.example.com:8443/oauth2/token?code=abc&state=s#frag"),
            "https://login.example.com:8443/oauth2/token"
        );
        assert_eq!(
            url("https://signin.aws.amazon.com/federation?Action=login&SigninToken=SECRET"),
            "https://signin.aws.amazon.com/federation"
        );
        assert_eq!(url("http://127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(url("localhost:4566/x?y=1"), "localhost:4566/x");
        assert_eq!(url("https://h/p\u{1b}[2J"), "https://h/p\\u{1b}[2J");
    }
}
