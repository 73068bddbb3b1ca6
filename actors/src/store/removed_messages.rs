//! Messages a moderator removed: the original body, kept for moderators.

use super::schema::{messages, removed_messages};
use super::DbConnection;
use crate::domain::UserId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Records the removal of `message` (whose body was `original`) and replaces its body with
/// `replacement`. `false`, changing nothing, if it was removed before.
pub fn remove(
    conn: &mut DbConnection,
    message: i64,
    original: &str,
    replacement: &str,
    by: UserId,
    note: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let before = removed_messages::table
        .find(message)
        .count()
        .get_result::<i64>(conn)?;
    if before > 0 {
        return Ok(false);
    }
    diesel::insert_into(removed_messages::table)
        .values((
            removed_messages::message_id.eq(message),
            removed_messages::original_body.eq(original),
            removed_messages::removed_by.eq(by.0),
            removed_messages::note.eq(note),
            removed_messages::removed_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(messages::table.find(message))
        .set(messages::body.eq(replacement))
        .execute(conn)?;
    Ok(true)
}

/// The original body of a removed message.
pub fn original_body(conn: &mut DbConnection, message: i64) -> QueryResult<Option<String>> {
    removed_messages::table
        .find(message)
        .select(removed_messages::original_body)
        .get_result(conn)
        .optional()
}
