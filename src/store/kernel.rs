//! Credentials kept, in addition, in the Linux kernel keyring, in front of the Secret Service.
//!
//! A Secret Service read costs a D-Bus connection, an encrypted session and a search: most
//! of a cache hit. [`Tiered`] keeps a copy of each cached *credentials* entry (never a token,
//! a refresh token or a client registration) in the user's kernel keyring, with a kernel
//! timeout at the credentials' expiration, and answers reads from it; the store behind is
//! opened (and D-Bus spoken) only on a miss, a write or a delete. Every write and delete goes
//! to both, so a deleted entry never comes back from the copy.
//!
//! The tier fails open: where `keyctl` is refused (a container's seccomp profile), missing
//! (another OS) or out of quota (a non-root user's 200 keys / 20,000 bytes), it is absent or
//! skips the entry, says so once at debug level, and the store behind serves as before.

use super::Store;
use crate::error::Result;
use sha2::Digest;
use std::sync::OnceLock;

/// Descriptions of awscred's kernel keyring entries start with this.
pub const PREFIX: &str = "awscred:v1:";

/// Cache keys whose entries are copied into the kernel keyring.
const COPIED: &str = "awscred:credentials:";

/// Opens the store behind on first use.
type Opener = Box<dyn Fn() -> Result<Box<dyn Store>> + Send + Sync>;

/// The kernel keyring in front of another store.
pub struct Tiered {
    name: &'static str,
    /// What the store behind is (the D-Bus session's address): copies of one Secret
    /// Service's entries are never read for another's.
    scope: String,
    open: Opener,
    back: OnceLock<Result<Box<dyn Store>>>,
    ring: Option<Ring>,
}

impl Tiered {
    /// `open` opens the store behind (called at most once, when it is first needed);
    /// `scope` names that store (two stores behind never share copies).
    pub fn new(name: &'static str, scope: &str, open: Opener) -> Self {
        Self {
            name,
            scope: scope.to_string(),
            open,
            back: OnceLock::new(),
            ring: Ring::open(),
        }
    }

    fn back(&self) -> Result<&dyn Store> {
        match self.back.get_or_init(|| (self.open)()) {
            Ok(s) => Ok(s.as_ref()),
            Err(e) => Err(e.clone()),
        }
    }

    fn description(&self, key: &str) -> String {
        description(&self.scope, key)
    }

    fn ring_for(&self, key: &str) -> Option<&Ring> {
        self.ring.as_ref().filter(|_| key.starts_with(COPIED))
    }
}

/// The kernel keyring description of a cache key in a scope: fixed length, whatever the key.
pub fn description(scope: &str, key: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(scope.as_bytes());
    h.update([0]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    format!("{PREFIX}{}", super::file::hex(&digest[..16]))
}

/// Seconds until the entry's credentials expire, when they do and have not yet.
fn seconds_left(value: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(value).ok()?;
    let exp = v["data"]["credentials"]["expiration"].as_str()?;
    let exp = chrono::DateTime::parse_from_rfc3339(exp).ok()?;
    let left = exp
        .timestamp()
        .checked_sub(crate::clock::Clock::now(&crate::clock::SystemClock).timestamp())?;
    u64::try_from(left).ok().filter(|s| *s > 0)
}

impl Store for Tiered {
    fn name(&self) -> &'static str {
        self.name
    }

    fn location(&self) -> String {
        match &self.ring {
            Some(_) => format!("{} (credentials also in the kernel keyring)", self.name),
            None => self.name.to_string(),
        }
    }

    fn ready(&self) -> Result<()> {
        self.back().map(|_| ())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let ring = self.ring_for(key);
        if let Some(value) = ring.and_then(|r| r.get(&self.description(key))) {
            super::log_read("kernel-keyring", key);
            return Ok(Some(value));
        }
        let value = self.back()?.get(key)?;
        if let (Some(ring), Some(v)) = (ring, &value)
            && let Some(ttl) = seconds_left(v)
        {
            ring.put(&self.description(key), v, ttl);
        }
        Ok(value)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        if let Some(ring) = self.ring_for(key) {
            // Gone from the copy first: should the store behind refuse the write, the copy
            // must not outlive what it copied.
            ring.remove(&self.description(key));
        }
        self.back()?.set(key, value)?;
        if let Some(ring) = self.ring_for(key)
            && let Some(ttl) = seconds_left(value)
        {
            ring.put(&self.description(key), value, ttl);
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        if let Some(ring) = self.ring_for(key) {
            ring.remove(&self.description(key));
        }
        self.back()?.delete(key)
    }

    fn prune(&self, stale: &dyn Fn(&[u8]) -> bool) -> Result<usize> {
        let copies = self.ring.as_ref().map_or(0, |r| r.prune(stale));
        if copies > 0 {
            crate::log::debug(&format!("store kernel keyring: deleted {copies} entries"));
        }
        Ok(copies + self.back()?.prune(stale)?)
    }
}

#[cfg(target_os = "linux")]
use linux::Ring;

#[cfg(target_os = "linux")]
mod linux {
    use linux_keyutils::{
        KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, LinkNode, Permission,
    };
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Most entries `prune` looks at.
    const MAX_LINKS: usize = 4096;

    /// The user keyring (shared by the user's sessions, gone at reboot).
    pub struct Ring(KeyRing);

    /// Whether a failed write was already reported (once per process).
    static SAID: AtomicBool = AtomicBool::new(false);

    fn once(what: &str, e: KeyError) {
        if !SAID.swap(true, Ordering::Relaxed) {
            crate::log::debug(&format!(
                "store kernel keyring: {what} ({e:?}); the store behind serves alone"
            ));
        }
    }

    impl Ring {
        /// The user keyring, or `None` (with one debug line) where `keyctl` is refused.
        pub fn open() -> Option<Self> {
            match KeyRing::from_special_id(KeyRingIdentifier::User, false) {
                Ok(r) => Some(Self(r)),
                Err(e) => {
                    crate::log::debug(&format!(
                        "store kernel keyring: not available ({e:?}); not used"
                    ));
                    None
                }
            }
        }

        pub fn get(&self, description: &str) -> Option<Vec<u8>> {
            let key = self.0.search(description).ok()?;
            key.read_to_vec().ok()
        }

        pub fn put(&self, description: &str, value: &[u8], ttl: u64) {
            let perms = KeyPermissionsBuilder::builder()
                .posessor(Permission::ALL)
                .user(
                    Permission::VIEW
                        | Permission::READ
                        | Permission::WRITE
                        | Permission::SEARCH
                        | Permission::SETATTR,
                )
                .build();
            let ttl = usize::try_from(ttl).unwrap_or(usize::MAX);
            let added = self.0.add_key(description, value).and_then(|key| {
                key.set_perms(perms)
                    .and_then(|()| key.set_timeout(ttl))
                    .inspect_err(|_| {
                        // An entry without its timeout would outlive the credentials.
                        let _ = key.invalidate();
                    })
            });
            if let Err(e) = added {
                once("cannot keep a copy", e);
                self.remove(description);
            }
        }

        pub fn remove(&self, description: &str) {
            if let Ok(key) = self.0.search(description)
                && let Err(e) = key.invalidate()
            {
                let _ = self.0.unlink_key(key);
                once("cannot delete a copy", e);
            }
        }

        pub fn prune(&self, stale: &dyn Fn(&[u8]) -> bool) -> usize {
            let Ok(links) = self.0.get_links(MAX_LINKS) else {
                return 0;
            };
            let mut deleted = 0;
            for node in links.iter() {
                let LinkNode::Key(key) = node else {
                    continue;
                };
                let ours = key
                    .metadata()
                    .is_ok_and(|m| m.get_description().starts_with(super::PREFIX));
                if !ours {
                    continue;
                }
                let is_stale = key.read_to_vec().map_or(true, |v| stale(&v));
                if is_stale && key.invalidate().is_ok() {
                    deleted += 1;
                }
            }
            deleted
        }
    }
}

#[cfg(not(target_os = "linux"))]
use portable::Ring;

#[cfg(not(target_os = "linux"))]
mod portable {
    /// No kernel keyring: the tier is always absent.
    pub struct Ring;

    impl Ring {
        pub fn open() -> Option<Self> {
            None
        }
        pub fn get(&self, _: &str) -> Option<Vec<u8>> {
            None
        }
        pub fn put(&self, _: &str, _: &[u8], _: u64) {}
        pub fn remove(&self, _: &str) {}
        pub fn prune(&self, _: &dyn Fn(&[u8]) -> bool) -> usize {
            0
        }
    }
}

#[cfg(test)]
mod tests {

    /// Skips a test whose outside part is missing, or fails it under the suite
    /// (`AWSCRED_TEST_REQUIRE_ALL=1`), where it must run.
    fn skip(why: &str) {
        assert!(
            std::env::var("AWSCRED_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
            "required (AWSCRED_TEST_REQUIRE_ALL=1): {why}"
        );
        eprintln!("skipped: {why}");
    }

    use super::*;
    use crate::store::memory::MemoryStore;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store behind that counts reads and opens.
    struct Counting {
        inner: MemoryStore,
        reads: Arc<AtomicUsize>,
    }

    impl Store for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<()> {
            self.inner.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<()> {
            self.inner.delete(key)
        }
        fn prune(&self, stale: &dyn Fn(&[u8]) -> bool) -> Result<usize> {
            self.inner.prune(stale)
        }
    }

    fn tiered(reads: &Arc<AtomicUsize>, opens: &Arc<AtomicUsize>) -> Tiered {
        let (reads, opens) = (Arc::clone(reads), Arc::clone(opens));
        let inner = MemoryStore::new();
        let shared = Arc::new(std::sync::Mutex::new(Some(inner)));
        Tiered::new(
            "counting",
            "unit-test",
            Box::new(move || {
                opens.fetch_add(1, Ordering::SeqCst);
                let inner = shared.lock().unwrap().take().expect("opened at most once");
                Ok(Box::new(Counting {
                    inner,
                    reads: Arc::clone(&reads),
                }) as Box<dyn Store>)
            }),
        )
    }

    fn entry(key: &str, minutes: i64) -> Vec<u8> {
        let exp = crate::clock::Clock::now(&crate::clock::SystemClock)
            + chrono::Duration::minutes(minutes);
        format!(
            r#"{{"v":1,"key":"{key}","data":{{"credentials":{{"expiration":"{}"}}}}}}"#,
            exp.to_rfc3339()
        )
        .into_bytes()
    }

    #[test]
    fn seconds_left_reads_the_expiration() {
        assert!(seconds_left(&entry("k", 60)).is_some_and(|s| (3500..=3600).contains(&s)));
        assert_eq!(seconds_left(&entry("k", -5)), None);
        assert_eq!(seconds_left(br#"{"v":1,"data":{"expires_at":"x"}}"#), None);
        assert_eq!(seconds_left(b"garbage"), None);
    }

    #[test]
    fn descriptions_are_fixed_length_and_distinct() {
        let a = description("s", "awscred:credentials:a");
        assert!(a.starts_with(PREFIX));
        assert_eq!(a.len(), PREFIX.len() + 32);
        assert_eq!(description("s", &"x".repeat(10_000)).len(), a.len());
        assert_ne!(a, description("s", "awscred:credentials:b"));
        assert_ne!(a, description("another bus", "awscred:credentials:a"));
    }

    /// Where the kernel keyring works (Linux, `keyctl` allowed), hits never open the store
    /// behind, and every write and delete reaches the copy.
    #[test]
    fn credentials_are_read_from_the_kernel_keyring_and_deletes_reach_it() {
        let reads = Arc::new(AtomicUsize::new(0));
        let opens = Arc::new(AtomicUsize::new(0));
        let writer = tiered(&reads, &opens);
        if writer.ring.is_none() {
            return skip("no kernel keyring here");
        }
        let key = format!("awscred:credentials:tier-test-{}", std::process::id());
        let value = entry(&key, 60);
        writer.set(&key, &value).unwrap();
        assert_eq!(opens.load(Ordering::SeqCst), 1);

        // Another process (a fresh tier): served from the kernel, the store behind unopened.
        let (r2, o2) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let reader = tiered(&r2, &o2);
        assert_eq!(reader.get(&key).unwrap(), Some(value.clone()));
        assert_eq!(o2.load(Ordering::SeqCst), 0, "no store opened on a hit");

        // Rewritten: the copy follows.
        let newer = entry(&key, 90);
        writer.set(&key, &newer).unwrap();
        assert_eq!(reader.get(&key).unwrap(), Some(newer));

        // Deleted: gone from the copy too (the fresh reader's store behind is empty).
        writer.delete(&key).unwrap();
        assert_eq!(reader.get(&key).unwrap(), None);
        assert_eq!(
            o2.load(Ordering::SeqCst),
            1,
            "the miss asked the store behind"
        );

        // Pruned: `logout --all` prunes everything.
        writer.set(&key, &entry(&key, 60)).unwrap();
        assert!(writer.prune(&|_| true).unwrap() >= 1);
        let (r3, o3) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        assert_eq!(tiered(&r3, &o3).get(&key).unwrap(), None);
    }

    #[test]
    fn tokens_and_expired_credentials_are_never_copied() {
        let reads = Arc::new(AtomicUsize::new(0));
        let opens = Arc::new(AtomicUsize::new(0));
        let t = tiered(&reads, &opens);
        let Some(ring) = &t.ring else {
            return skip("no kernel keyring here");
        };
        let pid = std::process::id();
        let token = format!("awscred:sso-token:tier-test-{pid}");
        t.set(&token, &entry(&token, 60)).unwrap();
        assert_eq!(ring.get(&t.description(&token)), None);
        let old = format!("awscred:credentials:tier-old-{pid}");
        t.set(&old, &entry(&old, -1)).unwrap();
        assert_eq!(ring.get(&t.description(&old)), None);
        // Read-through: a credentials entry found only behind is copied on the way.
        let behind = format!("awscred:credentials:tier-behind-{pid}");
        t.back().unwrap().set(&behind, &entry(&behind, 30)).unwrap();
        assert!(t.get(&behind).unwrap().is_some());
        assert!(ring.get(&t.description(&behind)).is_some());
        t.delete(&behind).unwrap();
        assert_eq!(ring.get(&t.description(&behind)), None);
    }

    /// Run by [`a_full_kernel_key_quota_fails_open`] as an unprivileged user, whose kernel
    /// key quota is small: with the quota full, writes and reads go to the store behind,
    /// without an error and with one debug line; with room again, copies are kept.
    #[cfg(target_os = "linux")]
    #[test]
    #[ignore = "run as an unprivileged user by a_full_kernel_key_quota_fails_open"]
    fn full_quota_as_an_unprivileged_user() {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        assert!(!rustix::process::geteuid().is_root());
        crate::log::set_level(crate::log::Level::Debug);
        let ring = KeyRing::from_special_id(KeyRingIdentifier::User, false).unwrap();
        ring.clear().unwrap();
        let mut n = 0;
        for size in [1000, 100, 10, 1] {
            let filler = vec![b'x'; size];
            while ring.add_key(&format!("filler{n}"), &filler).is_ok() {
                n += 1;
                assert!(n < 10_000, "no quota");
            }
        }
        let reads = Arc::new(AtomicUsize::new(0));
        let opens = Arc::new(AtomicUsize::new(0));
        let t = tiered(&reads, &opens);
        let key = "awscred:credentials:quota";
        let value = entry(key, 60);
        t.set(key, &value).unwrap();
        assert_eq!(t.get(key).unwrap(), Some(value.clone()));
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "read from the store behind"
        );
        let copy = t.ring.as_ref().unwrap().get(&t.description(key));
        assert_eq!(copy, None);
        // Room again (the kernel returns the quota of cleared keys in the background).
        ring.clear().unwrap();
        let ring_copy = || t.ring.as_ref().unwrap().get(&t.description(key));
        for _ in 0..100 {
            assert_eq!(t.get(key).unwrap(), Some(value.clone()));
            if ring_copy().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let before = reads.load(Ordering::SeqCst);
        assert_eq!(t.get(key).unwrap(), Some(value));
        assert_eq!(reads.load(Ordering::SeqCst), before, "read from the copy");
        t.delete(key).unwrap();
        ring.clear().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_kernel_key_quota_fails_open() {
        if !rustix::process::geteuid().is_root() || Ring::open().is_none() {
            return skip("needs root (to become another user) and keyctl");
        }
        let exe = std::env::current_exe().unwrap();
        let o = std::process::Command::new("setpriv")
            .args(["--reuid=54322", "--regid=54322", "--clear-groups", "--"])
            .arg(&exe)
            .args([
                "--exact",
                "store::kernel::tests::full_quota_as_an_unprivileged_user",
                "--ignored",
                "--test-threads=1",
            ])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output();
        let Ok(o) = o else {
            return eprintln!("skipped: no setpriv");
        };
        let out = String::from_utf8_lossy(&o.stdout);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{out}{err}");
        assert!(out.contains("1 passed"), "{out}");
        let said = err
            .lines()
            .filter(|l| l.contains("store kernel keyring:"))
            .count();
        assert_eq!(said, 1, "one debug line: {err}");
        assert!(!err.contains("warning"), "{err}");
    }
}
