//! The broker: routes committed events to the live subscribers of their topics. Events reach
//! it only after their transaction committed (persist before publish).
//!
//! It is sharded by topic: `Broker` is a handle that sends each message to the shard of its
//! topic (`BrokerShard`, each on a thread of its own), so no single actor routes every topic
//! and one topic's events always pass through the same shard, in the order they were sent.
//! Publishers, subscribers and the relay use the same messages as with one broker
//! (`broker.do_send(Publish { .. })`, `broker.send(Heads)`).

mod backlog;
mod frame;
mod messages;
mod shard;

pub use backlog::{wire_bytes, Backlog};
pub use frame::event_frame;
pub use messages::*;
pub use shard::BrokerShard;

use crate::store::models::Event;
use actix::prelude::*;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;

/// A handle on the broker's shards; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    shards: Arc<Shards>,
}

struct Shards {
    addrs: Vec<Addr<BrokerShard>>,
    /// The threads the shards run on, stopped when the last handle goes.
    arbiters: Vec<Arbiter>,
}

impl Drop for Shards {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("shards", &self.shards.addrs.len())
            .finish()
    }
}

/// A future answer from the broker.
pub type Answer<T> = Pin<Box<dyn Future<Output = Result<T, MailboxError>> + Send>>;

impl Broker {
    /// Starts `shards` shards (at least one), each on an arbiter (a thread) of its own. Needs a
    /// running actix `System`.
    pub fn start(shards: usize) -> Broker {
        let (addrs, arbiters) = (0..shards.max(1))
            .map(|_| {
                let arbiter = Arbiter::new();
                let addr =
                    BrokerShard::start_in_arbiter(&arbiter.handle(), |_| BrokerShard::default());
                (addr, arbiter)
            })
            .unzip();
        Broker {
            shards: Arc::new(Shards { addrs, arbiters }),
        }
    }

    /// Every shard on the current arbiter (for tests and tools).
    pub fn start_here(shards: usize) -> Broker {
        let addrs = (0..shards.max(1))
            .map(|_| BrokerShard::default().start())
            .collect();
        Broker {
            shards: Arc::new(Shards {
                addrs,
                arbiters: Vec::new(),
            }),
        }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.addrs.len()
    }

    /// The shard a topic belongs to (the same in every run: SipHash with fixed keys).
    pub fn shard_of(&self, topic: &str) -> usize {
        let count = self.shard_count();
        if count == 1 {
            return 0;
        }
        #[allow(deprecated)]
        let mut hasher = std::hash::SipHasher::new();
        topic.hash(&mut hasher);
        (hasher.finish() % count as u64) as usize
    }

    fn shard(&self, topic: &str) -> &Addr<BrokerShard> {
        &self.shards.addrs[self.shard_of(topic)]
    }

    /// Sends a message to the shard (or shards) it concerns, without waiting.
    pub fn do_send<M: Route>(&self, msg: M) {
        msg.route(self);
    }

    /// Sends a message and waits for the answer (from every shard it concerns). The message is
    /// in the shards' mailboxes when this returns, before the future is polled.
    pub fn send<M: Ask>(&self, msg: M) -> Answer<M::Output> {
        msg.ask(self)
    }
}

/// A message the broker routes by topic.
pub trait Route {
    fn route(self, broker: &Broker);
}

/// A message whose answer its sender waits for.
pub trait Ask {
    type Output;
    fn ask(self, broker: &Broker) -> Answer<Self::Output>;
}

macro_rules! by_topic {
    ($($message:ty),*) => {$(
        impl Route for $message {
            fn route(self, broker: &Broker) {
                broker.shard(&self.topic).do_send(self);
            }
        }

        impl Ask for $message {
            type Output = ();
            fn ask(self, broker: &Broker) -> Answer<()> {
                Box::pin(broker.shard(&self.topic).send(self))
            }
        }
    )*};
}

by_topic!(Subscribe, Unsubscribe, Baseline, PublishEphemeral);

impl Route for Publish {
    /// Each shard gets the events of its topics, in the order given: a topic's order holds.
    fn route(self, broker: &Broker) {
        let shards = &broker.shards.addrs;
        if shards.len() == 1 {
            return shards[0].do_send(self);
        }
        let mut per_shard: Vec<Vec<Event>> = vec![Vec::new(); shards.len()];
        for event in self.events {
            per_shard[broker.shard_of(&event.topic)].push(event);
        }
        for (shard, events) in shards.iter().zip(per_shard) {
            if !events.is_empty() {
                shard.do_send(Publish { events });
            }
        }
    }
}

impl Route for UnsubscribeAll {
    fn route(self, broker: &Broker) {
        for shard in &broker.shards.addrs {
            shard.do_send(self.clone());
        }
    }
}

impl Ask for Heads {
    type Output = Vec<(String, Option<i64>)>;

    /// The heads of every shard's topics (each topic is in one shard only).
    fn ask(self, broker: &Broker) -> Answer<Self::Output> {
        let asked: Vec<_> = broker.shards.addrs.iter().map(|s| s.send(Heads)).collect();
        Box::pin(async move {
            let mut heads = Vec::new();
            for answer in asked {
                heads.extend(answer.await?);
            }
            Ok(heads)
        })
    }
}

#[cfg(test)]
mod tests;
