//! Orders: ship, confirm, cancel or auto-complete, each with its escrow posting, and the
//! parties' ratings once an order is completed. Ratings go through the listing's actor like
//! every other order command, so a rating is decided on the order as it is in the same
//! transaction that stores it.

use super::tx::{Failure, Tx};
use super::{ActOnOrder, ListingError, RateOrder};
use crate::domain::address::Shipment;
use crate::domain::ledger as postings;
use crate::domain::order::{
    decide_order_action, decide_rating, decide_ship, revealed_at, OrderAction, OrderEffect,
    OrderError, OrderState,
};
use crate::domain::purchase::decide_restock;
use crate::domain::{Money, OrderId, UserId};
use crate::store::models::{NewRating, Order, OrderChanges, Rating};
use crate::store::{is_unique_violation, ledger, orders};

handle!(ActOnOrder, Order, |tx, msg| tx.act_on_order(&msg));

handle!(RateOrder, Rating, |tx, msg| tx.rate_order(&msg));

impl Tx<'_> {
    /// The order `id` of this listing.
    pub(super) fn order(&mut self, id: OrderId) -> Result<Order, Failure> {
        Ok(orders::find(self.conn, id.0)?
            .filter(|o| o.listing_id == self.listing.id)
            .ok_or(ListingError::OrderNotFound)?)
    }

    fn rate_order(&mut self, msg: &RateOrder) -> Result<Rating, Failure> {
        let order = self.order(msg.order)?;
        let ratee = decide_rating(
            &order.state(),
            msg.rater,
            order.completed_at,
            self.rules,
            self.now,
        )?;
        // The other side rated already: both ratings are revealed now; else this one is
        // revealed when the window closes (or when the other side rates: then, below).
        let other_rated = orders::ratings_of(self.conn, order.id)?
            .iter()
            .any(|r| r.rater_id != msg.rater.0);
        let completed_at = order.completed_at.unwrap_or(self.now);
        let reveal = revealed_at(completed_at, other_rated.then_some(self.now), self.rules);
        let new = NewRating {
            order_id: order.id,
            rater_id: msg.rater.0,
            ratee_id: ratee.0,
            stars: msg.stars,
            comment: msg.comment.as_deref(),
            created_at: self.now,
            revealed_at: reveal,
        };
        let rating = orders::insert_rating(self.conn, &new).map_err(|e| {
            if is_unique_violation(&e) {
                Failure::from(OrderError::AlreadyRated)
            } else {
                Failure::from(e)
            }
        })?;
        if other_rated {
            orders::reveal_ratings(self.conn, order.id, reveal)?;
        }
        Ok(rating)
    }

    pub(super) fn act_on_order(&mut self, msg: &ActOnOrder) -> Result<Order, Failure> {
        let order = self.order(msg.order)?;
        let (next, effect) = if msg.action == OrderAction::Ship {
            // Shipping needs an address: `ShipOrder` also tells the buyer to add one.
            let has_address = order.ship_to.is_some();
            decide_ship(self.rules, &order.state(), msg.actor, has_address, self.now)?
        } else {
            decide_order_action(self.rules, &order.state(), msg.actor, msg.action, self.now)?
        };
        self.apply_order_action(&order, &next, effect, None)
    }

    /// Writes a decided order move (version-checked) with its money and stock, records the
    /// shipment's carrier and tracking number if it is one, and leaves its event.
    pub(super) fn apply_order_action(
        &mut self,
        order: &Order,
        next: &OrderState,
        effect: OrderEffect,
        shipment: Option<&Shipment>,
    ) -> Result<Order, Failure> {
        let now = Some(self.now);
        let mut after = orders::update_versioned(
            self.conn,
            order.id,
            order.version,
            &OrderChanges {
                status: next.status,
                auto_complete_at: next.auto_complete_at,
                shipped_at: if effect == OrderEffect::Shipped {
                    now
                } else {
                    order.shipped_at
                },
                completed_at: if effect == OrderEffect::Released {
                    now
                } else {
                    order.completed_at
                },
                cancelled_at: if effect == OrderEffect::Refunded {
                    now
                } else {
                    order.cancelled_at
                },
                version: order.version + 1,
                updated_at: self.now,
            },
        )?
        .ok_or(Failure::Stale)?;
        if let (OrderEffect::Shipped, Some(s)) = (effect, shipment) {
            if s.carrier.is_some() || s.tracking_number.is_some() {
                after = orders::set_shipment(
                    self.conn,
                    order.id,
                    s.carrier.as_deref(),
                    s.tracking_number.as_deref(),
                )?;
            }
        }
        let (buyer, seller) = (UserId(order.buyer_id), UserId(order.seller_id));
        let total = Money::from_cents(order.total_cents);
        match effect {
            OrderEffect::Shipped => {}
            OrderEffect::Released => {
                let posting = postings::release(buyer, seller, total, self.rules.fee_percent);
                ledger::post(self.conn, &posting, Some(order.id), None)
                    .map_err(ListingError::from)?;
            }
            OrderEffect::Refunded => {
                ledger::post(
                    self.conn,
                    &postings::refund(buyer, total),
                    Some(order.id),
                    None,
                )
                .map_err(ListingError::from)?;
                let restock = decide_restock(&self.listing.state(), order.quantity);
                self.change_listing(&restock)?;
            }
        }
        self.outbox.order(&after, effect.event_type());
        Ok(after)
    }
}
