//! `fanout`: sockets subscribed to one listing while its price drops, the drops fanned out by
//! Bazaar, then the same frames through a tungstenite broadcast server and through a floor
//! (one write per socket, nothing else). Targets: Bazaar's p99 and its share of the broadcast
//! server's deliveries/s.

mod receipts;

use super::sockets::{close_all, open_many, open_socket, Socket, WS_PATH};
use super::{bazaar_with, client, figures_over, listing, raise_fd_limit, Common};
use crate::harness::{own_cpu_time, seed_users, Callgrind, Check, Figures, Report, ServerProc};
use futures::{SinkExt, StreamExt};
use receipts::{
    broadcast_index, cpu_note, drop_index, per_drop_note, start_receipts, Pick, SentAt,
};
use reqwest::Client;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The load the targets are stated for (the CLI defaults).
pub const FANOUT_SOCKETS: usize = 10_000;
pub const FANOUT_DROPS: usize = 10;

/// Target: the 99th percentile of Bazaar's deliveries, from the PATCH's answer to the socket.
pub const FANOUT_P99_TARGET_MS: u32 = 50;

/// Target: Bazaar delivers at least this share of the broadcast server's deliveries/s.
pub const FANOUT_SHARE_OF_BROADCAST_TARGET_PERCENT: u32 = 50;

/// The gap between two drops, the same in every run.
const DROP_GAP_MS: u64 = 200;

/// How long the subscribers are left to settle before the first drop (Bazaar's, which also
/// subscribe to the listing first, 1 ms more per 10 sockets).
const SETTLE_MS: u64 = 500;

/// The listing's price before the first drop; drop `i` sets it to this less `i` cents, so a
/// frame's price tells which drop it is.
const START_PRICE_CENTS: i64 = 1_000_000;

/// `blind_settle`: the old way of starting, kept for comparison: subscribe every socket and
/// sleep a fixed time instead of waiting for each socket's `subscribed`.
pub async fn run(
    c: &Common,
    sockets: usize,
    drops: usize,
    blind_settle: bool,
) -> anyhow::Result<Report> {
    let mut report = Report::new("fanout", &c.database);
    raise_fd_limit(&mut report);
    let db = c.bazaar_db()?;
    let mut conn = db.connect()?;
    let users = seed_users(&mut conn, "u", 2, 0)?;
    let id = listing(&mut conn, users[0].0, "Hot", START_PRICE_CENTS, 1, "other")?;
    // The load generator reads a socket only while it waits for something on it, so it
    // answers the server's pings late while it opens and subscribes thousands of sockets
    // (longer still under callgrind): the heartbeat must not close them meanwhile.
    let server = bazaar_with(c, &db, &["--ws-timeout-secs", "600"])?;
    let subs = open_many(&server.address, WS_PATH, Some(&users[1].1), sockets).await?;
    let topic = format!("listing:{id}");
    let subs2 = if blind_settle {
        // The old way, kept to show what it did: subscribe, then sleep and hope. A socket whose
        // subscription lands after a drop starts past it (its `subscribed` seq says so).
        let mut subs2 = Vec::with_capacity(subs.len());
        for mut s in subs {
            s.send(Message::Text(
                json!({"op": "subscribe", "topic": topic}).to_string(),
            ))
            .await?;
            subs2.push(s);
        }
        tokio::time::sleep(Duration::from_millis(SETTLE_MS + sockets as u64 / 10)).await;
        report
            .notes
            .push("--blind-settle: the drops began without waiting for every `subscribed`".into());
        subs2
    } else {
        let (subs2, refused) = subscribe_all(subs, &topic).await;
        report.checks.push(Check::new(
            "bazaar: every socket subscribed before the first drop",
            refused.is_empty(),
            refused.first().map_or_else(
                || "yes".into(),
                |first| format!("{} not, e.g. {first}", refused.len()),
            ),
        ));
        tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
        subs2
    };
    let counters_before = ws_counters(&server.address).await;
    report.notes.push(format!(
        "drops are {DROP_GAP_MS} ms apart in every run; deliveries/s is deliveries over the run"
    ));
    let mut publisher = Publisher::Patch {
        http: client(),
        url: format!("{}/api/v1/listings/{id}", server.address),
        token: users[0].1.clone(),
    };
    // A socket that was not subscribed misses every drop.
    let unsubscribed = (sockets - subs2.len()) as u64 * drops as u64;
    let (row, missing) = measure(
        &mut report,
        &server,
        "bazaar: PATCH response -> socket",
        (subs2, drops, drop_index),
        &mut publisher,
    )
    .await?;
    let missing = missing + unsubscribed;
    report.server_peak_rss_kib = server.rss_kib().1;
    // Bazaar writes two frames per drop (`listing.updated` with the listing, then
    // `listing.price_dropped`): the baselines send the same two, the first carrying the
    // listing as Bazaar serves it, so they write as many bytes.
    let snapshot: serde_json::Value = client()
        .get(format!("{}/api/v1/listings/{id}", server.address))
        .send()
        .await?
        .json()
        .await?;
    report.notes.push(format!(
        "bazaar: socket counters before the drops: {counters_before}"
    ));
    report.checks.push(Check::new(
        "bazaar: none missing",
        missing == 0,
        format!("{missing} missing of {}", sockets * drops),
    ));
    drop(server);

    let brow = fanout_without_bazaar(
        &mut report,
        "serve-broadcast",
        "/",
        "baseline: tungstenite broadcast",
        (sockets, drops, id, &snapshot),
    )
    .await?;
    fanout_without_bazaar(
        &mut report,
        "serve-floor",
        "/publish",
        "floor: one write per socket",
        (sockets, drops, id, &snapshot),
    )
    .await?;
    report.checks.push(Check::new(
        format!("target: p99 <= {FANOUT_P99_TARGET_MS} ms"),
        row.p99_ms <= f64::from(FANOUT_P99_TARGET_MS),
        format!("{:.1} ms", row.p99_ms),
    ));
    let ratio = row.throughput / brow.throughput.max(1e-9);
    report.checks.push(Check::new(
        format!(
            "target: >= {FANOUT_SHARE_OF_BROADCAST_TARGET_PERCENT}% of the broadcast server's deliveries/s"
        ),
        ratio >= f64::from(FANOUT_SHARE_OF_BROADCAST_TARGET_PERCENT) / 100.0,
        format!("{:.0}%", ratio * 100.0),
    ));
    Ok(report)
}

/// The same fan-out through a server that is not Bazaar (`mode`): `sockets` subscribers, and
/// `drops` frames of the same shape sent by a publisher socket opened at `publisher_path`.
async fn fanout_without_bazaar(
    report: &mut Report,
    mode: &str,
    publisher_path: &str,
    name: &str,
    (sockets, drops, id, snapshot): (usize, usize, i64, &serde_json::Value),
) -> anyhow::Result<Figures> {
    let server = ServerProc::start(mode, &[])?;
    let subs = open_many(&server.address, "/", None, sockets).await?;
    let socket = open_socket(&server.address, publisher_path, None).await?;
    tokio::time::sleep(Duration::from_millis(SETTLE_MS)).await;
    let mut publisher = Publisher::Socket {
        socket: Box::new(socket),
        listing: id,
        snapshot: snapshot.clone(),
    };
    let (row, missing) = measure(
        report,
        &server,
        name,
        (subs, drops, broadcast_index),
        &mut publisher,
    )
    .await?;
    report.checks.push(Check::new(
        format!("{}: none missing", who(name)),
        missing == 0,
        format!("{missing} missing"),
    ));
    Ok(row)
}

/// How long a socket's subscription may take to be answered.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Subscribes every socket to `topic` and waits for each one's `subscribed`; returns the
/// sockets that were subscribed and a line for each that was not (refused, closed, timed out).
async fn subscribe_all(sockets: Vec<Socket>, topic: &str) -> (Vec<Socket>, Vec<String>) {
    let tasks = sockets.into_iter().enumerate().map(|(n, mut s)| {
        let subscribe = json!({"op": "subscribe", "topic": topic}).to_string();
        let topic = topic.to_owned();
        tokio::spawn(async move {
            let answer = tokio::time::timeout(SUBSCRIBE_TIMEOUT, async {
                s.send(Message::Text(subscribe)).await?;
                while let Some(frame) = s.next().await {
                    let Message::Text(text) = frame? else {
                        continue;
                    };
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    match v["type"].as_str() {
                        Some("subscribed") if v["topic"] == topic.as_str() => return Ok(()),
                        Some("error") => anyhow::bail!("refused: {text}"),
                        _ => {}
                    }
                }
                anyhow::bail!("closed before its answer")
            })
            .await;
            match answer {
                Ok(Ok(())) => Ok(s),
                Ok(Err(e)) => Err(format!("socket #{n}: {e}")),
                Err(_) => Err(format!("socket #{n}: no answer in {SUBSCRIBE_TIMEOUT:?}")),
            }
        })
    });
    let (mut subscribed, mut refused) = (Vec::new(), Vec::new());
    for task in futures::future::join_all(tasks).await {
        match task {
            Ok(Ok(s)) => subscribed.push(s),
            Ok(Err(why)) => refused.push(why),
            Err(e) => refused.push(format!("subscriber task failed: {e}")),
        }
    }
    (subscribed, refused)
}

/// The server's socket counters from its `/metrics`: sessions, sessions ended by reason,
/// connections dropped for not taking their close frame.
async fn ws_counters(address: &str) -> String {
    let body = match client().get(format!("{address}/metrics")).send().await {
        Ok(res) => res.text().await.unwrap_or_default(),
        Err(e) => return format!("/metrics unreadable: {e}"),
    };
    let lines: Vec<&str> = body
        .lines()
        .filter(|l| {
            [
                "bazaar_ws_sessions ",
                "bazaar_ws_closed_total{",
                "bazaar_ws_dropped_total ",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(|l| l.trim_start_matches("bazaar_"))
        .collect();
    lines.join(", ")
}

/// Who a row is about: its name up to the colon.
fn who(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// One measured fan-out: `drops` frames from `publisher`, `DROP_GAP_MS` apart, read on every
/// socket of `subs` (`pick` tells a frame's drop). Pushes the row and the notes on each drop
/// and on CPU time; returns the row and how many deliveries are missing. The sockets are
/// closed only once every drop is in, then the figures are taken.
async fn measure(
    report: &mut Report,
    server: &ServerProc,
    name: &str,
    (subs, drops, pick): (Vec<Socket>, usize, Pick),
    publisher: &mut Publisher,
) -> anyhow::Result<(Figures, u64)> {
    let (receipts, sent_at) = start_receipts(subs, drops, pick);
    let started = Instant::now();
    Callgrind::zero(server);
    let cpu_before = (server.cpu_time(), own_cpu_time());
    for i in 1..=drops {
        publisher.publish(i, &sent_at).await?;
        tokio::time::sleep(Duration::from_millis(DROP_GAP_MS)).await;
    }
    let (mut rec, per_drop, missing, open) = receipts.await?;
    Callgrind::dump(server);
    if who(name) == "bazaar" {
        // Before the sockets close: a session cut off or timed out shows here.
        report.notes.push(format!(
            "bazaar: socket counters once every socket's reading ended: {}",
            ws_counters(&server.address).await
        ));
    }
    if missing.out_of_order > 0 {
        report.notes.push(format!(
            "{}: {} socket(s) got a drop twice or out of order",
            who(name),
            missing.out_of_order
        ));
    }
    for kind in &missing.kinds {
        report.notes.push(format!("{}: {kind}", who(name)));
    }
    let missing = missing.count;
    rec.finish();
    let elapsed = started.elapsed();
    let cpu = cpu_note(
        who(name),
        rec.count(),
        server.cpu_time() - cpu_before.0,
        own_cpu_time() - cpu_before.1,
    );
    close_all(open).await;
    let row = figures_over(&rec, name, "d/s", elapsed);
    report.rows.push(row.clone());
    report.notes.push(per_drop_note(who(name), &per_drop));
    report.notes.push(cpu);
    Ok((row, missing))
}

/// Who sends the drops, and so what a drop's send time is.
enum Publisher {
    /// Bazaar: the seller lowers the price; a drop is sent when the PATCH is answered.
    Patch {
        http: Client,
        url: String,
        token: String,
    },
    /// A baseline server: a publisher socket sends the frames.
    /// Each drop is two frames, as Bazaar's: `listing.updated` with `snapshot`, then the
    /// price drop.
    Socket {
        socket: Box<Socket>,
        listing: i64,
        snapshot: serde_json::Value,
    },
}

impl Publisher {
    /// Sends drop `i` (from 1) and records its send time in `sent_at`.
    async fn publish(&mut self, i: usize, sent_at: &SentAt) -> anyhow::Result<()> {
        let mark_sent = || {
            if let Ok(mut m) = sent_at.lock() {
                m.insert(i, Instant::now());
            }
        };
        match self {
            Publisher::Patch { http, url, token } => {
                let res = http
                    .patch(url.as_str())
                    .bearer_auth(&token)
                    .json(&json!({"price_cents": START_PRICE_CENTS - i as i64}))
                    .send()
                    .await?;
                mark_sent();
                anyhow::ensure!(res.status().is_success(), "PATCH failed: {}", res.status());
            }
            Publisher::Socket {
                socket,
                listing,
                snapshot,
            } => {
                let updated = json!({"type": "event", "topic": format!("listing:{listing}"), "seq": 2 * i - 1, "event": "listing.updated",
                    "at": chrono::Utc::now(), "data": {"listing": snapshot}});
                // Sent when the first of the two goes out, as Bazaar's when both committed.
                mark_sent();
                socket.send(Message::Text(updated.to_string())).await?;
                let frame = json!({"type": "event", "topic": format!("listing:{listing}"), "seq": 2 * i, "event": "listing.price_dropped",
                    "at": chrono::Utc::now(), "data": {"index": i, "listing_id": listing, "old_price_cents": START_PRICE_CENTS, "new_price_cents": START_PRICE_CENTS - 1, "currency": "EUR", "version": i}});
                socket.send(Message::Text(frame.to_string())).await?;
            }
        }
        Ok(())
    }
}
