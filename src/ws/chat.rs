//! Chat over the socket: `chat.send` and `chat.read` are commands of the chat writer, which
//! answers into this session's mailbox before it publishes. The worker's hub writes events
//! without the mailbox, so the user's topic is held while a command waits for its answer: the
//! ack is written before the session's own copy of the event. `chat.typing` is relayed, never
//! stored, rate-limited.

use super::protocol::{ErrorCode, ServerFrame};
use super::session::{log_fault, WsSession};
use crate::limits::Limit;
use actix::prelude::*;
use actix_web_actors::ws::WebsocketContext;
use bazaar_actors::broker::PublishEphemeral;
use bazaar_actors::chat::{AnswerInMailbox, ChatError, MarkRead, Message, SendMessage};
use bazaar_actors::domain::chat::Parties;
use bazaar_actors::domain::ratelimit::TokenBucket;
use bazaar_actors::domain::{ConversationId, MessageId};
use bazaar_actors::events::{user_topic, MessageView, CHAT_TYPING};
use bazaar_actors::group_commit::Answered;
use bazaar_actors::reads;
use serde_json::{json, Value};
use std::time::Instant;

/// Typing indicators per conversation: a burst of 3, then one a second.
const TYPING_BURST: u32 = 3;
const TYPING_PER_SEC: u32 = 1;

/// What a failure says when the op could not be carried out (a server fault).
const SEND_AGAIN: &str = "the message could not be stored; send it again";
const TRY_AGAIN: &str = "try again";

type Ctx = WebsocketContext<WsSession>;

/// A chat command sent to the writer, waiting for its answer.
#[derive(Debug)]
pub struct PendingChat {
    reference: Option<Value>,
    /// `chat.send`'s, echoed in the ack.
    client_msg_id: Option<String>,
}

impl WsSession {
    /// Sends `command` to the chat writer, its answer to come into this mailbox.
    fn ask_writer<C>(&mut self, ctx: &mut Ctx, op: &'static str, command: C, pending: PendingChat)
    where
        C: actix::Message + Send + 'static,
        C::Result: Send,
        bazaar_actors::chat::ChatWriter: Handler<AnswerInMailbox<C>>,
        Self: Handler<Answered<C::Result>>,
    {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.pending_chat.insert(ticket, pending);
        self.hold_own_topic();
        let sent = self.state.chat.send(AnswerInMailbox {
            command,
            ticket,
            answer_to: ctx.address().recipient(),
        });
        ctx.spawn(
            fut::wrap_future::<_, Self>(sent).map(move |result, act, ctx| {
                if let Err(e) = result {
                    if let Some(pending) = act.pending_chat.remove(&ticket) {
                        let e =
                            ChatError::NotStored(format!("the chat writer is unavailable: {e}"));
                        act.chat_refusal(ctx, op, pending.reference, &e);
                        act.release_own_topic(ctx);
                    }
                }
            }),
        );
    }

    /// Holds the user's topic's live events until a chat command is answered.
    fn hold_own_topic(&mut self) {
        let topic = self.user_topic();
        if let Some(order) = self.outbox.borrow_mut().topics.get_mut(&topic) {
            order.start_read();
        }
    }

    /// A chat command was answered (its ack or refusal written): what its hold kept is written.
    fn release_own_topic(&mut self, ctx: &mut Ctx) {
        let topic = self.user_topic();
        let step = match self.outbox.borrow_mut().topics.get_mut(&topic) {
            Some(order) => order.end_hold(),
            None => return,
        };
        self.take_step(ctx, &topic, step);
    }

    pub(super) fn chat_send(
        &mut self,
        ctx: &mut Ctx,
        reference: Option<Value>,
        conversation: ConversationId,
        client_msg_id: String,
        body: String,
    ) {
        if let Err(limited) = self.state.limits.check(Limit::ChatPerUser, self.user) {
            return self.reply(ctx, ServerFrame::rate_limited(reference, &limited));
        }
        let command = SendMessage {
            sender: self.user,
            conversation,
            client_msg_id: client_msg_id.clone(),
            body,
        };
        let pending = PendingChat {
            reference,
            client_msg_id: Some(client_msg_id),
        };
        self.ask_writer(ctx, "chat.send", command, pending);
    }

    pub(super) fn chat_read(
        &mut self,
        ctx: &mut Ctx,
        reference: Option<Value>,
        conversation: ConversationId,
        message: MessageId,
    ) {
        let command = MarkRead {
            reader: self.user,
            conversation,
            message,
        };
        let pending = PendingChat {
            reference,
            client_msg_id: None,
        };
        self.ask_writer(ctx, "chat.read", command, pending);
    }

    /// Refuses a chat op. A server fault is logged and answered `unavailable`.
    fn chat_refusal(
        &mut self,
        ctx: &mut Ctx,
        op: &'static str,
        reference: Option<Value>,
        e: &ChatError,
    ) {
        let (code, message) = match e {
            ChatError::NotFound => (ErrorCode::NotFound, e.to_string()),
            ChatError::NotParty => (ErrorCode::Forbidden, e.to_string()),
            ChatError::Blocked => (ErrorCode::Blocked, e.to_string()),
            ChatError::Rejected => (ErrorCode::Rejected, e.to_string()),
            ChatError::UnknownMessage => (ErrorCode::Invalid, e.to_string()),
            ChatError::Invalid(errors) => (
                ErrorCode::Invalid,
                errors
                    .fields()
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ChatError::Db(_)
            | ChatError::Unavailable(_)
            | ChatError::DatabaseUnavailable(_)
            | ChatError::NotStored(_) => {
                log_fault(op, self.user, e);
                let message = if op == "chat.send" {
                    SEND_AGAIN
                } else {
                    TRY_AGAIN
                };
                (ErrorCode::Unavailable, message.into())
            }
        };
        self.refuse(ctx, reference, code, message);
    }

    pub(super) fn chat_typing(
        &mut self,
        ctx: &mut Ctx,
        reference: Option<Value>,
        conversation: ConversationId,
    ) {
        if let Some(parties) = self.parties.get(&conversation).copied() {
            return self.relay_typing(ctx, reference, conversation, parties);
        }
        let read = reads::conversation_parties(&self.state.pool, self.user, conversation);
        ctx.spawn(
            fut::wrap_future::<_, Self>(read).map(move |result, act, ctx| match result {
                Ok(parties) => {
                    act.parties.insert(conversation, parties);
                    act.relay_typing(ctx, reference, conversation, parties);
                }
                Err(e) => act.chat_refusal(ctx, "chat.typing", reference, &e),
            }),
        );
    }

    /// Typing is relayed to the other party, never stored, and rate-limited per conversation;
    /// between users kept apart by a block it is refused, as a message is.
    fn relay_typing(
        &mut self,
        ctx: &mut Ctx,
        reference: Option<Value>,
        conversation: ConversationId,
        parties: Parties,
    ) {
        let now = Instant::now();
        let bucket = self
            .typing
            .entry(conversation)
            .or_insert_with(|| TokenBucket::new(TYPING_BURST, TYPING_PER_SEC, now));
        if !bucket.try_take(now) {
            return self.refuse(
                ctx,
                reference,
                ErrorCode::RateLimited,
                "typing indicators are limited to one a second".into(),
            );
        }
        let Some(other) = parties.other(self.user) else {
            return;
        };
        let apart = reads::kept_apart(&self.state.pool, self.user, other);
        ctx.spawn(
            fut::wrap_future::<_, Self>(apart).map(move |result, act, ctx| match result {
                Ok(false) => act.state.broker.do_send(PublishEphemeral {
                    topic: user_topic(other),
                    event_type: CHAT_TYPING.to_owned(),
                    data: json!({ "conversation_id": conversation, "user_id": act.user }),
                }),
                Ok(true) => act.chat_refusal(ctx, "chat.typing", reference, &ChatError::Blocked),
                Err(e) => act.chat_refusal(ctx, "chat.typing", reference, &e),
            }),
        );
    }
}

impl Handler<Answered<Result<Message, ChatError>>> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Answered<Result<Message, ChatError>>, ctx: &mut Self::Context) {
        let Some(pending) = self.pending_chat.remove(&msg.ticket) else {
            return;
        };
        match msg.outcome {
            // The ack goes out only once the message is stored.
            Ok(message) => self.reply(
                ctx,
                ServerFrame::Ack {
                    reference: pending.reference,
                    client_msg_id: pending.client_msg_id,
                    message: Some(MessageView::from(&message)),
                },
            ),
            Err(e) => self.chat_refusal(ctx, "chat.send", pending.reference, &e),
        }
        self.release_own_topic(ctx);
    }
}

impl Handler<Answered<Result<(), ChatError>>> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Answered<Result<(), ChatError>>, ctx: &mut Self::Context) {
        let Some(pending) = self.pending_chat.remove(&msg.ticket) else {
            return;
        };
        match msg.outcome {
            Ok(()) => self.reply(
                ctx,
                ServerFrame::Ack {
                    reference: pending.reference,
                    client_msg_id: None,
                    message: None,
                },
            ),
            Err(e) => self.chat_refusal(ctx, "chat.read", pending.reference, &e),
        }
        self.release_own_topic(ctx);
    }
}
