//! Hot statements that Diesel would parse and plan on every call: it never keeps an `UPDATE`,
//! an upsert's `DO UPDATE` or a `sql_query` as a prepared statement (each could vary). These
//! have one fixed SQL text each, so they are written as query types of their own that the
//! connection's statement cache keeps, keyed by type. On SQLite that saves the statement's
//! compilation on every call (measured: an UPDATE took 23 µs through the query builder, 11 µs
//! as a kept statement); on PostgreSQL, the parse and the plan.

use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
use diesel::QueryResult;

/// What every kept statement needs besides its SQL: a query id of its own type (the cache
/// key), its result type if it returns rows, and the `RunQueryDsl` methods.
macro_rules! kept_statement {
    ($name:ident $(, returning $sql_type:ty)?) => {
        impl diesel::query_builder::QueryId for $name {
            type QueryId = $name;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        $(impl diesel::query_builder::Query for $name {
            type SqlType = $sql_type;
        })?
        impl<Conn> diesel::RunQueryDsl<Conn> for $name {}
    };
    ($name:ident<$borrowed:lifetime> $(, returning $sql_type:ty)?) => {
        impl diesel::query_builder::QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        $(impl diesel::query_builder::Query for $name<'_> {
            type SqlType = $sql_type;
        })?
        impl<Conn> diesel::RunQueryDsl<Conn> for $name<'_> {}
    };
}

/// Marks a statement run once per batch, whose best plan depends on the sizes of tables that
/// grow under it (a batch's arrays joined to `messages`, `events`, `conversations`), to be
/// planned by PostgreSQL at every run rather than kept prepared. A kept statement gets a
/// generic plan after five runs, costed with the table sizes of that moment and kept for the
/// connection's life: on a new database that was a sequential scan, so at 35,000 messages a
/// chat batch's lock took 10–17 ms and a relay read of the events 48 ms. Planned at each run
/// (once per batch, not per message) they stay index lookups.
pub(crate) fn plan_at_each_run<DB: Backend>(out: &mut AstPass<'_, '_, DB>) {
    out.unsafe_to_cache_prepared();
}

/// `UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq`: the
/// conversation's next message seq (on PostgreSQL it locks the row until commit).
#[derive(Debug, Clone, Copy)]
pub struct NextMessageSeq {
    pub conversation_id: i64,
}

impl<DB> QueryFragment<DB> for NextMessageSeq
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.conversation_id)?;
        out.push_sql(" RETURNING last_seq");
        Ok(())
    }
}

kept_statement!(NextMessageSeq, returning BigInt);

/// `UPDATE conversations SET last_message_id = ?, updated_at = ? WHERE id = ?`.
#[derive(Debug, Clone, Copy)]
pub struct SetLastMessage {
    pub conversation_id: i64,
    pub message_id: i64,
    pub at: chrono::NaiveDateTime,
}

impl<DB> QueryFragment<DB> for SetLastMessage
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
    chrono::NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE conversations SET last_message_id = ");
        out.push_bind_param::<BigInt, _>(&self.message_id)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.conversation_id)?;
        Ok(())
    }
}

kept_statement!(SetLastMessage);

/// `UPDATE listings SET like_count = like_count + ? WHERE id = ?`.
#[derive(Debug, Clone, Copy)]
pub struct AddLikes {
    pub listing_id: i64,
    pub delta: i64,
}

impl<DB> QueryFragment<DB> for AddLikes
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE listings SET like_count = like_count + ");
        out.push_bind_param::<BigInt, _>(&self.delta)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.listing_id)?;
        Ok(())
    }
}

kept_statement!(AddLikes);

/// Reserves `count` seqs of one topic; returns the topic's last seq after it (SQLite, a topic
/// at a time; the row is created at the first event).
#[derive(Debug, Clone, Copy)]
pub struct ReserveTopicSeqs<'a> {
    pub topic: &'a str,
    pub count: i64,
}

impl<DB> QueryFragment<DB> for ReserveTopicSeqs<'_>
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO topic_seqs (topic, last_seq) VALUES (");
        out.push_bind_param::<Text, _>(self.topic)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.count)?;
        out.push_sql(
            ") ON CONFLICT (topic) DO UPDATE SET last_seq = topic_seqs.last_seq + excluded.last_seq \
             RETURNING last_seq",
        );
        Ok(())
    }
}

kept_statement!(ReserveTopicSeqs<'a>, returning BigInt);

/// Moves one user's balances by the given amounts unless either would go below zero; touches
/// one row if it moved (SQLite, a wallet at a time).
#[derive(Debug, Clone, Copy)]
pub struct MoveWallet {
    pub user_id: i64,
    pub available: i64,
    pub escrow: i64,
}

impl<DB> QueryFragment<DB> for MoveWallet
where
    DB: Backend,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE wallets SET available_cents = available_cents + ");
        out.push_bind_param::<BigInt, _>(&self.available)?;
        out.push_sql(", escrow_cents = escrow_cents + ");
        out.push_bind_param::<BigInt, _>(&self.escrow)?;
        out.push_sql(" WHERE user_id = ");
        out.push_bind_param::<BigInt, _>(&self.user_id)?;
        out.push_sql(" AND available_cents + ");
        out.push_bind_param::<BigInt, _>(&self.available)?;
        out.push_sql(" >= 0 AND escrow_cents + ");
        out.push_bind_param::<BigInt, _>(&self.escrow)?;
        out.push_sql(" >= 0");
        Ok(())
    }
}

kept_statement!(MoveWallet);

/// The message columns, as `messages::all_columns` has them.
type MessageRow = (
    BigInt,
    BigInt,
    BigInt,
    Text,
    BigInt,
    Text,
    Timestamp,
    Text,
    Nullable<Text>,
);

/// The events of several topics, each after a seq and up to another, in one statement
/// (PostgreSQL): `(topic, seq)` is unique, so each range is one index scan. Rows come by topic,
/// then seq. Planned at each run ([`plan_at_each_run`]), and each range is its own lateral
/// read (`OFFSET 0` keeps PostgreSQL from flattening it back into a join): a join of the
/// ranges to `events` was planned as a scan of the whole table while `events` had no
/// statistics yet (a new database), 14 ms a read at 140,000 events.
#[derive(Debug, Clone, Copy)]
pub struct ReadEventRanges<'a> {
    pub topics: &'a [&'a str],
    pub after: &'a [i64],
    pub upto: &'a [i64],
}

impl QueryFragment<Pg> for ReadEventRanges<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        plan_at_each_run(&mut out);
        out.push_sql(
            "SELECT e.id, e.topic, e.seq, e.event_type, e.data, e.created_at FROM unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(self.topics)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<BigInt>, _>(self.after)?;
        out.push_sql("::int8[], ");
        out.push_bind_param::<Array<BigInt>, _>(self.upto)?;
        out.push_sql(
            "::int8[]) AS w(topic, after, upto) CROSS JOIN LATERAL (SELECT * FROM events x \
             WHERE x.topic = w.topic AND x.seq > w.after AND x.seq <= w.upto OFFSET 0) e \
             ORDER BY e.topic, e.seq",
        );
        Ok(())
    }
}

kept_statement!(
    ReadEventRanges<'a>,
    returning(BigInt, Text, BigInt, Text, Text, Timestamp)
);

/// The photos of a page's listings, each listing's in order (SQLite): the ids as one JSON
/// array that `json_each` unpacks, so the text is the same for any page and the statement is
/// kept, where Diesel's `IN (?, ?, …)` was compiled again for every page read.
#[derive(Debug, Clone)]
pub struct PhotosOfListings {
    /// The listing ids, a JSON array.
    pub listings: String,
}

impl QueryFragment<diesel::sqlite::Sqlite> for PhotosOfListings {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        out.push_sql(
            "SELECT id, listing_id, position, width, height, full_key, medium_key, thumb_key, \
             created_at FROM photos WHERE listing_id IN (SELECT value FROM json_each(",
        );
        out.push_bind_param::<Text, _>(&self.listings)?;
        out.push_sql(")) ORDER BY listing_id, position, id");
        Ok(())
    }
}

kept_statement!(
    PhotosOfListings,
    returning(BigInt, BigInt, Integer, Integer, Integer, Text, Text, Text, Timestamp)
);

mod batch;
pub use batch::{EventArrays, LockChatBatch, PublishEvents, StoreChatBatch};
