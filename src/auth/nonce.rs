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
