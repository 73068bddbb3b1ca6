//! Idempotency keys: the first response to each (user, key), replayed to every repeat.

use super::models::IdempotencyKey;
use super::schema::idempotency_keys;
use super::{is_unique_violation, DbConnection};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// What to do with a request that carries a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: run the request, then `complete` (or `release`) this claim.
    Fresh(i64),
    /// The key was used for a finished request: replay its response.
    Replay { status: u16, body: String },
    /// The first request with this key is still running (or died before answering).
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

/// Claims `key` for `user` and the request `fingerprint`.
pub fn claim(
    conn: &mut DbConnection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> QueryResult<Claim> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::created_at.eq(now),
        ))
        .returning(idempotency_keys::id)
        .get_result::<i64>(conn);
    match inserted {
        Ok(id) => return Ok(Claim::Fresh(id)),
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    let existing: IdempotencyKey = idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(user_id))
        .filter(idempotency_keys::key.eq(key))
        .first(conn)?;
    Ok(if existing.fingerprint != fingerprint {
        Claim::Mismatch
    } else {
        match (existing.status, existing.body) {
            (Some(status), Some(body)) => Claim::Replay {
                status: u16::try_from(status).unwrap_or(500),
                body,
            },
            _ => Claim::InProgress,
        }
    })
}

/// Stores the response of a claimed request.
pub fn complete(conn: &mut DbConnection, id: i64, status: u16, body: &str) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find(id))
        .set((
            idempotency_keys::status.eq(Some(i64::from(status))),
            idempotency_keys::body.eq(Some(body)),
        ))
        .execute(conn)
        .map(drop)
}

/// Gives a claim up (the request failed in a way worth retrying with the same key).
pub fn release(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(idempotency_keys::table.find(id))
        .execute(conn)
        .map(drop)
}

/// Forgets keys created before `cutoff`.
pub fn purge_before(conn: &mut DbConnection, cutoff: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
        .execute(conn)
}
