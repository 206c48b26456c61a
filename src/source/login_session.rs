//! AWS console sessions (`login_session`, written by `aws login` of the AWS CLI 2.32+):
//! credentials from AWS Sign-In, refreshed with a DPoP-bound refresh token.
//!
//! The AWS CLI's login cache file (`~/.aws/login/cache/<sha256 of the session ARN>.json`,
//! or under `AWS_LOGIN_CACHE_DIRECTORY`) is the source of truth for the refresh token and
//! the key: refresh tokens rotate and the AWS CLI refreshes without any lock, so the file is
//! read again under awscred's lock before each refresh, and once more when Sign-In says the
//! refresh token expired (the other tool may have just rotated it). awscred writes the
//! refreshed token back in the CLI's format, so both tools stay signed in: 0600, a new file
//! renamed over the old, never through a link. awscred's own store holds only the derived
//! credentials, cached as the chain's base step.

use super::Context;
use crate::cache;
use crate::clock::format_expiration;
use crate::config::{Base, Chain, LoginSession};
use crate::credentials::Credentials;
use crate::env;
use crate::error::{Error, Result};
use crate::login;
use crate::secret::Secret;
use crate::signin_oauth::{self, DpopKey, Grant};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Sign-In's answers that mean the refresh token can no longer be used: the session passed
/// its 12 hours or was signed out, or the password changed. (`INSUFFICIENT_PERMISSIONS` is
/// no such answer: a new sign-in as the same principal would not change it.)
const SIGN_IN_AGAIN: &[&str] = &["TOKEN_EXPIRED", "USER_CREDENTIALS_CHANGED"];

/// Extra reads of a file that does not parse (the AWS CLI may be writing it).
const PARTIAL_READS: u32 = 3;
/// The pause between them.
const PARTIAL_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// The AWS CLI's login cache file for `session`.
pub fn cache_path(env: &env::Environment, session: &str) -> Result<PathBuf> {
    let dir = match env.get(env::AWS_LOGIN_CACHE_DIRECTORY) {
        Some(d) => env.expand_home(d),
        None => env
            .home()
            .ok_or_else(|| {
                Error::user("cannot find the home directory for the AWS CLI's login cache")
                    .with_hint("set HOME, or AWS_LOGIN_CACHE_DIRECTORY")
            })?
            .join(".aws")
            .join("login")
            .join("cache"),
    };
    let hash = crate::sigv4::hex(&Sha256::digest(session.trim().as_bytes()));
    Ok(dir.join(format!("{hash}.json")))
}

/// The lock taken around every read-refresh-write of one session's file.
fn lock_key(session: &str) -> String {
    format!("awscred:login-session:{session}")
}

/// The cache file as read: the whole document (fields awscred does not know are kept) and
/// what awscred uses of it.
struct CliFile {
    doc: Secret<Map<String, Value>>,
    credentials: Credentials,
    expires_at: DateTime<Utc>,
    account_id: Option<String>,
    client_id: String,
    refresh_token: Secret<String>,
    dpop_key: Secret<String>,
    /// `signInRegion`: where the session was signed in; newer AWS CLIs write it and refresh
    /// there whatever the profile's region.
    sign_in_region: Option<String>,
}

impl CliFile {
    /// The region to refresh in: the file's `signInRegion`, else the profile's.
    fn region<'a>(&'a self, configured: &'a str) -> &'a str {
        self.sign_in_region.as_deref().unwrap_or(configured)
    }
}

fn unreadable(path: &std::path::Path, why: &str, hint: String) -> Error {
    Error::user(format!(
        "the AWS CLI's login cache {} cannot be used: {why}",
        path.display()
    ))
    .with_hint(hint)
}

fn parse(bytes: &[u8]) -> std::result::Result<CliFile, String> {
    let doc: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|_| "it is not a JSON object".to_string())?;
    let text = |o: &Map<String, Value>, k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("{k} is missing"))
    };
    let access = doc
        .get("accessToken")
        .and_then(Value::as_object)
        .ok_or_else(|| "accessToken is missing".to_string())?;
    let expires_at = DateTime::parse_from_rfc3339(&text(access, "expiresAt")?)
        .map_err(|_| "expiresAt is not a time".to_string())?
        .with_timezone(&Utc);
    let account_id = text(access, "accountId")
        .ok()
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    Ok(CliFile {
        credentials: Credentials {
            access_key_id: text(access, "accessKeyId")?,
            secret_access_key: Secret::new(text(access, "secretAccessKey")?),
            session_token: Some(Secret::new(text(access, "sessionToken")?)),
            expiration: Some(expires_at),
        },
        expires_at,
        account_id,
        client_id: text(&doc, "clientId")?,
        refresh_token: Secret::new(text(&doc, "refreshToken")?),
        dpop_key: Secret::new(text(&doc, "dpopKey")?),
        sign_in_region: match text(&doc, "signInRegion") {
            Ok(r) => Some(
                crate::config::resolve::check_region(&r, "signInRegion")
                    .map_err(|_| "signInRegion is not a region name".to_string())?,
            ),
            Err(_) => None,
        },
        doc: Secret::new(doc),
    })
}

/// The `accessToken` object as the AWS CLI writes it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AccessToken<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    account_id: &'a str,
    expires_at: String,
}

fn access_token(
    out: &signin_oauth::TokenOutput,
    account_id: Option<&str>,
    expires_at: DateTime<Utc>,
) -> Result<Value> {
    serde_json::to_value(AccessToken {
        access_key_id: &out.access_key_id,
        secret_access_key: out.secret_access_key.expose(),
        session_token: out.session_token.expose(),
        account_id: account_id.unwrap_or_default(),
        expires_at: format_expiration(expires_at),
    })
    .map_err(|_| Error::unexpected("cannot encode the login cache"))
}

fn expiry(now: DateTime<Utc>, expires_in: i64) -> Result<DateTime<Utc>> {
    chrono::Duration::try_seconds(expires_in)
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| {
            Error::unexpected(format!(
                "CreateOAuth2Token returned credentials that expire in {expires_in} seconds"
            ))
        })
}

impl LoginSession {
    fn path(&self, ctx: &Context<'_>) -> Result<PathBuf> {
        cache_path(ctx.env, &self.session)
    }

    fn hint(&self, ctx: &Context<'_>) -> String {
        format!(
            "{} (or aws login --profile {})",
            ctx.login_hint(),
            self.profile
        )
    }

    fn login_required(&self, ctx: &Context<'_>) -> Error {
        Error::login_required(format!(
            "signing in to the AWS console session {} is needed for profile {}",
            crate::remote::text(&self.session),
            ctx.profile
        ))
        .with_hint(self.hint(ctx))
    }

    /// The file as it is now. The AWS CLI rewrites it in place (truncate, then write), so
    /// a read can catch it half-written: a file that does not parse is read again a few
    /// times before it counts as broken.
    fn read(&self, ctx: &Context<'_>) -> Result<Option<CliFile>> {
        let path = self.path(ctx)?;
        let mut attempt = 0;
        loop {
            let Some(bytes) = crate::safe_write::read_private(&path)? else {
                return Ok(None);
            };
            match parse(&bytes) {
                Ok(f) => return Ok(Some(f)),
                Err(_) if attempt < PARTIAL_READS => {
                    attempt += 1;
                    std::thread::sleep(PARTIAL_PAUSE);
                }
                Err(why) => return Err(unreadable(&path, &why, self.hint(ctx))),
            }
        }
    }

    fn write(&self, ctx: &Context<'_>, doc: &Map<String, Value>) -> Result<()> {
        let path = self.path(ctx)?;
        let text = Secret::new(Value::Object(doc.clone()).to_string());
        crate::safe_write::write_private(&path, text.expose().as_bytes())
    }

    /// One refresh with the file's token and key; the file is rewritten with the answer.
    fn refresh(
        &self,
        ctx: &Context<'_>,
        file: &CliFile,
    ) -> std::result::Result<CliFile, crate::net::Failure> {
        let key =
            DpopKey::from_pem(file.dpop_key.expose()).map_err(|e| e.with_hint(self.hint(ctx)))?;
        let region = file.region(&self.region);
        crate::log::debug(&format!(
            "CreateOAuth2Token (refresh) at {}",
            crate::remote::url(&signin_oauth::token_url(ctx.env, region))
        ));
        let out = signin_oauth::create_token(
            ctx.net,
            region,
            &file.client_id,
            Grant::Refresh(&file.refresh_token),
            &key,
            ctx.clock.now(),
        )?;
        let expires_at = expiry(ctx.clock.now(), out.expires_in)?;
        super::role::check_expiration(
            expires_at,
            ctx.clock.now(),
            &signin_oauth::token_url(ctx.env, region),
            "CreateOAuth2Token",
        )?;
        let mut doc = file.doc.expose().clone();
        doc.insert(
            "accessToken".into(),
            access_token(&out, file.account_id.as_deref(), expires_at)?,
        );
        doc.insert(
            "refreshToken".into(),
            Value::String(out.refresh_token.expose().clone()),
        );
        self.write(ctx, &doc)?;
        let path = self.path(ctx)?;
        let written = serde_json::to_vec(&doc).map_err(|_| Error::unexpected("cannot encode"))?;
        parse(&written).map_err(|why| unreadable(&path, &why, self.hint(ctx)).into())
    }

    /// A new sign-in where the policy allows one; otherwise `login required`, saying `why`.
    fn sign_in_or_fail(&self, ctx: &Context<'_>, why: &str) -> Result<CliFile> {
        let flow = match login::choose(&ctx.login, ctx.env) {
            Ok(flow) => flow,
            Err(no_flow) if ctx.login.allowed => {
                return Err(self
                    .login_required(ctx)
                    .caused_by_text(why)
                    .caused_by_text(no_flow));
            }
            Err(_) => return Err(self.login_required(ctx).caused_by_text(why)),
        };
        let done = match flow {
            login::Flow::Browser => login::aws_signin::browser(&ctx.sign_in_ctx(), &self.region)?,
            login::Flow::Device => {
                login::aws_signin::cross_device(&ctx.sign_in_ctx(), &self.region)?
            }
        };
        let out = &done.output;
        let Some(id_token) = &out.id_token else {
            return Err(Error::unexpected(
                "CreateOAuth2Token answered a sign-in without an idToken",
            ));
        };
        let sub = signin_oauth::id_token_subject(id_token.expose()).unwrap_or_default();
        if sub.trim() != self.session.trim() {
            return Err(Error::user(format!(
                "you signed in as {}, but profile {} uses login_session {}",
                crate::remote::text(&sub),
                self.profile,
                crate::remote::text(&self.session)
            ))
            .with_hint(format!(
                "sign in as that session's identity, or run aws login --profile {} to switch the profile to the new session",
                self.profile
            )));
        }
        let now = ctx.clock.now();
        let account = signin_oauth::arn_account(&sub);
        let mut doc = Map::new();
        doc.insert(
            "accessToken".into(),
            access_token(out, account.as_deref(), expiry(now, out.expires_in)?)?,
        );
        doc.insert("tokenType".into(), Value::String(out.token_type.clone()));
        doc.insert("clientId".into(), Value::String(done.client_id.to_string()));
        doc.insert(
            "refreshToken".into(),
            Value::String(out.refresh_token.expose().clone()),
        );
        doc.insert("idToken".into(), Value::String(id_token.expose().clone()));
        doc.insert("signInRegion".into(), Value::String(self.region.clone()));
        doc.insert(
            "dpopKey".into(),
            Value::String(done.key.pem().expose().clone()),
        );
        self.write(ctx, &doc)?;
        ctx.login.sink.line(&format!(
            "Signed in to the AWS console session {}.",
            crate::remote::text(&self.session)
        ));
        let written = serde_json::to_vec(&doc).map_err(|_| Error::unexpected("cannot encode"))?;
        parse(&written)
            .map_err(|why| unreadable(&self.path(ctx).unwrap_or_default(), &why, self.hint(ctx)))
    }

    /// The session's current credentials: the file's when they last long enough (a peer or
    /// the AWS CLI refreshed them), else refreshed, else a new sign-in where allowed. Holds
    /// the session's lock throughout.
    fn current(&self, ctx: &Context<'_>) -> Result<CliFile> {
        let _guard = ctx.locks.acquire(
            &lock_key(&self.session),
            ctx.lock_wait(),
            "refreshing an AWS console session",
        )?;
        if ctx.login.force {
            return self.sign_in_or_fail(ctx, "a new sign-in was asked for");
        }
        let Some(file) = self.read(ctx)? else {
            return self.sign_in_or_fail(
                ctx,
                "the AWS CLI's login cache has no sign-in for it (never signed in, or signed out)",
            );
        };
        if !ctx.refresh && cache::fresh(Some(file.expires_at), ctx.clock.now(), cache::MIN_USEFUL) {
            return Ok(file);
        }
        match self.refresh(ctx, &file) {
            Ok(f) => Ok(f),
            Err(f)
                if f.code
                    .as_deref()
                    .is_some_and(|c| SIGN_IN_AGAIN.contains(&c)) =>
            {
                let code = crate::remote::text(f.code.as_deref().unwrap_or_default());
                crate::log::info(&format!(
                    "AWS Sign-In refused the refresh token ({code}); reading the login cache again"
                ));
                // The AWS CLI may have rotated the token since it was read.
                if let Some(again) = self.read(ctx)?
                    && again.refresh_token != file.refresh_token
                {
                    if cache::fresh(Some(again.expires_at), ctx.clock.now(), cache::MIN_USEFUL) {
                        return Ok(again);
                    }
                    match self.refresh(ctx, &again) {
                        Ok(f) => return Ok(f),
                        Err(g)
                            if g.code
                                .as_deref()
                                .is_some_and(|c| SIGN_IN_AGAIN.contains(&c)) => {}
                        Err(g) => return Err(g.error),
                    }
                }
                self.sign_in_or_fail(
                    ctx,
                    &format!(
                        "AWS Sign-In refused the session's refresh token ({code}): the session ended (12 hours, or signed out) or the password changed"
                    ),
                )
            }
            Err(f) => {
                // A network failure with credentials still valid for a while: use them.
                if cache::fresh(
                    Some(file.expires_at),
                    ctx.clock.now(),
                    std::time::Duration::from_secs(60),
                ) {
                    crate::log::warn(&format!(
                        "{}; using the current credentials until they expire",
                        f.error
                    ));
                    return Ok(file);
                }
                Err(f.error)
            }
        }
    }
}

impl super::Source for LoginSession {
    fn kind(&self) -> &'static str {
        "login"
    }
    fn describe(&self) -> String {
        format!("AWS console session {} (aws login)", self.session)
    }
    fn cache_id(&self) -> String {
        format!("login|{}|{}", self.session.trim(), self.region)
    }
    fn cacheable(&self) -> bool {
        true
    }
    fn fetch(&self, ctx: &Context<'_>, _chain: &Chain) -> Result<(Credentials, Option<String>)> {
        let file = self.current(ctx)?;
        Ok((file.credentials, file.account_id))
    }
    fn sign_in(&self) -> Option<&dyn super::SignIn> {
        Some(self)
    }
}

impl super::SignIn for LoginSession {
    fn name(&self) -> String {
        format!("the AWS console session {}", self.session)
    }
    fn shared_by(&self, other: &Base) -> bool {
        matches!(other, Base::LoginSession(o) if o.session.trim() == self.session.trim())
    }
    fn state(&self, ctx: &Context<'_>) -> Result<super::SignInState> {
        Ok(match self.read(ctx)? {
            None => super::SignInState::None,
            Some(f) if f.expires_at > ctx.clock.now() => super::SignInState::Valid {
                until: f.expires_at,
                refreshable: true,
            },
            Some(_) => super::SignInState::Expired { refreshable: true },
        })
    }
    fn ensure(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let before = self.read(ctx).ok().flatten().map(|f| f.refresh_token);
        let file = self.current(ctx)?;
        let reused = !ctx.login.force && before.is_some_and(|b| b == file.refresh_token);
        Ok(reused.then_some(file.expires_at))
    }
    fn sign_out(&self, ctx: &Context<'_>, _sharing: &[&Base]) -> Result<String> {
        // The session belongs to the AWS CLI as much as to awscred: its file stays, so
        // `aws` keeps working; `aws logout` ends it.
        let path = self.path(ctx)?;
        Ok(format!(
            "Deleted awscred's credentials from {}. The AWS CLI's sign-in ({}) is kept: run aws logout --profile {} to end it.",
            super::SignIn::name(self),
            path.display(),
            self.profile
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_file_is_named_by_the_sha256_of_the_session() {
        let env = env::Environment::from_pairs([("HOME", "/home/u")]);
        // sha256("arn:aws:sts::012345678910:assumed-role/Admin/admin"), as the AWS CLI's
        // own test cases name the file.
        assert_eq!(
            cache_path(&env, "arn:aws:sts::012345678910:assumed-role/Admin/admin\n").unwrap(),
            PathBuf::from(
                "/home/u/.aws/login/cache/4b0ba8f99f075c0633e122fd73346ce203a3faf18ea0310eb2d29df1bab2e255.json"
            )
        );
        let env = env::Environment::from_pairs([
            ("HOME", "/home/u"),
            ("AWS_LOGIN_CACHE_DIRECTORY", "~/elsewhere"),
        ]);
        assert!(
            cache_path(&env, "arn:x")
                .unwrap()
                .starts_with("/home/u/elsewhere")
        );
    }

    #[test]
    fn the_cli_format_is_read_and_incomplete_files_are_refused() {
        let full = r#"{"accessToken":{"accessKeyId":"ASIA1","secretAccessKey":"s","sessionToken":"t","accountId":"012345678901","expiresAt":"2026-11-25T12:00:00Z"},"tokenType":"aws_sigv4","clientId":"arn:aws:signin:::devtools/same-device","refreshToken":"r","idToken":"i","dpopKey":"k","extra":1}"#;
        let f = parse(full.as_bytes()).unwrap();
        assert_eq!(f.credentials.access_key_id, "ASIA1");
        assert_eq!(f.account_id.as_deref(), Some("012345678901"));
        assert_eq!(format_expiration(f.expires_at), "2026-11-25T12:00:00Z");
        assert!(
            f.doc.expose().contains_key("extra"),
            "unknown fields are kept"
        );
        for field in [
            "\"refreshToken\":\"r\",",
            "\"dpopKey\":\"k\",",
            "\"clientId\":\"arn:aws:signin:::devtools/same-device\",",
        ] {
            let e = parse(full.replace(field, "").as_bytes()).err().unwrap();
            assert!(e.ends_with("is missing"), "{e}");
        }
        assert!(parse(b"[]").is_err());
        assert_eq!(
            f.region("eu-west-1"),
            "eu-west-1",
            "no signInRegion: the profile's"
        );
        let with = full.replace("\"extra\":1", "\"signInRegion\":\"ap-south-1\"");
        assert_eq!(
            parse(with.as_bytes()).unwrap().region("eu-west-1"),
            "ap-south-1"
        );
        assert!(
            parse(
                full.replace("\"extra\":1", "\"signInRegion\":\"../x\"")
                    .as_bytes()
            )
            .is_err()
        );
        assert!(parse(full.replace("2026-11-25T12:00:00Z", "soon").as_bytes()).is_err());
    }

    #[test]
    fn the_cache_id_is_stable_and_the_sign_in_is_shared_by_the_same_session() {
        use super::super::{Source, of};
        let l = LoginSession {
            profile: "console".into(),
            session: "arn:aws:sts::111122223333:assumed-role/Admin/me".into(),
            region: "eu-west-1".into(),
        };
        // The exact text: a change here would orphan every cached entry on upgrade.
        assert_eq!(
            l.cache_id(),
            "login|arn:aws:sts::111122223333:assumed-role/Admin/me|eu-west-1"
        );
        let base = Base::LoginSession(l.clone());
        assert!(of(&base).cacheable());
        let sign_in = of(&base).sign_in().unwrap();
        let other_profile = Base::LoginSession(LoginSession {
            profile: "other".into(),
            ..l.clone()
        });
        assert!(sign_in.shared_by(&other_profile));
        let other_session = Base::LoginSession(LoginSession {
            session: "arn:aws:sts::111122223333:assumed-role/Admin/you".into(),
            ..l
        });
        assert!(!sign_in.shared_by(&other_session));
        assert!(!sign_in.shared_by(&Base::Environment));
    }
}
