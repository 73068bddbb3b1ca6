//! The events table: the outbox written with each change, and the history clients resume from.

use super::bulk::{json_rows, next_id, TopicSeq, BULK_MIN_ROWS};
use super::models::{Event, NewEvent};
use super::prepared::{EventArrays, PublishEvents, ReadEventRanges, ReserveTopicSeqs};
use super::schema::{events, topic_seqs};
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use std::collections::BTreeMap;

/// An event to write in the current transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEvent {
    pub topic: String,
    pub event_type: &'static str,
    pub data: String,
}

/// Reserves `counts[topic]` seqs of each topic and returns the first of each (SQLite, where
/// a statement costs no round trip). The UPSERT takes each topic's row until commit, so
/// concurrent writers of one topic take turns and seq never repeats.
fn reserve_seqs(
    lite: &mut diesel::SqliteConnection,
    counts: &BTreeMap<&str, i64>,
) -> QueryResult<BTreeMap<String, i64>> {
    let mut first = BTreeMap::new();
    if counts.len() >= BULK_MIN_ROWS {
        let reserved: Vec<TopicSeq> = diesel::sql_query(
            "INSERT INTO topic_seqs (topic, last_seq) SELECT j.key, j.value FROM json_each(?) j \
             WHERE true ON CONFLICT (topic) DO UPDATE \
             SET last_seq = topic_seqs.last_seq + excluded.last_seq RETURNING topic, last_seq",
        )
        .bind::<Text, _>(json_rows(counts)?)
        .load(lite)?;
        for r in reserved {
            let count = counts.get(r.topic.as_str()).copied().unwrap_or(0);
            first.insert(r.topic, r.last_seq - count + 1);
        }
        return Ok(first);
    }
    for (&topic, &count) in counts {
        let last: i64 = ReserveTopicSeqs { topic, count }.get_result(lite)?;
        first.insert(topic.to_owned(), last - count + 1);
    }
    Ok(first)
}

/// The PostgreSQL channel that rings when events commit. A payload is lines of
/// `<topic> <last seq>`, as many topics as fit about 6,000 bytes: a transaction that writes
/// to a thousand topics sends a handful of notifications, not a thousand.
pub const EVENTS_CHANNEL: &str = "bazaar_events";

/// The `(topic, last seq)` pairs a doorbell's payload names (a payload of one line is what
/// servers before batching sent); lines that do not parse are skipped.
pub fn rung(payload: &str) -> impl Iterator<Item = (&str, i64)> {
    payload.lines().filter_map(|line| {
        let (topic, seq) = line.rsplit_once(' ')?;
        Some((topic, seq.parse().ok()?))
    })
}

/// A transaction's events column by column, as the array statements take them (PostgreSQL).
pub(crate) struct EventColumns<'a> {
    topics: Vec<&'a str>,
    counts: Vec<i64>,
    event_topics: Vec<&'a str>,
    seqs_back: Vec<i64>,
    event_types: Vec<&'a str>,
    data: Vec<&'a str>,
}

impl<'a> EventColumns<'a> {
    /// The columns of `pending`: its topics in sorted order (the order their rows are
    /// locked in, so two transactions never wait on each other's topics in a cycle), and
    /// each event with how many events of its topic follow it, which places it in the
    /// topic's seqs in the order given.
    pub(crate) fn of(pending: &'a [PendingEvent]) -> Self {
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        let mut seqs_back = vec![0; pending.len()];
        for (i, event) in pending.iter().enumerate().rev() {
            let later = counts.entry(&event.topic).or_default();
            seqs_back[i] = *later;
            *later += 1;
        }
        EventColumns {
            topics: counts.keys().copied().collect(),
            counts: counts.values().copied().collect(),
            event_topics: pending.iter().map(|e| e.topic.as_str()).collect(),
            seqs_back,
            event_types: pending.iter().map(|e| e.event_type).collect(),
            data: pending.iter().map(|e| e.data.as_str()).collect(),
        }
    }

    pub(crate) fn arrays(&self, created_at: NaiveDateTime) -> EventArrays<'_> {
        EventArrays {
            topics: &self.topics,
            counts: &self.counts,
            event_topics: &self.event_topics,
            seqs_back: &self.seqs_back,
            event_types: &self.event_types,
            data: &self.data,
            created_at,
            channel: EVENTS_CHANNEL,
        }
    }
}

/// Writes `pending` with the next seqs of their topics, keeping their order within a topic.
/// Call it inside the transaction of the change the events describe.
///
/// On PostgreSQL it is one statement however many events and topics (`PublishEvents`),
/// which also rings a doorbell (NOTIFY, delivered at commit) naming each topic and its last
/// seq, never the event; listeners read the events from the table.
pub fn publish(conn: &mut DbConnection, pending: &[PendingEvent]) -> QueryResult<Vec<Event>> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let now = super::now();
    let lite = match conn {
        DbConnection::Postgresql(pg) => {
            let columns = EventColumns::of(pending);
            let mut written: Vec<Event> = PublishEvents {
                events: columns.arrays(now),
            }
            .load(pg)?;
            written.sort_by_key(|e| e.id);
            return Ok(written);
        }
        DbConnection::Sqlite(lite) => lite,
    };
    // In-process: a statement per event costs no round trip; many go in one (`bulk`).
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for event in pending {
        *counts.entry(&event.topic).or_default() += 1;
    }
    let mut next_seq = reserve_seqs(lite, &counts)?;
    let mut seq_of = |topic: &str| {
        next_seq.get_mut(topic).map_or(0, |s| {
            *s += 1;
            *s - 1
        })
    };
    if pending.len() >= BULK_MIN_ROWS {
        let first = next_id(lite, "events")?;
        let written: Vec<Event> = (first..)
            .zip(pending)
            .map(|(id, event)| Event {
                id,
                topic: event.topic.clone(),
                seq: seq_of(&event.topic),
                event_type: event.event_type.to_owned(),
                data: event.data.clone(),
                created_at: now,
            })
            .collect();
        let rows: Vec<(&str, i64, &str, &str)> = written
            .iter()
            .map(|e| {
                (
                    e.topic.as_str(),
                    e.seq,
                    e.event_type.as_str(),
                    e.data.as_str(),
                )
            })
            .collect();
        diesel::sql_query(
            "INSERT INTO events (id, topic, seq, event_type, data, created_at) \
             SELECT ? + j.key, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), \
             json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]'), ? FROM json_each(?) j",
        )
        .bind::<BigInt, _>(first)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(json_rows(&rows)?)
        .execute(lite)?;
        return Ok(written);
    }
    pending
        .iter()
        .map(|event| {
            let seq = seq_of(&event.topic);
            let row = NewEvent {
                topic: &event.topic,
                seq,
                event_type: event.event_type,
                data: &event.data,
                created_at: now,
            };
            diesel::insert_into(events::table)
                .values(&row)
                .returning(events::all_columns)
                .get_result(lite)
        })
        .collect()
}

/// The last seq written to `topic` (0 when it has none).
pub fn last_seq(conn: &mut DbConnection, topic: &str) -> QueryResult<i64> {
    topic_seqs::table
        .find(topic)
        .select(topic_seqs::last_seq)
        .get_result::<i64>(conn)
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

    fn pending(topic: &str) -> PendingEvent {
        PendingEvent {
            topic: topic.to_owned(),
            event_type: "t",
            data: "{}".to_owned(),
        }
    }

    #[test]
    fn each_event_is_placed_after_those_before_it_in_its_topic() {
        let events: Vec<PendingEvent> = ["user:2", "user:1", "user:2", "user:2", "user:1"]
            .into_iter()
            .map(pending)
            .collect();
        let columns = EventColumns::of(&events);
        assert_eq!(columns.topics, vec!["user:1", "user:2"]);
        assert_eq!(columns.counts, vec![2, 3]);
        // A topic's last seq less these, in the order given: 1, 2, 3 of user:2 and 1, 2 of
        // user:1 once its last seq is the count.
        assert_eq!(columns.seqs_back, vec![2, 1, 1, 0, 0]);
        assert_eq!(columns.event_topics.len(), 5);
    }

    #[test]
    fn a_doorbell_names_every_topic_and_its_last_seq() {
        let back: Vec<_> = rung("listing:1 4\nuser:7 12").collect();
        assert_eq!(back, vec![("listing:1", 4), ("user:7", 12)]);
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
    }
}
