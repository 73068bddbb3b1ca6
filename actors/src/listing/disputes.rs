//! Disputes and refunds: the buyer opens a dispute, the seller refunds in full, a moderator
//! resolves, the dispute timer escalates. Each is decided by `domain::dispute`, moves the order
//! (version-checked) and the escrow (one balanced posting) in the listing's transaction, and
//! tells both parties.

use super::tx::{Failure, Tx};
use super::{EscalateDispute, ListingError, OpenDispute, RefundOrder, ResolveDispute};
use crate::domain::dispute::{
    decide_escalation, decide_open, decide_refund, decide_resolution, settle, settlement_posting,
    DisputeError, DisputeOutcome, Resolution,
};
use crate::domain::ledger as postings;
use crate::domain::moderation::AuditTarget;
use crate::domain::order::{OrderState, OrderStatus};
use crate::domain::purchase::decide_restock;
use crate::domain::{Money, UserId};
use crate::events::{ORDER_DISPUTED, ORDER_DISPUTE_RESOLVED, ORDER_REFUNDED};
use crate::store::audit::{self, NewAuditEntry};
use crate::store::disputes::{self, Dispute, DisputeResolution, NewDispute};
use crate::store::models::{Order, OrderChanges};
use crate::store::{ledger, orders};

/// The audit log's action for a moderator's resolution of a dispute.
pub const AUDIT_DISPUTE_RESOLVED: &str = "dispute_resolved";

handle!(OpenDispute, (Order, Dispute), |tx, msg| tx
    .open_dispute(&msg));

handle!(RefundOrder, Order, |tx, msg| tx.refund_order(&msg));

handle!(ResolveDispute, (Order, Dispute), |tx, msg| tx
    .resolve_dispute(&msg));

handle!(EscalateDispute, (), |tx, msg| tx.escalate_dispute(&msg));

impl Tx<'_> {
    fn open_dispute(&mut self, msg: &OpenDispute) -> Result<(Order, Dispute), Failure> {
        let order = self.order(msg.order)?;
        let (next, escalate_at) = decide_open(
            &order.state(),
            msg.buyer,
            self.rules.dispute_timeout,
            self.now,
        )?;
        let after = self.move_order(&order, &next)?;
        let new = NewDispute {
            order_id: order.id,
            listing_id: order.listing_id,
            buyer_id: order.buyer_id,
            seller_id: order.seller_id,
            reason: msg.reason,
            note: &msg.note,
            escalate_at,
            created_at: self.now,
        };
        let dispute = disputes::insert(self.conn, &new)?;
        self.outbox.dispute(&after, &dispute, ORDER_DISPUTED);
        Ok((after, dispute))
    }

    /// A full refund by the seller: the escrow goes back to the buyer, the units back in stock
    /// if they never shipped, and an open dispute ends as `refund_buyer`, decided by the seller.
    fn refund_order(&mut self, msg: &RefundOrder) -> Result<Order, Failure> {
        let order = self.order(msg.order)?;
        let (next, restock) =
            decide_refund(&order.state(), msg.seller, order.shipped_at.is_some())?;
        let after = self.move_order(&order, &next)?;
        let total = Money::from_cents(order.total_cents);
        let posting = postings::refund(UserId(order.buyer_id), total);
        ledger::post(self.conn, &posting, Some(order.id), None).map_err(ListingError::from)?;
        if restock {
            self.restock(&order)?;
        }
        self.outbox.order(&after, ORDER_REFUNDED);
        if order.status == OrderStatus::Disputed {
            let dispute = self.dispute_of(&order)?;
            let resolution = DisputeResolution {
                outcome: DisputeOutcome::RefundBuyer,
                settlement: settle(total, Resolution::RefundBuyer, 0)?,
                resolved_by: msg.seller.0,
                note: None,
                at: self.now,
            };
            let resolved =
                disputes::resolve(self.conn, dispute.id, &resolution)?.ok_or(Failure::Stale)?;
            self.outbox
                .dispute(&after, &resolved, ORDER_DISPUTE_RESOLVED);
        }
        Ok(after)
    }

    fn resolve_dispute(&mut self, msg: &ResolveDispute) -> Result<(Order, Dispute), Failure> {
        let order = self.order(msg.order)?;
        let dispute = self.dispute_of(&order)?;
        let escrow = Money::from_cents(order.total_cents);
        let fee_percent = self.rules.fee_percent;
        let (next, settlement, restock) = decide_resolution(
            &order.state(),
            msg.moderator,
            &dispute.state(),
            msg.resolution,
            escrow,
            fee_percent,
            order.shipped_at.is_some(),
        )?;
        let after = self.move_order(&order, &next)?;
        let (buyer, seller) = (UserId(order.buyer_id), UserId(order.seller_id));
        let posting = settlement_posting(
            buyer,
            seller,
            escrow,
            msg.resolution,
            &settlement,
            fee_percent,
        );
        ledger::post(self.conn, &posting, Some(order.id), None).map_err(ListingError::from)?;
        if restock {
            self.restock(&order)?;
        }
        let resolution = DisputeResolution {
            outcome: msg.resolution.outcome(),
            settlement,
            resolved_by: msg.moderator.0,
            note: Some(&msg.note),
            at: self.now,
        };
        let resolved =
            disputes::resolve(self.conn, dispute.id, &resolution)?.ok_or(Failure::Stale)?;
        // The audit entry commits with the resolution, or neither does.
        let record = format!(
            "{}: buyer {} cents, seller {} cents, fee {} cents. {}",
            resolution.outcome.as_str(),
            settlement.to_buyer.cents(),
            settlement.to_seller.cents(),
            settlement.fee.cents(),
            msg.note
        );
        let entry = NewAuditEntry::new(
            Some(msg.moderator),
            AUDIT_DISPUTE_RESOLVED,
            AuditTarget::Order,
            order.id,
            &record,
        );
        audit::append(self.conn, &entry)?;
        self.outbox
            .dispute(&after, &resolved, ORDER_DISPUTE_RESOLVED);
        Ok((after, resolved))
    }

    /// The dispute timer: flags the dispute for the moderators. No money moves and the order
    /// stays disputed; the row's conditions make a second firing (another tick or process)
    /// change nothing.
    fn escalate_dispute(&mut self, msg: &EscalateDispute) -> Result<(), Failure> {
        let order = self.order(msg.order)?;
        let dispute = self.dispute_of(&order)?;
        decide_escalation(&dispute.state(), self.now)?;
        disputes::escalate(self.conn, dispute.id, self.now)?.ok_or(Failure::Stale)?;
        Ok(())
    }

    /// The dispute of `order`: a 409 if it has none.
    fn dispute_of(&mut self, order: &Order) -> Result<Dispute, Failure> {
        Ok(disputes::of_order(self.conn, order.id)?
            .ok_or(DisputeError::NotDisputed(order.status.as_str()))?)
    }

    /// Writes `order`'s decided next state (version-checked): completed or refunded (kept as
    /// `cancelled_at`: the order ended without paying the seller) stamped now.
    fn move_order(&mut self, order: &Order, next: &OrderState) -> Result<Order, Failure> {
        let stamp = |status: OrderStatus, kept| {
            if next.status == status && order.status != status {
                Some(self.now)
            } else {
                kept
            }
        };
        let changes = OrderChanges {
            status: next.status,
            auto_complete_at: next.auto_complete_at,
            shipped_at: order.shipped_at,
            completed_at: stamp(OrderStatus::Completed, order.completed_at),
            cancelled_at: stamp(OrderStatus::Refunded, order.cancelled_at),
            version: order.version + 1,
            updated_at: self.now,
        };
        orders::update_versioned(self.conn, order.id, order.version, &changes)?
            .ok_or(Failure::Stale)
    }

    /// Puts an order's units back in stock (an item that never shipped).
    fn restock(&mut self, order: &Order) -> Result<(), Failure> {
        let change = decide_restock(&self.listing.state(), order.quantity);
        self.change_listing(&change)?;
        Ok(())
    }
}
