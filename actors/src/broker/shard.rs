//! `BrokerShard`: routes the committed events of its topics to their live subscribers. Each
//! event is serialised once into a wire frame and the same bytes go to every subscriber: one
//! per worker thread (its `Hub`, which writes them to its sockets), or any other recipient.

use super::frame::{event_frame, frame};
use super::messages::*;
use crate::domain::ConnectionId;
use actix::prelude::*;
use bytestring::ByteString;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One shard of the broker: the topics whose hash falls to it (`Broker::shard_of`). Each runs
/// on its own arbiter, so shards route on as many threads as there are shards.
#[derive(Default)]
pub struct BrokerShard {
    topics: HashMap<Arc<str>, HashMap<ConnectionId, Subscriber>>,
    subscriptions: HashMap<ConnectionId, HashSet<Arc<str>>>,
    /// The highest seq published per subscribed topic (for the cross-process relay).
    published: HashMap<Arc<str>, i64>,
}

impl Handler<Heads> for BrokerShard {
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

impl Handler<Baseline> for BrokerShard {
    type Result = ();

    fn handle(&mut self, msg: Baseline, _ctx: &mut Self::Context) {
        if let Some((topic, _)) = self.topics.get_key_value(msg.topic.as_str()) {
            self.published.entry(topic.clone()).or_insert(msg.seq);
        }
    }
}

impl BrokerShard {
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

impl Actor for BrokerShard {
    type Context = Context<Self>;
}

impl Handler<Subscribe> for BrokerShard {
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

impl Handler<Unsubscribe> for BrokerShard {
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

impl Handler<UnsubscribeAll> for BrokerShard {
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

impl Handler<Publish> for BrokerShard {
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

impl Handler<PublishEphemeral> for BrokerShard {
    type Result = ();

    fn handle(&mut self, msg: PublishEphemeral, _ctx: &mut Self::Context) {
        if self.topics.contains_key(msg.topic.as_str()) {
            let data = msg.data.to_string();
            let frame = frame(&msg.topic, None, &msg.event_type, chrono::Utc::now(), &data);
            self.deliver(&msg.topic, None, frame);
        }
    }
}
