//! The login lock-out: after `after` consecutive failed logins for one username, that username
//! is locked for `first`, and each further failure doubles the lock, up to `max`. A success
//! resets it; so does `max` of quiet after the last lock ends. Unknown usernames are counted
//! exactly like known ones, so a lock tells nothing about whether an account exists. The rule is
//! pure (time passed in); [`Lockouts`] keeps the counts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutRule {
    /// Consecutive failures allowed before the first lock.
    pub after: u32,
    pub first: Duration,
    pub max: Duration,
}

impl LockoutRule {
    /// How long a username is locked after its `failures`-th consecutive failure: not at all
    /// below `after`, then `first`, doubling with each further failure, at most `max`.
    pub fn lock_for(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.after)?;
        // 2^31 × 1 s is far past any sane max; cap the shift so it cannot overflow.
        let factor = 1u32 << beyond.min(31);
        Some(self.first.saturating_mul(factor).min(self.max))
    }

    /// Whether a record can be forgotten at `now`: its lock, if any, is over and nothing failed
    /// for `max` since.
    pub fn forgotten(&self, record: &Failures, now: Instant) -> bool {
        let quiet_since = record.locked_until.unwrap_or(record.last).max(record.last);
        now.saturating_duration_since(quiet_since) >= self.max
    }
}

/// One username's consecutive failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last: Instant,
    pub locked_until: Option<Instant>,
}

impl Failures {
    /// The time left on the lock at `now`, if locked.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .map(|until| until.saturating_duration_since(now))
            .filter(|left| !left.is_zero())
    }
}

/// The failures of every username that failed recently, bounded to `max_keys` names.
pub struct Lockouts {
    rule: LockoutRule,
    max_keys: usize,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Lockouts {
    pub fn new(rule: LockoutRule, max_keys: usize) -> Self {
        Lockouts {
            rule,
            max_keys,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The time left on `username`'s lock, if it is locked.
    pub fn locked(&self, username: &str, now: Instant) -> Option<Duration> {
        self.with(|all| all.get(username).and_then(|f| f.remaining(now)))
    }

    /// Records a failed login; returns `true` if the username was full (remembered names were
    /// forgotten to make room).
    pub fn failed(&self, username: &str, now: Instant) -> bool {
        let rule = self.rule;
        let max_keys = self.max_keys;
        self.with(|all| {
            let mut reset = false;
            if all.len() >= max_keys && !all.contains_key(username) {
                // Bounded memory beats perfect memory: under a flood of names, start afresh.
                all.clear();
                reset = true;
            }
            let record = all.entry(username.to_owned()).or_insert(Failures {
                count: 0,
                last: now,
                locked_until: None,
            });
            record.count = record.count.saturating_add(1);
            record.last = now;
            if let Some(lock) = rule.lock_for(record.count) {
                record.locked_until = Some(now + lock);
            }
            reset
        })
    }

    /// A successful login clears the username's failures.
    pub fn succeeded(&self, username: &str) {
        self.with(|all| all.remove(username));
    }

    /// Forgets what the rule says may be forgotten; returns how many names are left.
    pub fn sweep(&self, now: Instant) -> usize {
        let rule = self.rule;
        self.with(|all| {
            all.retain(|_, f| !rule.forgotten(f, now));
            all.shrink_to_fit();
            all.len()
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Failures>) -> T) -> T {
        // A panic while holding the lock cannot leave the map inconsistent (each change is one
        // insert or remove), so a poisoned lock is still usable.
        let mut all = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: LockoutRule = LockoutRule {
        after: 3,
        first: Duration::from_secs(30),
        max: Duration::from_secs(300),
    };

    #[test]
    fn the_lock_starts_after_the_allowed_failures_and_doubles_up_to_the_cap() {
        let locks: Vec<Option<u64>> = (0..=9)
            .map(|n| RULE.lock_for(n).map(|d| d.as_secs()))
            .collect();
        assert_eq!(
            locks,
            [
                None,
                None,
                None,
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(300),
                Some(300),
                Some(300)
            ]
        );
        // However many failures, the shift never overflows.
        assert_eq!(RULE.lock_for(u32::MAX), Some(Duration::from_secs(300)));
    }

    #[test]
    fn failures_lock_a_name_and_success_resets_it() {
        let lockouts = Lockouts::new(RULE, 100);
        let t0 = Instant::now();
        for _ in 0..2 {
            lockouts.failed("alice", t0);
        }
        assert_eq!(lockouts.locked("alice", t0), None);
        lockouts.failed("alice", t0);
        assert_eq!(lockouts.locked("alice", t0), Some(Duration::from_secs(30)));
        let later = t0 + Duration::from_secs(31);
        assert_eq!(lockouts.locked("alice", later), None);
        // The next failure locks for twice as long.
        lockouts.failed("alice", later);
        assert_eq!(
            lockouts.locked("alice", later),
            Some(Duration::from_secs(60))
        );
        assert_eq!(lockouts.locked("bob", later), None);
        lockouts.succeeded("alice");
        assert_eq!(lockouts.locked("alice", later), None);
        lockouts.failed("alice", later);
        assert_eq!(lockouts.locked("alice", later), None);
    }

    #[test]
    fn quiet_names_are_forgotten_and_the_map_stays_bounded() {
        let lockouts = Lockouts::new(RULE, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            lockouts.failed("alice", t0);
        }
        lockouts.failed("bob", t0);
        // Bob's one failure is forgotten after `max` of quiet; Alice's lock (30 s) runs first.
        assert_eq!(lockouts.sweep(t0 + Duration::from_secs(300)), 1);
        assert_eq!(lockouts.sweep(t0 + Duration::from_secs(330)), 0);
        // A flood of new names never holds more than `max_keys`.
        let mut resets = 0;
        for i in 0..10 {
            resets += usize::from(lockouts.failed(&format!("name{i}"), t0));
        }
        assert_eq!(resets, 3);
        assert!(lockouts.sweep(t0) <= 3);
    }
}
