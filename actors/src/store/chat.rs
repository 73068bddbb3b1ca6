//! Conversations and messages. A message takes the conversation's next `seq` (the UPDATE
//! locks the conversation's row), so messages are strictly ordered; (sender, client_msg_id)
//! makes sending idempotent.

use super::events::{EventColumns, PendingEvent};
use super::models::Event;
use super::prepared::{LockChatBatch, NextMessageSeq, SetLastMessage, StoreChatBatch};
use super::schema::{conversations, messages};
use super::{is_unique_violation, DbConnection};
use crate::domain::chat::{MessageKey, Parties};
use crate::domain::{ConversationId, MessageId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::PgConnection;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Conversation {
    pub id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub last_seq: i64,
    pub last_message_id: Option<i64>,
    pub buyer_last_read_id: i64,
    pub seller_last_read_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Conversation {
    pub fn conversation_id(&self) -> ConversationId {
        ConversationId(self.id)
    }

    pub fn parties(&self) -> Parties {
        Parties {
            buyer: UserId(self.buyer_id),
            seller: UserId(self.seller_id),
        }
    }

    /// The last message `user` has read.
    pub fn last_read_by(&self, user: UserId) -> i64 {
        if user.0 == self.buyer_id {
            self.buyer_last_read_id
        } else {
            self.seller_last_read_id
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub sender_id: i64,
    pub client_msg_id: String,
    pub seq: i64,
    /// What both parties see (contact details masked by the chat filter).
    pub body: String,
    pub created_at: NaiveDateTime,
    /// Why the message was flagged, comma-separated (`contact_details`); empty if it was not.
    pub flags: String,
    /// The message as written, when the filter masked part of it (for moderators only).
    pub original_body: Option<String>,
}

impl Message {
    pub fn message_id(&self) -> MessageId {
        MessageId(self.id)
    }

    /// The message's flags.
    pub fn flag_list(&self) -> Vec<String> {
        self.flags
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A message's text as it is stored: what the parties see, its flags (comma-separated) and,
/// when the filter masked it, the original.
#[derive(Clone, Copy, Debug)]
pub struct Body<'a> {
    pub shown: &'a str,
    pub flags: &'a str,
    pub original: Option<&'a str>,
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Conversation>> {
    conversations::table.find(id).get_result(conn).optional()
}

/// The buyer's conversation about a listing, created if need be: (conversation, created).
pub fn open(
    conn: &mut DbConnection,
    listing_id: i64,
    buyer_id: i64,
    seller_id: i64,
    now: NaiveDateTime,
) -> QueryResult<(Conversation, bool)> {
    let existing = |conn: &mut DbConnection| {
        conversations::table
            .filter(conversations::listing_id.eq(listing_id))
            .filter(conversations::buyer_id.eq(buyer_id))
            .get_result::<Conversation>(conn)
            .optional()
    };
    if let Some(c) = existing(conn)? {
        return Ok((c, false));
    }
    let inserted = diesel::insert_into(conversations::table)
        .values((
            conversations::listing_id.eq(listing_id),
            conversations::buyer_id.eq(buyer_id),
            conversations::seller_id.eq(seller_id),
            conversations::created_at.eq(now),
            conversations::updated_at.eq(now),
        ))
        .returning(conversations::all_columns)
        .get_result(conn);
    match inserted {
        Ok(c) => Ok((c, true)),
        // Opened at the same moment by another request.
        Err(e) if is_unique_violation(&e) => existing(conn)?
            .map(|c| (c, false))
            .ok_or(diesel::result::Error::NotFound),
        Err(e) => Err(e),
    }
}

/// The user's conversations, most recently active first.
pub fn of_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<Conversation>> {
    conversations::table
        .filter(
            conversations::buyer_id
                .eq(user_id)
                .or(conversations::seller_id.eq(user_id)),
        )
        .order((conversations::updated_at.desc(), conversations::id.desc()))
        .limit(500)
        .load(conn)
}

pub fn message(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Message>> {
    messages::table.find(id).get_result(conn).optional()
}

/// Stores a message unless this sender already sent `client_msg_id` here: (message, new).
/// Call inside a write transaction.
pub fn send(
    conn: &mut DbConnection,
    conversation_id: i64,
    sender_id: i64,
    client_msg_id: &str,
    body: Body<'_>,
    now: NaiveDateTime,
) -> QueryResult<(Message, bool)> {
    let sent_before = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::sender_id.eq(sender_id))
        .filter(messages::client_msg_id.eq(client_msg_id))
        .get_result::<Message>(conn)
        .optional()?;
    if let Some(m) = sent_before {
        return Ok((m, false));
    }
    let seq: i64 = NextMessageSeq { conversation_id }.get_result(conn)?;
    let message: Message = diesel::insert_into(messages::table)
        .values((
            messages::conversation_id.eq(conversation_id),
            messages::sender_id.eq(sender_id),
            messages::client_msg_id.eq(client_msg_id),
            messages::seq.eq(seq),
            messages::body.eq(body.shown),
            messages::flags.eq(body.flags),
            messages::original_body.eq(body.original),
            messages::created_at.eq(now),
        ))
        .returning(messages::all_columns)
        .get_result(conn)?;
    SetLastMessage {
        conversation_id,
        message_id: message.id,
        at: now,
    }
    .execute(conn)?;
    Ok((message, true))
}

/// A chat batch's conversation as read under its lock (PostgreSQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockedConversation {
    pub parties: Parties,
    /// Its last message seq before the batch.
    pub last_seq: i64,
    /// Whether one of the parties blocked the other.
    pub kept_apart: bool,
}

/// What a chat batch needs to decide, read in one statement with its conversations locked
/// until the transaction ends (PostgreSQL; see `LockChatBatch`).
#[derive(Debug, Default)]
pub struct LockedBatch {
    /// The batch's conversations that exist.
    pub conversations: HashMap<i64, LockedConversation>,
    /// Per message, in the batch's order: the message stored before under its key, if any.
    pub stored_before: Vec<Option<Message>>,
    /// Per conversation, message ids reserved after its lock, ascending: at least as many
    /// as the batch has messages in it. Ids not used are simply skipped, as a sequence's are.
    pub reserved_ids: HashMap<i64, Vec<i64>>,
}

/// Locks the conversations of `keys` (in id order, so that batches sharing some wait rather
/// than deadlock) and reads what deciding the batch needs, in one statement. Call inside a
/// write transaction.
pub fn lock_batch(pg: &mut PgConnection, keys: &[MessageKey<'_>]) -> QueryResult<LockedBatch> {
    if keys.is_empty() {
        return Ok(LockedBatch::default());
    }
    let conversations: Vec<i64> = keys.iter().map(|k| k.conversation.0).collect();
    let mut ids = conversations.clone();
    ids.sort_unstable();
    ids.dedup();
    type Row = (
        i64,
        Option<(i64, i64, i64, i64, bool)>,
        Option<Message>,
        i64,
    );
    let rows: Vec<Row> = LockChatBatch {
        conversation_ids: &ids,
        conversations: &conversations,
        senders: &keys.iter().map(|k| k.sender.0).collect::<Vec<_>>(),
        client_msg_ids: &keys.iter().map(|k| k.client_msg_id).collect::<Vec<_>>(),
    }
    .load(pg)?;
    let mut batch = LockedBatch::default();
    for (_, conversation, stored_before, reserved) in rows {
        if let Some((id, buyer, seller, last_seq, kept_apart)) = conversation {
            batch.conversations.insert(
                id,
                LockedConversation {
                    parties: Parties {
                        buyer: UserId(buyer),
                        seller: UserId(seller),
                    },
                    last_seq,
                    kept_apart,
                },
            );
            batch.reserved_ids.entry(id).or_default().push(reserved);
        }
        batch.stored_before.push(stored_before);
    }
    for ids in batch.reserved_ids.values_mut() {
        ids.sort_unstable();
    }
    if batch.stored_before.len() != keys.len() {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(batch)
}

/// Stores a decided chat batch in one statement (PostgreSQL, see `StoreChatBatch`): the new
/// `messages` (ids reserved by `lock_batch`), each conversation's last seq and message
/// after it (`(conversation, last seq, last message id)`), and the events `pending`, with
/// their doorbell. Returns the events as written, in order. Call in the transaction that
/// ran `lock_batch`.
pub fn store_batch(
    pg: &mut PgConnection,
    messages: &[Message],
    conversations_after: &[(i64, i64, i64)],
    pending: &[PendingEvent],
    now: NaiveDateTime,
) -> QueryResult<Vec<Event>> {
    let events = EventColumns::of(pending);
    let mut written: Vec<Event> = StoreChatBatch {
        ids: &messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        conversations: &messages
            .iter()
            .map(|m| m.conversation_id)
            .collect::<Vec<_>>(),
        senders: &messages.iter().map(|m| m.sender_id).collect::<Vec<_>>(),
        client_msg_ids: &messages
            .iter()
            .map(|m| m.client_msg_id.as_str())
            .collect::<Vec<_>>(),
        seqs: &messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        bodies: &messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        flags: &messages
            .iter()
            .map(|m| m.flags.as_str())
            .collect::<Vec<_>>(),
        originals: &messages
            .iter()
            .map(|m| m.original_body.as_deref())
            .collect::<Vec<_>>(),
        conversation_ids: &conversations_after.iter().map(|c| c.0).collect::<Vec<_>>(),
        last_seqs: &conversations_after.iter().map(|c| c.1).collect::<Vec<_>>(),
        last_message_ids: &conversations_after.iter().map(|c| c.2).collect::<Vec<_>>(),
        events: events.arrays(now),
    }
    .load(pg)?;
    written.sort_by_key(|e| e.id);
    Ok(written)
}

/// A page of a conversation's messages, newest first, before message seq `before`.
pub fn page(
    conn: &mut DbConnection,
    conversation_id: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Message>> {
    let mut query = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .order(messages::seq.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(messages::seq.lt(before));
    }
    query.load(conn)
}

/// Messages in the conversation after `after_id` not sent by `user`.
pub fn unread_count(
    conn: &mut DbConnection,
    conversation_id: i64,
    user_id: i64,
    after_id: i64,
) -> QueryResult<i64> {
    messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::id.gt(after_id))
        .filter(messages::sender_id.ne(user_id))
        .count()
        .get_result(conn)
}

/// Moves `user`'s read marker forward to `message_id` (never back). True if it moved.
pub fn mark_read(
    conn: &mut DbConnection,
    conversation: &Conversation,
    user: UserId,
    message_id: i64,
) -> QueryResult<bool> {
    let moved = if user.0 == conversation.buyer_id {
        diesel::update(
            conversations::table
                .find(conversation.id)
                .filter(conversations::buyer_last_read_id.lt(message_id)),
        )
        .set(conversations::buyer_last_read_id.eq(message_id))
        .execute(conn)?
    } else {
        diesel::update(
            conversations::table
                .find(conversation.id)
                .filter(conversations::seller_last_read_id.lt(message_id)),
        )
        .set(conversations::seller_last_read_id.eq(message_id))
        .execute(conn)?
    };
    Ok(moved > 0)
}
