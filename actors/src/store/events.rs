//! The events table: the outbox written with each change, and the history clients resume from.

use super::models::{Event, NewEvent};
use super::prepared::{
    InsertEvents, Notify, ReadEventRanges, ReserveSeqsOfTopics, ReserveTopicSeqs,
};
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

/// The PostgreSQL channel that rings when events commit. A payload is lines of
/// `<topic> <last seq>`, as many topics as fit (`doorbells`).
pub const EVENTS_CHANNEL: &str = "bazaar_events";

/// How long a doorbell's payload may grow (PostgreSQL refuses 8,000 bytes and more).
const DOORBELL_MAX_BYTES: usize = 7_000;

/// The doorbells for a transaction's topics and their last seqs: one payload of
/// `<topic> <seq>` lines for as many topics as fit, so a transaction that writes to a
/// thousand topics sends a handful of notifications, not a thousand.
pub fn doorbells<'a>(heads: impl IntoIterator<Item = (&'a str, i64)>) -> Vec<String> {
    let mut bells = Vec::new();
    let mut bell = String::new();
    for (topic, seq) in heads {
        let line = format!("{topic} {seq}");
        if !bell.is_empty() && bell.len() + 1 + line.len() > DOORBELL_MAX_BYTES {
            bells.push(std::mem::take(&mut bell));
        }
        if !bell.is_empty() {
            bell.push('\n');
        }
        bell.push_str(&line);
    }
    if !bell.is_empty() {
        bells.push(bell);
    }
    bells
}

/// The `(topic, last seq)` pairs a doorbell's payload names (a payload of one line is what
/// servers before batching sent); lines that do not parse are skipped.
pub fn rung(payload: &str) -> impl Iterator<Item = (&str, i64)> {
    payload.lines().filter_map(|line| {
        let (topic, seq) = line.rsplit_once(' ')?;
        Some((topic, seq.parse().ok()?))
    })
}

/// Writes `pending` with the next seqs of their topics, keeping their order within a topic.
/// Call it inside the transaction of the change the events describe. A batch of events costs a
/// fixed number of statements on PostgreSQL, however many events and topics it holds.
///
/// On PostgreSQL it also rings a doorbell (NOTIFY, delivered at commit) naming each topic and
/// its last seq, never the event; listeners read the events from the table.
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
        let doorbells = doorbells(
            next_seq
                .iter()
                .map(|(topic, next)| (topic.as_str(), next - 1)),
        );
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

/// The events of each `(topic, after, upto)`: those with `after < seq <= upto`, by topic then
/// seq. One statement on PostgreSQL however many topics (the relay's catch-up read).
pub fn in_ranges(conn: &mut DbConnection, ranges: &[(&str, i64, i64)]) -> QueryResult<Vec<Event>> {
    match conn {
        DbConnection::Postgresql(pg) => {
            let topics: Vec<&str> = ranges.iter().map(|r| r.0).collect();
            let after: Vec<i64> = ranges.iter().map(|r| r.1).collect();
            let upto: Vec<i64> = ranges.iter().map(|r| r.2).collect();
            ReadEventRanges {
                topics: &topics,
                after: &after,
                upto: &upto,
            }
            .load(pg)
        }
        DbConnection::Sqlite(_) => {
            let mut sorted = ranges.to_vec();
            sorted.sort_unstable();
            let mut all = Vec::new();
            for (topic, after, upto) in sorted {
                all.extend(self::after(conn, topic, after, (upto - after).max(0))?);
            }
            Ok(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doorbell_names_every_topic_and_its_last_seq() {
        let bells = doorbells([("listing:1", 4), ("user:7", 12)]);
        assert_eq!(bells, vec!["listing:1 4\nuser:7 12".to_owned()]);
        let back: Vec<_> = rung(&bells[0]).collect();
        assert_eq!(back, vec![("listing:1", 4), ("user:7", 12)]);
    }

    #[test]
    fn topics_that_do_not_fit_one_payload_ring_again() {
        let names: Vec<String> = (0..2_000).map(|i| format!("user:{i}")).collect();
        let bells = doorbells(names.iter().map(|t| (t.as_str(), 3)));
        assert!(bells.len() > 1, "{} bells", bells.len());
        assert!(bells.iter().all(|b| b.len() <= DOORBELL_MAX_BYTES));
        let back: Vec<(&str, i64)> = bells.iter().flat_map(|b| rung(b)).collect();
        let expected: Vec<(&str, i64)> = names.iter().map(|t| (t.as_str(), 3)).collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn a_one_topic_payload_and_garbage_lines_are_read_as_before() {
        assert_eq!(
            rung("listing:9 3").collect::<Vec<_>>(),
            vec![("listing:9", 3)]
        );
        assert_eq!(
            rung("nonsense\nuser:1 x\nuser:2 5").collect::<Vec<_>>(),
            vec![("user:2", 5)]
        );
        assert!(doorbells(std::iter::empty()).is_empty());
    }
}
