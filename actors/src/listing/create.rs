//! Creating a listing. There is no listing actor until the row exists, so the core creates it
//! here: the row and its `listing.created` event, on the listing's topic (whose stream starts
//! at seq 1 with it) and on the seller's, commit in one transaction; the broker gets the events
//! only after the commit. A listing created active is left for the saved-search matcher in
//! the same transaction, and the matcher woken after the commit.

use super::ListingError;
use crate::broker::{Broker, Publish};
use crate::domain::listing::ListingDraft;
use crate::domain::saved_search::trigger_of;
use crate::domain::UserId;
use crate::events::Outbox;
use crate::saved_searches::AlertBell;
use crate::store::models::{Listing, NewListing};
use crate::store::{self, listings, saved_searches, Pool};

/// Creates `seller`'s listing from a validated `draft`, priced in `currency`.
pub async fn create_listing(
    pool: &Pool,
    broker: &Broker,
    alerts: &AlertBell,
    seller: UserId,
    draft: ListingDraft,
    currency: String,
) -> Result<Listing, ListingError> {
    let (listing, events) = pool
        .run(move |conn| {
            conn.write_transaction(|conn| -> Result<_, ListingError> {
                let now = store::now();
                let listing = listings::insert(
                    conn,
                    &NewListing {
                        seller_id: seller.0,
                        title: &draft.title,
                        description: &draft.description,
                        category: draft.category.as_deref(),
                        condition: draft.condition.as_deref(),
                        price_cents: draft.price_cents,
                        currency: &currency,
                        quantity: draft.quantity,
                        status: draft.status,
                        like_count: 0,
                        auto_accept_cents: draft.auto_accept_cents,
                        auto_decline_cents: draft.auto_decline_cents,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                        auto_drop_percent: draft.auto_price_drop.map(|d| d.percent),
                        auto_drop_interval_secs: draft.auto_price_drop.map(|d| d.interval_secs),
                        auto_drop_floor_cents: draft.auto_price_drop.map(|d| d.floor.cents()),
                        next_price_drop_at: draft.next_price_drop_at(now),
                    },
                )?;
                if let Some(trigger) = trigger_of(None, (listing.status(), listing.price_cents)) {
                    saved_searches::mark_pending(conn, listing.id, trigger, now)?;
                }
                let mut outbox = Outbox::default();
                outbox.listing_created(&listing);
                let events = outbox.flush(conn)?;
                Ok((listing, events))
            })
        })
        .await?;
    broker.do_send(Publish { events });
    alerts.ring();
    Ok(listing)
}
