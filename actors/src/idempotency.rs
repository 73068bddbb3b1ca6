//! Idempotency-Key bookkeeping: claiming a key before the work, storing the response after it,
//! or releasing the claim when the work failed in a way worth retrying. The rules (what counts
//! as the same request, what is replayed) are the edge's; the rows are written here.

use crate::domain::UserId;
use crate::store::idempotency as keys;
use crate::store::{self, Pool, StoreError};

pub use keys::Claim;

/// Claims `key` for `user` and the request `fingerprint`.
pub async fn claim(
    pool: &Pool,
    user: UserId,
    key: String,
    fingerprint: String,
) -> Result<Claim, StoreError> {
    pool.run(move |conn| {
        Ok(conn.write(|conn| keys::claim(conn, user.0, &key, &fingerprint, store::now()))?)
    })
    .await
}

/// Stores the response of a claimed request, for every repeat to replay.
pub async fn complete(
    pool: &Pool,
    claim: i64,
    status: u16,
    body: String,
) -> Result<(), StoreError> {
    pool.run(move |conn| Ok(conn.write(|conn| keys::complete(conn, claim, status, &body))?))
        .await
}

/// Gives a claim up, so the client may retry with the same key.
pub async fn release(pool: &Pool, claim: i64) -> Result<(), StoreError> {
    pool.run(move |conn| Ok(conn.write(|conn| keys::release(conn, claim))?))
        .await
}
