//! What lives for the whole process apart from what belongs to one request.
//!
//! [`Services`] is built once: the environment, the AWS files, the network plumbing, the
//! clock and the stores opened so far. A [`Request`] is one profile's work: its chain, its
//! store, its locks and the moment it started; [`Request::context`] hands a source what it
//! needs. The "a peer just refreshed these" rule compares entries with the start of the
//! *request*, so a long-running process judges freshness per request, never from when it
//! was started.

use crate::cache::Cache;
use crate::clock::{Clock, SystemClock};
use crate::config::{self, AwsFiles, Chain, StoreChoice};
use crate::env::Environment;
use crate::error::Result;
use crate::lock::Locks;
use crate::net::Net;
use crate::source::{Context, LoginPolicy};
use crate::store;
use chrono::{DateTime, Utc};
use std::cell::RefCell;

/// A profile's `ca_bundle`: the file and where it was set.
type CaBundle = (std::path::PathBuf, String);
use std::rc::Rc;

/// Process-wide services.
pub struct Services {
    /// The environment, read once.
    pub env: Environment,
    /// `~/.aws/config` and `~/.aws/credentials`, parsed once.
    pub files: AwsFiles,
    /// HTTP plumbing without a profile's `ca_bundle`, built on the first request that
    /// needs it.
    pub net: Rc<Net>,
    /// HTTP plumbing for profiles with a `ca_bundle`, one per bundle.
    bundled: RefCell<Vec<(CaBundle, Rc<Net>)>>,
    /// The clock.
    pub clock: SystemClock,
    /// Stores opened so far, one per choice.
    caches: RefCell<Vec<(StoreChoice, Rc<Cache>)>>,
}

impl Services {
    /// Reads the environment's AWS files; nothing else is opened yet.
    pub fn new(env: &Environment) -> Result<Self> {
        Ok(Self {
            files: AwsFiles::load(env)?,
            env: env.clone(),
            net: Rc::new(Net::new(env.clone())),
            bundled: RefCell::new(Vec::new()),
            clock: SystemClock,
            caches: RefCell::new(Vec::new()),
        })
    }

    /// The cache over the store `choice` names, opened on first use.
    pub fn cache(&self, choice: StoreChoice) -> Result<Rc<Cache>> {
        if let Some((_, c)) = self.caches.borrow().iter().find(|(k, _)| *k == choice) {
            return Ok(Rc::clone(c));
        }
        let cache = Rc::new(Cache::new(store::open(choice, &self.env)?));
        self.caches.borrow_mut().push((choice, Rc::clone(&cache)));
        Ok(cache)
    }

    /// The HTTP plumbing that trusts `bundle` besides the system's roots.
    pub fn net_for(&self, bundle: &Option<CaBundle>) -> Rc<Net> {
        let Some(bundle) = bundle else {
            return Rc::clone(&self.net);
        };
        if let Some((_, n)) = self.bundled.borrow().iter().find(|(b, _)| b == bundle) {
            return Rc::clone(n);
        }
        let net = Rc::new(Net::new(self.env.clone()).with_ca_bundle(Some(bundle.clone())));
        self.bundled
            .borrow_mut()
            .push((bundle.clone(), Rc::clone(&net)));
        net
    }

    /// Starts the work for one profile: resolves it, opens its store and its locks.
    pub fn request(&self, profile: &str) -> Result<Request<'_>> {
        let started = self.clock.now();
        let chain = config::resolve::resolve(&self.files, profile, &self.env)?;
        let cache = self.cache(chain.settings.store)?;
        let locks = Locks::new(self.env.cache_dir()?.join("locks"));
        let net = self.net_for(&chain.settings.ca_bundle);
        Ok(Request {
            services: self,
            net,
            chain,
            cache,
            locks,
            started,
            refresh: false,
        })
    }
}

/// One profile's work.
pub struct Request<'a> {
    /// The process's services.
    pub services: &'a Services,
    /// The profile, resolved.
    pub chain: Chain,
    /// Its store.
    pub cache: Rc<Cache>,
    /// Its HTTP plumbing (with the profile's `ca_bundle`, if any).
    pub net: Rc<Net>,
    /// Cross-process locks.
    pub locks: Locks,
    /// When this request started: entries obtained since were refreshed by a peer.
    pub started: DateTime<Utc>,
    /// Ignore cached credentials obtained before this request (`--refresh`).
    pub refresh: bool,
}

impl Request<'_> {
    /// What a source needs, under these sign-in rules.
    pub fn context(&self, login: LoginPolicy) -> Context<'_> {
        Context {
            env: &self.services.env,
            clock: &self.services.clock,
            cache: &self.cache,
            locks: &self.locks,
            net: &self.net,
            login,
            started: self.started,
            profile: &self.chain.profile,
            refresh: self.refresh,
        }
    }
}
