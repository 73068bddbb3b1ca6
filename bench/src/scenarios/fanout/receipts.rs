//! The reading side of `fanout`: every socket's receipts of the drops, each drop's latency from
//! its send time, the notes on how each drop and the CPU fared, and, for every socket that
//! missed a drop, which drops it missed and how its reading ended.

use super::START_PRICE_CENTS;
use crate::harness::Recorder;
use crate::scenarios::sockets::Socket;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How long the sockets are read for at the most.
const RECEIPTS_TIMEOUT: Duration = Duration::from_secs(60);

/// How many kinds of miss the note on missing deliveries lists (the most frequent first).
const MISS_KINDS_SHOWN: usize = 6;

/// What a frame is to the reader.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// Drop `i` (from 1).
    Drop(usize),
    /// A frame worth telling about if the socket misses a drop (an error, a `subscribed`).
    Other(String),
    /// Anything else (the user topic's frames, other events).
    Ignored,
}

/// How one socket's reading ended.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    /// Every drop arrived.
    AllIn,
    /// `RECEIPTS_TIMEOUT` passed first.
    TimedOut,
    /// The server closed it, with this code and reason.
    Closed(String),
    /// The connection ended or failed without a close frame.
    Broken(String),
}

/// What one socket read.
#[derive(Debug)]
pub struct SocketLog {
    /// Drops in the order they arrived, and when.
    got: Vec<(usize, Instant)>,
    /// The frames `Seen::Other` described, in order.
    others: Vec<String>,
    end: End,
}

impl SocketLog {
    /// The drops of `1..=expect` it never got.
    fn missed(&self, expect: usize) -> Vec<usize> {
        (1..=expect)
            .filter(|i| !self.got.iter().any(|(g, _)| g == i))
            .collect()
    }

    /// It got a drop twice, or one after a later one (per-topic order broken).
    fn out_of_order(&self) -> bool {
        self.got.windows(2).any(|w| w[1].0 <= w[0].0)
    }
}

/// Deliveries that did not arrive, or not in order.
#[derive(Debug, Default)]
pub struct Missing {
    /// Deliveries missing over all sockets.
    pub count: u64,
    /// Sockets that got a drop twice or out of order.
    pub out_of_order: usize,
    /// One line per kind of miss: how many sockets, which drops, how the socket ended, what
    /// else it read, and the first few sockets (by the order they were opened).
    pub kinds: Vec<String>,
}

async fn read_socket(
    mut s: Socket,
    expect: usize,
    pick: Pick,
    timeout: Duration,
) -> (SocketLog, Socket) {
    let mut log = SocketLog {
        got: Vec::with_capacity(expect),
        others: Vec::new(),
        end: End::TimedOut,
    };
    // One deadline for the whole socket, not a timer per frame: the reader should cost as
    // little as it can, so the figures are the server's.
    let read = tokio::time::timeout(timeout, async {
        while log.got.len() < expect {
            match s.next().await {
                Some(Ok(Message::Text(text))) => match pick(&text) {
                    Seen::Drop(i) => log.got.push((i, Instant::now())),
                    Seen::Other(what) => log.others.push(what),
                    Seen::Ignored => {}
                },
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map_or("no code".to_owned(), |f| {
                        format!("{} {:?}", u16::from(f.code), f.reason.to_string())
                    });
                    return End::Closed(why);
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return End::Broken(e.to_string()),
                None => return End::Broken("stream ended".into()),
            }
        }
        End::AllIn
    })
    .await;
    log.end = read.unwrap_or(End::TimedOut);
    (log, s)
}

/// Latency of `drops` frames to every socket: each frame's send time is known by its index.
/// Returns all deliveries, each drop's own (index 1 is the first drop), what is missing, and
/// the sockets, left open: sockets closing while others still wait for the last drop would
/// slow that drop's delivery (measured: it doubled its p99).
async fn collect_receipts(
    sockets: Vec<Socket>,
    expect: usize,
    pick: Pick,
    sent_at: SentAt,
    timeout: Duration,
) -> Receipts {
    let tasks = sockets
        .into_iter()
        .map(|s| tokio::spawn(read_socket(s, expect, pick, timeout)));
    let mut rec = Recorder::new();
    let mut per_drop: Vec<Recorder> = (0..=expect).map(|_| Recorder::new()).collect();
    let received = futures::future::join_all(tasks).await;
    let sent_at = sent_at.lock().map(|m| m.clone()).unwrap_or_default();
    let mut done = Vec::with_capacity(received.len());
    let mut logs = Vec::with_capacity(received.len());
    for task in received {
        let Ok((log, socket)) = task else {
            logs.push(None);
            continue;
        };
        done.push(socket);
        for (i, at) in &log.got {
            let latency = at.saturating_duration_since(sent_at.get(i).copied().unwrap_or(*at));
            rec.record("delivered", latency);
            if let Some(r) = per_drop.get_mut(*i) {
                r.record("delivered", latency);
            }
        }
        logs.push(Some(log));
    }
    (rec, per_drop, missing(&logs, expect), done)
}

/// What the sockets missed, grouped by kind (which drops, how the socket ended, what else it
/// read). `None` is a reader task that failed.
fn missing(logs: &[Option<SocketLog>], expect: usize) -> Missing {
    let mut out = Missing::default();
    let mut kinds: BTreeMap<(Vec<usize>, End, Vec<String>), Vec<usize>> = BTreeMap::new();
    for (n, log) in logs.iter().enumerate() {
        let Some(log) = log else {
            out.count += expect as u64;
            kinds
                .entry((
                    (1..=expect).collect(),
                    End::Broken("reader failed".into()),
                    vec![],
                ))
                .or_default()
                .push(n);
            continue;
        };
        out.out_of_order += usize::from(log.out_of_order());
        let missed = log.missed(expect);
        if missed.is_empty() {
            continue;
        }
        out.count += missed.len() as u64;
        kinds
            .entry((missed, log.end.clone(), log.others.clone()))
            .or_default()
            .push(n);
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by_key(|(_, sockets)| std::cmp::Reverse(sockets.len()));
    let shown = kinds.len().min(MISS_KINDS_SHOWN);
    out.kinds = kinds
        .iter()
        .take(shown)
        .map(|((missed, end, others), sockets)| {
            let first: Vec<String> = sockets.iter().take(5).map(|n| format!("#{n}")).collect();
            format!(
                "{} socket(s) missed drops {missed:?}; reading ended {end:?}; other frames {others:?}; e.g. {}",
                sockets.len(),
                first.join(" ")
            )
        })
        .collect();
    if kinds.len() > shown {
        out.kinds
            .push(format!("and {} more kinds", kinds.len() - shown));
    }
    out
}

/// What a frame is to the reader.
pub type Pick = fn(&str) -> Seen;

/// When each drop was sent, by its index.
pub type SentAt = Arc<std::sync::Mutex<HashMap<usize, Instant>>>;

/// All deliveries, each drop's own, what is missing, and the sockets (still open).
pub type Receipts = (Recorder, Vec<Recorder>, Missing, Vec<Socket>);

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

/// A Bazaar frame: a price drop gives its index; `subscribed` and `error` are told about.
/// Drops are read without building a JSON tree (the reader parses 10,000 frames per drop on
/// the same cores as the server).
pub fn drop_index(text: &str) -> Seen {
    #[derive(serde::Deserialize)]
    struct Frame<'a> {
        #[serde(borrow, rename = "type")]
        kind: std::borrow::Cow<'a, str>,
        #[serde(borrow, default)]
        event: Option<std::borrow::Cow<'a, str>>,
        #[serde(default)]
        data: Option<Price>,
        #[serde(borrow, default)]
        topic: Option<std::borrow::Cow<'a, str>>,
        #[serde(default)]
        seq: Option<i64>,
        #[serde(borrow, default)]
        code: Option<std::borrow::Cow<'a, str>>,
    }
    #[derive(serde::Deserialize)]
    struct Price {
        #[serde(default)]
        new_price_cents: Option<i64>,
    }
    let Ok(f) = serde_json::from_str::<Frame<'_>>(text) else {
        return Seen::Other(format!("unreadable frame of {} bytes", text.len()));
    };
    match (&*f.kind, f.event.as_deref()) {
        ("event", Some("listing.price_dropped")) => f
            .data
            .and_then(|d| d.new_price_cents)
            .map_or(Seen::Ignored, |p| {
                Seen::Drop((START_PRICE_CENTS - p) as usize)
            }),
        ("subscribed", _)
            if f.topic
                .as_deref()
                .is_some_and(|t| t.starts_with("listing:")) =>
        {
            Seen::Other(format!("subscribed at seq {:?}", f.seq))
        }
        ("error", _) => Seen::Other(format!("error {:?}", f.code.as_deref().unwrap_or("?"))),
        _ => Seen::Ignored,
    }
}

/// The index a baseline server's price-drop frame carries (it has no price to go by); its
/// `listing.updated` frames are ignored, as Bazaar's are.
pub fn broadcast_index(text: &str) -> Seen {
    #[derive(serde::Deserialize)]
    struct Frame<'a> {
        #[serde(borrow)]
        event: std::borrow::Cow<'a, str>,
        data: Index,
    }
    #[derive(serde::Deserialize)]
    struct Index {
        #[serde(default)]
        index: Option<usize>,
    }
    match serde_json::from_str::<Frame<'_>>(text) {
        Ok(f) if f.event == "listing.price_dropped" => {
            f.data.index.map_or(Seen::Ignored, Seen::Drop)
        }
        Ok(_) => Seen::Ignored,
        Err(_) => Seen::Other(format!("unreadable frame of {} bytes", text.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(got: &[usize], end: End, others: &[&str]) -> Option<SocketLog> {
        let now = Instant::now();
        Some(SocketLog {
            got: got.iter().map(|i| (*i, now)).collect(),
            others: others.iter().map(|s| s.to_string()).collect(),
            end,
        })
    }

    #[test]
    fn misses_are_grouped_by_kind_and_counted() {
        let logs = vec![
            log(&[1, 2, 3], End::AllIn, &[]),
            log(&[2, 3], End::TimedOut, &["subscribed at seq Some(1)"]),
            log(&[2, 3], End::TimedOut, &["subscribed at seq Some(1)"]),
            log(&[1], End::Closed("1008 \"backlog\"".into()), &[]),
            log(&[1, 3, 2], End::AllIn, &[]),
            None,
        ];
        let m = missing(&logs, 3);
        assert_eq!(m.count, 1 + 1 + 2 + 3);
        assert_eq!(m.out_of_order, 1);
        assert!(
            m.kinds[0].starts_with("2 socket(s) missed drops [1]"),
            "{:?}",
            m.kinds
        );
        assert!(m.kinds[0].contains("#1 #2"));
        assert_eq!(m.kinds.len(), 3);
    }

    #[test]
    fn bazaar_frames_are_told_apart() {
        let drop = r#"{"type":"event","topic":"listing:1","seq":3,"event":"listing.price_dropped","at":"x","data":{"new_price_cents":999998}}"#;
        assert_eq!(drop_index(drop), Seen::Drop(2));
        let sub = r#"{"type":"subscribed","topic":"listing:1","seq":4}"#;
        assert_eq!(
            drop_index(sub),
            Seen::Other("subscribed at seq Some(4)".into())
        );
        let user = r#"{"type":"subscribed","topic":"user:2","seq":null}"#;
        assert_eq!(drop_index(user), Seen::Ignored);
        let err = r#"{"type":"error","code":"unavailable","message":"m"}"#;
        assert_eq!(drop_index(err), Seen::Other("error \"unavailable\"".into()));
    }
}
