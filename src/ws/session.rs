//! `WsSession`: one per WebSocket connection. It parses client frames, keeps the heartbeat,
//! enforces the limits (message size, frame rate, outbound backlog), forwards commands, and
//! writes events in `seq` order per topic with no gap and no duplicate: live events that
//! arrive while a topic is being read from the database are held back, and a gap in the live
//! stream is filled from the `events` table.

use super::outbound::{Assembler, Assembly, Counted};
use super::protocol::{parse, ClientOp, Refusal, ServerFrame};
use crate::app::AppState;
use actix::prelude::*;
use actix_http::ws::{Codec, Item};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use bazaar_actors::broker::{
    event_frame, Backlog, Baseline, Deliver, Publish, PublishEphemeral, Subscribe, Subscriber,
    Unsubscribe, UnsubscribeAll,
};
use bazaar_actors::chat::{self, ChatError};
use bazaar_actors::domain::chat::Parties;
use bazaar_actors::domain::ratelimit::TokenBucket;
use bazaar_actors::domain::{ListingId, UserId};
use bazaar_actors::events::{listing_topic, user_topic, MessageView, CHAT_TYPING};
use bazaar_actors::store::models::Event;
use bazaar_actors::store::{events, listings, StoreError};
use bazaar_actors::user::{CloseSession, Connect, ConnectError, Disconnect, SessionHandle};
use bytestring::ByteString;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events read from the table per query when replaying or filling a gap.
const REPLAY_BATCH: i64 = 500;
/// Typing indicators per conversation: a burst of 3, then one a second.
const TYPING_BURST: u32 = 3;
const TYPING_PER_SEC: u32 = 1;

/// Who the socket belongs to, as authenticated at the upgrade.
#[derive(Clone, Debug)]
pub struct SessionParams {
    pub user: UserId,
    /// The login (bearer token session) it was opened with; logging out closes the socket.
    pub login: i64,
    /// Resume the user's topic after this seq at once (no race with live events).
    pub since: Option<i64>,
}

/// Upgrades the request and starts the session.
pub fn start(
    req: &HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    params: SessionParams,
) -> Result<HttpResponse, actix_web::Error> {
    let mut response = ws::handshake(req)?;
    let backlog = Backlog::new(state.settings.ws_max_backlog_bytes);
    let codec = Codec::new().max_size(state.settings.ws_max_message_bytes);
    let session = WsSession::new(state, params, backlog.clone());
    let stream = ws::WebsocketContext::with_codec(session, payload, codec);
    Ok(response.streaming(Counted::new(stream, backlog)))
}

/// A topic's delivery state on this connection.
#[derive(Debug, Default)]
struct TopicState {
    /// The last seq written to the socket.
    last: i64,
    /// A read from the events table is in flight; live events wait in `held`.
    syncing: bool,
    held: Vec<(i64, ByteString)>,
}

pub struct WsSession {
    id: u64,
    user: UserId,
    login: i64,
    since: Option<i64>,
    state: web::Data<AppState>,
    topics: HashMap<String, TopicState>,
    last_heard: Instant,
    frames: TokenBucket,
    typing: HashMap<i64, TokenBucket>,
    parties: HashMap<i64, Parties>,
    assembler: Assembler,
    backlog: Arc<Backlog>,
    ended_by: &'static str,
}

impl WsSession {
    fn new(state: web::Data<AppState>, params: SessionParams, backlog: Arc<Backlog>) -> Self {
        let settings = &state.settings;
        let frames = TokenBucket::new(
            settings.ws_rate_burst,
            settings.ws_rate_per_sec,
            Instant::now(),
        );
        WsSession {
            id: state.connections.fetch_add(1, Ordering::Relaxed),
            user: params.user,
            login: params.login,
            since: params.since,
            topics: HashMap::new(),
            last_heard: Instant::now(),
            frames,
            typing: HashMap::new(),
            parties: HashMap::new(),
            assembler: Assembler::default(),
            backlog,
            ended_by: "client",
            state,
        }
    }

    fn user_topic(&self) -> String {
        user_topic(self.user)
    }

    fn subscriber(&self, ctx: &mut ws::WebsocketContext<Self>) -> Subscriber {
        Subscriber {
            recipient: ctx.address().recipient(),
            backlog: self.backlog.clone(),
        }
    }

    /// Writes a frame of the session's own (a reply, a replayed event), counting it against
    /// the backlog limit.
    fn write(&mut self, ctx: &mut ws::WebsocketContext<Self>, text: ByteString) {
        if self.backlog.admit(text.len()) {
            ctx.text(text);
        } else {
            self.cut_off(ctx);
        }
    }

    /// Writes a frame a producer already admitted (a live delivery).
    fn write_admitted(&mut self, ctx: &mut ws::WebsocketContext<Self>, text: ByteString) {
        if self.backlog.overflowed() {
            return self.cut_off(ctx);
        }
        ctx.text(text);
    }

    /// The client does not read: its connection ends and what is buffered is dropped.
    fn cut_off(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        self.ended_by = "backlog";
        ctx.stop();
    }

    fn reply(&mut self, ctx: &mut ws::WebsocketContext<Self>, frame: ServerFrame) {
        self.write(ctx, ByteString::from(frame.text()));
    }

    fn refuse(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<Value>,
        code: &'static str,
        message: String,
    ) {
        self.reply(
            ctx,
            ServerFrame::Error {
                reference,
                code,
                message,
            },
        );
    }

    fn close(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        code: ws::CloseCode,
        why: &'static str,
    ) {
        self.ended_by = why;
        ctx.close(Some(ws::CloseReason {
            code,
            description: Some(why.to_owned()),
        }));
        ctx.stop();
    }

    /// Reads `topic` from the table: its head, and the events after `since` if given. Then the
    /// events are written in order, followed by the live events held meanwhile.
    fn sync(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        topic: String,
        since: Option<i64>,
        announce: Option<Option<Value>>,
    ) {
        if let Some(state) = self.topics.get_mut(&topic) {
            state.syncing = true;
        }
        let pool = self.state.pool.clone();
        let name = topic.clone();
        let read = web::block(move || -> Result<(i64, Vec<Event>), StoreError> {
            let mut conn = pool.get()?;
            let head = events::last_seq(&mut conn, &name)?;
            let replay = match since {
                Some(since) if since < head => {
                    events::after(&mut conn, &name, since, REPLAY_BATCH)?
                }
                _ => Vec::new(),
            };
            Ok((head, replay))
        });
        ctx.spawn(
            fut::wrap_future::<_, Self>(read).map(move |result, act, ctx| {
                let Ok(Ok((head, replay))) = result else {
                    act.refuse(
                        ctx,
                        announce.flatten(),
                        "unavailable",
                        "the event history could not be read; subscribe again".into(),
                    );
                    act.topics.remove(&topic);
                    return;
                };
                if let Some(reference) = announce {
                    act.reply(
                        ctx,
                        ServerFrame::Subscribed {
                            topic: topic.clone(),
                            seq: head,
                            reference,
                        },
                    );
                }
                act.state.broker.do_send(Baseline {
                    topic: topic.clone(),
                    seq: head,
                });
                let Some(state) = act.topics.get_mut(&topic) else {
                    return;
                };
                let first_held = state.held.iter().map(|(seq, _)| *seq).min();
                let start = match (since, first_held) {
                    (Some(since), _) => since.clamp(0, head),
                    // Live from the moment we registered: whatever was delivered since is
                    // sent, even if it committed before the head was read.
                    (None, Some(first)) => (first - 1).clamp(0, head),
                    (None, None) => head,
                };
                state.last = start;
                if since.is_none() && start < head {
                    // Not everything between the first held event and the head was
                    // necessarily held (publishers race): read it from the table.
                    act.sync(ctx, topic, Some(start), None);
                    return;
                }
                state.syncing = false;
                let more = replay.len() as i64 == REPLAY_BATCH;
                for event in &replay {
                    let frame = event_frame(event);
                    if !act.backlog.admit(frame.len()) {
                        return act.cut_off(ctx);
                    }
                    act.apply(ctx, &topic, event.seq, frame);
                }
                let held = act
                    .topics
                    .get_mut(&topic)
                    .map(|s| std::mem::take(&mut s.held))
                    .unwrap_or_default();
                if more {
                    // Keep what was held; read on from where the replay stopped.
                    let last = act.topics.get(&topic).map(|s| s.last);
                    if let Some(state) = act.topics.get_mut(&topic) {
                        state.held = held;
                    }
                    act.sync(ctx, topic, last, None);
                    return;
                }
                let mut held = held;
                held.sort_by_key(|(seq, _)| *seq);
                for (seq, frame) in held {
                    act.apply(ctx, &topic, seq, frame);
                }
            }),
        );
    }

    /// Writes one stored (and admitted) event of `topic` in order: a repeat is dropped, the
    /// next is written, one past a gap is held while the gap is read from the table.
    fn apply(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        topic: &str,
        seq: i64,
        frame: ByteString,
    ) {
        let Some(state) = self.topics.get_mut(topic) else {
            return;
        };
        if state.syncing {
            state.held.push((seq, frame));
            return;
        }
        if seq <= state.last {
            return;
        }
        if seq == state.last + 1 {
            state.last = seq;
            self.write_admitted(ctx, frame);
            return;
        }
        state.held.push((seq, frame));
        let last = state.last;
        self.sync(ctx, topic.to_owned(), Some(last), None);
    }

    fn on_text(&mut self, ctx: &mut ws::WebsocketContext<Self>, text: &str) {
        match parse(text) {
            Ok((reference, op)) => self.on_op(ctx, reference, op),
            Err(Refusal {
                reference,
                code,
                message,
            }) => self.refuse(ctx, reference, code, message),
        }
    }

    fn on_op(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<Value>,
        op: ClientOp,
    ) {
        match op {
            ClientOp::Subscribe { topic, since } => self.subscribe(ctx, reference, topic, since),
            ClientOp::Unsubscribe { topic } => {
                if topic == self.user_topic() {
                    return self.refuse(
                        ctx,
                        reference,
                        "forbidden",
                        "your own topic stays subscribed".into(),
                    );
                }
                if self.topics.remove(&topic).is_none() {
                    return self.refuse(
                        ctx,
                        reference,
                        "not_subscribed",
                        format!("not subscribed to {topic}"),
                    );
                }
                self.state.broker.do_send(Unsubscribe {
                    topic: topic.clone(),
                    subscriber: self.id,
                });
                self.reply(ctx, ServerFrame::Unsubscribed { topic, reference });
            }
            ClientOp::Resume { since } => {
                let topic = self.user_topic();
                self.sync(ctx, topic, Some(since), Some(reference));
            }
            ClientOp::ChatSend {
                conversation_id,
                client_msg_id,
                body,
            } => self.chat_send(ctx, reference, conversation_id, client_msg_id, body),
            ClientOp::ChatTyping { conversation_id } => {
                self.chat_typing(ctx, reference, conversation_id)
            }
            ClientOp::ChatRead {
                conversation_id,
                message_id,
            } => {
                let (pool, user) = (self.state.pool.clone(), self.user);
                let work = web::block(move || {
                    let mut conn = pool.get()?;
                    chat::mark_read(&mut conn, user, conversation_id, message_id)
                });
                ctx.spawn(fut::wrap_future::<_, Self>(work).map(
                    move |result, act, ctx| match result {
                        Ok(Ok(events)) => {
                            act.publish(events);
                            act.reply(
                                ctx,
                                ServerFrame::Ack {
                                    reference,
                                    client_msg_id: None,
                                    message: None,
                                },
                            );
                        }
                        Ok(Err(e)) => act.chat_refusal(ctx, reference, &e),
                        Err(_) => act.refuse(ctx, reference, "unavailable", "try again".into()),
                    },
                ));
            }
        }
    }

    fn publish(&self, events: Vec<Event>) {
        if !events.is_empty() {
            self.state.broker.do_send(Publish { events });
        }
    }

    fn chat_refusal(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<Value>,
        e: &ChatError,
    ) {
        let code = match e {
            ChatError::NotFound => "not_found",
            ChatError::NotParty => "forbidden",
            ChatError::UnknownMessage | ChatError::Invalid(_) => "invalid",
            ChatError::Db(_) | ChatError::Unavailable(_) | ChatError::NotStored(_) => "unavailable",
        };
        let message = match e {
            ChatError::Invalid(errors) => errors
                .fields()
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; "),
            ChatError::Db(_) | ChatError::Unavailable(_) | ChatError::NotStored(_) => {
                "the message could not be stored; send it again".into()
            }
            other => other.to_string(),
        };
        self.refuse(ctx, reference, code, message);
    }

    fn subscribe(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<Value>,
        topic: String,
        since: Option<i64>,
    ) {
        if topic == self.user_topic() {
            return self.sync(ctx, topic, since, Some(reference));
        }
        let Some(listing) = topic
            .strip_prefix("listing:")
            .and_then(|id| id.parse::<i64>().ok())
            .filter(|id| topic == listing_topic(ListingId(*id)))
        else {
            let code = if topic.starts_with("user:") {
                "forbidden"
            } else {
                "unknown_topic"
            };
            return self.refuse(
                ctx,
                reference,
                code,
                format!("you cannot subscribe to {topic:?}"),
            );
        };
        if self.topics.contains_key(&topic) {
            return self.sync(ctx, topic, since, Some(reference));
        }
        let listed = self.topics.len().saturating_sub(1);
        if listed >= self.state.settings.ws_max_subscriptions {
            return self.refuse(
                ctx,
                reference,
                "too_many_subscriptions",
                format!(
                    "at most {} topics per connection",
                    self.state.settings.ws_max_subscriptions
                ),
            );
        }
        // Held from now on, so nothing published after the broker registers us is lost.
        self.topics.insert(
            topic.clone(),
            TopicState {
                syncing: true,
                ..TopicState::default()
            },
        );
        let (pool, broker, viewer) = (
            self.state.pool.clone(),
            self.state.broker.clone(),
            self.user,
        );
        let subscribe = Subscribe {
            topic: topic.clone(),
            id: self.id,
            subscriber: self.subscriber(ctx),
        };
        let work = async move {
            let visible = web::block(move || -> Result<bool, StoreError> {
                let mut conn = pool.get()?;
                Ok(listings::find(&mut conn, listing)?
                    .is_some_and(|l| crate::http::listings::visible_to(&l, Some(viewer))))
            })
            .await;
            match visible {
                Ok(Ok(true)) => broker.send(subscribe).await.map_err(|_| "unavailable"),
                Ok(Ok(false)) => Err("not_found"),
                _ => Err("unavailable"),
            }
        };
        ctx.spawn(
            fut::wrap_future::<_, Self>(work).map(move |result, act, ctx| match result {
                Ok(()) => act.sync(ctx, topic, since, Some(reference)),
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

    fn chat_send(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<Value>,
        conversation_id: i64,
        client_msg_id: String,
        body: String,
    ) {
        let work = self.state.chat.send(chat::SendMessage {
            sender: self.user,
            conversation_id,
            client_msg_id: client_msg_id.clone(),
            body,
        });
        ctx.spawn(
            fut::wrap_future::<_, Self>(work).map(move |result, act, ctx| match result {
                // The ack goes out only once the message is stored.
                Ok(Ok((message, events))) => {
                    act.publish(events);
                    act.reply(
                        ctx,
                        ServerFrame::Ack {
                            reference,
                            client_msg_id: Some(client_msg_id),
                            message: Some(MessageView::from(&message)),
                        },
                    );
                }
                Ok(Err(e)) => act.chat_refusal(ctx, reference, &e),
                Err(_) => act.refuse(
                    ctx,
                    reference,
                    "unavailable",
                    "the message could not be stored; send it again".into(),
                ),
            }),
        );
    }

    fn chat_typing(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<Value>,
        conversation_id: i64,
    ) {
        if let Some(parties) = self.parties.get(&conversation_id).copied() {
            return self.relay_typing(ctx, reference, conversation_id, parties);
        }
        let (pool, user) = (self.state.pool.clone(), self.user);
        let work = web::block(move || {
            let mut conn = pool.get()?;
            chat::conversation_of(&mut conn, user, conversation_id).map(|c| c.parties())
        });
        ctx.spawn(
            fut::wrap_future::<_, Self>(work).map(move |result, act, ctx| match result {
                Ok(Ok(parties)) => {
                    act.parties.insert(conversation_id, parties);
                    act.relay_typing(ctx, reference, conversation_id, parties);
                }
                Ok(Err(e)) => act.chat_refusal(ctx, reference, &e),
                Err(_) => act.refuse(ctx, reference, "unavailable", "try again".into()),
            }),
        );
    }

    /// Typing is relayed to the other party, never stored, and rate-limited per conversation.
    fn relay_typing(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<Value>,
        conversation_id: i64,
        parties: Parties,
    ) {
        let now = Instant::now();
        let bucket = self
            .typing
            .entry(conversation_id)
            .or_insert_with(|| TokenBucket::new(TYPING_BURST, TYPING_PER_SEC, now));
        if !bucket.try_take(now) {
            return self.refuse(
                ctx,
                reference,
                "rate_limited",
                "typing indicators are limited to one a second".into(),
            );
        }
        if let Some(other) = parties.other(self.user) {
            self.state.broker.do_send(PublishEphemeral {
                topic: user_topic(other),
                event_type: CHAT_TYPING.to_owned(),
                data: json!({ "conversation_id": conversation_id, "user_id": self.user }),
            });
        }
    }
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.state.metrics.ws_sessions.inc();
        let (ping_every, timeout) = (
            Duration::from_secs(self.state.settings.ws_ping_secs.max(1)),
            Duration::from_secs(self.state.settings.ws_timeout_secs.max(1)),
        );
        ctx.run_interval(ping_every, move |act, ctx| {
            if act.last_heard.elapsed() > timeout {
                act.close(ctx, ws::CloseCode::Away, "heartbeat timeout");
                return;
            }
            if act.backlog.admit(0) {
                ctx.ping(b"");
            } else {
                act.cut_off(ctx);
            }
        });
        let topic = self.user_topic();
        self.topics.insert(
            topic.clone(),
            TopicState {
                syncing: true,
                ..TopicState::default()
            },
        );
        let connect = self.state.users.send(Connect {
            user: self.user,
            conn_id: self.id,
            session: SessionHandle {
                token_session_id: self.login,
                deliver: self.subscriber(ctx),
                close: ctx.address().recipient(),
            },
        });
        // Nothing else is handled until the user's actor has us: from then on its events
        // reach this socket, and the read below fills in anything before.
        ctx.wait(
            fut::wrap_future::<_, Self>(connect).map(move |result, act, ctx| match result {
                Ok(Ok(())) => {
                    let since = act.since;
                    // `subscribed` for the user's own topic tells the client that the socket is
                    // live and where its topic stands (resume from there after a reconnect).
                    let announce = Some(None);
                    act.sync(ctx, topic, since, announce);
                }
                Ok(Err(ConnectError::TooManySessions(_))) => {
                    act.close(ctx, ws::CloseCode::Policy, "too many sessions")
                }
                _ => act.close(ctx, ws::CloseCode::Error, "unavailable"),
            }),
        );
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if self.backlog.overflowed() {
            self.ended_by = "backlog";
        }
        // Whatever ended the session, it leaves its user and its topics.
        self.state.metrics.ws_sessions.dec();
        self.state
            .metrics
            .ws_closed
            .with_label_values(&[self.ended_by])
            .inc();
        self.state.broker.do_send(UnsubscribeAll {
            subscriber: self.id,
        });
        self.state.users.do_send(Disconnect {
            user: self.user,
            conn_id: self.id,
        });
    }
}

impl Handler<Deliver> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        match msg.seq {
            Some(seq) => self.apply(ctx, &msg.topic, seq, msg.frame),
            None => self.write_admitted(ctx, msg.frame),
        }
    }
}

impl Handler<CloseSession> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Self::Context) {
        self.close(ctx, ws::CloseCode::Policy, msg.reason);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        let message = match item {
            Ok(message) => message,
            Err(ws::ProtocolError::Overflow) => {
                return self.close(ctx, ws::CloseCode::Size, "message too big")
            }
            // actix reports a text frame that is not UTF-8 and a connection that broke
            // (reset, or closed in the middle of a frame) as the same I/O error.
            Err(ws::ProtocolError::Io(e)) if e.to_string().contains("utf-8") => {
                return self.close(ctx, ws::CloseCode::Invalid, "text is not UTF-8")
            }
            Err(ws::ProtocolError::Io(_)) => {
                // Nobody is left to read a close frame: a phone that lost its network, most
                // often. Not the client breaking the protocol.
                self.ended_by = "connection lost";
                return ctx.stop();
            }
            Err(_) => return self.close(ctx, ws::CloseCode::Protocol, "protocol error"),
        };
        let counted = !matches!(
            message,
            ws::Message::Pong(_) | ws::Message::Close(_) | ws::Message::Nop
        );
        if counted && !self.frames.try_take(Instant::now()) {
            return self.close(ctx, ws::CloseCode::Policy, "too many frames");
        }
        let max = self.state.settings.ws_max_message_bytes;
        match message {
            ws::Message::Text(text) => self.on_text(ctx, &text),
            ws::Message::Binary(_) => {
                self.refuse(ctx, None, "unsupported", "frames are JSON text".into())
            }
            ws::Message::Continuation(item) => {
                let assembled = match item {
                    Item::FirstText(bytes) => self.assembler.first(&bytes, max),
                    Item::FirstBinary(_) => Assembly::OutOfOrder,
                    Item::Continue(bytes) => self.assembler.push(&bytes, max, false),
                    Item::Last(bytes) => self.assembler.push(&bytes, max, true),
                };
                match assembled {
                    Assembly::Partial => {}
                    Assembly::Complete(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => self.on_text(ctx, &text),
                        Err(_) => self.close(ctx, ws::CloseCode::Invalid, "text is not UTF-8"),
                    },
                    Assembly::TooBig => self.close(ctx, ws::CloseCode::Size, "message too big"),
                    Assembly::OutOfOrder => {
                        self.close(ctx, ws::CloseCode::Protocol, "bad fragments")
                    }
                }
            }
            ws::Message::Ping(bytes) => {
                if self.backlog.admit(bytes.len()) {
                    ctx.pong(&bytes);
                }
            }
            ws::Message::Pong(_) | ws::Message::Nop => {}
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
        }
    }
}
