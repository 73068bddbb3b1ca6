//! Storing chat: messages one by one, in one transaction, or (PostgreSQL) as array batches;
//! read markers. Each returns the outcomes and the events to publish after the commit.

use super::{conversation_of, ChatError, MarkRead, SendMessage};
use crate::domain::block::kept_apart;
use crate::domain::chat::{validate_message, MessageKey};
use crate::domain::contact::{screen, ChatFilter, Screened, CONTACT_DETAILS_FLAG};
use crate::events::Outbox;
use crate::store::chat::{self as rows, Body, Conversation, Message};
use crate::store::models::Event;
use crate::store::{self, blocks, DbConnection, PooledConn};
use std::borrow::Cow;
use std::collections::HashMap;

/// A message's text once checked: what the parties see, its flags, and the original if the
/// filter masked it.
struct Checked<'a> {
    shown: Cow<'a, str>,
    flags: &'static str,
    original: Option<&'a str>,
}

impl Checked<'_> {
    fn body(&self) -> Body<'_> {
        Body {
            shown: &self.shown,
            flags: self.flags,
            original: self.original,
        }
    }
}

/// Validates a message and applies the chat filter to it (before anything is stored).
fn check(msg: &SendMessage, filter: ChatFilter) -> Result<Checked<'_>, ChatError> {
    validate_message(&msg.body, &msg.client_msg_id).map_err(ChatError::Invalid)?;
    match screen(&msg.body, filter) {
        Screened::Clean => Ok(Checked {
            shown: Cow::Borrowed(&msg.body),
            flags: "",
            original: None,
        }),
        Screened::Masked { shown } => Ok(Checked {
            shown: Cow::Owned(shown),
            flags: CONTACT_DETAILS_FLAG,
            original: Some(&msg.body),
        }),
        Screened::Rejected => Err(ChatError::Rejected),
    }
}

/// A command's outcome as stored: its answer and the events to publish after the commit.
pub(super) type Stored<T> = Result<(T, Vec<Event>), ChatError>;

/// A message's outcome: stored (or found stored before) with the events to publish.
pub type Sent = Stored<Message>;

/// A batch's outcome: each command's answer in order, and the events of all of them, to
/// publish after the commit.
pub(super) struct Batch<T> {
    pub(super) answers: Vec<Result<T, ChatError>>,
    pub(super) events: Vec<Event>,
}

impl<T> From<Vec<Stored<T>>> for Batch<T> {
    fn from(outcomes: Vec<Stored<T>>) -> Self {
        let mut events = Vec::new();
        let answers = outcomes
            .into_iter()
            .map(|outcome| {
                outcome.map(|(answer, mut published)| {
                    events.append(&mut published);
                    answer
                })
            })
            .collect();
        Batch { answers, events }
    }
}

impl<T> Batch<T> {
    /// Every one of `commands` failed with `why`.
    pub(super) fn failed(commands: usize, why: &ChatError) -> Self {
        Batch {
            answers: (0..commands)
                .map(|_| Err(why.for_each_in_batch()))
                .collect(),
            events: Vec::new(),
        }
    }
}

/// Stores `messages` in one transaction and returns each one's outcome: the message and the
/// events to publish after the commit. A message whose `client_msg_id` its sender used before
/// in the conversation is answered with the first one and writes nothing. A message refused
/// before anything of it is written (no such conversation, not a party) leaves the others
/// standing; a database failure fails them all.
fn send_all(
    conn: &mut PooledConn,
    messages: &[SendMessage],
    filter: ChatFilter,
) -> Result<Vec<Sent>, ChatError> {
    conn.write_transaction(|conn| {
        let now = store::now();
        let mut outcomes = Vec::with_capacity(messages.len());
        for msg in messages {
            let checked = match check(msg, filter) {
                Ok(checked) => checked,
                Err(refused) => {
                    outcomes.push(Err(refused));
                    continue;
                }
            };
            let conversation = match conversation_of(conn, msg.sender, msg.conversation) {
                Ok(c) => c,
                Err(ChatError::Db(e)) => return Err(ChatError::Db(e)),
                Err(refused) => {
                    outcomes.push(Err(refused));
                    continue;
                }
            };
            if blocks::between(conn, conversation.buyer_id, conversation.seller_id)? {
                outcomes.push(Err(ChatError::Blocked));
                continue;
            }
            let (message, new) = rows::send(
                conn,
                conversation.id,
                msg.sender.0,
                &msg.client_msg_id,
                checked.body(),
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

/// Stores one message in its own transaction.
pub(super) fn send_one(conn: &mut PooledConn, msg: &SendMessage, filter: ChatFilter) -> Sent {
    send_all(conn, std::slice::from_ref(msg), filter)?
        .pop()
        .unwrap_or_else(|| Err(ChatError::NotStored("no outcome for the message".into())))
}

/// Stores `messages` in one transaction on PostgreSQL, in a few statements whatever their
/// number (see `rows::send_many`), with the outcomes `send_all` gives: a message refused
/// before anything of it is written leaves the others standing; a database failure fails
/// the transaction. The conversations are locked in id order, so batches of other writers
/// or processes that share some wait rather than deadlock.
fn send_batch(
    conn: &mut PooledConn,
    messages: &[SendMessage],
    filter: ChatFilter,
) -> Result<Batch<Message>, ChatError> {
    conn.write_transaction(|conn| {
        let now = store::now();
        let checked: Vec<Result<Checked<'_>, ChatError>> =
            messages.iter().map(|m| check(m, filter)).collect();
        let mut answers: Vec<Option<Result<Message, ChatError>>> = checked
            .iter()
            .map(|c| match c {
                Ok(_) => None,
                Err(ChatError::Invalid(errors)) => Some(Err(ChatError::Invalid(errors.clone()))),
                Err(_) => Some(Err(ChatError::Rejected)),
            })
            .collect();
        let mut ids: Vec<i64> = messages
            .iter()
            .zip(&answers)
            .filter(|(_, answer)| answer.is_none())
            .map(|(m, _)| m.conversation.0)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let DbConnection::Postgresql(pg) = &mut *conn else {
            return Err(ChatError::NotStored(
                "array batches are for PostgreSQL".into(),
            ));
        };
        let conversations: HashMap<i64, Conversation> = rows::lock_all(pg, &ids)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        // The blocks between the batch's parties, in one query.
        let mut parties: Vec<i64> = conversations
            .values()
            .flat_map(|c| [c.buyer_id, c.seller_id])
            .collect();
        parties.sort_unstable();
        parties.dedup();
        let blocked = blocks::pairs_among(conn, &parties)?;
        let mut accepted = Vec::with_capacity(messages.len());
        for (i, (m, answer)) in messages.iter().zip(answers.iter_mut()).enumerate() {
            if answer.is_some() {
                continue;
            }
            match conversations.get(&m.conversation.0) {
                None => *answer = Some(Err(ChatError::NotFound)),
                Some(c) if !c.parties().includes(m.sender) => {
                    *answer = Some(Err(ChatError::NotParty))
                }
                Some(c) if kept_apart(&blocked, c.parties().buyer, c.parties().seller) => {
                    *answer = Some(Err(ChatError::Blocked))
                }
                Some(_) => accepted.push(i),
            }
        }
        let DbConnection::Postgresql(pg) = &mut *conn else {
            return Err(ChatError::NotStored(
                "array batches are for PostgreSQL".into(),
            ));
        };
        let batch: Vec<(MessageKey<'_>, Body<'_>)> = accepted
            .iter()
            .filter_map(|&i| {
                let m = &messages[i];
                let key = MessageKey {
                    conversation: m.conversation,
                    sender: m.sender,
                    client_msg_id: &m.client_msg_id,
                };
                checked[i].as_ref().ok().map(|c| (key, c.body()))
            })
            .collect();
        let sent = rows::send_many(pg, &batch, &conversations, now)?;
        let mut outbox = Outbox::default();
        for (&i, (message, new)) in accepted.iter().zip(sent) {
            if new {
                let parties = conversations[&message.conversation_id].parties();
                outbox.chat_message(&message, [parties.buyer, parties.seller]);
            }
            answers[i] = Some(Ok(message));
        }
        let events = outbox.flush(conn)?;
        let answers = answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(ChatError::NotStored("no outcome".into()))))
            .collect();
        Ok(Batch { answers, events })
    })
}

/// Stores a batch of messages in one transaction: array statements on PostgreSQL, a
/// statement per message on SQLite (in-process, where a statement costs no round trip). If
/// the transaction fails, each message is tried again in a transaction of its own, so a
/// message that cannot be stored fails alone and its neighbours are stored.
pub(super) fn store_batch(
    conn: &mut PooledConn,
    messages: &[SendMessage],
    filter: ChatFilter,
) -> Batch<Message> {
    let stored = match &**conn {
        DbConnection::Postgresql(_) => send_batch(conn, messages, filter),
        DbConnection::Sqlite(_) => send_all(conn, messages, filter).map(Batch::from),
    };
    stored.unwrap_or_else(|e| {
        if e.outage().is_some() {
            // The connection is gone or the database busy: one by one would fail the same way.
            return Batch::failed(messages.len(), &e);
        }
        tracing::warn!(error = %e, messages = messages.len(), "a chat batch failed; storing its messages one by one");
        let outcomes: Vec<Sent> = messages
            .iter()
            .map(|m| send_one(conn, m, filter))
            .collect();
        outcomes.into()
    })
}

/// Marks the conversation read by `reader` up to `message`; the read receipt goes to both
/// parties. Moving the marker back changes nothing and sends nothing.
pub(super) fn mark_read(conn: &mut PooledConn, msg: &MarkRead) -> Stored<()> {
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
