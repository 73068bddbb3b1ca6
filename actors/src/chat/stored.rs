//! Storing chat: messages one by one, in one transaction, or (PostgreSQL) as array batches;
//! read markers. Each returns the outcomes and the events to publish after the commit.

use super::{conversation_of, ChatError, MarkRead, SendMessage};
use crate::domain::chat::{plan_batch, validate_message, MessageKey, Placement};
use crate::domain::contact::{screen, ChatFilter, Screened, CONTACT_DETAILS_FLAG};
use crate::events::Outbox;
use crate::store::chat::{self as rows, Body, Message};
use crate::store::models::Event;
use crate::store::{self, blocks, DbConnection, PooledConn};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

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

/// Stores `messages` in one transaction on PostgreSQL, in two statements whatever their
/// number (`rows::lock_batch` reads and locks, `rows::store_batch` writes), with the outcomes
/// `send_all` gives: a message refused before anything of it is written leaves the others
/// standing; a database failure fails the transaction. The conversations are locked in id
/// order, so batches of other writers or processes that share some wait rather than
/// deadlock; a message's seq and id are taken under its conversation's lock, so both grow
/// in the order messages reach the writer.
fn send_batch(
    conn: &mut PooledConn,
    messages: &[SendMessage],
    filter: ChatFilter,
) -> Result<Batch<Message>, ChatError> {
    conn.write_transaction(|conn| {
        let DbConnection::Postgresql(pg) = conn else {
            return Err(ChatError::NotStored(
                "array batches are for PostgreSQL".into(),
            ));
        };
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
        let candidates: Vec<usize> = (0..messages.len())
            .filter(|&i| answers[i].is_none())
            .collect();
        let keys: Vec<MessageKey<'_>> = candidates.iter().map(|&i| key(&messages[i])).collect();
        let locked = rows::lock_batch(pg, &keys)?;
        // The candidates that may be stored, and what each was stored as before, if it was.
        let mut accepted: Vec<(usize, Option<&Message>)> = Vec::with_capacity(keys.len());
        for (&i, stored_before) in candidates.iter().zip(&locked.stored_before) {
            let m = &messages[i];
            match locked.conversations.get(&m.conversation.0) {
                None => answers[i] = Some(Err(ChatError::NotFound)),
                Some(c) if !c.parties.includes(m.sender) => {
                    answers[i] = Some(Err(ChatError::NotParty))
                }
                Some(c) if c.kept_apart => answers[i] = Some(Err(ChatError::Blocked)),
                Some(_) => accepted.push((i, stored_before.as_ref())),
            }
        }
        let keys: Vec<MessageKey<'_>> = accepted.iter().map(|&(i, _)| key(&messages[i])).collect();
        let sent_before: HashSet<&MessageKey<'_>> = accepted
            .iter()
            .zip(&keys)
            .filter(|((_, before), _)| before.is_some())
            .map(|(_, key)| key)
            .collect();
        let plan = plan_batch(
            &keys,
            |c| locked.conversations.get(&c.0).map_or(0, |c| c.last_seq),
            |k| sent_before.contains(k),
        );
        // Each conversation's new messages take its reserved ids in order, as they take seqs.
        let mut next_id: HashMap<i64, std::slice::Iter<'_, i64>> = locked
            .reserved_ids
            .iter()
            .map(|(&c, ids)| (c, ids.iter()))
            .collect();
        let mut outcomes: Vec<(Message, bool)> = Vec::with_capacity(accepted.len());
        for (placement, &(i, stored_before)) in plan.placements.iter().zip(&accepted) {
            let m = &messages[i];
            let outcome = match *placement {
                Placement::New { seq } => {
                    let id = next_id
                        .get_mut(&m.conversation.0)
                        .and_then(|ids| ids.next())
                        .ok_or_else(|| ChatError::NotStored("no message id reserved".into()))?;
                    let body = checked[i].as_ref().map_err(|_| {
                        ChatError::NotStored("an accepted message was refused".into())
                    })?;
                    let message = Message {
                        id: *id,
                        conversation_id: m.conversation.0,
                        sender_id: m.sender.0,
                        client_msg_id: m.client_msg_id.clone(),
                        seq,
                        body: body.shown.clone().into_owned(),
                        created_at: now,
                        flags: body.flags.to_owned(),
                        original_body: body.original.map(str::to_owned),
                    };
                    (message, true)
                }
                Placement::StoredBefore => (
                    stored_before
                        .cloned()
                        .ok_or_else(|| ChatError::NotStored("no stored message".into()))?,
                    false,
                ),
                Placement::SameAs(first) => (
                    outcomes
                        .get(first)
                        .map(|(m, _)| m.clone())
                        .ok_or_else(|| ChatError::NotStored("no first message".into()))?,
                    false,
                ),
            };
            outcomes.push(outcome);
        }
        let mut outbox = Outbox::default();
        let mut new_messages = Vec::new();
        for (message, new) in &outcomes {
            if *new {
                let parties = locked.conversations[&message.conversation_id].parties;
                outbox.chat_message(message, [parties.buyer, parties.seller]);
                new_messages.push(message.clone());
            }
        }
        let conversations_after: Vec<(i64, i64, i64)> = plan
            .conversations
            .iter()
            .map(|c| (c.conversation.0, c.last_seq, outcomes[c.last_message].0.id))
            .collect();
        let events = if new_messages.is_empty() {
            Vec::new()
        } else {
            rows::store_batch(
                pg,
                &new_messages,
                &conversations_after,
                &outbox.into_pending(),
                now,
            )?
        };
        for ((i, _), (message, _)) in accepted.into_iter().zip(outcomes) {
            answers[i] = Some(Ok(message));
        }
        let answers = answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(ChatError::NotStored("no outcome".into()))))
            .collect();
        Ok(Batch { answers, events })
    })
}

fn key(m: &SendMessage) -> MessageKey<'_> {
    MessageKey {
        conversation: m.conversation,
        sender: m.sender,
        client_msg_id: &m.client_msg_id,
    }
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
