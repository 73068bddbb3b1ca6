//! `login-storm`: wrong passwords from many clients at once (each costs an Argon2 check of
//! 19 MiB), while one other client keeps reading a listing. The figures are the server's peak
//! resident memory and the reader's latency before and during the storm; the server runs with
//! its rate limits off, so every login reaches the password hasher.

use super::{bazaar, client, join_recorders, listing, Common};
use crate::harness::{seed_users, Check, Recorder, Report};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The load the targets are stated for (the CLI defaults).
pub const LOGIN_STORM_ATTEMPTS: usize = 2_000;
pub const LOGIN_STORM_CLIENTS: usize = 32;
/// How long the reader runs alone first, for its baseline latency.
pub const LOGIN_STORM_BASELINE_SECS: u64 = 3;

/// Target: the server's peak resident memory over the whole run.
pub const LOGIN_STORM_PEAK_RSS_TARGET_MIB: u64 = 256;
/// Target: the reader's p99 during the storm, in milliseconds.
pub const LOGIN_STORM_READ_P99_TARGET_MS: f64 = 50.0;

const PASSWORD: &str = "storm-password-1";

pub async fn run(
    c: &Common,
    attempts: usize,
    clients: usize,
    baseline_secs: u64,
) -> anyhow::Result<Report> {
    let mut report = Report::new("login-storm", &c.database);
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let seller = seed_users(&mut conn, "seller", 1, 0)?.remove(0);
    let id = listing(&mut conn, seller.0, "Read me", 1_000, 1, "storm")?;
    let server = bazaar(c, &db)?;
    let http = client();
    // One real account (a real Argon2 hash); half the storm names it, half names nobody (the
    // server checks a dummy hash then, at the same cost).
    let victim = format!("victim{:06x}", rand::random::<u32>() & 0xff_ffff);
    let registered = http
        .post(format!("{}/api/v1/users", server.address))
        .json(&serde_json::json!({ "username": victim, "password": PASSWORD }))
        .send()
        .await?
        .status();
    anyhow::ensure!(registered.as_u16() == 201, "registering: {registered}");
    let read_url = format!("{}/api/v1/listings/{id}", server.address);

    let before = reads_until(http.clone(), read_url.clone(), {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(baseline_secs)).await;
            flag.store(true, Ordering::Relaxed);
        });
        stop
    })
    .await;
    let (rss_before, _) = server.rss_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn(reads_until(http.clone(), read_url, stop.clone()));
    let per_client = attempts.div_ceil(clients.max(1));
    let login_url = format!("{}/api/v1/sessions", server.address);
    let storm = join_recorders((0..clients).map(|n| {
        let (http, url, victim) = (http.clone(), login_url.clone(), victim.clone());
        tokio::spawn(async move {
            let mut rec = Recorder::new();
            for i in 0..per_client {
                let username = if i % 2 == 0 {
                    victim.clone()
                } else {
                    format!("nobody{n}_{i}")
                };
                let body = serde_json::json!({ "username": username, "password": "wrong" });
                let started = Instant::now();
                let outcome = match http.post(&url).json(&body).send().await {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "transport".to_owned(),
                };
                rec.record(&outcome, started.elapsed());
            }
            rec
        })
    }))
    .await;
    stop.store(true, Ordering::Relaxed);
    let during = reader.await?;
    let (rss_after, peak) = server.rss_kib();
    report.server_peak_rss_kib = peak;

    report
        .rows
        .push(before.figures("GET listing, alone", "r/s", before.count()));
    report.rows.push(storm.figures(
        &format!("wrong logins, {clients} clients"),
        "r/s",
        storm.count(),
    ));
    report
        .rows
        .push(during.figures("GET listing, during the storm", "r/s", during.count()));
    let mib = |kib: u64| kib as f64 / 1024.0;
    report.notes.push(format!(
        "server RSS {:.1} MiB before the storm, {:.1} MiB after; peak {:.1} MiB",
        mib(rss_before),
        mib(rss_after),
        mib(peak)
    ));
    let refused = storm.outcomes.get("503").copied().unwrap_or(0);
    report.notes.push(format!(
        "{refused} of {} logins refused with 503 (hashing queue full)",
        storm.count()
    ));
    let only = |rec: &Recorder, allowed: &[&str]| {
        rec.outcomes
            .iter()
            .all(|(k, _)| allowed.contains(&k.as_str()))
    };
    report.checks.push(Check::new(
        "every login answered 401, or 503 when the hashing queue is full",
        only(&storm, &["401", "503"]),
        format!("{:?}", storm.outcomes),
    ));
    report.checks.push(Check::new(
        "every read answered 200",
        only(&before, &["200"]) && only(&during, &["200"]),
        format!("{:?} / {:?}", before.outcomes, during.outcomes),
    ));
    report.checks.push(Check::new(
        format!("target: server peak RSS < {LOGIN_STORM_PEAK_RSS_TARGET_MIB} MiB"),
        peak > 0 && peak < LOGIN_STORM_PEAK_RSS_TARGET_MIB * 1024,
        format!("{:.1} MiB", mib(peak)),
    ));
    let p99 = during.figures("", "", 0).p99_ms;
    report.checks.push(Check::new(
        format!("target: read p99 during the storm <= {LOGIN_STORM_READ_P99_TARGET_MS} ms"),
        p99 <= LOGIN_STORM_READ_P99_TARGET_MS,
        format!(
            "{p99:.2} ms (alone: {:.2} ms)",
            before.figures("", "", 0).p99_ms
        ),
    ));
    Ok(report)
}

/// One client reading `url` back to back until `stop` is set.
async fn reads_until(http: reqwest::Client, url: String, stop: Arc<AtomicBool>) -> Recorder {
    let mut rec = Recorder::new();
    rec.restart();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let outcome = match http.get(&url).send().await {
            Ok(r) => {
                let status = r.status().as_u16().to_string();
                let _ = r.bytes().await;
                status
            }
            Err(_) => "transport".to_owned(),
        };
        rec.record(&outcome, started.elapsed());
    }
    rec.finish();
    rec
}
