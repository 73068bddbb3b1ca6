//! Events: topics and the payloads of what happened, as written to the `events` table in the
//! transaction of the change (the outbox) and later read by resuming clients.

use crate::domain::listing::ListingEvent;
use crate::domain::ListingId;
use crate::store::models::Listing;
use serde::Serialize;
use serde_json::json;

pub const LISTING_UPDATED: &str = "listing.updated";
pub const LISTING_PRICE_DROPPED: &str = "listing.price_dropped";

/// The public topic of a listing: price, quantity, status.
pub fn listing_topic(id: ListingId) -> String {
    format!("listing:{id}")
}

/// The public face of a listing as events carry it (no seller-only fields).
#[derive(Debug, Serialize)]
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
    pub status: &'a str,
    pub like_count: i64,
    pub version: i64,
}

impl<'a> ListingSnapshot<'a> {
    pub fn of(l: &'a Listing) -> Self {
        ListingSnapshot {
            id: l.id,
            seller_id: l.seller_id,
            title: &l.title,
            description: &l.description,
            category: l.category.as_deref(),
            condition: l.condition.as_deref(),
            price_cents: l.price_cents,
            currency: &l.currency,
            quantity: l.quantity,
            status: &l.status,
            like_count: l.like_count,
            version: l.version,
        }
    }
}

/// The type and JSON data of a listing event, given the listing after the change.
pub fn listing_event_payload(after: &Listing, event: &ListingEvent) -> (&'static str, String) {
    let data = match event {
        ListingEvent::Updated => json!({ "listing": ListingSnapshot::of(after) }),
        ListingEvent::PriceDropped {
            old_price,
            new_price,
        } => json!({
            "listing_id": after.id,
            "old_price_cents": old_price.cents(),
            "new_price_cents": new_price.cents(),
            "currency": after.currency,
            "version": after.version,
        }),
    };
    let event_type = match event {
        ListingEvent::Updated => LISTING_UPDATED,
        ListingEvent::PriceDropped { .. } => LISTING_PRICE_DROPPED,
    };
    (event_type, data.to_string())
}
