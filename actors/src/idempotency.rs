//! Idempotency-Key bookkeeping, crash-safe (Stripe's "atomic phases"):
//! 1. `claim` (a short write of its own) takes the key under a lease, or says to replay, wait
//!    (in progress) or refuse (another request used it). A lease that lapsed without an answer
//!    is taken over with a new token.
//! 2. The effect's transaction carries a [`KeyCompletion`]: it first holds the claim (still
//!    ours?) and, with the effect, writes the response the edge's renderer makes of the outcome.
//!    A request that lost its claim commits nothing. So after any crash the key either replays
//!    the committed answer or, once its lease lapsed, runs afresh: never stuck, never twice.
//! 3. Answers without an effect (client errors) are stored by `answer` afterwards, and server
//!    faults `release` the claim, both only while the claim still holds the key.
//!
//! What counts as the same request and how a response is rendered are the edge's; the rows are
//! written here.

use crate::domain::UserId;
use crate::store::idempotency as keys;
use crate::store::{self, DbConnection, Pool, StoreError};
use std::sync::Arc;

pub use keys::{Claim, Held};

/// A response to store and replay: its status and its exact body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// Renders a command's outcome as the response to store (the edge's rules); called inside the
/// effect's transaction, possibly more than once if the transaction is retried.
pub type Render<T> = Arc<dyn Fn(&T) -> Result<StoredResponse, String> + Send + Sync>;

/// What a keyed command needs to answer its key in its own transaction.
pub struct KeyCompletion<T> {
    pub held: Held,
    pub render: Render<T>,
}

impl<T> Clone for KeyCompletion<T> {
    fn clone(&self) -> Self {
        KeyCompletion {
            held: self.held,
            render: Arc::clone(&self.render),
        }
    }
}

impl<T> std::fmt::Debug for KeyCompletion<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCompletion")
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

/// The request's claim on its key was taken over by a later request (its lease lapsed): this
/// one commits nothing, and the key answers with the later one's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a later request with this Idempotency-Key took it over; retry to get its answer")]
pub struct ClaimLost;

impl<T> KeyCompletion<T> {
    /// First step of the effect's transaction: whether the claim still holds the key (and, on
    /// PostgreSQL, the key's row locked until the transaction ends).
    pub(crate) fn hold(&self, conn: &mut DbConnection) -> Result<bool, diesel::result::Error> {
        keys::hold(conn, self.held)
    }

    /// Last step of the effect's transaction: the outcome's response, stored with the effect.
    pub(crate) fn answer(&self, conn: &mut DbConnection, outcome: &T) -> Result<(), StoreError> {
        answer_all(conn, &[(self.held, self.render(outcome)?)])
    }

    /// The response to `outcome`, as it is stored and replayed.
    pub(crate) fn render(&self, outcome: &T) -> Result<StoredResponse, StoreError> {
        (self.render)(outcome)
            .map_err(|e| StoreError::Config(format!("rendering the stored response: {e}")))
    }
}

/// Holds many claims in one transaction (a purchase batch): which of them still hold their key.
pub(crate) fn hold_all(
    conn: &mut DbConnection,
    claims: &[Held],
) -> Result<Vec<bool>, diesel::result::Error> {
    keys::hold_all(conn, claims)
}

/// Stores the responses of claims held in this transaction, with their effects.
pub(crate) fn answer_all(
    conn: &mut DbConnection,
    answers: &[(Held, StoredResponse)],
) -> Result<(), StoreError> {
    let rows: Vec<(Held, u16, &str)> = answers
        .iter()
        .map(|(held, response)| (*held, response.status, response.body.as_str()))
        .collect();
    let answered = keys::answer_all(conn, &rows)?;
    if answered == rows.len() {
        Ok(())
    } else {
        // They were held in this transaction: nothing else can have moved them.
        Err(StoreError::Config(format!(
            "{} Idempotency-Key claim(s) held in this transaction were lost",
            rows.len() - answered
        )))
    }
}

/// Claims `key` for `user` and the request `fingerprint`, under a lease of `lease`.
pub async fn claim(
    pool: &Pool,
    user: UserId,
    key: String,
    fingerprint: String,
    lease: std::time::Duration,
) -> Result<Claim, StoreError> {
    let lease = chrono::Duration::from_std(lease)
        .map_err(|e| StoreError::Config(format!("idempotency lease: {e}")))?;
    pool.run(move |conn| {
        Ok(conn.write(|conn| keys::claim(conn, user.0, &key, &fingerprint, store::now(), lease))?)
    })
    .await
}

/// The response already stored for `user`'s `key` used with the request `fingerprint`, if
/// that request was answered. Claims nothing: a request refused before it may claim its key
/// (over a rate limit) still replays an earlier answer.
pub async fn stored_answer(
    pool: &Pool,
    user: UserId,
    key: String,
    fingerprint: String,
) -> Result<Option<StoredResponse>, StoreError> {
    pool.run_read(move |conn| {
        Ok(keys::answer_of(conn, user.0, &key, &fingerprint)?
            .map(|(status, body)| StoredResponse { status, body }))
    })
    .await
}

/// Stores the response of a claimed request that had no effect (a refusal), for every repeat
/// to replay; nothing if the claim no longer holds the key.
pub async fn answer(pool: &Pool, held: Held, response: StoredResponse) -> Result<(), StoreError> {
    pool.run(move |conn| {
        Ok(conn.write(|conn| keys::answer(conn, held, response.status, &response.body))?)
    })
    .await
    .map(drop)
}

/// Gives a claim up, so the client may retry with the same key.
pub async fn release(pool: &Pool, held: Held) -> Result<(), StoreError> {
    pool.run(move |conn| Ok(conn.write(|conn| keys::release(conn, held))?))
        .await
}
