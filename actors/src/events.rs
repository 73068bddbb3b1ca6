//! Events: topics, the wire views of offers and orders, and the outbox a command fills in its
//! transaction. Events are written with the change they describe and read later by resuming
//! clients.

use crate::domain::listing::ListingEvent;
use crate::domain::offer::OfferEvent;
use crate::domain::{ConversationId, ListingId, MessageId, UserId};
use crate::store::chat::Message;
use crate::store::events::{self as store_events, PendingEvent};
use crate::store::models::{Event, Listing, Offer, Order};
use crate::store::saved_searches::SavedSearch;
use crate::store::{notifications, DbConnection, StoreError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use serde_json::json;

mod dispute;
mod photo;
mod shipping;
pub use dispute::{
    DisputeView, DisputedOrder, ORDER_DISPUTED, ORDER_DISPUTE_RESOLVED, ORDER_REFUNDED,
};
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

/// The events one command causes, written in its transaction by `flush`.
#[derive(Debug, Default)]
pub struct Outbox {
    pending: Vec<PendingEvent>,
    notifications: Vec<(UserId, &'static str, serde_json::Value)>,
}

impl Outbox {
    /// Writes the notifications to their users' inboxes and every event with its topic's next
    /// seq; returns the events for the broker, to publish once the transaction commits.
    pub fn flush(self, conn: &mut DbConnection) -> QueryResult<Vec<Event>> {
        let mut pending = self.pending;
        let now = crate::store::now();
        let texts: Vec<String> = self.notifications.iter().map(|n| n.2.to_string()).collect();
        let rows: Vec<(i64, &str, &str)> = self
            .notifications
            .iter()
            .zip(&texts)
            .map(|((user, kind, _), text)| (user.0, *kind, text.as_str()))
            .collect();
        let ids = notifications::insert_many(conn, &rows, now)?;
        for ((user, kind, mut data), id) in self.notifications.into_iter().zip(ids) {
            data["notification_id"] = json!(id);
            pending.push(PendingEvent {
                topic: user_topic(user),
                event_type: kind,
                data: data.to_string(),
            });
        }
        store_events::publish(conn, &pending)
    }

    /// The events to write, for a writer that writes them in a statement of its own with its
    /// change (a chat batch). It sends no notification: those need their inbox rows first,
    /// which `flush` writes.
    pub fn into_pending(self) -> Vec<PendingEvent> {
        debug_assert!(
            self.notifications.is_empty(),
            "notifications are written by flush"
        );
        self.pending
    }

    /// A notification: stored in the user's inbox and sent on their topic.
    pub fn notify(&mut self, user: UserId, kind: &'static str, data: serde_json::Value) {
        self.notifications.push((user, kind, data));
    }

    fn push(&mut self, topic: String, event_type: &'static str, data: serde_json::Value) {
        self.pending.push(PendingEvent {
            topic,
            event_type,
            data: data.to_string(),
        });
    }

    /// A new listing, on its own topic (the first event there) and on its seller's.
    pub fn listing_created(&mut self, listing: &Listing) {
        let data = json!({ "listing": ListingSnapshot::of(listing, Vec::new()) });
        let seller = UserId(listing.seller_id);
        self.push(
            listing_topic(listing.listing_id()),
            LISTING_CREATED,
            data.clone(),
        );
        self.push(user_topic(seller), LISTING_CREATED, data);
    }

    /// A listing's events, given the listing after the change and its photos.
    pub fn listing(&mut self, after: &Listing, photos: &[PhotoView], events: &[ListingEvent]) {
        let topic = listing_topic(after.listing_id());
        for event in events {
            let (event_type, data) = match event {
                ListingEvent::Updated => (
                    LISTING_UPDATED,
                    json!({ "listing": ListingSnapshot::of(after, photos.to_vec()) }),
                ),
                ListingEvent::PriceDropped {
                    old_price,
                    new_price,
                } => (
                    LISTING_PRICE_DROPPED,
                    json!({
                        "listing_id": after.id,
                        "old_price_cents": old_price.cents(),
                        "new_price_cents": new_price.cents(),
                        "currency": after.currency,
                        "version": after.version,
                    }),
                ),
                ListingEvent::InventoryChanged => (
                    LISTING_INVENTORY_CHANGED,
                    json!({
                        "listing_id": after.id,
                        "quantity": after.quantity,
                        "status": after.status.as_str(),
                        "version": after.version,
                    }),
                ),
                ListingEvent::SoldOut => (
                    LISTING_SOLD_OUT,
                    json!({ "listing_id": after.id, "version": after.version }),
                ),
            };
            self.push(topic.clone(), event_type, data);
        }
    }

    /// An offer event, on both parties' topics.
    pub fn offer(&mut self, offer: &Offer, event: OfferEvent) -> Result<(), StoreError> {
        let data = json!({ "offer": OfferView::try_from(offer)? });
        for party in [offer.buyer_id, offer.seller_id] {
            self.push(user_topic(UserId(party)), event.event_type(), data.clone());
        }
        Ok(())
    }

    /// An order event (`order.created`, `order.shipped`, …), on both parties' topics.
    pub fn order(&mut self, order: &Order, event_type: &'static str) {
        let data = json!({ "order": OrderView::from(order) });
        for party in [order.buyer_id, order.seller_id] {
            self.push(user_topic(UserId(party)), event_type, data.clone());
        }
    }

    /// A chat message, on both parties' topics (so the sender's other devices see it too).
    pub fn chat_message(&mut self, message: &Message, parties: [UserId; 2]) {
        let data = json!({ "message": MessageView::from(message) });
        for party in parties {
            self.push(user_topic(party), CHAT_MESSAGE, data.clone());
        }
    }

    /// A message a moderator removed, with the body that replaces it, on both parties' topics.
    pub fn chat_message_removed(&mut self, message: &Message, parties: [UserId; 2]) {
        let data = json!({
            "conversation_id": message.conversation_id,
            "message_id": message.id,
            "body": message.body,
        });
        for party in parties {
            self.push(user_topic(party), CHAT_MESSAGE_REMOVED, data.clone());
        }
    }

    /// A read receipt, on both parties' topics.
    pub fn chat_read(
        &mut self,
        conversation: ConversationId,
        reader: UserId,
        message: MessageId,
        parties: [UserId; 2],
    ) {
        let data = json!({
            "conversation_id": conversation,
            "user_id": reader,
            "message_id": message,
        });
        for party in parties {
            self.push(user_topic(party), CHAT_READ, data.clone());
        }
    }

    /// Tells a liker about a seller's offer to likers.
    pub fn liker_offer_notification(&mut self, offer: &Offer) -> Result<(), StoreError> {
        self.notify(
            UserId(offer.buyer_id),
            NOTIFICATION_OFFER,
            json!({ "offer": OfferView::try_from(offer)? }),
        );
        Ok(())
    }

    /// Tells a liker that a listing they like got cheaper.
    pub fn price_drop_notification(
        &mut self,
        liker: UserId,
        after: &Listing,
        old_price: i64,
        target_price: Option<i64>,
    ) {
        self.notify(
            liker,
            NOTIFICATION_PRICE_DROP,
            json!({
                "listing_id": after.id,
                "title": after.title,
                "old_price_cents": old_price,
                "new_price_cents": after.price_cents,
                "currency": after.currency,
                "target_price_cents": target_price,
            }),
        );
    }

    /// A listing that matches `owner`'s saved search `search`.
    pub fn saved_search_notification(&mut self, owner: UserId, search: &SavedSearch, l: &Listing) {
        self.notify(
            owner,
            NOTIFICATION_SAVED_SEARCH,
            json!({
                "saved_search_id": search.id,
                "saved_search_name": search.name,
                "listing_id": l.id,
                "title": l.title,
                "price_cents": l.price_cents,
                "currency": l.currency,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offer::{OfferStatus, Side};

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
