//! Idempotency keys: the first response to each (user, key), replayed to every repeat. A key is
//! claimed under a lease by a random token (`claim`); the effect's transaction holds the claim
//! (`hold`, which also locks the row on PostgreSQL) and writes the response (`answer`) only
//! while the token still holds the key, so at most one request's effect commits per key.

use super::models::IdempotencyKey;
use super::schema::idempotency_keys;
use super::{is_unique_violation, DbConnection};
use crate::domain::idempotency::{decide_claim, ClaimDecision, ExistingKey};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use std::collections::BTreeSet;

/// A claim on a key: its row and the token that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub id: i64,
    pub token: i64,
}

/// What to do with a request that carries a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Run the request under this claim, then answer (or release) it. `taken_over`: the key
    /// had an earlier request whose lease lapsed without an answer.
    Run { held: Held, taken_over: bool },
    /// The key was used for a finished request: replay its response.
    Replay { status: u16, body: String },
    /// The first request with this key may still be running, for `lease_left` at most.
    InProgress { lease_left: Duration },
    /// The key was used with a different request.
    Mismatch,
}

/// How many times a claim looks again when another request changed the key under it.
const CLAIM_ATTEMPTS: usize = 4;

/// Claims `key` for `user` and the request `fingerprint`, with a lease ending at `now + lease`.
/// Each statement commits on its own; the row's token decides which claim holds the key.
pub fn claim(
    conn: &mut DbConnection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
    lease: Duration,
) -> QueryResult<Claim> {
    let locked_until = now + lease;
    for _ in 0..CLAIM_ATTEMPTS {
        let token = new_token();
        let inserted = diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::user_id.eq(user_id),
                idempotency_keys::key.eq(key),
                idempotency_keys::fingerprint.eq(fingerprint),
                idempotency_keys::created_at.eq(now),
                idempotency_keys::token.eq(token),
                idempotency_keys::locked_until.eq(locked_until),
            ))
            .returning(idempotency_keys::id)
            .get_result::<i64>(conn);
        match inserted {
            Ok(id) => {
                return Ok(Claim::Run {
                    held: Held { id, token },
                    taken_over: false,
                })
            }
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e),
        }
        let existing = key_row(conn, user_id, key)?;
        let seen = existing.as_ref().map(|row| ExistingKey {
            fingerprint: &row.fingerprint,
            answered: row.status.is_some(),
            locked_until: row.locked_until,
        });
        match (decide_claim(seen, fingerprint, now), existing) {
            // The row went away (released) since the insert failed: insert again.
            (ClaimDecision::Fresh, _) | (_, None) => continue,
            (ClaimDecision::Replay, Some(row)) => {
                let (status, body) = stored_response(row).unwrap_or((500, String::new()));
                return Ok(Claim::Replay { status, body });
            }
            (ClaimDecision::Mismatch, Some(_)) => return Ok(Claim::Mismatch),
            (ClaimDecision::InProgress { lease_left }, Some(_)) => {
                return Ok(Claim::InProgress { lease_left })
            }
            (ClaimDecision::TakeOver, Some(row)) => {
                // Only if no one answered or took it over since we read it.
                let taken = diesel::update(
                    idempotency_keys::table
                        .find(row.id)
                        .filter(idempotency_keys::token.eq(row.token))
                        .filter(idempotency_keys::status.is_null()),
                )
                .set((
                    idempotency_keys::token.eq(token),
                    idempotency_keys::locked_until.eq(locked_until),
                ))
                .execute(conn)?;
                if taken == 1 {
                    return Ok(Claim::Run {
                        held: Held { id: row.id, token },
                        taken_over: true,
                    });
                }
            }
        }
    }
    // The key changed hands under us every time: someone is working on it.
    Ok(Claim::InProgress {
        lease_left: Duration::zero(),
    })
}

/// The response stored for `user_id`'s `key` when it was used for the request `fingerprint`
/// and answered (status, body); a read, claiming nothing.
pub fn answer_of(
    conn: &mut DbConnection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
) -> QueryResult<Option<(u16, String)>> {
    Ok(key_row(conn, user_id, key)?
        .filter(|r| r.fingerprint == fingerprint)
        .and_then(stored_response))
}

/// `user_id`'s row for `key`, if the key was ever claimed.
fn key_row(
    conn: &mut DbConnection,
    user_id: i64,
    key: &str,
) -> QueryResult<Option<IdempotencyKey>> {
    idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(user_id))
        .filter(idempotency_keys::key.eq(key))
        .get_result(conn)
        .optional()
}

/// The response stored in a key's row (status, body), if it was answered; a status that is not
/// an HTTP one reads as 500.
fn stored_response(row: IdempotencyKey) -> Option<(u16, String)> {
    let status = row.status?;
    Some((
        u16::try_from(status).unwrap_or(500),
        row.body.unwrap_or_default(),
    ))
}

/// A token no other claim has (63 random bits).
fn new_token() -> i64 {
    rand::random::<i64>() & i64::MAX
}

/// The claim's row, only while the claim still holds it and it has no answer.
macro_rules! held_row {
    ($held:expr) => {
        idempotency_keys::table
            .find($held.id)
            .filter(idempotency_keys::token.eq($held.token))
            .filter(idempotency_keys::status.is_null())
    };
}

/// In the effect's transaction, before the effect: whether the claim still holds the key. On
/// PostgreSQL the row stays locked until the transaction ends, so no take-over can slip in
/// between this and `answer`; on SQLite the transaction is the only writer.
pub fn hold(conn: &mut DbConnection, held: Held) -> QueryResult<bool> {
    let rows = diesel::update(held_row!(held))
        .set(idempotency_keys::token.eq(held.token))
        .execute(conn)?;
    Ok(rows == 1)
}

/// [`hold`] for many claims at once (a purchase batch): which of them still hold their key.
/// On PostgreSQL one statement whatever their number. Two batches never hold the same key
/// (a key names one listing's purchase, and the listing's lock orders its batches), so the
/// order rows are locked in cannot deadlock.
pub fn hold_all(conn: &mut DbConnection, claims: &[Held]) -> QueryResult<Vec<bool>> {
    let pg = match conn {
        DbConnection::Postgresql(pg) => pg,
        DbConnection::Sqlite(_) => return claims.iter().map(|held| hold(conn, *held)).collect(),
    };
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let held: BTreeSet<(i64, i64)> = diesel::sql_query(
        "UPDATE idempotency_keys AS k SET token = k.token \
         FROM unnest($1::int8[], $2::int8[]) AS c(id, token) \
         WHERE k.id = c.id AND k.token = c.token AND k.status IS NULL \
         RETURNING k.id, k.token",
    )
    .bind::<Array<BigInt>, _>(claims.iter().map(|c| c.id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(claims.iter().map(|c| c.token).collect::<Vec<_>>())
    .load::<HeldRow>(pg)?
    .into_iter()
    .map(|row| (row.id, row.token))
    .collect();
    Ok(claims
        .iter()
        .map(|c| held.contains(&(c.id, c.token)))
        .collect())
}

#[derive(QueryableByName)]
struct HeldRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    token: i64,
}

/// Stores the response of a claimed request, if the claim still holds the key: whether it
/// did. In the effect's transaction, or on its own for an answer that has no effect.
pub fn answer(conn: &mut DbConnection, held: Held, status: u16, body: &str) -> QueryResult<bool> {
    let rows = diesel::update(held_row!(held))
        .set((
            idempotency_keys::status.eq(Some(i64::from(status))),
            idempotency_keys::body.eq(Some(body)),
        ))
        .execute(conn)?;
    Ok(rows == 1)
}

/// [`answer`] for many claims at once (a purchase batch): how many still held their key. On
/// PostgreSQL one statement whatever their number.
pub fn answer_all(conn: &mut DbConnection, answers: &[(Held, u16, &str)]) -> QueryResult<usize> {
    let pg = match conn {
        DbConnection::Postgresql(pg) => pg,
        DbConnection::Sqlite(_) => {
            let mut answered = 0;
            for (held, status, body) in answers {
                answered += usize::from(answer(conn, *held, *status, body)?);
            }
            return Ok(answered);
        }
    };
    if answers.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE idempotency_keys AS k SET status = c.status, body = c.body \
         FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::text[]) AS c(id, token, status, body) \
         WHERE k.id = c.id AND k.token = c.token AND k.status IS NULL",
    )
    .bind::<Array<BigInt>, _>(answers.iter().map(|a| a.0.id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(answers.iter().map(|a| a.0.token).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(answers.iter().map(|a| i64::from(a.1)).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(answers.iter().map(|a| a.2).collect::<Vec<_>>())
    .execute(pg)
}

/// Gives a claim up (the request failed in a way worth retrying with the same key). A key
/// that was answered, or taken over, is left alone.
pub fn release(conn: &mut DbConnection, held: Held) -> QueryResult<()> {
    diesel::delete(held_row!(held)).execute(conn).map(drop)
}

/// Forgets keys created before `cutoff`.
pub fn purge_before(conn: &mut DbConnection, cutoff: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
        .execute(conn)
}
