//! A session's topics: subscribing (a listing's topic only if the user may see the listing),
//! unsubscribing, resuming, and reading a topic's history from the core. `TopicOrder` decides
//! what is written when; this file carries out its steps.

use super::ordering::{Position, Step};
use super::protocol::{ErrorCode, ServerFrame};
use super::session::{log_fault, WsSession};
use actix::prelude::*;
use actix_web_actors::ws::WebsocketContext;
use bazaar_actors::broker::{event_frame, Baseline, Subscribe, Unsubscribe};
use bazaar_actors::domain::ListingId;
use bazaar_actors::events::listing_topic;
use bazaar_actors::reads;
use bytestring::ByteString;
use serde_json::Value;

/// Events read from the table per query when replaying or filling a gap.
const REPLAY_BATCH: i64 = 500;

/// An event's frame on its way to the socket. A live one was admitted against the backlog
/// by its producer; a replayed one is admitted when it is written (and never, if dropped).
#[derive(Debug)]
pub struct Frame {
    bytes: ByteString,
    admitted: bool,
}

type Ctx = WebsocketContext<WsSession>;

impl WsSession {
    /// A live event from the broker: written, dropped or held as the topic's order says.
    pub(super) fn live(&mut self, ctx: &mut Ctx, topic: &str, seq: i64, bytes: ByteString) {
        let Some(order) = self.topics.get_mut(topic) else {
            return;
        };
        let step = order.live(
            seq,
            Frame {
                bytes,
                admitted: true,
            },
        );
        self.take_step(ctx, topic, step);
    }

    fn take_step(&mut self, ctx: &mut Ctx, topic: &str, step: Step<Frame>) {
        for frame in step.write {
            if frame.admitted {
                self.write_admitted(ctx, frame.bytes);
            } else {
                self.write(ctx, frame.bytes);
            }
            if self.backlog.overflowed() {
                return;
            }
        }
        if let Some(position) = step.read {
            self.read(ctx, topic.to_owned(), position, None);
        }
    }

    /// Reads `topic` from the table from `position` (its head, and the events after it) and
    /// hands the result to the topic's order. `announce` answers a subscribe or resume with
    /// `subscribed` (and its `ref`). The caller has counted the read as in flight.
    pub(super) fn read(
        &mut self,
        ctx: &mut Ctx,
        topic: String,
        position: Position,
        announce: Option<Option<Value>>,
    ) {
        let read = reads::history(
            &self.state.pool,
            topic.clone(),
            position.since(),
            REPLAY_BATCH,
        );
        ctx.spawn(
            fut::wrap_future::<_, Self>(read).map(move |result, act, ctx| {
                let history = match result {
                    Ok(history) => history,
                    Err(e) => {
                        log_fault("read history", act.user, &e);
                        act.refuse(
                            ctx,
                            announce.flatten(),
                            ErrorCode::Unavailable,
                            "the event history could not be read; subscribe again".into(),
                        );
                        act.topics.remove(&topic);
                        return;
                    }
                };
                if let Some(reference) = announce {
                    act.reply(
                        ctx,
                        ServerFrame::Subscribed {
                            topic: topic.clone(),
                            seq: history.head,
                            reference,
                        },
                    );
                }
                act.state.broker.do_send(Baseline {
                    topic: topic.clone(),
                    seq: history.head,
                });
                let Some(order) = act.topics.get_mut(&topic) else {
                    return;
                };
                let page_full = history.events.len() as i64 == REPLAY_BATCH;
                let events = history
                    .events
                    .iter()
                    .map(|event| {
                        let bytes = event_frame(event);
                        (
                            event.seq,
                            Frame {
                                bytes,
                                admitted: false,
                            },
                        )
                    })
                    .collect();
                let step = order.read_done(position, history.head, events, page_full);
                act.take_step(ctx, &topic, step);
            }),
        );
    }

    /// Starts a read the client asked for on a topic it holds.
    fn reread(
        &mut self,
        ctx: &mut Ctx,
        reference: Option<Value>,
        topic: String,
        since: Option<i64>,
    ) {
        if let Some(order) = self.topics.get_mut(&topic) {
            order.start_read();
        }
        let position = since.map_or(Position::Live, Position::After);
        self.read(ctx, topic, position, Some(reference));
    }

    pub(super) fn resume(&mut self, ctx: &mut Ctx, reference: Option<Value>, since: i64) {
        let topic = self.user_topic();
        self.reread(ctx, reference, topic, Some(since));
    }

    pub(super) fn unsubscribe(&mut self, ctx: &mut Ctx, reference: Option<Value>, topic: String) {
        if topic == self.user_topic() {
            return self.refuse(
                ctx,
                reference,
                ErrorCode::Forbidden,
                "your own topic stays subscribed".into(),
            );
        }
        if self.topics.remove(&topic).is_none() {
            return self.refuse(
                ctx,
                reference,
                ErrorCode::NotSubscribed,
                format!("not subscribed to {topic}"),
            );
        }
        self.state.broker.do_send(Unsubscribe {
            topic: topic.clone(),
            subscriber: self.id,
        });
        self.reply(ctx, ServerFrame::Unsubscribed { topic, reference });
    }

    pub(super) fn subscribe(
        &mut self,
        ctx: &mut Ctx,
        reference: Option<Value>,
        topic: String,
        since: Option<i64>,
    ) {
        if topic == self.user_topic() {
            return self.reread(ctx, reference, topic, since);
        }
        let Some(listing) = topic
            .strip_prefix("listing:")
            .and_then(|id| id.parse::<i64>().ok())
            .map(ListingId)
            .filter(|id| topic == listing_topic(*id))
        else {
            let code = if topic.starts_with("user:") {
                ErrorCode::Forbidden
            } else {
                ErrorCode::UnknownTopic
            };
            return self.refuse(
                ctx,
                reference,
                code,
                format!("you cannot subscribe to {topic:?}"),
            );
        };
        if self.topics.contains_key(&topic) {
            return self.reread(ctx, reference, topic, since);
        }
        let listed = self.topics.len().saturating_sub(1);
        let most = self.state.settings.ws_max_subscriptions;
        if listed >= most {
            return self.refuse(
                ctx,
                reference,
                ErrorCode::TooManySubscriptions,
                format!("at most {most} topics per connection"),
            );
        }
        // Held from now on, so nothing published after the broker registers us is lost.
        self.topics.entry(topic.clone()).or_default().start_read();
        let (broker, user) = (self.state.broker.clone(), self.user);
        let visible = reads::listing_visible_to(&self.state.pool, listing, user);
        let subscribe = Subscribe {
            topic: topic.clone(),
            id: self.id,
            subscriber: self.subscriber(ctx),
        };
        let work = async move {
            match visible.await {
                Ok(true) => broker.send(subscribe).await.map_err(|e| {
                    log_fault("subscribe", user, &e);
                    ErrorCode::Unavailable
                }),
                Ok(false) => Err(ErrorCode::NotFound),
                Err(e) => {
                    log_fault("subscribe", user, &e);
                    Err(ErrorCode::Unavailable)
                }
            }
        };
        ctx.spawn(
            fut::wrap_future::<_, Self>(work).map(move |result, act, ctx| match result {
                Ok(()) => {
                    let position = since.map_or(Position::Live, Position::After);
                    act.read(ctx, topic, position, Some(reference));
                }
                Err(code) => {
                    act.topics.remove(&topic);
                    act.state.broker.do_send(Unsubscribe {
                        topic: topic.clone(),
                        subscriber: act.id,
                    });
                    act.refuse(ctx, reference, code, format!("cannot subscribe to {topic}"));
                }
            }),
        );
    }
}
