//! `relay`: two Bazaar processes on one PostgreSQL database. Buyers chat on process A; each
//! seller they write to has one socket on A and one on B, so every message is delivered once by
//! the process that stored it (same-process) and once through B's relay (doorbell, then a read
//! from the table: cross-process), in the same run. The rate rises step by step; each step
//! reports offered and delivered msg/s and both p99s, and the run the highest sustained rate
//! (every step runs, each bounded, so a saturated step does not hide the next one's figures).

use super::chat::{pairs_chatting, receive, send, take, Shared};
use super::sockets::{close_all, open_live, Socket};
use super::{bazaar_with, figures_over, Common};
use crate::harness::{Check, Figures, Recorder, Report};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The load the target is stated for (the CLI defaults).
pub const RELAY_PAIRS: usize = 500;
pub const RELAY_RATES_MSG_PER_S: &str = "250,500,1000,2000,4000";
pub const RELAY_STEP_SECONDS: u64 = 5;

/// Target: at this offered rate ...
pub const RELAY_TARGET_RATE_MSG_PER_S: u64 = 2_000;
/// ... the cross-process p99 is at most this many times the same-process p99 of the step.
pub const RELAY_P99_RATIO_TARGET: f64 = 2.0;

/// A step is sustained when B delivered at least this share of the offered rate (delivered
/// msg/s = messages over the time from the step's first send to its last delivery).
const SUSTAINED_SHARE: f64 = 0.95;

/// How many pairs open their sockets at a time.
const PARALLEL_PAIRS: usize = 32;

/// The sockets of one pair: the buyer's on A, the seller's on A and on B.
struct Pair {
    conversation: i64,
    buyer: Socket,
    seller_a: Socket,
    seller_b: Socket,
}

/// What one step measured.
struct Step {
    same: Figures,
    cross: Figures,
    delivered: (usize, usize),
    expected: usize,
    duplicates: u64,
}

pub async fn run(c: &Common, pairs: usize, rates: &[u64], seconds: u64) -> anyhow::Result<Report> {
    anyhow::ensure!(
        c.database == "postgres" && c.target.is_none(),
        "relay starts two processes of its own on PostgreSQL: --database postgres, no --url"
    );
    let mut report = Report::new("relay", &c.database);
    crate::harness::raise_fd_limit();
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let (users, conversations) = pairs_chatting(&mut conn, pairs)?;
    let a = bazaar_with(c, &db, &["--node-id", "relay-a"])?;
    let b = bazaar_with(c, &db, &["--node-id", "relay-b"])?;
    let (address_a, address_b) = (a.address.clone(), b.address.clone());
    let mut sockets: Vec<Pair> = futures::stream::iter((0..pairs).map(|p| {
        let (address_a, address_b) = (address_a.clone(), address_b.clone());
        let (buyer, seller) = (users[2 * p].1.clone(), users[2 * p + 1].1.clone());
        let conversation = conversations[p];
        async move {
            anyhow::Ok(Pair {
                conversation,
                buyer: open_live(&address_a, &buyer).await?,
                seller_a: open_live(&address_a, &seller).await?,
                seller_b: open_live(&address_b, &seller).await?,
            })
        }
    }))
    .buffered(PARALLEL_PAIRS)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<anyhow::Result<_>>()?;
    report.notes.push(format!(
        "{pairs} pairs: the buyer's socket and the seller's first on process A, the seller's \
         second on process B; {seconds} s per step; sustained = B delivered >= {:.0}% of offered",
        SUSTAINED_SHARE * 100.0
    ));
    let mut highest = None;
    let mut duplicates = 0;
    let mut at_target = None;
    for &rate in rates {
        let load = loadavg();
        let (step, back) = step(sockets, rate, seconds).await;
        sockets = back;
        duplicates += step.duplicates;
        // Each buyer sends one message per `pairs / rate` seconds: `rate` msg/s in all.
        let offered = rate as f64;
        let sustained =
            step.cross.throughput >= offered * SUSTAINED_SHARE && step.delivered.1 == step.expected;
        let ratio = step.cross.p99_ms / step.same.p99_ms.max(1e-9);
        report.notes.push(format!(
            "{rate} msg/s offered (load {load}): delivered A {:.0} msg/s ({} of {}), B {:.0} \
             msg/s ({} of {}); p99 same-process {:.2} ms, cross-process {:.2} ms ({ratio:.2}x){}",
            step.same.throughput,
            step.delivered.0,
            step.expected,
            step.cross.throughput,
            step.delivered.1,
            step.expected,
            step.same.p99_ms,
            step.cross.p99_ms,
            if sustained { "" } else { "; not sustained" }
        ));
        if rate == RELAY_TARGET_RATE_MSG_PER_S {
            at_target = Some((ratio, step.same.p99_ms, step.cross.p99_ms));
        }
        report.rows.push(step.same);
        report.rows.push(step.cross);
        if sustained {
            highest = Some(highest.unwrap_or(0).max(rate));
        }
    }
    report.server_peak_rss_kib = b.rss_kib().1;
    close_all(
        sockets
            .into_iter()
            .flat_map(|p| [p.buyer, p.seller_a, p.seller_b])
            .collect(),
    )
    .await;
    report.notes.push(match highest {
        Some(r) => format!("highest sustained rate: {r} msg/s"),
        None => "no step was sustained".to_owned(),
    });
    report.checks.push(Check::new(
        "none duplicated",
        duplicates == 0,
        format!("{duplicates} duplicates"),
    ));
    report.checks.push(Check::new(
        format!(
            "target: at {RELAY_TARGET_RATE_MSG_PER_S} msg/s cross-process p99 <= \
             {RELAY_P99_RATIO_TARGET}x same-process p99"
        ),
        at_target.is_some_and(|(ratio, _, _)| ratio <= RELAY_P99_RATIO_TARGET),
        match at_target {
            Some((ratio, same, cross)) => format!("{cross:.2} / {same:.2} ms = {ratio:.2}x"),
            None => "that step was not reached".to_owned(),
        },
    ));
    Ok(report)
}

/// One step: every pair's buyer sends its share of `rate * seconds` messages, spread evenly;
/// both of the seller's sockets read them. Gives the sockets back for the next step.
async fn step(pairs: Vec<Pair>, rate: u64, seconds: u64) -> (Step, Vec<Pair>) {
    let count = pairs.len();
    let per_pair = ((rate * seconds) as usize).div_ceil(count);
    let gap = Duration::from_secs_f64(count as f64 / rate as f64);
    let patience = Duration::from_secs(seconds * 3 + 20);
    let tag = format!("r{rate}-");
    let shared = || -> Shared { Arc::new(Mutex::new(Recorder::new())) };
    let (acks, same, cross) = (shared(), shared(), shared());
    let start = Instant::now();
    let tasks: Vec<_> = pairs
        .into_iter()
        .enumerate()
        .map(|(p, mut pair)| {
            let (tag, acks, same, cross) = (tag.clone(), acks.clone(), same.clone(), cross.clone());
            let offset = gap.mul_f64(p as f64 / count as f64);
            tokio::spawn(async move {
                let (mut seller_a, mut seller_b) = (pair.seller_a, pair.seller_b);
                let (tag_a, tag_b) = (tag.clone(), tag.clone());
                let on_a = tokio::spawn(async move {
                    let n = receive(&mut seller_a, (&tag_a, per_pair), start, patience, same).await;
                    (n, start.elapsed(), seller_a)
                });
                let on_b = tokio::spawn(async move {
                    let n =
                        receive(&mut seller_b, (&tag_b, per_pair), start, patience, cross).await;
                    (n, start.elapsed(), seller_b)
                });
                let sent = (pair.conversation, tag.as_str());
                send(
                    &mut pair.buyer,
                    sent,
                    (per_pair, start),
                    (offset, gap),
                    acks,
                )
                .await;
                let ((n_a, at_a, seller_a), (n_b, at_b, seller_b)) = (
                    on_a.await.expect("reader on A"),
                    on_b.await.expect("reader on B"),
                );
                (
                    ((n_a, at_a), (n_b, at_b)),
                    Pair {
                        seller_a,
                        seller_b,
                        ..pair
                    },
                )
            })
        })
        .collect();
    let mut back = Vec::with_capacity(count);
    let mut delivered = (0, 0);
    // Each side's clock runs from the first send to its last delivery.
    let mut elapsed = (Duration::ZERO, Duration::ZERO);
    for t in futures::future::join_all(tasks).await {
        let (((a, at_a), (b, at_b)), pair) = t.expect("pair task");
        delivered = (delivered.0 + a, delivered.1 + b);
        elapsed = (elapsed.0.max(at_a), elapsed.1.max(at_b));
        back.push(pair);
    }
    let (mut same, mut cross) = (take(same), take(cross));
    drop(take(acks));
    for r in [&mut same, &mut cross] {
        r.finish();
    }
    let duplicates = [&same, &cross]
        .iter()
        .map(|r: &&Recorder| r.outcomes.get("duplicate").copied().unwrap_or(0))
        .sum();
    let step = Step {
        same: figures_over(
            &same,
            &format!("{rate}/s A: same-process"),
            "m/s",
            elapsed.0,
        ),
        cross: figures_over(
            &cross,
            &format!("{rate}/s B: cross-process"),
            "m/s",
            elapsed.1,
        ),
        delivered,
        expected: per_pair * count,
        duplicates,
    };
    (step, back)
}

/// The machine's one-minute load average (other work on the cores moves every figure).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
