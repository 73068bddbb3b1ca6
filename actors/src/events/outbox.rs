//! The outbox a command fills as it decides: the events and inbox notifications its change
//! causes, written in the command's transaction by [`Outbox::flush`].

use super::{
    listing_topic, user_topic, ListingSnapshot, MessageView, OfferView, OrderView, PhotoView,
    CHAT_MESSAGE, CHAT_MESSAGE_REMOVED, CHAT_READ, LISTING_CREATED, LISTING_INVENTORY_CHANGED,
    LISTING_PRICE_DROPPED, LISTING_SOLD_OUT, LISTING_UPDATED, NOTIFICATION_OFFER,
    NOTIFICATION_PRICE_DROP, NOTIFICATION_SAVED_SEARCH,
};
use crate::domain::listing::ListingEvent;
use crate::domain::offer::OfferEvent;
use crate::domain::{ConversationId, MessageId, UserId};
use crate::store::chat::Message;
use crate::store::events::{self as store_events, PendingEvent};
use crate::store::models::{Event, Listing, Offer, Order};
use crate::store::saved_searches::Candidate;
use crate::store::{notifications, DbConnection, StoreError};
use diesel::QueryResult;
use serde_json::json;

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
    pub fn saved_search_notification(&mut self, owner: UserId, search: &Candidate, l: &Listing) {
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
