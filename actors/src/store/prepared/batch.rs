//! Whole transactions' writes as single statements (PostgreSQL), so that a batch costs a
//! round trip per step of the protocol, not per table: `PublishEvents` reserves the topics'
//! seqs, inserts the events and rings the doorbell in one statement; `StoreChatBatch` does the
//! same after inserting a batch of chat messages and moving their conversations on; and
//! `LockChatBatch` reads all a chat batch needs to decide (its conversations, locked, whether
//! their parties are kept apart by a block, the messages sent before under its keys) and
//! reserves the ids of its messages. Each has one fixed SQL text (arrays, not a row of values
//! per item). `PublishEvents` is kept prepared, so PostgreSQL does not plan it again; the two
//! chat statements join the batch to growing tables and are planned at each run
//! ([`plan_at_each_run`]), once per batch.

use super::{plan_at_each_run, MessageRow};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
use diesel::QueryResult;

/// A transaction's events, given column by column, and the doorbell to ring for them.
#[derive(Debug, Clone, Copy)]
pub struct EventArrays<'a> {
    /// Each topic written to, once, and how many events it gets.
    pub topics: &'a [&'a str],
    pub counts: &'a [i64],
    /// Each event's topic, and how many events of the same topic come after it here: its
    /// seq is the topic's last seq after the transaction less that.
    pub event_topics: &'a [&'a str],
    pub seqs_back: &'a [i64],
    pub event_types: &'a [&'a str],
    pub data: &'a [&'a str],
    pub created_at: chrono::NaiveDateTime,
    /// The NOTIFY channel of the doorbell.
    pub channel: &'a str,
}

/// Bytes of `<topic> <seq>` lines (counted as the topic's length plus 21, room for a seq
/// and the line's end) after which a doorbell's payload is cut and the next begins. A
/// payload is at most this plus its first line, well under PostgreSQL's 8,000 bytes.
pub const DOORBELL_CUT_BYTES: i64 = 6_000;

/// The events' common table expressions, then the statement's result: the events as
/// written. `t` reserves the seqs (the upsert locks each topic's row until commit, so
/// writers of one topic take turns and a seq never repeats), `e` inserts the events in the
/// order given, `n` rings the doorbell: one `pg_notify` of `<topic> <last seq>` lines per
/// payload, sent at commit. `n` writes nothing, so the result names it to have it run.
fn push_events<'b>(out: &mut AstPass<'_, 'b, Pg>, e: &'b EventArrays<'b>) -> QueryResult<()> {
    out.push_sql("t AS (INSERT INTO topic_seqs (topic, last_seq) SELECT * FROM unnest(");
    out.push_bind_param::<Array<Text>, _>(e.topics)?;
    out.push_sql("::text[], ");
    out.push_bind_param::<Array<BigInt>, _>(e.counts)?;
    out.push_sql(
        "::int8[]) ON CONFLICT (topic) DO UPDATE SET last_seq = topic_seqs.last_seq + \
         EXCLUDED.last_seq RETURNING topic, last_seq), \
         e AS (INSERT INTO events (topic, seq, event_type, data, created_at) \
         SELECT u.topic, t.last_seq - u.back, u.event_type, u.data, ",
    );
    out.push_bind_param::<Timestamp, _>(&e.created_at)?;
    out.push_sql(" FROM unnest(");
    out.push_bind_param::<Array<Text>, _>(e.event_topics)?;
    out.push_sql("::text[], ");
    out.push_bind_param::<Array<BigInt>, _>(e.seqs_back)?;
    out.push_sql("::int8[], ");
    out.push_bind_param::<Array<Text>, _>(e.event_types)?;
    out.push_sql("::text[], ");
    out.push_bind_param::<Array<Text>, _>(e.data)?;
    out.push_sql(
        "::text[]) WITH ORDINALITY AS u(topic, back, event_type, data, ord) \
         JOIN t ON t.topic = u.topic ORDER BY u.ord \
         RETURNING id, topic, seq, event_type, data, created_at), \
         n AS (SELECT pg_notify(",
    );
    out.push_bind_param::<Text, _>(e.channel)?;
    out.push_sql(
        ", string_agg(b.topic || ' ' || b.last_seq, E'\\n' ORDER BY b.topic)) FROM \
         (SELECT topic, last_seq, sum(octet_length(topic) + 21) OVER (ORDER BY topic) / ",
    );
    out.push_sql(&DOORBELL_CUT_BYTES.to_string());
    out.push_sql(
        " AS bell FROM t) b GROUP BY b.bell) \
         SELECT e.id, e.topic, e.seq, e.event_type, e.data, e.created_at FROM e \
         WHERE (SELECT count(*) FROM n) >= 0",
    );
    Ok(())
}

/// The events of a transaction in one statement (PostgreSQL): seqs reserved, events
/// inserted, doorbell rung. Returns the events as written.
#[derive(Debug, Clone, Copy)]
pub struct PublishEvents<'a> {
    pub events: EventArrays<'a>,
}

impl QueryFragment<Pg> for PublishEvents<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH ");
        push_events(&mut out, &self.events)
    }
}

kept_statement!(
    PublishEvents<'a>,
    returning(BigInt, Text, BigInt, Text, Text, Timestamp)
);

/// One row per message of a chat batch, in the batch's order: its index (from 1), its
/// conversation if there is one (id, buyer, seller, last seq, and whether a block keeps the
/// two apart), the message stored before under its key if any, and a message id reserved
/// for it.
pub type LockedMessageRow = (
    BigInt,
    Nullable<(BigInt, BigInt, BigInt, BigInt, Bool)>,
    Nullable<MessageRow>,
    BigInt,
);

/// Locks a chat batch's conversations (in id order, so that batches sharing some wait
/// rather than deadlock) and reads, per message, what deciding it needs; see
/// [`LockedMessageRow`]. Each reserved id is taken after its conversation's lock, so a
/// conversation's message ids grow with its seqs even across processes. The message sent
/// before under a key is a lateral read by the unique key, one index probe per message (its
/// `LIMIT 1` keeps PostgreSQL from flattening it back into a join): a join was planned as a
/// scan of all of `messages` while the table had no statistics yet.
/// Call inside a transaction.
#[derive(Debug, Clone, Copy)]
pub struct LockChatBatch<'a> {
    /// The batch's conversations, each once.
    pub conversation_ids: &'a [i64],
    /// Each message's key.
    pub conversations: &'a [i64],
    pub senders: &'a [i64],
    pub client_msg_ids: &'a [&'a str],
}

impl QueryFragment<Pg> for LockChatBatch<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        plan_at_each_run(&mut out);
        out.push_sql(
            "WITH l AS MATERIALIZED (SELECT id, buyer_id, seller_id, last_seq FROM \
             conversations WHERE id = ANY(",
        );
        out.push_bind_param::<Array<BigInt>, _>(self.conversation_ids)?;
        out.push_sql(
            "::int8[]) ORDER BY id FOR UPDATE) \
             SELECT k.ord, l.id, l.buyer_id, l.seller_id, l.last_seq, \
             CASE WHEN l.id IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM blocks x WHERE \
             (x.blocker_id = l.buyer_id AND x.blocked_id = l.seller_id) OR \
             (x.blocker_id = l.seller_id AND x.blocked_id = l.buyer_id)) END, \
             m.id, m.conversation_id, m.sender_id, m.client_msg_id, m.seq, m.body, \
             m.created_at, m.flags, m.original_body, nextval('messages_id_seq') \
             FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(self.conversations)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<BigInt>, _>(self.senders)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<Text>, _>(self.client_msg_ids)?;
        out.push_sql(
            "::text[]) WITH ORDINALITY AS k(conversation_id, sender_id, client_msg_id, ord) \
             LEFT JOIN l ON l.id = k.conversation_id \
             LEFT JOIN LATERAL (SELECT * FROM messages x WHERE \
             x.conversation_id = k.conversation_id AND x.sender_id = k.sender_id \
             AND x.client_msg_id = k.client_msg_id LIMIT 1) m ON true \
             ORDER BY k.ord",
        );
        Ok(())
    }
}

kept_statement!(LockChatBatch<'a>, returning LockedMessageRow);

/// Stores a decided chat batch in one statement (PostgreSQL): inserts the new messages
/// (with their reserved ids), sets each conversation's last seq and last message, then
/// publishes the events as [`PublishEvents`] does. Returns the events as written. Call
/// inside the transaction that ran [`LockChatBatch`].
#[derive(Debug, Clone, Copy)]
pub struct StoreChatBatch<'a> {
    pub ids: &'a [i64],
    pub conversations: &'a [i64],
    pub senders: &'a [i64],
    pub client_msg_ids: &'a [&'a str],
    pub seqs: &'a [i64],
    pub bodies: &'a [&'a str],
    pub flags: &'a [&'a str],
    pub originals: &'a [Option<&'a str>],
    /// Each conversation with new messages, its last seq and last message after the batch.
    pub conversation_ids: &'a [i64],
    pub last_seqs: &'a [i64],
    pub last_message_ids: &'a [i64],
    pub events: EventArrays<'a>,
}

impl QueryFragment<Pg> for StoreChatBatch<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        plan_at_each_run(&mut out);
        out.push_sql(
            "WITH m AS (INSERT INTO messages (id, conversation_id, sender_id, client_msg_id, \
             seq, body, flags, original_body, created_at) SELECT i, c, s, k, q, b, f, o, ",
        );
        out.push_bind_param::<Timestamp, _>(&self.events.created_at)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(self.ids)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<BigInt>, _>(self.conversations)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<BigInt>, _>(self.senders)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<Text>, _>(self.client_msg_ids)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<BigInt>, _>(self.seqs)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<Text>, _>(self.bodies)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Text>, _>(self.flags)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(self.originals)?;
        out.push_sql(
            "::text[]) AS u(i, c, s, k, q, b, f, o)), \
             c AS (UPDATE conversations SET last_seq = u.last_seq, \
             last_message_id = u.message_id, updated_at = ",
        );
        out.push_bind_param::<Timestamp, _>(&self.events.created_at)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(self.conversation_ids)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<BigInt>, _>(self.last_seqs)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<BigInt>, _>(self.last_message_ids)?;
        out.push_sql("::int8[]) AS u(id, last_seq, message_id) WHERE conversations.id = u.id), ");
        push_events(&mut out, &self.events)
    }
}

kept_statement!(
    StoreChatBatch<'a>,
    returning(BigInt, Text, BigInt, Text, Text, Timestamp)
);
