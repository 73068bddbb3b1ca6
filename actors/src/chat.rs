//! Chat commands: store a message or a read marker with its events in one transaction; the
//! caller hands the returned events to the broker after the commit. A conversation's row lock
//! orders its messages. Messages are stored by the `ChatWriter`, which group-commits them:
//! while one batch commits, new messages queue, and the next transaction takes all of them.

use crate::domain::chat::validate_message;
use crate::domain::{FieldErrors, UserId};
use crate::events::Outbox;
use crate::group_commit::Queue;
use crate::store::chat::{self as rows, Conversation, Message};
use crate::store::models::Event;
use crate::store::{self, DbConnection, Pool, PooledConn};
use actix::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("conversation not found")]
    NotFound,
    #[error("only the buyer and the seller take part in this conversation")]
    NotParty,
    #[error("the message is not in this conversation")]
    UnknownMessage,
    #[error("invalid message")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error("database connection unavailable: {0}")]
    Unavailable(#[from] r2d2::Error),
    #[error("the message could not be stored: {0}")]
    NotStored(String),
}

/// The conversation, if `user` is one of its parties.
pub fn conversation_of(
    conn: &mut DbConnection,
    user: UserId,
    conversation_id: i64,
) -> Result<Conversation, ChatError> {
    let conversation = rows::find(conn, conversation_id)?.ok_or(ChatError::NotFound)?;
    if !conversation.parties().includes(user) {
        return Err(ChatError::NotParty);
    }
    Ok(conversation)
}

/// A chat message to store.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<(Message, Vec<Event>), ChatError>")]
pub struct SendMessage {
    pub sender: UserId,
    pub conversation_id: i64,
    pub client_msg_id: String,
    pub body: String,
}

/// Stores `messages` in one transaction and returns each one's outcome: the message and the
/// events to publish after the commit. A message whose `client_msg_id` its sender used before in the
/// conversation is answered with the first one and writes nothing. A message refused before
/// anything of it is written (no such conversation, not a party) leaves the others standing;
/// a database failure fails them all.
pub fn send_all(conn: &mut PooledConn, messages: &[SendMessage]) -> Result<Vec<Sent>, ChatError> {
    conn.write_transaction(|conn| {
        let now = store::now();
        let mut outcomes = Vec::with_capacity(messages.len());
        for msg in messages {
            if let Err(errors) = validate_message(&msg.body, &msg.client_msg_id) {
                outcomes.push(Err(ChatError::Invalid(errors)));
                continue;
            }
            let conversation = match conversation_of(conn, msg.sender, msg.conversation_id) {
                Ok(c) => c,
                Err(ChatError::Db(e)) => return Err(ChatError::Db(e)),
                Err(refused) => {
                    outcomes.push(Err(refused));
                    continue;
                }
            };
            let (message, new) = rows::send(
                conn,
                conversation.id,
                msg.sender.0,
                &msg.client_msg_id,
                &msg.body,
                now,
            )?;
            let mut outbox = Outbox::default();
            if new {
                let parties = conversation.parties();
                outbox.chat_message(&message, [parties.buyer, parties.seller]);
            }
            outcomes.push(Ok((message, outbox.flush(conn)?)));
        }
        Ok(outcomes)
    })
}

/// A message's outcome: stored (or found stored before) with the events to publish.
pub type Sent = Result<(Message, Vec<Event>), ChatError>;

/// Stores chat messages. On SQLite, which has one writer at a time, they are group-committed:
/// one transaction (and one commit) per batch of messages that queued while the previous
/// batch was committing. On PostgreSQL each message is its own transaction, run at once, so
/// messages of different conversations commit side by side. Replies only after the commit;
/// the sender publishes the events (after its ack, so a sending socket sees the ack before
/// its own copy of the message).
pub struct ChatWriter {
    pool: Pool,
    queued: Queue<SendMessage, Sent>,
}

impl ChatWriter {
    pub fn new(pool: Pool) -> Self {
        ChatWriter {
            pool,
            queued: Queue::default(),
        }
    }
}

/// How many messages may wait in the writer's mailbox while a batch commits (senders beyond
/// it wait their turn): the most one batch takes.
const MAX_QUEUED_MESSAGES: usize = 1024;

impl Actor for ChatWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAX_QUEUED_MESSAGES);
    }
}

impl Handler<SendMessage> for ChatWriter {
    type Result = ResponseFuture<Sent>;

    fn handle(&mut self, msg: SendMessage, ctx: &mut Self::Context) -> Self::Result {
        if !self.pool.one_writer_at_a_time() {
            let pool = self.pool.clone();
            return Box::pin(async move {
                let stored = tokio::task::spawn_blocking(move || {
                    let mut conn = pool.get()?;
                    send_all(&mut conn, std::slice::from_ref(&msg))
                })
                .await;
                match stored {
                    Ok(Ok(mut outcomes)) => outcomes.pop().unwrap_or_else(|| {
                        Err(ChatError::NotStored("no outcome for the message".into()))
                    }),
                    Ok(Err(e)) => Err(e),
                    Err(panic) => Err(ChatError::NotStored(panic.to_string())),
                }
            });
        }
        let (outcome, schedule) = self.queued.push(msg);
        if schedule {
            ctx.notify(WriteQueued);
        }
        Box::pin(async move {
            outcome
                .await
                .unwrap_or_else(|_| Err(ChatError::NotStored("the chat writer stopped".into())))
        })
    }
}

/// Stores the queued messages as one transaction.
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct WriteQueued;

impl Handler<WriteQueued> for ChatWriter {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _msg: WriteQueued, _ctx: &mut Self::Context) -> Self::Result {
        let (messages, replies) = self.queued.take();
        let pool = self.pool.clone();
        let work = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            send_all(&mut conn, &messages)
        });
        AtomicResponse::new(Box::pin(fut::wrap_future::<_, Self>(work).map(
            move |joined, _act, _ctx| {
                let outcomes = match joined {
                    Ok(Ok(outcomes)) => outcomes,
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "a chat batch failed");
                        let why = e.to_string();
                        (0..replies.len())
                            .map(|_| Err(ChatError::NotStored(why.clone())))
                            .collect()
                    }
                    Err(panic) => {
                        tracing::error!(error = %panic, "a chat batch panicked");
                        Vec::new()
                    }
                };
                replies.answer(outcomes, || {
                    Err(ChatError::NotStored("the chat batch failed".into()))
                });
            },
        )))
    }
}

/// Marks the conversation read by `reader` up to `message_id`; the read receipt goes to both
/// parties. Moving the marker back changes nothing and sends nothing.
pub fn mark_read(
    conn: &mut PooledConn,
    reader: UserId,
    conversation_id: i64,
    message_id: i64,
) -> Result<Vec<Event>, ChatError> {
    conn.write_transaction(|conn| {
        let conversation = conversation_of(conn, reader, conversation_id)?;
        let message = rows::message(conn, message_id)?
            .filter(|m| m.conversation_id == conversation.id)
            .ok_or(ChatError::UnknownMessage)?;
        if !rows::mark_read(conn, &conversation, reader, message.id)? {
            return Ok(Vec::new());
        }
        let mut outbox = Outbox::default();
        let parties = conversation.parties();
        outbox.chat_read(
            conversation.id,
            reader,
            message.id,
            [parties.buyer, parties.seller],
        );
        Ok(outbox.flush(conn)?)
    })
}
