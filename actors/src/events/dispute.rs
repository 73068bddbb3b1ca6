//! Disputes as the REST API and events show them, and the events a dispute causes: the
//! parties hear of an opened or resolved dispute live and in their inboxes.

use super::{utc, OrderView, Outbox};
use crate::domain::UserId;
use crate::store::disputes::Dispute;
use crate::store::models::Order;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

pub const ORDER_DISPUTED: &str = "order.disputed";
pub const ORDER_DISPUTE_RESOLVED: &str = "order.dispute_resolved";
pub const ORDER_REFUNDED: &str = "order.refunded";

/// A dispute of an order.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisputeView {
    pub id: i64,
    pub order_id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    /// not_received, not_as_described or damaged.
    pub reason: String,
    pub note: String,
    /// Unresolved by then, the dispute is escalated to the moderators.
    pub escalate_at: DateTime<Utc>,
    pub escalated_at: Option<DateTime<Utc>>,
    /// refund_buyer, release_seller or split; none while open.
    pub outcome: Option<String>,
    /// What the buyer got back, once resolved.
    pub buyer_cents: Option<i64>,
    /// What the seller got after the fee, once resolved.
    pub seller_cents: Option<i64>,
    /// The platform's fee on the seller's part, once resolved.
    pub fee_cents: Option<i64>,
    /// The moderator who resolved it, or the seller who refunded.
    pub resolved_by: Option<i64>,
    pub resolution_note: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&Dispute> for DisputeView {
    fn from(d: &Dispute) -> Self {
        DisputeView {
            id: d.id,
            order_id: d.order_id,
            listing_id: d.listing_id,
            buyer_id: d.buyer_id,
            seller_id: d.seller_id,
            reason: d.reason.as_str().to_owned(),
            note: d.note.clone(),
            escalate_at: utc(d.escalate_at),
            escalated_at: d.escalated_at.map(utc),
            outcome: d.outcome.map(|o| o.as_str().to_owned()),
            buyer_cents: d.buyer_cents,
            seller_cents: d.seller_cents,
            fee_cents: d.fee_cents,
            resolved_by: d.resolved_by,
            resolution_note: d.resolution_note.clone(),
            resolved_at: d.resolved_at.map(utc),
            created_at: utc(d.created_at),
        }
    }
}

/// An order with its dispute.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisputedOrder {
    pub order: OrderView,
    pub dispute: DisputeView,
}

impl DisputedOrder {
    pub fn of(order: &Order, dispute: &Dispute) -> Self {
        DisputedOrder {
            order: OrderView::from(order),
            dispute: DisputeView::from(dispute),
        }
    }
}

impl Outbox {
    /// A dispute opened or resolved (`event_type`): a notification to each party, stored in
    /// their inbox and sent live on their topic.
    pub fn dispute(&mut self, order: &Order, dispute: &Dispute, event_type: &'static str) {
        let data = json!(DisputedOrder::of(order, dispute));
        for party in [order.buyer_id, order.seller_id] {
            self.notify(UserId(party), event_type, data.clone());
        }
    }
}
