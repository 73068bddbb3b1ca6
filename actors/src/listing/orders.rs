//! Orders: ship, confirm, cancel or auto-complete, each with its escrow posting.

use super::tx::{Failure, Tx};
use super::{ActOnOrder, ListingError};
use crate::domain::ledger as postings;
use crate::domain::listing::decide_restock;
use crate::domain::order::{decide_order_action, OrderEffect};
use crate::domain::{Money, UserId};
use crate::store::models::{Order, OrderChanges};
use crate::store::{ledger, orders};

handle!(ActOnOrder, Order, |tx, msg| tx.act_on_order(&msg));

impl Tx<'_> {
    pub(super) fn act_on_order(&mut self, msg: &ActOnOrder) -> Result<Order, Failure> {
        let order = orders::find(self.conn, msg.order_id)?
            .filter(|o| o.listing_id == self.listing.id)
            .ok_or(ListingError::OrderNotFound)?;
        let (next, effect) =
            decide_order_action(self.rules, &order.state(), msg.actor, msg.action, self.now)?;
        let now = Some(self.now);
        let after = orders::update_versioned(
            self.conn,
            order.id,
            order.version,
            &OrderChanges {
                status: next.status.as_str(),
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
