//! `Broker`: routes committed events to the live subscribers of their topics. Each event is
//! serialised once into a wire frame and the same bytes go to every subscriber. Events reach
//! it only after their transaction committed (persist before publish).

use crate::domain::ConnectionId;
use crate::store::models::Event;
use actix::prelude::*;
use bytestring::ByteString;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// The size of a server frame on the wire: payload plus header (servers do not mask).
pub fn wire_bytes(payload: usize) -> u64 {
    let header = match payload {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    };
    (payload + header) as u64
}

/// What a connection has been handed but not yet taken off the wire. Producers admit bytes
/// before they enqueue a frame, so a client that does not read stops costing memory at
/// `limit`: past it the subscriber is marked overflowed and gets nothing more.
///
/// It is counted at the producers because a WebSocket session that its connection does not
/// poll does not run either: its mailbox would grow without bound.
pub struct Backlog {
    queued: AtomicU64,
    taken: AtomicU64,
    limit: u64,
    overflowed: AtomicBool,
    /// The least `taken` a waiter in `taken_reaches` waits for (`u64::MAX`: none waits).
    wake_at: AtomicU64,
    progress: Notify,
    /// Called once, on the admit that passes the limit.
    on_overflow: Option<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Backlog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backlog")
            .field("queued", &self.queued)
            .field("taken", &self.taken)
            .field("limit", &self.limit)
            .field("overflowed", &self.overflowed)
            .finish_non_exhaustive()
    }
}

impl Backlog {
    pub fn new(limit: u64) -> Arc<Backlog> {
        Arc::new(Backlog::build(limit, None))
    }

    /// A backlog that calls `on_overflow` once, from whichever thread passes the limit (so it
    /// must be quick: it may run on the broker's).
    pub fn watched(limit: u64, on_overflow: impl Fn() + Send + Sync + 'static) -> Arc<Backlog> {
        Arc::new(Backlog::build(limit, Some(Box::new(on_overflow))))
    }

    fn build(limit: u64, on_overflow: Option<Box<dyn Fn() + Send + Sync>>) -> Backlog {
        Backlog {
            queued: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            limit,
            overflowed: AtomicBool::new(false),
            wake_at: AtomicU64::new(u64::MAX),
            progress: Notify::new(),
            on_overflow,
        }
    }

    /// No limit (for actors that only forward).
    pub fn unbounded() -> Arc<Backlog> {
        Backlog::new(u64::MAX)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Admits a frame of `payload` bytes, or marks the subscriber overflowed.
    pub fn admit(&self, payload: usize) -> bool {
        if self.overflowed() {
            return false;
        }
        let queued = self
            .queued
            .fetch_add(wire_bytes(payload), Ordering::Relaxed)
            + wire_bytes(payload);
        if queued.saturating_sub(self.taken.load(Ordering::Relaxed)) > self.limit {
            if !self.overflowed.swap(true, Ordering::Relaxed) {
                if let Some(hook) = &self.on_overflow {
                    hook();
                }
                // A waiter gives up: nothing more will be taken from this subscriber.
                self.progress.notify_waiters();
            }
            return false;
        }
        true
    }

    /// An admitted frame of `payload` bytes was dropped before it was written (a repeat, or a
    /// held event the table supplied): it no longer counts.
    pub fn forget(&self, payload: usize) {
        self.queued
            .fetch_sub(wire_bytes(payload), Ordering::Relaxed);
    }

    /// The connection took `bytes` off the session's buffer.
    pub fn took(&self, bytes: usize) {
        let taken = self.taken.fetch_add(bytes as u64, Ordering::SeqCst) + bytes as u64;
        if taken >= self.wake_at.load(Ordering::SeqCst) {
            self.wake_at.store(u64::MAX, Ordering::SeqCst);
            self.progress.notify_waiters();
        }
    }

    /// Bytes the connection has taken so far.
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::SeqCst)
    }

    /// Waits until the connection has taken `target` bytes in all (or the backlog overflowed).
    /// Several waiters may wait at once, each for its own target.
    pub async fn taken_reaches(&self, target: u64) {
        loop {
            // Created before the target is published, so a `took` in between still wakes it.
            let woken = self.progress.notified();
            self.wake_at.fetch_min(target, Ordering::SeqCst);
            if self.taken() >= target || self.overflowed() {
                return;
            }
            woken.await;
        }
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }
}

/// A frame for a subscriber: a stored event (with its seq) or an ephemeral one (none).
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct Deliver {
    pub topic: Arc<str>,
    pub seq: Option<i64>,
    pub frame: ByteString,
}

/// Where a subscriber's frames go, and its backlog.
#[derive(Clone, Debug)]
pub struct Subscriber {
    pub recipient: Recipient<Deliver>,
    pub backlog: Arc<Backlog>,
}

impl Subscriber {
    /// Enqueues the frame if the subscriber's backlog admits it.
    pub fn deliver(&self, msg: Deliver) {
        if self.backlog.admit(msg.frame.len()) {
            self.recipient.do_send(msg);
        }
    }
}

/// Who subscribes: an id unique in this process and where to deliver.
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub topic: String,
    pub id: ConnectionId,
    pub subscriber: Subscriber,
}

#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub topic: String,
    pub subscriber: ConnectionId,
}

/// Drops every subscription of a subscriber (a session that ended).
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct UnsubscribeAll {
    pub subscriber: ConnectionId,
}

/// Committed events, in commit order.
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct Publish {
    pub events: Vec<Event>,
}

/// An event that is never stored (typing indicators): delivered as is, without a seq.
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct PublishEphemeral {
    pub topic: String,
    pub event_type: String,
    pub data: serde_json::Value,
}

#[derive(Serialize)]
struct EventFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    topic: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<i64>,
    event: &'a str,
    at: chrono::DateTime<chrono::Utc>,
    data: &'a RawValue,
}

/// The wire frame of a stored event:
/// `{"type":"event","topic":…,"seq":…,"event":…,"at":…,"data":{…}}`.
pub fn event_frame(event: &Event) -> ByteString {
    frame(
        &event.topic,
        Some(event.seq),
        &event.event_type,
        event.created_at.and_utc(),
        &event.data,
    )
}

fn frame(
    topic: &str,
    seq: Option<i64>,
    event_type: &str,
    at: chrono::DateTime<chrono::Utc>,
    data: &str,
) -> ByteString {
    let parsed = serde_json::from_str::<Box<RawValue>>(data).ok();
    let data = parsed.as_deref().unwrap_or(RawValue::NULL);
    let text = serde_json::to_string(&EventFrame {
        kind: "event",
        topic,
        seq,
        event: event_type,
        at,
        data,
    })
    .unwrap_or_default();
    ByteString::from(text)
}

#[derive(Default)]
pub struct Broker {
    topics: HashMap<Arc<str>, HashMap<ConnectionId, Subscriber>>,
    subscriptions: HashMap<ConnectionId, HashSet<Arc<str>>>,
    /// The highest seq published per subscribed topic (for the cross-process relay).
    published: HashMap<Arc<str>, i64>,
}

/// The subscribed topics and the highest seq published on each (None: not known yet).
#[derive(Debug, Message)]
#[rtype(result = "Vec<(String, Option<i64>)>")]
pub struct Heads;

/// Where a topic stood when a subscriber read it from the table: the relay publishes what
/// comes after. A topic that already has a mark keeps it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Baseline {
    pub topic: String,
    pub seq: i64,
}

impl Handler<Heads> for Broker {
    type Result = MessageResult<Heads>;

    fn handle(&mut self, _msg: Heads, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(
            self.topics
                .keys()
                .map(|t| (t.to_string(), self.published.get(t).copied()))
                .collect(),
        )
    }
}

impl Handler<Baseline> for Broker {
    type Result = ();

    fn handle(&mut self, msg: Baseline, _ctx: &mut Self::Context) {
        if let Some((topic, _)) = self.topics.get_key_value(msg.topic.as_str()) {
            self.published.entry(topic.clone()).or_insert(msg.seq);
        }
    }
}

impl Broker {
    fn deliver(&self, topic: &str, seq: Option<i64>, frame: ByteString) {
        let Some((topic, subscribers)) = self.topics.get_key_value(topic) else {
            return;
        };
        for subscriber in subscribers.values() {
            subscriber.deliver(Deliver {
                topic: topic.clone(),
                seq,
                frame: frame.clone(),
            });
        }
    }
}

impl Actor for Broker {
    type Context = Context<Self>;
}

impl Handler<Subscribe> for Broker {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _ctx: &mut Self::Context) {
        let topic: Arc<str> = self
            .topics
            .get_key_value(msg.topic.as_str())
            .map_or_else(|| Arc::from(msg.topic.as_str()), |(k, _)| k.clone());
        self.topics
            .entry(topic.clone())
            .or_default()
            .insert(msg.id, msg.subscriber);
        self.subscriptions.entry(msg.id).or_default().insert(topic);
    }
}

impl Handler<Unsubscribe> for Broker {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _ctx: &mut Self::Context) {
        if let Some(subscribers) = self.topics.get_mut(msg.topic.as_str()) {
            subscribers.remove(&msg.subscriber);
            if subscribers.is_empty() {
                self.topics.remove(msg.topic.as_str());
                self.published.remove(msg.topic.as_str());
            }
        }
        if let Some(topics) = self.subscriptions.get_mut(&msg.subscriber) {
            topics.remove(msg.topic.as_str());
        }
    }
}

impl Handler<UnsubscribeAll> for Broker {
    type Result = ();

    fn handle(&mut self, msg: UnsubscribeAll, _ctx: &mut Self::Context) {
        for topic in self
            .subscriptions
            .remove(&msg.subscriber)
            .unwrap_or_default()
        {
            if let Some(subscribers) = self.topics.get_mut(&topic) {
                subscribers.remove(&msg.subscriber);
                if subscribers.is_empty() {
                    self.topics.remove(&topic);
                    self.published.remove(&topic);
                }
            }
        }
    }
}

impl Handler<Publish> for Broker {
    type Result = ();

    fn handle(&mut self, msg: Publish, _ctx: &mut Self::Context) {
        for event in &msg.events {
            if let Some((topic, _)) = self.topics.get_key_value(event.topic.as_str()) {
                let seq = self.published.entry(topic.clone()).or_insert(event.seq);
                *seq = (*seq).max(event.seq);
                self.deliver(&event.topic, Some(event.seq), event_frame(event));
            }
        }
    }
}

impl Handler<PublishEphemeral> for Broker {
    type Result = ();

    fn handle(&mut self, msg: PublishEphemeral, _ctx: &mut Self::Context) {
        if self.topics.contains_key(msg.topic.as_str()) {
            let data = msg.data.to_string();
            let frame = frame(&msg.topic, None, &msg.event_type, chrono::Utc::now(), &data);
            self.deliver(&msg.topic, None, frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn the_backlog_overflows_once_and_forgotten_frames_free_their_room() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let backlog = Backlog::watched(300, move || {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        // 100-byte payloads take 102 bytes on the wire.
        assert!(backlog.admit(100) && backlog.admit(100));
        backlog.forget(100);
        assert!(backlog.admit(100));
        backlog.took(102);
        assert!(backlog.admit(100));
        assert!(!backlog.admit(100));
        assert!(backlog.overflowed() && !backlog.admit(0));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn waiters_wake_when_the_connection_takes_enough() {
        let backlog = Backlog::new(1_000);
        backlog.took(10);
        backlog.taken_reaches(10).await;
        let (near, far) = (backlog.clone(), backlog.clone());
        let near = tokio::spawn(async move { near.taken_reaches(50).await });
        let far = tokio::spawn(async move { far.taken_reaches(90).await });
        tokio::task::yield_now().await;
        backlog.took(50);
        near.await.unwrap();
        assert!(!far.is_finished());
        backlog.took(30);
        far.await.unwrap();
        assert_eq!(backlog.taken(), 90);
    }
}
