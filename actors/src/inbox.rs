//! The notification inbox's one write from the edges: marking notifications read. The
//! notifications themselves are written by the listing commands that cause them.

use crate::domain::UserId;
use crate::store::{self, notifications, Pool, StoreError};

/// Marks every notification of `user` up to id `up_to` read; returns how many changed.
pub async fn mark_read(pool: &Pool, user: UserId, up_to: i64) -> Result<usize, StoreError> {
    pool.run(move |conn| {
        Ok(conn.write(|conn| notifications::mark_read(conn, user.0, up_to, store::now()))?)
    })
    .await
}
