//! `awscred status`: the profile's chain, the store, what is cached, the lock. Never a
//! secret, never a network call.

use crate::cache;
use crate::clock::{Clock, format_expiration};
use crate::credentials::CachedCredentials;
use crate::error::{Error, Result};
use crate::output;
use crate::services::Services;
use crate::source::{self, LoginPolicy, SignInState};
use crate::ui::{self, Sink};
use chrono::{DateTime, Utc};
use std::process::ExitCode;

/// Runs `status`.
pub fn run(services: &Services, profile: &str, as_json: bool) -> Result<ExitCode> {
    let inv = services.request(profile)?;
    let now = services.clock.now();
    let ctx = inv.context(LoginPolicy::silent());
    let sign_in = match source::of(&inv.chain.base).sign_in() {
        Some(s) => Some((s.name(), s.state(&ctx)?)),
        None => None,
    };
    let key = source::final_key(&inv.chain);
    let creds = inv.cache.get::<CachedCredentials>(&key)?;
    let lock = inv.locks.is_held(&key)?;
    let describe = source::describe(&inv.chain);

    if as_json {
        let status = output::Status {
            profile,
            source: describe.clone(),
            store: inv.cache.store().name(),
            store_location: inv.cache.store().location(),
            sign_in: sign_in.as_ref().map(|(to, state)| match state {
                SignInState::Valid { until, refreshable } => output::SignIn {
                    to: to.clone(),
                    signed_in: true,
                    expires_at: Some(*until),
                    refreshable: Some(*refreshable),
                },
                SignInState::Expired { refreshable } => output::SignIn {
                    to: to.clone(),
                    signed_in: false,
                    expires_at: None,
                    refreshable: Some(*refreshable),
                },
                SignInState::None => output::SignIn {
                    to: to.clone(),
                    signed_in: false,
                    expires_at: None,
                    refreshable: None,
                },
            }),
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
    out.line(&format!("source:       {describe}"));
    out.line(&format!("store:        {}", inv.cache.store().location()));
    if let Some((to, state)) = &sign_in {
        let line = match state {
            SignInState::Valid { until, refreshable } => format!(
                "signed in to {to} until {} ({}){}",
                format_expiration(*until),
                left(*until, now),
                if *refreshable { ", refreshable" } else { "" }
            ),
            SignInState::Expired { refreshable: true } => {
                format!("token of {to} expired, refreshable")
            }
            SignInState::Expired { refreshable: false } => format!("token of {to} expired"),
            SignInState::None => format!("not signed in to {to}"),
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
