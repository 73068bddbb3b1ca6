//! Chat commands and their writer. `ChatWriter` stores messages, read markers and new
//! conversations; a message or a read marker commits with its events in one transaction, and
//! the writer answers, then publishes the events, in one place (`answer_then_publish`). A
//! conversation's row lock orders its messages. On SQLite messages are group-committed: while
//! one batch commits, new messages queue, and the next transaction takes all of them.

use crate::broker::{Broker, Publish};
use crate::domain::chat::validate_message;
use crate::domain::{ConversationId, FieldErrors, ListingId, MessageId, UserId};
use crate::events::Outbox;
use crate::group_commit::{Answered, Queue, Replies, Reply};
use crate::store::chat::{self as rows};
/// The rows the writer answers with.
pub use crate::store::chat::{Conversation, Message};
use crate::store::models::Event;
use crate::store::{self, DbConnection, Outage, Pool, PooledConn, StoreError};
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
    /// The database was busy or unreachable (a message batch's shared failure).
    #[error(transparent)]
    DatabaseUnavailable(Outage),
    #[error("the message could not be stored: {0}")]
    NotStored(String),
}

impl ChatError {
    /// The outage this failure means, if it means one (see [`Outage`]).
    pub fn outage(&self) -> Option<Outage> {
        match self {
            ChatError::Db(e) => store::query_outage(e),
            ChatError::Unavailable(e) => Some(store::pool_outage(e)),
            ChatError::DatabaseUnavailable(outage) => Some(*outage),
            ChatError::NotFound
            | ChatError::NotParty
            | ChatError::UnknownMessage
            | ChatError::Invalid(_)
            | ChatError::NotStored(_) => None,
        }
    }

    /// The failure of a batch that failed as a whole, for each of its messages: a busy or
    /// lost database stays unavailable; anything else is a message not stored.
    fn for_each_in_batch(&self) -> ChatError {
        match self.outage() {
            Some(outage) => ChatError::DatabaseUnavailable(outage),
            None => ChatError::NotStored(self.to_string()),
        }
    }
}

impl From<StoreError> for ChatError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Pool(e) => ChatError::Unavailable(e),
            StoreError::Query(e) => ChatError::Db(e),
            e @ (StoreError::Task(_) | StoreError::Migration(_) | StoreError::Config(_)) => {
                ChatError::NotStored(e.to_string())
            }
        }
    }
}

/// The conversation, if `user` is one of its parties.
pub fn conversation_of(
    conn: &mut DbConnection,
    user: UserId,
    conversation: ConversationId,
) -> Result<Conversation, ChatError> {
    let conversation = rows::find(conn, conversation.0)?.ok_or(ChatError::NotFound)?;
    if !conversation.parties().includes(user) {
        return Err(ChatError::NotParty);
    }
    Ok(conversation)
}

/// A chat message to store. Answered once it is stored (or was stored before).
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<Message, ChatError>")]
pub struct SendMessage {
    pub sender: UserId,
    pub conversation: ConversationId,
    pub client_msg_id: String,
    pub body: String,
}

/// Moves `reader`'s read marker in a conversation forward to `message`.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<(), ChatError>")]
pub struct MarkRead {
    pub reader: UserId,
    pub conversation: ConversationId,
    pub message: MessageId,
}

/// Opens the buyer's conversation with a listing's seller, or finds it: (conversation,
/// created). The caller has checked that the buyer may see the listing and is not its seller.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Result<(Conversation, bool), ChatError>")]
pub struct OpenConversation {
    pub listing: ListingId,
    pub buyer: UserId,
    pub seller: UserId,
}

/// A command from an actor (a socket session) that takes the answer in its mailbox, tagged
/// with `ticket`, rather than awaiting it: see `Reply::Mailbox`.
pub struct AnswerInMailbox<C: actix::Message>
where
    C::Result: Send,
{
    pub command: C,
    pub ticket: u64,
    pub answer_to: Recipient<Answered<C::Result>>,
}

impl<C: actix::Message> actix::Message for AnswerInMailbox<C>
where
    C::Result: Send,
{
    type Result = ();
}

impl<C: actix::Message> AnswerInMailbox<C>
where
    C::Result: Send,
{
    fn split(self) -> (C, Reply<C::Result>) {
        let reply = Reply::Mailbox {
            to: self.answer_to,
            ticket: self.ticket,
        };
        (self.command, reply)
    }
}

/// A command's outcome as stored: its answer and the events to publish after the commit.
type Stored<T> = Result<(T, Vec<Event>), ChatError>;

/// A message's outcome: stored (or found stored before) with the events to publish.
pub type Sent = Stored<Message>;

/// Stores `messages` in one transaction and returns each one's outcome: the message and the
/// events to publish after the commit. A message whose `client_msg_id` its sender used before
/// in the conversation is answered with the first one and writes nothing. A message refused
/// before anything of it is written (no such conversation, not a party) leaves the others
/// standing; a database failure fails them all.
fn send_all(conn: &mut PooledConn, messages: &[SendMessage]) -> Result<Vec<Sent>, ChatError> {
    conn.write_transaction(|conn| {
        let now = store::now();
        let mut outcomes = Vec::with_capacity(messages.len());
        for msg in messages {
            if let Err(errors) = validate_message(&msg.body, &msg.client_msg_id) {
                outcomes.push(Err(ChatError::Invalid(errors)));
                continue;
            }
            let conversation = match conversation_of(conn, msg.sender, msg.conversation) {
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

/// Marks the conversation read by `reader` up to `message`; the read receipt goes to both
/// parties. Moving the marker back changes nothing and sends nothing.
fn mark_read(conn: &mut PooledConn, msg: &MarkRead) -> Stored<()> {
    conn.write_transaction(|conn| {
        let conversation = conversation_of(conn, msg.reader, msg.conversation)?;
        let message = rows::message(conn, msg.message.0)?
            .filter(|m| m.conversation_id == conversation.id)
            .ok_or(ChatError::UnknownMessage)?;
        if !rows::mark_read(conn, &conversation, msg.reader, message.id)? {
            return Ok(((), Vec::new()));
        }
        let mut outbox = Outbox::default();
        let parties = conversation.parties();
        outbox.chat_read(
            conversation.conversation_id(),
            msg.reader,
            message.message_id(),
            [parties.buyer, parties.seller],
        );
        Ok(((), outbox.flush(conn)?))
    })
}

/// The one place the writer publishes, after the commit: each command is answered, then the
/// events of all of them go to the broker in commit order. Answering first puts a socket's
/// answer in its mailbox ahead of its own copy of the events, so its ack is written first.
fn answer_then_publish<T: Send + 'static>(
    broker: &Addr<Broker>,
    replies: Replies<Result<T, ChatError>>,
    outcomes: Vec<Stored<T>>,
) {
    let mut events = Vec::new();
    let answers: Vec<_> = outcomes
        .into_iter()
        .map(|outcome| {
            outcome.map(|(answer, mut published)| {
                events.append(&mut published);
                answer
            })
        })
        .collect();
    replies.answer(answers, || {
        Err(ChatError::NotStored("the chat batch failed".into()))
    });
    if !events.is_empty() {
        broker.do_send(Publish { events });
    }
}

/// The chat writer. On SQLite, which has one writer at a time, messages are group-committed:
/// one transaction (and one commit) per batch of messages that queued while the previous
/// batch was committing. On PostgreSQL each message is its own transaction, run at once, so
/// messages of different conversations commit side by side. Read markers and new
/// conversations run at once on both. Every command is answered only after its commit.
pub struct ChatWriter {
    pool: Pool,
    broker: Addr<Broker>,
    queued: Queue<SendMessage, Result<Message, ChatError>>,
}

impl ChatWriter {
    pub fn new(pool: Pool, broker: Addr<Broker>) -> Self {
        ChatWriter {
            pool,
            broker,
            queued: Queue::default(),
        }
    }

    /// Runs `command` in its own transaction at once (not in a batch), then answers and
    /// publishes.
    fn run_alone<C, T>(
        &self,
        command: C,
        reply: Reply<Result<T, ChatError>>,
        run: fn(&mut PooledConn, &C) -> Stored<T>,
    ) where
        C: Send + 'static,
        T: Send + 'static,
    {
        let (pool, broker) = (self.pool.clone(), self.broker.clone());
        actix::spawn(async move {
            let outcome = pool
                .run::<_, ChatError, _>(move |conn| Ok(run(conn, &command)))
                .await;
            answer_then_publish(&broker, reply.into(), vec![outcome.and_then(|o| o)]);
        });
    }

    fn send_message(
        &mut self,
        msg: SendMessage,
        reply: Reply<Result<Message, ChatError>>,
        ctx: &mut Context<Self>,
    ) {
        if !self.pool.one_writer_at_a_time() {
            return self.run_alone(msg, reply, |conn, msg| {
                send_all(conn, std::slice::from_ref(msg))?
                    .pop()
                    .unwrap_or_else(|| {
                        Err(ChatError::NotStored("no outcome for the message".into()))
                    })
            });
        }
        if self.queued.push_reply(msg, reply) {
            ctx.notify(WriteQueued);
        }
    }

    fn mark_read(&mut self, msg: MarkRead, reply: Reply<Result<(), ChatError>>) {
        self.run_alone(msg, reply, mark_read);
    }
}

/// Awaits a caller's answer.
async fn answer<T>(
    outcome: tokio::sync::oneshot::Receiver<Result<T, ChatError>>,
) -> Result<T, ChatError> {
    outcome
        .await
        .unwrap_or_else(|_| Err(ChatError::NotStored("the chat writer stopped".into())))
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
    type Result = ResponseFuture<Result<Message, ChatError>>;

    fn handle(&mut self, msg: SendMessage, ctx: &mut Self::Context) -> Self::Result {
        let (reply, outcome) = Reply::caller();
        self.send_message(msg, reply, ctx);
        Box::pin(answer(outcome))
    }
}

impl Handler<AnswerInMailbox<SendMessage>> for ChatWriter {
    type Result = ();

    fn handle(&mut self, msg: AnswerInMailbox<SendMessage>, ctx: &mut Self::Context) {
        let (command, reply) = msg.split();
        self.send_message(command, reply, ctx);
    }
}

impl Handler<MarkRead> for ChatWriter {
    type Result = ResponseFuture<Result<(), ChatError>>;

    fn handle(&mut self, msg: MarkRead, _ctx: &mut Self::Context) -> Self::Result {
        let (reply, outcome) = Reply::caller();
        self.mark_read(msg, reply);
        Box::pin(answer(outcome))
    }
}

impl Handler<AnswerInMailbox<MarkRead>> for ChatWriter {
    type Result = ();

    fn handle(&mut self, msg: AnswerInMailbox<MarkRead>, _ctx: &mut Self::Context) {
        let (command, reply) = msg.split();
        self.mark_read(command, reply);
    }
}

impl Handler<OpenConversation> for ChatWriter {
    type Result = ResponseFuture<Result<(Conversation, bool), ChatError>>;

    fn handle(&mut self, msg: OpenConversation, _ctx: &mut Self::Context) -> Self::Result {
        Box::pin(self.pool.run(move |conn| {
            Ok(conn.write(|conn| {
                rows::open(conn, msg.listing.0, msg.buyer.0, msg.seller.0, store::now())
            })?)
        }))
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
        let work = self.pool.run(move |conn| send_all(conn, &messages));
        AtomicResponse::new(Box::pin(fut::wrap_future::<_, Self>(work).map(
            move |stored, act, _ctx| {
                let outcomes = match stored {
                    Ok(outcomes) => outcomes,
                    Err(e) => {
                        tracing::error!(error = %e, "a chat batch failed");
                        (0..replies.len())
                            .map(|_| Err(e.for_each_in_batch()))
                            .collect()
                    }
                };
                answer_then_publish(&act.broker, replies, outcomes);
            },
        )))
    }
}
