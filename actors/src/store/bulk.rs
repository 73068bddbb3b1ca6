//! SQLite: many rows in one statement. A statement per row costs no round trip in-process, but
//! each still pays the driver's binding, stepping and row building: a listing that alerts
//! 1,500 saved searches spent half its write in 3,000 single-row inserts. From
//! [`BULK_MIN_ROWS`] rows on, the rows travel as one JSON array that `json_each` unpacks, and
//! the ids are given, not read back: SQLite has one writer, so the next ids of the table are
//! known inside the write transaction.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// From this many rows, a write goes in one statement.
pub(crate) const BULK_MIN_ROWS: usize = 16;

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The id the next row of `table` gets (an `INTEGER PRIMARY KEY`: one above the highest).
/// Only meaningful inside a write transaction.
pub(crate) fn next_id(lite: &mut SqliteConnection, table: &'static str) -> QueryResult<i64> {
    diesel::sql_query(format!(
        "SELECT COALESCE(MAX(id), 0) + 1 AS id FROM {table}"
    ))
    .get_result::<Next>(lite)
    .map(|n| n.id)
}

/// `rows` as the JSON text `json_each` takes.
pub(crate) fn json_rows<T: serde::Serialize>(rows: &T) -> QueryResult<String> {
    serde_json::to_string(rows).map_err(|e| diesel::result::Error::SerializationError(e.into()))
}

#[derive(QueryableByName)]
pub(crate) struct TopicSeq {
    #[diesel(sql_type = Text)]
    pub topic: String,
    #[diesel(sql_type = BigInt)]
    pub last_seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::events::{self, PendingEvent};
    use crate::store::models::Event;
    use crate::store::schema::{events as events_table, notifications as notifications_table};
    use crate::store::{connect, migrate, notifications, DbConnection};
    use diesel::connection::SimpleConnection;

    /// One transaction's events and notifications written by the single-row path (below
    /// `BULK_MIN_ROWS`) and then by the bulk path: the same rows, seqs continuing per topic.
    #[test]
    fn many_rows_in_one_statement_are_the_rows_one_statement_each_would_write() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("bulk.db").display());
        let pool = connect(&url, 1).expect("pool");
        let mut conn = pool.get().expect("connection");
        migrate(&mut conn).expect("migrated");
        let conn: &mut DbConnection = &mut conn;
        conn.batch_execute(
            "INSERT INTO users (id, username, display_name, password_hash, created_at) \
             VALUES (1, 'a', 'A', 'x', '2026-01-01 00:00:00'), \
             (2, 'b', 'B', 'x', '2026-01-01 00:00:00')",
        )
        .expect("users");
        let now = crate::store::now();
        // `n` events over `topics` topics.
        let batch = |n: usize, topics: usize| -> Vec<PendingEvent> {
            (0..n)
                .map(|i| PendingEvent {
                    topic: format!("user:{}", 1 + i % topics),
                    event_type: "notification.saved_search",
                    data: format!(r#"{{"n":{i},"text":"a \"quoted\" é"}}"#),
                })
                .collect()
        };
        let few = events::publish(conn, &batch(3, 2)).expect("few");
        let many = events::publish(conn, &batch(BULK_MIN_ROWS + 5, 2)).expect("many");
        // As many topics as rows: their seqs reserved in one statement too.
        let spread =
            events::publish(conn, &batch(2 * BULK_MIN_ROWS, BULK_MIN_ROWS)).expect("spread");
        let stored: Vec<Event> = events_table::table
            .order(events_table::id)
            .load(conn)
            .expect("stored");
        let returned: Vec<Event> = few.into_iter().chain(many).chain(spread).collect();
        assert_eq!(stored, returned);
        // Each topic's seqs run 1, 2, 3… across the writes, in the order given.
        for topic in (1..=BULK_MIN_ROWS).map(|t| format!("user:{t}")) {
            let seqs: Vec<i64> = stored
                .iter()
                .filter(|e| e.topic == topic)
                .map(|e| e.seq)
                .collect();
            assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        }

        let rows: Vec<(i64, &str, &str)> = (0..BULK_MIN_ROWS + 2)
            .map(|i| (1 + (i % 2) as i64, "saved_search", r#"{"q":"lamp \"x\""}"#))
            .collect();
        let one = notifications::insert_many(conn, &rows[..1], now).expect("one");
        let ids = notifications::insert_many(conn, &rows, now).expect("many");
        let stored: Vec<(i64, i64, String)> = notifications_table::table
            .select((
                notifications_table::id,
                notifications_table::user_id,
                notifications_table::data,
            ))
            .order(notifications_table::id)
            .load(conn)
            .expect("stored");
        let expected: Vec<(i64, i64, String)> = one
            .iter()
            .zip(&rows[..1])
            .chain(ids.iter().zip(&rows))
            .map(|(&id, &(user, _, data))| (id, user, data.to_owned()))
            .collect();
        assert_eq!(stored, expected);
    }
}
