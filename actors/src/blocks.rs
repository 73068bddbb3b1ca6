//! Blocking and unblocking: every write to `blocks`. A new block also declines the open
//! offers between the two users, each through its listing's actor (the normal write path,
//! with its `offer.declined` events), after the block has committed: from then on every
//! command of those actors reads the block in its own transaction and refuses new offers,
//! counters and acceptances, so an offer racing the block may stay open but can only be let go.

use crate::directory::{send_to_listing, Directory};
use crate::domain::block::{decide_block, BlockError};
use crate::domain::{ListingId, UserId};
use crate::listing::{DeclineOffersBetween, ListingError};
use crate::store::blocks as rows;
use crate::store::{self, offers, users, Pool, StoreError};
use actix::Addr;

#[derive(Debug, thiserror::Error)]
pub enum BlocksError {
    #[error(transparent)]
    Refused(#[from] BlockError),
    #[error("user not found")]
    UnknownUser,
    #[error(transparent)]
    Listing(#[from] ListingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for BlocksError {
    fn from(e: diesel::result::Error) -> Self {
        BlocksError::Store(e.into())
    }
}

/// `blocker` blocks `blocked` (idempotent), and the open offers between them are declined.
pub async fn block(
    pool: &Pool,
    directory: &Addr<Directory>,
    blocker: UserId,
    blocked: UserId,
) -> Result<(), BlocksError> {
    decide_block(blocker, blocked)?;
    let listings = pool
        .run(move |conn| -> Result<Vec<i64>, BlocksError> {
            if users::find(conn, blocked.0)?.is_none() {
                return Err(BlocksError::UnknownUser);
            }
            conn.write(|conn| rows::insert(conn, blocker.0, blocked.0, store::now()))?;
            Ok(offers::listings_with_open_offers_between(
                conn, blocker.0, blocked.0,
            )?)
        })
        .await?;
    // Also on a repeated block: a request that failed here is finished by its retry.
    for listing in listings {
        let command = DeclineOffersBetween {
            users: [blocker, blocked],
        };
        send_to_listing(directory, ListingId(listing), command)
            .await
            .map_err(|_| ListingError::Unavailable)??;
    }
    Ok(())
}

/// `blocker` lifts their block of `blocked` (idempotent). A block `blocked` made stays.
pub async fn unblock(pool: &Pool, blocker: UserId, blocked: UserId) -> Result<(), BlocksError> {
    decide_block(blocker, blocked)?;
    pool.run(move |conn| -> Result<(), BlocksError> {
        if users::find(conn, blocked.0)?.is_none() {
            return Err(BlocksError::UnknownUser);
        }
        conn.write(|conn| rows::delete(conn, blocker.0, blocked.0))?;
        Ok(())
    })
    .await
}
