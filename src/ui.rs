//! Messages meant for a person, sent where the person can see them without touching the
//! data channel.
//!
//! `awscred login` runs as Claude Code's `awsAuthRefresh`, whose stdout is shown to the
//! user: its sign-in instructions go to stdout. Every other command keeps stdout for JSON,
//! so its instructions go to stderr.

use std::io::Write;

/// Where instructions for the user go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Standard output (`awscred login`).
    Stdout,
    /// Standard error (everything else).
    Stderr,
}

impl Sink {
    /// Writes one line and flushes it, so a watching parent sees it at once.
    #[allow(clippy::print_stdout, clippy::print_stderr)]
    pub fn line(self, text: &str) {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
            Sink::Stderr => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{text}");
                let _ = err.flush();
            }
        }
    }
}

/// Writes data (JSON, shell lines) to stdout; the only place data is printed.
#[allow(clippy::print_stdout)]
pub fn data(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether a person is watching this process's terminal.
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// Whether stdout goes to a terminal.
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

/// Whether a person can answer a prompt on the terminal: stdin or stderr is a terminal
/// (under Claude Code and the SDKs both are pipes, and awscred never writes into their
/// screen).
pub fn can_prompt() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() || std::io::stderr().is_terminal()
}
