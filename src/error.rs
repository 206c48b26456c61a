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
    hint: Option<String>,
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
        }
    }

    /// Adds the command or change that fixes this.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
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
    pub fn report(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        for c in &self.causes {
            for (i, line) in c.lines().enumerate() {
                if i == 0 {
                    out.push_str(&format!("  caused by: {line}\n"));
                } else {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("hint: {h}\n"));
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for c in &self.causes {
            write!(f, ": {c}")?;
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
    fn context_keeps_the_old_message_as_a_cause() {
        let e = Error::user("inner").context("outer");
        assert_eq!(e.message(), "outer");
        assert_eq!(e.causes(), ["inner".to_string()]);
    }
}
