//! Liker offers: the seller's offer to everyone who likes the listing, and to whoever likes
//! it while that offer is open.

use super::tx::{Failure, Tx};
use super::{LikerOfferOutcome, SendLikerOffer};
use crate::domain::block::reachable_likers;
use crate::domain::liker_offer::decide_liker_offer;
use crate::domain::listing::ListingStatus;
use crate::domain::offer::{OfferState, OfferStatus, Side};
use crate::domain::{Money, UserId};
use crate::store::models::{LikerOffer, Offer};
use crate::store::{blocks, liker_offers, offers};

handle!(SendLikerOffer, LikerOfferOutcome, |tx, msg| tx
    .send_liker_offer(&msg));

impl Tx<'_> {
    pub(super) fn send_liker_offer(
        &mut self,
        msg: &SendLikerOffer,
    ) -> Result<LikerOfferOutcome, Failure> {
        let last = liker_offers::latest(self.conn, self.listing.id)?;
        // Likers kept apart from the seller by a block neither get the offer nor count:
        // with only them left, the send is refused as if nobody liked the listing.
        let likers = liker_offers::likers(self.conn, self.listing.id)?;
        let apart = blocks::kept_apart_from(self.conn, self.listing.seller_id)?;
        let likers = reachable_likers(likers, &apart);
        let expires_at = decide_liker_offer(
            self.rules,
            &self.listing.state(),
            msg.seller,
            msg.amount,
            likers.len(),
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
        for liker in likers {
            if let Some(offer) = self.offer_to_liker(&sent, UserId(liker))? {
                made.push(offer);
            }
        }
        Ok(LikerOfferOutcome {
            liker_offer: sent,
            offers: made,
        })
    }

    /// A new liker gets the seller's offer to likers if it is still open.
    pub(super) fn offer_to_new_liker(&mut self, liker: UserId) -> Result<Option<Offer>, Failure> {
        let Some(sent) = liker_offers::latest(self.conn, self.listing.id)? else {
            return Ok(None);
        };
        if !sent.open_at(self.now) || self.listing.status() != ListingStatus::Active {
            return Ok(None);
        }
        if blocks::between(self.conn, liker.0, self.listing.seller_id)? {
            return Ok(None);
        }
        self.offer_to_liker(&sent, liker)
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
