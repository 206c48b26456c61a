//! `awscred clear`: deletes cached credentials but keeps sign-ins (aws-vault's `clear`,
//! aws-sso-cli's `flush`): the next use fetches new credentials without a new sign-in.

use crate::config::{Chain, parse::SectionKind, resolve};
use crate::error::Result;
use crate::services::Services;
use crate::source;
use crate::ui::Sink;
use std::process::ExitCode;

/// Every profile of the AWS files that resolves, each once.
pub fn every_chain(services: &Services) -> Vec<Chain> {
    let mut names: Vec<&str> = services
        .files
        .config
        .names(SectionKind::Profile)
        .chain(services.files.credentials.names(SectionKind::Profile))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter_map(|n| resolve::resolve(&services.files, n, &services.env).ok())
        .collect()
}

/// `awscred clear [--all]`.
pub fn run(services: &Services, profile: &str, all: bool) -> Result<ExitCode> {
    let chains = if all {
        every_chain(services)
    } else {
        vec![services.request(profile)?.chain]
    };
    let mut deleted = 0;
    for chain in &chains {
        let cache = services.cache(chain.settings.store)?;
        for key in source::step_keys(chain) {
            cache.delete(&key)?;
            deleted += 1;
        }
    }
    crate::log::debug(&format!("deleted {deleted} credential entries"));
    Sink::Stderr.line(&if all {
        format!(
            "Cleared the cached credentials of {} profiles; sign-ins are kept.",
            chains.len()
        )
    } else {
        format!("Cleared the cached credentials of profile {profile}; sign-ins are kept.")
    });
    Ok(ExitCode::SUCCESS)
}
