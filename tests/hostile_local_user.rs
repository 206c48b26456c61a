//! Another local user against the file store and the lock files: the cache directory is
//! the user's own or refused, entries and locks are never followed through a link or taken
//! from someone else, and pruning touches only what awscred wrote.
//!
//! Root ignores permission bits, so awscred runs here as the unprivileged uid [`VICTIM`]
//! (through `setpriv`), and [`ATTACKER`] owns what another user could have planted. Without
//! root these tests skip (or fail under `AWSCRED_TEST_REQUIRE_ALL=1`).
//!
//! Unix only: owners, permission bits and `setpriv`.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

/// The user awscred runs as.
const VICTIM: u32 = 54321;
/// Another local user.
const ATTACKER: u32 = 54322;

/// A HOME of [`VICTIM`]'s, signed in with the file store; `None` where uids cannot be
/// switched.
fn victim() -> Option<Harness> {
    let mut h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    if !h.run_as(VICTIM) {
        return None;
    }
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "login: {}", stderr(&o));
    Some(h)
}

/// Exports as the victim and returns the AccessKeyId it printed.
fn export_ok(h: &Harness) -> String {
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "export: {}", stderr(&o));
    parse_export(&stdout(&o))["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn mkdir(path: &Path, uid: u32, mode: u32) {
    std::fs::create_dir_all(path).unwrap();
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn write(path: &Path, bytes: &[u8], uid: u32, mode: u32) {
    std::fs::write(path, bytes).unwrap();
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The victim's store entries, with the access key id `key_id` (when given) replaced by a
/// planted one.
fn entries(h: &Harness, key_id: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(h.cache_dir().join("store"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().into_string().unwrap();
        let mut text = String::from_utf8(std::fs::read(e.path()).unwrap()).unwrap();
        if let Some(k) = key_id {
            text = text.replace(k, "ASIAPLANTEDPLANTED00");
        }
        out.push((name, text.into_bytes()));
    }
    assert!(out.len() >= 3, "registration, token and credentials");
    out
}

/// Makes `cache` a cache directory with a copy of the victim's store, every directory and
/// file owned by `uid` (private to it).
fn cache_copy(h: &Harness, cache: &Path, uid: u32, key_id: Option<&str>) {
    mkdir(cache, uid, 0o700);
    mkdir(&cache.join("store"), uid, 0o700);
    for (name, bytes) in entries(h, key_id) {
        write(&cache.join("store").join(name), &bytes, uid, 0o600);
    }
}

fn assert_refused(o: &std::process::Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(stdout(o), "", "nothing on stdout");
    for n in needles {
        assert!(err.contains(n), "{n:?} in {err}");
    }
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn a_cache_directory_of_another_user_is_refused() {
    let Some(mut h) = victim() else { return };
    let key_id = export_ok(&h);
    // The attacker's own cache, readable by all, full of credentials of their choosing.
    let theirs = h.home().join("theirs");
    cache_copy(&h, &theirs, ATTACKER, Some(&key_id));
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(theirs.join("store"), std::fs::Permissions::from_mode(0o755)).unwrap();
    for e in std::fs::read_dir(theirs.join("store")).unwrap().flatten() {
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    h.set_env("AWSCRED_CACHE_DIR", theirs.to_str().unwrap());
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert_refused(
        &o,
        &[
            &theirs.display().to_string(),
            &format!("belongs to uid {ATTACKER}, not to you (uid {VICTIM})"),
        ],
    );
    assert!(!stderr(&o).contains("PLANTED"));
}

#[test]
fn an_entry_planted_in_the_users_store_is_not_served() {
    let Some(h) = victim() else { return };
    let store = h.cache_dir().join("store");
    let elsewhere = h.home().join("attacker-files");
    mkdir(&elsewhere, ATTACKER, 0o755);
    for as_link in [false, true] {
        let key_id = export_ok(&h);
        let planted: Vec<_> = entries(&h, Some(&key_id))
            .into_iter()
            .filter(|(_, bytes)| String::from_utf8_lossy(bytes).contains("PLANTED"))
            .collect();
        assert_eq!(planted.len(), 1, "one credentials entry");
        let (name, bytes) = &planted[0];
        let path = store.join(name);
        std::fs::remove_file(&path).unwrap();
        if as_link {
            let target = elsewhere.join(name);
            write(&target, bytes, ATTACKER, 0o644);
            symlink(&target, &path).unwrap();
        } else {
            write(&path, bytes, ATTACKER, 0o644);
        }
        let o = h.run(&["export", "--profile", "bedrock"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(!text.contains("PLANTED"), "a planted credential was served");
        parse_export(&text);
        let why = if as_link {
            "is a symbolic link"
        } else {
            "belongs to uid 54322"
        };
        let warning = format!("{} {why}; awscred will not use it", path.display());
        assert_eq!(stderr(&o).matches(&warning).count(), 1, "{}", stderr(&o));
        // The fresh credentials replaced the planted name; nothing followed the link.
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file());
        assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), VICTIM);
    }
    let target = std::fs::read_dir(&elsewhere)
        .unwrap()
        .flatten()
        .next()
        .unwrap();
    assert!(String::from_utf8_lossy(&std::fs::read(target.path()).unwrap()).contains("PLANTED"));
}

#[test]
fn a_lock_file_linked_to_a_users_file_changes_nothing() {
    let Some(h) = victim() else { return };
    export_ok(&h);
    let precious = h.home().join("precious");
    write(&precious, b"keep me\n", VICTIM, 0o600);
    let locks = h.cache_dir().join("locks");
    let mut planted = 0;
    for e in std::fs::read_dir(&locks).unwrap().flatten() {
        std::fs::remove_file(e.path()).unwrap();
        symlink(&precious, e.path()).unwrap();
        std::os::unix::fs::lchown(e.path(), Some(ATTACKER), Some(ATTACKER)).unwrap();
        planted += 1;
    }
    assert!(planted > 0, "the sign-in left lock files to replace");
    let o = h.run(&["login", "--profile", "bedrock", "--force"]);
    assert_eq!(
        std::fs::read(&precious).unwrap(),
        b"keep me\n",
        "the file behind the link is untouched"
    );
    assert_refused(&o, &["symbolic link", &locks.display().to_string()]);
}

/// A fake AWS CLI cache: what must survive.
fn aws_cli_cache(h: &Harness) -> (PathBuf, Vec<String>) {
    let dir = h.home().join(".aws/sso/cache");
    mkdir(&dir, VICTIM, 0o700);
    let names = vec![
        "d033e22ae348aeb5660fc2140aec35850c4da997.json".to_string(),
        "botocore-client-id-us-east-1.json".to_string(),
    ];
    for n in &names {
        write(&dir.join(n), br#"{"accessToken":"x"}"#, VICTIM, 0o600);
    }
    (dir, names)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_store_or_locks_linked_elsewhere_is_refused_and_nothing_there_is_pruned() {
    for linked in ["store", "locks"] {
        let mut h = Harness::new(
            "file",
            Settings {
                auto_approve_after: Some(0),
                ..Settings::default()
            },
        );
        if !h.run_as(VICTIM) {
            return;
        }
        let (aws, _) = aws_cli_cache(&h);
        let before = listing(&aws);
        let cache = h.cache_dir();
        mkdir(cache.parent().unwrap(), VICTIM, 0o700);
        mkdir(&cache, VICTIM, 0o700);
        symlink(&aws, cache.join(linked)).unwrap();
        std::os::unix::fs::lchown(cache.join(linked), Some(VICTIM), Some(VICTIM)).unwrap();
        let login = h.run(&["login", "--profile", "bedrock"]);
        let export = h.run(&["export", "--profile", "bedrock"]);
        let shown = cache.join(linked).display().to_string();
        assert_refused(&login, &[&format!("{shown} is a symbolic link")]);
        assert_refused(&export, &[&format!("{shown} is a symbolic link")]);
        assert_eq!(listing(&aws), before, "{linked}: nothing added or pruned");
    }
}

#[test]
fn prune_keeps_what_awscred_did_not_write() {
    let mut h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    if !h.run_as(VICTIM) {
        return;
    }
    let store = h.cache_dir().join("store");
    mkdir(h.cache_dir().parent().unwrap(), VICTIM, 0o700);
    mkdir(&h.cache_dir(), VICTIM, 0o700);
    mkdir(&store, VICTIM, 0o700);
    let foreign = [
        "botocore-client-id-us-east-1.json",
        "ABCDEF0123456789ABCDEF0123456789.json",
        "notes.txt",
    ];
    for n in foreign {
        write(&store.join(n), b"not awscred's", VICTIM, 0o600);
    }
    // A stale entry of awscred's own, which pruning does remove.
    let stale = "0123456789abcdef0123456789abcdef.json";
    write(&store.join(stale), b"{}", VICTIM, 0o600);
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    export_ok(&h);
    assert!(
        h.cache_dir().join("last-prune").exists(),
        "the export pruned"
    );
    for n in foreign {
        assert!(store.join(n).exists(), "{n} survives pruning");
    }
    assert!(!store.join(stale).exists(), "a stale entry is pruned");
}

#[test]
fn ancestors_must_be_closed_to_others_unless_sticky() {
    let Some(mut h) = victim() else { return };
    let key_id = export_ok(&h);
    let base = h.home().to_path_buf();

    // Writable by all, not sticky: anyone could swap the cache for their own.
    let open = base.join("open");
    mkdir(&open, 0, 0o777);
    cache_copy(&h, &open.join("cache"), VICTIM, None);
    h.set_env("AWSCRED_CACHE_DIR", open.join("cache").to_str().unwrap());
    assert_refused(
        &h.run(&["export", "--profile", "bedrock"]),
        &[
            &open.display().to_string(),
            "can be written by other users",
            "chmod go-w",
        ],
    );

    // Owned by another user, who could do the same.
    let theirs = base.join("theirs");
    mkdir(&theirs, ATTACKER, 0o755);
    cache_copy(&h, &theirs.join("cache"), VICTIM, None);
    h.set_env("AWSCRED_CACHE_DIR", theirs.join("cache").to_str().unwrap());
    assert_refused(
        &h.run(&["export", "--profile", "bedrock"]),
        &[
            &theirs.display().to_string(),
            &format!("belongs to uid {ATTACKER}"),
        ],
    );

    // Sticky and shared, like /tmp: the user's own name in it is accepted...
    let shared = base.join("shared");
    mkdir(&shared, 0, 0o1777);
    cache_copy(&h, &shared.join("mine"), VICTIM, None);
    h.set_env("AWSCRED_CACHE_DIR", shared.join("mine").to_str().unwrap());
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        parse_export(&stdout(&o))["AccessKeyId"].as_str(),
        Some(key_id.as_str())
    );

    // ...a name in it that another user made is not.
    let planted = shared.join("planted");
    mkdir(&planted, ATTACKER, 0o755);
    cache_copy(&h, &planted.join("cache"), VICTIM, None);
    h.set_env("AWSCRED_CACHE_DIR", planted.join("cache").to_str().unwrap());
    assert_refused(
        &h.run(&["export", "--profile", "bedrock"]),
        &[&planted.display().to_string(), &format!("uid {ATTACKER}")],
    );
}

#[test]
fn the_real_tmp_is_accepted_for_a_cache_of_the_users_own() {
    let Some(mut h) = victim() else { return };
    let key_id = export_ok(&h);
    let tmp = tempfile::Builder::new()
        .prefix("awscred-victim-")
        .tempdir_in("/tmp")
        .unwrap();
    chown_tree(tmp.path(), VICTIM);
    cache_copy(&h, &tmp.path().join("cache"), VICTIM, None);
    h.set_env(
        "AWSCRED_CACHE_DIR",
        tmp.path().join("cache").to_str().unwrap(),
    );
    let o = h.run(&["export", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        parse_export(&stdout(&o))["AccessKeyId"].as_str(),
        Some(key_id.as_str())
    );
}
