//! The transaction runner: a command runs in one write transaction with its listing locked
//! and freshly read, is decided again when a version-checked write loses its race, and leaves
//! its events in the outbox. `Tx` holds the steps several command families share.

use super::ListingError;
use crate::domain::ledger as postings;
use crate::domain::listing::{liker_hears_of_drop, ListingChange, ListingEvent, ListingStatus};
use crate::domain::offer::OfferReason;
use crate::domain::order::OrderStatus;
use crate::domain::rules::CommerceRules;
use crate::domain::saved_search::trigger_of;
use crate::domain::{ListingId, Money, OfferId, UserId};
use crate::events::{Outbox, PhotoView, ORDER_CREATED};
use crate::idempotency::{ClaimLost, KeyCompletion};
use crate::store::models::{Event, Listing, ListingChanges, NewOrder, Order};
use crate::store::{
    self, addresses, ledger, likes, listings, orders, photos, saved_searches, DbConnection, Pool,
    StoreError,
};
use chrono::NaiveDateTime;

/// How many times a command is decided again after losing a version race before giving up.
pub(super) const MAX_VERSION_RETRIES: usize = 16;

/// How one attempt at a command's transaction failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// A version-checked write matched nothing: decide again on fresh rows.
    Stale,
    Error(ListingError),
}

impl<E: Into<ListingError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Error(e.into())
    }
}

/// Runs `command` in a transaction with the listing freshly read, retrying on version races.
/// Returns its result and the events it wrote.
pub(super) fn execute<T, F>(
    pool: &Pool,
    id: ListingId,
    rules: &CommerceRules,
    command: F,
) -> Result<(T, Vec<Event>), ListingError>
where
    F: Fn(&mut Tx<'_>) -> Result<T, Failure>,
{
    let mut conn = pool.get().map_err(StoreError::from)?;
    for _ in 0..MAX_VERSION_RETRIES {
        let attempt = conn.write_transaction(|conn| -> Result<(T, Vec<Event>), Failure> {
            // Across processes (PostgreSQL), the row lock makes commands on one listing take
            // turns as the actor does in one process; the version checks stay as a backstop.
            listings::lock(conn, id.0)?;
            let listing = listings::find(conn, id.0)?.ok_or(ListingError::NotFound)?;
            let mut tx = Tx {
                conn,
                listing,
                rules,
                now: store::now(),
                outbox: Outbox::default(),
            };
            let value = command(&mut tx)?;
            let written = tx.outbox.flush(tx.conn)?;
            Ok((value, written))
        });
        match attempt {
            Ok(value) => return Ok(value),
            Err(Failure::Stale) => continue,
            Err(Failure::Error(e)) => return Err(e),
        }
    }
    Err(ListingError::Contended)
}

/// One attempt at a command: the open transaction, the listing as it is now, and the events
/// the command causes.
pub(super) struct Tx<'c> {
    pub(super) conn: &'c mut DbConnection,
    pub(super) listing: Listing,
    pub(super) rules: &'c CommerceRules,
    pub(super) now: NaiveDateTime,
    pub(super) outbox: Outbox,
}

impl Tx<'_> {
    /// Writes a decided listing change (version-checked) and its events. Closing declines the
    /// open offers and is refused while orders are open.
    pub(super) fn change_listing(&mut self, change: &ListingChange) -> Result<Listing, Failure> {
        if !change.changed() {
            return Ok(self.listing.clone());
        }
        let ended = |s: ListingStatus| matches!(s, ListingStatus::Closed | ListingStatus::Removed);
        let closing = ended(change.next.status) && !ended(self.listing.status());
        // A seller closes only once every order is done; a moderator's removal refunds the
        // paid ones first and lets the shipped ones complete.
        if closing && change.next.status == ListingStatus::Closed {
            let open = orders::open_count(self.conn, self.listing.id)?;
            if open > 0 {
                return Err(ListingError::HasOpenOrders(open).into());
            }
        }
        let changes = ListingChanges::from_state(&change.next, self.now);
        let after =
            listings::update_versioned(self.conn, self.listing.id, self.listing.version, &changes)?
                .ok_or(Failure::Stale)?;
        let before = (self.listing.status(), self.listing.price_cents);
        if let Some(trigger) = trigger_of(Some(before), (after.status(), after.price_cents)) {
            saved_searches::mark_pending(self.conn, after.id, trigger, self.now)?;
        }
        let photos = if change.events.contains(&ListingEvent::Updated) {
            self.photo_views()?
        } else {
            Vec::new()
        };
        self.outbox.listing(&after, &photos, &change.events);
        self.listing = after.clone();
        if closing || after.status() == ListingStatus::SoldOut {
            let reason = if closing {
                OfferReason::ListingClosed
            } else {
                OfferReason::SoldOut
            };
            self.decline_open_offers(reason)?;
        }
        Ok(after)
    }

    /// The listing's photos as events show them.
    pub(super) fn photo_views(&mut self) -> Result<Vec<PhotoView>, Failure> {
        let rows = photos::of_listing(self.conn, self.listing.id)?;
        Ok(PhotoView::all(&rows, &self.rules.photo_urls))
    }

    /// Takes the units, creates the paid order and moves the money into escrow: all or nothing.
    pub(super) fn buy(
        &mut self,
        change: &ListingChange,
        buyer: UserId,
        quantity: i64,
        unit_price: Money,
        offer: Option<OfferId>,
    ) -> Result<Order, Failure> {
        self.change_listing(change)?;
        // The buyer's address as it is now, read in this transaction: the order keeps it.
        let ship_to = addresses::find(self.conn, buyer.0)?.map(|a| a.snapshot());
        let new = self.new_order(buyer, quantity, unit_price, offer, ship_to);
        let total = new.total_cents;
        let order = orders::insert(self.conn, &new)?;
        ledger::post(
            self.conn,
            &postings::purchase(buyer, Money::from_cents(total)),
            Some(order.id),
            None,
        )
        .map_err(ListingError::from)?;
        self.outbox.order(&order, ORDER_CREATED);
        Ok(order)
    }

    /// A paid order of this listing, as a purchase or an accepted offer creates it, with the
    /// buyer's address as it is now (`ship_to`, a snapshot later edits do not change).
    pub(super) fn new_order(
        &self,
        buyer: UserId,
        quantity: i64,
        unit_price: Money,
        offer: Option<OfferId>,
        ship_to: Option<String>,
    ) -> NewOrder {
        NewOrder {
            listing_id: self.listing.id,
            buyer_id: buyer.0,
            seller_id: self.listing.seller_id,
            offer_id: offer.map(|offer| offer.0),
            quantity,
            unit_price_cents: unit_price.cents(),
            total_cents: unit_price.cents().saturating_mul(quantity),
            status: OrderStatus::Paid,
            ship_by: self.now + self.rules.ship_deadline,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
            ship_to,
        }
    }

    /// Writes a decided change that may drop the price: likers hear of a drop by their rules.
    pub(super) fn change_price(&mut self, change: &ListingChange) -> Result<Listing, Failure> {
        let after = self.change_listing(change)?;
        for event in &change.events {
            if let ListingEvent::PriceDropped { old_price, .. } = event {
                self.notify_likers_of_drop(*old_price)?;
            }
        }
        Ok(after)
    }

    /// Runs `step` under the request's Idempotency-Key claim, if it has one: the claim is held
    /// first (a claim taken over by a later request commits nothing) and the response to the
    /// outcome is written in this same transaction, so the key answers exactly when the
    /// effect committed.
    pub(super) fn keyed<T>(
        &mut self,
        key: Option<&KeyCompletion<T>>,
        step: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let Some(key) = key else {
            return step(self);
        };
        if !key.hold(self.conn)? {
            return Err(ListingError::ClaimLost(ClaimLost).into());
        }
        let outcome = step(self)?;
        key.answer(self.conn, &outcome)?;
        Ok(outcome)
    }

    /// Every liker whose rule the drop meets gets a `notification.price_drop`, and the new
    /// price becomes the price they last saw.
    pub(super) fn notify_likers_of_drop(&mut self, old_price: Money) -> Result<(), Failure> {
        let new_price = Money::from_cents(self.listing.price_cents);
        let mut alerted = Vec::new();
        for liker in likes::likers_of(self.conn, self.listing.id)? {
            let target = liker.target_price_cents.map(Money::from_cents);
            let seen = liker.seen_price_cents.map_or(old_price, Money::from_cents);
            let hears = liker_hears_of_drop(
                seen,
                old_price,
                new_price,
                target,
                self.rules.price_drop_notify_percent,
            );
            if hears && liker.user_id != self.listing.seller_id {
                self.outbox.price_drop_notification(
                    UserId(liker.user_id),
                    &self.listing,
                    old_price.cents(),
                    target.map(Money::cents),
                );
                alerted.push(liker.user_id);
            }
        }
        likes::mark_seen(self.conn, self.listing.id, &alerted, new_price.cents())?;
        Ok(())
    }
}
