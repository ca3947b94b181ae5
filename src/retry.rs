//! One back-off rule for every retry loop (the cloud APIs, Tencent's, Telegram's):
//! exponential from a base, doubling per attempt up to a cap, with full jitter — a wait
//! drawn uniformly from zero to that ceiling, so many clients retrying at once spread
//! out. Callers keep their own rules for what is retried and for how long in all.
//! A leaf.

use std::time::Duration;

use rand::RngExt;

/// The ceiling of the wait before attempt `attempt + 1` (attempt 1 is the first try):
/// `base`, doubled per attempt, at most `cap`.
pub fn ceiling(base: Duration, cap: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(cap)
}

/// The wait before attempt `attempt + 1`: full jitter under [`ceiling`].
pub fn wait(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let ms = ceiling(base, cap, attempt).as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(0..=ms))
}

/// Back-off state for a loop that counts its own failures (a poller).
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// The wait after one more failure.
    pub fn after_failure(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        wait(self.base, self.cap, self.failures)
    }

    /// After a success: the next failure waits little again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap_and_waits_stay_under_them() {
        let (base, cap) = (Duration::from_millis(500), Duration::from_secs(20));
        assert_eq!(ceiling(base, cap, 1), Duration::from_millis(500));
        assert_eq!(ceiling(base, cap, 2), Duration::from_secs(1));
        assert_eq!(ceiling(base, cap, 4), Duration::from_secs(4));
        assert_eq!(ceiling(base, cap, 9), cap);
        assert_eq!(ceiling(base, cap, 40), cap);
        // Full jitter: every wait is under its ceiling, and the lower half is used too.
        let waits: Vec<Duration> = (0..400).map(|_| wait(base, cap, 3)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(2)));
        assert!(waits.iter().any(|w| *w < Duration::from_secs(1)));
        let mut b = Backoff::new(base, cap);
        for _ in 0..50 {
            assert!(b.after_failure() <= cap);
        }
        b.reset();
        assert!(b.after_failure() <= base);
    }
}
