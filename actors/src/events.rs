//! Events: topics, the wire views of offers and orders, and the outbox a command fills in its
//! transaction. Events are written with the change they describe and read later by resuming
//! clients.

use crate::domain::{ListingId, UserId};
use crate::store::chat::Message;
use crate::store::models::{Listing, Offer, Order};
use crate::store::StoreError;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

mod dispute;
mod outbox;
mod photo;
mod shipping;
pub use dispute::{
    DisputeView, DisputedOrder, ORDER_DISPUTED, ORDER_DISPUTE_RESOLVED, ORDER_REFUNDED,
};
pub use outbox::Outbox;
pub use photo::{PhotoVariantUrls, PhotoView};
pub use shipping::{AddressView, NOTIFICATION_ADDRESS_NEEDED, ORDER_ADDRESS_ADDED};

pub const LISTING_CREATED: &str = "listing.created";
pub const LISTING_UPDATED: &str = "listing.updated";
pub const LISTING_PRICE_DROPPED: &str = "listing.price_dropped";
pub const LISTING_INVENTORY_CHANGED: &str = "listing.inventory_changed";
pub const LISTING_SOLD_OUT: &str = "listing.sold_out";
pub const ORDER_CREATED: &str = "order.created";
pub const NOTIFICATION_OFFER: &str = "notification.offer";
pub const NOTIFICATION_PRICE_DROP: &str = "notification.price_drop";
pub const NOTIFICATION_SAVED_SEARCH: &str = "notification.saved_search";
pub const CHAT_MESSAGE: &str = "chat.message";
pub const CHAT_READ: &str = "chat.read";
pub const CHAT_MESSAGE_REMOVED: &str = "chat.message_removed";
pub const CHAT_TYPING: &str = "chat.typing";

/// The public topic of a listing: price, quantity, status.
pub fn listing_topic(id: ListingId) -> String {
    format!("listing:{id}")
}

/// The private topic of a user: offers, orders, notifications.
pub fn user_topic(id: UserId) -> String {
    format!("user:{id}")
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The public face of a listing: what events carry, and the part of the REST listing body that
/// everyone sees (no seller-only fields).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListingSnapshot<'a> {
    pub id: i64,
    pub seller_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub category: Option<&'a str>,
    pub condition: Option<&'a str>,
    pub price_cents: i64,
    pub currency: &'a str,
    pub quantity: i64,
    /// draft, active, sold_out, closed, or removed (by a moderator; seen by the seller alone).
    pub status: &'a str,
    pub like_count: i64,
    pub version: i64,
    /// When the seller's next scheduled price drop is due (none: no drop scheduled).
    pub next_price_drop_at: Option<DateTime<Utc>>,
    /// The photos, in the seller's order.
    pub photos: Vec<PhotoView>,
}

impl<'a> ListingSnapshot<'a> {
    /// The listing with its photos (in their order).
    pub fn of(l: &'a Listing, photos: Vec<PhotoView>) -> Self {
        ListingSnapshot {
            photos,
            id: l.id,
            seller_id: l.seller_id,
            title: &l.title,
            description: &l.description,
            category: l.category.as_deref(),
            condition: l.condition.as_deref(),
            price_cents: l.price_cents,
            currency: &l.currency,
            quantity: l.quantity,
            status: l.status.as_str(),
            like_count: l.like_count,
            version: l.version,
            next_price_drop_at: l.next_price_drop_at.map(|at| at.and_utc()),
        }
    }
}

/// One step of a negotiation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// offered, countered, accepted, declined, withdrawn or expired.
    pub action: String,
    /// buyer, seller or system.
    pub by: String,
    pub amount_cents: i64,
    pub at: DateTime<Utc>,
}

/// An offer, as the REST API and events show it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferView {
    pub id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub amount_cents: i64,
    pub quantity: i64,
    /// open, accepted, declined, withdrawn or expired.
    pub status: String,
    /// Whose move it is: seller or buyer.
    pub turn: String,
    pub round: i64,
    /// Why it was declined by the server (e.g. `sold_out`).
    pub reason: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub history: Vec<HistoryEntry>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An offer's negotiation history as stored. History that does not parse is corrupt: an error,
/// never read as empty (a command would write the empty history back over the real one).
pub fn offer_history(offer: &Offer) -> Result<Vec<HistoryEntry>, StoreError> {
    serde_json::from_str(&offer.history)
        .map_err(|e| StoreError::Config(format!("offer {} has a corrupt history: {e}", offer.id)))
}

/// A history as the `history` column stores it.
pub fn history_json(history: &[HistoryEntry]) -> Result<String, StoreError> {
    serde_json::to_string(history)
        .map_err(|e| StoreError::Config(format!("an offer history did not serialise: {e}")))
}

impl TryFrom<&Offer> for OfferView {
    type Error = StoreError;

    fn try_from(o: &Offer) -> Result<Self, StoreError> {
        Ok(OfferView {
            id: o.id,
            listing_id: o.listing_id,
            buyer_id: o.buyer_id,
            seller_id: o.seller_id,
            amount_cents: o.amount_cents,
            quantity: o.quantity,
            status: o.status.as_str().to_owned(),
            turn: o.turn.as_str().to_owned(),
            round: o.round,
            reason: o.reason.map(|r| r.as_str().to_owned()),
            expires_at: utc(o.expires_at),
            history: offer_history(o)?,
            created_at: utc(o.created_at),
            updated_at: utc(o.updated_at),
        })
    }
}

/// An order, as the REST API and events show it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub id: i64,
    pub listing_id: i64,
    pub buyer_id: i64,
    pub seller_id: i64,
    pub offer_id: Option<i64>,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub total_cents: i64,
    /// paid, shipped, completed, cancelled, disputed or refunded.
    pub status: String,
    /// After this the buyer may cancel (or dispute) an unshipped order.
    pub ship_by: DateTime<Utc>,
    /// A shipped order completes by itself at this time unless confirmed earlier.
    pub auto_complete_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was cancelled or refunded.
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The buyer's address when the order was made (or when they first added one); none
    /// until then, and such an order cannot be shipped. Only the two parties see orders.
    pub ship_to: Option<AddressView>,
    /// Given by the seller when shipping.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        OrderView {
            id: o.id,
            listing_id: o.listing_id,
            buyer_id: o.buyer_id,
            seller_id: o.seller_id,
            offer_id: o.offer_id,
            quantity: o.quantity,
            unit_price_cents: o.unit_price_cents,
            total_cents: o.total_cents,
            status: o.status.as_str().to_owned(),
            ship_by: utc(o.ship_by),
            auto_complete_at: o.auto_complete_at.map(utc),
            shipped_at: o.shipped_at.map(utc),
            completed_at: o.completed_at.map(utc),
            cancelled_at: o.cancelled_at.map(utc),
            created_at: utc(o.created_at),
            updated_at: utc(o.updated_at),
            ship_to: shipping::ship_to_of(o),
            carrier: o.carrier.clone(),
            tracking_number: o.tracking_number.clone(),
        }
    }
}

/// A chat message, as the REST API, acks and events show it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageView {
    pub id: i64,
    pub conversation_id: i64,
    pub sender_id: i64,
    pub client_msg_id: String,
    /// Strictly increasing within the conversation.
    pub seq: i64,
    /// What both parties see: with `--chat-filter mask`, contact details are `[hidden]`.
    pub body: String,
    /// Why the message was flagged: `contact_details` when the chat filter masked part of it.
    pub flags: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        MessageView {
            id: m.id,
            conversation_id: m.conversation_id,
            sender_id: m.sender_id,
            client_msg_id: m.client_msg_id.clone(),
            seq: m.seq,
            body: m.body.clone(),
            flags: m.flag_list(),
            created_at: utc(m.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offer::{OfferEvent, OfferStatus, Side};

    fn offer_with_history(history: &str) -> Offer {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .expect("a valid time")
            .naive_utc();
        Offer {
            id: 7,
            listing_id: 1,
            buyer_id: 2,
            seller_id: 3,
            amount_cents: 900,
            quantity: 1,
            status: OfferStatus::Open,
            turn: Side::Seller,
            round: 1,
            reason: None,
            history: history.into(),
            expires_at: at,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn corrupt_history_is_an_error_not_an_empty_history() {
        let corrupt = offer_with_history("[{\"action\":");
        assert!(matches!(
            offer_history(&corrupt),
            Err(StoreError::Config(_))
        ));
        assert!(OfferView::try_from(&corrupt).is_err());
        let mut outbox = Outbox::default();
        assert!(outbox.offer(&corrupt, OfferEvent::Countered).is_err());
    }

    #[test]
    fn a_history_survives_the_round_trip() {
        let entry = HistoryEntry {
            action: "offered".into(),
            by: "buyer".into(),
            amount_cents: 900,
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time"),
        };
        let stored = history_json(std::slice::from_ref(&entry)).expect("serialises");
        assert_eq!(
            offer_history(&offer_with_history(&stored)).expect("parses"),
            [entry]
        );
    }
}
