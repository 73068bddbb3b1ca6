//! The events table: the outbox written with each change, and the history clients resume from.

use super::models::{Event, NewEvent};
use super::schema::{events, topic_seqs};
use super::DbConnection;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// An event to write in the current transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEvent {
    pub topic: String,
    pub event_type: &'static str,
    pub data: String,
}

/// Reserves `count` seqs of `topic` and returns the first. The UPSERT locks the topic's row
/// until commit, so concurrent writers of one topic take turns and seq never repeats.
fn reserve_seqs(conn: &mut DbConnection, topic: &str, count: i64) -> QueryResult<i64> {
    macro_rules! upsert {
        ($conn:expr) => {
            diesel::insert_into(topic_seqs::table)
                .values((topic_seqs::topic.eq(topic), topic_seqs::last_seq.eq(count)))
                .on_conflict(topic_seqs::topic)
                .do_update()
                .set(topic_seqs::last_seq.eq(topic_seqs::last_seq + count))
                .returning(topic_seqs::last_seq)
                .get_result::<i64>($conn)
        };
    }
    // ON CONFLICT does not compile on the MultiConnection enum: run it on the inner connection.
    let last = match conn {
        DbConnection::Postgresql(c) => upsert!(c)?,
        DbConnection::Sqlite(c) => upsert!(c)?,
    };
    Ok(last - count + 1)
}

/// The PostgreSQL channel that rings when events commit (payload: `<topic> <last seq>`).
pub const EVENTS_CHANNEL: &str = "bazaar_events";

/// Writes `pending` with the next seqs of their topics, keeping their order within a topic.
/// Topics are reserved in sorted order so that two transactions never wait on each other's
/// topics in a cycle. Call it inside the transaction of the change the events describe.
///
/// On PostgreSQL it also rings a doorbell per topic (NOTIFY, delivered at commit): only the
/// topic and its last seq, never the event; listeners read the events from the table.
pub fn publish(conn: &mut DbConnection, pending: &[PendingEvent]) -> QueryResult<Vec<Event>> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for event in pending {
        *counts.entry(&event.topic).or_default() += 1;
    }
    let mut next_seq: BTreeMap<&str, i64> = BTreeMap::new();
    for (topic, count) in &counts {
        next_seq.insert(topic, reserve_seqs(conn, topic, *count)?);
    }
    let now = super::now();
    let mut written = Vec::with_capacity(pending.len());
    for event in pending {
        let seq = next_seq.get_mut(event.topic.as_str()).map_or(0, |s| {
            *s += 1;
            *s - 1
        });
        written.push(
            diesel::insert_into(events::table)
                .values(&NewEvent {
                    topic: &event.topic,
                    seq,
                    event_type: event.event_type,
                    data: &event.data,
                    created_at: now,
                })
                .returning(events::all_columns)
                .get_result(conn)?,
        );
    }
    if let DbConnection::Postgresql(pg) = conn {
        for (topic, next) in &next_seq {
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<diesel::sql_types::Text, _>(EVENTS_CHANNEL)
                .bind::<diesel::sql_types::Text, _>(format!("{topic} {}", next - 1))
                .execute(pg)?;
        }
    }
    Ok(written)
}

/// The last seq written to `topic` (0 when it has none).
pub fn last_seq(conn: &mut DbConnection, topic: &str) -> QueryResult<i64> {
    topic_seqs::table
        .find(topic)
        .select(topic_seqs::last_seq)
        .first::<i64>(conn)
        .optional()
        .map(Option::unwrap_or_default)
}

/// Events of `topic` after `since`, in seq order, at most `limit`.
pub fn after(
    conn: &mut DbConnection,
    topic: &str,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    events::table
        .filter(events::topic.eq(topic))
        .filter(events::seq.gt(since))
        .order(events::seq.asc())
        .limit(limit)
        .load(conn)
}
