//! `awscred export` and `awscred process`: the credentials of a profile, printed in the
//! exact shape the caller expects (Claude Code's `awsCredentialExport`, AWS
//! `credential_process`).

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::services::Services;
use crate::source::{self, LoginPolicy};
use crate::ui;
use std::process::ExitCode;

/// Prints `profile`'s credentials through `format`. `need_session_token`: long-term keys
/// are exchanged for a session first (Claude Code rejects credentials without a token).
pub fn print(
    services: &Services,
    profile: &str,
    need_session_token: bool,
    format: fn(&Credentials) -> Result<String>,
) -> Result<ExitCode> {
    let req = services.request(profile)?;
    let ctx = req.context(LoginPolicy::for_credentials(&req.chain.settings));
    let creds = if need_session_token {
        source::session_credentials(&ctx, &req.chain)?
    } else {
        source::credentials(&ctx, &req.chain)?
    };
    let text = format(&creds.credentials)?;
    ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    Ok(ExitCode::SUCCESS)
}
