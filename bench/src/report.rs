//! Latency recording and the report a scenario prints: figures per measured thing, the
//! scenario's checks (a failed correctness check fails the run; targets are reported).

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

/// Latencies and outcomes of one measured thing.
pub struct Recorder {
    pub latency: Histogram<u64>,
    pub outcomes: BTreeMap<String, u64>,
    started: Instant,
    finished: Option<Duration>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            latency: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds"),
            outcomes: BTreeMap::new(),
            started: Instant::now(),
            finished: None,
        }
    }

    pub fn record(&mut self, outcome: &str, latency: Duration) {
        let micros = latency.as_micros().clamp(1, 120_000_000) as u64;
        let _ = self.latency.record(micros);
        *self.outcomes.entry(outcome.to_owned()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Recorder) {
        let _ = self.latency.add(&other.latency);
        for (k, v) in &other.outcomes {
            *self.outcomes.entry(k.clone()).or_default() += v;
        }
    }

    pub fn restart(&mut self) {
        self.started = Instant::now();
    }

    pub fn finish(&mut self) {
        self.finished = Some(self.started.elapsed());
    }

    pub fn elapsed(&self) -> Duration {
        self.finished.unwrap_or_else(|| self.started.elapsed())
    }

    pub fn count(&self) -> u64 {
        self.outcomes.values().sum()
    }

    pub fn figures(&self, name: &str, throughput_unit: &str, counted: u64) -> Figures {
        let secs = self.elapsed().as_secs_f64().max(1e-9);
        let ms = |q: f64| self.latency.value_at_quantile(q) as f64 / 1000.0;
        Figures {
            name: name.to_owned(),
            operations: counted,
            seconds: secs,
            throughput: counted as f64 / secs,
            throughput_unit: throughput_unit.to_owned(),
            p50_ms: ms(0.50),
            p95_ms: ms(0.95),
            p99_ms: ms(0.99),
            max_ms: self.latency.max() as f64 / 1000.0,
            outcomes: self.outcomes.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub name: String,
    pub operations: u64,
    pub seconds: f64,
    pub throughput: f64,
    pub throughput_unit: String,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub outcomes: BTreeMap<String, u64>,
}

/// A check of the run's correctness, or a target.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn new(what: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            what: what.into(),
            ok,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub database: String,
    pub commit: String,
    pub date: String,
    pub rows: Vec<Figures>,
    pub server_peak_rss_kib: u64,
    pub notes: Vec<String>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(scenario: &str, database: &str) -> Report {
        let commit = Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        Report {
            scenario: scenario.to_owned(),
            database: database.to_owned(),
            commit,
            date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
            rows: Vec::new(),
            server_peak_rss_kib: 0,
            notes: Vec::new(),
            checks: Vec::new(),
        }
    }

    pub fn print(&self) {
        println!(
            "\n== {} on {} (commit {}, {})",
            self.scenario, self.database, self.commit, self.date
        );
        println!(
            "{:<34} {:>9} {:>8} {:>13} {:>9} {:>9} {:>9} {:>9}  outcomes",
            "", "ops", "secs", "throughput", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for r in &self.rows {
            let outcomes: Vec<String> =
                r.outcomes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "{:<34} {:>9} {:>8.2} {:>9.0} {:<3} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {}",
                r.name,
                r.operations,
                r.seconds,
                r.throughput,
                r.throughput_unit,
                r.p50_ms,
                r.p95_ms,
                r.p99_ms,
                r.max_ms,
                outcomes.join(" ")
            );
        }
        println!(
            "server peak RSS: {:.1} MiB",
            self.server_peak_rss_kib as f64 / 1024.0
        );
        for note in &self.notes {
            println!("  {note}");
        }
        for c in &self.checks {
            println!(
                "  [{}] {}: {}",
                if c.ok { "ok" } else { "FAIL" },
                c.what,
                c.detail
            );
        }
    }

    pub fn passed(&self) -> bool {
        self.checks
            .iter()
            .filter(|c| !c.what.starts_with("target"))
            .all(|c| c.ok)
    }
}
