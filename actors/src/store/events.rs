//! The events table: the outbox written with each change, and the history clients resume from.

use super::models::{Event, NewEvent};
use super::prepared::{InsertEvents, Notify, ReserveSeqsOfTopics, ReserveTopicSeqs};
use super::schema::{events, topic_seqs};
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// An event to write in the current transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEvent {
    pub topic: String,
    pub event_type: &'static str,
    pub data: String,
}

/// Reserves `counts[topic]` seqs of each topic and returns the first of each. The UPSERT locks
/// each topic's row until commit, so concurrent writers of one topic take turns and seq never
/// repeats; topics are taken in sorted order so that two transactions never wait on each
/// other's topics in a cycle. One statement on PostgreSQL however many topics.
fn reserve_seqs(
    conn: &mut DbConnection,
    counts: &BTreeMap<&str, i64>,
) -> QueryResult<BTreeMap<String, i64>> {
    let mut first = BTreeMap::new();
    match conn {
        DbConnection::Postgresql(pg) => {
            let topics: Vec<&str> = counts.keys().copied().collect();
            let reserved: Vec<i64> = counts.values().copied().collect();
            let rows: Vec<(String, i64)> = ReserveSeqsOfTopics {
                topics: &topics,
                counts: &reserved,
            }
            .load(pg)?;
            for (topic, last) in rows {
                let count = counts.get(topic.as_str()).copied().unwrap_or_default();
                first.insert(topic, last - count + 1);
            }
        }
        DbConnection::Sqlite(lite) => {
            for (&topic, &count) in counts {
                let last: i64 = ReserveTopicSeqs { topic, count }.get_result(lite)?;
                first.insert(topic.to_owned(), last - count + 1);
            }
        }
    }
    Ok(first)
}

/// The PostgreSQL channel that rings when events commit (payload: `<topic> <last seq>`).
pub const EVENTS_CHANNEL: &str = "bazaar_events";

/// Writes `pending` with the next seqs of their topics, keeping their order within a topic.
/// Call it inside the transaction of the change the events describe. A batch of events costs a
/// fixed number of statements on PostgreSQL, however many events and topics it holds.
///
/// On PostgreSQL it also rings a doorbell per topic (NOTIFY, delivered at commit): only the
/// topic and its last seq, never the event; listeners read the events from the table.
pub fn publish(conn: &mut DbConnection, pending: &[PendingEvent]) -> QueryResult<Vec<Event>> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for event in pending {
        *counts.entry(&event.topic).or_default() += 1;
    }
    let mut next_seq = reserve_seqs(conn, &counts)?;
    let now = super::now();
    let rows: Vec<NewEvent<'_>> = pending
        .iter()
        .map(|event| {
            let seq = next_seq.get_mut(event.topic.as_str()).map_or(0, |s| {
                *s += 1;
                *s - 1
            });
            NewEvent {
                topic: &event.topic,
                seq,
                event_type: event.event_type,
                data: &event.data,
                created_at: now,
            }
        })
        .collect();
    let written = match &mut *conn {
        // Arrays, not a VALUES row per event: the statement's text stays the same however
        // many events there are, so PostgreSQL parses a few lines, not thousands of values.
        DbConnection::Postgresql(pg) => {
            let topics: Vec<&str> = rows.iter().map(|r| r.topic).collect();
            let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
            let event_types: Vec<&str> = rows.iter().map(|r| r.event_type).collect();
            let data: Vec<&str> = rows.iter().map(|r| r.data).collect();
            let created_at: Vec<NaiveDateTime> = rows.iter().map(|r| r.created_at).collect();
            let mut written: Vec<Event> = InsertEvents {
                topics: &topics,
                seqs: &seqs,
                event_types: &event_types,
                data: &data,
                created_at: &created_at,
            }
            .load(pg)?;
            written.sort_by_key(|e| e.id);
            written
        }
        // In-process: a statement per event costs no round trip.
        DbConnection::Sqlite(lite) => rows
            .iter()
            .map(|row| {
                diesel::insert_into(events::table)
                    .values(row)
                    .returning(events::all_columns)
                    .get_result(lite)
            })
            .collect::<QueryResult<Vec<Event>>>()?,
    };
    if let DbConnection::Postgresql(pg) = conn {
        let doorbells: Vec<String> = next_seq
            .iter()
            .map(|(topic, next)| format!("{topic} {}", next - 1))
            .collect();
        Notify {
            channel: EVENTS_CHANNEL,
            bells: &doorbells,
        }
        .execute(pg)?;
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
