//! Single-use nonces, kept in memory for the whole timestamp window so a read never becomes a
//! disk write (issue 8, item 4; issue 9's second lever). Each entry is a 128-bit digest of the
//! AccessKeyId and the nonce rather than the two strings: a fifth of the memory per request.

use std::collections::HashMap;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// How long a nonce is remembered: the 15-minute skew on either side of the signed time.
pub const WINDOW_SECONDS: i64 = 30 * 60 + 60;
/// Past this many live nonces expired ones are pruned at once rather than once a minute.
pub const MAX_ENTRIES: usize = 2_000_000;

#[derive(Debug, Default)]
pub struct NonceCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashMap<u128, i64>,
    next_prune: i64,
}

/// The first 128 bits of SHA-256(key, 0, nonce): collisions are out of reach, so a digest
/// stands for the pair.
fn digest(access_key_id: &str, nonce: &str) -> u128 {
    let d = Sha256::new()
        .chain_update(access_key_id.as_bytes())
        .chain_update([0u8])
        .chain_update(nonce.as_bytes())
        .finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&d[..16]);
    u128::from_le_bytes(first)
}

impl NonceCache {
    /// Records `(access_key_id, nonce)` at wall-clock `now`; false when it was already used.
    pub fn check_and_insert(&self, access_key_id: &str, nonce: &str, now: i64) -> bool {
        let key = digest(access_key_id, nonce);
        let mut g = self.inner.lock();
        if now >= g.next_prune || g.seen.len() >= MAX_ENTRIES {
            g.seen.retain(|_, exp| *exp > now);
            g.next_prune = now + 60;
        }
        match g.seen.get(&key) {
            Some(exp) if *exp > now => false,
            _ => {
                g.seen.insert(key, now + WINDOW_SECONDS);
                true
            }
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().seen.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the live nonces, owner-only, one `expiry<TAB>digest` line each, through a
    /// temporary file renamed into place.
    pub fn save(&self, path: &std::path::Path, now: i64) -> std::io::Result<usize> {
        use std::io::Write;
        let entries: Vec<(u128, i64)> = self
            .inner
            .lock()
            .seen
            .iter()
            .filter(|(_, exp)| **exp > now)
            .map(|(k, exp)| (*k, *exp))
            .collect();
        let tmp = path.with_extension("nonces.tmp");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).write(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = std::io::BufWriter::new(opts.open(&tmp)?);
            for (key, exp) in &entries {
                writeln!(f, "{exp}\t{key:032x}")?;
            }
            f.flush()?;
            f.get_ref().sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(entries.len())
    }

    /// Reads what `save` wrote and removes the file; a missing file is no error.
    pub fn load(&self, path: &std::path::Path, now: i64) -> std::io::Result<usize> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut g = self.inner.lock();
        let mut n = 0;
        for line in text.lines() {
            let Some((exp, key)) = line.split_once('\t') else {
                continue;
            };
            let (Ok(exp), Ok(key)) = (exp.parse::<i64>(), u128::from_str_radix(key, 16)) else {
                continue;
            };
            if exp > now {
                g.seen.insert(key, exp);
                n += 1;
            }
        }
        drop(g);
        std::fs::remove_file(path)?;
        Ok(n)
    }
}

/// Where a graceful shutdown leaves the live nonces: beside the database.
#[must_use]
pub fn sidecar(data: &std::path::Path) -> std::path::PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".nonces");
    std::path::PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_use_within_window() {
        let c = NonceCache::default();
        assert!(c.check_and_insert("ak", "n1", 1000));
        assert!(!c.check_and_insert("ak", "n1", 1001));
        assert!(c.check_and_insert("other", "n1", 1001));
        // The separator keeps ("a", "bc") and ("ab", "c") apart.
        assert!(c.check_and_insert("a", "bc", 1001));
        assert!(c.check_and_insert("ab", "c", 1001));
        assert!(c.check_and_insert("ak", "n1", 1000 + WINDOW_SECONDS + 1));
    }

    #[test]
    fn survives_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = sidecar(&dir.path().join("a.db"));
        let c = NonceCache::default();
        assert!(c.check_and_insert("ak", "n1", 100));
        assert_eq!(c.save(&path, 100).unwrap(), 1);
        let d = NonceCache::default();
        assert_eq!(d.load(&path, 101).unwrap(), 1);
        assert!(!d.check_and_insert("ak", "n1", 102));
        assert!(d.check_and_insert("ak", "n2", 102));
        assert!(!path.exists());
        assert_eq!(d.load(&path, 101).unwrap(), 0);
    }
}
