//! `awscred sso list` and `awscred sso populate`: the accounts and roles of an IAM Identity
//! Center sign-in, listed from the access portal (ListAccounts, then ListAccountRoles for
//! each account on a few threads), and written as profiles into `~/.aws/config` with the
//! format-preserving editor.
//!
//! Generated profiles carry `awscred_generated = <sso-session>`. A later run updates them,
//! removes those whose account or role is gone, and keeps (and reports) those the user
//! changed: a key awscred does not write was added, or the account or role of a profile
//! whose name the listing still gives was changed. Profiles without that key (or generated
//! for another session) are never touched; a name that is taken is reported and skipped.

use crate::cli::{SsoListArgs, SsoPopulateArgs};
use crate::config::parse::{FileKind, SectionKind, Sections};
use crate::config::{Base, SsoSession, edit};
use crate::env::Environment;
use crate::error::{Error, Kind, Result};
use crate::identity_center::{self, Account};
use crate::lock::Locks;
use crate::net::{Failure, Net};
use crate::safe_write::{self, Backups, MODE_PRIVATE, Place};
use crate::secret::Secret;
use crate::services::{Request, Services};
use crate::source::{self, LoginPolicy};
use crate::ui::{self, Sink};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The key that marks a generated profile; its value is the sso-session.
pub const GENERATED_KEY: &str = "awscred_generated";
/// Every key `populate` writes; a generated profile with any other key was edited.
const GENERATED_KEYS: &[&str] = &[
    GENERATED_KEY,
    "sso_session",
    "sso_account_id",
    "sso_role_name",
    "region",
    "credential_process",
];
/// The suffix of the profile holding the IAM Identity Center settings of a
/// `--credential-process` profile.
pub const SSO_SIBLING_SUFFIX: &str = ".sso";
/// ListAccountRoles calls at once.
const ROLE_WORKERS: usize = 4;
/// Rounds of retries of a throttled ListAccountRoles, beyond the network layer's own.
const THROTTLE_ROUNDS: u32 = 4;
/// The first wait after a throttled round; doubled each round.
const THROTTLE_WAIT: Duration = Duration::from_secs(1);
/// Most pages read of one listing (a portal that never ends one is broken).
const MAX_PAGES: usize = 10_000;
/// The profile name used to resolve a session no profile uses yet.
const LISTING_PROFILE: &str = "awscred-sso-listing";

/// An account with the roles the user has in it.
#[derive(Debug, Clone, serde::Serialize)]
struct Listed {
    #[serde(rename = "accountId")]
    account_id: String,
    #[serde(rename = "accountName")]
    account_name: String,
    #[serde(rename = "emailAddress")]
    email: String,
    roles: Vec<String>,
}

/// The sso-session named on the command line, else the only one in the config, else the
/// profile's.
fn session_name(services: &Services, asked: Option<&str>, profile: &str) -> Result<String> {
    if let Some(n) = asked {
        return Ok(n.to_string());
    }
    let names: Vec<&str> = services
        .files
        .config
        .names(SectionKind::SsoSession)
        .collect();
    if let [only] = names.as_slice() {
        return Ok((*only).to_string());
    }
    if let Ok(chain) = crate::config::resolve::resolve(&services.files, profile, &services.env)
        && let Base::Sso(r) = &chain.base
        && let Some(n) = &r.session.name
    {
        return Ok(n.clone());
    }
    Err(Error::user(if names.is_empty() {
        format!(
            "{} has no [sso-session] section",
            services.files.config_path.display()
        )
    } else {
        format!(
            "which sso-session? {} has {}",
            services.files.config_path.display(),
            names.join(", ")
        )
    })
    .with_hint("name one with --sso-session NAME"))
}

/// A request for the session `name`: through a profile that uses it (its store and
/// settings hold the sign-in), else through a profile made up for the listing.
fn session_request<'a>(
    services: &'a Services,
    name: &str,
) -> Result<(Request<'a>, SsoSession, Option<String>)> {
    let files = &services.files;
    if files.config.get(SectionKind::SsoSession, name)?.is_none() {
        let known: Vec<&str> = files.config.names(SectionKind::SsoSession).collect();
        let e = Error::user(format!(
            "[sso-session {}] not found in {}",
            crate::remote::text(name),
            files.config_path.display()
        ));
        return Err(if known.is_empty() {
            e.caused_by_text("the file has no [sso-session] section")
        } else {
            e.caused_by_text(format!("sessions: {}", known.join(", ")))
        }
        .with_hint("name an [sso-session] of the file with --sso-session"));
    }
    let using = files.config.names(SectionKind::Profile).find(|p| {
        crate::config::resolve::resolve(files, p, &services.env).is_ok_and(|c| {
            c.roles.is_empty()
                && matches!(&c.base, Base::Sso(r) if r.session.name.as_deref() == Some(name))
        })
    });
    if let Some(p) = using {
        let req = services.request(p)?;
        let Base::Sso(r) = &req.chain.base else {
            return Err(Error::unexpected("the profile is no longer an SSO profile"));
        };
        let session = r.session.clone();
        let p = p.to_string();
        return Ok((req, session, Some(p)));
    }
    let mut with_listing = files.clone();
    with_listing.config.merge_text(
        &format!(
            "[profile {LISTING_PROFILE}]\nsso_session = {name}\nsso_account_id = 000000000000\nsso_role_name = awscred\n"
        ),
        &files.config_path,
        FileKind::Config,
    )?;
    let chain = crate::config::resolve::resolve(&with_listing, LISTING_PROFILE, &services.env)?;
    let Base::Sso(r) = &chain.base else {
        return Err(Error::unexpected(
            "the listing profile is not an SSO profile",
        ));
    };
    let session = r.session.clone();
    let req = Request {
        services,
        net: services.net_for(&chain.settings.ca_bundle),
        cache: services.cache(chain.settings.store)?,
        locks: Locks::new(services.env.cache_dir()?.join("locks")),
        started: crate::clock::Clock::now(&services.clock),
        refresh: false,
        chain,
    };
    Ok((req, session, None))
}

/// Every account and its roles, signing in first where needed and allowed.
fn listing(services: &Services, name: &str) -> Result<(SsoSession, Vec<Listed>)> {
    let (req, session, profile) = session_request(services, name)?;
    let ctx = req.context(LoginPolicy::for_credentials(&req.chain.settings));
    let hint = match &profile {
        Some(p) => format!("run awscred login --profile {p}"),
        None => format!(
            "run awscred sso list --sso-session {name} in a terminal (it signs in), or add a profile that uses the session and run awscred login --profile PROFILE"
        ),
    };
    // Said for the session, not for the profile the listing went through.
    let with_hint = |e: Error| {
        if e.kind() != Kind::LoginRequired {
            return e;
        }
        let mut said = Error::login_required(format!(
            "signing in to IAM Identity Center (sso-session {name}) is needed to list its accounts"
        ));
        for c in e.causes() {
            said = said.caused_by_text(c.clone());
        }
        said.with_hint(hint.clone())
    };
    let token = source::sso::token(&ctx, &session).map_err(with_hint)?;
    let ca = req.chain.settings.ca_bundle.clone();
    match list_all(ctx.net, ctx.env, &ca, &session.region, &token.access_token) {
        Err(f) if f.code.as_deref() == Some("UnauthorizedException") => {
            // The token was revoked or expired early: drop it, sign in again if allowed.
            ctx.cache.delete(&source::sso::token_key(&session))?;
            if !ctx.login.allowed {
                return Err(f.error);
            }
            let again = source::sso::token(&ctx, &session).map_err(with_hint)?;
            list_all(ctx.net, ctx.env, &ca, &session.region, &again.access_token)
                .map(|l| (session, l))
                .map_err(|f| f.error)
        }
        other => other.map(|l| (session, l)).map_err(|f| f.error),
    }
}

/// An AWS account id: 12 digits.
fn valid_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// A role (permission set) name as IAM allows it: 1 to 64 of `[A-Za-z0-9+=,.@_-]`.
fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// The roles of one account, or why they could not be listed.
type RolesResult = std::result::Result<Vec<String>, Failure>;

/// ListAccounts, page by page, then ListAccountRoles for each account on
/// [`ROLE_WORKERS`] threads (each with its own connections), sorted by account name.
fn list_all(
    net: &Net,
    env: &Environment,
    ca_bundle: &Option<(std::path::PathBuf, String)>,
    region: &str,
    token: &Secret<String>,
) -> std::result::Result<Vec<Listed>, Failure> {
    let mut accounts = all_pages(|next| identity_center::list_accounts(net, region, token, next))?;
    // What the portal says ends up in ~/.aws/config: an id or a name that is not what AWS
    // issues could carry a new line or a section of its own.
    accounts.retain(|a| {
        let ok = valid_account_id(&a.account_id);
        if !ok {
            crate::log::warn(&format!(
                "ignored an account the access portal listed with the id `{}`, which is not 12 digits",
                crate::remote::text(&a.account_id)
            ));
        }
        ok
    });
    let slots: Vec<Mutex<Option<RolesResult>>> =
        accounts.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..ROLE_WORKERS.min(accounts.len()) {
            scope.spawn(|| {
                let net = Net::new(env.clone()).with_ca_bundle(ca_bundle.clone());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(account) = accounts.get(i) else {
                        break;
                    };
                    let roles = roles_of(&net, region, token, account);
                    let failed = roles.is_err();
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(roles);
                    }
                    if failed {
                        // The others finish what they hold; nothing new starts.
                        next.store(accounts.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut out = Vec::with_capacity(accounts.len());
    for (account, slot) in accounts.into_iter().zip(slots) {
        let roles = match slot.into_inner().ok().flatten() {
            Some(r) => r?,
            None => continue,
        };
        let mut roles = roles;
        roles.retain(|r| {
            let ok = valid_role_name(r);
            if !ok {
                crate::log::warn(&format!(
                    "ignored a role the access portal listed as `{}`, which is not a role name",
                    crate::remote::text(r)
                ));
            }
            ok
        });
        roles.sort();
        roles.dedup();
        out.push(Listed {
            account_id: account.account_id,
            account_name: account.account_name,
            email: account.email,
            roles,
        });
    }
    out.sort_by(|a, b| {
        (a.account_name.as_str(), a.account_id.as_str())
            .cmp(&(b.account_name.as_str(), b.account_id.as_str()))
    });
    Ok(out)
}

/// The roles of one account; a throttled listing is retried after a growing wait.
fn roles_of(
    net: &Net,
    region: &str,
    token: &Secret<String>,
    account: &Account,
) -> std::result::Result<Vec<String>, Failure> {
    let mut wait = THROTTLE_WAIT;
    let mut round = 1;
    loop {
        match all_pages(|next| {
            identity_center::list_account_roles(net, region, token, &account.account_id, next)
        }) {
            Err(f)
                if round < THROTTLE_ROUNDS
                    && f.code.as_deref().is_some_and(crate::net::is_throttling) =>
            {
                crate::log::debug(&format!(
                    "ListAccountRoles throttled; waiting {} s",
                    wait.as_secs()
                ));
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2);
                round += 1;
            }
            other => return other,
        }
    }
}

/// Every item of a paginated listing.
fn all_pages<T>(
    mut page: impl FnMut(Option<&str>) -> std::result::Result<identity_center::Page<T>, Failure>,
) -> std::result::Result<Vec<T>, Failure> {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let p = page(next.as_deref())?;
        items.extend(p.items);
        match p.next_token {
            Some(t) if Some(&t) != next.as_ref() => next = Some(t),
            Some(_) => {
                return Err(Error::unexpected(
                    "the access portal returned the same page token twice",
                )
                .into());
            }
            None => return Ok(items),
        }
    }
    Err(Error::unexpected("the access portal's listing did not end").into())
}

/// `awscred sso list`.
pub fn list(services: &Services, profile: &str, args: &SsoListArgs) -> Result<ExitCode> {
    let name = session_name(services, args.sso_session.as_deref(), profile)?;
    let (_, listed) = listing(services, &name)?;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&listed)
            .map_err(|e| Error::unexpected("cannot write JSON").caused_by(&e))?;
        s.push('\n');
        s
    } else {
        let mut s = String::new();
        for a in &listed {
            let email = if a.email.is_empty() {
                String::new()
            } else {
                format!(", {}", crate::remote::text(&a.email))
            };
            s.push_str(&format!(
                "{} ({}{email})\n",
                crate::remote::text(&a.account_name),
                crate::remote::text(&a.account_id)
            ));
            for r in &a.roles {
                s.push_str(&format!("  {}\n", crate::remote::text(r)));
            }
        }
        if listed.is_empty() {
            s.push_str("No accounts: the access portal lists none for you.\n");
        }
        s
    };
    ui::data(&text).map_err(|e| Error::unexpected("cannot write to stdout").caused_by(&e))?;
    Ok(ExitCode::SUCCESS)
}

/// A profile name from the template: placeholders replaced, and characters a profile
/// name cannot hold replaced by `-`.
fn profile_name(template: &str, account: &Listed, role: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(bad_template(template));
        };
        out.push_str(match &after[..close] {
            "account_name" if !account.account_name.is_empty() => &account.account_name,
            "account_name" | "account_id" => &account.account_id,
            "role_name" => role,
            _ => return Err(bad_template(template)),
        });
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(bad_template(template));
    }
    out.push_str(rest);
    let name: String = out
        .trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || "[]\"'\\#;".contains(c) {
                '-'
            } else {
                c
            }
        })
        .collect();
    crate::commands::setup::check_profile_name(&name)?;
    Ok(name)
}

fn bad_template(template: &str) -> Error {
    Error::user(format!(
        "--template {} is not a profile name template",
        crate::remote::text(template)
    ))
    .with_hint("use {account_name}, {account_id} and {role_name}, e.g. --template '{account_name}.{role_name}'")
}

/// One profile `populate` wants: its name and keys, in the order they are written.
#[derive(Debug, Clone)]
struct Wanted {
    name: String,
    keys: Vec<(&'static str, String)>,
    /// What it is, for the report.
    about: String,
}

/// What `populate` found and decided.
#[derive(Debug, Default)]
struct Plan {
    add: Vec<Wanted>,
    update: Vec<(Wanted, Vec<&'static str>)>,
    unchanged: usize,
    remove: Vec<String>,
    /// Generated profiles kept because the user changed them, with why.
    kept: Vec<(String, String)>,
    /// Names that could not be written, with why.
    collisions: Vec<(String, String)>,
}

/// The profiles for `listed`: one per account and role (and, with `--credential-process`,
/// the hidden profile with its IAM Identity Center settings).
fn wanted(
    listed: &[Listed],
    args: &SsoPopulateArgs,
    region: &str,
    command: &str,
) -> Result<Vec<Wanted>> {
    let mut out = Vec::new();
    for a in listed {
        for role in &a.roles {
            let name = profile_name(&args.template, a, role)?;
            let about = format!(
                "account {} {}, role {}",
                crate::remote::text(&a.account_id),
                crate::remote::text(&a.account_name),
                crate::remote::text(role)
            );
            let sso = |name: &str, about: String| Wanted {
                name: name.to_string(),
                keys: vec![
                    ("sso_session", args.sso_session.clone()),
                    ("sso_account_id", a.account_id.clone()),
                    ("sso_role_name", role.clone()),
                    ("region", region.to_string()),
                    (GENERATED_KEY, args.sso_session.clone()),
                ],
                about,
            };
            if args.credential_process {
                let sibling = format!("{name}{SSO_SIBLING_SUFFIX}");
                out.push(Wanted {
                    name: name.clone(),
                    keys: vec![
                        (
                            "credential_process",
                            crate::claude::command_line(
                                command,
                                "process",
                                &sibling,
                                cfg!(windows),
                            ),
                        ),
                        ("region", region.to_string()),
                        (GENERATED_KEY, args.sso_session.clone()),
                    ],
                    about: format!("{about}, through awscred process"),
                });
                out.push(sso(&sibling, format!("{about}, for {name}")));
            } else {
                out.push(sso(&name, about));
            }
        }
    }
    Ok(out)
}

/// Compares what is wanted with the profiles in `sections`.
fn plan(sections: &Sections, session: &str, wanted: Vec<Wanted>) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    for w in wanted {
        if let Some(first) = claimed.get(&w.name) {
            plan.collisions.push((
                w.name.clone(),
                format!(
                    "also the name of {first}; skipped {} (use a --template with {{account_id}})",
                    w.about
                ),
            ));
            continue;
        }
        claimed.insert(w.name.clone(), w.about.clone());
        if sections.get(SectionKind::Bare, &w.name)?.is_some() && w.name != "default" {
            plan.collisions.push((
                w.name.clone(),
                format!("[{}] exists in the file; skipped {}", w.name, w.about),
            ));
            continue;
        }
        let Some(existing) = sections.get(SectionKind::Profile, &w.name)? else {
            plan.add.push(w);
            continue;
        };
        if existing.get(GENERATED_KEY).map(|v| v.text.as_str()) != Some(session) {
            plan.collisions.push((
                w.name.clone(),
                format!(
                    "a profile awscred did not generate has this name; skipped {}",
                    w.about
                ),
            ));
            continue;
        }
        if let Some(why) = edited(existing, Some(&w)) {
            plan.kept.push((w.name.clone(), why));
            continue;
        }
        let changed = w
            .keys
            .iter()
            .any(|(k, v)| existing.get(k).map(|x| x.text.as_str()) != Some(v.as_str()));
        let stale: Vec<&'static str> = GENERATED_KEYS
            .iter()
            .copied()
            .filter(|k| existing.get(k).is_some() && !w.keys.iter().any(|(wk, _)| wk == k))
            .collect();
        if changed || !stale.is_empty() {
            plan.update.push((w, stale));
        } else {
            plan.unchanged += 1;
        }
    }
    for name in sections.names(SectionKind::Profile) {
        let Some(s) = sections.get(SectionKind::Profile, name)? else {
            continue;
        };
        if claimed.contains_key(name)
            || s.get(GENERATED_KEY).map(|v| v.text.as_str()) != Some(session)
        {
            continue;
        }
        match edited(s, None) {
            Some(why) => plan.kept.push((
                name.to_string(),
                format!(
                    "{why}; its account or role is no longer listed, remove it yourself when done"
                ),
            )),
            None => plan.remove.push(name.to_string()),
        }
    }
    Ok(plan)
}

/// Why a generated profile counts as changed by the user, if it does: a key awscred does
/// not write, or (when the listing still gives its name) another account or role.
fn edited(s: &crate::config::parse::Section, wanted: Option<&Wanted>) -> Option<String> {
    let mut added: Vec<&str> = s
        .keys
        .keys()
        .map(String::as_str)
        .filter(|k| !GENERATED_KEYS.contains(k))
        .collect();
    if !added.is_empty() {
        added.sort_unstable();
        return Some(format!("you added {}", added.join(", ")));
    }
    let w = wanted?;
    for key in ["sso_account_id", "sso_role_name"] {
        let want = w
            .keys
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str());
        if let (Some(want), Some(have)) = (want, s.get(key))
            && want != have.text
        {
            return Some(format!("you changed {key}"));
        }
    }
    None
}

/// The new text of the config file after `plan`.
fn apply(text: &str, plan: &Plan) -> String {
    let mut text = text.to_string();
    for name in &plan.remove {
        if let Some(t) = edit::remove_profile(&text, name) {
            text = t;
        }
    }
    for (w, stale) in &plan.update {
        for k in stale {
            if let Some(t) = edit::remove_profile_key(&text, &w.name, k) {
                text = t;
            }
        }
    }
    for w in plan.update.iter().map(|(w, _)| w).chain(&plan.add) {
        for (k, v) in &w.keys {
            if let Some(t) = edit::set_profile_key(&text, &w.name, k, v) {
                text = t;
            }
        }
    }
    text
}

/// `awscred sso populate`.
pub fn populate(services: &Services, args: &SsoPopulateArgs) -> Result<ExitCode> {
    let env = &services.env;
    // The template is checked before any sign-in or request.
    let probe = Listed {
        account_id: "111122223333".into(),
        account_name: "name".into(),
        email: String::new(),
        roles: Vec::new(),
    };
    profile_name(&args.template, &probe, "role")?;
    let region = match &args.region {
        Some(r) => Some(crate::config::resolve::check_region(r, "--region")?),
        None => None,
    };
    let (session, listed) = listing(services, &args.sso_session)?;
    let region = region.unwrap_or_else(|| session.region.clone());
    let command = crate::commands::setup::awscred_command(env);
    let wanted = wanted(&listed, args, &region, &command)?;
    let path = env.config_file();
    let place = Place::Own(path.clone());
    let old = safe_write::read(&place)?.unwrap_or_default();
    let mut sections = Sections::default();
    sections.merge_text(&old, &path, FileKind::Config)?;
    let plan = plan(&sections, &args.sso_session, wanted)?;
    let new = apply(&old, &plan);
    let out = Sink::Stdout;
    let verb = |doing: &str, would: &str| {
        if args.dry_run {
            would.to_string()
        } else {
            doing.to_string()
        }
    };
    for w in &plan.add {
        out.line(&format!(
            "{} profile {} ({})",
            verb("Added", "Would add"),
            w.name,
            w.about
        ));
    }
    for (w, _) in &plan.update {
        out.line(&format!(
            "{} profile {} ({})",
            verb("Updated", "Would update"),
            w.name,
            w.about
        ));
    }
    for name in &plan.remove {
        out.line(&format!(
            "{} profile {name} (its account or role is no longer listed)",
            verb("Removed", "Would remove")
        ));
    }
    for (name, why) in &plan.kept {
        out.line(&format!("Kept profile {name}: {why}."));
    }
    for (name, why) in &plan.collisions {
        out.line(&format!("Skipped profile {name}: {why}."));
    }
    if plan.unchanged > 0 {
        out.line(&format!(
            "{} generated profiles are up to date.",
            plan.unchanged
        ));
    }
    if new == old {
        out.line(&format!("Nothing to change in {}.", path.display()));
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let dir = env.state_dir().ok_or_else(|| {
        Error::user("cannot find a directory for backups: no home directory").with_hint("set HOME")
    })?;
    let backup = safe_write::write_with_backup(
        &place,
        (!old.is_empty()).then_some(old.as_bytes()),
        new.as_bytes(),
        MODE_PRIVATE,
        &Backups::new(dir),
        crate::clock::Clock::now(&services.clock),
    )?;
    out.line(&format!("Wrote {}.", path.display()));
    if let Some(b) = backup {
        out.line(&format!("The previous file is kept as {}.", b.display()));
    }
    if !args.credential_process {
        out.line(&format!(
            "awscred signs in for these profiles; the AWS CLI and SDKs need `aws sso login --sso-session {}` unless the [sso-session] has awscred_share_sso_cache = true.",
            args.sso_session
        ));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, name: &str, roles: &[&str]) -> Listed {
        Listed {
            account_id: id.into(),
            account_name: name.into(),
            email: String::new(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn args(cp: bool) -> SsoPopulateArgs {
        SsoPopulateArgs {
            sso_session: "corp".into(),
            template: "{account_name}.{role_name}".into(),
            region: None,
            dry_run: false,
            credential_process: cp,
        }
    }

    fn sections(text: &str) -> Sections {
        let mut s = Sections::default();
        s.merge_text(text, std::path::Path::new("config"), FileKind::Config)
            .unwrap();
        s
    }

    #[test]
    fn names_come_from_the_template_and_split_into_two_words() {
        let a = listed("111122223333", "My Team [dev]", &[]);
        assert_eq!(
            profile_name("{account_name}.{role_name}", &a, "Admin").unwrap(),
            "My-Team--dev-.Admin"
        );
        assert_eq!(
            profile_name("{account_id}-{role_name}", &a, "R").unwrap(),
            "111122223333-R"
        );
        let unnamed = listed("111122223333", "", &[]);
        assert_eq!(
            profile_name("{account_name}", &unnamed, "R").unwrap(),
            "111122223333"
        );
        for bad in ["{account}", "{role_name", "x}", "{}"] {
            assert!(profile_name(bad, &a, "R").is_err(), "{bad}");
        }
        assert!(profile_name("   ", &a, "R").is_err(), "empty name");
    }

    #[test]
    fn a_rerun_updates_removes_keeps_and_reports() {
        let config = "\
[profile Dev.Admin]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin
region = us-east-1
awscred_generated = corp

[profile Dev.Gone]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Gone
region = us-east-1
awscred_generated = corp

[profile Dev.Edited]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Edited
region = us-east-1
output = json
awscred_generated = corp

[profile Dev.Mine]
region = eu-west-1

[profile Other.Admin]
awscred_generated = other
";
        let l = vec![
            listed("111122223333", "Dev", &["Admin", "Edited", "Mine", "New"]),
            listed("444455556666", "Other", &["Admin"]),
        ];
        let w = wanted(&l, &args(false), "eu-west-1", "awscred").unwrap();
        let p = plan(&sections(config), "corp", w).unwrap();
        let names = |v: &[Wanted]| v.iter().map(|w| w.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&p.add), ["Dev.New"]);
        assert_eq!(
            p.update
                .iter()
                .map(|(w, _)| w.name.as_str())
                .collect::<Vec<_>>(),
            ["Dev.Admin"],
            "the region changed"
        );
        assert_eq!(p.remove, ["Dev.Gone"]);
        assert_eq!(p.kept.len(), 1);
        assert_eq!(p.kept[0].0, "Dev.Edited");
        assert!(p.kept[0].1.contains("output"), "{:?}", p.kept);
        let collided: Vec<&str> = p.collisions.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(collided, ["Dev.Mine", "Other.Admin"]);
        let new = apply(config, &p);
        assert!(
            new.contains("[profile Dev.Mine]\nregion = eu-west-1\n"),
            "{new}"
        );
        assert!(!new.contains("Dev.Gone"), "{new}");
        assert!(new.contains("output = json"), "{new}");
        assert!(
            new.contains("[profile Dev.New]\nsso_session = corp\n"),
            "{new}"
        );
        assert!(new.contains("[profile Other.Admin]\nawscred_generated = other\n"));
        // Applying again changes nothing.
        let w = wanted(&l, &args(false), "eu-west-1", "awscred").unwrap();
        let again = plan(&sections(&new), "corp", w).unwrap();
        assert!(again.add.is_empty() && again.update.is_empty() && again.remove.is_empty());
        assert_eq!(apply(&new, &again), new);
    }

    #[test]
    fn credential_process_profiles_come_with_their_sso_sibling_and_switch_back() {
        let l = vec![listed("111122223333", "Dev", &["Admin"])];
        let w = wanted(&l, &args(true), "us-east-1", "awscred").unwrap();
        let p = plan(&sections(""), "corp", w).unwrap();
        let new = apply("", &p);
        assert!(
            new.contains("[profile Dev.Admin]\ncredential_process = awscred process --profile Dev.Admin.sso\nregion = us-east-1\nawscred_generated = corp\n"),
            "{new}"
        );
        assert!(
            new.contains("[profile Dev.Admin.sso]\nsso_session = corp\n"),
            "{new}"
        );
        // Back to plain profiles: credential_process goes, the sibling is removed.
        let w = wanted(&l, &args(false), "us-east-1", "awscred").unwrap();
        let p = plan(&sections(&new), "corp", w).unwrap();
        assert_eq!(p.remove, ["Dev.Admin.sso"]);
        let back = apply(&new, &p);
        assert!(!back.contains("credential_process"), "{back}");
        assert!(!back.contains("Dev.Admin.sso"), "{back}");
        assert!(back.contains("sso_role_name = Admin"), "{back}");
    }

    #[test]
    fn two_roles_with_one_name_are_a_collision() {
        let l = vec![
            listed("111122223333", "Dev", &["Admin"]),
            listed("444455556666", "Dev", &["Admin"]),
        ];
        let w = wanted(&l, &args(false), "us-east-1", "awscred").unwrap();
        let p = plan(&sections(""), "corp", w).unwrap();
        assert_eq!(p.add.len(), 1);
        assert_eq!(p.collisions.len(), 1);
        assert!(
            p.collisions[0].1.contains("444455556666"),
            "{:?}",
            p.collisions
        );
    }

    #[test]
    fn only_ids_and_role_names_aws_issues_are_taken() {
        assert!(valid_account_id("111122223333"));
        for bad in [
            "11112222333",
            "1111222233334",
            "11112222333a",
            "111122223333\n",
        ] {
            assert!(!valid_account_id(bad), "{bad:?}");
        }
        assert!(valid_role_name("AWSReservedSSO_Admin+x=y,z.a@b-c"));
        for bad in ["", "a b", "r\nregion = x", "[x]", &"r".repeat(65)] {
            assert!(!valid_role_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn pages_are_followed_and_a_repeated_token_stops() {
        let mut calls = 0;
        let items = all_pages(|next| {
            calls += 1;
            Ok(identity_center::Page {
                items: vec![next.unwrap_or("first").to_string()],
                next_token: (calls < 3).then(|| format!("t{calls}")),
            })
        })
        .unwrap();
        assert_eq!(items, ["first", "t1", "t2"]);
        let e = all_pages(|_| {
            Ok(identity_center::Page::<String> {
                items: Vec::new(),
                next_token: Some("same".into()),
            })
        })
        .unwrap_err();
        assert!(e.error.message().contains("same page token"));
    }
}
