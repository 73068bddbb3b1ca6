//! How long the chat writer's batches take in the database: each batch's time from the start
//! of its transaction to its commit, summed up in one log line (`chat.batches`, at `info`)
//! every few seconds while messages flow. It is how the cost of a batch is measured when the
//! way a batch is stored changes.

use std::time::{Duration, Instant};

/// How often the summary is logged while batches commit.
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// The batches since the last summary: each one's messages and time in the database.
pub(super) struct BatchTimes {
    since: Instant,
    messages: usize,
    micros: Vec<u64>,
}

impl Default for BatchTimes {
    fn default() -> Self {
        BatchTimes {
            since: Instant::now(),
            messages: 0,
            micros: Vec::new(),
        }
    }
}

/// A summary of batch times: count, messages, and the time percentiles in microseconds.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Summary {
    pub batches: usize,
    pub messages: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl BatchTimes {
    /// Records a batch of `messages` that took `took` in the database; logs the summary
    /// when it is due.
    pub(super) fn record(&mut self, messages: usize, took: Duration) {
        self.messages += messages;
        self.micros
            .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        if self.since.elapsed() >= REPORT_EVERY {
            if let Some(s) = self.take() {
                tracing::info!(
                    chat.batches = s.batches,
                    chat.messages = s.messages,
                    batch_p50_ms = s.p50_us as f64 / 1000.0,
                    batch_p99_ms = s.p99_us as f64 / 1000.0,
                    batch_max_ms = s.max_us as f64 / 1000.0,
                    "chat.batches"
                );
            }
        }
    }

    /// The summary of the batches recorded since the last one, and a fresh start.
    pub(super) fn take(&mut self) -> Option<Summary> {
        let mut micros = std::mem::take(&mut self.micros);
        let messages = std::mem::take(&mut self.messages);
        self.since = Instant::now();
        if micros.is_empty() {
            return None;
        }
        micros.sort_unstable();
        let at = |q: usize| micros[(micros.len() - 1) * q / 100];
        Some(Summary {
            batches: micros.len(),
            messages,
            p50_us: at(50),
            p99_us: at(99),
            max_us: micros[micros.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_counts_the_batches_and_their_percentiles_then_starts_afresh() {
        let mut times = BatchTimes::default();
        for ms in 1..=100u64 {
            times.record(2, Duration::from_millis(ms));
        }
        let summary = times.take().expect("batches were recorded");
        assert_eq!(summary.batches, 100);
        assert_eq!(summary.messages, 200);
        assert_eq!(summary.p50_us, 50_000);
        assert_eq!(summary.p99_us, 99_000);
        assert_eq!(summary.max_us, 100_000);
        assert_eq!(times.take(), None);
    }
}
