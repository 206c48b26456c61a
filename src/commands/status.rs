//! `awscred status`: the profile's chain, the store, what is cached, the lock. Never a
//! secret, never a network call.

use crate::app::Invocation;
use crate::cache;
use crate::clock::{Clock, format_expiration};
use crate::config::Base;
use crate::credentials::CachedCredentials;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::output;
use crate::source::sso;
use crate::ui::{self, Sink};
use chrono::{DateTime, Utc};
use std::process::ExitCode;

/// Runs `status`.
pub fn run(env: &Environment, profile: &str, as_json: bool) -> Result<ExitCode> {
    let inv = Invocation::new(env, profile)?;
    let now = inv.clock.now();
    let token = match &inv.chain.base {
        Base::Sso(role) => inv
            .cache
            .get::<sso::SsoToken>(&sso::token_key(&role.session))?,
        _ => None,
    };
    let key = cache::keys::credentials(&inv.chain.cache_id());
    let creds = inv.cache.get::<CachedCredentials>(&key)?;
    let lock = inv.locks.is_held(&key)?;

    if as_json {
        let status = output::Status {
            profile,
            source: inv.chain.describe(),
            store: inv.cache.store().name(),
            store_location: inv.cache.store().location(),
            sign_in: match (&inv.chain.base, &token) {
                (Base::Sso(_), Some(t)) => Some(output::SignIn {
                    signed_in: t.expires_at > now,
                    expires_at: Some(t.expires_at),
                    refreshable: Some(t.refresh_token.is_some()),
                }),
                (Base::Sso(_), None) => Some(output::SignIn {
                    signed_in: false,
                    expires_at: None,
                    refreshable: None,
                }),
                _ => None,
            },
            credentials: creds.as_ref().map(|c| output::CachedState {
                access_key_id: &c.credentials.access_key_id,
                expiration: c.credentials.expiration,
                valid: c.credentials.expiration.is_none_or(|e| e > now),
            }),
            lock,
        };
        let text = output::status_json(&status)?;
        ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
        return Ok(ExitCode::SUCCESS);
    }

    let out = Sink::Stdout;
    out.line(&format!("profile:      {profile}"));
    out.line(&format!("source:       {}", inv.chain.describe()));
    out.line(&format!("store:        {}", inv.cache.store().location()));
    if let Base::Sso(_) = &inv.chain.base {
        let line = match &token {
            Some(t) if t.expires_at > now => format!(
                "signed in until {} ({}){}",
                format_expiration(t.expires_at),
                left(t.expires_at, now),
                if t.refresh_token.is_some() {
                    ", refreshable"
                } else {
                    ""
                }
            ),
            Some(t) if t.refresh_token.is_some() => "token expired, refreshable".to_string(),
            Some(_) => "token expired".to_string(),
            None => "not signed in".to_string(),
        };
        out.line(&format!("sign-in:      {line}"));
    }
    let line = match &creds {
        Some(c) => match c.credentials.expiration {
            Some(e) if e > now => format!(
                "{} until {} ({})",
                c.credentials.access_key_id,
                format_expiration(e),
                left(e, now)
            ),
            Some(_) => "expired".to_string(),
            None => "long-term".to_string(),
        },
        None => "none cached".to_string(),
    };
    out.line(&format!("credentials:  {line}"));
    out.line(&format!(
        "lock:         {}",
        match lock {
            Some(holder) => format!("held by {holder}"),
            None => "free".to_string(),
        }
    ));
    Ok(ExitCode::SUCCESS)
}

fn left(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let m = cache::remaining(t, now).as_secs() / 60;
    if m >= 120 {
        format!("{} h left", m / 60)
    } else {
        format!("{m} min left")
    }
}
