//! The last few hundred requests, kept in memory for the dashboard: when a test fails, what
//! was asked, by whom, and why it was refused.

use std::collections::VecDeque;

use parking_lot::Mutex;

pub const CAPACITY: usize = 500;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    /// Wall-clock time of the request, ISO-8601.
    pub time: String,
    pub product: String,
    pub action: String,
    pub caller: String,
    pub status: u16,
    /// `OK`, or the error code.
    pub code: String,
    /// For a refusal, the message (which names the deciding rule for denials).
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Recent {
    inner: Mutex<VecDeque<Record>>,
}

impl Recent {
    pub fn push(&self, r: Record) {
        let mut g = self.inner.lock();
        if g.len() >= CAPACITY {
            g.pop_front();
        }
        g.push_back(r);
    }

    /// Newest first.
    #[must_use]
    pub fn snapshot(&self) -> Vec<Record> {
        self.inner.lock().iter().rev().cloned().collect()
    }

    pub fn clear(&self) {
        self.inner.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: usize) -> Record {
        Record {
            time: String::new(),
            product: "Ram".into(),
            action: format!("A{n}"),
            caller: "root".into(),
            status: 200,
            code: "OK".into(),
            detail: String::new(),
        }
    }

    #[test]
    fn bounded_and_newest_first() {
        let r = Recent::default();
        for n in 0..CAPACITY + 10 {
            r.push(rec(n));
        }
        let s = r.snapshot();
        assert_eq!(s.len(), CAPACITY);
        assert_eq!(s[0].action, format!("A{}", CAPACITY + 9));
    }
}
