//! Entry points shared by the fuzz targets (`fuzz/`) and the regression tests that replay
//! their findings (`tests/fuzz_regressions.rs`): each takes arbitrary bytes and must return
//! without panicking.

use crate::cache;
use crate::config::{AwsFiles, parse::SectionKind, resolve};
use crate::credentials::CachedCredentials;
use crate::env::Environment;
use crate::source::sso::{Registration, SsoToken};
use crate::store::Store;
use crate::store::chunked::{ChunkedStore, decode_chunk};
use crate::store::memory::MemoryStore;

/// Parses the bytes as the config file (and as the credentials file), then resolves every
/// profile they name.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = Environment::from_pairs([]);
    for files in [
        AwsFiles::from_texts(text, ""),
        AwsFiles::from_texts("", text),
    ] {
        let Ok(files) = files else { continue };
        let names: Vec<String> = files
            .config
            .names(SectionKind::Profile)
            .chain(files.credentials.names(SectionKind::Profile))
            .map(str::to_string)
            .collect();
        for name in names {
            if let Ok(chain) = resolve::resolve(&files, &name, &env) {
                let _ = crate::source::final_key(&chain);
                let _ = crate::source::describe(&chain);
            }
        }
    }
}

/// Decodes the bytes as every kind of cache entry, and runs the prune rule on them.
pub fn entries(data: &[u8]) {
    let key = "awscred:fuzz";
    let _ = cache::decode::<SsoToken>(key, data);
    let _ = cache::decode::<Registration>(key, data);
    let _ = cache::decode::<CachedCredentials>(key, data);
    let _ = cache::is_stale(data, chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
}

/// Decodes the bytes as a chunk, and reads them back through a chunked store as the first
/// and as a later chunk.
pub fn chunks(data: &[u8]) {
    let _ = decode_chunk(data);
    let store = ChunkedStore::new(MemoryStore::new(), 2560);
    store.inner().put_raw("k", data);
    store.inner().put_raw("k#1", data);
    let _ = store.get("k");
    let _ = store.delete("k");
}
