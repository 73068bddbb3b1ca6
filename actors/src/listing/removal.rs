//! A moderator removes a listing, in the listing's own transaction like every other write to
//! it: status `removed`, open offers declined, paid orders not yet shipped cancelled and
//! refunded through the ledger, the seller notified (live and in the inbox), and an audit
//! entry, all committed together.

use super::tx::{Failure, Tx};
use super::{ListingError, RemoveListing};
use crate::domain::ledger as postings;
use crate::domain::moderation::{action, decide_removal, refunded_on_removal, AuditTarget};
use crate::domain::order::{OrderEffect, OrderStatus};
use crate::domain::{Money, UserId};
use crate::store::audit::{self, NewAuditEntry};
use crate::store::models::{Listing, OrderChanges};
use crate::store::{ledger, orders};
use serde_json::json;

/// The seller's notification of a removal.
pub const NOTIFICATION_LISTING_REMOVED: &str = "notification.listing_removed";

handle!(RemoveListing, Listing, |tx, msg| tx.remove_listing(&msg));

impl Tx<'_> {
    fn remove_listing(&mut self, msg: &RemoveListing) -> Result<Listing, Failure> {
        let change = decide_removal(&self.listing.state()).map_err(ListingError::from)?;
        // Refund first: the listing's change below declines its open offers.
        let mut refunded = Vec::new();
        for status in OrderStatus::ALL {
            if !refunded_on_removal(status) {
                continue;
            }
            for order in orders::of_listing_with_status(self.conn, self.listing.id, status)? {
                let after = orders::update_versioned(
                    self.conn,
                    order.id,
                    order.version,
                    &OrderChanges {
                        status: OrderStatus::Cancelled,
                        auto_complete_at: None,
                        shipped_at: order.shipped_at,
                        completed_at: order.completed_at,
                        cancelled_at: Some(self.now),
                        version: order.version + 1,
                        updated_at: self.now,
                    },
                )?
                .ok_or(Failure::Stale)?;
                let refund =
                    postings::refund(UserId(order.buyer_id), Money::from_cents(order.total_cents));
                ledger::post(self.conn, &refund, Some(order.id), None)
                    .map_err(ListingError::from)?;
                self.outbox
                    .order(&after, OrderEffect::Refunded.event_type());
                refunded.push(order.id);
            }
        }
        let after = self.change_listing(&change)?;
        self.outbox.notify(
            UserId(after.seller_id),
            NOTIFICATION_LISTING_REMOVED,
            json!({
                "listing_id": after.id,
                "title": after.title,
                "note": msg.note,
                "refunded_order_ids": refunded,
            }),
        );
        let entry = NewAuditEntry::new(
            Some(msg.by),
            action::LISTING_REMOVED,
            AuditTarget::Listing,
            after.id,
            &msg.note,
        );
        audit::append(self.conn, &entry)?;
        Ok(after)
    }
}
