//! Per-source rate limits: a token bucket per source holding a minute's worth of messages,
//! refilled continuously at the source's rate. A message over the rate is refused with how
//! long until the next one would be taken.

use crate::ids::SourceId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    /// The rate it was made for: a changed rate starts a fresh bucket.
    per_minute: u32,
    at: Instant,
}

/// The buckets of every source that sent something.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<SourceId, Bucket>>,
}

impl RateLimiter {
    /// Takes one message of `source`'s allowance at `per_minute`, or says how long until one
    /// is free.
    pub fn take(&self, source: SourceId, per_minute: u32) -> Result<(), Duration> {
        self.take_at(source, per_minute, Instant::now())
    }

    fn take_at(&self, source: SourceId, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let per_minute = per_minute.max(1);
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(source).or_insert(Bucket {
            tokens: capacity,
            per_minute,
            at: now,
        });
        if bucket.per_minute != per_minute {
            *bucket = Bucket {
                tokens: capacity,
                per_minute,
                at: now,
            };
        }
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }

    /// Forgets a source's bucket (it was removed).
    pub fn forget(&self, source: SourceId) {
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_of_messages_then_refused_until_one_refills() {
        let limiter = RateLimiter::default();
        let source = SourceId::new();
        let start = Instant::now();
        for _ in 0..60 {
            limiter
                .take_at(source, 60, start)
                .expect("within the minute's allowance");
        }
        let wait = limiter
            .take_at(source, 60, start)
            .expect_err("over the rate");
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        // One second later one message (60 a minute) is allowed again, and only one.
        let later = start + Duration::from_secs(1);
        limiter.take_at(source, 60, later).expect("refilled");
        assert!(limiter.take_at(source, 60, later).is_err());
    }

    #[test]
    fn each_source_has_its_own_allowance() {
        let limiter = RateLimiter::default();
        let (a, b) = (SourceId::new(), SourceId::new());
        let now = Instant::now();
        limiter.take_at(a, 1, now).unwrap();
        assert!(limiter.take_at(a, 1, now).is_err());
        limiter.take_at(b, 1, now).expect("b is not limited by a");
    }
}
