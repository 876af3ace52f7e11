//! Retry: what happens to a handoff after a failed attempt. Retryable failures (network,
//! timeout, server) are rescheduled with exponential backoff and full jitter, never sooner than
//! the target's `Retry-After`, until the integration's attempt limit; the schedule lives in the
//! store so it survives a restart. Manual retries are one-off: they are never rescheduled.
//! The worker loop that runs due retries is [`crate::service::App::run_worker`].

use crate::attempts::Status;
use crate::integrations::RetryPolicy;
use crate::targets::Delivery;
use rand::RngExt;
use std::time::Duration;

/// What becomes of a handoff after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    /// Try again after this delay.
    RetryIn(Duration),
    /// Failed for good; waits in the failed list for a person.
    GiveUp,
}

impl NextStep {
    pub fn handoff_status(self) -> Status {
        match self {
            Self::Delivered => Status::Succeeded,
            Self::RetryIn(_) => Status::Pending,
            Self::GiveUp => Status::Failed,
        }
    }
}

/// The delay before automatic try number `attempts_made + 1`: a uniformly random time up to
/// `base * 2^(attempts_made - 1)` (capped), and never less than `retry_after`.
pub fn backoff_delay(
    policy: &RetryPolicy,
    attempts_made: u32,
    retry_after: Option<Duration>,
    rng: &mut impl rand::Rng,
) -> Duration {
    let exp = attempts_made.saturating_sub(1).min(32);
    let ceiling = policy
        .base_delay_ms
        .saturating_mul(1u64 << exp)
        .min(policy.max_delay_ms);
    let jittered = Duration::from_millis(rng.random_range(0..=ceiling));
    match retry_after {
        Some(wait) => jittered.max(wait.min(Duration::from_millis(policy.max_delay_ms))),
        None => jittered,
    }
}

/// Decides the next step after attempt number `attempts_made` of a handoff.
/// `reschedule` is false for manual retries.
pub fn next_step(
    policy: &RetryPolicy,
    attempts_made: u32,
    delivery: &Delivery,
    reschedule: bool,
    rng: &mut impl rand::Rng,
) -> NextStep {
    match delivery.failure {
        None => NextStep::Delivered,
        Some(c) if c.retryable() && reschedule && attempts_made < policy.max_attempts => {
            NextStep::RetryIn(backoff_delay(
                policy,
                attempts_made,
                delivery.retry_after,
                rng,
            ))
        }
        Some(_) => NextStep::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::ErrorCategory;
    use rand::SeedableRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay_ms: 1000,
            max_delay_ms: 10_000,
        }
    }

    fn failed(c: ErrorCategory, retry_after: Option<Duration>) -> Delivery {
        let mut d = Delivery::refused(c, "x");
        d.retry_after = retry_after;
        d
    }

    #[test]
    fn backoff_grows_exponentially_within_the_cap() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (made, ceiling) in [
            (1, 1000),
            (2, 2000),
            (3, 4000),
            (4, 8000),
            (5, 10_000),
            (30, 10_000),
        ] {
            let mut max_seen = 0;
            for _ in 0..2000 {
                let d = backoff_delay(&policy(), made, None, &mut rng).as_millis() as u64;
                assert!(d <= ceiling, "attempt {made}: {d} > {ceiling}");
                max_seen = max_seen.max(d);
            }
            // Full jitter spreads over the whole range: the largest of 2000 draws is near the top.
            assert!(
                max_seen > ceiling * 9 / 10,
                "attempt {made}: max {max_seen} of {ceiling}"
            );
        }
    }

    #[test]
    fn retry_after_is_a_floor_clamped_to_the_max_delay() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let d = backoff_delay(&policy(), 1, Some(Duration::from_secs(5)), &mut rng);
            assert!(d >= Duration::from_secs(5));
        }
        let d = backoff_delay(&policy(), 1, Some(Duration::from_secs(3600)), &mut rng);
        assert_eq!(d, Duration::from_millis(10_000));
    }

    #[test]
    fn only_retryable_failures_are_rescheduled_until_the_limit() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let p = policy();
        assert_eq!(
            next_step(
                &p,
                1,
                &Delivery {
                    failure: None,
                    ..failed(ErrorCategory::Server, None)
                },
                true,
                &mut rng
            ),
            NextStep::Delivered
        );
        assert!(matches!(
            next_step(&p, 1, &failed(ErrorCategory::Server, None), true, &mut rng),
            NextStep::RetryIn(_)
        ));
        assert!(matches!(
            next_step(&p, 4, &failed(ErrorCategory::Network, None), true, &mut rng),
            NextStep::RetryIn(_)
        ));
        assert_eq!(
            next_step(&p, 5, &failed(ErrorCategory::Timeout, None), true, &mut rng),
            NextStep::GiveUp
        );
        assert_eq!(
            next_step(
                &p,
                1,
                &failed(ErrorCategory::Validation, None),
                true,
                &mut rng
            ),
            NextStep::GiveUp
        );
        assert_eq!(
            next_step(
                &p,
                1,
                &failed(ErrorCategory::Authentication, None),
                true,
                &mut rng
            ),
            NextStep::GiveUp
        );
        assert_eq!(
            next_step(&p, 1, &failed(ErrorCategory::Server, None), false, &mut rng),
            NextStep::GiveUp
        );
    }
}
