//! Offers: a buyer's new offer, and counter, accept, decline, withdraw or expire. Every step
//! is written version-checked with its history entry and its event.

use super::tx::{Failure, Tx};
use super::{ActOnOffer, DeclineOffersBetween, ListingError, OfferOutcome, PlaceOffer};
use crate::domain::offer::{
    counter_disposition, decide_new_offer, decide_offer_action, Disposition, OfferAction,
    OfferError, OfferEvent, OfferReason, OfferState, OfferStatus, Party, Side,
};
use crate::domain::purchase::decide_take;
use crate::domain::{Money, UserId};
use crate::events::{history_json, offer_history, HistoryEntry};
use crate::store::models::{NewOffer, Offer, OfferChanges};
use crate::store::{blocks, is_unique_violation, offers, users};

// A keyed request's response commits with the offer (see `Tx::keyed`).
handle!(PlaceOffer, OfferOutcome, |tx, msg| {
    tx.keyed(msg.key.as_ref(), |tx| tx.place_offer(&msg))
});

handle!(ActOnOffer, OfferOutcome, |tx, msg| {
    tx.keyed(msg.key.as_ref(), |tx| tx.act_on_offer(&msg))
});

handle!(DeclineOffersBetween, usize, |tx, msg| tx
    .decline_offers_between(msg.users));

impl Tx<'_> {
    /// Refuses a step between the listing's seller and `buyer` if one blocked the other. Read
    /// in the command's transaction, so a block that committed before it is always seen.
    pub(super) fn refuse_if_blocked(&mut self, buyer: UserId) -> Result<(), Failure> {
        if blocks::between(self.conn, buyer.0, self.listing.seller_id)? {
            return Err(ListingError::Blocked.into());
        }
        Ok(())
    }

    /// Whether the listing's seller is suspended now: their listings are hidden from buyers
    /// (a step on one is refused as if it did not exist) until the suspension ends.
    pub(super) fn seller_suspended(&mut self) -> Result<bool, Failure> {
        Ok(users::is_suspended(
            self.conn,
            self.listing.seller_id,
            self.now,
        )?)
    }

    /// Declines, as the system, the open offers on this listing between the two `users` (one
    /// just blocked the other): `offer.declined` with reason `blocked`, as any decline.
    pub(super) fn decline_offers_between(&mut self, users: [UserId; 2]) -> Result<usize, Failure> {
        let mut declined = 0;
        for offer in offers::open_for_listing(self.conn, self.listing.id)? {
            let (buyer, seller) = (UserId(offer.buyer_id), UserId(offer.seller_id));
            if !(users.contains(&buyer) && users.contains(&seller)) {
                continue;
            }
            let mut next = offer.state();
            next.status = OfferStatus::Declined;
            let reason = Some(OfferReason::Blocked);
            self.write_offer(&offer, &next, OfferEvent::Declined, "system", reason)?;
            declined += 1;
        }
        Ok(declined)
    }

    pub(super) fn decline_open_offers(&mut self, reason: OfferReason) -> Result<(), Failure> {
        for offer in offers::open_for_listing(self.conn, self.listing.id)? {
            let mut next = offer.state();
            next.status = OfferStatus::Declined;
            self.write_offer(&offer, &next, OfferEvent::Declined, "system", Some(reason))?;
        }
        Ok(())
    }

    /// Writes an offer's next state (version-checked), its history and its event.
    pub(super) fn write_offer(
        &mut self,
        before: &Offer,
        next: &OfferState,
        event: OfferEvent,
        by: &str,
        reason: Option<OfferReason>,
    ) -> Result<Offer, Failure> {
        let mut history = offer_history(before)?;
        history.push(self.history_entry(event, by, next.amount));
        let history = history_json(&history)?;
        let after = offers::update_versioned(
            self.conn,
            before.id,
            before.version,
            &OfferChanges {
                amount_cents: next.amount.cents(),
                status: next.status,
                turn: next.turn,
                round: next.round,
                reason: reason.or(before.reason).map(OfferReason::as_str),
                history: &history,
                expires_at: next.expires_at,
                version: before.version + 1,
                updated_at: self.now,
            },
        )?
        .ok_or(Failure::Stale)?;
        self.outbox.offer(&after, event)?;
        Ok(after)
    }

    pub(super) fn history_entry(&self, event: OfferEvent, by: &str, amount: Money) -> HistoryEntry {
        let action = event
            .event_type()
            .trim_start_matches("offer.")
            .replace("created", "offered");
        HistoryEntry {
            action,
            by: by.to_owned(),
            amount_cents: amount.cents(),
            at: self.now.and_utc(),
        }
    }

    /// Inserts a new open offer and its `offer.created` event.
    pub(super) fn insert_offer(&mut self, state: &OfferState, by: Side) -> Result<Offer, Failure> {
        let history = vec![self.history_entry(OfferEvent::Created, by.as_str(), state.amount)];
        let history = history_json(&history)?;
        let offer = offers::insert(
            self.conn,
            &NewOffer {
                listing_id: self.listing.id,
                buyer_id: state.buyer.0,
                seller_id: state.seller.0,
                amount_cents: state.amount.cents(),
                quantity: state.quantity,
                status: state.status,
                turn: state.turn,
                round: state.round,
                reason: None,
                history: &history,
                expires_at: state.expires_at,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            },
        )
        .map_err(|e| {
            // Another process placed this buyer's open offer first.
            if is_unique_violation(&e) {
                ListingError::Offer(OfferError::OpenOfferExists)
            } else {
                e.into()
            }
        })?;
        self.outbox.offer(&offer, OfferEvent::Created)?;
        Ok(offer)
    }

    pub(super) fn place_offer(&mut self, msg: &PlaceOffer) -> Result<OfferOutcome, Failure> {
        if msg.buyer.0 != self.listing.seller_id {
            if self.seller_suspended()? {
                return Err(ListingError::NotFound.into());
            }
            self.refuse_if_blocked(msg.buyer)?;
        }
        let (open, made) = offers::buyer_standing(self.conn, self.listing.id, msg.buyer.0)?;
        let (state, disposition) = decide_new_offer(
            self.rules,
            &self.listing.state(),
            msg.buyer,
            msg.amount,
            msg.quantity,
            open,
            made,
            self.now,
        )?;
        let offer = self.insert_offer(&state, Side::Buyer)?;
        self.dispose(offer, state, disposition)
    }

    /// Carries out what the seller's thresholds decided for a buyer's amount, as the system.
    fn dispose(
        &mut self,
        offer: Offer,
        state: OfferState,
        disposition: Disposition,
    ) -> Result<OfferOutcome, Failure> {
        match disposition {
            Disposition::Open => Ok(OfferOutcome { offer, order: None }),
            Disposition::AutoDecline => {
                let mut next = state;
                next.status = OfferStatus::Declined;
                let offer = self.write_offer(
                    &offer,
                    &next,
                    OfferEvent::Declined,
                    "system",
                    Some(OfferReason::AutoDeclined),
                )?;
                Ok(OfferOutcome { offer, order: None })
            }
            Disposition::AutoAccept => {
                let mut next = state;
                next.status = OfferStatus::Accepted;
                self.accept(&offer, &next, "system", Some(OfferReason::AutoAccepted))
            }
        }
    }

    /// Accepting buys the offer's units at its amount, exactly as buy-now does.
    pub(super) fn accept(
        &mut self,
        offer: &Offer,
        next: &OfferState,
        by: &str,
        reason: Option<OfferReason>,
    ) -> Result<OfferOutcome, Failure> {
        let change = decide_take(&self.listing.state(), offer.quantity)?;
        let offer = self.write_offer(offer, next, OfferEvent::Accepted, by, reason)?;
        let order = self.buy(
            &change,
            UserId(offer.buyer_id),
            offer.quantity,
            Money::from_cents(offer.amount_cents),
            Some(offer.offer_id()),
        )?;
        Ok(OfferOutcome {
            offer,
            order: Some(order),
        })
    }

    pub(super) fn act_on_offer(&mut self, msg: &ActOnOffer) -> Result<OfferOutcome, Failure> {
        let offer = offers::find(self.conn, msg.offer.0)?
            .filter(|o| o.listing_id == self.listing.id)
            .ok_or(ListingError::OfferNotFound)?;
        // Between users kept apart by a block, an offer can only be let go: declined,
        // withdrawn or expired, never countered or accepted.
        let engages = matches!(
            msg.action,
            OfferAction::Counter { .. } | OfferAction::Accept
        );
        if engages && matches!(msg.actor, Party::User(_)) {
            self.refuse_if_blocked(UserId(offer.buyer_id))?;
        }
        let (next, event) = decide_offer_action(
            self.rules,
            &offer.state(),
            &self.listing.state(),
            msg.actor,
            &msg.action,
            self.now,
        )?;
        let by = match msg.actor {
            Party::User(user) => offer.state().side_of(user).map_or("system", Side::as_str),
            Party::System => "system",
        };
        if event == OfferEvent::Accepted {
            return self.accept(&offer, &next, by, None);
        }
        let reason = (msg.action == OfferAction::SoldOut).then_some(OfferReason::SoldOut);
        let offer = self.write_offer(&offer, &next, event, by, reason)?;
        if event == OfferEvent::Countered {
            let disposition =
                counter_disposition(offer.turn.other(), &self.listing.state(), next.amount);
            return self.dispose(offer, next, disposition);
        }
        Ok(OfferOutcome { offer, order: None })
    }
}
