//! Splits values across several entries for stores that cap a value's size.
//!
//! Windows Credential Manager holds at most 2560 bytes a credential. Each chunk starts with
//! a header line `ac1;<digest>;<index>;<count>` where the digest is a SHA-256 prefix of the
//! whole value. A missing chunk, a chunk from another write (stale), or a wrong total all
//! read as "no value", which the cache treats as a miss and rewrites. This is portable code,
//! tested on Linux against a store that enforces the limit.

use super::Store;
use super::file::hex;
use crate::error::Result;
use sha2::{Digest, Sha256};

const MAGIC: &str = "ac1";
/// Most chunks one value may have.
const MAX_CHUNKS: usize = 4096;
/// Room kept for the header line.
const HEADER_ROOM: usize = 48;

/// A store wrapper that chunks values to fit `limit` bytes per entry.
pub struct ChunkedStore<S> {
    inner: S,
    limit: usize,
}

impl<S: Store> ChunkedStore<S> {
    /// Wraps `inner`, whose entries hold at most `limit` bytes.
    pub fn new(inner: S, limit: usize) -> Self {
        assert!(limit > HEADER_ROOM * 2, "chunk limit too small");
        Self { inner, limit }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

/// The key of chunk `i` of `key`.
pub fn chunk_key(key: &str, i: usize) -> String {
    if i == 0 {
        key.to_string()
    } else {
        format!("{key}#{i}")
    }
}

/// A decoded chunk header.
#[derive(Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Digest of the whole value.
    pub digest: &'a str,
    /// This chunk's index.
    pub index: usize,
    /// How many chunks the value has.
    pub count: usize,
}

/// Splits a chunk into its header and payload; `None` when it is not a valid chunk.
pub fn decode_chunk(bytes: &[u8]) -> Option<(Header<'_>, &[u8])> {
    let nl = bytes.iter().take(HEADER_ROOM).position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&bytes[..nl]).ok()?;
    let mut parts = header.split(';');
    if parts.next()? != MAGIC {
        return None;
    }
    let digest = parts.next()?;
    let index: usize = parts.next()?.parse().ok()?;
    let count: usize = parts.next()?.parse().ok()?;
    if parts.next().is_some()
        || digest.len() != 16
        || count == 0
        || index >= count
        || count > MAX_CHUNKS
    {
        return None;
    }
    Some((
        Header {
            digest,
            index,
            count,
        },
        &bytes[nl + 1..],
    ))
}

fn digest_of(value: &[u8]) -> String {
    hex(&Sha256::digest(value)[..8])
}

impl<S: Store> Store for ChunkedStore<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn location(&self) -> String {
        self.inner.location()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(first) = self.inner.get(key)? else {
            return Ok(None);
        };
        let Some((h0, payload)) = decode_chunk(&first) else {
            return Ok(None);
        };
        if h0.index != 0 {
            return Ok(None);
        }
        let mut value = payload.to_vec();
        for i in 1..h0.count {
            let Some(chunk) = self.inner.get(&chunk_key(key, i))? else {
                return Ok(None);
            };
            match decode_chunk(&chunk) {
                Some((h, p)) if h.digest == h0.digest && h.index == i && h.count == h0.count => {
                    value.extend_from_slice(p)
                }
                _ => return Ok(None),
            }
        }
        if digest_of(&value) != h0.digest {
            return Ok(None);
        }
        Ok(Some(value))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        let old_count = self
            .inner
            .get(key)?
            .as_deref()
            .and_then(decode_chunk)
            .map(|(h, _)| h.count)
            .unwrap_or(1);
        let digest = digest_of(value);
        let room = self.limit - HEADER_ROOM;
        let pieces: Vec<&[u8]> = if value.is_empty() {
            vec![&[][..]]
        } else {
            value.chunks(room).collect()
        };
        let count = pieces.len();
        // The first chunk goes last, so a reader never sees a header whose chunks are not
        // all written yet.
        for (i, piece) in pieces.iter().enumerate().rev() {
            let mut blob = format!("{MAGIC};{digest};{i};{count}\n").into_bytes();
            blob.extend_from_slice(piece);
            self.inner.set(&chunk_key(key, i), &blob)?;
        }
        for i in count..old_count {
            self.inner.delete(&chunk_key(key, i))?;
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        let count = self
            .inner
            .get(key)?
            .as_deref()
            .and_then(decode_chunk)
            .map(|(h, _)| h.count)
            .unwrap_or(1);
        for i in (0..count).rev() {
            self.inner.delete(&chunk_key(key, i))?;
        }
        // Chunk 0 may be gone (deleted by hand, a torn write) while later ones remain: probe
        // on until the first missing chunk, so nothing of the value is left behind.
        let mut i = count.max(1);
        while i < MAX_CHUNKS && self.inner.get(&chunk_key(key, i))?.is_some() {
            self.inner.delete(&chunk_key(key, i))?;
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    const LIMIT: usize = 2560;

    fn value(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn delete_removes_every_chunk_even_without_chunk_zero() {
        let s = ChunkedStore::new(MemoryStore::with_limit(LIMIT), LIMIT);
        s.set("k", &value(4 * LIMIT)).unwrap();
        assert!(s.inner().get(&chunk_key("k", 3)).unwrap().is_some());
        s.inner().delete("k").unwrap();
        s.delete("k").unwrap();
        for i in 0..6 {
            assert!(
                s.inner().get(&chunk_key("k", i)).unwrap().is_none(),
                "chunk {i} left behind"
            );
        }
    }

    #[test]
    fn values_of_every_size_round_trip_within_the_limit() {
        let s = ChunkedStore::new(MemoryStore::with_limit(LIMIT), LIMIT);
        for n in [0, 1, LIMIT - HEADER_ROOM, LIMIT, 3 * LIMIT + 7, 20_000] {
            let v = value(n);
            s.set("k", &v).unwrap();
            assert_eq!(s.get("k").unwrap().as_deref(), Some(&v[..]), "size {n}");
        }
    }

    #[test]
    fn shrinking_deletes_old_chunks() {
        let s = ChunkedStore::new(MemoryStore::with_limit(LIMIT), LIMIT);
        s.set("k", &value(10_000)).unwrap();
        assert_eq!(
            s.inner().keys().len(),
            10_000usize.div_ceil(LIMIT - HEADER_ROOM)
        );
        s.set("k", &value(10)).unwrap();
        assert_eq!(s.inner().keys(), ["k"]);
        s.delete("k").unwrap();
        assert!(s.inner().keys().is_empty());
    }

    #[test]
    fn a_missing_chunk_is_a_miss() {
        let s = ChunkedStore::new(MemoryStore::with_limit(LIMIT), LIMIT);
        s.set("k", &value(6000)).unwrap();
        s.inner().delete("k#2").unwrap();
        assert_eq!(s.get("k").unwrap(), None);
    }

    #[test]
    fn a_stale_chunk_is_a_miss() {
        let s = ChunkedStore::new(MemoryStore::with_limit(LIMIT), LIMIT);
        s.set("k", &value(6000)).unwrap();
        let stale = s.inner().get("k#1").unwrap().unwrap();
        let mut other = value(6000);
        other[0] ^= 1;
        s.set("k", &other).unwrap();
        s.inner().put_raw("k#1", &stale);
        assert_eq!(s.get("k").unwrap(), None);
    }

    #[test]
    fn a_corrupted_payload_is_a_miss() {
        let s = ChunkedStore::new(MemoryStore::with_limit(LIMIT), LIMIT);
        s.set("k", &value(100)).unwrap();
        let mut raw = s.inner().get("k").unwrap().unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 0xff;
        s.inner().put_raw("k", &raw);
        assert_eq!(s.get("k").unwrap(), None);
    }

    #[test]
    fn header_decoder_rejects_garbage() {
        for bad in [
            &b""[..],
            b"ac1",
            b"ac2;0123456789abcdef;0;1\n",
            b"ac1;short;0;1\n",
            b"ac1;0123456789abcdef;1;1\n",
            b"ac1;0123456789abcdef;0;0\n",
            b"ac1;0123456789abcdef;0;1;x\n",
            b"\xff\xfe\n",
        ] {
            assert!(decode_chunk(bad).is_none(), "{bad:?}");
        }
        let (h, p) = decode_chunk(b"ac1;0123456789abcdef;2;3\nxyz").unwrap();
        assert_eq!((h.index, h.count, p), (2, 3, &b"xyz"[..]));
    }
}
