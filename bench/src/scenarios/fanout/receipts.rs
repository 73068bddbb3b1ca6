//! The reading side of `fanout`: every socket's receipts of the drops, each drop's latency from
//! its send time, and the notes on how each drop and the CPU fared.

use super::START_PRICE_CENTS;
use crate::harness::Recorder;
use crate::scenarios::sockets::Socket;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How long the sockets are read for at the most.
const RECEIPTS_TIMEOUT: Duration = Duration::from_secs(60);

/// Latency of `drops` frames to every socket: each frame's send time is known by its index.
/// Returns all deliveries, each drop's own (index 1 is the first drop), how many are missing,
/// and the sockets, left open: sockets closing while others still wait for the last drop
/// would slow that drop's delivery (measured: it doubled its p99).
async fn collect_receipts(
    sockets: Vec<Socket>,
    expect: usize,
    pick: Pick,
    sent_at: SentAt,
    timeout: Duration,
) -> Receipts {
    let tasks = sockets.into_iter().map(|mut s| {
        tokio::spawn(async move {
            let mut got = Vec::with_capacity(expect);
            // One deadline for the whole socket, not a timer per frame: the reader should
            // cost as little as it can, so the figures are the server's.
            let _ = tokio::time::timeout(timeout, async {
                while got.len() < expect {
                    match s.next().await {
                        Some(Ok(Message::Text(text))) => {
                            if let Some(i) = pick(&text) {
                                got.push((i, Instant::now()));
                            }
                        }
                        Some(Ok(_)) => continue,
                        _ => break,
                    }
                }
            })
            .await;
            (got, s)
        })
    });
    let mut rec = Recorder::new();
    let mut per_drop: Vec<Recorder> = (0..=expect).map(|_| Recorder::new()).collect();
    let mut missing = 0u64;
    let received = futures::future::join_all(tasks).await;
    let sent_at = sent_at.lock().map(|m| m.clone()).unwrap_or_default();
    let mut done = Vec::with_capacity(received.len());
    for task in received {
        let Ok((got, socket)) = task else {
            missing += expect as u64;
            continue;
        };
        done.push(socket);
        missing += (expect - got.len().min(expect)) as u64;
        for (i, at) in got {
            let latency = at.saturating_duration_since(sent_at.get(&i).copied().unwrap_or(at));
            rec.record("delivered", latency);
            if let Some(r) = per_drop.get_mut(i) {
                r.record("delivered", latency);
            }
        }
    }
    (rec, per_drop, missing, done)
}

/// Which drop a frame is, if it is one.
pub type Pick = fn(&str) -> Option<usize>;

/// When each drop was sent, by its index.
pub type SentAt = Arc<std::sync::Mutex<HashMap<usize, Instant>>>;

/// All deliveries, each drop's own, how many are missing, and the sockets (still open).
pub type Receipts = (Recorder, Vec<Recorder>, u64, Vec<Socket>);

/// Starts reading `drops` frames on every socket (for at most `RECEIPTS_TIMEOUT`); the caller
/// records each drop's send time in the returned map.
pub fn start_receipts(
    sockets: Vec<Socket>,
    drops: usize,
    pick: Pick,
) -> (tokio::task::JoinHandle<Receipts>, SentAt) {
    let sent_at = SentAt::default();
    let receipts = tokio::spawn(collect_receipts(
        sockets,
        drops,
        pick,
        sent_at.clone(),
        RECEIPTS_TIMEOUT,
    ));
    (receipts, sent_at)
}

/// CPU time per delivery of the server and of this load generator over one measured run.
pub fn cpu_note(who: &str, deliveries: u64, server: Duration, client: Duration) -> String {
    let per = |d: Duration| d.as_secs_f64() * 1e6 / deliveries.max(1) as f64;
    format!(
        "{who}: CPU per delivery: server {:.1} µs, load generator {:.1} µs",
        per(server),
        per(client)
    )
}

/// One line on how each drop fared: which part of the run the tail comes from.
pub fn per_drop_note(who: &str, per_drop: &[Recorder]) -> String {
    let drops: Vec<String> = per_drop
        .iter()
        .skip(1)
        .map(|r| {
            let f = r.figures("", "", r.count());
            format!("{:.0}/{:.0}", f.p50_ms, f.p99_ms)
        })
        .collect();
    format!(
        "{who}: p50/p99 ms of each drop in turn: {}",
        drops.join(" ")
    )
}

/// The index a price-drop frame carries, read without building a JSON tree (the reader
/// parses 10,000 frames per drop on the same cores as the server).
pub fn drop_index(text: &str) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct Frame<'a> {
        #[serde(borrow)]
        event: std::borrow::Cow<'a, str>,
        data: Price,
    }
    #[derive(serde::Deserialize)]
    struct Price {
        new_price_cents: i64,
    }
    let f: Frame<'_> = serde_json::from_str(text).ok()?;
    if f.event != "listing.price_dropped" {
        return None;
    }
    Some((START_PRICE_CENTS - f.data.new_price_cents) as usize)
}

/// The index a baseline server's frame carries (it has no price to go by).
pub fn broadcast_index(text: &str) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct Frame {
        data: Index,
    }
    #[derive(serde::Deserialize)]
    struct Index {
        index: usize,
    }
    serde_json::from_str::<Frame>(text)
        .ok()
        .map(|f| f.data.index)
}
