//! `awscred export` and `awscred process`: the credentials of a profile, printed in the
//! exact shape the caller expects (Claude Code's `awsCredentialExport`, AWS
//! `credential_process`).

use crate::error::{Error, Result};
use crate::output;
use crate::services::Services;
use crate::source::{self, LoginPolicy};
use crate::ui;
use std::process::ExitCode;

/// Prints `profile`'s credentials in `format`. Long-term keys are exchanged for a session
/// first where the consumer rejects credentials without a token (Claude Code).
pub fn print(
    services: &Services,
    profile: &str,
    format: output::Format,
    refresh: bool,
) -> Result<ExitCode> {
    let mut req = services.request(profile)?;
    req.refresh = refresh;
    let ctx = req.context(LoginPolicy::for_credentials(&req.chain.settings));
    let creds = if format.needs_session_token() {
        source::session_credentials(&ctx, &req.chain)?
    } else {
        source::credentials(&ctx, &req.chain)?
    };
    let issued = output::Issued::new(&creds, req.chain.settings.region.as_deref());
    let text = output::render(format, &issued)?;
    ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    Ok(ExitCode::SUCCESS)
}
