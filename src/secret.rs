//! A wrapper that keeps secrets out of logs, errors and `Debug` output.
//!
//! Every token, secret key and session token travels as a [`Secret`]. It has no `Display`,
//! its `Debug` prints `REDACTED`, and reading the value takes an explicit [`Secret::expose`],
//! so each place a secret leaves the program is visible in the code.

use serde::{Deserialize, Serialize};

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Reads the value. Call sites are where a secret leaves: keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("REDACTED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("wJalrXUtnFEMI".to_string());
        assert_eq!(format!("{s:?}"), "REDACTED");
        assert_eq!(format!("{:?}", Some(&s)), "Some(REDACTED)");
        assert_eq!(s.expose(), "wJalrXUtnFEMI");
    }

    #[test]
    fn serializes_transparently_for_the_store() {
        let s = Secret::new("abc".to_string());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"abc\"");
    }
}
