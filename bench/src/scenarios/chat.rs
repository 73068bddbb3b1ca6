//! `chat`: conversation pairs chatting over their sockets at a total message rate. One side of
//! each pair sends, the other receives; checks that every message arrives once, and the target
//! is the p99 from send to the other party's socket.
//!
//! The same run first measures a baseline: the same load on a server started with
//! `--chat-unbatched`, which stores each message in its own transaction (the path before
//! batching). Sustained msg/s is the messages delivered over the time from the first send to
//! the last delivery, so a server that falls behind the offered rate shows it.

use super::sockets::{open_live, Socket};
use super::{bazaar_with, client, figures_over, listing, Common};
use crate::harness::{seed_users, Check, Figures, Recorder, Report};
use bazaar_actors::store::{self, chat};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The load the target is stated for (the CLI defaults).
pub const CHAT_PAIRS: usize = 1_000;
pub const CHAT_RATE_MSG_PER_S: u64 = 2_000;
pub const CHAT_SECONDS: u64 = 10;

/// Target: the 99th percentile from a send to the other party's socket.
pub const CHAT_P99_TARGET_MS: u32 = 10;

/// Target on PostgreSQL: batched chat sustains this many times the baseline's msg/s (one
/// transaction per message) in the same run, offered the same rate ...
pub const CHAT_PG_SPEEDUP_TARGET: f64 = 4.0;
/// ... with this p99 from send to the other party's socket.
pub const CHAT_PG_P99_TARGET_MS: u32 = 25;

/// How many pairs open their sockets at a time.
const PARALLEL_PAIRS: usize = 32;

/// A recorder the pairs' tasks share.
pub(super) type Shared = Arc<Mutex<Recorder>>;

/// One load on one server: what the run measured.
struct Measured {
    acks: Figures,
    received: Figures,
    delivered: usize,
    expected: usize,
    duplicates: u64,
    peak_rss_kib: u64,
    notes: Vec<String>,
}

/// The pause between the baseline's run and the batched one.
const SETTLE_BETWEEN_RUNS: Duration = Duration::from_secs(10);

pub async fn run(
    c: &Common,
    pairs: usize,
    rate: u64,
    seconds: u64,
    baseline: bool,
) -> anyhow::Result<Report> {
    let mut report = Report::new("chat", &c.database);
    crate::harness::raise_fd_limit();
    // A running server (`--url`) is measured as it is: no baseline of our own to start.
    let baseline = if baseline && c.target.is_none() {
        let b = load(c, pairs, rate, seconds, &["--chat-unbatched"]).await?;
        report.notes.push(format!(
            "baseline (--chat-unbatched, a transaction per message): sustained {:.0} msg/s, \
             p50 {:.2} ms, p99 {:.2} ms send -> other party; {} of {} delivered",
            b.received.throughput, b.received.p50_ms, b.received.p99_ms, b.delivered, b.expected
        ));
        // The baseline falls far behind and leaves the database busy for a while after its
        // server stops (on PostgreSQL its dropped database's checkpoint, the backlog's
        // writes): the batched run starts once that has passed, not on top of it.
        report.notes.push(format!(
            "{} s of rest between the baseline's run and the batched one",
            SETTLE_BETWEEN_RUNS.as_secs()
        ));
        tokio::time::sleep(SETTLE_BETWEEN_RUNS).await;
        Some(b)
    } else {
        None
    };
    let m = load(c, pairs, rate, seconds, &[]).await?;
    report.server_peak_rss_kib = m.peak_rss_kib;
    report.notes.extend(m.notes);
    report.notes.push(format!(
        "batched (default): sustained {:.0} msg/s, p50 {:.2} ms, p99 {:.2} ms send -> other party",
        m.received.throughput, m.received.p50_ms, m.received.p99_ms
    ));
    report.checks.push(Check::new(
        "none missing",
        m.delivered == m.expected,
        format!("{} of {} delivered", m.delivered, m.expected),
    ));
    report.checks.push(Check::new(
        "none duplicated",
        m.duplicates == 0,
        format!("{} duplicates", m.duplicates),
    ));
    let postgres = c.database == "postgres";
    let p99_target = if postgres {
        CHAT_PG_P99_TARGET_MS
    } else {
        CHAT_P99_TARGET_MS
    };
    report.checks.push(Check::new(
        format!("target: p99 send -> receive <= {p99_target} ms"),
        m.received.p99_ms <= f64::from(p99_target),
        format!("{:.2} ms", m.received.p99_ms),
    ));
    if let Some(b) = baseline {
        let speedup = m.received.throughput / b.received.throughput.max(1e-9);
        if postgres {
            report.checks.push(Check::new(
                format!(
                    "target: sustained msg/s >= {CHAT_PG_SPEEDUP_TARGET}x the baseline's (offered {rate} msg/s)"
                ),
                speedup >= CHAT_PG_SPEEDUP_TARGET,
                format!(
                    "{:.0} / {:.0} msg/s = {speedup:.2}x",
                    m.received.throughput, b.received.throughput
                ),
            ));
        } else {
            report
                .notes
                .push(format!("batched / baseline sustained msg/s: {speedup:.2}x"));
        }
        report.rows.push(renamed(b.acks, "baseline: send -> ack"));
        report.rows.push(renamed(
            b.received,
            "baseline: send -> other party's socket",
        ));
    }
    report.rows.push(m.acks);
    report.rows.push(m.received);
    Ok(report)
}

fn renamed(mut row: Figures, name: &str) -> Figures {
    row.name = name.to_owned();
    row
}

/// The load on a fresh database and a server of its own started with `server_flags`.
async fn load(
    c: &Common,
    pairs: usize,
    rate: u64,
    seconds: u64,
    server_flags: &[&str],
) -> anyhow::Result<Measured> {
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let (users, conversations) = pairs_chatting(&mut conn, pairs)?;
    let server = bazaar_with(c, &db, server_flags)?;
    // Every socket is open and live before the clock starts: the run measures chat, not
    // connection set-up, and no pair starts while others are still connecting.
    let address = server.address.clone();
    let sockets: Vec<(Socket, Socket)> = futures::stream::iter((0..pairs).map(|p| {
        let (address, sender, receiver) = (
            address.clone(),
            users[2 * p].1.clone(),
            users[2 * p + 1].1.clone(),
        );
        async move {
            let tx = open_live(&address, &sender).await?;
            let rx = open_live(&address, &receiver).await?;
            anyhow::Ok((tx, rx))
        }
    }))
    .buffered(PARALLEL_PAIRS)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<anyhow::Result<_>>()?;
    let start = Instant::now();
    let total = (rate * seconds) as usize;
    let per_pair = total.div_ceil(pairs);
    let gap = Duration::from_secs_f64(pairs as f64 / rate as f64);
    // Generous: a saturated server falls behind the offered rate, and a message counts as
    // missing only if it never arrives.
    let patience = Duration::from_secs(seconds * 4 + 30);
    let acks: Shared = Arc::new(Mutex::new(Recorder::new()));
    let received: Shared = Arc::new(Mutex::new(Recorder::new()));
    let mut tasks = Vec::new();
    for (p, (tx, rx)) in sockets.into_iter().enumerate() {
        let (conv, acks, received) = (conversations[p], acks.clone(), received.clone());
        // Pairs start spread over one gap, not all on the same tick.
        let offset = gap.mul_f64(p as f64 / pairs as f64);
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = (tx, rx);
            let reader = tokio::spawn(async move {
                receive(&mut rx, ("", per_pair), start, patience, received).await
            });
            send(&mut tx, (conv, ""), (per_pair, start), (offset, gap), acks).await;
            reader.await.unwrap_or(0)
        }));
    }
    let mut delivered = 0;
    for t in tasks {
        delivered += t.await?;
    }
    let elapsed = start.elapsed();
    let peak_rss_kib = server.rss_kib().1;
    let mut notes = Vec::new();
    if let Ok(res) = client()
        .get(format!("{}/metrics", server.address))
        .send()
        .await
    {
        let text = res.text().await.unwrap_or_default();
        for line in text
            .lines()
            .filter(|l| l.starts_with("bazaar_ws_closed_total"))
        {
            notes.push(format!("server: {line}"));
        }
    }
    drop(server);
    let (mut acks, mut received) = (take(acks), take(received));
    for r in [&mut acks, &mut received] {
        r.finish();
    }
    Ok(Measured {
        acks: figures_over(&acks, "send -> ack", "m/s", elapsed),
        received: figures_over(&received, "send -> other party's socket", "m/s", elapsed),
        delivered,
        expected: per_pair * pairs,
        duplicates: received.outcomes.get("duplicate").copied().unwrap_or(0),
        peak_rss_kib,
        notes,
    })
}

/// A seeded user: id and token.
type User = (i64, String);

/// Seeds `2 * pairs` users and a conversation per pair: pair `p` is users `2p` (the buyer,
/// who sends) and `2p + 1` (the seller of a listing of their own, who receives).
pub(super) fn pairs_chatting(
    conn: &mut store::PooledConn,
    pairs: usize,
) -> anyhow::Result<(Vec<User>, Vec<i64>)> {
    let users = seed_users(conn, "u", pairs * 2, 0)?;
    let mut conversations = Vec::new();
    for p in 0..pairs {
        let (buyer, other) = (&users[2 * p], &users[2 * p + 1]);
        let l = listing(conn, other.0, "Chatty", 100, 1, "other")?;
        let (conv, _) = chat::open(conn, l, buyer.0, other.0, store::now())?;
        conversations.push(conv.id);
    }
    Ok((users, conversations))
}

/// Sends `count` messages on `tx` to `conversation`, one per `gap` from `offset` on, each
/// carrying its send time (µs since `start`) and a client id starting with `tag`, and records
/// each answer in `acks`: an ack with its latency, an error by its code. Returns once every
/// message is answered, or the socket fails.
pub(super) async fn send(
    tx: &mut Socket,
    (conversation, tag): (i64, &str),
    (count, start): (usize, Instant),
    (offset, gap): (Duration, Duration),
    acks: Shared,
) {
    let mut pending = HashMap::new();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, gap);
    let mut sent = 0;
    while sent < count || !pending.is_empty() {
        tokio::select! {
            _ = ticker.tick(), if sent < count => {
                let at = start.elapsed().as_micros() as u64;
                let frame = json!({"op": "chat.send", "conversation_id": conversation, "client_msg_id": format!("{tag}m{sent}"), "body": format!("t:{at}"), "ref": sent});
                pending.insert(sent as u64, Instant::now());
                if tx.send(Message::Text(frame.to_string())).await.is_err() { break; }
                sent += 1;
            }
            msg = tx.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["type"] == "ack" {
                        if let Some(at) = v["ref"].as_u64().and_then(|r| pending.remove(&r)) {
                            if let Ok(mut a) = acks.lock() { a.record("ack", at.elapsed()); }
                        }
                    } else if v["type"] == "error" {
                        if let Ok(mut a) = acks.lock() { a.record(v["code"].as_str().unwrap_or("error"), Duration::ZERO); }
                        if let Some(r) = v["ref"].as_u64() { pending.remove(&r); }
                    }
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    }
}

/// Reads chat messages on `rx` until `count` distinct ones whose client id starts with `tag`
/// have come (others are skipped) or `patience` is up, recording each in `received` with its
/// latency from the send time it carries (a second copy as a duplicate). Returns how many
/// distinct messages came.
pub(super) async fn receive(
    rx: &mut Socket,
    (tag, count): (&str, usize),
    start: Instant,
    patience: Duration,
    received: Shared,
) -> usize {
    let mut seen = HashSet::new();
    let deadline = tokio::time::Instant::now() + patience;
    while seen.len() < count {
        match tokio::time::timeout_at(deadline, rx.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap_or_default();
                if v["event"] == "chat.message" {
                    let message = &v["data"]["message"];
                    let body = message["body"].as_str().unwrap_or_default();
                    let sent: u64 = body
                        .split(':')
                        .nth(1)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let latency = start.elapsed().saturating_sub(Duration::from_micros(sent));
                    let id = message["client_msg_id"].as_str().unwrap_or_default();
                    if !id.starts_with(tag) {
                        continue;
                    }
                    let fresh = seen.insert(id.to_owned());
                    if let Ok(mut r) = received.lock() {
                        r.record(if fresh { "received" } else { "duplicate" }, latency);
                    }
                }
            }
            Ok(Some(Ok(_))) => continue,
            _ => break,
        }
    }
    seen.len()
}

/// The recorder the tasks shared, once they are done (empty if one still holds it).
pub(super) fn take(shared: Shared) -> Recorder {
    Arc::try_unwrap(shared)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .unwrap_or_else(Recorder::new)
}
