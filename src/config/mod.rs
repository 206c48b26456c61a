//! Configuration: the standard AWS files, read in two stages.
//!
//! [`parse`] turns text into sections (literal), [`resolve`] turns a profile name into a
//! [`Chain`]: the base source and the role steps on top of it, as plain data. Executing a
//! chain is [`crate::source`]'s job; nothing here touches the network or the store.

pub mod chain;
pub mod edit;
pub mod parse;
pub mod resolve;
pub mod settings;

pub use resolve::{
    Base, Chain, LoginFlow, LoginSession, OidcSource, ProcessSource, RoleStep, Settings, SsoRole,
    SsoSession, StaticKeys, StoreChoice, WebIdentity,
};

use crate::env::Environment;
use crate::error::Result;
use parse::{FileKind, Sections};
use std::path::PathBuf;

/// The AWS config and credentials files, parsed.
#[derive(Debug, Clone, Default)]
pub struct AwsFiles {
    /// Sections from both files (credentials-file profiles merged into profiles).
    pub config: Sections,
    /// Sections of the credentials file alone (where static keys belong).
    pub credentials: Sections,
    /// The config file's path (for messages).
    pub config_path: PathBuf,
    /// The credentials file's path (for messages).
    pub credentials_path: PathBuf,
}

impl AwsFiles {
    /// Reads both files; a missing file is empty, an unreadable one is an error naming it.
    /// Sections are parsed when first asked for: [`AwsFiles::validate`] finds errors in the
    /// others.
    pub fn load(env: &Environment) -> Result<Self> {
        let config_path = env.config_file();
        let credentials_path = env.credentials_file();
        let mut files = Self {
            config_path: config_path.clone(),
            credentials_path: credentials_path.clone(),
            ..Self::default()
        };
        if let Some(f) = open_optional(&config_path)? {
            files.config.add_file(f, &config_path, FileKind::Config)?;
        }
        if let Some(f) = open_optional(&credentials_path)? {
            files
                .credentials
                .add_file(f, &credentials_path, FileKind::Credentials)?;
        }
        Ok(files)
    }

    /// Parses every section of both files: the errors of sections no profile asked for.
    pub fn validate(&self) -> Result<()> {
        self.config.validate()?;
        self.credentials.validate()
    }

    /// Parses texts directly; for tests.
    pub fn from_texts(config: &str, credentials: &str) -> Result<Self> {
        let mut files = Self {
            config_path: PathBuf::from("~/.aws/config"),
            credentials_path: PathBuf::from("~/.aws/credentials"),
            ..Self::default()
        };
        files
            .config
            .merge_text(config, &files.config_path.clone(), FileKind::Config)?;
        files.credentials.merge_text(
            credentials,
            &files.credentials_path.clone(),
            FileKind::Credentials,
        )?;
        Ok(files)
    }
}

fn open_optional(path: &std::path::Path) -> Result<Option<std::fs::File>> {
    match fs_err::File::open(path) {
        Ok(f) => Ok(Some(f.into_parts().0)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(parse::read_error(path, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_utf8_names_the_line() {
        let e = parse::utf8_text(
            b"[profile a]\nregion = x\n# caf\xe9\n".to_vec(),
            std::path::Path::new("/h/.aws/config"),
            1,
        )
        .unwrap_err();
        assert_eq!(e.message(), "/h/.aws/config:3: the file is not UTF-8 text");
        assert_eq!(e.exit_code(), 1);
        assert!(e.hint().unwrap().contains("save /h/.aws/config as UTF-8"));
    }
}
