//! Background jobs' failures in a row, so that a job failing at every tick (the database
//! refusing writes: a full disk, a file made read-only, PostgreSQL down) is logged when it
//! begins to fail, again once every [`FAILURE_LOG_EVERY`] while it goes on (with the failures
//! in between counted), and when it works again; not at every tick. The saved-search matcher
//! looks every 500 ms and the deadline timer every second: each logged an error every time,
//! and on a full disk those lines were written to the disk that was full.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often a job that goes on failing is logged again.
pub const FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

/// What to log of one step of a background job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepLog {
    /// The step failed, and this failure is logged: the first of a streak, or the first
    /// [`FAILURE_LOG_EVERY`] after the last one logged; `unlogged` failures came between.
    Failed { unlogged: u64 },
    /// The step failed within [`FAILURE_LOG_EVERY`] of the last failure logged: counted only.
    Quiet,
    /// The step worked after `failures` failures in a row, the first `lasted` ago.
    Recovered { failures: u64, lasted: Duration },
    /// The step worked, as the one before it did.
    Worked,
}

/// One job's failures in a row.
#[derive(Clone, Copy, Debug)]
struct Streak {
    began: Instant,
    logged: Instant,
    failures: u64,
    unlogged: u64,
}

/// Each background job's streak of failures, by the job's name (the pool keeps one for all
/// of them).
#[derive(Debug, Default)]
pub struct JobFailures(Mutex<HashMap<&'static str, Streak>>);

impl JobFailures {
    /// A step of `job` failed at `now`.
    pub fn failed(&self, job: &'static str, now: Instant) -> StepLog {
        let mut streaks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(streak) = streaks.get_mut(job) else {
            streaks.insert(
                job,
                Streak {
                    began: now,
                    logged: now,
                    failures: 1,
                    unlogged: 0,
                },
            );
            return StepLog::Failed { unlogged: 0 };
        };
        streak.failures += 1;
        if now.saturating_duration_since(streak.logged) < FAILURE_LOG_EVERY {
            streak.unlogged += 1;
            return StepLog::Quiet;
        }
        let unlogged = std::mem::take(&mut streak.unlogged);
        streak.logged = now;
        StepLog::Failed { unlogged }
    }

    /// A step of `job` worked at `now`.
    pub fn worked(&self, job: &'static str, now: Instant) -> StepLog {
        let mut streaks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match streaks.remove(job) {
            Some(streak) => StepLog::Recovered {
                failures: streak.failures,
                lasted: now.saturating_duration_since(streak.began),
            },
            None => StepLog::Worked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_is_logged_at_its_start_once_a_period_and_at_its_end() {
        let jobs = JobFailures::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(jobs.worked("timer", at(0)), StepLog::Worked);
        assert_eq!(jobs.failed("timer", at(0)), StepLog::Failed { unlogged: 0 });
        // Every 500 ms for the rest of the period: counted, not logged.
        for i in 1..120 {
            assert_eq!(jobs.failed("timer", at(i * 500)), StepLog::Quiet);
        }
        let period = FAILURE_LOG_EVERY.as_millis() as u64;
        assert_eq!(
            jobs.failed("timer", at(period)),
            StepLog::Failed { unlogged: 119 }
        );
        assert_eq!(jobs.failed("timer", at(period + 500)), StepLog::Quiet);
        assert_eq!(
            jobs.worked("timer", at(period + 1_000)),
            StepLog::Recovered {
                failures: 122,
                lasted: Duration::from_millis(period + 1_000),
            }
        );
        // Over: the next failure begins a streak of its own, logged at once.
        assert_eq!(jobs.worked("timer", at(period + 1_500)), StepLog::Worked);
        assert_eq!(
            jobs.failed("timer", at(period + 2_000)),
            StepLog::Failed { unlogged: 0 }
        );
    }

    #[test]
    fn each_job_has_its_own_streak() {
        let jobs = JobFailures::default();
        let now = Instant::now();
        assert_eq!(jobs.failed("a", now), StepLog::Failed { unlogged: 0 });
        assert_eq!(jobs.failed("b", now), StepLog::Failed { unlogged: 0 });
        assert_eq!(jobs.failed("a", now), StepLog::Quiet);
        assert_eq!(
            jobs.worked("b", now),
            StepLog::Recovered {
                failures: 1,
                lasted: Duration::ZERO,
            }
        );
        assert_eq!(jobs.failed("a", now), StepLog::Quiet);
    }
}
