//! Conversations and messages. A message takes the conversation's next `seq` (the UPDATE
//! locks the conversation's row), so messages are strictly ordered; (sender, client_msg_id)
//! makes sending idempotent.

use super::prepared::{
    InsertMessages, MessagesSentBefore, NextMessageSeq, SetConversationsLast, SetLastMessage,
};
use super::schema::{conversations, messages};
use super::{is_unique_violation, DbConnection};
use crate::domain::chat::{plan_batch, MessageKey, Parties, Placement};
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
    conversations::table.find(id).first(conn).optional()
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
            .first::<Conversation>(conn)
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
    messages::table.find(id).first(conn).optional()
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
        .first::<Message>(conn)
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

/// The conversations with these ids, each locked until the transaction ends (PostgreSQL).
/// They are locked in id order, so two batches that share conversations cannot deadlock.
pub fn lock_all(pg: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<Conversation>> {
    conversations::table
        .filter(conversations::id.eq_any(ids))
        .order(conversations::id)
        .for_update()
        .load(pg)
}

/// Stores a batch of messages as `send` stores one, in a few statements whatever their
/// number (PostgreSQL): one reads which keys were sent before, one inserts the new
/// messages, one moves their conversations' last seq and last message. Returns each
/// message's (message, new) in order; a key repeated in the batch is stored once and
/// answered with that message. Call inside a write transaction, with every message's
/// conversation locked (`lock_all`) and in `conversations`.
pub fn send_many(
    pg: &mut PgConnection,
    batch: &[(MessageKey<'_>, Body<'_>)],
    conversations: &HashMap<i64, Conversation>,
    now: NaiveDateTime,
) -> QueryResult<Vec<(Message, bool)>> {
    let keys: Vec<MessageKey<'_>> = batch.iter().map(|(key, _)| *key).collect();
    let stored: Vec<Message> = MessagesSentBefore {
        conversations: &keys.iter().map(|k| k.conversation.0).collect::<Vec<_>>(),
        senders: &keys.iter().map(|k| k.sender.0).collect::<Vec<_>>(),
        client_msg_ids: &keys.iter().map(|k| k.client_msg_id).collect::<Vec<_>>(),
    }
    .load(pg)?;
    let stored: HashMap<MessageKey<'_>, &Message> =
        stored.iter().map(|m| (message_key(m), m)).collect();
    let plan = plan_batch(
        &keys,
        |c| conversations.get(&c.0).map_or(0, |c| c.last_seq),
        |key| stored.contains_key(key),
    );
    let new: Vec<(usize, i64)> = plan
        .placements
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Placement::New { seq } => Some((i, *seq)),
            _ => None,
        })
        .collect();
    let inserted: Vec<Message> = if new.is_empty() {
        Vec::new()
    } else {
        InsertMessages {
            conversations: &new
                .iter()
                .map(|&(i, _)| keys[i].conversation.0)
                .collect::<Vec<_>>(),
            senders: &new
                .iter()
                .map(|&(i, _)| keys[i].sender.0)
                .collect::<Vec<_>>(),
            client_msg_ids: &new
                .iter()
                .map(|&(i, _)| keys[i].client_msg_id)
                .collect::<Vec<_>>(),
            seqs: &new.iter().map(|&(_, seq)| seq).collect::<Vec<_>>(),
            bodies: &new
                .iter()
                .map(|&(i, _)| batch[i].1.shown)
                .collect::<Vec<_>>(),
            flags: &new
                .iter()
                .map(|&(i, _)| batch[i].1.flags)
                .collect::<Vec<_>>(),
            originals: &new
                .iter()
                .map(|&(i, _)| batch[i].1.original)
                .collect::<Vec<_>>(),
            created_at: now,
        }
        .load(pg)?
    };
    // (conversation, seq) is unique: it finds each new message's row whatever order
    // RETURNING gave them in.
    let by_seq: HashMap<(i64, i64), &Message> = inserted
        .iter()
        .map(|m| ((m.conversation_id, m.seq), m))
        .collect();
    let mut outcomes: Vec<(Message, bool)> = Vec::with_capacity(batch.len());
    for (i, placement) in plan.placements.iter().enumerate() {
        let outcome = match *placement {
            Placement::New { seq } => by_seq
                .get(&(keys[i].conversation.0, seq))
                .map(|m| ((*m).clone(), true)),
            Placement::StoredBefore => stored.get(&keys[i]).map(|m| ((*m).clone(), false)),
            Placement::SameAs(first) => outcomes.get(first).map(|(m, _)| (m.clone(), false)),
        };
        outcomes.push(outcome.ok_or(diesel::result::Error::NotFound)?);
    }
    if !plan.conversations.is_empty() {
        let mut last_message_ids = Vec::with_capacity(plan.conversations.len());
        for c in &plan.conversations {
            last_message_ids.push(outcomes[c.last_message].0.id);
        }
        SetConversationsLast {
            ids: &plan
                .conversations
                .iter()
                .map(|c| c.conversation.0)
                .collect::<Vec<_>>(),
            last_seqs: &plan
                .conversations
                .iter()
                .map(|c| c.last_seq)
                .collect::<Vec<_>>(),
            last_message_ids: &last_message_ids,
            at: now,
        }
        .execute(pg)?;
    }
    Ok(outcomes)
}

fn message_key(m: &Message) -> MessageKey<'_> {
    MessageKey {
        conversation: ConversationId(m.conversation_id),
        sender: UserId(m.sender_id),
        client_msg_id: &m.client_msg_id,
    }
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
