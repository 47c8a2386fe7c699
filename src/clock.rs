//! The virtual clock. Every date the API returns and every token lifetime follows it; only the
//! check of a request's signed timestamp uses the wall clock, because clients sign with real time.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    #[must_use]
    pub fn with_offset(offset_seconds: i64) -> Self {
        Self {
            offset_seconds: AtomicI64::new(offset_seconds),
        }
    }

    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset())
    }

    /// Unix seconds on the virtual clock.
    #[must_use]
    pub fn now_unix(&self) -> i64 {
        self.now().timestamp()
    }

    #[must_use]
    pub fn offset(&self) -> i64 {
        self.offset_seconds.load(Ordering::SeqCst)
    }

    /// Moves the clock forward. INVARIANT: the virtual clock never goes backwards, so a
    /// negative advance is refused by the caller before it gets here.
    pub fn advance(&self, seconds: u32) -> i64 {
        self.offset_seconds
            .fetch_add(i64::from(seconds), Ordering::SeqCst)
            + i64::from(seconds)
    }

    /// Sets the offset so that `now()` reads `target`; refuses to go backwards.
    pub fn set_now(&self, target: DateTime<Utc>) -> Result<i64, ClockError> {
        let wanted = (target - Utc::now()).num_seconds();
        let current = self.offset();
        if wanted < current {
            return Err(ClockError::Backwards);
        }
        self.offset_seconds.store(wanted, Ordering::SeqCst);
        Ok(wanted)
    }

    pub fn set_offset(&self, offset: i64) {
        self.offset_seconds.store(offset, Ordering::SeqCst);
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    #[error("the virtual clock cannot go backwards")]
    Backwards,
}

/// `2017-06-09T09:17:19Z`: the format RAM, STS and the metadata service use.
#[must_use]
pub fn iso(t: DateTime<Utc>) -> String {
    // The same text as strftime "%Y-%m-%dT%H:%M:%SZ", without parsing a format per call.
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Unix seconds to the ISO form above.
#[must_use]
pub fn iso_unix(secs: i64) -> String {
    Utc.timestamp_opt(secs, 0)
        .single()
        .map_or_else(String::new, iso)
}

/// `2017-12-10T04:04Z`: ECS's DescribeInstances form, without seconds.
#[must_use]
pub fn iso_minutes(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%MZ").to_string()
}

/// Parses the signed `Timestamp` / `x-acs-date` form; fractional seconds are accepted because
/// some SDKs send them.
#[must_use]
pub fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    if !s.ends_with('Z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = parse_iso("2024-01-01T12:00:00Z").unwrap();
        assert_eq!(iso(t), "2024-01-01T12:00:00Z");
        assert_eq!(iso_minutes(t), "2024-01-01T12:00Z");
        assert!(parse_iso("2024-01-01 12:00:00").is_none());
        assert!(parse_iso("2024-01-01T12:00:00+08:00").is_none());
        assert_eq!(
            parse_iso("2024-01-01T12:00:00.500Z").unwrap().timestamp(),
            t.timestamp()
        );
    }

    #[test]
    fn never_goes_backwards() {
        let c = Clock::default();
        c.advance(100);
        assert_eq!(c.offset(), 100);
        assert_eq!(c.set_now(Utc::now()), Err(ClockError::Backwards));
        let later = Utc::now() + chrono::Duration::seconds(1000);
        assert!(c.set_now(later).unwrap() >= 999);
    }
}
