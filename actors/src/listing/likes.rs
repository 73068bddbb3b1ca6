//! Likes: a like or an unlike moves the listing's like count (its actor forgets the cached row
//! after it), and a new liker gets the seller's offer to likers while it is open.

use super::tx::{execute, Failure, Tx};
use super::{LikeListing, ListingActor, ListingError, UnlikeListing};
use crate::domain::{Money, UserId};
use crate::store::{self, is_unique_violation, liker_offers, likes, StoreError};
use actix::prelude::*;

/// Most listings have no open offer to likers. On SQLite (one process, where every liker offer
/// is made by this actor, one command at a time) a read before any transaction tells, and then
/// the like is its own one write transaction at the one writer. Across PostgreSQL processes
/// the like runs in the listing's transaction under its row lock, so it cannot miss an offer
/// being made by another process at the same moment.
impl Handler<LikeListing> for ListingActor {
    type Result = AtomicResponse<Self, Result<(), ListingError>>;

    fn handle(&mut self, msg: LikeListing, _ctx: &mut Self::Context) -> Self::Result {
        let in_one_process = self.pool.one_writer_at_a_time();
        let LikeListing { user, target_price } = msg;
        self.run_blocking(move |pool, id, rules| {
            if in_one_process {
                let mut conn = pool.get().map_err(StoreError::from)?;
                let latest = liker_offers::latest(&mut conn, id.0).map_err(StoreError::from)?;
                if !latest.is_some_and(|sent| sent.open_at(store::now())) {
                    let target = target_price.map(Money::cents);
                    likes::like(&mut conn, user.0, id.0, target).map_err(StoreError::from)?;
                    return Ok(((), Vec::new()));
                }
            }
            execute(pool, id, rules, move |tx| tx.like(user, target_price))
        })
    }
}

/// An unlike never makes an offer, so it is one plain write transaction on both backends.
impl Handler<UnlikeListing> for ListingActor {
    type Result = AtomicResponse<Self, Result<(), ListingError>>;

    fn handle(&mut self, msg: UnlikeListing, _ctx: &mut Self::Context) -> Self::Result {
        self.run_blocking(move |pool, id, _rules| {
            let mut conn = pool.get().map_err(StoreError::from)?;
            likes::unlike(&mut conn, msg.user.0, id.0).map_err(StoreError::from)?;
            Ok(((), Vec::new()))
        })
    }
}

impl Tx<'_> {
    /// The like, and the seller's open offer to likers for a new liker.
    fn like(&mut self, user: UserId, target_price: Option<Money>) -> Result<(), Failure> {
        let target = target_price.map(Money::cents);
        likes::like_in(self.conn, user.0, self.listing.id, target).map_err(|e| {
            // Another process inserted this user's like first: decide again, as an update.
            if is_unique_violation(&e) {
                Failure::Stale
            } else {
                Failure::from(e)
            }
        })?;
        self.offer_to_new_liker(user)?;
        Ok(())
    }
}
