//! The notification inbox.

use super::bulk::{json_rows, next_id, BULK_MIN_ROWS};
use super::schema::notifications;
use super::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub data: String,
    pub read_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConnection,
    user_id: i64,
    kind: &str,
    data: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(user_id),
            notifications::kind.eq(kind),
            notifications::data.eq(data),
            notifications::created_at.eq(now),
        ))
        .returning(notifications::id)
        .get_result(conn)
}

/// Stores many notifications (user, kind, data) at once and returns their ids, in the order
/// given. PostgreSQL: the ids are taken from the sequence first, then every row goes in one
/// statement (a matcher that alerts a thousand searches pays two round trips, not a thousand).
/// The sequence is named, not looked up: `pg_get_serial_sequence` ran once per id and made
/// 1,500 ids cost 9.5 ms instead of 1.4.
/// SQLite: a kept statement per row, in-process, or from `bulk::BULK_MIN_ROWS` rows one
/// statement with the ids given.
pub fn insert_many(
    conn: &mut DbConnection,
    rows: &[(i64, &str, &str)],
    now: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    use diesel::sql_types::{Array, BigInt, Text, Timestamp};
    #[derive(QueryableByName)]
    struct IdRow {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    match conn {
        DbConnection::Postgresql(pg) if rows.len() > 1 => {
            let mut ids: Vec<i64> = diesel::sql_query(
                "SELECT nextval('notifications_id_seq') AS id FROM generate_series(1, $1)",
            )
            .bind::<BigInt, _>(rows.len() as i64)
            .load::<IdRow>(pg)?
            .into_iter()
            .map(|r| r.id)
            .collect();
            ids.sort_unstable();
            let users: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let kinds: Vec<&str> = rows.iter().map(|r| r.1).collect();
            let data: Vec<&str> = rows.iter().map(|r| r.2).collect();
            diesel::sql_query(
                "INSERT INTO notifications (id, user_id, kind, data, created_at) \
                 SELECT u.id, u.user_id, u.kind, u.data, $5 \
                 FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[]) \
                 AS u(id, user_id, kind, data)",
            )
            .bind::<Array<BigInt>, _>(&ids)
            .bind::<Array<BigInt>, _>(&users)
            .bind::<Array<Text>, _>(&kinds)
            .bind::<Array<Text>, _>(&data)
            .bind::<Timestamp, _>(now)
            .execute(pg)?;
            Ok(ids)
        }
        DbConnection::Sqlite(lite) if rows.len() >= BULK_MIN_ROWS => {
            let first = next_id(lite, "notifications")?;
            diesel::sql_query(
                "INSERT INTO notifications (id, user_id, kind, data, created_at) \
                 SELECT ? + j.key, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), \
                 json_extract(j.value, '$[2]'), ? FROM json_each(?) j",
            )
            .bind::<BigInt, _>(first)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(json_rows(&rows)?)
            .execute(lite)?;
            Ok((first..).take(rows.len()).collect())
        }
        _ => rows
            .iter()
            .map(|&(user, kind, data)| insert(conn, user, kind, data, now))
            .collect(),
    }
}

/// The user's notifications after id `after`, oldest first.
pub fn after(
    conn: &mut DbConnection,
    user_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::id.gt(after))
        .order(notifications::id.asc())
        .limit(limit)
        .load(conn)
}

pub fn unread_count(conn: &mut DbConnection, user_id: i64) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
}

/// Marks every notification of the user up to id `up_to` read.
pub fn mark_read(
    conn: &mut DbConnection,
    user_id: i64,
    up_to: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::id.le(up_to))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(now))
    .execute(conn)
}
