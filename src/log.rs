//! Diagnostics on stderr, never stdout.
//!
//! `--verbose` or `AWSCRED_LOG=debug` turns on debug lines. Callers pass text that holds no
//! secrets (secrets travel as [`crate::secret::Secret`], whose `Debug` is redacted).

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Errors only.
    Error = 0,
    /// Warnings too (default).
    Warn = 1,
    /// Progress.
    Info = 2,
    /// Everything.
    Debug = 3,
}

impl Level {
    /// Parses `AWSCRED_LOG`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "error" | "off" | "quiet" => Self::Error,
            "warn" | "warning" => Self::Warn,
            "info" => Self::Info,
            "debug" | "trace" => Self::Debug,
            _ => return None,
        })
    }
}

/// Sets the level.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

fn enabled(level: Level) -> bool {
    LEVEL.load(Ordering::Relaxed) >= level as u8
}

#[allow(clippy::print_stderr)]
fn emit(tag: &str, msg: &str) {
    let mut err = std::io::stderr().lock();
    // One inert line: a log line may quote a server, and must not steer the terminal.
    let _ = writeln!(err, "awscred: {tag}{}", crate::remote::text(msg));
}

/// A debug line.
pub fn debug(msg: &str) {
    if enabled(Level::Debug) {
        emit("debug: ", msg);
    }
}

/// A progress line.
pub fn info(msg: &str) {
    if enabled(Level::Info) {
        emit("", msg);
    }
}

/// A warning line.
pub fn warn(msg: &str) {
    if enabled(Level::Warn) {
        emit("warning: ", msg);
    }
}
