//! `WsSession`: one per WebSocket connection. It parses client frames, keeps the heartbeat,
//! enforces the limits (message size, frame rate, outbound backlog) and writes frames. What
//! it does with a topic is in `subscriptions.rs` (with the order kept by `ordering.rs`), what
//! it does with chat in `chat.rs`.

use super::chat::PendingChat;
use super::cutoff::Cutoff;
use super::hub::Hub;
use super::ordering::Position;
use super::outbound::{Assembler, Assembly, Counted};
use super::outbox::{Outbox, SharedOutbox};
use super::protocol::{
    read_message, ClientOp, CloseReason, ErrorCode, Reading, Refusal, ServerFrame,
};
use crate::app::AppState;
use actix::prelude::*;
use actix_http::ws::{Codec, Item};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use bazaar_actors::broker::Backlog;
use bazaar_actors::domain::chat::Parties;
use bazaar_actors::domain::ratelimit::TokenBucket;
use bazaar_actors::domain::{ConnectionId, ConversationId, LoginId, UserId};
use bazaar_actors::events::user_topic;
use bazaar_actors::user::{
    CloseCause, CloseSession, Connect, ConnectError, Disconnect, SessionHandle,
};
use bytestring::ByteString;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Who the socket belongs to, as authenticated at the upgrade.
#[derive(Clone, Debug)]
pub struct SessionParams {
    pub user: UserId,
    /// The login (bearer token session) it was opened with; logging out closes the socket.
    pub login: LoginId,
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
    let limit = state.settings.ws_max_backlog_bytes;
    // Past the limit the close frame is the next thing written; a client that does not take
    // it within the grace loses its connection (`Cutoff`).
    let backlog = match req.conn_data::<Arc<Cutoff>>().cloned() {
        Some(cutoff) => Backlog::watched(limit, move || cutoff.arm()),
        None => Backlog::new(limit),
    };
    let Some(hub) = req.app_data::<Hub>().cloned() else {
        return Err(actix_web::error::ErrorServiceUnavailable(
            "no hub on this worker",
        ));
    };
    let codec = Codec::new().max_size(state.settings.ws_max_message_bytes);
    let outbox = Outbox::new(backlog);
    let session = WsSession::new(state, params, hub, outbox.clone());
    let stream = ws::WebsocketContext::with_codec(session, payload, codec);
    Ok(response.streaming(Counted::new(stream, outbox)))
}

/// A live event left a gap in a topic (or was held past one): read it from the table.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReadTopic {
    pub topic: String,
    pub position: Position,
}

/// Logs a server fault that ended a client's op, once, with its cause chain. Only the op, the
/// user and the error: never a frame's body or a token.
pub(super) fn log_fault(op: &'static str, user: UserId, error: &(dyn std::error::Error + 'static)) {
    tracing::error!(
        ws.op = op,
        user.id = user.0,
        error = %crate::error::error_chain(error),
        "socket op failed"
    );
}

pub struct WsSession {
    pub(super) id: ConnectionId,
    pub(super) user: UserId,
    login: LoginId,
    since: Option<i64>,
    pub(super) state: web::Data<AppState>,
    /// The worker's hub, through which the session subscribes to its topics.
    pub(super) hub: Hub,
    /// Its topics' order and its outbound text frames, shared with the hub.
    pub(super) outbox: SharedOutbox,
    last_heard: Instant,
    frames: TokenBucket,
    pub(super) typing: HashMap<ConversationId, TokenBucket>,
    pub(super) parties: HashMap<ConversationId, Parties>,
    /// Chat commands sent to the writer, by ticket, until their answer arrives.
    pub(super) pending_chat: HashMap<u64, PendingChat>,
    pub(super) next_ticket: u64,
    assembler: Assembler,
    pub(super) backlog: Arc<Backlog>,
    ended_by: CloseReason,
}

impl WsSession {
    fn new(
        state: web::Data<AppState>,
        params: SessionParams,
        hub: Hub,
        outbox: SharedOutbox,
    ) -> Self {
        let settings = &state.settings;
        let backlog = outbox.borrow().backlog.clone();
        let frames = TokenBucket::new(
            settings.ws_rate_burst,
            settings.ws_rate_per_sec,
            Instant::now(),
        );
        WsSession {
            id: ConnectionId(state.connections.fetch_add(1, Ordering::Relaxed)),
            user: params.user,
            login: params.login,
            since: params.since,
            hub,
            backlog,
            outbox,
            last_heard: Instant::now(),
            frames,
            typing: HashMap::new(),
            parties: HashMap::new(),
            pending_chat: HashMap::new(),
            next_ticket: 0,
            assembler: Assembler::default(),
            ended_by: CloseReason::Client,
            state,
        }
    }

    pub(super) fn user_topic(&self) -> String {
        user_topic(self.user)
    }

    /// Writes a frame of the session's own (a reply, a replayed event), counting it against
    /// the backlog limit.
    pub(super) fn write(&mut self, ctx: &mut ws::WebsocketContext<Self>, text: ByteString) {
        let written = self.outbox.borrow_mut().write(text.as_bytes());
        if written.is_err() {
            self.cut_off(ctx);
        }
    }

    /// The client does not read: what is buffered is dropped and the response stream ends
    /// with a close frame (`Counted`).
    pub(super) fn cut_off(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        self.ended_by = CloseReason::Backlog;
        ctx.stop();
    }

    pub(super) fn reply(&mut self, ctx: &mut ws::WebsocketContext<Self>, frame: ServerFrame) {
        self.write(ctx, ByteString::from(frame.text()));
    }

    pub(super) fn refuse(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<Value>,
        code: ErrorCode,
        message: String,
    ) {
        self.reply(
            ctx,
            ServerFrame::Error {
                reference,
                code,
                message,
                retry_after: None,
            },
        );
    }

    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, why: CloseReason) {
        self.ended_by = why;
        // The close frame is the last one: the hub writes nothing after it.
        self.outbox.borrow_mut().close();
        if let Some(code) = why.close_code() {
            ctx.close(Some(ws::CloseReason {
                code,
                description: Some(why.as_str().to_owned()),
            }));
        }
        ctx.stop();
    }

    /// A whole client message (a text frame, or fragments assembled).
    fn on_message(&mut self, ctx: &mut ws::WebsocketContext<Self>, bytes: &[u8]) {
        match read_message(bytes) {
            Reading::Op(reference, op) => self.on_op(ctx, reference, op),
            Reading::Refuse(Refusal {
                reference,
                code,
                message,
            }) => self.refuse(ctx, reference, code, message),
            Reading::Close(why) => self.close(ctx, why),
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
            ClientOp::Unsubscribe { topic } => self.unsubscribe(ctx, reference, topic),
            ClientOp::Resume { since } => self.resume(ctx, reference, since),
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
            } => self.chat_read(ctx, reference, conversation_id, message_id),
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
                act.close(ctx, CloseReason::HeartbeatTimeout);
                return;
            }
            if act.backlog.admit(0) {
                act.outbox.borrow_mut().count(0);
                ctx.ping(b"");
            } else {
                act.cut_off(ctx);
            }
        });
        let topic = self.user_topic();
        self.outbox.borrow_mut().set_session(ctx.address());
        // Held from now on: the hub delivers from the moment it has us.
        self.outbox
            .borrow_mut()
            .topics
            .entry(topic.clone())
            .or_default()
            .start_read();
        let subscribed = self.hub.join(&topic, self.id, &self.outbox);
        let connect = self.state.users.send(Connect {
            user: self.user,
            connection: self.id,
            session: SessionHandle {
                login: self.login,
                close: ctx.address().recipient(),
            },
        });
        let user = self.user;
        let ready = async move {
            if let Err(e) = subscribed.await {
                log_fault("subscribe", user, &e);
                return Err(ConnectError::Unavailable);
            }
            connect.await.unwrap_or_else(|e| {
                log_fault("connect", user, &e);
                Err(ConnectError::Unavailable)
            })
        };
        // Nothing else is handled until the broker has the topic and the user's actor has us:
        // from then on the topic's events reach this socket, and the read below fills in
        // anything before.
        ctx.wait(
            fut::wrap_future::<_, Self>(ready).map(move |result, act, ctx| match result {
                Ok(()) => {
                    // `subscribed` for the user's own topic tells the client that the socket is
                    // live and where its topic stands (resume from there after a reconnect).
                    let announce = Some(None);
                    let position = act.since.map_or(Position::Live, Position::After);
                    act.read(ctx, topic, position, announce);
                }
                Err(ConnectError::TooManySessions(_)) => {
                    act.close(ctx, CloseReason::TooManySessions)
                }
                Err(ConnectError::ShuttingDown) => act.close(ctx, CloseReason::GoingAway),
                Err(e) => {
                    log_fault("connect", act.user, &e);
                    act.close(ctx, CloseReason::Unavailable)
                }
            }),
        );
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if self.backlog.overflowed() {
            self.ended_by = CloseReason::Backlog;
        }
        // Whatever ended the session, it leaves its user and its topics.
        self.state.metrics.ws_sessions.dec();
        self.state
            .metrics
            .ws_closed
            .with_label_values(&[self.ended_by.as_str()])
            .inc();
        let mut outbox = self.outbox.borrow_mut();
        outbox.close();
        for topic in std::mem::take(&mut outbox.topics).into_keys() {
            self.hub.leave(&topic, self.id);
        }
        drop(outbox);
        self.state.users.do_send(Disconnect {
            user: self.user,
            connection: self.id,
        });
    }
}

impl Handler<ReadTopic> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: ReadTopic, ctx: &mut Self::Context) {
        if self.outbox.borrow().topics.contains_key(&msg.topic) {
            self.read(ctx, msg.topic, msg.position, None);
        }
    }
}

impl Handler<CloseSession> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: CloseSession, ctx: &mut Self::Context) {
        let why = match msg.cause {
            CloseCause::LoggedOut => CloseReason::LoggedOut,
            CloseCause::ShuttingDown => CloseReason::GoingAway,
        };
        self.close(ctx, why);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        let message = match item {
            Ok(message) => message,
            Err(ws::ProtocolError::Overflow) => return self.close(ctx, CloseReason::MessageTooBig),
            // actix reports a text frame that is not UTF-8 and a connection that broke
            // (reset, or closed in the middle of a frame) as the same I/O error.
            Err(ws::ProtocolError::Io(e)) if e.to_string().contains("utf-8") => {
                return self.close(ctx, CloseReason::NotUtf8)
            }
            // Nobody is left to read a close frame: a phone that lost its network, most
            // often. Not the client breaking the protocol.
            Err(ws::ProtocolError::Io(_)) => return self.close(ctx, CloseReason::ConnectionLost),
            Err(_) => return self.close(ctx, CloseReason::ProtocolError),
        };
        let counted = !matches!(
            message,
            ws::Message::Pong(_) | ws::Message::Close(_) | ws::Message::Nop
        );
        if counted && !self.frames.try_take(Instant::now()) {
            return self.close(ctx, CloseReason::TooManyFrames);
        }
        let max = self.state.settings.ws_max_message_bytes;
        match message {
            ws::Message::Text(text) => self.on_message(ctx, text.as_bytes()),
            ws::Message::Binary(_) => self.refuse(
                ctx,
                None,
                ErrorCode::Unsupported,
                "frames are JSON text".into(),
            ),
            ws::Message::Continuation(item) => {
                let assembled = match item {
                    Item::FirstText(bytes) => self.assembler.first(&bytes, max),
                    Item::FirstBinary(_) => Assembly::OutOfOrder,
                    Item::Continue(bytes) => self.assembler.push(&bytes, max, false),
                    Item::Last(bytes) => self.assembler.push(&bytes, max, true),
                };
                match assembled {
                    Assembly::Partial => {}
                    Assembly::Complete(bytes) => self.on_message(ctx, &bytes),
                    Assembly::TooBig => self.close(ctx, CloseReason::MessageTooBig),
                    Assembly::OutOfOrder => self.close(ctx, CloseReason::BadFragments),
                }
            }
            ws::Message::Ping(bytes) => {
                if self.backlog.admit(bytes.len()) {
                    self.outbox.borrow_mut().count(bytes.len());
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
