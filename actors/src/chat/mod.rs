//! Chat commands and their writer. `ChatWriter` stores messages, read markers and new
//! conversations; a message or a read marker commits with its events in one transaction, and
//! the writer answers, then publishes the events, in one place (`answer_then_publish`). A
//! conversation's row lock orders its messages. Messages are group-committed: while a batch
//! commits, new messages queue, and the next transaction takes all of them. On PostgreSQL a
//! batch is a few array statements whatever its size, and several writers commit side by
//! side, each for its own share of the conversations.

use crate::broker::{Broker, Publish};
use crate::domain::contact::ChatFilter;
use crate::domain::{ConversationId, FieldErrors, ListingId, MessageId, UserId};
use crate::group_commit::{Answered, Queue, Replies, Reply};
use crate::store::chat::{self as rows};
/// The rows the writer answers with.
pub use crate::store::chat::{Conversation, Message};
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
    /// One of the buyer and the seller blocked the other.
    #[error("one of you blocked the other")]
    Blocked,
    /// The chat filter (`reject`) refused the message for contact details.
    #[error("the message contains contact details or an outside payment handle; keep the conversation and payment on Bazaar")]
    Rejected,
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
            | ChatError::Blocked
            | ChatError::Rejected
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

mod removal;
mod stored;
mod timing;

pub use removal::{Removal, RemoveMessage};
pub use stored::Sent;
use stored::{mark_read, send_one, store_batch, Batch, Stored};
use timing::BatchTimes;

/// The one place the writer publishes, after the commit: each command is answered, then the
/// events of all of them go to the broker in commit order. Answering first puts a socket's
/// answer in its mailbox ahead of its own copy of the events, so its ack is written first.
fn answer_then_publish<T: Send + 'static>(
    broker: &Broker,
    replies: Replies<Result<T, ChatError>>,
    batch: Batch<T>,
) {
    replies.answer(batch.answers, || {
        Err(ChatError::NotStored("the chat batch failed".into()))
    });
    if !batch.events.is_empty() {
        broker.do_send(Publish {
            events: batch.events,
        });
    }
}

/// How the chat writer stores messages.
#[derive(Clone, Copy, Debug)]
pub struct ChatSettings {
    /// Writers committing side by side on PostgreSQL, each for its share of the
    /// conversations (SQLite, one writer at a time, has one).
    pub writers: usize,
    /// Each message in its own transaction, run at once, as before batching: kept to measure
    /// batching against.
    pub unbatched: bool,
    /// What is done with contact details in messages.
    pub filter: ChatFilter,
}

/// The writer that commits a conversation's messages: every message of a conversation goes
/// through the same one, which commits its batches one after another, so a conversation's
/// messages take their seqs in the order they reached the writer.
pub fn writer_of(conversation: ConversationId, writers: usize) -> usize {
    conversation.0.rem_euclid(writers.max(1) as i64) as usize
}

/// One writer's messages: those waiting, and whether a batch of them is committing.
#[derive(Default)]
struct Writer {
    queued: Queue<SendMessage, Result<Message, ChatError>>,
    committing: bool,
}

/// The chat writer. Messages are group-committed: each of `writers` commits one batch at a
/// time, of the messages of its conversations that queued while its previous batch was
/// committing; on SQLite, which has one writer at a time, there is one. With
/// `ChatSettings::unbatched` each message is its own transaction, run at once. Read markers
/// and new conversations run at once. Every command is answered only after its commit.
pub struct ChatWriter {
    pool: Pool,
    broker: Broker,
    unbatched: bool,
    filter: ChatFilter,
    writers: Vec<Writer>,
    batch_times: BatchTimes,
}

impl ChatWriter {
    pub fn new(pool: Pool, broker: Broker, settings: ChatSettings) -> Self {
        let writers = if pool.one_writer_at_a_time() {
            1
        } else {
            settings.writers.max(1)
        };
        ChatWriter {
            pool,
            broker,
            unbatched: settings.unbatched,
            filter: settings.filter,
            writers: (0..writers).map(|_| Writer::default()).collect(),
            batch_times: BatchTimes::default(),
        }
    }

    /// Runs `command` in its own transaction at once (not in a batch), then answers and
    /// publishes.
    fn run_alone<C, T>(
        &self,
        command: C,
        reply: Reply<Result<T, ChatError>>,
        run: impl FnOnce(&mut PooledConn, &C) -> Stored<T> + Send + 'static,
    ) where
        C: Send + 'static,
        T: Send + 'static,
    {
        let (pool, broker) = (self.pool.clone(), self.broker.clone());
        actix::spawn(async move {
            let outcome = pool
                .run::<_, ChatError, _>(move |conn| Ok(run(conn, &command)))
                .await;
            answer_then_publish(&broker, reply.into(), vec![outcome.and_then(|o| o)].into());
        });
    }

    fn send_message(
        &mut self,
        msg: SendMessage,
        reply: Reply<Result<Message, ChatError>>,
        ctx: &mut Context<Self>,
    ) {
        let filter = self.filter;
        if self.unbatched {
            return self.run_alone(msg, reply, move |conn, msg| send_one(conn, msg, filter));
        }
        let w = writer_of(msg.conversation, self.writers.len());
        if self.writers[w].queued.len() >= MAX_QUEUED_MESSAGES {
            // The database is not keeping up: say so now rather than queue without bound.
            return reply.send(Err(ChatError::DatabaseUnavailable(Outage::Busy)));
        }
        self.writers[w].queued.push_reply(msg, reply);
        if !self.writers[w].committing {
            self.commit_next(w, ctx);
        }
    }

    /// Commits writer `w`'s queued messages as one batch; when it is done, the messages
    /// that queued meanwhile go next.
    fn commit_next(&mut self, w: usize, ctx: &mut Context<Self>) {
        let writer = &mut self.writers[w];
        if writer.queued.is_empty() {
            return;
        }
        writer.committing = true;
        let (messages, replies) = writer.queued.take_up_to(MAX_BATCH_MESSAGES);
        let filter = self.filter;
        let work = self.pool.run(move |conn| {
            let started = std::time::Instant::now();
            let batch = store_batch(conn, &messages, filter);
            Ok((batch, started.elapsed()))
        });
        ctx.spawn(fut::wrap_future::<_, Self>(work).map(
            move |stored: Result<(Batch<Message>, std::time::Duration), ChatError>, act, ctx| {
                let batch = match stored {
                    Ok((batch, took)) => {
                        act.batch_times.record(batch.answers.len(), took);
                        batch
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "a chat batch failed");
                        Batch::failed(replies.len(), &e)
                    }
                };
                answer_then_publish(&act.broker, replies, batch);
                act.writers[w].committing = false;
                act.commit_next(w, ctx);
            },
        ));
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

/// The most messages one batch takes (the rest wait for the next), and how many commands
/// may wait in the writer's mailbox.
const MAX_BATCH_MESSAGES: usize = 1024;
/// The most messages one writer holds waiting; beyond it a message is answered "busy" (503,
/// or `unavailable` on a socket) at once, so memory stays bounded when the database falls behind.
const MAX_QUEUED_MESSAGES: usize = 16 * MAX_BATCH_MESSAGES;

impl Actor for ChatWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAX_BATCH_MESSAGES);
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
            // No conversation, new or old, is opened between users kept apart by a block.
            if store::blocks::between(conn, msg.buyer.0, msg.seller.0)? {
                return Err(ChatError::Blocked);
            }
            Ok(conn.write(|conn| {
                rows::open(conn, msg.listing.0, msg.buyer.0, msg.seller.0, store::now())
            })?)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_always_has_the_same_writer_and_all_writers_get_some() {
        let writers = 4;
        for id in [0, 1, 7, 1_000_003] {
            let w = writer_of(ConversationId(id), writers);
            assert!(w < writers);
            assert_eq!(w, writer_of(ConversationId(id), writers));
        }
        let used: std::collections::HashSet<usize> = (0..8)
            .map(|id| writer_of(ConversationId(id), writers))
            .collect();
        assert_eq!(used.len(), writers);
        assert_eq!(writer_of(ConversationId(5), 0), 0);
    }
}
