//! The notification inbox.

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
