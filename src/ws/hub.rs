//! `Hub`: one per worker thread, made in the worker's app factory and reached by its sessions
//! through the app's data. It subscribes to a topic once for all of the worker's sockets on it
//! (with the topic's broker shard), so a committed event crosses threads once per worker, not
//! once per socket; then it writes the shared frame into each local session's `Outbox` in one
//! loop on this thread.

use super::outbox::SharedOutbox;
use super::session::ReadTopic;
use actix::prelude::*;
use bazaar_actors::broker::{Answer, Backlog, Broker, Deliver, Subscribe, Subscriber, Unsubscribe};
use bazaar_actors::domain::ConnectionId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The worker's sessions by topic.
type Local = HashMap<String, HashMap<ConnectionId, SharedOutbox>>;

/// A handle on the worker's hub; clones share it (on this thread only).
#[derive(Clone)]
pub struct Hub {
    /// Its id among the broker's subscribers (unique in the process).
    id: ConnectionId,
    broker: Broker,
    local: Rc<RefCell<Local>>,
    /// Where the broker's shards deliver.
    subscriber: Subscriber,
}

/// Receives the worker's events from the broker's shards.
struct HubActor {
    local: Rc<RefCell<Local>>,
}

impl Actor for HubActor {
    type Context = Context<Self>;
}

impl Hub {
    /// Starts the hub of the current worker (on its arbiter).
    pub fn start(broker: Broker, id: ConnectionId) -> Hub {
        let local = Rc::new(RefCell::new(Local::new()));
        let addr = HubActor {
            local: local.clone(),
        }
        .start();
        Hub {
            id,
            broker,
            local,
            subscriber: Subscriber {
                recipient: addr.recipient(),
                // It only hands on: each session's own backlog admits what it writes.
                backlog: Backlog::unbounded(),
            },
        }
    }

    /// Adds a session to a topic here, and (again: it is idempotent) the hub to the topic's
    /// shard. The subscription is in the shard's mailbox when this returns; once the answer
    /// arrives, every event published on the topic afterwards reaches the session.
    pub fn join(&self, topic: &str, id: ConnectionId, outbox: &SharedOutbox) -> Answer<()> {
        self.local
            .borrow_mut()
            .entry(topic.to_owned())
            .or_default()
            .insert(id, outbox.clone());
        self.broker.send(Subscribe {
            topic: topic.to_owned(),
            id: self.id,
            subscriber: self.subscriber.clone(),
        })
    }

    /// Removes a session from a topic; the hub leaves the shard with the topic's last one.
    pub fn leave(&self, topic: &str, id: ConnectionId) {
        let mut local = self.local.borrow_mut();
        let Some(sessions) = local.get_mut(topic) else {
            return;
        };
        sessions.remove(&id);
        if sessions.is_empty() {
            local.remove(topic);
            self.broker.do_send(Unsubscribe {
                topic: topic.to_owned(),
                subscriber: self.id,
            });
        }
    }
}

impl Handler<Deliver> for HubActor {
    type Result = ();

    /// One event for this worker's sockets on its topic: written into each one's outbox.
    fn handle(&mut self, msg: Deliver, _ctx: &mut Self::Context) {
        let mut reads = Vec::new();
        if let Some(sessions) = self.local.borrow().get(&*msg.topic) {
            for outbox in sessions.values() {
                let mut outbox = outbox.borrow_mut();
                if let Some(position) = outbox.live(&msg.topic, msg.seq, &msg.frame) {
                    if let Some(session) = outbox.session() {
                        reads.push((session.clone(), position));
                    }
                }
            }
        }
        // A gap is rare: the session reads it from the table.
        for (session, position) in reads {
            session.do_send(ReadTopic {
                topic: msg.topic.to_string(),
                position,
            });
        }
    }
}
