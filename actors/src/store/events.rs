//! The events table: the outbox written with each change, and the history clients resume from.

use super::models::{Event, NewEvent};
use super::schema::events;
use super::DbConnection;
use diesel::dsl::max;
use diesel::prelude::*;

/// The last seq written to `topic` (0 when it has none).
pub fn last_seq(conn: &mut DbConnection, topic: &str) -> QueryResult<i64> {
    events::table
        .filter(events::topic.eq(topic))
        .select(max(events::seq))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

/// Appends an event to `topic` with the next seq. Call it inside the transaction of the change
/// it describes, after the version-checked write of the topic's owner: that write serialises
/// the writers of one topic, and UNIQUE (topic, seq) refuses any that slip past.
pub fn append(
    conn: &mut DbConnection,
    topic: &str,
    event_type: &str,
    data: &str,
) -> QueryResult<Event> {
    let seq = last_seq(conn, topic)? + 1;
    diesel::insert_into(events::table)
        .values(&NewEvent {
            topic,
            seq,
            event_type,
            data,
            created_at: super::now(),
        })
        .returning(events::all_columns)
        .get_result(conn)
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
