//! Orders: ship, confirm, cancel or auto-complete, each with its escrow posting, and the
//! parties' ratings once an order is completed. Ratings go through the listing's actor like
//! every other order command, so a rating is decided on the order as it is in the same
//! transaction that stores it.

use super::tx::{Failure, Tx};
use super::{ActOnOrder, ListingError, RateOrder};
use crate::domain::ledger as postings;
use crate::domain::order::{decide_order_action, decide_rating, OrderEffect, OrderError};
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
        let new = NewRating {
            order_id: order.id,
            rater_id: msg.rater.0,
            ratee_id: ratee.0,
            stars: msg.stars,
            comment: msg.comment.as_deref(),
            created_at: self.now,
        };
        orders::insert_rating(self.conn, &new).map_err(|e| {
            if is_unique_violation(&e) {
                Failure::from(OrderError::AlreadyRated)
            } else {
                Failure::from(e)
            }
        })
    }

    pub(super) fn act_on_order(&mut self, msg: &ActOnOrder) -> Result<Order, Failure> {
        let order = self.order(msg.order)?;
        let (next, effect) =
            decide_order_action(self.rules, &order.state(), msg.actor, msg.action, self.now)?;
        let now = Some(self.now);
        let after = orders::update_versioned(
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
