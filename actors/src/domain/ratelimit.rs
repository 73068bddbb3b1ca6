//! A token bucket: `capacity` tokens, refilled at `per_second`. Time is passed in, so the rule
//! is tested without a clock.

use std::time::Instant;

#[derive(Clone, Debug)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(capacity: u32, per_second: u32, now: Instant) -> Self {
        TokenBucket {
            capacity: f64::from(capacity),
            per_second: f64::from(per_second),
            tokens: f64::from(capacity),
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_allowed_then_the_sustained_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(40, 20, start);
        assert_eq!((0..40).filter(|_| bucket.try_take(start)).count(), 40);
        assert!(!bucket.try_take(start));
        // One second later, 20 more.
        let later = start + Duration::from_secs(1);
        assert_eq!((0..40).filter(|_| bucket.try_take(later)).count(), 20);
    }

    #[test]
    fn twenty_per_second_for_ever_is_fine() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(40, 20, start);
        for i in 0..2_000u32 {
            let at = start + Duration::from_millis(u64::from(i) * 50);
            assert!(bucket.try_take(at), "refused at {i}");
        }
    }
}
