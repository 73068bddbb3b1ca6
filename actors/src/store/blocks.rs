//! Blocks between users. A block goes one way in the table (who blocked whom) but counts both
//! ways: every check asks whether either user blocked the other. Both directions are indexed
//! (`UNIQUE (blocker_id, blocked_id)` and `blocks_blocked`).

use super::schema::{blocks, users};
use super::{is_unique_violation, DbConnection};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct Block {
    pub id: i64,
    pub blocker_id: i64,
    pub blocked_id: i64,
    pub created_at: NaiveDateTime,
}

/// Whether either of `a` and `b` blocked the other.
pub fn between(conn: &mut DbConnection, a: i64, b: i64) -> QueryResult<bool> {
    let found: Option<i64> = blocks::table
        .filter(
            (blocks::blocker_id.eq(a).and(blocks::blocked_id.eq(b)))
                .or(blocks::blocker_id.eq(b).and(blocks::blocked_id.eq(a))),
        )
        .select(blocks::id)
        .get_result(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Which of `others` `user` blocked or was blocked by, in one query (a purchase batch asks
/// for all its buyers at once).
pub fn among(conn: &mut DbConnection, user: i64, others: &[i64]) -> QueryResult<HashSet<i64>> {
    if others.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<(i64, i64)> = blocks::table
        .filter(
            (blocks::blocker_id
                .eq(user)
                .and(blocks::blocked_id.eq_any(others)))
            .or(blocks::blocked_id
                .eq(user)
                .and(blocks::blocker_id.eq_any(others))),
        )
        .select((blocks::blocker_id, blocks::blocked_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(blocker, blocked)| if blocker == user { blocked } else { blocker })
        .collect())
}

/// Everyone `user` blocked or was blocked by (a user's blocks are few: an offer to likers
/// asks for the seller's, not for each of possibly many likers).
pub fn kept_apart_from(conn: &mut DbConnection, user: i64) -> QueryResult<HashSet<i64>> {
    let blocked: Vec<i64> = blocks::table
        .filter(blocks::blocker_id.eq(user))
        .select(blocks::blocked_id)
        .load(conn)?;
    let blockers: Vec<i64> = blocks::table
        .filter(blocks::blocked_id.eq(user))
        .select(blocks::blocker_id)
        .load(conn)?;
    Ok(blocked.into_iter().chain(blockers).collect())
}

/// Records that `blocker` blocks `blocked`; true if the block is new. Idempotent.
pub fn insert(
    conn: &mut DbConnection,
    blocker: i64,
    blocked: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let exists = |conn: &mut DbConnection| {
        blocks::table
            .filter(blocks::blocker_id.eq(blocker))
            .filter(blocks::blocked_id.eq(blocked))
            .select(blocks::id)
            .get_result::<i64>(conn)
            .optional()
    };
    if exists(conn)?.is_some() {
        return Ok(false);
    }
    let inserted = diesel::insert_into(blocks::table)
        .values((
            blocks::blocker_id.eq(blocker),
            blocks::blocked_id.eq(blocked),
            blocks::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        // The same block made at the same moment by another request.
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Lifts `blocker`'s block of `blocked`; true if there was one. Idempotent.
pub fn delete(conn: &mut DbConnection, blocker: i64, blocked: i64) -> QueryResult<bool> {
    let deleted = diesel::delete(
        blocks::table
            .filter(blocks::blocker_id.eq(blocker))
            .filter(blocks::blocked_id.eq(blocked)),
    )
    .execute(conn)?;
    Ok(deleted > 0)
}

/// `blocker`'s blocks, newest first, before block `before` (index `blocks_blocker`), each
/// with the blocked user's username and display name.
pub fn page(
    conn: &mut DbConnection,
    blocker: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(Block, String, String)>> {
    let mut query = blocks::table
        .filter(blocks::blocker_id.eq(blocker))
        .order(blocks::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(blocks::id.lt(before));
    }
    let page: Vec<Block> = query.load(conn)?;
    let ids: Vec<i64> = page.iter().map(|b| b.blocked_id).collect();
    let names: std::collections::HashMap<i64, (String, String)> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::username, users::display_name))
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, username, display_name)| (id, (username, display_name)))
        .collect();
    Ok(page
        .into_iter()
        .filter_map(|b| {
            let (username, display_name) = names.get(&b.blocked_id)?.clone();
            Some((b, username, display_name))
        })
        .collect())
}
