//! The broker's messages: what publishers, subscribers and the relay send it.

use super::backlog::Backlog;
use crate::domain::ConnectionId;
use crate::store::models::Event;
use actix::prelude::*;
use bytestring::ByteString;
use std::sync::Arc;

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
