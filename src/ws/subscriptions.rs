//! A session's topics: subscribing (a listing's topic only if the user may see the listing),
//! unsubscribing, resuming, and reading a topic's history from the core. `TopicOrder` decides
//! what is written when; this file carries out its steps.
//!
//! A replay (a resume or a subscribe with `since`, or a gap) is read in pages: each page is at
//! most a quarter of the backlog limit, and the next one is read only once at most that much
//! still waits in the outbound buffer. So a client that reads catches up on any history over one
//! connection, and one that does not is cut off by its backlog as usual.

use super::ordering::{Position, Step};
use super::outbound::page_len;
use super::outbox::Frame;
use super::protocol::{ErrorCode, ServerFrame};
use super::session::{log_fault, WsSession};
use actix::prelude::*;
use actix_web_actors::ws::WebsocketContext;
use bazaar_actors::broker::{event_frame, Baseline};
use bazaar_actors::domain::ListingId;
use bazaar_actors::events::listing_topic;
use bazaar_actors::reads;
use serde_json::Value;

/// Events read from the table per query when replaying or filling a gap (fewer are written
/// when they pass the page's bytes).
const REPLAY_BATCH: i64 = 500;

type Ctx = WebsocketContext<WsSession>;

impl WsSession {
    /// Writes what a topic's order said to write, then starts the read it asks for.
    pub(super) fn take_step(&mut self, ctx: &mut Ctx, topic: &str, step: Step<Frame>) {
        let written = self.outbox.borrow_mut().write_step(step);
        match written {
            Err(_) => self.cut_off(ctx),
            Ok(Some(position)) => self.read(ctx, topic.to_owned(), position, None),
            Ok(None) => {}
        }
    }

    /// Reads `topic` from the table from `position` (its head, and the events after it) and
    /// hands the result to the topic's order. `announce` answers a subscribe or resume with
    /// `subscribed` (and its `ref`). The caller has counted the read as in flight.
    ///
    /// A read of events waits until at most a page's bytes wait in the outbound buffer, and
    /// writes at most a page: the order then asks for the next page from where it stopped.
    pub(super) fn read(
        &mut self,
        ctx: &mut Ctx,
        topic: String,
        position: Position,
        announce: Option<Option<Value>>,
    ) {
        let page_bytes = (self.backlog.limit() / 4).max(1);
        let drained = self.outbox.borrow().written.saturating_sub(page_bytes);
        let (backlog, pool, since) = (
            self.backlog.clone(),
            self.state.pool.clone(),
            position.since(),
        );
        let read_topic = topic.clone();
        let read = async move {
            if since.is_some() {
                backlog.taken_reaches(drained).await;
            }
            reads::history(&pool, read_topic, since, REPLAY_BATCH).await
        };
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
                        act.outbox.borrow_mut().topics.remove(&topic);
                        act.hub.leave(&topic, act.id);
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
                let read_all = history.events.len() as i64 == REPLAY_BATCH;
                let mut events: Vec<(i64, Frame)> = history
                    .events
                    .iter()
                    .map(|event| {
                        let bytes = event_frame(event);
                        (event.seq, Frame::replayed(bytes))
                    })
                    .collect();
                let fits = page_len(events.iter().map(|(_, f)| f.byte_len()), page_bytes);
                let page_full = read_all || fits < events.len();
                events.truncate(fits);
                let step = {
                    let mut outbox = act.outbox.borrow_mut();
                    let Some(order) = outbox.topics.get_mut(&topic) else {
                        return;
                    };
                    order.read_done(position, history.head, events, page_full)
                };
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
        if let Some(order) = self.outbox.borrow_mut().topics.get_mut(&topic) {
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
        let held = self.outbox.borrow_mut().topics.remove(&topic);
        if held.is_none() {
            return self.refuse(
                ctx,
                reference,
                ErrorCode::NotSubscribed,
                format!("not subscribed to {topic}"),
            );
        }
        self.hub.leave(&topic, self.id);
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
        if self.outbox.borrow().topics.contains_key(&topic) {
            return self.reread(ctx, reference, topic, since);
        }
        let listed = self.outbox.borrow().topics.len().saturating_sub(1);
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
        self.outbox
            .borrow_mut()
            .topics
            .entry(topic.clone())
            .or_default()
            .start_read();
        let user = self.user;
        let visible = reads::listing_visible_to(&self.state.pool, listing, user);
        let (hub, outbox, id, joining) = (
            self.hub.clone(),
            self.outbox.clone(),
            self.id,
            topic.clone(),
        );
        let work = async move {
            match visible.await {
                // Unsubscribed meanwhile: the hub is not to hold the session for it.
                Ok(true) if !outbox.borrow().topics.contains_key(&joining) => Ok(()),
                Ok(true) => hub.join(&joining, id, &outbox).await.map_err(|e| {
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
                    act.outbox.borrow_mut().topics.remove(&topic);
                    act.hub.leave(&topic, act.id);
                    act.refuse(ctx, reference, code, format!("cannot subscribe to {topic}"));
                }
            }),
        );
    }
}
