//! Single-use nonces, kept in memory for the whole timestamp window so a read never becomes a
//! disk write (issue 8, item 4; issue 9's second lever).

use std::collections::HashMap;

use parking_lot::Mutex;

/// How long a nonce is remembered: the 15-minute skew on either side of the signed time.
pub const WINDOW_SECONDS: i64 = 30 * 60 + 60;
/// Past this many live nonces the oldest are pruned first; requests still get a fresh check.
pub const MAX_ENTRIES: usize = 2_000_000;

#[derive(Debug, Default)]
pub struct NonceCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashMap<(String, String), i64>,
    next_prune: i64,
}

impl NonceCache {
    /// Records `(access_key_id, nonce)` at wall-clock `now`; false when it was already used.
    pub fn check_and_insert(&self, access_key_id: &str, nonce: &str, now: i64) -> bool {
        let mut g = self.inner.lock();
        if now >= g.next_prune || g.seen.len() >= MAX_ENTRIES {
            g.seen.retain(|_, exp| *exp > now);
            g.next_prune = now + 60;
        }
        let key = (access_key_id.to_string(), nonce.to_string());
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

    /// Live entries, for saving across a graceful restart.
    #[must_use]
    pub fn snapshot(&self, now: i64) -> Vec<(String, String, i64)> {
        self.inner
            .lock()
            .seen
            .iter()
            .filter(|(_, exp)| **exp > now)
            .map(|((a, n), exp)| (a.clone(), n.clone(), *exp))
            .collect()
    }

    pub fn restore(&self, entries: impl IntoIterator<Item = (String, String, i64)>) {
        let mut g = self.inner.lock();
        for (a, n, exp) in entries {
            g.seen.insert((a, n), exp);
        }
    }
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
        assert!(c.check_and_insert("ak", "n1", 1000 + WINDOW_SECONDS + 1));
    }
}

/// Where a graceful shutdown leaves the live nonces: beside the database.
#[must_use]
pub fn sidecar(data: &std::path::Path) -> std::path::PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".nonces");
    std::path::PathBuf::from(name)
}

impl NonceCache {
    /// Writes the live nonces, owner-only, one `expiry<TAB>key<TAB>nonce` line each.
    pub fn save(&self, path: &std::path::Path, now: i64) -> std::io::Result<usize> {
        use std::io::Write;
        let entries = self.snapshot(now);
        let tmp = path.with_extension("nonces.tmp");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).write(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = std::io::BufWriter::new(opts.open(&tmp)?);
            for (ak, nonce, exp) in &entries {
                // Keys and nonces are printable; a tab or newline in one would break the line
                // format, so such entries are skipped rather than written ambiguously.
                if ak.contains(['\t', '\n']) || nonce.contains(['\t', '\n']) {
                    continue;
                }
                writeln!(f, "{exp}\t{ak}\t{nonce}")?;
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
        let entries: Vec<(String, String, i64)> = text
            .lines()
            .filter_map(|l| {
                let mut parts = l.splitn(3, '\t');
                let exp = parts.next()?.parse::<i64>().ok()?;
                let ak = parts.next()?.to_string();
                let nonce = parts.next()?.to_string();
                (exp > now).then_some((ak, nonce, exp))
            })
            .collect();
        let n = entries.len();
        self.restore(entries);
        std::fs::remove_file(path)?;
        Ok(n)
    }
}

#[cfg(test)]
mod persistence_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
        assert!(!path.exists());
        assert_eq!(d.load(&path, 101).unwrap(), 0);
    }
}
