//! Liker offers: the seller's offer to everyone who likes the listing, and to whoever likes
//! it while that offer is open.

use super::tx::{Failure, Tx};
use super::{LikerOfferOutcome, ListingActor, ListingError, OfferToNewLiker, SendLikerOffer};
use crate::domain::listing::ListingStatus;
use crate::domain::offer::{decide_liker_offer, OfferState, OfferStatus, Side};
use crate::domain::{ListingId, Money, UserId};
use crate::store::models::{LikerOffer, Offer};
use crate::store::{self, liker_offers, offers, Pool, StoreError};
use actix::prelude::*;

handle!(SendLikerOffer, LikerOfferOutcome, |tx, msg| tx
    .send_liker_offer(&msg));

/// A new liker gets the seller's open offer to likers, if there is one. Most listings have
/// none. On SQLite (one process, where every liker offer is made by this actor, one command at
/// a time) a read outside a transaction tells, and the like costs no second write transaction
/// at the one writer. Across PostgreSQL processes the check takes the listing's row lock, so it
/// cannot miss an offer being made by another process at the same moment.
impl Handler<OfferToNewLiker> for ListingActor {
    type Result = AtomicResponse<Self, Result<Option<Offer>, ListingError>>;

    fn handle(&mut self, msg: OfferToNewLiker, _ctx: &mut Self::Context) -> Self::Result {
        let in_one_process = self.pool.one_writer_at_a_time();
        let none_open = move |pool: &Pool, id: ListingId| {
            if !in_one_process {
                return Ok(None);
            }
            let mut conn = pool.get().map_err(StoreError::from)?;
            let latest = liker_offers::latest(&mut conn, id.0).map_err(StoreError::from)?;
            let open = latest.is_some_and(|sent| sent.open_at(store::now()));
            Ok((!open).then_some(None))
        };
        self.run_unless(none_open, move |tx| {
            let Some(sent) = liker_offers::latest(tx.conn, tx.listing.id)? else {
                return Ok(None);
            };
            if !sent.open_at(tx.now) || tx.listing.status() != ListingStatus::Active {
                return Ok(None);
            }
            tx.offer_to_liker(&sent, msg.user)
        })
    }
}

impl Tx<'_> {
    pub(super) fn send_liker_offer(
        &mut self,
        msg: &SendLikerOffer,
    ) -> Result<LikerOfferOutcome, Failure> {
        let last = liker_offers::latest(self.conn, self.listing.id)?;
        let expires_at = decide_liker_offer(
            self.rules,
            &self.listing.state(),
            msg.seller,
            msg.amount,
            last.map(|l| l.created_at),
            self.now,
        )?;
        let sent = liker_offers::insert(
            self.conn,
            self.listing.id,
            msg.seller.0,
            msg.amount.cents(),
            self.now,
            expires_at,
        )?;
        let mut made = Vec::new();
        for liker in liker_offers::likers(self.conn, self.listing.id)? {
            if let Some(offer) = self.offer_to_liker(&sent, UserId(liker))? {
                made.push(offer);
            }
        }
        Ok(LikerOfferOutcome {
            liker_offer: sent,
            offers: made,
        })
    }

    /// Makes the liker offer `sent` to `liker`, unless they already negotiate on this listing.
    pub(super) fn offer_to_liker(
        &mut self,
        sent: &LikerOffer,
        liker: UserId,
    ) -> Result<Option<Offer>, Failure> {
        let (open, _) = offers::buyer_standing(self.conn, self.listing.id, liker.0)?;
        if open || liker.0 == self.listing.seller_id || self.listing.quantity < 1 {
            return Ok(None);
        }
        let state = OfferState {
            buyer: liker,
            seller: UserId(self.listing.seller_id),
            amount: Money::from_cents(sent.amount_cents),
            quantity: 1,
            status: OfferStatus::Open,
            turn: Side::Buyer,
            round: 1,
            expires_at: sent.expires_at,
        };
        let offer = self.insert_offer(&state, Side::Seller)?;
        self.outbox.liker_offer_notification(&offer)?;
        Ok(Some(offer))
    }
}
